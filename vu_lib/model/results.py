"""Results per VU, cluster and unit, netting over the nine VU, and changes of funds.

Leanlink books on ID level; every ledger row of ``kodtyp == 'ID'`` belongs to
one nivå 3 unit (``enhet``, its id_kod), its cluster and its VU. With the
ledger's natural signs (revenue and cost both positive, see
:mod:`vu_lib.data`), per unit and month ``m``:

.. math::

    \\text{kostnad} &= \\text{personal} + \\text{ovrig\\_kostnad} \\\\
    \\text{intakter} &= \\text{ersattning} + \\text{medel} + \\text{ovrig\\_intakt} \\\\
    \\text{resultat} &= \\text{intakter} - \\text{kostnad}

``ersattning`` is the compensation received (kontoslag ersattning), ``medel``
the changes of funds received (kontoslag medel). Every amount also has a
year-to-date column ``<amount>_ack`` = Σ over months 1..m of the same year.
Higher levels are sums: kluster (nivå 3 units of a cluster), VU (nivå 2),
nivå 1 (``niva1`` of the registry, per nämnd) and nämnd. EKB (the separately
regulated line, ``separat == True``) is kept apart from the nine at every level
above the VU.

Netting (model.md, "Result and netting"): Leanlink carries a deficit in one VU
within its total compensation, so :func:`netting` shows each VU's result, its
share, subtotals per nämnd and the net over the nine, with EKB on its own line.

Changes of funds (``dataset.medel``) are reported apart by :func:`medel_report`
(per case, with its återrapporteringskrav and deadline) and
:func:`medel_summary` (per VU and type, reconciled with the booked ``medel``).

The month grid and year-to-date sums built here (:func:`monthly_ledger`,
:func:`monthly_volumes`) are shared with :mod:`vu_lib.forecast`,
:mod:`vu_lib.variance` and :mod:`vu_lib.nyckeltal`; they are computed once per
(params, dataset) pair and cached for as long as the dataset lives.
"""
from __future__ import annotations

import functools
import weakref
from typing import Callable, Literal

import numpy as np
import pandas as pd

from vu_lib.core.params import Params
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

MEDEL_TYP_NAMN = {
    "statsbidrag": "Statsbidrag",
    "oforutsedd_handelse": "Oförutsedd händelse",
    "riktad_satsning": "Riktad satsning",
}


# --------------------------------------------------------------------------- caching
_CACHE: dict[tuple[int, int, str], tuple[weakref.ref, Params, object]] = {}
#: Results keyed by the dataset's content fingerprint (bounded, oldest dropped first).
_BY_CONTENT: dict[tuple[str, int, str], tuple[Params, object]] = {}
_BY_CONTENT_MAX = 64


def cached(name: str, params: Params, dataset, build: Callable[[], object]):
    """Compute ``build()`` once per (params, dataset content, name).

    A dataset with a fingerprint is keyed by it: the fingerprint identifies the
    content, so copies of the same data (``load_dataset`` hands out copies) share
    the result, and a process forked after a warm-up (the batch's zygote, see
    :func:`warm_up`) finds it ready. A dataset without a fingerprint is keyed by
    its identity while it lives (the entry is dropped when it is garbage
    collected, so a new object that gets the same ``id`` never sees a stale value).
    Callers must not mutate what they get back.
    """
    fingerprint = getattr(dataset, "fingerprint", "")
    if fingerprint:
        ckey = (fingerprint, id(params), name)
        hit = _BY_CONTENT.get(ckey)
        if hit is not None and hit[0] is params:
            return hit[1]
        value = build()
        if len(_BY_CONTENT) >= _BY_CONTENT_MAX:
            _BY_CONTENT.pop(next(iter(_BY_CONTENT)))
        _BY_CONTENT[ckey] = (params, value)
        return value
    key = (id(dataset), id(params), name)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is dataset and hit[1] is params:
        return hit[2]
    value = build()
    try:
        ref = weakref.ref(dataset, lambda _r, k=key: _CACHE.pop(k, None))
    except TypeError:  # not weak-referenceable: do not cache
        return value
    _CACHE[key] = (ref, params, value)
    return value


