r"""Linear autoencoders and PCA: UC Berkeley EECS 182 Homework 7 (Spring 2023), Q1(b) and Q2.

Encoder :math:`W_1 \in \mathbb R^{k \times m}`, decoder :math:`W_2 \in \mathbb R^{m \times k}`,
data :math:`X \in \mathbb R^{m \times n}`, and the objective of eq. (1) (eq. (5) of Q2):

.. math::

    L(W_1, W_2; X) = \frac1n \|X - W_2 W_1 X\|_F^2, \qquad
    \nabla_{W_2} L = -\frac2n (X - W_2 W_1 X)(W_1 X)^\top, \qquad
    \nabla_{W_1} L = -\frac2n W_2^\top (X - W_2 W_1 X) X^\top,

and the l2-regularized objective of eq. (6),
:math:`L_\lambda = L + \lambda \|W_1\|_F^2 + \lambda \|W_2\|_F^2`.

Q2(b) asks whether a small lambda biases W_2 toward orthonormal columns. What is proved here,
for every m, k, n (symbolic sizes, sum normal form):

- at lambda = 0, every factorization W_2 = U_k C, W_1 = C^(-1) U_k^T of the projection
  U_k U_k^T is stationary, acts as the identity on the span of U_k, and leaves the objective
  sigma_(k+1)^2 + ... + sigma_m^2, the discarded eigenvalues of X X^T / n
  (``autoencoder.pca_optimum``);
- for such a pair W_1 is the pseudo-inverse of W_2, and with C = A diag(s) B^T the penalty
  ||W_1||_F^2 + ||W_2||_F^2 is sum_i (s_i^2 + 1/s_i^2) (``autoencoder.balanced_penalty``): it
  exceeds 2k by sum_i (s_i^2 - 1)^2 / s_i^2, so it is least exactly when every s_i = 1, which is
  exactly when W_2^T W_2 = I;
- for 0 < lambda < sigma_k^2, W_2 = W_1^T = U_k (I - lambda Sigma_k^(-2))^(1/2) is a stationary
  point of eq. (6) (``autoencoder.regularized_optimum``): its columns are orthogonal with squared
  norms 1 - lambda / sigma_i^2, orthonormal up to O(lambda).

What is not checked, and why: that U_k U_k^T is the global minimum of eq. (5) over every
rank-k product (Eckart-Young-Mirsky), and that the stationary point above is the global minimum
of eq. (6), are inequalities over all W_1, W_2; the sum normal form decides identities between
sums, and a finite check of a polynomial inequality in all the weights' entries is out of reach
of SymPy beyond toy sizes. The solution's "every optimum has W_2 W_1 the projection" is also
weaker than it reads: W_2 W_1 is fixed only on the column space of X, so with rank X < m an
oblique projection onto span(U_k) is optimal too (``autoencoder.optimal_product.range_only``,
a witness at m = 3, k = 1).

Layout: code dimensions ``s`` run along axis 0, data dimensions ``r`` and ``rr`` along axis 1,
samples ``n`` along axis 2. So ``X`` is (1, m, n), the code ``Z = W_1 X`` is (k, 1, n), ``W_1``
is (k, m, 1) and ``W_2`` is stored transposed, as (k, m, 1); the gradients have the layout of
their weights and the losses are (1, 1, 1).
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
    finite_points,
    finite_scope,
    instantiate,
    quantity_name,
    single_form_spec,
)
from .sources import EECS182_HW7_DOCUMENT, hw7
from .sums import UnsupportedSum, replace_entries, substitute, sum_normal_form

__all__ = [
    "CLAIMS",
    "BALANCED_PENALTY",
    "CODE",
    "EQ4",
    "ERRATA",
    "FROBENIUS",
    "GRAD_DECODER",
    "GRAD_ENCODER",
    "GRAM_DECODER",
    "LOSS",
    "PCA_OPTIMUM",
    "PRINTED_GRADIENTS",
    "RECONSTRUCTION",
    "REGULARIZED_OPTIMUM",
    "REG_LOSS",
    "SGD_OBJECTIVE",
    "SPECS",
]

s, r, rr, smp = sp.symbols("s r rr c", integer=True, positive=True)
k, m, n = sp.symbols("k m n", integer=True, positive=True)
ss, r2 = sp.symbols("ss r2", integer=True, positive=True)
AXES = {s: 0, ss: 0, r: 1, rr: 1, r2: 1, smp: 2}
X, W1, W2 = sp.IndexedBase("X"), sp.IndexedBase("W1"), sp.IndexedBase("W2")
Z, Xhat = sp.IndexedBase("Z"), sp.IndexedBase("Xhat")
dW1, dW2 = sp.IndexedBase("dW1"), sp.IndexedBase("dW2")
dW1p, dW2p = sp.IndexedBase("dW1p"), sp.IndexedBase("dW2p")
L, Lreg = sp.Symbol("L", nonnegative=True), sp.Symbol("Lreg", nonnegative=True)
lam = sp.Symbol("lam", nonnegative=True)
d = sp.Symbol("d", integer=True, positive=True)
Wf, Af = sp.IndexedBase("Wf"), sp.IndexedBase("Af")
dfro = sp.IndexedBase("dfro")
fro, ftr = sp.Symbol("fro", nonnegative=True), sp.Symbol("ftr", nonnegative=True)
E4l, E4r = sp.IndexedBase("E4l"), sp.IndexedBase("E4r")
G, Gp, sig2 = sp.IndexedBase("G"), sp.IndexedBase("Gp"), sp.IndexedBase("sig2")
Usvd = sp.IndexedBase("U")
Lsgd = sp.Symbol("Lsgd", nonnegative=True)
wd = sp.Symbol("wd", nonnegative=True)
Lpca, pen = sp.Symbol("Lpca", nonnegative=True), sp.Symbol("pen", nonnegative=True)
sv = sp.IndexedBase("sv")
W1opt, W2opt = sp.IndexedBase("W1opt"), sp.IndexedBase("W2opt")

SYMBOLS = {
    "X": SymbolInfo(X, "data, one zero-centred sample per column (m x n)", display="X"),
    "W1": SymbolInfo(W1, "encoder weights (k x m)", display="W_1"),
    "W2": SymbolInfo(W2, "decoder weights (m x k)", display="W_2"),
    "Z": SymbolInfo(Z, "codes W_1 X (k x n)", display="Z"),
    "Xhat": SymbolInfo(Xhat, "reconstruction W_2 W_1 X (m x n)", display="Xhat"),
    "L": SymbolInfo(L, "reconstruction objective", sp.Interval(0, sp.oo), "L"),
    "Lreg": SymbolInfo(Lreg, "l2-regularized objective", sp.Interval(0, sp.oo), "L_lambda"),
    "lam": SymbolInfo(lam, "regularization strength", sp.Interval(0, sp.oo), "lambda"),
    "dW1": SymbolInfo(dW1, "gradient of L with respect to W_1 (k x m)", display="nablaW1L"),
    "dW2": SymbolInfo(dW2, "gradient of L with respect to W_2 (m x k)", display="nablaW2L"),
    "dW1p": SymbolInfo(dW1p, "the solution's printed nabla_W1 L", display="nablaW1L"),
    "dW2p": SymbolInfo(dW2p, "the solution's printed nabla_W2 L", display="nablaW2L"),
    "k": SymbolInfo(k, "code dimension", sp.S.Naturals),
    "m": SymbolInfo(m, "data dimension", sp.S.Naturals),
    "n": SymbolInfo(n, "number of samples", sp.S.Naturals),
    "d": SymbolInfo(d, "inner dimension of W A", sp.S.Naturals),
    "Wf": SymbolInfo(Wf, "a matrix W (k x d)", display="W"),
    "Af": SymbolInfo(Af, "a matrix A (d x n)", display="A"),
    "fro": SymbolInfo(fro, "||W A||_F^2", sp.Interval(0, sp.oo), "||WA||_F^2"),
    "ftr": SymbolInfo(ftr, "tr(A^T W^T W A)", sp.Interval(0, sp.oo), "tr(A^T W^T W A)"),
    "dfro": SymbolInfo(dfro, "the stated gradient 2 W A A^T of ||W A||_F^2", display="nablaW"),
    "E4l": SymbolInfo(E4l, "(X - W_2 W_1 X) X^T W_1^T (m x k)", display="E4_left"),
    "E4r": SymbolInfo(E4r, "(I - W_2 W_1) X X^T W_1^T (m x k)", display="E4_right"),
    "G": SymbolInfo(G, "X X^T W_2 (m x k)", display="XX^TW_2"),
    "Gp": SymbolInfo(Gp, "the solution's U Sigma^2 [I_k; 0] for X X^T W_2", display="XX^TW_2"),
    "U": SymbolInfo(Usvd, "eigenvectors of X X^T, one per column (m x m)", display="U"),
    "sig2": SymbolInfo(sig2, "sigma_i^2, the eigenvalues of X X^T / n", display="sigma^2"),
    "Lsgd": SymbolInfo(
        Lsgd, "objective of SGD with nn.MSELoss and weight decay", sp.Interval(0, sp.oo), "L_SGD"
    ),
    "wd": SymbolInfo(wd, "the optimizer's weight_decay", sp.Interval(0, sp.oo), "weight_decay"),
    "Lpca": SymbolInfo(
        Lpca, "objective (5) at W_2 W_1 = U_k U_k^T", sp.Interval(0, sp.oo), "L(U_k U_k^T)"
    ),
    "pen": SymbolInfo(pen, "||W_1||_F^2 + ||W_2||_F^2", sp.Interval(0, sp.oo), "||W1||^2+||W2||^2"),
    "sv": SymbolInfo(sv, "the k singular values s_i > 0 of W_2 (m x k, rank k)", display="s"),
    "W1opt": SymbolInfo(W1opt, "a stationary encoder of eq. (6) (k x m)", display="W_1*"),
    "W2opt": SymbolInfo(W2opt, "a stationary decoder of eq. (6) (m x k)", display="W_2*"),
}


def _spec(
    id: str,
    title: str,
    section: str,
    equation: str | None,
    names: tuple[str, ...],
    relations: dict,
    *,
    proof_only: bool = False,
    statistical: bool = False,
) -> Spec:
    return single_form_spec(
        id,
        title,
        hw7(section, equation),
        "autoencoder",
        SYMBOLS,
        names,
        relations,
        AXES,
        proof_only=proof_only,
        statistical=statistical,
    )


def _residual(row: sp.Symbol = r) -> sp.Expr:
    return X[row, smp] - Xhat[row, smp]


CODE = _spec(
    "autoencoder.code",
    "Linear encoder: Z = W_1 X",
    "Q1(b)",
    "the encoder of eq. (1)",
    ("Z", "W1", "X", "m"),
    {Z[s, smp]: sp.Sum(W1[s, r] * X[r, smp], (r, 1, m))},
)
RECONSTRUCTION = _spec(
    "autoencoder.reconstruction",
    "Linear decoder: Xhat = W_2 Z",
    "Q1(b)",
    "the decoder of eq. (1)",
    ("Xhat", "W2", "Z", "k"),
    {Xhat[r, smp]: sp.Sum(W2[r, s] * Z[s, smp], (s, 1, k))},
)
LOSS = _spec(
    "autoencoder.loss",
    "Reconstruction objective (1/n) ||X - W_2 W_1 X||_F^2",
    "Q1(b), Q2",
    "(1), (5)",
    ("L", "X", "Xhat", "m", "n"),
    {L: sp.Sum(sp.Sum(_residual() ** 2, (r, 1, m)), (smp, 1, n)) / n},
)
GRAD_DECODER = _spec(
    "autoencoder.grad_decoder",
    "Gradient of eq. (1) with respect to the decoder W_2",
    "Q1(b)(i)",
    "nabla_W2 L",
    ("dW2", "X", "Xhat", "Z", "n"),
    {dW2[r, s]: -2 * sp.Sum(_residual() * Z[s, smp], (smp, 1, n)) / n},
)
GRAD_ENCODER = _spec(
    "autoencoder.grad_encoder",
    "Gradient of eq. (1) with respect to the encoder W_1",
    "Q1(b)(i)",
    "nabla_W1 L",
    ("dW1", "W2", "X", "Xhat", "m", "n"),
    {
        dW1[s, r]: -2
        * sp.Sum(sp.Sum(W2[rr, s] * _residual(rr), (rr, 1, m)) * X[r, smp], (smp, 1, n))
        / n
    },
)
PRINTED_GRADIENTS = _spec(
    "autoencoder.printed_gradients",
    "The gradients as the solution prints them",
    "Q1(b)(i)",
    "2 (I - W_2 W_1) X X^T W_1^T and 2 W_2^T (I - W_2 W_1) X X^T",
    ("dW2p", "dW1p", "W2", "X", "Xhat", "Z", "m", "n"),
    {
        dW2p[r, s]: 2 * sp.Sum(_residual() * Z[s, smp], (smp, 1, n)),
        dW1p[s, r]: 2
        * sp.Sum(sp.Sum(W2[rr, s] * _residual(rr), (rr, 1, m)) * X[r, smp], (smp, 1, n)),
    },
    proof_only=True,
)
REG_LOSS = _spec(
    "autoencoder.reg_loss",
    "l2-regularized objective",
    "Q2",
    "(6)",
    ("Lreg", "L", "lam", "W1", "W2", "k", "m"),
    {
        Lreg: L
        + lam * sp.Sum(sp.Sum(W1[s, r] ** 2, (r, 1, m)), (s, 1, k))
        + lam * sp.Sum(sp.Sum(W2[r, s] ** 2, (r, 1, m)), (s, 1, k))
    },
)
FROBENIUS = _spec(
    "autoencoder.frobenius",
    "Squared Frobenius norm of a product, its trace form and its gradient",
    "Q1(b)(i)",
    "||WA||_F^2 = tr(A^T W^T W A), nabla_W ||WA||_F^2 = 2 W A A^T",
    ("fro", "ftr", "dfro", "Wf", "Af", "k", "d", "n"),
    {
        fro: sp.Sum(sp.Sum(Wf[s, r] * Af[r, smp], (r, 1, d)) ** 2, (s, 1, k), (smp, 1, n)),
        ftr: sp.Sum(
            Af[r, smp] * Wf[s, r] * Wf[s, rr] * Af[rr, smp],
            (r, 1, d),
            (rr, 1, d),
            (s, 1, k),
            (smp, 1, n),
        ),
        dfro[s, r]: 2
        * sp.Sum(sp.Sum(Wf[s, rr] * Af[rr, smp], (rr, 1, d)) * Af[r, smp], (smp, 1, n)),
    },
    proof_only=True,
)
EQ4 = _spec(
    "autoencoder.eq4",
    "The first-order condition rewritten through I - W_2 W_1",
    "Q1(b)(ii)",
    "(4)",
    ("E4l", "E4r", "X", "Xhat", "Z", "W1", "W2", "k", "m", "n"),
    {
        E4l[r, s]: sp.Sum((X[r, smp] - Xhat[r, smp]) * Z[s, smp], (smp, 1, n)),
        E4r[r, s]: sp.Sum(
            (sp.KroneckerDelta(r, rr) - sp.Sum(W2[r, ss] * W1[ss, rr], (ss, 1, k)))
            * sp.Sum(X[rr, smp] * sp.Sum(X[r2, smp] * W1[s, r2], (r2, 1, m)), (smp, 1, n)),
            (rr, 1, m),
        ),
    },
    proof_only=True,
)
GRAM_DECODER = _spec(
    "autoencoder.gram_decoder",
    "X X^T W_2, and the solution's expression for it at W_2 = U_k",
    "Q1(b)(ii)",
    "X X^T W_2 = U Sigma^2 U^T U_k = U Sigma^2 [I_k; 0]",
    ("G", "Gp", "X", "W2", "U", "sig2", "m", "n"),
    {
        G[r, s]: sp.Sum(X[r, smp] * sp.Sum(X[rr, smp] * W2[rr, s], (rr, 1, m)), (smp, 1, n)),
        Gp[r, s]: Usvd[r, s] * sig2[s],
    },
    proof_only=True,
)
SGD_OBJECTIVE = _spec(
    "autoencoder.sgd_objective",
    "What SGD with nn.MSELoss and weight decay minimizes",
    "Q2(a)(ii), (iii)",
    "nn.MSELoss (mean over the m entries) per sample, weight decay on W_1 and W_2",
    ("Lsgd", "X", "Xhat", "wd", "W1", "W2", "k", "m", "n"),
    {
        Lsgd: sp.Sum(sp.Sum(_residual() ** 2, (r, 1, m)) / m, (smp, 1, n)) / n
        + wd / 2 * sp.Sum(sp.Sum(W1[s, r] ** 2, (r, 1, m)), (s, 1, k))
        + wd / 2 * sp.Sum(sp.Sum(W2[r, s] ** 2, (r, 1, m)), (s, 1, k))
    },
    proof_only=True,
)
PCA_OPTIMUM = _spec(
    "autoencoder.pca_optimum",
    "The objective (5) at the principal subspace: the discarded eigenvalues",
    "Q2(b)",
    "W_2 W_1 the projection onto the top-k singular vectors of X (no regularization)",
    ("Lpca", "sig2", "k", "m"),
    # sigma_i^2 are the eigenvalues of X X^T / n in decreasing order (Q2's statement), so this is
    # sigma_(k+1)^2 + ... + sigma_m^2 (a sum from 1, as every spec's sums are).
    {Lpca: sp.Sum(sig2[r], (r, 1, m)) - sp.Sum(sig2[s], (s, 1, k))},
    proof_only=True,
)
BALANCED_PENALTY = _spec(
    "autoencoder.balanced_penalty",
    "The penalty of eq. (6) at a pseudo-inverse pair, through W_2's singular values",
    "Q2(b)",
    "||W_1||_F^2 + ||W_2||_F^2 = sum_i (sigma_i^2 + 1/sigma_i^2)",
    ("pen", "sv", "k"),
    {pen: sp.Sum(sv[s] ** 2 + 1 / sv[s] ** 2, (s, 1, k))},
    proof_only=True,
)
REGULARIZED_OPTIMUM = _spec(
    "autoencoder.regularized_optimum",
    "A stationary point of eq. (6): W_2 = W_1^T = U_k (I - lambda Sigma_k^(-2))^(1/2)",
    "Q2(b)",
    "the decoupling for a small nonzero lambda",
    ("W2opt", "W1opt", "U", "sig2", "lam"),
    {
        W2opt[r, s]: Usvd[r, s] * sp.sqrt(1 - lam / sig2[s]),
        W1opt[s, r]: Usvd[r, s] * sp.sqrt(1 - lam / sig2[s]),
    },
    proof_only=True,
)

SPECS = (
    CODE,
    RECONSTRUCTION,
    LOSS,
    GRAD_DECODER,
    GRAD_ENCODER,
    PRINTED_GRADIENTS,
    REG_LOSS,
    FROBENIUS,
    EQ4,
    GRAM_DECODER,
    SGD_OBJECTIVE,
    PCA_OPTIMUM,
    BALANCED_PENALTY,
    REGULARIZED_OPTIMUM,
)
#: The solution's printed forms, kept to state the erratum; no implementation is checked on them.


# ---------------------------------------------------------------------------------------------
# Explicit-size evaluation of the specs (matrices as nested lists of SymPy expressions).


def _entries(expr: sp.Expr, sizes: dict, arrays: dict) -> sp.Expr:
    return instantiate(expr, sizes, arrays)


def forward(
    data: list[list[sp.Expr]], encoder: list[list[sp.Expr]], decoder: list[list[sp.Expr]]
) -> dict:
    """Codes, reconstruction, objective and both gradients from the specs, at explicit sizes."""
    dm, dn, dk = len(data), len(data[0]), len(encoder)
    sizes = {m: dm, n: dn, k: dk}
    arrays = {X: data, W1: encoder, W2: decoder}
    codes = [
        [
            _entries(CODE.canonical.expression("Z").subs({s: a, smp: b}), sizes, arrays)
            for b in range(1, dn + 1)
        ]
        for a in range(1, dk + 1)
    ]
    arrays[Z] = codes
    recon = [
        [
            _entries(
                RECONSTRUCTION.canonical.expression("Xhat").subs({r: a, smp: b}), sizes, arrays
            )
            for b in range(1, dn + 1)
        ]
        for a in range(1, dm + 1)
    ]
    arrays[Xhat] = recon

    def grid(
        spec: Spec, quantity: str, rows: sp.Symbol, cols: sp.Symbol, nrows: int, ncols: int
    ) -> list[list[sp.Expr]]:
        expr = spec.canonical.expression(quantity)
        return [
            [_entries(expr.subs({rows: a, cols: b}), sizes, arrays) for b in range(1, ncols + 1)]
            for a in range(1, nrows + 1)
        ]

    return {
        "Z": codes,
        "Xhat": recon,
        "L": _entries(LOSS.canonical.expression("L"), sizes, arrays),
        "dW2": grid(GRAD_DECODER, "dW2", r, s, dm, dk),
        "dW1": grid(GRAD_ENCODER, "dW1", s, r, dk, dm),
        "dW2p": grid(PRINTED_GRADIENTS, "dW2p", r, s, dm, dk),
        "dW1p": grid(PRINTED_GRADIENTS, "dW1p", s, r, dk, dm),
    }


def _matrix(name: str, rows: int, cols: int) -> list[list[sp.Symbol]]:
    return [
        [sp.Symbol(f"{name}_{a}_{b}", real=True) for b in range(1, cols + 1)]
        for a in range(1, rows + 1)
    ]


#: The (m, k, n) at which autoencoder.gradients.exact differentiates the objective when the proof
#: for symbolic sizes does not settle it (these triples only, not every combination).
GRADIENT_SIZES = ((1, 1, 1), (2, 1, 2), (3, 2, 2))


# ---------------------------------------------------------------------------------------------
# The specs for symbolic m, k, n: every entry in sum normal form (eqconform.specs.ln_scaling),
# taken at a generic entry (p, q) of W_2 (m x k), i.e. (q, p) of W_1 (k x m).

_ROW = sp.Symbol("p", integer=True, positive=True)
_COL = sp.Symbol("q", integer=True, positive=True)
#: The ranges of the generic entry's indices, for KroneckerDelta sifting.
_ENTRY_RANGES = {_ROW: (sp.Integer(1), m), _COL: (sp.Integer(1), k)}
#: The top-k eigenvectors U_k (m x k, orthonormal columns), X X^T and its eigenvalues.
U, Gram, eig = sp.IndexedBase("U"), sp.IndexedBase("XXT"), sp.IndexedBase("lambda")


def _at(spec: Spec, quantity: str, row: sp.Expr, col: sp.Expr) -> sp.Expr:
    """``spec``'s ``quantity`` at entry (row, col), the reconstruction and the codes
    substituted from autoencoder.reconstruction and autoencoder.code."""
    ((lhs, definition),) = [
        (defined, expr)
        for defined, expr in spec.canonical.relations.items()
        if quantity_name(defined) == quantity
    ]
    return _composed(substitute(lhs.base[row, col], lhs, definition))


def _composed(expr: sp.Expr) -> sp.Expr:
    for spec in (RECONSTRUCTION, CODE):  # Xhat in terms of Z, then Z in terms of X
        ((lhs, definition),) = spec.canonical.relations.items()
        expr = substitute(expr, lhs, definition)
    return expr


def _general_gradients_gap() -> str:
    """'' when sympy.diff of autoencoder.loss at a generic entry equals the gradient specs and
    the printed gradients are -n times them, for symbolic m, k, n."""
    try:
        objective = sum_normal_form(_composed(LOSS.canonical.expression("L")))
    except UnsupportedSum as error:
        return str(error)
    decoder, encoder = _at(GRAD_DECODER, "dW2", _ROW, _COL), _at(GRAD_ENCODER, "dW1", _COL, _ROW)
    checks = (
        ("d L / d W_2 - nabla_W2 L", sp.diff(objective, W2[_ROW, _COL]) - decoder),
        ("d L / d W_1 - nabla_W1 L", sp.diff(objective, W1[_COL, _ROW]) - encoder),
        (
            "printed nabla_W2 L + n nabla_W2 L",
            _at(PRINTED_GRADIENTS, "dW2p", _ROW, _COL) + n * decoder,
        ),
        (
            "printed nabla_W1 L + n nabla_W1 L",
            _at(PRINTED_GRADIENTS, "dW1p", _COL, _ROW) + n * encoder,
        ),
    )
    gaps = []
    for label, expr in checks:
        try:
            form = sum_normal_form(expr, _ENTRY_RANGES)
        except UnsupportedSum as error:
            gaps.append(f"{label}: {error}")
            continue
        if form != 0:
            gaps.append(f"{label} reduces to {form}")
    return "; ".join(gaps)


def _not_general(gap: str) -> str:
    return f" Not proved for symbolic m, k, n ({gap}), so checked at these sizes only."


def _prove_gradients() -> ProofOutcome:
    """sympy.diff of autoencoder.loss (through code and reconstruction) equals the gradient specs;
    the printed gradients are -n times them."""
    started = time.perf_counter()
    gap = _general_gradients_gap()
    if not gap:
        return ProofOutcome(
            ProofStatus.PROVED,
            "symbolic m, k, n: autoencoder.loss composed with autoencoder.code and "
            "autoencoder.reconstruction in sum normal form, sympy.diff at a generic entry "
            "W_2[p, q] and W_1[q, p], KroneckerDelta sifting, against autoencoder.grad_decoder and "
            "autoencoder.grad_encoder",
            "exact for every m, k, n with symbolic X, W_1, W_2 "
            f"({time.perf_counter() - started:.2f} s); the solution's printed gradients "
            "(autoencoder.printed_gradients) equal -n times the exact ones at every entry: the "
            "factor -1/n is dropped, which leaves the first-order conditions (gradient = 0) "
            "unchanged",
            scope=GENERAL,
        )
    for dm, dk, dn in GRADIENT_SIZES:
        data, encoder, decoder = _matrix("x", dm, dn), _matrix("a", dk, dm), _matrix("b", dm, dk)
        out = forward(data, encoder, decoder)
        for row, col in itertools.product(range(dm), range(dk)):
            exact = sp.diff(out["L"], decoder[row][col])
            if sp.expand(exact - out["dW2"][row][col]) != 0:
                return ProofOutcome(
                    ProofStatus.REFUTED,
                    "sympy.diff of eq. (1) against nabla_W2 L",
                    f"differs at m = {dm}, k = {dk}, n = {dn}, entry ({row + 1}, {col + 1})",
                    scope=finite_scope(m=[dm], k=[dk], n=[dn]),
                )
            if sp.expand(out["dW2p"][row][col] + dn * exact) != 0:
                return ProofOutcome(
                    ProofStatus.REFUTED,
                    "the printed nabla_W2 L against -n times the derivative",
                    f"m = {dm}, k = {dk}, n = {dn}",
                    scope=finite_scope(m=[dm], k=[dk], n=[dn]),
                )
        for row, col in itertools.product(range(dk), range(dm)):
            exact = sp.diff(out["L"], encoder[row][col])
            if sp.expand(exact - out["dW1"][row][col]) != 0:
                return ProofOutcome(
                    ProofStatus.REFUTED,
                    "sympy.diff of eq. (1) against nabla_W1 L",
                    f"differs at m = {dm}, k = {dk}, n = {dn}, entry ({row + 1}, {col + 1})",
                    scope=finite_scope(m=[dm], k=[dk], n=[dn]),
                )
            if sp.expand(out["dW1p"][row][col] + dn * exact) != 0:
                return ProofOutcome(
                    ProofStatus.REFUTED,
                    "the printed nabla_W1 L against -n times the derivative",
                    f"m = {dm}, k = {dk}, n = {dn}",
                    scope=finite_scope(m=[dm], k=[dk], n=[dn]),
                )
    return ProofOutcome(
        ProofStatus.PROVED,
        "sympy.diff of autoencoder.loss composed with autoencoder.code and "
        "autoencoder.reconstruction, entry by "
        "entry, against autoencoder.grad_decoder and autoencoder.grad_encoder",
        "exact for (m, k, n) = (1, 1, 1), (2, 1, 2), (3, 2, 2) with symbolic X, W_1, W_2 "
        f"({time.perf_counter() - started:.2f} s); the solution's printed gradients "
        "(autoencoder.printed_gradients) equal -n times the exact ones at every entry: the factor "
        "-1/n is dropped, which leaves the first-order conditions (gradient = 0) unchanged."
        + _not_general(gap),
        scope=finite_points(("m", "k", "n"), GRADIENT_SIZES),
    )


def _factors(expr: sp.Expr) -> list[sp.Expr]:
    """The factors of a monomial, a positive integer power repeated."""
    factors: list[sp.Expr] = []
    for factor in sp.Mul.make_args(expr):
        base, power = factor.as_base_exp()
        factors += [base] * int(power) if power.is_Integer and power > 0 else [factor]
    return factors


def _entry_of(factor: sp.Expr, base: sp.IndexedBase) -> tuple[sp.Expr, ...] | None:
    return factor.indices if isinstance(factor, sp.Indexed) and factor.base == base else None


def _pair(involved: sp.Expr, base: sp.IndexedBase) -> tuple[tuple, tuple] | None:
    """The indices of the two entries of ``base`` whose product ``involved`` is, if it is one."""
    factors = _factors(involved)
    if len(factors) != 2:
        return None
    first, second = (_entry_of(factor, base) for factor in factors)
    return None if first is None or second is None else (first, second)


def _gram(var: sp.Symbol, low: sp.Expr, high: sp.Expr, involved: sp.Expr) -> sp.Expr | None:
    """sum_c X[a, c] X[b, c] = (X X^T)[a, b], over the samples c."""
    pair = _pair(involved, X)
    if (low, high) != (1, n) or pair is None:
        return None
    (first, c1), (second, c2) = pair
    if c1 != var or c2 != var or var in first.free_symbols | second.free_symbols:
        return None
    return Gram[first, second]


def _eigenvectors(var: sp.Symbol, low: sp.Expr, high: sp.Expr, involved: sp.Expr) -> sp.Expr | None:
    """sum_b (X X^T)[a, b] U[b, s] = lambda_s U[a, s]: the columns of U_k are eigenvectors of the
    symmetric X X^T (either index of X X^T may be the summed one)."""
    factors = _factors(involved)
    if (low, high) != (1, m) or len(factors) != 2:
        return None
    grams = [_entry_of(factor, Gram) for factor in factors]
    vectors = [_entry_of(factor, U) for factor in factors]
    for gram_at, vector_at in ((grams[0], vectors[1]), (grams[1], vectors[0])):
        if gram_at is None or vector_at is None or vector_at[0] != var:
            continue
        others = [index for index in gram_at if index != var]
        if len(others) == 1 and var not in vector_at[1].free_symbols:
            return eig[vector_at[1]] * U[others[0], vector_at[1]]
    return None


def _orthonormal(var: sp.Symbol, low: sp.Expr, high: sp.Expr, involved: sp.Expr) -> sp.Expr | None:
    """sum_r U[r, s] U[r, t] = delta(s, t): U_k^T U_k = I."""
    pair = _pair(involved, U)
    if (low, high) != (1, m) or pair is None:
        return None
    (r1, first), (r2, second) = pair
    if r1 != var or r2 != var or var in first.free_symbols | second.free_symbols:
        return None
    return sp.KroneckerDelta(first, second)


def _at_principal_components(expr: sp.Expr) -> sp.Expr:
    """``expr`` at W_2 = U_k and W_1 = U_k^T."""
    expr = substitute(expr, W2[r, s], U[r, s])
    return substitute(expr, W1[s, r], U[r, s])


def _general_principal_components_gap() -> str:
    """'' when both gradient specs vanish at W_2 = W_1^T = U_k for symbolic m, k, n, given only
    X X^T U_k = U_k Lambda_k and U_k^T U_k = I."""
    rules = (_gram, _eigenvectors, _orthonormal)
    gaps = []
    for label, gradient in (
        ("nabla_W2 L", _at(GRAD_DECODER, "dW2", _ROW, _COL)),
        ("nabla_W1 L", _at(GRAD_ENCODER, "dW1", _COL, _ROW)),
    ):
        try:
            form = sum_normal_form(_at_principal_components(gradient), _ENTRY_RANGES, rules)
        except UnsupportedSum as error:
            gaps.append(f"{label}: {error}")
            continue
        if form != 0:
            gaps.append(f"{label} at U_k reduces to {form}")
    return "; ".join(gaps)


def _cayley(parameters: list[sp.Symbol], size: int) -> tuple[sp.Matrix, sp.Expr]:
    """A generic rotation as ``(numerator, determinant)``: the Cayley transform
    (I - A)(I + A)^(-1) of a skew-symmetric A is ``numerator / determinant``, orthogonal, with
    polynomial numerator entries."""
    skew = sp.zeros(size, size)
    for (a, b), value in zip(itertools.combinations(range(size), 2), parameters, strict=True):
        skew[a, b], skew[b, a] = value, -value
    identity = sp.eye(size)
    return ((identity - skew) * (identity + skew).adjugate()).applyfunc(sp.expand), sp.expand(
        (identity + skew).det()
    )


def _vanishes(entry: sp.Expr, inverse: sp.Symbol, determinant: sp.Expr) -> bool:
    """Whether a polynomial in ``inverse`` (standing for 1/determinant) vanishes once it is
    substituted."""
    polynomial = sp.Poly(sp.expand(entry), inverse)
    degree = polynomial.degree()
    cleared = sum(
        coefficient * determinant ** (degree - power[0])
        for power, coefficient in polynomial.terms()
    )
    return sp.expand(cleared) == 0


def _prove_principal_components() -> ProofOutcome:
    """W_2 = W_1^T = U_k, the top-k eigenvectors of X X^T / n, make both gradient specs vanish:
    for symbolic sizes from the eigenvector relations, else at the explicit sizes of
    :func:`_finite_principal_components`."""
    started = time.perf_counter()
    gap = _general_principal_components_gap()
    covered = [] if not gap else _finite_principal_components()
    if isinstance(covered, ProofOutcome):
        return covered
    # The first-order conditions do not single out the top k: the bottom eigenvector is also
    # stationary, with a larger objective (a saddle). Shown at m = 2, k = 1, U = I.
    first, second = sp.Symbol("s_1", positive=True), sp.Symbol("s_2", positive=True)
    low = forward([[first, 0], [0, second]], [[0, 1]], [[0], [1]])
    high = forward([[first, 0], [0, second]], [[1, 0]], [[1], [0]])
    stationary = all(
        entry == 0 for name in ("dW1", "dW2") for entry in itertools.chain.from_iterable(low[name])
    )
    saddle = (
        "at m = 2, k = 1 the bottom eigenvector has gradient "
        f"{'zero' if stationary else 'nonzero'} and objective {low['L']} against {high['L']} for "
        "the top one (with s_1 > s_2 it is a saddle)"
    )
    if not gap:
        return ProofOutcome(
            ProofStatus.PROVED,
            "symbolic m, k, n: autoencoder.grad_encoder and autoencoder.grad_decoder (through "
            "autoencoder.code and autoencoder.reconstruction) at W_2 = W_1^T = U_k in sum normal "
            "form, reduced with sum_c X_ac X_bc = (X X^T)_ab, X X^T U_k = U_k Lambda_k and U_k^T "
            "U_k = I",
            "both gradients are zero for every m, k, n "
            f"({time.perf_counter() - started:.2f} s): the principal components satisfy the "
            "first-order conditions, so the solution's hedge is unnecessary. The reduction uses "
            "only that the k columns of U_k are orthonormal eigenvectors of X X^T, so any k of "
            "them qualify, not only the top k, and the conditions alone do not prove optimality: "
            f"{saddle}",
            scope=GENERAL,
        )
    return ProofOutcome(
        ProofStatus.PROVED,
        "autoencoder.grad_encoder and autoencoder.grad_decoder evaluated at W_2 = W_1^T = U_k "
        "with X = U diag(s) (U a Cayley rotation), reduced to the zero polynomial",
        "zero for m = 2, k = 1 with a symbolic rotation U and for m = 3, k = 1, 2 with two "
        f"rational rotations, symbolic s throughout ({time.perf_counter() - started:.2f} s): the "
        "principal components satisfy the first-order conditions, so the solution's hedge is "
        f"unnecessary. They are not the only stationary points: {saddle}." + _not_general(gap),
        scope=finite_points(("m", "k", "n"), covered),
    )


def _finite_principal_components() -> list[tuple[int, int, int]] | ProofOutcome:
    """The gradient specs at W_2 = W_1^T = U_k for explicit sizes: the (m, k, n) covered, or the
    refutation.

    The objective and its gradients depend on X only through X X^T, and every X X^T is
    U diag(s^2) U^T for an orthogonal U: so X = U diag(s) (n = m) covers every data set. U is a
    Cayley rotation (symbolic for m = 2, two rational ones for m = 3), s symbolic; 1/det is carried
    as a symbol so that every entry stays a polynomial."""
    inverse = sp.Symbol("inv_det", positive=True)
    cases = [(2, [sp.Symbol("c_1", real=True)])]  # fully symbolic rotation
    # m = 3: fixed rational rotations (a nonzero polynomial identity in the parameters would show at
    # generic points; symbolic ones cost seconds), with symbolic s.
    cases += [
        (3, [sp.Rational(1, 2), sp.Rational(-2, 3), sp.Rational(3, 5)]),
        (3, [sp.Integer(2), sp.Rational(1, 7), sp.Rational(-5, 4)]),
    ]
    covered: list[tuple[int, int, int]] = []  # (m, k, n) checked, with n = m
    for dm, parameters in cases:
        numerator, determinant = _cayley(parameters, dm)
        rotation = numerator * inverse
        scales = list(sp.symbols(f"s_1:{dm + 1}", positive=True))
        data = (rotation * sp.diag(*scales)).applyfunc(sp.expand).tolist()
        for dk in range(1, dm):
            covered.append((dm, dk, dm))
            top = rotation[:, :dk]
            out = forward(data, top.T.tolist(), top.tolist())
            for name in ("dW1", "dW2"):
                for entry in itertools.chain.from_iterable(out[name]):
                    if not _vanishes(entry, inverse, determinant):
                        return ProofOutcome(
                            ProofStatus.REFUTED,
                            "the gradient specs at W_2 = W_1^T = U_k",
                            f"{name} is not zero for m = {dm}, k = {dk}",
                            scope=finite_scope(m=[dm], k=[dk], n=[dm]),
                        )
    return covered


def _prove_orthonormal_bias() -> ProofOutcome:
    """Q2(b): sigma^2 + 1/sigma^2 has the unique minimizer sigma = 1 on sigma > 0."""
    value = sp.Symbol("sigma", positive=True)
    penalty = value**2 + 1 / value**2
    derivative = sp.diff(penalty, value)
    stationary = sp.solve(sp.Eq(derivative, 0), value)
    curvature = sp.diff(penalty, value, 2).subs(value, 1)
    limits = (sp.limit(penalty, value, 0, "+"), sp.limit(penalty, value, sp.oo))
    ok = stationary == [1] and curvature > 0 and limits == (sp.oo, sp.oo)
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "sympy.solve of the derivative of sigma^2 + 1/sigma^2 on sigma > 0, second derivative and "
        "limits",
        f"derivative {derivative}, stationary points {stationary}, second derivative {curvature} "
        f"there, limits {limits[0]} at 0+ and {limits[1]} at infinity: the unique minimizer is "
        "sigma = 1 (value 2)",
        scope=GENERAL if ok else "",
    )


# ---------------------------------------------------------------------------------------------
# Issue 15: the identities of Q1(b)(i), eq. (4), X X^T W_2, the freedom in the optimum, and
# what SGD with nn.MSELoss and weight decay minimizes (Q2(a)).

#: The ranges of a generic entry W[q, p] of the k x d matrix of autoencoder.frobenius.
_FROBENIUS_RANGES = {_COL: (sp.Integer(1), k), _ROW: (sp.Integer(1), d)}


def _normal_gap(expr: sp.Expr, ranges: dict | None = None, rules: tuple = ()) -> sp.Expr | str:
    """``expr`` in sum normal form (0 when it vanishes for every size), or why there is none."""
    try:
        return sum_normal_form(expr, ranges, rules)
    except UnsupportedSum as error:
        return f"no normal form ({error})"


def _prove_frobenius() -> ProofOutcome:
    """||WA||_F^2 - tr(A^T W^T W A) and sympy.diff(||WA||_F^2, W[q, p]) - (2 W A A^T)[q, p]
    vanish in sum normal form for symbolic k, d, n."""
    started = time.perf_counter()
    norm, trace = (FROBENIUS.canonical.expression(name) for name in ("fro", "ftr"))
    stated = FROBENIUS.canonical.expression("dfro").xreplace({s: _COL, r: _ROW})
    trace_gap = _normal_gap(norm - trace)
    expanded = _normal_gap(norm)
    gradient_gap = (
        expanded
        if isinstance(expanded, str)
        else _normal_gap(sp.diff(expanded, Wf[_COL, _ROW]) - stated, _FROBENIUS_RANGES)
    )
    ok = trace_gap == 0 and gradient_gap == 0
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "symbolic k, d, n: autoencoder.frobenius in sum normal form; sympy.diff at a generic "
        "entry W[q, p], KroneckerDelta sifting",
        f"||WA||_F^2 - tr(A^T W^T W A) reduces to {trace_gap} and d||WA||_F^2/dW - 2 W A A^T "
        f"to {gradient_gap}, for every k, d, n ({time.perf_counter() - started:.2f} s)",
        scope=GENERAL if ok else "",
    )


def _prove_eq4() -> ProofOutcome:
    """Eq. (4): (X - W_2 W_1 X) X^T W_1^T, through autoencoder.code and
    autoencoder.reconstruction, equals (I - W_2 W_1) X X^T W_1^T for symbolic m, k, n."""
    started = time.perf_counter()
    gap = _normal_gap(_at(EQ4, "E4l", _ROW, _COL) - _at(EQ4, "E4r", _ROW, _COL), _ENTRY_RANGES)
    return ProofOutcome(
        ProofStatus.PROVED if gap == 0 else ProofStatus.REFUTED,
        "symbolic m, k, n: both sides of autoencoder.eq4 at a generic entry (r, s), the "
        "reconstruction and codes substituted, in sum normal form (I as a KroneckerDelta)",
        f"the difference reduces to {gap} ({time.perf_counter() - started:.2f} s)",
        scope=GENERAL if gap == 0 else "",
    )


def _prove_gram_decoder() -> ProofOutcome:
    """At W_2 = U_k, X X^T W_2 (autoencoder.gram_decoder's G) reduces, by X X^T U_k = U_k
    Lambda_k, to lambda_s U[r, s] with lambda the eigenvalues of X X^T; the statement defines
    sigma_s^2 as those of X X^T / n, so G = n U_k Sigma_k^2: the printed U Sigma^2 [I_k; 0]
    (Gp) is short of the factor n."""
    started = time.perf_counter()
    computed = _normal_gap(
        _at_principal_components(_at(GRAM_DECODER, "G", _ROW, _COL)),
        _ENTRY_RANGES,
        (_gram, _eigenvectors),
    )
    printed = GRAM_DECODER.canonical.expression("Gp").xreplace({r: _ROW, s: _COL})
    printed = printed.xreplace({sig2[_COL]: eig[_COL] / n})  # sigma^2: eigenvalues of X X^T / n
    if isinstance(computed, str):
        return ProofOutcome(ProofStatus.NOT_PROVED, "autoencoder.gram_decoder at U_k", computed)
    ratio = sp.simplify(computed / printed)
    ok = ratio == n
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "symbolic m, k, n: X X^T W_2 of autoencoder.gram_decoder at W_2 = U_k in sum normal form, "
        "reduced with sum_c X_ac X_bc = (X X^T)_ab and X X^T U_k = U_k Lambda_k, against the "
        "printed U Sigma^2 [I_k; 0] with sigma_s^2 = lambda_s / n (Q1(b)'s definition)",
        f"X X^T W_2 = {computed}, the printed expression is {printed}: their ratio is {ratio} "
        f"for every m, k, n ({time.perf_counter() - started:.2f} s)",
        scope=GENERAL if ok else "",
    )


_C, _Ci = sp.IndexedBase("C"), sp.IndexedBase("Cinv")
_t1, _t2 = sp.symbols("t1 t2", integer=True, positive=True)
_SAMPLE = sp.Symbol("c0", integer=True, positive=True)


def _inverse(var: sp.Symbol, low: sp.Expr, high: sp.Expr, involved: sp.Expr) -> sp.Expr | None:
    """sum_s C[a, s] Cinv[s, b] = delta(a, b): C C^(-1) = I (k x k)."""
    factors = _factors(involved)
    if (low, high) != (1, k) or len(factors) != 2:
        return None
    entries = {
        f.base: f.indices for f in factors if isinstance(f, sp.Indexed) and f.base in (_C, _Ci)
    }
    if set(entries) != {_C, _Ci} or entries[_C][1] != var or entries[_Ci][0] != var:
        return None
    return sp.KroneckerDelta(entries[_C][0], entries[_Ci][1])


def _invariance_gap() -> sp.Expr | str:
    """The reconstruction at (W_2 C, C^(-1) W_1) minus at (W_2, W_1), for symbolic m, k, n and
    an invertible k x k C, in normal form; 'depends on W' if the objective reads the weights
    other than through the reconstruction."""
    if LOSS.canonical.expression("L").has(W1, W2):
        return "autoencoder.loss reads W_1, W_2 directly"
    original = _composed(Xhat[_ROW, _SAMPLE])
    moved = substitute(original, W2[r, s], sp.Sum(W2[r, _t1] * _C[_t1, s], (_t1, 1, k)))
    moved = substitute(moved, W1[s, r], sp.Sum(_Ci[s, _t2] * W1[_t2, r], (_t2, 1, k)))
    ranges = {_ROW: (sp.Integer(1), m), _SAMPLE: (sp.Integer(1), n)}
    return _normal_gap(moved - original, ranges, (_inverse,))


def _tied_rotation_objectives() -> tuple[sp.Expr, sp.Expr, bool]:
    """At m = 3, k = 2, X = diag(s_1, s_2, s_3): the objective at W_2 = W_1^T = U_k and at W_2 =
    W_1^T = U_k R (R a rotation by an angle of cosine 3/5, not a sign change), and whether both
    gradients vanish there."""
    scales = sp.symbols("s_1:4", positive=True)
    data = sp.diag(*scales).tolist()
    top = sp.Matrix([[1, 0], [0, 1], [0, 0]])
    rotation = sp.Matrix(
        [[sp.Rational(3, 5), -sp.Rational(4, 5)], [sp.Rational(4, 5), sp.Rational(3, 5)]]
    )
    plain = forward(data, top.T.tolist(), top.tolist())
    turned = forward(data, (top * rotation).T.tolist(), (top * rotation).tolist())
    stationary = all(
        sp.expand(entry) == 0
        for name in ("dW1", "dW2")
        for entry in itertools.chain.from_iterable(turned[name])
    )
    return sp.expand(plain["L"]), sp.expand(turned["L"]), stationary


def _prove_optimum_invariance() -> ProofOutcome:
    """The objective of eq. (1) is the same at (W_2 C, C^(-1) W_1) as at (W_2, W_1), for every
    invertible k x k C: the optimum is a set, unique only up to such C."""
    started = time.perf_counter()
    gap = _invariance_gap()
    plain, turned, stationary = _tied_rotation_objectives()
    ok = gap == 0 and sp.expand(plain - turned) == 0 and stationary
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "symbolic m, k, n: autoencoder.reconstruction through autoencoder.code with W_2 -> W_2 C "
        "and W_1 -> C^(-1) W_1, in sum normal form with C C^(-1) = I; autoencoder.loss reads the "
        "weights only through the reconstruction; then a tied rotation at m = 3, k = 2",
        f"the reconstruction changes by {gap}, so L(W_2 C, C^(-1) W_1) = L(W_2, W_1) for every "
        "invertible C and every m, k, n; with tied weights W_2 = W_1^T = U_k R for a rotation R "
        f"(cosine 3/5) the objective is {turned} against {plain} at U_k, gradients "
        f"{'zero' if stationary else 'nonzero'} ({time.perf_counter() - started:.2f} s)",
        scope=GENERAL if ok else "",
    )


def _weight_entries(expr: sp.Expr) -> sp.Expr:
    """How many entries of W_1 and W_2 the Sums of ``expr`` run over (each Sum of squares once)."""
    return sp.expand(
        sum(
            (sp.Sum(1, *total.limits).doit() for total in expr.atoms(sp.Sum) if total.has(W1, W2)),
            sp.Integer(0),
        )
    )


def _prove_sgd_weight_decay() -> ProofOutcome:
    """autoencoder.sgd_objective equals kappa times eq. (6) (autoencoder.reg_loss with
    autoencoder.loss) for symbolic sizes exactly when kappa = 1/m and wd = 2 lambda/m."""
    started = time.perf_counter()
    kappa = sp.Symbol("kappa", positive=True)
    regularized = REG_LOSS.canonical.expression("Lreg").xreplace(
        {L: LOSS.canonical.expression("L")}
    )
    form = _normal_gap(SGD_OBJECTIVE.canonical.expression("Lsgd") - kappa * regularized)
    if isinstance(form, str):
        return ProofOutcome(
            ProofStatus.NOT_PROVED, "autoencoder.sgd_objective against eq. (6)", form
        )
    coefficients = sp.collect(sp.expand(form), list(form.atoms(sp.Sum)), evaluate=False)
    solutions = sp.solve(list(coefficients.values()), [kappa, wd], dict=True)
    ok = len(solutions) == 1 and set(solutions[0]) == {kappa, wd}
    solved = solutions[0] if ok else {}
    parameters = _weight_entries(regularized)
    with_bias = sp.expand(parameters + k + m)  # nn.Linear(m, k) and nn.Linear(k, m) add k + m
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "symbolic m, k, n: autoencoder.sgd_objective minus kappa times autoencoder.reg_loss "
        "(with autoencoder.loss) in sum normal form, every Sum's coefficient solved for kappa "
        "and the weight decay",
        (
            f"equal exactly when kappa = {solved.get(kappa)} and weight_decay = {solved.get(wd)}: "
            "nn.MSELoss averages over the m entries, which scales (6) by 1/m, and SGD's "
            "weight_decay w adds w W to the gradient, the gradient of (w/2)||W||_F^2"
            if ok
            else f"no weight decay makes them proportional: {solutions}"
        )
        + f". Eq. (6) has {parameters} parameters; two default nn.Linear layers have {with_bias} "
        f"(biases) ({time.perf_counter() - started:.2f} s)",
        scope=GENERAL if ok else "",
    )


# ---------------------------------------------------------------------------------------------
# Q2(b): the optimum without regularization, the penalty at a pseudo-inverse pair, and the
# stationary point of eq. (6) for a small nonzero lambda. All for symbolic m, k, n: the weights
# are written through U_k (orthonormal eigenvectors of X X^T) and k x k factors, and the sums
# reduced with the rules of the principal-components proofs.

#: The SVD factors of C = A diag(s) B^T (k x k, orthogonal) and two more bound indices.
_A, _B = sp.IndexedBase("A"), sp.IndexedBase("B")
_v1, _v2 = sp.symbols("v1 v2", integer=True, positive=True)
#: A second generic entry: (p, q) and (pp, qq) index m x m and k x k products.
_ROW2 = sp.Symbol("pp", integer=True, positive=True)
_COL2 = sp.Symbol("qq", integer=True, positive=True)
_PAIR_RANGES = {
    _ROW: (sp.Integer(1), m),
    _ROW2: (sp.Integer(1), m),
    _COL: (sp.Integer(1), k),
    _COL2: (sp.Integer(1), k),
}


def _trace(var: sp.Symbol, low: sp.Expr, high: sp.Expr, involved: sp.Expr) -> sp.Expr | None:
    """sum_r (X X^T)[r, r] = lambda_1 + ... + lambda_m: the trace of the symmetric X X^T is the sum
    of its eigenvalues (U is its full eigenbasis)."""
    if (low, high) != (1, m) or involved != Gram[var, var]:
        return None
    every = sp.Dummy("e", integer=True, positive=True)
    return sp.Sum(eig[every], (every, 1, m))


def _orthogonal(var: sp.Symbol, low: sp.Expr, high: sp.Expr, involved: sp.Expr) -> sp.Expr | None:
    """A^T A = A A^T = I and B^T B = B B^T = I for the k x k orthogonal factors of an SVD."""
    if (low, high) != (1, k):
        return None
    for base in (_A, _B):
        pair = _pair(involved, base)
        if pair is None:
            continue
        (row1, col1), (row2, col2) = pair
        if row1 == var == row2 and var not in col1.free_symbols | col2.free_symbols:
            return sp.KroneckerDelta(col1, col2)
        if col1 == var == col2 and var not in row1.free_symbols | row2.free_symbols:
            return sp.KroneckerDelta(row1, row2)
    return None


def _at_factorization(expr: sp.Expr) -> sp.Expr:
    """``expr`` at W_2 = U_k C, W_1 = C^(-1) U_k^T (C invertible, k x k): every factorization
    of W_2 W_1 = U_k U_k^T whose factors have rank k."""
    expr = substitute(expr, W2[r, s], sp.Sum(U[r, _t1] * _C[_t1, s], (_t1, 1, k)))
    return substitute(expr, W1[s, r], sp.Sum(_Ci[s, _t2] * U[r, _t2], (_t2, 1, k)))


def _at_singular_values(expr: sp.Expr) -> sp.Expr:
    """``expr`` at the same pairs with C = A diag(s) B^T written out: W_2 = U_k A diag(s) B^T,
    W_1 = B diag(1/s) A^T U_k^T."""
    decoder = sp.Sum(U[r, _t1] * _A[_t1, _v1] * sv[_v1] * _B[s, _v1], (_v1, 1, k), (_t1, 1, k))
    encoder = sp.Sum(_B[s, _v2] / sv[_v2] * _A[_t2, _v2] * U[r, _t2], (_v2, 1, k), (_t2, 1, k))
    return substitute(substitute(expr, W2[r, s], decoder), W1[s, r], encoder)


def _product_entry(first: sp.IndexedBase, second: sp.IndexedBase, inner: sp.Expr) -> sp.Expr:
    """Entry (p, pp) of W_2 W_1 (``inner`` = k) or (q, qq) of W_1 W_2 (``inner`` = m)."""
    if inner == k:
        return sp.Sum(first[_ROW, s] * second[s, _ROW2], (s, 1, k))
    return sp.Sum(first[_COL, r] * second[r, _COL2], (r, 1, m))


def _prove_pca_optimum() -> ProofOutcome:
    """At lambda = 0: every rank-k factorization of W_2 W_1 = U_k U_k^T leaves eq. (5) at the
    discarded eigenvalues (autoencoder.pca_optimum), makes both gradient specs vanish, and acts
    as the identity on span(U_k); for symbolic m, k, n."""
    started = time.perf_counter()
    rules = (_gram, _eigenvectors, _orthonormal, _inverse, _trace)
    objective = _normal_gap(
        _at_factorization(_composed(LOSS.canonical.expression("L"))), None, rules
    )
    stated = PCA_OPTIMUM.canonical.expression("Lpca").xreplace(
        {sig2[r]: eig[r] / n, sig2[s]: eig[s] / n}  # sigma_i^2: eigenvalues of X X^T / n
    )
    gaps = {
        "L - autoencoder.pca_optimum": objective
        if isinstance(objective, str)
        else _normal_gap(objective - stated),
        "nabla_W2 L": _normal_gap(
            _at_factorization(_at(GRAD_DECODER, "dW2", _ROW, _COL)), _ENTRY_RANGES, rules
        ),
        "nabla_W1 L": _normal_gap(
            _at_factorization(_at(GRAD_ENCODER, "dW1", _COL, _ROW)), _ENTRY_RANGES, rules
        ),
        "W_2 W_1 U_k - U_k": _normal_gap(
            _at_factorization(
                sp.Sum(W2[_ROW, s] * sp.Sum(W1[s, rr] * U[rr, _COL], (rr, 1, m)), (s, 1, k))
            )
            - U[_ROW, _COL],
            _ENTRY_RANGES,
            rules,
        ),
    }
    failed = {label: gap for label, gap in gaps.items() if gap != 0}
    ok = not failed
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "symbolic m, k, n: autoencoder.loss, autoencoder.grad_decoder and "
        "autoencoder.grad_encoder (through code and reconstruction) at W_2 = U_k C, W_1 = "
        "C^(-1) U_k^T in sum normal form, reduced with sum_c X_ac X_bc = (X X^T)_ab, X X^T U_k = "
        "U_k Lambda_k, U_k^T U_k = I, C C^(-1) = I and tr(X X^T) = lambda_1 + ... + lambda_m",
        (
            f"for every m, k, n and invertible C: L = {objective} (lambda_i the eigenvalues of "
            "X X^T), which is autoencoder.pca_optimum's sigma_(k+1)^2 + ... + sigma_m^2, the "
            "discarded squared singular values of X over n; both gradients are 0; and W_2 W_1 "
            "U_k = U_k, the identity on the span of the top k singular vectors. That no other "
            "rank-k product does better (Eckart-Young-Mirsky) is an inequality over all "
            "weights, not checked here"
            if ok
            else "; ".join(f"{label} reduces to {gap}" for label, gap in failed.items())
        )
        + f" ({time.perf_counter() - started:.2f} s)",
        scope=GENERAL if ok else "",
    )


#: The witness of autoencoder.optimal_product.range_only: (m, k, n).
RANGE_ONLY_SIZE = (3, 1, 3)


def _prove_range_only() -> ProofOutcome:
    """With rank X < m the objective fixes W_2 W_1 only on the column space of X: at m = 3,
    k = 1, X = diag(s_1, s_2, s_3), the oblique W_2 = e_1, W_1 = (e_1 + e_3)^T has the objective
    of U_1 U_1^T plus s_3^2 / n, and vanishing gradients once s_3 = 0."""
    started = time.perf_counter()
    dm, dk, dn = RANGE_ONLY_SIZE
    scales = sp.symbols("s_1:4", nonnegative=True)
    data = sp.diag(*scales).tolist()
    top = forward(data, [[1, 0, 0]], [[1], [0], [0]])
    oblique_encoder, oblique_decoder = [[1, 0, 1]], [[1], [0], [0]]
    oblique = forward(data, oblique_encoder, oblique_decoder)
    product = sp.Matrix(oblique_decoder) * sp.Matrix(oblique_encoder)
    excess = sp.factor(oblique["L"] - top["L"])
    deficient = {scales[2]: 0}
    stationary = all(
        sp.expand(entry.subs(deficient)) == 0
        for name in ("dW1", "dW2")
        for entry in itertools.chain.from_iterable(oblique[name])
    )
    # sigma_i^2 = s_i^2 / n for X = diag(s): the objective at U_1 U_1^T is the discarded ones.
    discarded = PCA_OPTIMUM.canonical.expression("Lpca").subs({m: dm, k: dk}).doit()
    discarded = discarded.xreplace({sig2[a + 1]: scales[a] ** 2 / dn for a in range(dm)})
    ok = (
        sp.expand(top["L"] - discarded) == 0
        and excess.subs(deficient) == 0
        and excess != 0
        and stationary
        and product * product == product
        and product != product.T
    )
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "autoencoder.forward (the code, reconstruction, loss and gradient specs) at m = 3, k = 1, "
        "n = 3, X = diag(s_1, s_2, s_3), at W_2 = e_1, W_1 = e_1^T and at W_2 = e_1, W_1 = (e_1 + "
        "e_3)^T, symbolic s",
        f"the objective at U_1 U_1^T is {top['L']} (autoencoder.pca_optimum), at the oblique "
        f"pair it is larger by {excess}: the same optimum once s_3 = 0 (rank X = 2 < m), with "
        f"both gradients {'zero' if stationary else 'nonzero'} there; W_2 W_1 = "
        f"{product.tolist()} is idempotent, not symmetric, so it is a projection onto span(U_1) "
        "but not U_1 U_1^T. Every optimum's W_2 W_1 is U_k U_k^T on the column space of X only "
        f"({time.perf_counter() - started:.2f} s)",
        scope=finite_points(("m", "k", "n"), [RANGE_ONLY_SIZE]) if ok else "",
    )


def _penalty() -> sp.Expr:
    """||W_1||_F^2 + ||W_2||_F^2 as eq. (6) (autoencoder.reg_loss) weighs it by lambda."""
    return sp.expand((REG_LOSS.canonical.expression("Lreg") - L) / lam)


def _prove_balanced_penalty() -> ProofOutcome:
    """Q2(b)'s argument, for symbolic m, k: at W_2 = U_k A diag(s) B^T, W_1 = B diag(1/s) A^T
    U_k^T (every rank-k pair with W_2 W_1 = U_k U_k^T, the SVD of C written out), W_1 is the
    pseudo-inverse of W_2, the penalty of eq. (6) is autoencoder.balanced_penalty, it exceeds 2k
    by sum_i (s_i^2 - 1)^2 / s_i^2, and W_2^T W_2 = I exactly when every s_i = 1."""
    started = time.perf_counter()
    rules = (_orthonormal, _orthogonal)
    penalty = _normal_gap(_at_singular_values(_penalty()), None, rules)
    stated = BALANCED_PENALTY.canonical.expression("pen")
    excess = sp.Sum((sv[s] ** 2 - 1) ** 2 / sv[s] ** 2, (s, 1, k))
    value = sp.Symbol("sigma", positive=True)
    summand = (value**2 - 1) ** 2 / value**2
    gram = sp.Sum(W2[r, _COL] * W2[r, _COL2], (r, 1, m))
    conjugated = sp.Sum(
        _B[_v1, _COL] * gram.xreplace({_COL: _v1, _COL2: _v2}) * _B[_v2, _COL2],
        (_v1, 1, k),
        (_v2, 1, k),
    )
    gaps = {
        "penalty - autoencoder.balanced_penalty": penalty
        if isinstance(penalty, str)
        else _normal_gap(penalty - stated),
        "penalty - 2k - sum (s^2 - 1)^2 / s^2": _normal_gap(stated - 2 * k - excess),
        "W_1 W_2 - I_k": _normal_gap(
            _at_singular_values(_product_entry(W1, W2, m)) - sp.KroneckerDelta(_COL, _COL2),
            _PAIR_RANGES,
            rules,
        ),
        "W_2 W_1 - U_k U_k^T": _normal_gap(
            _at_singular_values(_product_entry(W2, W1, k))
            - sp.Sum(U[_ROW, s] * U[_ROW2, s], (s, 1, k)),
            _PAIR_RANGES,
            rules,
        ),
        "B^T W_2^T W_2 B - diag(s^2)": _normal_gap(
            _at_singular_values(conjugated) - sp.KroneckerDelta(_COL, _COL2) * sv[_COL] ** 2,
            _PAIR_RANGES,
            rules,
        ),
        "W_2^T W_2 - I at s = 1": _normal_gap(
            replace_entries(_at_singular_values(gram), sv, lambda _: sp.Integer(1))
            - sp.KroneckerDelta(_COL, _COL2),
            _PAIR_RANGES,
            rules,
        ),
    }
    failed = {label: gap for label, gap in gaps.items() if gap != 0}
    # Each term of the excess is a square over a positive number, 0 exactly at s_i = 1.
    nonnegative = bool(summand.is_nonnegative) and sp.solve(summand, value) == [1]
    ok = not failed and nonnegative
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "symbolic m, k: the penalty of autoencoder.reg_loss, W_1 W_2, W_2 W_1 and W_2^T W_2 at "
        "W_2 = U_k A diag(s) B^T, W_1 = B diag(1/s) A^T U_k^T in sum normal form, reduced with "
        "U_k^T U_k = I and A, B orthogonal; sympy.solve of (s^2 - 1)^2 / s^2 = 0 on s > 0",
        (
            "for every m, k: W_1 W_2 = I_k and W_2 W_1 = U_k U_k^T (W_1 is the pseudo-inverse of "
            "W_2), ||W_1||_F^2 + ||W_2||_F^2 = sum_i (s_i^2 + 1/s_i^2) = 2k + sum_i (s_i^2 - "
            "1)^2 / s_i^2, whose terms are >= 0 and 0 only at s_i = 1: the penalty is least (2k) "
            "exactly when every singular value of W_2 is 1, and B^T W_2^T W_2 B = diag(s^2), so "
            "that is exactly when W_2^T W_2 = I (orthonormal columns; then W_1 = W_2^T)"
            if ok
            else "; ".join(f"{label} reduces to {gap}" for label, gap in failed.items())
            + ("" if nonnegative else f"; (s^2 - 1)^2 / s^2 is not a nonnegative term: {summand}")
        )
        + f" ({time.perf_counter() - started:.2f} s)",
        scope=GENERAL if ok else "",
    )


def _diagonal_gap(expr: sp.Expr) -> sp.Expr:
    """A k x k entry (q, qq) that is a multiple of KroneckerDelta(q, qq): 0 when it vanishes off
    the diagonal and on it (where a square root of an entry at q times one at qq is a square)."""
    delta = sp.KroneckerDelta(_COL, _COL2)
    off = sp.simplify(expr.xreplace({delta: 0}))
    on = sp.simplify(expr.xreplace({delta: 1}).xreplace({_COL2: _COL}))
    return off + on if off == 0 or on == 0 else sp.Tuple(off, on)


def _prove_regularized_optimum() -> ProofOutcome:
    """For 0 < lambda < sigma_k^2, sympy.diff of eq. (6) (autoencoder.reg_loss with
    autoencoder.loss, through code and reconstruction) vanishes at autoencoder.regularized_optimum,
    for symbolic m, k, n, and that point's W_2^T W_2 is I - lambda Sigma_k^(-2)."""
    started = time.perf_counter()
    regularized = REG_LOSS.canonical.expression("Lreg").xreplace(
        {L: LOSS.canonical.expression("L")}
    )
    relations = REGULARIZED_OPTIMUM.canonical.relations
    # sigma_i^2 = lambda_i / n: the eigenvalues of X X^T / n (the rules speak of X X^T's).
    at_eigen = {sig2[s]: eig[s] / n}

    def at_point(expr: sp.Expr) -> sp.Expr:
        expr = substitute(expr, W2[r, s], relations[W2opt[r, s]].xreplace(at_eigen))
        return substitute(expr, W1[s, r], relations[W1opt[s, r]].xreplace(at_eigen))

    rules = (_gram, _eigenvectors, _orthonormal)
    objective = _normal_gap(_composed(regularized))
    if isinstance(objective, str):
        return ProofOutcome(ProofStatus.NOT_PROVED, "eq. (6) in sum normal form", objective)
    gaps = {
        label: _normal_gap(at_point(sp.diff(objective, entry)), _ENTRY_RANGES, rules)
        for label, entry in (
            ("d L_lambda / d W_2", W2[_ROW, _COL]),
            ("d L_lambda / d W_1", W1[_COL, _ROW]),
        )
    }
    gram = _normal_gap(at_point(sp.Sum(W2[r, _COL] * W2[r, _COL2], (r, 1, m))), _PAIR_RANGES, rules)
    shrunk = sp.KroneckerDelta(_COL, _COL2) * (1 - lam / sig2[_COL])
    at_eigen_entry = {sig2[_COL]: eig[_COL] / n}
    gaps["W_2^T W_2 - (I - lambda Sigma_k^-2)"] = (
        gram if isinstance(gram, str) else _diagonal_gap(gram - shrunk.xreplace(at_eigen_entry))
    )
    tied = sp.simplify(relations[W2opt[r, s]] - relations[W1opt[s, r]]) == 0
    failed = {label: gap for label, gap in gaps.items() if gap != 0}
    ok = not failed and tied
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "symbolic m, k, n: sympy.diff of autoencoder.reg_loss (with autoencoder.loss, code and "
        "reconstruction) in sum normal form at a generic entry, at W_2 = W_1^T = U_k (I - lambda "
        "Sigma_k^(-2))^(1/2), reduced with sum_c X_ac X_bc = (X X^T)_ab, X X^T U_k = U_k "
        "Lambda_k and U_k^T U_k = I",
        (
            "both gradients of eq. (6) vanish for every m, k, n and 0 < lambda < sigma_k^2, and "
            "there W_2^T W_2 = I - lambda Sigma_k^(-2): the columns are orthogonal with squared "
            "norms 1 - lambda / sigma_i^2, so orthonormal up to O(lambda / sigma_k^2), and W_1 = "
            "W_2^T. That this stationary point is the global minimum of eq. (6) is an "
            "inequality over all weights, not checked here"
            if ok
            else "; ".join(f"{label} reduces to {gap}" for label, gap in failed.items())
            + ("" if tied else "; W_1 is not W_2^T")
        )
        + f" ({time.perf_counter() - started:.2f} s)",
        scope=GENERAL if ok else "",
    )


