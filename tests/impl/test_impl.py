"""The bundled NumPy implementations, checked independently of the verifier.

Expected values here come from finite differences, from NumPy's own reductions, or from the
homework formulas worked by hand with concrete numbers; none is copied from the code under test.
"""

from __future__ import annotations

import doctest
import importlib
from types import SimpleNamespace

import numpy as np
import pytest
from eqconform.impl import Adam, AdamW, Dropout, LayerNorm, Linear

IMPL_MODULES = ["eqconform.impl.adam", "eqconform.impl.dropout", "eqconform.impl.layernorm", "eqconform.impl.linear"]


@pytest.mark.parametrize("name", IMPL_MODULES)
def test_doctests_pass(name):
    module = importlib.import_module(name)
    state = np.random.get_state()
    try:
        result = doctest.testmod(module, verbose=False, report=False)
    finally:
        np.random.set_state(state)
    assert result.attempted > 0, f"{name} has no doctests"
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctests of {name} failed"


# --------------------------------------------------------------------------- LayerNorm

SHAPES = [(1, 1), (4, 1), (1, 5), (3, 3), (5, 4), (2, 7)]


def _layer(rng: np.random.Generator, features: int, eps: float = 1e-5) -> LayerNorm:
    layer = LayerNorm(features, eps=eps)
    layer.gamma = rng.uniform(0.5, 2.0, size=(1, features))
    layer.beta = rng.normal(size=(1, features))
    return layer


def _loss(layer: LayerNorm, Z: np.ndarray, G: np.ndarray) -> float:
    """A scalar loss whose gradient with respect to the output is G."""
    return float(np.sum(G * layer.forward(Z)))


def _central_difference(f, array: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + h
        up = f()
        array[index] = saved - h
        down = f()
        array[index] = saved
        grad[index] = (up - down) / (2 * h)
    return grad


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"N{s[0]}xC{s[1]}")
def test_layernorm_forward_normalizes_rows(shape):
    rng = np.random.default_rng(1)
    Z = rng.normal(3.0, 2.0, size=shape)
    layer = LayerNorm(shape[1], eps=1e-12)
    out = layer.forward(Z)
    expected = (Z - Z.mean(axis=1, keepdims=True)) / np.sqrt(Z.var(axis=1, keepdims=True) + 1e-12)
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-12)
    if shape[1] > 1:
        np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
        np.testing.assert_allclose(out.var(axis=1), 1, rtol=1e-9)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"N{s[0]}xC{s[1]}")
def test_layernorm_backward_matches_finite_differences(shape):
    rng = np.random.default_rng(sum(shape))
    features = shape[1]
    layer = _layer(rng, features)
    Z = rng.normal(1.0, 1.5, size=shape)
    G = rng.normal(size=shape)

    layer.forward(Z)
    dLdZ = layer.backward(G)
    dLdgamma, dLdbeta = layer.dLdgamma.copy(), layer.dLdbeta.copy()
    assert dLdZ.shape == shape
    assert dLdgamma.shape == dLdbeta.shape == (1, features)

    numeric_Z = _central_difference(lambda: _loss(layer, Z, G), Z)
    numeric_gamma = _central_difference(lambda: _loss(layer, Z, G), layer.gamma)
    numeric_beta = _central_difference(lambda: _loss(layer, Z, G), layer.beta)
    np.testing.assert_allclose(dLdZ, numeric_Z, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dLdgamma, numeric_gamma, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dLdbeta, numeric_beta, rtol=1e-5, atol=1e-7)


