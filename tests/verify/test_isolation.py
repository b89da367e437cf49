"""Audited code runs in worker processes: a target that hangs or kills its own process gives
``error`` results with the reason, and every other result of the run is complete."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from eqconform.verify.results import Outcome
from eqconform.specs import select_specs
from eqconform.verify import engine
from eqconform.verify.isolation import run_isolated
from eqconform.verify.search import SearchSettings

HANDINS = Path(__file__).parent.parent / "handins"
OPTIONS = SearchSettings(max_examples=10, seed=0)


def _handin_with(tmp_path: Path, name: str, dropout_forward: str) -> Path:
    """A copy of the correct Spring handin whose Dropout.forward begins with ``dropout_forward``."""
    root = tmp_path / name
    shutil.copytree(HANDINS / "correct_spring", root)
    path = root / "mytorch" / "nn" / "dropout.py"
    source = path.read_text()
    marker = "def forward(self, x, train=True):\n"
    assert marker in source
    path.write_text("import os, ctypes, time\n" + source.replace(marker, marker + f"        {dropout_forward}\n"))
    return root


@pytest.fixture
def misbehaving(tmp_path: Path) -> dict[str, Path]:
    return {
        "hangs": _handin_with(tmp_path, "hangs", "time.sleep(3600)"),
        "exits": _handin_with(tmp_path, "exits", "os._exit(3)"),
        "segfaults": _handin_with(tmp_path, "segfaults", "ctypes.string_at(0)"),
    }


def test_hanging_and_dying_targets_give_errors_and_the_rest_is_complete(misbehaving: dict[str, Path]) -> None:
    specs = engine.checkable(select_specs(["dropout.eval", "layernorm.mean", "adam.update"]))
    targets = [("numpy", "numpy")] + [(f"mytorch:{path}", name) for name, path in misbehaving.items()]
    results = run_isolated(specs, targets, OPTIONS, timeout=20)  # room for the others on a loaded machine
    assert len(results) == len(specs) * len(targets)
    by_key = {(r.spec, r.target): r for r in results}

    hang = by_key[("dropout.eval", "hangs")]
    assert hang.outcome is Outcome.ERROR and "timed out" in hang.message and "20 s" in hang.message
    exited = by_key[("dropout.eval", "exits")]
    assert exited.outcome is Outcome.ERROR and "runner process died (exit code 3)" in exited.message
    crashed = by_key[("dropout.eval", "segfaults")]
    assert crashed.outcome is Outcome.ERROR and "SIGSEGV" in crashed.message

    # Everything else, on every target, ran to a verdict in a fresh worker.
    for (spec, target), result in by_key.items():
        if spec != "dropout.eval":
            assert result.outcome is Outcome.PASS, (spec, target, result.message)
    assert by_key[("dropout.eval", "numpy")].outcome is Outcome.PASS


def test_results_come_back_in_catalogue_then_target_order() -> None:
    specs = engine.checkable(select_specs(["adam.first_moment", "dropout.eval"]))
    handin = f"mytorch:{HANDINS / 'correct_fall'}"
    results = run_isolated(specs, [("numpy", "numpy"), (handin, "fall")], OPTIONS, timeout=60)
    assert [(r.spec, r.target) for r in results] == [
        ("adam.first_moment", "numpy"), ("adam.first_moment", "fall"),
        ("dropout.eval", "numpy"), ("dropout.eval", "fall"),
    ]
    assert all(r.outcome is Outcome.PASS for r in results)


def test_ctrl_c_keeps_every_finished_result() -> None:
    import os
    import signal
    import threading

    from eqconform.verify.isolation import RunInterrupted

    adapters = Path(__file__).parent.parent / "faults" / "faulty_adapters.py"
    specs = engine.checkable(select_specs(["dropout.eval", "layernorm.affine"]))
    targets = [("numpy", "numpy"), (f"file:{adapters}:Hangs", "hangs")]
    # Ctrl-C once both numpy checks are done (however long that takes on a loaded machine),
    # while the hanging target is stuck in its first check; a backstop in case they never are.
    done: list[str] = []

    def progress(result) -> None:
        done.append(result.target)
        if done.count("numpy") == 2:
            os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(240.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    # A shell starts background jobs with SIGINT ignored, and the suite may run as one.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer.start()
    try:
        with pytest.raises(RunInterrupted) as interrupted:
            run_isolated(specs, targets, OPTIONS, timeout=600, progress=progress)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    kept = {(r.spec, r.target): r.outcome for r in interrupted.value.results}
    assert kept[("dropout.eval", "numpy")] is Outcome.PASS
    assert kept[("layernorm.affine", "numpy")] is Outcome.PASS
    # The hanging target was interrupted in its LayerNorm check: a check cut short is no
    # verdict, so nothing is kept for it (its dropout check, if taken first, finished).
    hanging = {spec: outcome for (spec, target), outcome in kept.items() if target == "hangs"}
    assert "layernorm.affine" not in hanging and set(hanging) <= {"dropout.eval"}
    assert set(hanging.values()) <= {Outcome.PASS, Outcome.SKIP}


# Lanes: one target's components checked concurrently -------------------------------------------


def test_components_are_started_longest_first_each_whole_in_catalogue_order() -> None:
    from eqconform.specs import CATALOGUE
    from eqconform.verify.isolation import by_component

    specs = engine.checkable(CATALOGUE.values())
    order = [spec.id for spec in specs]
    # Without a record of earlier runs: the most specs first, catalogue order breaking ties.
    groups = by_component(specs)
    assert sorted(s.id for group in groups for s in group) == sorted(order)
    for group in groups:
        assert len({s.component for s in group}) == 1
        assert [s.id for s in group] == sorted((s.id for s in group), key=order.index)
    sizes = [len(group) for group in groups]
    assert sizes == sorted(sizes, reverse=True)
    # With one: the longest first, and a component never timed before every timed one.
    timed = {"adam": 1.0, "adamw": 9.0, "dropout": 0.0}
    names = [group[0].component for group in by_component(specs, timed)]
    assert names[-3:] == ["adamw", "adam", "dropout"]
    assert by_component([]) == []


def test_the_seconds_of_a_run_order_the_next_on_the_same_kind_of_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eqconform.verify import cache, isolation
    from eqconform.verify.isolation import expected_seconds, remember_seconds

    monkeypatch.setattr(isolation, "SCHEDULE", cache.DiskCache("schedule", root=tmp_path))

    remember_seconds("mytorch:/some/handin", {"adam": 2.5, "dropout": 0.5})
    remember_seconds("mytorch:/another/handin", {"dropout": 1.5})
    assert expected_seconds("mytorch:/third") == {"adam": 2.5, "dropout": 1.5}
    assert expected_seconds("python:some.module:Target") == {}


def test_lanes_per_target_share_the_cores_among_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    from eqconform.verify import isolation

    specs = engine.checkable(select_specs(["adam", "layernorm", "dropout"]))
    monkeypatch.setattr(isolation.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert isolation.lanes_per_target(1, specs) == 3  # at most one per component
    assert isolation.lanes_per_target(2, specs) == 2
    assert isolation.lanes_per_target(5, specs) == 1


def test_a_target_in_two_lanes_gives_every_result_in_catalogue_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from eqconform.verify import isolation

    monkeypatch.setattr(isolation, "lanes_per_target", lambda targets, specs: 2)
    # The first lane free takes the next component: whichever finishes first, every result
    # is kept, in catalogue order.
    specs = select_specs(["adam.update", "layernorm.mean", "dropout.eval", "layernorm.affine"])
    handin = str(HANDINS / "bug_layernorm_unbiased_variance")
    defaults: dict = {}
    results = run_isolated(specs, [("numpy", "numpy"), (f"mytorch:{handin}", "handin")], OPTIONS,
                           defaults=defaults)
    assert [(r.spec, r.target) for r in results] == [
        (s.id, t) for s in engine.checkable(specs) for t in ("numpy", "handin")]
    assert {r.outcome for r in results if r.target == "numpy"} == {Outcome.PASS}
    assert set(defaults) == {"numpy", "handin"}
    # What each component took is kept for ordering the next run's components.
    assert {"adam", "layernorm", "dropout"} <= set(isolation.expected_seconds(f"mytorch:{handin}"))


def test_two_threads_closing_one_worker_close_its_pipe_once() -> None:
    """On Ctrl-C the caller's thread closes every worker while a lane's thread may be closing
    its own (CI saw EBADF from the second close of one pipe). A pipe whose close takes a
    moment, and ten threads closing the worker at once: the pipe is closed exactly once."""
    import threading
    import time

    from eqconform.verify.isolation import IsolatedTarget

    class SlowPipe:
        closes = 0

        def close(self) -> None:
            time.sleep(0.05)  # the window in which a second close would start
            SlowPipe.closes += 1

    worker = IsolatedTarget("numpy", "numpy")
    worker._connection = SlowPipe()  # type: ignore[assignment]
    start = threading.Barrier(10)

    def close() -> None:
        start.wait()
        worker.close(wait=0)

    threads = [threading.Thread(target=close) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert SlowPipe.closes == 1
    assert worker._connection is None and worker._process is None


# The parts of the parent's handle, with a pretend worker where a real one cannot be made to fail
# on cue --------------------------------------------------------------------------------------


def test_sizes_are_printed_in_the_largest_unit_that_fits() -> None:
    from eqconform.verify.isolation import _size

    assert [_size(n) for n in (0, 1023, 1024, 1536, 2**20 - 1, 3 * 2**20, 5 * 2**30 + 2**29)] == [
        "0 bytes", "1023 bytes", "1.0 kB", "1.5 kB", "1024.0 kB", "3.0 MB", "5.5 GB"]


class _PretendProcess:
    def __init__(self, exitcode: int | None) -> None:
        self.exitcode, self.killed, self.alive = exitcode, False, True

    def is_alive(self) -> bool:
        return self.alive

    def kill(self) -> None:
        self.killed, self.alive = True, False

    def join(self, timeout: float | None = None) -> None:
        pass


class _BrokenPipe:
    def __init__(self, error: type[Exception]) -> None:
        self.error, self.closed = error, False

    def send(self, message: object) -> None:
        raise self.error("the worker is gone")

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("error", [EOFError, BrokenPipeError, ConnectionResetError])
@pytest.mark.parametrize(("exitcode", "described"), [
    (-9, "killed by signal SIGKILL"), (-1, "killed by signal SIGHUP"), (-200, "killed by signal 200"),
    (3, "exit code 3"), (0, "exit code 0"), (None, "no exit status"),
])
def test_a_judge_worker_that_is_gone_gives_an_error_naming_how_it_ended(
    error: type[Exception], exitcode: int | None, described: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from eqconform.specs import get_spec
    from eqconform.verify import isolation
    from eqconform.verify.isolation import IsolatedTarget

    clock = iter([100.0, 100.12345])  # the check's start, then its end
    monkeypatch.setattr(isolation, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    worker = IsolatedTarget("numpy", "numpy")
    process, pipe = _PretendProcess(exitcode), _BrokenPipe(error)
    worker._process, worker._connection = process, pipe  # type: ignore[assignment]
    result = worker.check(get_spec("dropout.eval"), OPTIONS)
    assert result.outcome is Outcome.ERROR and (result.spec, result.target) == ("dropout.eval", "numpy")
    assert result.message == f"the judge worker died ({described}); this is a fault of eqconform"
    assert result.seconds == 0.123  # the time it took, in milliseconds
    # Ended: killed, its pipe closed, and a new worker started by the next check.
    assert process.killed and pipe.closed and worker._process is None and worker._connection is None

    process, pipe = _PretendProcess(exitcode), _BrokenPipe(error)
    worker._process, worker._connection = process, pipe  # type: ignore[assignment]
    assert worker.about() == ({}, None)
    assert process.killed and pipe.closed and worker._process is None


def test_closing_a_worker_never_started_does_nothing() -> None:
    from eqconform.verify.isolation import IsolatedTarget

    worker = IsolatedTarget("numpy", "numpy")
    worker.close()
    worker.close(wait=0)
    assert worker._process is None and worker._connection is None


def test_a_closed_worker_ends_by_itself_and_a_run_reads_defaults_descriptions_and_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eqconform.verify import cache, isolation
    from eqconform.verify.isolation import IsolatedTarget

    worker = IsolatedTarget("numpy", "numpy")
    defaults, _ = worker.about()
    assert defaults  # the numpy target's documented hyperparameters
    process = worker._process
    worker.close()
    # It saw its pipe close and exited on its own (closing its runner), not killed.
    assert process is not None and process.exitcode == 0

    # One lane: the lane that reads the defaults and the description is the only one.
    monkeypatch.setattr(isolation, "lanes_per_target", lambda targets, specs: 1)
    monkeypatch.setattr(isolation, "SCHEDULE", cache.DiskCache("schedule", root=tmp_path))
    told: dict = {}
    descriptions: dict = {}
    specs = engine.checkable(select_specs(["dropout.eval", "layernorm.mean"]))
    results = run_isolated(specs, [("numpy", "numpy")], OPTIONS, defaults=told, descriptions=descriptions)
    assert {r.outcome for r in results} == {Outcome.PASS}
    assert told["numpy"] == defaults and descriptions["numpy"]
    seconds = isolation.expected_seconds("numpy")
    assert set(seconds) == {"dropout", "layernorm"} and all(s > 0 for s in seconds.values())
    # No spec at all: the target's defaults are still read.
    none_checked: dict = {}
    assert run_isolated([], [("numpy", "numpy")], OPTIONS, defaults=none_checked) == []
    assert none_checked["numpy"] == defaults


def test_no_target_is_no_lane_and_no_error() -> None:
    from eqconform.verify import isolation

    specs = engine.checkable(select_specs(["adam", "dropout"]))
    assert isolation.lanes_per_target(0, specs) >= 1


def test_only_nonnegative_seconds_are_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eqconform.verify import cache, isolation

    monkeypatch.setattr(isolation, "SCHEDULE", cache.DiskCache("schedule", root=tmp_path))
    isolation.SCHEDULE.put(isolation._schedule_key("numpy"),
                           {"zero": 0, "half": 0.5, "negative": -1.0, "text": "2", "none": None})
    assert isolation.expected_seconds("numpy") == {"zero": 0.0, "half": 0.5}


def test_the_parent_waits_for_a_check_without_spinning() -> None:
    """While a check runs (here one hanging until its 3-second limit), the parent sleeps in
    between its looks at the worker: it uses a small share of a core, not a whole one."""
    import time

    from eqconform.specs import get_spec
    from eqconform.verify.isolation import IsolatedTarget

    adapters = Path(__file__).parent.parent / "faults" / "faulty_adapters.py"
    worker = IsolatedTarget(f"file:{adapters}:Hangs", "hangs", timeout=3.0)
    try:
        worker.about()  # started and its target loaded before the measurement
        cpu, wall = time.process_time(), time.perf_counter()
        result = worker.check(get_spec("layernorm.mean"), OPTIONS)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        worker.close()
    assert result.outcome is Outcome.ERROR and "timed out" in result.message
    assert wall >= 3.0 and cpu < 0.25 * wall, (cpu, wall)


class _SilentPipe:
    """A worker's pipe on which no answer ever comes; each look takes the time it is given."""

    def __init__(self) -> None:
        self.looks: list[float] = []
        self.closed = False

    def send(self, message: object) -> None:
        pass

    def poll(self, timeout: float) -> bool:
        import time

        self.looks.append(timeout)
        time.sleep(min(timeout, 0.01))
        return False

    def close(self) -> None:
        self.closed = True


