"""Hypothesis tests for stochastic equations, with their error rates stated.

Each test is run at a fixed false-alarm probability ``ALPHA`` (1e-6): a correct implementation
fails a given test with probability at most ``ALPHA``. Power is reported against a stated
alternative: a rate off by ``DETECTABLE_SHIFT`` for the exact binomial tests of rates, a shift
of ``EFFECT`` standard deviations of one draw for the tests of moments.

The expected rates and moments always come from the specs (``sympy.stats`` on the spec's
relation, or the spec's closed form compiled); these functions only compare. The tests of
means, variances and covariances use the normal approximation of a sample mean (the samples
are thousands of iid draws); where the spread of the statistic is not given by the spec it is
estimated from the sample, and the test says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .results import StatisticalTest

__all__ = [
    "ALPHA",
    "DETECTABLE_SHIFT",
    "EFFECT",
    "BinomialTest",
    "binomial_test",
    "covariance_test",
    "mean_test",
    "normal_quantile",
    "normal_two_sided",
    "power_against_shift",
    "power_of_z_test",
    "rate_test",
    "variance_test",
]

ALPHA = 1e-6
DETECTABLE_SHIFT = 0.02
#: The alternative the power of a moment test is stated against: a shift of this many standard
#: deviations of one observation.
EFFECT = 0.05


def _log_pmf(k: int, n: int, log_p: float, log_q: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * log_p
        + (n - k) * log_q
    )


def _tail(k: int, n: int, p: float, upper: bool) -> float:
    """P(X >= k) (upper) or P(X <= k) for X ~ Binomial(n, p), summed exactly in log space."""
    if p <= 0.0:
        return 1.0 if (not upper or k <= 0) else 0.0
    if p >= 1.0:
        return 1.0 if (upper or k >= n) else 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    step = 1 if upper else -1
    end = n if upper else 0
    first = _log_pmf(k, n, log_p, log_q)
    total, j, term = 1.0, k, first
    while j != end:
        ratio = ((n - j) / (j + 1)) * (p / (1 - p)) if upper else (j / (n - j + 1)) * ((1 - p) / p)
        term += math.log(ratio) if ratio > 0 else -math.inf
        j += step
        value = math.exp(term - first)
        total += value
        if value < 1e-17 * total and ((upper and j > n * p) or (not upper and j < n * p)):
            break
    return min(1.0, math.exp(first) * total)


@dataclass(frozen=True)
class BinomialTest:
    successes: int
    trials: int
    probability: float
    p_value: float

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else float("nan")


def binomial_test(successes: int, trials: int, probability: float) -> BinomialTest:
    """Exact two-sided binomial test (doubled smaller tail) of ``successes`` in ``trials``.

    The smaller tail is the one beyond ``successes`` away from the mean, where the terms only
    shrink, so the sum neither overflows nor loses its leading digits.
    """
    upper = successes >= trials * probability
    tail = _tail(successes, trials, probability, upper=upper)
    return BinomialTest(successes, trials, probability, min(1.0, 2 * tail))


def normal_two_sided(z: float) -> float:
    """Two-sided tail probability of a standard normal."""
    return math.erfc(abs(z) / math.sqrt(2))


def normal_quantile(probability: float) -> float:
    """The ``z`` whose two-sided tail probability is ``probability`` (bisection, to the last
    bit)."""
    low, high = 0.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        if normal_two_sided(middle) > probability:
            low = middle
        else:
            high = middle
    return high


def power_against_shift(
    trials: int, probability: float, shift: float = DETECTABLE_SHIFT, alpha: float = ALPHA
) -> float:
    """Probability (normal approximation) that a two-sided level-``alpha`` binomial test on
    ``trials`` rejects when the true rate is ``probability + shift`` (the worse direction)."""
    critical = normal_quantile(alpha)
    null_sd = math.sqrt(probability * (1 - probability) / trials)
    powers = []
    for shifted in (probability + shift, probability - shift):
        if not 0 < shifted < 1:
            continue
        alternative_sd = math.sqrt(shifted * (1 - shifted) / trials)
        powers.append(
            0.5 * math.erfc((critical * null_sd - abs(shift)) / (alternative_sd * math.sqrt(2)))
        )
    return min(powers) if powers else 1.0


def rate_test(
    name: str, what: str, successes: int, trials: int, probability: float
) -> StatisticalTest:
    """The exact binomial test of ``successes`` (``what`` was counted) in ``trials`` against the
    spec's ``probability``, with its power against a rate off by :data:`DETECTABLE_SHIFT`."""
    test = binomial_test(successes, trials, probability)
    return StatisticalTest(
        name=name,
        statistic=f"{what}: {successes} of {trials} ({test.rate:.4f}; expected {probability:.4f})",
        p_value=test.p_value,
        alpha=ALPHA,
        power=f"{power_against_shift(trials, probability):.6f} "
        f"against a rate off by {DETECTABLE_SHIFT}",
        passed=test.p_value >= ALPHA,
    )


