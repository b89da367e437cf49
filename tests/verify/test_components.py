"""The components: each is a table of checks covering exactly its specs; the bundled
implementation conforms to the attention, noise, diffusion, weight-decay, autoencoder and
LayerNorm-scaling families, and planted bugs are caught on the right spec (and only there).

Each planted bug is a small subclass of a bundled class, handed to the checker as a target of
its own (an object with ``component(name)``), so the check runs exactly as for any target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from eqconform import impl
from eqconform.impl import diffusion as impl_diffusion
from eqconform.impl import noise as impl_noise
from eqconform.specs import CATALOGUE, select_specs
from eqconform.verify import engine
from eqconform.verify.components import COMPONENTS
from eqconform.verify.components.base import CustomSearch, Statistics
from eqconform.verify.components.oracle import OracleSearch
from eqconform.verify.components.table import SpecCheck
from eqconform.verify.results import Outcome
from eqconform.verify.search import SearchSettings
from eqconform.verify.targets import resolve_target
from eqconform.impl.adapter import bundled_adapters
from eqconform.impl.attention import (
    ArgmaxAttentionAdapter,
    KernelAttentionAdapter,
    SoftmaxAttentionAdapter,
)
from eqconform.impl.autoencoder import AutoencoderAdapter
from eqconform.impl.diffusion import DiffusionAdapter
from eqconform.impl.noise import NoiseAdapter
from eqconform.impl.weight_decay import WeightDecayAdapter
from eqconform.verify.targets.homework import HomeworkLayerNorm
from eqconform.verify.targets.protocol import ComponentMissing

OPTIONS = SearchSettings(max_examples=30, seed=0)
FAMILIES = ["weight_decay", "noise", "ln_scaling", "diffusion", "attention", "autoencoder"]

#: The example handins (found from here, whatever the working directory).
HANDINS = Path(__file__).resolve().parent.parent / "handins"


class PlantedTarget:
    """The bundled adapters with some replaced."""

    def __init__(self, name: str, **replaced: Any):
        self.name = name
        self.description = f"the bundled implementation with a planted bug ({name})"
        self.replaced = replaced

    def component(self, name: str) -> Any:
        if name in self.replaced:
            return self.replaced[name]
        adapters = bundled_adapters() | {"layernorm": HomeworkLayerNorm(impl.LayerNorm)}
        if name not in adapters:
            raise ComponentMissing(name)
        return adapters[name]


def _audit(target: Any, patterns: list[str]) -> dict[str, Any]:
    return {result.spec: result for result in engine.run(select_specs(patterns), [target], OPTIONS)}


def _failing(results: dict[str, Any]) -> set[str]:
    return {spec for spec, result in results.items() if result.outcome is not Outcome.PASS}


# --------------------------------------------------------------------------- the tables


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_a_component_checks_exactly_its_checkable_specs(name: str) -> None:
    component = COMPONENTS[name]
    assert component.name == name
    expected = {spec.id for spec in engine.checkable(CATALOGUE.values()) if spec.component == name}
    assert set(component.checks) == expected


@pytest.mark.parametrize("spec_id", sorted(spec.id for spec in engine.checkable(CATALOGUE.values())))
def test_every_check_is_data_of_known_kinds(spec_id: str) -> None:
    """How a spec is checked is read off its entry: a search, statistics, or both."""
    check = COMPONENTS[CATALOGUE[spec_id].component].checks[spec_id]
    assert isinstance(check, SpecCheck)
    assert check.search is None or isinstance(check.search, (OracleSearch, CustomSearch))
    assert check.statistics is None or isinstance(check.statistics, Statistics)
    # A spec settled by statistical tests on large samples says so (and is not checked on one case).
    settled_by_statistics_alone = check.search is None
    assert not settled_by_statistics_alone or CATALOGUE[spec_id].statistical, spec_id
    if isinstance(check.search, OracleSearch):
        assert spec_id in check.search.graph.uses


def test_the_registries_name_the_same_adapters() -> None:
    """The runner reads the adapter names from its own list (it cannot see the checks)."""
    from eqconform.verify.targets.user import COMPONENT_ADAPTERS, COMPONENT_METHODS

    adapters = {component.adapter for component in COMPONENTS.values()}
    assert adapters == set(COMPONENT_ADAPTERS) | set(COMPONENT_METHODS)
    assert not set(COMPONENT_ADAPTERS) & set(COMPONENT_METHODS)


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_the_bundled_adapter_follows_every_components_protocol(name: str) -> None:
    component = COMPONENTS[name]
    methods = [m for m, member in vars(component.protocol).items() if callable(member) and not m.startswith("_")]
    assert methods, f"{component.protocol.__name__} declares no method"
    adapter = resolve_target("numpy").component(component.adapter)
    missing = [m for m in methods if not callable(getattr(adapter, m, None))]
    assert not missing, f"the bundled {component.adapter} adapter lacks {missing}"


def test_a_check_needs_a_search_or_statistics() -> None:
    with pytest.raises(ValueError, match="search, statistics, or both"):
        SpecCheck()


def test_a_spec_a_component_does_not_check_is_named() -> None:
    with pytest.raises(LookupError, match="no check for attention.scores"):
        COMPONENTS["adam"].check(CATALOGUE["attention.scores"], object(), OPTIONS)


def test_bundled_implementation_passes_every_new_spec() -> None:
    results = _audit(resolve_target("numpy"), FAMILIES)
    assert results, "no spec was checked"
    for spec, result in results.items():
        assert result.outcome is Outcome.PASS, f"{spec}: {result.message}\n{result.counterexample}"
        assert result.examples > 0


# --------------------------------------------------------------------------- attention


class UnscaledAttention(impl.SoftmaxAttention):
    """Planted bug: the scores are Q K^T, without the division by sqrt(D)."""

    def forward(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> np.ndarray:
        self.scores = Q @ K.T
        self.weights = impl.attention.softmax(self.scores, axis=1)
        return self.weights @ V


class HiddenUnscaledAttention(UnscaledAttention):
    """The same bug in a layer that exposes only its output."""

    def forward(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> np.ndarray:
        out = super().forward(Q, K, V)
        del self.scores, self.weights
        return out


def test_missing_sqrt_d_fails_the_scores_and_the_statistics() -> None:
    results = _audit(PlantedTarget("unscaled", attention=SoftmaxAttentionAdapter(UnscaledAttention)), ["attention"])
    assert _failing(results) == {"attention.scores", "attention.dot_statistics"}
    assert "S[" in results["attention.scores"].message
    failed = [test for test in results["attention.dot_statistics"].statistics if not test.passed]
    assert any("Var" in test.name and "D = 16" in test.name for test in failed)


def test_missing_sqrt_d_is_caught_through_the_output_when_scores_are_hidden() -> None:
    results = _audit(PlantedTarget("hidden", attention=SoftmaxAttentionAdapter(HiddenUnscaledAttention)),
                     ["attention.scores", "attention.output"])
    assert results["attention.scores"].outcome is Outcome.FAIL
    assert results["attention.scores"].observed_through == "O"


class MeanNormalizedLinearAttention(impl.LinearAttention):
    """Planted bug: eq. (11)'s denominator uses the mean of phi(K_j) instead of the sum."""

    def forward(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> np.ndarray:
        self.phi_Q, self.phi_K = self.feature_map(Q), self.feature_map(K)
        return (self.phi_Q @ (self.phi_K.T @ V)) / (self.phi_Q @ self.phi_K.mean(axis=0))[:, None]


def test_wrong_normalizer_in_linear_attention_fails_eq11_only() -> None:
    adapter = KernelAttentionAdapter(impl.KernelAttention, MeanNormalizedLinearAttention)
    results = _audit(PlantedTarget("normalizer", kernel_attention=adapter), ["attention"])
    assert _failing(results) == {"attention.linear_output"}
    assert "Olin" in results["attention.linear_output"].message


class FirstMinimumArgmax(impl.ArgmaxAttention):
    """Planted bug: the key with the smallest inner product."""

    def forward(self, Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> np.ndarray:
        self.scores = Q @ K.T
        self.weights = np.zeros_like(self.scores)
        self.weights[np.arange(len(Q)), np.argmin(self.scores, axis=1)] = 1.0
        return self.weights @ V


def test_argmin_attention_fails_argmax() -> None:
    results = _audit(PlantedTarget("argmin", argmax_attention=ArgmaxAttentionAdapter(FirstMinimumArgmax)),
                     ["attention.argmax"])
    assert results["attention.argmax"].outcome is Outcome.FAIL
    assert "Amax" in results["attention.argmax"].message


def test_quadratic_feature_map_without_root_two_fails_the_feature_map() -> None:
    def unscaled(X: np.ndarray) -> np.ndarray:
        phi = impl.quadratic_feature_map(X)
        phi[:, 1:1 + X.shape[1]] /= np.sqrt(2.0)
        return phi

    class Linear(impl.LinearAttention):
        def __init__(self) -> None:
            super().__init__(unscaled)

    results = _audit(PlantedTarget("phi", kernel_attention=KernelAttentionAdapter(impl.KernelAttention, Linear)),
                     ["attention.feature_map", "attention.linear_output"])
    assert results["attention.feature_map"].outcome is Outcome.FAIL
    # Eq. (11) is judged from the feature vectors the target used, so it still holds.
    assert results["attention.linear_output"].outcome is Outcome.PASS


# --------------------------------------------------------------------------- diffusion


class AlphaNotRootSampler(impl.ForwardDiffusion):
    """Planted bug: z_t = alpha z_0 + sqrt(1 - alpha) eps (alpha where sqrt(alpha) belongs)."""

    def sample_at(self, z0: np.ndarray, alpha: Any) -> np.ndarray:
        noise = self.rng.standard_normal(np.broadcast(np.asarray(z0), np.asarray(alpha)).shape)
        self.last_noise = (noise,)
        return alpha * z0 + np.sqrt(1.0 - alpha) * noise


class SilentAlphaNotRootSampler(AlphaNotRootSampler):
    """The same bug in a sampler that does not expose its draws."""

    def sample_at(self, z0: np.ndarray, alpha: Any) -> np.ndarray:
        out = super().sample_at(z0, alpha)
        self.last_noise = ()
        return out


@pytest.mark.parametrize("sampler", [AlphaNotRootSampler, SilentAlphaNotRootSampler])
def test_alpha_instead_of_sqrt_alpha_fails_the_marginal(sampler: type) -> None:
    target = PlantedTarget("alpha", diffusion=DiffusionAdapter(sampler, impl_diffusion))
    results = _audit(target, ["diffusion"])
    assert _failing(results) == {"diffusion.marginal"}
    result = results["diffusion.marginal"]
    assert result.outcome is Outcome.FAIL
    if sampler is SilentAlphaNotRootSampler:
        assert any(not test.passed and test.name.startswith("E[") for test in result.statistics)


class JumpingPairSampler(impl.ForwardDiffusion):
    """Planted bug: the second sample drawn from z_0 directly, not from the first (the mistake
    Q10(c) warns about): right marginals, wrong joint distribution."""

    def sample_pair(self, z0: np.ndarray, eta1: Any, eta2: Any) -> tuple[np.ndarray, np.ndarray]:
        first = self.sample_at(z0, impl_diffusion.alpha_from_eta(eta1))
        v1 = self.last_noise[0]
        second = self.sample_at(z0, impl_diffusion.alpha_from_eta(eta2))
        self.last_noise = (v1, self.last_noise[0])
        return first, second


def test_pair_drawn_from_z0_fails_the_two_time_sampler() -> None:
    results = _audit(PlantedTarget("jump", diffusion=DiffusionAdapter(JumpingPairSampler, impl_diffusion)),
                     ["diffusion.two_time", "diffusion.marginal"])
    assert results["diffusion.two_time"].outcome is Outcome.FAIL
    assert results["diffusion.marginal"].outcome is Outcome.PASS


def test_cumulative_sum_schedule_fails_alpha() -> None:
    class SumModule:
        cumulative_alphas = staticmethod(lambda betas: 1.0 - np.cumsum(betas))
        gamma = staticmethod(impl_diffusion.gamma)
        alpha_from_eta = staticmethod(impl_diffusion.alpha_from_eta)

    results = _audit(PlantedTarget("cumsum", diffusion=DiffusionAdapter(impl.ForwardDiffusion, SumModule)),
                     ["diffusion.alpha", "diffusion.gamma"])
    assert results["diffusion.alpha"].outcome is Outcome.FAIL
    assert results["diffusion.gamma"].outcome is Outcome.PASS  # judged on the target's own alphas


# --------------------------------------------------------------------------- noise


class VarianceAsScaleNoise(impl.MultiplicativeNoise):
    """Planted bug: sigma^2 used as the standard deviation."""

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        if self.kind == "bernoulli":
            return super().sample(shape)
        return self.mu + self.sigma**2 * self.rng.standard_normal(shape)


def test_variance_as_scale_fails_the_draw_and_the_expected_loss() -> None:
    results = _audit(PlantedTarget("variance", noise=NoiseAdapter(VarianceAsScaleNoise, impl_noise)), ["noise"])
    assert _failing(results) == {"noise.draw", "noise.expected_loss"}


def test_expected_loss_without_the_penalty_fails() -> None:
    class NoPenalty:
        perturbed_loss = staticmethod(impl_noise.perturbed_loss)
        column_norms = staticmethod(impl_noise.column_norms)
        expected_loss = staticmethod(lambda X, y, w, mu, sigma: impl_noise.expected_loss(X, y, w, mu, 0.0))

    results = _audit(PlantedTarget("penalty", noise=NoiseAdapter(impl.MultiplicativeNoise, NoPenalty)),
                     ["noise.expected_loss"])
    assert results["noise.expected_loss"].outcome is Outcome.FAIL


# --------------------------------------------------------------------------- Algorithm 1


class L2InBlankA(impl.WeightDecayAdam):
    """Planted bug: asked for decoupled decay, it puts the penalty in blank A (an L2 step)."""

    def __init__(self, *args: Any, decoupled: bool = True, **kwargs: Any):
        super().__init__(*args, decoupled=False, **kwargs)


def test_decay_in_blank_a_fails_algorithm1_and_the_decay_display() -> None:
    results = _audit(PlantedTarget("blank A", weight_decay=WeightDecayAdapter(L2InBlankA)), ["weight_decay"])
    assert _failing(results) == {"weight_decay.algorithm1", "weight_decay.decay_update"}


# --------------------------------------------------------------------------- autoencoder


class PrintedGradients(impl.LinearAutoencoder):
    """Planted bug: the gradients as the solution of Q1(b)(i) prints them (-n times the true ones)."""

    def gradients(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dW1, dW2 = super().gradients(X)
        n = X.shape[1]
        return -n * dW1, -n * dW2


def test_printed_gradients_fail_both_gradient_specs() -> None:
    results = _audit(PlantedTarget("printed", autoencoder=AutoencoderAdapter(PrintedGradients)), ["autoencoder"])
    assert _failing(results) == {"autoencoder.grad_encoder", "autoencoder.grad_decoder"}


# --------------------------------------------------------------------------- LayerNorm scale laws


class HiddenEpsLayerNorm(impl.LayerNorm):
    """Planted bug: an epsilon of 1e-5 is added whatever eps the layer is given."""

    def __init__(self, num_features: int, eps: float = 1e-8):
        super().__init__(num_features, eps)

    def forward(self, Z: np.ndarray) -> np.ndarray:
        self.eps = 1e-5
        return super().forward(Z)


def test_hidden_eps_breaks_scale_invariance() -> None:
    results = _audit(PlantedTarget("eps", layernorm=HomeworkLayerNorm(HiddenEpsLayerNorm)),
                     ["ln_scaling.output_scale", "ln_scaling.grad_scale"])
    assert results["ln_scaling.output_scale"].outcome is Outcome.FAIL


class NoNormalizationBackward(impl.LayerNorm):
    """Planted bug: the backward pass forgets to divide by the standard deviation."""

    def backward(self, dLdLNZ: np.ndarray) -> np.ndarray:
        return super().backward(dLdLNZ) * np.sqrt(self.V + self.eps)


def test_backward_without_the_speed_bump_breaks_the_gradient_bound() -> None:
    results = _audit(PlantedTarget("speed bump", layernorm=HomeworkLayerNorm(NoNormalizationBackward)),
                     ["ln_scaling.grad_bound", "ln_scaling.prenorm_forward"])
    assert results["ln_scaling.grad_bound"].outcome is Outcome.FAIL
    assert results["ln_scaling.prenorm_forward"].outcome is Outcome.PASS


def test_other_targets_skip_the_new_components() -> None:
    target = resolve_target(f"mytorch:{HANDINS / 'correct_spring'}")
    results = _audit(target, ["attention.scores", "diffusion.alpha", "ln_scaling.output_scale"])
    assert results["attention.scores"].outcome is Outcome.SKIP
    assert results["diffusion.alpha"].outcome is Outcome.SKIP
    assert results["ln_scaling.output_scale"].outcome is Outcome.PASS  # a handin's LayerNorm is checked


def test_a_handin_with_an_unbiased_variance_breaks_the_stack_identity() -> None:
    target = resolve_target(f"mytorch:{HANDINS / 'bug_layernorm_unbiased_variance'}")
    results = _audit(target, ["ln_scaling"])
    assert results["ln_scaling.prenorm_forward"].outcome is Outcome.FAIL
    # Scale invariance holds whatever the variance's divisor.
    assert results["ln_scaling.output_scale"].outcome is Outcome.PASS


def test_statistical_checks_state_their_false_alarm_rate() -> None:
    results = _audit(resolve_target("numpy"), ["attention.dot_statistics", "noise.draw", "diffusion.two_time"])
    for result in results.values():
        assert result.statistics, result.spec
        assert all(test.alpha == 1e-6 and test.passed for test in result.statistics)
        assert "false-alarm probability 1e-06" in result.message


def test_the_stack_bound_carried_step_by_step_is_the_nested_bound_and_holds() -> None:
    """The pre-LN stack's rounding bound is built one step at a time, each step's input
    carrying the bound of the steps before (a nested expression of all 2L steps grows
    exponentially: 19 s for four layers). For one layer it agrees with the nested bound up to
    how that form flattens x + LN(x) into one longer sum, and it holds the error of the stack
    computed in float32."""
    import sympy as sp

    from eqconform.specs import layernorm_exam as exam
    from eqconform.verify.compiler import lower
    from eqconform.verify.components import ln_scaling
    from eqconform.verify.rounding import error_bound_program

    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((3, 8))
    x0 -= x0.mean(axis=1, keepdims=True)
    x0 /= np.sqrt((x0**2).mean(axis=1, keepdims=True))
    x0 = x0.astype(np.float32).astype(np.float64)
    u = 2.0**-24
    demean = lower(exam.DEMEAN.canonical.expression("z"), exam.DEMEAN.axes)
    normalize = lower(exam.NORMALIZE.canonical.expression("y"), exam.NORMALIZE.axes)
    nested = sp.Symbol("x0")
    for _ in range(2):
        nested = nested + normalize.xreplace(
            {sp.Symbol("z"): demean.xreplace({sp.Symbol("x"): nested})}
        )
    (whole,) = error_bound_program(nested).compiled()({"x0": x0, "unit_roundoff": u})
    carried = ln_scaling._stack_bounds(x0, 2, u)
    assert np.all(carried[1] <= whole * (1 + 1e-9))
    assert np.all(carried[1] >= 0.9 * whole)

    def layernorm32(x: np.ndarray) -> np.ndarray:
        centred = x - x.mean(axis=1, keepdims=True, dtype=np.float32)
        return centred / np.sqrt((centred * centred).mean(axis=1, keepdims=True, dtype=np.float32))

    x = x0.astype(np.float32)
    bounds = ln_scaling._stack_bounds(x0, 6, u)
    for step in range(6):
        x = (x + layernorm32(x)).astype(np.float32)
        exact = x0 * (step + 2)  # LN(k x0) = x0 for a normalized row x0
        assert np.all(np.abs(x.astype(np.float64) - exact) <= bounds[step])


@pytest.mark.parametrize("seed", [0, 2])
def test_an_adamw_that_stores_mhat_back_into_its_moment_fails(tmp_path, seed: int) -> None:
    # Each step starts from the moments the optimizer keeps: unjudged, a moment stored
    # corrected was predicted from its own history, and this handin passed on these seeds.
    import shutil
    from pathlib import Path

    handin = tmp_path / "h"
    shutil.copytree(Path(__file__).parent.parent / "handins" / "correct_fall", handin)
    source = handin / "mytorch" / "optim" / "adamW.py"
    text = source.read_text()
    line = "        mhat = m / (1.0 - self.beta1 ** self.t)\n"
    assert line in text
    source.write_text(text.replace(line, "        m /= 1.0 - self.beta1 ** self.t\n        mhat = m\n"))
    target = resolve_target(f"mytorch:{handin}")
    correct = resolve_target(f"mytorch:{Path(__file__).parent.parent / 'handins' / 'correct_fall'}")
    settings = SearchSettings(max_examples=100, seed=seed)
    (bad,) = engine.run(select_specs(["adamw"]), [target], settings)
    (good,) = engine.run(select_specs(["adamw"]), [correct], settings)
    assert bad.outcome is Outcome.FAIL, bad.message
    assert good.outcome is Outcome.PASS, good.message
