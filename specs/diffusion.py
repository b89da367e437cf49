r"""The Gaussian forward diffusion of UC Berkeley EECS 182 Final Exam (Spring 2023), Q10.

One step, :math:`q(z_t \mid z_{t-1}) = \mathcal N(\sqrt{1 - \beta_t} z_{t-1}, \beta_t I)`; the
marginal :math:`q(z_t \mid z_0) = \mathcal N(\sqrt{\alpha_t} z_0, (1 - \alpha_t) I)` with
:math:`\alpha_t = \prod_{s=1}^t (1 - \beta_s)` (Q10(a)); from time t to a later :math:`\tau`,
:math:`\gamma_{\tau,t} = \alpha_\tau / \alpha_t` (Q10(b)); and in the noise-to-signal ratio
:math:`\eta = (1 - \alpha)/\alpha`, :math:`\alpha = 1/(\eta + 1)` (eq. (8)), the
signal-to-noise ratio :math:`\xi_t = \alpha_t / (1 - \alpha_t)` that falls with t, and the
two-time sampler of eqs. (10) and (13) (Q10(c)):

.. math::

    \tilde z(\eta_1) = \sqrt{\tfrac{1}{\eta_1 + 1}}\, z_0 + \sqrt{1 - \tfrac{1}{\eta_1 + 1}}\, V_1,
    \qquad
    \tilde z(\eta_2) = \sqrt{\tfrac{\eta_1 + 1}{\eta_2 + 1}}\, \tilde z(\eta_1)
    + \sqrt{1 - \tfrac{\eta_1 + 1}{\eta_2 + 1}}\, V_2 .

Samplers are written with their standard-normal draws (the reparameterization the exam uses),
so a sampler that exposes its draws is checked exactly and any sampler statistically. Every
quantity is elementwise (scalars broadcast over arrays), except the schedule: ``beta`` and
``abar`` are indexed by the time step along axis 0, and the product up to ``t`` is a cumulative
product along it.
"""

from __future__ import annotations

import time

import sympy as sp
from sympy import stats

from . import moments
from .model import (
    GENERAL,
    Claim,
    ProofOutcome,
    ProofStatus,
    Spec,
    SymbolInfo,
    finite_scope,
    single_form_spec,
)
from .sources import EECS182_FINAL_DOCUMENT, exam
from .sums import peel_last

__all__ = [
    "ALPHA",
    "CLAIMS",
    "ERRATA",
    "ETA_TO_ALPHA",
    "GAMMA",
    "MARGINAL",
    "SNR",
    "SPECS",
    "STEP",
    "TWO_TIME",
    "sampled",
]

tt, si = sp.symbols("t s", integer=True, positive=True)
AXES = {tt: 0, si: 0}
beta, abar = sp.IndexedBase("beta"), sp.IndexedBase("abar")
beta_t = sp.Symbol("beta_t", positive=True)
abar_t, abar_tau = sp.Symbol("abar_t", positive=True), sp.Symbol("abar_tau", positive=True)
gam = sp.Symbol("gam", positive=True)
z0, z_prev, z_next, zt = (sp.Symbol(name, real=True) for name in ("z0", "z_prev", "z_next", "zt"))
noise = sp.Symbol("noise", real=True)
eta, abar_eta = sp.Symbol("eta", positive=True), sp.Symbol("abar_eta", positive=True)
eta1, eta2 = sp.Symbol("eta1", positive=True), sp.Symbol("eta2", positive=True)
z1, z2, V1, V2 = (sp.Symbol(name, real=True) for name in ("z1", "z2", "V1", "V2"))
snr = sp.Symbol("snr", positive=True)

UNIT = sp.Interval.Lopen(0, 1)
POSITIVE = sp.Interval.open(0, sp.oo)

