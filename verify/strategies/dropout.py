"""Dropout inputs: an input, the constructor's ``p``, an upstream gradient and a seed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .arrays import (
    FLOAT_DTYPES,
    SEEDS,
    ArrayRecipe,
    DtypeLike,
    array_recipes,
    batch_shapes,
    built_from,
    check_dtypes,
    show,
)

__all__ = ["DropoutInput", "dropout_inputs"]


@dataclass(frozen=True)
class DropoutInput:
    """An input ``x``, the constructor's ``p``, an upstream gradient, and the RNG seed."""

    dtype: np.dtype
    p: float
    x_recipe: ArrayRecipe
    delta_recipe: ArrayRecipe
    seed: int

    x = built_from("x_recipe")
    delta = built_from("delta_recipe")

    def describe(self) -> str:
        return (
            f"p={self.p!r}, seed={self.seed}, dtype={self.dtype}\n"
            f"x = {show(self.x)}\ndelta = {show(self.delta)}"
        )


@st.composite
def _dropout_inputs(
    draw: st.DrawFn,
    shapes: st.SearchStrategy[tuple[int, int]],
    dtypes: tuple[np.dtype, ...],
    probabilities: st.SearchStrategy[float],
) -> DropoutInput:
    shape = draw(shapes)
    dtype = draw(st.sampled_from(dtypes))
    return DropoutInput(
        dtype,
        draw(probabilities),
        draw(array_recipes(shape, dtype, min_scale=1e-3, max_scale=1e3)),
        draw(array_recipes(shape, dtype, min_scale=1e-3, max_scale=1e3)),
        draw(SEEDS),
    )


def dropout_inputs(
    *,
    max_rows: int = 64,
    max_features: int = 64,
    dtypes: Sequence[DtypeLike] = FLOAT_DTYPES,
    min_p: float = 0.0,
    max_p: float = 0.95,
) -> st.SearchStrategy[DropoutInput]:
    """Dropout inputs with ``min_p <= p <= max_p < 1`` (0.5, where the two readings of p agree,
    is drawn but not favoured)."""
    if not 0 <= min_p <= max_p < 1:
        raise InvalidArgument(f"need 0 <= min_p={min_p!r} <= max_p={max_p!r} < 1")
    probabilities = st.one_of(
        st.sampled_from([p for p in (0.1, 0.3, 0.8) if min_p <= p <= max_p] or [min_p]),
        st.floats(min_p, max_p),
    )
    return _dropout_inputs(
        batch_shapes(max_rows=max_rows, max_features=max_features),
        check_dtypes(dtypes),
        probabilities,
    )
