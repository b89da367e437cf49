"""Each rounding-error rule of :mod:`eqconform.verify.rounding`, pinned from both sides.

For every rule, on a few chosen inputs:

- the bound *covers* the error an implementation makes: a float32 evaluation (inputs rounded to
  float32, then the operations in float32) against an exact reference (fractions or mpmath at 50
  digits), with the bound at float32's unit roundoff;
- the bound *is* the rule of first-order rounding-error analysis the module documents, written
  out again here in NumPy, to a relative 1e-12.

The second half is what makes these tests bite: the inputs are chosen so that every term of a
rule matters. The unit roundoff is a large ``2**-10`` (so that a term proportional to ``u`` is
not lost below 1e-12 of the rest), leaf errors are given explicitly and are not small against
``u`` or against their leaf (so that higher-order terms, ``|x| - e`` against ``|x| + e`` and the
like, show), magnitudes are not 1 (a product by a magnitude differs from a quotient by it), sums
have more than two terms and powers exponents above 2 (so that ``n - 1`` differs from ``n``,
``n + 1`` and ``1``). A changed sign or constant anywhere in a rule then moves the bound by far
more than the tolerance.
"""

from __future__ import annotations

import dataclasses
import inspect
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from eqconform.verify.compiler import CumCountAxis, CumProdAxis, ReduceAxis, Transposed
from eqconform.verify.rounding import (
    COEFFICIENT_UNIT_ROUNDOFF,
    UNIT_ROUNDOFF,
    BoundProgram,
    PositivePart,
    bound_program,
    error_bound_program,
)
from eqconform.verify.tolerance import oracle_unit_roundoff

#: A large unit roundoff: terms in u (and u times an error) stand far above 1e-12 of the bound.
U = 2.0**-10
#: Relative agreement between the program's bound and the rule written out here: float64
#: evaluation order alone moves the last digits, a changed rule moves several leading ones.
RTOL = 1e-12
#: The unit roundoff a float32 evaluation is covered at (float32's, and float64's to spare: the
#: verifier's own setting, though the references here are exact).
U32 = oracle_unit_roundoff(np.float32)

x, y, z, w = sp.symbols("x y z w", real=True)
t = sp.Symbol("t", integer=True, positive=True)
C = sp.Symbol("C")


def _bound(expr, values, *, u=U, coefficient_u=None, **options):
    """The program's bound of ``expr`` at ``values`` (float64)."""
    program = bound_program((expr,), **options)
    given = {**values, UNIT_ROUNDOFF.name: u}
    if coefficient_u is not None:
        given[COEFFICIENT_UNIT_ROUNDOFF.name] = coefficient_u
    (bound,) = program.compiled()(given)
    return np.asarray(bound, dtype=float)


def _with_errors(expr, values, errors, **options):
    """The bound when each leaf carries the error given (``{leaf: value}``), as an input."""
    names = {leaf: sp.Symbol(f"e_{leaf.name}", positive=True) for leaf in errors}
    inputs = {**values, **{names[leaf].name: error for leaf, error in errors.items()}}
    return _bound(expr, inputs, leaf_errors=names, **options)


def _close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=0)


def _mp(value) -> mpmath.mpf:
    return mpmath.mpf(float(value))


def _assert_covers(bound, computed, exact):
    """``|computed - exact| <= bound`` entry by entry, with some error to cover (otherwise the
    comparison says nothing). ``exact`` holds mpmath numbers."""
    computed = np.asarray(computed, dtype=np.float64)
    bound = np.ravel(np.broadcast_to(bound, np.shape(computed)))
    computed = np.ravel(computed)
    errors = np.array(
        [float(abs(_mp(c) - e)) for c, e in zip(computed, np.ravel(exact), strict=True)]
    )
    assert np.any(errors > 0), "the float32 evaluation was exact: nothing to cover"
    assert np.all(errors <= bound), f"worst error / bound {np.max(errors / bound):.3g}"


def _f32(values):
    return np.asarray(values, dtype=np.float32)


# --------------------------------------------------------------------------- leaves and constants


def test_a_leaf_is_rounded_once_and_an_integer_symbol_not_at_all():
    n = sp.Symbol("n", integer=True)
    _close(_bound(x, {"x": np.array([-3.0, 0.75])}), U * np.array([3.0, 0.75]))
    assert bound_program((n,)).error == 0
    # One rounding covers float32's conversion of a float64 input.
    values = np.random.default_rng(1).normal(scale=5.0, size=200)
    with mpmath.workdps(50):
        _assert_covers(_bound(x, {"x": values}, u=U32), _f32(values), [_mp(v) for v in values])


@pytest.mark.parametrize(
    ("constant", "expected"),
    [
        (sp.Rational(1, 3), U / 3),  # not a binary fraction: rounded once
        (sp.Rational(-7, 3), 7 * U / 3),  # the magnitude, not the signed value
        (sp.Rational(5, 12), 5 * U / 12),  # an even denominator that is no power of two
        (sp.Rational(5, 8), 0.0),  # a binary fraction is exact
        (sp.Rational(-3, 2), 0.0),
        (sp.Integer(7), 0.0),
        (sp.Float(0.3), 0.3 * U),  # a float literal: rounded once, whatever its digits
        (sp.Float(-2.7), 2.7 * U),
    ],
)
def test_a_constant_is_rounded_once_unless_it_is_a_binary_fraction(constant, expected):
    _close(_bound(constant, {}), expected)


