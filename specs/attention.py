r"""Attention, as UC Berkeley EECS 182 Homework 7 (Spring 2023) states it in Q3-Q5.

Q3, statistics of a dot product of two independent random vectors
:math:`q, k \sim \mathcal N(\mu, \sigma^2 I)` in :math:`\mathbb R^D`, and the scale that gives
unit variance:

.. math::

    E[q^\top k] = \|\mu\|^2, \qquad
    \mathrm{Var}[q^\top k] = 2\sigma^2\|\mu\|^2 + D\sigma^4, \qquad s = \sqrt D .

Q4, argmax attention (the value of the key with the largest inner product); Q5, softmax
attention eq. (8)/(10), kernel attention eq. (9) with the quadratic kernel
:math:`(q^\top k + 1)^2 = \phi(q)^\top\phi(k)`, and linearized attention eq. (11):

.. math::

    S_{ij} = \frac{Q_i^\top K_j}{\sqrt D}, \quad
    A_{ij} = \frac{e^{S_{ij}}}{\sum_{j'} e^{S_{ij'}}}, \quad
    O_i = \sum_j A_{ij} V_j, \qquad
    V'_i = \frac{\sum_j \mathrm{sim}(Q_i, K_j) V_j}{\sum_j \mathrm{sim}(Q_i, K_j)} \;(9), \qquad
    V'_i = \frac{\phi(Q_i)^\top \sum_j \phi(K_j) V_j^\top}{\phi(Q_i)^\top \sum_j \phi(K_j)} \;(11)

Layout: query positions ``i`` run along axis 0, key positions ``j``, ``jj`` along axis 1, query
and key features ``t`` and kernel features ``c`` along axis 2, value features ``l`` along axis
3; so ``Q`` is (N_q, 1, D, 1), ``K`` is (1, N, D, 1), ``V`` is (1, N, 1, M), scores and weights are
(N_q, N, 1, 1) and outputs (N_q, 1, 1, M).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

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
    finite_points,
    finite_scope,
    single_form_spec,
)
from .model import instantiate as instantiate_entries
from .sources import EECS182_HW7_DOCUMENT, hw7
from .sums import Limit, UnsupportedSum, peel_last, substitute, sum_normal_form

__all__ = [
    "ARGMAX",
    "CLAIMS",
    "DOT_STATISTICS",
    "DOT_VARIANCE_GENERAL",
    "ERRATA",
    "FEATURE_MAP",
    "KERNEL_OUTPUT",
    "LAYER_RESIDUAL",
    "LINEAR_OUTPUT",
    "OUTPUT",
    "PRINTED_ARGMAX_EXAMPLE",
    "PRINTED_COMPLEXITY",
    "PRODUCT_VARIANCE",
    "PROJECTIONS",
    "QUADRATIC_KERNEL",
    "SCALE",
    "SCORES",
    "SOFTMAX",
    "SPECS",
    "instantiate",
    "printed_feature_map",
]

i, j, jj, t, c, l = sp.symbols("i j jj t c l", integer=True, positive=True)
u, e = sp.symbols("u e", integer=True, positive=True)
N, D, C = sp.symbols("N D C", integer=True, positive=True)
F, M = sp.symbols("F M", integer=True, positive=True)
# A second feature index u (a covariance's column) and the input features e get axis 4: the
# specs that use them are proof only, so this layout only has to lower.
AXES = {i: 0, j: 1, jj: 1, t: 2, c: 2, l: 3, u: 4, e: 4}

Q, K, V = sp.IndexedBase("Q"), sp.IndexedBase("K"), sp.IndexedBase("V")
S, A, O = sp.IndexedBase("S"), sp.IndexedBase("A"), sp.IndexedBase("O")
Sdot, Amax, Omax = sp.IndexedBase("Sdot"), sp.IndexedBase("Amax"), sp.IndexedBase("Omax")
sim, kphi, Okern = sp.IndexedBase("sim"), sp.IndexedBase("kphi"), sp.IndexedBase("Okern")
phiQ, phiK, Olin = sp.IndexedBase("phiQ"), sp.IndexedBase("phiK"), sp.IndexedBase("Olin")
mu = sp.IndexedBase("mu")
sigma = sp.Symbol("sigma", positive=True)
s = sp.Symbol("s", positive=True)
Edot, Vdot = sp.Symbol("Edot", real=True), sp.Symbol("Vdot", nonnegative=True)
x, WQ, WK, WV = (sp.IndexedBase(name) for name in ("x", "WQ", "WK", "WV"))
Hres = sp.IndexedBase("Hres")
Sq, Sk = sp.IndexedBase("Sq"), sp.IndexedBase("Sk")
Vgen = sp.Symbol("Vgen", nonnegative=True)
Ea, Eb = sp.Symbol("Ea", real=True), sp.Symbol("Eb", real=True)
Va, Vb = sp.Symbol("Va", nonnegative=True), sp.Symbol("Vb", nonnegative=True)
Vprod = sp.Symbol("Vprod", nonnegative=True)

POSITIVE = sp.Interval.open(0, sp.oo)

SYMBOLS = {
    "Q": SymbolInfo(Q, "queries, one row per position (N_q x D)", display="Q"),
    "K": SymbolInfo(K, "keys, one row per position (N x D)", display="K"),
    "V": SymbolInfo(V, "values, one row per key position (N x M)", display="V"),
    "S": SymbolInfo(S, "scaled scores Q K^T / sqrt(D) (N_q x N)", display="S"),
    "A": SymbolInfo(A, "attention weights, the row-wise softmax of S", sp.Interval(0, 1), "A"),
    "O": SymbolInfo(O, "softmax attention output (N_q x M)", display="O"),
    "Sdot": SymbolInfo(Sdot, "inner products Q_i . K_j", display="s"),
    "Amax": SymbolInfo(Amax, "argmax attention weights (one-hot per row)", sp.FiniteSet(0, 1), "a"),
    "Omax": SymbolInfo(Omax, "argmax attention output", display="O"),
    "sim": SymbolInfo(
        sim, "quadratic-kernel similarity sim(Q_i, K_j)", sp.Interval(0, sp.oo), "sim"
    ),
    "kphi": SymbolInfo(
        kphi, "inner product phi(Q_i) . phi(K_j) of the feature maps", display="kphi"
    ),
    "Okern": SymbolInfo(Okern, "kernel attention output, eq. (9)", display="Vprime"),
    "phiQ": SymbolInfo(phiQ, "feature map of each query row (N_q x C)", display="phiQ"),
    "phiK": SymbolInfo(phiK, "feature map of each key row (N x C)", display="phiK"),
    "Olin": SymbolInfo(Olin, "linearized kernel attention output, eq. (11)", display="Vprime"),
    "mu": SymbolInfo(mu, "mean of every query and key component", display="mu"),
    "sigma": SymbolInfo(
        sigma, "standard deviation of every query and key component", POSITIVE, "sigma"
    ),
    "s": SymbolInfo(s, "scale dividing the dot product", POSITIVE, "s"),
    "Edot": SymbolInfo(Edot, "E[q . k]", display="E"),
    "Vdot": SymbolInfo(Vdot, "Var[q . k]", sp.Interval(0, sp.oo), "Var"),
    "N": SymbolInfo(N, "number of key (and value) positions", sp.S.Naturals),
    "D": SymbolInfo(D, "dimension of queries and keys", sp.S.Naturals),
    "C": SymbolInfo(C, "dimension of the kernel feature map", sp.S.Naturals),
    "F": SymbolInfo(F, "dimension of the input feature vectors", sp.S.Naturals),
    "M": SymbolInfo(M, "dimension of the values", sp.S.Naturals),
    "x": SymbolInfo(x, "input sequence, one feature vector per row (N x F)", display="x"),
    "WQ": SymbolInfo(WQ, "query projection (F x D)", display="W_Q"),
    "WK": SymbolInfo(WK, "key projection (F x D)", display="W_K"),
    "WV": SymbolInfo(WV, "value projection (F x M)", display="W_V"),
    "Hres": SymbolInfo(Hres, "the argument A_l(x) + x of f_l in eq. (7)", display="H"),
    "Sq": SymbolInfo(Sq, "covariance of q (D x D)", display="Sigma_q"),
    "Sk": SymbolInfo(Sk, "covariance of k (D x D)", display="Sigma_k"),
    "Vgen": SymbolInfo(Vgen, "Var[q . k] for general covariances", sp.Interval(0, sp.oo), "Var"),
    "Ea": SymbolInfo(Ea, "E[a] of the first factor", display="E[a]"),
    "Eb": SymbolInfo(Eb, "E[b] of the second factor", display="E[b]"),
    "Va": SymbolInfo(Va, "Var(a)", sp.Interval(0, sp.oo), "Var(a)"),
    "Vb": SymbolInfo(Vb, "Var(b)", sp.Interval(0, sp.oo), "Var(b)"),
    "Vprod": SymbolInfo(Vprod, "Var(a b) of independent a, b", sp.Interval(0, sp.oo), "Var(ab)"),
}


def _spec(
    id: str,
    title: str,
    section: str,
    equation: str | None,
    names: Sequence[str],
    relations: Mapping[sp.Basic, sp.Expr],
    component: str,
    statement: str = "",
    *,
    proof_only: bool = False,
    statistical: bool = False,
) -> Spec:
    return single_form_spec(
        id,
        title,
        hw7(section, equation),
        component,
        SYMBOLS,
        names,
        relations,
        AXES,
        statement=statement,
        proof_only=proof_only,
        statistical=statistical,
    )


def _dot(
    left: sp.IndexedBase, right: sp.IndexedBase, row: sp.Symbol = i, col: sp.Symbol = j
) -> sp.Expr:
    return sp.Sum(left[row, t] * right[col, t], (t, 1, D))


DOT_STATISTICS = _spec(
    "attention.dot_statistics",
    "Mean and variance of the dot product of two random vectors",
    "Q3(a), (b)",
    "E[q^T k] and Var(q^T k)",
    ("Edot", "Vdot", "mu", "sigma", "D"),
    {
        Edot: sp.Sum(mu[t] ** 2, (t, 1, D)),
        Vdot: 2 * sigma**2 * sp.Sum(mu[t] ** 2, (t, 1, D)) + D * sigma**4,
    },
    "attention",
    "q, k independent, every component normal with mean mu_t and variance sigma^2",
    statistical=True,
)
SCALE = _spec(
    "attention.scale",
    "Scale that gives the dot product unit variance",
    "Q3(c)",
    "s in terms of d",
    ("s", "D"),
    {s: sp.sqrt(D)},
    "attention",
    proof_only=True,
)
SCORES = _spec(
    "attention.scores",
    "Scaled dot-product scores",
    "Q5",
    "(8), the argument of the softmax",
    ("S", "Q", "K", "D"),
    {S[i, j]: _dot(Q, K) / sp.sqrt(D)},
    "attention",
)
SOFTMAX = _spec(
    "attention.softmax",
    "Softmax of the scores along each row",
    "Q5",
    "(8), softmax applied row-wise; (10)",
    ("A", "S", "N"),
    {A[i, j]: sp.exp(S[i, j]) / sp.Sum(sp.exp(S[i, jj]), (jj, 1, N))},
    "attention",
)
OUTPUT = _spec(
    "attention.output",
    "Softmax attention output",
    "Q5",
    "(8)",
    ("O", "A", "V", "N"),
    {O[i, l]: sp.Sum(A[i, j] * V[j, l], (j, 1, N))},
    "attention",
)
ARGMAX = _spec(
    "attention.argmax",
    "Argmax attention: the value of the key with the largest inner product",
    "Q4(a)",
    "argmax in place of softmax",
    ("Sdot", "Amax", "Omax", "Q", "K", "V", "N", "D"),
    {
        Sdot[i, j]: _dot(Q, K),
        Amax[i, j]: sp.Product(sp.Heaviside(Sdot[i, j] - Sdot[i, jj], 1), (jj, 1, N)),
        Omax[i, l]: sp.Sum(Amax[i, j] * V[j, l], (j, 1, N)),
    },
    "argmax_attention",
    "Amax[i, j] is 1 when key j's inner product is at least every other key's (ties are left open)",
)
QUADRATIC_KERNEL = _spec(
    "attention.quadratic_kernel",
    "Quadratic-kernel similarity",
    "Q5(b)(i)",
    "sim(q, k) = (q^T k + 1)^2",
    ("sim", "Q", "K", "D"),
    {sim[i, j]: (_dot(Q, K) + 1) ** 2},
    "kernel_attention",
)
FEATURE_MAP = _spec(
    "attention.feature_map",
    "The quadratic kernel's feature map reproduces the kernel",
    "Q5(b)(ii)",
    "phi(q)^T phi(k) = (q^T k + 1)^2",
    ("kphi", "Q", "K", "D"),
    {kphi[i, j]: (_dot(Q, K) + 1) ** 2},
    "kernel_attention",
    "kphi is the inner product of the feature vectors an implementation computes for Q_i and K_j",
)
KERNEL_OUTPUT = _spec(
    "attention.kernel_output",
    "Kernel attention with the quadratic kernel",
    "Q5",
    "(9)",
    ("Okern", "sim", "V", "N"),
    {Okern[i, l]: sp.Sum(sim[i, j] * V[j, l], (j, 1, N)) / sp.Sum(sim[i, jj], (jj, 1, N))},
    "kernel_attention",
)
LINEAR_OUTPUT = _spec(
    "attention.linear_output",
    "Linearized kernel attention",
    "Q5(d)",
    "(11)",
    ("Olin", "phiQ", "phiK", "V", "N", "C"),
    {
        Olin[i, l]: sp.Sum(phiQ[i, c] * sp.Sum(phiK[j, c] * V[j, l], (j, 1, N)), (c, 1, C))
        / sp.Sum(phiQ[i, c] * sp.Sum(phiK[jj, c], (jj, 1, N)), (c, 1, C))
    },
    "kernel_attention",
)

PROJECTIONS = _spec(
    "attention.projections",
    "Queries, keys and values as projections of the input sequence",
    "Q5",
    "(8), Q = x W_Q, K = x W_K, V = x W_V",
    ("Q", "K", "V", "x", "WQ", "WK", "WV", "F"),
    {
        Q[i, t]: sp.Sum(x[i, e] * WQ[e, t], (e, 1, F)),
        K[j, t]: sp.Sum(x[j, e] * WK[e, t], (e, 1, F)),
        V[j, l]: sp.Sum(x[j, e] * WV[e, l], (e, 1, F)),
    },
    "attention",
    proof_only=True,
)
LAYER_RESIDUAL = _spec(
    "attention.layer_residual",
    "The residual sum inside a transformer layer",
    "Q5",
    "(7), the argument A_l(x) + x of f_l",
    ("Hres", "O", "x"),
    {Hres[i, l]: O[i, l] + x[i, l]},
    "attention",
    "T_l(x) = f_l(H) with f_l applied to each row of H; A_l(x) = O is eq. (8)'s output",
    proof_only=True,
)
DOT_VARIANCE_GENERAL = _spec(
    "attention.dot_variance_general",
    "Variance of the dot product for general covariances",
    "Q3(b)",
    "mu^T Sigma_q mu + mu^T Sigma_k mu + tr(Sigma_q Sigma_k)",
    ("Vgen", "mu", "Sq", "Sk", "D"),
    {
        Vgen: sp.Sum(mu[t] * Sq[t, u] * mu[u], (u, 1, D), (t, 1, D))
        + sp.Sum(mu[t] * Sk[t, u] * mu[u], (u, 1, D), (t, 1, D))
        + sp.Sum(Sq[t, u] * Sk[u, t], (u, 1, D), (t, 1, D))
    },
    "attention",
    "q ~ N(mu, Sigma_q) and k ~ N(mu, Sigma_k) independent",
    proof_only=True,
)
PRODUCT_VARIANCE = _spec(
    "attention.product_variance",
    "Variance of a product of two independent variables",
    "Q3(b)",
    "Var(q_1 k_1), the alternate solution",
    ("Vprod", "Ea", "Eb", "Va", "Vb"),
    {Vprod: Ea**2 * Vb + Eb**2 * Va + Va * Vb},
    "attention",
    "a, b independent with finite variances",
    proof_only=True,
)

SPECS = (
    DOT_STATISTICS,
    SCALE,
    SCORES,
    SOFTMAX,
    OUTPUT,
    ARGMAX,
    QUADRATIC_KERNEL,
    FEATURE_MAP,
    KERNEL_OUTPUT,
    LINEAR_OUTPUT,
    PROJECTIONS,
    LAYER_RESIDUAL,
    DOT_VARIANCE_GENERAL,
    PRODUCT_VARIANCE,
)
#: A choice the document argues for, not a quantity an implementation returns.


def relation(spec: Spec, quantity: str) -> sp.Expr:
    return spec.canonical.expression(quantity)


# ---------------------------------------------------------------------------------------------
# Instantiating specs for explicit sizes (for proofs and for checks that cannot use array form).


def instantiate(
    expr: sp.Expr,
    indices: Mapping[sp.Symbol, int],
    sizes: Mapping[sp.Symbol, int],
    arrays: Mapping[sp.IndexedBase, object],
) -> sp.Expr:
    """``expr`` at concrete indices and sizes, every entry ``X[a, b]`` replaced by
    ``arrays[X][a - 1][b - 1]`` (a nested sequence or a SymPy matrix)."""
    return instantiate_entries(expr, {**indices, **sizes}, arrays)


def symbol_matrix(name: str, rows: int, cols: int, **assumptions: bool) -> list[list[sp.Symbol]]:
    return [
        [sp.Symbol(f"{name}_{a}_{b}", **assumptions) for b in range(1, cols + 1)]
        for a in range(1, rows + 1)
    ]


#: A function giving a vector's component at an index (a number or a symbol).
Entry = Callable[[sp.Expr], sp.Expr]
#: One block of a feature map: its entry, in terms of the components, and the ranges of its
#: indices, outermost first (none for a single entry).
Block = tuple[sp.Expr, tuple[Limit, ...]]

_a, _b = sp.symbols("a b", integer=True, positive=True)
_component = sp.IndexedBase("x")


def _feature_blocks(x: Entry, dim: sp.Expr) -> tuple[Block, ...]:
    """The feature map printed in Q5(b)(ii) for vectors of dimension ``dim`` (a number or a
    symbol), block by block in its order: 1; sqrt(2) x_a; x_a^2; sqrt(2) x_a x_b for a < b
    (row-major). The single definition of the printed phi: with a symbolic ``dim`` the proofs
    use it for every d at once, :func:`printed_feature_map` lists it at an explicit d."""
    root2 = sp.sqrt(2)
    return (
        (sp.Integer(1), ()),
        (root2 * x(_a), ((_a, 1, dim),)),
        (x(_a) ** 2, ((_a, 1, dim),)),
        (root2 * x(_a) * x(_b), ((_a, 1, dim), (_b, _a + 1, dim))),
    )


def _index_values(ranges: Sequence[Limit], fixed: Mapping[sp.Symbol, int]) -> Iterator[dict]:
    """Every assignment of the indices in ``ranges`` (outermost first), in row-major order."""
    if not ranges:
        yield dict(fixed)
        return
    (index, first, last), *inner = ranges
    for value in range(int(sp.sympify(first).subs(fixed)), int(sp.sympify(last).subs(fixed)) + 1):
        yield from _index_values(inner, {**fixed, index: value})


def printed_feature_map(x: Sequence[sp.Expr]) -> list[sp.Expr]:
    """The feature map as printed in Q5(b)(ii), in its order (:func:`_feature_blocks` at
    d = len(x)): 1, sqrt(2) x_t, x_t^2, then sqrt(2) x_a x_b for a < b (row-major)."""
    components = {_component[n]: value for n, value in enumerate(x, start=1)}
    return [
        entry.xreplace(values).xreplace(components)
        for entry, ranges in _feature_blocks(_component.__getitem__, len(x))
        for values in _index_values(ranges, {})
    ]


def _nested_sum(expr: sp.Expr, ranges: Sequence[Limit]) -> sp.Expr:
    """``expr`` summed over ``ranges``, outermost first (SymPy lists the innermost first)."""
    for limit in reversed(ranges):
        expr = sp.Sum(expr, limit)
    return expr


def _feature_inner_product(x: Entry, y: Entry, dim: sp.Expr) -> sp.Expr:
    """phi(x).phi(y) for the printed phi, one Sum per block (symbolic in ``dim``)."""
    return sp.Add(
        *(
            _nested_sum(left * right, ranges)
            for (left, ranges), (right, _) in zip(
                _feature_blocks(x, dim), _feature_blocks(y, dim), strict=True
            )
        )
    )


# ---------------------------------------------------------------------------------------------
# Sums with symbolic limits. SymPy's simplify neither pulls factors out of a Sum nor exchanges
# nested Sums, so the general proofs bring both sides of an identity to one normal form
# (:func:`~eqconform.specs.sums.sum_normal_form`) and compare them structurally.


def _residual(expr: sp.Expr) -> sp.Expr | str:
    """``expr`` in sum normal form: 0 when it vanishes for every value of the sizes, else the
    form left or why there is none."""
    try:
        return sum_normal_form(expr)
    except UnsupportedSum as error:
        return f"no normal form ({error})"


def _substituted(expr: sp.Expr, spec: Spec, base: sp.IndexedBase) -> sp.Expr:
    """``expr`` with every entry of ``base`` replaced by ``spec``'s relation for it, at the
    entry's indices."""
    ((lhs, rhs),) = [
        (key, value)
        for key, value in spec.canonical.relations.items()
        if isinstance(key, sp.Indexed) and key.base == base
    ]
    return substitute(expr, lhs, rhs)


