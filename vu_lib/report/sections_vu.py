"""Sections of the VU report (``notebooks/vu_rapport.ipynb``): one VU at one period.

Title, compensation and its bridge, variable rates, transfers, results,
forecast, variance, changes of funds, the schablon follow-up and nivå 3. The
key-figure section is in :mod:`vu_lib._report_nyckeltal`. Private:
:mod:`vu_lib.report` re-exports the builders.
"""
from __future__ import annotations

import pandas as pd

from vu_lib.report import fmt
from vu_lib.report import narrative as nar
from vu_lib.report.context import (
    Context,
    Markdown,
    Section,
    forecast_frame,
    indexed_rate_example,
    make_table,
    month_label,
    sum_row,
    title_block,
    unique_labels,
)
from vu_lib.core.params import Params


def titel(ctx: Context) -> Markdown:
    """Title block of a VU report: name, nämnd, period, model version, data and code version."""
    vu = ctx.vu
    lead = (f"{vu.beskrivning}. Uppdraget ({vu.id}) ges av Social- och omsorgsförvaltningen (SoF) till "
            f"Leanlink på nivå 2 i modellen för verksamhetsuppdrag ({vu.niva1.lower()} på nivå 1).")
    return title_block(ctx, vu.namn, lead, namnd=ctx.namnd_namn,
                       facts=[f"- Verksamhetsuppdrag: {vu.id}, {vu.namn}", f"- Nämnd: {ctx.namnd_namn}"])


def ersattning(ctx: Context) -> Markdown:
    """How the VU is compensated, with the year's fixed compensation and the index woven in."""
    from vu_lib.model.compensation import fixed_bridge
    from vu_lib.model.index import index_for

    vu, y = ctx.vu, ctx.year
    P = ctx.params
    form = vu.ersattning
    text = [nar.ersattningsform(form.form, omrade=form.prisbilaga, niva1=vu.niva1, schablon=form.schablon,
                                kluster=[k.namn for k in vu.kluster])]
    steps = fixed_bridge(P, vu.id, y)
    F = steps[-1].belopp
    prev = next((s.belopp for s in steps if s.typ == "forra_aret"), None)
    idx_step = next((s.belopp for s in steps if s.typ == "index"), None)
    changes = [{"typ": s.typ, "belopp": s.belopp, "beskrivning": s.beskrivning, "giltig_fran": s.giltig_fran,
                "version": _revision_version(P, y, s.giltig_fran)}
               for s in steps[:-1] if s.typ not in ("forra_aret", "index", "fastst", "summa")]
    separat = vu.id in P.modellar(y).separat_ersattning
    if form.form == "prisbilaga":
        lead = "Den fasta delen av ersättningen"
    else:
        lead = None
    sentence = nar.fast_ersattning(y, F, F_prev=prev, index=float(index_for(P, y)), indexering=idx_step,
                                   forandringar=[c for c in changes if c["typ"] != "separat"],
                                   forsta_aret=prev is None and not separat, separat=separat)
    if lead:
        sentence = sentence.replace("Den fasta ersättningen", lead, 1)
    text.append(sentence)
    if prev is not None and not separat:
        ix = P.modellar(y).index
        text.append(nar.index_mening(y, float(index_for(P, y)), ix.lon, ix.pris, ix.vikt_lon, ix.ks_index))
    return Markdown("\n\n".join(text))


def _revision_version(P: Params, year: int, giltig_fran: str | None) -> str | None:
    if not giltig_fran:
        return None
    for r in P.modellar(year).revisioner:
        if r.giltig_fran == giltig_fran:
            return r.modellversion
    return None


