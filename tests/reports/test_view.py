"""The shared view model (:mod:`eqconform.reports.view`), the HTML page's data and templates, and
the Markdown helpers other modules write with."""

import dataclasses
import math
from importlib import resources
from typing import TYPE_CHECKING

import jinja2
import pytest
from eqconform.reports import get_renderer, render_html, view
from eqconform.verify import results as model
from eqconform.verify.results import Outcome, Report, Result
from eqconform.reports.render_markdown import code_span, escape_inline, fenced_block, markdown_table
from eqconform.reports import diff
from markupsafe import Markup

if TYPE_CHECKING:
    from conftest import Sample


# The change vocabulary ----------------------------------------------------------------------------


def test_every_change_has_exactly_one_style_in_the_model_order() -> None:
    assert tuple(view.CHANGE_STYLES) == model.CHANGES
    assert len(set(model.CHANGES)) == len(model.CHANGES)


def test_diff_classifies_with_the_model_vocabulary() -> None:
    names = ("REGRESSED", "FIXED", "VARIANT_CHANGED", "CHANGED", "NEW")
    assert tuple(getattr(diff, name) for name in names) == model.CHANGES
    assert all(getattr(diff, name) is getattr(model, name) for name in names)


@pytest.mark.parametrize(("change", "label"), [
    ("regressed", "🔺 regressed"),
    ("fixed", "✅ fixed"),
    ("variant changed", "🔀 variant changed"),
    ("changed", "↔️ changed"),
    ("new", "➕ new"),
    (None, "—"),
    ("renamed", "renamed"),  # unknown: shown as it is
])
def test_change_label(change: str | None, label: str) -> None:
    assert view.change_label(change) == label


def _marked(report: Report) -> Report:
    """``report`` with one result of each change kind, and a baseline summary."""
    kinds = iter(model.CHANGES)
    results = tuple(dataclasses.replace(result, change=next(kinds, None))
                    for result in report.results)
    counts = {kind: 1 for kind in model.CHANGES}
    return dataclasses.replace(report, results=results,
                               baseline={"file": "old.json", "counts": counts, "removed": []})


def test_every_format_shows_the_changes_with_their_style(report: Report) -> None:
    marked = _marked(report)
    markdown = get_renderer("markdown").render(marked)
    html = get_renderer("html").render(marked)
    assert view.baseline_text(marked) == (
        "Against the baseline old.json: 1 regressed, 1 fixed, 1 variant changed, 1 changed, 1 new")
    for kind, style in view.CHANGE_STYLES.items():
        assert f"{style.mark} {kind}" in markdown
        assert f'<span class="badge {style.looks_like.value} change">{kind}</span>' in html


# Wording ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "spec", "text"), [
    (None, ".3g", "—"),
    (math.nan, ".3g", "NaN"),
    (math.inf, ".3g", "∞"),
    (-math.inf, ".3g", "−∞"),
    (0.000123456, ".3g", "0.000123"),
    (1.25, ".2f", "1.25"),
])
def test_format_number(value: float | None, spec: str, text: str) -> None:
    assert view.format_number(value, spec) == text


@pytest.mark.parametrize(("value", "text"), [
    (view.ABSENT, "—"),
    (None, "unknown"),
    (True, "True"),
    (3, "3"),
    (1e-08, "1e-08"),
    (0.1 + 0.2, "0.30000000000000004"),  # exactly, not rounded for display
    (math.nan, "NaN"),
    ((0.9, 0.999), "(0.9, 0.999)"),
    ("adam", "adam"),
])
def test_format_value(value: object, text: str) -> None:
    assert view.format_value(value) == text


def test_format_error_gives_tolerance_units_and_the_absolute_error() -> None:
    result = Result("s", "t", Outcome.FAIL, max_error=math.inf, max_abs_error=math.nan)
    assert view.format_error(result) == "∞ tol (abs NaN)"
    assert view.format_error(Result("s", "t", Outcome.PASS)) == "—"
    assert view.format_error(Result("s", "t", Outcome.PASS, max_error=0.5)) == "0.5 tol"


def test_meta_items_put_the_known_keys_first() -> None:
    meta = {"python": "3.11", "date": "today", "seed": 7, "version": "0.1.0"}
    assert view.meta_items(meta) == [
        ("eqconform", "0.1.0"), ("seed", "7"), ("date", "today"), ("python", "3.11")]


def test_counts_and_summary(report: Report) -> None:
    assert view.counts_text(report.results) == "4 pass, 2 fail, 1 error, 1 skip"
    assert view.counts_text(()) == "0 pass, 0 fail, 0 error, 0 skip"
    assert view.summary_text(report) == (
        "FAIL: 4 pass, 2 fail, 1 error, 1 skip (8 checks on 2 targets; 3 proofs, 1 proved)")


