"""NumPy re-creations of what real deep-learning libraries do, as adapter objects.

Each class re-creates one behaviour seen in a well-known library's Adam, AdamW or LayerNorm:
an AdamW whose Adam step has no bias correction or uses the eps-hat form, an optimizer that
holds its learning rate in float32, a LayerNorm computed in float32 on float64 inputs, one that
answers float64 inputs in float32, and a broken one that returns zeros. They are loaded as
``file:`` targets, as a user's adapter would be.
"""

from __future__ import annotations

import numpy as np


class _AdamWSession:
    """AdamW on a list of parameters, hiding its moments (as most libraries do)."""

    def __init__(self, layers, hp, *, bias_correction=True, eps_hat=False, lr_dtype=np.float64,
                 compute=None, nesterov=False, root=True, torch_order=False, coefficients=None):
        self.params = [np.array(p, copy=True) for pair in layers for p in pair]
        self.dtype = self.params[0].dtype
        self.compute = np.dtype(compute) if compute is not None else self.dtype
        self.m = [np.zeros_like(p, dtype=self.compute) for p in self.params]
        self.v = [np.zeros_like(p, dtype=self.compute) for p in self.params]
        self.hp, self.t = hp, 0
        self.bias_correction, self.eps_hat = bias_correction, eps_hat
        self.nesterov, self.root, self.torch_order = nesterov, root, torch_order
        self.coefficients = coefficients
        self.lr = np.asarray(hp.lr, dtype=lr_dtype)

    def step(self, gradients):
        self.t += 1
        hp, t, c = self.hp, self.t, self.compute
        # Float32 coefficients: the scalars (and what is computed from them alone) in float32.
        k = np.dtype(self.coefficients).type if self.coefficients is not None else c.type
        b1, b2, eps = k(hp.beta1), k(hp.beta2), k(hp.eps)
        lr, lam = self.lr.astype(c), c.type(hp.weight_decay)
        out = []
        for i, (theta, g) in enumerate(zip(self.params, gradients, strict=True)):
            theta_c, g = theta.astype(c), np.asarray(g).astype(c)
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            if self.coefficients is not None:  # MLX's beta powers, Keras's lr and 1 - lr wd
                klr, klam = k(hp.lr), k(hp.weight_decay)
                c1, c2 = k(1) - b1**t, k(1) - b2**t
                step = klr * (self.m[i] / c1) / (np.sqrt(self.v[i] / c2) + eps)
                updated = (theta_c * (k(1) - klr * klam) - step).astype(self.dtype)
                self.params[i] = updated
                out.append({"theta": updated.copy()})
                continue
            if self.torch_order:  # torch.optim.AdamW: decay first, then step / (sqrt(v) / c2 + eps)
                decayed = theta_c * c.type(1 - hp.lr * hp.weight_decay)
                size, root2 = c.type(hp.lr / (1 - hp.beta1**t)), c.type(np.sqrt(1 - hp.beta2**t))
                updated = (decayed - size * self.m[i] / (np.sqrt(self.v[i]) / root2 + eps)).astype(self.dtype)
                self.params[i] = updated
                out.append({"theta": updated.copy()})
                continue
            if self.eps_hat:  # Keras: the correction folded into the step size, eps on sqrt(v)
                step = lr * np.sqrt(1 - b2**t) / (1 - b1**t) * self.m[i] / (np.sqrt(self.v[i]) + eps)
            elif self.bias_correction:
                # Nesterov momentum (timm's NAdamW): the next step's moment, b1 m_t + (1 - b1) g.
                ahead = b1 * self.m[i] + (1 - b1) * g if self.nesterov else self.m[i]
                mhat, vhat = ahead / (1 - b1**t), self.v[i] / (1 - b2**t)
                step = lr * mhat / ((np.sqrt(vhat) if self.root else vhat) + eps)
            else:
                step = lr * self.m[i] / (np.sqrt(self.v[i]) + eps)
            updated = (theta_c - step - lr * lam * theta_c).astype(self.dtype)
            self.params[i] = updated
            out.append({"theta": updated.copy()})
        return out


class _Optimizers:
    options: dict = {}

    def adam(self, layers, hp):
        return _AdamWSession(layers, hp, **self.options)

    def adamw(self, layers, hp):
        return _AdamWSession(layers, hp, **self.options)


class UncorrectedAdamW(_Optimizers):
    """AdamW without bias correction."""

    options = {"bias_correction": False}


class EpsHatAdamW(_Optimizers):
    """AdamW with the bias correction folded into the step size (Keras/TensorFlow)."""

    options = {"eps_hat": True}


class CorrectAdamW(_Optimizers):
    """The homework's Adam and AdamW, moments hidden."""


class Float32Coefficients(_Optimizers):
    """Adam and AdamW whose hyperparameters and their combinations (beta**t, 1 - lr * wd) are
    float32 scalars, the arrays kept in the input dtype (MLX, Keras with floatx float32)."""

    options = {"coefficients": np.float32}


