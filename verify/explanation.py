r"""What a failing implementation computes instead: explanations by mutating the spec.

A failing check says which equation broke and on which input. What the code computes instead
is usually a formula next to the spec's: a dropped term, a missing square root, ``beta1`` where
``1 - beta1`` belongs, ``x`` instead of ``xhat``. Every spec is a SymPy expression, so such
neighbours can be generated (:func:`mutations`): mutation operators applied to the spec's
array-form expression, one at a time and then two at a time. Each candidate is compiled with the
same compiler as the oracle and judged like it, within the rounding bound of the candidate
itself, on every record the target answered: the counterexample and the hand-picked cases that
separate the documented variants. A candidate is an explanation only when it matches all of
them on evidence (a finite tolerance); candidates are ranked by how few operators they need,
then by size. When none matches, there is no explanation: nothing is guessed.

The operators (``operators`` in an explanation names them):

- ``drop-term``, ``negate-term``, ``double-term``: a term of a sum left out, its sign
  flipped, or counted twice (a line repeated);
- ``precedence``: ``x / (a + b)`` computed as ``x / a + b``, parentheses left out (or closed a
  term early: ``(a - b)/s - c`` for ``(a - b - c)/s``);
- ``drop-factor``: a factor of a product left out (``gamma``, the learning rate, ``1/C``);
- ``extra-factor``: an array multiplied or divided by a scalar of the component (``1/q``);
- ``no-root``, ``root``: a square root removed, or put on a nonnegative quantity;
- ``no-square``, ``abs-for-square``, ``square``: a square removed, replaced by an absolute
  value, or put on a quantity;
- ``swap``: one quantity in place of another of the same shape (``Z`` for ``Zhat``; ``beta2``
  for ``beta1``);
- ``complement``: ``1 - x`` in place of ``x`` for a quantity between 0 and 1;
- ``shift-t``: the step count off by one;
- ``constant``: a hyperparameter hard-coded at its default, stated by the documents or the
  homework API's (``eps = 1e-8``);
- ``other-axis``: a sum run along the other axis;
- ``transposed``: a result laid out transposed (a row of row sums where a row of column
  sums belongs), which only shows where the sizes are equal: elsewhere the candidate is the
  equation itself, and the target must follow it there;
- ``recount``: a count read another way, as the component says the code may have kept it
  (Adam's ``t`` advanced once per layer);
- ``redrawn``: a random draw (dropout's mask) replaced by other values of its domain,
  fitted to the answers entry by entry: code that draws afresh where it should reuse;
- ``fitted-constant``: a hyperparameter fixed at a constant fitted to the answers (a
  hard-coded value that is no documented default);
- ``zero``: nothing computed, zeros throughout (before any formula that zeros of another
  answer would let match).

A symbol replaced (``t + 1`` for ``t``) is replaced in one equation and, as well, in every
equation of its spec at once (both bias corrections). Where the record names parts of the
answers that code computes on lines of their own (:attr:`Record.parts`: an optimizer's weights
and biases), each single change is also tried on one part only, the equation's own formula on
the rest: one change more. A failure that follows a known deviation
is explained by that deviation's formula (:func:`deviation`).

Cost is bounded: explanations are looked for on failures only, within a budget of candidates
(the same on every machine, so explanations do not depend on load) and of time, and the
candidates' programs are kept for the process and on disk (:data:`CANDIDATES`, keyed like the
oracle's programs by what shapes the code, and the candidate's equations).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import itertools
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.mathml import MathMLPresentationPrinter

from eqconform.specs.defaults import DEFAULTS, DefaultKind, HyperparameterDefault

from . import cache, tolerance
from .compiler import CompiledFunction, ReduceAxis, Transposed, compile_expressions
from .graph import Combination, SpecGraph
from .judge import (
    Comparison,
    Finding,
    QuantityRaised,
    Record,
    checked_quantities,
    compare,
    judge,
)
from .results import ExplanationSummary
from .rounding import bound_program

__all__ = ["Explanation", "Mutation", "computes", "deviation", "explain", "mutations"]

#: Candidates one failure's explanation may judge: the same ones on any machine and under
#: any load, so that a run gives the same explanation wherever it runs (about 10 s on 2 cores
#: for an optimizer's failure with nothing near, less once the candidates' programs are cached).
BUDGET_CANDIDATES = 1000
#: Seconds past which the search stops all the same (a machine far slower than planned for).
BUDGET_SECONDS = 30.0
#: At most this many explanations are reported, the simplest first.
KEPT = 3


@dataclass(frozen=True)
class Mutation:
    """A candidate formula for ``quantity``: the spec's expression changed by ``operators``."""

    quantity: str
    expr: sp.Expr
    operators: tuple[str, ...]
    #: What changed, in words, with the spec's symbol names (one phrase per operator).
    changes: tuple[str, ...]
    #: The parts the operators put in (highlighted when the formula is displayed).
    inserted: tuple[sp.Expr, ...] = ()
    #: Other equations of the same spec changed the same way (``t + 1`` for ``t`` in both
    #: bias corrections), as ``(quantity, expr)``.
    also: tuple[tuple[str, sp.Expr], ...] = ()
    #: Where the change shows (``Eq(N, C)`` for a transposed layout); elsewhere the candidate
    #: is the equation itself. None: everywhere.
    condition: sp.Basic | None = None
    #: A random draw fitted to the answers (``redrawn``), None for a formula.
    fitted: Fit | None = None
    #: Changes beyond the operators: a fitted value is a free parameter, one change more.
    extra_cost: int = 0
    #: The part of the answers the change is made in (:attr:`Record.parts`: the weights W
    #: only), the equation's own formula elsewhere; None: all of them.
    part: str | None = None

    @property
    def size(self) -> int:
        return sum(int(sp.count_ops(expr)) + len(expr.free_symbols) for _, expr in self.equations)

    @property
    def cost(self) -> int:
        """How many changes the candidate needs: candidates are tried, and ranked, by it."""
        return len(self.operators) + self.extra_cost

    @property
    def equations(self) -> tuple[tuple[str, sp.Expr], ...]:
        return ((self.quantity, self.expr), *self.also)


@dataclass(frozen=True)
class Fit:
    """A random draw ``replaced`` stood in for by ``symbol``, whose values each record's
    answers give through ``solution`` (``replaced`` solved for from the equation), each snapped
    to the nearest of ``members`` (the draw's domain)."""

    symbol: sp.Symbol
    replaced: sp.Symbol
    solution: sp.Expr
    members: tuple[float, ...]


@dataclass(frozen=True)
class Explanation:
    """A formula the target's answers match on every record examined."""

    quantity: str
    formula: sp.Expr
    operators: tuple[str, ...]
    description: str
    examples_matched: int
    inserted: tuple[sp.Expr, ...] = ()
    #: Other equations changed with it (:attr:`Mutation.also`).
    also: tuple[tuple[str, sp.Expr], ...] = ()

    def summary(self) -> ExplanationSummary:
        """The explanation as plain data for the report: several equations changed together
        are one formula (their ``srepr`` a ``Tuple``, in the order of ``quantity``)."""
        equations = ((self.quantity, self.formula), *self.also)
        return ExplanationSummary(
            quantity=", ".join(quantity for quantity, _ in equations),
            latex=r",\quad ".join(latex(quantity, expr) for quantity, expr in equations),
            srepr=sp.srepr(self.formula)
            if not self.also
            else sp.srepr(sp.Tuple(*(expr for _, expr in equations))),
            description=self.description,
            operators=self.operators,
            examples_matched=self.examples_matched,
            mathml="<mo>,</mo>".join(
                mathml(quantity, expr, self.inserted) for quantity, expr in equations
            ),
        )


