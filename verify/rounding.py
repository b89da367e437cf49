r"""A rounding-error bound derived from the spec's own expression.

An implementation that evaluates an equation in floating point with unit roundoff ``u``
(``2**-24`` for float32, ``2**-53`` for float64) cannot match the exact value; how far it may
drift depends on the equation *and* the input: subtracting nearly equal numbers (a row with a
large mean in LayerNorm, ``1 - beta**t`` with ``beta`` near 1) amplifies earlier errors. So the
tolerance is not a constant: :func:`error_bound_program` walks the array-form expression and
derives a forward error bound in the style of a running error analysis (Wilkinson; Higham,
*Accuracy and Stability of Numerical Algorithms*, ch. 3). For each node with value ``v`` and
children ``a_i`` carrying errors ``e(a_i)``:

- a non-integer leaf may be rounded once on the way in: ``e(x) = u |x|``;
- ``a_1 + ... + a_n``: ``sum e(a_i) + (n - 1) u sum |a_i|``;
- products: ``prod(|a_i| + e(a_i)) - prod |a_i|``, plus ``(n - 1) u`` times the first product;
- ``1 / b``: ``e(b) / (|b| (|b| - e(b))) + u / (|b| - e(b))``, infinite once ``e(b) >= |b|``;
- ``sqrt(b)``: ``e(b) / (sqrt|b| + sqrt(|b| - e(b))) + u sqrt(|b| + e(b))``;
- ``b**n`` with a nonnegative integer expression ``n`` (the step count ``t``, or ``t + 1``):
  ``|b|^n ((1 + e(b)/|b|)^n - 1) + (n + 1) u |b|^n``;
- a reduction of ``n`` terms: the reduction of the terms' bounds plus ``(n - 1) u`` times the
  reduction of their absolute values (recursive summation, the worst order);
- ``exp(a)``: ``|e^a| (e^{e(a)} - 1) + 2u |e^a| e^{e(a)}`` (the argument's error, amplified, then
  one correctly rounded ``exp`` allowing one ulp);
- a cumulative product ``CumProdAxis(a)`` at position ``t``: the product rule over the first ``t``
  factors, ``prod(|a_s| + e(a_s)) - prod |a_s| + (t - 1) u prod(|a_s| + e(a_s))``;
- the unit step ``Heaviside(a, 1)``: 0 where ``|a| > e(a)`` (the sign is certain), else 1 (the
  step may have gone either way).

With ``coefficients`` (scalar hyperparameters), a node of those alone (``1 - beta1**t``,
``alpha * lam``) rounds at its own unit roundoff, an input of the program: a library may hold
and combine its hyperparameters in another precision than its arrays.

Products and powers are bounded without linearization, so the bound stays valid however large
the propagated error grows. A node's bound is carried in two parts (:data:`_Parts`): a
coefficient of its own magnitude, a scalar wherever the error is relative (a product of rounded
leaves), and the rest; a product's widened-less-exact difference is written so that it does not
cancel in floating point. The result is a straight-line program with one value and one error
per distinct node of the expression DAG (so its size is linear in the expression's, where a
single nested formula would repeat shared subexpressions exponentially often); it is printed by
SymPy's NumPy printer and evaluated in float64 next to the oracle. :mod:`.tolerance` scales it.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .compiler import (
    CompiledFunction,
    CumCountAxis,
    CumProdAxis,
    ReduceAxis,
    Transposed,
    compile_program,
)

__all__ = [
    "COEFFICIENT_UNIT_ROUNDOFF",
    "UNIT_ROUNDOFF",
    "BoundProgram",
    "ErrorQuotient",
    "PositivePart",
    "bound_program",
    "error_bound_program",
]

#: The symbol of the unit roundoff in bound programs.
UNIT_ROUNDOFF = sp.Symbol("unit_roundoff", positive=True)
u = UNIT_ROUNDOFF
#: The symbol of the unit roundoff of coefficients in bound programs built with
#: ``coefficients``: scalar hyperparameters and the expressions of them alone (``1 - beta1**t``,
#: ``alpha * lam``), which a library may compute in another precision than its arrays.
COEFFICIENT_UNIT_ROUNDOFF = sp.Symbol("coefficient_unit_roundoff", positive=True)


@dataclass(frozen=True)
class BoundProgram:
    """Assignments ``symbol = expression`` in order; ``errors`` bound the roots' errors, one per
    expression analysed (``error`` when there is one); ``values`` are the roots' values, when
    the program was asked for them."""

    assignments: tuple[tuple[sp.Symbol, sp.Expr], ...]
    errors: tuple[sp.Expr, ...]
    values: tuple[sp.Expr, ...] = ()

    @property
    def error(self) -> sp.Expr:
        (error,) = self.errors
        return error

    def compiled(
        self, *, scalars: Collection[str] | None = None, small: Collection[str] = ()
    ) -> CompiledFunction:
        """The program as a NumPy function returning the values (if any), then the bounds.

        ``scalars``: the inputs known to be scalars (hyperparameters, unlike the arrays), to
        rearrange the program into fewer passes over arrays
        (:func:`~.straightline.fewer_passes`), with ``small``, those known to hold arrays
        smaller than the others. The unit roundoffs are always among the scalars."""
        if scalars is not None:
            scalars = {*scalars, UNIT_ROUNDOFF.name, COEFFICIENT_UNIT_ROUNDOFF.name}
        return compile_program(
            self.assignments, (*self.values, *self.errors), scalars=scalars, small=small
        )


class PositivePart(sp.Function):
    """``max(x, 0)``, printed for NumPy as one ``numpy.maximum`` (SymPy would print ``Max`` as a
    reduction over a stacked array, and ``(x + |x|) / 2`` costs four passes over the data)."""

    nargs = 1

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        return sp.Max(x, 0) if x.is_Number else None

    def _numpycode(self, printer: Any) -> str:
        return f"numpy.maximum({printer.doprint(self.args[0])}, 0.0)"


class ErrorQuotient(sp.Function):
    """``a / b`` for an error bound ``a`` over a non-negative scale ``b``, but 0 where ``a`` is 0:
    an exactly known value keeps an error of 0 where the scale vanishes (the square root of
    v = 0, a step power of 0). Plain ``0 / 0`` is NaN there, which the tolerance must read as
    "anything goes" (:func:`~.tolerance.allowed`), so an Adam update where v = 0 would have
    passed whatever the target answered."""

    nargs = 2

    @classmethod
    def eval(cls, a: sp.Expr, b: sp.Expr) -> sp.Expr | None:
        return sp.Integer(0) if a.is_zero else None

    def _numpycode(self, printer: Any) -> str:
        a, b = (printer.doprint(argument) for argument in self.args)
        return f"numpy.where(({a}) == 0, 0.0, ({a}) / ({b}))"


def error_bound_program(
    expr: sp.Expr, recomputable: Mapping[sp.Symbol, sp.Expr] | None = None
) -> BoundProgram:
    """A program bounding ``|computed - exact|`` for ``expr`` in array form.

    ``recomputable`` maps leaves that are intermediate quantities to their expressions in the
    raw inputs: the implementation may have computed such a value itself, so the leaf carries
    the error bound of that computation. Every other leaf carries one rounding.
    """
    return bound_program((expr,), recomputable=recomputable)


def bound_program(
    expressions: Sequence[sp.Expr],
    *,
    recomputable: Mapping[sp.Symbol, sp.Expr] | None = None,
    recomputed: Mapping[sp.Symbol, sp.Expr] | None = None,
    leaf_errors: Mapping[sp.Symbol, sp.Expr] | None = None,
    coefficients: Collection[str] = (),
    small: Collection[str] = (),
    values: bool = False,
) -> BoundProgram:
    """One program bounding the errors of several expressions (sharing the analysis of their
    common nodes). ``recomputable`` is as for :func:`error_bound_program`; ``recomputed`` maps
    such leaves to the bound of their computation given another way (an input, computed once
    for every program that needs it), to which the leaf adds its own rounding; ``leaf_errors``
    gives leaves an error of their own (an input the checker computed, with the bound of that
    computation as another input); nodes of the symbols named in ``coefficients`` alone (and
    integers such as the step count) are rounded at :data:`COEFFICIENT_UNIT_ROUNDOFF`, an input
    of the program. ``small`` names the leaves that hold scalars or arrays smaller than the
    others (a row of variances against the rows): a guess, which orders the work and never
    changes the bound in real numbers.

    ``values``: the program returns the expressions' values too. The bound computes the value
    of every node below a root anyway, so a check that wants both gets them in one program,
    and the arrays are not gone over twice."""
    builder = _Builder(coefficients, small)
    for symbol, from_inputs in (recomputable or {}).items():
        builder.leaf_parts[symbol] = (u, builder.error(from_inputs))
    for symbol, bound in (recomputed or {}).items():
        builder.leaf_parts[symbol] = (u, bound)
    for symbol, error in (leaf_errors or {}).items():
        builder.leaf_parts[symbol] = (sp.Integer(0), error)
    errors = tuple(builder.error(expr) for expr in expressions)
    roots = tuple(builder.value(expr) for expr in expressions) if values else ()
    return BoundProgram(tuple(builder.assignments), errors, roots)


#: A node's error bound in two parts, ``(relative, absolute)``: the error is at most
#: ``relative * |value| + absolute``. Products, quotients and roots of leaves rounded once (an
#: error of ``u |x|``), and sums of one-signed terms (squares), have relative errors, and
#: ``relative`` is then an expression of the unit roundoffs alone: a scalar, which costs
#: nothing per entry where the same bound written out entry by entry
#: (``(|x|(1 + u))(|y|(1 + u))(1 + u) - |x||y|``) costs seven passes over the arrays. A sum of
#: terms of both signs, or a leaf given an error, makes the error absolute. The parts add up
#: to the bound of the rules above (exactly, in real numbers; in floating point without the
#: cancellation of ``widened - exact``); ``relative`` is an array only where a step count is.
_Parts = tuple[sp.Expr, sp.Expr]


def _grown(relatives: Sequence[sp.Expr]) -> sp.Expr:
    """``prod(1 + r) - 1`` for the nonnegative ``relatives``, written as
    ``sum_j r_j prod_{i<j} (1 + r_i)``: the same number, without the cancellation that loses
    it in floating point (``1 + 2**-53`` is 1 in float64)."""
    total, grown = sp.Integer(0), sp.Integer(1)
    for relative in relatives:
        if relative != 0:
            total += relative * grown
            grown *= 1 + relative
    return total


def _difference(widths: Sequence[sp.Expr], errors: Sequence[sp.Expr], scale: sp.Expr) -> sp.Expr:
    """``scale (prod(w + e) - prod(w))``, written as
    ``sum_j scale e_j prod_{i<j} (w_i + e_i) prod_{i>j} w_i``: no cancellation, however small
    the errors are against the widths. The scalar ``scale`` goes into each term, where it
    joins the term's smaller factors (:func:`~.straightline.fewer_passes`) instead of costing
    a pass over the sum."""
    return sp.Add(
        *(
            scale
            * error
            * sp.Mul(*(w + e for w, e in zip(widths[:j], errors[:j], strict=True)))
            * sp.Mul(*widths[j + 1 :])
            for j, error in enumerate(errors)
        )
    )


def _magnitude(value: sp.Expr) -> sp.Expr:
    """``|value|``, computed wherever ``value`` is not a number: SymPy would write ``|s|`` as
    ``s`` for a symbol ``s`` assumed nonnegative, but the value is what the target answered."""
    return sp.Abs(value) if value.is_Number else sp.Abs(value, evaluate=False)


def _one_signed(expr: sp.Expr) -> bool:
    """Whether ``expr`` is nonnegative whatever real numbers it is evaluated on: an even power,
    a magnitude, an exponential. Not what SymPy's assumptions on the symbols say: a symbol's
    value is what the target answered, and a variance it computed may come out negative."""
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp % 2 == 0:
        return True
    return isinstance(expr, (sp.Abs, sp.exp))


#: The most small factors a product may have for :meth:`_Builder._scaled` to look for the part
#: of it whose magnitude is computed (it tries each subset of them).
_MOST_SCALED = 4


class _Builder:
    """Walks an expression DAG once, naming each distinct node's value and error bound."""

    def __init__(self, coefficients: Collection[str] = (), small: Collection[str] = ()) -> None:
        self.assignments: list[tuple[sp.Symbol, sp.Expr]] = []
        self.values: dict[sp.Expr, sp.Expr] = {}
        self.errors: dict[sp.Expr, sp.Expr] = {}
        self.parts_of: dict[sp.Expr, _Parts] = {}
        self.magnitudes: dict[sp.Expr, sp.Expr] = {}
        self.leaf_parts: dict[sp.Symbol, _Parts] = {}
        self.coefficients = frozenset(coefficients)
        #: Leaves that hold scalars or arrays smaller than the others (:meth:`_small`).
        self.small = frozenset(small)
        #: Symbols that hold one number for a whole program (never an array): the unit
        #: roundoffs, the coefficients, the sizes of reductions, and the named relative parts
        #: made of them. A relative part of these alone is the same along every axis, so it
        #: can be taken out of a reduction.
        self.constants: set[sp.Symbol] = {UNIT_ROUNDOFF, COEFFICIENT_UNIT_ROUNDOFF}

    def _unit(self, expr: sp.Expr) -> sp.Expr:
        """The unit roundoff ``expr`` is computed at: :data:`COEFFICIENT_UNIT_ROUNDOFF` for a
        coefficient (a node of coefficient symbols only, such as ``1 - beta1**t``), else
        :data:`UNIT_ROUNDOFF`."""
        symbols = [symbol for symbol in expr.free_symbols if not symbol.is_integer]
        if symbols and all(symbol.name in self.coefficients for symbol in symbols):
            return COEFFICIENT_UNIT_ROUNDOFF
        return u

    def _constant(self, expr: sp.Expr) -> bool:
        return all(
            symbol in self.constants or symbol.name in self.coefficients
            for symbol in expr.free_symbols
        )

    def _name(self, prefix: str, expr: sp.Expr) -> sp.Symbol:
        symbol = sp.Symbol(f"_{prefix}{len(self.assignments)}")
        self.assignments.append((symbol, expr))
        return symbol

    def value(self, expr: sp.Expr) -> sp.Expr:
        """A symbol (or atom) holding the value of ``expr``. A product some of whose factors'
        product is computed already starts from that (``G Zhat gamma`` from ``G gamma``)."""
        if expr.is_Atom:
            return expr
        if expr not in self.values:
            args = list(expr.args)
            if isinstance(expr, sp.Mul) and len(args) > 2:
                for size in range(len(args) - 1, 1, -1):
                    parts = itertools.combinations(args, size)
                    part = next((c for c in parts if sp.Mul(*c) in self.values), None)
                    if part is not None:
                        rest = [arg for arg in args if arg not in part]
                        args = [sp.Mul(*part), *rest]
                        break
            children = [self.value(arg) for arg in args]
            self.values[expr] = self._name("v", expr.func(*children, evaluate=False))
        return self.values[expr]

    def error(self, expr: sp.Expr) -> sp.Expr:
        """A symbol (or zero) holding the error bound of ``expr``, both parts added up."""
        if expr in self.errors:
            return self.errors[expr]
        relative, absolute = self.parts(expr)
        bound = absolute if relative == 0 else relative * self._abs(expr) + absolute
        if not bound.is_Atom:
            bound = self._name("e", bound)
        self.errors[expr] = bound
        return bound

    def parts(self, expr: sp.Expr) -> _Parts:
        """Symbols (or atoms) holding the relative and the absolute part of the error bound of
        ``expr`` (:data:`_Parts`)."""
        if expr not in self.parts_of:
            relative, absolute = self._rule(expr)
            if not relative.is_Atom:
                constant = self._constant(relative)
                relative = self._name("k", relative)
                if constant:
                    self.constants.add(relative)
            if not absolute.is_Atom:
                absolute = self._name("e", absolute)
            self.parts_of[expr] = (relative, absolute)
        return self.parts_of[expr]

    def _abs(self, expr: sp.Expr) -> sp.Expr:
        """A symbol (or atom) holding ``|expr|``: the rules ask for the same magnitudes many
        times, and each is one pass over the data. For a product of small factors
        (:meth:`_small`) and a part whose magnitude is computed already (:meth:`_scaled`),
        the product of the magnitudes, not named: where a rule scales it, the small factors
        join the scale (:func:`~.straightline.fewer_passes`), and terms of the same array add
        up as one. In real numbers that is the same magnitude."""
        if expr in self.magnitudes:
            return self.magnitudes[expr]
        array = self._scaled(expr)
        if array is not None:
            taken = sp.Mul.make_args(array)
            magnitudes = (self._abs(factor) for factor in expr.args if factor not in taken)
            self.magnitudes[expr] = sp.Mul(self.magnitudes[array], *magnitudes)
            return self.magnitudes[expr]
        magnitude = _magnitude(self.value(expr))
        if magnitude.is_Atom:
            return magnitude
        self.magnitudes[expr] = self._name("a", magnitude)
        return self.magnitudes[expr]

    def _scaled(self, expr: sp.Expr) -> sp.Expr | None:
        """The part of the product ``expr`` whose magnitude is computed already, when the
        other factors are small (:meth:`_small`) and there are few of them: ``G gamma`` in
        ``C G gamma``. None if there is no such part."""
        if not isinstance(expr, sp.Mul):
            return None
        large: list[sp.Expr] = []
        small: list[sp.Expr] = []
        for factor in expr.args:
            (small if self._small(factor) else large).append(factor)
        if not large or len(small) > _MOST_SCALED:
            return None
        for size in range(len(small)):
            for extra in itertools.combinations(small, size):
                part = sp.Mul(*large, *extra)
                if part in self.magnitudes:
                    return part
        return None

    def _small(self, expr: sp.Expr) -> bool:
        """Whether ``expr`` is made of sums along an axis, scalars and the leaves said to be
        small alone: an array smaller than the arrays it was summed from (LayerNorm's row
        means), a guess that only orders the work (as :func:`~.straightline.fewer_passes`
        does)."""
        if isinstance(expr, ReduceAxis) or expr.is_Number:
            return True
        if isinstance(expr, sp.Symbol):
            return self._constant(expr) or expr.name in self.small
        return bool(expr.args) and all(self._small(arg) for arg in expr.args)

    def _widened(self, expr: sp.Expr) -> sp.Symbol:
        """A symbol holding ``expr``, which a rule uses twice: a product of magnitudes widened
        by their errors (once less the exact product, once scaled by the roundings), a power,
        an exponential's growth."""
        return self._name("w", expr)

    def _reciprocal(self, magnitude: sp.Expr, error: sp.Expr, u: sp.Expr) -> sp.Expr:
        slack = self._name("s", PositivePart(magnitude - error))
        return error / (magnitude * slack) + u / slack

    def _rule(self, expr: sp.Expr) -> _Parts:
        zero = sp.Integer(0)
        if expr in self.leaf_parts:
            return self.leaf_parts[expr]
        u = self._unit(expr)
        if isinstance(expr, sp.exp):  # before powers: SymPy counts E**a as an exp
            return zero, self._exp(expr, u)
        if isinstance(expr, CumProdAxis):
            return zero, self._cumulative_product(expr, u)
        if isinstance(expr, CumCountAxis):
            return zero, zero
        if isinstance(expr, sp.Heaviside):
            argument = expr.args[0]
            return zero, sp.Heaviside(self.error(argument) - self._abs(argument), 1)
        if expr.is_Integer or isinstance(expr, sp.core.numbers.IntegerConstant):
            return zero, zero
        if expr.is_Rational:
            denominator = int(expr.q)
            return zero, zero if denominator & (denominator - 1) == 0 else u * sp.Abs(expr)
        if expr.is_Number:
            return zero, u * sp.Abs(expr)
        if isinstance(expr, sp.Symbol):
            return (zero, zero) if expr.is_integer else (u, zero)
        if isinstance(expr, sp.Add):
            # sum e(a_i) + (n - 1) u sum |a_i|, the relative parts taken with the roundings.
            terms = expr.args
            rounding = (len(terms) - 1) * u
            parts = [self.parts(term) for term in terms]
            return zero, sp.Add(*(absolute for _, absolute in parts)) + sp.Add(
                *(
                    (relative + rounding) * self._abs(t)
                    for t, (relative, _) in zip(terms, parts, strict=True)
                )
            )
        if isinstance(expr, sp.Mul):
            return self._product(expr.args, u)
        if isinstance(expr, sp.Pow):
            return self._power(expr, u)
        if isinstance(expr, ReduceAxis):
            return self._reduction(expr, u)
        if isinstance(expr, sp.Abs):
            return self.parts(expr.args[0])
        if isinstance(expr, Transposed):  # exact: the argument's error, laid out alike
            relative, absolute = self.parts(expr.args[0])
            if self._constant(relative):
                return relative, zero if absolute == 0 else Transposed(absolute)
            return zero, Transposed(self.error(expr.args[0]))
        raise NotImplementedError(f"no rounding-error rule for {type(expr).__name__}: {expr}")

    def _product(self, factors: Sequence[sp.Expr], u: sp.Expr) -> _Parts:
        """``prod(|a_i| + e(a_i)) - prod |a_i| + (n - 1) u prod(|a_i| + e(a_i))``. With
        ``e(a_i) = r_i |a_i| + E_i`` and ``w_i = (1 + r_i) |a_i|`` that is
        ``((1 + (n - 1) u) prod(1 + r_i) - 1) |value|`` (relative) plus
        ``(1 + (n - 1) u) (prod(w_i + E_i) - prod w_i)`` (absolute), which only the factors
        with an absolute part make an array."""
        rounding = (len(factors) - 1) * u
        parts = [self.parts(factor) for factor in factors]
        relative = _grown([*(r for r, _ in parts), rounding])
        inexact = [i for i, (_, absolute) in enumerate(parts) if absolute != 0]
        if not inexact:
            return relative, sp.Integer(0)
        exact = [i for i in range(len(factors)) if i not in inexact]
        scale = (1 + rounding) * sp.Mul(*(1 + parts[i][0] for i in exact))
        magnitude = self._abs_product([factors[i] for i in exact])
        if all(self._small(factors[i]) for i in exact):
            scale, magnitude = scale * magnitude, sp.Integer(1)
        # The smaller factors first: each term multiplies the errors of the factors before
        # it by the widths of the ones after, so a large factor's width meets a small error.
        inexact.sort(key=lambda i: not self._small(factors[i]))
        errors = [parts[i][1] for i in inexact]
        if len(inexact) == 1:  # prod(w + E) - prod(w) = E: no width needed
            return relative, scale * magnitude * errors[0]
        widths = [self._width(factors[i], parts[i][0]) for i in inexact]
        return relative, magnitude * _difference(widths, errors, scale)

    def _abs_product(self, factors: Sequence[sp.Expr]) -> sp.Expr:
        """``prod |factors|``: the magnitude of their product where the expression computes
        that product anyway (``|G gamma|`` inside ``G Zhat gamma``), one pass where the
        magnitudes multiplied would be two."""
        product = sp.Mul(*factors)
        if len(factors) > 1 and product in self.values:
            return self._abs(product)
        return sp.Mul(*(self._abs(factor) for factor in factors))

    def _width(self, expr: sp.Expr, relative: sp.Expr) -> sp.Expr:
        """``(1 + relative) |expr|``: the magnitude widened by the relative part of its error.
        Not named: where it is used once, the scalar joins the others of its product
        (:func:`~.straightline.fewer_passes`), and a repeat is named there."""
        magnitude = self._abs(expr)
        return magnitude if relative == 0 else (1 + relative) * magnitude

    def _reduction(self, expr: ReduceAxis, u: sp.Expr) -> _Parts:
        """``R(e(body)) + (n - 1) u R(|body|)``: a relative part the same along the axis comes
        out of the sum, ``(r + (n - 1) u) R(|body|) + R(E)``, and where the body has one sign
        ``R(|body|)`` is the magnitude of the sum itself, so the error stays relative."""
        body, axis, size = expr.args
        if isinstance(size, sp.Symbol):
            self.constants.add(size)
        rounding = (size - 1) * u
        relative, absolute = self.parts(body)
        if not self._constant(relative):
            return sp.Integer(0), ReduceAxis(self.error(body), axis, size) + rounding * ReduceAxis(
                self._abs(body), axis, size
            )
        summed = sp.Integer(0) if absolute == 0 else ReduceAxis(absolute, axis, size)
        if _one_signed(body):
            return relative + rounding, summed
        magnitudes = ReduceAxis(self._abs(body), axis, size)
        return sp.Integer(0), (relative + rounding) * magnitudes + summed

    def _exp(self, expr: sp.exp, u: sp.Expr) -> sp.Expr:
        (argument,) = expr.args
        magnitude = self._abs(expr)
        growth = self._widened(sp.exp(self.error(argument)))
        return magnitude * (growth - 1) + 2 * u * magnitude * growth

    def _cumulative_product(self, expr: CumProdAxis, u: sp.Expr) -> sp.Expr:
        body, axis = expr.args
        magnitude, error = self._abs(body), self.error(body)
        widened = self._widened(CumProdAxis(magnitude + error, axis))
        return (
            widened
            - CumProdAxis(magnitude, axis)
            + u * (CumCountAxis(magnitude, axis) - 1) * widened
        )

    def _reciprocal_parts(self, positive: sp.Expr, u: sp.Expr) -> _Parts:
        """``1 / b``: ``e(b) / (|b| (|b| - e(b))) + u / (|b| - e(b))``; for a relative error
        ``r |b|`` that is ``(r + u) / (1 - r)`` times ``|1 / b|``."""
        relative, absolute = self.parts(positive)
        if absolute == 0:
            return (relative + u) / PositivePart(1 - relative), sp.Integer(0)
        return sp.Integer(0), self._reciprocal(self._abs(positive), self.error(positive), u)

    def _power(self, expr: sp.Pow, u: sp.Expr) -> _Parts:
        zero = sp.Integer(0)
        base, exponent = expr.args
        if exponent.is_Integer and exponent > 0:
            # The product rule of n equal factors.
            n = int(exponent)
            rounding = (n - 1) * u
            relative, absolute = self.parts(base)
            grown = _grown([*([relative] * n), rounding])
            if absolute == 0:
                return grown, zero
            width = self._width(base, relative)
            if n == 2:  # (w + E)^2 - w^2 = E (2w + E): four passes where the sum of terms takes six
                return grown, (1 + rounding) * absolute * (2 * width + absolute)
            return grown, _difference([width] * n, [absolute] * n, 1 + rounding)
        if exponent.is_Integer and exponent < 0:
            positive = sp.Pow(base, -exponent, evaluate=False) if exponent != -1 else base
            return self._reciprocal_parts(positive, u)
        if exponent == sp.Rational(1, 2):
            relative, absolute = self.parts(base)
            if absolute == 0:
                # e / (sqrt|b| + sqrt(|b| - e)) + u sqrt(|b| + e) at e = r |b|.
                return (
                    relative / (1 + sp.sqrt(PositivePart(1 - relative)))
                    + u * sp.sqrt(1 + relative),
                    zero,
                )
            error, magnitude = self.error(base), self._abs(base)
            return zero, ErrorQuotient(
                error, sp.sqrt(magnitude) + sp.sqrt(PositivePart(magnitude - error))
            ) + u * sp.sqrt(magnitude + error)
        if exponent.is_Rational and exponent.q == 2:
            # b**(n/2) = (sqrt(b))**n: bound the root, then the integer power of it.
            return self.parts(
                sp.Pow(sp.Pow(base, sp.Rational(1, 2), evaluate=False), exponent.p, evaluate=False)
            )
        if exponent.is_integer and exponent.is_nonnegative and exponent.free_symbols:
            # A step count t (or t + 1, a count code keeps another way): n multiplications.
            relative, absolute = self.parts(base)
            if absolute == 0:
                return (1 + relative) ** exponent - 1 + (exponent + 1) * u, zero
            error, magnitude = self.error(base), self._abs(base)
            power = self._widened(magnitude**exponent)
            growth = (1 + ErrorQuotient(error, magnitude)) ** exponent - 1
            return zero, power * growth + (exponent + 1) * u * power
        if exponent.is_integer and exponent.is_nonpositive and exponent.free_symbols:
            # (1 - beta1)**-t (a correction's power taken of the whole): 1 / b**t.
            return self._reciprocal_parts(sp.Pow(base, -exponent, evaluate=False), u)
        raise NotImplementedError(f"no rounding-error rule for the power {expr}")
