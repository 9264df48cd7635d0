"""Key figures of params/nyckeltal.yaml, computed by the rules in vu_lib/nyckeltal.py.

Every expected value is worked out by hand in the comments.
"""
from __future__ import annotations

import numpy as np
import pytest
from modelkit import L, V, make_dataset, params, row

from vu_lib.model import nyckeltal as NT


def test_every_catalogue_figure_has_a_rule():
    assert {n.id for n in params().katalog.nyckeltal} == set(NT.RULES)


# --------------------------------------------------------------------------- Områdesansvar
def test_hours_against_budget():
    """AN-OMR-NV 2023: hemtjänst Leanlink 100 (Jan) + 120 (Feb), private 70 + 80, budget 110 + 100.

    February: total 120 + 80 = 200, Leanlink 120 against 100 (+20), private 80.
    YTD: total 370, Leanlink 220 against 210 (+10), private 150.
    Hemsjukvård Leanlink 50 (Feb), hemrehab Leanlink 20 (Feb): together 70.
    """
    ds = make_dataset(volymer=[
        V("2023-01", "AN-OMR-NV", "hemtjanst", "utforda_timmar", 100, "leanlink"),
        V("2023-02", "AN-OMR-NV", "hemtjanst", "utforda_timmar", 120, "leanlink"),
        V("2023-01", "AN-OMR-NV", "hemtjanst", "utforda_timmar", 70, "privat"),
        V("2023-02", "AN-OMR-NV", "hemtjanst", "utforda_timmar", 80, "privat"),
        V("2023-01", "AN-OMR-NV", "hemtjanst", "budget_timmar", 110),
        V("2023-02", "AN-OMR-NV", "hemtjanst", "budget_timmar", 100),
        V("2023-02", "AN-OMR-NV", "hemsjukvard", "utforda_timmar", 50, "leanlink"),
        V("2023-02", "AN-OMR-NV", "hemrehabilitering", "utforda_timmar", 20, "leanlink"),
    ], ledger=[L("2023-02", "AN-OMR-NV", "hemtjanst", "411110", "personal", 1)])
    df = NT.nyckeltal(params(), ds, "2023-02", vu="AN-OMR-NV")
    ht = df[df["nyckeltal_id"] == "hemtjanst_timmar"]
    assert row(ht, utforare="totalt", avser="manad").varde == 200
    assert row(ht, utforare="totalt", avser="ack").varde == 370
    ll = row(ht, utforare="leanlink", avser="manad")
    assert (ll.varde, ll.jamforelse, ll.avvikelse) == (120, 100, 20)
    ll = row(ht, utforare="leanlink", avser="ack")
    assert (ll.varde, ll.jamforelse, ll.avvikelse) == (220, 210, 10)
    assert row(ht, utforare="privat", avser="ack").varde == 150
    assert np.isnan(row(ht, utforare="privat", avser="ack").jamforelse)
    assert set(ht["status"]) == {"aktuell"} and ht["enhet_matt"].eq("timmar").all()
    hs = df[df["nyckeltal_id"] == "hemsjukvard_hemrehab_timmar"]
    both = row(hs, kluster="", utforare="leanlink", avser="ack")
    assert both.varde == 70 and both.kluster_namn == "Samtliga kluster i nyckeltalet"
    assert row(hs, kluster="hemrehabilitering", utforare="leanlink", avser="manad").varde == 20
    # privat has no rows for hemsjukvård: NaN, not 0
    assert np.isnan(row(hs, kluster="hemsjukvard", utforare="privat", avser="ack").varde)


