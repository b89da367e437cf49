"""The cases a passing search drew, kept on disk so that the next run of that search need not
draw them again.

Why it is exact. A search is a seeded Hypothesis run (:func:`~.search.run_search`): with the
seed, the strategy and the settings fixed, and every example passing, Hypothesis draws the same
cases in the same order whatever the target does, so a target that passes them all passes the
search, and one that fails any of them is searched afresh (and shrunk) as before. What was
drawn is therefore a function of the search alone, and can be kept across runs and processes
like a compiled program: the cases of a handin's searches are the cases of the next handin's.
Drawing them is a quarter of a check's time (Hypothesis's engine and the strategies), the rest
being the target's calls and the judging, which replaying does not skip.

The key is everything the draws depend on: the strategy (its ``repr``, which Hypothesis spells
out with every argument; a strategy whose ``repr`` shows an object's address is not kept), the
seed, the number of examples, the Hypothesis and NumPy versions, the source of eqconform's
``verify`` package (the strategies' code and what builds them), and the constants Hypothesis
mixes into its draws from the "local" modules imported (outside site-packages and the
standard library: eqconform itself when it runs from a checkout or a ``PYTHONPATH`` folder, a
user's own modules under pytest), which change what a seeded search draws. Entries are JSON
(:class:`~.cache.DiskCache`: whole or absent, never trusted blindly): a case is stored as the
fields of its dataclass, and only dataclasses of :mod:`eqconform.verify.strategies` (and the
hyperparameters of :mod:`eqconform.verify.targets.protocol`) are rebuilt from an entry, so an
entry can name no other code. An entry that does not decode, or a list of cases that does not
survive the round trip unchanged, is not used.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hypothesis
import numpy as np
from hypothesis import strategies as st

from . import cache

__all__ = ["DRAWN", "decode_cases", "drawn_key", "encode_cases", "load_drawn", "store_drawn"]

#: Cases of passing searches on disk, by :func:`drawn_key`.
DRAWN = cache.DiskCache("drawn")

#: The only modules whose dataclasses an entry may name: the strategies' cases, and the
#: hyperparameters of the targets' protocol they hold.
_CASE_MODULES = ("eqconform.verify.strategies.", "eqconform.verify.targets.protocol")


class _NotStorable(Exception):
    """A value the format does not hold (the cases are then not kept)."""


@functools.cache
def _verify_source() -> str:
    """A digest of the source of the ``verify`` package: the strategies, and every module
    that builds or parametrizes them."""
    root = Path(__file__).resolve().parent
    return cache.key(cache.source_texts(sorted(root.rglob("*.py")), root=root))


def _local_constants() -> str | None:
    """A digest of the constants Hypothesis has gathered from the local modules imported so far
    (it draws one now and then instead of a random choice), or None when this Hypothesis keeps
    them elsewhere (then nothing is cached: the draws could not be named)."""
    try:
        from hypothesis.internal.conjecture.providers import _get_local_constants

        constants = _get_local_constants()
        parts = [
            sorted(constants.integers),
            sorted(repr(value) for value in constants.floats),
            sorted(constants.bytes),
            sorted(constants.strings),
        ]
    except Exception:  # an internal of Hypothesis that moved: no key rather than a wrong one
        return None
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def drawn_key(cases: st.SearchStrategy[Any], seed: int, max_examples: int) -> str | None:
    """The key of what a passing search of ``cases`` draws, or None when it cannot be named
    (a ``repr`` showing an address differs from process to process)."""
    try:
        described = repr(cases)
    except Exception:  # a strategy that cannot say what it is is not kept
        return None
    constants = _local_constants()
    if " at 0x" in described or "object at" in described or constants is None:
        return None
    return cache.key(
        [
            "drawn cases",
            described,
            f"seed {seed}",
            f"examples {max_examples}",
            f"hypothesis {hypothesis.__version__}",
            f"numpy {np.__version__}",
            _verify_source(),
            constants,
        ]
    )


def load_drawn(key: str | None) -> tuple[Any, ...] | None:
    """The cases stored under ``key``, or None (no key, no entry, or one that does not
    decode)."""
    if key is None:
        return None
    entry = DRAWN.get(key)
    if entry is None:
        return None
    return decode_cases(entry.get("cases"))


def store_drawn(key: str | None, cases: Sequence[Any]) -> bool:
    """Keep ``cases`` under ``key``; False when there is no key, a case the format does not
    hold, or the cache cannot be written."""
    encoded = encode_cases(cases)
    if key is None or encoded is None:
        return False
    return DRAWN.put(key, {"cases": encoded})


def encode_cases(cases: Sequence[Any]) -> list[Any] | None:
    """``cases`` as JSON data, or None when one of them is not storable or would not come
    back equal."""
    try:
        encoded = [_encode(case) for case in cases]
    except _NotStorable:
        return None
    decoded = decode_cases(encoded)
    if decoded is None or decoded != tuple(cases):
        return None
    return encoded


def decode_cases(data: Any) -> tuple[Any, ...] | None:
    """The cases ``data`` holds, or None when it is not what :func:`encode_cases` writes."""
    if not isinstance(data, list):
        return None
    try:
        return tuple(_decode(item) for item in data)
    except (_NotStorable, TypeError, ValueError, KeyError, AttributeError, ImportError):
        return None


def _encode(value: Any) -> Any:
    # bool before int (a bool is an int); numpy scalars are not Python numbers of the same
    # type, so they are refused rather than stored as something that compares equal.
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return {"float": repr(value)}  # exact, and NaN and infinities included
    if type(value) is tuple:
        return {"tuple": [_encode(item) for item in value]}
    if type(value) is list:
        return {"list": [_encode(item) for item in value]}
    if type(value) is dict and all(type(name) is str for name in value):
        return {"dict": {name: _encode(item) for name, item in value.items()}}
    if isinstance(value, np.dtype):
        return {"dtype": value.str}
    if type(value) is np.ndarray and value.dtype.kind in "biuf":
        return {"array": [value.dtype.str, list(value.shape), _encode(value.ravel().tolist())]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kind = type(value)
        if not _case_module(kind.__module__):
            raise _NotStorable(kind.__qualname__)
        fields = {
            field.name: _encode(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if field.init
        }
        return {"case": [kind.__module__, kind.__qualname__], "fields": fields}
    raise _NotStorable(type(value).__name__)


def _decode(data: Any) -> Any:
    if data is None or type(data) in (bool, int, str):
        return data
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise _NotStorable(repr(data)[:40])
    if set(data) == {"float"}:
        return float(data["float"])
    if set(data) == {"tuple"}:
        return tuple(_decode(item) for item in _items(data["tuple"]))
    if set(data) == {"list"}:
        return [_decode(item) for item in _items(data["list"])]
    if set(data) == {"dict"} and isinstance(data["dict"], dict):
        return {str(name): _decode(item) for name, item in data["dict"].items()}
    if set(data) == {"dtype"}:
        return np.dtype(str(data["dtype"]))
    if set(data) == {"array"}:
        dtype, shape, entries = _items(data["array"])
        return np.array(_decode(entries), dtype=np.dtype(str(dtype))).reshape(tuple(_items(shape)))
    if set(data) == {"case", "fields"}:
        return _case(data["case"], data["fields"])
    raise _NotStorable(repr(data)[:40])


def _items(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise _NotStorable("not a list")
    return data


def _case_module(name: str) -> bool:
    return any(
        name.startswith(allowed) if allowed.endswith(".") else name == allowed
        for allowed in _CASE_MODULES
    )


def _case(named: Any, fields: Any) -> Any:
    if (
        not isinstance(named, list)
        or len(named) != 2
        or not all(isinstance(part, str) for part in named)
        or not isinstance(fields, dict)
    ):
        raise _NotStorable("not a case")
    module_name, qualname = named
    if not _case_module(module_name):
        raise _NotStorable(module_name)
    found: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    if not (isinstance(found, type) and dataclasses.is_dataclass(found)):
        raise _NotStorable(qualname)
    return found(**{str(name): _decode(value) for name, value in fields.items()})
