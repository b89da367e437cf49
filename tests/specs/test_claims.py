"""Every claim of the catalogue is proved, and each proof fails on a broken spec.

The mutation tests replace one spec (a frozen dataclass) by a modified copy in the module the
proof reads it from, so they show the proofs derive their verdict from the spec data rather than
from a second, hand-written copy of the equations.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
import sympy as sp
from eqconform.specs import (
    CLAIMS,
    GENERAL,
    ProofOutcome,
    ProofStatus,
    Spec,
    adam,
    adamw,
    dropout,
    layernorm,
    layernorm_exam,
)
from eqconform.specs.model import finite_points, finite_scope
from sympy import stats

PROVED, REFUTED = ProofStatus.PROVED, ProofStatus.REFUTED


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda claim: claim.id)
def test_claim_is_proved(claim):
    outcome = claim.prove()
    assert outcome.status is PROVED, f"{claim.id}: {outcome.status} ({outcome.method}; {outcome.detail})"
    assert outcome.method.strip()
    # General, or the sizes covered, said as finite_scope/finite_points say them.
    assert outcome.scope == GENERAL or re.fullmatch(
        r"(\w+ (= \d+(\.\.\d+)?|in \{[\d, ]+\})|\([\w, ]+\) in \{[\d(), ]+\})(; .+)?", outcome.scope
    ), outcome.scope


def test_a_scope_says_exactly_the_sizes_covered():
    assert finite_scope(C=range(1, 9)) == "C = 1..8"
    assert finite_scope(d=[4, 2, 2]) == "d in {2, 4}"
    assert finite_scope(t=[3]) == "t = 3"
    assert finite_scope(N=range(1, 4), C=(2,)) == "N = 1..3; C = 2"
    assert finite_points(("N", "P"), [(2, 3), (1, 1), (2, 3)]) == "(N, P) in {(1, 1), (2, 3)}"
    for bad in (lambda: finite_scope(), lambda: finite_scope(C=[]), lambda: finite_points(("N", "P"), [(1,)]),
                lambda: finite_points(("N",), [])):
        with pytest.raises(ValueError):
            bad()
    # A proof must say its scope; a refutation need not.
    with pytest.raises(ValueError, match="scope"):
        ProofOutcome(PROVED, "sympy.simplify")
    assert ProofOutcome(REFUTED, "sympy.simplify").scope == ""


def with_relation(spec: Spec, quantity: sp.Basic, expr: sp.Expr, variant_id: str | None = None) -> Spec:
    """A copy of ``spec`` whose variant (the canonical one by default) defines ``quantity`` as
    ``expr``; fails the test if that changes nothing (a mutation that is not one)."""
    variant_id = variant_id or spec.canonical.id
    variants = []
    for variant in spec.variants:
        if variant.id == variant_id:
            assert quantity in variant.relations, f"{spec.id}:{variant_id} does not define {quantity}"
            assert sp.simplify(variant.relations[quantity] - expr) != 0, "the mutation changes nothing"
            relations = {**variant.relations, quantity: expr}
            variant = dataclasses.replace(variant, relations=relations)
        variants.append(variant)
    return dataclasses.replace(spec, variants=tuple(variants))


# --------------------------------------------------------------------------- LayerNorm (7)

LN = layernorm
(_GRAD_INPUT_RELATION,) = LN.GRAD_INPUT.canonical.relations.values()
_dLdZ = LN.dLdZ[LN.i, LN.j]


def _eq7(terms: int = 3, denominator: sp.Expr | None = None) -> sp.Expr:
    """Eq. (7) rebuilt from its printed terms, with only the first ``terms`` kept."""
    i, j, k, C = LN.i, LN.j, LN.k, LN.C
    parts = [
        C * LN.dLdZhat[i, j],
        -sp.Sum(LN.dLdZhat[i, k], (k, 1, C)),
        -LN.Zhat[i, j] * sp.Sum(LN.dLdZhat[i, k] * LN.Zhat[i, k], (k, 1, C)),
    ]
    if denominator is None:
        denominator = C * sp.sqrt(LN.sigma2[i] + LN.eps)
    return sp.Add(*parts[:terms]) / denominator


def test_eq7_reconstruction_is_the_catalogue_relation():
    """The mutations below are edits of the catalogue's own eq. (7), not of another formula."""
    assert sp.simplify(_eq7() - _GRAD_INPUT_RELATION) == 0


