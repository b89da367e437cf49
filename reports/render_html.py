"""The HTML report (``index.html``): one self-contained page, readable offline and safe to open.

Self-contained: the stylesheet is inlined from the package-data file ``templates/report.css``,
equations are native MathML (laid out by the browser, no script or web font), and a
Content-Security-Policy forbids every request and every script, so the page can be attached to
a CI run or mailed around and still look the same.

How it is made: :func:`page` turns a report into display-ready data (the wording comes from the
shared view model, :mod:`eqconform.reports.view`), and the Jinja2 templates in ``templates/``
(package data) lay that data out; they loop and test, nothing more.

Safe: target names, messages and counterexamples come from the audited code and may contain
markup. Autoescaping is on, and every value a template prints is escaped (as
:func:`html.escape` does, control characters shown as ``\\xNN``) unless it is markup: a
template macro's output, the stylesheet, or the MathML of :func:`math_block`, which SymPy's
presentation printer produced from the catalogue (:mod:`eqconform.reports.mathml`). Text from
the audited code is never markup, whatever its type: :func:`page` makes every string of the
page a plain ``str`` but those two.
"""

import dataclasses
import functools
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from typing import Any, cast
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from eqconform.reports.view import (
    ABSENT,
    CHANGE_STYLES,
    MISSING,
    DefaultsRow,
    baseline_text,
    components,
    constructor_column,
    counts_text,
    defaults_rows,
    errata_cell,
    errata_columns,
    format_error,
    format_number,
    format_value,
    meta_items,
    scoreboard,
    scoreboard_targets,
    spec_status,
    target_version,
    visible_controls,
    worst_outcome,
)
from eqconform.verify.results import (
    Outcome,
    ProofRecord,
    Report,
    Result,
    SpecSummary,
    StatisticalTest,
    VariantSummary,
)

__all__ = [
    "Badge",
    "DefaultsCell",
    "DefaultsLine",
    "DefaultsTable",
    "Equation",
    "HtmlRenderer",
    "Page",
    "ProofLine",
    "ResultLine",
    "Scoreboard",
    "ScoreboardCell",
    "ScoreboardLine",
    "SpecLink",
    "StatisticLine",
    "TargetLine",
    "VariantLine",
    "Verdict",
    "math_block",
    "page",
]

MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"

# The scoreboard's outcome marks. Unlike the Markdown labels' emoji, these are in every text
# font (DejaVu included), so a browser without an emoji font still shows them.
_MARKS = {Outcome.PASS: "✓", Outcome.FAIL: "✗", Outcome.ERROR: "⚠", Outcome.SKIP: "↷"}


class HtmlRenderer:
    """Writes ``index.html``."""

    name = "html"
    filename = "index.html"

    def render(self, report: Report) -> str:
        return render(report)


def render(report: Report) -> str:
    return _environment().get_template("report.html").render(page=page(report))


class _Trusted(Markup):
    """Markup this module made itself from our own sources (the catalogue's MathML, the
    stylesheet); the only strings of a :class:`Page` that are printed as they are."""


def math_block(mathml: str) -> Markup:
    """``mathml`` as a display-block ``<math>`` element (SymPy prints only the inner ``<mrow>``).

    The result is trusted markup: pass only MathML from :mod:`eqconform.reports.mathml`.
    """
    mathml = mathml.strip()
    if re.match(r"<math[\s>]", mathml):
        return _Trusted(mathml)
    return _Trusted(f'<math display="block" xmlns="{MATHML_NAMESPACE}">{mathml}</math>')


# The page as data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    """A status pill: its text and its class list (``badge fail change``)."""

    text: str
    classes: str


@dataclass(frozen=True)
class Verdict:
    """One result in a scoreboard cell: mark, outcome, variant and change since the baseline."""

    mark: str
    outcome: str
    variant: str | None
    change: Badge | None


@dataclass(frozen=True)
class ScoreboardCell:
    """One (equation, target) cell; no verdicts means the pair was not checked."""

    classes: str
    title: str
    verdicts: tuple[Verdict, ...]


@dataclass(frozen=True)
class ScoreboardLine:
    spec: SpecSummary
    cells: tuple[ScoreboardCell, ...]


@dataclass(frozen=True)
class Scoreboard:
    """Equations down (grouped by component), targets across."""

    columns: tuple[str, ...]
    groups: tuple[tuple[str, tuple[ScoreboardLine, ...]], ...]

    @property
    def span(self) -> int:
        return len(self.columns) + 1


@dataclass(frozen=True)
class TargetLine:
    name: str
    version: str | None
    description: str
    counts: str


@dataclass(frozen=True)
class DefaultsCell:
    """A default as shown: ``muted`` when absent or unknown; ``differs`` says how it differs
    from the documents (empty when it does not)."""

    text: str
    muted: bool = False
    differs: str = ""


