"""Adapters (the user protocol of eqconform.verify.targets.user) that each misbehave in one way.

Every adapter wraps the bundled, correct NumPy implementation and breaks exactly one thing, so
a test can show the fault is reported with a specific message and nothing else is disturbed.
"""

import os
import sys
import time

import numpy as np

from eqconform import impl


def _layernorm(Z, gamma, beta, eps, G):
    layer = impl.LayerNorm(Z.shape[1], eps=eps)
    layer.gamma, layer.beta = gamma, beta
    out = layer.forward(Z)
    return layer, {"Ztilde": out, "dLdZ": layer.backward(G), "dLdgamma": layer.dLdgamma, "dLdbeta": layer.dLdbeta}


class Correct:
    def layernorm(self, Z, gamma, beta, eps, G):
        return _layernorm(Z, gamma, beta, eps, G)[1]


class Raises(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        raise ZeroDivisionError("planted")


class ReturnsNaN(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        observed = super().layernorm(Z, gamma, beta, eps, G)
        observed["Ztilde"] = np.full_like(observed["Ztilde"], np.nan)
        return observed


class ReturnsInf(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        observed = super().layernorm(Z, gamma, beta, eps, G)
        observed["dLdZ"] = np.full_like(observed["dLdZ"], np.inf)
        return observed


class WrongShape(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        observed = super().layernorm(Z, gamma, beta, eps, G)
        observed["dLdgamma"] = observed["dLdgamma"].ravel()
        return observed


class WrongDtype(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        observed = super().layernorm(Z, gamma, beta, eps, G)
        observed["dLdbeta"] = observed["dLdbeta"].astype(np.int64)
        return observed


class NarrowsItsAnswer(Correct):
    """Answers float64 inputs in float32: judged at float32's looser tolerance it would pass."""

    def layernorm(self, Z, gamma, beta, eps, G):
        observed = super().layernorm(Z, gamma, beta, eps, G)
        observed["Ztilde"] = observed["Ztilde"].astype(np.float32 if Z.dtype == np.float64 else Z.dtype)
        return observed


class EditsItsInput(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        observed = super().layernorm(Z, gamma, beta, eps, G)
        Z -= Z.mean(axis=1, keepdims=True)  # "saves memory" by centering in place
        return observed


class OverwritesGradients:
    def adam(self, layers, hyperparameters):
        return _OverwritingAdam(layers, hyperparameters)


class ReturnsItsOwnArrays:
    """A correct Adam whose answers are its own arrays, which it updates in place later."""

    def adam(self, layers, hyperparameters):
        return _InPlaceAdam(layers, hyperparameters)


class _InPlaceAdam:
    def __init__(self, layers, h):
        self.inner = _OverwritingAdam(layers, h, from_step=10**9)
        self.held = None

    def step(self, gradients):
        answers = self.inner.step(gradients)
        if self.held is None:
            self.held = [{"theta": a["theta"].copy()} for a in answers]
        for mine, answer in zip(self.held, answers):
            mine["theta"][...] = answer["theta"]  # the same arrays, every step
        return self.held


class OverwritesGradientsAtStepThree:
    def adam(self, layers, hyperparameters):
        return _OverwritingAdam(layers, hyperparameters, from_step=3)


class _OverwritingAdam:
    def __init__(self, layers, h, from_step=1):
        from types import SimpleNamespace

        self.layers = [SimpleNamespace(W=W, b=b, dLdW=None, dLdb=None) for W, b in layers]
        self.optimizer = impl.Adam(SimpleNamespace(layers=self.layers), lr=h.lr, beta1=h.beta1, beta2=h.beta2, eps=h.eps)
        self.steps, self.from_step = 0, from_step

    def step(self, gradients):
        self.steps += 1
        for index, layer in enumerate(self.layers):
            layer.dLdW, layer.dLdb = gradients[2 * index], gradients[2 * index + 1]
        self.optimizer.step()
        if self.steps >= self.from_step:
            for gradient in gradients:
                gradient[...] = 0  # "zero_grad" on the caller's arrays
        return [{"theta": p} for layer in self.layers for p in (layer.W, layer.b)]


class Nondeterministic(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        observed = super().layernorm(Z, gamma, beta, eps, G)
        # One ulp of run-to-run noise, as an unordered parallel reduction gives: within any
        # tolerance, but not the same answer twice.
        gradient = observed["dLdZ"]
        observed["dLdZ"] = gradient + np.random.default_rng().choice([-1, 1], gradient.shape) * np.spacing(gradient)
        return observed


class Hangs(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        time.sleep(3600)


class Exits(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        os._exit(7)


class Hoards(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        hoard = []
        while True:
            hoard.append(np.ones(2**24))  # 128 MB at a time, never freed


class ExitsBySystemExit(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        raise SystemExit(3)


class RaisesGeneratorExit(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        raise GeneratorExit("closing")


class RaisesAClassMadeOnTheFly(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        raise type("GradeMeHigher", (Exception,), {"__str__": lambda self: "made on the fly"})()


class InterruptsItself(Correct):
    """Sends itself SIGINT, as a Ctrl-C would: it is the target's exception, not the user's."""

    def layernorm(self, Z, gamma, beta, eps, G):
        import signal

        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
        return super().layernorm(Z, gamma, beta, eps, G)


class Floods(Correct):
    def layernorm(self, Z, gamma, beta, eps, G):
        sys.stdout.write("debug " * 50_000)
        sys.stderr.write("warning " * 50_000)
        return super().layernorm(Z, gamma, beta, eps, G)


class OnePassVariance:
    """LayerNorm with sigma^2 = E[x^2] - E[x]^2: the right formula, computed unstably."""

    def layernorm(self, Z, gamma, beta, eps, G):
        mean = Z.mean(axis=1, keepdims=True)
        variance = np.maximum((Z * Z).mean(axis=1, keepdims=True) - mean * mean, 0)
        normalized = (Z - mean) / np.sqrt(variance + eps)
        return {**_gradients(Z, gamma, beta, eps, G),
                "Ztilde": gamma * normalized + beta, "mu": mean, "sigma2": variance, "Zhat": normalized}


def _gradients(Z, gamma, beta, eps, G):
    """The backward pass of the bundled layer (only the forward statistics are under test)."""
    observed = _layernorm(Z, gamma, beta, eps, G)[1]
    return {key: observed[key] for key in ("dLdZ", "dLdgamma", "dLdbeta")}


class TwoPassVariance:
    """The same layer with the variance computed in two passes."""

    def layernorm(self, Z, gamma, beta, eps, G):
        mean = Z.mean(axis=1, keepdims=True)
        centered = Z - mean
        variance = (centered * centered).mean(axis=1, keepdims=True)
        normalized = centered / np.sqrt(variance + eps)
        return {**_gradients(Z, gamma, beta, eps, G),
                "Ztilde": gamma * normalized + beta, "mu": mean, "sigma2": variance, "Zhat": normalized}
