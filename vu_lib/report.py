"""Section builders for the report notebooks: small functions returning displayable objects.

The notebooks (``notebooks/*.ipynb``) are thin: every code cell calls one
function here with a :class:`Context` and displays what it returns, a
:class:`Markdown` block of narrative (from :mod:`vu_lib.narrative`), a
:class:`~vu_lib.tables.Table` or a :class:`~vu_lib.charts.Chart`, or a
:class:`Section` holding several of them in order. Nothing is calculated
here beyond selecting and labelling: the figures come from the model
modules (:mod:`~vu_lib.compensation`, :mod:`~vu_lib.transfers`,
:mod:`~vu_lib.results`, :mod:`~vu_lib.forecast`, :mod:`~vu_lib.variance`,
:mod:`~vu_lib.nyckeltal`, :mod:`~vu_lib.schablon`, :mod:`~vu_lib.budget`).

Contexts (one per notebook; load the data once)::

    ctx = report.vu_context(vu="AN-VB", period="", store="")     # vu_rapport
    ctx = report.overview_context(scope="Leanlink", period="", store="")  # oversikt
    ctx = report.model_context(year=2026, store="")               # modell
    ctx = report.budget_context(year=2027, store="")              # budget

``period = ''`` means the latest delår in the data
(:func:`vu_lib.periods.latest_delar`); ``store = ''`` the default store, and
with no store the embedded sample (:func:`vu_lib.data.load_dataset`).

Every builder returns an object with ``_repr_mimebundle_`` (or a
:class:`Section` that displays its parts one by one), so a cell ends with the
call and shows the result; hidden code cells lose nothing a reader needs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from . import fmt
from . import narrative as nar
from .params import Params, load_params

# --------------------------------------------------------------------------- display objects
MARKDOWN_MIME = "text/markdown"


class Markdown:
    """A block of Swedish narrative in Markdown.

    Displays as ``text/markdown`` (rendered by JupyterLab, pandoc and the HTML
    template) with a ``text/plain`` fallback of the same text, so the figures
    woven into it can be read back from every rendering.
    """

    def __init__(self, text: str):
        self.text = text.strip() + "\n"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {MARKDOWN_MIME: self.text, "text/plain": self.text}

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    def __contains__(self, s: str) -> bool:
        return s in self.text


class Section:
    """Several displayable parts shown in order (Markdown, Table, Chart).

    In a notebook, the last expression of a cell being a Section displays each
    part as its own output (so each table keeps its own mime bundle and the
    batch finds every table).
    """

    def __init__(self, *parts: Any):
        self.parts = [p for p in parts if p is not None]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for p in self.parts:
            display(p)

    def __iter__(self):
        return iter(self.parts)

    def __len__(self) -> int:
        return len(self.parts)

    def __repr__(self) -> str:
        return "\n\n".join(repr(p) for p in self.parts)

    @property
    def text(self) -> str:
        """The Markdown of all parts (tables as their Markdown), for tests."""
        out = []
        for p in self.parts:
            if isinstance(p, Markdown):
                out.append(p.text)
            elif hasattr(p, "to_markdown"):
                out.append(p.to_markdown())
            elif hasattr(p, "beskrivning"):
                out.append(p.beskrivning)
        return "\n".join(out)


# --------------------------------------------------------------------------- data loading
def load_data(store: str | Path | None = ""):
    """The Dataset of ``store`` ('' or None: the default store; a missing or empty store: the sample).

    :func:`vu_lib.data.load_dataset`, which caches per process, so a notebook loads once.
    """
    from .data import load_dataset

    return load_dataset(None if store in ("", None) else store)


# --------------------------------------------------------------------------- contexts
@dataclass
class Context:
    """What a report notebook needs: params, data (loaded once) and the report's subject.

    Attributes
    ----------
    params : Params
    data : Dataset or None
        None for the modell notebook when it needs no data.
    year : int
        The report year (the period's year; the model or budget year).
    period : Period or None
        The report period (vu_rapport, oversikt).
    vu_id : str or None
        The VU of a vu_rapport.
    scope : str or None
        'AN', 'SON' or 'Leanlink' for an oversikt.
    """

    params: Params
    data: Any
    year: int
    period: Any = None
    vu_id: str | None = None
    scope: str | None = None
    store: str = ""
    _memo: dict = field(default_factory=dict, repr=False)

    # ---- subject
    @property
    def vu(self):
        return self.params.vu(self.vu_id)

    @property
    def month(self) -> int:
        return self.period.manad if self.period is not None else 12

    @property
    def period_str(self) -> str:
        return self.period.month if self.period is not None else str(self.year)

    @property
    def ytd_text(self) -> str:
        """``'januari–augusti 2026'``."""
        return fmt.period_range_label(f"{self.year}-01", self.period_str)

    @property
    def namnd_namn(self) -> str:
        if self.vu_id:
            return self.params.registry.namnder[self.vu.namnd]
        if self.scope in self.params.registry.namnder:
            return self.params.registry.namnder[self.scope]
        return "Äldrenämnden och Social- och omsorgsnämnden"

    def memo(self, key: str, fn):
        if key not in self._memo:
            self._memo[key] = fn()
        return self._memo[key]

    # ---- scope of an overview
    @property
    def scope_vu_ids(self) -> list[str]:
        """The VU of the overview (the nämnd's, or all nine), then EKB where it belongs."""
        reg = self.params.registry
        if self.scope in reg.namnder:
            nine = [v.id for v in reg.verksamhetsuppdrag if v.namnd == self.scope]
            sep = [v.id for v in reg.separata if v.namnd == self.scope]
        else:
            nine = [v.id for v in reg.verksamhetsuppdrag]
            sep = [v.id for v in reg.separata]
        return nine + sep

    @property
    def scope_text(self) -> str:
        if self.scope in self.params.registry.namnder:
            return self.params.registry.namnder[self.scope]
        return "Leanlink (alla verksamhetsuppdrag)"

    # ---- trace
    @property
    def modellversion(self) -> str:
        from .compensation import model_version

        return model_version(self.params, self.year, self.month)


def _resolve_period(params: Params, data, period: str):
    from .periods import latest_delar, period as make_period

    if period in ("", None):
        return latest_delar(params, data.senaste_period)
    return make_period(params, str(period))


def vu_context(vu: str = "AN-VB", period: str = "", store: str = "") -> Context:
    """The context of ``vu_rapport``: one VU at one period (''= latest delår in the data)."""
    params = load_params()
    params.vu(vu)
    data = load_data(store)
    p = _resolve_period(params, data, period)
    return Context(params=params, data=data, year=p.ar, period=p, vu_id=vu, store=store)


def overview_context(scope: str = "Leanlink", period: str = "", store: str = "") -> Context:
    """The context of ``oversikt``: ÄN, SON or Leanlink as a whole at one period."""
    params = load_params()
    if scope not in (*params.registry.namnder, "Leanlink"):
        raise ValueError(f"Okänt omfång '{scope}' (AN, SON eller Leanlink)")
    data = load_data(store)
    p = _resolve_period(params, data, period)
    return Context(params=params, data=data, year=p.ar, period=p, scope=scope, store=store)


def model_context(year: int = 2026, store: str = "") -> Context:
    """The context of ``modell``: the model of one year (params only; data for the transfer example)."""
    params = load_params()
    params.modellar(int(year))
    return Context(params=params, data=None, year=int(year), store=store)


def budget_context(year: int = 2027, store: str = "") -> Context:
    """The context of ``budget``: the proposal for ``year`` (data for the staffing behind the schablon)."""
    params = load_params()
    from .budget import _check_year

    _check_year(params, int(year))
    data = load_data(store)
    return Context(params=params, data=data, year=int(year), store=store)


# --------------------------------------------------------------------------- helpers
def _trace_md(ctx: Context, data: bool = True) -> Markdown:
    from .trace import code_version, params_fingerprint

    ds = ctx.data if data else None
    return Markdown(nar.sparbarhet(
        ctx.modellversion, ctx.period_str,
        getattr(ds, "fingerprint", "") or "–", getattr(ds, "source", "") or "utan data",
        params_fingerprint(ctx.params), code_version(),
    ))


def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|")


def _month_label(p: str) -> str:
    return fmt.period_label(p)


def _unique_labels(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        n = seen.get(lab, 0) + 1
        seen[lab] = n
        out.append(lab if n == 1 else f"{lab} ({n})")
    return out


def _sum_row(df: pd.DataFrame, label_col: str, label: str, cols: Iterable[str]) -> pd.DataFrame:
    """``df`` with a total row (sums of ``cols``, exact to the öre) appended."""
    row = {c: None for c in df.columns}
    row[label_col] = label
    for c in cols:
        row[c] = round(float(sum(Decimal(str(round(float(v), 2))) for v in df[c] if not fmt.is_missing(v))), 2)
    return pd.concat([df, pd.DataFrame([row])], ignore_index=True)


# =========================================================================== vu_rapport
def titel(ctx: Context) -> Markdown:
    """Title block of a VU report: name, nämnd, period, model version, data and code version."""
    vu = ctx.vu
    p = ctx.period
    lines = [
        f"# {vu.namn}",
        "",
        f"**Ekonomisk uppföljning av verksamhetsuppdrag · {ctx.namnd_namn} · {p.label}**",
        "",
        f"{vu.beskrivning}. Uppdraget ({vu.id}) ges av Social- och omsorgsförvaltningen (SoF) till "
        f"Leanlink på nivå 2 i modellen för verksamhetsuppdrag ({vu.niva1.lower()} på nivå 1).",
        "",
        f"- Verksamhetsuppdrag: {vu.id}, {vu.namn}",
        f"- Nämnd: {ctx.namnd_namn}",
        f"- Period: {p.label}, utfall {ctx.ytd_text}",
        f"- Modellversion: {ctx.modellversion}",
        f"- Data: {ctx.data.fingerprint} ({ctx.data.source})",
        "",
    ]
    return Markdown("\n".join(lines) + "\n" + _trace_md(ctx).text)


def ersattning(ctx: Context) -> Markdown:
    """How the VU is compensated, with the year's fixed compensation and the index woven in."""
    from .compensation import fixed_bridge
    from .index import index_for

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
    from . import charts
    from .compensation import fixed_bridge

    vu_id = vu_id or ctx.vu_id
    y = ctx.year
    steps = fixed_bridge(ctx.params, vu_id, y)
    labels = _unique_labels([s.steg for s in steps])
    df = pd.DataFrame({
        "steg": labels,
        "beskrivning": [s.beskrivning or ("från " + _month_label(s.giltig_fran) if s.giltig_fran else "") for s in steps],
        "belopp": [s.belopp for s in steps],
    })
    for i, s in enumerate(steps):
        if s.giltig_fran and s.beskrivning:
            df.loc[i, "beskrivning"] = f"{s.beskrivning} (från {_month_label(s.giltig_fran)})"
    name = ctx.params.vu(vu_id).namn
    table = _table(df, {"belopp": "kr"}, {"steg": "Steg", "beskrivning": "Beskrivning", "belopp": "Belopp"},
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


def _table(df: pd.DataFrame, formats: dict, headers: dict, *, caption: str, name: str, total_row: bool = False,
           note: str | None = None, row_header: bool = True):
    from .tables import Table

    cols = list(headers)
    return Table(df[cols].reset_index(drop=True), formats={k: v for k, v in formats.items() if k in cols},
                 headers=headers, caption=caption, name=name, total_row=total_row, note=note, row_header=row_header)


def rorliga_priser(ctx: Context, vu_id: str | None = None) -> Section:
    """The variable rates of the year (price annex or other variable services), or a sentence when there are none."""
    from .compensation import rate, service_info, services_of
    from .index import index_for

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
        rows.append({"tjanst": info["namn"], "enhet": f"kr per {info['enhet']}", "giltig": _month_label(f"{y}-01"),
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
                             "giltig": _month_label(rev.giltig_fran), "version": rev.modellversion,
                             "pris_fjol": float(r0) if r0 is not None else None, "pris": float(rm),
                             "andel": float((rm - r0) / r0) if r0 else None})
                entry["revision"] = {"pris": float(rm), "giltig_fran": rev.giltig_fran, "version": rev.modellversion}
                prev = rm
        sentence_rows.append(entry)
    df = pd.DataFrame(rows)
    table = _table(df, {"pris_fjol": "kr(2)", "pris": "kr(2)", "andel": "+pct(2)"},
                   {"tjanst": "Tjänst", "enhet": "Enhet", "giltig": "Gäller från", "version": "Modellversion",
                    "pris_fjol": f"Pris {y - 1} (december)", "pris": f"Pris {y}", "andel": "Förändring"},
                   caption=f"Rörliga priser {y}, {vu.namn}", name="Rörliga priser")
    parts = [Markdown(nar.rorliga_priser(y, sentence_rows, prisbilaga=vu.ersattning.prisbilaga)), table]
    first = sentence_rows[0]
    if has_prev and y > P.forsta_ar and "revision" not in first:
        from .index import round_ore

        i = index_for(P, y)
        if round_ore(Decimal(str(first["pris_fjol"])) * (1 + i)) == Decimal(str(first["pris"])).quantize(Decimal("0.01")):
            parts.insert(1, Markdown(nar.rorlig_exempel(first["namn"], y, first["pris_fjol"], i, first["pris"])))
    return Section(*parts)


def overforingar(ctx: Context) -> Section:
    """Monthly transfers SoF → Leanlink and the reconciliation against SoF's bookings."""
    from .transfers import reconcile_transfers, transfer_totals

    P, y, m, vu = ctx.params, ctx.year, ctx.month, ctx.vu
    rec = reconcile_transfers(P, ctx.data, y, m, vu_ids=[vu.id])
    tot = transfer_totals(P, ctx.data, vu.id, y, m)
    diffs = rec[rec["avviker"]]
    text = nar.overforingar(vu.namn, ctx.ytd_text, tot["overforing"], tot["fast"], tot["rorlig"], tot["medel"],
                            [{"period": r.period, "skillnad": r.skillnad} for r in diffs.itertuples(index=False)])
    df = rec.copy()
    df["manad_namn"] = df["period"].map(_month_label)
    df = _sum_row(df, "manad_namn", f"Summa {ctx.ytd_text}",
                  ["beraknad_fast", "beraknad_rorlig", "beraknad_medel", "beraknad", "bokford", "skillnad"])
    headers = {"manad_namn": "Månad", "beraknad_fast": "Fast", "beraknad_rorlig": "Rörlig",
               "beraknad_medel": "Förändring av medel", "beraknad": "Överföring enligt modellen",
               "bokford": "Bokfört av SoF", "skillnad": "Skillnad"}
    if not ctx.params.vu(vu.id).ersattning.rorliga_tjanster:
        headers.pop("beraknad_rorlig")
    if not rec["beraknad_medel"].astype(bool).any() and not rec["bokford_medel"].astype(bool).any():
        headers.pop("beraknad_medel")
    fm = {c: "kr" for c in headers if c != "manad_namn"}
    fm["skillnad"] = "+kr(2)"
    table = _table(df, fm, headers, caption=f"Månatliga överföringar {ctx.ytd_text}, {vu.namn}",
                   name="Överföringar", total_row=True,
                   note="Överföring enligt modellen = fast del (tolftedel) + rörlig del (volym × pris) + "
                        "förändring av medel. Skillnad = bokfört av SoF − överföring enligt modellen, i kronor och ören.")
    parts = [Markdown(text), table]
    if len(diffs):
        d = diffs.copy()
        d["manad_namn"] = d["period"].map(_month_label)
        parts.append(_table(d, {"beraknad": "kr(2)", "bokford": "kr(2)", "skillnad": "+kr(2)"},
                            {"manad_namn": "Månad", "beraknad": "Enligt modellen", "bokford": "Bokfört av SoF",
                             "skillnad": "Skillnad"},
                            caption=f"Månader där SoF:s bokföring avviker, {vu.namn}", name="Avvikande månader"))
    return Section(*parts)


def _vu_results(ctx: Context, vu_id: str) -> pd.DataFrame:
    from .results import results

    def get():
        r = results(ctx.params, ctx.data, "vu", ctx.year)
        return r
    r = ctx.memo("results_vu", get)
    return r[(r["vu"] == vu_id) & (r["manad"] <= ctx.month)].sort_values("manad").reset_index(drop=True)


def resultat(ctx: Context) -> Section:
    """Cost against compensation and the result year to date: narrative, monthly table, chart."""
    from . import charts

    vu = ctx.vu
    r = _vu_results(ctx, vu.id)
    last = r.iloc[-1]
    text = nar.resultat(vu.namn, ctx.ytd_text, last["intakter_ack"], last["kostnad_ack"], last["resultat_ack"],
                        last["ersattning_ack"], last["medel_ack"], last["ovrig_intakt_ack"])
    df = r.copy()
    df["manad_namn"] = df["period"].map(_month_label)
    total = _sum_row(df, "manad_namn", f"Summa {ctx.ytd_text}",
                     ["ersattning", "medel", "ovrig_intakt", "kostnad", "resultat"])
    total.loc[total.index[-1], "resultat_ack"] = last["resultat_ack"]
    headers = {"manad_namn": "Månad", "ersattning": "Ersättning", "medel": "Förändring av medel",
               "ovrig_intakt": "Övriga intäkter", "kostnad": "Kostnad", "resultat": "Resultat",
               "resultat_ack": "Resultat hittills i år"}
    if not r["medel"].astype(bool).any():
        headers.pop("medel")
    fm = {c: "tkr" for c in headers if c != "manad_namn"}
    fm["resultat"] = fm["resultat_ack"] = "+tkr"
    table = _table(total, fm, headers, caption=f"Intäkter, kostnad och resultat per månad {ctx.ytd_text}, {vu.namn} (tkr)",
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
    from . import charts

    alt = charts.alt
    rows = []
    for x in r.itertuples(index=False):
        lab = fmt.month_name(int(x.manad), short=True)
        rows.append({"manad": lab, "serie": "Kostnad", "tkr": float(x.kostnad) / 1000, "txt": fmt.tkr(x.kostnad),
                     "lang": _month_label(x.period)})
        rows.append({"manad": lab, "serie": "Intäkter", "tkr": float(x.intakter) / 1000, "txt": fmt.tkr(x.intakter),
                     "lang": _month_label(x.period)})
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


def _forecast_row(ctx: Context, vu_id: str) -> pd.Series:
    from .forecast import forecast

    f = ctx.memo("forecast", lambda: forecast(ctx.params, ctx.data, ctx.year, ctx.month))
    return f[f["vu"] == vu_id].iloc[0]


def prognos(ctx: Context) -> Section:
    """The full-year forecast by run-rate and by last year's monthly profile, and their difference."""
    vu = ctx.vu
    f = _forecast_row(ctx, vu.id)
    text = nar.prognos(ctx.year, ctx.month, f["arstakt_resultat"], f["profil_resultat"], f["skillnad_resultat"],
                       f["profil_notering"], F=f["fast_helar"])
    rows = [
        ("Ersättning", f["ersattning_ack"], f["arstakt_ersattning"], f["profil_ersattning"]),
        ("Förändring av medel", f["medel_ack"], f["arstakt_medel"], f["profil_medel"]),
        ("Övriga intäkter", f["ovrig_intakt_ack"], f["arstakt_ovrig_intakt"], f["profil_ovrig_intakt"]),
        ("Kostnad", f["kostnad_ack"], f["arstakt_kostnad"], f["profil_kostnad"]),
        ("Resultat", f["resultat_ack"], f["arstakt_resultat"], f["profil_resultat"]),
    ]
    df = pd.DataFrame(rows, columns=["post", "utfall", "arstakt", "profil"])
    df["skillnad"] = [None] * (len(df) - 1) + [f["skillnad_resultat"]]
    table = _table(df, {"utfall": "tkr", "arstakt": "tkr", "profil": "tkr", "skillnad": "+tkr"},
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
    from .variance import METHOD_LABELS, variance, variance_vus

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
    unit = "timmar" if total["matt"] == "timmar" else "dygn"
    notes = sorted({n for n in clusters["notering"] if n})
    table = _table(v, {"volym_budget": "num(1)", "volym_utfall": "num(1)", "pris_budget": "kr(2)", "pris_utfall": "kr(2)",
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


# --------------------------------------------------------------------------- key figures
_AVSER = {"manad": "Månaden", "ack": "Hittills i år"}
_UTF = {"totalt": "Totalt", "leanlink": "Leanlink", "privat": "Privata utförare", "": ""}


def _kf_rows(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["rad"] = [e if e else k for e, k in zip(out["enhet_namn"], out["kluster_namn"])]
    out["avser_namn"] = out["avser"].map(_AVSER)
    out["utforare_namn"] = out["utforare"].map(_UTF).fillna(out["utforare"])
    out["anm"] = [f"maskerat ({t})" if m else "" for m, t in zip(out["maskerad"], out["maskerad_text"])]
    return out


def _kf_format(units: Iterable[str]) -> str:
    units = set(units)
    return "num(0)" if units and all(u.startswith("kr") or u in ("antal", "besök") for u in units) else "num(1)"


def _kf_table(ctx: Context, n, rows: pd.DataFrame, vu_name: str):
    t = _kf_rows(rows)
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
    return _table(t, {"varde": f, "jamforelse": f, "avvikelse": "+" + f}, headers,
                  caption=f"{n.namn}, {vu_name}, {ctx.ytd_text}", name=n.namn[:31], note=note)


def _kf_chart(ctx: Context, n, vu_id: str):
    """A monthly chart for a monthly key figure (Jan..month of the year), or None."""
    from . import charts
    from .nyckeltal import nyckeltal_all

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
                f"{_month_label(ctx.period_str)} {fmt.num(ll['varde'].iloc[-1], 0)} timmar mot "
                f"{fmt.num(ll['jamforelse'].iloc[-1], 0)} budgeterade.")
        return charts.monthly_vs_budget(ll.rename(columns={"varde": "utfall", "jamforelse": "budget"}),
                                        beskrivning=desc, format="num(0)", y_titel="timmar",
                                        titel=f"{n.namn} per månad {ctx.year}, Leanlink")
    g = d.sort_values(["kluster", "manad"]).copy()
    g["grupp"] = g["kluster_namn"]
    last = g[g["manad"] == g["manad"].max()]
    desc = (f"Linjediagram: {n.namn.lower()} per månad {ctx.ytd_text}, per kluster och för hela uppdraget. "
            f"I {_month_label(ctx.period_str)}: " + "; ".join(
                f"{r.kluster_namn.lower()} {fmt.num(r.varde, 1)} {'%' if r.enhet_matt == 'procent' else r.enhet_matt}"
                for r in last.itertuples(index=False)) + ".")
    return charts.key_figure(g, beskrivning=desc, grupp="grupp", format="num(1)",
                             y_titel="procent" if (g["enhet_matt"] == "procent").all() else None,
                             titel=f"{n.namn} per månad {ctx.year}")


def nyckeltal(ctx: Context) -> Section:
    """Every key figure due at the period, with definition, interval, recipient and responsible,
    and a line naming those not due this period and those not yet followed."""
    from .nyckeltal import ej_foljda, nyckeltal as nk
    from .periods import INTERVAL_LABELS, key_figure_status

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


# --------------------------------------------------------------------------- changes of funds
def medel(ctx: Context, vu_ids: list[str] | None = None) -> Section:
    """Changes of funds outside the budget process and their reporting requirements."""
    from .results import medel_report

    ids = vu_ids or [ctx.vu_id]
    rep = medel_report(ctx.params, ctx.data, ctx.year, ctx.month)
    rep = rep[rep["vu"].isin(ids)].reset_index(drop=True)
    passed = [f"{r.id} ({r.vu_namn}, senast {r.aterrapportering_senast})" for r in rep.itertuples(index=False)
              if r.aterrapportering_passerad]
    text = nar.medel(ctx.ytd_text, len(rep), float(rep["belopp_ack"].sum()) if len(rep) else 0.0, passed)
    if rep.empty:
        return Section(Markdown(text))
    headers = {"id": "Ärende", "typ_namn": "Typ", "beskrivning": "Beskrivning", "belopp_ack": "Belopp hittills i år",
               "aterrapporteringskrav": "Återrapporteringskrav", "aterrapportering_senast": "Senast", "status": "Status"}
    if vu_ids:
        rep["vu_txt"] = rep["vu_namn"]
        headers = {"id": "Ärende", "vu_txt": "Verksamhetsuppdrag", **{k: v for k, v in headers.items() if k != "id"}}
    table = _table(rep, {"belopp_ack": "kr"}, headers, caption=f"Förändring av medel {ctx.ytd_text}",
                   name="Förändring av medel")
    return Section(Markdown(text), table)


# --------------------------------------------------------------------------- schablon follow-up
def schablon(ctx: Context) -> Section:
    """Actual cost per årsarbetare and per hour against the schablon (FTE-steered VU only)."""
    from .schablon import schablon_followup, schablon_vus

    vu = ctx.vu
    rule = schablon_vus(ctx.params).get(vu.id)
    if not rule:
        return Section(Markdown(
            f"{vu.namn} styrs inte av schablonkostnad per årsarbetare; "
            + ("ersättningen följer prisbilagan." if vu.ersattning.form == "prisbilaga"
               else "ersättningen är fastställd för året.")))
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
    table = _table(d, {"arsarbetare": "num(1)", "kostnad_per_arsarbetare": "kr", "schablon_per_arsarbetare": "kr",
                       "avvikelse_per_arsarbetare": "+kr", "kostnad_per_planerad_timme": "kr(2)",
                       "schablon_per_timme": "kr(2)", "avvikelse_per_timme": "+kr(2)"}, headers,
                   caption=f"Kostnad mot schablon {ctx.ytd_text}, {vu.namn}", name="Schablonuppföljning", total_row=True,
                   note="Kostnad per årsarbetare i årstakt (kostnad × 12 / antal månader / genomsnittligt antal årsarbetare).")
    return Section(Markdown(text), table)


# --------------------------------------------------------------------------- nivå 3
def niva3(ctx: Context) -> Section:
    """Appendix: the result per unit (nivå 3), year to date."""
    from .results import period_results

    vu = ctx.vu
    r = ctx.memo("units", lambda: period_results(ctx.params, ctx.data, ctx.year, ctx.month, "enhet"))
    d = r[r["vu"] == vu.id].reset_index(drop=True)
    d = _sum_row(d, "enhet_namn", "Summa uppdraget",
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
    table = _table(d, fm, headers, caption=f"Nivå 3: utfall per enhet {ctx.ytd_text}, {vu.namn} (tkr)",
                   name="Nivå 3", total_row=True)
    return Section(Markdown("## Bilaga: nivå 3, berörda verksamheter\n\n" + text), table)


# =========================================================================== oversikt
def oversikt_titel(ctx: Context) -> Markdown:
    """Title block of an overview."""
    p = ctx.period
    names = [ctx.params.vu(v).namn for v in ctx.scope_vu_ids]
    if ctx.scope in ctx.params.registry.namnder:
        head = f"# Översikt {ctx.scope_text}"
        lead = (f"Verksamhetsuppdrag som {ctx.scope_text} ger Leanlink: {nar.lista(names)}. Uppföljningen är en "
                "integrerad del av Social- och omsorgsförvaltningens uppföljning till nämnden enligt kommunens "
                "ordinarie styrmodell.")
    else:
        head = "# Översikt Leanlink, alla verksamhetsuppdrag"
        lead = ("Leanlinks nio verksamhetsuppdrag, fem för Äldrenämnden och fyra för Social- och omsorgsnämnden, "
                "samt ensamkommande barn (EKB), som ingår i uppdraget men vars omfattning och ersättning regleras "
                "separat årsvis.")
    lines = [head, "", f"**Ekonomisk uppföljning av verksamhetsuppdrag · {p.label}**", "", lead, "",
             f"- Period: {p.label}, utfall {ctx.ytd_text}", f"- Modellversion: {ctx.modellversion}",
             f"- Data: {ctx.data.fingerprint} ({ctx.data.source})", ""]
    return Markdown("\n".join(lines) + "\n" + _trace_md(ctx).text)


def _scope_forecast(ctx: Context) -> pd.DataFrame:
    from .forecast import forecast

    f = ctx.memo("forecast", lambda: forecast(ctx.params, ctx.data, ctx.year, ctx.month))
    return f[f["vu"].isin(ctx.scope_vu_ids)].reset_index(drop=True)


def _scope_netting(ctx: Context) -> pd.DataFrame:
    from .results import netting

    return ctx.memo("netting", lambda: netting(ctx.params, ctx.data, ctx.year, ctx.month))


def oversikt_per_vu(ctx: Context) -> Section:
    """All VU of the scope side by side: compensation, cost, result to date and the forecast."""
    f = _scope_forecast(ctx)
    nine = f[~f["separat"]]
    sep = f[f["separat"]]
    cols = ["fast_helar", "ersattning_ack", "medel_ack", "kostnad_ack", "resultat_ack", "arstakt_resultat",
            "profil_resultat"]
    label = "Summa nio verksamhetsuppdrag" if ctx.scope not in ctx.params.registry.namnder else f"Summa {ctx.scope_text}"
    df = _sum_row(nine, "namn", label, cols)
    if len(sep):
        df = pd.concat([df, sep.assign(namn=sep["namn"] + " (separat reglerad)")], ignore_index=True)
    headers = {"namn": "Verksamhetsuppdrag", "fast_helar": "Fast ersättning helår", "ersattning_ack": "Ersättning hittills",
               "medel_ack": "Förändring av medel", "kostnad_ack": "Kostnad hittills", "resultat_ack": "Resultat hittills",
               "arstakt_resultat": "Prognos helår, årstakt", "profil_resultat": "Prognos helår, fjolårsprofil"}
    fm = {c: "tkr" for c in cols}
    for c in ("resultat_ack", "arstakt_resultat", "profil_resultat"):
        fm[c] = "+tkr"
    table = _table(df, fm, headers, caption=f"Verksamhetsuppdragen {ctx.ytd_text}, {ctx.scope_text} (tkr)",
                   name="Per verksamhetsuppdrag", total_row=not len(sep),
                   note="Ersättning och kostnad enligt Leanlinks bokföring. Resultat = ersättning + förändring av medel "
                        "+ övriga intäkter − kostnad. EKB regleras separat och ingår inte i summan av de nio.")
    tot = df[df["namn"] == label].iloc[0]
    text = (f"Under {ctx.ytd_text} har Leanlink fått {nar.belopp(tot['ersattning_ack'])} i ersättning för "
            f"{'de nio verksamhetsuppdragen' if ctx.scope == 'Leanlink' else 'nämndens verksamhetsuppdrag'}, och "
            f"kostnaderna är {nar.belopp(tot['kostnad_ack'])}. Resultatet hittills är {nar.over_under(tot['resultat_ack'])}; "
            f"helårsprognosen är {nar.over_under(tot['arstakt_resultat'])} med årstakt och "
            f"{nar.over_under(tot['profil_resultat'])} med fjolårets månadsprofil.")
    return Section(Markdown(text), table)


def oversikt_netting(ctx: Context) -> Section:
    """How deficits and surpluses net within the total compensation: narrative, table, chart."""
    from . import charts

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
    table = _table(t, {"intakter_ack": "tkr", "kostnad_ack": "tkr", "resultat_ack": "+tkr", "andel_ersattning": "pct",
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
    from . import charts
    from .results import results

    r = ctx.memo("results_namnd", lambda: results(ctx.params, ctx.data, "namnd", ctx.year))
    r = r[r["manad"] <= ctx.month].copy()
    namn = dict(ctx.params.registry.namnder)
    r["grupp"] = [("EKB (separat reglerad)" if s else namn[n]) for n, s in zip(r["namnd"], r["separat"])]
    if ctx.scope in ctx.params.registry.namnder:
        r = r[r["namnd"] == ctx.scope]
    last = r[r["manad"] == ctx.month]
    desc = (f"Linjediagram: resultat hittills i år per månad {ctx.ytd_text}, per nämnd"
            + (" och för EKB" if r["separat"].any() else "") + ". I " + _month_label(ctx.period_str) + ": "
            + "; ".join(f"{g} {nar.belopp(v, sign=True)}" for g, v in zip(last["grupp"], last["resultat_ack"])) + ".")
    chart = charts.key_figure(r, beskrivning=desc, varde="resultat_ack", grupp="grupp", format="tkr",
                              titel=f"Resultat hittills i år per månad {ctx.year}", y_titel="tkr")
    return Section(chart)


def oversikt_nyckeltal(ctx: Context) -> Section:
    """The key figures due at the period for every VU of the scope (VU level), and those not followed."""
    from .nyckeltal import ej_foljda, nyckeltal as nk

    P = ctx.params
    v = nk(P, ctx.data, ctx.year, ctx.month, endast_aktuella=True)
    v = v[v["vu"].isin(ctx.scope_vu_ids) & (v["enhet"] == "") & v["utforare"].isin(["", "leanlink"])
          & ~((v["kluster"] != "") & v["nyckeltal_id"].isin(
              [n.id for n in P.katalog.nyckeltal if not n.kluster]))].copy()
    order = {x: i for i, x in enumerate(ctx.scope_vu_ids)}
    v["_o"] = v["vu"].map(order)
    v = v.sort_values(["_o"], kind="stable").reset_index(drop=True)
    v["vu_namn"] = v["vu"].map(lambda x: P.vu(x).namn)
    v = _kf_rows(v)
    nf = ej_foljda(P, ctx.year, ctx.month)
    nf = nf[nf["vu"].isin(ctx.scope_vu_ids)]
    due_names = sorted({f"{P.vu(a).namn}: {b.lower()}" for a, b in zip(v["vu"], v["namn"])}, key=fmt.sort_key)
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
    table = _table(v, {"varde": "num(1)", "jamforelse": "num(1)"}, headers,
                   caption=f"Aktuella nyckeltal {ctx.ytd_text}, {ctx.scope_text}", name="Nyckeltal",
                   note="Jämförelse: budgeterade timmar (Leanlink), fastställd ersättning per plats eller utfall, "
                        "enligt nyckeltalets definition i katalogen.")
    return Section(Markdown(text), table)


def oversikt_overforingar(ctx: Context) -> Section:
    """Reconciliation of the transfers against SoF's bookings, per VU of the scope."""
    from .transfers import reconcile_transfers, reconciliation_summary

    rec = ctx.memo("recon", lambda: reconcile_transfers(ctx.params, ctx.data, ctx.year, ctx.month))
    rec = rec[rec["vu"].isin(ctx.scope_vu_ids)]
    s = reconciliation_summary(rec)
    s = _sum_row(s, "namn", "Summa", ["beraknad", "bokford", "skillnad"])
    diffs = rec[rec["avviker"]]
    if len(diffs):
        parts = [f"{ctx.params.vu(r.vu).namn} i {_month_label(r.period)} ({fmt.kr(r.skillnad, 2, sign=True)})"
                 for r in diffs.itertuples(index=False)]
        text = (f"Överföringarna från SoF till Leanlink stämmer med modellen till öret utom i {len(diffs)} "
                f"{'månad' if len(diffs) == 1 else 'fall'}: {nar.lista(parts)}.")
    else:
        text = f"Överföringarna från SoF till Leanlink stämmer med modellen till öret i alla månader {ctx.ytd_text}."
    table = _table(s, {"beraknad": "kr", "bokford": "kr", "skillnad": "+kr(2)", "antal_avvikande": "num(0)"},
                   {"namn": "Verksamhetsuppdrag", "beraknad": "Enligt modellen", "bokford": "Bokfört av SoF",
                    "skillnad": "Skillnad", "antal_avvikande": "Avvikande månader", "avvikande_manader": "Månader"},
                   caption=f"Avstämning av överföringar {ctx.ytd_text}, {ctx.scope_text}", name="Avstämning",
                   total_row=True)
    return Section(Markdown(text), table)


def oversikt_medel(ctx: Context) -> Section:
    """Changes of funds in the scope, with their reporting requirements."""
    return medel(ctx, vu_ids=ctx.scope_vu_ids)


# =========================================================================== modell
def modell_titel(ctx: Context) -> Markdown:
    """Title of the model document for a year."""
    from .trace import code_version, params_fingerprint

    m = ctx.params.modellar(ctx.year)
    revs = "".join(f", revision {r.modellversion} från {_month_label(r.giltig_fran)}" for r in m.revisioner)
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
    table = _table(df, {"enheter": "num(0)"}, {"id": "Id", "namnd": "Nämnd", "niva1": "Nivå 1", "namn": "Verksamhetsuppdrag (nivå 2)",
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
    from .index import index_for

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
    table = _table(pd.DataFrame(rows), {"lon": "pct(2)", "pris": "pct(2)", "vikt": "pct(0)", "index": "pct(2)"},
                   {"ar": "År", "version": "Modellversion", "lon": "Löneökning", "pris": "Prisökning",
                    "vikt": "Lönens vikt", "index": "KS index"},
                   caption="Kommunstyrelsens vägda prisindex per modellår", name="Index")
    return Section(Markdown(text), table)


def modell_fast(ctx: Context, exempel_vu: str = "AN-VB") -> Section:
    """Fixed compensation: the rule, one VU's F worked from last year's, and every VU's F for the year."""
    from .compensation import fixed_bridge
    from .index import index_for

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
        from .budget import budget_per_vu

        bp = budget_per_vu(P, y)
        bp = _sum_row(bp[~bp["separat"]], "namn", "Summa nio verksamhetsuppdrag",
                      ["ersattning_innevarande", "indexering", "forandringar", "ersattning_forslag", "forandring"])
        parts.append(_table(bp, {"ersattning_innevarande": "kr", "indexering": "+kr", "forandringar": "+kr",
                                 "ersattning_forslag": "kr"},
                            {"namn": "Verksamhetsuppdrag", "ersattning_innevarande": f"Ersättning {y - 1}",
                             "indexering": "Indexuppräkning", "forandringar": "Förändringar", "ersattning_forslag": f"Ersättning {y}"},
                            caption=f"Fast ersättning {y} per verksamhetsuppdrag", name="Fast ersättning", total_row=True))
    else:
        m = P.modellar(y)
        df = pd.DataFrame([{"namn": P.vu(k).namn, "F": v} for k, v in m.fast_ersattning.items()])
        df = _sum_row(df, "namn", "Summa nio verksamhetsuppdrag", ["F"])
        parts.append(_table(df, {"F": "kr"}, {"namn": "Verksamhetsuppdrag", "F": f"Fastställd ersättning {y}"},
                            caption=f"Fast ersättning {y}", name="Fast ersättning", total_row=True))
    return Section(*parts)


def modell_rorlig(ctx: Context) -> Section:
    """Variable compensation and the price annexes: the rule, an indexed rate in öre, the rates of the year."""
    from .compensation import fixed_compensation, rate, service_info, services_of
    from .index import index_for, round_ore

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
        r0, r1 = rate(P, v0.id, s0, y - 1, 12), rate(P, v0.id, s0, y, 1)
        i = index_for(P, y)
        if round_ore(r0 * (1 + i)) == r1:
            parts.append(Markdown(nar.rorlig_exempel(f"{service_info(P, v0.id, s0)['namn']} i Prisbilaga område "
                                                     f"{v0.ersattning.prisbilaga}" if v0.ersattning.prisbilaga
                                                     else service_info(P, v0.id, s0)["namn"], y, r0, i, r1)))
    parts.append(_table(df, {"fjol": "kr(2)", "pris": "kr(2)", "dec": "kr(2)"}, headers,
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
        parts.append(_table(pdf, {"fast": "kr", **{s: "kr(2)" for s in svc}},
                            {"omrade": "Prisbilaga", "vu": "Verksamhetsuppdrag", "fast": f"Fast del {y}",
                             **{s: f"{service_info(P, omr[0].id, s)['namn']}, kr/timme" for s in svc}},
                            caption=f"Prisbilaga område 1–3, {y} (timpriser från januari)", name="Prisbilagor"))
    return Section(*parts)


def modell_overforing(ctx: Context, exempel_vu: str | None = None) -> Section:
    """The monthly transfer: twelfths of F by cumulative rounding, and a revision spread over the remaining months."""
    from .compensation import monthly_fixed

    P, y = ctx.params, ctx.year
    m = P.modellar(y)
    rev_vu = [c.vu for r in m.revisioner for c in r.forandringar]
    vu_id = exempel_vu or (rev_vu[0] if rev_vu else P.registry.verksamhetsuppdrag[0].id)
    parts = monthly_fixed(P, vu_id, y)
    text = ("Överföringar av ersättningen från SoF till Leanlink görs månatligen: månadens överföring är en tolftedel "
            "av den fasta ersättningen plus den rörliga ersättningen för månadens volym plus eventuella förändringar av "
            "medel som betalas ut den månaden. Tolftedelarna avrundas kumulativt till hela kronor så att de tolv "
            "delarna summerar exakt till den fasta ersättningen. En förändring under året (en revision) betalas ut "
            "jämnt över årets återstående månader.")
    df = pd.DataFrame({"manad": [_month_label(f"{y}-{k:02d}") for k in range(1, 13)], "fast": parts})
    df = _sum_row(df, "manad", f"Summa {y}", ["fast"])
    table = _table(df, {"fast": "kr"}, {"manad": "Månad", "fast": "Fast del"},
                   caption=f"Fast del per månad {y}, {P.vu(vu_id).namn}", name="Månadsöverföring", total_row=True)
    return Section(Markdown(text), table)


def modell_schablon(ctx: Context) -> Section:
    """Schablonkostnad per årsarbetare: the formula, one level worked through, every level, and the ÄN and SON rules."""
    from .schablon import LEVEL_LABELS, allocation_an, schablon_cost, schablon_table, son_cost_per_hour

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
    table = _table(t, {"faktor": "num(2)", "lon": "kr", "po": "kr", "ovriga_kostnader": "kr", "overhead": "kr",
                       "schablon": "kr", "timkostnad": "kr(2)"},
                   {"namn": "Utbildningsnivå", "faktor": "Faktor", "lon": "Lön", "po": "PO-pålägg",
                    "ovriga_kostnader": "Övriga kostnader", "overhead": "Overhead", "schablon": "Schablon per årsarbetare",
                    "timkostnad": "Per timme"},
                   caption=f"Schablonkostnad per årsarbetare {y}", name="Schablon",
                   note="Delarna är oavrundade och kan skilja sig från schablonen med avrundningen.")
    return Section(Markdown(text), Markdown(ex), table, Markdown(ex2))


def modell_nyckeltal(ctx: Context) -> Section:
    """The key-figure catalogue: definition, interval, recipient, responsible, first year."""
    from .periods import INTERVAL_LABELS

    P = ctx.params
    rows = [{"vu": ", ".join(n.vu), "namn": n.namn, "definition": n.definition, "enhet": n.enhet,
             "intervall": INTERVAL_LABELS[n.intervall], "mottagare": n.mottagare, "ansvarig": n.ansvarig,
             "paverkan": n.ekonomisk_paverkan or "", "fran": str(n.forsta_ar)} for n in P.katalog.nyckeltal]
    text = ("Verksamhetsuppdragen behöver följas upp med bestämd regelbundenhet genom granskning av beslutade "
            "nyckeltal. Syftet med nyckeltalen på de olika nivåerna är att lättare kunna följa upp vad respektive "
            "verksamhetsuppdrag kostar. Månadsvisa nyckeltal redovisas varje månad, delårsnyckeltal vid delåren "
            f"({nar.lista([fmt.month_name(k) for k in P.modellar(ctx.year).delar_manader])} {ctx.year}) och i "
            "december, årsvisa i december; ett nyckeltal följs upp från sitt första år.")
    table = _table(pd.DataFrame(rows), {}, {"vu": "Verksamhetsuppdrag", "namn": "Nyckeltal", "definition": "Definition",
                                            "enhet": "Enhet", "intervall": "Intervall", "mottagare": "Mottagare",
                                            "ansvarig": "Ansvarig", "paverkan": "Ekonomisk påverkan", "fran": "Från"},
                   caption="Nyckeltalskatalogen", name="Nyckeltal")
    return Section(Markdown(text), table)


def modell_versioner(ctx: Context) -> Section:
    """The model version history: every year and its revisions."""
    P = ctx.params
    rows = []
    for y, m in sorted(P.ar.items()):
        rows.append({"ar": str(y), "version": m.modellversion, "giltig": _month_label(f"{y}-01"),
                     "faststalld": m.faststalld.isoformat(), "andring": "Revision i samband med budgetprocessen"
                     if y > P.forsta_ar else "Första versionen"})
        for r in m.revisioner:
            rows.append({"ar": str(y), "version": r.modellversion, "giltig": _month_label(r.giltig_fran),
                         "faststalld": "", "andring": r.beskrivning})
    text = ("Dokumentet revideras inför varje år i samband med budgetprocessen, det vill säga hur medel ska fördelas "
            "utifrån modellen, och får då ett nytt versionsnummer. Vid behov kan mindre justeringar göras under året "
            "och då ändras versionsnumret på decimalnivå. Dokumentägare är respektive ekonomichef på respektive "
            "förvaltning. Varje rapport anger vilken modellversion den är beräknad med.")
    table = _table(pd.DataFrame(rows), {}, {"ar": "År", "version": "Version", "giltig": "Gäller från",
                                            "faststalld": "Fastställd", "andring": "Ändring"},
                   caption="Modellens versionshistorik", name="Versioner")
    return Section(Markdown(text), table)


def modell_budgetprocess(ctx: Context, year: int | None = None) -> Section:
    """The budget-process calendar of a model year (default: the context's year)."""
    from .budget import budget_calendar

    y = year or ctx.year
    cal = budget_calendar(ctx.params, y)
    cal = cal.assign(fran_txt=[fmt.date_label(d) for d in cal["fran"]],
                     till_txt=[fmt.date_label(d) if d != f else "" for d, f in zip(cal["till"], cal["fran"])])
    text = ("Den övergripande budgetprocessen styrs av Kommunstyrelsens tidsplan för budgeten för nästkommande år. "
            "I februari tas gemensamma planeringsförutsättningar fram och SoF och Leanlink stämmer av underlagen. I "
            "början av maj kommer kommundirektörens förslag till budget. Från mitten av maj och under juni går SoF "
            "och Leanlink igenom de ekonomiska ramarna och tänkta volymer; i den processen fastställs den årliga "
            "ersättningen. Tidsplanen kan skilja sig mellan åren och sätts när Kommunstyrelsen har beslutat datumen.")
    table = _table(cal, {}, {"steg": "Steg", "fran_txt": "Från", "till_txt": "Till", "beskrivning": "Beskrivning"},
                   caption=f"Budgetprocessen inför {y}", name="Budgetprocess")
    return Section(Markdown(text), table)


# =========================================================================== budget
def _proposal(ctx: Context):
    from .budget import budget_proposal

    return ctx.memo("proposal", lambda: budget_proposal(ctx.params, ctx.data, ctx.year))


def budget_titel(ctx: Context) -> Markdown:
    """Title and summary of the budget proposal."""
    from .trace import code_version, params_fingerprint

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
    from . import charts

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
    table = _table(df, {"ersattning_innevarande": "kr", "indexering": "+kr", "forandringar": "+kr",
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
    bp = _proposal(ctx)
    ch = bp.forandringar.copy()
    ch["vu_namn"] = ch["vu"].map(lambda v: ctx.params.vu(v).namn)
    ch["giltig"] = [(_month_label(g) if g else "januari") for g in ch["giltig_fran"]]
    items = [f"{nar.CHANGE_WORDS.get(r.typ, r.typ)} för {r.vu_namn} "
             f"({nar.belopp(r.belopp, sign=True)}: {nar._gemen(r.beskrivning) if r.beskrivning else 'separat reglerad'})"
             for r in ch.itertuples(index=False)]
    text = (f"Förslaget innehåller följande förändringar i uppdragen, i {ctx.year} års priser: {nar.lista(items)}. "
            "Ett effektiviseringskrav som anges som andel räknas på den indexuppräknade ersättningen.")
    table = _table(ch, {"belopp": "+kr"}, {"vu_namn": "Verksamhetsuppdrag", "steg": "Förändring", "beskrivning": "Beskrivning",
                                          "belopp": "Belopp"},
                   caption=f"Föreslagna förändringar {ctx.year}", name="Förändringar")
    return Section(Markdown(text), table)


def budget_priser(ctx: Context) -> Section:
    """Variable rates this year and next."""
    bp = _proposal(ctx)
    pr = bp.priser.copy()
    pr["vu_namn"] = pr["vu"].map(lambda v: ctx.params.vu(v).namn)
    pr["enhet_txt"] = "kr per " + pr["enhet"]
    y = ctx.year
    text = (f"De rörliga priserna räknas upp med indexet {fmt.pct(bp.index, 2)} till hela ören. Priset för {y - 1} är "
            f"det som gäller i december {y - 1}, så en justering under året (revision) räknas med i uppräkningen.")
    table = _table(pr, {"pris_innevarande": "kr(2)", "pris_forslag": "kr(2)", "forandring": "+kr(2)", "forandring_andel": "+pct(2)"},
                   {"vu_namn": "Verksamhetsuppdrag", "namn": "Tjänst", "enhet_txt": "Enhet",
                    "pris_innevarande": f"Pris {y - 1}", "pris_forslag": f"Pris {y}", "forandring": "Förändring",
                    "forandring_andel": "Förändring, %"},
                   caption=f"Rörliga priser {y}", name="Rörliga priser")
    return Section(Markdown(text), table)


def budget_schablon(ctx: Context) -> Section:
    """The schablon-based allocation for the FTE-steered VU against the proposal."""
    bp = _proposal(ctx)
    s = bp.schablon.copy()
    s["vu_namn"] = s["vu"].map(lambda v: ctx.params.vu(v).namn)
    clusters = {(v.id, k.id): k.namn for v in ctx.params.registry.alla for k in v.kluster}
    s["rad"] = [clusters.get((v, k), k) if k else f"{n}, hela uppdraget" for v, k, n in zip(s["vu"], s["kluster"], s["vu_namn"])]
    vu_rows = s[s["niva"] == "vu"]
    parts = [f"{r.vu_namn}: schablon {nar.belopp(r.tilldelning)} mot förslaget {nar.belopp(r.ersattning_forslag)} "
             f"({nar.belopp(r.skillnad, sign=True)})" for r in vu_rows.itertuples(index=False)]
    period = vu_rows["bemanning_period"].dropna()
    text = (f"För de öppna verksamheterna styr antalet årsarbetare fördelningen. Med bemanningen i "
            f"{_month_label(period.iloc[0]) if len(period) else 'senaste månaden'} och {ctx.year} års schablon blir den "
            f"schablonbaserade tilldelningen: {nar.lista(parts)}. Skillnad = förslag − schablon; ett positivt belopp betyder "
            "att förslaget ligger över vad bemanningen motiverar enligt schablonen.")
    table = _table(s, {"arsarbetare": "num(1)", "kostnad_per_timme": "kr(2)", "planerade_timmar": "num(0)",
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
    table = _table(bp.totaler, {c: "kr" for c in ("ersattning_innevarande", "ersattning_forslag")} |
                   {c: "+kr" for c in ("indexering", "forandringar", "forandring")},
                   {"rad": "Nämnd", "ersattning_innevarande": f"Ersättning {y - 1}", "indexering": "Indexuppräkning",
                    "forandringar": "Förändringar", "ersattning_forslag": f"Förslag {y}", "forandring": "Förändring"},
                   caption=f"Förslag {y} per nämnd", name="Per nämnd", total_row=True)
    return Section(table)


def budget_kalender(ctx: Context) -> Section:
    """The budget-process calendar of the proposal year."""
    return modell_budgetprocess(ctx, ctx.year)