def test_a_constant_bound_covers_float32s_rounding_of_it():
    for constant in (sp.Rational(1, 3), sp.Rational(-7, 3), sp.Rational(5, 12), sp.Float(0.3)):
        bound = _bound(constant, {}, u=U32)
        exact = (
            Fraction(constant.p, constant.q) if constant.is_Rational else Fraction(float(constant))
        )
        error = abs(Fraction(float(np.float32(float(constant)))) - exact)
        assert 0 < error <= bound, constant


# --------------------------------------------------------------------------- sums and products


SUM_VALUES = {"x": 1.5, "y": -2.25, "z": 3.0, "w": -0.75}
SUM_ERRORS = {x: 0.01, y: 0.003, z: 0.02, w: 0.0005}


def test_a_sum_of_four_terms_adds_their_errors_and_three_roundings_of_their_magnitudes():
    magnitudes = sum(abs(v) for v in SUM_VALUES.values())
    expected = sum(SUM_ERRORS.values()) + 3 * U * magnitudes
    _close(_with_errors(x + y + z + w, SUM_VALUES, SUM_ERRORS), expected)


def test_a_sum_bound_covers_float32_summation():
    rng = np.random.default_rng(2)
    values = {name: rng.normal(scale=10.0, size=300) for name in "xyzw"}
    bound = _bound(x + y + z + w, values, u=U32)
    v32 = {name: _f32(v) for name, v in values.items()}
    computed = ((v32["x"] + v32["y"]) + v32["z"]) + v32["w"]
    exact = [sum((Fraction(float(values[n][i])) for n in "xyzw"), Fraction(0)) for i in range(300)]
    with mpmath.workdps(50):
        _assert_covers(bound, computed, [mpmath.mpf(e.numerator) / e.denominator for e in exact])


def test_a_product_widens_each_factor_by_its_error_and_rounds_n_minus_1_times():
    values = {"x": 1.5, "y": -2.25, "z": 0.4}
    errors = {x: 0.01, y: 0.05, z: 0.002}
    magnitudes = [1.5, 2.25, 0.4]
    widened = np.prod([m + errors[s] for m, s in zip(magnitudes, (x, y, z), strict=True)])
    expected = widened - np.prod(magnitudes) + 2 * U * widened
    _close(_with_errors(x * y * z, values, errors), expected)


def test_a_product_bound_covers_float32_multiplication():
    rng = np.random.default_rng(3)
    values = {name: rng.normal(scale=3.0, size=300) for name in "xyz"}
    bound = _bound(x * y * z, values, u=U32)
    v32 = {name: _f32(v) for name, v in values.items()}
    computed = (v32["x"] * v32["y"]) * v32["z"]
    with mpmath.workdps(50):
        exact = [
            _mp(a) * _mp(b) * _mp(c)
            for a, b, c in zip(values["x"], values["y"], values["z"], strict=True)
        ]
        _assert_covers(bound, computed, exact)


# --------------------------------------------------------------------------- integer powers


@pytest.mark.parametrize("n", [2, 3, 4])
def test_an_integer_power_is_the_product_rule_of_n_equal_factors(n):
    # |x|^n ((1 + e/|x|)^n - 1) + (n - 1) u (|x| + e)^n, written as the product rule.
    for value, error in ((1.5, 0.01), (-0.6, 0.2)):
        widened = (abs(value) + error) ** n
        expected = widened - abs(value) ** n + (n - 1) * U * widened
        _close(_with_errors(x**n, {"x": value}, {x: error}), expected)


def _reciprocal(magnitude, error, u=U):
    """The documented bound of 1 / b: e / (|b| (|b| - e)) + u / (|b| - e), infinite once
    e >= |b|."""
    with np.errstate(divide="ignore"):
        slack = np.maximum(magnitude - error, 0.0)
        return error / (magnitude * slack) + u / slack


def test_a_reciprocal_amplifies_the_error_by_the_slack_left_and_rounds_once():
    for value, error in ((1.5, 0.01), (-0.6, 0.2), (3.0, 1.0)):
        _close(_with_errors(x**-1, {"x": value}, {x: error}), _reciprocal(abs(value), error))


@pytest.mark.parametrize("n", [2, 3])
def test_a_negative_integer_power_is_the_reciprocal_of_the_positive_power(n):
    for value, error in ((1.5, 0.01), (-0.6, 0.05)):
        widened = (abs(value) + error) ** n
        power_error = widened - abs(value) ** n + (n - 1) * U * widened
        expected = _reciprocal(abs(value) ** n, power_error)
        _close(_with_errors(x**-n, {"x": value}, {x: error}), expected)


def test_a_reciprocal_is_unbounded_once_the_error_reaches_the_magnitude():
    bound = _with_errors(x**-1, {"x": np.array([0.5, -0.5])}, {x: np.array([0.5, 0.75])})
    assert np.all(np.isinf(bound))


def test_a_reciprocal_keeps_a_leaf_error_far_below_the_leafs_spacing():
    # An error of 2**-70 on a leaf of 1 does not survive being added to and subtracted from the
    # leaf in float64; the reciprocal bound must use the error itself, not |x| + e - |x|.
    u64 = 2.0**-53
    for value in (1.0, -1.0):
        bound = _with_errors(x**-1, {"x": value}, {x: 2.0**-70}, u=u64)
        _close(bound, 2.0**-70 + u64)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_integer_power_bounds_cover_float32_evaluation(n):
    rng = np.random.default_rng(10 + n)
    values = rng.uniform(0.3, 3.0, size=200) * rng.choice([-1, 1], size=200)
    v32 = _f32(values)
    power = v32
    for _ in range(n - 1):
        power = power * v32
    with mpmath.workdps(50):
        if n > 1:
            _assert_covers(_bound(x**n, {"x": values}, u=U32), power, [_mp(v) ** n for v in values])
        _assert_covers(
            _bound(x**-n, {"x": values}, u=U32),
            np.float32(1) / power,
            [1 / _mp(v) ** n for v in values],
        )