class TorchOrderAdamW(_Optimizers):
    """AdamW in torch.optim.AdamW's order of operations, hiding its moments: a correct one."""

    options = {"torch_order": True}


class NesterovAdamW(_Optimizers):
    """Adam and AdamW with Nesterov momentum (timm's NAdamW): another formula, at any precision."""

    options = {"nesterov": True}


class UnrootedAdam(_Optimizers):
    """Adam dividing by v-hat instead of its square root: another formula, at any precision."""

    options = {"root": False}


class Float32LearningRate(_Optimizers):
    """Adam and AdamW with the learning rate held in float32, the rest in float64."""

    options = {"lr_dtype": np.float32}


class Float32Adam(_Optimizers):
    """Adam and AdamW computed in float32 whatever they are given, answered in the input dtype."""

    options = {"compute": np.float32}


def _layernorm(Z, gamma, beta, eps, G, dtype):
    Z, gamma, beta, G = (np.asarray(a, dtype=dtype) for a in (Z, gamma, beta, G))
    mu = Z.mean(axis=1, keepdims=True)
    var = ((Z - mu) ** 2).mean(axis=1, keepdims=True)
    std = np.sqrt(var + dtype.type(eps))
    Zhat = (Z - mu) / std
    dZhat = G * gamma
    C = Z.shape[1]
    dZ = (dZhat - dZhat.mean(axis=1, keepdims=True)
          - Zhat * (dZhat * Zhat).mean(axis=1, keepdims=True)) / std
    del C
    return {"Ztilde": Zhat * gamma + beta, "dLdZ": dZ, "dLdgamma": (G * Zhat).sum(0, keepdims=True),
            "dLdbeta": G.sum(0, keepdims=True)}


class Float32LayerNorm:
    """A fused LayerNorm that computes in float32 and casts its answer back to the input dtype."""

    def layernorm(self, Z, gamma, beta, eps, G):
        out = _layernorm(Z, gamma, beta, eps, G, np.dtype(np.float32))
        return {k: v.astype(Z.dtype) for k, v in out.items()}


def _bfloat16(x):
    """Round to the nearest bfloat16 (ties to even), held in float32: the top 16 bits."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return rounded.astype(np.uint32).view(np.float32)


class BFloat16LayerNorm:
    """A LayerNorm computed in bfloat16 (each operation rounded to it, sums accumulated in
    float32 as mixed-precision kernels do), its answer cast back to the input dtype."""

    def layernorm(self, Z, gamma, beta, eps, G):
        r, given = _bfloat16, np.asarray(Z).dtype
        Z, gamma, beta, G = (r(a) for a in (Z, gamma, beta, G))
        C = Z.shape[1]
        mu = r(Z.sum(axis=1, keepdims=True) / np.float32(C))
        D = r(Z - mu)
        var = r(r(D * D).sum(axis=1, keepdims=True) / np.float32(C))
        std = r(np.sqrt(r(var + r(eps))))
        Zhat = r(D / std)
        out = r(r(Zhat * gamma) + beta)
        dZhat = r(G * gamma)
        a = r(dZhat.sum(axis=1, keepdims=True) / np.float32(C))
        b = r(r(dZhat * Zhat).sum(axis=1, keepdims=True) / np.float32(C))
        dZ = r(r(r(dZhat - a) - r(Zhat * b)) / std)
        answers = {"Ztilde": out, "dLdZ": dZ, "dLdgamma": r(r(G * Zhat).sum(0, keepdims=True)),
                   "dLdbeta": r(G.sum(0, keepdims=True))}
        return {k: v.astype(given) for k, v in answers.items()}


class Float16LayerNorm:
    """A LayerNorm computed in float16 (half precision), its answer cast back."""

    def layernorm(self, Z, gamma, beta, eps, G):
        out = _layernorm(Z, gamma, beta, eps, G, np.dtype(np.float16))
        return {k: v.astype(Z.dtype) for k, v in out.items()}


class NarrowLayerNorm:
    """A LayerNorm that answers float64 inputs in float32 (and says so in its dtype)."""

    def layernorm(self, Z, gamma, beta, eps, G):
        return _layernorm(Z, gamma, beta, eps, G, np.dtype(np.float32))


class ZeroLayerNorm:
    """A broken LayerNorm whose every answer is zeros."""

    def layernorm(self, Z, gamma, beta, eps, G):
        zeros = np.zeros_like(Z)
        return {"Ztilde": zeros, "dLdZ": zeros, "dLdgamma": np.zeros_like(gamma), "dLdbeta": np.zeros_like(beta)}


class EpsHatFloat32Adam(_Optimizers):
    """Adam and AdamW in the eps-hat form (Keras), computed in float32 on float64 parameters."""

    options = {"eps_hat": True, "compute": np.float32}
