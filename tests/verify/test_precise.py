"""The 50-digit oracle agrees with exact rational arithmetic."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np

from eqconform.specs import get_spec
from eqconform.verify.compiler import compose, lower
from eqconform.verify.precise import DIGITS, MAX_ENTRIES, exact


def _variance_expression():
    variance, mean = get_spec("layernorm.variance"), get_spec("layernorm.mean")
    return compose(lower(variance.canonical.expression("sigma2"), variance.axes),
                   {"mu": lower(mean.canonical.expression("mu"), mean.axes)})


def test_variance_matches_exact_rational_arithmetic_on_an_ill_conditioned_row() -> None:
    row = np.array([1e8 + 1, 1e8 + 2, 1e8 + 4], dtype=np.float64)  # floats that are exact integers
    (value,) = exact(_variance_expression(), {"Z": row[None, :]}, {"C": 3}).ravel()
    numbers = [Fraction(int(x)) for x in row]
    mean = sum(numbers) / 3
    truth = sum((x - mean) ** 2 for x in numbers) / 3  # 14/9
    with mpmath.workdps(DIGITS):
        assert abs(value - mpmath.mpf(truth.numerator) / truth.denominator) < mpmath.mpf(10) ** -45
    one_pass = np.mean(row * row) - np.mean(row) ** 2
    assert abs(one_pass - float(truth)) / float(truth) > 0.1  # float64 one-pass arithmetic is 28% off


def test_rationals_in_the_spec_stay_exact() -> None:
    spec = get_spec("adam.update")
    expr = lower(spec.canonical.expression("theta"), spec.axes)
    (value,) = exact(expr, {"theta_prev": np.array([1.0]), "alpha": 0.5, "mhat": np.array([3.0]),
                            "vhat": np.array([9.0]), "eps": 0.5})
    with mpmath.workdps(DIGITS):
        assert value == 1 - mpmath.mpf(1) / 2 * 3 / (3 + mpmath.mpf(1) / 2)  # 4/7


def test_large_inputs_are_not_evaluated_exactly() -> None:
    Z = np.ones((1, MAX_ENTRIES + 1))
    assert exact(_variance_expression(), {"Z": Z}, {"C": MAX_ENTRIES + 1}) is None
