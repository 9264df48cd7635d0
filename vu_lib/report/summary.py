"""Page 1 of a follow-up report: the summary (sammanfattning), the controller's commentary, the colophon.

A board member reads page 1 and stops, so it holds what a nämnd acts on:

* the result to date against the revenue received (kr and % of revenue);
* the full-year prognosis as one figure, by the method chosen for the VU in
  ``params/registry.yaml`` (:func:`vu_lib.model.forecast.prognosis`), with
  the other method as its range, and the controller's own figure when the
  commentary gives one;
* the two or three largest causes of the result (:func:`causes`);
* the flags (:func:`flags`): återrapportering past its deadline, real
  differences in the reconciliation of the transfers, a VU whose fixed
  compensation lies far below its schablon;
* the controller's analysis and actions (:mod:`vu_lib.report.commentary`),
  and a mark when a deficit or a flag has no action.

The colophon ("Om rapporten", :func:`om_rapporten`) takes what page 1 used to
hold: how the model works in general, the data and code fingerprints.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vu_lib.core.exceptions import VuError
from vu_lib.report import escape as _escape
from vu_lib.report import fmt
from vu_lib.report import narrative as nar
from vu_lib.report.commentary import Commentary, CommentaryError, escape_text, load_commentary
from vu_lib.report.context import Context, Markdown, Section, trace_md

@dataclass
class Cause:
    """One cause of a result: ``belopp`` is its effect on the result (kr, negative worsens it)."""

    text: str
    belopp: float
    kind: str  # 'kluster' | 'enhet' | 'intakt' | 'vu'
    namn: str


def _mn(x) -> str:
    """Signed amount for the summary: ``'−4,9 mnkr'``, ``'+540 tkr'``."""
    return nar.belopp(x, sign=True)


def _word(x) -> str:
    """``'underskott'``, ``'överskott'`` or ``'i balans'``."""
    if round(float(x)) == 0:
        return "i balans"
    return "överskott" if float(x) > 0 else "underskott"


# --------------------------------------------------------------------------- figures
def vu_causes(ctx: Context, vu_id: str) -> list[Cause]:
    """Candidate causes of a VU's result to date, each with its effect on the result.

    * price annex (Områdesansvar): per cluster ``−pris- och effektivitetseffekt``,
      the cost beyond what the price annex pays for the hours performed and the
      fixed part (the volume effect is paid by the hourly compensation);
    * Vårdboende: per cluster ``−avvikelse``, cost against the fixed compensation
      allocated by budgeted belagda dygn;
    * other VU: per nivå 3 unit its result;
    * for the first two, other revenue and changes of funds when not zero.
    """
    from vu_lib.model.results import period_results
    from vu_lib.model.variance import variance, variance_vus

    P = ctx.params
    method = variance_vus(P).get(vu_id)
    out: list[Cause] = []
    if method in ("prisbilaga", "dygn"):
        v = ctx.memo(f"variance_{vu_id}", lambda: variance(P, ctx.data, ctx.year, ctx.month, vu=vu_id))
        for r in v[v["kluster"] != ""].itertuples(index=False):
            if method == "prisbilaga":
                eff = -float(r.pris_effektivitetseffekt)
                what = "kostnad över prisbilagans ersättning" if eff < 0 else "kostnad under prisbilagans ersättning"
            else:
                eff = -float(r.avvikelse)
                what = "kostnad över budget" if eff < 0 else "kostnad under budget"
            if np.isfinite(eff):
                out.append(Cause(f"{r.kluster_namn}: {what}", eff, "kluster", r.kluster_namn))
        res = _vu_result(ctx, vu_id)
        if round(float(res["ovrig_intakt_ack"])):
            out.append(Cause("Övriga intäkter (t.ex. avgifter)", float(res["ovrig_intakt_ack"]), "intakt", "Övriga intäkter"))
        if round(float(res["medel_ack"])):
            out.append(Cause("Förändring av medel", float(res["medel_ack"]), "intakt", "Förändring av medel"))
    else:
        u = ctx.memo("units", lambda: period_results(P, ctx.data, ctx.year, ctx.month, "enhet"))
        for r in u[u["vu"] == vu_id].itertuples(index=False):
            out.append(Cause(f"{r.enhet_namn} ({nar._gemen(r.kluster_namn)}): resultat på enheten", float(r.resultat_ack),
                             "enhet", r.enhet_namn))
    return out


CAUSE_NOTES = {
    "prisbilaga": ("Prisbilagans ersättning: utförda timmar × timpris plus den fasta delen, fördelad på klustren "
                   "efter budgeterad timersättning (pris- och effektivitetseffekten i avvikelseanalysen)."),
    "dygn": "Budget: den fasta ersättningen fördelad på klustren efter budgeterade belagda dygn (avvikelseanalysen).",
}


def cause_note(ctx: Context, vu_id: str) -> str:
    """One line that says what the causes of a VU are measured against."""
    from vu_lib.model.variance import variance_vus

    return CAUSE_NOTES.get(variance_vus(ctx.params).get(vu_id), "Resultat per enhet (nivå 3), se bilagan.")


def largest(causes: list[Cause], result: float, n: int = 3) -> list[Cause]:
    """The ``n`` largest causes pulling the result the way it went (by size); all by size when it is ~0."""
    if abs(result) >= 1:
        same = [c for c in causes if np.sign(c.belopp) == np.sign(result) and abs(c.belopp) >= 1]
        if same:
            return sorted(same, key=lambda c: -abs(c.belopp))[:n]
    return sorted(causes, key=lambda c: -abs(c.belopp))[:n]


def offsetting(causes: list[Cause], result: float, shown: list[Cause]) -> Cause | None:
    """The largest effect pulling against the result, when the causes shown add up to much more than the
    result (by more than a fifth): without it the list would overstate the result."""
    if abs(result) < 1 or not shown:
        return None
    against = [c for c in causes if np.sign(c.belopp) == -np.sign(result) and abs(c.belopp) >= 1]
    if not against or abs(sum(c.belopp for c in shown)) <= 1.2 * abs(result):
        return None
    return max(against, key=lambda c: abs(c.belopp))


def _cause_lines(causes: list[Cause], shown: list[Cause], result: float) -> list[str]:
    lines = ["**Största orsaker till resultatet**", ""]
    lines += [f"{i}. {c.text}: {_mn(c.belopp)}" for i, c in enumerate(shown, start=1)]
    opp = offsetting(causes, result, shown)
    if opp is not None:
        lines += ["", f"Motverkas av: {opp.text}: {_mn(opp.belopp)}."]
    return lines + [""]


def _vu_result(ctx: Context, vu_id: str) -> pd.Series:
    from vu_lib.model.results import period_results

    r = ctx.memo("results_at", lambda: period_results(ctx.params, ctx.data, ctx.year, ctx.month, "vu"))
    return r[r["vu"] == vu_id].iloc[0]


def flags(ctx: Context, vu_ids: list[str]) -> list[str]:
    """The flags a nämnd must see, in Swedish, for the VU ``vu_ids`` at the context's period."""
    from vu_lib.model.budget import budget_schablon
    from vu_lib.model.results import medel_report
    from vu_lib.model.transfers import reconcile_transfers

    P, y, m = ctx.params, ctx.year, ctx.month
    out: list[str] = []
    rep = ctx.memo("medel_report", lambda: medel_report(P, ctx.data, y, m))
    late = rep[rep["vu"].isin(vu_ids) & rep["aterrapportering_passerad"].astype(bool)]
    for vu, g in late.groupby("vu", sort=False):
        ids = nar.lista([_escape.markdown(i) for i in g["id"].tolist()])  # ids are export data
        dates = nar.lista(sorted(set(g["aterrapportering_senast"].astype(str))))
        out.append(f"{g['vu_namn'].iloc[0]}: sista dag för återrapportering ({dates}) har passerat för "
                   f"{ids}, sammanlagt {nar.belopp(g['belopp_ack'].sum())}.")
    rec = ctx.memo(f"recon_{','.join(vu_ids)}", lambda: reconcile_transfers(P, ctx.data, y, m, vu_ids=vu_ids))
    real = rec[rec["avviker"]]
    for vu, g in real.groupby("vu", sort=False):
        months = ", ".join(f"{fmt.period_label(p)} ({fmt.kr(s, 0, sign=True)})" for p, s in zip(g["period"], g["skillnad"]))
        net = float(g["skillnad"].sum())
        tail = " De tar ut varandra över perioden (periodisering)." if round(net, 2) == 0 and len(g) > 1 else ""
        out.append(f"SoF:s bokförda överföring till {P.vu(vu).namn} avviker från modellens: {months}.{tail}")
    try:
        sch = ctx.memo("budget_schablon", lambda: budget_schablon(P, ctx.data, y, ctx.period_str))
    except VuError:  # no model year for the schablon: no flag
        sch = pd.DataFrame(columns=["vu", "niva", "tilldelning", "skillnad"])
    for r in sch[(sch["niva"] == "vu") & sch["vu"].isin(vu_ids)].itertuples(index=False):
        share = P.registry.flaggor.schablon_under_andel
        if r.tilldelning and pd.notna(r.skillnad) and r.skillnad <= -share * r.tilldelning:
            out.append(f"{P.vu(r.vu).namn}: den fasta ersättningen {y} ligger {nar.belopp(-r.skillnad)} "
                       f"({fmt.pct(-r.skillnad / r.tilldelning, 0)}) under schablonkostnaden för bemanningen.")
    return out


