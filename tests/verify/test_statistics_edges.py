"""The statistics' edges: power in each direction against the standard library's normal
distribution, the quantile it rests on, and the binomial tails at degenerate rates.

(tests/verify/test_statistics.py checks the tests against exact computations; these pin the
pieces where the exact checks cannot tell one direction or one edge from another.)
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from eqconform.verify.statistics import (
    ALPHA,
    DETECTABLE_SHIFT,
    normal_quantile,
    _tail,
    power_against_shift,
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


@pytest.mark.parametrize(("trials", "probability", "shift"), [
    (2_000, 0.3, DETECTABLE_SHIFT), (5_000, 0.1, 0.01), (800, 0.7, 0.05), (20_000, 0.5, DETECTABLE_SHIFT),
])
def test_power_is_that_of_the_worse_direction(trials: int, probability: float, shift: float) -> None:
    up = one_sided_power(trials, probability, probability + shift, ALPHA)
    down = one_sided_power(trials, probability, probability - shift, ALPHA)
    assert power_against_shift(trials, probability, shift) == pytest.approx(min(up, down), rel=1e-6, abs=1e-12)


def test_near_the_ends_only_the_possible_direction_counts() -> None:
    assert power_against_shift(3_000, 0.99, 0.02) == pytest.approx(one_sided_power(3_000, 0.99, 0.97, ALPHA), rel=1e-6)
    assert power_against_shift(3_000, 0.01, 0.02) == pytest.approx(one_sided_power(3_000, 0.01, 0.03, ALPHA), rel=1e-6)
    # A shift landing exactly on 0 or 1 is no rate either.
    assert power_against_shift(3_000, 0.5, 0.5) == 1.0


def test_power_at_another_level() -> None:
    value = power_against_shift(1_000, 0.4, 0.05, alpha=0.05)
    expected = min(one_sided_power(1_000, 0.4, 0.45, 0.05), one_sided_power(1_000, 0.4, 0.35, 0.05))
    assert value == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("k", "upper", "expected"), [
    (0, True, 1.0), (1, True, 0.0), (-1, True, 1.0), (0, False, 1.0), (3, False, 1.0), (10, False, 1.0),
])
def test_tails_at_a_rate_of_zero(k: int, upper: bool, expected: float) -> None:
    assert _tail(k, 10, 0.0, upper) == expected
    assert _tail(k, 10, -0.5, upper) == expected


@pytest.mark.parametrize(("k", "upper", "expected"), [
    (10, True, 1.0), (3, True, 1.0), (10, False, 1.0), (11, False, 1.0), (9, False, 0.0), (0, False, 0.0),
])
def test_tails_at_a_rate_of_one(k: int, upper: bool, expected: float) -> None:
    assert _tail(k, 10, 1.0, upper) == expected
    assert _tail(k, 10, 1.5, upper) == expected


def test_tails_sum_exactly() -> None:
    n, p = 12, 0.3
    pmf = [math.comb(n, x) * p**x * (1 - p) ** (n - x) for x in range(n + 1)]
    for k in range(n + 1):
        assert _tail(k, n, p, upper=True) == pytest.approx(sum(pmf[k:]), rel=1e-12)
        assert _tail(k, n, p, upper=False) == pytest.approx(sum(pmf[: k + 1]), rel=1e-12)