@dataclass(frozen=True)
class DefaultsLine:
    """A parameter's row: the value the documents state (``documented``) and the homework
    API's constructor default (``api``), at most one of them known, with where it comes from
    (``stated``, the tooltip of the known one), then each target's."""

    parameter: str
    documented: DefaultsCell
    stated: str
    values: tuple[DefaultsCell, ...]
    api: DefaultsCell = DefaultsCell(MISSING, muted=True)


@dataclass(frozen=True)
class DefaultsTable:
    """The documents' defaults (and, when any is shown, the homework API's constructor
    defaults in a column of their own) beside each target's, grouped by component."""

    targets: tuple[str, ...]
    groups: tuple[tuple[str, tuple[DefaultsLine, ...]], ...]
    #: Whether the table has the column of constructor defaults.
    api: bool = False

    @property
    def span(self) -> int:
        return len(self.targets) + 2 + int(self.api)


@dataclass(frozen=True)
class SpecLink:
    """An equation a proof is about; ``shown`` when the page has its section to link to."""

    id: str
    shown: bool


@dataclass(frozen=True)
class ProofLine:
    proof: ProofRecord
    badge: Badge
    specs: tuple[SpecLink, ...]


@dataclass(frozen=True)
class VariantLine:
    variant: VariantSummary
    badge: Badge
    formula: Markup


@dataclass(frozen=True)
class StatisticLine:
    test: StatisticalTest
    p_value: str
    alpha: str
    badge: Badge


@dataclass(frozen=True)
class ResultLine:
    """A row of an equation's results table, with its detail (message, counterexample, ...)."""

    result: Result
    badge: Badge
    change: Badge | None
    #: The worst error in tolerance units and the absolute one, ``None`` when not measured.
    worst: str | None
    worst_abs: str | None
    #: Whether the worst error is over the tolerance (or not a number).
    bad: bool
    seconds: str
    statistics: tuple[StatisticLine, ...]
    #: The simplest formula the answers match instead, displayed (MathML, or the LaTeX of a
    #: report read back from JSON), with its description; ``None`` when there is none.
    explanation: tuple[Markup, str] | None = None

    @property
    def has_detail(self) -> bool:
        result = self.result
        return bool(result.message or result.counterexample or result.reproduce or self.statistics)


@dataclass(frozen=True)
class Equation:
    """One equation's section: its statement, documented variants, proofs and results."""

    spec: SpecSummary
    status: str
    badge: Badge
    statement: Markup
    latex: str
    variants: tuple[VariantLine, ...]
    proofs: tuple[ProofLine, ...]
    results: tuple[ResultLine, ...]

    @property
    def primary(self) -> VariantSummary | None:
        return self.spec.variants[0] if self.spec.variants else None


@dataclass(frozen=True)
class Page:
    """Everything ``report.html`` shows, ready to print."""

    version: str
    date: str | None
    verdict: Badge
    meta: tuple[tuple[str, str], ...]
    chips: tuple[tuple[str, str, str], ...]  # (classes, value, label)
    baseline: str | None
    sections: tuple[tuple[str, str], ...]  # (anchor, title) of the overview sections
    scoreboard: Scoreboard | None
    show_versions: bool
    targets: tuple[TargetLine, ...]
    defaults: DefaultsTable | None
    proofs: tuple[ProofLine, ...]
    equations: tuple[tuple[str, tuple[Equation, ...]], ...]
    errata_columns: tuple[str, ...]
    errata: tuple[tuple[str, ...], ...]
    css: Markup


def page(report: Report) -> Page:
    """The report as the HTML page shows it; every string in it is plain text (escaped when
    printed) except the MathML and the stylesheet."""
    return cast(Page, _as_text(_page(report)))


def _page(report: Report) -> Page:
    rows = defaults_rows(report)
    board = _scoreboard(report)
    versions = [target_version(target) for target in report.targets]
    known = {spec.id for spec in report.specs}
    sections = [
        ("eqc-scoreboard", "Scoreboard") if board else None,
        ("eqc-targets", "Targets"),
        ("eqc-defaults", "Defaults") if rows else None,
        ("eqc-proofs", "Proofs") if report.proofs else None,
        ("eqc-errata", "Errata") if report.errata else None,
    ]
    columns = errata_columns(report.errata)
    date = report.meta.get("date")
    verdict = "pass" if report.passed else "fail"
    return Page(
        version=str(report.meta.get("version", "unknown")),
        date=str(date) if date else None,
        verdict=_badge(verdict.upper(), verdict, "verdict"),
        meta=tuple(meta_items(report.meta)),
        chips=_chips(report),
        baseline=baseline_text(report) if report.baseline is not None else None,
        sections=tuple(section for section in sections if section),
        scoreboard=board,
        show_versions=any(version is not None for version in versions),
        targets=tuple(
            TargetLine(
                target.name,
                version,
                target.description,
                counts_text(r for r in report.results if r.target == target.name),
            )
            for target, version in zip(report.targets, versions, strict=True)
        ),
        defaults=_defaults(report, rows) if rows else None,
        proofs=tuple(_proof_line(proof, known) for proof in report.proofs),
        equations=tuple(
            (component, tuple(_equation(report, spec, known) for spec in specs))
            for component, specs in components(report).items()
        ),
        errata_columns=tuple(columns),
        errata=tuple(
            tuple(errata_cell(entry.get(key)) for key in columns) for entry in report.errata
        ),
        css=_Trusted(_stylesheet()),
    )


