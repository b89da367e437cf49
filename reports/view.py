"""The view model every human-readable format shares: what a report says, before any markup.

The Markdown, HTML and JUnit renderers and ``eqconform diff`` say the same thing the same way
because they take their wording from here: outcome, proof and change labels, numbers and
errors formatted for display, the meta and summary lines, and the content of the two overview
tables: :func:`scoreboard` (equations down, targets across) and :func:`defaults_rows` (the
hyperparameter defaults the documents state, and the homework API's constructor defaults that
they do not, beside each target's).

Everything here returns plain text or plain data; escaping for a format is the renderer's job.
"""

import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eqconform.specs.defaults import DefaultKind
from eqconform.verify.results import (
    CHANGED,
    CHANGES,
    FIXED,
    NEW,
    REGRESSED,
    VARIANT_CHANGED,
    Outcome,
    Report,
    Result,
    SpecSummary,
    TargetSummary,
)

__all__ = [
    "ABSENT",
    "CHANGE_STYLES",
    "MISSING",
    "NOT_CHECKED",
    "OUTCOME_LABELS",
    "PROOF_LABELS",
    "ChangeStyle",
    "DefaultKind",
    "DefaultsRow",
    "ScoreboardRow",
    "baseline_text",
    "change_label",
    "components",
    "constructor_column",
    "counts_text",
    "defaults_rows",
    "errata_cell",
    "errata_columns",
    "format_error",
    "format_number",
    "format_value",
    "meta_items",
    "proof_label",
    "scoreboard",
    "scoreboard_targets",
    "spec_status",
    "summary_text",
    "target_version",
    "visible_controls",
    "worst_outcome",
]

#: What a table shows where there is nothing to show (no result, no value).
MISSING = "—"

#: The status of an equation that no target was checked against.
NOT_CHECKED = "not checked"

OUTCOME_LABELS: Mapping[Outcome, str] = {
    Outcome.PASS: "✅ pass",
    Outcome.FAIL: "❌ fail",
    Outcome.ERROR: "⚠️ error",
    Outcome.SKIP: "⏭ skip",
}

# Worst first: an equation's status is that of its worst result.
_SEVERITY = {Outcome.FAIL: 3, Outcome.ERROR: 2, Outcome.SKIP: 1, Outcome.PASS: 0}

PROOF_LABELS: Mapping[str, str] = {
    "proved": "✅ proved",
    "refuted": "❌ refuted",
    "not proved": "⚠️ not proved",
}


@dataclass(frozen=True)
class ChangeStyle:
    """How a change since the baseline is shown: its ``mark`` before the word, and the outcome
    whose colour it borrows (a regression looks like a failure, a fix like a pass)."""

    mark: str
    looks_like: Outcome


#: The one table of change styles, keyed by the change vocabulary of :mod:`~.model`
#: (:data:`~eqconform.verify.results.CHANGES`), in its order.
CHANGE_STYLES: Mapping[str, ChangeStyle] = {
    REGRESSED: ChangeStyle("🔺", Outcome.FAIL),
    FIXED: ChangeStyle("✅", Outcome.PASS),
    VARIANT_CHANGED: ChangeStyle("🔀", Outcome.SKIP),
    CHANGED: ChangeStyle("↔️", Outcome.ERROR),
    NEW: ChangeStyle("➕", Outcome.SKIP),
}

# Meta keys shown first and under these names; any other key follows, in its own order.
_META_LABELS: Mapping[str, str] = {
    "version": "eqconform",
    "seed": "seed",
    "max_examples": "max examples",
    "date": "date",
}


# Text ------------------------------------------------------------------------------------------

