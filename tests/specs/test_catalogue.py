"""Structural checks of the equation catalogue, parametrized over every spec.

In the style of array-api-tests: a spec added to a family module is checked here without a new
line of test code. Family-specific facts (required variants, editions) are listed explicitly.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
import sympy as sp
from eqconform.specs import (
    CATALOGUE,
    CLAIMS,
    ERRATA,
    FAMILIES,
    PROOF_ONLY,
    Spec,
    UnknownSpecError,
    get_spec,
    select_specs,
)
from eqconform.specs.model import quantity_name
from eqconform.verify.compiler import lower
from eqconform.verify.components import COMPONENTS
from sympy.stats.rv import RandomSymbol

SPECS = list(CATALOGUE.values())
SPEC_IDS = [spec.id for spec in SPECS]
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


def _spec_param(spec: Spec):
    return pytest.param(spec, id=spec.id)


ALL = [_spec_param(spec) for spec in SPECS]


def _relations(spec: Spec):
    for variant in spec.variants:
        for lhs, rhs in variant.relations.items():
            yield variant, lhs, rhs


# --------------------------------------------------------------------------- identity


def test_catalogue_is_not_empty_and_ids_are_unique():
    ids = [spec.id for family in FAMILIES for spec in family.SPECS]
    assert len(ids) >= 20
    duplicates = sorted({spec_id for spec_id in ids if ids.count(spec_id) > 1})
    assert not duplicates, f"spec ids defined twice: {duplicates}"
    # CATALOGUE is a dict keyed by id: a repeated id would silently drop a spec.
    assert len(CATALOGUE) == len(ids)


@pytest.mark.parametrize("spec", ALL)
def test_id_is_family_dot_name(spec):
    assert ID_PATTERN.match(spec.id), f"{spec.id!r} is not of the form family.name"
    assert CATALOGUE[spec.id] is spec


@pytest.mark.parametrize("family", FAMILIES, ids=lambda module: module.__name__.rsplit(".", 1)[-1])
def test_a_family_has_one_name(family):
    """The module, its spec ids and its claim ids share one name, which ``--spec`` selects."""
    name = family.__name__.rsplit(".", 1)[-1]
    assert {spec.id.split(".")[0] for spec in family.SPECS} == {name}
    assert {claim.id.split(".")[0] for claim in family.CLAIMS} <= {name}
    assert select_specs([name]) == list(family.SPECS)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda module: module.__name__.rsplit(".", 1)[-1])
def test_a_family_module_uses_one_id_prefix(family):
    prefixes = {spec.id.split(".")[0] for spec in family.SPECS}
    assert len(prefixes) == 1, f"{family.__name__} mixes id prefixes {sorted(prefixes)}"


@pytest.mark.parametrize("spec", ALL)
def test_spec_has_title_and_full_source(spec):
    assert spec.title.strip()
    source = spec.source
    assert source.document.strip() and source.edition.strip() and source.section.strip()
    assert source.document in source.cite() and source.edition in source.cite()


@pytest.mark.parametrize("spec", ALL)
def test_variant_sources_are_complete_where_given(spec):
    for variant in spec.variants:
        if variant.source is not None:
            source = variant.source
            assert source.document.strip() and source.edition.strip() and source.section.strip(), variant.id


@pytest.mark.parametrize("spec", ALL)
def test_component_is_registered(spec):
    # A spec checked on implementations names the component that checks it; a proof-only spec
    # is settled by its claims alone, and names a component or its own family.
    if spec.proof_only and spec.component not in COMPONENTS:
        assert spec.component == spec.id.split(".")[0], f"{spec.id}: component {spec.component!r}"
        return
    assert spec.component in COMPONENTS, f"{spec.id}: no component {spec.component!r}"


# --------------------------------------------------------------------------- variants


@pytest.mark.parametrize("spec", ALL)
def test_has_an_accepted_variant_and_canonical_first(spec):
    assert len(spec.variants) >= 1
    assert any(variant.accepted for variant in spec.variants)
    assert spec.canonical is spec.variants[0]
    assert spec.canonical.accepted, f"{spec.id}: the canonical form must be accepted"
    ids = [variant.id for variant in spec.variants]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("spec", ALL)
def test_variants_define_the_same_quantities(spec):
    defined = {tuple(sorted(map(quantity_name, variant.relations))) for variant in spec.variants}
    assert len(defined) == 1, f"{spec.id}: variants define {defined}"
    assert spec.defines, f"{spec.id} defines nothing"


@pytest.mark.parametrize("spec", ALL)
def test_rejected_variants_say_why(spec):
    for variant in spec.variants:
        if not variant.accepted:
            assert variant.note.strip(), f"{spec.id}:{variant.id} is rejected without a note"


@pytest.mark.parametrize("spec", ALL)
def test_variants_differ(spec):
    """Two variants with identical relations could never be told apart by the verifier."""
    forms = [
        tuple(sp.srepr(variant.relations[lhs]) for lhs in spec.canonical.relations)
        for variant in spec.variants
    ]
    assert len(set(forms)) == len(forms), f"{spec.id} has two identical variants"


def test_spec_rejects_variants_defining_different_quantities():
    """The model's own guard, which test_variants_define_the_same_quantities relies on."""
    spec = get_spec("adam.first_moment")
    other = type(spec.canonical)("other", {sp.Symbol("v"): sp.Integer(0)})
    with pytest.raises(ValueError, match="define different quantities"):
        Spec(spec.id, spec.title, spec.source, spec.component, spec.symbols, (spec.canonical, other))


