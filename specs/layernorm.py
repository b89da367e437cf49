r"""Layer normalization, as CMU 11-785 Homework 1 Bonus (Spring 2026) sec. 6 states it.

Forward, eqs. (1)-(4), for ``Z`` of shape (N, C), statistics per row i over the features j:

.. math::

    \mu_i = \frac1C \sum_j Z_{ij}, \quad
    \sigma_i^2 = \frac1C \sum_j (Z_{ij} - \mu_i)^2, \quad
    \hat Z_{ij} = \frac{Z_{ij} - \mu_i}{\sqrt{\sigma_i^2 + \epsilon}}, \quad
    \tilde Z_{ij} = \gamma_j \hat Z_{ij} + \beta_j

Backward, eqs. (5)-(7), with :math:`G = \partial L / \partial \tilde Z` the upstream gradient
and :math:`\partial L / \partial \hat Z_{ij} = G_{ij} \gamma_j` (the chain rule through eq. (4)).

Indices: ``i`` runs along axis 0 (samples), ``j`` and ``k`` along axis 1 (features), so the
compiler turns a sum over ``j`` into a row reduction and a sum over ``i`` into a column one.
"""

from __future__ import annotations

import itertools
import time

import sympy as sp

from .model import Claim, ProofOutcome, ProofStatus, Spec, SymbolInfo, Variant, finite_scope
from .sources import spring

__all__ = ["CLAIMS", "SPECS"]

i, j, k = sp.symbols("i j k", integer=True, positive=True)
N, C = sp.symbols("N C", integer=True, positive=True)
AXES = {i: 0, j: 1, k: 1}

Z, mu, sigma2 = sp.IndexedBase("Z"), sp.IndexedBase("mu"), sp.IndexedBase("sigma2")
Zhat, Ztilde = sp.IndexedBase("Zhat"), sp.IndexedBase("Ztilde")
gamma, beta = sp.IndexedBase("gamma"), sp.IndexedBase("beta")
G, dLdZhat, dLdZ = sp.IndexedBase("G"), sp.IndexedBase("dLdZhat"), sp.IndexedBase("dLdZ")
dLdgamma, dLdbeta = sp.IndexedBase("dLdgamma"), sp.IndexedBase("dLdbeta")
eps = sp.Symbol("eps", positive=True)

SYMBOLS = {
    "Z": SymbolInfo(Z, "input, N x C", display="Z"),
    "mu": SymbolInfo(mu, "per-sample mean, N x 1", display="mu"),
    "sigma2": SymbolInfo(sigma2, "per-sample variance, N x 1", sp.Interval(0, sp.oo), "sigma^2"),
    "Zhat": SymbolInfo(Zhat, "normalized input, N x C", display="Zhat"),
    "Ztilde": SymbolInfo(Ztilde, "output, N x C", display="Ztilde"),
    "gamma": SymbolInfo(gamma, "scale, 1 x C", display="gamma"),
    "beta": SymbolInfo(beta, "shift, 1 x C", display="beta"),
    "eps": SymbolInfo(eps, "numerical-stability constant", sp.Interval.open(0, sp.oo), "epsilon"),
    "G": SymbolInfo(G, "upstream gradient dL/dZtilde, N x C", display="dL/dZtilde"),
    "dLdZhat": SymbolInfo(dLdZhat, "gradient with respect to Zhat, N x C", display="dL/dZhat"),
    "dLdZ": SymbolInfo(dLdZ, "gradient with respect to the input, N x C", display="dL/dZ"),
    "dLdgamma": SymbolInfo(dLdgamma, "gradient with respect to gamma, 1 x C", display="dL/dgamma"),
    "dLdbeta": SymbolInfo(dLdbeta, "gradient with respect to beta, 1 x C", display="dL/dbeta"),
    "C": SymbolInfo(C, "number of features", sp.S.Naturals),
    "N": SymbolInfo(N, "batch size", sp.S.Naturals),
}


def _symbols(*names: str) -> tuple[SymbolInfo, ...]:
    return tuple(SYMBOLS[name] for name in names)


