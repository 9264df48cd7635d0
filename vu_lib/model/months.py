"""Months as the model names them: ``'YYYY-MM'`` text to and from ``(ar, manad)``.

The lowest module of the model: :mod:`~vu_lib.model.periods` (delår, intervals) and
:mod:`~vu_lib.model.trace` (provenance) both build on it.
"""
from __future__ import annotations

import datetime as dt
import re
import sys

from vu_lib.core.exceptions import VuError

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(VuError, ValueError):
    """A month or period given by the user is not valid."""


def parse_month(value) -> tuple[int, int]:
    """Parse a month ``'YYYY-MM'`` into ``(ar, manad)``.

    Parameters
    ----------
    value : str, Period, datetime.date or pandas.Period
        ``'2026-08'``; a :class:`Period` or date gives its own month.

    Returns
    -------
    tuple of int
        ``(2026, 8)``.

    Raises
    ------
    PeriodError
        With a Swedish message naming the bad value, e.g. for ``'2026-13'``
        or ``'aug 2026'``.
    """
    if hasattr(value, "ar") and hasattr(value, "manad"):  # a vu_lib.model.periods.Period
        return int(value.ar), int(value.manad)
    pandas = sys.modules.get("pandas")  # a pandas.Period exists only once pandas is imported
    if pandas is not None and isinstance(value, pandas.Period):
        return int(value.year), int(value.month)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.year, value.month
    if not isinstance(value, str):
        raise PeriodError(f"Perioden ska anges som text 'ÅÅÅÅ-MM', t.ex. '2026-08' (fick {value!r})")
    m = _MONTH_RE.match(value.strip())
    if not m:
        raise PeriodError(f"Ogiltig period '{value}': ange månaden som ÅÅÅÅ-MM, t.ex. '2026-08'")
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        raise PeriodError(f"Ogiltig period '{value}': månaden ska vara 01–12")
    if not 1900 <= year <= 2100:
        raise PeriodError(f"Ogiltig period '{value}': året {year} är orimligt")
    return year, month


def month_str(year: int, month: int) -> str:
    """``'YYYY-MM'`` of a year and month: ``month_str(2026, 8) == '2026-08'``."""
    return f"{year:04d}-{month:02d}"
