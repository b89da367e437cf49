"""Where audited code runs: a bubblewrap sandbox with cgroup limits, or plain processes.

The runner (:mod:`eqconform.verify.runner`) is started by :func:`runner_command` inside
Debian's ``bwrap`` when the machine has a working one:

- no network (``--unshare-net``), its own PID, IPC and UTS namespaces, a new session (no
  terminal to inject keystrokes into), ``--die-with-parent``: when the judge goes, so does the
  sandbox, and with its PID 1 every process the audited code started;
- the whole filesystem read-only, a private empty writable ``/tmp`` (also ``HOME``), and empty
  folders laid over what the audited code must not see: eqconform's own installed files (only
  the runner and the bundled implementation are put back, read-only), the report folder, the
  examples database and every other target of the run;
- a cgroup per runner (v1 ``memory`` and ``pids`` controllers, where they are writable) whose
  memory limit counts every process inside, and whose process limit stops fork bombs; the
  cgroup is emptied (every process in it killed) when the runner is closed.

``--sandbox off`` (or ``auto`` on a machine without a working ``bwrap``) runs the runner as a
plain process in its own session with the same cgroup limits where they exist, else an address
space limit (``ulimit -v``), and a parent-death signal; :func:`isolation_summary` says which
was used, for the report.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "RUNNER_PACKAGE",
    "SANDBOX_MODES",
    "Cgroup",
    "Confinement",
    "SandboxUnavailable",
    "bubblewrap_problem",
    "confinements",
    "isolation_summary",
    "limited",
    "remove_cgroups",
    "runner_command",
    "set_parent_death_signal",
    "target_path",
]

SANDBOX_MODES = ("auto", "require", "off")
#: Memory the audited code (with every process it starts) may use before it is stopped (bytes).
DEFAULT_MEMORY_LIMIT = 8 * 2**30
_CGROUP_ROOT = Path("/sys/fs/cgroup")
_numbers = itertools.count(1)


class SandboxUnavailable(RuntimeError):
    """``--sandbox require`` on a machine where bubblewrap does not work."""


@dataclass(frozen=True)
class Confinement:
    """How one target's runner is confined."""

    mode: str = "auto"
    #: The eqconform process the runners serve (it names their cgroups).
    owner: int = field(default_factory=os.getpid)
    memory_limit: int = DEFAULT_MEMORY_LIMIT
    process_limit: int = 256
    #: Paths the audited code must not see (report folder, examples database, other targets).
    hidden: tuple[str, ...] = ()
    #: Paths it must see read-only although they lie under a hidden one (its own handin).
    visible: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in SANDBOX_MODES:
            raise ValueError(
                f"unknown sandbox mode {self.mode!r} (known: {', '.join(SANDBOX_MODES)})"
            )

    @property
    def uses_bubblewrap(self) -> bool:
        if self.mode == "off":
            return False
        problem = bubblewrap_problem()
        if problem and self.mode == "require":
            raise SandboxUnavailable(
                f"--sandbox require: bubblewrap cannot be used here: {problem}"
            )
        return problem is None