def _spec(id: str, title: str, equation: str, names: tuple[str, ...], *variants: Variant) -> Spec:
    section = "sec. 6.1" if equation in {"(1)", "(2)", "(3)", "(4)"} else "sec. 6.2"
    return Spec(
        id=id,
        title=title,
        source=spring(section, equation),
        component="layernorm",
        symbols=_symbols(*names),
        variants=variants,
        axes=AXES,
    )


MEAN = _spec(
    "layernorm.mean",
    "LayerNorm per-sample mean",
    "(1)",
    ("mu", "Z", "C"),
    Variant("canonical", {mu[i]: sp.Sum(Z[i, j], (j, 1, C)) / C}),
)

VARIANCE = _spec(
    "layernorm.variance",
    "LayerNorm per-sample (biased) variance",
    "(2)",
    ("sigma2", "Z", "mu", "C"),
    Variant("biased", {sigma2[i]: sp.Sum((Z[i, j] - mu[i]) ** 2, (j, 1, C)) / C}),
    Variant(
        "unbiased",
        {sigma2[i]: sp.Sum((Z[i, j] - mu[i]) ** 2, (j, 1, C)) / (C - 1)},
        accepted=False,
        note="Bessel's correction (divides by C - 1), the default of numpy.var(ddof=1) and "
        "torch.var; eq. (2) divides by C.",
    ),
)

NORMALIZE = _spec(
    "layernorm.normalize",
    "LayerNorm normalization",
    "(3)",
    ("Zhat", "Z", "mu", "sigma2", "eps"),
    Variant("eps-inside-sqrt", {Zhat[i, j]: (Z[i, j] - mu[i]) / sp.sqrt(sigma2[i] + eps)}),
    Variant(
        "eps-outside-sqrt",
        {Zhat[i, j]: (Z[i, j] - mu[i]) / (sp.sqrt(sigma2[i]) + eps)},
        accepted=False,
        note="Adds epsilon to the standard deviation instead of the variance.",
    ),
)

AFFINE = _spec(
    "layernorm.affine",
    "LayerNorm scale and shift",
    "(4)",
    ("Ztilde", "gamma", "Zhat", "beta"),
    Variant("canonical", {Ztilde[i, j]: gamma[j] * Zhat[i, j] + beta[j]}),
)

GRAD_GAMMA = _spec(
    "layernorm.grad_gamma",
    "Gradient with respect to gamma",
    "(5)",
    ("dLdgamma", "G", "Zhat", "N"),
    Variant("canonical", {dLdgamma[j]: sp.Sum(G[i, j] * Zhat[i, j], (i, 1, N))}),
)

GRAD_BETA = _spec(
    "layernorm.grad_beta",
    "Gradient with respect to beta",
    "(6)",
    ("dLdbeta", "G", "N"),
    Variant("canonical", {dLdbeta[j]: sp.Sum(G[i, j], (i, 1, N))}),
)

GRAD_NORMALIZED = Spec(
    id="layernorm.grad_normalized",
    title="Gradient with respect to the normalized input (chain rule through eq. (4))",
    source=spring("sec. 6.2", "dL/dZhat in eq. (7), by the chain rule through eq. (4)"),
    component="layernorm",
    symbols=_symbols("dLdZhat", "G", "gamma"),
    variants=(Variant("canonical", {dLdZhat[i, j]: G[i, j] * gamma[j]}),),
    axes=AXES,
)

GRAD_INPUT = _spec(
    "layernorm.grad_input",
    "Gradient with respect to the input",
    "(7)",
    ("dLdZ", "dLdZhat", "Zhat", "sigma2", "eps", "C"),
    Variant(
        "canonical",
        {
            dLdZ[i, j]: (
                C * dLdZhat[i, j]
                - sp.Sum(dLdZhat[i, k], (k, 1, C))
                - Zhat[i, j] * sp.Sum(dLdZhat[i, k] * Zhat[i, k], (k, 1, C))
            )
            / (C * sp.sqrt(sigma2[i] + eps))
        },
    ),
)

SPECS = (MEAN, VARIANCE, NORMALIZE, AFFINE, GRAD_GAMMA, GRAD_BETA, GRAD_NORMALIZED, GRAD_INPUT)

