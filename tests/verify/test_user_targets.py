"""Your own code as a target: ``file:PATH.py:ATTR``, ``python:MODULE:ATTR`` and entry-point
plugins, with the worked examples in ``examples/``."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest

from eqconform.verify.results import Outcome
from eqconform.specs import select_specs
from eqconform.verify import engine
from eqconform.verify.cli import main
from eqconform.verify.search import SearchSettings
from eqconform.verify.session import RunOptions, Session
from eqconform.verify.targets import UnknownTargetError, resolve_target
from eqconform.verify.targets.protocol import TargetLoadError
from eqconform.verify.targets.user import ObjectTarget

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
THIRD_PARTY = EXAMPLES / "third_party_layernorm" / "adapter.py"
EPS_HAT = EXAMPLES / "eps_hat_adam" / "adapter.py"
L2_ADAMW = EXAMPLES / "l2_adamw" / "adapter.py"
OPTIONS = SearchSettings(max_examples=10, seed=0)

LAYERNORM_METHOD = """
    def layernorm(self, Z, gamma, beta, eps, G):
        mu = Z.mean(axis=1, keepdims=True)
        var = ((Z - mu) ** 2).mean(axis=1, keepdims=True)
        Zhat = (Z - mu) / np.sqrt(var + eps)
        C = Z.shape[1]
        dZhat = G * gamma
        dZ = (C * dZhat - dZhat.sum(axis=1, keepdims=True)
              - Zhat * (dZhat * Zhat).sum(axis=1, keepdims=True)) / (C * np.sqrt(var + eps))
        return {"Ztilde": gamma * Zhat + beta, "dLdZ": dZ, "dLdgamma": (G * Zhat).sum(axis=0, keepdims=True),
                "dLdbeta": G.sum(axis=0, keepdims=True), "mu": mu, "sigma2": var, "Zhat": Zhat}
"""

#: A module with a correct LayerNorm adapter and nothing else.
IDENTITY_LAYERNORM = f"""
import numpy as np


