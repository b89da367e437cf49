"""The rounding-error bound derived from a spec's expression holds, and it is tight enough to
tell a stable float32 evaluation from an unstable one.

"Exact" values are the spec evaluated in float64 on the very float32 inputs; bounds are
evaluated at ``u = u32 + u64`` so that they also cover the float64 reference's own rounding
(as :func:`eqconform.verify.tolerance.oracle_unit_roundoff` does).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from eqconform.specs import get_spec
from eqconform.verify.compiler import (
    CumProdAxis,
    ReduceAxis,
    compile_expressions,
    compile_program,
    compose,
    lower,
)
from eqconform.verify.graph import unrolled_predictor
from eqconform.verify.rounding import UNIT_ROUNDOFF, bound_program, error_bound_program
from eqconform.verify.tolerance import oracle_unit_roundoff

U32 = oracle_unit_roundoff(np.float32)
U64 = oracle_unit_roundoff(np.float64)


def _lowered(spec_id: str, quantity: str) -> sp.Expr:
    spec = get_spec(spec_id)
    return lower(spec.canonical.expression(quantity), spec.axes)


def _float32_sum(values, axis, size):
    array = np.asarray(values)
    axis = int(axis)
    if array.ndim <= axis or (array.shape[axis] == 1 and int(size) != 1):
        return array * np.float32(size)
    return np.sum(array, axis=axis, keepdims=True, dtype=np.float32)


def float32_eval(expr: sp.Expr, values: dict) -> np.ndarray:
    """The printed formula evaluated operation by operation in float32."""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    function = sp.lambdify(symbols, expr, modules=[{"ReduceAxis": _float32_sum}, "numpy"])
    arguments = [
        values[s.name] if isinstance(values[s.name], int) else np.float32(values[s.name])
        if np.ndim(values[s.name]) == 0 else np.asarray(values[s.name], dtype=np.float32)
        for s in symbols
    ]
    with np.errstate(all="ignore"):
        result = np.asarray(function(*arguments))
    assert result.dtype == np.float32, f"evaluation left float32: {result.dtype}"
    return result


def bound_function(expr: sp.Expr, recomputable: dict | None = None):
    program = error_bound_program(expr, recomputable)
    return compile_program(program.assignments, (program.error,))


def exact_and_bound(expr: sp.Expr, values: dict, u: float = U32) -> tuple[np.ndarray, np.ndarray]:
    (exact,) = compile_expressions((expr,))(values)
    (bound,) = bound_function(expr)({**values, UNIT_ROUNDOFF.name: u})
    return exact, np.broadcast_to(bound, np.broadcast_shapes(np.shape(bound), np.shape(exact)))


VARIANCE = compose(_lowered("layernorm.variance", "sigma2"), {"mu": _lowered("layernorm.mean", "mu")})


def _rows(rng: np.random.Generator, rows: int, features: int, offset: float) -> np.ndarray:
    """float32 rows of unit spread around row means between offset/2 and offset."""
    means = rng.uniform(offset / 2, offset, size=(rows, 1)) * rng.choice([-1, 1], size=(rows, 1))
    return (rng.normal(size=(rows, features)) + means).astype(np.float32)


# --------------------------------------------------------------------------- the bound holds


@pytest.mark.parametrize("features", [1, 2, 8, 100])
@pytest.mark.parametrize("offset", [0.0, 1e2, 1e4, 1e6])
def test_two_pass_variance_within_bound(features, offset):
    rng = np.random.default_rng(int(features + offset) % 2**32)
    Z = _rows(rng, 64, features, offset)
    exact, bound = exact_and_bound(VARIANCE, {"Z": Z.astype(np.float64)})
    # An implementation's two passes, in float32.
    C = np.float32(features)
    mean = np.sum(Z, axis=1, keepdims=True, dtype=np.float32) / C
    centred = Z - mean
    computed = np.sum(centred * centred, axis=1, keepdims=True, dtype=np.float32) / C
    # The printed formula, in float32.
    printed = float32_eval(VARIANCE, {"Z": Z, "C": features})
    assert np.all(np.isfinite(bound)) and np.all(bound >= 0)
    for observed in (computed, printed):
        error = np.abs(observed.astype(np.float64) - exact)
        assert np.all(error <= bound), f"worst error/bound {np.max(error / np.where(bound > 0, bound, np.inf)):.3g}"
        if features >= 8:
            assert np.max(error) > 0, "float32 evaluation agreed exactly: the check would be vacuous"


def test_one_pass_variance_exceeds_the_two_pass_bound_by_orders_of_magnitude():
    """E[x^2] - E[x]^2 in float32 at |mean| / std = 1e4 loses every digit of the variance; the
    spec's (two-pass) bound is far below that error, so the verifier flags it."""
    rng = np.random.default_rng(2024)
    Z = _rows(rng, 200, 8, 1e4)
    exact, bound = exact_and_bound(VARIANCE, {"Z": Z.astype(np.float64)})
    C = np.float32(8)
    mean = np.sum(Z, axis=1, keepdims=True, dtype=np.float32) / C
    one_pass = np.sum(Z * Z, axis=1, keepdims=True, dtype=np.float32) / C - mean * mean
    excess = np.abs(one_pass.astype(np.float64) - exact) / bound
    assert np.all(excess > 4.0), "every row must fail even with the verifier's safety factor 4"
    assert np.median(excess) > 100.0, f"median error / bound only {np.median(excess):.3g}"
    # ... while the two-pass evaluation of the same rows is far inside the bound.
    two_pass = float32_eval(VARIANCE, {"Z": Z, "C": 8})
    assert np.max(np.abs(two_pass.astype(np.float64) - exact) / bound) < 0.1


