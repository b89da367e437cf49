"""LayerNorm: one forward and one backward pass on a fresh layer per case.

Everything the target exposes (``M``, ``V``, ``NZ`` in the homework API; only the output and
gradients for a framework) is judged against its own equation, so a wrong variance is reported
on eq. (2) and not as a wrong output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eqconform.specs import layernorm as specs

from ..graph import SpecGraph, SpecUse
from ..judge import Record, ensure_unchanged
from ..strategies.arrays import ArrayRecipe
from ..strategies.layernorm import LayerNormInput, hard_layernorm_inputs, layernorm_inputs
from ..targets.protocol import LayerNormAdapter
from .oracle import OracleSearch
from .table import Cases, Component, searched_alone

__all__ = ["LAYERNORM"]


def _observe(adapter: Any, case: LayerNormInput, graph: SpecGraph) -> list[Record]:
    given = {"Z": case.Z.copy(), "dL/dZtilde": case.G.copy()}
    observed = adapter.run(
        given["Z"], case.gamma.copy(), case.beta.copy(), case.eps, given["dL/dZtilde"]
    )
    ensure_unchanged(given, {"Z": case.Z, "dL/dZtilde": case.G}, "forward and backward")
    values = {
        "Z": case.Z,
        "gamma": case.gamma,
        "beta": case.beta,
        "eps": case.eps,
        "G": case.G,
        **observed,
    }
    label = f"forward and backward on a {case.rows} x {case.features} input"
    return [Record(label, values, frozenset(observed), case.dtype)]


def separating_inputs() -> list[LayerNormInput]:
    """A large eps on rows of small variance (eps inside or outside the root), a square input
    with a random upstream gradient (transposition bugs), and a non-square one."""
    f64 = np.dtype(np.float64)

    def case(rows: int, features: int, eps: float, scale: float) -> LayerNormInput:
        return LayerNormInput(
            f64,
            eps,
            ArrayRecipe(
                (rows, features),
                f64,
                seed=rows * 10 + features,
                scale=scale,
                offset=3.0,
                row_offsets=True,
            ),
            ArrayRecipe((1, features), f64, seed=1),
            ArrayRecipe((1, features), f64, seed=2),
            ArrayRecipe((rows, features), f64, seed=3),
        )

    return [case(4, 4, 0.5, 0.3), case(3, 5, 1e-8, 1.0), case(6, 6, 1e-8, 1.0)]


def reconditioned(case: LayerNormInput) -> list[tuple[str, LayerNormInput]]:
    """The same numbers in float64, and the rows shifted to zero mean (LayerNorm's output is
    shift-invariant, so only the conditioning changes)."""
    alternatives = [("the same rows shifted to zero mean", case.recentered())]
    if case.dtype != np.float64:
        alternatives.append(("the same numbers in float64", case.in_float64()))
    return alternatives


_SEARCH = OracleSearch(
    graph=SpecGraph([SpecUse(spec) for spec in specs.SPECS]),
    cases=lambda: layernorm_inputs(),
    explicit=separating_inputs,
    observe=_observe,
    recondition=reconditioned,
    conditioned=lambda case: case.recentered().in_float64(),
    hard_cases=hard_layernorm_inputs,
)

LAYERNORM = Component(
    "layernorm",
    "layernorm",
    searched_alone(_SEARCH),
    protocol=LayerNormAdapter,
    cases=Cases(LayerNormInput, "layernorm_inputs()"),
)
