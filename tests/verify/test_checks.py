"""The public check functions, for a project's own ``@given`` tests, and the README recipe."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from eqconform import impl
from eqconform.verify.checks import (
    ConformanceError,
    assert_conforms,
    check_case,
    dropout_inputs,
    layernorm_inputs,
    optimizer_runs,
)
from eqconform.impl.attention import SoftmaxAttentionAdapter
from eqconform.specs import CATALOGUE
from eqconform.verify import strategies
from eqconform.verify.components import COMPONENTS
from eqconform.verify.strategies import ArrayRecipe, LayerNormInput
from eqconform.verify.targets import resolve_target
from hypothesis import Phase, given, settings

README = Path(__file__).parents[2] / "README.md"
HANDINS = Path(__file__).parent.parent / "handins"
FEW = settings(max_examples=25, deadline=None, database=None)
UNSHRUNK = settings(FEW, phases=[Phase.generate])  # a failure is all these tests need to see


def handin_class(handin: str, relative: str, name: str) -> type:
    """A class from a test handin, loaded as a module of its own."""
    path = HANDINS / handin / "mytorch" / relative
    spec = importlib.util.spec_from_file_location(f"_checks_{handin}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


UnbiasedLayerNorm = handin_class("bug_layernorm_unbiased_variance", "nn/layernorm.py", "LayerNorm")
UncorrectedAdam = handin_class("bug_adam_no_bias_correction", "optim/adam.py", "adam")
ScalingDropout = handin_class("bug_dropout_scales_in_eval", "nn/dropout.py", "Dropout")


def readme_recipe() -> str:
    """The Python block of the README's "Regression testing with pytest" that uses assert_conforms."""
    section = README.read_text(encoding="utf-8").split("## Regression testing with pytest", 1)[1].split("\n## ", 1)[0]
    blocks = [block for block in re.findall(r"```python\n(.*?)```", section, re.DOTALL) if "assert_conforms" in block]
    assert len(blocks) == 1, "the section has exactly one recipe"
    return blocks[0]


