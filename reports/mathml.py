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

__all__ = ["relation_latex", "relation_mathml"]

_MATH = '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">{}</math>'


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
