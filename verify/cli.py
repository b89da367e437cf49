"""The ``eqconform`` command.

``eqconform specs`` lists the catalogue; ``eqconform report`` checks targets against it and
writes ``report.json``, ``report.md``, ``index.html`` and ``junit.xml``. Exit status: 0 when
every result passes or skips, 1 when any fails or errors, 2 for a usage error (one line on
stderr, no traceback). ``eqconform diff OLD NEW`` compares two ``report.json`` files and exits 1
when any result regressed.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["main"]

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad input to the tool itself: reported in one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _parser() -> _Parser:
    parser = _Parser(
        prog="eqconform",
        description="Check implementations against the equations of their documents.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    listing = commands.add_parser("specs", help="list the equation catalogue")
    listing.add_argument(
        "--spec", action="append", default=[], metavar="PATTERN", help="only specs matching PATTERN"
    )
    listing.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="'text' (default): one line per spec; 'markdown': the catalogue page "
        "(docs/catalogue.md is this output)",
    )
    report = commands.add_parser("report", help="check targets and write the conformance report")
    report.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="T",
        help=(
            "what to check, repeatable: numpy (the default, the bundled implementation); "
            "mytorch:PATH (a handin); torch, torch:foreach=False|True; jax, "
            "jax:use_fast_variance=False; python:MODULE:ATTR or file:PATH.py:ATTR (an adapter "
            "object, see docs/adapters.md); or the name of an installed plugin"
        ),
    )
    report.add_argument(
        "--spec",
        action="append",
        default=[],
        metavar="PATTERN",
        help="spec id, family (adam) or shell pattern (layernorm.grad_*); repeatable",
    )
    report.add_argument(
        "--max-examples",
        type=_positive_int,
        default=100,
        metavar="N",
        help="Hypothesis examples per (spec, target) (default 100)",
    )
    report.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="S",
        help="random seed; same seed, same verdicts (default 0)",
    )
    report.add_argument(
        "-o",
        "--output",
        default="conformance-report",
        metavar="DIR",
        help="directory for the report files (default conformance-report)",
    )
    report.add_argument(
        "--timeout",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="time limit per (spec, target) check, after which its worker is stopped (default 300)",
    )
    report.add_argument(
        "--in-process",
        action="store_true",
        help="run audited code in this process (no isolation or time limit; for debugging)",
    )
    report.add_argument(
        "--sandbox",
        choices=("auto", "require", "off"),
        default="auto",
        help="where audited code runs: 'auto' (default) in a bubblewrap sandbox where the "
        "machine has a working bwrap, else in plain processes (said on stderr); 'require' "
        "refuses to run without the sandbox; 'off' always uses plain processes",
    )
    report.add_argument(
        "--profile",
        choices=("default", "hard"),
        default="default",
        help="'hard' draws the numerical hard corners instead (huge offsets, near-constant "
        "rows, tiny eps, gradients from 1e-30 to 1e30, t up to 1e4, float16 LayerNorm)",
    )
    report.add_argument(
        "--quiet", action="store_true", help="print only the summary line and where the report is"
    )
    report.add_argument(
        "--reprove",
        action="store_true",
        help="prove the documents' claims again instead of taking earlier outcomes from the proof "
        "cache ($EQCONFORM_CACHE_DIR, default ~/.cache/eqconform)",
    )
    report.add_argument(
        "--examples-dir",
        default=None,
        metavar="DIR",
        help="where counterexamples are remembered and replayed from (default .eqconform/examples)",
    )
    report.add_argument(
        "--no-examples-db",
        action="store_true",
        help="neither replay nor remember counterexamples: the verdicts depend on the seed alone",
    )
    report.add_argument(
        "--baseline",
        default=None,
        metavar="OLD.json",
        help="an earlier report.json: mark what regressed, was fixed or changed since",
    )
    grade = commands.add_parser(
        "grade", help="grade a class: audit every handin, write a gradebook and their reports"
    )
    grade.add_argument(
        "handins",
        nargs="+",
        metavar="HANDIN",
        help="a folder holding mytorch/ (at its top or one level down), or a .zip, .tar, "
        ".tar.gz or .tgz archive of one; the name of the folder or archive names the handin",
    )
    grade.add_argument(
        "-o",
        "--output",
        default="grades",
        metavar="DIR",
        help="where the gradebook and every handin's report go (default grades); a second "
        "run into the same folder audits only what changed",
    )
    grade.add_argument(
        "--rubric",
        default=None,
        metavar="FILE.toml",
        help="points per spec: a [points] table of spec ids, families or patterns (default: "
        "100 points, shared equally by the components, then by each component's specs)",
    )
    grade.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="handins audited at a time on this machine (default: the number of cores)",
    )
    grade.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="audit on the Dask cluster at ADDRESS (tcp://host:8786) instead; the handins "
        "and DIR must be at the same paths on its workers",
    )
    grade.add_argument(
        "--spec",
        action="append",
        default=[],
        metavar="PATTERN",
        help="grade only these specs (spec id, family or pattern); repeatable",
    )
    grade.add_argument("--max-examples", type=_positive_int, default=100, metavar="N")
    grade.add_argument("--seed", type=_seed, default=0, metavar="S")
    grade.add_argument("--timeout", type=_positive_float, default=None, metavar="SECONDS")
    grade.add_argument("--sandbox", choices=("auto", "require", "off"), default="auto")
    diff = commands.add_parser(
        "diff", help="compare two report.json files; exit 1 if anything regressed"
    )
    diff.add_argument(
        "old", metavar="OLD.json", help="the earlier report (a report.json, or its folder)"
    )
    diff.add_argument("new", metavar="NEW.json", help="the later report")
    diff.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="FILE",
        help="write the Markdown to FILE instead of standard output",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(arguments)
        # What the report records as its command: what eqconform was asked, not the arguments
        # of whatever process called main().
        args.arguments = arguments
        if args.command == "specs":
            return _list_specs(args.spec, args.format)
        if args.command == "diff":
            return _diff(args)
        if args.command == "grade":
            return _grade(args)
        return _report(args)
    except UsageError as error:
        print(f"eqconform: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Ctrl-C once the checks run is handled where they run (the report keeps what had
        # finished); this is one that came earlier, while starting up, or while listing.
        print("eqconform: interrupted (Ctrl-C) before any report was written", file=sys.stderr)
        return EXIT_INTERRUPTED


def _list_specs(patterns: Sequence[str], format: str = "text") -> int:
    from eqconform.specs import CLAIMS, ERRATA, UnknownSpecError, select_specs

    try:
        specs = select_specs(patterns)
    except UnknownSpecError as error:
        raise UsageError(str(error)) from None
    if format == "markdown":
        from eqconform.reports.catalogue import render_catalogue

        sys.stdout.write(render_catalogue(specs, CLAIMS, ERRATA))
        return EXIT_OK
    width = max(len(spec.id) for spec in specs)
    for spec in specs:
        variants = (
            f"  [variants: {', '.join(v.id for v in spec.variants)}]"
            if len(spec.variants) > 1
            else ""
        )
        proof_only = "  (proof only)" if spec.proof_only else ""
        print(f"{spec.id:<{width}}  {spec.title} — {spec.source.cite()}{variants}{proof_only}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    _private_hypothesis_storage()  # before the forkserver: its workers inherit its environment
    if not args.in_process:
        # First: the forkserver imports the checker for the judge workers while this process
        # imports what it needs itself, on another core.
        from .forkserver import worker_context

        worker_context()
    from eqconform.reports import ReportWriteError, write_report
    from eqconform.reports.build import prove_in_background
    from eqconform.reports.diff import ReportFileError, diff_reports, load_report, mark_report

    from .results import Result
    from .search import DEFAULT_EXAMPLES_DIR
    from .session import RunOptions, Session, SessionError

    if args.no_examples_db and args.examples_dir is not None:
        raise UsageError("--examples-dir and --no-examples-db exclude each other")
    output = Path(args.output)
    if output.exists() and not output.is_dir():
        raise UsageError(f"output {args.output!r} exists and is not a directory")
    try:
        options = RunOptions(
            targets=tuple(args.target or ["numpy"]),
            specs=tuple(args.spec),
            max_examples=args.max_examples,
            seed=args.seed,
            profile=args.profile,
            sandbox=args.sandbox,
            in_process=args.in_process,
            examples_dir=None
            if args.no_examples_db
            else (args.examples_dir or DEFAULT_EXAMPLES_DIR),
            **({"timeout": args.timeout} if args.timeout is not None else {}),
        )
        session = Session(options, output=output)
        baseline = load_report(args.baseline) if args.baseline is not None else None
    except SessionError as error:
        raise UsageError(str(error)) from None
    except ReportFileError as error:
        raise UsageError(f"--baseline: {error}") from None
    if not args.in_process and args.sandbox == "auto" and not args.quiet:
        from .sandbox import bubblewrap_problem

        if bubblewrap_problem():
            print(
                f"eqconform: no sandbox ({bubblewrap_problem()}); "
                "audited code runs in plain processes",
                file=sys.stderr,
            )
    _ensure_writable(output)  # last of the checks on the input, so a refused run leaves nothing
    started = time.perf_counter()

    def progress(result: Result) -> None:
        if not args.quiet:
            print(
                f"  {result.outcome.value:<5} {result.spec} [{result.target}]"
                + (f" variant {result.variant}" if result.variant else ""),
                file=sys.stderr,
            )

    terminated = _Termination()
    with terminated, prove_in_background(session.claims, reprove=args.reprove) as proved:
        record = session.run(progress)
        try:
            proofs = [] if record.interrupted else proved()
        except KeyboardInterrupt:  # while waiting for the last proofs
            record.interrupted, proofs = True, []
    interrupted = ""
    if record.interrupted:
        interrupted = (
            f"INCOMPLETE: interrupted ({terminated.name or 'Ctrl-C'}) after {len(record.results)} "
            f"of {record.planned} checks"
        )
    report = session.report(
        record,
        proofs,
        meta={
            "status": interrupted,
            "seconds": round(time.perf_counter() - started, 2),
            "command": shlex.join(["eqconform", *args.arguments]),
        },
    )
    against = ""
    if baseline is not None:
        compared = diff_reports(baseline, report, args.baseline, str(output / "report.json"))
        report = mark_report(report, compared, args.baseline)
        against = (
            f"; against the baseline: {len(compared.regressions)} regressed, "
            f"{len(compared.fixes)} fixed, "
            f"{len(compared.variant_changes)} variant changes"
        )
    try:
        written = write_report(report, output)
    except ReportWriteError as error:
        raise UsageError(str(error)) from None
    counts = report.counts()
    proved_count = sum(1 for proof in proofs if proof.status == "proved")
    general = sum(1 for proof in proofs if proof.status == "proved" and proof.scope == "general")
    cached = sum(1 for proof in proofs if proof.cached)
    from_cache = f", {cached} from the proof cache" if cached else ""
    print(
        f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors, "
        f"{counts['skip']} skipped; {proved_count}/{len(proofs)} proofs proved "
        f"({general} in general){from_cache} "
        f"({time.perf_counter() - started:.1f} s){against}"
    )
    index = next(
        (path for path in written if path.name == "index.html"), written[0] if written else output
    )
    print(f"Report written to {index}")
    if interrupted:
        print(f"eqconform: {interrupted}; the report holds what had finished", file=sys.stderr)
        return 128 + signal.SIGTERM if terminated.name == "SIGTERM" else EXIT_INTERRUPTED
    return EXIT_OK if report.passed else EXIT_FINDINGS


def _private_hypothesis_storage() -> None:
    """Point Hypothesis's own storage (it caches constants there) at a temporary folder removed
    at exit, unless the caller chose one: a run writes nothing into the current directory but
    what it is asked to (the report; the example database, unless --no-examples-db). Set in
    the environment, so that the judge workers started after it inherit it."""
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    scratch = tempfile.mkdtemp(prefix="eqconform-hypothesis-")
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = scratch
    atexit.register(shutil.rmtree, scratch, True)


class _Termination:
    """While active, SIGTERM stops the run as Ctrl-C does (the report of what finished is
    written, marked INCOMPLETE with the signal named); ``name`` is set when it came."""

    def __init__(self) -> None:
        self.name = ""
        self._previous: Any = None

    def __enter__(self) -> _Termination:
        def stop(signum: int, frame: Any) -> None:
            self.name = signal.Signals(signum).name
            raise KeyboardInterrupt

        try:
            self._previous = signal.signal(signal.SIGTERM, stop)
        except ValueError:  # not the main thread: leave SIGTERM as it is
            self._previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _ensure_writable(directory: Path) -> None:
    """Fail before the run, not after it, when the report could not be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".eqconform-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UsageError(
            f"cannot write the report to {str(directory)!r}: {error.strerror or error}"
        ) from None


