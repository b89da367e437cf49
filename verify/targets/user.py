"""Your own code as a target: ``python:MODULE:ATTR``, ``file:PATH.py:ATTR`` and plugins.

The adapter object
------------------

To audit any implementation, write one small object that drives it, with one method per
component it provides. Each method has exactly the shape of the matching adapter in
:mod:`eqconform.verify.targets.protocol`, and takes and returns NumPy arrays only:

``adam(layers, hyperparameters)`` and ``adamw(layers, hyperparameters)``
    ``layers`` is a list of ``(W, b)`` pairs (``W`` of shape (out, in), ``b`` of shape
    (out, 1)); ``hyperparameters`` has ``lr``, ``beta1``, ``beta2``, ``eps`` and
    ``weight_decay`` (an :class:`~eqconform.verify.strategies.AdamHyperparameters`; Adam's
    is 0). Return a *session*: an object with ``step(gradients) -> list[dict]`` that applies
    one step with one gradient per parameter, in the order ``W0, b0, W1, b1, ...``, and returns
    one dict per parameter in the same order: ``{"theta": the parameter after the step}``,
    plus ``"m"`` and ``"v"`` (the biased moments after the step) if the implementation lets
    you read them. Exposed moments are judged against their own equations; hidden ones are
    checked through ``theta``.
``layernorm(Z, gamma, beta, eps, G) -> dict``
    Forward ``Z`` (N, C) through a fresh layer with scale ``gamma`` and shift ``beta`` (both
    (1, C)) and ``eps``, then backward the upstream gradient ``G`` (N, C). Return ``Ztilde``
    (the output), ``dLdZ``, ``dLdgamma`` and ``dLdbeta`` (both (1, C)), and, if exposed,
    ``mu`` and ``sigma2`` (both (N, 1)) and ``Zhat`` (N, C).
``dropout(p, seed)``
    A fresh layer with drop probability ``p`` whose random draws are seeded with ``seed``.
    Return a session with ``forward(x, train) -> array`` and ``backward(delta) -> array``
    (the gradient with respect to the input of the last training forward).
``attention``, ``argmax_attention``, ``kernel_attention``, ``noise``, ``diffusion``,
``weight_decay``, ``autoencoder``
    The components of the EECS 182 documents: an attribute holding the component's adapter (an
    object with the methods of its protocol in :mod:`eqconform.verify.components`, for
    example ``run(Q, K, V)`` for attention), or a method without arguments returning it. The
    bundled implementation's adapters take the class they drive, so a class with the bundled
    API is audited with, e.g., ``attention = SoftmaxAttentionAdapter(MyAttention)`` (see
    :mod:`eqconform.impl.adapter`).

The bundled implementation is itself such an object: ``eqconform.impl:ADAPTER``
(``--target numpy`` is ``python:eqconform.impl:ADAPTER``).

Optional: ``name`` and ``description`` attributes (used when the object is handed to
:class:`ObjectTarget` directly or returned by a plugin) and a ``defaults()`` method returning
the implementation's hyperparameter defaults by component, e.g.
``{"adam": {"lr": 1e-3, "eps": 1e-8}, "layernorm": {"eps": 1e-5}}``.

A component the object has no method for is ``skip`` with the reason
("... provides no 'dropout' method"); an exception raised inside a method is ``error`` with the
shrunk input that raises it.

Naming the object
-----------------

``python:MODULE:ATTR`` imports ``MODULE`` (from ``sys.path``, then the current directory) and
takes ``ATTR`` from it; ``file:PATH.py:ATTR`` loads the file ``PATH.py`` as a module of its own
(its folder is put first on ``sys.path`` while it runs, so it can import modules next to it).
``ATTR`` may be dotted (``Outer.Inner``). If it is a class or a function that takes no
arguments it is called, and its result is the adapter object; otherwise it is the adapter
object itself. (It may also be a full target: anything with ``component(name)``.)

A malformed reference or a missing file is a usage error. The user's code is not imported
when the target is created, only when a check first asks for a component (in the worker
process that runs it): a module that fails to import, or an ``ATTR`` it does not define,
makes every result of the target ``error`` with the reason, and the rest of the run goes on.

Plugins
-------

A package can register targets under the entry-point group ``eqconform.targets``::

    [project.entry-points."eqconform.targets"]
    mylib = "mylib.eqconform_target:make"

``--target mylib`` or ``--target mylib:ARGUMENT`` then loads ``make`` and calls it with the
argument (a string, or None); it returns a target (an object with ``name``, ``description``
and ``component(name)``, whose ``name`` should be the reference itself so that a result's
reproduce command names it) or an adapter object as above, which is wrapped in
:class:`ObjectTarget` and named by the reference. A ``ValueError`` it raises is a usage error.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import inspect
import itertools
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .protocol import AdamHyperparameters, ComponentMissing, TargetLoadError

__all__ = [
    "COMPONENT_ADAPTERS",
    "COMPONENT_METHODS",
    "DEFAULTS_SCHEMA",
    "ENTRY_POINT_GROUP",
    "ObjectTarget",
    "UserTargetError",
    "defaults_problem",
    "entry_point_factory",
    "entry_point_names",
    "make_file",
    "make_python",
]

#: The entry-point group plugins register their target factories under.
ENTRY_POINT_GROUP = "eqconform.targets"

#: The methods an adapter object may have for the components of the homework API.
COMPONENT_METHODS = ("adam", "adamw", "layernorm", "dropout")
#: The other components: the adapter object's attribute of that name is the component's adapter
#: (an object following the protocol declared with the component's checks, in
#: :mod:`eqconform.verify.components`), or a method without arguments that returns it. The runner
#: cannot see the checks (the sandbox hides them), so the names are listed here: a registry line
#: per component, which a test keeps equal to the components' adapter names.
COMPONENT_ADAPTERS = (
    "weight_decay",
    "noise",
    "diffusion",
    "attention",
    "argmax_attention",
    "kernel_attention",
    "autoencoder",
)
#: The hyperparameters an adapter object's ``defaults()`` may give, by component.
DEFAULTS_SCHEMA: dict[str, tuple[str, ...]] = {
    "adam": ("lr", "beta1", "beta2", "eps", "weight_decay"),
    "adamw": ("lr", "beta1", "beta2", "eps", "weight_decay"),
    "layernorm": ("eps",),
    "dropout": ("p",),
}
#: Component adapters renamed since, by their former attribute name (still accepted).
_FORMER_NAMES = {"weight_decay": "adaptive_decay"}

_LAYERNORM_REQUIRED = ("Ztilde", "dLdZ", "dLdgamma", "dLdbeta")
_LAYERNORM_OPTIONAL = ("mu", "sigma2", "Zhat")
_OPTIMIZER_KEYS = ("theta", "m", "v")

_module_numbers = itertools.count(1)


class UserTargetError(ValueError):
    """A ``python:``/``file:`` reference or a plugin that cannot be used (a usage error, exit 2)."""


# --------------------------------------------------------------------------- adapters


def _snapshot(value: Any) -> Any:
    """A copy the implementation cannot change behind the checker's back."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)) or hasattr(value, "__array__"):
        return np.array(value, copy=True)
    return value


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '...' if len(text) > 60 else text}"