# --------------------------------------------------------------------------- commentary
def _commentary(ctx: Context, report: str) -> tuple[Commentary | None, str | None]:
    try:
        return load_commentary(report, ctx.period_str, ctx.kommentarer or None), None
    except CommentaryError as e:
        return None, str(e)


def _prognosis_lines(p: dict, year: int, commentary: Commentary | None, label_range: bool = True) -> list[str]:
    lines = []
    model = (f"**Helårsprognos {year}: {_mn(p['prognos'])}** ({_word(p['prognos'])}), "
             f"intervall {fmt.mnkr(p['lag'], 1, sign=True)} till {fmt.mnkr(p['hog'], 1, sign=True)}.")
    if commentary is not None and commentary.prognos is not None:
        own = float(commentary.prognos)
        lines.append(f"**Helårsprognos {year} enligt controllern: {_mn(own)}** "
                     f"({_word(own)}). Motivering: {escape_text(commentary.prognos_motivering)}")
        lines.append(f"Modellens prognos: {_mn(p['prognos'])}, intervall {fmt.mnkr(p['lag'], 1, sign=True)} till "
                     f"{fmt.mnkr(p['hog'], 1, sign=True)}.")
    else:
        lines.append(model)
    return lines


def commentary_block(c: Commentary | None, error: str | None, needs_action: bool) -> str:
    """The controller's analysis and actions as Markdown (user text escaped), or the marks when missing."""
    parts = []
    if error:
        parts.append(f"**Kommentarfilen kunde inte läsas:** {escape_text(error)}")
    if c is not None and c.analys:
        parts.append("**Controllerns analys.** " + escape_text(c.analys))
    if c is not None and c.atgarder:
        parts.append("**Åtgärder**\n\n" + "\n".join(
            f"- {escape_text(a.vad)} (ansvarig: {escape_text(a.vem)}, senast {a.senast.isoformat()})" for a in c.atgarder))
    elif needs_action:
        parts.append("**Åtgärder saknas.** Resultatet visar underskott eller något att uppmärksamma, men inga "
                     "åtgärder är beslutade i controllerns kommentar.")
    return "\n\n".join(parts)


