"""Re-execute notebooks in place with their default parameters and sign them.

The notebooks in ``notebooks/`` are stored with their outputs for the default
parameters; ``pytest --nbval`` re-runs them and fails when any output differs,
so a changed figure is noticed. When a change is intended, refresh the stored
outputs on purpose and review the diff::

    make refresh-notebooks          # = python -m vu_lib.publish.notebooks_refresh notebooks/*.ipynb
"""
from __future__ import annotations

import sys
from pathlib import Path


def refresh(path: Path, timeout: int = 600) -> None:
    """Execute ``path`` top to bottom in its own directory, store the outputs, sign it."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.sign import NotebookNotary

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:  # keep the stored notebook free of volatile execution metadata
        cell.get("metadata", {}).pop("execution", None)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)
    NotebookNotary().sign(nb)


def main(argv: list[str]) -> int:
    if not argv:
        print("användning: python -m vu_lib.publish.notebooks_refresh NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    for name in argv:
        print(f"kör om {name} ...", flush=True)
        refresh(Path(name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