# ---------------------------------------------------------------------------------------------
# Claims.

#: When a general proof does not go through, attention.dot_statistics.exact and
#: attention.feature_map.reproduces_kernel fall back to every d = 1..these (which also locates a
#: counterexample).
DOT_STATISTICS_MAX_D = 5
FEATURE_MAP_MAX_D = 6
#: Likewise the (N, D) at which attention.softmax_is_kernel_attention compares eqs. (9) and (8),
#: and the (N, C, M) at which attention.linear_equals_kernel compares eqs. (11) and (9) (these
#: tuples only, not every combination of their sizes); then the (D, N) of the printed phi's check.
SOFTMAX_KERNEL_SIZES = ((1, 1), (2, 1), (2, 2), (3, 2))
LINEAR_KERNEL_SIZES = ((1, 1, 1), (2, 2, 1), (3, 2, 2), (2, 3, 2))
PRINTED_PHI_SIZE = (2, 2)


def _dot_statistics_for_any_d() -> tuple[bool, str]:
    """Whether the spec's E and Var of q.k hold for every D, and what the proof found: one
    coordinate's E[q_t k_t] and Var[q_t k_t] from sympy.stats, Cov = 0 between two coordinates'
    products, so E and Var of the Sum over t = 1..D are the Sums of those (linearity,
    independence), compared with the spec in normal form."""
    means = sp.symbols("m_a m_b", real=True)  # mu_a, mu_b of two different coordinates
    products = [
        stats.Normal(f"q_{n}", mean, sigma) * stats.Normal(f"k_{n}", mean, sigma)
        for n, mean in zip("ab", means, strict=True)
    ]
    covariance = moments.covariance(*products)
    coordinate = {means[0]: mu[t]}
    mean = moments.expectation(products[0]).xreplace(coordinate)
    var = moments.variance(products[0]).xreplace(coordinate)
    residuals = {
        "E": _residual(sp.Sum(mean, (t, 1, D)) - relation(DOT_STATISTICS, "Edot")),
        "Var": _residual(sp.Sum(var, (t, 1, D)) - relation(DOT_STATISTICS, "Vdot")),
    }
    if covariance != 0 or any(residuals.values()):
        return False, (
            f"for symbolic d, Cov[q_a k_a, q_b k_b] = {covariance} and the spec's E, Var "
            f"differ from the Sums of one coordinate's by {residuals['E']}, {residuals['Var']}"
        )
    return True, (
        f"E[q_t k_t] = {mean}, Var[q_t k_t] = {sp.factor(var)} and Cov[q_a k_a, q_b k_b] = 0 "
        "for a != b, so E[q.k] and Var[q.k] are their Sums over t = 1..d, which are the spec's "
        "after splitting the Sum and taking the constants out; at mu = 0, sigma = 1 the "
        "variance is d"
    )