# --------------------------------------------------------------------------- symbols


def _undeclared(spec: Spec) -> set[str]:
    """Free symbols of the spec's relations that are neither declared nor an axis index.

    ``X[i, j]`` contributes its label ``X`` (which must be declared) and its indices (which must
    be axes); a size such as ``C``, ``N`` or ``d`` must be declared like any other symbol. A
    random draw (the dropout mask) contributes the free symbols of its distribution.
    """
    declared = {info.name for info in spec.symbols}
    indices = set(spec.axes)
    missing: set[str] = set()

    def check(expr: sp.Basic) -> None:
        for atom in expr.free_symbols:
            if isinstance(atom, RandomSymbol):
                for parameter in atom.pspace.distribution.args:
                    check(sp.sympify(parameter))
            elif isinstance(atom, sp.Indexed):
                if quantity_name(atom) not in declared:
                    missing.add(quantity_name(atom))
                for index in atom.indices:
                    for symbol in sp.sympify(index).free_symbols:
                        if symbol not in indices:
                            missing.add(f"index {symbol} of {atom}")
            elif isinstance(atom, sp.Symbol):
                if atom in indices:
                    continue
                if atom.name not in declared:
                    missing.add(atom.name)

    for _variant, lhs, rhs in _relations(spec):
        check(lhs)
        check(rhs)
    return missing


@pytest.mark.parametrize("spec", ALL)
def test_every_symbol_is_declared_or_an_axis_index(spec):
    assert not _undeclared(spec), f"{spec.id} uses undeclared symbols {sorted(_undeclared(spec))}"
    # The check reads this spec's own relations: without any one of its declarations, that
    # symbol is reported ...
    for info in spec.symbols:
        # A variant's own domain of the symbol goes too: a spec may not narrow what it lacks.
        variants = tuple(
            dataclasses.replace(
                variant, domains={k: d for k, d in variant.domains.items() if k != info.name})
            for variant in spec.variants)
        others = tuple(other for other in spec.symbols if other is not info)
        fewer = dataclasses.replace(spec, symbols=others, variants=variants)
        assert info.name in _undeclared(fewer), f"{spec.id}: {info.name} is used but the check does not see it"
    # ... and so is every index it runs over, once the spec gives no axis for it.
    indexed = any(expr.atoms(sp.Indexed) for _variant, lhs, rhs in _relations(spec) for expr in (lhs, rhs))
    if indexed:
        assert any(problem.startswith("index ") for problem in _undeclared(dataclasses.replace(spec, axes={}))), (
            f"{spec.id}: an index without an axis is not reported")