def ersattningsbrygga(ctx: Context, vu_id: str | None = None) -> Section:
    """The compensation bridge from last year's F to this year's: table and waterfall chart."""
    from vu_lib.report import charts
    from vu_lib.model.compensation import fixed_bridge

    vu_id = vu_id or ctx.vu_id
    y = ctx.year
    steps = fixed_bridge(ctx.params, vu_id, y)
    labels = unique_labels([s.steg for s in steps])
    df = pd.DataFrame({
        "steg": labels,
        "beskrivning": [s.beskrivning or ("från " + month_label(s.giltig_fran) if s.giltig_fran else "") for s in steps],
        "belopp": [s.belopp for s in steps],
    })
    for i, s in enumerate(steps):
        if s.giltig_fran and s.beskrivning:
            df.loc[i, "beskrivning"] = f"{s.beskrivning} (från {month_label(s.giltig_fran)})"
    name = ctx.params.vu(vu_id).namn
    table = make_table(df, {"belopp": "kr"}, {"steg": "Steg", "beskrivning": "Beskrivning", "belopp": "Belopp"},
                       caption=f"Ersättningsbrygga {y}, {name}", name="Ersättningsbrygga", total_row=True,
                       note="Belopp i hela kronor. Summan är årets fasta ersättning inklusive ändringar under året.")
    chart_df = pd.DataFrame({"steg": labels, "belopp": [s.belopp for s in steps],
                             "typ": ["summa" if s.typ in ("forra_aret", "fastst", "summa") else "andring" for s in steps]})
    desc = ("Vattenfallsdiagram över den fasta ersättningen: " + "; ".join(
        f"{lab} {nar.belopp(s.belopp, sign=s.typ not in ('forra_aret', 'fastst', 'summa'))}"
        for lab, s in zip(labels, steps)) + ".")
    chart = charts.bridge(chart_df, beskrivning=desc, typ="typ", format="mnkr",
                          titel=f"Från föregående års ersättning till {y}")
    return Section(table, chart)


def rorliga_priser(ctx: Context, vu_id: str | None = None) -> Section:
    """The variable rates of the year (price annex or other variable services), or a sentence when there are none."""
    from vu_lib.model.compensation import rate, service_info, services_of

    vu_id = vu_id or ctx.vu_id
    P, y = ctx.params, ctx.year
    vu = P.vu(vu_id)
    services = services_of(P, vu_id)
    if not services:
        return Section(Markdown(nar.rorlig_ersattning_saknas(vu.namn)))
    rows, sentence_rows = [], []
    has_prev = y - 1 in P.ar
    for s in services:
        info = service_info(P, vu_id, s)
        r1 = rate(P, vu_id, s, y, 1)
        r0 = rate(P, vu_id, s, y - 1, 12) if has_prev else None
        rows.append({"tjanst": info["namn"], "enhet": f"kr per {info['enhet']}", "giltig": month_label(f"{y}-01"),
                     "version": P.modellar(y).modellversion, "pris_fjol": float(r0) if r0 is not None else None,
                     "pris": float(r1), "andel": float((r1 - r0) / r0) if r0 else None})
        entry = {"namn": info["namn"], "enhet": info["enhet"], "pris": float(r1),
                 "pris_fjol": float(r0) if r0 is not None else None}
        prev = r1
        for rev in sorted(P.modellar(y).revisioner, key=lambda r: r.giltig_fran):
            m = int(rev.giltig_fran[5:7])
            rm = rate(P, vu_id, s, y, m)
            if rm != prev:
                rows.append({"tjanst": info["namn"], "enhet": f"kr per {info['enhet']}",
                             "giltig": month_label(rev.giltig_fran), "version": rev.modellversion,
                             "pris_fjol": float(r0) if r0 is not None else None, "pris": float(rm),
                             "andel": float((rm - r0) / r0) if r0 else None})
                entry["revision"] = {"pris": float(rm), "giltig_fran": rev.giltig_fran, "version": rev.modellversion}
                prev = rm
        sentence_rows.append(entry)
    df = pd.DataFrame(rows)
    table = make_table(df, {"pris_fjol": "kr(2)", "pris": "kr(2)", "andel": "+pct(2)"},
                       {"tjanst": "Tjänst", "enhet": "Enhet", "giltig": "Gäller från", "version": "Modellversion",
                        "pris_fjol": f"Pris {y - 1} (december)", "pris": f"Pris {y}", "andel": "Förändring"},
                       caption=f"Rörliga priser {y}, {vu.namn}", name="Rörliga priser")
    parts = [Markdown(nar.rorliga_priser(y, sentence_rows, prisbilaga=vu.ersattning.prisbilaga)), table]
    first = sentence_rows[0]
    if has_prev and y > P.forsta_ar and "revision" not in first:
        example = indexed_rate_example(P, y, first["namn"], first["pris_fjol"], first["pris"])
        if example is not None:
            parts.insert(1, example)
    return Section(*parts)