SYMBOLS = {
    "beta": SymbolInfo(
        beta, "variance of the one-step forward diffusion at each step", display="beta"
    ),
    "abar": SymbolInfo(
        abar, "signal coefficient alpha_t of q(z_t | z_0) at each step", display="alpha"
    ),
    "beta_t": SymbolInfo(
        beta_t, "variance of the one-step forward diffusion", sp.Interval.open(0, 1), "beta_t"
    ),
    "abar_t": SymbolInfo(abar_t, "alpha_t at the earlier time t", UNIT, "alpha_t"),
    "abar_tau": SymbolInfo(abar_tau, "alpha_tau at the later time tau", UNIT, "alpha_tau"),
    "gam": SymbolInfo(gam, "signal coefficient of q(z_tau | z_t)", UNIT, "gamma"),
    "z0": SymbolInfo(z0, "data point", display="z_0"),
    "z_prev": SymbolInfo(z_prev, "sample at time t - 1", display="z_t-1"),
    "z_next": SymbolInfo(z_next, "sample at time t", display="z_t"),
    "zt": SymbolInfo(zt, "sample of q(z_t | z_0)", display="z_t"),
    "noise": SymbolInfo(noise, "standard normal draw", display="epsilon"),
    "eta": SymbolInfo(eta, "noise-to-signal ratio (1 - alpha)/alpha", POSITIVE, "eta"),
    "abar_eta": SymbolInfo(
        abar_eta, "alpha at the time whose noise-to-signal ratio is eta", UNIT, "alpha"
    ),
    "eta1": SymbolInfo(eta1, "the smaller noise-to-signal ratio", POSITIVE, "eta_1"),
    "eta2": SymbolInfo(eta2, "the larger noise-to-signal ratio", POSITIVE, "eta_2"),
    "z1": SymbolInfo(z1, "sample at noise-to-signal ratio eta_1", display="ztilde_1"),
    "z2": SymbolInfo(z2, "sample at noise-to-signal ratio eta_2", display="ztilde_2"),
    "snr": SymbolInfo(snr, "signal-to-noise ratio alpha_t / (1 - alpha_t)", POSITIVE, "xi_t"),
    "V1": SymbolInfo(V1, "first standard normal draw", display="V_1"),
    "V2": SymbolInfo(V2, "second standard normal draw", display="V_2"),
}


def _spec(
    id: str,
    title: str,
    section: str,
    equation: str | None,
    names: tuple[str, ...],
    relations: dict,
    statement: str = "",
    *,
    proof_only: bool = False,
) -> Spec:
    return single_form_spec(
        id,
        title,
        exam(section, equation),
        "diffusion",
        SYMBOLS,
        names,
        relations,
        AXES,
        statement=statement,
        proof_only=proof_only,
    )


STEP = _spec(
    "diffusion.step",
    "One step of the forward diffusion",
    "Q10(a)",
    "q(z_t | z_t-1) and its reparameterization",
    ("noise", "z_next", "z_prev", "beta_t"),
    {
        noise: stats.Normal("epsilon", 0, 1),
        z_next: sp.sqrt(1 - beta_t) * z_prev + sp.sqrt(beta_t) * noise,
    },
)
ALPHA = _spec(
    "diffusion.alpha",
    "Signal coefficient of q(z_t | z_0): alpha_t = prod (1 - beta_s)",
    "Q10(a)",
    "alpha_t (boxed answer)",
    ("abar", "beta"),
    {abar[tt]: sp.Product(1 - beta[si], (si, 1, tt))},
)
MARGINAL = _spec(
    "diffusion.marginal",
    "Sampling z_t given z_0 in one draw",
    "Q10(a)",
    "q(z_t | z_0), unrolled",
    ("noise", "zt", "z0", "abar_t"),
    {noise: stats.Normal("epsilon", 0, 1), zt: sp.sqrt(abar_t) * z0 + sp.sqrt(1 - abar_t) * noise},
)
GAMMA = _spec(
    "diffusion.gamma",
    "Signal coefficient from time t to tau: gamma = alpha_tau / alpha_t",
    "Q10(b)",
    "gamma_tau,t (boxed answer)",
    ("gam", "abar_tau", "abar_t"),
    {gam: abar_tau / abar_t},
)
ETA_TO_ALPHA = _spec(
    "diffusion.eta_to_alpha",
    "alpha from the noise-to-signal ratio",
    "Q10(c)",
    "(8)",
    ("abar_eta", "eta"),
    {abar_eta: 1 / (eta + 1)},
)
TWO_TIME = _spec(
    "diffusion.two_time",
    "Sampling the pair ztilde(eta_1), ztilde(eta_2) from z_0",
    "Q10(c)",
    "(10), (13)",
    ("V1", "V2", "z1", "z2", "z0", "eta1", "eta2"),
    {
        V1: stats.Normal("V_1", 0, 1),
        V2: stats.Normal("V_2", 0, 1),
        z1: sp.sqrt(1 / (eta1 + 1)) * z0 + sp.sqrt(1 - 1 / (eta1 + 1)) * V1,
        z2: sp.sqrt((eta1 + 1) / (eta2 + 1)) * z1 + sp.sqrt(1 - (eta1 + 1) / (eta2 + 1)) * V2,
    },
    "0 < eta_1 < eta_2",
)

