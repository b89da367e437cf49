r"""Dropout, as CMU 11-785 Homework 1 Bonus sec. 7 (Spring 2026; sec. 6 in Fall 2025) states it.

The class lives in ``mytorch/nn/dropout.py`` in the Spring 2026 handout and in
``mytorch/nn/modules/dropout.py`` in the Fall 2025 one; both editions word the section alike.

Training draws a fresh binary mask for every call (``np.random.binomial``) and rescales the
kept entries so the expected output equals the input ("inverted" dropout):

.. math::

    M_{ij} \sim \mathrm{Bernoulli}(q), \qquad y_{ij} = \frac{M_{ij}\, x_{ij}}{q}, \qquad
    \frac{\partial L}{\partial x_{ij}} = \frac{M_{ij}\, \delta_{ij}}{q}

with ``q`` the keep probability. The text calls ``p`` the "dropout rate" (so ``q = 1 - p``) but
also says "the probability of zero-ing out a neuron output is then 1 - p" (so ``q = p``); both
readings are variants of :data:`MASK`. At test time the layer is the identity.

The readings allow different values of ``p``: the training output divides by ``q``, so ``q``
must not be 0. Under the drop-rate reading ``0 <= p < 1`` (``p = 1`` drops everything and
divides by ``1 - p = 0``); under the keep-probability reading ``0 < p <= 1`` (``p = 0`` divides
by 0). Each variant of :data:`MASK` carries its own domain of ``p``; the spec declares their
union.
"""

from __future__ import annotations

import sympy as sp
from sympy import stats

from .model import (
    GENERAL,
    Claim,
    ProofOutcome,
    ProofStatus,
    Source,
    Spec,
    SymbolInfo,
    Variant,
    describe_domain,
)
from .sources import both_editions

__all__ = [
    "BACKWARD",
    "CLAIMS",
    "DROP_RATE_DOMAIN",
    "EVAL",
    "KEEP_PROBABILITY_DOMAIN",
    "MASK",
    "SCALING",
    "SPECS",
    "keep_probability",
]

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
    # Either reading's values: each variant of MASK narrows it to its own (see below).
    "p": SymbolInfo(
        p, "the constructor's p: the drop rate or the keep probability", sp.Interval(0, 1), "p"
    ),
    "q": SymbolInfo(q, "probability of keeping an entry", sp.Interval.Lopen(0, 1), "q"),
    "delta": SymbolInfo(delta, "upstream gradient dL/dy", display="delta"),
    "dLdx": SymbolInfo(dLdx, "gradient with respect to the input", display="dL/dx"),
}


def _symbols(*names: str) -> tuple[SymbolInfo, ...]:
    return tuple(SYMBOLS[name] for name in names)


_SECTION = "sec. 7"


def _section(where: str) -> Source:
    """A place in the Dropout section, which both editions word alike: sec. 7 of the Spring
    2026 edition, sec. 6 of the Fall 2025 one (which has no LayerNorm section before it)."""
    return both_editions(_SECTION, where, fall_section="sec. 6")


#: The values of p under each reading: those where the keep probability q is in (0, 1], so
#: that the scaling by 1/q is defined (q = 1 - p = 0 at p = 1 when p is the drop rate; q = p
#: = 0 at p = 0 when it is the keep probability).
DROP_RATE_DOMAIN = sp.Interval.Ropen(0, 1)
KEEP_PROBABILITY_DOMAIN = sp.Interval.Lopen(0, 1)

MASK = Spec(
    id="dropout.mask",
    title="Dropout mask: a fresh Bernoulli draw per entry and per call",
    source=_section(
        "second paragraph (the dropout rate p), the figure (a new pattern on every pass), "
        "implementation notes (np.random.binomial)"
    ),
    component="dropout",
    statistical=True,
    symbols=_symbols("mask", "q", "p"),
    variants=(
        Variant(
            "p-is-drop-probability",
            {q: 1 - p, mask[i, j]: stats.Bernoulli("M", 1 - p)},
            source=_section("second paragraph, first sentence: p is the dropout rate"),
            domains={"p": DROP_RATE_DOMAIN},
            note="p = 1 is outside this reading: it drops every entry and divides by 1 - p = 0.",
        ),
        Variant(
            "p-is-keep-probability",
            {q: p, mask[i, j]: stats.Bernoulli("M", p)},
            source=_section("second paragraph, second sentence: an entry is zeroed with 1 - p"),
            domains={"p": KEEP_PROBABILITY_DOMAIN},
            note="p = 0 is outside this reading: it keeps nothing and divides by p = 0.",
        ),
    ),
    axes=AXES,
)

SCALING = Spec(
    id="dropout.scaling",
    title="Dropout training output: masked and rescaled by the keep probability",
    source=_section(
        "paragraph after the figure: re-scale so the expected intensity matches testing"
    ),
    component="dropout",
    symbols=_symbols("y", "mask", "x", "q"),
    variants=(Variant("canonical", {y[i, j]: mask[i, j] * x[i, j] / q}),),
    axes=AXES,
)

EVAL = Spec(
    id="dropout.eval",
    title="Dropout at test time is the identity",
    source=_section("implementation notes: scale during training and not during testing"),
    component="dropout",
    symbols=_symbols("y", "x"),
    variants=(Variant("canonical", {y[i, j]: x[i, j]}),),
    axes=AXES,
)

BACKWARD = Spec(
    id="dropout.backward",
    title="Dropout backward pass reuses the forward mask",
    source=both_editions(
        "sec. 1",
        "Homework objective: back propagation with dropout (the form is the chain rule through "
        "dropout.scaling)",
    ),
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
        f"E[y] = {mean}; Var[y] = {sp.factor(variance)}, for every p of the drop-rate reading "
        f"({describe_domain('p', MASK.domain('p', 'p-is-drop-probability'))})",
        scope=GENERAL if status is ProofStatus.PROVED else "",
    )


CLAIMS = (
    Claim(
        id="dropout.moments",
        title="Inverted dropout keeps the mean: E[y] = x, and Var[y] = x^2 p / (1 - p)",
        source=_section(
            "paragraph after the figure: the expected intensity is the same as in testing"
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
        "location": "Dropout section (Spring 2026 sec. 7, Fall 2025 sec. 6), second paragraph",
        "says": "p is called the 'dropout rate', and then 'the probability of zero-ing out a "
        "neuron output is then 1 - p'",
        "resolution": "The two sentences give opposite readings of p. Both are variants of "
        "dropout.mask (p-is-drop-probability, p-is-keep-probability); with inverted scaling by the "
        "keep probability, E[y] = x holds under either. Results name the reading an implementation "
        "follows (p = 0.3 separates them). The readings also allow different p, since each divides "
        "by its own keep probability: 0 <= p < 1 as the drop rate, 0 < p <= 1 as the keep "
        "probability.",
    },
)