def overforingar(ctx: Context) -> Section:
    """Monthly transfers SoF → Leanlink and the reconciliation against SoF's bookings."""
    from vu_lib.model.transfers import reconcile_transfers, transfer_totals

    P, y, m, vu = ctx.params, ctx.year, ctx.month, ctx.vu
    rec = reconcile_transfers(P, ctx.data, y, m, vu_ids=[vu.id])
    tot = transfer_totals(P, ctx.data, vu.id, y, m)
    diffs = rec[rec["avviker"]]
    rounding = rec[rec["avrundning"]]
    tol = ctx.params.modellar(ctx.year).overforing.tolerans
    text = nar.overforingar(vu.namn, ctx.ytd_text, tot["overforing"], tot["fast"], tot["rorlig"], tot["medel"],
                            [{"period": r.period, "skillnad": r.skillnad} for r in diffs.itertuples(index=False)],
                            avrundning=(len(rounding), float(rounding["skillnad"].abs().max()) if len(rounding) else 0.0,
                                        tol))
    amount_cols = ["beraknad_fast", "beraknad_rorlig", "beraknad_medel", "beraknad", "bokford", "skillnad"]
    df = rec.copy()
    df["manad_namn"] = df["period"].map(month_label)
    # months without a real difference collapse into one line (every month: the appendix)
    calm = df[~df["avviker"]]
    if len(calm):
        label = (f"{'Alla' if len(calm) == len(df) else 'Övriga'} {len(calm)} månader, ingen skillnad"
                 + (" utöver avrundning" if calm["avrundning"].any() else ""))
        one = sum_row(calm.iloc[0:0], "manad_namn", label, [])
        for c in amount_cols:
            one.loc[one.index[-1], c] = sum_row(calm, "manad_namn", "", [c]).iloc[-1][c]
        df = pd.concat([df[df["avviker"]], one], ignore_index=True)
    if len(df) > 1:
        df = sum_row(df, "manad_namn", f"Summa {ctx.ytd_text}", amount_cols)
    headers, fm = _transfer_headers(ctx, rec)
    table = make_table(df, fm, headers, caption=f"Avstämning av överföringarna {ctx.ytd_text}, {vu.namn}",
                       name="Avstämning", total_row=len(df) > 1,
                       note="Skillnad = bokfört av SoF − överföring enligt modellen, i kronor och ören. Varje månad "
                            "redovisas i bilagan Överföringar per månad.")
    return Section(Markdown(text), table)


def _transfer_headers(ctx: Context, rec: pd.DataFrame) -> tuple[dict, dict]:
    headers = {"manad_namn": "Månad", "beraknad_fast": "Fast", "beraknad_rorlig": "Rörlig",
               "beraknad_medel": "Förändring av medel", "beraknad": "Överföring enligt modellen",
               "bokford": "Bokfört av SoF", "skillnad": "Skillnad"}
    if not ctx.params.vu(ctx.vu_id).ersattning.rorliga_tjanster:
        headers.pop("beraknad_rorlig")
    if not rec["beraknad_medel"].astype(bool).any() and not rec["bokford_medel"].astype(bool).any():
        headers.pop("beraknad_medel")
    fm = {c: "kr" for c in headers if c != "manad_namn"}
    fm["skillnad"] = "+kr(2)"
    return headers, fm


def bilaga_overforingar(ctx: Context) -> Section:
    """Appendix: the transfer of every month against SoF's booking."""
    from vu_lib.model.transfers import reconcile_transfers

    vu = ctx.vu
    rec = reconcile_transfers(ctx.params, ctx.data, ctx.year, ctx.month, vu_ids=[vu.id])
    df = rec.copy()
    df["manad_namn"] = df["period"].map(month_label)
    df = sum_row(df, "manad_namn", f"Summa {ctx.ytd_text}",
                 ["beraknad_fast", "beraknad_rorlig", "beraknad_medel", "beraknad", "bokford", "skillnad"])
    headers, fm = _transfer_headers(ctx, rec)
    table = make_table(df, fm, headers, caption=f"Månatliga överföringar {ctx.ytd_text}, {vu.namn}",
                       name="Överföringar", total_row=True,
                       note="Överföring enligt modellen = fast del (tolftedel) + rörlig del (volym × pris) + "
                            "förändring av medel. Skillnad = bokfört av SoF − överföring enligt modellen, i kronor och ören.")
    return Section(Markdown("## Bilaga: överföringar per månad"), table)