# --------------------------------------------------------------------------- AN-OPPNA
def test_day_activity_cost_per_place():
    """Q1 2024: Ekhaga (414110) cost 20 000 a month, 24 places; Berga (414120) 10 000 a month,
    places 6 (Jan) and 8 (Feb), no row in March.

    Ekhaga: 60 000 × 12/3 / 24 = 10 000
    Berga: average places (6 + 8)/2 = 7: 30 000 × 4 / 7 = 17 142,857…
    cluster: average places = Σ places / months with data = (30 + 32 + 24)/3 = 28,666…
             90 000 × 4 / 28,666… = 12 558,14
    """
    ledger, vol = [], []
    for m in (1, 2, 3):
        ledger.append(L(f"2024-0{m}", "AN-OPPNA", "dagverksamhet", "414110", "personal", 20000))
        ledger.append(L(f"2024-0{m}", "AN-OPPNA", "dagverksamhet", "414120", "personal", 10000))
        vol.append(V(f"2024-0{m}", "AN-OPPNA", "dagverksamhet", "platser", 24, enhet="414110"))
    vol += [V("2024-01", "AN-OPPNA", "dagverksamhet", "platser", 6, enhet="414120"),
            V("2024-02", "AN-OPPNA", "dagverksamhet", "platser", 8, enhet="414120")]
    ds = make_dataset(ledger=ledger, volymer=vol)
    df = NT.nyckeltal(params(), ds, "2024-03", vu="AN-OPPNA")
    f = df[df["nyckeltal_id"] == "dagverksamhet_kostnad_per_plats"]
    assert row(f, enhet="414110").varde == pytest.approx(10000)
    assert row(f, enhet="414120").varde == pytest.approx(120000 / 7)
    assert row(f, enhet="").varde == pytest.approx(360000 / (86 / 3))
    assert set(f["status"]) == {"ej aktuell denna period"}     # årsvis: due in December
    dec = NT.nyckeltal(params(), ds, "2024-12", vu="AN-OPPNA")
    assert set(dec.loc[dec["nyckeltal_id"] == "dagverksamhet_kostnad_per_plats", "status"]) == {"aktuell"}


def _users(ekhaga, berga):
    vol = []
    for m, (e, b) in enumerate(zip(ekhaga, berga), start=1):
        vol.append(V(f"2024-0{m}", "AN-OPPNA", "dagverksamhet", "brukare", e, enhet="414110"))
        vol.append(V(f"2024-0{m}", "AN-OPPNA", "dagverksamhet", "brukare", b, enhet="414120"))
        vol.append(V(f"2024-0{m}", "AN-OPPNA", "dagverksamhet", "oppetdagar", 20 + m, enhet="414110"))
        vol.append(V(f"2024-0{m}", "AN-OPPNA", "dagverksamhet", "oppettimmar", 6.5 * (20 + m), enhet="414110"))
        vol.append(V(f"2024-0{m}", "AN-OPPNA", "dagverksamhet", "oppetdagar", 10, enhet="414120"))
        vol.append(V(f"2024-0{m}", "AN-OPPNA", "dagverksamhet", "oppettimmar", 50, enhet="414120"))
    ds = make_dataset(volymer=vol, ledger=[L("2024-02", "AN-OPPNA", "dagverksamhet", "414110", "personal", 1)])
    df = NT.nyckeltal(params(), ds, "2024-02", vu="AN-OPPNA")
    return df[df["nyckeltal_id"] == "dagverksamhet_brukare_timmar"]


def test_users_and_hours_per_day_with_small_count_masking():
    """Ekhaga 20, 22 users -> average 21; Berga 3, 4 -> 3,5 (< 5: masked); cluster 24,5.

    Berga masked alone with the cluster shown would give Berga = 24,5 − 21: Ekhaga, the only
    other member, is masked too; the cluster total stays.
    Timmar per dag: Ekhaga (6,5 × 21 + 6,5 × 22) / (21 + 22) = 6,5; Berga 100 / 20 = 5;
    cluster (279,5 + 100) / 63 = 6,0238…
    """
    f = _users([20, 22], [3, 4])
    berga = row(f, enhet="414120", **{"del": "brukare"})
    assert berga.maskerad and np.isnan(berga.varde) and berga.maskerad_text == "<5"
    ek = row(f, enhet="414110", **{"del": "brukare"})
    assert ek.maskerad and np.isnan(ek.varde)
    cl = row(f, enhet="", **{"del": "brukare"})
    assert not cl.maskerad and cl.varde == 24.5 and cl.personantal
    assert row(f, enhet="414110", **{"del": "timmar_per_dag"}).varde == pytest.approx(6.5)
    assert row(f, enhet="414120", **{"del": "timmar_per_dag"}).varde == 5
    tpd = row(f, enhet="", **{"del": "timmar_per_dag"})
    assert tpd.varde == pytest.approx(379.5 / 63) and not tpd.maskerad and not tpd.personantal


def test_masking_small_cluster_total():
    """Ekhaga 3, 3 -> 3 (masked); Berga 0 -> 0 (shown, not a small count); cluster 3 (masked)."""
    f = _users([3, 3], [0, 0])
    assert row(f, enhet="414110", **{"del": "brukare"}).maskerad
    assert row(f, enhet="", **{"del": "brukare"}).maskerad
    b = row(f, enhet="414120", **{"del": "brukare"})
    assert not b.maskerad and b.varde == 0


def test_no_masking_above_threshold():
    f = _users([20, 22], [5, 6])
    assert not f["maskerad"].any()
    assert row(f, enhet="414120", **{"del": "brukare"}).varde == 5.5


