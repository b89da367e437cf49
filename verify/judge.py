"""Judge one spec on one record of what a target did.

A :class:`Record` holds the inputs a target received and the quantities it produced (its
output and whatever inner state it exposes). :func:`judge` predicts a quantity of the spec
from the record with the spec graph, under every combination of variants of the equations
involved, and compares the prediction with the observation within the derived tolerance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eqconform.specs.model import Spec

from . import tolerance
from .graph import Combination, Memo, SpecGraph
from .targets.protocol import NotAnArray, Raised

__all__ = [
    "Alternative",
    "ContractViolation",
    "Finding",
    "QuantityRaised",
    "Raised",
    "Record",
    "compare",
    "ensure_unchanged",
    "judge",
    "known_deviation",
]


class ContractViolation(Exception):
    """The target broke the rules of the game rather than an equation: it wrote into its
    inputs, or gave different answers to the same question."""


def ensure_unchanged(
    given: Mapping[str, np.ndarray], pristine: Mapping[str, np.ndarray], phase: str
) -> None:
    """Raise :class:`ContractViolation` if the target wrote into an array it was handed."""
    for name, array in given.items():
        before = pristine[name]
        if np.shape(array) != np.shape(before) or not np.array_equal(array, before, equal_nan=True):
            changed = (
                _changed_entries(np.asarray(array), np.asarray(before))
                if np.shape(array) == np.shape(before)
                else "all"
            )
            raise ContractViolation(
                f"the target modified its input {name} in place during {phase} ({changed} of "
                f"{np.size(before)} entries changed); inputs must be left as they were given"
            )


def _changed_entries(array: np.ndarray, before: np.ndarray) -> int:
    """Entries that differ, a NaN that stayed NaN not counted (NaN != NaN)."""
    differ = array != before
    if np.issubdtype(array.dtype, np.inexact) and np.issubdtype(before.dtype, np.inexact):
        differ &= ~(np.isnan(array) & np.isnan(before))
    return int(np.count_nonzero(differ))


class QuantityRaised(Exception):
    """A quantity needed for a check is :class:`Raised`: the target raised producing it."""

    def __init__(self, error: BaseException):
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error


@dataclass(frozen=True)
class Alternative:
    """Another reading of an input, as code may have kept it: ``value`` under ``name``, said
    in ``words`` ("t counted once per layer: layer l of L at step k takes t = L(k-1) + l + 1")."""

    name: str
    words: str
    value: Any


@dataclass(frozen=True)
class Record:
    """One observation: ``values`` has inputs and observed outputs, ``observed`` names the
    latter, ``dtype`` is the precision the target was given, ``label`` says what was run.

    ``locate`` turns an index into an observed array into words (a flattened optimizer run
    says which step, parameter and entry it is).
    """

    label: str
    values: Mapping[str, Any]
    observed: frozenset[str]
    #: The precision the target was given (a format NumPy lacks when read at bfloat16).
    dtype: np.dtype | tolerance.FloatFormat
    locate: Callable[[tuple[int, ...]], str] | None = None
    #: The precision a reading says the target computes its coefficients in (scalar
    #: hyperparameters and expressions of them alone, :attr:`.SpecGraph.coefficients`), when
    #: another than ``dtype``.
    coefficients_in: np.dtype | tolerance.FloatFormat | None = None
    #: For an input, the values code may have taken for it instead (Adam's step count ``t``
    #: advanced once per layer): never judged by, only offered to explanations.
    alternatives: Mapping[str, tuple[Alternative, ...]] = field(default_factory=dict)
    #: Parts of the answers code may compute on lines of their own (an optimizer's weights
    #: and biases), as ``words -> mask`` over the entries of the observed arrays: a bug may
    #: lie in one. Never judged by, only offered to explanations.
    parts: Mapping[str, Any] = field(default_factory=dict)
    #: Bounds the oracle derived from this record's inputs, shared by every predictor judged
    #: on it (:class:`~.graph.Predictor`). Not an argument: a record made from another with
    #: other values starts with its own, empty.
    derived: Memo = field(default_factory=dict, init=False, repr=False, compare=False)

    def where(self, index: tuple[int, ...]) -> str:
        if self.locate is not None:
            return self.locate(index)
        return f"[{', '.join(map(str, index))}]" if index else ""


@dataclass(frozen=True)
class Comparison:
    ratio: float
    abs_error: float
    detail: str
    quantity: str = ""
    index: tuple[int, ...] = ()
    #: Whether the answer differs from the prediction and at every entry the tolerance is
    #: infinite or the value lies within the format's floor (the formula promises no accuracy
    #: at this input, at this precision): a pass on no evidence, which may stand as a verdict
    #: but explains nothing.
    unbounded: bool = False


@dataclass(frozen=True)
class Finding:
    """The verdict of one spec on one record.

    ``variants``: the spec's accepted variants the record agrees with; ``deviations``: its
    rejected variants the record agrees with; ``ratio``: the error in tolerance units under the
    closest accepted form.
    """

    observable: bool
    passed: bool
    variants: frozenset[str] = frozenset()
    deviations: frozenset[str] = frozenset()
    ratio: float = 0.0
    abs_error: float = 0.0
    through: str | None = None
    detail: str = ""
    #: Other specs whose unexposed quantities were part of the prediction.
    together_with: tuple[str, ...] = ()
    #: Where the closest accepted form was compared: quantity, entry, variants and record.
    quantity: str = ""
    index: tuple[int, ...] = ()
    combination: tuple[tuple[str, str], ...] = ()
    record: Record | None = None
    #: Known deviations of borrowed specs the record agrees with (the spec's own form being
    #: accepted), as ``(name, explanation)``: ``("uncorrected with decay-scaled-by-lr", ...)``.
    borrowed: tuple[tuple[str, str], ...] = ()
    #: A pass only through entries whose tolerance is infinite (:attr:`Comparison.unbounded`):
    #: no false alarm, but no evidence either, so no diagnosis rests on it.
    vacuous: bool = False
    #: The smallest error (in tolerance units) of the spec's accepted forms with any of its
    #: neighbours' forms: below ``ratio`` when a neighbour's known deviation comes nearer than
    #: the document's equations (which a failure is quoted against).
    nearest: float = 0.0
    #: The forms under which the record matches a known deviation (the first such), for the
    #: formula that explains it.
    named_under: tuple[tuple[str, str], ...] = ()


def known_deviation(spec: Spec, finding: Finding) -> tuple[str, str] | None:
    """The known deviation a failing finding follows, as ``(name, explanation)``: one of the
    spec's own rejected forms first, else the deviation of a borrowed spec it was checked with."""
    if finding.deviations:
        name = min(finding.deviations)
        note = spec.variant(name).note
        return name, f"It follows the known deviation {name!r}" + (f": {note}" if note else "")
    return min(finding.borrowed) if finding.borrowed else None


