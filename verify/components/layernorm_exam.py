"""The exam's LayerNorm pieces (demean f, normalize h, their backward passes), checked on a
target's LayerNorm with ``eps = 0``, ``gamma = 1``, ``beta = 0``, where the homework's layer is
exactly ``h(f(x))``. Rows need at least two features, or ``z`` is zero and ``h`` undefined.
"""

from __future__ import annotations

from typing import Any

from eqconform.specs import layernorm_exam as specs

from ..graph import SpecGraph, SpecUse
from ..judge import Record
from ..strategies.layernorm import LayerNormInput, layernorm_inputs
from ..targets.protocol import LayerNormAdapter
from .layernorm import reconditioned
from .oracle import OracleSearch
from .table import Cases, Component, searched_alone

__all__ = ["LAYERNORM_EXAM"]

_CHECKED = [spec for spec in specs.SPECS if not spec.proof_only]


def _observe(adapter: Any, case: LayerNormInput, graph: SpecGraph) -> list[Record]:
    observed = adapter.run(case.Z.copy(), case.gamma.copy(), case.beta.copy(), 0.0, case.G.copy())
    values = {"x": case.Z, "gy": case.G, "y": observed["Ztilde"], "gx": observed["dLdZ"]}
    label = f"LayerNorm with eps = 0, gamma = 1, beta = 0 on a {case.rows} x {case.features} input"
    return [Record(label, values, frozenset({"y", "gx"}), case.dtype)]


_SEARCH = OracleSearch(
    graph=SpecGraph([SpecUse(spec) for spec in _CHECKED]),
    cases=lambda: layernorm_inputs(min_features=2, affine=False, eps=0.0),
    explicit=list,
    observe=_observe,
    recondition=reconditioned,
)

LAYERNORM_EXAM = Component(
    "layernorm_exam",
    "layernorm",
    searched_alone(_SEARCH),
    protocol=LayerNormAdapter,
    cases=Cases(LayerNormInput, "layernorm_inputs(min_features=2, affine=False, eps=0.0)"),
)
