# A hostile handin (see tests/hostile/README.md). This file is the same in every folder there:
# it reads the test's settings for this copy and records where the handin's code runs. The
# records land in a folder of the test's only where that folder is writable, i.e. outside the
# sandbox (or wherever the sandbox failed); the test reads them after the run.

import json
import os
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _settings():
    try:
        with open(os.path.join(_ROOT, "_hostile.json")) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


CONFIG = _settings()
#: Top-level packages that only the checker (never the runner) has loaded.
CHECKER_PACKAGES = ("eqconform", "hypothesis", "sympy", "mpmath")


def checker_modules():
    """The checker's modules loaded in this process (none, in a runner)."""
    return sorted(name for name in list(sys.modules) if name.split(".")[0] in CHECKER_PACKAGES)


# What was loaded when the handin's code first ran in this process, before any attack of its own
# could import the checker's modules itself (this file is run again for each component).
if not hasattr(sys, "_hostile_first_seen"):
    sys._hostile_first_seen = checker_modules()


def evidence(kind, **facts):
    """Leave a record of what this process is and saw, where the test can read it."""
    folder = CONFIG.get("evidence")
    if not folder:
        return
    try:
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{kind}-{os.getpid()}-{time.monotonic_ns()}.json")
        with open(path, "w") as handle:
            json.dump({"kind": kind, "pid": os.getpid(), "checker_modules_at_first_import": sys._hostile_first_seen,
                       "checker_modules": checker_modules(), **facts}, handle, default=repr)
    except OSError:
        pass


evidence("import-mytorch")
