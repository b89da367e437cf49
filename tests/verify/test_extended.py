"""The array-form extensions (exp, cumulative products, Heaviside) and the EECS 182 strategies
and statistical helpers."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from eqconform.specs import diffusion
from eqconform.verify.compiler import compile_expressions, compile_program, lower
from eqconform.verify.extended import (
    CumProdAxis,
    arrayable,
    bound_program,
    rewrite_products,
    unrolled_predictor,
)
from eqconform.verify.moment_tests import covariance_test, mean_test, power_of_z_test, variance_test
from eqconform.verify.strategies_extra import (
    weight_decay_runs,
    attention_inputs,
    autoencoder_inputs,
    diffusion_inputs,
    noise_inputs,
    prenorm_stacks,
    scaled_layernorm_inputs,
)
from hypothesis import given, settings
from hypothesis.errors import InvalidArgument

U = 2.0**-53


def _evaluate(expr: sp.Expr, values: dict) -> tuple[np.ndarray, np.ndarray]:
    (value,) = compile_expressions((expr,))(values)
    assignments, (error,) = bound_program((expr,))
    (bound,) = compile_program(assignments, (error,))({**values, "unit_roundoff": U})
    return value, bound


def test_the_product_of_the_schedule_becomes_a_cumulative_product():
    spec = arrayable(diffusion.ALPHA)
    relation = spec.canonical.expression("abar")
    assert relation.atoms(CumProdAxis) and not relation.atoms(sp.Product)
    betas = np.array([0.1, 0.2, 0.5, 0.25])
    value, bound = _evaluate(lower(relation, spec.axes), {"beta": betas})
    np.testing.assert_allclose(value, np.cumprod(1 - betas), rtol=0, atol=1e-16)
    assert np.all(bound > 0) and np.all(bound < 1e-14)
    assert bound[-1] > bound[0], "more factors, more rounding"


def test_a_product_over_another_axis_is_left_alone():
    t, s = sp.symbols("t s", integer=True, positive=True)
    x = sp.IndexedBase("x")
    product = sp.Product(x[s], (s, 1, 3))
    assert rewrite_products(product, {t: 0, s: 1}) == product


def test_exp_bound_covers_the_float64_error():
    import mpmath

    x = sp.Symbol("x")
    values = np.linspace(-30, 30, 61) + 1 / 3
    value, bound = _evaluate(sp.exp(3 * x), {"x": values})
    with mpmath.workdps(50):
        exact = np.array([float(mpmath.exp(3 * mpmath.mpf(float(v)))) for v in values])
        errors = np.array([float(abs(mpmath.mpf(float(c)) - mpmath.exp(3 * mpmath.mpf(float(v)))))
                           for c, v in zip(value, values)])
    assert np.all(errors <= bound)
    assert np.all(bound <= 1e-12 * exact)


def test_heaviside_is_certain_only_away_from_zero():
    a, b = sp.symbols("a b", real=True)
    step = unrolled_predictor([sp.Heaviside(a - b, 1)], {a: sp.Symbol("ea"), b: sp.Symbol("eb")})
    (value,), (bound,) = step({"a": np.array([1.0, 1.0, 1.0]), "b": np.array([0.0, 1.0, 0.999]),
                               "ea": np.array([1e-3, 1e-3, 1e-3]), "eb": np.zeros(3), "unit_roundoff": U})
    np.testing.assert_array_equal(value, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(bound, [0.0, 1.0, 1.0])


# --------------------------------------------------------------------------- statistics


def test_moment_tests_accept_the_truth_and_reject_a_shift():
    rng = np.random.default_rng(0)
    sample = rng.normal(2.0, 3.0, size=50_000)
    assert mean_test("m", sample, 2.0, 9.0).passed and not mean_test("m", sample, 2.3, 9.0).passed
    assert mean_test("m", sample, 2.0).passed  # variance estimated
    assert variance_test("v", sample, 2.0, 9.0, 3 * 81.0).passed and not variance_test("v", sample, 2.0, 10.0).passed
    other = rng.normal(size=50_000)
    assert covariance_test("c", sample, 3 * sample + other, (2.0, 6.0), 27.0).passed
    assert not covariance_test("c", sample, other, (2.0, 0.0), 1.0).passed
    assert 0.99 < power_of_z_test(50_000) <= 1.0
    assert power_of_z_test(10) < 0.01


# --------------------------------------------------------------------------- strategies

STRATEGIES = [attention_inputs(), noise_inputs(), diffusion_inputs(), weight_decay_runs(), autoencoder_inputs(),
              scaled_layernorm_inputs(), prenorm_stacks()]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: repr(s)[:40])
def test_cases_describe_themselves(strategy):
    @settings(max_examples=15, deadline=None)
    @given(strategy)
    def check(case):
        text = case.describe()
        dtype = case.dtype if hasattr(case, "dtype") else case.base.dtype
        assert isinstance(text, str) and f"dtype={dtype}" in text, text
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
def test_bad_options_raise_invalid_argument(factory, options, name):
    with pytest.raises(InvalidArgument, match=name):
        factory(**options)
