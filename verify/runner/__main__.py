"""``main([READ_FD, WRITE_FD, CONFIG_JSON])``: serve one target (see :mod:`eqconform.verify.sandbox`
for how the runner is started under a neutral package name).

``CONFIG_JSON`` holds ``reference`` (the target), ``path`` (folders to put on ``sys.path``,
as the judge had them, so ``python:`` targets import as they would in-process) and ``cwd``.
"""

import json
import os
import sys

from .server import serve


def _die_with_parent() -> None:
    """Ask the kernel to kill this process when the judge goes (Linux; best effort: in the
    sandbox, bubblewrap's --die-with-parent does the same)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _out_of_the_way(fd: int) -> int:
    """``fd`` moved to a random high number, closed on exec: audited code that writes on every
    low descriptor at import hits the counted output, not the wire. (Code that looks the wire up
    in /proc/self/fd can still write on it; that breaks the protocol and ends its own checks
    with an error, never a verdict in its favour: the judge decides every verdict itself.)"""
    import fcntl
    import random
    import resource

    ceiling = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    ceiling = 4096 if ceiling == resource.RLIM_INFINITY else ceiling
    moved = fcntl.fcntl(
        fd, fcntl.F_DUPFD_CLOEXEC, random.SystemRandom().randrange(ceiling // 2, ceiling - 8)
    )
    os.close(fd)
    return moved


def main(argv: list[str]) -> None:
    import signal

    _die_with_parent()
    # The judge worker ignores SIGINT and that is inherited; here a SIGINT can only come from
    # the audited code itself (the runner has its own session), so it is raised in that code as
    # KeyboardInterrupt and reported as its exception, never taken for the user's Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    read_fd, write_fd, config_text = (
        _out_of_the_way(int(argv[0])),
        _out_of_the_way(int(argv[1])),
        argv[2],
    )
    config = json.loads(config_text)
    for folder in reversed(config.get("path", [])):
        if isinstance(folder, str) and folder not in sys.path and os.path.isdir(folder):
            sys.path.insert(0, folder)
    cwd = config.get("cwd")
    if isinstance(cwd, str) and os.path.isdir(cwd):
        os.chdir(cwd)
    serve(str(config["reference"]), read_fd, write_fd)


if __name__ == "__main__":
    main(sys.argv[1:])
