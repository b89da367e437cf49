"""The pieces every component's checks are made of: verdicts, findings, searches, statistics.

How they are put together for each spec is :mod:`.table`: a search over drawn cases (an
:class:`~eqconform.verify.components.oracle.OracleSearch`, or a :class:`CustomSearch`), and/or
:class:`Statistics` on large samples.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hypothesis import strategies as st

from eqconform.specs.model import Spec

from ..explanation import Explanation
from ..judge import Comparison, ContractViolation, Finding, Record, known_deviation
from ..results import ExplanationSummary, Outcome, StatisticalTest
from ..search import (
    SHRINK_SHARE,
    Mismatch,
    SearchSettings,
    SearchSummary,
    TargetRaised,
    run_search,
)
from ..statistics import ALPHA

__all__ = [
    "CheckOutcome",
    "CustomSearch",
    "Search",
    "StatisticalVerdict",
    "Statistics",
    "combine_findings",
    "finding_from",
    "outcome_from_search",
    "quiet_target",
    "searched",
    "with_statistics",
]


@dataclass(frozen=True)
class CheckOutcome:
    """A verdict before it is attached to a target
    (see :class:`eqconform.verify.results.Result`)."""

    outcome: Outcome
    variant: str | None = None
    examples: int = 0
    max_error: float | None = None
    max_abs_error: float | None = None
    counterexample: str | None = None
    message: str = ""
    observed_through: str | None = None
    statistics: tuple[StatisticalTest, ...] = field(default_factory=tuple)
    #: The other specs of a joint finding (:attr:`eqconform.verify.results.Result.joint`).
    joint: tuple[str, ...] = ()
    #: The spec whose search found the counterexample (:attr:`.Result.found_by`).
    found_by: str | None = None
    #: What the target computes instead (:attr:`.Result.explanations`).
    explanations: tuple[ExplanationSummary, ...] = ()


@contextlib.contextmanager
def quiet_target() -> Iterator[None]:
    """Silence the warnings audited code emits (a student's division by zero is a finding for
    the verdict, not noise for the terminal)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --------------------------------------------------------------------------- findings


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


def finding_from(comparison: Comparison, record: Record, *, observable: bool = True) -> Finding:
    """A finding for one quantity compared directly
    (outside :func:`~eqconform.verify.judge.judge`)."""
    passed = comparison.ratio <= 1.0
    return Finding(
        observable=observable,
        passed=passed,
        variants=frozenset({"canonical"}) if passed else frozenset(),
        ratio=comparison.ratio,
        abs_error=comparison.abs_error,
        detail=f"{comparison.detail} ({record.label})" if comparison.detail else record.label,
        quantity=comparison.quantity,
        index=comparison.index,
        record=record,
    )


# --------------------------------------------------------------------------- verdicts


