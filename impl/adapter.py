"""The bundled implementation as an ordinary adapter object: ``eqconform.impl:ADAPTER``.

``--target numpy`` is ``python:eqconform.impl:ADAPTER``: the bundled classes are audited through
the same adapter protocol, runner and sandbox as any other code (see
:mod:`eqconform.verify.targets.user` for the adapter object and
:mod:`eqconform.verify.targets.protocol` for the protocol of each component). The homework-API
classes are driven by the same wrappers as a student's handin; the classes of the other
components by the adapters below, one per component.

Those adapters take the class they drive, so a class of another implementation with the same
methods is audited by handing it to the same adapter, e.g.
``attention = SoftmaxAttentionAdapter(MyAttention)`` in an adapter object of your own. Each takes
and returns NumPy arrays, copied so that the implementation cannot change them afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from eqconform.verify.targets import protocol
from eqconform.verify.targets.homework import homework_adapter, signature_defaults

from . import diffusion, noise
from .adam import Adam, AdamW
from .attention import ArgmaxAttention, KernelAttention, LinearAttention, SoftmaxAttention
from .autoencoder import LinearAutoencoder
from .diffusion import ForwardDiffusion
from .dropout import Dropout
from .layernorm import LayerNorm
from .noise import MultiplicativeNoise
from .weight_decay import WeightDecayAdam

__all__ = [
    "ADAPTER",
    "ArgmaxAttentionAdapter",
    "AutoencoderAdapter",
    "BundledAdapter",
    "DiffusionAdapter",
    "KernelAttentionAdapter",
    "NoiseAdapter",
    "SoftmaxAttentionAdapter",
    "WeightDecayAdapter",
    "bundled_adapters",
]


def _copy(value: Any) -> np.ndarray:
    return np.array(value, copy=True)


def _exposed(pairs: Sequence[tuple[str, object, str]]) -> dict[str, np.ndarray]:
    """``{key: copy of owner.attribute}`` for each ``(key, owner, attribute)`` whose attribute is
    an array (an implementation that keeps no such value exposes nothing under the key)."""
    return {
        key: _copy(getattr(owner, attribute))
        for key, owner, attribute in pairs
        if isinstance(getattr(owner, attribute, None), np.ndarray)
    }


@dataclass(frozen=True)
class SoftmaxAttentionAdapter(protocol.AttentionAdapter):
    """``cls()`` with ``forward(Q, K, V)``, keeping ``scores`` and ``weights`` if exposed."""

    cls: type[Any]

    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> dict[str, np.ndarray]:
        layer = self.cls()
        out = {"O": _copy(layer.forward(Q, K, V))}
        return out | _exposed((("S", layer, "scores"), ("A", layer, "weights")))


@dataclass(frozen=True)
class ArgmaxAttentionAdapter(protocol.ArgmaxAttentionAdapter):
    """``cls()`` with ``forward(Q, K, V)``, keeping ``scores`` and ``weights`` if exposed."""

    cls: type[Any]

    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> dict[str, np.ndarray]:
        layer = self.cls()
        out = {"Omax": _copy(layer.forward(Q, K, V))}
        return out | _exposed((("Sdot", layer, "scores"), ("Amax", layer, "weights")))


@dataclass(frozen=True)
class KernelAttentionAdapter(protocol.KernelAttentionAdapter):
    """``kernel_cls()`` and ``linear_cls()`` with ``forward(Q, K, V)``, keeping
    ``similarities`` and ``phi_Q``, ``phi_K`` if exposed."""

    kernel_cls: type[Any]
    linear_cls: type[Any]

    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> dict[str, np.ndarray]:
        kernel, linear = self.kernel_cls(), self.linear_cls()
        out = {"Okern": _copy(kernel.forward(Q, K, V)), "Olin": _copy(linear.forward(Q, K, V))}
        exposed = (
            ("sim", kernel, "similarities"),
            ("phiQ", linear, "phi_Q"),
            ("phiK", linear, "phi_K"),
        )
        return out | _exposed(exposed)


@dataclass(frozen=True)
class NoiseAdapter(protocol.NoiseAdapter):
    """``cls(mu=, sigma=, seed=)`` and ``cls.bernoulli(keep, seed=)`` with ``sample(shape)`` and
    ``empirical_losses(X, y, w, draws)``; the losses and column norms are functions of
    ``module``."""

    cls: type[Any]
    module: ModuleType

    def draw(self, shape: tuple[int, ...], mu: float, sigma: float, seed: int) -> np.ndarray:
        return _copy(self.cls(mu=mu, sigma=sigma, seed=seed).sample(shape))

    def draw_bernoulli(self, shape: tuple[int, ...], keep: float, seed: int) -> np.ndarray:
        return _copy(self.cls.bernoulli(keep, seed=seed).sample(shape))

    def perturbed_loss(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, R: np.ndarray) -> float:
        return float(self.module.perturbed_loss(X, y, w, R))

    def gamma(self, X: np.ndarray) -> np.ndarray:
        return _copy(self.module.column_norms(X))

    def expected_loss(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, mu: float, sigma: float
    ) -> float:
        return float(self.module.expected_loss(X, y, w, mu, sigma))

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
        noise = self.cls(mu=mu, sigma=sigma, seed=seed)
        return _copy(noise.empirical_losses(X, y, w, draws))

    def empirical_bernoulli_losses(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, keep: float, draws: int, seed: int
    ) -> np.ndarray:
        noise = self.cls.bernoulli(keep, seed=seed)
        return _copy(noise.empirical_losses(X, y, w, draws))


@dataclass(frozen=True)
class DiffusionAdapter(protocol.DiffusionAdapter):
    """``cls(betas, seed=)`` with ``step(z, t)``, ``sample_at(z0, alpha)`` and
    ``sample_pair(z0, eta1, eta2)``, keeping the noise it drew in ``last_noise`` if exposed; the
    schedule's functions are those of ``module``."""

    cls: type[Any]
    module: ModuleType

    def alphas(self, betas: np.ndarray) -> np.ndarray:
        return _copy(self.module.cumulative_alphas(betas))

    def gamma(self, alpha_tau: np.ndarray, alpha_t: np.ndarray) -> np.ndarray:
        return _copy(self.module.gamma(alpha_tau, alpha_t))

    def alpha_from_eta(self, eta: np.ndarray) -> np.ndarray:
        return _copy(self.module.alpha_from_eta(eta))

    def step(
        self, z_prev: np.ndarray, beta: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        process = self.cls(np.array([beta]), seed=seed)
        sample = _copy(process.step(z_prev, 1))
        return sample, _only_noise(process)

    def marginal(
        self, z0: np.ndarray, alpha: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        # The schedule does not matter: the marginal is drawn straight at ``alpha``.
        process = self.cls(np.array([0.5]), seed=seed)
        sample = _copy(process.sample_at(z0, alpha))
        return sample, _only_noise(process)

    def pair(
        self, z0: np.ndarray, eta1: float, eta2: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        process = self.cls(np.array([0.5]), seed=seed)
        first, second = process.sample_pair(z0, eta1, eta2)
        draws: Sequence[np.ndarray] = getattr(process, "last_noise", ())
        noises = (_copy(draws[0]), _copy(draws[1])) if len(draws) == 2 else None
        return _copy(first), _copy(second), noises


def _only_noise(process: Any) -> np.ndarray | None:
    """The noise of a sampler that drew once, if the process exposes it."""
    draws: Sequence[np.ndarray] = getattr(process, "last_noise", ())
    return _copy(draws[0]) if len(draws) == 1 else None


@dataclass
class _WeightDecaySession:
    optimizer: Any

    def step(self, theta: np.ndarray, grad: np.ndarray) -> dict[str, np.ndarray]:
        out = {"theta": _copy(self.optimizer.step(theta.copy(), grad.copy()))}
        return out | _exposed((("m", self.optimizer, "m"), ("v", self.optimizer, "v")))


@dataclass(frozen=True)
class WeightDecayAdapter(protocol.WeightDecayAdapter):
    """``cls(lr=, beta1=, beta2=, weight_decay=, decoupled=)`` with ``step(theta, grad)``,
    keeping the moments ``m`` and ``v`` if exposed."""

    cls: type[Any]

    def open(
        self, lr: float, beta1: float, beta2: float, weight_decay: float, decoupled: bool
    ) -> _WeightDecaySession:
        optimizer = self.cls(
            lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay, decoupled=decoupled
        )
        return _WeightDecaySession(optimizer)


@dataclass(frozen=True)
class AutoencoderAdapter(protocol.AutoencoderAdapter):
    """``cls(W1, W2, lam)`` with ``encode``, ``decode``, ``loss``, ``regularized_loss`` and
    ``gradients`` of ``X``."""

    cls: type[Any]

    def run(self, X: np.ndarray, W1: np.ndarray, W2: np.ndarray, lam: float) -> dict[str, Any]:
        model = self.cls(W1.copy(), W2.copy(), lam)
        dW1, dW2 = model.gradients(X.copy())
        Z = model.encode(X.copy())
        return {
            "Z": _copy(Z),
            "Xhat": _copy(model.decode(Z)),
            "L": _copy(model.loss(X.copy())),
            "Lreg": _copy(model.regularized_loss(X.copy())),
            "dW1": _copy(dW1),
            "dW2": _copy(dW2),
        }


class BundledAdapter:
    """Adapter object over :mod:`eqconform.impl` (one method or attribute per component)."""

    name = "numpy"
    description = "eqconform's bundled NumPy implementation (eqconform.impl)"

    _homework: ClassVar[dict[str, Any]] = {
        name: homework_adapter(name, cls)
        for name, cls in (
            ("adam", Adam),
            ("adamw", AdamW),
            ("layernorm", LayerNorm),
            ("dropout", Dropout),
        )
    }

    attention = SoftmaxAttentionAdapter(SoftmaxAttention)
    argmax_attention = ArgmaxAttentionAdapter(ArgmaxAttention)
    kernel_attention = KernelAttentionAdapter(KernelAttention, LinearAttention)
    noise = NoiseAdapter(MultiplicativeNoise, noise)
    diffusion = DiffusionAdapter(ForwardDiffusion, diffusion)
    weight_decay = WeightDecayAdapter(WeightDecayAdam)
    autoencoder = AutoencoderAdapter(LinearAutoencoder)

    def adam(self, layers: Sequence[tuple[np.ndarray, np.ndarray]], hyperparameters: Any) -> Any:
        return self._homework["adam"].open(layers, hyperparameters)

    def adamw(self, layers: Sequence[tuple[np.ndarray, np.ndarray]], hyperparameters: Any) -> Any:
        return self._homework["adamw"].open(layers, hyperparameters)

    def layernorm(
        self, Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, G: np.ndarray
    ) -> Any:
        return self._homework["layernorm"].run(Z, gamma, beta, eps, G)

    def dropout(self, p: float, seed: int) -> Any:
        return self._homework["dropout"].open(p, seed)

    def defaults(self) -> dict[str, Any]:
        return {name: signature_defaults(name, adapter) for name, adapter in self._homework.items()}


ADAPTER = BundledAdapter()


def bundled_adapters() -> dict[str, Any]:
    """The adapters of :data:`ADAPTER` for the components of
    :data:`~eqconform.verify.targets.protocol.COMPONENT_PROTOCOLS`, by component name."""
    return {name: getattr(ADAPTER, name) for name in protocol.COMPONENT_PROTOCOLS}
