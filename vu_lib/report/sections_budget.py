"""Sections of the budget proposal (``notebooks/budget.ipynb``): next year's compensation.

Summary, the proposal per VU with its bridge, the change items, variable
rates, the schablon-based allocation, totals per nämnd and the calendar.
Private: :mod:`vu_lib.report` re-exports the builders.
"""
from __future__ import annotations

import pandas as pd

from vu_lib.report import fmt
from vu_lib.report import narrative as nar
from vu_lib.report.context import Context, Markdown, Section, make_table, month_label
from vu_lib.report.sections_modell import modell_budgetprocess


def _proposal(ctx: Context):
    """The :class:`~vu_lib.budget.BudgetProposal` of the context's year (computed once per context)."""
    from vu_lib.model.budget import budget_proposal

    return ctx.memo("proposal", lambda: budget_proposal(ctx.params, ctx.data, ctx.year))


def _proposal_rows(ctx: Context, part: str) -> pd.DataFrame:
    """A copy of one per-VU part of the proposal (``'forandringar'``, ``'priser'``, ``'schablon'``) with ``vu_namn``."""
    df = getattr(_proposal(ctx), part).copy()
    df["vu_namn"] = df["vu"].map(lambda v: ctx.params.vu(v).namn)
    return df


def budget_titel(ctx: Context) -> Markdown:
    """Title and summary of the budget proposal."""
    from vu_lib.core.versions import code_version, params_fingerprint

    bp = _proposal(ctx)
    tot = bp.totaler[bp.totaler["rad"] == "Totalt"].iloc[0]
    n_changes = len(bp.forandringar)
    head = (f"# Förslag till ersättning för verksamhetsuppdragen {ctx.year}\n\n"
            f"**Budgetförslag · modellversion {bp.modellversion} · Äldrenämnden och Social- och omsorgsnämnden**\n\n")
    text = nar.budget_sammanfattning(ctx.year, bp.modellversion, float(bp.index), tot["ersattning_innevarande"],
                                     tot["ersattning_forslag"], tot["indexering"], tot["forandringar"], n_changes)
    text += (" Beloppen omfattar de nio verksamhetsuppdragen och ensamkommande barn (EKB), vars ersättning regleras "
             "separat.")
    trace = (f"\n\nBeräknad med modellversion {bp.modellversion}, data {ctx.data.fingerprint} ({ctx.data.source}), "
             f"parametrar {params_fingerprint(ctx.params)} och kodversion {code_version()}.")
    return Markdown(head + text + trace)


def budget_per_vu(ctx: Context) -> Section:
    """The proposal per VU: this year's F, indexation, changes, the proposed F; with a bridge chart of the total."""
    from vu_lib.report import charts

    bp = _proposal(ctx)
    y = ctx.year
    df = bp.per_vu.copy()
    df["namn_txt"] = [f"{n} (separat reglerad)" if s else n for n, s in zip(df["namn"], df["separat"])]
    df["namnd_txt"] = df["namnd"].map(ctx.params.registry.namnder)
    tot = bp.totaler[bp.totaler["rad"] == "Totalt"].iloc[0]
    total = pd.DataFrame([{"namn_txt": "Totalt", "namnd_txt": "", **{c: tot[c] for c in
                          ("ersattning_innevarande", "indexering", "forandringar", "ersattning_forslag", "forandring")},
                           "forandring_andel": None}])
    df = pd.concat([df, total], ignore_index=True)
    table = make_table(df, {"ersattning_innevarande": "kr", "indexering": "+kr", "forandringar": "+kr",
                            "ersattning_forslag": "kr", "forandring": "+kr", "forandring_andel": "+pct(1)"},
                       {"namn_txt": "Verksamhetsuppdrag", "namnd_txt": "Nämnd", "ersattning_innevarande": f"Ersättning {y - 1}",
                        "indexering": f"Index {fmt.pct(bp.index, 2)}", "forandringar": "Förändringar",
                        "ersattning_forslag": f"Förslag {y}", "forandring": "Förändring", "forandring_andel": "Förändring, %"},
                       caption=f"Förslag till ersättning {y} per verksamhetsuppdrag", name="Förslag per VU", total_row=True,
                       note=f"Ersättning {y - 1} inklusive årets revisioner. För EKB är förändringen den separat reglerade.")
    steps = pd.DataFrame([
        {"steg": f"Ersättning {y - 1}", "belopp": tot["ersattning_innevarande"], "typ": "summa"},
        {"steg": "Indexuppräkning", "belopp": tot["indexering"], "typ": "andring"},
        {"steg": "Förändringar", "belopp": tot["forandringar"], "typ": "andring"},
        {"steg": f"Förslag {y}", "belopp": tot["ersattning_forslag"], "typ": "summa"},
    ])
    desc = (f"Vattenfallsdiagram: total ersättning {y - 1} {nar.belopp(tot['ersattning_innevarande'])}, "
            f"indexuppräkning {nar.belopp(tot['indexering'], sign=True)}, förändringar "
            f"{nar.belopp(tot['forandringar'], sign=True)}, förslag {y} {nar.belopp(tot['ersattning_forslag'])}.")
    chart = charts.bridge(steps, beskrivning=desc, typ="typ", format="mnkr", titel=f"Från ersättning {y - 1} till förslag {y}")
    return Section(table, chart)


