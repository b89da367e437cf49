"""A cache on disk for work that depends on eqconform's own code only (never on a target):
the documents' proofs, the compiled oracles, the printed formulas and the cases a passing
search drew.

Entries are small JSON files under one folder per kind, named by a SHA-256 key of everything
the stored value depends on (the caller's job: :func:`key`, with :func:`source_texts` for the
code it depends on). The folder is
``$EQCONFORM_CACHE_DIR``, else ``$XDG_CACHE_HOME/eqconform``, else ``~/.cache/eqconform``.

Safe to share: a writer writes a temporary file in the same folder and renames it into place,
so a reader sees a whole entry or none, and concurrent writers of one key write the same value.
Never trusted blindly: an entry that is not JSON, is not an object, or does not name the key it
is filed under is ignored (and rewritten by the next :meth:`DiskCache.put`). A cache that cannot
be read or written is no cache: the work is done again, never refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["DiskCache", "cache_root", "key", "source_texts"]

#: Bumped when the layout of entries changes, so that old entries are ignored, not misread.
LAYOUT = 1


def cache_root() -> Path:
    """The folder every kind of entry lives under (see the module docstring)."""
    chosen = os.environ.get("EQCONFORM_CACHE_DIR")
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "eqconform"


def key(parts: Iterable[str]) -> str:
    """A key for the value computed from ``parts`` (each part's boundaries count)."""
    digest = hashlib.sha256(f"layout {LAYOUT}".encode())
    for part in parts:
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()


def source_texts(
    paths: Iterable[Path], *, versions: Iterable[str] = (), root: Path | None = None
) -> tuple[str, ...]:
    """The parts of a key (:func:`key`) for work shaped by code: ``versions`` (of the libraries
    whose output it stores), then each file's name (relative to ``root`` where given) and
    source. A file that cannot be read gives a part no other call repeats, so that no stale
    entry can be taken for a fresh one: its work is done again."""
    texts = list(versions)
    for path in paths:
        name = str(path.relative_to(root)) if root is not None else path.name
        try:
            texts.append(f"{name}\n{path.read_text(encoding='utf-8', errors='surrogateescape')}")
        except OSError:
            texts.append(f"{name} unreadable {os.urandom(16).hex()}")
    return tuple(texts)


class DiskCache:
    """The entries of one kind (``DiskCache("proofs")``) under :func:`cache_root`."""

    def __init__(self, kind: str, root: Path | None = None):
        self.folder = (root or cache_root()) / kind

    def get(self, entry_key: str) -> dict[str, Any] | None:
        """The value stored under ``entry_key``, or ``None`` (missing, unreadable or corrupt)."""
        try:
            data = json.loads((self.folder / f"{entry_key}.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if (
            not isinstance(data, dict)
            or data.get("key") != entry_key
            or not isinstance(data.get("value"), dict)
        ):
            return None
        return data["value"]

    def put(self, entry_key: str, value: Mapping[str, Any]) -> bool:
        """Store ``value`` (JSON-serializable) under ``entry_key``; ``False`` when it could not."""
        try:
            # dumps, not dump: dump streams through the pure-Python encoder, several times
            # slower on the thousands of small objects of a search's drawn cases.
            text = json.dumps({"key": entry_key, "value": dict(value)})
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                dir=self.folder, prefix=".writing-", suffix=".json"
            )
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as file:
                    file.write(text)
                os.replace(temporary, self.folder / f"{entry_key}.json")
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except (OSError, TypeError, ValueError):
            return False
        return True