# ---------------------------------------------------------------------------------------------
# Claims: eqs. (5)-(7) are the exact gradients of the forward eqs. (1)-(4).

#: The proof of eq. (7) differentiates eqs. (1)-(4) at every C = 1..GRAD_INPUT_MAX_C.
GRAD_INPUT_MAX_C = 8
#: The proof of eqs. (5), (6) differentiates eq. (4) at every N = 1..PARAMETER_GRADS_MAX_N and
#: C = 1..PARAMETER_GRADS_MAX_C.
PARAMETER_GRADS_MAX_N = 3
PARAMETER_GRADS_MAX_C = 3


def forward_row(width: int, row: int = 1) -> tuple[list[sp.Symbol], dict[str, sp.Expr]]:
    """Eqs. (1)-(4) for one row of ``width`` explicit features, built from the specs themselves.

    Returns the input symbols ``Z_row_1..Z_row_width`` and the expressions of ``Zhat`` and
    ``Ztilde`` for each feature, obtained by substituting the specs into each other and
    expanding every ``Sum`` for this width.
    """
    inputs = [sp.Symbol(f"Z_{row}_{col}", real=True) for col in range(1, width + 1)]
    concrete = {Z[row, col]: inputs[col - 1] for col in range(1, width + 1)}

    def instantiate(spec: Spec, col: int) -> sp.Expr:
        (relation,) = spec.canonical.relations.values()
        return relation.subs({i: row, j: col, C: width}).doit().xreplace(concrete)

    mean = instantiate(MEAN, 1)
    variance = instantiate(VARIANCE, 1).xreplace({mu[row]: mean})
    normalized = [
        instantiate(NORMALIZE, col).xreplace({mu[row]: mean, sigma2[row]: variance})
        for col in range(1, width + 1)
    ]
    outputs = [
        instantiate(AFFINE, col).xreplace({Zhat[row, col]: normalized[col - 1]})
        for col in range(1, width + 1)
    ]
    return inputs, {"Zhat": normalized, "Ztilde": outputs, "sigma2": variance}


def residual_is_zero(residual: sp.Expr, radicand: sp.Expr) -> bool:
    """Whether an expression in the row's inputs and ``sqrt(radicand)`` vanishes identically.

    Every term is a rational function of the inputs times a power of ``sqrt(radicand)``;
    replacing that root by a positive symbol ``s`` (with ``s**2 = radicand`` eliminated) turns
    the residual into a rational function whose numerator must cancel to the zero polynomial.
    """
    s = sp.Symbol("s", positive=True)
    replaced = residual.subs(radicand, s**2)
    numerator = sp.numer(sp.together(sp.expand(replaced)))
    return sp.expand(numerator) == 0


def _prove_grad_input(max_width: int = GRAD_INPUT_MAX_C) -> ProofOutcome:
    r"""Eq. (7) equals :math:`\partial L / \partial Z_{ij}` of eqs. (1)-(4), for C = 1..max_width.

    L = sum_j G_j Ztilde_j with a symbolic upstream gradient G and symbolic gamma, so the check
    covers every loss. The derivative is taken of the forward specs, never of a second formula.
    """
    started = time.perf_counter()
    (grad_relation,) = GRAD_INPUT.canonical.relations.values()
    (dzhat_relation,) = GRAD_NORMALIZED.canonical.relations.values()
    widths = range(1, max_width + 1)
    for width in widths:
        inputs, forward = forward_row(width)
        upstream = [sp.Symbol(f"G_{col}", real=True) for col in range(1, width + 1)]
        scales = [sp.Symbol(f"gamma_{col}", real=True) for col in range(1, width + 1)]
        outputs = [
            out.subs(gamma[col + 1], scales[col]) for col, out in enumerate(forward["Ztilde"])
        ]
        loss = sum(gi * zi for gi, zi in zip(upstream, outputs, strict=True))
        d_zhat = {
            dLdZhat[1, col]: dzhat_relation.subs({i: 1, j: col}).xreplace(
                {G[1, col]: upstream[col - 1], gamma[col]: scales[col - 1]}
            )
            for col in range(1, width + 1)
        }
        zhat = {Zhat[1, col]: forward["Zhat"][col - 1] for col in range(1, width + 1)}
        radicand = forward["sigma2"] + eps
        for col in range(1, width + 1):
            claimed = (
                grad_relation.subs({i: 1, j: col, C: width}).doit().xreplace(d_zhat).xreplace(zhat)
            ).xreplace({sigma2[1]: forward["sigma2"]})
            exact = sp.diff(loss, inputs[col - 1])
            if not residual_is_zero(exact - claimed, radicand):
                return ProofOutcome(
                    ProofStatus.REFUTED,
                    "differentiated eqs. (1)-(4) with SymPy and compared with eq. (7)",
                    f"differs at C = {width}, feature {col}",
                    scope=finite_scope(C=[width]),
                )
    elapsed = time.perf_counter() - started
    return ProofOutcome(
        ProofStatus.PROVED,
        f"for every C from 1 to {max_width}: L = sum_j G_j Ztilde_j with symbolic G, gamma, eps; "
        "sympy.diff of the forward specs (1)-(4) minus eq. (7) reduces to the zero polynomial "
        "after writing sqrt(sigma^2 + eps) as a positive symbol",
        f"exact for C = 1..{max_width} ({elapsed:.1f} s); the general-C statement is not proved "
        "symbolically",
        scope=finite_scope(C=widths),
    )