def test_grad_input_proof_small_width_is_proved():
    assert LN._prove_grad_input(max_width=3).status is PROVED


def test_grad_input_proof_refutes_missing_last_term(monkeypatch):
    broken = with_relation(LN.GRAD_INPUT, _dLdZ, _eq7(terms=2))
    monkeypatch.setattr(LN, "GRAD_INPUT", broken)
    outcome = LN._prove_grad_input(max_width=3)
    assert outcome.status is REFUTED, outcome
    # At C = 1 Zhat is 0, so the dropped term vanishes there: the proof must look further.
    assert "C = 2" in outcome.detail


def test_grad_input_proof_refutes_eps_outside_sqrt(monkeypatch):
    i, C = LN.i, LN.C
    broken = with_relation(
        LN.GRAD_INPUT, _dLdZ, _eq7(denominator=C * (sp.sqrt(LN.sigma2[i]) + LN.eps))
    )
    monkeypatch.setattr(LN, "GRAD_INPUT", broken)
    assert LN._prove_grad_input(max_width=2).status is REFUTED


def test_grad_input_proof_refutes_wrong_chain_rule(monkeypatch):
    """dL/dZhat without gamma (the chain rule through eq. (4) forgotten)."""
    i, j = LN.i, LN.j
    broken = with_relation(LN.GRAD_NORMALIZED, LN.dLdZhat[i, j], LN.G[i, j])
    monkeypatch.setattr(LN, "GRAD_NORMALIZED", broken)
    assert LN._prove_grad_input(max_width=2).status is REFUTED


def test_grad_input_proof_reads_the_forward_specs(monkeypatch):
    """Eq. (7) is differentiated against the forward specs: an unbiased variance in eq. (2)
    makes the (unchanged) eq. (7) wrong, and the proof says so."""
    i, j, C = LN.i, LN.j, LN.C
    # Half the biased variance: wrong, but defined at C = 1 (Bessel's C - 1 is not).
    wrong = sp.Sum((LN.Z[i, j] - LN.mu[i]) ** 2, (j, 1, C)) / (2 * C)
    monkeypatch.setattr(LN, "VARIANCE", with_relation(LN.VARIANCE, LN.sigma2[i], wrong))
    assert LN._prove_grad_input(max_width=2).status is REFUTED


# --------------------------------------------------------------------------- LayerNorm (5), (6)


def test_parameter_grads_refute_wrong_eq5(monkeypatch):
    i, j, N = LN.i, LN.j, LN.N
    # dL/dgamma as the plain column sum of G (Zhat forgotten).
    broken = with_relation(LN.GRAD_GAMMA, LN.dLdgamma[j], sp.Sum(LN.G[i, j], (i, 1, N)))
    monkeypatch.setattr(LN, "GRAD_GAMMA", broken)
    assert LN._prove_parameter_grads(max_rows=2, max_width=2).status is REFUTED


def test_parameter_grads_refute_eq5_without_batch_sum(monkeypatch):
    i, j = LN.i, LN.j
    broken = with_relation(LN.GRAD_GAMMA, LN.dLdgamma[j], LN.G[i, j] * LN.Zhat[i, j])
    monkeypatch.setattr(LN, "GRAD_GAMMA", broken)
    outcome = LN._prove_parameter_grads(max_rows=2, max_width=2)
    assert outcome.status is REFUTED
    assert "gamma" in outcome.detail


def test_parameter_grads_refute_wrong_eq6(monkeypatch):
    i, j, N = LN.i, LN.j, LN.N
    broken = with_relation(LN.GRAD_BETA, LN.dLdbeta[j], sp.Sum(LN.G[i, j], (i, 1, N)) / N)
    monkeypatch.setattr(LN, "GRAD_BETA", broken)
    outcome = LN._prove_parameter_grads(max_rows=2, max_width=1)
    assert outcome.status is REFUTED
    assert "beta" in outcome.detail and "N = 2" in outcome.detail


