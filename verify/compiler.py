"""Compile SymPy spec expressions into vectorized NumPy callables.

The documents write equations over indexed symbols with sums over an index (LayerNorm eq. (1)
is a row sum, eq. (7) needs two). :func:`lower` rewrites such an expression into *array form*:
every ``X[i, j]`` becomes the array ``X`` (laid out so that index ``i`` runs along axis 0 and
``j`` along axis 1, as the spec's ``axes`` say) and every ``Sum`` over an index becomes a
:class:`ReduceAxis` node, a reduction along that index's axis. Array form composes by plain
substitution, whatever C is, and :func:`compile_expressions` turns it into one NumPy function
with common-subexpression elimination and SymPy's NumPy printer, compiled once and cached.

A product over an index up to the quantity's own index, :math:`\\alpha_t = \\prod_{s=1}^{t}
(1 - \\beta_s)`, is a *cumulative* product along that index's axis and becomes a
:class:`CumProdAxis` node (``numpy.cumprod``); any other product is left as it is, for the
compiler to reject. ``exp`` and the unit step ``Heaviside(x, 1)`` need nothing: SymPy prints
them for NumPy as they are.

>>> import sympy as sp
>>> from eqconform.specs import get_spec
>>> spec = get_spec("layernorm.mean")
>>> mean = compile_expressions((lower(spec.canonical.expression("mu"), spec.axes),))
>>> mean(Z=np.array([[1.0, 2.0, 6.0]]))[0]
array([[3.]])
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from eqconform.specs.model import quantity_name

from .straightline import fewer_passes

__all__ = [
    "BLOCK_ELEMENTS",
    "CompiledFunction",
    "CumCountAxis",
    "CumProdAxis",
    "ReduceAxis",
    "Transposed",
    "axes_reduced_along",
    "checked_program",
    "compile_expressions",
    "compile_program",
    "compose",
    "lower",
    "reduced_sizes",
]


class ReduceAxis(sp.Function):
    """``ReduceAxis(f, axis, size)``: the sum of ``f`` along ``axis``, which has ``size`` entries.

    The array-form image of ``Sum(f, (index, lo, hi))``; ``size`` is ``hi - lo + 1``.
    """

    nargs = 3


class Transposed(sp.Function):
    """``Transposed(f)``: ``f`` laid out transposed (``numpy.transpose``), a row for a column.
    No equation has it; explanations do (code that sums the transposed array)."""

    nargs = 1

    def _numpycode(self, printer: Any) -> str:
        return f"numpy.transpose({printer.doprint(self.args[0])})"


class CumProdAxis(sp.Function):
    """``CumProdAxis(f, axis)``: the running product of ``f`` along ``axis`` (``numpy.cumprod``),
    the array form of :math:`\\prod_{s=1}^{t} f_s` at every ``t``."""

    nargs = 2

    def _numpycode(self, printer: Any) -> str:
        body, axis = self.args
        return f"numpy.cumprod({printer.doprint(body)}, axis={int(axis)})"


class CumCountAxis(sp.Function):
    """``CumCountAxis(f, axis)``: how many factors a running product along ``axis`` has at each
    entry (1, 2, 3, ...), broadcast to the shape of ``f`` (for the product's rounding bound)."""

    nargs = 2

    def _numpycode(self, printer: Any) -> str:
        body, axis = self.args
        ones = f"numpy.ones_like(numpy.asarray({printer.doprint(body)}, dtype=float))"
        return f"numpy.cumsum({ones}, axis={int(axis)})"


def _reduce_axis(values: Any, axis: int, size: Any) -> np.ndarray:
    array = np.asarray(values)
    axis, count = int(axis), int(size)
    if array.ndim <= axis or (array.shape[axis] == 1 and count != 1):
        # The summand does not vary along the axis (e.g. a row statistic summed over features).
        return array * size
    if array.shape[axis] != count:
        raise ValueError(
            f"a sum over {count} entries along axis {axis} met an array with {array.shape[axis]}"
        )
    return np.sum(array, axis=axis, keepdims=True)


def lower(expr: sp.Expr, axes: Mapping[sp.Symbol, int]) -> sp.Expr:
    """The array form of ``expr``: indexed symbols become arrays, sums become reductions, and a
    product ``Product(f, (s, 1, t))`` whose index ``s`` and upper limit ``t`` run along the same
    axis becomes the cumulative product ``CumProdAxis(f at s = t, axis)``."""

    def visit(node: sp.Basic) -> sp.Basic:
        if isinstance(node, sp.Product) and _cumulative(node, axes):
            index, _, high = node.limits[0]
            return CumProdAxis(
                visit(node.function.xreplace({index: high})), sp.Integer(axes[index])
            )
        if isinstance(node, sp.Sum):
            body = visit(node.function)
            for index, low, high in reversed(node.limits):
                if index not in axes:
                    raise ValueError(f"sum over {index} in {node}: the spec gives no axis for it")
                size = sp.simplify(high - low + 1)
                body = ReduceAxis(body, sp.Integer(axes[index]), size)
            return body
        if isinstance(node, sp.Indexed):
            return sp.Symbol(quantity_name(node))
        if isinstance(node, sp.IndexedBase):
            return sp.Symbol(quantity_name(node))
        if not node.args:
            return node
        return node.func(*(visit(arg) for arg in node.args))

    return visit(expr)


def _cumulative(product: sp.Product, axes: Mapping[sp.Symbol, int]) -> bool:
    """Whether ``product`` runs from 1 up to an index along its own index's axis."""
    if len(product.limits) != 1:
        return False
    index, low, high = product.limits[0]
    return bool(low == 1 and index in axes and high in axes and axes[index] == axes[high])


def compose(expr: sp.Expr, definitions: Mapping[str, sp.Expr]) -> sp.Expr:
    """Substitute array-form definitions (quantity name -> expression) until none is left."""
    for _ in range(len(definitions) + 1):
        replacements = {
            symbol: definitions[symbol.name]
            for symbol in expr.free_symbols
            if isinstance(symbol, sp.Symbol) and symbol.name in definitions
        }
        if not replacements:
            return expr
        expr = expr.xreplace(replacements)
    raise ValueError(f"cyclic definitions among {sorted(definitions)}")


@dataclass(frozen=True)
class CompiledFunction:
    """A compiled tuple of array-form expressions sharing one argument list.

    Call it with a mapping (or keywords) from quantity names to arrays or scalars; sizes of
    reduced axes (``C``, ``N``, ...) are read from the arrays' broadcast shape unless given.
    Values are evaluated in float64.
    """

    arguments: tuple[str, ...]
    sizes: Mapping[str, int]
    function: Callable[..., Any]
    #: The generated Python source of ``function`` (what a cache stores).
    source: str = ""
    #: Axes some reduction or running product runs along: every other axis can be cut into
    #: blocks and evaluated block by block (:data:`BLOCK_ELEMENTS`).
    reduced_axes: tuple[int, ...] = ()

    def to_data(self) -> dict[str, Any]:
        """Plain data a cache can store and :meth:`from_data` rebuilds the function from."""
        return {"arguments": list(self.arguments), "sizes": dict(self.sizes), "source": self.source}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CompiledFunction:
        """The function stored by :meth:`to_data`. The source is checked to be a program this
        module could have generated (:func:`checked_program`) before it is run: a cache entry
        is data, never trusted as code. Raises ``ValueError`` for anything else."""
        arguments = data.get("arguments")
        sizes = data.get("sizes")
        source = data.get("source")
        if (
            not isinstance(arguments, list)
            or not all(isinstance(a, str) for a in arguments)
            or not isinstance(sizes, dict)
            or not all(isinstance(k, str) and type(v) is int for k, v in sizes.items())
            or not isinstance(source, str)
        ):
            raise ValueError("not a stored program")
        tree = checked_program(source, arguments)
        return cls(tuple(arguments), dict(sizes), _define(source), source, axes_reduced_along(tree))

    def __call__(
        self, values: Mapping[str, Any] | None = None, /, **more: Any
    ) -> tuple[np.ndarray, ...]:
        given = {**(values or {}), **more}
        # Only the arguments: a record also holds quantities this expression does not read.
        arrays = {name: _as_float64(given[name]) for name in self.arguments if name in given}
        missing = [name for name in self.arguments if name not in arrays and name not in self.sizes]
        if missing:
            raise KeyError(f"missing values for {missing} (needs {list(self.arguments)})")
        if self.sizes:
            shape = np.broadcast_shapes(
                *(np.shape(arrays[name]) for name in self.arguments if name in arrays)
            )
            for name, axis in self.sizes.items():
                if name not in given:
                    # A float, so that a variant dividing by C - 1 gives inf at C = 1, not an error.
                    arrays[name] = np.float64(shape[axis] if axis < len(shape) else 1)
        given_arrays = [arrays[name] for name in self.arguments]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            cut = _blocks(given_arrays, self.reduced_axes)
            staged = (
                _staged_cut(self.source, given_arrays)
                if cut is None and self.reduced_axes
                else None
            )
            results = None
            if cut is not None:
                results = _blockwise(self.function, given_arrays, *cut)
            elif staged is not None:
                # None when a sum's count is not the axis's length: whole, it raises (or scales).
                results = _blockwise_staged(*staged, given_arrays)
            if results is None:
                results = self.function(*given_arrays)
        return tuple(np.asarray(result, dtype=np.float64) for result in results)


#: How many entries one block of a large evaluation holds. A program evaluates one NumPy
#: operation at a time, each writing a temporary as large as its operands; on arrays of
#: millions of entries every one of those passes goes to main memory, and the temporaries
#: alive at once cost many times the input. Cut into blocks of this size, the temporaries
#: stay in the processor's cache and are freed block by block (the same reason numexpr
#: blocks); below twice this size a program runs whole. A program that reduces along every
#: axis is cut along one whose sums can be added up block by block (:class:`_Stages`), in
#: blocks of the same size. (They were a quarter of it while dL/dgamma's bound recomputed
#: Zhat's error entry by entry, every per-entry error alive until the block's sums were
#: taken; with that bound an input (:attr:`~.graph.Predictor.recomputation`), dL/dgamma's
#: value and bound at 4096 x 1024 take 68 ms in blocks of 4096 entries, 43 ms in 8192,
#: 32 ms in 16384 and 50 ms in 32768, dL/dbeta's 34, 21, 13 and 11 ms.)
BLOCK_ELEMENTS = 1 << 14


def _blocks(arrays: Sequence[Any], reduced_axes: Sequence[int]) -> tuple[int, int, int] | None:
    """``(axis, length, step)`` to evaluate ``arrays`` in blocks of ``step`` entries along
    ``axis`` (of the broadcast shape, ``length`` long), or None to evaluate them whole.

    The axis is the first one no reduction runs along whose blocks still hold at least two
    entries along it (so that a result's length along it says whether the result varies
    along it)."""
    if max((a.size for a in arrays if isinstance(a, np.ndarray)), default=0) < BLOCK_ELEMENTS:
        return None  # the common case, decided without broadcasting (it costs per call)
    shape = np.broadcast_shapes(*(np.shape(array) for array in arrays))
    total = int(np.prod(shape, dtype=np.int64))
    if total < 2 * BLOCK_ELEMENTS:
        return None
    for axis, length in enumerate(shape):
        if axis in reduced_axes or length < 4:
            continue
        step = BLOCK_ELEMENTS // (total // length)
        if step >= 2:
            if axis > 0 and step * int(np.prod(shape[axis + 1 :], dtype=np.int64)) < _RUN:
                # Blocks of a few columns of a tall array (a sum down the rows, dL/dbeta's)
                # read short strided runs: slower than whole, and slower than blocks of rows
                # with the sums added up (:class:`_Stages`), which the caller tries next.
                return None
            return axis, length, step
    return None


#: The fewest contiguous entries a block along a later axis may read from each leading index.
_RUN = 256


def _own_axis(axis: int, ndim: int, array: Any) -> int:
    """``axis`` of the ``ndim``-axis broadcast shape as an axis of ``array`` itself, negative
    when ``array`` has too few axes to reach it (numpy aligns shapes at their last axes: a row
    of ``beta`` alone, shape (C,), is aligned with the arrays' last axis)."""
    return axis - (ndim - np.ndim(array))


def _block(array: Any, ndim: int, axis: int, part: slice) -> Any:
    """The entries ``part`` along ``axis`` of the ``ndim``-axis broadcast shape of ``array``;
    the array whole when it does not extend along that axis (a scalar, a row of ``gamma``)."""
    own = _own_axis(axis, ndim, array)
    if own < 0 or np.shape(array)[own] == 1:
        return array
    index = [slice(None)] * np.ndim(array)
    index[own] = part
    return array[tuple(index)]


def _blockwise(
    function: Callable[..., Any], arrays: Sequence[Any], axis: int, length: int, step: int
) -> tuple[np.ndarray, ...]:
    """``function(*arrays)``, evaluated on blocks of ``step`` entries along ``axis`` and put
    together. Exact: every operation of a program is element-wise along an axis no reduction
    runs along. An array that does not extend along ``axis`` (a scalar, a row of ``gamma``)
    is passed whole to every block; a result that does not vary along it is taken from the
    first block."""
    ndim = max(np.ndim(array) for array in arrays)
    outputs: list[np.ndarray] | None = None
    for start in range(0, length, step):
        part = slice(start, min(start + step, length))
        results = function(*(_block(array, ndim, axis, part) for array in arrays))
        if outputs is None:
            outputs = [
                _whole_output(np.asarray(result), ndim, axis, length, part) for result in results
            ]
        for output, result in zip(outputs, results, strict=True):
            if _varies_along(output, ndim, axis, length):
                index = [slice(None)] * output.ndim
                index[_own_axis(axis, ndim, output)] = part
                output[tuple(index)] = result
    assert outputs is not None  # length >= 4, so at least one block
    return tuple(outputs)


@dataclass(frozen=True)
class _Stages:
    """A program that reduces along ``axis``, split so that it can still be evaluated in
    blocks along it: ``partials`` computes, for one block, the block's share of each sum
    along ``axis`` whose summand needs no such sum itself (the sums are added up over the
    blocks), and the count of entries each sum is over; ``rest`` is the program with those
    sums given as inputs, which no longer reduces along ``axis``. A bound's sums of
    per-entry errors down the rows (dL/dgamma's) are of this kind: the per-entry work is
    done a block of rows at a time, in cache."""

    axis: int
    partials: Callable[..., Any]
    rest: Callable[..., Any]
    rest_reduced_axes: tuple[int, ...]


def _staged_cut(source: str, arrays: Sequence[Any]) -> tuple[_Stages, tuple[int, int, int]] | None:
    """How to evaluate the program ``source`` on ``arrays`` in stages (:class:`_Stages`), or
    None: when the evaluation is small, or the program cannot be split along any axis long
    enough to cut (then it runs whole, as before)."""
    if (
        not source
        or max((a.size for a in arrays if isinstance(a, np.ndarray)), default=0)
        < 2 * BLOCK_ELEMENTS
    ):
        return None
    shape = np.broadcast_shapes(*(np.shape(array) for array in arrays))
    total = int(np.prod(shape, dtype=np.int64))
    if total < 2 * BLOCK_ELEMENTS:  # then 0: an axis of length 0 broadcasts the rest away
        return None
    for axis, length in enumerate(shape):
        step = BLOCK_ELEMENTS // (total // length)
        if length < 4 or step < 2:
            continue
        stages = _stages(source, axis)
        if stages is not None:
            return stages, (axis, length, step)
    return None


def _blockwise_staged(
    stages: _Stages, cut: tuple[int, int, int], arrays: Sequence[Any]
) -> tuple[np.ndarray, ...] | None:
    """The program of ``stages`` on ``arrays``: its sums along the cut accumulated block by
    block, then the rest evaluated in blocks with the sums as inputs. The sums are added in
    another order than one reduction adds them, so a result may differ from the whole
    evaluation's in its last bits. None when some sum is over another count of entries than
    the axis has (a fixed range, a size given otherwise): a block's share cannot tell."""
    axis, length, step = cut
    ndim = max(np.ndim(array) for array in arrays)
    sums: list[np.ndarray] | None = None
    for start in range(0, length, step):
        part = slice(start, min(start + step, length))
        shares, counts = stages.partials(
            *(_block(array, ndim, axis, part) for array in arrays), part.stop - part.start
        )
        if any(not np.array_equal(count, length) for count in counts):
            return None
        shares = [np.asarray(share, dtype=np.float64) for share in shares]
        sums = (
            shares
            if sums is None
            else [total + share for total, share in zip(sums, shares, strict=True)]
        )
    assert sums is not None  # length >= 4, so at least one block
    # The rest reduces along the axis no more: cut where the sums were.
    return _blockwise(stages.rest, [*arrays, *sums], axis, length, step)


def _reduces_along(node: ast.AST, axis: int) -> bool:
    """Whether ``node`` is a ``ReduceAxis`` along ``axis``."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "ReduceAxis"
        and len(node.args) == 3
        and isinstance(node.args[1], ast.Constant)
        and type(node.args[1].value) is int
        and node.args[1].value == axis
    )


def _other_reductions(tree: ast.AST) -> bool:
    """Whether ``tree`` runs along some axis otherwise than by ``ReduceAxis``: a running sum
    or product, any call given an ``axis=``, a transpose. Such a program is not split (only
    ``ReduceAxis`` sums are accumulated), whatever axis it runs along: cautious, and rare."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr == "transpose":
            return True
        if any(keyword.arg == "axis" for keyword in node.keywords):
            return True
    return False


@functools.lru_cache(maxsize=256)
def _stages(source: str, axis: int) -> _Stages | None:
    """``source`` (a checked generated program) split along ``axis`` (:class:`_Stages`), or
    None when some sum along ``axis`` has a summand that needs another such sum."""
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    if _other_reductions(function):
        return None
    arguments = [arg.arg for arg in function.args.args]
    # The names whose values need a sum along the axis: those cannot be computed a block at
    # a time. A sum whose summand needs none can: its blocks' shares are added up.
    needs_sum: set[str] = set()

    def needs(node: ast.AST) -> bool:
        return any(
            _reduces_along(child, axis) or (isinstance(child, ast.Name) and child.id in needs_sum)
            for child in ast.walk(node)
        )

    sums: list[ast.Call] = []
    for statement in function.body:
        assert isinstance(statement, (ast.Assign, ast.Return)) and statement.value is not None
        for child in ast.walk(statement.value):
            if _reduces_along(child, axis):
                assert isinstance(child, ast.Call)
                if needs(child.args[0]):
                    return None  # a sum of something that needs a sum
                if not any(child is seen for seen in sums):
                    sums.append(child)
        if isinstance(statement, ast.Assign) and needs(statement.value):
            target = statement.targets[0]
            assert isinstance(target, ast.Name)
            needs_sum.add(target.id)
    names = [f"_sum{index}" for index in range(len(sums))]
    if not sums or {"_length", *names} & set(arguments):
        return None
    # Stage 1: the statements that need no sum, then each sum's share of one block, and the
    # count of entries each sum is over (written out before stage 2 rewrites the statements
    # they share).
    shares = ast.Tuple(
        [
            ast.Tuple(
                [
                    ast.Call(
                        ast.Name("ReduceAxis", ast.Load()),
                        [call.args[0], ast.Constant(axis), ast.Name("_length", ast.Load())],
                        [],
                    )
                    for call in sums
                ],
                ast.Load(),
            ),
            ast.Tuple([call.args[2] for call in sums], ast.Load()),
        ],
        ast.Load(),
    )
    partials = _program(
        [*arguments, "_length"],
        _live(
            [
                *(s for s in function.body if isinstance(s, ast.Assign) and not needs(s.value)),
                ast.Return(shares),
            ]
        ),
    )

    # Stage 2: the program with each sum replaced by its input, and what the outputs no
    # longer need left out.
    class Replace(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.AST:
            for name, call in zip(names, sums, strict=True):
                if node is call:
                    return ast.Name(name, ast.Load())
            self.generic_visit(node)
            return node

    rest = _program([*arguments, *names], _live([Replace().visit(s) for s in function.body]))
    rest_axes = axes_reduced_along(rest)
    if axis in rest_axes:
        return None
    return _Stages(axis, _define(partials), _define(rest), rest_axes)


def _program(arguments: Sequence[str], body: Sequence[ast.stmt]) -> str:
    """The source of ``def program(arguments): body``, checked as a generated program."""
    module = ast.parse(f"def program({', '.join(arguments)}):\n    pass\n")
    function = module.body[0]
    assert isinstance(function, ast.FunctionDef)
    function.body = list(body)
    source = ast.unparse(ast.fix_missing_locations(module))
    checked_program(source, arguments)
    return source


def _live(body: Sequence[ast.stmt]) -> list[ast.stmt]:
    """``body`` without the assignments its return does not need."""
    used: set[str] = set()
    kept: list[ast.stmt] = []
    for statement in reversed(body):
        assert isinstance(statement, (ast.Assign, ast.Return)) and statement.value is not None
        if isinstance(statement, ast.Assign):
            target = statement.targets[0]
            if not isinstance(target, ast.Name) or target.id not in used:
                continue
        used |= {node.id for node in ast.walk(statement.value) if isinstance(node, ast.Name)}
        kept.append(statement)
    return kept[::-1]


def _varies_along(result: np.ndarray, ndim: int, axis: int, length: int) -> bool:
    own = _own_axis(axis, ndim, result)
    return own >= 0 and result.shape[own] == length


def _whole_output(
    result: np.ndarray, ndim: int, axis: int, length: int, first: slice
) -> np.ndarray:
    """The array a result of every block is written into (its first block's values included),
    or the first block's result itself when it does not vary along ``axis``."""
    own = _own_axis(axis, ndim, result)
    if own < 0 or result.shape[own] != first.stop - first.start:
        return result
    shape = list(result.shape)
    shape[own] = length
    output = np.empty(shape, dtype=result.dtype)
    return output


def _as_float64(value: Any) -> Any:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return np.asarray(value, dtype=np.float64)


def compile_program(
    assignments: Sequence[tuple[sp.Symbol, sp.Expr]],
    outputs: Sequence[sp.Expr],
    *,
    scalars: Collection[str] | None = None,
    small: Collection[str] = (),
) -> CompiledFunction:
    """Compile straight-line code (``symbol = expression`` in order, then ``outputs``) into a
    NumPy function, printing each expression with SymPy's NumPy printer.

    With ``scalars`` (the arguments known to hold scalars; integer symbols, such as sizes and
    step counts, are counted among them), the program is rearranged to make fewer passes over
    its arrays (:func:`~.straightline.fewer_passes`, told of the arguments that hold
    ``small`` arrays): for bound programs, whose last bits do not matter, not for the
    oracle's values, whose arithmetic stays as SymPy prints it."""
    assigned = {symbol for symbol, _ in assignments}
    expressions = [expr for _, expr in assignments] + list(outputs)
    symbols = sorted(
        {s for expr in expressions for s in expr.free_symbols} - assigned, key=lambda s: s.name
    )
    printer = NumPyPrinter({"allow_unknown_functions": True, "fully_qualified_modules": True})
    lines = [f"def program({', '.join(s.name for s in symbols)}):"]
    lines += [f"    {symbol.name} = {printer.doprint(expr)}" for symbol, expr in assignments]
    lines.append(f"    return ({', '.join(printer.doprint(expr) for expr in outputs)},)")
    source = "\n".join(lines)
    if scalars is not None:
        known = {*scalars, *(s.name for s in symbols if s.is_integer)}
        source = fewer_passes(source, known, small)
        checked_program(source, [s.name for s in symbols])
    return CompiledFunction(
        arguments=tuple(s.name for s in symbols),
        sizes=reduced_sizes(expressions),
        function=_define(source),
        source=source,
        reduced_axes=axes_reduced_along(source),
    )


#: NumPy's limit on the number of axes of an array.
_MAX_AXES = 64


def axes_reduced_along(program: str | ast.AST) -> tuple[int, ...]:
    """The axes a generated program reduces or accumulates along, read from its source: the
    axis of every ``ReduceAxis`` and every ``axis=`` a NumPy call is given. Read from the
    program itself (not stored next to it), so a cached program cannot claim fewer; ``amax``
    over a tuple (SymPy's ``Max``) counts too, which only costs blocking along that axis."""
    axes: set[int] = set()
    tree = ast.parse(program) if isinstance(program, str) else program
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr == "transpose":
            # A transpose lays every axis out anew: no block along any axis is its own.
            axes.update(range(_MAX_AXES))
        if isinstance(node.func, ast.Name) and node.func.id == "ReduceAxis" and len(node.args) == 3:
            given = node.args[1]
            if not (isinstance(given, ast.Constant) and type(given.value) is int):
                raise ValueError("a reduction along an axis that is not a number")
            axes.add(given.value)
        for keyword in node.keywords:
            if keyword.arg == "axis":
                if not (
                    isinstance(keyword.value, ast.Constant) and type(keyword.value.value) is int
                ):
                    raise ValueError("an axis that is not a number")
                axes.add(keyword.value.value)
    return tuple(sorted(axes))


#: What generated programs may call besides NumPy: the array-form reductions.
_HELPERS = {"ReduceAxis": _reduce_axis}


def _define(source: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"numpy": np, **_HELPERS}
    exec(compile(source, "<eqconform-program>", "exec"), namespace)  # noqa: S102 - generated here, or checked
    return namespace["program"]


#: The built-ins generated programs use (SymPy prints ``Abs`` as ``abs``; the bounds' step
#: counters ask for ``dtype=float``).
_BUILTINS = frozenset({"abs", "float"})

#: The AST nodes a generated program is made of.
_PROGRAM_NODES = (
    ast.Module,
    ast.FunctionDef,
    ast.arguments,
    ast.arg,
    ast.Assign,
    ast.Return,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.Call,
    ast.keyword,
    ast.Attribute,
    ast.Tuple,
    ast.List,
    ast.Compare,
    ast.IfExp,
    ast.BoolOp,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.boolop,
    ast.Subscript,
    ast.Slice,
)


def checked_program(source: str, arguments: Sequence[str]) -> ast.Module:
    """The parsed ``source``; raise ``ValueError`` unless it is a program as
    :func:`compile_program` writes it: one function ``program`` of ``arguments`` whose body
    assigns local names and returns a tuple, built only from numbers, its own names,
    arithmetic, and NumPy's public functions and constants (no other name, no import, no
    attribute outside ``numpy``, no dunder)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ValueError(f"not a program: {error}") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        raise ValueError("not one function")
    function = tree.body[0]
    given = [arg.arg for arg in function.args.args]
    if (
        function.name != "program"
        or function.decorator_list
        or function.args.defaults
        or function.args.vararg
        or function.args.kwarg
        or function.args.kwonlyargs
        or function.args.posonlyargs
        or function.returns
        or any(arg.annotation for arg in function.args.args)
        or given != list(arguments)
    ):
        raise ValueError("not the program's signature")
    local = set(given)
    for index, statement in enumerate(function.body):
        last = index == len(function.body) - 1
        if last != isinstance(statement, ast.Return) or not isinstance(
            statement, (ast.Assign, ast.Return)
        ):
            raise ValueError("not straight-line code ending in a return")
        if isinstance(statement, ast.Assign):
            if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
                raise ValueError("an assignment to something other than a name")
            _check_expression(statement.value, local)
            local.add(statement.targets[0].id)
        elif isinstance(statement, ast.Return):
            if statement.value is None:
                raise ValueError("a return without a value")
            _check_expression(statement.value, local)
    return tree


def _check_expression(node: ast.AST, local: set[str]) -> None:
    for child in ast.walk(node):
        if not isinstance(child, _PROGRAM_NODES) or isinstance(
            child, (ast.Module, ast.FunctionDef, ast.Assign, ast.Return)
        ):
            raise ValueError(f"{type(child).__name__} is not part of a generated program")
        if isinstance(child, ast.Constant) and not isinstance(
            child.value, (int, float, complex, bool, type(None))
        ):
            raise ValueError("a constant that is not a number")
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
            known = child.id in _HELPERS or child.id in _BUILTINS or child.id == "numpy"
            if child.id not in local and not known:
                raise ValueError(f"the name {child.id!r} is not the program's")
        if isinstance(child, ast.Attribute):
            if not (isinstance(child.value, ast.Name) and child.value.id == "numpy"):
                raise ValueError("an attribute of something other than numpy")
            if child.attr.startswith("_") or not _numeric(child.attr):
                raise ValueError(f"numpy.{child.attr} is not a numeric function or constant")


def _numeric(name: str) -> bool:
    """A NumPy ufunc, a number, a dtype, or one of the array functions programs use."""
    value = getattr(np, name, None)
    return (
        isinstance(value, (np.ufunc, float, np.floating))
        or (isinstance(value, type) and issubclass(value, np.number))
        or name in _ARRAY_FUNCTIONS
    )


#: The NumPy functions (not ufuncs) that SymPy's printer and the lowering emit.
_ARRAY_FUNCTIONS = frozenset(
    {
        "select",
        "where",
        "sum",
        "prod",
        "cumprod",
        "cumsum",
        "ones_like",
        "amax",
        "amin",
        "array",
        "asarray",
        "transpose",
    }
)


def compile_expressions(expressions: Sequence[sp.Expr]) -> CompiledFunction:
    """Compile array-form expressions into one cached NumPy function returning a tuple."""
    return _compile(tuple(expressions))


def reduced_sizes(expressions: Sequence[sp.Expr]) -> dict[str, int]:
    """Size symbols of reductions (``C``, ``N``, ...), with the axis each one is read from."""
    sizes: dict[str, int] = {}
    for expr in expressions:
        for node in expr.atoms(ReduceAxis):
            size = node.args[2]
            if size.free_symbols:
                if not isinstance(size, sp.Symbol):
                    raise ValueError(f"a reduction must span a whole axis, not {size} entries")
                sizes[size.name] = int(node.args[1])
    return sizes


@functools.cache
def _compile(expressions: tuple[sp.Expr, ...]) -> CompiledFunction:
    # Common subexpressions once each, as straight-line code (what lambdify's cse does), printed
    # by the same printer as the bound programs, so that every compiled function has a source
    # a cache can keep.
    replacements, reduced = sp.cse(list(expressions))
    return compile_program(replacements, reduced)
