"""Helpers of the spec model the proofs build on (:mod:`eqconform.specs.model`)."""

from __future__ import annotations

import pytest
import sympy as sp

from eqconform.specs import model
from eqconform.specs.model import instantiate

W, X = sp.IndexedBase("W"), sp.IndexedBase("X")
s, r, t, n = sp.symbols("s r t n", integer=True, positive=True)
a = sp.Symbol("a", real=True)


@pytest.mark.parametrize(
    "expr",
    [
        sp.Sum(W[s, r] * X[r, t], (r, 1, 3)),
        sp.Sum(a * W[s, r] + 2, (r, 1, 4)),
        sp.Sum(sp.Sum(W[s, r] * X[r, t], (r, 1, 2)), (s, 1, 3)) ** 2,
        sp.exp(sp.Sum(W[1, r], (r, 1, 3))) + sp.Sum(a, (r, 1, 5)),
        sp.Sum(W[s, r], (r, 2, 2)),
    ],
)
def test_sums_over_a_few_numbers_are_written_out_as_doit_writes_them(expr: sp.Expr) -> None:
    # The same expression, node for node, without Sum.doit's partial-fraction try.
    written = model._written_out(expr.subs({s: 2, t: 1}))
    assert written is not None
    assert sp.srepr(written) == sp.srepr(expr.subs({s: 2, t: 1}).doit())


@pytest.mark.parametrize(
    "expr",
    [
        sp.Sum(r * W[s, r], (r, 1, 3)),  # the index outside an entry
        sp.Sum(W[s, r] * sp.KroneckerDelta(r, 2), (r, 1, 3)),
        sp.Sum(W[s, r], (r, 1, 101)),  # too many terms to write out
        sp.Derivative(sp.Sum(W[s, r] * a, (r, 1, 2)), a),
    ],
)
def test_other_sums_are_left_to_doit(expr: sp.Expr) -> None:
    assert model._written_out(expr.subs({s: 2})) is None
    # instantiate gives what doit makes of it, the entries replaced.
    entries = {W: [[sp.Integer(10 * i + j) for j in range(1, 102)] for i in range(1, 4)]}
    expected = expr.subs({s: 2}).doit()
    expected = expected.xreplace(
        {
            e: entries[W][int(e.indices[0]) - 1][int(e.indices[1]) - 1]
            for e in expected.atoms(sp.Indexed)
        }
    )
    assert instantiate(expr, {s: 2}, entries) == expected


def test_a_sum_up_to_a_symbol_is_left_to_doit() -> None:
    assert model._written_out(sp.Sum(W[s, r], (r, 1, n))) is None


def test_instantiate_replaces_entries_after_writing_the_sums_out() -> None:
    matrix = [[sp.Integer(1), sp.Integer(2)], [sp.Integer(3), sp.Integer(4)]]
    column = [[sp.Integer(5)], [sp.Integer(6)]]
    expr = sp.Sum(W[s, r] * X[r, t], (r, 1, n))
    assert instantiate(expr, {s: 2, t: 1, n: 2}, {W: matrix, X: column}) == 3 * 5 + 4 * 6
