"""The key-figure section of the VU report, and the row labels the overview shares.

Each key figure due at the period gets its definition, a table and, for a
monthly figure, a chart of the year so far (:func:`nyckeltal`).
:func:`key_figure_rows` labels the rows of a key-figure frame for a table; the
overview's key-figure table (:func:`vu_lib._report_oversikt.oversikt_nyckeltal`)
uses it too. Private: :mod:`vu_lib.report` re-exports :func:`nyckeltal`.
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd

from vu_lib.report import fmt
from vu_lib.report import narrative as nar
from vu_lib.report.context import Context, Markdown, Section, make_table, month_label

_AVSER = {"manad": "Månaden", "ack": "Hittills i år"}
_UTF = {"totalt": "Totalt", "leanlink": "Leanlink", "privat": "Privata utförare", "": ""}


def key_figure_rows(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (rows of :func:`vu_lib.nyckeltal.nyckeltal`) with the labels a table shows.

    Adds ``rad`` (the unit's name, else the cluster's), ``avser_namn``,
    ``utforare_namn`` and ``anm`` (the masking note, or ``''``).
    """
    out = df.copy()
    out["rad"] = [e if e else k for e, k in zip(out["enhet_namn"], out["kluster_namn"])]
    out["avser_namn"] = out["avser"].map(_AVSER)
    out["utforare_namn"] = out["utforare"].map(_UTF).fillna(out["utforare"])
    out["anm"] = [f"maskerat ({t})" if m else "" for m, t in zip(out["maskerad"], out["maskerad_text"])]
    return out


def _kf_format(units: Iterable[str]) -> str:
    """Whole numbers for amounts and counts, one decimal otherwise."""
    units = set(units)
    return "num(0)" if units and all(u.startswith("kr") or u in ("antal", "besök") for u in units) else "num(1)"


_KEYS = ["nyckeltal_id", "vu", "kluster", "enhet", "del", "utforare", "avser"]
#: The first year whose same period is shown beside a key figure.
FIRST_COMPARISON_YEAR = 2023


