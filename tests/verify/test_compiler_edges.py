"""The compiler's small pieces at their edges: reductions along an axis, sums lowered to them,
definitions composed, sizes read from shapes, and the errors each refuses with.

(tests/verify/test_compiler.py compiles the specs; these pin the pieces on hand-made input.)
"""

from __future__ import annotations

import ast
from dataclasses import FrozenInstanceError

import numpy as np
import pytest
import sympy as sp

from eqconform.verify import compiler
from eqconform.verify.compiler import (
    _ARRAY_FUNCTIONS,
    CompiledFunction,
    ReduceAxis,
    _numeric,
    _reduce_axis,
    checked_program,
    compile_expressions,
    compile_program,
    compose,
    lower,
    reduced_sizes,
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
    np.testing.assert_array_equal(
        _reduce_axis(np.ones(3), 1, 5), np.full(3, 5.0)
    )  # axis beyond ndim
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
    assert (
        program.source == "def program(x, y):\n    a = x + 1\n    b = a*y\n    return (-a + b, a,)"
    )
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
        sp.Product(1 - beta[s], (s, 0, t)),
    ):
        assert isinstance(lower(product, axes), sp.Product)


# --------------------------------------------------------------------------- checked_program


def _refused(source: str, arguments: list[str]) -> None:
    with pytest.raises(ValueError):
        checked_program(source, arguments)
    with pytest.raises(ValueError):
        CompiledFunction.from_data({"arguments": arguments, "sizes": {}, "source": source})


@pytest.mark.parametrize(
    "source",
    [
        # Evaluated when the function is defined (a default, an annotation), or never a program.
        "def program(x=print):\n    return (x,)",
        "def program(x=numpy.nan):\n    return (x,)",
        "@abs\ndef program(x):\n    return (x,)",
        "@numpy.vectorize\ndef program(x):\n    return (x,)",
        "def program(x, *rest):\n    return (x,)",
        "def program(x, **more):\n    return (x,)",
        "def program(x, *, y):\n    return (x,)",
        "def program(w, /, x):\n    return (x,)",
        "def program(x: print('annotation')):\n    return (x,)",
        "def program(x) -> print('annotation'):\n    return (x,)",
        # Another name (from_data would find no `program`), or a second definition.
        "def other(x):\n    return (x,)",
        "def programme(x):\n    return (x,)",
        "def a(x):\n    return (x,)",
        "def program(x):\n    return (x,)\ndef program(x):\n    return (x,)",
        "class program:\n    pass",
        # No return at the end, a return before the end, a bare return.
        "def program(x):\n    y = x",
        "def program(x):\n    return (x,)\n    y = x",
        "def program(x):\n    return",
        "def program(x):\n    x\n    return (x,)",
        # Assignments to anything but one name.
        "def program(x):\n    y = z = x\n    return (y,)",
        "def program(x):\n    y, z = x, x\n    return (y,)",
        "def program(x):\n    y += x\n    return (x,)",
        "def program(x):\n    y: float = x\n    return (y,)",
        # A name used before it is assigned, or never the program's.
        "def program(x):\n    y = z\n    z = x\n    return (y,)",
        "def program(x):\n    return (y,)",
        "def program(x):\n    return (print,)",
        "def program(x):\n    return (eval('x'),)",
        # Built-ins named before and after "numpy", called without a string.
        "def program(x):\n    return (globals(),)",
        "def program(x):\n    return (__import__,)",
        "def program(x):\n    return (getattr(x, x),)",
        "def program(x):\n    return (exec,)",
        "def program(x):\n    return (breakpoint(),)",
        "def program(x):\n    return (compile,)",
        "def program(x):\n    return (vars(),)",
        "def program(x):\n    return (numpy_like,)",
        # Numeric names, but of something other than numpy.
        "def program(x):\n    return (x.sum(),)",
        "def program(x):\n    return (x.exp,)",
        "def program(x):\n    return (abs.pi,)",
        "def program(x):\n    return (ReduceAxis.sqrt,)",
        # Attributes of anything but numpy, private or not numeric ones of numpy.
        "def program(x):\n    return (x.T,)",
        "def program(x):\n    return (ReduceAxis.__call__,)",
        "def program(x):\n    return (numpy.sum.__globals__,)",
        "def program(x):\n    return (numpy._core,)",
        "def program(x):\n    return (numpy.lib,)",
        "def program(x):\n    return (numpy.fromfile('data'),)",
        "def program(x):\n    return (numpy.frompyfunc(print, 1, 1)(x),)",
        "def program(x):\n    return (numpy.vectorize(print)(x),)",
        "def program(x):\n    return (numpy.ndarray,)",
        "def program(x):\n    return (numpy.dtype,)",
        "def program(x):\n    return (numpy.ctypeslib,)",
        "def program(x):\n    return (numpy.nonexistent,)",
        # Constants that are not numbers, and nodes no printer writes.
        "def program(x):\n    return (b'x',)",
        "def program(x):\n    return (...,)",
        "def program(x):\n    return (f'{x}',)",
        "def program(x):\n    return ({x: x},)",
        "def program(x):\n    return ({x},)",
        "def program(x):\n    return (sum(t for t in x),)",
        "def program(x):\n    return ((y := x),)",
        "def program(x):\n    return ((yield x),)",
        "def program(x):\n    return (*x,)",
        "def program(x):\n    return (x,)\n\nprint(1)",
    ],
)
def test_a_forged_program_is_refused(source: str) -> None:
    _refused(source, ["x"])


