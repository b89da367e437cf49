"""The wire's limits, each at its edge: a value exactly at a limit crosses, one past it is
refused, on the encoding side and the decoding side alike; and every malformed node is named.

(tests/verify/test_wire.py has the round trips; these pin where each check draws its line.)
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import struct
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from eqconform.verify.runner import wire
from eqconform.verify.runner.wire import (
    Handle,
    Limits,
    WireError,
    cut,
    decode,
    encode,
    read_frame,
    remote_error,
    write_frame,
)
from eqconform.verify.targets.protocol import AdamHyperparameters, NotAnArray, Raised


def nested(depth: int) -> object:
    """A value ``depth`` lists deep (depth 0: a bare number)."""
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def tree_nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"$l": [value]}
    return value


def frame(header: object, payload: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<QQ", len(text), len(payload)) + text + payload


DEFAULT = Limits()


def read(data: bytes, limits: Limits = DEFAULT, **options: object) -> object:
    reader, writer = os.pipe()
    try:
        os.write(writer, data)
        os.close(writer)
        return read_frame(reader, limits, **options)
    finally:
        os.close(reader)


def round_trip(value: object, limits: Limits = DEFAULT) -> object:
    reader, writer = os.pipe()
    try:
        write_frame(writer, value, limits=limits)
        return read_frame(reader, limits)
    finally:
        os.close(reader)
        os.close(writer)


# --------------------------------------------------------------------------- the default limits


def test_the_default_limits() -> None:
    assert Limits() == Limits(
        header_bytes=8 * 2**20,
        payload_bytes=256 * 2**20,
        arrays=100_000,
        depth=32,
        string_chars=4_000,
        dimensions=8,
    )


def test_limits_and_handles_are_frozen() -> None:
    """One Limits() is the default argument of encode, read_frame and decode, shared by every
    call: were it mutable, one caller's change would move the limits of every later message. A
    Handle names an object in the runner and stands for it by value."""
    limits, handle = Limits(), Handle(1, "Session")
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.depth = 1_000  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        handle.number = 2  # type: ignore[misc]
    assert limits == Limits() and handle == Handle(1, "Session")


def test_options_are_keyword_only() -> None:
    """encode's ``register`` and ``limits`` and read_frame's ``deadline`` are keyword-only: a
    positional argument in their place is an error, never taken for one of them."""
    with pytest.raises(TypeError):
        encode(1, None)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        encode(1, None, DEFAULT)  # type: ignore[call-arg]
    reader, writer = os.pipe()
    try:
        os.write(writer, frame({"value": 1, "buffers": []}))
        with pytest.raises(TypeError):
            read_frame(reader, DEFAULT, time.monotonic() + 5)  # type: ignore[call-arg]
        assert read_frame(reader, DEFAULT, deadline=time.monotonic() + 5) == 1
    finally:
        os.close(reader)
        os.close(writer)


# --------------------------------------------------------------------------- depth


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_depth_at_the_limit_crosses_and_one_more_does_not(limit: int) -> None:
    limits = Limits(depth=limit)
    assert round_trip(nested(limit), limits) == nested(limit)
    with pytest.raises(WireError, match=f"value nested deeper than {limit} levels"):
        encode(nested(limit + 1), limits=limits)
    assert decode(tree_nested(limit), [], bytearray(), limits) == nested(limit)
    with pytest.raises(WireError, match=f"a value nested deeper than {limit} levels"):
        decode(tree_nested(limit + 1), [], bytearray(), limits)


def test_every_container_counts_a_level() -> None:
    limits = Limits(depth=1)
    for value in ((1,), {"k": 1}, [1]):
        assert round_trip(value, limits) == value
        with pytest.raises(WireError):
            encode([value], limits=limits)
    with pytest.raises(WireError):
        decode({"$d": {"k": {"$t": [1]}}}, [], bytearray(), limits)
    with pytest.raises(WireError):
        decode({"$t": [{"$t": [1]}]}, [], bytearray(), limits)
    # A record, its fields, their values: three levels.
    record = AdamHyperparameters(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    assert round_trip(record, Limits(depth=2)) == record
    with pytest.raises(WireError):
        encode(record, limits=Limits(depth=1))


def test_a_record_s_fields_count_a_level_when_decoded() -> None:
    fields = {"$d": {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}}
    assert (
        decode({"$r": ["AdamHyperparameters", fields]}, [], bytearray(), Limits(depth=2)).lr == 0.1
    )
    with pytest.raises(WireError, match="nested deeper than 1 levels"):
        decode({"$r": ["AdamHyperparameters", fields]}, [], bytearray(), Limits(depth=1))


def test_a_handle_does_not_count_a_level() -> None:
    """A registered object is encoded as its handle at its own depth."""
    assert encode(object(), register=lambda item: Handle(7, "thing"), limits=Limits(depth=0)) == (
        {"$h": [7, "thing"]},
        [],
    )


# --------------------------------------------------------------------------- strings


@pytest.mark.parametrize("length", [0, 9, 10, 11])
def test_strings_are_cut_past_the_limit_only(length: int) -> None:
    text = "y" * length
    expected = text if length <= 10 else "y" * 10 + f"... [{length - 10} more characters cut]"
    assert cut(text, 10) == expected
    limits = Limits(string_chars=10)
    assert encode(text, limits=limits)[0] == expected
    assert encode({text: 1}, limits=limits)[0] == {"$d": {expected: 1}}
    assert decode(text, [], bytearray(), limits) == expected
    assert decode({"$d": {text: 1}}, [], bytearray(), limits) == {expected: 1}


def test_markers_carry_cut_text() -> None:
    limits = Limits(string_chars=5)
    tree, _ = encode([Raised(ValueError("abcdefgh")), NotAnArray("a list of 3")], limits=limits)
    assert tree == {
        "$l": [{"$raised": ["ValueError", cut("abcdefgh", 5)]}, {"$bad": cut("a list of 3", 5)}]
    }
    back = decode({"$bad": "abcdefgh"}, [], bytearray(), limits)
    assert back == NotAnArray(cut("abcdefgh", 5))
    raised = decode({"$raised": ["E" * 150, "m"]}, [], bytearray())
    assert type(raised.error).__name__ == "E" * 100  # type names are cut to 100 characters
    handle = decode({"$h": [3, "T" * 150]}, [], bytearray())
    assert handle == Handle(3, "T" * 100)


# --------------------------------------------------------------------------- arrays


@pytest.mark.parametrize("dimensions", [0, 2, 3])
def test_dimensions_at_the_limit_cross(dimensions: int) -> None:
    limits = Limits(dimensions=2)
    array = np.zeros((1,) * dimensions)
    if dimensions <= 2:
        back = round_trip(array, limits)
        assert isinstance(back, np.ndarray) and back.shape == array.shape
    else:
        with pytest.raises(WireError, match=r"array of 3 dimensions \(at most 2\)"):
            encode(array, limits=limits)
        with pytest.raises(WireError, match="malformed shape"):
            decode({"$a": [0, "<f8", [1, 1, 1]]}, [[0, 8]], bytearray(8), limits)


def test_empty_arrays_cross_and_offsets_follow_one_another() -> None:
    value = [
        np.zeros(0),
        np.arange(3, dtype=np.int16),
        np.zeros((2, 0)),
        np.array([1.5, 2.5], dtype=np.float32),
    ]
    back = round_trip(value)
    assert isinstance(back, list)
    for sent, received in zip(value, back, strict=True):
        assert received.dtype == sent.dtype and received.shape == sent.shape
        np.testing.assert_array_equal(received, sent)


def test_a_non_contiguous_array_crosses_as_its_values() -> None:
    array = np.arange(12.0).reshape(3, 4)[:, ::2]
    np.testing.assert_array_equal(round_trip(array), array)


def test_numpy_scalars_keep_their_dtype() -> None:
    for scalar in (np.float32(1.5), np.int8(-3), np.bool_(True), np.complex64(1 + 2j)):
        back = round_trip(scalar)
        assert isinstance(back, np.generic) and back.dtype == scalar.dtype and back == scalar


def test_each_array_and_scalar_names_its_own_buffer() -> None:
    """Arrays and NumPy scalars are numbered in the order they are met, each naming the buffer
    of its own bytes: a scalar naming another's buffer would decode as the wrong value."""
    value: list[Any] = [np.arange(2.0), np.float32(1.5), np.int8(-3), np.arange(3, dtype=np.int16)]
    tree, arrays = encode(value)
    assert tree == {
        "$l": [
            {"$a": [0, "<f8", [2]]},
            {"$g": [1, "<f4"]},
            {"$g": [2, "|i1"]},
            {"$a": [3, "<i2", [3]]},
        ]
    }
    assert [array.tobytes() for array in arrays] == [np.asarray(v).tobytes() for v in value]
    back = round_trip(value)
    assert isinstance(back, list)
    for sent, received in zip(value, back, strict=True):
        assert type(received) is type(sent) and received.dtype == sent.dtype
        np.testing.assert_array_equal(received, sent)


