"""The month grid that every table of the model is built from.

Leanlink books on ID level: every ledger row of ``kodtyp == 'ID'`` belongs to one nivå 3
unit, its cluster and its VU. :func:`monthly_ledger` puts those bookings on a complete
grid (unit × year × month 1..12) with month amounts and year-to-date sums, with the
ledger's natural signs (revenue and cost both positive)::

    kostnad  = personal + ovrig_kostnad
    intakter = ersattning + medel + ovrig_intakt
    resultat = intakter − kostnad

:func:`level_frame` sums the grid to a level (nämnd, nivå 1, VU, cluster, unit);
:func:`monthly_volumes` does the same for the volume measures. :func:`at_period` and
:func:`at_data_periods` select rows of an all-period table and stamp them with their trace.

:class:`Tables` owns what is built from one (params, dataset) pair, so each table is
computed once per model (see :class:`vu_lib.model.model.Model`).
"""
from __future__ import annotations

import functools
from typing import Callable, Literal

import numpy as np
import pandas as pd

from vu_lib.core.exceptions import ParamsError
from vu_lib.core.params import Params
from vu_lib.model.compensation import monthly_fixed
from vu_lib.model.periods import month_str, parse_month
from vu_lib.model.trace import stamp, trace_for

KONTOSLAG = ("ersattning", "medel", "ovrig_intakt", "personal", "ovrig_kostnad")
REVENUE = ("ersattning", "medel", "ovrig_intakt")
COST = ("personal", "ovrig_kostnad")
AMOUNTS = KONTOSLAG + ("intakter", "kostnad", "resultat")
AMOUNTS_ACK = tuple(f"{a}_ack" for a in AMOUNTS)

Niva = Literal["namnd", "niva1", "vu", "kluster", "enhet"]
LEVEL_KEYS: dict[str, list[str]] = {
    "namnd": ["namnd", "separat"],
    "niva1": ["namnd", "niva1", "separat"],
    "vu": ["namnd", "niva1", "vu", "vu_namn", "separat"],
    "kluster": ["namnd", "niva1", "vu", "vu_namn", "separat", "kluster", "kluster_namn"],
    "enhet": ["namnd", "niva1", "vu", "vu_namn", "separat", "kluster", "kluster_namn", "enhet", "enhet_namn"],
}
_ORDER_OF_LEVEL = {"namnd": "_o_namnd", "niva1": "_o_niva1", "vu": "_o_vu", "kluster": "_o_kluster", "enhet": "_o_enhet"}


# --------------------------------------------------------------------------- the tables of one model
class Tables:
    """Every derived table of one (params, dataset) pair, each built once, on first use.

    The model's modules build their all-period tables (the month grid, the level
    frames, netting, forecast, variance, key figures) through :meth:`get`, so a
    table is computed once per :class:`Tables` and lives exactly as long as it.
    :class:`vu_lib.model.model.Model` is the analyst's face of this object.

    A :class:`Tables` stands wherever the model's functions expect a dataset:
    ``ledger``, ``volymer``, ``bemanning``, ``medel``, ``loads``, ``fingerprint``
    and ``source`` are the dataset's.

    Parameters
    ----------
    params : Params
    dataset : Dataset
    """

    def __init__(self, params: Params, dataset) -> None:
        if isinstance(dataset, Tables):
            dataset = dataset.dataset
        self.params = params
        self.dataset = dataset
        self._built: dict[str, object] = {}

    # the dataset's attributes, so that a Tables can be passed as the dataset
    ledger = property(lambda self: self.dataset.ledger)
    volymer = property(lambda self: self.dataset.volymer)
    bemanning = property(lambda self: self.dataset.bemanning)
    medel = property(lambda self: self.dataset.medel)
    loads = property(lambda self: self.dataset.loads)
    fingerprint = property(lambda self: self.dataset.fingerprint)
    source = property(lambda self: self.dataset.source)
    perioder = property(lambda self: self.dataset.perioder)
    senaste_period = property(lambda self: self.dataset.senaste_period)
    # issue 11: the gender split of person counts and the Kolada snapshot (None for datasets without them)
    volymer_kon = property(lambda self: getattr(self.dataset, "volymer_kon", None))
    kolada = property(lambda self: getattr(self.dataset, "kolada", None))

    def get(self, name: str, build: Callable[[], object]):
        """The table ``name``, built by ``build()`` the first time. Callers must not mutate it."""
        try:
            return self._built[name]
        except KeyError:
            value = self._built[name] = build()
            return value

    @property
    def built(self) -> list[str]:
        """Names of the tables built so far, in the order they were built."""
        return list(self._built)


