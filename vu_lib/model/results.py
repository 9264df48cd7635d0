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

The month grid and year-to-date sums (:func:`~vu_lib.model.ledger.monthly_ledger`,
:func:`~vu_lib.model.ledger.monthly_volumes`) live in :mod:`vu_lib.model.ledger`, shared
with :mod:`~vu_lib.model.forecast`, :mod:`~vu_lib.model.variance` and
:mod:`~vu_lib.model.nyckeltal`; each is built once per
:class:`~vu_lib.model.model.Model`.
"""
from __future__ import annotations


import numpy as np
import pandas as pd

from vu_lib.core.params import Params
from vu_lib.model.ledger import (  # noqa: F401 - re-exported: public names of vu_lib.results since 0.1
    AMOUNTS, AMOUNTS_ACK, COST, KONTOSLAG, LEVEL_KEYS, REVENUE, Niva, as_tables, at_data_periods, at_period,
    cluster_table, data_years, eval_periods, last_months, level_frame, monthly_ledger, monthly_volumes, trace_last,
    unit_table, ym)
from vu_lib.model.trace import stamp

MEDEL_TYP_NAMN = {
    "statsbidrag": "Statsbidrag",
    "oforutsedd_handelse": "Oförutsedd händelse",
    "riktad_satsning": "Riktad satsning",
}


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
    df = level_frame(params, dataset, niva)
    last = last_months(dataset)
    lim = df["ar"].map(last).fillna(0)
    keep = df["manad"] <= lim
    if year is not None:
        keep &= df["ar"] == year
    out = df[keep].reset_index(drop=True)
    return stamp(out, trace_last(params, dataset, year))


def period_results(params: Params, dataset, year: int, month: int | None = None, niva: Niva = "vu") -> pd.DataFrame:
    """:func:`results` at one period: the month's amounts and the year to date.

    Parameters
    ----------
    year : int or str
        The year, or a month ``'YYYY-MM'`` / Period when ``month`` is omitted.
    month : int, optional
    niva : see :func:`results`.
    """
    year, month = ym(year, month)
    return at_period(params, dataset, level_frame(params, dataset, niva), year, month)


# --------------------------------------------------------------------------- netting
NETTING_COLUMNS = [
    "radtyp", "namnd", "vu", "namn", "ersattning_ack", "medel_ack", "ovrig_intakt_ack", "intakter_ack",
    "kostnad_ack", "resultat_ack", "resultat", "andel_ersattning", "resultat_andel_intakter",
    "resultat_andel_totalen", "overskott_ack", "underskott_ack", "underskott_tackt_ack", "underskott_otackt_ack",
]


def _netting_all(params: Params, dataset) -> pd.DataFrame:
    """:func:`netting` for every month of the grid at once (built once per model)."""
    def build():
        vu = level_frame(params, dataset, "vu").rename(columns={"vu_namn": "namn"})
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

    return as_tables(params, dataset).get("netting", build)


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
    year, month = ym(year, month)
    return at_period(params, dataset, _netting_all(params, dataset), year, month, NETTING_COLUMNS)


def netting_all(params: Params, dataset) -> pd.DataFrame:
    """:func:`netting` for every month with data, with ``ar``, ``manad``, ``period`` first."""
    return at_data_periods(params, dataset, _netting_all(params, dataset))


# --------------------------------------------------------------------------- changes of funds
MEDEL_COLUMNS = [
    "id", "vu", "vu_namn", "namnd", "typ", "typ_namn", "beskrivning", "aterrapporteringskrav",
    "aterrapportering_senast", "forsta_utbetalning", "senaste_utbetalning", "belopp_manad", "belopp_ack",
    "dagar_till_aterrapportering", "aterrapportering_passerad", "status",
]


def _medel_all(params: Params, dataset) -> pd.DataFrame:
    """:func:`medel_report` for every month of the grid at once (built once per model), with ``ar``, ``manad``."""
    def build():
        m = dataset.medel
        years = sorted(set(data_years(dataset)) | set(m["ar"].astype(int).tolist()))
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

    return as_tables(params, dataset).get("medel", build)


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
    year, month = ym(year, month)
    return at_period(params, dataset, _medel_all(params, dataset), year, month, MEDEL_COLUMNS)


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
        booked = level_frame(params, dataset, "vu")[per + ["vu", "medel_ack"]].rename(columns={"medel_ack": "bokfort_ack"})
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

    return as_tables(params, dataset).get("medel_summary", build)


def medel_summary(params: Params, dataset, year, month: int | None = None) -> pd.DataFrame:
    """Changes of funds per VU and type, year to date, with the booked amount.

    Rows per (VU, type) that has a case: ``belopp_ack`` (Σ of the cases),
    ``antal_arenden``, ``antal_passerade`` (deadline passed, see
    :func:`medel_report`); then a row per VU with ``typ == ''`` and
    ``typ_namn == 'Summa'`` that adds ``bokfort_ack`` (Leanlink's booked
    kontoslag medel, year to date) and ``skillnad = bokfort_ack − belopp_ack``.
    A VU with neither cases nor booked changes of funds has no rows.
    """
    year, month = ym(year, month)
    return at_period(params, dataset, _medel_summary_all(params, dataset), year, month, MEDEL_SUMMARY_COLUMNS)
