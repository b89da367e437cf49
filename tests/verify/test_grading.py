"""Grading a class: handins found and unpacked safely, rubrics, resumable grades, the same
gradebook from the local pool and from a Dask cluster."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from eqconform.reports.gradebook import render_gradebook_csv, render_gradebook_json
from eqconform.verify import handins as handins_module
from eqconform.verify.grading import (
    GradeSettings,
    Rubric,
    RubricError,
    grade_class,
    handin_specs,
)
from eqconform.verify.handins import UnsafeArchive, find_handins, unpack

HANDINS = Path(__file__).parent.parent / "handins"
HOSTILE = Path(__file__).parent.parent / "hostile"
#: Adam alone, few examples: what these tests need is the grading around the audits.
FEW = GradeSettings(max_examples=10, specs=("adam",))


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _tar(path: Path, add: callable) -> Path:  # type: ignore[valid-type]
    with tarfile.open(path, "w:gz") as archive:
        add(archive)
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _file(archive: tarfile.TarFile, name: str, data: bytes = b"x = 1\n") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


# --------------------------------------------------------------------------- handins


def test_folders_and_archives_nested_one_level_are_handins(tmp_path: Path) -> None:
    shutil.copytree(HANDINS / "correct_spring", tmp_path / "alice")
    shutil.make_archive(str(tmp_path / "bob"), "zip", HANDINS, "correct_fall")  # bob.zip/correct_fall/
    shutil.make_archive(str(tmp_path / "carol"), "gztar", HANDINS / "correct_spring")
    found = find_handins(
        [tmp_path / "alice", tmp_path / "bob.zip", tmp_path / "carol.tar.gz"], tmp_path / "out"
    )
    assert [(h.name, h.problem) for h in found] == [("alice", ""), ("bob", ""), ("carol", "")]
    assert found[1].root == tmp_path / "out" / "bob" / "correct_fall"
    assert (found[2].root / "mytorch" / "optim" / "adam.py").is_file()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: _zip(p / "h.zip", {"../evil.py": b"1"}), "outside the handin"),
        (lambda p: _zip(p / "h.zip", {"/etc/evil.py": b"1"}), "outside the handin"),
        (lambda p: _tar(p / "h.tar.gz", lambda a: _file(a, "a/../../evil.py")), "outside the handin"),
        (lambda p: _tar(p / "h.tar.gz", lambda a: a.addfile(_link("mytorch", "/etc"))), "link"),
        (lambda p: _bytes(p / "h.zip", b"PK\x03\x04 not a zip"), "cannot be read"),
    ],
    ids=["zip ..", "zip absolute", "tar ..", "tar symlink", "corrupt zip"],
)
def test_hostile_and_corrupt_archives_are_refused_and_leave_nothing(tmp_path, make, reason) -> None:
    archive = make(tmp_path)
    (found,) = find_handins([archive], tmp_path / "out")
    assert found.root is None and reason in found.problem, found
    assert not (tmp_path / "out" / "h").exists()
    assert not (tmp_path / "evil.py").exists() and not Path("/etc/evil.py").exists()


def _link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def test_archives_too_large_or_with_too_many_members_are_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(handins_module, "MAX_FILES", 3)
    many = _zip(tmp_path / "many.zip", {f"mytorch/f{i}.py": b"1" for i in range(4)})
    with pytest.raises(UnsafeArchive, match="more than 3 members"):
        unpack(many, tmp_path / "out")
    monkeypatch.setattr(handins_module, "MAX_BYTES", 2**20)
    # The size is counted while writing: a member that says it is small cannot get past.
    big = _zip(tmp_path / "big.zip", {"mytorch/a.py": b"0" * (2**20 + 1)})
    with pytest.raises(UnsafeArchive, match="MiB unpacked"):
        unpack(big, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_what_is_no_handin_is_said_and_a_second_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README").write_text("hello")
    (tmp_path / "essay.pdf").write_bytes(b"%PDF")
    shutil.copytree(HANDINS / "correct_spring", tmp_path / "a" / "dana")
    shutil.copytree(HANDINS / "correct_fall", tmp_path / "b" / "dana")
    found = find_handins(
        [tmp_path / p for p in ("empty", "notes", "essay.pdf", "missing", "a/dana", "b/dana")],
        tmp_path / "out",
    )
    problems = [h.problem for h in found]
    assert problems[0] == "empty"
    assert "no mytorch/ folder" in problems[1]
    assert "neither a folder nor an archive" in problems[2]
    assert "no such file or folder" in problems[3]
    assert problems[4] == "" and "same name 'dana'" in problems[5]


# --------------------------------------------------------------------------- rubrics


def test_the_default_rubric_gives_each_component_equal_points() -> None:
    specs = handin_specs()
    rubric = Rubric.default(specs)
    assert rubric.total == pytest.approx(100)
    by_component: dict[str, float] = {}
    for spec in specs:
        by_component[spec.component] = by_component.get(spec.component, 0) + rubric.points[spec.id]
    assert by_component == pytest.approx({"adam": 25, "adamw": 25, "layernorm": 25, "dropout": 25})


def test_a_rubric_file_shares_a_pattern_s_points_and_refuses_what_it_cannot_use(tmp_path) -> None:
    specs = handin_specs()
    path = tmp_path / "rubric.toml"
    path.write_text('[points]\nadam = 40\n"adam.update" = 5\n"layernorm.grad_*" = 30\n')
    rubric = Rubric.load(path, specs)
    assert rubric.points["adam.first_moment"] == pytest.approx(10)
    assert rubric.points["adam.update"] == pytest.approx(5)
    grads = [s for s in rubric.points if s.startswith("layernorm.grad_")]
    assert len(grads) == 4 and sum(rubric.points[s] for s in grads) == pytest.approx(30)
    assert "dropout.backward" not in rubric.points
    for text, said in [
        ('[points]\n"adam.nosuch" = 1\n', "adam.nosuch"),
        ('[points]\nadam = "ten"\n', "must be a number"),
        ("[points\n", "not valid TOML"),
        ("[weights]\nadam = 1\n", "one [points] table"),
        ('[points]\n"attention.*" = 1\n', "names no spec a handin is graded on"),
    ]:
        path.write_text(text)
        with pytest.raises(RubricError, match=said.replace("[", r"\[").replace("*", r"\*")):
            Rubric.load(path, specs)


# --------------------------------------------------------------------------- a class


def _class(tmp_path: Path) -> list[Path]:
    """A small class: a correct handin, a bug, one that cannot import, a hostile one, an
    archive, an empty folder."""
    folder = tmp_path / "class"
    folder.mkdir()
    for name, source in [
        ("correct", HANDINS / "correct_spring"),
        ("uncorrected", HANDINS / "bug_adam_no_bias_correction"),
        ("broken", HANDINS / "broken_import"),
        ("attacker", HOSTILE / "patch_checker"),
    ]:
        shutil.copytree(source, folder / name, symlinks=True)
    shutil.make_archive(str(folder / "zipped"), "zip", HANDINS / "bug_adam_v_not_squared")
    (folder / "empty").mkdir()
    return sorted(folder.iterdir())


def test_a_class_graded_on_the_local_pool_and_on_a_dask_cluster_gets_one_gradebook(tmp_path) -> None:
    from distributed import LocalCluster

    paths = _class(tmp_path)
    local = grade_class(paths, tmp_path / "local", settings=FEW, jobs=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        clustered = grade_class(paths, tmp_path / "cluster", settings=FEW, scheduler=cluster.scheduler_address)
    assert render_gradebook_csv(local) == render_gradebook_csv(clustered)
    assert json.loads(render_gradebook_json(local))["handins"] == json.loads(render_gradebook_json(clustered))["handins"]
    rows = {row.name: row for row in local.rows}
    full = local.rubric.total
    assert rows["correct"].status == "graded" and rows["correct"].score == pytest.approx(full)
    for name in ("uncorrected", "zipped"):
        assert rows[name].status == "graded" and 0 < rows[name].score < full, rows[name]
    assert rows["broken"].status == "graded" and rows["broken"].score == 0
    assert rows["attacker"].score < full
    assert rows["empty"].status == "not graded" and rows["empty"].reason == "empty"
    # Each graded handin has its report, in all four formats.
    for name in ("correct", "uncorrected", "broken", "attacker", "zipped"):
        report = tmp_path / "local" / "handins" / name / "report"
        assert {p.name for p in report.iterdir()} >= {"report.json", "report.md", "index.html", "junit.xml"}


def test_a_second_run_audits_only_the_handins_that_changed(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    shutil.copytree(HANDINS / "correct_spring", folder / "ann")
    shutil.copytree(HANDINS / "bug_adam_swapped_beta1", folder / "ben")
    paths = sorted(folder.iterdir())
    first = grade_class(paths, tmp_path / "out", settings=FEW, jobs=2)
    assert not any(row.cached for row in first.rows)
    again = grade_class(paths, tmp_path / "out", settings=FEW, jobs=2)
    assert all(row.cached for row in again.rows)
    assert [r.score for r in again.rows] == [r.score for r in first.rows]
    # ben fixes his bug: only ben is audited again, and now gets full marks.
    shutil.rmtree(folder / "ben")
    shutil.copytree(HANDINS / "correct_spring", folder / "ben")
    fixed = grade_class(paths, tmp_path / "out", settings=FEW, jobs=2)
    assert [row.cached for row in fixed.rows] == [True, False]
    assert fixed.rows[1].score == pytest.approx(fixed.rubric.total)
    assert first.rows[1].score < fixed.rows[1].score
    # Other options, another grade: nothing is taken from the earlier runs.
    other = grade_class(paths, tmp_path / "out", settings=GradeSettings(max_examples=11, specs=("adam",)), jobs=2)
    assert not any(row.cached for row in other.rows)
    # A corrupt grade file is never trusted: that handin is audited again.
    (tmp_path / "out" / "handins" / "ann" / "grade.json").write_text("{not json")
    last = grade_class(paths, tmp_path / "out", settings=GradeSettings(max_examples=11, specs=("adam",)), jobs=2)
    assert [row.cached for row in last.rows] == [False, True]


def test_the_command_writes_the_gradebook_and_refuses_bad_input(tmp_path: Path) -> None:
    shutil.copytree(HANDINS / "correct_spring", tmp_path / "eve")
    command = [sys.executable, "-m", "eqconform.verify", "grade", str(tmp_path / "eve"), "-o", str(tmp_path / "out")]
    env = {**os.environ}
    done = subprocess.run([*command, "--spec", "adam.update", "--max-examples", "5", "-j", "1"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert "1 handins: 1 graded" in done.stdout and "[1/1] eve: 100/100" in done.stderr
    lines = (tmp_path / "out" / "gradebook.csv").read_text().splitlines()
    assert lines == ["name,status,score,max_score,reason,adam.update", "eve,graded,100,100,,100"]
    (tmp_path / "rubric.toml").write_text('[points]\n"adam.nosuch" = 1\n')
    for extra, said in [
        (["--spec", "adam.nosuch"], "adam.nosuch"),
        (["--spec", "attention"], "selects no spec of a handin"),
        (["--rubric", str(tmp_path / "rubric.toml")], "adam.nosuch"),
        (["-j", "2", "--scheduler", "tcp://127.0.0.1:1"], "exclude each other"),
    ]:
        refused = subprocess.run([*command, *extra], capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr


def test_a_handin_s_digest_does_not_follow_its_links(tmp_path: Path) -> None:
    from eqconform.verify.handins import content_digest

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("one")
    handin = tmp_path / "h"
    shutil.copytree(HANDINS / "correct_spring", handin)
    before = content_digest(handin)
    (handin / "everything").symlink_to(outside, target_is_directory=True)
    (handin / "notes").symlink_to(outside / "secret.txt")
    linked = content_digest(handin)
    assert linked != before  # the links are part of the handin
    (outside / "secret.txt").write_text("two")
    (outside / "more.txt").write_text("three")
    assert content_digest(handin) == linked  # what they point to is not
    (handin / "mytorch" / "optim" / "adam.py").write_text("# changed\n")
    assert content_digest(handin) != linked
