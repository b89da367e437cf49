"""The forward diffusion (EECS 182 Final Exam, Q10): the schedule exactly, the samplers exactly
(when they expose their standard-normal draws) and statistically.

Exact (Hypothesis): ``alpha_t`` against the cumulative product of ``diffusion.alpha`` (array
form through :func:`eqconform.verify.compiler.lower`), ``gamma`` from the target's own alphas at a
drawn pair t < tau, ``alpha(eta)`` of eq. (8), and every sampler's output against its
reparameterized equation at the draws it reports.

Statistical, at false-alarm probability 1e-6 per test: 20 000 draws of each sampler from a
fixed z_0 (from -1 to 3); the standardized sample ``(z - E[z]) / sd(z)`` must have mean 0 and
variance 1 (the variance's spread from the spec's fourth moment), and for the two-time sampler
the correlation of the pair must be Cov[z_1, z_2] / (sd sd). Every E, sd, fourth moment and Cov
is computed with ``sympy.stats`` from the spec's relation with its draws as standard normals
(``diffusion.sampled``). A sampler using alpha where the equation has sqrt(alpha) fails the
mean test (and the variance test).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import sympy as sp
from sympy.stats.rv import RandomSymbol

from eqconform.specs import diffusion as specs
from eqconform.specs import moments

from ..graph import SpecGraph, SpecUse
from ..judge import Record
from ..results import StatisticalTest
from ..search import SearchSettings
from ..statistics import covariance_test, mean_test, variance_test
from ..strategies.arrays import ArrayRecipe
from ..strategies.diffusion import DiffusionInput, diffusion_inputs
from .base import Statistics
from .oracle import OracleSearch
from .table import Cases, Component, SpecCheck, searched_alone

__all__ = ["DIFFUSION", "DiffusionAdapter"]


# What the checks ask of a target: the protocol of this component's adapter. A key marked "if
# exposed" is left out when the implementation keeps no such value.


class DiffusionAdapter(Protocol):
    """The forward diffusion process. Each sampler returns its sample and the Gaussian noise it
    drew (``None`` if not exposed)."""

    def alphas(self, betas: np.ndarray) -> np.ndarray:
        """The cumulative products of ``1 - betas``."""
        ...

    def gamma(self, alpha_tau: np.ndarray, alpha_t: np.ndarray) -> np.ndarray:
        """The signal coefficient ``alpha_tau / alpha_t`` of ``q(z_tau | z_t)``."""
        ...

    def alpha_from_eta(self, eta: np.ndarray) -> np.ndarray:
        """``1 / (eta + 1)`` for the noise-to-signal ratio ``eta``."""
        ...

    def step(
        self, z_prev: np.ndarray, beta: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """One step of the process from ``z_prev`` with variance ``beta``."""
        ...

    def marginal(
        self, z0: np.ndarray, alpha: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """A sample of the marginal at cumulative ``alpha``, straight from ``z0``."""
        ...

    def pair(
        self, z0: np.ndarray, eta1: float, eta2: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Two samples ``(z1, z2)`` of one trajectory, and the noises ``(V1, V2)`` if exposed."""
        ...


SAMPLES = 20_000
#: (name of the setting, values) for the statistical tests of each sampler.
STEP_SETTINGS = ({"beta_t": 0.3}, {"beta_t": 0.02})
MARGINAL_SETTINGS = ({"abar_t": 0.5}, {"abar_t": 0.05}, {"abar_t": 0.95})
PAIR_SETTINGS = ({"eta1": 0.5, "eta2": 3.0}, {"eta1": 0.05, "eta2": 0.1})


