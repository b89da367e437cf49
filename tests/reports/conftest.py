"""A hand-built, realistic :class:`Report` shared by the report tests.

Two targets (the reference NumPy implementation and a hostile "student" target whose name,
messages, counterexamples and hyperparameter defaults carry markup), four equations over three
components (one with documented variants, one stochastic with statistical tests), every outcome,
every proof status, non-finite errors, the documents' defaults with where each is stated, and
the MathML exactly as SymPy's presentation printer produces it.
"""

from dataclasses import dataclass

import pytest
import sympy as sp
from eqconform.verify.results import (
    Outcome,
    ProofRecord,
    Report,
    Result,
    SpecSummary,
    StatisticalTest,
    SymbolSummary,
    TargetSummary,
    VariantSummary,
)

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '" onmouseover="x'
EVIL_TARGET = f"student{ATTRIBUTE}{SCRIPT}"
FAIL_MESSAGE = f"update differs from eq. (4) by 3.2e+38 tolerances {ATTRIBUTE} {SCRIPT}"
ERROR_MESSAGE = "TypeError: normalize() got an unexpected keyword argument 'eps' \x1b[31m<b>x</b>"
COUNTEREXAMPLE = (
    f"theta = array([1.0e+38], dtype=float32)\n"
    f"grad  = array([3.4e+38], dtype=float32)  # {SCRIPT}\n"
    "lr = 0.001, beta1 = 0.9, beta2 = 0.999, eps = 1e-08, t = 1"
)
REPRODUCE = "eqconform check adam.update --target 'student' --seed 20260121 --example 17"
PIPE_TITLE = "Inverted dropout keeps E[|mask|] / n = 1 - p"
EVIL_PARAMETER = f"amsgrad{SCRIPT}"
EVIL_COMPONENT = f"custom{ATTRIBUTE}"
EVIL_VERSION = f"0.1{SCRIPT}"
SEC4 = "CMU 11-785 HW1 Bonus, Spring 2026, sec. 4, 'default values are beta1 = 0.9 ...'"
API = "constructor default of the homework API; not in the documents"

# The shape build_report gives eqconform.specs.DOCUMENTED_DEFAULTS: (value, where, kind), as
# tuples or lists; the kind says whether the text states the value or only the homework API's
# constructor gives it.
STATED, CONSTRUCTOR = "stated", "constructor default"
DOCUMENTED_DEFAULTS = {
    "adam": {"beta1": (0.9, SEC4, STATED), "beta2": (0.999, SEC4, STATED),
             "eps": (1e-08, API, CONSTRUCTOR)},
    "adamw": {"beta1": [0.9, SEC4, STATED], "beta2": [0.999, SEC4, STATED],
              "eps": [1e-08, API, CONSTRUCTOR], "weight_decay": [0.01, API, CONSTRUCTOR]},
    "layernorm": {"eps": (1e-08, API, CONSTRUCTOR)},
    "dropout": {"p": (0.5, API, CONSTRUCTOR)},
}
NUMPY_DEFAULTS = {
    "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-08, "weight_decay": 0.0},
    "adamw": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-08, "weight_decay": 0.01},
    "layernorm": {"eps": 1e-05},  # differs from the documents' 1e-08
    "dropout": {"p": 0.5},
    "version": "2.1.3",
}
# No adamw or layernorm; betas as one pair; an unknown eps; NaN; markup in names and version.
STUDENT_DEFAULTS = {
    "adam": {"lr": 0.01, "betas": (0.9, 0.99), "eps": None, EVIL_PARAMETER: False},
    "dropout": {"p": float("nan")},
    EVIL_COMPONENT: {"alpha": 1},
    "version": EVIL_VERSION,
}


def presentation(expr: sp.Expr) -> str:
    return sp.mathml(expr, printer="presentation")


