"""Mutation testing's choice of tests (mutation/line_tests.py): a mutant is tested first by the
tests that ran the lines it changes, and by all of them when a changed line ran outside any
test or in none. The choice must never leave out a test that ran a changed line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

MUTATION = Path(__file__).parents[1] / "mutation"
sys.path.insert(0, str(MUTATION))
import line_tests  # noqa: E402

MODULE = textwrap.dedent('''\
    SCALE = 2


    def double(x):
        return SCALE * x


    def negate(x):
        if x > 0:
            return -x
        return -x
''')

TESTS = textwrap.dedent('''\
    import tiny


    def test_double():
        assert tiny.double(3) == 6


    def test_negate():
        assert tiny.negate(3) == -3


    def test_both():
        assert tiny.negate(tiny.double(1)) == -2
''')


def test_a_changed_line_is_found_by_its_number() -> None:
    original = "a\nb\nc\n"
    assert line_tests.changed_lines(original, original) == set()
    assert line_tests.changed_lines(original, "a\nB\nc\n") == {2}
    assert line_tests.changed_lines(original, "A\nb\nC\n") == {1, 3}
    assert line_tests.changed_lines(original, "a\nc\n") is None  # a line removed: not placed
    assert line_tests.changed_lines(original, "a\nb\nx\nc\n") is None  # a line inserted


@given(st.lists(st.sampled_from(["x = 1", "y = 2", "pass", "return x"]), min_size=1, max_size=12),
       st.data())
def test_changing_one_line_names_that_line(lines: list[str], data: st.DataObject) -> None:
    number = data.draw(st.integers(1, len(lines)))
    mutated = list(lines)
    mutated[number - 1] = "mutated = True"
    assert line_tests.changed_lines("\n".join(lines), "\n".join(mutated)) == {number}


def _record(lines: dict[str, list[str]]) -> dict:
    return {"original": "a\nb\nc\nd\n", "durations": {"slow": 2.0, "quick": 0.5, "middle": 1.0},
            "paths": ["tests"], "lines": lines}


def test_the_tests_that_ran_a_changed_line_are_chosen_quickest_first() -> None:
    record = _record({"2": ["slow", "quick"], "3": ["middle"]})
    assert line_tests.chosen_tests(record, "a\nB\nc\nd\n") == ["quick", "slow"]
    assert line_tests.chosen_tests(record, "a\nB\nC\nd\n") == ["quick", "middle", "slow"]


def test_every_test_runs_when_a_changed_line_ran_outside_the_tests_or_in_none() -> None:
    record = _record({"1": [line_tests.OUTSIDE, "quick"], "2": ["slow"]})
    everything = ["quick", "middle", "slow"]  # the quickest first all the same
    assert line_tests.chosen_tests(record, "A\nb\nc\nd\n") == everything  # run while importing
    assert line_tests.chosen_tests(record, "a\nb\nC\nd\n") == everything  # run by no test seen
    assert line_tests.chosen_tests(record, "a\nB\nC\nd\n") == everything  # one line unseen
    assert line_tests.chosen_tests(record, "a\nb\nc\nd\n") == everything  # nothing changed
    assert line_tests.chosen_tests(record, "a\nB\nc\n") == everything  # a line removed


@pytest.mark.timeout(120)
def test_a_recorded_run_chooses_the_tests_that_run_a_line(tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(MODULE)
    (tmp_path / "test_tiny.py").write_text(TESTS)
    record = tmp_path / "record.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(MUTATION), str(tmp_path)]),
               **{line_tests.VARIABLE: f"{tmp_path / 'tiny.py'}:{record}"})
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "line_tests", "-p", "no:cacheprovider", "-q",
                           "test_tiny.py"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    recorded = json.loads(record.read_text())
    assert recorded["paths"] == ["test_tiny.py"]
    assert set(recorded["durations"]) == {"test_tiny.py::test_double", "test_tiny.py::test_negate",
                                          "test_tiny.py::test_both"}
    assert recorded["lines"]["5"] == ["test_tiny.py::test_both", "test_tiny.py::test_double"]
    assert recorded["lines"]["10"] == ["test_tiny.py::test_both", "test_tiny.py::test_negate"]
    assert "11" not in recorded["lines"]  # never run: x > 0 in every test
    assert line_tests.OUTSIDE in recorded["lines"]["1"] and line_tests.OUTSIDE in recorded["lines"]["4"]

    arguments = ["-x", "-q", "test_tiny.py"]
    every = sorted(recorded["durations"])
    chosen = line_tests.select(str(record), arguments)  # unchanged: every test
    assert chosen[:2] == ["-x", "-q"] and sorted(chosen[2:]) == every
    (tmp_path / "tiny.py").write_text(MODULE.replace("return SCALE * x", "return SCALE + x"))
    chosen = line_tests.select(str(record), arguments)
    assert chosen[:2] == ["-x", "-q"]
    assert sorted(chosen[2:]) == ["test_tiny.py::test_both", "test_tiny.py::test_double"]
    (tmp_path / "tiny.py").write_text(MODULE.replace("SCALE = 2", "SCALE = 3"))
    assert sorted(line_tests.select(str(record), arguments)[2:]) == every  # a module-level line


@pytest.mark.timeout(180)
def test_the_pytest_server_runs_the_chosen_tests_and_falls_back_to_the_list_given(tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(MODULE.replace("return SCALE * x", "return SCALE + x"))  # a mutant
    (tmp_path / "test_tiny.py").write_text(TESTS)
    socket_path = tmp_path / "server.sock"
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    server = subprocess.Popen([sys.executable, str(MUTATION / "pytest_server.py"), "serve", str(socket_path)],
                              cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 120
        while not socket_path.exists():
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)

        def client(lines: dict[str, list[str]], durations: dict[str, float]) -> subprocess.CompletedProcess:
            record = tmp_path / "record.json"
            record.write_text(json.dumps({"module": str(tmp_path / "tiny.py"), "original": MODULE,
                                          "paths": ["test_tiny.py"], "durations": durations, "lines": lines}))
            return subprocess.run([sys.executable, str(MUTATION / "pytest_server.py"), "run", str(socket_path),
                                   "--select", str(record), "-p", "no:cacheprovider", "-q", "test_tiny.py"],
                                  cwd=tmp_path, env=env, capture_output=True, text=True, check=False)

        # Only test_negate ran the changed line (a wrong record): it passes, so the mutant lives.
        lived = client({"5": ["test_tiny.py::test_negate"]}, {"test_tiny.py::test_negate": 0.1})
        assert lived.returncode == 0 and "1 passed" in lived.stdout, lived.stdout
        killed = client({"5": ["test_tiny.py::test_double"]}, {"test_tiny.py::test_double": 0.1})
        assert killed.returncode == 1 and "1 failed" in killed.stdout, killed.stdout
        # A recorded test pytest cannot find: the list as given runs instead (and kills).
        gone = client({"5": ["test_tiny.py::test_gone"]}, {"test_tiny.py::test_gone": 0.1})
        assert gone.returncode == 1 and "2 failed, 1 passed" in gone.stdout, gone.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
