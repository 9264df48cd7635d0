"""Fixed compensation, bridges, rates and monthly schedule (vu_lib.compensation), worked by hand.

Indexes (see test_index): 2024 4,3 %, 2025 3,12 %, 2026 2,72 %, 2027 2,7 %.
Rounding: F to whole kronor, rates to öre, both half away from zero.
"""
from decimal import Decimal

import pytest

from modelkit import params
from vu_lib.model.compensation import (
    fixed_bridge,
    fixed_compensation,
    fixed_compensation_base,
    model_version,
    monthly_fixed,
    rate,
    service_info,
    services_of,
    variable_amount,
)
from vu_lib.core.exceptions import ParamsError


def test_first_model_year_is_given_directly():
    assert fixed_compensation(params(), "AN-VB", 2023) == 196_500_000
    steps = fixed_bridge(params(), "AN-VB", 2023)
    assert [(s.typ, s.belopp) for s in steps] == [("fastst", 196_500_000), ("summa", 196_500_000)]


def test_fixed_compensation_with_volume_change():
    # 2024: 196 500 000 × 1,043 = 204 949 500; + 4 900 000 volymförändring = 209 849 500
    steps = fixed_bridge(params(), "AN-VB", 2024)
    assert [(s.typ, s.belopp) for s in steps] == [
        ("forra_aret", 196_500_000),
        ("index", 8_449_500),  # 204 949 500 − 196 500 000
        ("volymforandring", 4_900_000),
        ("summa", 209_849_500),
    ]
    assert fixed_compensation(params(), "AN-VB", 2024) == 209_849_500


def test_effektiviseringskrav_as_share_of_indexed_base():
    # SON-OPPNA-VUX 2024: 71 800 000 × 1,043 = 74 887 400
    # 1 % of 74 887 400 = 748 874; 74 887 400 − 748 874 = 74 138 526
    steps = fixed_bridge(params(), "SON-OPPNA-VUX", 2024)
    assert [(s.typ, s.belopp) for s in steps] == [
        ("forra_aret", 71_800_000),
        ("index", 3_087_400),
        ("effektiviseringskrav", -748_874),
        ("summa", 74_138_526),
    ]


def test_effektiviseringskrav_as_amount():
    # AN-OMR-CN 2024: 12 600 000 × 1,043 = 13 141 800 (no change items)
    # 2025: 13 141 800 × 1,0312 = 13 551 824,16 → 13 551 824; − 250 000 = 13 301 824
    assert fixed_compensation(params(), "AN-OMR-CN", 2024) == 13_141_800
    steps = fixed_bridge(params(), "AN-OMR-CN", 2025)
    assert [(s.typ, s.belopp) for s in steps] == [
        ("forra_aret", 13_141_800),
        ("index", 410_024),  # 13 551 824 − 13 141 800
        ("effektiviseringskrav", -250_000),
        ("summa", 13_301_824),
    ]


def test_chain_of_years_with_share_requirement_2025_and_volume_change_2026():
    # AN-VB 2025: 209 849 500 × 1,0312 = 209 849 500 + 6 547 304,4 = 216 396 804,4 → 216 396 804
    #   effektiviseringskrav 1 %: 2 163 968,04 → 2 163 968; F = 214 232 836
    # 2026: 214 232 836 × 1,0272 = 214 232 836 + 5 827 133,1392 → 220 059 969; − 2 500 000 = 217 559 969
    assert fixed_compensation(params(), "AN-VB", 2025) == 214_232_836
    assert fixed_compensation(params(), "AN-VB", 2026) == 217_559_969


@pytest.mark.parametrize("year", [2023, 2024, 2025, 2026, 2027])
def test_bridge_sums_exactly_for_every_vu(year):
    p = params()
    for vu in p.vu_ids(include_separata=year > p.forsta_ar):
        steps = fixed_bridge(p, vu, year)
        assert steps[-1].typ == "summa"
        assert sum(s.belopp for s in steps[:-1]) == steps[-1].belopp, vu
        assert all(isinstance(s.belopp, int) for s in steps)