def _adam_spec() -> SpecSummary:
    theta, lr, m, v, eps = sp.symbols("theta eta mhat vhat epsilon")
    paper = sp.Eq(sp.Symbol("theta_t"), theta - lr * m / (sp.sqrt(v) + eps))
    inside = sp.Eq(sp.Symbol("theta_t"), theta - lr * m / sp.sqrt(v + eps))
    return SpecSummary(
        id="adam.update",
        title="Adam parameter update",
        component="Adam",
        source="11-785 HW1 Bonus, Spring 2026, sec. 6.1, eq. (4)",
        symbols=(
            SymbolSummary("theta", "parameters before the step", "theta real"),
            SymbolSummary("eta", "learning rate", "0 < eta"),
            SymbolSummary("epsilon", "numerical stabiliser", "0 < epsilon"),
        ),
        variants=(
            VariantSummary("paper", True, "Kingma & Ba 2015, Algorithm 1", "as printed",
                           presentation(paper), sp.latex(paper)),
            VariantSummary("eps-inside-sqrt", False, "common implementation slip",
                           "epsilon added under the square root", presentation(inside),
                           sp.latex(inside)),
        ),
    )


def _layernorm_specs() -> tuple[SpecSummary, SpecSummary]:
    x, mu, var, eps, gamma, beta, xhat = sp.symbols("x mu sigma2 epsilon gamma beta xhat")
    normalize = sp.Eq(xhat, (x - mu) / sp.sqrt(var + eps))
    affine = sp.Eq(sp.Symbol("y"), gamma * xhat + beta)
    return (
        SpecSummary(
            id="layernorm.normalize",
            title="LayerNorm normalisation",
            component="LayerNorm",
            source="11-785 HW1 Bonus, Spring 2026, sec. 5.2, eq. (3)",
            symbols=(SymbolSummary("x", "input row", "x real"),
                     SymbolSummary("sigma2", "row variance", "0 <= sigma2")),
            variants=(VariantSummary("paper", True, None, "", presentation(normalize),
                                     sp.latex(normalize)),),
        ),
        SpecSummary(
            id="layernorm.affine",
            title="LayerNorm affine transform",
            component="LayerNorm",
            source="11-785 HW1 Bonus, Spring 2026, sec. 5.2, eq. (4)",
            symbols=(SymbolSummary("gamma", "scale", "gamma real"),),
            # Already a complete <math> element: the renderer must not wrap it a second time.
            variants=(VariantSummary(
                "paper", True, None, "",
                f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">'
                f"{presentation(affine)}</math>",
                sp.latex(affine)),),
        ),
    )


def _dropout_spec() -> SpecSummary:
    y, x, mask, p = sp.symbols("y x m p")
    train = sp.Eq(y, mask * x / (1 - p))
    return SpecSummary(
        id="dropout.train",
        title=PIPE_TITLE,
        component="Dropout",
        source="11-785 HW1 Bonus, Spring 2026, sec. 7.1, eq. (1)",
        symbols=(SymbolSummary("p", "drop probability", "0 <= p < 1"),
                 SymbolSummary("m", "Bernoulli(1 - p) mask", "m in {0, 1}")),
        variants=(VariantSummary("inverted", True, None, "", presentation(train),
                                 sp.latex(train)),),
    )


DROPOUT_TESTS = (
    StatisticalTest("keep fraction", "binomial test on 10000 draws", 0.412, 0.001,
                    "0.99 against |p' - p| >= 0.02", True),
    StatisticalTest("mean preserved", "Welch t-test", 0.73, 0.001,
                    "0.95 against a 2% bias", True),
)
STUDENT_DROPOUT_TESTS = (
    StatisticalTest("keep fraction", "binomial test on 10000 draws", 1.2e-12, 0.001,
                    "0.99 against |p' - p| >= 0.02", False),
    StatisticalTest("mean preserved", "Welch t-test", float("nan"), 0.001,
                    "0.95 against a 2% bias", False),
)


