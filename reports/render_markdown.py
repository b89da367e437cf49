"""The Markdown report (``report.md``): readable as plain text and as rendered GitHub Markdown.

The wording helpers at the top (outcome labels, number formatting, the meta and summary lines)
are shared with the HTML renderer so both reports say the same thing the same way, and so is
the content of its two overview tables: :func:`scoreboard` (equations down, targets across) and
:func:`defaults_rows` (the documents' hyperparameter defaults beside each target's).

Text that comes from the audited code (target names, messages) is backslash-escaped wherever
Markdown would interpret it, including ``<`` so that a message such as
``<script>alert(1)</script>`` renders as text rather than as raw HTML. Counterexamples and
reproduce commands go in fenced blocks, where nothing is interpreted, with a fence longer than
any backtick run they contain.
"""

import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eqconform.reports.model import (
    Outcome,
    ProofRecord,
    Report,
    Result,
    SpecSummary,
    TargetSummary,
)

__all__ = [
    "ABSENT",
    "CHANGE_LABELS",
    "MISSING",
    "OUTCOME_LABELS",
    "PROOF_LABELS",
    "DefaultsRow",
    "MarkdownRenderer",
    "ScoreboardRow",
    "baseline_text",
    "change_label",
    "components",
    "defaults_rows",
    "format_error",
    "format_number",
    "format_value",
    "meta_items",
    "proof_label",
    "scoreboard",
    "scoreboard_targets",
    "summary_text",
    "target_version",
    "visible_controls",
]

OUTCOME_LABELS: Mapping[Outcome, str] = {
    Outcome.PASS: "✅ pass",
    Outcome.FAIL: "❌ fail",
    Outcome.ERROR: "⚠️ error",
    Outcome.SKIP: "⏭ skip",
}

PROOF_LABELS: Mapping[str, str] = {
    "proved": "✅ proved",
    "refuted": "❌ refuted",
    "not proved": "⚠️ not proved",
}

# Meta keys shown first and under these names; any other key follows, in its own order.
_META_LABELS: Mapping[str, str] = {
    "version": "eqconform",
    "seed": "seed",
    "max_examples": "max examples",
    "date": "date",
}


# C0 control characters other than tab, newline and carriage return, and DEL: an ANSI colour code
# in an exception message would otherwise recolour the terminal showing the report, or vanish in
# a browser.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def visible_controls(text: str) -> str:
    """``text`` with control characters written as ``\\xNN`` so they are seen, not obeyed."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def proof_label(status: str) -> str:
    return PROOF_LABELS.get(status, f"❓ {status}")


def format_number(value: float | None, spec: str = ".3g") -> str:
    """``value`` for display; ``None`` (not measured) is an em dash, infinities are ``∞``."""
    if value is None:
        return "—"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return format(value, spec)


def format_error(result: Result) -> str:
    """The worst error in tolerance units, with the absolute error at the same point."""
    if result.max_error is None and result.max_abs_error is None:
        return "—"
    text = f"{format_number(result.max_error)} tol"
    if result.max_abs_error is not None:
        text += f" (abs {format_number(result.max_abs_error, '.2e')})"
    return text


def meta_items(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs for the meta line: version, seed, max examples, date, then the rest."""
    items = [(label, str(meta[key])) for key, label in _META_LABELS.items() if key in meta]
    items += [(key.replace("_", " "), str(value)) for key, value in meta.items()
              if key not in _META_LABELS]
    return items


def summary_text(report: Report) -> str:
    """``FAIL: 5 pass, 2 fail, 1 error, 1 skip (9 checks on 2 targets; 3 proofs, 1 proved)``."""
    counts = report.counts()
    outcomes = ", ".join(f"{counts[outcome.value]} {outcome.value}" for outcome in Outcome)
    proved = sum(1 for proof in report.proofs if proof.status == "proved")
    verdict = "PASS" if report.passed else "FAIL"
    return (
        f"{verdict}: {outcomes} ({len(report.results)} checks on {len(report.targets)} targets; "
        f"{len(report.proofs)} proofs, {proved} proved)"
    )


def components(report: Report) -> dict[str, list[SpecSummary]]:
    """Specs grouped by component, components in order of first appearance."""
    groups: dict[str, list[SpecSummary]] = {}
    for spec in report.specs:
        groups.setdefault(spec.component, []).append(spec)
    return groups


# Scoreboard: equations down, targets across ------------------------------------------------------

