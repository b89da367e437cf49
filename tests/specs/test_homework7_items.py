"""EECS 182 Homework 7 items of issue 15: each new claim is proved, fails on a broken spec, and
each new erratum's evidence is the computed value against the printed one.

The mutations replace one spec (a frozen dataclass) in the module its proof reads it from.
"""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from eqconform.specs import (
    CLAIMS,
    ERRATA,
    GENERAL,
    ProofStatus,
    Spec,
    attention,
    autoencoder,
    grad_accumulation,
    layernorm,
)

PROVED, REFUTED = ProofStatus.PROVED, ProofStatus.REFUTED
A, AE, GA = attention, autoencoder, grad_accumulation

NEW_CLAIMS = {
    "attention.dot_variance_general.exact",
    "attention.product_variance.exact",
    "attention.argmax.no_query_gradient",
    "attention.quadratic_normalizer",
    "attention.layer_shapes",
    "attention.complexity",
    "autoencoder.frobenius_identities",
    "autoencoder.eq4",
    "autoencoder.gram_decoder.scale",
    "autoencoder.optimum_invariance",
    "autoencoder.sgd_weight_decay",
    "autoencoder.pca_optimum",
    "autoencoder.optimal_product.range_only",
    "autoencoder.balanced_penalty",
    "autoencoder.regularized_optimum",
    "grad_accumulation.layernorm_per_sample",
    "grad_accumulation.batchnorm_batch_dependent",
    "grad_accumulation.accumulated_mean_gradient",
    "grad_accumulation.zero_grad",
}
#: The claims of Q2(b) and Q6 proved for every size (symbolic dimensions or induction).
GENERAL_CLAIMS = {
    "autoencoder.pca_optimum",
    "autoencoder.balanced_penalty",
    "autoencoder.regularized_optimum",
    "grad_accumulation.layernorm_per_sample",
    "grad_accumulation.accumulated_mean_gradient",
    "grad_accumulation.zero_grad",
}
NEW_ERRATA = {
    "attention.q5_residual_width",
    "attention.q5a_quadratic_kernel_positive",
    "attention.q5c_second_loop_cost",
    "attention.q5d_feature_memory",
    "autoencoder.q1b_gram_scale",
    "autoencoder.q1b_up_to_sign",
    "autoencoder.q2a_bias",
}


def replaced(spec: Spec, quantity: sp.Basic, expr: sp.Expr) -> Spec:
    """A copy of ``spec`` whose canonical relation for ``quantity`` is ``expr`` (must differ)."""
    relations = dict(spec.canonical.relations)
    assert quantity in relations, f"{spec.id} does not define {quantity}"
    assert sp.simplify(relations[quantity] - expr) != 0, "the mutation changes nothing"
    relations[quantity] = expr
    return dataclasses.replace(
        spec, variants=(dataclasses.replace(spec.canonical, relations=relations),)
    )


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.id in NEW_CLAIMS], ids=lambda c: c.id)
def test_new_claim_is_proved(claim):
    outcome = claim.prove()
    assert outcome.status is PROVED, f"{claim.id}: {outcome.detail}"


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.id in GENERAL_CLAIMS], ids=lambda c: c.id)
def test_q2b_and_q6_claims_hold_in_general(claim):
    assert claim.prove().scope == GENERAL


def test_every_new_claim_and_erratum_is_listed():
    assert NEW_CLAIMS <= {claim.id for claim in CLAIMS}
    errata = {entry["id"]: entry for entry in ERRATA}
    assert NEW_ERRATA <= set(errata)
    for erratum_id in NEW_ERRATA:
        assert any(claim in errata[erratum_id]["resolution"] for claim in NEW_CLAIMS), erratum_id


# --------------------------------------------------------------------------- Q3(b)


def test_general_covariance_without_the_trace_term_is_refuted(monkeypatch):
    t, u = A.t, A.u
    wrong = sp.Sum(A.mu[t] * A.Sq[t, u] * A.mu[u], (u, 1, A.D), (t, 1, A.D)) + sp.Sum(
        A.mu[t] * A.Sk[t, u] * A.mu[u], (u, 1, A.D), (t, 1, A.D)
    )
    monkeypatch.setattr(A, "DOT_VARIANCE_GENERAL", replaced(A.DOT_VARIANCE_GENERAL, A.Vgen, wrong))
    outcome = A._prove_dot_variance_general(max_d=1)
    assert outcome.status is REFUTED and "d = 1" in outcome.detail