#: 160 spellings of dtypes that may cross, each a text of its own.
DTYPE_TEXTS = [
    order + code
    for code in ("?", "b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "e", "f", "d", "g")
    + ("F", "D", "G", "b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8")
    + ("c8", "c16")
    for order in ("", "<", ">", "=", "|")
]


def test_the_dtype_cache_keeps_the_first_64_dtypes_and_no_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dtype's text is parsed and checked once, then its dtype is taken from the cache; the
    cache keeps the first 64 texts and no more, so that a runner sending ever new spellings
    cannot grow it. A dtype past the bound is still decoded, only not kept."""
    monkeypatch.setattr(wire, "_DTYPES", {})

    def empty(text: str) -> Any:
        return decode({"$a": [0, text, [0]]}, [[0, 0]], bytearray())

    first = empty(">f8").dtype
    assert list(wire._DTYPES) == [">f8"]
    assert empty(">f8").dtype is first  # not parsed again (a big-endian dtype is a new object)
    texts = [text for text in DTYPE_TEXTS if text != ">f8"][:99]
    for text in texts:
        assert empty(text).dtype == np.dtype(text)
    assert list(wire._DTYPES) == [">f8", *texts[:63]]
    for text in (texts[62], texts[63], texts[-1]):  # the last kept, the first not, the last
        assert empty(text).dtype == np.dtype(text)
    assert len(wire._DTYPES) == 64 and texts[63] not in wire._DTYPES


@pytest.mark.parametrize(
    ("buffers", "message"),
    [
        ("x", "malformed buffer table"),
        ([[0, 8]] * 3, "malformed buffer table"),
        ([[0]], "outside the payload"),
        ([[0, 8, 0]], "outside the payload"),
        ([[0, -1]], "outside the payload"),
        ([[-1, 8]], "outside the payload"),
        ([[0, 8.0]], "outside the payload"),
        ([[0, True]], "outside the payload"),
        ([[1, 8]], "outside the payload"),
        ([[0, 9]], "outside the payload"),
        (["ab"], "outside the payload"),
    ],
)
def test_malformed_buffer_tables_are_refused(buffers: object, message: str) -> None:
    with pytest.raises(WireError, match=message):
        decode(1, buffers, bytearray(8), Limits(arrays=2))


def test_a_buffer_table_at_its_limit_and_spans_at_the_payload_end() -> None:
    assert decode(1, [[0, 4], [4, 4]], bytearray(8), Limits(arrays=2)) == 1
    assert decode(1, [[8, 0]], bytearray(8)) == 1


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"$a": [0, "<f8"]}, "malformed array node"),
        ({"$a": "x"}, "malformed array node"),
        ({"$a": [-1, "<f8", [1]]}, "which does not exist"),
        ({"$a": [1, "<f8", [1]]}, "which does not exist"),
        ({"$a": [True, "<f8", [1]]}, "which does not exist"),
        ({"$a": [0, 8, [1]]}, "without a dtype"),
        ({"$a": [0, "<f8" + " " * 6, [1]]}, "without a dtype"),
        ({"$a": [0, "nonsense", [1]]}, "unknown dtype"),
        ({"$a": [0, "<M8", [1]]}, "only booleans"),
        ({"$a": [0, "<f8", "1"]}, "malformed shape"),
        ({"$a": [0, "<f8", [1.0]]}, "malformed shape"),
        ({"$a": [0, "<f8", [True]]}, "malformed shape"),
        ({"$a": [0, "<f4", [1]]}, "does not fill its 8 bytes"),
        ({"$a": [0, "<f8", [1], 0]}, "malformed array node"),
        ({"$a": [0, "<f8", [1], 0, 0]}, "malformed array node"),
        ({"$a": ["0", "<f8", [1]]}, "which does not exist"),
        ({"$a": [0.0, "<f8", [1]]}, "which does not exist"),
        ({"$a": [None, "<f8", [1]]}, "which does not exist"),
        ({"$a": [0, "<f8", [-1, -1]]}, "malformed shape"),  # -1 * -1 * 8 bytes would fit
        ({"$a": [0, "<f8", [-1]]}, "malformed shape"),
        ({"$a": [0, "<f8", [1, "1"]]}, "malformed shape"),
        ({"$g": [0]}, "malformed scalar node"),
        ({"$g": "x"}, "malformed scalar node"),
        ({"$g": [0, "<f8", [1]]}, "malformed scalar node"),
        ({"$l": "x"}, "a \\$l node without a list"),
        ({"$t": {}}, "a \\$t node without a list"),
        ({"$d": []}, "a \\$d node without an object"),
        ({"$f": "NaN"}, "non-finite float"),
        ({"$raised": ["E"]}, "malformed \\$raised"),
        ({"$raised": "E"}, "malformed \\$raised"),
        ({"$raised": ["E", "m", "x"]}, "malformed \\$raised"),
        ({"$raised": [1, "m"]}, "string field that is not a string"),
        ({"$bad": 3}, "string field that is not a string"),
        ({"$h": [1]}, "malformed handle"),
        ({"$h": ["1", "T"]}, "malformed handle"),
        ({"$h": "x"}, "malformed handle"),
        ({"$h": [1, "T", 2]}, "malformed handle"),
        ({"$h": [1.0, "T"]}, "malformed handle"),
        ({"$h": [True, "T"]}, "malformed handle"),
        ({"$r": ["AdamHyperparameters"]}, "unknown record"),
        ({"$r": "AdamHyperparameters"}, "unknown record"),
        (
            {"$r": ["AdamHyperparameters", {"$d": {"lr": 0.1, "beta1": 0.9, "beta2": 0.9}}, 0]},
            "unknown record",
        ),
        ({"$r": ["AdamHyperparameters", {"$l": []}]}, "record without fields"),
        ({"$r": ["AdamHyperparameters", {"$d": {"lr": 1.0}}]}, "malformed AdamHyperparameters"),
        ({"$a": [0, "<f8", [1]], "$l": []}, "neither a scalar nor a tagged object"),
        ({}, "neither a scalar nor a tagged object"),
        (
            {"$" + "z" * 100: 1},
            "unknown node kind '\\$" + "z" * 39 + "\\.\\.\\. \\[61 more characters cut\\]'",
        ),
    ],
)
def test_every_malformed_node_is_named(node: object, message: str) -> None:
    with pytest.raises(WireError, match=message):
        decode(node, [[0, 8]], bytearray(8))


# Hostile frames that once escaped as other exceptions. RemoteRunner.request turns a WireError
# (and only that, or an OSError) into "the runner broke the protocol"; anything else would pass
# for an exception of the target's own.


@pytest.mark.parametrize(
    "text",
    [
        ",i",  # SyntaxError in NumPy's parser of comma-separated dtypes
        "i4,,",  # the same
        ",(",  # ValueError there
        ",-c4",  # the same
        "(",  # TypeError
    ],
)
def test_a_dtype_numpy_cannot_parse_is_unknown_whatever_numpy_raises(text: str) -> None:
    for node in ({"$a": [0, text, [1]]}, {"$g": [0, text]}):
        with pytest.raises(WireError) as refused:
            decode(node, [[0, 8]], bytearray(8))
        assert str(refused.value) == f"an array of unknown dtype {text!r}"
    assert text not in wire._DTYPES


def test_a_deprecated_dtype_alias_is_refused_where_warnings_are_errors() -> None:
    """np.dtype("a") warns (DeprecationWarning, NumPy 2); a judge run with -W error must still
    see a WireError."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(WireError, match="'a'"):
            decode({"$a": [0, "a", [0]]}, [[0, 0]], bytearray(8))


LARGEST = 2**63 - 1 if np.dtype(np.intp).itemsize == 8 else 2**31 - 1


@pytest.mark.parametrize(
    ("dtype", "shape"),
    [
        ("|i1", [LARGEST, 0]),  # the largest NumPy builds, of one-byte items
        ("|i1", [0, LARGEST]),
        ("<f8", [LARGEST // 8, 0]),  # and of eight-byte items
        ("<c16", [0, 3, LARGEST // 16 // 3]),
        ("|b1", [0] * 8),
        ("<f8", [0]),
    ],
)
def test_an_empty_array_numpy_can_build_crosses(dtype: str, shape: list[int]) -> None:
    back = decode({"$a": [0, dtype, shape]}, [[0, 0]], bytearray(8))
    assert back.shape == tuple(shape) and back.dtype == np.dtype(dtype)


@pytest.mark.parametrize(
    ("dtype", "shape"),
    [
        ("|i1", [LARGEST + 1, 0]),  # one more than a dimension holds
        ("|i1", [0, LARGEST + 1]),
        ("<f8", [2**63, 0]),
        ("<f8", [2**100, 0]),
        ("<f8", [LARGEST // 8 + 1, 0]),  # one item more than fits in bytes
        ("<f8", [0, LARGEST // 8 + 1]),
        ("<c16", [0, 3, LARGEST // 16 // 3 + 1]),
        ("<f8", [2**40, 2**40, 0]),  # each dimension fits, not their product
        ("|i1", [0, 2**32, 2**31]),
        ("|u1", [2**62, 2, 0]),
    ],
)
def test_an_empty_array_numpy_cannot_build_is_refused(dtype: str, shape: list[int]) -> None:
    with pytest.raises(WireError) as refused:
        decode({"$a": [0, dtype, shape]}, [[0, 0]], bytearray(8))
    assert str(refused.value) == (
        f"an array of shape {tuple(shape)} and dtype {np.dtype(dtype)}, larger than NumPy builds"
    )


def test_more_dimensions_than_numpy_builds_are_refused_by_the_limit() -> None:
    """NumPy 2 builds at most 64 dimensions (NumPy 1: 32); the limit of 8 refuses them first."""
    with pytest.raises(WireError, match="malformed shape"):
        decode({"$a": [0, "<f8", [0] * 65]}, [[0, 0]], bytearray(8))


#: Kinds that sort next to a known one ($a, $bad, $g, $h, $l, $r, $t ...), or differ in case.
NEAR_KINDS = ["", "$", "#a", "$A", "$L", "$H", "$_", "$`", "$aa", "$b", "$ba", "$bac", "$bad0"]
NEAR_KINDS += ["$c", "$e", "$f0", "$g0", "$gz", "$h0", "$i", "$l0", "$m", "$r0", "$raise", "$t0"]
NEAR_KINDS += ["$u", "$~", "a", "l"]


@pytest.mark.parametrize("kind", NEAR_KINDS)
@pytest.mark.parametrize("body", [[0, "<f8", [1]], "x", [1, "T"], [0, "<f8"]])
def test_a_kind_is_known_by_its_exact_name(kind: str, body: object) -> None:
    """A kind that sorts just before or after a known one is unknown, whatever it carries:
    here bodies that would be well formed for an array, a $bad, a handle and a scalar."""
    with pytest.raises(WireError, match="unknown node kind"):
        decode({kind: body}, [[0, 8]], bytearray(8))


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("AdamHyperparameters", "'AdamHyperparameters'"),
        ([], "[]"),
        (["os.system", {}], "'os.system'"),
        (7, "7"),
        ([["AdamHyperparameters"], {}], "['AdamHyperparameters']"),  # unhashable: no lookup
        ([{"AdamHyperparameters": 1}, {}], "{'AdamHyperparameters': 1}"),
        ([1, {}], "1"),
        ([None, {}], "None"),
    ],
)
def test_an_unknown_record_is_named_as_sent(body: object, named: str) -> None:
    with pytest.raises(WireError) as refused:
        decode({"$r": body}, [], bytearray())
    assert str(refused.value) == f"an unknown record {named}"


def test_well_formed_nodes_decode() -> None:
    payload = bytearray(np.array([2.5]).tobytes())
    assert decode({"$a": [0, "<f8", [1]]}, [[0, 8]], payload)[0] == 2.5
    assert decode({"$g": [0, "<f8"]}, [[0, 8]], payload) == 2.5
    assert decode({"$t": [1, "a"]}, [], bytearray()) == (1, "a")
    assert decode({"$l": [None, True, 1.5]}, [], bytearray()) == [None, True, 1.5]
    for text in ("nan", "inf", "-inf"):
        value = decode({"$f": text}, [], bytearray())
        assert repr(value) == text
    fields = {"$d": {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}}
    assert decode({"$r": ["AdamHyperparameters", fields]}, [], bytearray()) == AdamHyperparameters(
        0.1, 0.9, 0.999, 1e-8
    )


# --------------------------------------------------------------------------- encoding


def test_plain_values_encode_as_themselves() -> None:
    assert encode([None, True, False, 3, -2.5, "s"]) == (
        {"$l": [None, True, False, 3, -2.5, "s"]},
        [],
    )
    assert encode(float("nan"))[0] == {"$f": "nan"}
    assert encode(float("-inf"))[0] == {"$f": "-inf"}
    assert encode((1,))[0] == {"$t": [1]}


def test_what_does_not_cross_as_data() -> None:
    from collections import namedtuple

    pair = namedtuple("pair", "a b")
    for value in (
        pair(1, 2),
        {1: "integer key"},
        np.array(["text"]),
        np.datetime64("2020-01-01"),
        {1, 2},
    ):
        with pytest.raises(WireError, match="cannot cross the wire"):
            encode(value)
        registered: list[object] = []

        def register(item: object, table: list[object] = registered) -> Handle:
            table.append(item)
            return Handle(len(table), "T")

        tree, _ = encode(value, register=register)
        assert tree == {"$h": [1, "T"]} and registered == [value]


def test_a_record_of_another_class_of_the_same_name_is_not_a_record() -> None:
    import dataclasses

    @dataclasses.dataclass
    class AdamHyperparameters:
        lr: float

    with pytest.raises(WireError, match="cannot cross"):
        encode(AdamHyperparameters(0.1))


def test_a_class_that_claims_to_equal_the_record_class_is_not_a_record() -> None:
    """A record is recognised by the identity of its class. Audited code can give a dataclass
    of the record's name a metaclass whose ``==`` says yes to every class; that is still not
    the record."""

    class Agreeing(type):
        def __eq__(cls, other: object) -> bool:
            return True

        __hash__ = type.__hash__

    @dataclasses.dataclass
    class AdamHyperparameters(metaclass=Agreeing):
        lr: float

    with pytest.raises(WireError, match="cannot cross"):
        encode(AdamHyperparameters(0.1))


# --------------------------------------------------------------------------- frames


def test_header_and_payload_at_their_limits() -> None:
    data = frame({"value": {"$a": [0, "<f8", [1]]}, "buffers": [[0, 8]]}, np.array([1.0]).tobytes())
    header_size = struct.unpack("<QQ", data[:16])[0]
    assert read(data, Limits(header_bytes=header_size, payload_bytes=8))[0] == 1.0
    with pytest.raises(
        WireError, match=f"header of {header_size} bytes \\(at most {header_size - 1}\\)"
    ):
        read(data, Limits(header_bytes=header_size - 1))
    with pytest.raises(WireError, match="payload of 8 bytes \\(at most 7\\)"):
        read(data, Limits(payload_bytes=7))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"{", "not JSON"),
        (b"[1]", "without exactly 'value' and 'buffers'"),
        (b'{"value": 1}', "without exactly 'value' and 'buffers'"),
        (b'{"value": 1, "buffers": [], "x": 0}', "without exactly 'value' and 'buffers'"),
        (b'{"value": Infinity, "buffers": []}', "not JSON \\(a bare Infinity\\)$"),
        (b'{"value": -Infinity, "buffers": []}', "not JSON \\(a bare -Infinity\\)$"),
        (b'{"value": [NaN], "buffers": []}', "not JSON \\(a bare NaN\\)$"),
        (b"[" * 10_000 + b"]" * 10_000, "not JSON \\(maximum recursion depth"),
    ],
)
def test_malformed_headers_are_refused(header: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        read(struct.pack("<QQ", len(header), 0) + header)


@pytest.fixture
def default_digit_limit() -> Any:
    """Python's default limit of 4300 digits on converting an int from or to text (an
    environment may raise it: PYTHONINTMAXSTRDIGITS)."""
    import sys

    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(4300)
    yield
    sys.set_int_max_str_digits(before)


def test_an_integer_of_more_digits_than_python_converts_is_refused(
    default_digit_limit: None,
) -> None:
    """json.loads raises a plain ValueError for an integer of more than 4300 digits."""
    for sign in ("", "-"):
        at_limit = int(sign + "9" * 4300)
        assert read(frame({"value": {"$l": [at_limit]}, "buffers": []})) == [at_limit]
        header = f'{{"value": {sign}{"9" * 4301}, "buffers": []}}'.encode()
        with pytest.raises(WireError, match="not JSON \\(Exceeds the limit \\(4300 digits\\)"):
            read(struct.pack("<QQ", len(header), 0) + header)


def test_a_frame_cut_short_is_end_of_file() -> None:
    data = frame({"value": 1, "buffers": []})
    for length in (0, 10, 16, len(data) - 1):
        with pytest.raises(EOFError):
            read(data[:length])
    assert read(data) == 1


def test_a_frame_not_complete_by_its_deadline_times_out() -> None:
    reader, writer = os.pipe()
    try:
        os.write(writer, frame({"value": 1, "buffers": []})[:20])
        start = time.monotonic()
        with pytest.raises(TimeoutError, match="of .* bytes arrived in time"):
            read_frame(reader, deadline=time.monotonic() + 0.2)
        assert time.monotonic() - start < 5
    finally:
        os.close(reader)
        os.close(writer)
    # A deadline already past still reads what is there.
    assert read(frame({"value": 2, "buffers": []}), deadline=time.monotonic() - 1) == 2


def test_large_frames_are_written_whole() -> None:
    """More than a pipe holds: the writer must loop until everything is written."""
    import threading

    big = np.arange(300_000, dtype=np.float64)
    reader, writer = os.pipe()
    received: list[object] = []
    thread = threading.Thread(target=lambda: received.append(read_frame(reader)))
    thread.start()
    try:
        write_frame(writer, [big, "x" * 100_000], limits=Limits(string_chars=200_000))
        thread.join(30)
    finally:
        os.close(writer)
        thread.join(30)
        os.close(reader)
    (back,) = received
    np.testing.assert_array_equal(back[0], big)
    assert back[1] == "x" * 4_000 + "... [96000 more characters cut]"  # the reader's limit applies


def test_a_non_finite_number_in_the_header_is_refused_before_anything_is_written() -> None:
    """A float that is not finite crosses as {"$f": ...}, but a Handle's number goes into the
    header as it is, and audited code can return a Handle of its own making. A NaN or infinity
    there is refused (WireError, which the runner answers as an error) with nothing written,
    rather than send a header with a bare NaN, which is not JSON."""
    for number in (float("nan"), float("inf"), float("-inf")):
        session = Handle(number, "T")  # type: ignore[arg-type]
        _refused_with_nothing_written({"session": session}, "a handle whose number is not an int")


def _refused_with_nothing_written(value: object, match: str) -> None:
    """``write_frame`` raises WireError (matching ``match``) and writes not a byte."""
    reader, writer = os.pipe()
    try:
        with pytest.raises(WireError, match=match):
            write_frame(writer, value)
        os.close(writer)
        writer = -1
        assert os.read(reader, 1_000) == b""
    finally:
        os.close(reader)
        if writer >= 0:
            os.close(writer)


def test_an_integer_of_more_digits_than_python_converts_is_not_written(
    default_digit_limit: None,
) -> None:
    """Audited code can return 10**4300: the writer refuses it (WireError, which the runner
    answers as an error) with nothing written; 4300 digits cross."""
    assert round_trip([-(10**4300 - 1)]) == [-(10**4300 - 1)]
    _refused_with_nothing_written(
        {"ok": [1, 10**4300]}, "cannot be written as JSON \\(Exceeds the limit"
    )


class _AgreesWithEveryClass(type):
    def __eq__(cls, other: object) -> bool:
        return True

    def __ne__(cls, other: object) -> bool:
        return False

    __hash__ = type.__hash__


class _LyingInt(int, metaclass=_AgreesWithEveryClass):
    """An int whose class claims to be int, and which says it is not below anything."""

    def __lt__(self, other: object) -> bool:
        return False


@pytest.mark.parametrize(
    "number",
    [-1, -(2**70), 1.0, 0.5, True, False, "1", None, [1], object(), _LyingInt(-1)],
    ids=["-1", "-2**70", "1.0", "0.5", "True", "False", "'1'", "None", "[1]", "object", "lying"],
)
def test_a_handle_numbered_by_anything_but_an_int_from_0_is_refused(number: object) -> None:
    with pytest.raises(WireError) as refused:
        encode({"s": Handle(number, "T")})  # type: ignore[arg-type]
    assert str(refused.value) == "a handle whose number is not an int from 0"


@pytest.mark.parametrize(
    "name", [None, 1, b"T", ["T"], object()], ids=["None", "1", "bytes", "list", "object"]
)
def test_a_handle_whose_type_name_is_not_a_string_is_refused(name: object) -> None:
    with pytest.raises(WireError) as refused:
        encode(Handle(1, name))  # type: ignore[arg-type]
    assert str(refused.value) == "a handle whose type name is not a string"


@pytest.mark.parametrize("number", [0, 1, 2**62, 2**100])
def test_a_handle_numbered_by_an_int_from_0_crosses(number: int) -> None:
    assert encode(Handle(number, "T")) == ({"$h": [number, "T"]}, [])
    assert round_trip([Handle(number, "")]) == [Handle(number, "")]


def test_the_runner_answers_a_handle_it_cannot_send_as_an_error() -> None:
    """End to end in the runner: audited code returning Handle(nan, ...) is answered as an
    error of the target's (the answer could not be sent), and the runner goes on."""
    from eqconform.verify.runner.server import _Server

    reader, writer = os.pipe()
    try:
        server = _Server("numpy", -1, writer)
        server.answer({"ok": Handle(float("nan"), "T"), "printed": 3})  # type: ignore[arg-type]
        assert read_frame(reader) == {
            "error": [
                "raised",
                "WireError",
                "the answer could not be sent: a handle whose number is not an int from 0",
            ],
            "printed": 3,
        }
        server.answer({"ok": 1, "printed": 0})
        assert read_frame(reader) == {"ok": 1, "printed": 0}
    finally:
        os.close(reader)
        os.close(writer)


# Partial writes and reads ------------------------------------------------------------------
#
# A pipe or a socket may take or give fewer bytes than asked (a signal, a full buffer); the
# writer and the reader go on from where the system call stopped. os.writev and os.readv are
# replaced by versions that stop after a given number of bytes, cycling through ``counts``.

#: A frame of six pieces: the sizes and the header, then the bytes of three arrays, a scalar and
#: an array (3, 10, 16, 4 and 7 bytes; the empty array has no piece).
PIECES = {
    "text": "h" * 40,
    "arrays": [
        np.arange(3, dtype=np.int8),
        np.arange(5, dtype=np.int16),
        np.zeros(0),
        np.arange(2.0),
        np.float32(1.5),
        np.arange(7, dtype=np.uint8),
    ],
}


class ShortWrites:
    """os.writev that writes at most the next of ``counts`` bytes per call into ``written``
    (and refuses to write more than ``limit`` bytes in all: a writer that loops is stopped)."""

    def __init__(self, counts: Sequence[int], limit: int = 200_000) -> None:
        self.counts = itertools.cycle(counts)
        self.written = bytearray()
        self.calls: list[int] = []  # the number of buffers of each call
        self.limit = limit

    def __call__(self, fd: int, buffers: Sequence[Any]) -> int:
        self.calls.append(len(buffers))
        left, pieces = next(self.counts), []
        for buffer in buffers:
            pieces.append(bytes(memoryview(buffer)[:left]))
            left -= len(pieces[-1])
            if not left:
                break
        taken = b"".join(pieces)
        if len(self.written) + len(taken) > self.limit:
            raise AssertionError(f"more than {self.limit} bytes written")
        self.written += taken
        return len(taken)


class ShortReads:
    """os.readv that reads at most the next of ``counts`` bytes per call."""

    def __init__(self, counts: Sequence[int]) -> None:
        self.counts = itertools.cycle(counts)
        self.readv = os.readv  # the system's, taken before it is replaced
        self.calls = 0

    def __call__(self, fd: int, buffers: Sequence[Any]) -> int:
        self.calls += 1
        left, views = next(self.counts), []
        for buffer in buffers:
            views.append(memoryview(buffer)[:left])
            left -= len(views[-1])
            if not left:
                break
        return self.readv(fd, views)


def assert_one_frame_of(data: bytes, value: object) -> None:
    """``data`` is exactly one frame of ``value``: its two sizes, its header, every array's
    bytes in order right after it, and nothing more."""
    tree, arrays = encode(value)
    header_size, payload_size = struct.unpack("<QQ", data[:16])
    assert len(data) == 16 + header_size + payload_size
    header = json.loads(data[16 : 16 + header_size])
    sizes = [array.nbytes for array in arrays]
    offsets = list(itertools.accumulate([0, *sizes]))
    assert header == {
        "value": tree,
        "buffers": [list(span) for span in zip(offsets[:-1], sizes, strict=True)],
    }
    assert data[16 + header_size :] == b"".join(array.tobytes() for array in arrays)


def assert_same(back: object, sent: object) -> None:
    """``back`` is ``sent`` as it crossed: the same containers, arrays of the same type, dtype,
    shape and values."""
    if isinstance(sent, dict):
        assert isinstance(back, dict) and back.keys() == sent.keys()
        for key in sent:
            assert_same(back[key], sent[key])
    elif isinstance(sent, list):
        assert isinstance(back, list) and len(back) == len(sent)
        for b, s in zip(back, sent, strict=True):
            assert_same(b, s)
    elif isinstance(sent, np.ndarray | np.generic):
        assert type(back) is type(sent) and back.dtype == sent.dtype and back.shape == sent.shape
        np.testing.assert_array_equal(back, sent)
    else:
        assert back == sent


def read_sent(data: bytes) -> object:
    """What read_frame reads from a pipe that another thread writes ``data`` into (more than
    a pipe may hold at once)."""
    reader, writer = os.pipe()

    def send() -> None:
        try:
            os.write(writer, data)
        except BrokenPipeError:  # the reader stopped early: its error is the test's
            pass

    sender = threading.Thread(target=send)
    sender.start()
    try:
        return read_frame(reader)
    finally:
        os.close(reader)
        sender.join()
        os.close(writer)


def whole_frame(value: object) -> bytes:
    writes = ShortWrites([2**40])
    _write_with(writes, value)
    return bytes(writes.written)


def _write_with(writes: ShortWrites, value: object) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "writev", writes)
        write_frame(-1, value)


@pytest.mark.parametrize(
    "counts",
    [[1], [2], [3], [5, 1, 9], [7, 2, 11, 1, 5], [100, 3, 3], "boundaries", "across"],
)
def test_a_frame_written_in_short_pieces_arrives_whole_and_in_order(
    counts: Sequence[int] | str,
) -> None:
    """Whatever the writes take, byte by byte, cutting a piece anywhere, ending on a piece's
    end or spanning several pieces: every byte is written once, in order (the reader gets the
    frame, and nothing after it)."""
    first = len(whole_frame(PIECES)) - 40  # the sizes and the header
    if counts == "boundaries":  # each write ends where a piece ends
        counts = [first, 3, 10, 16, 4, 7]
    elif counts == "across":  # writes that span the end of a piece
        counts = [first + 2, 10, 17, 8, 1]
    assert not isinstance(counts, str)
    writes = ShortWrites(counts, limit=4 * (first + 40))
    _write_with(writes, PIECES)
    assert_one_frame_of(bytes(writes.written), PIECES)
    assert_same(read_sent(bytes(writes.written)), PIECES)
    assert len(writes.calls) > 1


@pytest.mark.parametrize("counts", [[2**40], [1_000, 1, 333]])
def test_a_frame_of_more_pieces_than_one_writev_takes(counts: list[int]) -> None:
    """700 arrays (600 not empty): the pieces go to writev in batches, none longer than the
    system's IOV_MAX (1024 on Linux), and the frame arrives whole and in order."""
    value = [np.full(i % 7, i, dtype=np.uint16) for i in range(700)]
    writes = ShortWrites(counts)
    _write_with(writes, value)
    assert max(writes.calls) <= 1024 and len(writes.calls) > 1
    assert_one_frame_of(bytes(writes.written), value)
    assert_same(read_sent(bytes(writes.written)), value)


@pytest.mark.parametrize("counts", [[1], [3], [16], [15, 2], [7, 1, 30], [17, 200]])
@pytest.mark.parametrize("deadline", [None, 60.0])
def test_a_frame_read_in_short_pieces_is_read_whole(
    monkeypatch: pytest.MonkeyPatch, counts: list[int], deadline: float | None
) -> None:
    """Whatever each read gives (a byte, the prefix exactly, a piece across the prefix and
    the header), the reader goes on from where it stopped, and reads one frame and no more:
    the next frame on the wire comes whole too."""
    data = whole_frame(PIECES)
    reads = ShortReads(counts)
    reader, writer = os.pipe()
    try:
        os.write(writer, data + frame({"value": "next", "buffers": []}))
        monkeypatch.setattr(os, "readv", reads)
        until = None if deadline is None else time.monotonic() + deadline
        assert_same(read_frame(reader, deadline=until), PIECES)
        assert read_frame(reader, deadline=until) == "next"
    finally:
        os.close(reader)
        os.close(writer)
    assert reads.calls > 2


# Deadlines -----------------------------------------------------------------------------------


def test_a_reader_waits_for_nothing_until_its_deadline_and_no_longer() -> None:
    """Nothing comes: read_frame raises TimeoutError when the deadline has passed, not before
    it and not a second after (it waits what is left of the time)."""
    reader, writer = os.pipe()
    try:
        deadline = time.monotonic() + 0.1
        with pytest.raises(TimeoutError, match="^0 of 16 bytes arrived in time$"):
            read_frame(reader, deadline=deadline)
        late = time.monotonic() - deadline
        assert -0.005 < late < 0.5
    finally:
        os.close(reader)
        os.close(writer)


def test_a_deadline_already_past_does_not_wait_for_what_has_not_come() -> None:
    """A deadline in the past reads what is already there (see above) but waits for nothing:
    a frame that would come 0.3 s later is not waited for."""
    reader, writer = os.pipe()
    later = threading.Timer(0.3, os.write, (writer, frame({"value": 1, "buffers": []})))
    later.start()
    try:
        start = time.monotonic()
        with pytest.raises(TimeoutError, match="^0 of 16 bytes arrived in time$"):
            read_frame(reader, deadline=start - 1.0)
        assert time.monotonic() - start < 0.25
    finally:
        later.cancel()
        later.join()
        os.close(reader)
        os.close(writer)


def test_a_frame_that_comes_in_pieces_before_its_deadline_is_read_whole() -> None:
    """The sender writes a frame in six pieces, pausing 20 ms before each; the reader, whose
    deadline falls well after the last, waits through every pause (a pause is not the end) and
    reads the whole frame."""
    payload = np.arange(5.0)
    data = frame({"value": {"$a": [0, "<f8", [5]]}, "buffers": [[0, 40]]}, payload.tobytes())
    cuts = [0, 5, 16, 20, len(data) - 40, len(data) - 3, len(data)]
    reader, writer = os.pipe()

    def send() -> None:
        for start, end in itertools.pairwise(cuts):
            time.sleep(0.02)
            os.write(writer, data[start:end])

    sender = threading.Thread(target=send)
    start = time.monotonic()
    sender.start()
    try:
        back = read_frame(reader, deadline=start + 2.0)
        assert time.monotonic() - start >= 0.1  # it did wait for the pieces
    finally:
        sender.join()
        os.close(reader)
        os.close(writer)
    np.testing.assert_array_equal(back, payload)


def test_a_sender_that_stops_halfway_times_out_saying_how_much_came() -> None:
    """The prefix and 4 bytes of the header come, then nothing: TimeoutError at the deadline,
    counting the bytes of the header and payload read."""
    data = frame({"value": [1, 2, 3], "buffers": []})
    reader, writer = os.pipe()
    try:
        os.write(writer, data[:20])
        deadline = time.monotonic() + 0.1
        with pytest.raises(TimeoutError, match=f"^4 of {len(data) - 16} bytes arrived in time$"):
            read_frame(reader, deadline=deadline)
        assert time.monotonic() >= deadline - 0.005
    finally:
        os.close(reader)
        os.close(writer)


def test_remote_errors_of_one_name_share_a_class() -> None:
    first, second = remote_error("KeyError", "a"), remote_error("KeyError", "b")
    assert type(first) is type(second) and type(first).__module__ == "audited code"
    assert type(first).type_name == "KeyError" and str(second) == "b"
    assert type(remote_error("1abc", "m")).__name__ == "Exception"


# The runner's batched calls ------------------------------------------------------------------


class _Counter:
    def __init__(self) -> None:
        self.calls = 0

    def step(self, values):
        self.calls += 1
        if self.calls == 3:
            values[0] = -1.0  # writes into its argument at the third call
        if self.calls == 5:
            raise ValueError("the fifth call fails")
        return {"seen": self.calls}


def test_batched_calls_stop_after_one_that_writes_into_its_arguments_and_raise_as_one() -> None:
    import numpy as np

    from eqconform.verify.runner.server import _Server

    server = _Server("numpy", -1, -1)
    counter = _Counter()
    handle = server.register(counter)
    calls = [["step", [np.zeros(2)], {}] for _ in range(6)]
    first = server.handle({"op": "calls", "handle": handle.number, "calls": calls})
    assert [r["seen"] for r in first["ok"]] == [1, 2, 3]  # stopped after the write
    assert [bool(m) for m in first["mutated"]] == [False, False, True]
    assert first["mutated"][2][0][0] == [0, 0]  # where: the first argument's array
    rest = server.handle({"op": "calls", "handle": handle.number, "calls": calls[3:]})
    assert rest["error"][:2] == ["raised", "ValueError"] and counter.calls == 5
    assert (
        server.handle({"op": "calls", "handle": handle.number, "calls": [["_private", [], {}]]})[
            "error"
        ][0]
        == "protocol"
    )
    assert (
        server.handle({"op": "calls", "handle": handle.number, "calls": [[[np.zeros(2)], {}]]})[
            "error"
        ][0]
        == "protocol"
    )
    assert server.handle({"op": "calls", "handle": 999, "calls": []})["error"][0] == "protocol"


def test_one_request_calls_several_methods_of_one_object_in_order() -> None:
    from eqconform.verify.remote import RemoteTarget, call_sequence
    from eqconform.verify.sandbox import Confinement

    target = RemoteTarget("numpy", "numpy", "numpy", Confinement(mode="off"))
    try:
        target.begin("dropout", 60)
        session = target.component("dropout").open(0.5, 3)
        x = np.ones((4, 4))
        first, gradient, evaluated = call_sequence(
            session,
            [("forward", (x, True), {}), ("backward", (x,), {}), ("forward", (x, False), {})],
        )
        # The backward pass used the mask of the forward before it, in the same request.
        assert np.array_equal(gradient, first) and set(np.unique(first)) <= {0.0, 2.0}
        assert np.array_equal(evaluated, x)
    finally:
        target.close()


# A hostile runner, end to end -----------------------------------------------------------------


def _fake_runner(answer: bytes) -> Any:
    """A RunnerProcess whose process is no runner: it reads the request, writes ``answer`` and
    waits to be killed."""
    import subprocess
    import sys
    import tempfile

    from eqconform.verify.remote import RunnerProcess
    from eqconform.verify.sandbox import Confinement

    runner = object.__new__(RunnerProcess)
    to_runner_read, runner._to_runner = os.pipe()
    runner._from_runner, from_runner_write = os.pipe()
    script = (
        "import os, sys, time; os.read(int(sys.argv[1]), 1 << 16); "
        "os.write(int(sys.argv[2]), bytes.fromhex(sys.argv[3])); time.sleep(600)"
    )
    try:
        runner.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                script,
                str(to_runner_read),
                str(from_runner_write),
                answer.hex(),
            ],
            pass_fds=(to_runner_read, from_runner_write),
            start_new_session=True,
        )
    finally:
        os.close(to_runner_read)
        os.close(from_runner_write)
    runner.reference, runner.confinement = "fake", Confinement(mode="off")
    runner.limits, runner.cgroup, runner.printed = Limits(), None, 0
    runner._startup = tempfile.TemporaryFile()
    return runner


def _raw(header: bytes, payload: bytes = b"") -> bytes:
    return struct.pack("<QQ", len(header), len(payload)) + header + payload


def _answer(value: object, buffers: Sequence[object] = (), payload: bytes = b"") -> bytes:
    return _raw(json.dumps({"value": value, "buffers": list(buffers)}).encode(), payload)


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (_answer({"$a": [0, ",i", [1]]}, [[0, 8]], bytes(8)), "unknown dtype ',i'"),
        (_answer({"$a": [0, ",(", [1]]}, [[0, 8]], bytes(8)), "unknown dtype ',('"),
        (_answer({"$a": [0, "<f8", [2**63, 0]]}, [[0, 0]]), "larger than NumPy builds"),
        (_answer({"$a": [0, "<f8", [2**40, 2**40, 0]]}, [[0, 0]]), "larger than NumPy builds"),
        (_answer({"$r": [["AdamHyperparameters"], {}]}), "an unknown record"),
        (_raw(b'{"value": ' + b"9" * 4301 + b', "buffers": []}'), "not JSON (Exceeds"),
    ],
    ids=["dtype ,i", "dtype ,(", "2**63 x 0", "2**40 x 2**40 x 0", "record [..]", "4301 digits"],
)
def test_a_runner_sending_a_hostile_frame_is_closed_as_a_protocol_breach(
    answer: bytes, named: str, default_digit_limit: None
) -> None:
    """Not an exception of the target's: the runner is killed, the failure says it broke the
    protocol, and the component is not called again in this run."""
    from eqconform.verify.remote import RemoteTarget, RunnerFailure
    from eqconform.verify.sandbox import Confinement

    target = RemoteTarget("fake", "fake", "fake", Confinement(mode="off"))
    runner = _fake_runner(answer)
    target._runner = runner
    try:
        target.begin("wire.hostile", 60)
        with pytest.raises(RunnerFailure) as failure:
            target.component("adam")
        assert failure.value.what == "broke the protocol"
        assert str(failure.value).startswith("the runner broke the protocol: ")
        assert named in str(failure.value)
        assert runner.process.poll() is not None and target._runner is None
        assert target.broken == {"adam": "broke the protocol in check wire.hostile"}
    finally:
        runner.close()
