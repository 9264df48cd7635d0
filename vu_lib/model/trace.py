"""Traceability: which model version, data, code and params a table was computed with.

Every table the model returns carries ``df.attrs["trace"]``, a :class:`Trace`;
reports print :meth:`Trace.text` under each table.

* ``modellversion``: the model version in force at the period
  (:func:`vu_lib.compensation.model_version`; a minor revision such as 4.1
  from its ``giltig_fran`` month on).
* ``data_fingerprint``: :attr:`vu_lib.data.Dataset.fingerprint` (``''`` when
  computed from params only).
* ``kodversion``: :func:`code_version`.
* ``params_fingerprint``: :func:`params_fingerprint`.
* ``period``: ``'YYYY-MM'`` (or ``'YYYY'`` for a whole model year).
"""
from __future__ import annotations

import functools
import hashlib
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vu_lib.core.params import PROJECT_ROOT, Params

if TYPE_CHECKING:  # pandas is not imported at run time: the batch's cache path uses this module
    import pandas as pd

_PKG_DIR = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Trace:
    """Provenance of a computed table."""

    modellversion: str
    data_fingerprint: str
    kodversion: str
    params_fingerprint: str
    period: str

    def text(self) -> str:
        """One Swedish line, e.g.
        ``'Modellversion 4.1 · period 2026-08 · data 1a2b… · parametrar 9f8e… · kod 0.1.0+g3b0f0d0'``.
        """
        data = f"data {self.data_fingerprint}" if self.data_fingerprint else "utan data"
        return (
            f"Modellversion {self.modellversion} · period {self.period} · {data} · "
            f"parametrar {self.params_fingerprint} · kod {self.kodversion}"
        )

    def as_dict(self) -> dict:
        """The fields as a plain dict (for JSON sidecars)."""
        return asdict(self)

    def __str__(self) -> str:
        return self.text()


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
    files = [root / "registry.yaml", root / "nyckeltal.yaml", *sorted((root / "modell").glob("*.yaml"))]
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

    The files are ``registry.yaml``, ``nyckeltal.yaml`` and ``modell/*.yaml``
    under ``params.root``, in sorted order, each preceded by its relative path.
    Cached per file modification time and size.
    """
    root = Path(params.root)
    files = _params_files(root)
    stamp = tuple((f.relative_to(root).as_posix(), str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return _fingerprint_files(stamp)


def trace_for(params: Params, dataset, year, month: int | None = None) -> Trace:
    """The trace of a table computed for a period.

    Parameters
    ----------
    params : Params
    dataset : Dataset or None
        None for a table computed from params only (data fingerprint ``''``).
    year : int or str or Period
        The year; or a month ``'YYYY-MM'`` / :class:`~vu_lib.periods.Period`
        when ``month`` is omitted.
    month : int, optional
        The month; omitted with an int ``year``: a whole-year table (period
        ``'YYYY'``, model version as of December).

    Returns
    -------
    Trace
        ``modellversion`` from :func:`~vu_lib.compensation.model_version`, so
        2026-07 and later give ``'4.1'``.
    """
    from vu_lib.model.compensation import model_version
    from vu_lib.model.periods import month_str, parse_month

    if not isinstance(year, int):
        year, month = parse_month(year)
    if month is None:
        label, m = str(year), 12
    else:
        label, m = month_str(year, month), month
    return Trace(
        modellversion=model_version(params, year, m),
        data_fingerprint=getattr(dataset, "fingerprint", "") or "",
        kodversion=code_version(),
        params_fingerprint=params_fingerprint(params),
        period=label,
    )


def stamp(df: pd.DataFrame, trace: Trace) -> pd.DataFrame:
    """Set ``df.attrs['trace'] = trace`` and return ``df`` (same object)."""
    df.attrs["trace"] = trace
    return df


def trace_of(df: pd.DataFrame) -> Trace | None:
    """The trace of a table, or None when it has none."""
    return df.attrs.get("trace")