def test_product_variance_without_the_cross_term_is_refuted(monkeypatch):
    wrong = A.Ea**2 * A.Vb + A.Eb**2 * A.Va
    monkeypatch.setattr(A, "PRODUCT_VARIANCE", replaced(A.PRODUCT_VARIANCE, A.Vprod, wrong))
    assert A._prove_product_variance().status is REFUTED


# --------------------------------------------------------------------------- Q4(b)


def test_softmax_weights_pass_a_query_gradient(monkeypatch):
    i, j, jj = A.i, A.j, A.jj
    soft = sp.exp(A.Sdot[i, j]) / sp.Sum(sp.exp(A.Sdot[i, jj]), (jj, 1, A.N))
    monkeypatch.setattr(A, "ARGMAX", replaced(A.ARGMAX, A.Amax[i, j], soft))
    outcome = A._prove_argmax_gradient()
    assert outcome.status is REFUTED and "query or key" in outcome.method


# --------------------------------------------------------------------------- Q5


def test_a_strictly_positive_kernel_is_not_the_quadratic_normalizer_claim(monkeypatch):
    shifted = A._dot(A.Q, A.K) ** 2 + 1
    monkeypatch.setattr(
        A, "QUADRATIC_KERNEL", replaced(A.QUADRATIC_KERNEL, A.sim[A.i, A.j], shifted)
    )
    assert A._prove_quadratic_normalizer().status is REFUTED


def test_quadratic_kernel_zero_denominator_evidence():
    """Erratum attention.q5a_quadratic_kernel_positive: the denominator of eq. (9) is 0."""
    detail = A._prove_quadratic_normalizer().detail
    assert "real zeros [-1]" in detail and "it is 0" in detail


def test_projection_reading_another_position_is_refuted(monkeypatch):
    i, t, e = A.i, A.t, A.e
    relations = dict(A.PROJECTIONS.canonical.relations)
    relations[A.Q[i, t]] = sp.Sum((A.x[i, e] + A.x[2, e]) * A.WQ[e, t], (e, 1, A.F))
    broken = dataclasses.replace(
        A.PROJECTIONS, variants=(dataclasses.replace(A.PROJECTIONS.canonical, relations=relations),)
    )
    monkeypatch.setattr(A, "PROJECTIONS", broken)
    outcome = A._prove_layer_shapes()
    assert outcome.status is REFUTED and "Q" in outcome.detail


def test_residual_without_x_is_refuted(monkeypatch):
    monkeypatch.setattr(
        A, "LAYER_RESIDUAL", replaced(A.LAYER_RESIDUAL, A.Hres[A.i, A.l], A.O[A.i, A.l])
    )
    assert A._prove_layer_shapes().status is REFUTED


def test_residual_width_evidence():
    """Erratum attention.q5_residual_width: A_l(x) is N x M, x is N x F."""
    assert A.residual_widths(2, 3) == ((2, 3), (2, 2))
    assert A.residual_widths(2, 2) == ((2, 2), (2, 2))


def test_complexity_counts_the_stated_computations():
    computed = A._complexities()
    N, D, M = A.N, A.D, A.M
    assert computed["feature_size"] == sp.factor((D + 1) * (D + 2) / 2)
    assert A.same_order(computed["softmax_time"], A.PRINTED_COMPLEXITY["softmax_time"], (N, D, M))
    assert A.same_order(computed["linear_time"], A.PRINTED_COMPLEXITY["linear_time"], (N, D))


def test_second_loop_cost_evidence():
    """Erratum attention.q5c_second_loop_cost: Theta(N^2), not N^2 D."""
    N, D, M = A.N, A.D, A.M
    second = A._complexities()["softmax_loops"][1]
    assert second == 5 * N**2 - N
    printed = A.PRINTED_COMPLEXITY["softmax_loops"][1]
    assert A.bounded_by(second, printed, (N, D, M)) and not A.bounded_by(printed, second, (N, D, M))
    assert A.unbounded_witness(printed, second, (N, D, M)) is not None


