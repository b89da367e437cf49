"""The EECS 182 claims: each proof reads its verdict from the specs (a broken spec refutes it),
and the errata each name a family of the catalogue and point at a proof that exists.

Every claim is also proved by ``tests/specs/test_claims.py::test_claim_is_proved``, which is
parametrized over the whole catalogue.
"""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
from eqconform.specs import (
    CATALOGUE,
    CLAIMS,
    ERRATA,
    ProofStatus,
    Spec,
    attention,
    autoencoder,
    diffusion,
    layernorm_exam,
    ln_scaling,
    noise,
    weight_decay,
)

PROVED, REFUTED = ProofStatus.PROVED, ProofStatus.REFUTED


def replaced(spec: Spec, quantity: sp.Basic, expr: sp.Expr) -> Spec:
    """A copy of ``spec`` whose canonical relation for ``quantity`` is ``expr`` (which must differ)."""
    relations = dict(spec.canonical.relations)
    assert quantity in relations, f"{spec.id} does not define {quantity}"
    assert sp.simplify(relations[quantity] - expr) != 0, "the mutation changes nothing"
    relations[quantity] = expr
    return dataclasses.replace(spec, variants=(dataclasses.replace(spec.canonical, relations=relations),))


# --------------------------------------------------------------------------- attention

A = attention


def test_printed_d_squared_variance_refutes_the_scale(monkeypatch):
    """With the solution's Var[q.k] = d^2 (at mu = 0, sigma = 1) the unit-variance scale is not sqrt(d)."""
    typo = 2 * A.sigma**2 * sp.Sum(A.mu[A.t] ** 2, (A.t, 1, A.D)) + A.D**2 * A.sigma**4
    monkeypatch.setattr(A, "DOT_STATISTICS", replaced(A.DOT_STATISTICS, A.Vdot, typo))
    assert A._prove_scale().status is REFUTED
    assert A._prove_dot_statistics(max_d=2).status is REFUTED


def test_scale_proof_names_the_typo():
    detail = A._prove_scale().detail
    assert "d^2" in detail and "s = sqrt(d)" in detail and "s = d" in detail


def test_linear_attention_with_a_wrong_normalizer_is_not_kernel_attention(monkeypatch):
    i, l, j, c = A.i, A.l, A.j, A.c
    wrong = sp.Sum(A.phiQ[i, c] * sp.Sum(A.phiK[j, c] * A.V[j, l], (j, 1, A.N)), (c, 1, A.C)) / A.N
    monkeypatch.setattr(A, "LINEAR_OUTPUT", replaced(A.LINEAR_OUTPUT, A.Olin[i, l], wrong))
    assert A._prove_linear_equals_kernel().status is REFUTED


def test_feature_map_refutes_a_kernel_without_the_constant(monkeypatch):
    wrong = A._dot(A.Q, A.K) ** 2
    monkeypatch.setattr(A, "FEATURE_MAP", replaced(A.FEATURE_MAP, A.kphi[A.i, A.j], wrong))
    outcome = A._prove_feature_map(max_d=2)
    assert outcome.status is REFUTED and "d = 1" in outcome.detail


def test_argmin_refutes_the_worked_example(monkeypatch):
    i, j, jj = A.i, A.j, A.jj
    argmin = sp.Product(sp.Heaviside(A.Sdot[i, jj] - A.Sdot[i, j], 1), (jj, 1, A.N))
    monkeypatch.setattr(A, "ARGMAX", replaced(A.ARGMAX, A.Amax[i, j], argmin))
    outcome = A._prove_argmax_example()
    assert outcome.status is REFUTED and "[0, 0, 0, 1]" in outcome.detail


def test_softmax_without_normalization_is_not_kernel_attention(monkeypatch):
    monkeypatch.setattr(A, "SOFTMAX", replaced(A.SOFTMAX, A.A[A.i, A.j], sp.exp(A.S[A.i, A.j])))
    assert A._prove_softmax_is_kernel().status is REFUTED


# --------------------------------------------------------------------------- diffusion

DF = diffusion


