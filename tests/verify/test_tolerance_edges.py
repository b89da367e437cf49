"""The tolerance, pinned from both sides.

A correct implementation's answer, moved at one entry to just inside the allowed error, must
pass; moved to just beyond it (twice the allowed error), it must fail. The allowed error is
computed here for the exact input and on its own terms, as verify/tolerance.py documents it:

    allowed = SAFETY * bound(u_d + u_64) + FLOOR_ULPS * smallest_normal(dtype),  SAFETY = 4, FLOOR_ULPS = 64

with ``bound`` the spec's rounding-error bound (``SpecGraph.predictor``) evaluated at the unit
roundoff of the dtype plus that of the float64 oracle. Nothing of verify/tolerance.py or of the
judge's arithmetic is reused, so a tolerance ten times looser (the answer at twice the allowed
error passes) or ten times tighter (the answer at 0.7 of it fails) breaks these tests.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from eqconform.impl import ADAPTER as BUNDLED
from eqconform.specs import adam as adam_specs
from eqconform.verify.checks import SpecVerdict, check_case
from eqconform.verify.components import COMPONENTS
from eqconform.verify.graph import SpecGraph, SpecUse
from eqconform.verify.judge import Record, judge
from eqconform.verify.strategies import (
    AdamHyperparameters,
    ArrayRecipe,
    LayerNormInput,
    OptimizerRun,
)
from eqconform.verify.targets.user import ObjectTarget

#: The documented tolerance, restated (not imported) so that a change to it is noticed.
SAFETY = 4.0
FLOOR_ULPS = 64.0
#: Where "just inside" and "just beyond" are, in units of the allowed error.
INSIDE, BEYOND = 0.7, 2.0


def unit_roundoff(dtype: np.dtype) -> float:
    """The implementation's unit roundoff plus the float64 oracle's."""
    return float(np.finfo(dtype).eps) / 2 + 2.0**-53


def floor(dtype: np.dtype) -> float:
    return FLOOR_ULPS * float(np.finfo(dtype).smallest_normal)


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One combination of variants: whether the spec's own variant is accepted, the predicted
    value and the allowed error, entry by entry."""

    variant: str
    accepted: bool
    value: np.ndarray
    allowed: np.ndarray


def predictions(component: str, spec_id: str, quantity: str, record: Record) -> list[Prediction]:
    graph = COMPONENTS[component].exact.graph
    spec = graph.spec(spec_id)
    accepted = {variant.id for variant in spec.variants if variant.accepted}
    values = {**record.values, "unit_roundoff": unit_roundoff(record.dtype)}
    shape = np.shape(record.values[quantity])
    found = []
    for combination in graph.combinations(graph.chain(quantity, record.observed)):
        variant = dict(combination)[spec_id]
        value, bound = graph.predictor(quantity, combination, record.observed)(values)
        allowed = SAFETY * np.asarray(bound, dtype=np.float64) + floor(record.dtype)
        found.append(Prediction(variant, spec.form_of(variant) in accepted,
                                np.broadcast_to(np.asarray(value, dtype=np.float64), shape),
                                np.broadcast_to(allowed, shape)))
    return found


def ratio(observed: np.ndarray, prediction: Prediction) -> float:
    """The worst entry's error in units of the allowed error."""
    return float(np.max(np.abs(np.asarray(observed, dtype=np.float64) - prediction.value) / prediction.allowed))


def moved(observed: np.ndarray, quantity: str, component: str, spec_id: str, record: Record,
          multiple: float) -> tuple[np.ndarray, float]:
    """``observed`` with one entry put at ``multiple`` allowed errors from the prediction of the
    accepted form the implementation follows, away from every other accepted form; returns the
    new array and that entry's distance in allowed errors (after rounding into the dtype)."""
    forms = [p for p in predictions(component, spec_id, quantity, record) if p.accepted]
    followed = min(forms, key=lambda p: ratio(observed, p))
    assert ratio(observed, followed) < 0.5, "the bundled implementation is not well inside its tolerance here"
    # An entry where the rounding bound, not the floor, makes the tolerance.
    share = (followed.allowed - floor(record.dtype)) / followed.allowed
    index = np.unravel_index(int(np.argmax(share)), share.shape)
    assert share[index] > 0.9
    others = [p.value[index] for p in forms if p is not followed]
    direction = -1.0 if any(other > followed.value[index] for other in others) else 1.0
    result = np.array(observed, copy=True)
    result[index] = followed.value[index] + direction * multiple * followed.allowed[index]
    distance = abs(float(result[index]) - followed.value[index]) / followed.allowed[index]
    # However the entry rounded, no other accepted form is within its tolerance of it.
    if multiple > 1:
        for form in forms:
            assert abs(float(result[index]) - form.value[index]) > 1.2 * form.allowed[index], form.variant
    return result, distance


