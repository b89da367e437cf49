"""Run one check as a Hypothesis search and keep what it found.

The check is an ordinary ``@given`` test over the component's cases. Each example is examined
(target called, findings judged); a failing example raises :class:`Mismatch`, and a target
that raises is wrapped in :class:`TargetRaised`, so Hypothesis shrinks either to a minimal
counterexample. Hypothesis re-runs the minimal example last and re-raises its exception,
which carries that case: that is the counterexample reported.

Counterexamples are remembered when :attr:`SearchSettings.database` is set (the command line
and the pytest plugin use :func:`examples_database`, a directory, ``.eqconform/examples`` by
default): Hypothesis saves every failing example it shrank, and the next search of the same
check replays the saved ones first (its *reuse* phase), so a bug that random search finds
rarely is caught every time after it was found once. An example that no longer fails is
dropped. Each check has its own entry, keyed by :attr:`SearchSettings.database_key`, which
:func:`eqconform.verify.engine.check` sets to ``spec[target]`` (:func:`check_key`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from .drawn import drawn_key, load_drawn, store_drawn
from .judge import Finding, Record

__all__ = [
    "DEFAULT_EXAMPLES_DIR",
    "Mismatch",
    "Observations",
    "SearchSettings",
    "SHRINK_SHARE",
    "SearchSummary",
    "TargetRaised",
    "check_key",
    "current_observations",
    "current_examples",
    "current_time_limit",
    "drawn_cases",
    "examples_database",
    "forget",
    "observations",
    "run_search",
]

#: Where the command line and the pytest plugin keep counterexamples unless told otherwise.
DEFAULT_EXAMPLES_DIR = ".eqconform/examples"

# Prefix of every database key eqconform writes; the number changes if what is stored under a
# key ever changes meaning, so that old entries are ignored rather than misread.
_KEY_PREFIX = b"eqconform/1:"


def check_key(spec_id: str, target_name: str) -> str:
    """The name of one check in the example database: ``adam.update[torch]``."""
    return f"{spec_id}[{target_name}]"


def examples_database(directory: str | os.PathLike[str]) -> ExampleDatabase:
    """The example database kept in ``directory`` (created when first written).

    The path is made absolute, so the database can be sent to a worker process (it pickles)
    and still names the same directory there.
    """
    return DirectoryBasedExampleDatabase(Path(directory).expanduser().absolute())


@dataclass(frozen=True)
class SearchSettings:
    max_examples: int = 100
    seed: int = 0
    #: Where failing examples are saved and replayed from; ``None`` remembers nothing.
    database: ExampleDatabase | None = None
    #: The check's entry in ``database`` (:func:`check_key`); set by :meth:`for_check`.
    database_key: str | None = None
    #: ``"default"``, or ``"hard"`` for the numerical hard corners (where a component has them).
    profile: str = "default"
    #: The target checked (set by :meth:`for_check`): searches of one target share their draws.
    target: str | None = None
    #: The spec checked (set by :meth:`for_check`).
    spec: str | None = None
    #: The specs the run checks (set by the engine), None for any: a joint finding is
    #: reported at one of them, never at a spec the report will not show.
    checked: frozenset[str] | None = None

    def for_check(self, spec_id: str, target_name: str) -> SearchSettings:
        """These settings for the check of ``spec_id`` on ``target_name``."""
        return replace(
            self, database_key=check_key(spec_id, target_name), target=target_name, spec=spec_id
        )


class Mismatch(Exception):
    """An example on which the target disagrees with every accepted form of the spec."""

    def __init__(self, case: Any, finding: Finding):
        super().__init__(finding.detail)
        self.case = case
        self.finding = finding


class TargetRaised(Exception):
    """The target raised while being driven through an example."""

    def __init__(self, case: Any, error: BaseException):
        super().__init__(f"{type(error).__name__}: {error}")
        self.case = case
        self.error = error


@dataclass
class SearchSummary:
    """What a search saw: example count, worst error, variants consistent with every example."""

    examples: int = 0
    observable_examples: int = 0
    worst: Finding | None = None
    variants: set[str] | None = None
    through: str | None = None
    failure: Mismatch | TargetRaised | None = None
    notes: list[str] = field(default_factory=list)
    #: The spec whose search found the counterexample, when it was another spec's.
    found_by: str | None = None
    #: Whether shrinking was stopped at :data:`SHRINK_SHARE` of the check's time limit, so
    #: that the counterexample is the smallest found by then, not a minimal one.
    shrinking_stopped: bool = False

    def add(self, finding: Finding) -> None:
        if not finding.observable:
            return
        self.observable_examples += 1
        self.through = self.through or finding.through
        if finding.passed:
            self.variants = (
                set(finding.variants) if self.variants is None else self.variants & finding.variants
            )
        if self.worst is None or finding.ratio > self.worst.ratio:
            self.worst = finding


class Observations:
    """What one target did on cases, by the caller's key, up to a total size (the oldest go
    first); records holding more than ``largest`` bytes of arrays, or under a key that cannot
    be hashed, are not kept."""

    def __init__(self, budget: int = 96 * 2**20, largest: int = 4 * 2**20):
        self.budget, self.largest, self.used = budget, largest, 0
        self.entries: OrderedDict[Hashable, tuple[list[Record], int]] = OrderedDict()
        #: Small conclusions drawn from the records (a counterexample's diagnosis), by key.
        self.notes: OrderedDict[Hashable, Any] = OrderedDict()

    def note(self, key: Hashable) -> Any:
        """What was concluded under ``key`` (None if nothing, or if the key cannot be hashed)."""
        try:
            return self.notes.get(key)
        except TypeError:
            return None

    def annotate(self, key: Hashable, conclusion: Any) -> None:
        """Keep a small conclusion under ``key`` (the latest few hundred)."""
        try:
            _remember(self.notes, key, conclusion, kept=256)
        except TypeError:
            pass

    def get(self, key: Hashable) -> list[Record] | None:
        try:
            entry = self.entries.get(key)
        except TypeError:  # a case holding arrays or lists: observed afresh every time
            return None
        return entry[0] if entry is not None else None

    def keep(self, key: Hashable, records: list[Record]) -> None:
        size = sum(
            int(getattr(value, "nbytes", 0))
            for record in records
            for value in record.values.values()
        )
        try:
            if size > self.largest or key in self.entries:
                return
        except TypeError:
            return
        self.entries[key] = (records, size)
        self.used += size
        while self.used > self.budget and self.entries:
            _, (_, freed) = self.entries.popitem(last=False)
            self.used -= freed


#: The share of a check's time limit its search may take before it stops shrinking.
SHRINK_SHARE = 0.5


class _OutOfTime(BaseException):
    """Ends a search's shrinking at its share of the time limit. A BaseException, so that
    Hypothesis (which takes an Exception as the test failing) lets it through."""


_OBSERVING: ContextVar[Observations | None] = ContextVar("eqconform_observing", default=None)
_TIME_LIMIT: ContextVar[float | None] = ContextVar("eqconform_time_limit", default=None)
_EXAMPLES: ContextVar[int | None] = ContextVar("eqconform_examples", default=None)
#: Each target's memory, for as long as the target object lives.
_MEMORIES: weakref.WeakKeyDictionary[Any, Observations] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def observations(
    target: Any, *, time_limit: float | None = None, examples: int | None = None
) -> Iterator[None]:
    """While checking ``target``: its memory of what it did (:func:`current_observations`).
    Keyed by the target object itself, so that another target, or the same name resolved
    again, never sees it. ``time_limit``: the seconds the check may take
    (:func:`current_time_limit`), None for no limit; ``examples``: how many examples its
    search draws (:func:`current_examples`)."""
    try:
        memory = _MEMORIES.setdefault(target, Observations())
    except TypeError:  # a target that cannot be weakly referenced remembers nothing
        memory = None
    token = _OBSERVING.set(memory)
    limit = _TIME_LIMIT.set(time_limit)
    drawn = _EXAMPLES.set(examples)
    try:
        yield
    finally:
        _EXAMPLES.reset(drawn)
        _TIME_LIMIT.reset(limit)
        _OBSERVING.reset(token)


def current_time_limit() -> float | None:
    """The seconds the check under way may take, or None (no limit, or outside a check)."""
    return _TIME_LIMIT.get()


def current_examples() -> int | None:
    """How many examples the check under way draws (``max_examples``), or None (not told,
    or outside a check)."""
    return _EXAMPLES.get()


def forget(target: Any) -> None:
    """Drop ``target``'s memory: a new run of it starts from nothing it did before (a
    counterexample a neighbouring check found is shared within a run, not across runs)."""
    with contextlib.suppress(TypeError, KeyError):
        del _MEMORIES[target]


def current_observations() -> Observations | None:
    """The memory of the target being checked, or None outside :func:`observations`."""
    return _OBSERVING.get()


#: The cases passing searches drew, by the caller's ``draws`` key (a few kept, the latest).
_DRAWN: OrderedDict[Hashable, tuple[Any, ...]] = OrderedDict()


def _remember(
    memory: OrderedDict[Hashable, Any], key: Hashable, value: Any, *, kept: int = 32
) -> None:
    """Keep ``value`` under ``key`` as the latest of at most ``kept`` entries."""
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > kept:
        memory.popitem(last=False)


def _fresh(case: Any) -> Any:
    """The case without what it cached (built arrays), so that keeping it costs its recipe."""
    if dataclasses.is_dataclass(case) and not isinstance(case, type):
        return dataclasses.replace(case)
    return case


def _saved_examples(options: SearchSettings) -> bool:
    """Whether the example database holds counterexamples for this check (replayed first)."""
    if options.database is None:
        return False
    key = options.database_key if options.database_key is not None else "*"
    return any(True for _ in options.database.fetch(_KEY_PREFIX + key.encode()))


def run_search(
    cases: st.SearchStrategy[Any],
    examine: Callable[[Any], Finding],
    explicit: Sequence[Any],
    options: SearchSettings,
    *,
    draws: Hashable | None = None,
) -> SearchSummary:
    """Search for a counterexample; ``examine`` returns the finding for one case and raises
    :class:`TargetRaised` when the target raised (any other exception is the checker's own
    and propagates).

    ``draws`` names the search's cases and settings (the same strategy, seed, example count
    and target). The specs of one component search the same cases; drawing them is most of a
    search's cost. When a search under the same key has passed before in this process, or a
    search of the same cases and settings in an earlier run (kept on disk, :mod:`.drawn`), its
    cases are examined again in the same order, without Hypothesis: with a fixed seed and
    every example passing, Hypothesis would draw exactly these. Only if one of them fails (or
    the example database holds counterexamples of this check) does the search run afresh, and
    shrink.

    When a search under the same key failed on the target being checked (its
    :func:`observations`), its minimal counterexample is examined first: if it fails this
    check too, it is this check's counterexample. The specs one wrong computation
    breaks then share one counterexample (and the one diagnosis of it), and only the first of
    them pays for shrinking.
    """
    summary = SearchSummary()

    def check(case: Any) -> None:
        summary.examples += 1
        finding = examine(case)
        summary.add(finding)
        if finding.observable and not finding.passed:
            raise Mismatch(case, finding)

    saved = _saved_examples(options)
    # The counterexample a neighbour's search ended on is the target's own (kept in its
    # memory): a run's verdicts do not depend on what was checked before on other targets.
    memory = current_observations() if draws is not None else None
    failed_key = ("counterexample", draws)
    neighbours = memory.note(failed_key) if memory is not None else None
    if neighbours is not None and not saved:
        case, found_by = neighbours
        try:
            check(case)
        except (Mismatch, TargetRaised) as failure:
            summary.failure = failure
            summary.found_by = found_by
            return summary
        summary = SearchSummary()  # it passes here: search as if it had not been tried

    recorded = _DRAWN.get(draws) if draws is not None else None
    # What a passing search of these cases drew in an earlier run (another process, another
    # target): the same cases, as the seed fixes them (:mod:`.drawn`).
    stored = (
        drawn_key(cases, options.seed, options.max_examples)
        if draws is not None and recorded is None and not saved
        else None
    )
    if stored is not None:
        recorded = load_drawn(stored)
        if recorded is not None:
            _remember(_DRAWN, draws, recorded)  # for the next spec of this search
            stored = None  # on disk already
    if recorded is not None and not saved:
        try:
            for case in recorded:
                check(case)
        except (Mismatch, TargetRaised):
            summary = SearchSummary()  # not what the search would see: search for real
        else:
            return _with_explicit(summary, check, explicit)

    drawn: list[Any] = []
    # Shrinking a slow target's failure (a hard-profile run of thousands of steps, seconds per
    # example) could take the whole time limit and end in a time-out with no verdict; past
    # SHRINK_SHARE of the limit the search ends on the smallest counterexample found so far
    # (Hypothesis tries only candidates smaller than its current one, so that is the latest).
    limit = current_time_limit()
    shrink_until = time.monotonic() + SHRINK_SHARE * limit if limit is not None else None
    latest: list[Mismatch | TargetRaised] = []

    def check_drawn(case: Any) -> None:
        if latest and shrink_until is not None and time.monotonic() > shrink_until:
            raise _OutOfTime
        drawn.append(case)
        try:
            check(case)
        except (Mismatch, TargetRaised) as failure:
            latest[:] = [failure]
            raise

    test = given(case=cases)(check_drawn)
    # The seed goes on before the settings: `@seed` turns the database off in the settings it
    # finds, and these settings, applied after it, turn it back on when one is configured (the
    # replayed examples come first; the seed still decides every example that is generated).
    test = hypothesis_seed(options.seed)(test)
    test = settings(
        max_examples=options.max_examples,
        database=options.database,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )(test)
    if options.database is not None:
        # Hypothesis keys its database by the test function; this one is built afresh for
        # every check, so it is given its key explicitly, as `hypothesis.find` does for its
        # own searches: one entry per (spec, target), stable across runs and code changes.
        key = options.database_key if options.database_key is not None else "*"
        test._hypothesis_internal_database_key = _KEY_PREFIX + key.encode()  # type: ignore[attr-defined]
    try:
        try:
            test()
        except _OutOfTime:
            summary.shrinking_stopped = True
            raise latest[0] from None
    except (Mismatch, TargetRaised) as failure:
        summary.failure = failure
        if memory is not None:
            memory.annotate(failed_key, (_fresh(failure.case), options.spec))
        return summary
    if draws is not None:
        kept = tuple(_fresh(case) for case in drawn)
        _remember(_DRAWN, draws, kept)
        # Kept only if nothing the draws depend on changed during the search (a module
        # imported meanwhile adds to the constants Hypothesis draws from).
        if stored is not None and stored == drawn_key(cases, options.seed, options.max_examples):
            store_drawn(stored, kept)
    return _with_explicit(summary, check, explicit)


def drawn_cases(cases: st.SearchStrategy[Any], count: int, *, seed: int = 0) -> list[Any]:
    """``count`` cases of ``cases``, the same for the same seed (fresh inputs on which to test
    what a failing target computes, away from the counterexample it was shrunk to)."""
    drawn: list[Any] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        phases=[Phase.generate],
    )
    @given(case=cases)
    def draw(case: Any) -> None:
        drawn.append(case)

    draw()
    return drawn


def _with_explicit(
    summary: SearchSummary, check: Callable[[Any], None], explicit: Sequence[Any]
) -> SearchSummary:
    # Hand-picked cases that separate variants run after the search, so that a bug the search
    # can find is reported with the shrunk counterexample rather than a larger fixed one.
    for case in explicit:
        try:
            check(case)
        except (Mismatch, TargetRaised) as failure:
            summary.failure = failure
            break
    return summary
