import numpy as np


class Adam:
    """Adam, Fall 2025 handout: theta -= lr * mhat / sqrt(vhat + eps)."""

    def __init__(self, model, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.l = model.layers
        self.lr = lr
        self.beta1, self.beta2 = beta1, beta2
        self.eps = eps
        self.t = 0

        self.m_W, self.v_W, self.m_b, self.v_b = [], [], [], []
        for layer in self.l:
            self.m_W.append(np.zeros_like(layer.W, dtype=np.float64))
            self.v_W.append(np.zeros_like(layer.W, dtype=np.float64))
            self.m_b.append(np.zeros_like(layer.b, dtype=np.float64))
            self.v_b.append(np.zeros_like(layer.b, dtype=np.float64))

    def _moments(self, m, v, grad):
        # update running averages in place so the lists keep pointing at them
        m *= self.beta1
        m += (1.0 - self.beta1) * grad
        v *= self.beta2
        v += (1.0 - self.beta2) * grad * grad

    def _delta(self, m, v):
        c1 = 1.0 - self.beta1 ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        return self.lr * (m / c1) / np.sqrt(v / c2 + self.eps)

    def step(self):
        self.t += 1
        for layer, mW, vW, mb, vb in zip(self.l, self.m_W, self.v_W, self.m_b, self.v_b):
            self._moments(mW, vW, layer.dLdW)
            self._moments(mb, vb, layer.dLdb)
            layer.W -= self._delta(mW, vW)
            layer.b -= self._delta(mb, vb)
