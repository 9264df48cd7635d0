"""Traceability: which model version, data, code and params a table was computed with.

Every table the model returns carries ``df.attrs["trace"]``, a :class:`Trace`;
reports print :meth:`Trace.text` under each table.

* ``modellversion``: the model version in force at the period
  (:func:`vu_lib.compensation.model_version`; a minor revision such as 4.1
  from its ``giltig_fran`` month on).
* ``data_fingerprint``: :attr:`vu_lib.data.Dataset.fingerprint` (``''`` when
  computed from params only).
* ``kodversion``: :func:`code_version`.
* ``params_fingerprint``: :func:`params_fingerprint`.
* ``period``: ``'YYYY-MM'`` (or ``'YYYY'`` for a whole model year).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from vu_lib.core.params import Params
from vu_lib.core.versions import code_version, params_fingerprint, source_hash  # noqa: F401 - re-exported

if TYPE_CHECKING:  # pandas is not imported at run time: the batch's cache path uses this module
    import pandas as pd



@dataclass(frozen=True)
class Trace:
    """Provenance of a computed table."""

    modellversion: str
    data_fingerprint: str
    kodversion: str
    params_fingerprint: str
    period: str

    def text(self) -> str:
        """One Swedish line, e.g.
        ``'Modellversion 4.1 · period 2026-08 · data 1a2b… · parametrar 9f8e… · kod 0.1.0+g3b0f0d0'``.
        """
        data = f"data {self.data_fingerprint}" if self.data_fingerprint else "utan data"
        return (
            f"Modellversion {self.modellversion} · period {self.period} · {data} · "
            f"parametrar {self.params_fingerprint} · kod {self.kodversion}"
        )

    def as_dict(self) -> dict:
        """The fields as a plain dict (for JSON sidecars)."""
        return asdict(self)

    def __str__(self) -> str:
        return self.text()


def trace_for(params: Params, dataset, year, month: int | None = None) -> Trace:
    """The trace of a table computed for a period.

    Parameters
    ----------
    params : Params
    dataset : Dataset or None
        None for a table computed from params only (data fingerprint ``''``).
    year : int or str or Period
        The year; or a month ``'YYYY-MM'`` / :class:`~vu_lib.periods.Period`
        when ``month`` is omitted.
    month : int, optional
        The month; omitted with an int ``year``: a whole-year table (period
        ``'YYYY'``, model version as of December).

    Returns
    -------
    Trace
        ``modellversion`` from :func:`~vu_lib.compensation.model_version`, so
        2026-07 and later give ``'4.1'``.
    """
    from vu_lib.model.compensation import model_version
    from vu_lib.model.months import month_str, parse_month

    if not isinstance(year, int):
        year, month = parse_month(year)
    if month is None:
        label, m = str(year), 12
    else:
        label, m = month_str(year, month), month
    return Trace(
        modellversion=model_version(params, year, m),
        data_fingerprint=getattr(dataset, "fingerprint", "") or "",
        kodversion=code_version(),
        params_fingerprint=params_fingerprint(params),
        period=label,
    )


def stamp(df: pd.DataFrame, trace: Trace) -> pd.DataFrame:
    """Set ``df.attrs['trace'] = trace`` and return ``df`` (same object)."""
    df.attrs["trace"] = trace
    return df


def trace_of(df: pd.DataFrame) -> Trace | None:
    """The trace of a table, or None when it has none."""
    return df.attrs.get("trace")
