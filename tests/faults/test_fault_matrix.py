"""The fault matrix: audited code that misbehaves gets a recorded verdict with a specific
message, the run continues, and every other result is intact. One test per fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from eqconform.verify.results import Outcome, Result
from eqconform.specs import select_specs
from eqconform.verify import engine
from eqconform.verify.isolation import run_isolated
from eqconform.verify.search import SearchSettings
from eqconform.verify.targets import resolve_target

ADAPTERS = Path(__file__).with_name("faulty_adapters.py")
OPTIONS = SearchSettings(max_examples=15, seed=0)
LAYERNORM = engine.checkable(select_specs(["layernorm"]))


def _reference(name: str) -> str:
    return f"file:{ADAPTERS}:{name}"


def _in_process(name: str, patterns: list[str] | None = None) -> dict[str, Result]:
    specs = select_specs(patterns) if patterns else LAYERNORM
    return {r.spec: r for r in engine.run(specs, [resolve_target(_reference(name))], OPTIONS)}


def _isolated(name: str, **limits: float) -> dict[tuple[str, str], Result]:
    """The faulty target beside a correct one, each in its own worker."""
    specs = engine.checkable(select_specs(["layernorm.affine", "layernorm.grad_beta"]))
    targets = [(_reference("Correct"), "correct"), (_reference(name), name)]
    return {(r.spec, r.target): r for r in run_isolated(specs, targets, OPTIONS, **limits)}


def _correct_results_intact(results: dict[tuple[str, str], Result]) -> None:
    assert {r.outcome for (spec, target), r in results.items() if target == "correct"} == {Outcome.PASS}


def test_raises() -> None:
    results = _in_process("Raises")
    assert {r.outcome for r in results.values()} == {Outcome.ERROR}
    assert "the target raised ZeroDivisionError: planted" in results["layernorm.mean"].message


@pytest.mark.parametrize(("name", "spec", "text", "untouched"), [
    ("ReturnsNaN", "layernorm.affine", "Ztilde[0, 0] = nan", {"layernorm.grad_gamma", "layernorm.grad_beta"}),
    ("ReturnsInf", "layernorm.grad_input", "dLdZ[0, 0] = inf", {"layernorm.affine", "layernorm.grad_beta"}),
    ("WrongShape", "layernorm.grad_gamma", "dLdgamma has shape (1,); the equation gives (1, 1)",
     {"layernorm.affine", "layernorm.grad_input", "layernorm.grad_beta"}),
    ("WrongDtype", "layernorm.grad_beta", "dLdbeta has dtype int64; the equation gives real numbers",
     {"layernorm.affine", "layernorm.grad_input", "layernorm.grad_gamma"}),
])
def test_bad_values_fail_on_their_equation_only(name: str, spec: str, text: str, untouched: set[str]) -> None:
    results = _in_process(name)
    assert results[spec].outcome is Outcome.FAIL and text in results[spec].message, results[spec].message
    # Equations whose quantities the fault does not touch still pass.
    assert {results[s].outcome for s in untouched} == {Outcome.PASS}


def test_an_answer_narrower_than_its_inputs_fails_and_says_so() -> None:
    results = _in_process("NarrowsItsAnswer")
    affine = results["layernorm.affine"]
    assert affine.outcome is Outcome.FAIL, affine.message
    assert "Ztilde came back as float32 for float64 inputs" in affine.message
    assert results["layernorm.grad_input"].outcome is Outcome.PASS  # dLdZ is still float64


def test_a_list_where_the_homework_api_requires_an_array_fails_and_says_so(tmp_path: Path) -> None:
    import shutil

    handin = tmp_path / "lists"
    shutil.copytree(Path(__file__).parent.parent / "handins" / "correct_spring", handin)
    layer = handin / "mytorch" / "nn" / "layernorm.py"
    source = layer.read_text()
    assert "        return self.LNZ\n" in source
    layer.write_text(source.replace("        return self.LNZ\n", "        return self.LNZ.tolist()\n"))
    specs = select_specs(["layernorm.affine", "layernorm.mean"])
    results = {r.spec: r for r in engine.run(specs, [resolve_target(f"mytorch:{handin}")], OPTIONS)}
    assert results["layernorm.affine"].outcome is Outcome.FAIL
    assert "Ztilde is a list of length" in results["layernorm.affine"].message
    assert "not a NumPy array" in results["layernorm.affine"].message
    assert results["layernorm.mean"].outcome is Outcome.PASS


def test_layernorm_that_edits_its_input() -> None:
    result = _in_process("EditsItsInput")["layernorm.affine"]
    assert result.outcome is Outcome.ERROR
    assert "modified its input Z in place" in result.message


def test_optimizer_that_overwrites_the_gradients() -> None:
    result = _in_process("OverwritesGradients", ["adam.update"])["adam.update"]
    assert result.outcome is Outcome.ERROR
    assert "modified its input gradient of layers[0].W in place during step 1" in result.message


def test_an_optimizer_overwriting_its_gradients_later_is_caught_at_that_step_in_a_sandbox() -> None:
    # A sandboxed target is asked its steps in batches: the runner stops a batch after a step
    # that wrote into its arguments, so the write is still seen at the step that made it.
    specs = engine.checkable(select_specs(["adam.update"]))
    target = _reference("OverwritesGradientsAtStepThree")
    (result,) = run_isolated(specs, [(target, "late")], OPTIONS)
    assert result.outcome is Outcome.ERROR
    assert "modified its input gradient of layers[0].W in place during step 3" in result.message


def test_answers_that_are_the_targets_own_arrays_are_judged_as_they_were_when_given() -> None:
    specs = engine.checkable(select_specs(["adam.update"]))
    (sandboxed,) = run_isolated(specs, [(_reference("ReturnsItsOwnArrays"), "aliasing")], OPTIONS)
    in_process = _in_process("ReturnsItsOwnArrays", ["adam.update"])["adam.update"]
    assert sandboxed.outcome is Outcome.PASS, sandboxed.message
    assert in_process.outcome is Outcome.PASS, in_process.message


def test_nondeterministic_where_the_equation_is_deterministic() -> None:
    result = _in_process("Nondeterministic")["layernorm.grad_input"]
    assert result.outcome is Outcome.FAIL
    assert "nondeterministic: two runs on the same input gave different dLdZ" in result.message
    assert result.counterexample


def test_hangs() -> None:
    results = _isolated("Hangs", timeout=3)
    assert "timed out" in results[("layernorm.affine", "Hangs")].message
    assert results[("layernorm.grad_beta", "Hangs")].outcome is Outcome.ERROR
    _correct_results_intact(results)


def test_exits_its_process() -> None:
    results = _isolated("Exits", timeout=60)
    assert "runner process died (exit code 7)" in results[("layernorm.affine", "Exits")].message
    _correct_results_intact(results)


def test_allocates_without_bound() -> None:
    results = _isolated("Hoards", timeout=60, memory_limit=1 * 2**30)
    result = results[("layernorm.affine", "Hoards")]
    assert result.outcome is Outcome.ERROR and "out of memory" in result.message and "1.0 GB" in result.message
    _correct_results_intact(results)


def test_floods_its_output() -> None:
    results = _isolated("Floods", timeout=60)
    result = results[("layernorm.affine", "Floods")]
    assert result.outcome is Outcome.PASS
    assert "printed" in result.message and "MB to its standard output and error (discarded)" in result.message
    _correct_results_intact(results)


@pytest.mark.parametrize(("name", "text"), [
    ("ExitsBySystemExit", "the target raised SystemExit: 3"),
    ("RaisesGeneratorExit", "the target raised GeneratorExit: closing"),
    ("RaisesAClassMadeOnTheFly", "the target raised GradeMeHigher: made on the fly"),
    ("InterruptsItself", "the target raised KeyboardInterrupt"),
])
def test_whatever_audited_code_raises_is_its_error_with_the_input(name: str, text: str) -> None:
    """Even exceptions that end a Python process, and a SIGINT it sends itself (not the user's
    Ctrl-C): an error of that target with the type, the message and the shrunk input."""
    results = _isolated(name, timeout=60)
    result = results[("layernorm.affine", name)]
    assert result.outcome is Outcome.ERROR and text in result.message, result.message
    assert result.counterexample  # the input that raised
    _correct_results_intact(results)
