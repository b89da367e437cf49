"""The judge's comparison, entry by entry, and the ways a record can fail before any equation.

``compare`` is tested on hand-made arrays, against the tolerance restated here
(``allowed = SAFETY * bound + FLOOR_ULPS * smallest_normal(dtype)``, SAFETY = 4,
FLOOR_ULPS = 64): where the error sits relative to it, which entry is reported, how NaN and
infinities count, and what an answer of the wrong shape, kind or width gets. ``judge`` is
tested on bundled LayerNorm, Adam and AdamW records for the paths that never reach a comparison
(an answer that is not an array, a quantity the target raised on, a spec nothing observed
shows), and on records made to follow chosen forms exactly (:func:`answering`) for what a
verdict says: which comparison it quotes and in which words, the known deviations it names and
under which forms, a pinned reading, a pass on no evidence.
"""

from __future__ import annotations

import dataclasses
from dataclasses import FrozenInstanceError

import numpy as np
import pytest
from eqconform.impl import ADAPTER as BUNDLED
from eqconform.verify import judge as judge_module
from eqconform.verify import tolerance
from eqconform.verify.components import COMPONENTS
from eqconform.verify.graph import SpecGraph
from eqconform.verify.judge import (
    Alternative,
    Comparison,
    ContractViolation,
    QuantityRaised,
    Record,
    _narrower,
    checked_quantities,
    compare,
    ensure_unchanged,
    judge,
    known_deviation,
)
from eqconform.verify.strategies import (
    AdamHyperparameters,
    ArrayRecipe,
    LayerNormInput,
    OptimizerRun,
)
from eqconform.verify.targets.protocol import NotAnArray, Raised
from eqconform.verify.targets.user import ObjectTarget

SAFETY, FLOOR_ULPS = 4.0, 64.0
INF = float("inf")


def record(dtype: str = "float64", locate=None) -> Record:
    return Record("a hand-made record", {}, frozenset(), np.dtype(dtype), locate)


def floor(dtype: str) -> float:
    return FLOOR_ULPS * float(np.finfo(np.dtype(dtype)).smallest_normal)


# --------------------------------------------------------------------------- the tolerance itself


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_unit_roundoff_is_half_the_machine_epsilon(dtype: str) -> None:
    assert tolerance.unit_roundoff(np.dtype(dtype)) == float(np.finfo(np.dtype(dtype)).eps) / 2
    assert tolerance.oracle_unit_roundoff(np.dtype(dtype)) == float(np.finfo(np.dtype(dtype)).eps) / 2 + 2.0**-53
    assert tolerance.floor(np.dtype(dtype)) == floor(dtype)
    assert (tolerance.SAFETY, tolerance.FLOOR_ULPS) == (SAFETY, FLOOR_ULPS)


# --------------------------------------------------------------------------- compare


@pytest.mark.parametrize("multiple", [0.0, 0.5, 0.999, 1.001, 3.0])
def test_the_ratio_is_the_error_over_the_allowed_error(multiple: float) -> None:
    bound = np.array([0.0, 1e-3, 2e-3])
    predicted = np.array([1.0, 2.0, 3.0])
    allowed = SAFETY * bound + floor("float64")
    observed = predicted + multiple * allowed * np.array([0.0, 0.0, 1.0])
    found = compare(observed, predicted, bound, record(), "x")
    assert found.ratio == pytest.approx(multiple, rel=1e-9)
    assert found.abs_error == pytest.approx(multiple * allowed[2], rel=1e-9)
    assert found.index == ((2,) if multiple else (0,))
    assert found.quantity == "x"


def test_the_floor_of_the_dtype_is_added() -> None:
    """With a bound of zero an exact answer's error may still reach the floor of its dtype."""
    for dtype in ("float64", "float32"):
        predicted = np.array([0.0])
        at_floor = compare(predicted + 0.5 * floor(dtype), predicted, np.zeros(1), record(dtype), "x")
        assert at_floor.ratio == pytest.approx(0.5)


def test_the_first_entry_out_of_tolerance_is_reported_not_the_worst() -> None:
    predicted = np.zeros(4)
    bound = np.full(4, 0.25)  # allowed error 1 (plus the floor)
    observed = np.array([0.5, 2.0, 9.0, 0.0])
    found = compare(observed, predicted, bound, record(), "x")
    assert found.ratio == pytest.approx(9.0)  # the worst ratio is the verdict
    assert found.index == (1,)  # the entry shown is the first one outside
    assert found.abs_error == pytest.approx(2.0)
    assert "x[1] = 2.0, the equation gives 0.0" in found.detail


def test_an_entry_at_the_tolerance_is_not_the_first_outside() -> None:
    found = compare(np.array([1.0, 3.0]), np.zeros(2), np.full(2, 0.25), record(), "x")  # ratios 1 and 3
    assert found.index == (1,) and found.ratio == 3.0


def test_within_tolerance_the_worst_entry_is_reported() -> None:
    predicted = np.zeros((2, 2))
    found = compare(np.array([[0.1, 0.0], [0.0, 0.6]]), predicted, np.full((2, 2), 0.25), record(), "m")
    assert found.index == (1, 1)
    assert found.ratio == pytest.approx(0.6)
    assert found.detail.startswith("m[1, 1] = 0.6, the equation gives 0.0 (tolerance 1)")


def test_an_entry_exactly_at_the_tolerance_is_inside() -> None:
    predicted = np.zeros(2)
    bound = np.full(2, 0.25)
    allowed = SAFETY * 0.25 + floor("float64")
    found = compare(np.array([0.5, allowed]), predicted, bound, record(), "x")
    assert found.ratio == 1.0
    assert found.index == (1,)  # the worst, since none is outside


def test_the_record_says_where_an_entry_is() -> None:
    located = record(locate=lambda index: f" at step {index[0]}")
    found = compare(np.array([0.0, 5.0]), np.zeros(2), np.full(2, 0.25), located, "theta")
    assert found.detail.startswith("theta at step 1 = 5.0")
    assert record().where(()) == ""
    assert record().where((2, 3)) == "[2, 3]"


