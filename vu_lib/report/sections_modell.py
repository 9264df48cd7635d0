"""Sections of the model document (``notebooks/modell.ipynb``): the compensation model of one year.

The registry of VU, the index, fixed and variable compensation, the monthly
transfer, the schablon, the key-figure catalogue, the version history and the
budget-process calendar, with worked examples taken from the parameters.
Private: :mod:`vu_lib.report` re-exports the builders.
"""
from __future__ import annotations

from decimal import Decimal

import pandas as pd

from vu_lib.report import fmt
from vu_lib.report import narrative as nar
from vu_lib.report.context import Context, Markdown, Section, indexed_rate_example, make_table, month_label, sum_row


def modell_titel(ctx: Context) -> Markdown:
    """Title of the model document for a year."""
    from vu_lib.core.versions import code_version, params_fingerprint

    m = ctx.params.modellar(ctx.year)
    revs = "".join(f", revision {r.modellversion} från {month_label(r.giltig_fran)}" for r in m.revisioner)
    text = (f"# Ersättningsmodellen för verksamhetsuppdrag {ctx.year}\n\n"
            f"**Ekonomistyrning för verksamhetsuppdrag, modellversion {m.modellversion}{revs}**\n\n"
            f"Detta dokument beskriver hur Social- och omsorgsförvaltningen (SoF) ersätter Leanlink för de nio "
            f"verksamhetsuppdragen {ctx.year}, med räkneexempel som tas fram direkt ur modellens parametrar. "
            f"Modellversion {m.modellversion} fastställdes {fmt.date_label(m.faststalld)}.\n\n"
            f"Beräknad med parametrar {params_fingerprint(ctx.params)} och kodversion {code_version()}.")
    return Markdown(text)


def modell_vu(ctx: Context) -> Section:
    """The nine VU (and EKB) from the registry: nämnd, nivå 1, name, clusters and compensation form."""
    reg = ctx.params.registry
    form_txt = {"prisbilaga": "Prisbilaga område {n}: timersättning och fast del", "fast": "Fast ersättning",
                "fast_rorlig": "Fast och rörlig ersättning"}
    rows = []
    for v in reg.alla:
        f = v.ersattning
        t = form_txt[f.form].format(n=f.prisbilaga)
        if f.schablon:
            t += f"; schablon {'ÄN' if f.schablon == 'an' else 'SON'}"
        if v in reg.separata:
            t = "Regleras separat årsvis"
        rows.append({"id": v.id, "namnd": reg.namnder[v.namnd], "niva1": v.niva1, "namn": v.namn,
                     "kluster": ", ".join(k.namn for k in v.kluster), "enheter": len(v.enheter), "form": t})
    df = pd.DataFrame(rows)
    table = make_table(df, {"enheter": "num(0)"}, {"id": "Id", "namnd": "Nämnd", "niva1": "Nivå 1", "namn": "Verksamhetsuppdrag (nivå 2)",
                                                   "kluster": "Kluster för uppföljning", "enheter": "Enheter (nivå 3)",
                                                   "form": "Ersättning"},
                       caption="Verksamhetsuppdragen i registret", name="Verksamhetsuppdrag")
    n_an = sum(1 for v in reg.verksamhetsuppdrag if v.namnd == "AN")
    n_son = sum(1 for v in reg.verksamhetsuppdrag if v.namnd == "SON")
    text = (f"Införandet av modellen innebär att 428 avtal har blivit {len(reg.verksamhetsuppdrag)} "
            f"verksamhetsuppdrag: {n_an} för Äldrenämnden och {n_son} för Social- och omsorgsnämnden. Ett "
            "verksamhetsuppdrag definieras utifrån tre nivåer där den första nivån anger om det är öppna former "
            "eller vårdboende/heldygn, den andra nivån anger själva området och den tredje nivån listar berörda "
            "verksamheter. Uppdraget från SoF sker på den andra nivån. Områdesansvar består av tre "
            "verksamhetsuppdrag, Nordväst, Nordost och City Nord. Ensamkommande barn (EKB) ingår i "
            "verksamhetsuppdrag men omfattningen och ersättningen regleras separat årsvis. Registret är en "
            "parameterfil (params/registry.yaml), så uppdragen kan grupperas om utan kodändringar.")
    return Section(Markdown(text), table)


