r"""Dropout, as CMU 11-785 Homework 1 Bonus sec. 7 (Spring 2026; sec. 6 in Fall 2025) states it.

Training draws a fresh binary mask for every call (``np.random.binomial``) and rescales the
kept entries so the expected output equals the input ("inverted" dropout):

.. math::

    M_{ij} \sim \mathrm{Bernoulli}(q), \qquad y_{ij} = \frac{M_{ij}\, x_{ij}}{q}, \qquad
    \frac{\partial L}{\partial x_{ij}} = \frac{M_{ij}\, \delta_{ij}}{q}

with ``q`` the keep probability. The text calls ``p`` the "dropout rate" (so ``q = 1 - p``) but
also says "the probability of zero-ing out a neuron output is then 1 - p" (so ``q = p``); both
readings are variants of :data:`MASK`. At test time the layer is the identity.
"""

from __future__ import annotations

import sympy as sp
from sympy import stats

from .model import GENERAL, Claim, ProofOutcome, ProofStatus, Spec, SymbolInfo, Variant
from .sources import cite, fall, spring

__all__ = ["BACKWARD", "CLAIMS", "EVAL", "MASK", "SCALING", "SPECS", "keep_probability"]

i, j = sp.symbols("i j", integer=True, positive=True)
AXES = {i: 0, j: 1}
x, y, mask = sp.IndexedBase("x"), sp.IndexedBase("y"), sp.IndexedBase("mask")
delta, dLdx = sp.IndexedBase("delta"), sp.IndexedBase("dLdx")
p = sp.Symbol("p", nonnegative=True)
q = sp.Symbol("q", positive=True)

SYMBOLS = {
    "x": SymbolInfo(x, "input", display="x"),
    "y": SymbolInfo(y, "output", display="y"),
    "mask": SymbolInfo(mask, "binary mask, 1 keeps an entry", sp.FiniteSet(0, 1), "M"),
    "p": SymbolInfo(p, "the constructor's p", sp.Interval.Ropen(0, 1), "p"),
    "q": SymbolInfo(q, "probability of keeping an entry", sp.Interval.Lopen(0, 1), "q"),
    "delta": SymbolInfo(delta, "upstream gradient dL/dy", display="delta"),
    "dLdx": SymbolInfo(dLdx, "gradient with respect to the input", display="dL/dx"),
}


def _symbols(*names: str) -> tuple[SymbolInfo, ...]:
    return tuple(SYMBOLS[name] for name in names)


_SECTION = "sec. 7"
_KEEP = sp.Symbol("keep", positive=True)

MASK = Spec(
    id="dropout.mask",
    title="Dropout mask: a fresh Bernoulli draw per entry and per call",
    source=spring(_SECTION, "text: dropout rate p; np.random.binomial; new pattern every pass"),
    component="dropout",
    statistical=True,
    symbols=_symbols("mask", "q", "p"),
    variants=(
        Variant(
            "p-is-drop-probability",
            {q: 1 - p, mask[i, j]: stats.Bernoulli("M", 1 - p)},
            source=spring(_SECTION, "'randomly chosen via the dropout rate p'"),
        ),
        Variant(
            "p-is-keep-probability",
            {q: p, mask[i, j]: stats.Bernoulli("M", p)},
            source=spring(
                _SECTION, "'the probability of zero-ing out a neuron output is then 1 - p'"
            ),
            note="Also the Fall 2025 edition's wording (sec. 6).",
        ),
    ),
    axes=AXES,
)

SCALING = Spec(
    id="dropout.scaling",
    title="Dropout training output: masked and rescaled by the keep probability",
    source=spring(_SECTION, "text: re-scale so the expected intensity matches testing"),
    component="dropout",
    symbols=_symbols("y", "mask", "x", "q"),
    variants=(Variant("canonical", {y[i, j]: mask[i, j] * x[i, j] / q}),),
    axes=AXES,
)

EVAL = Spec(
    id="dropout.eval",
    title="Dropout at test time is the identity",
    source=spring(_SECTION, "implementation note: scale during training and not during testing"),
    component="dropout",
    symbols=_symbols("y", "x"),
    variants=(Variant("canonical", {y[i, j]: x[i, j]}),),
    axes=AXES,
)

BACKWARD = Spec(
    id="dropout.backward",
    title="Dropout backward pass reuses the forward mask",
    source=fall("sec. 6", "objective: back propagation with dropout"),
    component="dropout",
    symbols=_symbols("dLdx", "mask", "delta", "q"),
    variants=(Variant("canonical", {dLdx[i, j]: mask[i, j] * delta[i, j] / q}),),
    axes=AXES,
)

SPECS = (MASK, SCALING, EVAL, BACKWARD)


def keep_probability(variant: Variant) -> sp.Expr:
    """The keep probability ``q`` as a function of ``p`` under a variant of :data:`MASK`."""
    return variant.relations[q]


def output_distribution(variant: Variant, value: sp.Expr) -> sp.Expr:
    """The random output ``y`` for one input entry ``value``, under a mask variant.

    Built by substituting the variant's mask and keep probability into :data:`SCALING`, so
    every statistic the verifier uses (drop rate, mean, variance) comes from the specs.
    """
    (scaled,) = SCALING.canonical.relations.values()
    draw = variant.relations[mask[i, j]]
    return scaled.xreplace({mask[i, j]: draw, x[i, j]: value, q: keep_probability(variant)})


def _prove_moments() -> ProofOutcome:
    """Under the drop-probability reading, E[y] = x and Var[y] = x^2 p / (1 - p)."""
    value = sp.Symbol("x", real=True)
    output = output_distribution(MASK.variant("p-is-drop-probability"), value)
    mean = sp.simplify(stats.E(output))
    variance = sp.simplify(stats.variance(output))
    claimed_variance = value**2 * p / (1 - p)
    mean_ok = sp.simplify(mean - value) == 0
    variance_ok = sp.simplify(variance - claimed_variance) == 0
    status = ProofStatus.PROVED if mean_ok and variance_ok else ProofStatus.REFUTED
    return ProofOutcome(
        status,
        "sympy.stats: y = M x / (1 - p) with M ~ Bernoulli(1 - p), from dropout.mask and "
        "dropout.scaling; E and variance computed symbolically",
        f"E[y] = {mean}; Var[y] = {sp.factor(variance)}",
        scope=GENERAL if status is ProofStatus.PROVED else "",
    )


CLAIMS = (
    Claim(
        id="dropout.moments",
        title="Inverted dropout keeps the mean: E[y] = x, and Var[y] = x^2 p / (1 - p)",
        source=cite(
            "CMU 11-785 Homework 1 Bonus",
            "Spring 2026",
            _SECTION,
            "text: 'the total expected intensity of the output is same as in testing'",
        ),
        specs=("dropout.mask", "dropout.scaling"),
        prove=_prove_moments,
    ),
)

#: Discrepancies between and inside the documents, surfaced in every report.
ERRATA = (
    {
        "id": "dropout.p_meaning",
        "specs": ("dropout.mask", "dropout.scaling"),
        "document": "CMU 11-785 Homework 1 Bonus (both editions)",
        "location": "Dropout section, first paragraph",
        "says": "p is called the 'dropout rate', and then 'the probability of zero-ing out a "
        "neuron output is then 1 - p'",
        "resolution": "The two sentences give opposite readings of p. Both are variants of "
        "dropout.mask (p-is-drop-probability, p-is-keep-probability); with inverted scaling by the "
        "keep probability, E[y] = x holds under either. Results name the reading an implementation "
        "follows (p = 0.3 separates them).",
    },
)
