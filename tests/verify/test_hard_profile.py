"""The hard profile (``--profile hard``): the numerical hard corners, for every spec it applies to.

It applies to the specs whose component draws hard cases (LayerNorm: huge row offsets,
near-constant rows, tiny eps, float16; Adam and AdamW: gradients from 1e-30 to 1e30 and runs of
up to 10**4 steps). The bundled implementation must pass it; the planted bugs of tests/handins
must fail it, found by the hard cases alone (the hand-picked separating cases every search ends
with are switched off here), each with the deviation it follows where the spec documents one.
Every check runs with few examples: the corners are drawn often, and the bugs are caught at once.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from eqconform.specs import CATALOGUE
from eqconform.verify import engine
from eqconform.verify.cli import main
from eqconform.verify.components import COMPONENTS
from eqconform.verify.results import Outcome, Result
from eqconform.verify.search import SearchSettings
from eqconform.verify.targets import resolve_target

HANDINS = Path(__file__).parent.parent / "handins"
sys.path.insert(0, str(HANDINS))
from expectations import EXPECTED

sys.path.remove(str(HANDINS))

#: The specs the hard profile applies to: those whose component draws hard cases.
HARD_SPECS = [spec for spec in engine.checkable(CATALOGUE.values())
              if getattr(COMPONENTS[spec.component].checks[spec.id].search, "hard_cases", None) is not None]
#: An optimizer example is a run of up to 10**4 steps; a LayerNorm example is one pass.
_EXAMPLES = {"adam": 6, "adamw": 6}


def _hard(spec_id: str, seed: int = 0, examples: int | None = None) -> SearchSettings:
    component = CATALOGUE[spec_id].component
    return SearchSettings(max_examples=examples or _EXAMPLES.get(component, 30), seed=seed, profile="hard")


def test_the_hard_profile_applies_to_layernorm_adam_and_adamw() -> None:
    families = {spec.id.split(".")[0] for spec in HARD_SPECS}
    assert families == {"layernorm", "adam", "adamw"}, families
    assert len(HARD_SPECS) == 13


# --------------------------------------------------------------------------- the bundled implementation

class _Seen:
    """What a target was given: LayerNorm dtypes and eps, optimizer dtypes, run lengths and
    gradient magnitudes."""

    def __init__(self) -> None:
        self.layernorm_dtypes: set[np.dtype] = set()
        self.eps: list[float] = []
        self.optimizer_dtypes: set[np.dtype] = set()
        self.longest_run = 0
        self.largest_gradient = 0.0
        self.smallest_gradient = np.inf


class _SeenSession:
    def __init__(self, session: Any, seen: _Seen) -> None:
        self.session, self.seen, self.steps = session, seen, 0

    def step(self, gradients: Sequence[np.ndarray]) -> Any:
        self.steps += 1
        self.seen.longest_run = max(self.seen.longest_run, self.steps)
        magnitudes = np.concatenate([np.abs(np.asarray(g, dtype=np.float64)).ravel() for g in gradients])
        self.seen.largest_gradient = max(self.seen.largest_gradient, float(magnitudes.max()))
        if np.any(magnitudes > 0):
            self.seen.smallest_gradient = min(self.seen.smallest_gradient, float(magnitudes[magnitudes > 0].min()))
        return self.session.step(gradients)


class _SeenOptimizer:
    def __init__(self, adapter: Any, seen: _Seen) -> None:
        self.adapter, self.seen = adapter, seen

    def open(self, layers: Any, hyperparameters: Any) -> _SeenSession:
        self.seen.optimizer_dtypes.add(np.dtype(layers[0][0].dtype))
        return _SeenSession(self.adapter.open(layers, hyperparameters), self.seen)


class _SeenLayerNorm:
    def __init__(self, adapter: Any, seen: _Seen) -> None:
        self.adapter, self.seen = adapter, seen

    def run(self, Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, G: np.ndarray) -> Any:
        self.seen.layernorm_dtypes.add(Z.dtype)
        self.seen.eps.append(eps)
        return self.adapter.run(Z, gamma, beta, eps, G)


class _Watched:
    """A target (here the bundled implementation) that notes what it is given."""

    def __init__(self, target: Any) -> None:
        self.target, self.name, self.description = target, target.name, target.description
        self.seen = _Seen()

    def component(self, name: str) -> Any:
        adapter = self.target.component(name)
        return _SeenLayerNorm(adapter, self.seen) if name == "layernorm" else _SeenOptimizer(adapter, self.seen)


@pytest.fixture(scope="module")
def bundled() -> tuple[_Seen, dict[str, Result]]:
    target = _Watched(resolve_target("numpy"))
    results = {spec.id: engine.check(spec, target, _hard(spec.id)) for spec in HARD_SPECS}
    return target.seen, results


@pytest.mark.parametrize("spec_id", [spec.id for spec in HARD_SPECS])
def test_the_bundled_implementation_passes_the_hard_profile(spec_id: str, bundled) -> None:
    _, results = bundled
    result = results[spec_id]
    assert result.outcome is Outcome.PASS, f"{result.outcome.value}: {result.message}\n{result.counterexample}"
    assert result.examples >= _hard(spec_id).max_examples


def test_the_hard_profile_reaches_its_corners(bundled) -> None:
    """What the searches above drew: the corners, not the default profile's inputs (which would
    pass just as well, so this is what fails if ``profile="hard"`` is ignored)."""
    seen, _ = bundled
    assert seen.layernorm_dtypes == {np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)}
    assert min(seen.eps) < 1e-20
    assert seen.longest_run >= 1000
    assert seen.largest_gradient > 1e8 and seen.smallest_gradient < 1e-10
    assert seen.optimizer_dtypes <= {np.dtype(np.float32), np.dtype(np.float64)}  # no float16 optimizer state


def test_the_default_profile_stays_out_of_the_corners() -> None:
    """The same watch on the default profile sees none of it (so the test above can fail)."""
    target = _Watched(resolve_target("numpy"))
    for spec_id in ("layernorm.normalize", "adam.update"):
        options = SearchSettings(max_examples=20, seed=0)
        assert engine.check(CATALOGUE[spec_id], target, options).outcome is Outcome.PASS
    seen = target.seen
    assert np.dtype(np.float16) not in seen.layernorm_dtypes and min(seen.eps) >= 1e-12
    assert seen.longest_run <= 50 and seen.largest_gradient < 1e6


# --------------------------------------------------------------------------- planted bugs

#: The deviation a bug follows, where the spec documents it as a rejected variant.
_DEVIATIONS = {
    "bug_adam_no_bias_correction": "uncorrected",
    "bug_adamw_decays_updated_weights": "decay-of-updated-weights",
    "bug_layernorm_eps_outside_sqrt": "eps-outside-sqrt",
    "bug_layernorm_unbiased_variance": "unbiased",
}
BUGS = [(name, spec) for name, expected in sorted(EXPECTED.items()) if name.startswith("bug_")
        for spec in sorted(expected["fails"]) if spec in {hard.id for hard in HARD_SPECS}]


def test_every_planted_bug_of_these_families_is_tried() -> None:
    assert {name for name, _ in BUGS} == {name for name in EXPECTED
                                          if name.startswith(("bug_adam", "bug_layernorm"))}
    assert len(BUGS) >= 10


@pytest.mark.parametrize(("name", "spec_id"), BUGS, ids=[name for name, _ in BUGS])
def test_the_hard_profile_catches_the_planted_bugs(name: str, spec_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    checks = COMPONENTS[CATALOGUE[spec_id].component].checks
    check = checks[spec_id]  # the hard cases alone must find it:
    monkeypatch.setitem(checks, spec_id, dataclasses.replace(check, search=dataclasses.replace(check.search, explicit=list)))
    result = engine.check(CATALOGUE[spec_id], resolve_target(f"mytorch:{HANDINS / name}"), _hard(spec_id, examples=30))
    assert result.outcome is Outcome.FAIL, f"{name} {spec_id}: {result.outcome.value}: {result.message}"
    assert result.counterexample
    if name in _DEVIATIONS:
        assert result.variant == _DEVIATIONS[name], result.message


# --------------------------------------------------------------------------- the command line

NO_HALF = textwrap.dedent('''
    import numpy as np


    class NoHalf:
        """A correct LayerNorm that refuses float16 input."""

        def layernorm(self, Z, gamma, beta, eps, G):
            if Z.dtype == np.float16:
                raise TypeError("no float16 here")
            C = Z.shape[1]
            mu = Z.mean(axis=1, keepdims=True)
            centered = Z - mu
            var = (centered * centered).mean(axis=1, keepdims=True)
            inv = 1 / np.sqrt(var + eps)
            Zhat = centered * inv
            dZhat = G * gamma
            dZ = inv / C * (C * dZhat - dZhat.sum(axis=1, keepdims=True)
                            - Zhat * (dZhat * Zhat).sum(axis=1, keepdims=True))
            return {"Ztilde": gamma * Zhat + beta, "dLdZ": dZ, "dLdgamma": (G * Zhat).sum(axis=0, keepdims=True),
                    "dLdbeta": G.sum(axis=0, keepdims=True), "mu": mu, "sigma2": var, "Zhat": Zhat}
''')


@pytest.mark.parametrize("profile", ["hard", "default"])
def test_the_command_line_hands_the_profile_to_its_workers(profile: str, tmp_path: Path) -> None:
    """Through worker processes: the hard profile reaches float16, where this target raises;
    the default profile never draws float16, so the same target passes."""
    (tmp_path / "no_half.py").write_text(NO_HALF)
    output = tmp_path / "report"
    # layernorm.grad_beta: its claim is proved in a second or two, the others' take longer.
    code = main(["report", "--target", f"file:{tmp_path / 'no_half.py'}:NoHalf", "--spec", "layernorm.grad_beta",
                 "--profile", profile, "--max-examples", "20", "-o", str(output), "--quiet", "--no-examples-db"])
    data = json.loads((output / "report.json").read_text())
    assert data["meta"]["profile"] == profile
    (result,) = data["results"]
    if profile == "default":
        assert code == 0 and result["outcome"] == "pass", result["message"]
        return
    assert code == 1 and result["outcome"] == "error", result["message"]
    assert "TypeError: no float16 here" in result["message"]
    assert "dtype=float16" in result["counterexample"]


# The time budget of long runs ------------------------------------------------------------------


def _long_run(steps: int, width: int = 1):
    from eqconform.verify.strategies.arrays import ArrayRecipe
    from eqconform.verify.strategies.optimizers import AdamHyperparameters, OptimizerRun

    dtype = np.dtype(np.float64)
    parameters = (ArrayRecipe((width, width), dtype, seed=1), ArrayRecipe((width, 1), dtype, seed=2))
    hyper = AdamHyperparameters(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0)
    return OptimizerRun(dtype, hyper, ((width, width),), parameters, gradient_seed=3,
                        gradient_scales=(1.0,) * steps)


class _Owner:
    """A target's stand-in: what its memory is kept under."""