def budget_forandringar(ctx: Context) -> Section:
    """The proposed change items of the year."""
    ch = _proposal_rows(ctx, "forandringar")
    ch["giltig"] = [(month_label(g) if isinstance(g, str) and g else "januari") for g in ch["giltig_fran"]]
    items = [f"{nar.CHANGE_WORDS.get(r.typ, r.typ)} för {r.vu_namn} "
             f"({nar.belopp(r.belopp, sign=True)}: {nar._gemen(r.beskrivning) if r.beskrivning else 'separat reglerad'})"
             for r in ch.itertuples(index=False)]
    text = (f"Förslaget innehåller följande förändringar i uppdragen, i {ctx.year} års priser: {nar.lista(items)}. "
            "Ett effektiviseringskrav som anges som andel räknas på den indexuppräknade ersättningen.")
    table = make_table(ch, {"belopp": "+kr"}, {"vu_namn": "Verksamhetsuppdrag", "steg": "Förändring", "beskrivning": "Beskrivning",
                                              "giltig": "Gäller från", "belopp": "Belopp"},
                       caption=f"Föreslagna förändringar {ctx.year}", name="Förändringar")
    return Section(Markdown(text), table)


def budget_priser(ctx: Context) -> Section:
    """Variable rates this year and next."""
    bp = _proposal(ctx)
    pr = _proposal_rows(ctx, "priser")
    pr["enhet_txt"] = "kr per " + pr["enhet"]
    y = ctx.year
    text = (f"De rörliga priserna räknas upp med indexet {fmt.pct(bp.index, 2)} till hela ören. Priset för {y - 1} är "
            f"det som gäller i december {y - 1}, så en justering under året (revision) räknas med i uppräkningen.")
    table = make_table(pr, {"pris_innevarande": "kr(2)", "pris_forslag": "kr(2)", "forandring": "+kr(2)", "forandring_andel": "+pct(2)"},
                       {"vu_namn": "Verksamhetsuppdrag", "namn": "Tjänst", "enhet_txt": "Enhet",
                        "pris_innevarande": f"Pris {y - 1}", "pris_forslag": f"Pris {y}", "forandring": "Förändring",
                        "forandring_andel": "Förändring, %"},
                       caption=f"Rörliga priser {y}", name="Rörliga priser")
    return Section(Markdown(text), table)


def budget_schablon(ctx: Context) -> Section:
    """The schablon-based allocation for the FTE-steered VU against the proposal."""
    s = _proposal_rows(ctx, "schablon")
    clusters = {(v.id, k.id): k.namn for v in ctx.params.registry.alla for k in v.kluster}
    s["rad"] = [clusters.get((v, k), k) if k else f"{n}, hela uppdraget" for v, k, n in zip(s["vu"], s["kluster"], s["vu_namn"])]
    vu_rows = s[s["niva"] == "vu"]
    parts = [f"{r.vu_namn}: schablon {nar.belopp(r.tilldelning)} mot förslaget {nar.belopp(r.ersattning_forslag)} "
             f"({nar.belopp(r.skillnad, sign=True)})" for r in vu_rows.itertuples(index=False)]
    period = vu_rows["bemanning_period"].dropna()
    text = (f"För de öppna verksamheterna styr antalet årsarbetare fördelningen. Med bemanningen i "
            f"{month_label(period.iloc[0]) if len(period) else 'senaste månaden'} och {ctx.year} års schablon blir den "
            f"schablonbaserade tilldelningen: {nar.lista(parts)}. Skillnad = förslag − schablon; ett positivt belopp betyder "
            "att förslaget ligger över vad bemanningen motiverar enligt schablonen.")
    table = make_table(s, {"arsarbetare": "num(1)", "kostnad_per_timme": "kr(2)", "planerade_timmar": "num(0)",
                           "tilldelning": "kr", "ersattning_forslag": "kr", "skillnad": "+kr"},
                       {"rad": "Uppdrag / kluster", "regel": "Regel", "arsarbetare": "Årsarbetare",
                        "kostnad_per_timme": "Kostnad per timme", "planerade_timmar": "Planerade timmar per år",
                        "tilldelning": "Schablonbaserad tilldelning", "ersattning_forslag": f"Förslag {ctx.year}",
                        "skillnad": "Skillnad"},
                       caption=f"Schablonbaserad tilldelning {ctx.year} mot förslaget", name="Schablon mot förslag")
    return Section(Markdown(text), table)


def budget_totaler(ctx: Context) -> Section:
    """Totals per nämnd, the nine, EKB and overall."""
    bp = _proposal(ctx)
    y = ctx.year
    table = make_table(bp.totaler, {c: "kr" for c in ("ersattning_innevarande", "ersattning_forslag")} |
                       {c: "+kr" for c in ("indexering", "forandringar", "forandring")},
                       {"rad": "Nämnd", "ersattning_innevarande": f"Ersättning {y - 1}", "indexering": "Indexuppräkning",
                        "forandringar": "Förändringar", "ersattning_forslag": f"Förslag {y}", "forandring": "Förändring"},
                       caption=f"Förslag {y} per nämnd", name="Per nämnd", total_row=True)
    return Section(table)


def budget_kalender(ctx: Context) -> Section:
    """The budget-process calendar of the proposal year."""
    return modell_budgetprocess(ctx, ctx.year)