def _prove_parameter_grads(
    max_rows: int = PARAMETER_GRADS_MAX_N, max_width: int = PARAMETER_GRADS_MAX_C
) -> ProofOutcome:
    """Eqs. (5) and (6) equal dL/dgamma_j and dL/dbeta_j of eq. (4) for small N x C."""
    (dgamma_relation,) = GRAD_GAMMA.canonical.relations.values()
    (dbeta_relation,) = GRAD_BETA.canonical.relations.values()
    (affine_relation,) = AFFINE.canonical.relations.values()
    all_rows, widths = range(1, max_rows + 1), range(1, max_width + 1)
    for rows, width in itertools.product(all_rows, widths):
        cells = list(itertools.product(range(1, rows + 1), range(1, width + 1)))
        loss = sum(G[r, c] * affine_relation.subs({i: r, j: c}) for r, c in cells)
        for col in range(1, width + 1):
            for relation, parameter in ((dgamma_relation, gamma), (dbeta_relation, beta)):
                claimed = relation.subs({j: col, N: rows}).doit()
                if sp.expand(sp.diff(loss, parameter[col]) - claimed) != 0:
                    return ProofOutcome(
                        ProofStatus.REFUTED,
                        "differentiated eq. (4) with SymPy",
                        f"{parameter} differs at N = {rows}, C = {width}, feature {col}",
                        scope=finite_scope(N=[rows], C=[width]),
                    )
    return ProofOutcome(
        ProofStatus.PROVED,
        "sympy.diff of L = sum_ij G_ij Ztilde_ij (eq. (4)) with respect to gamma_j and beta_j, "
        "compared term by term with eqs. (5) and (6)",
        f"exact for every N = 1..{max_rows}, C = 1..{max_width}; eq. (4) is linear in gamma and "
        "beta and Zhat does not depend on them, so the identity holds for every N and C",
        scope=finite_scope(N=all_rows, C=widths),
    )


CLAIMS = (
    Claim(
        id="layernorm.grad_input.exact",
        title="Eq. (7) is the exact gradient of eqs. (1)-(4) with respect to Z",
        source=spring("sec. 6.2", "(7)"),
        specs=(
            "layernorm.grad_input",
            "layernorm.grad_normalized",
            "layernorm.mean",
            "layernorm.variance",
            "layernorm.normalize",
            "layernorm.affine",
        ),
        prove=_prove_grad_input,
    ),
    Claim(
        id="layernorm.parameter_grads.exact",
        title="Eqs. (5) and (6) are the exact gradients of eq. (4) with respect to gamma and beta",
        source=spring("sec. 6.2", "(5), (6)"),
        specs=("layernorm.grad_gamma", "layernorm.grad_beta", "layernorm.affine"),
        prove=_prove_parameter_grads,
    ),
)
