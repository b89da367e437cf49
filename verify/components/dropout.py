"""Dropout: exact checks on drawn inputs, statistical tests on large samples.

Exact (Hypothesis): every training output is 0 or ``x / q`` (``dropout.scaling``; which ``q``
identifies the reading of ``p``), ``train=False`` returns ``x`` (``dropout.eval``), and
``backward`` routes the gradient through the mask of the *last* forward pass
(``dropout.backward``; two forwards precede it). The mask is read off the output's zeros.

Statistical (``dropout.mask``, and the mean for ``dropout.scaling``): on 512 x 512 inputs, an
exact binomial test of the drop rate for each reading of ``p`` at p = 0.3 and p = 0.8, then
independence of the mask across calls, across neighbouring features and across neighbouring
rows (joint keep rate against q^2), and E[y] = x. The expected rates, mean and variance are
computed with ``sympy.stats`` from the specs. Each test's false-alarm probability is
:data:`~eqconform.verify.statistics.ALPHA`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
from sympy import stats

from eqconform.specs import dropout as specs

from ..explanation import Explanation, computes
from ..graph import SpecGraph, SpecUse
from ..judge import Record, ensure_unchanged
from ..remote import call_sequence
from ..results import Outcome, StatisticalTest
from ..search import SearchSettings
from ..statistics import ALPHA, DETECTABLE_SHIFT, normal_two_sided, power_against_shift, rate_test
from ..strategies.arrays import ArrayRecipe
from ..strategies.dropout import DropoutInput, dropout_inputs
from ..targets.protocol import DropoutAdapter
from .base import CheckOutcome, Statistics
from .oracle import OracleSearch
from .table import Cases, Component, SpecCheck, searched_alone

__all__ = ["DROPOUT"]

SAMPLE_SHAPE = (512, 512)
PROBABILITIES = (0.3, 0.8)


def _sampling_call(p: str) -> str:
    """The call a sampling check makes, for its counterexample line (``p`` as written there)."""
    return f"Dropout({p}).forward(np.ones({SAMPLE_SHAPE}), train=True)"


def _observe(adapter: Any, case: DropoutInput, graph: SpecGraph) -> list[Record]:
    session = adapter.open(case.p, case.seed)
    given = {"x": case.x.copy(), "delta": case.delta.copy()}
    # Asked in one request where the layer runs in a runner: the inputs are known in advance.
    first, second, gradient, evaluated = (
        np.asarray(answer)
        for answer in call_sequence(
            session,
            [
                ("forward", (given["x"], True), {}),
                ("forward", (given["x"], True), {}),
                ("backward", (given["delta"],), {}),
                ("forward", (given["x"], False), {}),
            ],
        )
    )
    ensure_unchanged(given, {"x": case.x, "delta": case.delta}, "forward and backward")
    shape = f"a {case.x.shape[0]} x {case.x.shape[1]} input"

    def kept(output: np.ndarray, gradient: np.ndarray | None = None) -> np.ndarray:
        if output.shape != case.x.shape:
            return np.ones(case.x.shape)
        mask = output != 0
        if gradient is not None and gradient.shape == case.x.shape:
            # Where the output is not finite (or x is 0) it cannot show the mask. The backward
            # is then read with the mask its own answer implies there, so that a forward that
            # returns NaN fails on its own records and does not fail a correct backward too.
            unreadable = ~np.isfinite(output) | (case.x == 0)
            mask = np.where(unreadable, gradient != 0, mask)
        return mask.astype(np.float64)

    return [
        Record(
            f"first training forward on {shape}",
            {"x": case.x, "p": case.p, "mask": kept(first), "y": first},
            frozenset({"y", "mask"}),
            case.dtype,
        ),
        Record(
            f"second training forward on {shape}",
            {"x": case.x, "p": case.p, "mask": kept(second), "y": second},
            frozenset({"y", "mask"}),
            case.dtype,
        ),
        Record(
            "backward after the second forward",
            {
                "delta": case.delta,
                "p": case.p,
                "mask": kept(second, gradient),
                "dLdx": gradient,
            },
            frozenset({"dLdx", "mask"}),
            case.dtype,
        ),
        Record(
            f"forward with train=False on {shape}",
            # p is not in the eval equation, but the target was given it: what it computes
            # instead (x * (1 - p)) may use it.
            {"x": case.x, "p": case.p, "y_eval": evaluated},
            frozenset({"y_eval"}),
            case.dtype,
        ),
    ]


def _separating_input() -> DropoutInput:
    f64 = np.dtype(np.float64)
    return DropoutInput(
        f64, 0.3, ArrayRecipe((8, 8), f64, seed=1), ArrayRecipe((8, 8), f64, seed=2), seed=3
    )


@functools.cache
def _laws(variant_id: str) -> dict[str, Callable[..., float]]:
    """Drop probability, E[y] and Var[y] for unit input, as functions of p, from the specs.
    (NumPy alone: lambdify's default adds SciPy where it is installed, a second of import in
    a judge worker, and these laws need nothing of it.)"""
    variant = specs.MASK.variant(variant_id)
    draw = variant.relations[specs.mask[specs.i, specs.j]]
    output = specs.output_distribution(variant, sp.Integer(1))
    return {
        "drop": sp.lambdify(specs.p, stats.P(sp.Eq(draw, 0)), modules="numpy"),
        "mean": sp.lambdify(specs.p, stats.E(output), modules="numpy"),
        "variance": sp.lambdify(specs.p, stats.variance(output), modules="numpy"),
    }


def _samples(adapter: Any, seed: int) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    ones = np.ones(SAMPLE_SHAPE)
    samples = {}
    for index, p in enumerate(PROBABILITIES):
        session = adapter.open(p, seed + index)
        samples[p] = (
            np.asarray(session.forward(ones.copy(), True), dtype=np.float64),
            np.asarray(session.forward(ones.copy(), True), dtype=np.float64),
        )
    return samples


def _rate_tests(
    samples: dict[float, tuple[np.ndarray, np.ndarray]],
) -> dict[str, list[StatisticalTest]]:
    tests: dict[str, list[StatisticalTest]] = {}
    for variant in specs.MASK.variants:
        drop = _laws(variant.id)["drop"]
        tests[variant.id] = [
            rate_test(
                f"drop rate at p = {p} under {variant.id}",
                "zeros",
                int(np.count_nonzero(first == 0)),
                first.size,
                float(drop(p)),
            )
            for p, (first, _) in samples.items()
        ]
    return tests


def _independence_tests(
    first: np.ndarray, second: np.ndarray, keep: float
) -> list[StatisticalTest]:
    a, b = first != 0, second != 0
    joint = keep * keep
    return [
        rate_test(
            "independent across calls",
            "kept in both of two calls",
            int(np.count_nonzero(a & b)),
            a.size,
            joint,
        ),
        rate_test(
            "independent across features",
            "both of features (2j, 2j+1) kept",
            int(np.count_nonzero(a[:, 0::2] & a[:, 1::2])),
            a[:, 0::2].size,
            joint,
        ),
        rate_test(
            "independent across rows",
            "both of rows (2i, 2i+1) kept",
            int(np.count_nonzero(a[0::2, :] & a[1::2, :])),
            a[0::2, :].size,
            joint,
        ),
    ]


def _mean_test(first: np.ndarray, p: float, variant_id: str) -> StatisticalTest:
    laws = _laws(variant_id)
    expected, variance = float(laws["mean"](p)), float(laws["variance"](p))
    mean = float(first.mean())
    z = (mean - expected) / np.sqrt(variance / first.size)
    p_value = normal_two_sided(z)
    return StatisticalTest(
        name=f"E[y] = x at p = {p} (x = 1)",
        statistic=f"mean {mean:.5f} over {first.size} entries; expected {expected:.5f}, "
        f"sd of the mean {np.sqrt(variance / first.size):.2e} (z = {z:.2f}, normal approximation)",
        p_value=p_value,
        alpha=ALPHA,
        power=f"{power_against_shift(first.size, 1 - float(laws['drop'](p))):.6f} "
        f"against a keep rate off by {DETECTABLE_SHIFT}",
        passed=p_value >= ALPHA,
    )


def _identify(
    samples: dict[float, tuple[np.ndarray, np.ndarray]],
) -> tuple[str | None, dict[str, list[StatisticalTest]]]:
    """The first reading of p whose drop rates pass at every p (None if none does), and the
    rate tests of every reading."""
    rates = _rate_tests(samples)
    consistent = [variant for variant, tests in rates.items() if all(t.passed for t in tests)]
    return (consistent[0] if consistent else None), rates


def _sampled_masks(samples: dict[float, tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """The mask of every call sampled, read off its output's zeros (the input is ones)."""
    return [answer != 0 for pair in samples.values() for answer in pair]


