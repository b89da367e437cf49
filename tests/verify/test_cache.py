"""The disk cache: entries round-trip, corrupt or foreign entries are ignored, writes are atomic."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from eqconform.verify.cache import DiskCache, cache_root, key, source_texts


def test_an_entry_round_trips_and_a_missing_one_is_none(tmp_path: Path) -> None:
    cache = DiskCache("things", root=tmp_path)
    assert cache.get(key(["a"])) is None
    assert cache.put(key(["a"]), {"answer": 42, "list": [1, 2]})
    assert cache.get(key(["a"])) == {"answer": 42, "list": [1, 2]}
    assert cache.get(key(["b"])) is None


def test_keys_depend_on_every_part_and_its_boundaries() -> None:
    assert key(["ab", "c"]) != key(["a", "bc"])
    assert key(["a"]) != key(["a", ""])
    assert key(["x", "y"]) == key(["x", "y"])


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"key": "other", "value": {}}',
                                     '{"value": {"answer": 1}}', "\udcff"])
def test_a_corrupt_or_misfiled_entry_is_ignored_and_rewritten(tmp_path: Path, content: str) -> None:
    cache = DiskCache("things", root=tmp_path)
    entry = key(["a"])
    (tmp_path / "things").mkdir()
    (tmp_path / "things" / f"{entry}.json").write_text(content, errors="surrogateescape")
    assert cache.get(entry) is None
    assert cache.put(entry, {"answer": 1}) and cache.get(entry) == {"answer": 1}


def test_an_unwritable_cache_is_no_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = DiskCache("things", root=blocker)  # a file where the folder should be
    assert cache.put(key(["a"]), {"x": 1}) is False
    assert cache.get(key(["a"])) is None
    assert cache.put(key(["a"]), {"x": object()}) is False  # not JSON: refused, nothing half-written



def test_a_value_that_is_not_json_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    cache = DiskCache("things", root=tmp_path)
    opened = len(os.listdir("/proc/self/fd"))
    for bad in ({"x": object()}, {"x": float("nan"), "y": {1j}}):
        assert cache.put(key(["a"]), bad) is False
    assert cache.get(key(["a"])) is None
    assert not (tmp_path / "things").exists() or not list((tmp_path / "things").iterdir())
    assert len(os.listdir("/proc/self/fd")) == opened  # no temporary file left open

def test_concurrent_writers_leave_one_whole_entry(tmp_path: Path) -> None:
    cache = DiskCache("things", root=tmp_path)
    entry = key(["shared"])
    values = [{"writer": n, "payload": "x" * 100_000} for n in range(8)]
    threads = [threading.Thread(target=cache.put, args=(entry, value)) for value in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get(entry) in values
    assert [path.name for path in (tmp_path / "things").iterdir()] == [f"{entry}.json"]  # no temporary left
    json.loads((tmp_path / "things" / f"{entry}.json").read_text())


def test_the_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EQCONFORM_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    monkeypatch.delenv("EQCONFORM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "eqconform"


def test_source_texts_follow_the_versions_the_names_and_the_source(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    one, two = tmp_path / "pkg" / "one.py", tmp_path / "two.py"
    one.write_text("x = 1\n")
    two.write_bytes(b"y = '\xff'\n")  # not UTF-8: read all the same
    texts = source_texts([one, two], versions=["sympy 1"], root=tmp_path)
    assert texts == ("sympy 1", "pkg/one.py\nx = 1\n", "two.py\ny = '\udcff'\n")
    assert key(texts) == key(source_texts([one, two], versions=["sympy 1"], root=tmp_path))
    assert source_texts([one])[0].startswith("one.py\n")  # named by the file's name alone
    before = key(texts)
    one.write_text("x = 2\n")
    assert key(source_texts([one, two], versions=["sympy 1"], root=tmp_path)) != before
    assert key(source_texts([one, two], versions=["sympy 2"], root=tmp_path)) != before


def test_an_unreadable_source_never_gives_the_same_key_twice(tmp_path: Path) -> None:
    gone = tmp_path / "gone.py"
    assert key(source_texts([gone])) != key(source_texts([gone]))
    assert key(source_texts([tmp_path])) != key(source_texts([tmp_path]))  # a folder