def test_one_pass_formula_has_its_own_larger_bound_that_holds():
    """The bound is derived from whichever expression it is given: for the one-pass formula it
    is large (cancellation) and still covers the one-pass error."""
    i, j, C, Z = sp.Symbol("i"), sp.Symbol("j"), sp.Symbol("C", integer=True, positive=True), sp.IndexedBase("Z")
    one_pass = lower(
        sp.Sum(Z[i, j] ** 2, (j, 1, C)) / C - (sp.Sum(Z[i, j], (j, 1, C)) / C) ** 2, {i: 0, j: 1}
    )
    rng = np.random.default_rng(5)
    Z32 = _rows(rng, 100, 8, 1e4)
    exact, own_bound = exact_and_bound(one_pass, {"Z": Z32.astype(np.float64)})
    _, two_pass_bound = exact_and_bound(VARIANCE, {"Z": Z32.astype(np.float64)})
    np.testing.assert_allclose(exact, Z32.astype(np.float64).var(axis=1, keepdims=True), rtol=1e-6)
    computed = float32_eval(one_pass, {"Z": Z32, "C": 8})
    assert np.all(np.abs(computed.astype(np.float64) - exact) <= own_bound)
    assert np.all(own_bound > 100 * two_pass_bound)


ADAM_CHAIN = compose(
    _lowered("adam.update", "theta"),
    {
        "mhat": _lowered("adam.bias_correction", "mhat"),
        "vhat": _lowered("adam.bias_correction", "vhat"),
        "m": _lowered("adam.first_moment", "m"),
        "v": _lowered("adam.second_moment", "v"),
    },
)


def test_adam_chain_is_composed_from_the_specs():
    names = {s.name for s in ADAM_CHAIN.free_symbols}
    assert names == {"theta_prev", "alpha", "eps", "beta1", "beta2", "t", "m_prev", "v_prev", "g"}


