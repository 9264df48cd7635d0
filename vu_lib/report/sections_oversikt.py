"""Sections of the overview (``notebooks/oversikt.ipynb``): ÄN, SON or all of Leanlink at one period.

The VU side by side, netting of deficits and surpluses, EKB, the result over
the year, key figures, the reconciliation of transfers and changes of funds.
Private: :mod:`vu_lib.report` re-exports the builders.
"""
from __future__ import annotations

import pandas as pd

from vu_lib.report import fmt
from vu_lib.report import narrative as nar
from vu_lib.report.context import Context, Markdown, Section, forecast_frame, make_table, month_label, sum_row, title_block
from vu_lib.report.sections_nyckeltal import key_figure_rows
from vu_lib.report.sections_vu import medel


def oversikt_titel(ctx: Context) -> Markdown:
    """Title block of an overview."""
    names = [ctx.params.vu(v).namn for v in ctx.scope_vu_ids]
    if ctx.scope in ctx.params.registry.namnder:
        heading = f"Översikt {ctx.scope_text}"
        lead = (f"Verksamhetsuppdrag som {ctx.scope_text} ger Leanlink: {nar.lista(names)}. Uppföljningen är en "
                "integrerad del av Social- och omsorgsförvaltningens uppföljning till nämnden enligt kommunens "
                "ordinarie styrmodell.")
    else:
        heading = "Översikt Leanlink, alla verksamhetsuppdrag"
        lead = ("Leanlinks nio verksamhetsuppdrag, fem för Äldrenämnden och fyra för Social- och omsorgsnämnden, "
                "samt ensamkommande barn (EKB), som ingår i uppdraget men vars omfattning och ersättning regleras "
                "separat årsvis.")
    return title_block(ctx, heading, lead)


def _scope_forecast(ctx: Context) -> pd.DataFrame:
    """The forecast rows of the scope's VU."""
    f = forecast_frame(ctx)
    return f[f["vu"].isin(ctx.scope_vu_ids)].reset_index(drop=True)


def _scope_netting(ctx: Context) -> pd.DataFrame:
    """The netting of every VU at the period (computed once per context)."""
    from vu_lib.model.results import netting

    return ctx.memo("netting", lambda: netting(ctx.params, ctx.data, ctx.year, ctx.month))


def oversikt_per_vu(ctx: Context) -> Section:
    """All VU of the scope side by side: compensation, cost, result to date and the one prognosis with its range."""
    from vu_lib.model.forecast import METHOD_NAMES, prognosis

    f = _scope_forecast(ctx)
    prog = ctx.memo("prognosis", lambda: prognosis(ctx.params, ctx.data, ctx.year, ctx.month))
    f = f.merge(prog[["vu", "prognos", "metod", "lag", "hog"]], on="vu", how="left")
    f["metod_namn"] = f["metod"].map(METHOD_NAMES).fillna("")
    nine = f[~f["separat"]]
    sep = f[f["separat"]]
    cols = ["fast_helar", "ersattning_ack", "medel_ack", "kostnad_ack", "resultat_ack", "prognos", "lag", "hog"]
    label = "Summa nio verksamhetsuppdrag" if ctx.scope not in ctx.params.registry.namnder else f"Summa {ctx.scope_text}"
    df = sum_row(nine, "namn", label, cols)
    if len(sep):
        df = pd.concat([df, sep.assign(namn=sep["namn"] + " (separat reglerad)")], ignore_index=True)
    df["intervall"] = [f"{fmt.tkr(lo, sign=True)} till {fmt.tkr(hi, sign=True)}" if pd.notna(lo) else ""
                       for lo, hi in zip(df["lag"], df["hog"])]
    headers = {"namn": "Verksamhetsuppdrag", "fast_helar": "Fast ersättning helår", "ersattning_ack": "Ersättning hittills",
               "medel_ack": "Förändring av medel", "kostnad_ack": "Kostnad hittills", "resultat_ack": "Resultat hittills",
               "prognos": "Prognos helår", "intervall": "Intervall"}
    fm = {c: "tkr" for c in cols}
    for c in ("resultat_ack", "prognos"):
        fm[c] = "+tkr"
    by_method: dict[str, list[str]] = {}
    for n, m in zip(nine["namn"], nine["metod_namn"]):
        by_method.setdefault(m, []).append(n)
    main_method = max(by_method, key=lambda m: len(by_method[m])) if by_method else ""
    others = "; ".join(f"{m} för {nar.lista(ns)}" for m, ns in by_method.items() if m != main_method)
    method_note = (f" Prognosmetod: {main_method}" + (f", utom {others}" if others else "") + ".") if main_method else ""
    table = make_table(df, fm, headers, caption=f"Verksamhetsuppdragen {ctx.ytd_text}, {ctx.scope_text} (tkr)",
                       name="Per verksamhetsuppdrag", total_row=not len(sep),
                       note="Ersättning och kostnad enligt Leanlinks bokföring. Resultat = ersättning + förändring av medel "
                            "+ övriga intäkter − kostnad. Prognos helår: den metod som är vald för uppdraget; den andra "
                            "metoden ger intervallet." + method_note + " EKB regleras separat och ingår inte i summan av de nio.")
    tot = df[df["namn"] == label].iloc[0]
    text = (f"Under {ctx.ytd_text} har Leanlink fått {nar.belopp(tot['ersattning_ack'])} i ersättning för "
            f"{'de nio verksamhetsuppdragen' if ctx.scope == 'Leanlink' else 'nämndens verksamhetsuppdrag'}, och "
            f"kostnaderna är {nar.belopp(tot['kostnad_ack'])}. Resultatet hittills är {nar.over_under(tot['resultat_ack'])}; "
            f"helårsprognosen är {nar.over_under(tot['prognos'])} (intervall {fmt.mnkr(tot['lag'], 1, sign=True)} till "
            f"{fmt.mnkr(tot['hog'], 1, sign=True)}).")
    return Section(Markdown(text), table)


