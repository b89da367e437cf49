"""The specs of one component share the cases their searches draw, without changing a verdict."""

from __future__ import annotations

import dataclasses
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
    # clock is the examples examined: one second each, from a clock that does not start at 0.
    clock = [0.0]
    examined: list[int] = []
    monkeypatch.setattr(search, "time", SimpleNamespace(monotonic=lambda: clock[0]))

    def examine(case: int) -> Finding:
        clock[0] += 1.0
        examined.append(case)
        return Finding(observable=True, passed=case < 10)

    def searched(limit: float | None) -> search.SearchSummary:
        clock[0] = 1000.0
        examined.clear()
        with search.observations(object(), time_limit=limit):
            return search.run_search(st.integers(0, 10**6), examine, [], SearchSettings(max_examples=200, seed=5))

    unhurried = searched(None)
    assert isinstance(unhurried.failure, search.Mismatch) and unhurried.failure.case == 10
    assert not unhurried.shrinking_stopped and unhurried.examples > 12
    hurried = searched(12.0)
    assert isinstance(hurried.failure, search.Mismatch) and hurried.shrinking_stopped
    assert hurried.failure.case >= 10  # a real counterexample, the smallest seen in time
    first_failure = next(index for index, case in enumerate(examined) if case >= 10)
    assert first_failure < 6  # (so that shrinking had time left)
    # Shrinking goes on while the clock is at most 1000 + 12 * SHRINK_SHARE: the example that
    # passes that mark is the last one examined.
    assert hurried.examples == len(examined) == 12 * search.SHRINK_SHARE + 1
    result = outcome_from_search(get_spec("layernorm.mean"), hurried, str)
    assert "Shrinking stopped at 50% of the check's time limit" in result.message


# --------------------------------------------------------------------------- the parts


def test_the_default_search_is_the_documented_one() -> None:
    # README and docs: 100 examples and seed 0 unless told otherwise; fresh cases for an
    # explanation are drawn with the same default seed.
    assert (SearchSettings().max_examples, SearchSettings().seed) == (100, 0)
    assert search.drawn_cases(st.integers(0, 10**6), 7) == search.drawn_cases(st.integers(0, 10**6), 7, seed=0)


def test_fresh_cases_are_as_many_as_asked_and_the_same_for_a_seed() -> None:
    cases = st.integers(0, 10**6)
    assert len(search.drawn_cases(cases, 7, seed=4)) == 7
    assert len(search.drawn_cases(cases, 150, seed=4)) == 150  # more than any profile's default
    assert search.drawn_cases(cases, 20, seed=4) == search.drawn_cases(cases, 20, seed=4)
    assert search.drawn_cases(cases, 20, seed=4) != search.drawn_cases(cases, 20, seed=5)


def test_a_summary_keeps_the_worst_finding_and_the_variants_every_pass_agreed_on() -> None:
    summary = search.SearchSummary()
    assert summary.notes == [] and summary.notes is not search.SearchSummary().notes
    for ratio, variants, through in ((0.5, {"a", "b"}, None), (2.0, {"a"}, "m"), (1.0, {"a", "c"}, "v")):
        summary.add(Finding(observable=True, passed=True, variants=frozenset(variants), ratio=ratio,
                            through=through))
    summary.add(Finding(observable=False, passed=True, ratio=9.0))  # unobservable: not counted
    assert summary.worst is not None and summary.worst.ratio == 2.0
    assert summary.variants == {"a"} and summary.observable_examples == 3
    assert summary.through == "m"  # the first quantity a finding was compared through
    # Of equally bad findings, the first (the earliest example) is kept.
    summary.add(Finding(observable=True, passed=True, variants=frozenset({"a"}), ratio=2.0, detail="later"))
    assert summary.worst.detail == ""