def computes(explained: Sequence[Explanation]) -> str:
    """The sentence a verdict says what the target computes in, from the best explanation;
    empty when there is none."""
    return f"It computes {explained[0].description}." if explained else ""


def latex(quantity: str, expr: sp.Expr) -> str:
    """``quantity = expr`` in LaTeX, a sum along an axis written as one."""

    class _Printer(LatexPrinter):
        def _print_ReduceAxis(self, expr: ReduceAxis) -> str:
            body, axis, _ = expr.args
            index = "i" if int(axis) == 0 else "j"
            return r"\sum_{" + index + r"} \left(" + self._print(body) + r"\right)"

        def _print_Transposed(self, expr: Transposed) -> str:
            return r"\left(" + self._print(expr.args[0]) + r"\right)^{T}"

    return f"{sp.latex(sp.Symbol(quantity))} = {_Printer().doprint(expr)}"


class Changed(sp.Function):
    """A part of a formula an operator put in: displayed highlighted, never evaluated."""

    nargs = 1


class _MathML(MathMLPresentationPrinter):
    def _print_ReduceAxis(self, expr: ReduceAxis) -> Any:
        body, axis, _ = expr.args
        row = self.dom.createElement("mrow")
        under = self.dom.createElement("munder")
        for tag, text in (("mo", "\u2211"), ("mi", "i" if int(axis) == 0 else "j")):
            element = self.dom.createElement(tag)
            element.appendChild(self.dom.createTextNode(text))
            under.appendChild(element)
        row.appendChild(under)
        row.appendChild(self._operator("("))
        row.appendChild(self._print(body))
        row.appendChild(self._operator(")"))
        return row

    def _print_Transposed(self, expr: Transposed) -> Any:
        power = self.dom.createElement("msup")
        row = self.dom.createElement("mrow")
        row.appendChild(self._operator("("))
        row.appendChild(self._print(expr.args[0]))
        row.appendChild(self._operator(")"))
        power.appendChild(row)
        letter = self.dom.createElement("mi")
        letter.appendChild(self.dom.createTextNode("T"))
        power.appendChild(letter)
        return power

    def _operator(self, text: str) -> Any:
        element = self.dom.createElement("mo")
        element.appendChild(self.dom.createTextNode(text))
        return element

    def _print_Changed(self, expr: Changed) -> Any:
        row = self.dom.createElement("mrow")
        row.setAttribute("class", "changed")
        row.setAttribute("mathcolor", "#b4001e")
        row.appendChild(self._print(expr.args[0]))
        return row


def mathml(quantity: str, expr: sp.Expr, inserted: Sequence[sp.Expr] = ()) -> str:
    """``quantity = expr`` as presentation MathML (an ``<mrow>``), the ``inserted`` parts
    highlighted."""
    marked = expr.xreplace({part: Changed(part) for part in inserted})
    printer = _MathML()
    left = printer.doprint(sp.Symbol(quantity))
    return f"<mrow>{left}<mo>=</mo>{printer.doprint(marked)}</mrow>"


# --------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class _Context:
    """What the operators may use: symbols of the same kind, scalars, sizes of axes."""

    #: For each array symbol, the others of the same shape in the record.
    kin: Mapping[sp.Symbol, tuple[sp.Symbol, ...]]
    #: Scalar (hyperparameter) symbols of the component.
    scalars: tuple[sp.Symbol, ...]
    #: Symbols known to lie in (0, 1): their complement is a candidate.
    unit_interval: frozenset[sp.Symbol]
    #: The size symbol of each reduced axis.
    sizes: Mapping[int, sp.Symbol]
    #: The domain the documents give each symbol (scalars of one domain are of one kind).
    domains: Mapping[sp.Symbol, sp.Set]
    #: Defaults of scalars (stated by the documents or the homework API's), which code may
    #: have hard-coded.
    defaults: Mapping[sp.Symbol, HyperparameterDefault] = field(default_factory=dict)
    #: For a symbol, the other readings the record offers (:attr:`Record.alternatives`): the
    #: stand-in symbol and the words for it.
    alternatives: Mapping[sp.Symbol, tuple[tuple[sp.Symbol, str], ...]] = field(
        default_factory=dict
    )


def _context(
    graph: SpecGraph, spec_ids: Sequence[str], record: Record, checked: Sequence[str]
) -> _Context:
    symbols: dict[str, sp.Symbol] = {}
    sizes: dict[int, sp.Symbol] = {}
    domains: dict[sp.Symbol, sp.Set] = {}
    indexed: dict[str, sp.Set] = {}
    for used in graph.uses:
        spec = graph.spec(used)
        for info in spec.symbols:
            if isinstance(info.symbol, sp.Symbol):
                symbols.setdefault(info.name, info.symbol)
                domains.setdefault(info.symbol, info.domain)
            else:  # an array (IndexedBase): its array-form symbol is found in the forms
                indexed.setdefault(info.name, info.domain)
        for form in graph.form(used, spec.canonical.id).values():
            for node in sp.preorder_traversal(form):
                if isinstance(node, ReduceAxis):
                    sizes.setdefault(int(node.args[1]), node.args[2])
                elif isinstance(node, sp.Symbol):
                    symbols.setdefault(node.name, node)
    for name, domain in indexed.items():
        if name in symbols:
            domains.setdefault(symbols[name], domain)
    # What the equations define or are judged by is never an input of a candidate: "theta
    # in place of theta_prev" would predict the answer from itself.
    outputs = {name for spec_id in spec_ids for name in graph.defines(spec_id)} | set(checked)
    arrays = {
        name: np.shape(value)
        for name, value in record.values.items()
        if isinstance(value, np.ndarray) and name not in outputs
    }
    # Record inputs the spec does not name (LayerNorm's raw Z next to Zhat) are kin too.
    for name in arrays:
        symbols.setdefault(name, sp.Symbol(name, real=True))
    kin = {
        symbols[name]: tuple(
            symbols[other]
            for other, other_shape in arrays.items()
            if other != name and other_shape == shape
        )
        for name, shape in arrays.items()
    }
    given = [
        symbols[name]
        for name, value in record.values.items()
        if isinstance(value, float) and name in symbols
    ]
    # Scalars the component computes from them alone (dropout's q = 1 - p) are scalars too.
    forms = {
        name: graph.form(spec_id, graph.spec(spec_id).canonical.id).get(name)
        for name, spec_id in graph.definer.items()
    }
    derived = [
        symbols[name]
        for name, form in forms.items()
        if form is not None  # a random draw (dropout's mask) has no form
        and name in symbols
        and name not in outputs
        and all(symbol in given for symbol in form.free_symbols)
    ]
    scalars = tuple(dict.fromkeys([*given, *derived]))
    unit = frozenset(
        symbol
        for symbol, domain in domains.items()
        if symbol in scalars and domain.is_subset(sp.Interval(0, 1)) is True
    )
    documented = {
        name: default
        for spec_id in spec_ids
        for name, default in DEFAULTS.get(graph.spec(spec_id).component, {}).items()
    }
    defaults = {symbol: documented[symbol.name] for symbol in scalars if symbol.name in documented}
    alternatives = {
        symbols[name]: tuple(
            (sp.Symbol(other.name, **symbols[name].assumptions0), other.words) for other in others
        )
        for name, others in record.alternatives.items()
        if name in symbols
    }
    return _Context(kin, scalars, unit, sizes, domains, defaults, alternatives)


