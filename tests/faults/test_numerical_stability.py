"""A wrong formula and a right formula that loses accuracy get different verdicts."""

from __future__ import annotations

from pathlib import Path

from eqconform.verify.results import Outcome
from eqconform.specs import get_spec
from eqconform.verify import engine
from eqconform.verify.search import SearchSettings
from eqconform.verify.targets import resolve_target

ADAPTERS = Path(__file__).with_name("faulty_adapters.py")
HANDINS = Path(__file__).parent.parent / "handins"
OPTIONS = SearchSettings(max_examples=60, seed=0)


def _check(reference: str, spec_id: str):
    (result,) = engine.run([get_spec(spec_id)], [resolve_target(reference)], OPTIONS)
    return result


def test_one_pass_variance_is_numerically_unstable_and_two_pass_passes_the_same_inputs() -> None:
    unstable = _check(f"file:{ADAPTERS}:OnePassVariance", "layernorm.variance")
    assert unstable.outcome is Outcome.FAIL
    assert unstable.message.startswith("Right formula, numerically unstable")
    assert "times the tolerance" in unstable.message and unstable.max_error > 1
    assert unstable.counterexample and "Z = np.array(" in unstable.counterexample
    assert "50-digit arithmetic" in unstable.message
    stable = _check(f"file:{ADAPTERS}:TwoPassVariance", "layernorm.variance")
    assert stable.outcome is Outcome.PASS, stable.message


def test_a_different_formula_is_not_called_unstable() -> None:
    result = _check(f"mytorch:{HANDINS / 'bug_layernorm_unbiased_variance'}", "layernorm.variance")
    assert result.outcome is Outcome.FAIL
    assert result.message.startswith("Follows another formula") and result.variant == "unbiased"


def test_a_one_pass_variance_breaking_the_scale_laws_is_diagnosed_unstable() -> None:
    result = _check(f"file:{ADAPTERS}:OnePassVariance", "ln_scaling.output_scale")
    assert result.outcome is Outcome.FAIL
    assert result.message.startswith("Right formula, numerically unstable"), result.message
