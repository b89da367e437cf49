"""A golden-output grader of an 11-785 handin: the yardstick ``make bench`` times eqconform against.

This is how a course autograder typically checks the homework: fixed, seeded inputs; the
reference implementation's outputs on them (here the bundled NumPy implementation); the
handin's outputs compared with ``np.allclose``. It says pass or fail per test, nothing about
which equation is wrong, and it only knows the inputs it was written with.

    python benchmarks/golden.py tests/handins/correct_spring

prints one line per test and exits 1 when any fails. It imports the handin's ``mytorch``
modules in this process, as such graders do.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from eqconform import impl

SEED = 20260121
RTOL, ATOL = 1e-6, 1e-8
#: component -> (module under mytorch/, class names of the two editions)
LAYOUT = {"adam": ("optim.adam", ("Adam", "adam")), "adamw": ("optim.adamW", ("AdamW", "adamW")),
          "layernorm": ("nn.layernorm", ("LayerNorm", "LayerNorm1d")), "dropout": ("nn.dropout", ("Dropout",))}


def load_handin(folder: Path) -> dict[str, Any]:
    """The handin's classes by component (missing ones left out)."""
    for name in [module for module in sys.modules if module == "mytorch" or module.startswith("mytorch.")]:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        classes = {}
        for component, (module, names) in LAYOUT.items():
            try:
                loaded = importlib.import_module(f"mytorch.{module}")
            except ImportError:
                continue
            found = [getattr(loaded, name) for name in names if hasattr(loaded, name)]
            if found:
                classes[component] = found[0]
        return classes
    finally:
        sys.path.remove(str(folder))


def _model(rng: np.random.Generator) -> SimpleNamespace:
    shapes = [(4, 3), (2, 4)]
    return SimpleNamespace(layers=[SimpleNamespace(W=rng.standard_normal(s), b=rng.standard_normal((s[0], 1)),
                                                   dLdW=None, dLdb=None) for s in shapes])


def _optimizer_outputs(cls: type, decay: bool, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    model = _model(rng)
    options = {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, **({"weight_decay": 0.01} if decay else {})}
    optimizer = cls(model, **options)
    outputs = []
    for _ in range(5):
        for layer in model.layers:
            layer.dLdW, layer.dLdb = rng.standard_normal(layer.W.shape), rng.standard_normal(layer.b.shape)
        optimizer.step()
        outputs += [layer.W.copy() for layer in model.layers] + [layer.b.copy() for layer in model.layers]
    return outputs


def _layernorm_outputs(cls: type, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    Z, G = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    layer = cls(5, eps=1e-5)
    out = layer.forward(Z)
    dZ = layer.backward(G)
    return [out, dZ, layer.dLdgamma, layer.dLdbeta]


def _dropout_outputs(cls: type, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    x, delta = rng.standard_normal((8, 6)), rng.standard_normal((8, 6))
    np.random.seed(seed % 2**32)
    layer = cls(p=0.3)
    train = layer.forward(x, train=True)
    back = layer.backward(delta)
    return [train, back, layer.forward(x, train=False)]


TESTS: dict[str, Callable[[type, int], list[np.ndarray]]] = {
    "adam": lambda cls, seed: _optimizer_outputs(cls, False, seed),
    "adamw": lambda cls, seed: _optimizer_outputs(cls, True, seed),
    "layernorm": _layernorm_outputs,
    "dropout": _dropout_outputs,
}
REFERENCE = {"adam": impl.Adam, "adamw": impl.AdamW, "layernorm": impl.LayerNorm, "dropout": impl.Dropout}


def grade(folder: Path, cases: int = 3) -> dict[str, bool]:
    """Pass or fail per (component, case) of the handin in ``folder``."""
    classes = load_handin(folder)
    verdicts = {}
    for component, outputs in TESTS.items():
        for case in range(cases):
            name = f"{component}[{case}]"
            if component not in classes:
                verdicts[name] = False
                continue
            expected = outputs(REFERENCE[component], SEED + case)
            try:
                got = outputs(classes[component], SEED + case)
                verdicts[name] = len(got) == len(expected) and all(
                    np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=RTOL, atol=ATOL) for a, b in zip(got, expected))
            except Exception:  # a crash fails the test, as in any autograder
                verdicts[name] = False
    return verdicts


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python benchmarks/golden.py HANDIN", file=sys.stderr)
        return 2
    verdicts = grade(Path(argv[0]))
    for name, passed in verdicts.items():
        print(f"{'pass' if passed else 'FAIL'}  {name}")
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
