"""Attention inputs: queries ``Q`` (N_q, D), keys ``K`` (N, D) and values ``V`` (N, M)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .arrays import (
    FLOAT_DTYPES,
    ArrayRecipe,
    DtypeLike,
    array_recipes,
    check_dtypes,
    check_positive_int,
    show,
    sizes,
)

__all__ = ["AttentionInput", "attention_inputs"]


@dataclass(frozen=True)
class AttentionInput:
    """Queries ``Q`` (N_q, D), keys ``K`` (N, D) and values ``V`` (N, M); ``fixed`` holds
    arrays given as nested lists instead of recipes (a worked example, small integers)."""

    dtype: np.dtype
    queries: ArrayRecipe
    keys: ArrayRecipe
    values: ArrayRecipe
    fixed: tuple[tuple[str, tuple], ...] = ()

    def _array(self, name: str, recipe: ArrayRecipe) -> np.ndarray:
        given = dict(self.fixed)
        return np.array(given[name], dtype=self.dtype) if name in given else recipe.build()

    @cached_property
    def Q(self) -> np.ndarray:
        return self._array("Q", self.queries)

    @cached_property
    def K(self) -> np.ndarray:
        return self._array("K", self.keys)

    @cached_property
    def V(self) -> np.ndarray:
        return self._array("V", self.values)

    def describe(self) -> str:
        return (
            f"N_q={self.Q.shape[0]}, N={self.K.shape[0]}, D={self.Q.shape[1]}, "
            f"M={self.V.shape[1]}, dtype={self.dtype}\n"
            f"Q = {show(self.Q)}\nK = {show(self.K)}\nV = {show(self.V)}"
        )


@st.composite
def _attention_inputs(
    draw: st.DrawFn,
    max_queries: int,
    max_keys: int,
    max_dim: int,
    max_values: int,
    dtypes: tuple[np.dtype, ...],
    max_scale: float,
    integers: bool,
) -> AttentionInput:
    dtype = draw(st.sampled_from(dtypes))
    queries, keys = draw(sizes(1, max_queries)), draw(sizes(1, max_keys))
    dim, width = draw(sizes(1, max_dim)), draw(sizes(1, max_values))

    def scale(shape: tuple[int, ...]) -> st.SearchStrategy[ArrayRecipe]:
        return array_recipes(shape, dtype, min_scale=1e-2, max_scale=max_scale)

    case = AttentionInput(
        dtype,
        draw(scale((queries, dim))),
        draw(scale((keys, dim))),
        draw(array_recipes((keys, width), dtype, min_scale=1e-3, max_scale=1e3)),
    )
    # Small integers, as in the worked example: exact scores and ties.
    if integers and draw(st.booleans()):
        rng = np.random.default_rng(case.queries.seed)
        fixed = tuple(
            (name, rng.integers(-3, 4, size=getattr(case, name).shape).tolist())
            for name in ("Q", "K", "V")
        )
        case = AttentionInput(dtype, case.queries, case.keys, case.values, fixed)
    return case


def attention_inputs(
    *,
    max_queries: int = 8,
    max_keys: int = 8,
    max_dim: int = 16,
    max_values: int = 4,
    dtypes: Sequence[DtypeLike] = FLOAT_DTYPES,
    max_scale: float = 2.0,
    integers: bool = False,
) -> st.SearchStrategy[AttentionInput]:
    """Attention inputs; query and key entries up to ``max_scale`` in scale (so scores stay
    where exp is finite), and with ``integers`` also small-integer cases with exact ties."""
    for name, value in (
        ("max_queries", max_queries),
        ("max_keys", max_keys),
        ("max_dim", max_dim),
        ("max_values", max_values),
    ):
        check_positive_int(name, value)
    if not 1e-2 <= max_scale <= 10:
        raise InvalidArgument(
            f"max_scale={max_scale!r} must be in [0.01, 10] (larger scores overflow exp)"
        )
    return _attention_inputs(
        max_queries, max_keys, max_dim, max_values, check_dtypes(dtypes), max_scale, integers
    )
