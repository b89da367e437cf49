"""Check your implementation on one input, from your own Hypothesis tests.

:func:`assert_conforms` runs an implementation on one drawn case and judges what it returns
against every spec of the component, exactly as ``eqconform report`` judges each example of its
own search (same oracle, same tolerances, same named deviations); on a mismatch it raises
:class:`ConformanceError`, an :class:`AssertionError` naming the spec, its source and the
discrepancy, so Hypothesis shrinks the case as it would for any failing assertion.

>>> from hypothesis import given, settings
>>> from eqconform.impl import LayerNorm
>>> @settings(max_examples=10)
... @given(layernorm_inputs(max_rows=8, max_features=8))
... def test_layernorm_conforms(case):
...     assert_conforms(LayerNorm, case)
>>> test_layernorm_conforms()

The implementation can be given as

- a class in the 11-785 homework API (``LayerNorm(num_features, eps)`` with ``forward`` and
  ``backward``, ``Dropout(p)``, ``Adam(model, lr, beta1, beta2, eps)``; see the README's
  "Auditing a handin"), as for ``--target mytorch:PATH``;
- an adapter object, or its class, with a method per component (``layernorm(Z, gamma, beta,
  eps, G)`` and so on, see :mod:`eqconform.verify.targets.user`), or that one method alone as a
  function;
- a target or a target reference (``"numpy"``, ``"torch"``, ``"file:adapter.py:Adapter"``).

Which specs are judged follows from the case: a :class:`~.strategies.LayerNormInput` is judged
against ``layernorm.*``, an :class:`~.strategies.OptimizerRun` against ``adam.*`` (pass
``component="adamw"`` for AdamW), a :class:`~.strategies.DropoutInput` against the exact
dropout specs (``dropout.mask`` is a statistical test on large samples, which one case cannot
settle), and the case of any other component that declares one (an
:class:`~.strategies.AttentionInput`, :class:`~.strategies.AutoencoderInput`, ...) against that
component's exact specs: the case's type picks the first registered component taking it.
``specs=`` narrows this down with the patterns of ``eqconform report --spec``. An adapter of a
component other than the homework API's is given as an object with its protocol's methods, or
as an adapter object holding it.

One case settles one case: that a target follows *the same* documented variant on every
input, and the statistical dropout tests, are judged by ``eqconform report`` and ``pytest
--eqconform``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from eqconform.specs import CATALOGUE, select_specs
from eqconform.specs.model import Spec

from .components import COMPONENTS
from .components.base import combine_findings, quiet_target
from .components.table import CaseJudge
from .judge import ContractViolation, Finding, QuantityRaised, judge, known_deviation
from .strategies import (
    dropout_inputs,
    layernorm_inputs,
    optimizer_runs,
)

__all__ = [
    "ConformanceError",
    "SpecVerdict",
    "assert_conforms",
    "check_case",
    "dropout_inputs",
    "layernorm_inputs",
    "optimizer_runs",
]


class ConformanceError(AssertionError):
    """The implementation disagrees with at least one spec on the case; ``verdicts`` has all."""

    def __init__(self, message: str, verdicts: tuple[SpecVerdict, ...] = ()):
        super().__init__(message)
        self.verdicts = verdicts


@dataclass(frozen=True)
class SpecVerdict:
    """The judgement of one spec on one case.

    ``observable`` is false when the implementation exposes nothing the spec can be checked
    through; ``variants`` are the documented forms the case agrees with; ``deviation`` is the
    known deviation it follows when it fails; ``error`` is the worst discrepancy in units of
    the tolerance (at most 1 passes).
    """

    spec: str
    title: str
    source: str
    observable: bool
    passed: bool
    variants: frozenset[str] = frozenset()
    deviation: str | None = None
    error: float = 0.0
    detail: str = ""
    #: What the deviation is, in a sentence ("It follows the known deviation 'unbiased': ...").
    explanation: str = ""

    def describe(self) -> str:
        """``spec — title (source): detail``, with the deviation's note when there is one."""
        text = f"{self.spec} — {self.title} ({self.source})"
        if not self.observable:
            return f"{text}: not observable through this implementation"
        if self.passed:
            return f"{text}: holds (variant {', '.join(sorted(self.variants))})"
        sentences = [self.detail.rstrip(".")]
        if self.explanation:
            sentences.append(self.explanation)
        return f"{text}: " + " ".join(sentence.rstrip(".") + "." for sentence in sentences)


