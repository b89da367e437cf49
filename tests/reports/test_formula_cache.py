"""The printed formulas kept in the cache (``reports/build.py``) and the check a stored MathML
passes before the HTML report takes it as markup (``reports/mathml.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eqconform.reports import build
from eqconform.reports.mathml import is_mathml, relation_latex, relation_mathml
from eqconform.specs import get_spec, select_specs

SPEC = get_spec("adam.first_moment")


@pytest.fixture
def formulas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EQCONFORM_CACHE_DIR", str(tmp_path))
    return tmp_path / build.FORMULA_CACHE


def test_every_formula_of_the_catalogue_is_mathml_as_checked() -> None:
    """Otherwise a stored formula would never be taken, and printed on every report."""
    variants = [(spec, variant) for spec in select_specs() for variant in spec.variants]
    assert len(variants) > 80
    for spec, variant in variants:
        assert is_mathml(relation_mathml(spec, variant)), (spec.id, variant.id)


@pytest.mark.parametrize(
    "markup",
    [
        "<math><mi>a</mi></math><script>alert(1)</script>",
        "<math><script>alert(1)</script></math>",
        '<math><mi onclick="alert(1)">a</mi></math>',
        '<math><mi style="color:red">a</mi></math>',
        '<math xmlns="http://example.com/evil"><mi>a</mi></math>',
        '<math><mi mathvariant="a"b">a</mi></math>',
        "<math><annotation-xml><img src=x></annotation-xml></math>",
        "<math><mi>a<b</mi></math>",
        "<math><mi>a > b</mi></math>",
        "<math><mi>AT&T</mi></math>",
        "<math><mi>a</mi></math ><img src=x>",
        "<math></mi x></math>",
        "<mrow><mi>a</mi></mrow>",
        "",
    ],
)
def test_markup_that_relation_mathml_would_not_write_is_refused(markup: str) -> None:
    assert not is_mathml(markup)


@pytest.mark.parametrize(
    "markup",
    [
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mi>a</mi></math>',
        '<math><mover accent="true"><mi>m</mi><mo>^</mo></mover><mo>&#x2212;</mo><mn>1</mn></math>',
        "<math><mi>&alpha;</mi><mspace/></math>",
    ],
)
def test_mathml_of_the_printer_kind_is_accepted(markup: str) -> None:
    assert is_mathml(markup)


def test_a_second_summary_takes_the_formulas_from_the_cache(
    formulas: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build.summarize_spec(SPEC)
    assert len(list(formulas.glob("*.json"))) == len(SPEC.variants)

    def printing(*_: object) -> str:
        raise AssertionError("printed again")

    monkeypatch.setattr(build, "relation_mathml", printing)
    monkeypatch.setattr(build, "relation_latex", printing)
    assert build.summarize_spec(SPEC) == first
    assert first.variants[0].mathml == relation_mathml(SPEC, SPEC.variants[0])
    assert first.variants[0].latex == relation_latex(SPEC, SPEC.variants[0])


@pytest.mark.parametrize("damage", ["script", "not text", "truncated"])
def test_a_forged_or_damaged_entry_is_printed_afresh_and_rewritten(
    formulas: Path, damage: str
) -> None:
    build.summarize_spec(SPEC)
    for path in formulas.glob("*.json"):
        entry = json.loads(path.read_text())
        if damage == "script":
            entry["value"]["mathml"] = "<math><mi>a</mi></math><script>alert(1)</script>"
        elif damage == "not text":
            entry["value"]["latex"] = ["a"]
        else:
            path.write_text(path.read_text()[:30])
            continue
        path.write_text(json.dumps(entry))
    summary = build.summarize_spec(SPEC)
    for variant, printed in zip(SPEC.variants, summary.variants, strict=True):
        assert printed.mathml == relation_mathml(SPEC, variant)
        assert printed.latex == relation_latex(SPEC, variant)
    for path in formulas.glob("*.json"):
        assert is_mathml(json.loads(path.read_text())["value"]["mathml"])


def test_the_key_follows_the_catalogue_source() -> None:
    """An edit of any spec module, or of the printer, is a new key (no stale formula)."""
    code = build._formula_code()
    assert any(text.startswith("adam.py\n") for text in code)
    assert any(text.startswith("mathml.py\n") for text in code)
    assert any(text.startswith("model.py\n") for text in code)
