"""Audit the test handins in tests/handins and compare with their manifest.

Each ``bug_*`` handin is a copy of ``correct_spring`` with one realistic bug; the manifest says
which spec must fail. Correct handins in both naming schemes must pass everywhere and have
their variants identified. A failing spec that could not be isolated from the expected one
(its quantity is not exposed) may fail too, but only with a message that says so and names it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys

import pytest

from eqconform.verify.results import Outcome, Result
from eqconform.verify.session import RunOptions, Session

HERE = os.path.dirname(__file__)
HANDINS = os.path.join(HERE, os.pardir, "handins")
sys.path.insert(0, HANDINS)
from expectations import ALL_SPECS, EXPECTED  # noqa: E402

sys.path.remove(HANDINS)

#: In this process (the audit's own tests; isolation is tested in test_isolation and tests/hostile).
OPTIONS = RunOptions(max_examples=30, seed=0, in_process=True, examples_dir=None)
FAMILIES = ("adam", "adamw", "layernorm", "dropout")


def _audit(name: str, patterns: list[str]) -> dict[str, Result]:
    options = dataclasses.replace(OPTIONS, targets=(f"mytorch:{os.path.join(HANDINS, name)}",), specs=tuple(patterns))
    return {result.spec: result for result in Session(options).run().results}


def _patterns(name: str) -> list[str]:
    """Correct and special handins are audited in full; a bug handin on its own family."""
    expected = EXPECTED[name]
    if not name.startswith("bug_"):
        return list(FAMILIES) + (["layernorm_exam"] if name.startswith("correct") else [])
    return sorted({spec.split(".")[0] for spec in expected["fails"]})


def _expected_outcome(name: str, spec: str) -> Outcome:
    expected = EXPECTED[name]
    if spec in expected["fails"]:
        return Outcome.FAIL
    if spec in expected["errors"]:
        return Outcome.ERROR
    if spec in expected["skips"]:
        return Outcome.SKIP
    return Outcome.PASS


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_handin_verdicts(name: str) -> None:
    results = _audit(name, _patterns(name))
    expected = EXPECTED[name]
    assert results, f"{name}: nothing was checked"
    for spec, result in results.items():
        if spec not in ALL_SPECS:  # the exam's LayerNorm specs: must pass on correct handins
            assert result.outcome is Outcome.PASS, f"{name} {spec}: {result.message}"
            continue
        want = _expected_outcome(name, spec)
        if result.outcome is Outcome.FAIL and want is Outcome.PASS:
            culprits = expected["fails"]
            assert "Not isolated" in result.message and any(c in result.message for c in culprits), (
                f"{name}: {spec} failed but should pass: {result.message}"
            )
            continue
        assert result.outcome is want, f"{name} {spec}: {result.outcome.value} != {want.value}: {result.message}"
    for spec, variant in expected["variants"].items():
        if spec in results and (results[spec].outcome is Outcome.PASS or spec in expected["fails"]):
            assert results[spec].variant == variant, f"{name} {spec}: variant {results[spec].variant}"
    # Each planted bug is explained where it is expected to fail: the formula the code computes
    # (or the known deviation's), and nothing is explained that passes.
    for spec, result in results.items():
        if spec in expected["fails"]:
            assert result.explanations, f"{name} {spec}: no explanation: {result.message}"
            best = result.explanations[0].description
            assert expected["explains"][spec] in best, f"{name} {spec}: explained as {best}"
        elif result.outcome is Outcome.PASS:
            assert not result.explanations, f"{name} {spec}: a pass explained"


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("bug_")))
def test_bug_is_reported_with_shrunk_counterexample_and_reproduction(name: str) -> None:
    results = _audit(name, _patterns(name))
    for spec in EXPECTED[name]["fails"]:
        result = results[spec]
        assert result.outcome is Outcome.FAIL
        assert result.counterexample, f"{name} {spec}: no counterexample"
        assert result.reproduce and spec in result.reproduce and "mytorch:" in result.reproduce
        text = result.counterexample
        if spec.startswith(("adam", "adamw")):
            steps = int(re.search(r"(\d+) step\(s\)", text).group(1))
            layers = text.split("layers (out, in): ")[1].split("]")[0].count("(")
            assert steps <= 2 and layers <= 2, f"{name}: counterexample not shrunk:\n{text}"
        elif spec.startswith("layernorm"):
            rows, features = map(int, re.search(r"N=(\d+), C=(\d+)", text).groups())
            assert rows <= 3 and features <= 3, f"{name}: counterexample not shrunk:\n{text}"


def test_known_deviation_is_named() -> None:
    results = _audit("bug_adam_no_bias_correction", ["adam"])
    result = results["adam.bias_correction"]
    assert result.outcome is Outcome.FAIL and result.variant == "uncorrected"
    assert "known deviation" in result.message
    assert results["adam.update"].outcome is Outcome.PASS


def test_import_error_is_an_error_result_not_a_crash() -> None:
    results = _audit("broken_import", ["adam", "layernorm"])
    assert {r.outcome for s, r in results.items() if s.startswith("adam.")} == {Outcome.ERROR}
    assert "numpyy" in results["adam.update"].message
    assert {r.outcome for s, r in results.items() if s.startswith("layernorm.")} == {Outcome.SKIP}
    assert "layernorm.py" in results["layernorm.mean"].message
