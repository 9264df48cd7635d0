"""Monthly transfers SoF → Leanlink and their reconciliation with SoF's ledger.

The transfer of VU ``v`` in month ``m`` of year ``Y``:

.. math:: T_{v,m} = p_{v,m} + \\sum_s \\mathrm{round}_{öre}(q_{v,s,m} R_{v,s,Y,m}) + M_{v,m}

* ``p_{v,m}``: the month's part of the fixed compensation
  (:func:`vu_lib.compensation.monthly_fixed`: whole kronor or öre as the year's
  ``overforing.avrundning`` says, twelve parts summing to ``F`` exactly, a
  revision's change items spread from its month);
* ``q_{v,s,m}``: Leanlink's actual volume of service ``s`` (``volymer`` rows of
  the service's ``matt`` and ``kluster`` with ``utforare == 'leanlink'``,
  summed over units; a month with no volume gives 0);
* ``R_{v,s,Y,m}``: the rate in force that month (:func:`vu_lib.compensation.rate`);
* ``M_{v,m}``: changes of funds (``medel``) paid that month.

Summed over the twelve months: ``Σ_m T = F + Σ V + Σ M`` exactly (to the öre).

Money is computed in :class:`~decimal.Decimal`; the tables hold exact öre
amounts as floats (``fast`` whole kronor as int). Use :func:`exact_sum` to add a
column without float error.
"""
from __future__ import annotations

from decimal import Decimal

import pandas as pd

from vu_lib.model.compensation import monthly_fixed, rate, service_info, services_of, variable_amount
from vu_lib.model.index import D, round_ore
from vu_lib.core.params import Params
from vu_lib.model.periods import month_str

BOOKED_KINDS = ("overforing", "overforing_medel")


def exact_sum(values) -> Decimal:
    """Σ of öre amounts without float error: ``Σ round_öre(Decimal(str(x)))``."""
    return sum((round_ore(D(float(x))) for x in values), Decimal(0))


def _default_to_month(dataset, year: int) -> int:
    """The last month of ``year`` with ledger data (12 when the year is complete or has none)."""
    months = dataset.ledger.loc[dataset.ledger["ar"] == year, "manad"] if dataset is not None else []
    return int(max(months)) if len(months) else 12


def service_volume(dataset, vu_id: str, info: dict, year: int, month: int) -> Decimal:
    """``q``: Leanlink's volume of one service in one month.

    Rows of ``volymer`` with the service's ``matt`` and ``kluster`` and
    ``utforare == 'leanlink'``. Unit rows (``enhet != ''``) are summed; the
    cluster-level row (``enhet == ''``) is used only when there are no unit rows,
    so a file giving both is not counted twice. Summed in Decimal.
    """
    v = dataset.volymer
    v = v[(v["vu"] == vu_id) & (v["ar"] == year) & (v["manad"] == month) & (v["matt"] == info["matt"])
          & (v["kluster"] == info["kluster"]) & (v["utforare"] == "leanlink")]
    units = v[v["enhet"] != ""]
    use = units if not units.empty else v
    return sum((D(float(x)) for x in use["varde"]), Decimal(0))


def variable_detail(params: Params, dataset, vu_id: str, year: int, to_month: int | None = None) -> pd.DataFrame:
    """The variable compensation per service and month: ``round_öre(q × R)``.

    Returns
    -------
    pandas.DataFrame
        ``vu``, ``ar``, ``manad``, ``period``, ``tjanst``, ``namn``, ``matt``,
        ``kluster``, ``volym`` (q), ``pris`` (R, kr per unit), ``belopp`` (öre).
        Empty for a VU with no variable services.
    """
    from vu_lib.model.trace import stamp, trace_for

    to_month = to_month or _default_to_month(dataset, year)
    rows = []
    for s in services_of(params, vu_id):
        info = service_info(params, vu_id, s)
        for m in range(1, to_month + 1):
            q = service_volume(dataset, vu_id, info, year, m)
            r = rate(params, vu_id, s, year, m)
            rows.append({
                "vu": vu_id, "ar": year, "manad": m, "period": month_str(year, m), "tjanst": s,
                "namn": info["namn"], "matt": info["matt"], "kluster": info["kluster"],
                "volym": float(q), "pris": float(r), "belopp": float(variable_amount(q, r)),
            })
    cols = ["vu", "ar", "manad", "period", "tjanst", "namn", "matt", "kluster", "volym", "pris", "belopp"]
    return stamp(pd.DataFrame(rows, columns=cols), trace_for(params, dataset, year, to_month))