def _vu_results(ctx: Context, vu_id: str) -> pd.DataFrame:
    """``ctx.model.results(vu=vu_id)``: the frame an analyst gets, January to the period."""
    return ctx.model.results(vu=vu_id)


def resultat(ctx: Context) -> Section:
    """Cost against compensation and the result year to date: narrative, monthly table, chart."""
    vu = ctx.vu
    r = _vu_results(ctx, vu.id)
    last = r.iloc[-1]
    text = nar.resultat(vu.namn, ctx.ytd_text, last["intakter_ack"], last["kostnad_ack"], last["resultat_ack"],
                        last["ersattning_ack"], last["medel_ack"], last["ovrig_intakt_ack"])
    df = r.copy()
    df["manad_namn"] = df["period"].map(month_label)
    total = sum_row(df, "manad_namn", f"Summa {ctx.ytd_text}",
                    ["ersattning", "medel", "ovrig_intakt", "kostnad", "resultat"])
    total.loc[total.index[-1], "resultat_ack"] = last["resultat_ack"]
    headers = {"manad_namn": "Månad", "ersattning": "Ersättning", "medel": "Förändring av medel",
               "ovrig_intakt": "Övriga intäkter", "kostnad": "Kostnad", "resultat": "Resultat",
               "resultat_ack": "Resultat hittills i år"}
    if not r["medel"].astype(bool).any():
        headers.pop("medel")
    fm = {c: "tkr" for c in headers if c != "manad_namn"}
    fm["resultat"] = fm["resultat_ack"] = "+tkr"
    table = make_table(total, fm, headers, caption=f"Intäkter, kostnad och resultat per månad {ctx.ytd_text}, {vu.namn} (tkr)",
                       name="Resultat per månad", total_row=True,
                       note="Leanlinks bokföring på ID-nivå. Resultat = ersättning + förändring av medel + övriga intäkter − kostnad.")
    n_over = int((r["kostnad"] > r["intakter"]).sum())
    desc = (f"Stapeldiagram: Leanlinks kostnad per månad {ctx.ytd_text} för {vu.namn}, med intäkterna "
            f"(ersättning, medel och övriga intäkter) som linje. Kostnaden är högre än intäkterna i {n_over} "
            f"av {len(r)} månader; resultatet hittills är {nar.belopp(last['resultat_ack'], sign=True)}.")
    chart = _cost_vs_revenue_chart(r, desc, f"Kostnad och intäkter per månad {ctx.year}")
    return Section(Markdown(text), table, chart)


def _cost_vs_revenue_chart(r: pd.DataFrame, beskrivning: str, titel: str):
    """Bars of monthly cost and a line of monthly revenue, in tkr (house style)."""
    from vu_lib.report import charts

    alt = charts.alt
    rows = []
    for x in r.itertuples(index=False):
        lab = fmt.month_name(int(x.manad), short=True)
        rows.append({"manad": lab, "serie": "Kostnad", "tkr": float(x.kostnad) / 1000, "txt": fmt.tkr(x.kostnad),
                     "lang": month_label(x.period)})
        rows.append({"manad": lab, "serie": "Intäkter", "tkr": float(x.intakter) / 1000, "txt": fmt.tkr(x.intakter),
                     "lang": month_label(x.period)})
    d = pd.DataFrame(rows)
    order = [fmt.month_name(int(mm), short=True) for mm in r["manad"]]
    color = alt.Color("serie:N", scale=alt.Scale(domain=["Kostnad", "Intäkter"],
                                                 range=[charts.PALETTE["blue"], "#333333"]), legend=alt.Legend(title=None))
    x = alt.X("manad:N", sort=order, title=None)
    y = alt.Y("tkr:Q", title="tkr", axis=alt.Axis(format=",.0f"))
    tip = [alt.Tooltip("lang:N", title="Månad"), alt.Tooltip("serie:N", title="Serie"), alt.Tooltip("txt:N", title="Belopp")]
    base = alt.Chart(d)
    bars = base.transform_filter(alt.datum.serie == "Kostnad").mark_bar(width={"band": 0.7}).encode(x=x, y=y, color=color, tooltip=tip)
    line = base.transform_filter(alt.datum.serie == "Intäkter").mark_line(point=True, strokeDash=[6, 4]).encode(
        x=x, y=y, color=color, tooltip=tip)
    return charts.style(alt.layer(bars, line).properties(width=charts.DEFAULT_WIDTH, height=charts.DEFAULT_HEIGHT),
                        beskrivning=beskrivning, titel=titel)


