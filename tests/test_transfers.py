"""Monthly transfers SoF → Leanlink and their reconciliation (vu_lib.transfers), worked by hand.

AN-OMR-NO 2026 (see test_compensation):
  fixed F = 13 336 597 including 300 000 from version 4.1 (July);
  monthly_fixed = 1 086 383 × 5, 1 086 384 (June), 1 136 383 × 6 (July–December).
  hemtjänst område 2: 505 → 526,715 → 526,72 → × 1,0312 = 543,153664 → 543,15
                       → × 1,0272 = 557,92368 → 557,92 kr/h
  hemsjukvård område 2: 682,76 kr/h to June, 645,00 from July (4.1).
"""
from decimal import Decimal


from modelkit import make_dataset, params, with_year
from vu_lib.model.compensation import monthly_fixed
from vu_lib.model.transfers import (
    differing_months,
    exact_sum,
    monthly_transfers,
    reconcile_transfers,
    reconciliation_summary,
    transfer_totals,
    transfers,
    variable_detail,
)

NO = "AN-OMR-NO"


def _vol(period, kluster, varde, utforare="leanlink", enhet=""):
    return {"period": period, "vu": NO, "kluster": kluster, "enhet": enhet, "matt": "utforda_timmar",
            "utforare": utforare, "varde": varde}


def _book(period, belopp, kontoslag="overforing", vu=NO):
    return {"period": period, "kodtyp": "KOMPLEMENT", "vu": vu, "kluster": "hemtjanst", "enhet": "72110",
            "kontoslag": kontoslag, "belopp": belopp}


def _dataset():
    volymer = [
        # June: two units 1 000 + 500,5 = 1 500,5 h; the cluster-level row is ignored when unit rows exist
        _vol("2026-06", "hemtjanst", 1000, enhet="412110"),
        _vol("2026-06", "hemtjanst", 500.5, enhet="412120"),
        _vol("2026-06", "hemtjanst", 1500.5),
        # private providers' hours are not Leanlink's
        _vol("2026-06", "hemtjanst", 300, utforare="privat"),
        _vol("2026-06", "hemsjukvard", 100),
        # July: only a cluster-level row
        _vol("2026-07", "hemtjanst", 1200),
        _vol("2026-07", "hemsjukvard", 100),
        # budgeted hours are not paid
        {"period": "2026-07", "vu": NO, "kluster": "hemtjanst", "matt": "budget_timmar", "varde": 5000},
    ]
    medel = [{"id": "MED-1", "period": "2026-07", "vu": NO, "typ": "statsbidrag", "belopp": 250_000.50,
              "beskrivning": "Statsbidrag", "aterrapporteringskrav": "Redovisning"}]
    ledger = [
        _book("2026-01", 1_086_383.00),
        _book("2026-02", 1_086_383.00),
        _book("2026-03", 1_086_383.01),  # one öre too much
        # April: nothing booked
        _book("2026-05", 1_086_383.00),
        # June booked in two rows: 1 991 818,86 + 0,10 = 1 991 818,96
        _book("2026-06", 1_991_818.86),
        {**_book("2026-06", 0.10), "enhet": "72120"},
        _book("2026-07", 1_870_387.00),
        _book("2026-07", 250_000.50, "overforing_medel"),
    ]
    return make_dataset(ledger=ledger, volymer=volymer, medel=medel)


def test_variable_detail_per_service():
    df = variable_detail(params(), _dataset(), NO, 2026, 7)
    v = df.set_index(["period", "tjanst"])
    # June hemtjänst: 1 500,5 × 557,92 = 836 880 + 278,96 = 837 158,96
    assert v.loc[("2026-06", "hemtjanst"), "volym"] == 1500.5
    assert v.loc[("2026-06", "hemtjanst"), "pris"] == 557.92
    assert v.loc[("2026-06", "hemtjanst"), "belopp"] == 837_158.96
    # June hemsjukvård 100 × 682,76 = 68 276,00; July 100 × 645,00 = 64 500,00 (version 4.1)
    assert v.loc[("2026-06", "hemsjukvard"), "belopp"] == 68_276.00
    assert v.loc[("2026-07", "hemsjukvard"), "pris"] == 645.00
    assert v.loc[("2026-07", "hemsjukvard"), "belopp"] == 64_500.00
    # July hemtjänst from the cluster row: 1 200 × 557,92 = 669 504,00
    assert v.loc[("2026-07", "hemtjanst"), "belopp"] == 669_504.00
    # January: no volume → 0
    assert v.loc[("2026-01", "hemtjanst"), "belopp"] == 0
    assert len(df) == 3 * 7


