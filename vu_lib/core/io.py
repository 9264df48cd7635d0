"""Small portable helpers every stage may use: atomic file writes, JSON, import guards.

A file written here is written to a temporary sibling and moved into place with
:func:`os.replace`, so a reader (or a crash) never sees half a file, on Linux, macOS
and Windows alike.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator


# =========================================================================== JSON
def read_json(path: Path) -> dict:
    """A JSON object from a file; ``{}`` when it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def dump_json(data: Any) -> str:
    """Indented JSON text (UTF-8 characters kept, anything else as ``str``), ending with a newline."""
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False, default=str) + "\n"


# =========================================================================== atomic writes
def tmp_name(path: Path) -> Path:
    """A temporary sibling of ``path`` (hidden, same directory, same suffix, this process's pid)."""
    return path.with_name(f".{path.stem}.{os.getpid()}-{time.monotonic_ns() % 10**9}.tmp{path.suffix}")


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(tmp)`` for a temporary sibling of ``path``, then move it into place.

    A reader (or a crash) never sees a half-written ``path``; on any error the
    previous file is left untouched and the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`), synced to disk."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    atomic_write(path, write)


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


# =========================================================================== import guards
#: jsonschema imports this (when installed, as JupyterLab installs it) only to check the
#: 'iri' string formats, which neither Altair's Vega-Lite schema nor nbformat uses, and
#: building its grammar costs about 1.5 s per process.
_IRI_MODULE = "rfc3987_syntax"


@contextlib.contextmanager
def without_iri_checker() -> Iterator[None]:
    """Hide ``rfc3987_syntax`` while jsonschema is imported for the first time, then unhide it.

    jsonschema then simply does not register the 'iri' formats. No effect once
    jsonschema is imported.
    """
    blocked = False
    if "jsonschema" not in sys.modules and _IRI_MODULE not in sys.modules:
        sys.modules[_IRI_MODULE] = None  # type: ignore[assignment]  # makes the import fail fast
        blocked = True
    try:
        yield
    finally:
        if blocked and _IRI_MODULE in sys.modules and sys.modules[_IRI_MODULE] is None:
            del sys.modules[_IRI_MODULE]


def lighten_imports() -> None:
    """Skip ``rfc3987_syntax`` for the rest of this process (the batch's workers and kernels).

    Importing nbformat (papermill, nbconvert, signing) then takes a few tenths of a
    second instead of about 2 s. No effect once jsonschema is imported.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault(_IRI_MODULE, None)