@functools.lru_cache(maxsize=1)
def bubblewrap_problem() -> str | None:
    """Why bubblewrap cannot be used on this machine, or None when it works."""
    executable = shutil.which("bwrap")
    if executable is None:
        return "no bwrap on PATH (Debian package bubblewrap)"
    try:
        probe = subprocess.run(
            [executable, *_namespaces(), "--ro-bind", "/", "/", "--", "/bin/true"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap could not be started: {error}"
    if probe.returncode != 0:
        said = probe.stderr.decode(errors="replace").strip()[:300]
        return f"bwrap refused to start a sandbox: {said}"
    return None


def _namespaces() -> list[str]:
    return [
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
    ]


def _package_folders() -> dict[str, Path]:
    """Where eqconform's subpackages are installed, found without importing them (a judge
    worker has no use for the report renderers, and importing them cost it a second)."""
    import importlib.util

    def folder(name: str) -> Path:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise ImportError(f"{name} is not an installed package")
        return Path(list(spec.submodule_search_locations)[0]).resolve()

    return {
        "specs": folder("eqconform.specs"),
        "reports": folder("eqconform.reports"),
        "verify": folder("eqconform.verify"),
        "impl": folder("eqconform.impl"),
        "runner": folder("eqconform.verify.runner"),
        "targets": folder("eqconform.verify.targets"),
    }


#: The neutral name the runner's code is imported under in the runner process, so that audited
#: code finds neither ``eqconform`` nor ``hypothesis`` among its modules (a handin that behaves
#: only when it sees its checker has nothing to see).
RUNNER_PACKAGE = "harness"


def _bootstrap(folders: dict[str, Path]) -> str:
    """Python source that imports the runner's two folders as ``harness.runner`` and
    ``harness.targets`` (straight from where they are installed, nothing copied) and serves."""
    return "; ".join(
        [
            "import sys, types, importlib.util",
            f"package = types.ModuleType({RUNNER_PACKAGE!r}); package.__path__ = []; "
            f"sys.modules[{RUNNER_PACKAGE!r}] = package",
            *(
                f"spec = importlib.util.spec_from_file_location({f'{RUNNER_PACKAGE}.{part}'!r}, "
                f"{str(folders[part] / '__init__.py')!r}, "
                f"submodule_search_locations=[{str(folders[part])!r}]); "
                f"module = importlib.util.module_from_spec(spec); sys.modules[spec.name] = module; "
                f"spec.loader.exec_module(module)"
                for part in ("targets", "runner")
            ),
            f"from {RUNNER_PACKAGE}.runner.__main__ import main",
            "main(sys.argv[1:])",
        ]
    )


def runner_command(config: str, read_fd: int, write_fd: int, confinement: Confinement) -> list[str]:
    """The command that starts one runner (``config`` is its JSON configuration)."""
    folders = _package_folders()
    # -B: no bytecode written next to the audited code (-I ignores PYTHONDONTWRITEBYTECODE).
    python = [
        sys.executable,
        "-I",
        "-B",
        "-c",
        _bootstrap(folders),
        str(read_fd),
        str(write_fd),
        config,
    ]
    if not confinement.uses_bubblewrap:
        return python
    command = [
        shutil.which("bwrap") or "bwrap",
        *_namespaces(),
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
        "--setenv",
        "HOME",
        "/tmp",
        "--setenv",
        "TMPDIR",
        "/tmp",
        "--chdir",
        "/tmp",
    ]
    # What the audited code may read that the private /tmp would cover: the working directory
    # and the import path of the judge (``python:`` targets import as they would in-process),
    # and the target's own handin or file.
    readable = [
        Path.cwd(),
        *(Path(p) for p in sys.path if p),
        *map(Path, confinement.visible),
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.executable).parent,
        Path(sys.executable).resolve().parent,
    ]
    for path in _outermost(p for p in readable if _under_tmp(p) and p.exists()):
        command += ["--ro-bind", str(path), str(path)]
    hidden = [
        folders["specs"],
        folders["reports"],
        folders["verify"],
        *map(Path, confinement.hidden),
    ]
    for path in _outermost(p for p in hidden if p.exists() and p.is_dir()):
        command += ["--tmpfs", str(path)]
    for name in confinement.hidden:  # a hidden file (not a folder) is replaced by an empty one
        if Path(name).is_file():
            command += ["--ro-bind", "/dev/null", str(name)]
    # Put back what lies under a hidden folder but must be seen: the runner's own two folders
    # (the bundled implementation's adapter, eqconform.impl:ADAPTER, also drives its homework-API
    # classes through the wrappers of verify/targets) and the target's own files.
    for path in (folders["runner"], folders["targets"], *map(Path, confinement.visible)):
        if path.exists():
            command += ["--ro-bind", str(path), str(path)]
    return [*command, "--", *python]


def _under_tmp(path: Path) -> bool:
    """Strictly inside /tmp (the real /tmp itself is never shown: it holds other people's files)."""
    return Path("/tmp") in path.resolve().parents


def _outermost(paths: Iterable[Path]) -> list[Path]:
    """The paths that are not inside another one of them (a tmpfs over both would clash)."""
    ordered = sorted({p.resolve() for p in paths}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in ordered:
        if not any(path == k or k in path.parents for k in kept):
            kept.append(path)
    return kept


# --------------------------------------------------------------------------- limits


@dataclass
class Cgroup:
    """One runner's cgroup in the v1 ``memory`` and ``pids`` controllers (where writable)."""

    memory_limit: int
    process_limit: int
    #: The eqconform process the runner serves (its cgroups are named after it, so that it can
    #: remove whatever a killed judge worker left: :func:`remove_cgroups`).
    owner: int = field(default_factory=os.getpid)
    name: str = ""
    folders: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.name or f"eqconform-{self.owner}-{os.getpid()}-{next(_numbers)}"

    @staticmethod
    def available() -> bool:
        return all(
            os.access(_CGROUP_ROOT / controller, os.W_OK) for controller in ("memory", "pids")
        )

    def create(self) -> bool:
        if not self.available():
            return False
        try:
            memory = _CGROUP_ROOT / "memory" / self.name
            memory.mkdir()
            self.folders.append(memory)
            (memory / "memory.limit_in_bytes").write_text(str(self.memory_limit))
            try:  # swap counts too where the kernel accounts it
                (memory / "memory.memsw.limit_in_bytes").write_text(str(self.memory_limit))
            except OSError:
                pass
            pids = _CGROUP_ROOT / "pids" / self.name
            pids.mkdir()
            self.folders.append(pids)
            (pids / "pids.max").write_text(str(self.process_limit))
        except OSError:
            self.remove()
            return False
        return True

    def ran_out_of_memory(self) -> bool:
        """Whether the kernel's OOM killer acted in this cgroup (or usage reached the limit)."""
        for folder in self.folders:
            if folder.parent.name != "memory":
                continue
            try:
                control = dict(
                    line.split()
                    for line in (folder / "memory.oom_control").read_text().splitlines()
                )
                peak = int((folder / "memory.max_usage_in_bytes").read_text())
            except (OSError, ValueError):
                return False
            return int(control.get("oom_kill", 0)) > 0 or peak >= self.memory_limit
        return False

    def remove(self) -> None:
        """Kill every process left in the cgroup, then remove it."""
        for folder in self.folders:
            for _ in range(50):
                try:
                    pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                except (OSError, ValueError):
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                import time

                time.sleep(0.02)
            try:
                folder.rmdir()
            except OSError:
                pass
        self.folders = []


def remove_cgroups(owner: int | None) -> None:
    """Empty and remove every runner cgroup of the eqconform process ``owner``; with None, those
    of every eqconform process that is gone (one killed by SIGKILL could not remove its own)."""
    for controller in ("memory", "pids"):
        folder = _CGROUP_ROOT / controller
        try:
            leftovers = [
                path
                for path in folder.glob(f"eqconform-{owner if owner is not None else '*'}-*")
                if path.is_dir()
            ]
        except OSError:
            continue
        for path in leftovers:
            owned_by = path.name.split("-")[1]
            if owner is None and (not owned_by.isdigit() or Path("/proc", owned_by).exists()):
                continue
            Cgroup(
                0,
                0,
                owner=int(owned_by) if owned_by.isdigit() else 0,
                name=path.name,
                folders=[path],
            ).remove()


def set_parent_death_signal(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def limited(command: Sequence[str], cgroup: Cgroup | None, memory_limit: int) -> list[str]:
    """``command`` started through ``/bin/sh``, which first moves itself into ``cgroup`` (or,
    without cgroups, caps its address space) and then execs the command: every process the
    command starts is inside the limits from its first instruction. (A shell rather than a
    ``preexec_fn``: forking a multithreaded Python, as one that loaded JAX is, and running
    Python code before exec can deadlock.)"""
    if cgroup is not None and cgroup.folders:
        setup = " && ".join(f'echo $$ > "{folder}/cgroup.procs"' for folder in cgroup.folders)
    else:
        setup = f"ulimit -v {max(1, memory_limit // 1024)}"
    return ["/bin/sh", "-c", f'{setup} && exec "$@"', "sh", *command]


def isolation_summary(confinement: Confinement) -> str:
    """One line for the report: what confined the audited code in this run."""
    memory = f"{confinement.memory_limit / 2**30:.1f} GB"
    limits = (
        f"cgroup limits of {memory} memory and {confinement.process_limit} processes"
        if Cgroup.available()
        else f"no writable cgroups, so an address-space limit of {memory} per process (children "
        "not counted) and no process limit"
    )
    if confinement.mode == "off":
        return f"plain processes (--sandbox off); {limits}"
    problem = bubblewrap_problem()
    if problem is not None:
        return f"plain processes (bubblewrap unavailable: {problem}); {limits}"
    return (
        "bubblewrap: no network, read-only filesystem, private /tmp, own PID namespace, "
        f"eqconform's files, the report, the examples database and other targets hidden; {limits}"
    )


def target_path(reference: str) -> str | None:
    """The file or folder a target reference names (a handin, an adapter file), if any."""
    kind, _, argument = reference.partition(":")
    if kind == "mytorch" and argument:
        return str(Path(argument).expanduser().absolute())
    if kind == "file" and argument:
        return str(Path(argument.rpartition(":")[0]).expanduser().absolute())
    return None


def confinements(
    references: Sequence[str], *, mode: str, memory_limit: int, hidden: Sequence[str] = ()
) -> list[Confinement]:
    """For each target: what its runner may not see (``hidden``, and every other target's
    file or folder, unless it holds this target's own) and may see (its own)."""
    paths = [target_path(reference) for reference in references]
    made = []
    for own in paths:
        others = list(
            dict.fromkeys(
                p
                for p in paths
                if p
                and p != own
                and not (own and (own.startswith(p + "/") or p.startswith(own + "/")))
            )
        )
        made.append(
            Confinement(
                mode=mode,
                memory_limit=memory_limit,
                hidden=(*hidden, *others),
                visible=(own,) if own else (),
            )
        )
    return made


def hidden_paths(paths: Sequence[str | os.PathLike[str] | None]) -> tuple[str, ...]:
    """Absolute forms of the paths that are set, for :attr:`Confinement.hidden`."""
    return tuple(str(Path(p).expanduser().absolute()) for p in paths if p)
