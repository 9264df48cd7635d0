"""Budget proposal for 2027 (vu_lib.budget), worked by hand.

Index 2027: 0,8 × 3,0 % + 0,2 × 1,5 % = 2,7 %.
2027 schablon: B = 381 000, PO = 0,4515, O = 42 500, OH = 0,06, H = 1 600.
"""
import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from modelkit import make_dataset, params, without_year
from vu_lib.model.budget import budget_calendar, budget_proposal, planned_hours_year
from vu_lib.core.exceptions import ParamsError
from vu_lib.model.trace import Trace


def _dataset():
    bem = []
    # AN-OPPNA staffing; April is older than May and is not used
    for period, usk in (("2026-04", 70), ("2026-05", 80)):
        bem += [
            {"period": period, "vu": "AN-OPPNA", "kluster": "dagverksamhet", "enhet": "414110",
             "utbildningsniva": "underskoterska", "arsarbetare": usk / 2},
            {"period": period, "vu": "AN-OPPNA", "kluster": "ovriga", "enhet": "414210",
             "utbildningsniva": "underskoterska", "arsarbetare": usk / 2},
            {"period": period, "vu": "AN-OPPNA", "kluster": "psykiatrisk_hsv", "enhet": "414310",
             "utbildningsniva": "sjukskoterska", "arsarbetare": 10},
            {"period": period, "vu": "AN-OPPNA", "kluster": "ovriga", "enhet": "414210",
             "utbildningsniva": "enhetschef", "arsarbetare": 5},
        ]
    bem += [
        {"period": "2026-05", "vu": "SON-OPPNA-BUF", "kluster": "forebyggande", "enhet": "421110",
         "utbildningsniva": "socionom", "arsarbetare": 10},
        {"period": "2026-05", "vu": "SON-OPPNA-BUF", "kluster": "boendestod", "enhet": "421210",
         "utbildningsniva": "behandlingsassistent", "arsarbetare": 4},
    ]
    vol = []
    # förebyggande: planned hours only January–May 2026, 1 300 a month
    for m in range(1, 6):
        vol.append({"period": f"2026-0{m}", "vu": "SON-OPPNA-BUF", "kluster": "forebyggande",
                    "matt": "planerade_timmar", "varde": 1300})
    # outside the 12-month window ending 2026-05
    vol.append({"period": "2025-05", "vu": "SON-OPPNA-BUF", "kluster": "forebyggande",
                "matt": "planerade_timmar", "varde": 99_999})
    # boendestöd: 500 a month for all twelve months June 2025–May 2026
    for k in range(12):
        y, m = (2025, 6 + k) if k < 7 else (2026, k - 6)
        vol.append({"period": f"{y}-{m:02d}", "vu": "SON-OPPNA-BUF", "kluster": "boendestod",
                    "matt": "planerade_timmar", "varde": 500})
    return make_dataset(bemanning=bem, volymer=vol)


@pytest.fixture(scope="module")
def proposal():
    return budget_proposal(params(), _dataset(), 2027, as_of="2026-05")


def test_proposal_year_and_index(proposal):
    assert proposal.ar == 2027 and proposal.modellversion == "5.0"
    assert proposal.index == Decimal("0.027")


