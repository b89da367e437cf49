"""The HTML report (``index.html``): one self-contained page, readable offline and safe to open.

Self-contained: the stylesheet is inlined from the package-data file ``templates/report.css``,
equations are native MathML (laid out by the browser, no script or web font), and a
Content-Security-Policy forbids every request and every script, so the page can be attached to
a CI run or mailed around and still look the same.

Safe: target names, messages and counterexamples come from the audited code and may contain
markup. Every string except the MathML goes through :func:`html.escape`; the MathML is produced
by SymPy's presentation printer from the catalogue and is inserted as it is.
"""

import functools
import html
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from string import Template
from urllib.parse import quote

from eqconform.reports.model import (
    Outcome,
    ProofRecord,
    Report,
    Result,
    SpecSummary,
    StatisticalTest,
    VariantSummary,
)
from eqconform.reports.render_markdown import (
    ABSENT,
    CHANGE_LABELS,
    MISSING,
    DefaultsRow,
    ScoreboardRow,
    baseline_text,
    components,
    defaults_rows,
    format_error,
    format_number,
    format_value,
    meta_items,
    scoreboard,
    scoreboard_targets,
    target_version,
    visible_controls,
)

__all__ = ["HtmlRenderer", "math_block"]

MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"

# Worst first: the badge of an equation is that of its worst result.
_SEVERITY = {Outcome.FAIL: 3, Outcome.ERROR: 2, Outcome.SKIP: 1, Outcome.PASS: 0}

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
    version = str(report.meta.get("version", "unknown"))
    return _template("report.html").substitute(
        generator=_e(f"eqconform {version}"),
        title=_e(f"eqconform conformance report: {'PASS' if report.passed else 'FAIL'}"),
        css=_template_text("report.css"),
        header=_header(report),
        nav=_nav(report),
        main="\n".join(part for part in [
            _scoreboard(report), _targets(report), _defaults(report), _proofs(report),
            _equations(report), _errata(report)] if part),
        footer=_footer(report),
    )


def math_block(mathml: str) -> str:
    """``mathml`` as a display-block ``<math>`` element (SymPy prints only the inner ``<mrow>``)."""
    mathml = mathml.strip()
    if re.match(r"<math[\s>]", mathml):
        return mathml
    return f'<math display="block" xmlns="{MATHML_NAMESPACE}">{mathml}</math>'


# Page parts ------------------------------------------------------------------------------------


def _header(report: Report) -> str:
    counts = report.counts()
    verdict = "pass" if report.passed else "fail"
    meta = "".join(
        f"<li><span>{_e(label)}</span>{_e(value)}</li>" for label, value in meta_items(report.meta)
    )
    chips = [_chip(outcome.value, counts[outcome.value], outcome.value) for outcome in Outcome]
    if report.proofs:
        proved = sum(1 for proof in report.proofs if proof.status == "proved")
        chips.append(_chip("pass" if proved == len(report.proofs) else "error",
                           f"{proved}/{len(report.proofs)}", "proofs proved"))
    return (
        '<header class="masthead"><div class="wrap">'
        '<p class="eyebrow">eqconform</p>'
        '<h1 id="eqc-summary">Conformance report '
        f'{_badge(verdict.upper(), verdict, "verdict")}</h1>'
        f'<ul class="meta">{meta}</ul>'
        f'<ul class="counts">{"".join(chips)}</ul>'
        + (f'<p class="baseline legend">{_e(baseline_text(report))}</p>' if report.baseline is not None else "")
        + "</div></header>"
    )


def _chip(css: str, value: int | str, label: str) -> str:
    zero = " zero" if value == 0 else ""
    return f'<li class="{css}{zero}"><strong>{_e(value)}</strong>{_e(label)}</li>'