class Adapter:
    name = "tmp-layernorm"
{LAYERNORM_METHOD}"""


def _run(reference: str, patterns: list[str], options: SearchSettings = OPTIONS) -> dict[str, object]:
    results = engine.run(select_specs(patterns), [resolve_target(reference)], options)
    return {result.spec: result for result in results}


# --------------------------------------------------------------------------- the examples

def test_third_party_layernorm_passes_every_layernorm_spec() -> None:
    by_spec = _run(f"file:{THIRD_PARTY}:Adapter", ["layernorm", "layernorm_exam"])
    assert by_spec
    for spec, result in by_spec.items():
        assert result.outcome is Outcome.PASS, (spec, result.message, result.counterexample)
    assert by_spec["layernorm.normalize"].variant == "eps-inside-sqrt"


def test_third_party_example_has_its_adam_and_skips_what_it_lacks() -> None:
    by_spec = _run(f"file:{THIRD_PARTY}:Adapter", ["adam", "adamw", "dropout.eval"])
    for spec in ("adam.first_moment", "adam.second_moment", "adam.bias_correction", "adam.update"):
        assert by_spec[spec].outcome is Outcome.PASS, (spec, by_spec[spec].message)
    skipped = by_spec["adamw.decoupled_decay"]
    assert skipped.outcome is Outcome.SKIP
    assert skipped.message == f"file:{THIRD_PARTY}:Adapter provides no 'adamw' method"


def test_third_party_example_through_the_cli_in_worker_processes(tmp_path: Path) -> None:
    status = main(["report", "--target", f"file:{THIRD_PARTY}:Adapter", "--spec", "layernorm.mean",
                   "--spec", "layernorm.grad_input", "--max-examples", "5", "-o", str(tmp_path / "out"), "--quiet"])
    assert status == 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert f"file:{THIRD_PARTY}:Adapter" in report.replace("\\_", "_")


def test_third_party_example_reports_its_defaults() -> None:
    target = resolve_target(f"file:{THIRD_PARTY}:Adapter")
    assert target.defaults()["layernorm"] == {"eps": 1e-5}


def test_eps_hat_adam_is_named_as_the_known_deviation() -> None:
    by_spec = _run(f"file:{EPS_HAT}:EpsHatAdam", ["adam"])
    update = by_spec["adam.update"]
    assert update.outcome is Outcome.FAIL
    assert update.variant == "eps-hat", update.message
    for spec in ("adam.first_moment", "adam.second_moment", "adam.bias_correction"):
        assert by_spec[spec].outcome is Outcome.PASS, (spec, by_spec[spec].message)
    assert by_spec["adam.bias_correction"].variant == "bias-corrected"


def test_l2_coupled_adamw_fails_decoupled_decay() -> None:
    result = _run(f"file:{L2_ADAMW}:L2AdamW", ["adamw"])["adamw.decoupled_decay"]
    assert result.outcome is Outcome.FAIL, result.message


def test_l2_coupled_adamw_is_named_as_the_known_deviation() -> None:
    # The adapter shows its moments, so each step is predicted from the target's own history
    # (an AdamW that hides them is still failed, but the deviation can only be named on a run
    # short enough for the canonical and the L2-coupled histories to agree).
    result = _run(f"file:{L2_ADAMW}:L2AdamW", ["adamw"])["adamw.decoupled_decay"]
    assert result.outcome is Outcome.FAIL
    assert result.variant == "l2-coupled", result.message
    assert "known deviation 'l2-coupled'" in result.message


# --------------------------------------------------------------------------- python:MODULE:ATTR

def test_python_module_attribute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_layernorm_adapter.py").write_text(IDENTITY_LAYERNORM + textwrap.dedent("""

        def make_adapter():
            return Adapter()


        class Outer:
            Inner = Adapter


        ADAPTER = Adapter()
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    for attribute in ("Adapter", "make_adapter", "Outer.Inner", "ADAPTER"):
        reference = f"python:my_layernorm_adapter:{attribute}"
        target = resolve_target(reference)
        assert target.name == reference
        by_spec = _run(reference, ["layernorm.mean", "layernorm.grad_input"], SearchSettings(max_examples=5))
        assert {r.outcome for r in by_spec.values()} == {Outcome.PASS}, attribute
    sys.modules.pop("my_layernorm_adapter", None)


def test_python_target_does_not_import_until_a_component_is_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lazy_adapter_module.py").write_text(IDENTITY_LAYERNORM)
    monkeypatch.syspath_prepend(str(tmp_path))
    target = resolve_target("python:lazy_adapter_module:Adapter")
    assert "lazy_adapter_module" not in sys.modules
    target.component("layernorm")
    assert "lazy_adapter_module" in sys.modules
    sys.modules.pop("lazy_adapter_module", None)


def test_a_function_that_needs_arguments_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "needs_args.py"
    path.write_text("def make(size):\n    return None\n")
    (result,) = engine.run(select_specs(["layernorm.mean"]), [resolve_target(f"file:{path}:make")], OPTIONS)
    assert result.outcome is Outcome.ERROR
    assert "is a function that needs arguments" in result.message


# --------------------------------------------------------------------------- malformed references

@pytest.mark.parametrize(("reference", "message"), [
    ("file:nope.py:X", "file 'nope.py' does not exist"),
    ("python:justmodule", "python:justmodule names no attribute"),
    ("file:", "file: needs a file and an attribute"),
    ("python:", "python: needs a module and an attribute"),
    ("file::X", "file::X names no file"),
    ("python:mod:", "names no attribute after the last ':'"),
    ("python:not-a-module:X", "'not-a-module' is not a module name"),
    ("python:mod:1x", "'1x' is not a Python attribute name"),
    ("no_such_target_anywhere", "unknown target 'no_such_target_anywhere'"),
])
def test_malformed_references_are_usage_errors(reference: str, message: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["report", "--target", reference, "-o", str(tmp_path / "out")])
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("eqconform: error: "), err
    assert message in err
    assert not (tmp_path / "out").exists()


