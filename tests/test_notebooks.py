"""vu_lib.publish.notebooks: stored notebooks carry no outputs; baselines live apart and match them.

The promise to analysts: running a report notebook in JupyterLab (Run All, autosave) leaves
``git status`` clean. JupyterLab saves through the ``pre_save_hook`` (strip_on_save), so
saving an executed notebook must give back exactly the stored file.
"""
from __future__ import annotations

import copy
import json

import nbformat
import pytest

from vu_lib.publish import notebooks as N

STORED = sorted(N.NOTEBOOKS_DIR.glob("*.ipynb"))


def _stored_text(nb: dict) -> str:
    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


@pytest.mark.parametrize("path", STORED, ids=lambda p: p.name)
def test_stored_notebooks_are_normalized(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert N.is_vu_notebook(nb)
    assert all(c.get("outputs", []) == [] for c in nb["cells"]), "notebooks/ lagras utan utdata"
    assert all(c.get("id") for c in nb["cells"]), "fasta cell-id:n, annars skriver JupyterLab nya"
    assert _stored_text(N.normalize(copy.deepcopy(nb))) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", STORED, ids=lambda p: p.name)
def test_saving_an_executed_notebook_gives_back_the_stored_file(path):
    """The baseline is the notebook executed; saved through the hook it is byte-identical to notebooks/."""
    executed = json.loads((N.BASELINE_DIR / path.name).read_text(encoding="utf-8"))
    assert any(c.get("outputs") for c in executed["cells"])
    executed["metadata"]["language_info"] = {"name": "python", "version": "3.11.7"}  # as JupyterLab adds
    executed["cells"][0]["metadata"]["execution"] = {"iopub.status.busy": "2026-11-29T20:00:00Z"}
    model = {"type": "notebook", "content": executed}
    N.strip_on_save(model, path=f"notebooks/{path.name}")
    assert _stored_text(model["content"]) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", STORED, ids=lambda p: p.name)
def test_baselines_have_the_notebooks_cells(path):
    stored = json.loads(path.read_text(encoding="utf-8"))
    baseline = json.loads((N.BASELINE_DIR / path.name).read_text(encoding="utf-8"))
    assert N.sources(baseline) == N.sources(stored), (
        f"tests/notebooks/{path.name} är inaktuell: kör `make refresh-notebooks` och granska diffen")


def test_other_notebooks_are_saved_untouched():
    nb = {"cells": [{"cell_type": "code", "source": "1", "outputs": [{"output_type": "stream"}],
                     "execution_count": 3, "metadata": {}}], "metadata": {"language_info": {"name": "python"}}}
    model = {"type": "notebook", "content": copy.deepcopy(nb)}
    N.strip_on_save(model, path="mina/egna.ipynb")
    assert model["content"] == nb
    N.strip_on_save({"type": "file", "content": "text"}, path="x.txt")  # not a notebook: nothing happens


def test_analyst_cells_are_removed_from_reports_and_show_frames():
    """Every cell that shows a frame to the analyst is tagged remove-cell and calls the model."""
    found = 0
    for path in STORED:
        for c in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            src = "".join(c["source"])
            if "analys" in c.get("metadata", {}).get("tags", []):
                found += 1
                assert "remove-cell" in c["metadata"]["tags"] and src.startswith("#| include: false")
                assert "m." in src
    assert found >= 10


def test_parameters_are_explained_in_the_parameters_cell():
    for path in STORED:
        nb = json.loads(path.read_text(encoding="utf-8"))
        first = nb["cells"][0]
        assert "parameters" in first["metadata"]["tags"]
        assert "".join(first["source"]).startswith("# Parametrar")
        assert not any("".join(c["source"]).lstrip().startswith("<!--") for c in nb["cells"])


def test_jupyter_config_installs_the_hook():
    from vu_lib.core.params import PROJECT_ROOT

    cfg = json.loads((PROJECT_ROOT / "jupyter-config/jupyter_server_config.d/vu.json").read_text())
    assert cfg["ContentsManager"]["pre_save_hook"] == "vu_lib.publish.notebooks.strip_on_save"
    from jupyter_server.services.contents.filemanager import AsyncFileContentsManager

    mgr = AsyncFileContentsManager(pre_save_hook=cfg["ContentsManager"]["pre_save_hook"])
    assert mgr.pre_save_hook is N.strip_on_save
