"""The sum algebra behind the general proofs: each rule is exact, and a false identity stays
nonzero (a proof built on it can fail)."""

from __future__ import annotations

import pytest
import sympy as sp

from eqconform.specs.sums import (
    SumsAsSymbols,
    UnsupportedSum,
    peel_last,
    substitute,
    sum_normal_form,
    vanishes_modulo_roots,
)

a, b, j, k, p = sp.symbols("a b j k p", integer=True, positive=True)
d, n = sp.symbols("d n", integer=True, positive=True)
x, y = sp.IndexedBase("x"), sp.IndexedBase("y")
c = sp.Symbol("c", real=True)


def _same(left: sp.Expr, right: sp.Expr, **options: object) -> bool:
    return sp.simplify(sum_normal_form(left - right, **options)) == 0


def test_linearity_and_fubini_make_equal_sums_equal() -> None:
    assert _same(sp.Sum(c * x[j] + y[j], (j, 1, d)), c * sp.Sum(x[k], (k, 1, d)) + sp.Sum(y[j], (j, 1, d)))
    assert _same(sp.Sum(x[a] * y[b], (a, 1, d), (b, 1, n)), sp.Sum(x[a] * y[b], (b, 1, n), (a, 1, d)))
    assert _same(sp.Sum(x[j], (j, 1, d)) ** 2, sp.Sum(x[a] * x[b], (a, 1, d), (b, 1, d)))
    assert _same(sp.Sum(1, (j, 1, d)), d)
    # A false identity is not made equal: a sum to d - 1 is not the sum to d.
    assert not _same(sp.Sum(x[j], (j, 1, d)), sp.Sum(x[j], (j, 1, d - 1)))
    assert not _same(sp.Sum(x[j] ** 2, (j, 1, d)), sp.Sum(x[j], (j, 1, d)) ** 2)


def test_a_kronecker_delta_sifts_only_onto_an_index_of_the_same_range() -> None:
    sifted = sp.Sum(sp.KroneckerDelta(j, p) * x[j], (j, 1, d))
    assert _same(sifted, x[p], ranges={p: (1, d)})
    # p of another range (or of none): the delta cannot be sifted, and the sum is kept.
    assert not _same(sifted, x[p], ranges={p: (1, n)})
    assert not _same(sifted, x[p])


def test_a_rule_evaluates_the_sums_it_knows() -> None:
    def mean_zero(var: sp.Symbol, low: sp.Expr, high: sp.Expr, involved: sp.Expr) -> sp.Expr | None:
        return sp.S.Zero if involved == x[var] else None

    demeaned = sp.Sum(x[j] * (1 + c), (j, 1, d))
    assert _same(demeaned, 0, rules=(mean_zero,))
    assert not _same(demeaned, 0)


def test_peel_last_splits_a_sum_and_a_product_exactly() -> None:
    total = sp.Sum(x[j], (j, 1, d))
    assert peel_last(total, d) == sp.Sum(x[j], (j, 1, d - 1)) + x[d]
    product = sp.Product(1 - y[j], (j, 1, d))
    assert peel_last(product, d) == sp.Product(1 - y[j], (j, 1, d - 1)) * (1 - y[d])
    for size in (1, 2, 5):  # Karr's convention: the identity holds at d = 1 too
        assert (peel_last(total, d) - total).subs(d, size).doit() == 0
    assert peel_last(sp.Sum(x[j], (j, 1, n)), d) == sp.Sum(x[j], (j, 1, n))  # another bound


def test_substitution_does_not_capture_a_bound_index() -> None:
    mean = sp.Sum(x[j], (j, 1, d)) / d
    definition = sp.Sum(y[j] * x[j], (j, 1, d))  # y's entry defined by a sum over its own j
    substituted = substitute(mean, y[j], definition)
    assert substituted == mean  # y does not occur in the mean
    centred = substitute(sp.Sum(y[k] * x[k], (k, 1, d)), y[k], sp.Sum(x[j], (j, 1, d)))
    assert _same(centred, sp.Sum(x[j], (j, 1, d)) ** 2)


def test_sums_named_as_symbols_decide_identities_through_roots() -> None:
    named = SumsAsSymbols({p: d})
    square = named(sp.Sum(x[j] ** 2, (j, 1, d)))
    root = sp.sqrt(square / d + sp.Symbol("eps", positive=True))
    assert vanishes_modulo_roots(root**2 - square / d - sp.Symbol("eps", positive=True))
    assert vanishes_modulo_roots(1 / root - root / root**2)
    assert not vanishes_modulo_roots(root - square / d)
    assert named(sp.Sum(sp.KroneckerDelta(j, p) * x[j], (j, 1, d))) == x[p]
    with pytest.raises(UnsupportedSum):
        named(sp.Sum(x[j], (j, 2, d)))  # only sums from 1
