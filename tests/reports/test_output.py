"""Writing report files: atomic, all-or-nothing, and clear about why it failed."""

import errno
import json
import os
from pathlib import Path

import pytest
from eqconform.reports import RENDERERS, ReportWriteError, output, write_report, write_text
from eqconform.verify.results import Report

OLD_FILES = {"report.json": '{"old": true}\n', "index.html": "<p>old</p>\n",
             "report.md": "# old\n", "junit.xml": "<testsuites/>\n"}


class Exploding:
    """A renderer that fails, as a buggy format would, after the others have rendered."""

    name = "exploding"
    filename = "exploding.txt"

    def render(self, report: Report) -> str:
        raise RuntimeError("renderer bug")


class Unencodable:
    """A renderer whose text cannot be written as UTF-8 (a lone surrogate): staging fails."""

    name = "unencodable"
    filename = "unencodable.txt"

    def render(self, report: Report) -> str:
        return "half written \ud800"


def _listing(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text("utf-8") for path in sorted(directory.iterdir())}


def _old_report(directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in OLD_FILES.items():
        (directory / name).write_text(text, "utf-8")
    return _listing(directory)


# write_text ---------------------------------------------------------------------------------------


def test_write_text_creates_parent_directories(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "report.md"
    write_text(target, "héllo ∞\n")
    assert target.read_bytes() == "héllo ∞\n".encode()
    assert _listing(target.parent) == {"report.md": "héllo ∞\n"}


def test_write_text_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("a much longer old content that must not leave a tail behind\n")
    write_text(str(target), "new\n")
    assert target.read_text() == "new\n"


def test_write_text_leaves_the_umask_in_charge_of_permissions(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_text(tmp_path / "report.md", "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == 0o644


def test_dash_means_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_text("-", "to the terminal\n")
    assert capsys.readouterr().out == "to the terminal\n"
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        write_text(target, "new \ud800")
    assert _listing(tmp_path) == {"report.md": "old\n"}


def test_failed_rename_keeps_the_old_file_and_names_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.md"
    target.write_text("old\n")

    def full_disk(source: object, destination: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output.os, "replace", full_disk)
    with pytest.raises(ReportWriteError) as raised:
        write_text(target, "new\n")
    assert raised.value.errno == errno.ENOSPC
    assert str(target) in str(raised.value) and "No space left" in str(raised.value)
    assert _listing(tmp_path) == {"report.md": "old\n"}


def test_unwritable_directory_is_a_clear_oserror(tmp_path: Path) -> None:
    # Tests run as root, which ignores permission bits; a path below a regular file is
    # unwritable for everyone.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    target = blocker / "report" / "index.html"
    with pytest.raises(ReportWriteError) as raised:
        write_text(target, "x")
    assert isinstance(raised.value, OSError)
    assert str(raised.value).startswith("cannot write report file ")
    assert str(target) in str(raised.value)
    assert raised.value.filename == str(target)


# write_report -------------------------------------------------------------------------------------


def test_write_report_writes_every_format(tmp_path: Path, report: Report) -> None:
    directory = tmp_path / "conformance-report"
    written = write_report(report, directory)
    assert written == [directory / renderer.filename for renderer in RENDERERS.values()]
    assert sorted(path.name for path in directory.iterdir()) == sorted(
        ["report.json", "report.md", "index.html", "junit.xml"])
    assert json.loads((directory / "report.json").read_text("utf-8"))["format"] == 1
    assert (directory / "index.html").read_text("utf-8") == RENDERERS["html"].render(report)


def test_write_report_writes_only_the_chosen_formats(tmp_path: Path, report: Report) -> None:
    assert write_report(report, tmp_path, ["junit", "json"]) == [
        tmp_path / "junit.xml", tmp_path / "report.json"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["junit.xml", "report.json"]


def test_a_single_format_name_is_not_split_into_letters(tmp_path: Path, report: Report) -> None:
    assert write_report(report, tmp_path, "markdown") == [tmp_path / "report.md"]


def test_a_raising_renderer_writes_nothing(tmp_path: Path, report: Report) -> None:
    directory = tmp_path / "fresh"
    with pytest.raises(RuntimeError, match="renderer bug"):
        write_report(report, directory, ["json", "html", Exploding()])
    assert not directory.exists()


def test_a_raising_renderer_leaves_an_old_report_untouched(tmp_path: Path, report: Report) -> None:
    before = _old_report(tmp_path / "out")
    with pytest.raises(RuntimeError):
        write_report(report, tmp_path / "out", [*RENDERERS, Exploding()])
    assert _listing(tmp_path / "out") == before


def test_a_later_write_failure_replaces_no_earlier_file(tmp_path: Path, report: Report) -> None:
    before = _old_report(tmp_path / "out")
    # json and html render and stage fine; the third file cannot be staged.
    with pytest.raises(UnicodeEncodeError):
        write_report(report, tmp_path / "out", ["json", "html", Unencodable()])
    assert _listing(tmp_path / "out") == before


def test_write_report_into_an_unwritable_directory(tmp_path: Path, report: Report) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ReportWriteError) as raised:
        write_report(report, blocker / "report")
    assert str(blocker / "report") in str(raised.value)
    assert _listing(tmp_path) == {"file": ""}


def test_write_report_to_stdout_takes_one_format(
    report: Report, capsys: pytest.CaptureFixture[str]
) -> None:
    assert write_report(report, "-", ["junit"]) == []
    assert capsys.readouterr().out == RENDERERS["junit"].render(report)
    with pytest.raises(ValueError, match="exactly one format"):
        write_report(report, "-", ["junit", "json"])


def test_write_report_rejects_unknown_and_clashing_formats(tmp_path: Path, report: Report) -> None:
    with pytest.raises(KeyError, match="known formats"):
        write_report(report, tmp_path, ["json", "pdf"])

    class SecondJson(Exploding):
        filename = "report.json"

    with pytest.raises(ValueError, match=r"report\.json"):
        write_report(report, tmp_path, ["json", SecondJson()])
    assert list(tmp_path.iterdir()) == []
