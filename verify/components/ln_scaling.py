"""LayerNorm's scale laws and pre-LN stacks (EECS 182 Final Exam, Q12(a), (c), (e), (f)), checked
on a target's LayerNorm with eps = 0, gamma = 1, beta = 0 (the exam's LN = h(f(x))).

- ``ln_scaling.output_scale``, ``ln_scaling.grad_scale``: a forward and backward pass at x and at
  a x with the same upstream gradient; LN(a x) against LN(x) and the gradient at a x against the
  gradient at x over a. Their tolerance is the bound of recomputing LN(x) and its gradient from
  x (the exam's specs f, h and their backward passes).
- ``ln_scaling.prenorm_forward``: the checker builds the stack of Q12(e) from the target's LayerNorm
  (identity attention and feed-forward blocks: each layer is x -> x + LN(x), twice) on a
  normalized input, and compares every layer's output with (2l + 1) x^(0). The value is the
  spec's closed form; the tolerance is the rounding bound of the computation the stack performs
  (2l applications of the exam's f and h, nested), from :mod:`eqconform.verify.rounding`.
- ``ln_scaling.grad_bound``: the upstream gradient of norm sqrt(d) is propagated back through the
  stack with the target's LayerNorm backward pass, and every layer's gradient norm must be at
  most the spec's bound (2L + 1)/(2l + 1) sqrt(d) (eq. (23)), up to the rounding bound of each
  backward step (the exam's eqs. (17), (22)) amplified by at most 2L + 1. Half the cases use an
  upstream gradient orthogonal to 1 and x^(0), where the bound is attained.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
import sympy as sp

from eqconform.specs import layernorm_exam as exam_specs
from eqconform.specs import ln_scaling as specs

from .. import tolerance
from ..compiler import compile_expressions, lower
from ..graph import SpecGraph, SpecUse, drift_input
from ..judge import Comparison, Finding, Record, compare
from ..rounding import bound_program
from ..search import TargetRaised, current_observations
from ..strategies.layernorm import (
    PreNormStack,
    ScaledLayerNormInput,
    prenorm_stacks,
    scaled_layernorm_inputs,
)
from ..targets.protocol import LayerNormAdapter
from .base import CustomSearch, combine_findings, finding_from, quiet_target
from .layernorm import reconditioned
from .oracle import OracleSearch
from .table import Cases, Component, SpecCheck, searched_alone

__all__ = ["LN_SCALING"]

_PIECES = [
    exam_specs.DEMEAN,
    exam_specs.NORMALIZE,
    exam_specs.DEMEAN_GRAD,
    exam_specs.NORMALIZE_GRAD,
]


def _layernorm(adapter: Any, x: np.ndarray, upstream: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = x.shape[1]
    ones, zeros = np.ones((1, features), dtype=x.dtype), np.zeros((1, features), dtype=x.dtype)
    out = adapter.run(x.copy(), ones, zeros, 0.0, upstream.copy())
    return np.asarray(out["Ztilde"]), np.asarray(out["dLdZ"])


def _observe_scaled(adapter: Any, case: ScaledLayerNormInput, graph: Any) -> list[Record]:
    base = case.base
    x, upstream = base.Z, base.G
    scaled = (case.a * x.astype(np.float64)).astype(base.dtype)
    y, gx = _layernorm(adapter, x, upstream)
    ys, gxs = _layernorm(adapter, scaled, upstream)
    values = {"x": x, "gy": upstream, "a": case.a, "y": y, "gx": gx, "ys": ys, "gxs": gxs}
    label = f"LayerNorm (eps = 0) at x and at {case.a:g} x on a {base.rows} x {base.features} input"
    return [Record(label, values, frozenset({"y", "gx", "ys", "gxs"}), base.dtype)]


def _separating_scaled() -> ScaledLayerNormInput:
    from .layernorm import separating_inputs

    base = separating_inputs()[1]
    return ScaledLayerNormInput(
        dataclasses.replace(base, eps=0.0, gamma_recipe=None, beta_recipe=None), 1e-3
    )


# --------------------------------------------------------------------------- the stack


@functools.cache
def _stack_step() -> tuple[Any, Any]:
    """One map x -> x + LN(x) of the stack, LN = h(f(x)) from the exam's specs in array form
    (rows along axis 0, features along axis 1): its value, and the rounding bound of computing
    it from an x that is itself off by at most ``x_drift`` (the bound of the steps before).

    The stack is bounded one step at a time, carrying the bound forward: the same running
    error analysis as one nested expression of all 2L steps, whose size (and SymPy's time to
    build and bound it) grows exponentially with the depth (19 s for four layers)."""
    demean = lower(exam_specs.DEMEAN.canonical.expression("z"), exam_specs.DEMEAN.axes)
    normalize = lower(exam_specs.NORMALIZE.canonical.expression("y"), exam_specs.NORMALIZE.axes)
    x, z = sp.Symbol("x"), sp.Symbol("z")
    step = x + normalize.xreplace({z: demean})
    drift = sp.Symbol(drift_input("x"), nonnegative=True)
    program = bound_program((step,), leaf_errors={x: drift})
    return compile_expressions((step,)), program.compiled()


def _stack_bounds(x0: np.ndarray, operators: int, unit_roundoff: float) -> list[np.ndarray]:
    """The rounding bound of the stack's value after each of ``operators`` steps from ``x0``
    (which enters, like every leaf, rounded once)."""
    value, bound = _stack_step()
    x = np.asarray(x0, dtype=np.float64)
    drift = unit_roundoff * np.abs(x)
    bounds = []
    for _ in range(operators):
        inputs = {"x": x, drift_input("x"): drift, "unit_roundoff": unit_roundoff}
        (drift,) = bound(inputs)
        (x,) = value(inputs)
        bounds.append(drift)
    return bounds


@functools.cache
def _closed_form() -> Any:
    expression = lower(specs.PRENORM_FORWARD.canonical.expression("xl"), specs.PRENORM_FORWARD.axes)
    return compile_expressions((expression,))


@functools.cache
def _bound_of_layer() -> Any:
    return sp.lambdify(
        (specs.nlayers, specs.lyr, specs.d),
        specs.GRAD_BOUND.canonical.expression("gbound"),
        modules="numpy",
    )


_BACKWARD = SpecGraph([SpecUse(spec) for spec in _PIECES])


def _run_stack(adapter: Any, case: PreNormStack) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Inputs of the 2L maps x -> x + LN(x) and the layer outputs x^(1..L). Run once per case
    and target: the forward check and the gradient check draw the same stacks, and the 2L
    calls, one after the other, are most of what either costs."""
    memory = current_observations()
    key = ("pre-LN stack", case)
    kept = memory.note(key) if memory is not None else None
    if kept is not None:
        return kept
    x, inputs, outputs = case.x0, [], []
    try:
        with quiet_target():
            for operator in range(1, 2 * case.layers + 1):
                inputs.append(x)
                y, _ = _layernorm(adapter, x, np.zeros_like(x))
                x = (x + y).astype(case.dtype)
                if operator % 2 == 0:
                    outputs.append(x)
    except Exception as error:
        raise TargetRaised(case, error) from error
    if memory is not None:
        memory.annotate(key, (inputs, outputs))  # a few small arrays per stack
    return inputs, outputs