@pytest.mark.parametrize(
    "source",
    [
        "def program(x):\n    return (x,",
        "def program(x) return (x,)",
        "\tdef",
        "def program(x):\n\0",
    ],
)
def test_a_source_that_does_not_parse_is_refused_as_no_program(source: str) -> None:
    with pytest.raises(ValueError, match="not a program|null bytes"):
        checked_program(source, ["x"])
    with pytest.raises(ValueError):
        CompiledFunction.from_data({"arguments": ["x"], "sizes": {}, "source": source})


def test_a_program_with_no_arguments_or_another_list_is_refused() -> None:
    _refused("def program(x):\n    return (x,)", [])
    _refused("def program(x):\n    return (x,)", ["x", "y"])
    _refused("def program(x, y):\n    return (x,)", ["y", "x"])
    checked_program("def program():\n    return (1.0,)", [])


@pytest.mark.parametrize(
    "expression",
    [
        "x + 1",
        "-x ** 2.5 * 1j",
        "abs(x) / float(2)",
        "numpy.sqrt(x) + numpy.exp(x) - numpy.log1p(x)",
        "numpy.pi * numpy.e + numpy.inf + numpy.nan + numpy.float64(1) + numpy.int64(2)",
        "numpy.select([x > 0, True], [x, 0], default=numpy.nan)",
        "numpy.where(x < 0, 1, 0) if True else None",
        "(x < 1) & (x > 0) | ~(x == 0)",
        "x > 0 and x < 1 or not x",
        "numpy.sum(x, axis=0) + numpy.prod(x) + numpy.cumprod(x, axis=0) + numpy.cumsum(x)",
        "numpy.ones_like(numpy.asarray(x, dtype=float)) + numpy.array([x, x])",
        "numpy.amax((x, x), axis=0) - numpy.amin((x, x), axis=0)",
        "numpy.transpose(x)[0:1, ::2]",
        "ReduceAxis(x, 1, 3)",
    ],
)
def test_what_the_printers_write_is_accepted(expression: str) -> None:
    source = f"def program(x):\n    y = {expression}\n    return (y, x)"
    tree = checked_program(source, ["x"])
    assert isinstance(tree.body[0], ast.FunctionDef)


@pytest.mark.parametrize("name", sorted(_ARRAY_FUNCTIONS))
def test_each_array_function_is_numeric_and_others_are_not(name: str) -> None:
    assert _numeric(name)
    checked_program(f"def program(x):\n    return (numpy.{name},)", ["x"])


def test_numeric_names_are_ufuncs_numbers_and_number_types_only() -> None:
    for name in (
        "sqrt",
        "add",
        "pi",
        "e",
        "inf",
        "nan",
        "float64",
        "int8",
        "complex128",
        "floating",
    ):
        assert _numeric(name), name
    for name in (
        "load",
        "save",
        "fromfile",
        "frombuffer",
        "vectorize",
        "frompyfunc",
        "ndarray",
        "dtype",
        "lib",
        "ctypeslib",
        "testing",
        "bool_",
        "str_",
        "object_",
        "void",
        "generic",
        "nonexistent",
        "newaxis",
        "einsum",
        "apply_along_axis",
    ):
        assert not _numeric(name), name


# --------------------------------------------------------------------------- blocks

BLOCK = compiler.BLOCK_ELEMENTS
RUN = compiler._RUN
Z, G, gamma = sp.symbols("Z G gamma")


def _ones(*shape: int) -> np.ndarray:
    return np.ones(shape)


def test_the_block_size_and_the_shortest_run() -> None:
    assert BLOCK == 1 << 14 and RUN == 256