# C0 control characters other than tab, newline and carriage return, and DEL: an ANSI colour code
# in an exception message would otherwise recolour the terminal showing the report, or vanish in
# a browser.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def visible_controls(text: str) -> str:
    """``text`` with control characters written as ``\\xNN`` so they are seen, not obeyed."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def proof_label(status: str) -> str:
    """A proof status with its mark: ``✅ proved``; an unknown status gets ``❓``."""
    return PROOF_LABELS.get(status, f"❓ {status}")


def change_label(change: str | None) -> str:
    """The mark of a result's change since the baseline (``🔺 regressed``); an em dash when it
    did not change, and an unknown change as it is."""
    if change is None:
        return MISSING
    style = CHANGE_STYLES.get(change)
    return change if style is None else f"{style.mark} {change}"


def format_number(value: float | None, spec: str = ".3g") -> str:
    """``value`` for display; ``None`` (not measured) is an em dash, infinities are ``∞``."""
    if value is None:
        return MISSING
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return format(value, spec)


def format_error(result: Result) -> str:
    """The worst error in tolerance units, with the absolute error at the same point."""
    if result.max_error is None and result.max_abs_error is None:
        return MISSING
    text = f"{format_number(result.max_error)} tol"
    if result.max_abs_error is not None:
        text += f" (abs {format_number(result.max_abs_error, '.2e')})"
    return text


def meta_items(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs for the meta line: version, seed, max examples, date, then the rest."""
    items = [(label, str(meta[key])) for key, label in _META_LABELS.items() if key in meta]
    items += [
        (key.replace("_", " "), str(value))
        for key, value in meta.items()
        if key not in _META_LABELS
    ]
    return items


def counts_text(results: Iterable[Result]) -> str:
    """``5 pass, 2 fail, 1 error, 1 skip``: every outcome, zeros included."""
    outcomes = [result.outcome for result in results]
    return ", ".join(f"{outcomes.count(outcome)} {outcome.value}" for outcome in Outcome)


def findings_count(results: Iterable[Result]) -> int:
    """Failures, a joint finding (equations a target cannot tell apart) counted once."""
    groups: set[tuple[str, frozenset[str]]] = set()
    for result in results:
        if result.outcome is Outcome.FAIL:
            groups.add((result.target, frozenset({result.spec, *result.joint})))
    return len(groups)


def summary_text(report: Report) -> str:
    """``FAIL: 5 pass, 2 fail, 1 error, 1 skip (9 checks on 2 targets; 3 proofs, 1 proved)``,
    and how many findings the failures are when some are joint."""
    proved = sum(1 for proof in report.proofs if proof.status == "proved")
    verdict = "PASS" if report.passed else "FAIL"
    failures = sum(1 for result in report.results if result.outcome is Outcome.FAIL)
    findings = findings_count(report.results)
    plural = "s" if findings != 1 else ""
    joint = (
        f"; the {failures} failures are {findings} finding{plural}" if findings < failures else ""
    )
    return (
        f"{verdict}: {counts_text(report.results)} ({len(report.results)} checks on "
        f"{len(report.targets)} targets{joint}; {len(report.proofs)} proofs, {proved} proved)"
    )


def baseline_text(report: Report) -> str:
    """``Against the baseline old.json: 1 regressed, 2 fixed, ...`` (empty without a baseline)."""
    if report.baseline is None:
        return ""
    counts = report.baseline.get("counts", {})
    parts = [f"{counts.get(kind, 0)} {kind}" for kind in CHANGES]
    removed = len(report.baseline.get("removed", ()))
    text = f"Against the baseline {report.baseline.get('file', '')}: {', '.join(parts)}"
    if removed:
        text += f"; {removed} of its results are not in this report"
    return text


def errata_columns(errata: Iterable[Mapping[str, Any]]) -> list[str]:
    """The errata table's columns: every key of every entry, in order of first appearance."""
    return list(dict.fromkeys(key for entry in errata for key in entry))


def errata_cell(value: Any) -> str:
    """One cell of the errata table: a list (the specs an erratum concerns) comma-separated."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


# Equations and their results ----------------------------------------------------------------


def components(report: Report) -> dict[str, list[SpecSummary]]:
    """Specs grouped by component, components in order of first appearance."""
    groups: dict[str, list[SpecSummary]] = {}
    for spec in report.specs:
        groups.setdefault(spec.component, []).append(spec)
    return groups


def worst_outcome(results: Iterable[Result]) -> Outcome:
    """The worst outcome of ``results`` (fail, then error, skip, pass); at least one result."""
    return max((result.outcome for result in results), key=_SEVERITY.__getitem__)


def spec_status(report: Report, spec: SpecSummary) -> str:
    """The equation's worst outcome over every target, or :data:`NOT_CHECKED`."""
    results = list(report.results_for(spec.id))
    return worst_outcome(results).value if results else NOT_CHECKED