def outcome_from_search(
    spec: Spec, summary: SearchSummary, describe: Callable[[Any], str]
) -> CheckOutcome:
    """Turn what a search saw into a verdict, naming the variant the target follows."""
    failure = summary.failure
    worst = summary.worst
    common: dict[str, Any] = {
        "examples": summary.examples,
        "max_error": worst.ratio if worst else None,
        "max_abs_error": worst.abs_error if worst else None,
        "observed_through": summary.through,
    }
    if isinstance(failure, TargetRaised):
        violated = isinstance(failure.error, ContractViolation)
        return CheckOutcome(
            Outcome.ERROR,
            found_by=summary.found_by,
            counterexample=describe(failure.case),
            message=str(failure.error)
            if violated
            else f"the target raised {type(failure.error).__name__}: {failure.error}",
            **common,
        )
    if isinstance(failure, Mismatch):
        finding = failure.finding
        known = known_deviation(spec, finding)
        deviation = known[0] if known else None
        sentences = [finding.detail]
        if known:
            sentences.append(known[1])
        if finding.together_with:
            sentences.append(_together_note(spec, finding))
        if summary.shrinking_stopped:
            sentences.append(
                f"Shrinking stopped at {SHRINK_SHARE:.0%} of the check's time limit: a smaller "
                "counterexample may exist"
            )
        message = " ".join(sentence.rstrip(".") + "." for sentence in sentences)
        return CheckOutcome(
            Outcome.FAIL,
            variant=deviation,
            found_by=summary.found_by,
            counterexample=f"{describe(failure.case)}\n{finding.detail}",
            message=message,
            **{
                **common,
                "max_error": max(finding.ratio, common["max_error"] or 0.0),
                "max_abs_error": finding.abs_error,
                "observed_through": finding.through,
            },
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


def with_statistics(
    outcome: CheckOutcome,
    tests: Sequence[StatisticalTest],
    what: str,
    counterexample: str | None = None,
) -> CheckOutcome:
    """A search's verdict with statistical tests added: any failed test fails the check; a
    check that was not observable exactly (a sampler that hides its draws) is settled by the
    tests."""
    tests = tuple(tests)
    if not tests:
        return outcome
    failed = [test for test in tests if not test.passed]
    summary = (
        f"{len(tests)} statistical test(s) of {what} at false-alarm probability {ALPHA:g} each"
    )
    if failed:
        if outcome.outcome is Outcome.FAIL:
            return CheckOutcome(**{**outcome.__dict__, "statistics": tests})
        return CheckOutcome(
            Outcome.FAIL,
            examples=outcome.examples,
            statistics=tests,
            counterexample=counterexample,
            message=f"{what} does not follow the equation: "
            + "; ".join(
                f"{test.name}: {test.statistic}, p = {test.p_value:.2g}" for test in failed
            ),
        )
    if outcome.outcome is Outcome.SKIP:
        return CheckOutcome(
            Outcome.PASS,
            examples=outcome.examples,
            statistics=tests,
            message=f"{summary}; the draws are not exposed, so the exact check is skipped "
            f"({outcome.message})",
        )
    message = f"{outcome.message} {summary}".strip()
    return CheckOutcome(**{**outcome.__dict__, "statistics": tests, "message": message})


# --------------------------------------------------------------------------- how a spec is checked


class Search(Protocol):
    """A search over drawn cases that ends in a verdict on one spec."""

    def run(self, spec: Spec, adapter: Any, options: SearchSettings) -> CheckOutcome: ...


def searched(
    spec: Spec,
    cases: st.SearchStrategy[Any],
    examine: Callable[[Any], Finding],
    explicit: Sequence[Any],
    options: SearchSettings,
    settle: Callable[[Mismatch], Mismatch] | None = None,
    draws: Hashable | None = None,
) -> tuple[CheckOutcome, Mismatch | TargetRaised | None]:
    """Search ``cases`` (then the ``explicit`` ones) with ``examine``; the verdict, and the
    failure it rests on, if any. ``settle`` may rename a mismatch's known deviation before the
    verdict is written; ``draws`` lets searches of the same cases share them
    (:func:`~eqconform.verify.search.run_search`)."""
    summary = run_search(cases, examine, explicit, options, draws=draws)
    if settle is not None and isinstance(summary.failure, Mismatch):
        summary.failure = settle(summary.failure)
    return outcome_from_search(spec, summary, lambda case: case.describe()), summary.failure


@dataclass(frozen=True)
class CustomSearch:
    """Drawn cases examined by a function of the component's own, for checks that are not one
    oracle comparison per observed quantity (a winner left open where scores tie within their
    bound; a norm bound through a stack the checker builds). ``examine(adapter, case)`` raises
    :class:`~eqconform.verify.search.TargetRaised` for what the target raised."""

    cases: Callable[[], st.SearchStrategy[Any]]
    examine: Callable[[Any, Any], Finding]
    explicit: Callable[[], Sequence[Any]] = lambda: ()

    def run(self, spec: Spec, adapter: Any, options: SearchSettings) -> CheckOutcome:
        outcome, _ = searched(
            spec,
            self.cases(),
            lambda case: self.examine(adapter, case),
            self.explicit(),
            options,
            # Searches of the same cases (the pre-LN stack's forward and gradient checks)
            # share their draws, and a passing search's are kept for the next run.
            draws=(self.cases, options.target, options.seed, options.max_examples),
        )
        return outcome


#: What a statistical check returns: its tests, or a verdict of its own (a draw outside the
#: support, a variant no reading of the parameters explains, quantities the target hides).
StatisticalVerdict = Sequence[StatisticalTest] | CheckOutcome


@dataclass(frozen=True)
class Statistics:
    """Statistical tests of a spec on large samples the target draws.

    ``tests(adapter, options)`` draws (warnings silenced) and tests; ``what`` names what is
    tested and ``counterexample`` how it was drawn, for the verdict. Alone, the tests settle
    the spec (``examples`` counts the draws); after a search they run only when its outcome is
    in ``after`` and are added to its verdict (:func:`with_statistics`).
    """

    tests: Callable[[Any, SearchSettings], StatisticalVerdict]
    what: str = ""
    counterexample: str | None = None
    examples: int = 0
    after: frozenset[Outcome] = frozenset({Outcome.PASS, Outcome.SKIP})
    #: What the target computes instead, asked only when a test fails: formulas its draws
    #: follow exactly (none when nothing is certain; a failure stays a failure without one).
    explain: Callable[[Any, SearchSettings], Sequence[Explanation]] | None = None
