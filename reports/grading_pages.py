"""The pages of a graded class: a feedback page for each student, and the class summary.

Both are self-contained HTML like the report (the same stylesheet inlined, equations as
MathML, a Content-Security-Policy that forbids every request and every script). The summary's
plots are SVG drawn by matplotlib and inlined; without matplotlib (``eqconform[grade]``) the
page says so and shows the same numbers as tables.

Handin names, messages and counterexamples come from the students' files and code: they are
escaped like every text of the report (:mod:`eqconform.reports.render_html`), and never put
into a plot.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from eqconform.reports.mathml import relation_mathml
from eqconform.reports.render_html import _environment, _stylesheet, _Trusted, math_block
from eqconform.specs import CATALOGUE
from eqconform.verify.results import Report

if TYPE_CHECKING:
    from eqconform.verify.grading import ClassGrades, GradeRow, Rubric

__all__ = ["render_class_summary", "render_feedback", "student_command"]

#: The most common explanations the summary lists.
COMMON = 10


def student_command(reproduce: str) -> str:
    """The report's reproduce command as the student runs it, from the folder of their
    handin, without the examples database (the grade was made without one)."""
    command = re.sub(r"--target mytorch:\S+", "--target mytorch:.", reproduce)
    return command if "--no-examples-db" in command else f"{command} --no-examples-db"


@dataclass(frozen=True)
class _Item:
    spec: str
    title: str
    outcome: str
    points: str
    equation: Markup
    message: str
    counterexample: str
    explanation: str
    command: str


def _equation(spec_id: str) -> Markup:
    spec = CATALOGUE.get(spec_id)
    if spec is None:
        return Markup("")
    return math_block(relation_mathml(spec, spec.canonical))


def _title(spec_id: str) -> str:
    spec = CATALOGUE.get(spec_id)
    return spec.title if spec is not None else spec_id


def render_feedback(row: GradeRow, report: Report, rubric: Rubric) -> str:
    """A student's page: the score, what passed, and for each equation that did not its
    counterexample, what the code computes instead, and the command that reproduces it."""
    passed, failing = [], []
    for spec_id, points in row.points.items():
        outcome = row.outcomes.get(spec_id, "missing")
        earned = f"{points:g} of {rubric.points.get(spec_id, 0.0):g}"
        if outcome == "pass":
            passed.append((spec_id, _title(spec_id), earned))
            continue
        result = next(report.results_for(spec_id), None)
        item = _Item(
            spec_id, _title(spec_id), outcome, earned, _equation(spec_id), "not checked", "", "", ""
        )
        if result is not None:
            item = dataclasses.replace(
                item,
                message=result.message,
                counterexample=result.counterexample or "",
                explanation=result.explanations[0].description if result.explanations else "",
                command=student_command(result.reproduce) if result.reproduce else "",
            )
        failing.append(item)
    page = {
        "css": _Trusted(_stylesheet()),
        "name": row.name,
        "score": f"{row.score:g}",
        "max_score": f"{row.max_score:g}",
        "passed": passed,
        "failing": failing,
    }
    return str(_environment().get_template("feedback.html").render(page=page))


def render_class_summary(grades: ClassGrades, reports: Mapping[str, Report | None]) -> str:
    """The class page: scores, pass rate per equation, the most common explanations."""
    graded = [row for row in grades.rows if row.status == "graded"]
    scores = [row.score for row in graded]
    specs = list(grades.rubric.points)
    rates = [
        (spec, sum(1 for row in graded if row.outcomes.get(spec) == "pass"), len(graded))
        for spec in specs
    ]
    common: collections.Counter[tuple[str, str]] = collections.Counter()
    for row in graded:
        report = reports.get(row.name)
        if report is None:
            continue
        for result in report.results:
            if result.spec in grades.rubric.points and result.explanations:
                common[(result.spec, result.explanations[0].description)] += 1
    most = common.most_common(COMMON)
    plots, missing = _plots(scores, grades.rubric.total, rates, most)
    page = {
        "css": _Trusted(_stylesheet()),
        "handins": len(grades.rows),
        "graded": len(graded),
        "total": f"{grades.rubric.total:g}",
        "mean": f"{statistics.fmean(scores):.1f}" if scores else "-",
        "median": f"{statistics.median(scores):g}" if scores else "-",
        "full": sum(1 for s in scores if s >= grades.rubric.total - 1e-9),
        "rates": rates,
        "common": [(spec, text, count) for (spec, text), count in most],
        "rows": grades.rows,
        "plots": plots,
        "no_plots": missing,
        "interrupted": grades.interrupted,
    }
    return str(_environment().get_template("class.html").render(page=page))


def _plots(
    scores: Sequence[float],
    total: float,
    rates: Sequence[tuple[str, int, int]],
    common: Sequence[tuple[tuple[str, str], int]],
) -> tuple[dict[str, Markup], str]:
    """The three plots as inline SVG, or why there are none."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return {}, "The plots need matplotlib (pip install 'eqconform[grade]'); the tables follow."
    plots: dict[str, Markup] = {}
    figure = Figure(figsize=(6.4, 0.3 * len(rates) + 1.2))
    axes = figure.add_subplot()
    names = [spec for spec, _, _ in rates][::-1]
    values = [100 * passed / of if of else 0 for _, passed, of in rates][::-1]
    axes.barh(names, values, color="#3a7d44")
    axes.set_xlim(0, 100)
    axes.set_xlabel("handins that pass (%)")
    axes.set_title("Pass rate per equation")
    plots["rates"] = _svg(figure)
    figure = Figure(figsize=(6.4, 3.2))
    axes = figure.add_subplot()
    axes.hist(list(scores), bins=min(20, max(5, len(scores))), range=(0, total), color="#4a6fa5")
    axes.set_xlabel(f"score (of {total:g})")
    axes.set_ylabel("handins")
    axes.set_title("Score distribution")
    plots["scores"] = _svg(figure)
    if common:
        figure = Figure(figsize=(6.4, 0.3 * len(common) + 1.2))
        axes = figure.add_subplot()
        labels = [f"{spec} #{index + 1}" for index, ((spec, _), _) in enumerate(common)][::-1]
        axes.barh(labels, [count for _, count in common][::-1], color="#a5544a")
        axes.set_xlabel("handins")
        axes.set_title("Most common explanations (numbered as in the table)")
        plots["common"] = _svg(figure)
    return plots, ""


def _svg(figure: Any) -> Markup:
    """The figure as an inline ``<svg>`` element: text kept as text, no date, no script."""
    import matplotlib

    figure.set_layout_engine("tight")
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "eqconform"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return _Trusted(text[text.index("<svg") :])