def target_version(target: TargetSummary) -> str | None:
    """The target's own ``version`` entry of its defaults, if it reports one."""
    version = (target.defaults or {}).get("version")
    return None if version is None else str(version)


# Scoreboard: equations down, targets across ------------------------------------------------------


@dataclass(frozen=True)
class ScoreboardRow:
    """One equation of the scoreboard: its results per target, in the column order."""

    spec: SpecSummary
    cells: tuple[tuple[Result, ...], ...]


def scoreboard_targets(report: Report) -> list[str]:
    """The scoreboard's columns: the listed targets, then any other target that has results."""
    names = [target.name for target in report.targets]
    names += [result.target for result in report.results]
    return list(dict.fromkeys(names))


def scoreboard(report: Report) -> dict[str, list[ScoreboardRow]]:
    """Rows by component; equations without any result (proof-only ones) are left out."""
    columns = scoreboard_targets(report)
    groups: dict[str, list[ScoreboardRow]] = {}
    for component, specs in components(report).items():
        rows = [_scoreboard_row(report, spec, columns) for spec in specs]
        rows = [row for row in rows if any(row.cells)]
        if rows:
            groups[component] = rows
    return groups


def _scoreboard_row(report: Report, spec: SpecSummary, columns: Sequence[str]) -> ScoreboardRow:
    results = list(report.results_for(spec.id))
    cells = tuple(tuple(r for r in results if r.target == name) for name in columns)
    return ScoreboardRow(spec, cells)


# Hyperparameter defaults: the documents' values beside each target's -----------------------------


class _Absent:
    """The type of :data:`ABSENT`."""

    def __repr__(self) -> str:
        return "ABSENT"


#: A value nobody gave (the target or the documents do not name this parameter). ``None`` is
#: different: the parameter exists but its value is unknown.
ABSENT: Any = _Absent()

# Parameters in the order the documents introduce them; any other follows in order of appearance.
_PARAMETER_ORDER = ("lr", "beta1", "beta2", "eps", "weight_decay", "p")


@dataclass(frozen=True)
class DefaultsRow:
    """One (component, parameter): the reference value and where it comes from, then each
    target's.

    ``documented`` is the value a target is compared with, ``stated`` where it comes from (a
    citation, or why none can be given), and ``kind`` whether the text of a document states it
    or only the homework API's constructor gives it: the two are shown apart
    (:attr:`in_text`, :attr:`constructor_default`), never one as the other.
    """

    component: str
    parameter: str
    documented: Any
    stated: str
    values: tuple[Any, ...]
    kind: DefaultKind = DefaultKind.STATED

    @property
    def in_text(self) -> Any:
        """The value the documents' text states; :data:`ABSENT` if it states none."""
        return self.documented if self.kind is DefaultKind.STATED else ABSENT

    @property
    def constructor_default(self) -> Any:
        """The homework API's constructor default, where that is all there is; else ABSENT."""
        return self.documented if self.kind is DefaultKind.CONSTRUCTOR else ABSENT

    @property
    def reference(self) -> str:
        """What a target's differing value differs from, in words."""
        owner = "the documents'" if self.kind is DefaultKind.STATED else "the homework API's"
        return f"{owner} {format_value(self.documented)}"

    def differs(self, index: int) -> bool:
        """Whether target ``index`` gives a known value other than the reference's known value
        (stated in the text, or else the homework API's constructor default)."""
        value = self.values[index]
        if _unknown(self.documented) or _unknown(value):
            return False
        return not _same_value(self.documented, value)


def constructor_column(rows: Iterable[DefaultsRow]) -> bool:
    """Whether a defaults table needs its column of the homework API's constructor defaults."""
    return any(not _unknown(row.constructor_default) for row in rows)