def oversikt_netting(ctx: Context) -> Section:
    """How deficits and surpluses net within the total compensation: narrative, table, chart."""
    from vu_lib.report import charts

    n = _scope_netting(ctx)
    scope_ids = set(ctx.scope_vu_ids)
    vu_rows = n[(n["radtyp"] == "vu") & n["vu"].isin(scope_ids)]
    if ctx.scope in ctx.params.registry.namnder:
        total = n[(n["radtyp"] == "namnd") & (n["namnd"] == ctx.scope)].iloc[0]
        rows = n[((n["radtyp"] == "vu") & n["vu"].isin(scope_ids)) | ((n["radtyp"] == "namnd") & (n["namnd"] == ctx.scope))]
    else:
        total = n[n["radtyp"] == "totalt"].iloc[0]
        rows = n[n["radtyp"].isin(["vu", "namnd", "totalt"])]
    sep = n[(n["radtyp"] == "separat") & n["vu"].isin(scope_ids)]
    deficits = [(r.namn, r.resultat_ack) for r in vu_rows.sort_values("resultat_ack").itertuples(index=False) if r.resultat_ack < 0]
    surpluses = [(r.namn, r.resultat_ack) for r in vu_rows.sort_values("resultat_ack", ascending=False).itertuples(index=False) if r.resultat_ack > 0]
    ekb = (sep.iloc[0]["namn"].replace(" (separat reglerad)", ""), sep.iloc[0]["resultat_ack"]) if len(sep) else None
    text = nar.netting(ctx.scope_text, ctx.ytd_text, deficits, surpluses, total["resultat_ack"],
                       total["underskott_tackt_ack"], total["underskott_otackt_ack"], ekb)
    if ctx.scope in ctx.params.registry.namnder:
        text += (" Täckningen av underskott räknas över alla nio uppdrag i Leanlinks samlade ersättning, "
                 "inte bara inom nämnden.")
    t = pd.concat([rows, sep], ignore_index=True)
    headers = {"namn": "Verksamhetsuppdrag", "intakter_ack": "Intäkter", "kostnad_ack": "Kostnad",
               "resultat_ack": "Resultat", "andel_ersattning": "Andel av ersättningen",
               "resultat_andel_intakter": "Resultat i % av intäkterna", "overskott_ack": "Överskott",
               "underskott_ack": "Underskott", "underskott_tackt_ack": "Underskott täckt av överskott",
               "underskott_otackt_ack": "Underskott otäckt"}
    table = make_table(t, {"intakter_ack": "tkr", "kostnad_ack": "tkr", "resultat_ack": "+tkr", "andel_ersattning": "pct",
                           "resultat_andel_intakter": "+pct", "overskott_ack": "tkr", "underskott_ack": "tkr",
                           "underskott_tackt_ack": "tkr", "underskott_otackt_ack": "tkr"}, headers,
                       caption=f"Resultat och nettning inom den samlade ersättningen {ctx.ytd_text} (tkr)",
                       name="Nettning",
                       note="Underskott täckt = underskottet × min(1, summa överskott / summa underskott) över de nio "
                            "uppdragen. Separat reglerade rader nettas inte.")
    chart_rows = pd.concat([vu_rows[["namn", "resultat_ack"]],
                            pd.DataFrame([{"namn": "Netto " + ("nio uppdrag" if ctx.scope == "Leanlink" else ctx.scope_text),
                                           "resultat_ack": total["resultat_ack"]}])], ignore_index=True)
    desc = ("Liggande stapeldiagram: resultat hittills per verksamhetsuppdrag " + ctx.ytd_text + ", överskott åt höger "
            "och underskott åt vänster, samt nettot. " + "; ".join(
                f"{r.namn} {nar.belopp(r.resultat_ack, sign=True)}" for r in chart_rows.itertuples(index=False)) + ".")
    chart = charts.result_per_vu(chart_rows, beskrivning=desc, vu="namn", resultat="resultat_ack", format="tkr",
                                 titel=f"Resultat per verksamhetsuppdrag {ctx.ytd_text}")
    return Section(Markdown(text), table, chart)