def test_parameter_grads_read_the_affine_spec(monkeypatch):
    i, j = LN.i, LN.j
    swapped = LN.beta[j] * LN.Zhat[i, j] + LN.gamma[j]
    monkeypatch.setattr(LN, "AFFINE", with_relation(LN.AFFINE, LN.Ztilde[i, j], swapped))
    assert LN._prove_parameter_grads(max_rows=1, max_width=1).status is REFUTED


# --------------------------------------------------------------------------- Adam


def test_bias_correction_refutes_wrong_power(monkeypatch):
    m, v, beta1, beta2, t = adam.m, adam.v, adam.beta1, adam.beta2, adam.t
    original = adam.BIAS_CORRECTION
    broken = with_relation(original, adam.mhat, m / (1 - beta1 ** (t + 1)), "bias-corrected")
    monkeypatch.setattr(adam, "BIAS_CORRECTION", broken)
    outcome = adam._prove_bias_correction_recovers_constant_gradient()
    assert outcome.status is REFUTED
    assert "adam.first_moment" in outcome.detail
    # The second moment is also checked: break only vhat.
    broken_v = with_relation(original, adam.vhat, v / (1 - beta2 ** (t + 1)), "bias-corrected")
    monkeypatch.setattr(adam, "BIAS_CORRECTION", broken_v)
    outcome = adam._prove_bias_correction_recovers_constant_gradient()
    assert outcome.status is REFUTED
    assert "adam.second_moment" in outcome.detail


def test_bias_correction_refutes_a_correction_off_by_a_whole_factor(monkeypatch):
    # Corrected moments of 2 g (or 2 g^2) are a whole multiple of the signal: a check that only
    # asked whether the signal divides them would let them through.
    m, v, beta1, beta2, t = adam.m, adam.v, adam.beta1, adam.beta2, adam.t
    original = adam.BIAS_CORRECTION
    for quantity, doubled, spec_id in (
        (adam.mhat, 2 * m / (1 - beta1**t), "adam.first_moment"),
        (adam.vhat, 2 * v / (1 - beta2**t), "adam.second_moment"),
    ):
        monkeypatch.setattr(adam, "BIAS_CORRECTION", with_relation(original, quantity, doubled, "bias-corrected"))
        outcome = adam._prove_bias_correction_recovers_constant_gradient()
        assert outcome.status is REFUTED and spec_id in outcome.detail


def test_bias_correction_refutes_swapped_first_moment(monkeypatch):
    swapped = (1 - adam.beta1) * adam.m_prev + adam.beta1 * adam.g
    monkeypatch.setattr(adam, "FIRST_MOMENT", with_relation(adam.FIRST_MOMENT, adam.m, swapped))
    assert adam._prove_bias_correction_recovers_constant_gradient().status is REFUTED


def test_bias_correction_refutes_unsquared_second_moment(monkeypatch):
    unsquared = adam.beta2 * adam.v_prev + (1 - adam.beta2) * adam.g
    monkeypatch.setattr(adam, "SECOND_MOMENT", with_relation(adam.SECOND_MOMENT, adam.v, unsquared))
    assert adam._prove_bias_correction_recovers_constant_gradient().status is REFUTED


# --------------------------------------------------------------------------- AdamW


def test_adamw_orderings_refute_decay_of_updated_weights(monkeypatch):
    theta, theta_adam = adamw.theta, adamw.theta_adam
    broken = with_relation(adamw.DECOUPLED_DECAY, theta, theta_adam - theta_adam * adamw.alpha * adamw.lam)
    monkeypatch.setattr(adamw, "DECOUPLED_DECAY", broken)
    assert adamw._prove_orderings_agree().status is REFUTED


