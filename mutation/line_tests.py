"""Which tests run which lines of a mutated module: a pytest plugin, and the choice it serves.

A mutant changes one line. Only the tests that run that line can notice the change, so
running those first (the quickest first, with ``-x``) kills most mutants in a fraction of the
time the module's whole test list takes, and a mutant that no such test kills is then run
against the whole list anyway (``run.py``), so the choice never lets a mutant survive that the
whole list would kill.

Recording (``run.py`` does it once per module, unmutated)::

    EQCONFORM_MUTATION_LINES=<module file>:<output.json> python -m pytest -p line_tests TESTS...

records, with coverage.py, the lines of the module each test ran (in the test process: lines
only a child process runs, such as a sandboxed worker's, are not seen), the lines run outside
any test (importing the module, collecting the tests), and each test's duration. Choosing
(``pytest_server.py run --select <output.json>``) compares the module as it is on disk with
the recorded original and, when every changed line was run by tests and never outside them,
replaces the test list by those tests. Otherwise (a module-level line, a line no test was seen
to run) every test runs. Either way the quickest run first, so that ``-x`` stops early.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

VARIABLE = "EQCONFORM_MUTATION_LINES"
#: coverage.py's context for lines run outside any test.
OUTSIDE = ""


# --------------------------------------------------------------------------- recording

class _Recorder:
    def __init__(self, module: Path, output: Path) -> None:
        import coverage

        self.module = module.resolve()
        self.output = output
        self.durations: dict[str, float] = {}
        self.started = 0.0
        self.data_file = output.with_suffix(".coverage")
        # Only the mutated module is measured; contexts are switched by hand, per test.
        self.coverage = coverage.Coverage(data_file=str(self.data_file), include=[str(self.module)],
                                          config_file=False)
        self.coverage.start()

    # (Plain hooks around each test's setup, call and teardown: this module is also imported by
    # the client that chooses the tests, which must not pay for importing pytest.)
    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.coverage.switch_context(nodeid)
        self.started = time.perf_counter()

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.durations[nodeid] = time.perf_counter() - self.started
        self.coverage.switch_context(OUTSIDE)

    def pytest_unconfigure(self, config: Any) -> None:
        self.coverage.stop()
        self.coverage.save()
        data = self.coverage.get_data()
        lines: dict[int, set[str]] = {}
        for measured in data.measured_files():
            if Path(measured).resolve() != self.module:
                continue
            for number, contexts in data.contexts_by_lineno(measured).items():
                lines.setdefault(number, set()).update(contexts)
        self.output.write_text(json.dumps({
            "module": str(self.module),
            "original": self.module.read_text(),
            "paths": list(config.args),
            "durations": self.durations,
            "lines": {str(n): sorted(c) for n, c in sorted(lines.items())},
        }))
        self.data_file.unlink(missing_ok=True)


def pytest_configure(config: Any) -> None:
    setting = os.environ.get(VARIABLE)
    if setting:
        module, _, output = setting.partition(":")
        config.pluginmanager.register(_Recorder(Path(module), Path(output)), "eqconform-mutation-lines")


# --------------------------------------------------------------------------- choosing

def changed_lines(original: str, mutated: str) -> set[int] | None:
    """Line numbers (from 1) on which ``mutated`` differs from ``original``; None when the two
    have different numbers of lines, which no line-for-line comparison can place for sure
    (cosmic-ray's mutants change a line in place)."""
    before, after = original.splitlines(), mutated.splitlines()
    if len(before) != len(after):
        return None
    return {number for number, (old, new) in enumerate(zip(before, after, strict=True), start=1) if old != new}


def chosen_tests(record: dict, mutated: str) -> list[str]:
    """The tests to run against ``mutated``, the quickest first: those that ran its changed
    lines, or every test recorded when a changed line ran outside the tests or in none."""
    durations = record["durations"]
    everything = sorted(durations, key=lambda test: (durations[test], test))
    changed = changed_lines(record["original"], mutated)
    if not changed:  # unplaced, or nothing changed (then nothing can tell them apart anyway)
        return everything
    tests: set[str] = set()
    for number in changed:
        contexts = record["lines"].get(str(number))
        if not contexts or OUTSIDE in contexts:
            return everything
        tests.update(contexts)
    return [test for test in everything if test in tests]


def select(record_path: str, arguments: Sequence[str]) -> list[str]:
    """pytest's ``arguments`` with the test paths that were recorded replaced by the tests
    chosen for the module recorded in ``record_path`` as it now is (:func:`chosen_tests`)."""
    record = json.loads(Path(record_path).read_text())
    tests = chosen_tests(record, Path(record["module"]).read_text())
    return [argument for argument in arguments if argument not in record["paths"]] + tests