@dataclass
class _OptimizerSession:
    session: Any
    label: str

    def step(self, gradients: Sequence[np.ndarray]) -> list[dict[str, Any]]:
        returned = self.session.step(gradients)
        if (
            not isinstance(returned, Sequence)
            or isinstance(returned, (str, bytes))
            or len(returned) != len(gradients)
        ):
            count = len(returned) if isinstance(returned, Sequence) else None
            raise TypeError(
                f"{self.label} session's step() must return a list with one dict per parameter "
                f"({len(gradients)}); it returned "
                f"{_describe(returned) if count is None else f'{count} items'}"
            )
        observed = []
        for index, item in enumerate(returned):
            if not isinstance(item, Mapping) or "theta" not in item:
                raise TypeError(
                    f"{self.label} session's step() returned {_describe(item)} for parameter "
                    f"{index}; each item must be a dict with 'theta' (and optionally 'm', 'v')"
                )
            observed.append({key: _snapshot(item[key]) for key in _OPTIMIZER_KEYS if key in item})
        return observed


@dataclass(frozen=True)
class _Optimizer:
    """An :class:`~.protocol.OptimizerAdapter` calling ``obj.adam`` or ``obj.adamw``."""

    method: Callable[..., Any]
    label: str

    def open(
        self, layers: Sequence[tuple[np.ndarray, np.ndarray]], hyperparameters: AdamHyperparameters
    ) -> _OptimizerSession:
        session = self.method(layers, hyperparameters)
        if not callable(getattr(session, "step", None)):
            raise TypeError(
                f"{self.label}(layers, hyperparameters) returned {_describe(session)}, "
                "which has no step(gradients) method"
            )
        return _OptimizerSession(session, self.label)


