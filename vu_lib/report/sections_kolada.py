"""The national comparison (Kolada) in the VU report and the overview.

:func:`kolada` (VU report): for each comparison in ``params/kolada.yaml`` that
names the VU, our key figure (Leanlink, from :mod:`vu_lib.model.nyckeltal`)
beside Kolada's value for the municipality, the group of similar
municipalities and the country, per year over the snapshot's years (the
latest year and the trend), women and men where the KPI has them, Kolada's
organisational units mapped to our nivå 3 units, and a chart. Where Kolada's
definition differs from ours, the sentence ``definitionsskillnad`` of the
params file is shown.

:func:`oversikt_kolada` (overview): one table of every comparison in scope,
latest year.

The values come from the store's active snapshot (``Dataset.kolada``, loaded
by :func:`vu_lib.data.kolada.load_snapshot`); nothing here touches the
network. Every part ends with the snapshot's date and the source line
``Källa: Kolada (RKA), CC BY 4.0``.
"""
from __future__ import annotations

import math

import pandas as pd

from vu_lib.report import fmt
from vu_lib.report.context import Context, Markdown, Section, make_table

_KON = {"K": "kvinnor", "M": "män"}


def _kp(ctx: Context):
    from vu_lib.data.kolada import load_kolada_params

    return ctx.memo("kolada_params", lambda: load_kolada_params(ctx.params))


def _kd(ctx: Context):
    from vu_lib.data.kolada import empty_kolada

    kd = getattr(ctx.data, "kolada", None)
    return kd if kd is not None else empty_kolada()


def kalla_text(ctx: Context) -> str:
    """``'Källa: Kolada (RKA), CC BY 4.0. Ögonblicksbild hämtad 2 november 2026.'`` (+ example note)."""
    from vu_lib.data.kolada import KALLA

    kd = _kd(ctx)
    text = f"{KALLA}. Ögonblicksbild hämtad {fmt.date_label(kd.hamtad)}"
    if kd.exempel:
        text += " (exempelvärden i exempeldatan, inte Koladas verkliga siffror)"
    return text + "."


def _unit(enhet: str) -> str:
    return "%" if enhet == "procent" else enhet


def _value_text(v, j) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return fmt.num(None)
    return f"{fmt.num(v, j.decimaler)}\u00a0{_unit(j.enhet)}"


def _our_values(ctx: Context, j, vu_id: str, years: list[int]) -> dict[int, float]:
    """Our key figure (Leanlink) per year × ``skala``: full years, and the report year to date."""
    from vu_lib.model.nyckeltal import nyckeltal as nk

    if j.nyckeltal is None:
        return {}
    out = {}
    first = ctx.params.forsta_ar
    for y in years:
        if y < first or y > ctx.year:
            continue
        month = ctx.month if y == ctx.year else 12
        v = ctx.memo(f"kolada_nk:{vu_id}:{y}:{month}", lambda y=y, month=month: nk(ctx.params, ctx.data, y, month, vu=vu_id))
        rows = v[(v["nyckeltal_id"] == j.nyckeltal) & (v["avser"] == "ack") & (v["kluster"] == j.kluster)
                 & (v["enhet"] == "") & (v["utforare"].isin(["", "totalt"]))]
        if j.del_ is not None:
            rows = rows[rows["del"] == j.del_]
        if not rows.empty and not rows["varde"].isna().all():
            out[y] = float(rows["varde"].iloc[0]) * j.skala
    return out


def comparison_frame(ctx: Context, j, vu_id: str) -> tuple[pd.DataFrame, list[int]]:
    """One row per series (``rad``), one column per year (``'2021'``, ...), and ``serie``/``kon``.

    Series: Leanlink (our key figure), then each Kolada area (kommun, grupp, riket)
    in total and, for a KPI with ``kon: true``, for women and men.
    """
    kp, kd = _kp(ctx), _kd(ctx)
    v = kd.varden[(kd.varden["kpi"] == j.kpi) & (kd.varden["typ"] == "kommun")]
    years = sorted(set(int(y) for y in v["ar"]))[-kp.antal_ar:]
    cols = years + ([ctx.year] if ctx.year not in years and j.nyckeltal else [])
    rows = []
    ours = _our_values(ctx, j, vu_id, cols)
    if j.nyckeltal is not None:
        rows.append({"rad": "Leanlink (vårt nyckeltal)", "serie": "Leanlink", "kon": "T",
                     **{str(y): ours.get(y, float("nan")) for y in cols}})
    for role, area, name in kp.areas(j):
        a = v[v["omrade"] == area]
        genders = ["T"] + (["K", "M"] if j.kon else [])
        for g in genders:
            ag = a[a["kon"] == g].set_index("ar")["varde"]
            if g != "T" and ag.dropna().empty:
                continue
            label = name if g == "T" else f"{name}, {_KON[g]}"
            rows.append({"rad": label, "serie": name, "kon": g,
                         **{str(y): float(ag.get(y, float("nan"))) if y in ag.index else float("nan") for y in cols}})
    return pd.DataFrame(rows), cols