def test_nan_and_infinity() -> None:
    bound = np.full(4, 0.25)
    both = np.array([np.nan, np.inf, -np.inf, 1.0])
    assert compare(both, both.copy(), bound, record(), "x").ratio == 0.0  # the same NaN and infinities agree
    for agreeing in ([np.nan], [np.inf], [-np.inf]):
        found = compare(np.array(agreeing), np.array(agreeing), np.full(1, 0.25), record(), "x")
        assert (found.ratio, found.abs_error) == (0.0, 0.0)
    found = compare(np.array([1.0, np.nan]), np.array([1.0, 1.0]), np.full(2, 0.25), record(), "x")
    assert found.ratio == INF and found.index == (1,)  # a NaN where a number is due
    found = compare(np.array([1.0, 1.0]), np.array([1.0, np.nan]), np.full(2, 0.25), record(), "x")
    assert found.ratio == INF and found.index == (1,)  # a number where NaN is due
    found = compare(np.array([np.inf]), np.array([-np.inf]), np.full(1, 0.25), record(), "x")
    assert found.ratio == INF  # infinities of opposite signs
    for observed, predicted in ((np.inf, 1.0), (-np.inf, 1.0), (-np.inf, np.inf), (1.0, np.inf), (1.0, -np.inf)):
        found = compare(np.array([observed]), np.array([predicted]), np.full(1, 0.25), record(), "x")
        assert found.ratio == INF, (observed, predicted)


def test_an_unbounded_entry_accepts_anything() -> None:
    """Where the rounding bound is infinite or NaN (an ill-conditioned entry), any value is within."""
    for bound in (np.inf, np.nan):
        found = compare(np.array([1e9, 0.0]), np.zeros(2), np.array([bound, 0.25]), record(), "x")
        assert found.ratio == 0.0
        assert found.detail.endswith("(tolerance inf)")


def test_an_empty_quantity_agrees() -> None:
    found = compare(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3)), record(), "x")
    assert (found.ratio, found.abs_error, found.detail) == (0.0, 0.0, "")


def test_answers_that_cannot_be_compared() -> None:
    predicted, bound = np.zeros(3), np.full(3, 0.25)
    found = compare(NotAnArray("a list"), predicted, bound, record(), "x")
    assert (found.ratio, found.abs_error, found.detail) == (INF, INF, "x is a list")
    for shape in ((4,), (2,), (3, 1), (1, 3), ()):
        found = compare(np.zeros(shape), predicted, bound, record(), "x")
        assert (found.ratio, found.detail) == (INF, f"x has shape {shape}; the equation gives (3,)")
    found = compare(np.zeros(3, dtype=np.int64), predicted, bound, record(), "x")
    assert found.ratio == INF and found.detail.startswith("x has dtype int64")


@pytest.mark.parametrize(("given", "returned", "narrower"), [
    ("float64", "float32", True), ("float64", "float16", True), ("float32", "float16", True),
    ("float32", "float32", False), ("float32", "float64", False), ("float16", "float64", False),
])
def test_an_answer_narrower_than_its_inputs_fails(given: str, returned: str, narrower: bool) -> None:
    found = compare(np.zeros(2, dtype=returned), np.zeros(2), np.full(2, 0.25), record(given), "x")
    assert (found.ratio == INF) is narrower
    if narrower:
        assert found.detail.startswith(f"x came back as {returned} for {given} inputs")


def test_only_floating_dtypes_have_a_width_to_compare() -> None:
    assert _narrower(np.dtype("float64"), np.dtype("complex64"))
    assert not _narrower(np.dtype("int64"), np.dtype("float16"))
    assert not _narrower(np.dtype("float64"), np.dtype("int8"))


# --------------------------------------------------------------------------- ensure_unchanged


def test_an_input_written_into_is_a_contract_violation() -> None:
    pristine = {"a": np.array([1.0, 2.0, 3.0]), "b": np.zeros(2)}
    ensure_unchanged({"a": pristine["a"].copy(), "b": pristine["b"].copy()}, pristine, "forward")
    with_nan = {"a": np.array([1.0, np.nan])}
    ensure_unchanged({"a": with_nan["a"].copy()}, with_nan, "forward")  # NaN stays NaN: unchanged
    with pytest.raises(ContractViolation, match=r"modified its input a in place during backward \(1 of 3 entries"):
        ensure_unchanged({"a": np.array([1.0, 2.0, 4.0]), "b": np.zeros(2)}, pristine, "backward")
    with pytest.raises(ContractViolation, match=r"during backward \(2 of 3 entries"):  # down as well as up
        ensure_unchanged({"a": np.array([0.0, 2.0, 4.0]), "b": np.zeros(2)}, pristine, "backward")
    with_nans = {"a": np.array([np.nan, 1.0, 2.0])}
    with pytest.raises(ContractViolation, match=r"\(1 of 3 entries changed\)"):  # the NaN kept is not counted
        ensure_unchanged({"a": np.array([np.nan, 1.0, 5.0])}, with_nans, "forward")
    with pytest.raises(ContractViolation, match=r"\(2 of 3 entries changed\)"):  # a NaN written is
        ensure_unchanged({"a": np.array([0.0, np.nan, 2.0])}, with_nans, "forward")
    integers = {"a": np.array([1, 2, 3])}
    with pytest.raises(ContractViolation, match=r"\(1 of 3 entries changed\)"):
        ensure_unchanged({"a": np.array([1, 2, 4])}, integers, "forward")
    for shape in ((3,), (1,), ()):  # another shape, larger or smaller: every entry counts as changed
        with pytest.raises(ContractViolation, match=r"input b in place during step \(all of 2 entries"):
            ensure_unchanged({"a": pristine["a"], "b": np.zeros(shape)}, pristine, "step")


def test_a_scalar_input_left_as_it_was_is_no_violation() -> None:
    # Hyperparameters come as 0-d arrays or plain numbers: shape () on both sides, the same
    # (empty) tuple, and equal values: nothing was written.
    pristine = {"lr": np.array(0.1), "beta1": 0.9, "t": np.int64(3)}
    ensure_unchanged({"lr": np.array(0.1), "beta1": 0.9, "t": np.int64(3)}, pristine, "step")
    with pytest.raises(ContractViolation, match=r"input lr in place during step \(1 of 1 entries"):
        ensure_unchanged({"lr": np.array(0.2), "beta1": 0.9, "t": np.int64(3)}, pristine, "step")


def test_a_raised_quantity_carries_its_error() -> None:
    error = ValueError("no")
    raised = QuantityRaised(error)
    assert raised.error is error and str(raised) == "ValueError: no"


# --------------------------------------------------------------------------- judge