@pytest.mark.parametrize("seed", range(6))
def test_adam_update_chain_within_bound(seed):
    rng = np.random.default_rng(seed)
    size = 500
    scale = 10.0 ** rng.integers(-4, 3)
    values = {
        "theta_prev": rng.normal(size=size).astype(np.float32),
        "m_prev": (scale * 0.5 * rng.normal(size=size)).astype(np.float32),
        "v_prev": (scale**2 * rng.uniform(0.0, 1.0, size=size)).astype(np.float32),
        "g": (scale * rng.normal(size=size)).astype(np.float32),
        "beta1": float(rng.choice([0.5, 0.9, 0.99])),
        "beta2": float(rng.choice([0.9, 0.999, 0.9999])),
        "alpha": float(rng.choice([1e-3, 0.1])),
        "eps": float(rng.choice([1e-8, 1e-3])),
        "t": int(rng.integers(1, 60)),
    }
    exact, bound = exact_and_bound(ADAM_CHAIN, {k: (v.astype(np.float64) if isinstance(v, np.ndarray) else v) for k, v in values.items()})
    assert np.all(np.isfinite(bound)) and np.all(bound >= 0)
    # An implementation's order of operations, in float32.
    f32 = np.float32
    b1, b2, lr, eps, t = f32(values["beta1"]), f32(values["beta2"]), f32(values["alpha"]), f32(values["eps"]), values["t"]
    m = b1 * values["m_prev"] + (f32(1) - b1) * values["g"]
    v = b2 * values["v_prev"] + (f32(1) - b2) * values["g"] * values["g"]
    mhat, vhat = m / (f32(1) - b1**t), v / (f32(1) - b2**t)
    theta = values["theta_prev"] - lr * mhat / (np.sqrt(vhat) + eps)
    assert theta.dtype == np.float32
    printed = float32_eval(ADAM_CHAIN, values)
    for observed in (theta, printed):
        error = np.abs(observed.astype(np.float64) - exact)
        assert np.all(error <= bound), f"worst error/bound {np.max(error / bound):.3g}"
        assert np.max(error) > 0, "float32 evaluation agreed exactly: the check would be vacuous"


def test_adam_chain_bound_flags_a_wrong_update():
    """The bound is not so loose that a real bug (no bias correction at t = 1) fits inside it."""
    rng = np.random.default_rng(1)
    g = rng.normal(size=100)
    values = {"theta_prev": rng.normal(size=100), "m_prev": np.zeros(100), "v_prev": np.zeros(100), "g": g,
              "beta1": 0.9, "beta2": 0.999, "alpha": 1e-3, "eps": 1e-8, "t": 1}
    exact, bound = exact_and_bound(ADAM_CHAIN, values)
    uncorrected = values["theta_prev"] - 1e-3 * (0.1 * g) / (np.sqrt(0.001 * g * g) + 1e-8)
    assert np.all(np.abs(uncorrected - exact) > 100 * bound)


def test_adam_chain_bound_is_zero_width_where_the_gradients_were_zero():
    """Where g, m_prev and v_prev are 0 the update is exactly theta_prev (0 / (0 + eps)): the
    bound must say so (0, not NaN: a NaN bound is an infinite tolerance, and a wrong update
    there would pass), and a wrong update there is far outside it."""
    rng = np.random.default_rng(2)
    theta = rng.normal(size=6)
    zero = np.zeros(6)
    values = {"theta_prev": theta, "m_prev": zero, "v_prev": zero, "g": zero,
              "beta1": 0.9, "beta2": 0.999, "alpha": 1e-3, "eps": 1e-8, "t": 3}
    exact, bound = exact_and_bound(ADAM_CHAIN, values, u=U32)
    assert np.array_equal(exact, theta)
    assert np.all(np.isfinite(bound)) and np.all(bound <= 2 * U32 * np.abs(theta))
    moved = theta - 1e-3  # an update that moves weights whose gradients were all 0
    assert np.all(np.abs(moved - exact) > 100 * bound)


@pytest.mark.parametrize("power", [sp.Rational(1, 2), sp.Rational(3, 2), sp.Symbol("t", integer=True, positive=True)])
def test_a_power_of_an_exact_zero_has_an_error_of_zero(power):
    x = sp.Symbol("x", nonnegative=True)
    program = error_bound_program(x**power).compiled()
    values = {"x": np.array([0.0, 4.0]), "unit_roundoff": U32, "t": 3.0}
    (bound,) = program(values)
    assert bound[0] == 0.0  # 0 / 0 would be NaN, read as "anything goes"
    assert np.isfinite(bound[1]) and bound[1] > 0


# --------------------------------------------------------------------------- where the bound is finite


def test_bias_correction_bound_is_finite_in_float64_and_infinite_when_nothing_is_known():
    """1 / (1 - beta1**t) with beta1 = 1 - 1e-9 at t = 1: float64 resolves 1 - beta1, float32
    cannot (beta1 rounds to 1 in float32), so the bound must say 'unbounded' there."""
    mhat = _lowered("adam.bias_correction", "mhat")
    values = {"m": np.array([1.0, -2.0]), "beta1": 1 - 1e-9, "t": 1}
    _, bound64 = exact_and_bound(mhat, values, u=U64)
    _, bound32 = exact_and_bound(mhat, values, u=U32)
    assert np.all(np.isfinite(bound64))
    assert np.all(np.isinf(bound32))
    assert np.float32(1 - 1e-9) == np.float32(1.0)


