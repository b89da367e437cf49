"""Killing eqconform from outside leaves none of its processes behind; SIGTERM writes the report
of what finished; a hanging method costs about one time limit; a dead prover is a verdict."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ADAPTERS = Path(__file__).with_name("faulty_adapters.py")


def _command(tmp_path: Path, *targets: str, specs: tuple[str, ...] = ("dropout.eval", "layernorm.mean"),
             extra: tuple[str, ...] = ()) -> list[str]:
    command = [str(Path(sys.executable).with_name("eqconform")), "report"]
    for target in targets:
        command += ["--target", target]
    for spec in specs:
        command += ["--spec", spec]
    return [*command, "--max-examples", "5", "--no-examples-db", "-o", str(tmp_path / "out"), "--quiet", *extra]


def _descendants(root: int) -> set[int]:
    """Every live process whose chain of parents reaches ``root`` (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = {root}
    while frontier:
        children = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
        found |= children
        frontier = children
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _wait_until_gone(pids: set[int], seconds: float = 20.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return _alive(pids)


def _started_with_children(command: list[str], count: int = 3, seconds: float = 60.0) -> tuple[subprocess.Popen[str], set[int]]:
    """Start eqconform and wait until it has its workers and runners (at least ``count``)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + seconds
    children: set[int] = set()
    while time.monotonic() < deadline:
        children = _descendants(process.pid)
        if len(children) >= count and any("harness" in _cmdline(pid) for pid in children):
            break
        time.sleep(0.2)
    assert len(children) >= count, f"eqconform started only {len(children)} processes"
    return process, children


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killing_eqconform_leaves_no_process_behind(tmp_path: Path, sig: signal.Signals) -> None:
    process, children = _started_with_children(_command(tmp_path, "numpy", f"file:{ADAPTERS}:Hangs",
                                                        extra=("--timeout", "600")))
    time.sleep(3)  # the runners are in their checks; the hanging one is stuck
    children |= _descendants(process.pid)
    process.send_signal(sig)
    process.communicate(timeout=60)
    left = _wait_until_gone(children)
    assert not left, [(pid, _cmdline(pid)) for pid in left]


def test_sigterm_writes_the_report_of_what_finished(tmp_path: Path) -> None:
    process, _ = _started_with_children(_command(tmp_path, "numpy", f"file:{ADAPTERS}:Hangs",
                                                 extra=("--timeout", "600")))
    report = tmp_path / "out" / "report.json"
    time.sleep(12)  # the numpy checks finish; the hanging target is stuck in its first check
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    data = json.loads(report.read_text())
    assert data["meta"]["status"].startswith("INCOMPLETE: interrupted (SIGTERM) after")
    kept = {(r["spec"], r["target"]): r["outcome"] for r in data["results"]}
    assert {key: kept[key] for key in kept if key[1] == "numpy"} == {
        ("layernorm.mean", "numpy"): "pass", ("dropout.eval", "numpy"): "pass"}
    # The hanging check was cut short: no verdict. Dropout, when its lane took it first, finished.
    hanging = {spec: outcome for (spec, target), outcome in kept.items() if target != "numpy"}
    assert "layernorm.mean" not in hanging and set(hanging) <= {"dropout.eval"}
    assert set(hanging.values()) <= {"pass", "skip"}
    assert not [line for line in err.splitlines() if "Traceback" in line]


def test_a_hanging_method_costs_about_one_time_limit(tmp_path: Path) -> None:
    """Every LayerNorm spec calls the same hanging method: the first check times out, the others
    are errors at once, so the run takes about one --timeout, not one per check."""
    timeout = 4
    started = time.monotonic()
    finished = subprocess.run(_command(tmp_path, f"file:{ADAPTERS}:Hangs", specs=("layernorm",),
                                       extra=("--timeout", str(timeout))),
                              capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    assert finished.returncode == 1, finished.stderr
    results = json.loads((tmp_path / "out" / "report.json").read_text())["results"]
    messages = [r["message"] for r in results]
    assert len(results) == 8 and {r["outcome"] for r in results} == {"error"}
    assert sum(m.startswith("timed out:") for m in messages) == 1
    assert sum("not called again" in m and "timed out in check layernorm.mean" in m for m in messages) == 7
    # One time limit, plus start-up and the proofs: far below the 8 x 4 s that one limit per
    # check would cost (a generous bound, so a loaded machine does not make it flaky).
    assert elapsed < 8 * timeout + 20


def test_the_report_records_the_isolation_used(tmp_path: Path) -> None:
    from eqconform.verify.sandbox import bubblewrap_problem

    finished = subprocess.run(_command(tmp_path, "numpy", specs=("dropout.eval",)), capture_output=True,
                              text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    isolation = json.loads((tmp_path / "out" / "report.json").read_text())["meta"]["isolation"]
    if bubblewrap_problem() is None:
        assert isolation.startswith("bubblewrap: no network")
    else:
        assert isolation.startswith("plain processes (bubblewrap unavailable")
        assert "no sandbox" in finished.stderr


def test_sandbox_require_without_bubblewrap_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on this PATH
    command = _command(tmp_path, "numpy", specs=("dropout.eval",), extra=("--sandbox", "require"))
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PATH": str(tmp_path)})
    assert finished.returncode == 2
    assert finished.stderr.startswith("eqconform: error: --sandbox require: bubblewrap cannot be used here")
    assert not (tmp_path / "out").exists()


def test_a_run_without_the_example_database_writes_nothing_but_the_report(tmp_path: Path) -> None:
    """Not Hypothesis's own storage in the current directory, not an example database, not
    bytecode next to the audited code."""
    work = tmp_path / "work"
    work.mkdir()
    handin = work / "handin"
    shutil.copytree(Path(__file__).parent.parent / "handins" / "correct_spring", handin)
    before = sorted(str(p.relative_to(work)) for p in work.rglob("*"))
    command = [str(Path(sys.executable).with_name("eqconform")), "report", "--target", f"mytorch:{handin}",
               "--spec", "adam.update", "--spec", "dropout.eval", "--max-examples", "5", "--no-examples-db",
               "-o", "out", "--quiet", "--sandbox", "off"]  # off: the plain runner could write, if it tried
    finished = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300,
                              env={k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"})
    assert finished.returncode == 0, finished.stderr
    after = sorted(str(p.relative_to(work)) for p in work.rglob("*") if work / "out" not in p.parents)
    assert after == sorted([*before, "out"])
    assert sorted(p.name for p in (work / "out").iterdir()) == ["index.html", "junit.xml", "report.json", "report.md"]


def test_sigterm_to_grade_stops_its_audits_and_keeps_the_gradebook(tmp_path: Path) -> None:
    """SIGTERM to `eqconform grade` alone (not its process group, as a terminal's Ctrl-C would
    be): the audit it was waiting for is stopped too and writes the report of what it finished,
    the gradebook is written, and no process is left behind."""
    handin = tmp_path / "class" / "stuck"
    shutil.copytree(Path(__file__).parent.parent / "handins" / "correct_spring", handin)
    adam = handin / "mytorch" / "optim" / "adam.py"
    adam.write_text(adam.read_text().replace("    def step(self):", "    def step(self):\n        import time\n"
                                             "        while True:\n            time.sleep(1)\n", 1))
    command = [str(Path(sys.executable).with_name("eqconform")), "grade", str(handin), "-o", str(tmp_path / "out"),
               "-j", "1", "--spec", "adam.update", "--timeout", "600"]
    process, children = _started_with_children(command)
    time.sleep(3)  # the runner is in step(), stuck
    children |= _descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "interrupted (SIGTERM); the gradebook holds what had finished" in err
    assert not [line for line in err.splitlines() if "Traceback" in line], err
    lines = (tmp_path / "out" / "gradebook.csv").read_text().splitlines()
    assert lines[1].startswith("stuck,not graded,0,") and "interrupted before its audit finished" in lines[1]
    report = json.loads((tmp_path / "out" / "handins" / "stuck" / "report" / "report.json").read_text())
    assert report["meta"]["status"].startswith("INCOMPLETE: interrupted (SIGTERM) after")
    left = _wait_until_gone(children)
    assert not left, [(pid, _cmdline(pid)) for pid in left]
