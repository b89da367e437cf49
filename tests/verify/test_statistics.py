"""The exact binomial test, the tests of moments and the power calculations, against
independent computations."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from eqconform.verify.statistics import (
    ALPHA,
    DETECTABLE_SHIFT,
    BinomialTest,
    binomial_test,
    covariance_test,
    mean_test,
    normal_quantile,
    normal_two_sided,
    power_against_shift,
    power_of_z_test,
    rate_test,
    variance_test,
)


def exact_two_sided(k: int, n: int, p: Fraction) -> Fraction:
    """Doubled smaller tail, summed in exact rational arithmetic with math.comb."""
    pmf = [math.comb(n, x) * p**x * (1 - p) ** (n - x) for x in range(n + 1)]
    lower, upper = sum(pmf[: k + 1]), sum(pmf[k:])
    return min(Fraction(1), 2 * min(lower, upper))


CASES = [
    (n, k, p)
    for n in (1, 2, 5, 10, 20, 37)
    for p in (Fraction(1, 10), Fraction(3, 10), Fraction(1, 2), Fraction(4, 5))
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n})
    if 0 <= k <= n
]


@pytest.mark.parametrize(("n", "k", "p"), CASES, ids=[f"n{n}-k{k}-p{p}" for n, k, p in CASES])
def test_binomial_p_value_is_exact(n, k, p):
    result = binomial_test(k, n, float(p))
    expected = float(exact_two_sided(k, n, p))
    assert result.p_value == pytest.approx(expected, rel=1e-9, abs=1e-300)
    assert 0.0 <= result.p_value <= 1.0


def test_binomial_far_tail_is_accurate():
    """A tail of 1e-40 is summed without losing its leading digits."""
    n, k, p = 200, 5, Fraction(1, 2)
    result = binomial_test(k, n, float(p))
    expected = float(exact_two_sided(k, n, p))
    assert expected < 1e-40
    assert result.p_value == pytest.approx(expected, rel=1e-9)


def test_binomial_large_n_is_finite():
    result = binomial_test(505_000, 1_000_000, 0.5)
    assert 1e-26 < result.p_value < 1e-20  # 10 standard deviations: about 2e-23
    assert binomial_test(500_100, 1_000_000, 0.5).p_value > 0.8


@pytest.mark.parametrize(("n", "delta"), [(10, 2), (20, 3), (101, 10), (1000, 40)])
def test_binomial_symmetric_at_one_half(n, delta):
    """At p = 1/2, k and n - k are equally extreme."""
    below, above = binomial_test(n // 2 - delta, n, 0.5), binomial_test(n - (n // 2 - delta), n, 0.5)
    assert below.p_value == pytest.approx(above.p_value, rel=1e-12)


@pytest.mark.parametrize(("n", "k", "p"), [(30, 3, 0.2), (50, 40, 0.7), (12, 1, 0.25)])
def test_binomial_mirror_symmetry(n, k, p):
    """Counting failures instead of successes gives the same p-value."""
    assert binomial_test(k, n, p).p_value == pytest.approx(binomial_test(n - k, n, 1 - p).p_value, rel=1e-9)


def test_binomial_degenerate_probabilities():
    assert binomial_test(0, 10, 0.0).p_value == 1.0
    assert binomial_test(1, 10, 0.0).p_value == 0.0
    assert binomial_test(10, 10, 1.0).p_value == 1.0
    assert binomial_test(9, 10, 1.0).p_value == 0.0


def test_binomial_result_fields():
    result = binomial_test(3, 12, 0.25)
    assert isinstance(result, BinomialTest)
    assert (result.successes, result.trials, result.probability) == (3, 12, 0.25)
    assert result.rate == 0.25
    assert math.isnan(binomial_test(0, 0, 0.5).rate)


def test_binomial_calibration_under_the_null():
    """Under H0, P(p < 0.01) is at most about 0.01 (the test is exact, hence conservative)."""
    rng = np.random.default_rng(20240601)
    n, p, draws = 400, 0.3, 4000
    counts = rng.binomial(n, p, size=draws)
    cache: dict[int, float] = {}
    p_values = np.array([cache.setdefault(int(k), binomial_test(int(k), n, p).p_value) for k in counts])
    rejected = float(np.mean(p_values < 0.01))
    # 0.01 is 40 rejections; 3 standard deviations is about 19.
    assert 0.002 <= rejected <= 0.015, rejected
    # and the p-values are spread over [0, 1], not piled at one end.
    assert 0.4 < float(np.mean(p_values < 0.5)) < 0.6


def test_binomial_rejects_a_shifted_rate():
    rng = np.random.default_rng(7)
    counts = rng.binomial(20_000, 0.33, size=50)
    assert all(binomial_test(int(k), 20_000, 0.3).p_value < ALPHA for k in counts)


# --------------------------------------------------------------------------- normal and power


def test_normal_two_sided_reference_values():
    assert normal_two_sided(0.0) == 1.0
    assert normal_two_sided(1.959963984540054) == pytest.approx(0.05, rel=1e-12)
    assert normal_two_sided(-1.959963984540054) == pytest.approx(0.05, rel=1e-12)
    assert normal_two_sided(2.5758293035489004) == pytest.approx(0.01, rel=1e-12)
    assert normal_two_sided(1.96) == pytest.approx(0.05, abs=1e-4)


def test_power_increases_with_trials():
    trials = [100, 1_000, 10_000, 100_000, 1_000_000]
    powers = [power_against_shift(n, 0.3) for n in trials]
    assert all(0.0 <= value <= 1.0 for value in powers)
    assert powers == sorted(powers) and powers[0] < powers[-1]
    assert powers[0] < 0.01 and powers[-1] > 0.999


def test_power_increases_with_the_shift():
    shifts = [0.005, 0.01, 0.02, 0.05]
    powers = [power_against_shift(10_000, 0.5, shift) for shift in shifts]
    assert powers == sorted(powers) and powers[0] < powers[-1]


def test_power_matches_the_exact_binomial_test():
    """The normal approximation agrees with the exact power of binomial_test at level ALPHA."""
    n, p, shift = 10_000, 0.5, DETECTABLE_SHIFT
    rejecting = [k for k in range(4_000, 6_001) if binomial_test(k, n, p).p_value < ALPHA]
    critical = min(k for k in rejecting if k > p * n)
    assert set(range(critical, 6_001)) <= set(rejecting), "the upper rejection region is contiguous"
    assert abs(critical - p * n) > 4 * math.sqrt(n * p * (1 - p)), "level 1e-6 needs about 4.9 sd"
    # Exact power against the rate p + shift: P(K in rejection region), from math.lgamma.
    q = p + shift
    log_pmf = lambda k: (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                         + k * math.log(q) + (n - k) * math.log(1 - q))
    exact_upper = sum(math.exp(log_pmf(k)) for k in range(critical, n + 1))
    approximate = power_against_shift(n, p, shift)
    assert 0.05 < exact_upper < 0.95, "choose a case where power is neither 0 nor 1"
    assert approximate == pytest.approx(exact_upper, abs=0.05)


def test_power_skips_impossible_alternatives():
    """Near p = 1 only the downward shift is a valid rate; power is still a probability."""
    value = power_against_shift(1000, 0.99, 0.02)
    assert 0.0 <= value <= 1.0
    assert power_against_shift(1000, 0.5, 0.6) == 1.0  # neither 1.1 nor -0.1 is a rate


# --------------------------------------------------------------------------- moments


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


def test_a_constant_sample_passes_only_at_its_value():
    constant = np.full(100, 4.0)
    assert mean_test("m", constant, 4.0, 0.0).passed
    failed = mean_test("m", constant, 4.5, 0.0)
    assert not failed.passed and failed.p_value == 0.0 and "z = inf" in failed.statistic


@pytest.mark.parametrize("alpha", [0.05, 1e-3, ALPHA, 1e-12])
def test_the_normal_quantile_inverts_the_two_sided_tail(alpha):
    z = normal_quantile(alpha)
    assert normal_two_sided(z) == pytest.approx(alpha, rel=1e-9)
    assert normal_two_sided(z * (1 - 1e-9)) > alpha >= normal_two_sided(z)


def test_the_rate_test_states_its_numbers():
    test = rate_test("drop rate", "zeros", 300, 1000, 0.3)
    assert test.passed and test.alpha == ALPHA
    assert test.statistic == "zeros: 300 of 1000 (0.3000; expected 0.3000)"
    assert test.power.endswith(f"against a rate off by {DETECTABLE_SHIFT}")
    assert test.p_value == binomial_test(300, 1000, 0.3).p_value
    assert not rate_test("drop rate", "zeros", 400, 1000, 0.3).passed
