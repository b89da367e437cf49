"""NumPy implementations of the components, in the CMU 11-785 homework API.

Each class's docstring gives the equations it implements and their source; the specs of the
same names in :mod:`eqconform.specs` are what :mod:`eqconform.verify` checks them against.
"""

from .adam import Adam, AdamW
from .dropout import Dropout
from .layernorm import LayerNorm
from .linear import Linear

__all__ = ["Adam", "AdamW", "Dropout", "LayerNorm", "Linear"]
