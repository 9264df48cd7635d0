"""vu_lib.model.disk_cache: the model's tables on disk are the tables a fresh computation gives, and never stale.

What is checked, and how it could fail:

* a hit gives, for every all-period table and for the analyst's frames, exactly the frames
  a fresh computation with the disk cache off gives (``assert_frame_equal``, dtypes included);
  and a hit reads neither the store nor recomputes (``load_dataset`` is made to fail);
* a changed store (one more load in its log), changed params (another KS index for 2026)
  or changed code (another source hash) give another key, so the old file is not used;
* a file that is not what it claims (wrong key inside, or not a pickle) is a miss and is removed;
* ``VU_MODEL_CACHE=0`` writes nothing.
"""
from __future__ import annotations

import shutil
import pandas as pd
import pytest

from vu_lib.core.params import load_params
from vu_lib.data.dataset import load_dataset, resolve_store
from vu_lib.model import disk_cache
from vu_lib.model import model as model_mod
from vu_lib.model.model import Model, forget_opened, open_model

ALL_TABLES = {"monthly_ledger", "monthly_volumes", "level:vu", "level:kluster", "level:enhet", "level:namnd",
              "level:niva1", "netting", "forecast", "variance", "nyckeltal", "medel", "medel_summary"}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "modellcache"
    monkeypatch.setenv("VU_MODEL_CACHE", str(d))
    forget_opened()
    yield d
    forget_opened()


@pytest.fixture
def store(tmp_path):
    """A missing store: open_model gives the embedded sample (its fingerprint is the sample store's)."""
    return tmp_path / "tom.duckdb"


def _files(d):
    return sorted(d.glob("modell-*.pickle"))


def test_a_hit_gives_the_frames_of_a_fresh_computation(cache, store, monkeypatch):
    params = load_params()
    first = open_model(store, params=params)          # miss: computes every table and writes them
    assert len(_files(cache)) == 1 and ALL_TABLES <= set(first.built)

    forget_opened()                                  # a new process, as far as open_model knows

    def no_store(*a, **k):
        raise AssertionError("a hit must not read the store")

    monkeypatch.setattr("vu_lib.data.dataset.load_dataset", no_store)
    hit = open_model(store, params=params)
    assert hit is not first and set(hit.built) == set(first.built)  # everything there before any call
    monkeypatch.undo()

    monkeypatch.setenv("VU_MODEL_CACHE", "0")
    fresh = Model(params, load_dataset(store, params=params))
    fresh.warm()
    assert set(fresh.built) == set(hit.built)
    for name in sorted(hit.built):
        a, b = hit._built[name], fresh._built[name]
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        elif isinstance(a, dict):  # monthly_volumes: a dict of frames
            assert a.keys() == b.keys()
            for k in a:
                pd.testing.assert_frame_equal(a[k], b[k], check_exact=True)
        else:
            assert a == b
    for frame in ("results", "prognos", "nyckeltal", "variance"):
        pd.testing.assert_frame_equal(getattr(hit, frame)(vu="AN-VB"), getattr(fresh, frame)(vu="AN-VB"))
    pd.testing.assert_frame_equal(hit.dataset.ledger, fresh.dataset.ledger)
    assert (hit.fingerprint, hit.source, hit.period.month) == (fresh.fingerprint, fresh.source, fresh.period.month)


def test_changed_params_or_code_or_data_give_another_key(cache, monkeypatch):
    params = load_params()
    base = disk_cache.cache_key(params, "a15efe2258420878", "exempeldata")
    # the same inputs, the same key (a new process computes the same name)
    assert disk_cache.cache_key(params, "a15efe2258420878", "exempeldata") == base
    # another data fingerprint, or the same data under another label
    assert disk_cache.cache_key(params, "a15efe2258420879", "exempeldata") != base
    assert disk_cache.cache_key(params, "a15efe2258420878", "lager: data/vu.duckdb") != base
    # params changed in memory (the 2026 wage increase one point higher): same files, other content
    from modelkit import with_year

    ix = params.ar[2026].index.model_dump()
    changed = with_year(params, 2026, index={**ix, "lon": (ix["lon"] or 0) + 0.01})
    assert disk_cache.cache_key(changed, "a15efe2258420878", "exempeldata") != base
    # another version of the code (any .py under vu_lib changed)
    monkeypatch.setattr(disk_cache, "source_hash", lambda *a, **k: "0" * 16)
    assert disk_cache.cache_key(params, "a15efe2258420878", "exempeldata") != base


def test_a_changed_store_is_not_served_from_the_cache(cache, tmp_path):
    """A store with one more load (the fixture ledger for 2026) has another fingerprint: the cache misses."""
    from conftest import EXPORTS, TODAY

    from vu_lib.data.store import ingest_files

    params = load_params()
    sample_path, _ = resolve_store(tmp_path / "tom.duckdb", params)
    store = tmp_path / "vu.duckdb"
    shutil.copy(sample_path, store)
    before = open_model(store, params=params)
    assert len(_files(cache)) == 1
    ingest_files([EXPORTS / "huvudbok_2026.csv"], store, params=params, today=TODAY)
    forget_opened()
    after = open_model(store, params=params)
    assert after.fingerprint != before.fingerprint
    assert len(_files(cache)) == 2  # computed and written under its own key
    fresh = Model(params, load_dataset(store, params=params))
    pd.testing.assert_frame_equal(after.results(vu="AN-VB", year=2026), fresh.results(vu="AN-VB", year=2026))


def test_a_file_that_is_not_what_it_claims_is_a_miss_and_is_removed(cache):
    params = load_params()
    fp, src = "0123456789abcdef", "testdata"
    path = disk_cache.path_for(disk_cache.cache_key(params, fp, src))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"inte en pickle")
    assert disk_cache.read(params, fp, src) is None and not path.exists()

    import pickle

    path.write_bytes(pickle.dumps({"key": "annan", "parts": {}, "dataset": None, "tables": {}}))
    assert disk_cache.read(params, fp, src) is None and not path.exists()


def test_turned_off_writes_nothing(tmp_path, monkeypatch, store):
    monkeypatch.setenv("VU_MODEL_CACHE", "0")
    monkeypatch.setattr(disk_cache, "DEFAULT_DIR", tmp_path / "standard")
    forget_opened()
    m = open_model(store)
    assert disk_cache.cache_dir() is None and not (tmp_path / "standard").exists()
    assert m.built == []  # computed lazily, as without any cache
    forget_opened()


class Fake:
    """Stands for a dataset: only its fingerprint and source are read when writing."""

    def __init__(self, fp):
        self.fingerprint, self.source = fp, "testdata"


def test_keeps_at_most_KEEP_files(cache, monkeypatch):
    monkeypatch.setattr(disk_cache, "KEEP", 2)

    params = load_params()
    for i in range(4):
        disk_cache.write(params, Fake(f"{i:016x}"), {})
    assert len(_files(cache)) == 2
    assert disk_cache.read(params, f"{3:016x}", "testdata") is not None  # the newest is kept