def _observe(adapter: Any, case: DiffusionInput, graph: SpecGraph) -> list[Record]:
    dtype, z0 = case.dtype, case.z0
    records = []
    alphas = np.asarray(adapter.alphas(case.betas.copy()))
    records.append(
        Record(
            f"alphas of a {case.steps}-step schedule",
            {"beta": case.betas, "abar": alphas},
            frozenset({"abar"}),
            dtype,
        )
    )
    earlier, later = case.times
    if alphas.shape == (case.steps,):
        pair = {"abar_tau": alphas[later - 1], "abar_t": alphas[earlier - 1]}
        gamma = np.asarray(adapter.gamma(pair["abar_tau"], pair["abar_t"]))
        records.append(
            Record(
                f"gamma from t = {earlier} to tau = {later}",
                {**pair, "gam": gamma},
                frozenset({"gam"}),
                dtype,
            )
        )
    etas = np.array(case.etas, dtype=dtype)
    records.append(
        Record(
            "alpha of eta_1, eta_2",
            {"eta": etas, "abar_eta": np.asarray(adapter.alpha_from_eta(etas.copy()))},
            frozenset({"abar_eta"}),
            dtype,
        )
    )
    beta = float(case.betas[0])
    sample, noise = adapter.step(z0.copy(), beta, case.seed)
    if noise is not None:
        records.append(
            Record(
                f"one step at beta = {beta:g}",
                {"z_prev": z0, "beta_t": beta, "noise_step": noise, "z_next": sample},
                frozenset({"z_next"}),
                dtype,
            )
        )
    sample, noise = adapter.marginal(z0.copy(), case.alpha, case.seed)
    if noise is not None:
        records.append(
            Record(
                f"z_t given z_0 at alpha = {case.alpha:g}",
                {"z0": z0, "abar_t": case.alpha, "noise": noise, "zt": sample},
                frozenset({"zt"}),
                dtype,
            )
        )
    first, second, draws = adapter.pair(z0.copy(), case.etas[0], case.etas[1], case.seed)
    if draws is not None:
        values = {
            "z0": z0,
            "eta1": case.etas[0],
            "eta2": case.etas[1],
            "V1": draws[0],
            "V2": draws[1],
            "z1": first,
            "z2": second,
        }
        records.append(
            Record(f"the pair at eta = {case.etas}", values, frozenset({"z1", "z2"}), dtype)
        )
    return records


def _separating_input() -> DiffusionInput:
    f64 = np.dtype(np.float64)
    return DiffusionInput(
        f64, 20, 7, 0.2, ArrayRecipe((8, 3), f64, seed=5, scale=3.0), 0.3, (4, 17), (0.5, 4.0), 11
    )


@functools.cache
def _laws(spec_id: str, quantity: str, others: tuple[str, ...] = ()) -> dict[str, Any]:
    """E and sd of a sampler's output (and Cov with ``others``) as functions of the spec's
    deterministic symbols, by sympy.stats on the relation with its draws substituted."""
    spec = next(s for s in specs.SPECS if s.id == spec_id)
    sample = specs.sampled(spec, quantity)
    partners = {other: specs.sampled(spec, other) for other in others}
    symbols = set().union(sample.free_symbols, *(p.free_symbols for p in partners.values()))
    inputs = sorted((s for s in symbols if not isinstance(s, RandomSymbol)), key=str)
    mean, variance = moments.expectation(sample), moments.variance(sample)
    laws = {
        "spec": spec_id,
        "quantity": quantity,
        "inputs": tuple(str(symbol) for symbol in inputs),
        "mean": sp.lambdify(inputs, mean, modules="numpy"),
        "sd": sp.lambdify(inputs, sp.sqrt(variance), modules="numpy"),
    }
    for other, partner in partners.items():
        laws[f"cov_{other}"] = sp.lambdify(
            inputs, moments.covariance(sample, partner), modules="numpy"
        )
    return laws


def _evaluate(law: Any, names: tuple[str, ...], values: dict[str, Any]) -> Any:
    return law(*(values[name] for name in names))


@functools.cache
def _kurtosis(spec_id: str, quantity: str, setting: tuple[tuple[str, float], ...]) -> float:
    """E[(z - E z)^4] / Var[z]^2 of a sampler's output at a setting, by sympy.stats on the spec
    (z_0 shifts the mean only, so it is set to 0)."""
    spec = next(s for s in specs.SPECS if s.id == spec_id)
    sample = specs.sampled(spec, quantity)
    numbers = {symbol: 0 for symbol in sample.free_symbols if str(symbol) in ("z0", "z_prev")}
    numbers |= {
        symbol: sp.Float(dict(setting)[str(symbol)])
        for symbol in sample.free_symbols
        if str(symbol) in dict(setting)
    }
    sample = sample.xreplace(numbers)
    centred = sample - moments.expectation(sample)
    return float(moments.expectation(centred**4) / moments.expectation(centred**2) ** 2)


def _standardized_tests(
    name: str, sample: np.ndarray, laws: dict[str, Any], values: dict[str, Any]
) -> list[StatisticalTest]:
    """Mean 0 and variance 1 of the sample standardized with the spec's E and sd; the variance's
    spread uses the spec's kurtosis (3: the samplers are Gaussian)."""
    mean, sd = (
        _evaluate(laws["mean"], laws["inputs"], values),
        _evaluate(laws["sd"], laws["inputs"], values),
    )
    setting = tuple(
        sorted((key, float(value)) for key, value in values.items() if np.ndim(value) == 0)
    )
    kurtosis = _kurtosis(laws["spec"], laws["quantity"], setting)
    standardized = (np.asarray(sample, dtype=np.float64) - mean) / sd
    return [
        mean_test(f"E[{name}]", standardized, 0.0, 1.0),
        variance_test(f"Var[{name}]", standardized, 0.0, 1.0, kurtosis),
    ]