def modell_index(ctx: Context) -> Section:
    """Kommunstyrelsens index: the formula with the year's numbers, and the index of every model year."""
    from vu_lib.model.index import index_for

    P, y = ctx.params, ctx.year
    ix = P.modellar(y).index
    i = index_for(P, y)
    text = ("Kommunen har bestämt att den årliga indexuppräkningen för pris och lön ska gälla mellan alla kommunala "
            "förvaltningar, så uppräkningen mellan Leanlink och SoF baseras på den procentsats Kommunstyrelsen (KS) "
            "fastställer för året. Indexet vägs av löneökning och prisökning: i = w × lön + (1 − w) × pris.")
    if ix.ks_index is None:
        text += (f"\n\nFör {y}: i = {fmt.num(ix.vikt_lon, 2)} × {fmt.pct(ix.lon, 2)} + {fmt.num(1 - ix.vikt_lon, 2)} × "
                 f"{fmt.pct(ix.pris, 2)} = **{fmt.pct(i, 2)}**.")
    else:
        text += f"\n\nFör {y} har KS fastställt indexet direkt till **{fmt.pct(i, 2)}**."
    rows = []
    for yr, m in sorted(P.ar.items()):
        rows.append({"ar": str(yr), "version": m.modellversion, "lon": m.index.lon, "pris": m.index.pris,
                     "vikt": m.index.vikt_lon, "index": float(index_for(P, yr))})
    table = make_table(pd.DataFrame(rows), {"lon": "pct(2)", "pris": "pct(2)", "vikt": "pct(0)", "index": "pct(2)"},
                       {"ar": "År", "version": "Modellversion", "lon": "Löneökning", "pris": "Prisökning",
                        "vikt": "Lönens vikt", "index": "KS index"},
                       caption="Kommunstyrelsens vägda prisindex per modellår", name="Index")
    return Section(Markdown(text), table)


def modell_fast(ctx: Context, exempel_vu: str = "AN-VB") -> Section:
    """Fixed compensation: the rule, one VU's F worked from last year's, and every VU's F for the year."""
    from vu_lib.model.compensation import fixed_bridge
    from vu_lib.model.index import index_for

    P, y = ctx.params, ctx.year
    text = ("Den fastställda ersättningen baseras på föregående års ersättning och eventuella förändringar i "
            "uppdraget och räknas årligen upp med Linköpings kommuns vägda prisindex: "
            "F(år) = avrundning(F(föregående år) × (1 + i)) + volymförändring + ambitionsförändring + "
            "uppdragsförändring − effektiviseringskrav, i hela kronor. Effektiviseringskravet kan anges som ett "
            "belopp eller som en andel av den uppräknade basen. Modellens första år anger ersättningen direkt.")
    parts = [Markdown(text)]
    if y > P.forsta_ar:
        steps = fixed_bridge(P, exempel_vu, y)
        prev = steps[0].belopp
        idx = next(s.belopp for s in steps if s.typ == "index")
        changes = [s for s in steps[:-1] if s.typ not in ("forra_aret", "index")]
        ch_txt = " ".join(f"{'+' if s.belopp >= 0 else '−'} {fmt.num(abs(s.belopp))} ({s.steg.lower()})" for s in changes)
        ex = (f"**Räkneexempel, {P.vu(exempel_vu).namn}:** avrundning({fmt.num(prev)} × "
              f"{fmt.num(1 + index_for(P, y), 4)}) = {fmt.num(prev + idx)} kr"
              + (f"; {fmt.num(prev + idx)} {ch_txt} = **{fmt.kr(steps[-1].belopp)}**" if changes
                 else f" = **{fmt.kr(steps[-1].belopp)}**") + f" för {y}.")
        parts.append(Markdown(ex))
        from vu_lib.model.budget import budget_per_vu

        bp = budget_per_vu(P, y)
        bp = sum_row(bp[~bp["separat"]], "namn", "Summa nio verksamhetsuppdrag",
                     ["ersattning_innevarande", "indexering", "forandringar", "ersattning_forslag", "forandring"])
        parts.append(make_table(bp, {"ersattning_innevarande": "kr", "indexering": "+kr", "forandringar": "+kr",
                                     "ersattning_forslag": "kr"},
                                {"namn": "Verksamhetsuppdrag", "ersattning_innevarande": f"Ersättning {y - 1}",
                                 "indexering": "Indexuppräkning", "forandringar": "Förändringar", "ersattning_forslag": f"Ersättning {y}"},
                                caption=f"Fast ersättning {y} per verksamhetsuppdrag", name="Fast ersättning", total_row=True))
    else:
        m = P.modellar(y)
        df = pd.DataFrame([{"namn": P.vu(k).namn, "F": v} for k, v in m.fast_ersattning.items()])
        df = sum_row(df, "namn", "Summa nio verksamhetsuppdrag", ["F"])
        parts.append(make_table(df, {"F": "kr"}, {"namn": "Verksamhetsuppdrag", "F": f"Fastställd ersättning {y}"},
                                caption=f"Fast ersättning {y}", name="Fast ersättning", total_row=True))
    return Section(*parts)


