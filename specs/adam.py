r"""Adam, as CMU 11-785 Homework 1 Bonus sec. 4 states it (sec. 4 in both editions).

.. math::

    m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t \qquad
    v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2

    \hat m_t = m_t / (1 - \beta_1^t) \qquad \hat v_t = v_t / (1 - \beta_2^t)

    \theta_t = \theta_{t-1} - \alpha \hat m_t / (\sqrt{\hat v_t} + \epsilon)
    \quad\text{(Spring 2026)}, \qquad
    \theta_t = \theta_{t-1} - \alpha \hat m_t / \sqrt{\hat v_t + \epsilon}
    \quad\text{(Fall 2025)}

Every quantity is elementwise over a parameter tensor, so the symbols are scalars and the
compiled oracle broadcasts over arrays of any shape. ``m_0 = v_0 = 0`` and ``t`` counts steps
from 1.
"""

from __future__ import annotations

import sympy as sp

from .model import GENERAL, Claim, ProofOutcome, ProofStatus, Spec, SymbolInfo, Variant
from .sources import both_editions, cite, exam, fall, spring

__all__ = ["BIAS_CORRECTION", "CLAIMS", "FIRST_MOMENT", "SECOND_MOMENT", "SPECS", "UPDATE"]

OPEN_UNIT = sp.Interval.open(0, 1)
POSITIVE = sp.Interval.open(0, sp.oo)
NONNEGATIVE = sp.Interval(0, sp.oo)

g = sp.Symbol("g", real=True)
m_prev, v_prev = sp.Symbol("m_prev", real=True), sp.Symbol("v_prev", nonnegative=True)
m, v = sp.Symbol("m", real=True), sp.Symbol("v", nonnegative=True)
mhat, vhat = sp.Symbol("mhat", real=True), sp.Symbol("vhat", nonnegative=True)
theta_prev, theta = sp.Symbol("theta_prev", real=True), sp.Symbol("theta", real=True)
beta1, beta2 = sp.Symbol("beta1", positive=True), sp.Symbol("beta2", positive=True)
alpha, eps = sp.Symbol("alpha", positive=True), sp.Symbol("eps", positive=True)
t = sp.Symbol("t", integer=True, positive=True)

SYMBOLS = {
    "g": SymbolInfo(g, "gradient of the loss at step t", display="g_t"),
    "m_prev": SymbolInfo(m_prev, "first moment after step t-1 (m_0 = 0)", display="m_t-1"),
    "v_prev": SymbolInfo(
        v_prev, "second moment after step t-1 (v_0 = 0)", NONNEGATIVE, display="v_t-1"
    ),
    "m": SymbolInfo(m, "biased first moment estimate", display="m_t"),
    "v": SymbolInfo(v, "biased second moment estimate", NONNEGATIVE, display="v_t"),
    "mhat": SymbolInfo(mhat, "bias-corrected first moment", display="mhat_t"),
    "vhat": SymbolInfo(vhat, "bias-corrected second moment", NONNEGATIVE, display="vhat_t"),
    "theta_prev": SymbolInfo(theta_prev, "parameter before the step", display="theta_t-1"),
    "theta": SymbolInfo(theta, "parameter after the step", display="theta_t"),
    "beta1": SymbolInfo(beta1, "decay rate of the first moment", OPEN_UNIT, display="beta_1"),
    "beta2": SymbolInfo(beta2, "decay rate of the second moment", OPEN_UNIT, display="beta_2"),
    "alpha": SymbolInfo(alpha, "learning rate", POSITIVE, display="alpha"),
    "eps": SymbolInfo(eps, "numerical-stability constant", POSITIVE, display="epsilon"),
    "t": SymbolInfo(t, "step counter, starting at 1", sp.S.Naturals),
}


def _symbols(*names: str) -> tuple[SymbolInfo, ...]:
    return tuple(SYMBOLS[name] for name in names)


