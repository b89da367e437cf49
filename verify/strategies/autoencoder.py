"""Linear-autoencoder inputs: data, encoder, decoder and a regularization strength."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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

__all__ = ["AutoencoderInput", "autoencoder_inputs"]


@dataclass(frozen=True)
class AutoencoderInput:
    """Data ``X`` (m, n), encoder ``W1`` (k, m), decoder ``W2`` (m, k) and a regularization
    strength."""

    dtype: np.dtype
    data: ArrayRecipe
    encoder: ArrayRecipe
    decoder: ArrayRecipe
    lam: float

    X = built_from("data")
    W1 = built_from("encoder")
    W2 = built_from("decoder")

    def describe(self) -> str:
        return (
            f"m={self.X.shape[0]}, n={self.X.shape[1]}, k={self.W1.shape[0]}, "
            f"dtype={self.dtype}, lam={self.lam!r}\n"
            f"X = {show(self.X)}\nW1 = {show(self.W1)}\nW2 = {show(self.W2)}"
        )


#: Built once: a composite that builds its strategies in every draw spends its time validating them.
_PENALTIES = st.one_of(st.just(0.0), st.floats(0.0, 10.0))


@st.composite
def _autoencoder_inputs(
    draw: st.DrawFn, max_dim: int, max_samples: int, dtypes: tuple[np.dtype, ...]
) -> AutoencoderInput:
    dtype = draw(st.sampled_from(dtypes))
    dim = draw(sizes(1, max_dim))
    code = draw(st.integers(1, dim))
    samples = draw(sizes(1, max_samples))

    def recipe(shape: tuple[int, ...]) -> st.SearchStrategy[ArrayRecipe]:
        return array_recipes(shape, dtype, min_scale=1e-2, max_scale=1e2)

    return AutoencoderInput(
        dtype,
        draw(recipe((dim, samples))),
        draw(recipe((code, dim))),
        draw(recipe((dim, code))),
        draw(_PENALTIES),
    )


def autoencoder_inputs(
    *, max_dim: int = 8, max_samples: int = 16, dtypes: Sequence[DtypeLike] = FLOAT_DTYPES
) -> st.SearchStrategy[AutoencoderInput]:
    """Data of dimension 1 to ``max_dim`` with 1 to ``max_samples`` samples and a code size
    k <= m."""
    check_positive_int("max_dim", max_dim)
    check_positive_int("max_samples", max_samples)
    return _autoencoder_inputs(max_dim, max_samples, check_dtypes(dtypes))