SNR = _spec(
    "diffusion.snr",
    "Signal-to-noise ratio of q(z_t | z_0): xi_t = alpha_t / (1 - alpha_t)",
    "Q10(c)",
    "xi_t",
    ("snr", "abar_t"),
    {snr: abar_t / (1 - abar_t)},
    "z_0 of mean 0 and variance 1: alpha_t is the signal energy, 1 - alpha_t the noise energy",
    proof_only=True,
)

SPECS = (STEP, ALPHA, MARGINAL, GAMMA, ETA_TO_ALPHA, TWO_TIME, SNR)


def sampled(spec: Spec, quantity: str, values: dict[sp.Symbol, sp.Expr] | None = None) -> sp.Expr:
    """The random variable a sampler spec gives for ``quantity``: its relation with every
    standard-normal draw replaced by the draw's distribution (and earlier samples of the same
    spec substituted), at ``values``. The statistical checks take their moments from this."""
    relations = spec.canonical.relations
    draws = {lhs: rhs for lhs, rhs in relations.items() if rhs.atoms(stats.rv.RandomSymbol)}
    expr = spec.canonical.expression(quantity)
    for _ in range(len(relations)):
        replaced = expr.xreplace(
            {**draws, **{lhs: rhs for lhs, rhs in relations.items() if lhs not in draws}}
        )
        if replaced == expr:
            break
        expr = replaced
    return expr.xreplace(values or {})


# ---------------------------------------------------------------------------------------------
# Claims.

#: When the induction on t does not go through (a diffusion.alpha that is not alpha_(t-1) times a
#: factor of step t, or a step that does not close), diffusion.alpha.marginal falls back to
#: unrolling t = 1..ALPHA_MAX_T steps and diffusion.gamma.ratio to every pair
#: 1 <= t < tau <= GAMMA_MAX_TAU: these settle the sizes they cover and locate a counterexample.
ALPHA_MAX_T = 4
GAMMA_MAX_TAU = 4


def _step(previous: sp.Expr, keep: sp.Expr, draw: str) -> sp.Expr:
    """z after one diffusion.step from ``previous`` with 1 - beta_t = ``keep`` and a fresh standard
    normal draw named ``draw``."""
    (step_relation,) = [rhs for lhs, rhs in STEP.canonical.relations.items() if lhs == z_next]
    return step_relation.xreplace(
        {z_prev: previous, beta_t: 1 - keep, noise: stats.Normal(draw, 0, 1)}
    )


def _unrolled(steps: range, start: sp.Expr, keep: list[sp.Symbol]) -> sp.Expr:
    """z after applying diffusion.step for each step in ``steps``, with fresh draws, from
    ``start``."""
    current = start
    for index in steps:
        current = _step(current, keep[index - 1], f"E_{index}")
    return current


def _alpha_at(step: int, keep: list[sp.Symbol]) -> sp.Expr:
    (relation,) = ALPHA.canonical.relations.values()
    betas = {beta[index]: 1 - keep[index - 1] for index in range(1, step + 1)}
    return relation.subs(tt, step).doit().xreplace(betas)


