r"""AdamW, as CMU 11-785 Homework 1 Bonus sec. 5 states it (sec. 5 in both editions).

.. math::

    \theta_t = \theta^{\mathrm{Adam}}_t - \alpha \lambda \theta_{t-1}

where :math:`\theta^{\mathrm{Adam}}_t` is the parameter after the standard Adam update of step t
(:mod:`eqconform.specs.adam`). The document gives two orderings (decay after the Adam step, or
first decay and then add the Adam step computed from :math:`\theta_{t-1}`) and claims they agree;
:data:`CLAIMS` proves it.
"""

from __future__ import annotations

import sympy as sp

from . import adam
from .model import GENERAL, Claim, ProofOutcome, ProofStatus, Spec, SymbolInfo, Variant
from .sources import EECS182_FINAL_DOCUMENT, HW1_BONUS, both_editions, cite, exam

__all__ = ["CLAIMS", "DECOUPLED_DECAY", "SPECS"]

theta_adam = sp.Symbol("theta_adam", real=True)
lam = sp.Symbol("lam", nonnegative=True)
g_eff = sp.Symbol("g_eff", real=True)
theta, theta_prev, alpha, g = adam.theta, adam.theta_prev, adam.alpha, adam.g

SYMBOLS = (
    SymbolInfo(theta, "parameter after the AdamW step", display="theta_t"),
    SymbolInfo(g_eff, "the gradient the Adam moments are fed", display="gtilde_t"),
    SymbolInfo(g, "gradient of the loss at step t", display="g_t"),
    SymbolInfo(
        theta_adam, "parameter after the standard Adam update of step t", display="theta_t^Adam"
    ),
    SymbolInfo(theta_prev, "parameter before the step", display="theta_t-1"),
    SymbolInfo(alpha, "learning rate", adam.POSITIVE, display="alpha"),
    SymbolInfo(lam, "weight decay", sp.Interval(0, sp.oo), display="lambda"),
)

_LOSHCHILOV_HUTTER = cite(
    "Loshchilov & Hutter, Decoupled Weight Decay Regularization",
    "ICLR 2019",
    "Algorithm 2, line 12",
)

DECOUPLED_DECAY = Spec(
    id="adamw.decoupled_decay",
    title="AdamW decoupled weight decay",
    source=both_editions("sec. 5", "W_t, b_t, decay after the Adam update (first two displays)"),
    component="adamw",
    symbols=SYMBOLS,
    variants=(
        Variant("decay-scaled-by-lr", {g_eff: g, theta: theta_adam - theta_prev * alpha * lam}),
        Variant(
            "decay-unscaled",
            {g_eff: g, theta: theta_adam - lam * theta_prev},
            source=exam("Q4, before (a): weight decay, theta <- (1 - lambda_r) theta"),
            note=f"Also {_LOSHCHILOV_HUTTER.cite()}, where the decay is multiplied by the schedule "
            "multiplier eta_t only (theta <- (1 - eta_t lambda) theta); with a constant schedule "
            "(eta_t = 1, as in these checks) the two forms coincide.",
        ),
        Variant(
            "decay-of-updated-weights",
            {g_eff: g, theta: theta_adam - theta_adam * alpha * lam},
            accepted=False,
            note="Decays the already-updated weights (W_t - W_t * alpha * lambda); the document's "
            "subscripts require the previous weights W_{t-1}.",
        ),
        Variant(
            "l2-coupled",
            {g_eff: g + lam * theta_prev, theta: theta_adam},
            source=exam(
                "Q4, before (a): L2 regularization, "
                "theta <- theta - alpha M_t (grad f + lambda_w theta)"
            ),
            accepted=False,
            note="L2 regularization: lambda theta is added to the gradient and so passes through "
            "the adaptive denominator (Adam's weight_decay, Algorithm 1 option A of the exam); "
            "decoupled decay acts on the parameter directly.",
        ),
    ),
)

SPECS = (DECOUPLED_DECAY,)


def _adam_step() -> sp.Expr:
    """The Adam step of the update spec, as a function of theta_{t-1}: theta^Adam - theta_{t-1}."""
    return adam.UPDATE.canonical.relations[adam.theta] - theta_prev


def _prove_orderings_agree() -> ProofOutcome:
    """Decay after the Adam step equals decay first, then the Adam step from theta_{t-1}."""
    step = _adam_step()
    if DECOUPLED_DECAY.canonical.relations[g_eff] != g:
        return ProofOutcome(
            ProofStatus.NOT_PROVED,
            "symbolic comparison of the two orderings",
            "the canonical form feeds the moments something other than the gradient",
        )
    if step.has(theta_prev):
        return ProofOutcome(
            ProofStatus.NOT_PROVED,
            "symbolic comparison of the two orderings",
            f"the Adam step depends on theta_(t-1): {step}",
        )
    decay_after = DECOUPLED_DECAY.canonical.relations[theta].subs(theta_adam, theta_prev + step)
    decayed_first = theta_prev - theta_prev * alpha * lam
    decay_first = decayed_first + step
    residual = sp.simplify(decay_after - decay_first)
    status = ProofStatus.PROVED if residual == 0 else ProofStatus.REFUTED
    return ProofOutcome(
        status,
        "both orderings built from adam.update and adamw.decoupled_decay; SymPy simplifies their "
        "difference",
        f"ordering 1: {decay_after}; ordering 2: {decay_first}; difference: {residual}. The Adam "
        "step does not depend on theta_(t-1), so it commutes with the decay.",
        scope=GENERAL if status is ProofStatus.PROVED else "",
    )


CLAIMS = (
    Claim(
        id="adamw.orderings_agree",
        title="The two AdamW orderings give the same update",
        source=both_editions(
            "sec. 5", "the alternative ordering (third and fourth displays) and the note after it"
        ),
        specs=("adamw.decoupled_decay", "adam.update"),
        prove=_prove_orderings_agree,
    ),
)

#: Discrepancies between and inside the documents, surfaced in every report.
ERRATA = (
    {
        "id": "adamw.decay_scaling",
        "specs": ("adamw.decoupled_decay", "weight_decay.algorithm1", "weight_decay.decay_update"),
        "document": f"{HW1_BONUS} vs {EECS182_FINAL_DOCUMENT}",
        "location": "11-785 sec. 5; EECS 182 Q4",
        "says": "11-785 decays by alpha * lambda * theta_(t-1); the exam writes (1 - lambda_r) "
        "theta_t, with no learning rate",
        "resolution": "Both are accepted variants of adamw.decoupled_decay (decay-scaled-by-lr, "
        "decay-unscaled); lambda means different things in the two conventions.",
    },
)