@pytest.mark.parametrize("spec", ALL)
def test_declared_symbols_are_used(spec):
    used = set()
    for _variant, lhs, rhs in _relations(spec):
        for expr in (lhs, rhs):
            used |= {quantity_name(atom) for atom in expr.free_symbols if isinstance(atom, (sp.Indexed, sp.Symbol))}
            for draw in expr.atoms(RandomSymbol):
                used |= {str(symbol) for symbol in draw.pspace.distribution.free_symbols}
    declared = [info.name for info in spec.symbols]
    assert len(set(declared)) == len(declared), f"{spec.id} declares a symbol twice"
    unused = set(declared) - used
    assert not unused, f"{spec.id} declares symbols no relation uses: {sorted(unused)}"


@pytest.mark.parametrize("spec", ALL)
def test_sums_run_along_a_declared_axis_and_compile(spec):
    """Every relation lowers to array form (a Sum over an index without an axis cannot)."""
    for variant, _lhs, rhs in _relations(spec):
        if rhs.atoms(RandomSymbol):
            continue
        for summation in rhs.atoms(sp.Sum):
            for index, low, high in summation.limits:
                assert index in spec.axes, f"{spec.id}:{variant.id} sums over {index} with no axis"
                assert low == 1, f"{spec.id}:{variant.id} sum over {index} starts at {low}"
                assert isinstance(high, sp.Symbol) and high.name in {i.name for i in spec.symbols}
        lowered = lower(rhs, spec.axes)
        assert not lowered.atoms(sp.Sum) and not lowered.atoms(sp.Indexed)


DOMAINS = {
    "beta1": sp.Interval.open(0, 1),
    "beta2": sp.Interval.open(0, 1),
    "eps": sp.Interval.open(0, sp.oo),
    # Either reading's values; each variant of dropout.mask narrows it to its own
    # (tests/specs/test_dropout_domains.py).
    "p": sp.Interval(0, 1),
    "q": sp.Interval.Lopen(0, 1),
    "alpha": sp.Interval.open(0, sp.oo),
}


def _symbol_params():
    for spec in SPECS:
        for info in spec.symbols:
            if info.name in DOMAINS:
                yield pytest.param(spec, info, id=f"{spec.id}:{info.name}")


@pytest.mark.parametrize(("spec", "info"), list(_symbol_params()))
def test_documented_domains(spec, info):
    assert info.domain == DOMAINS[info.name], f"{spec.id}: {info.name} in {info.domain}"


def test_every_documented_domain_is_checked_somewhere():
    names = {info.name for spec in SPECS for info in spec.symbols}
    assert {"beta1", "beta2", "eps", "p"} <= names


@pytest.mark.parametrize("spec", ALL)
def test_symbol_assumptions_are_justified_by_the_domain(spec):
    """A proof may use a symbol's SymPy assumptions (positive, nonnegative, integer); those
    must follow from the domain the spec declares, or the proof assumes more than the document
    allows (and the report prints a wider domain than the proofs used)."""
    problems = []
    for info in spec.symbols:
        symbol = info.symbol if isinstance(info.symbol, sp.Symbol) else None
        if symbol is None:
            continue
        domain = info.domain
        if symbol.is_positive and not domain.is_subset(sp.Interval.open(0, sp.oo)):
            problems.append(f"{info.name} is positive but its domain is {domain}")
        elif symbol.is_nonnegative and not domain.is_subset(sp.Interval(0, sp.oo)):
            problems.append(f"{info.name} is nonnegative but its domain is {domain}")
        if symbol.is_integer and not domain.is_subset(sp.S.Integers):
            problems.append(f"{info.name} is an integer but its domain is {domain}")
    assert not problems, f"{spec.id}: " + "; ".join(problems)


@pytest.mark.parametrize("spec", ALL)
def test_symbol_assumptions_carry_what_the_domain_says(spec):
    """The converse: a scalar whose domain is real, nonnegative, positive or integer is
    declared so, or SymPy cannot use it (``sqrt(v**2)`` stays ``|v|``, a rounding bound keeps
    the ``abs`` of a moment that cannot be negative, a proof fails that the document allows)."""
    regions = {
        "real": sp.S.Reals,
        "nonnegative": sp.Interval(0, sp.oo),
        "positive": sp.Interval.open(0, sp.oo),
        "integer": sp.S.Integers,
    }
    problems = [
        f"{info.name} in {info.domain} is not declared {name}"
        for info in spec.symbols
        if isinstance(info.symbol, sp.Symbol)
        for name, region in regions.items()
        if info.domain.is_subset(region) and not getattr(info.symbol, f"is_{name}")
    ]
    assert not problems, f"{spec.id}: " + "; ".join(problems)


