"""Versions and fingerprints: which code and which params produced something.

:func:`code_version` (package version + git commit, or a hash of the sources) and
:func:`params_fingerprint` (a hash of the params files) are shared by the data stage
(the sample store is keyed by the params), the model's traces and the batch's cache.
"""
from __future__ import annotations

import functools
import hashlib
import subprocess
from pathlib import Path

from vu_lib.core.params import PROJECT_ROOT, Params

_PKG_DIR = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args],
            capture_output=True, text=True, timeout=5, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def source_hash(pattern: str = "*.py", length: int = 12) -> str:
    """sha256 over the ``vu_lib`` package's files matching ``pattern``, as hex.

    Each file (in sorted order, outside ``__pycache__``, compiled files left
    out) contributes its path relative to the package, a NUL byte and its
    bytes. :func:`code_version` uses the Python sources (``'*.py'``, 12 hex);
    the batch's cache key every file, templates included (``'*'``, 16 hex).
    """
    h = hashlib.sha256()
    for f in sorted(_PKG_DIR.rglob(pattern)):
        if not f.is_file() or "__pycache__" in f.parts or f.suffix in (".pyc", ".pyo"):
            continue
        h.update(f.relative_to(_PKG_DIR).as_posix().encode())
        h.update(b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()[:length]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """Version of the code, computed once per process.

    ``'<package version>+g<short commit>'`` in a git checkout, with ``'.dirty'``
    appended when ``vu_lib`` or ``params`` has uncommitted (or untracked)
    changes; otherwise ``'<package version>+src.<sha256 of vu_lib/**.py, 12 hex>'``.
    """
    from vu_lib import __version__

    inside = (PROJECT_ROOT / ".git").exists() and _git("rev-parse", "--short", "HEAD")
    if inside:
        status = _git("status", "--porcelain", "--", "vu_lib", "params", "pyproject.toml")
        if status is not None:
            return f"{__version__}+g{inside}" + (".dirty" if status else "")
    return f"{__version__}+src.{source_hash()}"


def _params_files(root: Path) -> list[Path]:
    files = [root / "registry.yaml", root / "nyckeltal.yaml", root / "kolada.yaml",
             *sorted((root / "modell").glob("*.yaml"))]
    return [f for f in files if f.is_file()]


@functools.lru_cache(maxsize=16)
def _fingerprint_files(stamp: tuple) -> str:
    h = hashlib.sha256()
    for rel, path, _, _ in stamp:
        h.update(rel.encode())
        h.update(b"\0")
        h.update(Path(path).read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def params_fingerprint(params: Params) -> str:
    """16 hex characters of sha256 over the params files' bytes.

    The files are ``registry.yaml``, ``nyckeltal.yaml``, ``kolada.yaml`` and ``modell/*.yaml``
    under ``params.root``, in sorted order, each preceded by its relative path.
    Cached per file modification time and size.
    """
    root = Path(params.root)
    files = _params_files(root)
    stamp = tuple((f.relative_to(root).as_posix(), str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return _fingerprint_files(stamp)