def test_a_memory_keeps_records_up_to_four_mebibytes_and_notes_only_hashable_keys() -> None:
    from eqconform.verify.judge import Record

    def records(nbytes: int) -> list[Record]:
        return [Record("r", {"x": np.zeros(nbytes // 8)}, frozenset({"x"}), np.dtype(np.float64))]

    memory = search.Observations()
    assert (memory.budget, memory.largest, memory.used) == (96 * 2**20, 4 * 2**20, 0)
    memory.keep("largest", records(4 * 2**20))
    memory.keep("larger", records(4 * 2**20 + 8))
    assert memory.get("largest") is not None and memory.get("larger") is None
    assert memory.used == 4 * 2**20
    scalars = [Record("s", {"t": 3, "lr": 0.5}, frozenset({"t"}), np.dtype(np.float64))]
    memory.keep("scalars", scalars)  # values without arrays weigh nothing
    assert memory.get("scalars") is scalars and memory.used == 4 * 2**20
    full = search.Observations(budget=1600, largest=1000)
    for name in ("one", "two"):  # 800 bytes each: exactly the budget, both kept
        full.keep(name, records(800))
    assert full.get("one") is not None and full.get("two") is not None and full.used == 1600
    assert memory.note(["unhashable"]) is None
    memory.annotate(["unhashable"], "nothing kept")
    memory.annotate("key", "kept")
    assert memory.note("key") == "kept" and memory.note("other") is None


def test_only_the_latest_entries_are_remembered() -> None:
    memory: search.OrderedDict = search.OrderedDict()
    for index in range(40):
        search._remember(memory, index, str(index), kept=32)
        assert len(memory) == min(index + 1, 32)
    assert list(memory) == list(range(8, 40))
    search._remember(memory, 8, "again", kept=32)  # the oldest, given again: now the latest
    assert list(memory)[-1] == 8 and len(memory) == 32


def test_two_kinds_of_failure_end_a_search_with_one_of_them(searches: list[str]) -> None:
    """Hypothesis would report both as an ExceptionGroup, which no caller expects."""

    def examine(case: int) -> Finding:
        if case < -10:
            raise search.TargetRaised(case, ValueError("negative"))
        return Finding(observable=True, passed=case <= 10)

    summary = search.run_search(st.integers(), examine, [], SearchSettings(max_examples=300, seed=1))
    assert isinstance(summary.failure, (search.Mismatch, search.TargetRaised))
    # The counterexample is reported by eqconform, with its own command to reproduce it, not
    # with Hypothesis's hint about a decorator for a test function that does not exist.
    assert not getattr(summary.failure, "__notes__", None)


def test_a_passing_searchs_cases_are_stored_only_when_their_key_held_throughout(
    searches: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stored: list[str] = []
    monkeypatch.setattr(search, "store_drawn", lambda key, cases: stored.append(key))
    keys = iter(["a", "b"])  # the constants Hypothesis draws from changed during the search
    monkeypatch.setattr(search, "drawn_key", lambda cases, seed, count: next(keys))
    passing = lambda case: Finding(observable=True, passed=True)  # noqa: E731
    search.run_search(st.integers(), passing, [], SearchSettings(max_examples=10, seed=1), draws="one")
    assert stored == []
    keys = iter(["b", "a"])  # (changed the other way)
    search.run_search(st.integers(), passing, [], SearchSettings(max_examples=10, seed=1), draws="other")
    assert stored == []
    keys = iter(["c", "c"])
    search.run_search(st.integers(), passing, [], SearchSettings(max_examples=10, seed=1), draws="two")
    assert stored == ["c"]


def test_cases_remembered_in_this_process_are_replayed_without_reading_the_disk(
    searches: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    passing = lambda case: Finding(observable=True, passed=True)  # noqa: E731
    first = search.run_search(st.integers(), passing, [], SearchSettings(max_examples=10, seed=1), draws="k")
    assert searches == ["search"]

    def no_disk(*args: object) -> None:
        raise AssertionError("the cases are in memory: the disk need not be read")

    monkeypatch.setattr(search, "drawn_key", no_disk)
    monkeypatch.setattr(search, "load_drawn", no_disk)
    again = search.run_search(st.integers(), passing, [], SearchSettings(max_examples=10, seed=1), draws="k")
    assert searches == ["search"] and again.examples == first.examples == 10


def test_a_kept_case_drops_what_it_cached() -> None:
    @dataclasses.dataclass
    class Case:
        seed: int
        built: list = dataclasses.field(default_factory=list, init=False)  # arrays made from the seed

    case = Case(3)
    case.built.append("a large array")
    fresh = search._fresh(case)
    assert fresh == Case(3) and fresh is not case and fresh.built == [] and case.built == ["a large array"]
    assert search._fresh(Case) is Case and search._fresh(7) == 7  # a class, or no dataclass: as it is


def test_hand_picked_cases_end_at_the_first_that_fails() -> None:
    def examine(case: int) -> Finding:
        if case == 2:
            raise search.TargetRaised(case, ValueError("two"))
        return Finding(observable=True, passed=case < 2)

    options = SearchSettings(max_examples=5, seed=1)
    summary = search.run_search(st.integers(0, 1), examine, [0, 2, 3], options)
    assert isinstance(summary.failure, search.TargetRaised) and summary.failure.case == 2
    summary = search.run_search(st.integers(0, 1), examine, [1, 3, 2, 4], options)
    assert isinstance(summary.failure, search.Mismatch) and summary.failure.case == 3


def test_settings_are_shared_so_they_cannot_be_changed_in_place() -> None:
    # One SearchSettings serves every check of a run (each gets its own by for_check): a check
    # changing it in place would change the next one's. Being frozen, it is also hashable.
    options = SearchSettings(max_examples=5, seed=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.seed = 2  # type: ignore[misc]
    assert hash(options) == hash(SearchSettings(max_examples=5, seed=1))
    checked = options.for_check("adam.update", "numpy")
    assert (checked.spec, checked.target, options.spec) == ("adam.update", "numpy", None)
