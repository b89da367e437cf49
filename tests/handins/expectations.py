"""What the checker must report for each test handin in this folder.

``EXPECTED[folder]`` has six keys:

* ``fails``    -- spec ids whose check must FAIL (a real deviation from the equation);
* ``errors``   -- spec ids that must be reported as ERRORED (the handin could not be run);
* ``skips``    -- spec ids that must be SKIPPED (the component is absent from the handin);
* ``variants`` -- for every variant-bearing spec that must pass, the documented variant the
  checker must identify; for a failing spec that matches a known deviation, that deviation's
  name (only ``bug_adam_no_bias_correction``: ``adam.bias_correction`` -> ``"uncorrected"``);
* ``explains`` -- for each spec in ``fails``, words its best explanation must contain: the
  formula the code computes (or the known deviation's name);
* ``why``      -- one sentence describing the handin.

Every spec id not listed in ``fails``/``errors``/``skips`` must pass. Every ``bug_*`` folder is
a complete copy of ``correct_spring`` with exactly one planted bug.
"""

ADAM = {"adam.first_moment", "adam.second_moment", "adam.bias_correction", "adam.update"}
ADAMW = {"adamw.decoupled_decay"}
LAYERNORM = {
    "layernorm.mean",
    "layernorm.variance",
    "layernorm.normalize",
    "layernorm.affine",
    "layernorm.grad_gamma",
    "layernorm.grad_beta",
    "layernorm.grad_normalized",
    "layernorm.grad_input",
}
DROPOUT = {"dropout.mask", "dropout.scaling", "dropout.eval", "dropout.backward"}
ALL_SPECS = ADAM | ADAMW | LAYERNORM | DROPOUT

SPRING_VARIANTS = {
    "adam.update": "eps-outside-sqrt",
    "adamw.decoupled_decay": "decay-scaled-by-lr",
    "dropout.mask": "p-is-drop-probability",
}
FALL_VARIANTS = {
    "adam.update": "eps-inside-sqrt",
    "adamw.decoupled_decay": "decay-unscaled",
    "dropout.mask": "p-is-keep-probability",
}


def _bug(explains, why, **extra_variants):
    fails = set(explains)
    variants = {k: v for k, v in SPRING_VARIANTS.items() if k not in fails}
    variants.update({k.replace("__", "."): v for k, v in extra_variants.items()})
    return {
        "fails": fails,
        "errors": set(),
        "skips": set(),
        "variants": variants,
        "explains": dict(explains),
        "why": why,
    }


