"""The renderer registry and what each format must contain, parse as, and escape."""

import dataclasses
import json
import re
import types
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import unquote

import pytest
from eqconform import reports
from eqconform.reports import RENDERERS, Renderer, get_renderer
from eqconform.verify.results import FORMAT_VERSION, Outcome, Report
from eqconform.reports.render_html import math_block
from eqconform.reports.render_json import finite_json

if TYPE_CHECKING:
    from conftest import Sample

# Registry -----------------------------------------------------------------------------------------


def test_registry_has_exactly_the_four_formats_and_their_files() -> None:
    assert {name: renderer.filename for name, renderer in RENDERERS.items()} == {
        "json": "report.json",
        "markdown": "report.md",
        "html": "index.html",
        "junit": "junit.xml",
    }


@pytest.mark.parametrize("name", ["json", "markdown", "html", "junit"])
def test_registered_renderers_follow_the_protocol(name: str, report: Report) -> None:
    renderer = get_renderer(name)
    assert isinstance(renderer, Renderer)
    assert renderer.name == name
    text = renderer.render(report)
    assert isinstance(text, str) and text.endswith("\n")


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(KeyError) as raised:
        get_renderer("pdf")
    message = str(raised.value)
    assert "'pdf'" in message
    for name in RENDERERS:
        assert name in message


def test_all_lists_exactly_the_public_names() -> None:
    defined = {
        name for name, value in vars(reports).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(reports.__all__) == defined
    assert len(reports.__all__) == len(set(reports.__all__))


# JSON ---------------------------------------------------------------------------------------------


def _strict_json(text: str) -> dict:
    def reject(constant: str) -> None:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def test_json_is_strict_json_with_the_documented_layout(report: Report, sample: "Sample") -> None:
    text = get_renderer("json").render(report)
    data = _strict_json(text)
    assert text.endswith("}\n") and text.startswith('{\n  "format"')
    assert data["format"] == FORMAT_VERSION
    assert data["tool"] == {"name": "eqconform", "version": "0.1.0"}
    assert [target["name"] for target in data["targets"]] == ["numpy", sample.evil_target]
    assert [(proof["id"], proof["status"]) for proof in data["proofs"]] == [
        ("adam.bias-correction", "proved"),
        ("layernorm.grad-sum", "refuted"),
        ("dropout.expectation", "not proved"),
    ]
    assert len(data["results"]) == len(report.results)
    required = {"spec", "target", "outcome", "variant", "examples", "max_error",
                "counterexample", "message"}
    for entry in data["results"]:
        assert required <= set(entry)
    assert data["summary"] == {"pass": 4, "fail": 2, "error": 1, "skip": 1}


def test_json_writes_non_finite_floats_as_strings(report: Report, sample: "Sample") -> None:
    data = _strict_json(get_renderer("json").render(report))
    failing = next(entry for entry in data["results"]
                   if entry["spec"] == "adam.update" and entry["outcome"] == "fail")
    assert failing["max_error"] == "inf"
    assert failing["max_abs_error"] == "nan"
    assert failing["counterexample"] == sample.counterexample
    assert failing["message"] == sample.fail_message
    dropout = next(entry for entry in data["results"]
                   if entry["spec"] == "dropout.train" and entry["outcome"] == "fail")
    assert dropout["statistics"][1]["p_value"] == "nan"
    passing = data["results"][0]
    assert passing["max_error"] == 0.31


def test_json_converts_non_finite_floats_anywhere(report: Report) -> None:
    report = dataclasses.replace(
        report, meta={**report.meta, "bounds": [float("-inf"), 1.5, {"x": float("inf")}]}
    )
    data = _strict_json(get_renderer("json").render(report))
    assert data["meta"]["bounds"] == ["-inf", 1.5, {"x": "inf"}]
    assert finite_json((float("nan"),)) == ["nan"]


# Markdown -----------------------------------------------------------------------------------------

_FENCED = re.compile(r"^(`{3,})[^\n]*\n.*?^\1$", re.MULTILINE | re.DOTALL)


def _outside_fences(markdown: str) -> str:
    return _FENCED.sub("", markdown)


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_markdown_has_title_meta_summary_and_proofs(report: Report) -> None:
    text = get_renderer("markdown").render(report)
    lines = text.splitlines()
    assert lines[0] == "# eqconform conformance report"
    assert "eqconform 0.1.0 · seed 20260121 · max examples 200 · 2026-01-21T10:00:00Z" in text
    assert "4 pass, 2 fail, 1 error, 1 skip" in text
    assert "FAIL" in text
    assert "| `adam.bias-correction` | ✅ proved | general | sympy.simplify |" in lines
    assert "| `layernorm.grad-sum` | ❌ refuted | N = 2 | sympy.diff + simplify |" in lines
    assert "| `dropout.expectation` | ⚠️ not proved | - | sympy.stats.E |" in lines


def test_markdown_has_one_table_per_component_with_every_result(report: Report) -> None:
    text = get_renderer("markdown").render(report)
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:5] == ["## Hyperparameter defaults", "## Proofs", "## Adam", "## LayerNorm",
                            "## Dropout"]
    for label in ("✅ pass", "❌ fail", "⚠️ error", "⏭ skip"):
        assert label in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    for result in report.results:
        assert any(line.startswith(f"| `{result.spec}` |")
                   and OUTCOME_WORD[result.outcome] in line for line in rows)
    assert "∞ tol (abs NaN)" in text
    assert "0.31 tol (abs 1.20e-08)" in text


