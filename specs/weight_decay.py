r"""Weight decay versus an L2 penalty under an adaptive method: UC Berkeley EECS 182 Final Exam
(Spring 2023), Q4.

For Adam without momentum, with :math:`M_t` the (diagonal) adaptive term:

.. math::

    \text{L2:}\quad
        \theta_{t+1} = \theta_t - \alpha M_t (\nabla f_t(\theta_t) + \lambda_w \theta_t),
    \qquad
    \text{weight decay:}\quad
        \theta_{t+1} = (1 - \lambda_r)\theta_t - \alpha M_t \nabla f_t(\theta_t).

Q4(a): they coincide exactly when :math:`M_t = \frac{\lambda_r}{\lambda_w \alpha} I` (eqs.
(1)-(4)). Q4(b): in Algorithm 1 (Adam without bias correction) the decay term
:math:`\lambda_r \theta_{t-1}` belongs at blank D, in the parameter update; at blank A (the
gradient) it is an L2 penalty. Line 1 gives :math:`\alpha = 0.001`, :math:`\beta_1 = 0.9`,
:math:`\beta_2 = 0.999`. Every quantity is elementwise (``M`` holds the diagonal of
:math:`M_t`).
"""

from __future__ import annotations

import sympy as sp

from .defaults import DOCUMENTED_DEFAULTS
from .model import GENERAL, Claim, ProofOutcome, ProofStatus, Spec, SymbolInfo, Variant
from .sources import exam

__all__ = [
    "ALGORITHM1",
    "CLAIMS",
    "DECAY_UPDATE",
    "GIVEN",
    "L2_UPDATE",
    "SPECS",
    "algorithm1_with_term",
]

theta, theta_next, grad = (
    sp.Symbol("theta", real=True),
    sp.Symbol("theta_next", real=True),
    sp.Symbol("grad", real=True),
)
M = sp.Symbol("M", positive=True)
alpha = sp.Symbol("alpha", positive=True)
lam_w, lam_r = sp.Symbol("lam_w", positive=True), sp.Symbol("lam_r", positive=True)
beta1, beta2 = sp.Symbol("beta1", positive=True), sp.Symbol("beta2", positive=True)
g = sp.Symbol("g", real=True)
m_prev, m = sp.Symbol("m_prev", real=True), sp.Symbol("m", real=True)
v_prev, v = sp.Symbol("v_prev", nonnegative=True), sp.Symbol("v", positive=True)
theta_prev = sp.Symbol("theta_prev", real=True)

POSITIVE = sp.Interval.open(0, sp.oo)
OPEN_UNIT = sp.Interval.open(0, 1)

SYMBOLS = {
    "theta": SymbolInfo(theta, "parameter before the update", display="theta_t"),
    "theta_next": SymbolInfo(theta_next, "parameter after the update", display="theta_t+1"),
    "grad": SymbolInfo(grad, "gradient of the loss at the current parameter", display="nablaf_t"),
    "M": SymbolInfo(M, "diagonal entry of the adaptive term M_t", POSITIVE, "M_t"),
    "alpha": SymbolInfo(alpha, "learning rate", POSITIVE, "alpha"),
    "lam_w": SymbolInfo(lam_w, "L2 penalty strength", POSITIVE, "lambda_w"),
    "lam_r": SymbolInfo(lam_r, "weight-decay rate", POSITIVE, "lambda_r"),
    "beta1": SymbolInfo(beta1, "decay rate of the first moment", OPEN_UNIT, "beta_1"),
    "beta2": SymbolInfo(beta2, "decay rate of the second moment", OPEN_UNIT, "beta_2"),
    "g": SymbolInfo(g, "the gradient fed to the moments (line 6)", display="g_t"),
    "m_prev": SymbolInfo(m_prev, "first moment after step t - 1 (m_0 = 0)", display="m_t-1"),
    "m": SymbolInfo(m, "first moment (line 7)", display="m_t"),
    "v_prev": SymbolInfo(
        v_prev, "second moment after step t - 1 (v_0 = 0)", sp.Interval(0, sp.oo), "v_t-1"
    ),
    "v": SymbolInfo(v, "second moment (line 8)", POSITIVE, "v_t"),
    "theta_prev": SymbolInfo(theta_prev, "parameter before step t", display="theta_t-1"),
}