def _forward(adapter: Any, case: PreNormStack) -> Finding:
    """Every layer's output against the closed form (2l + 1) x^(0)."""
    _, outputs = _run_stack(adapter, case)
    u = tolerance.oracle_unit_roundoff(case.dtype)
    findings = []
    bounds = _stack_bounds(case.x0, 2 * len(outputs), u)
    for layer, observed in enumerate(outputs, start=1):
        predicted = _closed_form()({"x0": case.x0, "lyr": layer})[0]
        bound = bounds[2 * layer - 1]
        record = Record(
            f"layer {layer} of {case.layers}",
            {"x0": case.x0, "lyr": layer, "xl": observed},
            frozenset({"xl"}),
            case.dtype,
        )
        findings.append(finding_from(compare(observed, predicted, bound, record, "x^(l)"), record))
    return combine_findings(findings)


def _gradients(adapter: Any, case: PreNormStack) -> Finding:
    """Every layer's gradient norm against the bound (23), back through the stack."""
    inputs, _ = _run_stack(adapter, case)
    combination = next(_BACKWARD.combinations(_BACKWARD.chain("gx", {"gx"})))
    u = tolerance.oracle_unit_roundoff(case.dtype)
    g = case.upstream
    accumulated = np.zeros(case.rows)
    findings = []
    amplification = 2 * case.layers + 1
    try:
        with quiet_target():
            for operator in range(2 * case.layers, 0, -1):
                x = inputs[operator - 1]
                _, gx = _layernorm(adapter, x, g)
                _, step_bound = _BACKWARD.predictor("gx", combination, frozenset({"gx"}))(
                    {"x": x, "gy": g, "unit_roundoff": u}
                )
                step_error = tolerance.SAFETY * step_bound + u * np.abs(
                    np.asarray(g, dtype=np.float64)
                )
                accumulated += amplification * np.linalg.norm(step_error, axis=1)
                g = (g + gx).astype(case.dtype)
                if operator % 2 == 1:
                    findings.append(_bound_finding(case, (operator - 1) // 2, g, accumulated))
    except TargetRaised:
        raise
    except Exception as error:
        raise TargetRaised(case, error) from error
    return combine_findings(findings)


def _bound_finding(
    case: PreNormStack, layer: int, gradient: np.ndarray, accumulated: np.ndarray
) -> Finding:
    norms = np.linalg.norm(np.asarray(gradient, dtype=np.float64), axis=1)
    bound = float(_bound_of_layer()(case.layers, layer, case.features)) if layer >= 1 else np.inf
    allowed = accumulated + tolerance.floor(case.dtype)
    excess = np.maximum(norms - bound, 0.0)
    ratios = excess / allowed
    worst = int(np.argmax(ratios if np.any(ratios > 0) else norms))
    record = Record(f"layer {layer} of {case.layers}", {}, frozenset({"gbound"}), case.dtype)
    detail = (
        f"||g^({layer})|| of row {worst} = {norms[worst]!r}, the bound (23) is {bound!r} "
        f"(ratio {norms[worst] / bound:.6f}; rounding allowance {allowed[worst]:.3g})"
    )
    comparison = Comparison(float(np.max(ratios)), float(excess[worst]), detail, "gbound", (worst,))
    return finding_from(comparison, record, observable=layer >= 1)


def _stacks() -> list[PreNormStack]:
    return [
        PreNormStack(np.dtype(np.float64), 3, 2, 8, 3, True),
        PreNormStack(np.dtype(np.float32), 4, 3, 16, 5, False),
    ]


_SCALED = OracleSearch(
    graph=SpecGraph([SpecUse(spec) for spec in (*_PIECES, specs.OUTPUT_SCALE, specs.GRAD_SCALE)]),
    cases=lambda: scaled_layernorm_inputs(),
    explicit=lambda: [_separating_scaled()],
    observe=_observe_scaled,
    # The scale laws hold for any rows: a one-pass variance that fails them on rows with a
    # large mean and passes on the same rows shifted to zero mean is numerically unstable.
    recondition=lambda case: [
        (how, ScaledLayerNormInput(better, case.a)) for how, better in reconditioned(case.base)
    ],
)

LN_SCALING = Component(
    "ln_scaling",
    "layernorm",
    {
        **searched_alone(_SCALED, [specs.OUTPUT_SCALE.id, specs.GRAD_SCALE.id]),
        specs.PRENORM_FORWARD.id: SpecCheck(
            CustomSearch(cases=prenorm_stacks, examine=_forward, explicit=_stacks)
        ),
        specs.GRAD_BOUND.id: SpecCheck(
            CustomSearch(cases=prenorm_stacks, examine=_gradients, explicit=_stacks)
        ),
    },
    protocol=LayerNormAdapter,
    cases=Cases(ScaledLayerNormInput, "scaled_layernorm_inputs()"),
)
