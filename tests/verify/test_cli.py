"""The command line: exit codes, one-line usage errors, the four report files."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from eqconform.specs import CATALOGUE
from eqconform.verify.cli import main

HANDINS = Path(__file__).parent.parent / "handins"


def test_specs_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["specs"]) == 0
    out = capsys.readouterr().out
    for spec_id in CATALOGUE:
        assert spec_id in out
    assert "eps-inside-sqrt" in out and "Fall 2025" in out


def test_report_writes_four_files_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--spec", "adam.first_moment", "--spec", "dropout.eval", "--max-examples", "5",
                 "-o", str(tmp_path), "--quiet", "--no-examples-db"])
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "junit.xml", "report.json", "report.md"]
    data = json.loads((tmp_path / "report.json").read_text())
    assert isinstance(data["format"], int) and data["tool"]["name"] == "eqconform"
    assert [t["name"] for t in data["targets"]] == ["numpy"]
    assert {p["id"]: p["status"] for p in data["proofs"]}["adam.bias_correction.constant_gradient"] == "proved"
    results = {r["spec"]: r for r in data["results"]}
    assert set(results) == {"adam.first_moment", "dropout.eval"}
    for result in results.values():
        assert {"spec", "target", "outcome", "variant", "examples", "max_error", "counterexample", "message"} <= set(result)
        assert result["outcome"] == "pass" and result["examples"] >= 5
    ElementTree.parse(tmp_path / "junit.xml")
    assert "<math" in (tmp_path / "index.html").read_text()
    assert f"Report written to {tmp_path / 'index.html'}" in capsys.readouterr().out


def test_failures_exit_1_with_counterexample_and_reproduction(tmp_path: Path) -> None:
    output, examples = tmp_path / "report", tmp_path / "examples"
    code = main(["report", "--target", f"mytorch:{HANDINS / 'bug_adam_swapped_beta1'}", "--spec", "adam.first_moment",
                 "--max-examples", "10", "-o", str(output), "--quiet", "--examples-dir", str(examples)])
    assert code == 1
    assert any(path.is_file() for path in examples.rglob("*")), "the counterexample was not remembered"
    (result,) = json.loads((output / "report.json").read_text())["results"]
    assert result["outcome"] == "fail" and "1 step(s)" in result["counterexample"]
    assert result["reproduce"].startswith("eqconform report --target mytorch:")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["report", "--target", "tensorflow"], "unknown target 'tensorflow'"),
        (["report", "--spec", "nosuch.*"], "no spec matches 'nosuch.*'"),
        (["report", "--target", "mytorch:/no/such/handin"], "does not exist"),
        (["report", "--target", "mytorch"], "mytorch needs a path"),
        (["report", "--max-examples", "0"], "must be at least 1"),
        (["report", "--max-examples", "-3"], "must be at least 1"),
        (["report", "--seed", "x"], "is not a whole number"),
        (["specs", "--spec", "nosuch"], "no spec matches 'nosuch'"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2_with_one_line(arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("eqconform: error: ") and message in err


def test_handin_without_mytorch_folder_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--target", f"mytorch:{tmp_path}"]) == 2
    assert "has no mytorch/ folder" in capsys.readouterr().err


def test_output_that_is_a_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("not a directory")
    assert main(["report", "--spec", "dropout.eval", "--max-examples", "2", "-o", str(blocker), "--no-examples-db"]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert blocker.read_text() == "not a directory"


def test_console_script_prints_no_traceback() -> None:
    script = Path(sys.executable).with_name("eqconform")
    completed = subprocess.run([str(script), "report", "--target", "nope"], capture_output=True, text=True,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=120)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    line = completed.stderr.strip()
    assert "\n" not in line and line.startswith("eqconform: error: unknown target 'nope' (known: numpy, mytorch:PATH")


def test_report_tabulates_target_and_documented_defaults(tmp_path: Path) -> None:
    handin = HANDINS / "correct_fall"
    code = main(["report", "--target", "numpy", "--target", f"mytorch:{handin}", "--spec", "adamw.decoupled_decay",
                 "--spec", "dropout.eval", "--max-examples", "3", "-o", str(tmp_path), "--quiet", "--no-examples-db"])
    assert code == 0
    data = json.loads((tmp_path / "report.json").read_text())
    defaults = {t["name"]: t["defaults"] for t in data["targets"]}
    assert defaults["numpy"]["adamw"] == {"lr": None, "beta1": 0.9, "beta2": 0.999, "eps": 1e-08, "weight_decay": 0.01}
    assert defaults[f"mytorch:{handin}"]["dropout"] == {"p": 0.5}
    documented = data["documented_defaults"]
    assert documented["adamw"]["weight_decay"][0] == 0.01 and documented["dropout"]["p"][0] == 0.5
    assert "sec. 4" in documented["adamw"]["beta1"][1]


# --------------------------------------------------------------------------- the recorded command

def _recorded_command(output: Path) -> str:
    return json.loads((output / "report.json").read_text())["meta"]["command"]


def test_the_report_records_the_arguments_eqconform_was_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command in a report is what eqconform was asked to do, i.e. ``main``'s arguments,
    quoted so that it runs again as printed, and not the arguments of the process that called
    ``main`` (pytest's ``-k baseline`` once leaked into reports that way)."""
    monkeypatch.setattr(sys, "argv", ["pytest", "-k", "baseline", "tests/verify/test_diff.py"])
    output = tmp_path / "a report"  # a space, which the recorded command must quote
    arguments = ["report", "--spec", "dropout.eval", "--max-examples", "2", "-o", str(output), "--quiet",
                 "--no-examples-db", "--in-process"]
    assert main(arguments) == 0
    command = _recorded_command(output)
    assert shlex.split(command) == ["eqconform", *arguments], command


def test_the_console_script_records_its_own_arguments(tmp_path: Path) -> None:
    """Run as ``eqconform ...`` (``main()`` without arguments), the command is the process's."""
    output = tmp_path / "out"
    arguments = ["report", "--spec", "dropout.eval", "--max-examples", "2", "-o", str(output), "--quiet",
                 "--no-examples-db", "--in-process"]
    completed = subprocess.run([str(Path(sys.executable).with_name("eqconform")), *arguments], capture_output=True,
                               text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert shlex.split(_recorded_command(output)) == ["eqconform", *arguments]