def needs_action_marker(needs: bool) -> "_Marker":
    """An invisible marker the batch reads from the executed notebook (:func:`vu_lib.publish.outputs`)."""
    return _Marker({"saknar_atgarder": bool(needs)})


class _Marker:
    MIME = "application/vnd.vu.summary+json"

    def __init__(self, data: dict):
        self.data = data

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {self.MIME: self.data, "text/plain": ""}


# --------------------------------------------------------------------------- VU summary
def vu_summary_figures(ctx: Context) -> dict:
    """Everything page 1 of a VU report states, as numbers (tests read it back from the PDF and HTML)."""
    from vu_lib.model.forecast import prognosis

    vu = ctx.vu
    prog = ctx.memo("prognosis", lambda: prognosis(ctx.params, ctx.data, ctx.year, ctx.month))
    p = prog[prog["vu"] == vu.id].iloc[0].to_dict()
    res = _vu_result(ctx, vu.id)
    intakter = float(res["intakter_ack"])
    result = float(res["resultat_ack"])
    every = vu_causes(ctx, vu.id)
    cs = largest(every, result)
    return {"resultat_ack": result, "intakter_ack": intakter, "ersattning_ack": float(res["ersattning_ack"]),
            "andel": result / intakter if intakter else np.nan, "prognos": p, "orsaker": cs, "alla_orsaker": every,
            "flaggor": flags(ctx, [vu.id])}


