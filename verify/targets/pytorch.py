"""The ``torch`` target: ``torch.optim.Adam``/``AdamW``, ``torch.nn.LayerNorm`` and
``torch.nn.Dropout`` on the CPU, as PyTorch users call them.

``torch`` uses each class's default code path; ``torch:foreach=False`` (the single-tensor
loop) and ``torch:foreach=True`` (the multi-tensor path) choose the optimizers'
implementation. PyTorch is imported only when a component is first asked for; arrays cross
the bridge unchanged in dtype (float32 stays float32, float64 stays float64).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .protocol import AdamHyperparameters, ComponentMissing, Raised, TargetLoadError

__all__ = ["TorchTarget", "make"]

_VERSION_HINT = "pip install torch==2.13.0 (a CPU build)"
#: How to get what this target needs (the usage error names it when PyTorch is missing).
EXTRA = "pip install 'eqconform[torch]'"


def _torch() -> Any:
    try:
        import torch
    except ImportError as error:
        raise TargetLoadError(f"PyTorch is not installed ({error}); {_VERSION_HINT}") from error
    return torch


def from_numpy(torch: Any, array: np.ndarray) -> Any:
    return torch.from_numpy(np.array(array, copy=True))


def to_numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


@dataclass
class _OptimizerSession:
    torch: Any
    optimizer: Any
    parameters: list[Any]

    def step(self, gradients: Sequence[np.ndarray]) -> list[dict[str, np.ndarray]]:
        for parameter, gradient in zip(self.parameters, gradients, strict=True):
            parameter.grad = from_numpy(self.torch, gradient)
        self.optimizer.step()
        observed = []
        for parameter in self.parameters:
            state = self.optimizer.state[parameter]
            observed.append(
                {
                    "theta": to_numpy(parameter),
                    "m": to_numpy(state["exp_avg"]),
                    "v": to_numpy(state["exp_avg_sq"]),
                }
            )
        return observed


@dataclass(frozen=True)
class _Optimizer:
    class_name: str
    decoupled: bool
    foreach: bool | None

    def open(
        self, layers: Sequence[tuple[np.ndarray, np.ndarray]], hyperparameters: AdamHyperparameters
    ) -> _OptimizerSession:
        torch = _torch()
        parameters = [
            torch.nn.Parameter(from_numpy(torch, array)) for layer in layers for array in layer
        ]
        options: dict[str, Any] = dict(
            lr=hyperparameters.lr,
            betas=(hyperparameters.beta1, hyperparameters.beta2),
            eps=hyperparameters.eps,
            foreach=self.foreach,
        )
        options["weight_decay"] = hyperparameters.weight_decay if self.decoupled else 0.0
        optimizer = getattr(torch.optim, self.class_name)(parameters, **options)
        return _OptimizerSession(torch, optimizer, parameters)


class _LayerNorm:
    def run(
        self, Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, G: np.ndarray
    ) -> dict[str, Any]:
        torch = _torch()
        dtype = torch.from_numpy(Z[:0]).dtype
        layer = torch.nn.LayerNorm(Z.shape[1], eps=eps, dtype=dtype)
        with torch.no_grad():
            layer.weight.copy_(from_numpy(torch, gamma[0]))
            layer.bias.copy_(from_numpy(torch, beta[0]))
        inputs = from_numpy(torch, Z).requires_grad_(True)
        output = layer(inputs)
        observed: dict[str, Any] = {"Ztilde": to_numpy(output)}
        try:
            output.backward(from_numpy(torch, G))
        except Exception as error:  # only the backward specs depend on it
            return {**observed, **dict.fromkeys(("dLdZ", "dLdgamma", "dLdbeta"), Raised(error))}
        observed["dLdZ"] = to_numpy(inputs.grad)
        observed["dLdgamma"] = to_numpy(layer.weight.grad)[None, :]
        observed["dLdbeta"] = to_numpy(layer.bias.grad)[None, :]
        return observed


@dataclass
class _DropoutSession:
    torch: Any
    layer: Any
    last: tuple[Any, Any] | None = None

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self.layer.train(train)
        inputs = from_numpy(self.torch, x).requires_grad_(True)
        output = self.layer(inputs)
        self.last = (inputs, output)
        return to_numpy(output)

    def backward(self, delta: np.ndarray) -> np.ndarray:
        if self.last is None:
            raise RuntimeError("backward before forward")
        inputs, output = self.last
        output.backward(from_numpy(self.torch, delta))
        return to_numpy(inputs.grad)


class _Dropout:
    def open(self, p: float, seed: int) -> _DropoutSession:
        torch = _torch()
        torch.manual_seed(seed)
        return _DropoutSession(torch, torch.nn.Dropout(p=p))


class TorchTarget:
    def __init__(self, foreach: bool | None = None):
        self.foreach = foreach
        self.name = "torch" if foreach is None else f"torch:foreach={foreach}"
        path = "default code path" if foreach is None else f"foreach={foreach}"
        self.description = (
            f"PyTorch on the CPU (torch.optim.Adam/AdamW with the {path}, torch.nn.LayerNorm, "
            "torch.nn.Dropout)"
        )

    def component(self, name: str) -> Any:
        adapters = {
            "adam": lambda: _Optimizer("Adam", decoupled=False, foreach=self.foreach),
            "adamw": lambda: _Optimizer("AdamW", decoupled=True, foreach=self.foreach),
            "layernorm": _LayerNorm,
            "dropout": _Dropout,
        }
        if name not in adapters:
            raise ComponentMissing(f"the torch target has no {name!r}")
        _torch()
        return adapters[name]()

    def defaults(self) -> Mapping[str, Any]:
        torch = _torch()

        def optimizer(cls: Any) -> dict[str, Any]:
            parameters = inspect.signature(cls).parameters
            beta1, beta2 = parameters["betas"].default
            return {
                "lr": parameters["lr"].default,
                "beta1": beta1,
                "beta2": beta2,
                "eps": parameters["eps"].default,
                "weight_decay": parameters["weight_decay"].default,
            }

        return {
            "version": torch.__version__,
            "adam": optimizer(torch.optim.Adam),
            "adamw": optimizer(torch.optim.AdamW),
            "layernorm": {"eps": inspect.signature(torch.nn.LayerNorm).parameters["eps"].default},
            "dropout": {"p": inspect.signature(torch.nn.Dropout).parameters["p"].default},
        }


def make(argument: str | None) -> TorchTarget:
    import importlib.util

    if importlib.util.find_spec("torch") is None:  # looked up, not imported: nothing runs here
        raise ValueError(f"the torch target needs PyTorch, which is not installed: {EXTRA}")
    if argument is None:
        return TorchTarget()
    choices = {"foreach=True": True, "foreach=False": False}
    if argument not in choices:
        raise ValueError(f"the torch target takes foreach=True or foreach=False (got {argument!r})")
    return TorchTarget(choices[argument])
