"""What every component check shares.

A component is the unit a target provides (``adam``, ``layernorm``, ...). It knows how to draw
cases, drive a target's adapter through one case, and judge the specs it reports. The engine
only calls :meth:`Component.check`; it never looks at which family a spec belongs to.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping

import mpmath
import numpy as np
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hypothesis import strategies as st

from eqconform.verify.results import Outcome, StatisticalTest
from eqconform.specs.model import Spec

from ..graph import SpecGraph
from ..judge import ContractViolation, Finding, QuantityRaised, Raised, Record, checked_quantities, judge
from ..precise import DIGITS, exact
from ..search import Mismatch, SearchSettings, SearchSummary, TargetRaised, run_search

__all__ = [
    "CheckOutcome",
    "Component",
    "DeterministicComponent",
    "combine_findings",
    "outcome_from_search",
    "quiet_target",
]


@dataclass(frozen=True)
class CheckOutcome:
    """A verdict before it is attached to a target (see :class:`eqconform.verify.results.Result`)."""

    outcome: Outcome
    variant: str | None = None
    examples: int = 0
    max_error: float | None = None
    max_abs_error: float | None = None
    counterexample: str | None = None
    message: str = ""
    observed_through: str | None = None
    statistics: tuple[StatisticalTest, ...] = field(default_factory=tuple)


class Component(Protocol):
    #: The name specs use in ``Spec.component``.
    name: str
    #: The adapter a target must provide to be checked (``Target.component(adapter)``).
    adapter: str

    def check(self, spec: Spec, adapter: Any, options: SearchSettings) -> CheckOutcome: ...


@contextlib.contextmanager
def quiet_target() -> Iterator[None]:
    """Silence the warnings audited code emits (a student's division by zero is a finding for
    the verdict, not noise for the terminal)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def exact_note(graph: SpecGraph, finding: Finding) -> str:
    """The failing entry measured against the spec evaluated with 50-digit arithmetic."""
    record = finding.record
    if record is None or not finding.quantity or finding.quantity not in record.values:
        return ""
    try:
        expr = graph.expression(finding.quantity, finding.combination, record.observed)
        values = {k: v for k, v in record.values.items() if not isinstance(v, Raised)}
        exact_values = exact(expr, values, _sizes(expr, values))
    except Exception:  # the measurement is a courtesy; the verdict stands without it
        return ""
    if exact_values is None:
        return ""
    index = finding.index if np.ndim(exact_values) else ()
    truth = exact_values[index] if index else exact_values.item() if exact_values.ndim == 0 else exact_values.flat[0]
    observed = float(np.asarray(record.values[finding.quantity], dtype=np.float64)[index])
    predicted = float(graph.predictor(finding.quantity, finding.combination, record.observed)(
        {**values, "unit_roundoff": 0.0})[0][index])
    with mpmath.workdps(DIGITS):
        scale = abs(truth) if truth != 0 else mpmath.mpf(1)
        target_error = float(abs(mpmath.mpf(observed) - truth) / scale)
        oracle_error = float(abs(mpmath.mpf(predicted) - truth) / scale)
        shown = mpmath.nstr(truth, 20)
    return (f"Against the equation evaluated with {DIGITS}-digit arithmetic ({shown}), the implementation's "
            f"relative error is {target_error:.2g}; the float64 oracle's is {oracle_error:.2g}.")


def _sizes(expr: Any, values: Mapping[str, Any]) -> dict[str, int]:
    """Sizes of reduced axes (C, N, ...) read off the arrays, as the float64 oracle does."""
    from ..compiler import _reduced_sizes

    arrays = [np.shape(v) for v in values.values() if np.ndim(v)]
    shape = np.broadcast_shapes(*arrays) if arrays else ()
    return {name: shape[axis] if axis < len(shape) else 1 for name, axis in _reduced_sizes([expr]).items()}