def test_mask_rule_on_three_members():
    """Three units with values 2, 10, 30 under a total 42: 2 is masked, then the smallest other (10)."""
    import pandas as pd
    base = {"nyckeltal_id": "x", "del": "d", "utforare": "", "avser": "ack", "ar": 2024, "manad": 12,
            "vu": "V", "kluster": "k", "personantal": True}
    df = pd.DataFrame([{**base, "enhet": "", "varde": 42.0}, {**base, "enhet": "a", "varde": 2.0},
                       {**base, "enhet": "b", "varde": 10.0}, {**base, "enhet": "c", "varde": 30.0}])
    assert list(NT._mask(df, np.full(4, 5.0))) == [False, True, True, False]


def test_other_open_activities():
    """2024 Jan-Feb (31 + 29 = 60 days, 60/7 weeks).

    Demenscenter utredningar: Leanlink 8 + 6 = 14, private 4 + 2 = 6, total 20
    Seniormottagningen unika besök 2 + 2 = 4 (< 5: masked); Anhörigcenter 3 + 4 = 7
    Hagdahlska besökare (1 300 + 1 200) / (60/7) = 291,666…
    Kultur och fritid digitala 900 + 800 = 1 700, fysiska 1 250
    Psykiatrisk hemsjukvård besök (600 + 580) / 60 = 19,666…
    """
    o = "ovriga"
    vol = [
        V("2024-01", "AN-OPPNA", o, "utredningar", 8, "leanlink", "414210"),
        V("2024-02", "AN-OPPNA", o, "utredningar", 6, "leanlink", "414210"),
        V("2024-01", "AN-OPPNA", o, "utredningar", 4, "privat", "414210"),
        V("2024-02", "AN-OPPNA", o, "utredningar", 2, "privat", "414210"),
        V("2024-01", "AN-OPPNA", o, "unika_besok", 2, enhet="414230"),
        V("2024-02", "AN-OPPNA", o, "unika_besok", 2, enhet="414230"),
        V("2024-01", "AN-OPPNA", o, "unika_besok", 3, enhet="414240"),
        V("2024-02", "AN-OPPNA", o, "unika_besok", 4, enhet="414240"),
        V("2024-01", "AN-OPPNA", o, "besokare", 1300, enhet="414220"),
        V("2024-02", "AN-OPPNA", o, "besokare", 1200, enhet="414220"),
        V("2024-01", "AN-OPPNA", o, "digitala_besok", 900, enhet="414250"),
        V("2024-02", "AN-OPPNA", o, "digitala_besok", 800, enhet="414250"),
        V("2024-02", "AN-OPPNA", o, "fysiska_besok", 1250, enhet="414250"),
        V("2024-01", "AN-OPPNA", "psykiatrisk_hsv", "besok", 600, enhet="414310"),
        V("2024-02", "AN-OPPNA", "psykiatrisk_hsv", "besok", 580, enhet="414310"),
    ]
    ds = make_dataset(volymer=vol, ledger=[L("2024-02", "AN-OPPNA", o, "414210", "personal", 1)])
    df = NT.nyckeltal(params(), ds, 2024, 2, vu="AN-OPPNA")
    dc = df[df["nyckeltal_id"] == "demenscenter_utredningar"]
    assert row(dc, **{"del": "utredningar", "utforare": "leanlink"}).varde == 14
    assert row(dc, **{"del": "utredningar", "utforare": "privat"}).varde == 6
    assert row(dc, **{"del": "utredningar", "utforare": "totalt"}).varde == 20
    assert (dc["enhet"] == "414210").all() and (dc["enhet_namn"] == "Demenscenter").all()
    sm = row(df, nyckeltal_id="seniormottagningen_besok")
    assert sm.maskerad and np.isnan(sm.varde)
    ah = row(df, nyckeltal_id="anhorigcenter_besok")
    assert (ah.varde, ah.maskerad) == (7, False)
    assert row(df, nyckeltal_id="hagdahlska_besokare").varde == pytest.approx(2500 * 7 / 60)
    kf = df[df["nyckeltal_id"] == "kultur_fritid_besok"]
    assert row(kf, **{"del": "digitala_besok"}).varde == 1700
    assert row(kf, **{"del": "fysiska_besok"}).varde == 1250
    ps = df[df["nyckeltal_id"] == "psykiatrisk_hsv_besok_per_dag"]
    assert row(ps, enhet="").varde == pytest.approx(1180 / 60)
    # Fixartjänst has no data: NaN, never masked
    fx = row(df, nyckeltal_id="fixartjanst_besok")
    assert np.isnan(fx.varde) and not fx.maskerad


