"""Adapters for classes written in the CMU 11-785 homework API (the bundled NumPy
implementation and students' handins alike).

Attribute names follow the handout: optimizers keep ``m_W``, ``v_W``, ``m_b``, ``v_b`` per
layer; LayerNorm keeps ``M``, ``V``, ``NZ`` and its parameters as ``gamma``/``beta`` (with
``dLdgamma``/``dLdbeta``) or ``BW``/``Bb`` (with ``dLdBW``/``dLdBb``); Dropout draws from
``np.random``, which the adapter seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from .protocol import AdamHyperparameters, NotAnArray, Raised

__all__ = [
    "HOMEWORK_ADAPTERS",
    "HomeworkDropout",
    "HomeworkLayerNorm",
    "HomeworkOptimizer",
    "homework_adapter",
    "signature_defaults",
]

_DEFAULT_PARAMETERS = {
    "adam": ("lr", "beta1", "beta2", "eps"),
    "adamw": ("lr", "beta1", "beta2", "eps", "weight_decay"),
    "layernorm": ("eps",),
    "dropout": ("p",),
}


def signature_defaults(component: str, adapter: Any) -> dict[str, Any]:
    """The defaults of a homework-API class's constructor, for the parameters that matter."""
    import inspect

    try:
        parameters = inspect.signature(adapter.cls).parameters
    except (TypeError, ValueError, AttributeError):
        return {}
    return {
        name: (
            None
            if parameters[name].default is inspect.Parameter.empty
            else parameters[name].default
        )
        for name in _DEFAULT_PARAMETERS[component]
        if name in parameters
    }


_MOMENT_LISTS = {"m": ("m_W", "m_b"), "v": ("v_W", "v_b")}
_PARAMETER_NAMES = (("gamma", "beta", "dLdgamma", "dLdbeta"), ("BW", "Bb", "dLdBW", "dLdBb"))


def _snapshot(value: Any) -> np.ndarray | NotAnArray:
    """A copy of an array the class returned or keeps; the homework API deals in NumPy arrays
    only, so anything else is passed on as what it is, for the judge to fail."""
    if isinstance(value, np.ndarray):
        return value.copy()
    kind = type(value)
    shape = getattr(value, "shape", None)
    where = (
        f" of shape {tuple(shape)}"
        if isinstance(shape, tuple)
        else f" of length {len(value)}"
        if isinstance(value, (list, tuple))
        else ""
    )
    return NotAnArray(
        f"a {kind.__module__}.{kind.__qualname__}{where}, not a NumPy array".replace(
            "builtins.", ""
        )
    )


@dataclass
class _HomeworkOptimizerSession:
    optimizer: Any
    layers: list[SimpleNamespace]

    def step(self, gradients: Sequence[np.ndarray]) -> list[dict[str, np.ndarray | NotAnArray]]:
        for index, layer in enumerate(self.layers):
            layer.dLdW, layer.dLdb = gradients[2 * index], gradients[2 * index + 1]
        self.optimizer.step()
        observations = []
        for index, layer in enumerate(self.layers):
            for which, parameter in enumerate((layer.W, layer.b)):
                observed = {"theta": _snapshot(parameter)}
                for moment, names in _MOMENT_LISTS.items():
                    kept = getattr(self.optimizer, names[which], None)
                    if isinstance(kept, (list, tuple)) and len(kept) == len(self.layers):
                        observed[moment] = _snapshot(kept[index])
                observations.append(observed)
        return observations


@dataclass(frozen=True)
class HomeworkOptimizer:
    """``cls(model, lr, beta1, beta2, eps[, weight_decay])`` with ``step()``."""

    cls: type
    decoupled_decay: bool

    def open(
        self, layers: Sequence[tuple[np.ndarray, np.ndarray]], hyperparameters: AdamHyperparameters
    ) -> _HomeworkOptimizerSession:
        model = SimpleNamespace(
            layers=[
                SimpleNamespace(W=W, b=b, dLdW=np.zeros_like(W), dLdb=np.zeros_like(b))
                for W, b in layers
            ]
        )
        options = dict(
            lr=hyperparameters.lr,
            beta1=hyperparameters.beta1,
            beta2=hyperparameters.beta2,
            eps=hyperparameters.eps,
        )
        if self.decoupled_decay:
            options["weight_decay"] = hyperparameters.weight_decay
        return _HomeworkOptimizerSession(self.cls(model, **options), model.layers)


@dataclass(frozen=True)
class HomeworkLayerNorm:
    """``cls(num_features, eps)`` with ``forward(Z)`` and ``backward(dLdLNZ)``."""

    cls: type

    def run(
        self, Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, G: np.ndarray
    ) -> dict[str, Any]:
        try:
            layer = self.cls(Z.shape[1], eps=eps)
        except TypeError:
            layer = self.cls(Z.shape[1])
            layer.eps = eps
        names = next((n for n in _PARAMETER_NAMES if hasattr(layer, n[0])), _PARAMETER_NAMES[0])
        setattr(layer, names[0], gamma.copy())
        setattr(layer, names[1], beta.copy())
        observed = {"Ztilde": _snapshot(layer.forward(Z))}
        for attribute, quantity in (("M", "mu"), ("V", "sigma2"), ("NZ", "Zhat")):
            if isinstance(getattr(layer, attribute, None), np.ndarray):
                observed[quantity] = _snapshot(getattr(layer, attribute))
        try:
            observed["dLdZ"] = _snapshot(layer.backward(G))
        except Exception as error:  # only the backward specs depend on it
            return {**observed, **dict.fromkeys(("dLdZ", "dLdgamma", "dLdbeta"), Raised(error))}
        for attribute, quantity in ((names[2], "dLdgamma"), (names[3], "dLdbeta")):
            if hasattr(layer, attribute):
                observed[quantity] = _snapshot(getattr(layer, attribute))
        return observed


@dataclass
class _HomeworkDropoutSession:
    layer: Any

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray | NotAnArray:
        return _snapshot(self.layer.forward(x, train=train))

    def backward(self, delta: np.ndarray) -> np.ndarray | NotAnArray:
        return _snapshot(self.layer.backward(delta))


@dataclass(frozen=True)
class HomeworkDropout:
    """``cls(p)`` with ``forward(x, train)`` and ``backward(delta)``, drawing from ``np.random``."""

    cls: type

    def open(self, p: float, seed: int) -> _HomeworkDropoutSession:
        np.random.seed(seed % 2**32)
        return _HomeworkDropoutSession(self.cls(p=p))


#: How a class in the homework API is driven, by the component it implements: the one place
#: that choice is made (handins, the bundled implementation and ``check_case`` use it).
HOMEWORK_ADAPTERS: dict[str, Callable[[type], Any]] = {
    "adam": lambda cls: HomeworkOptimizer(cls, decoupled_decay=False),
    "adamw": lambda cls: HomeworkOptimizer(cls, decoupled_decay=True),
    "layernorm": HomeworkLayerNorm,
    "dropout": HomeworkDropout,
}


def homework_adapter(component: str, cls: type) -> Any:
    """The adapter that drives ``cls`` (a class in the homework API) as ``component``."""
    try:
        return HOMEWORK_ADAPTERS[component](cls)
    except KeyError:
        known = ", ".join(HOMEWORK_ADAPTERS)
        raise LookupError(
            f"the homework API has no {component!r} component (it has {known})"
        ) from None