@pytest.fixture(scope="module")
def layernorm() -> tuple:
    component = COMPONENTS["layernorm"].exact
    case = LayerNormInput(np.dtype("float64"), 1e-3,
                          ArrayRecipe((3, 4), np.dtype("float64"), seed=1, offset=1.0),
                          ArrayRecipe((1, 4), np.dtype("float64"), seed=2), ArrayRecipe((1, 4), np.dtype("float64"), seed=3),
                          ArrayRecipe((3, 4), np.dtype("float64"), seed=4))
    (found,) = component.observe(ObjectTarget(BUNDLED).component("layernorm"), case, component.graph)
    return component.graph, found


def test_the_bundled_answer_passes_with_its_variant(layernorm) -> None:
    graph, found = layernorm
    finding = judge(graph, "layernorm.normalize", found)
    assert finding.observable and finding.passed
    assert finding.variants and not finding.deviations
    assert 0.0 <= finding.ratio <= 1.0 and finding.quantity == "Zhat"
    assert finding.through is None and finding.record is found
    assert "layernorm.normalize" not in finding.together_with


def test_a_moved_answer_fails(layernorm) -> None:
    graph, found = layernorm
    moved = dict(found.values)
    moved["Zhat"] = np.asarray(found.values["Zhat"]) + 1.0
    finding = judge(graph, "layernorm.normalize", dataclasses.replace(found, values=moved))
    assert finding.observable and not finding.passed and not finding.variants
    assert finding.ratio > 1.0 and finding.detail.endswith(f"({found.label})")


def test_an_answer_that_is_not_an_array_fails_its_own_equation(layernorm) -> None:
    graph, found = layernorm
    values = {**found.values, "Zhat": NotAnArray("a list")}
    finding = judge(graph, "layernorm.normalize", dataclasses.replace(found, values=values))
    assert not finding.passed and finding.observable
    assert finding.ratio == INF and finding.quantity == "Zhat"
    assert finding.detail == f"Zhat is a list ({found.label})"
    # To another equation it is a quantity not exposed: the oracle carries it instead.
    other = judge(graph, "layernorm.affine", dataclasses.replace(found, values=values))
    assert other.passed and other.observable
    assert "Zhat" not in other.record.observed


def test_a_quantity_the_target_raised_on_is_raised(layernorm) -> None:
    graph, found = layernorm
    error = RuntimeError("boom")
    values = {**found.values, "Zhat": Raised(error)}
    with pytest.raises(QuantityRaised) as raised:
        judge(graph, "layernorm.normalize", dataclasses.replace(found, values=values))
    assert raised.value.error is error


def test_a_spec_nothing_observed_shows_is_not_observable(layernorm) -> None:
    graph, found = layernorm
    finding = judge(graph, "layernorm.normalize", dataclasses.replace(found, observed=frozenset()))
    assert not finding.observable and finding.passed
    assert finding.detail == "layernorm.normalize is not observable here"
    assert (finding.ratio, finding.abs_error, finding.variants, finding.deviations) == (0.0, 0.0, frozenset(), frozenset())
    assert (finding.through, finding.quantity, finding.index, finding.record) == (None, "", (), None)


def test_a_spec_is_checked_through_the_closest_observed_quantity(layernorm) -> None:
    graph, found = layernorm
    assert checked_quantities(graph, "layernorm.normalize", found.observed) == (["Zhat"], None)
    without = found.observed - {"Zhat"}
    quantities, through = checked_quantities(graph, "layernorm.normalize", without)
    assert quantities == [through] and through in without
    # The closest: no other observed quantity depending on it has a shorter chain.
    length = len(graph.chain(through, without))
    assert all(len(graph.chain(q, without)) >= length for q in without
               if "layernorm.normalize" in graph.chain(q, without))
    finding = judge(graph, "layernorm.normalize", dataclasses.replace(found, observed=without))
    assert finding.observable and finding.through == through
    assert checked_quantities(graph, "layernorm.normalize", frozenset()) == ([], None)


@pytest.fixture(scope="module")
def adam_moments() -> tuple:
    """A bundled Adam step whose record also exposes the corrected moments ``mhat`` and
    ``vhat``, the two quantities ``adam.bias_correction`` defines."""
    component = COMPONENTS["adam"].exact
    dtype = np.dtype("float64")
    run = OptimizerRun(dtype, AdamHyperparameters(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-3), ((3, 2),),
                       (ArrayRecipe((3, 2), dtype, seed=1), ArrayRecipe((3, 1), dtype, seed=2)),
                       gradient_seed=3, gradient_scales=(1e-2,))
    (found,) = component.observe(ObjectTarget(BUNDLED).component("adam"), run, component.graph)
    values = dict(found.values)
    values["mhat"] = values["m"] / (1 - values["beta1"] ** values["t"])
    values["vhat"] = values["v"] / (1 - values["beta2"] ** values["t"])
    return component.graph, dataclasses.replace(found, values=values, observed=frozenset({"m", "v", "mhat", "vhat"}))


@pytest.mark.parametrize("wrong", ["mhat", "vhat"])
def test_a_spec_with_two_quantities_is_judged_by_the_worse(adam_moments, wrong: str) -> None:
    graph, found = adam_moments
    assert graph.defines("adam.bias_correction") == ("mhat", "vhat")
    assert judge(graph, "adam.bias_correction", found).passed  # the control
    values = {**found.values, wrong: found.values[wrong] * 1.5}
    finding = judge(graph, "adam.bias_correction", dataclasses.replace(found, values=values))
    assert not finding.passed and finding.quantity == wrong and finding.ratio > 1.0


def test_both_quantities_not_arrays_name_the_first(adam_moments) -> None:
    graph, found = adam_moments
    values = {**found.values, "mhat": NotAnArray("a list"), "vhat": NotAnArray("a tensor")}
    finding = judge(graph, "adam.bias_correction", dataclasses.replace(found, values=values))
    assert not finding.passed and finding.quantity == "mhat"
    assert finding.detail == f"mhat is a list ({found.label})"