@pytest.mark.parametrize("spec_id", ["layernorm.normalize", "layernorm.grad_input", "dropout.scaling", "adamw.decoupled_decay"])
def test_bound_is_finite_on_ordinary_inputs(spec_id):
    spec = get_spec(spec_id)
    quantity = spec.defines[-1]  # the quantity the equation is about (AdamW also defines g_eff)
    expr = lower(spec.canonical.expression(quantity), spec.axes)
    rng = np.random.default_rng(0)
    shapes = {"Z": (4, 5), "Zhat": (4, 5), "dLdZhat": (4, 5), "x": (4, 5), "mask": (4, 5),
              "mu": (4, 1), "sigma2": (4, 1)}
    values = {}
    for symbol in expr.free_symbols:
        name = symbol.name
        if name in {"C"}:
            continue
        if name == "mask":
            values[name] = rng.integers(0, 2, size=shapes[name]).astype(float)
        elif name in shapes:
            values[name] = rng.uniform(0.5, 2.0, size=shapes[name])
        else:
            values[name] = float(rng.uniform(0.1, 0.9))
    exact, bound = exact_and_bound(expr, values)
    assert np.all(np.isfinite(exact))
    assert np.all(np.isfinite(bound)) and np.all(bound >= 0)
    assert np.all(bound <= 1e-3 * (np.abs(exact) + 1)), "a well-conditioned formula has a small bound"


def _bound_at(expr: sp.Expr, values: dict, recomputable: dict | None = None, u: float = U32) -> float:
    (bound,) = bound_function(expr, recomputable)({**values, UNIT_ROUNDOFF.name: u})
    return float(np.max(bound))


def test_exact_operations_carry_no_error():
    x = sp.Symbol("x")
    n = sp.Symbol("n", integer=True)
    assert error_bound_program(sp.Integer(3)).error == 0
    assert error_bound_program(sp.Rational(1, 4)).error == 0
    assert error_bound_program(n).error == 0
    assert error_bound_program(sp.Rational(1, 3)).error != 0
    u = 0.5**24
    # A leaf is rounded once on the way in: |e(x)| <= u |x|.
    assert _bound_at(x, {"x": -3.0}, u=u) == pytest.approx(3.0 * u, rel=1e-12)
    # 2 * x carries at least the doubled leaf error, and not wildly more.
    assert 2 * 3.0 * u <= _bound_at(2 * x, {"x": 3.0}, u=u) <= 3 * 2 * 3.0 * u


def test_recomputable_leaves_carry_the_error_of_their_computation():
    """A leaf an implementation may recompute from inputs carries that computation's bound."""
    x, y, z = sp.symbols("x y z")
    values = {"x": 1.0, "y": 1e4, "z": -1e4 + 1.0}
    plain = _bound_at(2 * x, values)
    recomputed = _bound_at(2 * x, values, {x: y + z})  # x = y + z cancels: a large error
    assert recomputed > 1000 * plain


# --------------------------------------------------------------------------- unsupported


@pytest.mark.parametrize(
    "expr",
    [
        sp.tanh(sp.Symbol("x")),
        sp.log(sp.Symbol("x")),
        sp.sin(sp.Symbol("x")),
        sp.Symbol("x") ** sp.Rational(1, 3),
        sp.Symbol("x") ** sp.Symbol("y", real=True),
        sp.Max(sp.Symbol("x"), sp.Symbol("y")),
        sp.Product(sp.Symbol("x"), (sp.Symbol("s", integer=True), 1, 3)),
    ],
    ids=["tanh", "log", "sin", "cube-root", "real-power", "max", "product"],
)
def test_unsupported_expressions_raise(expr):
    with pytest.raises(NotImplementedError, match="no rounding-error rule"):
        error_bound_program(expr)