def verdict(implementation: Any, case: Any, spec_id: str) -> SpecVerdict:
    (found,) = check_case(implementation, case, specs=[spec_id])
    assert found.observable
    return found


# --------------------------------------------------------------------------- LayerNorm


def layernorm_case(dtype: np.dtype) -> LayerNormInput:
    """Rows with offsets (so the bound is not trivial) and an eps every dtype holds."""
    dtype = np.dtype(dtype)
    return LayerNormInput(
        dtype, 1e-3,
        ArrayRecipe((4, 6), dtype, seed=7, scale=0.5, offset=3.0, row_offsets=True),
        ArrayRecipe((1, 6), dtype, seed=8), ArrayRecipe((1, 6), dtype, seed=9), ArrayRecipe((4, 6), dtype, seed=10),
    )


class ReplacedLayerNorm:
    """The bundled LayerNorm, with one returned quantity replaced by a given array."""

    def __init__(self, quantity: str, value: np.ndarray) -> None:
        self.quantity, self.value = quantity, value

    def layernorm(self, Z, gamma, beta, eps, G):
        returned = dict(BUNDLED.layernorm(Z, gamma, beta, eps, G))
        returned[self.quantity] = self.value.copy()
        return returned


def bundled_layernorm_record(case: LayerNormInput) -> Record:
    component = COMPONENTS["layernorm"].exact
    (record,) = component.observe(ObjectTarget(BUNDLED).component("layernorm"), case, component.graph)
    return record


LAYERNORM_EDGES = [(spec_id, quantity, dtype) for spec_id, quantity in
                   [("layernorm.normalize", "Zhat"), ("layernorm.affine", "Ztilde")]
                   for dtype in ("float64", "float32", "float16")]  # float16: the hard profile draws it


@pytest.mark.parametrize(("spec_id", "quantity", "dtype"), LAYERNORM_EDGES)
def test_layernorm_answer_at_the_edge_of_its_bound(spec_id: str, quantity: str, dtype: str) -> None:
    case = layernorm_case(np.dtype(dtype))
    record = bundled_layernorm_record(case)
    correct = record.values[quantity]
    assert verdict(ReplacedLayerNorm(quantity, correct), case, spec_id).passed  # the control

    inside, distance = moved(correct, quantity, "layernorm", spec_id, record, INSIDE)
    assert 0.5 < distance < 0.95, distance
    passed = verdict(ReplacedLayerNorm(quantity, inside), case, spec_id)
    assert passed.passed, f"{distance:.2f} of the allowed error was rejected: {passed.detail}"

    beyond, distance = moved(correct, quantity, "layernorm", spec_id, record, BEYOND)
    assert 1.5 < distance < 2.5, distance
    failed = verdict(ReplacedLayerNorm(quantity, beyond), case, spec_id)
    assert not failed.passed, f"{distance:.2f} times the allowed error was accepted"
    assert 1.5 < failed.error < 2.5, failed.error  # reported in units of the same tolerance


# --------------------------------------------------------------------------- Adam


def adam_run(dtype: np.dtype, gradient_scale: float = 1e-2) -> OptimizerRun:
    """One step: eps (1e-3) against sqrt(vhat) (about 1e-2) and 1 - beta1 = 0.1 keep every
    accepted form (eps inside or outside the root) and the uncorrected moments far apart."""
    dtype = np.dtype(dtype)
    hyper = AdamHyperparameters(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-3)
    parameters = (ArrayRecipe((3, 2), dtype, seed=1), ArrayRecipe((3, 1), dtype, seed=2))
    return OptimizerRun(dtype, hyper, ((3, 2),), parameters, gradient_seed=3, gradient_scales=(gradient_scale,))


