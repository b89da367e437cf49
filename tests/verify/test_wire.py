"""The wire between judge and runner carries plain data only, and the decoder refuses anything
else before the judge sees it."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
from eqconform.verify.runner.wire import (
    Handle,
    Limits,
    RemoteError,
    WireError,
    decode,
    encode,
    read_frame,
    remote_error,
    write_frame,
)
from eqconform.verify.targets.protocol import AdamHyperparameters, NotAnArray, Raised


def _round_trip(value: object, **options: object) -> object:
    read, write = os.pipe()
    try:
        write_frame(write, value, **options)
        return read_frame(read)
    finally:
        os.close(read)
        os.close(write)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "complex128", "int8", "uint32", "bool"])
def test_arrays_keep_their_values_dtype_and_shape(dtype: str) -> None:
    array = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    back = _round_trip({"x": array})
    assert isinstance(back, dict)
    assert back["x"].dtype == array.dtype and back["x"].shape == (3, 4)
    assert np.array_equal(back["x"], array)
    back["x"][0, 0] = 1  # the judge gets arrays it may write into


def test_scalars_containers_and_records_come_back_as_they_were() -> None:
    value = {
        "f32": np.float32(0.1), "i": 3, "big": 2**70, "f": 0.5, "nan": float("nan"), "inf": float("-inf"),
        "none": None, "flag": True, "text": "x", "list": [1, (2, 3)], "empty": np.zeros((0, 3)),
        "hyper": AdamHyperparameters(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01),
    }
    back = _round_trip(value)
    assert isinstance(back, dict)
    assert type(back["f32"]) is np.float32 and back["f32"] == np.float32(0.1)  # precision kept
    assert back["i"] == 3 and back["big"] == 2**70 and back["f"] == 0.5
    assert np.isnan(back["nan"]) and back["inf"] == float("-inf")
    assert back["none"] is None and back["flag"] is True and back["text"] == "x"
    assert back["list"] == [1, (2, 3)] and isinstance(back["list"][1], tuple)
    assert back["empty"].shape == (0, 3)
    assert back["hyper"] == value["hyper"]


def test_markers_cross_as_markers() -> None:
    back = _round_trip([Raised(ZeroDivisionError("planted")), NotAnArray("a list of length 3, not a NumPy array")])
    raised, bad = back  # type: ignore[misc]
    assert isinstance(raised, Raised) and isinstance(raised.error, RemoteError)
    assert type(raised.error).__name__ == "ZeroDivisionError" and str(raised.error) == "planted"
    assert not isinstance(raised.error, ZeroDivisionError)  # a new class, none of the original's behaviour
    assert bad == NotAnArray("a list of length 3, not a NumPy array")


def test_objects_cross_only_as_handles() -> None:
    class Session:
        pass

    with pytest.raises(WireError, match="a Session cannot cross the wire"):
        encode({"session": Session()})
    table: list[object] = []

    def register(value: object) -> Handle:
        table.append(value)
        return Handle(len(table), type(value).__name__)

    back = _round_trip({"session": Session(), "objects": np.array([object()], dtype=object)}, register=register)
    assert isinstance(back, dict)
    assert back["session"] == Handle(1, "Session")
    assert isinstance(back["objects"], Handle)  # an object array is never sent as an array


def _frame(header: object, payload: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<QQ", len(text), len(payload)) + text + payload


def _read(data: bytes, limits: Limits = Limits()) -> object:
    read, write = os.pipe()
    try:
        os.write(write, data)
        os.close(write)
        return read_frame(read, limits)
    finally:
        os.close(read)


@pytest.mark.parametrize(("tree", "buffers", "payload", "message"), [
    ({"$a": [0, "|O", [1]]}, [[0, 8]], b"\0" * 8, "only booleans, integers, floats and complex"),
    ({"$a": [0, "|V8", [1]]}, [[0, 8]], b"\0" * 8, "only booleans, integers, floats and complex"),
    ({"$a": [0, "<f8", [2]]}, [[0, 8]], b"\0" * 8, "does not fill its 8 bytes"),
    ({"$a": [0, "<f8", [1]]}, [[4, 8]], b"\0" * 8, "outside the payload"),
    ({"$a": [3, "<f8", [1]]}, [[0, 8]], b"\0" * 8, "which does not exist"),
    ({"$a": [0, "<f8", [-1]]}, [[0, 8]], b"\0" * 8, "malformed shape"),
    ({"$pickle": "gASV"}, [], b"", "unknown node kind"),
    ({"$r": ["os.system", {"$d": {}}]}, [], b"", "unknown record"),
    ({"$f": "1e999"}, [], b"", "non-finite float"),
    ([1, 2], [], b"", "neither a scalar nor a tagged object"),
])
def test_malformed_values_are_refused(tree: object, buffers: object, payload: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        _read(_frame({"value": tree, "buffers": buffers}, payload))


def test_limits_are_enforced_before_reading() -> None:
    with pytest.raises(WireError, match="message header of"):
        _read(struct.pack("<QQ", 2**40, 0), Limits())
    with pytest.raises(WireError, match="message payload of"):
        _read(struct.pack("<QQ", 10, 2**40), Limits())
    deep: object = 1
    for _ in range(40):
        deep = {"$l": [deep]}
    with pytest.raises(WireError, match="nested deeper"):
        decode(deep, [], bytearray())
    with pytest.raises(WireError, match="bare NaN"):
        _read(struct.pack("<QQ", 3, 0) + b"NaN")


def test_long_strings_are_cut() -> None:
    back = decode("x" * 100_000, [], bytearray(), Limits(string_chars=50))
    assert isinstance(back, str) and back.startswith("x" * 50) and "99950 more characters cut" in back


def test_a_closed_wire_is_end_of_file() -> None:
    read, write = os.pipe()
    os.close(write)
    with pytest.raises(EOFError):
        read_frame(read)
    os.close(read)


def test_remote_error_names_are_sanitized() -> None:
    assert type(remote_error("Weird Name!", "m")).__name__ == "Exception"
    assert type(remote_error("SystemExit", "3")).__name__ == "SystemExit"
    assert isinstance(remote_error("SystemExit", "3"), Exception)  # caught as the target's, never exits