def _borrowed_deviation(
    graph: SpecGraph, combination: Combination, own: str
) -> tuple[str, str] | None:
    """The combination's borrowed specs in rejected forms, named with the spec's own form."""
    deviating = []
    for spec_id, variant_id in combination:
        use = graph.uses[spec_id]
        form = use.spec.variant(use.spec.form_of(variant_id))
        if use.borrowed and not form.accepted:
            deviating.append((spec_id, use.spec, form))
    if not deviating:
        return None
    name = " and ".join(form.id for _, _, form in deviating) + f" with {own}"
    explanation = " ".join(
        f"Its {spec.title[0].lower() + spec.title[1:]} follows {spec_id}'s known deviation "
        f"{form.id!r}" + (f": {form.note.rstrip('.')}." if form.note else ".")
        for spec_id, spec, form in deviating
    )
    return name, explanation


def _narrower(given: np.dtype | tolerance.FloatFormat, observed: np.dtype) -> bool:
    """Whether an answer of dtype ``observed`` carries less precision than inputs of ``given``."""
    if observed.kind not in "fc":
        return False
    if isinstance(given, np.dtype) and given.kind not in "fc":
        return False
    return tolerance.epsilon(observed) > tolerance.epsilon(given)


def compare(
    observed: Any,
    predicted: np.ndarray,
    bound: np.ndarray,
    record: Record,
    name: str,
    *,
    equation: str = "the equation",
) -> Comparison:
    """The worst entry of ``|observed - predicted|`` relative to the tolerance of the dtype the
    target was given (an answer in a narrower dtype than its inputs fails as such: judging it at
    the looser tolerance of the dtype it chose would let it pick its own tolerance)."""
    if isinstance(observed, NotAnArray):
        return Comparison(float("inf"), float("inf"), f"{name} is {observed.description}")
    observed_array = np.asarray(observed)
    if observed_array.shape != np.shape(predicted):
        return Comparison(
            float("inf"),
            float("inf"),
            f"{name} has shape {observed_array.shape}; the equation gives {np.shape(predicted)}",
        )
    if observed_array.dtype.kind not in "fc":
        return Comparison(
            float("inf"),
            float("inf"),
            f"{name} has dtype {observed_array.dtype}; "
            f"the equation gives real numbers ({record.dtype} inputs)",
        )
    if _narrower(record.dtype, observed_array.dtype):
        return Comparison(
            float("inf"),
            float("inf"),
            f"{name} came back as {observed_array.dtype} for {record.dtype} inputs: "
            f"the answer is narrower than its inputs (compute and return in {record.dtype})",
        )
    values = observed_array.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        allowed = tolerance.allowed(bound, record.dtype)
        error = np.abs(values - predicted)
        both_nan = np.isnan(values) & np.isnan(predicted)
        same_inf = np.isinf(values) & (values == predicted)
        error = np.where(both_nan | same_inf, 0.0, error)
        error = np.where(np.isnan(error), np.inf, error)
        ratio = np.where(np.isinf(allowed), 0.0, error / allowed)
    if ratio.size == 0:
        return Comparison(0.0, 0.0, "")
    # No evidence either where the values lie below the format's normal range (the floor):
    # float16 cannot tell 1e-3 from 1e-6 there.
    with np.errstate(invalid="ignore"):
        empty = np.isinf(allowed) | (tolerance.floor(record.dtype) >= np.abs(predicted))
    unbounded = bool(np.all(empty) and np.any(error > 0))
    # The first entry out of tolerance (in a flattened run, the earliest step), else the worst.
    outside = np.flatnonzero(ratio > 1.0)
    worst = int(outside[0]) if outside.size else int(np.argmax(ratio))
    index = tuple(int(i) for i in np.unravel_index(worst, ratio.shape))
    return Comparison(
        float(np.max(ratio)),
        float(error.flat[worst]),
        f"{name}{record.where(index)} = {float(values.flat[worst])!r}, "
        f"{equation} gives {float(predicted.flat[worst])!r} "
        f"(tolerance {float(allowed.flat[worst]):.3g})",
        name,
        index,
        unbounded,
    )


