"""A component as data: for each spec it checks, how.

A component is the unit a target provides (``adam``, ``layernorm``, ...): the adapter it drives
and a table from spec id to :class:`SpecCheck`, a small frozen description of the check:

- ``search``: drawn cases, either an :class:`~.oracle.OracleSearch` (every observed quantity
  against the spec's oracle, within its rounding bound) or a :class:`~.base.CustomSearch`;
- ``statistics``: :class:`~.base.Statistics`, tests on large samples, added to the search's
  verdict or settling the spec alone.

The engine only calls :meth:`Component.check`; neither it nor the search, the judge or the
graph ever looks at which family a spec belongs to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eqconform.specs.model import Spec

from ..explanation import computes
from ..graph import SpecGraph
from ..judge import Record
from ..results import Outcome
from ..search import SearchSettings
from .base import CheckOutcome, Search, Statistics, quiet_target, with_statistics
from .oracle import OracleSearch

__all__ = ["CaseJudge", "Cases", "Component", "SpecCheck", "searched_alone"]


@dataclass(frozen=True)
class SpecCheck:
    """How one spec is checked: a search, statistics, or a search with statistics added."""

    search: Search | None = None
    statistics: Statistics | None = None

    def __post_init__(self) -> None:
        if self.search is None and self.statistics is None:
            raise ValueError("a spec check needs a search, statistics, or both")

    def run(self, spec: Spec, adapter: Any, options: SearchSettings) -> CheckOutcome:
        searched_outcome = (
            self.search.run(spec, adapter, options) if self.search is not None else None
        )
        statistics = self.statistics
        if statistics is None:
            assert searched_outcome is not None
            return searched_outcome
        if searched_outcome is not None and searched_outcome.outcome not in statistics.after:
            return searched_outcome
        with quiet_target():
            tests = statistics.tests(adapter, options)
        if isinstance(tests, CheckOutcome):
            return tests
        outcome = searched_outcome or CheckOutcome(Outcome.PASS, examples=statistics.examples)
        outcome = with_statistics(outcome, tests, statistics.what, statistics.counterexample)
        if outcome.outcome is Outcome.FAIL and statistics.explain and not outcome.explanations:
            with quiet_target():
                explained = statistics.explain(adapter, options)
            if explained:
                outcome = dataclasses.replace(
                    outcome,
                    message=f"{outcome.message}. {computes(explained)}",
                    explanations=tuple(explanation.summary() for explanation in explained),
                )
        return outcome


@dataclass(frozen=True)
class Cases:
    """The cases a component's exact checks are run on: their type, and the public strategy that
    draws them as a user would write it (``"layernorm_inputs()"``), for messages."""

    type: type
    drawn_by: str


@dataclass(frozen=True)
class CaseJudge:
    """What judges one given case (:func:`eqconform.verify.checks.check_case`): the adapter to
    drive, how to observe it, the graph of the specs judged, and the cases it takes."""

    adapter: str
    graph: SpecGraph
    observe: Callable[[Any, Any, SpecGraph], list[Record]]
    cases: Cases


@dataclass(frozen=True)
class Component:
    """A component: the adapter a target must provide (``Target.component(adapter)``) and how
    each of its specs is checked, by spec id. ``name`` is the one specs use in
    ``Spec.component``.

    ``protocol`` is what the checks call on that adapter (a :class:`typing.Protocol`); ``cases``,
    when given, lets one case be judged on its own by
    :func:`~eqconform.verify.checks.check_case`.
    """

    name: str
    adapter: str
    checks: Mapping[str, SpecCheck]
    protocol: type = field(kw_only=True)
    cases: Cases | None = field(default=None, kw_only=True)

    def check(self, spec: Spec, adapter: Any, options: SearchSettings) -> CheckOutcome:
        try:
            how = self.checks[spec.id]
        except KeyError:
            raise LookupError(
                f"component {self.name!r} has no check for {spec.id} "
                f"(it checks {', '.join(self.checks)})"
            ) from None
        return how.run(spec, adapter, options)

    @property
    def exact(self) -> CaseJudge | None:
        """The judge of one case: the oracle search every exact check of this component shares
        (``None`` when the component declares no ``cases`` or has no such single search)."""
        searches = {
            id(check.search): check.search
            for check in self.checks.values()
            if isinstance(check.search, OracleSearch)
        }
        if self.cases is None or len(searches) != 1:
            return None
        (search,) = searches.values()
        return CaseJudge(self.adapter, search.graph, search.observe, self.cases)


def searched_alone(
    search: OracleSearch, spec_ids: Iterable[str] | None = None
) -> dict[str, SpecCheck]:
    """The table of checks of specs checked by ``search`` alone (by default every spec of its
    graph that is checked on implementations)."""
    if spec_ids is None:
        spec_ids = [
            spec_id for spec_id, use in search.graph.uses.items() if not use.spec.proof_only
        ]
    return {spec_id: SpecCheck(search) for spec_id in spec_ids}
