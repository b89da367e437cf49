r"""Multiplicative noise as generalized dropout: UC Berkeley EECS 182 Final Exam (Spring 2023), Q5.

Linear regression with every input feature multiplied by an iid draw :math:`R_{ij}`; the
expected training loss is a ridge-like loss:

.. math::

    \mathcal L(w) = E\,\|y - (R \odot X) w\|_2^2 = \|y - \mu X w\|_2^2 + \sigma^2 \|\Gamma w\|_2^2,
    \qquad \Gamma = \mathrm{diag}(X^\top X)^{1/2},

for :math:`R_{ij} \sim \mathcal N(\mu, \sigma^2)`. Dropout is the special case of Bernoulli
draws (the hint of Q5): :math:`R_{ij} \sim \mathrm{Bernoulli}(\kappa)` has :math:`\mu = \kappa`
and :math:`\sigma^2 = \kappa (1 - \kappa)`, and inverted dropout :math:`R_{ij}/\kappa` has
:math:`\mu = 1`, :math:`\sigma^2 = (1 - \kappa)/\kappa`.

The variational information bottleneck of Q11 injects Gaussian noise the same way: the encoder
emits :math:`\mu_z, \sigma_z` and the latent sample is :math:`Z = V \sigma_z + \mu_z` with
:math:`V \sim \mathcal N(0, 1)` (Q11(a)), trained on eq. (14), the task term
:math:`E_z \log q(y_n \mid z)` plus :math:`\beta` times :math:`D_{KL}(p(Z \mid x_n) \| r(Z))`
averaged over the samples, with :math:`r = \mathcal N(0, 1)`.

Samples ``i`` (rows of X, entries of y) run along axis 0 and features ``j`` along axis 1, so
``X`` is (N, P), ``y`` is (N, 1), ``w`` is (1, P) and the losses are (1, 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy import stats

from . import dropout, moments
from .model import (
    GENERAL,
    Claim,
    ProofOutcome,
    ProofStatus,
    Spec,
    SymbolInfo,
    finite_points,
    finite_scope,
    single_form_spec,
)
from .model import instantiate as instantiate_entries
from .sources import EECS182_FINAL_DOCUMENT, exam
from .sums import UnsupportedSum, map_summands, substitute, sum_normal_form

__all__ = [
    "CLAIMS",
    "DRAW",
    "DROPOUT_DRAW",
    "ERRATA",
    "EXPECTED_LOSS",
    "GAMMA",
    "PERTURBED_LOSS",
    "SPECS",
    "VIB_OBJECTIVE",
    "VIB_SAMPLE",
]

i, j = sp.symbols("i j", integer=True, positive=True)
N, P = sp.symbols("N P", integer=True, positive=True)
AXES = {i: 0, j: 1}
X, y, w, R = sp.IndexedBase("X"), sp.IndexedBase("y"), sp.IndexedBase("w"), sp.IndexedBase("R")
Gamma = sp.IndexedBase("Gamma")
mu = sp.Symbol("mu", real=True)
sigma = sp.Symbol("sigma", positive=True)
keep = sp.Symbol("keep", positive=True)
ell, Lexp = sp.Symbol("ell", nonnegative=True), sp.Symbol("Lexp", nonnegative=True)
zvib, vdraw, muz = (sp.Symbol(name, real=True) for name in ("zvib", "vdraw", "muz"))
sigz, beta_ib = sp.Symbol("sigz", positive=True), sp.Symbol("beta_ib", positive=True)
Lvib = sp.Symbol("Lvib", real=True)
logq, kl = sp.IndexedBase("logq"), sp.IndexedBase("kl")

POSITIVE = sp.Interval.open(0, sp.oo)

SYMBOLS = {
    "X": SymbolInfo(X, "design matrix, one sample per row (N x P)", display="X"),
    "y": SymbolInfo(y, "targets (N)", display="y"),
    "w": SymbolInfo(w, "weights (P)", display="w"),
    "R": SymbolInfo(R, "multiplicative noise, one draw per entry of X", display="R"),
    "Gamma": SymbolInfo(
        Gamma, "diagonal of Gamma = diag(X^T X)^(1/2)", sp.Interval(0, sp.oo), "Gamma"
    ),
    "mu": SymbolInfo(mu, "mean of every R_ij", display="mu"),
    "sigma": SymbolInfo(
        sigma, "standard deviation of every R_ij", sp.Interval.open(0, sp.oo), "sigma"
    ),
    "keep": SymbolInfo(
        keep, "probability that a Bernoulli R_ij is 1", sp.Interval.Lopen(0, 1), "kappa"
    ),
    "ell": SymbolInfo(ell, "loss of one draw of R", sp.Interval(0, sp.oo), "l"),
    "Lexp": SymbolInfo(Lexp, "expected loss over the draws of R", sp.Interval(0, sp.oo), "L"),
    "N": SymbolInfo(N, "number of samples", sp.S.Naturals),
    "zvib": SymbolInfo(zvib, "latent sample of the encoder", display="Z"),
    "vdraw": SymbolInfo(vdraw, "standard normal draw fed to the encoder", display="V"),
    "muz": SymbolInfo(muz, "mean the encoder emits", display="mu_z"),
    "sigz": SymbolInfo(sigz, "standard deviation the encoder emits", POSITIVE, "sigma_z"),
    "beta_ib": SymbolInfo(beta_ib, "weight of the latent regularizer", POSITIVE, "beta"),
    "Lvib": SymbolInfo(Lvib, "training objective of the bottleneck", display="L"),
    "logq": SymbolInfo(
        logq, "task term of sample n: E_z log q(y_n | z)", sp.Interval(-sp.oo, 0), "log q"
    ),
    "kl": SymbolInfo(
        kl, "latent regularizer of sample n: KL(p(Z | x_n) || r(Z))", sp.Interval(0, sp.oo), "D_KL"
    ),
    "P": SymbolInfo(P, "number of features", sp.S.Naturals),
}


def _spec(
    id: str,
    title: str,
    equation: str | None,
    names: tuple[str, ...],
    relations: dict,
    section: str = "Q5",
    *,
    proof_only: bool = False,
    statistical: bool = False,
) -> Spec:
    return single_form_spec(
        id,
        title,
        exam(section, equation),
        "noise",
        SYMBOLS,
        names,
        relations,
        AXES,
        proof_only=proof_only,
        statistical=statistical,
    )


DRAW = _spec(
    "noise.draw",
    "Gaussian multiplicative noise: R_ij ~ N(mu, sigma^2), iid",
    "R_ij ~ N(mu, sigma^2)",
    ("R", "mu", "sigma"),
    {R[i, j]: stats.Normal("R", mu, sigma)},
    statistical=True,
)
DROPOUT_DRAW = _spec(
    "noise.dropout_draw",
    "Bernoulli multiplicative noise (dropout): R_ij ~ Bernoulli(kappa), iid",
    "hint: dropout as the 0/1 case",
    ("R", "keep"),
    {R[i, j]: stats.Bernoulli("R", keep)},
    statistical=True,
)
PERTURBED_LOSS = _spec(
    "noise.perturbed_loss",
    "Squared loss of the regression on the noisy inputs R o X",
    "||y - (R o X) w||^2",
    ("ell", "y", "R", "X", "w", "N", "P"),
    {ell: sp.Sum((y[i] - sp.Sum(R[i, j] * X[i, j] * w[j], (j, 1, P))) ** 2, (i, 1, N))},
)
GAMMA = _spec(
    "noise.gamma",
    "Gamma = diag(X^T X)^(1/2): the column norms of X",
    "Gamma = (diag(X^T X))^(1/2)",
    ("Gamma", "X", "N"),
    {Gamma[j]: sp.sqrt(sp.Sum(X[i, j] ** 2, (i, 1, N)))},
)
EXPECTED_LOSS = _spec(
    "noise.expected_loss",
    "Expected loss: ||y - mu X w||^2 + sigma^2 ||Gamma w||^2",
    "L(w), final display (answers (A) = mu, (B) = sigma^2)",
    ("Lexp", "y", "X", "w", "Gamma", "mu", "sigma", "N", "P"),
    {
        Lexp: sp.Sum((y[i] - mu * sp.Sum(X[i, j] * w[j], (j, 1, P))) ** 2, (i, 1, N))
        + sigma**2 * sp.Sum(Gamma[j] ** 2 * w[j] ** 2, (j, 1, P))
    },
)

VIB_SAMPLE = _spec(
    "noise.vib_sample",
    "Reparameterized latent sample of the information bottleneck: Z = V sigma_z + mu_z",
    "block diagram (the reparametrization trick)",
    ("vdraw", "zvib", "muz", "sigz"),
    {vdraw: stats.Normal("V", 0, 1), zvib: vdraw * sigz + muz},
    "Q11(a)",
    proof_only=True,
)
VIB_OBJECTIVE = _spec(
    "noise.vib_objective",
    "Training objective of the information bottleneck, as printed",
    "(14)",
    ("Lvib", "logq", "beta_ib", "kl", "N"),
    {Lvib: sp.Sum(logq[i] + beta_ib * kl[i], (i, 1, N)) / N},
    "Q11(b)",
    proof_only=True,
)

SPECS = (DRAW, DROPOUT_DRAW, PERTURBED_LOSS, GAMMA, EXPECTED_LOSS, VIB_SAMPLE, VIB_OBJECTIVE)


def instantiate(expr: sp.Expr, rows: int, cols: int, arrays: dict) -> sp.Expr:
    """``expr`` for an explicit N x P problem, ``X[a, b]`` replaced by ``arrays[X][a - 1][b - 1]``
    (and likewise the vectors ``y``, ``w``, ``Gamma`` by their single index)."""
    return instantiate_entries(expr, {N: rows, P: cols}, arrays)


def expected_loss_at(rows: int, cols: int, arrays: dict, mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    """The closed form of noise.expected_loss with noise.gamma substituted, at explicit sizes."""
    gammas = [
        instantiate(GAMMA.canonical.expression("Gamma").subs(j, col), rows, cols, arrays)
        for col in range(1, cols + 1)
    ]
    closed = EXPECTED_LOSS.canonical.expression("Lexp").xreplace({mu: mean, sigma: sp.sqrt(var)})
    return instantiate(closed, rows, cols, {**arrays, Gamma: gammas})


def _problem(rows: int, cols: int) -> dict:
    return {
        X: [
            [sp.Symbol(f"x_{a}_{b}", real=True) for b in range(1, cols + 1)]
            for a in range(1, rows + 1)
        ],
        y: [sp.Symbol(f"y_{a}", real=True) for a in range(1, rows + 1)],
        w: [sp.Symbol(f"w_{b}", real=True) for b in range(1, cols + 1)],
    }


def _expected_perturbed_loss(rows: int, cols: int, arrays: dict, draw: object) -> sp.Expr:
    """E over iid copies of ``draw`` (a sympy.stats variable) of noise.perturbed_loss."""
    noise = [[_copy(draw, a, b) for b in range(1, cols + 1)] for a in range(1, rows + 1)]
    loss = instantiate(PERTURBED_LOSS.canonical.expression("ell"), rows, cols, {**arrays, R: noise})
    return moments.expectation(loss)


def _copy(draw: Any, row: int, col: int) -> Any:
    """An independent copy of the sympy.stats variable ``draw`` (same distribution)."""
    distribution = draw.pspace.distribution
    name = f"R_{row}_{col}"
    if isinstance(distribution, stats.crv_types.NormalDistribution):
        return stats.Normal(name, *distribution.args)
    if isinstance(distribution, stats.frv_types.BernoulliDistribution):
        return stats.Bernoulli(name, distribution.p, distribution.succ, distribution.fail)
    raise TypeError(f"no independent copy for {distribution}")


#: The (N, P) at which noise.expected_loss.exact takes the expectation when the proof for
#: symbolic N and P does not settle it (these pairs only, not every combination of their N and P).
SIZES = ((1, 1), (2, 1), (1, 2), (2, 2), (3, 2), (2, 3))
#: The N x P problem of noise.dropout_special_case's fallback.
DROPOUT_ROWS, DROPOUT_COLS = 2, 2


# ---------------------------------------------------------------------------------------------
# The expectation for symbolic N and P: noise.perturbed_loss in sum normal form (the square of
# the inner sum a double sum over features j, j'), E of each summand from the moments of one
# draw, and the sums collected again (the delta of independence sifts j' = j; swapping the sums
# over samples and features is a renaming of the normal form).


def _summand_expectation(moment: Callable[[int], sp.Expr]) -> Callable[[sp.Expr], sp.Expr]:
    """E of one summand, a monomial in entries of R whose indices may coincide: iid draws give
    E[R_ab^p R_ce^q] = m_p m_q + delta(a, c) delta(b, e) (m_(p+q) - m_p m_q), m_p = E[R^p]."""

    def expectation(summand: sp.Expr) -> sp.Expr:
        powers: dict[sp.Indexed, int] = {}
        rest = sp.S.One
        for factor in sp.Mul.make_args(summand):
            base, power = factor.as_base_exp()
            if isinstance(base, sp.Indexed) and base.base == R and power.is_Integer:
                powers[base] = powers.get(base, 0) + int(power)
            elif factor.has(R):
                raise UnsupportedSum(f"{factor} is not a power of one draw")
            else:
                rest *= factor
        if not powers:
            return summand
        if len(powers) == 1:
            ((_, power),) = powers.items()
            return rest * moment(power)
        if len(powers) == 2:
            (first, p_), (second, q_) = powers.items()
            same = sp.Mul(
                *[
                    sp.KroneckerDelta(u, v)
                    for u, v in zip(first.indices, second.indices, strict=True)
                ]
            )
            product = moment(p_) * moment(q_)
            return rest * (product + same * (moment(p_ + q_) - product))
        raise UnsupportedSum(f"{len(powers)} draws in one summand")

    return expectation


def _closed_form(mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    """noise.expected_loss with noise.gamma substituted, at the draws' mean and variance."""
    closed = EXPECTED_LOSS.canonical.expression("Lexp").xreplace({mu: mean, sigma: sp.sqrt(var)})
    ((gamma, definition),) = GAMMA.canonical.relations.items()
    return substitute(closed, gamma, definition)


