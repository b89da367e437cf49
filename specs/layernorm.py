r"""Layer normalization, as CMU 11-785 Homework 1 Bonus (Spring 2026) sec. 6 states it: the
forward eqs. in sec. 6.1, the backward ones in sec. 6.2. The Fall 2025 edition has no LayerNorm.

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

from .model import (
    GENERAL,
    Claim,
    ProofOutcome,
    ProofStatus,
    Spec,
    SymbolInfo,
    Variant,
    finite_scope,
)
from .sources import spring
from .sums import (
    SumsAsSymbols,
    UnsupportedSum,
    replace_entries,
    residual_is_zero,
    vanishes_modulo_roots,
)

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
# Claims: eqs. (5)-(7) are the exact gradients of the forward eqs. (1)-(4). At symbolic sizes an
# identity between expressions with sums over 1..C (C a symbol) is reduced to one between
# rational functions, each sum a symbol and each square root a positive symbol (SumsAsSymbols
# and vanishes_modulo_roots of :mod:`eqconform.specs.sums`).

#: When the proof of eq. (7) at symbolic C does not go through, it differentiates eqs. (1)-(4)
#: at every C = 1..GRAD_INPUT_MAX_C instead (and finds there the size of a counterexample).
GRAD_INPUT_MAX_C = 8
#: Likewise for eqs. (5), (6): every N = 1..PARAMETER_GRADS_MAX_N and C = 1..PARAMETER_GRADS_MAX_C.
PARAMETER_GRADS_MAX_N = 3
PARAMETER_GRADS_MAX_C = 3

#: The entry the general proofs differentiate by: Z[i, p], feature p of sample i.
p = sp.Symbol("p", integer=True, positive=True)


def _relation(spec: Spec) -> sp.Expr:
    (relation,) = spec.canonical.relations.values()
    return relation


def _entry(spec: Spec, row: sp.Expr, col: sp.Expr | None = None) -> sp.Expr:
    """The spec's relation at sample ``row`` and feature ``col``, sizes left symbolic."""
    bound = {i: row} if col is None else {i: row, j: col}
    return _relation(spec).subs(bound, simultaneous=True)


def row_statistics(row: sp.Expr) -> dict[str, sp.Expr]:
    """Eqs. (1), (2) of sample ``row`` for symbolic C: ``mu`` and ``sigma2`` as expressions of
    the entries of ``Z``, their ``Sum`` over the features kept."""
    mean = _entry(MEAN, row)
    return {"mu": mean, "sigma2": _entry(VARIANCE, row).xreplace({mu[row]: mean})}


def forward_entries(row: sp.Expr, col: sp.Expr) -> dict[str, sp.Expr]:
    """Eqs. (3), (4) at ``Z[row, col]`` for symbolic C, the statistics substituted: ``Zhat`` and
    ``Ztilde`` as expressions of the entries of ``Z``, ``gamma``, ``beta`` and ``eps``."""
    statistics = row_statistics(row)
    normalized = _entry(NORMALIZE, row, col).xreplace(
        {mu[row]: statistics["mu"], sigma2[row]: statistics["sigma2"]}
    )
    output = _entry(AFFINE, row, col).xreplace({Zhat[row, col]: normalized})
    return {"Zhat": normalized, "Ztilde": output}


def grad_input_entry(row: sp.Expr, col: sp.Expr) -> sp.Expr:
    """Eq. (7) at ``dLdZ[row, col]`` for symbolic C, as an expression of ``G``, ``gamma``,
    ``eps`` and the entries of ``Z``: dL/dZhat from its chain-rule spec, ``Zhat`` and ``sigma2``
    from the forward specs."""
    claimed = replace_entries(
        _entry(GRAD_INPUT, row, col), dLdZhat, lambda r, c: _entry(GRAD_NORMALIZED, r, c)
    )
    claimed = replace_entries(claimed, Zhat, lambda r, c: forward_entries(r, c)["Zhat"])
    return replace_entries(claimed, sigma2, lambda r: row_statistics(r)["sigma2"])


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


def _grad_input_sides() -> tuple[sp.Expr, sp.Expr, SumsAsSymbols]:
    """sympy.diff of the forward specs by ``Z[i, p]``, and eq. (7) at ``(i, p)``, sums named.

    L = sum over every sample r and feature c of G[r, c] Ztilde[r, c], with N and C symbolic:
    the derivative of another sample's outputs is left to SymPy (and found zero), not assumed.
    """
    row, col = (
        sp.Dummy("r", integer=True, positive=True),
        sp.Dummy("c", integer=True, positive=True),
    )
    loss = sp.Sum(G[row, col] * forward_entries(row, col)["Ztilde"], (col, 1, C), (row, 1, N))
    sums = SumsAsSymbols({i: N, p: C})
    return sums(sp.diff(loss, Z[i, p])), sums(grad_input_entry(i, p)), sums