def check_case(
    implementation: Any,
    case: Any,
    *,
    component: str | None = None,
    specs: Iterable[str] | None = None,
) -> list[SpecVerdict]:
    """Run ``implementation`` on ``case`` and judge it against each selected spec.

    Exceptions the implementation raises propagate unchanged (your test fails with your own
    traceback); one that writes into its inputs raises :class:`ConformanceError`.
    """
    selected = _select(case, component, specs)
    verdicts = []
    by_component: dict[str, list[Spec]] = {}
    for spec in selected:
        by_component.setdefault(spec.component, []).append(spec)
    for name, chosen in by_component.items():
        checker = _judges()[name]
        adapter = _adapter(implementation, checker.adapter, COMPONENTS[name].protocol)
        try:
            with quiet_target():
                records = checker.observe(adapter, case, checker.graph)
        except ContractViolation as violation:
            raise ConformanceError(str(violation)) from None
        for spec in chosen:
            try:
                finding = combine_findings(
                    [judge(checker.graph, spec.id, record) for record in records]
                )
            except QuantityRaised as raised:  # a phase of the implementation raised: its own error
                raise raised.error from None
            verdicts.append(_verdict(spec, finding))
    return verdicts


def assert_conforms(
    implementation: Any,
    case: Any,
    *,
    component: str | None = None,
    specs: Iterable[str] | None = None,
) -> list[SpecVerdict]:
    """:func:`check_case`, raising :class:`ConformanceError` when any spec fails on ``case``
    (or when none of them can be observed); returns the verdicts otherwise."""
    verdicts = check_case(implementation, case, component=component, specs=specs)
    failing = [verdict for verdict in verdicts if verdict.observable and not verdict.passed]
    if failing:
        lines = [f"{_label(implementation)} does not conform on this input:"]
        lines += [f"  {verdict.describe()}" for verdict in failing]
        lines.append("input: " + _describe(case).replace("\n", "\n  "))
        raise ConformanceError("\n".join(lines), tuple(verdicts))
    if not any(verdict.observable for verdict in verdicts):
        raise ConformanceError(
            f"{_label(implementation)} exposes nothing that {', '.join(v.spec for v in verdicts)} "
            "can be checked through",
            tuple(verdicts),
        )
    return verdicts


# --------------------------------------------------------------------------- internals


def _judges() -> dict[str, CaseJudge]:
    """The components that judge one case, by name, in registry order."""
    return {name: judge for name, c in COMPONENTS.items() if (judge := c.exact) is not None}


def _select(case: Any, component: str | None, patterns: Iterable[str] | None) -> list[Spec]:
    judges = _judges()
    if patterns is not None:
        chosen = [spec for spec in select_specs(list(patterns)) if not spec.proof_only]
        statistical = [spec.id for spec in chosen if spec.statistical]
        if statistical:
            raise ValueError(
                f"{', '.join(statistical)} is settled by statistical tests on large samples, "
                "not on one case: check it with `eqconform report` or `pytest --eqconform`"
            )
        if component is not None:
            chosen = [spec for spec in chosen if spec.component == component]
    else:
        # The first registered component taking this kind of case (``adam`` before ``adamw``,
        # ``layernorm`` before ``layernorm_exam``), unless ``component=`` names one.
        name = component or next(
            (n for n, judge in judges.items() if isinstance(case, judge.cases.type)), None
        )
        if name is None:
            strategies = sorted(
                {judge.cases.drawn_by.split("(")[0] + "()" for judge in judges.values()}
            )
            raise TypeError(
                f"{type(case).__name__} is not a case eqconform can judge: draw one from "
                f"{', '.join(strategies[:-1])} or {strategies[-1]}"
            )
        if name not in judges:
            raise ValueError(
                f"component {name!r} is not judged on one case (its checks search or sample "
                "inputs of their own): check it with `eqconform report` or `pytest --eqconform`"
            )
        # The component's specs that one case settles (not those settled by statistics, nor
        # those whose checks draw inputs of their own).
        chosen = [
            spec
            for spec in CATALOGUE.values()
            if spec.component == name
            and spec.id in judges[name].graph.uses
            and not spec.proof_only
            and not spec.statistical
        ]
    if not chosen:
        raise ValueError(
            f"no spec to check: {list(patterns or [])} selects none of component {component!r}"
        )
    for spec in chosen:
        judge = judges.get(spec.component)
        if judge is None or spec.id not in judge.graph.uses:
            raise ValueError(
                f"{spec.id} is not judged on one case (its checks search or sample inputs of "
                "their own): check it with `eqconform report` or `pytest --eqconform`"
            )
        if not isinstance(case, judge.cases.type):
            raise TypeError(
                f"{spec.id} is checked on cases of type {judge.cases.type.__name__} (drawn from "
                f"{judge.cases.drawn_by}), not on {type(case).__name__}"
            )
    return chosen