def combine_findings(findings: Sequence[Finding]) -> Finding:
    """One finding for a case from its records: the first failing record, else the worst."""
    observable = [f for f in findings if f.observable]
    if not observable:
        return Finding(observable=False, passed=True)
    failing = [f for f in observable if not f.passed]
    if failing:
        return failing[0]
    variants = frozenset.intersection(*(f.variants for f in observable))
    worst = max(observable, key=lambda f: f.ratio)
    return Finding(
        observable=True,
        passed=True,
        variants=variants,
        ratio=worst.ratio,
        abs_error=worst.abs_error,
        through=worst.through,
        detail=worst.detail,
        together_with=worst.together_with,
        quantity=worst.quantity,
        index=worst.index,
        combination=worst.combination,
        record=worst.record,
    )


def outcome_from_search(spec: Spec, summary: SearchSummary, describe: Callable[[Any], str]) -> CheckOutcome:
    """Turn what a search saw into a verdict, naming the variant the target follows."""
    failure = summary.failure
    worst = summary.worst
    common = dict(
        examples=summary.examples,
        max_error=worst.ratio if worst else None,
        max_abs_error=worst.abs_error if worst else None,
        observed_through=summary.through,
    )
    if isinstance(failure, TargetRaised):
        violated = isinstance(failure.error, ContractViolation)
        return CheckOutcome(
            Outcome.ERROR,
            counterexample=describe(failure.case),
            message=str(failure.error) if violated else f"the target raised {type(failure.error).__name__}: {failure.error}",
            **common,
        )
    if isinstance(failure, Mismatch):
        finding = failure.finding
        deviation = sorted(finding.deviations)[0] if finding.deviations else None
        sentences = [finding.detail]
        if deviation:
            note = spec.variant(deviation).note
            sentences.append(f"It follows the known deviation {deviation!r}" + (f": {note}" if note else ""))
        if finding.together_with:
            sentences.append(_together_note(spec, finding))
        message = " ".join(sentence.rstrip(".") + "." for sentence in sentences)
        return CheckOutcome(
            Outcome.FAIL,
            variant=deviation,
            counterexample=f"{describe(failure.case)}\n{finding.detail}",
            message=message,
            **{**common, "max_error": max(finding.ratio, common["max_error"] or 0.0),
               "max_abs_error": finding.abs_error, "observed_through": finding.through},
        )
    if summary.observable_examples == 0:
        return CheckOutcome(
            Outcome.SKIP,
            message=f"not observable through this target: it exposes none of "
            f"{', '.join(spec.defines)} nor anything computed from them",
            examples=summary.examples,
        )
    return _passing_outcome(spec, summary, common)


def _together_note(spec: Spec, finding: Finding) -> str:
    how = f"through {finding.through}" if finding.through else "directly"
    return (
        f"Not isolated: this target does not expose every intermediate quantity, so "
        f"{spec.id} was checked {how} together with {', '.join(finding.together_with)}; "
        "the discrepancy lies in at least one of them"
    )


def _passing_outcome(spec: Spec, summary: SearchSummary, common: dict[str, Any]) -> CheckOutcome:
    if len(spec.forms) == 1:
        return CheckOutcome(Outcome.PASS, **common)
    consistent = [v.id for v in spec.forms if summary.variants and v.id in summary.variants]
    if not consistent:
        return CheckOutcome(
            Outcome.FAIL,
            message="every example matched an accepted form, but no single variant matched them "
            "all: the target follows different variants on different inputs",
            **common,
        )
    message = ""
    if len(consistent) > 1:
        message = f"the inputs tried never separated the variants {', '.join(consistent)}"
    return CheckOutcome(Outcome.PASS, variant=consistent[0], message=message, **common)