@dataclass(frozen=True)
class _LayerNorm:
    """A :class:`~.protocol.LayerNormAdapter` calling ``obj.layernorm``."""

    method: Callable[..., Any]
    label: str

    def run(
        self, Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, G: np.ndarray
    ) -> dict[str, Any]:
        returned = self.method(Z, gamma, beta, eps, G)
        if not isinstance(returned, Mapping):
            raise TypeError(
                f"{self.label}(Z, gamma, beta, eps, G) must return a dict; it returned "
                f"{_describe(returned)}"
            )
        missing = [key for key in _LAYERNORM_REQUIRED if key not in returned]
        if missing:
            raise TypeError(
                f"{self.label}(Z, gamma, beta, eps, G) returned no {', '.join(map(repr, missing))} "
                f"(it must return {', '.join(_LAYERNORM_REQUIRED)})"
            )
        return {
            key: _snapshot(returned[key])
            for key in _LAYERNORM_REQUIRED + _LAYERNORM_OPTIONAL
            if key in returned
        }


@dataclass
class _DropoutSession:
    session: Any

    def forward(self, x: np.ndarray, train: bool) -> Any:
        return _snapshot(self.session.forward(x, train))

    def backward(self, delta: np.ndarray) -> Any:
        return _snapshot(self.session.backward(delta))


@dataclass(frozen=True)
class _Dropout:
    """A :class:`~.protocol.DropoutAdapter` calling ``obj.dropout``."""

    method: Callable[..., Any]
    label: str

    def open(self, p: float, seed: int) -> _DropoutSession:
        session = self.method(p, seed)
        for name in ("forward", "backward"):
            if not callable(getattr(session, name, None)):
                raise TypeError(
                    f"{self.label}(p, seed) returned {_describe(session)}, which has no {name}() "
                    "method"
                )
        return _DropoutSession(session)


_ADAPTERS: dict[str, Callable[[Callable[..., Any], str], Any]] = {
    "adam": _Optimizer,
    "adamw": _Optimizer,
    "layernorm": _LayerNorm,
    "dropout": _Dropout,
}


# --------------------------------------------------------------------------- targets


def _is_target(value: Any) -> bool:
    return callable(getattr(value, "component", None))


