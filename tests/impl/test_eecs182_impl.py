"""The EECS 182 NumPy implementations, checked independently of the verifier.

Expected values come from finite differences, from the documents' worked examples, from NumPy's
own linear algebra or from large samples; none is copied from the code under test.
"""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
from eqconform.impl import (
    WeightDecayAdam,
    ArgmaxAttention,
    ForwardDiffusion,
    KernelAttention,
    LinearAttention,
    LinearAutoencoder,
    MultiplicativeNoise,
    SoftmaxAttention,
    alpha_from_eta,
    cumulative_alphas,
    gamma,
    quadratic_feature_map,
)

MODULES = ["eqconform.impl.attention", "eqconform.impl.noise", "eqconform.impl.diffusion",
           "eqconform.impl.autoencoder", "eqconform.impl.weight_decay"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests_pass(name):
    result = doctest.testmod(importlib.import_module(name), verbose=False, report=False)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------- attention


def test_softmax_attention_rows_are_distributions_and_scale_by_sqrt_d():
    rng = np.random.default_rng(0)
    Q, K, V = rng.normal(size=(3, 16)), rng.normal(size=(5, 16)), rng.normal(size=(5, 2))
    layer = SoftmaxAttention()
    out = layer.forward(Q, K, V)
    np.testing.assert_allclose(layer.weights.sum(axis=1), 1.0)
    np.testing.assert_allclose(layer.scores * 4.0, Q @ K.T)  # sqrt(16) = 4
    np.testing.assert_allclose(out, layer.weights @ V)
    # Shifting every score of a row by a constant (a key-independent query offset) changes nothing,
    # even a shift far past where exp overflows (exp(2500) is inf in float64): an extra feature
    # that is 1 for every key and c_i for query i adds c_i / sqrt(17) to every score of row i.
    ones = np.ones((5, 1))
    plain = SoftmaxAttention()
    expected = plain.forward(np.hstack([Q, np.zeros((3, 1))]), np.hstack([K, ones]), V)
    offsets = np.array([[1e4], [-1e4], [3.0]])
    shifted = SoftmaxAttention()
    out = shifted.forward(np.hstack([Q, offsets]), np.hstack([K, ones]), V)
    np.testing.assert_allclose(shifted.scores - plain.scores, np.broadcast_to(offsets / np.sqrt(17.0), (3, 5)),
                               rtol=1e-12)
    np.testing.assert_allclose(shifted.weights, plain.weights, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-12)


def test_argmax_attention_worked_example_and_gradient_free_choice():
    keys = np.array([[1, 2, 0], [0, 3, 4], [5, 0, 0], [0, 0, 1]], dtype=float)
    values = np.array([[2, 0, 1], [1, 4, 3], [0, -1, 4], [1, 0, -1]], dtype=float)
    layer = ArgmaxAttention()
    np.testing.assert_array_equal(layer.forward(np.array([[1.0, 1.0, 2.0]]), keys, values), [[1.0, 4.0, 3.0]])
    np.testing.assert_array_equal(layer.scores, [[3.0, 11.0, 5.0, 2.0]])
    # A small perturbation of the query does not change the winner (Q4(b)).
    np.testing.assert_array_equal(layer.forward(np.array([[1.01, 0.99, 2.0]]), keys, values), [[1.0, 4.0, 3.0]])


@pytest.mark.parametrize("dim", [1, 2, 3, 5])
def test_quadratic_feature_map_reproduces_the_kernel_and_has_the_stated_size(dim):
    rng = np.random.default_rng(dim)
    X, Y = rng.normal(size=(4, dim)), rng.normal(size=(3, dim))
    np.testing.assert_allclose(quadratic_feature_map(X) @ quadratic_feature_map(Y).T, (X @ Y.T + 1) ** 2)
    assert quadratic_feature_map(X).shape == (4, (dim + 1) * (dim + 2) // 2)


def test_linear_attention_equals_kernel_attention():
    rng = np.random.default_rng(3)
    Q, K, V = rng.normal(size=(6, 3)), rng.normal(size=(9, 3)), rng.normal(size=(9, 2))
    np.testing.assert_allclose(LinearAttention().forward(Q, K, V), KernelAttention().forward(Q, K, V), rtol=1e-10)


# --------------------------------------------------------------------------- noise


def test_gaussian_noise_moments_and_expected_loss():
    noise = MultiplicativeNoise(mu=0.8, sigma=0.5, seed=1)
    R = noise.sample((400, 500))
    assert abs(R.mean() - 0.8) < 5 * 0.5 / np.sqrt(R.size)
    assert abs(R.var() - 0.25) < 0.01
    rng = np.random.default_rng(2)
    X, y, w = rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=3)
    losses = noise.empirical_losses(X, y, w, 40_000)
    # The closed form, worked out with NumPy's linear algebra: ||y - mu X w||^2 + sigma^2 w^T diag(X^T X) w.
    expected = np.sum((y - 0.8 * X @ w) ** 2) + 0.25 * w @ np.diag(np.diag(X.T @ X)) @ w
    assert np.isclose(noise.expected_loss(X, y, w), expected)
    assert abs(losses.mean() - expected) < 6 * losses.std() / np.sqrt(losses.size)


def test_bernoulli_noise_is_dropout_without_rescaling():
    noise = MultiplicativeNoise.bernoulli(0.3, seed=4)
    R = noise.sample((300, 300))
    assert set(np.unique(R)) <= {0.0, 1.0}
    assert abs(R.mean() - 0.3) < 0.01
    assert np.isclose(noise.sigma**2, 0.3 * 0.7)
    with pytest.raises(ValueError):
        MultiplicativeNoise.bernoulli(0.0)
    with pytest.raises(ValueError):
        MultiplicativeNoise(kind="laplace")


# --------------------------------------------------------------------------- diffusion


def test_schedule_gamma_and_eta():
    betas = np.array([0.1, 0.2, 0.5])
    np.testing.assert_allclose(cumulative_alphas(betas), [0.9, 0.72, 0.36])
    np.testing.assert_allclose(gamma(0.36, 0.9), 0.4)  # steps 2 and 3: 0.8 * 0.5
    alpha = 0.2
    assert np.isclose(alpha_from_eta((1 - alpha) / alpha), alpha)


def test_marginal_sampler_matches_unrolled_steps_in_distribution():
    betas = np.full(5, 0.2)
    process = ForwardDiffusion(betas, seed=0)
    z0 = np.full(50_000, 2.0)
    z = z0.copy()
    for t in range(1, 6):
        z = process.step(z, t)
    direct = process.sample(z0, 5)
    alpha = 0.8**5
    for sample in (z, direct):
        assert abs(sample.mean() - np.sqrt(alpha) * 2.0) < 0.02
        assert abs(sample.var() - (1 - alpha)) < 0.02
    (noise,) = process.last_noise
    np.testing.assert_allclose(direct, np.sqrt(alpha) * z0 + np.sqrt(1 - alpha) * noise)


def test_pair_sampler_has_the_forward_covariance():
    process = ForwardDiffusion(seed=5)
    z0 = np.zeros(100_000)
    first, second = process.sample_pair(z0, 0.5, 3.0)
    a1, a2 = 1 / 1.5, 1 / 4.0
    assert abs(first.var() - (1 - a1)) < 0.01 and abs(second.var() - (1 - a2)) < 0.01
    assert abs(np.mean(first * second) - np.sqrt(a2 / a1) * (1 - a1)) < 0.01


# --------------------------------------------------------------------------- autoencoder and Algorithm 1


def test_autoencoder_gradients_match_finite_differences():
    rng = np.random.default_rng(7)
    X, W1, W2 = rng.normal(size=(4, 6)), rng.normal(size=(2, 4)), rng.normal(size=(4, 2))
    dW1, dW2 = LinearAutoencoder(W1, W2).gradients(X)
    step = 1e-6

    def loss(encoder: np.ndarray, decoder: np.ndarray) -> float:
        return LinearAutoencoder(encoder, decoder).loss(X)

    for row, col in ((1, 2), (0, 3)):
        up, down = W1.copy(), W1.copy()
        up[row, col] += step
        down[row, col] -= step
        assert np.isclose(dW1[row, col], (loss(up, W2) - loss(down, W2)) / (2 * step), rtol=1e-6)
    for row, col in ((3, 0), (1, 1)):
        up, down = W2.copy(), W2.copy()
        up[row, col] += step
        down[row, col] -= step
        assert np.isclose(dW2[row, col], (loss(W1, up) - loss(W1, down)) / (2 * step), rtol=1e-6)


def test_principal_components_are_stationary():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(5, 40)) * np.array([[3.0], [2.0], [1.5], [1.0], [0.5]])
    X -= X.mean(axis=1, keepdims=True)
    eigenvalues, eigenvectors = np.linalg.eigh(X @ X.T / X.shape[1])
    top = eigenvectors[:, np.argsort(eigenvalues)[::-1][:2]]
    dW1, dW2 = LinearAutoencoder(top.T, top).gradients(X)
    assert np.abs(dW1).max() < 1e-10 and np.abs(dW2).max() < 1e-10


def test_algorithm1_decay_and_l2_without_momentum():
    theta, grad = np.array([1.5, -1.0]), np.array([0.3, 0.4])
    decay = WeightDecayAdam(lr=0.1, beta1=0.0, beta2=0.5, weight_decay=0.2, decoupled=True)
    new = decay.step(theta, grad)
    np.testing.assert_allclose(new, (1 - 0.2) * theta - 0.1 * grad / np.sqrt(0.5 * grad**2))
    l2 = WeightDecayAdam(lr=0.1, beta1=0.0, beta2=0.5, weight_decay=0.2, decoupled=False)
    effective = grad + 0.2 * theta
    np.testing.assert_allclose(l2.step(theta, grad), theta - 0.1 * effective / np.sqrt(0.5 * effective**2))