def _nav(report: Report) -> str:
    parts = [
        '<nav class="toc" aria-label="Contents">',
        '<ul class="toc-sections">',
    ]
    if scoreboard(report):
        parts.append('<li><a href="#eqc-scoreboard">Scoreboard</a></li>')
    parts.append('<li><a href="#eqc-targets">Targets</a></li>')
    if defaults_rows(report):
        parts.append('<li><a href="#eqc-defaults">Defaults</a></li>')
    if report.proofs:
        parts.append('<li><a href="#eqc-proofs">Proofs</a></li>')
    if report.errata:
        parts.append('<li><a href="#eqc-errata">Errata</a></li>')
    parts += ["</ul>", "<h2>Equations</h2>"]
    for component, specs in components(report).items():
        parts.append(f"<h3>{_e(component)}</h3><ul>")
        for spec in specs:
            status = _spec_status(report, spec)
            parts.append(
                f'<li><a href="{_href(spec.id)}" title="{_e(spec.title)}">'
                f'<span class="dot {_css_token(status)}" title="{_e(status)}"></span>'
                f'<span class="toc-id">{_e(spec.id)}</span></a></li>'
            )
        parts.append("</ul>")
    parts.append("</nav>")
    return "\n".join(parts)


def _scoreboard(report: Report) -> str:
    """Equations down (grouped by component), targets across, one verdict per cell."""
    groups = scoreboard(report)
    if not groups:
        return ""
    columns = scoreboard_targets(report)
    head = "".join(f'<th scope="col" class="sb-target" title="{_e(name)}">'
                   f"<span>{_breakable(name)}</span></th>" for name in columns)
    bodies = "".join(
        f'<tbody><tr class="sb-group"><th colspan="{len(columns) + 1}" scope="colgroup">'
        f"<span>{_e(component)}</span></th></tr>"
        + "".join(_scoreboard_row(row, columns) for row in rows)
        + "</tbody>"
        for component, rows in groups.items()
    )
    table = (
        '<div class="table-wrap scoreboard-wrap" role="region" aria-label="Scoreboard" '
        'tabindex="0"><table class="scoreboard">'
        f'<thead><tr><th scope="col" class="sb-corner">Equation</th>{head}</tr></thead>'
        f"{bodies}</table></div>"
    )
    legend = ('<p class="legend">One cell per equation and target: the verdict and the variant '
              "the implementation matched; <span class=\"muted\">—</span> where the equation "
              "was not checked on that target.</p>")
    return _section("eqc-scoreboard", "Scoreboard", legend + table)


def _scoreboard_row(row: ScoreboardRow, columns: Sequence[str]) -> str:
    spec = row.spec
    cells = "".join(_scoreboard_cell(spec, name, results)
                    for name, results in zip(columns, row.cells))
    return (f'<tr><th scope="row"><a href="{_href(spec.id)}" title="{_e(spec.title)}">'
            f"{_e(spec.id)}</a></th>{cells}</tr>")


def _scoreboard_cell(spec: SpecSummary, target: str, results: Sequence[Result]) -> str:
    if not results:
        return (f'<td class="sb none" title="{_e(spec.id)} was not checked on {_e(target)}">'
                f"{MISSING}</td>")
    worst = max((result.outcome for result in results), key=_SEVERITY.__getitem__)
    title = "\n".join(_verdict_title(result) for result in results)
    verdicts = "<br>".join(_verdict(result) for result in results)
    return f'<td class="sb {worst.value}" title="{_e(title)}">{verdicts}</td>'


def _verdict(result: Result) -> str:
    # The space between the two spans is where the variant may wrap under the verdict.
    variant = (f' <span class="sb-variant">· {_e(result.variant)}</span>'
               if result.variant else "")
    return (f'<span class="sb-verdict"><span class="sb-mark" aria-hidden="true">'
            f"{_MARKS[result.outcome]}</span> {_e(result.outcome.value)}</span>{variant}"
            + (f" {_change_badge(result.change)}" if result.change else ""))


# Baseline changes borrow the outcome colours: a regression looks like a failure, a fix like a pass.
_CHANGE_CSS = {"regressed": "fail", "fixed": "pass", "variant changed": "skip", "changed": "error", "new": "skip"}


def _change_badge(change: str) -> str:
    """The mark of a change since the baseline (``eqconform report --baseline``)."""
    text = CHANGE_LABELS.get(change, change).split(" ", 1)[-1]
    return _badge(text, _CHANGE_CSS.get(change, "skip"), "change")


