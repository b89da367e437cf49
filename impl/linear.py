"""A fully connected layer in the homework's API: ``W`` is (out, in), ``b`` is (out, 1)."""

from __future__ import annotations

import numpy as np

__all__ = ["Linear"]


class Linear:
    r"""``Z = A W^T + 1 b^T`` for a batch ``A`` of shape (N, in_features).

    The optimizers only need ``W``, ``b`` and the gradients ``dLdW``, ``dLdb`` (same shapes),
    which :meth:`backward` fills in.

    >>> layer = Linear(3, 2)
    >>> layer.W.shape, layer.b.shape
    ((2, 3), (2, 1))
    """

    def __init__(
        self, in_features: int, out_features: int, *, rng: np.random.Generator | None = None
    ):
        rng = rng if rng is not None else np.random.default_rng()
        scale = 1.0 / np.sqrt(in_features)
        self.W = rng.uniform(-scale, scale, size=(out_features, in_features))
        self.b = np.zeros((out_features, 1))
        self.dLdW = np.zeros_like(self.W)
        self.dLdb = np.zeros_like(self.b)
        self.A: np.ndarray | None = None

    def forward(self, A: np.ndarray) -> np.ndarray:
        self.A = A
        return A @ self.W.T + self.b.T

    def backward(self, dLdZ: np.ndarray) -> np.ndarray:
        if self.A is None:
            raise RuntimeError("Linear.backward called before forward")
        self.dLdW = dLdZ.T @ self.A
        self.dLdb = dLdZ.sum(axis=0, keepdims=True).T
        return dLdZ @ self.W
