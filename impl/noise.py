r"""Multiplicative input noise for linear regression (UC Berkeley EECS 182 Final Exam, Spring
2023, Q5).

:class:`MultiplicativeNoise` draws :math:`R` with iid entries, Gaussian
:math:`\mathcal N(\mu, \sigma^2)` or Bernoulli (dropout without rescaling), and evaluates the
loss :math:`\|y - (R \odot X) w\|_2^2` of one draw, its closed-form expectation
:math:`\|y - \mu X w\|_2^2 + \sigma^2 \|\Gamma w\|_2^2` with
:math:`\Gamma = \mathrm{diag}(X^\top X)^{1/2}`, and the empirical mean over many draws.
Specs: ``noise.draw``, ``noise.dropout_draw``, ``noise.perturbed_loss``, ``noise.gamma``,
``noise.expected_loss``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .handoff import copied

__all__ = ["MultiplicativeNoise", "NoiseAdapter", "column_norms", "expected_loss", "perturbed_loss"]


def column_norms(X: np.ndarray) -> np.ndarray:
    """The diagonal of Gamma = diag(X^T X)^(1/2): the Euclidean norm of every column of X."""
    return np.sqrt(np.sum(X * X, axis=0))


def perturbed_loss(X: np.ndarray, y: np.ndarray, w: np.ndarray, R: np.ndarray) -> float:
    """||y - (R o X) w||^2 for X (N, P), y (N,), w (P,) and a draw R shaped like X."""
    residual = y - (R * X) @ w
    return float(residual @ residual)


def expected_loss(X: np.ndarray, y: np.ndarray, w: np.ndarray, mu: float, sigma: float) -> float:
    """E over R of ||y - (R o X) w||^2 when the R_ij are iid with mean mu and variance sigma^2."""
    residual = y - mu * (X @ w)
    weighted = column_norms(X) * w
    return float(residual @ residual + sigma**2 * (weighted @ weighted))


class MultiplicativeNoise:
    """iid multiplicative noise with mean ``mu`` and standard deviation ``sigma``.

    >>> import numpy as np
    >>> noise = MultiplicativeNoise(mu=1.0, sigma=0.5, seed=0)
    >>> noise.sample((2, 3)).shape
    (2, 3)
    >>> float(noise.expected_loss(np.eye(2), np.ones(2), np.ones(2)))
    0.5
    """

    def __init__(
        self,
        mu: float = 1.0,
        sigma: float = 1.0,
        *,
        kind: str = "gaussian",
        seed: int | None = None,
    ):
        if kind not in ("gaussian", "bernoulli"):
            raise ValueError(f"kind must be 'gaussian' or 'bernoulli', not {kind!r}")
        if sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {sigma!r}")
        self.mu, self.sigma, self.kind = float(mu), float(sigma), kind
        self.rng = np.random.default_rng(seed)

    @classmethod
    def bernoulli(cls, keep: float, *, seed: int | None = None) -> MultiplicativeNoise:
        """Dropout's 0/1 mask as multiplicative noise: mean keep, variance keep (1 - keep)."""
        if not 0 < keep <= 1:
            raise ValueError(f"keep must be in (0, 1], got {keep!r}")
        return cls(mu=keep, sigma=float(np.sqrt(keep * (1 - keep))), kind="bernoulli", seed=seed)

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        if self.kind == "bernoulli":
            return self.rng.binomial(1, self.mu, size=shape).astype(np.float64)
        return self.mu + self.sigma * self.rng.standard_normal(shape)

    def expected_loss(self, X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
        return expected_loss(X, y, w, self.mu, self.sigma)

    def empirical_losses(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, draws: int
    ) -> np.ndarray:
        """The loss of ``draws`` independent draws of R (vectorized)."""
        R = self.sample((draws, *X.shape))
        residuals = y[None, :] - np.einsum("dnp,np,p->dn", R, X, w)
        return np.sum(residuals * residuals, axis=1)


@dataclass(frozen=True)
class NoiseAdapter:
    """``cls(mu=, sigma=, seed=)`` and ``cls.bernoulli(keep, seed=)`` with ``sample(shape)`` and
    ``empirical_losses(X, y, w, draws)``; the losses and column norms are functions of
    ``module``."""

    cls: type[Any]
    module: ModuleType

    def draw(self, shape: tuple[int, ...], mu: float, sigma: float, seed: int) -> np.ndarray:
        return copied(self.cls(mu=mu, sigma=sigma, seed=seed).sample(shape))

    def draw_bernoulli(self, shape: tuple[int, ...], keep: float, seed: int) -> np.ndarray:
        return copied(self.cls.bernoulli(keep, seed=seed).sample(shape))

    def perturbed_loss(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, R: np.ndarray) -> float:
        return float(self.module.perturbed_loss(X, y, w, R))

    def gamma(self, X: np.ndarray) -> np.ndarray:
        return copied(self.module.column_norms(X))

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
        return copied(noise.empirical_losses(X, y, w, draws))

    def empirical_bernoulli_losses(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, keep: float, draws: int, seed: int
    ) -> np.ndarray:
        noise = self.cls.bernoulli(keep, seed=seed)
        return copied(noise.empirical_losses(X, y, w, draws))
