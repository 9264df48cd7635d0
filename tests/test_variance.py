"""Variance analysis: volume effect (q_a − q_b) c_b and price/efficiency effect (c_a − c_b) q_a.

Expected numbers by hand; total deviation Δ = K − q_b c_b = q_a c_a − q_b c_b.
"""
from __future__ import annotations

import numpy as np
import pytest
from modelkit import L, V, make_dataset, params, row

from vu_lib.model import variance as VA
from vu_lib.model.compensation import monthly_fixed, rate


def test_omradesansvar_hours_at_the_price_annex_rate_plus_the_allocated_fixed_part():
    """AN-OMR-NV 2023, Jan-Feb (prisbilaga 1: hemtjänst 498,00 kr/h, hemsjukvård 612,00 kr/h).

    Hourly budget: hemtjänst q_b = 110 + 100 = 210 h × 498 = 104 580;
                   hemsjukvård q_b = 50 + 50 = 100 h × 612 = 61 200; rehab none; Σ = 165 780.
    Fixed part paid Jan-Feb: F = 14 200 000, cumulative twelfths round(F × 2/12) = 2 366 667.
    Allocated by budgeted hourly compensation, in öre (236 666 700 öre):
      hemtjänst   236 666 700 × 104 580 / 165 780 = 149 297 885,67… öre
      hemsjukvård 236 666 700 ×  61 200 / 165 780 =  87 368 814,33… öre
      floors sum to 236 666 699; the 1 öre left goes to the larger remainder (hemtjänst):
      hemtjänst 1 492 978,86 kr, hemsjukvård 873 688,14 kr (sum 2 366 667,00).
    hemtjänst: q_a = Leanlink 100 + 120 = 220 h (private hours are not Leanlink's), K = 115 000
      B = 104 580 + 1 492 978,86 = 1 597 558,86; Δ = 115 000 − 1 597 558,86 = −1 482 558,86
      volymeffekt = (220 − 210) × 498 = 4 980 (the hourly compensation moves with the hours)
      pris/effektivitet = K − F_c − q_a c_b = 115 000 − 1 492 978,86 − 109 560 = −1 487 538,86
    hemsjukvård: q_a = 95 h, K = 900 000
      B = 61 200 + 873 688,14 = 934 888,14; Δ = −34 888,14; volym = −5 × 612 = −3 060; pris = −31 828,14
    VU row: B = 165 780 + 2 366 667 = 2 532 447 (= budgeted hours × rate + the fixed part paid),
      K = 1 015 000, Δ = −1 517 447, fast_del = 2 366 667.
    """
    ds = make_dataset(
        ledger=[L("2023-01", "AN-OMR-NV", "hemtjanst", "411110", "personal", 50000),
                L("2023-01", "AN-OMR-NV", "hemtjanst", "411120", "ovrig_kostnad", 10000),
                L("2023-02", "AN-OMR-NV", "hemtjanst", "411110", "personal", 55000),
                L("2023-02", "AN-OMR-NV", "hemsjukvard", "411210", "personal", 900000),
                L("2023-02", "AN-OMR-NV", "hemtjanst", "411110", "ersattning", 999999)],   # revenue: not cost
        volymer=[V("2023-01", "AN-OMR-NV", "hemtjanst", "utforda_timmar", 100, "leanlink"),
                 V("2023-02", "AN-OMR-NV", "hemtjanst", "utforda_timmar", 120, "leanlink"),
                 V("2023-01", "AN-OMR-NV", "hemtjanst", "utforda_timmar", 70, "privat"),
                 V("2023-01", "AN-OMR-NV", "hemtjanst", "budget_timmar", 110),
                 V("2023-02", "AN-OMR-NV", "hemtjanst", "budget_timmar", 100),
                 V("2023-01", "AN-OMR-NV", "hemsjukvard", "budget_timmar", 50),
                 V("2023-02", "AN-OMR-NV", "hemsjukvard", "budget_timmar", 50),
                 V("2023-02", "AN-OMR-NV", "hemsjukvard", "utforda_timmar", 95, "leanlink")],
    )
    df = VA.variance(params(), ds, "2023-02", vu="AN-OMR-NV")
    r = row(df, kluster="hemtjanst")
    assert (r.metod, r.matt) == ("prisbilaga", "timmar")
    assert (r.volym_utfall, r.volym_budget, r.pris_budget) == (220, 210, 498)
    assert r.fast_del == pytest.approx(1492978.86, abs=1e-6)
    assert r.kostnad_utfall == 115000
    assert r.kostnad_budget == pytest.approx(1597558.86, abs=1e-6)
    assert r.avvikelse == pytest.approx(-1482558.86, abs=1e-6)
    assert r.volymeffekt == 4980
    assert r.pris_effektivitetseffekt == pytest.approx(-1487538.86, abs=1e-6)
    h = row(df, kluster="hemsjukvard")
    assert h.fast_del == pytest.approx(873688.14, abs=1e-6)
    assert (h.kostnad_budget, h.avvikelse) == (pytest.approx(934888.14, abs=1e-6), pytest.approx(-34888.14, abs=1e-6))
    assert (h.volymeffekt, h.pris_effektivitetseffekt) == (-3060, pytest.approx(-31828.14, abs=1e-6))
    v = row(df, kluster="")
    assert (v.kostnad_budget, v.kostnad_utfall, v.avvikelse, v.fast_del) == (2532447, 1015000, -1517447, 2366667)


