"""Forward-diffusion inputs: a schedule, data, and the times and ratios the samplers take."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from hypothesis import strategies as st

from .arrays import (
    FLOAT_DTYPES,
    SEEDS,
    ArrayRecipe,
    DtypeLike,
    array_recipes,
    built_from,
    check_dtypes,
    check_positive_int,
    show,
    sizes,
)

__all__ = ["DiffusionInput", "diffusion_inputs"]


@dataclass(frozen=True)
class DiffusionInput:
    """A schedule of ``steps`` betas, a data array ``z0``, one alpha, a pair of times (t < tau), a
    pair of noise-to-signal ratios (eta1 < eta2) and the seed of the samplers' draws."""

    dtype: np.dtype
    steps: int
    beta_seed: int
    beta_high: float
    data: ArrayRecipe
    alpha: float
    times: tuple[int, int]
    etas: tuple[float, float]
    seed: int

    @cached_property
    def betas(self) -> np.ndarray:
        rng = np.random.default_rng(self.beta_seed)
        return rng.uniform(self.beta_high / 100, self.beta_high, size=self.steps).astype(self.dtype)

    z0 = built_from("data")

    def describe(self) -> str:
        return (
            f"T={self.steps}, dtype={self.dtype}, "
            f"betas uniform in [{self.beta_high / 100:g}, {self.beta_high:g}] "
            f"from seed {self.beta_seed}\nbetas = {show(self.betas)}\nz0 = {show(self.z0)}\n"
            f"alpha={self.alpha!r}, (t, tau)={self.times}, (eta1, eta2)={self.etas}, "
            f"sampler seed {self.seed}"
        )


# Built once: a composite that builds its strategies in every draw spends its time validating them.
_ETAS = st.one_of(st.sampled_from([0.1, 1.0, 10.0]), st.floats(1e-3, 1e3))
_ETA_RATIOS = st.one_of(st.just(2.0), st.floats(1.0001, 1e3))
_LARGEST_BETAS = st.sampled_from([0.02, 0.2, 0.9])
_ALPHAS = st.one_of(st.sampled_from([0.5, 0.99, 1e-3]), st.floats(1e-4, 1.0, exclude_min=True))


@st.composite
def _diffusion_inputs(
    draw: st.DrawFn, max_steps: int, dtypes: tuple[np.dtype, ...]
) -> DiffusionInput:
    dtype = draw(st.sampled_from(dtypes))
    steps = draw(sizes(1, max_steps))
    earlier = draw(st.integers(1, steps))
    later = draw(st.integers(earlier, steps))
    eta1 = draw(_ETAS)
    eta2 = eta1 * draw(_ETA_RATIOS)
    shape = (draw(sizes(1, 16)), draw(sizes(1, 4)))
    return DiffusionInput(
        dtype,
        steps,
        draw(SEEDS),
        draw(_LARGEST_BETAS),
        draw(array_recipes(shape, dtype, min_scale=1e-2, max_scale=1e2)),
        draw(_ALPHAS),
        (earlier, later),
        (eta1, eta2),
        draw(SEEDS),
    )


def diffusion_inputs(
    *, max_steps: int = 64, dtypes: Sequence[DtypeLike] = FLOAT_DTYPES
) -> st.SearchStrategy[DiffusionInput]:
    """Schedules of 1 to ``max_steps`` betas (up to 0.02, 0.2 or 0.9), alphas in (0, 1],
    eta_1 < eta_2 from 1e-3 to 1e6, and data arrays of scale 1e-2 to 1e2."""
    check_positive_int("max_steps", max_steps)
    return _diffusion_inputs(max_steps, check_dtypes(dtypes))
