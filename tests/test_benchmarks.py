"""The benchmark scripts still run (on small sizes; their figures come from `make bench`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
HANDINS = Path(__file__).parent / "handins"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while they are built
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("workload", ["adam", "layernorm_forward", "layernorm_backward"])
def test_the_oracle_workloads_build_and_agree_with_the_implementation(workload: str) -> None:
    run = _module("run")
    rng = np.random.default_rng(0)
    built = run.adam_workload(1000, rng) if workload == "adam" else getattr(run, f"{workload}_workload")((8, 16), rng)
    measured = run.measure(built, with_memory=False)
    assert measured.worst_error <= 1.0  # the bundled implementation is within tolerance of the oracle


def test_the_golden_grader_passes_a_correct_handin_and_fails_a_bug() -> None:
    golden = _module("golden")
    assert all(golden.grade(HANDINS / "correct_spring").values())
    assert not all(golden.grade(HANDINS / "bug_layernorm_unbiased_variance").values())


def test_the_grading_benchmark_grades_its_class(tmp_path: Path) -> None:
    run = _module("run")
    paths = run.class_of_handins(tmp_path, 3)
    assert [p.name for p in paths] == ["student000", "student001", "student002"]
    assert all((p / "mytorch").is_dir() for p in paths)
    from eqconform.verify.grading import GradeSettings

    # The benchmark's own grading call, on one spec and few examples.
    assert run.time_grading(paths[:2], jobs=2, settings=GradeSettings(max_examples=5, specs=("adam.update",))) > 0
