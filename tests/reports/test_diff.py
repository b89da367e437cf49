"""``eqconform diff`` and ``eqconform report --baseline``: what regressed between two reports."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from eqconform.verify.cli import main
from eqconform.reports.diff import diff_reports, load_report, render_diff
from eqconform.verify.results import Report

HANDINS = Path(__file__).parent.parent / "handins"
# Dropout's exact specs: no claim to prove, so each report takes a second or two.
SPECS = ["--spec", "dropout.eval", "--spec", "dropout.backward"]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Reports of one handin folder: correct, the same code again, then with a bug planted."""
    root = tmp_path_factory.mktemp("diff")
    handin = root / "handin"
    examples = ["--examples-dir", str(root / "examples")]

    def report(name: str, *extra: str) -> Path:
        main(["report", "--target", f"mytorch:{handin}", *SPECS, "--max-examples", "10", "-o", str(root / name),
              "--quiet", *examples, *extra])
        return root / name / "report.json"

    shutil.copytree(HANDINS / "correct_spring", handin)
    correct, again = report("correct"), report("again")
    shutil.rmtree(handin)
    shutil.copytree(HANDINS / "bug_dropout_scales_in_eval", handin)
    broken = report("broken", "--baseline", str(correct))
    return {"correct": correct, "again": again, "broken": broken}


def test_a_broken_handin_against_a_correct_one_lists_the_regression_and_exits_1(
        reports: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["diff", str(reports["correct"]), str(reports["broken"])]) == 1
    out = capsys.readouterr().out
    assert out.startswith("## eqconform: 1 regression\n")
    assert "| ❌ Regressions (pass or skip → fail or error) | 1 |" in out
    assert "| Unchanged | 1 |" in out
    section = out.split("### ❌ Regressions", 1)[1]
    assert "| `dropout.eval` | mytorch:" in section and "| ✅ pass | ❌ fail |" in section
    assert "`dropout.backward`" not in section
    assert "<summary>dropout.eval on mytorch:" in section
    assert "eqconform report --target mytorch:" in section and "--spec dropout.eval" in section
    assert "Minimal counterexample:" in section