def _at(node: sp.Expr, context: _Context) -> Iterator[tuple[sp.Expr, str, str]]:
    """Each change of ``node`` an operator makes: ``(new node, operator, words)``."""
    if isinstance(node, sp.Add):
        for term in node.args:
            rest = [t for t in node.args if t is not term]
            yield sp.Add(*rest), "drop-term", f"without the term {term}"
            yield sp.Add(*rest, -term), "negate-term", f"with the sign of {term} flipped"
            yield sp.Add(*rest, 2 * term), "double-term", f"with the term {term} counted twice"
            # 1 - beta1**t written (1 - beta1)**t: a power taken of the whole sum.
            coefficient, power = term.as_coeff_Mul()
            if isinstance(power, sp.Pow) and not power.exp.is_Number:
                whole = sp.Add(*rest, coefficient * power.base)
                yield (
                    whole**power.exp,
                    "precedence",
                    f"({whole})**{power.exp} for {node}: the power taken of the whole",
                )
            # a*x + b written a*(x + b): a factor's parentheses around the next term too.
            if isinstance(term, sp.Mul):
                for factor in term.args:
                    if factor.is_Number:
                        continue
                    for other in rest:
                        left = [t for t in rest if t is not other]
                        inner = term / factor + other
                        if inner == 0:
                            continue
                        yield (
                            sp.Add(*left, factor * inner),
                            "precedence",
                            f"{factor}*({inner}) for {term} + {other}: parentheses misplaced",
                        )
    if isinstance(node, sp.Mul):
        for factor in node.args:
            if factor == -1 or (factor.is_Number and not factor.is_Rational):  # signs, floats
                continue
            rest = [f for f in node.args if f is not factor]
            yield sp.Mul(*rest), "drop-factor", f"without the factor {factor}"
            # (x - mu)/s written x - mu/s: the division applied to one term only.
            if isinstance(factor, sp.Add) and any(
                isinstance(f, sp.Pow) and f.exp.is_negative for f in rest
            ):
                divisor = sp.Mul(*rest)
                divisors = [f for f in rest if isinstance(f, sp.Pow) and f.exp.is_negative]
                for term in factor.args:
                    alone = factor - term + term * divisor
                    yield (
                        alone,
                        "precedence",
                        f"{alone} for {node}: parentheses left out",
                    )
                    # (a - b)/s - c for (a - b - c)/s: parentheses closed a term early, or a
                    # derivation that leaves one divisor off one term (a power -1 for -3/2).
                    for kept in [divisor] if len(divisors) == 1 else [divisor, *divisors]:
                        if kept is divisor and len(factor.args) == 2:
                            continue  # of two terms, the other alone divided: said above
                        closed = (factor - term) * divisor + term * divisor / kept
                        yield (
                            closed,
                            "precedence",
                            f"the term {term} not divided by {1 / kept}",
                        )
            # (a*g)**2 for a*g**2: the square taken of the whole product.
            if isinstance(factor, sp.Pow) and factor.exp == 2 and rest:
                whole = sp.Mul(*rest) * factor.base
                yield (
                    whole**2,
                    "precedence",
                    f"({whole})**2 for {node}: the square taken of the product",
                )
            # x / (a + b) written without parentheses: x / a + b. A sign stays outside
            # (W -= x / a + b subtracts b as well), or goes with x alone (W = W - x / a + b).
            if isinstance(factor, sp.Pow) and factor.exp == -1 and isinstance(factor.base, sp.Add):
                sign, numerator = sp.Mul(*rest).as_coeff_Mul()
                for first in factor.base.args:
                    others = sp.Add(*(t for t in factor.base.args if t is not first))
                    words = (
                        f"{numerator / first + others} for {numerator / factor.base}: "
                        "parentheses left out"
                    )
                    yield sign * (numerator / first + others), "precedence", words
                    if sign < 0:
                        yield sign * numerator / first + others, "precedence", words
    if isinstance(node, sp.Pow):
        base, exponent = node.args
        if exponent.is_Symbol:  # beta1*t typed for beta1**t
            yield base * exponent, "times-for-power", f"{base}*{exponent} for {node}"
        # sqrt(v/c) written sqrt(v)/c: the root taken of the numerator only.
        numerator, denominator = sp.fraction(base)
        # (With a numerator of 1 that is no-root's change, said its way.)
        if abs(exponent) == sp.Rational(1, 2) and denominator != 1 and numerator != 1:
            words = f"sqrt({numerator})/({denominator}) for {node}: the root of the numerator only"
            shifted = sp.sqrt(numerator) / denominator
            yield shifted if exponent > 0 else 1 / shifted, "precedence", words
        if exponent == sp.Rational(1, 2):
            yield base, "no-root", f"{base} instead of its square root"
        elif exponent == sp.Rational(-1, 2):
            yield 1 / base, "no-root", f"{base} instead of its square root"
        elif exponent == 2:
            yield base, "no-square", f"{base} instead of its square"
            yield sp.Abs(base), "abs-for-square", f"|{base}| instead of its square"
    if isinstance(node, ReduceAxis):
        body, axis, size = node.args
        yield node / size, "mean-for-sum", f"the mean of {body} instead of its sum"
        other = 1 - int(axis)
        if other in context.sizes:
            yield (
                ReduceAxis(body, other, context.sizes[other]),
                "other-axis",
                f"the sum of {body} along axis {other} instead of axis {int(axis)}",
            )
            yield Transposed(node), "transposed", "laid out transposed"
            yield (
                ReduceAxis(node, other, context.sizes[other]),
                "all-axes",
                f"the sum of {body} over all entries instead of along axis {int(axis)}",
            )
    if isinstance(node, sp.Symbol):
        for other in context.sizes.values():
            if node in context.sizes.values() and other != node:
                yield other, "swap", f"{other.name} in place of {node.name}"
        if node.is_integer and node.name == "t":
            yield node - 1, "shift-t", "t - 1 for t"
            yield node + 1, "shift-t", "t + 1 for t"
        for stand_in, words in context.alternatives.get(node, ()):
            yield stand_in, "recount", words
        if node in context.unit_interval:
            yield 1 - node, "complement", f"1 - {node.name} for {node.name}"
        for other in context.kin.get(node, ()):
            yield other, "swap", f"{other.name} in place of {node.name}"
        if node in context.kin:  # an array: a scalar factor it may have gained, or its root
            for scalar in context.scalars:
                yield node * scalar, "extra-factor", f"{node.name} times {scalar.name}"
                yield node / scalar, "extra-factor", f"{node.name} divided by {scalar.name}"
            if node.is_nonnegative:
                yield sp.sqrt(node), "root", f"sqrt({node.name}) for {node.name}"
            yield node**2, "square", f"{node.name} squared"
        if node in context.defaults:
            default = context.defaults[node]
            # Said as what it is: a value the documents state, or the homework API's own.
            whose = (
                "its documented default"
                if default.kind is DefaultKind.STATED
                else "the homework API's default"
            )
            yield (
                sp.Float(default.value),
                "constant",
                f"{node.name} fixed at {default.value:g}, {whose}",
            )

        if node in context.scalars:
            for other in context.scalars:
                if other != node and context.domains.get(other) == context.domains.get(node):
                    yield other, "swap", f"{other.name} in place of {node.name}"


#: Operators that take a part away, leaving nothing new to highlight. All-zero answers are
#: said as such before any formula that is zero on them (beta2*v_prev where v is never
#: stored, and v_prev stays 0).
_REMOVING = frozenset({"drop-term", "drop-factor", "zero"})
#: Operators that change a whole right-hand side (:func:`_whole`).
_WHOLE = frozenset({"whole-root", "whole-square"})


def _nodes(expr: sp.Expr) -> list[sp.Expr]:
    """The distinct subexpressions of ``expr`` (the whole expression first)."""
    seen: dict[sp.Expr, None] = {}
    for node in sp.preorder_traversal(expr):
        if not node.is_Number:
            seen.setdefault(node, None)
    return list(seen)