def test_per_vu_bridge(proposal):
    v = proposal.per_vu.set_index("vu")
    # AN-VB: F2026 = 217 559 969 (see test_compensation)
    #   2027: 217 559 969 × 1,027 = 217 559 969 + 5 874 119,163 → 223 434 088; + 1 200 000 ambition = 224 634 088
    assert tuple(v.loc["AN-VB", ["ersattning_innevarande", "indexering", "forandringar", "ersattning_forslag"]]) == (
        217_559_969, 5_874_119, 1_200_000, 224_634_088)
    # SON-OPPNA-VUX: 2024 74 138 526; 2025 × 1,0312 = 76 451 648,0112 → 76 451 648;
    #   2026 × 1,0272 = 78 531 132,8256 → 78 531 133; 2027 × 1,027 = 80 651 473,591 → 80 651 474;
    #   effektiviseringskrav 0,5 % of 80 651 474 = 403 257,37 → 403 257; F2027 = 80 248 217
    assert tuple(v.loc["SON-OPPNA-VUX", ["ersattning_innevarande", "indexering", "forandringar", "ersattning_forslag"]]) == (
        78_531_133, 2_120_341, -403_257, 80_248_217)
    # AN-OMR-NO: F2026 includes the 4.1 change: 13 336 597; × 1,027 = 13 696 685,119 → 13 696 685
    assert v.loc["AN-OMR-NO", "ersattning_forslag"] == 13_696_685
    # EKB regulated separately: 5 300 000 → 4 800 000, not indexed
    assert tuple(v.loc["EKB", ["separat", "ersattning_innevarande", "indexering", "forandringar", "ersattning_forslag"]]) == (
        True, 5_300_000, 0, -500_000, 4_800_000)
    assert v.loc["AN-VB", "index"] == 0.027
    # every row: current + indexing + changes = proposal
    assert (v["ersattning_innevarande"] + v["indexering"] + v["forandringar"] == v["ersattning_forslag"]).all()


def test_change_items(proposal):
    ch = proposal.forandringar
    assert list(zip(ch["vu"], ch["typ"], ch["belopp"])) == [
        ("AN-OMR-NV", "volymforandring", 500_000),
        ("AN-VB", "ambitionsforandring", 1_200_000),
        ("SON-OPPNA-VUX", "effektiviseringskrav", -403_257),
        ("EKB", "separat", -500_000),
    ]


def test_rates_this_year_and_next(proposal):
    r = proposal.priser.set_index(["vu", "tjanst"])
    # område 2 hemsjukvård: 645,00 in December 2026 (version 4.1); 645 × 1,027 = 662,415 → 662,42
    assert tuple(r.loc[("AN-OMR-NO", "hemsjukvard"), ["pris_innevarande", "pris_forslag"]]) == (645.00, 662.42)
    # område 1 hemtjänst: 550,19 × 1,027 = 565,04513 → 565,05
    assert tuple(r.loc[("AN-OMR-NV", "hemtjanst"), ["pris_innevarande", "pris_forslag"]]) == (550.19, 565.05)
    assert r.loc[("AN-OMR-NV", "hemtjanst"), "forandring"] == pytest.approx(14.86)
    assert "AN-VB" not in r.index.get_level_values("vu")


def test_totals_per_namnd(proposal):
    t = proposal.totaler.set_index("rad")
    # change items: ÄN 500 000 + 1 200 000 = 1 700 000; SON −403 257; EKB −500 000
    assert t.loc["Äldrenämnden", "forandringar"] == 1_700_000
    assert t.loc["Social- och omsorgsnämnden", "forandringar"] == -403_257
    assert t.loc["Summa verksamhetsuppdrag", "forandringar"] == 1_296_743
    assert t.loc["Totalt", "forandringar"] == 796_743
    # EKB is outside the nine but inside the total
    nine = t.loc["Summa verksamhetsuppdrag", "ersattning_forslag"]
    assert nine == t.loc["Äldrenämnden", "ersattning_forslag"] + t.loc["Social- och omsorgsnämnden", "ersattning_forslag"]
    assert t.loc["Totalt", "ersattning_forslag"] == nine + 4_800_000 == proposal.summa_forslag


def test_schablon_an_rule_against_proposed_f(proposal):
    s = proposal.schablon
    an = s[(s["vu"] == "AN-OPPNA") & (s["niva"] == "vu")].iloc[0]
    # latest staffing 2026-05: 80 usk, 10 ssk, 5 enhetschef
    # S_usk 2027: 381 000 × 1,4515 = 553 021,5; + 42 500 = 595 521,5; × 1,06 = 631 252,79 → 631 253
    # S_ssk: 541 020 × 1,4515 = 785 290,53; + 42 500 = 827 790,53; × 1,06 = 877 457,9618 → 877 458
    # S_ec: 628 650 × 1,4515 = 912 485,475; + 42 500 = 954 985,475; × 1,06 = 1 012 284,6035 → 1 012 285
    # 80 × 631 253 + 10 × 877 458 + 5 × 1 012 285 = 50 500 240 + 8 774 580 + 5 061 425 = 64 336 245
    assert an["bemanning_period"] == "2026-05" and an["arsarbetare"] == 95
    assert an["tilldelning"] == 64_336_245
    # F2027 AN-OPPNA: 2024 64 040 200 + 600 000 = 64 640 200; 2025 × 1,0312 → 66 656 974;
    #   2026 × 1,0272 → 68 470 044 + 900 000 = 69 370 044; 2027 × 1,027 = 71 243 035,188 → 71 243 035
    assert an["ersattning_forslag"] == 71_243_035
    assert an["skillnad"] == 71_243_035 - 64_336_245 == 6_906_790