# --------------------------------------------------------------------------- moments


def power_of_z_test(samples: int, effect: float = EFFECT, alpha: float = ALPHA) -> float:
    """Probability that a two-sided z-test on ``samples`` draws rejects a mean shifted by
    ``effect`` standard deviations of one draw."""
    shift = effect * math.sqrt(samples)
    critical = normal_quantile(alpha)
    return 0.5 * math.erfc((critical - shift) / math.sqrt(2)) + 0.5 * math.erfc(
        (critical + shift) / math.sqrt(2)
    )


def _z_test(name: str, statistic: str, z: float, samples: int) -> StatisticalTest:
    p_value = normal_two_sided(z) if math.isfinite(z) else 0.0
    return StatisticalTest(
        name=name,
        statistic=f"{statistic} (z = {z:.2f})",
        p_value=p_value,
        alpha=ALPHA,
        power=f"{power_of_z_test(samples):.6f} against a shift of {EFFECT} standard deviations",
        passed=p_value >= ALPHA,
    )


def _z(observed: float, expected: float, sd: float) -> float:
    """The standardized difference; infinite when the spread is zero and they differ."""
    return (observed - expected) / sd if sd > 0 else (0.0 if observed == expected else math.inf)


def mean_test(
    name: str, samples: np.ndarray, expected: float, variance: float | None = None
) -> StatisticalTest:
    """Sample mean against ``expected``; ``variance`` of one draw from the spec, else estimated."""
    values = np.asarray(samples, dtype=np.float64).ravel()
    count = values.size
    mean = float(values.mean())
    spread = float(values.var(ddof=1)) if variance is None else float(variance)
    sd = math.sqrt(spread / count) if spread > 0 else 0.0
    source = "estimated from the sample" if variance is None else "from the spec"
    return _z_test(
        name,
        f"mean {mean:.6g} over {count} draws; expected {expected:.6g}, "
        f"sd of the mean {sd:.3g} ({source})",
        _z(mean, expected, sd),
        count,
    )


def variance_test(
    name: str, samples: np.ndarray, mean: float, variance: float, fourth_moment: float | None = None
) -> StatisticalTest:
    """Mean squared deviation from the known ``mean`` against ``variance``. Its spread uses the
    fourth central moment from the spec when given (``E[(x - mean)^4]``), else the sample's."""
    deviations = (np.asarray(samples, dtype=np.float64).ravel() - mean) ** 2
    count = deviations.size
    observed = float(deviations.mean())
    if fourth_moment is None:
        spread = float(deviations.var(ddof=1))
        source = "estimated from the sample"
    else:
        spread = float(fourth_moment) - float(variance) ** 2
        source = "from the spec"
    sd = math.sqrt(spread / count) if spread > 0 else 0.0
    return _z_test(
        name,
        f"variance {observed:.6g} over {count} draws; expected {variance:.6g}, "
        f"sd {sd:.3g} ({source})",
        _z(observed, variance, sd),
        count,
    )


def covariance_test(
    name: str, first: np.ndarray, second: np.ndarray, means: tuple[float, float], covariance: float
) -> StatisticalTest:
    """Mean product of deviations from the known means against ``covariance`` (spread estimated)."""
    products = (
        (np.asarray(first, dtype=np.float64) - means[0])
        * (np.asarray(second, dtype=np.float64) - means[1])
    ).ravel()
    count = products.size
    observed = float(products.mean())
    sd = math.sqrt(float(products.var(ddof=1)) / count)
    return _z_test(
        name,
        f"covariance {observed:.6g} over {count} pairs; expected {covariance:.6g}, sd {sd:.3g} "
        "(estimated from the sample)",
        _z(observed, covariance, sd),
        count,
    )