def oversikt_ekb(ctx: Context) -> Section:
    """EKB as its own line (SON and Leanlink): the separately regulated compensation and its result."""
    f = _scope_forecast(ctx)
    sep = f[f["separat"]]
    if sep.empty:
        return Section()
    r = sep.iloc[0]
    text = (f"**{r['namn']}.** Ensamkommande barn ingår i verksamhetsuppdraget men omfattningen och ersättningen "
            f"regleras separat årsvis. Ersättningen för {ctx.year} är {nar.belopp(r['fast_helar'])}. Under "
            f"{ctx.ytd_text} är ersättningen {nar.belopp(r['ersattning_ack'])}, kostnaden "
            f"{nar.belopp(r['kostnad_ack'])} och resultatet {nar.belopp(r['resultat_ack'], sign=True)}; "
            f"helårsprognosen med årstakt är {nar.belopp(r['arstakt_resultat'], sign=True)}.")
    return Section(Markdown(text))


def oversikt_diagram(ctx: Context) -> Section:
    """The result year to date per month over the year, per nämnd (and EKB), as a line chart."""
    from vu_lib.report import charts
    from vu_lib.model.results import results

    r = ctx.memo("results_namnd", lambda: results(ctx.params, ctx.data, "namnd", ctx.year))
    r = r[r["manad"] <= ctx.month].copy()
    namn = dict(ctx.params.registry.namnder)
    r["grupp"] = [("EKB (separat reglerad)" if s else namn[n]) for n, s in zip(r["namnd"], r["separat"])]
    if ctx.scope in ctx.params.registry.namnder:
        r = r[r["namnd"] == ctx.scope]
    last = r[r["manad"] == ctx.month]
    desc = (f"Linjediagram: resultat hittills i år per månad {ctx.ytd_text}, per nämnd"
            + (" och för EKB" if r["separat"].any() else "") + ". I " + month_label(ctx.period_str) + ": "
            + "; ".join(f"{g} {nar.belopp(v, sign=True)}" for g, v in zip(last["grupp"], last["resultat_ack"])) + ".")
    chart = charts.key_figure(r, beskrivning=desc, varde="resultat_ack", grupp="grupp", format="tkr",
                              titel=f"Resultat hittills i år per månad {ctx.year}", y_titel="tkr")
    return Section(chart)


