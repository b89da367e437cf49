"""Run checks: every selected spec against every target, one :class:`Result` each.

Nothing a target does stops the run: a component the target lacks is ``skip``, code that fails
to load or raises is ``error`` with the reason, and every other result is kept.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from eqconform.specs.model import Spec
from eqconform.verify.results import Outcome, Result

from .components import component_for
from .components.base import CheckOutcome
from .remote import RunnerFailure
from .search import SearchSettings, forget, observations
from .targets import ComponentMissing, Target, TargetLoadError

__all__ = ["check", "checkable", "run", "target_defaults"]


def checkable(specs: Iterable[Spec]) -> list[Spec]:
    """The specs that are checked on implementations (proof-only ones are left out)."""
    return [spec for spec in specs if not spec.proof_only]


def check(spec: Spec, target: Target, options: SearchSettings) -> Result:
    """The verdict on one spec for one target (the command that reproduces it is the
    session's to add: :meth:`eqconform.verify.session.Session.with_reproduce`)."""
    started = time.perf_counter()
    options = options.for_check(spec.id, target.name)  # its own entry in the example database
    try:
        component = component_for(spec.component)
        adapter = target.component(component.adapter)
        # A target run in a sandbox has a time limit per check (its runner is stopped past
        # it); searches that can shorten their work to fit it read it from here.
        with observations(
            target,
            time_limit=getattr(target, "timeout", None),
            examples=options.max_examples,
        ):
            outcome = component.check(spec, adapter, options)
    except ComponentMissing as missing:
        outcome = CheckOutcome(Outcome.SKIP, message=str(missing))
    except TargetLoadError as error:
        outcome = CheckOutcome(Outcome.ERROR, message=str(error))
    except RunnerFailure as failure:  # the runner died, hung or broke the protocol: no verdict
        outcome = CheckOutcome(Outcome.ERROR, message=str(failure))
    except Exception as error:  # the check itself must never take the run down
        outcome = CheckOutcome(
            Outcome.ERROR, message=f"checking stopped: {type(error).__name__}: {error}"
        )
    return Result(
        spec=spec.id,
        target=target.name,
        outcome=outcome.outcome,
        variant=outcome.variant,
        examples=outcome.examples,
        max_error=outcome.max_error,
        max_abs_error=outcome.max_abs_error,
        counterexample=outcome.counterexample,
        message=outcome.message,
        observed_through=outcome.observed_through,
        statistics=outcome.statistics,
        joint=outcome.joint,
        found_by=outcome.found_by,
        explanations=outcome.explanations,
        seconds=round(time.perf_counter() - started, 3),
    )


def target_description(target: Target) -> str | None:
    """The description the target's own code gives (an adapter object's ``description``), or
    None: the report then keeps the one its reference implies."""
    reader = getattr(target, "loaded_description", None)
    if not callable(reader):
        return None
    try:
        described = reader()
    except (Exception, RunnerFailure):  # a description is informative, like the defaults
        return None
    return described if isinstance(described, str) else None


def target_defaults(target: Target) -> dict[str, Any]:
    """The target's hyperparameter defaults by component, or {} when it cannot say."""
    reader = getattr(target, "defaults", None)
    if reader is None:
        return {}
    try:
        return {key: value for key, value in dict(reader()).items()}
    except (
        Exception,
        RunnerFailure,
    ):  # defaults are informative; a target that cannot report them still runs
        return {}


def run(
    specs: Sequence[Spec],
    targets: Sequence[Target],
    options: SearchSettings,
    progress: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Check every spec on every target, in catalogue order then target order. Each target
    starts the run with no memory of earlier runs, so a seed gives the same verdicts."""
    for target in targets:
        forget(target)
    if options.checked is None:
        options = dataclasses.replace(options, checked=frozenset(s.id for s in checkable(specs)))
    results = []
    for spec in checkable(specs):
        for target in targets:
            result = check(spec, target, options)
            results.append(result)
            if progress is not None:
                progress(result)
    return results