def defaults_rows(report: Report) -> list[DefaultsRow]:
    """The union of documented and target parameters, grouped by component.

    Components come in the order the report's equations introduce them, then any other in order
    of appearance (documents first), so the table does not depend on how a mapping was built.
    """
    documented = {
        component: _split_betas(parameters, documented=True)
        for component, parameters in _components_of(report.documented_defaults)
    }
    targets = [
        {
            component: _split_betas(values, documented=False)
            for component, values in _components_of(target.defaults)
        }
        for target in report.targets
    ]
    rows = []
    named = [*documented, *(component for target in targets for component in target)]
    for component in _component_order(report, named):
        stated = documented.get(component, {})
        given = [target.get(component, {}) for target in targets]
        for parameter in _parameters(stated, *given):
            value, where, kind = _documented_entry(stated.get(parameter, ABSENT))
            rows.append(
                DefaultsRow(
                    component=str(component),
                    parameter=str(parameter),
                    documented=value,
                    stated=where,
                    values=tuple(values.get(parameter, ABSENT) for values in given),
                    kind=kind,
                )
            )
    return rows


def format_value(value: Any) -> str:
    """A default for display: ``—`` when absent, ``unknown`` for ``None``, floats exactly."""
    if value is ABSENT:
        return MISSING
    if value is None:
        return "unknown"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, (tuple, list)):
            return "(" + ", ".join(format_value(item) for item in value) + ")"
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    number = float(value)
    return repr(number) if math.isfinite(number) else format_number(number)


def _components_of(defaults: Mapping[str, Any] | None) -> list[tuple[str, Mapping[str, Any]]]:
    """The (component, parameters) entries; scalar entries (``version``) are not components."""
    return [(key, value) for key, value in (defaults or {}).items() if isinstance(value, Mapping)]


def _component_order(report: Report, names: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(names))
    known = {str(name).lower(): index for index, name in enumerate(components(report))}
    return sorted(names, key=lambda name: known.get(str(name).lower(), len(known)))


def _split_betas(parameters: Mapping[str, Any], documented: bool) -> dict[str, Any]:
    """``parameters`` with a ``betas`` pair split into ``beta1`` and ``beta2``; nothing else.

    Documented entries are (value, where stated[, kind]) entries, so there ``betas`` is
    ``((beta1, beta2), where[, kind])``. A ``beta1`` or ``beta2`` given on its own wins.
    """
    result = dict(parameters)
    if "betas" not in result:
        return result
    if documented:
        betas, where, kind = _documented_entry(result["betas"])
    else:
        betas, where, kind = result["betas"], "", DefaultKind.STATED
    if not _is_pair(betas):
        return result
    del result["betas"]
    for key, beta in zip(("beta1", "beta2"), betas, strict=True):
        result.setdefault(key, (beta, where, kind.value) if documented else beta)
    return result


def _parameters(*groups: Mapping[str, Any]) -> list[str]:
    names = list(dict.fromkeys(name for group in groups for name in group))
    known = {name: index for index, name in enumerate(_PARAMETER_ORDER)}
    return sorted(names, key=lambda name: known.get(name, len(known)))


def _documented_entry(entry: Any) -> tuple[Any, str, DefaultKind]:
    """(value, where, kind) from a ``[value, where, kind]`` entry, or from a ``[value, where]``
    pair or a bare value (a report that does not say the kind: the value is the documents', as
    such entries always meant); a bare value has no stated source."""
    if isinstance(entry, (tuple, list)) and len(entry) == 3 and isinstance(entry[2], str):
        value, where, kind = entry
        known = {member.value: member for member in DefaultKind}
        return value, "" if where is None else str(where), known.get(kind, DefaultKind.STATED)
    if _is_pair(entry):
        value, where = entry
        return value, "" if where is None else str(where), DefaultKind.STATED
    return entry, "", DefaultKind.STATED


def _is_pair(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2


def _unknown(value: Any) -> bool:
    return value is ABSENT or value is None


def _same_value(documented: Any, value: Any) -> bool:
    """Equality as a reader would judge it: ``0`` is ``0.0``, NaN is NaN, pairs elementwise."""
    if isinstance(documented, (tuple, list)) and isinstance(value, (tuple, list)):
        return len(documented) == len(value) and all(
            _same_value(a, b) for a, b in zip(documented, value, strict=True)
        )
    if _is_number(documented) and _is_number(value):
        a, b = float(documented), float(value)
        return a == b or (math.isnan(a) and math.isnan(b))
    try:
        return bool(documented == value)
    except (TypeError, ValueError):  # an == that is not a truth value (an array, say)
        return documented is value


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