def _spec(
    id: str, title: str, section: str, equation: str, names: tuple[str, ...], relations: dict
) -> Spec:
    return Spec(
        id=id,
        title=title,
        source=exam(section, equation),
        component="weight_decay",
        symbols=tuple(SYMBOLS[name] for name in names),
        variants=(Variant("canonical", relations),),
    )


L2_UPDATE = _spec(
    "weight_decay.l2_update",
    "Adaptive update with an L2 penalty",
    "Q4",
    "L2 regularization (first display)",
    ("theta_next", "theta", "alpha", "M", "grad", "lam_w"),
    {theta_next: theta - alpha * M * (grad + lam_w * theta)},
)
DECAY_UPDATE = _spec(
    "weight_decay.decay_update",
    "Adaptive update with weight decay",
    "Q4",
    "weight decay (second display)",
    ("theta_next", "lam_r", "theta", "alpha", "M", "grad"),
    {theta_next: (1 - lam_r) * theta - alpha * M * grad},
)

#: Algorithm 1's lines 6-9 with nothing in the blanks.
_LINES = {
    g: grad,
    m: beta1 * m_prev + (1 - beta1) * g,
    v: beta2 * v_prev + (1 - beta2) * g**2,
    theta: theta_prev - alpha * m / sp.sqrt(v),
}
#: Where each blank adds its term: the quantity of the line, and the place in its expression.
BLANKS = ("A", "B", "C", "D")


def algorithm1_with_term(
    blank: str, term: sp.Expr = lam_r * theta_prev
) -> dict[sp.Symbol, sp.Expr]:
    """Lines 6-9 of Algorithm 1 with ``term`` in blank A (line 6, the gradient), B (inside line 7's
    parenthesis), C (added to line 8) or D (inside line 9's parenthesis, so subtracted)."""
    lines = dict(_LINES)
    if blank == "A":
        lines[g] = grad + term
    elif blank == "B":
        lines[m] = beta1 * m_prev + (1 - beta1) * (g + term)
    elif blank == "C":
        lines[v] = beta2 * v_prev + (1 - beta2) * g**2 + term
    elif blank == "D":
        lines[theta] = theta_prev - (alpha * m / sp.sqrt(v) + term)
    else:
        raise ValueError(f"Algorithm 1 has no blank {blank!r}")
    return lines


ALGORITHM1 = _spec(
    "weight_decay.algorithm1",
    "Algorithm 1 (Adam without bias correction) with decoupled weight decay",
    "Q4(b)",
    "Algorithm 1, lines 6-9, lambda_r theta_t-1 in blank D",
    (
        "g",
        "grad",
        "m",
        "beta1",
        "m_prev",
        "v",
        "beta2",
        "v_prev",
        "theta",
        "theta_prev",
        "alpha",
        "lam_r",
    ),
    algorithm1_with_term("D"),
)

GIVEN = Spec(
    id="weight_decay.algorithm1_given",
    title="The hyperparameters Algorithm 1 is given",
    source=exam("Q4(b)", "Algorithm 1, line 1"),
    component="weight_decay",
    symbols=(SYMBOLS["alpha"], SYMBOLS["beta1"], SYMBOLS["beta2"]),
    variants=(
        Variant(
            "canonical",
            {
                alpha: sp.Rational(1, 1000),
                beta1: sp.Rational(9, 10),
                beta2: sp.Rational(999, 1000),
            },
        ),
    ),
    proof_only=True,
)

SPECS = (L2_UPDATE, DECAY_UPDATE, ALGORITHM1, GIVEN)


def _prove_coincide() -> ProofOutcome:
    """Eqs. (1)-(4): the two updates agree at every theta exactly when M = lam_r / (lam_w alpha)."""
    l2 = L2_UPDATE.canonical.expression("theta_next")
    decay = DECAY_UPDATE.canonical.expression("theta_next")
    difference = sp.factor(l2 - decay)
    roots = sp.solve(sp.Eq(l2, decay), M)
    claimed = lam_r / (lam_w * alpha)
    ok = roots == [claimed] and sp.simplify(difference.subs(M, claimed)) == 0
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "weight_decay.l2_update minus weight_decay.decay_update, factored, and sympy.solve for M",
        f"the difference is {difference}, linear in theta with no theta-free part, so the updates "
        "agree for every theta exactly when every diagonal entry of M_t is "
        f"{roots[0] if roots else '?'}, i.e. M_t = lambda_r / (lambda_w alpha) I (eq. (4)); "
        "otherwise they differ for every theta != 0 in that coordinate",
        scope=GENERAL if ok else "",
    )


