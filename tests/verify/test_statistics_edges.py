"""The statistics' edges: power in each direction against the standard library's normal
distribution, the quantile it rests on (to the last bit), the binomial tails at degenerate
rates and where their sum stops, the decision at a p-value of exactly ALPHA, and the tests of
moments against independent computations, also without spread or with none to estimate.

(tests/verify/test_statistics.py checks the tests against exact computations; these pin the
pieces where the exact checks cannot tell one direction or one edge from another.)
"""

from __future__ import annotations

import dataclasses
import math
import statistics as pystatistics
import warnings
from statistics import NormalDist

import numpy as np
import pytest

from eqconform.verify import statistics as statistics_module
from eqconform.verify.statistics import (
    ALPHA,
    DETECTABLE_SHIFT,
    EFFECT,
    _tail,
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

STANDARD = NormalDist()


def one_sided_power(trials: int, probability: float, shifted: float, alpha: float) -> float:
    """P(the estimate lands beyond the two-sided critical value on the side of ``shifted``),
    normal approximation, computed with :class:`statistics.NormalDist`."""
    critical = STANDARD.inv_cdf(1 - alpha / 2)
    null_sd = math.sqrt(probability * (1 - probability) / trials)
    alternative = NormalDist(shifted, math.sqrt(shifted * (1 - shifted) / trials))
    if shifted > probability:
        return 1 - alternative.cdf(probability + critical * null_sd)
    return alternative.cdf(probability - critical * null_sd)


@pytest.mark.parametrize("alpha", [ALPHA, 0.05, 0.5])
def test_the_normal_quantile_inverts_the_two_sided_tail(alpha: float) -> None:
    assert normal_quantile(alpha) == pytest.approx(STANDARD.inv_cdf(1 - alpha / 2), rel=1e-9)


@pytest.mark.parametrize(
    "z", [0.01, 0.1, 0.5, 1.0, 1.959963984540054, 3.0, 4.891638475698, 6.0, 10.0, 20.0, 30.0]
)
def test_the_normal_quantile_is_exact_to_the_last_bit(z: float) -> None:
    """The quantile of a level is the smallest z whose two-sided tail is at most that level: at
    a level that is the tail of some z, a tail equal to the level is reached, not passed."""
    alpha = normal_two_sided(z)
    quantile = normal_quantile(alpha)
    assert normal_two_sided(quantile) <= alpha < normal_two_sided(math.nextafter(quantile, 0.0))
    assert normal_two_sided(quantile) == alpha and quantile <= z


@pytest.mark.parametrize(
    ("trials", "probability", "shift"),
    [
        (2_000, 0.3, DETECTABLE_SHIFT),
        (5_000, 0.1, 0.01),
        (800, 0.7, 0.05),
        (20_000, 0.5, DETECTABLE_SHIFT),
    ],
)
def test_power_is_that_of_the_worse_direction(
    trials: int, probability: float, shift: float
) -> None:
    up = one_sided_power(trials, probability, probability + shift, ALPHA)
    down = one_sided_power(trials, probability, probability - shift, ALPHA)
    assert power_against_shift(trials, probability, shift) == pytest.approx(
        min(up, down), rel=1e-6, abs=1e-12
    )


def test_near_the_ends_only_the_possible_direction_counts() -> None:
    assert power_against_shift(3_000, 0.99, 0.02) == pytest.approx(
        one_sided_power(3_000, 0.99, 0.97, ALPHA), rel=1e-6
    )
    assert power_against_shift(3_000, 0.01, 0.02) == pytest.approx(
        one_sided_power(3_000, 0.01, 0.03, ALPHA), rel=1e-6
    )
    # A shift landing exactly on 0 or 1 is no rate either.
    assert power_against_shift(3_000, 0.5, 0.5) == 1.0


def test_power_at_another_level() -> None:
    value = power_against_shift(1_000, 0.4, 0.05, alpha=0.05)
    expected = min(one_sided_power(1_000, 0.4, 0.45, 0.05), one_sided_power(1_000, 0.4, 0.35, 0.05))
    assert value == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    ("k", "upper", "expected"),
    [
        (0, True, 1.0),
        (1, True, 0.0),
        (-1, True, 1.0),
        (0, False, 1.0),
        (3, False, 1.0),
        (10, False, 1.0),
    ],
)
def test_tails_at_a_rate_of_zero(k: int, upper: bool, expected: float) -> None:
    assert _tail(k, 10, 0.0, upper) == expected
    assert _tail(k, 10, -0.5, upper) == expected


