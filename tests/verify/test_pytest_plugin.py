"""The pytest plugin: ``pytest --eqconform`` on a small project of its own (pytester)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# Imported here so that pytester's in-process runs find them loaded: it removes the modules a
# run imports when the run ends, and NumPy cannot be imported twice in one process.
import eqconform.verify.engine  # noqa: F401
import pytest
from eqconform.specs import select_specs

pytest_plugins = ["pytester"]

LAYERNORM_SPECS = [spec.id for spec in select_specs(["layernorm"])]

# A project's own LayerNorm, right (Good) and with Bessel's correction in the variance (Broken).
# Both expose the mean and the variance, so the wrong variance is caught on eq. (2) alone and
# every other equation is judged from the implementation's own variance, and holds.
ADAPTERS = textwrap.dedent('''
    import numpy as np


    def layer_norm(Z, gamma, beta, eps, G, ddof=0):
        C = Z.shape[1]
        mu = Z.mean(axis=1, keepdims=True)
        sigma2 = ((Z - mu) ** 2).sum(axis=1, keepdims=True) / (C - ddof)
        Zhat = (Z - mu) / np.sqrt(sigma2 + eps)
        dLdZhat = G * gamma
        dLdZ = (C * dLdZhat - dLdZhat.sum(axis=1, keepdims=True)
                - Zhat * (dLdZhat * Zhat).sum(axis=1, keepdims=True)) / (C * np.sqrt(sigma2 + eps))
        return {"Ztilde": Zhat * gamma + beta, "dLdZ": dLdZ, "dLdgamma": (G * Zhat).sum(axis=0, keepdims=True),
                "dLdbeta": G.sum(axis=0, keepdims=True), "mu": mu, "sigma2": sigma2}


    class Good:
        def layernorm(self, Z, gamma, beta, eps, G):
            return layer_norm(Z, gamma, beta, eps, G)


    class Broken:
        def layernorm(self, Z, gamma, beta, eps, G):
            return layer_norm(Z, gamma, beta, eps, G, ddof=1)


    class Raising:
        def layernorm(self, Z, gamma, beta, eps, G):
            raise ValueError("not implemented yet")


    class NoLayerNorm:
        def dropout(self, p, seed):
            raise NotImplementedError
''')

GOOD, BROKEN = "file:adapters.py:Good", "file:adapters.py:Broken"
BASE = ("-p", "no:cacheprovider", "--eqconform", "--eqconform-max-examples", "20", "--eqconform-derandomize")


def literal(text: str) -> str:
    """``text`` as an fnmatch pattern that matches exactly it (``[`` and ``]`` are special)."""
    return "".join(f"[{char}]" if char in "[]*?" else char for char in text)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(adapters=ADAPTERS)
    return pytester


def test_one_item_per_spec_and_target_with_readable_ids(project: pytest.Pytester) -> None:
    result = project.runpytest(*BASE, "--eqconform-target", GOOD, "--eqconform-target", BROKEN,
                               "--eqconform-spec", "layernorm", "-v")
    result.assert_outcomes(passed=2 * len(LAYERNORM_SPECS) - 1, failed=1)
    expected = []
    for spec in LAYERNORM_SPECS:
        expected.append(f"eqconform::{spec}?{GOOD}? PASSED*")
        expected.append(f"eqconform::{spec}?{BROKEN}? {'FAILED' if spec == 'layernorm.variance' else 'PASSED'}*")
    result.stdout.fnmatch_lines(expected)
    result.stdout.fnmatch_lines([f"*collected {2 * len(LAYERNORM_SPECS)} items"])
    # The failure gives the equation, its source, the finding, the counterexample and the command.
    result.stdout.fnmatch_lines([
        f"*eqconform layernorm.variance?{BROKEN}?*",
        f"layernorm.variance?{BROKEN}?: the implementation does not follow the equation",
        "  LayerNorm per-sample (biased) variance",
        "  CMU 11-785 Homework 1 Bonus, Spring 2026, sec. 6.1, eq. (2)",
        literal("  sigma2[i] = Sum((Z[i, j] - mu[i])**2, (j, 1, C))/C") + "*unbiased (known deviation)*",
        "  it follows: unbiased",
        "*sigma2[[]0, 0[]] = *the equation gives*known deviation 'unbiased'*",
        "Minimal counterexample:",
        "    N=*, C=*",
        "Reproduce:",
        literal(f"    eqconform report --target {BROKEN} --spec layernorm.variance --seed 0 --max-examples 20 "
                "-o eqconform-repro"),
    ])
    result.stdout.fnmatch_lines([f"FAILED eqconform::layernorm.variance?{BROKEN}? - *"])


def test_errors_fail_as_errors_of_the_target_and_missing_components_skip(project: pytest.Pytester) -> None:
    result = project.runpytest(*BASE, "--eqconform-target", "file:adapters.py:Raising", "--eqconform-target",
                               "file:adapters.py:NoLayerNorm", "--eqconform-spec", "layernorm.mean", "-rs")
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        ("layernorm.mean?file:adapters.py:Raising?: ERROR of the target (it could not be checked; this is not a "
         "mismatch with the equation)"),
        "the target raised ValueError: not implemented yet*",
    ])
    result.stdout.fnmatch_lines([literal("SKIPPED [1] eqconform::layernorm.mean[file:adapters.py:NoLayerNorm]: "
                                         "file:adapters.py:NoLayerNorm provides no 'layernorm' method")])
    assert "pytest_plugin.py" not in result.stdout.str()  # the skip is located at the check, not the plugin


def test_collect_only_and_keyword_selection(project: pytest.Pytester) -> None:
    result = project.runpytest("-p", "no:cacheprovider", "--eqconform", "--eqconform-spec", "layernorm.m*",
                               "--eqconform-target", "numpy", "--eqconform-target", GOOD, "--co", "-q",
                               "-k", "numpy")
    assert [line for line in result.outlines if line.startswith("eqconform::")] == ["eqconform::layernorm.mean[numpy]"]
    result = project.runpytest("-p", "no:cacheprovider", "--eqconform", "--co", "-q", "-m", "eqconform")
    collected = [line for line in result.outlines if line.startswith("eqconform::")]
    assert collected and all(line.endswith("[numpy]") for line in collected)  # numpy is the default
    assert "eqconform::adam.update[numpy]" in collected
    assert "eqconform::layernorm_exam.demean_jacobian[numpy]" not in collected  # proof only: not checked on targets


def test_xfail_file(project: pytest.Pytester) -> None:
    project.path.joinpath("known.txt").write_text(textwrap.dedent(f"""\
        # known failures
        layernorm.variance[{BROKEN}]  # Bessel's correction, fixed in the next release

        adam.update[numpy]  # stale: adam is not checked in this run
    """))
    result = project.runpytest(*BASE, "--eqconform-target", BROKEN, "--eqconform-spec", "layernorm.variance",
                               "--eqconform-spec", "layernorm.mean", "--eqconform-xfail", "known.txt", "-rx")
    result.assert_outcomes(passed=1, xfailed=1, warnings=1)
    result.stdout.fnmatch_lines([
        literal(f"XFAIL eqconform::layernorm.variance[{BROKEN}] - Bessel's correction, fixed in the next release")])
    result.stdout.fnmatch_lines([
        "*" + literal("known.txt:4: EqconformXfailWarning: 'adam.update[numpy]' matches no eqconform check of "
                      "this run") + "*"])

    # A check that is expected to fail but passes is reported (strict): the line can go.
    project.path.joinpath("known.txt").write_text(f"layernorm.mean[{GOOD}]  # wrongly listed\n")
    result = project.runpytest(*BASE, "--eqconform-target", GOOD, "--eqconform-spec", "layernorm.mean",
                               "--eqconform-xfail", "known.txt")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*wrongly listed*"])

    project.path.joinpath("known.txt").write_text("layernorm.mean[numpy]\n")
    result = project.runpytest(*BASE, "--eqconform-xfail", "known.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*" + literal("eqconform: known.txt:1: 'layernorm.mean[numpy]' gives no reason; "
                                               "write `ID  # reason`")])


def test_settings_from_options_ini_and_profiles(project: pytest.Pytester) -> None:
    project.makeconftest("""
        from hypothesis import settings
        settings.register_profile("thorough", max_examples=321)
    """)
    project.makeini(f"""
        [pytest]
        eqconform_targets =
            {GOOD}
        eqconform_specs = layernorm.mean
    """)
    result = project.runpytest("-p", "no:cacheprovider", "--eqconform", "--eqconform-profile", "thorough",
                               "--eqconform-seed", "7", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        (f"eqconform: 1 specs on {GOOD}; 321 examples per check, seed 7; counterexamples remembered in "
        f"{project.path / '.eqconform' / 'examples'}"),
        f"eqconform::layernorm.mean?{GOOD}? PASSED*",
    ])
    # The command line wins over the profile; without a seed, each session draws one and says so.
    result = project.runpytest("-p", "no:cacheprovider", "--eqconform", "--eqconform-profile", "thorough",
                               "--eqconform-max-examples", "5", "--eqconform-no-examples-db")
    result.stdout.fnmatch_lines([("eqconform: 1 specs on *; 5 examples per check, seed * (repeat with "
                                 "--eqconform-seed *); no example database")])


@pytest.mark.parametrize(("arguments", "message"), [
    (["--eqconform-target", "tensorflow"], "*eqconform: unknown target 'tensorflow'*"),
    (["--eqconform-spec", "nosuch.*"], "*eqconform: no spec matches 'nosuch.[*]'*"),
    (["--eqconform-profile", "nosuch"], "*eqconform: no Hypothesis profile 'nosuch' is registered*"),
    (["--eqconform-max-examples", "0"], "*eqconform: the number of examples must be at least 1, got 0"),
    (["--eqconform-xfail", "missing.txt"], "*eqconform: cannot read the xfail file 'missing.txt'*"),
])
def test_usage_errors(project: pytest.Pytester, arguments: list[str], message: str) -> None:
    result = project.runpytest("-p", "no:cacheprovider", "--eqconform", *arguments)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_without_the_flag_the_plugin_adds_nothing_and_imports_nothing(tmp_path: Path) -> None:
    """Run in a fresh interpreter: the plugin is loaded (entry point), eqconform's checks and
    its heavy dependencies are not."""
    (tmp_path / "test_light.py").write_text(textwrap.dedent("""
        import sys

        def test_nothing_heavy_was_imported(pytestconfig):
            assert pytestconfig.pluginmanager.has_plugin("eqconform")
            heavy = sorted(name for name in sys.modules
                           if name.split(".")[0] in {"numpy", "sympy", "hypothesis"}
                           or (name.startswith("eqconform.") and name != "eqconform.verify.pytest_plugin"
                               and name != "eqconform.verify"))
            assert heavy == []
    """))
    completed = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
                               capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 passed" in completed.stdout and "eqconform::" not in completed.stdout