def test_feature_memory_evidence():
    """Erratum attention.q5d_feature_memory: with phi(Q), phi(K) stored the memory is
    Theta(N D^2 + D^3), unbounded against the printed N D + D^3 (along N = D^2); recomputed, it
    matches."""
    N, D = A.N, A.D
    printed = A.PRINTED_COMPLEXITY["linear_space"]
    stored = A._complexities()["linear_space"]
    assert sp.Poly(stored, N, D).coeff_monomial(N * D**2) == 1
    witness = A.unbounded_witness(stored, printed, (N, D))
    assert witness is not None and witness[N] == witness[D] ** 2
    assert A.same_order(A._complexities(store_features=False)["linear_space"], printed, (N, D))


def test_cheaper_output_loop_refutes_the_complexity(monkeypatch):
    i, col = A.i, A.l
    monkeypatch.setattr(A, "OUTPUT", replaced(A.OUTPUT, A.O[i, col], A.A[i, 1] * A.V[1, col]))
    assert A._prove_complexity().status is REFUTED


# --------------------------------------------------------------------------- autoencoder


def test_frobenius_gradient_without_the_factor_two_is_refuted(monkeypatch):
    s, r, rr, smp = AE.s, AE.r, AE.rr, AE.smp
    wrong = sp.Sum(
        sp.Sum(AE.Wf[s, rr] * AE.Af[rr, smp], (rr, 1, AE.d)) * AE.Af[r, smp], (smp, 1, AE.n)
    )
    monkeypatch.setattr(AE, "FROBENIUS", replaced(AE.FROBENIUS, AE.dfro[s, r], wrong))
    assert AE._prove_frobenius().status is REFUTED


def test_eq4_without_the_identity_is_refuted(monkeypatch):
    r, s, rr, ss, r2, smp = AE.r, AE.s, AE.rr, AE.ss, AE.r2, AE.smp
    wrong = sp.Sum(
        -sp.Sum(AE.W2[r, ss] * AE.W1[ss, rr], (ss, 1, AE.k))
        * sp.Sum(
            AE.X[rr, smp] * sp.Sum(AE.X[r2, smp] * AE.W1[s, r2], (r2, 1, AE.m)), (smp, 1, AE.n)
        ),
        (rr, 1, AE.m),
    )
    monkeypatch.setattr(AE, "EQ4", replaced(AE.EQ4, AE.E4r[r, s], wrong))
    assert AE._prove_eq4().status is REFUTED


def test_gram_decoder_scale_evidence():
    """Erratum autoencoder.q1b_gram_scale: X X^T U_k over the printed U Sigma^2 [I; 0] is n."""
    assert "ratio is n " in AE._prove_gram_decoder().detail


def test_gram_with_one_factor_of_x_is_refuted(monkeypatch):
    r, s, smp = AE.r, AE.s, AE.smp
    wrong = sp.Sum(AE.X[r, smp] * AE.W2[r, s], (smp, 1, AE.n))
    monkeypatch.setattr(AE, "GRAM_DECODER", replaced(AE.GRAM_DECODER, AE.G[r, s], wrong))
    assert AE._prove_gram_decoder().status is not PROVED


def test_objective_reading_the_weights_breaks_the_invariance(monkeypatch):
    r, s = AE.r, AE.s
    wrong = AE.LOSS.canonical.expression("L") + sp.Sum(
        sp.Sum(AE.W2[r, s] ** 2, (r, 1, AE.m)), (s, 1, AE.k)
    )
    monkeypatch.setattr(AE, "LOSS", replaced(AE.LOSS, AE.L, wrong))
    assert AE._prove_optimum_invariance().status is REFUTED


def test_up_to_sign_evidence():
    """Erratum autoencoder.q1b_up_to_sign: a scaling c (not a sign) and a rotation keep the
    optimum."""
    c = sp.Symbol("c", positive=True)
    first, second = sp.symbols("s_1 s_2", positive=True)
    data = [[first, 0], [0, second]]
    scaled = AE.forward(data, [[1 / c, 0]], [[c], [0]])
    plain = AE.forward(data, [[1, 0]], [[1], [0]])
    assert sp.simplify(scaled["L"] - plain["L"]) == 0
    assert all(sp.simplify(v) == 0 for name in ("dW1", "dW2") for row in scaled[name] for v in row)
    at_top, rotated, stationary = AE._tied_rotation_objectives()
    assert at_top == rotated and stationary