def test_rate_revision_within_the_year():
    """AN-OMR-NO hemsjukvård 2026: revision 4.1 sets 645,00 from July; June has the indexed rate R6.

    q_b = 100 (Jun) + 100 (Jul): B = 100 R6 + 100 × 645; c_b = B / 200
    q_a = 90 + 130 = 220; K = 150 000
    """
    p = params()
    r6 = float(rate(p, "AN-OMR-NO", "hemsjukvard", 2026, 6))
    ds = make_dataset(
        ledger=[L("2026-07", "AN-OMR-NO", "hemsjukvard", "412210", "personal", 150000)],
        volymer=[V("2026-06", "AN-OMR-NO", "hemsjukvard", "budget_timmar", 100),
                 V("2026-07", "AN-OMR-NO", "hemsjukvard", "budget_timmar", 100),
                 V("2026-06", "AN-OMR-NO", "hemsjukvard", "utforda_timmar", 90, "leanlink"),
                 V("2026-07", "AN-OMR-NO", "hemsjukvard", "utforda_timmar", 130, "leanlink")],
    )
    r = row(VA.variance(p, ds, 2026, 7, vu="AN-OMR-NO"), kluster="hemsjukvard")
    B = 100 * r6 + 100 * 645
    # the only cluster with budgeted hours takes all of the fixed part paid January-July
    F_ytd = sum(monthly_fixed(p, "AN-OMR-NO", 2026)[:7])
    assert r.fast_del == F_ytd
    assert r.kostnad_budget == pytest.approx(B + F_ytd, abs=0.005)
    assert r.pris_budget == pytest.approx(B / 200, abs=0.005)
    assert r.volymeffekt == pytest.approx((220 - 200) * B / 200, abs=0.005)
    assert r.avvikelse == pytest.approx(150000 - B - F_ytd, abs=0.005)


def test_vardboende_referenskostnad():
    """AN-VB 2023, Jan-Feb. F = 196 500 000 paid in twelfths of 16 375 000: F_ytd = 32 750 000.

    Budgeted belagda dygn: somatik 6 000, demens 5 000, korttid 2 100 = 13 100 -> c_b = 2 500 kr/dygn
    somatik: q_a = 5 900, K = 15 000 000; B = 6 000 × 2 500 = 15 000 000; Δ = 0
             volymeffekt = −100 × 2 500 = −250 000; pris = +250 000
    demens:  q_a = 5 000, K = 12 000 000; B = 12 500 000; Δ = −500 000; volym 0; pris −500 000
    """
    vol = []
    for k, qb, qa in (("somatik", 6000, 5900), ("demens", 5000, 5000), ("korttid", 2100, 2100)):
        for m, share in ((1, 0.5), (2, 0.5)):
            vol.append(V(f"2023-0{m}", "AN-VB", k, "budget_belagda_dygn", qb * share))
            vol.append(V(f"2023-0{m}", "AN-VB", k, "belagda_dygn", qa * share))
    ds = make_dataset(
        ledger=[L("2023-02", "AN-VB", "somatik", "415110", "personal", 9000000),
                L("2023-02", "AN-VB", "somatik", "415120", "personal", 6000000),
                L("2023-01", "AN-VB", "demens", "415210", "personal", 12000000),
                L("2023-02", "AN-VB", "korttid", "415310", "personal", 5250000)],
        volymer=vol,
    )
    df = VA.variance(params(), ds, "2023-02", vu="AN-VB")
    s = row(df, kluster="somatik")
    assert (s.metod, s.matt, s.pris_budget) == ("dygn", "dygn", 2500)
    assert (s.kostnad_budget, s.avvikelse, s.volymeffekt, s.pris_effektivitetseffekt) == (15e6, 0, -250000, 250000)
    d = row(df, kluster="demens")
    assert (d.avvikelse, d.volymeffekt, d.pris_effektivitetseffekt) == (-500000, 0, -500000)
    # korttid: 2 100 × 2 500 = 5 250 000 = K
    assert row(df, kluster="korttid").avvikelse == 0
    # the VU: Σ B = F_ytd exactly, Σ K = 32 250 000
    v = row(df, kluster="")
    assert (v.kostnad_budget, v.kostnad_utfall, v.avvikelse) == (32750000, 32250000, -500000)


