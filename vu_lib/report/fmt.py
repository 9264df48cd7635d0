"""Swedish formatting of numbers, amounts, periods and text order.

Everything a reader sees follows Swedish typography, read from the locale
data in ``vu_lib/locale/sv.yaml``: decimal comma, a no-break space as
thousands separator and between number and unit (so a figure never wraps),
the true minus sign U+2212, an en dash for a missing value, Swedish month
names and Swedish sort order (å, ä, ö after z).

Rounding is commercial (half away from zero) on the decimal value that is
written, so ``kr(2.5) == '3 kr'`` and ``kr(-2.5) == '−3 kr'``, and a value
that rounds to zero is never shown as ``−0``.

Examples
--------
>>> kr(1234567)
'1\\xa0234\\xa0567\\xa0kr'
>>> pct(0.943)
'94,3\\xa0%'
>>> period_label("2026-08")
'augusti 2026'
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import numbers
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import yaml

__all__ = [
    "Locale",
    "load_locale",
    "locale",
    "num",
    "kr",
    "tkr",
    "mnkr",
    "pct",
    "count",
    "text",
    "is_missing",
    "month_name",
    "period_label",
    "period_range_label",
    "date_label",
    "sort_key",
    "sorted_sv",
    "formatter",
    "d3_format_locale",
    "d3_time_format_locale",
]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"


# --------------------------------------------------------------------------- locale data
@dataclass(frozen=True)
class Locale:
    """Locale data read from ``vu_lib/locale/<name>.yaml``.

    Attributes
    ----------
    id : str
        BCP 47 tag, e.g. ``'sv-SE'``.
    language : str
        ISO 639-1 code, e.g. ``'sv'``.
    data : Mapping
        The whole parsed file (see the file for its sections).
    """

    id: str
    language: str
    data: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def number(self) -> Mapping[str, Any]:
        """Number typography: decimal, thousands, minus, missing, masked."""
        return self.data["number"]

    @property
    def units(self) -> Mapping[str, str]:
        """Unit words and the separator between number and unit."""
        return self.data["units"]

    @functools.cached_property
    def _collation(self) -> tuple[dict[str, int], dict[str, str]]:
        coll = self.data["collation"]
        order = {ch: i for i, ch in enumerate(coll["alphabet"])}
        return order, dict(coll.get("equivalents", {}))


@functools.lru_cache(maxsize=None)
def load_locale(name: str = "sv") -> Locale:
    """Read and cache the locale file ``vu_lib/locale/<name>.yaml``.

    Parameters
    ----------
    name : str
        File stem of the locale file.

    Returns
    -------
    Locale
    """
    path = LOCALE_DIR / f"{name}.yaml"
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    for key in ("number", "units", "months", "months_short", "collation"):
        if key not in data:
            raise ValueError(f"{path}: nyckeln '{key}' saknas")
    if len(data["months"]) != 12 or len(data["months_short"]) != 12:
        raise ValueError(f"{path}: months och months_short ska ha tolv namn")
    return Locale(id=data["id"], language=data["language"], data=data)


def locale() -> Locale:
    """The Swedish locale used throughout vu."""
    return load_locale("sv")


# --------------------------------------------------------------------------- numbers
def is_missing(x: Any) -> bool:
    """Whether ``x`` is a missing value (None, NaN, NaT, pd.NA).

    Parameters
    ----------
    x : object

    Returns
    -------
    bool
    """
    if x is None:
        return True
    if isinstance(x, (str, bytes, bool, int)):
        return False
    if isinstance(x, float):
        return math.isnan(x)
    if isinstance(x, Decimal):
        return x.is_nan()
    import numpy as np  # noqa: PLC0415  (pandas and numpy are core dependencies)
    import pandas as pd  # noqa: PLC0415

    try:
        res = pd.isna(x)
    except (TypeError, ValueError):
        return False
    return isinstance(res, (bool, np.bool_)) and bool(res)


def _to_decimal(x: Any) -> Decimal:
    if isinstance(x, Decimal):
        return x
    if isinstance(x, bool):
        return Decimal(int(x))
    if isinstance(x, numbers.Integral):
        return Decimal(int(x))
    if isinstance(x, numbers.Real):
        # repr gives the shortest string that round-trips: 2.675 -> '2.675',
        # so half-up rounding behaves as a reader expects.
        return Decimal(repr(float(x)))
    if isinstance(x, str):
        try:
            return Decimal(x.strip().replace("\u2212", "-").replace(",", "."))
        except InvalidOperation as exc:
            raise ValueError(f"kan inte tolka {x!r} som ett tal") from exc
    raise TypeError(f"kan inte formatera {type(x).__name__} som ett tal: {x!r}")


def _group(digits: str, sep: str, size: int) -> str:
    if len(digits) <= size:
        return digits
    head = len(digits) % size or size
    parts = [digits[:head]] + [digits[i : i + size] for i in range(head, len(digits), size)]
    return sep.join(parts)


def _format_decimal(value: Decimal, decimals: int, *, sign: bool = False) -> str:
    loc = locale().number
    if decimals < 0:
        raise ValueError("decimals måste vara 0 eller större")
    if value.is_infinite():
        inf = loc["infinity"]
        return (loc["minus"] + inf) if value < 0 else ((loc["plus"] + inf) if sign else inf)
    q = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    negative = q < 0  # -0.00 compares equal to 0, so a rounded-away sign vanishes
    body = f"{abs(q):.{decimals}f}"
    int_part, _, frac = body.partition(".")
    out = _group(int_part, loc["thousands"], int(loc["grouping"]))
    if decimals:
        out += loc["decimal"] + frac
    if negative:
        return loc["minus"] + out
    if sign and q != 0:
        return loc["plus"] + out
    return out


def _missing() -> str:
    return locale().number["missing"]


def num(x: Any, decimals: int = 0, *, sign: bool = False) -> str:
    """Format a number the Swedish way.

    Parameters
    ----------
    x : int, float, Decimal, numpy number or str
        The value; missing values (None, NaN, pd.NA) give an en dash.
    decimals : int, default 0
        Number of decimals, rounded half away from zero.
    sign : bool, default False
        Write a plus sign before positive values (for differences).

    Returns
    -------
    str
        E.g. ``'1 234 567'``, ``'−12,5'`` (no-break spaces, U+2212).
    """
    if is_missing(x):
        return _missing()
    return _format_decimal(_to_decimal(x), decimals, sign=sign)


def _with_unit(number: str, unit: str) -> str:
    return f"{number}{locale().units['separator']}{unit}"


def kr(x: Any, decimals: int = 0, *, sign: bool = False) -> str:
    """Format an amount in kronor: ``'1 234 567 kr'``.

    Parameters
    ----------
    x : number
        Amount in kronor; missing gives an en dash (no unit).
    decimals : int, default 0
        Decimals (2 for öre).
    sign : bool, default False
        Plus sign before positive values.

    Returns
    -------
    str
    """
    if is_missing(x):
        return _missing()
    return _with_unit(num(x, decimals, sign=sign), locale().units["kr"])


def tkr(x: Any, decimals: int = 0, *, sign: bool = False) -> str:
    """Format an amount given in kronor as thousands of kronor: ``'1 235 tkr'``.

    Parameters
    ----------
    x : number
        Amount in **kronor**; it is divided by 1 000 and rounded.
    decimals : int, default 0
        Decimals of the thousands.
    sign : bool, default False
        Plus sign before positive values.

    Returns
    -------
    str
    """
    return _scaled(x, Decimal(1000), "tkr", decimals, sign)


def mnkr(x: Any, decimals: int = 1, *, sign: bool = False) -> str:
    """Format an amount given in kronor as millions of kronor: ``'12,3 mnkr'``.

    Parameters
    ----------
    x : number
        Amount in **kronor**.
    decimals : int, default 1
    sign : bool, default False

    Returns
    -------
    str
    """
    return _scaled(x, Decimal(1_000_000), "mnkr", decimals, sign)


def _scaled(x: Any, divisor: Decimal, unit: str, decimals: int, sign: bool) -> str:
    """``x`` kronor divided by ``divisor``, rounded, with the locale's ``unit``."""
    if is_missing(x):
        return _missing()
    return _with_unit(_format_decimal(_to_decimal(x) / divisor, decimals, sign=sign), locale().units[unit])


