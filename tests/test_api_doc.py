"""docs/api.md and the code agree: every listed name is importable, every public function is listed."""
from __future__ import annotations

import importlib
import inspect
import re

import pytest

from vu_lib.core.params import PROJECT_ROOT

DOC = (PROJECT_ROOT / "docs" / "api.md").read_text(encoding="utf-8")
SECTIONS = dict(re.findall(r"^### `([\w.]+)`[^\n]*\n(.*?)(?=^#|\Z)", DOC, flags=re.M | re.S))


def _names(block: str) -> list[str]:
    return re.findall(r"`(\w+)`", block)


@pytest.mark.parametrize("module", sorted(SECTIONS))
def test_every_listed_name_is_importable(module):
    mod = importlib.import_module(module)
    for name in _names(SECTIONS[module]):
        assert hasattr(mod, name), f"docs/api.md lists {module}.{name}, which does not exist"


@pytest.mark.parametrize("module", [m for m in sorted(SECTIONS) if m.startswith("vu_lib.model.")])
def test_every_public_function_is_listed(module):
    mod = importlib.import_module(module)
    listed = set(_names(SECTIONS[module]))
    defined = {n for n, o in vars(mod).items()
               if not n.startswith("_") and inspect.isfunction(o) and o.__module__ == mod.__name__}
    assert defined <= listed, f"not in docs/api.md under {module}: {sorted(defined - listed)}"


def test_old_names_resolve_to_the_same_modules():
    for module in SECTIONS:
        m = re.search(r"also `([\w.]+)`", DOC[DOC.index(f"### `{module}`"):].split("\n")[0])
        if m:
            assert importlib.import_module(m.group(1)) is importlib.import_module(module)


def test_model_methods_are_documented():
    from vu_lib.model.model import Model

    for name in ("results", "prognos", "nyckeltal", "variance", "transfers", "bridge", "netting",
                 "forandring_av_medel", "at", "warm"):
        assert f"m.{name}(" in DOC
        doc = getattr(Model, name).__doc__ or ""
        assert doc.strip(), f"Model.{name} has no docstring"
    for name in ("results", "prognos", "nyckeltal", "variance", "transfers", "bridge"):
        assert "Returns" in getattr(Model, name).__doc__, f"Model.{name}: the docstring names no columns"
