"""Swedish formatting: every expected string is written out by hand.

NBSP is the no-break space U+00A0, MINUS the minus sign U+2212.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from vu_lib.report import fmt

NBSP = "\u00a0"
MINUS = "\u2212"


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (0, 0, "0"),
        (7, 0, "7"),
        (999, 0, "999"),
        (1000, 0, "1\u00a0000"),
        (1234567, 0, "1\u00a0234\u00a0567"),
        (-1234567, 0, "\u22121\u00a0234\u00a0567"),
        (1234.5, 1, "1\u00a0234,5"),
        (-0.25, 2, "\u22120,25"),
        (3.14159, 2, "3,14"),
        (2.5, 0, "3"),  # half away from zero
        (-2.5, 0, "\u22123"),
        (2.675, 2, "2,68"),  # the written decimal, not the binary float
        (-0.4, 0, "0"),  # never "−0"
        (-0.004, 2, "0,00"),
        (np.int64(42), 0, "42"),
        (np.float64(-1500.0), 0, "\u22121\u00a0500"),
        (Decimal("1234.565"), 2, "1\u00a0234,57"),
        (10**12, 0, "1\u00a0000\u00a0000\u00a0000\u00a0000"),
    ],
)
def test_num(value, decimals, expected):
    assert fmt.num(value, decimals) == expected


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, pd.NaT, np.float64("nan")])
def test_missing_is_en_dash(missing):
    assert fmt.num(missing) == "\u2013"
    assert fmt.kr(missing) == "\u2013"
    assert fmt.tkr(missing) == "\u2013"
    assert fmt.pct(missing) == "\u2013"
    assert fmt.count(missing) == "\u2013"
    assert fmt.text(missing) == "\u2013"


def test_kr():
    assert fmt.kr(1234567) == "1\u00a0234\u00a0567\u00a0kr"
    assert fmt.kr(-1234567) == "\u22121\u00a0234\u00a0567\u00a0kr"
    assert fmt.kr(1234.5, 2) == "1\u00a0234,50\u00a0kr"
    assert fmt.kr(0) == "0\u00a0kr"
    assert fmt.kr(1200, sign=True) == "+1\u00a0200\u00a0kr"
    assert fmt.kr(-1200, sign=True) == "\u22121\u00a0200\u00a0kr"
    assert fmt.kr(0, sign=True) == "0\u00a0kr"


def test_tkr_rounds_thousands():
    assert fmt.tkr(1234567) == "1\u00a0235\u00a0tkr"
    assert fmt.tkr(1234499) == "1\u00a0234\u00a0tkr"
    assert fmt.tkr(-1234567) == "\u22121\u00a0235\u00a0tkr"
    assert fmt.tkr(500) == "1\u00a0tkr"
    assert fmt.tkr(-499) == "0\u00a0tkr"
    assert fmt.tkr(1234567, 1) == "1\u00a0234,6\u00a0tkr"
    assert fmt.tkr(2_500, sign=True) == "+3\u00a0tkr"


def test_mnkr():
    assert fmt.mnkr(123_456_789) == "123,5\u00a0mnkr"
    assert fmt.mnkr(-1_250_000) == "\u22121,3\u00a0mnkr"


def test_pct():
    assert fmt.pct(0.943) == "94,3\u00a0%"
    assert fmt.pct(1.0) == "100,0\u00a0%"
    assert fmt.pct(0.031, 1) == "3,1\u00a0%"
    assert fmt.pct(-0.0125, 2) == "\u22121,25\u00a0%"
    assert fmt.pct(0.5, 0) == "50\u00a0%"
    assert fmt.pct(12.3456, 1) == "1\u00a0234,6\u00a0%"
    assert fmt.pct(0.021, 1, sign=True) == "+2,1\u00a0%"


def test_count_masks_small_counts():
    assert fmt.count(0) == "0"
    assert fmt.count(1) == "<5"
    assert fmt.count(4) == "<5"
    assert fmt.count(5) == "5"
    assert fmt.count(1234) == "1\u00a0234"
    assert fmt.count(2, threshold=3) == "<3"
    assert fmt.count(3, threshold=3) == "3"


def test_no_plain_spaces_or_hyphen_minus():
    for s in (fmt.kr(-1234567), fmt.tkr(-9876543), fmt.pct(-0.5), fmt.num(-1e6, 1)):
        assert " " not in s
        assert "-" not in s


def test_month_names():
    assert [fmt.month_name(m) for m in range(1, 13)] == [
        "januari", "februari", "mars", "april", "maj", "juni",
        "juli", "augusti", "september", "oktober", "november", "december",
    ]
    assert fmt.month_name(8, short=True) == "aug"
    assert fmt.month_name(5, short=True) == "maj"
    with pytest.raises(ValueError):
        fmt.month_name(13)


def test_period_label():
    assert fmt.period_label("2026-08") == "augusti 2026"
    assert fmt.period_label("2026-01") == "januari 2026"
    assert fmt.period_label("2026-12", short=True) == "dec 2026"
    assert fmt.period_label(pd.Period("2025-03", freq="M")) == "mars 2025"
    assert fmt.period_label(dt.date(2024, 10, 31)) == "oktober 2024"
    assert fmt.period_label(pd.Timestamp("2023-06-01")) == "juni 2023"
    assert fmt.period_label("2026") == "2026"
    with pytest.raises(ValueError):
        fmt.period_label("2026-13")
    with pytest.raises(ValueError):
        fmt.period_label("augusti")


def test_period_range_label():
    assert fmt.period_range_label("2026-01", "2026-08") == "januari\u2013augusti 2026"
    assert fmt.period_range_label("2025-11", "2026-02") == "november 2025\u2013februari 2026"
    assert fmt.period_range_label("2026-08", "2026-08") == "augusti 2026"


def test_date_label():
    assert fmt.date_label("2026-09-14") == "14 september 2026"
    assert fmt.date_label(dt.date(2026, 1, 5)) == "5 januari 2026"


def test_swedish_sort_order():
    words = ["Östra", "ärlig", "Zeta", "Åsa", "Anna", "Öst", "Ängel", "Ebba", "Émile", "Eva", "Mylla", "Müller", "Myra", "Vårdboende", "Wilhelm"]
    assert fmt.sorted_sv(words) == [
        "Anna", "Ebba", "Émile", "Eva", "Mylla", "Müller", "Myra",
        "Vårdboende", "Wilhelm", "Zeta", "Åsa", "Ängel", "ärlig", "Öst", "Östra",
    ]


def test_sort_key_details():
    assert fmt.sorted_sv(["b", "B", "a"]) == ["a", "b", "B"]  # case only breaks ties
    assert fmt.sorted_sv(["Öppna", "Områdesansvar Nordväst", "Områdesansvar City Nord"]) == [
        "Områdesansvar City Nord", "Områdesansvar Nordväst", "Öppna",
    ]
    assert fmt.sorted_sv(["2 b", "10 a", "a"]) == ["10 a", "2 b", "a"]  # digits before letters
    assert fmt.sorted_sv([None, "b", "a"], key=lambda x: x) == ["a", "b", None]
    rows = [{"n": "Ö"}, {"n": "A"}]
    assert fmt.sorted_sv(rows, key=lambda r: r["n"]) == [{"n": "A"}, {"n": "Ö"}]
    assert fmt.sorted_sv(["a", "ö"], reverse=True) == ["ö", "a"]


def test_formatter_specs():
    assert fmt.formatter("kr")(1234) == "1\u00a0234\u00a0kr"
    assert fmt.formatter("kr(2)")(1234) == "1\u00a0234,00\u00a0kr"
    assert fmt.formatter("num:1")(1234.56) == "1\u00a0234,6"
    assert fmt.formatter("num(1)")(-1) == "\u22121,0"
    assert fmt.formatter("+tkr")(1500) == "+2\u00a0tkr"
    assert fmt.formatter("pct(0)")(0.5) == "50\u00a0%"
    assert fmt.formatter("count")(3) == "<5"
    assert fmt.formatter("period")("2026-08") == "augusti 2026"
    assert fmt.formatter("text")("Nordväst") == "Nordväst"
    f = lambda x: "x"  # noqa: E731
    assert fmt.formatter(f) is f
    for bad in ("euro", "kr(", "+text", "text(2)"):
        with pytest.raises(ValueError):
            fmt.formatter(bad)
    assert fmt.is_numeric_spec("+kr") and fmt.is_numeric_spec("num(2)") and fmt.is_numeric_spec("count")
    assert not fmt.is_numeric_spec("text") and not fmt.is_numeric_spec("period")


def test_d3_locales_come_from_the_locale_data():
    num = fmt.d3_format_locale()
    assert num["decimal"] == ","
    assert num["thousands"] == NBSP
    assert num["minus"] == MINUS
    assert num["percent"] == "\u00a0%"
    assert num["currency"] == ["", "\u00a0kr"]
    time = fmt.d3_time_format_locale()
    assert time["months"][7] == "augusti"
    assert time["shortMonths"][4] == "maj"
    assert time["days"][0] == "söndag"


def test_locale_file_is_data():
    loc = fmt.locale()
    assert loc.id == "sv-SE" and loc.language == "sv"
    assert loc.number["missing"] == "\u2013"
    assert len(loc["months"]) == 12
