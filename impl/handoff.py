"""Handing arrays across the adapter boundary: copies the implementation cannot change later.

The bundled adapters (one beside each component's classes) use these, so that what they return
to eqconform is a snapshot, whatever the implementation does with its own arrays afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["copied", "exposed"]


def copied(value: Any) -> np.ndarray:
    """A fresh NumPy array with the contents of ``value``."""
    return np.array(value, copy=True)


def exposed(pairs: Sequence[tuple[str, object, str]]) -> dict[str, np.ndarray]:
    """``{key: copy of owner.attribute}`` for each ``(key, owner, attribute)`` whose attribute is
    an array (an implementation that keeps no such value exposes nothing under the key)."""
    return {
        key: copied(getattr(owner, attribute))
        for key, owner, attribute in pairs
        if isinstance(getattr(owner, attribute, None), np.ndarray)
    }
