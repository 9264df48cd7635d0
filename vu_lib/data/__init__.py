"""Data: from the municipality's exports to a :class:`Dataset` of pandas frames.

Enters: export files (CSV/xlsx as :mod:`~vu_lib.data.contract` specifies them).
:mod:`~vu_lib.data.readers` validates them, :mod:`~vu_lib.data.store` loads them into
the DuckDB store in one transaction, :mod:`~vu_lib.data.sample` writes the embedded
sample, and :mod:`~vu_lib.data.dataset` aggregates the store into frames.
Leaves: :class:`~vu_lib.data.dataset.Dataset` (``load_dataset``).
May import :mod:`vu_lib.core` only.
"""
from __future__ import annotations

_EXPORTS = {
    "Dataset": "dataset", "load_dataset": "dataset", "default_store": "dataset",
    "resolve_store": "dataset", "sample_store": "dataset", "sample_store_path": "dataset",
}


def __getattr__(name: str):
    # Lazy: ``import vu_lib.data.contract`` must not pull pandas in (the batch's cached path).
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_EXPORTS)
