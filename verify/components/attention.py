"""Attention (EECS 182 Homework 7, Q3-Q5): softmax, argmax, kernel and linearized attention.

Arrays are laid out on four axes (query position, key position, feature, value feature), as
:mod:`eqconform.specs.attention` says, so the scores ``S[i, j] = sum_t Q[i, t] K[j, t] / sqrt(D)``
compile to one broadcast product and one reduction.

- ``attention``: scores, softmax weights and output of a fresh layer, each judged against its
  own equation (``exp`` has its rounding rule in :mod:`eqconform.verify.rounding`); and
  ``attention.dot_statistics`` statistically: on 20 000 independent query/key pairs drawn from
  N(mu, sigma^2 I), the scores' mean and variance against E[q.k]/s and Var[q.k]/s^2 computed
  from the specs (s = sqrt(D) from ``attention.scale``).
- ``argmax_attention``: the one-hot weights against ``attention.argmax`` instantiated for the
  number of keys (a product over keys has no array form); where two scores are within their
  rounding bound of each other the winner is left open. The output is judged from the weights.
- ``kernel_attention``: eq. (9) with the quadratic kernel, the feature map's inner products
  (computed by the checker from the exposed feature vectors) against (q.k + 1)^2, and eq. (11)
  from the exposed feature vectors. The feature map's inner products are an arrangement of
  (q.k + 1)^2 without its cancellation, so their tolerance is the spec's bound at |Q|, |K|.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import sympy as sp

from eqconform.specs import attention as specs
from eqconform.specs.model import Spec, Variant

from .. import tolerance
from ..graph import Combination, Memo, Predictor, SpecGraph, SpecUse, unrolled_predictor
from ..judge import Finding, Record, compare, judge
from ..remote import call_each
from ..results import Outcome, StatisticalTest
from ..search import SearchSettings, TargetRaised
from ..statistics import mean_test, variance_test
from ..strategies.arrays import ArrayRecipe
from ..strategies.attention import AttentionInput, attention_inputs
from .base import (
    CheckOutcome,
    CustomSearch,
    Statistics,
    combine_findings,
    finding_from,
    quiet_target,
)
from .oracle import OracleSearch
from .table import Cases, Component, SpecCheck, searched_alone

__all__ = [
    "ARGMAX_ATTENTION",
    "ATTENTION",
    "ArgmaxAttentionAdapter",
    "AttentionAdapter",
    "KERNEL_ATTENTION",
    "KernelAttentionAdapter",
]


# What the checks ask of a target: the protocol of this component's adapter. A key marked "if
# exposed" is left out when the implementation keeps no such value.


class AttentionAdapter(Protocol):
    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> Mapping[str, np.ndarray]:
        """Softmax attention of ``Q``, ``K``, ``V`` on a fresh layer.

        Returns ``O`` (the output) and, if exposed, ``S`` (the scores) and ``A`` (the weights).
        """
        ...


class ArgmaxAttentionAdapter(Protocol):
    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> Mapping[str, np.ndarray]:
        """Argmax (hard) attention on a fresh layer.

        Returns ``Omax`` and, if exposed, ``Sdot`` (the scores) and ``Amax`` (the weights).
        """
        ...


class KernelAttentionAdapter(Protocol):
    def run(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> Mapping[str, np.ndarray]:
        """Kernel attention and its linearized form on fresh layers.

        Returns ``Okern`` and ``Olin`` and, if exposed, ``sim`` (the kernel similarities),
        ``phiQ`` and ``phiK`` (the feature maps of the queries and keys).
        """
        ...


_LAYOUT = {
    "Q": lambda a: a[:, None, :, None],
    "K": lambda a: a[None, :, :, None],
    "V": lambda a: a[None, :, None, :],
    "S": lambda a: a[:, :, None, None],
    "A": lambda a: a[:, :, None, None],
    "O": lambda a: a[:, None, None, :],
    "Sdot": lambda a: a[:, :, None, None],
    "Amax": lambda a: a[:, :, None, None],
    "Omax": lambda a: a[:, None, None, :],
    "sim": lambda a: a[:, :, None, None],
    "kphi": lambda a: a[:, :, None, None],
    "Okern": lambda a: a[:, None, None, :],
    "Olin": lambda a: a[:, None, None, :],
    "phiQ": lambda a: a[:, None, :, None],
    "phiK": lambda a: a[None, :, :, None],
}


def _laid_out(case: AttentionInput, observed: dict[str, Any]) -> dict[str, Any]:
    values = {name: _LAYOUT[name](getattr(case, name)) for name in ("Q", "K", "V")}
    for name, value in observed.items():
        array = np.asarray(value)
        values[name] = _LAYOUT[name](array) if array.ndim == 2 else array
    return values


def _label(case: AttentionInput, what: str) -> str:
    queries, keys, width = case.Q.shape[0], case.K.shape[0], case.Q.shape[1]
    return f"{what} on N_q = {queries} queries, N = {keys} keys, D = {width}"


# --------------------------------------------------------------------------- softmax attention


def _observe_softmax(adapter: Any, case: AttentionInput, graph: Any) -> list[Record]:
    out = adapter.run(case.Q.copy(), case.K.copy(), case.V.copy())
    observed = {name: out[name] for name in ("S", "A", "O") if name in out}
    return [
        Record(
            _label(case, "softmax attention"),
            _laid_out(case, observed),
            frozenset(observed),
            case.dtype,
        )
    ]


def _separating_inputs() -> list[AttentionInput]:
    """D = 16 (a missing or wrong scale shows at once) with N_q != N (transposed scores)."""
    f64 = np.dtype(np.float64)
    return [
        AttentionInput(
            f64,
            ArrayRecipe((3, 16), f64, seed=1),
            ArrayRecipe((5, 16), f64, seed=2),
            ArrayRecipe((5, 2), f64, seed=3),
        )
    ]


#: The settings of the dot-product statistics: (D, mean of every component, sigma).
DOT_SETTINGS = ((16, 0.0, 1.0), (8, 0.4, 0.7))
PAIRS, BATCH = 20_000, 50
#: Batches asked of a target in one request (a few hundred kilobytes each way).
CALLS_PER_REQUEST = 100


@functools.cache
def _score_moments(dim: int, mean: float, sigma: float) -> tuple[float, float]:
    """E and Var of one scaled score q.k / s from attention.dot_statistics and attention.scale."""
    arrays = {specs.mu: [sp.Float(mean)] * dim}
    sizes = {specs.D: dim}
    expected = specs.instantiate(specs.relation(specs.DOT_STATISTICS, "Edot"), {}, sizes, arrays)
    variance = specs.instantiate(specs.relation(specs.DOT_STATISTICS, "Vdot"), {}, sizes, arrays)
    scale = specs.relation(specs.SCALE, "s").subs(specs.D, dim)
    return (
        float((expected / scale).subs(specs.sigma, sigma)),
        float((variance / scale**2).subs(specs.sigma, sigma)),
    )


def _score_statistics(
    adapter: Any, options: SearchSettings
) -> list[StatisticalTest] | CheckOutcome:
    """attention.dot_statistics: the mean and variance of the scores of independent random
    queries and keys against E[q.k]/s and Var[q.k]/s^2 from the specs."""
    rng = np.random.default_rng(options.seed)
    tests = []
    for dim, mean, sigma in DOT_SETTINGS:
        calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        for _ in range(PAIRS // BATCH):
            Q = mean + sigma * rng.standard_normal((BATCH, dim))
            K = mean + sigma * rng.standard_normal((BATCH, dim))
            calls.append(((Q, K, np.ones((BATCH, 1))), {}))
        # The batches are independent: a target in a runner is asked them a few requests at a
        # time (one round trip per batch cost more than the target's work).
        outs = [
            out
            for start in range(0, len(calls), CALLS_PER_REQUEST)
            for out in call_each(adapter, "run", calls[start : start + CALLS_PER_REQUEST])
        ]
        scores = []
        for out in outs:
            if "S" not in out:
                return CheckOutcome(Outcome.SKIP, message="the target does not expose the scores S")
            scores.append(np.diagonal(np.asarray(out["S"], dtype=np.float64)))
        sample = np.concatenate(scores)
        expected, variance = _score_moments(dim, mean, sigma)
        where = f"D = {dim}, mu = {mean:g}, sigma = {sigma:g}"
        tests.append(mean_test(f"E[S_ii] = E[q.k]/s at {where}", sample, expected, variance))
        tests.append(
            variance_test(f"Var[S_ii] = Var[q.k]/s^2 at {where}", sample, expected, variance)
        )
    return tests


_SOFTMAX = OracleSearch(
    graph=SpecGraph([SpecUse(spec) for spec in (specs.SCORES, specs.SOFTMAX, specs.OUTPUT)]),
    cases=lambda: attention_inputs(),
    explicit=_separating_inputs,
    observe=_observe_softmax,
)

ATTENTION = Component(
    "attention",
    "attention",
    {
        **searched_alone(_SOFTMAX),
        specs.DOT_STATISTICS.id: SpecCheck(
            statistics=Statistics(
                _score_statistics,
                "the scores of independent random queries and keys",
                counterexample=(
                    f"{PAIRS} pairs q, k ~ N(mu, sigma^2 I) at (D, mu, sigma) in {DOT_SETTINGS}"
                ),
                examples=len(DOT_SETTINGS) * PAIRS,
            )
        ),
    },
    protocol=AttentionAdapter,
    cases=Cases(AttentionInput, "attention_inputs()"),
)


# --------------------------------------------------------------------------- argmax attention


def _part(spec: Spec, quantity: str) -> Spec:
    """The spec reduced to one of its relations (for a graph of the relations that have array
    form)."""
    relation = {
        lhs: rhs for lhs, rhs in spec.canonical.relations.items() if str(lhs.base.label) == quantity
    }
    return dataclasses.replace(
        spec, id=f"{spec.id}:{quantity}", variants=(Variant("canonical", relation),)
    )


#: Rows of up to this many keys share one compiled program (shorter rows are padded).
ARGMAX_WIDTH = 8


@functools.cache
def _argmax_program(width: int) -> Any:
    """attention.argmax's weight of the first key, for one query row of ``width`` scores s_1..s_N
    with error bounds e_1..e_N as leaf errors. The relation is a product over all keys, so the
    weight of key j is the same program with s_j put first; a row with fewer keys is padded with
    scores of -1e300 (whose factor is 1 with certainty)."""
    scores = [sp.Symbol(f"s_{n}", real=True) for n in range(1, width + 1)]
    errors = [sp.Symbol(f"e_{n}", nonnegative=True) for n in range(1, width + 1)]
    relation = specs.relation(specs.ARGMAX, "Amax")
    first = specs.instantiate(
        relation, {specs.i: 1, specs.j: 1}, {specs.N: width}, {specs.Sdot: [scores]}
    )
    return unrolled_predictor([first], dict(zip(scores, errors, strict=True)))


_ARGMAX_SCORES, _ARGMAX_OUTPUT = _part(specs.ARGMAX, "Sdot"), _part(specs.ARGMAX, "Omax")
_ARGMAX_GRAPH = SpecGraph([SpecUse(_ARGMAX_SCORES), SpecUse(_ARGMAX_OUTPUT)])


def _predicted_weights(values: dict[str, Any], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """attention.argmax's one-hot weights and their error bounds, key by key, from the scores
    the spec predicts (with their rounding bounds as the scores' errors)."""
    combination: Combination = ((_ARGMAX_SCORES.id, "canonical"),)
    u = tolerance.oracle_unit_roundoff(dtype)
    scores, bound = _ARGMAX_GRAPH.predictor("Sdot", combination, frozenset())(
        {**values, "unit_roundoff": u}
    )
    scores, bound = scores[:, :, 0, 0], bound[:, :, 0, 0]
    rows, keys = scores.shape
    width = max(keys, ARGMAX_WIDTH)
    program = _argmax_program(width)
    padded_scores = np.full((rows, width), -1e300)  # below every score, with a certain sign
    padded_errors = np.zeros((rows, width))
    predicted, errors = np.empty((rows, keys)), np.empty((rows, keys))
    for key in range(keys):
        order = [key] + [other for other in range(keys) if other != key]
        padded_scores[:, :keys], padded_errors[:, :keys] = (
            scores[:, order],
            tolerance.SAFETY * bound[:, order],
        )
        inputs = {f"s_{n + 1}": padded_scores[:, n] for n in range(width)}
        inputs |= {f"e_{n + 1}": padded_errors[:, n] for n in range(width)}
        (value,), (error,) = program({**inputs, "unit_roundoff": u})
        predicted[:, key], errors[:, key] = (
            np.broadcast_to(value, (rows,)),
            np.broadcast_to(error, (rows,)),
        )
    return _LAYOUT["Amax"](predicted), _LAYOUT["Amax"](errors)


def _examine_argmax(adapter: Any, case: AttentionInput) -> Finding:
    """The scores against their equation, the weights against the argmax (a winner left open
    where scores tie within their bound), and the output from the weights."""
    try:
        with quiet_target():
            out = adapter.run(case.Q.copy(), case.K.copy(), case.V.copy())
    except Exception as error:
        raise TargetRaised(case, error) from error
    observed = {name: out[name] for name in ("Sdot", "Amax", "Omax") if name in out}
    values = _laid_out(case, observed)
    record = Record(_label(case, "argmax attention"), values, frozenset(observed), case.dtype)
    findings = []
    if "Sdot" in observed:
        findings.append(judge(_ARGMAX_GRAPH, _ARGMAX_SCORES.id, record))
    weights, weight_bound = _predicted_weights(values, case.dtype)
    if "Amax" in observed:
        findings.append(
            finding_from(compare(values["Amax"], weights, weight_bound, record, "Amax"), record)
        )
    if "Omax" in observed:
        given = values if "Amax" in observed else {**values, "Amax": weights}
        undecided = np.any(weight_bound[:, :, 0, 0] > 0.5, axis=1)
        output_record = Record(record.label, given, frozenset(observed) | {"Amax"}, case.dtype)
        finding = judge(_ARGMAX_GRAPH, _ARGMAX_OUTPUT.id, output_record)
        if "Amax" not in observed and np.all(undecided):
            finding = dataclasses.replace(finding, observable=False)
        findings.append(finding)
    return combine_findings(findings)


def _worked_example() -> AttentionInput:
    example = specs.PRINTED_ARGMAX_EXAMPLE
    f64 = np.dtype(np.float64)
    fixed = (
        ("Q", (example["query"],)),
        ("K", tuple(map(tuple, example["keys"]))),
        ("V", tuple(map(tuple, example["values"]))),
    )
    recipe = ArrayRecipe((1, 1), f64, seed=0)
    return AttentionInput(f64, recipe, recipe, recipe, fixed)


# --------------------------------------------------------------------------- kernel attention


@dataclasses.dataclass(frozen=True)
class _AbsoluteBound:
    """A predictor whose bound is the spec's bound at the inputs' absolute values: the bound of
    any arrangement of the sum (no cancellation to exploit)."""

    predictor: Predictor

    def __call__(
        self, values: dict[str, Any], memo: Memo | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        value, _ = self.predictor(values, memo)
        absolute = {
            name: np.abs(v) if isinstance(v, np.ndarray) else v for name, v in values.items()
        }
        _, bound = self.predictor(absolute)  # other values: not the record's memo
        return value, bound


class _KernelGraph(SpecGraph):
    def predictor(self, quantity: str, combination: Combination, observed: frozenset[str]) -> Any:
        compiled = super().predictor(quantity, combination, observed)
        return _AbsoluteBound(compiled) if quantity == "kphi" else compiled


def _observe_kernel(adapter: Any, case: AttentionInput, graph: Any) -> list[Record]:
    out = adapter.run(case.Q.copy(), case.K.copy(), case.V.copy())
    observed = {name: out[name] for name in ("sim", "Okern", "Olin", "phiQ", "phiK") if name in out}
    if "phiQ" in observed and "phiK" in observed:
        observed["kphi"] = (
            np.asarray(observed["phiQ"], dtype=np.float64)
            @ np.asarray(observed["phiK"], dtype=np.float64).T
        )
    values = _laid_out(case, observed)
    measured = frozenset(observed) - {"phiQ", "phiK"}
    return [Record(_label(case, "kernel and linear attention"), values, measured, case.dtype)]


ARGMAX_ATTENTION = Component(
    "argmax_attention",
    "argmax_attention",
    {
        specs.ARGMAX.id: SpecCheck(
            CustomSearch(
                cases=lambda: attention_inputs(max_dim=8, integers=True),
                examine=_examine_argmax,
                explicit=lambda: [_worked_example()],
            )
        ),
    },
    protocol=ArgmaxAttentionAdapter,
)

_KERNEL = OracleSearch(
    graph=_KernelGraph(
        [
            SpecUse(spec)
            for spec in (
                specs.QUADRATIC_KERNEL,
                specs.FEATURE_MAP,
                specs.KERNEL_OUTPUT,
                specs.LINEAR_OUTPUT,
            )
        ]
    ),
    cases=lambda: attention_inputs(max_dim=6, max_scale=2.0),
    explicit=_separating_inputs,
    observe=_observe_kernel,
)

KERNEL_ATTENTION = Component(
    "kernel_attention",
    "kernel_attention",
    searched_alone(_KERNEL),
    protocol=KernelAttentionAdapter,
    cases=Cases(AttentionInput, "attention_inputs(max_dim=6, max_scale=2.0)"),
)
