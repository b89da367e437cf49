r"""A rounding-error bound derived from the spec's own expression.

An implementation that evaluates an equation in floating point with unit roundoff ``u``
(``2**-24`` for float32, ``2**-53`` for float64) cannot match the exact value; how far it may
drift depends on the equation *and* the input: subtracting nearly equal numbers (a row with a
large mean in LayerNorm, ``1 - beta**t`` with ``beta`` near 1) amplifies earlier errors. So the
tolerance is not a constant: :func:`error_bound` walks the array-form expression and builds a
second SymPy expression, a forward error bound in the style of a running error analysis
(Wilkinson; Higham, *Accuracy and Stability of Numerical Algorithms*, ch. 3):

- every non-integer leaf may be rounded once on the way in: ``|e(x)| <= u |x|``;
- ``a_1 + ... + a_n``: ``sum e(a_i) + (n - 1) u sum |a_i|``;
- products: ``prod(|f_i| + e(f_i)) - prod |f_i|``, plus ``(n - 1) u`` times the product;
- ``1 / b``: ``e(b) / (|b| (|b| - e(b)))``, infinite once ``e(b) >= |b|`` (nothing is known);
- ``sqrt(b)``: ``e(b) / (sqrt|b| + sqrt(|b| - e(b)))``, exact for the square root;
- ``b**t`` with an integer symbol ``t``: ``|b|^t ((1 + e(b)/|b|)^t - 1) + (t + 1) u |b|^t``;
- a reduction of ``n`` terms: the reduction of the terms' bounds plus ``(n - 1) u`` times the
  reduction of their absolute values (recursive summation, the worst order).

The products and powers are bounded without linearization, so the bound stays valid however
large the propagated error is. The bound is compiled and evaluated like the oracle itself,
in float64, elementwise; :mod:`eqconform.verify.tolerance` scales it by a safety factor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import sympy as sp

from .compiler import ReduceAxis

__all__ = ["UNIT_ROUNDOFF", "error_bound"]

#: The symbol of the unit roundoff in bound expressions.
UNIT_ROUNDOFF = sp.Symbol("unit_roundoff", positive=True)
u = UNIT_ROUNDOFF


def _positive_part(value: sp.Expr) -> sp.Expr:
    return (value + sp.Abs(value)) / 2


def error_bound(expr: sp.Expr, leaf_bounds: Mapping[sp.Symbol, sp.Expr] | None = None) -> sp.Expr:
    """A bound on ``|computed - exact|`` for ``expr`` in array form, in terms of ``unit_roundoff``.

    ``leaf_bounds`` gives the error already carried by some leaves (an intermediate quantity
    the implementation may have computed itself); other leaves carry one rounding.
    """
    return _Bounds(dict(leaf_bounds or {})).of(expr)


class _Bounds:
    def __init__(self, leaf_bounds: dict[sp.Symbol, sp.Expr]):
        self.leaf_bounds = leaf_bounds
        self.memo: dict[sp.Expr, sp.Expr] = {}

    def of(self, expr: sp.Expr) -> sp.Expr:
        if expr not in self.memo:
            self.memo[expr] = self._rule(expr)
        return self.memo[expr]

    def _rule(self, expr: sp.Expr) -> sp.Expr:
        if expr in self.leaf_bounds:
            return self.leaf_bounds[expr] + u * sp.Abs(expr)
        return _rule(self.of, expr)


def _rule(_bound: Callable[[sp.Expr], sp.Expr], expr: sp.Expr) -> sp.Expr:
    if expr.is_Integer or isinstance(expr, sp.core.numbers.IntegerConstant):
        return sp.Integer(0)
    if expr.is_Rational:
        denominator = int(expr.q)
        exact = denominator & (denominator - 1) == 0
        return sp.Integer(0) if exact else u * sp.Abs(expr)
    if expr.is_Number:
        return u * sp.Abs(expr)
    if isinstance(expr, sp.Symbol):
        return sp.Integer(0) if expr.is_integer else u * sp.Abs(expr)
    if isinstance(expr, sp.Add):
        terms = expr.args
        return sp.Add(*(_bound(term) for term in terms)) + (len(terms) - 1) * u * sp.Add(
            *(sp.Abs(term) for term in terms)
        )
    if isinstance(expr, sp.Mul):
        magnitudes = [sp.Abs(factor) for factor in expr.args]
        widened = sp.Mul(*(m + _bound(f) for m, f in zip(magnitudes, expr.args)))
        return widened - sp.Mul(*magnitudes) + (len(expr.args) - 1) * u * widened
    if isinstance(expr, sp.Pow):
        return _power_bound(_bound, expr)
    if isinstance(expr, ReduceAxis):
        body, axis, size = expr.args
        return ReduceAxis(_bound(body), axis, size) + (size - 1) * u * ReduceAxis(sp.Abs(body), axis, size)
    if isinstance(expr, sp.Abs):
        return _bound(expr.args[0])
    raise NotImplementedError(f"no rounding-error rule for {type(expr).__name__}: {expr}")


def _power_bound(_bound: Callable[[sp.Expr], sp.Expr], expr: sp.Pow) -> sp.Expr:
    base, exponent = expr.args
    error = _bound(base)
    magnitude = sp.Abs(base)
    if exponent.is_Integer and exponent > 0:
        n = int(exponent)
        widened = (magnitude + error) ** n
        return widened - magnitude**n + (n - 1) * u * widened
    if exponent.is_Integer and exponent < 0:
        positive = base ** (-exponent)
        return _reciprocal_bound(positive, _bound(positive))
    if exponent == sp.Rational(1, 2):
        return error / (sp.sqrt(magnitude) + sp.sqrt(_positive_part(magnitude - error))) + u * sp.sqrt(
            magnitude + error
        )
    if exponent.is_Rational and exponent.q == 2:
        # b**(n/2) = (sqrt(b))**n: bound the root, then the integer power of it.
        return _bound(sp.Pow(sp.sqrt(base, evaluate=False), exponent.p, evaluate=False))
    if exponent.is_Symbol and exponent.is_integer and exponent.is_positive:
        power = magnitude**exponent
        relative = error / magnitude
        return power * ((1 + relative) ** exponent - 1) + (exponent + 1) * u * power
    raise NotImplementedError(f"no rounding-error rule for the power {expr}")


def _reciprocal_bound(denominator: sp.Expr, error: sp.Expr) -> sp.Expr:
    magnitude = sp.Abs(denominator)
    slack = _positive_part(magnitude - error)
    return error / (magnitude * slack) + u / slack
