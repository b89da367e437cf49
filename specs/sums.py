"""Sums over a symbolic range, for the proofs that hold in general: an expression is brought to a
normal form, a sum of terms coefficient * Sum(monomial, limits), by linearity (constants pulled
out, a sum of an Add split, a product of sums merged into one multiple sum) and Fubini (the
order of the limits is immaterial). In each term a KroneckerDelta sifts its summation index, and
the caller's rules evaluate the sums they know (a row of mean 0 sums to 0); the bound indices
are then renamed canonically, so two expressions are equal when their normal forms are.

Used by the proofs that hold for a symbolic size (:mod:`eqconform.specs.ln_scaling`,
:mod:`eqconform.specs.noise`, :mod:`eqconform.specs.autoencoder`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import sympy as sp

__all__ = [
    "SumRule",
    "UnsupportedSum",
    "fresh_bound",
    "map_summands",
    "substitute",
    "sum_normal_form",
]


class UnsupportedSum(ValueError):
    """A sum the normal form does not handle (a root of a sum over an index bound outside it)."""


#: A rule evaluates the sum over one index: given the index, its bounds and the product of the
#: summand's factors that involve it, the value of that sum (free of the index), or None.
SumRule = Callable[[sp.Symbol, sp.Expr, sp.Expr, sp.Expr], sp.Expr | None]

_Limit = tuple[sp.Symbol, sp.Expr, sp.Expr]
# (coefficient free of the term's indices, the limits, the monomial in the indices)
_Term = tuple[sp.Expr, tuple[_Limit, ...], sp.Expr]

#: The bound indices of a normal form, named in order; the same objects in every normal form so
#: that equal terms compare equal.
_CANONICAL = tuple(sp.Dummy(f"v{n}", integer=True) for n in range(12))
#: Renamings tried per term to find its canonical form (indices over equal ranges permuted).
_RENAMING_BUDGET = 5040


class _Context:
    """The ranges of the free indices (for sifting) and the caller's rules."""

    def __init__(
        self, ranges: Mapping[sp.Symbol, tuple[sp.Expr, sp.Expr]], rules: Sequence[SumRule]
    ) -> None:
        self.ranges = dict(ranges)
        self.rules = tuple(rules)


def _product(factors: list[list[_Term]]) -> list[_Term]:
    terms: list[_Term] = [(sp.S.One, (), sp.S.One)]
    for options in factors:
        terms = [(c1 * c2, l1 + l2, b1 * b2) for c1, l1, b1 in terms for c2, l2, b2 in options]
    return terms


def _bind(term: _Term, var: sp.Symbol, low: sp.Expr, high: sp.Expr) -> _Term:
    """``term`` summed over ``var``: the factors free of it stay outside; a fresh index keeps
    the terms of one sum from capturing each other's indices."""
    coeff, limits, body = term
    if any(var in bound.free_symbols for _, lo, hi in limits for bound in (lo, hi)):
        raise UnsupportedSum(f"a bound depends on {var}")
    outside, inside = coeff.as_independent(var, as_Add=False)
    if inside.has(sp.Sum):
        raise UnsupportedSum(f"a root or quotient of a sum depends on {var}")
    body = inside * body
    if var not in body.free_symbols:
        return outside * (high - low + 1), limits, body
    fresh = sp.Dummy(str(var), integer=True)
    return outside, (*limits, (fresh, low, high)), body.xreplace({var: fresh})


def _terms(expr: sp.Expr, ctx: _Context) -> list[_Term]:
    if not expr.has(sp.Sum):
        return [(term, (), sp.S.One) for term in sp.Add.make_args(sp.expand(expr))]
    if isinstance(expr, sp.Add):
        return [term for arg in expr.args for term in _terms(arg, ctx)]
    if isinstance(expr, sp.Mul):
        return _product([_terms(arg, ctx) for arg in expr.args])
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp > 0:
        return _product([_terms(expr.base, ctx) for _ in range(int(expr.exp))])
    if isinstance(expr, sp.Sum):
        terms = _terms(expr.function, ctx)
        for var, low, high in expr.limits:  # innermost first
            terms = [_bind(term, var, low, high) for term in terms]
        return terms
    # A root, a reciprocal or a function of sums: an atom, its arguments in normal form.
    return [(expr.func(*[_normal_once(arg, ctx) for arg in expr.args]), (), sp.S.One)]


def _range(index: sp.Basic, limits: tuple[_Limit, ...], ctx: _Context) -> tuple | None:
    for var, low, high in limits:
        if var == index:
            return (low, high)
    return ctx.ranges.get(index)


def _reduce(term: _Term, ctx: _Context) -> list[_Term]:
    """Evaluate the sums of ``term`` that a KroneckerDelta sifts (sum_v delta(j, v) g(v) = g(j)
    when j runs over v's range) or that a rule knows, until none does."""
    coeff, limits, body = term
    for position, (var, low, high) in enumerate(limits):
        others = limits[:position] + limits[position + 1 :]
        involved = sp.Mul(*[f for f in sp.Mul.make_args(body) if var in f.free_symbols])
        value = None
        for factor in sp.Mul.make_args(involved):
            if isinstance(factor, sp.KroneckerDelta):
                other = factor.args[1] if factor.args[0] == var else factor.args[0]
                if other != var and _range(other, others, ctx) == (low, high):
                    value = (involved / factor).xreplace({var: other})
                    break
        for rule in ctx.rules:
            if value is not None:
                break
            value = rule(var, low, high, involved)
            if value is not None and var in value.free_symbols:
                value = None
        if value is not None:
            rest = body / involved * value
            rebuilt = coeff * (sp.Sum(rest, *others) if others else rest)
            return [reduced for new in _terms(rebuilt, ctx) for reduced in _reduce(new, ctx)]
    if not limits:
        return [(coeff * body, (), sp.S.One)]
    outside, inside = body.as_independent(*[var for var, _, _ in limits], as_Add=False)
    return [(coeff * outside, limits, inside)]


