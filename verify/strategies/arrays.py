"""What every strategy shares: option validation, dtypes, sizes and arrays drawn as recipes.

An array is drawn as a *recipe* (shape, dtype, seed, scale, offset) and built with NumPy's
generator on demand, so a 256 x 256 input costs a few draws, and shrinking heads for small
shapes, seed 0, unit scale and zero offset. Every option check raises
:class:`hypothesis.errors.InvalidArgument` naming the bad value, before anything is drawn.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

__all__ = [
    "FLOAT_DTYPES",
    "HARD_DTYPES",
    "SEEDS",
    "ArrayRecipe",
    "DtypeLike",
    "array_recipes",
    "batch_shapes",
    "built_from",
    "check_dtypes",
    "check_positive_int",
    "check_range",
    "check_scales",
    "float_dtypes",
    "magnitudes",
    "show",
    "sizes",
]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: The dtypes of the hard profiles.
HARD_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
#: Seeds of NumPy generators (shrinking toward 0).
SEEDS = st.integers(0, 2**32 - 1)

DtypeLike = np.dtype | type | str


# --------------------------------------------------------------------------- validation


def check_positive_int(name: str, value: int, minimum: int = 1) -> None:
    """``value`` is an integer (not a bool) of at least ``minimum``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be an integer >= {minimum}")


def check_range(low_name: str, low: float, high_name: str, high: float) -> None:
    """``low <= high``."""
    if low > high:
        raise InvalidArgument(f"{low_name}={low!r} must not exceed {high_name}={high!r}")


def check_scales(low_name: str, low: float, high_name: str, high: float) -> None:
    """``0 < low <= high`` (bounds of magnitudes drawn over decades)."""
    if not 0 < low <= high:
        raise InvalidArgument(f"need 0 < {low_name}={low!r} <= {high_name}={high!r}")


def check_dtypes(dtypes: Sequence[DtypeLike]) -> tuple[np.dtype, ...]:
    """The floating dtypes named by ``dtypes`` (at least one)."""
    resolved = []
    for dtype in dtypes:
        try:
            resolved_dtype = np.dtype(dtype)
        except TypeError as error:
            raise InvalidArgument(
                f"dtypes contains {dtype!r}, which is not a NumPy dtype"
            ) from error
        if resolved_dtype.kind != "f":
            raise InvalidArgument(
                f"dtypes contains {resolved_dtype}, which is not a floating dtype"
            )
        resolved.append(resolved_dtype)
    if not resolved:
        raise InvalidArgument("dtypes must name at least one floating dtype")
    return tuple(resolved)


# --------------------------------------------------------------------------- arrays


