"""The JSON report: :meth:`Report.to_dict` verbatim, made strictly valid JSON.

Python's ``json`` module writes ``NaN`` and ``Infinity`` for non-finite floats, which no
strict parser (``jq``, JavaScript's ``JSON.parse``, Go, Rust) accepts. A worst error of
``inf`` is a real outcome (an overflow in the audited code), so it must survive the trip:
every non-finite float becomes one of the strings ``"nan"``, ``"inf"`` or ``"-inf"``.
Consumers that want numbers back can map exactly those three strings with ``float()``.
"""

import json
import math
import os
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from eqconform.reports.model import Report

__all__ = ["JsonRenderer", "finite_json"]


class JsonRenderer:
    """Writes ``report.json``: the versioned layout of :meth:`Report.to_dict`."""

    name = "json"
    filename = "report.json"

    def render(self, report: Report) -> str:
        return render(report)


def render(report: Report) -> str:
    return (
        json.dumps(
            finite_json(report.to_dict()),
            indent=2,
            sort_keys=False,
            ensure_ascii=False,
            # allow_nan=False turns any float the conversion missed into an error rather than
            # into output that strict parsers reject.
            allow_nan=False,
            default=_plain,
        )
        + "\n"
    )


def finite_json(value: Any) -> Any:
    """A copy of ``value`` with non-finite floats replaced by ``"nan"``, ``"inf"``, ``"-inf"``."""
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "nan"
        return "inf" if value > 0 else "-inf"
    if isinstance(value, Mapping):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    """JSON forms for the few non-JSON types that ``Report.meta`` plausibly holds."""
    if isinstance(value, Enum):
        return finite_json(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(finite_json(list(value)), key=str)
    raise TypeError(f"report field of type {type(value).__name__} is not JSON serializable")
