"""What a batch publishes (vu_lib.outputs): atomic writes, Excel, index.html, run log, signed notebooks."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from batchkit import FIXTURES, NINE, FakeRenderer, HalfRenderer, isolated_jupyter, run, statuses  # noqa: F401
from vu_lib.publish import outputs


def test_excel_number_formats():
    f = outputs.excel_number_format
    assert f("kr", 1234) == '#,##0 "kr"'
    assert f("tkr", 1234567) == '#,##0, "tkr"'
    assert f("mnkr", 1.5e6) == '#,##0.0,, "mnkr"'
    assert f("pct", 0.5) == "0.0%"
    assert f("pct(2)", 0.5) == "0.00%"
    assert f("num(2)", 3.0) == "#,##0.00"
    assert f("+tkr", -5) == '+#,##0, "tkr";-#,##0, "tkr";#,##0, "tkr"'
    assert f("count", 12) == "#,##0"
    assert f("text", 12) is None and f("kr", "x") is None and f("kr", None) is None
    assert f(None, 3) == "#,##0" and f(None, 3.5) == "#,##0.00"


def test_atomic_write_keeps_old_file_on_error(tmp_path, monkeypatch):
    target = tmp_path / "index.html"
    target.write_text("gammal", encoding="utf-8")

    def boom(*a, **k):
        raise OSError("disken full")

    monkeypatch.setattr(outputs.os, "replace", boom)
    with pytest.raises(OSError):
        outputs.atomic_write_text(target, "ny")
    assert target.read_text(encoding="utf-8") == "gammal"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]  # no temporary file left


def test_tables_xlsx_is_written_atomically_and_only_with_tables(tmp_path, monkeypatch):
    path = tmp_path / "r.xlsx"
    assert outputs.write_tables_xlsx([], path) == 0 and not path.exists()
    path.write_bytes(b"gammal")

    def boom(*a, **k):
        raise OSError("disken full")

    monkeypatch.setattr(outputs.os, "replace", boom)
    with pytest.raises(OSError):
        outputs.write_tables_xlsx([{"name": "T", "columns": ["a"], "data": [{"a": 1}]}], path)
    assert path.read_bytes() == b"gammal" and [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]


def _exited_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_clean_stale_removes_only_dead_processes_temporaries(tmp_path):
    dead = _exited_pid()
    gone = [tmp_path / f".AN-VB.{dead}-123.tmp.html", tmp_path / f".AN-VB.{dead}.running.ipynb"]
    kept = [tmp_path / f".AN-VB.{os.getpid()}-1.tmp.html", tmp_path / outputs.running_path(tmp_path, "SON").name,
            tmp_path / "AN-VB.html", tmp_path / f".AN-VB.{os.getppid()}.running.ipynb"]
    for p in gone + kept:
        p.write_text("x", encoding="utf-8")
    outputs.clean_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in kept)
    assert outputs.tmp_name(tmp_path / "x.html").name.startswith(f".x.{os.getpid()}-")


def test_run_log_text():
    log = {"kommando": "vu run", "etikett": "2026-10", "period_etikett": "delår 3", "sekunder": 3.45,
           "indata": {"kodversion": "0.1.0"}, "parametrar": {"format": ["html"], "processer": 2},
           "jobb": [{"namn": "AN-VB", "status": "klar", "korning_sekunder": 2.0, "rendering_sekunder": {"html": 0.5}},
                    {"namn": "SON", "status": "oförändrad", "korning_sekunder": None, "fran_cache": True,
                     "senast_kord": "2026-11-01T10:20:30"},
                    {"namn": "AN", "status": "misslyckades", "fel": "ValueError: x\nrad 2"}]}
    text = outputs.render_log_text(log)
    assert "Rapporter för 2026-10 (delår 3)" in text and "Total tid 3,5 s" in text
    assert re.search(r"AN-VB\s+klar\s+2,0 s\s+0,5 s", text)
    assert "(körd 2026-11-01 10:20)" in text
    assert text.endswith("Fel:\n  AN:\n    ValueError: x\n    rad 2\n")


def test_failed_render_leaves_the_previous_report(tmp_path, capsys):
    out = tmp_path / "reports"
    rc, _ = run(out, "--period", "2026-10", "--vu", "AN-VB")
    assert rc == 0
    html = out / "2026-10" / "AN-VB.html"
    good = html.read_bytes()
    rc, log = run(out, "--period", "2026-10", "--vu", "AN-VB", "--force", renderer=HalfRenderer)
    assert rc == 1
    assert statuses(log) == {"AN-VB": "renderingsfel"}
    assert "renderaren dog mitt i" in log["jobb"][0]["fel"]
    assert html.read_bytes() == good
    assert not [p for p in html.parent.iterdir() if p.name.startswith(".AN-VB")]  # no temp files left
    # Not cached: the next run renders again.
    rc, log = run(out, "--period", "2026-10", "--vu", "AN-VB")
    assert rc == 0 and statuses(log) == {"AN-VB": "klar"}


def test_outputs_xlsx_index_signatures(tmp_path, capsys):
    from nbformat import read
    from nbformat.sign import NotebookNotary
    from openpyxl import load_workbook

    out = tmp_path / "reports"
    FakeRenderer.calls = []
    rc, log = run(out, "--period", "2026-10", "--namnd", "SON")
    assert rc == 0
    d = out / "2026-10"
    names = NINE[5:] + ["SON"]

    # The renderer got the report metadata.
    meta = {c[1]: c[2] for c in FakeRenderer.calls if c[0] == "html"}
    assert meta["SON-BO-BU.ipynb"]["titel"] == "Delårsuppföljning"
    assert meta["SON-BO-BU.ipynb"]["vu"] == "SON-BO-BU" and meta["SON-BO-BU.ipynb"]["period"] == "2026-10"
    assert meta["SON-BO-BU.ipynb"]["namnd"] == "Social- och omsorgsnämnden"
    assert meta["SON.ipynb"]["modellversion"] == "4.1"

    # Excel: one sheet per table after the contents sheet; numbers are numbers.
    wb = load_workbook(d / "SON-BO-BU.xlsx")
    assert wb.sheetnames == ["Innehåll", "SON-BO-BU ersättning"]
    ws = wb["SON-BO-BU ersättning"]
    assert [c.value for c in ws[1]] == ["Post", "Belopp", "Andel", "Timpris", "Antal brukare"]
    row = [c for c in ws[2]]
    assert row[1].value == 12345678 and row[1].data_type == "n" and row[1].number_format == '#,##0 "kr"'
    assert row[2].value == pytest.approx(0.875) and row[2].number_format == "0.0%"
    assert row[3].value == pytest.approx(512.25) and row[3].number_format == "#,##0.00"
    assert ws.cell(3, 2).value == pytest.approx(1763668.5)
    assert ws.cell(2, 5).value == 12 and ws.cell(3, 5).value == "<5"  # small counts masked as in the reports
    son = load_workbook(d / "SON.xlsx")
    assert son.sheetnames == ["Innehåll", "Resultat per VU", "Nyckeltal"]

    # index.html links every report and loads nothing from the network.
    index = (d / "index.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]+)"', index)
    for n in names:
        for f in (f"{n}.html", f"{n}.pdf", f"{n}.xlsx", f"notebooks/{n}.ipynb"):
            assert f in hrefs, f
    assert not re.search(r"https?://", index)
    assert "<script" not in index and 'lang="sv"' in index

    # Executed notebooks are signed (trusted in JupyterLab).
    notary = NotebookNotary()
    for n in names:
        nb = read(d / "notebooks" / f"{n}.ipynb", as_version=4)
        assert notary.check_signature(nb), n

    # The kernel was this environment's Python, working in the notebooks directory.
    nb = json.loads((d / "notebooks" / "SON-BO-BU.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert f"python {sys.executable}" in text and f"cwd {FIXTURES.resolve()}" in text