def test_finite_difference_check_catches_a_wrong_gradient():
    """The harness above would notice eq. (7) without its last term."""
    rng = np.random.default_rng(0)
    layer = _layer(rng, 4)
    Z, G = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    layer.forward(Z)
    dLdNZ = G * layer.gamma
    truncated = (4 * dLdNZ - dLdNZ.sum(axis=1, keepdims=True)) / (4 * np.sqrt(layer.V + layer.eps))
    numeric = _central_difference(lambda: _loss(layer, Z, G), Z)
    assert not np.allclose(truncated, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("rows", [1, 3])
def test_layernorm_single_feature_outputs_beta_and_zero_gradient(rows):
    rng = np.random.default_rng(rows)
    layer = _layer(rng, 1)
    Z = rng.normal(size=(rows, 1)) * 100
    out = layer.forward(Z)
    np.testing.assert_array_equal(out, np.broadcast_to(layer.beta, (rows, 1)))
    G = rng.normal(size=(rows, 1))
    np.testing.assert_array_equal(layer.backward(G), np.zeros((rows, 1)))
    np.testing.assert_array_equal(layer.dLdgamma, np.zeros((1, 1)))
    np.testing.assert_allclose(layer.dLdbeta, G.sum(axis=0, keepdims=True))


def test_layernorm_large_row_offset_keeps_accuracy():
    """Two-pass variance: a row mean of 1e8 with unit spread still normalizes correctly."""
    rng = np.random.default_rng(3)
    noise = rng.normal(size=(2, 16))
    layer = LayerNorm(16, eps=1e-12)
    shifted = layer.forward(noise + 1e8)
    centred = LayerNorm(16, eps=1e-12).forward(noise)
    np.testing.assert_allclose(shifted, centred, atol=1e-6)


# --------------------------------------------------------------------------- Adam


def _model(W: np.ndarray, b: np.ndarray, dW: np.ndarray, db: np.ndarray) -> tuple[SimpleNamespace, SimpleNamespace]:
    layer = SimpleNamespace(W=W.copy(), b=b.copy(), dLdW=dW.copy(), dLdb=db.copy())
    return SimpleNamespace(layers=[layer]), layer


def test_adam_one_step_by_hand():
    # theta_0 = [1, -2], g_1 = [2, -0.5], lr = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8.
    model, layer = _model(np.array([[1.0, -2.0]]), np.array([[0.5]]), np.array([[2.0, -0.5]]), np.array([[0.0]]))
    optimizer = Adam(model, lr=0.1)
    optimizer.step()
    # m_1 = 0.9 * 0 + 0.1 * g = [0.2, -0.05]
    np.testing.assert_allclose(optimizer.m_W[0], [[0.2, -0.05]], rtol=1e-12)
    # v_1 = 0.999 * 0 + 0.001 * g^2 = [0.004, 0.00025]
    np.testing.assert_allclose(optimizer.v_W[0], [[0.004, 0.00025]], rtol=1e-12)
    # mhat = m_1 / (1 - 0.9) = g = [2, -0.5]; vhat = v_1 / (1 - 0.999) = g^2 = [4, 0.25];
    # sqrt(vhat) = [2, 0.5]; step = 0.1 * [2 / (2 + 1e-8), -0.5 / (0.5 + 1e-8)]
    #   = [0.1 - 5e-10, -(0.1 - 2e-9)] (to first order in eps)
    # theta_1 = [1 - 0.1 + 5e-10, -2 + 0.1 - 2e-9] = [0.9000000005, -1.900000002]
    np.testing.assert_allclose(layer.W, [[0.9000000005, -1.900000002]], rtol=1e-13, atol=0)
    # b: g = 0, so m = v = 0 and the bias does not move.
    np.testing.assert_array_equal(layer.b, [[0.5]])
    assert optimizer.t == 1


def test_adam_two_steps_by_hand():
    """The second step exercises the bias correction with t = 2."""
    model, layer = _model(np.array([[0.0]]), np.array([[0.0]]), np.array([[2.0]]), np.array([[1.0]]))
    optimizer = Adam(model, lr=0.1, eps=0.0)
    optimizer.step()  # theta_1 = 0 - 0.1 * 2 / 2 = -0.1
    np.testing.assert_allclose(layer.W, [[-0.1]], rtol=1e-14)
    layer.dLdW = np.array([[1.0]])
    optimizer.step()
    # m_2 = 0.9 * 0.2 + 0.1 * 1 = 0.28;  v_2 = 0.999 * 0.004 + 0.001 * 1 = 0.004996
    # mhat = 0.28 / (1 - 0.81) = 0.28 / 0.19; vhat = 0.004996 / (1 - 0.998001) = 0.004996 / 0.001999
    mhat, vhat = 0.28 / 0.19, 0.004996 / 0.001999
    expected = -0.1 - 0.1 * mhat / vhat**0.5  # = -0.1 - 0.1 * 1.473684 / 1.580901 = -0.193218
    assert abs(expected - (-0.193218)) < 1e-6
    np.testing.assert_allclose(layer.W, [[expected]], rtol=1e-12)
    assert optimizer.t == 2


def test_adam_keeps_moments_per_layer():
    layers = [SimpleNamespace(W=np.zeros((2, 3)), b=np.zeros((2, 1)), dLdW=np.full((2, 3), 1.0), dLdb=np.ones((2, 1))),
              SimpleNamespace(W=np.zeros((1, 2)), b=np.zeros((1, 1)), dLdW=np.full((1, 2), -3.0), dLdb=np.ones((1, 1)))]
    optimizer = Adam(SimpleNamespace(layers=layers), lr=0.01)
    optimizer.step()
    np.testing.assert_allclose(optimizer.m_W[0], 0.1 * np.ones((2, 3)))
    np.testing.assert_allclose(optimizer.m_W[1], -0.3 * np.ones((1, 2)))
    # sign(g) * lr, each layer with its own gradient
    np.testing.assert_allclose(layers[0].W, -0.01, rtol=1e-6)
    np.testing.assert_allclose(layers[1].W, 0.01, rtol=1e-6)


def test_adamw_decays_previous_weights():
    # Same first step as test_adam_one_step_by_hand, plus weight decay 0.5:
    # theta_adam = [0.9000000005, -1.900000002]; decay = lr * lambda * theta_0 = 0.05 * [1, -2]
    # theta_1 = [0.9000000005 - 0.05, -1.900000002 + 0.1] = [0.8500000005, -1.800000002]
    # (decaying the updated weights instead would give 0.95 * theta_adam = [0.855, -1.805]).
    model, layer = _model(np.array([[1.0, -2.0]]), np.array([[0.5]]), np.array([[2.0, -0.5]]), np.array([[0.0]]))
    AdamW(model, lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(layer.W, [[0.8500000005, -1.800000002]], rtol=1e-13)
    # The bias is decayed too: it has no gradient, so only 0.5 - 0.05 * 0.5 remains.
    np.testing.assert_allclose(layer.b, [[0.475]], rtol=1e-14)


def test_adamw_without_decay_is_adam():
    rng = np.random.default_rng(4)
    W, b = rng.normal(size=(3, 2)), rng.normal(size=(3, 1))
    plain_model, plain = _model(W, b, np.zeros_like(W), np.zeros_like(b))
    decayed_model, decayed = _model(W, b, np.zeros_like(W), np.zeros_like(b))
    adam, adamw = Adam(plain_model, lr=0.01), AdamW(decayed_model, lr=0.01, weight_decay=0.0)
    for _ in range(3):
        gW, gb = rng.normal(size=W.shape), rng.normal(size=b.shape)
        plain.dLdW, plain.dLdb, decayed.dLdW, decayed.dLdb = gW, gb, gW.copy(), gb.copy()
        adam.step()
        adamw.step()
    np.testing.assert_array_equal(plain.W, decayed.W)
    np.testing.assert_array_equal(plain.b, decayed.b)


# --------------------------------------------------------------------------- Dropout


def test_dropout_eval_is_identity():
    x = np.random.default_rng(0).normal(size=(4, 5))
    out = Dropout(p=0.9).forward(x, train=False)
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.8])
def test_dropout_train_values_are_zero_or_rescaled(p):
    np.random.seed(12)
    x = np.random.default_rng(1).uniform(1.0, 2.0, size=(50, 40))  # no zeros in x
    layer = Dropout(p=p)
    y = layer.forward(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-15)
    assert np.all(y[~kept] == 0)
    # The drop fraction is p within 6 standard deviations (2000 entries).
    sd = np.sqrt(p * (1 - p) / x.size)
    assert abs((~kept).mean() - p) <= 6 * sd + 1e-12


