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

- ``drop-term``, ``negate-term``: a term of a sum left out, or its sign flipped;
- ``drop-factor``: a factor of a product left out (``gamma``, the learning rate, ``1/C``);
- ``extra-factor``: an array multiplied or divided by a scalar of the component (``1/q``);
- ``no-root``, ``root``: a square root removed, or put on a nonnegative quantity;
- ``no-square``, ``abs-for-square``, ``square``: a square removed, replaced by an absolute
  value, or put on a quantity;
- ``swap``: one quantity in place of another of the same shape (``Z`` for ``Zhat``; ``beta2``
  for ``beta1``);
- ``complement``: ``1 - x`` in place of ``x`` for a quantity between 0 and 1;
- ``shift-t``: the step count off by one;
- ``constant``: a hyperparameter fixed at its documented default (``eps = 1e-8`` hard-coded);
- ``other-axis``: a sum run along the other axis.

Cost is bounded: explanations are looked for on failures only, within a time budget, and the
candidates' programs are kept for the process.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.mathml import MathMLPresentationPrinter

from eqconform.specs import DOCUMENTED_DEFAULTS

from . import tolerance
from .compiler import CompiledFunction, ReduceAxis, compile_expressions
from .graph import Combination, SpecGraph
from .judge import Comparison, Record, checked_quantities, compare
from .results import ExplanationSummary
from .rounding import bound_program

__all__ = ["Explanation", "Mutation", "explain", "mutations"]

#: Seconds one failure's explanation may take (the issue's budget: about 10 s on 2 cores).
BUDGET_SECONDS = 10.0
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

    @property
    def size(self) -> int:
        return int(sp.count_ops(self.expr)) + len(self.expr.free_symbols)


@dataclass(frozen=True)
class Explanation:
    """A formula the target's answers match on every record examined."""

    quantity: str
    formula: sp.Expr
    operators: tuple[str, ...]
    description: str
    examples_matched: int
    inserted: tuple[sp.Expr, ...] = ()

    def summary(self) -> ExplanationSummary:
        """The explanation as plain data for the report."""
        return ExplanationSummary(
            quantity=self.quantity,
            latex=latex(self.quantity, self.formula),
            srepr=sp.srepr(self.formula),
            description=self.description,
            operators=self.operators,
            examples_matched=self.examples_matched,
            mathml=mathml(self.quantity, self.formula, self.inserted),
        )


def latex(quantity: str, expr: sp.Expr) -> str:
    """``quantity = expr`` in LaTeX, a sum along an axis written as one."""

    class _Printer(LatexPrinter):
        def _print_ReduceAxis(self, expr: ReduceAxis) -> str:
            body, axis, _ = expr.args
            index = "i" if int(axis) == 0 else "j"
            return r"\sum_{" + index + r"} \left(" + self._print(body) + r"\right)"

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
    #: Documented defaults of scalars, which code may have hard-coded.
    defaults: Mapping[sp.Symbol, float] = field(default_factory=dict)


def _context(
    graph: SpecGraph, spec_ids: Sequence[str], record: Record, checked: Sequence[str]
) -> _Context:
    symbols: dict[str, sp.Symbol] = {}
    sizes: dict[int, sp.Symbol] = {}
    domains: dict[sp.Symbol, sp.Set] = {}
    for used in graph.uses:
        spec = graph.spec(used)
        for info in spec.symbols:
            if isinstance(info.symbol, sp.Symbol):
                symbols.setdefault(info.name, info.symbol)
                domains.setdefault(info.symbol, info.domain)
        for form in graph.form(used, spec.canonical.id).values():
            for node in sp.preorder_traversal(form):
                if isinstance(node, ReduceAxis):
                    sizes.setdefault(int(node.args[1]), node.args[2])
                elif isinstance(node, sp.Symbol):
                    symbols.setdefault(node.name, node)
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
        name: value
        for spec_id in spec_ids
        for name, (value, _) in DOCUMENTED_DEFAULTS.get(graph.spec(spec_id).component, {}).items()
    }
    defaults = {symbol: documented[symbol.name] for symbol in scalars if symbol.name in documented}
    return _Context(kin, scalars, unit, sizes, domains, defaults)