class ReplacedAdam:
    """The bundled Adam, with what one step returns replaced by given flat arrays
    (``W`` then ``b``, as the record flattens them)."""

    def __init__(self, replaced: dict[str, np.ndarray]) -> None:
        self.replaced = replaced

    def adam(self, layers, hyperparameters):
        session = BUNDLED.adam(layers, hyperparameters)
        replaced = self.replaced

        class Session:
            def step(self, gradients):
                returned = [dict(item) for item in session.step(gradients)]
                offset = 0
                for item in returned:
                    size = np.size(item["theta"])
                    for name, flat in replaced.items():
                        item[name] = flat[offset:offset + size].reshape(np.shape(item[name])).astype(item[name].dtype)
                    offset += size
                return returned

        return Session()


def bundled_adam_record(run: OptimizerRun) -> Record:
    component = COMPONENTS["adam"].exact
    (record,) = component.observe(ObjectTarget(BUNDLED).component("adam"), run, component.graph)
    return record


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_adam_update_at_the_edge_of_its_bound(dtype: str) -> None:
    run = adam_run(np.dtype(dtype))
    record = bundled_adam_record(run)
    correct = np.asarray(record.values["theta"])
    dtype_ = np.dtype(dtype)
    assert verdict(ReplacedAdam({"theta": correct.astype(dtype_)}), run, "adam.update").passed  # the control

    inside, distance = moved(correct, "theta", "adam", "adam.update", record, INSIDE)
    assert 0.5 < distance < 0.95, distance
    passed = verdict(ReplacedAdam({"theta": inside.astype(dtype_)}), run, "adam.update")
    assert passed.passed, f"{distance:.2f} of the allowed error was rejected: {passed.detail}"

    beyond, distance = moved(correct, "theta", "adam", "adam.update", record, BEYOND)
    assert 1.5 < distance < 2.5, distance
    failed = verdict(ReplacedAdam({"theta": beyond.astype(dtype_)}), run, "adam.update")
    assert not failed.passed, f"{distance:.2f} times the allowed error was accepted"
    assert 1.5 < failed.error < 2.5, failed.error


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_an_exact_zero_is_allowed_the_floor_and_no_more(dtype: str) -> None:
    """Zero gradients from zero moments: m is exactly 0 with a rounding bound of 0, so the floor
    (64 smallest normal numbers, where relative bounds stop holding) is all that is allowed."""
    dtype_ = np.dtype(dtype)
    run = adam_run(dtype_, gradient_scale=0.0)
    record = bundled_adam_record(run)
    forms = [p for p in predictions("adam", "adam.first_moment", "m", record) if p.accepted]
    assert all(np.all(p.value == 0) and np.all(p.allowed == floor(dtype_)) for p in forms)

    def judged(multiple: float) -> SpecVerdict:
        m = np.zeros(np.shape(record.values["m"]), dtype=dtype_)
        m[2] = dtype_.type(multiple * floor(dtype_))
        assert abs(float(m[2]) / floor(dtype_) - multiple) < 1e-3
        return verdict(ReplacedAdam({"m": m}), run, "adam.first_moment")

    assert judged(INSIDE).passed
    failed = judged(BEYOND)
    assert not failed.passed and abs(failed.error - BEYOND) < 1e-3, failed.error


# --------------------------------------------------------------------------- torch's lerp


class LerpAdam:
    """Adam in float32 whose first moment is written as torch writes it, a linear
    interpolation ``m + (1 - beta1) (g - m)``, and otherwise as the homework does."""

    def adam(self, layers, hyperparameters):
        return _LerpSession([array.copy() for pair in layers for array in pair], hyperparameters)


class _LerpSession:
    def __init__(self, parameters: list[np.ndarray], h: AdamHyperparameters) -> None:
        self.parameters, self.h, self.t = parameters, h, 0
        self.m = [np.zeros_like(p) for p in parameters]
        self.v = [np.zeros_like(p) for p in parameters]

    def step(self, gradients):
        self.t += 1
        h, returned = self.h, []
        for i, g in enumerate(gradients):
            one, beta1, beta2 = (g.dtype.type(x) for x in (1.0, h.beta1, h.beta2))
            self.m[i] = self.m[i] + (one - beta1) * (g - self.m[i])
            self.v[i] = beta2 * self.v[i] + (one - beta2) * g * g
            mhat = self.m[i] / g.dtype.type(1 - h.beta1**self.t)
            vhat = self.v[i] / g.dtype.type(1 - h.beta2**self.t)
            self.parameters[i] = self.parameters[i] - g.dtype.type(h.lr) * mhat / (np.sqrt(vhat) + g.dtype.type(h.eps))
            returned.append({"theta": self.parameters[i].copy(), "m": self.m[i].copy(), "v": self.v[i].copy()})
        return returned


