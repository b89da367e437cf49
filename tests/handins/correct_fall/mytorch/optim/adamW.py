import numpy as np


class AdamW:
    """AdamW as in Loshchilov & Hutter: theta_t = theta_adam - wd * theta_{t-1}.

    The decay is applied to the weights from *before* this step. As in the paper,
    it is scaled only by the schedule multiplier eta_t (fixed at 1 here), not by
    the learning rate. Adam part follows the Fall 2025 handout (eps inside sqrt).
    """

    def __init__(self, model, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        self.l = model.layers
        self.lr = lr
        self.beta1, self.beta2 = beta1, beta2
        self.eps = eps
        self.weight_decay = weight_decay
        self.t = 0

        self.m_W = [np.zeros_like(layer.W, dtype=np.float64) for layer in self.l]
        self.v_W = [np.zeros_like(layer.W, dtype=np.float64) for layer in self.l]
        self.m_b = [np.zeros_like(layer.b, dtype=np.float64) for layer in self.l]
        self.v_b = [np.zeros_like(layer.b, dtype=np.float64) for layer in self.l]

    def _adam_delta(self, m, v, grad):
        m *= self.beta1
        m += (1.0 - self.beta1) * grad
        v *= self.beta2
        v += (1.0 - self.beta2) * grad * grad
        mhat = m / (1.0 - self.beta1 ** self.t)
        vhat = v / (1.0 - self.beta2 ** self.t)
        return self.lr * mhat / np.sqrt(vhat + self.eps)

    def step(self):
        self.t += 1
        for layer, mW, vW, mb, vb in zip(self.l, self.m_W, self.v_W, self.m_b, self.v_b):
            # decay term uses theta_{t-1}: compute it before touching the weights
            decay_W = self.weight_decay * layer.W
            decay_b = self.weight_decay * layer.b
            layer.W -= self._adam_delta(mW, vW, layer.dLdW) + decay_W
            layer.b -= self._adam_delta(mb, vb, layer.dLdb) + decay_b