# --------------------------------------------------------------------------- lookup


def test_select_all_when_no_pattern():
    assert [spec.id for spec in select_specs()] == SPEC_IDS


def test_select_by_id():
    assert [spec.id for spec in select_specs(["adam.update"])] == ["adam.update"]


@pytest.mark.parametrize("family", sorted({spec_id.split(".")[0] for spec_id in CATALOGUE}))
def test_select_by_family_name(family):
    selected = [spec.id for spec in select_specs([family])]
    expected = [spec_id for spec_id in SPEC_IDS if spec_id.split(".")[0] == family]
    assert selected == expected and selected


def test_family_name_does_not_select_a_prefix_family():
    """``adam`` selects adam.* only, not adamw.*."""
    assert all(spec.id.startswith("adam.") for spec in select_specs(["adam"]))


def test_select_by_pattern_keeps_catalogue_order_and_deduplicates():
    selected = [spec.id for spec in select_specs(["layernorm.grad_*", "layernorm.grad_beta", "adam.*"])]
    expected = [s for s in SPEC_IDS if s.startswith(("adam.", "layernorm.grad_"))]
    assert selected == expected
    assert len(selected) == len(set(selected))


def test_unknown_pattern_names_every_unmatched_pattern():
    with pytest.raises(UnknownSpecError) as info:
        select_specs(["adam.update", "nosuch.*", "bogus"])
    message = str(info.value)
    assert "'nosuch.*'" in message and "'bogus'" in message
    assert "adam.update" not in message


def test_get_spec_unknown_raises_with_hint():
    with pytest.raises(UnknownSpecError) as info:
        get_spec("layernorm.meen")
    message = str(info.value)
    assert "'layernorm.meen'" in message
    assert "layernorm.mean" in message, "the hint lists the family's specs"
    assert issubclass(UnknownSpecError, LookupError)


def test_get_spec_unknown_family_raises_without_hint():
    with pytest.raises(UnknownSpecError, match="'nosuch.thing'"):
        get_spec("nosuch.thing")


# --------------------------------------------------------------------------- required content

REQUIRED_VARIANTS = {
    "adam.update": {"eps-outside-sqrt", "eps-inside-sqrt"},
    "adamw.decoupled_decay": {"decay-scaled-by-lr", "decay-unscaled"},
    "dropout.mask": {"p-is-drop-probability", "p-is-keep-probability"},
}


@pytest.mark.parametrize(("spec_id", "required"), sorted(REQUIRED_VARIANTS.items()))
def test_required_variants_exist_and_are_accepted(spec_id, required):
    spec = get_spec(spec_id)
    present = {variant.id: variant for variant in spec.variants}
    assert required <= set(present), f"{spec_id} lacks {sorted(required - set(present))}"
    assert all(present[variant_id].accepted for variant_id in required)


@pytest.mark.parametrize(
    ("variant_id", "edition"), [("eps-outside-sqrt", "Spring 2026"), ("eps-inside-sqrt", "Fall 2025")]
)
def test_adam_update_variants_cite_their_edition(variant_id, edition):
    variant = get_spec("adam.update").variant(variant_id)
    assert variant.source is not None
    assert variant.source.edition == edition
    assert variant.source.document == "CMU 11-785 Homework 1 Bonus"


def test_adam_update_variants_differ_where_eps_sits():
    spec = get_spec("adam.update")
    outside = spec.variant("eps-outside-sqrt").expression("theta")
    inside = spec.variant("eps-inside-sqrt").expression("theta")
    values = {sp.Symbol("theta_prev", real=True): 0, sp.Symbol("alpha", positive=True): 1,
              sp.Symbol("mhat", real=True): 1, sp.Symbol("vhat", nonnegative=True): 0,
              sp.Symbol("eps", positive=True): sp.Rational(1, 4)}
    # With vhat = 0: -1 / eps = -4 outside, -1 / sqrt(eps) = -2 inside.
    assert outside.subs(values) == -4
    assert inside.subs(values) == -2