@dataclass(frozen=True)
class ArrayRecipe:
    """How to build one array: ``offset + scale * N(0, 1)`` from ``default_rng(seed)``.

    ``row_offsets`` adds a per-row constant drawn uniformly between ``offset / 2`` and ``offset``
    instead of one shared offset, which gives LayerNorm rows with different, large means.
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    seed: int
    scale: float = 1.0
    offset: float = 0.0
    row_offsets: bool = False

    def build(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        values = self.scale * rng.standard_normal(self.shape)
        if self.row_offsets and len(self.shape) == 2:
            reach = abs(self.offset)
            values = values + np.sign(self.offset) * rng.uniform(
                reach / 2, reach, size=(self.shape[0], 1)
            )
        else:
            values = values + self.offset
        return values.astype(self.dtype)

    def describe(self) -> str:
        extra = (
            f", per-row offsets up to {self.offset:g}"
            if self.row_offsets
            else (f", offset {self.offset:g}" if self.offset else "")
        )
        return f"{self.dtype} {self.shape} from seed {self.seed}, scale {self.scale:g}{extra}"


def built_from(recipe: str) -> cached_property[np.ndarray]:
    """A case's array, built from its recipe field ``recipe`` on first use and kept
    (``X = built_from("design")`` in a case class)."""
    return cached_property(lambda case: getattr(case, recipe).build())


def show(array: np.ndarray) -> str:
    """An array as the code that rebuilds it (full precision, long arrays elided)."""
    with np.printoptions(precision=17, threshold=64, edgeitems=3, linewidth=100):
        return f"np.array({np.array2string(array, separator=', ')}, dtype=np.{array.dtype})"


def float_dtypes(*, dtypes: Sequence[DtypeLike] = FLOAT_DTYPES) -> st.SearchStrategy[np.dtype]:
    """The floating dtypes to test in (float32 and float64 by default)."""
    return st.sampled_from(check_dtypes(dtypes))


@functools.cache
def magnitudes(low: float, high: float) -> st.SearchStrategy[float]:
    """Scales spread over decades, shrinking toward 1 (or the nearest bound)."""
    if low <= 1.0 <= high:
        start = 0
    else:
        start = int(np.round(np.log10(low))) if low > 1 else int(np.round(np.log10(high)))
    low_exp, high_exp = int(np.floor(np.log10(low))), int(np.ceil(np.log10(high)))
    exponents = st.integers(low_exp, high_exp).filter(lambda e: low <= 10.0**e <= high)
    return st.one_of(
        st.just(10.0**start) if low <= 10.0**start <= high else st.just(low),
        exponents.map(lambda e: 10.0**e),
    )


def array_recipes(
    shape: tuple[int, ...],
    dtype: np.dtype,
    *,
    min_scale: float = 1e-3,
    max_scale: float = 1e3,
    max_offset: float = 0.0,
    row_offsets: bool = False,
) -> st.SearchStrategy[ArrayRecipe]:
    """Recipes of arrays of a given shape and dtype with scales spread over decades."""
    check_scales("min_scale", min_scale, "max_scale", max_scale)
    if max_offset < 0:
        raise InvalidArgument(f"max_offset={max_offset!r} must be >= 0")
    return _array_recipes(
        tuple(shape), np.dtype(dtype), min_scale, max_scale, max_offset, bool(row_offsets)
    )


@functools.lru_cache(maxsize=4096)
def _array_recipes(
    shape: tuple[int, ...],
    dtype: np.dtype,
    min_scale: float,
    max_scale: float,
    max_offset: float,
    row_offsets: bool,
) -> st.SearchStrategy[ArrayRecipe]:
    # One strategy per setting: composites ask for one per array they draw, and a new mapped
    # strategy is validated again at its first draw.
    return _recipe_settings(min_scale, max_scale, max_offset).map(
        lambda drawn: ArrayRecipe(shape, dtype, *drawn, row_offsets=row_offsets)
    )


@functools.cache
def _recipe_settings(
    min_scale: float, max_scale: float, max_offset: float
) -> st.SearchStrategy[tuple[int, float, float]]:
    """(seed, scale, offset), built once per bounds: composite strategies draw from it for
    every array, and rebuilding (and revalidating) it each time dominated generation."""
    smallest = min(1.0, max_offset)
    offsets = (
        st.just(0.0)
        if max_offset == 0
        else st.one_of(
            st.just(0.0),
            magnitudes(smallest, max_offset),
            magnitudes(smallest, max_offset).map(lambda x: -x),
        )
    )
    return st.tuples(SEEDS, magnitudes(min_scale, max_scale), offsets)


# --------------------------------------------------------------------------- sizes


@functools.cache  # composites ask for sizes in every draw; a new one_of is validated anew
def sizes(low: int, high: int, *, near: int = 5) -> st.SearchStrategy[int]:
    """Sizes from ``low`` to ``high``, skewed toward the ``near + 1`` smallest and shrinking
    toward ``low``. Both branches draw plain integers, so a shrink that moves a size from the
    wide branch to the narrow one keeps it meaningful."""
    return st.one_of(st.integers(low, min(high, low + near)), st.integers(low, high))


def batch_shapes(
    *, min_rows: int = 1, max_rows: int = 256, min_features: int = 1, max_features: int = 256
) -> st.SearchStrategy[tuple[int, int]]:
    """``(N, C)`` shapes, with ``N == C`` drawn often (a whole class of bugs lives there).

    Sizes are drawn from a distribution skewed toward small values and shrink toward the
    minimum; Hypothesis's integers reach the corners ``N = 1``, ``C = 1`` and the largest
    sizes on their own.
    """
    check_positive_int("min_rows", min_rows)
    check_positive_int("min_features", min_features)
    check_range("min_rows", min_rows, "max_rows", max_rows)
    check_range("min_features", min_features, "max_features", max_features)
    general = st.tuples(
        sizes(min_rows, max_rows, near=7), sizes(min_features, max_features, near=7)
    )
    low, high = max(min_rows, min_features), min(max_rows, max_features)
    if low > high:
        return general
    square = sizes(low, high, near=7).map(lambda n: (n, n))
    return st.one_of(general, square)
