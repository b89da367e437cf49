r"""Adam and AdamW (CMU 11-785 Homework 1 Bonus, Spring 2026, secs. 4 and 5).

.. math::

    m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2

    \hat m_t = \frac{m_t}{1 - \beta_1^t}, \quad \hat v_t = \frac{v_t}{1 - \beta_2^t}, \quad
    \theta_t = \theta_{t-1} - \alpha \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

AdamW then subtracts :math:`\alpha \lambda \theta_{t-1}` (sec. 5), the decay of the *previous*
weights. Specs: ``adam.first_moment``, ``adam.second_moment``, ``adam.bias_correction``,
``adam.update``, ``adamw.decoupled_decay``.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

__all__ = ["Adam", "AdamW"]


class _Layer(Protocol):
    W: np.ndarray
    b: np.ndarray
    dLdW: np.ndarray
    dLdb: np.ndarray


class Adam:
    """Adam over every layer of ``model.layers`` (objects with ``W``, ``b``, ``dLdW``, ``dLdb``).

    The moments are kept per layer in ``m_W``, ``v_W``, ``m_b``, ``v_b`` (as the homework's
    handout names them) and ``t`` counts the steps taken.

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> layer = SimpleNamespace(W=np.ones((1, 2)), b=np.zeros((1, 1)),
    ...                         dLdW=np.ones((1, 2)), dLdb=np.ones((1, 1)))
    >>> Adam(SimpleNamespace(layers=[layer]), lr=0.1).step()
    >>> layer.W.round(6)
    array([[0.9, 0.9]])
    """

    def __init__(
        self, model: Any, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ):
        self.l: list[_Layer] = list(model.layers)
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m_W = [np.zeros_like(layer.W) for layer in self.l]
        self.v_W = [np.zeros_like(layer.W) for layer in self.l]
        self.m_b = [np.zeros_like(layer.b) for layer in self.l]
        self.v_b = [np.zeros_like(layer.b) for layer in self.l]

    def step(self) -> None:
        self.t += 1
        for index, layer in enumerate(self.l):
            previous_W, previous_b = layer.W.copy(), layer.b.copy()
            layer.W = self._adam_update(layer.W, layer.dLdW, self.m_W, self.v_W, index)
            layer.b = self._adam_update(layer.b, layer.dLdb, self.m_b, self.v_b, index)
            self._after_update(layer, previous_W, previous_b)

    def _adam_update(
        self,
        theta: np.ndarray,
        gradient: np.ndarray,
        first: list[np.ndarray],
        second: list[np.ndarray],
        index: int,
    ) -> np.ndarray:
        first[index] = self.beta1 * first[index] + (1 - self.beta1) * gradient
        second[index] = self.beta2 * second[index] + (1 - self.beta2) * gradient * gradient
        m_hat = first[index] / (1 - self.beta1**self.t)
        v_hat = second[index] / (1 - self.beta2**self.t)
        return theta - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def _after_update(self, layer: _Layer, previous_W: np.ndarray, previous_b: np.ndarray) -> None:
        """Hook for decoupled weight decay; plain Adam has none."""


class AdamW(Adam):
    """Adam with decoupled weight decay:
    ``theta_t = theta_adam - lr * weight_decay * theta_{t-1}``."""

    def __init__(
        self,
        model: Any,
        lr: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ):
        super().__init__(model, lr, beta1, beta2, eps)
        self.weight_decay = weight_decay

    def _after_update(self, layer: _Layer, previous_W: np.ndarray, previous_b: np.ndarray) -> None:
        layer.W = layer.W - previous_W * self.lr * self.weight_decay
        layer.b = layer.b - previous_b * self.lr * self.weight_decay
