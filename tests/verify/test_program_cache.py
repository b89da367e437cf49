"""Compiled oracles and bounds kept on disk: reused across graphs and processes, never run
unchecked."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from eqconform.specs import layernorm
from eqconform.verify import compiler, graph
from eqconform.verify.compiler import CompiledFunction, checked_program, compile_expressions
from eqconform.verify.graph import SpecGraph, SpecUse


def _graph() -> SpecGraph:
    return SpecGraph([SpecUse(spec) for spec in layernorm.SPECS])


VALUES = {
    "Z": np.array([[1.0, 2.0, 6.0], [0.5, -1.0, 3.0]]),
    "gamma": np.array([[1.0, 2.0, 0.5]]),
    "beta": np.array([[0.0, 1.0, -1.0]]),
    "eps": 1e-5,
    "unit_roundoff": 2.0**-53,
}
QUESTION = ("Ztilde", (("layernorm.affine", "canonical"), ("layernorm.mean", "canonical"),
                       ("layernorm.normalize", "eps-inside-sqrt"), ("layernorm.variance", "biased")),
            frozenset({"Ztilde"}))


def test_a_program_round_trips_through_plain_data() -> None:
    x, y = sp.symbols("x y", real=True)
    compiled = compile_expressions((sp.sqrt(x**2 + y) / (1 + sp.Abs(x)), sp.exp(-x) * y))
    again = CompiledFunction.from_data(json.loads(json.dumps(compiled.to_data())))
    args = {"x": np.array([0.5, -2.0]), "y": np.array([3.0, 4.0])}
    for first, second in zip(compiled(args), again(args), strict=True):
        np.testing.assert_array_equal(first, second)


def test_a_second_graph_reuses_the_stored_programs(programs, monkeypatch: pytest.MonkeyPatch) -> None:
    value, bound = _graph().predictor(*QUESTION)(VALUES)
    assert list(programs.folder.glob("*.json"))

    def refuse(*args, **kwargs):
        raise AssertionError("compiled again although the program is stored")

    monkeypatch.setattr(graph, "compile_expressions", refuse)
    monkeypatch.setattr(graph, "bound_program", refuse)
    again_value, again_bound = _graph().predictor(*QUESTION)(VALUES)
    np.testing.assert_array_equal(value, again_value)
    np.testing.assert_array_equal(bound, again_bound)


FORGED = [
    "",
    "x = 1\ndef program(x):\n    return (x,)",
    "import os\ndef program(x):\n    return (x,)",
    "def program(x):\n    return (__import__('os').system('true'),)",
    "def program(x):\n    return (x.__class__,)",
    "def program(x):\n    return (numpy.load('data'),)",
    "def program(x):\n    return (numpy.add.reduce(x),)",
    "def program(x):\n    return (numpy.sqrt('x'),)",
    "def program(x):\n    while True:\n        pass\n    return (x,)",
    "def program(x, y=1):\n    return (x,)",
    "def program(y):\n    return (y,)",
    "@numpy.vectorize\ndef program(x):\n    return (x,)",
    "def program(x):\n    z = [t for t in x]\n    return (z,)",
    "def program(x):\n    return (lambda: x)()",
    "def program(x):\n    x.y = 1\n    return (x,)",
    "def program(x):\n    return (open,)",
    "def program(x):\n    return (x,)\n    return (x,)",  # a return before the last statement
]


@pytest.mark.parametrize("source", FORGED)
def test_a_program_that_this_code_would_not_generate_is_refused(source: str) -> None:
    with pytest.raises(ValueError):
        checked_program(source, ["x"])


def test_every_generated_program_passes_the_check() -> None:
    """The check must accept what the compiler writes, or every entry would be rebuilt."""
    spec_graph = _graph()
    for combination in spec_graph.combinations(spec_graph.chain("Ztilde", frozenset({"Ztilde"}))):
        predictor = spec_graph.predictor("Ztilde", combination, frozenset({"Ztilde"}))
        checked_program(predictor.with_bound.source, predictor.with_bound.arguments)


@pytest.mark.parametrize("damage", ["truncate", "forge", "retarget"])
def test_a_damaged_entry_is_rebuilt_and_rewritten(programs, damage: str) -> None:
    value, _ = _graph().predictor(*QUESTION)(VALUES)
    (path,) = programs.folder.glob("*.json")
    entry = json.loads(path.read_text())
    if damage == "truncate":
        path.write_text(path.read_text()[:40])
    elif damage == "forge":  # a program answering whatever the target answered would forge a pass
        entry["value"]["with_bound"]["source"] = "def program(Z):\n    return (__import__('os'),)"
        entry["value"]["with_bound"]["arguments"] = ["Z"]
        path.write_text(json.dumps(entry))
    else:
        entry["key"] = "0" * 64
        path.write_text(json.dumps(entry))
    again, _ = _graph().predictor(*QUESTION)(VALUES)
    np.testing.assert_array_equal(value, again)
    assert json.loads(path.read_text())["value"] == json.loads(json.dumps(
        _graph().predictor(*QUESTION).to_data()))


def test_the_fingerprint_follows_the_specs() -> None:
    one = _graph().fingerprint
    assert one == _graph().fingerprint
    other = SpecGraph([SpecUse(spec) for spec in layernorm.SPECS[:-1]]).fingerprint
    assert one != other
    assert compiler.__file__ and graph.program_code()