def test_ekb_first_year_bridge_sums_exactly():
    steps = fixed_bridge(params(), "EKB", 2023)
    assert sum(s.belopp for s in steps[:-1]) == steps[-1].belopp == 9_200_000


def test_ekb_first_year_monthly_fixed():
    # 9 200 000 / 12 = 766 666,67: round(766 666,67) = 766 667; round(1 533 333,33) − 766 667 = 766 666;
    # round(2 300 000) − 1 533 333 = 766 667 → [766 667, 766 666, 766 667] each quarter
    pay = monthly_fixed(params(), "EKB", 2023)
    assert pay == [766_667, 766_666, 766_667] * 4
    assert sum(pay) == 9_200_000


def test_vu_without_variable_part():
    p = params()
    assert services_of(p, "AN-VB") == []
    assert services_of(p, "SON-BO-BU") == []
    with pytest.raises(ParamsError, match="ingen rörlig tjänst"):
        rate(p, "SON-BO-BU", "hemtjanst", 2026)


def test_rates_indexed_in_ore():
    p = params()
    # Prisbilaga område 1 hemtjänst: 2023 498,00
    # 2024: 498,00 × 1,043 = 519,414 → 519,41
    # 2025: 519,41 × 1,0312 = 519,41 + 16,205592 = 535,615592 → 535,62
    # 2026: 535,62 × 1,0272 = 535,62 + 14,568864 = 550,188864 → 550,19
    assert rate(p, "AN-OMR-NV", "hemtjanst", 2023) == Decimal("498.00")
    assert rate(p, "AN-OMR-NV", "hemtjanst", 2024) == Decimal("519.41")
    assert rate(p, "AN-OMR-NV", "hemtjanst", 2025) == Decimal("535.62")
    assert rate(p, "AN-OMR-NV", "hemtjanst", 2026) == Decimal("550.19")
    # other variable service, anhörigstöd: 640,00 → 667,52 → 667,52 × 1,0312 = 688,346624 → 688,35
    #   → 688,35 × 1,0272 = 707,07312 → 707,07
    assert rate(p, "AN-OPPNA", "anhorigstod", 2024) == Decimal("667.52")
    assert rate(p, "AN-OPPNA", "anhorigstod", 2026) == Decimal("707.07")


def test_revision_4_1_changes_rate_from_july():
    p = params()
    # område 2 hemsjukvård indexed: 618,00 → 618 × 1,043 = 644,574 → 644,57
    #   → 644,57 × 1,0312 = 664,680584 → 664,68 → 664,68 × 1,0272 = 682,759296 → 682,76
    assert rate(p, "AN-OMR-NO", "hemsjukvard", 2026, 6) == Decimal("682.76")
    # version 4.1 from 2026-07 sets 645,00
    assert rate(p, "AN-OMR-NO", "hemsjukvard", 2026, 7) == Decimal("645.00")
    assert rate(p, "AN-OMR-NO", "hemsjukvard", 2026, 12) == Decimal("645.00")
    # the revised rate is the one indexed into 2027: 645,00 × 1,027 = 662,415 → 662,42 (half up)
    assert rate(p, "AN-OMR-NO", "hemsjukvard", 2027) == Decimal("662.42")
    # other areas are not touched: område 1 hemsjukvård in July is still indexed
    # 612 × 1,043 = 638,316 → 638,32; × 1,0312 = 658,235584 → 658,24; × 1,0272 = 676,144128 → 676,14
    assert rate(p, "AN-OMR-NV", "hemsjukvard", 2026, 7) == Decimal("676.14")


def test_model_version_switches_in_july_2026():
    p = params()
    assert model_version(p, 2026, 6) == "4.0"
    assert model_version(p, 2026, 7) == "4.1"
    assert model_version(p, 2026) == "4.1"
    assert model_version(p, 2025, 12) == "3.0"


