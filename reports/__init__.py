"""Report rendering: one :class:`~eqconform.verify.results.Report`, several file formats.

Each format is a :class:`Renderer`, an object with a ``name``, the ``filename`` it is written
to and a pure ``render(report) -> str``. :data:`RENDERERS` registers them by name and
:func:`write_report` (in :mod:`eqconform.reports.output`, the only module that writes files)
renders and writes a chosen set atomically. What the human-readable formats say, before any
markup (labels, numbers, the rows of the overview tables), is the shared view model in
:mod:`eqconform.reports.view`; the HTML page is laid out by the Jinja2 templates in
``templates/`` (package data).
"""

# Only modules and the re-exported names below are imported: every public name is in __all__.
import typing

from eqconform.reports import render_html, render_json, render_junit, render_markdown
from eqconform.reports.output import ReportWriteError, write_report, write_text
from eqconform.verify import results

__all__ = [
    "RENDERERS",
    "Renderer",
    "ReportWriteError",
    "get_renderer",
    "write_report",
    "write_text",
]


@typing.runtime_checkable
class Renderer(typing.Protocol):
    """Turns a report into the text of one file; renderers never touch the file system."""

    name: str
    filename: str

    def render(self, report: results.Report) -> str: ...


RENDERERS: dict[str, Renderer] = {
    "json": render_json.JsonRenderer(),
    "markdown": render_markdown.MarkdownRenderer(),
    "html": render_html.HtmlRenderer(),
    "junit": render_junit.JunitRenderer(),
}


def get_renderer(name: str) -> Renderer:
    """The registered renderer called ``name``; :class:`KeyError` names the known ones."""
    try:
        return RENDERERS[name]
    except KeyError:
        known = ", ".join(sorted(RENDERERS))
        raise KeyError(f"unknown report format {name!r}; known formats: {known}") from None
