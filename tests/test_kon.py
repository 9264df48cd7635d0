"""The gender split of person counts (issue 11): contract, reading, store, key figures, masking, report.

Expected values are worked out by hand in each docstring from the model's rules
(model.md: key figures; small-count masking with threshold 5, params/modell/2024.yaml).
"""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pandas as pd
import pytest

from conftest import TODAY
from modelkit import L, V, make_dataset, params
from vu_lib.core.exceptions import InputError
from vu_lib.model import nyckeltal as NT

HEAD = "period;vu;kluster;enhet;matt;utforare;kon;varde\n"


def with_kon(ds, rows):
    """``ds`` with the gender rows ``(period, enhet, matt, kon, varde)`` of AN-OPPNA dagverksamhet."""
    vk = pd.DataFrame([{"period": p, "ar": int(p[:4]), "manad": int(p[5:]), "vu": "AN-OPPNA", "kluster": "dagverksamhet",
                        "enhet": e, "matt": m, "utforare": "", "kon": k, "varde": float(v)} for p, e, m, k, v in rows])
    fp = hashlib.sha256((ds.fingerprint + vk.to_csv()).encode()).hexdigest()[:16]
    return dataclasses.replace(ds, volymer_kon=vk, fingerprint=fp)


def users(ekhaga_km, berga_km):
    """Users of the two day-activity units by gender, Jan and Feb 2024; totals = K + M (as the dataset derives)."""
    vol, kon = [], []
    for m, ((ek, em), (bk, bm)) in enumerate(zip(ekhaga_km, berga_km), start=1):
        p = f"2024-0{m}"
        for unit, k, mm in (("414110", ek, em), ("414120", bk, bm)):
            if k is not None:
                vol.append(V(p, "AN-OPPNA", "dagverksamhet", "brukare", k + mm, enhet=unit))
                kon += [(p, unit, "brukare", "K", k), (p, unit, "brukare", "M", mm)]
            else:
                vol.append(V(p, "AN-OPPNA", "dagverksamhet", "brukare", mm, enhet=unit))  # total only
            vol.append(V(p, "AN-OPPNA", "dagverksamhet", "oppetdagar", 20, enhet=unit))
            vol.append(V(p, "AN-OPPNA", "dagverksamhet", "oppettimmar", 130, enhet=unit))
    ds = make_dataset(volymer=vol, ledger=[L("2024-02", "AN-OPPNA", "dagverksamhet", "414110", "personal", 1)])
    ds = with_kon(ds, kon)
    df = NT.nyckeltal(params(), ds, "2024-02", vu="AN-OPPNA", kon=True)
    return df[(df["nyckeltal_id"] == "dagverksamhet_brukare_timmar") & (df["del"] == "brukare")]


def cell(df, enhet, kon):
    r = df[(df["enhet"] == enhet) & (df["kon"] == kon)]
    assert len(r) == 1, (enhet, kon, r)
    return r.iloc[0]


def test_women_and_men_beside_the_total():
    """Ekhaga K 20, 22 -> 21; M 10, 12 -> 11; total 32. Berga K 8, 8 -> 8; M 6, 6 -> 6; total 14.
    Cluster (sum of the units each month): K 28, 30 -> 29; M 16, 18 -> 17; total 46. Nothing below 5."""
    df = users([(20, 10), (22, 12)], [(8, 6), (8, 6)])
    assert not df["maskerad"].any()
    want = {("414110", ""): 32, ("414110", "K"): 21, ("414110", "M"): 11,
            ("414120", ""): 14, ("414120", "K"): 8, ("414120", "M"): 6,
            ("", ""): 46, ("", "K"): 29, ("", "M"): 17}
    for (e, k), v in want.items():
        assert cell(df, e, k).varde == v, (e, k)