def _verdict_title(result: Result) -> str:
    """The cell's tooltip: everything the scoreboard leaves out, on one line."""
    facts = [f"{result.spec} on {result.target}: {result.outcome.value}"
             + (f" ({result.change} since the baseline)" if result.change else "")]
    if result.variant:
        facts.append(f"variant {result.variant}")
    facts.append(f"{result.examples} examples")
    if result.max_error is not None or result.max_abs_error is not None:
        facts.append(f"worst error {format_error(result)}")
    return ", ".join(facts)


def _targets(report: Report) -> str:
    versions = [target_version(target) for target in report.targets]
    show_versions = any(version is not None for version in versions)
    rows = []
    for target, version in zip(report.targets, versions):
        results = [result for result in report.results if result.target == target.name]
        counts = ", ".join(
            f"{sum(1 for r in results if r.outcome is outcome)} {outcome.value}"
            for outcome in Outcome
        )
        row = [f"<code>{_breakable(target.name)}</code>", _e(target.description), _e(counts)]
        if show_versions:
            row.insert(1, _code_or_dash(version))
        rows.append(row)
    header = ["Target", "Description", "Results"]
    if show_versions:
        header.insert(1, "Version")
    return _section("eqc-targets", "Targets", _table(header, rows, "card"))


def _defaults(report: Report) -> str:
    """The documents' hyperparameter defaults beside each target's; differences highlighted."""
    rows = defaults_rows(report)
    if not rows:
        return ""
    head = "".join(f'<th scope="col" class="sb-target" title="{_e(target.name)}">'
                   f"<span>{_breakable(target.name)}</span></th>" for target in report.targets)
    groups: dict[str, list[DefaultsRow]] = {}
    for row in rows:
        groups.setdefault(row.component, []).append(row)
    span = len(report.targets) + 2
    bodies = "".join(
        f'<tbody><tr class="sb-group"><th colspan="{span}" scope="colgroup">'
        f"<span>{_e(component)}</span></th></tr>"
        + "".join(_defaults_row(row) for row in group)
        + "</tbody>"
        for component, group in groups.items()
    )
    table = (
        '<div class="table-wrap defaults-wrap"><table class="defaults">'
        '<thead><tr><th scope="col">Parameter</th><th scope="col">Documents</th>'
        f"{head}</tr></thead>{bodies}</table></div>"
    )
    legend = ('<p class="legend">Each target\'s own defaults beside the values the documents '
              'state (hover a documented value for where it is stated); '
              '<span class="differs-key">highlighted</span> values differ from the documents.</p>')
    return _section("eqc-defaults", "Hyperparameter defaults", legend + table)


def _defaults_row(row: DefaultsRow) -> str:
    documented = _default_value(row.documented)
    if row.stated:
        documented = f'<span class="stated" title="{_e(row.stated)}">{documented}</span>'
    cells = "".join(_defaults_cell(row, index) for index in range(len(row.values)))
    return (f'<tr><th scope="row"><code>{_e(row.parameter)}</code></th>'
            f'<td class="dv documented">{documented}</td>{cells}</tr>')


def _defaults_cell(row: DefaultsRow, index: int) -> str:
    value = _default_value(row.values[index])
    if not row.differs(index):
        return f'<td class="dv">{value}</td>'
    title = f"differs from the documents' {format_value(row.documented)}"
    return f'<td class="dv differs" title="{_e(title)}">{value}</td>'


def _default_value(value: object) -> str:
    text = _e(format_value(value))
    return f'<span class="muted">{text}</span>' if value is None or value is ABSENT else text


def _proofs(report: Report) -> str:
    if not report.proofs:
        return ""
    known = {spec.id for spec in report.specs}
    rows = [
        [
            (f'<code>{_e(proof.id)}</code><span class="proof-title">{_e(proof.title)}</span>'
             f'<span class="proof-source">{_e(proof.source)}</span>'),
            _proof_badge(proof.status),
            _e(proof.method),
            ", ".join(_spec_link(spec, known) for spec in proof.specs),
            _e(proof.detail) if proof.detail else '<span class="muted">—</span>',
        ]
        for proof in report.proofs
    ]
    header = ["Proof", "Status", "Method", "Equations", "Detail"]
    return _section("eqc-proofs", "Proofs", _table(header, rows, "card"))


