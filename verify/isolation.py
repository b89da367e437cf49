"""Run checks per target in judge workers, each driving its target's runner.

Every target gets a *judge worker*: a process of eqconform's own (forked from a ``forkserver``
with the checker preloaded) that searches, computes the spec's numbers and judges. It never
imports the target's code: it drives a :class:`~.remote.RemoteTarget`, whose runner process
(sandboxed, see :mod:`.sandbox`) imports and calls the audited code and answers in plain data.
So whatever the audited code does, it can change neither the judge's numbers nor its verdict,
nor reach another target's worker: at worst it ends its own checks with ``error``.

The judge worker ends a check whose runner dies, hangs past the time limit or runs out of
memory, and says why; a component that did so is not called again in the run. The parent
keeps a looser time limit on each judge worker as a backstop, reads the results (plain
dataclasses from a trusted process) and handles Ctrl-C. Targets run concurrently.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from eqconform.specs.model import Spec
from eqconform.verify.results import Outcome, Result

from . import cache
from .forkserver import worker_context
from .sandbox import (
    DEFAULT_MEMORY_LIMIT,
    Confinement,
    confinements,
    remove_cgroups,
    set_parent_death_signal,
)
from .search import SearchSettings

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_TIMEOUT",
    "IsolatedTarget",
    "RunInterrupted",
    "run_isolated",
    "worker_context",
]


class RunInterrupted(Exception):
    """The run was interrupted (Ctrl-C or SIGTERM); ``results`` holds every check that had
    finished."""

    def __init__(self, results: list[Result]):
        super().__init__(f"interrupted after {len(results)} results")
        self.results = results


#: Seconds one (spec, target) check may take before its runner is stopped.
DEFAULT_TIMEOUT = 300.0
#: How often the parent looks at a running check (seconds).
_POLL = 0.2
#: Extra time the parent gives a judge worker beyond the check's own limit before it stops it
#: (the judge's own work after the last call of the target: diagnosis, 50-digit measurements).
_BACKSTOP = 120.0


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


def _serve(
    connection: Connection, reference: str, name: str, timeout: float, confinement: Confinement
) -> None:
    """The judge worker's loop: answer (spec id, settings) with results, driving the runner."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_parent_death_signal()  # the forkserver is our parent; it goes when eqconform goes
    from eqconform.specs import get_spec

    from . import engine
    from .remote import RemoteTarget

    target = RemoteTarget(reference, name, name, confinement)
    try:
        try:
            target.start()
        except Exception:  # noqa: S110 -- tried again, and reported, at the first request
            pass
        while True:
            try:
                spec_id, options = connection.recv()
            except EOFError:
                return
            if spec_id is None:
                target.begin("", timeout)
                connection.send((engine.target_defaults(target), engine.target_description(target)))
                continue
            spec = get_spec(spec_id)
            target.begin(spec.id, timeout)
            result = engine.check(spec, target, options)
            connection.send(_with_output_note(result, target.take_printed()))
    finally:
        target.close()


