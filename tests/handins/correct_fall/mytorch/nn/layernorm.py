import numpy as np


class LayerNorm1d:

    def __init__(self, num_features, eps=1e-8):
        self.num_features = num_features
        self.eps = eps

        self.BW = np.ones((1, num_features))
        self.Bb = np.zeros((1, num_features))
        self.dLdBW = np.zeros((1, num_features))
        self.dLdBb = np.zeros((1, num_features))

    def __call__(self, Z):
        return self.forward(Z)

    def forward(self, Z):
        self.Z = Z
        self.N = Z.shape[0]
        self.M = Z.mean(axis=1, keepdims=True)
        self.V = np.var(Z, axis=1, keepdims=True)
        self.inv_std = 1.0 / np.sqrt(self.V + self.eps)
        self.NZ = (Z - self.M) * self.inv_std
        return self.NZ * self.BW + self.Bb

    def backward(self, dLdLNZ):
        C = self.num_features
        self.dLdBb = dLdLNZ.sum(axis=0, keepdims=True)
        self.dLdBW = (dLdLNZ * self.NZ).sum(axis=0, keepdims=True)

        # chain rule through mu and sigma^2 (Ba et al. / Ioffe & Szegedy style)
        dNZ = dLdLNZ * self.BW                                    # dL/dZhat
        Zc = self.Z - self.M                                      # centred input
        dV = np.sum(dNZ * Zc, axis=1, keepdims=True) * (-0.5) * self.inv_std ** 3
        dM = (-self.inv_std * np.sum(dNZ, axis=1, keepdims=True)
              + dV * np.mean(-2.0 * Zc, axis=1, keepdims=True))
        dLdZ = dNZ * self.inv_std + dV * 2.0 * Zc / C + dM / C
        return dLdZ