def _latest(df: pd.DataFrame, serie: str, years: list[int]) -> tuple[int | None, float | None]:
    r = df[(df["serie"] == serie) & (df["kon"] == "T")]
    if r.empty:
        return None, None
    for y in reversed(years):
        x = r[str(y)].iloc[0]
        if not (isinstance(x, float) and math.isnan(x)):
            return y, float(x)
    return None, None


def _summary(ctx: Context, j, df: pd.DataFrame, years: list[int]) -> str:
    kp = _kp(ctx)
    parts = []
    ly, lv = _latest(df, kp.kommun.namn, years)
    if ly is None:
        return f"Ögonblicksbilden har inga värden för {j.namn.lower()} ({j.kpi})."
    others = [f"{name.lower() if role == 'grupp' else name} {_value_text(_latest(df, name, [ly])[1], j)}"
              for role, _, name in kp.areas(j) if role != "kommun"]
    parts.append(f"År {ly} var Koladas värde för {kp.kommun.namn} {_value_text(lv, j)}"
                 + (f" ({', '.join(others)})" if others else "") + ".")
    oy, ov = _latest(df, "Leanlink", [ly])
    if ov is not None:
        parts.append(f"Leanlinks nyckeltal samma år var {_value_text(ov, j)}.")
    cy, cv = _latest(df, "Leanlink", [ctx.year])
    if cv is not None and cy != ly:
        parts.append(f"I år ({ctx.ytd_text}) är det {_value_text(cv, j)}.")
    fy, fv = None, None
    r = df[(df["serie"] == kp.kommun.namn) & (df["kon"] == "T")]
    for y in years:
        x = r[str(y)].iloc[0]
        if not math.isnan(x):
            fy, fv = y, float(x)
            break
    if fy is not None and fy != ly and fv:
        if j.enhet == "procent":
            diff = lv - fv
            word = "procentenhet" if abs(round(diff, j.decimaler)) == 1 else "procentenheter"
            change = f"{fmt.num(diff, j.decimaler, sign=True)}\u00a0{word}"
        else:
            change = fmt.pct((lv - fv) / fv, 1, sign=True)
        parts.append(f"Från {fy} till {ly} ändrades {kp.kommun.namn}s värde med {change}.")
    return " ".join(parts)


def _table(ctx: Context, j, df: pd.DataFrame, cols: list[int], vu_name: str):
    headers = {"rad": "Jämförelse"}
    for y in cols:
        headers[str(y)] = f"{y} (t.o.m. {fmt.month_name(ctx.month, short=True)})" if y == ctx.year and ctx.month < 12 else str(y)
    note = kalla_text(ctx) + f" KPI {j.kpi}; enhet {_unit(j.enhet)}."
    kp, kd = _kp(ctx), _kd(ctx)
    for role, area, name in kp.areas(j):
        if role == "grupp":
            n = kd.varden[(kd.varden["kpi"] == j.kpi) & (kd.varden["omrade"] == area) & (kd.varden["kon"] == "T")]
            n = n.dropna(subset=["antal"])
            if not n.empty:
                members = int(n.sort_values("ar")["antal"].iloc[-1])
                note += f" {name}: Koladas ovägda medelvärde av de {members} kommunerna i gruppen."
    if j.definitionsskillnad:
        note += " " + j.definitionsskillnad.strip()
    return make_table(df, {str(y): f"num({j.decimaler})" for y in cols}, headers,
                      caption=f"{j.namn}, {vu_name}: Leanlink och Kolada ({_unit(j.enhet)})", name=j.namn[:31], note=note)


def _chart(ctx: Context, j, df: pd.DataFrame, cols: list[int]):
    from vu_lib.report import charts

    long = df[df["kon"] == "T"].melt(id_vars=["serie"], value_vars=[str(y) for y in cols], var_name="ar", value_name="varde")
    long = long.dropna(subset=["varde"])
    if long["ar"].nunique() < 2:
        return None
    kp = _kp(ctx)
    desc = (f"Linjediagram över {j.namn.lower()} per år {cols[0]}–{cols[-1]} för "
            + ", ".join(fmt.sorted_sv(long["serie"].unique())) + f" ({_unit(j.enhet)}). {kalla_text(ctx)}")
    return charts.key_figure(long, beskrivning=desc, period="ar", grupp="serie", format=f"num({j.decimaler})",
                             y_titel=_unit(j.enhet), titel=f"{j.namn}: {kp.kommun.namn}, jämförelsegrupp och riket")