def test_schablon_son_rule_with_planned_hours(proposal):
    s = proposal.schablon
    buf = s[s["vu"] == "SON-OPPNA-BUF"].set_index("kluster")
    # förebyggande: S_socionom 2027 = 476 250 × 1,4515 = 691 276,875; + 42 500 = 733 776,875;
    #   × 1,06 = 777 803,4875 → 777 803; per hour 777 803 / 1 600 = 486,126875 → 486,13
    #   planned hours: 5 months × 1 300 = 6 500, annualised × 12 / 5 = 15 600
    #   allocation 486,13 × 15 600 = 7 583 628
    assert buf.loc["forebyggande", "kostnad_per_timme"] == 486.13
    assert buf.loc["forebyggande", "planerade_timmar"] == 15_600
    assert buf.loc["forebyggande", "tilldelning"] == 7_583_628
    # boendestöd: S_ba = 400 050 × 1,4515 = 580 672,575; + 42 500 = 623 172,575; × 1,06 = 660 562,9295 → 660 563
    #   per hour 412,851875 → 412,85; planned 12 × 500 = 6 000; 412,85 × 6 000 = 2 477 100
    assert buf.loc["boendestod", "tilldelning"] == 2_477_100
    # VU row: 7 583 628 + 2 477 100 = 10 060 728 against F2027 BUF 56 247 460
    #   (2025: 49 959 700 × 1,0312 → 51 518 443 + 1 800 000; 2026 → 54 768 705; 2027 × 1,027 → 56 247 460)
    vu = buf.loc[""]
    assert (vu["tilldelning"], vu["ersattning_forslag"], vu["skillnad"]) == (10_060_728, 56_247_460, 46_186_732)
    # SON-OPPNA-VUX has no staffing in the data: no allocation
    vux = s[(s["vu"] == "SON-OPPNA-VUX") & (s["niva"] == "vu")].iloc[0]
    assert pd.isna(vux["tilldelning"]) and pd.isna(vux["skillnad"]) and pd.isna(vux["bemanning_period"])


def test_planned_hours_window_per_cluster():
    h = planned_hours_year(_dataset(), "SON-OPPNA-BUF", "2026-05")
    assert h == {"boendestod": 6000.0, "forebyggande": 15600.0}


def test_calendar(proposal):
    k = proposal.kalender
    assert k["steg"].tolist()[0] == "Gemensamma planeringsförutsättningar"
    assert (k.iloc[0]["fran"], k.iloc[0]["till"]) == (dt.date(2026, 2, 2), dt.date(2026, 2, 27))
    assert len(k) == 4
    assert len(budget_calendar(params(), 2024)) == 4


def test_every_table_is_traced(proposal):
    for name, df in proposal.tables.items():
        t = df.attrs.get("trace")
        assert isinstance(t, Trace), name
        assert (t.modellversion, t.period) == ("5.0", "2027")


def test_missing_model_year_is_params_error():
    with pytest.raises(ParamsError, match="2028"):
        budget_proposal(params(), _dataset(), 2028)
    # the first model year has no current year to start from
    with pytest.raises(ParamsError, match="2022"):
        budget_proposal(params(), _dataset(), 2023)
    # default year is the last model year: without 2027 it is 2026
    assert budget_proposal(without_year(params(), 2027), _dataset()).ar == 2026