def _canonical(term: _Term) -> _Term:
    """``term`` with its indices renamed to _CANONICAL: of the renamings that permute indices
    over equal ranges, the one whose monomial prints first."""
    coeff, limits, body = term
    if not limits:
        return term
    groups: dict[tuple[str, str], list[_Limit]] = {}
    for limit in limits:
        groups.setdefault((str(limit[1]), str(limit[2])), []).append(limit)
    ordered = [groups[key] for key in sorted(groups)]
    renamings = 1
    for group in ordered:
        for size in range(2, len(group) + 1):
            renamings *= size
    if renamings > _RENAMING_BUDGET or len(limits) > len(_CANONICAL):
        raise UnsupportedSum(f"{len(limits)} summation indices")
    best: tuple[str, sp.Expr, tuple[_Limit, ...]] | None = None
    for choice in itertools.product(*(itertools.permutations(group) for group in ordered)):
        flat = [limit for group in choice for limit in group]
        renamed = body.xreplace({var: _CANONICAL[n] for n, (var, _, _) in enumerate(flat)})
        key = str(renamed)
        if best is None or key < best[0]:
            canonical = tuple((_CANONICAL[n], low, high) for n, (_, low, high) in enumerate(flat))
            best = (key, renamed, canonical)
    assert best is not None
    return coeff, best[2], best[1]


def _normal_once(expr: sp.Expr, ctx: _Context) -> sp.Expr:
    collected: dict[tuple[tuple[_Limit, ...], sp.Expr], sp.Expr] = {}
    for term in _terms(sp.sympify(expr), ctx):
        for reduced in _reduce(term, ctx):
            coeff, limits, body = _canonical(reduced)
            collected[(limits, body)] = collected.get((limits, body), sp.S.Zero) + coeff
    total = sp.S.Zero
    for (limits, body), coeff in collected.items():
        total += sp.cancel(coeff) * (sp.Sum(body, *limits) if limits else body)
    return total


def sum_normal_form(
    expr: sp.Expr,
    ranges: Mapping[sp.Symbol, tuple[sp.Expr, sp.Expr]] | None = None,
    rules: Sequence[SumRule] = (),
) -> sp.Expr:
    """``expr`` as coefficient * Sum(monomial, canonical limits) terms, with every sum that a
    KroneckerDelta or a rule evaluates evaluated; ``ranges`` gives the bounds of the free indices
    (a delta sifts an index only onto one of the same range). Raises :class:`UnsupportedSum`."""
    ctx = _Context(ranges or {}, rules)
    current = sp.sympify(expr)
    # A pass can merge a sum into the coefficient of another term (S * S**-2 = 1/S), which the
    # next pass collects; the normal form is reached in a few passes.
    for _ in range(4):
        following = _normal_once(current, ctx)
        if following == current:
            break
        current = following
    return current


def map_summands(
    expr: sp.Expr,
    transform: Callable[[sp.Expr], sp.Expr],
    ranges: Mapping[sp.Symbol, tuple[sp.Expr, sp.Expr]] | None = None,
    rules: Sequence[SumRule] = (),
) -> sp.Expr:
    """The normal form of ``expr`` with ``transform`` applied to every summand (a linear map
    such as an expectation or a derivative commutes with the finite sums)."""
    ctx = _Context(ranges or {}, rules)
    mapped = sp.S.Zero
    for term in _terms(sum_normal_form(expr, ranges, rules), ctx):
        coeff, limits, body = term
        summand = transform(coeff * body)
        mapped += sp.Sum(summand, *limits) if limits else summand
    return sum_normal_form(mapped, ranges, rules)


def fresh_bound(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the indices of its sums renamed to fresh ones, so that substituting it
    under another sum cannot capture that sum's index."""

    def rename(node: sp.Sum) -> sp.Sum:
        fresh = {var: sp.Dummy(str(var), integer=True) for var, _, _ in node.limits}
        return sp.Sum(
            node.function.xreplace(fresh), *[(fresh[var], lo, hi) for var, lo, hi in node.limits]
        )

    return expr.replace(lambda node: isinstance(node, sp.Sum), rename)


def substitute(expr: sp.Expr, quantity: sp.Indexed, definition: sp.Expr) -> sp.Expr:
    """``expr`` with every entry of ``quantity``'s base replaced by ``definition`` at that
    entry's indices (``quantity`` = x[i, j] -> definition, as a spec relation states it)."""
    pattern = quantity.indices

    def instance(entry: sp.Indexed) -> sp.Expr:
        return fresh_bound(definition).xreplace(dict(zip(pattern, entry.indices, strict=True)))

    return expr.replace(
        lambda node: isinstance(node, sp.Indexed) and node.base == quantity.base, instance
    )