def pct(x: Any, decimals: int = 1, *, sign: bool = False) -> str:
    """Format a share as a percentage: ``pct(0.943) == '94,3 %'``.

    Parameters
    ----------
    x : number
        A share (0.943 for 94,3 %), as the model stores shares.
    decimals : int, default 1
    sign : bool, default False
        Plus sign before positive values (percentage points of change).

    Returns
    -------
    str
    """
    if is_missing(x):
        return _missing()
    value = _to_decimal(x) * 100
    return _with_unit(_format_decimal(value, decimals, sign=sign), locale().units["percent"])


def count(x: Any, threshold: int | None = None) -> str:
    """Format a count of persons, masking small counts.

    A count ``0 < x < threshold`` is shown as the masked marker (``'<5'``)
    so that individuals cannot be identified; zero and larger counts are
    shown as integers.

    Parameters
    ----------
    x : number
    threshold : int, optional
        Default from the locale data (5).

    Returns
    -------
    str
    """
    if is_missing(x):
        return _missing()
    loc = locale().number
    thr = int(loc["masked_threshold"] if threshold is None else threshold)
    value = _to_decimal(x)
    if 0 < value < thr:
        return loc["masked"].format(threshold=thr)
    return _format_decimal(value, 0)


def text(x: Any) -> str:
    """Format a text cell: missing gives an en dash, anything else ``str(x)``."""
    if is_missing(x):
        return _missing()
    return str(x)