def _prove_grad_input(max_width: int = GRAD_INPUT_MAX_C) -> ProofOutcome:
    r"""Eq. (7) equals :math:`\partial L / \partial Z_{ij}` of eqs. (1)-(4), for every N and C.

    Proved at symbolic N and C (see :func:`_grad_input_sides`); if that does not reduce to
    zero, eq. (7) is checked at every C = 1..max_width, which finds a counterexample's size or
    proves those sizes only.
    """
    started = time.perf_counter()
    try:
        exact, claimed, sums = _grad_input_sides()
        vanishes = vanishes_modulo_roots(exact - claimed)
        why = "the residual is not identically zero"
    except UnsupportedSum as error:
        vanishes, why = False, f"SymPy's derivative has {error}"
    if not vanishes:
        return _grad_input_finite(max_width, f"the proof at symbolic C does not go through ({why})")
    return ProofOutcome(
        ProofStatus.PROVED,
        "symbolic N, C: sympy.diff of L = sum_rc G_rc Ztilde_rc (specs (1)-(4) substituted into "
        "each other, their Sums kept) by Z_ip; every Sum expanded by linearity, the "
        "KroneckerDelta(m, p) sums collapsed to m = p (1 <= p <= C), each remaining Sum named "
        "by a symbol; minus eq. (7) with dL/dZhat from its chain-rule spec, the residual is the "
        "zero rational function once eps is written through sqrt(sigma^2 + eps) = s > 0",
        f"exact for every N, C >= 1, every G, gamma and eps > 0 "
        f"({time.perf_counter() - started:.1f} s); the derivative's sums: {sums.describe(exact)}",
        scope=GENERAL,
    )


def _grad_input_finite(max_width: int, general: str) -> ProofOutcome:
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
        f"exact for C = 1..{max_width} ({elapsed:.1f} s); {general}",
        scope=finite_scope(C=widths),
    )


def _parameter_grads_finite(max_rows: int, max_width: int, general: str) -> ProofOutcome:
    """Eqs. (5) and (6) against sympy.diff of eq. (4) at every N = 1..max_rows, C = 1..max_width."""
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
        f"exact for every N = 1..{max_rows}, C = 1..{max_width}; {general}",
        scope=finite_scope(N=all_rows, C=widths),
    )


def _prove_parameter_grads(
    max_rows: int = PARAMETER_GRADS_MAX_N, max_width: int = PARAMETER_GRADS_MAX_C
) -> ProofOutcome:
    """Eqs. (5) and (6) equal dL/dgamma_j and dL/dbeta_j of eq. (4), for every N and C.

    L = sum_rc G_rc Ztilde_rc at symbolic N and C is differentiated by gamma_p and beta_p; the
    sums are reduced as for eq. (7). If that does not go through, every N = 1..max_rows and
    C = 1..max_width is checked instead.
    """
    row, col = (
        sp.Dummy("r", integer=True, positive=True),
        sp.Dummy("c", integer=True, positive=True),
    )
    affine = _entry(AFFINE, row, col)
    loss = sp.Sum(G[row, col] * affine, (col, 1, C), (row, 1, N))
    failed: list[str] = []
    for spec, parameter in ((GRAD_GAMMA, gamma), (GRAD_BETA, beta)):
        sums = SumsAsSymbols({p: C})
        try:
            residual = sums(sp.diff(loss, parameter[p])) - sums(_relation(spec).subs(j, p))
            if sp.expand(residual) != 0:
                failed.append(f"{parameter}: the residual is not identically zero")
        except UnsupportedSum as error:
            failed.append(f"{parameter}: SymPy's derivative has {error}")
    if failed:
        why = "; ".join(failed)
        return _parameter_grads_finite(
            max_rows, max_width, f"the proof at symbolic N, C does not go through ({why})"
        )
    return ProofOutcome(
        ProofStatus.PROVED,
        "symbolic N, C: sympy.diff of L = sum_rc G_rc Ztilde_rc (eq. (4)) by gamma_p and beta_p; "
        "the KroneckerDelta(c, p) sum over the features collapsed to c = p (1 <= p <= C), the "
        "sum over the samples named; equal to eqs. (5) and (6) at feature p",
        "exact for every N, C >= 1 and every G, Zhat: Zhat does not depend on gamma or beta",
        scope=GENERAL,
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
