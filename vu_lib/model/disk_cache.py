"""The model's all-period tables on disk, so that a fresh process (a JupyterLab kernel) starts warm.

A :class:`~vu_lib.model.model.Model` computes its all-period tables (the month grid, the
level frames, netting, forecast, variance, key figures, changes of funds) in about a
second. They depend on nothing but the data, the params and the code, so
:func:`vu_lib.model.model.open_model` keeps them, with the dataset they were computed
from, in one file per key under ``data/cache/modell/`` (git-ignored)::

    key = sha256(data fingerprint + source label, params content, code version,
                 sha256 of vu_lib/**/*.py, Python, pandas and numpy versions)

* **Never stale.** The data fingerprint (:func:`vu_lib.data.store.store_fingerprint`) changes
  whenever a loaded row changes; the params are hashed by content (an edited YAML file, or
  params changed in memory, give another key); any change to a ``.py`` file under ``vu_lib``
  gives another key; so does another pandas, numpy or Python. A file whose stored key does
  not match, or that cannot be read, is ignored (and removed), and the tables are computed.
* **Written atomically** (:func:`vu_lib.core.io.atomic_write_bytes`): two processes writing
  the same key both write complete files and one wins; a reader never sees half a file.
* **Safe to delete** at any time: the next open computes the tables again and writes them.
  At most :data:`KEEP` files are kept (the oldest are removed when a new one is written).

``$VU_MODEL_CACHE`` chooses the directory; ``VU_MODEL_CACHE=0`` turns the disk cache off.
The files are pickles written by this module on this machine: read only what vu wrote.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
from pathlib import Path

from vu_lib.core.io import atomic_write_bytes
from vu_lib.core.params import PROJECT_ROOT, Params
from vu_lib.core.versions import code_version, source_hash

#: Bump when the layout of a cache file changes.
FORMAT = 1
#: How many cache files are kept.
KEEP = 8
DEFAULT_DIR = PROJECT_ROOT / "data" / "cache" / "modell"
_OFF = ("0", "off", "nej", "false", "no")


def cache_dir() -> Path | None:
    """``$VU_MODEL_CACHE`` or ``data/cache/modell``; None when the disk cache is turned off."""
    env = os.environ.get("VU_MODEL_CACHE", "").strip()
    if env.lower() in _OFF:
        return None
    return Path(env) if env else DEFAULT_DIR


_params_hashes: dict[int, tuple[Params, str]] = {}


def params_hash(params: Params) -> str:
    """sha256 of the params' content (what was loaded and validated, not the files' names)."""
    hit = _params_hashes.get(id(params))
    if hit is not None and hit[0] is params:
        return hit[1]
    digest = hashlib.sha256(params.model_dump_json().encode("utf-8")).hexdigest()[:16]
    _params_hashes[id(params)] = (params, digest)
    return digest


def key_parts(params: Params, fingerprint: str, source: str) -> dict:
    """Everything the tables depend on (see the module docstring)."""
    import numpy
    import pandas

    return {
        "format": FORMAT,
        "data": fingerprint,
        "source": source,
        "params": params_hash(params),
        "code": code_version(),
        "sources": source_hash("*.py", 16),
        "python": sys.version,
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
    }


def cache_key(params: Params, fingerprint: str, source: str) -> str:
    """24 hex characters naming the cache file of these inputs."""
    parts = key_parts(params, fingerprint, source)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()[:24]


def path_for(key: str, directory: Path | None = None) -> Path | None:
    directory = cache_dir() if directory is None else directory
    return None if directory is None else Path(directory) / f"modell-{key}.pickle"


def read(params: Params, fingerprint: str, source: str) -> tuple[object, dict] | None:
    """``(dataset, tables)`` stored for these inputs, or None (off, absent, unreadable, other key)."""
    if not fingerprint:
        return None
    key = cache_key(params, fingerprint, source)
    path = path_for(key)
    if path is None or not path.is_file():
        return None
    try:
        bundle = pickle.loads(path.read_bytes())
        if bundle.get("key") != key or bundle.get("parts") != key_parts(params, fingerprint, source):
            raise ValueError("annan nyckel")
        return bundle["dataset"], dict(bundle["tables"])
    except Exception:  # noqa: BLE001 - a bad file is a miss; remove it so it is written again
        try:
            path.unlink()
        except OSError:
            pass
        return None


def write(params: Params, dataset, tables: dict) -> Path | None:
    """Store ``dataset`` and its ``tables`` for the next process; the file's path (None when off)."""
    fingerprint, source = dataset.fingerprint, dataset.source
    if not fingerprint:
        return None
    key = cache_key(params, fingerprint, source)
    path = path_for(key)
    if path is None:
        return None
    bundle = {"key": key, "parts": key_parts(params, fingerprint, source), "dataset": dataset,
              "tables": dict(tables)}
    try:
        atomic_write_bytes(path, pickle.dumps(bundle, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:  # a read-only checkout: the tables are simply computed next time too
        return None
    _prune(path.parent, keep=path)
    return path


def _prune(directory: Path, keep: Path) -> None:
    try:
        files = sorted(directory.glob("modell-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in [f for f in files if f != keep][KEEP - 1:]:
        try:
            old.unlink()
        except OSError:
            pass


def clear(directory: Path | None = None) -> int:
    """Remove every cache file; how many were removed."""
    directory = cache_dir() if directory is None else directory
    n = 0
    if directory is not None and Path(directory).is_dir():
        for f in Path(directory).glob("modell-*.pickle"):
            f.unlink(missing_ok=True)
            n += 1
    return n


__all__ = ["cache_dir", "cache_key", "key_parts", "params_hash", "read", "write", "clear", "DEFAULT_DIR", "KEEP"]