def _constant(samples: dict[float, tuple[np.ndarray, np.ndarray]]) -> tuple[Explanation, ...]:
    """The explanation of a mask read as the same value everywhere in every call sampled: no
    output entry is 0 (nothing dropped, or a dropped entry not set to 0), or every one is.
    Such a mask is also "reused" and "shared by every row", which would mislead."""
    kept = _sampled_masks(samples)
    for value, words in ((1, "no entry of the output is 0"), (0, "every entry of the output is 0")):
        if all(np.all(mask == value) for mask in kept):
            return (
                Explanation(
                    "mask_ij",
                    sp.Integer(value),
                    ("constant-draw",),
                    f"mask = {value}: {words} in any of the {len(kept)} calls sampled "
                    f"({SAMPLE_SHAPE[0]} x {SAMPLE_SHAPE[1]} inputs of ones), at every p",
                    len(kept),
                ),
            )
    return ()


def _reused(samples: dict[float, tuple[np.ndarray, np.ndarray]]) -> tuple[Explanation, ...]:
    """The explanation of a mask that is the same on the second call as on the first, at every
    p sampled (each a layer of its own): the first draw reused. None for any other dependence,
    which no formula states."""
    if not all(np.array_equal(first != 0, second != 0) for first, second in samples.values()):
        return ()
    described = ", ".join(f"p = {p}" for p in samples)
    return (
        Explanation(
            "mask_2",
            sp.Symbol("mask_1"),
            ("reused-draw",),
            f"mask_2 = mask_1: the second call's mask is the first call's, entry for entry "
            f"(at {described}): one draw reused, not a fresh draw per call",
            len(samples),
        ),
    )