def test_unknown_targets_list_the_user_forms() -> None:
    with pytest.raises(UnknownTargetError, match=r"python:MODULE:ATTR, file:PATH\.py:ATTR"):
        resolve_target("nonsense")


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(UnknownTargetError, match="is not a file"):
        resolve_target(f"file:{tmp_path}:X")


# --------------------------------------------------------------------------- code that fails to load

def test_a_module_that_raises_at_import_gives_errors_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "explodes_at_import.py").write_text("import numpy\nraise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    session = Session(RunOptions(targets=("python:explodes_at_import:Adapter",),  # nothing imported yet
                                 specs=("adam.update", "layernorm.mean", "dropout.eval"), max_examples=10,
                                 in_process=True, examples_dir=None))
    results = session.run().results
    assert [r.outcome for r in results] == [Outcome.ERROR] * 3
    for result in results:
        assert result.message == ("module 'explodes_at_import' failed to import: RuntimeError: boom at import "
                                  "(explodes_at_import.py, line 2)")
        assert result.reproduce is not None and "python:explodes_at_import:Adapter" in result.reproduce


def test_a_file_that_raises_at_import_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.py"
    path.write_text("x = 1\nraise SystemExit('the file exits')\n")
    status = main(["report", "--target", f"file:{path}:Adapter", "--spec", "layernorm.mean",
                   "--max-examples", "5", "-o", str(tmp_path / "out")])
    assert status == 1
    err = capsys.readouterr().err
    assert "error layernorm.mean" in " ".join(err.split())
    report = (tmp_path / "out" / "report.json").read_text()
    assert "failed to import: SystemExit: the file exits (broken.py, line 2)" in report


def test_missing_module_and_missing_attribute(tmp_path: Path) -> None:
    path = tmp_path / "plain.py"
    path.write_text("class Other:\n    pass\n")
    missing_module = resolve_target("python:eqconform_no_such_module_xyz:Adapter")
    missing_attribute = resolve_target(f"file:{path}:Adapter")
    results = engine.run(select_specs(["layernorm.mean"]), [missing_module, missing_attribute], OPTIONS)
    assert [r.outcome for r in results] == [Outcome.ERROR, Outcome.ERROR]
    assert results[0].message == ("module 'eqconform_no_such_module_xyz' failed to import: "
                                  "ModuleNotFoundError: No module named 'eqconform_no_such_module_xyz'")
    assert results[1].message == f"file {str(path)!r} has no attribute 'Adapter'"


# --------------------------------------------------------------------------- partial adapters

def test_an_adapter_without_dropout_skips_dropout_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "only_layernorm.py"
    path.write_text(IDENTITY_LAYERNORM)
    reference = f"file:{path}:Adapter"
    results = engine.run(select_specs(["dropout", "layernorm.mean"]), [resolve_target(reference)], OPTIONS)
    by_spec = {r.spec: r for r in results}
    for spec in ("dropout.mask", "dropout.scaling", "dropout.eval", "dropout.backward"):
        assert by_spec[spec].outcome is Outcome.SKIP
        assert by_spec[spec].message == f"{reference} provides no 'dropout' method"
    assert by_spec["layernorm.mean"].outcome is Outcome.PASS


def test_a_wrong_return_shape_is_an_error_naming_the_protocol() -> None:
    class ReturnsTheta:
        def adam(self, layers, hyperparameters):
            class Session:
                def step(self, gradients):
                    return {"theta": gradients}
            return Session()

    (result,) = engine.run(select_specs(["adam.update"]), [ObjectTarget(ReturnsTheta())], OPTIONS)
    assert result.outcome is Outcome.ERROR
    assert "step() must return a list with one dict per parameter" in result.message


