"""Hypothesis strategies for the EECS 182 components (attention, noise, diffusion, Algorithm 1,
linear autoencoders, LayerNorm scale laws and pre-LN stacks).

In the style of :mod:`eqconform.verify.strategies`: every factory is a plural noun with
keyword-only options validated when it is called (a bad option raises
:class:`hypothesis.errors.InvalidArgument` naming it), and draws plain dataclasses whose arrays
are *recipes* (shape, dtype, seed, scale) built on demand, so shrinking heads for small shapes,
seed 0 and unit scale. Every case has a ``describe()`` that spells it out.

>>> from hypothesis import given
>>> from eqconform.verify.strategies_extra import attention_inputs
>>> @given(attention_inputs(max_keys=4))
... def test_shapes(case):
...     assert case.Q.shape[1] == case.K.shape[1]
>>> test_shapes()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .strategies import (
    FLOAT_DTYPES,
    ArrayRecipe,
    LayerNormInput,
    _check_dtypes,
    _check_positive_int,
    _check_range,
    _show,
    array_recipes,
    layernorm_inputs,
)

__all__ = [
    "WeightDecayRun",
    "AttentionInput",
    "AutoencoderInput",
    "DiffusionInput",
    "NoiseInput",
    "PreNormStack",
    "ScaledLayerNormInput",
    "weight_decay_runs",
    "attention_inputs",
    "autoencoder_inputs",
    "diffusion_inputs",
    "noise_inputs",
    "prenorm_stacks",
    "scaled_layernorm_inputs",
]

def _sizes(low: int, high: int) -> st.SearchStrategy[int]:
    """Sizes skewed toward small values, shrinking toward ``low``."""
    return st.one_of(st.integers(low, min(high, low + 5)), st.integers(low, high))


# --------------------------------------------------------------------------- attention

@dataclass(frozen=True)
class AttentionInput:
    """Queries ``Q`` (N_q, D), keys ``K`` (N, D) and values ``V`` (N, M)."""

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
        return (f"N_q={self.Q.shape[0]}, N={self.K.shape[0]}, D={self.Q.shape[1]}, M={self.V.shape[1]}, "
                f"dtype={self.dtype}\nQ = {_show(self.Q)}\nK = {_show(self.K)}\nV = {_show(self.V)}")


@st.composite
def _attention_inputs(draw: st.DrawFn, max_queries: int, max_keys: int, max_dim: int, max_values: int,
                      dtypes: tuple[np.dtype, ...], max_scale: float, integers: bool) -> AttentionInput:
    dtype = draw(st.sampled_from(dtypes))
    queries, keys = draw(_sizes(1, max_queries)), draw(_sizes(1, max_keys))
    dim, width = draw(_sizes(1, max_dim)), draw(_sizes(1, max_values))
    scale = lambda shape: array_recipes(shape, dtype, min_scale=1e-2, max_scale=max_scale)
    case = AttentionInput(dtype, draw(scale((queries, dim))), draw(scale((keys, dim))),
                          draw(array_recipes((keys, width), dtype, min_scale=1e-3, max_scale=1e3)))
    if integers and draw(st.booleans()):  # small integers, as in the worked example: exact scores and ties
        rng = np.random.default_rng(case.queries.seed)
        fixed = tuple((name, rng.integers(-3, 4, size=getattr(case, name).shape).tolist()) for name in ("Q", "K", "V"))
        case = AttentionInput(dtype, case.queries, case.keys, case.values, fixed)
    return case


def attention_inputs(*, max_queries: int = 8, max_keys: int = 8, max_dim: int = 16, max_values: int = 4,
                     dtypes: Sequence[np.dtype | type | str] = FLOAT_DTYPES, max_scale: float = 2.0,
                     integers: bool = False) -> st.SearchStrategy[AttentionInput]:
    """Attention inputs; query and key entries up to ``max_scale`` in scale (so scores stay
    where exp is finite), and with ``integers`` also small-integer cases with exact ties."""
    for name, value in (("max_queries", max_queries), ("max_keys", max_keys), ("max_dim", max_dim),
                        ("max_values", max_values)):
        _check_positive_int(name, value)
    if not 1e-2 <= max_scale <= 10:
        raise InvalidArgument(f"max_scale={max_scale!r} must be in [0.01, 10] (larger scores overflow exp)")
    return _attention_inputs(max_queries, max_keys, max_dim, max_values, _check_dtypes(dtypes), max_scale, integers)


# --------------------------------------------------------------------------- noise

@dataclass(frozen=True)
class NoiseInput:
    """A regression problem ``X`` (N, P), ``y`` (N,), ``w`` (P,), noise parameters and a draw ``R``."""

    dtype: np.dtype
    design: ArrayRecipe
    targets: ArrayRecipe
    weights: ArrayRecipe
    noise: ArrayRecipe
    mu: float
    sigma: float

    @cached_property
    def X(self) -> np.ndarray:
        return self.design.build()

    @cached_property
    def y(self) -> np.ndarray:
        return self.targets.build()

    @cached_property
    def w(self) -> np.ndarray:
        return self.weights.build()

    @cached_property
    def R(self) -> np.ndarray:
        return (self.mu + self.sigma * self.noise.build().astype(np.float64)).astype(self.dtype)

    def describe(self) -> str:
        return (f"N={self.X.shape[0]}, P={self.X.shape[1]}, dtype={self.dtype}, mu={self.mu!r}, sigma={self.sigma!r}\n"
                f"X = {_show(self.X)}\ny = {_show(self.y)}\nw = {_show(self.w)}\nR = {_show(self.R)}")


@st.composite
def _noise_inputs(draw: st.DrawFn, max_samples: int, max_features: int, dtypes: tuple[np.dtype, ...]) -> NoiseInput:
    dtype = draw(st.sampled_from(dtypes))
    rows, cols = draw(_sizes(1, max_samples)), draw(_sizes(1, max_features))
    recipe = lambda shape, low=1e-2, high=1e2: array_recipes(shape, dtype, min_scale=low, max_scale=high)
    return NoiseInput(
        dtype, draw(recipe((rows, cols))), draw(recipe((rows,))), draw(recipe((cols,))),
        draw(array_recipes((rows, cols), np.dtype(np.float64), min_scale=1.0, max_scale=1.0)),
        draw(st.one_of(st.sampled_from([1.0, 0.5, 0.0, -1.0]), st.floats(-3.0, 3.0))),
        draw(st.one_of(st.sampled_from([1.0, 0.1]), st.floats(1e-3, 3.0))),
    )


def noise_inputs(*, max_samples: int = 16, max_features: int = 8,
                 dtypes: Sequence[np.dtype | type | str] = FLOAT_DTYPES) -> st.SearchStrategy[NoiseInput]:
    """Regression problems with a Gaussian draw of R (mean mu in [-3, 3], sd sigma in (0, 3])."""
    _check_positive_int("max_samples", max_samples)
    _check_positive_int("max_features", max_features)
    return _noise_inputs(max_samples, max_features, _check_dtypes(dtypes))


# --------------------------------------------------------------------------- diffusion

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

    @cached_property
    def z0(self) -> np.ndarray:
        return self.data.build()

    def describe(self) -> str:
        return (f"T={self.steps}, dtype={self.dtype}, betas uniform in [{self.beta_high / 100:g}, {self.beta_high:g}] "
                f"from seed {self.beta_seed}\nbetas = {_show(self.betas)}\nz0 = {_show(self.z0)}\n"
                f"alpha={self.alpha!r}, (t, tau)={self.times}, (eta1, eta2)={self.etas}, sampler seed {self.seed}")


@st.composite
def _diffusion_inputs(draw: st.DrawFn, max_steps: int, dtypes: tuple[np.dtype, ...]) -> DiffusionInput:
    dtype = draw(st.sampled_from(dtypes))
    steps = draw(_sizes(1, max_steps))
    earlier = draw(st.integers(1, steps))
    later = draw(st.integers(earlier, steps))
    eta1 = draw(st.one_of(st.sampled_from([0.1, 1.0, 10.0]), st.floats(1e-3, 1e3)))
    eta2 = eta1 * draw(st.one_of(st.just(2.0), st.floats(1.0001, 1e3)))
    shape = (draw(_sizes(1, 16)), draw(_sizes(1, 4)))
    return DiffusionInput(
        dtype, steps, draw(st.integers(0, 2**32 - 1)), draw(st.sampled_from([0.02, 0.2, 0.9])),
        draw(array_recipes(shape, dtype, min_scale=1e-2, max_scale=1e2)),
        draw(st.one_of(st.sampled_from([0.5, 0.99, 1e-3]), st.floats(1e-4, 1.0, exclude_min=True))),
        (earlier, later), (eta1, eta2), draw(st.integers(0, 2**32 - 1)),
    )


def diffusion_inputs(*, max_steps: int = 64, dtypes: Sequence[np.dtype | type | str] = FLOAT_DTYPES) -> st.SearchStrategy[DiffusionInput]:
    """Schedules of 1 to ``max_steps`` betas (up to 0.02, 0.2 or 0.9), alphas in (0, 1],
    eta_1 < eta_2 from 1e-3 to 1e6, and data arrays of scale 1e-2 to 1e2."""
    _check_positive_int("max_steps", max_steps)
    return _diffusion_inputs(max_steps, _check_dtypes(dtypes))


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

    @cached_property
    def theta(self) -> np.ndarray:
        return self.parameter.build()

    @cached_property
    def gradients(self) -> list[np.ndarray]:
        rng = np.random.default_rng(self.gradient_seed)
        return [(scale * rng.standard_normal(self.parameter.shape)).astype(self.dtype) for scale in self.gradient_scales]

    def describe(self) -> str:
        return (f"dtype={self.dtype}, lr={self.lr!r}, beta1={self.beta1!r}, beta2={self.beta2!r}, "
                f"weight_decay={self.weight_decay!r}, {len(self.gradient_scales)} step(s)\n"
                f"theta_0 = {_show(self.theta)}\ngradients: standard normal from seed {self.gradient_seed} "
                f"scaled by {list(self.gradient_scales)}")


@st.composite
def _weight_decay_runs(draw: st.DrawFn, max_steps: int, dtypes: tuple[np.dtype, ...]) -> WeightDecayRun:
    dtype = draw(st.sampled_from(dtypes))
    shape = (draw(_sizes(1, 8)), draw(_sizes(1, 4)))
    steps = draw(_sizes(1, max_steps))
    unit = lambda default: st.one_of(st.just(default), st.floats(0.01, 0.999))
    return WeightDecayRun(
        dtype,
        draw(st.one_of(st.just(1e-3), st.floats(1e-5, 1.0))), draw(unit(0.9)), draw(unit(0.999)),
        draw(st.one_of(st.sampled_from([0.01, 0.1]), st.floats(1e-4, 0.5))),
        draw(array_recipes(shape, dtype, min_scale=1e-2, max_scale=1e2)),
        draw(st.integers(0, 2**32 - 1)),
        tuple(draw(st.lists(st.sampled_from([1e-4, 1e-2, 1.0, 1e2]), min_size=steps, max_size=steps))),
    )


def weight_decay_runs(*, max_steps: int = 6, dtypes: Sequence[np.dtype | type | str] = FLOAT_DTYPES) -> st.SearchStrategy[WeightDecayRun]:
    """Runs of Algorithm 1: 0 < beta1, beta2 < 1, lr from 1e-5 to 1, weight decay from 1e-4 to 0.5."""
    _check_positive_int("max_steps", max_steps)
    return _weight_decay_runs(max_steps, _check_dtypes(dtypes))


# --------------------------------------------------------------------------- autoencoder

@dataclass(frozen=True)
class AutoencoderInput:
    """Data ``X`` (m, n), encoder ``W1`` (k, m), decoder ``W2`` (m, k) and a regularization strength."""

    dtype: np.dtype
    data: ArrayRecipe
    encoder: ArrayRecipe
    decoder: ArrayRecipe
    lam: float

    @cached_property
    def X(self) -> np.ndarray:
        return self.data.build()

    @cached_property
    def W1(self) -> np.ndarray:
        return self.encoder.build()

    @cached_property
    def W2(self) -> np.ndarray:
        return self.decoder.build()

    def describe(self) -> str:
        return (f"m={self.X.shape[0]}, n={self.X.shape[1]}, k={self.W1.shape[0]}, dtype={self.dtype}, lam={self.lam!r}\n"
                f"X = {_show(self.X)}\nW1 = {_show(self.W1)}\nW2 = {_show(self.W2)}")


@st.composite
def _autoencoder_inputs(draw: st.DrawFn, max_dim: int, max_samples: int, dtypes: tuple[np.dtype, ...]) -> AutoencoderInput:
    dtype = draw(st.sampled_from(dtypes))
    dim = draw(_sizes(1, max_dim))
    code = draw(st.integers(1, dim))
    samples = draw(_sizes(1, max_samples))
    recipe = lambda shape: array_recipes(shape, dtype, min_scale=1e-2, max_scale=1e2)
    return AutoencoderInput(dtype, draw(recipe((dim, samples))), draw(recipe((code, dim))), draw(recipe((dim, code))),
                            draw(st.one_of(st.just(0.0), st.floats(0.0, 10.0))))


def autoencoder_inputs(*, max_dim: int = 8, max_samples: int = 16,
                       dtypes: Sequence[np.dtype | type | str] = FLOAT_DTYPES) -> st.SearchStrategy[AutoencoderInput]:
    """Data of dimension 1 to ``max_dim`` with 1 to ``max_samples`` samples and a code size k <= m."""
    _check_positive_int("max_dim", max_dim)
    _check_positive_int("max_samples", max_samples)
    return _autoencoder_inputs(max_dim, max_samples, _check_dtypes(dtypes))


# --------------------------------------------------------------------------- LayerNorm scale laws

@dataclass(frozen=True)
class ScaledLayerNormInput:
    """A LayerNorm input (eps = 0, gamma = 1, beta = 0) and a scale ``a > 0``."""

    base: LayerNormInput
    a: float

    @property
    def dtype(self) -> np.dtype:
        return self.base.dtype

    def describe(self) -> str:
        return f"a={self.a!r}\n{self.base.describe()}"


def scaled_layernorm_inputs(*, max_rows: int = 32, max_features: int = 64,
                            dtypes: Sequence[np.dtype | type | str] = FLOAT_DTYPES) -> st.SearchStrategy[ScaledLayerNormInput]:
    """Rows of at least two features and scales a from 1e-3 to 1e3 (powers of two, exact in
    floating point, drawn often)."""
    scales = st.one_of(st.sampled_from([2.0, 0.5, 1024.0, 2.0**-10]), st.floats(1e-3, 1e3))
    return st.builds(ScaledLayerNormInput,
                     layernorm_inputs(max_rows=max_rows, min_features=2, max_features=max_features, dtypes=dtypes,
                                      affine=False, eps=0.0),
                     scales)


@dataclass(frozen=True)
class PreNormStack:
    """A pre-LN stack of ``layers`` identity-block layers, its normalized input ``x0`` (rows of
    mean 0 and norm sqrt(d)) and the last layer's upstream gradient (norm sqrt(d)), optionally
    orthogonal to 1 and x0 (where eq. (23) is attained)."""

    dtype: np.dtype
    layers: int
    rows: int
    features: int
    seed: int
    orthogonal: bool

    @cached_property
    def x0(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        x = rng.standard_normal((self.rows, self.features))
        x -= x.mean(axis=1, keepdims=True)
        x *= np.sqrt(self.features) / np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(self.dtype)

    @cached_property
    def upstream(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed + 1)
        g = rng.standard_normal((self.rows, self.features))
        if self.orthogonal:
            x = self.x0.astype(np.float64)
            g -= g.mean(axis=1, keepdims=True)
            g -= x * np.sum(g * x, axis=1, keepdims=True) / np.sum(x * x, axis=1, keepdims=True)
        g *= np.sqrt(self.features) / np.linalg.norm(g, axis=1, keepdims=True)
        return g.astype(self.dtype)

    def describe(self) -> str:
        direction = "orthogonal to 1 and x0" if self.orthogonal else "random"
        return (f"L={self.layers}, {self.rows} row(s) of d={self.features}, dtype={self.dtype}, seed {self.seed}, "
                f"g^(L) {direction}\nx0 = {_show(self.x0)}\ng^(L) = {_show(self.upstream)}")


@st.composite
def _prenorm_stacks(draw: st.DrawFn, max_layers: int, max_rows: int, max_features: int,
                    dtypes: tuple[np.dtype, ...]) -> PreNormStack:
    features = draw(_sizes(3, max_features))
    return PreNormStack(draw(st.sampled_from(dtypes)), draw(st.integers(1, max_layers)), draw(_sizes(1, max_rows)),
                        features, draw(st.integers(0, 2**31)), draw(st.booleans()))


def prenorm_stacks(*, max_layers: int = 4, max_rows: int = 8, max_features: int = 64,
                   dtypes: Sequence[np.dtype | type | str] = FLOAT_DTYPES) -> st.SearchStrategy[PreNormStack]:
    """Stacks of 1 to ``max_layers`` layers over rows of 3 to ``max_features`` features."""
    _check_positive_int("max_layers", max_layers)
    _check_positive_int("max_rows", max_rows)
    _check_positive_int("max_features", max_features, minimum=3)
    _check_range("3", 3, "max_features", max_features)
    return _prenorm_stacks(max_layers, max_rows, max_features, _check_dtypes(dtypes))
