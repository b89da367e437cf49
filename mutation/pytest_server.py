"""Run pytest for each mutant without paying for Python's start each time.

A mutant's tests are one pytest run; most of a short run is spent importing NumPy, SymPy,
Hypothesis and pytest (about 3 seconds, more on a busy machine). The server imports those once
and forks a child per run; the child imports ``eqconform`` itself, fresh from the (mutated)
files on disk, so no mutant sees another's code: the server refuses to start if anything of
``eqconform`` was imported before it forks.

    python mutation/pytest_server.py serve SOCKET        # the server (run.py starts it)
    python mutation/pytest_server.py run SOCKET ARGS...  # one pytest run: its output, its exit code
    python mutation/pytest_server.py run SOCKET --select RECORD ARGS...
                                    # only the tests that ran the mutated lines (mutation/line_tests.py)

The client is what cosmic-ray starts per mutant (as its test command). It sends its working
directory, environment and arguments, relays the output, and exits with pytest's code. The
child runs in a session of its own and watches the client's connection: if the client goes
(cosmic-ray killed it on a timeout), the child kills its whole process group, so nothing the
mutant started outlives it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading

#: What the server imports before it forks (third-party only: never eqconform).
WARM = ("numpy", "sympy", "hypothesis", "hypothesis.extra.numpy", "pytest", "_pytest.python",
        "_pytest.fixtures", "_pytest.main", "jinja2", "markupsafe")


def _receive(connection: socket.socket) -> dict:
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            raise EOFError("the client closed before its request was complete")
        data += chunk
    return json.loads(data)


def _child(connection: socket.socket, request: dict) -> None:
    """In the forked child: become the test run the client asked for, then exit."""
    os.setsid()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[:0] = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.dont_write_bytecode = True
    # The output goes to the client through the connection (file descriptors 1 and 2).
    os.dup2(connection.fileno(), 1)
    os.dup2(connection.fileno(), 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (lives as long as the child)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115

    def watch() -> None:
        """The client sends nothing more: a read returns only when it has gone."""
        try:
            connection.recv(1)
        finally:
            os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, daemon=True).start()
    import pytest

    # Hypothesis was imported before pytest could rewrite its asserts; that is as intended.
    code = int(pytest.main(["-W", "ignore::pytest.PytestAssertRewriteWarning", *request["args"]]))
    sys.stdout.flush()
    sys.stderr.flush()
    # The exit code is the last line, after a marker no test prints.
    os.write(1, f"\n\0pytest-exit {code}\n".encode())
    os._exit(0)


def serve(path: str) -> None:
    for name in WARM:
        __import__(name)
    if any(name == "eqconform" or name.startswith("eqconform.") for name in sys.modules):
        raise SystemExit("eqconform was imported before forking: a mutant would run stale code")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are not waited for: no zombies
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen()
        while True:
            connection, _ = server.accept()
            try:
                request = _receive(connection)
            except (EOFError, ValueError):
                connection.close()
                continue
            if os.fork() == 0:
                server.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                try:
                    _child(connection, request)
                finally:
                    os._exit(3)
            connection.close()


def run(path: str, args: list[str]) -> int:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(path)
        request = {"cwd": os.getcwd(), "env": dict(os.environ), "args": args}
        connection.sendall(json.dumps(request).encode() + b"\n")
        received = bytearray()
        while chunk := connection.recv(65536):
            received += chunk
    output, marker, code = bytes(received).rpartition(b"\n\0pytest-exit ")
    if not marker:  # the child died before pytest finished
        sys.stdout.buffer.write(received)
        return 3
    sys.stdout.buffer.write(output)
    return int(code)


def main(argv: list[str]) -> int:
    command, path, *rest = argv
    if command == "serve":
        serve(path)
        return 0
    if rest[:1] == ["--select"]:
        from line_tests import select  # next to this file, whose folder is first on sys.path

        record, given = rest[1], rest[2:]
        code = run(path, select(record, given))
        # A test id pytest cannot find (usage error, nothing collected): the list as given.
        return run(path, given) if code in (4, 5) else code
    return run(path, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