OUTCOME_WORD = {Outcome.PASS: "pass", Outcome.FAIL: "fail", Outcome.ERROR: "error",
                Outcome.SKIP: "skip"}


def test_markdown_tables_keep_their_shape_when_cells_contain_pipes(
    report: Report, sample: "Sample"
) -> None:
    text = get_renderer("markdown").render(report)
    assert "E\\[\\|mask\\|\\] / n" in text  # the pipes of the title, escaped
    assert sample.pipe_title not in text
    table: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            widths = {_unescaped_pipes(row) for row in table}
            assert len(widths) == 1, table
            table = []


def test_markdown_failures_section_has_message_counterexample_and_command(
    report: Report, sample: "Sample"
) -> None:
    text = get_renderer("markdown").render(report)
    failures = text[text.index("## Failures"):text.index("## Errata")]
    assert failures.count("### ") == 3  # two fails and one error; the skip is not a failure
    assert f"```text\n{sample.counterexample}\n```" in failures
    assert f"```bash\n{sample.reproduce}\n```" in failures
    assert "keep fraction 0.5 is not 1 - p = 0.9" in failures
    # The ANSI escape in the error message is shown, not sent to the terminal.
    assert "\x1b" not in text
    assert "\\x1b\\[31m" in failures


def test_markdown_escapes_markup_outside_code_blocks(report: Report, sample: "Sample") -> None:
    text = get_renderer("markdown").render(report)
    outside = _outside_fences(text)
    # Every `<` outside code blocks is backslash-escaped, so no HTML tag can start there.
    assert re.findall(r"(?<!\\)<", outside) == []
    assert "\\<script\\>alert(1)\\</script\\>" in outside
    assert "\\<b\\>x\\</b\\>" in outside
    # Inside a fenced block the counterexample is verbatim, markup included.
    assert sample.script in text


def test_markdown_fence_outgrows_backticks_in_the_counterexample(report: Report) -> None:
    tricky = "x = 1\n```\n# not the end of the block"
    results = tuple(dataclasses.replace(result, counterexample=tricky)
                    if result.outcome is Outcome.FAIL else result for result in report.results)
    text = get_renderer("markdown").render(dataclasses.replace(report, results=results))
    assert f"````text\n{tricky}\n````" in text


def test_markdown_errata_only_when_present(report: Report) -> None:
    with_errata = get_renderer("markdown").render(report)
    assert "## Errata" in with_errata
    assert "| layernorm.affine | HW1 Bonus handout | eq. (4) prints beta \\| gamma" in with_errata
    without = get_renderer("markdown").render(dataclasses.replace(report, errata=()))
    assert "## Errata" not in without