def _prove_dot_statistics(max_d: int = DOT_STATISTICS_MAX_D) -> ProofOutcome:
    started = time.perf_counter()
    general, found = _dot_statistics_for_any_d()
    if general:
        return ProofOutcome(
            ProofStatus.PROVED,
            "symbolic d: q_t, k_t independent sympy.stats Normal(mu_t, sigma); one coordinate's "
            "moments, then linearity and independence over a Sum with symbolic d (Sum "
            "manipulation), compared with the spec",
            f"{found} ({time.perf_counter() - started:.2f} s)",
            scope=GENERAL,
        )
    dims = range(1, max_d + 1)
    for d in dims:
        means = [sp.Symbol(f"mu_{n}", real=True) for n in range(1, d + 1)]
        queries = [stats.Normal(f"q_{n}", means[n - 1], sigma) for n in range(1, d + 1)]
        keys = [stats.Normal(f"k_{n}", means[n - 1], sigma) for n in range(1, d + 1)]
        dot = sum(a * b for a, b in zip(queries, keys, strict=True))
        arrays = {mu: means}
        claimed_mean = instantiate(relation(DOT_STATISTICS, "Edot"), {}, {D: d}, arrays)
        claimed_variance = instantiate(relation(DOT_STATISTICS, "Vdot"), {}, {D: d}, arrays)
        mean, var = moments.expectation(dot), moments.variance(dot)
        if sp.expand(mean - claimed_mean) != 0 or sp.expand(var - claimed_variance) != 0:
            return ProofOutcome(
                ProofStatus.REFUTED,
                "sympy.stats moments of q.k with q, k ~ N(mu, sigma^2 I)",
                f"at d = {d}: E = {sp.factor(mean)}, Var = {sp.factor(var)} ({found})",
                scope=finite_scope(d=[d]),
            )
    return ProofOutcome(
        ProofStatus.PROVED,
        "q_t, k_t independent sympy.stats Normal(mu_t, sigma); E[q.k] and Var[q.k] expanded by "
        "linearity and independence from one-variable moments, compared with the spec",
        f"exact for every d = 1..{max_d} with symbolic mu_t and sigma "
        f"({time.perf_counter() - started:.2f} s), not in general: {found}",
        scope=finite_scope(d=dims),
    )


def _prove_scale() -> ProofOutcome:
    """At mu = 0, sigma = 1 the spec gives E = 0, Var = D, so Var[q.k / s] = D / s^2 = 1 has the
    positive root s = sqrt(D); the solution's printed Var = d^2 would give s = d instead."""
    zero_mean = {sigma: 1}
    mean = relation(DOT_STATISTICS, "Edot").xreplace({mu[t]: 0}).doit()
    var = relation(DOT_STATISTICS, "Vdot").xreplace({mu[t]: 0}).doit().subs(zero_mean)
    roots = sp.solve(sp.Eq(var / s**2, 1), s)
    printed_roots = sp.solve(sp.Eq(D**2 / s**2, 1), s)
    ok = mean == 0 and roots == [relation(SCALE, "s")]
    shown = sp.Symbol("d", integer=True, positive=True)
    var, roots, printed_roots = (
        var.subs(D, shown),
        [r.subs(D, shown) for r in roots],
        [r.subs(D, shown) for r in printed_roots],
    )
    detail = (
        f"E[q.k] = {mean} and Var[q.k] = {var} at mu = 0, sigma = 1 (from "
        f"attention.dot_statistics), so Var[q.k/s] = {var}/s^2 = 1 gives s = "
        f"{roots[0] if roots else '?'}. The solution of Q3(c) writes Var[q.k] = d^2, which would "
        f"give s = {printed_roots[0] if printed_roots else '?'}; d^2 - d = "
        f"{sp.factor(shown**2 - var)} is nonzero for every d >= 2, so the printed d^2 is a typo "
        "for d."
    )
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "attention.dot_statistics at mu = 0, sigma = 1; sympy.solve for the positive s with unit "
        "variance",
        detail,
        # Symbolic in D, from the spec attention.dot_statistics (itself proved for every d).
        scope=GENERAL if ok else "",
    )


#: Q4(a): the query, keys and values of the worked example, and the printed answer.
PRINTED_ARGMAX_EXAMPLE: dict[str, Any] = {
    "query": [1, 1, 2],
    "keys": [[1, 2, 0], [0, 3, 4], [5, 0, 0], [0, 0, 1]],
    "values": [[2, 0, 1], [1, 4, 3], [0, -1, 4], [1, 0, -1]],
    "inner_products": [3, 11, 5, 2],
    "output": [1, 4, 3],
}