def _ou_table(ctx: Context, j, vu):
    """Kolada's organisational units mapped to this VU's nivå 3 units, latest year, by gender where given."""
    kp, kd = _kp(ctx), _kd(ctx)
    units = {e.id_kod: e.namn for e in vu.enheter}
    ous = [o for o in kp.organisatoriska_enheter if o.enhet in units and j.id in o.jamforelser]
    if not ous:
        return None
    v = kd.varden[(kd.varden["kpi"] == j.kpi) & (kd.varden["typ"] == "ou")]
    if v.empty:
        return None
    year = int(v["ar"].max())
    rows = []
    for o in ous:
        a = v[(v["omrade"] == o.ou) & (v["ar"] == year)].set_index("kon")["varde"]
        rows.append({"enhet": units[o.enhet], "ou": o.ou, "T": a.get("T", float("nan")),
                     "K": a.get("K", float("nan")), "M": a.get("M", float("nan"))})
    df = pd.DataFrame(rows)
    headers = {"enhet": "Enhet (nivå 3)", "ou": "Koladas enhet", "T": "Totalt", "K": "Kvinnor", "M": "Män"}
    if df[["K", "M"]].isna().all().all():
        headers.pop("K")
        headers.pop("M")
    return make_table(df, {c: f"num({j.decimaler})" for c in ("T", "K", "M")}, headers,
                      caption=f"{j.namn} per enhet {year} ({_unit(j.enhet)})", name=f"{j.namn[:24]} enhet",
                      note=kalla_text(ctx))


def kolada(ctx: Context) -> Section:
    """The VU report's comparison with Kolada: table, chart and notes per comparison."""
    kp, kd = _kp(ctx), _kd(ctx)
    vu = ctx.vu
    comps = kp.for_vu(vu.id)
    if not comps:
        return Section(Markdown(f"Inga jämförelser med Kolada är valda för {vu.namn} i params/kolada.yaml."))
    if not kd.finns:
        return Section(Markdown("Det finns ingen Kolada-ögonblicksbild i lagret än. Hämta en med "
                                "`vu kolada fetch`; rapporterna läser aldrig Kolada direkt."))
    parts = [Markdown(f"Leanlinks nyckeltal jämförs med Koladas värden för {kp.kommun.namn}, en grupp liknande "
                      f"kommuner och {kp.riket.namn.lower()}, de senaste åren som finns i ögonblicksbilden. "
                      f"{kalla_text(ctx)}")]
    for j in comps:
        df, cols = comparison_frame(ctx, j, vu.id)
        parts.append(Markdown(f"### {j.namn}\n\n{_summary(ctx, j, df, cols)}"
                              + (f"\n\n*Skillnad i definition:* {j.definitionsskillnad.strip()}" if j.definitionsskillnad else "")))
        if not cols:
            continue
        parts.append(_table(ctx, j, df, cols, vu.namn))
        parts.append(_chart(ctx, j, df, cols))
        parts.append(_ou_table(ctx, j, vu))
    return Section(*parts)


def oversikt_kolada(ctx: Context) -> Section:
    """The overview's table of every comparison for the VU in scope, latest Kolada year."""
    kp, kd = _kp(ctx), _kd(ctx)
    if not kd.finns:
        return Section(Markdown("Det finns ingen Kolada-ögonblicksbild i lagret än. Hämta en med `vu kolada fetch`."))
    scope = ctx.scope_vu_ids
    rows, notes = [], []
    for j in kp.jamforelser:
        vus = [v for v in j.vu if v in scope]
        if not vus:
            continue
        df, cols = comparison_frame(ctx, j, vus[0])
        ly, _ = _latest(df, kp.kommun.namn, cols)
        row = {"_id": j.id, "jamforelse": j.namn, "vu": ", ".join(vus), "ar": str(ly) if ly else "",
               "leanlink": None if len(vus) > 1 or not ly else _latest(df, "Leanlink", [ly])[1]}
        for role, _, name in kp.areas(j):
            row[role] = _latest(df, name, [ly])[1] if ly else None
        if j.definitionsskillnad:
            notes.append(f"{len(notes) + 1}. {j.namn}: {j.definitionsskillnad.strip()}")
            row["anm"] = f"se not {len(notes)}"
        else:
            row["anm"] = ""
        rows.append(row)
    if not rows:
        return Section(Markdown("Inga jämförelser med Kolada är valda för uppdragen i översikten."))
    df = pd.DataFrame(rows)
    for c in ("leanlink", "kommun", "grupp", "riket"):
        if c in df:
            df[c] = [_value_text(v, kp.jamforelse(i)) for v, i in zip(df[c], df["_id"])]
    headers = {"jamforelse": "Jämförelse", "vu": "Uppdrag", "ar": "År", "leanlink": "Leanlink",
               "kommun": kp.kommun.namn, "grupp": "Liknande kommuner", "riket": kp.riket.namn}
    headers["anm"] = "Anm."
    if not df["anm"].astype(bool).any():
        headers.pop("anm")
    fmts = {}
    table = make_table(df, fmts, headers, caption=f"Jämförelse med Kolada, senaste år, {ctx.scope_text}",
                       name="Kolada", note=kalla_text(ctx) + " Leanlink: vårt nyckeltal samma år (tomt när "
                       "jämförelsen gäller flera uppdrag eller saknar nyckeltal). Liknande kommuner: den "
                       "jämförelsegrupp som params/kolada.yaml anger för jämförelsen.")
    parts = [Markdown(f"Nyckeltalen jämförs med Koladas värden för {kp.kommun.namn}, jämförelsegruppen och riket. "
                      f"{kalla_text(ctx)}"), table]
    if notes:
        parts.append(Markdown("Skillnader i definition:\n\n" + "\n".join(notes)))
    return Section(*parts)
