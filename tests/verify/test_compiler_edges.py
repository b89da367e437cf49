"""The compiler's small pieces at their edges: reductions along an axis, sums lowered to them,
definitions composed, sizes read from shapes, and the errors each refuses with.

(tests/verify/test_compiler.py compiles the specs; these pin the pieces on hand-made input.)
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import numpy as np
import pytest
import sympy as sp
from eqconform.verify.compiler import (
    ReduceAxis,
    _reduce_axis,
    reduced_sizes,
    compile_expressions,
    compile_program,
    compose,
    lower,
)

i, j = sp.symbols("i j", integer=True)
C, N = sp.symbols("C N", integer=True, positive=True)
X = sp.IndexedBase("X")
x, y, z = sp.symbols("x y z")


# --------------------------------------------------------------------------- _reduce_axis


def test_a_reduction_sums_along_its_axis_keeping_it() -> None:
    values = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(_reduce_axis(values, 1, 3), [[3.0], [12.0]])
    np.testing.assert_array_equal(_reduce_axis(values, 0, 2), [[3.0, 5.0, 7.0]])
    assert _reduce_axis(values, 1, 3).shape == (2, 1)


def test_a_summand_constant_along_the_axis_is_multiplied_by_the_size() -> None:
    row = np.array([[2.0], [3.0]])  # one entry along axis 1
    np.testing.assert_array_equal(_reduce_axis(row, 1, 4), [[8.0], [12.0]])
    np.testing.assert_array_equal(_reduce_axis(np.float64(2.5), 0, 3), 7.5)  # no axis at all
    np.testing.assert_array_equal(_reduce_axis(np.ones(3), 1, 5), np.full(3, 5.0))  # axis beyond ndim
    # A sum over no entries is zero.
    np.testing.assert_array_equal(_reduce_axis(row, 1, 0), [[0.0], [0.0]])
    # An axis of one entry summed over one entry is a plain sum (kept as it is).
    np.testing.assert_array_equal(_reduce_axis(row, 1, 1), row)


def test_a_reduction_over_the_wrong_count_is_refused() -> None:
    with pytest.raises(ValueError, match="a sum over 4 entries along axis 1 met an array with 3"):
        _reduce_axis(np.zeros((2, 3)), 1, 4)
    with pytest.raises(ValueError, match="a sum over 1 entries along axis 0 met an array with 2"):
        _reduce_axis(np.zeros((2, 3)), 0, 1)


# --------------------------------------------------------------------------- lower


def test_sums_become_reductions_and_indexed_symbols_arrays() -> None:
    lowered = lower(sp.Sum(X[i, j], (j, 0, C - 1)), {i: 0, j: 1})
    assert lowered == ReduceAxis(sp.Symbol("X"), sp.Integer(1), C)
    assert lower(X[i, j], {i: 0, j: 1}) == sp.Symbol("X")
    assert lower(X, {}) == sp.Symbol("X")
    assert lower(x + 1, {}) == x + 1


def test_a_sum_over_a_range_counts_its_entries() -> None:
    assert lower(sp.Sum(X[i], (i, 1, N)), {i: 0}) == ReduceAxis(sp.Symbol("X"), sp.Integer(0), N)
    assert lower(sp.Sum(X[i], (i, 2, 5)), {i: 0}).args[2] == 4


def test_a_double_sum_reduces_along_both_axes() -> None:
    lowered = lower(sp.Sum(X[i, j], (i, 0, N - 1), (j, 0, C - 1)), {i: 0, j: 1})
    assert lowered == ReduceAxis(ReduceAxis(sp.Symbol("X"), sp.Integer(1), C), sp.Integer(0), N)
    mean = compile_expressions((lowered,))
    assert mean(X=np.arange(6.0).reshape(2, 3))[0] == 15.0


def test_a_sum_nested_in_an_expression_is_lowered() -> None:
    lowered = lower(2 * sp.Sum(X[i, j], (j, 0, C - 1)) + 1, {i: 0, j: 1})
    (value,) = compile_expressions((lowered,))(X=np.ones((2, 3)))
    np.testing.assert_array_equal(value, [[7.0], [7.0]])


def test_a_sum_over_an_index_without_an_axis_is_refused() -> None:
    with pytest.raises(ValueError, match="the spec gives no axis for it"):
        lower(sp.Sum(X[i, j], (j, 0, C - 1)), {i: 0})


# --------------------------------------------------------------------------- compose


def test_definitions_are_substituted_until_none_is_left() -> None:
    definitions = {"y": 2 * z, "z": x + 1}
    assert compose(y * 3, definitions) == 6 * (x + 1)
    assert compose(x, definitions) == x
    assert compose(y, {"y": z, "z": x}) == x  # a chain as long as the definitions


def test_cyclic_definitions_are_refused() -> None:
    with pytest.raises(ValueError, match=r"cyclic definitions among \['y', 'z'\]"):
        compose(y, {"y": z + 1, "z": y})
    with pytest.raises(ValueError, match="cyclic"):
        compose(y, {"y": y + 1})


# --------------------------------------------------------------------------- compiled functions


def test_sizes_are_read_from_the_broadcast_shape() -> None:
    mean = compile_expressions((ReduceAxis(sp.Symbol("X"), sp.Integer(1), C) / C,))
    assert mean.sizes == {"C": 1}
    np.testing.assert_array_equal(mean(X=np.array([[1.0, 2.0, 6.0]]))[0], [[3.0]])
    # Given, a size is taken as given.
    np.testing.assert_array_equal(mean({"X": np.array([[1.0], [2.0]])}, C=4)[0], [[1.0], [2.0]])
    # An axis beyond the arrays' dimensions has one entry.
    np.testing.assert_array_equal(mean(X=np.array([5.0, 7.0]))[0], [5.0, 7.0])


def test_a_size_of_one_divides_to_infinity_not_an_error() -> None:
    unbiased = compile_expressions((ReduceAxis(sp.Symbol("X"), sp.Integer(1), C) / (C - 1),))
    (value,) = unbiased(X=np.array([[2.0]]))
    assert np.isinf(value).all() and value.dtype == np.float64


def test_missing_values_are_named() -> None:
    add = compile_expressions((x + y,))
    with pytest.raises(KeyError, match=r"missing values for \['y'\] \(needs \['x', 'y'\]\)"):
        add(x=1.0)
    assert add({"x": 1.0}, y=2.0) == (np.float64(3.0),)
    assert add({"x": 1.0, "y": 2.0, "unrelated": "ignored"})[0] == 3.0


def test_integers_stay_integers_and_the_rest_become_float64() -> None:
    power = compile_expressions((x**y,))
    assert power(x=np.float32(3.0), y=2)[0].dtype == np.float64
    assert power(x=2, y=np.int64(3))[0] == 8.0
    assert power(x=True, y=2)[0] == 1.0
    (big,) = compile_expressions((x * 0 + y,))(x=1, y=2**70)  # a Python int, not overflowing int64
    assert big == float(2**70)


def test_compiled_functions_are_cached_values() -> None:
    compiled = compile_expressions((x + 2,))
    assert compiled is compile_expressions([x + 2])
    with pytest.raises(FrozenInstanceError):
        compiled.arguments = ("y",)  # type: ignore[misc]


def test_reductions_over_part_of_an_axis_are_refused() -> None:
    with pytest.raises(ValueError, match="must span a whole axis, not C - 1 entries"):
        reduced_sizes([ReduceAxis(sp.Symbol("X"), sp.Integer(1), C - 1)])
    assert reduced_sizes([ReduceAxis(sp.Symbol("X"), sp.Integer(1), sp.Integer(3))]) == {}
    assert reduced_sizes([ReduceAxis(sp.Symbol("X"), sp.Integer(0), N), x]) == {"N": 0}


def test_a_program_runs_its_assignments_in_order() -> None:
    a, b = sp.symbols("a b")
    program = compile_program([(a, x + 1), (b, a * y)], [b - a, a])
    assert program.arguments == ("x", "y")
    assert program.source == "def program(x, y):\n    a = x + 1\n    b = a*y\n    return (-a + b, a,)"
    first, second = program(x=np.array([1.0, 2.0]), y=3.0)
    np.testing.assert_array_equal(first, [4.0, 6.0])
    np.testing.assert_array_equal(second, [2.0, 3.0])
    summed = compile_program([(a, ReduceAxis(sp.Symbol("X"), sp.Integer(1), C))], [a])
    assert summed.sizes == {"C": 1}
    np.testing.assert_array_equal(summed(X=np.ones((2, 3)))[0], [[3.0], [3.0]])


def test_only_a_product_over_one_index_up_to_the_quantitys_own_is_a_running_product() -> None:
    s, t, r = sp.symbols("s t r", integer=True, positive=True)
    beta = sp.IndexedBase("beta")
    axes = {s: 0, t: 0, r: 0}
    running = lower(sp.Product(1 - beta[s], (s, 1, t)), axes)
    assert running.func.__name__ == "CumProdAxis"
    # Two limits, or a start other than 1: not a running product, left for the compiler to refuse.
    for product in (
        sp.Product(1 - beta[s], (s, 1, t), (r, 1, t)),
        sp.Product(1 - beta[s], (s, 2, t)),
    ):
        assert isinstance(lower(product, axes), sp.Product)