@dataclass
class IsolatedTarget:
    """The parent's handle on one target's judge worker."""

    reference: str
    name: str
    timeout: float = DEFAULT_TIMEOUT
    confinement: Confinement = dataclasses.field(default_factory=Confinement)
    _process: Any = None
    _connection: Connection | None = None
    #: Held while the process and pipe are taken to be ended: on Ctrl-C the caller's thread
    #: closes every worker while a lane's thread may be closing its own, and two closes of
    #: one pipe close its descriptor twice (EBADF, or another file's, reused meanwhile).
    _ending: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def _start(self) -> None:
        context = worker_context()
        parent, child = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(child, self.reference, self.name, self.timeout, self.confinement),
            daemon=True,
        )
        try:
            process.start()
        finally:
            child.close()
        self._process, self._connection = process, parent

    def _stop(self) -> None:
        with self._ending:  # taken by one thread only: each is ended once
            process, connection = self._process, self._connection
            self._process = self._connection = None
        if process is not None and process.is_alive():
            process.kill()
        if process is not None:
            process.join(timeout=10)
        if connection is not None:
            connection.close()

    def close(self, wait: float = 10.0) -> None:
        """End the judge worker: it sees its pipe close and closes its runner (emptying the
        runner's cgroup) before it exits; one that has not within ``wait`` seconds is killed
        (its runner dies with it; :func:`~.sandbox.remove_cgroups` removes the cgroup). Safe
        to call from two threads at once."""
        with self._ending:
            connection, self._connection = self._connection, None
            process = self._process
        if connection is not None:
            connection.close()
        if wait > 0 and process is not None and process.is_alive():
            process.join(timeout=wait)
        self._stop()

    def check(self, spec: Spec, options: SearchSettings) -> Result:
        if self._process is None or not self._process.is_alive():
            self._start()
        assert self._connection is not None
        started = time.perf_counter()
        try:
            self._connection.send((spec.id, options))
            while not self._connection.poll(_POLL):
                if time.perf_counter() - started > self.timeout + _BACKSTOP:
                    message = (
                        f"timed out: the check did not finish within {self.timeout:g} s "
                        f"(and {_BACKSTOP:g} s more for the judge), so it was stopped"
                    )
                    break
                if not self._process.is_alive():
                    died = self._exit_description()
                    message = f"the judge worker died ({died}); this is a fault of eqconform"
                    break
            else:
                return dataclasses.replace(self._connection.recv(), target=self.name)
        except (EOFError, BrokenPipeError, ConnectionResetError):
            message = (
                f"the judge worker died ({self._exit_description()}); this is a fault of eqconform"
            )
        self._stop()
        return Result(
            spec=spec.id,
            target=self.name,
            outcome=Outcome.ERROR,
            message=message,
            seconds=round(time.perf_counter() - started, 3),
        )

    def about(self) -> tuple[dict[str, Any], str | None]:
        """The target's hyperparameter defaults and the description its own code gives, read by
        its runner (``({}, None)`` if that fails)."""
        if self._process is None or not self._process.is_alive():
            self._start()
        assert self._connection is not None
        try:
            self._connection.send((None, None))
            if self._connection.poll(min(self.timeout, 60.0) + _BACKSTOP):
                defaults, description = self._connection.recv()
                return defaults, description
        except (EOFError, BrokenPipeError, ConnectionResetError):
            pass
        self._stop()
        return {}, None

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
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    descriptions: dict[str, str] | None = None,
    sandbox: str = "auto",
    hidden: Sequence[str] = (),
) -> list[Result]:
    """Check every spec on every target ``(reference, name)``, each target in its own judge
    workers and runners (one per lane: :func:`lanes_per_target`; each lane takes the next component
    of its target, :func:`by_component`);
    targets and lanes run concurrently. Results come back in catalogue order, then target
    order. When ``defaults`` is given, each target's hyperparameter defaults are stored
    in it by name; when ``descriptions`` is, the description its own code gives, if any.
    ``sandbox`` and ``hidden`` say how the runners are confined (:mod:`.sandbox`)."""
    worker_context()  # the forkserver starts here, in the caller's thread, not in the pool's
    remove_cgroups(None)  # what earlier runs that were killed left
    if options.checked is None:
        options = dataclasses.replace(options, checked=frozenset(s.id for s in specs))
    confined = confinements(
        [reference for reference, _ in targets],
        mode=sandbox,
        memory_limit=memory_limit,
        hidden=hidden,
    )
    groups = [by_component(specs, expected_seconds(reference)) for reference, _ in targets]
    lanes = lanes_per_target(len(targets), specs)
    # One judge worker (and runner) per lane of each target: a target's components are
    # checked concurrently on the cores left by the other targets. Each lane takes the next
    # component of its target when it is free, the longest first, so that the lanes end
    # together (a static split ends when its slowest lane does).
    waiting = [collections.deque(target_groups) for target_groups in groups]
    taking = threading.Lock()
    workers = [
        (target, lane, IsolatedTarget(reference, name, timeout, confinement))
        for target, ((reference, name), confinement) in enumerate(
            zip(targets, confined, strict=True)
        )
        for lane in range(min(lanes, max(1, len(groups[target]))))
    ]
    stop = threading.Event()
    finished: dict[tuple[str, int], Result] = {}

    def next_group(target: int) -> list[Spec]:
        with taking:
            return waiting[target].popleft() if waiting[target] else []

    def run_lane(index: int) -> None:
        target, lane, worker = workers[index]
        try:
            while group := next_group(target):
                for spec in group:
                    if stop.is_set():
                        return
                    result = worker.check(spec, options)
                    if stop.is_set():  # cut short by the interruption: not a verdict
                        return
                    finished[(spec.id, target)] = result
                    if progress is not None:
                        progress(result)
            if lane == 0 and (defaults is not None or descriptions is not None):
                told, described = worker.about()
                if defaults is not None:
                    defaults[worker.name] = told
                if descriptions is not None and described:
                    descriptions[worker.name] = described
        finally:
            worker.close()

    def in_order() -> list[Result]:
        return [
            finished[(spec.id, target)]
            for spec in specs
            for target in range(len(targets))
            if (spec.id, target) in finished
        ]

    pool = ThreadPoolExecutor(max_workers=max(1, len(workers)))
    futures = [pool.submit(run_lane, index) for index in range(len(workers))]
    try:
        for future in futures:
            future.result()
    except KeyboardInterrupt:
        stop.set()
        for _, _, worker in workers:
            worker.close(wait=0)
        pool.shutdown(wait=True, cancel_futures=True)
        remove_cgroups(os.getpid())
        raise RunInterrupted(in_order()) from None
    pool.shutdown(wait=True)
    remove_cgroups(os.getpid())  # what a judge worker killed mid-check could not remove itself
    component = {spec.id: spec.component for spec in specs}
    for target, (reference, _) in enumerate(targets):
        spent: dict[str, float] = {}
        for (spec_id, done_by), result in finished.items():
            if done_by == target:
                spent[component[spec_id]] = spent.get(component[spec_id], 0.0) + result.seconds
        remember_seconds(reference, spent)
    return in_order()


