"""The runner: the only part of eqconform that imports audited code.

It runs in its own process (in a bubblewrap sandbox where the machine has one), started by the
judge with two pipes. It resolves one target, calls its adapters as the judge asks and answers
in plain data (:mod:`.wire`); see :mod:`.server` for the requests. It imports NumPy, the
standard library, the adapters of :mod:`eqconform.verify.targets` and this package, nothing
else of eqconform: no spec, oracle, tolerance or expected value is in its memory.
"""