def test_monthly_transfers_parts():
    df = monthly_transfers(params(), _dataset(), NO, 2026, 12).set_index("period")
    # January: fixed only, 1 086 383
    assert tuple(df.loc["2026-01", ["fast", "rorlig", "medel", "overforing"]]) == (1_086_383, 0, 0, 1_086_383)
    # June: 1 086 384 + (837 158,96 + 68 276,00 = 905 434,96) = 1 991 818,96
    assert df.loc["2026-06", "fast"] == 1_086_384
    assert df.loc["2026-06", "rorlig"] == 905_434.96
    assert df.loc["2026-06", "overforing"] == 1_991_818.96
    # July: 1 136 383 + (669 504 + 64 500 = 734 004) + 250 000,50 medel = 2 120 387,50
    assert tuple(df.loc["2026-07", ["fast", "rorlig", "medel", "overforing"]]) == (1_136_383, 734_004.0, 250_000.5, 2_120_387.5)
    assert df.loc["2026-06", "modellversion"] == "4.0" and df.loc["2026-07", "modellversion"] == "4.1"
    assert df.attrs["trace"].modellversion == "4.1"


def test_year_transfers_sum_exactly_to_f_plus_variable_plus_medel():
    p, ds = params(), _dataset()
    tot = transfer_totals(p, ds, NO, 2026, 12)
    # F = 13 336 597; Σ V = 905 434,96 + 734 004,00 = 1 639 438,96; Σ M = 250 000,50
    # Σ T = 13 336 597 + 1 639 438,96 + 250 000,50 = 15 226 036,46
    assert tot["fast"] == Decimal("13336597")
    assert tot["rorlig"] == Decimal("1639438.96")
    assert tot["medel"] == Decimal("250000.50")
    assert tot["overforing"] == Decimal("15226036.46")
    df = monthly_transfers(p, ds, NO, 2026, 12)
    assert exact_sum(df["overforing"]) == Decimal("15226036.46")


def test_vu_without_variable_part_and_ekb():
    p, ds = params(), _dataset()
    assert variable_detail(p, ds, "SON-BO-BU", 2026, 12).empty
    ekb = monthly_transfers(p, ds, "EKB", 2026, 12)
    assert (ekb["rorlig"] == 0).all()
    # EKB 2026 is 5 300 000 as regulated; twelfths sum exactly
    assert exact_sum(ekb["overforing"]) == Decimal("5300000")


def test_default_to_month_is_last_ledger_month_of_year():
    df = transfers(params(), _dataset(), 2026)
    # ledger runs to 2026-07: 10 lines (nine VU + EKB) × 7 months
    assert len(df) == 70
    assert set(df["vu"]) == set(params().vu_ids(include_separata=True))
    assert df["manad"].max() == 7


def test_reconciliation_against_komplement_bookings():
    p, ds = params(), _dataset()
    rec = reconcile_transfers(p, ds, 2026, 7, vu_ids=[NO])
    r = rec.set_index("period")
    # March: booked 1 086 383,01 − computed 1 086 383 = +0,01: within the 1 kr tolerance, rounding
    assert r.loc["2026-03", "skillnad"] == 0.01 and not r.loc["2026-03", "avviker"]
    assert r.loc["2026-03", "avrundning"] and not r.loc["2026-04", "avrundning"]
    # April: nothing booked: 0 − 1 086 383 = −1 086 383
    assert r.loc["2026-04", "skillnad"] == -1_086_383.0
    # June booked in two rows summing to the computed 1 991 818,96: no difference
    assert r.loc["2026-06", "bokford"] == 1_991_818.96 and not r.loc["2026-06", "avviker"]
    # July: overforing 1 870 387,00 + overforing_medel 250 000,50 = 2 120 387,50 = computed
    assert r.loc["2026-07", "bokford_medel"] == 250_000.5 and r.loc["2026-07", "skillnad"] == 0
    assert differing_months(rec) == {NO: ["2026-04"]}
    s = reconciliation_summary(rec).iloc[0]
    assert s["antal_avvikande"] == 1 and s["avvikande_manader"] == "2026-04"
    # Σ skillnad = 0,01 − 1 086 383 = −1 086 382,99, of which −1 086 383 real and +0,01 rounding
    assert s["skillnad"] == -1_086_382.99
    assert (s["avvikelse"], s["avrundning"], s["antal_avrundning"]) == (-1_086_383.0, 0.01, 1)


def test_reconciliation_covers_nine_vu_and_ekb():
    rec = reconcile_transfers(params(), _dataset(), 2026, 2)
    assert list(dict.fromkeys(rec["vu"])) == params().vu_ids(include_separata=True)
    # nothing is booked for EKB: both months differ by the twelfths of 5 300 000
    # 5 300 000 / 12 = 441 666,67: round(441 666,67) = 441 667; round(883 333,33) − 441 667 = 441 666
    ekb = rec[rec["vu"] == "EKB"]
    assert ekb["skillnad"].tolist() == [-441_667.0, -441_666.0]
    assert differing_months(rec)["EKB"] == ["2026-01", "2026-02"]
    assert NO not in differing_months(rec)
    assert "trace" in rec.attrs


def _booked(vu, amounts, year=2024):
    return [{"period": f"{year}-{m:02d}", "kodtyp": "KOMPLEMENT", "vu": vu, "kluster": "", "enhet": "",
             "kontoslag": "overforing", "belopp": float(a)} for m, a in enumerate(amounts, start=1)]


