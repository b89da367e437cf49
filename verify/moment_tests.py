"""Tests of means, variances and covariances of large samples, with their error rates stated.

The expected moments always come from the specs (``sympy.stats`` on the spec's relation, or the
spec's closed form compiled); these functions only compare. Each test is two-sided at the
false-alarm probability :data:`~eqconform.verify.statistics.ALPHA` (1e-6) and uses the normal
approximation of a sample mean (the samples are thousands of iid draws). Where the spread of
the statistic is not given by the spec it is estimated from the sample, and the test says so.
"""

from __future__ import annotations

import math

import numpy as np
from eqconform.verify.results import StatisticalTest

from .statistics import ALPHA, normal_two_sided

__all__ = ["EFFECT", "covariance_test", "mean_test", "power_of_z_test", "variance_test"]

#: The alternative the power is stated against: a shift of this many standard deviations of
#: one observation.
EFFECT = 0.05


def _critical(alpha: float = ALPHA) -> float:
    low, high = 0.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if normal_two_sided(middle) > alpha else (low, middle)
    return high


def power_of_z_test(samples: int, effect: float = EFFECT, alpha: float = ALPHA) -> float:
    """Probability that a two-sided z-test on ``samples`` draws rejects a mean shifted by
    ``effect`` standard deviations of one draw."""
    shift = effect * math.sqrt(samples)
    critical = _critical(alpha)
    return 0.5 * math.erfc((critical - shift) / math.sqrt(2)) + 0.5 * math.erfc((critical + shift) / math.sqrt(2))


def _test(name: str, statistic: str, z: float, samples: int) -> StatisticalTest:
    p_value = normal_two_sided(z) if math.isfinite(z) else 0.0
    return StatisticalTest(
        name=name,
        statistic=f"{statistic} (z = {z:.2f})",
        p_value=p_value,
        alpha=ALPHA,
        power=f"{power_of_z_test(samples):.6f} against a shift of {EFFECT} standard deviations",
        passed=p_value >= ALPHA,
    )


def mean_test(name: str, samples: np.ndarray, expected: float, variance: float | None = None) -> StatisticalTest:
    """Sample mean against ``expected``; ``variance`` of one draw from the spec, else estimated."""
    values = np.asarray(samples, dtype=np.float64).ravel()
    count = values.size
    mean = float(values.mean())
    estimated = variance is None
    spread = float(values.var(ddof=1)) if estimated else float(variance)
    sd = math.sqrt(spread / count) if spread > 0 else 0.0
    z = (mean - expected) / sd if sd > 0 else (0.0 if mean == expected else math.inf)
    source = "estimated from the sample" if estimated else "from the spec"
    return _test(name, f"mean {mean:.6g} over {count} draws; expected {expected:.6g}, sd of the mean {sd:.3g} ({source})",
                 z, count)


def variance_test(name: str, samples: np.ndarray, mean: float, variance: float,
                  fourth_moment: float | None = None) -> StatisticalTest:
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
    z = (observed - variance) / sd if sd > 0 else (0.0 if observed == variance else math.inf)
    return _test(name, f"variance {observed:.6g} over {count} draws; expected {variance:.6g}, sd {sd:.3g} ({source})",
                 z, count)


def covariance_test(name: str, first: np.ndarray, second: np.ndarray, means: tuple[float, float],
                    covariance: float) -> StatisticalTest:
    """Mean product of deviations from the known means against ``covariance`` (spread estimated)."""
    products = ((np.asarray(first, dtype=np.float64) - means[0]) * (np.asarray(second, dtype=np.float64) - means[1])).ravel()
    count = products.size
    observed = float(products.mean())
    sd = math.sqrt(float(products.var(ddof=1)) / count)
    z = (observed - covariance) / sd if sd > 0 else (0.0 if observed == covariance else math.inf)
    return _test(name, f"covariance {observed:.6g} over {count} pairs; expected {covariance:.6g}, sd {sd:.3g} "
                 "(estimated from the sample)", z, count)