# --------------------------------------------------------------------------- roots


def _sqrt_rule(magnitude, error, u=U):
    """The documented bound of sqrt(b): e / (sqrt|b| + sqrt(|b| - e)) + u sqrt(|b| + e)."""
    return error / (np.sqrt(magnitude) + np.sqrt(np.maximum(magnitude - error, 0.0))) + u * np.sqrt(
        magnitude + error
    )


def test_a_square_root_halves_the_error_over_both_roots_and_rounds_once():
    # (3, 0.5): every term at its own size; (0.25, 1): an error beyond the radicand, where the
    # lower root is 0; (2.25, 0.9): magnitude and error of no simple ratio.
    for value, error in ((3.0, 0.5), (0.25, 1.0), (2.25, 0.9)):
        _close(_with_errors(sp.sqrt(x), {"x": value}, {x: error}), _sqrt_rule(value, error))


@pytest.mark.parametrize("p", [3, 5])
def test_a_half_integer_power_is_the_integer_power_of_the_root(p):
    for value, error in ((3.0, 0.5), (0.64, 0.04)):
        root, root_error = np.sqrt(value), _sqrt_rule(value, error)
        widened = (root + root_error) ** p
        expected = widened - root**p + (p - 1) * U * widened
        _close(_with_errors(x ** sp.Rational(p, 2), {"x": value}, {x: error}), expected)


@pytest.mark.parametrize("p", [1, 3])
def test_a_negative_half_integer_power_is_the_reciprocal_of_the_root_power(p):
    for value, error in ((3.0, 0.5), (0.64, 0.04)):
        root, root_error = np.sqrt(value), _sqrt_rule(value, error)
        if p == 1:
            expected = _reciprocal(root, root_error)
        else:
            widened = (root + root_error) ** p
            expected = _reciprocal(root**p, widened - root**p + (p - 1) * U * widened)
        _close(_with_errors(x ** sp.Rational(-p, 2), {"x": value}, {x: error}), expected)


def test_root_bounds_cover_float32_evaluation():
    values = np.random.default_rng(4).uniform(0.05, 40.0, size=200)
    v32 = _f32(values)
    root = np.sqrt(v32)
    cases = [
        (sp.sqrt(x), root, lambda v: mpmath.sqrt(v)),
        (x ** sp.Rational(3, 2), root * root * root, lambda v: mpmath.sqrt(v) ** 3),
        (x ** sp.Rational(-1, 2), np.float32(1) / root, lambda v: 1 / mpmath.sqrt(v)),
        (
            x ** sp.Rational(-3, 2),
            np.float32(1) / (root * root * root),
            lambda v: mpmath.sqrt(v) ** -3,
        ),
    ]
    with mpmath.workdps(50):
        for expr, computed, exact in cases:
            _assert_covers(
                _bound(expr, {"x": values}, u=U32), computed, [exact(_mp(v)) for v in values]
            )


# --------------------------------------------------------------------------- step-count powers


def _step_power_rule(magnitude, error, steps, u=U):
    """|b|^t ((1 + e/|b|)^t - 1) + (t + 1) u |b|^t."""
    power = magnitude**steps
    return power * ((1 + error / magnitude) ** steps - 1) + (steps + 1) * u * power


STEP_CASES = [
    (1.5, 0.2, 6),  # (1 + e/|b|)^t above 2: the growth is no small correction
    (-0.5, 0.75, 3),  # an error beyond the base (e/|b| differs from e mod |b|)
    (0.9, 0.001, 40),  # a long run of steps with a small error, as in a bias correction
]


@pytest.mark.parametrize(("value", "error", "steps"), STEP_CASES)
def test_a_power_to_a_step_count_grows_the_relative_error_and_rounds_t_plus_1_times(
    value, error, steps
):
    bound = _with_errors(x**t, {"x": value, "t": steps}, {x: error})
    _close(bound, _step_power_rule(abs(value), error, steps))
    # t + 1 is a step count as well.
    bound = _with_errors(x ** (t + 1), {"x": value, "t": steps - 1}, {x: error})
    _close(bound, _step_power_rule(abs(value), error, steps))


@pytest.mark.parametrize(("value", "error", "steps"), STEP_CASES[::2])
def test_a_power_to_minus_a_step_count_is_the_reciprocal_of_the_power(value, error, steps):
    bound = _with_errors(x**-t, {"x": value, "t": steps}, {x: error})
    _close(bound, _reciprocal(abs(value) ** steps, _step_power_rule(abs(value), error, steps)))


def test_a_rational_base_to_minus_a_step_count_is_the_reciprocal_of_its_power():
    # (1/3)**-t, which SymPy keeps as it is: 1 / (1/3)**t, with the base a rounded constant
    # (u/3), t + 1 roundings of the power and one of the reciprocal.
    third = sp.Rational(1, 3)
    for steps in (2, 5):
        power = _with_errors(third**-t, {"t": steps}, {})
        magnitude = (1 / 3) ** steps
        expected = _reciprocal(magnitude, _step_power_rule(1 / 3, U / 3, steps))
        _close(power, expected)


