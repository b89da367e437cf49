"""Compile SymPy spec expressions into vectorized NumPy callables.

The documents write equations over indexed symbols with sums over an index (LayerNorm eq. (1)
is a row sum, eq. (7) needs two). :func:`lower` rewrites such an expression into *array form*:
every ``X[i, j]`` becomes the array ``X`` (laid out so that index ``i`` runs along axis 0 and
``j`` along axis 1, as the spec's ``axes`` say) and every ``Sum`` over an index becomes a
:class:`ReduceAxis` node, a reduction along that index's axis. Array form composes by plain
substitution, whatever C is, and :func:`compile_expressions` turns it into one NumPy function
with ``sympy.lambdify`` and common-subexpression elimination, compiled once and cached.

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

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from eqconform.specs.model import quantity_name

__all__ = [
    "CompiledFunction",
    "CumCountAxis",
    "CumProdAxis",
    "ReduceAxis",
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
    expressions: tuple[sp.Expr, ...]

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
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            results = self.function(*(arrays[name] for name in self.arguments))
        return tuple(np.asarray(result, dtype=np.float64) for result in results)


def _as_float64(value: Any) -> Any:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return np.asarray(value, dtype=np.float64)


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


def compile_program(
    assignments: Sequence[tuple[sp.Symbol, sp.Expr]], outputs: Sequence[sp.Expr]
) -> CompiledFunction:
    """Compile straight-line code (``symbol = expression`` in order, then ``outputs``) into a
    NumPy function, printing each expression with SymPy's NumPy printer."""
    assigned = {symbol for symbol, _ in assignments}
    expressions = [expr for _, expr in assignments] + list(outputs)
    symbols = sorted(
        {s for expr in expressions for s in expr.free_symbols} - assigned, key=lambda s: s.name
    )
    printer = NumPyPrinter({"allow_unknown_functions": True, "fully_qualified_modules": True})
    lines = [f"def program({', '.join(s.name for s in symbols)}):"]
    lines += [f"    {symbol.name} = {printer.doprint(expr)}" for symbol, expr in assignments]
    lines.append(f"    return ({', '.join(printer.doprint(expr) for expr in outputs)},)")
    namespace: dict[str, Any] = {"numpy": np, "ReduceAxis": _reduce_axis}
    exec(compile("\n".join(lines), "<eqconform-program>", "exec"), namespace)  # noqa: S102 - our own generated code
    return CompiledFunction(
        arguments=tuple(s.name for s in symbols),
        sizes=reduced_sizes(expressions),
        function=namespace["program"],
        expressions=tuple(outputs),
    )


@functools.cache
def _compile(expressions: tuple[sp.Expr, ...]) -> CompiledFunction:
    sizes = reduced_sizes(expressions)
    symbols = sorted(
        {symbol for expr in expressions for symbol in expr.free_symbols}, key=lambda s: s.name
    )
    function = sp.lambdify(
        symbols,
        list(expressions),
        modules=[{"ReduceAxis": _reduce_axis}, "numpy"],
        cse=True,
        docstring_limit=0,
    )
    return CompiledFunction(
        arguments=tuple(symbol.name for symbol in symbols),
        sizes=sizes,
        function=function,
        expressions=expressions,
    )
