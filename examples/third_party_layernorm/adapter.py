"""Audit ``fancy_norm`` (a third-party library, next to this file) with eqconform.

    eqconform report --target file:examples/third_party_layernorm/adapter.py:Adapter --spec layernorm
    eqconform report --target file:examples/third_party_layernorm/adapter.py:Adapter --spec adam

The adapter translates between the checker's protocol (NumPy arrays; ``gamma``/``beta`` of
shape (1, C); parameters passed as ``(W, b)`` pairs) and the library's own API. It has no
``adamw`` or ``dropout`` method, so those specs are skipped, with the reason.
"""

from __future__ import annotations

# This folder is on sys.path while eqconform loads this file, so the library next to it imports.
import fancy_norm


class _AdamSession:
    def __init__(self, layers, hyperparameters):
        self.names = [f"layer{i}.{which}" for i in range(len(layers)) for which in ("weight", "bias")]
        self.params = {name: array for name, array in zip(self.names, (a for pair in layers for a in pair))}
        self.optimizer = fancy_norm.FancyAdam(
            lr=hyperparameters.lr, betas=(hyperparameters.beta1, hyperparameters.beta2), eps=hyperparameters.eps
        )

    def step(self, gradients):
        self.params = self.optimizer.update(self.params, dict(zip(self.names, gradients)))
        return [{"theta": self.params[name], "m": self.optimizer.state[name]["exp_avg"],
                 "v": self.optimizer.state[name]["exp_avg_sq"]} for name in self.names]


class Adapter:
    name = "fancy_norm"
    description = "fancy_norm's functional LayerNorm and FancyAdam (examples/third_party_layernorm)"

    def layernorm(self, Z, gamma, beta, eps, G):
        out, cache = fancy_norm.fancy_layer_norm(Z, gamma[0], beta[0], epsilon=eps)
        grad_x, grad_weight, grad_bias = fancy_norm.fancy_layer_norm_backward(G, cache)
        return {
            "Ztilde": out,
            "dLdZ": grad_x,
            "dLdgamma": grad_weight[None, :],
            "dLdbeta": grad_bias[None, :],
            "mu": cache.mean,
            "Zhat": cache.x_hat,
        }

    def adam(self, layers, hyperparameters):
        return _AdamSession(layers, hyperparameters)

    def defaults(self):
        return {
            "adam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
            "layernorm": {"eps": 1e-5},
        }
