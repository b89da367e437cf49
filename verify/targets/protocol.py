"""What a target provides: one adapter per component, bridging through NumPy arrays.

A :class:`Target` answers :meth:`Target.component` with an adapter for a component name or
raises :class:`ComponentMissing`. Adapters take and return NumPy arrays only; a framework target
converts with its own ``from_numpy`` and ``to_numpy`` inside the adapter.

The protocols of the homework API's components are here, because every built-in target
(``mytorch:``, ``torch``, ``jax``, adapter objects) implements them: :class:`OptimizerAdapter`
(``adam``, ``adamw``), :class:`LayerNormAdapter` and :class:`DropoutAdapter`. Every other
component declares its adapter's protocol beside its checks, in its module of
:mod:`eqconform.verify.components` (``AttentionAdapter`` in ``components/attention.py``, ...).

This module also holds the plain values that cross between the judge and the runner, which
imports no checker module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

__all__ = [
    "AdamHyperparameters",
    "ComponentMissing",
    "DropoutAdapter",
    "DropoutSession",
    "LayerNormAdapter",
    "NotAnArray",
    "OptimizerAdapter",
    "OptimizerSession",
    "Raised",
    "Target",
    "TargetLoadError",
]


# The plain values adapters receive and return. They live here, with the adapters, because the
# runner (which imports no checker module) builds and sends them.


@dataclass(frozen=True)
class AdamHyperparameters:
    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float = 0.0

    def describe(self) -> str:
        decay = f", weight_decay={self.weight_decay!r}" if self.weight_decay else ""
        return (
            f"lr={self.lr!r}, beta1={self.beta1!r}, beta2={self.beta2!r}, eps={self.eps!r}{decay}"
        )


@dataclass(frozen=True)
class Raised:
    """Stands for a quantity the target failed to produce: the phase computing it raised."""

    error: BaseException


@dataclass(frozen=True)
class NotAnArray:
    """Stands for an answer that is not the NumPy array the homework API requires (a list, a
    framework tensor): ``description`` says what came back. The judge fails it as it is."""

    description: str

    def __str__(self) -> str:
        return self.description


class ComponentMissing(LookupError):
    """The target does not provide this component (the result is ``skip`` with this reason)."""


class TargetLoadError(RuntimeError):
    """The target's code could not be loaded (the result is ``error`` with this reason)."""


class OptimizerSession(Protocol):
    def step(self, gradients: Sequence[np.ndarray]) -> list[Mapping[str, np.ndarray]]:
        """Apply one step with one gradient per parameter (``W0, b0, W1, b1, ...``).

        Returns, per parameter, ``{"theta": new value}`` plus ``"m"`` and ``"v"`` (the biased
        moments after the step) when the implementation exposes them.
        """
        ...


class OptimizerAdapter(Protocol):
    def open(
        self, layers: Sequence[tuple[np.ndarray, np.ndarray]], hyperparameters: AdamHyperparameters
    ) -> OptimizerSession: ...


class LayerNormAdapter(Protocol):
    def run(
        self, Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, G: np.ndarray
    ) -> Mapping[str, np.ndarray]:
        """Forward ``Z`` then backward ``G`` on a fresh layer.

        Returns ``Ztilde``, ``dLdZ``, ``dLdgamma``, ``dLdbeta`` and, when exposed, ``mu``,
        ``sigma2``, ``Zhat``.
        """
        ...


class DropoutSession(Protocol):
    def forward(self, x: np.ndarray, train: bool) -> np.ndarray: ...
    def backward(self, delta: np.ndarray) -> np.ndarray: ...


class DropoutAdapter(Protocol):
    def open(self, p: float, seed: int) -> DropoutSession:
        """A fresh layer whose random draws are seeded with ``seed``."""
        ...


class Target(Protocol):
    name: str
    description: str

    def component(self, name: str) -> Any:
        """The adapter for ``name``; raises :class:`ComponentMissing` or
        :class:`TargetLoadError`."""
        ...