CLAIMS = (
    Claim(
        "autoencoder.gradients.exact",
        "nabla_W1 L and nabla_W2 L are the exact gradients of eq. (1); the printed ones drop a "
        "factor -1/n",
        hw7("Q1(b)(i)"),
        (
            GRAD_ENCODER.id,
            GRAD_DECODER.id,
            LOSS.id,
            CODE.id,
            RECONSTRUCTION.id,
            PRINTED_GRADIENTS.id,
        ),
        _prove_gradients,
    ),
    Claim(
        "autoencoder.pca_first_order",
        "The top-k principal components (W_2 = W_1^T = U_k) satisfy the first-order optimality "
        "conditions",
        hw7("Q1(b)(ii)"),
        (GRAD_ENCODER.id, GRAD_DECODER.id, CODE.id, RECONSTRUCTION.id),
        _prove_principal_components,
    ),
    Claim(
        "autoencoder.orthonormal_bias",
        "sigma^2 + 1/sigma^2 is minimized uniquely at sigma = 1 (the bias of eq. (6) toward "
        "orthonormal W_2)",
        hw7("Q2(b)"),
        (REG_LOSS.id,),
        _prove_orthonormal_bias,
    ),
    Claim(
        "autoencoder.frobenius_identities",
        "||WA||_F^2 = tr(A^T W^T W A) and its gradient with respect to W is 2 W A A^T",
        hw7("Q1(b)(i)"),
        (FROBENIUS.id,),
        _prove_frobenius,
    ),
    Claim(
        "autoencoder.eq4",
        "(X - W_2 W_1 X) X^T W_1^T = (I - W_2 W_1) X X^T W_1^T",
        hw7("Q1(b)(ii)", "(4)"),
        (EQ4.id, CODE.id, RECONSTRUCTION.id),
        _prove_eq4,
    ),
    Claim(
        "autoencoder.gram_decoder.scale",
        "At W_2 = U_k, X X^T W_2 = n U_k Sigma_k^2 (sigma_i^2 the eigenvalues of X X^T / n)",
        hw7("Q1(b)(ii)"),
        (GRAM_DECODER.id,),
        _prove_gram_decoder,
    ),
    Claim(
        "autoencoder.optimum_invariance",
        "The objective of eq. (1) is unchanged by W_2 -> W_2 C, W_1 -> C^(-1) W_1 for any "
        "invertible C",
        hw7("Q1(b)"),
        (LOSS.id, CODE.id, RECONSTRUCTION.id, GRAD_DECODER.id, GRAD_ENCODER.id),
        _prove_optimum_invariance,
    ),
    Claim(
        "autoencoder.pca_optimum",
        "At lambda = 0 every rank-k factorization of W_2 W_1 = U_k U_k^T is stationary, is the "
        "identity on span(U_k), and leaves the discarded eigenvalues sigma_(k+1)^2 + ... + "
        "sigma_m^2",
        hw7("Q2(b)"),
        (PCA_OPTIMUM.id, LOSS.id, CODE.id, RECONSTRUCTION.id, GRAD_DECODER.id, GRAD_ENCODER.id),
        _prove_pca_optimum,
    ),
    Claim(
        "autoencoder.optimal_product.range_only",
        "At lambda = 0 the optimum fixes W_2 W_1 on the column space of X only: with rank X < m "
        "an oblique projection onto span(U_k) is optimal too",
        hw7("Q2(b)"),
        (PCA_OPTIMUM.id, LOSS.id, GRAD_DECODER.id, GRAD_ENCODER.id),
        _prove_range_only,
    ),
    Claim(
        "autoencoder.balanced_penalty",
        "With W_2 W_1 = U_k U_k^T, W_1 is W_2's pseudo-inverse and ||W_1||_F^2 + ||W_2||_F^2 = "
        "sum_i (s_i^2 + 1/s_i^2) is least exactly when W_2 has orthonormal columns",
        hw7("Q2(b)"),
        (BALANCED_PENALTY.id, REG_LOSS.id),
        _prove_balanced_penalty,
    ),
    Claim(
        "autoencoder.regularized_optimum",
        "For 0 < lambda < sigma_k^2, W_2 = W_1^T = U_k (I - lambda Sigma_k^(-2))^(1/2) is a "
        "stationary point of eq. (6), with W_2^T W_2 = I - lambda Sigma_k^(-2)",
        hw7("Q2(b)"),
        (REGULARIZED_OPTIMUM.id, REG_LOSS.id, LOSS.id, CODE.id, RECONSTRUCTION.id),
        _prove_regularized_optimum,
    ),
    Claim(
        "autoencoder.sgd_weight_decay",
        "SGD with nn.MSELoss and weight decay 2 lambda / m minimizes (1/m) times eq. (6)",
        hw7("Q2(a)(ii), (iii)"),
        (SGD_OBJECTIVE.id, REG_LOSS.id, LOSS.id),
        _prove_sgd_weight_decay,
    ),
)