def test_son_open_schablon_per_hour():
    """SON-OPPNA-VUX 2023-01, schablon 2023:

    S_underskoterska = round((342 000 × 1,00 × 1,445 + 38 000) × 1,06) = 564 121
    S_behandlingsassistent = round((342 000 × 1,05 × 1,445 + 38 000) × 1,06) = 590 313
    S_socionom = round((342 000 × 1,25 × 1,445 + 38 000) × 1,06) = 695 082
    boendestöd: 2 usk + 2 beh: k = (2 × 564 121 + 2 × 590 313) / (1 600 × 4) = 360,760… -> 360,76
      q_b = 1 000 planned, q_a = 900 performed, K = 400 000
      B = 360 760; Δ = 39 240; volym = −100 × 360,76 = −36 076; pris = 75 316
    förebyggande: 1 socionom: k = 695 082 / 1 600 = 434,426… -> 434,43; no performed hours:
      q_a = q_b = 500, volym 0; K = 230 000, B = 217 215, Δ = pris = 12 785
    dag_fritid: no staffing -> no schablon price: NaN with a note
    """
    ds = make_dataset(
        ledger=[L("2023-01", "SON-OPPNA-VUX", "boendestod", "422210", "personal", 400000),
                L("2023-01", "SON-OPPNA-VUX", "forebyggande", "422110", "personal", 230000),
                L("2023-01", "SON-OPPNA-VUX", "dag_fritid", "422310", "personal", 100000)],
        volymer=[V("2023-01", "SON-OPPNA-VUX", "boendestod", "planerade_timmar", 1000),
                 V("2023-01", "SON-OPPNA-VUX", "boendestod", "utforda_timmar", 900, "leanlink"),
                 V("2023-01", "SON-OPPNA-VUX", "forebyggande", "planerade_timmar", 500),
                 V("2023-01", "SON-OPPNA-VUX", "dag_fritid", "planerade_timmar", 300)],
        bemanning=[
            {"period": "2023-01", "vu": "SON-OPPNA-VUX", "kluster": "boendestod", "enhet": "422210",
             "utbildningsniva": "underskoterska", "arsarbetare": 2.0},
            {"period": "2023-01", "vu": "SON-OPPNA-VUX", "kluster": "boendestod", "enhet": "422210",
             "utbildningsniva": "behandlingsassistent", "arsarbetare": 2.0},
            {"period": "2023-01", "vu": "SON-OPPNA-VUX", "kluster": "forebyggande", "enhet": "422110",
             "utbildningsniva": "socionom", "arsarbetare": 1.0},
        ],
    )
    df = VA.variance(params(), ds, "2023-01", vu="SON-OPPNA-VUX")
    b = row(df, kluster="boendestod")
    assert (b.metod, b.pris_budget, b.volym_budget, b.volym_utfall) == ("schablon", 360.76, 1000, 900)
    assert (b.kostnad_budget, b.avvikelse, b.volymeffekt, b.pris_effektivitetseffekt) == (360760, 39240, -36076, 75316)
    assert b.notering == ""
    f = row(df, kluster="forebyggande")
    assert (f.pris_budget, f.volym_utfall, f.volymeffekt) == (434.43, 500, 0)
    assert (f.kostnad_budget, f.avvikelse, f.pris_effektivitetseffekt) == (217215, 12785, 12785)
    assert "planerade timmar används" in f.notering
    d = row(df, kluster="dag_fritid")
    assert np.isnan(d.pris_budget) and np.isnan(d.avvikelse)
    assert "Bemanning saknas" in d.notering
    # the VU row cannot be complete without dag_fritid's budget
    v = row(df, kluster="")
    assert np.isnan(v.avvikelse) and "saknar budgetpris" in v.notering


