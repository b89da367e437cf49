"""The judge's side of the wire: a target whose code runs in a runner process.

:class:`RemoteTarget` looks like any other target to the engine (``component(name)`` returns an
adapter, ``defaults()`` the hyperparameter defaults), but its adapters are
:class:`RemoteObject` proxies: each method call is sent to the runner as plain data
(:mod:`eqconform.verify.runner.wire`) and its answer is decoded and checked there before the
judge reads it. Exceptions of the audited code come back as :class:`~.runner.wire.RemoteError`
subclasses named like the originals.

A runner that dies, hangs past the check's deadline, sends a malformed answer or runs out of
memory ends the check at once with :class:`RunnerFailure` (a ``BaseException``, so that neither
a component nor Hypothesis mistakes it for a finding about one input), and the component is
not called again in this run: later checks of it are ``error`` at once, naming the check where
it first went wrong. A fresh runner serves the target's other components.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .runner.wire import (
    Handle,
    Limits,
    RemoteError,
    WireError,
    read_frame,
    remote_error,
    write_frame,
)
from .sandbox import Cgroup, Confinement, limited, runner_command
from .targets.protocol import ComponentMissing, TargetLoadError

__all__ = ["RemoteError", "RemoteObject", "RemoteTarget", "RunnerFailure"]


class RunnerFailure(BaseException):
    """The runner could not answer: it died, hung, broke the protocol or ran out of memory.

    ``what`` says it in a few words ("timed out", "crashed", ...), for the checks that
    follow."""

    def __init__(self, message: str, what: str = "failed"):
        super().__init__(message)
        self.what = what


class RunnerProcess:
    """One runner process and its two pipes."""

    def __init__(self, reference: str, confinement: Confinement):
        self.reference = reference
        self.confinement = confinement
        self.limits = Limits()
        to_runner_read, self._to_runner = os.pipe()
        self._from_runner, from_runner_write = os.pipe()
        config = json.dumps(
            {"reference": reference, "path": [p for p in sys.path if p], "cwd": os.getcwd()}
        )
        self.cgroup: Cgroup | None = Cgroup(
            confinement.memory_limit, confinement.process_limit, owner=confinement.owner
        )
        if not self.cgroup.create():
            self.cgroup = None
        command = limited(
            runner_command(config, to_runner_read, from_runner_write, confinement),
            self.cgroup,
            confinement.memory_limit,
        )
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        # What the runner says on stderr before it starts counting the audited code's output
        # (a failure to start): kept to explain a runner that dies at once.
        self._startup = tempfile.TemporaryFile()
        try:
            self.process = subprocess.Popen(
                command,
                pass_fds=(to_runner_read, from_runner_write),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._startup,
                start_new_session=True,
                env=env,
            )
        finally:
            os.close(to_runner_read)
            os.close(from_runner_write)
        self.printed = 0

    def request(self, message: Mapping[str, Any], deadline: float | None) -> dict[str, Any]:
        try:
            write_frame(self._to_runner, dict(message))
        except (BrokenPipeError, OSError):
            raise RunnerFailure(*self._death()) from None
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select(
                [self._from_runner], [], [], 1.0 if wait is None else min(wait, 1.0)
            )
            if ready:
                break
            if self.process.poll() is not None:
                raise RunnerFailure(*self._death())
            if deadline is not None and time.monotonic() >= deadline:
                self.close()
                raise RunnerFailure("timed out", "timed out")
        try:
            answer = read_frame(self._from_runner, self.limits, deadline=deadline)
        except TimeoutError:
            self.close()
            raise RunnerFailure("timed out", "timed out") from None
        except EOFError:
            raise RunnerFailure(*self._death()) from None
        except (WireError, OSError) as error:
            self.close()
            raise RunnerFailure(
                f"the runner broke the protocol: {error}", "broke the protocol"
            ) from None
        if not isinstance(answer, dict) or not isinstance(answer.get("printed", 0), int):
            self.close()
            raise RunnerFailure(
                "the runner broke the protocol: an answer that is not a message",
                "broke the protocol",
            )
        self.printed += max(0, answer.get("printed", 0))
        return answer

    def _death(self) -> tuple[str, str]:
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        out_of_memory = self.cgroup is not None and self.cgroup.ran_out_of_memory()
        code = self.process.returncode
        said = self._startup_lines()
        self.close()
        if out_of_memory:
            return (
                f"out of memory: the audited code used more than the limit of "
                f"{self.confinement.memory_limit / 2**30:.1f} GB, so it was stopped",
                "ran out of memory",
            )
        if code is None:
            how = "no exit status"
        elif code < 0:
            try:
                how = f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        elif code > 128 and self.confinement.uses_bubblewrap:  # bwrap reports a signal as 128 + n
            try:
                how = f"killed by signal {signal.Signals(code - 128).name}"
            except ValueError:
                how = f"exit code {code}"
        else:
            how = f"exit code {code}"
        return f"the runner process died ({how}) while running the target's code{said}", "crashed"

    def _startup_lines(self) -> str:
        try:
            self._startup.seek(0)
            text = self._startup.read(4000).decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return f"; before the audited code ran, it said: {text.splitlines()[-1]}" if text else ""

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                self.process.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.cgroup is not None:
            self.cgroup.remove()
        self._startup.close()
        for fd in (self._to_runner, self._from_runner):
            try:
                os.close(fd)
            except OSError:
                pass
        self._to_runner = self._from_runner = -1


class RemoteTarget:
    """A target served by a runner process (started on first use, restarted after a failure)."""

    def __init__(self, reference: str, name: str, description: str, confinement: Confinement):
        self.reference = reference
        self.name = name
        self.description = description
        self.confinement = confinement
        self._runner: RunnerProcess | None = None
        #: adapter -> why it is not called again ("timed out in check layernorm.affine").
        self.broken: dict[str, str] = {}
        #: The adapter whose calls are under way (the one a failure is charged to).
        self._adapter = ""
        #: When the check under way must have finished (``time.monotonic()``), or None.
        self.deadline: float | None = None
        self.timeout: float | None = None
        #: The check under way, named in what :attr:`broken` records.
        self.current_check = ""

    def begin(self, check: str, timeout: float | None) -> None:
        """Start the check ``check``: its calls must finish within ``timeout`` seconds from now
        (None: no limit)."""
        self.current_check, self.timeout, self._adapter = check, timeout, ""
        self.deadline = None if timeout is None else time.monotonic() + timeout

    def start(self) -> None:
        """Start the runner now rather than at the first request, so that it imports the
        target while the judge prepares its first check."""
        if self._runner is None:
            self._runner = RunnerProcess(self.reference, self.confinement)

    def _request(self, message: Mapping[str, Any]) -> Any:
        self.start()
        assert self._runner is not None
        try:
            answer = self._runner.request(message, self.deadline)
        except RunnerFailure as failure:
            self._runner = None
            reason = str(failure)
            if failure.what == "timed out":
                # A slow library and a hung one look the same from here: say both.
                reason = (
                    f"timed out: the check did not finish within {self.timeout:g} s, so its "
                    "runner was stopped (the target hung, or is too slow for this limit: "
                    "raise --timeout or lower --max-examples)"
                )
            if self._adapter:
                self.broken.setdefault(
                    self._adapter, f"{failure.what} in check {self.current_check}"
                )
            raise RunnerFailure(reason, failure.what) from None
        error = answer.get("error")
        if error is not None:
            if not (
                isinstance(error, list)
                and len(error) == 3
                and all(isinstance(e, str) for e in error)
            ):
                self.close()
                raise RunnerFailure(
                    "the runner broke the protocol: a malformed error", "broke the protocol"
                )
            kind, type_name, text = error
            if kind == "missing":
                raise ComponentMissing(text)
            if kind == "load":
                raise TargetLoadError(text)
            if kind == "protocol":
                self.close()
                raise RunnerFailure(f"the runner broke the protocol: {text}", "broke the protocol")
            raise remote_error(type_name, text)
        return answer

    def take_printed(self) -> int:
        """Bytes the audited code printed since the last call (counted in the runner)."""
        if self._runner is None:
            return 0
        printed, self._runner.printed = self._runner.printed, 0
        return printed

    def component(self, name: str) -> RemoteObject:
        if name in self.broken:
            raise RunnerFailure(
                f"not run: the target's {name} {self.broken[name]}, so it is not called again "
                "in this run",
                "skipped",
            )
        self._adapter = name
        answer = self._request({"op": "component", "name": name})
        handle = answer.get("ok")
        if not isinstance(handle, Handle):
            raise RunnerFailure(
                "the runner broke the protocol: a component that is not a handle",
                "broke the protocol",
            )
        return RemoteObject(self, handle)

    def loaded_description(self) -> str | None:
        """The description the target's own code gives, read by its runner (None if none)."""
        value = self._request({"op": "describe"}).get("ok")
        return value if isinstance(value, str) else None

    def defaults(self) -> dict[str, Any]:
        """The target's hyperparameter defaults, as the report can show them: numbers, strings,
        booleans and None, in dicts and lists; anything else the runner sent (an object it kept,
        an array) is shown as a short description, never called or evaluated."""
        value = self._request({"op": "defaults"}).get("ok")
        if not isinstance(value, dict):
            raise TargetLoadError("defaults() did not return a dict")
        return _shown(value)

    def call(
        self, handle: Handle, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        answer = self._request(
            {
                "op": "call",
                "handle": handle.number,
                "method": method,
                "args": list(args),
                "kwargs": kwargs,
            }
        )
        _write_back(answer.get("mutated", []), [list(args), kwargs])
        return self._proxies(answer.get("ok"))

    def call_sequence(
        self, handle: Handle, calls: Sequence[tuple[str, tuple[Any, ...], dict[str, Any]]]
    ) -> list[Any]:
        """Each ``(method, args, kwargs)`` called in order, asked in one request. What each call
        wrote into its arguments is mirrored into that call's own arguments here, as by
        :meth:`call`, so the caller, judging the answers in order, sees it at that call. The
        runner ends an answer after such a call; the rest are asked in another request. A
        call that raised raises here."""
        answers: list[Any] = []
        while len(answers) < len(calls):
            pending = calls[len(answers) :]
            answer = self._request(
                {
                    "op": "calls",
                    "handle": handle.number,
                    "calls": [[method, list(args), kwargs] for method, args, kwargs in pending],
                }
            )
            results, mutated = answer.get("ok"), answer.get("mutated")
            if not (
                isinstance(results, list)
                and isinstance(mutated, list)
                and len(results) == len(mutated)
                and 0 < len(results) <= len(pending)
            ):
                self.close()
                raise RunnerFailure(
                    "the runner broke the protocol: answers that do not match the calls",
                    "broke the protocol",
                )
            for (_, args, kwargs), result, changed in zip(pending, results, mutated, strict=False):
                _write_back(changed, [list(args), kwargs])
                answers.append(self._proxies(result))
        return answers

    def _proxies(self, value: Any) -> Any:
        """The answer with every handle in it turned into a proxy."""
        if isinstance(value, Handle):
            return RemoteObject(self, value)
        if isinstance(value, list):
            return [self._proxies(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._proxies(v) for v in value)
        if isinstance(value, dict):
            return {k: self._proxies(v) for k, v in value.items()}
        return value

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None


def _shown(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and value.ndim == 0 and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, dict) and depth < 4:
        return {str(k): _shown(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and depth < 4:
        return [_shown(v, depth + 1) for v in value][:50]
    if isinstance(value, Handle):
        return f"<{value.type_name}>"
    if isinstance(value, np.ndarray):
        return f"<array of shape {value.shape} and dtype {value.dtype}>"
    return f"<{type(value).__name__}>"


def _write_back(mutated: Any, arguments: Any) -> None:
    """Mirror into the judge's arguments what the audited code wrote into its copies, so the
    components see an implementation that edits its inputs exactly as they would in-process."""
    if not isinstance(mutated, list):
        return
    for entry in mutated:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], list)):
            continue
        path, value = entry
        target: Any = arguments
        try:
            for key in path:
                target = target[key]
        except (KeyError, IndexError, TypeError):
            continue
        if (
            isinstance(target, np.ndarray)
            and isinstance(value, np.ndarray)
            and target.flags.writeable
        ):
            if value.shape == target.shape:
                np.copyto(target, value, casting="unsafe")
            else:  # resized in place: mark it changed all the same
                target[...] = (
                    np.nan
                    if target.dtype.kind in "fc"
                    else ~target
                    if target.dtype.kind == "b"
                    else target + 1
                )


def call_sequence(
    owner: Any, calls: Sequence[tuple[str, tuple[Any, ...], dict[str, Any]]]
) -> list[Any]:
    """``owner.method(*args, **kwargs)`` for each ``(method, args, kwargs)`` in order: an object
    in a runner is asked all of them in one request (:meth:`RemoteTarget.call_sequence`), any
    other object directly. (The component adapters copy every answer they return, so an
    answer given before a later call is not changed by it: :mod:`~.targets.user`.)"""
    if isinstance(owner, RemoteObject):
        return owner._target.call_sequence(owner._handle, calls)
    return [getattr(owner, method)(*args, **kwargs) for method, args, kwargs in calls]


def call_each(
    owner: Any, method: str, calls: Sequence[tuple[tuple[Any, ...], dict[str, Any]]]
) -> list[Any]:
    """``owner.method(*args, **kwargs)`` for each ``(args, kwargs)`` in order
    (:func:`call_sequence`)."""
    return call_sequence(owner, [(method, args, kwargs) for args, kwargs in calls])


def asked_in_batches(owner: Any) -> bool:
    """Whether :func:`call_each` saves anything on ``owner``: an object in a runner, where each
    request is a round trip. (An object in this process is better asked one call at a time,
    each answer judged before the next call is made.)"""
    return isinstance(owner, RemoteObject)


class RemoteObject:
    """An object that stays in the runner; its public methods are called there."""

    def __init__(self, target: RemoteTarget, handle: Handle):
        self._target = target
        self._handle = handle

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def method(*args: Any, **kwargs: Any) -> Any:
            return self._target.call(self._handle, name, args, kwargs)

        method.__name__ = name
        return method

    def __repr__(self) -> str:
        return f"<{self._handle.type_name} in the runner of {self._target.name}>"
