"""The registry of targets: what can be checked.

``numpy`` is the bundled implementation; ``mytorch:PATH`` is a handin. Adding a target is one
module plus one line in :data:`TARGETS`. Unknown names fail loudly with the known ones.
"""

from __future__ import annotations

from collections.abc import Callable

from . import bundled, mytorch, pytorch
from .mytorch import HandinPathError
from .protocol import ComponentMissing, Target, TargetLoadError

__all__ = [
    "TARGETS",
    "ComponentMissing",
    "HandinPathError",
    "Target",
    "TargetLoadError",
    "UnknownTargetError",
    "resolve_target",
]

#: name -> factory taking the text after ``name:`` (or None).
TARGETS: dict[str, Callable[[str | None], Target]] = {
    "numpy": bundled.make,
    "mytorch": mytorch.make,
    "torch": pytorch.make,
}


class UnknownTargetError(LookupError):
    """A target reference that names no registered target, or names one with a bad argument."""


def resolve_target(reference: str) -> Target:
    """The target for ``name`` or ``name:argument`` (``mytorch:path/to/handin``)."""
    name, _, argument = reference.partition(":")
    factory = TARGETS.get(name)
    if factory is None:
        known = ", ".join(f"{n}:PATH" if n == "mytorch" else n for n in TARGETS)
        raise UnknownTargetError(f"unknown target {reference!r} (known: {known})")
    try:
        return factory(argument or None)
    except ValueError as error:
        if isinstance(error, HandinPathError):
            raise
        raise UnknownTargetError(str(error)) from None