def modell_rorlig(ctx: Context) -> Section:
    """Variable compensation and the price annexes: the rule, an indexed rate in öre, the rates of the year."""
    from vu_lib.model.compensation import fixed_compensation, rate, service_info, services_of

    P, y = ctx.params, ctx.year
    text = ("Den rörliga ersättningen regleras utifrån verklig volym och ett fastställt pris som räknas upp årligen "
            "med Linköpings kommuns vägda prisindex: R(år) = avrundning till hela ören av R(föregående år) × (1 + i). "
            "Månadens rörliga ersättning är summan över tjänsterna av Leanlinks verkliga volym (utförda timmar, "
            "fakturerade insatser) gånger priset. För Områdesansvar anger Prisbilaga område 1, 2 och 3 timpriser för "
            "hemtjänst, hemsjukvård och hemrehabilitering och en fast del.")
    rows = []
    for v in P.registry.alla:
        for s in services_of(P, v.id):
            info = service_info(P, v.id, s)
            r = rate(P, v.id, s, y, 1)
            r12 = rate(P, v.id, s, y, 12)
            r0 = rate(P, v.id, s, y - 1, 12) if y - 1 in P.ar else None
            rows.append({"vu": v.namn, "omrade": str(v.ersattning.prisbilaga or "–"), "tjanst": info["namn"],
                         "enhet": f"kr per {info['enhet']}", "fjol": float(r0) if r0 is not None else None,
                         "pris": float(r), "dec": float(r12)})
    df = pd.DataFrame(rows)
    headers = {"vu": "Verksamhetsuppdrag", "omrade": "Prisbilaga", "tjanst": "Tjänst", "enhet": "Enhet",
               "fjol": f"Pris {y - 1}", "pris": f"Pris januari {y}", "dec": f"Pris december {y}"}
    if (df["pris"] == df["dec"]).all():
        headers.pop("dec")
    if df["fjol"].isna().all():
        headers.pop("fjol")
    parts = [Markdown(text)]
    if y > P.forsta_ar:
        v0 = next(v for v in P.registry.verksamhetsuppdrag if services_of(P, v.id))
        s0 = services_of(P, v0.id)[0]
        namn = service_info(P, v0.id, s0)["namn"]
        if v0.ersattning.prisbilaga:
            namn = f"{namn} i Prisbilaga område {v0.ersattning.prisbilaga}"
        example = indexed_rate_example(P, y, namn, rate(P, v0.id, s0, y - 1, 12), rate(P, v0.id, s0, y, 1))
        if example is not None:
            parts.append(example)
    parts.append(make_table(df, {"fjol": "kr(2)", "pris": "kr(2)", "dec": "kr(2)"}, headers,
                            caption=f"Rörliga priser {y}", name="Rörliga priser"))
    omr = [v for v in P.registry.verksamhetsuppdrag if v.ersattning.form == "prisbilaga"]
    if omr:
        prow = []
        for v in omr:
            r = {"omrade": f"Område {v.ersattning.prisbilaga}", "vu": v.namn, "fast": fixed_compensation(P, v.id, y)}
            for s in services_of(P, v.id):
                r[s] = float(rate(P, v.id, s, y, 1))
            prow.append(r)
        pdf = pd.DataFrame(prow)
        svc = services_of(P, omr[0].id)
        parts.append(make_table(pdf, {"fast": "kr", **{s: "kr(2)" for s in svc}},
                                {"omrade": "Prisbilaga", "vu": "Verksamhetsuppdrag", "fast": f"Fast del {y}",
                                 **{s: f"{service_info(P, omr[0].id, s)['namn']}, kr/timme" for s in svc}},
                                caption=f"Prisbilaga område 1–3, {y} (timpriser från januari)", name="Prisbilagor"))
    return Section(*parts)