def test_one_gender_below_the_threshold_masks_the_other_too():
    """Ekhaga K 9, 9 -> 9; M 3, 3 -> 3 (< 5: masked). Ekhaga's total 12 is shown, so K (= 12 − 3) would
    give M away: K is masked too (complementary masking). Berga K 6, M 6, total 12.
    Cluster K = 9 + 6 = 15 is shown; with Ekhaga's K masked, Berga's K (= 15 − 9) would give it away:
    Berga K is masked, and then Berga M (= 12 − K). Cluster M = 3 + 6 = 9 stays: both its members are
    masked. The totals (12, 12, 24) are not small and stay."""
    df = users([(9, 3), (9, 3)], [(6, 6), (6, 6)])
    masked = {(e, k) for e in ("414110", "414120", "") for k in ("", "K", "M") if cell(df, e, k).maskerad}
    assert masked == {("414110", "K"), ("414110", "M"), ("414120", "K"), ("414120", "M")}
    assert cell(df, "414110", "M").maskerad_text == "<5" and np.isnan(cell(df, "414110", "M").varde)
    assert (cell(df, "", "K").varde, cell(df, "", "M").varde, cell(df, "", "").varde) == (15, 9, 24)
    assert cell(df, "414110", "").varde == 12 and cell(df, "414120", "").varde == 12


def test_cluster_split_only_when_every_unit_splits():
    """Berga delivers a total only (5, 5): the cluster's women and men would miss Berga's, so the
    cluster has no K/M rows; Ekhaga's (21 and 11 as above) are shown."""
    df = users([(20, 10), (22, 12)], [(None, 5), (None, 5)])
    assert df[(df["enhet"] == "") & (df["kon"] != "")].empty
    assert cell(df, "414110", "K").varde == 21 and cell(df, "414110", "M").varde == 11
    assert df[(df["enhet"] == "414120") & (df["kon"] != "")].empty


def test_default_call_has_totals_only():
    """Without kon=True the table is what it was before the split existed."""
    ds = make_dataset(volymer=[V("2024-01", "AN-OPPNA", "dagverksamhet", "brukare", 30, enhet="414110")],
                      ledger=[L("2024-01", "AN-OPPNA", "dagverksamhet", "414110", "personal", 1)])
    ds = with_kon(ds, [("2024-01", "414110", "brukare", "K", 18), ("2024-01", "414110", "brukare", "M", 12)])
    df = NT.nyckeltal(params(), ds, "2024-01", vu="AN-OPPNA")
    assert set(df["kon"]) == {""}


# --------------------------------------------------------------------------- reading and storing
def test_kon_is_read_stored_and_totalled(tmp_path, write_export):
    """K 24 + M 14 without a total row -> total 38; Seniormottagningen's given total 100 is kept as it is."""
    from vu_lib.data import load_dataset
    from vu_lib.data.store import ingest_files

    f = write_export("vol.csv", HEAD + "2026-08;AN-OPPNA;dagverksamhet;414110;brukare;;K;24\n"
                                      "2026-08;AN-OPPNA;dagverksamhet;414110;brukare;;M;14\n"
                                      "2026-08;AN-OPPNA;ovriga;414230;unika_besok;;;100\n"
                                      "2026-08;AN-OPPNA;ovriga;414230;unika_besok;;k;61\n"
                                      "2026-08;AN-OPPNA;ovriga;414230;unika_besok;;m;39\n")
    store = tmp_path / "vu.duckdb"
    ingest_files([f], store, today=TODAY)
    ds = load_dataset(store)
    v = ds.volymer.set_index(["enhet", "matt"])["varde"]
    assert v[("414110", "brukare")] == 38 and v[("414230", "unika_besok")] == 100
    assert len(ds.volymer) == 2
    k = ds.volymer_kon.set_index(["enhet", "kon"])["varde"]
    assert k.to_dict() == {("414110", "K"): 24, ("414110", "M"): 14, ("414230", "K"): 61, ("414230", "M"): 39}


