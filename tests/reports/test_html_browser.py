"""The HTML report as a real browser sees it: offline, script-free, with laid-out MathML.

Drives Debian's Chromium through Playwright. Skipped, with the reason, when either is missing;
`make test` installs the `browser` extra and CI installs the `chromium` package.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from eqconform.reports import write_report
from eqconform.reports.build import build_report
from eqconform.verify.results import Report, TargetSummary
from eqconform.specs import select_specs

if TYPE_CHECKING:
    from conftest import Sample

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MATHML = "http://www.w3.org/1998/Math/MathML"


@dataclass
class Visit:
    """A loaded report page and everything the browser reported while loading and using it."""

    page: Any
    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextlib.contextmanager
def opened_in_chromium(index: Path) -> Iterator[Visit]:
    """Load a written report in headless Chromium, recording what the browser reports."""
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="playwright is not installed; pip install 'eqconform[browser]'",
    )
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}; install Debian's chromium "
                    "(apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            seen = Visit(page=page, url=index.as_uri())
            page.on("console", lambda message: seen.console_errors.append(message.text)
                    if message.type == "error" else None)
            page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
            page.on("request", lambda request: seen.requests.append(request.url))

            def on_dialog(dialog: Any) -> None:
                seen.dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.goto(seen.url, wait_until="load")
            yield seen
        finally:
            browser.close()


@pytest.fixture
def visit(tmp_path: Path, report: Report) -> Iterator[Visit]:
    [index] = write_report(report, tmp_path, ["html"])
    with opened_in_chromium(index) as seen:
        yield seen


def test_every_catalogue_equation_is_laid_out(tmp_path: Path) -> None:
    """The real statements, printed by SymPy from the specs, render as laid-out MathML."""
    specs = select_specs()
    report = build_report(specs, [TargetSummary("numpy", "bundled")], [], [])
    [index] = write_report(report, tmp_path, ["html"])
    with opened_in_chromium(index) as seen:
        for spec in specs:
            math = seen.page.locator(f'[id="{spec.id}"] math').first
            box = math.bounding_box()
            assert box is not None and box["width"] > 20 and box["height"] > 10, spec.id
        assert seen.console_errors == [] and seen.page_errors == []
        assert seen.requests == [seen.url]


def test_page_loads_without_errors_or_network(visit: Visit) -> None:
    visit.page.wait_for_load_state("networkidle")
    assert visit.console_errors == []
    assert visit.page_errors == []
    assert visit.requests == [visit.url]


def test_mathml_is_laid_out(visit: Visit) -> None:
    page = visit.page
    math = page.locator("math")
    assert math.count() > 0
    first = math.first
    assert first.evaluate("element => element.namespaceURI") == MATHML
    box = first.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    # A fraction laid out as MathML stacks numerator over denominator, so it is taller than a
    # single identifier; as unknown inline elements the two would be on one line.
    fraction = page.locator("math mfrac").first.bounding_box()
    identifier = page.locator("math mi").first.bounding_box()
    assert fraction is not None and identifier is not None
    assert fraction["height"] > 1.5 * identifier["height"]


def test_payloads_are_shown_not_run(visit: Visit, sample: "Sample") -> None:
    page = visit.page
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.querySelectorAll('[onmouseover]').length") == 0
    target = page.get_by_text(sample.evil_target, exact=True).first
    assert target.is_visible()
    # Had the quote broken out of an attribute, hovering would run `x` and raise a page error.
    target.hover()
    page.get_by_text(sample.fail_message).first.hover()
    assert visit.dialogs == []
    assert visit.page_errors == []
    assert visit.console_errors == []