def run_recipe(folder: Path, replacement: type | None = None, run_with: settings = FEW) -> None:
    """Write the recipe into a test file of its own, import it and run its test (with
    ``run_with``: few examples, and no example database to carry state between tests)."""
    path = folder / "test_layernorm_recipe.py"
    path.write_text(readme_recipe(), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("test_layernorm_recipe", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if replacement is not None:
        module.LayerNorm = replacement
    tests = [value for name, value in vars(module).items() if name.startswith("test_") and callable(value)]
    assert len(tests) == 1
    run_with(tests[0])()


def test_the_readme_recipe_is_short_and_passes_on_a_conforming_layernorm(tmp_path: Path) -> None:
    code = [line for line in readme_recipe().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(code) <= 7  # three imports, the decorator, the def and the assertion (+ your import)
    run_recipe(tmp_path)


def test_the_readme_recipe_fails_on_a_wrong_layernorm_naming_the_equation(tmp_path: Path) -> None:
    with pytest.raises(ConformanceError) as raised:
        run_recipe(tmp_path, UnbiasedLayerNorm, UNSHRUNK)
    message = str(raised.value)
    assert "layernorm.variance — LayerNorm per-sample (biased) variance" in message
    assert "eq. (2)" in message and "known deviation 'unbiased'" in message
    assert "input: N=" in message


class AdapterObject:
    def layernorm(self, Z, gamma, beta, eps, G):
        return resolve_target("numpy").component("layernorm").run(Z, gamma, beta, eps, G)


def adapter_function(Z, gamma, beta, eps, G):
    return AdapterObject().layernorm(Z, gamma, beta, eps, G)


@pytest.mark.parametrize("implementation", [impl.LayerNorm, AdapterObject, AdapterObject(), adapter_function,
                                            "numpy", resolve_target("numpy")],
                         ids=["homework class", "adapter class", "adapter object", "function", "reference", "target"])
def test_every_way_of_naming_an_implementation(implementation: object) -> None:
    @FEW
    @given(layernorm_inputs(max_rows=8, max_features=8))
    def check(case: LayerNormInput) -> None:
        verdicts = assert_conforms(implementation, case)
        assert [verdict.spec for verdict in verdicts] == [
            "layernorm.mean", "layernorm.variance", "layernorm.normalize", "layernorm.affine",
            "layernorm.grad_gamma", "layernorm.grad_beta", "layernorm.grad_normalized", "layernorm.grad_input"]

    check()


def test_optimizers_and_dropout() -> None:
    @FEW
    @given(optimizer_runs(max_steps=4), optimizer_runs(max_steps=4, weight_decay=True), dropout_inputs(max_rows=8, max_features=8))
    def check(adam_run, adamw_run, dropout_case) -> None:
        assert_conforms(impl.Adam, adam_run)
        assert_conforms(impl.AdamW, adamw_run, component="adamw")
        verdicts = assert_conforms(impl.Dropout, dropout_case)
        assert [v.spec for v in verdicts] == ["dropout.scaling", "dropout.eval", "dropout.backward"]

    check()


@pytest.mark.parametrize(("implementation", "strategy", "spec"), [
    (UnbiasedLayerNorm, layernorm_inputs(max_rows=4, max_features=4), "layernorm.variance"),
    (UncorrectedAdam, optimizer_runs(max_steps=3), "adam.bias_correction"),
    (ScalingDropout, dropout_inputs(max_rows=4, max_features=4, min_p=0.1), "dropout.eval"),
])
def test_a_wrong_implementation_fails_with_the_spec_it_breaks(implementation, strategy, spec) -> None:
    @UNSHRUNK
    @given(strategy)
    def check(case) -> None:
        assert_conforms(implementation, case)

    with pytest.raises(ConformanceError) as raised:
        check()
    assert f"  {spec} — " in str(raised.value)
    failing = [v for v in raised.value.verdicts if not v.passed]
    assert spec in {v.spec for v in failing}


def case(rows: int = 3, features: int = 4) -> LayerNormInput:
    f64 = np.dtype(np.float64)
    return LayerNormInput(f64, 1e-5, ArrayRecipe((rows, features), f64, seed=1), ArrayRecipe((1, features), f64, seed=2),
                          ArrayRecipe((1, features), f64, seed=3), ArrayRecipe((rows, features), f64, seed=4))


def test_check_case_returns_every_verdict_without_raising() -> None:
    verdicts = {v.spec: v for v in check_case(UnbiasedLayerNorm, case())}
    assert not verdicts["layernorm.variance"].passed and verdicts["layernorm.variance"].deviation == "unbiased"
    assert verdicts["layernorm.variance"].error > 1
    assert verdicts["layernorm.mean"].passed and verdicts["layernorm.mean"].observable
    only = check_case(impl.LayerNorm, case(), specs=["layernorm.grad_*"])
    assert [v.spec for v in only] == ["layernorm.grad_gamma", "layernorm.grad_beta", "layernorm.grad_normalized",
                                      "layernorm.grad_input"]
    exam = check_case(impl.LayerNorm, case(), specs=["layernorm_exam"])
    assert [v.spec for v in exam] == ["layernorm_exam.demean", "layernorm_exam.demean_grad", "layernorm_exam.normalize", "layernorm_exam.normalize_grad"]


def test_the_implementations_own_exceptions_propagate() -> None:
    def raising(Z, gamma, beta, eps, G):
        raise ZeroDivisionError("mine")

    with pytest.raises(ZeroDivisionError, match="mine"):
        assert_conforms(raising, case())


def test_misuse_is_explained() -> None:
    with pytest.raises(TypeError, match=r"adam.first_moment is checked on cases of type OptimizerRun \(drawn from optimizer_runs\(\)\)"):
        check_case(impl.Adam, case(), component="adam")
    with pytest.raises(TypeError, match="is not a case eqconform can judge"):
        check_case(impl.LayerNorm, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="dropout.mask is settled by statistical tests"):
        check_case(impl.Dropout, case(), specs=["dropout.mask"])
    with pytest.raises(TypeError, match="is neither a class in the homework API"):
        check_case(SimpleNamespace(), case())



# Every component that declares the cases it takes is judged case by case the same way: drawn from
# its own strategy, driven through the bundled adapter (an adapter object holding it).
DECLARED = {name: c.cases for name, c in COMPONENTS.items() if c.cases is not None}


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_one_case_of_every_component_that_declares_its_cases(name: str) -> None:
    component = COMPONENTS[name]
    strategy = eval(component.cases.drawn_by, vars(strategies))  # the strategy a message names
    judged = {spec.id for spec in CATALOGUE.values() if spec.component == name and spec.id in component.exact.graph.uses
              and not spec.proof_only and not spec.statistical}
    assert judged

    @settings(FEW, max_examples=3)
    @given(strategy)
    def check(case) -> None:
        verdicts = assert_conforms(impl.ADAPTER, case, component=name)
        assert {v.spec for v in verdicts} == judged
        assert all(v.passed for v in verdicts)

    check()


def test_a_wrong_component_adapter_fails_on_one_case() -> None:
    class ScoresOnly(impl.SoftmaxAttention):
        """Softmax over the unscaled scores: the sqrt(d) of the scaled dot product left out."""

        def forward(self, Q, K, V):
            return super().forward(Q * np.sqrt(Q.shape[-1]), K, V)

    broken = SoftmaxAttentionAdapter(ScoresOnly)

    @UNSHRUNK
    @given(strategies.attention_inputs(max_dim=4))
    def check(case) -> None:
        assert_conforms(broken, case)  # the component adapter itself, found by its protocol

    with pytest.raises(ConformanceError, match=r"attention\.\w+ — "):
        check()


def test_a_case_picks_the_first_component_that_takes_it() -> None:
    f64 = np.dtype(np.float64)
    run = strategies.AttentionInput(f64, *(ArrayRecipe((3, 2), f64, seed=s) for s in (1, 2, 3)))
    def components(verdicts) -> set[str]:
        return {CATALOGUE[v.spec].component for v in verdicts}

    assert components(check_case(impl.ADAPTER, run)) == {"attention"}
    assert components(check_case(impl.ADAPTER, run, component="kernel_attention")) == {"kernel_attention"}


def test_specs_checked_only_on_inputs_of_their_own_are_refused() -> None:
    with pytest.raises(ValueError, match="ln_scaling.prenorm_forward is not judged on one case"):
        check_case(impl.LayerNorm, case(), specs=["ln_scaling.prenorm_forward"])