def _chips(report: Report) -> tuple[tuple[str, str, str], ...]:
    """The summary counts: one per outcome, and the share of proofs proved."""
    counts = report.counts()
    chips = [_chip(outcome.value, counts[outcome.value], outcome.value) for outcome in Outcome]
    if report.proofs:
        proved = sum(1 for proof in report.proofs if proof.status == "proved")
        chips.append(
            _chip(
                "pass" if proved == len(report.proofs) else "error",
                f"{proved}/{len(report.proofs)}",
                "proofs proved",
            )
        )
        general = sum(
            1 for proof in report.proofs if proof.status == "proved" and proof.scope == "general"
        )
        chips.append(_chip("pass", f"{general}/{proved}", "proved in general"))
    return tuple(chips)


def _chip(css: str, value: int | str, label: str) -> tuple[str, str, str]:
    return (f"{css} zero" if value == 0 else css), str(value), label


def _scoreboard(report: Report) -> Scoreboard | None:
    groups = scoreboard(report)
    if not groups:
        return None
    columns = tuple(scoreboard_targets(report))
    return Scoreboard(
        columns,
        tuple(
            (
                component,
                tuple(
                    ScoreboardLine(
                        row.spec,
                        tuple(
                            _scoreboard_cell(row.spec, name, results)
                            for name, results in zip(columns, row.cells, strict=True)
                        ),
                    )
                    for row in rows
                ),
            )
            for component, rows in groups.items()
        ),
    )


def _scoreboard_cell(spec: SpecSummary, target: str, results: Sequence[Result]) -> ScoreboardCell:
    if not results:
        return ScoreboardCell("sb none", f"{spec.id} was not checked on {target}", ())
    return ScoreboardCell(
        f"sb {worst_outcome(results).value}",
        "\n".join(_verdict_title(result) for result in results),
        tuple(
            Verdict(
                _MARKS[result.outcome],
                result.outcome.value,
                result.variant,
                _change_badge(result.change),
            )
            for result in results
        ),
    )


def _verdict_title(result: Result) -> str:
    """The cell's tooltip: everything the scoreboard leaves out, on one line."""
    facts = [
        f"{result.spec} on {result.target}: {result.outcome.value}"
        + (f" ({result.change} since the baseline)" if result.change else "")
    ]
    if result.variant:
        facts.append(f"variant {result.variant}")
    facts.append(f"{result.examples} examples")
    if result.max_error is not None or result.max_abs_error is not None:
        facts.append(f"worst error {format_error(result)}")
    return ", ".join(facts)


def _defaults(report: Report, rows: Sequence[DefaultsRow]) -> DefaultsTable:
    groups: dict[str, list[DefaultsLine]] = {}
    for row in rows:
        groups.setdefault(row.component, []).append(
            DefaultsLine(
                parameter=row.parameter,
                documented=_defaults_cell(row.in_text),
                stated=row.stated,
                values=tuple(
                    _defaults_cell(value, differs=f"differs from {row.reference}")
                    if row.differs(index)
                    else _defaults_cell(value)
                    for index, value in enumerate(row.values)
                ),
                api=_defaults_cell(row.constructor_default),
            )
        )
    return DefaultsTable(
        tuple(target.name for target in report.targets),
        tuple((component, tuple(lines)) for component, lines in groups.items()),
        api=constructor_column(rows),
    )


def _defaults_cell(value: Any, differs: str = "") -> DefaultsCell:
    return DefaultsCell(
        text=format_value(value), muted=value is None or value is ABSENT, differs=differs
    )


def _proof_line(proof: ProofRecord, known: set[str]) -> ProofLine:
    return ProofLine(
        proof,
        _badge(proof.status, proof.status),
        tuple(SpecLink(spec, spec in known) for spec in proof.specs),
    )


