"""Variance analysis (avvikelseanalys): volume effect and price/efficiency effect.

For a cluster with budgeted volume ``q_b`` at a budgeted price ``c_b`` and an
outcome of volume ``q_a`` at the actual cost ``K`` (so ``c_a = K / q_a``), year
to date at month ``m``:

.. math::

    \\Delta &= q_a c_a - q_b c_b = K - B \\qquad (B = q_b c_b \\text{, the budget}) \\\\
    \\text{volymeffekt} &= (q_a - q_b)\\, c_b \\\\
    \\text{pris- och effektivitetseffekt} &= (c_a - c_b)\\, q_a

and the two effects add up to ``Δ`` exactly. To hold that to the öre, ``K``,
``B`` and the volume effect are rounded to öre and the price/efficiency effect
is ``Δ − volymeffekt``, which equals ``(c_a − c_b) q_a`` up to that rounding.
Positive amounts mean cost above budget (unfavourable).

Which VU and what ``q`` and ``c`` are (``K`` is always the cluster's Leanlink
cost, kontoslag personal + ovrig_kostnad, from the ledger):

**Områdesansvar** (registry ``form: prisbilaga``), per service/cluster:
``q_a`` = Leanlink's utforda_timmar, ``q_b`` = budget_timmar (Leanlink's
budgeted hours), ``c_b`` = the price annex rate :func:`vu_lib.compensation.rate`
(with a rate revision within the year ``c_b = Σ_k q_{b,k} R_k / q_b`` over the
months). The price annex pays an hourly part *and* a fixed part, and Leanlink's
budget is in balance with both (model.md, "Budgeted cost"), so the budgeted
cost of a cluster is

.. math::

    B_c = q_{b,c} c_{b,c} + F^{ytd}_c, \\qquad
    F^{ytd}_c = F^{ytd} \\cdot \\frac{q_{b,c} c_{b,c}}{\\sum_{c'} q_{b,c'} c_{b,c'}}

where ``F^{ytd}`` is the fixed compensation paid for months 1..m
(:func:`vu_lib.compensation.monthly_fixed`): the fixed part is allocated to
the clusters in proportion to their budgeted hourly compensation, exactly to
the öre (largest remainder; equal parts when no cluster has budgeted hours).
The volume effect is priced at the hourly rate, ``(q_a − q_b) c_b``, the
amount by which the compensation itself moves with the volume; the price and
efficiency effect is the rest, ``K − F^{ytd}_c − q_a c_b``. So for a
price-annex VU whose compensation is booked as the model pays it,
``resultat = −pris_effektivitetseffekt + medel + övriga intäkter`` (the
volume effect is paid for by the hourly compensation), and the deviation and
the result tell the same story. ``fast_del`` is ``F^{ytd}_c``.

**Vårdboende** (registry ``niva1: Vårdboende``, i.e. AN-VB), per cluster:
``q`` = belagda_dygn against budget_belagda_dygn, and ``c_b`` = the
referenskostnad ``F_ytd / Σ_clusters q_b``, where ``F_ytd`` = the fixed
compensation paid for months 1..m (:func:`vu_lib.compensation.monthly_fixed`):
the budgeted cost is the fixed compensation allocated to the clusters by
budgeted belagda dygn (in öre by largest remainder, so the clusters' budgets
add up to ``F_ytd`` exactly).

**SON open activities** (registry ``schablon: son``), per cluster: ``q_b`` =
planerade_timmar (the volume the allocation is set from). ``q_a`` = Leanlink's
utforda_timmar where the data has them for the cluster in the period, else the
planned hours (the volume effect is then 0 and ``notering`` says so).
``c_b`` = the SON schablon cost per hour for the cluster's actual staffing mix
over months 1..m (:mod:`vu_lib.schablon`):
``k_c = round_öre(Σ FTE_l S_l / (H Σ FTE_l))``; without staffing data it is NaN.

A VU row (``kluster == ''``) sums its clusters' volumes, amounts and effects.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from vu_lib.model.compensation import rate, service_info, services_of
from vu_lib.core.exceptions import ParamsError
from vu_lib.core.params import Params
from vu_lib.model.ledger import (at_data_periods, at_period, grid_cumulate, level_frame, data_years, ym, as_tables, cluster_table,
                      fixed_cum, monthly_volumes)
from vu_lib.model.schablon import schablon_cost

VARIANCE_COLUMNS = [
    "vu", "vu_namn", "kluster", "kluster_namn", "metod", "matt", "ar", "manad", "period",
    "volym_budget", "volym_utfall", "pris_budget", "pris_utfall", "kostnad_budget", "kostnad_utfall",
    "avvikelse", "volymeffekt", "pris_effektivitetseffekt", "fast_del", "notering",
]
METHOD_LABELS = {"prisbilaga": "Timpris enligt prisbilaga", "dygn": "Referenskostnad per dygn",
                 "schablon": "Schablonkostnad per timme"}


def variance_vus(params: Params) -> dict[str, str]:
    """The VU analysed and their method: ``'prisbilaga'``, ``'dygn'`` or ``'schablon'``."""
    out = {}
    for vu in params.registry.verksamhetsuppdrag:
        if vu.ersattning.form == "prisbilaga":
            out[vu.id] = "prisbilaga"
        elif vu.niva1 == "Vårdboende":
            out[vu.id] = "dygn"
        elif vu.ersattning.schablon == "son":
            out[vu.id] = "schablon"
    return out



def _rates(params: Params, years: list[int]) -> pd.DataFrame:
    """Rates per Områdesansvar VU, cluster and month: ``vu, kluster, ar, manad, pris``."""
    rows = []
    for vu_id, method in variance_vus(params).items():
        if method != "prisbilaga":
            continue
        for s in services_of(params, vu_id):
            k = service_info(params, vu_id, s)["kluster"]
            for y in years:
                for m in range(1, 13):
                    try:
                        r = float(rate(params, vu_id, s, y, m))
                    except ParamsError:
                        r = float("nan")
                    rows.append((vu_id, k, y, m, r))
    return pd.DataFrame(rows, columns=["vu", "kluster", "ar", "manad", "pris"])


def _vol(vk: pd.DataFrame, matt: str, leanlink: bool) -> pd.DataFrame:
    """Cluster-level month values and YTD of one measure; Leanlink's (leanlink + unsplit) or all."""
    sel = vk[vk["matt"] == matt]
    sel = sel[sel["utforare"].isin(["leanlink", ""])] if leanlink else sel[sel["utforare"] != "totalt"]
    return sel.groupby(["vu", "kluster", "ar", "manad"], as_index=False)[["varde", "varde_ack", "varde_n"]].sum(min_count=1)


