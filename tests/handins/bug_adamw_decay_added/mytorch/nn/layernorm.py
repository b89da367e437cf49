import numpy as np


class LayerNorm:

    def __init__(self, num_features, eps=1e-8):

        self.C = num_features
        self.eps = eps

        self.gamma = np.ones((1, num_features))
        self.beta = np.zeros((1, num_features))

        self.dLdgamma = np.zeros((1, num_features))
        self.dLdbeta = np.zeros((1, num_features))

    def __call__(self, Z):
        return self.forward(Z)

    def forward(self, Z):
        """
        Z: (N, C). Statistics are over the feature axis, separately for every sample.
        """
        self.Z = Z
        self.N = Z.shape[0]

        self.M = np.sum(self.Z, axis=1, keepdims=True) / self.C                 # (N, 1)  eq (1)
        self.V = np.sum((self.Z - self.M) ** 2, axis=1, keepdims=True) / self.C  # (N, 1)  eq (2)
        self.NZ = (self.Z - self.M) / np.sqrt(self.V + self.eps)               # (N, C)  eq (3)
        self.LNZ = self.gamma * self.NZ + self.beta                             # (N, C)  eq (4)

        return self.LNZ

    def backward(self, dLdLNZ):

        self.dLdgamma = np.sum(dLdLNZ * self.NZ, axis=0, keepdims=True)  # (1, C)  eq (5)
        self.dLdbeta = np.sum(dLdLNZ, axis=0, keepdims=True)             # (1, C)  eq (6)

        dLdNZ = dLdLNZ * self.gamma                                      # (N, C)

        # eq (7)
        sum_dLdNZ = np.sum(dLdNZ, axis=1, keepdims=True)                 # (N, 1)
        sum_dLdNZ_NZ = np.sum(dLdNZ * self.NZ, axis=1, keepdims=True)    # (N, 1)
        dLdZ = (self.C * dLdNZ - sum_dLdNZ - self.NZ * sum_dLdNZ_NZ) / (self.C * np.sqrt(self.V + self.eps))

        return dLdZ