def _prove_argmax_example() -> ProofOutcome:
    example = PRINTED_ARGMAX_EXAMPLE
    arrays = {Q: [example["query"]], K: example["keys"], V: example["values"]}
    sizes = {N: len(example["keys"]), D: len(example["query"])}
    dots = [
        instantiate(relation(ARGMAX, "Sdot"), {i: 1, j: col}, sizes, arrays)
        for col in range(1, sizes[N] + 1)
    ]
    arrays[Sdot] = [dots]
    weights = [
        instantiate(relation(ARGMAX, "Amax"), {i: 1, j: col}, sizes, arrays)
        for col in range(1, sizes[N] + 1)
    ]
    arrays[Amax] = [weights]
    width = len(example["values"][0])  # M, the number of value features
    output = [
        instantiate(relation(ARGMAX, "Omax"), {i: 1, l: col}, sizes, arrays)
        for col in range(1, width + 1)
    ]
    ok = dots == example["inner_products"] and output == example["output"] and sum(weights) == 1
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "the spec evaluated exactly (SymPy integers) on the worked example of Q4(a), compared with "
        "the printed answer",
        f"inner products {dots}, weights {weights}, output {output}; printed: inner products "
        f"{example['inner_products']}, output {example['output']}",
        # The claim is about this one example, at its sizes.
        scope=finite_scope(N=[sizes[N]], D=[sizes[D]], M=[width]),
    )


def _softmax_attention(
    rows: int, keys: int, dim: int, arrays: dict
) -> tuple[list[sp.Expr], list[list[sp.Expr]]]:
    """The outputs of softmax attention on ``rows`` queries, and the scores."""
    sizes = {N: keys, D: dim}
    scores = [
        [
            instantiate(relation(SCORES, "S"), {i: a, j: b}, sizes, arrays)
            for b in range(1, keys + 1)
        ]
        for a in range(1, rows + 1)
    ]
    weights = [
        [
            instantiate(relation(SOFTMAX, "A"), {i: a, j: b}, sizes, {S: scores})
            for b in range(1, keys + 1)
        ]
        for a in range(1, rows + 1)
    ]
    return [
        instantiate(relation(OUTPUT, "O"), {i: a, l: 1}, sizes, {**arrays, A: weights})
        for a in range(1, rows + 1)
    ], scores


def _softmax_is_kernel_for_any_n() -> sp.Expr | str:
    """Eq. (9) with sim = exp(S) minus eq. (8), entry (i, l), for symbolic N and D, in normal
    form: softmax's denominator Sum is free of j, so it leaves the Sum of eq. (8)."""
    softmax_out = _substituted(_substituted(relation(OUTPUT, "O"), SOFTMAX, A), SCORES, S)
    kernel = substitute(relation(KERNEL_OUTPUT, "Okern"), sim[i, j], sp.exp(S[i, j]))
    return _residual(_substituted(kernel, SCORES, S) - softmax_out)


def _prove_softmax_is_kernel() -> ProofOutcome:
    """Eq. (9) with sim(q, k) = exp(q.k / sqrt(D)) is eq. (8) (the softmax, then the weighted
    sum)."""
    started = time.perf_counter()
    residual = _softmax_is_kernel_for_any_n()
    if residual == 0:
        return ProofOutcome(
            ProofStatus.PROVED,
            "symbolic N and D: attention.kernel_output with sim = exp(S) (S from "
            "attention.scores) against attention.softmax then attention.output, by Sum "
            "manipulation",
            "equal for every N, D, query row i and value column l, symbolic Q, K, V: the "
            "softmax's denominator Sum over jj does not depend on j, so it factors out of eq. "
            f"(8)'s Sum over j, which gives eq. (9) (eq. (10)) ({time.perf_counter() - started:.2f}"
            " s)",
            scope=GENERAL,
        )
    for keys, dim in SOFTMAX_KERNEL_SIZES:
        arrays = {
            Q: symbol_matrix("q", 2, dim, real=True),
            K: symbol_matrix("k", keys, dim, real=True),
            V: symbol_matrix("v", keys, 1, real=True),
        }
        softmax_out, scores = _softmax_attention(2, keys, dim, arrays)
        similarities = [[sp.exp(score) for score in row] for row in scores]
        for row in range(1, 3):
            kernel = instantiate(
                relation(KERNEL_OUTPUT, "Okern"),
                {i: row, l: 1},
                {N: keys},
                {sim: similarities, V: arrays[V]},
            )
            if sp.simplify(kernel - softmax_out[row - 1]) != 0:
                return ProofOutcome(
                    ProofStatus.REFUTED,
                    "eq. (9) with the exponential kernel against eq. (8)",
                    f"differs at N = {keys}, D = {dim}, row {row}",
                    scope=finite_scope(N=[keys], D=[dim]),
                )
    return ProofOutcome(
        ProofStatus.PROVED,
        "attention.kernel_output with sim = exp(S) (S from attention.scores) against "
        "attention.softmax then attention.output, symbolically",
        "equal for N = 1..3 keys, D = 1, 2, two query rows, symbolic Q, K, V (eq. (10)); not in "
        f"general: for symbolic N the difference's normal form is {residual}",
        scope=finite_points(("N", "D"), SOFTMAX_KERNEL_SIZES),
    )


def _reproduces_for_any_d(kernel: sp.Expr) -> sp.Expr | str | None:
    """By induction on D, phi(Q_i).phi(K_j) of the printed phi (:func:`_feature_blocks`) minus
    ``kernel`` (a spec's relation, Sums over t = 1..D of Q[i, t] K[j, t]): None when it vanishes
    for every D >= 1, else the first residual found. Base D = 1: both written out. Step D - 1 ->
    D: each Sum up to D split into the Sum up to D - 1 and its last term
    (:func:`~eqconform.specs.sums.peel_last`); the difference at D minus the difference at D - 1
    (zero by hypothesis) vanishes."""
    difference = _feature_inner_product(lambda n: Q[i, n], lambda n: K[j, n], D) - kernel
    for residual in (
        _residual(difference.subs(D, 1)),
        _residual(peel_last(difference, D) - difference.subs(D, D - 1)),
    ):
        if residual != 0:
            return residual
    return None


def _prove_feature_map(max_d: int = FEATURE_MAP_MAX_D) -> ProofOutcome:
    started = time.perf_counter()
    residual = _reproduces_for_any_d(relation(FEATURE_MAP, "kphi"))
    if residual is None:
        blocks = _feature_blocks(Q.__getitem__, D)
        size = sp.factor(sum(_nested_sum(sp.Integer(1), ranges) for _, ranges in blocks).doit())
        shown = {D: sp.Symbol("d")}
        return ProofOutcome(
            ProofStatus.PROVED,
            "induction on d with symbolic d: phi(q).phi(k) of the printed feature map of Q5(b)(ii) "
            "as one Sum per block (a double Sum over a < b for the products), against the spec; "
            "each Sum up to d split off its last term, both sides in a normal form (Sum "
            "manipulation)",
            "every d >= 1: equal at d = 1, and going from d - 1 to d both sides gain 2 q_d k_d "
            "(1 + sum_{a < d} q_a k_a) + q_d^2 k_d^2; phi has "
            f"{size.xreplace(shown)} = O(d^2) entries (the C of Q5(d)) "
            f"({time.perf_counter() - started:.2f} s)",
            scope=GENERAL,
        )
    dims = range(1, max_d + 1)
    for d in dims:
        qs = [sp.Symbol(f"q_{n}", real=True) for n in range(1, d + 1)]
        ks = [sp.Symbol(f"k_{n}", real=True) for n in range(1, d + 1)]
        gram = sum(
            a * b for a, b in zip(printed_feature_map(qs), printed_feature_map(ks), strict=True)
        )
        claimed = instantiate(
            relation(FEATURE_MAP, "kphi"), {i: 1, j: 1}, {D: d}, {Q: [qs], K: [ks]}
        )
        if sp.expand(gram - claimed) != 0:
            return ProofOutcome(
                ProofStatus.REFUTED,
                "the printed phi's inner product against (q.k + 1)^2",
                f"differs at d = {d}: {sp.factor(gram - claimed)}",
                scope=finite_scope(d=[d]),
            )
        if len(printed_feature_map(qs)) != (d + 1) * (d + 2) // 2:
            return ProofOutcome(
                ProofStatus.REFUTED,
                "length of the printed phi",
                f"d = {d}",
                scope=finite_scope(d=[d]),
            )
    return ProofOutcome(
        ProofStatus.PROVED,
        "phi(q).phi(k) of the feature map as printed in Q5(b)(ii), expanded and compared with the "
        "spec",
        f"exact for every d = 1..{max_d}; phi has (d + 1)(d + 2)/2 = O(d^2) entries (the C of "
        f"Q5(d)); not in general: the induction on d leaves {residual}",
        scope=finite_scope(d=dims),
    )


def _linear_is_kernel_for_any_size() -> sp.Expr | str:
    """Eq. (11) minus eq. (9) with sim(Q_i, K_j) = sum_c phiQ[i, c] phiK[j, c], entry (i, l),
    for symbolic N and C, in normal form (the exchange of the Sums over c and j)."""
    kernel = substitute(
        relation(KERNEL_OUTPUT, "Okern"), sim[i, j], sp.Sum(phiQ[i, c] * phiK[j, c], (c, 1, C))
    )
    return _residual(relation(LINEAR_OUTPUT, "Olin") - kernel)