def test_a_joint_finding_counts_once_per_target() -> None:
    joint = [
        Result("a.x", "t", Outcome.FAIL, joint=("a.y", "a.z")),
        Result("a.y", "t", Outcome.FAIL, joint=("a.x", "a.z")),
        Result("a.z", "t", Outcome.FAIL, joint=("a.x", "a.y")),
        Result("a.x", "u", Outcome.FAIL, joint=("a.y",)),
        Result("a.y", "u", Outcome.FAIL, joint=("a.x",)),
        Result("b.w", "u", Outcome.FAIL),
        Result("b.v", "u", Outcome.PASS, joint=("b.w",)),
    ]
    assert view.findings_count(joint) == 3
    assert view.findings_count(joint[:3]) == 1
    report = Report(meta={}, targets=(), specs=(), proofs=(), results=tuple(joint[:3]))
    assert "; the 3 failures are 1 finding;" in view.summary_text(report)


def test_proof_labels() -> None:
    assert view.proof_label("proved") == "✅ proved"
    assert view.proof_label("timed out") == "❓ timed out"


def test_visible_controls_shows_escape_codes_and_keeps_whitespace() -> None:
    assert view.visible_controls("a\x1b[31mb\tc\n\x7f") == "a\\x1b[31mb\tc\n\\x7f"


# Equations ----------------------------------------------------------------------------------------


def test_status_is_the_worst_result(report: Report) -> None:
    statuses = {spec.id: view.spec_status(report, spec) for spec in report.specs}
    assert statuses == {"adam.update": "fail", "layernorm.normalize": "error",
                        "layernorm.affine": "skip", "dropout.train": "fail"}
    unchecked = dataclasses.replace(report, results=())
    assert view.spec_status(unchecked, report.specs[0]) == view.NOT_CHECKED


def test_worst_outcome_order() -> None:
    def results(*outcomes: Outcome) -> list[Result]:
        return [Result("s", "t", outcome) for outcome in outcomes]

    assert view.worst_outcome(results(Outcome.PASS, Outcome.SKIP)) is Outcome.SKIP
    assert view.worst_outcome(results(Outcome.ERROR, Outcome.SKIP)) is Outcome.ERROR
    assert view.worst_outcome(results(Outcome.ERROR, Outcome.FAIL)) is Outcome.FAIL


def test_components_keep_the_order_of_first_appearance(report: Report) -> None:
    groups = view.components(report)
    assert list(groups) == ["Adam", "LayerNorm", "Dropout"]
    assert [spec.id for spec in groups["LayerNorm"]] == ["layernorm.normalize", "layernorm.affine"]


def test_scoreboard_rows_hold_the_results_per_column(report: Report, sample: "Sample") -> None:
    assert view.scoreboard_targets(report) == ["numpy", sample.evil_target]
    [row] = view.scoreboard(report)["Adam"]
    assert [[result.target for result in cell] for cell in row.cells] == [
        ["numpy"], [sample.evil_target]]


def test_errata_columns_are_every_key_in_order() -> None:
    errata = [{"spec": "a", "note": "n"}, {"document": "d", "spec": "b"}]
    assert view.errata_columns(errata) == ["spec", "note", "document"]


def test_defaults_row_differs_only_between_known_values() -> None:
    row = view.DefaultsRow("adam", "eps", 1e-08, "", (1e-08, 1e-07, None, view.ABSENT, 0.0))
    assert [row.differs(index) for index in range(5)] == [False, True, False, False, True]
    nan = view.DefaultsRow("dropout", "p", math.nan, "", (math.nan, (0.9, 0.99)))
    assert [nan.differs(0), nan.differs(1)] == [False, True]


def test_defaults_row_shows_a_value_under_its_kind_only() -> None:
    stated = view.DefaultsRow("adam", "beta1", 0.9, "sec. 4", (0.99,), view.DefaultKind.STATED)
    api = view.DefaultsRow("dropout", "p", 0.5, "no document", (0.3,), view.DefaultKind.CONSTRUCTOR)
    assert (stated.in_text, stated.constructor_default) == (0.9, view.ABSENT)
    assert (api.in_text, api.constructor_default) == (view.ABSENT, 0.5)
    assert stated.reference == "the documents' 0.9" and api.reference == "the homework API's 0.5"
    assert stated.differs(0) and api.differs(0)  # each against its own value
    assert view.constructor_column([stated, api]) and not view.constructor_column([stated])


