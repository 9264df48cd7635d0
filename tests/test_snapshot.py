"""One run, one data version: an ingest during ``vu run`` changes none of that run's reports.

The batch reads a snapshot of the store taken when it starts (a hard link, see
vu_lib.data.store.snapshot); an ingest writes a new store file and renames it
into place, so it neither waits for the batch nor changes what the batch reads.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vu_lib.data.store import snapshot, store_fingerprint

VU = Path(sys.executable).parent / "vu"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("ogonblick")
    ex = root / "ex"
    subprocess.run([str(VU), "sample", "--out", str(ex)], check=True, capture_output=True)
    store = root / "lager" / "vu.duckdb"
    subprocess.run([str(VU), "ingest", *map(str, sorted(ex.iterdir())), "--store", str(store)],
                   check=True, capture_output=True)
    return root, ex, store


def _changed_ledger(ex: Path, dest: Path) -> Path:
    """huvudbok_2026.csv with one more öre on its first row: a new version of the data."""
    lines = (ex / "huvudbok_2026.csv").read_bytes().split(b"\r\n")
    cells = lines[1].split(b";")
    cells[5] = cells[5][:-1] + bytes([cells[5][-1] ^ 1])  # last digit of the amount, 0<->1, 2<->3, ...
    lines[1] = b";".join(cells)
    dest.write_bytes(b"\r\n".join(lines))
    return dest


def test_snapshot_keeps_its_version_while_the_store_moves_on(sample_store, tmp_path):
    root, ex, store = sample_store
    before = store_fingerprint(store)
    with snapshot(store) as snap:
        assert snap != store and snap.name == store.name and snap.parent.name.startswith(".vu-ogonblick-")
        assert store_fingerprint(snap) == before
        new = _changed_ledger(ex, tmp_path / "huvudbok_2026.csv")
        subprocess.run([str(VU), "ingest", str(new), "--store", str(store)], check=True, capture_output=True,
                       timeout=300)
        after = store_fingerprint(store)
        assert after != before
        assert store_fingerprint(snap) == before  # the batch still reads the version it started with
    assert not snap.parent.exists()
    # put the original back for the other test
    subprocess.run([str(VU), "ingest", str(ex / "huvudbok_2026.csv"), "--store", str(store)], check=True,
                   capture_output=True, timeout=300)
    assert store_fingerprint(store) == before


@pytest.mark.slow
def test_ingest_during_a_batch_gives_one_fingerprint_on_all_its_reports(sample_store, tmp_path):
    root, ex, store = sample_store
    before = store_fingerprint(store)
    out = tmp_path / "rapporter"
    run = subprocess.Popen([str(VU), "run", "--vu", "AN-VB", "AN-OPPNA", "--period", "2026-10", "--store", str(store),
                            "--out", str(out), "--to", "html", "--jobs", "1"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    folder = out / "2026-10"
    deadline = time.monotonic() + 600
    while not [p for p in folder.glob("*.html") if p.name != "index.html"]:  # the first report is out
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.2)
    new = _changed_ledger(ex, tmp_path / "huvudbok_2026.csv")
    t = time.monotonic()
    ing = subprocess.run([str(VU), "ingest", str(new), "--store", str(store)], capture_output=True, text=True,
                         timeout=300)
    ingest_seconds = time.monotonic() - t
    assert ing.returncode == 0, ing.stderr
    stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stdout + stderr
    after = store_fingerprint(store)
    assert after != before
    assert run.returncode == 0
    stamped = {}
    for name in ("AN-VB", "AN-OPPNA"):
        html = (folder / f"{name}.html").read_text(encoding="utf-8")
        stamped[name] = set(re.findall(r"\b[0-9a-f]{16}\b", html)) & {before, after}
    assert stamped == {"AN-VB": {before}, "AN-OPPNA": {before}}, stamped
    log = json.loads((folder / "korlogg.json").read_text(encoding="utf-8"))
    assert log["indata"]["data_fingeravtryck"] == before
    assert not list(store.parent.glob(".vu-ogonblick-*"))
    print(f"\ningest under pågående körning: {ingest_seconds:.1f} s")
    # put the original back
    subprocess.run([str(VU), "ingest", str(ex / "huvudbok_2026.csv"), "--store", str(store)], check=True,
                   capture_output=True, timeout=300)
