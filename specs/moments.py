"""Moments of polynomials in independent random variables, for the proofs of the EECS 182 claims.

``sympy.stats`` computes ``E`` and ``variance`` of a sum of products of normals by integrating
the joint density, which takes seconds already for three terms. For a polynomial in
*independent* random symbols, linearity and independence reduce every expectation to moments of
single variables: ``E[X^a Y^b] = E[X^a] E[Y^b]``. :func:`expectation` expands the polynomial and
asks ``sympy.stats`` only for those one-variable moments (cached), so the distributions still
come from the specs' own ``sympy.stats`` draws.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import sympy as sp
from sympy import stats
from sympy.stats.rv import RandomSymbol

__all__ = ["covariance", "expectation", "moment", "variance"]


@functools.cache
def moment(variable: RandomSymbol, power: int) -> sp.Expr:
    """``E[variable ** power]`` from the variable's ``sympy.stats`` distribution.

    Where the distribution has a moment generating function in closed form (a normal's), the
    moment is its ``power``-th derivative at 0: ``stats.E`` computes the same coefficient from
    a series expansion of that function, which costs several times more (a fifth of all the
    proofs' time went there). Otherwise (a Bernoulli's), ``stats.E`` itself."""
    distribution = getattr(variable.pspace, "distribution", None)
    generating = getattr(distribution, "_moment_generating_function", None)
    if generating is not None:
        t = sp.Dummy("t", real=True)
        function = generating(t)
        if function is not None:
            return sp.simplify(_derivative_at_zero(function, t, power))
    return sp.simplify(stats.E(variable**power))


def _derivative_at_zero(function: sp.Expr, t: sp.Dummy, order: int) -> sp.Expr:
    """The ``order``-th derivative of ``function`` in ``t`` at ``t = 0``.

    For ``exp(g)`` with ``g`` a polynomial in ``t`` (a normal's generating function, ``g = mu t
    + sigma^2 t^2 / 2``), through the derivatives of ``g`` at 0: ``f' = g' f``, so by Leibniz
    ``f^(n+1)(0) = sum_k C(n, k) g^(k+1)(0) f^(n-k)(0)``. Differentiating ``exp(g)`` itself
    ``order`` times builds expressions that grow with every derivative (and cost the more)."""
    if not (isinstance(function, sp.exp) and function.args[0].is_polynomial(t)):
        return sp.diff(function, t, order).subs(t, 0)
    exponent = sp.Poly(function.args[0], t)
    # g^(k+1)(0) = (k + 1)! times the coefficient of t^(k+1) in g.
    slopes = [math.factorial(k + 1) * exponent.coeff_monomial(t ** (k + 1)) for k in range(order)]
    values = [sp.exp(exponent.coeff_monomial(1))]  # f(0)
    for n in range(order):
        values.append(sp.Add(*[math.comb(n, k) * slopes[k] * values[n - k] for k in range(n + 1)]))
    return values[order]


def _random_symbols(expr: sp.Expr) -> list[RandomSymbol]:
    return sorted(expr.atoms(RandomSymbol), key=str)


def expectation(expr: sp.Expr, variables: Sequence[RandomSymbol] | None = None) -> sp.Expr:
    """``E[expr]`` for a polynomial in independent random symbols (all of them by default)."""
    variables = list(variables) if variables is not None else _random_symbols(expr)
    if not variables:
        return sp.expand(expr)
    stand_ins = [sp.Dummy(str(variable)) for variable in variables]
    polynomial = sp.Poly(
        sp.expand(expr.xreplace(dict(zip(variables, stand_ins, strict=True)))), *stand_ins
    )
    total = sp.Integer(0)
    for powers, coefficient in polynomial.terms():
        term = coefficient
        for variable, power in zip(variables, powers, strict=True):
            if power:
                term *= moment(variable, int(power))
        total += term
    return sp.expand(total)


def variance(expr: sp.Expr) -> sp.Expr:
    mean = expectation(expr)
    return sp.expand(expectation(expr**2) - mean**2)


def covariance(first: sp.Expr, second: sp.Expr) -> sp.Expr:
    return sp.expand(expectation(first * second) - expectation(first) * expectation(second))
