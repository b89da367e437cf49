"""The bundled implementation as an ordinary adapter object: ``eqconform.impl:ADAPTER``.

``--target numpy`` is ``python:eqconform.impl:ADAPTER``: the bundled classes are audited through
the same adapter protocol, runner and sandbox as any other code (see
:mod:`eqconform.verify.targets.user` for the protocol). The homework-API classes are driven by
the same wrappers as a student's handin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from eqconform.verify.targets import bundled_extra as eecs182
from eqconform.verify.targets.homework import (
    HomeworkDropout,
    HomeworkLayerNorm,
    HomeworkOptimizer,
    signature_defaults,
)

from . import diffusion, noise
from .adam import Adam, AdamW
from .weight_decay import WeightDecayAdam
from .attention import ArgmaxAttention, KernelAttention, LinearAttention, SoftmaxAttention
from .autoencoder import LinearAutoencoder
from .diffusion import ForwardDiffusion
from .dropout import Dropout
from .layernorm import LayerNorm
from .noise import MultiplicativeNoise

__all__ = ["ADAPTER", "BundledAdapter"]


class BundledAdapter:
    """Adapter object over :mod:`eqconform.impl` (one method or attribute per component)."""

    name = "numpy"
    description = "eqconform's bundled NumPy implementation (eqconform.impl)"

    _homework: ClassVar[dict[str, Any]] = {
        "adam": HomeworkOptimizer(Adam, decoupled_decay=False),
        "adamw": HomeworkOptimizer(AdamW, decoupled_decay=True),
        "layernorm": HomeworkLayerNorm(LayerNorm),
        "dropout": HomeworkDropout(Dropout),
    }

    attention = eecs182.SoftmaxAttentionAdapter(SoftmaxAttention)
    argmax_attention = eecs182.ArgmaxAttentionAdapter(ArgmaxAttention)
    kernel_attention = eecs182.KernelAttentionAdapter(KernelAttention, LinearAttention)
    noise = eecs182.NoiseAdapter(MultiplicativeNoise, noise)
    diffusion = eecs182.DiffusionAdapter(ForwardDiffusion, diffusion)
    weight_decay = eecs182.WeightDecayAdapter(WeightDecayAdam)
    autoencoder = eecs182.AutoencoderAdapter(LinearAutoencoder)

    def adam(self, layers: Sequence[tuple[np.ndarray, np.ndarray]], hyperparameters: Any) -> Any:
        return self._homework["adam"].open(layers, hyperparameters)

    def adamw(self, layers: Sequence[tuple[np.ndarray, np.ndarray]], hyperparameters: Any) -> Any:
        return self._homework["adamw"].open(layers, hyperparameters)

    def layernorm(self, Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, G: np.ndarray) -> Any:
        return self._homework["layernorm"].run(Z, gamma, beta, eps, G)

    def dropout(self, p: float, seed: int) -> Any:
        return self._homework["dropout"].open(p, seed)

    def defaults(self) -> dict[str, Any]:
        return {name: signature_defaults(name, adapter) for name, adapter in self._homework.items()}


ADAPTER = BundledAdapter()
