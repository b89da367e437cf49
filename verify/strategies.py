"""Hypothesis strategies for the components' inputs, for the engine and for your own tests.

Every factory is a plural noun with keyword-only options, validated when it is called (a bad
option raises :class:`hypothesis.errors.InvalidArgument` naming it), and returns a strategy of
plain dataclasses whose arrays are materialized on demand. Arrays are drawn as *recipes*
(shape, dtype, seed, scale, offset) and built with NumPy's generator, so a 256 x 256 input costs
a few draws, and shrinking heads for small shapes, seed 0, unit scale and zero offset.

>>> from hypothesis import given
>>> from eqconform.verify.strategies import layernorm_inputs
>>> @given(layernorm_inputs(max_rows=8, max_features=8))
... def test_my_layernorm(case):
...     assert case.Z.shape == (case.rows, case.features)
>>> test_my_layernorm()
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .targets.protocol import AdamHyperparameters

__all__ = [
    "FLOAT_DTYPES",
    "AdamHyperparameters",
    "ArrayRecipe",
    "DropoutInput",
    "LayerNormInput",
    "OptimizerRun",
    "adam_hyperparameters",
    "array_recipes",
    "batch_shapes",
    "dropout_inputs",
    "float_dtypes",
    "hard_layernorm_inputs",
    "hard_optimizer_runs",
    "layernorm_inputs",
    "optimizer_runs",
]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# --------------------------------------------------------------------------- validation

def _check_positive_int(name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be an integer >= {minimum}")


def _check_range(low_name: str, low: float, high_name: str, high: float) -> None:
    if low > high:
        raise InvalidArgument(f"{low_name}={low!r} must not exceed {high_name}={high!r}")


def _check_dtypes(dtypes: Sequence[np.dtype | type | str]) -> tuple[np.dtype, ...]:
    resolved = []
    for dtype in dtypes:
        try:
            resolved_dtype = np.dtype(dtype)
        except TypeError as error:
            raise InvalidArgument(f"dtypes contains {dtype!r}, which is not a NumPy dtype") from error
        if resolved_dtype.kind != "f":
            raise InvalidArgument(f"dtypes contains {resolved_dtype}, which is not a floating dtype")
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
            values = values + np.sign(self.offset) * rng.uniform(reach / 2, reach, size=(self.shape[0], 1))
        else:
            values = values + self.offset
        return values.astype(self.dtype)

    def describe(self) -> str:
        extra = f", per-row offsets up to {self.offset:g}" if self.row_offsets else (
            f", offset {self.offset:g}" if self.offset else ""
        )
        return f"{self.dtype} {self.shape} from seed {self.seed}, scale {self.scale:g}{extra}"


def float_dtypes(*, dtypes: Sequence[np.dtype | type | str] = FLOAT_DTYPES) -> st.SearchStrategy[np.dtype]:
    """The floating dtypes to test in (float32 and float64 by default)."""
    return st.sampled_from(_check_dtypes(dtypes))


@functools.lru_cache(maxsize=None)
def _magnitudes(low: float, high: float) -> st.SearchStrategy[float]:
    """Scales spread over decades, shrinking toward 1 (or the nearest bound)."""
    if low <= 1.0 <= high:
        start = 0
    else:
        start = int(np.round(np.log10(low))) if low > 1 else int(np.round(np.log10(high)))
    low_exp, high_exp = int(np.floor(np.log10(low))), int(np.ceil(np.log10(high)))
    exponents = st.integers(low_exp, high_exp).filter(lambda e: low <= 10.0**e <= high)
    return st.one_of(st.just(10.0**start) if low <= 10.0**start <= high else st.just(low), exponents.map(lambda e: 10.0**e))


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
    if not 0 < min_scale <= max_scale:
        raise InvalidArgument(f"need 0 < min_scale={min_scale!r} <= max_scale={max_scale!r}")
    if max_offset < 0:
        raise InvalidArgument(f"max_offset={max_offset!r} must be >= 0")
    shape, dtype = tuple(shape), np.dtype(dtype)
    return _recipe_settings(min_scale, max_scale, max_offset).map(
        lambda drawn: ArrayRecipe(shape, dtype, *drawn, row_offsets=row_offsets)
    )


@functools.lru_cache(maxsize=None)
def _recipe_settings(min_scale: float, max_scale: float, max_offset: float) -> st.SearchStrategy[tuple[int, float, float]]:
    """(seed, scale, offset), built once per bounds: composite strategies draw from it for
    every array, and rebuilding (and revalidating) it each time dominated generation."""
    smallest = min(1.0, max_offset)
    offsets = st.just(0.0) if max_offset == 0 else st.one_of(
        st.just(0.0), _magnitudes(smallest, max_offset), _magnitudes(smallest, max_offset).map(lambda x: -x)
    )
    return st.tuples(st.integers(0, 2**32 - 1), _magnitudes(min_scale, max_scale), offsets)


def batch_shapes(
    *, min_rows: int = 1, max_rows: int = 256, min_features: int = 1, max_features: int = 256
) -> st.SearchStrategy[tuple[int, int]]:
    """``(N, C)`` shapes, with ``N == C`` drawn often (a whole class of bugs lives there).

    Sizes are drawn from a distribution skewed toward small values and shrink toward the
    minimum; Hypothesis's integers reach the corners ``N = 1``, ``C = 1`` and the largest
    sizes on their own. Both branches draw plain integers, so a shrink that moves a size from
    the wide branch to the narrow one keeps it meaningful.
    """
    _check_positive_int("min_rows", min_rows)
    _check_positive_int("min_features", min_features)
    _check_range("min_rows", min_rows, "max_rows", max_rows)
    _check_range("min_features", min_features, "max_features", max_features)

    def sizes(low: int, high: int) -> st.SearchStrategy[int]:
        return st.one_of(st.integers(low, min(high, low + 7)), st.integers(low, high))

    general = st.tuples(sizes(min_rows, max_rows), sizes(min_features, max_features))
    low, high = max(min_rows, min_features), min(max_rows, max_features)
    if low > high:
        return general
    square = sizes(low, high).map(lambda n: (n, n))
    return st.one_of(general, square)


# --------------------------------------------------------------------------- optimizers

def adam_hyperparameters(*, weight_decay: bool = False) -> st.SearchStrategy[AdamHyperparameters]:
    """Hyperparameters over the documented domains: ``0 < beta1, beta2 < 1``, ``lr, eps > 0``,
    ``weight_decay >= 0``; the documents' defaults (0.9, 0.999, 1e-8, 0.01) are drawn often."""
    betas = lambda default, low: st.one_of(  # noqa: E731
        st.just(default), st.floats(low, 0.9999), st.sampled_from([0.5, 0.99, 0.9999])
    )
    decays = st.one_of(st.just(0.01), st.floats(0.0, 1.0), st.sampled_from([0.0, 0.1, 0.5])) if weight_decay else st.just(0.0)
    return st.builds(
        AdamHyperparameters,
        lr=st.one_of(st.just(1e-3), st.sampled_from([1e-5, 1e-2, 0.1, 0.5, 1.0]), st.floats(1e-5, 1.0)),
        beta1=betas(0.9, 0.01),
        beta2=betas(0.999, 0.01),
        eps=st.one_of(st.just(1e-8), st.sampled_from([1e-12, 1e-6, 1e-3, 0.1]), st.floats(1e-12, 0.1)),
        weight_decay=decays,
    )


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
        return _parameter_shapes(self.layer_shapes)

    @cached_property
    def initial_parameters(self) -> list[np.ndarray]:
        return [recipe.build() for recipe in self.parameters]

    @cached_property
    def gradients(self) -> list[list[np.ndarray]]:
        rng = np.random.default_rng(self.gradient_seed)
        return [
            [(scale * rng.standard_normal(shape)).astype(self.dtype) for shape in self.parameter_shapes]
            for scale in self.gradient_scales
        ]

    def in_float64(self) -> OptimizerRun:
        """The same run computed in float64 (parameters and gradients from the same recipes)."""
        f64 = np.dtype(np.float64)
        parameters = tuple(ArrayRecipe(r.shape, f64, r.seed, r.scale, r.offset, r.row_offsets) for r in self.parameters)
        return OptimizerRun(f64, self.hyperparameters, self.layer_shapes, parameters, self.gradient_seed, self.gradient_scales)

    def describe(self) -> str:
        return "\n".join([
            f"dtype={self.dtype}, {self.hyperparameters.describe()}",
            f"layers (out, in): {list(self.layer_shapes)}, {self.steps} step(s)",
            "parameters: " + "; ".join(r.describe() for r in self.parameters),
            f"gradients: standard normal from seed {self.gradient_seed}, scaled per step by "
            f"{list(self.gradient_scales)}",
        ])