class ObjectTarget:
    """A target made of an adapter object (see the module docstring for its methods).

    >>> class Identity:
    ...     def layernorm(self, Z, gamma, beta, eps, G):
    ...         return {"Ztilde": Z, "dLdZ": G, "dLdgamma": 0 * gamma, "dLdbeta": 0 * beta}
    >>> target = ObjectTarget(Identity())
    >>> target.name, type(target.component("layernorm")).__name__
    ('Identity', '_LayerNorm')
    >>> target.component("dropout")
    Traceback (most recent call last):
    ...
    eqconform.verify.targets.protocol.ComponentMissing: Identity provides no 'dropout' method
    """

    def __init__(
        self, adapter_object: Any, *, name: str | None = None, description: str | None = None
    ):
        self._value = adapter_object
        self.name = name or str(
            getattr(adapter_object, "name", None) or type(adapter_object).__name__
        )
        self.description = description or str(
            getattr(adapter_object, "description", None)
            or f"an adapter object ({type(adapter_object).__qualname__})"
        )

    def adapter_object(self) -> Any:
        """The user's object (loading it first, for a ``python:``/``file:`` target)."""
        return self._value

    def component(self, name: str) -> Any:
        value = self.adapter_object()
        if _is_target(value):
            return value.component(name)
        if name not in _ADAPTERS and name not in COMPONENT_ADAPTERS:
            raise ComponentMissing(f"adapter objects have no {name!r} component")
        method = getattr(value, name, None)
        if method is None and name in _FORMER_NAMES:  # adapters written before the rename
            method = getattr(value, _FORMER_NAMES[name], None)
        if method is None:
            raise ComponentMissing(f"{self.name} provides no {name!r} method")
        if name in COMPONENT_ADAPTERS:
            return method() if inspect.ismethod(method) else method
        if not callable(method):
            raise ComponentMissing(f"{self.name} has a {name!r} attribute, but it is not a method")
        return _ADAPTERS[name](method, name)

    def loaded_description(self) -> str | None:
        """The adapter object's own ``description`` (loading it first), if it has one. Asked
        in the runner only: the judge never loads a target's code."""
        described = getattr(self.adapter_object(), "description", None)
        return described if isinstance(described, str) and described.strip() else None

    def defaults(self) -> Mapping[str, Any]:
        """The object's ``defaults()``, or ``{}`` when it has none."""
        value = self.adapter_object()
        method = getattr(value, "defaults", None)
        if not callable(method):
            return {}
        try:
            defaults = method()
        except Exception as error:
            raise TargetLoadError(
                f"{self.name}: defaults() raised {type(error).__name__}: {error}"
            ) from error
        if not isinstance(defaults, Mapping):
            raise TargetLoadError(
                f"{self.name}: defaults() returned {_describe(defaults)}, not a dict"
            )
        problem = defaults_problem(defaults)
        if problem:
            raise TargetLoadError(f"{self.name}: defaults() {problem}")
        return {component: dict(values) for component, values in defaults.items()}


def defaults_problem(defaults: Mapping[Any, Any]) -> str:
    """What makes ``defaults`` break :data:`DEFAULTS_SCHEMA`, or ``""``."""
    for component, values in defaults.items():
        known = DEFAULTS_SCHEMA.get(component) if isinstance(component, str) else None
        if known is None:
            return (
                f"names the component {component!r}; defaults are given for "
                f"{', '.join(DEFAULTS_SCHEMA)}"
            )
        if not isinstance(values, Mapping):
            return f"gives {_describe(values)} for {component!r}, not a dict of hyperparameters"
        for name, value in values.items():
            if name not in known:
                return (
                    f"gives {component!r} a hyperparameter {name!r}; its hyperparameters are "
                    f"{', '.join(known)}"
                )
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                return (
                    f"gives {component}.{name} the value {_describe(value)}, not a number "
                    "(or None for no default)"
                )
    return ""


class _LoadedObjectTarget(ObjectTarget):
    """An :class:`ObjectTarget` whose object is loaded on first use, by ``load``."""

    def __init__(self, name: str, description: str, load: Callable[[], Any]):
        self.name = name
        self.description = description
        self._load = load
        self._loaded: tuple[Any, TargetLoadError | None] | None = None

    def adapter_object(self) -> Any:
        if self._loaded is None:
            try:
                self._loaded = (self._load(), None)
            except TargetLoadError as error:
                self._loaded = (None, error)
        value, failure = self._loaded
        if failure is not None:
            raise TargetLoadError(str(failure))
        return value


