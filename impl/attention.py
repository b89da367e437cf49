r"""Attention (UC Berkeley EECS 182 Homework 7, Spring 2023, Q4 and Q5).

- :class:`SoftmaxAttention`, eq. (8): scores :math:`S = QK^\top/\sqrt D`, weights
  :math:`A = \mathrm{softmax}(S)` row-wise (computed stably, with each row's maximum
  subtracted), output :math:`O = AV`. Specs ``attention.scores``, ``attention.softmax``,
  ``attention.output``, ``attention.dot_statistics``.
- :class:`ArgmaxAttention`, Q4: the value of the key with the largest inner product (the first
  one on a tie). Spec ``attention.argmax``.
- :func:`quadratic_feature_map`, Q5(b)(ii): the feature map of :math:`(q^\top k + 1)^2` in the
  printed order. Spec ``attention.feature_map``.
- :class:`KernelAttention`, eq. (9) with the quadratic kernel, :math:`O(N^2)`; and
  :class:`LinearAttention`, eq. (11), :math:`O(N)` in the sequence length. Specs
  ``attention.quadratic_kernel``, ``attention.kernel_output``, ``attention.linear_output``.

Every class takes ``Q`` (N_q, D), ``K`` (N, D) and ``V`` (N, M) and returns (N_q, M).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .handoff import copied, exposed

__all__ = [
    "ArgmaxAttention",
    "ArgmaxAttentionAdapter",
    "KernelAttention",
    "KernelAttentionAdapter",
    "LinearAttention",
    "SoftmaxAttention",
    "SoftmaxAttentionAdapter",
    "quadratic_feature_map",
    "softmax",
]


def softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``, with the maximum subtracted first so that exp cannot overflow."""
    shifted = scores - np.max(scores, axis=axis, keepdims=True)
    weights = np.exp(shifted)
    return weights / np.sum(weights, axis=axis, keepdims=True)


class SoftmaxAttention:
    """Scaled dot-product attention, eq. (8).

    >>> import numpy as np
    >>> layer = SoftmaxAttention()
    >>> layer.forward(np.zeros((1, 4)), np.ones((2, 4)), np.array([[1.0], [3.0]])).tolist()
    [[2.0]]
    """

    def __init__(self) -> None:
        self.scores: np.ndarray | None = None
        self.weights: np.ndarray | None = None

    def forward(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> np.ndarray:
        self.scores = Q @ K.T / np.sqrt(Q.shape[1])
        self.weights = softmax(self.scores, axis=1)
        return self.weights @ V


class ArgmaxAttention:
    """Argmax attention (Q4): one-hot weights on each query's best-matching key.

    >>> import numpy as np
    >>> keys = np.array([[1, 2, 0], [0, 3, 4], [5, 0, 0], [0, 0, 1]], dtype=float)
    >>> values = np.array([[2, 0, 1], [1, 4, 3], [0, -1, 4], [1, 0, -1]], dtype=float)
    >>> ArgmaxAttention().forward(np.array([[1.0, 1.0, 2.0]]), keys, values).tolist()
    [[1.0, 4.0, 3.0]]
    """

    def __init__(self) -> None:
        self.scores: np.ndarray | None = None
        self.weights: np.ndarray | None = None

    def forward(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> np.ndarray:
        self.scores = Q @ K.T
        self.weights = np.zeros_like(self.scores)
        self.weights[np.arange(len(Q)), np.argmax(self.scores, axis=1)] = 1.0
        return self.weights @ V


def quadratic_feature_map(X: np.ndarray) -> np.ndarray:
    """phi of each row, as printed: 1, sqrt(2) x_t, x_t^2, then sqrt(2) x_a x_b for a < b.

    >>> import numpy as np
    >>> phi = quadratic_feature_map(np.array([[1.0, 2.0], [3.0, -1.0]]))
    >>> kernel = (np.array([1.0, 2.0]) @ np.array([3.0, -1.0]) + 1) ** 2
    >>> phi.shape, round(float(phi[0] @ phi[1]), 12), float(kernel)
    ((2, 6), 4.0, 4.0)
    """
    rows, dim = X.shape
    upper = np.triu_indices(dim, k=1)
    cross = np.sqrt(2.0) * X[:, upper[0]] * X[:, upper[1]]
    return np.concatenate(
        [np.ones((rows, 1), dtype=X.dtype), np.sqrt(2.0) * X, X * X, cross], axis=1
    ).astype(X.dtype)


class KernelAttention:
    """Eq. (9) with sim(q, k) = (q.k + 1)^2, evaluated directly (N_q x N similarities)."""

    def __init__(self) -> None:
        self.similarities: np.ndarray | None = None

    def forward(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> np.ndarray:
        self.similarities = (Q @ K.T + 1.0) ** 2
        return (self.similarities @ V) / np.sum(self.similarities, axis=1, keepdims=True)


class LinearAttention:
    """Eq. (11): phi(Q_i)^T (sum_j phi(K_j) V_j^T) / phi(Q_i)^T (sum_j phi(K_j)), linear in N."""

    def __init__(self, feature_map: Callable[[np.ndarray], np.ndarray] = quadratic_feature_map):
        self.feature_map = feature_map
        self.phi_Q: np.ndarray | None = None
        self.phi_K: np.ndarray | None = None

    def forward(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> np.ndarray:
        self.phi_Q, self.phi_K = self.feature_map(Q), self.feature_map(K)
        summary = self.phi_K.T @ V  # U of Q5(d): C x M
        normalizer = self.phi_K.sum(axis=0)  # Z of Q5(d): C
        return (self.phi_Q @ summary) / (self.phi_Q @ normalizer)[:, None]


@dataclass(frozen=True)
class SoftmaxAttentionAdapter:
    """``cls()`` with ``forward(Q, K, V)``, keeping ``scores`` and ``weights`` if exposed."""

    cls: type[Any]
    #: What the output, the scores and the weights are called in the component's protocol.
    keys: ClassVar[tuple[str, str, str]] = ("O", "S", "A")

    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> dict[str, np.ndarray]:
        layer = self.cls()
        output, scores, weights = self.keys
        out = {output: copied(layer.forward(Q, K, V))}
        return out | exposed(((scores, layer, "scores"), (weights, layer, "weights")))


@dataclass(frozen=True)
class ArgmaxAttentionAdapter(SoftmaxAttentionAdapter):
    """The same for argmax attention, whose protocol names them ``Omax``, ``Sdot``, ``Amax``."""

    keys: ClassVar[tuple[str, str, str]] = ("Omax", "Sdot", "Amax")


@dataclass(frozen=True)
class KernelAttentionAdapter:
    """``kernel_cls()`` and ``linear_cls()`` with ``forward(Q, K, V)``, keeping
    ``similarities`` and ``phi_Q``, ``phi_K`` if exposed."""

    kernel_cls: type[Any]
    linear_cls: type[Any]

    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> dict[str, np.ndarray]:
        kernel, linear = self.kernel_cls(), self.linear_cls()
        out = {"Okern": copied(kernel.forward(Q, K, V)), "Olin": copied(linear.forward(Q, K, V))}
        kept = (
            ("sim", kernel, "similarities"),
            ("phiQ", linear, "phi_Q"),
            ("phiK", linear, "phi_K"),
        )
        return out | exposed(kept)
