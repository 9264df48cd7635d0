"""The budget proposal for next year (the May–June reconciliation of frames and volumes).

For proposal year ``Y`` (params hold ``Y`` as a model year, e.g. 2027) and the
current year ``Y-1``:

* per VU: ``F_{v,Y-1}`` (including the year's revisions), the index ``i_Y``,
  the indexation ``round(F_{v,Y-1} (1 + i_Y)) − F_{v,Y-1}``, each proposed
  change item of ``Y``, and ``F_{v,Y}`` = the sum of the bridge
  (:func:`vu_lib.compensation.fixed_bridge`);
* the variable rates ``R_{s,Y-1}`` (as of December) and ``R_{s,Y}``;
* for the FTE-steered VU, the schablon-based allocation from the latest
  staffing in the data with the schablon of ``Y`` (ÄN rule for ``schablon: an``,
  SON rule with planned hours for ``schablon: son``; :mod:`vu_lib.schablon`)
  compared with the proposed ``F_{v,Y}``;
* totals per nämnd and overall (the nine VU; EKB as its own line);
* the budget-process calendar of ``params/modell/<Y>.yaml``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from vu_lib.model.compensation import fixed_bridge, rate, service_info, services_of
from vu_lib.core.exceptions import ParamsError
from vu_lib.model.index import D, index_for
from vu_lib.core.params import Params
from vu_lib.model.periods import month_str, parse_month
from vu_lib.model.schablon import allocation_an, allocation_son, fte_by_cluster, latest_staffing, schablon_vus


def _check_year(params: Params, year: int) -> None:
    if year not in params.ar:
        raise ParamsError(
            f"Budgetförslag för {year} kräver modellåret {year} i {params.root / 'modell'} "
            f"(finns: {', '.join(map(str, sorted(params.ar)))}); lägg till {year}.yaml"
        )
    if year - 1 not in params.ar:
        raise ParamsError(
            f"Budgetförslag för {year} kräver innevarande år {year - 1} i {params.root / 'modell'} "
            f"(första modellåret är {params.forsta_ar})"
        )


def _stamp(params: Params, dataset, year: int, df: pd.DataFrame) -> pd.DataFrame:
    from vu_lib.model.trace import stamp, trace_for

    return stamp(df, trace_for(params, dataset, year))


def budget_per_vu(params: Params, year: int) -> pd.DataFrame:
    """One row per VU (the nine, then EKB): the bridge from ``F_{Y-1}`` to ``F_Y``.

    Columns: ``vu``, ``namn``, ``namnd``, ``separat`` (bool, EKB),
    ``ersattning_innevarande`` (F_{Y-1}, kr), ``index`` (i_Y as a share; None for
    EKB), ``indexering`` (round(F_{Y-1}(1 + i_Y)) − F_{Y-1}, kr), ``forandringar``
    (Σ change items, kr; for EKB the separately regulated change),
    ``ersattning_forslag`` (F_Y), ``forandring`` (F_Y − F_{Y-1}),
    ``forandring_andel`` (forandring / F_{Y-1}).
    ``ersattning_innevarande + indexering + forandringar == ersattning_forslag`` exactly.
    """
    _check_year(params, year)
    i = index_for(params, year)
    rows = []
    for vu in params.registry.alla:
        steps = fixed_bridge(params, vu.id, year)
        separat = vu.id in params.modellar(year).separat_ersattning
        prev = next((s.belopp for s in steps if s.typ == "forra_aret"), None)
        if prev is None:  # the year overrides F with fast_ersattning: compare with last year's F
            prev = fixed_bridge(params, vu.id, year - 1)[-1].belopp
        new = steps[-1].belopp
        indexing = sum(s.belopp for s in steps if s.typ == "index")
        changes = new - prev - indexing
        rows.append({
            "vu": vu.id, "namn": vu.namn, "namnd": vu.namnd, "separat": separat,
            "ersattning_innevarande": prev, "index": None if separat else float(i),
            "indexering": indexing, "forandringar": changes, "ersattning_forslag": new,
            "forandring": new - prev, "forandring_andel": (new - prev) / prev if prev else None,
        })
    return _stamp(params, None, year, pd.DataFrame(rows))


def budget_changes(params: Params, year: int) -> pd.DataFrame:
    """The proposed change items of ``year``, one row each, with their signed amount.

    Columns: ``vu``, ``steg`` (label), ``typ``, ``belopp`` (kr; effektiviseringskrav
    negative, a share taken of the indexed base), ``beskrivning``, ``giltig_fran``
    (revision month or None).
    """
    _check_year(params, year)
    rows = []
    for vu in params.registry.alla:
        for s in fixed_bridge(params, vu.id, year)[:-1]:
            if s.typ in ("forra_aret", "index", "fastst", "summa"):
                continue
            rows.append({"vu": vu.id, "steg": s.steg, "typ": s.typ, "belopp": s.belopp,
                         "beskrivning": s.beskrivning, "giltig_fran": s.giltig_fran})
    return _stamp(params, None, year, pd.DataFrame(rows, columns=["vu", "steg", "typ", "belopp", "beskrivning", "giltig_fran"]))


def budget_rates(params: Params, year: int) -> pd.DataFrame:
    """Variable rates this year (``R_{Y-1}`` in force in December) and next (``R_Y`` in January).

    Columns: ``vu``, ``tjanst``, ``namn``, ``enhet``, ``pris_innevarande``,
    ``pris_forslag``, ``forandring`` (kr), ``forandring_andel``.
    """
    _check_year(params, year)
    rows = []
    for vu in params.registry.alla:
        for s in services_of(params, vu.id):
            info = service_info(params, vu.id, s)
            r0, r1 = rate(params, vu.id, s, year - 1, 12), rate(params, vu.id, s, year, 1)
            rows.append({"vu": vu.id, "tjanst": s, "namn": info["namn"], "enhet": info["enhet"],
                         "pris_innevarande": float(r0), "pris_forslag": float(r1),
                         "forandring": float(r1 - r0), "forandring_andel": float((r1 - r0) / r0)})
    cols = ["vu", "tjanst", "namn", "enhet", "pris_innevarande", "pris_forslag", "forandring", "forandring_andel"]
    return _stamp(params, None, year, pd.DataFrame(rows, columns=cols))


def planned_hours_year(dataset, vu_id: str, as_of: str) -> dict[str, float]:
    """Planned hours per cluster for a year, from the 12 months ending at ``as_of``.

    ``t_c = Σ planerade_timmar_c over the window × 12 / n_c``, ``n_c`` the
    number of months in the window with planned hours for the cluster (no
    annualisation when all 12 are present).
    """
    y, m = parse_month(as_of)
    end = pd.Period(month_str(y, m), freq="M")
    window = [str(end - k) for k in range(12)]
    v = dataset.volymer
    v = v[(v["vu"] == vu_id) & (v["matt"] == "planerade_timmar") & v["period"].isin(window)]
    out = {}
    for k, g in v.groupby("kluster"):
        total = sum((D(float(x)) for x in g["varde"]), Decimal(0))
        out[k] = float(total * 12 / g["period"].nunique())
    return out


def budget_schablon(params: Params, dataset, year: int, as_of: str | None = None) -> pd.DataFrame:
    """Schablon-based allocation for ``year`` of the FTE-steered VU, against the proposed F.

    Staffing: the latest month of ``bemanning`` at or before ``as_of`` (default:
    December of ``year − 1``), summed over units. Schablon: ``year``'s.

    * ÄN rule: ``tilldelning = round(Σ_l FTE_l S_l)`` for the whole VU.
    * SON rule: per cluster ``round(k_c × t_c)``, ``t_c`` from
      :func:`planned_hours_year` ending at the staffing month; the VU row sums
      the clusters.

    Columns: ``vu``, ``regel`` ('ÄN' | 'SON'), ``kluster`` ('' on the VU row),
    ``niva`` ('kluster' | 'vu'), ``bemanning_period``, ``arsarbetare``,
    ``kostnad_per_timme`` (SON), ``planerade_timmar`` (SON), ``tilldelning`` (kr),
    ``ersattning_forslag`` (F_Y, VU row), ``skillnad`` (F_Y − tilldelning, VU row).
    """
    _check_year(params, year)
    as_of = as_of or month_str(year - 1, 12)
    rows = []
    for vu_id, rule in schablon_vus(params).items():
        f_next = fixed_bridge(params, vu_id, year)[-1].belopp
        last, staff = latest_staffing(dataset, vu_id, as_of)
        fte = fte_by_cluster(staff)
        base = {"vu": vu_id, "regel": "ÄN" if rule == "an" else "SON", "bemanning_period": last}
        total_fte = float(staff["arsarbetare"].sum()) if not staff.empty else 0.0
        if rule == "an":
            levels: dict[str, float] = {}
            for c in fte.values():
                for lvl, n in c.items():
                    levels[lvl] = levels.get(lvl, 0.0) + n
            alloc = allocation_an(params, year, levels) if levels else None
            planned_total = None
        else:
            hours = planned_hours_year(dataset, vu_id, last) if last else {}
            son = allocation_son(params, year, fte, hours)
            for r in son.itertuples(index=False):
                rows.append({**base, "kluster": r.kluster, "niva": "kluster", "arsarbetare": r.arsarbetare,
                             "kostnad_per_timme": r.kostnad_per_timme, "planerade_timmar": r.planerade_timmar,
                             "tilldelning": int(r.tilldelning), "ersattning_forslag": None, "skillnad": None})
            alloc = int(son["tilldelning"].sum()) if not son.empty else None
            planned_total = float(son["planerade_timmar"].sum()) if not son.empty else None
        rows.append({**base, "kluster": "", "niva": "vu", "arsarbetare": total_fte, "kostnad_per_timme": None,
                     "planerade_timmar": planned_total, "tilldelning": alloc, "ersattning_forslag": f_next,
                     "skillnad": f_next - alloc if alloc is not None else None})
    cols = ["vu", "regel", "kluster", "niva", "bemanning_period", "arsarbetare", "kostnad_per_timme",
            "planerade_timmar", "tilldelning", "ersattning_forslag", "skillnad"]
    return _stamp(params, dataset, year, pd.DataFrame(rows, columns=cols))


def budget_totals(per_vu: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Totals of :func:`budget_per_vu`: per nämnd (the nine VU), all nine, EKB, and overall.

    Columns: ``rad`` (label), ``namnd`` (code or ''), ``ersattning_innevarande``,
    ``indexering``, ``forandringar``, ``ersattning_forslag``, ``forandring``; sums of
    whole kronor.
    """
    cols = ["ersattning_innevarande", "indexering", "forandringar", "ersattning_forslag", "forandring"]

    def total(label: str, namnd: str, df: pd.DataFrame) -> dict:
        return {"rad": label, "namnd": namnd, **{c: int(df[c].sum()) for c in cols}}

    nine = per_vu[~per_vu["separat"]]
    rows = [total(params.registry.namnder[n], n, nine[nine["namnd"] == n]) for n in params.registry.namnder]
    rows.append(total("Summa verksamhetsuppdrag", "", nine))
    for r in per_vu[per_vu["separat"]].itertuples(index=False):
        rows.append(total(f"{r.namn} (separat reglerad)", r.namnd, per_vu[per_vu["vu"] == r.vu]))
    rows.append(total("Totalt", "", per_vu))
    df = pd.DataFrame(rows)
    df.attrs.update(per_vu.attrs)
    return df


