r"""Layer normalization (CMU 11-785 Homework 1 Bonus, Spring 2026, sec. 6).

Forward, eqs. (1)-(4): per row, :math:`\mu`, the biased :math:`\sigma^2` (two passes, so a large
row mean costs no accuracy), :math:`\hat Z = (Z - \mu)/\sqrt{\sigma^2 + \epsilon}` and
:math:`\tilde Z = \gamma \hat Z + \beta`. Backward, eqs. (5)-(7).
Specs: ``layernorm.*``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LayerNorm"]


class LayerNorm:
    """LayerNorm over the features (axis 1) of an (N, C) input.

    >>> import numpy as np
    >>> layer = LayerNorm(3)
    >>> layer.forward(np.array([[1.0, 2.0, 3.0]])).round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """

    def __init__(self, num_features: int, eps: float = 1e-8):
        self.num_features = num_features
        self.eps = eps
        self.gamma = np.ones((1, num_features))
        self.beta = np.zeros((1, num_features))
        self.dLdgamma = np.zeros((1, num_features))
        self.dLdbeta = np.zeros((1, num_features))

    def forward(self, Z: np.ndarray) -> np.ndarray:
        self.Z = Z
        self.N = Z.shape[0]
        self.M = Z.mean(axis=1, keepdims=True)  # eq. (1)
        centered = Z - self.M
        self.V = (centered * centered).mean(axis=1, keepdims=True)  # eq. (2), second pass
        self.NZ = centered / np.sqrt(self.V + self.eps)  # eq. (3)
        return self.gamma * self.NZ + self.beta  # eq. (4)

    def backward(self, dLdLNZ: np.ndarray) -> np.ndarray:
        self.dLdgamma = (dLdLNZ * self.NZ).sum(axis=0, keepdims=True)  # eq. (5)
        self.dLdbeta = dLdLNZ.sum(axis=0, keepdims=True)  # eq. (6)
        dLdNZ = dLdLNZ * self.gamma
        C = self.num_features
        # eq. (7)
        return (
            C * dLdNZ
            - dLdNZ.sum(axis=1, keepdims=True)
            - self.NZ * (dLdNZ * self.NZ).sum(axis=1, keepdims=True)
        ) / (C * np.sqrt(self.V + self.eps))
