"""NumPy implementations of the components, in the CMU 11-785 homework API.

Each class's docstring gives the equations it implements and their source; the specs of the
same names in :mod:`eqconform.specs` are what :mod:`eqconform.verify` checks them against.
"""

from .adam import Adam, AdamW
from .adaptive import Algorithm1Adam
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

__all__ = [
    "Adam",
    "AdamW",
    "Algorithm1Adam",
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