def sammanfattning(ctx: Context) -> Section:
    """Page 1 of a VU report: result, the one prognosis with its range, the largest causes, flags, commentary."""
    vu = ctx.vu
    f = vu_summary_figures(ctx)
    c, err = _commentary(ctx, vu.id)
    p = f["prognos"]
    lines = ["## Sammanfattning", ""]
    lines.append(f"**Resultat {ctx.ytd_text}: {_mn(f['resultat_ack'])}** "
                 f"({_word(f['resultat_ack'])}), "
                 f"{fmt.pct(f['andel'], 1, sign=True)} av intäkterna {nar.belopp(f['intakter_ack'])} "
                 f"(varav ersättning {nar.belopp(f['ersattning_ack'])}).")
    lines.append("")
    lines += [x + "\n" for x in _prognosis_lines(p, ctx.year, c)]
    reason = "fjolårsprofilen kan inte användas" if p["reserv"] else p["motivering"]
    why = f"Prognosen följer {p['metod_namn']}: {reason}."
    if pd.notna(p["alternativ"]):
        why += f" Med {nar.METHOD_NAMES[p['alternativ_metod']]} blir den {_mn(p['alternativ'])}."
    lines.append(why)
    lines.append("")
    if f["orsaker"]:
        lines += _cause_lines(f["alla_orsaker"], f["orsaker"], f["resultat_ack"])
        lines.append(cause_note(ctx, vu.id))
        lines.append("")
    return _flags_and_commentary(lines, f, c, err)


def _flags_and_commentary(lines: list[str], f: dict, c, err) -> Section:
    """The end of page 1 (a VU's or an overview's): what needs attention, then the controller's
    commentary; the report is marked as needing actions when the result or the prognosis is a
    deficit, or something needs attention, and the commentary has no actions."""
    if f["flaggor"]:
        lines.append("**Att uppmärksamma**")
        lines.append("")
        lines += [f"- {x}" for x in f["flaggor"]]
        lines.append("")
    needs = (f["resultat_ack"] < -0.5 or f["prognos"]["prognos"] < -0.5 or bool(f["flaggor"])) \
        and not (c and c.has_actions)
    block = commentary_block(c, err, needs)
    if block:
        lines.append(block)
    return Section(Markdown("\n".join(lines)), needs_action_marker(needs))


# --------------------------------------------------------------------------- overview summary
def oversikt_summary_figures(ctx: Context) -> dict:
    """Page 1 of an overview, as numbers: the nine's (or the nämnd's) result, prognosis, causes, flags."""
    from vu_lib.model.forecast import prognosis, prognosis_total

    P = ctx.params
    ids = [v for v in ctx.scope_vu_ids if v in P.vu_ids()]
    prog = ctx.memo("prognosis", lambda: prognosis(P, ctx.data, ctx.year, ctx.month))
    mine = prog[prog["vu"].isin(ids)]
    tot = prognosis_total(mine)
    result = tot["resultat_ack"]
    causes = [Cause(f"{r.namn}: resultat hittills", float(r.resultat_ack), "vu", r.namn) for r in mine.itertuples(index=False)]
    return {"resultat_ack": result, "intakter_ack": tot["intakter_ack"], "ersattning_ack": tot["ersattning_ack"],
            "andel": result / tot["intakter_ack"] if tot["intakter_ack"] else np.nan, "prognos": tot,
            "per_vu": mine, "orsaker": largest(causes, result), "alla_orsaker": causes,
            "flaggor": flags(ctx, ctx.scope_vu_ids)}


def oversikt_sammanfattning(ctx: Context) -> Section:
    """Page 1 of an overview: the net result, the one prognosis (Σ of each VU's), largest contributors, flags."""
    f = oversikt_summary_figures(ctx)
    c, err = _commentary(ctx, ctx.scope)
    p = f["prognos"]
    what = "de nio verksamhetsuppdragen" if ctx.scope not in ctx.params.registry.namnder else \
        f"{ctx.scope_text}s verksamhetsuppdrag"
    lines = ["## Sammanfattning", ""]
    lines.append(f"**Resultat {ctx.ytd_text}, netto för {what}: {_mn(f['resultat_ack'])}** "
                 f"({_word(f['resultat_ack'])}), "
                 f"{fmt.pct(f['andel'], 1, sign=True)} av intäkterna {nar.belopp(f['intakter_ack'])}.")
    lines.append("")
    lines += [x + "\n" for x in _prognosis_lines(p, ctx.year, c)]
    methods = f["per_vu"]["metod_namn"].value_counts()
    lines.append("Prognosen är summan av varje uppdrags prognos enligt den metod som valts för uppdraget ("
                 + nar.lista([f"{m} för {n} uppdrag" if n > 1 else f"{m} för ett uppdrag" for m, n in methods.items()])
                 + "); intervallet är summan av varje uppdrags lägsta och högsta prognos enligt de två metoderna.")
    lines.append("")
    if f["orsaker"]:
        lines += _cause_lines(f["alla_orsaker"], f["orsaker"], f["resultat_ack"])
    return _flags_and_commentary(lines, f, c, err)