def test_object_target_names_and_dropout_sessions() -> None:
    import numpy as np

    class Dropout:
        name = "inverted-dropout"
        description = "a NumPy inverted dropout"

        def dropout(self, p, seed):
            rng = np.random.default_rng(seed)

            class Session:
                def forward(self, x, train):
                    if not train:
                        return x
                    self.mask = rng.random(x.shape) >= p
                    return x * self.mask / (1 - p)

                def backward(self, delta):
                    return delta * self.mask / (1 - p)

            return Session()

    target = ObjectTarget(Dropout())
    assert (target.name, target.description, target.defaults()) == ("inverted-dropout", "a NumPy inverted dropout", {})
    results = engine.run(select_specs(["dropout"]), [target], OPTIONS)
    assert {r.spec: r.outcome for r in results} == dict.fromkeys(
        ("dropout.mask", "dropout.scaling", "dropout.eval", "dropout.backward"), Outcome.PASS)


# --------------------------------------------------------------------------- entry points

PLUGIN = """
import numpy as np

from eqconform.verify.targets.user import ObjectTarget


class Adapter:
    description = "a plugin's LayerNorm"
{layernorm}

def make(argument):
    if argument == "bad":
        raise ValueError("the demo plugin takes no 'bad'")
    return ObjectTarget(Adapter(), name="eqdemo" if argument is None else f"eqdemo:{{argument}}",
                        description=f"the demo plugin with {{argument!r}}")


def make_object(argument):
    return Adapter()
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution registering two targets, found on sys.path without installing it."""
    (tmp_path / "eqdemo_plugin.py").write_text(PLUGIN.format(layernorm=LAYERNORM_METHOD))
    info = tmp_path / "eqdemo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: eqdemo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[eqconform.targets]\neqdemo = eqdemo_plugin:make\neqdemo_object = eqdemo_plugin:make_object\n"
        "eqdemo_broken = eqdemo_plugin_missing:make\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("eqdemo_plugin", None)


def test_entry_point_returning_a_target(plugin: Path) -> None:
    target = resolve_target("eqdemo:fast")
    assert (target.name, target.description) == ("eqdemo:fast", "the demo plugin with 'fast'")
    assert resolve_target("eqdemo").name == "eqdemo"
    (result,) = engine.run(select_specs(["layernorm.grad_input"]), [target], OPTIONS)
    assert result.outcome is Outcome.PASS, result.message


def test_entry_point_returning_an_adapter_object(plugin: Path) -> None:
    target = resolve_target("eqdemo_object")
    assert isinstance(target, ObjectTarget)
    assert (target.name, target.description) == ("eqdemo_object", "a plugin's LayerNorm")
    results = engine.run(select_specs(["layernorm.mean", "adam.update"]), [target], OPTIONS)
    assert [r.outcome for r in results] == [Outcome.SKIP, Outcome.PASS]
    assert results[0].message == "eqdemo_object provides no 'adam' method"


def test_entry_point_usage_errors_and_listing(plugin: Path) -> None:
    with pytest.raises(UnknownTargetError, match="the demo plugin takes no 'bad'"):
        resolve_target("eqdemo:bad")
    with pytest.raises(UnknownTargetError, match=r"target plugin 'eqdemo_broken' .* failed to load: ModuleNotFoundError"):
        resolve_target("eqdemo_broken")
    with pytest.raises(UnknownTargetError, match=r"installed \(eqconform\.targets\): .*eqdemo, eqdemo_broken, eqdemo_object"):
        resolve_target("eqdemo_nope")


ATTENTION_ADAPTER = '''
import numpy as np
from eqconform.impl.attention import softmax
from eqconform.impl.attention import SoftmaxAttentionAdapter


class Unscaled:
    """Softmax attention without the 1/sqrt(D) of eq. (8)."""

    def forward(self, Q, K, V):
        self.scores = Q @ K.T
        self.weights = softmax(self.scores, axis=1)
        return self.weights @ V


class Adapter:
    attention = SoftmaxAttentionAdapter(Unscaled)
'''


