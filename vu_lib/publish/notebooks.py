"""The report notebooks as stored: analysts run them, tests compare against separate baselines.

``notebooks/*.ipynb`` are stored **without outputs**: what an analyst runs in JupyterLab.
Running one there never changes a tracked file: :func:`strip_on_save`, a Jupyter
``pre_save_hook`` installed with the project (``jupyter-config/``), stores a vu notebook
as :func:`normalize` makes it (no outputs, no execution counts, canonical metadata), so
*Run All* followed by the autosave writes the very bytes that are in git.

The regression baselines (the same notebooks with their outputs for the default
parameters) live apart, in ``tests/notebooks/``; ``pytest --nbval`` re-runs those and
fails when any output differs. When a change of figures is intended, refresh them on
purpose and review the diff::

    make refresh-notebooks     # = python -m vu_lib.publish.notebooks refresh
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
BASELINE_DIR = PROJECT_ROOT / "tests" / "notebooks"
#: Notebook metadata key that marks a vu report notebook (only those are stripped on save).
MARKER = "vu"
#: The metadata a stored vu notebook keeps (everything else, e.g. language_info, is dropped).
KEEP_METADATA = ("kernelspec", MARKER)
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def is_vu_notebook(nb: dict) -> bool:
    """Whether ``nb`` (a notebook dict) is one of vu's report notebooks."""
    return isinstance(nb.get("metadata", {}).get(MARKER), dict)


def normalize(nb: dict) -> dict:
    """``nb`` as it is stored: no outputs, no execution counts, canonical metadata (in place; returned)."""
    meta = nb.setdefault("metadata", {})
    for k in list(meta):
        if k not in KEEP_METADATA:
            del meta[k]
    meta["kernelspec"] = dict(KERNELSPEC)
    for cell in nb.get("cells", []):
        cmeta = cell.setdefault("metadata", {})
        for k in ("execution", "collapsed", "scrolled", "jupyter", "ExecuteTime", "trusted"):
            cmeta.pop(k, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def strip_on_save(model: dict, path: str = "", contents_manager=None, **kwargs) -> None:
    """Jupyter ``pre_save_hook``: a vu report notebook is saved as :func:`normalize` makes it.

    Other notebooks are saved untouched.
    """
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    if is_vu_notebook(model["content"]):
        normalize(model["content"])


def refresh(source: Path, target: Path | None = None, timeout: int = 600) -> Path:
    """Execute the stored notebook ``source`` with its default parameters; write the baseline.

    The baseline (default ``tests/notebooks/<name>``) holds the outputs ``pytest --nbval``
    compares against, and is signed so that JupyterLab shows it as trusted.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbformat.sign import NotebookNotary

    from vu_lib.core.io import atomic_write_text

    source = Path(source)
    target = Path(target) if target is not None else BASELINE_DIR / source.name
    nb = nbformat.read(source, as_version=4)
    normalize(nb)
    os.environ["VU_BATCH"] = "1"  # the kernel inherits it: no JupyterLab-only outputs in the baseline
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(target.parent)}}).execute()
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    nb.metadata.pop("language_info", None)
    atomic_write_text(target, nbformat.writes(nb) + "\n")
    NotebookNotary().sign(nb)
    return target


def sources(nb: dict) -> list[tuple[str, str, list[str]]]:
    """Each cell's type, source and tags: what a baseline must share with its notebook."""
    out = []
    for c in nb.get("cells", []):
        src = c.get("source", "")
        out.append((c.get("cell_type"), src if isinstance(src, str) else "".join(src),
                    sorted(c.get("metadata", {}).get("tags", []))))
    return out


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("refresh", "normalize"):
        print("användning: python -m vu_lib.publish.notebooks refresh [NOTEBOOK.ipynb ...]\n"
              "            python -m vu_lib.publish.notebooks normalize [NOTEBOOK.ipynb ...]", file=sys.stderr)
        return 2
    names = [Path(a) for a in argv[1:]] or sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    for path in names:
        if argv[0] == "refresh":
            print(f"kör {path.name} → {BASELINE_DIR.relative_to(PROJECT_ROOT) / path.name} ...", flush=True)
            refresh(path)
        else:
            import nbformat

            from vu_lib.core.io import atomic_write_text

            nb = nbformat.read(path, as_version=4)
            atomic_write_text(path, nbformat.writes(normalize(nb)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
