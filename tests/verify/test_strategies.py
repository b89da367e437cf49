"""The Hypothesis strategies: option validation, bounds, reachable corners, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from eqconform.verify import strategies
from eqconform.verify.strategies import (
    AdamHyperparameters,
    ArrayRecipe,
    adam_hyperparameters,
    array_recipes,
    attention_inputs,
    autoencoder_inputs,
    batch_shapes,
    diffusion_inputs,
    dropout_inputs,
    float_dtypes,
    hard_layernorm_inputs,
    hard_optimizer_runs,
    layernorm_inputs,
    noise_inputs,
    optimizer_runs,
    prenorm_stacks,
    scaled_layernorm_inputs,
    weight_decay_runs,
)
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

SMALL = {"max_rows": 6, "max_features": 6}
#: For hypothesis.find: the first example that satisfies the condition, without shrinking it.
FIND = settings(database=None, max_examples=2000, phases=[Phase.generate], suppress_health_check=list(HealthCheck))

# --------------------------------------------------------------------------- validation

BAD_OPTIONS = [
    (batch_shapes, {"min_rows": 0}, "min_rows=0"),
    (batch_shapes, {"min_features": 0}, "min_features=0"),
    (batch_shapes, {"min_rows": 5, "max_rows": 4}, "min_rows=5"),
    (batch_shapes, {"min_features": 9, "max_features": 3}, "max_features=3"),
    (batch_shapes, {"min_rows": 1.5}, "min_rows=1.5"),
    (batch_shapes, {"min_rows": True}, "min_rows=True"),
    (layernorm_inputs, {"min_rows": 0}, "min_rows=0"),
    (layernorm_inputs, {"min_features": 3, "max_features": 2}, "min_features=3"),
    (layernorm_inputs, {"dtypes": ["int32"]}, "int32"),
    (layernorm_inputs, {"dtypes": []}, "dtypes"),
    (layernorm_inputs, {"dtypes": ["not-a-dtype"]}, "not-a-dtype"),
    (layernorm_inputs, {"max_offset": -1.0}, "max_offset=-1.0"),
    (layernorm_inputs, {"eps": -1e-3}, "eps=-0.001"),
    (dropout_inputs, {"min_p": 0.6, "max_p": 0.5}, "min_p=0.6"),
    (dropout_inputs, {"max_p": 1.0}, "max_p=1.0"),
    (dropout_inputs, {"min_p": -0.1}, "min_p=-0.1"),
    (dropout_inputs, {"dtypes": ["int32"]}, "int32"),
    (dropout_inputs, {"max_rows": 0}, "max_rows=0"),
    (optimizer_runs, {"min_steps": 0}, "min_steps=0"),
    (optimizer_runs, {"min_steps": 5, "max_steps": 4}, "min_steps=5"),
    (optimizer_runs, {"max_layers": 0}, "max_layers=0"),
    (optimizer_runs, {"max_width": 0}, "max_width=0"),
    (optimizer_runs, {"dtypes": ["int32"]}, "int32"),
    (optimizer_runs, {"min_gradient_scale": 0.0}, "min_gradient_scale=0.0"),
    (optimizer_runs, {"min_gradient_scale": -1.0}, "min_gradient_scale=-1.0"),
    (optimizer_runs, {"min_gradient_scale": 10.0, "max_gradient_scale": 1.0}, "max_gradient_scale=1.0"),
    (float_dtypes, {"dtypes": ["int32"]}, "int32"),
    (float_dtypes, {"dtypes": [np.complex128]}, "complex128"),
    (array_recipes, {"shape": (2, 2), "dtype": np.float64, "min_scale": 0.0}, "min_scale=0.0"),
    (array_recipes, {"shape": (2, 2), "dtype": np.float64, "min_scale": 2.0, "max_scale": 1.0}, "max_scale=1.0"),
    (array_recipes, {"shape": (2, 2), "dtype": np.float64, "max_offset": -5.0}, "max_offset=-5.0"),
]


@pytest.mark.parametrize(
    ("factory", "options", "named"), BAD_OPTIONS,
    ids=[f"{factory.__name__}-{'-'.join(f'{k}={v}' for k, v in options.items() if k not in {'shape', 'dtype'})}"
         for factory, options, _ in BAD_OPTIONS],
)
def test_bad_options_raise_invalid_argument_when_called(factory, options, named):
    with pytest.raises(InvalidArgument) as info:
        factory(**options)  # raised eagerly, not on the first draw
    assert named in str(info.value), f"message does not name {named!r}: {info.value}"


def _is_float_dtype(dtype) -> bool:
    return dtype in (np.dtype(np.float32), np.dtype(np.float64))


#: A factory, options it must accept, and what every value it then draws must satisfy.
GOOD_OPTIONS = [
    (batch_shapes, {}, lambda s: isinstance(s, tuple) and 1 <= s[0] <= 256 and 1 <= s[1] <= 256),
    (layernorm_inputs, {},
     lambda c: c.Z.shape == c.G.shape == (c.rows, c.features) and c.gamma.shape == (1, c.features)
     and _is_float_dtype(c.dtype) and c.Z.dtype == c.dtype and 1e-12 <= c.eps <= 1.0),
    (dropout_inputs, {}, lambda c: 0.0 <= c.p <= 0.95 and c.x.shape == c.delta.shape and _is_float_dtype(c.x.dtype)),
    (optimizer_runs, {},
     lambda r: 1 <= r.steps <= 50 and len(r.gradient_scales) == r.steps and r.hyperparameters.weight_decay == 0.0
     and all(1e-6 <= scale <= 1e4 for scale in r.gradient_scales)),
    (adam_hyperparameters, {}, lambda h: 0 < h.beta1 < 1 and 0 < h.beta2 < 1 and h.lr > 0 and h.eps > 0
     and h.weight_decay == 0.0),
    (float_dtypes, {}, _is_float_dtype),
    (dropout_inputs, {"min_p": 0.0, "max_p": 0.0}, lambda c: c.p == 0.0),
    (layernorm_inputs, {"eps": 0.0, "max_offset": 0.0}, lambda c: c.eps == 0.0 and c.z.offset == 0.0),
]


@pytest.mark.parametrize(("factory", "options", "holds"), GOOD_OPTIONS,
                         ids=[f"{factory.__name__}-{'-'.join(f'{k}={v}' for k, v in options.items()) or 'defaults'}"
                              for factory, options, _ in GOOD_OPTIONS])
def test_good_options_are_accepted(factory, options, holds):
    """Accepted means: the strategy builds, draws, and every value it draws honours the options."""
    strategy = factory(**options)

    @settings(database=None, max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draws(value):
        assert holds(value), f"{factory.__name__}({options}) drew {value!r}"

    draws()


# --------------------------------------------------------------------------- bounds


@given(st.data())
def test_batch_shapes_respect_bounds(data):
    min_rows = data.draw(st.integers(1, 5))
    max_rows = data.draw(st.integers(min_rows, 12))
    min_features = data.draw(st.integers(1, 5))
    max_features = data.draw(st.integers(min_features, 12))
    rows, features = data.draw(batch_shapes(min_rows=min_rows, max_rows=max_rows,
                                            min_features=min_features, max_features=max_features))
    assert min_rows <= rows <= max_rows
    assert min_features <= features <= max_features


@given(st.data())
def test_array_recipes_respect_bounds(data):
    shape = data.draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    dtype = data.draw(float_dtypes())
    min_scale = data.draw(st.sampled_from([1e-3, 1e-1, 0.5, 1.0, 3.0]))
    max_scale = data.draw(st.sampled_from([s for s in [0.5, 1.0, 3.0, 10.0, 1e3] if s >= min_scale]))
    max_offset = data.draw(st.sampled_from([0.0, 1.0, 7.0, 1e3, 1e6]))
    recipe = data.draw(array_recipes(shape, dtype, min_scale=min_scale, max_scale=max_scale, max_offset=max_offset))
    assert min_scale <= recipe.scale <= max_scale
    assert abs(recipe.offset) <= max_offset
    array = recipe.build()
    assert array.shape == shape and array.dtype == dtype
    assert np.all(np.isfinite(array))


@settings(database=None, max_examples=200)
@given(array_recipes((2, 2), np.dtype(np.float64), max_offset=0.5))
def test_array_recipes_respect_a_fractional_max_offset(recipe):
    assert abs(recipe.offset) <= 0.5, f"offset {recipe.offset} exceeds max_offset=0.5"


@settings(database=None, max_examples=200)
@given(layernorm_inputs(max_rows=3, max_features=3, max_offset=0.5))
def test_layernorm_inputs_respect_a_fractional_max_offset(case):
    assert abs(case.z.offset) <= 0.5, f"offset {case.z.offset} exceeds max_offset=0.5"


@given(layernorm_inputs(min_rows=2, max_rows=5, min_features=1, max_features=4, dtypes=["float32"], max_offset=100.0))
def test_layernorm_inputs_respect_bounds(case):
    assert 2 <= case.rows <= 5 and 1 <= case.features <= 4
    assert case.Z.shape == (case.rows, case.features) == case.G.shape
    assert case.gamma.shape == case.beta.shape == (1, case.features)
    assert case.Z.dtype == case.G.dtype == case.gamma.dtype == np.float32
    assert 1e-12 <= case.eps <= 1.0
    assert abs(case.z.offset) <= 100.0
    # Per-row offsets: every row mean lies within reach of the offset (plus the noise).
    assert np.all(np.abs(case.Z.astype(np.float64).mean(axis=1)) <= 100.0 + 6 * case.z.scale + 1e-3)


@given(layernorm_inputs(**SMALL, affine=False, eps=0.25))
def test_layernorm_inputs_without_affine(case):
    assert np.all(case.gamma == 1) and np.all(case.beta == 0)
    assert case.eps == 0.25


@given(dropout_inputs(**SMALL, min_p=0.2, max_p=0.4))
def test_dropout_inputs_respect_bounds(case):
    assert 0.2 <= case.p <= 0.4
    assert case.x.shape == case.delta.shape
    rows, features = case.x.shape
    assert 1 <= rows <= 6 and 1 <= features <= 6
    assert 0 <= case.seed < 2**32


@given(adam_hyperparameters(weight_decay=True))
def test_adam_hyperparameters_in_documented_domains(h):
    assert isinstance(h, AdamHyperparameters)
    assert 0 < h.beta1 < 1 and 0 < h.beta2 < 1
    assert h.lr > 0 and h.eps > 0
    assert h.weight_decay >= 0


@given(adam_hyperparameters())
def test_adam_hyperparameters_without_decay(h):
    assert h.weight_decay == 0.0


# --------------------------------------------------------------------------- reachable corners


@pytest.mark.parametrize(
    ("name", "condition"),
    [
        ("N == C", lambda s: s[0] == s[1] and s[0] > 1),
        ("N == 1", lambda s: s[0] == 1 and s[1] > 1),
        ("C == 1", lambda s: s[1] == 1 and s[0] > 1),
        ("N max", lambda s: s[0] == 40),
        ("C max", lambda s: s[1] == 30),
        ("both max", lambda s: s == (40, 30)),
    ],
)
def test_batch_shapes_reach_the_corners(name, condition):
    found = find(batch_shapes(max_rows=40, max_features=30), condition, settings=FIND)
    assert condition(found), name


@pytest.mark.parametrize("p", [0.0, 0.3, 0.8])
def test_dropout_probabilities_reachable(p):
    found = find(dropout_inputs(max_rows=2, max_features=2), lambda case: case.p == p, settings=FIND)
    assert found.p == p


# --------------------------------------------------------------------------- optimizer runs


@given(optimizer_runs(max_steps=6, max_layers=2, max_width=4, weight_decay=True, dtypes=["float32", "float64"],
                      min_gradient_scale=1e-3, max_gradient_scale=1e2))
def test_optimizer_runs_shapes_and_steps(run):
    assert 1 <= run.steps <= 6
    assert 1 <= len(run.layer_shapes) <= 2
    assert all(1 <= out <= 4 and 1 <= inp <= 4 for out, inp in run.layer_shapes)
    expected_shapes = [shape for out, inp in run.layer_shapes for shape in ((out, inp), (out, 1))]
    assert run.parameter_shapes == expected_shapes
    assert [p.shape for p in run.initial_parameters] == expected_shapes
    assert len(run.gradients) == run.steps
    for step in run.gradients:
        assert [g.shape for g in step] == expected_shapes
        assert all(g.dtype == run.dtype for g in step)
    assert all(1e-3 <= s <= 1e2 for s in run.gradient_scales)
    assert run.hyperparameters.weight_decay >= 0


@given(optimizer_runs(min_steps=2, max_steps=4, max_layers=1, max_width=3))
def test_optimizer_runs_draw_fresh_gradients_every_step(run):
    for first, second in zip(run.gradients, run.gradients[1:]):
        for a, b in zip(first, second):
            assert not np.array_equal(a, b), "a gradient repeated from one step to the next"


def test_optimizer_runs_reach_one_step_and_the_maximum():
    strategy = optimizer_runs(max_steps=12, max_layers=1, max_width=2)
    assert find(strategy, lambda r: r.steps == 1, settings=FIND).steps == 1
    assert find(strategy, lambda r: r.steps == 12, settings=FIND).steps == 12
    assert find(strategy, lambda r: len(set(r.gradient_scales)) > 1, settings=FIND)


def test_optimizer_run_gradients_are_reproducible():
    run = find(optimizer_runs(max_steps=3, max_layers=2, max_width=3), lambda r: r.steps == 3, settings=FIND)
    again = type(run)(run.dtype, run.hyperparameters, run.layer_shapes, run.parameters, run.gradient_seed,
                      run.gradient_scales)
    for a, b in zip(run.gradients, again.gradients):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    for x, y in zip(run.initial_parameters, again.initial_parameters):
        np.testing.assert_array_equal(x, y)


# --------------------------------------------------------------------------- the hard profile


def test_hard_optimizer_runs_reach_ten_thousand_steps():
    """A run longer than 8192 steps: drawing one gradient scale per step, Hypothesis refused such
    a run outright (``InvalidArgument: ... min_size=8_193``) and the hard profile ended in error."""
    run = find(hard_optimizer_runs(), lambda r: r.steps > 8192, settings=FIND)
    assert len(run.gradient_scales) == run.steps > 8192
    assert run.dtype in (np.float32, np.float64)


@settings(database=None, max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(hard_optimizer_runs(weight_decay=True))
def test_hard_optimizer_runs_stay_where_the_dtype_holds_the_answer(run):
    """Gradients (and so the second moment g**2) stay finite in the dtype of the run."""
    assert run.dtype != np.float16
    assert len(run.gradient_scales) == run.steps
    assert run.hyperparameters.weight_decay >= 0
    for step in run.gradients[:20]:
        for gradient in step:
            wide = gradient.astype(np.float64)
            assert np.all(np.isfinite(gradient)) and np.all(np.isfinite((wide * wide).astype(run.dtype)))


@settings(database=None, max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(hard_layernorm_inputs())
def test_hard_layernorm_inputs_stay_where_the_dtype_holds_eps_and_the_input(case):
    """eps survives the cast into the dtype (it is at least its smallest normal number), and the
    input is finite (float16 overflows at 65504)."""
    assert case.dtype in (np.float16, np.float32, np.float64)
    assert np.finfo(case.dtype).smallest_normal <= case.eps <= 1e-3
    assert 1e-30 <= case.eps
    assert np.all(np.isfinite(case.Z)) and case.Z.shape[0] <= 32 and case.Z.shape[1] <= 64


@pytest.mark.parametrize(
    ("name", "condition"),
    [
        ("float16", lambda c: c.dtype == np.float16),
        ("eps below 1e-20", lambda c: c.eps < 1e-20),
        ("|mean| / spread above 1e6", lambda c: c.dtype != np.float16 and c.z.offset != 0 and
         abs(c.z.offset) / c.z.scale > 1e6),
        ("float16 with |mean| / spread above 1e3", lambda c: c.dtype == np.float16 and c.z.offset != 0
         and abs(c.z.offset) / c.z.scale > 1e3 and np.all(np.isfinite(c.Z))),
    ],
)
def test_hard_layernorm_inputs_reach_the_corners(name, condition):
    found = find(hard_layernorm_inputs(), condition, settings=FIND)
    assert condition(found), name


# --------------------------------------------------------------------------- recipes


@pytest.mark.parametrize("row_offsets", [False, True])
def test_array_recipe_build_is_deterministic(row_offsets):
    recipe = ArrayRecipe((5, 7), np.dtype(np.float32), seed=123, scale=2.0, offset=-50.0, row_offsets=row_offsets)
    first, second = recipe.build(), recipe.build()
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.float32 and first.shape == (5, 7)
    other = ArrayRecipe((5, 7), np.dtype(np.float32), seed=124, scale=2.0, offset=-50.0, row_offsets=row_offsets)
    assert not np.array_equal(first, other.build())


def test_array_recipe_row_offsets_give_rows_different_means():
    recipe = ArrayRecipe((6, 200), np.dtype(np.float64), seed=0, scale=1.0, offset=1000.0, row_offsets=True)
    means = recipe.build().mean(axis=1)
    assert np.all((means > 500 - 1) & (means < 1000 + 1))
    assert np.ptp(means) > 10


def test_array_recipe_scale_and_offset():
    recipe = ArrayRecipe((1000,), np.dtype(np.float64), seed=1, scale=3.0, offset=10.0)
    values = recipe.build()
    assert abs(values.mean() - 10.0) < 0.5
    assert abs(values.std() - 3.0) < 0.3


# --------------------------------------------------------------------------- attention, noise, diffusion, ...

STRATEGIES = [attention_inputs(), noise_inputs(), diffusion_inputs(), weight_decay_runs(), autoencoder_inputs(),
              scaled_layernorm_inputs(), prenorm_stacks()]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: repr(s)[:40])
def test_cases_describe_themselves(strategy):
    @settings(max_examples=15, deadline=None)
    @given(strategy)
    def check(case):
        text = case.describe()
        assert isinstance(text, str) and f"dtype={case.dtype}" in text, text
        assert "np.array(" in text  # the arrays themselves, as code that rebuilds them

    check()


@settings(max_examples=30, deadline=None)
@given(prenorm_stacks())
def test_prenorm_inputs_satisfy_the_premise(stack):
    x = stack.x0.astype(np.float64)
    tolerance = 1e-5 if stack.dtype == np.float32 else 1e-12
    assert np.allclose(x.mean(axis=1), 0, atol=tolerance * np.sqrt(stack.features))
    assert np.allclose(np.linalg.norm(x, axis=1), np.sqrt(stack.features), rtol=tolerance)
    g = stack.upstream.astype(np.float64)
    assert np.allclose(np.linalg.norm(g, axis=1), np.sqrt(stack.features), rtol=tolerance)
    if stack.orthogonal:
        assert np.allclose(np.sum(g * x, axis=1), 0, atol=1e-3 * stack.features)


@settings(max_examples=30, deadline=None)
@given(diffusion_inputs())
def test_diffusion_inputs_are_in_range(case):
    assert np.all((case.betas > 0) & (case.betas < 1))
    assert 0 < case.alpha <= 1 and 0 < case.etas[0] < case.etas[1]
    assert 1 <= case.times[0] <= case.times[1] <= case.steps


@pytest.mark.parametrize(
    ("factory", "options", "name"),
    [
        (attention_inputs, {"max_keys": 0}, "max_keys"),
        (attention_inputs, {"max_scale": 100.0}, "max_scale"),
        (noise_inputs, {"max_samples": 0}, "max_samples"),
        (diffusion_inputs, {"max_steps": -1}, "max_steps"),
        (weight_decay_runs, {"dtypes": ["int32"]}, "dtypes"),
        (autoencoder_inputs, {"max_dim": 0}, "max_dim"),
        (prenorm_stacks, {"max_features": 2}, "max_features"),
    ],
)
def test_bad_options_of_the_other_families_raise_invalid_argument(factory, options, name):
    with pytest.raises(InvalidArgument, match=name):
        factory(**options)


# --------------------------------------------------------------------------- the package

CONCEPTS = ["arrays", "optimizers", "layernorm", "dropout", "attention", "noise", "diffusion", "autoencoder"]


@pytest.mark.parametrize("concept", CONCEPTS)
def test_each_concept_module_lists_what_it_defines(concept):
    """Each module's ``__all__`` names exactly its own public definitions (as
    ``tests/test_public_api.py`` checks for the package)."""
    import importlib
    import inspect

    module = importlib.import_module(f"eqconform.verify.strategies.{concept}")
    own = {name for name, value in vars(module).items()
           if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
           and getattr(value, "__module__", None) == module.__name__}
    assert own <= set(module.__all__), sorted(own - set(module.__all__))
    assert all(hasattr(module, name) for name in module.__all__)


def test_the_package_re_exports_every_strategy_and_case():
    """Every public strategy (a plural noun) and every case type of the concept modules is
    importable from ``eqconform.verify.strategies``; the helpers of :mod:`.arrays` that only
    the modules share are not."""
    import importlib

    for concept in CONCEPTS[1:]:
        module = importlib.import_module(f"eqconform.verify.strategies.{concept}")
        public = {name for name in module.__all__
                  if name.endswith(("_inputs", "_runs", "_stacks")) or name[0].isupper()}
        assert public <= set(strategies.__all__), (concept, sorted(public - set(strategies.__all__)))
    assert not {"check_dtypes", "check_positive_int", "show", "sizes"} & set(strategies.__all__)


def test_long_hard_runs_shrink_below_a_thousand_steps() -> None:
    """A failure seen only on long runs is reported on the shortest run that still shows it."""
    run = find(strategies.hard_optimizer_runs(), lambda run: run.steps >= 300,
               settings=settings(max_examples=200, database=None, deadline=None))
    assert run.steps == 300