def test_marginal_with_alpha_for_sqrt_alpha_is_refuted(monkeypatch):
    wrong = DF.abar_t * DF.z0 + sp.sqrt(1 - DF.abar_t) * DF.noise
    monkeypatch.setattr(DF, "MARGINAL", replaced(DF.MARGINAL, DF.zt, wrong))
    assert DF._prove_alpha(max_steps=2).status is REFUTED


def test_alpha_as_a_sum_is_refuted(monkeypatch):
    wrong = 1 - sp.Sum(DF.beta[DF.si], (DF.si, 1, DF.tt))
    monkeypatch.setattr(DF, "ALPHA", replaced(DF.ALPHA, DF.abar[DF.tt], wrong))
    assert DF._prove_alpha(max_steps=2).status is REFUTED


def test_inverted_gamma_is_refuted(monkeypatch):
    monkeypatch.setattr(DF, "GAMMA", replaced(DF.GAMMA, DF.gam, DF.abar_t / DF.abar_tau))
    assert DF._prove_gamma(max_tau=3).status is REFUTED


def test_pair_sampled_from_z0_is_not_the_forward_process(monkeypatch):
    """Drawing the second sample from z_0 (the mistake Q10(c) warns about) keeps both marginals
    but breaks the covariance."""
    jump = sp.sqrt(1 / (DF.eta2 + 1)) * DF.z0 + sp.sqrt(1 - 1 / (DF.eta2 + 1)) * DF.V2
    monkeypatch.setattr(DF, "TWO_TIME", replaced(DF.TWO_TIME, DF.z2, jump))
    outcome = DF._prove_two_time()
    assert outcome.status is REFUTED
    assert "Cov" in outcome.detail and "ztilde(eta_2)" not in outcome.detail.split("fails:")[1]


def test_erratum_evidence_shows_the_product_depends_on_the_middle_sample():
    assert "derivative" in DF._two_step_integral() and "z_tm1" in DF._two_step_integral()


# --------------------------------------------------------------------------- noise

NZ = noise


def test_expected_loss_with_sigma_for_sigma_squared_is_refuted(monkeypatch):
    i, j = NZ.i, NZ.j
    wrong = (sp.Sum((NZ.y[i] - NZ.mu * sp.Sum(NZ.X[i, j] * NZ.w[j], (j, 1, NZ.P))) ** 2, (i, 1, NZ.N))
             + NZ.sigma * sp.Sum(NZ.Gamma[j] ** 2 * NZ.w[j] ** 2, (j, 1, NZ.P)))
    monkeypatch.setattr(NZ, "EXPECTED_LOSS", replaced(NZ.EXPECTED_LOSS, NZ.Lexp, wrong))
    assert NZ._prove_expected_loss(((1, 1), (2, 2))).status is REFUTED
    assert NZ._prove_dropout_special_case().status is REFUTED


def test_gamma_without_the_root_is_refuted(monkeypatch):
    wrong = sp.Sum(NZ.X[NZ.i, NZ.j] ** 2, (NZ.i, 1, NZ.N))
    monkeypatch.setattr(NZ, "GAMMA", replaced(NZ.GAMMA, NZ.Gamma[NZ.j], wrong))
    assert NZ._prove_expected_loss(((2, 1),)).status is REFUTED


# --------------------------------------------------------------------------- weight decay

WD = weight_decay


def test_decay_scaled_by_the_learning_rate_moves_the_coincidence(monkeypatch):
    scaled = (1 - WD.alpha * WD.lam_r) * WD.theta - WD.alpha * WD.M * WD.grad
    monkeypatch.setattr(WD, "DECAY_UPDATE", replaced(WD.DECAY_UPDATE, WD.theta_next, scaled))
    assert WD._prove_coincide().status is REFUTED
    assert WD._prove_blank_d().status is REFUTED


def test_algorithm1_placements():
    detail = WD._prove_blank_d().detail
    assert "blank D: weight decay" in detail and "blank A: L2" in detail and "blank C: neither" in detail
    with pytest.raises(ValueError):
        WD.algorithm1_with_term("E")


# --------------------------------------------------------------------------- autoencoder

