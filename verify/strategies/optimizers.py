"""Optimizer runs: Adam and AdamW over several layers, and the exam's adaptive method with
weight decay (Algorithm 1), one fresh gradient per step."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..targets.protocol import AdamHyperparameters
from .arrays import (
    FLOAT_DTYPES,
    SEEDS,
    ArrayRecipe,
    DtypeLike,
    array_recipes,
    built_from,
    check_dtypes,
    check_positive_int,
    check_range,
    check_scales,
    magnitudes,
    show,
    sizes,
)

__all__ = [
    "AdamHyperparameters",
    "OptimizerRun",
    "WeightDecayRun",
    "adam_hyperparameters",
    "hard_gradient_scales",
    "hard_optimizer_runs",
    "optimizer_runs",
    "parameter_shapes",
    "weight_decay_runs",
]


def _betas(default: float, low: float) -> st.SearchStrategy[float]:
    """A decay rate in [``low``, 0.9999]: the document's default, common values, or any."""
    return st.one_of(st.just(default), st.floats(low, 0.9999), st.sampled_from([0.5, 0.99, 0.9999]))


def adam_hyperparameters(*, weight_decay: bool = False) -> st.SearchStrategy[AdamHyperparameters]:
    """Hyperparameters over the documented domains: ``0 < beta1, beta2 < 1``, ``lr, eps > 0``,
    ``weight_decay >= 0``; the documents' defaults (0.9, 0.999, 1e-8, 0.01) are drawn often."""
    return _adam_hyperparameters(bool(weight_decay))


@functools.cache
def _adam_hyperparameters(weight_decay: bool) -> st.SearchStrategy[AdamHyperparameters]:
    # Built once: composite strategies draw it for every run, and building (and validating)
    # its dozen strategies afresh each time was a large part of drawing a run.
    decays = (
        st.one_of(st.just(0.01), st.floats(0.0, 1.0), st.sampled_from([0.0, 0.1, 0.5]))
        if weight_decay
        else st.just(0.0)
    )
    return st.builds(
        AdamHyperparameters,
        lr=st.one_of(
            st.just(1e-3), st.sampled_from([1e-5, 1e-2, 0.1, 0.5, 1.0]), st.floats(1e-5, 1.0)
        ),
        beta1=_betas(0.9, 0.01),
        beta2=_betas(0.999, 0.01),
        eps=st.one_of(
            st.just(1e-8), st.sampled_from([1e-12, 1e-6, 1e-3, 0.1]), st.floats(1e-12, 0.1)
        ),
        weight_decay=decays,
    )