def _equations(report: Report) -> str:
    parts = []
    for component, specs in components(report).items():
        parts.append(f'<h2 class="component">{_e(component)}</h2>')
        parts += [_spec(report, spec) for spec in specs]
    return '<section id="eqc-equations">' + "\n".join(parts) + "</section>"


def _spec(report: Report, spec: SpecSummary) -> str:
    status = _spec_status(report, spec)
    parts = [
        f'<article class="spec" id="{_e(spec.id)}">',
        '<div class="spec-head">',
        (f'<h3><span class="spec-id">{_e(spec.id)}</span> · {_e(spec.title)}'
         f'<a class="anchor" href="{_href(spec.id)}" aria-label="link to this equation">#</a>'
         "</h3>"),
        _badge(status, status),
        "</div>",
        f'<p class="source">{_e(spec.source)}</p>',
    ]
    if spec.variants:
        primary = spec.variants[0]
        parts += [
            '<div class="statement">',
            math_block(primary.mathml) if primary.mathml.strip() else "",
            f'<p class="statement-label">variant <code>{_e(primary.id)}</code></p>',
            "</div>",
            _latex(primary.latex),
        ]
    if len(spec.variants) > 1:
        parts += ["<h4>Documented variants</h4>", _variants(spec.variants[1:])]
    if spec.symbols:
        rows = [[f"<code>{_e(symbol.name)}</code>", _e(symbol.meaning), _e(symbol.domain)]
                for symbol in spec.symbols]
        parts += ["<h4>Symbols</h4>", _table(["Symbol", "Meaning", "Domain"], rows)]
    proofs = list(report.proofs_for(spec.id))
    if proofs:
        parts += ["<h4>Proofs</h4>", _proof_list(proofs)]
    parts += ["<h4>Results</h4>", _results(list(report.results_for(spec.id)))]
    parts.append("</article>")
    return "\n".join(part for part in parts if part)


def _variants(variants: Sequence[VariantSummary]) -> str:
    rows = []
    for variant in variants:
        status = ("accepted", "accepted") if variant.accepted else ("known deviation", "deviation")
        formula = math_block(variant.mathml) if variant.mathml.strip() else ""
        rows.append([
            f"<code>{_e(variant.id)}</code>",
            _badge(*status),
            _e(variant.source) if variant.source else '<span class="muted">—</span>',
            _e(variant.note),
            formula,
        ])
    return _table(["Variant", "Status", "Source", "Note", "Formula"], rows)


def _latex(latex: str) -> str:
    if not latex.strip():
        return ""
    return f"<details><summary>LaTeX</summary><pre><code>{_e(latex)}</code></pre></details>"


def _proof_list(proofs: Iterable[ProofRecord]) -> str:
    items = "".join(
        f'<li>{_proof_badge(proof.status)} <code>{_e(proof.id)}</code> {_e(proof.title)} '
        f'<span class="muted">({_e(proof.method)})</span>'
        + (f'<br><span class="muted">{_e(proof.detail)}</span>' if proof.detail else "")
        + "</li>"
        for proof in proofs
    )
    return f'<ul class="proof-list">{items}</ul>'


