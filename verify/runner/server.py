"""The runner's loop: import the audited code, call it as the judge asks, answer in plain data.

The runner holds the target and the objects its adapters return (sessions, layers) in a table
of handles; the judge holds only their numbers. A request names an operation:

``{"op": "component", "name": "adam"}``
    the component's adapter, as a handle (``ComponentMissing`` and ``TargetLoadError`` are
    answered as errors of kind ``missing`` and ``load``);
``{"op": "call", "handle": 3, "method": "step", "args": [...], "kwargs": {...}}``
    a method of a held object; the answer is its return value, with ``mutated``: the arrays
    among the arguments that the call wrote into, as they were left, so that the judge can
    see an implementation that edits its inputs;
``{"op": "calls", "handle": 3, "calls": [[method, args, kwargs], ...]}``
    methods of one held object called in order (an optimizer run's steps, a dropout layer's
    forward and backward passes: calls whose inputs are known in advance): the answer lists
    the return values and ``mutated`` per call, and ends after a call that wrote into its
    arguments (the judge asks the rest again); a call that raises is answered as that error;
``{"op": "defaults"}``
    the target's hyperparameter defaults;
``{"op": "describe"}``
    the description the target's own code gives (an adapter object's ``description``), or
    None;
``{"op": "release", "handle": 3}``
    forget an object.

Every answer carries ``printed``: how many bytes the audited code wrote to its standard output
and error since the last answer (they are counted and dropped here). Anything audited code
raises, even ``SystemExit`` or ``KeyboardInterrupt`` raised by itself, is answered as an error
of kind ``raised`` with the type name and the message, cut at a cap.

Nothing here knows an equation, a tolerance or an expected value, and nothing the judge
computes is sent: the runner gets the inputs of its calls, never an expected answer.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..targets.protocol import ComponentMissing, TargetLoadError
from .wire import Handle, Limits, WireError, cut, read_frame, write_frame

__all__ = ["serve"]

#: Characters of an exception message that are sent; the rest is cut.
MESSAGE_CHARS = 2_000

_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: Where eqconform's own code runs between the judge and the audited code: this package, the
#: adapters of verify/targets, and the bundled implementation's adapters (which drive any class
#: handed to them). An error's location is the last frame outside them.
_OWN_CODE = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.join(_PACKAGE, "verify", "targets") + os.sep,
    os.path.join(_PACKAGE, "impl", "adapter.py"),
)


class _OutputCounter:
    """Points file descriptors 1 and 2 at a pipe and counts (and drops) what arrives, so that
    audited code that floods its output can neither fill a pipe nor reach the terminal."""

    def __init__(self) -> None:
        read, write = os.pipe()
        os.dup2(write, 1)
        os.dup2(write, 2)
        os.close(write)
        self._read = read
        self._count = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while chunk := os.read(self._read, 1 << 16):
            with self._lock:
                self._count += len(chunk)

    def take(self) -> int:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # a replaced stream may raise anything
                pass
        with self._lock:
            count, self._count = self._count, 0
        return count


def _error(kind: str, error: BaseException) -> list[str]:
    try:
        message = str(error)
    except BaseException:  # an exception whose __str__ raises still gets reported
        message = "(its message could not be read)"
    type_name = getattr(type(error), "__name__", "Exception")
    if kind == "raised":
        frames = [
            f
            for f in traceback.extract_tb(error.__traceback__)
            if not f.filename.startswith(_OWN_CODE)
        ]
        if frames:
            message = (
                f"{message} ({os.path.basename(frames[-1].filename)}, line {frames[-1].lineno})"
            )
    return [kind, cut(str(type_name), 100), cut(message, MESSAGE_CHARS)]


def _arrays(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], np.ndarray]]:
    """Every array among the arguments of a call, with where it sits."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _arrays(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _arrays(item, (*path, key))


def _invoke(method: Any, args: Any, kwargs: Any) -> tuple[Any, list[list[Any]]]:
    """Call ``method``; its result, and the arrays among its arguments it wrote into."""
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise TypeError("a call's arguments must be a list and a dict")
    given = list(_arrays([args, kwargs]))
    before = [array.copy() for _, array in given]
    result = method(*args, **kwargs)
    mutated = [
        [list(path), array]
        for (path, array), old in zip(given, before, strict=True)
        if array.shape != old.shape or not np.array_equal(array, old, equal_nan=True)
    ]
    return result, mutated