def test_a_judge_worker_that_neither_answers_nor_dies_is_stopped_at_the_backstop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from eqconform.specs import get_spec
    from eqconform.verify import isolation

    monkeypatch.setattr(isolation, "_BACKSTOP", 0.2)
    worker = isolation.IsolatedTarget("numpy", "numpy", timeout=0.1)
    process, pipe = _PretendProcess(None), _SilentPipe()
    worker._process, worker._connection = process, pipe  # type: ignore[assignment]
    result = worker.check(get_spec("dropout.eval"), OPTIONS)
    assert result.outcome is Outcome.ERROR and result.message == (
        "timed out: the check did not finish within 0.1 s (and 0.2 s more for the judge), so it was stopped")
    assert result.seconds >= 0.3 and process.killed and pipe.closed
    assert set(pipe.looks) == {isolation._POLL}

    # One that dies while the parent waits: named as dead at once, not timed out.
    worker = isolation.IsolatedTarget("numpy", "numpy", timeout=100.0)
    process, pipe = _PretendProcess(-9), _SilentPipe()
    process.alive = False
    worker._process, worker._connection = process, pipe  # type: ignore[assignment]
    monkeypatch.setattr(worker, "_start", lambda: None)  # (a dead worker is restarted first)
    result = worker.check(get_spec("dropout.eval"), OPTIONS)
    assert result.message == "the judge worker died (killed by signal SIGKILL); this is a fault of eqconform"
    assert len(pipe.looks) == 1