def _general_expected_loss(
    moment: Callable[[int], sp.Expr], mean: sp.Expr, var: sp.Expr
) -> tuple[sp.Expr, str]:
    """E of noise.perturbed_loss for symbolic N and P in sum normal form, and '' when it equals
    the closed form (or why not)."""
    loss = PERTURBED_LOSS.canonical.expression("ell")
    try:
        expected = map_summands(loss, _summand_expectation(moment))
        difference = sum_normal_form(expected - _closed_form(mean, var))
    except UnsupportedSum as error:
        return sp.S.Zero, str(error)
    return expected, "" if difference == 0 else f"E[loss] - closed form reduces to {difference}"


def _readable(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the bound indices of its sums named i (samples) and j, k (features)."""
    names = {N: ["i", "h"], P: ["j", "k"]}

    def rename(node: sp.Sum) -> sp.Sum:
        used: dict[sp.Expr, int] = {}  # indices named so far per range
        mapping = {}
        for var, _, high in node.limits:
            pool = names.get(high, [str(var)])
            mapping[var] = sp.Symbol(pool[min(used.get(high, 0), len(pool) - 1)], integer=True)
            used[high] = used.get(high, 0) + 1
        return sp.Sum(
            node.function.xreplace(mapping), *[(mapping[v], lo, hi) for v, lo, hi in node.limits]
        )

    return expr.replace(lambda node: isinstance(node, sp.Sum), rename)


def _not_general(gap: str) -> str:
    return f" Not proved for symbolic N and P ({gap}), so checked at these sizes only."


def _prove_expected_loss(sizes: tuple[tuple[int, int], ...] = SIZES) -> ProofOutcome:
    started = time.perf_counter()
    draw = DRAW.canonical.relations[R[i, j]]
    expected, gap = _general_expected_loss(lambda power: moments.moment(draw, power), mu, sigma**2)
    if not gap:
        cross = [
            term
            for term in sp.Add.make_args(expected)
            if term.has(y) and term.has(X)  # the term linear in the draws
        ]
        return ProofOutcome(
            ProofStatus.PROVED,
            "symbolic N, P: noise.perturbed_loss in sum normal form (the squared inner sum a "
            "double sum over features), E of each summand from the moments of one sympy.stats "
            "Normal(mu, sigma) draw with E[R_ij R_hk] = mu^2 + sigma^2 delta_ih delta_jk (iid), "
            "delta sifting, and the sums over samples and features swapped, against "
            "noise.expected_loss with noise.gamma",
            f"E[loss] = {_readable(expected)} for every N and P with symbolic X, y, w, mu, sigma "
            f"({time.perf_counter() - started:.2f} s), which is ||y - mu X w||^2 + sigma^2 ||Gamma "
            f"w||^2. The cross term is {_readable(sp.Add(*cross))}, i.e. -2 mu y^T X w (no "
            "transpose on R o X).",
            scope=GENERAL,
        )
    for rows, cols in sizes:
        arrays = _problem(rows, cols)
        expected = _expected_perturbed_loss(rows, cols, arrays, draw)
        closed = expected_loss_at(rows, cols, arrays, mu, sigma**2)
        if sp.expand(expected - closed) != 0:
            return ProofOutcome(
                ProofStatus.REFUTED,
                "E of noise.perturbed_loss against noise.expected_loss",
                f"differs at N = {rows}, P = {cols}",
                scope=finite_scope(N=[rows], P=[cols]),
            )
    arrays = _problem(2, 2)
    noise = [[_copy(draw, a, b) for b in range(1, 3)] for a in range(1, 3)]
    perturbed = sum(noise[0][b] * arrays[X][0][b] * arrays[w][b] for b in range(2))
    cross_term = sp.factor(moments.expectation(-2 * arrays[y][0] * perturbed))
    return ProofOutcome(
        ProofStatus.PROVED,
        "noise.perturbed_loss expanded with iid sympy.stats Normal(mu, sigma) draws; E by "
        "linearity and independence (one-variable moments from sympy.stats), against "
        "noise.expected_loss with noise.gamma",
        f"exact for (N, P) in {', '.join(map(str, sizes))} with symbolic X, y, w, mu, sigma "
        f"({time.perf_counter() - started:.2f} s). The cross term of sample 1 is E[-2 y_1 (R o "
        f"X)_1 w] = {cross_term}, i.e. -2 mu y^T X w over all samples (no transpose on R o X)."
        + _not_general(gap),
        # The pairs themselves: finite_scope(N=..., P=...) would claim every combination.
        scope=finite_points(("N", "P"), sizes),
    )


def _inverted_dropout() -> sp.Expr:
    """One inverted-dropout draw M / kappa: dropout.scaling at x = 1 under the keep-probability
    reading of dropout.mask."""
    variant = dropout.MASK.variant("p-is-keep-probability")
    return dropout.output_distribution(variant, sp.Integer(1)).xreplace({dropout.p: keep})


def _prove_dropout_special_case(rows: int = DROPOUT_ROWS, cols: int = DROPOUT_COLS) -> ProofOutcome:
    """With Bernoulli(kappa) draws (noise.dropout_draw) the same closed form holds with
    mu = E[R] and sigma^2 = Var[R]; with inverted dropout, R = M / kappa from dropout.scaling,
    mu = 1 and sigma^2 = (1 - kappa)/kappa."""
    draw = DROPOUT_DRAW.canonical.relations[R[i, j]]
    mean, var = (
        moments.moment(draw, 1),
        sp.factor(moments.moment(draw, 2) - moments.moment(draw, 1) ** 2),
    )
    inverted = _inverted_dropout()
    inv_mean, inv_var = sp.simplify(stats.E(inverted)), sp.factor(stats.variance(inverted))
    _, bernoulli_gap = _general_expected_loss(lambda power: moments.moment(draw, power), mean, var)
    _, inverted_gap = _general_expected_loss(
        lambda power: moments.expectation(inverted**power), inv_mean, inv_var
    )
    gap = "; ".join(g for g in (bernoulli_gap, inverted_gap) if g)
    if gap:
        refuted = _finite_dropout_special_case(rows, cols, (mean, var), (inv_mean, inv_var))
        if refuted is not None:
            return refuted
    ok = inv_mean == 1
    kappa = sp.Symbol("kappa", positive=True)
    shown_var, shown_inv_var = sp.factor(-var.subs(keep, kappa)) * -1, inv_var.subs(keep, kappa)
    shown_mean = mean.subs(keep, kappa)
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        (
            "symbolic N, P: the sum normal form of noise.expected_loss.exact's proof"
            if not gap
            else "E of noise.perturbed_loss"
        )
        + " with Bernoulli draws (noise.dropout_draw) and with inverted-dropout draws M/kappa "
        "(dropout.scaling at x = 1), against noise.expected_loss at the draws' mean and variance",
        f"{'every N and P' if not gap else f'N = {rows}, P = {cols}'}, symbolic: R ~ "
        f"Bernoulli(kappa) gives mu = {shown_mean}, sigma^2 = {shown_var}; inverted dropout "
        f"gives mu = {inv_mean}, sigma^2 = {shown_inv_var} (= p/(1 - p) with the drop "
        "probability p = 1 - kappa, as in dropout.moments); both match the closed form exactly"
        + ("." + _not_general(gap) if gap else ""),
        scope=("" if not ok else GENERAL if not gap else finite_scope(N=[rows], P=[cols])),
    )


def _finite_dropout_special_case(
    rows: int,
    cols: int,
    bernoulli: tuple[sp.Expr, sp.Expr],
    inverted_moments: tuple[sp.Expr, sp.Expr],
) -> ProofOutcome | None:
    """The dropout case at an explicit N x P: None if both kinds of draws match the closed form
    at their (mean, variance)."""
    arrays = _problem(rows, cols)
    draw = DROPOUT_DRAW.canonical.relations[R[i, j]]
    bernoulli_ok = (
        sp.expand(
            _expected_perturbed_loss(rows, cols, arrays, draw)
            - expected_loss_at(rows, cols, arrays, *bernoulli)
        )
        == 0
    )
    inverted = _inverted_dropout()
    random_mask = next(iter(inverted.atoms(stats.rv.RandomSymbol)))
    copies = [
        [inverted.xreplace({random_mask: stats.Bernoulli(f"M_{a}_{b}", keep)}) for b in range(cols)]
        for a in range(rows)
    ]
    loss = instantiate(
        PERTURBED_LOSS.canonical.expression("ell"), rows, cols, {**arrays, R: copies}
    )
    inverted_ok = (
        sp.expand(
            moments.expectation(loss) - expected_loss_at(rows, cols, arrays, *inverted_moments)
        )
        == 0
    )
    if bernoulli_ok and inverted_ok:
        return None
    return ProofOutcome(
        ProofStatus.REFUTED,
        "E of noise.perturbed_loss with "
        + ("Bernoulli draws" if not bernoulli_ok else "inverted-dropout draws M/kappa")
        + " against noise.expected_loss at the draws' mean and variance",
        f"differs at N = {rows}, P = {cols}",
        scope=finite_scope(N=[rows], P=[cols]),
    )


# ---------------------------------------------------------------------------------------------
# Q11: the information bottleneck. The encoder's outputs are functions of its parameter
# theta_e, the decoder's log-probability of the label a function of z and theta_d; the sample V
# is an external input (a symbol), as Q11(b) says SGD treats it.

theta_e, theta_d = sp.symbols("theta_e theta_d", real=True)


def _vib_terms() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """The task term log q(y | z) at z from noise.vib_sample and the regularizer KL(N(mu_z,
    sigma_z^2) || N(0, 1)), both in theta_e and theta_d, and that KL in mu, sigma (by
    sympy.stats: the expectation under N(mu, sigma^2) of the log-ratio of the densities)."""
    mean = sp.Function("mu_e")(theta_e)
    spread = sp.exp(sp.Function("s_e")(theta_e))  # the encoder's sigma > 0
    outer = sp.Symbol("V", real=True)
    latent = VIB_SAMPLE.canonical.expression("zvib").xreplace(
        {vdraw: outer, muz: mean, sigz: spread}
    )
    task = sp.Function("log_q")(latent, theta_d)
    m, s_ = sp.Symbol("mu", real=True), sp.Symbol("sigma", positive=True)
    value = sp.Symbol("zeta", real=True)

    def log_normal(centre: sp.Expr, sd: sp.Expr) -> sp.Expr:
        return -((value - centre) ** 2) / (2 * sd**2) - sp.log(sd) - sp.log(2 * sp.pi) / 2

    log_ratio = sp.expand(log_normal(m, s_) - log_normal(0, sp.Integer(1)))
    divergence = sp.simplify(
        moments.expectation(log_ratio.xreplace({value: stats.Normal("Zs", m, s_)}))
    )
    return task, divergence.xreplace({m: mean, s_: spread}), divergence


def _prove_vib_gradient_paths() -> ProofOutcome:
    """Which terms of (14) reach which parameters: dL/d(term) times d(term)/d(theta)."""
    task, divergence, shown_kl = _vib_terms()
    objective = VIB_OBJECTIVE.canonical.expression("Lvib").subs(N, 1).doit()
    terms = {"task loss": (logq[1], task), "latent regularizer": (kl[1], divergence)}
    reach = {
        (name, who): sp.simplify(sp.diff(objective, symbol) * sp.diff(term, parameter)) != 0
        for name, (symbol, term) in terms.items()
        for who, parameter in (("encoder", theta_e), ("decoder", theta_d))
    }
    printed = {
        ("task loss", "encoder"): True,
        ("task loss", "decoder"): True,
        ("latent regularizer", "encoder"): True,
        ("latent regularizer", "decoder"): False,
    }
    ok = reach == printed
    shown = "; ".join(
        f"{who}: "
        + (", ".join(name for (name, by), hit in reach.items() if by == who and hit) or "none")
        for who in ("encoder", "decoder")
    )
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "noise.vib_objective for one sample with the task term log q(y | z) at z from "
        "noise.vib_sample (mu_z, sigma_z functions of theta_e, V an external input) and the "
        "regularizer KL(N(mu_z, sigma_z^2) || N(0, 1)) by sympy.stats; dL/d(term) times "
        "d(term)/d(theta)",
        f"the gradients reach {shown}"
        + (" (the solution's boxes)" if ok else " (the solution's boxes differ)")
        + f". KL = {shown_kl}, free of theta_d; the task term reaches theta_e only through "
        "Z = V sigma_z + mu_z",
        scope=GENERAL if ok else "",
    )


def _prove_vib_task_sign() -> ProofOutcome:
    """Eq. (14) as printed adds E log q(y_n | z): a descent step on theta_d changes log q by
    -lr dL/dlogq (dlogq/dtheta_d)^2, so it lowers the label's log-probability whenever
    dL/dlogq > 0."""
    objective = VIB_OBJECTIVE.canonical.expression("Lvib")
    weight = sp.simplify(sp.diff(objective.subs(N, 1).doit(), logq[1]))
    rate, score = sp.Symbol("lr", positive=True), sp.Symbol("z", real=True)
    # A two-class decoder: q(y | z) = sigmoid(theta_d z), the label the first class.
    label = sp.log(1 / (1 + sp.exp(-theta_d * score)))
    slope = sp.diff(label, theta_d)
    change = sp.simplify(-rate * weight * slope * slope)  # first order in the step
    lowers = bool(weight.is_positive)
    return ProofOutcome(
        ProofStatus.PROVED if lowers else ProofStatus.REFUTED,
        "d L / d log q(y_n | z) of noise.vib_objective; the first-order change of log q under "
        "one gradient step on the decoder",
        f"dL/dlogq = {weight}; for a sigmoid decoder one step of size lr changes log q(y | z) by "
        f"{change} to first order, negative: descending (14) as printed makes the labels less "
        "likely. The task loss is the negative log-likelihood -log q(y_n | z)",
        scope=GENERAL if lowers else "",
    )


CLAIMS = (
    Claim(
        "noise.expected_loss.exact",
        "E||y - (R o X) w||^2 = ||y - mu X w||^2 + sigma^2 ||Gamma w||^2 for iid R_ij ~ N(mu, "
        "sigma^2)",
        exam("Q5"),
        (PERTURBED_LOSS.id, EXPECTED_LOSS.id, GAMMA.id, DRAW.id),
        _prove_expected_loss,
    ),
    Claim(
        "noise.dropout_special_case",
        "Bernoulli noise (dropout) obeys the same law with mu and sigma^2 the mean and variance of "
        "the draw",
        exam("Q5", "hint"),
        (DROPOUT_DRAW.id, PERTURBED_LOSS.id, EXPECTED_LOSS.id, "dropout.scaling"),
        _prove_dropout_special_case,
    ),
    Claim(
        "noise.vib.gradient_paths",
        "The encoder learns from the task loss and the regularizer, the decoder from the task "
        "loss only",
        exam("Q11(b)"),
        (VIB_SAMPLE.id, VIB_OBJECTIVE.id),
        _prove_vib_gradient_paths,
    ),
    Claim(
        "noise.vib.task_sign",
        "Minimizing eq. (14) as printed lowers log q(y_n | z): its task term needs a minus sign",
        exam("Q11(b)", "(14)"),
        (VIB_OBJECTIVE.id,),
        _prove_vib_task_sign,
    ),
)

ERRATA = (
    {
        "id": "noise.q5_cross_term",
        "specs": ("noise.expected_loss",),
        "document": EECS182_FINAL_DOCUMENT,
        "location": "Q5, solution (the linear and the quadratic term)",
        "says": "the linear term as E[2 y^T (R o X)^T w], and the quadratic term's first sum with "
        "entries R_ik^T X_ik^T R_kj X_kj",
        "resolution": "(R o X)^T w is undefined unless N = P; the term is 2 y^T E[R o X] w = 2 mu "
        "y^T X w, as the solution then uses. The (i, j) entry of (R o X)^T (R o X) is sum_k R_ki "
        "X_ki R_kj X_kj (the next expression). Proof noise.expected_loss.exact computes the cross "
        "term and the whole expectation; the final answer ((A) = mu, (B) = sigma^2) is right.",
    },
    {
        "id": "noise.q11_task_sign",
        "specs": ("noise.vib_objective",),
        "document": EECS182_FINAL_DOCUMENT,
        "location": "Q11(b), eq. (14)",
        "says": "the loss to minimize as (1/N) sum_n E_z[log q(y_n | z)] + beta D_KL(p(Z | x_n) "
        "|| r(Z)), the regularizer outside the sum over n",
        "resolution": "The task loss is the negative log-likelihood: minimizing +log q lowers the "
        "probability of every label (proof noise.vib.task_sign), so the term is -E_z log q(y_n | "
        "z). The regularizer names x_n and belongs inside the average, as noise.vib_objective "
        "states it. Neither slip changes which terms reach which parameters "
        "(noise.vib.gradient_paths).",
    },
)