# --------------------------------------------------------------------------- colophon
GENERAL_MODEL_TEXT = (
    "Ersättningen för de olika verksamhetsuppdragen kan vara fastställd för året eller rörlig. Den fastställda "
    "ersättningen baseras på föregående års ersättning och eventuella förändringar i uppdraget (volym, ambition, "
    "uppdrag och effektiviseringskrav) och räknas årligen upp med Linköpings kommuns vägda prisindex, som "
    "Kommunstyrelsen fastställer. Den rörliga ersättningen regleras utifrån verklig volym och ett fastställt pris "
    "som räknas upp årligen med samma index. Hela modellen med räkneexempel finns i rapporten om ersättningsmodellen."
)


def om_rapporten(ctx: Context) -> Markdown:
    """The colophon: what the report covers, the general model text, data, parameters and code versions."""
    if ctx.vu_id:
        vu = ctx.vu
        subject = (f"{vu.beskrivning}. Uppdraget ({vu.id}) ges av Social- och omsorgsförvaltningen (SoF) till "
                   f"Leanlink på nivå 2 i modellen för verksamhetsuppdrag ({vu.niva1.lower()} på nivå 1).")
    else:
        subject = (f"Översikt för {ctx.scope_text}: Leanlinks verksamhetsuppdrag, med ensamkommande barn (EKB) "
                   "redovisat separat eftersom dess omfattning och ersättning regleras separat årsvis.")
    lines = ["## Om rapporten", "", subject, "", GENERAL_MODEL_TEXT, "",
             f"Period: {ctx.period.label}, utfall {ctx.ytd_text}. Modellversion {ctx.modellversion}. "
             f"Data: {ctx.data.fingerprint} ({_escape.markdown(ctx.data.source)}).", "", trace_md(ctx).text]
    return Markdown("\n".join(lines))


# --------------------------------------------------------------------------- commentary template
def commentary_template(ctx: Context) -> str:
    """A commentary file for the controller, pre-filled (as comments) with the figures to explain.

    The comment block lists the result, the prognosis and its range, the largest causes and the
    flags of the report; the sections ``Analys`` and ``Åtgärder`` are left for the controller, and
    ``Prognos`` is described for an own figure. The template as written is a valid, empty commentary.
    """
    if ctx.vu_id:
        f = vu_summary_figures(ctx)
        subject = f"{ctx.vu.namn} ({ctx.vu_id})"
        p = f["prognos"]
        method = f"{p['metod_namn']}; {nar.METHOD_NAMES[p['alternativ_metod']]} ger {_mn(p['alternativ'])}" \
            if pd.notna(p["alternativ"]) else p["metod_namn"]
    else:
        f = oversikt_summary_figures(ctx)
        subject = ctx.scope_text
        p = f["prognos"]
        method = "summan av uppdragens prognoser"
    lines = [f"# Kommentar: {subject}, {ctx.period.label}", "", "<!--",
             f"Siffror att förklara ({ctx.ytd_text}, beräknade av modellen):",
             f"- Resultat hittills: {_mn(f['resultat_ack'])} ({fmt.pct(f['andel'], 1, sign=True)} av intäkterna)",
             f"- Helårsprognos {ctx.year}: {_mn(p['prognos'])} ({method}), intervall "
             f"{fmt.mnkr(p['lag'], 1, sign=True)} till {fmt.mnkr(p['hog'], 1, sign=True)}"]
    if f["orsaker"]:
        lines.append("- Största orsaker:")
        lines += [f"    {i}. {c.text}: {_mn(c.belopp)}" for i, c in enumerate(f["orsaker"], start=1)]
    if f["flaggor"]:
        lines.append("- Att uppmärksamma:")
        lines += [f"    - {x}" for x in f["flaggor"]]
    lines += [
        "",
        "Skriv controllerns analys under '## Analys': varför resultatet avviker och vad som driver prognosen.",
        "Skriv varje beslutad åtgärd under '## Åtgärder' som tre rader:",
        "    - Vad: vad som ska göras",
        "      Vem: vem som ansvarar",
        "      Senast: ÅÅÅÅ-MM-DD",
        "Vill du ange en egen helårsprognos, lägg till avsnittet '## Prognos' med raderna",
        "'Belopp: -6,5 mnkr' och 'Motivering: varför'. Rapporten visar då både din och modellens prognos.",
        "Texten visas som den är skriven (ingen HTML eller formatering tolkas).",
        "-->", "", "## Analys", "", "", "## Åtgärder", "", ""]
    return "\n".join(lines)
