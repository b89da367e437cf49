"""Adapters for the EECS 182 components, over the bundled implementation in :mod:`eqconform.impl`.

Each adapter takes and returns NumPy arrays; a class of another implementation is audited by
passing it to the same adapter (``SoftmaxAttentionAdapter(MyAttention)``) or by writing an
object with the same methods. The protocols:

``attention``: ``run(Q, K, V) -> {"O", and if exposed "S", "A"}`` on a fresh layer.
``argmax_attention``: ``run(Q, K, V) -> {"Omax", and if exposed "Amax", "Sdot"}``.
``kernel_attention``: ``run(Q, K, V) -> {"Okern", "Olin", and if exposed "sim", "phiQ", "phiK"}``.
``noise``: ``draw(shape, mu, sigma, seed)``, ``draw_bernoulli(shape, keep, seed)``,
    ``perturbed_loss(X, y, w, R)``, ``gamma(X)``, ``expected_loss(X, y, w, mu, sigma)``,
    ``empirical_losses(X, y, w, mu, sigma, draws, seed)`` and
    ``empirical_bernoulli_losses(X, y, w, keep, draws, seed)``.
``diffusion``: ``alphas(betas)``, ``gamma(alpha_tau, alpha_t)``, ``alpha_from_eta(eta)``, and
    the samplers ``step(z_prev, beta, seed)``, ``marginal(z0, alpha, seed)``, each returning
    ``(sample, noise or None)``, and ``pair(z0, eta1, eta2, seed) -> (z1, z2, (V1, V2) or None)``.
``weight_decay``: ``open(lr, beta1, beta2, weight_decay, decoupled)`` returning a session
    whose ``step(theta, grad)`` returns ``{"theta", and if exposed "m", "v"}``.
``autoencoder``: ``run(X, W1, W2, lam) -> {"L", "Lreg", "dW1", "dW2", and if exposed "Z", "Xhat"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "WeightDecayAdapter",
    "ArgmaxAttentionAdapter",
    "AutoencoderAdapter",
    "DiffusionAdapter",
    "KernelAttentionAdapter",
    "NoiseAdapter",
    "SoftmaxAttentionAdapter",
    "bundled_adapters",
]


def _copy(value: Any) -> np.ndarray:
    return np.array(value, copy=True)


@dataclass(frozen=True)
class SoftmaxAttentionAdapter:
    cls: type

    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> dict[str, np.ndarray]:
        layer = self.cls()
        out = {"O": _copy(layer.forward(Q, K, V))}
        for key, attribute in (("S", "scores"), ("A", "weights")):
            if isinstance(getattr(layer, attribute, None), np.ndarray):
                out[key] = _copy(getattr(layer, attribute))
        return out


@dataclass(frozen=True)
class ArgmaxAttentionAdapter:
    cls: type

    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> dict[str, np.ndarray]:
        layer = self.cls()
        out = {"Omax": _copy(layer.forward(Q, K, V))}
        for key, attribute in (("Sdot", "scores"), ("Amax", "weights")):
            if isinstance(getattr(layer, attribute, None), np.ndarray):
                out[key] = _copy(getattr(layer, attribute))
        return out


@dataclass(frozen=True)
class KernelAttentionAdapter:
    kernel_cls: type
    linear_cls: type

    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> dict[str, np.ndarray]:
        kernel, linear = self.kernel_cls(), self.linear_cls()
        out = {"Okern": _copy(kernel.forward(Q, K, V)), "Olin": _copy(linear.forward(Q, K, V))}
        for key, layer, attribute in (("sim", kernel, "similarities"), ("phiQ", linear, "phi_Q"), ("phiK", linear, "phi_K")):
            if isinstance(getattr(layer, attribute, None), np.ndarray):
                out[key] = _copy(getattr(layer, attribute))
        return out


@dataclass(frozen=True)
class NoiseAdapter:
    cls: type
    module: Any

    def draw(self, shape: tuple[int, ...], mu: float, sigma: float, seed: int) -> np.ndarray:
        return _copy(self.cls(mu=mu, sigma=sigma, seed=seed).sample(shape))

    def draw_bernoulli(self, shape: tuple[int, ...], keep: float, seed: int) -> np.ndarray:
        return _copy(self.cls.bernoulli(keep, seed=seed).sample(shape))

    def perturbed_loss(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, R: np.ndarray) -> float:
        return float(self.module.perturbed_loss(X, y, w, R))

    def gamma(self, X: np.ndarray) -> np.ndarray:
        return _copy(self.module.column_norms(X))

    def expected_loss(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, mu: float, sigma: float) -> float:
        return float(self.module.expected_loss(X, y, w, mu, sigma))

    def empirical_losses(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, mu: float, sigma: float,
                         draws: int, seed: int) -> np.ndarray:
        return _copy(self.cls(mu=mu, sigma=sigma, seed=seed).empirical_losses(X, y, w, draws))

    def empirical_bernoulli_losses(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, keep: float,
                                   draws: int, seed: int) -> np.ndarray:
        return _copy(self.cls.bernoulli(keep, seed=seed).empirical_losses(X, y, w, draws))


@dataclass(frozen=True)
class DiffusionAdapter:
    cls: type
    module: Any

    def alphas(self, betas: np.ndarray) -> np.ndarray:
        return _copy(self.module.cumulative_alphas(betas))

    def gamma(self, alpha_tau: np.ndarray, alpha_t: np.ndarray) -> np.ndarray:
        return _copy(self.module.gamma(alpha_tau, alpha_t))

    def alpha_from_eta(self, eta: np.ndarray) -> np.ndarray:
        return _copy(self.module.alpha_from_eta(eta))

    def step(self, z_prev: np.ndarray, beta: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        process = self.cls(np.array([beta]), seed=seed)
        sample = _copy(process.step(z_prev, 1))
        return sample, _noise(process, 1)

    def marginal(self, z0: np.ndarray, alpha: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        process = self.cls(np.array([0.5]), seed=seed)
        sample = _copy(process.sample_at(z0, alpha))
        return sample, _noise(process, 1)

    def pair(self, z0: np.ndarray, eta1: float, eta2: float, seed: int) -> tuple[np.ndarray, np.ndarray, Any]:
        process = self.cls(np.array([0.5]), seed=seed)
        first, second = process.sample_pair(z0, eta1, eta2)
        draws = getattr(process, "last_noise", ())
        return _copy(first), _copy(second), (tuple(_copy(d) for d in draws) if len(draws) == 2 else None)


def _noise(process: Any, count: int) -> np.ndarray | None:
    draws = getattr(process, "last_noise", ())
    return _copy(draws[0]) if len(draws) == count else None


@dataclass
class _AdaptiveSession:
    optimizer: Any

    def step(self, theta: np.ndarray, grad: np.ndarray) -> dict[str, np.ndarray]:
        out = {"theta": _copy(self.optimizer.step(theta.copy(), grad.copy()))}
        for key in ("m", "v"):
            if isinstance(getattr(self.optimizer, key, None), np.ndarray):
                out[key] = _copy(getattr(self.optimizer, key))
        return out


@dataclass(frozen=True)
class WeightDecayAdapter:
    cls: type

    def open(self, lr: float, beta1: float, beta2: float, weight_decay: float, decoupled: bool) -> _AdaptiveSession:
        return _AdaptiveSession(self.cls(lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay, decoupled=decoupled))


@dataclass(frozen=True)
class AutoencoderAdapter:
    cls: type

    def run(self, X: np.ndarray, W1: np.ndarray, W2: np.ndarray, lam: float) -> dict[str, Any]:
        model = self.cls(W1.copy(), W2.copy(), lam)
        dW1, dW2 = model.gradients(X.copy())
        Z = model.encode(X.copy())
        return {"Z": _copy(Z), "Xhat": _copy(model.decode(Z)), "L": _copy(model.loss(X.copy())),
                "Lreg": _copy(model.regularized_loss(X.copy())), "dW1": _copy(dW1), "dW2": _copy(dW2)}


def bundled_adapters() -> dict[str, Any]:
    """The adapters of the EECS 182 components over :mod:`eqconform.impl` (those of its ``ADAPTER``)."""
    from eqconform.impl import ADAPTER

    from .user import COMPONENT_ADAPTERS

    return {name: getattr(ADAPTER, name) for name in COMPONENT_ADAPTERS}
