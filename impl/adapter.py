"""The bundled implementation as an ordinary adapter object: ``eqconform.impl:ADAPTER``.

``--target numpy`` is ``python:eqconform.impl:ADAPTER``: the bundled classes are audited through
the same adapter protocol, runner and sandbox as any other code (see
:mod:`eqconform.verify.targets.user` for the adapter object). The homework-API classes are driven
by the same wrappers as a student's handin; the classes of every other component by the adapter
defined beside them (``eqconform.impl.attention.SoftmaxAttentionAdapter`` and so on), which
follows that component's protocol (in its module of :mod:`eqconform.verify.components`).

Those adapters take the class they drive, so a class of another implementation with the same
methods is audited by handing it to the same adapter, e.g.
``attention = SoftmaxAttentionAdapter(MyAttention)`` in an adapter object of your own.

This module is the bundled implementation's registry: a new component is one attribute of
:class:`BundledAdapter` (and its import).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from eqconform.verify.targets.homework import homework_adapter, signature_defaults
from eqconform.verify.targets.user import COMPONENT_ADAPTERS

from . import diffusion, noise
from .adam import Adam, AdamW
from .attention import (
    ArgmaxAttention,
    ArgmaxAttentionAdapter,
    KernelAttention,
    KernelAttentionAdapter,
    LinearAttention,
    SoftmaxAttention,
    SoftmaxAttentionAdapter,
)
from .autoencoder import AutoencoderAdapter, LinearAutoencoder
from .diffusion import DiffusionAdapter, ForwardDiffusion
from .dropout import Dropout
from .layernorm import LayerNorm
from .noise import MultiplicativeNoise, NoiseAdapter
from .weight_decay import WeightDecayAdam, WeightDecayAdapter

# The component adapters are re-exported: adapter objects written when they lived here import them
# from this module.
__all__ = [
    "ADAPTER",
    "ArgmaxAttentionAdapter",
    "AutoencoderAdapter",
    "BundledAdapter",
    "DiffusionAdapter",
    "KernelAttentionAdapter",
    "NoiseAdapter",
    "SoftmaxAttentionAdapter",
    "WeightDecayAdapter",
    "bundled_adapters",
]


class BundledAdapter:
    """Adapter object over :mod:`eqconform.impl` (one method or attribute per component)."""

    name = "numpy"
    description = "eqconform's bundled NumPy implementation (eqconform.impl)"

    _homework: ClassVar[dict[str, Any]] = {
        name: homework_adapter(name, cls)
        for name, cls in (
            ("adam", Adam),
            ("adamw", AdamW),
            ("layernorm", LayerNorm),
            ("dropout", Dropout),
        )
    }

    attention = SoftmaxAttentionAdapter(SoftmaxAttention)
    argmax_attention = ArgmaxAttentionAdapter(ArgmaxAttention)
    kernel_attention = KernelAttentionAdapter(KernelAttention, LinearAttention)
    noise = NoiseAdapter(MultiplicativeNoise, noise)
    diffusion = DiffusionAdapter(ForwardDiffusion, diffusion)
    weight_decay = WeightDecayAdapter(WeightDecayAdam)
    autoencoder = AutoencoderAdapter(LinearAutoencoder)

    def adam(self, layers: Sequence[tuple[np.ndarray, np.ndarray]], hyperparameters: Any) -> Any:
        return self._homework["adam"].open(layers, hyperparameters)

    def adamw(self, layers: Sequence[tuple[np.ndarray, np.ndarray]], hyperparameters: Any) -> Any:
        return self._homework["adamw"].open(layers, hyperparameters)

    def layernorm(
        self, Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, G: np.ndarray
    ) -> Any:
        return self._homework["layernorm"].run(Z, gamma, beta, eps, G)

    def dropout(self, p: float, seed: int) -> Any:
        return self._homework["dropout"].open(p, seed)

    def defaults(self) -> dict[str, Any]:
        return {name: signature_defaults(name, adapter) for name, adapter in self._homework.items()}


ADAPTER = BundledAdapter()


def bundled_adapters() -> dict[str, Any]:
    """The adapters of :data:`ADAPTER` for the components whose adapter is an object of its own
    (:data:`~eqconform.verify.targets.user.COMPONENT_ADAPTERS`), by component name."""
    return {name: getattr(ADAPTER, name) for name in COMPONENT_ADAPTERS}