@pytest.mark.parametrize(
    ("k", "upper", "expected"),
    [
        (10, True, 1.0),
        (3, True, 1.0),
        (10, False, 1.0),
        (11, False, 1.0),
        (9, False, 0.0),
        (0, False, 0.0),
    ],
)
def test_tails_at_a_rate_of_one(k: int, upper: bool, expected: float) -> None:
    assert _tail(k, 10, 1.0, upper) == expected
    assert _tail(k, 10, 1.5, upper) == expected


def test_tails_sum_exactly() -> None:
    n, p = 12, 0.3
    pmf = [math.comb(n, x) * p**x * (1 - p) ** (n - x) for x in range(n + 1)]
    for k in range(n + 1):
        assert _tail(k, n, p, upper=True) == pytest.approx(sum(pmf[k:]), rel=1e-12)
        assert _tail(k, n, p, upper=False) == pytest.approx(sum(pmf[: k + 1]), rel=1e-12)


def test_full_tails_are_probabilities() -> None:
    """P(X >= 0) and P(X <= n) are 1, also where the summed terms round to just above 1."""
    for n, p in [(1, 20 / 97), (1, 22 / 97), (1, 29 / 97)]:
        assert _tail(0, n, p, upper=True) == 1.0
    for n, p in [(1, 4 / 97), (1, 5 / 97), (1, 31 / 97)]:
        assert _tail(n, n, p, upper=False) == 1.0
    for n in range(1, 40):
        for p in (0.1, 0.3, 0.5, 0.7, 0.9):
            assert 1 - 1e-12 < _tail(0, n, p, upper=True) <= 1.0
            assert 1 - 1e-12 < _tail(n, n, p, upper=False) <= 1.0


def test_a_rate_whose_term_ratio_underflows() -> None:
    """At a rate of 5e-324 the ratio of successive terms underflows to 0: the tail is its first
    term. P(X >= 1) for Binomial(2, p) is 2p - p^2, 2p in floating point, and the p-value 4p."""
    result = binomial_test(1, 2, 5e-324)
    assert result.p_value == 4 * 5e-324
    assert binomial_test(9, 10, 5e-324).p_value == 0.0


def _probability_at_the_level(successes: int, trials: int) -> float | None:
    """A rate at which ``successes`` in ``trials`` has a p-value of exactly ALPHA, if one of the
    floats around the crossing has it (the p-value grows with the rate below successes/trials)."""
    low, high = 1e-300, successes / trials
    for _ in range(200):
        middle = (low + high) / 2
        if binomial_test(successes, trials, middle).p_value < ALPHA:
            low = middle
        else:
            high = middle
    candidate = high
    for _ in range(300):
        candidate = math.nextafter(candidate, 0.0)
    for _ in range(600):
        if binomial_test(successes, trials, candidate).p_value == ALPHA:
            return candidate
        candidate = math.nextafter(candidate, 1.0)
    return None


def test_a_p_value_exactly_at_the_level_passes() -> None:
    """A correct implementation fails with probability at most ALPHA: a p-value equal to ALPHA
    passes, the next one below it fails."""
    found = [
        (successes, trials, probability)
        for successes, trials in [(3, 4), (4, 7), (5, 8), (6, 11)]
        if (probability := _probability_at_the_level(successes, trials)) is not None
    ]
    assert found, "no rate with a p-value of exactly ALPHA near any crossing tried"
    for successes, trials, probability in found:
        assert binomial_test(successes, trials, probability).p_value == ALPHA
        assert rate_test("r", "ones", successes, trials, probability).passed
        below = probability
        while binomial_test(successes, trials, below).p_value >= ALPHA:
            below = math.nextafter(below, 0.0)
        assert not rate_test("r", "ones", successes, trials, below).passed


