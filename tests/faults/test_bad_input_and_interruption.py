"""Bad input to the tool exits 2 in one line before any work; Ctrl-C writes what finished."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from eqconform.verify.cli import main

ADAPTERS = Path(__file__).with_name("faulty_adapters.py")


def test_unwritable_output_directory_is_refused_before_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    started = time.perf_counter()
    assert main(["report", "--spec", "adam", "-o", str(blocker / "report")]) == 2
    assert time.perf_counter() - started < 5  # refused up front, not after checking
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the report to" in err


@pytest.mark.parametrize("arguments", [["--profile", "extreme"], ["--timeout", "0"], ["--timeout", "soon"]])
def test_bad_options_exit_2(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", *arguments]) == 2
    assert capsys.readouterr().err.startswith("eqconform: error: ")


def test_ctrl_c_while_starting_up_exits_130_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before the checks run (loading targets, starting the proof workers) there is nothing to
    # keep: no traceback, the interrupted exit status.
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("eqconform.verify.cli._report", interrupted)
    assert main(["report", "--spec", "adam"]) == 130
    err = capsys.readouterr().err
    assert err == "eqconform: interrupted (Ctrl-C) before any report was written\n"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_writes_the_finished_results_marked_incomplete(tmp_path: Path) -> None:
    command = [str(Path(sys.executable).with_name("eqconform")), "report", "--target", "numpy",
               "--target", f"file:{ADAPTERS}:Hangs", "--spec", "dropout.eval", "--spec", "layernorm.mean",
               "--max-examples", "5", "--no-examples-db", "-o", str(tmp_path), "--timeout", "600"]
    # As from a terminal: a shell without job control starts background commands with SIGINT
    # ignored, and a test run started that way must not pass that on to eqconform.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_default_sigint)
    report = tmp_path / "report.json"
    # Interrupted once both numpy checks have printed their outcome (however long starting up
    # takes on a loaded machine); the hanging target is then stuck in its first check.
    seen: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            seen.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 240
    try:
        while sum("[numpy]" in line for line in seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sum("[numpy]" in line for line in seen) == 2, "".join(seen)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:  # a failed assertion above leaves nothing running
            process.kill()
            process.wait()
    reader.join(timeout=10)
    err = "".join(seen)
    assert process.returncode == 130, err
    assert "INCOMPLETE" in err and "the report holds what had finished" in err
    data = json.loads(report.read_text())
    assert data["meta"]["status"].startswith("INCOMPLETE: interrupted (Ctrl-C) after")
    kept = {(r["spec"], r["target"]): r["outcome"] for r in data["results"]}
    assert kept == {("layernorm.mean", "numpy"): "pass", ("dropout.eval", "numpy"): "pass"}
    assert not list(tmp_path.glob("*.tmp*")) and (tmp_path / "index.html").exists()
    assert not [line for line in err.splitlines() if "Traceback" in line]
