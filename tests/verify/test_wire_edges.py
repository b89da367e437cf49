"""The wire's limits, each at its edge: a value exactly at a limit crosses, one past it is
refused, on the encoding side and the decoding side alike; and every malformed node is named.

(tests/verify/test_wire.py has the round trips; these pin where each check draws its line.)
"""

from __future__ import annotations

import json
import os
import struct
import time

import numpy as np
import pytest
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
    assert Limits() == Limits(header_bytes=8 * 2**20, payload_bytes=256 * 2**20, arrays=100_000,
                              depth=32, string_chars=4_000, dimensions=8)


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
    record = AdamHyperparameters(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)  # a record, its fields, their values
    assert round_trip(record, Limits(depth=2)) == record
    with pytest.raises(WireError):
        encode(record, limits=Limits(depth=1))


def test_a_record_s_fields_count_a_level_when_decoded() -> None:
    fields = {"$d": {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}}
    assert decode({"$r": ["AdamHyperparameters", fields]}, [], bytearray(), Limits(depth=2)).lr == 0.1
    with pytest.raises(WireError, match="nested deeper than 1 levels"):
        decode({"$r": ["AdamHyperparameters", fields]}, [], bytearray(), Limits(depth=1))


def test_a_handle_does_not_count_a_level() -> None:
    """A registered object is encoded as its handle at its own depth."""
    assert encode(object(), register=lambda item: Handle(7, "thing"), limits=Limits(depth=0)) == ({"$h": [7, "thing"]}, [])


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
    assert tree == {"$l": [{"$raised": ["ValueError", cut("abcdefgh", 5)]}, {"$bad": cut("a list of 3", 5)}]}
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
    value = [np.zeros(0), np.arange(3, dtype=np.int16), np.zeros((2, 0)), np.array([1.5, 2.5], dtype=np.float32)]
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


@pytest.mark.parametrize(("buffers", "message"), [
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
])
def test_malformed_buffer_tables_are_refused(buffers: object, message: str) -> None:
    with pytest.raises(WireError, match=message):
        decode(1, buffers, bytearray(8), Limits(arrays=2))


def test_a_buffer_table_at_its_limit_and_spans_at_the_payload_end() -> None:
    assert decode(1, [[0, 4], [4, 4]], bytearray(8), Limits(arrays=2)) == 1
    assert decode(1, [[8, 0]], bytearray(8)) == 1


@pytest.mark.parametrize(("node", "message"), [
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
    ({"$g": [0]}, "malformed scalar node"),
    ({"$g": "x"}, "malformed scalar node"),
    ({"$l": "x"}, "a \\$l node without a list"),
    ({"$t": {}}, "a \\$t node without a list"),
    ({"$d": []}, "a \\$d node without an object"),
    ({"$f": "NaN"}, "non-finite float"),
    ({"$raised": ["E"]}, "malformed \\$raised"),
    ({"$raised": "E"}, "malformed \\$raised"),
    ({"$raised": [1, "m"]}, "string field that is not a string"),
    ({"$bad": 3}, "string field that is not a string"),
    ({"$h": [1]}, "malformed handle"),
    ({"$h": ["1", "T"]}, "malformed handle"),
    ({"$h": "x"}, "malformed handle"),
    ({"$r": ["AdamHyperparameters"]}, "unknown record"),
    ({"$r": "AdamHyperparameters"}, "unknown record"),
    ({"$r": ["AdamHyperparameters", {"$l": []}]}, "record without fields"),
    ({"$r": ["AdamHyperparameters", {"$d": {"lr": 1.0}}]}, "malformed AdamHyperparameters"),
    ({"$a": [0, "<f8", [1]], "$l": []}, "neither a scalar nor a tagged object"),
    ({}, "neither a scalar nor a tagged object"),
    ({"$" + "z" * 100: 1}, "unknown node kind '\\$" + "z" * 39 + "\\.\\.\\. \\[61 more characters cut\\]'"),
])
def test_every_malformed_node_is_named(node: object, message: str) -> None:
    with pytest.raises(WireError, match=message):
        decode(node, [[0, 8]], bytearray(8))


@pytest.mark.parametrize(("body", "named"), [
    ("AdamHyperparameters", "'AdamHyperparameters'"), ([], "[]"), (["os.system", {}], "'os.system'"), (7, "7"),
])
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
    assert decode({"$r": ["AdamHyperparameters", fields]}, [], bytearray()) == AdamHyperparameters(0.1, 0.9, 0.999, 1e-8)


# --------------------------------------------------------------------------- encoding


def test_plain_values_encode_as_themselves() -> None:
    assert encode([None, True, False, 3, -2.5, "s"]) == ({"$l": [None, True, False, 3, -2.5, "s"]}, [])
    assert encode(float("nan"))[0] == {"$f": "nan"}
    assert encode(float("-inf"))[0] == {"$f": "-inf"}
    assert encode((1,))[0] == {"$t": [1]}


def test_what_does_not_cross_as_data() -> None:
    from collections import namedtuple

    pair = namedtuple("pair", "a b")
    for value in (pair(1, 2), {1: "integer key"}, np.array(["text"]), np.datetime64("2020-01-01"), {1, 2}):
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


# --------------------------------------------------------------------------- frames


def test_header_and_payload_at_their_limits() -> None:
    data = frame({"value": {"$a": [0, "<f8", [1]]}, "buffers": [[0, 8]]}, np.array([1.0]).tobytes())
    header_size = struct.unpack("<QQ", data[:16])[0]
    assert read(data, Limits(header_bytes=header_size, payload_bytes=8))[0] == 1.0
    with pytest.raises(WireError, match=f"header of {header_size} bytes \\(at most {header_size - 1}\\)"):
        read(data, Limits(header_bytes=header_size - 1))
    with pytest.raises(WireError, match="payload of 8 bytes \\(at most 7\\)"):
        read(data, Limits(payload_bytes=7))


@pytest.mark.parametrize(("header", "message"), [
    (b"\xff\xfe", "not JSON"),
    (b"{", "not JSON"),
    (b"[1]", "without exactly 'value' and 'buffers'"),
    (b'{"value": 1}', "without exactly 'value' and 'buffers'"),
    (b'{"value": 1, "buffers": [], "x": 0}', "without exactly 'value' and 'buffers'"),
    (b'{"value": Infinity, "buffers": []}', "bare Infinity"),
])
def test_malformed_headers_are_refused(header: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
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
    assert server.handle({"op": "calls", "handle": handle.number, "calls": [["_private", [], {}]]})["error"][0] == "protocol"
    assert server.handle({"op": "calls", "handle": handle.number, "calls": [[[np.zeros(2)], {}]]})["error"][0] == "protocol"
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
            session, [("forward", (x, True), {}), ("backward", (x,), {}), ("forward", (x, False), {})]
        )
        # The backward pass used the mask of the forward before it, in the same request.
        assert np.array_equal(gradient, first) and set(np.unique(first)) <= {0.0, 2.0}
        assert np.array_equal(evaluated, x)
    finally:
        target.close()
