"""Adam as Kingma & Ba write it at the end of their sec. 2 (and as Keras/TensorFlow do):
the bias correction is folded into the step size and epsilon is added to the *uncorrected*
root,

    alpha_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
    theta_t = theta_(t-1) - alpha_t * m_t / (sqrt(v_t) + eps)

which is the homework's update with eps / sqrt(1 - beta2^t) in place of eps. eqconform names
it as the known deviation ``eps-hat`` of ``adam.update``; the moments and their bias
correction conform.

    eqconform report --target file:examples/eps_hat_adam/adapter.py:EpsHatAdam --spec adam
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
        alpha_t = h.lr * np.sqrt(1 - h.beta2**self.t) / (1 - h.beta1**self.t)
        for i, g in enumerate(gradients):
            self.m[i] = h.beta1 * self.m[i] + (1 - h.beta1) * g
            self.v[i] = h.beta2 * self.v[i] + (1 - h.beta2) * g * g
            self.params[i] = self.params[i] - alpha_t * self.m[i] / (np.sqrt(self.v[i]) + h.eps)
        return [{"theta": p, "m": m, "v": v} for p, m, v in zip(self.params, self.m, self.v)]


class EpsHatAdam:
    description = "Adam with the step-size form of the bias correction (Kingma & Ba sec. 2, epsilon hat)"

    def adam(self, layers, hyperparameters):
        return _Session(layers, hyperparameters)
