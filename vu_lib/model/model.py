"""The model object: every derived table of one store, for analysts, notebooks and the batch.

::

    import vu_lib
    m = vu_lib.open()                    # default store (or the embedded sample), latest delår
    m = vu_lib.open(period="2026-08")    # another delår; a month outside the data is refused
    m.results(vu="AN-VB")                # monthly results, the report's result table
    m.prognos(vu="AN-VB")                # full-year forecast
    m.nyckeltal(vu="AN-VB")              # key figures at the period
    m.built                              # which tables have been computed so far

A :class:`Model` is built from (params, dataset) and owns every table derived from them:
each is computed once, on first use, and lives exactly as long as the object
(:class:`~vu_lib.model.ledger.Tables`). :meth:`Model.warm` computes the all-period tables
up front: the batch's zygote does that once, then forks every kernel from the warm state.

:func:`open_model` keeps the models it opened, one per (store file, store fingerprint,
params): opening the same unchanged store again in the same process (a notebook re-run,
a forked kernel) returns the same object, and a store that changed gives a new one.

Every frame returned here has plain Swedish column names, numeric years and months
(``ar``, ``manad`` as int) and amounts in kronor as float (rounded to öre), with no total
rows mixed into the data. Each is stamped with its trace (``vu_lib.model.trace.trace_of``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from vu_lib.core.exceptions import VuError
from vu_lib.core.params import Params, load_params
from vu_lib.model import compensation, disk_cache, forecast, nyckeltal, results, transfers, variance
from vu_lib.model.ledger import Tables, last_months, monthly_ledger, monthly_volumes
from vu_lib.model.periods import Period, PeriodError, latest_delar, month_str, parse_month
from vu_lib.model.periods import period as make_period
from vu_lib.model.trace import stamp, trace_of

#: The columns of :meth:`Model.results`, in order.
RESULT_COLUMNS = [
    "namnd", "niva1", "vu", "namn", "ar", "manad", "period", "ersattning", "medel", "ovrig_intakt", "intakter",
    "kostnad", "resultat", "ersattning_ack", "medel_ack", "ovrig_intakt_ack", "intakter_ack", "kostnad_ack",
    "resultat_ack",
]


class Model(Tables):
    """The economic model over one dataset, at one report period.

    Parameters
    ----------
    params : Params
    dataset : Dataset
    period : str or Period, optional
        The report period ``'YYYY-MM'``; default the latest delår in the data
        (:func:`~vu_lib.model.periods.latest_delar`). A month after the last month
        with data, or before the first, raises :class:`~vu_lib.model.periods.PeriodError`.

    Attributes
    ----------
    params, dataset, period
    """

    def __init__(self, params: Params, dataset, period: str | Period | None = None) -> None:
        super().__init__(params, dataset)
        self.period = resolve_period(params, self.dataset, period)

    def __repr__(self) -> str:
        return (f"<vu Model {self.period.month} ({self.period.label}), data {self.fingerprint} "
                f"from {self.source}; {len(self.built)} tables built>")

    # ------------------------------------------------------------------ lifecycle
    def at(self, period: str | Period) -> "Model":
        """The same data and tables at another report period (no table is recomputed)."""
        other = Model.__new__(Model)
        other.params, other.dataset, other._built = self.params, self.dataset, self._built
        other.period = resolve_period(self.params, self.dataset, period)
        return other

    def warm(self) -> "Model":
        """Compute every all-period table now (the batch's zygote calls this before forking)."""
        monthly_ledger(self.params, self)
        monthly_volumes(self.params, self)
        for niva in ("vu", "kluster", "enhet", "namnd", "niva1"):
            results.level_frame(self.params, self, niva)
        results.netting_all(self.params, self)
        forecast.forecast_all(self.params, self)
        variance.variance_all(self.params, self)
        nyckeltal.nyckeltal_all(self.params, self)
        results.medel_report(self.params, self, self.period.ar, self.period.manad)
        results.medel_summary(self.params, self, self.period.ar, self.period.manad)
        transfers.reconcile_transfers(self.params, self, self.period.ar, self.period.manad)
        return self

    @property
    def year(self) -> int:
        return self.period.ar

    @property
    def month(self) -> int:
        return self.period.manad

    # ------------------------------------------------------------------ frames
    def results(self, vu: str | None = None, niva: str = "vu", year: int | None = None) -> pd.DataFrame:
        """Revenue, cost and result per month, January to the report period (the report's result table).

        Parameters
        ----------
        vu : str, optional
            One VU (e.g. ``'AN-VB'``); default every VU and EKB.
        niva : {'vu', 'kluster', 'enhet', 'niva1', 'namnd'}
            The level: VU (nivå 2), cluster, nivå 3 unit, nivå 1 or nämnd.
        year : int, optional
            Another year: all its months with data (default the period's year, to the period).

        Returns
        -------
        pandas.DataFrame
            One row per entity and month: ``namnd``, ``vu``, ``namn`` (the entity's name),
            the level's own keys (``kluster``/``kluster_namn``, ``enhet``/``enhet_namn``,
            ``niva1``), ``ar`` and ``manad`` (int), ``period`` ('YYYY-MM'), then in kronor
            (float, öre): ``ersattning`` (compensation received), ``medel`` (changes of funds),
            ``ovrig_intakt``, ``intakter`` (their sum), ``kostnad``, ``resultat``
            (= intakter − kostnad), and each of these year to date as ``<amount>_ack``.
        """
        y = self.year if year is None else int(year)
        df = results.results(self.params, self, niva, y)
        if year is None:
            df = df[df["manad"] <= self.month]
        if vu is not None:
            self.params.vu(vu)
            df = df[df["vu"] == vu]
        df = df.rename(columns={"vu_namn": "namn"}).drop(columns=["separat"], errors="ignore")
        keys = [c for c in ("namnd", "niva1", "vu", "namn", "kluster", "kluster_namn", "enhet", "enhet_namn")
                if c in df.columns]
        money = [c for c in RESULT_COLUMNS if c not in ("namnd", "niva1", "vu", "namn", "ar", "manad", "period")]
        out = df[keys + ["ar", "manad", "period"] + money].copy()
        out["ar"] = out["ar"].astype(int)
        out["manad"] = out["manad"].astype(int)
        out = out.sort_values(([] if vu else ["vu"]) + ["manad"], kind="stable").reset_index(drop=True)
        return stamp(out, trace_of(df))

    def prognos(self, vu: str | None = None) -> pd.DataFrame:
        """The full-year forecast at the report period, by both methods (see :mod:`vu_lib.model.forecast`).

        Returns
        -------
        pandas.DataFrame
            One row per VU (``radtyp == 'vu'``) plus nämnd and total rows when ``vu`` is None:
            the year to date (``resultat_ack`` ...), the run-rate forecast (``arstakt_*``), the
            last-year-profile forecast (``profil_*``) and ``skillnad_resultat`` between them, in kronor.
        """
        df = forecast.forecast(self.params, self, self.year, self.month)
        return self._one_vu(df, vu)

    def nyckeltal(self, vu: str | None = None, aktuella: bool = False) -> pd.DataFrame:
        """The key figures at the report period (see :mod:`vu_lib.model.nyckeltal` for the columns).

        Parameters
        ----------
        vu : str, optional
        aktuella : bool
            Only those due at this period (``status == 'aktuell'``).

        Returns
        -------
        pandas.DataFrame
            One row per key figure, entity and part: ``nyckeltal_id``, ``namn``, ``vu``,
            ``kluster``, ``enhet``, ``del``, ``ar``, ``manad``, ``varde`` (in ``enhet_matt``),
            ``jamforelse``, ``avvikelse``, ``intervall``, ``status``, ``maskerad`` ...
        """
        df = nyckeltal.nyckeltal(self.params, self, self.year, self.month, vu=vu, endast_aktuella=aktuella)
        return df.reset_index(drop=True)

    def variance(self, vu: str | None = None) -> pd.DataFrame:
        """Cost deviation split into volume effect and price/efficiency effect, year to date.

        Returns
        -------
        pandas.DataFrame
            Per VU and cluster analysed: ``volym_budget``, ``volym_utfall``, ``pris_budget``,
            ``pris_utfall``, ``kostnad_budget``, ``kostnad_utfall``, ``avvikelse``
            (= ``volymeffekt`` + ``pris_effektivitetseffekt``, kronor).
        """
        return variance.variance(self.params, self, self.year, self.month, vu=vu)

    def transfers(self, vu: str | None = None, year: int | None = None) -> pd.DataFrame:
        """SoF's monthly transfers by the model against SoF's bookings (komplement level), kronor.

        Returns
        -------
        pandas.DataFrame
            Per VU and month to the report period: the model's fixed, variable and medel parts,
            their sum, what SoF booked and the difference (see
            :func:`vu_lib.model.transfers.reconcile_transfers`).
        """
        y = self.year if year is None else int(year)
        to = self.month if year is None else None
        return transfers.reconcile_transfers(self.params, self, y, to, vu_ids=[vu] if vu else None)

    def bridge(self, vu: str, year: int | None = None) -> pd.DataFrame:
        """The fixed compensation of ``year`` built from last year's: index, change items, requirements.

        Returns
        -------
        pandas.DataFrame
            One row per step: ``steg`` (what), ``typ`` (``forra_aret``, ``index``, the change
            type, ``revision`` or ``summa``), ``belopp`` (kronor: the step's change; on the
            ``summa`` row the year's fixed compensation F), ``beskrivning``, ``giltig_fran``.
        """
        import dataclasses

        y = self.year if year is None else int(year)
        steps = compensation.fixed_bridge(self.params, vu, y)
        return pd.DataFrame([dataclasses.asdict(s) for s in steps],
                            columns=["steg", "typ", "belopp", "beskrivning", "giltig_fran"])

    def netting(self) -> pd.DataFrame:
        """Each VU's result year to date and how surpluses and deficits net over the nine (EKB apart)."""
        return results.netting(self.params, self, self.year, self.month)

    def forandring_av_medel(self) -> pd.DataFrame:
        """Changes of funds outside the budget to the report period, per case, with reporting deadlines."""
        return results.medel_report(self.params, self, self.year, self.month)

    # ------------------------------------------------------------------ helpers
    def _one_vu(self, df: pd.DataFrame, vu: str | None) -> pd.DataFrame:
        if vu is None:
            return df
        self.params.vu(vu)
        out = df[(df["vu"] == vu) & (df.get("radtyp", "vu") == "vu")].reset_index(drop=True)
        return stamp(out, trace_of(df))


def data_months(dataset) -> tuple[str, str] | None:
    """The first and last month with ledger data, ``('2023-01', '2026-10')``; None without data."""
    last = last_months(dataset)
    if not last:
        return None
    first_year = min(last)
    first_month = int(dataset.ledger.loc[dataset.ledger["ar"] == first_year, "manad"].min())
    y = max(last)
    return month_str(first_year, first_month), month_str(y, last[y])


def resolve_period(params: Params, dataset, period: str | Period | None) -> Period:
    """The report period: ``period``, or the latest delår in the data when it is '' or None.

    Raises
    ------
    PeriodError
        ``period`` is not a month, or lies outside the months the data covers.
    """
    if isinstance(period, Period):
        period = period.month
    span = data_months(dataset)
    if period in ("", None):
        if span is None:
            raise PeriodError("Datat har ingen huvudbok, så det finns ingen period att rapportera.")
        return latest_delar(params, span[1])
    y, m = parse_month(period)
    if span is not None:
        first, last = span
        wanted = month_str(y, m)
        if not first <= wanted <= last:
            raise PeriodError(
                f"Perioden {wanted} ligger utanför datat ({first} – {last}, {dataset.source}). "
                f"Välj en månad från {first} till {last}, eller period = \"\" för senaste delåret.")
    return make_period(params, month_str(y, m))


_OPENED: dict[tuple, Model] = {}
_OPENED_MAX = 8


def open_model(store: str | Path | None = None, period: str | None = None, *,
               params: Params | None = None) -> Model:
    """Open the model over a store: the analyst's entry point (also ``vu_lib.open``).

    Parameters
    ----------
    store : path, optional
        DuckDB store; default ``$VU_STORE`` or ``data/vu.duckdb``; a missing or empty
        store gives the embedded sample (as :func:`vu_lib.data.load_dataset`).
    period : str, optional
        Report period ``'YYYY-MM'``; default the latest delår in the data.
    params : Params, optional
        Default :func:`vu_lib.core.params.load_params`.

    Returns
    -------
    Model
        The same object for the same unchanged store, params and period within a process.
        Across processes the dataset and the all-period tables come from the disk cache
        (:mod:`vu_lib.model.disk_cache`, keyed by the data, the params and the code) when
        it has them; otherwise they are computed (all of them, :meth:`Model.warm`) and stored there.
    """
    from vu_lib.data.dataset import load_dataset, resolve_store
    from vu_lib.data.store import store_fingerprint

    params = params if params is not None else load_params()
    store = None if store in ("", None) else store
    path, source = resolve_store(store, params)
    key = (str(Path(path).resolve()), store_fingerprint(path), source, id(params))
    base = _OPENED.get(key)
    if base is None or base.params is not params:
        base = _from_disk(params, key[1], source)
        if base is None:
            base = Model(params, load_dataset(store, params=params), None)
            if disk_cache.cache_dir() is not None and base.fingerprint:
                disk_cache.write(params, base.dataset, base.warm()._built)
        while len(_OPENED) >= _OPENED_MAX:
            _OPENED.pop(next(iter(_OPENED)))
        _OPENED[key] = base
    if period in ("", None):
        return base
    return base.at(period)


def _from_disk(params: Params, fingerprint: str, source: str) -> Model | None:
    """The model with its dataset and all-period tables from the disk cache, or None."""
    hit = disk_cache.read(params, fingerprint, source)
    if hit is None:
        return None
    dataset, tables = hit
    model = Model(params, dataset, None)
    model._built.update(tables)
    return model


def forget_opened() -> None:
    """Drop the models :func:`open_model` keeps (tests; a long-lived process after a big ingest)."""
    _OPENED.clear()


__all__ = ["Model", "open_model", "resolve_period", "data_months", "RESULT_COLUMNS", "VuError"]