def _shared_rows(samples: dict[float, tuple[np.ndarray, np.ndarray]]) -> tuple[Explanation, ...]:
    """The explanation of a mask whose rows are all the first row, in every call sampled:
    one row drawn (of the features' length) and broadcast over the batch."""
    kept = _sampled_masks(samples)
    if not all(np.array_equal(mask, np.broadcast_to(mask[:1], mask.shape)) for mask in kept):
        return ()
    j = sp.Symbol("j", integer=True)
    return (
        Explanation(
            "mask_ij",
            sp.IndexedBase("mask")[0, j],
            ("shared-draw",),
            "mask[i, j] = mask[0, j]: one row of the mask drawn and shared by every row of the "
            f"batch (in all {len(kept)} calls sampled), not a draw per entry",
            len(kept),
        ),
    )


def _mask_verdict(adapter: Any, options: SearchSettings) -> CheckOutcome:
    """dropout.mask: the reading of p the drop rates follow, and a fresh independent mask."""
    samples = _samples(adapter, options.seed)
    variant, rates = _identify(samples)
    examples = 2 * len(samples)
    if variant is None:
        tests = tuple(t for group in rates.values() for t in group)
        observed = ", ".join(
            f"{np.mean(first == 0):.4f} at p = {p}" for p, (first, _) in samples.items()
        )
        # One row shared by the batch draws too few entries for the rate to hold exactly.
        explained = _constant(samples) or _shared_rows(samples)
        return CheckOutcome(
            Outcome.FAIL,
            examples=examples,
            statistics=tests,
            message=f"the drop rate matches no reading of p: zeros in {observed}"
            + (f". {computes(explained)}" if explained else ""),
            counterexample=f"{_sampling_call('p')} for p in {PROBABILITIES}",
            explanations=tuple(e.summary() for e in explained),
        )
    keep = 1 - float(_laws(variant)["drop"](PROBABILITIES[0]))
    independence = _independence_tests(*samples[PROBABILITIES[0]], keep)
    tests = (*rates[variant], *independence)
    failed = [t for t in independence if not t.passed]
    if failed:
        explained = _constant(samples) or _reused(samples) or _shared_rows(samples)
        return CheckOutcome(
            Outcome.FAIL,
            variant=variant,
            examples=examples,
            statistics=tests,
            message="the mask is not a fresh independent draw: "
            + "; ".join(f"{t.name} ({t.statistic})" for t in failed)
            + (f". {computes(explained)}" if explained else ""),
            counterexample=f"two calls of {_sampling_call(f'p={PROBABILITIES[0]}')}",
            explanations=tuple(e.summary() for e in explained),
        )
    family = len(tests) * ALPHA
    return CheckOutcome(
        Outcome.PASS,
        variant=variant,
        examples=examples,
        statistics=tests,
        message=f"{len(tests)} tests at false-alarm probability {ALPHA:g} each "
        f"(at most {family:.0e} together)",
    )


