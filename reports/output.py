"""The only code that writes report files.

Every write is atomic: the text goes to a temporary file in the destination's directory, is
flushed and fsynced, and is then renamed over the destination with :func:`os.replace`. A reader
(a CI artifact upload, a browser that is reloading the page) therefore sees the old file or the
new one, never a truncated one, and a failure at any point leaves the old file as it was.

:func:`write_report` extends that to the whole set of formats: everything is rendered in memory
first, then every file is staged, and only when all are staged are they renamed into place, so
a renderer that raises or a disk that fills up does not leave a new ``report.json`` next to a
stale ``index.html``.
"""

import contextlib
import os
import secrets
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from eqconform.verify.results import Report

if TYPE_CHECKING:
    from eqconform.reports import Renderer

__all__ = ["STDOUT", "ReportWriteError", "write_report", "write_text"]

#: The path that means "standard output" rather than a file.
STDOUT = "-"


class ReportWriteError(OSError):
    """A report file could not be written; ``filename`` is the path, ``strerror`` the reason."""

    def __str__(self) -> str:
        return f"cannot write report file {self.filename}: {self.strerror}"


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating parent directories; ``-`` is stdout.

    Raises :class:`ReportWriteError` when the file system refuses. Whatever is raised, no
    temporary file is left behind and an existing ``path`` keeps its previous content.
    """
    if os.fspath(path) == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    destination = Path(path)
    staged = _stage(destination, text)
    try:
        _commit(staged, destination)
    except BaseException:
        _discard(staged)
        raise


def write_report(
    report: Report,
    directory: str | os.PathLike[str],
    formats: Iterable["str | Renderer"] | None = None,
) -> list[Path]:
    """Render ``report`` in each format and write the files into ``directory``.

    ``formats`` holds names from :data:`eqconform.reports.RENDERERS` or renderer objects; the
    default is every registered format. Returns the paths written, in the order of ``formats``.
    Nothing is written unless every renderer succeeded and every file could be staged.

    ``directory`` may be ``-`` when exactly one format is asked for: that report goes to stdout
    and the returned list is empty.
    """
    renderers = _resolve(formats)
    if os.fspath(directory) == STDOUT:
        if len(renderers) != 1:
            raise ValueError(f"'-' (stdout) takes exactly one format, not {len(renderers)}")
        write_text(STDOUT, renderers[0].render(report))
        return []
    # Render everything before touching the disk, so a failing renderer writes nothing.
    rendered = [
        (Path(directory) / renderer.filename, renderer.render(report)) for renderer in renderers
    ]
    staged: list[tuple[Path, Path]] = []
    try:
        for destination, text in rendered:
            staged.append((_stage(destination, text), destination))
        for index, (temporary, destination) in enumerate(staged):
            _commit(temporary, destination)
            staged[index] = (destination, destination)
    except BaseException:
        for temporary, destination in staged:
            if temporary != destination:
                _discard(temporary)
        raise
    return [destination for destination, _ in rendered]


def _resolve(formats: Iterable["str | Renderer"] | None) -> Sequence["Renderer"]:
    # Imported here because eqconform.reports imports this module while it is initialising.
    from eqconform.reports import RENDERERS, get_renderer

    if isinstance(formats, str):
        formats = [formats]  # one name, not an iterable of one-letter names
    chosen = (
        list(RENDERERS.values())
        if formats is None
        else [get_renderer(item) if isinstance(item, str) else item for item in formats]
    )
    filenames = [renderer.filename for renderer in chosen]
    duplicates = sorted({name for name in filenames if filenames.count(name) > 1})
    if duplicates:
        raise ValueError(f"two formats would write the same file: {', '.join(duplicates)}")
    return chosen


def _stage(destination: Path, text: str) -> Path:
    """Write ``text`` to a new temporary file next to ``destination``, flushed and fsynced."""
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        temporary, descriptor = _create_temporary(destination)
    except OSError as error:
        raise _write_error(destination, error) from error
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as error:
        _discard(temporary)
        if isinstance(error, OSError):
            raise _write_error(destination, error) from error
        raise
    return temporary


def _create_temporary(destination: Path) -> tuple[Path, int]:
    # os.open with mode 0o666 lets the umask decide the permissions, exactly as a plain open()
    # of the destination would; tempfile.mkstemp would make every report private (0o600).
    for _ in range(100):
        temporary = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}.tmp")
        try:
            return temporary, os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {destination}")


def _commit(temporary: Path, destination: Path) -> None:
    try:
        os.replace(temporary, destination)
    except OSError as error:
        raise _write_error(destination, error) from error
    # Make the rename itself durable; some file systems cannot fsync a directory, which is fine.
    with contextlib.suppress(OSError):
        directory = os.open(destination.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _discard(temporary: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()


def _write_error(destination: Path, error: OSError) -> ReportWriteError:
    return ReportWriteError(error.errno, error.strerror or str(error), str(destination))