def _prove_linear_equals_kernel() -> ProofOutcome:
    """Eq. (11) is eq. (9) with sim(q, k) = phi(q).phi(k) (associativity), for any feature map;
    with the printed quadratic phi it is eq. (9) with the quadratic kernel."""
    started = time.perf_counter()
    residual = _linear_is_kernel_for_any_size()
    quadratic = _reproduces_for_any_d(relation(QUADRATIC_KERNEL, "sim"))
    if residual == 0 and quadratic is None:
        return ProofOutcome(
            ProofStatus.PROVED,
            "symbolic N, C, D: attention.linear_output against attention.kernel_output with "
            "sim = sum_c phi(Q_i)_c phi(K_j)_c by Sum manipulation; then the printed phi's "
            "inner product against attention.quadratic_kernel by induction on D",
            "equal for every N, C, query row i and value column l, any feature vectors: the "
            "Sums over c and j exchange (the associativity of Q5(d)); with the printed phi "
            "(C = (D + 1)(D + 2)/2) phi(Q_i).phi(K_j) = (Q_i.K_j + 1)^2 for every D, so eq. (11) "
            "is eq. (9) with the quadratic kernel "
            f"({time.perf_counter() - started:.2f} s)",
            scope=GENERAL,
        )
    general = (
        f"not in general: for symbolic N, C the difference's normal form is {residual}, and "
        f"the induction on D for the printed phi leaves {quadratic}"
    )
    for keys, features, width in LINEAR_KERNEL_SIZES:
        fq, fk = (
            symbol_matrix("f", 2, features, real=True),
            symbol_matrix("g", keys, features, real=True),
        )
        values = symbol_matrix("v", keys, width, real=True)
        similarities = [
            [sum(fq[a][n] * fk[b][n] for n in range(features)) for b in range(keys)]
            for a in range(2)
        ]
        for row, col in itertools.product(range(1, 3), range(1, width + 1)):
            linear = instantiate(
                relation(LINEAR_OUTPUT, "Olin"),
                {i: row, l: col},
                {N: keys, C: features},
                {phiQ: fq, phiK: fk, V: values},
            )
            kernel = instantiate(
                relation(KERNEL_OUTPUT, "Okern"),
                {i: row, l: col},
                {N: keys},
                {sim: similarities, V: values},
            )
            if sp.cancel(linear - kernel) != 0:
                return ProofOutcome(
                    ProofStatus.REFUTED,
                    "eq. (11) against eq. (9)",
                    f"differs at N = {keys}, C = {features}, M = {width}",
                    scope=finite_scope(N=[keys], C=[features], M=[width]),
                )
    dim, keys = PRINTED_PHI_SIZE
    qs, ks = symbol_matrix("q", 1, dim, real=True), symbol_matrix("k", keys, dim, real=True)
    values = symbol_matrix("v", keys, 1, real=True)
    quadratic_sims = [
        [
            instantiate(relation(QUADRATIC_KERNEL, "sim"), {i: 1, j: b}, {D: dim}, {Q: qs, K: ks})
            for b in range(1, keys + 1)
        ]
    ]
    kernel = instantiate(
        relation(KERNEL_OUTPUT, "Okern"),
        {i: 1, l: 1},
        {N: keys},
        {sim: quadratic_sims, V: values},
    )
    linear = instantiate(
        relation(LINEAR_OUTPUT, "Olin"),
        {i: 1, l: 1},
        {N: keys, C: len(printed_feature_map(qs[0]))},
        {
            phiQ: [printed_feature_map(qs[0])],
            phiK: [printed_feature_map(row) for row in ks],
            V: values,
        },
    )
    if sp.cancel(sp.expand(linear - kernel)) != 0:
        return ProofOutcome(
            ProofStatus.REFUTED,
            "eq. (11) with the printed phi against eq. (9) with the quadratic kernel",
            f"differs at D = {dim}, N = {keys}",
            scope=finite_scope(D=[dim], N=[keys]),
        )
    return ProofOutcome(
        ProofStatus.PROVED,
        "attention.linear_output with symbolic feature vectors against attention.kernel_output "
        "with sim = phi(Q_i).phi(K_j); then with the printed quadratic phi against the quadratic "
        "kernel",
        "equal as rational functions for (N, C, M) in (1, 1, 1), (2, 2, 1), (3, 2, 2), (2, 3, 2) "
        "with any feature vectors (the associativity of Q5(d)), and with the printed phi for D = "
        f"{dim}, N = {keys}; {general}",
        scope=f"{finite_points(('N', 'C', 'M'), LINEAR_KERNEL_SIZES)}; printed phi at "
        f"(D, N) = ({dim}, {keys})",
    )


# ---------------------------------------------------------------------------------------------
# Q3(b) for general covariances, and the variance of a product of independent factors.

#: attention.dot_variance_general is checked at every d = 1..this (q = mu + L_q z with a
#: symbolic lower-triangular L_q, so Sigma_q = L_q L_q^T is every covariance).
GENERAL_COVARIANCE_MAX_D = 2


def _lower_triangular(name: str, dim: int) -> sp.Matrix:
    return sp.Matrix(
        dim,
        dim,
        lambda a, b: sp.Symbol(f"{name}_{a + 1}_{b + 1}", real=True) if b <= a else sp.Integer(0),
    )


def _isotropic_gap() -> sp.Expr | str:
    """attention.dot_variance_general at Sigma_q = Sigma_k = sigma^2 I minus
    attention.dot_statistics' Var, for symbolic D (0 when the general formula specializes)."""
    isotropic = sigma**2 * sp.KroneckerDelta(t, u)
    general = relation(DOT_VARIANCE_GENERAL, "Vgen")
    general = substitute(substitute(general, Sq[t, u], isotropic), Sk[t, u], isotropic)
    return _residual(general - relation(DOT_STATISTICS, "Vdot"))


def _prove_dot_variance_general(max_d: int = GENERAL_COVARIANCE_MAX_D) -> ProofOutcome:
    """Var[q.k] from sympy.stats moments for q = mu + L_q z, k = mu + L_k w (z, w independent
    standard normals) against attention.dot_variance_general with Sigma = L L^T, at every d =
    1..max_d; then its isotropic case against attention.dot_statistics for symbolic D."""
    started = time.perf_counter()
    dims = range(1, max_d + 1)
    for d in dims:
        means = [sp.Symbol(f"mu_{n}", real=True) for n in range(1, d + 1)]
        lq, lk = _lower_triangular("a", d), _lower_triangular("b", d)
        z = [stats.Normal(f"z_{n}", 0, 1) for n in range(1, d + 1)]
        w = [stats.Normal(f"w_{n}", 0, 1) for n in range(1, d + 1)]
        q, k = sp.Matrix(means) + lq * sp.Matrix(z), sp.Matrix(means) + lk * sp.Matrix(w)
        computed = moments.variance((q.T * k)[0, 0])
        claimed = instantiate(
            relation(DOT_VARIANCE_GENERAL, "Vgen"),
            {},
            {D: d},
            {mu: means, Sq: (lq * lq.T).tolist(), Sk: (lk * lk.T).tolist()},
        )
        if sp.expand(computed - claimed) != 0:
            return ProofOutcome(
                ProofStatus.REFUTED,
                "sympy.stats moments of q.k with q ~ N(mu, L_q L_q^T), k ~ N(mu, L_k L_k^T)",
                f"differs at d = {d} by {sp.factor(computed - claimed)}",
                scope=finite_scope(d=[d]),
            )
    gap = _isotropic_gap()
    if gap != 0:
        return ProofOutcome(
            ProofStatus.REFUTED,
            "attention.dot_variance_general at Sigma = sigma^2 I against attention.dot_statistics",
            f"for symbolic d the difference's normal form is {gap}",
            scope=finite_scope(d=dims),
        )
    return ProofOutcome(
        ProofStatus.PROVED,
        "q = mu + L_q z, k = mu + L_k w with z, w independent sympy.stats standard normals and "
        "symbolic lower-triangular L_q, L_k (every covariance is L L^T); Var[q.k] expanded from "
        "one-variable moments against the spec; then Sigma_q = Sigma_k = sigma^2 I for symbolic d "
        "in sum normal form against attention.dot_statistics",
        f"exact for every d = 1..{max_d} and every pair of covariances, symbolic mu "
        f"({time.perf_counter() - started:.2f} s); with Sigma = sigma^2 I it is 2 sigma^2 ||mu||^2 "
        "+ d sigma^4 for every d (the isotropic step holds in general, the covariance formula at "
        "these d)",
        scope=finite_scope(d=dims),
    )


def _prove_product_variance() -> ProofOutcome:
    """Var(ab) = E[a]^2 Var(b) + E[b]^2 Var(a) + Var(a) Var(b) for independent a, b: from
    E[(ab)^2] = E[a^2] E[b^2] and E[x^2] = Var(x) + E[x]^2 alone (any distributions), and from
    sympy.stats for the document's normal factors."""
    claimed = relation(PRODUCT_VARIANCE, "Vprod")
    # Independence: E[(ab)^2] = E[a^2] E[b^2] and E[ab] = E[a] E[b].
    from_moments = (Va + Ea**2) * (Vb + Eb**2) - (Ea * Eb) ** 2
    means, spreads = sp.symbols("m_a m_b", real=True), sp.symbols("s_a s_b", positive=True)
    a, b = (
        stats.Normal(name, mean, spread)
        for name, mean, spread in zip("ab", means, spreads, strict=True)
    )
    normal = moments.variance(a * b)
    at_normal = claimed.subs({Ea: means[0], Eb: means[1], Va: spreads[0] ** 2, Vb: spreads[1] ** 2})
    gaps = (sp.expand(from_moments - claimed), sp.expand(normal - at_normal))
    ok = gaps == (0, 0)
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "E[(ab)^2] = E[a^2] E[b^2] with E[x^2] = Var(x) + E[x]^2, expanded against the spec; and "
        "sympy.stats moments of a product of independent normals",
        f"Var(ab) - spec = {gaps[0]} for any independent a, b with finite variances; for normal "
        f"a, b: {gaps[1]}",
        scope=GENERAL if ok else "",
    )


# ---------------------------------------------------------------------------------------------
# Q4(b): what gradient argmax attention passes back.