def prognos(ctx: Context) -> Section:
    """The full-year forecast by run-rate and by last year's monthly profile, and their difference."""
    vu = ctx.vu
    fc = forecast_frame(ctx)
    f = fc[fc["vu"] == vu.id].iloc[0]
    from vu_lib.model.forecast import prognosis

    prog = ctx.memo("prognosis", lambda: prognosis(ctx.params, ctx.data, ctx.year, ctx.month))
    p = prog[prog["vu"] == vu.id].iloc[0]
    text = nar.prognos_vald(ctx.year, p["prognos"], p["metod"], p["motivering"], p["alternativ"], p["lag"], p["hog"],
                            reserv=bool(p["reserv"]), notering=f["profil_notering"])
    rows = [
        ("Ersättning", f["ersattning_ack"], f["arstakt_ersattning"], f["profil_ersattning"]),
        ("Förändring av medel", f["medel_ack"], f["arstakt_medel"], f["profil_medel"]),
        ("Övriga intäkter", f["ovrig_intakt_ack"], f["arstakt_ovrig_intakt"], f["profil_ovrig_intakt"]),
        ("Kostnad", f["kostnad_ack"], f["arstakt_kostnad"], f["profil_kostnad"]),
        ("Resultat", f["resultat_ack"], f["arstakt_resultat"], f["profil_resultat"]),
    ]
    df = pd.DataFrame(rows, columns=["post", "utfall", "arstakt", "profil"])
    df["skillnad"] = [None] * (len(df) - 1) + [f["skillnad_resultat"]]
    table = make_table(df, {"utfall": "tkr", "arstakt": "tkr", "profil": "tkr", "skillnad": "+tkr"},
                       {"post": "Post", "utfall": f"Utfall {ctx.ytd_text}", "arstakt": "Helår, årstakt",
                        "profil": "Helår, fjolårsprofil", "skillnad": "Skillnad (årstakt − profil)"},
                       caption=f"Helårsprognos {ctx.year}, {vu.namn} (tkr)", name="Helårsprognos", total_row=True,
                       note=(f"Årstakt: fast ersättning för helåret ({nar.belopp(f['fast_helar'])}) plus rörlig ersättning, "
                             "övriga intäkter och kostnad hittills × 12 / antal månader. Fjolårsprofil: utfallet hittills "
                             "delat med den andel av fjolårets helårsbelopp som föll under samma månader. "
                             "Förändring av medel räknas inte upp."))
    return Section(Markdown(text), table)