def as_tables(params: Params, dataset) -> Tables:
    """``dataset`` itself when it is a :class:`Tables` for ``params``, else new :class:`Tables`.

    The module-level functions (``results(params, dataset, ...)``) call this: given a
    :class:`~vu_lib.model.model.Model` they reuse its tables; given a bare Dataset they
    build what they need and drop it afterwards (nothing is cached behind the caller's back).
    """
    if isinstance(dataset, Tables) and dataset.params is params:
        return dataset
    return Tables(params, dataset)


# --------------------------------------------------------------------------- registry
@functools.lru_cache(maxsize=16)
def unit_table(params: Params) -> pd.DataFrame:
    """The nivå 3 units of the registry with their cluster, VU, nivå 1 and nämnd.

    Columns: ``namnd``, ``niva1``, ``vu``, ``vu_namn``, ``separat`` (True for EKB
    and other separately regulated lines), ``kluster``, ``kluster_namn``,
    ``enhet`` (id_kod), ``enhet_namn``, ``komplement_kod`` and the sort keys
    ``_o_namnd``, ``_o_niva1``, ``_o_vu``, ``_o_kluster``, ``_o_enhet`` (registry order).
    """
    sep_ids = {v.id for v in params.registry.separata}
    namnder = list(params.registry.namnder)
    rows = []
    niva1_order: dict[tuple[str, str], int] = {}
    for i, vu in enumerate(params.registry.alla):
        niva1_order.setdefault((vu.namnd, vu.niva1), len(niva1_order))
        for j, k in enumerate(vu.kluster):
            for e in vu.enheter:
                if e.kluster != k.id:
                    continue
                rows.append({
                    "namnd": vu.namnd, "niva1": vu.niva1, "vu": vu.id, "vu_namn": vu.namn,
                    "separat": vu.id in sep_ids, "kluster": k.id, "kluster_namn": k.namn,
                    "enhet": e.id_kod, "enhet_namn": e.namn, "komplement_kod": e.komplement_kod,
                    "_o_namnd": namnder.index(vu.namnd), "_o_niva1": niva1_order[(vu.namnd, vu.niva1)],
                    "_o_vu": i, "_o_kluster": i * 100 + j, "_o_enhet": len(rows),
                })
    return pd.DataFrame(rows)


@functools.lru_cache(maxsize=16)
def cluster_table(params: Params) -> pd.DataFrame:
    """Every (VU, cluster) of the registry: ``vu``, ``kluster``, ``kluster_namn``, ``grupp``, ``_o_kluster``."""
    rows = []
    for i, vu in enumerate(params.registry.alla):
        for j, k in enumerate(vu.kluster):
            rows.append({"vu": vu.id, "kluster": k.id, "kluster_namn": k.namn, "grupp": k.grupp or "",
                         "_o_kluster": i * 100 + j})
    return pd.DataFrame(rows)


def data_years(dataset) -> list[int]:
    ys = set(dataset.ledger["ar"].astype(int).tolist()) | set(dataset.volymer["ar"].astype(int).tolist())
    return sorted(ys)


def last_months(dataset) -> dict[int, int]:
    """The last month with ledger data, per year: ``{2025: 12, 2026: 8}``."""
    led = dataset.ledger
    if led.empty:
        return {}
    return {int(y): int(m) for y, m in led.groupby("ar")["manad"].max().items()}


def eval_periods(dataset) -> pd.DataFrame:
    """The periods the model is evaluated at: every month in the ledger or the volumes.

    Columns ``ar``, ``manad``, sorted.
    """
    p = pd.concat([dataset.ledger[["ar", "manad"]], dataset.volymer[["ar", "manad"]]], ignore_index=True)
    return p.drop_duplicates().astype(int).sort_values(["ar", "manad"]).reset_index(drop=True)


