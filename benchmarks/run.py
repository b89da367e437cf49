"""What eqconform costs: a full report, and its oracle against the NumPy implementation.

Run with ``make bench`` (``.venv/bin/python benchmarks/run.py``). Everything is printed;
nothing is written into the repository (the report goes to a temporary directory).

1. Wall time of the default report for the ``numpy`` target at 100 examples per
   (equation, target): ``eqconform report --target numpy --max-examples 100 --quiet`` run as a
   subprocess and timed from outside, next to the seconds the report records in its own meta,
   with a warm cache (one untimed run first; section 6 times a cold one).

2. Oracle cost against implementation cost on large inputs, at three sizes so that linear
   growth shows (time per element):

   * Adam: one ``eqconform.impl.Adam.step()`` on a single layer whose ``W`` has n entries,
     against the compiled oracle of ``adam.update``'s whole chain (eqs. m_t, v_t, the bias
     correction and the update composed into one expression of theta_(t-1), g, m_(t-1),
     v_(t-1)) on the same arrays, with t the scalar the implementation holds (the checks,
     which flatten several steps into one record, pass t per entry).
   * LayerNorm forward: ``LayerNorm.forward(Z)`` against the oracle of eqs. (1)-(4) composed
     into one expression of Z, gamma, beta.
   * LayerNorm backward: ``LayerNorm.backward(G)`` (which computes eqs. (5), (6) and (7))
     against one compiled function of eqs. (5), (6) and (7) (with dL/dZhat = G gamma
     substituted) of G, gamma and the layer's own Zhat and sigma^2, as the checks feed them.

   The oracle expressions are the ones ``SpecGraph.predictor`` builds its programs from
   (``SpecGraph.expression``, on the components' own spec graphs from
   ``eqconform.verify.components``), compiled with ``compiler.compile_expressions`` (lambdify
   + cse). "oracle" is the value alone; "oracle+bound" is what a check evaluates, ``SpecGraph.predictor``: the value and
   its rounding-error bound (``eqconform.verify.rounding``), one call per checked quantity.

   Timing is the best of ``REPEATS`` calls with ``time.perf_counter``, after a warm-up call
   that also compiles; the three calls are interleaved so that load changes hit them alike.
   The target is oracle / implementation <= 1.5. As a sanity check, the implementation's
   output for the oracle's inputs is compared with the oracle in tolerance units, as a check
   would compare it ("agree"; at most 1 passes).

4. What the trust boundary costs: one handin's audit (``tests/handins/correct_spring``, every
   spec it provides, 100 examples) run three ways from the same command line: the judge and
   the audited code in one process (``--in-process``, as before the split), the audited code
   in a plain runner process (``--sandbox off``) and in the bubblewrap sandbox (``--sandbox
   auto``). Per example: wall time divided by the examples the report counts. Target: the
   sandboxed audit at most 20% over the in-process one.

3. Memory: the peak of what ``tracemalloc`` sees (NumPy reports its array allocations to it)
   while one call runs, divided by the bytes of the arrays the call receives.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import sympy as sp
from eqconform import impl
from eqconform.verify import tolerance
from eqconform.verify.compiler import CompiledFunction, compile_expressions
from eqconform.verify.components.layernorm import LAYERNORM
from eqconform.verify.components.table import Component
from eqconform.verify.components.optimizers import ADAM
from eqconform.verify.graph import Combination, SpecGraph

REPEATS = 5
TARGET_RATIO = 1.5
ADAM_SIZES = (10**5, 10**6, 10**7)
ADAM_INPUTS = 1000  # W is (n / ADAM_INPUTS, ADAM_INPUTS)
LAYERNORM_SHAPES = ((512, 1024), (1024, 1024), (4096, 1024))
#: What the homework-API LayerNorm exposes, so eq. (7) is predicted from its own Zhat, sigma^2.
LAYERNORM_OBSERVED = frozenset({"mu", "sigma2", "Zhat", "Ztilde", "dLdZ", "dLdgamma", "dLdbeta"})
UNIT_ROUNDOFF = tolerance.oracle_unit_roundoff(np.float64)


# --------------------------------------------------------------------------- oracles

@dataclass(frozen=True)
class Oracle:
    """The compiled value of some quantities, and the predictors the checks call for them."""

    value: CompiledFunction
    checked: tuple[Callable[[Mapping[str, Any]], tuple[np.ndarray, np.ndarray]], ...]

    def evaluate(self, values: Mapping[str, Any]) -> tuple[np.ndarray, ...]:
        return self.value(values)

    def evaluate_with_bound(self, values: Mapping[str, Any]) -> list[tuple[np.ndarray, ...]]:
        """What the judge evaluates on one record: each quantity's predictor, sharing the
        bounds of recomputed intermediates (LayerNorm's Zhat) through one memo, as a record's."""
        with_roundoff = {**values, "unit_roundoff": UNIT_ROUNDOFF}
        memo: dict[Any, np.ndarray] = {}
        return [predictor(with_roundoff, memo) for predictor in self.checked]

    def worst_error(self, values: Mapping[str, Any], observed: Sequence[np.ndarray]) -> float:
        """The largest ``|observed - value|`` in tolerance units, as a check computes it for a
        float64 target (a pass has it at most 1)."""
        worst = 0.0
        for (value, bound), seen in zip(self.evaluate_with_bound(values), observed):
            allowed = tolerance.SAFETY * bound + tolerance.floor(np.float64)
            worst = max(worst, float(np.max(np.abs(np.asarray(seen) - value) / allowed)))
        return worst


def _graph(component: Component) -> SpecGraph:
    """The spec graph a component judges one case with."""
    judge = component.exact
    assert judge is not None, f"{component.name} judges no single case"
    return judge.graph


def canonical_combination(graph: SpecGraph, quantity: str, observed: frozenset[str]) -> Combination:
    """Every spec that predicts ``quantity`` from ``observed``, in its canonical form."""
    chain = graph.chain(quantity, observed)
    return tuple(sorted((spec_id, graph.spec(spec_id).canonical.id) for spec_id in chain))


def build_oracle(graph: SpecGraph, quantities: Sequence[str], observed: frozenset[str]) -> Oracle:
    """The value of ``quantities`` compiled alone, from the expressions the checks' predictors
    are built from (``SpecGraph.expression``), and those predictors."""
    combinations = [canonical_combination(graph, q, observed) for q in quantities]
    expressions = tuple(graph.expression(q, c, observed) for q, c in zip(quantities, combinations))
    checked = tuple(graph.predictor(q, c, observed) for q, c in zip(quantities, combinations))
    return Oracle(compile_expressions(expressions), checked)


# --------------------------------------------------------------------------- workloads

@dataclass
class Workload:
    """One size of one comparison: the implementation's call, the oracle's inputs, and what
    the implementation returned for exactly those inputs (to check that both agree)."""

    name: str
    elements: int
    implementation: Callable[[], Any]
    oracle: Oracle
    inputs: dict[str, Any]
    implementation_output: tuple[np.ndarray, ...]

    @property
    def input_bytes(self) -> int:
        """Bytes of the arrays the value oracle takes (the bound may read more)."""
        arrays = (self.inputs[name] for name in self.oracle.value.arguments if name in self.inputs)
        return sum(value.nbytes for value in arrays if isinstance(value, np.ndarray))


def adam_workload(elements: int, rng: np.random.Generator) -> Workload:
    rows = elements // ADAM_INPUTS
    layer = SimpleNamespace(
        W=rng.standard_normal((rows, ADAM_INPUTS)), b=rng.standard_normal((rows, 1)),
        dLdW=rng.standard_normal((rows, ADAM_INPUTS)), dLdb=rng.standard_normal((rows, 1)),
    )
    optimizer = impl.Adam(SimpleNamespace(layers=[layer]), lr=1e-3)
    optimizer.step()  # non-zero moments, t = 1; every later step costs the same
    inputs = {
        "theta_prev": layer.W, "g": layer.dLdW, "m_prev": optimizer.m_W[0], "v_prev": optimizer.v_W[0],
        "alpha": optimizer.lr, "beta1": optimizer.beta1, "beta2": optimizer.beta2, "eps": optimizer.eps,
        "t": optimizer.t + 1,
    }
    optimizer.step()  # step t = 2 from exactly these inputs (it replaces, not mutates, W)
    oracle = build_oracle(_graph(ADAM), ["theta"], frozenset({"theta"}))
    return Workload("Adam step", elements, optimizer.step, oracle, inputs, (layer.W,))


def layernorm_layer(shape: tuple[int, int], rng: np.random.Generator) -> tuple[impl.LayerNorm, np.ndarray, np.ndarray]:
    features = shape[1]
    layer = impl.LayerNorm(features, eps=1e-8)
    layer.gamma, layer.beta = rng.standard_normal((1, features)), rng.standard_normal((1, features))
    Z = 3.0 + rng.standard_normal(shape)
    G = rng.standard_normal(shape)
    return layer, Z, G


def layernorm_forward_workload(shape: tuple[int, int], rng: np.random.Generator) -> Workload:
    layer, Z, _ = layernorm_layer(shape, rng)
    inputs = {"Z": Z, "gamma": layer.gamma, "beta": layer.beta, "eps": layer.eps}
    oracle = build_oracle(_graph(LAYERNORM), ["Ztilde"], frozenset({"Ztilde"}))
    return Workload("LayerNorm forward", Z.size, lambda: layer.forward(Z), oracle, inputs, (layer.forward(Z),))


def layernorm_backward_workload(shape: tuple[int, int], rng: np.random.Generator) -> Workload:
    layer, Z, G = layernorm_layer(shape, rng)
    layer.forward(Z)
    inputs = {"G": G, "gamma": layer.gamma, "Zhat": layer.NZ, "sigma2": layer.V, "eps": layer.eps,
              "Z": Z, "mu": layer.M}  # Z and mu only enter the bound (recomputing Zhat, sigma^2)
    dLdZ = layer.backward(G)
    oracle = build_oracle(_graph(LAYERNORM), ["dLdZ", "dLdgamma", "dLdbeta"], LAYERNORM_OBSERVED)
    return Workload("LayerNorm backward", G.size, lambda: layer.backward(G), oracle, inputs,
                    (dLdZ, layer.dLdgamma, layer.dLdbeta))


# --------------------------------------------------------------------------- measuring

def best_times(calls: Mapping[str, Callable[[], Any]], repeats: int = REPEATS) -> dict[str, float]:
    """Best of ``repeats`` timed calls of each, after one untimed warm-up call of each.

    The calls are interleaved (a, b, c, a, b, c, ...), so a change in the machine's load during
    the run affects all of them alike and the ratios stay meaningful.
    """
    for call in calls.values():
        call()
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeats):
        for name, call in calls.items():
            gc.collect()
            started = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def peak_bytes(call: Callable[[], Any]) -> int:
    """The peak of traced memory above what was allocated before ``call``."""
    gc.collect()
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - baseline


@dataclass(frozen=True)
class Measurement:
    name: str
    elements: int
    implementation: float
    oracle: float
    oracle_with_bound: float
    memory: dict[str, float]  # peak bytes / input bytes, per call
    worst_error: float  # implementation vs oracle, in tolerance units

    @property
    def ratio(self) -> float:
        return self.oracle / self.implementation

    @property
    def ratio_with_bound(self) -> float:
        return self.oracle_with_bound / self.implementation


def measure(workload: Workload, with_memory: bool) -> Measurement:
    calls = {
        "implementation": workload.implementation,
        "oracle": lambda: workload.oracle.evaluate(workload.inputs),
        "oracle+bound": lambda: workload.oracle.evaluate_with_bound(workload.inputs),
    }
    worst = workload.oracle.worst_error(workload.inputs, workload.implementation_output)
    times = best_times(calls)
    memory = {}
    if with_memory:
        memory = {name: peak_bytes(call) / workload.input_bytes for name, call in calls.items()}
    return Measurement(workload.name, workload.elements, times["implementation"], times["oracle"],
                       times["oracle+bound"], memory, worst)


# --------------------------------------------------------------------------- the full report

def eqconform_command() -> list[str]:
    script = Path(sys.executable).with_name("eqconform")
    return [str(script)] if script.exists() else [sys.executable, "-m", "eqconform.verify"]


def timed_report(arguments: Sequence[str], cache: str | None = None) -> tuple[float, dict[str, Any]]:
    """Wall time of ``eqconform report ARGUMENTS`` (output in a temporary folder, timed from
    outside) and the report it wrote; ``cache`` is its ``EQCONFORM_CACHE_DIR`` (default: the
    user's)."""
    with tempfile.TemporaryDirectory(prefix="eqconform-bench-") as directory:
        output = Path(directory) / "report"
        command = [*eqconform_command(), "report", *arguments, "-o", str(output), "--quiet"]
        environment = {**os.environ, **({"EQCONFORM_CACHE_DIR": cache} if cache else {})}
        started = time.perf_counter()
        finished = subprocess.run(command, cwd=directory, capture_output=True, text=True, check=False,
                                  env=environment)
        wall = time.perf_counter() - started
        if finished.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(command)} exited {finished.returncode}: {finished.stderr.strip()}")
        return wall, json.loads((output / "report.json").read_text())


def time_full_report(max_examples: int = 100) -> tuple[float, float, dict[str, int]]:
    """Wall time of the default numpy report, the seconds it records, and its outcome counts,
    with a warm cache: after one untimed run that fills it (proofs, programs, the cases drawn),
    as any earlier report leaves it."""
    arguments = ["--target", "numpy", "--max-examples", str(max_examples)]
    timed_report(arguments)
    wall, report = timed_report(arguments)
    return wall, float(report["meta"]["seconds"]), report["summary"]


HANDIN = Path(__file__).resolve().parent.parent / "tests" / "handins" / "correct_spring"
SPLIT_TARGET = 1.20


def time_handin_audit(mode: list[str], max_examples: int = 100) -> tuple[float, int]:
    """Wall time of one handin's audit under ``mode`` (extra CLI arguments), and its examples."""
    wall, report = timed_report(["--target", f"mytorch:{HANDIN}", "--max-examples", str(max_examples),
                                 "--no-examples-db", *mode])
    return wall, sum(int(result.get("examples") or 0) for result in report["results"])


def print_split_cost() -> None:
    print(f"4. The trust boundary: one handin's audit (target: sandboxed <= {SPLIT_TARGET:.2f}x in-process)")
    from eqconform.verify.sandbox import bubblewrap_problem

    modes = {"in-process (no split)": ["--in-process"], "runner, plain process": ["--sandbox", "off"]}
    problem = bubblewrap_problem()
    if problem is None:
        modes["runner in bubblewrap"] = ["--sandbox", "require"]
    timings = {name: time_handin_audit(mode) for name, mode in modes.items()}
    base_wall, base_examples = timings["in-process (no split)"]
    for name, (wall, examples) in timings.items():
        per = 1e3 * wall / max(examples, 1)
        ratio = (wall / max(examples, 1)) / (base_wall / max(base_examples, 1))
        print(f"   {name:<24}{wall:>7.1f} s  {examples:>6} examples  {per:.2f} ms/example  {ratio:.2f}x")
    if problem is not None:
        print(f"   (no bubblewrap here: {problem})")
    print()


GOLDEN = Path(__file__).resolve().parent / "golden.py"


def print_handin_against_golden(runs: int = 3) -> None:
    """One handin, every spec, against the seeded golden-output grader (``golden.py``): the
    median wall time of ``runs`` runs of each, both timed from outside as subprocesses."""
    print(f"5. One handin ({HANDIN.name}), every spec, 100 examples: eqconform against a golden-output grader "
          f"(median of {runs})")
    audits = sorted(timed_report(["--target", f"mytorch:{HANDIN}", "--no-examples-db"])[0] for _ in range(runs))
    golden = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, str(GOLDEN), str(HANDIN)], capture_output=True, check=False)
        golden.append(time.perf_counter() - started)
    audit, grader = audits[runs // 2], sorted(golden)[runs // 2]
    print(f"   eqconform audit {audit:.1f} s; golden-output grader {grader:.2f} s ({audit / grader:.0f}x)")
    print()


def print_cold_and_warm_cache() -> None:
    """The default numpy report with an empty cache, then again with the cache it filled."""
    print("6. Cache: the default numpy report with an empty cache (cold), then again (warm)")
    with tempfile.TemporaryDirectory(prefix="eqconform-bench-cache-") as cache:
        cold, report = timed_report(["--target", "numpy"], cache=cache)
        warm, again = timed_report(["--target", "numpy"], cache=cache)
    cached = sum(1 for proof in again["proofs"] if proof.get("cached"))
    print(f"   cold {cold:.1f} s, warm {warm:.1f} s ({cold / warm:.2f}x); proofs from the cache when warm: "
          f"{cached} of {len(again['proofs'])}")
    print()


# --------------------------------------------------------------------------- printing

CLASS_SIZE = 12


def class_of_handins(folder: Path, size: int = CLASS_SIZE) -> list[Path]:
    """``size`` handins: the test handins (correct and buggy) in turn, copied under ``folder``."""
    sources = sorted(p for p in HANDIN.parent.iterdir() if (p / "mytorch").is_dir())
    paths = []
    for index in range(size):
        path = folder / f"student{index:03d}"
        shutil.copytree(sources[index % len(sources)], path)
        paths.append(path)
    return paths


def time_grading(paths: Sequence[Path], *, jobs: int | None = None, workers: int | None = None,
                 settings: Any = None) -> float:
    """Wall time of grading ``paths`` into a fresh folder, on the local pool (``jobs``) or on a
    Dask LocalCluster of ``workers`` single-threaded processes (its start-up not counted), with
    ``settings`` (default: every spec, 100 examples)."""
    from eqconform.verify.grading import GradeSettings, grade_class

    settings = settings or GradeSettings()

    with tempfile.TemporaryDirectory(prefix="eqconform-bench-grade-") as directory:
        if workers is None:
            started = time.perf_counter()
            grade_class(paths, Path(directory), settings=settings, jobs=jobs)
            return time.perf_counter() - started
        from distributed import LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            started = time.perf_counter()
            grade_class(paths, Path(directory), settings=settings, scheduler=cluster.scheduler_address)
            return time.perf_counter() - started


def print_grading(size: int = CLASS_SIZE) -> None:
    print(f"7. Grading a class of {size} handins (the test handins in turn), every spec, 100 examples")
    with tempfile.TemporaryDirectory(prefix="eqconform-bench-class-") as directory:
        paths = class_of_handins(Path(directory), size)
        cores = os.cpu_count() or 1
        local = time_grading(paths, jobs=cores)
        print(f"   local pool, -j {cores}: {local:.1f} s, {3600 * size / local:.0f} handins per hour")
        base = None
        for workers in (1, 2, 4):
            wall = time_grading(paths, workers=workers)
            base = base or wall
            print(f"   Dask LocalCluster, {workers} worker(s): {wall:.1f} s, "
                  f"{3600 * size / wall:.0f} handins per hour, {base / wall:.2f}x the 1-worker speed")
    print()


def print_header() -> None:
    print("eqconform benchmark")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, sympy {sp.__version__}, "
          f"{os.cpu_count()} CPUs; best of {REPEATS} after a warm-up; float64")
    print()