def _at(node: sp.Expr, context: _Context) -> Iterator[tuple[sp.Expr, str, str]]:
    """Each change of ``node`` an operator makes: ``(new node, operator, words)``."""
    if isinstance(node, sp.Add):
        for term in node.args:
            rest = [t for t in node.args if t is not term]
            yield sp.Add(*rest), "drop-term", f"without the term {term}"
            yield sp.Add(*rest, -term), "negate-term", f"with the sign of {term} flipped"
    if isinstance(node, sp.Mul):
        for factor in node.args:
            if factor == -1 or (factor.is_Number and not factor.is_Rational):  # signs, floats
                continue
            rest = [f for f in node.args if f is not factor]
            yield sp.Mul(*rest), "drop-factor", f"without the factor {factor}"
    if isinstance(node, sp.Pow):
        base, exponent = node.args
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
    if isinstance(node, sp.Symbol):
        for other in context.sizes.values():
            if node in context.sizes.values() and other != node:
                yield other, "swap", f"{other.name} in place of {node.name}"
        if node.is_integer and node.name == "t":
            yield node - 1, "shift-t", "t - 1 for t"
            yield node + 1, "shift-t", "t + 1 for t"
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
            value = context.defaults[node]
            yield (
                sp.Float(value),
                "constant",
                f"{node.name} fixed at {value:g}, its documented default",
            )
        if node in context.scalars:
            for other in context.scalars:
                if other != node and context.domains.get(other) == context.domains.get(node):
                    yield other, "swap", f"{other.name} in place of {node.name}"


#: Operators that take a part away, leaving nothing new to highlight.
_REMOVING = frozenset({"drop-term", "drop-factor"})


def _nodes(expr: sp.Expr) -> list[sp.Expr]:
    """The distinct subexpressions of ``expr`` (the whole expression first)."""
    seen: dict[sp.Expr, None] = {}
    for node in sp.preorder_traversal(expr):
        if not node.is_Number:
            seen.setdefault(node, None)
    return list(seen)


def _replaced(expr: sp.Expr, node: sp.Expr, new: sp.Expr) -> sp.Expr:
    """``expr`` with ``node`` replaced by ``new`` everywhere but in the axis and size of a
    sum (N for C changes what is divided by, not the length the sum runs over)."""
    if expr == node:
        return new
    if not expr.args:
        return expr
    if isinstance(expr, ReduceAxis):
        body, axis, size = expr.args
        return ReduceAxis(_replaced(body, node, new), axis, size)
    args = [_replaced(arg, node, new) for arg in expr.args]
    return (
        expr.func(*args) if any(a is not b for a, b in zip(args, expr.args, strict=True)) else expr
    )


def _single(quantity: str, base: Mutation, context: _Context) -> Iterator[Mutation]:
    for node in _nodes(base.expr):
        for new, operator, words in _at(node, context):
            changed = _replaced(base.expr, node, new)
            if changed != base.expr:
                yield Mutation(
                    quantity,
                    changed,
                    (*base.operators, operator),
                    (*base.changes, words),
                    (*base.inserted, new) if operator not in _REMOVING else base.inserted,
                )


def mutations(
    forms: Mapping[str, sp.Expr] | Sequence[tuple[str, sp.Expr]],
    context: _Context,
    *,
    depth: int = 2,
) -> Iterator[Mutation]:
    """The candidates for the equations ``quantity = expr`` of ``forms`` (several forms of one
    quantity allowed: a spec's documented variants): every single mutation of each, then
    (``depth`` 2) every composition of two, each formula once."""
    pairs = list(forms.items()) if isinstance(forms, Mapping) else list(forms)
    seen = set(pairs)
    level = [Mutation(quantity, expr, (), ()) for quantity, expr in pairs]
    for _ in range(depth):
        following = []
        for base in level:
            for mutation in _single(base.quantity, base, context):
                if (mutation.quantity, mutation.expr) in seen:
                    continue
                seen.add((mutation.quantity, mutation.expr))
                following.append(mutation)
                yield mutation
        level = following


# --------------------------------------------------------------------------- matching


