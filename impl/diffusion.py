r"""The Gaussian forward diffusion (UC Berkeley EECS 182 Final Exam, Spring 2023, Q10).

One step :math:`z_t = \sqrt{1 - \beta_t} z_{t-1} + \sqrt{\beta_t}\epsilon`; the schedule's
:math:`\alpha_t = \prod_{s \le t} (1 - \beta_s)` so that
:math:`z_t = \sqrt{\alpha_t} z_0 + \sqrt{1 - \alpha_t}\epsilon` in one draw; from t to
:math:`\tau > t`, :math:`\gamma = \alpha_\tau / \alpha_t`; and the two-time sampler of eqs.
(10), (13) in the noise-to-signal ratio :math:`\eta = (1 - \alpha)/\alpha`, with
:math:`\alpha = 1/(\eta + 1)` (eq. (8)). Samplers keep their standard-normal draws in
``last_noise``. Specs: ``diffusion.*``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .handoff import copied

__all__ = ["DiffusionAdapter", "ForwardDiffusion", "alpha_from_eta", "cumulative_alphas", "gamma"]


def cumulative_alphas(betas: np.ndarray) -> np.ndarray:
    """alpha_t = prod_{s=1}^t (1 - beta_s) for t = 1..T (entry t - 1)."""
    return np.cumprod(1.0 - np.asarray(betas, dtype=np.float64))


def gamma(alpha_tau: np.ndarray | float, alpha_t: np.ndarray | float) -> np.ndarray:
    """gamma_(tau, t) = alpha_tau / alpha_t, the signal coefficient of q(z_tau | z_t)."""
    return np.asarray(alpha_tau) / np.asarray(alpha_t)


def alpha_from_eta(eta: np.ndarray | float) -> np.ndarray:
    """Eq. (8): alpha = 1 / (eta + 1)."""
    return 1.0 / (np.asarray(eta) + 1.0)


class ForwardDiffusion:
    """Samplers of the forward process with a fixed schedule ``betas`` (beta_1..beta_T).

    >>> import numpy as np
    >>> process = ForwardDiffusion(np.full(10, 0.1), seed=0)
    >>> round(float(process.alphas[-1]), 6)
    0.348678
    """

    def __init__(self, betas: np.ndarray | None = None, *, seed: int | None = None):
        self.betas = np.asarray(
            betas if betas is not None else np.linspace(1e-4, 0.02, 1000), dtype=np.float64
        )
        self.alphas = cumulative_alphas(self.betas)
        self.rng = np.random.default_rng(seed)
        self.last_noise: tuple[np.ndarray, ...] = ()

    def step(self, z_prev: np.ndarray, t: int) -> np.ndarray:
        """One forward step from z_(t-1) to z_t (t counts from 1)."""
        noise = self.rng.standard_normal(np.shape(z_prev))
        self.last_noise = (noise,)
        beta = self.betas[t - 1]
        return np.sqrt(1.0 - beta) * z_prev + np.sqrt(beta) * noise

    def sample(self, z0: np.ndarray, t: int | np.ndarray) -> np.ndarray:
        """z_t given z_0 in one draw; ``t`` may be an array broadcasting against ``z0``."""
        alpha = self.alphas[np.asarray(t) - 1]
        return self.sample_at(z0, alpha)

    def sample_at(self, z0: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
        """A draw of N(sqrt(alpha) z0, (1 - alpha) I)."""
        noise = self.rng.standard_normal(np.broadcast(np.asarray(z0), np.asarray(alpha)).shape)
        self.last_noise = (noise,)
        return np.sqrt(alpha) * z0 + np.sqrt(1.0 - alpha) * noise

    def sample_pair(
        self, z0: np.ndarray, eta1: float | np.ndarray, eta2: float | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """ztilde(eta_1), ztilde(eta_2) for eta_1 < eta_2 (eqs. (10), (13)): the second drawn from
        the first."""
        shape = np.broadcast(np.asarray(z0), np.asarray(eta1), np.asarray(eta2)).shape
        v1, v2 = self.rng.standard_normal(shape), self.rng.standard_normal(shape)
        self.last_noise = (v1, v2)
        alpha1 = alpha_from_eta(eta1)
        first = np.sqrt(alpha1) * z0 + np.sqrt(1.0 - alpha1) * v1
        step = gamma(alpha_from_eta(eta2), alpha1)
        return first, np.sqrt(step) * first + np.sqrt(1.0 - step) * v2


@dataclass(frozen=True)
class DiffusionAdapter:
    """``cls(betas, seed=)`` with ``step(z, t)``, ``sample_at(z0, alpha)`` and
    ``sample_pair(z0, eta1, eta2)``, keeping the noise it drew in ``last_noise`` if exposed; the
    schedule's functions are those of ``module``."""

    cls: type[Any]
    module: ModuleType

    def alphas(self, betas: np.ndarray) -> np.ndarray:
        return copied(self.module.cumulative_alphas(betas))

    def gamma(self, alpha_tau: np.ndarray, alpha_t: np.ndarray) -> np.ndarray:
        return copied(self.module.gamma(alpha_tau, alpha_t))

    def alpha_from_eta(self, eta: np.ndarray) -> np.ndarray:
        return copied(self.module.alpha_from_eta(eta))

    def step(
        self, z_prev: np.ndarray, beta: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        process = self.cls(np.array([beta]), seed=seed)
        sample = copied(process.step(z_prev, 1))
        return sample, _only_noise(process)

    def marginal(
        self, z0: np.ndarray, alpha: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        # The schedule does not matter: the marginal is drawn straight at ``alpha``.
        process = self.cls(np.array([0.5]), seed=seed)
        sample = copied(process.sample_at(z0, alpha))
        return sample, _only_noise(process)

    def pair(
        self, z0: np.ndarray, eta1: float, eta2: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        process = self.cls(np.array([0.5]), seed=seed)
        first, second = process.sample_pair(z0, eta1, eta2)
        draws: Sequence[np.ndarray] = getattr(process, "last_noise", ())
        noises = (copied(draws[0]), copied(draws[1])) if len(draws) == 2 else None
        return copied(first), copied(second), noises


def _only_noise(process: Any) -> np.ndarray | None:
    """The noise of a sampler that drew once, if the process exposes it."""
    draws: Sequence[np.ndarray] = getattr(process, "last_noise", ())
    return copied(draws[0]) if len(draws) == 1 else None