def test_decay_on_one_layer_cannot_match_the_sgd_objective(monkeypatch):
    r, s = AE.r, AE.s
    wrong = AE.L + AE.lam * sp.Sum(sp.Sum(AE.W1[s, r] ** 2, (r, 1, AE.m)), (s, 1, AE.k))
    monkeypatch.setattr(AE, "REG_LOSS", replaced(AE.REG_LOSS, AE.Lreg, wrong))
    assert AE._prove_sgd_weight_decay().status is REFUTED


def test_weight_decay_and_bias_evidence():
    """Erratum autoencoder.q2a_bias: 2 k m parameters in (6), 2 k m + k + m with biases; the
    mean reduction implies weight decay 2 lambda / m."""
    outcome = AE._prove_sgd_weight_decay()
    assert outcome.scope == GENERAL
    assert "weight_decay = 2*lam/m" in outcome.detail
    assert "2*k*m parameters" in outcome.detail and "2*k*m + k + m" in outcome.detail


# --------------------------------------------------------------------------- Q2(b)


def test_pca_optimum_value_and_the_kept_variance(monkeypatch):
    detail = AE._prove_pca_optimum().detail
    assert "both gradients are 0" in detail and "W_2 W_1 U_k = U_k" in detail
    kept = sp.Sum(AE.sig2[AE.s], (AE.s, 1, AE.k))  # the kept eigenvalues, not the discarded
    monkeypatch.setattr(AE, "PCA_OPTIMUM", replaced(AE.PCA_OPTIMUM, AE.Lpca, kept))
    assert AE._prove_pca_optimum().status is REFUTED


def test_pca_optimum_reads_the_gradient_specs(monkeypatch):
    r, s, smp = AE.r, AE.s, AE.smp
    wrong = -2 * sp.Sum(AE.X[r, smp] * AE.Z[s, smp], (smp, 1, AE.n)) / AE.n  # no reconstruction
    monkeypatch.setattr(AE, "GRAD_DECODER", replaced(AE.GRAD_DECODER, AE.dW2[r, s], wrong))
    outcome = AE._prove_pca_optimum()
    assert outcome.status is REFUTED and "nabla_W2 L" in outcome.detail


def test_oblique_optimum_evidence(monkeypatch):
    """With rank X < m an oblique W_2 W_1 is as good as U_k U_k^T (a witness at m = 3, k = 1)."""
    outcome = AE._prove_range_only()
    assert outcome.scope == "(m, k, n) in {(3, 1, 3)}"
    assert "larger by s_3**2/3" in outcome.detail and "idempotent, not symmetric" in outcome.detail
    everything = sp.Sum(AE.sig2[AE.r], (AE.r, 1, AE.m))
    monkeypatch.setattr(AE, "PCA_OPTIMUM", replaced(AE.PCA_OPTIMUM, AE.Lpca, everything))
    assert AE._prove_range_only().status is REFUTED


def test_penalty_on_one_layer_is_not_balanced(monkeypatch):
    r, s = AE.r, AE.s
    encoder_only = AE.L + AE.lam * sp.Sum(sp.Sum(AE.W1[s, r] ** 2, (r, 1, AE.m)), (s, 1, AE.k))
    monkeypatch.setattr(AE, "REG_LOSS", replaced(AE.REG_LOSS, AE.Lreg, encoder_only))
    outcome = AE._prove_balanced_penalty()
    assert outcome.status is REFUTED and "penalty - autoencoder.balanced_penalty" in outcome.detail


def test_balanced_penalty_with_unsquared_inverse_is_refuted(monkeypatch):
    s = AE.s
    wrong = sp.Sum(AE.sv[s] ** 2 + 1 / AE.sv[s], (s, 1, AE.k))
    monkeypatch.setattr(AE, "BALANCED_PENALTY", replaced(AE.BALANCED_PENALTY, AE.pen, wrong))
    assert AE._prove_balanced_penalty().status is REFUTED


def test_balanced_penalty_steps():
    detail = AE._prove_balanced_penalty().detail
    assert "W_1 W_2 = I_k and W_2 W_1 = U_k U_k^T" in detail
    assert "2k + sum_i (s_i^2 - 1)^2 / s_i^2" in detail and "W_2^T W_2 = I" in detail


