"""Schablonkostnad per årsarbetare (vu_lib.schablon), worked by hand.

2026 parameters: B = 372 000, PO = 0,4515, O = 41 500, OH = 0,06, H = 1 600.
S_l = round((B × f_l × (1 + PO) + O) × (1 + OH)), whole kronor, half up.
"""
from decimal import Decimal

import math
import pytest

from modelkit import make_dataset, params
from vu_lib.core.exceptions import ParamsError
from vu_lib.model.schablon import (
    allocation_an,
    allocation_son,
    latest_staffing,
    schablon_cost,
    schablon_followup,
    schablon_table,
    schablon_vus,
    son_cost_per_hour,
)


@pytest.mark.parametrize(
    "year, level, expected",
    [
        # 372 000 × 1,4515 = 539 958; + 41 500 = 581 458; × 1,06 = 616 345,48 → 616 345
        (2026, "underskoterska", 616_345),
        # 372 000 × 1,42 = 528 240; × 1,4515 = 766 740,36; + 41 500 = 808 240,36; × 1,06 = 856 734,7816 → 856 735
        (2026, "sjukskoterska", 856_735),
        # 372 000 × 1,25 = 465 000; × 1,4515 = 674 947,5; + 41 500 = 716 447,5; × 1,06 = 759 434,35 → 759 434
        (2026, "socionom", 759_434),
        # 372 000 × 1,05 = 390 600; × 1,4515 = 566 955,9; + 41 500 = 608 455,9; × 1,06 = 644 963,254 → 644 963
        (2026, "behandlingsassistent", 644_963),
        # 2023: 342 000 × 1,445 = 494 190; + 38 000 = 532 190; × 1,06 = 564 121,4 → 564 121
        (2023, "underskoterska", 564_121),
    ],
)
def test_schablon_per_level(year, level, expected):
    assert schablon_cost(params(), year, level) == expected


def test_unknown_level_is_params_error():
    with pytest.raises(ParamsError, match="lokalvardare"):
        schablon_cost(params(), 2026, "lokalvardare")


def test_schablon_table():
    df = schablon_table(params(), 2026)
    usk = df.set_index("utbildningsniva").loc["underskoterska"]
    # lön 372 000; PO 372 000 × 0,4515 = 167 958; overhead (372 000 + 167 958 + 41 500) × 0,06 = 34 887,48
    assert (usk["lon"], usk["po"], usk["ovriga_kostnader"], usk["overhead"]) == (372_000.0, 167_958.0, 41_500, 34_887.48)
    assert usk["schablon"] == 616_345
    # per hour 616 345 / 1 600 = 385,215625 → 385,22
    assert usk["timkostnad"] == 385.22
    assert len(df) == 7
    assert df.attrs["trace"].period == "2026"


def test_allocation_an_rule():
    # 10 × 616 345 = 6 163 450; 2,5 × 856 735 = 2 141 837,5; Σ 8 305 287,5 → 8 305 288
    assert allocation_an(params(), 2026, {"underskoterska": 10, "sjukskoterska": 2.5}) == 8_305_288
    assert allocation_an(params(), 2026, {}) == 0


def test_son_cost_per_hour_and_allocation():
    p = params()
    # boendestöd: 6 × 644 963 = 3 869 778; 2 × 759 434 = 1 518 868; Σ 5 388 646
    #   hours 8 × 1 600 = 12 800; 5 388 646 / 12 800 = 420,98796875 → 420,99 kr/h
    assert son_cost_per_hour(p, 2026, {"behandlingsassistent": 6, "socionom": 2}) == Decimal("420.99")
    df = allocation_son(
        p, 2026,
        {"boendestod": {"behandlingsassistent": 6, "socionom": 2}, "forebyggande": {"socionom": 4}},
        {"boendestod": 11_000, "forebyggande": 5_000},
    ).set_index("kluster")
    # boendestöd: 420,99 × 11 000 = 4 630 890
    assert df.loc["boendestod", "tilldelning"] == 4_630_890
    assert df.loc["boendestod", "schablonkostnad"] == 5_388_646
    assert df.loc["boendestod", "timmar_kapacitet"] == 12_800
    # förebyggande: 4 × 759 434 = 3 037 736 / 6 400 = 474,64625 → 474,65; × 5 000 = 2 373 250
    assert df.loc["forebyggande", "kostnad_per_timme"] == 474.65
    assert df.loc["forebyggande", "tilldelning"] == 2_373_250
    with pytest.raises(ValueError, match="inga årsarbetare"):
        son_cost_per_hour(p, 2026, {"socionom": 0})


def test_schablon_vus_from_registry():
    assert schablon_vus(params()) == {"AN-OPPNA": "an", "SON-OPPNA-BUF": "son", "SON-OPPNA-VUX": "son"}


