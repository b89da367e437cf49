"""Large evaluations are cut into blocks along an axis no reduction runs along
(``compiler.BLOCK_ELEMENTS``): the result must be the whole evaluation's, bit for bit, whatever
the shapes, broadcasting and reductions. A program that reduces along every axis is cut along
one whose sums have summands needing no such sum: each block's share of the sums is added up,
then the rest is evaluated in blocks (the same values, up to the order the sums are added)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from eqconform.verify import compiler
from eqconform.verify.compiler import (
    CompiledFunction,
    ReduceAxis,
    axes_reduced_along,
    compile_expressions,
    compile_program,
)
from eqconform.verify.rounding import error_bound_program

C, N = sp.symbols("C N", integer=True, positive=True)
Z, G, gamma, beta, eps, t = sp.symbols("Z G gamma beta eps t")
u = sp.Symbol("unit_roundoff", positive=True)

#: LayerNorm's forward pass in array form: reductions along axis 1 only.
_MEAN = ReduceAxis(Z, 1, C) / C
_CENTRED = Z - _MEAN
_FORWARD = gamma * _CENTRED / sp.sqrt(ReduceAxis(_CENTRED**2, 1, C) / C + eps) + beta
#: A column sum (axis 0), as dL/dgamma is.
_COLUMN_SUM = ReduceAxis(G * Z * gamma, 0, N)


def _whole_and_blocked(
    function: CompiledFunction,
    values: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
    block: int = 16,
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    monkeypatch.setattr(compiler, "BLOCK_ELEMENTS", 1 << 40)
    whole = function(values)
    monkeypatch.setattr(compiler, "BLOCK_ELEMENTS", block)
    arrays = [np.asarray(values[name]) for name in function.arguments if name in values]
    assert compiler._blocks(arrays, function.reduced_axes) is not None, "not cut into blocks"
    blocked = function(values)
    return whole, blocked


@pytest.mark.parametrize("rows", [5, 64, 67])
def test_a_row_wise_program_and_its_bound_are_the_same_in_blocks(
    rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(rows)
    values = {
        "Z": 3.0 + rng.standard_normal((rows, 8)),
        "gamma": rng.standard_normal((1, 8)),
        "beta": rng.standard_normal(8),  # one axis fewer: broadcast along the rows
        "eps": 1e-5,
        "unit_roundoff": 2.0**-53,
    }
    value = compile_expressions((_FORWARD,))
    bound = error_bound_program(_FORWARD).compiled()
    assert value.reduced_axes == bound.reduced_axes == (1,)
    for function in (value, bound):
        (whole,), (blocked,) = _whole_and_blocked(function, values, monkeypatch)
        assert whole.shape == blocked.shape == (rows, 8)
        np.testing.assert_array_equal(blocked, whole)


def test_a_column_sum_is_cut_along_the_columns_it_does_not_sum(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    values = {"G": rng.standard_normal((40, 9)), "Z": rng.standard_normal((40, 9)),
              "gamma": rng.standard_normal((1, 9))}
    function = compile_expressions((_COLUMN_SUM, G * gamma))
    assert function.reduced_axes == (0,)
    monkeypatch.setattr(compiler, "_RUN", 1)  # columns cut however narrow (see below)
    monkeypatch.setattr(compiler, "BLOCK_ELEMENTS", 128)
    assert compiler._blocks(list(values.values()), function.reduced_axes)[0] == 1
    (whole_sum, whole_product), (sum_in_blocks, product_in_blocks) = _whole_and_blocked(
        function, values, monkeypatch, block=128
    )
    assert sum_in_blocks.shape == (1, 9)
    np.testing.assert_array_equal(sum_in_blocks, whole_sum)
    np.testing.assert_array_equal(product_in_blocks, whole_product)


def test_a_tall_arrays_column_sum_is_summed_in_blocks_of_rows_not_of_few_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Blocks of a few columns of a tall array read short strided runs (dL/dbeta's and
    # dL/dgamma's sums down 4096 rows, 4 columns a block): the sums down the rows are
    # accumulated over blocks of rows instead, and agree with the whole evaluation.
    rng = np.random.default_rng(3)
    values = {"G": rng.standard_normal((400, 12)), "Z": rng.standard_normal((400, 12)),
              "gamma": rng.standard_normal((1, 12))}
    function = compile_expressions((_COLUMN_SUM,))
    monkeypatch.setattr(compiler, "BLOCK_ELEMENTS", 1 << 40)
    (whole,) = function(values)
    monkeypatch.setattr(compiler, "BLOCK_ELEMENTS", 1024)  # 2 columns of 400 rows a block
    monkeypatch.setattr(compiler, "_RUN", 8)
    arrays = [np.asarray(values[name]) for name in function.arguments if name in values]
    assert compiler._blocks(arrays, function.reduced_axes) is None
    staged = compiler._staged_cut(function.source, arrays)
    assert staged is not None and staged[0].axis == 0
    (summed,) = function(values)
    np.testing.assert_allclose(summed, whole, rtol=1e-13, atol=0)
    monkeypatch.setattr(compiler, "_RUN", 2)  # two columns make a run long enough
    assert compiler._blocks(arrays, function.reduced_axes)[0] == 1


def test_a_result_that_does_not_vary_along_the_cut_keeps_its_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(2)
    values = {"Z": rng.standard_normal((50, 4)), "gamma": rng.standard_normal((1, 4)), "eps": 0.5}
    function = compile_expressions((Z * 2, gamma + eps, eps * 3))
    whole, blocked = _whole_and_blocked(function, values, monkeypatch)
    assert [a.shape for a in blocked] == [a.shape for a in whole] == [(50, 4), (1, 4), ()]
    for one, other in zip(whole, blocked):
        np.testing.assert_array_equal(one, other)


@pytest.mark.parametrize("shape", [(8, 8), (10, 4)])
def test_a_one_axis_row_keeps_its_shape_whatever_its_length(
    shape: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row given with one axis (``gamma`` of shape (C,)) is aligned with the arrays' last
    axis, as numpy aligns it, so it does not vary along a cut of the rows: even when its
    length equals the number of rows (8 x 8) or the rows of the first block (10 x 4 is cut
    into blocks of 4 rows), it must not be taken for a column."""
    rng = np.random.default_rng(3)
    values = {"Z": rng.standard_normal(shape), "gamma": rng.standard_normal(shape[1]), "eps": 0.5}
    function = compile_expressions((Z * 2, gamma + eps))
    whole, blocked = _whole_and_blocked(function, values, monkeypatch)
    assert [a.shape for a in blocked] == [a.shape for a in whole] == [shape, (shape[1],)]
    for one, other in zip(whole, blocked):
        np.testing.assert_array_equal(one, other)