def _results(results: Sequence[Result]) -> str:
    if not results:
        return '<p class="muted">Not checked on any target.</p>'
    header = ["Target", "Verdict", "Variant", "Examples", "Worst error", "Observed through", "Time"]
    numeric = {"Examples", "Worst error", "Time"}
    head = "".join(
        f'<th class="num">{_e(name)}</th>' if name in numeric else f"<th>{_e(name)}</th>"
        for name in header
    )
    body = []
    for result in results:
        bad = result.max_error is not None and not result.max_error <= 1
        body.append(
            "<tr>"
            f"<td><code>{_e(result.target)}</code></td>"
            f"<td>{_badge(result.outcome.value, result.outcome.value)}"
            f"{(' ' + _change_badge(result.change)) if result.change else ''}</td>"
            f"<td>{_code_or_dash(result.variant)}</td>"
            f'<td class="num">{result.examples}</td>'
            f'<td class="num{" bad" if bad else ""}">{_worst_error(result)}</td>'
            f"<td>{_code_or_dash(result.observed_through)}</td>"
            f'<td class="num">{_e(format_number(result.seconds, ".2f"))} s</td>'
            "</tr>"
        )
        detail = _result_detail(result)
        if detail:
            body.append(f'<tr class="detail"><td colspan="{len(header)}">{detail}</td></tr>')
    return (f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _worst_error(result: Result) -> str:
    if result.max_error is None and result.max_abs_error is None:
        return '<span class="muted">—</span>'
    text = f"{_e(format_number(result.max_error))} tol"
    if result.max_abs_error is not None:
        text += f"<br><small>abs {_e(format_number(result.max_abs_error, '.2e'))}</small>"
    return text


def _result_detail(result: Result) -> str:
    parts = []
    if result.message:
        parts.append(f'<p class="message">{_e(result.message)}</p>')
    if result.counterexample:
        parts += ['<p class="label">Minimal counterexample</p>',
                  f"<pre>{_e(result.counterexample)}</pre>"]
    if result.reproduce:
        parts += ['<p class="label">Reproduce</p>',
                  f"<pre><code>{_e(result.reproduce)}</code></pre>"]
    if result.statistics:
        parts += ['<p class="label">Statistical tests</p>', _statistics(result.statistics)]
    return "".join(parts)


def _statistics(tests: Sequence[StatisticalTest]) -> str:
    rows = [
        [
            _e(test.name),
            _e(test.statistic),
            _e(format_number(test.p_value, ".3g")),
            _e(format_number(test.alpha, ".3g")),
            _e(test.power),
            _badge("pass", "pass") if test.passed else _badge("fail", "fail"),
        ]
        for test in tests
    ]
    return _table(["Test", "Statistic", "p-value", "Alpha", "Power", "Result"], rows)


def _errata(report: Report) -> str:
    if not report.errata:
        return ""
    keys: list[str] = []
    for entry in report.errata:
        keys += [key for key in entry if key not in keys]
    rows = [[_e(entry.get(key, "")) for key in keys] for entry in report.errata]
    return _section("eqc-errata", "Errata", _table(keys, rows, "card"))


def _footer(report: Report) -> str:
    version = report.meta.get("version", "unknown")
    date = report.meta.get("date")
    when = f" on {_e(date)}" if date else ""
    return (f'<footer><div class="wrap">Generated by eqconform {_e(version)}{when}. '
            f"Worst errors are in units of the tolerance: at most 1 is a pass."
            "</div></footer>")


# Small pieces -----------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(visible_controls(str(value)), quote=True)


def _breakable(text: str) -> str:
    """``text`` escaped, with a line-break opportunity after every ``/`` (long target paths)."""
    return _e(text).replace("/", "/<wbr>")


def _href(spec_id: str) -> str:
    return _e("#" + quote(spec_id, safe=""))


def _spec_link(spec_id: str, known: set[str]) -> str:
    """A link to the equation's section, or just its id when the report does not show it."""
    if spec_id in known:
        return f'<a href="{_href(spec_id)}">{_e(spec_id)}</a>'
    return f"<code>{_e(spec_id)}</code>"


def _badge(text: str, css: str, extra: str = "") -> str:
    classes = " ".join(part for part in ("badge", _css_token(css), extra) if part)
    return f'<span class="{classes}">{_e(text)}</span>'


def _proof_badge(status: str) -> str:
    return _badge(status, status)


def _css_token(text: str) -> str:
    """A class name derived from a status (``not proved`` -> ``not-proved``)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _code_or_dash(text: str | None) -> str:
    return f"<code>{_e(text)}</code>" if text else '<span class="muted">—</span>'


def _spec_status(report: Report, spec: SpecSummary) -> str:
    results = list(report.results_for(spec.id))
    if not results:
        return "not checked"
    return max((result.outcome for result in results), key=_SEVERITY.__getitem__).value


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{body}</section>'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], css: str = "") -> str:
    """A table from cells that are already HTML (callers escape what they put in)."""
    head = "".join(f"<th>{_e(name)}</th>" for name in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    wrap_class = f"table-wrap {css}".strip()
    return (f'<div class="{wrap_class}"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


@functools.cache
def _template_text(name: str) -> str:
    templates = resources.files("eqconform.reports").joinpath("templates")
    return templates.joinpath(name).read_text("utf-8")


def _template(name: str) -> Template:
    return Template(_template_text(name))
