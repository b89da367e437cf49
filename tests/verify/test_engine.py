"""The engine on the bundled implementation: no false alarms, deterministic verdicts, and a
run that survives a check that blows up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eqconform.verify.results import Outcome
from eqconform.specs import CATALOGUE, PROOF_ONLY, get_spec, select_specs
from eqconform.verify import engine
from eqconform.verify.components import COMPONENTS
from eqconform.verify.search import SearchSettings
from eqconform.verify.session import RunOptions, Session
from eqconform.verify.targets import resolve_target

#: The example handins (found from here, whatever the working directory).
HANDINS = Path(__file__).resolve().parent.parent / "handins"

CHECKED = [spec_id for spec_id in CATALOGUE if spec_id not in PROOF_ONLY]
EXPECTED_VARIANTS = {
    "adam.update": "eps-outside-sqrt",
    "adamw.decoupled_decay": "decay-scaled-by-lr",
    "dropout.mask": "p-is-drop-probability",
    "adam.bias_correction": "bias-corrected",
    "layernorm.variance": "biased",
    "layernorm.normalize": "eps-inside-sqrt",
}


@pytest.mark.parametrize("spec_id", CHECKED)
def test_bundled_implementation_conforms(spec_id: str) -> None:
    (result,) = engine.run([get_spec(spec_id)], [resolve_target("numpy")], SearchSettings(max_examples=40, seed=1))
    assert result.outcome is Outcome.PASS, f"{result.message}\n{result.counterexample}"
    assert result.examples > 0
    assert result.variant == EXPECTED_VARIANTS.get(spec_id)
    assert result.max_error is None or result.max_error <= 1.0


def test_every_checkable_spec_has_a_component() -> None:
    assert {get_spec(s).component for s in CHECKED} <= set(COMPONENTS)


def test_proof_only_specs_are_not_checked_on_targets() -> None:
    results = engine.run(select_specs(["layernorm_exam"]), [resolve_target("numpy")], SearchSettings(max_examples=5))
    assert {r.spec for r in results}.isdisjoint(PROOF_ONLY)
    assert results


def test_same_seed_same_verdicts() -> None:
    specs = select_specs(["adam.update", "layernorm.grad_input", "dropout.backward"])
    target = resolve_target(f"mytorch:{HANDINS / 'bug_layernorm_grad_missing_term'}")

    def verdicts() -> list[tuple]:
        results = engine.run(specs, [target], SearchSettings(max_examples=20, seed=7))
        return [(r.spec, r.outcome, r.variant, r.examples, r.counterexample) for r in results]

    assert verdicts() == verdicts()


def test_a_check_that_raises_becomes_an_error_and_the_run_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    class Exploding:
        name = "adam"
        adapter = "adam"

        def check(self, spec, adapter, options):
            raise RuntimeError("the checker itself broke")

    monkeypatch.setitem(COMPONENTS, "adam", Exploding())
    results = engine.run(select_specs(["adam.first_moment", "layernorm.mean"]), [resolve_target("numpy")],
                         SearchSettings(max_examples=5))
    by_spec = {r.spec: r for r in results}
    assert by_spec["adam.first_moment"].outcome is Outcome.ERROR
    assert "the checker itself broke" in by_spec["adam.first_moment"].message
    assert by_spec["layernorm.mean"].outcome is Outcome.PASS


def test_a_target_that_raises_is_an_error_with_a_shrunk_input(tmp_path) -> None:
    handin = tmp_path / "mytorch" / "nn"
    handin.mkdir(parents=True)
    (handin / "layernorm.py").write_text(
        "import numpy as np\n"
        "class LayerNorm:\n"
        "    def __init__(self, num_features, eps=1e-8):\n"
        "        self.eps = eps\n"
        "        self.gamma = np.ones((1, num_features)); self.beta = np.zeros((1, num_features))\n"
        "    def forward(self, Z):\n"
        "        if Z.shape[1] > 2:\n"
        "            raise ValueError('too wide')\n"
        "        centered = Z - Z.mean(axis=1, keepdims=True)\n"
        "        variance = (centered * centered).mean(axis=1, keepdims=True)\n"
        "        return self.gamma * centered / np.sqrt(variance + self.eps) + self.beta\n"
        "    def backward(self, d):\n"
        "        return d\n"
    )
    options = RunOptions(targets=(f"mytorch:{tmp_path}",), specs=("layernorm.affine",), max_examples=30,
                         in_process=True, examples_dir=None)
    (result,) = Session(options).run().results
    assert result.outcome is Outcome.ERROR
    assert "ValueError: too wide" in result.message
    rows, features = map(int, re.search(r"N=(\d+), C=(\d+)", result.counterexample).groups())
    assert features == 3 and rows <= 3  # shrunk to the narrowest input that raises
    assert result.reproduce and "layernorm.affine" in result.reproduce


def test_a_quantity_the_target_does_not_expose_is_a_skip_not_an_error(tmp_path) -> None:
    """A LayerNorm without dLdgamma (and that never raises): layernorm.grad_gamma cannot be
    observed through it, which is a skip naming the quantity; what it does expose is judged."""
    handin = tmp_path / "mytorch" / "nn"
    handin.mkdir(parents=True)
    (handin / "layernorm.py").write_text(
        "import numpy as np\n"
        "class LayerNorm:\n"
        "    def __init__(self, num_features, eps=1e-8):\n"
        "        self.eps = eps\n"
        "        self.gamma = np.ones((1, num_features)); self.beta = np.zeros((1, num_features))\n"
        "    def forward(self, Z):\n"
        "        centered = Z - Z.mean(axis=1, keepdims=True)\n"
        "        variance = (centered * centered).mean(axis=1, keepdims=True)\n"
        "        return self.gamma * centered / np.sqrt(variance + self.eps) + self.beta\n"
        "    def backward(self, d):\n"
        "        return d\n"
    )
    results = engine.run(select_specs(["layernorm.grad_gamma", "layernorm.affine"]),
                         [resolve_target(f"mytorch:{tmp_path}")], SearchSettings(max_examples=10))
    by_spec = {result.spec: result for result in results}
    gradient = by_spec["layernorm.grad_gamma"]
    assert gradient.outcome is Outcome.SKIP, f"{gradient.outcome.value}: {gradient.message}"
    assert "not observable" in gradient.message and "dLdgamma" in gradient.message
    assert by_spec["layernorm.affine"].outcome is Outcome.PASS, by_spec["layernorm.affine"].message