def _replaced(expr: sp.Expr, node: sp.Expr, new: sp.Expr, which: int | None = None) -> sp.Expr:
    """``expr`` with ``node`` replaced by ``new`` everywhere (or only at its ``which``-th
    occurrence, in :func:`_occurrences`' order) but in the axis and size of a sum (N for C
    changes what is divided by, not the length the sum runs over)."""
    seen = 0

    def walk(part: sp.Expr) -> sp.Expr:
        nonlocal seen
        if part == node:
            seen += 1
            return new if which is None or seen - 1 == which else part
        if not part.args:
            return part
        if isinstance(part, ReduceAxis):
            body, axis, size = part.args
            return ReduceAxis(walk(body), axis, size)
        args = [walk(arg) for arg in part.args]
        changed = any(a is not b for a, b in zip(args, part.args, strict=True))
        return part.func(*args) if changed else part

    return walk(expr)


def _condition(operator: str, context: _Context, before: sp.Basic | None) -> sp.Basic | None:
    """Where a change made by ``operator`` (after changes that show where ``before`` holds)
    can show: a transposed layout only where the reduced axes have one size (elsewhere its
    shape differs from the answer's)."""
    if operator == "transposed" and len(context.sizes) > 1:
        return sp.Eq(*list(context.sizes.values())[:2], evaluate=False)
    return before


def _occurrences(expr: sp.Expr, node: sp.Expr) -> int:
    """How many times :func:`_replaced` would replace ``node`` in ``expr``."""
    if expr == node:
        return 1
    if isinstance(expr, ReduceAxis):
        return _occurrences(expr.args[0], node)
    return sum(_occurrences(arg, node) for arg in expr.args)


def _whole(expr: sp.Expr, context: _Context) -> Iterator[tuple[sp.Expr, str, str]]:
    """Changes of a whole right-hand side no single node's change gives: its root or square
    (a standard deviation stored as the variance), and every sum along the other axis."""
    yield sp.sqrt(expr), "whole-root", "the square root of the whole"
    yield expr**2, "whole-square", "the square of the whole"
    sums = [node for node in _nodes(expr) if isinstance(node, ReduceAxis)]
    axes = {int(node.args[1]) for node in sums}
    if len(sums) > 1 and len(axes) == 1:
        (axis,) = axes
        other = 1 - axis
        if other in context.sizes:
            moved = expr.replace(
                lambda e: isinstance(e, ReduceAxis) and int(e.args[1]) == axis,
                lambda e: ReduceAxis(e.args[0], other, context.sizes[other]),
            )
            yield moved, "other-axis", f"every sum along axis {other} instead of axis {axis}"


def _single(quantity: str, base: Mutation, context: _Context) -> Iterator[Mutation]:
    for node in _nodes(base.expr):
        # A quantity written in several places may be mistyped in one of them only
        # (beta1*v_prev + (1 - beta2)*g**2 for the second moment).
        # So may a part written twice, with a term dropped from one copy only ((x - mu)**2
        # with mu left out of the variance but not of the numerator).
        places = _occurrences(base.expr, node) if node is not base.expr else 1
        at = _at(node, context)
        if node is base.expr:
            at = itertools.chain(at, _whole(node, context))
        for new, operator, words in at:
            changes = [(_replaced(base.expr, node, new), words)]
            if places > 1 and (operator not in _REMOVING or not isinstance(node, sp.Symbol)):
                changes += [
                    (_replaced(base.expr, node, new, which), f"{words}, in one place only")
                    for which in range(places)
                ]
            for changed, said in changes:
                if changed == base.expr:
                    continue
                yield dataclasses.replace(
                    base,
                    expr=changed,
                    operators=(*base.operators, operator),
                    changes=(*base.changes, said),
                    inserted=(*base.inserted, new) if operator not in _REMOVING else base.inserted,
                    condition=_condition(operator, context, base.condition),
                )


def _throughout(group: Mapping[str, sp.Expr], context: _Context) -> Iterator[Mutation]:
    """A symbol replaced in every equation of one spec's form that uses it (``t + 1`` in
    both bias corrections): only where two or more do, else it is a single mutation."""
    for symbol in sorted(set().union(*(e.free_symbols for e in group.values())), key=str):
        using = [
            (quantity, expr) for quantity, expr in group.items() if symbol in expr.free_symbols
        ]
        if len(using) < 2:
            continue
        for new, operator, words in _at(symbol, context):
            if operator in _REMOVING or not isinstance(new, sp.Expr):
                continue
            changed = [(quantity, _replaced(expr, symbol, new)) for quantity, expr in using]
            (first, expr), *others = changed
            yield Mutation(
                first,
                expr,
                (operator,),
                (f"{words}, in {' and '.join(quantity for quantity, _ in using)}",),
                (new,),
                also=tuple(others),
            )


def _shape(node: sp.Basic) -> str:
    """``node``'s structure with every symbol alike (``1 - beta1**t`` and ``1 - beta2**t``)."""
    blank = sp.Symbol("_")
    return sp.srepr(node.xreplace({symbol: blank for symbol in node.free_symbols}))


def _alike(group: Mapping[str, sp.Expr], context: _Context) -> Iterator[Mutation]:
    """One slip made alike in every equation of a spec's form that has a part of the same
    structure (``(1 - beta1)**t`` and ``(1 - beta2)**t`` in both bias corrections): the k-th
    change an operator makes of each such part."""
    (first, expr), *others = group.items()
    if not others:
        return
    for node in _nodes(expr):
        if node.is_Symbol:
            continue  # a symbol replaced throughout is _throughout's
        matches = [
            next((n for n in _nodes(other) if not n.is_Symbol and _shape(n) == _shape(node)), None)
            for _, other in others
        ]
        if any(match is None for match in matches):
            continue
        changes = [list(_at(part, context)) for part in (node, *matches)]
        for index, (new, operator, words) in enumerate(changes[0]):
            if operator in _REMOVING or any(
                len(made) <= index or made[index][1] != operator for made in changes[1:]
            ):
                continue
            also = tuple(
                (quantity, _replaced(other, match, made[index][0]))
                for (quantity, other), match, made in zip(others, matches, changes[1:], strict=True)
            )
            yield Mutation(
                first,
                _replaced(expr, node, new),
                (operator,),
                (f"{words}, and alike in {', '.join(q for q, _ in others)}",),
                (new, *(made[index][0] for made in changes[1:])),
                also=also,
            )


def mutations(
    forms: Mapping[str, sp.Expr] | Sequence[tuple[str, sp.Expr]],
    context: _Context,
    *,
    depth: int = 2,
    groups: Sequence[Mapping[str, sp.Expr]] = (),
    fits: Iterable[Mutation] = (),
    parts: Callable[[Mutation], Sequence[str]] | None = None,
    variants: Sequence[Mutation] = (),
    overwritten: Sequence[Mutation] = (),
) -> Iterator[Mutation]:
    """The candidates for the equations ``quantity = expr`` of ``forms`` (several forms of one
    quantity allowed: a spec's documented variants), fewest changes first: every single
    mutation of each, and of each of ``groups`` (the equations of one spec's form) a symbol
    replaced throughout; then (``depth`` 2) the ``fits`` (consumed lazily), each of a spec's
    forms (``variants``) and each single mutation made in one part only (those ``parts``
    gives for it, asked when the round starts), and every composition of two. Each formula
    is given once."""
    pairs = list(forms.items()) if isinstance(forms, Mapping) else list(forms)
    seen: set[tuple[tuple[tuple[str, sp.Expr], ...], str | None]] = {
        (((q, e),), None) for q, e in pairs
    }
    level = [Mutation(quantity, expr, (), ()) for quantity, expr in pairs]
    for round_ in range(depth):
        following = []
        # Each round lazily: the caller stops when its time is up or a simpler match is found.
        candidates = (
            itertools.chain(
                # Nothing computed (zeros): said as such, before any formula an all-zero
                # answer of another quantity would let match (Zhat times a zero gradient).
                (
                    Mutation(
                        quantity,
                        sp.Integer(0),
                        ("zero",),
                        ("0 at every entry: nothing computed, or nothing stored",),
                    )
                    for quantity, expr in pairs
                    if expr != 0
                ),
                # The few changes made throughout a spec first: one of them needs all of its
                # equations changed, which no single equation's candidates can give.
                (m for group in groups for m in _throughout(group, context)),
                (m for group in groups for m in _alike(group, context)),
                overwritten,
                (m for base in level for m in _single(base.quantity, base, context)),
            )
            if round_ == 0
            else itertools.chain(
                fits,
                # The few forms on one part before the many single changes on one part.
                (
                    dataclasses.replace(m, part=part, extra_cost=m.extra_cost + 1)
                    for m in [*variants, *level]
                    for part in (parts(m) if parts is not None else ())
                ),
                (m for base in level for m in _single(base.quantity, base, context)),
            )
        )
        for mutation in candidates:
            if (mutation.equations, mutation.part) in seen:
                continue
            seen.add((mutation.equations, mutation.part))
            if not mutation.fitted:
                following.append(mutation)
            yield mutation
        level = following