@pytest.mark.parametrize(("entry", "kind"), [
    ((1e-08, "where", "constructor default"), view.DefaultKind.CONSTRUCTOR),
    ([0.9, "sec. 4", "stated"], view.DefaultKind.STATED),
    ((0.9, "sec. 4"), view.DefaultKind.STATED),  # a report that does not record kinds
    ((0.9, "sec. 4", "guessed"), view.DefaultKind.STATED),  # a kind this version does not know
])
def test_defaults_rows_read_the_kind_of_each_documented_entry(
    report: Report, entry: tuple, kind: "view.DefaultKind"
) -> None:
    documented = {"adam": {"eps": entry}}
    [row] = [row for row in view.defaults_rows(dataclasses.replace(
        report, targets=(), documented_defaults=documented))]
    assert (row.documented, row.stated, row.kind) == (entry[0], entry[1], kind)


def test_a_documented_betas_pair_keeps_its_kind(report: Report) -> None:
    documented = {"adam": {"betas": ((0.9, 0.999), "sec. 4", "stated")}}
    bare = dataclasses.replace(report, targets=(), documented_defaults=documented)
    rows = view.defaults_rows(bare)
    assert [(row.parameter, row.in_text, row.kind) for row in rows] == [
        ("beta1", 0.9, view.DefaultKind.STATED), ("beta2", 0.999, view.DefaultKind.STATED)]


# The HTML page's data and templates ---------------------------------------------------------------


def test_page_marks_only_the_mathml_and_the_stylesheet_as_markup(report: Report) -> None:
    page = render_html.page(report)
    assert isinstance(page.css, Markup)
    for _, equations in page.equations:
        for equation in equations:
            assert isinstance(equation.statement, Markup)
            assert all(isinstance(line.formula, Markup) for line in equation.variants)
            for line in equation.results:
                assert not isinstance(line.result.message, Markup)
    assert not any(isinstance(value, Markup) for _, value in page.meta)


class _Shouting:
    """A default whose ``str`` is markup, as audited code may hand over."""

    def __str__(self) -> str:
        return Markup("<b>loud</b>")


def test_markup_typed_text_from_a_target_is_still_escaped(report: Report) -> None:
    """A ``Markup`` string is trusted by Jinja; one that came from the audited code must not be."""
    results = list(report.results)
    results[1] = dataclasses.replace(results[1], message=Markup("<script>alert(2)</script>"),
                                     counterexample=Markup("<img src=x>"))
    student = report.targets[1]
    student = dataclasses.replace(student, description=Markup("<u>described</u>"),
                                  defaults={**student.defaults, "adam": {"lr": _Shouting()}})
    hostile = dataclasses.replace(report, results=tuple(results),
                                  targets=(report.targets[0], student))
    text = get_renderer("html").render(hostile)
    for payload in ("<script", "<img", "<u>", "<b>loud"):
        assert payload not in text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text
    assert "&lt;b&gt;loud&lt;/b&gt;" in text


def test_math_block_is_markup_and_trusted_only_there() -> None:
    block = render_html.math_block("<mrow><mi>x</mi></mrow>")
    assert isinstance(block, Markup)
    assert block.startswith('<math display="block"')


def test_templates_are_package_data_and_autoescaped() -> None:
    folder = resources.files("eqconform.reports").joinpath("templates")
    names = {entry.name for entry in folder.iterdir()}
    assert {"report.html", "macros.html", "equation.html", "report.css"} <= names
    environment = render_html._environment()
    assert environment.autoescape is True
    assert isinstance(environment.undefined(), jinja2.StrictUndefined)
    for name in sorted(names - {"report.css"}):
        environment.get_template(name)  # every template parses


def test_the_page_has_no_script_and_forbids_requests(report: Report) -> None:
    text = get_renderer("html").render(report)
    assert "<script" not in text.lower()
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">"
            in text)


# Markdown helpers (public: `eqconform diff` writes Markdown too) ----------------------------------


def test_escape_inline_escapes_markup_and_joins_lines() -> None:
    assert escape_inline("<b>|x|</b>") == "\\<b\\>\\|x\\|\\</b\\>"
    assert escape_inline("one\ntwo") == "one two"
    assert escape_inline("one\ntwo", newlines="  \n") == "one  \ntwo"


def test_code_span_outlasts_backticks_and_escapes_pipes() -> None:
    assert code_span("a|b") == "`a\\|b`"
    assert code_span("x ``y`` z") == "```x ``y`` z```"
    assert code_span("`edge`") == "`` `edge` ``"


def test_fenced_block_fence_is_longer_than_any_backtick_run() -> None:
    assert fenced_block("print(1)\n", "python") == "```python\nprint(1)\n```"
    assert fenced_block("````", "text") == "`````text\n````\n`````"


def test_markdown_table() -> None:
    assert markdown_table(["A", "B"], [["1", "2"]]) == "| A | B |\n| --- | --- |\n| 1 | 2 |"
