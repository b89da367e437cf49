"""The cases of passing searches kept on disk: exactly what Hypothesis draws, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st

from eqconform.verify import drawn, search
from eqconform.verify.cache import DiskCache
from eqconform.verify.components import COMPONENTS
from eqconform.verify.components.oracle import OracleSearch
from eqconform.verify.judge import Finding
from eqconform.verify.search import SearchSettings, drawn_cases, run_search
from eqconform.verify.strategies.arrays import ArrayRecipe
from eqconform.verify.strategies.layernorm import LayerNormInput


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> DiskCache:
    monkeypatch.setattr(search, "_DRAWN", search.OrderedDict())
    cache = DiskCache("drawn", root=tmp_path)
    monkeypatch.setattr(drawn, "DRAWN", cache)
    return cache


def _searches() -> dict[str, OracleSearch]:
    found: dict[int, tuple[str, OracleSearch]] = {}
    for name, component in COMPONENTS.items():
        for check in component.checks.values():
            if isinstance(check.search, OracleSearch):
                found.setdefault(id(check.search), (name, check.search))
    return dict(found.values())


SEARCHES = _searches()


@pytest.mark.parametrize("component", sorted(SEARCHES))
def test_every_components_cases_come_back_equal_from_their_entry(component: str) -> None:
    cases = drawn_cases(SEARCHES[component].cases(), 15, seed=2)
    encoded = drawn.encode_cases(cases)
    assert encoded is not None
    assert drawn.decode_cases(json.loads(json.dumps(encoded))) == tuple(cases)


def _record(options: SearchSettings, strategy: st.SearchStrategy, failing=lambda case: False):
    seen: list = []

    def examine(case) -> Finding:
        seen.append(case)
        return Finding(observable=True, passed=not failing(case), ratio=2.0 if failing(case) else 0.5)

    summary = run_search(strategy, examine, (), options, draws=("test", options.seed))
    return seen, summary


@pytest.mark.parametrize("component", ["adam", "layernorm", "dropout", "ln_scaling"])
def test_the_replayed_cases_are_the_ones_a_fresh_search_draws(component: str, fresh: DiskCache) -> None:
    options = SearchSettings(max_examples=25, seed=7)
    strategy = SEARCHES[component].cases()
    first, _ = _record(options, strategy)
    assert len(list(fresh.folder.iterdir())) == 1
    search._DRAWN.clear()  # as in another process
    replayed, summary = _record(options, strategy)
    assert replayed == first and summary.examples == len(first)
    for entry in fresh.folder.iterdir():
        entry.unlink()
    search._DRAWN.clear()
    again, _ = _record(options, strategy)  # Hypothesis itself, from the same seed
    assert again == first


def test_a_failure_among_replayed_cases_is_searched_and_shrunk_afresh() -> None:
    options = SearchSettings(max_examples=40, seed=1)
    strategy = SEARCHES["layernorm"].cases()
    recorded, _ = _record(options, strategy)
    search._DRAWN.clear()
    seen, summary = _record(options, strategy, failing=lambda case: case.rows >= 3)
    assert summary.failure is not None and summary.failure.case.rows == 3  # shrunk to the edge
    first = next(index for index, case in enumerate(recorded) if case.rows >= 3)
    # The replay stopped at the first failing case; Hypothesis then drew the same cases anew
    # from the seed, and went on to shrink.
    assert seen[: first + 1] == recorded[: first + 1]
    assert seen[first + 1 : 2 * first + 2] == recorded[: first + 1]
    assert len(seen) > 2 * first + 2


def test_the_key_names_the_strategy_seed_and_example_count() -> None:
    strategy = SEARCHES["adam"].cases()
    keys = {
        drawn.drawn_key(strategy, 0, 100),
        drawn.drawn_key(strategy, 1, 100),
        drawn.drawn_key(strategy, 0, 99),
        drawn.drawn_key(SEARCHES["adamw"].cases(), 0, 100),
    }
    assert len(keys) == 4 and None not in keys
    assert drawn.drawn_key(SEARCHES["adam"].cases(), 0, 100) == drawn.drawn_key(strategy, 0, 100)
    assert drawn.drawn_key(st.just(object()), 0, 100) is None  # an address in its repr


def test_a_strategy_without_a_stable_name_is_searched_every_time(fresh: DiskCache) -> None:
    unnamed = st.integers(0, 9).map(lambda x: object())  # cases that are no dataclass either
    _record(SearchSettings(max_examples=5), unnamed)
    opaque = st.just(object())
    _record(SearchSettings(max_examples=5), opaque)
    assert not fresh.folder.exists() or not any(fresh.folder.iterdir())


@pytest.mark.parametrize(
    "entry",
    [
        "not json",
        {"cases": "not a list"},
        {"cases": [{"case": ["os", "system"], "fields": {"command": "true"}}]},
        {"cases": [{"case": ["eqconform.verify.search", "SearchSettings"], "fields": {}}]},
        {"cases": [{"case": ["eqconform.verify.strategies.arrays", "magnitudes"], "fields": {}}]},
        {"cases": [{"case": ["eqconform.verify.strategies.arrays", "ArrayRecipe"], "fields": {"nope": 1}}]},
        {"cases": [{"float": "1.0", "extra": 2}]},
    ],
)
def test_an_entry_that_is_not_what_was_written_is_not_used(entry, fresh: DiskCache) -> None:
    options = SearchSettings(max_examples=10, seed=5)
    strategy = SEARCHES["dropout"].cases()
    key = drawn.drawn_key(strategy, options.seed, options.max_examples)
    fresh.folder.mkdir(parents=True, exist_ok=True)
    path = fresh.folder / f"{key}.json"
    path.write_text(entry if isinstance(entry, str) else json.dumps({"key": key, "value": entry}))
    assert drawn.load_drawn(key) is None
    seen, _ = _record(options, strategy)
    assert len(seen) == options.max_examples
    assert drawn.load_drawn(key) == tuple(seen)  # searched, and written over


def test_values_outside_the_format_are_refused() -> None:
    recipe = ArrayRecipe((2, 3), np.dtype(np.float32), seed=1)
    assert drawn.encode_cases([recipe]) is not None
    assert drawn.encode_cases([np.float64(1.0)]) is None  # a NumPy scalar is no Python float
    assert drawn.encode_cases([{1: 2}]) is None
    assert drawn.encode_cases([float("nan")]) is None  # NaN != NaN: not the same case back
    assert drawn.decode_cases(drawn.encode_cases([float("inf"), -0.0, 1e-310, (1, [2])])) == (
        float("inf"), -0.0, 1e-310, (1, [2]))


def test_fixed_arrays_of_a_case_come_back_bit_for_bit() -> None:
    z = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    recipe = ArrayRecipe((2, 3), np.dtype(np.float32), seed=1)
    case = LayerNormInput(np.dtype(np.float32), 1e-5, recipe, None, None, recipe, fixed={"Z": z})
    (back,) = drawn.decode_cases(drawn.encode_cases([case]))
    assert back.fixed["Z"].dtype == z.dtype and back.fixed["Z"].tobytes() == z.tobytes()


def test_the_key_names_the_constants_hypothesis_draws_from(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hypothesis mixes constants from the source of "local" modules into its draws (eqconform
    # itself when it runs from a checkout): another pool, other draws, another key.
    from hypothesis.internal.conjecture import providers
    from hypothesis.internal.constants_ast import Constants

    strategy = SEARCHES["adam"].cases()
    before = drawn.drawn_key(strategy, 0, 100)
    pool = Constants(integers={7}, floats={0.25})
    monkeypatch.setattr(providers, "_get_local_constants", lambda: pool)
    with_pool = drawn.drawn_key(strategy, 0, 100)
    pool.floats.add(0.5)
    assert len({before, with_pool, drawn.drawn_key(strategy, 0, 100)}) == 3

    def moved():
        raise AttributeError("an internal of Hypothesis that moved")

    monkeypatch.setattr(providers, "_get_local_constants", moved)
    assert drawn.drawn_key(strategy, 0, 100) is None  # no key rather than a wrong one