# --------------------------------------------------------------------------- AN-VB
def test_occupancy_cost_per_day_and_reference_cost():
    """AN-VB 2023 Jan-Feb.

    somatik: tillgängliga dygn 3 348 + 3 024 given; belagda 3 200 + 2 900
        Feb: 2 900 / 3 024 = 95,899…%; YTD 6 100 / 6 372 = 95,731…%
    demens: no tillgangliga_dygn: 96 places × 31 and × 28 = 2 976 + 2 688 = 5 664; belagda 2 900 + 2 600
        YTD 5 500 / 5 664 = 97,104…%
    VU YTD: (6 100 + 5 500) / (6 372 + 5 664) = 11 600 / 12 036
    Referenskostnad: F_ytd = 2 × 16 375 000 = 32 750 000 over budgeted dygn 6 000 + 5 000 + 2 100 = 13 100
        = 2 500 kr/dygn; actual: cost 29 000 000 / belagda 11 600 = 2 500 as well
    """
    vol = [
        V("2023-01", "AN-VB", "somatik", "tillgangliga_dygn", 3348), V("2023-02", "AN-VB", "somatik", "tillgangliga_dygn", 3024),
        V("2023-01", "AN-VB", "somatik", "belagda_dygn", 3200), V("2023-02", "AN-VB", "somatik", "belagda_dygn", 2900),
        V("2023-01", "AN-VB", "demens", "platser", 96), V("2023-02", "AN-VB", "demens", "platser", 96),
        V("2023-01", "AN-VB", "demens", "belagda_dygn", 2900), V("2023-02", "AN-VB", "demens", "belagda_dygn", 2600),
        V("2023-01", "AN-VB", "somatik", "budget_belagda_dygn", 6000),
        V("2023-02", "AN-VB", "demens", "budget_belagda_dygn", 5000),
        V("2023-02", "AN-VB", "korttid", "budget_belagda_dygn", 2100),
    ]
    ledger = [L("2023-01", "AN-VB", "somatik", "415110", "personal", 15e6),
              L("2023-02", "AN-VB", "demens", "415210", "personal", 14e6)]
    ds = make_dataset(volymer=vol, ledger=ledger)
    df = NT.nyckeltal(params(), ds, "2023-02", vu="AN-VB")
    bg = df[df["nyckeltal_id"] == "vb_belaggningsgrad"]
    assert row(bg, kluster="somatik", avser="manad").varde == pytest.approx(100 * 2900 / 3024)
    assert row(bg, kluster="somatik", avser="ack").varde == pytest.approx(100 * 6100 / 6372)
    assert row(bg, kluster="demens", avser="ack").varde == pytest.approx(100 * 5500 / 5664)
    assert row(bg, kluster="", avser="ack").varde == pytest.approx(100 * 11600 / 12036)
    assert row(bg, kluster="", avser="ack").enhet_matt == "procent"
    ref = row(df, nyckeltal_id="vb_referenskostnad")
    assert (ref.varde, ref.jamforelse, ref.avvikelse) == (2500, 2500, 0)
    assert ref.status == "ej aktuell denna period"               # årsvis
    # vårddygnskostnad is followed from 2024: not in a 2023 table, listed as not yet followed
    assert "vb_varddygnskostnad" not in set(df["nyckeltal_id"])
    ej = NT.ej_foljda(params(), "2023-02", vu="AN-VB")
    assert list(ej["nyckeltal_id"]) == ["vb_varddygnskostnad"]
    assert ej.iloc[0].status == "följs upp från 2024"


def test_cost_per_occupied_day():
    """2024-01: somatik cost 7 000 000 over 2 800 belagda dygn = 2 500; demens 3 000 000 / 1 000 = 3 000;
    VU 10 000 000 / 3 800 = 2 631,58."""
    ds = make_dataset(
        volymer=[V("2024-01", "AN-VB", "somatik", "belagda_dygn", 2800), V("2024-01", "AN-VB", "demens", "belagda_dygn", 1000)],
        ledger=[L("2024-01", "AN-VB", "somatik", "415120", "personal", 7e6),
                L("2024-01", "AN-VB", "demens", "415220", "ovrig_kostnad", 3e6)])
    df = NT.nyckeltal(params(), ds, "2024-01", vu="AN-VB")
    vd = df[df["nyckeltal_id"] == "vb_varddygnskostnad"]
    assert row(vd, kluster="somatik").varde == 2500
    assert row(vd, kluster="demens").varde == 3000
    assert row(vd, kluster="").varde == pytest.approx(1e7 / 3800)
    assert np.isnan(row(vd, kluster="korttid").varde)          # no occupied days: no ratio