def test_a_program_reducing_along_every_axis_is_not_cut_as_if_element_wise() -> None:
    both = compile_expressions((ReduceAxis(ReduceAxis(Z, 1, C), 0, N),))
    assert both.reduced_axes == (0, 1)
    assert compiler._blocks([np.ones((1000, 1000))], both.reduced_axes) is None


#: dL/dgamma's rounding bound: per-entry errors of Zhat recomputed from each row's statistics
#: (sums along axis 1), then summed down the rows (axis 0).
_ZHAT = (Z - ReduceAxis(Z, 1, C) / C) / sp.sqrt(ReduceAxis((Z - ReduceAxis(Z, 1, C) / C) ** 2, 1, C) / C + eps)
_GRAD_GAMMA = ReduceAxis(G * _ZHAT, 0, N)


@pytest.mark.parametrize("rows", [40, 67])
def test_sums_down_the_rows_of_row_statistics_are_accumulated_block_by_block(
    rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(rows)
    values = {"Z": 3.0 + rng.standard_normal((rows, 8)), "G": rng.standard_normal((rows, 8)),
              "eps": 1e-5, "unit_roundoff": 2.0**-53}
    for function in (
        compile_expressions((_GRAD_GAMMA, G * _ZHAT)),
        error_bound_program(_GRAD_GAMMA).compiled(),
    ):
        assert function.reduced_axes == (0, 1)
        monkeypatch.setattr(compiler, "BLOCK_ELEMENTS", 1 << 40)
        whole = function(values)
        monkeypatch.setattr(compiler, "BLOCK_ELEMENTS", 128)
        arrays = [np.asarray(values[name]) for name in function.arguments if name in values]
        staged = compiler._staged_cut(function.source, arrays)
        assert staged is not None and staged[0].axis == 0 and staged[1][2] < rows
        blocked = function(values)
        assert [a.shape for a in blocked] == [a.shape for a in whole]
        assert blocked[0].shape == (1, 8)
        for one, other in zip(whole, blocked):
            np.testing.assert_allclose(other, one, rtol=1e-13, atol=0)


def test_a_sum_whose_summand_needs_a_sum_along_the_same_axis_is_not_accumulated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Centred down the columns, then summed down them: a block's share of the outer sum needs
    # the whole column's mean. Likewise along the rows: the program can only run whole.
    columns = ReduceAxis((Z - ReduceAxis(Z, 0, N) / N) ** 2, 0, N)
    rows = ReduceAxis((Z - ReduceAxis(Z, 1, C) / C) ** 2, 1, C)
    function = compile_expressions((columns + rows,))
    monkeypatch.setattr(compiler, "BLOCK_ELEMENTS", 128)
    values = np.random.default_rng(3).standard_normal((50, 6))
    assert compiler._staged_cut(function.source, [values]) is None
    # Large enough to be cut, had its sums not needed sums of their own:
    row_sums = compile_expressions((ReduceAxis(rows, 0, N),))
    assert compiler._staged_cut(row_sums.source, [values]) is not None
    assert compiler._stages(function.source, 0) is None and compiler._stages(function.source, 1) is None
    (result,) = function({"Z": values})
    centred_rows = values - values.mean(axis=1, keepdims=True)
    centred_columns = values - values.mean(axis=0, keepdims=True)
    expected = (centred_columns**2).sum(axis=0, keepdims=True) + (centred_rows**2).sum(
        axis=1, keepdims=True)
    np.testing.assert_allclose(result, expected, rtol=1e-12)


def test_small_evaluations_are_not_cut() -> None:
    assert compiler._blocks([np.ones((4, 4))], ()) is None
    # A block must hold two entries along the cut, or a result's length would not tell
    # whether it varies there: a huge single row is cut along its columns instead.
    axis, length, step = compiler._blocks([np.ones((3, 4 * compiler.BLOCK_ELEMENTS))], ())
    assert (axis, length) == (1, 4 * compiler.BLOCK_ELEMENTS) and step >= 2


def test_the_reduced_axes_come_from_the_source_not_from_what_is_stored() -> None:
    program = compile_program([], [ReduceAxis(Z, 1, C) + sp.Symbol("x")])
    data = program.to_data()
    assert "reduced_axes" not in data
    assert CompiledFunction.from_data(data).reduced_axes == (1,)
    assert axes_reduced_along("def program(x):\n    return (numpy.cumsum(x, axis=2),)\n") == (2,)
    with pytest.raises(ValueError, match="not a number"):
        axes_reduced_along("def program(x, k):\n    return (ReduceAxis(x, k, 3),)\n")