def test_asking_about_a_target_waits_a_minute_at_most_plus_the_backstop() -> None:
    from eqconform.verify import isolation

    for timeout, waited in ((300.0, 60.0), (5.0, 5.0)):
        worker = isolation.IsolatedTarget("numpy", "numpy", timeout=timeout)
        process, pipe = _PretendProcess(None), _SilentPipe()
        worker._process, worker._connection = process, pipe  # type: ignore[assignment]
        pipe.poll = lambda limit, looks=pipe.looks: looks.append(limit) or False  # type: ignore[method-assign]
        assert worker.about() == ({}, None)
        assert pipe.looks == [waited + isolation._BACKSTOP] and process.killed


def test_printed_output_is_noted_only_when_there_was_some() -> None:
    from eqconform.verify.isolation import _with_output_note
    from eqconform.verify.results import Result

    result = Result(spec="dropout.eval", target="t", outcome=Outcome.PASS, message="Passes.")
    assert _with_output_note(result, 0) is result
    noted = _with_output_note(result, 2048)
    assert noted.message == "Passes. The target printed 2.0 kB to its standard output and error (discarded)."
    bare = _with_output_note(dataclasses.replace(result, message=""), 1)
    assert bare.message == "The target printed 1 bytes to its standard output and error (discarded)."


