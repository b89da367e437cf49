import numpy as np


class Dropout(object):
    """p is the probability of KEEPING a unit ("the probability of zero-ing out a
    neuron output is then 1 - p"), so survivors are scaled by 1/p."""

    def __init__(self, p=0.5):
        self.p = p
        self.mask = None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x, train=True):
        if not train:
            return x
        self.mask = np.random.binomial(1, self.p, size=x.shape)
        return (x * self.mask) / self.p

    def backward(self, delta):
        return (delta * self.mask) / self.p
