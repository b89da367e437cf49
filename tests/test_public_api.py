"""``__all__`` of each public module lists exactly its public names (Hypothesis's self-check).

Every name in ``__all__`` must exist, and every public name a module *defines* at top level
(by ``def``, ``class`` or assignment, found from its source, so constants count too; names it
imports and its submodules are exempt) must be in ``__all__``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import types

import pytest

PUBLIC_MODULES = [
    "eqconform.specs",
    "eqconform.verify.strategies",
    "eqconform.verify.compiler",
    "eqconform.reports",
    "eqconform.impl",
    "eqconform.verify.targets",
    "eqconform.verify.components",
]


def _bound_names(statements: list[ast.stmt]) -> set[str]:
    """Names bound at module level by definitions and assignments (not by imports)."""
    names: set[str] = set()
    for node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif type(node).__name__ == "TypeAlias":  # `type X = ...`, Python 3.12+
            names.add(node.name.id)
        elif isinstance(node, ast.If):
            names |= _bound_names(node.body) | _bound_names(node.orelse)
        elif isinstance(node, ast.Try):
            names |= _bound_names(node.body) | _bound_names(node.orelse) | _bound_names(node.finalbody)
            for handler in node.handlers:
                names |= _bound_names(handler.body)
    return names


def defined_public_names(module: types.ModuleType) -> set[str]:
    tree = ast.parse(inspect.getsource(module))
    return {
        name for name in _bound_names(tree.body)
        if not name.startswith("_") and not isinstance(getattr(module, name, None), types.ModuleType)
    }


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_name_in_all_exists(name):
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    missing = [attr for attr in exported if not hasattr(module, attr)]
    assert not missing, f"{name}.__all__ names missing attributes {missing}"
    private = [attr for attr in exported if attr.startswith("_")]
    assert not private, f"{name}.__all__ exports private names {private}"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_name_defined_in_the_module_is_in_all(name):
    module = importlib.import_module(name)
    unlisted = sorted(defined_public_names(module) - set(module.__all__))
    assert not unlisted, f"{name} defines public names missing from __all__: {unlisted}"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_functions_and_classes_of_the_module_are_in_all(name):
    """The runtime view of the same rule: objects whose __module__ is this module."""
    module = importlib.import_module(name)
    own = sorted(
        attr for attr, value in vars(module).items()
        if not attr.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == name
    )
    unlisted = [attr for attr in own if attr not in module.__all__]
    assert not unlisted, f"{name} defines {unlisted} without listing them in __all__"


def test_defined_name_finder_sees_constants_functions_and_classes():
    """The checker itself: it must catch an unlisted constant, not only functions."""
    source = (
        "from os import path\nimport json\n__all__ = ['f']\nX = 1\nY: int = 2\n_hidden = 3\n"
        "def f(): pass\nclass K: pass\nif True:\n    Z = 4\n"
    )
    module = types.ModuleType("fake_module")
    exec(compile(source, "fake_module", "exec"), module.__dict__)  # noqa: S102 - a fixed test source
    names = {name for name in _bound_names(ast.parse(source).body) if not name.startswith("_")}
    assert names == {"X", "Y", "f", "K", "Z"}
    assert names - set(module.__all__) == {"X", "Y", "K", "Z"}
