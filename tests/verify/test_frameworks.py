"""Audits of the frameworks' own implementations (``make test`` installs them).

PyTorch conforms everywhere, with its conventions named: epsilon outside the square root,
decay multiplied by the learning rate, p the drop probability (its m_t, computed as a linear
interpolation, is judged with that arrangement's own rounding bound). optax conforms likewise. Flax's LayerNorm with its default
``use_fast_variance=True`` computes the variance as E[x^2] - E[x]^2 and is reported failing on
float32 rows with a large mean; with ``use_fast_variance=False`` it conforms.
"""

from __future__ import annotations

import pytest

from eqconform.verify.results import Outcome
from eqconform.specs import select_specs
from eqconform.verify import engine
from eqconform.verify.search import SearchSettings
from eqconform.verify.targets import resolve_target

OPTIONS = SearchSettings(max_examples=25, seed=0)
CONVENTIONS = {
    "adam.update": "eps-outside-sqrt",
    "adamw.decoupled_decay": "decay-scaled-by-lr",
    "dropout.mask": "p-is-drop-probability",
}


def _audit(reference: str, patterns: list[str]) -> dict[str, object]:
    results = engine.run(select_specs(patterns), [resolve_target(reference)], OPTIONS)
    return {result.spec: result for result in results}


@pytest.mark.parametrize("reference", ["torch", "torch:foreach=False", "torch:foreach=True"])
def test_torch_conforms_and_its_conventions_are_named(reference: str) -> None:
    pytest.importorskip("torch", reason="PyTorch is not installed (make test installs torch==2.13.0)")
    families = ["adam", "adamw", "layernorm", "layernorm_exam", "dropout"] if reference == "torch" else ["adam", "adamw"]
    results = _audit(reference, families)
    for spec, result in results.items():
        assert result.outcome is Outcome.PASS, f"{reference} {spec}: {result.message}\n{result.counterexample}"
    for spec, variant in CONVENTIONS.items():
        if spec in results:
            assert results[spec].variant == variant
    assert results["adam.first_moment"].variant is None  # the lerp arrangement is the same form


def test_optax_and_flax_dropout_conform() -> None:
    pytest.importorskip("optax", reason="optax is not installed (make test installs it)")
    results = _audit("jax", ["adam", "adamw", "dropout"])
    for spec, result in results.items():
        assert result.outcome is Outcome.PASS, f"jax {spec}: {result.message}\n{result.counterexample}"
    for spec, variant in CONVENTIONS.items():
        assert results[spec].variant == variant


def test_flax_fast_variance_is_caught_and_two_pass_conforms() -> None:
    pytest.importorskip("flax", reason="Flax is not installed (make test installs it)")
    default = _audit("jax", ["layernorm.affine"])["layernorm.affine"]
    assert default.outcome is Outcome.FAIL
    assert "float32" in default.counterexample
    two_pass = _audit("jax:use_fast_variance=False", ["layernorm.affine", "layernorm.grad_input"])
    assert {r.outcome for r in two_pass.values()} == {Outcome.PASS}


@pytest.mark.parametrize(("reference", "missing", "extra"), [
    ("torch", "torch", "eqconform[torch]"),
    ("jax:use_fast_variance=False", "flax", "eqconform[jax]"),
])
def test_a_framework_target_without_its_framework_is_a_one_line_usage_error(
        reference: str, missing: str, extra: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    import importlib.util

    from eqconform.verify.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a))
    assert main(["report", "--target", reference, "--spec", "adam.update", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("eqconform: error: ") and extra in err and missing in err
