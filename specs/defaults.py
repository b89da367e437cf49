"""Hyperparameter defaults, for comparison with each target's own: those the documents state,
and those only the homework API's constructors give.

Both editions of the CMU 11-785 Homework 1 Bonus state two defaults in their text, Adam's
beta1 = 0.9 and beta2 = 0.999 (sec. 4), which AdamW keeps (sec. 5 adds only the weight decay).
Every other default a target is compared with (Adam's and AdamW's eps = 1e-8, AdamW's
weight_decay = 0.01, LayerNorm's eps = 1e-8, Dropout's p = 0.5) is the default of the homework
API's constructor: neither edition prints the constructors' code (their only listings are shell
commands and the handout's file tree), and the text names epsilon, lambda and p without a
value. Reports say which kind each value is (:class:`DefaultKind`), so that a constructor
default is never shown as something a document states.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .sources import both_editions

__all__ = ["DEFAULTS", "DOCUMENTED_DEFAULTS", "DefaultKind", "HyperparameterDefault", "with_kinds"]


class DefaultKind(str, Enum):
    """Where a default's value comes from."""

    #: The text of a document states the value (cited by section).
    STATED = "stated"
    #: The homework API's constructor gives it; no document shows it.
    CONSTRUCTOR = "constructor default"

    @property
    def label(self) -> str:
        """How reports name the kind beside a value."""
        return _LABELS[self]


_LABELS = {
    DefaultKind.STATED: "stated in the text",
    DefaultKind.CONSTRUCTOR: "constructor default of the homework API",
}


@dataclass(frozen=True)
class HyperparameterDefault:
    """A default value, what kind it is, and where it comes from (a citation for a value the
    text states; for a constructor default, why no document can be cited)."""

    value: float
    kind: DefaultKind
    where: str

    def pair(self) -> tuple[float, str]:
        """``(value, where)``: the shape of :data:`DOCUMENTED_DEFAULTS`."""
        return (self.value, self.where)

    def entry(self) -> tuple[float, str, str]:
        """``(value, where, kind)``: how a report carries it (the kind as its string value)."""
        return (self.value, self.where, self.kind.value)


def _stated(value: float, where: str) -> HyperparameterDefault:
    return HyperparameterDefault(value, DefaultKind.STATED, where)


def _constructor(value: float, call: str, named: str) -> HyperparameterDefault:
    """A constructor default: ``call`` is the argument as the constructor gives it, ``named``
    where the documents use the symbol without giving it a value."""
    return HyperparameterDefault(
        value,
        DefaultKind.CONSTRUCTOR,
        f"{DefaultKind.CONSTRUCTOR.label}, {call}; not in the documents: neither edition "
        f"prints the constructor, and {named} without a value",
    )


_BETAS = both_editions("sec. 4", "the sentence after the moment updates (default beta1, beta2)")
# AdamW's betas are Adam's: sec. 5 says the weight decay is its only additional parameter.
_ADAMW_BETAS = both_editions(
    "sec. 4", "Adam's default beta1, beta2; sec. 5: AdamW adds only the weight decay"
)
_EPSILON = "sec. 4 (both editions) uses epsilon"

#: Every default by component and parameter, with its kind and where it comes from.
DEFAULTS: dict[str, dict[str, HyperparameterDefault]] = {
    "adam": {
        "beta1": _stated(0.9, _BETAS.cite()),
        "beta2": _stated(0.999, _BETAS.cite()),
        "eps": _constructor(1e-8, "adam(..., eps=1e-8)", _EPSILON),
    },
    "adamw": {
        "beta1": _stated(0.9, _ADAMW_BETAS.cite()),
        "beta2": _stated(0.999, _ADAMW_BETAS.cite()),
        "eps": _constructor(1e-8, "adamW(..., eps=1e-8)", _EPSILON),
        "weight_decay": _constructor(
            0.01, "adamW(..., weight_decay=0.01)", "sec. 5 (both editions) names lambda"
        ),
    },
    "layernorm": {
        "eps": _constructor(
            1e-8, "LayerNorm(num_features, eps=1e-8)", "Spring 2026 sec. 6.1, eq. (3) uses epsilon"
        ),
    },
    "dropout": {
        "p": _constructor(
            0.5,
            "Dropout(p=0.5)",
            "the Dropout section (Spring 2026 sec. 7, Fall 2025 sec. 6) names p",
        ),
    },
}

#: Every default a target's own is compared with, as ``(value, where)`` pairs by component:
#: the values the text states and the constructor defaults alike (which is which:
#: :data:`DEFAULTS`, and the third item :func:`with_kinds` adds for a report).
DOCUMENTED_DEFAULTS: dict[str, dict[str, tuple[float, str]]] = {
    component: {name: default.pair() for name, default in parameters.items()}
    for component, parameters in DEFAULTS.items()
}


def with_kinds(documented: Mapping[str, Any]) -> dict[str, Any]:
    """``documented`` (shaped like :data:`DOCUMENTED_DEFAULTS`) with each ``(value, where)``
    pair that :data:`DEFAULTS` holds given its kind, as ``(value, where, kind)``.

    Any other entry is kept as it is: a report cannot say the kind of a value it does not know,
    and shows such a value as the documents' (what a bare pair always meant).
    """
    labelled: dict[str, Any] = {}
    for component, parameters in documented.items():
        if not isinstance(parameters, Mapping):
            labelled[component] = parameters  # not a component (a version, say): as given
            continue
        known = DEFAULTS.get(component, {})
        labelled[component] = {
            name: (
                known[name].entry()
                if name in known and _as_pair(entry) == known[name].pair()
                else entry
            )
            for name, entry in parameters.items()
        }
    return labelled


def _as_pair(entry: Any) -> tuple[Any, Any] | None:
    if isinstance(entry, (tuple, list)) and len(entry) == 2:
        return (entry[0], entry[1])
    return None