ROUNDING_TEXT = {
    "kronor": ("Tolftedelarna avrundas kumulativt till hela kronor så att de tolv delarna summerar exakt till den "
               "fasta ersättningen."),
    "kronor_sista_manad": ("Tolftedelarna avrundas till hela kronor och december får resten, så att de tolv delarna "
                           "summerar exakt till den fasta ersättningen."),
    "ore": ("Tolftedelarna avrundas till hela ören och december får resten, så att de tolv delarna summerar exakt "
            "till den fasta ersättningen."),
}


def modell_avvikelse(ctx: Context) -> Section:
    """The rules that make the report's figures agree: budgeted cost in the variance analysis, the one prognosis."""
    from vu_lib.model.compensation import fixed_compensation

    P, y = ctx.params, ctx.year
    omr = next((v for v in P.registry.verksamhetsuppdrag if v.ersattning.form == "prisbilaga"), None)
    text = [
        "Leanlinks budget för ett verksamhetsuppdrag är i balans med ersättningen. Den budgeterade kostnaden i "
        "avvikelseanalysen är därför det uppdraget är budgeterat att få:",
        "",
        "- **Områdesansvar (prisbilaga):** budgeterade timmar × timpris plus prisbilagans fasta del. Den fasta delen "
        "som betalats ut hittills fördelas på klustren (hemtjänst, hemsjukvård, hemrehabilitering) i proportion till "
        "klustrets budgeterade timersättning, exakt till öret. Volymeffekten, (utförda − budgeterade timmar) × "
        "timpris, är precis det belopp som timersättningen ändras med; pris- och effektivitetseffekten är resten. "
        "Resultatet blir därmed minus pris- och effektivitetseffekten plus förändring av medel och övriga intäkter: "
        "avvikelsen och resultatet berättar samma sak.",
        "- **Vårdboende:** den fasta ersättningen som betalats ut hittills, fördelad på klustren efter budgeterade "
        "belagda dygn (referenskostnad per dygn).",
        "- **SON öppna verksamheter:** planerade timmar × schablonkostnad per timme för klustrets bemanning.",
    ]
    if omr is not None:
        try:
            F = fixed_compensation(P, omr.id, y)
            text += ["", f"Exempel: {omr.namn} har {y} en fast del på {nar.belopp(F)}. Om hemtjänsten står för 75 % "
                         f"av den budgeterade timersättningen bär hemtjänsten 75 % av den fasta delen, "
                         f"{nar.belopp(F * 0.75)} för helåret."]
        except Exception:  # noqa: BLE001 - no compensation that year: no example
            pass
    text += ["", "**Helårsprognosen.** Varje rapport anger en prognos. Metoden väljs per uppdrag i "
             "params/registry.yaml med en motivering; den andra metoden ger prognosens intervall. Controllern kan "
             "ange en egen prognos med motivering i sin kommentar, och rapporten visar då både controllerns och "
             "modellens prognos."]
    rows = [{"vu": v.namn, "metod": nar.METHOD_NAMES[P.prognosval(v.id).metod], "motivering": P.prognosval(v.id).motivering}
            for v in P.registry.alla]
    table = make_table(pd.DataFrame(rows), {}, {"vu": "Verksamhetsuppdrag", "metod": "Prognosmetod",
                                                 "motivering": "Motivering"},
                       caption="Vald prognosmetod per verksamhetsuppdrag", name="Prognosmetod")
    return Section(Markdown("\n".join(text)), table)