def build_report() -> Report:
    adam = _adam_spec()
    normalize, affine = _layernorm_specs()
    dropout = _dropout_spec()
    results = (
        Result("adam.update", "numpy", Outcome.PASS, variant="paper", examples=200,
               max_error=0.31, max_abs_error=1.2e-8, seconds=1.25),
        Result("adam.update", EVIL_TARGET, Outcome.FAIL, variant="paper", examples=17,
               max_error=float("inf"), max_abs_error=float("nan"),
               counterexample=COUNTEREXAMPLE, reproduce=REPRODUCE, message=FAIL_MESSAGE,
               observed_through="return value", seconds=0.5),
        Result("layernorm.normalize", "numpy", Outcome.PASS, variant="paper", examples=200,
               max_error=0.02, max_abs_error=3.0e-7, observed_through="forward", seconds=0.9),
        Result("layernorm.normalize", EVIL_TARGET, Outcome.ERROR, examples=0,
               message=ERROR_MESSAGE,
               reproduce="eqconform check layernorm.normalize --target student", seconds=0.01),
        Result("layernorm.affine", "numpy", Outcome.PASS, variant="paper", examples=150,
               max_error=0.0, max_abs_error=0.0, seconds=0.4),
        Result("layernorm.affine", EVIL_TARGET, Outcome.SKIP,
               message="target does not implement LayerNorm.affine"),
        Result("dropout.train", "numpy", Outcome.PASS, variant="inverted", examples=10000,
               statistics=DROPOUT_TESTS, seconds=2.0),
        Result("dropout.train", EVIL_TARGET, Outcome.FAIL, variant="inverted", examples=10000,
               message="keep fraction 0.5 is not 1 - p = 0.9", statistics=STUDENT_DROPOUT_TESTS,
               reproduce="eqconform check dropout.train --target student --seed 20260121",
               seconds=2.1),
    )
    proofs = (
        ProofRecord("adam.bias-correction", "Bias correction makes m-hat unbiased",
                    "11-785 HW1 Bonus, sec. 6.1", ("adam.update",), "proved", "sympy.simplify",
                    seconds=0.3, scope="general"),
        ProofRecord("layernorm.grad-sum", "Gradient of normalisation sums to zero",
                    "11-785 HW1 Bonus, sec. 5.3", ("layernorm.normalize", "layernorm.affine"),
                    "refuted", "sympy.diff + simplify",
                    detail="residual 1/N * sum(gamma) is not identically 0", seconds=1.1,
                    scope="N = 2"),
        ProofRecord("dropout.expectation", "Inverted dropout preserves the expectation",
                    "11-785 HW1 Bonus, sec. 7.1", ("dropout.train",), "not proved",
                    "sympy.stats.E", detail="timed out after 10 s", seconds=10.0),
    )
    return Report(
        meta={"version": "0.1.0", "seed": 20260121, "max_examples": 200,
              "date": "2026-01-21T10:00:00Z", "numpy_version": "2.1.3"},
        targets=(TargetSummary("numpy", "reference NumPy implementation", NUMPY_DEFAULTS),
                 TargetSummary(EVIL_TARGET, f"third-party code under audit {SCRIPT}",
                               STUDENT_DEFAULTS)),
        specs=(adam, normalize, affine, dropout),
        proofs=proofs,
        results=results,
        errata=({"spec": "layernorm.affine", "document": "HW1 Bonus handout",
                 "note": "eq. (4) prints beta | gamma in the wrong order"},),
        documented_defaults=DOCUMENTED_DEFAULTS,
    )


@dataclass(frozen=True)
class Sample:
    """The sample report and the exact strings planted in it.

    Handed out as a fixture rather than imported: with several ``conftest.py`` files in the
    suite, ``import conftest`` may find another directory's.
    """

    report: Report
    script: str = SCRIPT
    attribute: str = ATTRIBUTE
    evil_target: str = EVIL_TARGET
    fail_message: str = FAIL_MESSAGE
    error_message: str = ERROR_MESSAGE
    counterexample: str = COUNTEREXAMPLE
    reproduce: str = REPRODUCE
    pipe_title: str = PIPE_TITLE
    evil_parameter: str = EVIL_PARAMETER
    evil_component: str = EVIL_COMPONENT
    evil_version: str = EVIL_VERSION
    sec4: str = SEC4
    api: str = API


@pytest.fixture
def sample() -> Sample:
    return Sample(build_report())


@pytest.fixture
def report(sample: Sample) -> Report:
    return sample.report
