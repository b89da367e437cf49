"""``fancy_norm``: a stand-in for a third-party library, with its own API.

Nothing here knows about eqconform. The library is functional: parameters are 1-D vectors
(``weight``, ``bias`` of shape (C,)), the forward pass returns the output and a cache, and the
backward pass takes the cache back. It keeps the reciprocal standard deviation, as fused
kernels do, rather than the variance. Its optimizer works on a dict of named parameters and
keeps its state per name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["FancyAdam", "NormCache", "fancy_layer_norm", "fancy_layer_norm_backward"]


@dataclass(frozen=True)
class NormCache:
    """What the backward pass needs: the normalized input, the reciprocal std and the weight."""

    x_hat: np.ndarray
    mean: np.ndarray
    rstd: np.ndarray
    weight: np.ndarray


def fancy_layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, epsilon: float = 1e-5) -> tuple[np.ndarray, NormCache]:
    """Normalize each row of ``x`` (N, C) over its C features, then scale and shift."""
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    variance = np.mean(centered * centered, axis=-1, keepdims=True)
    rstd = 1.0 / np.sqrt(variance + epsilon)
    x_hat = centered * rstd
    return x_hat * weight + bias, NormCache(x_hat, mean, rstd, weight)


def fancy_layer_norm_backward(grad_out: np.ndarray, cache: NormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(grad_x, grad_weight, grad_bias)`` for the upstream gradient ``grad_out``."""
    grad_weight = np.sum(grad_out * cache.x_hat, axis=0)
    grad_bias = np.sum(grad_out, axis=0)
    grad_x_hat = grad_out * cache.weight
    mean_grad = grad_x_hat.mean(axis=-1, keepdims=True)
    mean_grad_x_hat = (grad_x_hat * cache.x_hat).mean(axis=-1, keepdims=True)
    grad_x = (grad_x_hat - mean_grad - cache.x_hat * mean_grad_x_hat) * cache.rstd
    return grad_x, grad_weight, grad_bias


@dataclass
class FancyAdam:
    """Adam over named parameters: ``opt.update(params, grads)`` returns the new parameters.

    ``state[name]`` holds ``exp_avg``, ``exp_avg_sq`` and ``step`` for each parameter.
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    state: dict[str, dict[str, object]] = field(default_factory=dict)

    def update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        beta1, beta2 = self.betas
        updated = {}
        for name, param in params.items():
            grad = grads[name]
            state = self.state.setdefault(name, {"step": 0, "exp_avg": np.zeros_like(param),
                                                 "exp_avg_sq": np.zeros_like(param)})
            state["step"] += 1
            state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * grad
            state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
            step = state["step"]
            m_hat = state["exp_avg"] / (1 - beta1**step)
            v_hat = state["exp_avg_sq"] / (1 - beta2**step)
            updated[name] = param - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return updated
