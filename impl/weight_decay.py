r"""Algorithm 1 of UC Berkeley EECS 182 Final Exam (Spring 2023), Q4: Adam without bias
correction, with weight decay in blank D (decoupled) or as an L2 penalty in blank A.

.. math::

    g_t = \nabla f_t(\theta_{t-1}) \;[+ \lambda\theta_{t-1} \text{ for L2}], \quad
    m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
    v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2,

    \theta_t = \theta_{t-1}
        - (\alpha\, m_t / \sqrt{v_t} \;[+ \lambda\theta_{t-1} \text{ for decay}]).

There is no epsilon, as printed. Specs: ``weight_decay.algorithm1`` (decoupled),
``weight_decay.decay_update`` and ``weight_decay.l2_update`` (with beta1 = 0, where
M_t = diag(1/sqrt(v_t))).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .handoff import copied, exposed

__all__ = ["WeightDecayAdam", "WeightDecayAdapter"]


class WeightDecayAdam:
    """One parameter array updated by Algorithm 1.

    >>> import numpy as np
    >>> opt = WeightDecayAdam(lr=0.1, weight_decay=0.5)
    >>> opt.step(np.array([2.0]), np.array([4.0])).round(6).tolist()
    [0.683772]
    """

    def __init__(
        self,
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        weight_decay: float = 0.0,
        *,
        decoupled: bool = True,
    ):
        self.lr, self.beta1, self.beta2, self.weight_decay = lr, beta1, beta2, weight_decay
        self.decoupled = decoupled
        self.m: np.ndarray | None = None
        self.v: np.ndarray | None = None

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        if self.m is None or self.v is None:
            self.m, self.v = np.zeros_like(theta), np.zeros_like(theta)
        g = grad if self.decoupled else grad + self.weight_decay * theta  # line 6, blank A for L2
        self.m = self.beta1 * self.m + (1 - self.beta1) * g  # line 7
        self.v = self.beta2 * self.v + (1 - self.beta2) * g * g  # line 8
        update = self.lr * self.m / np.sqrt(self.v)
        if self.decoupled:
            update = update + self.weight_decay * theta  # line 9, blank D
        return theta - update


@dataclass
class _WeightDecaySession:
    optimizer: Any

    def step(self, theta: np.ndarray, grad: np.ndarray) -> dict[str, np.ndarray]:
        out = {"theta": copied(self.optimizer.step(theta.copy(), grad.copy()))}
        return out | exposed((("m", self.optimizer, "m"), ("v", self.optimizer, "v")))


@dataclass(frozen=True)
class WeightDecayAdapter:
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