def _prove_blank_d() -> ProofOutcome:
    """Without momentum (beta1 = 0) and with M_t = diag(1/sqrt(v_t)), Algorithm 1 with the term at
    D is the weight-decay update, at A the L2 update with lam_w = lam_r; at C it is neither."""
    adaptive = sp.Symbol("M_t", positive=True)
    findings = {}
    for blank in BLANKS:
        lines = algorithm1_with_term(blank)
        step = lines[theta]
        for _ in range(3):
            step = step.xreplace({g: lines[g], m: lines[m], v: lines[v]})
        step = step.subs(beta1, 0)
        second_moment = lines[v].xreplace({g: lines[g]})
        as_m = step.subs(sp.sqrt(second_moment), 1 / adaptive)
        at = {theta: theta_prev}
        decay = DECAY_UPDATE.canonical.expression("theta_next").xreplace({**at, M: adaptive})
        l2 = L2_UPDATE.canonical.expression("theta_next").xreplace(
            {**at, M: adaptive, lam_w: lam_r}
        )
        findings[blank] = (
            "weight decay"
            if sp.simplify(as_m - decay) == 0
            else "L2 with lambda_w = lambda_r"
            if sp.simplify(as_m - l2) == 0
            else "neither"
        )
    ok = (
        findings["D"] == "weight decay"
        and findings["A"] == "L2 with lambda_w = lambda_r"
        and findings["C"] == "neither"
    )
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "lines 6-9 of Algorithm 1 with lambda_r theta_t-1 in each blank, composed, at beta1 = 0, "
        "with M_t = 1/sqrt(v_t) (v_t as that placement computes it), against the two displays "
        "of Q4",
        "; ".join(f"blank {blank}: {found}" for blank, found in findings.items())
        + ". Only blank D gives weight decay. (Without momentum blank B also reduces to an L2 "
        "step, with M_t from a v_t that leaves the penalty out; with momentum it enters only "
        "through m_t.)",
        scope=GENERAL if ok else "",
    )


def _prove_given() -> ProofOutcome:
    """Line 1's values lie in the domains Algorithm 1's symbols declare (0 < beta < 1 so that the
    moments are averages, alpha > 0), and beta1, beta2 are Adam's documented defaults."""
    values = GIVEN.canonical.relations
    outside = [
        f"{quantity} = {value}"
        for quantity, value in values.items()
        if not ALGORITHM1.symbol(str(quantity)).domain.contains(value)
    ]
    documented = {
        name: sp.nsimplify(value) for name, (value, _) in DOCUMENTED_DEFAULTS["adam"].items()
    }
    agree = [
        str(quantity)
        for quantity, value in values.items()
        if str(quantity) in documented and documented[str(quantity)] == value
    ]
    shown = ", ".join(f"{quantity} = {value}" for quantity, value in values.items())
    ok = not outside
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "weight_decay.algorithm1_given against the domains of weight_decay.algorithm1's symbols "
        "and the Adam defaults of the 11-785 homework",
        (f"outside the declared domains: {', '.join(outside)}. " if outside else "")
        + f"{shown}; "
        + (
            f"{' and '.join(agree)} equal the documented Adam defaults"
            if agree
            else "no value equals a documented Adam default"
        ),
        scope=GENERAL if ok else "",
    )


CLAIMS = (
    Claim(
        "weight_decay.coincide",
        "The L2 and weight-decay updates coincide exactly when M_t = (lambda_r / (lambda_w alpha)) "
        "I",
        exam("Q4(a)", "(1)-(4)"),
        (L2_UPDATE.id, DECAY_UPDATE.id),
        _prove_coincide,
    ),
    Claim(
        "weight_decay.decay_in_blank_d",
        "In Algorithm 1 the decay term belongs in blank D (line 9); in blank A it is L2",
        exam("Q4(b)"),
        (ALGORITHM1.id, L2_UPDATE.id, DECAY_UPDATE.id),
        _prove_blank_d,
    ),
    Claim(
        "weight_decay.algorithm1_given.admissible",
        "Algorithm 1's alpha = 0.001, beta1 = 0.9, beta2 = 0.999 are admissible Adam values",
        exam("Q4(b)", "Algorithm 1, line 1"),
        (GIVEN.id, ALGORITHM1.id),
        _prove_given,
    ),
)