class _Server:
    def __init__(self, reference: str, read_fd: int, write_fd: int):
        self.reference = reference
        self.read_fd, self.write_fd = read_fd, write_fd
        self.objects: dict[int, Any] = {}
        self.numbers = iter(range(1, 2**62))
        self.target: Any = None
        self.load_error: BaseException | None = None
        self.limits = Limits()

    def register(self, value: Any) -> Handle:
        number = next(self.numbers)
        self.objects[number] = value
        return Handle(number, type(value).__name__)

    def answer(self, message: dict[str, Any]) -> None:
        try:
            write_frame(self.write_fd, message, register=self.register, limits=self.limits)
        except WireError as error:
            write_frame(
                self.write_fd,
                {
                    "error": [
                        "raised",
                        "WireError",
                        cut(f"the answer could not be sent: {error}", MESSAGE_CHARS),
                    ],
                    "printed": message.get("printed", 0),
                },
            )

    def resolve(self) -> Any:
        if self.target is None and self.load_error is None:
            from ..targets import resolve_target

            try:
                self.target = resolve_target(self.reference)
            except BaseException as error:  # audited code may raise anything while it loads
                self.load_error = error
        if self.load_error is not None:
            raise TargetLoadError(str(self.load_error)) from None
        return self.target

    def handle(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            return {"error": ["protocol", "WireError", "a request without an operation"]}
        op = request["op"]
        try:
            if op == "component":
                return {"ok": self.register(self.resolve().component(str(request["name"])))}
            if op == "defaults":
                reader = getattr(self.resolve(), "defaults", None)
                return {"ok": dict(reader()) if callable(reader) else {}}
            if op == "describe":
                reader = getattr(self.resolve(), "loaded_description", None)
                described = reader() if callable(reader) else None
                return {"ok": cut(described, MESSAGE_CHARS) if isinstance(described, str) else None}
            if op == "release":
                self.objects.pop(request.get("handle"), None)  # type: ignore[arg-type]
                return {"ok": None}
            if op == "call":
                return self.call(request)
            if op == "calls":
                return self.calls(request)
        except ComponentMissing as missing:
            return {"error": _error("missing", missing)}
        except TargetLoadError as failed:
            return {"error": _error("load", failed)}
        except BaseException as error:  # noqa: B036 -- audited code may raise anything, even SystemExit
            return {"error": _error("raised", error)}
        return {"error": ["protocol", "WireError", f"unknown operation {cut(op, 40)!r}"]}

    def _method(self, handle: Any, name: Any) -> Any:
        """The public method ``name`` of the object held as ``handle``, or None (a protocol
        error)."""
        owner = self.objects.get(handle)
        if owner is None or not isinstance(name, str) or name.startswith("_"):
            return None
        return getattr(owner, name)

    def _no_method(self, handle: Any, name: Any) -> dict[str, Any]:
        return {"error": ["protocol", "WireError", f"no object {handle!r} or method {name!r}"]}

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        handle, name = request.get("handle"), request.get("method")
        method = self._method(handle, name)
        if method is None:
            return self._no_method(handle, name)
        result, mutated = _invoke(method, request.get("args", []), request.get("kwargs", {}))
        return {"ok": result, "mutated": mutated}

    def calls(self, request: dict[str, Any]) -> dict[str, Any]:
        """Several calls on one held object in order; the answer ends after a call that wrote
        into its arguments (the judge asks the rest again). A call that raises makes the whole
        answer that error (the judge stops at it as it would one by one)."""
        handle: Any = request.get("handle")
        calls = request.get("calls")
        if self.objects.get(handle) is None or not isinstance(calls, list):
            return self._no_method(handle, None)
        results, mutations = [], []
        for entry in calls:
            if not (isinstance(entry, list) and len(entry) == 3):
                return {
                    "error": ["protocol", "WireError", "a call that is not [method, args, kwargs]"]
                }
            name, args, kwargs = entry
            method = self._method(handle, name)
            if method is None:
                return self._no_method(handle, name)
            result, mutated = _invoke(method, args, kwargs)
            results.append(result)
            mutations.append(mutated)
            if mutated:
                break
        return {"ok": results, "mutated": mutations}

    def run(self) -> None:
        output = _OutputCounter()
        # The target is imported before the first request, while the judge prepares its
        # check; a failure to load is kept and answered to every request that needs it.
        try:
            self.resolve()
        except TargetLoadError:
            pass
        while True:
            try:
                request = read_frame(self.read_fd, self.limits)
            except EOFError:
                return
            except WireError as error:
                self.answer(
                    {"error": ["protocol", "WireError", str(error)], "printed": output.take()}
                )
                continue
            answer = self.handle(request)
            answer["printed"] = output.take()
            self.answer(answer)


def serve(reference: str, read_fd: int, write_fd: int) -> None:
    """Answer the judge's requests about ``reference`` until the judge closes the wire."""
    _Server(reference, read_fd, write_fd).run()