def test_an_adapter_object_can_provide_any_component(tmp_path: Path) -> None:
    """Not only the homework API's four: an attribute named after the component holds its
    adapter, and the check runs through the runner like every other target."""
    from eqconform.verify.isolation import run_isolated

    path = tmp_path / "attention_adapter.py"
    path.write_text(ATTENTION_ADAPTER)
    specs = engine.checkable(select_specs(["attention.scores", "attention.softmax", "layernorm.mean"]))
    results = {(r.spec, r.target): r for r in run_isolated(
        specs, [(f"file:{path}:Adapter", "unscaled"), ("numpy", "numpy")], SearchSettings(max_examples=10), timeout=120)}
    assert results[("attention.scores", "unscaled")].outcome is Outcome.FAIL
    assert results[("attention.softmax", "unscaled")].outcome is Outcome.PASS  # softmax of its own scores
    assert results[("layernorm.mean", "unscaled")].outcome is Outcome.SKIP
    assert "provides no 'layernorm' method" in results[("layernorm.mean", "unscaled")].message
    assert {results[(s.id, "numpy")].outcome for s in specs} == {Outcome.PASS}


@pytest.mark.parametrize(("defaults", "problem"), [
    ({"adam": {"lr": 1e-3, "beta1": 0.9}, "layernorm": {"eps": 1e-5}, "dropout": {"p": None}}, None),
    ({"batchnorm": {"eps": 1e-5}}, "names the component 'batchnorm'; defaults are given for adam, adamw, layernorm, dropout"),
    ({"adam": {"learning_rate": 1e-3}}, "gives 'adam' a hyperparameter 'learning_rate'; its hyperparameters are lr, beta1"),
    ({"layernorm": {"eps": "1e-5"}}, "gives layernorm.eps the value str '1e-5', not a number"),
    ({"dropout": 0.5}, "gives float 0.5 for 'dropout', not a dict of hyperparameters"),
])
def test_defaults_follow_a_documented_schema(defaults: dict, problem: str | None) -> None:
    class WithDefaults:
        def defaults(self):
            return defaults

    target = ObjectTarget(WithDefaults())
    if problem is None:
        assert target.defaults() == defaults
    else:
        with pytest.raises(TargetLoadError, match=re.escape(problem)):
            target.defaults()


def test_report_help_lists_every_target_form(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for form in ("numpy", "mytorch:PATH", "torch", "jax", "python:MODULE:ATTR", "file:PATH.py:ATTR", "plugin"):
        assert form in text, form


DESCRIBED = '''
import numpy as np


class Adapter:
    description = "a LayerNorm from somewhere else"

    def layernorm(self, Z, gamma, beta, eps, G):
        mu = Z.mean(axis=1, keepdims=True)
        std = np.sqrt(((Z - mu) ** 2).mean(axis=1, keepdims=True) + eps)
        Zhat = (Z - mu) / std
        dZhat = G * gamma
        dZ = (dZhat - dZhat.mean(1, keepdims=True) - Zhat * (dZhat * Zhat).mean(1, keepdims=True)) / std
        return {"Ztilde": Zhat * gamma + beta, "dLdZ": dZ, "dLdgamma": (G * Zhat).sum(0, keepdims=True),
                "dLdbeta": G.sum(0, keepdims=True)}
'''


@pytest.mark.parametrize("isolation", [[], ["--in-process"]], ids=["runner", "in-process"])
def test_a_file_adapter_describes_itself_in_the_report(tmp_path: Path, isolation: list[str]) -> None:
    import json

    adapter = tmp_path / "described.py"
    adapter.write_text(DESCRIBED, encoding="utf-8")
    out = tmp_path / "report"
    code = main(["report", "--target", f"file:{adapter}:Adapter", "--spec", "layernorm.mean", "-o", str(out),
                 "--max-examples", "5", "--no-examples-db", "--quiet", *isolation])
    assert code == 0
    (target,) = json.loads((out / "report.json").read_text(encoding="utf-8"))["targets"]
    assert target["description"] == "a LayerNorm from somewhere else"