def avvikelse(ctx: Context) -> Section:
    """Variance split (volume effect vs price/efficiency effect) where the VU has volumes."""
    from vu_lib.model.variance import METHOD_LABELS, variance, variance_vus

    vu = ctx.vu
    if vu.id not in variance_vus(ctx.params):
        return Section(Markdown(nar.avvikelse_saknas(vu.namn)))
    v = variance(ctx.params, ctx.data, ctx.year, ctx.month, vu=vu.id)
    total = v[v["kluster"] == ""].iloc[0]
    clusters = v[v["kluster"] != ""]
    worst = clusters.loc[clusters["avvikelse"].abs().idxmax()] if clusters["avvikelse"].notna().any() else None
    metod = METHOD_LABELS[total["metod"]]
    text = nar.avvikelse(metod, ctx.ytd_text, total["avvikelse"], total["volymeffekt"], total["pris_effektivitetseffekt"],
                         {"namn": worst["kluster_namn"], "avvikelse": worst["avvikelse"]} if worst is not None else None)
    if total["metod"] == "prisbilaga":
        text += " " + nar.avvikelse_prisbilaga(total["fast_del"], total["pris_effektivitetseffekt"])
    unit = "timmar" if total["matt"] == "timmar" else "dygn"
    notes = sorted({n for n in clusters["notering"] if n})
    table = make_table(v, {"volym_budget": "num(1)", "volym_utfall": "num(1)", "pris_budget": "kr(2)", "pris_utfall": "kr(2)",
                           "kostnad_budget": "tkr", "kostnad_utfall": "tkr", "avvikelse": "+tkr", "volymeffekt": "+tkr",
                           "pris_effektivitetseffekt": "+tkr"},
                       {"kluster_namn": "Kluster", "volym_budget": f"Budgeterade {unit}", "volym_utfall": f"Utfall {unit}",
                        "pris_budget": "Budgetpris", "pris_utfall": "Utfallspris", "kostnad_budget": "Budgeterad kostnad",
                        "kostnad_utfall": "Kostnad", "avvikelse": "Avvikelse", "volymeffekt": "Volymeffekt",
                        "pris_effektivitetseffekt": "Pris- och effektivitetseffekt"},
                       caption=f"Avvikelseanalys {ctx.ytd_text}, {vu.namn} (belopp i tkr)", name="Avvikelseanalys",
                       total_row=True,
                       note=f"Metod: {metod}. Volymeffekt + pris- och effektivitetseffekt = avvikelse."
                            + ("" if not notes else " " + " ".join(f"{n}." for n in notes)))
    return Section(Markdown(text), table)


# --------------------------------------------------------------------------- changes of funds
MEDEL_INTRO = (
    "Utöver de nio verksamhetsuppdragen kan det ske förändringar under budgetåret i uppdrag som tilldelas "
    "Leanlink, till exempel statsbidrag, oförutsedda händelser som övertagande av verksamhet från annan utförare, "
    "och riktade satsningar från nämnd. De hanteras utanför den ordinarie budgetprocessen med egen tilldelning, "
    "ekonomisk uppföljning och återrapporteringskrav."
)

def medel(ctx: Context, vu_ids: list[str] | None = None) -> Section:
    """Changes of funds outside the budget process and their reporting requirements."""
    from vu_lib.model.results import medel_report

    ids = vu_ids or [ctx.vu_id]
    rep = medel_report(ctx.params, ctx.data, ctx.year, ctx.month)
    rep = rep[rep["vu"].isin(ids)].reset_index(drop=True)
    passed = [f"{r.id} ({r.vu_namn}, senast {r.aterrapportering_senast})" for r in rep.itertuples(index=False)
              if r.aterrapportering_passerad]
    text = nar.medel(ctx.ytd_text, len(rep), float(rep["belopp_ack"].sum()) if len(rep) else 0.0, passed)
    heading = "## Förändring av medel utanför budgetprocessen\n\n"
    if rep.empty:
        return Section(Markdown(heading + text))
    text = heading + MEDEL_INTRO + "\n\n" + text
    headers = {"id": "Ärende", "typ_namn": "Typ", "beskrivning": "Beskrivning", "belopp_ack": "Belopp hittills i år",
               "aterrapporteringskrav": "Återrapporteringskrav", "aterrapportering_senast": "Senast", "status": "Status"}
    if vu_ids:
        rep["vu_txt"] = rep["vu_namn"]
        headers = {"id": "Ärende", "vu_txt": "Verksamhetsuppdrag", **{k: v for k, v in headers.items() if k != "id"}}
    table = make_table(rep, {"belopp_ack": "kr"}, headers, caption=f"Förändring av medel {ctx.ytd_text}",
                       name="Förändring av medel")
    return Section(Markdown(text), table)