# --------------------------------------------------------------------------- loading


def _where(error: BaseException) -> str:
    """`` (file.py, line N)`` for the innermost frame of the user's code, if any."""
    machinery = str(Path(importlib.__file__).parent)
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if not f.filename.startswith(("<", machinery)) and f.filename != __file__
    ]
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return f" ({Path(error.filename).name}, line {error.lineno})"
    if not frames:
        return ""
    last = frames[-1]
    return f" ({Path(last.filename).name}, line {last.lineno})"


def _load_failure(what: str, error: BaseException) -> TargetLoadError:
    message = f"{what} failed to import: {type(error).__name__}: {error}{_where(error)}"
    return TargetLoadError(message)


def _attribute(module: Any, where: str, attribute: str) -> Any:
    """``module.ATTR`` for a dotted ``ATTR``; ``where`` names the module in messages."""
    value = module
    parts = attribute.split(".")
    for index, part in enumerate(parts):
        owner = where if index == 0 else f"{where}, attribute {'.'.join(parts[:index])},"
        try:
            value = getattr(value, part)
        except AttributeError:
            raise TargetLoadError(f"{owner} has no attribute {part!r}") from None
        except Exception as error:  # a property or module __getattr__ that raises
            raise TargetLoadError(
                f"getting {part!r} from {owner} raised {type(error).__name__}: {error}"
            ) from error
    return value


def _instantiate(value: Any, label: str) -> Any:
    """Call a class or a zero-argument function; anything else is the object itself."""
    if not (inspect.isclass(value) or inspect.isroutine(value)):
        return value
    if inspect.isroutine(value):
        try:
            inspect.signature(value).bind()
        except TypeError:
            raise TargetLoadError(
                f"{label} is a function that needs arguments; name a class, a function "
                "without arguments or an adapter object"
            ) from None
        except ValueError:  # no signature (some builtins): just try the call
            pass
    try:
        return value()
    except Exception as error:
        raise TargetLoadError(
            f"calling {label}() raised {type(error).__name__}: {error}{_where(error)}"
        ) from error