def test_step_count_power_bounds_cover_float32_evaluation():
    values = np.random.default_rng(5).uniform(0.5, 1.5, size=200)
    v32 = _f32(values)
    for steps in (2, 7, 30):
        power = v32
        for _ in range(steps - 1):
            power = power * v32
        with mpmath.workdps(50):
            exact = [_mp(v) ** steps for v in values]
            _assert_covers(_bound(x**t, {"x": values, "t": steps}, u=U32), power, exact)
            _assert_covers(
                _bound(x**-t, {"x": values, "t": steps}, u=U32),
                np.float32(1) / power,
                [1 / e for e in exact],
            )


def test_a_power_to_an_integer_of_unknown_sign_has_no_rule():
    # Neither b**n (n >= 0) nor 1 / b**-n applies while the sign of n is unknown.
    n = sp.Symbol("n", integer=True)
    with pytest.raises(NotImplementedError, match="no rounding-error rule"):
        error_bound_program(x**n)


# --------------------------------------------------------------------------- exp


@pytest.mark.parametrize(("value", "error"), [(0.7, 1.0), (-1.3, 0.01), (2.5, 0.3)])
def test_exp_amplifies_the_argument_error_and_allows_one_ulp(value, error):
    # |e^a| (e^{e(a)} - 1) + 2u |e^a| e^{e(a)}; at e(a) = 1 the growth e^{e(a)} is above 2.
    expected = np.exp(value) * (np.exp(error) - 1) + 2 * U * np.exp(value) * np.exp(error)
    _close(_with_errors(sp.exp(x), {"x": value}, {x: error}), expected)


def test_exp_bound_covers_float32_exp():
    values = np.random.default_rng(6).uniform(-20.0, 20.0, size=300)
    with mpmath.workdps(50):
        exact = [mpmath.exp(_mp(v)) for v in values]
        _assert_covers(_bound(sp.exp(x), {"x": values}, u=U32), np.exp(_f32(values)), exact)


# --------------------------------------------------------------------------- reductions


def test_a_reduction_sums_the_errors_and_rounds_size_minus_1_times():
    rng = np.random.default_rng(7)
    values = rng.normal(scale=4.0, size=(3, 5))
    errors = rng.uniform(0.001, 0.05, size=(3, 5))
    expected = errors.sum(axis=1, keepdims=True) + 4 * U * np.abs(values).sum(axis=1, keepdims=True)
    _close(_with_errors(ReduceAxis(x, sp.Integer(1), C), {"x": values}, {x: errors}), expected)
    # Along axis 0 (seven entries: six roundings).
    values, errors = values.T.repeat(2, axis=0)[:7], errors.T.repeat(2, axis=0)[:7]
    expected = errors.sum(axis=0, keepdims=True) + 6 * U * np.abs(values).sum(axis=0, keepdims=True)
    _close(_with_errors(ReduceAxis(x, sp.Integer(0), C), {"x": values}, {x: errors}), expected)


def test_a_reduction_bound_covers_float32_summation():
    values = np.random.default_rng(8).normal(loc=3.0, scale=10.0, size=(40, 64))
    bound = _bound(ReduceAxis(x, sp.Integer(1), C), {"x": values}, u=U32)
    computed = np.sum(_f32(values), axis=1, keepdims=True, dtype=np.float32)
    with mpmath.workdps(50):
        exact = [mpmath.fsum(_mp(v) for v in row) for row in values]
        _assert_covers(bound, computed, exact)


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ([1.5, -0.8, 2.25, 0.6, -3.0], [0.01, 0.05, 0.002, 0.03, 0.1]),
        # Errors beyond their factors: the widened product more than twice the exact one.
        ([0.5, 2.0, -1.5, 0.75], [0.75, 0.5, 0.3, 1.0]),
    ],
)
def test_a_cumulative_product_is_the_product_rule_over_the_first_t_factors(values, errors):
    values, errors = np.array(values), np.array(errors)
    widened = np.cumprod(np.abs(values) + errors)
    steps = np.arange(1, len(values) + 1)
    expected = widened - np.cumprod(np.abs(values)) + (steps - 1) * U * widened
    _close(_with_errors(CumProdAxis(x, sp.Integer(0)), {"x": values}, {x: errors}), expected)


def test_a_cumulative_product_bound_covers_float32_cumprod():
    values = np.random.default_rng(9).uniform(0.5, 2.0, size=(30, 3)) * np.array([1, -1, 1])
    bound = _bound(CumProdAxis(x, sp.Integer(0)), {"x": values}, u=U32)
    computed = np.cumprod(_f32(values), axis=0, dtype=np.float32)
    with mpmath.workdps(50):
        exact = np.array(
            [
                [mpmath.fprod(_mp(v) for v in values[: k + 1, j]) for j in range(3)]
                for k in range(30)
            ]
        )
        _assert_covers(bound, computed, exact)


def test_a_count_of_factors_is_exact():
    assert bound_program((CumCountAxis(x, sp.Integer(0)),)).error == 0
    # In a product: y's rounding and the multiplication's, on k |y| (the count adds none).
    counts = np.arange(1, 4)
    bound = _bound(y * CumCountAxis(x, sp.Integer(0)), {"x": np.ones(3), "y": 2.5})
    _close(bound, 2.5 * counts * U * (2 + U))


# --------------------------------------------------------------------------- exact operations


