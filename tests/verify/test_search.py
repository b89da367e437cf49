"""The specs of one component share the cases their searches draw, without changing a verdict."""

from __future__ import annotations

import shutil
import sys

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import strategies as st

from eqconform.specs import get_spec
from eqconform.verify import drawn, engine, search
from eqconform.verify.cache import DiskCache
from eqconform.verify.components.base import outcome_from_search
from eqconform.verify.judge import Finding
from eqconform.verify.search import SearchSettings, examples_database
from eqconform.verify.targets import resolve_target

HANDINS = Path(__file__).parent.parent / "handins"
OPTIONS = SearchSettings(max_examples=30, seed=3)


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The checks that ran a Hypothesis search (the others replayed shared draws); the draws
    kept in memory and on disk start empty."""
    monkeypatch.setattr(search, "_DRAWN", search.OrderedDict())
    monkeypatch.setattr(drawn, "DRAWN", DiskCache("drawn", root=tmp_path / "cache"))
    started: list[str] = []
    given = search.given

    def counting(*args, **kwargs):
        # Fresh cases drawn to test an explanation on (search.drawn_cases) are no search.
        if sys._getframe(1).f_code.co_name != "drawn_cases":
            started.append("search")
        return given(*args, **kwargs)

    monkeypatch.setattr(search, "given", counting)
    return started


def _forget_draws() -> None:
    """Forget what passing searches drew, in memory and on disk: the next search draws anew."""
    search._DRAWN.clear()
    shutil.rmtree(drawn.DRAWN.folder, ignore_errors=True)


def _outcome(result) -> tuple:
    return (result.outcome, result.variant, result.examples, result.max_error, result.counterexample)


def test_the_second_spec_replays_the_first_specs_draws_with_the_same_verdict(searches: list[str]) -> None:
    target = resolve_target("numpy")
    first = engine.check(get_spec("layernorm.mean"), target, OPTIONS)
    shared = engine.check(get_spec("layernorm.variance"), target, OPTIONS)
    assert searches == ["search"]  # the variance replayed the mean's cases
    _forget_draws()
    alone = engine.check(get_spec("layernorm.variance"), target, OPTIONS)
    assert searches == ["search", "search"]
    assert _outcome(shared) == _outcome(alone)
    assert first.examples == alone.examples


def test_a_spec_failing_on_the_shared_draws_searches_and_shrinks_afresh(searches: list[str]) -> None:
    target = resolve_target(f"mytorch:{HANDINS / 'bug_layernorm_unbiased_variance'}")
    engine.check(get_spec("layernorm.mean"), target, OPTIONS)
    shared = engine.check(get_spec("layernorm.variance"), target, OPTIONS)
    assert len(searches) == 2 and shared.variant == "unbiased"
    _forget_draws()
    alone = engine.check(get_spec("layernorm.variance"), resolve_target(target.name), OPTIONS)
    assert _outcome(shared) == _outcome(alone)


def test_other_seeds_and_saved_counterexamples_search_afresh(searches: list[str], tmp_path: Path) -> None:
    numpy = resolve_target("numpy")
    engine.check(get_spec("layernorm.mean"), numpy, OPTIONS)
    engine.check(get_spec("layernorm.mean"), numpy, SearchSettings(max_examples=30, seed=4))
    engine.check(get_spec("layernorm.mean"), numpy, SearchSettings(max_examples=31, seed=3))
    assert len(searches) == 3
    database = examples_database(tmp_path / "examples")
    key = search._KEY_PREFIX + search.check_key("layernorm.variance", numpy.name).encode()
    database.save(key, b"\x00")  # a saved counterexample of this check is replayed by a search
    engine.check(get_spec("layernorm.variance"), numpy, SearchSettings(max_examples=30, seed=3, database=database))
    assert len(searches) == 4


def test_another_target_replays_the_draws_of_a_passing_search_from_disk(searches: list[str]) -> None:
    # What a passing search drew depends on the seed and the strategy alone: the next target
    # (another handin, another process) is examined on the same cases without Hypothesis.
    numpy, handin = resolve_target("numpy"), resolve_target(f"mytorch:{HANDINS / 'correct_spring'}")
    engine.check(get_spec("layernorm.mean"), numpy, OPTIONS)
    search._DRAWN.clear()  # as in another process: only the disk remembers
    replayed = engine.check(get_spec("layernorm.mean"), handin, OPTIONS)
    assert searches == ["search"]
    _forget_draws()
    searched = engine.check(get_spec("layernorm.mean"), resolve_target(handin.name), OPTIONS)
    assert searches == ["search", "search"]
    assert _outcome(replayed) == _outcome(searched)


def test_a_failure_on_replayed_draws_is_searched_and_shrunk_as_without_them(searches: list[str]) -> None:
    numpy = resolve_target("numpy")
    buggy = f"mytorch:{HANDINS / 'bug_layernorm_unbiased_variance'}"
    engine.check(get_spec("layernorm.variance"), numpy, OPTIONS)
    search._DRAWN.clear()
    replayed = engine.check(get_spec("layernorm.variance"), resolve_target(buggy), OPTIONS)
    assert len(searches) == 2  # the replay failed, so Hypothesis searched and shrank
    _forget_draws()
    alone = engine.check(get_spec("layernorm.variance"), resolve_target(buggy), OPTIONS)
    assert replayed.outcome.value == "fail"
    assert _outcome(replayed) == _outcome(alone)


class CountingLayerNorm:
    """The bundled LayerNorm through an adapter object that counts its calls."""

    def __init__(self) -> None:
        from eqconform.impl import ADAPTER

        self.calls = 0
        self._bundled = ADAPTER

    def layernorm(self, Z, gamma, beta, eps, G):
        self.calls += 1
        return self._bundled._homework["layernorm"].run(Z, gamma, beta, eps, G)


def test_what_the_target_did_is_judged_again_for_the_next_spec(searches: list[str]) -> None:
    from eqconform.verify.targets.user import ObjectTarget

    counting = CountingLayerNorm()
    target = ObjectTarget(counting, name="counting")
    search._MEMORIES[target] = search.Observations(largest=2**30)
    engine.check(get_spec("layernorm.mean"), target, OPTIONS)
    first = counting.calls
    shared = engine.check(get_spec("layernorm.variance"), target, OPTIONS)
    assert first > OPTIONS.max_examples
    assert counting.calls - first == 2  # only the repeatability check asks again (twice)
    fresh = ObjectTarget(counting, name="counting")  # the same name, another target: no memory
    _forget_draws()
    before = counting.calls
    alone = engine.check(get_spec("layernorm.variance"), fresh, OPTIONS)
    assert counting.calls - before > OPTIONS.max_examples
    assert _outcome(shared) == _outcome(alone)


def test_large_records_and_unhashable_cases_are_observed_afresh() -> None:
    from eqconform.verify.judge import Record

    kept = search.Observations(budget=3000, largest=1000)
    small = [Record("small", {"x": np.zeros(100)}, frozenset({"x"}), np.dtype(np.float64))]
    large = [Record("large", {"x": np.zeros(200)}, frozenset({"x"}), np.dtype(np.float64))]
    kept.keep("large", large)
    assert kept.get("large") is None
    kept.keep(("unhashable", [1]), small)
    assert kept.get(("unhashable", [1])) is None
    for index in range(4):  # 800 bytes each: the oldest goes when a fourth would pass 3000
        kept.keep(index, small)
    assert kept.get(0) is None and kept.get(3) is small and kept.used == 2400


def test_outside_a_check_nothing_is_remembered() -> None:
    class Target:
        pass

    one, other = Target(), Target()
    assert search.current_observations() is None
    with search.observations(one):
        remembered = search.current_observations()
        assert isinstance(remembered, search.Observations)
    with search.observations(other):
        assert search.current_observations() is not remembered
    with search.observations(one):
        assert search.current_observations() is remembered
    with search.observations(object()):  # cannot be weakly referenced: remembers nothing
        assert search.current_observations() is None
    assert search.current_observations() is None


BEHAVIOURS = Path(__file__).parent.parent / "faults" / "library_behaviours.py"


def test_a_spec_failing_on_a_neighbours_counterexample_takes_it_without_a_search(searches: list[str]) -> None:
    target = resolve_target(f"file:{BEHAVIOURS}:ZeroLayerNorm")
    first = engine.check(get_spec("layernorm.mean"), target, OPTIONS)
    shared = engine.check(get_spec("layernorm.variance"), target, OPTIONS)
    assert searches == ["search"]  # the variance failed on the mean's counterexample at once
    assert shared.examples == 1 and shared.found_by == "layernorm.mean" and first.found_by is None
    case = first.counterexample.splitlines()[:-1]
    assert shared.counterexample.splitlines()[:-1] == case
    _forget_draws()
    again = resolve_target(target.name)  # the same name, another target: its own memory
    alone = engine.check(get_spec("layernorm.variance"), again, OPTIONS)
    assert searches == ["search", "search"]
    assert (alone.outcome, alone.variant) == (shared.outcome, shared.variant)


def test_a_neighbours_counterexample_that_passes_is_searched_past(searches: list[str]) -> None:
    target = resolve_target(f"mytorch:{HANDINS / 'bug_layernorm_unbiased_variance'}")
    engine.check(get_spec("layernorm.variance"), target, OPTIONS)  # fails: its case is kept
    later = engine.check(get_spec("layernorm.mean"), target, OPTIONS)
    assert later.outcome.value == "pass" and later.examples > 1
    assert len(searches) == 2


def test_a_search_stops_shrinking_at_its_share_of_the_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # A slow target's failure (a hard-profile run of thousands of steps) must end in a verdict
    # on the smallest counterexample found in time, not in a time-out while shrinking. The
    # clock is the examples examined: one second each.
    clock = [0.0]
    monkeypatch.setattr(search, "time", SimpleNamespace(monotonic=lambda: clock[0]))

    def examine(case: int) -> Finding:
        clock[0] += 1.0
        return Finding(observable=True, passed=case < 10)

    def searched(limit: float | None) -> search.SearchSummary:
        clock[0] = 0.0
        with search.observations(object(), time_limit=limit):
            return search.run_search(st.integers(0, 10**6), examine, [], SearchSettings(max_examples=200, seed=5))

    unhurried = searched(None)
    assert isinstance(unhurried.failure, search.Mismatch) and unhurried.failure.case == 10
    assert not unhurried.shrinking_stopped and unhurried.examples > 12
    hurried = searched(12.0)
    assert isinstance(hurried.failure, search.Mismatch) and hurried.shrinking_stopped
    assert hurried.failure.case >= 10  # a real counterexample, the smallest seen in time
    assert hurried.examples <= 12 * search.SHRINK_SHARE + 1  # nothing examined after the cut
    result = outcome_from_search(get_spec("layernorm.mean"), hurried, str)
    assert "Shrinking stopped at 50% of the check's time limit" in result.message
