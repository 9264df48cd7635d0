"""Old dotted module names, kept importable for one release (0.2; removed in 0.3).

Scripts written against 0.1 import ``vu_lib.results``, ``vu_lib.index`` and so on.
Since 0.2 those modules live in the pipeline's packages (``vu_lib.model.results``, ...).
:func:`install` adds a meta-path finder that answers the old name with the very same
module object, so functions, signatures and results are identical.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: old name -> new name (the public modules that 0.1 documented)
ALIASES = {
    "vu_lib.params": "vu_lib.core.params",
    "vu_lib.exceptions": "vu_lib.core.exceptions",
    "vu_lib.contract": "vu_lib.data.contract",
    "vu_lib.readers": "vu_lib.data.readers",
    "vu_lib.store": "vu_lib.data.store",
    "vu_lib.sample": "vu_lib.data.sample",
    **{f"vu_lib.{m}": f"vu_lib.model.{m}" for m in (
        "periods", "index", "compensation", "schablon", "transfers", "results",
        "forecast", "variance", "nyckeltal", "budget", "trace")},
    **{f"vu_lib.{m}": f"vu_lib.report.{m}" for m in ("fmt", "narrative", "tables", "charts")},
    **{f"vu_lib.{m}": f"vu_lib.publish.{m}" for m in ("batch", "render")},
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):  # already executed under its real name
        pass


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        new = ALIASES.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