def test_two_reports_of_the_same_code_differ_in_nothing_and_exit_0(
        reports: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["diff", str(reports["correct"]), str(reports["again"])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## eqconform: no regressions\n")
    assert "No differences: 2 results compared, each with the same outcome and variant." in out
    assert "###" not in out


def test_the_other_way_round_the_bug_is_a_fix(reports: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["diff", str(reports["broken"].parent), str(reports["correct"].parent)]) == 0  # folders work too
    out = capsys.readouterr().out
    assert out.startswith("## eqconform: no regressions, 1 fix\n")
    assert "### ✅ Fixes" in out and "| ❌ fail | ✅ pass |" in out


def test_markdown_goes_to_a_file_with_dash_o(reports: dict[str, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "comment" / "diff.md"
    assert main(["diff", str(reports["correct"]), str(reports["broken"]), "-o", str(target)]) == 1
    assert capsys.readouterr().out == ""
    assert target.read_text(encoding="utf-8").startswith("## eqconform: 1 regression\n")


def test_report_with_a_baseline_marks_the_changes(reports: dict[str, Path]) -> None:
    data = json.loads(reports["broken"].read_text())
    changes = {result["spec"]: result.get("change") for result in data["results"]}
    assert changes == {"dropout.eval": "regressed", "dropout.backward": None}
    assert data["baseline"]["file"] == str(reports["correct"])
    assert data["baseline"]["counts"] == {"regressed": 1, "fixed": 0, "variant changed": 0, "changed": 0, "new": 0}
    assert data["baseline"]["removed"] == []
    markdown = (reports["broken"].parent / "report.md").read_text()
    assert "Against the baseline " in markdown and ": 1 regressed, 0 fixed" in markdown
    assert "| Max error | Change |" in markdown and "| 🔺 regressed |" in markdown
    assert "❌ fail (🔺 regressed since the baseline)" in markdown
    html = (reports["broken"].parent / "index.html").read_text()
    assert '<span class="badge fail change">regressed</span>' in html
    assert '<p class="baseline legend">Against the baseline' in html


def test_reports_without_a_baseline_carry_no_marks(reports: dict[str, Path]) -> None:
    data = json.loads(reports["correct"].read_text())
    assert "baseline" not in data
    assert all("change" not in result for result in data["results"])
    markdown = (reports["correct"].parent / "report.md").read_text()
    assert "Change" not in markdown and "baseline" not in markdown


def test_the_summary_line_counts_changes_against_the_baseline(
        reports: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--spec", "dropout.eval", "--max-examples", "3", "-o", str(tmp_path), "--no-examples-db",
                 "--baseline", str(reports["correct"])])
    assert code == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.endswith("; against the baseline: 0 regressed, 0 fixed, 0 variant changes")
    data = json.loads((tmp_path / "report.json").read_text())
    # One target each: the handin of the baseline is compared with numpy.
    assert data["baseline"]["paired_targets"][1] == "numpy"
    assert [item["spec"] for item in data["baseline"]["removed"]] == ["dropout.backward"]


# --------------------------------------------------------------------------- comparison rules

def _report(*results: tuple[str, str, str, str | None], targets: list[str] | None = None) -> Report:
    return Report.from_dict(_data(*results, targets=targets))


def _data(*results: tuple[str, str, str, str | None], targets: list[str] | None = None) -> dict[str, Any]:
    """The report.json of these (spec, target, outcome, variant) results."""
    names = targets if targets is not None else list(dict.fromkeys(target for _, target, _, _ in results))
    return {
        "format": 1,
        "meta": {"seed": 0, "max_examples": 100},
        "targets": [{"name": name} for name in names],
        "specs": [{"id": spec} for spec in dict.fromkeys(spec for spec, _, _, _ in results)],
        "results": [{"spec": spec, "target": target, "outcome": outcome, "variant": variant, "message": "m"}
                    for spec, target, outcome, variant in results],
    }


@pytest.mark.parametrize(("before", "after", "kind"), [
    (("pass", None), ("fail", None), "regressions"),
    (("pass", "biased"), ("error", None), "regressions"),
    (("skip", None), ("fail", None), "regressions"),
    (("fail", None), ("pass", None), "fixes"),
    (("error", None), ("pass", "biased"), "fixes"),
    (("pass", "eps-inside-sqrt"), ("pass", "eps-outside-sqrt"), "variant_changes"),
    (("fail", "unbiased"), ("fail", "other"), "variant_changes"),
    (("fail", None), ("error", None), "changed"),
    (("error", None), ("skip", None), "changed"),
    (("pass", None), ("skip", None), "changed"),
    (("pass", "biased"), ("pass", "biased"), None),
    (("fail", None), ("fail", None), None),
])
def test_each_change_of_outcome_is_classified(before: tuple[str, str | None], after: tuple[str, str | None],
                                              kind: str | None) -> None:
    old = _report(("a.b", "numpy", *before), ("a.c", "numpy", "pass", None))
    new = _report(("a.b", "numpy", *after), ("a.c", "numpy", "pass", None))
    diff = diff_reports(old, new)
    groups = {name: getattr(diff, name) for name in ("regressions", "fixes", "variant_changes", "changed")}
    for name, changes in groups.items():
        assert [change.spec for change in changes] == (["a.b"] if name == kind else []), name
    assert diff.unchanged == (2 if kind is None else 1)
    assert diff.regressed == (kind == "regressions")


def test_specs_and_targets_added_and_removed() -> None:
    old = _report(("a.b", "numpy", "pass", None), ("a.c", "numpy", "pass", None),
                  ("a.b", "torch", "pass", None), ("a.c", "torch", "pass", None))
    new = _report(("a.b", "numpy", "pass", None), ("a.d", "numpy", "fail", None),
                  ("a.b", "jax", "fail", None), ("a.d", "jax", "pass", None))
    diff = diff_reports(old, new, "old.json", "new.json")
    assert diff.added_specs == ("a.d",) and diff.removed_specs == ("a.c",)
    assert diff.added_targets == ("jax",) and diff.removed_targets == ("torch",)
    assert not diff.regressed and diff.unchanged == 1 and diff.paired_targets is None
    assert {(c.spec, c.target) for c in diff.added} == {("a.d", "numpy"), ("a.b", "jax"), ("a.d", "jax")}
    assert {(c.spec, c.target) for c in diff.removed} == {("a.c", "numpy"), ("a.b", "torch"), ("a.c", "torch")}
    markdown = render_diff(diff)
    for heading in ("### Specs added", "### Specs removed", "### Targets added", "### Targets removed"):
        assert heading in markdown
    assert "`a.d`" in markdown.split("### Specs added", 1)[1].split("###", 1)[0]
    assert "| ➕ Results only after | 3 |" in markdown and "| ➖ Results only before | 3 |" in markdown


def test_single_targets_of_different_names_are_compared_with_each_other() -> None:
    old = _report(("a.b", "mytorch:alice", "pass", None))
    new = _report(("a.b", "mytorch:bob", "fail", None))
    diff = diff_reports(old, new)
    assert diff.paired_targets == ("mytorch:alice", "mytorch:bob")
    assert [(c.spec, c.target) for c in diff.regressions] == [("a.b", "mytorch:bob")]
    assert not diff.added_targets and not diff.removed_targets
    assert "`mytorch:alice` (before) is compared with `mytorch:bob` (after)" in render_diff(diff)


def test_different_settings_are_pointed_out() -> None:
    old = _data(("a.b", "numpy", "pass", None))
    new = copy.deepcopy(old)
    new["meta"]["seed"] = 3
    assert "seed 0 before, 3 after" in render_diff(diff_reports(Report.from_dict(old), Report.from_dict(new)))


def test_text_from_the_audited_code_is_escaped() -> None:
    evil = "file:x.py:<script>alert(1)</script>|"
    old = _report(("a.b", evil, "pass", None))
    new = _data(("a.b", evil, "fail", None))
    new["results"][0]["message"] = "<img src=x onerror=alert(1)>"
    markdown = render_diff(diff_reports(old, Report.from_dict(new)))
    assert not re.search(r"(?<!\\)<(script|img)", markdown)  # every < from the audited code is escaped
    assert "\\<script\\>" in markdown and "\\<img" in markdown and "\\|" in markdown


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    ("{not json", "is not JSON (Expecting property name enclosed in double quotes at line 1)"),
    ("[1, 2]", "is not an eqconform report (no 'format' field)"),
    ('{"results": []}', "is not an eqconform report (no 'format' field)"),
    ('{"format": 99, "results": []}', "has report format 99; this eqconform reads format 1"),
    ('{"format": 1, "results": [{"spec": "a.b"}]}', "has no valid 'results' list"),
])
def test_unreadable_reports_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             content: str | None, message: str) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_data(("a.b", "numpy", "pass", None))))
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    for arguments in (["diff", str(good), str(bad)], ["diff", str(bad), str(good)],
                      ["report", "--baseline", str(bad), "-o", str(tmp_path / "out")]):
        assert main(arguments) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("eqconform: error: ") and message in err, err
    assert not (tmp_path / "out").exists()  # a bad baseline stops the report before any check runs


def test_a_report_read_back_equals_the_report_written(reports: dict[str, Path]) -> None:
    """The diff reads report.json into the one result model; nothing it compares is lost."""
    data = json.loads(reports["broken"].read_text())
    report = load_report(reports["broken"])
    assert report.to_dict()["results"] == data["results"]
    assert report.to_dict()["targets"] == data["targets"] and report.meta == data["meta"]
    assert [proof.id for proof in report.proofs] == [proof["id"] for proof in data["proofs"]]


def test_reports_written_under_former_family_names_compare_with_current_ones(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps(_data(("lnexam.demean", "numpy", "pass", None), ("wdexam.l2_update", "numpy", "pass", None))))
    new = _report(("layernorm_exam.demean", "numpy", "pass", None), ("weight_decay.l2_update", "numpy", "fail", None))
    diff = diff_reports(load_report(old), new)
    assert not diff.added_specs and not diff.removed_specs and diff.unchanged == 1
    assert [change.spec for change in diff.regressions] == ["weight_decay.l2_update"]
