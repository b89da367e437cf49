"""An "AdamW" that is really Adam with L2 regularization: ``weight_decay * theta`` is added
to the gradient before the moments, so the decay passes through the adaptive denominator,
and nothing is subtracted from the weights directly (what ``torch.optim.Adam(weight_decay=...)``
does). eqconform names it as the known deviation ``l2-coupled`` of ``adamw.decoupled_decay``.

    eqconform report --target file:examples/l2_adamw/adapter.py:L2AdamW --spec adamw
"""

from __future__ import annotations

import numpy as np


class _Session:
    def __init__(self, layers, hyperparameters):
        self.h = hyperparameters
        self.params = [np.array(a, copy=True) for pair in layers for a in pair]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, gradients):
        h = self.h
        self.t += 1
        for i, g in enumerate(gradients):
            g = g + h.weight_decay * self.params[i]  # coupled: the decay joins the gradient
            self.m[i] = h.beta1 * self.m[i] + (1 - h.beta1) * g
            self.v[i] = h.beta2 * self.v[i] + (1 - h.beta2) * g * g
            m_hat = self.m[i] / (1 - h.beta1**self.t)
            v_hat = self.v[i] / (1 - h.beta2**self.t)
            self.params[i] = self.params[i] - h.lr * m_hat / (np.sqrt(v_hat) + h.eps)
        return [{"theta": p, "m": m, "v": v} for p, m, v in zip(self.params, self.m, self.v)]


class L2AdamW:
    description = "Adam with L2 regularization presented as AdamW (coupled weight decay)"

    def adamw(self, layers, hyperparameters):
        return _Session(layers, hyperparameters)
