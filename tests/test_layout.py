"""The package layout: imports run one way (core -> data -> model -> report -> publish -> cli), no circles.

Every ``import`` and ``from ... import`` in ``vu_lib`` is read with :mod:`ast`, function-level
ones included (a lazy import is still a dependency), and turned into an edge between modules.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "vu_lib"
LAYERS = ["core", "data", "model", "report", "publish", "cli"]
#: modules outside the layers: the package's own entry points
TOP = {"vu_lib", "vu_lib._compat"}
#: The one import against the pipeline, and why. The embedded sample plays SoF's and Leanlink's
#: systems: it books the monthly transfers that the compensation rules prescribe, so writing it
#: needs those rules (pure functions of params). Nothing else in the data stage uses the model.
ALLOWED = {
    ("vu_lib.data.sample", "vu_lib.model"): "the sample books transfers by the model's rules",
    ("vu_lib.data.sample", "vu_lib.model.compensation"): "the sample books transfers by the model's rules",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The vu_lib module that ``name`` (maybe ``pkg.module.attribute``) refers to."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(mod: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [f"{prefix}.{a.name}" for a in node.names] + [prefix]
        for t in targets:
            if t.split(".")[0] != "vu_lib":
                continue
            r = _resolve(t, modules)
            if r and r != mod:
                found.add(r)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: _imports(m, p, modules) for m, p in modules.items()}


def _layer(mod: str) -> int | None:
    if mod in TOP:
        return None
    return LAYERS.index(mod.split(".")[1])


def test_every_module_is_in_a_layer():
    for mod in _modules():
        assert mod in TOP or mod.split(".")[1] in LAYERS, f"{mod} ligger utanför lagren {LAYERS}"


def test_imports_run_one_way():
    wrong = []
    for mod, deps in _graph().items():
        lm = _layer(mod)
        if lm is None:
            continue
        for d in deps:
            ld = _layer(d)
            if ld is not None and ld > lm and (mod, d) not in ALLOWED:
                wrong.append(f"{mod} -> {d} ({LAYERS[lm]} importerar {LAYERS[ld]})")
    assert not wrong, "imports against the pipeline:\n" + "\n".join(sorted(wrong))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    graph = {m: {d for d in deps if d not in TOP} for m, deps in _graph().items() if m not in TOP}
    # a package __init__ that re-exports its own modules lazily is not a circle of its modules
    for m in graph:
        graph[m] = {d for d in graph[m] if not (d.startswith(m + ".") and m.count(".") == 1)}
    cycles = _cycles(graph)
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checker_sees_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("old, new", [
    ("vu_lib.results", "vu_lib.model.results"), ("vu_lib.index", "vu_lib.model.index"),
    ("vu_lib.params", "vu_lib.core.params"), ("vu_lib.periods", "vu_lib.model.periods"),
    ("vu_lib.compensation", "vu_lib.model.compensation"), ("vu_lib.schablon", "vu_lib.model.schablon"),
    ("vu_lib.transfers", "vu_lib.model.transfers"), ("vu_lib.nyckeltal", "vu_lib.model.nyckeltal"),
    ("vu_lib.budget", "vu_lib.model.budget"),
])
def test_old_dotted_names_are_the_same_modules(old, new):
    import importlib

    assert importlib.import_module(old) is importlib.import_module(new)


def test_old_data_entry_point():
    from vu_lib.data import load_dataset
    from vu_lib.data.dataset import load_dataset as real

    assert load_dataset is real
