"""What a failing target computes instead: formulas next to the spec's, matched on evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy as sp

from eqconform.specs import select_specs
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
    assert best.latex.startswith(sp.latex(sp.Symbol(best.quantity)) + " = ")
    assert sp.srepr(sp.Symbol(best.quantity)) not in best.srepr  # never the answer itself


def test_correct_code_and_documented_variants_are_never_explained() -> None:
    for handin in ("correct_spring", "correct_fall"):
        for result in _results(handin, "adam*").values():
            assert result.outcome is Outcome.PASS and not result.explanations, (handin, result.spec)
    # A known deviation is named, not explained again, nor said to match no formula.
    named = _results("bug_adam_no_bias_correction", "adam")["adam.bias_correction"]
    assert named.variant == "uncorrected" and not named.explanations
    assert "No formula within two changes" not in named.message
    variance = _results("bug_layernorm_unbiased_variance", "layernorm.variance")["layernorm.variance"]
    assert variance.variant == "unbiased" and "No formula within two changes" not in variance.message


def test_when_nothing_near_matches_it_says_so() -> None:
    # Counting t once per layer is no formula two changes away from Adam's: no guess.
    results = _results("bug_adam_t_per_layer", "adam")
    failing = [r for r in results.values() if r.outcome is Outcome.FAIL]
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
                     defaults={eps: 1e-8})
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
    import shutil

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
