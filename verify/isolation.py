"""Run audited code in worker processes, one per target, with a time limit per check.

A target's code runs only in its worker: if it raises, the check says so; if it hangs past the
time limit, the worker is killed; if it kills its own process (a segfault, ``os._exit``), the
parent sees the pipe close. Each of these becomes an ``error`` result naming what happened, a
new worker is started for the next check, and every other result is kept.

Workers are forked from a ``forkserver`` that has eqconform preloaded, so they start quickly
and inherit no threads from the parent. Their standard output and error are drained by a thread
that counts and discards them (audited code that floods the terminal cannot drown the run; a
result says how much it printed), and they ignore Ctrl-C, which the parent handles. The parent
watches each worker's resident memory and stops it past ``memory_limit`` bytes.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from eqconform.reports.model import Outcome, Result
from eqconform.specs.model import Spec

from .search import SearchSettings

__all__ = ["DEFAULT_MEMORY_LIMIT", "DEFAULT_TIMEOUT", "IsolatedTarget", "RunInterrupted", "run_isolated"]


class RunInterrupted(Exception):
    """The run was interrupted (Ctrl-C); ``results`` holds every check that had finished."""

    def __init__(self, results: list[Result]):
        super().__init__(f"interrupted after {len(results)} results")
        self.results = results

#: Seconds one (spec, target) check may take before its worker is killed.
DEFAULT_TIMEOUT = 300.0
#: Resident memory a worker may use before it is killed (bytes).
DEFAULT_MEMORY_LIMIT = 8 * 2**30
#: How often the parent looks at a running check (seconds).
_POLL = 0.2

_context: Any = None


def _worker_context() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(["eqconform.verify.engine"])
    return _context


class _OutputCounter:
    """Points file descriptors 1 and 2 at a pipe and counts (and drops) what arrives."""

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
            except (OSError, ValueError):
                pass
        time.sleep(0.01)  # let the drain thread catch up with what was just flushed
        with self._lock:
            count, self._count = self._count, 0
        return count


def _with_output_note(result: Result, printed: int) -> Result:
    if printed <= 0:
        return result
    note = f"The target printed {_size(printed)} to its standard output and error (discarded)."
    message = f"{result.message} {note}".strip() if result.message else note
    return dataclasses.replace(result, message=message)


def _size(count: int) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def _serve(connection: Connection, reference: str) -> None:
    """The worker's loop: load the target, then answer (spec id, settings) with results."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    output = _OutputCounter()
    from eqconform.specs import get_spec

    from . import engine
    from .targets import resolve_target

    target = resolve_target(reference)
    while True:
        try:
            spec_id, options = connection.recv()
        except EOFError:
            return
        if spec_id is None:
            connection.send(engine.target_defaults(target))
        else:
            result = engine.check(get_spec(spec_id), target, options)
            connection.send(_with_output_note(result, output.take()))


@dataclass
class IsolatedTarget:
    """The parent's handle on one target's worker."""

    reference: str
    name: str
    timeout: float = DEFAULT_TIMEOUT
    memory_limit: int = DEFAULT_MEMORY_LIMIT
    _process: Any = None
    _connection: Connection | None = None

    def _start(self) -> None:
        context = _worker_context()
        parent, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, self.reference), daemon=True)
        self._process.start()
        child.close()
        self._connection = parent

    def _stop(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        if self._process is not None:
            self._process.join(timeout=10)
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None

    def close(self) -> None:
        self._stop()

    def check(self, spec: Spec, options: SearchSettings) -> Result:
        if self._process is None or not self._process.is_alive():
            self._start()
        assert self._connection is not None
        started = time.perf_counter()
        try:
            self._connection.send((spec.id, options))
            while not self._connection.poll(_POLL):
                used = _resident_bytes(self._process.pid)
                if used > self.memory_limit:
                    message = (f"out of memory: the worker used {_size(used)}, over the limit of "
                               f"{_size(self.memory_limit)}, so it was stopped")
                    break
                if time.perf_counter() - started > self.timeout:
                    message = f"timed out: the check did not finish within {self.timeout:g} s, so its worker was stopped"
                    break
            else:
                return dataclasses.replace(self._connection.recv(), target=self.name)
        except (EOFError, BrokenPipeError, ConnectionResetError):
            message = f"the worker process died ({self._exit_description()}) while running the target's code"
        self._stop()
        return Result(spec=spec.id, target=self.name, outcome=Outcome.ERROR, message=message,
                      seconds=round(time.perf_counter() - started, 3))

    def defaults(self) -> dict[str, Any]:
        """The target's hyperparameter defaults, read in its worker ({} if that fails)."""
        if self._process is None or not self._process.is_alive():
            self._start()
        assert self._connection is not None
        try:
            self._connection.send((None, None))
            if self._connection.poll(min(self.timeout, 60.0)):
                return self._connection.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            pass
        self._stop()
        return {}

    def _exit_description(self) -> str:
        assert self._process is not None
        self._process.join(timeout=5)
        code = self._process.exitcode
        if code is None:
            return "no exit status"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"


def _resident_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc (0 where that cannot be read)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def run_isolated(
    specs: Sequence[Spec],
    targets: Sequence[tuple[str, str]],
    options: SearchSettings,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[Result], None] | None = None,
    defaults: dict[str, Any] | None = None,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
) -> list[Result]:
    """Check every spec on every target ``(reference, name)``, each target in its own worker;
    targets run concurrently. Results come back in catalogue order, then target order. When
    ``defaults`` is given, each target's hyperparameter defaults are stored in it by name."""
    workers = [IsolatedTarget(reference, name, timeout, memory_limit) for reference, name in targets]
    stop = threading.Event()
    finished: list[list[Result]] = [[] for _ in workers]

    def run_target(index: int) -> None:
        worker = workers[index]
        try:
            for spec in specs:
                if stop.is_set():
                    return
                result = worker.check(spec, options)
                if stop.is_set():  # cut short by the interruption: not a verdict
                    return
                finished[index].append(result)
                if progress is not None:
                    progress(result)
            if defaults is not None:
                defaults[worker.name] = worker.defaults()
        finally:
            worker.close()

    pool = ThreadPoolExecutor(max_workers=max(1, len(workers)))
    futures = [pool.submit(run_target, index) for index in range(len(workers))]
    try:
        for future in futures:
            future.result()
    except KeyboardInterrupt:
        stop.set()
        for worker in workers:
            worker.close()
        pool.shutdown(wait=True, cancel_futures=True)
        ordered = [result for spec in specs for per_target in finished for result in per_target if result.spec == spec.id]
        raise RunInterrupted(ordered) from None
    pool.shutdown(wait=True)
    per_target = finished
    return [per_target[t][s] for s in range(len(specs)) for t in range(len(workers))]
