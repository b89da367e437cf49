"""Multiplicative noise (EECS 182 Final Exam, Q5): exact checks of the losses, statistical
checks of the sampler.

Exact (Hypothesis): the loss of one draw ``||y - (R o X) w||^2`` on a drawn R, the column norms
Gamma, and the closed-form expected loss, each against its spec (samples along axis 0,
features along axis 1).

Statistical, at false-alarm probability 1e-6 per test, with every expected number computed
from the specs (``sympy.stats`` on the draw's distribution, the closed form compiled):

- ``noise.draw``: 10^5 Gaussian draws at (mu, sigma) = (1, 0.5) and (-0.3, 2): mean, variance
  (its spread from the spec's fourth central moment) and independence of neighbouring entries;
- ``noise.dropout_draw``: 10^5 Bernoulli draws at kappa = 0.3 and 0.8: every draw is 0 or 1, an
  exact binomial test of the rate, and independence of neighbours (joint rate kappa^2);
- ``noise.expected_loss``: the mean loss of 20 000 draws (the sampler's empirical loss) against
  the spec's closed form, for Gaussian noise and for the Bernoulli (dropout) case with
  mu = E[R], sigma^2 = Var[R] from ``noise.dropout_draw``.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

import numpy as np
import sympy as sp
from sympy import stats

from eqconform.specs import moments
from eqconform.specs import noise as specs

from ..graph import SpecGraph, SpecUse
from ..judge import Record
from ..results import Outcome, StatisticalTest
from ..search import SearchSettings
from ..statistics import covariance_test, mean_test, rate_test, variance_test
from ..strategies.arrays import ArrayRecipe
from ..strategies.noise import NoiseInput, noise_inputs
from .base import CheckOutcome, Statistics
from .oracle import OracleSearch
from .table import Cases, Component, SpecCheck, searched_alone

__all__ = ["NOISE", "NoiseAdapter"]


# What the checks ask of a target: the protocol of this component's adapter. A key marked "if
# exposed" is left out when the implementation keeps no such value.


class NoiseAdapter(Protocol):
    """Multiplicative noise on the features of a least-squares problem."""

    def draw(self, shape: tuple[int, ...], mu: float, sigma: float, seed: int) -> np.ndarray:
        """Gaussian noise of mean ``mu`` and standard deviation ``sigma``."""
        ...

    def draw_bernoulli(self, shape: tuple[int, ...], keep: float, seed: int) -> np.ndarray:
        """Bernoulli noise that keeps a feature with probability ``keep``."""
        ...

    def perturbed_loss(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, R: np.ndarray) -> float:
        """The loss of ``w`` on the features ``X`` perturbed by the noise ``R``."""
        ...

    def gamma(self, X: np.ndarray) -> np.ndarray:
        """The column norms of ``X``."""
        ...

    def expected_loss(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, mu: float, sigma: float
    ) -> float:
        """The loss in expectation over Gaussian noise, in closed form."""
        ...

    def empirical_losses(
        self,
        X: np.ndarray,
        y: np.ndarray,
        w: np.ndarray,
        mu: float,
        sigma: float,
        draws: int,
        seed: int,
    ) -> np.ndarray:
        """The perturbed loss under ``draws`` Gaussian draws."""
        ...

    def empirical_bernoulli_losses(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, keep: float, draws: int, seed: int
    ) -> np.ndarray:
        """The perturbed loss under ``draws`` Bernoulli draws."""
        ...


SHAPE = (200, 500)
GAUSSIAN_SETTINGS = ((1.0, 0.5), (-0.3, 2.0))
KEEP_SETTINGS = (0.3, 0.8)
LOSS_DRAWS = 20_000


def _observe(adapter: Any, case: NoiseInput, graph: SpecGraph) -> list[Record]:
    X, y, w, R = case.X, case.y, case.w, case.R
    ell = adapter.perturbed_loss(X.copy(), y.copy(), w.copy(), R.copy())
    gamma = adapter.gamma(X.copy())
    expected = adapter.expected_loss(X.copy(), y.copy(), w.copy(), case.mu, case.sigma)
    values = {
        "X": X,
        "y": y[:, None],
        "w": w[None, :],
        "R": R,
        "mu": case.mu,
        "sigma": case.sigma,
        "ell": np.reshape(np.asarray(ell, dtype=np.float64), (1, 1)),
        "Gamma": np.asarray(gamma)[None, :] if np.ndim(gamma) == 1 else np.asarray(gamma),
        "Lexp": np.reshape(np.asarray(expected, dtype=np.float64), (1, 1)),
    }
    label = f"a {X.shape[0]} x {X.shape[1]} regression problem"
    return [Record(label, values, frozenset({"ell", "Gamma", "Lexp"}), case.dtype)]


def _separating_input() -> NoiseInput:
    f64 = np.dtype(np.float64)
    return NoiseInput(
        f64,
        ArrayRecipe((6, 3), f64, seed=1),
        ArrayRecipe((6,), f64, seed=2),
        ArrayRecipe((3,), f64, seed=3),
        ArrayRecipe((6, 3), f64, seed=4),
        0.7,
        0.4,
    )


@functools.cache
def _gaussian_laws() -> dict[str, Any]:
    """Mean, variance and fourth central moment of noise.draw, as functions of (mu, sigma)."""
    draw = specs.DRAW.canonical.relations[specs.R[specs.i, specs.j]]
    mean = moments.moment(draw, 1)
    variance = sp.simplify(moments.moment(draw, 2) - mean**2)
    fourth = sp.simplify(stats.E((draw - mean) ** 4))
    other = stats.Normal("R_other", specs.mu, specs.sigma)
    covariance = moments.covariance(draw, other)
    args = (specs.mu, specs.sigma)
    return {
        name: sp.lambdify(args, expr, modules="numpy")
        for name, expr in (
            ("mean", mean),
            ("variance", variance),
            ("fourth", fourth),
            ("covariance", covariance),
        )
    }


@functools.cache
def _bernoulli_laws() -> dict[str, Any]:
    """P(R = 1), the support, mean and variance of noise.dropout_draw as functions of kappa."""
    draw = specs.DROPOUT_DRAW.canonical.relations[specs.R[specs.i, specs.j]]
    mean = moments.moment(draw, 1)
    variance = sp.factor(moments.moment(draw, 2) - mean**2)
    support = sorted(float(value) for value in stats.density(draw).dict)
    return {
        "one": sp.lambdify(specs.keep, stats.P(sp.Eq(draw, 1)), modules="numpy"),
        "mean": sp.lambdify(specs.keep, mean, modules="numpy"),
        "variance": sp.lambdify(specs.keep, variance, modules="numpy"),
        "support": support,
    }


def _gaussian_draws(adapter: Any, options: SearchSettings) -> list[StatisticalTest]:
    """noise.draw: mean, variance and independence of neighbours at each Gaussian setting."""
    laws = _gaussian_laws()
    tests = []
    for index, (mu, sigma) in enumerate(GAUSSIAN_SETTINGS):
        R = np.asarray(adapter.draw(SHAPE, mu, sigma, options.seed + index), dtype=np.float64)
        mean, variance = float(laws["mean"](mu, sigma)), float(laws["variance"](mu, sigma))
        where = f"mu = {mu:g}, sigma = {sigma:g}"
        tests.append(mean_test(f"E[R_ij] at {where}", R, mean, variance))
        tests.append(
            variance_test(
                f"Var[R_ij] at {where}", R, mean, variance, float(laws["fourth"](mu, sigma))
            )
        )
        tests.append(
            covariance_test(
                f"neighbouring R_ij independent at {where}",
                R[:, 0::2],
                R[:, 1::2],
                (mean, mean),
                float(laws["covariance"](mu, sigma)),
            )
        )
    return tests


def _bernoulli_draws(adapter: Any, options: SearchSettings) -> list[StatisticalTest] | CheckOutcome:
    """noise.dropout_draw: every draw in the support, the rate of ones and independence of
    neighbours at each keep probability."""
    laws = _bernoulli_laws()
    tests = []
    for index, keep in enumerate(KEEP_SETTINGS):
        R = np.asarray(adapter.draw_bernoulli(SHAPE, keep, options.seed + index), dtype=np.float64)
        outside = int(np.count_nonzero(~np.isin(R, laws["support"])))
        if outside:
            return CheckOutcome(
                Outcome.FAIL,
                examples=R.size,
                message=f"{outside} draws at kappa = {keep} are not in {laws['support']}",
                counterexample=f"draw_bernoulli({SHAPE}, {keep})",
            )
        one = float(laws["one"](keep))
        ones = R == laws["support"][-1]
        tests.append(
            rate_test(
                f"P(R_ij = 1) at kappa = {keep}", "ones", int(np.count_nonzero(ones)), R.size, one
            )
        )
        tests.append(
            rate_test(
                f"neighbours independent at kappa = {keep}",
                "both of (2j, 2j+1) equal 1",
                int(np.count_nonzero(ones[:, 0::2] & ones[:, 1::2])),
                ones[:, 0::2].size,
                one * one,
            )
        )
    return tests


def _loss_tests(adapter: Any, options: SearchSettings) -> list[StatisticalTest]:
    """noise.expected_loss: the mean loss of many draws against the closed form, for Gaussian
    and for Bernoulli (dropout) noise."""
    rng = np.random.default_rng(options.seed)
    X, y, w = rng.standard_normal((6, 4)), rng.standard_normal(6), rng.standard_normal(4)
    problem = {"X": X, "y": y[:, None], "w": w[None, :]}
    tests = []
    mu, sigma = 0.8, 0.6
    losses = np.asarray(
        adapter.empirical_losses(X, y, w, mu, sigma, LOSS_DRAWS, options.seed), dtype=np.float64
    )
    expected = float(_EXACT.graph.evaluate("Lexp", {**problem, "mu": mu, "sigma": sigma}).item())
    tests.append(
        mean_test(f"mean loss of Gaussian noise at mu = {mu}, sigma = {sigma}", losses, expected)
    )
    laws, keep = _bernoulli_laws(), 0.7
    losses = np.asarray(
        adapter.empirical_bernoulli_losses(X, y, w, keep, LOSS_DRAWS, options.seed + 1),
        dtype=np.float64,
    )
    mean, variance = float(laws["mean"](keep)), float(laws["variance"](keep))
    expected = float(
        _EXACT.graph.evaluate("Lexp", {**problem, "mu": mean, "sigma": np.sqrt(variance)}).item()
    )
    tests.append(
        mean_test(
            f"mean loss of Bernoulli (dropout) noise at kappa = {keep} (mu = {mean:g}, "
            f"sigma^2 = {variance:g})",
            losses,
            expected,
        )
    )
    return tests


_EXACT = OracleSearch(
    graph=SpecGraph(
        [SpecUse(spec) for spec in (specs.PERTURBED_LOSS, specs.GAMMA, specs.EXPECTED_LOSS)]
    ),
    cases=lambda: noise_inputs(),
    explicit=lambda: [_separating_input()],
    observe=_observe,
)

NOISE = Component(
    "noise",
    "noise",
    {
        **searched_alone(_EXACT),
        specs.EXPECTED_LOSS.id: SpecCheck(
            _EXACT,
            Statistics(
                _loss_tests,
                "the empirical loss of the sampler",
                counterexample=f"the mean loss of {LOSS_DRAWS} draws on a fixed 6 x 4 problem",
                after=frozenset({Outcome.PASS}),
            ),
        ),
        specs.DRAW.id: SpecCheck(
            statistics=Statistics(
                _gaussian_draws,
                "the Gaussian draws",
                counterexample=f"draw({SHAPE}, mu, sigma) at {GAUSSIAN_SETTINGS}",
                examples=len(GAUSSIAN_SETTINGS) * int(np.prod(SHAPE)),
            )
        ),
        specs.DROPOUT_DRAW.id: SpecCheck(
            statistics=Statistics(
                _bernoulli_draws,
                "the Bernoulli draws",
                counterexample=f"draw_bernoulli({SHAPE}, kappa) at {KEEP_SETTINGS}",
                examples=len(KEEP_SETTINGS) * int(np.prod(SHAPE)),
            )
        ),
    },
    protocol=NoiseAdapter,
    cases=Cases(NoiseInput, "noise_inputs()"),
)
