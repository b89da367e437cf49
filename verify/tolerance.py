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

from dataclasses import dataclass

import numpy as np

__all__ = [
    "BFLOAT16",
    "FLOOR_ULPS",
    "SAFETY",
    "allowed",
    "FloatFormat",
    "epsilon",
    "floor",
    "unit_roundoff",
]

SAFETY = 4.0
FLOOR_ULPS = 64.0


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format NumPy has no dtype for, described by what the bounds
    need: its machine epsilon and smallest normal number."""

    name: str
    eps: float
    smallest_normal: float

    def __str__(self) -> str:
        return self.name


#: Google Brain's bfloat16: float32's exponent range with an 8-bit significand.
BFLOAT16 = FloatFormat("bfloat16", 2.0**-7, 2.0**-126)

#: A precision: a NumPy floating dtype, or a format NumPy lacks.
Precision = np.dtype | type | FloatFormat


def epsilon(precision: Precision) -> float:
    """The machine epsilon of a dtype or format."""
    if isinstance(precision, FloatFormat):
        return precision.eps
    return float(np.finfo(np.dtype(precision)).eps)


def unit_roundoff(precision: Precision) -> float:
    """Half the machine epsilon: 2**-24 for float32, 2**-53 for float64."""
    return epsilon(precision) / 2


def floor(precision: Precision) -> float:
    if isinstance(precision, FloatFormat):
        return FLOOR_ULPS * precision.smallest_normal
    return FLOOR_ULPS * float(np.finfo(np.dtype(precision)).smallest_normal)


def allowed(bound: np.ndarray, precision: Precision) -> np.ndarray:
    """The tolerance of answers at ``precision`` whose rounding-error bound is ``bound``:
    :data:`SAFETY` times the bound (infinite where it is undefined) plus the :func:`floor`."""
    with np.errstate(invalid="ignore", over="ignore"):
        return SAFETY * np.where(np.isnan(bound), np.inf, bound) + floor(precision)


def oracle_unit_roundoff(precision: Precision) -> float:
    """The ``u`` at which the bound is evaluated: the implementation's plus the oracle's own."""
    return unit_roundoff(precision) + unit_roundoff(np.float64)