def test_revision_adds_change_item():
    p = params()
    # AN-OMR-NO: 2024 11 800 000 × 1,043 = 12 307 400
    # 2025: 12 307 400 × 1,0312 = 12 691 390,88 → 12 691 391
    # 2026: 12 691 391 × 1,0272 = 13 036 596,8352 → 13 036 597; + 300 000 (4.1, from July) = 13 336 597
    steps = fixed_bridge(p, "AN-OMR-NO", 2026)
    assert [(s.typ, s.belopp, s.giltig_fran) for s in steps] == [
        ("forra_aret", 12_691_391, None),
        ("index", 345_206, None),
        ("uppdragsforandring", 300_000, "2026-07"),
        ("summa", 13_336_597, None),
    ]
    assert "4.1" in steps[2].steg
    assert fixed_compensation_base(p, "AN-OMR-NO", 2026) == 13_036_597
    assert fixed_compensation(p, "AN-OMR-NO", 2026) == 13_336_597


def test_monthly_fixed_twelfths_by_cumulative_rounding():
    # AN-VB 2024, F = 209 849 500; F/12 = 17 487 458,33…
    # cumulative: round(F×1/12) = 17 487 458; round(F×2/12) = 34 974 917; round(F×3/12) = 52 462 375
    # → 17 487 458, 17 487 459, 17 487 458, repeated every quarter
    pay = monthly_fixed(params(), "AN-VB", 2024)
    assert pay == [17_487_458, 17_487_459, 17_487_458] * 4
    assert sum(pay) == 209_849_500


def test_monthly_fixed_with_revision_sums_exactly():
    # AN-OMR-NO 2026: base 13 036 597; twelfths January–June by cumulative rounding:
    #   round(F×m/12) for m = 1..6: 1 086 383; 2 172 766; 3 259 149; 4 345 532; 5 431 915; 6 518 299 (…298,5 → up)
    #   → 1 086 383 × 5 and 1 086 384 in June; paid to June 6 518 299
    # from July the total is 13 336 597: 13 336 597 − 6 518 299 = 6 818 298 over six months = 1 136 383 each
    pay = monthly_fixed(params(), "AN-OMR-NO", 2026)
    assert pay == [1_086_383] * 5 + [1_086_384] + [1_136_383] * 6
    assert sum(pay) == 13_336_597


def test_ekb_is_regulated_separately():
    p = params()
    # EKB is not indexed: 2023 9 200 000, 2024 7 400 000 as given (not 9 200 000 × 1,043)
    assert fixed_compensation(p, "EKB", 2023) == 9_200_000
    steps = fixed_bridge(p, "EKB", 2024)
    assert [(s.typ, s.belopp) for s in steps] == [("forra_aret", 9_200_000), ("separat", -1_800_000), ("summa", 7_400_000)]
    # twelfths of 7 400 000 = 616 666,67: 616 667; round(1 233 333,33) − 616 667 = 616 666; 1 850 000 − 1 233 333 = 616 667
    pay = monthly_fixed(p, "EKB", 2024)
    assert pay == [616_667, 616_666, 616_667] * 4
    assert sum(pay) == 7_400_000
    assert services_of(p, "EKB") == []


def test_variable_amount_rounds_to_ore():
    # 12,5 h × 550,19 = 6 877,375 → 6 877,38
    assert variable_amount(12.5, Decimal("550.19")) == Decimal("6877.38")
    # 0 h gives 0,00
    assert variable_amount(0, Decimal("550.19")) == Decimal("0.00")


def test_service_info_for_price_annex_and_other_service():
    p = params()
    assert service_info(p, "AN-OMR-NO", "hemsjukvard") == {
        "namn": "Hemsjukvård", "enhet": "timme", "matt": "utforda_timmar", "kluster": "hemsjukvard"}
    assert service_info(p, "AN-OPPNA", "anhorigstod")["kluster"] == "ovriga"


def test_compensation_outside_model_years_is_params_error():
    p = params()
    with pytest.raises(ParamsError, match="första modellåret"):
        fixed_compensation(p, "AN-VB", 2022)
    with pytest.raises(ParamsError, match="2028"):
        fixed_compensation(p, "AN-VB", 2028)
    with pytest.raises(ParamsError, match="Okänt verksamhetsuppdrag"):
        fixed_compensation(p, "XX-1", 2024)
