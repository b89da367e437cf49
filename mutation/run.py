"""Mutation testing of the checker's core with cosmic-ray.

Each module of ``mutation/modules.toml`` is mutated one change at a time (cosmic-ray's
operators: arithmetic and comparison swaps, constants nudged, conditions negated, loops
emptied, ...) and the tests listed for it are run against every mutant. A mutant is *killed*
when those tests fail (or hang past the module's timeout) and *survives* when they pass. The
score of a module is::

    score = killed / (mutants run - known equivalents)

where the known equivalents (``mutation/equivalent.toml``) are survivors that no test can
kill, each with the reason why it computes what the original does.

Where the mutants live. The tests import the *installed* ``eqconform`` package, not the
checkout, and some of them start processes of their own (the sandboxed runner, judge workers
started by a forkserver) that import it too. So the checkout is copied to a scratch folder,
cosmic-ray mutates that copy in place, and a folder ``<scratch>/path/eqconform/`` of symbolic
links to the copy's ``specs``, ``impl``, ``verify`` and ``reports`` comes first on
``PYTHONPATH``: the test process and every child that inherits its environment import the
mutated copy. (The sandboxed runner starts with ``python -I``, which ignores ``PYTHONPATH``;
it loads ``verify/runner`` and ``verify/targets`` from the folders the judge imported them
from, which are the copy's, and the sandbox binds the scratch folder back in, being under
``/tmp``, as the working directory and an entry of the import path.) Nothing is written into
the checkout, and the checkout may be edited while a run goes on.

Usage::

    python mutation/run.py                   # every module (long)
    python mutation/run.py --sample          # a fixed sample per module, fails on a new survivor
    python mutation/run.py --module verify/judge.py --module verify/tolerance.py
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import line_tests  # noqa: E402  (mutation/line_tests.py: which tests run which lines)

CHECKOUT = HERE.parent
PACKAGES = ("specs", "impl", "verify", "reports")
#: What is not copied into the scratch folder (installs, builds, caches, former reports).
NOT_COPIED = shutil.ignore_patterns(".venv", ".git", "build", "dist", "__pycache__", "*.egg-info",
                                    ".hypothesis", ".pytest_cache", ".ruff_cache", ".mypy_cache",
                                    "conformance-report", ".eqconform")
BIN = Path(sys.executable).parent


# --------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class Settings:
    threshold: float
    timeout_factor: float
    timeout_slack: float
    sample_per_module: int
    sample_timeout: float
    exclude_operators: tuple[str, ...]
    modules: dict[str, tuple[str, ...]]
    #: Mutants a sample run draws from a module, where not ``sample_per_module``.
    samples: dict[str, int]


def load_settings(path: Path = HERE / "modules.toml") -> Settings:
    data = tomllib.loads(path.read_text())
    general = data["settings"]
    return Settings(
        threshold=float(general["threshold"]),
        timeout_factor=float(general["timeout-factor"]),
        timeout_slack=float(general["timeout-slack"]),
        sample_per_module=int(general["sample-per-module"]),
        sample_timeout=float(general["sample-timeout"]),
        exclude_operators=tuple(general.get("exclude-operators", ())),
        modules={module: tuple(table["tests"]) for module, table in data["modules"].items()},
        samples={module: int(table["sample"]) for module, table in data["modules"].items() if "sample" in table},
    )


@dataclass(frozen=True)
class Equivalent:
    """A survivor known to compute what the original computes, found by the text of the line
    it changes (so that it stays recognised when lines above it move)."""

    module: str
    operator: str
    line: str
    reason: str

    def matches(self, survivor: Mutant) -> bool:
        return (self.module, self.operator, self.line) == (survivor.module, survivor.operator, survivor.line)


def load_equivalents(path: Path = HERE / "equivalent.toml") -> list[Equivalent]:
    entries = tomllib.loads(path.read_text()).get("equivalent", []) if path.exists() else []
    return [Equivalent(e["module"], e["operator"], e["line"].strip(), e["reason"]) for e in entries]


# --------------------------------------------------------------------------- scratch copy

@contextmanager
def scratch_checkout(keep: bool) -> Iterator[Path]:
    """A copy of the checkout at ``<scratch>/checkout`` with ``<scratch>/path/eqconform`` (the
    package as installed, but made of links to the copy) ready to lead ``PYTHONPATH``."""
    root = Path(tempfile.mkdtemp(prefix="eqconform-mutation-"))
    try:
        shutil.copytree(CHECKOUT, root / "checkout", ignore=NOT_COPIED, symlinks=True)
        package = root / "path" / "eqconform"
        package.mkdir(parents=True)
        for name in PACKAGES:
            (package / name).symlink_to(root / "checkout" / name, target_is_directory=True)
        (root / "sessions").mkdir()
        yield root
    finally:
        if keep:
            print(f"scratch folder kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def scratch_environment(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root / "path"), env.get("PYTHONPATH", "")) if p)
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)  # each test run makes its own (tests/conftest.py)
    # No bytecode in the copy: a mutant written within the second of another, at the same size,
    # could otherwise be run from the other's cached bytecode.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def check_imports_copy(root: Path, env: dict[str, str]) -> None:
    """Refuse to go on unless ``eqconform`` resolves to the scratch copy: with the installed
    package imported instead, every mutant would survive."""
    probe = "import eqconform.verify.judge as m, eqconform.specs as s; print(m.__file__); print(s.__file__)"
    found = subprocess.run([sys.executable, "-c", probe], env=env, cwd=root / "checkout",
                           capture_output=True, text=True, check=True).stdout.split()
    copy = (root / "checkout").resolve()
    if not all(copy in Path(path).resolve().parents for path in found):
        raise SystemExit(f"eqconform does not import from the scratch copy {copy}: {found}")


# --------------------------------------------------------------------------- one module

@dataclass
class Mutant:
    module: str
    operator: str
    row: int
    line: str
    diff: str
    killed: bool
    output: str = ""


@dataclass
class ModuleResult:
    module: str
    baseline_seconds: float
    mutants: list[Mutant] = field(default_factory=list)
    skipped: int = 0
    incompetent: int = 0
    seconds: float = 0.0

    def survivors(self) -> list[Mutant]:
        return [m for m in self.mutants if not m.killed]

    def unexplained(self, equivalents: Sequence[Equivalent]) -> list[Mutant]:
        return [m for m in self.survivors() if not any(e.matches(m) for e in equivalents)]

    def score(self, equivalents: Sequence[Equivalent]) -> float:
        judged = len(self.mutants) - (len(self.survivors()) - len(self.unexplained(equivalents)))
        killed = judged - len(self.unexplained(equivalents))
        return killed / judged if judged else 1.0


def test_command(tests: Iterable[str], server: Path | None, record: Path | None = None) -> list[str]:
    """pytest on ``tests``, through the pytest server listening at ``server`` where given, and
    then, given the ``record`` of which tests ran which lines (``line_tests.py``), only on the
    tests that ran the lines a mutant changed."""
    # -x: the first failing test kills the mutant, the rest need not run.
    arguments = ["-p", "no:cacheprovider", "-x", "-q", *tests]
    if server is None:
        return [sys.executable, "-m", "pytest", *arguments]
    select = ["--select", str(record)] if record is not None else []
    return [sys.executable, str(HERE / "pytest_server.py"), "run", str(server), *select, *arguments]


@contextmanager
def pytest_server(root: Path, env: dict[str, str]) -> Iterator[Path]:
    """A pytest server (mutation/pytest_server.py) for the scratch copy, at ``<root>/pytest.sock``."""
    path = root / "pytest.sock"
    server = subprocess.Popen([sys.executable, str(HERE / "pytest_server.py"), "serve", str(path)],
                              env=env, cwd=root / "checkout")
    try:
        deadline = time.monotonic() + 120
        while not path.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the pytest server did not start")
            time.sleep(0.1)
        yield path
    finally:
        server.terminate()
        server.wait()


def run_group(command: Sequence[str], **options: Any) -> None:
    """Run ``command`` in a process group of its own, as ``subprocess.run(check=True)`` would,
    and end whatever of the group is left when it returns or this run is stopped: cosmic-ray's
    test command (the pytest server's client) would otherwise outlive a stopped run, and with
    it the test run it waits for. A stopped cosmic-ray is interrupted first (it puts the mutated
    module back on KeyboardInterrupt), and killed only if it has not ended within 10 seconds."""
    process = subprocess.Popen(command, start_new_session=True, **options)
    try:
        code = process.wait()
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if code != 0:
        raise subprocess.CalledProcessError(code, command)


@contextmanager
def module_kept(root: Path, module: str) -> Iterator[None]:
    """While cosmic-ray mutates ``module`` in the scratch copy: its text as copied is kept in
    the session folder, and put back afterwards, however the run ends. A run stopped in the
    middle of a mutant (killed, or the machine gone) leaves that mutant in the file, and every
    later run of the kept folder (``--again``) would test two mutants at once."""
    source = root / "checkout" / module
    original = session_paths(root, module)[1].with_suffix(".original.py")
    if original.exists():
        source.write_bytes(original.read_bytes())  # what an earlier, stopped run left
    else:
        original.write_bytes(source.read_bytes())
    try:
        yield
    finally:
        source.write_bytes(original.read_bytes())


def run_baseline(root: Path, env: dict[str, str], module: str, command: Sequence[str]) -> float:
    """Seconds the module's tests take unmutated; they must pass, or every mutant is killed."""
    start = time.monotonic()
    done = subprocess.run(command, env=env, cwd=root / "checkout", capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the tests of {module} fail unmutated:\n{done.stdout[-4000:]}{done.stderr[-2000:]}")
    return time.monotonic() - start


def record_line_tests(root: Path, env: dict[str, str], module: str, tests: Sequence[str]) -> tuple[Path, float]:
    """Run the module's tests unmutated (they must pass), recording which of them run which
    lines of the module (``line_tests.py``); the record's path and the seconds taken."""
    record = session_paths(root, module)[1].with_suffix(".lines.json")
    traced = dict(env)
    traced["PYTHONPATH"] = os.pathsep.join([str(HERE), env["PYTHONPATH"]])
    traced[line_tests.VARIABLE] = f"{root / 'path' / 'eqconform' / module}:{record}"
    command = [sys.executable, "-m", "pytest", "-p", "line_tests", "-p", "no:cacheprovider", "-q", *tests]
    seconds = run_baseline(root, traced, module, command)
    if not record.exists():
        raise SystemExit(f"the tests of {module} passed, but wrote no record of their lines ({record})")
    return record, seconds


def write_session_config(path: Path, source: Path, command: Sequence[str], timeout: float,
                         exclude_operators: Sequence[str]) -> None:
    def quoted(text: str) -> str:
        return "'" + text + "'"  # TOML literal strings: no escapes (regular expressions)
    path.write_text("\n".join([
        "[cosmic-ray]",
        f"module-path = {quoted(str(source))}",
        f"timeout = {timeout:.1f}",
        "excluded-modules = []",
        f"test-command = {quoted(' '.join(command))}",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "[cosmic-ray.filters.operators-filter]",
        f"exclude-operators = [{', '.join(quoted(e) for e in exclude_operators)}]",
        "",
    ]))


def sample_only(session: Path, module: str, count: int) -> None:
    """Mark all but a fixed choice of ``count`` pending mutants as skipped (same code, same
    choice: sorted by operator and occurrence, drawn with a seed named after the module)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        pending = sorted(db.pending_work_items,
                         key=lambda item: (item.mutations[0].operator_name, item.mutations[0].occurrence))
        chosen = {item.job_id for item in random.Random(module).sample(pending, min(count, len(pending)))}
        for item in pending:
            if item.job_id not in chosen:
                db.set_result(item.job_id, WorkResult(output="not sampled", worker_outcome=WorkerOutcome.SKIPPED))


def read_results(session: Path, module: str, source_lines: Sequence[str], result: ModuleResult) -> None:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, outcome in db.completed_work_items:
            if outcome.worker_outcome == WorkerOutcome.SKIPPED:
                result.skipped += 1
            elif outcome.test_outcome == TestOutcome.INCOMPETENT or outcome.worker_outcome != WorkerOutcome.NORMAL:
                result.incompetent += 1
            else:
                mutation = item.mutations[0]
                row = mutation.start_pos[0]
                result.mutants.append(Mutant(
                    module=module, operator=mutation.operator_name, row=row,
                    line=source_lines[row - 1].strip(), diff=outcome.diff or "",
                    killed=outcome.test_outcome == TestOutcome.KILLED, output=outcome.output or ""))


def session_paths(root: Path, module: str) -> tuple[Path, Path, Path]:
    """The cosmic-ray configuration, session database and log of ``module``."""
    name = module.replace("/", "_").removesuffix(".py")
    config, session, log = (root / "sessions" / f"{name}{suffix}" for suffix in (".toml", ".sqlite", ".log"))
    return config, session, log


def refresh_tests(root: Path) -> None:
    """Replace the scratch copy's tests by the checkout's (the mutated modules stay as they were)."""
    shutil.rmtree(root / "checkout" / "tests")
    shutil.copytree(CHECKOUT / "tests", root / "checkout" / "tests", ignore=NOT_COPIED, symlinks=True)


def retest_survivors(root: Path, env: dict[str, str], settings: Settings, module: str,
                     server: Path | None) -> ModuleResult | None:
    """Run the survivors of an earlier run of ``module`` (kept with ``--keep``) again, against
    the tests as they are now; every other mutant keeps its earlier result."""
    session = session_paths(root, module)[1]
    if not session.exists():
        return None
    command = test_command(settings.modules[module], server)
    source = root / "checkout" / module
    with module_kept(root, module):  # (as it was copied, even if an earlier run was stopped)
        baseline = run_baseline(root, env, module, command)
        result = ModuleResult(module, baseline)
        start = time.monotonic()
        run_survivors_again(root, env, module, command, settings.timeout_factor * baseline + settings.timeout_slack,
                            settings.exclude_operators)
        result.seconds = time.monotonic() - start
    read_results(session, module, source.read_text().splitlines(), result)
    return result


def run_survivors_again(root: Path, env: dict[str, str], module: str, command: Sequence[str], timeout: float,
                        exclude_operators: Sequence[str]) -> None:
    """Forget the survivors of ``module``'s session and test them again with ``command``."""
    config, session, log = session_paths(root, module)
    write_session_config(config, root / "checkout" / module, command, timeout, exclude_operators)
    with sqlite3.connect(session) as db:
        db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")
    with log.open("a") as out, module_kept(root, module):
        run_group([str(BIN / "cosmic-ray"), "exec", str(config), str(session)], env=env,
                  cwd=root / "checkout", stdout=out, stderr=subprocess.STDOUT)


def run_module(root: Path, env: dict[str, str], settings: Settings, module: str, sample: int | None,
               server: Path | None) -> ModuleResult:
    """Every mutant of ``module``, or a fixed ``sample`` of them (then the unmutated tests
    are not timed first: the sample's time limit is fixed, to keep it short)."""
    tests = settings.modules[module]
    source = root / "checkout" / module
    if not source.exists():
        raise SystemExit(f"{module} (mutation/modules.toml) does not exist")
    # A whole run first tries only the tests that ran a mutant's lines, then the whole list on
    # the mutants those left alive (needs the pytest server, which chooses the tests).
    record = None
    if sample is not None:
        baseline = 0.0
    elif server is not None:
        record, baseline = record_line_tests(root, env, module, tests)
    else:
        baseline = run_baseline(root, env, module, test_command(tests, server))
    command = test_command(tests, server, record)
    result = ModuleResult(module, baseline)
    config, session, log = session_paths(root, module)
    timeout = settings.timeout_factor * baseline + settings.timeout_slack if sample is None else settings.sample_timeout
    write_session_config(config, source, command, timeout, settings.exclude_operators)
    start = time.monotonic()
    with log.open("w") as out, module_kept(root, module):
        def cosmic(*command: str) -> None:
            run_group([*command], env=env, cwd=root / "checkout", stdout=out, stderr=subprocess.STDOUT)
        cosmic(str(BIN / "cosmic-ray"), "init", str(config), str(session))
        cosmic(str(BIN / "cr-filter-operators"), str(session), str(config))
        if sample is not None:
            sample_only(session, module, sample)
        cosmic(str(BIN / "cosmic-ray"), "exec", str(config), str(session))
    if record is not None:
        run_survivors_again(root, env, module, test_command(tests, server), timeout, settings.exclude_operators)
    result.seconds = time.monotonic() - start
    read_results(session, module, source.read_text().splitlines(), result)
    return result


# --------------------------------------------------------------------------- report

def changed_lines(diff: str) -> str:
    return "\n".join("      " + line for line in diff.splitlines()
                     if line[:1] in "+-" and not line.startswith(("+++", "---")))


def equivalent_entry(mutant: Mutant) -> str:
    """The TOML entry of ``mutation/equivalent.toml`` that would explain ``mutant``."""
    return "\n".join([
        "[[equivalent]]",
        f"module = {json.dumps(mutant.module)}",
        f"operator = {json.dumps(mutant.operator)}",
        f"line = {json.dumps(mutant.line)}",  # a JSON string is a TOML basic string
        'reason = ""',
        "",
    ])


def report(results: Sequence[ModuleResult], equivalents: Sequence[Equivalent], threshold: float) -> bool:
    """Print the score per module and the survivors; True when every module reaches the
    threshold (a sample run asks instead that no survivor be unexplained)."""
    print(f"\n{'module':28} {'mutants':>8} {'killed':>7} {'equiv.':>7} {'survived':>9} {'score':>7} {'time':>8}")
    for r in results:
        equivalent = len(r.survivors()) - len(r.unexplained(equivalents))
        killed = len(r.mutants) - len(r.survivors())
        print(f"{r.module:28} {len(r.mutants):8} {killed:7} {equivalent:7} {len(r.unexplained(equivalents)):9} "
              f"{r.score(equivalents):7.1%} {r.seconds:7.0f}s")
    total = [m for r in results for m in r.mutants]
    unexplained = [m for r in results for m in r.unexplained(equivalents)]
    equivalent = sum(len(r.survivors()) - len(r.unexplained(equivalents)) for r in results)
    judged = len(total) - equivalent
    overall = (judged - len(unexplained)) / judged if judged else 1.0
    print(f"{'all':28} {len(total):8} {judged - len(unexplained):7} {equivalent:7} {len(unexplained):9} {overall:7.1%}")
    if unexplained:
        print("\nSurviving mutants (kill them with a test, or list them in mutation/equivalent.toml):")
        for m in unexplained:
            print(f"  {m.module}:{m.row}  {m.operator}\n{changed_lines(m.diff)}")
        print("\nEntries for mutation/equivalent.toml, should a survivor be equivalent (give the reason):")
        for m in unexplained:
            print(equivalent_entry(m))
    return overall >= threshold and all(r.score(equivalents) >= threshold for r in results)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", action="store_true",
                        help="run only a fixed sample of mutants per module; fail on any unexplained survivor")
    parser.add_argument("--sample-size", type=int, default=None,
                        help="mutants per module in a sample run (default: mutation/modules.toml)")
    parser.add_argument("--module", action="append", default=[], help="mutate only this module (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (sessions and logs)")
    parser.add_argument("--again", metavar="SCRATCH", type=Path,
                        help="run the survivors of a run kept with --keep again, with the checkout's tests as they are now")
    parser.add_argument("--plain", action="store_true",
                        help="start pytest afresh for each mutant instead of through mutation/pytest_server.py")
    args = parser.parse_args(argv)
    settings = load_settings()
    equivalents = load_equivalents()
    modules = args.module or list(settings.modules)
    sizes: dict[str, int | None] = {module: None for module in modules}
    if args.sample:
        sizes = {module: settings.samples.get(module, settings.sample_per_module) if args.sample_size is None
                 else args.sample_size for module in modules}
        modules = [module for module in modules if sizes[module]]
    unknown = [m for m in modules if m not in settings.modules]
    if unknown:
        parser.error(f"not in mutation/modules.toml: {', '.join(unknown)}")
    # Stopped by a signal, still remove the scratch folder (and cosmic-ray, by subprocess.run).
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    results = []
    scratch = nullcontext(args.again) if args.again else scratch_checkout(args.keep)
    with scratch as root, ExitStack() as stack:
        if args.again:
            refresh_tests(root)
            (root / "pytest.sock").unlink(missing_ok=True)
        env = scratch_environment(root)
        check_imports_copy(root, env)
        server = None if args.plain else stack.enter_context(pytest_server(root, env))
        for module in modules:
            print(f"mutating {module} ...", flush=True)
            if args.again:
                again = retest_survivors(root, env, settings, module, server)
                if again is None:
                    print("  not in the earlier run", flush=True)
                    continue
                results.append(again)
            else:
                results.append(run_module(root, env, settings, module, sizes[module], server))
            r = results[-1]
            timed = f" (tests unmutated: {r.baseline_seconds:.1f}s)" if r.baseline_seconds else ""
            print(f"  {len(r.mutants)} mutants in {r.seconds:.0f}s{timed}, "
                  f"{len(r.unexplained(equivalents))} unexplained survivors", flush=True)
    passed = report(results, equivalents, settings.threshold)
    if args.sample:
        return 1 if any(r.unexplained(equivalents) for r in results) else 0
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