class _Candidate:
    """One mutation, compiled for each question asked of it (value first, bound on demand)."""

    def __init__(self, graph: SpecGraph, mutation: Mutation, combination: Combination):
        self.graph, self.mutation, self.combination = graph, mutation, combination
        self._expressions: dict[tuple[str, frozenset[str]], sp.Expr] = {}
        self._values: dict[tuple[str, frozenset[str]], CompiledFunction] = {}
        self._bounds: dict[tuple[str, frozenset[str]], CompiledFunction] = {}

    def _expression(self, key: tuple[str, frozenset[str]]) -> sp.Expr:
        if key not in self._expressions:
            quantity, observed = key
            # The combination's forms, and the canonical ones of specs outside it (a candidate
            # may bring in a quantity its equation did not use, such as dropout's q).
            chosen = {spec_id: self.graph.spec(spec_id).canonical.id for spec_id in self.graph.uses}
            chosen.update(dict(self.combination))
            self._expressions[key] = self.graph.expression(
                quantity,
                tuple(sorted(chosen.items())),
                observed,
                override={self.mutation.quantity: self.mutation.expr},
            )
        return self._expressions[key]

    def value(self, quantity: str, record: Record) -> np.ndarray:
        key = (quantity, record.observed)
        if key not in self._values:
            self._values[key] = compile_expressions((self._expression(key),))
        (predicted,) = self._values[key](record.values)
        return np.asarray(predicted)

    def compare(self, quantity: str, record: Record) -> tuple[Comparison, np.ndarray]:
        """The candidate judged like the spec: within its own rounding bound."""
        key = (quantity, record.observed)
        if key not in self._bounds:
            self._bounds[key] = bound_program((self._expression(key),)).compiled()
        predicted = self.value(quantity, record)
        u = tolerance.oracle_unit_roundoff(record.dtype)
        (bound,) = self._bounds[key]({**record.values, "unit_roundoff": u})
        return compare(record.values[quantity], predicted, bound, record, quantity), predicted

    def near(self, quantity: str, record: Record, allowed: np.ndarray) -> bool:
        """Whether the value alone comes near enough to be worth its bound: ten tolerances of
        the spec's own form, or a relative 1e-3 (a candidate's bound scales with its own
        terms: |g| where the spec has g**2)."""
        with np.errstate(all="ignore"):
            predicted = self.value(quantity, record)
            observed = np.asarray(record.values[quantity], dtype=np.float64)
            error = np.abs(observed - predicted)
            close = (error <= 10 * allowed) | (error <= 1e-3 * np.abs(observed))
            return bool(np.all(close | (observed == predicted)))


def explain(
    graph: SpecGraph,
    spec_ids: Sequence[str],
    combination: Combination,
    records: Sequence[Record],
    *,
    budget: float = BUDGET_SECONDS,
    kept: int = KEPT,
) -> tuple[Explanation, ...]:
    """The simplest formulas (at most ``kept``) that the target's answers in ``records`` (the
    counterexample first) all match, within ``budget`` seconds: the expressions of the specs
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
    # The failing spec in each of its accepted forms (the counterexample may not tell eps
    # inside the root from outside), the others in the forms chosen; then the borrowed
    # equations (AdamW's Adam step), which a deviation may lie in as well.
    borrowed = [spec_id for spec_id, use in graph.uses.items() if use.borrowed]
    forms: list[tuple[str, sp.Expr]] = []
    for spec_id in dict.fromkeys([*spec_ids, *borrowed]):
        spec = graph.spec(spec_id)
        variants = (
            [variant.id for variant in spec.variants if variant.accepted]
            if spec_id == spec_ids[0]
            else [chosen.get(spec_id, spec.canonical.id)]
        )
        for variant_id in variants:
            forms += graph.form(spec_id, variant_id).items()
    context = _context(graph, spec_ids, usable[0][0], usable[0][1])
    # A size may stand where the spec has another (N for C): each record says what they are.
    usable = [(_with_sizes(record, context.sizes), checked) for record, checked in usable]
    allowed = _allowances(graph, combination, usable)
    found: list[tuple[tuple[int, int, int], Explanation, list[np.ndarray]]] = []
    for mutation in mutations(forms, context):
        if time.monotonic() - started > budget:
            break
        if found and len(mutation.operators) > min(rank[0] for rank, _, _ in found):
            break  # the simplest first: a match needing fewer operators is already there
        candidate = _Candidate(graph, mutation, combination)
        evaluated = _evaluated(candidate, usable, allowed)
        if evaluated is None:
            continue
        comparisons = [comparison for comparison, _ in evaluated]
        if any(c.ratio > 1.0 for c in comparisons) or all(c.unbounded for c in comparisons):
            continue
        explanation = Explanation(
            mutation.quantity,
            mutation.expr,
            mutation.operators,
            f"{mutation.quantity} = {mutation.expr}: " + "; ".join(mutation.changes),
            len(usable),
            mutation.inserted,
        )
        # Fewer changes first, then fewer put in (code more often forgets a factor than
        # gains one: alpha left out of the update, rather than mhat divided by alpha).
        inserting = sum(operator not in _REMOVING for operator in mutation.operators)
        rank = (len(mutation.operators), inserting, mutation.size)
        found.append((rank, explanation, [predicted for _, predicted in evaluated]))
    found.sort(key=lambda entry: entry[0])
    # Formulas equal on these inputs (sum(Zhat) is 0: dropping the factor dLdZhat from its
    # term drops the term) are one explanation, said the simplest way.
    distinct: list[tuple[Explanation, list[np.ndarray]]] = []
    for _, explanation, predictions in found:
        if not any(_same(predictions, other) for _, other in distinct):
            distinct.append((explanation, predictions))
    return tuple(explanation for explanation, _ in distinct[:kept])


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
                {**record.values, "unit_roundoff": u}
            )
            allowed[(id(record), quantity)] = tolerance.allowed(bound, record.dtype)
    return allowed