# --------------------------------------------------------------------------- month grids
def grid_cumulate(df: pd.DataFrame, keys: list[str], values: list[str], years: list[int],
                   key_index: pd.MultiIndex | None, fill: float | None) -> pd.DataFrame:
    """Month values and year-to-date sums on a complete grid keys × years × months 1..12.

    ``df`` holds one row per (keys, ar, manad). Returns a frame with ``keys``,
    ``ar``, ``manad``, each value column (month value; missing months are
    ``fill``, or NaN when ``fill`` is None), ``<value>_ack`` (Σ months 1..m,
    missing months counting 0) and, when ``fill`` is None, ``<value>_n`` (number
    of months 1..m with a value).
    """
    wide = df.set_index(keys + ["ar", "manad"])[values].unstack("manad")
    months = list(range(1, 13))
    wide = wide.reindex(columns=pd.MultiIndex.from_product([values, months], names=[None, "manad"]))
    if key_index is not None:
        have = wide.index.droplevel("ar").unique() if len(wide) else key_index[:0]
        all_keys = key_index.append(have).unique() if len(have) else key_index
        full = pd.MultiIndex.from_tuples(
            [(*(k if isinstance(k, tuple) else (k,)), y) for k in all_keys for y in years], names=keys + ["ar"]
        )
        wide = wide.reindex(full)
    out = {}
    for v in values:
        block = wide[v]
        month = block.to_numpy(dtype=float)
        filled = np.nan_to_num(month, nan=0.0)
        out[v] = np.where(np.isnan(month), np.nan if fill is None else fill, month)
        out[f"{v}_ack"] = np.cumsum(filled, axis=1)
        if fill is None:
            out[f"{v}_n"] = np.cumsum(~np.isnan(month), axis=1)
    n_rows = len(wide)
    idx = wide.index.to_frame(index=False)
    rep = idx.loc[idx.index.repeat(12)].reset_index(drop=True)
    rep["manad"] = np.tile(np.arange(1, 13), n_rows)
    for c, arr in out.items():
        rep[c] = arr.reshape(-1)
    rep["ar"] = rep["ar"].astype(int)
    return rep


def monthly_ledger(params: Params, dataset) -> pd.DataFrame:
    """Leanlink's ledger (``kodtyp == 'ID'``) per unit on a complete month grid.

    One row per unit of the registry (plus any other unit in the ledger) × year
    with data × month 1..12: the unit's attributes (see :func:`unit_table`),
    ``ar``, ``manad``, ``period``, every amount of :data:`AMOUNTS` for the month
    (0 when nothing was booked) and ``<amount>_ack`` (year to date). Built once
    per :class:`Tables`; do not mutate.
    """
    def build():
        units = unit_table(params)
        led = dataset.ledger
        led = led[(led["kodtyp"] == "ID") & led["kontoslag"].isin(KONTOSLAG)]
        keys = ["vu", "kluster", "enhet"]
        g = (led.groupby(keys + ["ar", "manad", "kontoslag"])["belopp"].sum()
             .unstack("kontoslag").reindex(columns=list(KONTOSLAG)).fillna(0.0).reset_index())
        key_index = pd.MultiIndex.from_frame(units[keys])
        grid = grid_cumulate(g, keys, list(KONTOSLAG), data_years(dataset), key_index, fill=0.0)
        for suf in ("", "_ack"):
            grid["intakter" + suf] = sum(grid[k + suf] for k in REVENUE)
            grid["kostnad" + suf] = sum(grid[k + suf] for k in COST)
            grid["resultat" + suf] = grid["intakter" + suf] - grid["kostnad" + suf]
        grid = grid.merge(units.drop(columns=["vu", "kluster"]), on="enhet", how="left")
        # units the registry does not know: keep them under their ledger VU and cluster
        unknown = grid["vu_namn"].isna().to_numpy()
        if unknown.any():
            vus = units.drop_duplicates("vu").set_index("vu")
            unk = grid.loc[unknown]
            grid.loc[unknown, "namnd"] = unk["vu"].map(vus["namnd"]).fillna("").to_numpy()
            grid.loc[unknown, "niva1"] = unk["vu"].map(vus["niva1"]).fillna("").to_numpy()
            grid.loc[unknown, "vu_namn"] = unk["vu"].map(vus["vu_namn"]).fillna(unk["vu"]).to_numpy()
            grid.loc[unknown, "kluster_namn"] = unk["kluster"].to_numpy()
            grid.loc[unknown, "enhet_namn"] = unk["enhet"].to_numpy()
            grid.loc[unknown, "_o_namnd"] = unk["vu"].map(vus["_o_namnd"]).fillna(900).to_numpy()
            grid.loc[unknown, "_o_niva1"] = unk["vu"].map(vus["_o_niva1"]).fillna(900).to_numpy()
            grid.loc[unknown, "_o_vu"] = unk["vu"].map(vus["_o_vu"]).fillna(
                pd.Series(900 + pd.factorize(unk["vu"])[0], index=unk.index)).to_numpy()
            grid.loc[unknown, "_o_kluster"] = 100_000 + pd.factorize(unk["vu"] + "|" + unk["kluster"])[0]
            grid.loc[unknown, "_o_enhet"] = 100_000 + pd.factorize(unk["enhet"])[0]
        for c in ("_o_namnd", "_o_niva1", "_o_vu", "_o_kluster", "_o_enhet"):
            grid[c] = grid[c].astype(np.int64)
        grid["separat"] = grid["vu"].isin({v.id for v in params.registry.separata}).to_numpy()
        grid["period"] = period_strings(grid["ar"], grid["manad"])
        return grid

    return as_tables(params, dataset).get("monthly_ledger", build)


