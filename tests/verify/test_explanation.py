"""What a failing target computes instead: formulas next to the spec's, matched on evidence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sympy as sp

from eqconform.specs import select_specs
from eqconform.specs.defaults import DEFAULTS
from eqconform.verify import engine
from eqconform.verify.compiler import ReduceAxis
from eqconform.verify.explanation import _Context, mutations
from eqconform.verify.results import ExplanationSummary, Outcome, Report
from eqconform.verify.search import SearchSettings
from eqconform.verify.targets import resolve_target

HANDINS = Path(__file__).parent.parent / "handins"
OPTIONS = SearchSettings(max_examples=20, seed=0)


def _results(handin: str, pattern: str) -> dict[str, object]:
    target = resolve_target(f"mytorch:{HANDINS / handin}")
    return {r.spec: r for r in engine.run(select_specs([pattern]), [target], OPTIONS)}


@pytest.mark.parametrize(("handin", "pattern", "spec", "operators", "computes"), [
    ("bug_adam_swapped_beta1", "adam", "adam.first_moment", ("complement",), "1 - beta1 for beta1"),
    ("bug_adam_v_not_squared", "adam", "adam.second_moment", ("abs-for-square",), "|g| instead of its square"),
    ("bug_layernorm_grad_missing_term", "layernorm", "layernorm.grad_normalized", ("drop-term",),
     "without the term -Zhat*ReduceAxis(Zhat*dLdZhat, 1, C)"),
    ("bug_layernorm_dgamma_no_sum", "layernorm", "layernorm.grad_gamma", ("swap",), "Z in place of Zhat"),
    ("bug_dropout_no_rescale", "dropout", "dropout.scaling", ("drop-factor",), "without the factor 1/q"),
    # Named 'l2-coupled' on its one-step counterexample until the separating case took it away.
    ("bug_adamw_decay_added", "adamw", "adamw.decoupled_decay", ("negate-term",), "sign of -alpha*lam*theta_prev flipped"),
    ("bug_dropout_scales_in_eval", "dropout", "dropout.eval", ("extra-factor",), "x times q"),
    # Both bias corrections read t as a per-layer counter has it: one change, in two equations.
    ("bug_adam_t_per_layer", "adam", "adam.update", ("recount",), "t advanced once per layer"),
    # The joint finding's other member says what the lead says.
    ("bug_adam_t_per_layer", "adam", "adam.bias_correction", ("recount",), "in mhat and vhat"),
    ("bug_layernorm_grad_missing_term", "layernorm", "layernorm.grad_input", ("drop-term",),
     "without the term -Zhat*ReduceAxis(Zhat*dLdZhat, 1, C)"),
    # Row sums laid out as a row: only when N = C, where the code transposes.
    ("bug_layernorm_square_transpose", "layernorm", "layernorm.grad_beta", ("other-axis", "transposed"),
     "laid out transposed (where C = N; the equation's own formula elsewhere)"),
    # A fresh mask in backward: the answers are delta/q or 0, but not where the forward kept.
    ("bug_dropout_backward_new_mask", "dropout", "dropout.backward", ("redrawn",),
     "another mask (each entry one of 0, 1, read off the answers)"),
])
def test_a_planted_bug_is_explained_with_the_formula_the_code_computes(
    handin: str, pattern: str, spec: str, operators: tuple[str, ...], computes: str
) -> None:
    result = _results(handin, pattern)[spec]
    assert result.outcome is Outcome.FAIL
    assert result.explanations, result.message
    best = result.explanations[0]
    assert best.operators == operators, best
    assert computes in best.description
    assert best.examples_matched >= 2  # the counterexample and other cases, not one input
    assert f"It computes {best.description}." in result.message
    quantities = best.quantity.split(", ")
    assert best.latex.startswith(sp.latex(sp.Symbol(quantities[0])) + " = ")
    assert all(sp.srepr(sp.Symbol(q)) not in best.srepr for q in quantities)  # never the answer itself
    assert best.mathml.count("<mo>=</mo>") == len(quantities)


def test_a_mask_reused_across_calls_is_explained_by_the_statistical_check() -> None:
    result = _results("bug_dropout_reused_mask", "dropout.mask")["dropout.mask"]
    assert result.outcome is Outcome.FAIL and result.statistics
    (best,) = result.explanations
    assert best.operators == ("reused-draw",) and best.quantity == "mask_2"
    assert best.examples_matched == 2  # both probabilities sampled, each its own layer
    assert f"It computes {best.description}." in result.message
    # A fresh mask per call has no such explanation (nor any failure).
    correct = _results("correct_spring", "dropout.mask")["dropout.mask"]
    assert correct.outcome is Outcome.PASS and not correct.explanations


def test_correct_code_and_documented_variants_are_never_explained() -> None:
    for handin in ("correct_spring", "correct_fall"):
        for result in _results(handin, "adam*").values():
            assert result.outcome is Outcome.PASS and not result.explanations, (handin, result.spec)
    # A known deviation is named and explained by its own formula, nor said to match no formula.
    named = _results("bug_adam_no_bias_correction", "adam")["adam.bias_correction"]
    assert named.variant == "uncorrected" and "No formula within two changes" not in named.message
    (formula,) = named.explanations
    assert formula.operators == ("known-deviation",) and "uncorrected" in formula.description
    assert "beta" not in formula.srepr  # no bias correction left in theta's formula
    variance = _results("bug_layernorm_unbiased_variance", "layernorm.variance")["layernorm.variance"]
    assert variance.variant == "unbiased" and "No formula within two changes" not in variance.message
    (formula,) = variance.explanations
    assert formula.operators == ("known-deviation",) and "/(C - 1)" in formula.description


def test_when_nothing_near_matches_it_says_so(tmp_path: Path) -> None:
    # A cube root of m is no formula two changes away from Adam's: no guess.
    handin = tmp_path / "cube_root"
    shutil.copytree(HANDINS / "correct_spring", handin)
    adam = handin / "mytorch" / "optim" / "adam.py"
    source = adam.read_text()
    assert source.count("self.m_W[layer_id] / (1") == 1
    adam.write_text(source.replace("self.m_W[layer_id] / (1", "np.cbrt(self.m_W[layer_id]) / (1"))
    target = resolve_target(f"mytorch:{handin}")
    results = engine.run(select_specs(["adam"]), [target], OPTIONS)
    failing = [r for r in results if r.outcome is Outcome.FAIL]
    assert failing and all(not r.explanations for r in failing)
    lead = next(r for r in failing if not r.message.startswith("Joint finding, reported at"))
    assert "No formula within two changes of the equation" in lead.message


def test_mutations_follow_the_operators_and_never_repeat_a_formula() -> None:
    g, m, v, beta1 = sp.Symbol("g", real=True), sp.Symbol("m", real=True), sp.Symbol("v", nonnegative=True), \
        sp.Symbol("beta1", positive=True)
    context = _Context(kin={g: (m,), m: (g,), v: ()}, scalars=(beta1,), unit_interval=frozenset({beta1}),
                       sizes={0: sp.Symbol("N"), 1: sp.Symbol("C")}, domains={})
    expr = beta1 * m + (1 - beta1) * g**2 / sp.sqrt(v)
    found = list(mutations({"y": expr}, context))
    single = {c.expr: c.operators for c in found if len(c.operators) == 1}
    assert single[(1 - beta1) * g**2 / sp.sqrt(v)] == ("drop-term",)
    assert single[beta1 * m + (1 - beta1) * g**2 / v] == ("no-root",)
    assert single[beta1 * m + (1 - beta1) * sp.Abs(g) / sp.sqrt(v)] == ("abs-for-square",)
    assert single[(1 - beta1) * m + beta1 * g**2 / sp.sqrt(v)] == ("complement",)
    assert single[beta1 * g + (1 - beta1) * g**2 / sp.sqrt(v)] == ("swap",)
    assert any(len(c.operators) == 2 for c in found)
    assert len({(c.quantity, c.expr) for c in found}) == len(found)
    assert expr not in {c.expr for c in found}
    eps = sp.Symbol("eps", positive=True)
    fixed = _Context(kin={g: ()}, scalars=(eps,), unit_interval=frozenset(), sizes={}, domains={},
                     defaults={eps: DEFAULTS["adam"]["eps"]})
    hard_coded = {c.expr: c.operators for c in mutations({"y": g / eps}, fixed, depth=1)}
    assert hard_coded[g / sp.Float(1e-8)] == ("constant",)
    N, C = sp.Symbol("N"), sp.Symbol("C")
    reduced = {c.expr: c.operators for c in mutations({"s": ReduceAxis(g, 0, N)}, context, depth=1)}
    assert reduced[ReduceAxis(g, 1, C)] == ("other-axis",)
    assert reduced[ReduceAxis(g, 0, N) / N] == ("mean-for-sum",)
    # N for C changes what is divided by, never the length a sum runs over.
    sized = {c.expr: c.operators for c in mutations({"s": ReduceAxis(g, 1, C) / C}, context, depth=1)}
    assert sized[ReduceAxis(g, 1, C) / N] == ("swap",)
    assert all(isinstance(e, sp.Expr) and ReduceAxis(g, 1, N) not in sp.preorder_traversal(e) for e in sized)
    # Several forms of one quantity (a spec's documented variants) are each mutated.
    both = list(mutations([("y", g / sp.sqrt(v)), ("y", g / (sp.sqrt(v) + beta1))], context, depth=1))
    assert {g / v, g / (v + beta1)} <= {c.expr for c in both}


def test_explanations_travel_in_the_json_report(tmp_path: Path) -> None:
    from eqconform.reports.build import build_report
    from eqconform.reports.render_html import render as render_html
    from eqconform.reports.render_markdown import render as render_markdown

    results = list(_results("bug_adam_v_not_squared", "adam.second_moment").values())
    report = build_report(select_specs(["adam.second_moment"]), [], results, [])
    data = json.loads(json.dumps(report.to_dict()))
    (entry,) = [r for r in data["results"] if r["spec"] == "adam.second_moment"]
    (explanation,) = entry["explanations"][:1]
    assert set(explanation) == {"quantity", "formula", "description", "operators", "examples_matched"}
    assert set(explanation["formula"]) == {"latex", "srepr"}
    assert explanation["operators"] == ["abs-for-square"]
    again = Report.from_dict(data)
    assert again.results[0].explanations == tuple(
        ExplanationSummary.from_dict(e) for e in entry["explanations"]
    )
    markdown = render_markdown(report)
    assert "What the code computes instead" in markdown
    assert explanation["formula"]["latex"] in markdown
    page = render_html(report)
    shown = page[page.index('<div class="explanation">'):]
    shown = shown[:shown.index("</div>")]
    # The formula as MathML, the part the operator put in (|g|) highlighted.
    assert '<mrow class="changed"' in shown and "<mo>|</mo><mi>g</mi><mo>|</mo>" in shown.replace("\n", "")
    assert "|g| instead of its square" in shown
    # Read back from JSON there is no MathML: the LaTeX is shown as text.
    assert explanation["formula"]["latex"].replace("\\", "\\") in render_html(again).replace("&#34;", '"')


def test_a_size_in_place_of_another_is_explained(tmp_path: Path) -> None:
    # The batch size N where eq. (1) divides by the feature count C: a size symbol swapped,
    # never the length the sum runs over.
    handin = tmp_path / "mean_over_n"
    shutil.copytree(HANDINS / "correct_spring", handin)
    layer = handin / "mytorch" / "nn" / "layernorm.py"
    source = layer.read_text()
    line = "self.M = np.sum(self.Z, axis=1, keepdims=True) / self.C"
    assert line in source
    layer.write_text(source.replace(line, line.replace("/ self.C", "/ self.N")))
    target = resolve_target(f"mytorch:{handin}")
    (result,) = engine.run(select_specs(["layernorm.mean"]), [target], OPTIONS)
    assert result.outcome is Outcome.FAIL
    assert result.explanations and result.explanations[0].operators == ("swap",)
    assert result.explanations[0].description.endswith("N in place of C")


def _planted(tmp_path: Path, file: str, edits: dict[str, str], base: str = "correct_spring") -> str:
    """A copy of a correct handin with ``edits`` (old -> new text) made in ``file``."""
    handin = tmp_path / "planted"
    shutil.copytree(HANDINS / base, handin)
    path = handin / "mytorch" / file
    source = path.read_text()
    for old, new in edits.items():
        assert old in source, old
        source = source.replace(old, new)
    path.write_text(source)
    return f"mytorch:{handin}"


@pytest.mark.parametrize(("file", "edits", "pattern", "operators", "computes"), [
    # m / 1 - beta1**t: the parentheses of the bias correction left out.
    ("optim/adam.py", {"self.m_W[layer_id] / (1 - self.beta1 ** self.t)": "self.m_W[layer_id] / 1 - self.beta1 ** self.t",
                       "self.m_b[layer_id] / (1 - self.beta1 ** self.t)": "self.m_b[layer_id] / 1 - self.beta1 ** self.t"},
     "adam", ("precedence",), "parentheses left out"),
    # t + 1 in both bias corrections: one change, made in two equations.
    ("optim/adam.py", {"** self.t)": "** (self.t + 1))"}, "adam", ("shift-t",), "t + 1 for t, in mhat and vhat"),
    # The decoupled decay line written twice.
    ("optim/adamW.py", {"layer.W = layer.W - W_prev * self.lr * self.weight_decay":
                        "layer.W = layer.W - W_prev * self.lr * self.weight_decay\n"
                        "            layer.W = layer.W - W_prev * self.lr * self.weight_decay",
                        "layer.b = layer.b - b_prev * self.lr * self.weight_decay":
                        "layer.b = layer.b - b_prev * self.lr * self.weight_decay\n"
                        "            layer.b = layer.b - b_prev * self.lr * self.weight_decay"},
     "adamw", ("double-term",), "counted twice"),
    # W -= lr * m / sqrt(v) + eps: the sign covers eps too.
    ("optim/adam.py", {"layer.W = layer.W - self.lr * m_W_hat / (np.sqrt(v_W_hat) + self.eps)":
                       "layer.W -= self.lr * m_W_hat / np.sqrt(v_W_hat) + self.eps",
                       "layer.b = layer.b - self.lr * m_b_hat / (np.sqrt(v_b_hat) + self.eps)":
                       "layer.b -= self.lr * m_b_hat / np.sqrt(v_b_hat) + self.eps"},
     "adam", ("precedence",), "-alpha*mhat/sqrt(vhat) - eps"),
    # eps hard-coded in the update (a joint finding's other equation, in its other accepted form).
    ("optim/adam.py", {"(np.sqrt(v_W_hat) + self.eps)": "(np.sqrt(v_W_hat) + 1e-8)",
                       "(np.sqrt(v_b_hat) + self.eps)": "(np.sqrt(v_b_hat) + 1e-8)"},
     "adam", ("constant",), "eps fixed at 1e-08, the homework API's default"),
    # A slip on the weights' line only: the biases follow the equation.
    ("optim/adam.py", {"v_W_hat = self.v_W[layer_id] / (1 - self.beta2 ** self.t)":
                       "v_W_hat = self.v_W[layer_id] / (1 - self.beta1 ** self.t)"},
     "adam", ("swap",), "beta1 in place of beta2 (on the weights W only; elsewhere the equation's own formula)"),
    # One line mistyped in one place: beta1 where the decay of v has beta2.
    ("optim/adam.py", {"self.v_b[layer_id] = self.beta2 * self.v_b[layer_id]":
                       "self.v_b[layer_id] = self.beta1 * self.v_b[layer_id]"},
     "adam", ("swap",), "beta1 in place of beta2, in one place only (on the biases b only;"),
    # A documented form on one part: eps inside the root for the weights only.
    ("optim/adam.py", {"(np.sqrt(v_W_hat) + self.eps)": "np.sqrt(v_W_hat + self.eps)"},
     "adam", ("form",), "adam.update as eps-"),
    # gamma * (Zhat + beta): the affine map's parentheses misplaced.
    ("nn/layernorm.py", {"self.gamma * self.NZ + self.beta": "self.gamma * (self.NZ + self.beta)"},
     "layernorm.affine", ("precedence",), "parentheses misplaced"),
    # A sum run over the whole batch where eq. (7) sums each row.
    ("nn/layernorm.py", {"np.sum(dLdNZ * self.NZ, axis=1, keepdims=True)": "np.sum(dLdNZ * self.NZ)"},
     "layernorm.grad_input", ("all-axes",), "over all entries instead of along axis 1"),
    # eps hard-coded as 1e-5 in the backward pass (no documented default): read off the answers.
    ("nn/layernorm.py", {"(self.C * np.sqrt(self.V + self.eps))": "(self.C * np.sqrt(self.V + 1e-5))"},
     "layernorm.grad_input", ("fitted-constant",), "eps fixed at 1e-05 (read off the answers)"),
    # (1 - beta1)**t for 1 - beta1**t in both corrections of m.
    ("optim/adam.py", {"(1 - self.beta1 ** self.t)": "(1 - self.beta1) ** self.t"},
     "adam", ("precedence",), "(1 - beta1)**t for 1 - beta1**t: the power taken of the whole"),
    # sqrt(v)/(1 - beta2**t) for sqrt(vhat): a slip across two equations, where vhat is not
    # exposed (a change of theta written from m and v).
    ("optim/adam.py", {"(np.sqrt(v_W_hat) + self.eps)": "(np.sqrt(self.v_W[layer_id]) / (1 - self.beta2 ** self.t) + self.eps)",
                       "(np.sqrt(v_b_hat) + self.eps)": "(np.sqrt(self.v_b[layer_id]) / (1 - self.beta2 ** self.t) + self.eps)"},
     "adam", ("no-root",), "1/(1 - beta2**t) instead of its square root"),
    # m stored already corrected: it holds the next equation's result.
    ("optim/adam.py", {"self.m_W[layer_id] = self.beta1 * self.m_W[layer_id] + (1 - self.beta1) * layer.dLdW":
                       "self.m_W[layer_id] = (self.beta1 * self.m_W[layer_id] + (1 - self.beta1) * layer.dLdW) / (1 - self.beta1 ** self.t)",
                       "self.m_b[layer_id] = self.beta1 * self.m_b[layer_id] + (1 - self.beta1) * layer.dLdb":
                       "self.m_b[layer_id] = (self.beta1 * self.m_b[layer_id] + (1 - self.beta1) * layer.dLdb) / (1 - self.beta1 ** self.t)"},
     "adam.first_moment", ("overwritten",), "m holds mhat = m/(1 - beta1**t), the next equation's result"),
    # The standard deviation stored as V (the normalization takes its root again).
    ("nn/layernorm.py", {"self.V = np.sum((self.Z - self.M) ** 2, axis=1, keepdims=True) / self.C":
                         "self.V = np.sqrt(np.sum((self.Z - self.M) ** 2, axis=1, keepdims=True) / self.C)"},
     "layernorm.variance", ("whole-root",), "the square root of the whole"),
    # Both sums of eq. (7) down the batch instead of along each row.
    ("nn/layernorm.py", {"sum_dLdNZ = np.sum(dLdNZ, axis=1, keepdims=True)": "sum_dLdNZ = np.sum(dLdNZ, axis=0, keepdims=True)",
                         "sum_dLdNZ_NZ = np.sum(dLdNZ * self.NZ, axis=1, keepdims=True)":
                         "sum_dLdNZ_NZ = np.sum(dLdNZ * self.NZ, axis=0, keepdims=True)"},
     "layernorm.grad_input", ("other-axis",), "every sum along axis 0 instead of axis 1"),
    # (Z - mu)/sqrt(V + eps) written Z - mu/sqrt(V + eps).
    ("nn/layernorm.py", {"self.NZ = (self.Z - self.M) / np.sqrt(self.V + self.eps)":
                         "self.NZ = self.Z - self.M / np.sqrt(self.V + self.eps)"},
     "layernorm.normalize", ("precedence",), "Z - mu/sqrt(eps + sigma2) for (Z - mu)/sqrt(eps + sigma2)"),
    # The normalized input overwritten by the affine map's result (NZ = gamma*NZ + beta).
    ("nn/layernorm.py", {"        return self.LNZ\n": "        self.NZ = self.LNZ\n        return self.LNZ\n"},
     "layernorm.normalize", ("overwritten",), "Zhat holds Ztilde"),
    # v of the biases computed into a local and never stored: the stored v stays 0, which
    # beta2*v_prev would match too; said as what it is.
    ("optim/adam.py", {"self.v_b[layer_id] = self.beta2 * self.v_b[layer_id]": "v_b = self.beta2 * self.v_b[layer_id]",
                       "v_b_hat = self.v_b[layer_id] /": "v_b_hat = v_b /"},
     "adam.second_moment", ("zero",), "v = 0: 0 at every entry: nothing computed, or nothing stored (on the biases b only"),
    # eq. (7) without eps: 0/0 on a one-feature row, the same NaN the formula gives.
    ("nn/layernorm.py", {"(self.C * np.sqrt(self.V + self.eps))": "(self.C * np.sqrt(self.V))"},
     "layernorm.grad_input", ("drop-term",), "/(C*sqrt(sigma2))"),
])
def test_slips_of_writing_a_formula_are_explained(
    tmp_path: Path, file: str, edits: dict[str, str], pattern: str, operators: tuple[str, ...], computes: str
) -> None:
    target = resolve_target(_planted(tmp_path, file, edits))
    results = engine.run(select_specs([pattern]), [target], OPTIONS)
    explained = [r for r in results if r.outcome is Outcome.FAIL and r.explanations]
    assert explained, [r.message for r in results]
    best = explained[0].explanations[0]
    assert best.operators == operators, best
    assert computes in best.description and best.examples_matched >= 2


def test_symbol_changes_are_made_throughout_a_spec_and_conditions_are_kept() -> None:
    from eqconform.verify.compiler import Transposed

    m, v, t = sp.Symbol("m", real=True), sp.Symbol("v", nonnegative=True), sp.Symbol("t", integer=True)
    beta1, beta2 = sp.Symbol("beta1", positive=True), sp.Symbol("beta2", positive=True)
    N, C = sp.Symbol("N"), sp.Symbol("C")
    context = _Context(kin={m: (), v: ()}, scalars=(beta1, beta2), unit_interval=frozenset(),
                       sizes={0: N, 1: C}, domains={})
    group = {"mhat": m / (1 - beta1**t), "vhat": v / (1 - beta2**t)}
    found = list(mutations(group, context, depth=1, groups=[group]))
    both = [c for c in found if c.also]
    shifted = next(c for c in both if c.expr == m / (1 - beta1 ** (t + 1)))
    assert shifted.also == (("vhat", v / (1 - beta2 ** (t + 1))),) and shifted.operators == ("shift-t",)
    assert shifted.cost == 1
    # One equation alone is still a candidate of its own.
    assert any(c.expr == m / (1 - beta1 ** (t + 1)) and not c.also for c in found)
    # The parentheses of a denominator left out, and a term counted twice.
    assert any(c.operators == ("precedence",) and c.expr == m - beta1**t for c in found)
    doubled = list(mutations({"y": m + v}, context, depth=1))
    assert any(c.operators == ("double-term",) and c.expr == m + 2 * v for c in doubled)
    # A subtracted fraction: the sign covers the stray term (W -= ...) or not (W = W - ...).
    eps = sp.Symbol("eps", positive=True)
    update = {c.expr for c in mutations({"theta": beta1 - m / (sp.sqrt(v) + eps)}, context, depth=1)
              if c.operators == ("precedence",)}
    assert {beta1 - m / sp.sqrt(v) - eps, beta1 - m / sp.sqrt(v) + eps} <= update
    # beta1*t typed for beta1**t; a symbol mistyped in one of its two places.
    assert any(c.operators == ("times-for-power",) and c.expr == m / (1 - beta1 * t) for c in found)
    decay = {c.expr: c.changes for c in mutations({"v": beta2 * v + (1 - beta2) * m**2}, context, depth=1)
             if c.operators == ("swap",)}
    assert decay[beta1 * v + (1 - beta2) * m**2][-1].endswith("in one place only")
    assert beta1 * v + (1 - beta1) * m**2 in decay  # and in both
    # A transposed layout shows only where the sizes are equal, and stays so when composed.
    g = sp.Symbol("g", real=True)
    reduced = list(mutations({"s": ReduceAxis(g, 0, N)}, _Context(
        kin={g: ()}, scalars=(), unit_interval=frozenset(), sizes={0: N, 1: C}, domains={}), depth=2))
    laid = next(c for c in reduced if c.expr == Transposed(ReduceAxis(g, 1, C)))
    assert laid.operators in {("other-axis", "transposed"), ("transposed", "other-axis")}
    assert laid.condition == sp.Eq(N, C, evaluate=False)
    assert all(c.condition is None for c in reduced if "transposed" not in c.operators)
    # A sum over every entry where one axis belongs.
    assert any(c.operators == ("all-axes",) and c.expr == ReduceAxis(ReduceAxis(g, 0, N), 1, C) for c in reduced)


def test_a_transposed_formula_compiles_with_its_bound() -> None:
    import numpy as np

    from eqconform.verify.compiler import Transposed, compile_expressions
    from eqconform.verify.rounding import bound_program

    g = sp.Symbol("g", real=True)
    expr = Transposed(ReduceAxis(g, 1, sp.Symbol("C")))
    values = np.arange(6.0).reshape(2, 3)
    (row,) = compile_expressions((expr,))({"g": values})
    assert row.shape == (1, 2) and np.array_equal(row, values.sum(axis=1, keepdims=True).T)
    (bound,) = bound_program((expr,)).compiled()({"g": values, "unit_roundoff": 2.0**-53})
    assert np.shape(bound) == (1, 2) and np.all(bound > 0)


def test_all_zero_answers_are_explained_as_zeros_not_by_another_zero_answer() -> None:
    # Every answer zero: "Zhat times the (zero) dLdgamma" would match too; zeros are said first.
    behaviours = Path(__file__).parent.parent / "faults" / "library_behaviours.py"
    target = resolve_target(f"file:{behaviours}:ZeroLayerNorm")
    for result in engine.run(select_specs(["layernorm.mean", "layernorm.grad_gamma"]), [target], OPTIONS):
        assert result.outcome is Outcome.FAIL
        best = result.explanations[0]
        assert best.operators == ("zero",) and best.srepr == "Integer(0)", best


def test_a_mask_row_shared_by_the_batch_is_explained(tmp_path: Path) -> None:
    target = resolve_target(_planted(tmp_path, "nn/dropout.py", {"size=x.shape)": "size=x.shape[-1])"}))
    (result,) = engine.run(select_specs(["dropout.mask"]), [target], OPTIONS)
    assert result.outcome is Outcome.FAIL
    (best,) = result.explanations
    assert best.operators == ("shared-draw",) and "shared by every row" in best.description


def test_a_forward_returning_nan_fails_alone_and_a_correct_backward_passes(tmp_path: Path) -> None:
    # 0/0 where the mask drops: the output cannot show the mask there. Read as "kept", the
    # correct backward would fail too and be "explained" by a mask of its own.
    target = resolve_target(_planted(tmp_path, "nn/dropout.py", {
        "return x * self.mask / (1 - self.p)": "return x * self.mask / (1 - self.p) * self.mask / self.mask"}))
    results = {result.spec: result for result in engine.run(
        select_specs(["dropout.scaling", "dropout.backward"]), [target], OPTIONS)}
    assert results["dropout.scaling"].outcome is Outcome.FAIL
    assert "nan" in results["dropout.scaling"].counterexample.lower()
    assert results["dropout.backward"].outcome is Outcome.PASS, results["dropout.backward"].message
    assert not results["dropout.backward"].explanations


def test_an_output_without_zeros_is_not_explained_as_a_reused_or_shared_mask(tmp_path: Path) -> None:
    # x*mask/1 - p: no entry is 0, so the mask read off the zeros is all ones, which is also
    # "the same on every call" and "the same in every row"; the truth is that nothing reads as dropped.
    target = resolve_target(_planted(tmp_path, "nn/dropout.py", {
        "return x * self.mask / (1 - self.p)": "return x * self.mask / 1 - self.p"}))
    (result,) = engine.run(select_specs(["dropout.mask"]), [target], OPTIONS)
    assert result.outcome is Outcome.FAIL
    (best,) = result.explanations
    assert best.operators == ("constant-draw",) and best.srepr == "Integer(1)", best


def test_one_slip_is_made_alike_in_every_equation_of_a_spec() -> None:
    from eqconform.verify.explanation import _alike

    m, v, t = sp.Symbol("m", real=True), sp.Symbol("v", nonnegative=True), sp.Symbol("t", integer=True)
    beta1, beta2 = sp.Symbol("beta1", positive=True), sp.Symbol("beta2", positive=True)
    context = _Context(kin={}, scalars=(beta1, beta2), unit_interval=frozenset(), sizes={}, domains={})
    made = {c.equations: c for c in _alike({"mhat": m / (1 - beta1**t), "vhat": v / (1 - beta2**t)}, context)}
    both = made[(("mhat", m / (1 - beta1) ** t), ("vhat", v / (1 - beta2) ** t))]
    assert both.operators == ("precedence",) and both.cost == 1 and both.changes[0].endswith("alike in vhat")
    # Parts of different structure are not paired.
    assert not list(_alike({"mhat": m / (1 - beta1**t), "vhat": v * beta2}, context))


@pytest.mark.parametrize(("edits", "computes"), [
    # The mean's gradient summed down the batch: one sum of eq. (7) along the other axis. On a
    # fresh case with rows far from zero this arrangement rounds beyond eq. (7)'s own bound, so
    # the fresh cases an explanation must also match are taken at their best conditioning.
    ({"dM = (-self.inv_std * np.sum(dNZ, axis=1, keepdims=True)": "dM = (-self.inv_std * np.sum(dNZ, axis=0, keepdims=True)"},
     "the sum of dLdZhat along axis 0 instead of axis 1"),
    # d sigma2 with the power -1 for -3/2: eq. (7)'s last term not divided by the deviation.
    ({"* (-0.5) * self.inv_std ** 3": "* (-0.5) * self.inv_std ** 2"},
     "the term -Zhat*ReduceAxis(Zhat*dLdZhat, 1, C) not divided by sqrt(eps + sigma2)"),
])
def test_slips_in_another_derivation_of_the_layernorm_backward_are_explained(
    tmp_path: Path, edits: dict[str, str], computes: str
) -> None:
    target = resolve_target(_planted(tmp_path, "nn/layernorm.py", edits, base="correct_fall"))
    results = engine.run(select_specs(["layernorm.grad_normalized", "layernorm.grad_input"]), [target], OPTIONS)
    explained = [r for r in results if r.outcome is Outcome.FAIL and r.explanations]
    assert explained, [r.message for r in results]
    assert computes in explained[0].explanations[0].description, explained[0].explanations[0]


def test_a_dropout_that_mixes_the_two_readings_of_p_is_explained(tmp_path: Path) -> None:
    # The mask keeps with probability p, the kept entries are divided by 1 - p: each pass alone
    # follows a reading of p, the mean follows neither.
    target = resolve_target(_planted(tmp_path, "nn/dropout.py", {
        "np.random.binomial(1, 1 - self.p, size=x.shape)": "np.random.binomial(1, self.p, size=x.shape)"}))
    results = {r.spec: r for r in engine.run(select_specs(["dropout"]), [target], OPTIONS)}
    assert results["dropout.mask"].outcome is Outcome.PASS
    assert results["dropout.mask"].variant == "p-is-keep-probability"
    scaling = results["dropout.scaling"]
    assert scaling.outcome is Outcome.FAIL and len(scaling.explanations) == 1
    best = scaling.explanations[0]
    assert best.operators == ("mixed-readings",) and best.examples_matched == 2
    assert best.description.startswith("y = mask*x/(1 - p): the mask keeps an entry with probability p "
                                       "(p-is-keep-probability) but the kept entries are divided by 1 - p")
    assert "It computes y = mask*x/(1 - p)" in scaling.message
    # The right layer's mean passes, and is not explained.
    right = {r.spec: r for r in engine.run(select_specs(["dropout.scaling"]),
                                           [resolve_target(f"mytorch:{HANDINS / 'correct_spring'}")], OPTIONS)}
    assert right["dropout.scaling"].outcome is Outcome.PASS and not right["dropout.scaling"].explanations


def test_a_joint_finding_is_explained_whatever_form_its_other_members_follow(tmp_path: Path) -> None:
    # The Fall edition puts eps inside the root. Checked through theta only, a counterexample
    # that follows no form cannot show that; the slip in mhat is found with the update in
    # each of its accepted forms, and says which.
    target = resolve_target(_planted(tmp_path, "optim/adam.py", {
        "c1 = 1.0 - self.beta1 ** self.t": "c1 = 1.0 - self.beta2 ** self.t"}, base="correct_fall"))
    results = {r.spec: r for r in engine.run(select_specs(["adam"]), [target], OPTIONS)}
    best = results["adam.bias_correction"].explanations[0]
    assert best.operators == ("swap",), best
    assert best.description == "mhat = m/(1 - beta2**t): beta2 in place of beta1, with adam.update as eps-inside-sqrt"
