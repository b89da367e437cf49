"""The Markdown report (``report.md``): readable as plain text and as rendered GitHub Markdown.

The wording (labels, numbers, the meta and summary lines, the rows of the overview tables)
comes from the shared view model, :mod:`eqconform.reports.view`; this module only writes it as
Markdown. Its escaping helpers (:func:`escape_inline`, :func:`code_span`, :func:`fenced_block`,
:func:`markdown_table`) are public because ``eqconform diff`` writes Markdown too.

Text that comes from the audited code (target names, messages) is backslash-escaped wherever
Markdown would interpret it, including ``<`` so that a message such as
``<script>alert(1)</script>`` renders as text rather than as raw HTML. Counterexamples and
reproduce commands go in fenced blocks, where nothing is interpreted, with a fence longer than
any backtick run they contain.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eqconform.reports.view import (
    ABSENT,
    MISSING,
    NOT_CHECKED,
    OUTCOME_LABELS,
    DefaultsRow,
    baseline_text,
    change_label,
    components,
    constructor_column,
    defaults_rows,
    errata_cell,
    errata_columns,
    format_error,
    format_value,
    meta_items,
    proof_label,
    scoreboard,
    scoreboard_targets,
    summary_text,
    target_version,
    visible_controls,
)
from eqconform.verify.results import (
    Outcome,
    ProofRecord,
    Report,
    Result,
    SpecSummary,
    TargetSummary,
)

__all__ = [
    "MarkdownRenderer",
    "code_span",
    "escape_inline",
    "fenced_block",
    "markdown_table",
]


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
            escape_inline(value if label == "date" else f"{label} {value}")
            for label, value in meta_items(report.meta)
        ),
        f"**{escape_inline(summary_text(report))}**",
    ]
    blocks += _baseline(report)
    blocks += _scoreboard(report)
    if report.targets:
        blocks.append("\n".join(_target_item(target) for target in report.targets))
    blocks += _defaults(report)
    blocks += _proofs(report.proofs)
    for component, specs in components(report).items():
        blocks.append(f"## {escape_inline(component)}")
        blocks.append(_component_table(report, specs))
    blocks += _failures(report)
    blocks += _errata(report.errata)
    return "\n\n".join(blocks) + "\n"


def _baseline(report: Report) -> list[str]:
    if report.baseline is None:
        return []
    blocks = [escape_inline(baseline_text(report))]
    removed = report.baseline.get("removed", ())
    if removed:
        rows = [
            [
                code_span(str(item.get("spec"))),
                escape_inline(str(item.get("target"))),
                escape_inline(str(item.get("outcome"))),
            ]
            for item in removed
        ]
        blocks.append(markdown_table(["Spec", "Target", "Outcome in the baseline"], rows))
    return blocks


def _target_item(target: TargetSummary) -> str:
    version = target_version(target)
    shown = f" (version {escape_inline(version)})" if version is not None else ""
    return f"- **{escape_inline(target.name)}**{shown}: {escape_inline(target.description)}"


def _scoreboard(report: Report) -> list[str]:
    """Equations down, targets across: one verdict and variant per cell."""
    groups = scoreboard(report)
    if not groups:
        return []
    header = ["Component", "Spec", *(escape_inline(name) for name in scoreboard_targets(report))]
    rows = [
        [
            f"**{escape_inline(component)}**" if index == 0 else "",
            code_span(row.spec.id),
            *(_scoreboard_cell(results) for results in row.cells),
        ]
        for component, group in groups.items()
        for index, row in enumerate(group)
    ]
    return [markdown_table(header, rows)]


def _scoreboard_cell(results: Sequence[Result]) -> str:
    if not results:
        return MISSING
    return "; ".join(
        OUTCOME_LABELS[result.outcome]
        + (f" · {escape_inline(result.variant)}" if result.variant else "")
        for result in results
    )


def _defaults(report: Report) -> list[str]:
    """The defaults the documents state, and the homework API's constructor defaults in a
    column of their own, beside each target's; where each comes from is a footnote."""
    rows = defaults_rows(report)
    if not rows:
        return []
    notes: dict[str, int] = {}
    api = constructor_column(rows)
    header = [
        "Component",
        "Parameter",
        "Documents",
        *(["Homework API"] if api else []),
        *(escape_inline(target.name) for target in report.targets),
    ]

    def reference(value: Any, where: str) -> str:
        text = escape_inline(format_value(value))
        if where and value is not ABSENT:
            text += f"[^{notes.setdefault(where, len(notes) + 1)}]"
        return text

    table = []
    previous = None
    for row in rows:
        table.append(
            [
                f"**{escape_inline(row.component)}**" if row.component != previous else "",
                _identifier(row.parameter),
                reference(row.in_text, row.stated),
                *([reference(row.constructor_default, row.stated)] if api else []),
                *(_default_cell(row, index) for index in range(len(row.values))),
            ]
        )
        previous = row.component
    footnotes = "\n".join(
        f"[^{number}]: {escape_inline(stated)}" for stated, number in notes.items()
    )
    intro = (
        "The values the documents' text states"
        + (
            " and, where it states none, the homework API's constructor defaults (which no "
            "document shows)"
            if api
            else ""
        )
        + " beside each target's own defaults; a value in **bold** differs from them."
    )
    return [
        "## Hyperparameter defaults",
        intro,
        markdown_table(header, table),
        *([footnotes] if footnotes else []),
    ]