@pytest.mark.parametrize(
    "make",
    [
        lambda x, y, t: sp.sqrt(x) / (y + 1),
        lambda x, y, t: x**3 - y**-2,
        lambda x, y, t: sp.Abs(x - y),
        lambda x, y, t: x ** sp.Rational(3, 2),
        lambda x, y, t: x**t,
        lambda x, y, t: ReduceAxis(x * y, sp.Integer(1), sp.Symbol("C")),
    ],
    ids=["sqrt-quotient", "powers", "abs", "half-power", "symbolic-power", "reduction"],
)
def test_supported_expressions_have_a_finite_positive_bound(make):
    x, y = sp.symbols("x y")
    t = sp.Symbol("t", integer=True, positive=True)
    expr = make(x, y, t)
    values = {"x": np.array([[1.5, 2.5]]), "y": np.array([[0.75, 3.0]]), "t": 3}
    exact, bound = exact_and_bound(expr, values)
    assert np.all(np.isfinite(exact))
    assert np.all(np.isfinite(bound)) and np.all(bound > 0)
    assert np.all(bound < 1e-5 * (np.abs(exact) + 1))


# --------------------------------------------------------------------------- exp and the unit step

#: Float64's unit roundoff alone (the float64 evaluation is the one measured).
U = 2.0**-53


def test_exp_bound_covers_the_float64_error():
    import mpmath

    x = sp.Symbol("x")
    values = np.linspace(-30, 30, 61) + 1 / 3
    expr = sp.exp(3 * x)
    (value,) = compile_expressions((expr,))({"x": values})
    (bound,) = bound_function(expr)({"x": values, "unit_roundoff": U})
    with mpmath.workdps(50):
        exact = np.array([float(mpmath.exp(3 * mpmath.mpf(float(v)))) for v in values])
        errors = np.array([float(abs(mpmath.mpf(float(c)) - mpmath.exp(3 * mpmath.mpf(float(v)))))
                           for c, v in zip(value, values)])
    assert np.all(errors <= bound)
    assert np.all(bound <= 1e-12 * exact)