def test_a_binomial_test_is_a_frozen_value() -> None:
    result = binomial_test(3, 12, 0.25)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.p_value = 1.0  # type: ignore[misc]
    assert result == binomial_test(3, 12, 0.25)
    assert hash(result) == hash(binomial_test(3, 12, 0.25))


class _CountingMath:
    """The math module, counting the terms a tail sum takes (one exp per term)."""

    def __init__(self) -> None:
        self.exps = 0

    def __getattr__(self, name: str) -> object:
        return getattr(math, name)

    def exp(self, x: float) -> float:
        self.exps += 1
        return math.exp(x)


def _terms_summed(k: int, n: int, p: float, upper: bool) -> int:
    """How many terms beyond the k-th the tail sum takes: on to the first one below 1e-17 of the
    sum so far (which changes no digit of the total), or to the end of the tail. The terms come
    from math.lgamma, each on its own."""

    def log_pmf(j: int) -> float:
        return (
            math.lgamma(n + 1)
            - math.lgamma(j + 1)
            - math.lgamma(n - j + 1)
            + j * math.log(p)
            + (n - j) * math.log(1 - p)
        )

    step, end = (1, n) if upper else (-1, 0)
    j, total = k, 1.0
    while j != end:
        j += step
        value = math.exp(log_pmf(j) - log_pmf(k))
        total += value
        if value < 1e-17 * total:  # (at these cases no term is within 0.3% of that bound)
            break
    return abs(j - k)