EXPECTED: dict[str, dict] = {
    "correct_spring": {
        "fails": set(),
        "errors": set(),
        "skips": set(),
        "variants": dict(SPRING_VARIANTS),
        "why": "Correct Spring 2026 handin (adam/adamW/LayerNorm, nn/dropout.py): eps outside the "
        "sqrt, decay scaled by lr, p is the drop probability, two-pass variance.",
    },
    "correct_fall": {
        "fails": set(),
        "errors": set(),
        "skips": set(),
        "variants": dict(FALL_VARIANTS),
        "why": "Independent correct handin (Adam/AdamW/LayerNorm1d, nn/modules/dropout.py) using "
        "the documented alternatives: eps inside the sqrt (also in AdamW), decay not scaled by "
        "lr, p is the keep probability, LayerNorm backward via dL/dvar and dL/dmu.",
    },
    "bug_adam_swapped_beta1": _bug(
        {"adam.first_moment": "1 - beta1 for beta1"},
        "First moment uses m = (1-b1) m + b1 g (beta1 and 1-beta1 swapped).",
    ),
    "bug_adam_v_not_squared": _bug(
        {"adam.second_moment": "|g| instead of its square"},
        "Second moment accumulates |g| instead of g**2.",
    ),
    "bug_adam_no_bias_correction": _bug(
        {"adam.bias_correction": "the known deviation uncorrected"},
        "Update uses m_t and v_t directly, skipping the 1/(1-beta^t) bias correction.",
        adam__bias_correction="uncorrected",
    ),
    "bug_adam_t_per_layer": _bug(
        {"adam.bias_correction": "t advanced once per layer"},
        "self.t is incremented inside the per-layer loop, so with 2+ layers each layer's bias "
        "correction uses the wrong t (identical to correct with one layer).",
    ),
    "bug_adamw_decay_added": _bug(
        {"adamw.decoupled_decay": "with the sign of -alpha*lam*theta_prev flipped"},
        "The decay term is added (W_t + W_{t-1}*lr*wd): on one step as near to L2-coupled decay as that "
        "deviation is, but neither.",
    ),
    "bug_adamw_decays_updated_weights": _bug(
        {"adamw.decoupled_decay": "the known deviation decay-of-updated-weights"},
        "Weight decay is applied to the already Adam-updated weights (W_t - W_t*lr*wd) instead "
        "of W_{t-1}.",
    ),
    "bug_layernorm_unbiased_variance": _bug(
        {"layernorm.variance": "the known deviation unbiased"},
        "Per-sample variance uses np.var(..., ddof=1) (divides by C-1 instead of C).",
    ),
    "bug_layernorm_eps_outside_sqrt": _bug(
        {"layernorm.normalize": "the known deviation eps-outside-sqrt"},
        "Normalization divides by sqrt(V) + eps instead of sqrt(V + eps).",
    ),
    "bug_layernorm_square_transpose": _bug(
        {"layernorm.grad_beta": "laid out transposed (where C = N"},
        "Backward transposes dLdLNZ before summing for dLdbeta whenever its first dimension "
        "equals num_features, so dLdbeta is wrong only when N == C.",
    ),
    "bug_layernorm_grad_missing_term": _bug(
        {"layernorm.grad_input": "without the term -Zhat*ReduceAxis(Zhat*dLdZhat, 1, C)"},
        "dLdZ omits the last term of eq. (7), -NZ * sum_k(dLdNZ * NZ).",
    ),
    "bug_layernorm_dgamma_no_sum": _bug(
        {"layernorm.grad_gamma": "Z in place of Zhat"},
        "dLdgamma sums dLdLNZ * Z (raw input) instead of dLdLNZ * NZ; shape stays (1, C).",
    ),
    "bug_dropout_reused_mask": _bug(
        {"dropout.mask": "one draw reused"},
        "The mask is drawn on the first training forward and reused on every later call.",
    ),
    "bug_dropout_no_rescale": _bug(
        {"dropout.scaling": "without the factor 1/q"},
        "Training output is x * mask without the 1/(1-p) rescaling (backward still rescales).",
    ),
    "bug_dropout_scales_in_eval": _bug(
        {"dropout.eval": "x times q"},
        "With train=False the output is x * (1-p) instead of x (double compensation).",
    ),
    "bug_dropout_backward_divides_by_p": _bug(
        {"dropout.backward": "the known deviation dropout.mask as p-is-keep-probability"},
        "backward divides by p where forward divides by 1 - p: each pass alone fits one reading of p, "
        "the two together fit none.",
    ),
    "bug_dropout_backward_new_mask": _bug(
        {"dropout.backward": "another mask"},
        "backward draws a fresh binomial mask instead of reusing the forward's mask.",
    ),
    "broken_import": {
        "fails": set(),
        "errors": set(ADAM),
        "skips": ADAMW | LAYERNORM | DROPOUT,
        "variants": {},
        "why": "optim/adam.py raises ModuleNotFoundError at import (import numpyy); adamW, "
        "LayerNorm and Dropout files are absent.",
    },
    "partial": {
        "fails": set(),
        "errors": set(),
        "skips": ADAM | ADAMW | DROPOUT,
        "variants": {},
        "why": "Only a correct Spring 2026 LayerNorm (mytorch/nn/layernorm.py); every other "
        "component is absent.",
    },
}