def test_dropout_draws_a_fresh_mask_each_call():
    np.random.seed(5)
    layer = Dropout(p=0.5)
    x = np.ones((20, 20))
    first, second = layer.forward(x), layer.forward(x)
    assert not np.array_equal(first, second)


def test_dropout_backward_uses_forward_mask():
    np.random.seed(7)
    layer = Dropout(p=0.3)
    x = np.random.default_rng(2).uniform(1.0, 2.0, size=(10, 12))
    y = layer.forward(x)
    delta = np.random.default_rng(3).normal(size=x.shape)
    kept = y != 0
    np.testing.assert_allclose(layer.backward(delta), np.where(kept, delta / 0.7, 0.0), rtol=1e-15)


def test_dropout_backward_before_forward_raises():
    with pytest.raises(RuntimeError):
        Dropout(p=0.5).backward(np.ones((2, 2)))


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan")])
def test_dropout_rejects_invalid_p(p):
    with pytest.raises(ValueError, match="Dropout probability"):
        Dropout(p=p)


# --------------------------------------------------------------------------- Linear


@pytest.mark.parametrize(("batch", "inputs", "outputs"), [(1, 1, 1), (4, 3, 2), (3, 3, 3), (2, 5, 7)])
def test_linear_shapes_and_values(batch, inputs, outputs):
    rng = np.random.default_rng(batch * 100 + inputs * 10 + outputs)
    layer = Linear(inputs, outputs, rng=rng)
    layer.b = rng.normal(size=(outputs, 1))
    assert layer.W.shape == (outputs, inputs) and layer.b.shape == (outputs, 1)
    A = rng.normal(size=(batch, inputs))
    Z = layer.forward(A)
    assert Z.shape == (batch, outputs)
    for n in range(batch):
        for o in range(outputs):
            assert Z[n, o] == pytest.approx(sum(A[n, k] * layer.W[o, k] for k in range(inputs)) + layer.b[o, 0])
    dLdZ = rng.normal(size=(batch, outputs))
    dLdA = layer.backward(dLdZ)
    assert dLdA.shape == A.shape
    assert layer.dLdW.shape == layer.W.shape and layer.dLdb.shape == layer.b.shape
    numeric_W = _central_difference(lambda: float(np.sum(dLdZ * layer.forward(A))), layer.W)
    numeric_b = _central_difference(lambda: float(np.sum(dLdZ * layer.forward(A))), layer.b)
    numeric_A = _central_difference(lambda: float(np.sum(dLdZ * layer.forward(A))), A)
    np.testing.assert_allclose(layer.dLdW, numeric_W, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(layer.dLdb, numeric_b, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dLdA, numeric_A, rtol=1e-6, atol=1e-8)


def test_linear_backward_before_forward_raises():
    with pytest.raises(RuntimeError):
        Linear(2, 2).backward(np.ones((1, 2)))