def print_full_report(wall: float, recorded: float, summary: Mapping[str, int]) -> None:
    print("1. Full default report, numpy target, 100 examples per (equation, target)")
    counts = ", ".join(f"{count} {outcome}" for outcome, count in summary.items())
    print(f"   wall time {wall:.1f} s (subprocess, including interpreter start and imports); "
          f"report meta: {recorded:.1f} s; {counts}")
    print()


def print_measurements(measurements: Sequence[Measurement]) -> None:
    print(f"2. Oracle vs implementation (target: oracle / impl <= {TARGET_RATIO})")
    header = (f"   {'workload':<19}{'elements':>11}{'impl':>10}{'oracle':>10}{'ratio':>7}"
              f"{'+bound':>10}{'ratio':>7}{'agree':>7}   ns/element: impl, oracle, +bound")
    print("   (oracle = value only; +bound = value and rounding-error bound, as the checks evaluate it;")
    print("    agree = worst |impl - oracle| in tolerance units, a check passes at <= 1)")
    print(header)
    for m in measurements:
        per = [1e9 * seconds / m.elements for seconds in (m.implementation, m.oracle, m.oracle_with_bound)]
        flag = "" if m.ratio <= TARGET_RATIO else "  <- over target"
        print(f"   {m.name:<19}{m.elements:>11,}{_ms(m.implementation):>10}{_ms(m.oracle):>10}"
              f"{m.ratio:>6.2f}x{_ms(m.oracle_with_bound):>10}{m.ratio_with_bound:>6.2f}x{m.worst_error:>7.3f}"
              f"   {per[0]:.2f}, {per[1]:.2f}, {per[2]:.2f}{flag}")
    print()


