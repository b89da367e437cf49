"""The catalogue's hyperparameter defaults in a built report: each says its kind, and no format
shows a constructor default of the homework API as a value the documents state."""

from __future__ import annotations

import json

import pytest

from eqconform.reports import get_renderer
from eqconform.reports.build import build_report, summarize_spec
from eqconform.specs import CATALOGUE, DOCUMENTED_DEFAULTS
from eqconform.specs.defaults import DEFAULTS, DefaultKind
from eqconform.verify.results import Report

#: Only these are in the documents' text (sec. 4 of both editions); everything else is a
#: constructor default no document shows.
STATED = {("adam", "beta1"), ("adam", "beta2"), ("adamw", "beta1"), ("adamw", "beta2")}


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report([], [], [], [], documented_defaults=DOCUMENTED_DEFAULTS)


def test_build_report_gives_every_catalogue_default_its_kind(report: Report) -> None:
    for component, parameters in DOCUMENTED_DEFAULTS.items():
        for name, (value, where) in parameters.items():
            kind = "stated" if (component, name) in STATED else "constructor default"
            assert tuple(report.documented_defaults[component][name]) == (value, where, kind)


def test_build_report_keeps_entries_it_does_not_know() -> None:
    documented = {"adam": {"eps": (1e-07, "elsewhere"), "amsgrad": False}, "version": "1"}
    built = build_report([], [], [], [], documented_defaults=documented)
    assert built.documented_defaults == documented


def test_markdown_documents_column_holds_only_stated_values(report: Report) -> None:
    text = get_renderer("markdown").render(report)
    lines = text[text.index("## Hyperparameter defaults") :].split("\n\n")[2].splitlines()
    assert lines[0] == "| Component | Parameter | Documents | Homework API |"
    cells = {}
    component = ""
    for line in lines[2:]:
        first, parameter, documents, api = (cell.strip() for cell in line.strip("|").split("|"))
        component = first.strip("*") or component
        cells[(component, parameter.strip("`").replace("\\_", "_"))] = (documents, api)
    for (component, name), (documents, api) in cells.items():
        if (component, name) in STATED:
            assert documents.startswith(str(DEFAULTS[component][name].value)) and api == "—"
        else:
            assert documents == "—" and api.startswith(str(DEFAULTS[component][name].value))
    assert len(cells) == sum(len(parameters) for parameters in DEFAULTS.values())


def test_html_documents_column_holds_only_stated_values(report: Report) -> None:
    text = get_renderer("html").render(report)
    section = text[text.index('id="eqc-defaults"') :]
    section = section[: section.index("</section>")]
    assert '<th scope="col">Documents</th>' in section and ">Homework API</th>" in section
    stated_cells = section.count('<td class="dv documented"><span class="stated"')
    api_cells = section.count('<td class="dv documented api"><span class="stated"')
    assert (stated_cells, api_cells) == (len(STATED), 5)  # 2 + 2 betas; 4 eps and p, 1 decay


def test_json_says_each_kind(report: Report) -> None:
    data = json.loads(get_renderer("json").render(report))
    kinds = {
        (component, name): entry[2]
        for component, parameters in data["documented_defaults"].items()
        for name, entry in parameters.items()
    }
    assert {key for key, kind in kinds.items() if kind == DefaultKind.STATED.value} == STATED
    assert set(kinds.values()) == {"stated", "constructor default"}


def test_a_symbol_whose_domain_depends_on_the_reading_shows_each_reading() -> None:
    summary = summarize_spec(CATALOGUE["dropout.mask"])
    [p] = [symbol for symbol in summary.symbols if symbol.name == "p"]
    assert p.domain == "0 <= p < 1 (p-is-drop-probability); 0 < p <= 1 (p-is-keep-probability)"
    [q] = [symbol for symbol in summary.symbols if symbol.name == "q"]
    assert q.domain == "0 < q <= 1"