@pytest.mark.parametrize(
    ("k", "n", "p", "terms"),
    [
        (30_870, 100_000, 0.3, 642),
        (29_130, 100_000, 0.3, 631),
        (31_500, 100_000, 0.3, 451),
        (28_000, 100_000, 0.3, 348),
        (40, 1_000, 0.02, 36),
        (5, 1_000, 0.02, 5),  # on to the end: P(X <= 5) has 6 terms
        (998, 1_000, 0.98, 2),  # P(X >= 998) has 3
    ],
)
def test_the_tail_sum_ends_once_its_terms_are_negligible(
    k: int, n: int, p: float, terms: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tail away from the mean is summed until its terms fall below 1e-17 of the total, not
    on to 0 or n (tens of thousands of terms here, millions for the masks of a large layer), and
    no further than its last term where it gets there."""
    assert _terms_summed(k, n, p, upper=k > n * p) == terms
    counting = _CountingMath()
    monkeypatch.setattr(statistics_module, "math", counting)
    p_value = binomial_test(k, n, p).p_value
    monkeypatch.undo()
    assert counting.exps == terms + 1  # one exp for each term after the first, one for the total
    assert p_value == pytest.approx(binomial_test(n - k, n, 1 - p).p_value, rel=1e-9)


# --------------------------------------------------------------------------- moments


@pytest.mark.parametrize(
    ("samples", "effect", "alpha"),
    [
        (400, 0.05, 0.5),
        (100, 0.1, 0.05),
        (10_000, 0.05, ALPHA),
        (2_500, 0.0, 0.05),
        (50, 0.3, 0.2),
        (9, 1.0, 0.01),
    ],
)
def test_the_power_of_a_z_test_counts_both_tails(samples: int, effect: float, alpha: float) -> None:
    """P(|Z + shift| > critical) for the two-sided critical value of level alpha, from
    :class:`statistics.NormalDist`: the tail on the side of the shift and the far one."""
    shift = effect * math.sqrt(samples)
    critical = STANDARD.inv_cdf(1 - alpha / 2)
    expected = STANDARD.cdf(shift - critical) + STANDARD.cdf(-critical - shift)
    assert power_of_z_test(samples, effect, alpha) == pytest.approx(expected, rel=1e-9)
    if effect == 0.0:
        assert power_of_z_test(samples, effect, alpha) == pytest.approx(alpha, rel=1e-9)


def test_the_power_of_a_z_test_defaults_to_the_stated_alternative() -> None:
    assert power_of_z_test(3_000) == power_of_z_test(3_000, EFFECT, ALPHA)
    shift = EFFECT * math.sqrt(3_000)
    critical = STANDARD.inv_cdf(1 - ALPHA / 2)
    assert power_of_z_test(3_000) == pytest.approx(
        STANDARD.cdf(shift - critical) + STANDARD.cdf(-critical - shift), rel=1e-9
    )


def z_p_value(observed: float, expected: float, sd: float) -> float:
    return 2 * STANDARD.cdf(-abs(observed - expected) / sd)


def test_a_constant_sample_is_judged_with_no_spread() -> None:
    """Without spread a sample passes exactly at its value (z = 0, p-value 1) and fails on
    either side (z infinite, p-value 0)."""
    constant = np.full(10, 4.0)
    at = mean_test("m", constant, 4.0, 0.0)
    assert at.passed and at.p_value == 1.0 and "(z = 0.00)" in at.statistic
    assert "sd of the mean 0 (from the spec)" in at.statistic
    for expected in (3.5, 4.5, 4.0 - 1e-12, 4.0 + 1e-12):
        off = mean_test("m", constant, expected, 0.0)
        assert not off.passed and off.p_value == 0.0 and "(z = inf)" in off.statistic
    estimated = mean_test("m", constant, 4.0)  # the sample's own variance is 0 too
    assert estimated.passed and estimated.p_value == 1.0


def test_the_mean_test_estimates_the_variance_without_bias() -> None:
    """The variance of one draw, when not given, is the sample's with n - 1 in the denominator."""
    sample = [0.0, 1.0, 2.0, 3.0, 7.0]
    result = mean_test("m", np.array(sample), 0.5)
    sd = pystatistics.stdev(sample) / math.sqrt(len(sample))
    assert result.p_value == pytest.approx(z_p_value(pystatistics.fmean(sample), 0.5, sd), rel=1e-9)
    assert "estimated from the sample" in result.statistic
    given = mean_test("m", np.array(sample), 0.5, 4.0)
    assert given.p_value == pytest.approx(z_p_value(2.6, 0.5, math.sqrt(4.0 / 5)), rel=1e-9)
    assert "from the spec" in given.statistic
    small = mean_test("m", np.array(sample) / 10, 0.05)  # a variance below 1
    sd = pystatistics.stdev(sample) / 10 / math.sqrt(len(sample))
    assert small.p_value == pytest.approx(z_p_value(0.26, 0.05, sd), rel=1e-9)
    given = mean_test("m", np.array(sample) / 10, 0.05, 0.04)
    assert given.p_value == pytest.approx(z_p_value(0.26, 0.05, math.sqrt(0.04 / 5)), rel=1e-9)


def test_a_spec_variance_rounded_below_zero_is_no_spread() -> None:
    """A variance of the spec that comes out a little below 0 (0.01 - 0.1**2) means no spread,
    as 0 does: only the exact value passes. A variance of -0.0 is reported as an sd of 0."""
    constant = np.full(10, 4.0)
    assert mean_test("m", constant, 4.0, 0.01 - 0.1**2).p_value == 1.0
    off = mean_test("m", constant, 4.5, 0.01 - 0.1**2)
    assert not off.passed and off.p_value == 0.0 and "(z = inf)" in off.statistic
    signed = mean_test("m", constant, 4.0, -0.0)
    assert signed.passed and "sd of the mean 0 (from the spec)" in signed.statistic
    zeros = variance_test("v", np.zeros(4), 0.0, 0.0, -0.0)  # spread -0.0 - 0.0**2 = -0.0
    assert zeros.passed and zeros.p_value == 1.0 and "sd 0 (from the spec)" in zeros.statistic


def test_one_draw_has_no_spread_to_estimate() -> None:
    """From a single draw no spread can be estimated (its variance with n - 1 is NaN): each test
    of moments then judges it as having none, passing at the exact value only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy: degrees of freedom <= 0
        assert mean_test("m", np.array([4.0]), 4.0).p_value == 1.0
        assert not mean_test("m", np.array([4.0]), 4.5).passed
        assert variance_test("v", np.array([3.0]), 1.0, 4.0).p_value == 1.0
        assert not variance_test("v", np.array([3.0]), 1.0, 4.5).passed
        at = covariance_test("c", np.array([2.0]), np.array([3.0]), (0.0, 0.0), 6.0)
        assert at.passed and at.p_value == 1.0 and "(z = 0.00)" in at.statistic
        off = covariance_test("c", np.array([2.0]), np.array([3.0]), (0.0, 0.0), 5.0)
        assert not off.passed and off.p_value == 0.0 and "(z = inf)" in off.statistic


def test_the_variance_test_uses_the_fourth_moment_of_the_spec() -> None:
    """The spread of a squared deviation is E[(x - mean)^4] - variance^2."""
    sample = [1.0, 3.0, -1.0, 2.0, 0.5, -2.5]
    mean, variance, fourth = 0.5, 1.5, 6.0
    squares = [(x - mean) ** 2 for x in sample]
    sd = math.sqrt((fourth - variance**2) / len(sample))
    result = variance_test("v", np.array(sample), mean, variance, fourth)
    assert result.p_value == pytest.approx(
        z_p_value(pystatistics.fmean(squares), variance, sd), rel=1e-9
    )
    estimated = variance_test("v", np.array(sample), mean, variance)
    sd = pystatistics.stdev(squares) / math.sqrt(len(sample))
    assert estimated.p_value == pytest.approx(
        z_p_value(pystatistics.fmean(squares), variance, sd), rel=1e-9
    )
    # Scaled by 1/2: a spread below 1 (6/16 - (1.5/4)^2 = 0.234375).
    halves = [x / 2 for x in sample]
    squares = [(x - mean / 2) ** 2 for x in halves]
    sd = math.sqrt((fourth / 16 - (variance / 4) ** 2) / len(sample))
    result = variance_test("v", np.array(halves), mean / 2, variance / 4, fourth / 16)
    assert result.p_value == pytest.approx(
        z_p_value(pystatistics.fmean(squares), variance / 4, sd), rel=1e-9
    )


def test_the_variance_test_without_spread() -> None:
    """Where the fourth moment leaves no spread (a two-point law: every squared deviation is the
    variance), or rounds to a little less than none, only the exact variance passes."""
    signs = np.array([1.0, -1.0, 1.0, -1.0])
    assert variance_test("v", signs, 0.0, 1.0, 1.0).p_value == 1.0
    for variance, fourth in [(0.9, 0.81), (0.1, 0.01)]:  # 0.01 - 0.1**2 is -1.7e-18
        result = variance_test("v", signs, 0.0, variance, fourth)
        assert not result.passed and result.p_value == 0.0 and "(z = inf)" in result.statistic
        assert "sd 0 (from the spec)" in result.statistic


def test_the_covariance_test_centres_each_sample_on_its_own_mean() -> None:
    first, second = [1.0, 2.0, 4.0, 7.0, 3.0], [2.0, 1.0, 5.0, 3.0, -1.0]
    means, covariance = (3.0, 2.0), 1.0
    products = [(x - means[0]) * (y - means[1]) for x, y in zip(first, second, strict=True)]
    sd = pystatistics.stdev(products) / math.sqrt(len(products))
    result = covariance_test("c", np.array(first), np.array(second), means, covariance)
    assert result.p_value == pytest.approx(
        z_p_value(pystatistics.fmean(products), covariance, sd), rel=1e-9
    )
