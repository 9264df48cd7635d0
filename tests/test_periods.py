"""Periods, labels, delår cut-offs and key figures due (vu_lib.periods).

Cut-off months: 2023 [4, 8, 10]; 2024–2027 [3, 8, 10]; December is helår.
"""
import datetime as dt

import pytest

from modelkit import params
from vu_lib.core.exceptions import ParamsError
from vu_lib.model.periods import (
    Period,
    PeriodError,
    days_in_month,
    due_key_figures,
    is_due,
    key_figure_status,
    latest_delar,
    months_of_year,
    parse_month,
    period,
    ytd_months,
)
from vu_lib.model.trace import Trace


def test_parse_month():
    assert parse_month("2026-08") == (2026, 8)
    assert parse_month(" 2026-01 ") == (2026, 1)
    assert parse_month(dt.date(2025, 12, 31)) == (2025, 12)
    assert parse_month(Period(2024, 3, "delar", 1)) == (2024, 3)


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026-8", "202608", "aug 2026", "", "2026-08-01"])
def test_parse_month_rejects_bad_input_in_swedish(bad):
    with pytest.raises(PeriodError, match="Ogiltig period"):
        parse_month(bad)


def test_parse_month_rejects_non_text():
    with pytest.raises(PeriodError, match="ÅÅÅÅ-MM"):
        parse_month(202608)


def test_period_kinds_and_labels():
    p = params()
    aug = period(p, "2026-08")
    assert (aug.kind, aug.delar_nr, aug.label) == ("delar", 2, "Delår 2 2026 (januari–augusti)")
    jul = period(p, "2026-07")
    assert (jul.kind, jul.delar_nr, jul.label) == ("manad", None, "juli 2026")
    dec = period(p, "2025-12")
    assert (dec.kind, dec.label) == ("helar", "Helår 2025")
    # 2023 used April as the first cut-off, 2024 March
    assert period(p, "2023-04").label == "Delår 1 2023 (januari–april)"
    assert period(p, "2023-03").kind == "manad"
    assert period(p, "2024-03").label == "Delår 1 2024 (januari–mars)"
    assert period(p, "2026-10").label == "Delår 3 2026 (januari–oktober)"


def test_explicit_kind():
    p = params()
    # a monthly report for a cut-off month
    assert period(p, "2026-08", "manad").label == "augusti 2026"
    with pytest.raises(PeriodError, match="inte en delårsmånad"):
        period(p, "2026-07", "delar")
    with pytest.raises(PeriodError, match="december"):
        period(p, "2026-08", "helar")


def test_period_months_and_days():
    p = params()
    d2 = period(p, "2026-08")
    assert d2.months == [f"2026-0{m}" for m in range(1, 9)]
    # January–August 2026: 31 + 28 + 31 + 30 + 31 + 30 + 31 + 31 = 243 days
    assert d2.days == 243
    assert d2.start == dt.date(2026, 1, 1) and d2.end == dt.date(2026, 8, 31)
    m = period(p, "2024-02")
    assert m.months == ["2024-02"]
    # 2024 is a leap year: February has 29 days; the helår 366
    assert m.days == 29 == days_in_month(2024, 2)
    assert period(p, "2024-12").days == 366
    assert period(p, "2024-12").year_share == 1.0


def test_month_lists():
    assert ytd_months("2026-03") == ["2026-01", "2026-02", "2026-03"]
    assert months_of_year(2025)[0] == "2025-01" and months_of_year(2025)[-1] == "2025-12"
    assert len(months_of_year(2025)) == 12


@pytest.mark.parametrize(
    "last, expected, label",
    [
        ("2026-10", "2026-10", "Delår 3 2026 (januari–oktober)"),
        ("2026-11", "2026-10", "Delår 3 2026 (januari–oktober)"),
        ("2026-09", "2026-08", "Delår 2 2026 (januari–augusti)"),
        ("2026-03", "2026-03", "Delår 1 2026 (januari–mars)"),
        ("2026-12", "2026-12", "Helår 2026"),
        # before the first cut-off of the year: last year's helår
        ("2026-02", "2025-12", "Helår 2025"),
        # 2023 cut-offs [4, 8, 10]: data to May → April
        ("2023-05", "2023-04", "Delår 1 2023 (januari–april)"),
    ],
)
def test_latest_delar(last, expected, label):
    got = latest_delar(params(), last)
    assert (got.month, got.label) == (expected, label)


def test_period_without_model_year_is_params_error():
    with pytest.raises(ParamsError, match="2030"):
        period(params(), "2030-05")


def test_is_due_by_interval():
    p = params()
    assert is_due(p, "manadsvis", "2026-07")
    assert is_due(p, "delar", "2026-03") and is_due(p, "delar", "2026-12")
    assert not is_due(p, "delar", "2026-04")
    # 2023: April is a cut-off, March is not
    assert is_due(p, "delar", "2023-04") and not is_due(p, "delar", "2023-03")
    assert is_due(p, "arsvis", "2026-12") and not is_due(p, "arsvis", "2026-10")


def test_key_figure_status_an_vb():
    p = params()
    df = key_figure_status(p, "AN-VB", "2026-08")
    status = dict(zip(df["nyckeltal_id"], df["status"]))
    # beläggningsgrad månadsvis: due; vårddygnskostnad and referenskostnad årsvis: not in August
    assert status == {
        "vb_belaggningsgrad": "aktuell",
        "vb_varddygnskostnad": "ej aktuell denna period",
        "vb_referenskostnad": "ej aktuell denna period",
    }
    # December 2023: vårddygnskostnad is followed from 2024
    status23 = dict(zip(*key_figure_status(p, "AN-VB", "2023-12")[["nyckeltal_id", "status"]].T.values))
    assert status23["vb_varddygnskostnad"] == "följs upp från 2024"
    assert status23["vb_referenskostnad"] == "aktuell"
    assert list(df.columns) == ["vu", "nyckeltal_id", "namn", "intervall", "intervall_namn", "forsta_ar", "status", "aktuell"]
    assert isinstance(df.attrs["trace"], Trace)
    assert df.attrs["trace"].period == "2026-08"


def test_key_figure_status_son_bo_delar():
    p = params()
    at = lambda m: dict(zip(*key_figure_status(p, "SON-BO-BU", m)[["nyckeltal_id", "status"]].T.values))
    assert at("2026-03") == {"bobu_kostnad_per_plats": "aktuell", "bobu_belaggningsgrad": "aktuell"}
    assert at("2026-07") == {"bobu_kostnad_per_plats": "ej aktuell denna period",
                             "bobu_belaggningsgrad": "ej aktuell denna period"}
    assert at("2023-08") == {"bobu_kostnad_per_plats": "aktuell", "bobu_belaggningsgrad": "följs upp från 2024"}
    assert [n.id for n in due_key_figures(p, "SON-BO-BU", "2023-08")] == ["bobu_kostnad_per_plats"]


def test_key_figure_status_unknown_vu():
    with pytest.raises(ParamsError, match="Okänt verksamhetsuppdrag"):
        key_figure_status(params(), "NOPE", "2026-08")
