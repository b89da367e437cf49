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
from .sources import hw7
from .sums import Limit, UnsupportedSum, peel_last, substitute, sum_normal_form

__all__ = [
    "ARGMAX",
    "CLAIMS",
    "DOT_STATISTICS",
    "ERRATA",
    "FEATURE_MAP",
    "KERNEL_OUTPUT",
    "LINEAR_OUTPUT",
    "OUTPUT",
    "PRINTED_ARGMAX_EXAMPLE",
    "QUADRATIC_KERNEL",
    "SCALE",
    "SCORES",
    "SOFTMAX",
    "SPECS",
    "instantiate",
    "printed_feature_map",
]

i, j, jj, t, c, l = sp.symbols("i j jj t c l", integer=True, positive=True)
N, D, C = sp.symbols("N D C", integer=True, positive=True)
AXES = {i: 0, j: 1, jj: 1, t: 2, c: 2, l: 3}

Q, K, V = sp.IndexedBase("Q"), sp.IndexedBase("K"), sp.IndexedBase("V")
S, A, O = sp.IndexedBase("S"), sp.IndexedBase("A"), sp.IndexedBase("O")
Sdot, Amax, Omax = sp.IndexedBase("Sdot"), sp.IndexedBase("Amax"), sp.IndexedBase("Omax")
sim, kphi, Okern = sp.IndexedBase("sim"), sp.IndexedBase("kphi"), sp.IndexedBase("Okern")
phiQ, phiK, Olin = sp.IndexedBase("phiQ"), sp.IndexedBase("phiK"), sp.IndexedBase("Olin")
mu = sp.IndexedBase("mu")
sigma = sp.Symbol("sigma", positive=True)
s = sp.Symbol("s", positive=True)
Edot, Vdot = sp.Symbol("Edot", real=True), sp.Symbol("Vdot", nonnegative=True)

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
)

_HW7 = "UC Berkeley EECS 182 Homework 7 (Spring 2023)"

ERRATA = (
    {
        "id": "attention.q3c_variance",
        "specs": ("attention.dot_statistics", "attention.scale"),
        "document": _HW7,
        "location": "Q3(c), solution",
        "says": "Var[q^T k] = d^2 (recalled from part (b)), and E[q^T k] as a sum of squared "
        "expectations of the mu_i",
        "resolution": "Part (b) gives Var[q^T k] = d sigma^4 = d at mu = 0, sigma = 1, and the "
        "solution's next step already uses Var(q^T k / s) = d / s^2. Proof "
        "attention.scale.unit_variance computes Var = d for every d "
        "(attention.dot_statistics.exact) and solves d / s^2 = 1 for s = sqrt(d); d^2 would give "
        "s = d. The mean is ||mu||^2 = 0 since mu = 0 (the mu_i are constants).",
    },
)