@pytest.mark.parametrize("step", [1, 2, 7])
def test_adam_eps_hat_is_the_step_size_form_of_kingma_and_ba(step):
    """The note of the eps-hat variant: the bias correction folded into the step size,
    alpha_t = alpha sqrt(1 - beta2^t) / (1 - beta1^t), with eps added to the uncorrected
    sqrt(v_t), is eps / sqrt(1 - beta2^t) added to sqrt(vhat_t). Past the first step, where
    beta2^t and beta2 t part."""
    from eqconform.specs import adam

    eps_hat = get_spec("adam.update").variant("eps-hat").expression("theta")
    beta1, beta2, alpha, eps = sp.Rational(9, 10), sp.Rational(999, 1000), sp.Rational(1, 100), sp.Rational(1, 10**8)
    m, v, theta_prev = sp.Rational(3, 10), sp.Rational(2, 10**6), sp.Rational(1, 2)
    corrected = {adam.mhat: m / (1 - beta1**step), adam.vhat: v / (1 - beta2**step)}
    ours = eps_hat.subs({adam.theta_prev: theta_prev, adam.alpha: alpha, adam.eps: eps, adam.beta2: beta2,
                         adam.t: step, **corrected})
    step_size = alpha * sp.sqrt(1 - beta2**step) / (1 - beta1**step)
    keras = theta_prev - step_size * m / (sp.sqrt(v) + eps)
    assert abs(sp.N(ours - keras, 50)) < sp.Float("1e-40")


def test_dropout_mask_readings_of_p_are_opposite():
    from eqconform.specs.dropout import keep_probability, p

    spec = get_spec("dropout.mask")
    assert keep_probability(spec.variant("p-is-drop-probability")).subs(p, sp.Rational(3, 10)) == sp.Rational(7, 10)
    assert keep_probability(spec.variant("p-is-keep-probability")).subs(p, sp.Rational(3, 10)) == sp.Rational(3, 10)


def test_claims_reference_catalogue_specs():
    for claim in CLAIMS:
        unknown = [spec_id for spec_id in claim.specs if spec_id not in CATALOGUE]
        assert not unknown, f"claim {claim.id} references {unknown}"
    ids = [claim.id for claim in CLAIMS]
    assert len(ids) == len(set(ids))


def test_proof_only_specs_are_in_the_catalogue():
    assert PROOF_ONLY <= set(CATALOGUE)
    assert PROOF_ONLY == {spec.id for spec in CATALOGUE.values() if spec.proof_only}
    # each is the subject of a claim, since no target is checked against it
    proved = {spec_id for claim in CLAIMS for spec_id in claim.specs}
    assert PROOF_ONLY <= proved


def test_statistical_specs_describe_random_draws():
    """A statistical spec states a distribution (a random symbol) or moments of one."""
    statistical = {spec.id for spec in CATALOGUE.values() if spec.statistical}
    assert {"dropout.mask", "noise.draw", "noise.dropout_draw"} <= statistical
    for spec_id in statistical:
        spec = CATALOGUE[spec_id]
        assert not spec.proof_only
        randoms = {atom for variant in spec.variants for expr in variant.relations.values()
                   for atom in sp.sympify(expr).atoms(RandomSymbol)}
        assert randoms or spec_id == "attention.dot_statistics", spec_id


def test_every_erratum_names_the_specs_it_concerns() -> None:
    """Errata are linked to spec ids (a report lists those that concern a spec it checks)."""
    for entry in ERRATA:
        assert entry["specs"], entry["id"]
        unknown = [spec_id for spec_id in entry["specs"] if spec_id not in CATALOGUE]
        assert not unknown, f"erratum {entry['id']} names unknown specs {unknown}"
        assert entry["id"].split(".")[0] in {spec_id.split(".")[0] for spec_id in entry["specs"]}
