"""Helårsprognos: run-rate and last year's profile, worked out by hand.

Run-rate:  Ê = F + rorlig_ack × 12/m (rorlig_ack = ersattning_ack − fixed parts paid),
           K̂ = kostnad_ack × 12/m, Ô = ovrig_intakt_ack × 12/m, M̂ = medel_ack.
Profile:   X̂ = X_ack / (X_{Y-1}(1..m) / X_{Y-1}(1..12)), M̂ = medel_ack.
F and the fixed monthly parts come from vu_lib.compensation (inputs here).
"""
from __future__ import annotations

import pytest
from modelkit import L, make_dataset, params, row

from vu_lib.model import forecast as FC
from vu_lib.model.compensation import fixed_compensation, monthly_fixed


def test_run_rate_variable_vu():
    """AN-OMR-NV (price annex, variable), 2026 months 1-2.

    ersattning booked = fixed parts of Jan+Feb + 600 variable; kostnad 2 × 1 500 = 3 000;
    ovrig_intakt 40; medel 500.
    rorlig_ack = 600 -> 600 × 12/2 = 3 600; Ê = F + 3 600
    K̂ = 3 000 × 6 = 18 000; Ô = 40 × 6 = 240; M̂ = 500
    R̂ = F + 3 600 + 500 + 240 − 18 000
    """
    p = params()
    parts = monthly_fixed(p, "AN-OMR-NV", 2026)
    F = fixed_compensation(p, "AN-OMR-NV", 2026)
    ds = make_dataset(ledger=[
        L("2026-01", "AN-OMR-NV", "hemtjanst", "411110", "ersattning", parts[0] + 250),
        L("2026-02", "AN-OMR-NV", "hemtjanst", "411110", "ersattning", parts[1] + 350),
        L("2026-01", "AN-OMR-NV", "hemtjanst", "411110", "personal", 1500),
        L("2026-02", "AN-OMR-NV", "hemtjanst", "411110", "personal", 1500),
        L("2026-02", "AN-OMR-NV", "hemtjanst", "411110", "ovrig_intakt", 40),
        L("2026-02", "AN-OMR-NV", "hemtjanst", "411110", "medel", 500),
    ])
    r = row(FC.forecast(p, ds, "2026-02"), vu="AN-OMR-NV")
    assert r.fast_ack == parts[0] + parts[1]
    assert r.rorlig_ack == 600
    assert r.arstakt_rorlig == 3600
    assert r.arstakt_ersattning == F + 3600
    assert (r.arstakt_kostnad, r.arstakt_ovrig_intakt, r.arstakt_medel) == (18000, 240, 500)
    assert r.arstakt_resultat == pytest.approx(F + 3600 + 500 + 240 - 18000)
    assert r.fast_helar == F


def test_run_rate_fixed_vu_takes_F():
    """AN-VB has fixed compensation only: Ê = F whatever was booked; K̂ = 9 000 × 12/3 = 36 000."""
    p = params()
    F = fixed_compensation(p, "AN-VB", 2025)
    ds = make_dataset(ledger=[
        L(f"2025-0{m}", "AN-VB", "somatik", "415110", "personal", 3000) for m in (1, 2, 3)
    ] + [L("2025-03", "AN-VB", "somatik", "415110", "ersattning", 123)])
    r = row(FC.forecast(p, ds, 2025, 3), vu="AN-VB")
    assert r.rorlig_ack == 0
    assert r.arstakt_ersattning == F
    assert r.arstakt_kostnad == 36000
    assert r.arstakt_resultat == F - 36000


@pytest.fixture
def two_years():
    """AN-VB: 2025 complete, 2026 to March.

    2025 kostnad: 90 a month Jan-Mar (270), 110 a month Apr-Dec (990): full 1 260,
         share of months 1..3 = 270/1 260 = 3/14.
    2025 ersattning: 100 a month: full 1 200, share 3/12 = 1/4.
    2025 ovrig_intakt: none.
    2026 YTD March: kostnad 300, ersattning 330, ovrig_intakt 30, medel 50.
    """
    rows = []
    for m in range(1, 13):
        rows.append(L(f"2025-{m:02d}", "AN-VB", "demens", "415210", "personal", 90 if m <= 3 else 110))
        rows.append(L(f"2025-{m:02d}", "AN-VB", "demens", "415210", "ersattning", 100))
    rows += [
        L("2026-01", "AN-VB", "demens", "415210", "personal", 100),
        L("2026-02", "AN-VB", "demens", "415210", "personal", 100),
        L("2026-03", "AN-VB", "demens", "415210", "personal", 100),
        L("2026-03", "AN-VB", "demens", "415210", "ersattning", 330),
        L("2026-03", "AN-VB", "demens", "415210", "ovrig_intakt", 30),
        L("2026-02", "AN-VB", "demens", "415210", "medel", 50),
    ]
    return make_dataset(ledger=rows)


