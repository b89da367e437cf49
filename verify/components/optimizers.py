"""Adam and AdamW: runs of several steps over several layers, judged step by step.

At every step and for every parameter the record holds the gradient, the parameter before and
after, and the moments when the target exposes them. A moment the target exposes is judged
against its own equation from the target's previous moment, so an error is caught at the step
and equation where it first appears; a moment it hides is carried by the oracle.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from eqconform.specs import adam as adam_specs
from eqconform.specs import adamw as adamw_specs

from .. import tolerance
from ..graph import SpecGraph, SpecUse, drift_input
from ..judge import Alternative, Record, ensure_unchanged
from ..remote import asked_in_batches, call_each
from ..search import current_examples, current_observations, current_time_limit
from ..strategies.arrays import ArrayRecipe
from ..strategies.optimizers import (
    AdamHyperparameters,
    OptimizerRun,
    hard_optimizer_runs,
    optimizer_runs,
)
from ..targets.protocol import OptimizerAdapter
from .oracle import OracleSearch
from .table import Cases, Component, searched_alone

__all__ = ["ADAM", "ADAMW"]

_MOMENTS = ("m", "v")


def _parameter_names(run: OptimizerRun) -> list[str]:
    names = []
    for index in range(len(run.layer_shapes)):
        names += [f"layers[{index}].W", f"layers[{index}].b"]
    return names


class _RunLayout:
    """Where each entry of a flattened run comes from: step, parameter and index in it."""

    def __init__(self, run: OptimizerRun):
        self.names = _parameter_names(run)
        self.shapes = run.parameter_shapes
        self.sizes = [int(np.prod(shape)) for shape in self.shapes]
        self.per_step = sum(self.sizes)
        self.offsets = np.cumsum([0, *self.sizes])

    def locate(self, index: tuple[int, ...]) -> str:
        (flat,) = index
        step, within = divmod(flat, self.per_step)
        parameter = int(np.searchsorted(self.offsets, within, side="right") - 1)
        entry = np.unravel_index(within - self.offsets[parameter], self.shapes[parameter])
        return f" at step {step + 1}, {self.names[parameter]}[{', '.join(map(str, entry))}]"


#: Runs longer than this are timed: their steps may be capped to fit the time budget.
_TIMED_STEPS = 100
#: The share of a check's time limit one long run may take: at most 1/64, and less in a
#: search of more examples, so that all of them (two in three are long under the hard
#: profile) take at most half the limit and the rest is left for shrinking and diagnosis.
_RUN_SHARE = 1 / 64


def _run_share() -> float:
    examples = current_examples()
    return min(_RUN_SHARE, 1 / (2 * examples)) if examples else _RUN_SHARE


class _StepBudget:
    """How many steps of a long run fit the target's time budget.

    The first long run of a target is timed over its first :data:`_TIMED_STEPS` steps; from
    that the cap is set once for the target (a power of two above ``_TIMED_STEPS``, or
    ``_TIMED_STEPS`` itself when not even that many fit) and
    kept in its memory, so every later run of the same check and target stops at the same
    step: the verdict does not depend on how busy the machine is from run to run. A run of
    more parameters per step than the timed one gets proportionally fewer steps (a step costs
    at least as much per parameter as the timed one's when it has more of them), so a cap
    measured on small layers does not let a run of large ones take many times its budget.
    """

    def __init__(self, steps: int, size: int = 1):
        self.steps = steps
        self.size = max(1, size)
        limit = current_time_limit()
        self.memory = current_observations()
        self.cap: int | None = None
        self.timing = steps > _TIMED_STEPS and limit is not None
        self.budget = (limit or 0.0) * _run_share()
        if self.timing and self.memory is not None:
            measured = self.memory.note(("optimizer step cap",))
            if measured is not None:
                cap, timed_size = measured
                self.cap = self._scaled(cap, timed_size)
            self.timing = self.cap is None
        self.started = time.perf_counter()

    def _scaled(self, cap: int, timed_size: int) -> int:
        """The cap measured on a run of ``timed_size`` parameters per step, for this run."""
        if self.size <= timed_size:
            return cap
        fits = cap * timed_size / self.size
        return max(_TIMED_STEPS, 2 ** int(math.log2(max(fits, 1.0))))

    def allows(self, step: int) -> bool:
        """Whether step ``step`` (from 0) is run."""
        if self.timing and step == _TIMED_STEPS:
            per_step = (time.perf_counter() - self.started) / _TIMED_STEPS
            fits = self.budget / per_step if per_step > 0 else math.inf
            self.cap = (
                _TIMED_STEPS if fits < _TIMED_STEPS else 2 ** int(math.log2(min(fits, 2**40)))
            )
            self.timing = False
            if self.memory is not None:
                self.memory.annotate(("optimizer step cap",), (self.cap, self.size))
        return self.cap is None or step < self.cap

    def decided_after(self, step: int) -> int:
        """The first step after ``step`` at which :meth:`allows` may say no."""
        if self.timing and step < _TIMED_STEPS:
            return _TIMED_STEPS
        return self.cap if self.cap is not None else self.steps

    def label(self, done: int) -> str:
        if done == self.steps:
            return f"{done}-step run"
        return (
            f"{done}-step run, the first of {self.steps} steps: longer runs of this target "
            f"do not fit its time budget ({self.budget:.3g} s per run)"
        )


#: At most this many steps are asked of a target in one request (a sandboxed target answers
#: each request over the wire: one round trip per step was most of a run's time).
_STEPS_PER_REQUEST = 256


def _stepped(
    session: Any, run: OptimizerRun, budget: _StepBudget
) -> Iterator[tuple[int, list[np.ndarray], list[np.ndarray], Any]]:
    """Each step the budget allows as ``(step, gradients, the copies given, the answer)``.
    The gradients are drawn in advance, so a sandboxed target is asked its steps in batches
    (:func:`~eqconform.verify.remote.call_each`); a batch ends where the budget is next decided,
    and the answers are judged in order, so a step that wrote into its gradients is still
    caught at that step."""
    step = 0
    batch = _STEPS_PER_REQUEST if asked_in_batches(session) else 1
    while step < run.steps and budget.allows(step):
        end = min(run.steps, step + batch, budget.decided_after(step))
        gradients = [run.gradients[s] for s in range(step, end)]
        given = [[g.copy() for g in grads] for grads in gradients]
        answers = call_each(session, "step", [((copies,), {}) for copies in given])
        yield from zip(range(step, end), gradients, given, answers, strict=True)
        step = end


def _flat(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(a).ravel() for a in arrays])


def _observe(
    adapter: Any, run: OptimizerRun, graph: SpecGraph, *, expose_moments: bool
) -> list[Record]:
    """One record for the whole run: every equation is elementwise, so all steps and all
    parameters are judged at once, each entry from its own step's inputs."""
    hyper = run.hyperparameters
    layout = _RunLayout(run)
    initial = [array.copy() for array in run.initial_parameters]
    session = adapter.open(
        [(initial[i].copy(), initial[i + 1].copy()) for i in range(0, len(initial), 2)], hyper
    )
    constants = {
        "alpha": hyper.lr,
        "beta1": hyper.beta1,
        "beta2": hyper.beta2,
        "eps": hyper.eps,
        "lam": hyper.weight_decay,
    }
    before = _flat(initial)
    moments = {"m": np.zeros(layout.per_step), "v": np.zeros(layout.per_step)}
    # How far the target's own moments may be from the ones the oracle carries for it: zero
    # while the target shows them, growing by each step's rounding while it hides them.
    drifts = {"m": np.zeros(layout.per_step), "v": np.zeros(layout.per_step)}
    u = tolerance.oracle_unit_roundoff(run.dtype)
    columns: dict[str, list[np.ndarray]] = {
        name: []
        for name in ("g", "theta_prev", "theta", "t", "m_prev", "v_prev", "m", "v")
        + tuple(drift_input(f"{moment}_prev") for moment in _MOMENTS)
    }
    # Step counts as code that advances t once per layer (or per parameter) would have them:
    # offered to explanations, never judged by.
    counts: dict[str, list[np.ndarray]] = {name: [] for name, _, _ in _MISCOUNTS}
    exposed = {"m": expose_moments, "v": expose_moments}  # judged as adam.* outputs
    budget = _StepBudget(run.steps, layout.per_step)
    done = 0
    for step, gradients, given, observations in _stepped(session, run, budget):
        done += 1
        ensure_unchanged(
            {f"gradient of {name}": g for name, g in zip(layout.names, given, strict=True)},
            {f"gradient of {name}": g for name, g in zip(layout.names, gradients, strict=True)},
            f"step {step + 1}",
        )
        values: dict[str, Any] = {
            **constants,
            "g": _flat(gradients),
            "theta_prev": before,
            "t": np.full(layout.per_step, step + 1.0),
            "m_prev": moments["m"],
            "v_prev": moments["v"],
            "theta": _flat([o["theta"] for o in observations]),
            **{drift_input(f"{moment}_prev"): drifts[moment] for moment in _MOMENTS},
        }
        carried = {}
        for moment in _MOMENTS:
            available = all(moment in o for o in observations)
            exposed[moment] = exposed[moment] and available
            shown = _flat([o[moment] for o in observations]) if available else None
            if exposed[moment]:
                values[moment], drift = shown, np.zeros(layout.per_step)
            else:
                values[moment], drift = graph.carry(moment, values, u)
            # The next step starts from the target's own moments whenever it shows them, judged
            # or not: a target following another variant (L2-coupled decay) is then predicted
            # from its own history, not from the canonical one.
            carried[moment] = shown if shown is not None else values[moment]
            drifts[moment] = drift if shown is None else np.zeros(layout.per_step)
        for name, column in columns.items():
            column.append(np.asarray(values[name]))
        for name, per, _ in _MISCOUNTS:
            counts[name].append(_miscounted(layout, step, per))
        moments = carried
        before = values["theta"]
    record_values = {
        **constants,
        **{name: np.concatenate(parts) for name, parts in columns.items()},
    }
    observed = {"theta"} | {moment for moment in _MOMENTS if exposed[moment]}
    alternatives = tuple(
        Alternative(name, words, np.concatenate(counts[name])) for name, _, words in _MISCOUNTS
    )
    # A layer's W and b are updated on lines of their own: a slip may be in one of them.
    kind = np.concatenate(
        [
            np.full(size, name.rsplit(".", 1)[-1])
            for name, size in zip(layout.names, layout.sizes, strict=True)
        ]
    )
    parts = {
        f"on the {words} only": np.tile(kind == letter, done)
        for letter, words in (("W", "weights W"), ("b", "biases b"))
    }
    return [
        Record(
            budget.label(done),
            record_values,
            frozenset(observed),
            run.dtype,
            layout.locate,
            alternatives={"t": alternatives},
            parts=parts,
        )
    ]


#: Step counters kept per layer or per parameter: ``(name, how many parameters share one,
#: words)``.
_MISCOUNTS = (
    (
        "t_layer",
        2,
        "t advanced once per layer (layer l of L, from 0, at step k takes t = L(k - 1) + l + 1)",
    ),
    (
        "t_parameter",
        1,
        "t advanced once per parameter (parameter i of P, from 0, at step k takes "
        "t = P(k - 1) + i + 1)",
    ),
)


def _miscounted(layout: _RunLayout, step: int, per: int) -> np.ndarray:
    """Each entry's step count at ``step`` (from 0) were t advanced once for every ``per``
    parameters (a layer's W and b) in turn."""
    counters = -(-len(layout.sizes) // per)
    return np.concatenate(
        [
            np.full(size, float(counters * step + index // per + 1))
            for index, size in enumerate(layout.sizes)
        ]
    )


def _separating_run(*, weight_decay: float) -> OptimizerRun:
    """Small gradients against a large eps at t = 1 separate eps inside/outside the root and
    corrected/uncorrected moments; two layers expose per-layer step counters; lr * lambda of
    0.05 separates decay of the previous from decay of the updated weights."""
    dtype = np.dtype(np.float64)
    layers = ((3, 2), (2, 3))
    shapes = [(3, 2), (3, 1), (2, 3), (2, 1)]
    parameters = tuple(ArrayRecipe(s, dtype, seed=10 + i) for i, s in enumerate(shapes))
    hyper = AdamHyperparameters(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-3, weight_decay=weight_decay)
    return OptimizerRun(
        dtype, hyper, layers, parameters, gradient_seed=100, gradient_scales=(1e-3, 1e-3, 1e-3)
    )


def _component(
    name: str, uses: Sequence[SpecUse], *, weight_decay: bool, expose_moments: bool
) -> Component:
    search = OracleSearch(
        graph=SpecGraph(
            uses,
            carried=("m_prev", "v_prev"),
            coefficients=("alpha", "beta1", "beta2", "eps", "lam"),
        ),
        cases=lambda: optimizer_runs(weight_decay=weight_decay),
        explicit=lambda: [_separating_run(weight_decay=0.5 if weight_decay else 0.0)],
        observe=lambda adapter, run, graph: _observe(
            adapter, run, graph, expose_moments=expose_moments
        ),
        recondition=lambda run: (
            [("the same run in float64", run.in_float64())] if run.dtype != np.float64 else []
        ),
        conditioned=OptimizerRun.in_float64,
        hard_cases=lambda: hard_optimizer_runs(weight_decay=weight_decay),
    )
    return Component(
        name,
        name,
        searched_alone(search, [use.spec.id for use in uses if use.spec.component == name]),
        protocol=OptimizerAdapter,
        cases=Cases(OptimizerRun, f"optimizer_runs({'weight_decay=True' if weight_decay else ''})"),
    )


_ADAM_USES = [SpecUse(spec) for spec in adam_specs.SPECS]

ADAM = _component("adam", _ADAM_USES, weight_decay=False, expose_moments=True)

# AdamW is Adam plus decoupled decay: its whole step is checked through theta, with the Adam
# equations borrowed into the chain, so an AdamW whose Adam step deviates (no bias correction,
# eps-hat) fails adamw.decoupled_decay under both names ("uncorrected with decay-scaled-by-lr").
# The moments see the effective gradient g_eff, which the decay spec defines (the gradient
# itself, or with lambda theta added for L2-coupled decay). Moments the target shows are judged
# too, under adamw.decoupled_decay: the next step starts from them, so a corrupted moment (mhat
# stored back into m) would otherwise be predicted from its own history and never seen.
ADAMW = _component(
    "adamw",
    [
        SpecUse(adam_specs.FIRST_MOMENT, rename={"g": "g_eff"}, borrowed=True),
        SpecUse(adam_specs.SECOND_MOMENT, rename={"g": "g_eff"}, borrowed=True),
        SpecUse(adam_specs.BIAS_CORRECTION, borrowed=True),
        SpecUse(adam_specs.UPDATE, rename={"theta": "theta_adam"}, borrowed=True),
        SpecUse(adamw_specs.DECOUPLED_DECAY),
    ],
    weight_decay=True,
    expose_moments=True,
)
