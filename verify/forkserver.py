"""The forkserver every process eqconform forks for itself comes from (judge workers, the proof
worker), with the checker preloaded.

Kept apart from :mod:`.isolation` and free of heavy imports so that the command line can start
it first: the forkserver imports the checker (SymPy, the specs, the components: about a second)
while the command imports what it needs itself, on another core, instead of one after the other.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["worker_context"]

_context: Any = None


def worker_context() -> Any:
    """The multiprocessing context of every process eqconform forks for itself: one forkserver,
    with the checker preloaded, set up before it starts, whoever asks first.

    Asked from the main thread, the forkserver is started at once and tied to eqconform's life
    (:mod:`.lifeline`). The kernel's parent-death signal follows the *thread* that started a
    process, so a forkserver first started from another thread (a thread pool's) would be killed
    when that thread ends; it is then started without the tie instead.
    """
    global _context
    if _context is None:
        import multiprocessing.forkserver

        context = multiprocessing.get_context("forkserver")
        preload = ["eqconform.verify.engine"]
        if threading.current_thread() is threading.main_thread():
            preload.insert(0, "eqconform.verify.lifeline")
        context.set_forkserver_preload(preload)
        if threading.current_thread() is threading.main_thread():
            multiprocessing.forkserver.ensure_running()
        _context = context
    return _context