def _equation(report: Report, spec: SpecSummary, known: set[str]) -> Equation:
    status = spec_status(report, spec)
    primary = spec.variants[0] if spec.variants else None
    return Equation(
        spec=spec,
        status=status,
        badge=_badge(status, status),
        statement=_formula(primary.mathml) if primary else _Trusted(""),
        latex=primary.latex if primary and primary.latex.strip() else "",
        variants=tuple(
            VariantLine(
                variant,
                _badge("accepted", "accepted")
                if variant.accepted
                else _badge("known deviation", "deviation"),
                _formula(variant.mathml),
            )
            for variant in spec.variants[1:]
        ),
        proofs=tuple(_proof_line(proof, known) for proof in report.proofs_for(spec.id)),
        results=tuple(_result_line(result) for result in report.results_for(spec.id)),
    )


def _formula(mathml: str) -> Markup:
    return math_block(mathml) if mathml.strip() else _Trusted("")


def _result_line(result: Result) -> ResultLine:
    measured = result.max_error is not None or result.max_abs_error is not None
    return ResultLine(
        result=result,
        badge=_badge(result.outcome.value, result.outcome.value),
        change=_change_badge(result.change),
        worst=format_number(result.max_error) if measured else None,
        worst_abs=(
            format_number(result.max_abs_error, ".2e") if result.max_abs_error is not None else None
        ),
        bad=result.max_error is not None and not result.max_error <= 1,
        seconds=format_number(result.seconds, ".2f"),
        statistics=tuple(
            StatisticLine(
                test,
                format_number(test.p_value, ".3g"),
                format_number(test.alpha, ".3g"),
                _badge("pass", "pass") if test.passed else _badge("fail", "fail"),
            )
            for test in result.statistics
        ),
        explanation=_explanation(result),
    )


def _explanation(result: Result) -> tuple[Markup, str] | None:
    if not result.explanations:
        return None
    best = result.explanations[0]
    # MathML made by eqconform's own printer from the catalogue's symbols (trusted); a report
    # read back from JSON has only the LaTeX, shown as text.
    shown = math_block(best.mathml) if best.mathml else Markup("<pre>{}</pre>").format(best.latex)
    return shown, best.description


def _badge(text: str, css: str, extra: str = "") -> Badge:
    return Badge(text, " ".join(part for part in ("badge", _css_token(css), extra) if part))


def _change_badge(change: str | None) -> Badge | None:
    """The mark of a change since the baseline (``eqconform report --baseline``), coloured like
    the outcome it resembles."""
    if change is None:
        return None
    style = CHANGE_STYLES.get(change)
    return _badge(change, style.looks_like.value if style else Outcome.SKIP.value, "change")


def _css_token(text: str) -> str:
    """A class name derived from a status (``not proved`` -> ``not-proved``)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _as_text(value: Any) -> Any:
    """``value`` with every string in it an exact :class:`str` but our own markup.

    A string from the audited code may be of any ``str`` subclass, :class:`~markupsafe.Markup`
    included (an exception whose ``__str__`` returns one, say); as a plain string it is escaped
    like any other text.
    """
    if isinstance(value, (_Trusted, Enum)):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value,
            **{
                field.name: _as_text(getattr(value, field.name))
                for field in dataclasses.fields(value)
                if field.init
            },
        )
    if isinstance(value, (tuple, list)):
        return (tuple if isinstance(value, tuple) else list)(_as_text(item) for item in value)
    if isinstance(value, Mapping):
        return {_as_text(key): _as_text(item) for key, item in value.items()}
    return value


# Templates --------------------------------------------------------------------------------------


def _text(value: object) -> object:
    """What a template prints for ``{{ value }}``: markup (our own, or a macro's output) as it
    is, anything else as escaped text, with control characters shown as ``\\xNN``.

    This is the page's escaping, applied before Jinja's autoescape sees the value; it escapes
    like :func:`html.escape` (``'`` as ``&#x27;``), as the page always has.
    """
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(visible_controls(str(value)), quote=True))


def _anchor(spec_id: str) -> str:
    """The link to an equation's section (``#adam.update``)."""
    return "#" + quote(spec_id, safe="")


def _breakable(text: str) -> Markup:
    """``text`` escaped, with a line-break opportunity after every ``/`` (long target paths)."""
    return Markup(str(_text(text)).replace("/", "/<wbr>"))


_FILTERS: Mapping[str, Any] = {"anchor": _anchor, "breakable": _breakable, "css_token": _css_token}


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("eqconform.reports", "templates"),
        autoescape=True,
        finalize=_text,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(_FILTERS)
    environment.globals["MISSING"] = MISSING
    return environment


@functools.cache
def _stylesheet() -> str:
    templates = resources.files("eqconform.reports").joinpath("templates")
    return templates.joinpath("report.css").read_text("utf-8")
