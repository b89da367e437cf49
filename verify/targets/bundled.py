"""The ``numpy`` target: eqconform's own implementation, ``python:eqconform.impl:ADAPTER``."""

from __future__ import annotations

from . import user

__all__ = ["REFERENCE", "make"]

#: What ``numpy`` stands for: the bundled implementation's adapter object.
REFERENCE = "eqconform.impl:ADAPTER"


def make(argument: str | None) -> user.ObjectTarget:
    if argument:
        raise ValueError(f"the numpy target takes no argument (got {argument!r})")
    target = user.make_python(REFERENCE)
    target.name = "numpy"
    target.description = "eqconform's bundled NumPy implementation (eqconform.impl)"
    return target
