"""The spec evaluated exactly enough: mpmath at 50 significant digits, on small inputs.

The float64 oracle judges implementations; this one measures them. For a counterexample it
gives the equation's value to 50 digits, so a report can say how far the implementation is
from the exact value, and how far the float64 oracle is (which must be far closer). The
expression is printed by SymPy's mpmath printer (rationals stay exact) and evaluated on NumPy
object arrays of ``mpmath.mpf``, with the few functions it uses applied elementwise.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.printing.pycode import MpmathPrinter

from .compiler import _reduce_axis

__all__ = ["DIGITS", "MAX_ENTRIES", "exact"]

DIGITS = 50
#: Inputs larger than this are not evaluated exactly (object arrays are slow).
MAX_ENTRIES = 4096


def _elementwise(function: Any) -> Any:
    vectorized = np.vectorize(function, otypes=[object])
    return lambda value: vectorized(value) if isinstance(value, np.ndarray) else function(value)


_SHIM = SimpleNamespace(
    mpf=mpmath.mpf,
    sqrt=_elementwise(mpmath.sqrt),
    exp=_elementwise(mpmath.exp),
    log=_elementwise(mpmath.log),
)


def _to_mp(value: Any) -> Any:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    array = np.asarray(value, dtype=np.float64)
    converted = np.vectorize(lambda x: mpmath.mpf(float(x)), otypes=[object])(array)
    return converted if array.ndim else converted.item()


@functools.lru_cache(maxsize=256)
def _compiled(expr: sp.Expr) -> tuple[tuple[str, ...], Any]:
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    printer = MpmathPrinter({"allow_unknown_functions": True, "fully_qualified_modules": True})
    source = (
        f"def exact({', '.join(s.name for s in symbols)}):\n    return {printer.doprint(expr)}\n"
    )
    namespace: dict[str, Any] = {"mpmath": _SHIM, "ReduceAxis": _reduce_axis}
    exec(compile(source, "<eqconform-exact>", "exec"), namespace)  # noqa: S102 - our own generated code
    return tuple(s.name for s in symbols), namespace["exact"]


def exact(
    expr: sp.Expr, values: Mapping[str, Any], sizes: Mapping[str, int] | None = None
) -> np.ndarray | None:
    """The array-form ``expr`` evaluated at :data:`DIGITS` digits, as an object array of
    ``mpf``; ``None`` when the inputs are too large to evaluate exactly."""
    names, function = _compiled(expr)
    total = sum(np.size(values[name]) for name in names if name in values)
    if total > MAX_ENTRIES:
        return None
    arguments = {**{name: value for name, value in (sizes or {}).items()}, **values}
    with mpmath.workdps(DIGITS):
        result = function(*(_to_mp(arguments[name]) for name in names))
    return np.asarray(result, dtype=object)