#: The (N, D) at which attention.argmax.no_query_gradient differentiates the spec.
ARGMAX_GRADIENT_SIZES = ((2, 1), (3, 2))


def _argmax_output(keys: int, dim: int) -> tuple[sp.Expr, list, list, list, list[sp.Expr]]:
    """attention.argmax at one query row, one value column, symbolic real Q, K, V: the output,
    the query, keys and values (as symbols) and the weights."""
    query = symbol_matrix("q", 1, dim, real=True)
    key_rows = symbol_matrix("k", keys, dim, real=True)
    values = symbol_matrix("v", keys, 1, real=True)
    sizes = {N: keys, D: dim}
    arrays: dict = {Q: query, K: key_rows, V: values}
    arrays[Sdot] = [
        [
            instantiate(relation(ARGMAX, "Sdot"), {i: 1, j: b}, sizes, arrays)
            for b in range(1, keys + 1)
        ]
    ]
    weights = [
        instantiate(relation(ARGMAX, "Amax"), {i: 1, j: b}, sizes, arrays)
        for b in range(1, keys + 1)
    ]
    arrays[Amax] = [weights]
    output = instantiate(relation(ARGMAX, "Omax"), {i: 1, l: 1}, sizes, arrays)
    return output, query, key_rows, values, weights


def _prove_argmax_gradient() -> ProofOutcome:
    """sympy.diff of attention.argmax's output: with respect to Q and K a sum of DiracDelta
    terms at ties (zero wherever the largest inner product is unique), with respect to V_j the
    one-hot weight of key j."""
    started = time.perf_counter()
    for keys, dim in ARGMAX_GRADIENT_SIZES:
        output, query, key_rows, values, weights = _argmax_output(keys, dim)
        scores = list(itertools.chain.from_iterable([*query, *key_rows]))
        for variable in scores:
            derivative = sp.diff(output, variable)
            off_ties = derivative.replace(lambda node: isinstance(node, sp.DiracDelta), lambda _: 0)
            if sp.expand(off_ties) != 0:
                return ProofOutcome(
                    ProofStatus.REFUTED,
                    "sympy.diff of attention.argmax's output with respect to a query or key entry",
                    f"at N = {keys}, D = {dim} the derivative by {variable} is {off_ties} away "
                    "from ties",
                    scope=finite_scope(N=[keys], D=[dim]),
                )
        for row, weight in zip(values, weights, strict=True):
            if sp.expand(sp.diff(output, row[0]) - weight) != 0:
                return ProofOutcome(
                    ProofStatus.REFUTED,
                    "sympy.diff of attention.argmax's output with respect to a value",
                    f"at N = {keys}, D = {dim} the derivative by {row[0]} is not its weight",
                    scope=finite_scope(N=[keys], D=[dim]),
                )
    return ProofOutcome(
        ProofStatus.PROVED,
        "sympy.diff of attention.argmax (its Heaviside weights) at one query row, symbolic real "
        "Q, K, V, each DiracDelta (nonzero only where two inner products tie) then set to 0",
        "the derivative with respect to every query and key entry is zero wherever the largest "
        "inner product is unique, and the derivative with respect to V_j is the one-hot weight "
        "of key j: a gradient reaches only the selected value, never the queries or keys (nor "
        f"the projections producing them) ({time.perf_counter() - started:.2f} s)",
        scope=finite_points(("N", "D"), ARGMAX_GRADIENT_SIZES),
    )


# ---------------------------------------------------------------------------------------------
# Q5(a): the normalizer of eq. (9) with the quadratic kernel.


def _prove_quadratic_normalizer() -> ProofOutcome:
    """The quadratic kernel as a function f of the inner product q.k (attention.quadratic_kernel
    with its Sum replaced by a real symbol) is nonnegative with the real zero -1 only; so eq.
    (9)'s denominator, the Sum over j of f(Q_i.K_j), is zero exactly when Q_i.K_j = -1 for every
    j, for every N and D. Evaluated there (Q = [1], K = [[-1], [-1]]), eq. (9) is 0/0."""
    dot = sp.Symbol("s", real=True)
    kernel = relation(QUADRATIC_KERNEL, "sim").xreplace({_dot(Q, K): dot})
    nonnegative = bool(kernel.is_nonnegative)
    zeros = sorted(sp.solveset(kernel, dot, sp.S.Reals)) if kernel.free_symbols == {dot} else []
    point = {Q: [[1]], K: [[-1], [-1]]}
    sims = [
        [
            instantiate(relation(QUADRATIC_KERNEL, "sim"), {i: 1, j: b}, {D: 1}, point)
            for b in (1, 2)
        ]
    ]
    _, denominator = sp.fraction(relation(KERNEL_OUTPUT, "Okern"))
    at_point = instantiate(denominator, {i: 1}, {N: 2}, {sim: sims})
    ok = nonnegative and zeros == [-1] and at_point == 0
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "attention.quadratic_kernel as a function of the inner product s = q.k: SymPy's sign "
        "assumptions and solveset over the reals; attention.kernel_output's denominator "
        "evaluated at a point of that zero set",
        f"sim = {kernel} is {'nonnegative' if nonnegative else 'not known nonnegative'} with real "
        f"zeros {zeros}, so the denominator Sum_j sim(Q_i, K_j) is >= 0 and is zero exactly when "
        "Q_i.K_j = -1 for every j (any N, D); at Q = [1], K = [[-1], [-1]] it is "
        f"{at_point}, where eq. (9) is undefined: the quadratic kernel is nonnegative, not "
        "positive",
        scope=GENERAL if ok else "",
    )


# ---------------------------------------------------------------------------------------------
# Q5, eq. (7) with the projections of eq. (8).

#: The (N, F, D) at which attention.layer_shapes composes eq. (8) from the input x (M = F).
LAYER_SIZES = ((2, 1, 1), (2, 2, 1))


def _attention_from_input(keys: int, features: int, dim: int, width: int) -> dict:
    """Eq. (8) composed from attention.projections, attention.scores, attention.softmax and
    attention.output at explicit sizes (N = keys, F = features, D = dim, M = width), symbolic x
    and weights: ``x``, ``Q``, ``K``, ``V`` (nested lists) and ``O`` = A_l(x) (a Matrix)."""
    arrays: dict = {
        x: symbol_matrix("x", keys, features, real=True),
        WQ: symbol_matrix("wq", features, dim, real=True),
        WK: symbol_matrix("wk", features, dim, real=True),
        WV: symbol_matrix("wv", features, width, real=True),
    }
    for base, row, col, cols in ((Q, i, t, dim), (K, j, t, dim), (V, j, l, width)):
        expr = PROJECTIONS.canonical.relations[base[row, col]]
        arrays[base] = [
            [instantiate(expr, {row: a, col: b}, {F: features}, arrays) for b in range(1, cols + 1)]
            for a in range(1, keys + 1)
        ]
    sizes = {N: keys, D: dim}
    scores = [
        [
            instantiate(relation(SCORES, "S"), {i: a, j: b}, sizes, arrays)
            for b in range(1, keys + 1)
        ]
        for a in range(1, keys + 1)
    ]
    weights = [
        [
            instantiate(relation(SOFTMAX, "A"), {i: a, j: b}, sizes, {S: scores})
            for b in range(1, keys + 1)
        ]
        for a in range(1, keys + 1)
    ]
    output = sp.Matrix(
        keys,
        width,
        lambda a, b: instantiate(
            relation(OUTPUT, "O"), {i: a + 1, l: b + 1}, sizes, {V: arrays[V], A: weights}
        ),
    )
    return {"x": arrays[x], "Q": arrays[Q], "K": arrays[K], "V": arrays[V], "O": output}


