"""Where the CMU 11-785 Homework 1 Bonus families cite their text: each section checked by hand
against both editions and pinned here, so that a citation moved to the wrong section fails.

The two editions number their sections differently: the Fall 2025 edition has no LayerNorm
section, so its Dropout is sec. 6 where the Spring 2026 one's is sec. 7. A citation of both
editions names the Spring section and, where it differs, the Fall one ("sec. 7 (Fall 2025:
sec. 6)"); both must be the same topic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from eqconform.specs import adam, adamw, dropout, layernorm
from eqconform.specs.defaults import DEFAULTS, DefaultKind
from eqconform.specs.model import Source
from eqconform.specs.sources import HW1_BONUS

SPRING, FALL, BOTH = "Spring 2026", "Fall 2025", "Spring 2026 and Fall 2025"

#: The numbered sections of each edition (their tables of contents), by topic.
CONTENTS = {
    SPRING: {
        "sec. 1": "start here",
        "sec. 2": "mytorch",
        "sec. 3": "setup",
        "sec. 4": "adam",
        "sec. 5": "adamw",
        "sec. 6": "layernorm",
        "sec. 6.1": "layernorm forward",
        "sec. 6.2": "layernorm backward",
        "sec. 7": "dropout",
    },
    FALL: {
        "sec. 1": "start here",
        "sec. 2": "mytorch",
        "sec. 3": "setup",
        "sec. 4": "adam",
        "sec. 5": "adamw",
        "sec. 6": "dropout",
    },
}

DROPOUT = "sec. 7 (Fall 2025: sec. 6)"

#: Spec, variant (``spec:variant``) and claim ids -> (edition, section), as verified in the
#: documents. The objective "back propagation with dropout" is in the Homework objective list of
#: sec. 1 (Start Here) in both editions: the Dropout section itself says nothing of backward.
SECTIONS = {
    "adam.first_moment": (BOTH, "sec. 4"),
    "adam.second_moment": (BOTH, "sec. 4"),
    "adam.bias_correction": (BOTH, "sec. 4"),
    "adam.update": (SPRING, "sec. 4"),
    "adam.update:eps-outside-sqrt": (SPRING, "sec. 4"),
    "adam.update:eps-inside-sqrt": (FALL, "sec. 4"),
    "adam.bias_correction.constant_gradient": (BOTH, "sec. 4"),
    "adamw.decoupled_decay": (BOTH, "sec. 5"),
    "adamw.orderings_agree": (BOTH, "sec. 5"),
    "dropout.mask": (BOTH, DROPOUT),
    "dropout.mask:p-is-drop-probability": (BOTH, DROPOUT),
    "dropout.mask:p-is-keep-probability": (BOTH, DROPOUT),
    "dropout.scaling": (BOTH, DROPOUT),
    "dropout.eval": (BOTH, DROPOUT),
    "dropout.backward": (BOTH, "sec. 1"),
    "dropout.moments": (BOTH, DROPOUT),
    "layernorm.mean": (SPRING, "sec. 6.1"),
    "layernorm.variance": (SPRING, "sec. 6.1"),
    "layernorm.normalize": (SPRING, "sec. 6.1"),
    "layernorm.affine": (SPRING, "sec. 6.1"),
    "layernorm.grad_gamma": (SPRING, "sec. 6.2"),
    "layernorm.grad_beta": (SPRING, "sec. 6.2"),
    "layernorm.grad_normalized": (SPRING, "sec. 6.2"),
    "layernorm.grad_input": (SPRING, "sec. 6.2"),
    "layernorm.grad_input.exact": (SPRING, "sec. 6.2"),
    "layernorm.parameter_grads.exact": (SPRING, "sec. 6.2"),
}

#: The numbered equations LayerNorm cites (Spring 2026 only: the Fall edition has none).
EQUATIONS = {
    "layernorm.mean": "(1)",
    "layernorm.variance": "(2)",
    "layernorm.normalize": "(3)",
    "layernorm.affine": "(4)",
    "layernorm.grad_gamma": "(5)",
    "layernorm.grad_beta": "(6)",
    "layernorm.grad_input": "(7)",
    "layernorm.grad_input.exact": "(7)",
    "layernorm.parameter_grads.exact": "(5), (6)",
}

#: Where the other documents are cited from these families (EECS 182 Final Exam, Spring 2023).
EXAM_SECTIONS = {
    "adam.bias_correction:uncorrected": "Q4(b), Algorithm 1",
    "adamw.decoupled_decay:decay-unscaled": "Q4, before (a)",
    "adamw.decoupled_decay:l2-coupled": "Q4, before (a)",
}


def _sources() -> Iterator[tuple[str, Source]]:
    """Every source of the four families: specs, their variants, and claims."""
    for family in (adam, adamw, dropout, layernorm):
        for spec in family.SPECS:
            yield spec.id, spec.source
            for variant in spec.variants:
                if variant.source is not None:
                    yield f"{spec.id}:{variant.id}", variant.source
        for claim in family.CLAIMS:
            yield claim.id, claim.source


HOMEWORK = {key: source for key, source in _sources() if source.document == HW1_BONUS}


def test_every_homework_citation_is_pinned() -> None:
    assert set(HOMEWORK) == set(SECTIONS)


@pytest.mark.parametrize("key", sorted(SECTIONS))
def test_citation_points_to_the_verified_section(key: str) -> None:
    source = HOMEWORK[key]
    assert (source.edition, source.section) == SECTIONS[key]


def _per_edition(source: Source) -> dict[str, str]:
    """Edition -> the section a citation names there."""
    if source.edition != BOTH:
        return {source.edition: source.section}
    fall = re.fullmatch(r"(sec\. [\d.]+) \(Fall 2025: (sec\. [\d.]+)\)", source.section)
    if fall:
        return {SPRING: fall[1], FALL: fall[2]}
    return {SPRING: source.section, FALL: source.section}


@pytest.mark.parametrize("key", sorted(SECTIONS))
def test_a_citation_of_both_editions_names_one_topic_in_each(key: str) -> None:
    sections = _per_edition(HOMEWORK[key])
    topics = {edition: CONTENTS[edition].get(section) for edition, section in sections.items()}
    assert None not in topics.values(), f"{key}: no such section in {topics}"
    assert len(set(topics.values())) == 1, f"{key} names different topics: {topics}"


def test_layernorm_is_cited_in_the_spring_edition_only() -> None:
    # The Fall 2025 edition has no LayerNorm: sec. 6 there is Dropout.
    for key, source in HOMEWORK.items():
        if key.startswith("layernorm."):
            assert source.edition == SPRING, key


@pytest.mark.parametrize(("key", "equation"), sorted(EQUATIONS.items()))
def test_layernorm_equations_are_in_the_cited_section(key: str, equation: str) -> None:
    source = HOMEWORK[key]
    assert source.equation == equation
    # eqs. (1)-(4) are the forward equations (sec. 6.1), (5)-(7) the backward ones (sec. 6.2).
    numbers = {int(number) for number in re.findall(r"\d+", equation)}
    assert source.section == ("sec. 6.1" if max(numbers) <= 4 else "sec. 6.2")


@pytest.mark.parametrize(("key", "section"), sorted(EXAM_SECTIONS.items()))
def test_exam_citations_point_to_question_4(key: str, section: str) -> None:
    spec_id, variant_id = key.split(":")
    family = {"adam": adam, "adamw": adamw}[spec_id.split(".")[0]]
    [spec] = [spec for spec in family.SPECS if spec.id == spec_id]
    source = spec.variant(variant_id).source
    assert source is not None and source.document == "UC Berkeley EECS 182 Final Exam"
    assert source.edition == "Spring 2023" and source.section.startswith(section)


# The defaults ------------------------------------------------------------------------------------

#: The only defaults the documents' text states: Adam's betas, sec. 4 of both editions (AdamW
#: adds only the weight decay to Adam's parameters, sec. 5).
STATED_DEFAULTS = {
    ("adam", "beta1"): 0.9,
    ("adam", "beta2"): 0.999,
    ("adamw", "beta1"): 0.9,
    ("adamw", "beta2"): 0.999,
}


def test_only_adams_betas_are_stated_in_the_text() -> None:
    stated = {
        (component, name): default.value
        for component, parameters in DEFAULTS.items()
        for name, default in parameters.items()
        if default.kind is DefaultKind.STATED
    }
    assert stated == STATED_DEFAULTS


@pytest.mark.parametrize(("component", "name"), sorted(STATED_DEFAULTS))
def test_a_stated_default_cites_sec_4_of_both_editions(component: str, name: str) -> None:
    where = DEFAULTS[component][name].where
    assert where.startswith(f"{HW1_BONUS}, {BOTH}, sec. 4, ")


def test_constructor_defaults_say_no_document_shows_them() -> None:
    for component, parameters in DEFAULTS.items():
        for name, default in parameters.items():
            if default.kind is DefaultKind.CONSTRUCTOR:
                assert default.where.startswith(DefaultKind.CONSTRUCTOR.label), (component, name)
                assert "not in the documents" in default.where, (component, name)