def parameter_shapes(layer_shapes: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``W`` (out, in) then ``b`` (out, 1) for every layer."""
    shapes = []
    for out_features, in_features in layer_shapes:
        shapes += [(out_features, in_features), (out_features, 1)]
    return shapes


@dataclass(frozen=True)
class OptimizerRun:
    """Layers (``W`` is (out, in), ``b`` is (out, 1)) and one fresh gradient per step.

    The gradients of step ``s`` are standard normal draws from ``default_rng(gradient_seed)``
    times ``gradient_scales[s]``, so magnitudes change from step to step.
    """

    dtype: np.dtype
    hyperparameters: AdamHyperparameters
    layer_shapes: tuple[tuple[int, int], ...]
    parameters: tuple[ArrayRecipe, ...]
    gradient_seed: int
    gradient_scales: tuple[float, ...]

    @property
    def steps(self) -> int:
        return len(self.gradient_scales)

    @property
    def parameter_shapes(self) -> list[tuple[int, int]]:
        return parameter_shapes(self.layer_shapes)

    @cached_property
    def initial_parameters(self) -> list[np.ndarray]:
        return [recipe.build() for recipe in self.parameters]

    @cached_property
    def gradients(self) -> list[list[np.ndarray]]:
        rng = np.random.default_rng(self.gradient_seed)
        return [
            [
                (scale * rng.standard_normal(shape)).astype(self.dtype)
                for shape in self.parameter_shapes
            ]
            for scale in self.gradient_scales
        ]

    def in_float64(self) -> OptimizerRun:
        """The same run computed in float64 (parameters and gradients from the same recipes)."""
        f64 = np.dtype(np.float64)
        parameters = tuple(
            ArrayRecipe(r.shape, f64, r.seed, r.scale, r.offset, r.row_offsets)
            for r in self.parameters
        )
        return OptimizerRun(
            f64,
            self.hyperparameters,
            self.layer_shapes,
            parameters,
            self.gradient_seed,
            self.gradient_scales,
        )

    def describe(self) -> str:
        return "\n".join(
            [
                f"dtype={self.dtype}, {self.hyperparameters.describe()}",
                f"layers (out, in): {list(self.layer_shapes)}, {self.steps} step(s)",
                "parameters: " + "; ".join(r.describe() for r in self.parameters),
                (
                    f"gradients: standard normal from seed {self.gradient_seed}, "
                    f"scaled per step by {list(self.gradient_scales)}"
                ),
            ]
        )


#: How many gradient scales a run draws at most; a longer run cycles through them.
_DISTINCT_SCALES = 64


def _cycled(cycle: Sequence[float], length: int) -> tuple[float, ...]:
    return tuple(cycle[i % len(cycle)] for i in range(length))


# The strategies a run is drawn from, built once per setting (building and validating them for
# every draw cost more than drawing from them).


@functools.cache
def _sampled(choices: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(choices)


@functools.cache
def _layer_shapes(max_width: int, max_layers: int) -> st.SearchStrategy[list[tuple[int, int]]]:
    return st.lists(
        st.tuples(st.integers(1, max_width), st.integers(1, max_width)),
        min_size=1,
        max_size=max_layers,
    )


@functools.cache
def _scale_cycles(low: float, high: float, distinct: int) -> st.SearchStrategy[tuple[float, ...]]:
    """One scale for every step, or a cycle of ``distinct`` scales."""
    scale = magnitudes(low, high)
    return st.one_of(
        scale.map(lambda s: (s,)),
        st.lists(scale, min_size=distinct, max_size=distinct).map(tuple),
    )


@st.composite
def _optimizer_runs(
    draw: st.DrawFn,
    steps_drawn: st.SearchStrategy[int],
    max_layers: int,
    max_width: int,
    weight_decay: bool,
    dtypes: tuple[np.dtype, ...],
    min_gradient_scale: float,
    max_gradient_scale: float,
) -> OptimizerRun:
    dtype = draw(_sampled(dtypes))
    layers = draw(_layer_shapes(max_width, max_layers))
    parameters = tuple(
        draw(array_recipes(shape, dtype, min_scale=1e-2, max_scale=1e2))
        for shape in parameter_shapes(layers)
    )
    steps = draw(steps_drawn)
    # A run longer than _DISTINCT_SCALES steps repeats a cycle of that many drawn scales: one
    # draw per step would exceed what Hypothesis can draw for one example (a list of more than
    # 8192 elements is refused outright, and far fewer already overrun its buffer).
    cycle = draw(
        _scale_cycles(min_gradient_scale, max_gradient_scale, min(steps, _DISTINCT_SCALES))
    )
    scales = _cycled(cycle, steps)
    return OptimizerRun(
        dtype,
        draw(adam_hyperparameters(weight_decay=weight_decay)),
        tuple(layers),
        parameters,
        draw(SEEDS),
        scales,
    )


def optimizer_runs(
    *,
    min_steps: int = 1,
    max_steps: int = 50,
    max_layers: int = 3,
    max_width: int = 8,
    weight_decay: bool = False,
    dtypes: Sequence[DtypeLike] = FLOAT_DTYPES,
    min_gradient_scale: float = 1e-6,
    max_gradient_scale: float = 1e4,
) -> st.SearchStrategy[OptimizerRun]:
    """Runs of 1 to ``max_steps`` steps over up to ``max_layers`` layers of different shapes,
    with a fresh gradient for every parameter at every step (magnitudes from
    ``min_gradient_scale`` to ``max_gradient_scale``, constant or changing across steps)."""
    check_positive_int("min_steps", min_steps)
    check_range("min_steps", min_steps, "max_steps", max_steps)
    check_positive_int("max_layers", max_layers)
    check_positive_int("max_width", max_width)
    check_scales("min_gradient_scale", min_gradient_scale, "max_gradient_scale", max_gradient_scale)
    return _optimizer_runs(
        sizes(min_steps, max_steps, near=4),
        max_layers,
        max_width,
        weight_decay,
        check_dtypes(dtypes),
        min_gradient_scale,
        max_gradient_scale,
    )


def hard_gradient_scales(dtype: np.dtype) -> tuple[float, float]:
    """Gradient scales from 1e-30 to 1e30, kept where the dtype holds the answers: at the top,
    ``g**2`` (Adam's second moment, several standard deviations out) must not overflow, or the
    exact result is a number the dtype cannot represent and no implementation could return it;
    at the bottom, below the smallest subnormal every gradient is 0 and nothing is tested."""
    info = np.finfo(dtype)
    top = 10.0 ** (int(np.floor(np.log10(np.sqrt(float(info.max))))) - 1)
    bottom = 10.0 ** int(np.ceil(np.log10(float(info.smallest_subnormal))))
    return max(1e-30, bottom), min(1e30, top)


def hard_optimizer_runs(*, weight_decay: bool = False) -> st.SearchStrategy[OptimizerRun]:
    """The hard corners: gradients from 1e-30 to 1e30 (within what each dtype can hold: up to
    1e18 in float32), and long runs on a small layer that reach step t = 10**4 (where
    1 - beta**t is 1 to working precision) and shrink to as few steps as still fail.

    Not float16: there the second moment ``(1 - beta2) g**2`` underflows to zero for gradients
    up to about 0.02 (beta2 near 1), far above any eps, and the update then divides by eps
    instead of by ``|g|``: a float16 optimizer state cannot follow the equation at all, whoever
    wrote it. (In float32 and float64 a second moment underflows only for gradients far below
    the smallest eps, where the update does not depend on it.)
    """
    wide = st.one_of(
        *(
            optimizer_runs(
                weight_decay=weight_decay,
                max_steps=20,
                dtypes=(dtype,),
                min_gradient_scale=hard_gradient_scales(dtype)[0],
                max_gradient_scale=hard_gradient_scales(dtype)[1],
            )
            for dtype in FLOAT_DTYPES
        )
    )
    # One integer over the whole range: about half the draws reach 1,000 steps, and a failing
    # run shrinks straight down to as few steps as still fail (a separate branch of runs from
    # 1,000 steps up left the shrinker stuck at that floor).
    long_steps = st.integers(1, 10_000)
    long = _optimizer_runs(long_steps, 1, 1, weight_decay, check_dtypes(FLOAT_DTYPES), 1e-6, 1e4)
    return st.one_of(wide, long)


# --------------------------------------------------------------------------- Algorithm 1


@dataclass(frozen=True)
class WeightDecayRun:
    """A parameter, Algorithm 1's hyperparameters and one gradient per step."""

    dtype: np.dtype
    lr: float
    beta1: float
    beta2: float
    weight_decay: float
    parameter: ArrayRecipe
    gradient_seed: int
    gradient_scales: tuple[float, ...]

    theta = built_from("parameter")

    @cached_property
    def gradients(self) -> list[np.ndarray]:
        rng = np.random.default_rng(self.gradient_seed)
        return [
            (scale * rng.standard_normal(self.parameter.shape)).astype(self.dtype)
            for scale in self.gradient_scales
        ]

    def describe(self) -> str:
        return (
            f"dtype={self.dtype}, lr={self.lr!r}, beta1={self.beta1!r}, beta2={self.beta2!r}, "
            f"weight_decay={self.weight_decay!r}, {len(self.gradient_scales)} step(s)\n"
            f"theta_0 = {show(self.theta)}\n"
            f"gradients: standard normal from seed {self.gradient_seed} "
            f"scaled by {list(self.gradient_scales)}"
        )


@functools.cache
def _unit_interval(default: float) -> st.SearchStrategy[float]:
    """A rate in [0.01, 0.999], often ``default``."""
    return st.one_of(st.just(default), st.floats(0.01, 0.999))


# Built once: a composite that builds its strategies in every draw spends its time validating them.
_LEARNING_RATES = st.one_of(st.just(1e-3), st.floats(1e-5, 1.0))
_WEIGHT_DECAYS = st.one_of(st.sampled_from([0.01, 0.1]), st.floats(1e-4, 0.5))


@functools.cache
def _gradient_scales(steps: int) -> st.SearchStrategy[list[float]]:
    return st.lists(st.sampled_from([1e-4, 1e-2, 1.0, 1e2]), min_size=steps, max_size=steps)


@st.composite
def _weight_decay_runs(
    draw: st.DrawFn, max_steps: int, dtypes: tuple[np.dtype, ...]
) -> WeightDecayRun:
    dtype = draw(st.sampled_from(dtypes))
    shape = (draw(sizes(1, 8)), draw(sizes(1, 4)))
    steps = draw(sizes(1, max_steps))
    return WeightDecayRun(
        dtype,
        draw(_LEARNING_RATES),
        draw(_unit_interval(0.9)),
        draw(_unit_interval(0.999)),
        draw(_WEIGHT_DECAYS),
        draw(array_recipes(shape, dtype, min_scale=1e-2, max_scale=1e2)),
        draw(SEEDS),
        tuple(draw(_gradient_scales(steps))),
    )


def weight_decay_runs(
    *, max_steps: int = 6, dtypes: Sequence[DtypeLike] = FLOAT_DTYPES
) -> st.SearchStrategy[WeightDecayRun]:
    """Runs of Algorithm 1: 0 < beta1, beta2 < 1, lr from 1e-5 to 1, weight decay from 1e-4 to
    0.5."""
    check_positive_int("max_steps", max_steps)
    return _weight_decay_runs(max_steps, check_dtypes(dtypes))