@dataclass
class DeterministicComponent:
    """A component whose specs are deterministic: every check is oracle versus observation."""

    name: str
    adapter: str
    graph: SpecGraph
    cases: Callable[[], st.SearchStrategy[Any]]
    explicit: Callable[[], Sequence[Any]]
    observe: Callable[[Any, Any, SpecGraph], list[Record]]
    #: Whether the same input must give the same output (not for a stochastic layer).
    repeatable: bool = True
    #: Better-conditioned versions of a case on which the equation's answer is equivalent,
    #: each with a description (the same numbers in float64; LayerNorm rows shifted to zero
    #: mean). Used to tell a wrong formula from a right one that loses accuracy.
    recondition: Callable[[Any], Sequence[tuple[str, Any]]] = lambda case: ()
    #: The hard corners, drawn instead of ``cases`` under the ``hard`` profile.
    hard_cases: Callable[[], st.SearchStrategy[Any]] | None = None

    def check(self, spec: Spec, adapter: Any, options: SearchSettings) -> CheckOutcome:
        outcome, failure = self._search(spec, adapter, options)
        if isinstance(failure, Mismatch):
            return self._diagnose(spec, adapter, failure, outcome)
        if outcome.outcome is Outcome.PASS and self.repeatable:
            return self._repeatability(spec, adapter, outcome)
        return outcome

    def _examine(self, spec: Spec, adapter: Any, case: Any) -> Finding:
        """Drive the target through one case and judge ``spec`` on what it did. Anything raised
        while driving it, or a phase this spec needs that raised, is the target's
        (:class:`TargetRaised`); anything raised while judging is the checker's own."""
        try:
            with quiet_target():
                records = self.observe(adapter, case, self.graph)
        except Exception as error:  # raised while driving the target: the target's
            raise TargetRaised(case, error) from error
        try:
            return combine_findings([judge(self.graph, spec.id, record) for record in records])
        except QuantityRaised as raised:  # a phase of the target that this spec needs raised
            raise TargetRaised(case, raised.error) from raised.error

    def _diagnose(self, spec: Spec, adapter: Any, failure: Mismatch, outcome: CheckOutcome) -> CheckOutcome:
        """Re-run the minimal counterexample in better-conditioned forms: passing there means
        the formula is right and the failure is a loss of accuracy at this input."""
        alternatives = list(self.recondition(failure.case))
        if not alternatives:
            return outcome
        passed_on = []
        for description, alternative in alternatives:
            try:
                finding = self._examine(spec, adapter, alternative)
            except TargetRaised:
                continue
            if finding.passed and finding.observable:
                passed_on.append(description)
        ratio = failure.finding.ratio
        exactness = exact_note(self.graph, failure.finding)
        if passed_on:
            verdict = (f"Right formula, numerically unstable: the error here is {ratio:.3g} times the tolerance, "
                       f"but the same check passes on {' and on '.join(passed_on)}, so the implementation "
                       "follows the equation and loses accuracy at inputs like this one.")
        else:
            tried = " or ".join(description for description, _ in alternatives)
            verdict = (f"Follows another formula: it also fails on {tried}, so the discrepancy is not a loss "
                       "of accuracy.")
        return CheckOutcome(**{**outcome.__dict__, "message": f"{verdict} {outcome.message} {exactness}".strip()})

    def _repeatability(self, spec: Spec, adapter: Any, outcome: CheckOutcome) -> CheckOutcome:
        """Run one hand-picked case twice: the equation is deterministic, so must the target be."""
        cases = list(self.explicit())
        if not cases:
            return outcome
        case = cases[0]
        with quiet_target():
            first, second = (self.observe(adapter, case, self.graph) for _ in range(2))
        for one, other in zip(first, second):
            for name in checked_quantities(self.graph, spec.id, one.observed)[0]:
                a, b = np.asarray(one.values[name]), np.asarray(other.values[name])
                if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
                    difference = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("inf")
                    return CheckOutcome(
                        Outcome.FAIL,
                        examples=outcome.examples,
                        counterexample=case.describe(),
                        message=f"nondeterministic: two runs on the same input gave different {name} "
                        f"(largest difference {difference:.3g}), where the equation is deterministic",
                    )
        return outcome

    def _search(self, spec: Spec, adapter: Any, options: SearchSettings) -> tuple[CheckOutcome, Any]:
        hard = options.profile == "hard" and self.hard_cases is not None
        cases = self.hard_cases() if hard else self.cases()  # type: ignore[misc]
        summary = run_search(cases, lambda case: self._examine(spec, adapter, case), self.explicit(), options)
        return outcome_from_search(spec, summary, lambda case: case.describe()), summary.failure
