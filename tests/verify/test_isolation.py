"""Audited code runs in worker processes: a target that hangs or kills its own process gives
``error`` results with the reason, and every other result of the run is complete."""

from __future__ import annotations

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
