"""The compiler lowers spec expressions to vectorized NumPy, and the oracle is the spec itself.

Reference values come from NumPy's own reductions; the mutation tests show that a changed spec
expression changes the oracle's numbers, so there is no parallel hand-written formula.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import sympy as sp
from eqconform.specs import adam as adam_specs
from eqconform.specs import diffusion, get_spec
from eqconform.specs import layernorm as ln
from eqconform.verify.compiler import (
    CumProdAxis,
    ReduceAxis,
    compile_expressions,
    compile_program,
    compose,
    lower,
)
from eqconform.verify.graph import SpecGraph, SpecUse
from eqconform.verify.rounding import bound_program

MEAN, VARIANCE = get_spec("layernorm.mean"), get_spec("layernorm.variance")


def _lowered(spec_id: str, quantity: str, variant: str | None = None) -> sp.Expr:
    spec = get_spec(spec_id)
    chosen = spec.variant(variant) if variant else spec.canonical
    return lower(chosen.expression(quantity), spec.axes)


def _with_relation(spec, quantity, expr):
    variant = spec.canonical
    assert sp.simplify(variant.relations[quantity] - expr) != 0
    changed = dataclasses.replace(variant, relations={**variant.relations, quantity: expr})
    return dataclasses.replace(spec, variants=(changed, *spec.variants[1:]))


# --------------------------------------------------------------------------- lower


def test_lower_turns_a_row_sum_into_a_reduction_along_axis_1():
    lowered = _lowered("layernorm.mean", "mu")
    assert not lowered.atoms(sp.Sum) and not lowered.atoms(sp.Indexed)
    (reduction,) = lowered.atoms(ReduceAxis)
    body, axis, size = reduction.args
    assert body == sp.Symbol("Z")
    assert axis == MEAN.axes[ln.j] == 1
    assert size == ln.C
    assert lowered == reduction / ln.C


def test_lower_turns_a_batch_sum_into_a_reduction_along_axis_0():
    lowered = _lowered("layernorm.grad_gamma", "dLdgamma")
    (reduction,) = lowered.atoms(ReduceAxis)
    body, axis, size = reduction.args
    assert axis == 0 and size == ln.N
    assert body == sp.Symbol("G") * sp.Symbol("Zhat")


def test_lower_follows_the_spec_axes_not_the_index_name():
    expr = sp.Sum(ln.Z[ln.i, ln.j], (ln.j, 1, ln.C))
    assert lower(expr, {ln.i: 1, ln.j: 0}).atoms(ReduceAxis).pop().args[1] == 0


def test_lower_rejects_a_sum_over_an_index_without_an_axis():
    expr = sp.Sum(ln.Z[ln.i, ln.j], (ln.j, 1, ln.C))
    with pytest.raises(ValueError, match="no axis"):
        lower(expr, {ln.i: 0})


# --------------------------------------------------------------------------- compiled values

ROW_SIZES = [1, 2, 3, 17, 4096]


@pytest.mark.parametrize("features", ROW_SIZES)
def test_compiled_mean_and_variance_match_numpy(features):
    rng = np.random.default_rng(features)
    Z = rng.normal(5.0, 3.0, size=(6, features))
    mean = compile_expressions((_lowered("layernorm.mean", "mu"),))
    variance = compile_expressions((compose(_lowered("layernorm.variance", "sigma2"), {"mu": _lowered("layernorm.mean", "mu")}),))
    (mu,) = mean(Z=Z)
    (sigma2,) = variance(Z=Z)
    assert mu.shape == sigma2.shape == (6, 1)
    np.testing.assert_allclose(mu, Z.mean(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(sigma2, Z.var(axis=1, keepdims=True), rtol=1e-10, atol=1e-14)


def test_compiled_expression_does_not_depend_on_the_width():
    """One compiled function serves every C: the array form is not expanded per width."""
    lowered = _lowered("layernorm.mean", "mu")
    small, large = compile_expressions((lowered,)), compile_expressions((lowered,))
    assert small is large
    assert sp.count_ops(lowered) < 5
    Z = np.arange(2 * 10_000, dtype=float).reshape(2, 10_000)
    np.testing.assert_allclose(large(Z=Z)[0], Z.mean(axis=1, keepdims=True))


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (3, 5), (4, 4)])
def test_eq5_batch_sum_reduces_axis_0(shape):
    rng = np.random.default_rng(sum(shape))
    G, Zhat = rng.normal(size=shape), rng.normal(size=shape)
    (dgamma,) = compile_expressions((_lowered("layernorm.grad_gamma", "dLdgamma"),))(G=G, Zhat=Zhat)
    (dbeta,) = compile_expressions((_lowered("layernorm.grad_beta", "dLdbeta"),))(G=G)
    np.testing.assert_allclose(dgamma, (G * Zhat).sum(axis=0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(dbeta, G.sum(axis=0, keepdims=True), rtol=1e-12)
    assert dgamma.shape == dbeta.shape == (1, shape[1])


def test_eq7_compiled_matches_numpy_formula_and_is_zero_for_one_feature():
    rng = np.random.default_rng(9)
    expr = compose(_lowered("layernorm.grad_input", "dLdZ"), {"dLdZhat": _lowered("layernorm.grad_normalized", "dLdZhat")})
    compiled = compile_expressions((expr,))
    for shape in [(3, 1), (4, 4), (2, 6)]:
        Zhat, G = rng.normal(size=shape), rng.normal(size=shape)
        gamma, sigma2, eps = rng.normal(size=(1, shape[1])), rng.uniform(1, 2, size=(shape[0], 1)), 1e-5
        if shape[1] == 1:
            Zhat = np.zeros(shape)
        (dLdZ,) = compiled(Zhat=Zhat, G=G, gamma=gamma, sigma2=sigma2, eps=eps)
        d = G * gamma
        C = shape[1]
        expected = (C * d - d.sum(1, keepdims=True) - Zhat * (d * Zhat).sum(1, keepdims=True)) / (C * np.sqrt(sigma2 + eps))
        np.testing.assert_allclose(dLdZ, expected, rtol=1e-12, atol=1e-15)
        if C == 1:
            np.testing.assert_allclose(dLdZ, 0, atol=1e-15)


def test_sizes_can_be_given_explicitly_but_must_match_the_array():
    compiled = compile_expressions((_lowered("layernorm.mean", "mu"),))
    Z = np.arange(8.0).reshape(2, 4)
    np.testing.assert_allclose(compiled(Z=Z, C=4)[0], Z.mean(axis=1, keepdims=True))
    with pytest.raises(ValueError, match="sum over 2 entries along axis 1 met an array with 4"):
        compiled(Z=Z, C=2)


def test_missing_argument_raises_key_error_naming_it():
    compiled = compile_expressions((_lowered("layernorm.grad_gamma", "dLdgamma"),))
    with pytest.raises(KeyError, match="Zhat"):
        compiled(G=np.ones((2, 2)))


def test_sum_not_spanning_a_whole_axis_raises():
    tail = sp.Sum(ln.Z[ln.i, ln.j], (ln.j, 2, ln.C))
    with pytest.raises(ValueError, match="whole axis"):
        compile_expressions((lower(tail, ln.AXES),))


def test_fixed_range_sum_never_silently_sums_the_whole_axis():
    """Sum_{j=1}^{2} Z[i, j] over a 5-wide axis must not return the sum of all five columns:
    either the compiler refuses it (it does not span the axis) or it sums those two entries."""
    head = lower(sp.Sum(ln.Z[ln.i, ln.j], (ln.j, 1, 2)), ln.AXES)
    Z = np.arange(10.0).reshape(2, 5)
    try:
        compiled = compile_expressions((head,))
        (value,) = compiled(Z=Z)
    except ValueError as refused:
        # Refused for this very reason, saying so: not any ValueError on the way.
        assert re.search(r"sum over 2 entries along axis 1 met an array with 5|must span a whole axis", str(refused)), (
            f"refused for another reason: {refused}")
        return
    np.testing.assert_allclose(value.ravel(), Z[:, :2].sum(axis=1))


def test_row_statistic_summed_over_features_is_multiplied_by_the_width():
    """sum_j mu[i] = C mu[i]: a summand constant along the axis is scaled, not left alone."""
    expr = lower(sp.Sum(ln.mu[ln.i], (ln.j, 1, ln.C)), ln.AXES)
    compiled = compile_expressions((expr,))
    mu = np.array([[1.0], [2.0]])
    np.testing.assert_allclose(compiled(mu=mu, C=3)[0], 3 * mu)


# --------------------------------------------------------------------------- compose and cache


def test_compose_substitutes_transitively():
    a, b, c = sp.symbols("a b c")
    composed = compose(a + 1, {"a": 2 * b, "b": c**2})
    assert sp.expand(composed - (2 * c**2 + 1)) == 0


def test_compose_leaves_undefined_symbols_alone():
    x, y = sp.symbols("x y")
    assert compose(x * y, {}) == x * y


def test_compose_raises_on_cycles():
    a, b = sp.symbols("a b")
    with pytest.raises(ValueError, match="cyclic"):
        compose(a, {"a": b + 1, "b": a})


def test_compile_cache_returns_the_same_object_for_the_same_expressions():
    first = compile_expressions((_lowered("layernorm.mean", "mu"),))
    assert compile_expressions([_lowered("layernorm.mean", "mu")]) is first
    other = compile_expressions((_lowered("layernorm.variance", "sigma2"),))
    assert other is not first
    assert other.function is not first.function


# --------------------------------------------------------------------------- the oracle is the spec


def test_changing_adam_first_moment_changes_the_oracle():
    values = {"m_prev": np.array([1.0, -2.0]), "g": np.array([3.0, 0.5]), "beta1": 0.9}
    original = SpecGraph([SpecUse(adam_specs.FIRST_MOMENT)]).evaluate("m", values)
    # beta1 * m_prev + (1 - beta1) * g = [0.9 + 0.3, -1.8 + 0.05]
    np.testing.assert_allclose(original, [1.2, -1.75])
    swapped = _with_relation(
        adam_specs.FIRST_MOMENT, adam_specs.m,
        (1 - adam_specs.beta1) * adam_specs.m_prev + adam_specs.beta1 * adam_specs.g,
    )
    mutated = SpecGraph([SpecUse(swapped)]).evaluate("m", values)
    # (1 - beta1) * m_prev + beta1 * g = [0.1 + 2.7, -0.2 + 0.45]
    np.testing.assert_allclose(mutated, [2.8, 0.25])


def test_changing_layernorm_variance_changes_the_predictor():
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(4, 6))
    unbiased = sp.Sum((ln.Z[ln.i, ln.j] - ln.mu[ln.i]) ** 2, (ln.j, 1, ln.C)) / (ln.C - 1)
    mutated = _with_relation(ln.VARIANCE, ln.sigma2[ln.i], unbiased)
    combination = (("layernorm.mean", "canonical"), ("layernorm.variance", "biased"))
    results = {}
    for name, spec in (("original", ln.VARIANCE), ("mutated", mutated)):
        graph = SpecGraph([SpecUse(ln.MEAN), SpecUse(spec)])
        predicted, bound = graph.predictor("sigma2", combination, frozenset({"sigma2"}))({"Z": Z, "unit_roundoff": 2.0**-53})
        results[name] = predicted
        assert np.all(np.isfinite(bound)) and np.all(bound >= 0)
        direct = graph.evaluate("sigma2", {"Z": Z, "mu": Z.mean(axis=1, keepdims=True)})
        np.testing.assert_allclose(direct, predicted, rtol=1e-12)
    np.testing.assert_allclose(results["original"], Z.var(axis=1, keepdims=True, ddof=0), rtol=1e-12)
    np.testing.assert_allclose(results["mutated"], Z.var(axis=1, keepdims=True, ddof=1), rtol=1e-12)


def test_predictor_uses_the_chosen_variant():
    graph = SpecGraph([SpecUse(ln.MEAN), SpecUse(ln.VARIANCE)])
    Z = np.random.default_rng(3).normal(size=(3, 5))
    values = {"Z": Z, "unit_roundoff": 2.0**-53}
    biased = graph.predictor("sigma2", (("layernorm.mean", "canonical"), ("layernorm.variance", "biased")), frozenset({"sigma2"}))
    unbiased = graph.predictor("sigma2", (("layernorm.mean", "canonical"), ("layernorm.variance", "unbiased")), frozenset({"sigma2"}))
    np.testing.assert_allclose(biased(values)[0], Z.var(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(unbiased(values)[0], Z.var(axis=1, keepdims=True, ddof=1), rtol=1e-12)


def test_changing_adam_update_changes_the_full_chain_prediction():
    """The Adam predictor composes update <- bias correction <- moments, all from the specs."""
    uses = [SpecUse(adam_specs.FIRST_MOMENT), SpecUse(adam_specs.SECOND_MOMENT),
            SpecUse(adam_specs.BIAS_CORRECTION), SpecUse(adam_specs.UPDATE)]
    combination = tuple(sorted((
        ("adam.first_moment", adam_specs.FIRST_MOMENT.canonical.id), ("adam.second_moment", "canonical"),
        ("adam.bias_correction", "bias-corrected"), ("adam.update", "eps-outside-sqrt"),
    )))
    values = {"theta_prev": np.array([1.0]), "m_prev": np.array([0.0]), "v_prev": np.array([0.0]),
              "g": np.array([2.0]), "beta1": 0.9, "beta2": 0.999, "alpha": 0.1, "eps": 1e-8, "t": 1,
              "unit_roundoff": 2.0**-53}
    predicted, _ = SpecGraph(uses).predictor("theta", combination, frozenset({"theta"}))(values)
    # By hand: mhat = g = 2, vhat = g^2 = 4, theta = 1 - 0.1 * 2 / (2 + 1e-8)
    np.testing.assert_allclose(predicted, [1 - 0.2 / (2 + 1e-8)], rtol=1e-14)
    doubled = _with_relation(
        adam_specs.UPDATE, adam_specs.theta,
        adam_specs.theta_prev - 2 * adam_specs.alpha * adam_specs.mhat / (sp.sqrt(adam_specs.vhat) + adam_specs.eps),
    )
    uses[-1] = SpecUse(doubled)
    changed, _ = SpecGraph(uses).predictor("theta", combination, frozenset({"theta"}))(values)
    np.testing.assert_allclose(changed, [1 - 0.4 / (2 + 1e-8)], rtol=1e-14)


# --------------------------------------------------------------------------- cumulative products


def test_the_product_of_the_schedule_becomes_a_cumulative_product():
    spec = diffusion.ALPHA
    lowered = lower(spec.canonical.expression("abar"), spec.axes)
    assert lowered.atoms(CumProdAxis) and not lowered.atoms(sp.Product)
    betas = np.array([0.1, 0.2, 0.5, 0.25])
    (value,) = compile_expressions((lowered,))({"beta": betas})
    program = bound_program((lowered,))
    (bound,) = compile_program(program.assignments, program.errors)({"beta": betas, "unit_roundoff": 2.0**-53})
    np.testing.assert_allclose(value, np.cumprod(1 - betas), rtol=0, atol=1e-16)
    assert np.all(bound > 0) and np.all(bound < 1e-14)
    assert bound[-1] > bound[0], "more factors, more rounding"


def test_a_product_over_another_axis_is_left_alone():
    t, s = sp.symbols("t s", integer=True, positive=True)
    x = sp.IndexedBase("x")
    lowered = lower(sp.Product(x[s], (s, 1, 3)), {t: 0, s: 1})
    assert not lowered.atoms(CumProdAxis) and lowered.atoms(sp.Product)
    lowered = lower(sp.Product(x[s], (s, 1, t)), {t: 0, s: 1})  # t along another axis than s
    assert not lowered.atoms(CumProdAxis) and lowered.atoms(sp.Product)