# --------------------------------------------------------------------------- matching


#: Compiled candidates (value and bound programs), on disk across runs and processes.
CANDIDATES = cache.DiskCache("candidates")
#: The same, held for this process (the equation's own program a candidate on one part of the
#: answers falls back to is asked for by every such candidate).
_COMPILED: dict[str, CompiledFunction] = {}
_COMPILED_KEPT = 4096


def _composed(
    graph: SpecGraph,
    quantity: str,
    combination: Combination,
    observed: frozenset[str],
    override: Mapping[str, sp.Expr] | None = None,
) -> sp.Expr:
    """``quantity`` from the observed values, with the combination's forms and the canonical
    ones of specs outside it (a candidate may bring in a quantity its equation did not use,
    such as dropout's q)."""
    every = {spec_id: graph.spec(spec_id).canonical.id for spec_id in graph.uses}
    every.update(dict(combination))
    return graph.expression(quantity, tuple(sorted(every.items())), observed, override=override)


#: What a candidate's program answers: the quantity, from which observed quantities, whether
#: the change shows, with the neighbours in which forms.
_Key = tuple[str, frozenset[str], bool, Combination]


class _Candidate:
    """One mutation, compiled for each question asked of it (value first, bound on demand)."""

    def __init__(self, graph: SpecGraph, mutation: Mutation, combination: Combination):
        self.graph, self.mutation, self.combination = graph, mutation, combination
        self._expressions: dict[_Key, sp.Expr] = {}
        self._values: dict[_Key, CompiledFunction] = {}
        self._bounds: dict[_Key, CompiledFunction] = {}
        self._solution: CompiledFunction | None = None

    def _applies(self, record: Record) -> bool:
        """Whether the change shows on ``record`` (:attr:`Mutation.condition`)."""
        condition = self.mutation.condition
        if condition is None:
            return True
        sizes = {s: sp.Float(record.values[s.name]) for s in condition.free_symbols}
        return (
            bool(condition.xreplace(sizes)) if len(sizes) == len(condition.free_symbols) else True
        )

    def _key(self, quantity: str, record: Record) -> _Key:
        return quantity, record.observed, self._applies(record), self.combination

    def _expression(self, key: _Key) -> sp.Expr:
        if key not in self._expressions:
            quantity, observed, mutated, combination = key
            self._expressions[key] = _composed(
                self.graph,
                quantity,
                combination,
                observed,
                override=dict(self.mutation.equations) if mutated else {},
            )
        return self._expressions[key]

    def _values_of(self, record: Record) -> Mapping[str, Any]:
        """The record's values, with a fitted draw's values (:class:`Fit`) when there is one."""
        fit = self.mutation.fitted
        if fit is None:
            return record.values
        if self._solution is None:
            self._solution = compile_expressions((fit.solution,))
        with np.errstate(all="ignore"):
            (solved,) = self._solution(record.values)
            solved = np.asarray(solved, dtype=np.float64)
            members = np.asarray(fit.members, dtype=np.float64)
            nearest = members[np.argmin(np.abs(solved[..., None] - members), axis=-1)]
        # Where the answer does not tell (a zero gradient), the record's own draw stands.
        drawn = np.where(np.isfinite(solved), nearest, record.values[fit.replaced.name])
        return {**record.values, fit.symbol.name: drawn}

    def _program(self, key: _Key, kind: str) -> CompiledFunction:
        """The candidate's value or bound program for ``key``, from :data:`CANDIDATES` when
        a run before compiled it (the same bugs recur across a class's handins), else built
        and stored. An entry this code could not have written is rebuilt, never trusted."""
        quantity, observed, mutated, combination = key
        stored_key = cache.key(
            [
                self.graph.fingerprint,
                kind,
                quantity,
                repr(combination),
                repr(sorted(observed)),
                *(
                    f"{name} = {sp.srepr(expr)}"
                    for name, expr in (self.mutation.equations if mutated else ())
                ),
            ]
        )
        known = _COMPILED.get(stored_key)
        if known is not None:
            return known
        entry = CANDIDATES.get(stored_key)
        compiled = None
        if entry is not None:
            try:
                compiled = CompiledFunction.from_data(entry)
            except (KeyError, TypeError, ValueError, SyntaxError):
                compiled = None
        if compiled is None:
            expr = self._expression(key)
            compiled = (
                compile_expressions((expr,))
                if kind == "value"
                else bound_program((expr,)).compiled()
            )
            CANDIDATES.put(stored_key, compiled.to_data())
        if len(_COMPILED) >= _COMPILED_KEPT:
            _COMPILED.clear()
        _COMPILED[stored_key] = compiled
        return compiled

    def _evaluate(self, kind: str, quantity: str, record: Record, values: Any) -> np.ndarray:
        """The candidate's ``kind`` ("value" or "bound") on ``record``: where the change is
        made in one part of the answers, the equation's own elsewhere."""
        programs = self._values if kind == "value" else self._bounds
        key = self._key(quantity, record)
        keys = [key]
        if self.mutation.part is not None and key[2]:
            keys.append((quantity, record.observed, False, key[3]))
        results = []
        for each in keys:
            if each not in programs:
                programs[each] = self._program(each, kind)
            (result,) = programs[each](values)
            results.append(self._filled(programs[each], result, quantity, record))
        if len(results) == 1:
            return results[0]
        mask = np.asarray(record.parts.get(self.mutation.part or "", ()))
        if mask.shape != np.shape(results[0]):
            raise ValueError(f"no part {self.mutation.part!r} of {quantity} in this record")
        return np.where(mask, results[0], results[1])

    def value(self, quantity: str, record: Record) -> np.ndarray:
        return self._evaluate("value", quantity, record, self._values_of(record))

    @staticmethod
    def _filled(
        program: CompiledFunction, result: Any, quantity: str, record: Record
    ) -> np.ndarray:
        """A constant formula (zeros) predicts the same at every entry of the answer."""
        if program.arguments:
            return np.asarray(result)
        return np.broadcast_to(np.asarray(result), np.shape(record.values[quantity]))

    def compare(self, quantity: str, record: Record) -> tuple[Comparison, np.ndarray]:
        """The candidate judged like the spec: within its own rounding bound."""
        predicted = self.value(quantity, record)
        u = tolerance.oracle_unit_roundoff(record.dtype)
        bound = self._evaluate(
            "bound", quantity, record, {**self._values_of(record), "unit_roundoff": u}
        )
        return compare(record.values[quantity], predicted, bound, record, quantity), predicted

    def close(self, quantity: str, record: Record, allowed: np.ndarray) -> np.ndarray:
        """At each entry, whether the value alone comes near enough to be worth its bound:
        ten tolerances of the spec's own form, or a relative 1e-3 (a candidate's bound scales
        with its own terms: |g| where the spec has g**2)."""
        with np.errstate(all="ignore"):
            predicted = self.value(quantity, record)
            observed = np.asarray(record.values[quantity], dtype=np.float64)
            error = np.abs(observed - predicted)
            near = (error <= 10 * allowed) | (error <= 1e-3 * np.abs(observed))
            # The same NaN (0/0 of a formula without eps) is a match, as the judge counts it.
            same = (observed == predicted) | (np.isnan(observed) & np.isnan(predicted))
            return np.asarray(near | same)

    def near(self, quantity: str, record: Record, allowed: np.ndarray) -> bool:
        """Whether the value comes near at every entry (:meth:`close`)."""
        return bool(np.all(self.close(quantity, record, allowed)))


