"""Fixtures the verify tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from eqconform.verify import cache, graph


@pytest.fixture
def programs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> cache.DiskCache:
    """An empty program cache of the test's own, in place of the user's (compiled predictors
    are stored there, and a stored one is not compiled again)."""
    store = cache.DiskCache("programs", root=tmp_path)
    monkeypatch.setattr(graph, "PROGRAMS", store)
    return store