def modell_overforing(ctx: Context, exempel_vu: str | None = None) -> Section:
    """The monthly transfer: twelfths of F by cumulative rounding, and a revision spread over the remaining months."""
    from vu_lib.model.compensation import monthly_fixed

    P, y = ctx.params, ctx.year
    m = P.modellar(y)
    rev_vu = [c.vu for r in m.revisioner for c in r.forandringar]
    vu_id = exempel_vu or (rev_vu[0] if rev_vu else P.registry.verksamhetsuppdrag[0].id)
    parts = monthly_fixed(P, vu_id, y)
    text = ("Överföringar av ersättningen från SoF till Leanlink görs månatligen: månadens överföring är en tolftedel "
            "av den fasta ersättningen plus den rörliga ersättningen för månadens volym plus eventuella förändringar av "
            "medel som betalas ut den månaden. " + ROUNDING_TEXT[m.overforing.avrundning] + " En förändring under "
            "året (en revision) betalas ut jämnt över årets återstående månader. I avstämningen mot SoF:s bokföring "
            f"räknas en skillnad på högst {fmt.kr(m.overforing.tolerans, 2)} i en månad som avrundning, inte som "
            "avvikelse (parametrarna avrundning och tolerans i modellåret).")
    df = pd.DataFrame({"manad": [month_label(f"{y}-{k:02d}") for k in range(1, 13)], "fast": parts})
    df = sum_row(df, "manad", f"Summa {y}", ["fast"])
    table = make_table(df, {"fast": "kr"}, {"manad": "Månad", "fast": "Fast del"},
                       caption=f"Fast del per månad {y}, {P.vu(vu_id).namn}", name="Månadsöverföring", total_row=True)
    return Section(Markdown(text), table)


def modell_schablon(ctx: Context) -> Section:
    """Schablonkostnad per årsarbetare: the formula, one level worked through, every level, and the ÄN and SON rules."""
    from vu_lib.model.schablon import LEVEL_LABELS, allocation_an, schablon_cost, schablon_table, son_cost_per_hour

    P, y = ctx.params, ctx.year
    s = P.modellar(y).schablon
    t = schablon_table(P, y)
    text = ("Beträffande öppna vårdformer inom ÄN styr antalet årsarbetare fördelningen. Värderingen av en "
            "årsarbetare görs med hjälp av en faktor mellan olika utbildningsnivåer för att bestämma en "
            "schablonkostnad per årsarbetare; övriga kostnader samt overheadkostnad ingår i schablonen. Inom SON "
            "styr antalet årsarbetare omräknat i timmar fördelningen i relation till volymnyckeltalen, med "
            "schablonkostnad per kluster och verksamhetsuppdrag. Schablon per årsarbetare = "
            "(baskostnad × faktor × (1 + PO-pålägg) + övriga kostnader) × (1 + overhead), i hela kronor.")
    lvl = "underskoterska" if "underskoterska" in s.faktorer else next(iter(s.faktorer))
    S = schablon_cost(P, y, lvl)
    ex = (f"**Räkneexempel, {LEVEL_LABELS.get(lvl, lvl).lower()} {y}:** ({fmt.num(s.baskostnad)} × "
          f"{fmt.num(s.faktorer[lvl], 2)} × (1 + {fmt.num(s.po_palagg, 4)}) + {fmt.num(s.ovriga_kostnader)}) × "
          f"(1 + {fmt.num(s.overhead, 2)}) = **{fmt.kr(S)}** per årsarbetare, eller "
          f"{fmt.kr(Decimal(S) / s.timmar_per_arsarbetare, 2)} per timme med {fmt.num(s.timmar_per_arsarbetare)} "
          "timmar per årsarbetare.")
    mix = {lvl: 10.0}
    if "sjukskoterska" in s.faktorer:
        mix["sjukskoterska"] = 2.0
    mix_txt = nar.lista([f"{fmt.num(n, 0)} {LEVEL_LABELS.get(k, k).lower()}" for k, n in mix.items()])
    ex2 = (f"Med ÄN-regeln ger en bemanning om {mix_txt} tilldelningen {fmt.kr(allocation_an(P, y, mix))}. "
           f"Med SON-regeln blir kostnaden per timme för samma bemanning {fmt.kr(son_cost_per_hour(P, y, mix), 2)}, "
           "som multipliceras med klustrets planerade timmar.")
    table = make_table(t, {"faktor": "num(2)", "lon": "kr", "po": "kr", "ovriga_kostnader": "kr", "overhead": "kr",
                           "schablon": "kr", "timkostnad": "kr(2)"},
                       {"namn": "Utbildningsnivå", "faktor": "Faktor", "lon": "Lön", "po": "PO-pålägg",
                        "ovriga_kostnader": "Övriga kostnader", "overhead": "Overhead", "schablon": "Schablon per årsarbetare",
                        "timkostnad": "Per timme"},
                       caption=f"Schablonkostnad per årsarbetare {y}", name="Schablon",
                       note="Delarna är oavrundade och kan skilja sig från schablonen med avrundningen.")
    return Section(Markdown(text), Markdown(ex), table, Markdown(ex2))


