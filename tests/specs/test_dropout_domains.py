"""The domain of dropout's p under each of its two readings, and the p the checker draws.

As the drop rate (q = 1 - p) p may be 0 but not 1; as the keep probability (q = p) it may be 1
but not 0: the training output divides by q, which must not be 0. Each variant of
``dropout.mask`` carries its own domain; the checker judges every case under both readings at
once, so it draws p where both are defined.
"""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings

from eqconform.specs import dropout as specs
from eqconform.specs import get_spec
from eqconform.specs.model import Spec, SymbolInfo, Variant
from eqconform.verify.components import dropout as component

MASK = get_spec("dropout.mask")
READINGS = {
    "p-is-drop-probability": sp.Interval.Ropen(0, 1),
    "p-is-keep-probability": sp.Interval.Lopen(0, 1),
}


def test_each_reading_has_its_own_domain_of_p() -> None:
    assert {form.id: MASK.domain("p", form.id) for form in MASK.forms} == READINGS
    # The spec declares the union: any value some reading allows.
    assert MASK.domain("p") == sp.Union(*READINGS.values()) == sp.Interval(0, 1)


@pytest.mark.parametrize("reading", sorted(READINGS))
def test_a_readings_domain_is_where_its_keep_probability_is_one_q_allows(reading: str) -> None:
    """Derived from the spec itself: the p in [0, 1] whose q = keep(p) is in q's domain (0, 1],
    so that the scaling y = M x / q of dropout.scaling is defined."""
    keep = specs.keep_probability(MASK.variant(reading))
    q_domain = MASK.symbol("q").domain
    allowed = sp.Intersection(
        sp.Interval(0, 1),
        sp.solveset(keep > q_domain.start, specs.p, sp.S.Reals),
        sp.solveset(keep <= q_domain.end, specs.p, sp.S.Reals),
    )
    assert MASK.domain("p", reading) == allowed
    # The end the reading leaves out is where the scaling would divide by zero.
    [excluded] = sp.Interval(0, 1) - allowed
    assert keep.subs(specs.p, excluded) == 0


def test_both_domains_are_said_where_domains_are_shown() -> None:
    assert MASK.describe_domain("p") == (
        "0 <= p < 1 (p-is-drop-probability); 0 < p <= 1 (p-is-keep-probability)"
    )
    assert MASK.describe_domain("q") == "0 < q <= 1"
    assert "p = 1" in MASK.variant("p-is-drop-probability").note
    assert "p = 0" in MASK.variant("p-is-keep-probability").note


def _spec(*variants: Variant) -> Spec:
    p, y = sp.Symbol("p", nonnegative=True), sp.Symbol("y")
    return Spec(
        id="toy.spec",
        title="toy",
        source=MASK.source,
        component="dropout",
        symbols=(SymbolInfo(p, "p", sp.Interval(0, 1)), SymbolInfo(y, "y")),
        variants=variants or (Variant("canonical", {y: p}),),
    )


def test_a_variant_may_narrow_a_domain_but_not_widen_it_or_invent_a_symbol() -> None:
    p, y = sp.Symbol("p", nonnegative=True), sp.Symbol("y")
    narrowed = _spec(Variant("a", {y: p}, domains={"p": sp.Interval.open(0, 1)}))
    assert narrowed.domain("p", "a") == sp.Interval.open(0, 1)
    with pytest.raises(ValueError, match="widens the domain of 'p'"):
        _spec(Variant("a", {y: p}, domains={"p": sp.Interval(0, 2)}))
    with pytest.raises(ValueError, match="gives a domain to 'r', which the spec does not declare"):
        _spec(Variant("a", {y: p}, domains={"r": sp.Interval(0, 1)}))


def test_a_form_without_its_own_domain_has_the_declared_one() -> None:
    p, y = sp.Symbol("p", nonnegative=True), sp.Symbol("y")
    spec = _spec(
        Variant("a", {y: p}, domains={"p": sp.Interval.open(0, 1)}), Variant("b", {y: 2 * p})
    )
    assert spec.domain("p", "b") == sp.Interval(0, 1)
    assert spec.describe_domain("p") == "0 < p < 1 (a); 0 <= p <= 1 (other forms)"


# The p the checker draws ---------------------------------------------------------------------


def _in_every_reading(p: float) -> bool:
    return all(MASK.domain("p", reading).contains(sp.Float(p)) is sp.true for reading in READINGS)


@settings(max_examples=200, database=None, deadline=None)
@given(component._EXACT.cases())
def test_the_exact_checks_draw_p_in_the_domain_of_every_reading(case: object) -> None:
    # Each case is judged under both readings at once (the variants on the same inputs).
    assert _in_every_reading(case.p), case.p  # type: ignore[attr-defined]


def test_the_hand_picked_and_sampled_p_are_in_the_domain_of_every_reading() -> None:
    assert all(_in_every_reading(case.p) for case in component._EXACT.explicit())
    assert all(_in_every_reading(p) for p in component.PROBABILITIES)