@pytest.mark.parametrize(
    ("shapes", "reduced", "cut"),
    [
        # Below twice the block size, or every array smaller than a block: whole.
        ([(2 * BLOCK - 1,)], (), None),
        ([(BLOCK - 1, 1), (1, 4)], (), None),
        # The largest array exactly a block, broadcast to four: cut.
        ([(BLOCK, 1), (1, 4)], (), (0, BLOCK, BLOCK // 4)),
        ([(2 * BLOCK,)], (), (0, 2 * BLOCK, BLOCK)),
        ([(2 * BLOCK + 3,)], (), (0, 2 * BLOCK + 3, BLOCK)),
        # Four entries along an axis are enough, three are not; two to a block are enough.
        ([(4, BLOCK // 2)], (), (0, 4, 2)),
        ([(3, BLOCK)], (), (1, BLOCK, BLOCK // 3)),
        # One entry to a block is not: the next axis is cut.
        ([(8, BLOCK // 2 + 1)], (), (1, BLOCK // 2 + 1, BLOCK // 8)),
        # Not along a reduced axis.
        ([(2 * BLOCK,)], (0,), None),
        ([(64, 1024)], (1,), (0, 64, BLOCK // 1024)),
        # Along a later axis, each leading index must give a run of at least _RUN entries.
        ([(64, 1024)], (0,), (1, 1024, RUN)),
        ([(65, 1024)], (0,), None),
        ([(64, 64, 8)], (0,), (1, 64, 32)),
        ([(128, 32, 8)], (0,), None),
        ([(8, 8, 4096)], (0, 1), (2, 4096, RUN)),
        ([(9, 8, 4096)], (0, 1), None),
        ([(1, 1, 4 * BLOCK)], (), (2, 4 * BLOCK, BLOCK)),
    ],
)
def test_where_an_evaluation_is_cut(shapes, reduced, cut) -> None:
    assert compiler._blocks([_ones(*shape) for shape in shapes], reduced) == cut


def test_an_evaluation_of_no_entries_is_not_cut() -> None:
    arrays = [_ones(1, 3 * BLOCK), _ones(0, 1)]
    assert compiler._blocks(arrays, ()) is None
    assert compiler._blocks(arrays, (1,)) is None
    assert (
        compiler._staged_cut("def program(X, Y):\n    return (ReduceAxis(X*Y, 1, 3),)", arrays)
        is None
    )
    total = compile_expressions((ReduceAxis(sp.Symbol("X") * sp.Symbol("Y"), 1, C),))
    (value,) = total(X=arrays[0], Y=arrays[1])
    assert value.shape == (0, 1)


def _compare(function: CompiledFunction, values: dict[str, np.ndarray], exact: bool = True) -> None:
    blocked = function(values)
    saved = compiler.BLOCK_ELEMENTS
    compiler.BLOCK_ELEMENTS = 1 << 60
    try:
        whole = function(values)
    finally:
        compiler.BLOCK_ELEMENTS = saved
    assert [a.shape for a in blocked] == [a.shape for a in whole]
    for one, other in zip(blocked, whole, strict=True):
        if exact:
            np.testing.assert_array_equal(one, other)
        else:
            np.testing.assert_allclose(one, other, rtol=1e-12, atol=0)


_ELEMENTWISE = compile_expressions((Z * G + gamma, gamma * 2, G - 1))
_ROWS = compile_expressions((Z - ReduceAxis(Z * G, 1, C) / C + gamma,))


@pytest.mark.parametrize(
    ("z", "g", "row"),
    [
        ((2 * BLOCK - 1,), (2 * BLOCK - 1,), (1,)),
        ((2 * BLOCK + 5,), (2 * BLOCK + 5,), (1,)),
        ((4, BLOCK // 2), (4, 1), (1, BLOCK // 2)),
        ((5, BLOCK // 2 + 3), (1, BLOCK // 2 + 3), (1, BLOCK // 2 + 3)),
        ((8, BLOCK // 2 + 1), (8, BLOCK // 2 + 1), (1, 1)),
        ((3, 2, 3 * BLOCK + 7), (1, 2, 1), (3 * BLOCK + 7,)),
        ((2 * BLOCK + 1, 2), (2 * BLOCK + 1, 2), (2,)),
        ((BLOCK, 1), (1, 4), (4,)),
    ],
)
def test_an_element_wise_program_in_blocks_is_the_whole_evaluation(z, g, row) -> None:
    rng = np.random.default_rng(len(z) + z[-1])
    values = {
        "Z": rng.standard_normal(z),
        "G": rng.standard_normal(g),
        "gamma": rng.standard_normal(row),
    }
    _compare(_ELEMENTWISE, values)


def _layer_values(shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Random Z and G of ``shape`` and a row of gamma, seeded by the shape."""
    rng = np.random.default_rng(shape[0])
    return {
        "Z": rng.standard_normal(shape),
        "G": rng.standard_normal(shape),
        "gamma": rng.standard_normal((1, shape[1])),
    }


@pytest.mark.parametrize(
    "shape", [(4, 2 * BLOCK), (2 * BLOCK // 8 + 1, 8), (4097, 8), (2, 2 * BLOCK)]
)
def test_a_row_wise_program_in_blocks_is_the_whole_evaluation(shape) -> None:
    # (4, 2 * BLOCK) is summed along the rows in stages
    _compare(_ROWS, _layer_values(shape), exact=False)


_COLUMNS = compile_expressions((ReduceAxis(Z * G, 0, N) + gamma, Z * gamma))


@pytest.mark.parametrize(
    "shape", [(64, 1024), (65, 1024), (4096, 8), (4095, 8), (16, 2048), (300, 300)]
)
def test_a_column_program_in_blocks_is_the_whole_evaluation(shape) -> None:
    _compare(_COLUMNS, _layer_values(shape), exact=False)


def test_a_result_of_fewer_axes_varying_along_the_cut_is_put_together_whole() -> None:
    # Cut along the last axis, where a row given as a 1-D array varies too: its result (one
    # axis where the arrays have three) is every block's, not the first block's alone.
    rng = np.random.default_rng(5)
    values = {
        "Z": rng.standard_normal((3, 2, 3 * BLOCK + 7)),
        "G": rng.standard_normal((1, 2, 1)),
        "gamma": rng.standard_normal(3 * BLOCK + 7),
    }
    assert compiler._blocks(list(values.values()), ())[0] == 2
    _, doubled, _ = _ELEMENTWISE(values)
    np.testing.assert_array_equal(doubled, 2 * values["gamma"])
    # Cut along the columns a column sum does not sum: a 1-D row of gamma alone.
    rows = {
        "Z": rng.standard_normal((64, 1024)),
        "G": rng.standard_normal((64, 1024)),
        "gamma": rng.standard_normal(1024),
    }
    assert compiler._blocks(list(rows.values()), (0,))[0] == 1
    both = compile_expressions((ReduceAxis(Z * G, 0, N), gamma * 3))
    total, tripled = both(rows)
    np.testing.assert_array_equal(tripled, 3 * rows["gamma"])
    np.testing.assert_allclose(
        total, (rows["Z"] * rows["G"]).sum(axis=0, keepdims=True), rtol=1e-12
    )


@pytest.mark.parametrize("rows", [5, 4096, 4097])
def test_a_sum_over_another_count_than_the_axis_has_is_refused_in_stages_too(rows: int) -> None:
    # Whole, a sum over a fixed range (or a size given wrongly) meets an array of another
    # length and is refused; in stages, each block's share must not sum the whole axis instead.
    x = np.ones((rows, 1024))
    fixed = compile_expressions((ReduceAxis(sp.Symbol("X"), 0, 4),))
    sized = compile_expressions((ReduceAxis(sp.Symbol("X"), 0, N),))
    with pytest.raises(
        ValueError, match=f"a sum over 4 entries along axis 0 met an array with {rows}"
    ):
        fixed(X=x)
    with pytest.raises(
        ValueError, match=f"a sum over 3 entries along axis 0 met an array with {rows}"
    ):
        sized(X=x, N=3)
    np.testing.assert_array_equal(sized(X=x)[0], np.full((1, 1024), float(rows)))
    np.testing.assert_array_equal(sized(X=x, N=rows)[0], np.full((1, 1024), float(rows)))
    # A summand constant along the axis is scaled by the count given, as whole.
    scaled = compile_expressions((ReduceAxis(gamma, 0, N) + sp.Symbol("X"),))
    row = np.arange(1024.0).reshape(1, 1024)
    np.testing.assert_array_equal(
        scaled(X=x, gamma=row, N=3)[0], np.broadcast_to(3 * row + 1, x.shape)
    )
    np.testing.assert_array_equal(
        scaled(X=x, gamma=row)[0], np.broadcast_to(rows * row + 1, x.shape)
    )


# --------------------------------------------------------------------------- stages

_COLUMN_SUM = "def program(X):\n    return (ReduceAxis(X, 0, N),)"


@pytest.mark.parametrize(
    ("source", "shape", "cut"),
    [
        # At least twice a block of entries, in blocks of a block.
        ("def program(X, N):\n    return (ReduceAxis(X, 0, N),)", (4096, 8), (0, 4096, 2048)),
        ("def program(X, N):\n    return (ReduceAxis(X, 0, N),)", (4095, 8), None),
        ("def program(X, N):\n    return (ReduceAxis(X, 0, N),)", (16, 2048), (0, 16, 8)),
        ("def program(X, N):\n    return (ReduceAxis(X, 0, N),)", (15, 16384), None),
        # Along the first axis a split and two to a block allow.
        (
            "def program(X, N, C):\n    return (ReduceAxis(ReduceAxis(X, 1, C), 0, N),)",
            (8, 16384),
            (1, 16384, 2048),
        ),
        (
            "def program(X, N, C):\n    return (ReduceAxis(ReduceAxis(X, 1, C), 0, N),)",
            (64, 512),
            (0, 64, 32),
        ),
        # Nothing summed along the axis, or only running sums: no stages.
        ("def program(X, C):\n    return (ReduceAxis(X, 1, C),)", (16384, 2), None),
        (
            "def program(X, N):\n    return (numpy.cumsum(ReduceAxis(X, 0, N), axis=1),)",
            (4096, 8),
            None,
        ),
    ],
)
def test_where_an_evaluation_is_cut_in_stages(source: str, shape, cut) -> None:
    found = compiler._staged_cut(source, [_ones(*shape)])
    assert (found and found[1]) == cut
    if found:
        assert found[0].axis == cut[0]


def test_no_source_is_not_split() -> None:
    assert compiler._staged_cut("", [_ones(4096, 8)]) is None


def test_a_program_running_along_an_axis_otherwise_than_by_sums_is_not_split() -> None:
    for call in ("numpy.cumsum(X, axis=1)", "numpy.transpose(X)", "numpy.amax((X, X), axis=0)"):
        source = f"def program(X, N):\n    y = {call}\n    return (ReduceAxis(X, 0, N), y)"
        assert compiler._other_reductions(ast.parse(source)), call
        assert compiler._stages(source, 0) is None, call
    for call in ("numpy.asarray(X, dtype=float)", "numpy.asarray(a=X)", "abs(X)", "X[0:1]"):
        source = f"def program(X, N):\n    y = {call}\n    return (ReduceAxis(y, 0, N), y)"
        assert not compiler._other_reductions(ast.parse(source)), call
        assert compiler._stages(source, 0) is not None, call


def test_a_split_program_computes_each_blocks_shares_and_the_rest() -> None:
    source = (
        "def program(X, Y, N, C):\n"
        "    a = X*Y\n"
        "    unused = X + 1\n"
        "    b = ReduceAxis(a, 0, N)\n"
        "    c = ReduceAxis(Y, 0, N)\n"
        "    d = ReduceAxis(X, 1, C)\n"
        "    return (b/c + d, a)"
    )
    stages = compiler._stages(source, 0)
    assert stages is not None and stages.axis == 0 and stages.rest_reduced_axes == (1,)
    x, y = np.arange(1.0, 7.0).reshape(3, 2), np.arange(2.0, 8.0).reshape(3, 2)
    shares, counts = stages.partials(x[:2], y[:2], 3.0, 2.0, 2)
    np.testing.assert_array_equal(shares[0], (x[:2] * y[:2]).sum(axis=0, keepdims=True))
    np.testing.assert_array_equal(shares[1], y[:2].sum(axis=0, keepdims=True))
    assert len(shares) == 2 and list(counts) == [3.0, 3.0]
    total, product = stages.rest(x, y, 3.0, 2.0, np.array([[10.0, 20.0]]), np.array([[5.0, 4.0]]))
    np.testing.assert_array_equal(total, np.array([[2.0, 5.0]]) + x.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(product, x * y)
    # Arguments named as the split's own: not split.
    assert compiler._stages(source.replace("Y", "_length"), 0) is None
    assert compiler._stages(source.replace("Y", "_sum1"), 0) is None
    assert compiler._stages(source.replace("Y", "_sum2"), 0) is not None
    # Nothing summed along axis 2, and the sum along axis 1 needs one along it.
    assert compiler._stages(source, 2) is None
    assert (
        compiler._stages(
            source.replace("ReduceAxis(X, 1, C)", "ReduceAxis(X*ReduceAxis(X, 1, C), 1, C)"), 1
        )
        is None
    )


def test_a_split_keeps_only_the_statements_its_return_needs() -> None:
    body = ast.parse("a = x\nunused = x + 1\nb = a * 2\nlate = b\nreturn (b,)").body
    kept = compiler._live(body)
    assert [ast.unparse(statement) for statement in kept] == ["a = x", "b = a * 2", "return (b,)"]


def test_only_sums_along_the_axis_count() -> None:
    call = ast.parse("ReduceAxis(x, 1, 3)").body[0].value
    assert compiler._reduces_along(call, 1) and not compiler._reduces_along(call, 0)
    # An axis as numbers are compared, beyond the small integers Python keeps one object of.
    far = ast.parse("ReduceAxis(x, 1000, 3)").body[0].value
    assert compiler._reduces_along(far, int("1000")) and not compiler._reduces_along(far, 999)
    for text in (
        "ReduceAxis(x, True, 3)",
        "ReduceAxis(x, 1)",
        "ReduceAxis(x, 1.0, 3)",
        "Reduce(x, 1, 3)",
        "numpy.ReduceAxis(x, 1, 3)",
        "ReduceAxis(x, k, 3)",
    ):
        assert not compiler._reduces_along(ast.parse(text).body[0].value, 1), text


# --------------------------------------------------------------------------- the rest


def test_a_product_up_to_an_index_along_another_axis_is_not_a_running_product() -> None:
    s, t = sp.symbols("s t", integer=True, positive=True)
    x_ = sp.IndexedBase("x")
    for axes in ({s: 0, t: 1}, {s: 1, t: 0}, {s: 0}, {t: 0}):
        assert isinstance(lower(sp.Product(x_[s], (s, 1, t)), axes), sp.Product), axes
    assert not isinstance(lower(sp.Product(x_[s], (s, 1, t)), {s: 1, t: 1}), sp.Product)
    # The same axis given by two equal numbers, not one object (NumPy's, or past the small ones).
    for one, other in ((np.int64(1), np.int64(1)), (int("300"), int("300"))):
        running = lower(sp.Product(x_[s], (s, 1, t)), {s: one, t: other})
        assert not isinstance(running, sp.Product), (one, other)


def test_a_transpose_reduces_along_every_axis_numpy_has() -> None:
    assert compiler._MAX_AXES == 64
    axes = compiler.axes_reduced_along("def program(x):\n    return (numpy.transpose(x),)")
    assert axes == tuple(range(64))
    x = np.arange(4.0 * BLOCK).reshape(4, BLOCK)
    (value,) = compile_expressions((compiler.Transposed(sp.Symbol("x")) + 1,))(x=x)
    np.testing.assert_array_equal(value, np.transpose(x) + 1)


def test_only_calls_of_reduce_axis_with_its_three_arguments_count_as_reductions() -> None:
    # As for the stages (_reduces_along): a call of another arity is no reduction (it raises
    # TypeError when run).
    for call in (
        "ReduceAxis(x, 1, 3, 4)",
        "ReduceAxis(x, 1)",
        "ReduceAxis(x, k, 3, 4)",
        "numpy.sum(x)",
        "numpy.where(x > 0, x, 0)",
        "abs(x, 1, 3)",
        "float(x, k, 3)",
        "Reduce(x, 1, 3)",
        "numpy.amax((x, k))",
        "numpy.zeros_like",
    ):
        assert compiler.axes_reduced_along(f"def program(x, k):\n    return ({call},)") == (), call
    assert compiler.axes_reduced_along("def program(x):\n    return (ReduceAxis(x, 2, 3),)") == (2,)


@pytest.mark.parametrize(
    "data",
    [
        {"arguments": "x", "sizes": {}, "source": "def program(x):\n    return (x,)"},
        {"arguments": [1], "sizes": {}, "source": "def program(x):\n    return (x,)"},
        {"arguments": ["x"], "sizes": [], "source": "def program(x):\n    return (x,)"},
        {"arguments": ["x"], "sizes": [("C", 1)], "source": "def program(x):\n    return (x,)"},
        {"arguments": ["x"], "sizes": None, "source": "def program(x):\n    return (x,)"},
        {"arguments": ["x"], "sizes": {"C": 1.0}, "source": "def program(x):\n    return (x,)"},
        {"arguments": ["x"], "sizes": {"C": True}, "source": "def program(x):\n    return (x,)"},
        {"arguments": ["x"], "sizes": {1: 1}, "source": "def program(x):\n    return (x,)"},
        {"arguments": ["x"], "sizes": {}, "source": b"def program(x):\n    return (x,)"},
        {"arguments": ["x"], "sizes": {}},
        {"sizes": {}, "source": "def program(x):\n    return (x,)"},
        {},
    ],
)
def test_stored_data_that_is_not_a_program_is_refused(data) -> None:
    with pytest.raises(ValueError, match="not a stored program"):
        CompiledFunction.from_data(data)


def test_stored_data_of_a_program_is_rebuilt() -> None:
    data = {
        "arguments": ["x", "C"],
        "sizes": {"C": 1},
        "source": "def program(x, C):\n    return (ReduceAxis(x, 1, C)/C,)",
    }
    rebuilt = CompiledFunction.from_data(data)
    assert (
        rebuilt.arguments == ("x", "C")
        and rebuilt.sizes == {"C": 1}
        and rebuilt.reduced_axes == (1,)
    )
    np.testing.assert_array_equal(rebuilt(x=np.array([[1.0, 3.0]]))[0], [[2.0]])
    assert rebuilt.to_data() == data


def test_a_split_needs_one_array_of_twice_a_block() -> None:
    # Broadcast to twice a block, from arrays each smaller: not split (as not cut).
    source = "def program(X, Y, N):\n    return (ReduceAxis(X*Y, 0, N),)"
    assert compiler._staged_cut(source, [_ones(4096, 1), _ones(1, 8)]) is None
    assert compiler._staged_cut(source, [_ones(BLOCK, 1), _ones(1, 2)]) is None
    assert compiler._staged_cut(source, [_ones(2 * BLOCK - 1, 1), _ones(1, 2)]) is None
    assert compiler._staged_cut(source, [_ones(2 * BLOCK, 1), _ones(1, 2)]) is not None
    assert compiler._staged_cut(source, [_ones(4096, 8), _ones(1, 8)]) is not None
    assert compiler._staged_cut(source, [_ones(4096, 8), 2.0, np.float64(3.0)]) is not None


def test_only_an_axis_keyword_is_an_axis() -> None:
    for call in ("numpy.asarray(a=x)", "numpy.asarray(x, dtype=float)", "numpy.cumsum(x)"):
        assert compiler.axes_reduced_along(f"def program(x):\n    return ({call},)") == (), call
    assert compiler.axes_reduced_along(
        "def program(x):\n    return (numpy.cumsum(x, dtype=float, axis=3),)"
    ) == (3,)
    for call in (
        "numpy.cumsum(x, axis=x)",
        "numpy.cumsum(x, axis=1.0)",
        "numpy.cumsum(x, axis=True)",
    ):
        with pytest.raises(ValueError, match="an axis that is not a number"):
            compiler.axes_reduced_along(f"def program(x):\n    return ({call},)")


def test_a_split_is_looked_for_only_when_a_reducing_program_is_not_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("looked for a split needlessly")

    monkeypatch.setattr(compiler, "_staged_cut", refuse)
    values = {"Z": _ones(64, 1024), "G": _ones(64, 1024), "gamma": _ones(1, 1024)}
    _ELEMENTWISE(values)  # no reduction
    _ROWS(values)  # cut along the rows
    _ELEMENTWISE({"Z": _ones(5, 2), "G": _ones(5, 2), "gamma": _ones(5, 2)})


def test_a_reduction_meeting_no_entries_or_no_such_axis() -> None:
    # No entries along the axis, where a sum over 4 is asked: refused, not scaled.
    with pytest.raises(ValueError, match="a sum over 4 entries along axis 1 met an array with 0"):
        _reduce_axis(np.zeros((2, 0)), 1, 4)
    np.testing.assert_array_equal(_reduce_axis(np.zeros((2, 0)), 1, 0), np.zeros((2, 1)))
    # A scalar, or an array of fewer axes, does not vary along the axis: scaled.
    assert _reduce_axis(2.5, 1, 3) == 7.5
    np.testing.assert_array_equal(_reduce_axis(np.ones((2, 1)), 1, 2), [[2.0], [2.0]])
    assert _reduce_axis(2.5, 2, 3) == 7.5
    np.testing.assert_array_equal(_reduce_axis(np.ones(3), 2, 5), np.full(3, 5.0))


def test_a_size_along_an_axis_the_arrays_lack_is_one() -> None:
    total = compile_expressions((ReduceAxis(sp.Symbol("X"), 1, C),))
    np.testing.assert_array_equal(total(X=np.array([5.0, 7.0]))[0], [5.0, 7.0])
    np.testing.assert_array_equal(total(X=np.float64(5.0))[0], 5.0)
    np.testing.assert_array_equal(total(X=np.array([[5.0, 7.0]]))[0], [[12.0]])
    np.testing.assert_array_equal(total(X=np.array([5.0, 7.0]), C=3)[0], [15.0, 21.0])


def test_stages_run_block_by_block_and_give_up_on_another_count() -> None:
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4096, 8))
    for source, sizes, expected in (
        (
            "def program(X, N):\n    return (ReduceAxis(X, 0, N)/N, X*2)",
            (4096.0,),
            (x.mean(axis=0, keepdims=True), 2 * x),
        ),
        (
            "def program(X):\n    return (ReduceAxis(X, 0, 4096),)",
            (),
            (x.sum(axis=0, keepdims=True),),
        ),
    ):
        stages, cut = compiler._staged_cut(source, [x])
        assert cut == (0, 4096, 2048)
        results = compiler._blockwise_staged(stages, cut, [x, *sizes])
        assert results is not None
        for result, want in zip(results, expected, strict=True):
            np.testing.assert_allclose(result, want, rtol=1e-12, atol=1e-15)
    stages, cut = compiler._staged_cut("def program(X, N):\n    return (ReduceAxis(X, 0, N),)", [x])
    assert compiler._blockwise_staged(stages, cut, [x, 4095.0]) is None
    assert compiler._blockwise_staged(stages, cut, [x, 4096]) is not None
    stages, cut = compiler._staged_cut("def program(X):\n    return (ReduceAxis(X, 0, 4097),)", [x])
    assert compiler._blockwise_staged(stages, cut, [x]) is None
    # One sum of the right count, one of another: given up all the same.
    two = "def program(X, N):\n    return (ReduceAxis(X, 0, N) + ReduceAxis(X*X, 0, 4),)"
    stages, cut = compiler._staged_cut(two, [x])
    assert compiler._blockwise_staged(stages, cut, [x, 4096.0]) is None


def test_a_long_program_is_accepted_and_runs() -> None:
    # Hundreds of statements (a bound's common subexpressions), past the small integers Python
    # keeps one object of: the last statement is still found to be the last.
    lines = ["def program(x):", "    a0 = x + 1"]
    lines += [f"    a{k} = a{k - 1}*2 - x" for k in range(1, 400)]
    lines.append("    return (a399,)")
    source = "\n".join(lines)
    checked_program(source, ["x"])
    rebuilt = CompiledFunction.from_data({"arguments": ["x"], "sizes": {}, "source": source})
    assert rebuilt(x=np.array([0.0, 1.0]))[0].tolist() == [2.0**399, 2.0**399 + 1]


def test_integers_are_computed_exactly_and_booleans_as_floats() -> None:
    # (y + 1)**2 - y**2 at y = 2**40 is 2**41 + 1 in integers; in float64 the 1 is lost.
    (exact,) = compile_expressions(((y + 1) ** 2 - y**2,))(y=2**40)
    assert exact == 2**41 + 1
    (exact,) = compile_expressions(((y + 1) ** 2 - y**2,))(y=np.int64(2**40))
    assert exact == 2**41 + 1
    # A boolean is a float: True / False is an infinity, not a ZeroDivisionError.
    (ratio,) = compile_expressions((x / y,))(x=True, y=False)
    assert ratio == np.inf and ratio.dtype == np.float64


def test_results_that_do_not_vary_along_the_cut_are_the_first_blocks() -> None:
    # Cut along the first of three axes: a row (two axes) and a scalar do not vary along it.
    rng = np.random.default_rng(7)
    values = {
        "Z": rng.standard_normal((4096, 2, 8)),
        "G": rng.standard_normal((1, 1, 8)),
        "gamma": rng.standard_normal((1, 8)),
    }
    function = compile_expressions((Z * gamma, gamma * 2, G * 3, sp.Symbol("eps") * 4))
    assert compiler._blocks(list(values.values()), ()) == (0, 4096, 1024)
    product, doubled, tripled, scalar = function({**values, "eps": 0.5})
    np.testing.assert_array_equal(product, values["Z"] * values["gamma"])
    np.testing.assert_array_equal(doubled, values["gamma"] * 2)
    np.testing.assert_array_equal(tripled, values["G"] * 3)
    assert scalar.shape == () and scalar == 2.0


def test_compile_program_takes_its_lists_by_name_and_the_scalars_by_name_only() -> None:
    program = compile_program(assignments=[], outputs=[x + 1], scalars=["x"])
    assert program.arguments == ("x",) and program(x=1.0)[0] == 2.0
    with pytest.raises(TypeError):
        compile_program([], [x + 1], ["x"])  # type: ignore[misc]
