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
the propagated error grows. The result is a straight-line program with one value and one error
per distinct node of the expression DAG (so its size is linear in the expression's, where a
single nested formula would repeat shared subexpressions exponentially often); it is printed by
SymPy's NumPy printer and evaluated in float64 next to the oracle. :mod:`.tolerance` scales it.
"""

from __future__ import annotations

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

    def compiled(self, *, scalars: Collection[str] | None = None) -> CompiledFunction:
        """The program as a NumPy function returning the values (if any), then the bounds.

        ``scalars``: the inputs known to be scalars (hyperparameters, unlike the arrays), to
        rearrange the program into fewer passes over arrays
        (:func:`~.straightline.fewer_passes`). The unit roundoffs are always among them."""
        if scalars is not None:
            scalars = {*scalars, UNIT_ROUNDOFF.name, COEFFICIENT_UNIT_ROUNDOFF.name}
        return compile_program(self.assignments, (*self.values, *self.errors), scalars=scalars)


class PositivePart(sp.Function):
    """``max(x, 0)``, printed for NumPy as one ``numpy.maximum`` (SymPy would print ``Max`` as a
    reduction over a stacked array, and ``(x + |x|) / 2`` costs four passes over the data)."""

    nargs = 1

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
    leaf_errors: Mapping[sp.Symbol, sp.Expr] | None = None,
    coefficients: Collection[str] = (),
    values: bool = False,
) -> BoundProgram:
    """One program bounding the errors of several expressions (sharing the analysis of their
    common nodes). ``recomputable`` is as for :func:`error_bound_program`; ``leaf_errors`` gives
    leaves an error of their own (an input the checker computed, with the bound of that
    computation as another input); nodes of the symbols named in ``coefficients`` alone (and
    integers such as the step count) are rounded at :data:`COEFFICIENT_UNIT_ROUNDOFF`, an input
    of the program.

    ``values``: the program returns the expressions' values too. The bound computes the value
    of every node below a root anyway, so a check that wants both gets them in one program,
    and the arrays are not gone over twice."""
    builder = _Builder(coefficients)
    for symbol, from_inputs in (recomputable or {}).items():
        builder.leaf_errors[symbol] = builder.error(from_inputs) + u * sp.Abs(symbol)
    builder.leaf_errors.update(leaf_errors or {})
    errors = tuple(builder.error(expr) for expr in expressions)
    roots = tuple(builder.value(expr) for expr in expressions) if values else ()
    return BoundProgram(tuple(builder.assignments), errors, roots)


class _Builder:
    """Walks an expression DAG once, naming each distinct node's value and error bound."""

    def __init__(self, coefficients: Collection[str] = ()) -> None:
        self.assignments: list[tuple[sp.Symbol, sp.Expr]] = []
        self.values: dict[sp.Expr, sp.Expr] = {}
        self.errors: dict[sp.Expr, sp.Expr] = {}
        self.magnitudes: dict[sp.Expr, sp.Expr] = {}
        self.leaf_errors: dict[sp.Symbol, sp.Expr] = {}
        self.coefficients = frozenset(coefficients)

    def _unit(self, expr: sp.Expr) -> sp.Expr:
        """The unit roundoff ``expr`` is computed at: :data:`COEFFICIENT_UNIT_ROUNDOFF` for a
        coefficient (a node of coefficient symbols only, such as ``1 - beta1**t``), else
        :data:`UNIT_ROUNDOFF`."""
        symbols = [symbol for symbol in expr.free_symbols if not symbol.is_integer]
        if symbols and all(symbol.name in self.coefficients for symbol in symbols):
            return COEFFICIENT_UNIT_ROUNDOFF
        return u

    def _name(self, prefix: str, expr: sp.Expr) -> sp.Symbol:
        symbol = sp.Symbol(f"_{prefix}{len(self.assignments)}")
        self.assignments.append((symbol, expr))
        return symbol

    def value(self, expr: sp.Expr) -> sp.Expr:
        """A symbol (or atom) holding the value of ``expr``."""
        if expr.is_Atom:
            return expr
        if expr not in self.values:
            children = [self.value(arg) for arg in expr.args]
            self.values[expr] = self._name("v", expr.func(*children, evaluate=False))
        return self.values[expr]

    def error(self, expr: sp.Expr) -> sp.Expr:
        """A symbol (or zero) holding the error bound of ``expr``."""
        if expr in self.errors:
            return self.errors[expr]
        bound = self._rule(expr)
        if not bound.is_Atom:
            bound = self._name("e", bound)
        self.errors[expr] = bound
        return bound

    def _abs(self, expr: sp.Expr) -> sp.Expr:
        """A symbol (or atom) holding ``|expr|``: the rules ask for the same magnitudes many
        times, and each is one pass over the data."""
        magnitude = sp.Abs(self.value(expr))
        if magnitude.is_Atom:
            return magnitude
        if expr not in self.magnitudes:
            self.magnitudes[expr] = self._name("a", magnitude)
        return self.magnitudes[expr]

    def _widened(self, expr: sp.Expr) -> sp.Symbol:
        """A symbol holding ``expr``, which a rule uses twice: a product of magnitudes widened
        by their errors (once less the exact product, once scaled by the roundings), a power,
        an exponential's growth."""
        return self._name("w", expr)

    def _reciprocal(self, magnitude: sp.Expr, error: sp.Expr, u: sp.Expr) -> sp.Expr:
        slack = self._name("s", PositivePart(magnitude - error))
        return error / (magnitude * slack) + u / slack

    def _rule(self, expr: sp.Expr) -> sp.Expr:
        if expr in self.leaf_errors:
            return self.leaf_errors[expr]
        u = self._unit(expr)
        if isinstance(expr, sp.exp):  # before powers: SymPy counts E**a as an exp
            return self._exp(expr, u)
        if isinstance(expr, CumProdAxis):
            return self._cumulative_product(expr, u)
        if isinstance(expr, CumCountAxis):
            return sp.Integer(0)
        if isinstance(expr, sp.Heaviside):
            argument = expr.args[0]
            return sp.Heaviside(self.error(argument) - sp.Abs(self.value(argument)), 1)
        if expr.is_Integer or isinstance(expr, sp.core.numbers.IntegerConstant):
            return sp.Integer(0)
        if expr.is_Rational:
            denominator = int(expr.q)
            return sp.Integer(0) if denominator & (denominator - 1) == 0 else u * sp.Abs(expr)
        if expr.is_Number:
            return u * sp.Abs(expr)
        if isinstance(expr, sp.Symbol):
            return sp.Integer(0) if expr.is_integer else u * self._abs(expr)
        if isinstance(expr, sp.Add):
            terms = expr.args
            return sp.Add(*(self.error(t) for t in terms)) + (len(terms) - 1) * u * sp.Add(
                *(self._abs(t) for t in terms)
            )
        if isinstance(expr, sp.Mul):
            magnitudes = [self._abs(f) for f in expr.args]
            widened = self._widened(
                sp.Mul(*(m + self.error(f) for m, f in zip(magnitudes, expr.args, strict=True)))
            )
            return widened - sp.Mul(*magnitudes) + (len(expr.args) - 1) * u * widened
        if isinstance(expr, sp.Pow):
            return self._power(expr, u)
        if isinstance(expr, ReduceAxis):
            body, axis, size = expr.args
            return ReduceAxis(self.error(body), axis, size) + (size - 1) * u * ReduceAxis(
                self._abs(body), axis, size
            )
        if isinstance(expr, sp.Abs):
            return self.error(expr.args[0])
        if isinstance(expr, Transposed):  # exact: the argument's error, laid out alike
            return Transposed(self.error(expr.args[0]))
        raise NotImplementedError(f"no rounding-error rule for {type(expr).__name__}: {expr}")

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

    def _power(self, expr: sp.Pow, u: sp.Expr) -> sp.Expr:
        base, exponent = expr.args
        error = self.error(base)
        magnitude = self._abs(base)
        if exponent.is_Integer and exponent > 0:
            n = int(exponent)
            widened = self._widened((magnitude + error) ** n)
            return widened - magnitude**n + (n - 1) * u * widened
        if exponent.is_Integer and exponent < 0:
            positive = sp.Pow(base, -exponent, evaluate=False) if exponent != -1 else base
            return self._reciprocal(self._abs(positive), self.error(positive), u)
        if exponent == sp.Rational(1, 2):
            return ErrorQuotient(
                error, sp.sqrt(magnitude) + sp.sqrt(PositivePart(magnitude - error))
            ) + u * sp.sqrt(magnitude + error)
        if exponent.is_Rational and exponent.q == 2:
            # b**(n/2) = (sqrt(b))**n: bound the root, then the integer power of it.
            return self.error(
                sp.Pow(sp.Pow(base, sp.Rational(1, 2), evaluate=False), exponent.p, evaluate=False)
            )
        if exponent.is_integer and exponent.is_nonnegative and exponent.free_symbols:
            # A step count t (or t + 1, a count code keeps another way): n multiplications.
            power = self._widened(magnitude**exponent)
            growth = (1 + ErrorQuotient(error, magnitude)) ** exponent - 1
            return power * growth + (exponent + 1) * u * power
        if exponent.is_integer and exponent.is_nonpositive and exponent.free_symbols:
            # (1 - beta1)**-t (a correction's power taken of the whole): 1 / b**t.
            positive = sp.Pow(base, -exponent, evaluate=False)
            return self._reciprocal(self._abs(positive), self.error(positive), u)
        raise NotImplementedError(f"no rounding-error rule for the power {expr}")