_TORCH_LERP = cite(
    "PyTorch torch.optim.Adam",
    "2.x",
    "single-tensor and foreach paths: exp_avg.lerp_(grad, 1 - beta1)",
)

FIRST_MOMENT = Spec(
    id="adam.first_moment",
    title="Adam first moment (running mean of the gradient)",
    source=both_editions("sec. 4", "m_t, the moment updates (first display)"),
    component="adam",
    symbols=_symbols("m", "m_prev", "g", "beta1"),
    variants=(
        Variant("canonical", {m: beta1 * m_prev + (1 - beta1) * g}),
        Variant(
            "interpolation-arrangement",
            {m: m_prev + (1 - beta1) * (g - m_prev)},
            source=_TORCH_LERP,
            rounding_of="canonical",
            note="The same value written as a linear interpolation (torch.lerp). It is equal in "
            "exact arithmetic but rounds differently: with a small beta1 the m_(t-1) terms "
            "cancel, so its error is a few ulps of m_(t-1) rather than of beta1 m_(t-1); its own "
            "rounding bound applies.",
        ),
    ),
)

SECOND_MOMENT = Spec(
    id="adam.second_moment",
    title="Adam second moment (running mean of the squared gradient)",
    source=both_editions("sec. 4", "v_t, the moment updates (below m_t)"),
    component="adam",
    symbols=_symbols("v", "v_prev", "g", "beta2"),
    variants=(Variant("canonical", {v: beta2 * v_prev + (1 - beta2) * g**2}),),
)

BIAS_CORRECTION = Spec(
    id="adam.bias_correction",
    title="Adam bias correction of both moments",
    source=both_editions("sec. 4", "mhat_t, vhat_t, the bias correction"),
    component="adam",
    symbols=_symbols("mhat", "vhat", "m", "v", "beta1", "beta2", "t"),
    variants=(
        Variant("bias-corrected", {mhat: m / (1 - beta1**t), vhat: v / (1 - beta2**t)}),
        Variant(
            "uncorrected",
            {mhat: m, vhat: v},
            source=exam("Q4(b), Algorithm 1 (Adam without bias correction), lines 7-9"),
            accepted=False,
            note="The exam's simplified Adam omits the correction; the homework requires it.",
        ),
    ),
)

# The last display of sec. 4 in both editions; Fall 2025 prints the bias correction as two
# displays, so an ordinal ("third display") would hold in one edition only.
_UPDATE_DISPLAY = "theta_t, the parameter update (last display)"

_KINGMA_BA = cite(
    "Kingma & Ba, Adam: A Method for Stochastic Optimization", "ICLR 2015", "sec. 2, last paragraph"
)

UPDATE = Spec(
    id="adam.update",
    title="Adam parameter update",
    source=spring("sec. 4", _UPDATE_DISPLAY),
    component="adam",
    symbols=_symbols("theta", "theta_prev", "alpha", "mhat", "vhat", "eps", "beta2", "t"),
    variants=(
        Variant(
            "eps-outside-sqrt",
            {theta: theta_prev - alpha * mhat / (sp.sqrt(vhat) + eps)},
            source=spring("sec. 4", _UPDATE_DISPLAY),
        ),
        Variant(
            "eps-inside-sqrt",
            {theta: theta_prev - alpha * mhat / sp.sqrt(vhat + eps)},
            source=fall("sec. 4", _UPDATE_DISPLAY),
            note="The Fall 2025 edition puts epsilon under the square root.",
        ),
        Variant(
            "eps-hat",
            {theta: theta_prev - alpha * mhat / (sp.sqrt(vhat) + eps / sp.sqrt(1 - beta2**t))},
            source=_KINGMA_BA,
            accepted=False,
            note="The bias correction folded into the step size, "
            "alpha_t = alpha sqrt(1 - beta2^t) / (1 - beta1^t), with epsilon added to the "
            "uncorrected sqrt(v_t) (Keras/TensorFlow): the same as eps / sqrt(1 - beta2^t) added "
            "to sqrt(vhat_t).",
        ),
    ),
)

