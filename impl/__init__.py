"""NumPy implementations of the components, in the CMU 11-785 homework API.

Each class's docstring gives the equations it implements and their source; the specs of the
same names in :mod:`eqconform.specs` are what :mod:`eqconform.verify` checks them against.
``ADAPTER`` (from :mod:`.adapter`, loaded on first use) drives them all through eqconform's
adapter protocol: ``--target numpy`` is ``python:eqconform.impl:ADAPTER``.
"""

from typing import Any

from .adam import Adam, AdamW
from .attention import (
    ArgmaxAttention,
    KernelAttention,
    LinearAttention,
    SoftmaxAttention,
    quadratic_feature_map,
)
from .autoencoder import LinearAutoencoder
from .diffusion import ForwardDiffusion, alpha_from_eta, cumulative_alphas, gamma
from .dropout import Dropout
from .layernorm import LayerNorm
from .linear import Linear
from .noise import MultiplicativeNoise, column_norms, expected_loss, perturbed_loss
from .weight_decay import WeightDecayAdam

__all__ = [
    "ADAPTER",
    "Adam",
    "AdamW",
    "WeightDecayAdam",
    "ArgmaxAttention",
    "Dropout",
    "ForwardDiffusion",
    "KernelAttention",
    "LayerNorm",
    "Linear",
    "LinearAttention",
    "LinearAutoencoder",
    "MultiplicativeNoise",
    "SoftmaxAttention",
    "alpha_from_eta",
    "column_norms",
    "cumulative_alphas",
    "expected_loss",
    "gamma",
    "perturbed_loss",
    "quadratic_feature_map",
]


def __getattr__(name: str) -> Any:
    # Loaded lazily: the classes above need nothing of eqconform.verify, the adapter does.
    if name == "ADAPTER":
        from .adapter import ADAPTER

        return ADAPTER
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
