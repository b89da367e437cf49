"""What the EECS 182 components share: findings from direct comparisons, and exact checks
combined with statistical tests."""

from __future__ import annotations

from collections.abc import Sequence

from eqconform.verify.results import Outcome, StatisticalTest

from ..judge import Comparison, Finding, Record
from ..statistics import ALPHA
from .base import CheckOutcome

__all__ = ["finding_from", "with_statistics"]


def finding_from(comparison: Comparison, record: Record, *, observable: bool = True) -> Finding:
    """A finding for one quantity compared directly (outside :func:`~eqconform.verify.judge.judge`)."""
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


def with_statistics(outcome: CheckOutcome, tests: Sequence[StatisticalTest], what: str,
                    counterexample: str | None = None) -> CheckOutcome:
    """An exact check's verdict with statistical tests added: any failed test fails the check; a
    check that was not observable exactly (a sampler that hides its draws) is settled by the tests."""
    tests = tuple(tests)
    if not tests:
        return outcome
    failed = [test for test in tests if not test.passed]
    summary = f"{len(tests)} statistical test(s) of {what} at false-alarm probability {ALPHA:g} each"
    if failed:
        if outcome.outcome is Outcome.FAIL:
            return CheckOutcome(**{**outcome.__dict__, "statistics": tests})
        return CheckOutcome(
            Outcome.FAIL, examples=outcome.examples, statistics=tests, counterexample=counterexample,
            message=f"{what} does not follow the equation: "
            + "; ".join(f"{test.name}: {test.statistic}, p = {test.p_value:.2g}" for test in failed),
        )
    if outcome.outcome is Outcome.SKIP:
        return CheckOutcome(Outcome.PASS, examples=outcome.examples, statistics=tests,
                            message=f"{summary}; the draws are not exposed, so the exact check is skipped "
                            f"({outcome.message})")
    message = f"{outcome.message} {summary}".strip()
    return CheckOutcome(**{**outcome.__dict__, "statistics": tests, "message": message})
