"""Periods of the follow-up: månad, delår and helår, and which key figures are due.

A report period is a month ``'YYYY-MM'``. What kind of period it is follows
from the model year's parameters:

* ``'helar'`` when the month is December;
* ``'delar'`` when the month is one of the year's ``delar_manader`` (e.g.
  ``[3, 8, 10]``); delår number ``n`` is the month's 1-based position there;
* ``'manad'`` otherwise.

A delår and a helår cover the year to date (January to the cut-off month); a
månad covers the month itself.

Key figures are due by their interval (``intervall`` in ``params/nyckeltal.yaml``):

* ``manadsvis``: every month;
* ``delar``: at the delår cut-off months and in December;
* ``arsvis``: in December only;

and only from their first year (``forsta_ar``).
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from vu_lib.core.exceptions import ParamsError
from vu_lib.core.params import Nyckeltal, Params
from vu_lib.model.months import PeriodError, month_str, parse_month  # noqa: F401 - public here since 0.1
from vu_lib.model.trace import stamp, trace_for

if TYPE_CHECKING:  # pandas is imported where it is used: the batch's cache path needs this module, not pandas
    import pandas as pd

Kind = Literal["manad", "delar", "helar"]

MONTH_NAMES = (
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)
INTERVAL_LABELS = {"manadsvis": "Månadsvis", "delar": "Delår", "arsvis": "Årsvis"}
KIND_LABELS = {"manad": "Månad", "delar": "Delår", "helar": "Helår"}

STATUS_DUE = "aktuell"
STATUS_NOT_DUE = "ej aktuell denna period"



# --------------------------------------------------------------------------- months
def months_of_year(year: int) -> list[str]:
    """The twelve months of a year, ``['2026-01', ..., '2026-12']``."""
    return [month_str(year, m) for m in range(1, 13)]


def ytd_months(period) -> list[str]:
    """Year-to-date months up to and including ``period``: January .. that month."""
    year, month = parse_month(period)
    return [month_str(year, m) for m in range(1, month + 1)]


def days_in_month(year: int, month: int) -> int:
    """Calendar days of a month (leap years included): ``days_in_month(2024, 2) == 29``."""
    return calendar.monthrange(year, month)[1]


def days_in_year(year: int) -> int:
    """365 or 366."""
    return 366 if calendar.isleap(year) else 365


def month_label(year: int, month: int) -> str:
    """Swedish month label: ``'augusti 2026'``."""
    return f"{MONTH_NAMES[month - 1]} {year}"


# --------------------------------------------------------------------------- Period
@dataclass(frozen=True, order=True)
class Period:
    """A report period: a month and what kind of period it closes.

    Attributes
    ----------
    ar, manad : int
        Year and (last) month.
    kind : {'manad', 'delar', 'helar'}
        Månad, delår (year to date to a cut-off month) or helår (December).
    delar_nr : int or None
        Delår number (1-based position of the month in ``delar_manader``) for a
        delår, else None.

    Build it with :func:`period`, which takes the kind from the params.
    """

    ar: int
    manad: int
    kind: Kind = "manad"
    delar_nr: int | None = None

    @property
    def month(self) -> str:
        """``'YYYY-MM'`` of the (last) month."""
        return month_str(self.ar, self.manad)

    def __str__(self) -> str:
        return self.month

    @property
    def months(self) -> list[str]:
        """Months covered: the month for a månad, January..month for delår/helår."""
        if self.kind == "manad":
            return [self.month]
        return ytd_months(self.month)

    @property
    def ytd_months(self) -> list[str]:
        """January .. this month, whatever the kind."""
        return ytd_months(self.month)

    @property
    def start(self) -> dt.date:
        """First day covered."""
        return dt.date(self.ar, self.manad if self.kind == "manad" else 1, 1)

    @property
    def end(self) -> dt.date:
        """Last day covered (last day of the month)."""
        return dt.date(self.ar, self.manad, days_in_month(self.ar, self.manad))

    @property
    def days(self) -> int:
        """Calendar days covered: ``(end - start).days + 1``."""
        return (self.end - self.start).days + 1

    @property
    def year_share(self) -> float:
        """Share of the year covered, in days: ``days / days_in_year``."""
        return self.days / days_in_year(self.ar)

    @property
    def label(self) -> str:
        """Swedish label: ``'augusti 2026'``, ``'Delår 2 2026 (januari–augusti)'``, ``'Helår 2025'``."""
        if self.kind == "helar":
            return f"Helår {self.ar}"
        if self.kind == "delar":
            return f"Delår {self.delar_nr} {self.ar} (januari–{MONTH_NAMES[self.manad - 1]})"
        return month_label(self.ar, self.manad)

    @property
    def kind_label(self) -> str:
        """``'Månad'``, ``'Delår'`` or ``'Helår'``."""
        return KIND_LABELS[self.kind]


def delar_months(params: Params, year: int) -> list[int]:
    """The delår cut-off months of ``year`` (``delar_manader``; ParamsError if no model year)."""
    return list(params.modellar(year).delar_manader)


def period(params: Params, value, kind: Kind | None = None) -> Period:
    """The :class:`Period` of a month, its kind taken from the params.

    Parameters
    ----------
    params : Params
    value : str or Period or date
        The month, ``'YYYY-MM'``.
    kind : {'manad', 'delar', 'helar'}, optional
        Default: ``'helar'`` for December, ``'delar'`` for a month in the
        year's ``delar_manader``, else ``'manad'``. ``'manad'`` may be asked
        for any month (a monthly report for August); ``'delar'`` only for a
        cut-off month and ``'helar'`` only for December.

    Raises
    ------
    PeriodError
        Bad month, or a kind that does not fit the month.
    ParamsError
        No model year for the month's year (needed for ``delar_manader``).
    """
    year, month = parse_month(value)
    cut = delar_months(params, year)
    natural: Kind = "helar" if month == 12 else ("delar" if month in cut else "manad")
    kind = kind or natural
    if kind not in KIND_LABELS:
        raise PeriodError(f"Okänd periodtyp '{kind}' (ange manad, delar eller helar)")
    if kind == "helar" and month != 12:
        raise PeriodError(f"Helår avser december; {month_label(year, month)} är inte ett helår")
    if kind == "delar" and month not in cut:
        names = ", ".join(MONTH_NAMES[m - 1] for m in cut)
        raise PeriodError(f"{month_label(year, month)} är inte en delårsmånad {year} (delår: {names})")
    nr = cut.index(month) + 1 if kind == "delar" else None
    return Period(year, month, kind, nr)


def latest_delar(params: Params, last_period) -> Period:
    """The latest delår or helår cut-off at or before the last month with data.

    ``max {m <= last_period : m is December or m in delar_manader of its year}``;
    with data to 2026-10 and cut-offs [3, 8, 10] that is 2026-10 (Delår 3), with
    data to 2026-09 it is 2026-08, and with data to 2026-02 it is Helår 2025.
    """
    year, month = parse_month(last_period)
    cands = [m for m in delar_months(params, year) if m <= month] + ([12] if month == 12 else [])
    if cands:
        return period(params, month_str(year, max(cands)))
    return Period(year - 1, 12, "helar", None)


def days_in_period(p: Period) -> int:
    """Calendar days a period covers (see :attr:`Period.days`)."""
    return p.days


# --------------------------------------------------------------------------- key figures due
def is_due(params: Params, intervall: str, value) -> bool:
    """Whether a key figure of interval ``intervall`` is due at the month ``value``.

    ``manadsvis``: always; ``delar``: month in ``delar_manader`` or December;
    ``arsvis``: December.
    """
    year, month = parse_month(value)
    if intervall == "manadsvis":
        return True
    if intervall == "delar":
        return month == 12 or month in delar_months(params, year)
    if intervall == "arsvis":
        return month == 12
    raise ParamsError(f"Okänt intervall '{intervall}' (manadsvis, delar eller arsvis)")


def key_figure_state(params: Params, nyckeltal: Nyckeltal, value) -> str:
    """Status of one key figure at a month.

    ``'följs upp från <forsta_ar>'`` when the year is before ``forsta_ar``;
    else ``'aktuell'`` when :func:`is_due`, else ``'ej aktuell denna period'``.
    """
    year, _ = parse_month(value)
    if year < nyckeltal.forsta_ar:
        return f"följs upp från {nyckeltal.forsta_ar}"
    return STATUS_DUE if is_due(params, nyckeltal.intervall, value) else STATUS_NOT_DUE


def due_key_figures(params: Params, vu_id: str, value) -> list[Nyckeltal]:
    """The catalogue entries of ``vu_id`` whose status at the month is ``'aktuell'``."""
    params.vu(vu_id)
    return [n for n in params.nyckeltal_for(vu_id) if key_figure_state(params, n, value) == STATUS_DUE]


def key_figure_status(params: Params, vu_id: str, value) -> pd.DataFrame:
    """Every key figure of a VU with its status at a period.

    Parameters
    ----------
    params : Params
    vu_id : str
    value : str or Period
        The report month.

    Returns
    -------
    pandas.DataFrame
        One row per catalogue entry of the VU, in catalogue order: ``vu``,
        ``nyckeltal_id``, ``namn``, ``intervall`` (code), ``intervall_namn``
        (``'Månadsvis'`` …), ``forsta_ar``, ``status`` (``'aktuell'`` |
        ``'ej aktuell denna period'`` | ``'följs upp från <år>'``), ``aktuell``
        (bool). ``attrs['trace']`` is set (without data fingerprint).
    """
    import pandas as pd


    params.vu(vu_id)
    year, month = parse_month(value)
    rows = []
    for n in params.nyckeltal_for(vu_id):
        status = key_figure_state(params, n, value)
        rows.append(
            {
                "vu": vu_id,
                "nyckeltal_id": n.id,
                "namn": n.namn,
                "intervall": n.intervall,
                "intervall_namn": INTERVAL_LABELS[n.intervall],
                "forsta_ar": n.forsta_ar,
                "status": status,
                "aktuell": status == STATUS_DUE,
            }
        )
    cols = ["vu", "nyckeltal_id", "namn", "intervall", "intervall_namn", "forsta_ar", "status", "aktuell"]
    df = pd.DataFrame(rows, columns=cols)
    return stamp(df, trace_for(params, None, year, month))
