"""Grading a class: every handin audited on its own, points per equation from a rubric.

Each handin is audited by ``eqconform report`` in a process of its own, as a user would run it
(sandboxed, with its own time limits, its report in all four formats in
``DIR/handins/<name>/report``),
so that nothing one handin does reaches another or the grader. The grade of a handin is
derived from that report alone (:func:`grade_row`) and kept next to it with the key it was
made under (:func:`grade_key`: the handin's content, the checker's code, the rubric and the
options); a later run with the same key takes it from there instead of auditing again, so an
interrupted class resumes where it stopped.

:func:`audit` is a plain function of plain data: the local pool and a cluster's workers run
the same function.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eqconform.specs import Spec, UnknownSpecError, select_specs

from .handins import Handin, content_digest, find_handins
from .results import Report
from .targets.mytorch import HANDIN_LAYOUT

__all__ = [
    "ClassGrades",
    "GradeRow",
    "GradeSettings",
    "Rubric",
    "RubricError",
    "audit",
    "class_page",
    "grade_class",
    "grade_key",
    "grade_row",
    "handin_specs",
]

#: What a grade file holds, and its version.
GRADE_FORMAT, GRADE_VERSION = "eqconform-grade", 1
#: A handin's audit is stopped after this long, whatever its checks' own limits.
AUDIT_SECONDS = 1800.0


class RubricError(ValueError):
    """A rubric file that cannot be used; the message says why."""


@dataclass(frozen=True)
class GradeSettings:
    """The options every handin is audited under (part of each grade's key)."""

    max_examples: int = 100
    seed: int = 0
    timeout: float | None = None
    sandbox: str = "auto"
    specs: tuple[str, ...] = ()

    def arguments(self) -> list[str]:
        """The ``eqconform report`` options these settings stand for."""
        arguments = ["--max-examples", str(self.max_examples), "--seed", str(self.seed)]
        arguments += ["--sandbox", self.sandbox, "--no-examples-db", "--quiet"]
        if self.timeout is not None:
            arguments += ["--timeout", str(self.timeout)]
        for pattern in self.specs:
            arguments += ["--spec", pattern]
        return arguments


def handin_specs(patterns: Sequence[str] = ()) -> tuple[Spec, ...]:
    """The specs a handin is graded on: those of the handin's components (``patterns`` narrow
    them), without the ones settled by proof alone."""
    return tuple(
        spec
        for spec in select_specs(list(patterns))
        if spec.component in HANDIN_LAYOUT and not spec.proof_only
    )


@dataclass(frozen=True)
class Rubric:
    """Points for each spec. The default shares :data:`DEFAULT_TOTAL` equally among the
    components graded, and each component's share equally among its specs."""

    points: Mapping[str, float]
    #: Where it came from (a file, or "default"), and its text: part of each grade's key.
    source: str = "default"
    text: str = ""

    @property
    def total(self) -> float:
        return float(sum(self.points.values()))

    @classmethod
    def default(cls, specs: Sequence[Spec]) -> Rubric:
        by_component: dict[str, list[str]] = {}
        for spec in specs:
            by_component.setdefault(spec.component, []).append(spec.id)
        share = DEFAULT_TOTAL / max(len(by_component), 1)
        points = {spec_id: share / len(ids) for ids in by_component.values() for spec_id in ids}
        return cls(points)

    @classmethod
    def load(cls, path: Path, specs: Sequence[Spec]) -> Rubric:
        """A TOML rubric: a ``[points]`` table whose keys are spec ids, families (``adam``) or
        patterns (``layernorm.grad_*``), each pattern's points shared equally by the specs it
        selects among ``specs``; a later key overrides an earlier one for the specs both name.
        Specs no key names get no points."""
        try:
            text = path.read_text(encoding="utf-8")
            table = tomllib.loads(text)
        except OSError as error:
            raise RubricError(f"cannot read the rubric {path}: {error.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise RubricError(f"the rubric {path} is not valid TOML: {error}") from None
        unknown = sorted(set(table) - {"points"})
        if unknown or not isinstance(table.get("points"), dict):
            raise RubricError(
                f"the rubric {path} needs one [points] table (found {sorted(table) or 'nothing'})"
            )
        graded = {spec.id for spec in specs}
        points: dict[str, float] = {}
        for pattern, value in table["points"].items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise RubricError(f"points for {pattern!r} must be a number >= 0, not {value!r}")
            try:
                named = [spec.id for spec in select_specs([pattern]) if spec.id in graded]
            except UnknownSpecError as error:
                raise RubricError(f"the rubric {path}: {error}") from None
            if not named:
                raise RubricError(
                    f"the rubric {path}: {pattern!r} names no spec a handin is graded on"
                )
            for spec_id in named:
                points[spec_id] = float(value) / len(named)
        return cls(points, str(path), text)


#: Points in all in the default rubric, shared equally by the components graded.
DEFAULT_TOTAL = 100.0


@functools.cache
def checker_digest() -> str:
    """A digest of the checker's own code: a grade made by other code is made again."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".html", ".css", ".toml") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def grade_key(handin: Handin, rubric: Rubric, settings: GradeSettings) -> str:
    """What a grade depends on: the handin's files, the checker, the rubric, the options."""
    assert handin.root is not None
    parts = {
        "handin": content_digest(handin.root),
        "checker": checker_digest(),
        "rubric": [rubric.source, rubric.text, sorted(rubric.points.items())],
        "settings": asdict(settings),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def audit(root: str, report_dir: str, settings: GradeSettings) -> dict[str, Any]:
    """Run ``eqconform report`` on the handin at ``root`` into ``report_dir``, in a process
    of its own; the exit status and the end of its error output. Plain data in and out: a
    cluster worker runs this as the local pool does."""
    command = [
        sys.executable,
        "-m",
        "eqconform.verify",
        "report",
        "--target",
        f"mytorch:{root}",
        "-o",
        report_dir,
        *settings.arguments(),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        _, stderr = process.communicate(timeout=AUDIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.terminate()  # it writes the report of what finished, and removes its workers
        try:
            process.communicate(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        return {"returncode": None, "stderr": f"stopped after {AUDIT_SECONDS:.0f} s"}
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)
    return {"returncode": process.returncode, "stderr": stderr[-2000:]}


#: The audits this process is waiting for, so that an interrupted class stops them (a
#: terminal's Ctrl-C reaches them too; a SIGTERM sent to eqconform alone does not).
_RUNNING: set[subprocess.Popen[str]] = set()
_RUNNING_LOCK = threading.Lock()
#: How long a stopped audit has to write its report before it is killed.
STOP_SECONDS = 30.0


def stop_audits() -> None:
    """Stop the audits running here: SIGTERM, so that each writes the report of what it
    finished (marked INCOMPLETE) and removes its own workers; SIGKILL if it has not ended
    within ``STOP_SECONDS``. Their own threads collect them."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    while any(process.poll() is None for process in running) and time.monotonic() < deadline:
        time.sleep(0.1)
    for process in running:
        if process.poll() is None:
            process.kill()


@dataclass(frozen=True)
class GradeRow:
    """One handin's line of the gradebook."""

    name: str
    source: str
    #: "graded", or "not graded" (then ``reason`` says why and the score is 0).
    status: str
    score: float
    max_score: float
    points: Mapping[str, float] = field(default_factory=dict)
    outcomes: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""
    #: Taken from an earlier run (same key) rather than audited again.
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GradeRow:
        return cls(**data)


def not_graded(handin: Handin, rubric: Rubric, reason: str) -> GradeRow:
    return GradeRow(handin.name, str(handin.source), "not graded", 0.0, rubric.total, reason=reason)


def grade_row(handin: Handin, rubric: Rubric, report: Report) -> GradeRow:
    """The handin's points from its report: a spec's points when it passes, none otherwise
    (a fail, an error, a component missing from the handin)."""
    status = str(report.meta.get("status", ""))
    if status:
        return not_graded(handin, rubric, f"its audit did not finish: {status}")
    outcomes = {
        result.spec: result.outcome.value
        for result in report.results
        if result.spec in rubric.points
    }
    points = {
        spec_id: (value if outcomes.get(spec_id) == "pass" else 0.0)
        for spec_id, value in rubric.points.items()
    }
    return GradeRow(
        handin.name,
        str(handin.source),
        "graded",
        round(sum(points.values()), 6),
        rubric.total,
        points,
        {spec_id: outcomes.get(spec_id, "missing") for spec_id in rubric.points},
    )


def load_grade(path: Path, key: str) -> GradeRow | None:
    """The grade kept at ``path`` when it was made under ``key``; None otherwise (absent,
    another key, unreadable: made again, never trusted blindly)."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        if kept.get("format") != GRADE_FORMAT or kept.get("version") != GRADE_VERSION:
            return None
        if kept.get("key") != key:
            return None
        return GradeRow.from_dict(kept["row"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def grade_text(row: GradeRow, key: str) -> str:
    return json.dumps(
        {"format": GRADE_FORMAT, "version": GRADE_VERSION, "key": key, "row": row.to_dict()},
        indent=2,
    )


Progress = Callable[[GradeRow], None]


@dataclass(frozen=True)
class ClassGrades:
    """A class's grades: one row per handin, in the order given, under one rubric."""

    rows: tuple[GradeRow, ...]
    rubric: Rubric
    settings: GradeSettings
    #: Set when the run was interrupted: the rows of handins not finished say so.
    interrupted: bool = False


def handin_folder(output: Path, name: str) -> Path:
    """Where a handin's report and grade are kept."""
    return output / "handins" / name


def grade_class(
    paths: Sequence[str | os.PathLike[str]],
    output: Path,
    *,
    settings: GradeSettings = GradeSettings(),
    rubric_path: Path | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> ClassGrades:
    """Grade the handins at ``paths`` into ``output``: each handin's report and grade under
    ``output/handins/<name>``. Audits run ``jobs`` at a time on this machine (default: the
    number of cores), or on the Dask cluster at ``scheduler``, by the same code. A handin
    graded before under the same key is taken as it was; ``progress`` is told of every row.
    Ctrl-C (or SIGTERM, which the command turns into one) stops the audits running here and
    returns what had finished (``interrupted``); on a cluster, audits already started run to
    their end there, unrecorded."""
    specs = handin_specs(settings.specs)
    rubric = Rubric.load(rubric_path, specs) if rubric_path is not None else Rubric.default(specs)
    handins = find_handins(paths, output / "unpacked")
    # By position: two handins may share a name (the second is refused, and keeps its row).
    rows: dict[int, GradeRow] = {}
    pending: list[tuple[int, Handin, str]] = []
    for index, handin in enumerate(handins):
        if handin.root is None:
            rows[index] = not_graded(handin, rubric, handin.problem)
            continue
        key = grade_key(handin, rubric, settings)
        kept = load_grade(handin_folder(output, handin.name) / "grade.json", key)
        if kept is not None:
            rows[index] = dataclasses.replace(kept, cached=True)
        else:
            pending.append((index, handin, key))
    for row in rows.values():
        if progress is not None:
            progress(row)
    interrupted = False
    with _executor(jobs, scheduler) as executor:
        futures = {
            executor.submit(
                audit,
                str(handin.root),
                str(handin_folder(output, handin.name) / "report"),
                settings,
            ): (index, handin, key)
            for index, handin, key in pending
        }
        try:
            for future in concurrent.futures.as_completed(futures):
                index, handin, key = futures[future]
                row = _graded(handin, key, rubric, future, output)
                rows[index] = row
                if progress is not None:
                    progress(row)
        except KeyboardInterrupt:
            interrupted = True
            for future in futures:
                future.cancel()
            stop_audits()
    for index, handin in enumerate(handins):
        if index not in rows:
            rows[index] = not_graded(handin, rubric, "interrupted before its audit finished")
    ordered = tuple(rows[index] for index in range(len(handins)))
    return ClassGrades(ordered, rubric, settings, interrupted)


def _graded(
    handin: Handin,
    key: str,
    rubric: Rubric,
    future: concurrent.futures.Future[dict[str, Any]],
    output: Path,
) -> GradeRow:
    """The row of a finished audit, kept with its key when the audit completed."""
    from eqconform.reports import write_text
    from eqconform.reports.diff import ReportFileError, load_report
    from eqconform.reports.grading_pages import render_feedback

    folder = handin_folder(output, handin.name)
    try:
        finished = future.result()
    except Exception as error:  # a worker lost, a cluster gone: this handin only
        return not_graded(handin, rubric, f"its audit could not run: {error}")
    try:
        report = load_report(folder / "report")
    except ReportFileError:
        said = (finished.get("stderr") or "").strip().splitlines()
        reason = said[-1] if said else f"exit status {finished.get('returncode')}"
        return not_graded(handin, rubric, f"no report was written: {reason}")
    row = grade_row(handin, rubric, report)
    if row.status == "graded":
        write_text(folder / "feedback.html", render_feedback(row, report, rubric))
        # Last: a grade kept means its pages are there.
        write_text(folder / "grade.json", grade_text(row, key))
    return row


@contextmanager
def _executor(jobs: int | None, scheduler: str | None) -> Iterator[concurrent.futures.Executor]:
    """Threads that each wait on one audit process, or a Dask cluster's executor."""
    if scheduler is None:
        workers = jobs or os.cpu_count() or 1
        pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="audit")
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - said to the user
        raise RuntimeError(
            "--scheduler needs Dask distributed: pip install 'eqconform[grade]'"
        ) from None
    with Client(scheduler) as client:
        executor = client.get_executor(pure=False)
        try:
            yield executor
        finally:
            executor.shutdown(wait=True)


def class_page(grades: ClassGrades, output: Path) -> str:
    """The class summary page, from the grades and the reports kept under ``output``."""
    from eqconform.reports.diff import ReportFileError, load_report
    from eqconform.reports.grading_pages import render_class_summary

    reports: dict[str, Report | None] = {}
    for row in grades.rows:
        if row.status != "graded":
            continue
        try:
            reports[row.name] = load_report(handin_folder(output, row.name) / "report")
        except ReportFileError:
            reports[row.name] = None
    return render_class_summary(grades, reports)
