"""Algorithm 1 and the two updates of EECS 182 Final Exam Q4, judged step by step.

``weight_decay.algorithm1``: a run of Algorithm 1 with the decay in blank D (``decoupled=True``);
every step is a record with the gradient, the parameter and moments before, and the parameter
and (when exposed) moments after; moments the target hides are carried by the oracle.
``weight_decay.decay_update`` and ``weight_decay.l2_update``: the same run without momentum
(beta1 = 0, outside Algorithm 1's range but the setting of Q4's displays), decoupled and with
the penalty in blank A, with M_t = diag(1/sqrt(v_t)) read from the target's second moment (or
the oracle's when hidden).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from eqconform.specs import weight_decay as specs

from .. import tolerance
from ..graph import SpecGraph, SpecUse, drift_input
from ..judge import Record
from ..strategies.arrays import ArrayRecipe
from ..strategies.optimizers import WeightDecayRun, weight_decay_runs
from .oracle import OracleSearch
from .table import Component, SpecCheck

__all__ = ["WEIGHT_DECAY", "WeightDecayAdapter", "WeightDecaySession"]


# What the checks ask of a target: the protocol of this component's adapter. A key marked "if
# exposed" is left out when the implementation keeps no such value.


class WeightDecaySession(Protocol):
    def step(self, theta: np.ndarray, grad: np.ndarray) -> Mapping[str, np.ndarray]:
        """One step; returns ``theta`` after it and, if exposed, the moments ``m`` and ``v``."""
        ...


class WeightDecayAdapter(Protocol):
    def open(
        self, lr: float, beta1: float, beta2: float, weight_decay: float, decoupled: bool
    ) -> WeightDecaySession:
        """A fresh Adam with L2 (``decoupled`` false) or decoupled weight decay."""
        ...


_ALGORITHM = SpecGraph([SpecUse(specs.ALGORITHM1)], carried=("m_prev", "v_prev"))


def _steps(
    adapter: Any, run: WeightDecayRun, *, beta1: float, decoupled: bool
) -> list[dict[str, Any]]:
    """Drive the target through the run; each step's inputs, outputs and moments (carried by the
    oracle when the target hides them)."""
    session = adapter.open(run.lr, beta1, run.beta2, run.weight_decay, decoupled)
    theta = run.theta
    m_prev = v_prev = np.zeros_like(theta)
    # How far hidden moments of the target may be from the oracle's (SpecGraph.carried).
    drifts = {"m": np.zeros(theta.shape), "v": np.zeros(theta.shape)}
    u = tolerance.oracle_unit_roundoff(run.dtype)
    steps = []
    for grad in run.gradients:
        out = session.step(theta.copy(), grad.copy())
        values = {
            "theta_prev": theta,
            "grad": grad,
            "m_prev": m_prev,
            "v_prev": v_prev,
            "alpha": run.lr,
            "beta1": beta1,
            "beta2": run.beta2,
            "lam_r": run.weight_decay,
            **{drift_input(f"{key}_prev"): drift for key, drift in drifts.items()},
        }
        exposed = {key for key in ("m", "v") if key in out}
        carried_grad = grad if decoupled else grad + run.weight_decay * theta.astype(np.float64)
        for key in ("m", "v"):
            if key in out:
                drifts[key] = np.zeros(theta.shape)
            else:  # carried by the oracle: line 7 or 8 with the gradient this placement feeds
                out[key], drifts[key] = _ALGORITHM.carry(key, {**values, "g": carried_grad}, u)
        steps.append(
            {
                "values": values,
                "theta": np.asarray(out["theta"]),
                "m": np.asarray(out["m"]),
                "v": np.asarray(out["v"]),
                "exposed": exposed,
            }
        )
        theta, m_prev, v_prev = np.asarray(out["theta"]), np.asarray(out["m"]), np.asarray(out["v"])
    return steps


def _observe_algorithm(adapter: Any, run: WeightDecayRun, graph: SpecGraph) -> list[Record]:
    records = []
    for index, step in enumerate(_steps(adapter, run, beta1=run.beta1, decoupled=True), start=1):
        values = {**step["values"], "theta": step["theta"], "m": step["m"], "v": step["v"]}
        observed = frozenset({"theta"} | step["exposed"])
        records.append(Record(f"step {index} of {len(run.gradients)}", values, observed, run.dtype))
    return records


def _observe_displays(adapter: Any, run: WeightDecayRun, graph: SpecGraph) -> list[Record]:
    records = []
    for decoupled, quantity in ((True, "theta_decay"), (False, "theta_l2")):
        for index, step in enumerate(_steps(adapter, run, beta1=0.0, decoupled=decoupled), start=1):
            previous = step["values"]
            values = {
                "theta": previous["theta_prev"],
                "grad": previous["grad"],
                "alpha": run.lr,
                "M": 1.0 / np.sqrt(step["v"].astype(np.float64)),
                "lam_r": run.weight_decay,
                "lam_w": run.weight_decay,
                quantity: step["theta"],
            }
            kind = "weight decay" if decoupled else "L2 penalty"
            records.append(
                Record(
                    f"step {index} with beta1 = 0 and {kind}",
                    values,
                    frozenset({quantity}),
                    run.dtype,
                )
            )
    return records


def _separating_run() -> WeightDecayRun:
    f64 = np.dtype(np.float64)
    return WeightDecayRun(
        f64,
        0.1,
        0.9,
        0.999,
        0.1,
        ArrayRecipe((3, 2), f64, seed=1, scale=2.0),
        5,
        (1.0, 0.01, 100.0),
    )


_ALGORITHM_SEARCH = OracleSearch(
    graph=_ALGORITHM,
    cases=lambda: weight_decay_runs(),
    explicit=lambda: [_separating_run()],
    observe=_observe_algorithm,
)
_DISPLAYS_SEARCH = OracleSearch(
    graph=SpecGraph(
        [
            SpecUse(specs.DECAY_UPDATE, rename={"theta_next": "theta_decay"}),
            SpecUse(specs.L2_UPDATE, rename={"theta_next": "theta_l2"}),
        ]
    ),
    cases=lambda: weight_decay_runs(),
    explicit=lambda: [_separating_run()],
    observe=_observe_displays,
)

WEIGHT_DECAY = Component(
    "weight_decay",
    "weight_decay",
    {
        specs.ALGORITHM1.id: SpecCheck(_ALGORITHM_SEARCH),
        specs.DECAY_UPDATE.id: SpecCheck(_DISPLAYS_SEARCH),
        specs.L2_UPDATE.id: SpecCheck(_DISPLAYS_SEARCH),
    },
    protocol=WeightDecayAdapter,
)
