"""The README and ``docs/`` stay true: short, linked, and showing only commands that exist.

- ``README.md`` stays under 16 KB; deeper material belongs in ``docs/``.
- ``docs/catalogue.md`` is exactly what ``render_catalogue`` (``eqconform specs --format
  markdown``) writes for the whole catalogue.
- Every relative link of ``README.md`` and ``docs/*.md`` leads to a file that exists, and a link
  to a heading (``page.md#heading``) to a heading that exists, anchored as GitHub anchors it.
- Every ``eqconform SUBCOMMAND ...`` in their code blocks uses a subcommand and options that
  ``eqconform SUBCOMMAND --help`` lists, and every ``pytest --eqconform...`` option is one the
  pytest plugin adds.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from eqconform.reports.catalogue import render_catalogue
from eqconform.specs import CATALOGUE, CLAIMS, ERRATA
from eqconform.verify import pytest_plugin
from eqconform.verify.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
CATALOGUE_PAGE = ROOT / "docs" / "catalogue.md"
REGENERATE = (
    "eqconform specs --format markdown > docs/catalogue.md  (or: python -c \"from eqconform.reports.catalogue "
    "import render_catalogue; from eqconform.specs import CATALOGUE, CLAIMS, ERRATA; "
    "open('docs/catalogue.md', 'w').write(render_catalogue(list(CATALOGUE.values()), CLAIMS, ERRATA))\")"
)

_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
_LINK = re.compile(r"(?<!\\)\[[^\]]*\]\(([^)\s]+)\)")
_CODE_SPAN = re.compile(r"(`+).*?\1")
_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _blocks(text: str) -> Iterator[tuple[str, str, list[str]]]:
    """``("prose", "", lines)`` and ``("code", language, lines)`` runs of a Markdown page; a
    fence closes only with the same character, at least as long (so ```` may hold ```)."""
    kind, language, lines, fence = "prose", "", [], ""
    for line in text.splitlines():
        match = _FENCE.match(line)
        if kind == "prose" and match:
            yield kind, language, lines
            kind, language, lines, fence = "code", match.group(2), [], match.group(1)
        elif kind == "code" and line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
            yield kind, language, lines
            kind, language, lines, fence = "prose", "", [], ""
        else:
            lines.append(line)
    yield kind, language, lines


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation (and markup) dropped,
    spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


@functools.cache
def anchors(path: Path) -> frozenset[str]:
    """Every heading anchor of ``path``, repeated ones numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for kind, _, lines in _blocks(path.read_text(encoding="utf-8")):
        for line in lines if kind == "prose" else ():
            heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if heading:
                anchor = github_anchor(heading.group(1))
                found.add(anchor if anchor not in seen else f"{anchor}-{seen[anchor]}")
                seen[anchor] = seen.get(anchor, 0) + 1
    return frozenset(found)


def _links(path: Path) -> Iterator[str]:
    for kind, _, lines in _blocks(path.read_text(encoding="utf-8")):
        if kind == "prose":
            yield from _LINK.findall(_CODE_SPAN.sub("", "\n".join(lines)))


def _relative_links() -> list[tuple[str, str]]:
    return list(dict.fromkeys(
        (_page_id(page), link)
        for page in PAGES
        for link in _links(page)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", link)  # https:, mailto: ...
    ))


def _commands(program: str) -> list[tuple[str, str]]:
    """``(page, command line)`` for each line of a code block that runs ``program``: in a
    console block the lines after a ``$`` prompt, elsewhere any line starting with it (after
    ``NAME=value`` assignments)."""
    found = []
    for page in PAGES:
        for kind, language, lines in _blocks(page.read_text(encoding="utf-8")):
            for line in lines if kind == "code" else ():
                line = line.strip()
                if language == "console" and not line.startswith("$ "):
                    continue
                words = _command_words(line)
                if words and words[0] == program:
                    found.append((_page_id(page), line))
    return found


def _command_words(line: str) -> list[str]:
    """The words of a shown command, from the program on (prompt and assignments dropped)."""
    words = _words(line.removeprefix("$ "))
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[0]):
        words.pop(0)
    return words


def _words(line: str) -> list[str]:
    """The words of a shell line up to a pipe, redirection, separator or comment."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:  # an unbalanced quote in a synopsis: good enough split on blanks
        words = line.split()
    stop = next((i for i, word in enumerate(words) if word in {"|", ">", ">>", ";", "&&", "||"}), len(words))
    return words[:stop]


def _options(words: list[str]) -> set[str]:
    """The options a command line uses, ``[--seed S]`` and ``--seed=S`` included."""
    return {match.group(1) for word in words if (match := _OPTION.match(word.lstrip("[(")))}


@functools.cache
def _help(subcommand: str | None) -> str:
    """What ``eqconform [SUBCOMMAND] --help`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main([subcommand, "--help"] if subcommand else ["--help"])
    return out.getvalue()


def _subcommands() -> set[str]:
    usage = re.search(r"\{([\w,]+)\}", _help(None))
    assert usage, _help(None)
    return set(usage.group(1).split(","))


def test_readme_is_short() -> None:
    size = len(README.read_bytes())
    assert size < 16384, f"README.md is {size} bytes; move detail into docs/ and link to it"


def test_catalogue_page_is_generated() -> None:
    expected = render_catalogue(list(CATALOGUE.values()), CLAIMS, ERRATA)
    assert CATALOGUE_PAGE.read_text(encoding="utf-8") == expected, (
        f"docs/catalogue.md is not what `eqconform specs --format markdown` prints; regenerate it "
        f"from the checkout's root with the installed package: {REGENERATE}"
    )


def test_the_pages_have_links_to_check() -> None:
    assert len(PAGES) > 5 and len(_relative_links()) > 20
    assert {"the-command-line", "exit-status"} <= anchors(ROOT / "docs" / "cli.md")


@pytest.mark.parametrize(("page", "link"), _relative_links())
def test_relative_link_leads_somewhere(page: str, link: str) -> None:
    path, _, anchor = link.partition("#")
    target = (ROOT / page).parent / path if path else ROOT / page
    assert target.resolve().is_relative_to(ROOT), f"{page}: {link} leads out of the repository"
    assert target.exists(), f"{page}: {link} names {target.relative_to(ROOT)}, which does not exist"
    if anchor and target.suffix == ".md":
        assert anchor in anchors(target.resolve()), (
            f"{page}: {link}: {_page_id(target.resolve())} has no heading anchored #{anchor} "
            f"(it has: {', '.join(sorted(anchors(target.resolve())))})"
        )


def test_github_anchors() -> None:
    assert github_anchor("Plugins: the `eqconform.targets` entry points") == "plugins-the-eqconformtargets-entry-points"
    assert github_anchor(r"layernorm\_exam") == "layernorm_exam"
    assert github_anchor("No false alarms: the soak") == "no-false-alarms-the-soak"


def test_the_readme_shows_commands() -> None:
    shown = {_command_words(line)[1] for page, line in _commands("eqconform") if page == "README.md"}
    assert shown == set(_subcommands()) == {"specs", "report", "grade", "diff"}


@pytest.mark.parametrize(("page", "line"), _commands("eqconform"))
def test_shown_command_uses_existing_options(page: str, line: str) -> None:
    words = _command_words(line)
    assert len(words) > 1 and words[1] in _subcommands(), f"{page}: `{line}` names no subcommand of eqconform"
    unknown = _options(words[2:]) - set(_OPTION.findall(_help(words[1])))
    assert not unknown, f"{page}: `{line}` uses {sorted(unknown)}, which `eqconform {words[1]} --help` does not list"


@pytest.mark.parametrize(("page", "line"), _commands("pytest"))
def test_shown_pytest_command_uses_the_plugins_options(page: str, line: str) -> None:
    plugin_options = set(re.findall(r"[\"'](--eqconform[\w-]*)[\"']", inspect.getsource(pytest_plugin)))
    used = {option for option in _options(_command_words(line)) if option.startswith("--eqconform")}
    unknown = sorted(used - plugin_options)
    assert not unknown, f"{page}: `{line}` uses {unknown}, which the pytest plugin does not add"