def _parameter_shapes(layer_shapes: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    shapes = []
    for out_features, in_features in layer_shapes:
        shapes += [(out_features, in_features), (out_features, 1)]
    return shapes


#: How many gradient scales a run draws at most; a longer run cycles through them.
_DISTINCT_SCALES = 64


def _cycled(cycle: Sequence[float], length: int) -> tuple[float, ...]:
    return tuple(cycle[i % len(cycle)] for i in range(length))


@st.composite
def _optimizer_runs(draw: st.DrawFn, min_steps: int, max_steps: int, max_layers: int, max_width: int,
                    weight_decay: bool, dtypes: tuple[np.dtype, ...], min_gradient_scale: float,
                    max_gradient_scale: float) -> OptimizerRun:
    dtype = draw(st.sampled_from(dtypes))
    layers = draw(st.lists(st.tuples(st.integers(1, max_width), st.integers(1, max_width)), min_size=1, max_size=max_layers))
    parameters = tuple(draw(array_recipes(shape, dtype, min_scale=1e-2, max_scale=1e2)) for shape in _parameter_shapes(layers))
    steps = draw(st.one_of(st.integers(min_steps, min(max_steps, min_steps + 4)), st.integers(min_steps, max_steps)))
    scale = _magnitudes(min_gradient_scale, max_gradient_scale)
    # A run longer than _DISTINCT_SCALES steps repeats a cycle of that many drawn scales: one
    # draw per step would exceed what Hypothesis can draw for one example (a list of more than
    # 8192 elements is refused outright, and far fewer already overrun its buffer).
    distinct = min(steps, _DISTINCT_SCALES)
    scales = draw(st.one_of(
        scale.map(lambda s: (s,) * steps),
        st.lists(scale, min_size=distinct, max_size=distinct).map(lambda cycle: _cycled(cycle, steps)),
    ))
    return OptimizerRun(dtype, draw(adam_hyperparameters(weight_decay=weight_decay)), tuple(layers), parameters,
                        draw(st.integers(0, 2**32 - 1)), scales)


def optimizer_runs(
    *,
    min_steps: int = 1,
    max_steps: int = 50,
    max_layers: int = 3,
    max_width: int = 8,
    weight_decay: bool = False,
    dtypes: Sequence[np.dtype | type | str] = FLOAT_DTYPES,
    min_gradient_scale: float = 1e-6,
    max_gradient_scale: float = 1e4,
) -> st.SearchStrategy[OptimizerRun]:
    """Runs of 1 to ``max_steps`` steps over up to ``max_layers`` layers of different shapes,
    with a fresh gradient for every parameter at every step (magnitudes from
    ``min_gradient_scale`` to ``max_gradient_scale``, constant or changing across steps)."""
    _check_positive_int("min_steps", min_steps)
    _check_range("min_steps", min_steps, "max_steps", max_steps)
    _check_positive_int("max_layers", max_layers)
    _check_positive_int("max_width", max_width)
    if not 0 < min_gradient_scale <= max_gradient_scale:
        raise InvalidArgument(
            f"need 0 < min_gradient_scale={min_gradient_scale!r} <= max_gradient_scale={max_gradient_scale!r}"
        )
    return _optimizer_runs(min_steps, max_steps, max_layers, max_width, weight_decay, _check_dtypes(dtypes),
                           min_gradient_scale, max_gradient_scale)


#: The dtypes of the hard profiles.
_HARD_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _hard_gradient_scales(dtype: np.dtype) -> tuple[float, float]:
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
    1 - beta**t is 1 to working precision).

    Not float16: there the second moment ``(1 - beta2) g**2`` underflows to zero for gradients
    up to about 0.02 (beta2 near 1), far above any eps, and the update then divides by eps
    instead of by ``|g|``: a float16 optimizer state cannot follow the equation at all, whoever
    wrote it. (In float32 and float64 a second moment underflows only for gradients far below
    the smallest eps, where the update does not depend on it.)
    """
    wide = st.one_of(*(
        optimizer_runs(weight_decay=weight_decay, max_steps=20, dtypes=(dtype,),
                       min_gradient_scale=_hard_gradient_scales(dtype)[0],
                       max_gradient_scale=_hard_gradient_scales(dtype)[1])
        for dtype in FLOAT_DTYPES
    ))
    long = optimizer_runs(weight_decay=weight_decay, min_steps=1000, max_steps=10_000, max_layers=1, max_width=1)
    return st.one_of(wide, long)


# --------------------------------------------------------------------------- layernorm

@dataclass(frozen=True)
class LayerNormInput:
    """An input ``Z`` (N, C), parameters ``gamma``, ``beta`` (1, C), ``eps`` and an upstream
    gradient ``G`` (N, C) for the backward pass."""

    dtype: np.dtype
    eps: float
    z: ArrayRecipe
    gamma_recipe: ArrayRecipe | None
    beta_recipe: ArrayRecipe | None
    upstream: ArrayRecipe
    fixed: dict[str, np.ndarray] = field(default_factory=dict, compare=False)

    @property
    def rows(self) -> int:
        return self.z.shape[0]

    @property
    def features(self) -> int:
        return self.z.shape[1]

    @cached_property
    def Z(self) -> np.ndarray:
        return self.fixed["Z"] if "Z" in self.fixed else self.z.build()

    @cached_property
    def gamma(self) -> np.ndarray:
        if "gamma" in self.fixed:
            return self.fixed["gamma"]
        if self.gamma_recipe is None:
            return np.ones((1, self.features), dtype=self.dtype)
        return self.gamma_recipe.build()

    @cached_property
    def beta(self) -> np.ndarray:
        if "beta" in self.fixed:
            return self.fixed["beta"]
        if self.beta_recipe is None:
            return np.zeros((1, self.features), dtype=self.dtype)
        return self.beta_recipe.build()

    def with_arrays(self, dtype: np.dtype, **arrays: np.ndarray) -> LayerNormInput:
        """The same case with some arrays replaced and every array cast to ``dtype``."""
        current = {"Z": self.Z, "G": self.G, "gamma": self.gamma, "beta": self.beta, **arrays}
        fixed = {name: np.asarray(value, dtype=np.float64).astype(dtype) for name, value in current.items()}
        return LayerNormInput(np.dtype(dtype), self.eps, self.z, self.gamma_recipe, self.beta_recipe, self.upstream, fixed)

    def in_float64(self) -> LayerNormInput:
        """Exactly the same numbers, held in float64."""
        return self.with_arrays(np.dtype(np.float64))

    def recentered(self) -> LayerNormInput:
        """Every row shifted to (nearly) zero mean: LayerNorm's output does not change, but a
        computation that loses accuracy on rows with a large mean no longer does."""
        rows = np.asarray(self.Z, dtype=np.float64)
        return self.with_arrays(self.dtype, Z=rows - rows.mean(axis=1, keepdims=True))

    @cached_property
    def G(self) -> np.ndarray:
        return self.fixed["G"] if "G" in self.fixed else self.upstream.build()

    def describe(self) -> str:
        return (
            f"N={self.rows}, C={self.features}, dtype={self.dtype}, eps={self.eps!r}\n"
            f"Z = {_show(self.Z)}\n"
            f"gamma = {_show(self.gamma)}\nbeta = {_show(self.beta)}\n"
            f"dL/dZtilde = {_show(self.G)}"
        )


def _show(array: np.ndarray) -> str:
    with np.printoptions(precision=17, threshold=64, edgeitems=3, linewidth=100):
        return f"np.array({np.array2string(array, separator=', ')}, dtype=np.{array.dtype})"


@st.composite
def _layernorm_inputs(draw: st.DrawFn, shapes: st.SearchStrategy[tuple[int, int]], dtypes: tuple[np.dtype, ...],
                      max_offset: float, affine: bool, eps: st.SearchStrategy[float],
                      scales: tuple[float, float] = (1e-3, 1e3)) -> LayerNormInput:
    rows, features = draw(shapes)
    dtype = draw(st.sampled_from(dtypes))
    z = draw(array_recipes((rows, features), dtype, min_scale=scales[0], max_scale=scales[1], max_offset=max_offset,
                           row_offsets=True))
    gamma = draw(array_recipes((1, features), dtype, min_scale=1e-1, max_scale=1e1)) if affine else None
    beta = draw(array_recipes((1, features), dtype, min_scale=1e-1, max_scale=1e1)) if affine else None
    upstream = draw(array_recipes((rows, features), dtype, min_scale=1e-2, max_scale=1e2))
    return LayerNormInput(dtype, draw(eps), z, gamma, beta, upstream)


def layernorm_inputs(
    *,
    min_rows: int = 1,
    max_rows: int = 256,
    min_features: int = 1,
    max_features: int = 256,
    dtypes: Sequence[np.dtype | type | str] = FLOAT_DTYPES,
    max_offset: float = 1e3,
    affine: bool = True,
    eps: st.SearchStrategy[float] | float | None = None,
    min_scale: float = 1e-3,
    max_scale: float = 1e3,
) -> st.SearchStrategy[LayerNormInput]:
    """LayerNorm inputs: shapes from :func:`batch_shapes`, rows with large offsets
    (``|mean| / std`` up to ``max_offset / 1e-3``), random ``gamma``/``beta`` unless
    ``affine=False`` (then 1 and 0), and ``eps`` from 1e-12 to 1 (the default 1e-8 often)."""
    if max_offset < 0:
        raise InvalidArgument(f"max_offset={max_offset!r} must be >= 0")
    if eps is None:
        eps_strategy = st.one_of(st.just(1e-8), st.sampled_from([1e-12, 1e-5, 0.1, 1.0]), st.floats(1e-12, 1.0))
    elif isinstance(eps, (int, float)):
        if eps < 0:
            raise InvalidArgument(f"eps={eps!r} must be >= 0")
        eps_strategy = st.just(float(eps))
    else:
        eps_strategy = eps
    if not 0 < min_scale <= max_scale:
        raise InvalidArgument(f"need 0 < min_scale={min_scale!r} <= max_scale={max_scale!r}")
    shapes = batch_shapes(min_rows=min_rows, max_rows=max_rows, min_features=min_features, max_features=max_features)
    return _layernorm_inputs(shapes, _check_dtypes(dtypes), max_offset, affine, eps_strategy, (min_scale, max_scale))


def _hard_eps(dtype: np.dtype) -> st.SearchStrategy[float]:
    """eps from 1e-30 to 1e-3, but never below the dtype's smallest normal number: a smaller eps
    rounds to zero (or loses its relative accuracy) on the way into the dtype, so the layer
    would divide by zero on a constant row where the equation, with the eps it was given, does
    not."""
    smallest = max(1e-30, float(np.finfo(dtype).smallest_normal))
    fixed = [eps for eps in (1e-30, 1e-12, 1e-8) if eps >= smallest] or [smallest]
    return st.one_of(st.sampled_from(fixed), st.floats(smallest, 1e-3))


def hard_layernorm_inputs() -> st.SearchStrategy[LayerNormInput]:
    """The hard corners: rows whose |mean| / std reaches 1e4 and far beyond (up to 1e8 in
    float32 and float64 and past it; float16, which overflows at 65504, up to 1e3), near-constant
    rows (spread down to 1e-12), eps down to 1e-30 (down to the smallest normal number of the
    dtype: 6.1e-5 in float16), and float16."""
    return st.one_of(*(
        layernorm_inputs(
            max_rows=32, max_features=64, dtypes=(dtype,), max_offset=1e3 if dtype == np.float16 else 1e8,
            min_scale=1e-12, max_scale=1.0, eps=_hard_eps(dtype),
        )
        for dtype in _HARD_DTYPES
    ))


# --------------------------------------------------------------------------- dropout

@dataclass(frozen=True)
class DropoutInput:
    """An input ``x``, the constructor's ``p``, an upstream gradient, and the RNG seed."""

    dtype: np.dtype
    p: float
    x_recipe: ArrayRecipe
    delta_recipe: ArrayRecipe
    seed: int

    @cached_property
    def x(self) -> np.ndarray:
        return self.x_recipe.build()

    @cached_property
    def delta(self) -> np.ndarray:
        return self.delta_recipe.build()

    def describe(self) -> str:
        return f"p={self.p!r}, seed={self.seed}, dtype={self.dtype}\nx = {_show(self.x)}\ndelta = {_show(self.delta)}"


