"""One run of eqconform, whoever starts it.

``eqconform report``, ``pytest --eqconform`` and :func:`~eqconform.verify.checks.check_case`
given a target reference all go through a :class:`Session`:

1. :class:`RunOptions` holds every option that can change a verdict, validated when it is made;
2. :class:`Session` selects the specs and resolves each target once (its name, description and
   own files, without running any of its code), and knows the command that reproduces any of its
   checks;
3. :meth:`Session.run` checks every spec on every target (each target in a judge worker of its
   own driving a sandboxed runner, or all in this process for debugging) and keeps what finished
   when interrupted;
4. :meth:`Session.report` assembles the :class:`~eqconform.verify.results.Report`.

>>> session = Session(RunOptions(targets=("numpy",), specs=("layernorm.mean",), seed=3))
>>> [spec.id for spec in session.checked], [target.name for target in session.targets]
(['layernorm.mean'], ['numpy'])
>>> session.options.reproduce("layernorm.mean", "numpy").split(" --seed ")
['eqconform report --target numpy --spec layernorm.mean', '3 --max-examples 100 -o eqconform-repro']
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eqconform.specs import CLAIMS, DOCUMENTED_DEFAULTS, ERRATA, UnknownSpecError, select_specs
from eqconform.specs.model import Claim, Spec

from .cache import cache_root
from .isolation import DEFAULT_TIMEOUT
from .sandbox import (
    DEFAULT_MEMORY_LIMIT,
    SANDBOX_MODES,
    Confinement,
    SandboxUnavailable,
    confinements,
    hidden_paths,
    target_path,
)
from .search import DEFAULT_EXAMPLES_DIR, SearchSettings, examples_database

if TYPE_CHECKING:
    from .remote import RemoteTarget
    from .results import ProofRecord, Report, Result

__all__ = ["PROFILES", "RunOptions", "RunRecord", "Session", "SessionError", "TargetPlan"]

#: The search profiles (``hard`` draws the numerical hard corners).
PROFILES = ("default", "hard")


class SessionError(ValueError):
    """Bad input to a run (an unknown spec or target, a bad path, options that exclude each
    other): one line for the user, no traceback."""


@dataclass(frozen=True)
class RunOptions:
    """Everything that decides the verdicts of a run.

    ``examples_dir`` is where counterexamples are remembered and replayed from; ``None`` means no
    example database, so that the verdicts depend on the seed alone.
    """

    targets: tuple[str, ...] = ("numpy",)
    specs: tuple[str, ...] = ()
    max_examples: int = 100
    seed: int = 0
    profile: str = "default"
    timeout: float = DEFAULT_TIMEOUT
    sandbox: str = "auto"
    in_process: bool = False
    examples_dir: str | None = DEFAULT_EXAMPLES_DIR

    def __post_init__(self) -> None:
        # Checked here, once, for every front door (argparse checks the CLI's again for its
        # messages; the pytest plugin and the Python API have only this).
        if not self.targets:
            raise SessionError("no target to check")
        if (
            isinstance(self.max_examples, bool)
            or not isinstance(self.max_examples, int)
            or self.max_examples < 1
        ):
            raise SessionError(
                "the number of examples must be a whole number of at least 1, "
                f"got {self.max_examples!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise SessionError(f"the seed must be a whole number of 0 or more, got {self.seed!r}")
        if self.profile not in PROFILES:
            raise SessionError(f"unknown profile {self.profile!r} (known: {', '.join(PROFILES)})")
        if not self.timeout > 0:
            raise SessionError(f"the time limit must be more than 0 seconds, got {self.timeout!r}")
        if self.sandbox not in SANDBOX_MODES:
            raise SessionError(
                f"unknown sandbox mode {self.sandbox!r} (known: {', '.join(SANDBOX_MODES)})"
            )

    def reproduce(self, spec_id: str, reference: str, *, after: str | None = None) -> str:
        """The command that runs one check again with every option that decides its verdict
        (options left at their defaults are left out); ``after``: a spec checked first, whose
        counterexample this check took."""
        specs = ["--spec", after] if after is not None else []
        words = [
            "eqconform",
            "report",
            "--target",
            reference,
            *specs,
            "--spec",
            spec_id,
            "--seed",
            str(self.seed),
            "--max-examples",
            str(self.max_examples),
        ]
        if self.profile != "default":
            words += ["--profile", self.profile]
        if self.timeout != DEFAULT_TIMEOUT:
            words += ["--timeout", f"{self.timeout:g}"]
        if self.in_process:
            words.append("--in-process")
        elif self.sandbox != "auto":
            words += ["--sandbox", self.sandbox]
        if self.examples_dir is None:
            words.append("--no-examples-db")
        elif Path(self.examples_dir).absolute() != Path(DEFAULT_EXAMPLES_DIR).absolute():
            words += ["--examples-dir", self.examples_dir]
        return shlex.join([*words, "-o", "eqconform-repro"])


@dataclass(frozen=True)
class TargetPlan:
    """A target as resolved once for a run: plain data a judge worker can be handed."""

    reference: str
    name: str
    description: str
    #: The file or folder holding the target's own code (a handin, an adapter file), if any.
    files: str | None = None


@dataclass
class RunRecord:
    """What a run produced: results in catalogue order then target order, each target's
    hyperparameter defaults, and whether it was cut short (then ``results`` is what finished)."""

    results: list[Result] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    #: The descriptions the targets' own code gives (an adapter object's ``description``).
    descriptions: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    planned: int = 0


def _plan(reference: str) -> TargetPlan:
    from .targets import HandinPathError, UnknownTargetError, describe_reference

    try:
        name, description = describe_reference(reference)
    except (UnknownTargetError, HandinPathError) as error:
        raise SessionError(str(error).strip("'\"")) from None
    return TargetPlan(reference, name, description, target_path(reference))


class Session:
    """A run: its options, its specs, its targets resolved once; see the module docstring.

    ``output`` (the report folder) is hidden from the audited code, as are the example database
    and eqconform's cache.
    Raises :class:`SessionError` for bad input, before anything runs.
    """

    def __init__(self, options: RunOptions, *, output: str | Path | None = None):
        self.options = options
        try:
            self.specs: list[Spec] = select_specs(options.specs)
        except UnknownSpecError as error:
            raise SessionError(str(error).strip("'\"")) from None
        #: The specs checked on targets (the others are settled by proof only).
        self.checked = [spec for spec in self.specs if not spec.proof_only]
        self.targets = [_plan(reference) for reference in options.targets]
        examples = options.examples_dir
        if examples is not None and Path(examples).exists() and not Path(examples).is_dir():
            raise SessionError(f"examples directory {examples!r} exists and is not a directory")
        # The cache holds compiled oracles and proof outcomes: audited code may neither read
        # nor (where the filesystem would let it) forge them.
        self.hidden = hidden_paths([output, examples, cache_root()])
        self.confinement = Confinement(mode=options.sandbox)
        if not options.in_process:
            try:
                self.confinement.uses_bubblewrap  # noqa: B018 -- raises for --sandbox require without bwrap
            except SandboxUnavailable as error:
                raise SessionError(str(error)) from None

    # ------------------------------------------------------------------ what the run covers

    @property
    def claims(self) -> list[Claim]:
        """The documents' claims about the chosen specs, proved alongside the checks."""
        chosen = {spec.id for spec in self.specs}
        return [claim for claim in CLAIMS if chosen & set(claim.specs)]

    @property
    def errata(self) -> list[dict[str, Any]]:
        """The errata that concern a chosen spec."""
        chosen = {spec.id for spec in self.specs}
        return [entry for entry in ERRATA if chosen & set(entry["specs"])]

    @property
    def documented_defaults(self) -> dict[str, Mapping[str, Any]]:
        components = {spec.component for spec in self.specs}
        return {name: values for name, values in DOCUMENTED_DEFAULTS.items() if name in components}

    def settings(self) -> SearchSettings:
        """The search settings of every check (the example database opened here)."""
        examples = self.options.examples_dir
        return SearchSettings(
            max_examples=self.options.max_examples,
            seed=self.options.seed,
            profile=self.options.profile,
            database=None if examples is None else examples_database(Path(examples)),
        )

    def isolation(self) -> str:
        """One line for the report: what confined the audited code."""
        if self.options.in_process:
            return "none: audited code ran in this process (--in-process)"
        from .sandbox import isolation_summary

        return isolation_summary(self.confinement)

    def with_reproduce(self, result: Result) -> Result:
        """``result`` with the command that reproduces it, when it is a failure or an error."""
        from .results import Outcome

        if result.outcome not in (Outcome.FAIL, Outcome.ERROR):
            return result
        reference = next(
            (plan.reference for plan in self.targets if plan.name == result.target), result.target
        )
        return dataclasses.replace(
            result,
            reproduce=self.options.reproduce(result.spec, reference, after=result.found_by),
        )

    # ------------------------------------------------------------------ running

    def remote_targets(self) -> list[RemoteTarget]:
        """A runner-backed target for each target, confined as in :meth:`run` (each sees its
        own files, not the others', the report or the example database), for a judge in this
        process (the pytest plugin, :func:`~eqconform.verify.checks.check_case`). Close them."""
        from .remote import RemoteTarget

        confined = confinements(
            [plan.reference for plan in self.targets],
            mode=self.options.sandbox,
            memory_limit=DEFAULT_MEMORY_LIMIT,
            hidden=self.hidden,
        )
        return [
            RemoteTarget(plan.reference, plan.name, plan.description, confinement)
            for plan, confinement in zip(self.targets, confined, strict=True)
        ]

    def run(self, progress: Callable[[Result], None] | None = None) -> RunRecord:
        """Check every chosen spec on every target. Ctrl-C (or SIGTERM turned into it) ends the
        run early and returns what finished, marked ``interrupted``."""
        from . import engine
        from .isolation import RunInterrupted, run_isolated

        record = RunRecord(planned=len(self.checked) * len(self.targets))

        def keep(result: Result) -> None:
            result = self.with_reproduce(result)
            record.results.append(result)
            if progress is not None:
                progress(result)

        try:
            if self.options.in_process:
                from .targets import resolve_target

                targets = [resolve_target(plan.reference) for plan in self.targets]
                engine.run(self.checked, targets, self.settings(), keep)
                record.defaults = {
                    target.name: engine.target_defaults(target) for target in targets
                }
                for target in targets:
                    described = engine.target_description(target)
                    if described:
                        record.descriptions[target.name] = described
            else:
                results = run_isolated(
                    self.checked,
                    [(plan.reference, plan.name) for plan in self.targets],
                    self.settings(),
                    timeout=self.options.timeout,
                    progress=keep,
                    defaults=record.defaults,
                    descriptions=record.descriptions,
                    memory_limit=DEFAULT_MEMORY_LIMIT,
                    sandbox=self.options.sandbox,
                    hidden=self.hidden,
                )
                record.results = [self.with_reproduce(result) for result in results]
        except (KeyboardInterrupt, RunInterrupted) as stop:
            if isinstance(stop, RunInterrupted):
                record.results = [self.with_reproduce(result) for result in stop.results]
            record.interrupted = True
        return record

    def report(
        self,
        record: RunRecord,
        proofs: Sequence[ProofRecord],
        *,
        meta: Mapping[str, Any] | None = None,
    ) -> Report:
        """The report of ``record``: the chosen specs, the targets, the results, the proofs and
        the errata; ``meta`` adds to the run's settings (status, seconds, command)."""
        from eqconform.reports.build import build_report

        from .results import TargetSummary

        return build_report(
            self.specs,
            [
                TargetSummary(
                    plan.name,
                    record.descriptions.get(plan.name, plan.description),
                    record.defaults.get(plan.name, {}),
                )
                for plan in self.targets
            ],
            record.results,
            proofs,
            self.errata,
            settings=self._settings(meta or {}),
            documented_defaults=self.documented_defaults,
        )

    def _settings(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        # The status (INCOMPLETE: ...) leads, so that no reader of report.json misses it.
        status = {"status": meta["status"]} if meta.get("status") else {}
        rest = {key: value for key, value in meta.items() if key != "status"}
        return {
            **status,
            "seed": self.options.seed,
            "max_examples": self.options.max_examples,
            "profile": self.options.profile,
            "isolation": self.isolation(),
            **rest,
        }
