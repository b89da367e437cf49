"""The equation catalogue: every equation of the source documents as a SymPy :class:`Spec`.

Adding a family is one module plus one line in :data:`FAMILIES`. Look a spec up by id with
:func:`get_spec`, or select several with shell-style patterns through :func:`select_specs`.

>>> from eqconform.specs import get_spec
>>> get_spec("layernorm.mean").source.cite()
'CMU 11-785 Homework 1 Bonus, Spring 2026, sec. 6.1, eq. (1)'
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from . import (
    adam,
    adamw,
    attention,
    autoencoder,
    counting,
    diffusion,
    dropout,
    grad_accumulation,
    layernorm,
    layernorm_exam,
    ln_scaling,
    noise,
    weight_decay,
)
from .defaults import DOCUMENTED_DEFAULTS
from .model import (
    GENERAL,
    Claim,
    ProofOutcome,
    ProofStatus,
    Source,
    Spec,
    SymbolInfo,
    Variant,
    finite_points,
    finite_scope,
)

__all__ = [
    "CATALOGUE",
    "CLAIMS",
    "DOCUMENTED_DEFAULTS",
    "ERRATA",
    "FAMILIES",
    "FORMER_NAMES",
    "GENERAL",
    "PROOF_ONLY",
    "Claim",
    "ProofOutcome",
    "ProofStatus",
    "Source",
    "Spec",
    "SymbolInfo",
    "UnknownSpecError",
    "Variant",
    "current_id",
    "finite_points",
    "finite_scope",
    "get_spec",
    "select_specs",
]

#: The spec families, in catalogue order.
FAMILIES: tuple[ModuleType, ...] = (
    adam,
    adamw,
    layernorm,
    layernorm_exam,
    dropout,
    weight_decay,
    noise,
    ln_scaling,
    diffusion,
    attention,
    autoencoder,
    counting,
    grad_accumulation,
)

CATALOGUE: dict[str, Spec] = {spec.id: spec for family in FAMILIES for spec in family.SPECS}
CLAIMS: tuple[Claim, ...] = tuple(claim for family in FAMILIES for claim in family.CLAIMS)
#: Discrepancies between and inside the documents (each a mapping with id, the ids of the
#: ``specs`` it concerns, document, location, says, resolution), listed in the report of any run
#: that checks one of those specs.
ERRATA: tuple[dict[str, Any], ...] = tuple(
    e for family in FAMILIES for e in getattr(family, "ERRATA", ())
)
#: Ids of the specs settled by proof only (:attr:`Spec.proof_only`).
PROOF_ONLY: frozenset[str] = frozenset(
    spec_id for spec_id, spec in CATALOGUE.items() if spec.proof_only
)


#: Family prefixes of spec ids before each family had one name (reports written then still use
#: them; ``--spec`` and ``eqconform diff`` accept them).
FORMER_NAMES: dict[str, str] = {
    "wdexam": "weight_decay",
    "lnexam": "layernorm_exam",
    "lnscale": "ln_scaling",
}


def current_id(spec_id: str) -> str:
    """``spec_id`` under its family's current name (``lnexam.demean`` is
    ``layernorm_exam.demean``)."""
    family, dot, rest = spec_id.partition(".")
    return FORMER_NAMES.get(family, family) + dot + rest


class UnknownSpecError(LookupError):
    """A spec id or pattern that names nothing in the catalogue."""


def get_spec(spec_id: str) -> Spec:
    spec_id = current_id(spec_id)
    try:
        return CATALOGUE[spec_id]
    except KeyError:
        close = fnmatch.filter(CATALOGUE, f"{spec_id.split('.')[0]}.*")
        hint = f"; {spec_id.split('.')[0]} has: {', '.join(close)}" if close else ""
        raise UnknownSpecError(f"unknown spec {spec_id!r}{hint} (see `eqconform specs`)") from None


def select_specs(patterns: Iterable[str] = ()) -> list[Spec]:
    """The specs matching any of the shell-style ``patterns`` (all specs when none are given).

    A pattern without wildcards that is a family name (``adam``) selects the whole family.
    Raises :class:`UnknownSpecError` naming every pattern that matches nothing.
    """
    patterns = list(patterns)
    if not patterns:
        return list(CATALOGUE.values())
    chosen: dict[str, Spec] = {}
    unmatched = []
    for pattern in map(current_id, patterns):
        expanded = (
            pattern if any(ch in pattern for ch in "*?[") or "." in pattern else f"{pattern}.*"
        )
        hits = fnmatch.filter(CATALOGUE, expanded)
        if not hits:
            unmatched.append(pattern)
        chosen.update((spec_id, CATALOGUE[spec_id]) for spec_id in hits)
    if unmatched:
        raise UnknownSpecError(
            f"no spec matches {', '.join(map(repr, unmatched))} (see `eqconform specs`)"
        )
    return [spec for spec_id, spec in CATALOGUE.items() if spec_id in chosen]