@functools.lru_cache(maxsize=32)
def _resolve(reference: str) -> Any:
    """A target named by reference runs in a runner (sandboxed where the machine allows), as
    in ``eqconform report``; objects handed in directly are the caller's own code and run here."""
    from .session import RunOptions, Session

    (target,) = Session(RunOptions(targets=(reference,))).remote_targets()
    return target


def _adapter(implementation: Any, adapter: str, protocol: type) -> Any:
    """The component adapter (see :mod:`eqconform.verify.targets.protocol`) for what was given."""
    from .targets.user import ObjectTarget

    if isinstance(implementation, str):
        return _resolve(implementation).component(adapter)
    if callable(getattr(implementation, "component", None)):  # a target
        return implementation.component(adapter)
    if inspect.isclass(implementation):
        if getattr(implementation, adapter, None) is not None:  # an adapter class
            return ObjectTarget(implementation()).component(adapter)
        from .targets.homework import HOMEWORK_ADAPTERS, homework_adapter

        if adapter in HOMEWORK_ADAPTERS:  # a class in the homework API
            return homework_adapter(adapter, implementation)
    if inspect.isroutine(implementation):  # the adapter method on its own
        name = getattr(implementation, "__name__", adapter)
        return ObjectTarget(SimpleNamespace(**{adapter: implementation}), name=name).component(
            adapter
        )
    if getattr(implementation, adapter, None) is not None:  # an adapter object
        return ObjectTarget(implementation).component(adapter)
    if _follows(implementation, protocol):
        return implementation  # already a component adapter
    raise TypeError(
        f"{_label(implementation)} is neither a class in the homework API, an adapter object "
        f"with a {adapter!r} method or attribute, a function, an adapter with the methods of "
        f"{protocol.__name__}, nor a target"
    )


def _follows(value: Any, protocol: type) -> bool:
    """Whether ``value`` has every method of ``protocol`` (a :class:`typing.Protocol`)."""
    methods = [
        name
        for name, member in vars(protocol).items()
        if callable(member) and not name.startswith("_")
    ]
    return bool(methods) and all(callable(getattr(value, name, None)) for name in methods)


def _label(implementation: Any) -> str:
    if isinstance(implementation, str):
        return implementation
    name = getattr(implementation, "name", None)
    if isinstance(name, str):
        return name
    return getattr(implementation, "__qualname__", None) or type(implementation).__name__


def _describe(case: Any) -> str:
    describe = getattr(case, "describe", None)
    return describe() if callable(describe) else repr(case)


def _verdict(spec: Spec, finding: Finding) -> SpecVerdict:
    known = known_deviation(spec, finding) if not finding.passed else None
    return SpecVerdict(
        spec=spec.id,
        title=spec.title,
        source=spec.source.cite(),
        observable=finding.observable,
        passed=finding.passed or not finding.observable,
        variants=frozenset(finding.variants),
        deviation=known[0] if known else None,
        error=finding.ratio,
        detail=finding.detail,
        explanation=known[1] if known else "",
    )
