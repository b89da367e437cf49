"""Hyperparameter defaults the documents give, for comparison with each target's own.

Keys follow the components; each entry is ``(value, where it is stated)``.
"""

from __future__ import annotations

from .sources import both_editions

__all__ = ["DOCUMENTED_DEFAULTS"]

_API = "the homework API (constructor signature)"

DOCUMENTED_DEFAULTS: dict[str, dict[str, tuple[float, str]]] = {
    "adam": {
        "beta1": (
            0.9,
            both_editions(
                "sec. 4", "'their default values are beta1 = 0.9 and beta2 = 0.999'"
            ).cite(),
        ),
        "beta2": (
            0.999,
            both_editions(
                "sec. 4", "'their default values are beta1 = 0.9 and beta2 = 0.999'"
            ).cite(),
        ),
        "eps": (1e-8, _API),
    },
    "adamw": {
        "beta1": (0.9, both_editions("sec. 4").cite()),
        "beta2": (0.999, both_editions("sec. 4").cite()),
        "eps": (1e-8, _API),
        "weight_decay": (0.01, _API),
    },
    "layernorm": {"eps": (1e-8, _API)},
    "dropout": {"p": (0.5, _API)},
}