#: What a table shows where there is nothing to show (no result, no value).
MISSING = "—"


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
    """One (component, parameter): the documents' value and where stated, then each target's."""

    component: str
    parameter: str
    documented: Any
    stated: str
    values: tuple[Any, ...]

    def differs(self, index: int) -> bool:
        """Whether target ``index`` gives a known value other than the documents' known value."""
        value = self.values[index]
        if _unknown(self.documented) or _unknown(value):
            return False
        return not _same_value(self.documented, value)


def target_version(target: TargetSummary) -> str | None:
    """The target's own ``version`` entry of its defaults, if it reports one."""
    version = (target.defaults or {}).get("version")
    return None if version is None else str(version)


def defaults_rows(report: Report) -> list[DefaultsRow]:
    """The union of documented and target parameters, grouped by component.

    Components come in the order the report's equations introduce them, then any other in order
    of appearance (documents first), so the table does not depend on how a mapping was built.
    """
    documented = {component: _split_betas(parameters, documented=True)
                  for component, parameters in _components_of(report.documented_defaults)}
    targets = [{component: _split_betas(values, documented=False)
                for component, values in _components_of(target.defaults)}
               for target in report.targets]
    rows = []
    named = [*documented, *(component for target in targets for component in target)]
    for component in _component_order(report, named):
        stated = documented.get(component, {})
        given = [target.get(component, {}) for target in targets]
        for parameter in _parameters(stated, *given):
            value, where = _documented_pair(stated.get(parameter, ABSENT))
            rows.append(DefaultsRow(
                component=str(component),
                parameter=str(parameter),
                documented=value,
                stated=where,
                values=tuple(values.get(parameter, ABSENT) for values in given),
            ))
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
    """The (component, parameters) entries; scalar entries such as ``version`` are not components."""
    return [(key, value) for key, value in (defaults or {}).items() if isinstance(value, Mapping)]


def _component_order(report: Report, names: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(names))
    known = {str(name).lower(): index for index, name in enumerate(components(report))}
    return sorted(names, key=lambda name: known.get(str(name).lower(), len(known)))


def _split_betas(parameters: Mapping[str, Any], documented: bool) -> dict[str, Any]:
    """``parameters`` with a ``betas`` pair split into ``beta1`` and ``beta2``; nothing else.

    Documented entries are (value, where stated) pairs, so there ``betas`` is
    ``((beta1, beta2), where)``. A ``beta1`` or ``beta2`` given on its own wins.
    """
    result = dict(parameters)
    if "betas" not in result:
        return result
    betas, where = _documented_pair(result["betas"]) if documented else (result["betas"], "")
    if not _is_pair(betas):
        return result
    del result["betas"]
    for key, beta in zip(("beta1", "beta2"), betas):
        result.setdefault(key, (beta, where) if documented else beta)
    return result


def _parameters(*groups: Mapping[str, Any]) -> list[str]:
    names = list(dict.fromkeys(name for group in groups for name in group))
    known = {name: index for index, name in enumerate(_PARAMETER_ORDER)}
    return sorted(names, key=lambda name: known.get(name, len(known)))


def _documented_pair(entry: Any) -> tuple[Any, str]:
    """(value, where stated) from a 2-tuple or 2-list; a bare value has no stated source."""
    if _is_pair(entry):
        value, where = entry
        return value, "" if where is None else str(where)
    return entry, ""


