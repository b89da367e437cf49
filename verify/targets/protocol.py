"""What a target provides: one adapter per component, bridging through NumPy arrays.

A :class:`Target` answers :meth:`Target.component` with an adapter for a component name or
raises :class:`ComponentMissing`. Each component's adapter follows one protocol below:
:class:`OptimizerAdapter` (``adam``, ``adamw``), :class:`LayerNormAdapter`,
:class:`DropoutAdapter`, and those of :data:`COMPONENT_PROTOCOLS` (``attention``, ``noise``,
``diffusion``, ...). Adapters take and return NumPy arrays only; a framework target converts with
its own ``from_numpy`` and ``to_numpy`` inside the adapter.

Adding a component is one protocol class here plus its line in :data:`COMPONENT_PROTOCOLS` (which
adapter objects then accept, see :mod:`.user`), and the bundled implementation's adapter for it
in :mod:`eqconform.impl.adapter`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

__all__ = [
    "COMPONENT_PROTOCOLS",
    "AdamHyperparameters",
    "ArgmaxAttentionAdapter",
    "AttentionAdapter",
    "AutoencoderAdapter",
    "ComponentMissing",
    "DiffusionAdapter",
    "DropoutAdapter",
    "DropoutSession",
    "KernelAttentionAdapter",
    "LayerNormAdapter",
    "NoiseAdapter",
    "NotAnArray",
    "OptimizerAdapter",
    "OptimizerSession",
    "Raised",
    "Target",
    "TargetLoadError",
    "WeightDecayAdapter",
    "WeightDecaySession",
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


# The components of the EECS 182 documents. Their adapters report what the implementation
# exposes: a key marked "if exposed" is left out when the implementation keeps no such value.


class AttentionAdapter(Protocol):
    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> Mapping[str, np.ndarray]:
        """Softmax attention of ``Q``, ``K``, ``V`` on a fresh layer.

        Returns ``O`` (the output) and, if exposed, ``S`` (the scores) and ``A`` (the weights).
        """
        ...


class ArgmaxAttentionAdapter(Protocol):
    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> Mapping[str, np.ndarray]:
        """Argmax (hard) attention on a fresh layer.

        Returns ``Omax`` and, if exposed, ``Sdot`` (the scores) and ``Amax`` (the weights).
        """
        ...


class KernelAttentionAdapter(Protocol):
    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> Mapping[str, np.ndarray]:
        """Kernel attention and its linearized form on fresh layers.

        Returns ``Okern`` and ``Olin`` and, if exposed, ``sim`` (the kernel similarities),
        ``phiQ`` and ``phiK`` (the feature maps of the queries and keys).
        """
        ...


class NoiseAdapter(Protocol):
    """Multiplicative noise on the features of a least-squares problem."""

    def draw(self, shape: tuple[int, ...], mu: float, sigma: float, seed: int) -> np.ndarray:
        """Gaussian noise of mean ``mu`` and standard deviation ``sigma``."""
        ...

    def draw_bernoulli(self, shape: tuple[int, ...], keep: float, seed: int) -> np.ndarray:
        """Bernoulli noise that keeps a feature with probability ``keep``."""
        ...

    def perturbed_loss(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, R: np.ndarray) -> float:
        """The loss of ``w`` on the features ``X`` perturbed by the noise ``R``."""
        ...

    def gamma(self, X: np.ndarray) -> np.ndarray:
        """The column norms of ``X``."""
        ...

    def expected_loss(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, mu: float, sigma: float
    ) -> float:
        """The loss in expectation over Gaussian noise, in closed form."""
        ...

    def empirical_losses(
        self,
        X: np.ndarray,
        y: np.ndarray,
        w: np.ndarray,
        mu: float,
        sigma: float,
        draws: int,
        seed: int,
    ) -> np.ndarray:
        """The perturbed loss under ``draws`` Gaussian draws."""
        ...

    def empirical_bernoulli_losses(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, keep: float, draws: int, seed: int
    ) -> np.ndarray:
        """The perturbed loss under ``draws`` Bernoulli draws."""
        ...


class DiffusionAdapter(Protocol):
    """The forward diffusion process. Each sampler returns its sample and the Gaussian noise it
    drew (``None`` if not exposed)."""

    def alphas(self, betas: np.ndarray) -> np.ndarray:
        """The cumulative products of ``1 - betas``."""
        ...

    def gamma(self, alpha_tau: np.ndarray, alpha_t: np.ndarray) -> np.ndarray:
        """The signal coefficient ``alpha_tau / alpha_t`` of ``q(z_tau | z_t)``."""
        ...

    def alpha_from_eta(self, eta: np.ndarray) -> np.ndarray:
        """``1 / (eta + 1)`` for the noise-to-signal ratio ``eta``."""
        ...

    def step(
        self, z_prev: np.ndarray, beta: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """One step of the process from ``z_prev`` with variance ``beta``."""
        ...

    def marginal(
        self, z0: np.ndarray, alpha: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """A sample of the marginal at cumulative ``alpha``, straight from ``z0``."""
        ...

    def pair(
        self, z0: np.ndarray, eta1: float, eta2: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Two samples ``(z1, z2)`` of one trajectory, and the noises ``(V1, V2)`` if exposed."""
        ...


class WeightDecaySession(Protocol):
    def step(self, theta: np.ndarray, grad: np.ndarray) -> Mapping[str, np.ndarray]:
        """One step; returns ``theta`` after it and, if exposed, the moments ``m`` and ``v``."""
        ...


class WeightDecayAdapter(Protocol):
    def open(
        self, lr: float, beta1: float, beta2: float, weight_decay: float, decoupled: bool
    ) -> WeightDecaySession:
        """A fresh Adam with L2 (``decoupled`` false) or decoupled weight decay."""
        ...


class AutoencoderAdapter(Protocol):
    def run(self, X: np.ndarray, W1: np.ndarray, W2: np.ndarray, lam: float) -> Mapping[str, Any]:
        """A linear autoencoder with encoder ``W1``, decoder ``W2`` and penalty ``lam`` on ``X``.

        Returns ``L`` (the loss), ``Lreg`` (the regularized loss), ``dW1``, ``dW2`` (its
        gradients) and, if exposed, ``Z`` (the code) and ``Xhat`` (the reconstruction).
        """
        ...


#: The components whose adapter is an object of its own, by name: the protocol it follows. An
#: adapter object (:mod:`.user`) holds it in an attribute of that name.
COMPONENT_PROTOCOLS: dict[str, type] = {
    "weight_decay": WeightDecayAdapter,
    "noise": NoiseAdapter,
    "diffusion": DiffusionAdapter,
    "attention": AttentionAdapter,
    "argmax_attention": ArgmaxAttentionAdapter,
    "kernel_attention": KernelAttentionAdapter,
    "autoencoder": AutoencoderAdapter,
}


class Target(Protocol):
    name: str
    description: str

    def component(self, name: str) -> Any:
        """The adapter for ``name``; raises :class:`ComponentMissing` or
        :class:`TargetLoadError`."""
        ...