# --------------------------------------------------------------------------- periods and dates
def month_name(m: int, short: bool = False) -> str:
    """Swedish month name.

    Parameters
    ----------
    m : int
        Month number 1–12.
    short : bool, default False
        Abbreviated name (``'aug'``).

    Returns
    -------
    str
        Lower case, as Swedish writes month names (``'augusti'``).
    """
    m = int(m)
    if not 1 <= m <= 12:
        raise ValueError(f"månad måste vara 1–12, inte {m}")
    names = locale()["months_short" if short else "months"]
    return names[m - 1]


_PERIOD_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR_RE = re.compile(r"^\d{4}$")


def _year_month(period: Any) -> tuple[int, int | None]:
    if isinstance(period, (dt.date, dt.datetime)):
        return period.year, period.month
    if hasattr(period, "year") and hasattr(period, "month"):  # pandas Period / Timestamp
        return int(period.year), int(period.month)
    s = str(period).strip()
    m = _PERIOD_RE.match(s)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"ogiltig period {period!r}")
        return year, month
    if _YEAR_RE.match(s):
        return int(s), None
    raise ValueError(f"ogiltig period {period!r}; väntade 'ÅÅÅÅ-MM' eller 'ÅÅÅÅ'")


def period_label(period: Any, short: bool = False) -> str:
    """Swedish label of a month period: ``'2026-08'`` -> ``'augusti 2026'``.

    Parameters
    ----------
    period : str, datetime.date, pandas.Period or pandas.Timestamp
        ``'YYYY-MM'`` (or a year ``'YYYY'``, returned as is).
    short : bool, default False
        Abbreviated month (``'aug 2026'``).

    Returns
    -------
    str
    """
    year, month = _year_month(period)
    if month is None:
        return str(year)
    return locale()["period"]["month"].format(month=month_name(month, short), year=year)


