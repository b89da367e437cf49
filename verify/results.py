"""The one result model every renderer reads.

A :class:`Report` is plain data: what was checked (the catalogue entries, as display-ready
summaries), what was proved, and one :class:`Result` per (spec, target). Renderers receive a
``Report`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

__all__ = [
    "CHANGED",
    "CHANGES",
    "FIXED",
    "FORMAT_VERSION",
    "ExplanationSummary",
    "NEW",
    "REGRESSED",
    "VARIANT_CHANGED",
    "Outcome",
    "ProofRecord",
    "Report",
    "Result",
    "SpecSummary",
    "StatisticalTest",
    "SymbolSummary",
    "TargetSummary",
    "VariantSummary",
]

#: Version of the JSON layout; bumped whenever a field changes meaning or disappears.
FORMAT_VERSION = 1

# The change vocabulary: how a result can differ from the baseline's (:attr:`Result.change`).
# Each word is written here once; `eqconform diff` classifies with these constants and
# :data:`eqconform.reports.view.CHANGE_STYLES` says how each is shown.
#: It went from pass or skip to fail or error.
REGRESSED = "regressed"
#: It went from fail or error to pass.
FIXED = "fixed"
#: It kept its outcome but follows another variant.
VARIANT_CHANGED = "variant changed"
#: Its outcome changed otherwise (fail to error, pass to skip, ...).
CHANGED = "changed"
#: The baseline has no result for it.
NEW = "new"
#: Every change, in the order reports list them.
CHANGES = (REGRESSED, FIXED, VARIANT_CHANGED, CHANGED, NEW)


class Outcome(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


@dataclass(frozen=True)
class StatisticalTest:
    """One hypothesis test run on a stochastic equation, with its error rates."""

    name: str
    statistic: str
    p_value: float
    alpha: float
    power: str
    passed: bool


@dataclass(frozen=True)
class Result:
    """The verdict on one spec for one target.

    ``max_error`` is the worst discrepancy seen, in units of the tolerance (a pass has it at
    most 1); ``max_abs_error`` is the same point's absolute difference from the oracle.
    ``counterexample`` is the minimal failing input (after Hypothesis shrank it), rendered as
    text; ``reproduce`` is a shell command that re-runs exactly this check. ``change`` is set
    only in a report made against a baseline (``eqconform report --baseline``): how this
    result differs from the baseline's, one of :data:`CHANGES`, or ``None`` when it does not.
    """

    spec: str
    target: str
    outcome: Outcome
    variant: str | None = None
    examples: int = 0
    max_error: float | None = None
    max_abs_error: float | None = None
    counterexample: str | None = None
    reproduce: str | None = None
    message: str = ""
    observed_through: str | None = None
    statistics: tuple[StatisticalTest, ...] = ()
    seconds: float = 0.0
    change: str | None = None
    #: The other specs of a joint finding: equations that fail together on one counterexample
    #: and cannot be told apart through what the target exposes (one finding, not several).
    joint: tuple[str, ...] = ()
    #: The spec whose search found ``counterexample`` when it is not this one's: the specs of
    #: one component try the counterexample a neighbour found first, so that one wrong
    #: computation is shown on one input (the reproduce command runs both).
    found_by: str | None = None
    #: What the target computes instead, when a formula next to the spec's matches every
    #: answer examined (:mod:`~eqconform.verify.explanation`), the simplest first.
    explanations: tuple[ExplanationSummary, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.PASS, Outcome.SKIP)


@dataclass(frozen=True)
class ExplanationSummary:
    """A formula a failing target's answers match: ``quantity = formula``, the spec's own
    expression changed by ``operators``, in LaTeX and as SymPy ``srepr``."""

    quantity: str
    latex: str
    srepr: str
    description: str
    operators: tuple[str, ...]
    examples_matched: int
    #: The formula as presentation MathML, the changed parts highlighted (left out of the JSON,
    #: as the variants' MathML is: a report read back shows the LaTeX).
    mathml: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "formula": {"latex": self.latex, "srepr": self.srepr},
            "description": self.description,
            "operators": list(self.operators),
            "examples_matched": self.examples_matched,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExplanationSummary:
        formula = data.get("formula") or {}
        return cls(
            quantity=data.get("quantity", ""),
            latex=formula.get("latex", ""),
            srepr=formula.get("srepr", ""),
            description=data.get("description", ""),
            operators=tuple(data.get("operators") or ()),
            examples_matched=int(data.get("examples_matched", 0)),
        )


@dataclass(frozen=True)
class ProofRecord:
    id: str
    title: str
    source: str
    specs: tuple[str, ...]
    status: str
    method: str
    detail: str = ""
    seconds: float = 0.0
    #: For which sizes the outcome holds: "general", or the finite sizes the computation
    #: covered ("C = 1..8"); empty when the proof did not say (a refutation, an error).
    scope: str = ""
    #: Taken from the proof cache (proved by an earlier run with the same specs and SymPy);
    #: ``seconds`` is then that run's time.
    cached: bool = False


@dataclass(frozen=True)
class SymbolSummary:
    name: str
    meaning: str
    domain: str


@dataclass(frozen=True)
class VariantSummary:
    id: str
    accepted: bool
    source: str | None
    note: str
    mathml: str
    latex: str


@dataclass(frozen=True)
class SpecSummary:
    """A catalogue entry ready for display: the statement as MathML and LaTeX from SymPy."""

    id: str
    title: str
    component: str
    source: str
    symbols: tuple[SymbolSummary, ...]
    variants: tuple[VariantSummary, ...]

    @property
    def mathml(self) -> str:
        return self.variants[0].mathml

    @property
    def latex(self) -> str:
        return self.variants[0].latex


@dataclass(frozen=True)
class TargetSummary:
    """A checked target; ``defaults`` holds its hyperparameter defaults by component
    (``{"adam": {"eps": 1e-08, ...}, "layernorm": {"eps": 1e-05}, ...}``), as far as known."""

    name: str
    description: str
    defaults: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """Everything a renderer may show."""

    meta: Mapping[str, Any]
    targets: tuple[TargetSummary, ...]
    specs: tuple[SpecSummary, ...]
    proofs: tuple[ProofRecord, ...]
    results: tuple[Result, ...]
    errata: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    #: The documents' defaults by component: ``{"adam": {"eps": [1e-08, "where stated"]}}``.
    documented_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Set when the report was made against a baseline report: ``file`` (as given), ``counts``
    #: (results by :data:`CHANGES` entry) and ``removed`` (the baseline's results that have
    #: no counterpart here, as ``{"spec", "target", "outcome"}``). JSON key only when set.
    baseline: Mapping[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return all(result.ok for result in self.results)

    def counts(self) -> dict[str, int]:
        counts = {outcome.value: 0 for outcome in Outcome}
        for result in self.results:
            counts[result.outcome.value] += 1
        return counts

    def results_for(self, spec_id: str) -> Iterator[Result]:
        return (result for result in self.results if result.spec == spec_id)

    def proofs_for(self, spec_id: str) -> Iterator[ProofRecord]:
        return (proof for proof in self.proofs if spec_id in proof.specs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """The report whose :meth:`to_dict` gave ``data`` (a parsed ``report.json`` of this
        :data:`FORMAT_VERSION`, checked by the caller). The JSON leaves out each variant's
        MathML, so those read back empty; everything else round-trips."""
        return cls(
            meta=dict(data.get("meta") or {}),
            targets=tuple(
                TargetSummary(t["name"], t.get("description", ""), t.get("defaults") or {})
                for t in data.get("targets") or ()
            ),
            specs=tuple(_spec_from_dict(spec) for spec in data.get("specs") or ()),
            proofs=tuple(
                ProofRecord(**{**proof, "specs": tuple(proof.get("specs") or ())})
                for proof in data.get("proofs") or ()
            ),
            results=tuple(_result_from_dict(result) for result in data["results"]),
            errata=tuple(dict(entry) for entry in data.get("errata") or ()),
            documented_defaults={
                component: {name: tuple(value) for name, value in values.items()}
                for component, values in (data.get("documented_defaults") or {}).items()
            },
            baseline=data.get("baseline"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON layout (``format`` is :data:`FORMAT_VERSION`)."""
        return {
            "format": FORMAT_VERSION,
            "tool": {"name": "eqconform", "version": self.meta.get("version", "unknown")},
            "meta": dict(self.meta),
            "targets": [asdict(target) for target in self.targets],
            "specs": [_spec_dict(spec) for spec in self.specs],
            "proofs": [asdict(proof) for proof in self.proofs],
            "results": [_result_dict(result) for result in self.results],
            "errata": [dict(entry) for entry in self.errata],
            "documented_defaults": {
                k: {p: list(v) for p, v in d.items()} for k, d in self.documented_defaults.items()
            },
            "summary": self.counts(),
            **({"baseline": _plain(self.baseline)} if self.baseline is not None else {}),
        }