def _vux_dataset():
    bem, led, vol = [], [], []
    for m in ("2026-01", "2026-02", "2026-03"):
        bem += [
            {"period": m, "vu": "SON-OPPNA-VUX", "kluster": "boendestod", "enhet": "422210",
             "utbildningsniva": "behandlingsassistent", "arsarbetare": 6},
            {"period": m, "vu": "SON-OPPNA-VUX", "kluster": "boendestod", "enhet": "422210",
             "utbildningsniva": "socionom", "arsarbetare": 2},
        ]
        led += [
            {"period": m, "vu": "SON-OPPNA-VUX", "kluster": "boendestod", "enhet": "422210",
             "kontoslag": "personal", "belopp": 400_000},
            # revenue and SoF's booking are not costs
            {"period": m, "vu": "SON-OPPNA-VUX", "kluster": "boendestod", "enhet": "422210",
             "kontoslag": "ersattning", "belopp": 999_999},
            {"period": m, "kodtyp": "KOMPLEMENT", "vu": "SON-OPPNA-VUX", "kluster": "boendestod",
             "enhet": "422210", "kontoslag": "overforing", "belopp": 999_999},
        ]
        vol += [
            {"period": m, "vu": "SON-OPPNA-VUX", "kluster": "boendestod", "matt": "planerade_timmar", "varde": 900},
            {"period": m, "vu": "SON-OPPNA-VUX", "kluster": "boendestod", "matt": "utforda_timmar",
             "utforare": "leanlink", "varde": 800},
            {"period": m, "vu": "SON-OPPNA-VUX", "kluster": "boendestod", "matt": "utforda_timmar",
             "utforare": "privat", "varde": 100},
        ]
    led.append({"period": "2026-03", "vu": "SON-OPPNA-VUX", "kluster": "boendestod", "enhet": "422210",
                "kontoslag": "ovrig_kostnad", "belopp": 60_000})
    # April lies outside Delår 1
    led.append({"period": "2026-04", "vu": "SON-OPPNA-VUX", "kluster": "boendestod", "enhet": "422210",
                "kontoslag": "personal", "belopp": 5_000_000})
    return make_dataset(ledger=led, volymer=vol, bemanning=bem)


def test_schablon_followup_delar_1():
    df = schablon_followup(params(), _vux_dataset(), "2026-03")
    row = df[(df["vu"] == "SON-OPPNA-VUX") & (df["kluster"] == "boendestod")].iloc[0]
    # Delår 1 2026 = 3 months; cost 3 × 400 000 + 60 000 = 1 260 000
    assert row["antal_manader"] == 3 and row["kostnad"] == 1_260_000
    # FTE: 6 + 2 = 8 each month, mean 8
    assert row["arsarbetare"] == 8
    # annualised 1 260 000 × 12 / 3 = 5 040 000; / 8 = 630 000,00 kr per årsarbetare
    assert row["kostnad_per_arsarbetare"] == 630_000.0
    # schablon for the mix: (6 × 644 963 + 2 × 759 434) / 8 = 5 388 646 / 8 = 673 580,75
    assert row["schablon_per_arsarbetare"] == 673_580.75
    assert row["avvikelse_per_arsarbetare"] == -43_580.75
    # hours: planned 3 × 900 = 2 700; performed by Leanlink 3 × 800 = 2 400 (privat excluded)
    assert (row["planerade_timmar"], row["utforda_timmar"]) == (2_700, 2_400)
    # 1 260 000 / 2 700 = 466,666… → 466,67; 1 260 000 / 2 400 = 525,00
    assert row["kostnad_per_planerad_timme"] == 466.67
    assert row["kostnad_per_utford_timme"] == 525.0
    # schablon per hour 673 580,75 / 1 600 = 420,98796875 → 420,99; deviation 466,67 − 420,99 = 45,68
    assert row["schablon_per_timme"] == 420.99
    assert row["avvikelse_per_timme"] == pytest.approx(45.68)
    # the VU row totals the clusters (only boendestöd has data here)
    vu_row = df[(df["vu"] == "SON-OPPNA-VUX") & (df["niva"] == "vu")].iloc[0]
    assert vu_row["kostnad"] == 1_260_000 and vu_row["arsarbetare"] == 8
    # a cluster without data has no ratios
    empty = df[(df["vu"] == "SON-OPPNA-VUX") & (df["kluster"] == "forebyggande")].iloc[0]
    assert empty["kostnad"] == 0 and math.isnan(empty["kostnad_per_arsarbetare"])
    assert set(df["vu"]) == {"AN-OPPNA", "SON-OPPNA-BUF", "SON-OPPNA-VUX"}
    assert df.attrs["trace"].period == "2026-03"


def test_latest_staffing():
    ds = _vux_dataset()
    last, staff = latest_staffing(ds, "SON-OPPNA-VUX")
    assert last == "2026-03"
    assert dict(zip(staff["utbildningsniva"], staff["arsarbetare"])) == {"behandlingsassistent": 6, "socionom": 2}
    assert latest_staffing(ds, "SON-OPPNA-VUX", up_to="2026-01")[0] == "2026-01"
    assert latest_staffing(ds, "AN-OPPNA")[0] is None
