"""Loading the Dataset (vu_lib.data): aggregation, signs, sources, the sample, caching.

Expected ledger rows are worked out by hand from tests/fixtures/exports/huvudbok_2026.csv
with the kontoplan of params/registry.yaml (3800-3849 ersattning, 4000-4999
ovrig_kostnad, 5000-5999 personal; KOMPLEMENT 4600-4649 overforing). Revenue is
booked as credit (negative) and given its natural, positive sign.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from conftest import EXPORTS, TODAY
from vu_lib.data import dataset as data_mod
from vu_lib.data import sample as sample_mod
from vu_lib.data import store as store_mod
from vu_lib.data.dataset import load_dataset, resolve_store, sample_store
from vu_lib.data.store import ingest_files, store_fingerprint

FIXTURES = [EXPORTS / n for n in ("huvudbok_2026.csv", "volymer_2026.csv", "bemanning_2026.csv", "medel.csv")]

EXPECTED_LEDGER = [
    # period, kodtyp, vu, kluster, enhet, kontoslag, belopp
    ("2026-01", "ID", "AN-OMR-NV", "hemtjanst", "411110", "ersattning", 1183333.33),
    ("2026-01", "ID", "AN-OMR-NV", "hemtjanst", "411110", "ovrig_kostnad", 45210.50),
    ("2026-01", "ID", "AN-OMR-NV", "hemtjanst", "411110", "personal", 812450.00),
    ("2026-01", "ID", "AN-VB", "demens", "415210", "personal", 1250000.00),
    ("2026-01", "KOMPLEMENT", "AN-OMR-NV", "hemtjanst", "411110", "overforing", 1183333.33),
    ("2026-02", "ID", "AN-OMR-NV", "hemtjanst", "411110", "ersattning", 1183333.33),
    ("2026-02", "ID", "AN-OMR-NV", "hemtjanst", "411110", "personal", 810100.25),  # 798 100,25 + 12 000
    ("2026-02", "KOMPLEMENT", "AN-OMR-NV", "hemtjanst", "411110", "overforing", 1183333.33),
]


@pytest.fixture
def store(tmp_path, params) -> Path:
    path = tmp_path / "vu.duckdb"
    ingest_files(FIXTURES, path, params=params, today=TODAY)
    return path


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    monkeypatch.setattr(data_mod, "_CACHE", {})


def test_ledger_is_aggregated_with_units_and_natural_signs(store, params):
    ds = load_dataset(store, params=params)
    cols = ["period", "kodtyp", "vu", "kluster", "enhet", "kontoslag", "belopp"]
    got = [tuple(r) for r in ds.ledger[cols].itertuples(index=False)]
    assert sorted(got) == sorted(EXPECTED_LEDGER)
    assert list(ds.ledger.columns) == ["period", "ar", "manad", "kodtyp", "vu", "kluster", "enhet", "kontoslag",
                                       "belopp"]
    assert ds.ledger["ar"].tolist() == [2026] * 8
    assert sorted(set(ds.ledger["manad"])) == [1, 2]
    assert str(ds.ledger["ar"].dtype) == "int64" and str(ds.ledger["belopp"].dtype) == "float64"
    assert ds.perioder == ["2026-01", "2026-02"] and ds.senaste_period == "2026-02"


def test_volymer_bemanning_medel_frames(store, params):
    ds = load_dataset(store, params=params)
    vol = ds.volymer
    assert list(vol.columns) == ["period", "ar", "manad", "vu", "kluster", "enhet", "matt", "utforare", "varde"]
    row = vol[(vol["period"] == "2026-01") & (vol["matt"] == "utforda_timmar") & (vol["utforare"] == "leanlink")]
    assert row["varde"].tolist() == [18412.5]
    assert vol.loc[vol["matt"] == "budget_timmar", "utforare"].tolist() == [""]
    bem = ds.bemanning
    assert list(bem.columns) == ["period", "ar", "manad", "vu", "kluster", "enhet", "utbildningsniva", "arsarbetare"]
    assert set(zip(bem["vu"], bem["kluster"], bem["enhet"])) == {("AN-OPPNA", "ovriga", "414210")}  # Demenscenter
    assert sorted(bem["arsarbetare"]) == [2.0, 12.4, 12.6]
    med = ds.medel
    assert list(med.columns) == ["id", "period", "ar", "manad", "vu", "typ", "belopp", "beskrivning",
                                 "aterrapporteringskrav", "aterrapportering_senast"]
    assert med[["id", "belopp", "aterrapportering_senast"]].values.tolist() == [
        ["MED-2026-01", 850000.0, "2027-01-31"], ["MED-2026-02", -120000.0, ""]]
    assert ds.loads["filnamn"].tolist() == [p.name for p in FIXTURES]


def test_provenance(store, params):
    ds = load_dataset(store, params=params)
    assert ds.fingerprint == store_fingerprint(store)
    assert ds.source == f"lager: {store}"


def test_store_from_environment(store, params, monkeypatch):
    monkeypatch.setenv("VU_STORE", str(store))
    assert resolve_store(None, params) == (store, f"lager: {store}")
    assert load_dataset(params=params).fingerprint == store_fingerprint(store)


def test_frames_are_copies_and_loads_are_cached(store, params, monkeypatch):
    reads = []
    real_read = data_mod._read
    monkeypatch.setattr(data_mod, "_read", lambda *a: reads.append(a) or real_read(*a))
    first = load_dataset(store, params=params)
    first.ledger.loc[:, "belopp"] = 0.0
    second = load_dataset(store, params=params)
    assert len(reads) == 1
    assert second.ledger["belopp"].sum() == pytest.approx(sum(r[-1] for r in EXPECTED_LEDGER))
    # new data: new fingerprint, read again
    extra = EXPORTS.parent / "exports" / "huvudbok_cp1252.csv"
    ingest_files([extra], store, params=params, today=TODAY)
    third = load_dataset(store, params=params)
    assert len(reads) == 2
    assert "2026-03" in third.perioder


# =========================================================================== the embedded sample
def _fake_sample(monkeypatch, tmp_path, delay: float = 0.0) -> Path:
    """Point the sample machinery at tmp_path with the fixtures as 'sample'."""
    calls = tmp_path / "anrop"
    calls.mkdir()

    def write_sample(out_dir: Path) -> list[Path]:
        (calls / str(os.getpid())).touch()
        time.sleep(delay)
        out_dir.mkdir(parents=True, exist_ok=True)
        return [Path(shutil.copy(p, out_dir)) for p in FIXTURES]

    monkeypatch.setattr(data_mod, "SAMPLE_ROOT", tmp_path / "exempel")
    monkeypatch.setattr(sample_mod, "write_sample", write_sample)
    monkeypatch.setattr(sample_mod, "SAMPLE_VERSION", "test-1")
    return calls


def test_missing_or_empty_store_gives_the_sample(tmp_path, params, monkeypatch):
    _fake_sample(monkeypatch, tmp_path)
    ds = load_dataset(tmp_path / "saknas.duckdb", params=params)
    assert ds.source == "exempeldata"
    assert len(ds.ledger) == len(EXPECTED_LEDGER)
    built = data_mod.sample_store_path(params)
    assert built.parent.parent == tmp_path / "exempel" and built.parent.name.startswith("test-1-")
    assert ds.fingerprint == store_fingerprint(built)
    assert not (tmp_path / "saknas.duckdb").exists()
    # a store with the schema but no loads counts as empty too
    empty = tmp_path / "tom.duckdb"
    con = duckdb.connect(str(empty))
    store_mod._create_schema(con)
    con.close()
    assert load_dataset(empty, params=params).source == "exempeldata"


def _build_in_child(queue) -> None:
    queue.put(str(sample_store()))


def test_parallel_processes_build_the_sample_once(tmp_path, params, monkeypatch):
    calls = _fake_sample(monkeypatch, tmp_path, delay=0.3)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_build_in_child, args=(queue,)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    paths = {queue.get(timeout=5) for _ in procs}
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert paths == {str(data_mod.sample_store_path(params))}
    assert len(list(calls.iterdir())) == 1, "the sample was generated more than once"
    assert [p.name for p in (tmp_path / "exempel").iterdir() if not p.name.endswith(".lock")] == [data_mod.sample_store_path(params).parent.name]


def test_the_real_sample_passes_validation_and_loads(tmp_path, params, monkeypatch):
    monkeypatch.setattr(data_mod, "SAMPLE_ROOT", tmp_path / "exempel")
    ds = load_dataset(tmp_path / "saknas.duckdb", params=params)
    assert ds.source == "exempeldata"
    assert ds.perioder[0] == "2023-01" and ds.senaste_period == "2026-10"
    assert set(ds.ledger["vu"]) == set(params.vu_ids(include_separata=True))
    assert (ds.ledger["vu"] != "").all() and (ds.ledger["kontoslag"] != "okant").all()


# =========================================================================== speed
def test_a_big_store_loads(store, params):
    """5 million ledger rows (added with SQL) aggregate to the 48 months (speed: benchmarks/bench_model.py)."""
    periods = [f"{y}-{m:02d}" for y in range(2023, 2027) for m in range(1, 13)]
    con = duckdb.connect(str(store))
    con.execute(f"""
        INSERT INTO huvudbok
        SELECT 1, {periods}[1 + i % 48], 'ID', ['411110', '412110', '415210', '421110', '424310'][1 + i % 5],
               ['5011', '4010', '3810', '6110'][1 + (i // 48) % 4], 'V', (i % 100000) / 100, ''
        FROM range(5000000) t(i)""")
    con.close()
    load_dataset(store, params=params)  # warm-up (imports, first connection)
    data_mod._CACHE.clear()
    t0 = time.perf_counter()
    ds = load_dataset(store, params=params)
    elapsed = time.perf_counter() - t0
    # 2023-01 .. 2026-12 from the generated rows (periods are not checked by this shortcut)
    assert ds.perioder[0] == "2023-01" and len(ds.perioder) == 48
    print(f"load_dataset, 5 000 009 ledger rows: {elapsed:.3f} s")


def test_codes_unknown_to_the_registry_are_kept_with_a_warning(store, params):
    """E.g. a unit removed from params/registry.yaml after its rows were loaded."""
    con = duckdb.connect(str(store))
    con.execute("INSERT INTO huvudbok VALUES (1, '2026-01', 'ID', '499999', '5011', 'X', 100.00, '')")
    con.close()
    with pytest.warns(UserWarning, match="koder som inte finns i params/registry.yaml"):
        ds = load_dataset(store, params=params)
    row = ds.ledger[ds.ledger["vu"] == ""]
    assert row[["period", "kodtyp", "kluster", "enhet", "kontoslag", "belopp"]].values.tolist() == [
        ["2026-01", "ID", "", "", "personal", 100.0]]