def explain(
    graph: SpecGraph,
    spec_ids: Sequence[str],
    combination: Combination,
    records: Sequence[Record],
    *,
    budget: float = BUDGET_SECONDS,
    candidates: int = BUDGET_CANDIDATES,
    kept: int = KEPT,
) -> tuple[Explanation, ...]:
    """The simplest formulas (at most ``kept``) that the target's answers in ``records`` (the
    counterexample first) all match, judging at most ``candidates`` of them and stopping after
    ``budget`` seconds all the same: the expressions of the specs
    ``spec_ids`` (the failing spec, then the others of its joint finding) mutated, with their
    neighbours in ``combination``'s forms."""
    started = time.monotonic()
    usable: list[tuple[Record, tuple[str, ...]]] = []
    for record in records:
        checked = tuple(checked_quantities(graph, spec_ids[0], record.observed)[0])
        if checked:
            usable.append((record, checked))
    if not usable:
        return ()
    chosen = dict(combination)
    # The failing spec and the others of its joint finding in each of their accepted forms
    # (the counterexample may not tell eps inside the root from outside), their neighbours in
    # the forms chosen; then the borrowed equations (AdamW's Adam step), which a deviation may
    # lie in as well.
    borrowed = [spec_id for spec_id, use in graph.uses.items() if use.borrowed]
    # Every form of these specs, documented or a known deviation, is also a candidate on one
    # part of the answers only (eps inside the root for the weights, outside for the biases).
    forms: list[tuple[str, sp.Expr]] = []
    groups: list[dict[str, sp.Expr]] = []
    spec_forms: list[Mutation] = []
    for spec_id in dict.fromkeys([*spec_ids, *borrowed]):
        spec = graph.spec(spec_id)
        for variant in spec.variants:
            form = dict(graph.form(spec_id, variant.id))
            (first, expr), *others = form.items()
            words = f"{spec_id} as {variant.id}"
            spec_forms.append(Mutation(first, expr, ("form",), (words,), also=tuple(others)))
            mutated = (
                variant.accepted
                if spec_id in spec_ids
                else variant.id == chosen.get(spec_id, spec.canonical.id)
            )
            if mutated:
                groups.append(form)
                forms += form.items()
    context = _context(graph, spec_ids, usable[0][0], usable[0][1])
    # A size may stand where the spec has another (N for C), a count may be read another way
    # (t per layer): each record says what they are.
    usable = [
        (_with_alternatives(_with_sizes(record, context.sizes)), checked)
        for record, checked in usable
    ]
    combination = _neighbours_voted(graph, spec_ids, combination, usable)
    allowed = _allowances(graph, combination, usable)

    def composed(quantity: str, record: Record) -> sp.Expr:
        """``quantity`` from the record's values, its neighbours in the forms most records
        follow (as the candidates have them: a mask fitted under the reading of p the drop
        rates show)."""
        return _composed(graph, quantity, combination, record.observed)

    # The checked quantity with the unobserved quantities between it and the answers written
    # out (theta from m and v when mhat and vhat are not exposed): a slip across two equations
    # (sqrt(v)/(1 - beta2**t) for sqrt(vhat)) is a single change there.
    record = usable[0][0]
    for quantity in usable[0][1]:
        inlined = composed(quantity, record)
        if all(inlined != expr for name, expr in forms if name == quantity):
            forms.append((quantity, inlined))

    fits = itertools.chain(
        _redrawn(graph, spec_ids[0], groups, context, usable, composed),
        _fitted_constants(groups, context, usable, composed),
    )
    found: list[tuple[tuple[int, int, int, int], Explanation, list[np.ndarray]]] = []
    settings = _joint_settings(graph, list(dict.fromkeys([*spec_ids, *borrowed])), combination)
    allowances = {combination: allowed}
    parts = sorted(set(usable[0][0].parts).intersection(*(r.parts for r, _ in usable[1:])))
    # The parts a single change comes near on by value alone: only there is it tried on one
    # part (most single changes come near on none, and are never tried so).
    near_parts: dict[tuple[tuple[str, sp.Expr], ...], tuple[str, ...]] = {}
    for mutation in mutations(
        forms,
        context,
        groups=groups,
        fits=fits,
        parts=lambda m: near_parts.get(m.equations, ()) if m.operators != ("form",) else parts,
        variants=spec_forms,
        overwritten=_overwritten(graph, forms, chosen),
    ):
        candidates -= 1
        if candidates < 0 or time.monotonic() - started > budget:
            break
        if found and mutation.cost > min(rank[0] for rank, _, _ in found):
            break  # the simplest first: a match needing fewer changes is already there
        matched = None
        for setting in settings:
            if setting not in allowances:
                allowances[setting] = _allowances(graph, setting, usable)
            candidate = _Candidate(graph, mutation, setting)
            evaluated = _evaluated(candidate, usable, allowances[setting])
            if evaluated is None:
                if parts and mutation.cost == 1 and not mutation.part:
                    near = _near_parts(candidate, usable, allowances[setting], parts)
                    known = near_parts.get(mutation.equations, ())
                    near_parts[mutation.equations] = tuple(dict.fromkeys([*known, *near]))
                continue
            comparisons = [comparison for comparison, _ in evaluated]
            if any(c.ratio > 1.0 for c in comparisons) or all(c.unbounded for c in comparisons):
                continue
            matched = candidate, setting, evaluated
            break
        if matched is None:
            continue
        candidate, setting, evaluated = matched
        if mutation.condition is not None and not any(
            candidate._applies(record) for record, _ in usable
        ):
            continue  # the change shows nowhere: the equation itself, which failed
        where = (
            f" (where {_words(mutation.condition)}; the equation's own formula elsewhere)"
            if mutation.condition is not None
            else f" ({mutation.part}; elsewhere {_elsewhere(graph, mutation, setting)})"
            if mutation.part is not None
            else ""
        )
        where += "".join(
            f", with {spec_id} as {form}"
            for spec_id, form in setting
            if dict(combination).get(spec_id) != form
            and len(_distinct_forms(graph, spec_id)) > 1
            and f"{spec_id} as {form}" not in where
        )
        equations = ", ".join(f"{quantity} = {expr}" for quantity, expr in mutation.equations)
        explanation = Explanation(
            mutation.quantity,
            mutation.expr,
            mutation.operators,
            f"{equations}: " + "; ".join(mutation.changes) + where,
            len(usable),
            mutation.inserted,
            mutation.also,
        )
        # Fewer changes first, then fewer put in (code more often forgets a factor than
        # gains one: alpha left out of the update, rather than mhat divided by alpha).
        inserting = sum(operator not in _REMOVING for operator in mutation.operators)
        # A change of one part before one of the whole (the update's root left out, rather
        # than vhat squared to make up for it).
        whole = sum(operator in _WHOLE for operator in mutation.operators)
        rank = (mutation.cost, inserting, whole, mutation.size)
        found.append((rank, explanation, [predicted for _, predicted in evaluated]))
    found.sort(key=lambda entry: entry[0])
    # Formulas equal on these inputs (sum(Zhat) is 0: dropping the factor dLdZhat from its
    # term drops the term) are one explanation, said the simplest way.
    distinct: list[tuple[Explanation, list[np.ndarray]]] = []
    for _, explanation, predictions in found:
        if not any(_same(predictions, other) for _, other in distinct):
            distinct.append((explanation, predictions))
    return tuple(explanation for explanation, _ in distinct[:kept])