def _medel(dataset, vu_id: str, year: int, month: int) -> Decimal:
    m = dataset.medel
    m = m[(m["vu"] == vu_id) & (m["ar"] == year) & (m["manad"] == month)]
    return exact_sum(m["belopp"])


def _cached(params: Params, dataset, name: str, build):
    """``build()`` once per :class:`~vu_lib.model.ledger.Tables` (a Model), a copy to each caller; else built."""
    from vu_lib.model.ledger import Tables

    if isinstance(dataset, Tables) and dataset.params is params:
        df = dataset.get(name, build)
        out = df.copy()
        out.attrs = dict(df.attrs)
        return out
    return build()


def monthly_transfers(params: Params, dataset, vu_id: str, year: int, to_month: int | None = None) -> pd.DataFrame:
    """``T_{v,m}`` for months 1..``to_month`` of ``year``, with each part.

    Parameters
    ----------
    to_month : int, optional
        Default: the last month of ``year`` with ledger data (12 if none).

    Returns
    -------
    pandas.DataFrame
        ``vu``, ``ar``, ``manad``, ``period``, ``modellversion``, ``fast`` (int
        kr), ``rorlig`` (Σ_s round_öre(q R)), ``medel`` (M), ``overforing``
        (T = fast + rorlig + medel).
    """
    to_month = to_month or _default_to_month(dataset, year)
    return _cached(params, dataset, f"monthly_transfers:{vu_id}:{year}:{to_month}",
                   lambda: _monthly_transfers(params, dataset, vu_id, year, to_month))


def _monthly_transfers(params: Params, dataset, vu_id: str, year: int, to_month: int) -> pd.DataFrame:
    from vu_lib.model.compensation import model_version
    from vu_lib.model.trace import stamp, trace_for

    fixed = monthly_fixed(params, vu_id, year)
    var = variable_detail(params, dataset, vu_id, year, to_month)
    rows = []
    for m in range(1, to_month + 1):
        v = exact_sum(var.loc[var["manad"] == m, "belopp"])
        md = _medel(dataset, vu_id, year, m)
        rows.append({
            "vu": vu_id, "ar": year, "manad": m, "period": month_str(year, m),
            "modellversion": model_version(params, year, m),
            "fast": int(fixed[m - 1]) if fixed[m - 1] == int(fixed[m - 1]) else float(fixed[m - 1]),
            "rorlig": float(v), "medel": float(md),
            "overforing": float(fixed[m - 1] + v + md),
        })
    cols = ["vu", "ar", "manad", "period", "modellversion", "fast", "rorlig", "medel", "overforing"]
    return stamp(pd.DataFrame(rows, columns=cols), trace_for(params, dataset, year, to_month))


def transfers(params: Params, dataset, year: int, to_month: int | None = None, vu_ids=None) -> pd.DataFrame:
    """:func:`monthly_transfers` for several VU stacked (default: the nine and EKB)."""
    from vu_lib.model.trace import stamp, trace_for

    to_month = to_month or _default_to_month(dataset, year)
    ids = list(vu_ids) if vu_ids is not None else params.vu_ids(include_separata=True)
    df = pd.concat([monthly_transfers(params, dataset, v, year, to_month) for v in ids], ignore_index=True)
    return stamp(df, trace_for(params, dataset, year, to_month))


def transfer_totals(params: Params, dataset, vu_id: str, year: int, to_month: int | None = None) -> dict[str, Decimal]:
    """Exact year-to-date sums: ``{'fast', 'rorlig', 'medel', 'overforing'}`` as Decimal."""
    df = monthly_transfers(params, dataset, vu_id, year, to_month)
    return {c: exact_sum(df[c]) for c in ("fast", "rorlig", "medel", "overforing")}