def _is_pair(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2


def _unknown(value: Any) -> bool:
    return value is ABSENT or value is None


def _same_value(documented: Any, value: Any) -> bool:
    """Equality as a reader would judge it: ``0`` is ``0.0``, NaN is NaN, pairs elementwise."""
    if isinstance(documented, (tuple, list)) and isinstance(value, (tuple, list)):
        return len(documented) == len(value) and all(
            _same_value(a, b) for a, b in zip(documented, value))
    if _is_number(documented) and _is_number(value):
        a, b = float(documented), float(value)
        return a == b or (math.isnan(a) and math.isnan(b))
    try:
        return bool(documented == value)
    except (TypeError, ValueError):  # an == that is not a truth value (an array, say)
        return documented is value


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class MarkdownRenderer:
    """Writes ``report.md``."""

    name = "markdown"
    filename = "report.md"

    def render(self, report: Report) -> str:
        return render(report)


def render(report: Report) -> str:
    blocks: list[str] = [
        "# eqconform conformance report",
        " · ".join(
            _inline(value if label == "date" else f"{label} {value}")
            for label, value in meta_items(report.meta)
        ),
        f"**{_inline(summary_text(report))}**",
    ]
    blocks += _baseline(report)
    blocks += _scoreboard(report)
    if report.targets:
        blocks.append("\n".join(_target_item(target) for target in report.targets))
    blocks += _defaults(report)
    blocks += _proofs(report.proofs)
    for component, specs in components(report).items():
        blocks.append(f"## {_inline(component)}")
        blocks.append(_component_table(report, specs))
    blocks += _failures(report)
    blocks += _errata(report.errata)
    return "\n\n".join(blocks) + "\n"


#: How each baseline change is marked (``eqconform report --baseline``).
CHANGE_LABELS: Mapping[str, str] = {
    "regressed": "🔺 regressed",
    "fixed": "✅ fixed",
    "variant changed": "🔀 variant changed",
    "changed": "↔️ changed",
    "new": "➕ new",
}


def change_label(change: str | None) -> str:
    """The mark of a result's change since the baseline; an em dash when it did not change."""
    return MISSING if change is None else CHANGE_LABELS.get(change, change)


def baseline_text(report: Report) -> str:
    """``Against the baseline old.json: 1 regressed, 2 fixed, ...`` (empty without a baseline)."""
    if report.baseline is None:
        return ""
    counts = report.baseline.get("counts", {})
    parts = [f"{counts.get(kind, 0)} {kind}" for kind in CHANGE_LABELS]
    removed = len(report.baseline.get("removed", ()))
    text = f"Against the baseline {report.baseline.get('file', '')}: {', '.join(parts)}"
    if removed:
        text += f"; {removed} of its results are not in this report"
    return text


def _baseline(report: Report) -> list[str]:
    if report.baseline is None:
        return []
    blocks = [_inline(baseline_text(report))]
    removed = report.baseline.get("removed", ())
    if removed:
        rows = [[_code(str(item.get("spec"))), _inline(str(item.get("target"))), _inline(str(item.get("outcome")))]
                for item in removed]
        blocks.append(_table(["Spec", "Target", "Outcome in the baseline"], rows))
    return blocks


def _target_item(target: TargetSummary) -> str:
    version = target_version(target)
    shown = f" (version {_inline(version)})" if version is not None else ""
    return f"- **{_inline(target.name)}**{shown}: {_inline(target.description)}"


def _scoreboard(report: Report) -> list[str]:
    """Equations down, targets across: one verdict and variant per cell."""
    groups = scoreboard(report)
    if not groups:
        return []
    header = ["Component", "Spec", *(_inline(name) for name in scoreboard_targets(report))]
    rows = [
        [f"**{_inline(component)}**" if index == 0 else "", _code(row.spec.id),
         *(_scoreboard_cell(results) for results in row.cells)]
        for component, group in groups.items()
        for index, row in enumerate(group)
    ]
    return [_table(header, rows)]


def _scoreboard_cell(results: Sequence[Result]) -> str:
    if not results:
        return MISSING
    return "; ".join(
        OUTCOME_LABELS[result.outcome] + (f" · {_inline(result.variant)}" if result.variant else "")
        for result in results
    )


def _defaults(report: Report) -> list[str]:
    """The documents' defaults beside each target's, with where each is stated as a footnote."""
    rows = defaults_rows(report)
    if not rows:
        return []
    notes: dict[str, int] = {}
    header = ["Component", "Parameter", "Documents",
              *(_inline(target.name) for target in report.targets)]
    table = []
    previous = None
    for row in rows:
        documented = _inline(format_value(row.documented))
        if row.stated:
            documented += f"[^{notes.setdefault(row.stated, len(notes) + 1)}]"
        table.append([
            f"**{_inline(row.component)}**" if row.component != previous else "",
            _identifier(row.parameter),
            documented,
            *(_default_cell(row, index) for index in range(len(row.values))),
        ])
        previous = row.component
    footnotes = "\n".join(f"[^{number}]: {_inline(stated)}" for stated, number in notes.items())
    intro = ("The documents' values beside each target's own defaults; "
             "a value in **bold** differs from the documents.")
    return ["## Hyperparameter defaults", intro, _table(header, table),
            *([footnotes] if footnotes else [])]


def _default_cell(row: DefaultsRow, index: int) -> str:
    text = _inline(format_value(row.values[index]))
    return f"**{text}**" if row.differs(index) else text


def _proofs(proofs: Sequence[ProofRecord]) -> list[str]:
    if not proofs:
        return []
    rows = [[_code(proof.id), proof_label(proof.status), _inline(proof.method)] for proof in proofs]
    return ["## Proofs", _table(["Proof", "Status", "Method"], rows)]


def _component_table(report: Report, specs: Iterable[SpecSummary]) -> str:
    header = ["Spec", "Title", "Source", "Target", "Outcome", "Variant", "Examples", "Max error"]
    marked = report.baseline is not None
    if marked:
        header.append("Change")
    rows: list[list[str]] = []
    for spec in specs:
        results = list(report.results_for(spec.id))
        described = [_code(spec.id), _inline(spec.title), _inline(spec.source)]
        if not results:
            rows.append([*described, "—", "not checked", "—", "—", "—", *(["—"] if marked else [])])
        for index, result in enumerate(results):
            # The title and source are given once per spec; later rows only repeat the id.
            spec_cells = described if index == 0 else [_code(spec.id), "", ""]
            rows.append([
                *spec_cells,
                _inline(result.target),
                OUTCOME_LABELS[result.outcome],
                _code(result.variant) if result.variant else "—",
                str(result.examples),
                format_error(result),
                *([change_label(result.change)] if marked else []),
            ])
    return _table(header, rows)


def _failures(report: Report) -> list[str]:
    failing = [result for result in report.results
               if result.outcome in (Outcome.FAIL, Outcome.ERROR)]
    if not failing:
        return []
    blocks = ["## Failures"]
    for result in failing:
        blocks.append(
            f"### {_inline(result.spec)} on {_inline(result.target)}: "
            f"{OUTCOME_LABELS[result.outcome]}"
            + (f" ({CHANGE_LABELS.get(result.change, result.change)} since the baseline)" if result.change else "")
        )
        facts = [f"variant {_code(result.variant)}" if result.variant else "",
                 f"{result.examples} examples",
                 f"max error {format_error(result)}"]
        if result.observed_through:
            facts.append(f"observed through {_inline(result.observed_through)}")
        blocks.append(", ".join(fact for fact in facts if fact))
        if result.message:
            blocks.append(_inline(result.message, newlines="  \n"))
        if result.counterexample:
            blocks += ["Minimal counterexample:", _fenced(result.counterexample, "text")]
        if result.reproduce:
            blocks += ["Reproduce:", _fenced(result.reproduce, "bash")]
    return blocks


def _errata(errata: Sequence[Mapping[str, str]]) -> list[str]:
    if not errata:
        return []
    keys: list[str] = []
    for entry in errata:
        keys += [key for key in entry if key not in keys]
    rows = [[_inline(str(entry.get(key, ""))) for key in keys] for entry in errata]
    return ["## Errata", _table([_inline(key) for key in keys], rows)]


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = [_row(header), _row(["---"] * len(header))]
    lines += [_row(row) for row in rows]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


# Every character that can start Markdown or inline-HTML syntax. CommonMark lets any ASCII
# punctuation be backslash-escaped, and GFM tables need `|` escaped even inside code spans.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!&~])")


def _inline(text: str, newlines: str = " ") -> str:
    """``text`` as literal inline Markdown; safe in table cells (no pipes, no line breaks)."""
    escaped = _SPECIAL.sub(r"\\\1", visible_controls(text))
    return newlines.join(escaped.splitlines())


def _identifier(text: str) -> str:
    """A name from the audited code: a code span when it is a plain identifier, else escaped text
    (a code span would show ``<`` unescaped, and every ``<`` outside code blocks is escaped)."""
    return _code(text) if re.fullmatch(r"[A-Za-z0-9_.-]+", text) else _inline(text)


def _code(text: str) -> str:
    """``text`` as a code span: a fence longer than any backtick run inside, pipes escaped."""
    text = " ".join(visible_controls(text).splitlines())
    fence = "`" * (_longest_run(text, "`") + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}".replace("|", "\\|")


def _fenced(text: str, language: str) -> str:
    text = visible_controls(text)
    fence = "`" * max(3, _longest_run(text, "`") + 1)
    return f"{fence}{language}\n{text.rstrip(chr(10))}\n{fence}"


def _longest_run(text: str, char: str) -> int:
    runs = re.findall(f"{re.escape(char)}+", text)
    return max((len(run) for run in runs), default=0)
