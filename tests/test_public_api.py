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


#: Top-level definitions of every kind the rule covers, appended to a module's own source below.
_APPENDED = (
    "\nUNLISTED_CONSTANT = 1\nUNLISTED_ANNOTATED: int = 2\ndef unlisted_function(): pass\n"
    "class UnlistedClass: pass\nif True:\n    UNLISTED_CONDITIONAL = 3\nelse:\n    UNLISTED_ELSE = 4\n"
    "try:\n    UNLISTED_TRY = 5\nexcept ImportError:\n    UNLISTED_EXCEPT = 6\n_private_constant = 7\n"
    "from os import path as unlisted_import\n"
)
_APPENDED_PUBLIC = {"UNLISTED_CONSTANT", "UNLISTED_ANNOTATED", "unlisted_function", "UnlistedClass",
                    "UNLISTED_CONDITIONAL", "UNLISTED_ELSE", "UNLISTED_TRY", "UNLISTED_EXCEPT"}


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_name_defined_in_the_module_is_in_all(name):
    module = importlib.import_module(name)
    defined = defined_public_names(module)
    unlisted = sorted(defined - set(module.__all__))
    assert not unlisted, f"{name} defines public names missing from __all__: {unlisted}"
    # The source view sees at least what the runtime view does (the module's own functions and
    # classes), so an empty answer above is not a blind spot ...
    own = {attr for attr, value in vars(module).items()
           if not attr.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
           and getattr(value, "__module__", None) == name}
    assert own <= defined, f"{name}: the source scan misses {sorted(own - defined)}"
    # ... and it would see any public constant, annotated constant, function, class or name bound
    # under if/try added to this very module without being listed (imports stay exempt).
    source = inspect.getsource(module)
    extended = _bound_names(ast.parse(source + _APPENDED).body) - _bound_names(ast.parse(source).body)
    assert {n for n in extended if not n.startswith("_")} - set(module.__all__) == _APPENDED_PUBLIC


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
