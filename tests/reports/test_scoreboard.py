"""The scoreboard (equations down, targets across) and the hyperparameter-defaults table.

Both are checked in HTML and Markdown against the sample report of ``conftest.py``, whose
student target has markup in its name, its version and one of its parameter names; the JSON
and JUnit renderers are checked to carry (or ignore) the defaults without breaking.
"""

import dataclasses
import html
import json
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import pytest
from eqconform.reports import get_renderer, write_report
from eqconform.verify.results import Outcome, Report, Result, TargetSummary

if TYPE_CHECKING:
    from conftest import Sample


# Reading tables back out of the HTML --------------------------------------------------------------


@dataclass
class Cell:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    links: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


@dataclass
class Row:
    attrs: dict[str, str]
    cells: list[Cell] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [cell.text for cell in self.cells]


@dataclass
class Table:
    head: list[Row] = field(default_factory=list)
    bodies: list[list[Row]] = field(default_factory=list)


class _Tables(HTMLParser):
    """Every ``<table>`` inside the element with a given id, cell by cell, text as displayed."""

    def __init__(self, section_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.section_id = section_id
        self.depth = 0  # element depth inside the section; 0 means outside it
        self.tables: list[Table] = []
        self.ids: list[str] = []
        self._part: list[Row] | None = None
        self._cell: Cell | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids.append(values["id"])
        if self.depth == 0:
            if values.get("id") == self.section_id:
                self.depth = 1
            return
        if tag not in {"br", "wbr"}:
            self.depth += 1
        if tag == "table":
            self.tables.append(Table())
        elif tag == "thead":
            self._part = self.tables[-1].head
        elif tag == "tbody":
            self._part = []
            self.tables[-1].bodies.append(self._part)
        elif tag == "tr" and self._part is not None:
            self._part.append(Row(values))
        elif tag in {"td", "th"} and self._part:
            self._cell = Cell(tag, values)
            self._part[-1].cells.append(self._cell)
        elif tag == "a" and self._cell is not None:
            self._cell.links.append(values.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        if self.depth == 0:
            return
        self.depth -= 1
        if tag in {"td", "th"}:
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text += data


def _tables(html_text: str, section_id: str) -> tuple[list[Table], list[str]]:
    parser = _Tables(section_id)
    parser.feed(html_text)
    parser.close()
    return parser.tables, parser.ids


def _html(report: Report) -> str:
    return get_renderer("html").render(report)


def _markdown(report: Report) -> str:
    return get_renderer("markdown").render(report)


def _only_table(report: Report, section_id: str) -> Table:
    tables, _ = _tables(_html(report), section_id)
    assert len(tables) == 1, f"expected one table in #{section_id}, found {len(tables)}"
    return tables[0]


@dataclass(frozen=True)
class Board:
    """The HTML scoreboard as data: columns, groups of spec ids, cells by (spec, target)."""

    columns: list[str]
    groups: list[tuple[str, list[str]]]
    cells: dict[tuple[str, str], Cell]
    row_links: dict[str, list[str]]


def _board(report: Report) -> Board:
    table = _only_table(report, "eqc-scoreboard")
    [header] = table.head
    columns = header.texts[1:]
    groups: list[tuple[str, list[str]]] = []
    cells: dict[tuple[str, str], Cell] = {}
    links: dict[str, list[str]] = {}
    for body in table.bodies:
        group, *rows = body
        assert "sb-group" in group.attrs.get("class", "")
        groups.append((group.texts[0], [row.cells[0].text for row in rows]))
        for row in rows:
            spec, *values = row.cells
            assert spec.tag == "th" and len(values) == len(columns)
            links[spec.text] = spec.links
            cells.update({(spec.text, column): cell for column, cell in zip(columns, values)})
    return Board(columns, groups, cells, links)


def _without(report: Report, spec: str, target: str) -> Report:
    results = tuple(r for r in report.results if (r.spec, r.target) != (spec, target))
    assert len(results) == len(report.results) - 1
    return dataclasses.replace(report, results=results)


def _with_proof_only_spec(report: Report) -> Report:
    """The report plus an equation that no target was checked on (as for a proof-only spec)."""
    proof_only = dataclasses.replace(report.specs[1], id="layernorm.jacobian",
                                     title="Jacobian of the normalisation")
    specs = (*report.specs[:2], proof_only, *report.specs[2:])
    return dataclasses.replace(report, specs=specs)


OUTCOMES = {outcome.value for outcome in Outcome}


# Scoreboard, HTML ---------------------------------------------------------------------------------


def test_html_scoreboard_has_a_column_per_target_and_a_row_per_checked_spec(
    report: Report, sample: "Sample"
) -> None:
    board = _board(report)
    assert board.columns == ["numpy", sample.evil_target]
    assert board.groups == [
        ("Adam", ["adam.update"]),
        ("LayerNorm", ["layernorm.normalize", "layernorm.affine"]),
        ("Dropout", ["dropout.train"]),
    ]


def test_html_scoreboard_cells_show_verdict_and_variant(report: Report, sample: "Sample") -> None:
    cells = _board(report).cells
    student = sample.evil_target
    expected = {
        ("adam.update", "numpy"): ("✓ pass · paper", "pass"),
        ("adam.update", student): ("✗ fail · paper", "fail"),
        ("layernorm.normalize", "numpy"): ("✓ pass · paper", "pass"),
        ("layernorm.normalize", student): ("⚠ error", "error"),  # no variant: none shown
        ("layernorm.affine", student): ("↷ skip", "skip"),
        ("dropout.train", "numpy"): ("✓ pass · inverted", "pass"),
        ("dropout.train", student): ("✗ fail · inverted", "fail"),
    }
    for key, (text, outcome) in expected.items():
        assert cells[key].text == text, key
        assert cells[key].classes & OUTCOMES == {outcome}, key


def test_html_scoreboard_cell_tooltip_names_the_pair_and_the_worst_error(
    report: Report, sample: "Sample"
) -> None:
    cells = _board(report).cells
    title = cells[("adam.update", sample.evil_target)].attrs["title"]
    assert title.startswith(f"adam.update on {sample.evil_target}: fail")
    assert "variant paper" in title and "17 examples" in title and "∞ tol" in title


def test_html_scoreboard_rows_link_to_their_equation(report: Report) -> None:
    board = _board(report)
    _, ids = _tables(_html(report), "eqc-scoreboard")
    for spec_id, links in board.row_links.items():
        assert links == ["#" + quote(spec_id, safe="")], spec_id
        assert unquote(links[0][1:]) in ids


def test_html_scoreboard_shows_a_dash_for_a_pair_without_result(
    report: Report, sample: "Sample"
) -> None:
    idle = TargetSummary("idle", "listed, never run")
    trimmed = _without(report, "layernorm.affine", sample.evil_target)
    board = _board(dataclasses.replace(trimmed, targets=(*trimmed.targets, idle)))
    assert board.columns == ["numpy", sample.evil_target, "idle"]
    missing = board.cells[("layernorm.affine", sample.evil_target)]
    assert missing.text == "—" and "none" in missing.classes
    assert [board.cells[(spec, "idle")].text for _, specs in board.groups for spec in specs] == [
        "—"] * 4
    assert board.cells[("layernorm.normalize", sample.evil_target)].text == "⚠ error"


def test_html_scoreboard_omits_equations_without_results(report: Report) -> None:
    extended = _with_proof_only_spec(report)
    board = _board(extended)
    assert "layernorm.jacobian" not in [spec for _, specs in board.groups for spec in specs]
    assert board.groups[1] == ("LayerNorm", ["layernorm.normalize", "layernorm.affine"])
    # The equation itself is still in the report, just not on the scoreboard.
    assert 'id="layernorm.jacobian"' in _html(extended)


def test_html_scoreboard_has_a_column_for_results_of_an_unlisted_target(report: Report) -> None:
    stray = Result("dropout.train", "stray", Outcome.PASS, variant="inverted")
    board = _board(dataclasses.replace(report, results=(*report.results, stray)))
    assert board.columns[-1] == "stray"
    assert board.cells[("dropout.train", "stray")].text == "✓ pass · inverted"
    assert board.cells[("adam.update", "stray")].text == "—"


def test_html_scoreboard_is_shown_for_a_single_target(report: Report) -> None:
    numpy_only = dataclasses.replace(
        report, targets=report.targets[:1],
        results=tuple(r for r in report.results if r.target == "numpy"))
    board = _board(numpy_only)
    assert board.columns == ["numpy"]
    assert len(board.cells) == 4
    assert '<a href="#eqc-scoreboard">' in _html(numpy_only)


def test_html_has_no_scoreboard_without_results(report: Report) -> None:
    text = _html(dataclasses.replace(report, results=()))
    assert 'id="eqc-scoreboard"' not in text and "#eqc-scoreboard" not in text


def test_html_scoreboard_comes_right_after_the_summary(report: Report) -> None:
    text = _html(report)
    main = text[text.index("<main>"):]
    assert main.index('id="eqc-scoreboard"') < main.index('id="eqc-targets"')
    assert main.index('id="eqc-targets"') < main.index('id="eqc-defaults"')


def test_html_scoreboard_escapes_the_target_name(report: Report, sample: "Sample") -> None:
    text = _html(report)
    section = text[text.index('id="eqc-scoreboard"'):text.index('id="eqc-targets"')]
    assert "<script" not in section and sample.attribute not in section
    board = _board(report)
    assert sample.evil_target in board.columns  # shown once-escaped, exactly as named
    [header] = _only_table(report, "eqc-scoreboard").head
    assert header.cells[2].attrs["title"] == sample.evil_target


# Scoreboard, Markdown -----------------------------------------------------------------------------

ESCAPED_STUDENT = 'student" onmouseover="x\\<script\\>alert(1)\\</script\\>'


def _blocks(markdown: str) -> list[str]:
    return markdown.split("\n\n")


def test_markdown_scoreboard_is_the_table_after_the_summary_line(report: Report) -> None:
    blocks = _blocks(_markdown(report))
    assert blocks[2].startswith("**FAIL: ")
    assert blocks[3].splitlines() == [
        f"| Component | Spec | numpy | {ESCAPED_STUDENT} |",
        "| --- | --- | --- | --- |",
        "| **Adam** | `adam.update` | ✅ pass · paper | ❌ fail · paper |",
        "| **LayerNorm** | `layernorm.normalize` | ✅ pass · paper | ⚠️ error |",
        "|  | `layernorm.affine` | ✅ pass · paper | ⏭ skip |",
        "| **Dropout** | `dropout.train` | ✅ pass · inverted | ❌ fail · inverted |",
    ]


def test_markdown_scoreboard_dashes_missing_pairs_and_omits_unchecked_specs(
    report: Report, sample: "Sample"
) -> None:
    trimmed = _without(_with_proof_only_spec(report), "layernorm.affine", sample.evil_target)
    table = _blocks(_markdown(trimmed))[3].splitlines()
    assert "|  | `layernorm.affine` | ✅ pass · paper | — |" in table
    assert len(table) == 6
    assert not any("layernorm.jacobian" in line for line in table)


def test_markdown_has_no_scoreboard_without_results(report: Report) -> None:
    blocks = _blocks(_markdown(dataclasses.replace(report, results=())))
    assert blocks[3].startswith("- **numpy**")
    assert "| Component | Spec |" not in "\n".join(blocks)


# Defaults, HTML -----------------------------------------------------------------------------------


def _defaults(report: Report) -> tuple[list[str], dict[tuple[str, str], list[Cell]], list[str]]:
    """Header texts, cells by (component, parameter), and the components in order."""
    table = _only_table(report, "eqc-defaults")
    [header] = table.head
    rows: dict[tuple[str, str], list[Cell]] = {}
    order = []
    for body in table.bodies:
        group, *entries = body
        order.append(group.texts[0])
        for row in entries:
            rows[(group.texts[0], row.cells[0].text)] = row.cells[1:]
    return header.texts, rows, order


def test_html_defaults_table_lists_the_union_of_parameters(report: Report, sample: "Sample") -> None:
    header, rows, order = _defaults(report)
    assert header == ["Parameter", "Documents", "Homework API", "numpy", sample.evil_target]
    # Components in the order of the report's equations (Adam, LayerNorm, Dropout), then others.
    assert order == ["adam", "layernorm", "dropout", "adamw", sample.evil_component]
    assert [p for c, p in rows if c == "adam"] == [
        "lr", "beta1", "beta2", "eps", "weight_decay", sample.evil_parameter]
    assert [p for c, p in rows if c == "adamw"] == ["lr", "beta1", "beta2", "eps", "weight_decay"]
    assert ("adam", "version") not in rows and "version" not in order


def test_html_defaults_table_shows_documented_values_and_where_stated(
    report: Report, sample: "Sample"
) -> None:
    _, rows, _ = _defaults(report)
    assert rows[("adam", "beta1")][0].text == "0.9"
    text = _html(report)
    assert f'<span class="stated" title="{html.escape(sample.sec4)}">0.9</span>' in text
    assert f'<span class="stated" title="{html.escape(sample.api)}">1e-08</span>' in text
    # A constructor default is in the homework API's column, never in the documents'.
    assert [rows[("adamw", "weight_decay")][column].text for column in (0, 1)] == ["—", "0.01"]
    assert [rows[("layernorm", "eps")][column].text for column in (0, 1)] == ["—", "1e-08"]
    assert [rows[("adam", "eps")][column].text for column in (0, 1)] == ["—", "1e-08"]
    assert [rows[("adam", "beta1")][column].text for column in (0, 1)] == ["0.9", "—"]
    assert [rows[("adam", "lr")][column].text for column in (0, 1)] == ["—", "—"]  # nobody's


def test_html_defaults_table_marks_values_that_differ_from_the_documents(
    report: Report, sample: "Sample"
) -> None:
    _, rows, _ = _defaults(report)
    differs = {(component, parameter, column)
               for (component, parameter), cells in rows.items()
               for column, cell in zip(["documents", "api", "numpy", "student"], cells, strict=True)
               if "differs" in cell.classes}
    assert differs == {
        ("layernorm", "eps", "numpy"),    # 1e-05 against 1e-08
        ("adam", "beta2", "student"),     # 0.99, from a betas pair, against 0.999
        ("dropout", "p", "student"),      # NaN against 0.5
    }
    assert rows[("layernorm", "eps")][2].text == "1e-05"
    # Said against what the value is: a constructor default, which no document states.
    assert rows[("layernorm", "eps")][2].attrs["title"] == "differs from the homework API's 1e-08"
    assert rows[("adam", "beta2")][3].text == "0.99"
    assert rows[("adam", "beta2")][3].attrs["title"] == "differs from the documents' 0.999"
    assert rows[("adam", "beta1")][3].text == "0.9"
    assert rows[("dropout", "p")][3].text == "NaN"


def test_html_defaults_table_shows_missing_and_unknown_values(
    report: Report, sample: "Sample"
) -> None:
    _, rows, _ = _defaults(report)
    assert rows[("adam", "eps")][3].text == "unknown"  # None: the parameter, value unknown
    assert "differs" not in rows[("adam", "eps")][3].classes
    assert [cells[3].text for (component, _), cells in rows.items() if component == "adamw"] == [
        "—"] * 5  # the student has no AdamW
    assert rows[("adam", "lr")][2].text == "0.001" and rows[("adam", "lr")][3].text == "0.01"
    assert rows[("adam", sample.evil_parameter)][3].text == "False"
    assert rows[("adam", sample.evil_parameter)][2].text == "—"


def test_html_defaults_order_does_not_follow_the_mapping_order(report: Report) -> None:
    # The CLI builds documented_defaults from a set: its order changes from run to run.
    scrambled = dict(reversed(list(report.documented_defaults.items())))
    _, _, order = _defaults(dataclasses.replace(report, documented_defaults=scrambled))
    assert order[:4] == ["adam", "layernorm", "dropout", "adamw"]


def test_html_defaults_with_only_documented_values(report: Report) -> None:
    bare = tuple(dataclasses.replace(target, defaults={}) for target in report.targets)
    _, rows, order = _defaults(dataclasses.replace(report, targets=bare))
    assert order == ["adam", "layernorm", "dropout", "adamw"]
    assert rows[("layernorm", "eps")][1].text == "1e-08"
    assert {cell.text for cells in rows.values() for cell in cells[2:]} == {"—"}


def test_html_defaults_have_no_homework_api_column_without_constructor_defaults(
    report: Report, sample: "Sample"
) -> None:
    stated = {"adam": {"beta1": (0.9, sample.sec4, "stated"), "beta2": [0.999, sample.sec4]}}
    header, rows, _ = _defaults(dataclasses.replace(report, documented_defaults=stated))
    assert header == ["Parameter", "Documents", "numpy", sample.evil_target]
    assert rows[("adam", "beta1")][0].text == "0.9" and rows[("adam", "beta2")][0].text == "0.999"
    text = _html(dataclasses.replace(report, documented_defaults=stated))
    section = text[text.index('id="eqc-defaults"'):]
    assert "constructor" not in section[:section.index("</section>")]


def test_html_has_no_defaults_table_when_nobody_gives_defaults(report: Report) -> None:
    bare = tuple(dataclasses.replace(target, defaults={}) for target in report.targets)
    text = _html(dataclasses.replace(report, targets=bare, documented_defaults={}))
    assert 'id="eqc-defaults"' not in text and "#eqc-defaults" not in text
    assert "Version" not in _only_table(
        dataclasses.replace(report, targets=bare), "eqc-targets").head[0].texts


def test_html_targets_table_shows_each_version(report: Report, sample: "Sample") -> None:
    table = _only_table(report, "eqc-targets")
    assert table.head[0].texts == ["Target", "Version", "Description", "Results"]
    [body] = table.bodies
    assert [row.texts[:2] for row in body] == [
        ["numpy", "2.1.3"], [sample.evil_target, sample.evil_version]]


def test_html_defaults_escape_names_versions_and_parameters(
    report: Report, sample: "Sample"
) -> None:
    text = _html(report)
    section = text[text.index('id="eqc-targets"'):text.index('id="eqc-proofs"')]
    assert "<script" not in section and sample.attribute not in section
    header, rows, order = _defaults(report)
    assert header[-1] == sample.evil_target
    assert sample.evil_component in order
    assert ("adam", sample.evil_parameter) in rows


def test_defaults_split_a_betas_pair_but_keep_explicit_betas(report: Report) -> None:
    target = TargetSummary("t", "", {"adam": {"beta1": 0.8, "betas": (0.7, 0.95)}})
    _, rows, _ = _defaults(dataclasses.replace(report, targets=(target,)))
    assert rows[("adam", "beta1")][2].text == "0.8"  # given on its own, wins over the pair
    assert rows[("adam", "beta2")][2].text == "0.95"
    assert ("adam", "betas") not in rows


# Defaults, Markdown -------------------------------------------------------------------------------


def _defaults_block(markdown: str) -> list[str]:
    blocks = _blocks(markdown)
    start = blocks.index("## Hyperparameter defaults")
    return blocks[start:start + 4]


def test_markdown_defaults_table(report: Report, sample: "Sample") -> None:
    _, intro, table, notes = _defaults_block(_markdown(report))
    lines = table.splitlines()
    assert lines[0] == (
        f"| Component | Parameter | Documents | Homework API | numpy | {ESCAPED_STUDENT} |")
    assert "| **adam** | `lr` | — | — | 0.001 | 0.01 |" in lines
    assert "|  | `beta2` | 0.999[^1] | — | 0.999 | **0.99** |" in lines
    # Constructor defaults have a column of their own: the documents state none of them.
    assert "|  | `eps` | — | 1e-08[^2] | 1e-08 | unknown |" in lines
    assert "| **layernorm** | `eps` | — | 1e-08[^2] | **1e-05** | — |" in lines
    assert "| **dropout** | `p` | — | 0.5[^2] | 0.5 | **NaN** |" in lines
    assert "|  | `weight_decay` | — | 0.01[^2] | 0.01 | — |" in lines
    assert "|  | amsgrad\\<script\\>alert(1)\\</script\\> | — | — | — | False |" in lines
    assert notes.splitlines() == [f"[^1]: {sample.sec4}", f"[^2]: {sample.api}"]
    assert "bold" in intro and "constructor defaults" in intro


def test_markdown_defaults_without_constructor_defaults_have_no_homework_api_column(
    report: Report, sample: "Sample"
) -> None:
    # A [value, where] pair (a report that does not record kinds) is the documents' value.
    stated = {"adam": {"beta1": [0.9, sample.sec4], "beta2": (0.999, sample.sec4, "stated")}}
    _, intro, table, _ = _defaults_block(
        _markdown(dataclasses.replace(report, documented_defaults=stated)))
    lines = table.splitlines()
    assert lines[0] == f"| Component | Parameter | Documents | numpy | {ESCAPED_STUDENT} |"
    assert "|  | `beta1` | 0.9[^1] | 0.9 | 0.9 |" in lines
    assert "constructor" not in intro


def test_markdown_lists_target_versions(report: Report) -> None:
    text = _markdown(report)
    assert "- **numpy** (version 2.1.3): reference NumPy implementation" in text.splitlines()
    assert "(version 0.1\\<script\\>alert(1)\\</script\\>)" in text


def test_markdown_has_no_defaults_section_when_nobody_gives_defaults(report: Report) -> None:
    bare = tuple(dataclasses.replace(target, defaults={}) for target in report.targets)
    text = _markdown(dataclasses.replace(report, targets=bare, documented_defaults={}))
    assert "## Hyperparameter defaults" not in text and "[^1]" not in text
    assert "(version" not in text


# JSON and JUnit -----------------------------------------------------------------------------------


def _json(report: Report) -> dict[str, Any]:
    def reject(constant: str) -> None:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(get_renderer("json").render(report), parse_constant=reject)


def test_json_carries_both_kinds_of_defaults(report: Report, sample: "Sample") -> None:
    data = _json(report)
    numpy, student = data["targets"]
    assert numpy["defaults"]["layernorm"] == {"eps": 1e-05}
    assert numpy["defaults"]["version"] == "2.1.3"
    assert student["defaults"]["adam"] == {"lr": 0.01, "betas": [0.9, 0.99], "eps": None,
                                           sample.evil_parameter: False}
    assert student["defaults"]["dropout"] == {"p": "nan"}
    # [value, where, kind]: a reader of the JSON tells a stated value from a constructor default.
    assert data["documented_defaults"]["adam"]["beta1"] == [0.9, sample.sec4, "stated"]
    assert data["documented_defaults"]["adamw"]["weight_decay"] == [
        0.01, sample.api, "constructor default"]


def test_json_writes_a_kind_as_its_plain_string(report: Report) -> None:
    from eqconform.specs.defaults import DefaultKind

    documented = {"dropout": {"p": (0.5, "the constructor", DefaultKind.CONSTRUCTOR)}}
    data = _json(dataclasses.replace(report, documented_defaults=documented))
    assert data["documented_defaults"] == {"dropout": {"p": [0.5, "the constructor",
                                                             "constructor default"]}}


def test_json_survives_read_only_mappings_numpy_scalars_and_bare_values(report: Report) -> None:
    np = pytest.importorskip("numpy")
    defaults = types.MappingProxyType({"adam": types.MappingProxyType(
        {"eps": np.float32(0.5), "amsgrad": np.bool_(False), "steps": np.int64(3),
         "bad": np.float64("inf"), "odd": np.float32("nan")})})
    target = TargetSummary("frozen", "read-only defaults", defaults)
    documented = {"adam": {"eps": 1e-08, "beta1": (0.9, "sec. 4")}}
    data = _json(dataclasses.replace(report, targets=(target,), documented_defaults=documented))
    assert data["targets"][0]["defaults"] == {"adam": {
        "eps": 0.5, "amsgrad": False, "steps": 3, "bad": "inf", "odd": "nan"}}
    assert data["documented_defaults"] == {"adam": {"eps": [1e-08, None],
                                                    "beta1": [0.9, "sec. 4"]}}


def test_junit_is_unchanged_by_defaults(report: Report) -> None:
    bare = tuple(dataclasses.replace(target, defaults={}) for target in report.targets)
    without = dataclasses.replace(report, targets=bare, documented_defaults={})
    assert get_renderer("junit").render(report) == get_renderer("junit").render(without)


# In a browser -------------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def narrow_page(tmp_path: Path, report: Report) -> Iterator[Any]:
    """The sample report in headless Chromium at a phone's width, with many equations."""
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="playwright is not installed; pip install 'eqconform[browser]'",
    )
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    # Enough rows that the scoreboard scrolls inside its box.
    specs = tuple(dataclasses.replace(spec, id=f"{spec.id}.{n}")
                  for n in range(6) for spec in report.specs)
    results = tuple(dataclasses.replace(result, spec=f"{result.spec}.{n}")
                    for n in range(6) for result in report.results)
    [index] = write_report(dataclasses.replace(report, specs=specs, results=results),
                           tmp_path, ["html"])
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 420, "height": 700})
            page.goto(index.as_uri(), wait_until="load")
            yield page
        finally:
            browser.close()


@pytest.mark.browser
def test_scoreboard_scrolls_in_its_box_with_sticky_header_and_equation_column(
    narrow_page: Any,
) -> None:
    page = narrow_page
    wrap = page.locator(".scoreboard-wrap")
    wrap.scroll_into_view_if_needed()
    size = wrap.evaluate("e => [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]")
    assert size[0] > size[1] and size[2] > size[3], size  # scrolls both ways inside the box
    # The page itself does not get wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    wrap.evaluate("e => { e.scrollTop = 300; e.scrollLeft = 200; }")
    box = wrap.bounding_box()
    header = page.locator(".scoreboard thead th.sb-target").first.bounding_box()
    spec = page.locator(".scoreboard tbody th[scope=row]").nth(10).bounding_box()
    assert box is not None and header is not None and spec is not None
    assert abs(header["y"] - box["y"]) <= 2  # the header row stays at the top of the box
    assert abs(spec["x"] - box["x"]) <= 2  # the equation column stays at its left
