"""Handins as course platforms deliver them: folders and archives, found and unpacked safely.

A handin is a folder holding ``mytorch/`` (at its top or one level down), or a ``.zip``,
``.tar``, ``.tar.gz`` or ``.tgz`` archive of one. An archive is untrusted input: it is unpacked
member by member into a folder of the grader's choosing, by this code rather than the archive
library's ``extractall``, and refused whole when a member would land outside that folder (an
absolute path, ``..``), is a link, a device or a pipe, or when the members are too many or too
large together (:data:`MAX_FILES`, :data:`MAX_BYTES`; counted while writing, not taken from
the archive's own declarations). A handin that cannot be used keeps its name and gets a
``problem``: one bad handin never stops the class.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

__all__ = ["MAX_BYTES", "MAX_FILES", "Handin", "UnsafeArchive", "content_digest", "find_handins"]

#: At most this many members in an archive (a homework handin has a few dozen files).
MAX_FILES = 2_000
#: At most this many bytes unpacked from one archive.
MAX_BYTES = 50 * 2**20
#: The archive formats recognised, by file name ending.
ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")


class UnsafeArchive(ValueError):
    """An archive that cannot be unpacked safely or at all; the message says why."""


@dataclass(frozen=True)
class Handin:
    """One student's handin: ``name`` (unique in the class), where it came from, the folder
    holding ``mytorch/`` (None when it cannot be graded) and why not (``problem``)."""

    name: str
    source: Path
    root: Path | None
    problem: str = ""


def find_handins(paths: Sequence[str | os.PathLike[str]], unpack_to: Path) -> list[Handin]:
    """The handins at ``paths``, in the order given; archives are unpacked under
    ``unpack_to/<name>``. Every path yields one :class:`Handin`, usable or with a problem."""
    found: list[Handin] = []
    seen: dict[str, Path] = {}
    for given in paths:
        path = Path(given)
        name = _name(path)
        if name in seen:
            found.append(
                Handin(name, path, None, f"another handin has the same name {name!r}: {seen[name]}")
            )
            continue
        seen[name] = path
        found.append(_handin(name, path, unpack_to / name))
    return found


def _name(path: Path) -> str:
    name = path.name if path.name not in ("", ".", "..") else path.resolve().name
    for ending in ARCHIVES:
        if name.lower().endswith(ending):
            return name[: -len(ending)] or name
    return name


def _handin(name: str, path: Path, destination: Path) -> Handin:
    if not path.exists():
        return Handin(name, path, None, f"no such file or folder: {path}")
    if path.is_dir():
        folder = path
    elif path.name.lower().endswith(ARCHIVES):
        try:
            unpack(path, destination)
        except UnsafeArchive as error:
            return Handin(name, path, None, f"archive refused: {error}")
        folder = destination
    else:
        return Handin(name, path, None, f"neither a folder nor an archive ({', '.join(ARCHIVES)})")
    root = _mytorch_root(folder)
    if root is None:
        empty = not any(folder.iterdir())
        return Handin(
            name,
            path,
            None,
            "empty" if empty else "no mytorch/ folder at its top or one level down",
        )
    return Handin(name, path, root)


def _mytorch_root(folder: Path) -> Path | None:
    """The folder that holds ``mytorch/``: ``folder`` or its one subfolder that does (nested
    one level, as an archive of a folder is)."""
    if (folder / "mytorch").is_dir():
        return folder
    inner = [
        child
        for child in sorted(folder.iterdir())
        if child.is_dir() and not child.is_symlink() and (child / "mytorch").is_dir()
    ]
    return inner[0] if len(inner) == 1 else None


def unpack(archive: Path, destination: Path) -> None:
    """Unpack ``archive`` into ``destination`` (emptied first), or raise :class:`UnsafeArchive`
    and leave ``destination`` absent."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    try:
        written = 0
        for count, (member, stream) in enumerate(_members(archive), start=1):
            if count > MAX_FILES:
                raise UnsafeArchive(f"more than {MAX_FILES} members")
            target = _inside(destination, member)
            if stream is _SPECIAL:
                raise UnsafeArchive(f"member {member!r} is a link or a special file")
            if stream is None:
                target.mkdir(parents=True, exist_ok=True)
                continue
            if target == destination:
                raise UnsafeArchive(f"member {member!r} is a file without a name")
            target.parent.mkdir(parents=True, exist_ok=True)
            with stream, open(target, "wb") as out:
                while chunk := stream.read(1 << 16):
                    written += len(chunk)
                    if written > MAX_BYTES:
                        raise UnsafeArchive(f"more than {MAX_BYTES // 2**20} MiB unpacked")
                    out.write(chunk)
    except UnsafeArchive:
        shutil.rmtree(destination, ignore_errors=True)
        raise
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, RuntimeError) as error:
        # A corrupt or encrypted archive, or one that names a file twice as file and folder.
        shutil.rmtree(destination, ignore_errors=True)
        raise UnsafeArchive(f"cannot be read ({type(error).__name__}: {error})") from None


def _inside(destination: Path, member: str) -> Path:
    parts = PurePosixPath(member.replace("\\", "/")).parts
    if member.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise UnsafeArchive(f"member {member!r} would be written outside the handin")
    # "." (the archive's own top folder, as `tar -C dir .` writes it) is the destination.
    return destination.joinpath(*(part for part in parts if part not in ("", ".")))


#: What :func:`_members` gives for a link, a device or a pipe: never unpacked.
_SPECIAL = io.BytesIO()


def _members(archive: Path) -> Iterator[tuple[str, IO[bytes] | None]]:
    """Each member's name and a stream of its bytes: None for a folder, :data:`_SPECIAL` for
    a link, a device or a pipe (refused by :func:`unpack` once its path is checked)."""
    if archive.name.lower().endswith(".zip"):
        yield from _zip_members(archive)
    else:
        yield from _tar_members(archive)


def _zip_members(archive: Path) -> Iterator[tuple[str, IO[bytes] | None]]:
    with zipfile.ZipFile(archive) as opened:
        for info in opened.infolist():
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no type recorded
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                yield info.filename, _SPECIAL
            else:
                yield info.filename, None if info.is_dir() else opened.open(info)


def _tar_members(archive: Path) -> Iterator[tuple[str, IO[bytes] | None]]:
    with tarfile.open(archive) as opened:
        for member in opened:
            if member.isdir():
                yield member.name, None
            elif member.isfile():
                yield member.name, opened.extractfile(member) or _SPECIAL
            else:
                yield member.name, _SPECIAL


def content_digest(root: Path) -> str:
    """A digest of every file under ``root`` (paths and bytes) and of every link (its target,
    as written): what a handin's grade depends on besides the checker and its options. Links
    are not followed: a handin linking to ``/`` must not make the grader hash the machine."""
    digest = hashlib.sha256()
    entries = []
    for folder, folders, files in os.walk(root):  # does not descend into linked folders
        folders[:] = [name for name in folders if name != "__pycache__"]
        base = Path(folder)
        entries += [base / name for name in files]
        entries += [base / name for name in folders if (base / name).is_symlink()]
    for path in sorted(entries):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        if path.is_symlink():
            digest.update(b"link\0" + os.readlink(path).encode())
        elif path.is_file():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