SPECS = (FIRST_MOMENT, SECOND_MOMENT, BIAS_CORRECTION, UPDATE)


def _prove_bias_correction_recovers_constant_gradient() -> ProofOutcome:
    """With g_t = g for all t, m_t = (1 - beta1^t) g, so mhat_t = g (and likewise v with g^2).

    Proved by induction on t with the spec's own recurrence: the closed form holds at t = 0
    (m_0 = 0) and is carried by one step of ``adam.first_moment``; ``sympy.rsolve`` finds the
    same closed form independently.
    """
    step = sp.Symbol("t", integer=True, nonnegative=True)
    checks: list[str] = []
    for spec, moment, decay, signal in (
        (FIRST_MOMENT, m, beta1, g),
        (SECOND_MOMENT, v, beta2, g**2),
    ):
        recurrence = spec.canonical.relations[moment]
        previous = m_prev if moment == m else v_prev

        def closed(k: sp.Expr, decay: sp.Expr = decay, signal: sp.Expr = signal) -> sp.Expr:
            """The claim's closed form (1 - decay^k) signal."""
            return (1 - decay**k) * signal

        base = sp.simplify(closed(0))
        inductive = sp.simplify(recurrence.subs({previous: closed(step)}) - closed(step + 1))
        sequence = sp.Function("s")
        solved = sp.rsolve(
            sequence(step + 1) - recurrence.subs(previous, sequence(step)),
            sequence(step),
            {sequence(0): 0},
        )
        rsolve_agrees = solved is not None and sp.simplify(solved - closed(step)) == 0
        corrected = BIAS_CORRECTION.canonical.relations[mhat if moment == m else vhat]
        recovered = sp.simplify(corrected.subs({moment: closed(t)}) - signal)
        if base != 0 or inductive != 0 or recovered != 0 or not rsolve_agrees:
            return ProofOutcome(
                ProofStatus.REFUTED,
                "induction on t with the spec's recurrence",
                f"{spec.id}: base {base}, inductive residual {inductive}, "
                f"corrected residual {recovered}, rsolve {solved}",
            )
        checks.append(f"{spec.id}: {moment}_t = {closed(t)} (rsolve: {solved})")
    return ProofOutcome(
        ProofStatus.PROVED,
        "induction on t: base m_0 = 0, one step of the recurrence carries the closed form; "
        "sympy.rsolve agrees; substituting into the bias correction leaves g exactly",
        "; ".join(checks),
        scope=GENERAL,
    )


CLAIMS = (
    Claim(
        id="adam.bias_correction.constant_gradient",
        title="With a constant gradient g, m_t = (1 - beta1^t) g, so the corrected moment is g",
        source=both_editions(
            "sec. 4", "text before the bias correction: moments that start at 0 are biased"
        ),
        specs=("adam.first_moment", "adam.second_moment", "adam.bias_correction"),
        prove=_prove_bias_correction_recovers_constant_gradient,
    ),
)

#: Discrepancies between and inside the documents, surfaced in every report.
ERRATA = (
    {
        "id": "adam.update.edition_difference",
        "specs": ("adam.update",),
        "document": "CMU 11-785 Homework 1 Bonus",
        "location": "sec. 4 (both editions), parameter update (last display)",
        "says": "Spring 2026: theta_t = theta_(t-1) - alpha mhat_t / (sqrt(vhat_t) + eps); "
        "Fall 2025: theta_t = theta_(t-1) - alpha mhat_t / sqrt(vhat_t + eps)",
        "resolution": "Both are accepted variants of adam.update (eps-outside-sqrt, "
        "eps-inside-sqrt); results name the one an implementation follows. They differ when "
        "sqrt(vhat) is comparable to eps (small gradients, early steps).",
    },
)
