"""Schablonkostnad per årsarbetare: the standard cost that steers open activities.

Parameters per year (``schablon`` in ``params/modell/<year>.yaml``): ``B``
baskostnad (yearly wage at factor 1.00), ``f_l`` faktor per education level,
``PO`` po_palagg, ``O`` ovriga_kostnader per årsarbetare, ``OH`` overhead,
``H`` timmar_per_arsarbetare.

Schablon per level (whole kronor, half away from zero):

.. math:: S_l = \\mathrm{round}((B f_l (1 + PO) + O)(1 + OH))

ÄN rule (AN-OPPNA, registry ``ersattning.schablon: an``): the number of
årsarbetare steers the allocation,

.. math:: A = \\mathrm{round}(\\sum_l FTE_l S_l)

SON rule (SON-OPPNA-*, ``schablon: son``): årsarbetare converted to hours, per
cluster ``c``; the hourly cost is rounded to öre, the allocation to kronor:

.. math:: k_c = \\mathrm{round}_{öre}\\Big(\\frac{\\sum_l FTE_{c,l} S_l}{H \\sum_l FTE_{c,l}}\\Big),
          \\qquad A_c = \\mathrm{round}(k_c \\cdot t_c)

with ``t_c`` the cluster's planned hours.

Follow-up (:func:`schablon_followup`) compares the actual cost per årsarbetare
and per hour from the ledger with the schablon for the staffing mix.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Mapping

import pandas as pd

from vu_lib.core.exceptions import ParamsError
from vu_lib.model.index import D, round_kr, round_ore
from vu_lib.core.params import Params

COST_KINDS = ("personal", "ovrig_kostnad")
LEVEL_LABELS = {
    "vardbitrade": "Vårdbiträde",
    "underskoterska": "Undersköterska",
    "behandlingsassistent": "Behandlingsassistent",
    "socionom": "Socionom",
    "arbetsterapeut_fysioterapeut": "Arbetsterapeut/fysioterapeut",
    "sjukskoterska": "Sjuksköterska",
    "enhetschef": "Enhetschef",
}


def schablon_vus(params: Params) -> dict[str, str]:
    """The FTE-steered VU and their rule: ``{'AN-OPPNA': 'an', 'SON-OPPNA-BUF': 'son', ...}``."""
    return {v.id: v.ersattning.schablon for v in params.registry.alla if v.ersattning.schablon}


def _factor(params: Params, year: int, level: str) -> Decimal:
    s = params.modellar(year).schablon
    if level not in s.faktorer:
        raise ParamsError(
            f"Utbildningsnivån '{level}' saknar faktor i {params.root / 'modell' / f'{year}.yaml'} "
            f"(schablon.faktorer: {', '.join(s.faktorer)})"
        )
    return D(s.faktorer[level])


def schablon_cost(params: Params, year: int, level: str) -> int:
    """``S_l = round((B × f_l × (1 + PO) + O) × (1 + OH))``, whole kronor per årsarbetare."""
    s = params.modellar(year).schablon
    f = _factor(params, year, level)
    return round_kr((D(s.baskostnad) * f * (1 + D(s.po_palagg)) + D(s.ovriga_kostnader)) * (1 + D(s.overhead)))


def schablon_table(params: Params, year: int) -> pd.DataFrame:
    """The schablon per education level of a year.

    Columns: ``utbildningsniva``, ``namn``, ``faktor``, ``lon`` (B × f),
    ``po`` (B × f × PO), ``ovriga_kostnader`` (O), ``overhead``
    ((B f (1+PO) + O) × OH), ``schablon`` (S_l, whole kronor; the unrounded
    parts may differ from it by the rounding), ``timkostnad`` (S_l / H, öre).
    """
    from vu_lib.model.trace import stamp, trace_for

    s = params.modellar(year).schablon
    rows = []
    for level in s.faktorer:
        f = _factor(params, year, level)
        lon = D(s.baskostnad) * f
        po = lon * D(s.po_palagg)
        oh = (lon + po + D(s.ovriga_kostnader)) * D(s.overhead)
        S = schablon_cost(params, year, level)
        rows.append({
            "utbildningsniva": level,
            "namn": LEVEL_LABELS.get(level, level),
            "faktor": float(f),
            "lon": float(round_ore(lon)),
            "po": float(round_ore(po)),
            "ovriga_kostnader": int(s.ovriga_kostnader),
            "overhead": float(round_ore(oh)),
            "schablon": S,
            "timkostnad": float(round_ore(D(S) / s.timmar_per_arsarbetare)),
        })
    return stamp(pd.DataFrame(rows), trace_for(params, None, year))


def allocation_an(params: Params, year: int, fte: Mapping[str, float]) -> int:
    """ÄN rule: ``round(Σ_l FTE_l × S_l)`` whole kronor.

    Parameters
    ----------
    fte : mapping
        Årsarbetare per education level, ``{'underskoterska': 12.5, ...}``.
    """
    return round_kr(sum((D(n) * schablon_cost(params, year, lvl) for lvl, n in fte.items()), Decimal(0)))


def son_cost_per_hour(params: Params, year: int, fte: Mapping[str, float]) -> Decimal:
    """SON rule, one cluster: ``round_öre(Σ_l FTE_l S_l / (Σ_l FTE_l × H))`` kr per hour.

    Raises ValueError when the cluster has no årsarbetare.
    """
    total_fte = sum((D(n) for n in fte.values()), Decimal(0))
    if total_fte == 0:
        raise ValueError("Klustret har inga årsarbetare; timkostnaden kan inte beräknas")
    cost = sum((D(n) * schablon_cost(params, year, lvl) for lvl, n in fte.items()), Decimal(0))
    return round_ore(cost / (total_fte * params.modellar(year).schablon.timmar_per_arsarbetare))


def allocation_son(
    params: Params, year: int, fte: Mapping[str, Mapping[str, float]], planned_hours: Mapping[str, float]
) -> pd.DataFrame:
    """SON rule per cluster: ``A_c = round(k_c × t_c)`` with ``k_c`` from :func:`son_cost_per_hour`.

    Parameters
    ----------
    fte : mapping
        ``{kluster: {utbildningsniva: årsarbetare}}``.
    planned_hours : mapping
        ``{kluster: planerade timmar}``; a cluster missing here has 0 hours.

    Returns
    -------
    pandas.DataFrame
        ``kluster``, ``arsarbetare``, ``schablonkostnad`` (round(Σ FTE × S)),
        ``timmar_kapacitet`` (Σ FTE × H), ``kostnad_per_timme`` (öre),
        ``planerade_timmar``, ``tilldelning`` (whole kronor).
    """
    H = params.modellar(year).schablon.timmar_per_arsarbetare
    rows = []
    for c, levels in fte.items():
        n = sum((D(x) for x in levels.values()), Decimal(0))
        if n == 0:
            continue
        k = son_cost_per_hour(params, year, levels)
        t = D(planned_hours.get(c, 0))
        rows.append({
            "kluster": c,
            "arsarbetare": float(n),
            "schablonkostnad": allocation_an(params, year, levels),
            "timmar_kapacitet": float(n * H),
            "kostnad_per_timme": float(k),
            "planerade_timmar": float(t),
            "tilldelning": round_kr(k * t),
        })
    cols = ["kluster", "arsarbetare", "schablonkostnad", "timmar_kapacitet", "kostnad_per_timme",
            "planerade_timmar", "tilldelning"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- staffing from data
def latest_staffing(dataset, vu_id: str, up_to: str | None = None) -> tuple[str | None, pd.DataFrame]:
    """The latest month of staffing of a VU and its årsarbetare per cluster and level.

    Parameters
    ----------
    dataset : Dataset
    up_to : str, optional
        Only months ``<= up_to`` ('YYYY-MM').

    Returns
    -------
    (period, DataFrame)
        The month (None when there is none) and ``kluster``,
        ``utbildningsniva``, ``arsarbetare`` summed over units.
    """
    b = dataset.bemanning
    b = b[b["vu"] == vu_id]
    if up_to is not None:
        b = b[b["period"] <= up_to]
    if b.empty:
        return None, pd.DataFrame(columns=["kluster", "utbildningsniva", "arsarbetare"])
    last = b["period"].max()
    g = (b[b["period"] == last].groupby(["kluster", "utbildningsniva"], as_index=False)["arsarbetare"].sum())
    return last, g


def fte_by_cluster(df: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{kluster: {utbildningsniva: Σ arsarbetare}}`` from rows of ``kluster``, ``utbildningsniva``, ``arsarbetare``."""
    out: dict[str, dict[str, float]] = {}
    for r in df.itertuples(index=False):
        out.setdefault(r.kluster, {})
        out[r.kluster][r.utbildningsniva] = out[r.kluster].get(r.utbildningsniva, 0.0) + float(r.arsarbetare)
    return out