def _output_mean(adapter: Any, options: SearchSettings) -> list[StatisticalTest]:
    """E[y] = x for the training output, under the reading of p the drop rates follow."""
    samples = _samples(adapter, options.seed)
    variant = _identify(samples)[0] or specs.MASK.canonical.id
    p = PROBABILITIES[0]
    return [_mean_test(samples[p][0], p, variant)]


def _readings_mixed(adapter: Any, options: SearchSettings) -> tuple[Explanation, ...]:
    """The explanation of a training output whose mean is off while each pass, read alone,
    follows an accepted reading of p: the mask drops at the rates of one reading and the kept
    entries are scaled by 1/q of the other (``np.random.binomial(1, p)`` divided by ``1 - p``).
    Read off the samples of ones: every kept entry is the scale, exactly, at every p."""
    samples = _samples(adapter, options.seed)
    reading = _identify(samples)[0]
    if reading is None:
        return ()
    scales = {}
    for probability, (first, _) in samples.items():
        kept = first[first != 0]
        if kept.size == 0 or not np.allclose(kept, kept[0], rtol=1e-12, atol=0):
            return ()
        scales[probability] = float(kept[0])
    for variant in specs.MASK.variants:
        if variant.id == reading:
            continue
        keep = variant.relations[specs.q]
        if not all(
            np.isclose(scale, 1 / float(keep.subs(specs.p, probability)), rtol=1e-12, atol=0)
            for probability, scale in scales.items()
        ):
            continue
        output = specs.y[specs.i, specs.j]
        formula = specs.SCALING.canonical.relations[output].subs(specs.q, keep)
        drawn = specs.MASK.variant(reading).relations[specs.q]
        return (
            Explanation(
                "y_ij",
                formula,
                ("mixed-readings",),
                f"y = mask*x/({keep}): the mask keeps an entry with probability "
                f"{drawn} ({reading}) but the kept entries are divided by "
                f"{keep}, the keep probability of the other reading ({variant.id}), so "
                f"E[y] = {drawn}/({keep}) x (at every p sampled: "
                f"{', '.join(str(probability) for probability in scales)})",
                len(scales),
                inserted=(keep,),
            ),
        )
    return ()


_EXACT = OracleSearch(
    graph=SpecGraph(
        [
            SpecUse(specs.MASK),
            SpecUse(specs.SCALING),
            SpecUse(specs.EVAL, rename={"y": "y_eval"}),
            SpecUse(specs.BACKWARD),
        ]
    ),
    # Every case is judged under both readings of p at once (the variants of dropout.mask on
    # the same inputs), so p is drawn where both are defined: 0 < p < 1, the intersection of
    # 0 <= p < 1 (drop rate) and 0 < p <= 1 (keep probability). min_p keeps p = 0 out, which
    # the keep-probability reading divides by; dropout_inputs keeps max_p below 1.
    cases=lambda: dropout_inputs(min_p=0.05),
    explicit=lambda: [_separating_input()],
    observe=_observe,
    repeatable=False,
    # One layer reads p one way: its backward pass divides by what its forward pass does.
    agree=(specs.MASK.id,),
)

DROPOUT = Component(
    "dropout",
    "dropout",
    {
        **searched_alone(_EXACT),
        specs.MASK.id: SpecCheck(statistics=Statistics(_mask_verdict)),
        specs.SCALING.id: SpecCheck(
            _EXACT,
            Statistics(
                _output_mean,
                "the training output's mean",
                counterexample=_sampling_call(f"p={PROBABILITIES[0]}"),
                after=frozenset({Outcome.PASS}),
                explain=_readings_mixed,
            ),
        ),
    },
    protocol=DropoutAdapter,
    cases=Cases(DropoutInput, "dropout_inputs()"),
)
