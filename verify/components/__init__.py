"""The registry of components: how each family of specs is exercised and judged.

Adding a component is one module plus one line in :data:`COMPONENTS`; the key is the
``component`` name the specs carry.
"""

from __future__ import annotations

from .weight_decay import WEIGHT_DECAY
from .attention import ARGMAX_ATTENTION, ATTENTION, KERNEL_ATTENTION
from .autoencoder import AUTOENCODER
from .base import CheckOutcome, Component
from .diffusion import DIFFUSION
from .dropout import DROPOUT
from .layernorm import LAYERNORM
from .layernorm_exam import LAYERNORM_EXAM
from .ln_scaling import LN_SCALING
from .noise import NOISE
from .optimizers import ADAM, ADAMW

__all__ = ["COMPONENTS", "CheckOutcome", "Component", "component_for"]

COMPONENTS: dict[str, Component] = {
    component.name: component
    for component in (ADAM, ADAMW, LAYERNORM, LAYERNORM_EXAM, DROPOUT)
    + (WEIGHT_DECAY, NOISE, LN_SCALING, DIFFUSION, ATTENTION, ARGMAX_ATTENTION, KERNEL_ATTENTION, AUTOENCODER)
}


def component_for(name: str) -> Component:
    try:
        return COMPONENTS[name]
    except KeyError:
        raise LookupError(f"no component {name!r} is registered (known: {', '.join(COMPONENTS)})") from None