def print_memory(measurements: Sequence[Measurement]) -> None:
    print("3. Peak traced memory during one call / bytes of the arrays it receives")
    for m in measurements:
        if m.memory:
            parts = ", ".join(f"{name} {ratio:.1f}x" for name, ratio in m.memory.items())
            print(f"   {m.name:<19}{m.elements:>11,}   {parts}")
    print()


def _ms(seconds: float) -> str:
    return f"{1e3 * seconds:.1f} ms"


def main() -> int:
    print_header()
    wall, recorded, summary = time_full_report()
    print_full_report(wall, recorded, summary)
    rng = np.random.default_rng(0)
    largest = (max(ADAM_SIZES), LAYERNORM_SHAPES[-1][0] * LAYERNORM_SHAPES[-1][1])
    measurements = []
    for build, sizes in (
        (adam_workload, ADAM_SIZES),
        (layernorm_forward_workload, LAYERNORM_SHAPES),
        (layernorm_backward_workload, LAYERNORM_SHAPES),
    ):
        for size in sizes:
            workload = build(size, rng)
            measurements.append(measure(workload, with_memory=workload.elements in largest))
            del workload
            gc.collect()
    print_measurements(measurements)
    print_memory(measurements)
    print_split_cost()
    print_handin_against_golden()
    print_cold_and_warm_cache()
    print_grading()
    over = [m for m in measurements if m.ratio > TARGET_RATIO]
    if over:
        print("Over target: " + "; ".join(f"{m.name} at {m.elements:,} ({m.ratio:.2f}x)" for m in over))
    else:
        print(f"Every oracle is within {TARGET_RATIO}x of the implementation.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
