"""Equations as MathML and LaTeX, printed by SymPy from the specs themselves.

Specs use identifiers that are valid Python names (``mhat``, ``theta_prev``); each symbol's
``display`` says how the document writes it (``mhat_t``, ``theta_t-1``). The relation is
printed with the display names and SymPy's presentation printer, then a few tokens SymPy
cannot express are rewritten: hats and tildes as accents, ``dL/dX`` as a fraction of partial
derivatives, ``Z_(i,j)`` subscripts as ``Z_ij``, and ``-`` as a true minus sign.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.mathml import mathml
from sympy.stats.rv import RandomSymbol

from eqconform.specs.model import Spec, Variant

__all__ = ["is_mathml", "relation_latex", "relation_mathml"]

_NAMESPACE = "http://www.w3.org/1998/Math/MathML"
_MATH = f'<math xmlns="{_NAMESPACE}" display="block">{{}}</math>'


def _display_map(spec: Spec) -> dict[sp.Basic, sp.Basic]:
    mapping: dict[sp.Basic, sp.Basic] = {}
    for info in spec.symbols:
        if not info.display:
            continue
        if isinstance(info.symbol, sp.IndexedBase):
            mapping[info.symbol] = sp.IndexedBase(info.display)
        else:
            mapping[info.symbol] = sp.Symbol(info.display, **info.symbol.assumptions0)
    return mapping


def _displayed(spec: Spec, expr: sp.Basic) -> sp.Basic:
    mapping = _display_map(spec)
    replacements = {}
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Indexed) and node.base in mapping:
            replacements[node] = mapping[node.base][node.indices]
        elif node in mapping and not isinstance(node, sp.IndexedBase):
            replacements[node] = mapping[node]
    return expr.xreplace(replacements)


def _distribution(rhs: RandomSymbol) -> sp.Basic:
    distribution = rhs.pspace.distribution
    name = type(distribution).__name__.removesuffix("Distribution")
    return sp.Function(name)(distribution.args[0])


def _pieces(spec: Spec, variant: Variant) -> list[tuple[sp.Basic, str, sp.Basic]]:
    pieces = []
    for lhs, rhs in variant.relations.items():
        if isinstance(rhs, RandomSymbol):
            pieces.append((_displayed(spec, lhs), "~", _displayed(spec, _distribution(rhs))))
        else:
            pieces.append((_displayed(spec, lhs), "=", _displayed(spec, rhs)))
    return pieces


def relation_mathml(spec: Spec, variant: Variant) -> str:
    """The variant's relations as one block ``<math>`` element."""
    rows = []
    for lhs, relation, rhs in _pieces(spec, variant):
        operator = "<mo>&#x223C;</mo>" if relation == "~" else "<mo>=</mo>"
        rows.append(
            f"<mrow>{_tidy(mathml(lhs, printer='presentation'))}{operator}"
            f"{_tidy(mathml(rhs, printer='presentation'))}</mrow>"
        )
    body = (
        rows[0]
        if len(rows) == 1
        else ("<mtable>" + "".join(f"<mtr><mtd>{row}</mtd></mtr>" for row in rows) + "</mtable>")
    )
    return _MATH.format(body)


#: The elements and attributes (with the values allowed) of presentation MathML that
#: :func:`relation_mathml` may write: no element that can hold other markup
#: (``annotation-xml``), no link, no event handler, no style.
_ELEMENTS = frozenset(
    "math mi mn mo ms mtext mspace mrow mfrac msqrt mroot mstyle mpadded mphantom mfenced "
    "menclose msub msup msubsup munder mover munderover mmultiscripts mprescripts none "
    "mtable mtr mtd".split()
)
_ATTRIBUTE = re.compile(
    r"\s+(accent|accentunder|display|mathvariant|stretchy|fence|separator"
    r'|open|close|separators|linethickness|columnalign|xmlns)="([\w .:/#-]*)"'
)
_TAG = re.compile(r"<(/?)([a-z]+)((?:\s+[a-z]+=\"[^\"<>]*\")*)\s*(/?)>")
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{1,31});")


def is_mathml(markup: str) -> bool:
    """Whether ``markup`` is MathML of the kind :func:`relation_mathml` writes: from
    ``<math`` to ``</math>``, presentation elements only, their attributes from a short list,
    text without markup, and entities (nesting is not checked: a browser closes what is left
    open, and no element allowed can run anything). What a cache returns is checked with it
    before the HTML report takes it as markup."""
    if not markup.startswith("<math") or not markup.endswith("</math>"):
        return False
    position = 0
    for tag in _TAG.finditer(markup):
        if not _text(markup[position : tag.start()]):
            return False
        closing, name, attributes, empty = tag.groups()
        if name not in _ELEMENTS or (closing and (attributes or empty)):
            return False
        if _ATTRIBUTE.sub("", attributes).strip():
            return False
        if 'xmlns="' in attributes and f'xmlns="{_NAMESPACE}"' not in attributes:
            return False
        position = tag.end()
    return _text(markup[position:])


def _text(text: str) -> bool:
    """Text between tags: no markup, and every ``&`` an entity."""
    return "<" not in text and ">" not in text and "&" not in _ENTITY.sub("", text)


def relation_latex(spec: Spec, variant: Variant) -> str:
    lines = []
    for lhs, relation, rhs in _pieces(spec, variant):
        symbol = r"\sim" if relation == "~" else "="
        lines.append(f"{sp.latex(lhs)} {symbol} {sp.latex(rhs)}")
    return r" \\ ".join(lines)


_INDEX = re.compile(r"<mrow><mo>\(</mo>((?:<mi>\w+</mi><mo>,</mo>)*<mi>\w+</mi>)<mo>\)</mo></mrow>")
_IDENTIFIER = re.compile(r"<mi>([^<]+)</mi>")


def _tidy(markup: str) -> str:
    markup = _INDEX.sub(
        lambda m: "<mrow>" + m.group(1).replace("<mo>,</mo>", "") + "</mrow>", markup
    )
    markup = _IDENTIFIER.sub(lambda m: _identifier(m.group(1)), markup)
    return markup.replace("<mo>-</mo>", "<mo>&#x2212;</mo>")


def _identifier(name: str) -> str:
    if name.startswith("dL/d") and len(name) > 4:
        return (
            f"<mfrac><mrow><mo>&#x2202;</mo><mi>L</mi></mrow>"
            f"<mrow><mo>&#x2202;</mo>{_identifier(name[4:])}</mrow></mfrac>"
        )
    for suffix, accent in (("hat", "^"), ("tilde", "~")):
        if name.endswith(suffix) and len(name) > len(suffix):
            return (
                f'<mover accent="true">{_identifier(name[: -len(suffix)])}<mo>{accent}</mo></mover>'
            )
    if name.isidentifier() and len(name) > 1:
        greek = mathml(sp.Symbol(name), printer="presentation")
        if greek != f"<mi>{name}</mi>":
            return greek
        if name.lower() in _DISTRIBUTIONS:  # SymPy prints function names in lower case
            return f'<mi mathvariant="normal">{_DISTRIBUTIONS[name.lower()]}</mi>'
    return f"<mi>{name}</mi>"


_DISTRIBUTIONS = {"bernoulli": "Bernoulli", "normal": "Normal"}
