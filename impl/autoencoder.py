r"""A linear autoencoder (UC Berkeley EECS 182 Homework 7, Spring 2023, Q1(b) and Q2).

Encoder :math:`W_1` (k, m), decoder :math:`W_2` (m, k), data :math:`X` (m, n) with one sample
per column; objective :math:`L = \frac1n \|X - W_2 W_1 X\|_F^2` (eq. (1)) with gradients
:math:`\nabla_{W_2} L = -\frac2n (X - W_2W_1X)(W_1X)^\top` and
:math:`\nabla_{W_1} L = -\frac2n W_2^\top (X - W_2W_1X) X^\top`, and the l2-regularized
objective of eq. (6). Specs: ``autoencoder.*``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .handoff import copied

__all__ = ["AutoencoderAdapter", "LinearAutoencoder"]


class LinearAutoencoder:
    """x -> W_2 W_1 x, trained on the reconstruction error.

    >>> import numpy as np
    >>> model = LinearAutoencoder(np.array([[1.0, 0.0]]), np.array([[1.0], [0.0]]))
    >>> float(model.loss(np.array([[1.0, -1.0], [2.0, -2.0]])))
    4.0
    """

    def __init__(self, W1: np.ndarray, W2: np.ndarray, lam: float = 0.0):
        self.W1, self.W2, self.lam = W1, W2, lam

    def encode(self, X: np.ndarray) -> np.ndarray:
        return self.W1 @ X

    def decode(self, Z: np.ndarray) -> np.ndarray:
        return self.W2 @ Z

    def loss(self, X: np.ndarray) -> float:
        residual = X - self.decode(self.encode(X))
        return float(np.sum(residual * residual) / X.shape[1])

    def regularized_loss(self, X: np.ndarray) -> float:
        """Eq. (6): the objective plus lam (||W_1||_F^2 + ||W_2||_F^2)."""
        return self.loss(X) + self.lam * float(
            np.sum(self.W1 * self.W1) + np.sum(self.W2 * self.W2)
        )

    def gradients(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dL/dW_1, dL/dW_2) of the unregularized objective, eq. (1)."""
        Z = self.encode(X)
        residual = X - self.decode(Z)
        n = X.shape[1]
        return -2.0 / n * (self.W2.T @ residual) @ X.T, -2.0 / n * residual @ Z.T


@dataclass(frozen=True)
class AutoencoderAdapter:
    """``cls(W1, W2, lam)`` with ``encode``, ``decode``, ``loss``, ``regularized_loss`` and
    ``gradients`` of ``X``."""

    cls: type[Any]

    def run(self, X: np.ndarray, W1: np.ndarray, W2: np.ndarray, lam: float) -> dict[str, Any]:
        model = self.cls(W1.copy(), W2.copy(), lam)
        dW1, dW2 = model.gradients(X.copy())
        Z = model.encode(X.copy())
        return {
            "Z": copied(Z),
            "Xhat": copied(model.decode(Z)),
            "L": copied(model.loss(X.copy())),
            "Lreg": copied(model.regularized_loss(X.copy())),
            "dW1": copied(dW1),
            "dW2": copied(dW2),
        }
