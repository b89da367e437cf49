"""The gradebook of a class: one row per handin, as CSV (for a spreadsheet or a course
platform) and as versioned JSON (for tools)."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eqconform.verify.grading import ClassGrades

__all__ = ["GRADEBOOK_FORMAT", "GRADEBOOK_VERSION", "render_gradebook_csv", "render_gradebook_json"]

GRADEBOOK_FORMAT, GRADEBOOK_VERSION = "eqconform-gradebook", 1


def render_gradebook_csv(grades: ClassGrades) -> str:
    """name, status, score, max_score, reason, then the points of each spec of the rubric."""
    specs = list(grades.rubric.points)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "status", "score", "max_score", "reason", *specs])
    for row in grades.rows:
        writer.writerow(
            [
                row.name,
                row.status,
                _number(row.score),
                _number(row.max_score),
                row.reason,
                *(_number(row.points.get(spec, 0.0)) for spec in specs),
            ]
        )
    return out.getvalue()


def render_gradebook_json(grades: ClassGrades) -> str:
    return json.dumps(
        {
            "format": GRADEBOOK_FORMAT,
            "version": GRADEBOOK_VERSION,
            "interrupted": grades.interrupted,
            "rubric": {
                "source": grades.rubric.source,
                "total": grades.rubric.total,
                "points": dict(grades.rubric.points),
            },
            "settings": {
                "max_examples": grades.settings.max_examples,
                "seed": grades.settings.seed,
                "timeout": grades.settings.timeout,
                "sandbox": grades.settings.sandbox,
                "specs": list(grades.settings.specs),
            },
            # Whether a row was taken from an earlier run is not part of the grade.
            "handins": [
                {key: value for key, value in row.to_dict().items() if key != "cached"}
                for row in grades.rows
            ],
        },
        indent=2,
    )


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")