def _valid_dotted(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def _split(kind: str, argument: str | None, what: str) -> tuple[str, str]:
    """``(MODULE or PATH, ATTR)`` from the text after ``kind:``, split at the last ``:``."""
    usage = f"--target {kind}:{what}:ATTR"
    noun = "module" if kind == "python" else "file"
    if not argument:
        raise UserTargetError(f"{kind}: needs a {noun} and an attribute: {usage}")
    head, colon, attribute = argument.rpartition(":")
    if not colon:
        raise UserTargetError(
            f"{kind}:{argument} names no attribute: {usage} (for example {kind}:{argument}:Adapter)"
        )
    if not head:
        raise UserTargetError(f"{kind}:{argument} names no {noun}: {usage}")
    if not attribute:
        raise UserTargetError(f"{kind}:{argument} names no attribute after the last ':': {usage}")
    if not _valid_dotted(attribute):
        raise UserTargetError(
            f"{kind}:{argument}: {attribute!r} is not a Python attribute name: {usage}"
        )
    return head, attribute


def make_python(argument: str | None) -> ObjectTarget:
    """``python:MODULE:ATTR``: the object ``ATTR`` of the importable module ``MODULE``."""
    module_name, attribute = _split("python", argument, "MODULE")
    if not _valid_dotted(module_name):
        raise UserTargetError(
            f"python:{argument}: {module_name!r} is not a module name: --target python:MODULE:ATTR"
        )
    reference = f"python:{module_name}:{attribute}"

    def load() -> Any:
        importlib.invalidate_caches()
        saved_path = list(sys.path)
        here = os.getcwd()
        if here not in sys.path and "" not in sys.path:
            sys.path.append(here)
        try:
            module = importlib.import_module(module_name)
        except BaseException as error:  # audited code may raise anything at import, even SystemExit
            if isinstance(error, KeyboardInterrupt):
                raise
            raise _load_failure(f"module {module_name!r}", error) from error
        finally:
            sys.path[:] = saved_path
        return _instantiate(
            _attribute(module, f"module {module_name!r}", attribute), f"{module_name}:{attribute}"
        )

    return _LoadedObjectTarget(reference, f"{attribute} from the Python module {module_name}", load)


def make_file(argument: str | None) -> ObjectTarget:
    """``file:PATH.py:ATTR``: the object ``ATTR`` of the Python file ``PATH.py``."""
    path_text, attribute = _split("file", argument, "PATH.py")
    path = Path(path_text).expanduser()
    if not path.exists():
        raise UserTargetError(f"file {path_text!r} does not exist")
    if not path.is_file():
        raise UserTargetError(
            f"{path_text!r} is not a file (file:PATH.py:ATTR names a Python file)"
        )
    location = path.resolve()
    reference = f"file:{path_text}:{attribute}"

    def load() -> Any:
        stem = "".join(c if c.isalnum() else "_" for c in location.stem)
        module_name = f"_eqconform_file_{next(_module_numbers)}_{stem}"
        loader = importlib.machinery.SourceFileLoader(module_name, str(location))
        spec = importlib.util.spec_from_file_location(module_name, location, loader=loader)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        saved_path = list(sys.path)
        sys.path.insert(0, str(location.parent))
        sys.modules[module_name] = module
        importlib.invalidate_caches()
        try:
            loader.exec_module(module)
        except BaseException as error:
            sys.modules.pop(module_name, None)
            if isinstance(error, KeyboardInterrupt):
                raise
            raise _load_failure(f"file {path_text!r}", error) from error
        finally:
            sys.path[:] = saved_path
        return _instantiate(
            _attribute(module, f"file {path_text!r}", attribute), f"{path_text}:{attribute}"
        )

    return _LoadedObjectTarget(reference, f"{attribute} from the Python file {path_text}", load)


# --------------------------------------------------------------------------- plugins


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def entry_point_names() -> list[str]:
    """The target names installed packages register (sorted, without duplicates)."""
    return sorted({entry.name for entry in _entry_points()})


def entry_point_factory(name: str) -> Callable[[str | None], Any] | None:
    """The factory of the plugin target ``name``, or None when no package registers it.

    The factory loads the entry point, calls it with the argument and returns a target: the
    one it returned, or an :class:`ObjectTarget` around the adapter object it returned.
    """
    entry = next((e for e in _entry_points() if e.name == name), None)
    if entry is None:
        return None

    def make(argument: str | None) -> Any:
        reference = name if argument is None else f"{name}:{argument}"
        try:
            factory = entry.load()
        except Exception as error:
            raise UserTargetError(
                f"target plugin {name!r} ({entry.value}) failed to load: "
                f"{type(error).__name__}: {error}"
            ) from None
        if not callable(factory):
            raise UserTargetError(
                f"target plugin {name!r} ({entry.value}) is {_describe(factory)}, not a callable"
            )
        made = factory(argument)
        if _is_target(made):
            missing = [
                a for a in ("name", "description") if not isinstance(getattr(made, a, None), str)
            ]
            if missing:
                raise UserTargetError(
                    f"target plugin {name!r} ({entry.value}) returned a target without "
                    f"{' or '.join(missing)}"
                )
            return made
        if any(
            getattr(made, method, None) is not None
            for method in COMPONENT_METHODS + COMPONENT_ADAPTERS
        ):
            return ObjectTarget(
                made,
                name=reference,
                description=getattr(made, "description", None) or f"plugin {name} ({entry.value})",
            )
        raise UserTargetError(
            f"target plugin {name!r} ({entry.value}) returned {_describe(made)}, which is neither "
            "a target (with component()) nor an adapter object (with "
            f"{', '.join(COMPONENT_METHODS)} methods)"
        )

    return make