def period_range_label(start: Any, end: Any) -> str:
    """Label of a range of months: ``'januari–augusti 2026'``.

    Parameters
    ----------
    start, end : period
        First and last month, as for :func:`period_label`.

    Returns
    -------
    str
        One month gives its label; a range within a year names the year
        once; a range over a year end names both.
    """
    y1, m1 = _year_month(start)
    y2, m2 = _year_month(end)
    if m1 is None or m2 is None:
        raise ValueError("period_range_label kräver månadsperioder 'ÅÅÅÅ-MM'")
    if (y1, m1) == (y2, m2):
        return period_label(start)
    fmts = locale()["period"]
    if y1 == y2:
        return fmts["range_same_year"].format(start=month_name(m1), end=month_name(m2), year=y1)
    return fmts["range"].format(start=period_label(start), end=period_label(end))


def date_label(d: Any) -> str:
    """Swedish long date: ``'14 september 2026'``.

    Parameters
    ----------
    d : datetime.date, datetime.datetime or ISO string ``'YYYY-MM-DD'``

    Returns
    -------
    str
    """
    if isinstance(d, str):
        d = dt.date.fromisoformat(d[:10])
    return locale()["period"]["date"].format(day=d.day, month=month_name(d.month), year=d.year)


# --------------------------------------------------------------------------- collation
def sort_key(s: Any) -> tuple:
    """Key for Swedish alphabetical order (å, ä, ö after z).

    Accented letters sort with their base letter (é as e, ü as y, æ as ä,
    ø as ö); case and accents only break ties. Digits sort before letters
    and spaces and punctuation before both.

    Parameters
    ----------
    s : object
        Converted with ``str``; missing values sort last.

    Returns
    -------
    tuple

    Examples
    --------
    >>> sorted(["Öst", "Ängel", "Zeta", "Åsa", "Anna"], key=sort_key)
    ['Anna', 'Zeta', 'Åsa', 'Ängel', 'Öst']
    """
    if is_missing(s):
        return (1, (), (), ())
    order, equivalents = locale()._collation
    base = len(order)
    raw = unicodedata.normalize("NFC", str(s))
    primary: list[int] = []
    secondary: list[int] = []
    tertiary: list[int] = []
    for ch in raw:
        low = ch.lower()
        mapped = equivalents.get(low, low)
        for k, c in enumerate(mapped):
            if c in order:
                primary.append(100 + order[c])
            elif c.isdigit():
                primary.append(10 + int(unicodedata.digit(c, 0)))
            elif c.isspace() or unicodedata.category(c).startswith("P"):
                primary.append(1)
            else:
                # other letters: strip accents, else place after the alphabet
                stripped = unicodedata.normalize("NFD", c)[0]
                if stripped in order:
                    primary.append(100 + order[stripped])
                else:
                    primary.append(100 + base + ord(c))
            if k == 0:
                secondary.append(0 if mapped == low else 1 + ord(low))
                tertiary.append(0 if ch == low else 1)
    return (0, tuple(primary), tuple(secondary), tuple(tertiary))


def sorted_sv(items: Iterable[Any], key: Callable[[Any], Any] | None = None, reverse: bool = False) -> list:
    """Sort in Swedish order.

    Parameters
    ----------
    items : iterable
    key : callable, optional
        Gives the text to sort by for each item.
    reverse : bool, default False

    Returns
    -------
    list
    """
    if key is None:
        return sorted(items, key=sort_key, reverse=reverse)
    return sorted(items, key=lambda it: sort_key(key(it)), reverse=reverse)


# --------------------------------------------------------------------------- format specs
_SPEC_RE = re.compile(r"^\s*(\+)?\s*([a-z]+)\s*(?:\(\s*(\d+)\s*\)|:(\d+))?\s*$")


@dataclass(frozen=True)
class FormatSpec:
    """A parsed column format spec: ``'+tkr'`` -> ``FormatSpec('tkr', None, True)``."""

    kind: str
    decimals: int | None
    signed: bool


