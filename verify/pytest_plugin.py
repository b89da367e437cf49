"""The pytest plugin: eqconform's checks as test items of a project's own test suite.

Installed with eqconform (the ``pytest11`` entry point) and inert until asked for:

    pytest --eqconform --eqconform-target file:adapter.py:Adapter --eqconform-spec layernorm

adds one item per (spec, target), named ``spec[target]`` (``layernorm.variance[numpy]``), that
runs the check in the pytest process through :func:`eqconform.verify.engine.check`, the engine of
``eqconform report``. A check that fails is a test failure whose report gives the equation and
its source, the discrepancy, the minimal counterexample and the command that reproduces it; a
check that errors is a failure too, reported as an error of the target; a skipped check (a
component the target does not provide) is a skip with the reason.

Counterexamples that made a check fail are remembered in an example database (default
``.eqconform/examples`` under the rootdir, the same as ``eqconform report``'s when run from
there) and replayed first on the next run.

Without ``--eqconform`` the plugin adds its options and the ``eqconform`` marker and imports
nothing else: this module imports only pytest at the top, and eqconform, NumPy, SymPy and
Hypothesis are imported in the hooks, when ``--eqconform`` is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from eqconform.verify.results import Result

__all__ = [
    "EqconformCheck",
    "EqconformCollector",
    "EqconformXfailWarning",
    "pytest_addoption",
    "pytest_configure",
]

_DEFAULT_TARGET = "numpy"
_DEFAULT_MAX_EXAMPLES = 100
_DEFAULT_EXAMPLES_DIR = ".eqconform/examples"  # eqconform.verify.search.DEFAULT_EXAMPLES_DIR


class EqconformXfailWarning(pytest.PytestWarning):
    """An id in the ``--eqconform-xfail`` file that matches no collected check."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "eqconform", "eqconform: check implementations against the equations of their documents"
    )
    group.addoption(
        "--eqconform",
        action="store_true",
        default=False,
        help="add one test per (spec, target) checked by eqconform",
    )
    group.addoption(
        "--eqconform-target",
        action="append",
        default=[],
        metavar="T",
        help="a target to check, as for `eqconform report --target` (numpy, torch, jax, "
        "mytorch:PATH, python:MODULE:ATTR, file:PATH.py:ATTR); repeatable; default numpy "
        "or the ini option eqconform_targets",
    )
    group.addoption(
        "--eqconform-spec",
        action="append",
        default=[],
        metavar="PATTERN",
        help="spec id, family (adam) or shell pattern (layernorm.grad_*); repeatable; default all",
    )
    group.addoption(
        "--eqconform-max-examples",
        type=int,
        default=None,
        metavar="N",
        help=f"Hypothesis examples per check (default {_DEFAULT_MAX_EXAMPLES}, or the profile's)",
    )
    group.addoption(
        "--eqconform-seed",
        type=int,
        default=None,
        metavar="S",
        help="seed of the searches (default: a new one per session, shown in the header)",
    )
    group.addoption(
        "--eqconform-derandomize",
        action="store_true",
        default=False,
        help="use the fixed seed 0, as `eqconform report` does by default",
    )
    group.addoption(
        "--eqconform-profile",
        default=None,
        metavar="NAME",
        help="take the number of examples from the registered Hypothesis profile NAME",
    )
    group.addoption(
        "--eqconform-xfail",
        default=None,
        metavar="FILE",
        help="a file of check ids expected to fail, one per line, each with '# reason'",
    )
    group.addoption(
        "--eqconform-examples-dir",
        default=None,
        metavar="DIR",
        help="where counterexamples are remembered and replayed from "
        f"(default {_DEFAULT_EXAMPLES_DIR} "
        "under the rootdir)",
    )
    group.addoption(
        "--eqconform-no-examples-db",
        action="store_true",
        default=False,
        help="neither replay nor remember counterexamples",
    )
    parser.addini(
        "eqconform_targets",
        "targets for --eqconform when --eqconform-target is not given",
        type="linelist",
        default=[],
    )
    parser.addini(
        "eqconform_specs",
        "spec patterns for --eqconform when --eqconform-spec is not given",
        type="linelist",
        default=[],
    )
    parser.addini("eqconform_max_examples", "Hypothesis examples per eqconform check", default="")
    parser.addini(
        "eqconform_xfail", "xfail file for --eqconform (relative to the rootdir)", default=""
    )
    parser.addini(
        "eqconform_examples_dir",
        "example database of --eqconform (relative to the rootdir)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "eqconform: a conformance check by eqconform (one spec on one target)"
    )
    if not config.getoption("eqconform", default=False):
        return
    config.pluginmanager.register(_Checks(config), "eqconform-checks")


# --------------------------------------------------------------------------- configuration


def _usage(message: str) -> pytest.UsageError:
    return pytest.UsageError(f"eqconform: {message}")


