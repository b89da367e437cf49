"""The catalogue page (``render_catalogue``, ``eqconform specs --format markdown``).

One section per family in catalogue order, one table row per spec whose cells come from the
spec's own fields (flags from ``proof_only`` and ``statistical``, variants marked as known
deviations or arrangements), the claims and errata of the families shown, cells escaped so
that no title can split a row, and the same text every time.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from eqconform.reports.catalogue import render_catalogue, spec_flags, variant_note
from eqconform.specs import CATALOGUE, CLAIMS, ERRATA, FAMILIES, Spec, select_specs
from eqconform.verify.cli import main

SPEC_COLUMNS = ["Spec", "Title", "Source", "Variants", "Flags"]


def _cells(row: str) -> list[str]:
    """The cells of a table row, split at the pipes that are not escaped."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def _sections(page: str) -> dict[str, str]:
    """The text of each family's section, by the family name in its heading."""
    parts = re.split(r"^## (.+)$", page, flags=re.MULTILINE)
    return {heading.replace("\\", ""): body for heading, body in zip(parts[1::2], parts[2::2])}


def _spec_rows(section: str) -> dict[str, list[str]]:
    """The spec table of a section: the cells of each row, by spec id."""
    table = section.split("### ")[0]
    rows = [_cells(line) for line in table.splitlines() if line.startswith("| `")]
    return {cells[0].strip("`"): cells for cells in rows}


@pytest.fixture(scope="module")
def page() -> str:
    return render_catalogue(list(CATALOGUE.values()), CLAIMS, ERRATA)


def test_one_section_per_family_in_catalogue_order(page: str) -> None:
    families = [family.__name__.rsplit(".", 1)[1] for family in FAMILIES]
    assert list(_sections(page)) == families


def test_every_spec_is_one_row_of_its_family(page: str) -> None:
    sections = _sections(page)
    rows = {spec_id: family for family, body in sections.items() for spec_id in _spec_rows(body)}
    assert rows == {spec_id: spec_id.split(".")[0] for spec_id in CATALOGUE}
    assert page.startswith("# The equation catalogue\n")
    assert all(line.count("`") % 2 == 0 for line in page.splitlines())


def test_rows_carry_the_spec_fields_with_every_cell_in_its_column(page: str) -> None:
    for body in _sections(page).values():
        assert _cells(body.split("### ")[0].strip().splitlines()[0]) == SPEC_COLUMNS
        for spec_id, cells in _spec_rows(body).items():
            spec = CATALOGUE[spec_id]
            assert len(cells) == len(SPEC_COLUMNS), cells
            assert cells[4] == ", ".join(spec_flags(spec))
            if len(spec.variants) == 1:
                assert cells[3] == ""
            else:
                assert re.findall(r"`([^`]+)`", cells[3]) == [variant.id for variant in spec.variants]


@pytest.mark.parametrize(
    ("spec_id", "flags"),
    [("layernorm_exam.demean_jacobian", ["proof only"]), ("dropout.mask", ["statistical"]),
     ("layernorm.mean", [])],
)
def test_flags_come_from_the_spec_fields(spec_id: str, flags: list[str], page: str) -> None:
    assert spec_flags(CATALOGUE[spec_id]) == flags
    row = _spec_rows(_sections(page)[spec_id.split(".")[0]])[spec_id]
    assert row[4] == ", ".join(flags)


def test_variants_say_what_they_are(page: str) -> None:
    adam = _spec_rows(_sections(page)["adam"])
    assert adam["adam.bias_correction"][3] == "`bias-corrected`, `uncorrected` (known deviation)"
    assert adam["adam.first_moment"][3] == "`canonical`, `interpolation-arrangement` (arrangement of canonical)"
    update = CATALOGUE["adam.update"]
    assert [variant_note(update, v) for v in update.variants] == ["", "", "known deviation"]


def test_claims_and_errata_are_listed_under_their_family(page: str) -> None:
    sections = _sections(page)
    for claim in CLAIMS:
        assert f"| `{claim.id}` |" in sections[claim.id.split(".")[0]].split("### Claims")[1], claim.id
    for entry in ERRATA:
        assert f"- `{entry['id']}` (" in sections[entry["id"].split(".")[0]].split("### Errata")[1], entry["id"]
    assert "### Errata" not in sections["layernorm"]  # a family without errata has no such heading


def test_a_selection_shows_its_families_and_the_claims_that_involve_it() -> None:
    page = render_catalogue(select_specs(["adam"]), CLAIMS, ERRATA)
    assert list(_sections(page)) == ["adam"]
    assert "`adam.bias_correction.constant_gradient`" in page
    assert "adamw.orderings_agree" not in page  # involves adam.update, but belongs to adamw
    assert "adam.update.edition_difference" in page and "adamw.decay_scaling" not in page

    only = select_specs(["layernorm.mean"])
    claims = render_catalogue(only, CLAIMS, ERRATA).split("### Claims")[1]
    shown = set(re.findall(r"^\| `([^`]+)` \| ", claims, re.MULTILINE))
    assert shown == {c.id for c in CLAIMS if c.id.startswith("layernorm.") and "layernorm.mean" in c.specs}


def test_markup_in_a_title_stays_text_in_its_cell() -> None:
    spec: Spec = dataclasses.replace(CATALOGUE["noise.expected_loss"], title="a | b <script>x</script> *c*")
    row = _spec_rows(_sections(render_catalogue([spec], (), ()))["noise"])[spec.id]
    assert row[1] == r"a \| b \<script\>x\</script\> \*c\*"


def test_the_page_is_deterministic_and_reads_its_arguments_once() -> None:
    specs = list(CATALOGUE.values())
    first = render_catalogue(specs, iter(CLAIMS), iter(ERRATA))
    assert first == render_catalogue(specs, CLAIMS, ERRATA)
    assert first.endswith("\n") and not first.endswith("\n\n")


@pytest.mark.parametrize("patterns", [[], ["adam"], ["layernorm*", "dropout.mask"]])
def test_specs_format_markdown_prints_the_page(patterns: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """``eqconform specs --format markdown [--spec PATTERN]...`` prints ``render_catalogue`` of
    the selected specs (all without a pattern) with every claim and erratum, and exits 0."""
    arguments = ["specs", "--format", "markdown", *(a for p in patterns for a in ("--spec", p))]
    assert main(arguments) == 0
    assert capsys.readouterr().out == render_catalogue(select_specs(patterns), CLAIMS, ERRATA)