def test_kon_on_a_measure_that_counts_no_persons_is_refused(tmp_path, write_export, params):
    from vu_lib.data.store import ingest_files

    f = write_export("vol.csv", HEAD + "2026-08;AN-VB;somatik;415110;belagda_dygn;;K;1612\n"
                                      "2026-08;AN-OPPNA;dagverksamhet;414110;brukare;;X;3\n")
    with pytest.raises(InputError) as e:
        ingest_files([f], tmp_path / "vu.duckdb", today=TODAY)
    msgs = {(p.row, p.column): p.message for p in e.value.problems}
    assert "måttet belagda_dygn räknar inte personer och delas inte per kön" in msgs[(2, "kon")]
    assert (3, "kon") in msgs
    assert not (tmp_path / "vu.duckdb").exists()


def test_a_store_from_before_the_split_gets_the_column(tmp_path, write_export):
    """A store whose volymer table has no kon column (made before issue 11) is read as before,
    and the next volymer file adds the column (empty for the rows already there)."""
    import duckdb

    from vu_lib.data import load_dataset
    from vu_lib.data.store import _compute_fingerprint, _remember, ingest_files

    store = tmp_path / "vu.duckdb"
    ingest_files([write_export("a.csv", HEAD + "2026-07;AN-VB;somatik;415110;belagda_dygn;;;1600\n")], store, today=TODAY)
    con = duckdb.connect(str(store))
    con.execute("ALTER TABLE volymer DROP COLUMN kon")
    con.close()
    _remember(store, _compute_fingerprint(store) + "x")  # force a fresh read
    ds = load_dataset(store)
    assert ds.volymer["varde"].tolist() == [1600] and ds.volymer_kon.empty
    ingest_files([write_export("b.csv", HEAD + "2026-08;AN-OPPNA;dagverksamhet;414110;brukare;;K;7\n")], store,
                 today=TODAY)
    ds = load_dataset(store)
    assert sorted(ds.volymer["varde"].tolist()) == [7, 1600] and ds.volymer_kon["varde"].tolist() == [7]


# --------------------------------------------------------------------------- the sample, end to end
def test_sample_users_by_gender_in_the_report(tmp_path):
    """AN-OPPNA's yearly key figure for 2025 (delår december): the cluster's average users per month
    by gender, worked out from the sample's own CSV (K and M rows of both units, summed per month,
    averaged over the twelve months), stands in the report's table beside the total; the units'
    splits are masked (Berga has one or two men)."""
    from decimal import Decimal

    from vu_lib import report
    from vu_lib.data.sample import write_sample

    files = write_sample(tmp_path / "s")
    raw = pd.read_csv(next(p for p in files if p.name == "volymer_2025.csv"), sep=";", dtype=str,
                      keep_default_na=False, encoding="utf-8-sig")
    b = raw[(raw["matt"] == "brukare") & (raw["kluster"] == "dagverksamhet")]
    want = {}
    for kon in ("K", "M"):
        monthly = b[b["kon"] == kon].groupby("period")["varde"].apply(lambda s: sum(Decimal(x) for x in s))
        assert len(monthly) == 12
        want[kon] = (sum(monthly) / 12).quantize(Decimal("0.1"))
    ctx = report.vu_context(vu="AN-OPPNA", period="2025-12")
    sec = report.nyckeltal(ctx)
    t = next(p for p in sec if getattr(p, "caption", "").startswith("Antal brukare och antal timmar per dag"))
    assert t.headers["kvinnor"] == "Kvinnor" and t.headers["man"] == "Män"
    rows = t.data[t.data["del_namn"].str.startswith("Antal brukare")].set_index("rad")
    sv = {k: f"{v}".replace(".", ",") for k, v in want.items()}
    assert (rows.loc["Dagverksamhet", "kvinnor"], rows.loc["Dagverksamhet", "man"]) == (sv["K"], sv["M"])
    assert rows.loc["Dagverksamhet Berga", "man"] == "<5" and rows.loc["Dagverksamhet Berga", "kvinnor"] == "<5"
    assert "maskeras också det andra könet" in t.note
