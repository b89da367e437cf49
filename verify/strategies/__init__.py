"""Hypothesis strategies for the components' inputs, for the engine and for your own tests.

Every factory is a plural noun with keyword-only options, validated when it is called (a bad
option raises :class:`hypothesis.errors.InvalidArgument` naming it), and returns a strategy of
plain dataclasses whose arrays are materialized on demand. Arrays are drawn as *recipes*
(shape, dtype, seed, scale, offset) and built with NumPy's generator, so a 256 x 256 input costs
a few draws, and shrinking heads for small shapes, seed 0, unit scale and zero offset. Every
case has a ``describe()`` that spells it out as code.

One module per concept: :mod:`.arrays` (dtypes, shapes, array recipes, option checks),
:mod:`.optimizers`, :mod:`.layernorm`, :mod:`.dropout`, :mod:`.attention`, :mod:`.noise`,
:mod:`.diffusion` and :mod:`.autoencoder`; the public strategies are all importable from here.

>>> from hypothesis import given
>>> from eqconform.verify.strategies import layernorm_inputs
>>> @given(layernorm_inputs(max_rows=8, max_features=8))
... def test_my_layernorm(case):
...     assert case.Z.shape == (case.rows, case.features)
>>> test_my_layernorm()
"""

from __future__ import annotations

from .arrays import FLOAT_DTYPES, ArrayRecipe, array_recipes, batch_shapes, float_dtypes
from .attention import AttentionInput, attention_inputs
from .autoencoder import AutoencoderInput, autoencoder_inputs
from .diffusion import DiffusionInput, diffusion_inputs
from .dropout import DropoutInput, dropout_inputs
from .layernorm import (
    LayerNormInput,
    PreNormStack,
    ScaledLayerNormInput,
    hard_layernorm_inputs,
    layernorm_inputs,
    prenorm_stacks,
    scaled_layernorm_inputs,
)
from .noise import NoiseInput, noise_inputs
from .optimizers import (
    AdamHyperparameters,
    OptimizerRun,
    WeightDecayRun,
    adam_hyperparameters,
    hard_optimizer_runs,
    optimizer_runs,
    weight_decay_runs,
)

__all__ = [
    "FLOAT_DTYPES",
    "AdamHyperparameters",
    "ArrayRecipe",
    "AttentionInput",
    "AutoencoderInput",
    "DiffusionInput",
    "DropoutInput",
    "LayerNormInput",
    "NoiseInput",
    "OptimizerRun",
    "PreNormStack",
    "ScaledLayerNormInput",
    "WeightDecayRun",
    "adam_hyperparameters",
    "array_recipes",
    "attention_inputs",
    "autoencoder_inputs",
    "batch_shapes",
    "diffusion_inputs",
    "dropout_inputs",
    "float_dtypes",
    "hard_layernorm_inputs",
    "hard_optimizer_runs",
    "layernorm_inputs",
    "noise_inputs",
    "optimizer_runs",
    "prenorm_stacks",
    "scaled_layernorm_inputs",
    "weight_decay_runs",
]