def test_heaviside_is_certain_only_away_from_zero():
    a, b = sp.symbols("a b", real=True)
    step = unrolled_predictor([sp.Heaviside(a - b, 1)], {a: sp.Symbol("ea"), b: sp.Symbol("eb")})
    (value,), (bound,) = step({"a": np.array([1.0, 1.0, 1.0]), "b": np.array([0.0, 1.0, 0.999]),
                               "ea": np.array([1e-3, 1e-3, 1e-3]), "eb": np.zeros(3), "unit_roundoff": U})
    np.testing.assert_array_equal(value, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(bound, [0.0, 1.0, 1.0])


def test_one_program_bounds_several_expressions_as_each_alone():
    x, y = sp.symbols("x y")
    expressions = (sp.sqrt(x * y + 1), (x - y) ** 2)
    program = bound_program(expressions)
    values = {"x": np.array([0.5, 3.0]), "y": np.array([2.0, -1.0]), "unit_roundoff": U}
    together = compile_program(program.assignments, program.errors)(values)
    for expr, bound in zip(expressions, together):
        np.testing.assert_array_equal(bound, bound_function(expr)(values)[0])
    with pytest.raises(ValueError):
        program.error  # noqa: B018 - two roots: there is no single error


def test_a_cumulative_product_bound_covers_its_roundings_and_stays_first_order():
    """k factors: k leaf roundings and k - 1 multiplications, so about (2k - 1) u |prod|; it
    must cover the float64 error and not be wildly larger (a bound of |prod| itself would pass
    any answer)."""
    import mpmath

    x = sp.Symbol("x")
    factors = np.array([1 / 3, 7 / 5, 2 / 9, 11 / 7, 5 / 13, 3 / 11, 13 / 3, 9 / 17])
    cumulative = CumProdAxis(x, sp.Integer(0))
    (value,) = compile_expressions((cumulative,))({"x": factors})
    program = bound_program((cumulative,))
    (bound,) = compile_program(program.assignments, program.errors)({"x": factors, "unit_roundoff": U})
    with mpmath.workdps(50):
        exact = [mpmath.fprod(mpmath.mpf(float(f)) for f in factors[: k + 1]) for k in range(len(factors))]
        errors = np.array([float(abs(mpmath.mpf(float(v)) - e)) for v, e in zip(value, exact, strict=True)])
    magnitude = np.abs(np.cumprod(factors))
    k = np.arange(1, len(factors) + 1)
    assert np.all(errors <= bound)
    assert np.all(bound >= (k - 1) * U * magnitude), "each multiplication rounds once"
    assert np.all(bound <= 4 * k * U * magnitude)


def test_coefficients_round_at_their_own_unit_roundoff() -> None:
    # Adam's update with its hyperparameters and what is computed from them alone (1 - beta**t,
    # alpha * lam) in float32, the arrays in float64: the float64 bound misses such an answer,
    # the bound with float32 coefficients holds it, and the arrays' rounding stays float64's.
    from eqconform.verify.rounding import COEFFICIENT_UNIT_ROUNDOFF

    m, theta = sp.symbols("m theta", real=True)
    v, beta1, beta2, alpha, lam, eps = sp.symbols("v beta1 beta2 alpha lam eps", positive=True)
    t = sp.Symbol("t", integer=True, positive=True)
    expr = theta * (1 - alpha * lam) - alpha * (m / (1 - beta1**t)) / (sp.sqrt(v / (1 - beta2**t)) + eps)
    program = bound_program((expr,), coefficients=("alpha", "beta1", "beta2", "eps", "lam"))
    function = compile_program(program.assignments, program.errors)
    rng = np.random.default_rng(7)
    values = {"m": rng.normal(size=200), "v": rng.uniform(0.1, 2.0, size=200), "theta": rng.normal(size=200),
              "beta1": 0.9, "beta2": 0.999, "alpha": 0.1, "lam": 0.3, "eps": 1e-8, "t": np.arange(1, 201)}
    (exact,) = compile_expressions((expr,))(values)
    k = np.float32
    c1 = k(1) - k(values["beta1"]) ** values["t"].astype(k)
    c2 = k(1) - k(values["beta2"]) ** values["t"].astype(k)
    decay = k(1) - k(values["alpha"]) * k(values["lam"])
    answer = values["theta"] * decay.astype(np.float64) - k(values["alpha"]).astype(np.float64) * (
        values["m"] / c1.astype(np.float64)) / (np.sqrt(values["v"] / c2.astype(np.float64)) + k(values["eps"]))
    error = np.abs(answer - exact)
    (mixed,) = function({**values, UNIT_ROUNDOFF.name: U64, COEFFICIENT_UNIT_ROUNDOFF.name: U32})
    (plain,) = function({**values, UNIT_ROUNDOFF.name: U64, COEFFICIENT_UNIT_ROUNDOFF.name: U64})
    (single,) = function({**values, UNIT_ROUNDOFF.name: U32, COEFFICIENT_UNIT_ROUNDOFF.name: U32})
    assert np.all(error <= mixed)
    assert np.any(error > plain)
    assert np.all(mixed <= single)  # a coefficient's rounding is the same in both
    # Nodes with an array in them are not coefficients: with no coefficients named, the
    # program is the one built without them (one unit roundoff).
    assert COEFFICIENT_UNIT_ROUNDOFF not in bound_program((expr,)).error.free_symbols
    assert all(COEFFICIENT_UNIT_ROUNDOFF not in e.free_symbols for _, e in bound_program((expr,)).assignments)


def test_a_power_to_a_step_count_covers_its_roundings_and_the_negative_power_too() -> None:
    # beta**t and (1 - beta)**-t as code computes them in float32. With an exact base (no leaf
    # error) the bound is the roundings of the power alone, and must still cover the float32
    # result for every t.
    from eqconform.verify.rounding import bound_program

    x = sp.Symbol("x", positive=True)
    t = sp.Symbol("t", integer=True, positive=True)
    base = np.random.default_rng(5).uniform(0.8, 0.999, size=(1, 4000)).astype(np.float32)
    for power in (x**t, x**-t):
        program = bound_program((power,), leaf_errors={x: sp.Integer(0)})
        bound_of = compile_program(program.assignments, (program.error,))
        for steps in (3, 12, 40):
            values = {"x": base.astype(np.float64), "t": steps}
            (exact,) = compile_expressions((power,))(values)
            (bound,) = bound_of({**values, UNIT_ROUNDOFF.name: U32})
            computed = np.float32(1) / base**steps if power.exp.could_extract_minus_sign() else base**steps
            assert computed.dtype == np.float32
            error = np.abs(computed.astype(np.float64) - exact)
            assert np.any(error > 0)  # there is rounding to cover
            assert np.all(error <= bound), (power, steps, float(np.max(error / bound)))
            # Of the order of the roundings, not a blanket: within 4 t units.
            assert np.all(bound <= 4 * (steps + 1) * U32 * np.abs(exact))