def _result_dict(result: Result) -> dict[str, Any]:
    data = asdict(result)
    data["outcome"] = result.outcome.value
    data["statistics"] = [asdict(test) for test in result.statistics]
    data["joint"] = list(result.joint)
    data["explanations"] = [explanation.to_dict() for explanation in result.explanations]
    if result.change is None:  # only reports made against a baseline carry the key
        del data["change"]
    return data


def _result_from_dict(data: Mapping[str, Any]) -> Result:
    known = {name for name in Result.__dataclass_fields__}
    fields = {key: value for key, value in data.items() if key in known}
    fields["outcome"] = Outcome(data["outcome"])
    fields["statistics"] = tuple(StatisticalTest(**test) for test in data.get("statistics") or ())
    fields["joint"] = tuple(data.get("joint") or ())
    fields["explanations"] = tuple(
        ExplanationSummary.from_dict(entry) for entry in data.get("explanations") or ()
    )
    return Result(**fields)


def _spec_from_dict(data: Mapping[str, Any]) -> SpecSummary:
    return SpecSummary(
        id=data["id"],
        title=data.get("title", ""),
        component=data.get("component", ""),
        source=data.get("source", ""),
        symbols=tuple(SymbolSummary(**symbol) for symbol in data.get("symbols") or ()),
        variants=tuple(
            VariantSummary(**{"mathml": "", **variant}) for variant in data.get("variants") or ()
        ),
    )


def _plain(value: Any) -> Any:
    """Mappings and sequences as dicts and lists, for the JSON layout."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _spec_dict(spec: SpecSummary) -> dict[str, Any]:
    data = asdict(spec)
    for variant in data["variants"]:
        variant.pop("mathml")
    return data
