"""A graded class's pages: each student's feedback, and the class summary as a browser sees it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from eqconform.reports.grading_pages import student_command
from eqconform.verify.grading import GradeSettings, class_page, grade_class, handin_folder
from test_html_browser import opened_in_chromium

HANDINS = Path(__file__).parent.parent / "handins"
#: A handin whose name is markup: it must be shown as text everywhere.
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("class")
    for name, source in [("ann", "correct_spring"), ("bo", "bug_adam_no_bias_correction"),
                         (HOSTILE_NAME, "bug_adam_swapped_beta1")]:
        shutil.copytree(HANDINS / source, root / "in" / name)
    (root / "in" / "empty").mkdir()
    output = root / "out"
    grades = grade_class(sorted((root / "in").iterdir()), output,
                         settings=GradeSettings(max_examples=10, specs=("adam",)), jobs=2)
    (output / "index.html").write_text(class_page(grades, output))
    return output


def test_feedback_says_what_failed_what_the_code_computes_and_how_to_reproduce_it(graded: Path) -> None:
    page = (handin_folder(graded, "bo") / "feedback.html").read_text()
    assert "bo: 75 of 100 points" in page
    assert "adam.bias_correction" in page and "the known deviation uncorrected" in page
    assert "--target mytorch:. --spec adam.bias_correction" in page and "--no-examples-db" in page
    assert "theta at step 1" in page  # the counterexample
    assert "<math" in page  # the equation, as MathML
    full = (handin_folder(graded, "ann") / "feedback.html").read_text()
    assert "ann: 100 of 100 points" in full and "To fix" not in full


def test_the_student_command_runs_from_the_handin_folder() -> None:
    said = "eqconform report --target mytorch:/srv/class/x y --spec adam.update --seed 3 -o eqconform-repro"
    assert student_command(said) == (
        "eqconform report --target mytorch:. y --spec adam.update --seed 3 -o eqconform-repro --no-examples-db")


def test_the_class_summary_opens_offline_with_its_plots_and_no_error(graded: Path) -> None:
    with opened_in_chromium(graded / "index.html") as seen:
        page = seen.page
        for plot in ("rates", "scores", "common"):
            assert page.locator(f"#plot-{plot} svg").count() == 1, plot
            box = page.locator(f"#plot-{plot} svg").bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 100
        assert page.locator("img").count() == 0 and page.locator("script").count() == 0
        assert HOSTILE_NAME in page.locator("#handins + div table").inner_text()
        assert "empty" in page.locator("#handins + div table").inner_text()
        links = page.locator("#handins + div table a")
        assert links.count() == 3  # the graded ones
        assert not seen.console_errors and not seen.page_errors and not seen.dialogs
        assert seen.requests == [seen.url]
    with opened_in_chromium(handin_folder(graded, HOSTILE_NAME) / "feedback.html") as seen:
        assert seen.page.locator("img").count() == 0 and not seen.dialogs
        assert seen.requests == [seen.url]