@pytest.mark.parametrize(("ratio", "passed"), [(1.0, True), (float(np.nextafter(1.0, 2.0)), False), (0.0, True)])
def test_a_ratio_of_exactly_one_is_within(layernorm, monkeypatch, ratio: float, passed: bool) -> None:
    """Every comparison made to come out at ``ratio``: the verdict turns between 1 and the next float."""
    graph, found = layernorm
    monkeypatch.setattr(judge_module, "compare", lambda *args, **kwargs: Comparison(ratio, 0.0, "planted", "Zhat"))
    finding = judge(graph, "layernorm.normalize", found)
    assert finding.passed is passed and finding.ratio == ratio
    accepted = {v.id for v in graph.spec("layernorm.normalize").variants if v.accepted}
    assert finding.variants == (accepted if passed else set())


def test_comparisons_and_findings_are_values() -> None:
    with pytest.raises(FrozenInstanceError):
        Comparison(1.0, 0.0, "").ratio = 2.0  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        record().label = "changed"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        judge_module.Finding(True, True).passed = False  # type: ignore[misc]
    # An input's other reading is a value too: records holding it stay values, and it can be
    # kept in sets and as a key like the others.
    alternative = Alternative("t per layer", "t counted once per layer", 3)
    with pytest.raises(FrozenInstanceError):
        alternative.value = 4  # type: ignore[misc]
    assert hash(alternative) == hash(Alternative("t per layer", "t counted once per layer", 3))
    assert {alternative, Alternative("t per layer", "t counted once per layer", 3)} == {alternative}


def test_on_a_tie_the_first_quantity_is_reported(adam_moments, monkeypatch) -> None:
    graph, found = adam_moments
    monkeypatch.setattr(judge_module, "compare",
                        lambda observed, predicted, bound, record, name, **kwargs: Comparison(0.5, 0.0, name, name))
    assert judge(graph, "adam.bias_correction", found).quantity == "mhat"


def test_the_other_specs_of_the_prediction_are_named(layernorm) -> None:
    """Judged through Zhat alone, the mean needs the variance and the normalization too."""
    graph, found = layernorm
    observed = frozenset({"Zhat"})
    finding = judge(graph, "layernorm.mean", dataclasses.replace(found, observed=observed))
    chain = graph.chain("Zhat", observed)
    assert finding.through == "Zhat" and "layernorm.mean" in chain
    assert set(finding.together_with) == set(chain) - {"layernorm.mean"}
    assert "layernorm.variance" in finding.together_with
    finding = judge(graph, "layernorm.variance", dataclasses.replace(found, observed=observed))
    assert set(finding.together_with) == set(chain) - {"layernorm.variance"}
    assert "layernorm.mean" in finding.together_with


def test_on_a_tie_the_first_accepted_combination_is_the_closest(adam_moments, monkeypatch) -> None:
    graph, found = adam_moments
    found = dataclasses.replace(found, observed=frozenset({"m", "v", "theta"}))
    spec = graph.spec("adam.update")
    accepted = {variant.id for variant in spec.variants if variant.accepted}
    combinations = [c for c in graph.combinations(graph.chain("theta", found.observed))
                    if spec.form_of(dict(c)["adam.update"]) in accepted]
    assert len(combinations) >= 2
    monkeypatch.setattr(judge_module, "compare",
                        lambda observed, predicted, bound, record, name, **kwargs: Comparison(0.5, 0.0, name, name))
    assert judge(graph, "adam.update", found).combination == combinations[0]


def _adam_record(eps: float, gradient_scale: float):
    from eqconform.verify.strategies.arrays import ArrayRecipe
    from eqconform.verify.strategies.optimizers import AdamHyperparameters, OptimizerRun

    dtype = np.dtype(np.float64)
    parameters = (ArrayRecipe((2, 2), dtype, seed=1), ArrayRecipe((2, 1), dtype, seed=2))
    hyper = AdamHyperparameters(lr=0.1, beta1=0.9, beta2=0.999, eps=eps, weight_decay=0.0)
    run = OptimizerRun(dtype, hyper, ((2, 2),), parameters, gradient_seed=3, gradient_scales=(gradient_scale,) * 3)
    search = COMPONENTS["adam"].exact
    (record,) = search.observe(ObjectTarget(BUNDLED).component("adam"), run, search.graph)
    return search.graph, record


def test_a_pass_names_every_accepted_form_that_matches_and_no_deviation() -> None:
    graph, record = _adam_record(eps=1e-20, gradient_scale=1.0)
    found = judge_module.judge(graph, "adam.update", record)
    assert found.passed
    assert found.variants == {"eps-outside-sqrt", "eps-inside-sqrt"}  # eps too small to tell
    assert found.deviations == frozenset() and found.borrowed == ()
    graph, record = _adam_record(eps=1e-3, gradient_scale=1e-3)  # eps comparable to sqrt(v)
    found = judge_module.judge(graph, "adam.update", record)
    assert found.passed and found.variants == {"eps-outside-sqrt"}
    assert found.ratio <= 1.0


def test_an_answer_within_an_infinite_bound_passes_on_no_evidence() -> None:
    # Where the formula promises no accuracy (an infinite or undefined bound) any answer passes,
    # so no false alarm; but such a pass is marked, for no diagnosis may rest on it.
    for bound in (np.inf, np.nan):
        found = compare(np.array([1.5, 7.0]), np.array([1.0, 2.0]), np.full(2, bound), record(), "x")
        assert found.ratio == 0.0 and found.unbounded
    same = compare(np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.full(2, np.inf), record(), "x")
    assert same.ratio == 0.0 and not same.unbounded  # agreeing exactly is evidence at any bound
    # An entry with a finite tolerance is evidence, whatever the others' bounds.
    partly = compare(np.array([1.0, 7.0]), np.array([1.0, 2.0]), np.array([0.25, np.inf]), record(), "x")
    assert partly.ratio == 0.0 and not partly.unbounded
    bounded = compare(np.array([1.0, 2.1]), np.array([1.0, 2.0]), np.full(2, 0.25), record(), "x")
    assert not bounded.unbounded
    # Values within the format's floor (below float16's normal range) are no evidence either:
    # float16 cannot tell a second moment of 1e-3 from one of 1e-6 there.
    tiny = compare(np.array([1e-3, 2e-3]), np.array([1e-6, 4e-6]), np.zeros(2), record("float16"), "x")
    assert tiny.ratio <= 1.0 and tiny.unbounded
    above = compare(np.array([1e-3, 2.0]), np.array([1e-6, 2.0 + 1e-4]), np.zeros(2), record("float16"), "x")
    assert not above.unbounded


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_a_value_exactly_at_the_floor_is_within_it(dtype: str) -> None:
    # The floor is inclusive: a prediction of exactly FLOOR_ULPS * smallest_normal (either
    # sign) lies within it, so an answer off there is a pass on no evidence.
    at = floor(dtype)
    for predicted in (at, -at):
        found = compare(np.array([1.5 * predicted]), np.array([predicted]), np.zeros(1), record(dtype), "x")
        assert found.ratio == 0.5 and found.unbounded
    # Just above the floor it is evidence.
    above = float(np.nextafter(at, 1.0))
    found = compare(np.array([above + 0.5 * at]), np.array([above]), np.zeros(1), record(dtype), "x")
    assert found.ratio == pytest.approx(0.5) and not found.unbounded