AE = autoencoder


def test_gradient_without_the_factor_is_refuted(monkeypatch):
    r, s, smp = AE.r, AE.s, AE.smp
    printed = 2 * sp.Sum((AE.X[r, smp] - AE.Xhat[r, smp]) * AE.Z[s, smp], (smp, 1, AE.n))
    monkeypatch.setattr(AE, "GRAD_DECODER", replaced(AE.GRAD_DECODER, AE.dW2[r, s], printed))
    outcome = AE._prove_gradients()
    assert outcome.status is REFUTED and "nabla_W2" in outcome.method


def test_gradient_proof_reports_the_printed_factor():
    assert "-n times" in AE._prove_gradients().detail


def test_pca_conditions_fail_for_a_wrong_encoder_gradient(monkeypatch):
    r, s, rr, smp = AE.r, AE.s, AE.rr, AE.smp
    wrong = -2 * sp.Sum(sp.Sum(AE.W2[rr, s] * AE.X[rr, smp], (rr, 1, AE.m)) * AE.X[r, smp], (smp, 1, AE.n)) / AE.n
    monkeypatch.setattr(AE, "GRAD_ENCODER", replaced(AE.GRAD_ENCODER, AE.dW1[s, r], wrong))
    assert AE._prove_principal_components().status is REFUTED


# --------------------------------------------------------------------------- LayerNorm scale laws

LS, EX = ln_scaling, layernorm_exam


def test_normalizer_without_sqrt_d_breaks_the_stack_identity(monkeypatch):
    i, j, d = EX.i, EX.j, EX.d
    wrong = EX.z[i, j] / sp.sqrt(sp.Sum(EX.z[i, EX.r] ** 2, (EX.r, 1, d)))
    monkeypatch.setattr(EX, "NORMALIZE", replaced(EX.NORMALIZE, EX.y[i, j], wrong))
    assert LS._prove_prenorm_forward(max_width=3).status is REFUTED


def test_normalizer_by_the_squared_norm_breaks_scale_invariance(monkeypatch):
    i, j, d = EX.i, EX.j, EX.d
    wrong = sp.sqrt(d) * EX.z[i, j] / sp.Sum(EX.z[i, EX.r] ** 2, (EX.r, 1, d))
    monkeypatch.setattr(EX, "NORMALIZE", replaced(EX.NORMALIZE, EX.y[i, j], wrong))
    assert LS._prove_normalize_law(max_width=2).status is REFUTED


def test_a_wrong_bound_is_refuted(monkeypatch):
    wrong = (2 * LS.nlayers + 1) / (2 * LS.lyr) * sp.sqrt(LS.d)
    monkeypatch.setattr(LS, "GRAD_BOUND", replaced(LS.GRAD_BOUND, LS.gbound, wrong))
    assert LS._prove_grad_bound(max_width=3).status is REFUTED


def test_lemma1_counterexample_is_reported():
    detail = LS._prove_lemma1().detail
    assert "||g^(x)|| = 30" in detail


# --------------------------------------------------------------------------- errata


NEW_FAMILIES = {"weight_decay", "noise", "ln_scaling", "diffusion", "attention", "autoencoder", "counting"}


def test_errata_name_a_family_and_a_proof():
    claim_ids = {claim.id for claim in CLAIMS}
    families = {spec_id.split(".")[0] for spec_id in CATALOGUE}
    new = [entry for entry in ERRATA if entry["id"].split(".")[0] in NEW_FAMILIES]
    assert len(new) >= 7
    for entry in new:
        assert set(entry) == {"id", "specs", "document", "location", "says", "resolution"}
        assert entry["id"].split(".")[0] in families
        assert "EECS 182" in entry["document"] and ".txt" not in entry["document"]
        cited = [claim for claim in claim_ids if claim in entry["resolution"]]
        assert cited, f"{entry['id']} cites no proof"


def test_the_known_typo_is_listed():
    (entry,) = [e for e in ERRATA if e["id"] == "attention.q3c_variance"]
    assert "d^2" in entry["says"] and "Q3(c)" in entry["location"]