@st.composite
def _dropout_inputs(draw: st.DrawFn, shapes: st.SearchStrategy[tuple[int, int]], dtypes: tuple[np.dtype, ...],
                    probabilities: st.SearchStrategy[float]) -> DropoutInput:
    shape = draw(shapes)
    dtype = draw(st.sampled_from(dtypes))
    return DropoutInput(
        dtype,
        draw(probabilities),
        draw(array_recipes(shape, dtype, min_scale=1e-3, max_scale=1e3)),
        draw(array_recipes(shape, dtype, min_scale=1e-3, max_scale=1e3)),
        draw(st.integers(0, 2**32 - 1)),
    )


def dropout_inputs(
    *,
    max_rows: int = 64,
    max_features: int = 64,
    dtypes: Sequence[np.dtype | type | str] = FLOAT_DTYPES,
    min_p: float = 0.0,
    max_p: float = 0.95,
) -> st.SearchStrategy[DropoutInput]:
    """Dropout inputs with ``min_p <= p <= max_p < 1`` (0.5, where the two readings of p agree,
    is drawn but not favoured)."""
    if not 0 <= min_p <= max_p < 1:
        raise InvalidArgument(f"need 0 <= min_p={min_p!r} <= max_p={max_p!r} < 1")
    probabilities = st.one_of(st.sampled_from([p for p in (0.1, 0.3, 0.8) if min_p <= p <= max_p] or [min_p]),
                              st.floats(min_p, max_p))
    return _dropout_inputs(batch_shapes(max_rows=max_rows, max_features=max_features), _check_dtypes(dtypes), probabilities)
