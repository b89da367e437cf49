"""The reproduce command of a failure carries every option that decides its verdict, and
running it gives the same verdict."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from eqconform.verify.cli import main
from eqconform.verify.results import Outcome
from eqconform.verify.session import RunOptions, Session, SessionError

BUGGY = Path(__file__).parent.parent / "handins" / "bug_layernorm_unbiased_variance"


def _options(words: list[str]) -> dict[str, str]:
    """``--name value`` pairs of a command (flags without a value map to "")."""
    pairs: dict[str, str] = {}
    for index, word in enumerate(words):
        if word.startswith("--"):
            following = words[index + 1] if index + 1 < len(words) else "--"
            pairs[word] = "" if following.startswith("--") or following == "-o" else following
    return pairs


@pytest.mark.parametrize("profile", ["default", "hard"])
def test_the_command_names_target_spec_seed_examples_and_profile(profile: str) -> None:
    options = RunOptions(targets=(f"mytorch:{BUGGY}",), specs=("layernorm.variance",), max_examples=7, seed=11,
                         profile=profile, in_process=True, examples_dir=None)
    (result,) = Session(options).run().results
    assert result.outcome is Outcome.FAIL
    assert result.reproduce is not None
    words = shlex.split(result.reproduce)
    assert words[:2] == ["eqconform", "report"]
    pairs = _options(words)
    assert pairs["--target"] == f"mytorch:{BUGGY}" and pairs["--spec"] == "layernorm.variance"
    assert pairs["--seed"] == "11" and pairs["--max-examples"] == "7"
    assert pairs.get("--profile", "default") == profile
    assert "--no-examples-db" in pairs and "--in-process" in pairs


@pytest.mark.parametrize(("changed", "words"), [
    ({"timeout": 12.5}, ["--timeout", "12.5"]),
    ({"sandbox": "off"}, ["--sandbox", "off"]),
    ({"sandbox": "require"}, ["--sandbox", "require"]),
    ({"examples_dir": "/somewhere/else"}, ["--examples-dir", "/somewhere/else"]),
    ({"examples_dir": None}, ["--no-examples-db"]),
    ({"in_process": True}, ["--in-process"]),
    ({"profile": "hard"}, ["--profile", "hard"]),
])
def test_every_option_that_can_change_a_verdict_is_in_the_command(changed: dict, words: list[str]) -> None:
    command = shlex.split(RunOptions(**changed).reproduce("adam.update", "numpy"))
    at = command.index(words[0])
    assert command[at:at + len(words)] == words
    default = shlex.split(RunOptions().reproduce("adam.update", "numpy"))
    assert words[0] not in default  # left out at its default, so the command stays short


def test_running_the_command_reproduces_the_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options = RunOptions(targets=(f"mytorch:{BUGGY}",), specs=("layernorm.variance",), max_examples=20, seed=5,
                         in_process=True, examples_dir=None)
    (result,) = Session(options).run().results
    assert result.outcome is Outcome.FAIL and result.reproduce
    words = shlex.split(result.reproduce)
    output = words.index("-o")
    words[output + 1] = str(tmp_path / "repro")
    monkeypatch.chdir(tmp_path)
    assert main([*words[1:], "--quiet"]) == 1
    again = json.loads((tmp_path / "repro" / "report.json").read_text())
    (rerun,) = again["results"]
    assert rerun["outcome"] == "fail" and rerun["counterexample"] == result.counterexample


def test_a_counterexample_taken_from_a_neighbour_is_reproduced_with_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    behaviours = Path(__file__).parent.parent / "faults" / "library_behaviours.py"
    options = RunOptions(targets=(f"file:{behaviours}:ZeroLayerNorm",), specs=("layernorm.mean", "layernorm.variance"),
                         max_examples=20, seed=5, in_process=True, examples_dir=None)
    first, taken = Session(options).run().results
    assert (first.spec, taken.spec) == ("layernorm.mean", "layernorm.variance")
    assert first.found_by is None and taken.found_by == "layernorm.mean"
    words = shlex.split(taken.reproduce)
    assert [words[i + 1] for i, w in enumerate(words) if w == "--spec"] == ["layernorm.mean", "layernorm.variance"]
    words[words.index("-o") + 1] = str(tmp_path / "repro")
    monkeypatch.chdir(tmp_path)
    assert main([*words[1:], "--quiet"]) == 1
    again = {r["spec"]: r for r in json.loads((tmp_path / "repro" / "report.json").read_text())["results"]}
    assert again["layernorm.variance"]["counterexample"] == taken.counterexample
    assert again["layernorm.variance"]["found_by"] == "layernorm.mean"


@pytest.mark.parametrize(("changed", "message"), [
    ({"max_examples": 0}, "at least 1"),
    ({"seed": -1}, "0 or more"),
    ({"profile": "heavy"}, "unknown profile"),
    ({"timeout": 0}, "more than 0"),
    ({"sandbox": "maybe"}, "unknown sandbox mode"),
    ({"targets": ()}, "no target"),
])
def test_bad_options_are_refused_when_made(changed: dict, message: str) -> None:
    with pytest.raises(SessionError, match=message):
        RunOptions(**changed)


@pytest.mark.parametrize(("changed", "message"), [
    ({"specs": ("no_such_family",)}, "no spec matches"),
    ({"targets": ("nonsense",)}, "unknown target"),
    ({"targets": ("mytorch:/no/such/handin",)}, "/no/such/handin"),
])
def test_a_session_refuses_unknown_specs_and_targets_before_running(changed: dict, message: str) -> None:
    with pytest.raises(SessionError, match=message):
        Session(RunOptions(**changed))


def test_each_target_is_resolved_once_without_running_its_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file target that would raise at import is planned (name, files) without being imported."""
    adapter = tmp_path / "adapter.py"
    adapter.write_text("raise SystemExit('imported!')\n")
    session = Session(RunOptions(targets=(f"file:{adapter}:Adapter",), specs=("adam.update",)))
    (plan,) = session.targets
    assert plan.files == str(adapter) and plan.reference == f"file:{adapter}:Adapter"