def _default_cell(row: DefaultsRow, index: int) -> str:
    text = escape_inline(format_value(row.values[index]))
    return f"**{text}**" if row.differs(index) else text


def _proofs(proofs: Sequence[ProofRecord]) -> list[str]:
    if not proofs:
        return []
    rows = [
        [
            code_span(proof.id),
            proof_label(proof.status),
            escape_inline(proof.scope) if proof.scope else "-",
            escape_inline(proof.method),
        ]
        for proof in proofs
    ]
    return ["## Proofs", markdown_table(["Proof", "Status", "Scope", "Method"], rows)]


def _component_table(report: Report, specs: Iterable[SpecSummary]) -> str:
    header = ["Spec", "Title", "Source", "Target", "Outcome", "Variant", "Examples", "Max error"]
    marked = report.baseline is not None
    if marked:
        header.append("Change")
    rows: list[list[str]] = []
    for spec in specs:
        results = list(report.results_for(spec.id))
        described = [code_span(spec.id), escape_inline(spec.title), escape_inline(spec.source)]
        if not results:
            rows.append(
                [
                    *described,
                    MISSING,
                    NOT_CHECKED,
                    MISSING,
                    MISSING,
                    MISSING,
                    *([MISSING] if marked else []),
                ]
            )
        for index, result in enumerate(results):
            # The title and source are given once per spec; later rows only repeat the id.
            spec_cells = described if index == 0 else [code_span(spec.id), "", ""]
            rows.append(
                [
                    *spec_cells,
                    escape_inline(result.target),
                    OUTCOME_LABELS[result.outcome],
                    code_span(result.variant) if result.variant else MISSING,
                    str(result.examples),
                    format_error(result),
                    *([change_label(result.change)] if marked else []),
                ]
            )
    return markdown_table(header, rows)


def _failures(report: Report) -> list[str]:
    failing = [
        result for result in report.results if result.outcome in (Outcome.FAIL, Outcome.ERROR)
    ]
    if not failing:
        return []
    blocks = ["## Failures"]
    for result in failing:
        blocks.append(
            f"### {escape_inline(result.spec)} on {escape_inline(result.target)}: "
            f"{OUTCOME_LABELS[result.outcome]}"
            + (f" ({change_label(result.change)} since the baseline)" if result.change else "")
        )
        facts = [
            f"variant {code_span(result.variant)}" if result.variant else "",
            f"{result.examples} examples",
            f"max error {format_error(result)}",
        ]
        if result.observed_through:
            facts.append(f"observed through {escape_inline(result.observed_through)}")
        blocks.append(", ".join(fact for fact in facts if fact))
        if result.message:
            blocks.append(escape_inline(result.message, newlines="  \n"))
        if result.explanations:
            best = result.explanations[0]
            blocks += [
                "What the code computes instead "
                f"({escape_inline(', '.join(best.operators))}; matches "
                f"{best.examples_matched} examples):",
                fenced_block(best.latex, "math"),
                escape_inline(best.description),
            ]
        if result.counterexample:
            blocks += ["Minimal counterexample:", fenced_block(result.counterexample, "text")]
        if result.reproduce:
            blocks += ["Reproduce:", fenced_block(result.reproduce, "bash")]
    return blocks


def _errata(errata: Sequence[Mapping[str, Any]]) -> list[str]:
    if not errata:
        return []
    keys = errata_columns(errata)
    rows = [[escape_inline(errata_cell(entry.get(key))) for key in keys] for entry in errata]
    return ["## Errata", markdown_table([escape_inline(key) for key in keys], rows)]


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GFM table from cells that are already Markdown (callers escape what they put in)."""
    lines = [_row(header), _row(["---"] * len(header))]
    lines += [_row(row) for row in rows]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


# Every character that can start Markdown or inline-HTML syntax. CommonMark lets any ASCII
# punctuation be backslash-escaped, and GFM tables need `|` escaped even inside code spans.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!&~])")


def escape_inline(text: str, newlines: str = " ") -> str:
    """``text`` as literal inline Markdown; safe in table cells (no pipes, no line breaks)."""
    escaped = _SPECIAL.sub(r"\\\1", visible_controls(text))
    return newlines.join(escaped.splitlines())


def _identifier(text: str) -> str:
    """A name from the audited code: a code span when it is a plain identifier, else escaped text
    (a code span would show ``<`` unescaped, and every ``<`` outside code blocks is escaped)."""
    return code_span(text) if re.fullmatch(r"[A-Za-z0-9_.-]+", text) else escape_inline(text)


def code_span(text: str) -> str:
    """``text`` as a code span: a fence longer than any backtick run inside, pipes escaped."""
    text = " ".join(visible_controls(text).splitlines())
    fence = "`" * (_longest_run(text, "`") + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}".replace("|", "\\|")


def fenced_block(text: str, language: str) -> str:
    """``text`` as a fenced code block, where nothing is interpreted: the fence is longer than
    any backtick run inside."""
    text = visible_controls(text)
    fence = "`" * max(3, _longest_run(text, "`") + 1)
    return f"{fence}{language}\n{text.rstrip(chr(10))}\n{fence}"


def _longest_run(text: str, char: str) -> int:
    runs = re.findall(f"{re.escape(char)}+", text)
    return max((len(run) for run in runs), default=0)