def test_regularized_optimum_with_twice_the_shrinkage_is_refuted(monkeypatch):
    r, s = AE.r, AE.s
    relations = dict(AE.REGULARIZED_OPTIMUM.canonical.relations)
    twice = AE.Usvd[r, s] * sp.sqrt(1 - 2 * AE.lam / AE.sig2[s])
    relations[AE.W2opt[r, s]] = relations[AE.W1opt[s, r]] = twice
    broken = dataclasses.replace(
        AE.REGULARIZED_OPTIMUM,
        variants=(dataclasses.replace(AE.REGULARIZED_OPTIMUM.canonical, relations=relations),),
    )
    monkeypatch.setattr(AE, "REGULARIZED_OPTIMUM", broken)
    assert AE._prove_regularized_optimum().status is REFUTED


def test_untied_regularized_point_is_refuted(monkeypatch):
    r, s = AE.r, AE.s
    spec = replaced(AE.REGULARIZED_OPTIMUM, AE.W1opt[s, r], AE.Usvd[r, s])
    monkeypatch.setattr(AE, "REGULARIZED_OPTIMUM", spec)
    assert AE._prove_regularized_optimum().status is REFUTED


# --------------------------------------------------------------------------- Q6(b), Q6(c)

LN = layernorm


def test_a_batch_mean_in_layernorm_is_not_per_sample(monkeypatch):
    row = sp.Symbol("ii", integer=True, positive=True)
    batch_mean = sp.Sum(LN.Z[row, LN.j], (row, 1, LN.N), (LN.j, 1, LN.C)) / (LN.N * LN.C)
    monkeypatch.setattr(LN, "MEAN", replaced(LN.MEAN, LN.mu[LN.i], batch_mean))
    outcome = GA._prove_layernorm_per_sample()
    assert outcome.status is REFUTED and "reads the batch size N" in outcome.detail


def test_batchnorm_evidence(monkeypatch):
    """A micro-batch of one row normalizes to 0; the batch of two rows does not."""
    outcome = GA._prove_batchnorm_batch_dependent()
    assert outcome.scope == "(N, B, C) in {(2, 1, 1)}"
    assert (
        "(z_1 - z_2)/sqrt(4*eps + (z_1 - z_2)**2)" in outcome.detail
        and "and 0 alone" in outcome.detail
    )
    per_sample = GA.Z[GA.i, GA.j]  # a normalization that ignores the batch
    monkeypatch.setattr(GA, "BATCHNORM", replaced(GA.BATCHNORM, GA.Zbn[GA.i, GA.j], per_sample))
    assert GA._prove_batchnorm_batch_dependent().status is REFUTED


@pytest.mark.parametrize("drop", ["S", "B"])
def test_accumulation_without_the_scaling_is_refuted(monkeypatch, drop):
    """Without loss / accumulation_steps the buffer is S times the mean gradient; with a summed
    (not averaged) micro-batch loss it is B times it."""
    b, c = GA.b, GA.c
    inner = sp.Sum(GA.ell(GA.theta, GA.xm[b, c]), (c, 1, GA.B))
    wrong = (
        sp.Sum(inner / GA.B, (b, 1, GA.S)) if drop == "S" else sp.Sum(inner, (b, 1, GA.S)) / GA.S
    )
    monkeypatch.setattr(GA, "MICRO_BATCHES", replaced(GA.MICRO_BATCHES, GA.Lacc, wrong))
    assert GA._prove_accumulated_mean_gradient().status is REFUTED


def test_accumulation_step_adds_one_block():
    detail = GA._prove_accumulated_mean_gradient().detail
    assert "S = 1: the two differ by 0" in detail and "(difference 0)" in detail


def test_zero_grad_evidence():
    detail = GA._prove_zero_grad().detail
    assert "by g[1] at t = 2" in detail and "applied t - u + 1 times" in detail


def test_a_printed_loop_that_resets_the_buffer_is_refuted(monkeypatch):
    """If the printed loop emptied the buffer too, the induction for g_1 + ... + g_t fails."""
    t = GA.t
    variants = []
    for variant in GA.SGD_LOOP.variants:
        if variant.id == "zero-grad-once":
            relations = {**variant.relations, GA.buf[t]: GA.g[t]}
            variant = dataclasses.replace(variant, relations=relations)
        variants.append(variant)
    monkeypatch.setattr(GA, "SGD_LOOP", dataclasses.replace(GA.SGD_LOOP, variants=tuple(variants)))
    outcome = GA._prove_zero_grad()
    assert outcome.status is REFUTED and "zero-grad-once buf" in outcome.detail