def test_profile_method(two_years):
    """K̂ = 300 / (3/14) = 1 400; Ê = 330 / (1/4) = 1 320; Ô: no profile, run-rate 30 × 4 = 120;
    M̂ = 50; R̂ = 1 320 + 50 + 120 − 1 400 = 90.  Run-rate K̂ = 1 200, so the methods differ."""
    p = params()
    df = FC.forecast(p, two_years, "2026-03")
    r = row(df, vu="AN-VB")
    assert r.profil_andel_kostnad == pytest.approx(3 / 14)
    assert r.profil_kostnad == pytest.approx(1400)
    assert r.profil_ersattning == pytest.approx(1320)
    assert r.profil_ovrig_intakt == pytest.approx(120)
    assert r.profil_medel == 50
    assert r.profil_resultat == pytest.approx(90)
    assert "övriga intäkter: årstakt används" in r.profil_notering
    F = fixed_compensation(p, "AN-VB", 2026)
    assert r.arstakt_resultat == pytest.approx(F + 50 + 120 - 1200)
    assert r.skillnad_resultat == pytest.approx(r.arstakt_resultat - 90)
    # a VU without any bookings: every component 0 both years -> 0, no note
    e = row(df, vu="SON-BO-BU")
    assert (e.profil_resultat, e.profil_notering) == (0, "")


def test_total_row_sums_the_nine(two_years):
    df = FC.forecast(params(), two_years, "2026-03")
    tot = df[df["radtyp"] == "totalt"].iloc[0]
    nine = df[df["radtyp"] == "vu"]
    assert len(nine) == 9
    assert tot.profil_resultat == pytest.approx(nine["profil_resultat"].sum())
    assert tot.arstakt_resultat == pytest.approx(nine["arstakt_resultat"].sum())
    assert list(df["radtyp"]) == ["vu"] * 9 + ["totalt", "separat"]


def test_first_year_profile_is_nan_with_note(two_years):
    p = params()
    df = FC.forecast(p, two_years, "2025-06")
    assert df["profil_resultat"].isna().all()
    assert (df["profil_notering"] == "Inget fullständigt utfall för 2024: profilmetoden kan inte användas").all()
    # the run-rate still works
    r = row(df, vu="AN-VB")
    # kostnad Jan-Jun 2025: 3 × 90 + 3 × 110 = 600 -> × 12/6 = 1 200
    assert r.arstakt_kostnad == 1200


def test_december_equals_outcome_when_last_year_complete(two_years):
    """Extend 2026 to December: the profile forecast at 2026-12 is the 2026 outcome."""
    rows = []
    for m in range(4, 13):
        rows.append(L(f"2026-{m:02d}", "AN-VB", "demens", "415210", "personal", 120))
    ds = make_dataset(ledger=list(two_years.ledger.drop(columns=["ar", "manad"]).to_dict("records")) + rows)
    r = row(FC.forecast(params(), ds, "2026-12"), vu="AN-VB")
    # 2026: revenue 330 + 30 + 50 = 410; cost 300 + 9 × 120 = 1 380; result −970
    assert r.resultat_ack == -970
    assert r.profil_resultat == pytest.approx(-970)
    assert r.profil_kostnad == pytest.approx(1380)


def test_forecast_all_and_trace(two_years):
    p = params()
    df = FC.forecast_all(p, two_years)
    assert set(df["period"]) == {f"2025-{m:02d}" for m in range(1, 13)} | {"2026-01", "2026-02", "2026-03"}
    one = FC.forecast(p, two_years, "2026-03")
    assert one.attrs["trace"].period == "2026-03"


def test_one_prognosis_by_the_method_in_params(two_years):
    """AN-VB takes the registry default (profil): prognosis 90 (test_profile_method), the run-rate
    F + 50 + 120 − 1 200 the other end of the range. SON-BO-VUX's own choice is årstakt."""
    p = params()
    assert p.prognosval("AN-VB").metod == "profil" and p.prognosval("SON-BO-VUX").metod == "arstakt"
    assert "årstakten inte fångar" in p.prognosval("AN-VB").motivering
    pr = FC.prognosis(p, two_years, "2026-03")
    r = row(pr, vu="AN-VB")
    F = fixed_compensation(p, "AN-VB", 2026)
    run = F + 50 + 120 - 1200
    assert (r.metod, r.reserv, r.alternativ_metod) == ("profil", False, "arstakt")
    assert r.prognos == pytest.approx(90)
    assert r.alternativ == pytest.approx(run)
    assert (r.lag, r.hog) == (pytest.approx(min(90, run)), pytest.approx(max(90, run)))
    s = row(pr, vu="SON-BO-VUX")
    assert s.metod == "arstakt" and "LSS gruppbostad" in s.motivering
    # the total: Σ of each VU's prognosis, range Σ of the low ends to Σ of the high ends
    nine = pr[pr["vu"].isin(p.vu_ids())]
    tot = FC.prognosis_total(nine)
    assert tot["prognos"] == pytest.approx(nine["prognos"].sum())
    assert tot["lag"] <= tot["prognos"] <= tot["hog"]


def test_prognosis_falls_back_to_the_other_method_when_the_profile_cannot_be_formed(two_years):
    """2025-06: 2024 is not complete, so the profile is NaN: the run-rate is the prognosis, marked reserv,
    and the range is that one figure. kostnad Jan-Jun 2025 600 × 12/6 = 1 200."""
    p = params()
    r = row(FC.prognosis(p, two_years, "2025-06"), vu="AN-VB")
    F = fixed_compensation(p, "AN-VB", 2025)
    assert (r.metod, r.reserv) == ("arstakt", True)
    assert r.prognos == pytest.approx(F - 1200)
    assert r.lag == r.hog == r.prognos