def judge(
    graph: SpecGraph, spec_id: str, record: Record, pinned: Mapping[str, str] | None = None
) -> Finding:
    """The verdict of ``spec_id`` on ``record``: whether some accepted form of it (with any
    form of the specs it is predicted together with) matches what the target answered.
    ``pinned`` holds some of those specs to one form each (``{"dropout.mask":
    "p-is-keep-probability"}``): a reading the target must keep throughout."""
    # An answer that is not an array fails the equation that defines it, as it is; to the other
    # equations it is a quantity the target did not expose (the oracle carries it instead).
    unusable = {q for q in record.observed if isinstance(record.values.get(q), NotAnArray)}
    own = [q for q in graph.defines(spec_id) if q in unusable]
    if own:
        return Finding(
            observable=True,
            passed=False,
            ratio=float("inf"),
            abs_error=float("inf"),
            detail=f"{own[0]} is {record.values[own[0]]} ({record.label})",
            quantity=own[0],
            record=record,
        )
    if unusable:
        record = dataclasses.replace(record, observed=record.observed - unusable)
    checked, through = checked_quantities(graph, spec_id, record.observed)
    if not checked:
        return Finding(observable=False, passed=True, detail=f"{spec_id} is not observable here")
    for quantity in checked:
        if isinstance(record.values.get(quantity), Raised):
            raise QuantityRaised(record.values[quantity].error)
    chain: list[str] = []
    for quantity in checked:
        chain.extend(s for s in graph.chain(quantity, record.observed) if s not in chain)
    spec = graph.spec(spec_id)
    accepted = {variant.id for variant in spec.variants if variant.accepted}
    u = tolerance.oracle_unit_roundoff(record.dtype)
    coefficients = record.coefficients_in
    values = {
        **record.values,
        "unit_roundoff": u,
        "coefficient_unit_roundoff": u
        if coefficients is None
        else tolerance.oracle_unit_roundoff(coefficients),
    }
    matching_accepted: set[str] = set()
    matching_rejected: set[str] = set()
    matching_borrowed: set[tuple[str, str]] = set()
    closest: Comparison | None = None
    closest_combination: tuple[tuple[str, str], ...] = ()
    fallback: tuple[Comparison, Combination] | None = None
    # Each combination is one value-and-bound evaluation. First the ones that can pass: the
    # spec's accepted forms with no borrowed spec deviating, each form only until one of its
    # combinations matches (a pass needs no more). Only if none matches are the rest
    # evaluated: what a failure follows (a rejected form, a borrowed deviation) is asked of
    # failures alone.
    passing: list[tuple[Combination, str, tuple[str, str] | None]] = []
    others: list[tuple[Combination, str, tuple[str, str] | None]] = []
    for combination in graph.combinations(chain):
        chosen = dict(combination)
        if pinned and any(
            graph.spec(held).form_of(chosen[held]) != graph.spec(held).form_of(form)
            for held, form in pinned.items()
            if held in chosen
        ):
            continue
        form = spec.form_of(chosen[spec_id])
        borrowed = _borrowed_deviation(graph, combination, form) if form in accepted else None
        (passing if form in accepted and borrowed is None else others).append(
            (combination, form, borrowed)
        )
    # A form matched only through infinite tolerances (``vacuous``) is still tried through its
    # other combinations, which may match on evidence.
    evidenced: set[str] = set()
    nearest = float("inf")
    named_under: Combination = ()
    for combination, form, _ in passing:
        if form in evidenced:
            continue
        comparison = _compare_combination(graph, combination, checked, record, values)
        if comparison.ratio <= 1.0:
            matching_accepted.add(form)
            if not comparison.unbounded:
                evidenced.add(form)
        nearest = min(nearest, comparison.ratio)
        if closest is None or _quoted_before(
            graph, comparison, combination, closest, closest_combination
        ):
            closest, closest_combination = comparison, combination
    if closest is not None:
        fallback = closest, closest_combination
    for combination, form, borrowed in others if not matching_accepted else ():
        comparison = _compare_combination(graph, combination, checked, record, values)
        # A known deviation is named on evidence only: never through an infinite tolerance.
        if comparison.ratio <= 1.0 and not comparison.unbounded:
            named_under = named_under or combination
            if borrowed is not None:
                matching_borrowed.add(borrowed)
            else:
                matching_rejected.add(form)
        if form in accepted and (fallback is None or comparison.ratio < fallback[0].ratio):
            fallback = comparison, combination
    if closest is None:  # every accepted form needs a borrowed spec in a rejected form
        assert fallback is not None  # every spec has at least one accepted variant
        closest, closest_combination = fallback
        nearest = closest.ratio
    return Finding(
        observable=True,
        passed=bool(matching_accepted),
        variants=frozenset(matching_accepted),
        deviations=frozenset(matching_rejected),
        ratio=closest.ratio,
        abs_error=closest.abs_error,
        through=through,
        detail=f"{closest.detail} ({record.label})" if closest.detail else record.label,
        together_with=tuple(s for s in chain if s != spec_id),
        quantity=closest.quantity,
        index=closest.index,
        combination=closest_combination,
        record=record,
        borrowed=tuple(sorted(matching_borrowed)),
        vacuous=bool(matching_accepted) and not evidenced,
        nearest=nearest,
        named_under=named_under,
    )


