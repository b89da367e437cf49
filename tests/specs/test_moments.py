"""The moments the proofs build on (:mod:`eqconform.specs.moments`) are sympy.stats's own."""

from __future__ import annotations

import pytest
import sympy as sp
from sympy import stats

from eqconform.specs import moments

mu = sp.Symbol("mu", real=True)
sigma = sp.Symbol("sigma", positive=True)
p = sp.Symbol("p", positive=True)


@pytest.mark.parametrize("power", range(1, 7))
@pytest.mark.parametrize(
    "make",
    [
        lambda: stats.Normal("X", 0, 1),
        lambda: stats.Normal("Y", mu, sigma),
        lambda: stats.Normal("W", mu, 3),
        lambda: stats.Bernoulli("B", p),
    ],
    ids=["standard normal", "normal", "normal with a numeric sd", "bernoulli"],
)
def test_a_moment_is_what_sympy_stats_computes(make, power):
    variable = make()
    assert sp.simplify(moments.moment(variable, power) - stats.E(variable**power)) == 0


def test_a_normal_moment_comes_from_its_generating_function_and_not_from_stats_E(monkeypatch):
    # The derivative of the closed-form generating function, not the slower series inside E.
    def refuse(*args, **kwargs):
        raise AssertionError("stats.E called")

    monkeypatch.setattr(moments.stats, "E", refuse)
    variable = stats.Normal("Z", mu, sigma)
    assert sp.expand(moments.moment(variable, 4)) == sp.expand(
        mu**4 + 6 * mu**2 * sigma**2 + 3 * sigma**4
    )


def test_an_expectation_uses_independence_and_the_moments():
    x, y = stats.Normal("X1", mu, sigma), stats.Normal("X2", 0, 1)
    assert sp.expand(moments.expectation(x**2 * y**2 + x)) == sp.expand(mu**2 + sigma**2 + mu)
    assert sp.expand(moments.variance(x * y)) == sp.expand(mu**2 + sigma**2)
