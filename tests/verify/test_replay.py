"""Remembered counterexamples: a bug found once is caught on every later run.

The target is a Dropout that is right except at test time on inputs with exactly 13 features:
random search finds that rarely. Each test first looks, in the process that will run the checks,
for a seed with which a small search (10 examples) misses the bug on an empty example database,
then runs larger searches (300 examples; the seeds tried in order) until one finds it, and then
shows the small search failing on it first thing. Seeds are looked up rather than fixed because
which inputs a seed draws depends on the strategies and on the process (Hypothesis also draws
the constants of the local modules it has seen), and only the outcome "found by one run,
replayed by the next" is the property under test.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from eqconform.verify.results import Outcome
from eqconform.specs import get_spec
from eqconform.verify import engine
from eqconform.verify.cli import main
from eqconform.verify.search import SearchSettings, examples_database
from eqconform.verify.targets import resolve_target

pytest_plugins = ["pytester"]

SPEC = "dropout.eval"
SMALL_EXAMPLES, FINDING_EXAMPLES = 10, 300

RARE_DROPOUT = textwrap.dedent('''
    """A Dropout that is right except at test time on inputs with exactly 13 features."""
    import numpy as np


    class _Session:
        def __init__(self, p, seed):
            self.p, self.rng, self.mask = p, np.random.default_rng(seed), None

        def forward(self, x, train):
            if not train:
                return x + 1.0 if x.shape[1] == BROKEN_WIDTH else x.copy()
            self.mask = self.rng.random(x.shape) >= self.p
            return x * self.mask / (1 - self.p)

        def backward(self, delta):
            return delta * self.mask / (1 - self.p)


    class RareDropout:
        def dropout(self, p, seed):
            return _Session(p, seed)
''')


def write_rare_dropout(folder: Path, broken_width: int = 13) -> Path:
    path = folder / "rare_dropout.py"
    path.write_text(RARE_DROPOUT.replace("BROKEN_WIDTH", str(broken_width)))
    return path


def _check(reference: str, options: SearchSettings, spec: str = SPEC):
    return engine.check(get_spec(spec), resolve_target(reference), options)


def first_seed(run, wanted, tries: int) -> int:
    """The first seed ``s`` in ``range(tries)`` with ``run(s) == wanted``."""
    for seed in range(tries):
        if run(seed) == wanted:
            return seed
    pytest.fail(f"no seed in 0..{tries - 1} gave {wanted!r}")


def small_seed(reference: str, scratch: Path) -> int:
    """A seed with which the small search misses the bug on an empty database."""
    return first_seed(lambda s: _check(reference, SearchSettings(
        SMALL_EXAMPLES, s, examples_database(scratch / f"empty-{s}"))).outcome, Outcome.PASS, 30)


def find_bug(reference: str, database) -> tuple[int, object]:
    """Larger searches on ``database`` until one finds the bug: (its seed, its result)."""
    found = {}

    def run(seed: int) -> Outcome:
        found[seed] = _check(reference, SearchSettings(FINDING_EXAMPLES, seed, database))
        return found[seed].outcome

    seed = first_seed(run, Outcome.FAIL, 60)
    return seed, found[seed]


def test_a_bug_found_once_is_replayed_first_on_every_later_run(tmp_path: Path) -> None:
    reference = f"file:{write_rare_dropout(tmp_path)}:RareDropout"
    seed = small_seed(reference, tmp_path)
    database = examples_database(tmp_path / "examples")
    small = SearchSettings(max_examples=SMALL_EXAMPLES, seed=seed, database=database)

    assert _check(reference, small).outcome is Outcome.PASS  # missed on an empty database
    _, found = find_bug(reference, database)
    assert "x 13 input" in (found.counterexample or "")
    for _ in range(3):
        again = _check(reference, small)
        assert again.outcome is Outcome.FAIL
        assert again.counterexample == found.counterexample
        assert again.examples <= 2  # the remembered example ran first (and failed at once)

    # The database is what makes the difference: without it, or with another one, the same
    # small search misses the bug again.
    assert _check(reference, SearchSettings(SMALL_EXAMPLES, seed)).outcome is Outcome.PASS
    other = SearchSettings(SMALL_EXAMPLES, seed, examples_database(tmp_path / "other"))
    assert _check(reference, other).outcome is Outcome.PASS


def test_each_check_replays_only_its_own_counterexamples(tmp_path: Path) -> None:
    reference = f"file:{write_rare_dropout(tmp_path)}:RareDropout"
    (tmp_path / "twin").mkdir()
    twin = f"file:{write_rare_dropout(tmp_path / 'twin')}:RareDropout"  # the same bug, another target
    seed = small_seed(reference, tmp_path)
    database = examples_database(tmp_path / "examples")
    small = SearchSettings(SMALL_EXAMPLES, seed, database)
    find_bug(reference, database)

    # The twin has the same bug, but the counterexample belongs to the check that found it: the
    # twin's small search replays nothing and misses the bug, as on an empty database.
    assert _check(twin, small).outcome is Outcome.PASS
    # Passing checks of other targets and specs leave it in place.
    assert _check("numpy", small).outcome is Outcome.PASS
    assert _check(reference, small, spec="dropout.backward").outcome is Outcome.PASS
    assert _check(reference, small).outcome is Outcome.FAIL


def test_a_fixed_bug_passes_although_its_counterexample_is_remembered(tmp_path: Path) -> None:
    reference = f"file:{write_rare_dropout(tmp_path)}:RareDropout"
    seed = small_seed(reference, tmp_path)
    database = examples_database(tmp_path / "examples")
    small = SearchSettings(SMALL_EXAMPLES, seed, database)
    find_bug(reference, database)
    assert _check(reference, small).outcome is Outcome.FAIL

    write_rare_dropout(tmp_path, broken_width=-1)  # fixed: the replayed examples pass now
    for _ in range(2):
        assert _check(reference, small).outcome is Outcome.PASS


def _report(reference: str, output: Path, max_examples: int, seed: int, *extra: str) -> tuple[int, dict]:
    code = main(["report", "--target", reference, "--spec", SPEC, "--max-examples", str(max_examples),
                 "--seed", str(seed), "-o", str(output), "--quiet", *extra])
    (result,) = json.loads((output / "report.json").read_text())["results"]
    return code, result


def test_the_command_line_remembers_counterexamples_across_runs(tmp_path: Path) -> None:
    """Through worker processes: the database travels to them with the settings."""
    reference = f"file:{write_rare_dropout(tmp_path)}:RareDropout"
    examples = ["--examples-dir", str(tmp_path / "examples")]
    results: list[dict] = []

    def report(max_examples: int, seed: int, *extra: str) -> int:
        code, result = _report(reference, tmp_path / f"report-{len(results)}", max_examples, seed, *extra)
        results.append(result)
        return code

    seed = first_seed(lambda s: report(SMALL_EXAMPLES, s, "--examples-dir", str(tmp_path / f"empty-{s}")), 0, 30)
    assert report(SMALL_EXAMPLES, seed, *examples) == 0
    first_seed(lambda s: report(FINDING_EXAMPLES, s, *examples), 1, 30)
    found = results[-1]
    assert found["outcome"] == "fail" and "x 13 input" in found["counterexample"]
    assert report(SMALL_EXAMPLES, seed, *examples) == 1
    assert results[-1]["counterexample"] == found["counterexample"]
    # --no-examples-db: the verdict depends on the seed alone again.
    assert report(SMALL_EXAMPLES, seed, "--no-examples-db") == 0


def _pytest(pytester: pytest.Pytester, max_examples: int, seed: int, *extra: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "--eqconform", "--eqconform-target",
                              "file:rare_dropout.py:RareDropout", "--eqconform-spec", SPEC,
                              "--eqconform-max-examples", str(max_examples), "--eqconform-seed", str(seed), *extra)


def _passed(result: pytest.RunResult) -> bool:
    outcomes = result.parseoutcomes()
    return outcomes.get("passed", 0) == 1 and not outcomes.get("failed")


def test_pytest_remembers_counterexamples_across_runs(pytester: pytest.Pytester) -> None:
    write_rare_dropout(pytester.path)
    seed = first_seed(lambda s: _passed(_pytest(pytester, SMALL_EXAMPLES, s, "--eqconform-examples-dir",
                                                 f"empty-{s}")), True, 30)
    _pytest(pytester, SMALL_EXAMPLES, seed).assert_outcomes(passed=1)
    default = pytester.path / ".eqconform" / "examples"  # the default, under the rootdir
    assert not default.exists()  # the runs above used their own empty folders or missed the bug
    first_seed(lambda s: _passed(_pytest(pytester, FINDING_EXAMPLES, s)), False, 30)
    assert any(path.is_file() for path in default.rglob("*")), "the failing run saved nothing under the default folder"
    found = _pytest(pytester, SMALL_EXAMPLES, seed)
    found.assert_outcomes(failed=1)
    found.stdout.fnmatch_lines(["*dropout.eval?file:rare_dropout.py:RareDropout?*", "*Minimal counterexample:*",
                                "*x 13 input*"])
    # Another, empty folder: the same small run misses the bug, so it was the default folder's.
    _pytest(pytester, SMALL_EXAMPLES, seed, "--eqconform-examples-dir", "elsewhere").assert_outcomes(passed=1)
    _pytest(pytester, SMALL_EXAMPLES, seed, "--eqconform-no-examples-db").assert_outcomes(passed=1)


def test_pytest_replays_what_the_command_line_found(pytester: pytest.Pytester) -> None:
    """Both default to .eqconform/examples (the CLI under its working directory, pytest under
    its rootdir) and key a check by spec and target, so they share what they found."""
    write_rare_dropout(pytester.path)
    reference = "file:rare_dropout.py:RareDropout"
    seed = first_seed(lambda s: _passed(_pytest(pytester, SMALL_EXAMPLES, s, "--eqconform-examples-dir",
                                                 f"empty-{s}")), True, 30)
    _pytest(pytester, SMALL_EXAMPLES, seed).assert_outcomes(passed=1)
    first_seed(lambda s: _report(reference, pytester.path / f"report-{s}", FINDING_EXAMPLES, s)[0], 1, 30)
    _pytest(pytester, SMALL_EXAMPLES, seed).assert_outcomes(failed=1)


def test_examples_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    for arguments, message in [
        (["--examples-dir", str(tmp_path), "--no-examples-db"], "--examples-dir and --no-examples-db exclude each other"),
        (["--examples-dir", str(blocker)], f"examples directory {str(blocker)!r} exists and is not a directory"),
    ]:
        assert main(["report", "--spec", SPEC, "-o", str(tmp_path / "out"), *arguments]) == 2
        err = capsys.readouterr().err
        assert err == f"eqconform: error: {message}\n"
    assert not (tmp_path / "out").exists()