def _parse_xfail(path: Any) -> dict[str, tuple[str, int]]:
    """``{check id: (reason, line number)}`` from an xfail file: ``id  # reason`` per line;
    blank lines and lines that start with ``#`` are ignored."""
    import re

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise _usage(
            f"cannot read the xfail file {str(path)!r}: {error.strerror or error}"
        ) from None
    expected: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = re.fullmatch(r"(?P<id>\S(?:.*?\S)?)\s+#\s*(?P<reason>.*?)\s*", stripped)
        if match is None or not match["reason"]:
            raise _usage(f"{path}:{number}: {stripped!r} gives no reason; write `ID  # reason`")
        expected[match["id"]] = (match["reason"], number)
    return expected


class _Checks:
    """What ``--eqconform`` asked for, resolved once per session; registered as a plugin."""

    def __init__(self, config: pytest.Config):
        import random
        from pathlib import Path

        from eqconform.verify.session import RunOptions, Session, SessionError

        option = config.getoption
        root = Path(config.rootpath)
        self.references = list(
            option("eqconform_target") or config.getini("eqconform_targets") or [_DEFAULT_TARGET]
        )
        patterns = list(option("eqconform_spec") or config.getini("eqconform_specs") or [])
        self.max_examples = self._max_examples(config)
        if option("eqconform_seed") is not None:
            self.seed, self.seed_origin = option("eqconform_seed"), "--eqconform-seed"
            if self.seed < 0:
                raise _usage(f"--eqconform-seed must be 0 or more, got {self.seed}")
        elif option("eqconform_derandomize"):
            self.seed, self.seed_origin = 0, "--eqconform-derandomize"
        else:
            self.seed, self.seed_origin = random.randrange(10**6), "random"

        self.examples_dir: Path | None = None
        if not option("eqconform_no_examples_db"):
            given = option("eqconform_examples_dir")
            ini = config.getini("eqconform_examples_dir")
            self.examples_dir = (
                Path(given) if given else root / (ini or _DEFAULT_EXAMPLES_DIR)
            ).absolute()
        try:
            self.session = Session(
                RunOptions(
                    targets=tuple(self.references),
                    specs=tuple(patterns),
                    max_examples=self.max_examples,
                    seed=self.seed,
                    examples_dir=str(self.examples_dir) if self.examples_dir is not None else None,
                )
            )
        except SessionError as error:
            raise _usage(str(error)) from None
        self.specs = self.session.checked
        # Each target runs in a runner process, sandboxed where the machine allows, as in
        # `eqconform report`; it sees neither the example database nor the other targets, and
        # the runners go when the session ends.
        self.targets = self.session.remote_targets()
        self.options = self.session.settings()

        xfail = option("eqconform_xfail")
        ini_xfail = config.getini("eqconform_xfail")
        self.xfail_file = Path(xfail) if xfail else (root / ini_xfail if ini_xfail else None)
        self.xfail = _parse_xfail(self.xfail_file) if self.xfail_file is not None else {}

    @staticmethod
    def _max_examples(config: pytest.Config) -> int:
        given = config.getoption("eqconform_max_examples")
        profile = config.getoption("eqconform_profile")
        if given is None and profile is not None:
            from hypothesis import settings
            from hypothesis.errors import InvalidArgument

            try:
                given = settings.get_profile(profile).max_examples
            except InvalidArgument:
                raise _usage(
                    f"no Hypothesis profile {profile!r} is registered "
                    "(register it with settings.register_profile in a conftest.py)"
                ) from None
        if given is None and config.getini("eqconform_max_examples"):
            text = config.getini("eqconform_max_examples")
            try:
                given = int(text)
            except ValueError:
                raise _usage(f"eqconform_max_examples = {text!r} is not a whole number") from None
        value = _DEFAULT_MAX_EXAMPLES if given is None else given
        if value < 1:
            raise _usage(f"the number of examples must be at least 1, got {value}")
        return value

    def pytest_sessionfinish(self) -> None:
        for target in self.targets:
            target.close()

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        database = (
            f"counterexamples remembered in {self.examples_dir}"
            if self.examples_dir
            else "no example database"
        )
        repeat = (
            f" (repeat with --eqconform-seed {self.seed})" if self.seed_origin == "random" else ""
        )
        return [
            (
                f"eqconform: {len(self.specs)} specs on {', '.join(self.references)}; "
                f"{self.max_examples} examples per check, seed {self.seed}{repeat}; {database}"
            )
        ]

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        # The checks hang off the session, next to the collectors of the paths pytest was given,
        # so they are counted, listed by --collect-only and chosen by -k, -m and --deselect
        # like any other test.
        report = yield
        if isinstance(collector, pytest.Session) and not report.failed:
            report.result.append(
                EqconformCollector.from_parent(
                    collector, name="eqconform", nodeid="eqconform", checks=self
                )
            )
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        # A skipped check is listed (-rs) under its id rather than at the line of this plugin
        # that skipped it.
        report = yield
        if (
            isinstance(item, EqconformCheck)
            and report.skipped
            and not hasattr(report, "wasxfail")
            and isinstance(report.longrepr, tuple)
            and len(report.longrepr) == 3
        ):
            report.longrepr = (item.nodeid, None, report.longrepr[2])
        return report