# --------------------------------------------------------------------------- schablon follow-up
def schablon(ctx: Context) -> Section:
    """Actual cost per årsarbetare and per hour against the schablon (FTE-steered VU only)."""
    from vu_lib.model.schablon import schablon_followup, schablon_vus

    vu = ctx.vu
    rule = schablon_vus(ctx.params).get(vu.id)
    if not rule:
        # not applicable (the price annex, or a fixed compensation not set from FTE): no section at all
        return Section()
    df = ctx.memo("schablon_fu", lambda: schablon_followup(ctx.params, ctx.data, ctx.period_str))
    d = df[df["vu"] == vu.id].reset_index(drop=True)
    tot = d[d["niva"] == "vu"].iloc[0]
    regel = "ÄN-regeln: antalet årsarbetare styr fördelningen" if rule == "an" else \
        "SON-regeln: årsarbetare omräknade i timmar styr fördelningen i relation till de planerade timmarna"
    text = (f"Schablonkostnaden används i budgetprocessen för att sätta den fasta ersättningen ({regel}); i "
            f"uppföljningen jämförs den med verklig kostnad per årsarbetare och per timme. För hela uppdraget är "
            f"kostnaden {fmt.kr(tot['kostnad_per_arsarbetare'])} per årsarbetare i årstakt mot schablonen "
            f"{fmt.kr(tot['schablon_per_arsarbetare'])} för bemanningens sammansättning "
            f"({fmt.kr(tot['avvikelse_per_arsarbetare'], sign=True)}), med i genomsnitt "
            f"{fmt.num(tot['arsarbetare'], 1)} årsarbetare.")
    headers = {"kluster_namn": "Kluster", "arsarbetare": "Årsarbetare", "kostnad_per_arsarbetare": "Kostnad per årsarbetare",
               "schablon_per_arsarbetare": "Schablon per årsarbetare", "avvikelse_per_arsarbetare": "Avvikelse",
               "kostnad_per_planerad_timme": "Kostnad per planerad timme", "schablon_per_timme": "Schablon per timme",
               "avvikelse_per_timme": "Avvikelse per timme"}
    if d["kostnad_per_planerad_timme"].isna().all():
        for k in ("kostnad_per_planerad_timme", "schablon_per_timme", "avvikelse_per_timme"):
            headers.pop(k)
    table = make_table(d, {"arsarbetare": "num(1)", "kostnad_per_arsarbetare": "kr", "schablon_per_arsarbetare": "kr",
                           "avvikelse_per_arsarbetare": "+kr", "kostnad_per_planerad_timme": "kr(2)",
                           "schablon_per_timme": "kr(2)", "avvikelse_per_timme": "+kr(2)"}, headers,
                       caption=f"Kostnad mot schablon {ctx.ytd_text}, {vu.namn}", name="Schablonuppföljning", total_row=True,
                       note="Kostnad per årsarbetare i årstakt (kostnad × 12 / antal månader / genomsnittligt antal årsarbetare).")
    return Section(Markdown("## Schablonkostnad per årsarbetare\n\n" + text), table)


# --------------------------------------------------------------------------- nivå 3
def niva3(ctx: Context) -> Section:
    """Appendix: the result per unit (nivå 3), year to date."""
    from vu_lib.model.results import period_results

    vu = ctx.vu
    r = ctx.memo("units", lambda: period_results(ctx.params, ctx.data, ctx.year, ctx.month, "enhet"))
    d = r[r["vu"] == vu.id].reset_index(drop=True)
    d = sum_row(d, "enhet_namn", "Summa uppdraget",
                ["ersattning_ack", "medel_ack", "ovrig_intakt_ack", "kostnad_ack", "resultat_ack"])
    headers = {"enhet_namn": "Enhet", "kluster_namn": "Kluster", "ersattning_ack": "Ersättning",
               "medel_ack": "Förändring av medel", "ovrig_intakt_ack": "Övriga intäkter", "kostnad_ack": "Kostnad",
               "resultat_ack": "Resultat"}
    if not d["medel_ack"].iloc[:-1].astype(bool).any():
        headers.pop("medel_ack")
    text = (f"Modellen för den ekonomiska uppföljningen har tre nivåer där fokus mellan SoF och Leanlink är på nivå 2. "
            f"Vid behov ska Leanlink även kunna redovisa det ekonomiska utfallet på nivå 3, de berörda verksamheterna. "
            f"Tabellen visar utfallet per enhet {ctx.ytd_text}; ersättningen är fördelad på enheterna i "
            f"Leanlinks bokföring.")
    fm = {c: "tkr" for c in headers if c not in ("enhet_namn", "kluster_namn")}
    fm["resultat_ack"] = "+tkr"
    table = make_table(d, fm, headers, caption=f"Nivå 3: utfall per enhet {ctx.ytd_text}, {vu.namn} (tkr)",
                       name="Nivå 3", total_row=True)
    return Section(Markdown("## Bilaga: nivå 3, berörda verksamheter\n\n" + text), table)