def _quoted_before(
    graph: SpecGraph,
    comparison: Comparison,
    combination: Combination,
    closest: Comparison,
    closest_combination: Combination,
) -> bool:
    """Whether a verdict quotes ``comparison`` rather than ``closest``: the smaller error,
    except that a failure is quoted against the document's equations, not against a
    neighbour's known deviation that happens to come nearer (the neighbours' forms are tried
    so that a right quantity passes whatever its neighbours do, not to describe a wrong one)."""
    if comparison.ratio <= 1.0 or closest.ratio <= 1.0:
        return comparison.ratio < closest.ratio
    plain = _all_accepted(graph, combination)
    if plain != _all_accepted(graph, closest_combination):
        return plain
    return comparison.ratio < closest.ratio


def _all_accepted(graph: SpecGraph, combination: Combination) -> bool:
    return all(
        graph.spec(spec_id).variant(graph.spec(spec_id).form_of(variant_id)).accepted
        for spec_id, variant_id in combination
    )


def checked_quantities(
    graph: SpecGraph, spec_id: str, observed: frozenset[str]
) -> tuple[list[str], str | None]:
    """The observed quantities a spec is judged by: its own, else the closest downstream one
    (returned second as well, as the quantity it is checked through)."""
    direct = [q for q in graph.defines(spec_id) if q in observed]
    if direct:
        return direct, None
    witnesses = [
        (len(chain), quantity)
        for quantity in graph.definer
        if quantity in observed and spec_id in (chain := graph.chain(quantity, observed))
    ]
    if not witnesses:
        return [], None
    _, closest = min(witnesses)
    return [closest], closest


def _compare_combination(
    graph: SpecGraph,
    combination: Combination,
    checked: list[str],
    record: Record,
    values: Mapping[str, Any],
) -> Comparison:
    # A prediction under another form than the canonical one says so: "the equation gives"
    # would pass a variant's value off as the document's.
    # An arrangement (the same formula, its operations in another order) is not another form,
    # and a rejected form is a known deviation, not the document's equation.
    forms = []
    for spec_id, variant_id in combination:
        spec = graph.spec(spec_id)
        form = spec.variant(spec.form_of(variant_id))
        if form.id != spec.canonical.id:
            forms.append(
                f"{spec_id} as {form.id}" + ("" if form.accepted else ", a known deviation")
            )
    equation = f"the equation ({'; '.join(forms)})" if forms else "the equation"
    worst: Comparison | None = None
    unbounded = True
    for quantity in checked:
        predicted, bound = graph.predictor(quantity, combination, record.observed)(
            values, record.derived
        )
        comparison = compare(
            record.values[quantity], predicted, bound, record, quantity, equation=equation
        )
        unbounded = unbounded and comparison.unbounded  # evidence from any quantity counts
        if worst is None or comparison.ratio > worst.ratio:
            worst = comparison
    assert worst is not None
    return dataclasses.replace(worst, unbounded=unbounded)
