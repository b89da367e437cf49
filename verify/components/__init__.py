"""The registry of components: how each family of specs is exercised and judged.

A component (:class:`~.table.Component`) is data: the adapter it drives and, for each spec it
checks, a :class:`~.table.SpecCheck` saying how (a search over drawn cases, statistical tests,
or both), the protocol its adapter follows, and the cases one check takes. Adding a component
is one module plus one line in :data:`COMPONENTS` (and its adapter name in
:data:`eqconform.verify.targets.user.COMPONENT_ADAPTERS`); the key is the
``component`` name the specs carry.
"""

from __future__ import annotations

from .attention import ARGMAX_ATTENTION, ATTENTION, KERNEL_ATTENTION
from .autoencoder import AUTOENCODER
from .base import CheckOutcome
from .diffusion import DIFFUSION
from .dropout import DROPOUT
from .layernorm import LAYERNORM
from .layernorm_exam import LAYERNORM_EXAM
from .ln_scaling import LN_SCALING
from .noise import NOISE
from .optimizers import ADAM, ADAMW
from .table import Component
from .weight_decay import WEIGHT_DECAY

__all__ = ["COMPONENTS", "CheckOutcome", "Component", "component_for"]

COMPONENTS: dict[str, Component] = {
    component.name: component
    for component in (ADAM, ADAMW, LAYERNORM, LAYERNORM_EXAM, DROPOUT)
    + (
        WEIGHT_DECAY,
        NOISE,
        LN_SCALING,
        DIFFUSION,
        ATTENTION,
        ARGMAX_ATTENTION,
        KERNEL_ATTENTION,
        AUTOENCODER,
    )
}


def component_for(name: str) -> Component:
    try:
        return COMPONENTS[name]
    except KeyError:
        raise LookupError(
            f"no component {name!r} is registered (known: {', '.join(COMPONENTS)})"
        ) from None