def lerp_run() -> OptimizerRun:
    """beta1 = 0.02, a large first gradient then a small one: m_(t-1) is large against the new
    m_t, whose canonical bound is a few ulps of 0.02 m_(t-1) + 0.98 g; the interpolation's error
    is a few ulps of m_(t-1) itself."""
    f32 = np.dtype(np.float32)
    hyper = AdamHyperparameters(lr=1e-3, beta1=0.02, beta2=0.999, eps=1e-8)
    parameters = (ArrayRecipe((4, 4), f32, seed=1), ArrayRecipe((4, 1), f32, seed=2))
    return OptimizerRun(f32, hyper, ((4, 4),), parameters, gradient_seed=0, gradient_scales=(100.0, 1.0))


def test_torch_lerp_first_moment_is_accepted_thanks_to_its_arrangement() -> None:
    run = lerp_run()
    component = COMPONENTS["adam"].exact
    (record,) = component.observe(ObjectTarget(LerpAdam()).component("adam"), run, component.graph)
    m = record.values["m"]
    by_variant = {p.variant: ratio(m, p) for p in predictions("adam", "adam.first_moment", "m", record)}
    # Outside the plain form's tolerance (but within ten of them: a ten times looser tolerance
    # would accept it without the arrangement); inside the arrangement's own.
    assert 1.0 < by_variant["canonical"] < 10.0, by_variant
    assert by_variant["interpolation-arrangement"] < 1.0, by_variant
    # Several entries, so that this does not hang on one rounding.
    canonical = next(p for p in predictions("adam", "adam.first_moment", "m", record) if p.variant == "canonical")
    assert int(np.sum(np.abs(m.astype(np.float64) - canonical.value) > canonical.allowed)) >= 2

    found = verdict(LerpAdam(), run, "adam.first_moment")
    assert found.passed, found.detail
    # The judge measured it against the same tolerance: its error, in tolerance units, is the
    # closest accepted form's (a tolerance ten times looser or tighter would scale it).
    assert found.error == pytest.approx(min(by_variant.values()), rel=1e-6)

    # Without the arrangement, the same record fails the first moment.
    plain = dataclasses.replace(adam_specs.FIRST_MOMENT, variants=(adam_specs.FIRST_MOMENT.canonical,))
    graph = SpecGraph([SpecUse(plain), SpecUse(adam_specs.SECOND_MOMENT), SpecUse(adam_specs.BIAS_CORRECTION),
                       SpecUse(adam_specs.UPDATE)])
    without = judge(graph, "adam.first_moment", record)
    assert not without.passed
    assert without.ratio == pytest.approx(by_variant["canonical"], rel=1e-6)



def test_bfloat16_has_float32s_range_and_an_eight_bit_significand() -> None:
    from eqconform.verify import tolerance

    assert tolerance.unit_roundoff(tolerance.BFLOAT16) == 2.0**-8
    assert tolerance.floor(tolerance.BFLOAT16) == tolerance.floor(np.float32)
    assert tolerance.epsilon(np.float16) < tolerance.epsilon(tolerance.BFLOAT16)
    assert str(tolerance.BFLOAT16) == "bfloat16"


def test_a_float_format_is_a_value_like_a_dtype() -> None:
    # It stands where a dtype does (a record's precision, a key of per-precision tables), so
    # like a dtype it is immutable and hashable, and equal formats are one key.
    from eqconform.verify import tolerance

    same = tolerance.FloatFormat("bfloat16", 2.0**-7, 2.0**-126)
    assert {tolerance.BFLOAT16: "b"}[same] == "b"
    assert len({np.dtype(np.float32), tolerance.BFLOAT16, same}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        tolerance.BFLOAT16.eps = 2.0**-10  # type: ignore[misc]