def _grade(args: argparse.Namespace) -> int:
    from eqconform.reports import ReportWriteError, write_text
    from eqconform.reports.gradebook import render_gradebook_csv, render_gradebook_json
    from eqconform.specs import UnknownSpecError

    from .grading import (
        GradeRow,
        GradeSettings,
        RubricError,
        class_page,
        grade_class,
        handin_specs,
    )

    output = Path(args.output)
    if output.exists() and not output.is_dir():
        raise UsageError(f"output {args.output!r} exists and is not a directory")
    if args.jobs is not None and args.scheduler is not None:
        raise UsageError("-j/--jobs and --scheduler exclude each other")
    settings = GradeSettings(
        max_examples=args.max_examples,
        seed=args.seed,
        timeout=args.timeout,
        sandbox=args.sandbox,
        specs=tuple(args.spec),
    )
    try:
        if not handin_specs(settings.specs):
            raise UsageError(f"--spec {' '.join(settings.specs)} selects no spec of a handin")
    except UnknownSpecError as error:
        raise UsageError(str(error)) from None
    _ensure_writable(output)
    started = time.perf_counter()
    bar = _GradeProgress(len(args.handins))
    try:
        with _Termination() as terminated:
            grades = grade_class(
                args.handins,
                output,
                settings=settings,
                rubric_path=Path(args.rubric) if args.rubric is not None else None,
                jobs=args.jobs,
                scheduler=args.scheduler,
                progress=bar.update,
            )
    except RubricError as error:
        raise UsageError(str(error)) from None
    finally:
        bar.close()
    try:
        write_text(output / "gradebook.csv", render_gradebook_csv(grades))
        write_text(output / "gradebook.json", render_gradebook_json(grades))
        write_text(output / "index.html", class_page(grades, output))
    except ReportWriteError as error:
        raise UsageError(str(error)) from None
    graded: list[GradeRow] = [row for row in grades.rows if row.status == "graded"]
    mean = sum(row.score for row in graded) / len(graded) if graded else 0.0
    print(
        f"{len(grades.rows)} handins: {len(graded)} graded (mean {mean:.1f} of "
        f"{grades.rubric.total:g}), {len(grades.rows) - len(graded)} not graded "
        f"({time.perf_counter() - started:.1f} s)"
    )
    print(
        f"Gradebook written to {output / 'gradebook.csv'}, "
        f"the class summary to {output / 'index.html'}"
    )
    if grades.interrupted:
        said = f"interrupted ({terminated.name})" if terminated.name else "interrupted"
        print(f"eqconform: {said}; the gradebook holds what had finished", file=sys.stderr)
        return 128 + signal.SIGTERM if terminated.name == "SIGTERM" else EXIT_INTERRUPTED
    return EXIT_OK


class _GradeProgress:
    """A progress bar with ETA (tqdm) on a terminal; plain lines otherwise."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self._bar: Any = None
        if sys.stderr.isatty():
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, unit="handin", file=sys.stderr)
            except ImportError:
                self._bar = None

    def update(self, row: Any) -> None:
        self.done += 1
        said = (
            f"{row.score:g}/{row.max_score:g}"
            if row.status == "graded"
            else f"not graded: {row.reason}"
        )
        line = f"{row.name}: {said}" + (" (unchanged)" if row.cached else "")
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(line[:60])
        else:
            print(f"[{self.done}/{self.total}] {line}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _diff(args: argparse.Namespace) -> int:
    from eqconform.reports import ReportWriteError, write_text
    from eqconform.reports.diff import ReportFileError, diff_reports, load_report, render_diff

    try:
        old, new = load_report(args.old), load_report(args.new)
    except ReportFileError as error:
        raise UsageError(str(error)) from None
    compared = diff_reports(old, new, args.old, args.new)
    try:
        write_text(args.output, render_diff(compared))
    except ReportWriteError as error:
        raise UsageError(str(error)) from None
    return EXIT_FINDINGS if compared.regressed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
