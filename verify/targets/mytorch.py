"""The ``mytorch:PATH`` target: a student's handin, a folder that contains ``mytorch/``.

Components are looked up where the two editions of the homework put them; a missing file or
class is ``skip`` with the reason, and a module that fails to import is ``error`` with the
import error. Every module is imported from the handin folder alone, so several handins can be
audited in one run.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from typing import Any

from .homework import homework_adapter, signature_defaults
from .protocol import ComponentMissing, TargetLoadError

__all__ = ["HANDIN_LAYOUT", "MytorchTarget", "make"]

#: component -> (candidate files under mytorch/, candidate class names); each class found is
#: driven by :func:`~.homework.homework_adapter`.
HANDIN_LAYOUT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "adam": (("optim/adam.py",), ("Adam", "adam")),
    "adamw": (("optim/adamW.py",), ("AdamW", "adamW")),
    "layernorm": (("nn/layernorm.py",), ("LayerNorm", "LayerNorm1d")),
    "dropout": (("nn/dropout.py", "nn/modules/dropout.py"), ("Dropout",)),
}


class HandinPathError(ValueError):
    """The path given for a handin is not usable (a usage error, exit 2)."""


class MytorchTarget:
    def __init__(self, root: Path):
        self.root = root
        self.name = f"mytorch:{root}"
        self.description = f"a handin in the 11-785 homework layout at {root}"
        self._loaded: dict[str, Any] = {}

    def component(self, name: str) -> Any:
        if name not in HANDIN_LAYOUT:
            raise ComponentMissing(f"handins have no {name!r} component")
        if name not in self._loaded:
            self._loaded[name] = self._load(name)
        return self._loaded[name]

    def defaults(self) -> dict[str, Any]:
        """The handin's constructor defaults, for each component it provides and can import."""
        found = {}
        for name in HANDIN_LAYOUT:
            try:
                found[name] = signature_defaults(name, self.component(name))
            except (ComponentMissing, TargetLoadError):
                continue
        return found

    def _load(self, name: str) -> Any:
        files, class_names = HANDIN_LAYOUT[name]
        present = [f for f in files if (self.root / "mytorch" / f).is_file()]
        if not present:
            raise ComponentMissing(
                f"no {' or '.join('mytorch/' + f for f in files)} in {self.root}"
            )
        relative = present[0]
        module = self._import(relative)
        for class_name in class_names:
            cls = getattr(module, class_name, None)
            if isinstance(cls, type):
                return homework_adapter(name, cls)
        raise ComponentMissing(f"mytorch/{relative} defines no class {' or '.join(class_names)}")

    def _import(self, relative: str) -> Any:
        module_name = "mytorch." + relative.removesuffix(".py").replace("/", ".")
        saved_path = list(sys.path)
        _forget_mytorch()
        sys.path.insert(0, str(self.root))
        try:
            return importlib.import_module(module_name)
        except BaseException as error:  # a handin may raise anything, even SystemExit, at import
            last = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
            where = f" ({Path(last.filename).name}, line {last.lineno})" if last else ""
            raise TargetLoadError(
                f"mytorch/{relative} failed to import: {type(error).__name__}: {error}{where}"
            ) from error
        finally:
            sys.path[:] = saved_path
            _forget_mytorch()


def _forget_mytorch() -> None:
    for key in [k for k in sys.modules if k == "mytorch" or k.startswith("mytorch.")]:
        del sys.modules[key]


def make(argument: str | None) -> MytorchTarget:
    if not argument:
        raise HandinPathError(
            "mytorch needs a path: --target mytorch:PATH (a folder containing mytorch/)"
        )
    root = Path(argument).expanduser()
    if not root.exists():
        raise HandinPathError(f"handin path {argument!r} does not exist")
    if not root.is_dir():
        raise HandinPathError(f"handin path {argument!r} is not a folder")
    if not (root / "mytorch").is_dir():
        raise HandinPathError(f"handin path {argument!r} has no mytorch/ folder inside")
    return MytorchTarget(root.resolve())
