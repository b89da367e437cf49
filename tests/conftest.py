"""Shared test configuration: Hypothesis profiles, and tests that write only where they may.

``default`` keeps ``make test`` quick; ``soak`` (``HYPOTHESIS_PROFILE=soak``, used by
``make soak``) runs many more examples.

No test may write into the checkout: every file a test creates belongs under a temporary
folder (``tmp_path``; ``--examples-dir`` under it or ``--no-examples-db`` for the command
line). Hypothesis's own storage (its example database and caches, ``.hypothesis/`` in the
current directory by default) and eqconform's cache (``EQCONFORM_CACHE_DIR``) are pointed at
temporary folders of the session before anything writes there, and inherited by the processes
the tests start. A test after which the checkout
holds a path it did not hold before fails (in its setup or teardown, naming the paths), and so
does the whole run if the checkout gained any path by its end (collection and session-wide
fixtures included). Ignored: ``.venv``, ``.git``, ``build``, ``dist``, ``__pycache__``,
``*.egg-info`` and the caches of pytest and ruff.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Before Hypothesis is first asked where to write (it reads the variable once, on first use).
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    _HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="eqconform-tests-hypothesis-")
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = _HYPOTHESIS_HOME
    atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, True)

# eqconform's own cache (proof outcomes) in a folder of the session: shared by the tests and the
# processes they start, so proofs run once per session, and nothing is written to ~/.cache.
if not os.environ.get("EQCONFORM_CACHE_DIR"):
    _CACHE = tempfile.mkdtemp(prefix="eqconform-tests-cache-")
    os.environ["EQCONFORM_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, True)

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402
from hypothesis.database import DirectoryBasedExampleDatabase  # noqa: E402

# In case something asked Hypothesis for its storage before this module was imported.
set_hypothesis_home_dir(os.environ["HYPOTHESIS_STORAGE_DIRECTORY"])
_DATABASE = DirectoryBasedExampleDatabase(Path(os.environ["HYPOTHESIS_STORAGE_DIRECTORY"]) / "examples")

settings.register_profile("default", deadline=None, max_examples=50, database=_DATABASE,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("soak", deadline=None, max_examples=1000, database=_DATABASE,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

HANDINS = os.path.join(os.path.dirname(__file__), "handins")

# --------------------------------------------------------------------------- the checkout

CHECKOUT = Path(__file__).resolve().parent.parent
#: Folders whose contents are not the tests' business (installs, builds, bytecode, tool caches).
IGNORED_FOLDERS = frozenset({".venv", ".git", "build", "dist", "__pycache__", ".pytest_cache", ".ruff_cache"})


def _ignored(name: str) -> bool:
    return name in IGNORED_FOLDERS or name.endswith(".egg-info")


def checkout_listing(root: Path = CHECKOUT) -> tuple[set[str], set[str]]:
    """Every path under ``root`` (relative, folders included) and the folders among them,
    leaving out the ignored folders and everything in them."""
    paths: set[str] = set()
    folders: set[str] = {"."}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if not _ignored(name)]
        relative = os.path.relpath(folder, root)
        for name in subfolders:
            folders.add(os.path.normpath(os.path.join(relative, name)))
        paths.update(os.path.normpath(os.path.join(relative, name)) for name in (*subfolders, *files))
    return paths, folders


class CheckoutWatch:
    """Which paths appeared in the checkout since the last look.

    Looking is cheap when nothing changed: a new entry changes the modification time of the
    folder that holds it, so only the folders are examined (one ``stat`` each) until one of
    them changed; then the checkout is listed again and compared with what was there.
    """

    def __init__(self, root: Path = CHECKOUT):
        self.root = root
        self.initial, folders = checkout_listing(root)
        self.known = set(self.initial)
        self._watch(folders)

    def _watch(self, folders: set[str]) -> None:
        self._folders = [os.path.join(self.root, folder) for folder in sorted(folders)]
        self._times = self._folder_times()

    def _folder_times(self) -> list[int]:
        times = []
        for folder in self._folders:
            try:
                times.append(os.stat(folder).st_mtime_ns)
            except OSError:  # removed since: a change, noticed by the next listing
                times.append(-1)
        return times

    def new_paths(self) -> list[str]:
        """Paths that appeared since the last call (each reported once)."""
        if self._folder_times() == self._times:
            return []
        paths, folders = checkout_listing(self.root)
        self._watch(folders)
        new = sorted(paths - self.known)
        self.known |= paths
        return new

    def created_in_session(self) -> list[str]:
        """Paths there now that were not there when the session started."""
        return sorted(checkout_listing(self.root)[0] - self.initial)


_WATCH = CheckoutWatch()
_SESSION_PROBLEM: list[str] = []


def _describe(paths: list[str]) -> str:
    shown = ", ".join(paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")
    return f"{shown} in the checkout {CHECKOUT}"


@pytest.fixture(autouse=True)
def _writes_nothing_into_the_checkout():
    before = _WATCH.new_paths()
    if before:
        pytest.fail(f"created before this test ran (by a fixture it uses, or by an earlier test's teardown): "
                    f"{_describe(before)}; tests must write only into temporary folders", pytrace=False)
    yield
    after = _WATCH.new_paths()
    if after:
        pytest.fail(f"this test created {_describe(after)}; tests must write only into temporary folders "
                    "(tmp_path; --examples-dir under it or --no-examples-db for eqconform report)", pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    created = _WATCH.created_in_session()
    if created:
        _SESSION_PROBLEM.append(f"the test run created {_describe(created)}; tests must write only into "
                                "temporary folders")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for problem in _SESSION_PROBLEM:
        terminalreporter.write_sep("=", "files written into the checkout", red=True)
        terminalreporter.write_line(problem, red=True)