def parse_spec(spec: str) -> FormatSpec:
    """Parse a format spec (``'kr'``, ``'+tkr'``, ``'num(1)'``, ``'num:1'``, ``'count(5)'`` ...).

    The one parser of the spec language: :func:`formatter` (text), the charts' axes
    (:mod:`vu_lib.report.charts`) and the xlsx number formats (:mod:`vu_lib.publish.outputs`)
    all read specs through it. Raises ValueError (``okänt format``) for anything else.
    """
    m = _SPEC_RE.match(str(spec))
    if not m:
        raise ValueError(f"okänt format {spec!r}")
    arg = m.group(3) or m.group(4)
    return FormatSpec(m.group(2), int(arg) if arg is not None else None, bool(m.group(1)))

_FORMATTERS: dict[str, Callable[..., str]] = {
    "num": num,
    "kr": kr,
    "tkr": tkr,
    "mnkr": mnkr,
    "pct": pct,
}


def formatter(spec: str | Callable[[Any], str]) -> Callable[[Any], str]:
    """Turn a column format spec into a function value -> str.

    Parameters
    ----------
    spec : str or callable
        ``'kr'``, ``'tkr'``, ``'mnkr'``, ``'pct'``, ``'num'`` with optional
        decimals as ``'num(1)'`` (or ``'num:1'``); ``'count'`` or
        ``'count(5)'`` (masked small counts); ``'period'`` (``'augusti
        2026'``), ``'date'``; ``'text'``. Add a ``+`` prefix (``'+kr'``) to
        sign positive values. A callable is returned unchanged.

    Returns
    -------
    callable
    """
    if callable(spec):
        return spec
    p = parse_spec(spec)
    kind, signed = p.kind, p.signed
    arg = p.decimals
    if kind in _FORMATTERS:
        fn = _FORMATTERS[kind]
        if arg is None:
            return functools.partial(fn, sign=signed)
        return functools.partial(fn, decimals=int(arg), sign=signed)
    if signed:
        raise ValueError(f"formatet {kind!r} kan inte ha tecken (+)")
    if kind == "count":
        return functools.partial(count, threshold=int(arg) if arg else None)
    if kind == "text" and arg is None:
        return text
    if kind == "period" and arg is None:
        return lambda x: _missing() if is_missing(x) else period_label(x)
    if kind == "date" and arg is None:
        return lambda x: _missing() if is_missing(x) else (x.isoformat()[:10] if hasattr(x, "isoformat") else str(x)[:10])
    raise ValueError(f"okänt format {spec!r}")


def is_numeric_spec(spec: str | Callable) -> bool:
    """Whether a format spec gives a number (right-aligned in tables)."""
    if callable(spec):
        return getattr(spec, "numeric", False)
    try:
        return parse_spec(spec).kind in {"num", "kr", "tkr", "mnkr", "pct", "count"}
    except ValueError:
        return False


# --------------------------------------------------------------------------- d3 locales
def d3_format_locale() -> dict:
    """The d3-format locale (for Vega) built from the locale data.

    Returns
    -------
    dict
        ``decimal``, ``thousands``, ``grouping``, ``currency``, ``minus``,
        ``percent`` and ``nan``, so ``',.0f'`` gives ``'1 234 567'`` and
        ``'.1%'`` gives ``'94,3 %'`` in charts exactly as :func:`num` and
        :func:`pct` write them.
    """
    loc = locale()
    n, u = loc.number, loc.units
    return {
        "decimal": n["decimal"],
        "thousands": n["thousands"],
        "grouping": [int(n["grouping"])],
        "currency": ["", u["separator"] + u["kr"]],
        "minus": n["minus"],
        "percent": u["separator"] + u["percent"],
        "nan": n["missing"],
    }


def d3_time_format_locale() -> dict:
    """The d3-time-format locale (for Vega) with Swedish month and day names."""
    loc = locale()
    t = dict(loc["d3_time"])
    return {
        "dateTime": t["dateTime"],
        "date": t["date"],
        "time": t["time"],
        "periods": list(t["periods"]),
        "days": list(loc["days"]),
        "shortDays": list(loc["days_short"]),
        "months": list(loc["months"]),
        "shortMonths": list(loc["months_short"]),
    }