def test_effects_add_up_exactly_to_the_ore():
    """Random öre amounts and hours over a year: volym + pris == Δ to the öre on every row."""
    rng = np.random.default_rng(11)
    ledger, vol = [], []
    for m in range(1, 13):
        per = f"2024-{m:02d}"
        for vu, k, e in (("AN-OMR-CN", "hemtjanst", "413110"), ("AN-OMR-CN", "hemsjukvard", "413210"),
                         ("AN-OMR-CN", "hemrehabilitering", "413310")):
            ledger.append(L(per, vu, k, e, "personal", round(float(rng.uniform(1e5, 1e7)), 2)))
            ledger.append(L(per, vu, k, e, "ovrig_kostnad", round(float(rng.uniform(1e3, 1e5)), 2)))
            vol.append(V(per, vu, k, "utforda_timmar", round(float(rng.uniform(100, 20000)), 1), "leanlink"))
            vol.append(V(per, vu, k, "budget_timmar", round(float(rng.uniform(100, 20000)), 1)))
        for k in ("somatik", "demens", "korttid"):
            vol.append(V(per, "AN-VB", k, "belagda_dygn", int(rng.integers(500, 3000))))
            vol.append(V(per, "AN-VB", k, "budget_belagda_dygn", int(rng.integers(500, 3000))))
        ledger.append(L(per, "AN-VB", "somatik", "415110", "personal", round(float(rng.uniform(1e6, 9e6)), 2)))
        ledger.append(L(per, "AN-VB", "korttid", "415310", "personal", round(float(rng.uniform(1e6, 9e6)), 2)))
    ds = make_dataset(ledger=ledger, volymer=vol)
    df = VA.variance_all(params(), ds)
    df = df[df["vu"].isin(["AN-OMR-CN", "AN-VB"])]
    assert len(df) == 12 * (4 + 4)               # per month: 3 + 1 rows for each of the two VU
    ore = lambda x: np.round(np.asarray(x, dtype=float) * 100).astype(np.int64)  # noqa: E731
    assert (ore(df["volymeffekt"]) + ore(df["pris_effektivitetseffekt"]) == ore(df["avvikelse"])).all()
    assert (ore(df["kostnad_utfall"]) - ore(df["kostnad_budget"]) == ore(df["avvikelse"])).all()
    cl = df[df["kluster"] != ""]
    # each effect is its formula to within the rounding of c_b (shown to öre) and of the amounts
    qa, qb = cl["volym_utfall"], cl["volym_budget"]
    fixed = cl["fast_del"].fillna(0.0)
    cb = (cl["kostnad_budget"] - fixed) / qb
    ca = (cl["kostnad_utfall"] - fixed) / qa
    assert np.allclose(cl["volymeffekt"], (qa - qb) * cb, atol=0.01)
    assert np.allclose(cl["pris_effektivitetseffekt"], (ca - cb) * qa, atol=0.02)
    # the fixed part allocated to the clusters is the fixed compensation paid to date, to the öre
    omr = cl[cl["vu"] == "AN-OMR-CN"].groupby("manad")["fast_del"].sum()
    cum = np.cumsum(monthly_fixed(params(), "AN-OMR-CN", 2024))
    assert (ore(omr.to_numpy()) == cum * 100).all()


def test_variance_vus():
    assert VA.variance_vus(params()) == {
        "AN-OMR-NV": "prisbilaga", "AN-OMR-NO": "prisbilaga", "AN-OMR-CN": "prisbilaga",
        "AN-VB": "dygn", "SON-OPPNA-BUF": "schablon", "SON-OPPNA-VUX": "schablon",
    }