def budget_calendar(params: Params, year: int) -> pd.DataFrame:
    """The budget-process calendar in ``params/modell/<year>.yaml``: ``steg``, ``fran``, ``till``, ``beskrivning``."""
    m = params.modellar(year)
    rows = [{"steg": s.steg, "fran": s.fran, "till": s.till, "beskrivning": s.beskrivning}
            for s in m.budgetprocess]
    return _stamp(params, None, year, pd.DataFrame(rows, columns=["steg", "fran", "till", "beskrivning"]))


@dataclass
class BudgetProposal:
    """All tables of a budget proposal; every table carries ``attrs['trace']``."""

    ar: int
    modellversion: str
    index: Decimal
    per_vu: pd.DataFrame
    forandringar: pd.DataFrame
    priser: pd.DataFrame
    schablon: pd.DataFrame
    totaler: pd.DataFrame
    kalender: pd.DataFrame
    summa_forslag: int = 0
    summa_innevarande: int = 0
    tables: dict = field(default_factory=dict)


def budget_proposal(params: Params, dataset, year: int | None = None, as_of: str | None = None) -> BudgetProposal:
    """The budget proposal for ``year`` (default: the last model year in params).

    Parameters
    ----------
    params : Params
    dataset : Dataset
        For the latest staffing and planned hours (schablon comparison).
    year : int, optional
        The proposal year; ``year`` and ``year − 1`` must be model years.
    as_of : str, optional
        Latest month of data to use ('YYYY-MM'); default December of ``year − 1``.

    Raises
    ------
    ParamsError
        When ``year`` (or ``year − 1``) has no model year in params.
    """
    year = params.sista_ar if year is None else year
    _check_year(params, year)
    per_vu = budget_per_vu(params, year)
    totals = budget_totals(per_vu, params)
    tables = {
        "per_vu": per_vu,
        "forandringar": budget_changes(params, year),
        "priser": budget_rates(params, year),
        "schablon": budget_schablon(params, dataset, year, as_of),
        "totaler": totals,
        "kalender": budget_calendar(params, year),
    }
    for df in tables.values():
        _stamp(params, dataset, year, df)
    overall = totals[totals["rad"] == "Totalt"].iloc[0]
    return BudgetProposal(
        ar=year, modellversion=params.modellar(year).modellversion, index=index_for(params, year),
        summa_forslag=int(overall["ersattning_forslag"]), summa_innevarande=int(overall["ersattning_innevarande"]),
        tables=tables, **tables,
    )