# --------------------------------------------------------------------------- nodes


class EqconformCollector(pytest.Collector):
    """The parent of the checks (node id ``eqconform``)."""

    def __init__(self, *, checks: _Checks, **kwargs: Any):
        super().__init__(**kwargs)
        self.checks = checks

    def collect(self) -> list[EqconformCheck]:
        import warnings

        checks = self.checks
        items = [
            EqconformCheck.from_parent(
                self, name=f"{spec.id}[{reference}]", spec=spec, target=target, checks=checks
            )
            for spec in checks.specs
            for reference, target in zip(checks.references, checks.targets, strict=True)
        ]
        for item in items:
            if item.name in checks.xfail:
                item.add_marker(pytest.mark.xfail(reason=checks.xfail[item.name][0], strict=True))
        ids = {item.name for item in items}
        for unknown in (check_id for check_id in checks.xfail if check_id not in ids):
            example = min(ids) if ids else "adam.update[numpy]"
            warnings.warn_explicit(
                EqconformXfailWarning(
                    f"{unknown!r} matches no eqconform check of this run (ids look like "
                    f"{example!r})"
                ),
                EqconformXfailWarning,
                filename=str(checks.xfail_file),
                lineno=checks.xfail[unknown][1],
            )
        return items


class _CheckFailed(Exception):
    """Raised by a check whose result is fail or error; carries the result."""

    def __init__(self, result: Result):
        super().__init__(result.message)
        self.result = result


class EqconformCheck(pytest.Item):
    """One spec checked on one target."""

    def __init__(self, *, spec: Any, target: Any, checks: _Checks, **kwargs: Any):
        super().__init__(**kwargs)
        self.spec = spec
        self.target = target
        self.checks = checks
        self.result: Result | None = None
        self.add_marker("eqconform")

    def runtest(self) -> None:
        from eqconform.verify import engine
        from eqconform.verify.results import Outcome

        self.target.begin(self.spec.id, self.checks.session.options.timeout)
        result = self.checks.session.with_reproduce(
            engine.check(self.spec, self.target, self.checks.options)
        )
        self.result = result
        self.user_properties += [
            ("eqconform_outcome", result.outcome.value),
            ("eqconform_examples", result.examples),
        ]
        if result.variant:
            self.user_properties.append(("eqconform_variant", result.variant))
        if result.outcome is Outcome.SKIP:
            pytest.skip(result.message or "not checked on this target")
        if result.outcome in (Outcome.FAIL, Outcome.ERROR):
            raise _CheckFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, _CheckFailed):
            return self._describe_failure(excinfo.value.result)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"eqconform {self.name}"

    def _describe_failure(self, result: Result) -> str:
        from eqconform.verify.results import Outcome

        spec = self.spec
        if result.outcome is Outcome.ERROR:
            lines = [
                (
                    f"{self.name}: ERROR of the target (it could not be checked; "
                    "this is not a mismatch "
                    "with the equation)"
                )
            ]
        else:
            lines = [f"{self.name}: the implementation does not follow the equation"]
        lines += [
            f"  {spec.title}",
            f"  {spec.source.cite()}",
            *(f"  {line}" for line in _equation(spec)),
        ]
        if result.variant:
            lines.append(f"  it follows: {result.variant}")
        lines += ["", result.message or "(no message)"]
        if result.counterexample:
            lines += [
                "",
                "Minimal counterexample:",
                *(f"    {line}" for line in result.counterexample.splitlines()),
            ]
        lines += ["", "Reproduce:", f"    {self._reproduce(result)}"]
        lines.append(
            f"    (settings: seed {self.checks.seed}, {self.checks.max_examples} examples; "
            + (
                f"example database {self.checks.examples_dir})"
                if self.checks.examples_dir
                else "no example database)"
            )
        )
        return "\n".join(lines)

    def _reproduce(self, result: Result) -> str:
        import shlex

        return result.reproduce or f"pytest --eqconform -k {shlex.quote(self.name)}"


def _equation(spec: Any) -> list[str]:
    """The spec's statement in plain text: its canonical form, and which other forms exist."""
    import sympy

    if spec.statement:
        lines = [spec.statement]
    else:
        lines = [
            f"{sympy.sstr(lhs)} = {sympy.sstr(rhs)}"
            for lhs, rhs in spec.canonical.relations.items()
        ]
    if len(spec.variants) > 1:
        others = ", ".join(
            f"{v.id}{'' if v.accepted else ' (known deviation)'}" for v in spec.variants[1:]
        )
        lines[0] += f"    [variant {spec.canonical.id}; also documented: {others}]"
    return lines
