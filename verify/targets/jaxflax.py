"""The ``jax`` target: ``optax.adam``/``optax.adamw`` and Flax's ``linen.LayerNorm`` and
``linen.Dropout``, on the CPU, with their defaults as JAX users get them.

JAX is imported only when a component is first asked for. Arrays are converted explicitly
and keep their dtype: 64-bit mode is switched on in the worker (``jax_enable_x64``) so a
float64 case is computed in float64, while float32 arrays stay float32.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .protocol import AdamHyperparameters, ComponentMissing, Raised, TargetLoadError

__all__ = ["JaxTarget", "make"]

_HINT = "pip install jax jaxlib optax flax"
#: How to get what this target needs (the usage error names it when a package is missing).
EXTRA = "pip install 'eqconform[jax]'"


def _modules() -> tuple[Any, Any, Any, Any]:
    try:
        import jax
        import jax.numpy as jnp
        import optax
        from flax import linen
    except ImportError as error:
        raise TargetLoadError(f"JAX, optax or Flax is not installed ({error}); {_HINT}") from error
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    return jax, jnp, optax, linen


def from_numpy(jnp: Any, array: np.ndarray) -> Any:
    return jnp.asarray(np.array(array, copy=True), dtype=array.dtype)


def to_numpy(array: Any) -> np.ndarray:
    return np.array(array, copy=True)


@dataclass
class _OptimizerSession:
    jax: Any
    optax: Any
    transformation: Any
    parameters: list[Any]
    state: Any = None

    def __post_init__(self) -> None:
        self.state = self.transformation.init(self.parameters)

    def step(self, gradients: Sequence[np.ndarray]) -> list[dict[str, np.ndarray]]:
        grads = [from_numpy(self.jax.numpy, g) for g in gradients]
        updates, self.state = self.transformation.update(grads, self.state, self.parameters)
        self.parameters = self.optax.apply_updates(self.parameters, updates)
        moments = next(
            (
                s
                for s in self.jax.tree_util.tree_leaves(self.state, is_leaf=_is_adam_state)
                if _is_adam_state(s)
            ),
            None,
        )
        observed = []
        for index, parameter in enumerate(self.parameters):
            entry = {"theta": to_numpy(parameter)}
            if moments is not None:
                entry["m"], entry["v"] = to_numpy(moments.mu[index]), to_numpy(moments.nu[index])
            observed.append(entry)
        return observed


def _is_adam_state(node: Any) -> bool:
    return type(node).__name__ == "ScaleByAdamState"


@dataclass(frozen=True)
class _Optimizer:
    decoupled: bool

    def open(
        self, layers: Sequence[tuple[np.ndarray, np.ndarray]], hyperparameters: AdamHyperparameters
    ) -> _OptimizerSession:
        jax, jnp, optax, _ = _modules()
        parameters = [from_numpy(jnp, array) for layer in layers for array in layer]
        options = dict(
            learning_rate=hyperparameters.lr,
            b1=hyperparameters.beta1,
            b2=hyperparameters.beta2,
            eps=hyperparameters.eps,
        )
        transformation = (
            optax.adamw(weight_decay=hyperparameters.weight_decay, **options)
            if self.decoupled
            else optax.adam(**options)
        )
        return _OptimizerSession(jax, optax, transformation, parameters)


@dataclass(frozen=True)
class _LayerNorm:
    options: Mapping[str, Any]

    def run(
        self, Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, G: np.ndarray
    ) -> dict[str, Any]:
        jax, jnp, _, linen = _modules()
        layer = linen.LayerNorm(epsilon=eps, dtype=Z.dtype, param_dtype=Z.dtype, **self.options)

        def apply(x: Any, scale: Any, bias: Any) -> Any:
            return layer.apply({"params": {"scale": scale, "bias": bias}}, x)

        output, pullback = jax.vjp(
            apply, from_numpy(jnp, Z), from_numpy(jnp, gamma[0]), from_numpy(jnp, beta[0])
        )
        observed: dict[str, Any] = {"Ztilde": to_numpy(output)}
        try:
            dZ, dscale, dbias = pullback(from_numpy(jnp, G))
        except Exception as error:  # only the backward specs depend on it
            return {**observed, **dict.fromkeys(("dLdZ", "dLdgamma", "dLdbeta"), Raised(error))}
        observed.update(
            dLdZ=to_numpy(dZ), dLdgamma=to_numpy(dscale)[None, :], dLdbeta=to_numpy(dbias)[None, :]
        )
        return observed


@dataclass
class _DropoutSession:
    jax: Any
    jnp: Any
    layer: Any
    key: Any
    pullback: Any = field(default=None)

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self.key, draw = self.jax.random.split(self.key)

        def apply(inputs: Any) -> Any:
            return self.layer.apply({}, inputs, deterministic=not train, rngs={"dropout": draw})

        output, self.pullback = self.jax.vjp(apply, from_numpy(self.jnp, x))
        return to_numpy(output)

    def backward(self, delta: np.ndarray) -> np.ndarray:
        if self.pullback is None:
            raise RuntimeError("backward before forward")
        (gradient,) = self.pullback(from_numpy(self.jnp, delta))
        return to_numpy(gradient)


class _Dropout:
    def open(self, p: float, seed: int) -> _DropoutSession:
        jax, jnp, _, linen = _modules()
        return _DropoutSession(jax, jnp, linen.Dropout(rate=p), jax.random.PRNGKey(seed))


class JaxTarget:
    def __init__(self, layernorm_options: Mapping[str, Any] | None = None):
        self.layernorm_options = dict(layernorm_options or {})
        suffix = ",".join(f"{k}={v}" for k, v in self.layernorm_options.items())
        self.name = f"jax:{suffix}" if suffix else "jax"
        configured = f" ({suffix})" if suffix else " (its defaults)"
        self.description = (
            "JAX on the CPU: optax.adam and optax.adamw; Flax linen.LayerNorm"
            f"{configured} and linen.Dropout"
        )

    def component(self, name: str) -> Any:
        adapters = {
            "adam": lambda: _Optimizer(decoupled=False),
            "adamw": lambda: _Optimizer(decoupled=True),
            "layernorm": lambda: _LayerNorm(self.layernorm_options),
            "dropout": _Dropout,
        }
        if name not in adapters:
            raise ComponentMissing(f"the jax target has no {name!r}")
        _modules()
        return adapters[name]()

    def defaults(self) -> Mapping[str, Any]:
        jax, _, optax, linen = _modules()

        def of(function: Any, *names: str) -> dict[str, Any]:
            parameters = inspect.signature(function).parameters
            renamed = {"b1": "beta1", "b2": "beta2", "epsilon": "eps", "rate": "p"}
            return {renamed.get(n, n): parameters[n].default for n in names if n in parameters}

        import flax

        return {
            "version": f"jax {jax.__version__}, optax {optax.__version__}, flax {flax.__version__}",
            "adam": of(optax.adam, "b1", "b2", "eps"),
            "adamw": of(optax.adamw, "b1", "b2", "eps", "weight_decay"),
            "layernorm": of(linen.LayerNorm, "epsilon", "use_fast_variance"),
            "dropout": {"p": None},
        }


def make(argument: str | None) -> JaxTarget:
    """``jax`` audits Flax's LayerNorm as configured by default; ``jax:use_fast_variance=False``
    audits its two-pass variance instead of E[x^2] - E[x]^2."""
    import importlib.util

    missing = [name for name in ("jax", "optax", "flax") if importlib.util.find_spec(name) is None]
    if missing:
        raise ValueError(f"the jax target needs {', '.join(missing)}, not installed: {EXTRA}")
    if argument is None:
        return JaxTarget()
    choices = {"use_fast_variance=False": False, "use_fast_variance=True": True}
    if argument not in choices:
        raise ValueError(
            f"the jax target takes use_fast_variance=False or =True (got {argument!r})"
        )
    return JaxTarget({"use_fast_variance": choices[argument]})
