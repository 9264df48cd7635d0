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


def _kf_table(ctx: Context, n, rows: pd.DataFrame, vu_name: str):
    """The table of key figure ``n`` for one VU, without the columns that are empty for it."""
    t = key_figure_rows(rows)
    headers = {"rad": "Kluster / enhet", "del_namn": "Mått", "utforare_namn": "Utförare", "avser_namn": "Avser",
               "enhet_matt": "Enhet", "varde": "Värde", "jamforelse": "Jämförelse", "avvikelse": "Avvikelse", "anm": "Anm."}
    if not t["utforare"].astype(bool).any():
        headers.pop("utforare_namn")
    if t["jamforelse"].isna().all():
        headers.pop("jamforelse")
        headers.pop("avvikelse")
    if not t["maskerad"].any():
        headers.pop("anm")
    if t["del_namn"].nunique() == 1:
        headers.pop("del_namn")
    f = _kf_format(t["enhet_matt"])
    jam = sorted({j for j in t["jamforelse_typ"] if j})
    note = f"Jämförelse: {', '.join(jam)}." if jam and "jamforelse" in headers else None
    return make_table(t, {"varde": f, "jamforelse": f, "avvikelse": "+" + f}, headers,
                      caption=f"{n.namn}, {vu_name}, {ctx.ytd_text}", name=n.namn[:31], note=note)


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
    values = nk(P, ctx.data, ctx.year, ctx.month, vu=vu.id)
    for i in due_ids:
        n = catalogue[i]
        parts.append(Markdown(nar.nyckeltal_beskrivning(n.namn, n.definition, INTERVAL_LABELS[n.intervall],
                                                        n.mottagare, n.ansvarig, n.enhet, n.ekonomisk_paverkan)))
        rows = values[values["nyckeltal_id"] == i]
        if rows.empty:
            parts.append(Markdown(f"Värden för {n.namn.lower()} saknas i data för perioden."))
            continue
        parts.append(_kf_table(ctx, n, rows, vu.namn))
        chart = _kf_chart(ctx, n, vu.id)
        if chart is not None:
            parts.append(chart)
    return Section(*parts)


