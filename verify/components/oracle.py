"""The oracle search: drawn cases, every observed quantity judged against the spec's oracle.

Most checks are this one: draw a case, drive the target through it (``observe`` returns the
records of what it did), and judge the spec on every record
(:func:`~eqconform.verify.judge.judge`). A failure is then diagnosed (a right formula that loses
accuracy, or another formula), and a pass of a deterministic equation is confirmed by running
one case twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
from hypothesis import strategies as st

from eqconform.specs.model import Spec

from ..compiler import reduced_sizes
from ..graph import SpecGraph
from ..judge import Finding, QuantityRaised, Raised, Record, checked_quantities, judge
from ..precise import DIGITS, exact
from ..results import Outcome
from ..search import Mismatch, SearchSettings, TargetRaised
from .base import CheckOutcome, combine_findings, quiet_target, searched

__all__ = ["OracleSearch", "exact_note"]


def _no_alternatives(case: Any) -> Sequence[tuple[str, Any]]:
    return ()


@dataclass(frozen=True)
class OracleSearch:
    """Cases drawn from ``cases()`` (``hard_cases()`` under the ``hard`` profile, where there are
    any), then the hand-picked ``explicit()`` ones; ``observe(adapter, case, graph)`` drives
    the target and records what it did, and every record is judged against ``graph``."""

    graph: SpecGraph
    cases: Callable[[], st.SearchStrategy[Any]]
    explicit: Callable[[], Sequence[Any]]
    observe: Callable[[Any, Any, SpecGraph], list[Record]]
    #: Whether the same input must give the same output (not for a stochastic layer).
    repeatable: bool = True
    #: Better-conditioned versions of a case on which the equation's answer is equivalent,
    #: each with a description (the same numbers in float64; LayerNorm rows shifted to zero
    #: mean). Used to tell a wrong formula from a right one that loses accuracy.
    recondition: Callable[[Any], Sequence[tuple[str, Any]]] = _no_alternatives
    #: The hard corners, drawn instead of ``cases`` under the ``hard`` profile.
    hard_cases: Callable[[], st.SearchStrategy[Any]] | None = None

    def run(self, spec: Spec, adapter: Any, options: SearchSettings) -> CheckOutcome:
        hard = options.profile == "hard" and self.hard_cases is not None
        cases = self.hard_cases() if hard else self.cases()  # type: ignore[misc]
        outcome, failure = searched(
            spec, cases, lambda case: self.examine(spec, adapter, case), self.explicit(), options
        )
        if isinstance(failure, Mismatch):
            return self._diagnose(spec, adapter, failure, outcome)
        if outcome.outcome is Outcome.PASS and self.repeatable:
            return self._repeatability(spec, adapter, outcome)
        return outcome

    def examine(self, spec: Spec, adapter: Any, case: Any) -> Finding:
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

    def _diagnose(
        self, spec: Spec, adapter: Any, failure: Mismatch, outcome: CheckOutcome
    ) -> CheckOutcome:
        """Re-run the minimal counterexample in better-conditioned forms: passing there means
        the formula is right and the failure is a loss of accuracy at this input."""
        alternatives = list(self.recondition(failure.case))
        if not alternatives:
            return outcome
        passed_on = []
        for description, alternative in alternatives:
            try:
                finding = self.examine(spec, adapter, alternative)
            except TargetRaised:
                continue
            if finding.passed and finding.observable:
                passed_on.append(description)
        ratio = failure.finding.ratio
        exactness = exact_note(self.graph, failure.finding)
        if passed_on:
            verdict = (
                f"Right formula, numerically unstable: the error here is {ratio:.3g} times the "
                f"tolerance, but the same check passes on {' and on '.join(passed_on)}, so the "
                "implementation follows the equation and loses accuracy at inputs like this one."
            )
        else:
            tried = " or ".join(description for description, _ in alternatives)
            verdict = (
                f"Follows another formula: it also fails on {tried}, so the discrepancy is not a "
                "loss of accuracy."
            )
        return CheckOutcome(
            **{**outcome.__dict__, "message": f"{verdict} {outcome.message} {exactness}".strip()}
        )

    def _repeatability(self, spec: Spec, adapter: Any, outcome: CheckOutcome) -> CheckOutcome:
        """Run one hand-picked case twice: the equation is deterministic, so must the target be."""
        cases = list(self.explicit())
        if not cases:
            return outcome
        case = cases[0]
        with quiet_target():
            first, second = (self.observe(adapter, case, self.graph) for _ in range(2))
        # The observer, not the target, sets how many records a case gives; were the two runs to
        # differ in count, the records both produced are the ones compared.
        for one, other in zip(first, second, strict=False):
            for name in checked_quantities(self.graph, spec.id, one.observed)[0]:
                a, b = np.asarray(one.values[name]), np.asarray(other.values[name])
                if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
                    difference = (
                        float(np.max(np.abs(a - b))) if a.shape == b.shape else float("inf")
                    )
                    return CheckOutcome(
                        Outcome.FAIL,
                        examples=outcome.examples,
                        counterexample=case.describe(),
                        message=(
                            "nondeterministic: two runs on the same input gave different "
                            f"{name} (largest difference {difference:.3g}), where the equation "
                            "is deterministic"
                        ),
                    )
        return outcome


def exact_note(graph: SpecGraph, finding: Finding) -> str:
    """The failing entry measured against the spec evaluated with 50-digit arithmetic."""
    record = finding.record
    if record is None or not finding.quantity or finding.quantity not in record.values:
        return ""
    try:
        expr = graph.expression(finding.quantity, finding.combination, record.observed)
        values = {k: v for k, v in record.values.items() if not isinstance(v, Raised)}
        exact_values = exact(expr, values, _sizes(expr, values))
    except Exception:  # noqa: BLE001 - the measurement is a courtesy; the verdict stands without it
        return ""
    if exact_values is None:
        return ""
    index = finding.index if np.ndim(exact_values) else ()
    truth = (
        exact_values[index]
        if index
        else exact_values.item()
        if exact_values.ndim == 0
        else exact_values.flat[0]
    )
    observed = float(np.asarray(record.values[finding.quantity], dtype=np.float64)[index])
    predicted = float(
        graph.predictor(finding.quantity, finding.combination, record.observed)(
            {**values, "unit_roundoff": 0.0}
        )[0][index]
    )
    with mpmath.workdps(DIGITS):
        scale = abs(truth) if truth != 0 else mpmath.mpf(1)
        target_error = float(abs(mpmath.mpf(observed) - truth) / scale)
        oracle_error = float(abs(mpmath.mpf(predicted) - truth) / scale)
        shown = mpmath.nstr(truth, 20)
    return (
        f"Against the equation evaluated with {DIGITS}-digit arithmetic ({shown}), the "
        f"implementation's relative error is {target_error:.2g}; "
        f"the float64 oracle's is {oracle_error:.2g}."
    )


def _sizes(expr: Any, values: Mapping[str, Any]) -> dict[str, int]:
    """Sizes of reduced axes (C, N, ...) read off the arrays, as the float64 oracle does."""
    arrays = [np.shape(v) for v in values.values() if np.ndim(v)]
    shape = np.broadcast_shapes(*arrays) if arrays else ()
    return {
        name: shape[axis] if axis < len(shape) else 1
        for name, axis in reduced_sizes([expr]).items()
    }