def oversikt_nyckeltal(ctx: Context) -> Section:
    """The key figures due at the period for every VU of the scope (VU level), and those not followed."""
    from vu_lib.model.nyckeltal import ej_foljda, nyckeltal as nk

    P = ctx.params
    v = nk(P, ctx.data, ctx.year, ctx.month, endast_aktuella=True)
    v = v[v["vu"].isin(ctx.scope_vu_ids) & (v["enhet"] == "") & v["utforare"].isin(["", "leanlink"])
          & ~((v["kluster"] != "") & v["nyckeltal_id"].isin(
              [n.id for n in P.katalog.nyckeltal if not n.kluster]))].copy()
    order = {x: i for i, x in enumerate(ctx.scope_vu_ids)}
    v["_o"] = v["vu"].map(order)
    v = v.sort_values(["_o"], kind="stable").reset_index(drop=True)
    v["vu_namn"] = v["vu"].map(lambda x: P.vu(x).namn)
    v = key_figure_rows(v)
    nf = ej_foljda(P, ctx.year, ctx.month)
    nf = nf[nf["vu"].isin(ctx.scope_vu_ids)]
    text = (f"Nyckeltalen redovisas enligt sina intervall (månadsvis, delår eller årsvis). För {ctx.ytd_text} är "
            f"{len({(a, b) for a, b in zip(v['vu'], v['nyckeltal_id'])})} nyckeltal aktuella i {ctx.scope_text}; "
            "tabellen visar dem för uppdraget som helhet och per kluster, Leanlinks andel där utförare redovisas. "
            + ("Ännu inte uppföljda: " + nar.lista([f"{r.namn.lower()} ({P.vu(r.vu).namn}, {r.status})"
                                                   for r in nf.itertuples(index=False)]) + "."
               if len(nf) else "Samtliga nyckeltal i katalogen följs upp detta år."))
    if v.empty:
        return Section(Markdown(text))
    headers = {"vu_namn": "Verksamhetsuppdrag", "namn": "Nyckeltal", "rad": "Kluster", "avser_namn": "Avser",
               "enhet_matt": "Enhet", "varde": "Värde", "jamforelse": "Jämförelse", "anm": "Anm."}
    if not v["maskerad"].any():
        headers.pop("anm")
    table = make_table(v, {"varde": "num(1)", "jamforelse": "num(1)"}, headers,
                       caption=f"Aktuella nyckeltal {ctx.ytd_text}, {ctx.scope_text}", name="Nyckeltal",
                       note="Jämförelse: budgeterade timmar (Leanlink), fastställd ersättning per plats eller utfall, "
                            "enligt nyckeltalets definition i katalogen.")
    return Section(Markdown(text), table)


def oversikt_overforingar(ctx: Context) -> Section:
    """Reconciliation of the transfers against SoF's bookings, per VU of the scope."""
    from vu_lib.model.transfers import reconcile_transfers, reconciliation_summary

    rec = ctx.memo("recon", lambda: reconcile_transfers(ctx.params, ctx.data, ctx.year, ctx.month))
    rec = rec[rec["vu"].isin(ctx.scope_vu_ids)]
    s = reconciliation_summary(rec)
    s = sum_row(s, "namn", "Summa", ["beraknad", "bokford", "skillnad"])
    diffs = rec[rec["avviker"]]
    if len(diffs):
        parts = [f"{ctx.params.vu(r.vu).namn} i {month_label(r.period)} ({fmt.kr(r.skillnad, 2, sign=True)})"
                 for r in diffs.itertuples(index=False)]
        text = (f"Överföringarna från SoF till Leanlink stämmer med modellen till öret utom i {len(diffs)} "
                f"{'månad' if len(diffs) == 1 else 'fall'}: {nar.lista(parts)}.")
    else:
        text = f"Överföringarna från SoF till Leanlink stämmer med modellen till öret i alla månader {ctx.ytd_text}."
    table = make_table(s, {"beraknad": "kr", "bokford": "kr", "skillnad": "+kr(2)", "antal_avvikande": "num(0)"},
                       {"namn": "Verksamhetsuppdrag", "beraknad": "Enligt modellen", "bokford": "Bokfört av SoF",
                        "skillnad": "Skillnad", "antal_avvikande": "Avvikande månader", "avvikande_manader": "Månader"},
                       caption=f"Avstämning av överföringar {ctx.ytd_text}, {ctx.scope_text}", name="Avstämning",
                       total_row=True)
    return Section(Markdown(text), table)


def oversikt_medel(ctx: Context) -> Section:
    """Changes of funds in the scope, with their reporting requirements."""
    return medel(ctx, vu_ids=ctx.scope_vu_ids)