#: Draws from one fixed z_0 each (not symmetric, so a wrong mean shows).
_Z0 = np.linspace(-1.0, 3.0, SAMPLES)


def _sample_tests(
    adapter: Any,
    options: SearchSettings,
    *,
    sampler: str,
    spec_id: str,
    quantity: str,
    start: str,
    settings: Sequence[dict[str, float]],
    shown: str,
) -> list[StatisticalTest]:
    """A one-draw sampler (``adapter.<sampler>(z_0, parameter, seed)``) at each setting of its
    parameter, standardized with the spec's law of ``quantity`` (``start`` names z_0 there)."""
    rng = np.random.default_rng(options.seed)
    laws = _laws(spec_id, quantity)
    tests: list[StatisticalTest] = []
    for setting in settings:
        (value,) = setting.values()
        sample, _ = getattr(adapter, sampler)(_Z0.copy(), value, int(rng.integers(2**31)))
        tests += _standardized_tests(
            f"z_t at {shown} = {value}", sample, laws, {start: _Z0, **setting}
        )
    return tests


_step_tests = functools.partial(
    _sample_tests,
    sampler="step",
    spec_id=specs.STEP.id,
    quantity="z_next",
    start="z_prev",
    settings=STEP_SETTINGS,
    shown="beta_t",
)
_marginal_tests = functools.partial(
    _sample_tests,
    sampler="marginal",
    spec_id=specs.MARGINAL.id,
    quantity="zt",
    start="z0",
    settings=MARGINAL_SETTINGS,
    shown="alpha_t",
)


def _pair_tests(adapter: Any, options: SearchSettings) -> list[StatisticalTest]:
    rng = np.random.default_rng(options.seed)
    first_laws, second_laws = (
        _laws(specs.TWO_TIME.id, "z1", ("z2",)),
        _laws(specs.TWO_TIME.id, "z2"),
    )
    tests: list[StatisticalTest] = []
    for setting in PAIR_SETTINGS:
        first, second, _ = adapter.pair(
            _Z0.copy(), setting["eta1"], setting["eta2"], int(rng.integers(2**31))
        )
        values = {"z0": _Z0, **setting}
        where = f"eta = ({setting['eta1']}, {setting['eta2']})"
        mean1 = _evaluate(first_laws["mean"], first_laws["inputs"], values)
        sd1 = _evaluate(first_laws["sd"], first_laws["inputs"], values)
        mean2 = _evaluate(second_laws["mean"], second_laws["inputs"], values)
        sd2 = _evaluate(second_laws["sd"], second_laws["inputs"], values)
        tests += _standardized_tests(f"ztilde(eta_1) at {where}", first, first_laws, values)
        tests += _standardized_tests(f"ztilde(eta_2) at {where}", second, second_laws, values)
        correlation = _evaluate(first_laws["cov_z2"], first_laws["inputs"], values) / (sd1 * sd2)
        tests.append(
            covariance_test(
                f"Corr[ztilde(eta_1), ztilde(eta_2)] at {where}",
                (np.asarray(first) - mean1) / sd1,
                (np.asarray(second) - mean2) / sd2,
                (0.0, 0.0),
                float(np.mean(correlation)),
            )
        )
    return tests


def _sampler_statistics(
    tests: Callable[[Any, SearchSettings], list[StatisticalTest]],
) -> Statistics:
    return Statistics(
        tests,
        "the sampler's draws",
        counterexample=f"{SAMPLES} draws from z_0 = linspace(-1, 3, {SAMPLES})",
    )


_EXACT = OracleSearch(
    graph=SpecGraph(
        [
            SpecUse(specs.STEP, rename={"noise": "noise_step"}),
            SpecUse(specs.ALPHA),
            SpecUse(specs.MARGINAL),
            SpecUse(specs.GAMMA),
            SpecUse(specs.ETA_TO_ALPHA),
            SpecUse(specs.TWO_TIME),
        ]
    ),
    cases=lambda: diffusion_inputs(),
    explicit=lambda: [_separating_input()],
    observe=_observe,
)

DIFFUSION = Component(
    "diffusion",
    "diffusion",
    {
        **searched_alone(_EXACT),
        specs.STEP.id: SpecCheck(_EXACT, _sampler_statistics(_step_tests)),
        specs.MARGINAL.id: SpecCheck(_EXACT, _sampler_statistics(_marginal_tests)),
        specs.TWO_TIME.id: SpecCheck(_EXACT, _sampler_statistics(_pair_tests)),
    },
    protocol=DiffusionAdapter,
    cases=Cases(DiffusionInput, "diffusion_inputs()"),
)