def monthly_volumes(params: Params, dataset) -> dict[str, pd.DataFrame]:
    """Volume measures on complete month grids, at unit and at cluster level.

    Returns ``{'enhet': ..., 'kluster': ...}``. Both have ``vu``, ``kluster``,
    ``matt``, ``utforare``, ``ar``, ``manad``, ``varde`` (the month's value, NaN
    when there is none), ``varde_ack`` (Σ months 1..m) and ``varde_n`` (months
    1..m with a value); the unit frame also has ``enhet``.

    Cluster level follows :func:`vu_lib.transfers.service_volume`: the sum of
    the unit rows when the cluster has unit rows for that measure, utförare
    and month, otherwise the cluster's own row (``enhet == ''``), so a file
    giving both is not counted twice. ``utforare == 'totalt'`` rows are added
    for the measures split by utförare (the sum over utförare).

    A derived measure ``tillg_dygn`` (available bed days) is added per unit and
    cluster and month: ``tillgangliga_dygn`` when given, else
    ``platser × days in the month``.
    """
    def build():
        v = dataset.volymer
        keys = ["vu", "kluster", "enhet", "matt", "utforare", "ar", "manad"]
        v = v.groupby(keys, as_index=False)["varde"].sum()
        unit_rows = v[v["enhet"] != ""]
        clus_rows = v[v["enhet"] == ""].drop(columns="enhet")
        ck = ["vu", "kluster", "matt", "utforare", "ar", "manad"]
        from_units = unit_rows.groupby(ck, as_index=False)["varde"].sum()
        clus = pd.concat([from_units.assign(_p=0), clus_rows.assign(_p=1)], ignore_index=True)
        clus = clus.sort_values("_p", kind="stable").drop_duplicates(ck, keep="first").drop(columns="_p")
        out = {}
        for level, df, k in (("enhet", unit_rows, ["vu", "kluster", "enhet"]), ("kluster", clus, ["vu", "kluster"])):
            df = _with_totals(df, k)
            df = _with_available_days(df, k)
            out[level] = grid_cumulate(df, k + ["matt", "utforare"], ["varde"], data_years(dataset), None, fill=None)
        return out

    return as_tables(params, dataset).get("monthly_volumes", build)


def _with_totals(df: pd.DataFrame, k: list[str]) -> pd.DataFrame:
    split = df[df["utforare"] != ""]
    if split.empty:
        return df
    tot = split.groupby(k + ["matt", "ar", "manad"], as_index=False)["varde"].sum().assign(utforare="totalt")
    return pd.concat([df, tot], ignore_index=True)


def _with_available_days(df: pd.DataFrame, k: list[str]) -> pd.DataFrame:
    """Add ``tillg_dygn``: ``tillgangliga_dygn`` if given, else ``platser × days in month``."""
    idx = k + ["ar", "manad"]
    pl = df[df["matt"] == "platser"].groupby(idx)["varde"].sum()
    td = df[df["matt"] == "tillgangliga_dygn"].groupby(idx)["varde"].sum()
    if pl.empty and td.empty:
        return df
    pl_days = pl.copy()
    if not pl.empty:
        ar = pl.index.get_level_values("ar").to_numpy()
        mn = pl.index.get_level_values("manad").to_numpy()
        days = pd.to_datetime(pd.DataFrame({"year": ar, "month": mn, "day": 1})).dt.days_in_month.to_numpy()
        pl_days = pl * days
    avail = td.combine_first(pl_days) if not td.empty else pl_days
    avail = avail.rename("varde").reset_index().assign(matt="tillg_dygn", utforare="")
    return pd.concat([df, avail], ignore_index=True)