# --------------------------------------------------------------------------- SON
def test_son_open_hours_at_delar():
    """SON-OPPNA-BUF 2023 Jan-Apr (delår 1 of 2023 is April): förebyggande cost 440 000 over
    planned hours 4 × 250 = 1 000 = 440 kr/h; boendestöd 150 000 over 500 = 300; VU 590 000 / 1 500."""
    vol, ledger = [], []
    for m in range(1, 5):
        vol.append(V(f"2023-0{m}", "SON-OPPNA-BUF", "forebyggande", "planerade_timmar", 250))
        vol.append(V(f"2023-0{m}", "SON-OPPNA-BUF", "boendestod", "planerade_timmar", 125))
        ledger.append(L(f"2023-0{m}", "SON-OPPNA-BUF", "forebyggande", "421110", "personal", 110000))
        ledger.append(L(f"2023-0{m}", "SON-OPPNA-BUF", "boendestod", "421210", "personal", 37500))
    ds = make_dataset(volymer=vol, ledger=ledger)
    p = params()
    df = NT.nyckeltal(p, ds, "2023-04", vu="SON-OPPNA-BUF")
    kpt = df[df["nyckeltal_id"] == "buf_kostnad_per_timme"]
    assert row(kpt, kluster="forebyggande").varde == 440
    assert row(kpt, kluster="boendestod").varde == 300
    assert row(kpt, kluster="").varde == pytest.approx(590000 / 1500)
    pt = df[df["nyckeltal_id"] == "buf_planerade_timmar"]
    assert row(pt, kluster="").varde == 1500
    assert set(df["status"]) == {"aktuell"}
    assert set(NT.nyckeltal(p, ds, "2023-03", vu="SON-OPPNA-BUF")["status"]) == {"ej aktuell denna period"}
    assert len(NT.nyckeltal(p, ds, "2023-03", vu="SON-OPPNA-BUF", endast_aktuella=True)) == 0


def test_son_housing_cost_per_place():
    """SON-BO-BU 2023 Jan-Apr: stödboende cost 400 000, 12 places: 400 000 × 12/4 / 12 = 100 000;
    LSS-boende 800 000, 16 places: 2 400 000 / 16 = 150 000; VU 3 600 000 / 28 = 128 571,43,
    compared with F 2023 63 700 000 / 28 = 2 275 000."""
    vol, ledger = [], []
    for m in range(1, 5):
        vol.append(V(f"2023-0{m}", "SON-BO-BU", "stodboende", "platser", 12))
        vol.append(V(f"2023-0{m}", "SON-BO-BU", "lss_boende", "platser", 16))
        ledger.append(L(f"2023-0{m}", "SON-BO-BU", "stodboende", "423110", "personal", 100000))
        ledger.append(L(f"2023-0{m}", "SON-BO-BU", "lss_boende", "423210", "personal", 200000))
    ds = make_dataset(volymer=vol, ledger=ledger)
    df = NT.nyckeltal(params(), ds, "2023-04", vu="SON-BO-BU")
    kp = df[df["nyckeltal_id"] == "bobu_kostnad_per_plats"]
    assert row(kp, kluster="stodboende").varde == 100000
    assert row(kp, kluster="lss_boende").varde == 150000
    v = row(kp, kluster="")
    assert v.varde == pytest.approx(3600000 / 28)
    assert v.jamforelse == pytest.approx(63700000 / 28)
    assert v.jamforelse_typ == "fastställd ersättning per plats"
    # beläggningsgrad is followed from 2024
    assert "bobu_belaggningsgrad" not in set(df["nyckeltal_id"])


def test_ej_foljda_and_all_periods():
    p = params()
    ej23 = NT.ej_foljda(p, 2023, 6)
    later = {n.id for n in p.katalog.nyckeltal if n.forsta_ar == 2024}
    assert set(ej23["nyckeltal_id"]) == later
    assert NT.ej_foljda(p, "2024-01").empty
    ds = make_dataset(ledger=[L("2023-12", "AN-VB", "somatik", "415110", "personal", 1),
                              L("2024-01", "AN-VB", "somatik", "415110", "personal", 1)])
    allp = NT.nyckeltal_all(p, ds)
    assert set(allp["period"]) == {"2023-12", "2024-01"}
    assert allp.attrs["trace"].period == "2024-01"
    one = NT.nyckeltal(p, ds, "2023-12")
    assert one.attrs["trace"].modellversion == "1.0"
    assert list(one.columns) == NT.COLUMNS
