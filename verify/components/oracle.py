"""The oracle search: drawn cases, every observed quantity judged against the spec's oracle.

Most checks are this one: draw a case, drive the target through it (``observe`` returns the
records of what it did), and judge the spec on every record
(:func:`~eqconform.verify.judge.judge`). A failure is then diagnosed (a right formula that loses
accuracy, or another formula), and a pass of a deterministic equation is confirmed by running
one case twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
from hypothesis import strategies as st

from eqconform.specs.model import Spec

from ..compiler import reduced_sizes
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
from ..results import Outcome
from ..search import Mismatch, SearchSettings, TargetRaised, current_observations
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
            return self._diagnose(spec, adapter, failure, outcome)
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
        try:
            return combine_findings([judge(self.graph, spec.id, record) for record in records])
        except QuantityRaised as raised:  # a phase of the target that this spec needs raised
            raise TargetRaised(case, raised.error) from raised.error

    def _named_on_separating_cases(self, spec: Spec, adapter: Any, failure: Mismatch) -> Mismatch:
        """The known deviation as the hand-picked cases name it. A shrunk counterexample is
        small, and on small inputs documented forms can coincide (on one step of a small run, an
        AdamW without bias correction matches the decay of the updated weights); the
        ``explicit`` cases are chosen to tell them apart. A name both agree on wins; else the
        separating case's; with none, the counterexample's own."""
        names = _deviation_names(failure.finding)
        for case in self.explicit():
            try:
                finding = self.examine(spec, adapter, case)
            except TargetRaised:
                continue
            separated = _deviation_names(finding) if not finding.passed else set()
            if not separated:
                continue
            keep = (names & separated) or separated
            renamed = dataclasses.replace(
                failure.finding,
                deviations=frozenset(keep & set(finding.deviations | failure.finding.deviations)),
                borrowed=tuple(
                    sorted({b for b in failure.finding.borrowed + finding.borrowed if b[0] in keep})
                ),
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
        named = None
        for case in self.explicit():
            try:
                with quiet_target():
                    records = self.observe(adapter, case, self.graph)
            except Exception:  # noqa: BLE001 - a case the target cannot run explains nothing
                return False, None
            for record in records:
                try:
                    if judge(self.graph, spec.id, record).passed:
                        continue
                except QuantityRaised:
                    return False, None
                explained = _explained(self.graph, spec, read(record))
                if explained is None:
                    return False, None
                if named is None and _deviation_names(explained):
                    named = explained
        return True, named

    def _diagnose(
        self, spec: Spec, adapter: Any, failure: Mismatch, outcome: CheckOutcome
    ) -> CheckOutcome:
        """Tell a loss of accuracy, a lower precision and another formula apart.

        The minimal counterexample is re-run in better-conditioned forms: passing there means
        the formula is right and loses accuracy at this input ("numerically unstable"). Else a
        failure that names no known deviation may be the right formula at a lower precision than
        it was given (:func:`lower_precision`), which the hand-picked cases must confirm. Else,
        having failed the better-conditioned forms too, it follows another formula.
        """
        alternatives = list(self.recondition(failure.case))
        passed_on = []
        for description, alternative in alternatives:
            try:
                finding = self.examine(spec, adapter, alternative)
            except TargetRaised:
                continue
            if finding.passed and finding.observable:
                passed_on.append(description)
        ratio = failure.finding.ratio
        if passed_on:
            verdict = (
                f"Right formula, numerically unstable: the error here is {ratio:.3g} times the "
                f"tolerance, but the same check passes on {' and on '.join(passed_on)}, so the "
                "implementation follows the equation and loses accuracy at inputs like this one."
            )
        else:
            # Only now: a whole computation at a lower precision looks like an unstable formula
            # at the given one, and the better-conditioned forms (where the search has any)
            # have just ruled that out.
            lowered = lower_precision(self.graph, spec, failure.finding)
            if lowered is not None:
                how, read, judged = lowered
                holds, named = self._on_separating_cases(spec, adapter, read)
                if holds:
                    return _with_precision(spec, outcome, failure.finding, how, named or judged)
            if not alternatives:
                return outcome
            tried = " or ".join(description for description, _ in alternatives)
            verdict = (
                f"Follows another formula: it also fails on {tried}, so the discrepancy is not a "
                "loss of accuracy."
            )
        exactness = exact_note(self.graph, failure.finding)
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


#: The precisions a target may compute in, widest first.
LOWER_PRECISIONS = (np.dtype(np.float32), np.dtype(np.float16))


#: A way of reading a record at a lower precision: what it says, and the record so read.
Reading = tuple[str, Callable[[Record], Record]]


def _narrowest_answer(record: Record) -> np.dtype | None:
    """The narrowest floating dtype among the record's observed arrays, if narrower than the
    inputs it was given."""
    narrow = None
    for name in record.observed:
        value = record.values.get(name)
        dtype = getattr(value, "dtype", None)
        if dtype is None or dtype.kind != "f":
            continue
        if np.finfo(dtype).eps > np.finfo(narrow or record.dtype).eps:
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


def _computed_in(dtype: np.dtype) -> Callable[[Record], Record]:
    return lambda record: dataclasses.replace(record, dtype=dtype)


def precision_readings(record: Record) -> list[Reading]:
    """The lower-precision readings of a record, most specific first: an answer returned in a
    narrower dtype than its inputs, read at that dtype; each scalar input (a hyperparameter)
    rounded to float32, the rest at the given precision; the whole computation at float32, then
    float16 (within the rounding bound of the same formula evaluated at that precision)."""
    readings: list[Reading] = []
    narrow = _narrowest_answer(record)
    if narrow is not None:
        readings.append((f"answered in {narrow}", _answered_in(narrow)))
    given = record.dtype
    if np.finfo(np.float32).eps > np.finfo(given).eps:
        for name, value in record.values.items():
            if name not in record.observed and isinstance(value, float):
                if float(np.float32(value)) != value:
                    readings.append((f"with {name} held in float32", _held_in_float32(name)))
    readings += [
        (f"computed in {dtype}", _computed_in(dtype))
        for dtype in LOWER_PRECISIONS
        if np.finfo(dtype).eps > np.finfo(given).eps and narrow is None
    ]
    return readings


def _explained(graph: SpecGraph, spec: Spec, record: Record) -> Finding | None:
    """The finding of ``record`` if it passes or follows a known deviation, else None."""
    try:
        judged = judge(graph, spec.id, record)
    except QuantityRaised:
        return None
    if judged.observable and (judged.passed or _deviation_names(judged)):
        return judged
    return None


def lower_precision(
    graph: SpecGraph, spec: Spec, finding: Finding
) -> tuple[str, Callable[[Record], Record], Finding] | None:
    """Whether a failing record is the spec's formula at a lower precision than the inputs it
    was given: the first reading (:func:`precision_readings`) under which the record passes or
    follows a known deviation (then named under the precision actually used), with the finding
    under it. A failure that already follows a known deviation is not re-read."""
    record = finding.record
    if record is None or _deviation_names(finding):
        return None
    for how, read in precision_readings(record):
        judged = _explained(graph, spec, read(record))
        if judged is not None:
            return how, read, judged
    return None


def _with_precision(
    spec: Spec, outcome: CheckOutcome, finding: Finding, how: str, lower: Finding
) -> CheckOutcome:
    """The verdict of a failure explained by a lower precision: its own diagnosis, with the
    variant identified under that precision."""
    given = finding.record.dtype if finding.record else "given"
    if how.startswith("answered in"):
        first = f"it returns {how.removeprefix('answered in ')} for {given} inputs"
    else:
        first = f"the error here is {finding.ratio:.3g} times the tolerance of its {given} inputs"
    if lower.passed:
        variant = next((v.id for v in spec.forms if v.id in lower.variants), None)
        verdict = (
            f"Right formula, {how}: {first}, but the answer lies within the rounding bound of "
            f"the same formula {how} (at most {lower.ratio:.2g} of that bound). Not another "
            "formula, nor an equation losing accuracy at this input: precision is lost where "
            "the implementation narrows its arithmetic."
        )
        return CheckOutcome(
            **{**outcome.__dict__, "variant": variant, "message": f"{verdict} {outcome.message}"}
        )
    known = known_deviation(spec, lower)
    assert known is not None  # lower_precision returns only findings that pass or deviate
    name, explanation = known
    verdict = (
        f"Follows a known deviation, {how}: {first}; within the rounding bound of that "
        f"precision the answer matches {name!r}. {explanation}"
    )
    return CheckOutcome(
        **{**outcome.__dict__, "variant": name, "message": f"{verdict} {outcome.message}"}
    )


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