def test_abs_and_transposition_carry_their_arguments_error_unchanged():
    values = {"x": -1.5, "y": 0.25}
    errors = {x: 0.01, y: 0.003}
    _close(_with_errors(sp.Abs(x + y), values, errors), 0.013 + U * 1.75)
    bound = _bound(Transposed(x), {"x": np.array([[1.0, -2.0, 3.0]])})
    assert bound.shape == (3, 1)
    _close(bound, U * np.array([[1.0], [2.0], [3.0]]))


def test_a_unit_step_is_certain_only_where_the_error_cannot_reach_zero():
    # Heaviside(a, 1) is exact (bound 0) where |a| > e(a), else it may have gone either way
    # (bound 1), including at |a| = e(a) exactly.
    a = np.array([0.5, 0.5, 0.5, -0.5, -0.5, 0.0, 2.0])
    e = np.array([0.25, 0.5, 0.75, 0.5, 0.25, 0.0, 1.999])
    bound = _with_errors(sp.Heaviside(x, 1), {"x": a}, {x: e})
    np.testing.assert_array_equal(bound, [0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0])


def test_a_unit_step_bound_covers_float32_evaluation():
    rng = np.random.default_rng(11)
    left = rng.normal(size=400)
    right = left + rng.choice([-1, 1], size=400) * 10.0 ** rng.uniform(-10, 0, size=400)
    expr = sp.Heaviside(x - y, 1)
    bound = _bound(expr, {"x": left, "y": right}, u=U32)
    computed = np.heaviside(_f32(left) - _f32(right), np.float32(1))
    exact = np.array(
        [1.0 if Fraction(a) >= Fraction(b) else 0.0 for a, b in zip(left, right, strict=True)]
    )
    assert np.any(computed != exact), "no step went the wrong way: nothing to cover"
    assert np.all(np.abs(computed - exact) <= bound)
    assert np.any(bound == 0), "a step away from zero is certain"


# --------------------------------------------------------------------------- inputs of the program


def test_a_recomputable_leaf_carries_its_computations_error_and_one_rounding_of_its_own():
    # x = y + z computed by the implementation: e(y + z) = u|y| + u|z| + u(|y| + |z|), and x
    # is rounded once more on its way: + u|x|.
    values = {"x": 3.0, "y": -1.25, "z": 4.25}
    expected = 2 * U * (1.25 + 4.25) + U * 3.0
    _close(_bound(x, values, recomputable={x: y + z}), expected)
    # A recomputed leaf in a sum: its error takes the place of the one rounding.
    _close(
        _bound(x + w, {**values, "w": 0.5}, recomputable={x: y + z}), expected + U * 0.5 + U * 3.5
    )


def test_a_coefficient_node_rounds_at_the_coefficient_unit_roundoff():
    # alpha * lam, of coefficients alone, at cu (its leaves too); the sum with an array at u.
    alpha, lam = sp.symbols("alpha lam", positive=True)
    cu = 2.0**-20
    values = {"x": -1.5, "alpha": 0.3, "lam": 2.5}
    widened = 0.3 * (1 + cu) * 2.5 * (1 + cu)
    product_error = widened - 0.75 + cu * widened
    expected = U * 1.5 + product_error + U * (1.5 + 0.75)
    bound = _bound(x + alpha * lam, values, coefficient_u=cu, coefficients=("alpha", "lam"))
    _close(bound, expected)
    # Without coefficients named, every node rounds at u.
    widened = 0.3 * (1 + U) * 2.5 * (1 + U)
    _close(_bound(x + alpha * lam, values), U * 1.5 + widened - 0.75 + U * widened + U * 2.25)


# --------------------------------------------------------------------------- the program itself


def test_the_unit_roundoffs_are_positive_symbols():
    # SymPy may then use |u| = u and the sign of a bound: the bound of a non-binary constant is
    # known positive before any number is put in.
    assert UNIT_ROUNDOFF.is_positive and COEFFICIENT_UNIT_ROUNDOFF.is_positive
    assert (
        sp.Abs(UNIT_ROUNDOFF) == UNIT_ROUNDOFF
        and sp.Abs(COEFFICIENT_UNIT_ROUNDOFF) == COEFFICIENT_UNIT_ROUNDOFF
    )
    program = error_bound_program(sp.Rational(1, 3))
    assert dict(program.assignments)[program.error].is_positive