def _marginal_moments(alpha: sp.Expr, start: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    sample = sampled(MARGINAL, "zt", {abar_t: alpha, z0: start})
    return moments.expectation(sample), moments.variance(sample)


def _alpha_recurrence(keep: sp.Symbol) -> sp.Expr | None:
    """The factor r with alpha_t = r alpha_(t-1) that diffusion.alpha gives for symbolic t (its
    relation with the last factor split off by :func:`~eqconform.specs.sums.peel_last`, divided
    by the relation at t - 1), in terms of ``keep`` = 1 - beta_t; None when the quotient still
    depends on the earlier steps."""
    (relation,) = ALPHA.canonical.relations.values()
    factor = sp.simplify(peel_last(relation, tt) / relation.subs(tt, tt - 1))
    factor = factor.xreplace({beta[tt]: 1 - keep})
    return factor if factor.free_symbols <= {keep} else None


def _closes(before: sp.Expr, alpha: sp.Expr, start: sp.Expr, keep: sp.Symbol) -> bool:
    """One diffusion.step from the sample ``before`` has the mean and variance of
    diffusion.marginal at ``alpha`` from ``start`` (a Gaussian is fixed by these)."""
    after = _step(before, keep, "E_step")
    claimed_mean, claimed_var = _marginal_moments(alpha, start)
    return (
        sp.simplify(moments.expectation(after) - claimed_mean) == 0
        and sp.simplify(moments.variance(after) - claimed_var) == 0
    )


def _induction_on_t() -> tuple[bool, str]:
    """Whether q(z_t | z_0) = diffusion.marginal at alpha_t > 0 holds for every t >= 1 by
    induction, and what the induction found. Base t = 1: one step from z_0, alpha_1 from
    diffusion.alpha. Step t - 1 -> t: z_(t-1) drawn from diffusion.marginal at a positive symbol
    alpha_(t-1), one step, against diffusion.marginal at alpha_t = r alpha_(t-1), r from
    :func:`_alpha_recurrence`."""
    keep = sp.Symbol("o_t", positive=True)  # 1 - beta_t, in (0, 1)
    factor = _alpha_recurrence(keep)
    if factor is None:
        return False, "diffusion.alpha is not alpha_(t-1) times a factor of step t"
    start = sp.Symbol("z_0", real=True)
    first = _alpha_at(1, [keep])
    previous = sp.Symbol("alpha_prev", positive=True)  # the hypothesis includes alpha_(t-1) > 0
    cases = {
        "t = 1": (start, first),
        "t - 1 -> t": (
            sampled(MARGINAL, "zt", {abar_t: previous, z0: start}),
            factor * previous,
        ),
    }
    for case, (before, alpha) in cases.items():
        if not alpha.is_positive or not _closes(before, alpha, start, keep):
            return False, f"the induction does not close at {case}"
    return True, (
        f"alpha_1 = {first.xreplace({keep: 1 - sp.Symbol('beta_1')})} and alpha_t = "
        f"({factor.xreplace({keep: 1 - beta_t})}) "
        "alpha_(t-1) (diffusion.alpha's Product with its last factor split off)"
    )


def _unrolled_alpha(max_steps: int, started: float, induction: str) -> ProofOutcome:
    """t steps of diffusion.step against diffusion.marginal for t = 1..max_steps, when the
    induction (whose failure is ``induction``) does not settle the claim."""
    keep = [
        sp.Symbol(f"o_{index}", positive=True) for index in range(1, max_steps + 1)
    ]  # o_s = 1 - beta_s
    start = sp.Symbol("z_0", real=True)
    all_steps = range(1, max_steps + 1)
    for steps in all_steps:
        sample = _unrolled(range(1, steps + 1), start, keep)
        mean, var = moments.expectation(sample), moments.variance(sample)
        claimed_mean, claimed_var = _marginal_moments(_alpha_at(steps, keep), start)
        if sp.simplify(mean - claimed_mean) != 0 or sp.simplify(var - claimed_var) != 0:
            return ProofOutcome(
                ProofStatus.REFUTED,
                "unrolled one-step samplers against the marginal",
                f"at t = {steps}: mean {mean}, variance {sp.factor(var)} ({induction})",
                scope=finite_scope(t=[steps]),
            )
    return ProofOutcome(
        ProofStatus.PROVED,
        "diffusion.step applied t times with independent sympy.stats normal draws; mean and "
        "variance by linearity, compared with diffusion.marginal at alpha_t from diffusion.alpha",
        f"exact for t = 1..{max_steps} with symbolic beta_s and z_0, not in general: {induction} "
        f"({time.perf_counter() - started:.2f} s). {_two_step_integral()}",
        scope=finite_scope(t=all_steps),
    )


def _prove_alpha(max_steps: int = ALPHA_MAX_T) -> ProofOutcome:
    """t steps of diffusion.step give the mean and variance of diffusion.marginal with alpha_t from
    diffusion.alpha, for every t by induction (unrolled for t = 1..max_steps if the induction
    does not go through); and q(z_t | z_t-2) is the integral, not the product, of the two one-step
    conditionals (the printed unrolling)."""
    started = time.perf_counter()
    proved, induction = _induction_on_t()
    if not proved:
        return _unrolled_alpha(max_steps, started, induction)
    return ProofOutcome(
        ProofStatus.PROVED,
        "induction on t: base t = 1 is one diffusion.step from z_0; the step draws z_(t-1) from "
        "diffusion.marginal at a positive symbolic alpha_(t-1) and applies diffusion.step with "
        "an independent sympy.stats normal draw; mean and variance by linearity, compared with "
        "diffusion.marginal at alpha_t from diffusion.alpha",
        f"every t >= 1, symbolic beta_t and z_0: {induction}, so the step's variance "
        "(1 - beta_t)(1 - alpha_(t-1)) + beta_t is 1 - alpha_t "
        f"({time.perf_counter() - started:.2f} s). {_two_step_integral()}",
        scope=GENERAL,
    )


def _density(value: sp.Expr, mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    return sp.exp(-((value - mean) ** 2) / (2 * var)) / sp.sqrt(2 * sp.pi * var)


def _two_step_integral() -> str:
    """Evidence for the erratum on Q10(a): the product of the two one-step densities depends on
    z_(t-1), so it cannot be q(z_t | z_(t-2)); the two-step marginal of eq. (7) is what the moments
    (above) give, i.e. the product integrated over z_(t-1)."""
    later, middle, earlier = sp.symbols("z_t z_tm1 z_tm2", real=True)
    first, second = sp.Symbol("beta_tm1", positive=True), sp.Symbol("beta_t", positive=True)
    (step_relation,) = [rhs for lhs, rhs in STEP.canonical.relations.items() if lhs == z_next]

    def mean_of(previous: sp.Expr, b: sp.Expr) -> sp.Expr:
        return step_relation.xreplace({z_prev: previous, beta_t: b, noise: 0})

    log_product = sp.expand_log(
        sp.log(_density(later, mean_of(middle, second), second))
        + sp.log(_density(middle, mean_of(earlier, first), first)),
        force=True,
    )
    slope = sp.simplify(sp.diff(log_product, middle))
    return (
        "The printed unrolling q(z_t | z_t-2) = q(z_t | z_t-1) q(z_t-1 | z_t-2) cannot hold: the "
        f"log of the right side has derivative {slope} in z_t-1, which the left side does not "
        "contain; the two-step marginal N(sqrt((1 - beta_t)(1 - beta_t-1)) z_t-2, 1 - (1 - "
        "beta_t)(1 - beta_t-1)) of eq. (7) is the product integrated over z_t-1, as the moments "
        "above confirm."
    )


def _induction_on_tau() -> tuple[bool, str]:
    """Whether q(z_tau | z_t) = diffusion.marginal at gamma_(tau,t) (diffusion.gamma) from z_t
    holds for every t < tau by induction on tau - t, and what the induction found. Base
    tau = t + 1: one step from z_t with alpha_(t+1) = r alpha_t; step tau - 1 -> tau: z_(tau-1)
    drawn from diffusion.marginal at gamma_(tau-1,t), one step, with alpha_tau = r alpha_(tau-1)
    (r from :func:`_alpha_recurrence`). alpha_t and alpha_(tau-1) are positive symbols."""
    keep = sp.Symbol("o_tau", positive=True)  # 1 - beta_tau, in (0, 1)
    factor = _alpha_recurrence(keep)
    if factor is None:
        return False, "diffusion.alpha is not alpha_(tau-1) times a factor of step tau"
    start = sp.Symbol("z_t", real=True)
    earlier, previous = sp.symbols("alpha_t alpha_tau_prev", positive=True)
    relation = GAMMA.canonical.expression("gam")

    def gamma_of(later: sp.Expr) -> sp.Expr:
        return relation.xreplace({abar_tau: later, abar_t: earlier})

    cases = {
        "tau = t + 1": (start, gamma_of(factor * earlier)),
        "tau - 1 -> tau": (
            sampled(MARGINAL, "zt", {abar_t: gamma_of(previous), z0: start}),
            gamma_of(factor * previous),
        ),
    }
    for case, (before, gamma) in cases.items():
        if not _closes(before, gamma, start, keep):
            return False, f"the induction does not close at {case}"
    base = cases["tau = t + 1"][1].xreplace({keep: 1 - sp.Symbol("beta_(t+1)")})
    return True, (
        f"alpha_tau = ({factor.xreplace({keep: 1 - sp.Symbol('beta_tau')})}) alpha_(tau-1) "
        f"(diffusion.alpha's Product with its last factor split off), so gamma_(t+1,t) = {base} "
        "and gamma_(tau,t) = (1 - beta_tau) gamma_(tau-1,t), i.e. gamma = prod_{i = t+1}^{tau} "
        "(1 - beta_i)"
    )


def _pairwise_gamma(max_tau: int, induction: str) -> ProofOutcome:
    """diffusion.gamma against the steps from t to tau for every 1 <= t < tau <= max_tau, when the
    induction (whose failure is ``induction``) does not settle the claim."""
    keep = [sp.Symbol(f"o_{index}", positive=True) for index in range(1, max_tau + 1)]
    start = sp.Symbol("z_t", real=True)
    taus = range(2, max_tau + 1)
    for tau in taus:
        for earlier in range(1, tau):
            ratio = GAMMA.canonical.expression("gam").xreplace(
                {abar_tau: _alpha_at(tau, keep), abar_t: _alpha_at(earlier, keep)}
            )
            product = sp.prod(keep[index - 1] for index in range(earlier + 1, tau + 1))
            sample = _unrolled(range(earlier + 1, tau + 1), start, keep)
            claimed_mean, claimed_var = _marginal_moments(ratio, start)
            if (
                sp.simplify(ratio - product) != 0
                or sp.simplify(moments.expectation(sample) - claimed_mean) != 0
                or sp.simplify(moments.variance(sample) - claimed_var) != 0
            ):
                return ProofOutcome(
                    ProofStatus.REFUTED,
                    "alpha_tau / alpha_t against the steps from t to tau",
                    f"differs at t = {earlier}, tau = {tau} ({induction})",
                    scope=finite_scope(t=[earlier], tau=[tau]),
                )
    return ProofOutcome(
        ProofStatus.PROVED,
        "diffusion.gamma at alpha from diffusion.alpha, against prod_{i = t+1}^{tau} (1 - beta_i) "
        "and against tau - t steps of diffusion.step started at z_t (mean and variance by "
        "sympy.stats)",
        f"exact for every 1 <= t < tau <= {max_tau} with symbolic beta_i, not in general: "
        f"{induction}",
        # Every t < tau for each tau covered: t = 1..max_tau - 1.
        scope=finite_scope(t=range(1, max_tau), tau=taus),
    )


def _prove_gamma(max_tau: int = GAMMA_MAX_TAU) -> ProofOutcome:
    """q(z_tau | z_t) from tau - t steps of diffusion.step is diffusion.marginal at gamma =
    alpha_tau / alpha_t, for every t < tau by induction on tau (every pair up to max_tau if the
    induction does not go through)."""
    started = time.perf_counter()
    proved, induction = _induction_on_tau()
    if not proved:
        return _pairwise_gamma(max_tau, induction)
    return ProofOutcome(
        ProofStatus.PROVED,
        "induction on tau - t with symbolic t: base tau = t + 1 is one diffusion.step from z_t; "
        "the step draws z_(tau-1) from diffusion.marginal at gamma_(tau-1,t) and applies "
        "diffusion.step with an independent sympy.stats normal draw; mean and variance compared "
        "with diffusion.marginal at diffusion.gamma, alpha from diffusion.alpha",
        "every 1 <= t < tau, symbolic beta_tau, positive symbolic alpha_t, alpha_(tau-1): "
        f"{induction} ({time.perf_counter() - started:.2f} s)",
        scope=GENERAL,
    )


def _prove_two_time() -> ProofOutcome:
    """Eqs. (10) and (13) give the forward process sampled at alpha_1 = 1/(eta_1 + 1) and
    alpha_2 = 1/(eta_2 + 1): the marginals of diffusion.marginal and the step
    gamma = alpha_2/alpha_1 between them; eq. (8) inverts eta = (1 - alpha)/alpha."""
    alpha_of = ETA_TO_ALPHA.canonical.expression("abar_eta")
    alpha = sp.Symbol("alpha", positive=True)
    inverts = sp.simplify(alpha_of.xreplace({eta: (1 - alpha) / alpha}) - alpha) == 0
    first, second = alpha_of.xreplace({eta: eta1}), alpha_of.xreplace({eta: eta2})
    start = sp.Symbol("z_0", real=True)
    sample1 = sampled(TWO_TIME, "z1", {z0: start})
    sample2 = sampled(TWO_TIME, "z2", {z0: start})
    mean1, var1 = _marginal_moments(first, start)
    mean2, var2 = _marginal_moments(second, start)
    step = GAMMA.canonical.expression("gam").xreplace({abar_tau: second, abar_t: first})
    checks = {
        "eq. (8) inverts eta = (1 - alpha)/alpha": inverts,
        "E, Var of ztilde(eta_1)": sp.simplify(moments.expectation(sample1) - mean1) == 0
        and sp.simplify(moments.variance(sample1) - var1) == 0,
        "E, Var of ztilde(eta_2)": sp.simplify(moments.expectation(sample2) - mean2) == 0
        and sp.simplify(moments.variance(sample2) - var2) == 0,
        "Cov = sqrt(gamma) Var[ztilde(eta_1)]": sp.simplify(
            moments.covariance(sample1, sample2) - sp.sqrt(step) * var1
        )
        == 0,
    }
    failed = [name for name, ok in checks.items() if not ok]
    return ProofOutcome(
        ProofStatus.REFUTED if failed else ProofStatus.PROVED,
        "sympy.stats moments of eqs. (10), (13) with V_1, V_2 ~ N(0, 1), against "
        "diffusion.marginal at alpha = 1/(eta + 1) (eq. (8)) and diffusion.gamma",
        ("fails: " + ", ".join(failed))
        if failed
        else "symbolic in eta_1, eta_2, z_0: "
        + "; ".join(checks)
        + " (a Gaussian pair is fixed by these moments)",
        scope="" if failed else GENERAL,
    )


def _prove_snr_monotone() -> ProofOutcome:
    """xi_t falls with t: alpha_t = r alpha_(t-1) with r = 1 - beta_t in (0, 1) (diffusion.alpha,
    its last factor split off), and diffusion.snr increases with alpha on (0, 1); alpha_0 is the
    empty product 1, where xi is infinite."""
    margin = sp.Symbol("m", positive=True)
    keep = sp.Symbol("o_t", positive=True)
    factor = _alpha_recurrence(keep)
    (relation,) = ALPHA.canonical.relations.values()
    start = relation.subs(tt, 0).doit()
    ratio = SNR.canonical.expression("snr")
    # alpha in (0, 1) and 1 - beta_t in (0, 1) written as 1/(1 + m) with m > 0.
    inside = 1 / (1 + margin)
    slope = sp.simplify(sp.diff(ratio, abar_t).subs(abar_t, inside))
    shrinks = factor is not None and bool(
        sp.simplify(factor.subs(keep, inside)).is_positive
        and sp.simplify(1 - factor.subs(keep, inside)).is_positive
    )
    at_start = sp.limit(ratio, abar_t, start, "-") if start == 1 else ratio.subs(abar_t, start)
    ok = shrinks and bool(slope.is_positive) and at_start == sp.oo
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "diffusion.alpha's Product with its last factor split off (alpha_t = r alpha_(t-1)), r "
        "and alpha written as 1/(1 + m), m > 0, for their range (0, 1); the sign of d xi / d "
        "alpha of diffusion.snr; the limit at alpha_0",
        f"alpha_t = ({factor.subs(keep, 1 - beta_t) if factor is not None else '?'}) "
        f"alpha_(t-1) shrinks (factor in (0, 1): {shrinks}); d xi / d alpha = "
        f"{sp.simplify(sp.diff(ratio, abar_t))} > 0 on (0, 1): {bool(slope.is_positive)}; "
        f"alpha_0 = {start} gives xi_0 = {at_start}. So xi_t decreases strictly with t from "
        "+infinity, and eta = 1/xi increases",
        scope=GENERAL if ok else "",
    )


CLAIMS = (
    Claim(
        "diffusion.alpha.marginal",
        "t forward steps give q(z_t | z_0) = N(sqrt(alpha_t) z_0, (1 - alpha_t) I)",
        exam("Q10(a)", "(5)-(7)"),
        (STEP.id, ALPHA.id, MARGINAL.id),
        _prove_alpha,
    ),
    Claim(
        "diffusion.gamma.ratio",
        "q(z_tau | z_t) = N(sqrt(gamma) z_t, (1 - gamma) I) with gamma = alpha_tau / alpha_t",
        exam("Q10(b)"),
        (GAMMA.id, ALPHA.id, STEP.id),
        _prove_gamma,
    ),
    Claim(
        "diffusion.two_time.compatible",
        "The two-time sampler (10), (13) is the forward process seen at noise-to-signal ratios "
        "eta_1 < eta_2",
        exam("Q10(c)", "(8)-(13)"),
        (TWO_TIME.id, ETA_TO_ALPHA.id, MARGINAL.id, GAMMA.id),
        _prove_two_time,
    ),
    Claim(
        "diffusion.snr.monotone",
        "The signal-to-noise ratio alpha_t / (1 - alpha_t) decreases monotonically from +infinity",
        exam("Q10(c)"),
        (SNR.id, ALPHA.id),
        _prove_snr_monotone,
    ),
)


ERRATA = (
    {
        "id": "diffusion.q10_product_of_conditionals",
        "specs": ("diffusion.marginal", "diffusion.two_time"),
        "document": EECS182_FINAL_DOCUMENT,
        "location": "Q10(a) and Q10(b), solutions (the unrolling of the Markov chain)",
        "says": "q(z_t | z_t-2) = q(z_t | z_t-1) q(z_t-1 | z_t-2), and q(z_tau | z_t) as the "
        "product of the one-step conditionals from t to tau",
        "resolution": "The product is the joint density of the intermediate samples; the "
        "conditional needs the intermediates integrated out (Chapman-Kolmogorov). Proof "
        "diffusion.alpha.marginal shows the product depends on z_t-1 (its log has a nonzero "
        "derivative there), so it is not a density of z_t given z_t-2; the answers alpha_t = prod "
        "(1 - beta_i) and gamma = alpha_tau / alpha_t are right (proved).",
    },
    {
        "id": "diffusion.q10_sum_of_gaussians",
        "specs": ("diffusion.marginal",),
        "document": EECS182_FINAL_DOCUMENT,
        "location": "Q10(a), solution, after eq. (7)",
        "says": "the sum of two independent Gaussians written as N(mu, sigma_1^2 + sigma_2^2)",
        "resolution": "The mean of the sum is the sum of the means, N(mu_1 + mu_2, sigma_1^2 + "
        "sigma_2^2); in eq. (7) both noise terms have mean 0, so the result stands "
        "(diffusion.alpha.marginal).",
    },
)