def test_reconciliation_flags_only_real_differences_not_rounding():
    """SON-BO-BU 2024 (fixed only): F = 66 439 100 (read back from the model; F mod 12 = 8),
    F/12 = 5 536 591,666…

    The default rounding (``kronor``) books cumulative whole-kronor twelfths:
    5 536 592, 5 536 591, 5 536 592, … (round(F m/12) − round(F (m−1)/12)). Ways SoF may book:
    - F/12 to the öre, 5 536 591,67 × 11 and December 66 439 100 − 60 902 508,37 = 5 536 591,63:
      every month within 1 kr of the model (−0,33 … +0,67 kr): rounding, nothing flagged;
    - whole kronor by cumulative rounding: equal to the model, nothing to show;
    - the model's twelfths but 10 000 kr short in May: the one real difference, flagged;
    - whole kronor round(F/12) = 5 536 592 × 11 = 60 902 512 with the remainder in December,
      5 536 588: with ``avrundning: kronor_sista_manad`` the model books the same, nothing flagged.
    """
    from decimal import ROUND_HALF_UP

    p = params()
    vu = "SON-BO-BU"
    model = monthly_fixed(p, vu, 2024)
    F = sum(model)
    assert F == 66_439_100 and model[:3] == [5_536_592, 5_536_591, 5_536_592]
    tw = (Decimal(F) / 12).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert tw == Decimal("5536591.67")
    ore_booked = [tw] * 11 + [Decimal(F) - 11 * tw]
    assert ore_booked[-1] == Decimal("5536591.63")
    real = list(model)
    real[4] -= 10_000
    for booked, expect in ((ore_booked, {}), (model, {}), (real, {vu: ["2024-05"]})):
        assert sum(Decimal(str(x)) for x in booked) == F - (10_000 if expect else 0)
        rec = reconcile_transfers(p, make_dataset(ledger=_booked(vu, booked)), 2024, 12, vu_ids=[vu])
        assert differing_months(rec) == expect
    rec = reconcile_transfers(p, make_dataset(ledger=_booked(vu, real)), 2024, 12, vu_ids=[vu])
    assert rec.loc[rec["avviker"], "skillnad"].tolist() == [-10_000.0]
    # the öre booking: every difference is shown as rounding, none as a deviation
    rec = reconcile_transfers(p, make_dataset(ledger=_booked(vu, ore_booked)), 2024, 12, vu_ids=[vu])
    assert rec["skillnad"].abs().max() < 1 and rec["avrundning"].sum() == (rec["skillnad"] != 0).sum() == 12
    s = reconciliation_summary(rec).iloc[0]
    assert (s["antal_avvikande"], s["avvikelse"], s["antal_avrundning"]) == (0, 0, 12)
    # whole kronor with the remainder in December, and the parameter saying so
    kr_booked = [5_536_592] * 11 + [5_536_588]
    pk = with_year(p, 2024, overforing={"avrundning": "kronor_sista_manad"})
    assert monthly_fixed(pk, vu, 2024) == kr_booked
    rec = reconcile_transfers(pk, make_dataset(ledger=_booked(vu, kr_booked)), 2024, 12, vu_ids=[vu])
    assert not rec["avviker"].any() and not rec["avrundning"].any()
    # ... and with the öre booking against that model, still only rounding except December (−3,63 kr)
    rec = reconcile_transfers(pk, make_dataset(ledger=_booked(vu, ore_booked)), 2024, 12, vu_ids=[vu])
    assert differing_months(rec) == {vu: ["2024-12"]}
    # tolerance 0: every öre is a deviation
    p0 = with_year(p, 2024, overforing={"avrundning": "kronor", "tolerans": 0})
    rec0 = reconcile_transfers(p0, make_dataset(ledger=_booked(vu, ore_booked)), 2024, 12, vu_ids=[vu])
    assert len(differing_months(rec0)[vu]) == 12


def test_fixed_transfer_rounding_modes():
    """F = 5 300 000 (EKB 2026) over twelve months.

    kronor:             cumulative rounding: 441 667, 441 666, 441 667, … (round(F m/12) − round(F (m−1)/12))
    kronor_sista_manad: round(441 666,67) = 441 667 × 11 = 4 858 337; December 5 300 000 − 4 858 337 = 441 663
    ore:                441 666,67 × 11 = 4 858 333,37; December 441 666,63
    """
    p = params()
    assert monthly_fixed(p, "EKB", 2026)[:3] == [441_667, 441_666, 441_667]
    pk = with_year(p, 2026, overforing={"avrundning": "kronor_sista_manad"})
    assert monthly_fixed(pk, "EKB", 2026) == [441_667] * 11 + [441_663]
    po = with_year(p, 2026, overforing={"avrundning": "ore"})
    parts = monthly_fixed(po, "EKB", 2026)
    assert parts == [Decimal("441666.67")] * 11 + [Decimal("441666.63")]
    assert sum(parts) == 5_300_000
    # the transfer table carries the öre
    t = monthly_transfers(po, make_dataset(), "EKB", 2026, 12)
    assert t["fast"].iloc[0] == 441_666.67 and t["overforing"].iloc[-1] == 441_666.63
