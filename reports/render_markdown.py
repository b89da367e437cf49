"""The Markdown report (``report.md``): readable as plain text and as rendered GitHub Markdown.

The wording helpers at the top (outcome labels, number formatting, the meta and summary lines)
are shared with the HTML renderer so both reports say the same thing the same way.

Text that comes from the audited code (target names, messages) is backslash-escaped wherever
Markdown would interpret it, including ``<`` so that a message such as
``<script>alert(1)</script>`` renders as text rather than as raw HTML. Counterexamples and
reproduce commands go in fenced blocks, where nothing is interpreted, with a fence longer than
any backtick run they contain.
"""

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eqconform.reports.model import Outcome, ProofRecord, Report, Result, SpecSummary

__all__ = [
    "OUTCOME_LABELS",
    "PROOF_LABELS",
    "MarkdownRenderer",
    "components",
    "format_error",
    "format_number",
    "meta_items",
    "proof_label",
    "summary_text",
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
    if report.targets:
        blocks.append("\n".join(
            f"- **{_inline(target.name)}**: {_inline(target.description)}"
            for target in report.targets
        ))
    blocks += _proofs(report.proofs)
    for component, specs in components(report).items():
        blocks.append(f"## {_inline(component)}")
        blocks.append(_component_table(report, specs))
    blocks += _failures(report)
    blocks += _errata(report.errata)
    return "\n\n".join(blocks) + "\n"


def _proofs(proofs: Sequence[ProofRecord]) -> list[str]:
    if not proofs:
        return []
    rows = [[_code(proof.id), proof_label(proof.status), _inline(proof.method)] for proof in proofs]
    return ["## Proofs", _table(["Proof", "Status", "Method"], rows)]


def _component_table(report: Report, specs: Iterable[SpecSummary]) -> str:
    header = ["Spec", "Title", "Source", "Target", "Outcome", "Variant", "Examples", "Max error"]
    rows: list[list[str]] = []
    for spec in specs:
        results = list(report.results_for(spec.id))
        described = [_code(spec.id), _inline(spec.title), _inline(spec.source)]
        if not results:
            rows.append([*described, "—", "not checked", "—", "—", "—"])
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