def _earlier_years(ctx: Context, n, rows: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    """``rows`` with the value of the same period (month, year to date or month) of each earlier year
    from :data:`FIRST_COMPARISON_YEAR` (and the figure's first year), as columns ``ar_<year>``."""
    from vu_lib.model.nyckeltal import nyckeltal_all

    years = [y for y in range(max(FIRST_COMPARISON_YEAR, n.forsta_ar), ctx.year)]
    if not years:
        return rows, []
    allr = ctx.memo(f"nk_all:{rows['vu'].iloc[0]}", lambda: nyckeltal_all(ctx.params, ctx.data, vu=rows["vu"].iloc[0]))
    prev = allr[(allr["nyckeltal_id"] == n.id) & (allr["manad"] == ctx.month) & allr["ar"].isin(years)]
    out = rows.copy()
    shown = []
    keys = _KEYS + (["kon"] if "kon" in rows.columns and "kon" in prev.columns else [])
    for y in years:
        py = prev[prev["ar"] == y][keys + ["varde"]].rename(columns={"varde": f"ar_{y}"})
        if py.empty or py[f"ar_{y}"].isna().all():
            continue
        out = out.merge(py, on=keys, how="left")
        shown.append(y)
    return out, shown


def _target_text(mal, kluster: str) -> str:
    if mal is None:
        return ""
    m = mal.for_kluster(kluster)
    if m.min is not None and m.max is not None:
        return f"{fmt.num(m.min, 1)}–{fmt.num(m.max, 1)}"
    if m.min is not None:
        return f"minst {fmt.num(m.min, 1)}"
    if m.max is not None:
        return f"högst {fmt.num(m.max, 1)}"
    return ""


def _kf_table(ctx: Context, n, rows: pd.DataFrame, vu_name: str):
    """The table of key figure ``n`` for one VU, without the columns that are empty for it.

    Beside this period's value: the same period of each earlier year (from 2023) and the
    target or expected range of the catalogue (``mal``), where it gives one; women and men
    next to the total where the data splits them (issue 11).
    """
    from vu_lib.report.kon import NOTE, gender_columns

    rows, years = _earlier_years(ctx, n, rows)
    t = key_figure_rows(rows)
    f = _kf_format(t["enhet_matt"])
    t, kon_headers = gender_columns(t, f)  # women and men next to the total (issue 11)
    t["mal"] = [_target_text(n.mal, k) for k in t["kluster"]]
    headers = {"rad": "Kluster / enhet", "del_namn": "Mått", "utforare_namn": "Utförare", "avser_namn": "Avser",
               "enhet_matt": "Enhet", **{f"ar_{y}": str(y) for y in years}, "varde": str(ctx.year),
               "mal": "Mål", "jamforelse": "Jämförelse", "avvikelse": "Avvikelse", "anm": "Anm."}
    if not t["mal"].astype(bool).any():
        headers.pop("mal")
    if not t["utforare"].astype(bool).any():
        headers.pop("utforare_namn")
    if t["jamforelse"].isna().all():
        headers.pop("jamforelse")
        headers.pop("avvikelse")
    if not t["maskerad"].any():
        headers.pop("anm")
    if t["del_namn"].nunique() == 1:
        headers.pop("del_namn")
    jam = sorted({j for j in t["jamforelse_typ"] if j})
    note = f"Jämförelse: {', '.join(jam)}." if jam and "jamforelse" in headers else ""
    if years:
        note += f" {', '.join(map(str, years))}: samma period tidigare år."
    if "mal" in headers and n.mal is not None and n.mal.kalla:
        note += f" Mål: {n.mal.kalla}."
    if kon_headers:
        headers = {k: v for h, l in headers.items() for k, v in ((h, l), *(kon_headers.items() if h == "varde" else ()))}
        note = f"{note} {NOTE}"
    return make_table(t, {"varde": f, "jamforelse": f, "avvikelse": "+" + f, **{f"ar_{y}": f for y in years}}, headers,
                      caption=f"{n.namn}, {vu_name}, {ctx.ytd_text}", name=n.namn[:31], note=note.strip() or None)


def _money_effect(ctx: Context, n) -> str:
    """Where a key figure drives money: its volume effect in kr (the variance analysis), per cluster."""
    from vu_lib.model.variance import variance, variance_vus

    vu_id = ctx.vu_id
    method = variance_vus(ctx.params).get(vu_id)
    drives = {"prisbilaga": ("timmar",), "dygn": ("belaggningsgrad",)}.get(method, ())
    if not drives or not any(d in n.id for d in drives):
        return ""
    v = ctx.memo(f"variance_{vu_id}", lambda: variance(ctx.params, ctx.data, ctx.year, ctx.month, vu=vu_id))
    cl = v[v["kluster"] != ""]
    if n.kluster:
        cl = cl[cl["kluster"].isin(n.kluster)]
    if cl.empty:
        return ""
    parts = [f"{nar._gemen(r.kluster_namn)} {nar.belopp(r.volymeffekt, sign=True)}" for r in cl.itertuples(index=False)]
    what = ("fler eller färre belagda dygn än budgeterat, värderat till referenskostnaden per dygn" if method == "dygn"
            else "fler eller färre utförda timmar än budgeterat, värderat till timpriset; ersättningen ändras "
                 "med samma belopp")
    return (f"Ekonomisk effekt {ctx.ytd_text}: volymeffekten ({what}) är {nar.lista(parts)} "
            f"(positivt belopp: högre kostnad än budget; se avvikelseanalysen).")


def _kf_chart(ctx: Context, n, vu_id: str):
    """A monthly chart for a monthly key figure (Jan..month of the year), or None."""
    from vu_lib.report import charts
    from vu_lib.model.nyckeltal import nyckeltal_all

    if n.intervall != "manadsvis":
        return None
    allr = ctx.memo(f"nk_all:{vu_id}", lambda: nyckeltal_all(ctx.params, ctx.data, vu=vu_id))
    d = allr[(allr["nyckeltal_id"] == n.id) & (allr["ar"] == ctx.year) & (allr["manad"] <= ctx.month)
             & (allr["avser"] == "manad") & (allr["enhet"] == "") & (allr["vu"] == vu_id)]
    if d.empty:
        return None
    if d["jamforelse"].notna().any():
        ll = d[d["utforare"] == "leanlink"]
        top = "" if (ll["kluster"] == "").any() else ll["kluster"].iloc[0]
        ll = ll[ll["kluster"] == top].sort_values("manad")
        over = int((ll["varde"] > ll["jamforelse"]).sum())
        desc = (f"Stapeldiagram: Leanlinks {n.namn.lower()} per månad {ctx.ytd_text} mot budgeterade timmar "
                f"(streckad linje). Utfallet är över budget i {over} av {len(ll)} månader; i "
                f"{month_label(ctx.period_str)} {fmt.num(ll['varde'].iloc[-1], 0)} timmar mot "
                f"{fmt.num(ll['jamforelse'].iloc[-1], 0)} budgeterade.")
        return charts.monthly_vs_budget(ll.rename(columns={"varde": "utfall", "jamforelse": "budget"}),
                                        beskrivning=desc, format="num(0)", y_titel="timmar",
                                        titel=f"{n.namn} per månad {ctx.year}, Leanlink")
    g = d.sort_values(["kluster", "manad"]).copy()
    g["grupp"] = g["kluster_namn"]
    last = g[g["manad"] == g["manad"].max()]
    desc = (f"Linjediagram: {n.namn.lower()} per månad {ctx.ytd_text}, per kluster och för hela uppdraget. "
            f"I {month_label(ctx.period_str)}: " + "; ".join(
                f"{r.kluster_namn.lower()} {fmt.num(r.varde, 1)} {'%' if r.enhet_matt == 'procent' else r.enhet_matt}"
                for r in last.itertuples(index=False)) + ".")
    return charts.key_figure(g, beskrivning=desc, grupp="grupp", format="num(1)",
                             y_titel="procent" if (g["enhet_matt"] == "procent").all() else None,
                             titel=f"{n.namn} per månad {ctx.year}")


def nyckeltal(ctx: Context) -> Section:
    """Every key figure due at the period, with definition, interval, recipient and responsible,
    and a line naming those not due this period and those not yet followed."""
    from vu_lib.model.nyckeltal import ej_foljda, nyckeltal as nk
    from vu_lib.model.periods import INTERVAL_LABELS, key_figure_status

    P, vu = ctx.params, ctx.vu
    status = key_figure_status(P, vu.id, ctx.period_str)
    not_followed = ej_foljda(P, ctx.year, ctx.month, vu=vu.id)
    due_ids = status.loc[status["aktuell"], "nyckeltal_id"].tolist()
    due_ids = [i for i in due_ids if i not in set(not_followed["nyckeltal_id"])]
    not_due = status[status["status"] == "ej aktuell denna period"]
    catalogue = {n.id: n for n in P.katalog.nyckeltal}
    parts = [Markdown(nar.nyckeltal_inledning(
        vu.namn, ctx.ytd_text,
        [catalogue[i].namn.lower() for i in due_ids],
        [f"{r.namn.lower()} ({r.intervall_namn.lower()})" for r in not_due.itertuples(index=False)],
        [f"{r.namn.lower()} ({r.status})" for r in not_followed.itertuples(index=False)],
    ))]
    values = nk(P, ctx.data, ctx.year, ctx.month, vu=vu.id, kon=True)
    for i in due_ids:
        n = catalogue[i]
        parts.append(Markdown(nar.nyckeltal_beskrivning(n.namn, n.definition, INTERVAL_LABELS[n.intervall],
                                                        n.mottagare, n.ansvarig, n.enhet, n.ekonomisk_paverkan)))
        rows = values[values["nyckeltal_id"] == i]
        if rows.empty:
            parts.append(Markdown(f"Värden för {n.namn.lower()} saknas i data för perioden."))
            continue
        parts.append(_kf_table(ctx, n, rows, vu.namn))
        money = _money_effect(ctx, n)
        if money:
            parts.append(Markdown(money))
        chart = _kf_chart(ctx, n, vu.id)
        if chart is not None:
            parts.append(chart)
    return Section(*parts)


