"""The JSON report: :meth:`Report.to_dict` verbatim, made strictly valid JSON.

Python's ``json`` module writes ``NaN`` and ``Infinity`` for non-finite floats, which no
strict parser (``jq``, JavaScript's ``JSON.parse``, Go, Rust) accepts. A worst error of
``inf`` is a real outcome (an overflow in the audited code), so it must survive the trip:
every non-finite float becomes one of the strings ``"nan"``, ``"inf"`` or ``"-inf"``.
Consumers that want numbers back can map exactly those three strings with ``float()``.

The hyperparameter defaults (``targets[].defaults`` and ``documented_defaults``) are whatever the
targets reported: tuples become lists, ``None`` is ``null``, and NumPy scalars are plain numbers.
Each documented default is ``[value, where, kind]``: ``kind`` is ``"stated"`` for a value the
documents' text states (``where`` cites the section) and ``"constructor default"`` for a default
of the homework API's constructor that no document shows (``where`` says so). An entry whose
kind the report does not know is ``[value, where]``, as before kinds were recorded.
"""

import dataclasses
import json
import math
import numbers
import os
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from eqconform.verify.results import Report

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
            finite_json(_plain_defaults(report).to_dict()),
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


def _plain_defaults(report: Report) -> Report:
    """``report`` with its defaults as plain dicts and documented [value, where(, kind)] lists.

    :meth:`Report.to_dict` copies the defaults with :func:`dataclasses.asdict`, which cannot copy
    a read-only mapping, and the documented ones with ``list()``, which cannot split a bare value;
    either would stop every format from being written, since all render before any is written.
    """
    targets = tuple(
        dataclasses.replace(target, defaults=_plain_data(target.defaults or {}))
        for target in report.targets
    )
    documented = {
        component: {parameter: _entry(entry) for parameter, entry in parameters.items()}
        for component, parameters in (report.documented_defaults or {}).items()
        if isinstance(parameters, Mapping)
    }
    return dataclasses.replace(report, targets=targets, documented_defaults=documented)


def _entry(entry: Any) -> list[Any]:
    """A documented default as ``[value, where, kind]`` when its kind is known, else as
    ``[value, where stated]``; a bare value has no stated source."""
    if isinstance(entry, (tuple, list)) and len(entry) == 3 and isinstance(entry[2], str):
        # The kind as its plain string: a DefaultKind member is a str subclass.
        return [_plain_data(entry[0]), entry[1], str.__str__(entry[2])]
    if isinstance(entry, (tuple, list)) and len(entry) == 2:
        return [_plain_data(entry[0]), entry[1]]
    return [_plain_data(entry), None]


def _plain_data(value: Any) -> Any:
    """``value`` with every mapping a dict and every list or tuple a list, recursively."""
    if isinstance(value, Mapping):
        return {key: _plain_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_data(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    """JSON forms for the few non-JSON types that ``Report.meta`` plausibly holds."""
    if isinstance(value, Enum):
        return finite_json(value.value)
    if getattr(value, "shape", None) == () and callable(getattr(value, "item", None)):
        return finite_json(value.item())  # a NumPy scalar (float32, int64, bool_, ...)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):  # a Fraction, say
        return finite_json(float(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(finite_json(list(value)), key=str)
    raise TypeError(f"report field of type {type(value).__name__} is not JSON serializable")