def test_a_bound_program_is_an_immutable_value():
    # Programs are shared (one per expression) and kept in caches: no caller may change one, and
    # equal programs hash alike.
    program = bound_program((x * y,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        program.errors = ()  # type: ignore[misc]
    assert hash(program) == hash(bound_program((x * y,)))
    assert isinstance(program, BoundProgram)


def test_the_leaf_mappings_are_passed_by_name():
    # recomputable and leaf_errors are both {leaf: expression}: taken by position, one would
    # silently stand for the other.
    parameters = inspect.signature(bound_program).parameters
    assert all(
        parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        for name in ("recomputable", "leaf_errors", "coefficients")
    )
    with pytest.raises(TypeError):
        bound_program((x,), {x: y + z})  # type: ignore[misc]


def test_a_magnitude_is_computed_once_however_many_rules_use_it():
    # |x| is one pass over the data: x's rounding, three products and a sum all read it, and
    # the program computes it in one assignment.
    program = bound_program((x * y + x * z + x * w + x,))
    expressions = [expr for _, expr in program.assignments] + list(program.errors)
    assert sum(expr.count(sp.Abs(x)) for expr in expressions) == 1
    # A constant's magnitude is the constant itself, nothing to compute.
    program = bound_program((3 * x,))
    assert not any(expr == sp.Integer(3) for _, expr in program.assignments)


def _abs_arguments(program: BoundProgram) -> list[sp.Expr]:
    """What the program takes the magnitude of, in its assignments."""
    return [expr.args[0] for _, expr in program.assignments if isinstance(expr, sp.Abs)]


def test_the_magnitude_of_an_array_times_a_row_sum_is_the_arrays_times_the_sums():
    # |x R| for R = sum_j y_ij: |x|, computed for the term x, times |R|; never |x|^2 |R|, and
    # no pass of its own over x R. x and y carry given errors, so every part is absolute.
    R = ReduceAxis(y, sp.Integer(1), C)
    expr = x * R + x
    names = {leaf: sp.Symbol(f"e_{leaf.name}", positive=True) for leaf in (x, y)}
    program = bound_program((expr,), leaf_errors=names)
    definitions = dict(program.assignments)
    magnitudes = _abs_arguments(program)
    assert magnitudes.count(x) == 1
    assert [definitions[a] for a in magnitudes if a not in {x, y}] == [R]  # and not |x R|
    values = {"x": np.array([[1.5, -2.0, 0.5]]), "y": np.array([[0.25, -3.0, 2.0]])}
    errors = {x: np.array([[0.01, 0.02, 0.03]]), y: np.array([[0.2, 0.1, 0.05]])}
    total = values["y"].sum(axis=1, keepdims=True)
    total_error = errors[y].sum(axis=1, keepdims=True) + 2 * U * np.abs(values["y"]).sum(
        axis=1, keepdims=True
    )
    magnitude_x, magnitude_total = np.abs(values["x"]), np.abs(total)
    widened = (magnitude_x + errors[x]) * (magnitude_total + total_error)
    product_error = widened - magnitude_x * magnitude_total + U * widened
    expected = product_error + errors[x] + U * (magnitude_x * magnitude_total + magnitude_x)
    _close(_with_errors(expr, values, errors), expected)


def test_the_magnitude_of_a_scaled_product_is_the_products_times_the_scale():
    # |s x y| for a small s: |x y|, computed for the term x y, times |s|.
    s = sp.Symbol("s", real=True)
    expr = x * y + s * x * y
    program = bound_program((expr,), small={"s"})
    leaves = {x, y, s}
    assert len([a for a in _abs_arguments(program) if a not in leaves]) == 1  # |x y|
    values = {"x": np.array([1.5, -2.25]), "y": np.array([0.4, 3.0]), "s": -0.75}
    product = np.abs(values["x"] * values["y"])
    expected = (
        ((1 + U) ** 2 * (1 + U) - 1) * product
        + ((1 + U) ** 3 * (1 + 2 * U) - 1) * 0.75 * product
        + U * (product + 0.75 * product)
    )
    _close(_bound(expr, values, small={"s"}), expected)
    # Not told that s is small, the bound is the same number, computed another way.
    assert len([a for a in _abs_arguments(bound_program((expr,))) if a not in leaves]) == 2
    _close(_bound(expr, values), expected)


# --------------------------------------------------------------------------- relative parts
# A leaf rounded once has the error u |x|, relative to its magnitude. The rules carry such
# errors as a coefficient of the magnitude (an expression of the unit roundoffs alone), which
# costs no pass over the arrays; the bound is still the rule's, number for number.


def _relative_coefficient(program: BoundProgram) -> sp.Expr:
    """The coefficient ``k`` of an error bound ``k * |value|`` (its definition in the program),
    or fail if the bound is not of that form."""
    definitions = dict(program.assignments)
    bound = definitions[program.error]
    assert isinstance(bound, sp.Mul) and len(bound.args) == 2, bound
    coefficient = next(arg for arg in bound.args if not isinstance(definitions.get(arg), sp.Abs))
    magnitude = next(arg for arg in bound.args if arg is not coefficient)
    assert isinstance(definitions[magnitude], sp.Abs)
    while coefficient.free_symbols & definitions.keys():
        coefficient = coefficient.xreplace(definitions)
    return coefficient


def test_a_product_of_rounded_leaves_has_an_error_relative_to_its_magnitude():
    # (|x|(1 + u))(|y|(1 + u))(|z|(1 + u))(1 + 2u) - |xyz|: the coefficient a number of u alone.
    program = bound_program((x * y * z,))
    coefficient = _relative_coefficient(program)
    assert coefficient.free_symbols == {UNIT_ROUNDOFF}
    expected = (1 + U) ** 3 * (1 + 2 * U) - 1
    assert float(coefficient.subs(UNIT_ROUNDOFF, U)) == pytest.approx(expected, rel=RTOL)
    _close(_bound(x * y * z, {"x": 1.5, "y": -2.25, "z": 0.4}), 1.35 * expected)


def test_a_relative_coefficient_keeps_the_roundings_that_float64_would_lose():
    # At float64's unit roundoff, 1 + u is 1: the widened product less the exact one is then
    # rounding noise (0, or an ulp of the product), not the 3u |xy| the rule gives.
    u64 = 2.0**-53
    for value in (1.0, 3.0, 0.7):
        _close(_bound(x * y, {"x": value, "y": 1.25}, u=u64), 3 * u64 * value * 1.25)
        _close(_bound(x**2, {"x": value}, u=u64), 3 * u64 * value**2)


def test_a_relative_reciprocal_root_and_step_power_are_the_rules_at_e_equal_u_x():
    u = U
    for value in (1.5, 0.3):
        error = u * value  # a leaf rounded once
        _close(_bound(x**-1, {"x": value}), _reciprocal(value, error))
        root = error / (np.sqrt(value) + np.sqrt(value - error)) + u * np.sqrt(value + error)
        _close(_bound(sp.sqrt(x), {"x": value}), root)
        for steps in (1, 5):
            _close(
                _bound(x**t, {"x": value, "t": steps}), _step_power_rule(value, error, steps)
            )
    # And of an exact zero, no error at all (0 |0|).
    assert _bound(x**t, {"x": 0.0, "t": 3}) == 0


def test_a_reciprocal_of_an_error_beyond_the_magnitude_is_unbounded():
    # A relative error of u >= 1 leaves nothing of 1 / x known.
    assert np.isinf(_bound(x**-1, {"x": 2.0}, u=1.0))
    assert np.isinf(_bound(x**-1, {"x": 2.0}, u=1.5))


def test_a_reduction_takes_a_constant_relative_part_out_of_the_sum():
    rng = np.random.default_rng(12)
    values = {"x": rng.normal(size=(3, 5)), "y": rng.normal(size=(3, 5))}
    expr = ReduceAxis(x * y, sp.Integer(1), C)
    magnitudes = np.abs(values["x"] * values["y"]).sum(axis=1, keepdims=True)
    expected = ((1 + U) ** 2 * (1 + U) - 1 + 4 * U) * magnitudes
    _close(_bound(expr, values), expected)
    # Where the body has one sign, the sum of magnitudes is the magnitude of the sum: relative.
    for body in (x**2, sp.Abs(x * y), x**4):
        program = bound_program((ReduceAxis(body, sp.Integer(1), C),))
        assert _relative_coefficient(program).free_symbols <= {UNIT_ROUNDOFF, C}
    # An exponential's error is absolute, but its sum needs no sum of magnitudes either: one
    # sum of the errors, next to the sum itself.
    program = bound_program((ReduceAxis(sp.exp(x), sp.Integer(1), C),), values=True)
    sums = [e for _, e in program.assignments if isinstance(e, ReduceAxis)]
    assert len(sums) == 2, sums
    squares = (values["x"] ** 2).sum(axis=1, keepdims=True)
    _close(
        _bound(ReduceAxis(x**2, sp.Integer(1), C), values),
        ((1 + U) ** 2 * (1 + U) - 1 + 4 * U) * squares,
    )


def test_a_reduction_of_a_relative_part_that_varies_sums_it_entry_by_entry():
    # y**t with t per entry: the relative part (1 + u)**t - 1 + (t + 1) u differs from entry
    # to entry, so it stays inside the sum.
    values = {"y": np.array([[1.5, -0.5, 2.0]]), "t": np.array([[1, 4, 2]])}
    per_entry = _step_power_rule(np.abs(values["y"]), U * np.abs(values["y"]), values["t"])
    magnitudes = np.abs(values["y"]) ** values["t"]
    expected = per_entry.sum(axis=1, keepdims=True) + 2 * U * magnitudes.sum(axis=1, keepdims=True)
    _close(_bound(ReduceAxis(y**t, sp.Integer(1), C), values), expected)


def test_one_signed_reductions_cover_float32_sums_of_squares():
    values = np.random.default_rng(13).normal(loc=2.0, scale=5.0, size=(30, 50))
    v32 = _f32(values)
    computed = np.sum(v32 * v32, axis=1, keepdims=True, dtype=np.float32)
    bound = _bound(ReduceAxis(x**2, sp.Integer(1), C), {"x": values}, u=U32)
    with mpmath.workdps(50):
        exact = [mpmath.fsum(_mp(v) ** 2 for v in row) for row in values]
        _assert_covers(bound, computed, exact)


def test_a_transposition_keeps_a_relative_error_relative():
    values = {"x": np.array([[1.0, -2.0, 3.0]]), "y": np.array([[0.5, 0.25, -4.0]])}
    bound = _bound(Transposed(x * y), values)
    assert bound.shape == (3, 1)
    _close(bound, ((1 + U) ** 2 * (1 + U) - 1) * np.abs(values["x"] * values["y"]).T)
    coefficient = _relative_coefficient(bound_program((Transposed(x * y),)))
    assert coefficient.free_symbols == {UNIT_ROUNDOFF}


def test_a_positive_part_of_a_number_is_a_number():
    assert PositivePart(sp.Integer(3)) == 3
    assert PositivePart(sp.Rational(-1, 2)) == 0
    assert isinstance(PositivePart(x), PositivePart)


def test_a_reduction_of_a_symbol_said_to_be_nonnegative_is_not_taken_as_one_signed():
    # The value of a symbol is what the target answered, whatever the spec assumed of it: a
    # variance computed as E[x^2] - E[x]^2 may come out below zero, and the sum of magnitudes
    # is then more than the magnitude of the sum.
    s = sp.Symbol("s", nonnegative=True)
    values = {"s": np.array([[2.0, -1.5, 0.25]])}
    _close(_bound(ReduceAxis(s, sp.Integer(1), C), values), (U + 2 * U) * 3.75)
    # Nor is its magnitude the symbol itself: u |s|, not u s.
    _close(_bound(s, {"s": -1.5}), U * 1.5)
    _close(_bound(sp.Heaviside(s, 1), {"s": -1.5}), 0.0)


def test_a_product_starts_from_a_product_of_its_factors_already_computed():
    # x y z where x y is a value of the program already: one multiplication more, not two.
    program = bound_program((x * y, x * y * z), values=True)
    definitions = dict(program.assignments)
    (xy,) = [symbol for symbol, expr in program.assignments if expr == x * y]
    assert definitions[program.values[1]] in (xy * z, z * xy)
    values = {"x": 1.5, "y": -2.25, "z": 0.4, UNIT_ROUNDOFF.name: U}
    first, second, *_ = program.compiled()(values)
    assert first == 1.5 * -2.25 and second == pytest.approx(1.5 * -2.25 * 0.4, rel=1e-15)


def test_a_product_of_a_sum_and_an_array_with_errors_is_the_product_rule():
    # A row sum (small) times an array, both with absolute errors: the rule's number, whatever
    # order the terms of the difference take.
    values = {"x": np.array([[1.5, -2.0, 0.5]]), "y": np.array([[0.25, -3.0, 2.0]])}
    errors = {x: np.array([[0.01, 0.02, 0.03]]), y: np.array([[0.2, 0.1, 0.05]])}
    total = values["x"].sum(axis=1, keepdims=True)
    total_error = errors[x].sum(axis=1, keepdims=True) + 2 * U * np.abs(values["x"]).sum(
        axis=1, keepdims=True
    )
    widened = (np.abs(total) + total_error) * (np.abs(values["y"]) + errors[y])
    expected = widened - np.abs(total) * np.abs(values["y"]) + U * widened
    expr = ReduceAxis(x, sp.Integer(1), C) * y
    _close(_with_errors(expr, values, errors), expected)


def test_a_rounded_factor_widens_a_product_whose_other_factor_has_an_error():
    # x rounded once (u |x|, relative), y given an error: (|x|(1 + u))(|y| + e) (1 + u) - |x||y|.
    values, error = {"x": -1.5, "y": 2.25}, 0.05
    widened = 1.5 * (1 + U) * (2.25 + error)
    _close(_with_errors(x * y, values, {y: error}), widened - 1.5 * 2.25 + U * widened)


def test_a_factor_with_both_parts_is_widened_by_its_relative_part_too():
    # x recomputed as y + z (an absolute error 2u(|y| + |z|)) and rounded once more (u |x|),
    # times w given an error: the product rule on e(x) = 2u(|y| + |z|) + u |x|.
    values = {"x": 3.0, "y": -1.25, "z": 4.25, "w": -0.5}
    e_x = 2 * U * (1.25 + 4.25) + U * 3.0
    e_w = 0.125
    widened = (3.0 + e_x) * (0.5 + e_w)
    names = {w: sp.Symbol("e_w", positive=True)}
    program = bound_program((x * w,), recomputable={x: y + z}, leaf_errors=names)
    (bound,) = program.compiled()({**values, "e_w": e_w, UNIT_ROUNDOFF.name: U})
    _close(bound, widened - 1.5 + U * widened)


def test_a_transposition_of_an_error_relative_entry_by_entry_transposes_it_whole():
    # y**t with t per entry: the relative part varies along the axes, so the transposed bound
    # is the whole error's transposition.
    values = {"y": np.array([[1.5, -0.5, 2.0]]), "t": np.array([[1, 4, 2]])}
    expected = _step_power_rule(np.abs(values["y"]), U * np.abs(values["y"]), values["t"]).T
    bound = _bound(Transposed(y**t), values)
    assert bound.shape == (3, 1)
    _close(bound, expected)


def test_a_leaf_recomputed_elsewhere_carries_that_bound_and_one_rounding():
    # recomputed: the bound of the leaf's computation is an input (computed once per record).
    program = bound_program((x,), recomputed={x: sp.Symbol("x_recomputed", positive=True)})
    (bound,) = program.compiled()({"x": -3.0, "x_recomputed": 0.125, UNIT_ROUNDOFF.name: U})
    _close(bound, 0.125 + U * 3.0)


def test_a_sum_of_odd_powers_is_not_one_signed():
    # x**3 takes both signs: the sum's bound adds the magnitudes of the terms, not of the sum.
    values = {"x": np.array([[1.5, -2.0, 0.5]])}
    cubes = np.abs(values["x"]) ** 3
    per_term = ((1 + U) ** 3 * (1 + 2 * U) - 1) * cubes
    expected = per_term.sum(axis=1, keepdims=True) + 2 * U * cubes.sum(axis=1, keepdims=True)
    _close(_bound(ReduceAxis(x**3, sp.Integer(1), C), values), expected)


def test_a_transposition_of_a_leaf_with_an_error_transposes_the_error():
    bound = _with_errors(Transposed(x), {"x": np.array([[1.0, -2.0, 3.0]])},
                         {x: np.array([[0.1, 0.2, 0.3]])})
    assert bound.shape == (3, 1)
    _close(bound, np.array([[0.1], [0.2], [0.3]]))
    # A sum's error is absolute (a name of the program's own): transposed as it is.
    values = {"x": np.array([[1.0, -2.0, 3.0]]), "y": np.array([[0.5, 0.25, -4.0]])}
    expected = (2 * U * (np.abs(values["x"]) + np.abs(values["y"]))).T
    _close(_bound(Transposed(x + y), values), expected)


def test_a_long_step_count_grows_a_relative_error_beyond_doubling():
    # (1 + u)**t - 1 above 1: at u = 2**-10 and t = 800 the growth is 1.18, all of it counted.
    for value in (1.5, 0.7):
        bound = _bound(x**t, {"x": value, "t": 800})
        _close(bound, _step_power_rule(value, U * value, 800))