def _mix_schablon(params: Params, year: int, levels: Mapping[str, float]) -> Decimal | None:
    """Schablon per årsarbetare of a staffing mix: ``Σ FTE_l S_l / Σ FTE_l`` (unrounded)."""
    n = sum((D(x) for x in levels.values()), Decimal(0))
    if n == 0:
        return None
    return sum((D(x) * schablon_cost(params, year, l) for l, x in levels.items()), Decimal(0)) / n


def _ratio(num: float, den: float) -> float | None:
    return float(round_ore(D(num) / D(den))) if den else None


def schablon_followup(params: Params, dataset, value) -> pd.DataFrame:
    """Actual cost per årsarbetare and per hour against the schablon, per VU and cluster.

    For every FTE-steered VU (:func:`schablon_vus`) and the months of the period
    (a månad: the month; a delår/helår: January to the cut-off):

    * ``kostnad`` = Σ ledger ``ID`` rows of kontoslag personal + ovrig_kostnad;
    * ``arsarbetare`` = mean over the period's months with staffing of the
      month's Σ årsarbetare (all units and levels);
    * ``kostnad_per_arsarbetare`` = kostnad × 12 / n_months / arsarbetare
      (annualised; ``n_months`` the period's months);
    * ``schablon_per_arsarbetare`` = Σ_l FTE̅_l S_l / Σ_l FTE̅_l for the mean
      staffing mix, with the period year's schablon;
    * ``kostnad_per_planerad_timme`` = kostnad / Σ planerade_timmar and
      ``kostnad_per_utford_timme`` = kostnad / Σ utforda_timmar (Leanlink's or
      unsplit rows);
    * ``schablon_per_timme`` = schablon_per_arsarbetare / H;
    * ``avvikelse_*`` = actual − schablon.

    Ratios are rounded to öre; a ratio with a zero denominator is empty (NaN).
    A row with ``niva == 'vu'`` (``kluster == ''``) totals each VU.
    """
    from vu_lib.model.periods import period as make_period
    from vu_lib.model.trace import stamp, trace_for

    p = make_period(params, value)
    months = p.months
    n_months = len(months)
    H = params.modellar(p.ar).schablon.timmar_per_arsarbetare
    led = dataset.ledger
    led = led[(led["kodtyp"] == "ID") & led["kontoslag"].isin(COST_KINDS) & led["period"].isin(months)]
    vol = dataset.volymer
    vol = vol[vol["period"].isin(months) & vol["utforare"].isin(["leanlink", ""])]
    bem = dataset.bemanning
    bem = bem[bem["period"].isin(months)]

    rows = []
    for vu_id, rule in schablon_vus(params).items():
        vu = params.vu(vu_id)
        groups = [(k.id, k.namn, "kluster", [k.id]) for k in vu.kluster]
        groups.append(("", "Hela uppdraget", "vu", [k.id for k in vu.kluster]))
        for kid, kname, niva, ks in groups:
            cost = float(led[(led["vu"] == vu_id) & led["kluster"].isin(ks)]["belopp"].sum())
            b = bem[(bem["vu"] == vu_id) & bem["kluster"].isin(ks)]
            n_staff = b["period"].nunique()
            levels = (b.groupby("utbildningsniva")["arsarbetare"].sum() / n_staff).to_dict() if n_staff else {}
            fte = float(sum(levels.values()))
            mix = _mix_schablon(params, p.ar, levels)
            v = vol[(vol["vu"] == vu_id) & vol["kluster"].isin(ks)]
            planned = float(v[v["matt"] == "planerade_timmar"]["varde"].sum())
            performed = float(v[v["matt"] == "utforda_timmar"]["varde"].sum())
            per_fte = _ratio(cost * 12 / n_months, fte) if fte else None
            s_fte = float(round_ore(mix)) if mix is not None else None
            s_hour = float(round_ore(mix / H)) if mix is not None else None
            per_planned = _ratio(cost, planned)
            rows.append({
                "vu": vu_id, "regel": rule.upper() if rule == "son" else "ÄN", "kluster": kid,
                "kluster_namn": kname, "niva": niva, "antal_manader": n_months,
                "kostnad": round(cost, 2), "arsarbetare": round(fte, 4),
                "kostnad_per_arsarbetare": per_fte, "schablon_per_arsarbetare": s_fte,
                "avvikelse_per_arsarbetare": round(per_fte - s_fte, 2) if per_fte is not None and s_fte is not None else None,
                "planerade_timmar": planned, "utforda_timmar": performed,
                "kostnad_per_planerad_timme": per_planned,
                "kostnad_per_utford_timme": _ratio(cost, performed),
                "schablon_per_timme": s_hour,
                "avvikelse_per_timme": round(per_planned - s_hour, 2) if per_planned is not None and s_hour is not None else None,
            })
    df = pd.DataFrame(rows)
    for c in ("kostnad_per_arsarbetare", "schablon_per_arsarbetare", "avvikelse_per_arsarbetare",
              "kostnad_per_planerad_timme", "kostnad_per_utford_timme", "schablon_per_timme", "avvikelse_per_timme"):
        df[c] = df[c].astype(float)
    return stamp(df, trace_for(params, dataset, p.ar, p.manad))
