"""Results per unit, cluster, VU and nivå 1; netting; changes of funds.

Every expected number is worked out by hand from the rules in
vu_lib/results.py (resultat = ersattning + medel + ovrig_intakt − personal −
ovrig_kostnad; _ack = Σ months 1..m), with the working in the comments.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from modelkit import L, make_dataset, params, row

from vu_lib.model import results as R
from vu_lib.model.trace import Trace

NINE = ["AN-OMR-NV", "AN-OMR-NO", "AN-OMR-CN", "AN-OPPNA", "AN-VB",
        "SON-OPPNA-BUF", "SON-OPPNA-VUX", "SON-BO-BU", "SON-BO-VUX"]


@pytest.fixture
def two_units():
    """Hemtjänst Skäggetorp (411110) and Hemsjukvård Nordväst (411210), AN-OMR-NV.

    Jan: 411110 ers 1000, personal 600, övr kostnad 100          -> 1000 − 700 = 300
         411210 ers 500, medel 50, övr intäkt 20, personal 400  -> 570 − 400 = 170
    Feb: 411110 ers 1000, personal 800, övr kostnad 300          -> 1000 − 1100 = −100
         411210 ers 500, personal 450                             -> 500 − 450 = 50
    A KOMPLEMENT row (SoF's purchase) must not count.
    """
    return make_dataset(ledger=[
        L("2026-01", "AN-OMR-NV", "hemtjanst", "411110", "ersattning", 1000),
        L("2026-01", "AN-OMR-NV", "hemtjanst", "411110", "personal", 600),
        L("2026-01", "AN-OMR-NV", "hemtjanst", "411110", "ovrig_kostnad", 100),
        L("2026-01", "AN-OMR-NV", "hemsjukvard", "411210", "ersattning", 500),
        L("2026-01", "AN-OMR-NV", "hemsjukvard", "411210", "medel", 50),
        L("2026-01", "AN-OMR-NV", "hemsjukvard", "411210", "ovrig_intakt", 20),
        L("2026-01", "AN-OMR-NV", "hemsjukvard", "411210", "personal", 400),
        L("2026-02", "AN-OMR-NV", "hemtjanst", "411110", "ersattning", 1000),
        L("2026-02", "AN-OMR-NV", "hemtjanst", "411110", "personal", 800),
        L("2026-02", "AN-OMR-NV", "hemtjanst", "411110", "ovrig_kostnad", 300),
        L("2026-02", "AN-OMR-NV", "hemsjukvard", "411210", "ersattning", 500),
        L("2026-02", "AN-OMR-NV", "hemsjukvard", "411210", "personal", 450),
        L("2026-02", "AN-OMR-NV", "hemtjanst", "411110", "overforing", 1500, kodtyp="KOMPLEMENT"),
    ])


def test_unit_results_month_and_ytd(two_units):
    p = params()
    df = R.results(p, two_units, "enhet")
    r = row(df, enhet="411110", manad=1)
    assert (r.ersattning, r.kostnad, r.resultat) == (1000, 700, 300)
    r = row(df, enhet="411210", manad=1)
    # intakter 500 + 50 + 20 = 570; kostnad 400
    assert (r.intakter, r.medel, r.ovrig_intakt, r.kostnad, r.resultat) == (570, 50, 20, 400, 170)
    r = row(df, enhet="411110", manad=2)
    # Feb −100; YTD 300 − 100 = 200; cost YTD 700 + 1100 = 1800
    assert (r.resultat, r.resultat_ack, r.kostnad_ack) == (-100, 200, 1800)
    assert row(df, enhet="411210", manad=2).resultat_ack == 170 + 50
    # a unit without bookings is there with zeros
    assert row(df, enhet="411120", manad=2).resultat_ack == 0


def test_levels_sum_up(two_units):
    p = params()
    k = R.results(p, two_units, "kluster")
    assert row(k, vu="AN-OMR-NV", kluster="hemtjanst", manad=2).resultat_ack == 200
    vu = R.results(p, two_units, "vu")
    r = row(vu, vu="AN-OMR-NV", manad=2)
    # Jan 300 + 170 = 470, Feb −100 + 50 = −50, YTD 420
    assert (r.resultat, r.resultat_ack) == (-50, 420)
    # revenue YTD 1000+500+50+20 + 1000+500 = 3070, cost 700+400+1100+450 = 2650
    assert (r.intakter_ack, r.kostnad_ack) == (3070, 2650)
    # nivå 1: Öppna former of ÄN holds all Områdesansvar and AN-OPPNA: only NV has bookings
    n1 = R.results(p, two_units, "niva1")
    assert row(n1, namnd="AN", niva1="Öppna former", manad=2).resultat_ack == 420
    assert row(n1, namnd="AN", niva1="Vårdboende", manad=2).resultat_ack == 0
    assert set(n1["separat"]) == {False, True}
    # KOMPLEMENT rows are SoF's, not Leanlink's: they change nothing above
    assert vu["ersattning_ack"].max() == 3000


def test_period_results_and_trace(two_units):
    p = params()
    df = R.period_results(p, two_units, "2026-02")
    assert list(df["vu"]) == NINE + ["EKB"]
    assert isinstance(df.attrs["trace"], Trace)
    assert df.attrs["trace"].period == "2026-02"
    assert df.attrs["trace"].modellversion == "4.0"
    assert row(df, vu="AN-OMR-NV").resultat_ack == 420


def test_gap_month_is_zero_and_ytd_carries():
    # Jan: ers 100, personal 40 (60); no bookings in Feb; Mar: personal 10 (−10)
    ds = make_dataset(ledger=[
        L("2025-01", "AN-VB", "somatik", "415110", "ersattning", 100),
        L("2025-01", "AN-VB", "somatik", "415110", "personal", 40),
        L("2025-03", "AN-VB", "somatik", "415110", "personal", 10),
    ])
    df = R.results(params(), ds, "vu")
    vb = df[df["vu"] == "AN-VB"].set_index("manad")
    assert list(vb.index) == [1, 2, 3]          # up to the last month with data
    assert (vb.loc[2, "resultat"], vb.loc[2, "resultat_ack"]) == (0, 60)
    assert vb.loc[3, "resultat_ack"] == 60 - 10


def test_ekb_is_outside_the_nine():
    ds = make_dataset(ledger=[
        L("2024-05", "EKB", "ekb", "429110", "ersattning", 800),
        L("2024-05", "EKB", "ekb", "429110", "personal", 900),
        L("2024-05", "SON-BO-BU", "stodboende", "423110", "ersattning", 1000),
        L("2024-05", "SON-BO-BU", "stodboende", "423110", "personal", 700),
    ])
    p = params()
    n1 = R.results(p, ds, "niva1")
    heldygn = n1[(n1["niva1"] == "Heldygn") & (n1["manad"] == 5)]
    # the nine's Heldygn line holds SON-BO-BU only (300); EKB (−100) is its own line
    assert row(heldygn, separat=False).resultat == 300
    assert row(heldygn, separat=True).resultat == -100
    nm = R.results(p, ds, "namnd")
    assert row(nm, namnd="SON", separat=False, manad=5).resultat == 300


def test_invariant_sum_of_nine_equals_raw_ledger():
    """For every month, Σ over the nine VU of resultat = revenue − cost of the raw rows of their units."""
    p = params()
    rng = np.random.default_rng(7)
    units = [(v.id, e.kluster, e.id_kod) for v in p.registry.alla for e in v.enheter]
    kinds = ["ersattning", "medel", "ovrig_intakt", "personal", "ovrig_kostnad"]
    rows = []
    for m in range(1, 7):
        for vu, k, e in units:
            for kind in kinds:
                if rng.random() < 0.7:
                    rows.append(L(f"2025-{m:02d}", vu, k, e, kind, round(float(rng.uniform(-500, 5000)), 2)))
            rows.append(L(f"2025-{m:02d}", vu, k, e, "overforing", 999.99, kodtyp="KOMPLEMENT"))
    ds = make_dataset(ledger=rows)
    raw = pd.DataFrame(rows)
    nine_units = {e for vu, k, e in units if vu in NINE}
    raw = raw[(raw["kodtyp"] == "ID") & raw["enhet"].isin(nine_units)]
    sign = raw["kontoslag"].map({"ersattning": 1, "medel": 1, "ovrig_intakt": 1, "personal": -1, "ovrig_kostnad": -1})
    expected = (raw["belopp"] * sign).groupby(raw["period"]).sum()

    vu = R.results(p, ds, "vu")
    got = vu[vu["vu"].isin(NINE)].groupby("period")["resultat"].sum()
    assert list(got.index) == [f"2025-{m:02d}" for m in range(1, 7)]
    for per in got.index:
        assert got[per] == pytest.approx(expected[per], abs=0.005)
    # and the year to date of the last month is the sum of all six months
    assert vu[vu["vu"].isin(NINE) & (vu["manad"] == 6)]["resultat_ack"].sum() == pytest.approx(expected.sum(), abs=0.01)


# --------------------------------------------------------------------------- netting
@pytest.fixture
def three_vus():
    """YTD to 2026-03 (all in March):

    AN-OMR-NV  ers 1000, personal 700             -> +300
    AN-VB      ers 2000, medel 100, personal 2300 -> −200
    SON-BO-BU  ers 1000, personal 1400            -> −400
    EKB        ers 200, personal 150              -> +50  (outside the nine)
    """
    return make_dataset(ledger=[
        L("2026-03", "AN-OMR-NV", "hemtjanst", "411110", "ersattning", 1000),
        L("2026-03", "AN-OMR-NV", "hemtjanst", "411110", "personal", 700),
        L("2026-03", "AN-VB", "somatik", "415110", "ersattning", 2000),
        L("2026-03", "AN-VB", "somatik", "415110", "medel", 100),
        L("2026-03", "AN-VB", "somatik", "415110", "personal", 2300),
        L("2026-03", "SON-BO-BU", "stodboende", "423110", "ersattning", 1000),
        L("2026-03", "SON-BO-BU", "stodboende", "423110", "personal", 1400),
        L("2026-03", "EKB", "ekb", "429110", "ersattning", 200),
        L("2026-03", "EKB", "ekb", "429110", "personal", 150),
    ])


def test_netting(three_vus):
    df = R.netting(params(), three_vus, 2026, 3)
    assert list(df["radtyp"]) == ["vu"] * 5 + ["namnd"] + ["vu"] * 4 + ["namnd", "totalt", "separat",
                                                                         "totalt_inkl_separata"]
    tot = row(df, radtyp="totalt")
    # net over the nine: 300 − 200 − 400 = −300; surpluses 300, deficits 600
    assert (tot.resultat_ack, tot.overskott_ack, tot.underskott_ack) == (-300, 300, 600)
    # coverage min(1, 300/600) = 0.5: AN-VB's 200 is covered by 100, SON-BO-BU's 400 by 200
    assert row(df, vu="AN-VB").underskott_tackt_ack == 100
    assert row(df, vu="SON-BO-BU").underskott_tackt_ack == 200
    assert row(df, vu="SON-BO-BU").underskott_otackt_ack == 200
    assert tot.underskott_tackt_ack == 300
    # compensation incl. medel of the nine: 1000 + 2100 + 1000 = 4100; AN-VB's share 2100/4100
    assert row(df, vu="AN-VB").andel_ersattning == pytest.approx(2100 / 4100)
    # result over the nine's revenue (4100): AN-VB −200/4100; the VU shares add up to the total's
    assert row(df, vu="AN-VB").resultat_andel_totalen == pytest.approx(-200 / 4100)
    vus = df[df["radtyp"] == "vu"]
    assert vus["resultat_andel_totalen"].sum() == pytest.approx(tot.resultat_andel_totalen)
    assert tot.resultat_andel_totalen == pytest.approx(-300 / 4100)
    # margin of SON-BO-BU: −400 / 1000
    assert row(df, vu="SON-BO-BU").resultat_andel_intakter == pytest.approx(-0.4)
    # per nämnd: ÄN 300 − 200 = 100, SON −400
    assert row(df, radtyp="namnd", namnd="AN").resultat_ack == 100
    assert row(df, radtyp="namnd", namnd="SON").resultat_ack == -400
    # EKB on its own line, not netted with the nine; the overall total includes it
    ekb = row(df, radtyp="separat")
    assert (ekb.vu, ekb.resultat_ack, ekb.underskott_tackt_ack) == ("EKB", 50, 0)
    assert np.isnan(ekb.andel_ersattning)
    assert row(df, radtyp="totalt_inkl_separata").resultat_ack == -250


def test_netting_full_cover():
    # +1000 and −300: everything covered, net +700
    ds = make_dataset(ledger=[
        L("2026-01", "AN-OPPNA", "ovriga", "414210", "ersattning", 1000),
        L("2026-01", "SON-BO-VUX", "socialpsykiatri", "424110", "personal", 300),
    ])
    df = R.netting(params(), ds, "2026-01")
    assert row(df, vu="SON-BO-VUX").underskott_tackt_ack == 300
    assert row(df, vu="SON-BO-VUX").underskott_otackt_ack == 0
    assert row(df, radtyp="totalt").resultat_ack == 700


# --------------------------------------------------------------------------- changes of funds
@pytest.fixture
def funds():
    medel = [
        # a state grant in two payments, deadline 2026-04-30
        {"id": "A", "period": "2026-02", "vu": "AN-VB", "typ": "statsbidrag", "belopp": 300000.0,
         "beskrivning": "Bemanning", "aterrapporteringskrav": "Kvartalsvis", "aterrapportering_senast": "2026-04-30"},
        {"id": "A", "period": "2026-05", "vu": "AN-VB", "typ": "statsbidrag", "belopp": 200000.0,
         "beskrivning": "Bemanning", "aterrapporteringskrav": "Kvartalsvis", "aterrapportering_senast": "2026-04-30"},
        # a repayment without deadline
        {"id": "B", "period": "2026-03", "vu": "AN-VB", "typ": "statsbidrag", "belopp": -50000.0,
         "beskrivning": "Återbetalning", "aterrapporteringskrav": "", "aterrapportering_senast": ""},
        # a targeted investment, last year: not in this year's report
        {"id": "C", "period": "2025-11", "vu": "SON-OPPNA-BUF", "typ": "riktad_satsning", "belopp": 90000.0,
         "beskrivning": "Satsning", "aterrapporteringskrav": "Redovisning", "aterrapportering_senast": "2026-01-31"},
        {"id": "D", "period": "2026-04", "vu": "SON-OPPNA-BUF", "typ": "oforutsedd_handelse", "belopp": 70000.0,
         "beskrivning": "Övertagande", "aterrapporteringskrav": "Månadsvis", "aterrapportering_senast": "2026-12-31"},
    ]
    ledger = [L("2026-02", "AN-VB", "somatik", "415110", "medel", 300000),
              L("2026-03", "AN-VB", "somatik", "415110", "medel", -50000),
              L("2026-04", "SON-OPPNA-BUF", "forebyggande", "421110", "medel", 60000)]
    return make_dataset(ledger=ledger, medel=medel)


def test_medel_report(funds):
    p = params()
    df = R.medel_report(p, funds, "2026-04")
    assert list(df["id"]) == ["A", "B", "D"]      # VU order, then type and id; C is last year's
    a = row(df, id="A")
    # only the February payment is in Jan..Apr: 300 000; April has no payment of A
    assert (a.belopp_ack, a.belopp_manad) == (300000, 0)
    # deadline 2026-04-30 is the period's last day: not passed
    assert not a.aterrapportering_passerad and a.dagar_till_aterrapportering == 0
    b = row(df, id="B")
    assert b.belopp_ack == -50000 and b.status == "Ingen återrapporteringstidpunkt"
    assert np.isnan(b.dagar_till_aterrapportering)
    d = row(df, id="D")
    assert (d.belopp_ack, d.belopp_manad, d.typ_namn) == (70000, 70000, "Oförutsedd händelse")

    may = R.medel_report(p, funds, "2026-05")
    a = row(may, id="A")
    # 300 000 + 200 000; 2026-04-30 lies before 2026-05-31: passed by 31 days
    assert (a.belopp_ack, a.belopp_manad) == (500000, 200000)
    assert a.aterrapportering_passerad and a.dagar_till_aterrapportering == -31
    assert a.status == "Återrapportering passerad"


def test_medel_summary_reconciles_with_booked(funds):
    df = R.medel_summary(params(), funds, "2026-04")
    vb = row(df, vu="AN-VB", typ="statsbidrag")
    # 300 000 − 50 000 in two cases
    assert (vb.belopp_ack, vb.antal_arenden) == (250000, 2)
    tot = row(df, vu="AN-VB", typ="")
    assert (tot.bokfort_ack, tot.skillnad) == (250000, 0)
    buf = row(df, vu="SON-OPPNA-BUF", typ="")
    # decided 70 000, booked 60 000: 10 000 less booked
    assert (buf.belopp_ack, buf.bokfort_ack, buf.skillnad) == (70000, 60000, -10000)


def test_empty_medel_report():
    ds = make_dataset(ledger=[L("2026-01", "AN-VB", "somatik", "415110", "personal", 1)])
    df = R.medel_report(params(), ds, "2026-01")
    assert df.empty and list(df.columns) == R.MEDEL_COLUMNS


def test_unknown_level_is_refused(two_units):
    with pytest.raises(ValueError, match="Okänd nivå"):
        R.results(params(), two_units, "avdelning")


def test_invariant_on_the_sample_from_raw_huvudbok_rows():
    """End to end: the sample's raw huvudbok files (debit +, credit −) through the store.

    Leanlink books revenue as credit (negative) and cost as debit (positive), so for the ID rows of
    a unit resultat = revenue − cost = −Σ belopp. For every month, Σ over the nine VU of resultat
    must equal −Σ belopp of the raw ID rows on the nine's id codes.
    """
    from vu_lib.data.dataset import load_dataset, sample_store

    p = params()
    store = sample_store(p)
    files = sorted((store.parent / "filer").glob("huvudbok_*.csv"))
    assert files
    raw = pd.concat([pd.read_csv(f, sep=";", decimal=",", encoding="cp1252", dtype={"kod": str, "konto": str})
                     for f in files], ignore_index=True)
    nine_codes = {e.id_kod for v in p.registry.verksamhetsuppdrag for e in v.enheter}
    ids = raw[(raw["kodtyp"] == "ID") & raw["kod"].isin(nine_codes)]
    expected = -ids.groupby("period")["belopp"].sum()

    ds = load_dataset(store, params=p)
    vu = R.results(p, ds, "vu")
    got = vu[~vu["separat"]].groupby("period")["resultat"].sum()
    assert len(got) == len(expected) == 46                     # 2023-01 .. 2026-10
    assert (got - expected.reindex(got.index)).abs().max() < 0.01


def test_codes_unknown_to_the_registry_stay_outside_the_nine():
    """data.load_dataset gives vu == '' for a code the registry does not know (with a warning).

    AN-VB: ers 100 − personal 40 = 60; unknown code: cost 10. The nine net 60; the unknown line −10
    is shown on its own and only the overall total includes it: 60 − 10 = 50.
    """
    ds = make_dataset(ledger=[
        L("2026-01", "AN-VB", "somatik", "415110", "ersattning", 100),
        L("2026-01", "AN-VB", "somatik", "415110", "personal", 40),
        L("2026-01", "", "", "", "personal", 10),
    ])
    df = R.netting(params(), ds, "2026-01")
    assert row(df, radtyp="totalt").resultat_ack == 60
    assert row(df, radtyp="okand").resultat_ack == -10
    assert row(df, radtyp="totalt_inkl_separata").resultat_ack == 50
    assert R.netting(params(), make_dataset(), "2026-01").empty
