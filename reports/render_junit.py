"""The JUnit XML report (``junit.xml``) that CI systems (GitLab, Jenkins, GitHub actions) display.

Layout: one ``<testsuite name="eqconform.<target>">`` per target with one ``<testcase>`` per
result (``classname`` is the spec's component, ``name`` is ``<spec id>[<target>]``), and one
``<testsuite name="eqconform.proofs">`` whose cases fail unless the proof is ``proved``.

ElementTree does the escaping. It does not, however, refuse characters that XML 1.0 forbids
outright (NUL, the ESC of an ANSI colour code in an exception message, ...), and a single one
makes the whole file unparseable, so every string is passed through :func:`xml_text` first.
"""

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

from eqconform.reports.view import format_error
from eqconform.verify.results import Outcome, ProofRecord, Report, Result

__all__ = ["JunitRenderer", "xml_text"]

PROOF_SUITE = "eqconform.proofs"

# The complement of XML 1.0's Char production.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class JunitRenderer:
    """Writes ``junit.xml``."""

    name = "junit"
    filename = "junit.xml"

    def render(self, report: Report) -> str:
        return render(report)


def render(report: Report) -> str:
    root = ET.Element("testsuites", name="eqconform")
    components = {spec.id: spec.component for spec in report.specs}
    descriptions = {target.name: target.description for target in report.targets}
    # Results for a target the report does not list still get a suite, after the listed ones.
    names = list(descriptions) + [result.target for result in report.results]
    for target in dict.fromkeys(names):
        suite = _suite(root, f"eqconform.{target}")
        _properties(
            suite, {"target": target, "description": descriptions.get(target, ""), **report.meta}
        )
        for result in report.results:
            if result.target == target:
                _result_case(suite, result, components.get(result.spec, "eqconform"))
    if report.proofs:
        suite = _suite(root, PROOF_SUITE)
        for proof in report.proofs:
            _proof_case(suite, proof)
    _totals(root, root.findall("testsuite"))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def xml_text(value: Any) -> str:
    """``str(value)`` with characters XML 1.0 cannot carry written as ``\\xNN`` escapes."""
    return _NOT_XML_CHAR.sub(lambda match: _escape_char(match.group()), str(value))


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _suite(root: ET.Element, name: str) -> ET.Element:
    return ET.SubElement(root, "testsuite", name=xml_text(name))


def _properties(suite: ET.Element, values: Mapping[str, Any]) -> None:
    properties = ET.SubElement(suite, "properties")
    for key, value in values.items():
        ET.SubElement(properties, "property", name=xml_text(key), value=xml_text(value))


def _result_case(suite: ET.Element, result: Result, component: str) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=xml_text(component),
        name=xml_text(f"{result.spec}[{result.target}]"),
        time=_seconds(result.seconds),
    )
    if result.outcome is Outcome.PASS:
        return
    if result.outcome is Outcome.SKIP:
        ET.SubElement(case, "skipped", message=xml_text(result.message or "skipped"))
        return
    tag = "failure" if result.outcome is Outcome.FAIL else "error"
    element = ET.SubElement(
        case,
        tag,
        message=xml_text(result.message or result.outcome.value),
        type=result.outcome.value,
    )
    element.text = xml_text(_result_text(result))


def _result_text(result: Result) -> str:
    lines = [result.message, ""] if result.message else []
    lines.append(
        f"spec {result.spec} on target {result.target}"
        + (f", variant {result.variant}" if result.variant else "")
    )
    lines.append(f"{result.examples} examples, max error {format_error(result)}")
    if result.observed_through:
        lines.append(f"observed through {result.observed_through}")
    if result.counterexample:
        lines += ["", "Minimal counterexample:", result.counterexample]
    if result.reproduce:
        lines += ["", "Reproduce:", result.reproduce]
    if result.statistics:
        lines += ["", "Statistical tests:"]
        lines += [
            f"  {'pass' if test.passed else 'FAIL'} {test.name}: {test.statistic}, "
            f"p = {test.p_value:.3g}, alpha = {test.alpha:.3g}, power {test.power}"
            for test in result.statistics
        ]
    return "\n".join(lines)


def _proof_case(suite: ET.Element, proof: ProofRecord) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=PROOF_SUITE,
        name=xml_text(proof.id),
        time=_seconds(proof.seconds),
    )
    if proof.scope:  # a passing case says whether it holds in general or at some sizes only
        properties = ET.SubElement(case, "properties")
        ET.SubElement(properties, "property", name="scope", value=xml_text(proof.scope))
    if proof.status == "proved":
        return
    text = "\n".join(
        [
            f"{proof.title} ({proof.source})",
            f"status: {proof.status}, method: {proof.method}, scope: {proof.scope or '-'}",
            f"equations: {', '.join(proof.specs)}",
            *([proof.detail] if proof.detail else []),
        ]
    )
    # A proof that is merely "not proved" is a failed check, not a crash of the tool.
    tag = "failure" if proof.status in ("refuted", "not proved") else "error"
    summary = f"{proof.status}: {proof.detail}" if proof.detail else proof.status
    element = ET.SubElement(case, tag, message=xml_text(summary), type=xml_text(proof.status))
    element.text = xml_text(text)


def _totals(root: ET.Element, suites: Iterable[ET.Element]) -> None:
    """The count attributes of every suite and of ``<testsuites>``, from the cases themselves."""
    grand = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for suite in suites:
        cases = suite.findall("testcase")
        counts = {
            "tests": len(cases),
            "failures": sum(1 for case in cases if case.find("failure") is not None),
            "errors": sum(1 for case in cases if case.find("error") is not None),
            "skipped": sum(1 for case in cases if case.find("skipped") is not None),
            "time": sum(float(case.get("time", "0")) for case in cases),
        }
        for key, value in counts.items():
            grand[key] += value
            suite.set(key, _seconds(value) if key == "time" else str(value))
    for key, value in grand.items():
        root.set(key, _seconds(value) if key == "time" else str(value))


def _seconds(seconds: float) -> str:
    return f"{seconds:.3f}"