def deviation(graph: SpecGraph, spec_id: str, finding: Finding, name: str) -> Explanation | None:
    """The formula of the known deviation ``name`` that ``finding`` follows, as an explanation
    (operator ``known-deviation``): the checked quantity from the record's inputs, with the
    spec in that rejected form (``uncorrected``: theta without the bias corrections), or
    under the forms of its neighbours the record matched (a borrowed deviation, a reading of
    dropout's p that the rest of the layer does not share)."""
    record = finding.record
    if record is None or not finding.quantity:
        return None
    own = spec_id in dict(finding.combination) and name in finding.deviations
    combination = (
        tuple(sorted({**dict(finding.combination), spec_id: name}.items()))
        if own
        else finding.named_under
    )
    if not combination:
        return None
    expr = graph.expression(finding.quantity, combination, record.observed)
    return Explanation(
        finding.quantity,
        expr,
        ("known-deviation",),
        f"{finding.quantity} = {expr}: the known deviation {name}",
        1,
    )


def _overwritten(
    graph: SpecGraph, forms: Sequence[tuple[str, sp.Expr]], chosen: Mapping[str, str]
) -> list[Mutation]:
    """A quantity holding what the next equation computes from it (Zhat stored as
    gamma*Zhat + beta, m stored as mhat): each equation that uses it, with it written out."""
    found = []
    for quantity, expr in forms:
        for name, spec_id in graph.definer.items():
            form = graph.form(spec_id, chosen.get(spec_id, graph.spec(spec_id).canonical.id))
            using = form.get(name)
            if using is None or name == quantity:
                continue
            mine = [s for s in using.free_symbols if s.name == quantity]
            if not mine:
                continue
            stored = using.xreplace({mine[0]: expr})
            found.append(
                Mutation(
                    quantity,
                    stored,
                    ("overwritten",),
                    (f"{quantity} holds {name} = {using}, the next equation's result",),
                    (stored,),
                )
            )
    return found


def _joint_settings(
    graph: SpecGraph, spec_ids: Sequence[str], combination: Combination
) -> list[Combination]:
    """``combination``, then (for a joint finding) each other choice of the members' accepted
    forms: when the members are checked through one quantity, a counterexample that follows
    none cannot show which form the ones that are right follow (eps inside the root, where
    mhat is what is wrong)."""
    chosen = dict(combination)
    choices = [_distinct_forms(graph, spec_id) for spec_id in spec_ids]
    if len(spec_ids) < 2 or not any(len(forms) > 1 for forms in choices):
        return [combination]
    settings = [combination]
    for picked in itertools.product(*choices):
        setting = tuple(sorted({**chosen, **dict(picked)}.items()))
        if setting not in settings:
            settings.append(setting)
    return settings[:_JOINT_SETTINGS]


#: At most this many choices of a joint finding's forms per candidate.
_JOINT_SETTINGS = 6


@functools.cache
def _distinct_forms(graph: SpecGraph, spec_id: str) -> list[tuple[str, str]]:
    """The spec's accepted forms that compute something different (an arrangement of the
    same formula, such as the first moment's interpolation, is one of them)."""
    kept: list[tuple[str, Mapping[str, sp.Expr]]] = []
    for variant in graph.spec(spec_id).variants:
        if not variant.accepted:
            continue
        form = graph.form(spec_id, variant.id)
        if not any(
            all(sp.expand(form[q] - other[q]) == 0 for q in form if q in other) for _, other in kept
        ):
            kept.append((variant.id, form))
    return [(spec_id, variant_id) for variant_id, _ in kept]


def _neighbours_voted(
    graph: SpecGraph,
    spec_ids: Sequence[str],
    combination: Combination,
    usable: Sequence[tuple[Record, tuple[str, ...]]],
) -> Combination:
    """``combination`` with each neighbour of the failing specs in the form most records
    follow. A target computes one form throughout, and a shrunk counterexample may not tell
    eps inside the root from outside where a longer run does; the failing specs keep the
    counterexample's forms (the answers a change on one part leaves alone follow them)."""
    votes: dict[str, collections.Counter[str]] = {}
    for record, _ in usable:
        try:
            judged = judge(graph, spec_ids[0], record).combination
        except (QuantityRaised, KeyError, ValueError, TypeError, ArithmeticError):
            continue
        for spec_id, form in judged:
            votes.setdefault(spec_id, collections.Counter())[form] += 1
    chosen = dict(combination)
    for spec_id, counted in votes.items():
        if spec_id in spec_ids:
            continue
        best = max(counted.values())
        # A tie keeps the counterexample's form.
        if counted.get(chosen.get(spec_id, ""), 0) < best:
            chosen[spec_id] = counted.most_common(1)[0][0]
    return tuple(sorted(chosen.items()))


def _elsewhere(graph: SpecGraph, mutation: Mutation, combination: Combination) -> str:
    """What the rest of the answers follow where a change is made on one part only: the
    equation's own formula, named by its form where its spec documents several."""
    spec_id = graph.definer.get(mutation.quantity)
    if spec_id is None:
        return "the equation's own formula"
    spec = graph.spec(spec_id)
    form = dict(combination).get(spec_id, spec.canonical.id)
    if sum(variant.accepted for variant in spec.variants) < 2:
        return "the equation's own formula"
    return f"the equation's own formula, {spec_id} as {form}"


def _words(condition: sp.Basic) -> str:
    if isinstance(condition, sp.Eq):
        return " = ".join(str(side) for side in condition.args)
    return str(condition)


def _with_alternatives(record: Record) -> Record:
    """``record`` with the values of its other readings (:attr:`Record.alternatives`) under
    their stand-ins' names, for the candidates that read a quantity so."""
    extra = {
        other.name: other.value
        for others in record.alternatives.values()
        for other in others
        if other.name not in record.values
    }
    return dataclasses.replace(record, values={**record.values, **extra}) if extra else record


def _redrawn(
    graph: SpecGraph,
    spec_id: str,
    groups: Sequence[Mapping[str, sp.Expr]],
    context: _Context,
    usable: Sequence[tuple[Record, tuple[str, ...]]],
    composed: Callable[[str, Record], sp.Expr],
) -> Iterator[Mutation]:
    """The failing spec's equations with a random draw (a symbol of a finite domain the
    record gives, such as dropout's mask) replaced by values fitted to the answers: only
    for a quantity every record shows directly, whose equation can be solved for the draw."""
    defined = set(graph.defines(spec_id))
    for group in groups:
        for quantity, expr in group.items():
            if quantity not in defined or not all(quantity in r.observed for r, _ in usable):
                continue
            for symbol in sorted(expr.free_symbols, key=str):
                domain = context.domains.get(symbol)
                if not isinstance(domain, sp.FiniteSet) or symbol.name not in usable[0][0].values:
                    continue
                solution = _solved(quantity, composed(quantity, usable[0][0]), symbol)
                if solution is None:
                    continue
                stand_in = sp.Symbol(f"{symbol.name}_redrawn", **symbol.assumptions0)
                members = tuple(float(member) for member in domain)
                yield Mutation(
                    quantity,
                    expr.xreplace({symbol: stand_in}),
                    ("redrawn",),
                    (
                        f"another {symbol.name} (each entry one of "
                        f"{', '.join(f'{m:g}' for m in members)}, read off the answers) in "
                        f"place of the {symbol.name} the rest of the record shows",
                    ),
                    (stand_in,),
                    fitted=Fit(stand_in, symbol, solution, members),
                    extra_cost=1,
                )