def residual_widths(features: int, width: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The shapes of A_l(x) (composed from the specs) and of x at N = 2, D = 1, F =
    ``features``, M = ``width``: the two terms eq. (7) adds."""
    composed = _attention_from_input(2, features, 1, width)
    return composed["O"].shape, sp.Matrix(composed["x"]).shape


def _prove_layer_shapes() -> ProofOutcome:
    """Q, K, V are position-wise in x, A_l(x) is not, and A_l(x) + x (attention.layer_residual)
    is N x F when M = F; at M != F the two terms' shapes differ."""
    started = time.perf_counter()
    for keys, features, dim in LAYER_SIZES:
        composed = _attention_from_input(keys, features, dim, features)
        inputs, output = composed["x"], composed["O"]
        others = inputs[1]  # position 2 of x
        mixes = [
            name
            for name in ("Q", "K", "V")
            for entry in composed[name][0]
            if any(sp.diff(entry, other) != 0 for other in others)
        ]
        across = any(sp.diff(output[0, 0], other) != 0 for other in others)
        entries = {O: output.tolist(), x: inputs}
        residual = sp.Matrix(
            [
                [
                    instantiate(relation(LAYER_RESIDUAL, "Hres"), {i: a, l: b}, {}, entries)
                    for b in range(1, features + 1)
                ]
                for a in range(1, keys + 1)
            ]
        )
        expected = output + sp.Matrix(inputs)
        if mixes or not across or residual != expected:
            return ProofOutcome(
                ProofStatus.REFUTED,
                "eq. (8) composed from the projections at explicit sizes, and eq. (7)'s sum",
                f"at N = {keys}, F = {features}, D = {dim}: row 1 of {mixes or 'none'} depends "
                f"on position 2; A_l(x) depends on other positions: {across}; A_l(x) + x as "
                f"attention.layer_residual states it: {residual.tolist()}",
                scope=finite_points(("N", "F", "D"), [(keys, features, dim)]),
            )
    (out_rows, out_cols), (in_rows, in_cols) = residual_widths(2, 3)
    return ProofOutcome(
        ProofStatus.PROVED,
        "attention.projections, attention.scores, attention.softmax and attention.output "
        "composed at explicit sizes with symbolic x and weights, differentiated with respect to "
        "another position's x; attention.layer_residual evaluated with M = F",
        "row i of Q, K, V depends on row i of x only, while A_l(x) depends on every row: "
        "self-attention is the only part of eq. (7) acting across positions; with M = F, A_l(x) "
        "+ x is N x F, so T_l maps R^{N x F} to itself. With M != F it is undefined: at F = 2, "
        f"M = 3, A_l(x) is {out_rows} x {out_cols} and x is {in_rows} x {in_cols} "
        f"({time.perf_counter() - started:.2f} s)",
        scope=finite_points(("N", "F", "D"), LAYER_SIZES) + "; M = F",
    )


# ---------------------------------------------------------------------------------------------
# Q5(c), (d): time and memory, counted over the stated computations at symbolic sizes.

#: The complexities the solutions print; for (d) with M = D and C = O(D^2) substituted, as they
#: do. ``softmax_loops`` are the three double loops of (c) in order.
PRINTED_COMPLEXITY: dict[str, Any] = {
    "softmax_time": N**2 * (D + M),
    "softmax_loops": (N**2 * D, N**2 * D, N**2 * M),
    "softmax_space": N * (N + M + D),
    "linear_loops": (N * C * M, N * C, N * C * M),
    "linear_time": N * D**3,
    "linear_space": N * D + D**3,
}

#: One step of a pseudocode: its name, the loop (double loop) it belongs to, its number of
#: iterations, the operations of one iteration and the entries one iteration stores.
Step = tuple[str, int, sp.Expr, sp.Expr, sp.Expr]


def operations(expr: sp.Expr) -> sp.Expr:
    """The arithmetic operations (+, *, /, a power, exp) of evaluating ``expr`` once: a Sum over
    a symbolic range counts its terms' operations plus the additions between them."""
    if isinstance(expr, sp.Sum):
        body = operations(expr.function)
        for index, low, high in expr.limits:
            body = sp.summation(body, (index, low, high)) + (high - low)
        return sp.expand(body)
    if not expr.args or isinstance(expr, sp.Indexed):
        return sp.Integer(0)
    own = len(expr.args) - 1 if isinstance(expr, (sp.Add, sp.Mul)) else 1
    return sp.expand(own + sum((operations(arg) for arg in expr.args), sp.Integer(0)))


def feature_size() -> sp.Expr:
    """C, the number of entries of the printed quadratic feature map at dimension D."""
    blocks = _feature_blocks(lambda n: Q[i, n], D)
    return sp.factor(sum(_nested_sum(sp.Integer(1), ranges) for _, ranges in blocks).doit())


def softmax_steps() -> tuple[Step, ...]:
    """The pseudocode of Q5(c) from the specs: loop 1 the scores of attention.scores; loop 2 per
    row the denominator Z of attention.softmax once, then each weight with Z in place; loop 3
    the output of attention.output."""
    weight = relation(SOFTMAX, "A")
    _, normalizer = sp.fraction(weight)
    in_place = weight.xreplace({normalizer: sp.Symbol("Z")})
    return (
        ("S", 1, N * N, operations(relation(SCORES, "S")), sp.Integer(1)),
        ("Z", 2, N, operations(normalizer), sp.Integer(1)),
        ("A", 2, N * N, operations(in_place), sp.Integer(1)),
        ("O", 3, N * M, operations(relation(OUTPUT, "O")), sp.Integer(1)),
    )


def linear_steps(store_features: bool = True) -> tuple[Step, ...]:
    """The pseudocode of Q5(d) from attention.linear_output (eq. (11)): the printed feature map
    of every key and query (C entries each, stored for the backward pass unless
    ``store_features`` is False), U = sum_j phi(K_j) V_j^T and Z = sum_j phi(K_j) once, then per
    row the numerator (into O), the denominator, and O divided in place."""
    numerator, denominator = sp.fraction(relation(LINEAR_OUTPUT, "Olin"))
    (inner_u,) = [s for s in numerator.atoms(sp.Sum) if s.limits[0][0] == j]
    (inner_z,) = [s for s in denominator.atoms(sp.Sum) if s.limits[0][0] == jj]
    U, Z = sp.IndexedBase("U"), sp.IndexedBase("Zc")
    per_vector = sum(
        (
            _nested_sum(operations(entry), ranges).doit()
            for entry, ranges in _feature_blocks(lambda n: Q[i, n], D)
        ),
        sp.Integer(0),
    )
    stored = C if store_features else sp.Integer(0)
    one = sp.Integer(1)
    return (
        ("phi(K)", 0, N, per_vector, stored),  # loop 0: not among the printed loops
        ("phi(Q)", 0, N, per_vector, stored),
        ("U", 1, C * M, operations(inner_u), one),
        ("Z", 2, C, operations(inner_z), one),
        ("O numerator", 3, N * M, operations(numerator.xreplace({inner_u: U[c, l]})), one),
        ("O denominator", 3, N, operations(denominator.xreplace({inner_z: Z[c]})), one),
        ("O quotient", 3, N * M, one, sp.Integer(0)),  # in place
    )


def cost(steps: Sequence[Step], inputs: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Operations and stored entries of ``steps`` (the ``inputs`` Q, K, V stored as well)."""
    operations_ = sum((count * ops for _, _, count, ops, _ in steps), sp.Integer(0))
    entries = inputs + sum((count * kept for _, _, count, _, kept in steps), sp.Integer(0))
    return sp.expand(operations_), sp.expand(entries)


def _monomials(expr: sp.Expr, sizes: Sequence[sp.Symbol]) -> list[tuple[tuple[int, ...], Any]]:
    return sp.Poly(sp.expand(expr), *sizes).terms()


def bounded_by(first: sp.Expr, second: sp.Expr, sizes: Sequence[sp.Symbol]) -> bool:
    """Whether ``first`` = O(``second``) for sizes >= 1, by domination: every monomial of
    ``first`` is, exponent by exponent, at most a monomial of ``second`` with a positive
    coefficient (a sufficient condition)."""
    dominators = [powers for powers, coeff in _monomials(second, sizes) if coeff > 0]
    return all(
        any(all(a <= b for a, b in zip(powers, top, strict=True)) for top in dominators)
        for powers, _ in _monomials(first, sizes)
    )


def unbounded_witness(
    first: sp.Expr, second: sp.Expr, sizes: Sequence[sp.Symbol]
) -> dict[sp.Symbol, sp.Expr] | None:
    """A path of sizes (each a power of T) along which ``first`` / ``second`` -> infinity as
    T -> infinity: a proof that ``first`` is not O(``second``); None if none is found."""
    grow = sp.Symbol("T", positive=True)
    for weights in itertools.product(range(3), repeat=len(sizes)):
        if not any(weights):
            continue
        path = {size: grow**weight for size, weight in zip(sizes, weights, strict=True)}
        if sp.limit((first / second).subs(path), grow, sp.oo) == sp.oo:
            return path
    return None


def same_order(first: sp.Expr, second: sp.Expr, sizes: Sequence[sp.Symbol]) -> bool:
    return bounded_by(first, second, sizes) and bounded_by(second, first, sizes)


def _per_loop(steps: Sequence[Step]) -> tuple[sp.Expr, ...]:
    """The operations of the printed loops 1, 2, 3 of a pseudocode."""
    return tuple(
        sp.expand(sum((count * ops for _, loop, count, ops, _ in steps if loop == n), 0))
        for n in (1, 2, 3)
    )


def _complexities(store_features: bool = True) -> dict[str, Any]:
    """Computed time and memory of (c) and (d); (d) also with M = D and C of the printed phi."""
    softmax = softmax_steps()
    inputs_c = 2 * N * D + N * M  # Q, K and V
    time_c, space_c = cost(softmax, inputs_c)
    linear = linear_steps(store_features)
    time_d, space_d = cost(linear, inputs_c)
    quadratic = {C: feature_size(), M: D}
    return {
        "softmax_time": time_c,
        "softmax_loops": _per_loop(softmax),
        "linear_loops": _per_loop(linear),
        "softmax_space": space_c,
        "linear_time": sp.expand(time_d.subs(quadratic)),
        "linear_space": sp.expand(space_d.subs(quadratic)),
        "feature_size": quadratic[C],
    }


def _prove_complexity() -> ProofOutcome:
    """The totals of Q5(c) and Q5(d) (time, and memory for (c)) against the printed orders."""
    started = time.perf_counter()
    computed, printed = _complexities(), PRINTED_COMPLEXITY
    checks = (
        ("softmax time", computed["softmax_time"], printed["softmax_time"], (N, D, M)),
        ("softmax memory", computed["softmax_space"], printed["softmax_space"], (N, D, M)),
        *(
            (f"linear loop {n}", value, stated, (N, C, M))
            for n, (value, stated) in enumerate(
                zip(computed["linear_loops"], printed["linear_loops"], strict=True), start=1
            )
        ),
        ("linear time, M = D", computed["linear_time"], printed["linear_time"], (N, D)),
    )
    for label, value, stated, sizes in checks:
        if not same_order(value, stated, sizes):
            witness = unbounded_witness(value, stated, sizes) or unbounded_witness(
                stated, value, sizes
            )
            return ProofOutcome(
                ProofStatus.REFUTED,
                "operations and stored entries of the pseudocode counted from the specs",
                f"{label}: computed {sp.factor(value)}, printed O({stated}); the ratio is "
                f"unbounded along {witness}",
            )
    loops = [
        f"{value} ({'Theta' if same_order(value, stated, (N, D, M)) else 'not Theta'} of the "
        f"printed {stated})"
        for value, stated in zip(computed["softmax_loops"], printed["softmax_loops"], strict=True)
    ]
    recomputed = _complexities(store_features=False)["linear_space"]
    memory = ", ".join(
        f"{label} {value} ({'' if same_order(value, printed['linear_space'], (N, D)) else 'not '}"
        f"Theta of the printed {printed['linear_space']})"
        for label, value in (
            ("with phi(Q), phi(K) stored", computed["linear_space"]),
            ("recomputed", recomputed),
        )
    )
    return ProofOutcome(
        ProofStatus.PROVED,
        "the pseudocode of Q5(c) and (d) as steps built from attention.scores, attention.softmax, "
        "attention.output and attention.linear_output (feature maps from the printed phi); "
        "operations per step counted over their Sums with sympy.summation at symbolic N, D, M, "
        "C; the orders compared by monomial domination both ways",
        f"softmax time {computed['softmax_time']} = Theta(N^2 (D + M)), memory "
        f"{computed['softmax_space']} = Theta(N (N + M + D)); the loops of (d) "
        f"{', '.join(map(str, computed['linear_loops']))} = Theta(N C M), Theta(N C), Theta(N C "
        f"M), and with the feature maps, C = {computed['feature_size']} and M = D the time is "
        f"{computed['linear_time']} = Theta(N D^3), as printed. The loops of (c) count "
        f"{'; '.join(loops)}; (d)'s memory at M = D: {memory} "
        f"({time.perf_counter() - started:.2f} s)",
        scope=GENERAL,
    )


CLAIMS = (
    Claim(
        "attention.dot_statistics.exact",
        "E[q.k] = ||mu||^2 and Var[q.k] = 2 sigma^2 ||mu||^2 + d sigma^4 for q, k ~ N(mu, sigma^2 "
        "I)",
        hw7("Q3(a), (b)"),
        (DOT_STATISTICS.id,),
        _prove_dot_statistics,
    ),
    Claim(
        "attention.scale.unit_variance",
        "With mu = 0 and sigma = 1, dividing by s = sqrt(d) gives the dot product mean 0 and "
        "variance 1",
        hw7("Q3(c)"),
        (SCALE.id, DOT_STATISTICS.id),
        _prove_scale,
    ),
    Claim(
        "attention.argmax.worked_example",
        "Argmax attention on the worked example returns the value [1, 4, 3]",
        hw7("Q4(a)"),
        (ARGMAX.id,),
        _prove_argmax_example,
    ),
    Claim(
        "attention.softmax_is_kernel_attention",
        "Eq. (9) with sim(q, k) = exp(q.k / sqrt(D)) is softmax attention, eq. (8) (eq. (10))",
        hw7("Q5", "(10)"),
        (KERNEL_OUTPUT.id, SCORES.id, SOFTMAX.id, OUTPUT.id),
        _prove_softmax_is_kernel,
    ),
    Claim(
        "attention.feature_map.reproduces_kernel",
        "The printed feature map satisfies phi(q).phi(k) = (q.k + 1)^2",
        hw7("Q5(b)(ii)"),
        (FEATURE_MAP.id, QUADRATIC_KERNEL.id),
        _prove_feature_map,
    ),
    Claim(
        "attention.linear_equals_kernel",
        "Eq. (11) equals eq. (9) with sim(q, k) = phi(q).phi(k)",
        hw7("Q5(d)", "(11)"),
        (LINEAR_OUTPUT.id, KERNEL_OUTPUT.id, QUADRATIC_KERNEL.id),
        _prove_linear_equals_kernel,
    ),
    Claim(
        "attention.dot_variance_general.exact",
        "Var[q.k] = mu^T Sigma_q mu + mu^T Sigma_k mu + tr(Sigma_q Sigma_k) for independent q ~ "
        "N(mu, Sigma_q), k ~ N(mu, Sigma_k); 2 sigma^2 ||mu||^2 + d sigma^4 at Sigma = sigma^2 I",
        hw7("Q3(b)"),
        (DOT_VARIANCE_GENERAL.id, DOT_STATISTICS.id),
        _prove_dot_variance_general,
    ),
    Claim(
        "attention.product_variance.exact",
        "Var(ab) = E[a]^2 Var(b) + E[b]^2 Var(a) + Var(a) Var(b) for independent a, b",
        hw7("Q3(b)"),
        (PRODUCT_VARIANCE.id,),
        _prove_product_variance,
    ),
    Claim(
        "attention.argmax.no_query_gradient",
        "Argmax attention passes no gradient to the queries or keys (almost everywhere), only "
        "to the selected value",
        hw7("Q4(b)"),
        (ARGMAX.id,),
        _prove_argmax_gradient,
    ),
    Claim(
        "attention.quadratic_normalizer",
        "With the quadratic kernel the denominator of eq. (9) is nonnegative and vanishes "
        "exactly when Q_i.K_j = -1 for every j",
        hw7("Q5(a)"),
        (QUADRATIC_KERNEL.id, KERNEL_OUTPUT.id),
        _prove_quadratic_normalizer,
    ),
    Claim(
        "attention.layer_shapes",
        "With Q = x W_Q, K = x W_K, V = x W_V only self-attention mixes positions, and eq. (7) "
        "maps R^{N x F} to itself when M = F",
        hw7("Q5", "(7)"),
        (PROJECTIONS.id, LAYER_RESIDUAL.id, SCORES.id, SOFTMAX.id, OUTPUT.id),
        _prove_layer_shapes,
    ),
    Claim(
        "attention.complexity",
        "Softmax attention takes Theta(N^2 (D + M)) time and Theta(N (N + M + D)) memory; eq. "
        "(11) with the quadratic feature map takes Theta(N C M) = Theta(N D^3) time (M = D)",
        hw7("Q5(c), (d)"),
        (SCORES.id, SOFTMAX.id, OUTPUT.id, LINEAR_OUTPUT.id, FEATURE_MAP.id),
        _prove_complexity,
    ),
)


ERRATA = (
    {
        "id": "attention.q3c_variance",
        "specs": ("attention.dot_statistics", "attention.scale"),
        "document": EECS182_HW7_DOCUMENT,
        "location": "Q3(c), solution",
        "says": "Var[q^T k] = d^2 (recalled from part (b)), and E[q^T k] as a sum of squared "
        "expectations of the mu_i",
        "resolution": "Part (b) gives Var[q^T k] = d sigma^4 = d at mu = 0, sigma = 1, and the "
        "solution's next step already uses Var(q^T k / s) = d / s^2. Proof "
        "attention.scale.unit_variance computes Var = d for every d "
        "(attention.dot_statistics.exact) and solves d / s^2 = 1 for s = sqrt(d); d^2 would give "
        "s = d. The mean is ||mu||^2 = 0 since mu = 0 (the mu_i are constants).",
    },
    {
        "id": "attention.q5_residual_width",
        "specs": ("attention.layer_residual", "attention.projections", "attention.output"),
        "document": EECS182_HW7_DOCUMENT,
        "location": "Q5, eqs. (7) and (8)",
        "says": "T_l maps R^{N x F} to R^{N x F} by f_l(A_l(x) + x), with W_V in R^{F x M} and "
        "A_l(x) = V' = softmax(Q K^T / sqrt(D)) V",
        "resolution": "A_l(x) is N x M and x is N x F, so A_l(x) + x is defined only when M = F "
        "(or with an output projection from M back to F, which eqs. (7)-(8) do not have). Proof "
        "attention.layer_shapes composes eq. (8) from the projections and finds A_l(x) 2 x 3 "
        "against x 2 x 2 at F = 2, M = 3, and eq. (7) well formed with M = F.",
    },
    {
        "id": "attention.q5a_quadratic_kernel_positive",
        "specs": ("attention.quadratic_kernel", "attention.kernel_output"),
        "document": EECS182_HW7_DOCUMENT,
        "location": "Q5(a) and Q5(b)(i), solution",
        "says": "only kernels with values in R+ are considered, so the denominator of eq. (9) "
        "stays nonzero; then the quadratic kernel (q^T k + 1)^2 is used",
        "resolution": "The quadratic kernel is nonnegative, not positive: it is 0 where q^T k = "
        "-1, and the denominator of eq. (9) is 0 (eq. (9) is 0/0) when Q_i^T K_j = -1 for every "
        "j (proof attention.quadratic_normalizer, e.g. Q = [1], K = [[-1], [-1]]). Also, a sim "
        "of one sign keeps the denominator nonzero only if it is strictly of that sign.",
    },
    {
        "id": "attention.q5c_second_loop_cost",
        "specs": ("attention.softmax",),
        "document": EECS182_HW7_DOCUMENT,
        "location": "Q5(c), solution",
        "says": "the cost of each double loop is O(N^2 D), O(N^2 D) and O(N^2 M)",
        "resolution": "The second double loop (each row's denominator Z and the N weights "
        "exp(S_ij) / Z) costs 2 N^2 - N + 3 N^2 = Theta(N^2) operations: it never touches a "
        "D-vector. O(N^2 D) is an upper bound but not its cost; the total O(N^2 (D + M)) is "
        "unaffected (proof attention.complexity counts every step).",
    },
    {
        "id": "attention.q5d_feature_memory",
        "specs": ("attention.linear_output", "attention.feature_map"),
        "document": EECS182_HW7_DOCUMENT,
        "location": "Q5(d), solution",
        "says": "space O(N (D + M) + C M), which is O(N D + D^3) for the quadratic kernel with M "
        "= D",
        "resolution": "Under (c)'s rule that every intermediate result is stored for "
        "backpropagation, phi(Q_i) and phi(K_j) are N x C each, C = (D + 1)(D + 2)/2: the "
        "memory is Theta(N D^2 + D^3), which is not O(N D + D^3) (the ratio grows without bound "
        "along N = D^2). O(N D + D^3) holds only if the features are recomputed in the backward "
        "pass. The conclusion for N >> D^2 (much less memory than softmax's N^2) stands. Counted "
        "in proof attention.complexity.",
    },
)
