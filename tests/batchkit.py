"""Helpers for the batch tests (test_batch, test_plan, test_cache, test_execute, test_outputs).

The end-to-end tests execute the tiny notebooks in ``tests/fixtures/batch/``
with ``--jobs 2`` and a fake renderer (the real one is tested in test_render);
the zygote preloads only ipykernel so a batch starts quickly.

Usage::

    from batchkit import NBS, isolated_jupyter, run, statuses  # noqa: F401 (isolated_jupyter: autouse fixture)

    rc, log = run(tmp_path / "reports", "--period", "2026-10", "--vu", "AN-VB")
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from vu_lib.publish import batch
from vu_lib.cli import build_parser
from vu_lib.publish.plan import NotebookSet

FIXTURES = Path(__file__).parent / "fixtures" / "batch"
NBS = NotebookSet(directory=FIXTURES)
NINE = ["AN-OMR-NV", "AN-OMR-NO", "AN-OMR-CN", "AN-OPPNA", "AN-VB",
        "SON-OPPNA-BUF", "SON-OPPNA-VUX", "SON-BO-BU", "SON-BO-VUX"]
AN = NINE[:5]
FAST = {"preload_data": False,
        "zygote_preload": ["IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                           "ipykernel.debugger"]}


class FakeRenderer:
    """Writes a small HTML page and a fake PDF; records the meta it got."""

    calls: list = []

    def render_html(self, nb_path, out_path, meta):
        FakeRenderer.calls.append(("html", Path(nb_path).name, dict(meta)))
        Path(out_path).write_text(f"<html><body><h1>{meta['titel']}</h1>{meta['vu']}</body></html>", encoding="utf-8")

    def render_pdf(self, nb_path, out_path, meta):
        FakeRenderer.calls.append(("pdf", Path(nb_path).name, dict(meta)))
        Path(out_path).write_bytes(b"%PDF-1.7\n% fake\n")


class HalfRenderer(FakeRenderer):
    """Writes half a page straight into the target, then fails."""

    def render_html(self, nb_path, out_path, meta):
        Path(out_path).write_text("<html><body>halv", encoding="utf-8")
        raise RuntimeError("renderaren dog mitt i")


@pytest.fixture(autouse=True)
def isolated_jupyter(tmp_path, monkeypatch):
    """Signatures go to a private notary database, not the user's (autouse where imported)."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))


def run(out: Path, *argv: str, renderer=FakeRenderer, store: Path | None = None):
    """``vu run --jobs 2`` of the fixture notebooks into ``out``; returns the exit code and the run log."""
    args = build_parser().parse_args(
        ["run", "--jobs", "2", "--out", str(out), "--store", str(store or out / "inget-lager.duckdb"), *argv])
    rc = batch.cli_run(args, notebooks=NBS, renderer_factory=renderer, batch_options=FAST)
    log = json.loads((out / (args.period or "2026-10") / "korlogg.json").read_text(encoding="utf-8"))
    return rc, log


def statuses(log) -> dict:
    """``{job name: status}`` of a run log."""
    return {j["namn"]: j["status"] for j in log["jobb"]}
