"""How a runner is confined: what it may see, what is hidden from it, and its limits."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from eqconform.verify.sandbox import (
    Cgroup,
    Confinement,
    bubblewrap_problem,
    confinements,
    limited,
    remove_cgroups,
    runner_command,
    target_path,
)

needs_bubblewrap = pytest.mark.skipif(bubblewrap_problem() is not None, reason=f"no bubblewrap: {bubblewrap_problem()}")
needs_cgroups = pytest.mark.skipif(not Cgroup.available(), reason="no writable v1 memory and pids cgroups here")


def test_each_target_is_hidden_from_the_others_but_sees_itself(tmp_path: Path) -> None:
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    adapters = tmp_path / "adapters.py"
    references = [f"mytorch:{alice}", f"mytorch:{bob}", f"file:{adapters}:One", f"file:{adapters}:Two", "numpy"]
    made = confinements(references, mode="off", memory_limit=2**30, hidden=["/report"])
    assert made[0].hidden == ("/report", str(bob), str(adapters)) and made[0].visible == (str(alice),)
    assert made[1].hidden == ("/report", str(alice), str(adapters))
    # Two targets from one file do not hide that file from each other.
    assert made[2].hidden == ("/report", str(alice), str(bob)) and made[2].visible == (str(adapters),)
    assert made[4].hidden == ("/report", str(alice), str(bob), str(adapters)) and made[4].visible == ()
    assert target_path("torch") is None and target_path(f"file:{adapters}:X") == str(adapters)


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sandbox mode 'maybe'"):
        Confinement(mode="maybe")


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def _sandboxed_shell(script: str, confinement: Confinement) -> subprocess.CompletedProcess[str]:
    """``script`` run by /bin/sh in the runner's sandbox instead of the runner itself."""
    command = runner_command("{}", 0, 1, confinement)
    return _run([*command[: command.index("--") + 1], "/bin/sh", "-c", script])


@needs_bubblewrap
def test_the_sandbox_hides_what_it_must_and_is_read_only(tmp_path: Path) -> None:
    import eqconform.specs
    import eqconform.verify.runner

    report, other, own = tmp_path / "report", tmp_path / "other", tmp_path / "own"
    for folder in (report, other, own):
        folder.mkdir()
        (folder / "file").write_text("x\n")
    specs = Path(eqconform.specs.__file__).parent
    runner = Path(eqconform.verify.runner.__file__).parent
    confinement = Confinement(mode="require", hidden=(str(report), str(other)), visible=(str(own),))
    script = "; ".join([
        f"ls -A {report} | wc -l", f"ls -A {other} | wc -l", f"ls -A {specs} | wc -l",  # hidden: empty
        f"cat {own}/file", f"ls {runner} | grep -c wire",  # its own files and the runner: there
        f"touch {own}/new 2>/dev/null && echo wrote || echo read-only",
        "touch /tmp/scratch && echo tmp-writable", "ls -A /tmp",
    ])
    done = _sandboxed_shell(script, confinement)
    words = done.stdout.split()
    assert words[:7] == ["0", "0", "0", "x", "1", "read-only", "tmp-writable"], done.stderr
    # A private /tmp: what the audited code wrote, and the way to its own folder and to the
    # runner's code where those lie under /tmp (mounted there read-only: eqconform itself is
    # under /tmp in a checkout cloned there), nothing of the machine's /tmp.
    way_in = {
        path.relative_to("/tmp").parts[0] for path in (own, runner) if path.is_relative_to("/tmp")
    }
    assert set(words[7:]) == {"scratch"} | way_in
    assert not (own / "new").exists()


@needs_bubblewrap
def test_the_sandbox_has_no_network_and_its_own_process_ids() -> None:
    done = _sandboxed_shell("cat /proc/net/dev | grep -c : ; echo pid $$", Confinement(mode="require"))
    assert done.stdout.split()[0] == "1"  # the loopback interface alone
    assert "pid 2" in done.stdout or "pid 1" in done.stdout  # numbered from 1 in its own namespace


@needs_cgroups
def test_the_cgroup_limits_every_process_of_the_runner_and_is_removed() -> None:
    cgroup = Cgroup(memory_limit=2**30, process_limit=16)
    assert cgroup.create()
    try:
        # A fork bomb of sleepers: the process limit stops it at 16.
        script = "for i in $(seq 40); do sleep 30 & done; wait"
        process = subprocess.Popen(limited(["/bin/sh", "-c", script], cgroup, 2**30))
        time.sleep(2)
        pids = (cgroup.folders[1] / "cgroup.procs").read_text().split()
        assert 1 < len(pids) <= 16
    finally:
        cgroup.remove()
        process.wait(timeout=30)
    assert not any(folder.exists() for folder in cgroup.folders)


@needs_cgroups
def test_cgroups_of_an_eqconform_that_is_gone_are_removed() -> None:
    dead = 2**22 + 12345  # above the kernel's largest PID: no such process
    stale = Cgroup(memory_limit=2**30, process_limit=8, owner=dead)
    assert stale.create()
    remove_cgroups(None)
    assert not any(folder.exists() for folder in stale.folders)


def test_without_cgroups_the_address_space_is_capped() -> None:
    done = _run(limited(["/bin/sh", "-c", "ulimit -v"], None, 2**30))
    assert done.stdout.strip() == str(2**30 // 1024)
