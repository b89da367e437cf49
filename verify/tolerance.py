"""Tolerances per dtype, from the rounding-error bound of :mod:`eqconform.verify.rounding`.

The oracle is the spec evaluated in float64 on exactly the inputs the implementation received.
An implementation computing in a dtype with unit roundoff ``u_d`` is accepted at an entry when

    |observed - oracle| <= SAFETY * bound(u_d + u_64) + FLOOR_ULPS * smallest_normal(dtype)

where ``bound`` is the spec's own running error bound at that entry (so it grows where the
equation is ill-conditioned: large offsets, cancellation, ``1 - beta**t`` near 0). ``SAFETY``
allows an implementation to arrange each operation differently from the printed form (e.g.
``x * (1 / s)`` for ``x / s``, a fused or pairwise sum) without a false alarm; the floor covers
results that underflow into the subnormal range, where relative bounds no longer hold.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FLOOR_ULPS", "SAFETY", "floor", "unit_roundoff"]

SAFETY = 4.0
FLOOR_ULPS = 64.0


def unit_roundoff(dtype: np.dtype | type) -> float:
    """Half the machine epsilon: 2**-24 for float32, 2**-53 for float64."""
    return float(np.finfo(np.dtype(dtype)).eps) / 2


def floor(dtype: np.dtype | type) -> float:
    return FLOOR_ULPS * float(np.finfo(np.dtype(dtype)).smallest_normal)


def oracle_unit_roundoff(dtype: np.dtype | type) -> float:
    """The ``u`` at which the bound is evaluated: the implementation's plus the oracle's own."""
    return unit_roundoff(dtype) + unit_roundoff(np.float64)
