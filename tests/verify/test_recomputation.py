"""Observed intermediates recomputed from the raw inputs: their bounds are computed once per
record and shared by the predictors that need them (LayerNorm's Zhat, under dL/dZ and
dL/dgamma)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest

from eqconform.verify import graph
from eqconform.verify.compiler import CompiledFunction
from eqconform.verify.components.layernorm import LAYERNORM
from eqconform.verify.graph import Predictor, SpecGraph, recomputation_input
from eqconform.verify.judge import Record, judge

OBSERVED = frozenset({"mu", "sigma2", "Zhat", "Ztilde", "dLdZ", "dLdgamma", "dLdbeta"})


def _graph() -> SpecGraph:
    assert LAYERNORM.exact is not None
    return LAYERNORM.exact.graph


def _canonical(spec_graph: SpecGraph, quantity: str) -> tuple[tuple[str, str], ...]:
    chain = spec_graph.chain(quantity, OBSERVED)
    return tuple(sorted((s, spec_graph.spec(s).canonical.id) for s in chain))


def _values(rows: int = 3, features: int = 5, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    Z = rng.normal(loc=2.0, size=(rows, features))
    mu = Z.mean(axis=1, keepdims=True)
    sigma2 = Z.var(axis=1, keepdims=True)
    Zhat = (Z - mu) / np.sqrt(sigma2 + 1e-5)
    return {"Z": Z, "mu": mu, "sigma2": sigma2, "Zhat": Zhat, "eps": 1e-5,
            "G": rng.normal(size=(rows, features)), "gamma": rng.normal(size=(1, features)),
            "unit_roundoff": 2.0**-53}


class _Counted:
    """A compiled function that counts its calls."""

    def __init__(self, function: CompiledFunction) -> None:
        self.function, self.calls = function, 0
        self.arguments = function.arguments

    def __call__(self, values: Any) -> Any:
        self.calls += 1
        return self.function(values)


def _counted(predictor: Predictor) -> tuple[Predictor, _Counted]:
    assert predictor.recomputation is not None
    counted = _Counted(predictor.recomputation)
    return dataclasses.replace(predictor, recomputation=counted), counted  # type: ignore[arg-type]


def test_an_observed_intermediate_is_an_input_of_the_quantitys_program() -> None:
    spec_graph = _graph()
    predictor = spec_graph.predictor("dLdgamma", _canonical(spec_graph, "dLdgamma"), OBSERVED)
    assert recomputation_input("Zhat") in predictor.with_bound.arguments
    assert "Z" not in predictor.with_bound.arguments  # Zhat's recomputation is not repeated there
    assert [name for name, _ in predictor.recomputed] == [recomputation_input("Zhat")]
    assert predictor.recomputation is not None and "Z" in predictor.recomputation.arguments


def test_the_bound_is_the_one_of_a_program_recomputing_the_leaf_itself() -> None:
    # The split changes where Zhat's bound is computed, not the bound: the same number as
    # the leaf's recomputation written into the quantity's own program.
    spec_graph = _graph()
    values = _values()
    for quantity in ("dLdZ", "dLdgamma"):
        combination = _canonical(spec_graph, quantity)
        value, bound = spec_graph.predictor(quantity, combination, OBSERVED)(values)
        expr = spec_graph.expression(quantity, combination, OBSERVED)
        inline = graph.bound_program(
            (expr,), recomputable=spec_graph._recomputable(expr, dict(combination)),
            coefficients=spec_graph.coefficients, values=True,
        ).compiled()
        inline_value, inline_bound = inline(values)
        np.testing.assert_allclose(value, inline_value, rtol=1e-12)
        np.testing.assert_allclose(bound, inline_bound, rtol=1e-9)


def test_predictors_called_on_one_record_recompute_a_leaf_once() -> None:
    spec_graph = _graph()
    dLdZ, first = _counted(spec_graph.predictor("dLdZ", _canonical(spec_graph, "dLdZ"), OBSERVED))
    dLdgamma, second = _counted(
        spec_graph.predictor("dLdgamma", _canonical(spec_graph, "dLdgamma"), OBSERVED)
    )
    values = _values()
    alone = dLdgamma(values)
    memo: graph.Memo = {}
    dLdZ(values, memo)
    shared = dLdgamma(values, memo)
    # dL/dZ recomputed Zhat (and sigma^2) once; dL/dgamma found Zhat's bound in the memo.
    assert (first.calls, second.calls) == (1, 1)
    for one, other in zip(alone, shared, strict=True):
        np.testing.assert_array_equal(one, other)
    dLdgamma(values, memo)
    assert second.calls == 1
    # At another precision the bound is another: recomputed, not taken from the memo.
    dLdgamma({**values, "unit_roundoff": 2.0**-24}, memo)
    assert second.calls == 2


def test_a_leaf_missing_from_the_memo_recomputes_them_all() -> None:
    # dL/dgamma first: only Zhat is in the memo, and dL/dZ also needs sigma^2.
    spec_graph = _graph()
    dLdZ, counted = _counted(spec_graph.predictor("dLdZ", _canonical(spec_graph, "dLdZ"), OBSERVED))
    dLdgamma = spec_graph.predictor("dLdgamma", _canonical(spec_graph, "dLdgamma"), OBSERVED)
    values, memo = _values(), {}
    dLdgamma(values, memo)
    assert len(memo) == 1
    expected = dLdZ(values)
    again = dLdZ(values, memo)
    assert counted.calls == 2 and len(memo) == 2
    for one, other in zip(expected, again, strict=True):
        np.testing.assert_array_equal(one, other)


def test_a_record_keeps_its_own_memo_and_a_record_made_from_it_starts_afresh() -> None:
    record = Record("case", _values(), frozenset({"Zhat"}), np.dtype(np.float64))
    record.derived[("k", 1.0, 1.0)] = np.zeros(1)
    changed = dataclasses.replace(record, values={**record.values, "Z": record.values["Z"] + 1})
    assert changed.derived == {} and record.derived
    assert changed == dataclasses.replace(record, values=changed.values)  # the memo is no field to compare


def test_the_judge_shares_a_records_memo_between_specs() -> None:
    spec_graph = _graph()
    values = _values()
    dLdZ, _ = spec_graph.predictor("dLdZ", _canonical(spec_graph, "dLdZ"), OBSERVED)(values)
    dLdgamma, _ = spec_graph.predictor("dLdgamma", _canonical(spec_graph, "dLdgamma"), OBSERVED)(
        values
    )
    record = Record(
        "case",
        {**values, "dLdZ": dLdZ, "dLdgamma": dLdgamma, "Ztilde": values["Zhat"], "beta": 0.0,
         "dLdbeta": values["G"].sum(axis=0, keepdims=True)},
        OBSERVED & {"mu", "sigma2", "Zhat", "dLdZ", "dLdgamma"},
        np.dtype(np.float64),
    )
    assert judge(spec_graph, "layernorm.grad_input", record).passed
    assert len(record.derived) == 2  # Zhat and sigma^2, at float64's unit roundoffs
    kept = dict(record.derived)
    assert judge(spec_graph, "layernorm.grad_gamma", record).passed
    assert record.derived.keys() == kept.keys()


def _fresh_graph() -> SpecGraph:
    spec_graph = _graph()
    return SpecGraph(list(spec_graph.uses.values()), coefficients=spec_graph.coefficients)


def test_a_predictor_with_its_recomputation_is_stored_and_checked_back(programs) -> None:
    spec_graph = _fresh_graph()
    question = ("dLdgamma", _canonical(spec_graph, "dLdgamma"), OBSERVED)
    first = spec_graph.predictor(*question)
    (path,) = programs.folder.glob("*.json")
    stored = json.loads(path.read_text())["value"]
    assert stored == json.loads(json.dumps(first.to_data()))
    again = _fresh_graph().predictor(*question)
    assert again.recomputed == first.recomputed and again.recomputation is not None
    values = _values()
    for one, other in zip(first(values), again(values), strict=True):
        np.testing.assert_array_equal(one, other)


@pytest.mark.parametrize("damage", ["count", "type", "missing", "unpaired"])
def test_a_stored_predictor_whose_recomputation_does_not_fit_is_rebuilt(programs, damage) -> None:
    spec_graph = _fresh_graph()
    question = ("dLdgamma", _canonical(spec_graph, "dLdgamma"), OBSERVED)
    first = spec_graph.predictor(*question)
    (path,) = programs.folder.glob("*.json")
    entry = json.loads(path.read_text())
    if damage == "count":  # two leaves said recomputed, one computed
        entry["value"]["recomputed"].append(["sigma2_recomputed", "sigma2 = ..."])
    elif damage == "type":
        entry["value"]["recomputed"] = [["Zhat_recomputed", 3]]
    elif damage == "missing":
        entry["value"]["recomputation"] = None
    else:
        entry["value"]["recomputed"] = []
    path.write_text(json.dumps(entry))
    assert graph._stored_predictor(path.stem) is None
    again = _fresh_graph().predictor(*question)
    assert again.to_data() == first.to_data()


def test_predictors_recomputing_the_same_leaves_share_one_compiled_program(programs) -> None:
    # Ztilde and dL/dgamma both recompute Zhat alone, by the same forms: one program, compiled
    # once (the cold cache's work; a program cache entry holds its own copy).
    spec_graph = _fresh_graph()
    affine = spec_graph.predictor("Ztilde", _canonical(spec_graph, "Ztilde"), OBSERVED)
    gamma = spec_graph.predictor("dLdgamma", _canonical(spec_graph, "dLdgamma"), OBSERVED)
    assert affine.recomputed == gamma.recomputed
    assert affine.recomputation is gamma.recomputation is not None
    # dL/dZ recomputes sigma^2 too: a program of its own.
    dLdZ = spec_graph.predictor("dLdZ", _canonical(spec_graph, "dLdZ"), OBSERVED)
    assert dLdZ.recomputation is not gamma.recomputation
