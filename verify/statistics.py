"""Hypothesis tests for stochastic equations, with their error rates stated.

Each test is run at a fixed false-alarm probability ``ALPHA`` (1e-6): a correct implementation
fails a given test with probability at most ``ALPHA``. Power is reported against a stated
alternative (a rate off by ``DETECTABLE_SHIFT``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ALPHA", "DETECTABLE_SHIFT", "BinomialTest", "binomial_test", "normal_two_sided", "power_against_shift"]

ALPHA = 1e-6
DETECTABLE_SHIFT = 0.02


def _log_pmf(k: int, n: int, log_p: float, log_q: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q


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


def _normal_quantile(probability: float) -> float:
    low, high = 0.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        if normal_two_sided(middle) > probability:
            low = middle
        else:
            high = middle
    return high


def power_against_shift(trials: int, probability: float, shift: float = DETECTABLE_SHIFT, alpha: float = ALPHA) -> float:
    """Probability (normal approximation) that a two-sided level-``alpha`` binomial test on
    ``trials`` rejects when the true rate is ``probability + shift`` (the worse direction)."""
    critical = _normal_quantile(alpha)
    null_sd = math.sqrt(probability * (1 - probability) / trials)
    powers = []
    for shifted in (probability + shift, probability - shift):
        if not 0 < shifted < 1:
            continue
        alternative_sd = math.sqrt(shifted * (1 - shifted) / trials)
        powers.append(0.5 * math.erfc((critical * null_sd - abs(shift)) / (alternative_sd * math.sqrt(2))))
    return min(powers) if powers else 1.0
