r"""Inverted dropout (CMU 11-785 Homework 1 Bonus, Spring 2026, sec. 7).

In training every entry is kept with probability :math:`1 - p` (``p`` is the dropout rate)
through a fresh ``np.random.binomial`` mask, and kept entries are scaled by :math:`1/(1 - p)`
so that :math:`E[y] = x`; at test time the layer is the identity. ``backward`` routes the
gradient through the mask of the last forward pass.
Specs: ``dropout.mask``, ``dropout.scaling``, ``dropout.eval``, ``dropout.backward``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Dropout"]


class Dropout:
    """Dropout with drop probability ``p`` (0 <= p < 1).

    >>> import numpy as np
    >>> np.random.seed(1)
    >>> Dropout(p=0.5).forward(np.ones((1, 4))).tolist()
    [[0.0, 2.0, 0.0, 0.0]]
    """

    def __init__(self, p: float = 0.5):
        if not 0 <= p < 1:
            raise ValueError(f"Dropout probability must be in [0, 1), got {p!r}")
        self.p = p
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        if not train:
            return x
        self.mask = np.random.binomial(1, 1 - self.p, size=x.shape)
        return x * self.mask / (1 - self.p)

    def backward(self, delta: np.ndarray) -> np.ndarray:
        if self.mask is None:
            raise RuntimeError("Dropout.backward called before a training forward pass")
        return delta * self.mask / (1 - self.p)
