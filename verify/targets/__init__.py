"""The registry of targets: what can be checked.

``numpy`` is the bundled implementation; ``mytorch:PATH`` is a handin. Adding a target is one
module plus one line in :data:`TARGETS`. Unknown names fail loudly with the known ones.

``python:MODULE:ATTR`` and ``file:PATH.py:ATTR`` name an adapter object of your own
(:mod:`.user`), and a name that is not registered here is looked up among the entry points of
the group ``eqconform.targets``, so an installed package can add targets without a line here.
"""

from __future__ import annotations

from collections.abc import Callable

from . import bundled, jaxflax, mytorch, pytorch, user
from .mytorch import HandinPathError
from .protocol import ComponentMissing, Target, TargetLoadError

__all__ = [
    "TARGETS",
    "ComponentMissing",
    "HandinPathError",
    "Target",
    "TargetLoadError",
    "UnknownTargetError",
    "describe_reference",
    "resolve_target",
]

#: name -> factory taking the text after ``name:`` (or None).
TARGETS: dict[str, Callable[[str | None], Target]] = {
    "numpy": bundled.make,
    "mytorch": mytorch.make,
    "torch": pytorch.make,
    "jax": jaxflax.make,
    "python": user.make_python,
    "file": user.make_file,
}

#: How the unknown-target message shows a target that needs an argument.
_USAGE = {"mytorch": "mytorch:PATH", "python": "python:MODULE:ATTR", "file": "file:PATH.py:ATTR"}


class UnknownTargetError(LookupError):
    """A target reference that names no registered target, or names one with a bad argument."""


def resolve_target(reference: str) -> Target:
    """The target for ``name`` or ``name:argument`` (``mytorch:path/to/handin``); a name
    not in :data:`TARGETS` is looked up among the ``eqconform.targets`` entry points."""
    name, _, argument = reference.partition(":")
    factory = TARGETS.get(name)
    if factory is None:
        factory = user.entry_point_factory(name)
    if factory is None:
        known = ", ".join(_USAGE.get(n, n) for n in TARGETS)
        plugins = [n for n in user.entry_point_names() if n not in TARGETS]
        known += f"; installed ({user.ENTRY_POINT_GROUP}): {', '.join(plugins)}" if plugins else ""
        raise UnknownTargetError(f"unknown target {reference!r} (known: {known})")
    try:
        return factory(argument or None)
    except ValueError as error:
        if isinstance(error, HandinPathError):
            raise
        raise UnknownTargetError(str(error)) from None


def describe_reference(reference: str) -> tuple[str, str]:
    """``(name, description)`` of a target reference, checked as :func:`resolve_target` checks
    it (unknown names and bad arguments raise the same errors) but without running any of the
    target's code: built-in targets load their code lazily, and an entry-point plugin is only
    looked up by name here (it is loaded by the runner)."""
    name, _, argument = reference.partition(":")
    if name not in TARGETS and name in user.entry_point_names():
        return reference, f"target plugin {name} (entry point group {user.ENTRY_POINT_GROUP})"
    target = resolve_target(reference)
    return target.name, target.description