# --------------------------------------------------------------------------- results
def period_strings(ar: pd.Series, manad: pd.Series) -> np.ndarray:
    """``'YYYY-MM'`` for each (ar, manad), formatting each distinct month once."""
    code = ar.to_numpy(dtype=np.int64) * 100 + manad.to_numpy(dtype=np.int64)
    uniq, inv = np.unique(code, return_inverse=True)
    labels = np.array([month_str(int(c) // 100, int(c) % 100) for c in uniq], dtype=object)
    return labels[inv]


def level_frame(params: Params, dataset, niva: str) -> pd.DataFrame:
    if niva not in LEVEL_KEYS:
        raise ValueError(f"Okänd nivå '{niva}' (namnd, niva1, vu, kluster eller enhet)")

    def build():
        base = monthly_ledger(params, dataset)
        keys = LEVEL_KEYS[niva]
        cols = list(AMOUNTS) + list(AMOUNTS_ACK)
        code = base[_ORDER_OF_LEVEL[niva]].to_numpy(dtype=np.int64)
        if niva in ("namnd", "niva1"):
            code = code + 1_000_000 * base["separat"].to_numpy(dtype=np.int64)
        per = base["ar"].to_numpy(dtype=np.int64) * 100 + base["manad"].to_numpy(dtype=np.int64)
        key = pd.Series(code * 1_000_000 + per, name="_key")
        g = base[cols].groupby(key.to_numpy(), sort=True).sum()
        first = pd.Series(np.arange(len(base))).groupby(key.to_numpy(), sort=True).first().to_numpy()
        attrs = base.iloc[first][keys + ["ar", "manad", "period"]].reset_index(drop=True)
        out = pd.concat([attrs, g.reset_index(drop=True).round(2) + 0.0], axis=1)
        sep = out["separat"].to_numpy(dtype=bool)
        order = np.lexsort((g.index.to_numpy() % 1_000_000, g.index.to_numpy() // 1_000_000, sep))
        return out.iloc[order].reset_index(drop=True)

    return as_tables(params, dataset).get(f"level:{niva}", build)


def ym(year, month) -> tuple[int, int]:
    if month is None:
        return parse_month(year)
    return int(year), int(month)


def trace_last(params: Params, dataset, year: int | None):
    last = last_months(dataset)
    if year is not None and year in last:
        return trace_for(params, dataset, year, last[year])
    if last:
        y = max(last)
        return trace_for(params, dataset, y, last[y])
    return trace_for(params, dataset, params.sista_ar)


def at_period(params: Params, dataset, df: pd.DataFrame, year: int, month: int,
               columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of an all-months frame ``df`` at ``year``-``month``, stamped with that period's trace.

    Parameters
    ----------
    params : Params
    dataset : Dataset
    df : pandas.DataFrame
        A frame with ``ar`` and ``manad`` (one of the cached ``_*_all`` frames).
    year, month : int
    columns : list of str, optional
        Keep only these columns, in this order.

    Returns
    -------
    pandas.DataFrame
        The rows in ``df``'s order with a fresh index.
    """
    out = df[(df["ar"] == year) & (df["manad"] == month)]
    if columns is not None:
        out = out[columns]
    return stamp(out.reset_index(drop=True), trace_for(params, dataset, year, month))


def at_data_periods(params: Params, dataset, df: pd.DataFrame) -> pd.DataFrame:
    """The rows of an all-months frame ``df`` at the periods with data (:func:`eval_periods`).

    Stamped with the trace of the latest period with ledger data; the rows in
    ``df``'s order with a fresh index.
    """
    keep = df.set_index(["ar", "manad"]).index.isin(pd.MultiIndex.from_frame(eval_periods(dataset)))
    return stamp(df[keep].reset_index(drop=True), trace_last(params, dataset, None))


@functools.lru_cache(maxsize=256)
def fixed_cum(params: Params, vu_id: str, year: int) -> tuple[float, ...]:
    """The fixed compensation's monthly twelfths of ``year`` summed to each month (NaN without a model)."""
    try:
        return tuple(np.cumsum(monthly_fixed(params, vu_id, year)).astype(float))
    except ParamsError:
        return tuple([float("nan")] * 12)
