"""The wire between the judge and the runner: plain data that cannot execute code.

A message is one frame::

    8 bytes   length of the JSON header (little-endian unsigned)
    8 bytes   length of the binary payload
    header    UTF-8 JSON: {"value": TREE, "buffers": [[offset, nbytes], ...]}
    payload   the raw bytes of every array, one after another

``TREE`` is JSON in which every non-scalar node is a one-key object naming its kind:
``{"$l": [...]}`` a list, ``{"$t": [...]}`` a tuple, ``{"$d": {...}}`` a dict with string keys,
``{"$a": [buffer, dtype, shape]}`` an array (its bytes in the payload; dtypes are booleans,
integers, floats and complex numbers only, so no object array and no pickle can come through),
``{"$g": [buffer, dtype]}`` a NumPy scalar, ``{"$f": "nan"}`` a non-finite float,
``{"$bad": description}`` an answer that was not the NumPy array the homework API requires,
``{"$raised": [type, message]}`` a quantity whose phase raised, ``{"$h": [handle, type]}`` an
object that stays in the runner (a session), and
``{"$r": [kind, {...}]}`` one of the few records the protocol knows (:data:`RECORDS`).

Both ends decode with :func:`decode`, which checks every node, every dtype, every size and
every string against the :class:`Limits` before anything is built; anything else is a
:class:`WireError` naming what was wrong. The judge reads nothing the runner sends but through
it. This module imports NumPy and the standard library only: the runner carries it into the
sandbox.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import select
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..targets.protocol import AdamHyperparameters, NotAnArray, Raised

__all__ = [
    "RECORDS",
    "Handle",
    "Limits",
    "RemoteError",
    "WireError",
    "decode",
    "encode",
    "read_frame",
    "write_frame",
]

_FRAME = struct.Struct("<QQ")
#: Array dtype kinds that may cross: booleans, signed and unsigned integers, floats, complex.
_KINDS = frozenset("biufc")
#: The records the protocol knows, by name (arguments the judge sends to adapters).
RECORDS: dict[str, type] = {"AdamHyperparameters": AdamHyperparameters}


class WireError(ValueError):
    """A frame or value that breaks the protocol (malformed, too large, or of a kind that may
    not cross)."""


@dataclass(frozen=True)
class Limits:
    """What one message may hold. The defaults allow the largest cases the checks draw with
    a wide margin; a runner that sends more is cut off, not buffered."""

    header_bytes: int = 8 * 2**20
    payload_bytes: int = 256 * 2**20
    arrays: int = 100_000
    depth: int = 32
    string_chars: int = 4_000
    dimensions: int = 8


@dataclass(frozen=True)
class Handle:
    """An object that stays in the runner, named by a number (a session, a layer)."""

    number: int
    type_name: str


class RemoteError(Exception):
    """An exception raised by audited code in the runner, carried as its type name and message.

    :func:`remote_error` makes a subclass named like the original (``ZeroDivisionError``), so
    messages that print ``type(error).__name__`` read as they would in-process; the class is
    new and carries no behaviour of the original.
    """

    type_name = "Exception"


_remote_classes: dict[str, type[RemoteError]] = {}


def remote_error(type_name: str, message: str) -> RemoteError:
    name = type_name if type_name.isidentifier() else "Exception"
    cls = _remote_classes.get(name)
    if cls is None:
        cls = type(name, (RemoteError,), {"type_name": name, "__module__": "audited code"})
        _remote_classes[name] = cls
    return cls(message)


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters cut]"


# --------------------------------------------------------------------------- encoding


def encode(
    value: Any, *, register: Callable[[Any], Handle] | None = None, limits: Limits = Limits()
) -> tuple[Any, list[np.ndarray]]:
    """``(tree, arrays)`` for ``value``. Objects that are not plain data become handles through
    ``register`` (the runner's table of live objects); without it they are refused."""
    arrays: list[np.ndarray] = []

    def node(item: Any, depth: int) -> Any:
        if depth > limits.depth:
            raise WireError(f"value nested deeper than {limits.depth} levels")
        if item is None or isinstance(item, (bool, str)):
            return cut(item, limits.string_chars) if isinstance(item, str) else item
        if isinstance(item, int) and not isinstance(item, bool):
            return item
        if isinstance(item, float):
            return item if math.isfinite(item) else {"$f": repr(item)}
        if isinstance(item, np.generic) and item.dtype.kind in _KINDS:
            arrays.append(
                np.asarray(item).reshape(1)
            )  # keeps its dtype: a float32 scalar stays float32
            return {"$g": [len(arrays) - 1, item.dtype.str]}
        if isinstance(item, np.ndarray) and item.dtype.kind in _KINDS:
            if item.ndim > limits.dimensions:
                raise WireError(f"array of {item.ndim} dimensions (at most {limits.dimensions})")
            arrays.append(np.ascontiguousarray(item))
            return {"$a": [len(arrays) - 1, item.dtype.str, list(item.shape)]}
        if isinstance(item, Raised):
            error = item.error
            return {"$raised": [type(error).__name__, cut(str(error), limits.string_chars)]}
        if isinstance(item, NotAnArray):
            return {"$bad": cut(item.description, limits.string_chars)}
        if isinstance(item, Handle):
            # Audited code can return a Handle of its own making: a NaN for its number would
            # make the header not JSON, an object that JSON cannot write would fail the writer.
            if type(item.number) is not int or item.number < 0:
                raise WireError("a handle whose number is not an int from 0")
            if not isinstance(item.type_name, str):
                raise WireError("a handle whose type name is not a string")
            return {"$h": [item.number, item.type_name]}
        if isinstance(item, tuple) and not hasattr(item, "_fields"):
            return {"$t": [node(x, depth + 1) for x in item]}
        if isinstance(item, list):
            return {"$l": [node(x, depth + 1) for x in item]}
        if isinstance(item, dict) and all(isinstance(k, str) for k in item):
            return {
                "$d": {cut(k, limits.string_chars): node(v, depth + 1) for k, v in item.items()}
            }
        if (
            dataclasses.is_dataclass(item)
            and not isinstance(item, type)
            and type(item).__name__ in RECORDS
            and type(item) is RECORDS[type(item).__name__]
        ):
            return {"$r": [type(item).__name__, node(dataclasses.asdict(item), depth + 1)]}
        if register is not None:
            return node(register(item), depth)
        raise WireError(f"a {type(item).__name__} cannot cross the wire (only plain data)")

    return node(value, 0), arrays


def write_frame(fd: int, value: Any, **options: Any) -> None:
    """Encode ``value`` and write it to the file descriptor ``fd`` as one frame, in one
    system call where the pipe takes it whole (a frame written piece by piece wakes the reader
    once per piece)."""
    tree, arrays = encode(value, **options)
    buffers, offset = [], 0
    for array in arrays:
        buffers.append([offset, array.nbytes])
        offset += array.nbytes
    try:
        header = json.dumps({"value": tree, "buffers": buffers}, allow_nan=False).encode()
    except ValueError as error:  # an int of more digits than Python converts (4300 by default)
        raise WireError(f"a value that cannot be written as JSON ({error})") from None
    pieces: list[bytes | memoryview] = [_FRAME.pack(len(header), offset) + header]
    pieces += [array.data.cast("B") for array in arrays if array.nbytes]
    _write_all(fd, pieces)


#: At most this many buffers go to one ``writev`` (the system's IOV_MAX is 1024 on Linux).
_WRITE_PIECES = 512


def _write_all(fd: int, pieces: list[bytes | memoryview]) -> None:
    views = [memoryview(piece) for piece in pieces]
    while views:
        written = os.writev(fd, views[:_WRITE_PIECES])
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


# --------------------------------------------------------------------------- decoding


def read_frame(fd: int, limits: Limits = Limits(), *, deadline: float | None = None) -> Any:
    """Read one frame from ``fd`` and decode it; ``EOFError`` if the other end closed first,
    ``TimeoutError`` if the whole frame has not arrived by ``deadline`` (``time.monotonic()``),
    so that a sender that stops halfway cannot hold the reader."""
    prefix, _ = _read_exactly(fd, _FRAME.size, deadline)
    header_size, payload_size = _FRAME.unpack(prefix)
    if header_size > limits.header_bytes:
        raise WireError(f"a message header of {header_size} bytes (at most {limits.header_bytes})")
    if payload_size > limits.payload_bytes:
        raise WireError(
            f"a message payload of {payload_size} bytes (at most {limits.payload_bytes})"
        )
    header, payload = _read_exactly(fd, header_size, deadline, payload_size)
    try:
        parsed = json.loads(header.decode(), parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        # ValueError: bytes that are not UTF-8 or not JSON, a bare NaN or Infinity
        # (_no_constant), or an integer of more digits than Python converts
        # (sys.get_int_max_str_digits(), 4300 by default); RecursionError: nested too deep.
        raise WireError(f"a message header that is not JSON ({error})") from None
    if not isinstance(parsed, dict) or set(parsed) != {"value", "buffers"}:
        raise WireError("a message header without exactly 'value' and 'buffers'")
    return decode(parsed["value"], parsed["buffers"], payload, limits)


def _no_constant(name: str) -> Any:
    raise WireError(f"a bare {name}")


def _read_exactly(
    fd: int, size: int, deadline: float | None = None, then: int = 0
) -> tuple[bytearray, bytearray]:
    """``size`` bytes, then ``then`` more bytes, read from ``fd`` into two buffers (in one
    system call when they have arrived)."""
    first, second = bytearray(size), bytearray(then)
    views = [view for view in (memoryview(first), memoryview(second)) if len(view)]
    received, total = 0, size + then
    while received < total:
        if deadline is not None:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"{received} of {total} bytes arrived in time")
        count = os.readv(fd, views)
        if count == 0:
            raise EOFError("the other end closed the wire")
        received += count
        while views and count >= len(views[0]):
            count -= len(views[0])
            views.pop(0)
        if views and count:
            views[0] = views[0][count:]
    return first, second


#: The dtypes that have crossed, by their text: parsing and checking one costs more than
#: building the array itself.
_DTYPES: dict[str, np.dtype] = {}
#: The largest size in bytes of an array NumPy builds (and of any one dimension).
_LARGEST = int(np.iinfo(np.intp).max)


def _dtype(text: Any) -> np.dtype:
    """The dtype named by ``text``, which must be one of booleans, integers, floats and complex
    numbers."""
    if not isinstance(text, str) or len(text) > 8:
        raise WireError("an array without a dtype")
    known = _DTYPES.get(text)
    if known is not None:
        return known
    # NumPy's parser refuses text with a TypeError ("x"), a ValueError (",(") or a SyntaxError
    # (",i"), and an old alias ("a") with a DeprecationWarning where warnings are errors: any
    # of them means the text names no dtype that may cross.
    try:
        dtype = np.dtype(text)
    except Exception:
        raise WireError(f"an array of unknown dtype {text!r}") from None
    if dtype.kind not in _KINDS or dtype.hasobject or dtype.fields is not None:
        raise WireError(
            f"an array of dtype {text!r} (only booleans, integers, floats and complex numbers)"
        )
    if len(_DTYPES) < 64:
        _DTYPES[text] = dtype
    return dtype


def decode(tree: Any, buffers: Any, payload: bytearray, limits: Limits = Limits()) -> Any:
    """The value a tree stands for, checked node by node (see the module docstring)."""
    if not isinstance(buffers, list) or len(buffers) > limits.arrays:
        raise WireError("a malformed buffer table")
    spans = []
    for span in buffers:
        if (
            not isinstance(span, list)
            or len(span) != 2
            or not all(type(n) is int and n >= 0 for n in span)
            or span[0] + span[1] > len(payload)
        ):
            raise WireError(f"a buffer {span!r} outside the payload")
        spans.append(span)

    def array(spec: Any) -> np.ndarray:
        if not isinstance(spec, list) or len(spec) != 3:
            raise WireError("a malformed array node")
        index, dtype_text, shape = spec
        if type(index) is not int or not 0 <= index < len(spans):
            raise WireError(f"an array naming buffer {index!r}, which does not exist")
        dtype = _dtype(dtype_text)
        if (
            not isinstance(shape, list)
            or len(shape) > limits.dimensions
            or not all(type(n) is int and n >= 0 for n in shape)
        ):
            raise WireError(f"an array with a malformed shape {shape!r}")
        # NumPy builds no array whose nonzero dimensions multiplied by its item size exceed
        # what np.intp holds. An empty shape ([2**63, 0], [2**40, 2**40, 0]) would fill its 0
        # bytes below, and reshape then raise a plain ValueError.
        if math.prod(n for n in shape if n) * dtype.itemsize > _LARGEST:
            raise WireError(
                f"an array of shape {tuple(shape)} and dtype {dtype}, larger than NumPy builds"
            )
        offset, nbytes = spans[index]
        if math.prod(shape) * dtype.itemsize != nbytes:
            raise WireError(
                f"an array of shape {tuple(shape)} and dtype {dtype} that does not fill its "
                f"{nbytes} bytes"
            )
        return np.frombuffer(payload, dtype=dtype, count=math.prod(shape), offset=offset).reshape(
            shape
        )

    def text(item: Any) -> str:
        if not isinstance(item, str):
            raise WireError("a string field that is not a string")
        return cut(item, limits.string_chars)

    def node(item: Any, depth: int) -> Any:
        if depth > limits.depth:
            raise WireError(f"a value nested deeper than {limits.depth} levels")
        if item is None or isinstance(item, (bool, int, float)):
            return item
        if isinstance(item, str):
            return text(item)
        if not isinstance(item, dict) or len(item) != 1:
            raise WireError("a node that is neither a scalar nor a tagged object")
        ((kind, body),) = item.items()
        if kind == "$a":
            return array(body)
        if kind == "$g":
            if not isinstance(body, list) or len(body) != 2:
                raise WireError("a malformed scalar node")
            return array([body[0], body[1], [1]])[0]
        if kind in ("$l", "$t"):
            if not isinstance(body, list):
                raise WireError(f"a {kind} node without a list")
            items = [node(x, depth + 1) for x in body]
            return items if kind == "$l" else tuple(items)
        if kind == "$d":
            if not isinstance(body, dict):
                raise WireError("a $d node without an object")
            return {text(k): node(v, depth + 1) for k, v in body.items()}
        if kind == "$f":
            if body not in ("nan", "inf", "-inf"):
                raise WireError(f"a non-finite float {body!r}")
            return float(body)
        if kind == "$raised":
            if not isinstance(body, list) or len(body) != 2:
                raise WireError("a malformed $raised node")
            return Raised(remote_error(text(body[0])[:100], text(body[1])))
        if kind == "$bad":
            return NotAnArray(text(body))
        if kind == "$h":
            if not isinstance(body, list) or len(body) != 2 or type(body[0]) is not int:
                raise WireError("a malformed handle")
            return Handle(body[0], text(body[1])[:100])
        if kind == "$r":
            # A record's name is looked up only once it is a string: a list or an object
            # there is unhashable, and `in RECORDS` would raise TypeError.
            if (
                not isinstance(body, list)
                or len(body) != 2
                or not isinstance(body[0], str)
                or body[0] not in RECORDS
            ):
                raise WireError(
                    f"an unknown record {body[0] if isinstance(body, list) and body else body!r}"
                )
            fields = node(body[1], depth + 1)
            if not isinstance(fields, Mapping):
                raise WireError("a record without fields")
            try:
                return RECORDS[body[0]](**fields)
            except TypeError as error:
                raise WireError(f"a malformed {body[0]}: {error}") from None
        raise WireError(f"an unknown node kind {cut(str(kind), 40)!r}")

    return node(tree, 0)
