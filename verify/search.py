"""Run one check as a Hypothesis search and keep what it found.

The check is an ordinary ``@given`` test over the component's cases. Each example is examined
(target called, findings judged); a failing example raises :class:`Mismatch`, and a target
that raises is wrapped in :class:`TargetRaised`, so Hypothesis shrinks either to a minimal
counterexample. Hypothesis re-runs the minimal example last and re-raises its exception,
which carries that case: that is the counterexample reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase

from .judge import Finding

__all__ = ["Mismatch", "SearchSettings", "SearchSummary", "TargetRaised", "run_search"]


@dataclass(frozen=True)
class SearchSettings:
    max_examples: int = 100
    seed: int = 0
    database: ExampleDatabase | None = None


class Mismatch(Exception):
    """An example on which the target disagrees with every accepted form of the spec."""

    def __init__(self, case: Any, finding: Finding):
        super().__init__(finding.detail)
        self.case = case
        self.finding = finding


class TargetRaised(Exception):
    """The target raised while being driven through an example."""

    def __init__(self, case: Any, error: BaseException):
        super().__init__(f"{type(error).__name__}: {error}")
        self.case = case
        self.error = error


@dataclass
class SearchSummary:
    """What a search saw: example count, worst error, variants consistent with every example."""

    examples: int = 0
    observable_examples: int = 0
    worst: Finding | None = None
    variants: set[str] | None = None
    through: str | None = None
    failure: Mismatch | TargetRaised | None = None
    notes: list[str] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        if not finding.observable:
            return
        self.observable_examples += 1
        self.through = self.through or finding.through
        if finding.passed:
            self.variants = set(finding.variants) if self.variants is None else self.variants & finding.variants
        if self.worst is None or finding.ratio > self.worst.ratio:
            self.worst = finding


def run_search(
    cases: st.SearchStrategy[Any],
    examine: Callable[[Any], Finding],
    explicit: Sequence[Any],
    options: SearchSettings,
) -> SearchSummary:
    """Search for a counterexample; ``examine`` returns the finding for one case and raises
    :class:`TargetRaised` when the target raised (any other exception is the checker's own
    and propagates)."""
    summary = SearchSummary()

    def check(case: Any) -> None:
        summary.examples += 1
        finding = examine(case)
        summary.add(finding)
        if finding.observable and not finding.passed:
            raise Mismatch(case, finding)

    test = given(case=cases)(check)
    test = settings(
        max_examples=options.max_examples,
        database=options.database,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )(test)
    test = hypothesis_seed(options.seed)(test)
    try:
        test()
    except (Mismatch, TargetRaised) as failure:
        summary.failure = failure
        return summary
    # Hand-picked cases that separate variants run after the search, so that a bug the search
    # can find is reported with the shrunk counterexample rather than a larger fixed one.
    for case in explicit:
        try:
            check(case)
        except (Mismatch, TargetRaised) as failure:
            summary.failure = failure
            break
    return summary