def test_a_target_that_cannot_be_loaded_gives_an_error_not_a_dead_judge_worker(tmp_path: Path) -> None:
    from eqconform.specs import get_spec
    from eqconform.verify.isolation import IsolatedTarget

    worker = IsolatedTarget(f"file:{tmp_path / 'missing.py'}:Target", "missing", timeout=60.0)
    try:
        result = worker.check(get_spec("dropout.eval"), OPTIONS)
    finally:
        worker.close()
    assert result.outcome is Outcome.ERROR and "judge worker died" not in result.message, result.message


def test_the_run_tells_each_worker_which_specs_it_checks_and_records_their_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eqconform.verify import cache, isolation
    from eqconform.verify.results import Result

    monkeypatch.setattr(isolation, "SCHEDULE", cache.DiskCache("schedule", root=tmp_path))
    told: list[frozenset[str] | None] = []

    def check(self, spec, options):  # a worker that answers at once: 1.5 s a spec, 4 s on a handin
        told.append(options.checked)
        return Result(spec=spec.id, target=self.name, outcome=Outcome.PASS, seconds=4.0 if self.name == "handin" else 1.5)

    asked: list[str] = []

    def about(self):
        asked.append(self.name)
        return {"lr": 0.1}, f"{self.name}'s own words"

    monkeypatch.setattr(isolation.IsolatedTarget, "check", check)
    monkeypatch.setattr(isolation.IsolatedTarget, "about", about)
    specs = engine.checkable(select_specs(["dropout.eval", "layernorm.mean", "layernorm.variance"]))
    handin = f"mytorch:{HANDINS / 'correct_fall'}"
    results = run_isolated(specs, [("numpy", "numpy"), (handin, "handin")], OPTIONS)
    assert len(results) == 6 and set(told) == {frozenset(s.id for s in specs)}
    # Each kind of target records its own seconds.
    assert isolation.expected_seconds("numpy") == {"dropout": 1.5, "layernorm": 3.0}
    assert isolation.expected_seconds(handin) == {"dropout": 4.0, "layernorm": 8.0}
    assert asked == []  # neither defaults nor descriptions wanted: nothing asked
    described: dict = {}
    monkeypatch.setattr(isolation, "lanes_per_target", lambda targets, specs: 2)
    run_isolated(specs, [("numpy", "numpy")], OPTIONS, descriptions=described)  # descriptions alone
    assert described == {"numpy": "numpy's own words"}
    assert asked == ["numpy"]  # asked once, by the first of its two lanes
    told.clear()
    chosen = frozenset({"dropout.eval", "adam.update"})
    run_isolated(specs, [("numpy", "numpy")], dataclasses.replace(OPTIONS, checked=chosen))
    assert set(told) == {chosen}
    assert run_isolated(specs, [], OPTIONS) == []  # no target: nothing to run, and no error
    # No more workers than components: with two lanes to spare and one component, one worker.
    closed: list[str] = []
    monkeypatch.setattr(isolation.IsolatedTarget, "close", lambda self, wait=10.0: closed.append(self.name))
    monkeypatch.setattr(isolation, "lanes_per_target", lambda targets, specs: 2)
    run_isolated(engine.checkable(select_specs(["dropout"])), [("numpy", "numpy")], OPTIONS)
    assert closed == ["numpy"]


