"""The linear autoencoder (EECS 182 Homework 7, Q1(b) and Q2): codes, reconstruction,
objective, both gradients and the regularized objective of one forward and backward pass.

Arrays are laid out on three axes (code dimension, data dimension, sample), as
:mod:`eqconform.specs.autoencoder` says: ``X`` (m, n) becomes (1, m, n), ``W1`` (k, m) becomes
(k, m, 1) and ``W2`` (m, k) is transposed to (k, m, 1), so every matrix product of the document
is one broadcast product and one reduction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from eqconform.specs import autoencoder as specs

from ..graph import SpecGraph, SpecUse
from ..judge import Record
from ..strategies.arrays import ArrayRecipe
from ..strategies.autoencoder import AutoencoderInput, autoencoder_inputs
from .oracle import OracleSearch
from .table import Cases, Component, searched_alone

__all__ = ["AUTOENCODER", "AutoencoderAdapter"]


# What the checks ask of a target: the protocol of this component's adapter. A key marked "if
# exposed" is left out when the implementation keeps no such value.


class AutoencoderAdapter(Protocol):
    def run(self, X: np.ndarray, W1: np.ndarray, W2: np.ndarray, lam: float) -> Mapping[str, Any]:
        """A linear autoencoder with encoder ``W1``, decoder ``W2`` and penalty ``lam`` on ``X``.

        Returns ``L`` (the loss), ``Lreg`` (the regularized loss), ``dW1``, ``dW2`` (its
        gradients) and, if exposed, ``Z`` (the code) and ``Xhat`` (the reconstruction).
        """
        ...


_LAYOUT = {
    "X": lambda a: a[None, :, :],
    "Xhat": lambda a: a[None, :, :],
    "Z": lambda a: a[:, None, :],
    "W1": lambda a: a[:, :, None],
    "dW1": lambda a: a[:, :, None],
    "W2": lambda a: a.T[:, :, None],
    "dW2": lambda a: a.T[:, :, None],
    "L": lambda a: np.reshape(a, (1, 1, 1)),
    "Lreg": lambda a: np.reshape(a, (1, 1, 1)),
}


def _observe(adapter: Any, case: AutoencoderInput, graph: SpecGraph) -> list[Record]:
    out = adapter.run(case.X.copy(), case.W1.copy(), case.W2.copy(), case.lam)
    observed = {
        name: np.asarray(out[name])
        for name in ("Z", "Xhat", "L", "Lreg", "dW1", "dW2")
        if name in out
    }
    values = {name: _LAYOUT[name](getattr(case, name)) for name in ("X", "W1", "W2")} | {
        "lam": case.lam
    }
    for name, value in observed.items():
        values[name] = _LAYOUT[name](value) if value.ndim == 2 or name in ("L", "Lreg") else value
    label = f"m = {case.X.shape[0]}, k = {case.W1.shape[0]}, n = {case.X.shape[1]}"
    return [Record(label, values, frozenset(observed), case.dtype)]


def _separating_input() -> AutoencoderInput:
    """A non-square, non-symmetric case: m = 4, k = 2, n = 5 (transposed gradients show)."""
    f64 = np.dtype(np.float64)
    return AutoencoderInput(
        f64,
        ArrayRecipe((4, 5), f64, seed=1),
        ArrayRecipe((2, 4), f64, seed=2),
        ArrayRecipe((4, 2), f64, seed=3),
        0.1,
    )


_CHECKED = [spec for spec in specs.SPECS if not spec.proof_only]

_SEARCH = OracleSearch(
    graph=SpecGraph([SpecUse(spec) for spec in _CHECKED]),
    cases=lambda: autoencoder_inputs(),
    explicit=lambda: [_separating_input()],
    observe=_observe,
)

AUTOENCODER = Component(
    "autoencoder",
    "autoencoder",
    searched_alone(_SEARCH),
    protocol=AutoencoderAdapter,
    cases=Cases(AutoencoderInput, "autoencoder_inputs()"),
)