def warm_up(params: Params, dataset) -> None:
    """Compute, once, the all-period tables that every report draws from.

    Called by the batch's zygote before it forks kernels, so that each notebook
    only selects its VU and period from tables already in memory.
    """
    from vu_lib.model import forecast, nyckeltal, variance

    for fn in (monthly_ledger, monthly_volumes, netting_all, forecast.forecast_all,
               variance.variance_all, nyckeltal.nyckeltal_all):
        fn(params, dataset)
    _medel_all(params, dataset)
    _medel_summary_all(params, dataset)


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


def _years(dataset) -> list[int]:
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
def _grid_cumulate(df: pd.DataFrame, keys: list[str], values: list[str], years: list[int],
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
    (0 when nothing was booked) and ``<amount>_ack`` (year to date). Cached per
    (params, dataset); do not mutate.
    """
    def build():
        units = unit_table(params)
        led = dataset.ledger
        led = led[(led["kodtyp"] == "ID") & led["kontoslag"].isin(KONTOSLAG)]
        keys = ["vu", "kluster", "enhet"]
        g = (led.groupby(keys + ["ar", "manad", "kontoslag"])["belopp"].sum()
             .unstack("kontoslag").reindex(columns=list(KONTOSLAG)).fillna(0.0).reset_index())
        key_index = pd.MultiIndex.from_frame(units[keys])
        grid = _grid_cumulate(g, keys, list(KONTOSLAG), _years(dataset), key_index, fill=0.0)
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
        grid["period"] = _period_strings(grid["ar"], grid["manad"])
        return grid

    return cached("monthly_ledger", params, dataset, build)


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
            out[level] = _grid_cumulate(df, k + ["matt", "utforare"], ["varde"], _years(dataset), None, fill=None)
        return out

    return cached("monthly_volumes", params, dataset, build)


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
def _period_strings(ar: pd.Series, manad: pd.Series) -> np.ndarray:
    """``'YYYY-MM'`` for each (ar, manad), formatting each distinct month once."""
    code = ar.to_numpy(dtype=np.int64) * 100 + manad.to_numpy(dtype=np.int64)
    uniq, inv = np.unique(code, return_inverse=True)
    labels = np.array([month_str(int(c) // 100, int(c) % 100) for c in uniq], dtype=object)
    return labels[inv]


def _level_frame(params: Params, dataset, niva: str) -> pd.DataFrame:
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

    return cached(f"level:{niva}", params, dataset, build)


def results(params: Params, dataset, niva: Niva = "vu", year: int | None = None) -> pd.DataFrame:
    """Results for every month with data, at a level.

    ``resultat = ersattning + medel + ovrig_intakt − (personal + ovrig_kostnad)``
    per month, and each amount year to date (``<amount>_ack`` = Σ months 1..m).

    Parameters
    ----------
    params : Params
    dataset : Dataset
    niva : {'namnd', 'niva1', 'vu', 'kluster', 'enhet'}
        ``'vu'`` is nivå 2, ``'enhet'`` nivå 3 (the units), ``'niva1'`` nivå 1 per
        nämnd (öppna former / vårdboende / heldygn).
    year : int, optional
        Only this year.

    Returns
    -------
    pandas.DataFrame
        The level's keys (see :data:`LEVEL_KEYS`; ``separat`` is True for EKB),
        ``ar``, ``manad``, ``period``, the amounts of :data:`AMOUNTS` for the month
        and ``<amount>_ack``; kronor rounded to öre. Months 1 to the last month
        with ledger data in each year; a month without bookings shows 0.
    """
    df = _level_frame(params, dataset, niva)
    last = last_months(dataset)
    lim = df["ar"].map(last).fillna(0)
    keep = df["manad"] <= lim
    if year is not None:
        keep &= df["ar"] == year
    out = df[keep].reset_index(drop=True)
    return stamp(out, _trace_last(params, dataset, year))


def period_results(params: Params, dataset, year: int, month: int | None = None, niva: Niva = "vu") -> pd.DataFrame:
    """:func:`results` at one period: the month's amounts and the year to date.

    Parameters
    ----------
    year : int or str
        The year, or a month ``'YYYY-MM'`` / Period when ``month`` is omitted.
    month : int, optional
    niva : see :func:`results`.
    """
    year, month = _ym(year, month)
    return _at_period(params, dataset, _level_frame(params, dataset, niva), year, month)


def _ym(year, month) -> tuple[int, int]:
    if month is None:
        return parse_month(year)
    return int(year), int(month)


def _trace_last(params: Params, dataset, year: int | None):
    last = last_months(dataset)
    if year is not None and year in last:
        return trace_for(params, dataset, year, last[year])
    if last:
        y = max(last)
        return trace_for(params, dataset, y, last[y])
    return trace_for(params, dataset, params.sista_ar)


def _at_period(params: Params, dataset, df: pd.DataFrame, year: int, month: int,
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


def _at_data_periods(params: Params, dataset, df: pd.DataFrame) -> pd.DataFrame:
    """The rows of an all-months frame ``df`` at the periods with data (:func:`eval_periods`).

    Stamped with the trace of the latest period with ledger data; the rows in
    ``df``'s order with a fresh index.
    """
    keep = df.set_index(["ar", "manad"]).index.isin(pd.MultiIndex.from_frame(eval_periods(dataset)))
    return stamp(df[keep].reset_index(drop=True), _trace_last(params, dataset, None))


# --------------------------------------------------------------------------- netting
NETTING_COLUMNS = [
    "radtyp", "namnd", "vu", "namn", "ersattning_ack", "medel_ack", "ovrig_intakt_ack", "intakter_ack",
    "kostnad_ack", "resultat_ack", "resultat", "andel_ersattning", "resultat_andel_intakter",
    "resultat_andel_totalen", "overskott_ack", "underskott_ack", "underskott_tackt_ack", "underskott_otackt_ack",
]


def _netting_all(params: Params, dataset) -> pd.DataFrame:
    """:func:`netting` for every month of the grid at once (cached)."""
    def build():
        vu = _level_frame(params, dataset, "vu").rename(columns={"vu_namn": "namn"})
        order = unit_table(params).drop_duplicates("vu").set_index("vu")["_o_vu"]
        namnder = list(params.registry.namnder)
        per = ["ar", "manad", "period"]
        base = ["ersattning_ack", "medel_ack", "ovrig_intakt_ack", "intakter_ack", "kostnad_ack",
                "resultat_ack", "resultat"]
        vu = vu[per + ["namnd", "vu", "namn", "separat"] + base].copy()
        vu["separat"] = vu["separat"].astype(bool)
        vu["overskott_ack"] = vu["resultat_ack"].clip(lower=0) + 0.0
        vu["underskott_ack"] = (-vu["resultat_ack"]).clip(lower=0) + 0.0
        in_nine = vu["vu"].isin(params.vu_ids()).to_numpy()
        nine = vu[in_nine].copy()
        sep = vu[~in_nine].copy()           # EKB, and any VU the registry does not know
        S = nine.groupby(per)["overskott_ack"].transform("sum")
        U = nine.groupby(per)["underskott_ack"].transform("sum")
        cover = np.where(U > 0, np.minimum(1.0, S / U.where(U > 0, 1.0)), 1.0)
        nine["underskott_tackt_ack"] = (nine["underskott_ack"] * cover).round(2) + 0.0
        nine["underskott_otackt_ack"] = (nine["underskott_ack"] - nine["underskott_tackt_ack"]).round(2) + 0.0
        sep["underskott_tackt_ack"] = 0.0  # not netted with the nine
        sep["underskott_otackt_ack"] = sep["underskott_ack"]
        sums = base + ["overskott_ack", "underskott_ack", "underskott_tackt_ack", "underskott_otackt_ack"]

        n_idx = {n: i for i, n in enumerate(namnder)}
        nine["radtyp"] = "vu"
        nine["_o"] = nine["namnd"].map(n_idx) * 1000 + nine["vu"].map(order)
        sub = nine.groupby(per + ["namnd"], as_index=False)[sums].sum()
        sub["radtyp"], sub["vu"] = "namnd", ""
        sub["namn"] = "Summa " + sub["namnd"].map(params.registry.namnder)
        sub["_o"] = sub["namnd"].map(n_idx) * 1000 + 999
        tot = nine.groupby(per, as_index=False)[sums].sum()
        tot["radtyp"], tot["namnd"], tot["vu"], tot["namn"], tot["_o"] = "totalt", "", "", "Summa nio verksamhetsuppdrag", 90_000
        known = sep["vu"].isin(order.index).to_numpy()
        sep["radtyp"] = np.where(known, "separat", "okand")
        sep["namn"] = np.where(known, sep["namn"] + " (separat reglerad)",
                               "Kod som saknas i registret (" + sep["vu"].replace("", "utan VU") + ")")
        sep["_o"] = 91_000 + sep["vu"].map(order).fillna(900).to_numpy()
        allr = pd.concat([nine, sep], ignore_index=True).groupby(per, as_index=False)[sums].sum()
        allr["radtyp"], allr["namnd"], allr["vu"] = "totalt_inkl_separata", "", ""
        allr["namn"], allr["_o"] = "Totalt inklusive separat reglerade", 92_000
        out = pd.concat([nine, sub, tot, sep, allr], ignore_index=True)

        tot_i = tot.set_index(per)
        key = pd.MultiIndex.from_frame(out[per])
        comp_total = (tot_i["ersattning_ack"] + tot_i["medel_ack"]).reindex(key).to_numpy()
        rev_total = tot_i["intakter_ack"].reindex(key).to_numpy()
        is_sep = (out["radtyp"] == "separat").to_numpy()
        last = (out["radtyp"] == "totalt_inkl_separata").to_numpy()
        own_comp = (out["ersattning_ack"] + out["medel_ack"]).to_numpy()
        own_rev = out["intakter_ack"].to_numpy()
        res = out["resultat_ack"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            margin = np.where(own_rev != 0, res / own_rev, np.nan)
            out["andel_ersattning"] = np.where(is_sep | last | (comp_total == 0), np.nan, own_comp / comp_total)
            out["resultat_andel_intakter"] = margin
            out["resultat_andel_totalen"] = np.where(
                is_sep, margin, np.where(last | (rev_total == 0), np.nan, res / rev_total))
        out[sums] = out[sums].astype(float).round(2) + 0.0
        out = out.sort_values(["ar", "manad", "_o"], kind="stable")
        return out[per + NETTING_COLUMNS].reset_index(drop=True)

    return cached("netting", params, dataset, build)


def netting(params: Params, dataset, year, month: int | None = None) -> pd.DataFrame:
    """Each VU's result and the net over the nine (and per nämnd), EKB apart.

    Rows, in order: the VU of each nämnd (``radtyp == 'vu'``) followed by the
    nämnd's subtotal (``'namnd'``), the total of the nine (``'totalt'``), each
    separately regulated line such as EKB (``'separat'``), ledger rows on
    codes the registry does not know (``'okand'``, only when there are
    any), and the total including all of them (``'totalt_inkl_separata'``).

    Columns (``_ack`` year to date, ``resultat`` the month):

    * ``andel_ersattning`` = (ersattning_ack + medel_ack) of the row / the same
      over the nine: the row's share of Leanlink's total compensation;
    * ``resultat_andel_intakter`` = resultat_ack / intakter_ack of the row (margin);
    * ``resultat_andel_totalen`` = resultat_ack / intakter_ack of the nine: the
      row's result as a share of Leanlink's total revenue for the nine; it adds
      up over the VU to the total's;
    * ``overskott_ack`` = max(resultat_ack, 0), ``underskott_ack`` =
      max(−resultat_ack, 0) per VU (sums on subtotal rows);
    * ``underskott_tackt_ack`` = underskott_ack × min(1, S / U) with S the sum of
      the nine's surpluses and U of their deficits: the part of a deficit
      carried by other VU's surpluses within the total compensation;
      ``underskott_otackt_ack`` the rest. On the total row
      ``overskott − underskott = resultat_ack`` (the net).

    A separately regulated line (EKB) is not in the nine's totals and is not
    netted with them: its shares are of its own revenue.
    """
    year, month = _ym(year, month)
    return _at_period(params, dataset, _netting_all(params, dataset), year, month, NETTING_COLUMNS)


def netting_all(params: Params, dataset) -> pd.DataFrame:
    """:func:`netting` for every month with data, with ``ar``, ``manad``, ``period`` first."""
    return _at_data_periods(params, dataset, _netting_all(params, dataset))


# --------------------------------------------------------------------------- changes of funds
MEDEL_COLUMNS = [
    "id", "vu", "vu_namn", "namnd", "typ", "typ_namn", "beskrivning", "aterrapporteringskrav",
    "aterrapportering_senast", "forsta_utbetalning", "senaste_utbetalning", "belopp_manad", "belopp_ack",
    "dagar_till_aterrapportering", "aterrapportering_passerad", "status",
]


def _medel_all(params: Params, dataset) -> pd.DataFrame:
    """:func:`medel_report` for every month of the grid at once (cached), with ``ar``, ``manad``."""
    def build():
        m = dataset.medel
        years = sorted(set(_years(dataset)) | set(m["ar"].astype(int).tolist()))
        grid = pd.DataFrame([(y, k) for y in years for k in range(1, 13)], columns=["ar", "_m"])
        if m.empty:
            return pd.DataFrame(columns=["ar", "manad"] + MEDEL_COLUMNS)
        x = m.merge(grid, on="ar")
        x = x[x["manad"] <= x["_m"]]
        x = x.assign(_manad_belopp=np.where(x["manad"] == x["_m"], x["belopp"], 0.0))
        keys = ["ar", "_m", "id", "vu", "typ", "beskrivning", "aterrapporteringskrav", "aterrapportering_senast"]
        g = x.groupby(keys, as_index=False, sort=False).agg(
            forsta_utbetalning=("period", "min"), senaste_utbetalning=("period", "max"),
            belopp_manad=("_manad_belopp", "sum"), belopp_ack=("belopp", "sum"))
        g = g.rename(columns={"_m": "manad"})
        vus = unit_table(params).drop_duplicates("vu").set_index("vu")
        g["vu_namn"] = g["vu"].map(vus["vu_namn"])
        g["namnd"] = g["vu"].map(vus["namnd"])
        g["typ_namn"] = g["typ"].map(MEDEL_TYP_NAMN).fillna(g["typ"])
        end = pd.to_datetime(pd.DataFrame({"year": g["ar"], "month": g["manad"], "day": 1})) + pd.offsets.MonthEnd(0)
        deadline = pd.to_datetime(g["aterrapportering_senast"].replace("", None), errors="coerce")
        g["dagar_till_aterrapportering"] = (deadline - end).dt.days.astype(float)
        g["aterrapportering_passerad"] = (deadline < end).fillna(False).astype(bool)
        g["status"] = np.where(
            deadline.isna(), "Ingen återrapporteringstidpunkt",
            np.where(g["aterrapportering_passerad"], "Återrapportering passerad",
                     "Återrapportering senast " + g["aterrapportering_senast"].astype(str)))
        g[["belopp_manad", "belopp_ack"]] = g[["belopp_manad", "belopp_ack"]].round(2) + 0.0
        g["_o"] = g["vu"].map(vus["_o_vu"]).fillna(999)
        g = g.sort_values(["ar", "manad", "_o", "typ", "id"], kind="stable")
        return g[["ar", "manad"] + MEDEL_COLUMNS].reset_index(drop=True)

    return cached("medel", params, dataset, build)


def medel_report(params: Params, dataset, year, month: int | None = None) -> pd.DataFrame:
    """Changes of funds outside the budget process, per case, year to date.

    For every case (``id``) with a payment in months 1..m of the year:
    ``belopp_ack`` = Σ payments in months 1..m, ``belopp_manad`` = the month's
    payments, and its återrapporteringskrav and deadline.

    ``aterrapportering_passerad`` is True when the deadline lies before the
    last day of the period's month (``senast < period end``);
    ``dagar_till_aterrapportering`` = senast − period end in days (negative when
    passed; NaN without a deadline). ``status``: ``'Återrapportering passerad'``,
    ``'Återrapportering senast <datum>'`` or ``'Ingen återrapporteringstidpunkt'``.

    Rows sorted by VU (registry order), type and id.
    """
    year, month = _ym(year, month)
    return _at_period(params, dataset, _medel_all(params, dataset), year, month, MEDEL_COLUMNS)


MEDEL_SUMMARY_COLUMNS = ["vu", "typ", "typ_namn", "belopp_ack", "antal_arenden", "antal_passerade", "bokfort_ack",
                         "skillnad"]


def _medel_summary_all(params: Params, dataset) -> pd.DataFrame:
    def build():
        rep = _medel_all(params, dataset)
        per = ["ar", "manad"]
        by_typ = rep.groupby(per + ["vu", "typ"], as_index=False).agg(
            belopp_ack=("belopp_ack", "sum"), antal_arenden=("id", "size"),
            antal_passerade=("aterrapportering_passerad", "sum"))
        by_typ["typ_namn"] = by_typ["typ"].map(MEDEL_TYP_NAMN).fillna(by_typ["typ"])
        by_typ["bokfort_ack"] = np.nan
        by_typ["skillnad"] = np.nan
        by_typ["_r"] = 0
        tot = rep.groupby(per + ["vu"], as_index=False).agg(
            belopp_ack=("belopp_ack", "sum"), antal_arenden=("id", "size"),
            antal_passerade=("aterrapportering_passerad", "sum"))
        booked = _level_frame(params, dataset, "vu")[per + ["vu", "medel_ack"]].rename(columns={"medel_ack": "bokfort_ack"})
        tot = booked.merge(tot, on=per + ["vu"], how="left")
        tot = tot[(tot["bokfort_ack"] != 0) | tot["antal_arenden"].notna()].copy()
        tot[["belopp_ack", "antal_arenden", "antal_passerade"]] = tot[
            ["belopp_ack", "antal_arenden", "antal_passerade"]].fillna(0)
        tot["typ"], tot["typ_namn"], tot["_r"] = "", "Summa", 1
        tot["skillnad"] = (tot["bokfort_ack"] - tot["belopp_ack"]).round(2) + 0.0
        out = pd.concat([by_typ, tot], ignore_index=True)
        order = {v: i for i, v in enumerate(params.vu_ids(include_separata=True))}
        out["_o"] = out["vu"].map(order).fillna(999)
        out = out.sort_values(per + ["_o", "_r", "typ"], kind="stable")
        out["belopp_ack"] = out["belopp_ack"].round(2) + 0.0
        out[["antal_arenden", "antal_passerade"]] = out[["antal_arenden", "antal_passerade"]].astype(int)
        return out[per + MEDEL_SUMMARY_COLUMNS].reset_index(drop=True)

    return cached("medel_summary", params, dataset, build)


def medel_summary(params: Params, dataset, year, month: int | None = None) -> pd.DataFrame:
    """Changes of funds per VU and type, year to date, with the booked amount.

    Rows per (VU, type) that has a case: ``belopp_ack`` (Σ of the cases),
    ``antal_arenden``, ``antal_passerade`` (deadline passed, see
    :func:`medel_report`); then a row per VU with ``typ == ''`` and
    ``typ_namn == 'Summa'`` that adds ``bokfort_ack`` (Leanlink's booked
    kontoslag medel, year to date) and ``skillnad = bokfort_ack − belopp_ack``.
    A VU with neither cases nor booked changes of funds has no rows.
    """
    year, month = _ym(year, month)
    return _at_period(params, dataset, _medel_summary_all(params, dataset), year, month, MEDEL_SUMMARY_COLUMNS)
