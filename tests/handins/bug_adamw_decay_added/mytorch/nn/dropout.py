# Do not import any additional 3rd party external libraries as they will not
# be available to AutoLab and are not needed (or allowed)

import numpy as np


class Dropout(object):
    def __init__(self, p=0.5):
        # p: probability of dropping a neuron
        self.p = p

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x, train=True):

        if train:
            # keep each unit with probability 1 - p, then rescale (inverted dropout)
            self.mask = np.random.binomial(1, 1 - self.p, size=x.shape)
            return x * self.mask / (1 - self.p)

        else:
            return x

    def backward(self, delta):
        return delta * self.mask / (1 - self.p)