def reconcile_transfers(params: Params, dataset, year: int, to_month: int | None = None, vu_ids=None) -> pd.DataFrame:
    """Computed transfers against what SoF booked on its komplement codes, per VU and month.

    Booked = Σ ledger rows with ``kodtyp == 'KOMPLEMENT'`` of the VU and month:
    ``bokford_overforing`` (kontoslag overforing) and ``bokford_medel``
    (overforing_medel), ``bokford`` their sum. ``skillnad = bokford − beraknad``
    (öre; positive: SoF booked more than the model gives). SoF may book the
    fixed twelfth to the öre or in whole kronor, so a difference of at most the
    year's tolerance (``overforing.tolerans`` in ``params/modell/<år>.yaml``,
    1 kr by default) is rounding: ``avrundning`` is True when
    ``0 < |skillnad| <= tolerans`` and ``avviker`` only when
    ``|skillnad| > tolerans``.

    Returns
    -------
    pandas.DataFrame
        ``vu``, ``namn``, ``ar``, ``manad``, ``period``, ``beraknad_fast``,
        ``beraknad_rorlig``, ``beraknad_medel``, ``beraknad`` (T),
        ``bokford_overforing``, ``bokford_medel``, ``bokford``, ``skillnad``,
        ``avrundning``, ``avviker``. Default VU: the nine and EKB; default ``to_month``: last
        month of ``year`` with ledger data.
    """
    from vu_lib.model.trace import stamp, trace_for

    to_month = to_month or _default_to_month(dataset, year)
    everyone = params.vu_ids(include_separata=True)
    ids = list(vu_ids) if vu_ids is not None else everyone
    if set(ids) <= set(everyone):  # sliced from every VU's, built once per model (the zygote warms it)
        full = _cached(params, dataset, f"reconcile:{year}:{to_month}",
                       lambda: _reconcile(params, dataset, year, to_month, everyone))
        if ids == everyone:
            return full
        df = pd.concat([full[full["vu"] == v] for v in ids], ignore_index=True)
        return stamp(df, trace_for(params, dataset, year, to_month))
    return _reconcile(params, dataset, year, to_month, ids)


def _reconcile(params: Params, dataset, year: int, to_month: int, vu_ids: list[str]) -> pd.DataFrame:
    from vu_lib.model.trace import stamp, trace_for

    t = transfers(params, dataset, year, to_month, vu_ids)
    led = dataset.ledger
    led = led[(led["kodtyp"] == "KOMPLEMENT") & (led["ar"] == year) & led["kontoslag"].isin(BOOKED_KINDS)]
    tol = D(params.modellar(year).overforing.tolerans)
    rows = []
    for r in t.itertuples(index=False):
        lm = led[(led["vu"] == r.vu) & (led["manad"] == r.manad)]
        b_ord = exact_sum(lm.loc[lm["kontoslag"] == "overforing", "belopp"])
        b_med = exact_sum(lm.loc[lm["kontoslag"] == "overforing_medel", "belopp"])
        calc = round_ore(D(r.overforing))
        diff = b_ord + b_med - calc
        rows.append({
            "vu": r.vu, "namn": params.vu(r.vu).namn, "ar": r.ar, "manad": r.manad, "period": r.period,
            "beraknad_fast": r.fast, "beraknad_rorlig": r.rorlig, "beraknad_medel": r.medel,
            "beraknad": float(calc), "bokford_overforing": float(b_ord), "bokford_medel": float(b_med),
            "bokford": float(b_ord + b_med), "skillnad": float(diff),
            "avrundning": diff != 0 and abs(diff) <= tol, "avviker": abs(diff) > tol,
        })
    return stamp(pd.DataFrame(rows), trace_for(params, dataset, year, to_month))


def differing_months(recon: pd.DataFrame) -> dict[str, list[str]]:
    """``{vu: ['YYYY-MM', ...]}`` of the months whose booked transfer differs (VU without differences left out)."""
    d = recon[recon["avviker"]]
    return {vu: g["period"].tolist() for vu, g in d.groupby("vu", sort=False)}


def reconciliation_summary(recon: pd.DataFrame) -> pd.DataFrame:
    """Per VU: ``beraknad``, ``bokford``, ``skillnad`` summed exactly, ``antal_avvikande``
    and ``avvikande_manader`` (comma-separated months), ``avvikelse`` (Σ of the
    real differences) and ``avrundning`` (Σ of the differences within the
    tolerance) with ``antal_avrundning``, in the order of ``recon``."""
    rows = []
    for vu, g in recon.groupby("vu", sort=False):
        months = g.loc[g["avviker"], "period"].tolist()
        rnd = g["avrundning"] if "avrundning" in g else pd.Series(False, index=g.index)
        rows.append({
            "vu": vu, "namn": g["namn"].iloc[0],
            "beraknad": float(exact_sum(g["beraknad"])), "bokford": float(exact_sum(g["bokford"])),
            "skillnad": float(exact_sum(g["skillnad"])), "antal_avvikande": len(months),
            "avvikande_manader": ", ".join(months),
            "avvikelse": float(exact_sum(g.loc[g["avviker"], "skillnad"])),
            "avrundning": float(exact_sum(g.loc[rnd.astype(bool), "skillnad"])),
            "antal_avrundning": int(rnd.astype(bool).sum()),
        })
    df = pd.DataFrame(rows)
    if "trace" in recon.attrs:
        df.attrs["trace"] = recon.attrs["trace"]
    return df