ERRATA = (
    {
        "id": "autoencoder.q1b_gradient_factor",
        "specs": (
            "autoencoder.grad_decoder",
            "autoencoder.grad_encoder",
            "autoencoder.printed_gradients",
        ),
        "document": EECS182_HW7_DOCUMENT,
        "location": "Q1(b)(i), solution",
        "says": "nabla_W2 L = 2 (I - W_2 W_1) X X^T W_1^T and nabla_W1 L = 2 W_2^T (I - W_2 W_1) "
        "X X^T, with an intermediate 2 H(W_1, W_2) X X^T W_2 for nabla_W1 L",
        "resolution": "The gradients of (1/n)||X - W_2 W_1 X||_F^2 are -(2/n)(I - W_2 W_1) X X^T "
        "W_1^T and -(2/n) W_2^T (I - W_2 W_1) X X^T (autoencoder.grad_decoder, "
        "autoencoder.grad_encoder); proof autoencoder.gradients.exact finds the printed ones are "
        "-n times these at every entry (sign and 1/n dropped). The intermediate is m x k, not the "
        "k x m shape of W_1. The stated conditions (= 0) are unaffected.",
    },
    {
        "id": "autoencoder.q1b_pca_decomposition",
        "specs": ("autoencoder.loss", "autoencoder.reconstruction"),
        "document": EECS182_HW7_DOCUMENT,
        "location": "Q1(b) statement and Q1(b)(ii), solution",
        "says": "the top-k eigenvalues of X are diag(sigma_1..sigma_k); X = sum_i sigma_i u_i "
        "u_i^T; I - U_k U_k^T equals block-diag(0, I); and a note that the argument may not hold",
        "resolution": "X is m x n, so it has singular values, not eigenvalues, and no expansion "
        "in u_i u_i^T; the expansion that holds is (1/n) X X^T = sum_i sigma_i^2 u_i u_i^T, and I "
        "- U_k U_k^T is block-diag(0, I) only in the eigenbasis (U^T (I - U_k U_k^T) U). The "
        "conclusion stands: proof autoencoder.pca_first_order shows both gradients vanish at W_2 "
        "= W_1^T = U_k for every m, k, n, from X X^T U_k = U_k Lambda_k and U_k^T U_k = I alone; "
        "so the conditions also hold at non-top eigenvectors (saddles), which is why they alone do "
        "not prove optimality.",
    },
    {
        "id": "autoencoder.q1b_gram_scale",
        "specs": ("autoencoder.gram_decoder",),
        "document": EECS182_HW7_DOCUMENT,
        "location": "Q1(b)(ii), solution",
        "says": "X X^T W_2 = U Sigma^2 U^T U_k = U Sigma^2 [I_k; 0]",
        "resolution": "Q1(b) defines sigma_i^2 as the eigenvalues of X X^T / n, so X X^T = n U "
        "Sigma^2 U^T and X X^T W_2 = n U Sigma^2 [I_k; 0] at W_2 = U_k (proof "
        "autoencoder.gram_decoder.scale: ratio n for every m, k, n). The factor does not change "
        "the conclusion that the gradients vanish there.",
    },
    {
        "id": "autoencoder.q1b_up_to_sign",
        "specs": ("autoencoder.loss", "autoencoder.code", "autoencoder.reconstruction"),
        "document": EECS182_HW7_DOCUMENT,
        "location": "Q1(b) statement",
        "says": "the principal components are the unique optimal solution of the linear "
        "autoencoder, up to sign changes of the projection directions",
        "resolution": "The sign is not the only freedom: eq. (1) depends on the weights only "
        "through W_2 W_1, so (W_2 C, C^(-1) W_1) is optimal for every invertible k x k C (proof "
        "autoencoder.optimum_invariance), e.g. W_2 = c u_1, W_1 = u_1^T / c for any c != 0; even "
        "with tied weights W_2 = W_1^T, U_k R is optimal for every orthogonal R (a rotation "
        "within the top-k subspace when k >= 2). What is unique is the product W_2 W_1 = U_k "
        "U_k^T, the projection onto the top-k subspace.",
    },
    {
        "id": "autoencoder.q2a_bias",
        "specs": ("autoencoder.reg_loss", "autoencoder.sgd_objective"),
        "document": EECS182_HW7_DOCUMENT,
        "location": "Q2(a)(i), solution",
        "says": "two linear layers, one for the encoder and one for the decoder, to optimize (6) "
        "exactly as it is written",
        "resolution": "Eq. (6) has no bias: its model is W_2 W_1 x with 2 k m parameters, while "
        "two default nn.Linear layers compute W_2 (W_1 x + b_1) + b_2 with 2 k m + k + m, and "
        "weight decay would then penalize b_1, b_2 too, terms (6) does not have. The layers need "
        "bias=False (counted in proof autoencoder.sgd_weight_decay, which also finds the weight "
        "decay 2 lambda / m that nn.MSELoss's mean over the m entries implies).",
    },
)