def _schablon_per_hour(params: Params, dataset) -> pd.DataFrame:
    """SON: ``k_c`` per (vu, kluster, ar, manad) from staffing months 1..m (öre)."""
    b = dataset.bemanning
    son = [v for v, meth in variance_vus(params).items() if meth == "schablon"]
    b = b[b["vu"].isin(son)]
    if b.empty:
        return pd.DataFrame(columns=["vu", "kluster", "ar", "manad", "pris_budget"])
    pairs = b[["ar", "utbildningsniva"]].drop_duplicates()
    S = {}
    for y, lvl in pairs.itertuples(index=False):
        try:
            S[(int(y), lvl)] = float(schablon_cost(params, int(y), lvl))
        except ParamsError:  # a data year without a model year, or a level without a factor
            S[(int(y), lvl)] = float("nan")
    b = b.assign(fte_s=[a * S[(int(y), lvl)] for a, y, lvl in zip(b["arsarbetare"], b["ar"], b["utbildningsniva"])])
    g = b.groupby(["vu", "kluster", "ar", "manad"], as_index=False)[["fte_s", "arsarbetare"]].sum()
    cum = grid_cumulate(g, ["vu", "kluster"], ["fte_s", "arsarbetare"], sorted(g["ar"].unique().tolist()), None, fill=0.0)
    H = cum["ar"].map(lambda y: params.modellar(int(y)).schablon.timmar_per_arsarbetare if int(y) in params.ar else np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = cum["fte_s_ack"] / (H * cum["arsarbetare_ack"])
    cum["pris_budget"] = np.where(cum["arsarbetare_ack"] > 0, _round_ore(k.to_numpy(dtype=float)), np.nan)
    return cum[["vu", "kluster", "ar", "manad", "pris_budget"]]


def allocate_ore(total_ore: int, weights) -> list[int]:
    """Split ``total_ore`` (integer öre) in proportion to ``weights``, exactly.

    Largest remainder (ties to the lower index); equal parts when the weights
    sum to zero or less. The parts always add up to ``total_ore``.
    """
    from fractions import Fraction

    n = len(weights)
    if n == 0:
        return []
    w = [Fraction(max(float(x), 0.0)) if np.isfinite(float(x)) else Fraction(0) for x in weights]
    if sum(w) <= 0:
        w = [Fraction(1)] * n
    tot = sum(w)
    sign = -1 if total_ore < 0 else 1
    t = abs(int(total_ore))
    exact = [t * x / tot for x in w]
    parts = [int(e) for e in exact]
    rest = t - sum(parts)
    order = sorted(range(n), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:rest]:
        parts[i] += 1
    return [sign * p for p in parts]


def _allocate_fixed(params: Params, base: pd.DataFrame, weight: str = "kostnad_budget_raw") -> np.ndarray:
    """``F^{ytd}_c`` per row of ``base`` (one row per vu, kluster, ar, manad) in proportion to ``weight``,
    kronor to the öre, summing to ``F^{ytd}`` exactly."""
    out = np.zeros(len(base))
    for (v, y, m), g in base.groupby(["vu", "ar", "manad"], sort=False):
        f = fixed_cum(params, v, int(y))[int(m) - 1]
        if not np.isfinite(f):
            out[base.index.get_indexer(g.index)] = np.nan
            continue
        parts = allocate_ore(int(round(f * 100)), g[weight].to_numpy(dtype=float))
        out[base.index.get_indexer(g.index)] = np.array(parts, dtype=float) / 100
    return out


def _round_ore(x):
    """Round kronor to öre, half away from zero (as :func:`vu_lib.index.round_ore`)."""
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.floor(np.abs(x) * 100 + 0.5 + 1e-9) / 100


def _to_ore(x):
    x = np.asarray(x, dtype=float)
    return np.where(np.isfinite(x), np.sign(x) * np.floor(np.abs(x) * 100 + 0.5 + 1e-9), np.nan)


def _variance_all(params: Params, dataset) -> pd.DataFrame:
    def build():
        methods = variance_vus(params)
        clusters = cluster_table(params)
        clusters = clusters[clusters["vu"].isin(methods)]
        cost = level_frame(params, dataset, "kluster")
        cost = cost[cost["vu"].isin(methods)][["vu", "vu_namn", "kluster", "kluster_namn", "ar", "manad", "period",
                                              "kostnad_ack"]]
        vk = monthly_volumes(params, dataset)["kluster"]
        years = data_years(dataset)
        if cost.empty:
            return pd.DataFrame(columns=VARIANCE_COLUMNS)
        parts = []

        # --- Områdesansvar: q = utförda timmar (Leanlink), q_b = budget_timmar, c_b = rate
        omr = [v for v, m in methods.items() if m == "prisbilaga"]
        if omr:
            svc = pd.DataFrame([(v, service_info(params, v, s)["kluster"]) for v in omr for s in services_of(params, v)],
                               columns=["vu", "kluster"])
            base = cost.merge(svc, on=["vu", "kluster"])
            qa = _vol(vk, "utforda_timmar", True).rename(columns={"varde_ack": "volym_utfall", "varde_n": "_n_a"})
            qb = _vol(vk, "budget_timmar", False)
            rates = _rates(params, years)
            qb = qb.merge(rates, on=["vu", "kluster", "ar", "manad"], how="left")
            qb["_b"] = qb["varde"].astype(float).fillna(0.0) * qb["pris"].astype(float)
            qb = qb.sort_values(["vu", "kluster", "ar", "manad"])
            qb["kostnad_budget_raw"] = qb.groupby(["vu", "kluster", "ar"])["_b"].cumsum()
            base = base.merge(rates, on=["vu", "kluster", "ar", "manad"], how="left")
            base = base.merge(qa[["vu", "kluster", "ar", "manad", "volym_utfall"]], on=["vu", "kluster", "ar", "manad"], how="left")
            base = base.merge(qb[["vu", "kluster", "ar", "manad", "varde_ack", "kostnad_budget_raw"]].rename(
                columns={"varde_ack": "volym_budget"}), on=["vu", "kluster", "ar", "manad"], how="left")
            # a month without budget rows: carry the cumulative budget (Σ over months with rows)
            base = base.sort_values(["vu", "kluster", "ar", "manad"])
            for c in ("volym_budget", "kostnad_budget_raw"):
                base[c] = base.groupby(["vu", "kluster", "ar"])[c].ffill().fillna(0.0)
            base["volym_utfall"] = base["volym_utfall"].fillna(0.0)
            qbv = base["volym_budget"].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                base["pris_budget"] = np.where(qbv > 0, base["kostnad_budget_raw"] / qbv, base["pris"])
            # the price annex's fixed part, allocated to the clusters by budgeted hourly compensation
            base["fast_del"] = _allocate_fixed(params, base)
            base["kostnad_budget_raw"] = base["kostnad_budget_raw"] + base["fast_del"]
            base["metod"], base["matt"], base["notering"] = "prisbilaga", "timmar", ""
            parts.append(base)

        # --- Vårdboende: q = belagda dygn, c_b = referenskostnad F_ytd / Σ q_b
        dygn = [v for v, m in methods.items() if m == "dygn"]
        if dygn:
            base = cost[cost["vu"].isin(dygn)].copy()
            qa = _vol(vk, "belagda_dygn", False)[["vu", "kluster", "ar", "manad", "varde_ack"]].rename(
                columns={"varde_ack": "volym_utfall"})
            qb = _vol(vk, "budget_belagda_dygn", False)[["vu", "kluster", "ar", "manad", "varde_ack"]].rename(
                columns={"varde_ack": "volym_budget"})
            base = base.merge(qa, on=["vu", "kluster", "ar", "manad"], how="left").merge(
                qb, on=["vu", "kluster", "ar", "manad"], how="left")
            base[["volym_utfall", "volym_budget"]] = base[["volym_utfall", "volym_budget"]].fillna(0.0)
            tot_b = base.groupby(["vu", "ar", "manad"])["volym_budget"].transform("sum").to_numpy(dtype=float)
            f_ytd = np.array([fixed_cum(params, v, int(y))[int(m) - 1]
                              for v, y, m in zip(base["vu"], base["ar"], base["manad"])], dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                base["pris_budget"] = np.where(tot_b > 0, f_ytd / tot_b, np.nan)
            # B_c = q_b,c × F_ytd / Σ q_b, allocated in öre so that Σ_c B_c = F_ytd exactly
            base["kostnad_budget_raw"] = np.where(tot_b > 0, _allocate_fixed(params, base, "volym_budget"), np.nan)
            base["metod"], base["matt"] = "dygn", "dygn"
            base["notering"] = np.where(tot_b > 0, "", "Budgeterade belagda dygn saknas")
            parts.append(base)

        # --- SON open: q_b = planerade timmar, q_a = utförda (else planerade), c_b = schablon per hour
        son = [v for v, m in methods.items() if m == "schablon"]
        if son:
            base = cost[cost["vu"].isin(son)].copy()
            qp = _vol(vk, "planerade_timmar", False)[["vu", "kluster", "ar", "manad", "varde_ack"]].rename(
                columns={"varde_ack": "volym_budget"})
            qa = _vol(vk, "utforda_timmar", True)[["vu", "kluster", "ar", "manad", "varde_ack", "varde_n"]].rename(
                columns={"varde_ack": "_utf", "varde_n": "_utf_n"})
            base = base.merge(qp, on=["vu", "kluster", "ar", "manad"], how="left").merge(
                qa, on=["vu", "kluster", "ar", "manad"], how="left")
            base["volym_budget"] = base["volym_budget"].fillna(0.0)
            has_utf = base["_utf_n"].fillna(0).to_numpy() > 0
            base["volym_utfall"] = np.where(has_utf, base["_utf"], base["volym_budget"])
            k = _schablon_per_hour(params, dataset)
            base = base.merge(k, on=["vu", "kluster", "ar", "manad"], how="left")
            base["kostnad_budget_raw"] = base["volym_budget"] * base["pris_budget"]
            base["metod"], base["matt"] = "schablon", "timmar"
            base["notering"] = np.where(
                base["pris_budget"].isna(), "Bemanning saknas: schablonkostnaden kan inte beräknas",
                np.where(has_utf, "", "Utförda timmar saknas: planerade timmar används som utfall"))
            parts.append(base)

        if not parts:
            return pd.DataFrame(columns=VARIANCE_COLUMNS)
        df = pd.concat(parts, ignore_index=True)
        # exact öre arithmetic
        K = _to_ore(df["kostnad_ack"])
        B = _to_ore(df["kostnad_budget_raw"])
        qa = df["volym_utfall"].to_numpy(dtype=float)
        qb = df["volym_budget"].to_numpy(dtype=float)
        cb = df["pris_budget"].to_numpy(dtype=float)
        vol_eff = _to_ore((qa - qb) * cb)
        total = K - B
        price = total - vol_eff
        df["kostnad_utfall"] = K / 100
        df["kostnad_budget"] = B / 100
        df["avvikelse"] = total / 100
        df["volymeffekt"] = vol_eff / 100
        df["pris_effektivitetseffekt"] = price / 100
        with np.errstate(divide="ignore", invalid="ignore"):
            df["pris_utfall"] = np.where(qa > 0, df["kostnad_ack"] / qa, np.nan)
        df["_o"] = df["vu"].map(clusters.drop_duplicates("vu").set_index("vu")["_o_kluster"] // 100)
        df["_ok"] = df.merge(clusters[["vu", "kluster", "_o_kluster"]], on=["vu", "kluster"], how="left")["_o_kluster"].to_numpy()

        # VU rows: sums of the clusters (amounts in öre, so sums stay exact)
        if "fast_del" not in df:
            df["fast_del"] = np.nan
        df["fast_del"] = np.where(df["metod"] == "prisbilaga", df["fast_del"], np.nan)
        sums = ["volym_budget", "volym_utfall", "kostnad_budget", "kostnad_utfall", "avvikelse", "volymeffekt",
                "pris_effektivitetseffekt", "fast_del"]
        tmp = df.copy()
        for c in sums[2:]:
            tmp[c] = _to_ore(tmp[c])
        vu_rows = tmp.groupby(["vu", "vu_namn", "metod", "matt", "ar", "manad", "period", "_o"], as_index=False)[sums].sum(min_count=1)
        for c in sums[2:]:
            vu_rows[c] = vu_rows[c] / 100
        n_nan = df["pris_budget"].isna().groupby([df["vu"], df["ar"], df["manad"]]).any()
        nan_rows = vu_rows.set_index(["vu", "ar", "manad"]).index.map(n_nan).to_numpy(dtype=bool)
        for c in ("kostnad_budget", "avvikelse", "volymeffekt", "pris_effektivitetseffekt"):
            vu_rows.loc[nan_rows, c] = np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            hourly = vu_rows["kostnad_budget"] - vu_rows["fast_del"].fillna(0.0)
            vu_rows["pris_budget"] = np.where(vu_rows["volym_budget"] > 0, hourly / vu_rows["volym_budget"], np.nan)
            vu_rows["pris_utfall"] = np.where(vu_rows["volym_utfall"] > 0,
                                              vu_rows["kostnad_utfall"] / vu_rows["volym_utfall"], np.nan)
        vu_rows["kluster"], vu_rows["kluster_namn"] = "", "Hela uppdraget"
        vu_rows["notering"] = np.where(nan_rows, "Något kluster saknar budgetpris", "Summa av klustren")
        vu_rows["_ok"] = vu_rows["_o"] * 100 + 99
        out = pd.concat([df, vu_rows], ignore_index=True)
        out = out.sort_values(["ar", "manad", "_o", "_ok"], kind="stable")
        out["pris_budget"] = _round_ore(out["pris_budget"])
        out["pris_utfall"] = _round_ore(out["pris_utfall"])
        return out[VARIANCE_COLUMNS].reset_index(drop=True)

    return as_tables(params, dataset).get("variance", build)


def variance(params: Params, dataset, year, month: int | None = None, vu: str | None = None) -> pd.DataFrame:
    """Volume and price/efficiency effects per cluster, year to date at a month.

    Parameters
    ----------
    params : Params
    dataset : Dataset
    year : int or str
        The year, or the month ``'YYYY-MM'`` when ``month`` is omitted.
    month : int, optional
    vu : str, optional
        Only this VU.

    Returns
    -------
    pandas.DataFrame
        Per analysed VU (:func:`variance_vus`) and cluster, then a VU row
        (``kluster == ''``): ``metod``, ``matt`` ('timmar' | 'dygn'),
        ``volym_budget`` (q_b), ``volym_utfall`` (q_a), ``pris_budget`` (c_b),
        ``pris_utfall`` (c_a = K / q_a), ``kostnad_budget`` (B = q_b c_b),
        ``kostnad_utfall`` (K), ``avvikelse`` (K − B), ``volymeffekt``
        ((q_a − q_b) c_b), ``pris_effektivitetseffekt`` ((c_a − c_b) q_a) and
        ``fast_del`` (price-annex VU: the fixed compensation to date allocated
        to the cluster, included in ``kostnad_budget``; NaN for other methods)
        and ``notering``; kronor to öre, ``volymeffekt + pris_effektivitetseffekt
        == avvikelse`` to the öre. See the module docstring.
    """
    year, month = ym(year, month)
    df = _variance_all(params, dataset)
    if vu is not None:
        df = df[df["vu"] == vu]
    return at_period(params, dataset, df, year, month)


def variance_all(params: Params, dataset) -> pd.DataFrame:
    """:func:`variance` for every month with data, stacked."""
    return at_data_periods(params, dataset, _variance_all(params, dataset))