# --------------------------------------------------------------------------- judge: which forms, in which words


def combination(forms: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """A combination as the graph yields it (sorted ``(spec id, variant id)`` pairs)."""
    return tuple(sorted(forms.items()))


def answering(graph: SpecGraph, found: Record, quantity: str, forms: tuple[tuple[str, str], ...],
              moved: float = 0.0) -> Record:
    """``found`` with ``quantity`` exactly as the equations give it under ``forms``: the record
    of a target that follows those forms (a rejected one: a known deviation); ``moved``: every
    entry moved off by that many times the error the tolerance allows it under those forms."""
    u = tolerance.oracle_unit_roundoff(found.dtype)
    values = {**found.values, "unit_roundoff": u, "coefficient_unit_roundoff": u}
    predicted, bound = graph.predictor(quantity, forms, found.observed)(values)
    answer = np.asarray(predicted) + moved * tolerance.allowed(bound, found.dtype)
    return dataclasses.replace(found, values={**found.values, quantity: answer})


#: LayerNorm judged through Zhat alone: the normalization with the mean and variance it needs.
PLAIN_LAYERNORM = combination({"layernorm.normalize": "eps-inside-sqrt", "layernorm.mean": "canonical", "layernorm.variance": "biased"})
BESSEL_LAYERNORM = combination({"layernorm.normalize": "eps-inside-sqrt", "layernorm.mean": "canonical", "layernorm.variance": "unbiased"})


def test_a_pass_through_a_neighbours_known_deviation_is_quoted_with_its_name(layernorm) -> None:
    # A normalization fed Bessel's variance normalizes rightly: it passes, and the comparison
    # quoted says under which forms, the rejected one named as a known deviation.
    graph, found = layernorm
    bessel = answering(graph, dataclasses.replace(found, observed=frozenset({"Zhat"})), "Zhat", BESSEL_LAYERNORM)
    finding = judge(graph, "layernorm.normalize", bessel)
    assert finding.passed and finding.variants == {"eps-inside-sqrt"} and not finding.deviations
    assert finding.combination == BESSEL_LAYERNORM and finding.ratio == 0.0
    assert ", the equation (layernorm.variance as unbiased, a known deviation) gives " in finding.detail
    assert not finding.vacuous and finding.named_under == ()  # a pass names no deviation


def test_an_accepted_alternative_form_is_named_but_not_as_a_deviation() -> None:
    graph, found = _adam_record(eps=1e-3, gradient_scale=1e-3)  # eps comparable to sqrt(v)
    inside = combination({"adam.update": "eps-inside-sqrt", "adam.bias_correction": "bias-corrected"})
    finding = judge(graph, "adam.update", answering(graph, found, "theta", inside))
    assert finding.passed and finding.variants == {"eps-inside-sqrt"}
    assert finding.combination == inside
    assert ", the equation (adam.update as eps-inside-sqrt) gives " in finding.detail


def test_a_failure_is_quoted_against_the_documents_equations_not_a_nearer_deviation(layernorm) -> None:
    # Off Bessel's variance by 1%, and further off the biased one: both fail, and the verdict
    # quotes the document's equations (in their plain words) while ``nearest`` keeps the nearer.
    graph, found = layernorm
    only = dataclasses.replace(found, observed=frozenset({"Zhat"}))
    bessel = answering(graph, only, "Zhat", BESSEL_LAYERNORM)
    off = dataclasses.replace(bessel, values={**bessel.values, "Zhat": bessel.values["Zhat"] * 1.01})
    finding = judge(graph, "layernorm.normalize", off)
    assert not finding.passed and not finding.deviations
    assert finding.combination == PLAIN_LAYERNORM
    assert 1.0 < finding.nearest < finding.ratio
    assert ", the equation gives " in finding.detail and "known deviation" not in finding.detail


def test_a_known_deviation_of_the_spec_is_named_with_the_forms_it_matched_under(layernorm) -> None:
    graph, found = layernorm
    outside = combination({"layernorm.normalize": "eps-outside-sqrt"})
    finding = judge(graph, "layernorm.normalize", answering(graph, found, "Zhat", outside))
    assert not finding.passed and not finding.variants
    assert finding.deviations == {"eps-outside-sqrt"} and finding.named_under == outside
    assert finding.combination == combination({"layernorm.normalize": "eps-inside-sqrt"})  # quoted: the document's
    spec = graph.spec("layernorm.normalize")
    note = spec.variant("eps-outside-sqrt").note
    assert note  # the words below quote it
    assert known_deviation(spec, finding) == (
        "eps-outside-sqrt", f"It follows the known deviation 'eps-outside-sqrt': {note}")
    # A deviation without a note is named alone.
    bare = dataclasses.replace(spec, variants=tuple(dataclasses.replace(v, note="") for v in spec.variants))
    assert known_deviation(bare, finding) == ("eps-outside-sqrt", "It follows the known deviation 'eps-outside-sqrt'")
    assert known_deviation(spec, dataclasses.replace(finding, deviations=frozenset())) is None


@pytest.fixture(scope="module")
def adamw() -> tuple:
    """A bundled AdamW step (weights and moments exposed), eps comparable to sqrt(v) so that
    Adam's forms tell apart."""
    search = COMPONENTS["adamw"].exact
    dtype = np.dtype("float64")
    run = OptimizerRun(dtype, AdamHyperparameters(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-3, weight_decay=0.1),
                       ((3, 2),), (ArrayRecipe((3, 2), dtype, seed=1), ArrayRecipe((3, 1), dtype, seed=2)),
                       gradient_seed=3, gradient_scales=(1e-2,))
    (found,) = search.observe(ObjectTarget(BUNDLED).component("adamw"), run, search.graph)
    return search.graph, found


def test_a_borrowed_specs_deviation_is_named_with_the_specs_own_form(adamw) -> None:
    graph, found = adamw
    eps_hat = combination({"adam.bias_correction": "bias-corrected", "adam.update": "eps-hat", "adamw.decoupled_decay": "decay-scaled-by-lr"})
    finding = judge(graph, "adamw.decoupled_decay", answering(graph, found, "theta", eps_hat))
    assert not finding.passed and not finding.deviations  # its own form is right; Adam's step is not
    ((name, explanation),) = finding.borrowed
    assert name == "eps-hat with decay-scaled-by-lr" and finding.named_under == eps_hat
    note = graph.spec("adam.update").variant("eps-hat").note.rstrip(".")
    # The borrowed spec is named by its title, lower-cased as the sentence goes on.
    assert explanation == f"Its adam parameter update follows adam.update's known deviation 'eps-hat': {note}."
    assert known_deviation(graph.spec("adamw.decoupled_decay"), finding) == (name, explanation)


def test_with_a_borrowed_deviation_pinned_the_nearest_accepted_form_is_quoted(adamw) -> None:
    # Adam's update held to its known deviation eps-hat leaves no combination that can pass:
    # the verdict quotes the nearest one with the spec's own form accepted, even though a
    # rejected form of it matches exactly.
    graph, found = adamw
    followed = combination({"adam.bias_correction": "bias-corrected", "adam.update": "eps-hat", "adamw.decoupled_decay": "decay-of-updated-weights"})
    followed_record = answering(graph, found, "theta", followed)
    finding = judge(graph, "adamw.decoupled_decay", followed_record, {"adam.update": "eps-hat"})
    assert not finding.passed and finding.deviations == {"decay-of-updated-weights"}
    assert finding.named_under == followed
    # Decaying the updated weights differs from decaying the previous ones by alpha * lambda
    # times the update: the nearest of the four combinations with an accepted decay (scaled
    # or not by the learning rate, each with either bias correction), not the farthest.
    assert finding.combination == combination({"adam.bias_correction": "bias-corrected", "adam.update": "eps-hat", "adamw.decoupled_decay": "decay-scaled-by-lr"})
    assert finding.ratio > 1.0 and finding.nearest == finding.ratio


def test_a_pinned_reading_is_the_only_one_judged() -> None:
    # Held to a reading, the target is judged by it alone: another accepted form it follows
    # does not pass it (the pins keep one layer to one reading of dropout's p).
    graph, found = _adam_record(eps=1e-3, gradient_scale=1e-3)  # follows eps-outside-sqrt alone
    assert judge(graph, "adam.update", found).variants == {"eps-outside-sqrt"}
    held = judge(graph, "adam.update", found, {"adam.update": "eps-inside-sqrt"})
    assert not held.passed and not held.variants
    assert dict(held.combination)["adam.update"] == "eps-inside-sqrt"
    kept = judge(graph, "adam.update", found, {"adam.update": "eps-outside-sqrt"})
    assert kept.passed and kept.variants == {"eps-outside-sqrt"}


# --------------------------------------------------------------------------- judge: vacuous passes


def test_a_pass_on_evidence_is_not_vacuous(layernorm) -> None:
    graph, found = layernorm
    finding = judge(graph, "layernorm.normalize", found)
    assert finding.passed and not finding.vacuous


def test_a_pass_only_through_infinite_tolerances_is_vacuous(layernorm, monkeypatch) -> None:
    graph, found = layernorm
    # Every comparison made to differ from the prediction only where the tolerance is infinite.
    monkeypatch.setattr(judge_module, "compare", lambda observed, predicted, bound, record, name, **kwargs:
                        Comparison(0.0, 1.0, "planted", name, (), unbounded=True))
    finding = judge(graph, "layernorm.normalize", found)
    assert finding.passed and finding.vacuous and finding.variants == {"eps-inside-sqrt"}


def test_a_vacuous_match_is_tried_again_under_the_forms_other_combinations(layernorm, monkeypatch) -> None:
    # Matched without evidence under the plain forms, the normalization is tried with Bessel's
    # variance as well, where it matches on evidence: the pass is not vacuous.
    graph, found = layernorm

    def planted(observed, predicted, bound, record, name, *, equation: str = "the equation") -> Comparison:
        return Comparison(0.0, 1.0, equation, name, (), unbounded="unbiased" not in equation)

    monkeypatch.setattr(judge_module, "compare", planted)
    finding = judge(graph, "layernorm.normalize", dataclasses.replace(found, observed=frozenset({"Zhat"})))
    assert finding.passed and not finding.vacuous and finding.variants == {"eps-inside-sqrt"}


# --------------------------------------------------------------------------- judge: which comparison is quoted, at the boundaries


def test_a_pass_under_a_neighbours_deviation_is_quoted_though_the_documents_equations_fail(layernorm) -> None:
    # Half a tolerance off Bessel's variance: a pass (the normalization is right), quoted with
    # the comparison that passes, not with the document's equations that fail.
    graph, found = layernorm
    only = dataclasses.replace(found, observed=frozenset({"Zhat"}))
    finding = judge(graph, "layernorm.normalize", answering(graph, only, "Zhat", BESSEL_LAYERNORM, moved=0.5))
    assert finding.passed and finding.variants == {"eps-inside-sqrt"}
    assert finding.combination == BESSEL_LAYERNORM
    # The answer is rounded to the nearest float: a tolerance of about a hundred ulps moves
    # the ratio by up to half an ulp in a hundred.
    assert 0.0 < finding.ratio <= 1.0 and finding.ratio == pytest.approx(0.5, rel=0.01)


def test_a_failure_is_quoted_against_the_documents_equations_even_when_a_deviation_comes_within_two(layernorm) -> None:
    # 1.5 tolerances off Bessel's variance: a failure all the same, quoted against the
    # document's forms; ``nearest`` keeps the 1.5.
    graph, found = layernorm
    only = dataclasses.replace(found, observed=frozenset({"Zhat"}))
    finding = judge(graph, "layernorm.normalize", answering(graph, only, "Zhat", BESSEL_LAYERNORM, moved=1.5))
    assert not finding.passed and finding.combination == PLAIN_LAYERNORM
    assert finding.nearest == pytest.approx(1.5, rel=0.01) and finding.ratio > 2.0  # rounded


#: Adam's update judged through theta with the moments exposed: its two accepted forms, each
#: with the bias correction the document gives and with its known deviation.
CORRECTED_OUTSIDE = combination({"adam.bias_correction": "bias-corrected", "adam.update": "eps-outside-sqrt"})
UNCORRECTED_OUTSIDE = combination({"adam.bias_correction": "uncorrected", "adam.update": "eps-outside-sqrt"})
CORRECTED_INSIDE = combination({"adam.bias_correction": "bias-corrected", "adam.update": "eps-inside-sqrt"})


def test_a_pass_stays_quoted_when_a_later_form_fails_under_the_documents_equations(adam_moments) -> None:
    # An update right with uncorrected moments (half a tolerance off) passes as eps-outside-sqrt.
    # eps-inside-sqrt, tried after it, fails under the document's bias correction: the verdict
    # still quotes the pass, at its ratio below 1.
    graph, found = adam_moments
    update = dataclasses.replace(found, observed=frozenset({"m", "v", "theta"}))
    order = list(graph.combinations(graph.chain("theta", update.observed)))
    assert order.index(UNCORRECTED_OUTSIDE) < order.index(CORRECTED_INSIDE)  # the pass comes first
    finding = judge(graph, "adam.update", answering(graph, update, "theta", UNCORRECTED_OUTSIDE, moved=0.5))
    assert finding.passed and finding.variants == {"eps-outside-sqrt"}
    assert finding.combination == UNCORRECTED_OUTSIDE
    assert 0.0 < finding.ratio < 1.0


def test_among_failures_under_the_documents_equations_the_nearest_is_quoted(adam_moments) -> None:
    # Three tolerances off eps-inside-sqrt (and much further off eps-outside-sqrt, tried
    # first): a failure, quoted against the nearer accepted form.
    graph, found = adam_moments
    update = dataclasses.replace(found, observed=frozenset({"m", "v", "theta"}))
    finding = judge(graph, "adam.update", answering(graph, update, "theta", CORRECTED_INSIDE, moved=3.0))
    assert not finding.passed and finding.combination == CORRECTED_INSIDE
    assert finding.ratio == pytest.approx(3.0, rel=0.05)  # theta's entries round to its ulps near 1


def test_among_equal_failures_the_first_is_quoted(adam_moments, monkeypatch) -> None:
    # Every comparison fails by the same ratio: the first combination (the document's forms)
    # is quoted, not a later one.
    graph, found = adam_moments
    update = dataclasses.replace(found, observed=frozenset({"m", "v", "theta"}))
    monkeypatch.setattr(judge_module, "compare",
                        lambda observed, predicted, bound, record, name, **kwargs: Comparison(3.0, 1.0, name, name))
    finding = judge(graph, "adam.update", update)
    assert not finding.passed and finding.combination == CORRECTED_OUTSIDE and finding.ratio == 3.0


def test_a_known_deviation_matched_at_a_ratio_of_exactly_one_is_named(layernorm, monkeypatch) -> None:
    # The accepted forms fail; the rejected eps-outside-sqrt comes out at exactly 1.0, which is
    # within: it is named, as the pass at 1.0 would be.
    graph, found = layernorm

    def planted(observed, predicted, bound, record, name, *, equation: str = "the equation") -> Comparison:
        return Comparison(1.0 if "eps-outside-sqrt" in equation else 2.0, 1.0, equation, name)

    monkeypatch.setattr(judge_module, "compare", planted)
    finding = judge(graph, "layernorm.normalize", dataclasses.replace(found, observed=frozenset({"Zhat"})))
    assert not finding.passed and finding.deviations == {"eps-outside-sqrt"}
    assert finding.named_under == combination({"layernorm.mean": "canonical", "layernorm.normalize": "eps-outside-sqrt",
                                               "layernorm.variance": "biased"})


def test_a_pinned_reading_excludes_the_forms_that_sort_before_it(adam_moments) -> None:
    # Held to eps-outside-sqrt, an update that follows eps-inside-sqrt (which sorts before it)
    # fails: the other reading is not tried.
    graph, found = adam_moments
    update = dataclasses.replace(found, observed=frozenset({"m", "v", "theta"}))
    inside = answering(graph, update, "theta", CORRECTED_INSIDE)
    assert judge(graph, "adam.update", inside).variants == {"eps-inside-sqrt"}  # the control
    assert "eps-inside-sqrt" < "eps-outside-sqrt"
    held = judge(graph, "adam.update", inside, {"adam.update": "eps-outside-sqrt"})
    assert not held.passed and not held.variants
    assert dict(held.combination)["adam.update"] == "eps-outside-sqrt"


# --------------------------------------------------------------------------- judge: issue 16, the survivors


def test_an_input_rewritten_as_another_kind_of_array_is_a_contract_violation() -> None:
    # Dates where floats were handed, NaT where a NaN was: every entry changed. Only a NaN
    # that stayed NaN is left uncounted, and a NaT is no NaN of the float handed in.
    pristine = {"a": np.array([np.nan, 1.0, 3.0])}
    dates = np.array(["NaT", "2020-01-01", "2020-01-02"], dtype="datetime64[ns]")
    with pytest.raises(ContractViolation, match=r"input a in place during forward \(3 of 3 entries changed\)"):
        ensure_unchanged({"a": dates}, pristine, "forward")
    # An integer array where floats with a NaN were: a number is never NaN, every change counts.
    with pytest.raises(ContractViolation, match=r"\(2 of 3 entries changed\)"):
        ensure_unchanged({"a": np.array([0, 1, 4])}, pristine, "forward")


def test_a_failure_before_any_equation_is_not_a_pass_on_no_evidence(layernorm) -> None:
    # ``vacuous`` marks a pass; an answer that is not an array fails, on the evidence of it.
    graph, found = layernorm
    values = {**found.values, "Zhat": NotAnArray("a list")}
    finding = judge(graph, "layernorm.normalize", dataclasses.replace(found, values=values))
    assert not finding.passed and not finding.vacuous
    unseen = judge(graph, "layernorm.normalize", dataclasses.replace(found, observed=frozenset()))
    assert not unseen.observable and not unseen.vacuous


def test_a_known_deviation_a_tolerance_and_a_half_off_is_not_named(layernorm, adamw) -> None:
    # Within two tolerances of a rejected form is not within one: the failure names no
    # deviation, of the spec's own or a borrowed spec's.
    graph, found = layernorm
    outside = combination({"layernorm.normalize": "eps-outside-sqrt"})
    finding = judge(graph, "layernorm.normalize", answering(graph, found, "Zhat", outside, moved=1.5))
    assert not finding.passed and finding.ratio > 2.0
    assert finding.deviations == frozenset() and finding.named_under == ()
    assert judge(graph, "layernorm.normalize", answering(graph, found, "Zhat", outside)).deviations == {"eps-outside-sqrt"}
    graph, found = adamw
    eps_hat = combination({"adam.bias_correction": "bias-corrected", "adam.update": "eps-hat", "adamw.decoupled_decay": "decay-scaled-by-lr"})
    finding = judge(graph, "adamw.decoupled_decay", answering(graph, found, "theta", eps_hat, moved=1.5))
    assert not finding.passed and finding.borrowed == () and finding.named_under == ()


def test_with_a_borrowed_deviation_pinned_the_nearest_is_quoted_not_the_first(adamw) -> None:
    # As in the test above with Adam's moments left uncorrected as well: every accepted
    # combination needs a borrowed deviation, and the nearest of them (the uncorrected one,
    # second in order) is quoted, not the first one tried.
    graph, found = adamw
    followed = combination({"adam.bias_correction": "uncorrected", "adam.update": "eps-hat", "adamw.decoupled_decay": "decay-of-updated-weights"})
    finding = judge(graph, "adamw.decoupled_decay", answering(graph, found, "theta", followed), {"adam.update": "eps-hat"})
    assert not finding.passed and finding.deviations == {"decay-of-updated-weights"}
    assert finding.combination == combination({"adam.bias_correction": "uncorrected", "adam.update": "eps-hat", "adamw.decoupled_decay": "decay-scaled-by-lr"})
    assert finding.ratio > 1.0 and finding.nearest == finding.ratio


def test_with_a_borrowed_deviation_pinned_the_first_of_equal_failures_is_quoted(adamw, monkeypatch) -> None:
    graph, found = adamw
    monkeypatch.setattr(judge_module, "compare",
                        lambda observed, predicted, bound, record, name, **kwargs: Comparison(3.0, 1.0, name, name))
    finding = judge(graph, "adamw.decoupled_decay", found, {"adam.update": "eps-hat"})
    assert not finding.passed and finding.ratio == 3.0
    assert finding.combination == combination({"adam.bias_correction": "bias-corrected", "adam.update": "eps-hat", "adamw.decoupled_decay": "decay-scaled-by-lr"})


def _planted(ratios: dict[str, float]):
    """A ``compare`` whose ratio depends on the words of the equation: ``ratios[key]`` for the
    first key found in them, ``ratios[""]`` otherwise."""
    def planted(observed, predicted, bound, record, name, *, equation: str = "the equation") -> Comparison:
        ratio = next((r for key, r in ratios.items() if key and key in equation), ratios[""])
        return Comparison(ratio, 1.0, equation, name)
    return planted


def test_a_failure_within_two_is_still_quoted_against_the_documents_equations(layernorm, monkeypatch) -> None:
    # The document's forms 1.5 tolerances off, Bessel's variance 1.2: both fail, and the
    # failure is quoted against the document's, at 1.5.
    graph, found = layernorm
    monkeypatch.setattr(judge_module, "compare", _planted({"unbiased": 1.2, "": 1.5}))
    finding = judge(graph, "layernorm.normalize", dataclasses.replace(found, observed=frozenset({"Zhat"})))
    assert not finding.passed and finding.combination == PLAIN_LAYERNORM
    assert finding.ratio == 1.5 and finding.nearest == 1.2


def test_a_pass_at_exactly_one_under_a_neighbours_deviation_is_quoted(layernorm, monkeypatch) -> None:
    # Bessel's variance at exactly 1.0 (within), the document's forms 3 off: the pass is quoted.
    graph, found = layernorm
    monkeypatch.setattr(judge_module, "compare", _planted({"unbiased": 1.0, "": 3.0}))
    finding = judge(graph, "layernorm.normalize", dataclasses.replace(found, observed=frozenset({"Zhat"})))
    assert finding.passed and finding.combination == BESSEL_LAYERNORM and finding.ratio == 1.0


def test_a_pass_at_exactly_one_stays_quoted_over_a_later_failure_of_another_form(adam_moments, monkeypatch) -> None:
    # eps-outside-sqrt with uncorrected moments passes at exactly 1.0 (within); eps-inside-sqrt
    # under the document's bias correction, tried after it, fails 3 off. The pass stays quoted,
    # though it is not under the document's equations: a pass is quoted before any failure.
    graph, found = adam_moments
    update = dataclasses.replace(found, observed=frozenset({"m", "v", "theta"}))
    order = list(graph.combinations(graph.chain("theta", update.observed)))
    assert order.index(UNCORRECTED_OUTSIDE) < order.index(CORRECTED_INSIDE)
    monkeypatch.setattr(judge_module, "compare", _planted({"eps-inside-sqrt": 3.0, "uncorrected": 1.0, "": 3.0}))
    finding = judge(graph, "adam.update", update)
    assert finding.passed and finding.combination == UNCORRECTED_OUTSIDE and finding.ratio == 1.0


def test_which_failure_is_quoted_does_not_depend_on_the_order_the_forms_are_tried(layernorm, monkeypatch) -> None:
    # 1.5 tolerances off Bessel's variance, tried first this time: the failure is still quoted
    # against the document's equations, tried after it.
    graph, found = layernorm
    only = dataclasses.replace(found, observed=frozenset({"Zhat"}))
    record = answering(graph, only, "Zhat", BESSEL_LAYERNORM, moved=1.5)
    forward = graph.combinations
    monkeypatch.setattr(graph, "combinations", lambda spec_ids: reversed(list(forward(spec_ids))))
    order = [c for c in graph.combinations(graph.chain("Zhat", only.observed))
             if dict(c)["layernorm.normalize"] == "eps-inside-sqrt"]
    assert order == [BESSEL_LAYERNORM, PLAIN_LAYERNORM]
    finding = judge(graph, "layernorm.normalize", record)
    assert not finding.passed and finding.combination == PLAIN_LAYERNORM
    assert finding.nearest == pytest.approx(1.5, rel=0.01) and finding.ratio > 2.0  # rounded
