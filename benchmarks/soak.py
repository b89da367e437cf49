"""The false-alarm soak: the full default profile over many seeds, every failure counted.

Runs ``eqconform report`` once per seed with every target (numpy, torch and jax by default),
reads each report.json and prints, per target, the examples run and the results that did not
pass. On correct implementations every count of failures should be zero; a non-zero count is
either a bug in a target or a false alarm of the checker, and is listed with its message.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_TARGETS = ("numpy", "torch", "jax:use_fast_variance=False")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--target", action="append", default=[])
    args = parser.parse_args()
    targets = args.target or list(DEFAULT_TARGETS)
    examples: collections.Counter[str] = collections.Counter()
    checks: collections.Counter[str] = collections.Counter()
    problems: list[str] = []
    started = time.perf_counter()
    executable = Path(sys.executable).with_name("eqconform")
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        with tempfile.TemporaryDirectory() as directory:
            command = [str(executable), "report", "--seed", str(seed), "--max-examples", str(args.max_examples),
                       "-o", directory, "--quiet"]
            for target in targets:
                command += ["--target", target]
            subprocess.run(command, check=False, capture_output=True, text=True)
            report = json.loads((Path(directory) / "report.json").read_text())
        found = []
        for result in report["results"]:
            examples[result["target"]] += result["examples"]
            checks[result["target"]] += 1
            if result["outcome"] not in ("pass", "skip"):
                found.append(f"seed {seed} {result['spec']} [{result['target']}] {result['outcome']}: {result['message'][:300]}")
        problems += found
        # Each seed's failures as soon as it ends: a soak takes hours, and one stopped early
        # should still have said what it found.
        print(f"seed {seed}: done ({time.perf_counter() - started:.0f} s), {len(found)} failures", flush=True)
        for problem in found:
            print("  " + problem, flush=True)
    print(f"\nsoak: {args.seeds} seeds x {args.max_examples} examples per (spec, target)")
    for target in targets:
        name = next((n for n in checks if n == target or n.startswith(target.split(":")[0])), target)
        failures = sum(1 for p in problems if f"[{name}]" in p)
        print(f"  {name:<32} {checks[name]:>5} checks  {examples[name]:>8} examples  {failures} failures")
    for problem in problems:
        print("  " + problem)
    print(f"{sum(checks.values()) - len(problems)} passed, {len(problems)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