def lanes_per_target(targets: int, specs: Sequence[Spec]) -> int:
    """How many judge workers each target gets: the cores the targets leave free, at most one
    per component checked (a component's specs share one search, so they stay together)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    components = len({spec.component for spec in specs})
    return max(1, min(components, (cores or 1) // max(1, targets)))


#: The seconds each component's checks took in the last run on a target of each kind
#: (``numpy``, ``mytorch``, ``torch``, ``file`` ...): only the order components are started in
#: depends on them, never a verdict.
SCHEDULE = cache.DiskCache("schedule")


def _schedule_key(reference: str) -> str:
    return cache.key(["seconds per component", reference.split(":", 1)[0]])


def expected_seconds(reference: str) -> dict[str, float]:
    """How long each component took on the last target of ``reference``'s kind (empty when
    none was run, or the record is unreadable)."""
    stored = SCHEDULE.get(_schedule_key(reference)) or {}
    return {
        name: float(seconds)
        for name, seconds in stored.items()
        if isinstance(name, str) and isinstance(seconds, (int, float)) and seconds >= 0
    }


def remember_seconds(reference: str, spent: dict[str, float]) -> None:
    """Record ``spent`` (seconds per component) for the next run on a target of this kind,
    keeping what earlier runs recorded of components this one did not check."""
    if spent:
        SCHEDULE.put(_schedule_key(reference), {**expected_seconds(reference), **spent})


def by_component(
    specs: Sequence[Spec], expected: dict[str, float] | None = None
) -> list[list[Spec]]:
    """``specs`` grouped by component (a component's specs share one search, so one judge
    worker checks them together, in catalogue order), longest first: by the seconds
    ``expected`` gives, else by the number of specs, the order of the catalogue breaking ties.
    A component without a recorded time comes before every timed one (it may be long)."""
    expected = expected or {}
    components: dict[str, list[Spec]] = {}
    for spec in specs:
        components.setdefault(spec.component, []).append(spec)
    order = list(components)

    def length(name: str) -> tuple[int, float, int]:
        if name in expected:
            return (1, -expected[name], order.index(name))
        return (0, -len(components[name]), order.index(name))

    return [components[name] for name in sorted(components, key=length)]