def test_lanes_follow_the_cores_and_one_core_when_the_count_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    from eqconform.verify import isolation

    specs = engine.checkable(select_specs(["adam", "adamw", "layernorm", "dropout", "noise", "attention"]))
    # The cores this process may use (pid 0: the caller), not some other process's.
    monkeypatch.setattr(isolation.os, "sched_getaffinity", lambda pid: set(range(8)) if pid == 0 else {0})
    lanes = isolation.lanes_per_target(2, specs)
    assert lanes == 4 and type(lanes) is int  # a count of workers: range() takes no float
    monkeypatch.delattr(isolation.os, "sched_getaffinity")
    monkeypatch.setattr(isolation.os, "cpu_count", lambda: None)
    assert isolation.lanes_per_target(1, specs) == 1


def test_the_default_time_limit_is_the_documented_one() -> None:
    from eqconform.verify import isolation

    docs = Path(__file__).parents[2] / "docs"
    assert f"default {isolation.DEFAULT_TIMEOUT:g};" in (docs / "cli.md").read_text()
    assert f"(default {isolation.DEFAULT_TIMEOUT:g})" in (docs / "sandbox.md").read_text()


def test_the_default_memory_limit_is_the_documented_one_everywhere() -> None:
    from eqconform.verify import isolation, sandbox, session

    documented = (Path(__file__).parents[2] / "docs" / "sandbox.md").read_text()
    assert f"({sandbox.DEFAULT_MEMORY_LIMIT // 2**30} GiB)" in documented
    assert sandbox.DEFAULT_MEMORY_LIMIT % 2**30 == 0
    assert session.DEFAULT_MEMORY_LIMIT is isolation.DEFAULT_MEMORY_LIMIT is sandbox.DEFAULT_MEMORY_LIMIT
    assert sandbox.Confinement().memory_limit == sandbox.DEFAULT_MEMORY_LIMIT


def test_a_runner_that_cannot_start_is_tried_again_at_the_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """The judge worker starts its runner early, so that the target loads while the judge
    prepares; if that fails, the first request starts it again and reports why."""
    import signal

    from eqconform.verify import isolation, remote
    from eqconform.verify.sandbox import Confinement

    events: list[str] = []

    class Unstartable:
        def __init__(self, *args: object) -> None:
            events.append("made")

        def start(self) -> None:
            raise OSError("no runner")

        def close(self) -> None:
            events.append("closed")

    class Hungup:
        def recv(self) -> object:
            raise EOFError

    monkeypatch.setattr(remote, "RemoteTarget", Unstartable)
    monkeypatch.setattr(isolation, "set_parent_death_signal", lambda: None)
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # the worker's own handling of Ctrl-C
    isolation._serve(Hungup(), "numpy", "numpy", 10.0, Confinement())  # type: ignore[arg-type]
    assert events == ["made", "closed"]