#: Significant digits a fitted constant is tried at, the shortest first: code hard-codes
#: round numbers.
_DIGITS = (1, 2, 3, 4)


def _fitted_constants(
    groups: Sequence[Mapping[str, sp.Expr]],
    context: _Context,
    usable: Sequence[tuple[Record, tuple[str, ...]]],
    composed: Callable[[str, Record], sp.Expr],
) -> Iterator[Mutation]:
    """Each hyperparameter of the failing equations fixed at a constant read off the answers
    (of all of them, or of one part: a constant hard-coded on the biases' line only), rounded
    to few significant digits; judged like any candidate on every record. The constant is the
    median of the values that solve the equation entry by entry on the record where they
    agree best (a tiny counterexample may say little about eps)."""
    first = usable[0][0]
    parts: list[str | None] = [None, *sorted(first.parts)]
    for group in groups:
        for quantity, expr in group.items():
            if quantity not in first.observed:
                continue
            for symbol in sorted(expr.free_symbols & set(context.scalars), key=str):
                given = first.values.get(symbol.name)
                if symbol.is_integer or not isinstance(given, float):
                    continue
                solved = [
                    (record, _solved_values(quantity, composed(quantity, record), symbol, record))
                    for record, _ in usable
                    if quantity in record.observed and quantity in record.values
                ]
                for part in parts:
                    value = _agreed(solved, part)
                    if value is None:
                        continue
                    tried = set()
                    for digits in _DIGITS:
                        constant = float(f"{value:.{digits}g}")
                        if constant in tried or constant == given:
                            continue
                        if context.domains.get(symbol, sp.Reals).contains(constant) is sp.false:
                            continue
                        tried.add(constant)
                        yield Mutation(
                            quantity,
                            expr.xreplace({symbol: sp.Float(constant)}),
                            ("fitted-constant",),
                            (f"{symbol.name} fixed at {constant:g} (read off the answers)",),
                            (sp.Float(constant),),
                            extra_cost=1 if part is None else 2,
                            part=part,
                        )


def _agreed(solved: Sequence[tuple[Record, np.ndarray | None]], part: str | None) -> float | None:
    """The median of the solved values (of ``part``'s entries) on the record where they
    spread least relative to it, or None."""
    best: tuple[float, float] | None = None
    for record, values in solved:
        if values is None:
            continue
        if part is not None:
            mask = np.asarray(record.parts.get(part, ()))
            if mask.shape != values.shape:
                continue
            values = values[mask]
        finite = values[np.isfinite(values)]
        if not finite.size:
            continue
        median = float(np.median(finite))
        if median == 0:
            continue
        low, high = np.percentile(finite, [25, 75])
        spread = float(high - low) / abs(median)
        if best is None or spread < best[0]:
            best = (spread, median)
    return best[1] if best is not None else None


@functools.lru_cache(maxsize=256)
def _solved(quantity: str, expr: sp.Expr, symbol: sp.Symbol) -> sp.Expr | None:
    """``symbol`` solved for from ``quantity = expr`` when there is one solution, elementwise
    (no sum along an axis). Unsimplified and unchecked: SymPy's simplification of a diffusion
    step's solution takes seconds, and the candidate built from it is judged anyway. Kept for
    the process: every record of a search asks the same."""
    if symbol not in expr.free_symbols or any(
        symbol in node.free_symbols for node in expr.atoms(ReduceAxis)
    ):
        return None  # a symbol inside a sum cannot be solved for entry by entry
    try:
        solutions = sp.solve(
            sp.Eq(sp.Symbol(quantity, real=True), expr),
            symbol,
            check=False,
            simplify=False,
            rational=False,
        )
    except (NotImplementedError, ValueError, TypeError):
        return None
    return solutions[0] if len(solutions) == 1 else None


def _solved_values(
    quantity: str, expr: sp.Expr, symbol: sp.Symbol, record: Record
) -> np.ndarray | None:
    """``symbol`` solved from ``quantity = expr`` at each entry of ``record``."""
    solution = _solved(quantity, expr, symbol)
    if solution is None:
        return None
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (solved,) = compile_expressions((solution,))(record.values)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, NotImplementedError):
        return None
    return np.asarray(solved, dtype=np.float64)


def _with_sizes(record: Record, sizes: Mapping[int, sp.Symbol]) -> Record:
    """``record`` with the length of each reduced axis under its size symbol's name."""
    shapes = [np.shape(v) for v in record.values.values() if isinstance(v, np.ndarray)]
    try:
        shape = np.broadcast_shapes(*shapes) if shapes else ()
    except ValueError:  # arrays of unrelated shapes (attention's keys and queries): no sizes
        return record
    known = {
        symbol.name: float(shape[axis])
        for axis, symbol in sizes.items()
        if axis < len(shape) and symbol.name not in record.values
    }
    return dataclasses.replace(record, values={**record.values, **known}) if known else record


def _evaluated(
    candidate: _Candidate,
    usable: Sequence[tuple[Record, tuple[str, ...]]],
    allowed: Mapping[tuple[int, str], np.ndarray],
) -> list[tuple[Comparison, np.ndarray]] | None:
    """The candidate judged on every record, or None when its values alone are far off (most
    candidates: their bounds are never built) or it cannot be evaluated on these values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a candidate may take roots of negative numbers
        try:
            if not all(
                candidate.near(q, record, allowed[(id(record), q)])
                for record, checked in usable
                for q in checked
            ):
                return None
            return [candidate.compare(q, record) for record, checked in usable for q in checked]
        except (KeyError, TypeError, ValueError, ZeroDivisionError, NotImplementedError):
            return None


def _near_parts(
    candidate: _Candidate,
    usable: Sequence[tuple[Record, tuple[str, ...]]],
    allowed: Mapping[tuple[int, str], np.ndarray],
    parts: Sequence[str],
) -> tuple[str, ...]:
    """The parts of the answers on which ``candidate`` comes near by value on every record."""
    near = set(parts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for record, checked in usable:
            for q in checked:
                try:
                    close = candidate.close(q, record, allowed[(id(record), q)])
                except (KeyError, TypeError, ValueError, ZeroDivisionError):
                    return ()
                near = {part for part in near if _all_at(close, record.parts.get(part))}
    return tuple(part for part in parts if part in near)


def _all_at(close: np.ndarray, mask: Any) -> bool:
    """Whether ``close`` holds wherever ``mask`` (a part's entries) does; False when the
    mask does not fit."""
    try:
        return mask is not None and bool(np.all(close[np.asarray(mask)]))
    except (IndexError, TypeError, ValueError):
        return False


def _same(one: Sequence[np.ndarray], other: Sequence[np.ndarray]) -> bool:
    with np.errstate(invalid="ignore"):
        return all(
            np.allclose(a, b, rtol=1e-9, atol=0.0, equal_nan=True)
            for a, b in zip(one, other, strict=True)
        )


def _allowances(
    graph: SpecGraph, combination: Combination, usable: Iterable[tuple[Record, tuple[str, ...]]]
) -> dict[tuple[int, str], np.ndarray]:
    """Each record's tolerance under the spec's own forms, to screen candidates by value."""
    allowed = {}
    for record, checked in usable:
        u = tolerance.oracle_unit_roundoff(record.dtype)
        for quantity in checked:
            _, bound = graph.predictor(quantity, combination, record.observed)(
                {**record.values, "unit_roundoff": u}, record.derived
            )
            allowed[(id(record), quantity)] = tolerance.allowed(bound, record.dtype)
    return allowed
