"""The oracle search: drawn cases, every observed quantity judged against the spec's oracle.

Most checks are this one: draw a case, drive the target through it (``observe`` returns the
records of what it did), and judge the spec on every record
(:func:`~eqconform.verify.judge.judge`). A failure is then diagnosed (a right formula that loses
accuracy, or another formula), and a pass of a deterministic equation is confirmed by running
one case twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
from hypothesis import strategies as st

from eqconform.specs.model import Spec

from ..compiler import reduced_sizes
from ..explanation import Explanation, computes, deviation, explain
from ..graph import SpecGraph
from ..judge import (
    Finding,
    QuantityRaised,
    Raised,
    Record,
    checked_quantities,
    judge,
    known_deviation,
)
from ..precise import DIGITS, exact
from ..results import ExplanationSummary, Outcome
from ..search import Mismatch, SearchSettings, TargetRaised, current_observations, drawn_cases
from ..targets.protocol import NotAnArray
from ..tolerance import BFLOAT16, FloatFormat, epsilon
from .base import CheckOutcome, combine_findings, quiet_target, searched

__all__ = ["OracleSearch", "exact_note"]


def _no_alternatives(case: Any) -> Sequence[tuple[str, Any]]:
    return ()


def _unchanged(case: Any) -> Any:
    return case


@dataclass(frozen=True)
class Precision:
    """A lower precision a target may compute in: what it says, and how a record is read
    under it (``answered``: the narrower dtype the answer came back in, if that is the one)."""

    how: str
    read: Callable[[Record], Record]
    answered: np.dtype | None = None


@dataclass(frozen=True)
class CaseDiagnosis:
    """What one counterexample shows of a target, shared by the specs of a search."""

    #: The specs failing on it, with their findings.
    failing: Mapping[str, Finding]
    #: The better-conditioned forms each failing spec passes on.
    steadied: Mapping[str, tuple[str, ...]]
    #: Whether one better-conditioned form passes every failing spec.
    unstable: bool
    #: The better-conditioned forms tried.
    tried: tuple[str, ...]
    #: A lower precision explaining every failing spec.
    lowered: Precision | None


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
    #: The case at its best conditioning (the same numbers in float64; LayerNorm's rows also
    #: shifted to zero mean). Fresh cases are the evidence an explanation must also match, and
    #: a formula is told from another there by its values: on a poorly conditioned case, code
    #: that arranges the right formula another way rounds beyond the formula's own bound (a
    #: row far from zero), and the right explanation would be refused. Precision and
    #: conditioning themselves are read off the counterexample and the hand-picked cases.
    conditioned: Callable[[Any], Any] = _unchanged
    #: The hard corners, drawn instead of ``cases`` under the ``hard`` profile.
    hard_cases: Callable[[], st.SearchStrategy[Any]] | None = None
    #: Specs whose form the target must keep throughout a case: each of its answers may hold
    #: under any accepted form alone, but one layer reads its ``p`` one way in the forward
    #: and the backward pass (:meth:`_disagreements`).
    agree: tuple[str, ...] = ()

    def run(self, spec: Spec, adapter: Any, options: SearchSettings) -> CheckOutcome:
        hard = options.profile == "hard" and self.hard_cases is not None
        cases = self.hard_cases() if hard else self.cases()  # type: ignore[misc]
        outcome, failure = searched(
            spec,
            cases,
            lambda case: self.examine(spec, adapter, case),
            self.explicit(),
            options,
            settle=lambda mismatch: self._named_on_separating_cases(spec, adapter, mismatch),
            # Every spec of this search draws the same cases for the same target and settings.
            draws=(id(self), options.target, options.seed, options.max_examples, hard),
        )
        if isinstance(failure, Mismatch):
            return self._diagnose(spec, adapter, failure, outcome, options.checked)
        if outcome.outcome is Outcome.PASS and self.repeatable:
            return self._repeatability(spec, adapter, outcome)
        return outcome

    def examine(self, spec: Spec, adapter: Any, case: Any) -> Finding:
        """Drive the target through one case and judge ``spec`` on what it did. Anything raised
        while driving it, or a phase this spec needs that raised, is the target's
        (:class:`TargetRaised`); anything raised while judging is the checker's own.

        What a repeatable target did on this case is kept (small records only, in the memory of
        the target being checked: :func:`~eqconform.verify.search.observations`) and judged
        again for the other specs of this search instead of asking the target the same question
        once per spec: the equations are deterministic, and :meth:`_repeatability` checks that
        the target is too.
        """
        records = self._records(adapter, case)
        try:
            findings = [judge(self.graph, spec.id, record) for record in records]
            if self.agree and all(finding.passed for finding in findings):
                findings += self._disagreements(spec, records)
            return combine_findings(findings)
        except QuantityRaised as raised:  # a phase of the target that this spec needs raised
            raise TargetRaised(case, raised.error) from raised.error

    def _disagreements(self, spec: Spec, records: Sequence[Record]) -> list[Finding]:
        """A failing finding for each record on which ``spec`` holds only under another form
        of an :attr:`agree` spec than the case's reading: the form under which the most of
        this search's specs hold on all their records (the canonical one on a tie). Each spec
        passing under some form on its own is not enough: a dropout that divides by 1 - p
        going forward and by p going back follows neither reading of p."""
        judged = [
            spec_id
            for spec_id, use in self.graph.uses.items()
            if not use.borrowed and not self.graph.spec(spec_id).statistical
        ]
        found = []
        for held in self.agree:
            forms = [v.id for v in self.graph.spec(held).variants if v.accepted]
            under: dict[str, list[dict[str, Finding]]] = {}
            for spec_id in judged:
                for record in records:
                    checked, _ = checked_quantities(self.graph, spec_id, record.observed)
                    if any(held in self.graph.chain(q, record.observed) for q in checked):
                        under.setdefault(spec_id, []).append(
                            {f: judge(self.graph, spec_id, record, {held: f}) for f in forms}
                        )
            if spec.id not in under:
                continue
            holds = {
                spec_id: {f for f in forms if all(each[f].passed for each in judged_records)}
                for spec_id, judged_records in under.items()
            }
            reading = max(
                forms, key=lambda f: (sum(f in h for h in holds.values()), -forms.index(f))
            )
            for each in under[spec.id]:
                if each[reading].passed:
                    continue
                own = sorted(f for f in forms if each[f].passed)
                name = f"{held} as {' or '.join(own)}"
                found.append(
                    dataclasses.replace(
                        each[reading],
                        named_under=each[own[0]].combination if own else (),
                        borrowed=(
                            (
                                name,
                                f"It holds only with {name}, while the rest of this layer "
                                f"follows {held} as {reading}: one layer must keep one reading "
                                "throughout",
                            ),
                        ),
                    )
                )
        return found

    def _records(self, adapter: Any, case: Any) -> list[Record]:
        """What the target did on ``case``: from its memory when it is repeatable and was
        asked before, else driven afresh (raising :class:`TargetRaised` for what it raised)."""
        memory = current_observations() if self.repeatable else None
        kept = (id(self), case)
        records = memory.get(kept) if memory is not None else None
        if records is None:
            try:
                with quiet_target():
                    records = self.observe(adapter, case, self.graph)
            except Exception as error:  # raised while driving the target: the target's
                raise TargetRaised(case, error) from error
            if memory is not None:
                memory.keep(kept, records)
        return records

    def _named_on_separating_cases(self, spec: Spec, adapter: Any, failure: Mismatch) -> Mismatch:
        """The known deviation as the hand-picked cases name it. A shrunk counterexample is
        small, and on small inputs documented forms can coincide (on one step of a small run, an
        AdamW without bias correction matches the decay of the updated weights); the
        ``explicit`` cases are chosen to tell them apart. A name both agree on wins; else the
        separating case's; with none, the counterexample's own. A separating case that fails
        under no known name takes the counterexample's name away: on a one-step run, adding
        the decay term (W + lr wd W) comes as near to L2-coupled decay as that deviation does,
        and only the longer run shows it is neither."""
        names = _deviation_names(failure.finding)
        for case in self.explicit():
            try:
                finding = self.examine(spec, adapter, case)
            except TargetRaised:
                continue
            if finding.passed:
                continue
            separated = _deviation_names(finding)
            if not separated:
                if not names:
                    continue
                unnamed = dataclasses.replace(
                    failure.finding, deviations=frozenset(), borrowed=(), named_under=()
                )
                return Mismatch(failure.case, unnamed)
            keep = (names & separated) or separated
            renamed = dataclasses.replace(
                failure.finding,
                deviations=frozenset(keep & set(finding.deviations | failure.finding.deviations)),
                borrowed=tuple(
                    sorted({b for b in failure.finding.borrowed + finding.borrowed if b[0] in keep})
                ),
                named_under=failure.finding.named_under if names & keep else finding.named_under,
            )
            return Mismatch(failure.case, renamed)
        return failure

    def _on_separating_cases(
        self, spec: Spec, adapter: Any, read: Callable[[Record], Record]
    ) -> tuple[bool, Finding | None]:
        """Whether a lower precision explains the hand-picked cases too, and the first of them
        that names a known deviation under it. A shrunk counterexample can be so small that a
        wrong answer (zeros) sits within a float32 bound of a true value near zero, or that two
        documented forms coincide at that precision; the separating cases are neither."""
        holds, named, _ = self._separating_cases(spec, adapter, read)
        return holds, named

    def _separating_cases(
        self, spec: Spec, adapter: Any, read: Callable[[Record], Record]
    ) -> tuple[bool, Finding | None, bool]:
        """:meth:`_on_separating_cases`, and whether a case gave evidence (failed at the given
        precision and was explained at the lower one)."""
        named = None
        evidenced = False
        for case in self.explicit():
            try:
                records = self._records(adapter, case)
            except TargetRaised:  # a case the target cannot run explains nothing
                return False, None, False
            for record in records:
                try:
                    if judge(self.graph, spec.id, record).passed:
                        continue
                except QuantityRaised:
                    return False, None, False
                explained = _explained(self.graph, spec, read(record))
                if explained is None:
                    return False, None, False
                evidenced = True
                if named is None and _deviation_names(explained):
                    named = explained
        return True, named, evidenced

    def _confirmed(
        self, spec: Spec, adapter: Any, finding: Finding, precision: Precision
    ) -> Finding | None:
        """The finding of ``spec``'s counterexample read at ``precision`` if that reading
        explains it and the hand-picked cases too. A counterexample too small to say anything
        at that precision (LayerNorm's gradient of a two-feature row, 1e-9 against float16's
        floor) takes the evidence of the hand-picked cases."""
        if finding.record is None or _deviation_names(finding):
            return None
        judged = _explained(self.graph, spec, precision.read(finding.record), vacuous=True)
        if judged is None:
            return None
        holds, _, evidenced = self._separating_cases(spec, adapter, precision.read)
        return judged if holds and (evidenced or not judged.vacuous) else None

    def _diagnose(
        self,
        spec: Spec,
        adapter: Any,
        failure: Mismatch,
        outcome: CheckOutcome,
        checked: frozenset[str] | None = None,
    ) -> CheckOutcome:
        """Tell a loss of accuracy, a lower precision and another formula apart.

        The diagnosis is of the counterexample, shared by every spec of this search that fails
        on it (:meth:`_case_diagnosis`): one cause does not get two contradicting names. The
        minimal counterexample is re-run in better-conditioned forms: if every spec that failed
        passes on one, the formulas are right and lose accuracy at this input ("numerically
        unstable"). Else a lower precision than the target was given
        (:meth:`_confirmed`) that explains every failing spec here and on the hand-picked
        cases names them all. Else each spec is judged on its own: passing a better-conditioned
        form, it is unstable; else a lower precision may explain it alone; else, having failed
        the better-conditioned forms too, it follows another formula.
        """
        diagnosis = self._case_diagnosis(adapter, failure.case, {spec.id: failure.finding})
        failing = {**diagnosis.failing, spec.id: failure.finding}
        joint = _joint(spec.id, failing)
        # Reported at a spec of this run (``checked``): never at one the report will not show.
        members = [m for m in (spec.id, *joint) if checked is None or m == spec.id or m in checked]
        lead = self._lead(adapter, members, failing, diagnosis.lowered)
        note = _joint_note(spec.id, joint, failure.finding, lead) if joint else ""
        outcome = dataclasses.replace(outcome, joint=tuple(joint))
        ratio = failure.finding.ratio
        steadied = diagnosis.steadied.get(spec.id, ())
        others = [s for s in failing if s != spec.id and s not in joint]
        shared_cause = diagnosis.unstable or diagnosis.lowered is not None
        if joint and lead != spec.id and not shared_cause:
            # Where the cause is not one both share, the joint finding is told once, at its
            # lead; here it is only pointed to. A shared cause (a loss of accuracy or of
            # precision every member shows) is said by each, the finding reported at the lead.
            # What the target computes is the lead's to say, and said here too: the student
            # looking at this equation sees it. Not for a known deviation the lead names.
            explained = (
                ()
                if _deviation_names(failing[lead])
                else self._explanations(spec, adapter, failure.finding, joint)
            )
            return _joint_outcome(spec, outcome, failure.finding, lead, joint, explained)
        if diagnosis.unstable or steadied:
            verdict = (
                f"Right formula, numerically unstable: the error here is {ratio:.3g} times the "
                f"tolerance, but the same check passes on {' and on '.join(steadied)}, so the "
                "implementation follows the equation and loses accuracy at inputs like this one."
            )
            if others:
                verdict += (
                    f" The same holds for {', '.join(others)}, failing on this input too."
                    if diagnosis.unstable
                    else f" {', '.join(others)} also fail on this input, and on the "
                    "better-conditioned forms too."
                )
        else:
            lowered = diagnosis.lowered or self._lowered(spec, adapter, failure.finding)
            judged = (
                self._confirmed(spec, adapter, failure.finding, lowered)
                if lowered is not None
                else None
            )
            if lowered is not None and judged is not None:
                _, named = self._on_separating_cases(spec, adapter, lowered.read)
                shared = others if diagnosis.lowered is not None else ()
                return _with_precision(
                    spec,
                    outcome,
                    failure.finding,
                    lowered,
                    named or judged,
                    shared=shared,
                    note=note,
                )
            if not diagnosis.tried:
                if outcome.variant is not None:  # a known deviation: named, its formula shown
                    return dataclasses.replace(
                        outcome,
                        message=f"{note} {outcome.message}".strip(),
                        explanations=self._deviation(spec, failure.finding, outcome.variant),
                    )
                explained = self._explanations(spec, adapter, failure.finding, joint)
                return dataclasses.replace(
                    outcome,
                    message=f"{note} {outcome.message} {_matches(explained)}".strip(),
                    explanations=tuple(e.summary() for e in explained),
                )
            verdict = (
                f"Follows another formula: it also fails on {' or '.join(diagnosis.tried)}, so "
                "the discrepancy is not a loss of accuracy."
            )
        exactness = exact_note(self.graph, failure.finding)
        verdict = f"{verdict} {note}".strip()
        # What it computes instead, for another formula that is no known deviation.
        unnamed = verdict.startswith("Follows another formula") and outcome.variant is None
        explained = self._explanations(spec, adapter, failure.finding, joint) if unnamed else ()
        if unnamed:
            verdict += f" {_matches(explained)}"
        summaries = tuple(e.summary() for e in explained)
        if outcome.variant is not None and verdict.startswith("Follows another formula"):
            summaries = self._deviation(spec, failure.finding, outcome.variant)
        return CheckOutcome(
            **{
                **outcome.__dict__,
                "message": f"{verdict} {outcome.message} {exactness}".strip(),
                "explanations": summaries,
            }
        )

    def _deviation(self, spec: Spec, finding: Finding, name: str) -> tuple[ExplanationSummary, ...]:
        """The formula of the known deviation ``name`` a failure follows, as its explanation
        (:func:`~eqconform.verify.explanation.deviation`)."""
        try:
            explained = deviation(self.graph, spec.id, finding, name)
        except (ValueError, TypeError, KeyError, ArithmeticError):
            return ()  # a courtesy, as the other explanations are
        return (explained.summary(),) if explained is not None else ()

    def _explanations(
        self, spec: Spec, adapter: Any, finding: Finding, joint: Sequence[str] = ()
    ) -> tuple[Explanation, ...]:
        """What the target computes instead (:func:`~eqconform.verify.explanation.explain`)
        by this spec's equation or a joint finding's others, tested on the counterexample, the
        hand-picked cases and a few fresh ones."""
        if finding.record is None or known_deviation(spec, finding) is not None:
            return ()
        records = [finding.record]
        # The same fresh cases for every failure of this search: drawn once per process.
        fresh = _FRESH.get(id(self))
        if fresh is None:
            fresh = _FRESH[id(self)] = [
                self.conditioned(case) for case in drawn_cases(self.cases(), FRESH_CASES)
            ]
        cases = [*self.explicit(), *fresh]
        for case in cases:
            try:
                records += self._records(adapter, case)
            except TargetRaised:  # a case the target cannot run tells nothing
                continue
        # Only records whose answers are all arrays: the others have nothing to match.
        usable = [
            record
            for record in records
            if not any(
                isinstance(record.values.get(q), (NotAnArray, Raised)) for q in record.observed
            )
        ]
        # A joint finding is explained once: its other members ask the same question of the
        # same answers (their checks run in this process, one search per component).
        asked = _digest((*sorted((spec.id, *joint)), repr(finding.combination)), usable)
        if asked in _EXPLAINED:
            return _EXPLAINED[asked]
        try:
            explained = explain(self.graph, (spec.id, *joint), finding.combination, usable)
        except (ValueError, TypeError, KeyError, ArithmeticError):
            # An explanation is a courtesy: a failure stays a failure without one, never an
            # error of the check.
            explained = ()
        if len(_EXPLAINED) >= _EXPLAINED_KEPT:
            _EXPLAINED.clear()
        _EXPLAINED[asked] = explained
        return explained

    def _lead(
        self,
        adapter: Any,
        members: Sequence[str],
        failing: Mapping[str, Finding],
        lowered: Precision | None,
    ) -> str:
        """The spec a joint finding is reported at (:func:`_lead`), a known deviation being
        named under the lower precision that explains the case when there is one (here or,
        as each member's verdict names it, on the hand-picked cases)."""
        if lowered is not None:
            named = {}
            for member in members:
                spec, record = self.graph.spec(member), failing[member].record
                judged = (
                    _explained(self.graph, spec, lowered.read(record))
                    if record is not None
                    else None
                )
                if judged is None or not _deviation_names(judged):
                    _, on_cases = self._on_separating_cases(spec, adapter, lowered.read)
                    judged = on_cases or judged
                named[member] = judged if judged is not None else failing[member]
            failing = named
        return _lead(members, failing, list(self.graph.uses))

    def _lowered(self, spec: Spec, adapter: Any, finding: Finding) -> Precision | None:
        """The lower precision that explains this spec's failure alone, confirmed on the
        hand-picked cases."""
        if finding.record is None:
            return None
        for precision in precision_readings(finding.record, self.graph.coefficients):
            if self._confirmed(spec, adapter, finding, precision) is not None:
                return precision
        return None

    def _judged_specs(self) -> list[Spec]:
        """The specs this search judges (borrowed ones have no verdict of their own)."""
        return [
            use.spec
            for use in self.graph.uses.values()
            if not use.borrowed and not use.spec.proof_only
        ]

    def _case_diagnosis(
        self, adapter: Any, case: Any, known: Mapping[str, Finding]
    ) -> CaseDiagnosis:
        """What the target does on one counterexample, for every spec of this search: which
        fail, which pass on a better-conditioned form of it, and a lower precision explaining
        them all. Computed once per (target, search, case) and kept in the target's memory, so
        every spec failing there reads the same diagnosis."""
        memory = current_observations() if self.repeatable else None
        key = ("diagnosis", id(self), case)
        kept = memory.note(key) if memory is not None else None
        if isinstance(kept, CaseDiagnosis):
            return kept
        failing: dict[str, Finding] = dict(known)
        # A stochastic target gives other draws on the same input: what it does there says
        # nothing of the draws the other specs failed on.
        for other in self._judged_specs() if self.repeatable else ():
            if other.id in failing:
                continue
            try:
                finding = self.examine(other, adapter, case)
            except TargetRaised:
                continue
            if finding.observable and not finding.passed:
                failing[other.id] = finding
        alternatives = list(self.recondition(case))
        steadied: dict[str, list[str]] = {}
        unstable = False
        for description, alternative in alternatives:
            passing = []
            for spec_id in failing:
                try:
                    finding = self.examine(self.graph.spec(spec_id), adapter, alternative)
                except TargetRaised:
                    continue
                if finding.passed and finding.observable and not finding.vacuous:
                    passing.append(spec_id)
                    steadied.setdefault(spec_id, []).append(description)
            unstable = unstable or len(passing) == len(failing)
        lowered = None
        if not unstable and not steadied:
            lowered = self._lowered_for_all(adapter, failing)
        diagnosis = CaseDiagnosis(
            failing=failing,
            steadied={spec_id: tuple(found) for spec_id, found in steadied.items()},
            unstable=unstable,
            tried=tuple(description for description, _ in alternatives),
            lowered=lowered,
        )
        if memory is not None:
            memory.annotate(key, diagnosis)
        return diagnosis

    def _lowered_for_all(self, adapter: Any, failing: Mapping[str, Finding]) -> Precision | None:
        """The first lower-precision reading under which every failing spec passes or follows a
        known deviation, here and on the hand-picked cases."""
        first = next(iter(failing.values()), None)
        if first is None or first.record is None:
            return None
        for precision in precision_readings(first.record, self.graph.coefficients):
            if all(
                self._confirmed(self.graph.spec(spec_id), adapter, finding, precision) is not None
                for spec_id, finding in failing.items()
            ):
                return precision
        return None

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


#: How many freshly drawn cases an explanation of a failure must also match (with the
#: counterexample and the hand-picked cases): values that happen to coincide on one input
#: (a learning rate of 0.1 and 1 - beta1) do not on several.
FRESH_CASES = 4

#: The precisions a target may compute in, finest first (bfloat16 has float32's range but a
#: coarser significand than float16).
LOWER_PRECISIONS: tuple[np.dtype | FloatFormat, ...] = (
    np.dtype(np.float32),
    np.dtype(np.float16),
    BFLOAT16,
)


def _narrowest_answer(record: Record) -> np.dtype | None:
    """The narrowest floating dtype among the record's observed arrays, if narrower than the
    inputs it was given."""
    narrow = None
    for name in record.observed:
        value = record.values.get(name)
        dtype = getattr(value, "dtype", None)
        if dtype is None or dtype.kind != "f":
            continue
        if epsilon(dtype) > epsilon(narrow if narrow is not None else record.dtype):
            narrow = dtype
    return narrow


def _answered_in(dtype: np.dtype) -> Callable[[Record], Record]:
    def read(record: Record) -> Record:
        widened = {
            name: np.asarray(value, dtype=np.float64)
            if name in record.observed and getattr(value, "dtype", None) == dtype
            else value
            for name, value in record.values.items()
        }
        return dataclasses.replace(record, values=widened, dtype=dtype)

    return read


def _held_in_float32(name: str) -> Callable[[Record], Record]:
    def read(record: Record) -> Record:
        value = record.values.get(name)
        if not isinstance(value, float):
            return record
        return dataclasses.replace(record, values={**record.values, name: float(np.float32(value))})

    return read


def _coefficients_in(dtype: np.dtype) -> Callable[[Record], Record]:
    return lambda record: dataclasses.replace(record, coefficients_in=dtype)


def _computed_in(dtype: np.dtype | FloatFormat) -> Callable[[Record], Record]:
    return lambda record: dataclasses.replace(record, dtype=dtype)


def precision_readings(record: Record, coefficients: Collection[str] = ()) -> list[Precision]:
    """The lower-precision readings of a record, most specific first: an answer returned in a
    narrower dtype than its inputs, read at that dtype; each scalar input (a hyperparameter)
    rounded to float32, the rest at the given precision; the ``coefficients`` (the graph's
    :attr:`~.SpecGraph.coefficients` and expressions of them alone, such as ``1 - beta1**t``)
    computed in float32, the arrays at the given precision; the whole computation at float32, then
    float16, then bfloat16 (within the rounding bound of the same formula evaluated at that
    precision), the coarsest format every answer is exactly representable in first: the
    bounds of a finer format also cover a coarser one's results, and the answers' own last
    bits tell which format their last operation rounded to. A half precision is read only
    when every answer is a number of it."""
    readings: list[Precision] = []
    narrow = _narrowest_answer(record)
    if narrow is not None:
        readings.append(Precision(f"answered in {narrow}", _answered_in(narrow), narrow))
    given = record.dtype
    if epsilon(np.float32) > epsilon(given):
        for name, value in record.values.items():
            if name not in record.observed and isinstance(value, float):
                if float(np.float32(value)) != value:
                    readings.append(
                        Precision(f"with {name} held in float32", _held_in_float32(name))
                    )
    lower = [dtype for dtype in LOWER_PRECISIONS if epsilon(dtype) > epsilon(given)]
    answers = [
        np.asarray(record.values[name], dtype=np.float64)
        for name in record.observed
        if isinstance(record.values.get(name), np.ndarray)
    ]
    # The coarsest format every answer is exact in first (bfloat16 numbers in float16's range
    # are float16 numbers too), then the others finest first.
    exact_in = [dtype for dtype in lower if _representable(answers, dtype)][::-1]
    # A half precision only on that evidence: its bound is so loose (2**-8 of the values for
    # bfloat16) that a dropped term can hide in it, while a computation in it rounds its
    # answers to it.
    lower = exact_in + [
        dtype for dtype in lower if dtype not in exact_in and epsilon(dtype) <= epsilon(np.float32)
    ]
    whole = [
        Precision(f"computed in {dtype}", _computed_in(dtype)) for dtype in lower if narrow is None
    ]
    # Named only if float32 rounds them (a weight decay of 0 is the same in any precision).
    scalars = sorted(
        name
        for name in coefficients
        if isinstance(value := record.values.get(name), float)
        and name not in record.observed
        and float(np.float32(value)) != value
    )
    # Coefficients in float32 and the arrays at the given precision: when 1 - beta2**t is
    # ill-conditioned its bound covers the whole computation in float32 as well, so the
    # answers' last bits decide. An answer that is no float32 number was not computed in
    # float32: the coefficients are tried first; otherwise the whole computation is.
    mixed = [
        Precision(
            f"with its coefficients ({', '.join(scalars)} and expressions of them alone) "
            "computed in float32",
            _coefficients_in(np.dtype(np.float32)),
        )
        for _ in scalars[:1]
        if epsilon(np.float32) > epsilon(given)
    ]
    with np.errstate(over="ignore"):
        wider = any(
            np.any(finite.astype(np.float32).astype(np.float64) != finite)
            for finite in (answer[np.isfinite(answer)] for answer in answers)
        )
    return readings + (mixed + whole if wider else whole + mixed)


#: How many distinct nonzero answers must be representable in a format before that is taken
#: as a sign the target computed in it (a handful of small integers are representable in all).
_REPRESENTABLE_EVIDENCE = 3


def _representable(answers: Sequence[np.ndarray], precision: np.dtype | FloatFormat) -> bool:
    """Whether every finite answer is exactly a number of ``precision``, on enough evidence."""
    values = np.concatenate([a.ravel() for a in answers]) if answers else np.zeros(0)
    values = values[np.isfinite(values) & (values != 0)]
    if np.unique(values).size < _REPRESENTABLE_EVIDENCE:
        return False
    if isinstance(precision, FloatFormat):  # bfloat16: a float32 whose low 16 bits are zero
        single = values.astype(np.float32)
        return bool(
            np.array_equal(single.astype(np.float64), values)
            and not np.any(single.view(np.uint32) & 0xFFFF)
        )
    with np.errstate(over="ignore"):
        return bool(np.array_equal(values.astype(precision).astype(np.float64), values))


def _explained(
    graph: SpecGraph, spec: Spec, record: Record, *, vacuous: bool = False
) -> Finding | None:
    """The finding of ``record`` if it passes or follows a known deviation, else None; a pass
    on no evidence (:attr:`~eqconform.verify.judge.Finding.vacuous`) only if ``vacuous``."""
    try:
        judged = judge(graph, spec.id, record)
    except QuantityRaised:
        return None
    # A reading under which the answer is within tolerance only where the bound is infinite
    # (float16 arithmetic promises nothing about 1 / (1 - 0.999**t)) explains nothing alone.
    evidence = vacuous or not judged.vacuous
    if judged.observable and ((judged.passed and evidence) or _deviation_names(judged)):
        return judged
    return None


def _with_precision(
    spec: Spec,
    outcome: CheckOutcome,
    finding: Finding,
    precision: Precision,
    lower: Finding,
    *,
    shared: Sequence[str] = (),
    note: str = "",
) -> CheckOutcome:
    """The verdict of a failure explained by a lower precision: its own diagnosis, with the
    variant identified under that precision (``shared``: the other specs failing on the same
    counterexample, which the same precision explains; ``note``: a joint finding's note)."""
    given = finding.record.dtype if finding.record else "given"
    how = precision.how
    also = (
        f" The same precision explains {', '.join(shared)}, failing on this input too."
        if shared
        else ""
    ) + (f" {note}" if note else "")
    if precision.answered is not None:
        first = f"it returns {precision.answered} for {given} inputs"
    else:
        first = f"the error here is {finding.ratio:.3g} times the tolerance of its {given} inputs"
    if lower.passed:
        variant = next((v.id for v in spec.forms if v.id in lower.variants), None)
        verdict = (
            f"Right formula, {how}: {first}, but the answer lies within the rounding bound of "
            f"the same formula {how} ({_share(lower.ratio)}). Not another "
            "formula, nor an equation losing accuracy at this input: precision is lost where "
            f"the implementation narrows its arithmetic.{also}"
        )
        return CheckOutcome(
            **{**outcome.__dict__, "variant": variant, "message": f"{verdict} {outcome.message}"}
        )
    known = known_deviation(spec, lower)
    assert known is not None  # _confirmed returns only findings that pass or deviate
    name, explanation = known
    verdict = (
        f"Follows a known deviation, {how}: {first}; within the rounding bound of that "
        f"precision the answer matches {name!r}. {explanation}{also}"
    )
    return CheckOutcome(
        **{**outcome.__dict__, "variant": name, "message": f"{verdict} {outcome.message}"}
    )


#: The fresh cases of each search (by its id: searches live as long as the process).
_FRESH: dict[int, list[Any]] = {}

#: Explanations found in this process, by :func:`_digest` of the question and the answers.
_EXPLAINED: dict[str, tuple[Explanation, ...]] = {}
_EXPLAINED_KEPT = 64


def _digest(question: Sequence[str], records: Sequence[Record]) -> str:
    """A digest of ``question`` and every value of ``records``: equal only for the same
    question asked of the same answers."""
    digest = hashlib.sha256(repr(tuple(question)).encode())
    for record in records:
        digest.update(record.label.encode())
        for name in sorted(record.values):
            value = record.values[name]
            digest.update(name.encode())
            if isinstance(value, np.ndarray):
                digest.update(f"{value.dtype}{value.shape}".encode())
                digest.update(np.ascontiguousarray(value).tobytes())
            else:
                digest.update(repr(value).encode())
    return digest.hexdigest()


def _joint(spec_id: str, failing: Mapping[str, Finding]) -> list[str]:
    """The specs failing on the same counterexample that cannot be told apart from ``spec_id``
    through what the target exposes: each was checked through the same quantity together with
    the other, so the one discrepancy lies in at least one of them."""
    finding = failing[spec_id]
    if not finding.together_with:
        return []
    return [
        other
        for other, found in failing.items()
        if other != spec_id
        and other in finding.together_with
        and spec_id in found.together_with
        and found.quantity == finding.quantity
    ]


def _lead(members: Sequence[str], failing: Mapping[str, Finding], order: Sequence[str]) -> str:
    """The spec a joint finding is reported at: the first (in the component's order) that
    names a known deviation, else the one whose accepted forms miss by most. The others come
    closer because their best prediction lets a neighbour take another form: the
    discrepancy is most likely where no such help is at hand."""
    ranked = sorted(members, key=order.index)
    named = [m for m in ranked if _deviation_names(failing[m])]
    if named:
        return named[0]
    return max(ranked, key=lambda m: failing[m].nearest)


def _joint_note(spec_id: str, joint: Sequence[str], finding: Finding, lead: str) -> str:
    through = f"through {finding.quantity} only" if finding.quantity else "together"
    where = "here" if lead == spec_id else f"at {lead}"
    return (
        f"Joint finding with {', '.join(joint)}: this target exposes too little to tell these "
        f"equations from {spec_id} (all are checked {through}), and they fail on the same "
        f"input; this is one finding, reported {where}."
    )


def _joint_outcome(
    spec: Spec,
    outcome: CheckOutcome,
    finding: Finding,
    lead: str,
    joint: Sequence[str],
    explained: Sequence[Explanation] = (),
) -> CheckOutcome:
    """The verdict of a spec whose failure is part of a joint finding reported at ``lead``,
    with what the target computes instead when that is found."""
    through = f"through {finding.quantity}" if finding.quantity else "together"
    note = (
        f"Joint finding, reported at {lead}: this target exposes too little to tell "
        f"{spec.id} apart from {', '.join(joint)} (they are checked {through} only), and they "
        f"fail on the same input. {spec.id} may itself be right: see {lead} for what the "
        "target computes."
    )
    if explained:
        note += f" {computes(explained)}"
    return CheckOutcome(
        **{
            **outcome.__dict__,
            "joint": tuple(joint),
            "message": f"{note} {outcome.message}".strip(),
            "explanations": tuple(e.summary() for e in explained),
        }
    )


def _share(ratio: float) -> str:
    return "exactly its value" if ratio == 0 else f"at most {ratio:.2g} of that bound"


def _deviation_names(finding: Finding) -> set[str]:
    """The known deviations a finding agrees with: the spec's own, and those of borrowed specs."""
    return set(finding.deviations) | {name for name, _ in finding.borrowed}


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


def _matches(explained: Sequence[Explanation]) -> str:
    """The sentence saying what the target computes instead, or that nothing near matches."""
    if not explained:
        return (
            "No formula within two changes of the equation (a dropped term, a missing root, "
            "a swapped symbol, ...) matches its answers."
        )
    return computes(explained)