def modell_nyckeltal(ctx: Context) -> Section:
    """The key-figure catalogue: definition, interval, recipient, responsible, first year."""
    from vu_lib.model.periods import INTERVAL_LABELS

    P = ctx.params
    rows = [{"vu": ", ".join(n.vu), "namn": n.namn, "definition": n.definition, "enhet": n.enhet,
             "intervall": INTERVAL_LABELS[n.intervall], "mottagare": n.mottagare, "ansvarig": n.ansvarig,
             "paverkan": n.ekonomisk_paverkan or "", "fran": str(n.forsta_ar)} for n in P.katalog.nyckeltal]
    text = ("Verksamhetsuppdragen behöver följas upp med bestämd regelbundenhet genom granskning av beslutade "
            "nyckeltal. Syftet med nyckeltalen på de olika nivåerna är att lättare kunna följa upp vad respektive "
            "verksamhetsuppdrag kostar. Månadsvisa nyckeltal redovisas varje månad, delårsnyckeltal vid delåren "
            f"({nar.lista([fmt.month_name(k) for k in P.modellar(ctx.year).delar_manader])} {ctx.year}) och i "
            "december, årsvisa i december; ett nyckeltal följs upp från sitt första år.")
    table = make_table(pd.DataFrame(rows), {}, {"vu": "Verksamhetsuppdrag", "namn": "Nyckeltal", "definition": "Definition",
                                                "enhet": "Enhet", "intervall": "Intervall", "mottagare": "Mottagare",
                                                "ansvarig": "Ansvarig", "paverkan": "Ekonomisk påverkan", "fran": "Från"},
                       caption="Nyckeltalskatalogen", name="Nyckeltal")
    return Section(Markdown(text), table)


def modell_versioner(ctx: Context) -> Section:
    """The model version history: every year and its revisions."""
    P = ctx.params
    rows = []
    for y, m in sorted(P.ar.items()):
        rows.append({"ar": str(y), "version": m.modellversion, "giltig": month_label(f"{y}-01"),
                     "faststalld": m.faststalld.isoformat(), "andring": "Revision i samband med budgetprocessen"
                     if y > P.forsta_ar else "Första versionen"})
        for r in m.revisioner:
            rows.append({"ar": str(y), "version": r.modellversion, "giltig": month_label(r.giltig_fran),
                         "faststalld": "", "andring": r.beskrivning})
    text = ("Dokumentet revideras inför varje år i samband med budgetprocessen, det vill säga hur medel ska fördelas "
            "utifrån modellen, och får då ett nytt versionsnummer. Vid behov kan mindre justeringar göras under året "
            "och då ändras versionsnumret på decimalnivå. Dokumentägare är respektive ekonomichef på respektive "
            "förvaltning. Varje rapport anger vilken modellversion den är beräknad med.")
    table = make_table(pd.DataFrame(rows), {}, {"ar": "År", "version": "Version", "giltig": "Gäller från",
                                                "faststalld": "Fastställd", "andring": "Ändring"},
                       caption="Modellens versionshistorik", name="Versioner")
    return Section(Markdown(text), table)


def modell_budgetprocess(ctx: Context, year: int | None = None) -> Section:
    """The budget-process calendar of a model year (default: the context's year)."""
    from vu_lib.model.budget import budget_calendar

    y = year or ctx.year
    cal = budget_calendar(ctx.params, y)
    cal = cal.assign(fran_txt=[fmt.date_label(d) for d in cal["fran"]],
                     till_txt=[fmt.date_label(d) if d != f else "" for d, f in zip(cal["till"], cal["fran"])])
    text = ("Den övergripande budgetprocessen styrs av Kommunstyrelsens tidsplan för budgeten för nästkommande år. "
            "I februari tas gemensamma planeringsförutsättningar fram och SoF och Leanlink stämmer av underlagen. I "
            "början av maj kommer kommundirektörens förslag till budget. Från mitten av maj och under juni går SoF "
            "och Leanlink igenom de ekonomiska ramarna och tänkta volymer; i den processen fastställs den årliga "
            "ersättningen. Tidsplanen kan skilja sig mellan åren och sätts när Kommunstyrelsen har beslutat datumen.")
    table = make_table(cal, {}, {"steg": "Steg", "fran_txt": "Från", "till_txt": "Till", "beskrivning": "Beskrivning"},
                       caption=f"Budgetprocessen inför {y}", name="Budgetprocess")
    return Section(Markdown(text), table)


