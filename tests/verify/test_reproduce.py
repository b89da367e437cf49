"""The reproduce command of a failure carries every option that decides its verdict."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from eqconform.specs import get_spec
from eqconform.verify import engine
from eqconform.verify.search import SearchSettings
from eqconform.verify.targets import resolve_target

BUGGY = Path(__file__).parent.parent / "handins" / "bug_layernorm_unbiased_variance"


@pytest.mark.parametrize("profile", ["default", "hard"])
def test_the_command_names_target_spec_seed_examples_and_profile(profile: str) -> None:
    target = resolve_target(f"mytorch:{BUGGY}")
    options = SearchSettings(max_examples=7, seed=11, profile=profile)
    result = engine.check(get_spec("layernorm.variance"), target, options)
    assert result.reproduce is not None
    words = shlex.split(result.reproduce)
    assert words[:2] == ["eqconform", "report"]
    pairs = dict(zip(words[2::2], words[3::2]))
    assert pairs["--target"] == target.name and pairs["--spec"] == "layernorm.variance"
    assert pairs["--seed"] == "11" and pairs["--max-examples"] == "7"
    assert pairs.get("--profile", "default") == profile