def test_adamw_orderings_not_proved_when_adam_step_depends_on_theta(monkeypatch):
    """The proof reads adam.UPDATE: a step that depends on theta_(t-1) does not commute."""
    theta, theta_prev = adam.theta, adam.theta_prev
    leaky = theta_prev * (1 - adam.eps) - adam.alpha * adam.mhat / (sp.sqrt(adam.vhat) + adam.eps)
    monkeypatch.setattr(adam, "UPDATE", with_relation(adam.UPDATE, theta, leaky))
    assert adamw._prove_orderings_agree().status is ProofStatus.NOT_PROVED


# --------------------------------------------------------------------------- Dropout


def test_dropout_moments_refute_missing_rescaling(monkeypatch):
    i, j = dropout.i, dropout.j
    broken = with_relation(dropout.SCALING, dropout.y[i, j], dropout.mask[i, j] * dropout.x[i, j])
    monkeypatch.setattr(dropout, "SCALING", broken)
    outcome = dropout._prove_moments()
    assert outcome.status is REFUTED
    assert "E[y]" in outcome.detail


def test_dropout_moments_refute_mask_with_wrong_probability(monkeypatch):
    i, j, p = dropout.i, dropout.j, dropout.p
    broken = with_relation(
        dropout.MASK, dropout.mask[i, j], stats.Bernoulli("M", p), "p-is-drop-probability"
    )
    monkeypatch.setattr(dropout, "MASK", broken)
    assert dropout._prove_moments().status is REFUTED


# --------------------------------------------------------------------------- exam LayerNorm

EX = layernorm_exam


def test_demean_jacobian_refutes_identity(monkeypatch):
    j, k = EX.j, EX.k
    broken = with_relation(EX.DEMEAN_JACOBIAN, EX.Jf[j, k], sp.KroneckerDelta(j, k))
    monkeypatch.setattr(EX, "DEMEAN_JACOBIAN", broken)
    outcome = EX._prove_demean_jacobian()
    assert outcome.status is REFUTED
    assert "d = 1" in outcome.detail


def test_demean_jacobian_refutes_wrong_off_diagonal(monkeypatch):
    """Right at d = 1 (1 - 1/d = 0 either way) and on the diagonal, wrong off it."""
    j, k, d = EX.j, EX.k, EX.d
    wrong = sp.KroneckerDelta(j, k) * (1 - sp.Integer(1) / d) + (1 - sp.KroneckerDelta(j, k)) / d
    broken = with_relation(EX.DEMEAN_JACOBIAN, EX.Jf[j, k], wrong)
    assert EX._jacobian_claim(EX.DEMEAN, broken, EX.x, 1, "").status is PROVED
    monkeypatch.setattr(EX, "DEMEAN_JACOBIAN", broken)
    outcome = EX._prove_demean_jacobian()
    assert outcome.status is REFUTED
    assert "d = 2" in outcome.detail


def test_normalize_jacobian_refutes_missing_projection(monkeypatch):
    j, k, d = EX.j, EX.k, EX.d
    norm_squared = sp.Sum(EX.z[EX.i, EX.r] ** 2, (EX.r, 1, d))
    wrong = sp.sqrt(d) / sp.sqrt(norm_squared) * sp.KroneckerDelta(j, k)
    monkeypatch.setattr(EX, "NORMALIZE_JACOBIAN", with_relation(EX.NORMALIZE_JACOBIAN, EX.Jh[j, k], wrong))
    assert EX._prove_normalize_jacobian().status is REFUTED


def test_matches_homework_refutes_demean_grad_without_mean(monkeypatch):
    i, j = EX.i, EX.j
    monkeypatch.setattr(EX, "DEMEAN_GRAD", with_relation(EX.DEMEAN_GRAD, EX.gx[i, j], EX.gz[i, j]))
    assert EX._prove_matches_homework(max_width=3).status is REFUTED


def test_matches_homework_reads_the_homework_specs(monkeypatch):
    """The exam's chain is compared with the homework's eq. (7) taken from the catalogue."""
    monkeypatch.setattr(LN, "GRAD_INPUT", with_relation(LN.GRAD_INPUT, _dLdZ, _eq7(terms=2)))
    assert EX._prove_matches_homework(max_width=3).status is REFUTED
