"""Compare two conformance reports: what regressed, what was fixed, what else changed.

``eqconform diff OLD.json NEW.json`` reads two ``report.json`` files into
:class:`~eqconform.verify.results.Report` objects and pairs their results by (spec, target).
A result *regressed* when it went from pass or skip to fail or error, and was *fixed* when it
went from fail or error to pass; a result that kept its outcome but follows another variant
(``eps-inside-sqrt`` before, ``eps-outside-sqrt`` now) is a *variant change*; any other change
of outcome (fail to error, pass to skip, ...) is listed as *changed*. Specs and targets that
only one report has are listed as added or removed, with their results.

When the two reports have no target in common and exactly one each (the reports of two handins,
say), that one target is compared with the other.

The comparison is rendered as Markdown for a pull-request comment; ``eqconform report
--baseline OLD.json`` marks the same changes on the results of the new report instead
(:func:`mark_report`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eqconform.reports.render_markdown import code_span, escape_inline, fenced_block, markdown_table
from eqconform.reports.view import OUTCOME_LABELS
from eqconform.specs import current_id
from eqconform.verify.results import (
    CHANGED,
    FIXED,
    FORMAT_VERSION,
    NEW,
    REGRESSED,
    VARIANT_CHANGED,
    Outcome,
    Report,
    Result,
)

__all__ = [
    "CHANGED",
    "FIXED",
    "NEW",
    "REGRESSED",
    "VARIANT_CHANGED",
    "Change",
    "ReportDiff",
    "ReportFileError",
    "diff_reports",
    "load_report",
    "mark_report",
    "render_diff",
]

_OK = {Outcome.PASS, Outcome.SKIP}
#: Settings a report may lack (written before they existed), at the value such a run had.
_DEFAULT_SETTINGS = {"profile": "default"}
_BAD = {Outcome.FAIL, Outcome.ERROR}


class ReportFileError(ValueError):
    """A file that is not a readable eqconform report (a usage error: exit 2, one line)."""


@dataclass(frozen=True)
class Change:
    """One (spec, target) whose result differs between the reports; ``before`` and ``after``
    are its results (``None`` on the side that has none)."""

    kind: str
    spec: str
    target: str
    before: Result | None
    after: Result | None


@dataclass(frozen=True)
class ReportDiff:
    old_label: str
    new_label: str
    old_meta: Mapping[str, Any]
    new_meta: Mapping[str, Any]
    regressions: tuple[Change, ...] = ()
    fixes: tuple[Change, ...] = ()
    variant_changes: tuple[Change, ...] = ()
    changed: tuple[Change, ...] = ()
    #: Results only the new report has, and only the old one has.
    added: tuple[Change, ...] = ()
    removed: tuple[Change, ...] = ()
    added_specs: tuple[str, ...] = ()
    removed_specs: tuple[str, ...] = ()
    added_targets: tuple[str, ...] = ()
    removed_targets: tuple[str, ...] = ()
    unchanged: int = 0
    #: (old name, new name) when the single targets of the two reports were paired.
    paired_targets: tuple[str, str] | None = None
    #: Run settings that differ: (name, old value, new value).
    settings: tuple[tuple[str, Any, Any], ...] = field(default_factory=tuple)

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    @property
    def compared(self) -> int:
        return (
            len(self.regressions)
            + len(self.fixes)
            + len(self.variant_changes)
            + len(self.changed)
            + self.unchanged
        )

    def changes(self) -> list[Change]:
        """Every change of a result both reports have, regressions first."""
        return [*self.regressions, *self.fixes, *self.variant_changes, *self.changed]


# --------------------------------------------------------------------------- reading


def load_report(path: str | os.PathLike[str]) -> Report:
    """The report in the ``report.json`` at ``path`` (or in the folder ``path``), checked for
    the layout this version reads; :class:`ReportFileError` says in one line what is wrong.
    Spec ids a report wrote under a family's former name are read under its current one."""
    file = Path(path)
    if file.is_dir():
        file = file / "report.json"
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportFileError(f"report {os.fspath(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ReportFileError(f"cannot read report {os.fspath(file)!r}: {reason}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReportFileError(
            f"{os.fspath(file)!r} is not JSON ({error.msg} at line {error.lineno})"
        ) from None
    if not isinstance(data, dict) or "format" not in data:
        raise ReportFileError(f"{os.fspath(file)!r} is not an eqconform report (no 'format' field)")
    if data["format"] != FORMAT_VERSION:
        raise ReportFileError(
            f"{os.fspath(file)!r} has report format {data['format']!r}; "
            f"this eqconform reads format {FORMAT_VERSION}"
        )
    results = data.get("results")
    if not isinstance(results, list) or not all(
        isinstance(r, dict)
        and isinstance(r.get("spec"), str)
        and isinstance(r.get("target"), str)
        and r.get("outcome") in {o.value for o in Outcome}
        for r in results
    ):
        raise ReportFileError(
            f"{os.fspath(file)!r} has no valid 'results' list (each with spec, target and outcome)"
        )
    try:
        report = Report.from_dict(data)
    except (KeyError, TypeError, ValueError) as error:
        raise ReportFileError(
            f"{os.fspath(file)!r} is not a valid eqconform report ({type(error).__name__}: {error})"
        ) from None
    return dataclasses.replace(
        report,
        specs=tuple(dataclasses.replace(spec, id=current_id(spec.id)) for spec in report.specs),
        results=tuple(
            dataclasses.replace(result, spec=current_id(result.spec)) for result in report.results
        ),
    )


# --------------------------------------------------------------------------- comparing


def _target_names(report: Report) -> list[str]:
    return list(
        dict.fromkeys(
            [
                *(target.name for target in report.targets),
                *(result.target for result in report.results),
            ]
        )
    )


def _spec_ids(report: Report) -> list[str]:
    return list(
        dict.fromkeys(
            [*(spec.id for spec in report.specs), *(result.spec for result in report.results)]
        )
    )


def _classify(before: Result, after: Result) -> str | None:
    old, new = before.outcome, after.outcome
    if old in _OK and new in _BAD:
        return REGRESSED
    if old in _BAD and new is Outcome.PASS:
        return FIXED
    if old is not new:
        return CHANGED
    if before.variant != after.variant:
        return VARIANT_CHANGED
    return None


def diff_reports(
    old: Report, new: Report, old_label: str = "old", new_label: str = "new"
) -> ReportDiff:
    """Compare two reports (see :func:`load_report`) result by result."""
    old_targets, new_targets = _target_names(old), _target_names(new)
    rename: dict[str, str] = {}
    paired = None
    if len(old_targets) == 1 and len(new_targets) == 1 and old_targets != new_targets:
        paired = (old_targets[0], new_targets[0])
        rename = {old_targets[0]: new_targets[0]}
        old_targets = list(new_targets)
    before = {(r.spec, rename.get(r.target, r.target)): r for r in old.results}
    after = {(r.spec, r.target): r for r in new.results}
    old_specs, new_specs = _spec_ids(old), _spec_ids(new)

    kinds: dict[str, list[Change]] = {REGRESSED: [], FIXED: [], VARIANT_CHANGED: [], CHANGED: []}
    unchanged = 0
    for key, result in after.items():
        if key in before:
            kind = _classify(before[key], result)
            if kind is None:
                unchanged += 1
            else:
                kinds[kind].append(Change(kind, key[0], key[1], before[key], result))
    added = tuple(
        Change(NEW, spec, target, None, result)
        for (spec, target), result in after.items()
        if (spec, target) not in before
    )
    removed = tuple(
        Change("removed", spec, (paired[0] if paired else target), result, None)
        for (spec, target), result in before.items()
        if (spec, target) not in after
    )
    settings = tuple(
        (name, old.meta.get(name), new.meta.get(name))
        for name in ("seed", "max_examples", "profile", "version")
        if old.meta.get(name, _DEFAULT_SETTINGS.get(name))
        != new.meta.get(name, _DEFAULT_SETTINGS.get(name))
    )
    return ReportDiff(
        old_label=old_label,
        new_label=new_label,
        old_meta=dict(old.meta),
        new_meta=dict(new.meta),
        regressions=tuple(kinds[REGRESSED]),
        fixes=tuple(kinds[FIXED]),
        variant_changes=tuple(kinds[VARIANT_CHANGED]),
        changed=tuple(kinds[CHANGED]),
        added=added,
        removed=removed,
        added_specs=tuple(s for s in new_specs if s not in old_specs),
        removed_specs=tuple(s for s in old_specs if s not in new_specs),
        added_targets=tuple(t for t in new_targets if t not in old_targets),
        removed_targets=tuple(t for t in old_targets if t not in new_targets),
        unchanged=unchanged,
        paired_targets=paired,
        settings=settings,
    )


def mark_report(report: Report, diff: ReportDiff, baseline_label: str) -> Report:
    """``report`` with each result's :attr:`~eqconform.verify.results.Result.change` set from
    ``diff`` (a comparison of the baseline with this report) and the baseline summary."""
    marks = {(change.spec, change.target): change.kind for change in [*diff.changes(), *diff.added]}
    results = tuple(
        dataclasses.replace(result, change=marks.get((result.spec, result.target)))
        for result in report.results
    )
    counts = {
        REGRESSED: len(diff.regressions),
        FIXED: len(diff.fixes),
        VARIANT_CHANGED: len(diff.variant_changes),
        CHANGED: len(diff.changed),
        NEW: len(diff.added),
    }
    baseline: dict[str, Any] = {
        "file": baseline_label,
        "counts": counts,
        "removed": [
            {
                "spec": c.spec,
                "target": c.target,
                "outcome": c.before.outcome.value if c.before else None,
            }
            for c in diff.removed
        ],
    }
    if diff.paired_targets:
        baseline["paired_targets"] = list(diff.paired_targets)
    return dataclasses.replace(report, results=results, baseline=baseline)


# --------------------------------------------------------------------------- Markdown


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def _outcome(result: Result | None) -> str:
    if result is None:
        return "—"
    return OUTCOME_LABELS[result.outcome] + (
        f" · {code_span(result.variant)}" if result.variant else ""
    )


def _headline(diff: ReportDiff) -> str:
    if diff.regressed:
        parts = [_plural(len(diff.regressions), "regression")]
    else:
        parts = ["no regressions"]
    if diff.fixes:
        parts.append(_plural(len(diff.fixes), "fix", "fixes"))
    if diff.variant_changes:
        parts.append(_plural(len(diff.variant_changes), "variant change"))
    if diff.changed:
        parts.append(_plural(len(diff.changed), "other change"))
    return ", ".join(parts)


def _describe_run(label: str, meta: Mapping[str, Any]) -> str:
    facts = [
        f"{key.replace('_', ' ')} {meta[key]}" for key in ("seed", "max_examples") if key in meta
    ]
    if "date" in meta:
        facts.append(str(meta["date"]))
    return code_span(label) + (f" ({escape_inline(', '.join(facts))})" if facts else "")


def _change_table(changes: Sequence[Change]) -> str:
    rows = [
        [code_span(c.spec), escape_inline(c.target), _outcome(c.before), _outcome(c.after)]
        for c in changes
    ]
    return markdown_table(["Spec", "Target", "Before", "After"], rows)


def _details(change: Change) -> list[str]:
    """What the new report says about a regression: message, counterexample, reproduction."""
    result = change.after
    blocks = [
        f"<details><summary>{escape_inline(change.spec)} on "
        f"{escape_inline(change.target)}</summary>",
        "",
    ]
    if result is not None and result.message:
        blocks += [escape_inline(result.message, newlines="  \n"), ""]
    if result is not None and result.counterexample:
        blocks += ["Minimal counterexample:", "", fenced_block(result.counterexample, "text"), ""]
    if result is not None and result.reproduce:
        blocks += ["Reproduce:", "", fenced_block(result.reproduce, "bash"), ""]
    blocks.append("</details>")
    return ["\n".join(blocks)]


def _grouped(
    changes: Iterable[Change], names: Sequence[str], by: str
) -> tuple[list[Change], list[Change]]:
    """Changes whose spec (``by="spec"``) or target is in ``names``, and the others."""
    inside: list[Change] = []
    outside: list[Change] = []
    for change in changes:
        (inside if getattr(change, by) in names else outside).append(change)
    return inside, outside


def render_diff(diff: ReportDiff) -> str:
    """The comparison as Markdown (GitHub-flavoured), for a pull-request comment."""
    blocks = [
        f"## eqconform: {_headline(diff)}",
        (
            f"Comparing {_describe_run(diff.old_label, diff.old_meta)} (before) with "
            f"{_describe_run(diff.new_label, diff.new_meta)} (after)."
        ),
    ]
    if diff.paired_targets:
        old, new = diff.paired_targets
        blocks.append(
            f"The reports have one target each, so {code_span(old)} (before) is compared with "
            f"{code_span(new)} (after)."
        )
    if diff.settings:
        blocks.append(
            "The runs differ in their settings, which can change verdicts by themselves: "
            + "; ".join(
                f"{escape_inline(name.replace('_', ' '))} {escape_inline(str(a))} before, "
                f"{escape_inline(str(b))} after"
                for name, a, b in diff.settings
            )
            + "."
        )
    summary = [
        ["❌ Regressions (pass or skip → fail or error)", str(len(diff.regressions))],
        ["✅ Fixes (fail or error → pass)", str(len(diff.fixes))],
        ["🔀 Variant changes", str(len(diff.variant_changes))],
        ["↔️ Other outcome changes", str(len(diff.changed))],
        ["Unchanged", str(diff.unchanged)],
    ]
    if diff.added or diff.added_specs or diff.added_targets:
        summary.append(["➕ Results only after", str(len(diff.added))])
    if diff.removed or diff.removed_specs or diff.removed_targets:
        summary.append(["➖ Results only before", str(len(diff.removed))])
    blocks.append(markdown_table(["", "Results"], summary))

    if diff.regressions:
        blocks += ["### ❌ Regressions", _change_table(diff.regressions)]
        for change in diff.regressions:
            blocks += _details(change)
    if diff.fixes:
        blocks += ["### ✅ Fixes", _change_table(diff.fixes)]
    if diff.variant_changes:
        blocks += [
            "### 🔀 Variant changes",
            "Same outcome, but the implementation now matches another form of the equation.",
            _change_table(diff.variant_changes),
        ]
    if diff.changed:
        blocks += ["### ↔️ Other outcome changes", _change_table(diff.changed)]

    added_by_spec, rest = _grouped(diff.added, diff.added_specs, "spec")
    added_by_target, added_checks = _grouped(rest, diff.added_targets, "target")
    removed_by_spec, rest = _grouped(diff.removed, diff.removed_specs, "spec")
    removed_by_target, removed_checks = _grouped(rest, diff.removed_targets, "target")
    sections = [
        ("Specs added", diff.added_specs, added_by_spec),
        ("Specs removed", diff.removed_specs, removed_by_spec),
        ("Targets added", diff.added_targets, added_by_target),
        ("Targets removed", diff.removed_targets, removed_by_target),
        ("Checks added", (), added_checks),
        ("Checks removed", (), removed_checks),
    ]
    for title, names, changes in sections:
        if not names and not changes:
            continue
        blocks.append(f"### {title}")
        if names:
            blocks.append(", ".join(code_span(name) for name in names))
        if changes:
            blocks.append(_change_table(changes))
    if not diff.changes() and not any(names or changes for _, names, changes in sections):
        blocks.append(
            f"No differences: {_plural(diff.unchanged, 'result')} compared, each with the same "
            "outcome and variant."
        )
    return "\n\n".join(blocks) + "\n"
