"""vu_lib.model.model: the Model object, its frames, its tables built once, and open_model.

Numbers worked out by hand from the result rule (resultat = ersattning + medel +
ovrig_intakt − personal − ovrig_kostnad; _ack = Σ months 1..m).
"""
from __future__ import annotations

import pandas as pd
import pytest
from modelkit import L, make_dataset, params

from vu_lib.model import results as R
from vu_lib.model.ledger import Tables, as_tables
from vu_lib.model.model import RESULT_COLUMNS, Model, data_months, open_model
from vu_lib.model.periods import PeriodError


@pytest.fixture
def ds():
    """AN-VB, January–March 2026 (one unit 451110, Vårdboende Berga).

    Jan: ersättning 1000, personal 1200          -> −200
    Feb: ersättning 1000, personal 900, medel 50  -> +150, YTD −50
    Mar: ersättning 1000, personal 1000, övr k 30 -> −30,  YTD −80
    """
    return make_dataset(ledger=[
        L("2026-01", "AN-VB", "vb_berga", "451110", "ersattning", 1000),
        L("2026-01", "AN-VB", "vb_berga", "451110", "personal", 1200),
        L("2026-02", "AN-VB", "vb_berga", "451110", "ersattning", 1000),
        L("2026-02", "AN-VB", "vb_berga", "451110", "personal", 900),
        L("2026-02", "AN-VB", "vb_berga", "451110", "medel", 50),
        L("2026-03", "AN-VB", "vb_berga", "451110", "ersattning", 1000),
        L("2026-03", "AN-VB", "vb_berga", "451110", "personal", 1000),
        L("2026-03", "AN-VB", "vb_berga", "451110", "ovrig_kostnad", 30),
    ])


def _unit(p):
    """The first nivå 3 unit of AN-VB in the registry (the fixture books on it)."""
    vu = p.vu("AN-VB")
    return vu.enheter[0]


@pytest.fixture
def ds_vb(ds):
    p = params()
    e = _unit(p)
    led = ds.ledger.copy()
    led["kluster"] = e.kluster
    led["enhet"] = e.id_kod
    import dataclasses

    return dataclasses.replace(ds, ledger=led)


def test_results_frame_is_numeric_and_has_no_total_row(ds_vb):
    m = Model(params(), ds_vb, "2026-03")
    df = m.results(vu="AN-VB")
    assert list(df.columns) == RESULT_COLUMNS
    assert df["manad"].tolist() == [1, 2, 3]
    assert pd.api.types.is_integer_dtype(df["manad"]) and pd.api.types.is_float_dtype(df["resultat"])
    assert df["resultat"].tolist() == [-200, 150, -30]
    assert df["resultat_ack"].tolist() == [-200, -50, -80]
    # revenue YTD 1000 + 1050 + 1000 = 3050, cost 1200 + 900 + 1030 = 3130
    assert (df["intakter_ack"].iloc[-1], df["kostnad_ack"].iloc[-1]) == (3050, 3130)


def test_results_stop_at_the_report_period(ds_vb):
    m = Model(params(), ds_vb, "2026-02")
    df = m.results(vu="AN-VB")
    assert df["manad"].tolist() == [1, 2] and df["resultat_ack"].iloc[-1] == -50
    # another period of the same model: same tables, nothing rebuilt
    built = list(m.built)
    m3 = m.at("2026-03")
    assert m3.results(vu="AN-VB")["resultat_ack"].iloc[-1] == -80
    assert m3.built[: len(built)] == built and m3._built is m._built


def test_each_table_is_built_once_per_model(ds_vb, monkeypatch):
    p = params()
    m = Model(p, ds_vb, "2026-03")
    calls = []
    real = R.monthly_ledger.__wrapped__ if hasattr(R.monthly_ledger, "__wrapped__") else None
    assert real is None  # a plain function: the memo is the Model's, not a decorator's
    m.results(vu="AN-VB")
    m.results(vu="AN-VB", niva="enhet")
    first = m.get("monthly_ledger", lambda: calls.append("rebuilt"))
    assert calls == [] and isinstance(first, pd.DataFrame)
    assert m.built.count("monthly_ledger") == 1
    assert {"monthly_ledger", "level:vu", "level:enhet"} <= set(m.built)


def test_module_functions_keep_no_hidden_cache(ds_vb):
    """Given a bare Dataset, results() builds its tables and drops them; given a Model, reuses its own."""
    p = params()
    t1, t2 = as_tables(p, ds_vb), as_tables(p, ds_vb)
    assert t1 is not t2 and t1.built == []
    m = Model(p, ds_vb, "2026-03")
    assert as_tables(p, m) is m
    R.results(p, m, "vu")
    assert "level:vu" in m.built


def test_model_stands_where_a_dataset_is_expected(ds_vb):
    p = params()
    m = Model(p, ds_vb, "2026-03")
    assert isinstance(m, Tables)
    assert m.fingerprint == ds_vb.fingerprint and m.ledger is ds_vb.ledger
    pd.testing.assert_frame_equal(R.results(p, m, "vu"), R.results(p, ds_vb, "vu"))


def test_default_period_is_the_latest_delar(ds_vb):
    # data 2026-01 .. 2026-03; params/modell/2026.yaml has delår cut-offs [3, 8, 10]:
    # the latest cut-off at or before March is March itself (Delår 1)
    assert data_months(ds_vb) == ("2026-01", "2026-03")
    m = Model(params(), ds_vb)
    assert (m.period.month, m.period.kind, m.period.delar_nr) == ("2026-03", "delar", 1)


@pytest.mark.parametrize("period", ["2026-04", "2027-01", "2025-12"])
def test_a_period_outside_the_data_is_refused(ds_vb, period):
    with pytest.raises(PeriodError) as e:
        Model(params(), ds_vb, period)
    msg = str(e.value)
    assert period in msg and "2026-01 – 2026-03" in msg and "Traceback" not in msg


def test_a_malformed_period_is_refused(ds_vb):
    with pytest.raises(PeriodError, match="ÅÅÅÅ-MM"):
        Model(params(), ds_vb, "mars 2026")


def test_bridge_ends_in_the_fixed_compensation():
    from vu_lib.model.compensation import fixed_compensation

    p = params()
    ds = make_dataset(ledger=[L("2026-01", "AN-VB", "x", "451110", "ersattning", 1)])
    b = Model(p, ds, "2026-01").bridge("AN-VB", 2026)
    assert list(b.columns) == ["steg", "typ", "belopp", "beskrivning", "giltig_fran"]
    assert b["typ"].iloc[-1] == "summa" and b["belopp"].iloc[-1] == fixed_compensation(p, "AN-VB", 2026)
    # the steps before the sum add up to it
    assert b["belopp"].iloc[:-1].sum() == b["belopp"].iloc[-1]


def test_open_model_returns_the_same_model_for_an_unchanged_store(tmp_path):
    """The sample store (empty store -> sample): opened twice, one Model; another period shares its tables."""
    from vu_lib.model.model import forget_opened

    forget_opened()
    store = tmp_path / "tom.duckdb"  # missing: the embedded sample
    m1 = open_model(store)
    m2 = open_model(store)
    assert m1 is m2 and m1.source == "exempeldata"
    m3 = open_model(store, "2026-08")
    assert m3.period.month == "2026-08" and m3._built is m1._built
    with pytest.raises(PeriodError, match="utanför datat"):
        open_model(store, "2027-01")
    forget_opened()
    assert open_model(store) is not m1
