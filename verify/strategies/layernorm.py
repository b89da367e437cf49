"""LayerNorm inputs: batches with large row means, their hard corners, the same layer with
eps = 0 at a scale ``a`` (scale laws), and pre-LN stacks built on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .arrays import (
    FLOAT_DTYPES,
    HARD_DTYPES,
    ArrayRecipe,
    DtypeLike,
    array_recipes,
    batch_shapes,
    check_dtypes,
    check_positive_int,
    check_range,
    check_scales,
    show,
    sizes,
)

__all__ = [
    "LayerNormInput",
    "PreNormStack",
    "ScaledLayerNormInput",
    "hard_eps",
    "hard_layernorm_inputs",
    "layernorm_inputs",
    "prenorm_stacks",
    "scaled_layernorm_inputs",
]


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

    def _array(self, name: str, recipe: ArrayRecipe | None, absent: float = 0.0) -> np.ndarray:
        """A fixed array if the case has one, else the recipe's, else ``absent`` everywhere
        (a layer without affine parameters: gamma 1, beta 0)."""
        if name in self.fixed:
            return self.fixed[name]
        if recipe is None:
            return np.full((1, self.features), absent, dtype=self.dtype)
        return recipe.build()

    @cached_property
    def Z(self) -> np.ndarray:
        return self._array("Z", self.z)

    @cached_property
    def gamma(self) -> np.ndarray:
        return self._array("gamma", self.gamma_recipe, absent=1.0)

    @cached_property
    def beta(self) -> np.ndarray:
        return self._array("beta", self.beta_recipe)

    def with_arrays(self, dtype: np.dtype, **arrays: np.ndarray) -> LayerNormInput:
        """The same case with some arrays replaced and every array cast to ``dtype``."""
        current = {"Z": self.Z, "G": self.G, "gamma": self.gamma, "beta": self.beta, **arrays}
        fixed = {
            name: np.asarray(value, dtype=np.float64).astype(dtype)
            for name, value in current.items()
        }
        return LayerNormInput(
            np.dtype(dtype),
            self.eps,
            self.z,
            self.gamma_recipe,
            self.beta_recipe,
            self.upstream,
            fixed,
        )

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
        return self._array("G", self.upstream)

    def describe(self) -> str:
        return (
            f"N={self.rows}, C={self.features}, dtype={self.dtype}, eps={self.eps!r}\n"
            f"Z = {show(self.Z)}\n"
            f"gamma = {show(self.gamma)}\nbeta = {show(self.beta)}\n"
            f"dL/dZtilde = {show(self.G)}"
        )


@st.composite
def _layernorm_inputs(
    draw: st.DrawFn,
    shapes: st.SearchStrategy[tuple[int, int]],
    dtypes: tuple[np.dtype, ...],
    max_offset: float,
    affine: bool,
    eps: st.SearchStrategy[float],
    scales: tuple[float, float] = (1e-3, 1e3),
) -> LayerNormInput:
    rows, features = draw(shapes)
    dtype = draw(st.sampled_from(dtypes))
    z = draw(
        array_recipes(
            (rows, features),
            dtype,
            min_scale=scales[0],
            max_scale=scales[1],
            max_offset=max_offset,
            row_offsets=True,
        )
    )
    gamma = (
        draw(array_recipes((1, features), dtype, min_scale=1e-1, max_scale=1e1)) if affine else None
    )
    beta = (
        draw(array_recipes((1, features), dtype, min_scale=1e-1, max_scale=1e1)) if affine else None
    )
    upstream = draw(array_recipes((rows, features), dtype, min_scale=1e-2, max_scale=1e2))
    return LayerNormInput(dtype, draw(eps), z, gamma, beta, upstream)


def layernorm_inputs(
    *,
    min_rows: int = 1,
    max_rows: int = 256,
    min_features: int = 1,
    max_features: int = 256,
    dtypes: Sequence[DtypeLike] = FLOAT_DTYPES,
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
        eps_strategy = st.one_of(
            st.just(1e-8), st.sampled_from([1e-12, 1e-5, 0.1, 1.0]), st.floats(1e-12, 1.0)
        )
    elif isinstance(eps, (int, float)):
        if eps < 0:
            raise InvalidArgument(f"eps={eps!r} must be >= 0")
        eps_strategy = st.just(float(eps))
    else:
        eps_strategy = eps
    check_scales("min_scale", min_scale, "max_scale", max_scale)
    shapes = batch_shapes(
        min_rows=min_rows, max_rows=max_rows, min_features=min_features, max_features=max_features
    )
    return _layernorm_inputs(
        shapes, check_dtypes(dtypes), max_offset, affine, eps_strategy, (min_scale, max_scale)
    )


def hard_eps(dtype: np.dtype) -> st.SearchStrategy[float]:
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
    return st.one_of(
        *(
            layernorm_inputs(
                max_rows=32,
                max_features=64,
                dtypes=(dtype,),
                max_offset=1e3 if dtype == np.float16 else 1e8,
                min_scale=1e-12,
                max_scale=1.0,
                eps=hard_eps(dtype),
            )
            for dtype in HARD_DTYPES
        )
    )


# --------------------------------------------------------------------------- scale laws


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


def scaled_layernorm_inputs(
    *, max_rows: int = 32, max_features: int = 64, dtypes: Sequence[DtypeLike] = FLOAT_DTYPES
) -> st.SearchStrategy[ScaledLayerNormInput]:
    """Rows of at least two features and scales a from 1e-3 to 1e3 (powers of two, exact in
    floating point, drawn often)."""
    scales = st.one_of(st.sampled_from([2.0, 0.5, 1024.0, 2.0**-10]), st.floats(1e-3, 1e3))
    return st.builds(
        ScaledLayerNormInput,
        layernorm_inputs(
            max_rows=max_rows,
            min_features=2,
            max_features=max_features,
            dtypes=dtypes,
            affine=False,
            eps=0.0,
        ),
        scales,
    )


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
        return (
            f"L={self.layers}, {self.rows} row(s) of d={self.features}, dtype={self.dtype}, "
            f"seed {self.seed}, g^(L) {direction}\n"
            f"x0 = {show(self.x0)}\ng^(L) = {show(self.upstream)}"
        )


@st.composite
def _prenorm_stacks(
    draw: st.DrawFn, max_layers: int, max_rows: int, max_features: int, dtypes: tuple[np.dtype, ...]
) -> PreNormStack:
    features = draw(sizes(3, max_features))
    return PreNormStack(
        draw(st.sampled_from(dtypes)),
        draw(st.integers(1, max_layers)),
        draw(sizes(1, max_rows)),
        features,
        draw(st.integers(0, 2**31)),
        draw(st.booleans()),
    )


def prenorm_stacks(
    *,
    max_layers: int = 4,
    max_rows: int = 8,
    max_features: int = 64,
    dtypes: Sequence[DtypeLike] = FLOAT_DTYPES,
) -> st.SearchStrategy[PreNormStack]:
    """Stacks of 1 to ``max_layers`` layers over rows of 3 to ``max_features`` features."""
    check_positive_int("max_layers", max_layers)
    check_positive_int("max_rows", max_rows)
    check_positive_int("max_features", max_features, minimum=3)
    check_range("3", 3, "max_features", max_features)
    return _prenorm_stacks(max_layers, max_rows, max_features, check_dtypes(dtypes))