# HTML ---------------------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Structure(HTMLParser):
    """Records what a browser would build: tags, attributes, nesting, text per element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.ids: list[str] = []
        self.errors: list[str] = []
        self.texts: dict[str, list[str]] = {}
        self.all_text: list[str] = []
        self.nested_math = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            self.attributes.append((tag, name, value))
            if name == "id" and value is not None:
                self.ids.append(value)
        if tag == "math" and "math" in self.stack:
            self.nested_math += 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.all_text.append(data)
        if self.stack:
            self.texts.setdefault(self.stack[-1], []).append(data)


def _parse(text: str) -> _Structure:
    parser = _Structure()
    parser.feed(text)
    parser.close()
    return parser


def test_html_is_well_formed_with_unique_ids_and_working_anchors(report: Report) -> None:
    structure = _parse(get_renderer("html").render(report))
    assert structure.errors == []
    assert structure.stack == []
    assert len(structure.ids) == len(set(structure.ids))
    for spec in report.specs:
        assert spec.id in structure.ids
    links = [value for tag, name, value in structure.attributes if tag == "a" and name == "href"]
    assert links, "the page has a navigation"
    for link in links:
        assert link.startswith("#"), link
        assert unquote(link[1:]) in structure.ids, link
    nav_targets = {unquote(link[1:]) for link in links}
    assert {spec.id for spec in report.specs} <= nav_targets


def test_html_escapes_every_payload(report: Report, sample: "Sample") -> None:
    text = get_renderer("html").render(report)
    assert "<script" not in text.lower()
    assert sample.attribute not in text
    structure = _parse(text)
    assert "script" not in structure.tags
    assert [name for _, name, _ in structure.attributes if name.startswith("on")] == []
    # Escaped once, not twice: the reader sees the payload exactly as the target produced it.
    visible = "".join(structure.all_text)
    assert sample.evil_target in visible
    assert sample.fail_message in visible
    assert "&lt;" not in visible


def test_html_shows_counterexample_and_reproduce_in_pre(report: Report, sample: "Sample") -> None:
    structure = _parse(get_renderer("html").render(report))
    assert sample.counterexample in structure.texts["pre"]
    assert sample.reproduce in structure.texts["code"]
    visible = "".join(structure.all_text)
    assert sample.error_message.replace("\x1b", "\\x1b") in visible
    assert "∞ tol" in visible and "abs NaN" in visible


def test_html_has_one_math_element_per_variant_and_never_nests_them(report: Report) -> None:
    text = get_renderer("html").render(report)
    structure = _parse(text)
    variants = sum(len(spec.variants) for spec in report.specs)
    assert structure.tags.count("math") == variants
    assert structure.nested_math == 0
    math_attributes = [(name, value) for tag, name, value in structure.attributes if tag == "math"]
    assert math_attributes.count(("xmlns", "http://www.w3.org/1998/Math/MathML")) == variants
    assert structure.tags.count("mfrac") >= 3


def test_math_block_wraps_bare_presentation_mathml_only() -> None:
    bare = "<mrow><mi>x</mi></mrow>"
    assert math_block(bare) == (
        '<math display="block" xmlns="http://www.w3.org/1998/Math/MathML">'
        "<mrow><mi>x</mi></mrow></math>"
    )
    complete = '<math display="inline"><mi>x</mi></math>'
    assert math_block(f"  {complete}\n") == complete


def test_html_is_self_contained(report: Report) -> None:
    text = get_renderer("html").render(report)
    css = resources.files("eqconform.reports").joinpath("templates/report.css").read_text("utf-8")
    assert css.strip() in text
    structure = _parse(text)
    assert {"link", "img", "iframe", "object", "embed"}.isdisjoint(structure.tags)
    assert [value for _, name, value in structure.attributes if name == "src"] == []
    urls = re.findall(r"(?:https?:)?//[^\s\"'<>)]+", text)
    assert set(urls) <= {"http://www.w3.org/1998/Math/MathML"}, urls
    assert "Content-Security-Policy" in text and "default-src 'none'" in text


def test_html_shows_every_section_of_an_equation(report: Report) -> None:
    text = get_renderer("html").render(report)
    structure = _parse(text)
    visible = " ".join(structure.all_text)
    for spec in report.specs:
        assert spec.title in visible and spec.source in visible
        for symbol in spec.symbols:
            assert symbol.meaning in visible and symbol.domain in visible
    assert "known deviation" in visible and "eps-inside-sqrt" in visible
    for proof in report.proofs:
        assert proof.id in visible and proof.status in visible
    for status in ("pass", "fail", "error", "skip"):
        assert f"badge {status}" in " ".join(
            value or "" for _, name, value in structure.attributes if name == "class")
    assert "binomial test on 10000 draws" in visible and "1.2e-12" in visible
    assert "return value" in visible  # observed_through
    # The summary counts, each number next to its outcome: 4 pass, 2 fail, 1 error, 1 skip, 1/3 proved.
    counts = re.search(r'<ul class="counts">(.*?)</ul>', text, re.DOTALL)
    assert counts, "no summary counts"
    chips = dict((label.strip(), number) for number, label in
                 re.findall(r"<li[^>]*>\s*<strong>([^<]*)</strong>([^<]*)</li>", counts.group(1)))
    assert chips == {"pass": "4", "fail": "2", "error": "1", "skip": "1", "proofs proved": "1/3",
                     "proved in general": "1/1"}, chips
    assert "beta | gamma" in visible  # errata


# JUnit --------------------------------------------------------------------------------------------


def _junit(report: Report) -> ET.Element:
    return ET.fromstring(get_renderer("junit").render(report).encode("utf-8"))


def test_junit_has_a_suite_per_target_and_one_for_proofs(report: Report, sample: "Sample") -> None:
    root = _junit(report)
    assert root.tag == "testsuites"
    assert [suite.get("name") for suite in root.findall("testsuite")] == [
        "eqconform.numpy", f"eqconform.{sample.evil_target}", "eqconform.proofs"]
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "11", "4", "1", "1")


def test_junit_cases_carry_component_spec_and_target(report: Report, sample: "Sample") -> None:
    root = _junit(report)
    student = root.findall("testsuite")[1]
    cases = {case.get("name"): case for case in student.findall("testcase")}
    assert set(cases) == {f"{spec}[{sample.evil_target}]" for spec in
                          ("adam.update", "layernorm.normalize", "layernorm.affine",
                           "dropout.train")}
    adam = cases[f"adam.update[{sample.evil_target}]"]
    assert adam.get("classname") == "Adam" and adam.get("time") == "0.500"
    failure = adam.find("failure")
    assert failure is not None and failure.get("message") == sample.fail_message
    assert sample.fail_message in failure.text and sample.counterexample in failure.text
    assert sample.reproduce in failure.text
    error = cases[f"layernorm.normalize[{sample.evil_target}]"].find("error")
    assert error is not None and "\\x1b[31m<b>x</b>" in error.get("message")
    skipped = cases[f"layernorm.affine[{sample.evil_target}]"].find("skipped")
    assert skipped is not None and skipped.get("message") == (
        "target does not implement LayerNorm.affine")
    numpy = root.findall("testsuite")[0]
    assert all(len(case) == 0 for case in numpy.findall("testcase"))
    assert (student.get("tests"), student.get("failures"), student.get("errors"),
            student.get("skipped")) == ("4", "2", "1", "1")


def test_every_format_says_each_proof_s_scope(report: Report) -> None:
    """A claim checked at finite sizes is never shown as if proved in general: the scope is in
    the JSON, in the Markdown and HTML proof tables, and a property of the JUnit case."""
    finite = dataclasses.replace(report.proofs[0], id="finite.claim", scope="C = 1..8")
    report = dataclasses.replace(report, proofs=(*report.proofs, finite))
    data = json.loads(get_renderer("json").render(report))
    assert {p["id"]: p["scope"] for p in data["proofs"]} == {
        "adam.bias-correction": "general", "layernorm.grad-sum": "N = 2", "dropout.expectation": "",
        "finite.claim": "C = 1..8"}
    markdown = get_renderer("markdown").render(report)
    assert "| Proof | Status | Scope | Method |" in markdown
    assert re.search(r"\| `finite.claim` \| [^|]+ \| C = 1\.\.8 \|", markdown), markdown
    assert re.search(r"\| `adam.bias-correction` \| [^|]+ \| general \|", markdown)
    html = get_renderer("html").render(report)
    scopes = re.findall(r'<td class="proof-scope">([^<]*)</td>', html)
    assert scopes[:2] == ["general", "N = 2"] and scopes[-1] == "C = 1..8"
    assert "scope: C = 1..8" in html  # beside the equation it proves
    cases = {case.get("name"): case for case in _junit(report).findall("testsuite")[2].findall("testcase")}
    def scope_of(name: str) -> str | None:
        found = cases[name].find("properties/property[@name='scope']")
        return None if found is None else found.get("value")
    assert scope_of("finite.claim") == "C = 1..8" and scope_of("adam.bias-correction") == "general"
    assert scope_of("dropout.expectation") is None


def test_junit_proofs_fail_unless_proved(report: Report) -> None:
    proofs = _junit(report).findall("testsuite")[2]
    cases = {case.get("name"): case for case in proofs.findall("testcase")}
    assert [child.tag for child in cases["adam.bias-correction"]] == ["properties"]  # its scope
    refuted = cases["layernorm.grad-sum"].find("failure")
    assert refuted is not None and refuted.get("message").startswith("refuted")
    not_proved = cases["dropout.expectation"].find("failure")
    assert not_proved is not None
    assert not_proved.get("message") == "not proved: timed out after 10 s"
    assert proofs.get("failures") == "2"


def test_junit_parses_whatever_control_characters_the_target_prints(report: Report) -> None:
    nasty = "\x00\x07\x1b[0m\ud800 end"
    results = tuple(dataclasses.replace(result, message=nasty, counterexample=nasty)
                    for result in report.results)
    root = _junit(dataclasses.replace(report, results=results))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == "\\x00\\x07\\x1b[0m\\ud800 end"


def test_html_links_only_equations_it_shows(report: Report) -> None:
    proofs = (*report.proofs, dataclasses.replace(report.proofs[0], id="orphan",
                                                  specs=("sgd.update",)))
    text = get_renderer("html").render(dataclasses.replace(report, proofs=proofs))
    structure = _parse(text)
    links = {value for tag, name, value in structure.attributes if tag == "a" and name == "href"}
    assert "#sgd.update" not in links
    assert "<code>sgd.update</code>" in text