class _SlowAdam:
    """The bundled Adam, each step taking at least a millisecond (a slow library)."""

    def __init__(self, adapter) -> None:
        self._adapter = adapter

    def open(self, layers, hyper):
        import time

        session = self._adapter.open(layers, hyper)

        class Slow:
            def step(self, gradients):
                time.sleep(0.001)
                return session.step(gradients)

        return Slow()


def test_long_runs_are_cut_to_the_targets_time_budget_at_one_step_for_every_run() -> None:
    from eqconform.verify import search
    from eqconform.verify.judge import judge

    check = COMPONENTS["adam"].checks["adam.update"].search
    bundled = resolve_target("numpy").component("adam")
    adapter = _SlowAdam(bundled)
    owner = _Owner()
    run = _long_run(3000)
    with search.observations(owner, time_limit=64 * 1.0):  # 1 s per run: ~512 steps fit
        (first,) = check.observe(adapter, run, check.graph)
        (second,) = check.observe(adapter, _long_run(2000), check.graph)
    done = first.values["theta"].size // 2
    # A power of two from 128 up; the 100 steps timed when not even 128 fit (a loaded machine).
    assert done == 100 or (128 <= done < 3000 and done & (done - 1) == 0)
    assert first.label.startswith(f"{done}-step run, the first of 3000 steps")
    assert second.values["theta"].size // 2 == done  # the cap is the target's, not the run's
    # A run of 28 times the parameters per step gets 28 times fewer steps (at least 100): a cap
    # timed on small layers must not let large ones take many times the budget.
    with search.observations(owner, time_limit=64 * 1.0):
        (wide,) = check.observe(adapter, _long_run(3000, width=7), check.graph)
    steps_done = wide.values["theta"].size // (7 * 7 + 7)
    assert steps_done == max(100, 2 ** int(np.log2(done * 2 / 56))), (done, steps_done)
    assert judge(check.graph, "adam.update", first).passed
    with search.observations(_Owner()):  # no time limit: every step
        (whole,) = check.observe(bundled, _long_run(300), check.graph)
    assert whole.values["theta"].size // 2 == 300 and whole.label == "300-step run"


def test_a_long_runs_share_of_the_time_limit_shrinks_with_the_examples_a_search_draws() -> None:
    # A search of 100 examples, two in three of them long runs, must not spend more than the
    # check's time limit on them (at 1/64 each, 67 long runs took 105% of it).
    from eqconform.specs import get_spec
    from eqconform.verify import engine
    from eqconform.verify.components import optimizers
    from eqconform.verify.search import SearchSettings

    seen: list[float] = []
    original = optimizers._run_share

    def recorded() -> float:
        seen.append(original())
        return seen[-1]

    bundled = resolve_target("numpy")
    for examples, share in ((100, 1 / 200), (10, 1 / 64)):
        seen.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(optimizers, "_run_share", recorded)
            engine.check(get_spec("adam.update"), bundled, SearchSettings(max_examples=examples, seed=0))
        assert seen and set(seen) == {share}
        assert examples * 2 / 3 * share < 0.5
    assert optimizers._run_share() == 1 / 64  # outside a search: the share for one run alone
