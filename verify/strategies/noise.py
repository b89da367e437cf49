"""Multiplicative-noise inputs: a regression problem and one Gaussian draw of the noise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from hypothesis import strategies as st

from .arrays import (
    FLOAT_DTYPES,
    ArrayRecipe,
    DtypeLike,
    array_recipes,
    built_from,
    check_dtypes,
    check_positive_int,
    show,
    sizes,
)

__all__ = ["NoiseInput", "noise_inputs"]


@dataclass(frozen=True)
class NoiseInput:
    """A regression problem ``X`` (N, P), ``y`` (N,), ``w`` (P,), noise parameters and a draw
    ``R``."""

    dtype: np.dtype
    design: ArrayRecipe
    targets: ArrayRecipe
    weights: ArrayRecipe
    noise: ArrayRecipe
    mu: float
    sigma: float

    X = built_from("design")
    y = built_from("targets")
    w = built_from("weights")

    @cached_property
    def R(self) -> np.ndarray:
        return (self.mu + self.sigma * self.noise.build().astype(np.float64)).astype(self.dtype)

    def describe(self) -> str:
        return (
            f"N={self.X.shape[0]}, P={self.X.shape[1]}, dtype={self.dtype}, "
            f"mu={self.mu!r}, sigma={self.sigma!r}\n"
            f"X = {show(self.X)}\ny = {show(self.y)}\nw = {show(self.w)}\nR = {show(self.R)}"
        )


# Built once: a composite that builds its strategies in every draw spends its time validating them.
_MEANS = st.one_of(st.sampled_from([1.0, 0.5, 0.0, -1.0]), st.floats(-3.0, 3.0))
_DEVIATIONS = st.one_of(st.sampled_from([1.0, 0.1]), st.floats(1e-3, 3.0))


@st.composite
def _noise_inputs(
    draw: st.DrawFn, max_samples: int, max_features: int, dtypes: tuple[np.dtype, ...]
) -> NoiseInput:
    dtype = draw(st.sampled_from(dtypes))
    rows, cols = draw(sizes(1, max_samples)), draw(sizes(1, max_features))

    def recipe(shape: tuple[int, ...]) -> st.SearchStrategy[ArrayRecipe]:
        return array_recipes(shape, dtype, min_scale=1e-2, max_scale=1e2)

    return NoiseInput(
        dtype,
        draw(recipe((rows, cols))),
        draw(recipe((rows,))),
        draw(recipe((cols,))),
        draw(array_recipes((rows, cols), np.dtype(np.float64), min_scale=1.0, max_scale=1.0)),
        draw(_MEANS),
        draw(_DEVIATIONS),
    )


def noise_inputs(
    *, max_samples: int = 16, max_features: int = 8, dtypes: Sequence[DtypeLike] = FLOAT_DTYPES
) -> st.SearchStrategy[NoiseInput]:
    """Regression problems with a Gaussian draw of R (mean mu in [-3, 3], sd sigma in (0, 3])."""
    check_positive_int("max_samples", max_samples)
    check_positive_int("max_features", max_features)
    return _noise_inputs(max_samples, max_features, check_dtypes(dtypes))
