"""Run audited code in worker processes, one per target, with a time limit per check.

A target's code runs only in its worker: if it raises, the check says so; if it hangs past the
time limit, the worker is killed; if it kills its own process (a segfault, ``os._exit``), the
parent sees the pipe close. Each of these becomes an ``error`` result naming what happened, a
new worker is started for the next check, and every other result is kept.

Workers are forked from a ``forkserver`` that has eqconform preloaded, so they start quickly
and inherit no threads from the parent. Their standard output and error go to ``/dev/null``
(audited code that floods the terminal cannot drown the run) and they ignore Ctrl-C, which the
parent handles.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from eqconform.reports.model import Outcome, Result
from eqconform.specs.model import Spec

from .search import SearchSettings

__all__ = ["DEFAULT_TIMEOUT", "IsolatedTarget", "run_isolated"]

#: Seconds one (spec, target) check may take before its worker is killed.
DEFAULT_TIMEOUT = 300.0

_context: Any = None


def _worker_context() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(["eqconform.verify.engine"])
    return _context


def _serve(connection: Connection, reference: str) -> None:
    """The worker's loop: load the target, then answer (spec id, settings) with results."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
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
            connection.send(engine.check(get_spec(spec_id), target, options))


@dataclass
class IsolatedTarget:
    """The parent's handle on one target's worker."""

    reference: str
    name: str
    timeout: float = DEFAULT_TIMEOUT
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
            if self._connection.poll(self.timeout):
                return dataclasses.replace(self._connection.recv(), target=self.name)
            message = f"timed out: the check did not finish within {self.timeout:g} s, so its worker was stopped"
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


def run_isolated(
    specs: Sequence[Spec],
    targets: Sequence[tuple[str, str]],
    options: SearchSettings,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[Result], None] | None = None,
    defaults: dict[str, Any] | None = None,
) -> list[Result]:
    """Check every spec on every target ``(reference, name)``, each target in its own worker;
    targets run concurrently. Results come back in catalogue order, then target order. When
    ``defaults`` is given, each target's hyperparameter defaults are stored in it by name."""
    workers = [IsolatedTarget(reference, name, timeout) for reference, name in targets]

    def run_target(worker: IsolatedTarget) -> list[Result]:
        results = []
        try:
            for spec in specs:
                result = worker.check(spec, options)
                results.append(result)
                if progress is not None:
                    progress(result)
            if defaults is not None:
                defaults[worker.name] = worker.defaults()
        finally:
            worker.close()
        return results

    with ThreadPoolExecutor(max_workers=max(1, len(workers))) as pool:
        per_target = list(pool.map(run_target, workers))
    return [per_target[t][s] for s in range(len(specs)) for t in range(len(workers))]
