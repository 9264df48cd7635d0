"""The key figures (nyckeltal) of ``params/nyckeltal.yaml``, per VU and period.

Every figure of the catalogue is computed by the rule below for its VU and
clusters, at a month ``m`` of year ``Y``. "Year to date" (``avser == 'ack'``)
sums months 1..m; a monthly figure (``intervall: manadsvis``) also has the
month itself (``avser == 'manad'``). Costs are Leanlink's (ledger ``ID``,
personal + ovrig_kostnad, :mod:`vu_lib.results`), volumes are
``dataset.volymer`` (a cluster's volume is the sum of its units' rows, or the
cluster's own row when it has no unit rows: :func:`vu_lib.results.monthly_volumes`).
``d`` is the number of calendar days in months 1..m, ``w = d / 7`` weeks.

==================================  ===============================================================
figure                              rule
==================================  ===============================================================
hemtjanst_timmar,                   utförda timmar per cluster and in total, for utförare
hemsjukvard_hemrehab_timmar         ``totalt``, ``leanlink``, ``privat``; the month and YTD.
                                    ``jamforelse`` = budget_timmar (Leanlink's budgeted hours)
                                    on the Leanlink row. With two clusters a row ``kluster == ''``
                                    adds them.
dagverksamhet_kostnad_per_plats,    kostnad_ack × 12 / m / average places, average places =
bobu/bovux_kostnad_per_plats        Σ platser over the months with data / their number; per
                                    cluster (and unit when units report places); for the SON
                                    boenden also the VU, with ``jamforelse`` = F_Y / average places.
dagverksamhet_brukare_timmar        ``brukare`` = average monthly unique users (Σ brukare / months
                                    with data); ``timmar_per_dag`` = Σ oppettimmar / Σ oppetdagar.
demenscenter_utredningar            Σ utredningar and Σ handledningar per utförare.
seniormottagningen_besok, ...       Σ unika_besok of the unit (Seniormottagningen, Anhörigcenter,
                                    Fixartjänst, Heminstruktörer).
hagdahlska_besokare                 Σ besokare / w.
kultur_fritid_besok                 Σ digitala_besok and Σ fysiska_besok.
psykiatrisk_hsv_besok_per_dag       Σ besok / d.
vb/bobu/bovux_belaggningsgrad       100 × Σ belagda_dygn / Σ tillgängliga dygn (tillgangliga_dygn
                                    when given, else platser × days of the month), per cluster
                                    and VU; procent.
vb_varddygnskostnad                 kostnad_ack / Σ belagda_dygn, per cluster and VU.
vb_referenskostnad                  F_ytd / Σ budget_belagda_dygn (F_ytd: the fixed compensation
                                    paid for months 1..m); ``jamforelse`` = kostnad_ack / Σ
                                    belagda_dygn.
buf/vux_kostnad_per_timme           kostnad_ack / Σ planerade_timmar, per cluster and VU.
buf/vux_planerade_timmar            Σ planerade_timmar, per cluster and VU.
==================================  ===============================================================

A ratio with a zero or missing denominator is NaN.

Status: each row has ``status`` from :func:`vu_lib.periods.key_figure_state`
(``'aktuell'`` when due at the period's interval). Figures not yet followed
in the year (``forsta_ar``) are left out; :func:`ej_foljda` lists them.

Small counts: in a figure with ``personantal: true``, a row counting persons
(``personantal == True``) with ``0 < varde < sma_tal_grans`` of the year is
masked: ``varde`` becomes NaN and ``maskerad`` True (reports show
``maskerad_text``, e.g. ``'<5'``). Secondary masking stops subtraction: rows of
the same figure, part, utförare and period form families (a cluster and its
units; a VU and its clusters). Until nothing changes: when a family's total
is shown and exactly one member is masked, the smallest other member is
masked too (the total itself when there is no other member); when the total
is masked and no member is, the smallest non-zero member is masked. Person
figures are yearly, so only year-to-date rows appear and no month can be
derived from them within one table.

Gender (``kon``): where ``dataset.volymer_kon`` splits a person count into
women (``'K'``) and men (``'M'``), the person rows are computed again from each
gender's counts and added with ``kon`` 'K' / 'M' (totals have ``kon == ''``);
a cluster gets them only when every unit of the cluster with a total that
year delivers the split. The masking runs over all of them: a total and its
women and men form one more family, so when one gender is masked and the
total shown, the other gender is masked too (else it would be the total minus
the masked one); the cluster/unit families apply within each gender.
:func:`nyckeltal` returns the totals only unless ``kon=True``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from vu_lib.core.params import Nyckeltal, Params
from vu_lib.model.periods import INTERVAL_LABELS, STATUS_DUE, key_figure_state, month_str
from vu_lib.model.ledger import (at_data_periods, at_period, level_frame, ym, as_tables, cluster_table, monthly_volumes,
                      unit_table, fixed_cum)
from vu_lib.model.trace import stamp, trace_for

COLUMNS = [
    "nyckeltal_id", "namn", "vu", "kluster", "kluster_namn", "enhet", "enhet_namn", "del", "del_namn",
    "utforare", "kon", "avser", "ar", "manad", "period", "varde", "enhet_matt", "jamforelse", "jamforelse_typ",
    "avvikelse", "intervall", "intervall_namn", "status", "aktuell", "personantal", "maskerad", "maskerad_text",
]
UTFORARE_NAMN = {"totalt": "Totalt", "leanlink": "Leanlink", "privat": "Privata utförare", "": ""}
AVSER_ORDER = {"manad": 0, "ack": 1}


# --------------------------------------------------------------------------- context
class _Ctx:
    """The frames every figure is computed from, on the full month grid.

    Rows are matched on an integer key ``_key = entity × 10⁶ + ar × 100 + manad``
    (entity: a (VU, cluster) or a unit), so looking a measure up is a reindex
    on integers rather than a merge on strings.
    """

    def __init__(self, params: Params, dataset):
        self.params = params
        lk = level_frame(params, dataset, "kluster")[["vu", "kluster", "ar", "manad", "kostnad_ack"]]
        lu = level_frame(params, dataset, "enhet")[["vu", "kluster", "enhet", "ar", "manad", "kostnad_ack"]]
        self.lv = level_frame(params, dataset, "vu")[["vu", "ar", "manad", "kostnad_ack"]]
        self._lk0, self._lu0 = lk, lu
        self._set_volumes(monthly_volumes(params, dataset))
        self.units = unit_table(params)
        self.vu_code = {v.id: i for i, v in enumerate(params.registry.alla)}
        p = self.lv[["ar", "manad"]].drop_duplicates()
        start = pd.to_datetime(pd.DataFrame({"year": p["ar"], "month": p["manad"], "day": 1}))
        p = p.assign(_d=(start + pd.offsets.MonthEnd(0)).dt.day_of_year.to_numpy())
        self.days = p.set_index(p["ar"] * 100 + p["manad"])["_d"]

    def _set_volumes(self, vols: dict[str, pd.DataFrame]) -> None:
        self.lk, self.vk = self._keyed(self._lk0, vols["kluster"], lambda d: d["vu"] + "|" + d["kluster"])
        self.lu, self.ve = self._keyed(self._lu0, vols["enhet"], lambda d: d["enhet"])
        self._src: dict[tuple, tuple] = {}
        self._groups: dict[bool, tuple] = {}

    def with_volumes(self, vols: dict[str, pd.DataFrame]) -> "_Ctx":
        """A copy computing from other volumes (one gender's person counts), with the same costs."""
        import copy

        other = copy.copy(self)
        other._set_volumes(vols)
        return other

    @staticmethod
    def _keyed(base: pd.DataFrame, vol: pd.DataFrame, entity) -> tuple[pd.DataFrame, pd.DataFrame]:
        codes, _ = pd.factorize(pd.concat([entity(base), entity(vol)], ignore_index=True))
        def key(d, c):
            return c.astype(np.int64) * 1_000_000 + d["ar"].to_numpy(dtype=np.int64) * 100 + d["manad"].to_numpy(dtype=np.int64)
        base = base.assign(_key=key(base, codes[: len(base)]))
        vol = vol.assign(_key=key(vol, codes[len(base):]))
        return base, vol

    def clusters(self, n: Nyckeltal, vu_id: str) -> list[str]:
        return list(n.kluster) if n.kluster else [k.id for k in self.params.vu(vu_id).kluster]

    def base_k(self, n: Nyckeltal) -> pd.DataFrame:
        """(vu, kluster, ar, manad, kostnad_ack, _key) for the figure's VU and clusters."""
        keep = np.zeros(len(self.lk), dtype=bool)
        for v in n.vu:
            keep |= (self.lk["vu"] == v).to_numpy() & self.lk["kluster"].isin(self.clusters(n, v)).to_numpy()
        return self.lk[keep].reset_index(drop=True)

    def base_u(self, n: Nyckeltal, enhet_namn: str | None = None) -> pd.DataFrame:
        """(vu, kluster, enhet, ar, manad, kostnad_ack, _key) for the figure's units (by name when given)."""
        u = self.units
        keep = np.zeros(len(u), dtype=bool)
        for v in n.vu:
            keep |= (u["vu"] == v).to_numpy() & u["kluster"].isin(self.clusters(n, v)).to_numpy()
        if enhet_namn is not None:
            keep &= (u["enhet_namn"] == enhet_namn).to_numpy()
        codes = u.loc[keep, "enhet"]
        return self.lu[self.lu["enhet"].isin(codes)].reset_index(drop=True)

    def base_v(self, n: Nyckeltal) -> pd.DataFrame:
        return self.lv[self.lv["vu"].isin(n.vu)].reset_index(drop=True)

    def _source(self, unit: bool, matt: str, utforare: str) -> tuple[pd.Index, np.ndarray]:
        """(index of ``_key``, values [varde, varde_ack, varde_n]) of one measure and utförare."""
        if unit not in self._groups:
            src = self.ve if unit else self.vk
            self._groups[unit] = (src, src.groupby(["matt", "utforare"], sort=False).indices)
        k = (unit, matt, utforare)
        if k not in self._src:
            src, groups = self._groups[unit]
            pos = groups.get((matt, utforare), np.array([], dtype=np.int64))
            keys = pd.Index(src["_key"].to_numpy()[pos])
            vals = src[["varde", "varde_ack", "varde_n"]].to_numpy(dtype=float)[pos]
            self._src[k] = (keys, vals)
        return self._src[k]

    def vol(self, df: pd.DataFrame, matt: str, utforare: str = "", prefix: str | None = None) -> pd.DataFrame:
        """Add a measure's month value, YTD and months with data as ``<prefix>``, ``_ack``, ``_n``.

        ``df`` is a unit frame (has ``enhet``) or a cluster frame, with ``_key``.
        """
        prefix = prefix or matt
        keys, vals = self._source("enhet" in df.columns, matt, utforare)
        pos = keys.get_indexer(df["_key"].to_numpy())
        out = np.full((len(df), 3), np.nan)
        hit = pos >= 0
        out[hit] = vals[pos[hit]]
        return df.assign(**{prefix: out[:, 0], f"{prefix}_ack": out[:, 1], f"{prefix}_n": out[:, 2]})

    def vol_total(self, df: pd.DataFrame, matt: str, prefix: str | None = None) -> pd.DataFrame:
        """The total over utförare: the 'totalt' rows, or the unsplit rows when there are none."""
        prefix = prefix or matt
        a = self.vol(df, matt, "totalt", "_t")
        b = self.vol(df, matt, "", "_u")
        for suf in ("", "_ack", "_n"):
            a[f"{prefix}{suf}"] = np.where(np.isnan(a[f"_t{suf}"]), b[f"_u{suf}"], a[f"_t{suf}"])
        return a.drop(columns=[f"_t{s}" for s in ("", "_ack", "_n")])

    def d(self, df: pd.DataFrame) -> np.ndarray:
        """Calendar days in months 1..m of each row's period."""
        return self.days.reindex(df["ar"].to_numpy() * 100 + df["manad"].to_numpy()).to_numpy(dtype=float)


def _vu_sum(ctx: "_Ctx", k: pd.DataFrame, v: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Add to the VU frame ``v`` the sums over clusters of ``k``'s ``cols`` (NaN when all are NaN)."""
    def key(d):
        code = pd.Categorical(d["vu"], categories=list(ctx.vu_code)).codes.astype(np.int64)
        return (code * 1_000_000
                + d["ar"].to_numpy(dtype=np.int64) * 100 + d["manad"].to_numpy(dtype=np.int64))
    sums = k[cols].groupby(key(k)).sum(min_count=1).reindex(key(v))
    return v.assign(**{c: sums[c].to_numpy() for c in cols})


def _div(a, b) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((b != 0) & np.isfinite(b), a / b, np.nan)


def _rows(n: Nyckeltal, df: pd.DataFrame, value, *, del_: str, del_namn: str, enhet_matt: str, utforare: str = "",
          avser: str = "ack", jamforelse=None, jamforelse_typ: str = "", person: bool = False, seq: int = 0) -> pd.DataFrame:
    """Standard rows of one part of a figure from a frame with vu, [kluster], [enhet], ar, manad."""
    out = pd.DataFrame({
        "nyckeltal_id": n.id,
        "vu": df["vu"].to_numpy(),
        "kluster": df["kluster"].to_numpy() if "kluster" in df.columns else "",
        "enhet": df["enhet"].to_numpy() if "enhet" in df.columns else "",
        "del": del_, "del_namn": del_namn, "utforare": utforare, "kon": "", "avser": avser,
        "ar": df["ar"].to_numpy(), "manad": df["manad"].to_numpy(),
        "varde": np.asarray(value, dtype=float),
        "enhet_matt": enhet_matt,
        "jamforelse": np.nan if jamforelse is None else np.asarray(jamforelse, dtype=float),
        "jamforelse_typ": jamforelse_typ if jamforelse is not None else "",
        "personantal": bool(person and n.personantal),
        "_seq": seq,
    })
    return out


# --------------------------------------------------------------------------- rules
def _hours_vs_budget(ctx: _Ctx, n: Nyckeltal) -> list[pd.DataFrame]:
    base = ctx.base_k(n)
    parts = []
    df = ctx.vol_total(base, "utforda_timmar", "tot")
    df = ctx.vol(df, "utforda_timmar", "leanlink", "ll")
    df = ctx.vol(df, "utforda_timmar", "privat", "pr")
    df = ctx.vol(df, "budget_timmar", "", "bu")
    cols = [f"{p}{s}" for p in ("tot", "ll", "pr", "bu") for s in ("", "_ack")]
    frames = [df]
    if n.kluster and len(n.kluster) > 1:  # the figure's clusters together
        tot = _vu_sum(ctx, df, ctx.base_v(n)[["vu", "ar", "manad"]], cols)
        tot["kluster"] = ""
        frames.append(tot)
    for f in frames:
        for avser, suf in (("manad", ""), ("ack", "_ack")):
            for seq, (utf, p) in enumerate((("totalt", "tot"), ("leanlink", "ll"), ("privat", "pr"))):
                jam = f[f"bu{suf}"] if utf == "leanlink" else None
                parts.append(_rows(n, f, f[f"{p}{suf}"], del_="utforda_timmar", del_namn="Utförda timmar",
                                   enhet_matt="timmar", utforare=utf, avser=avser, jamforelse=jam,
                                   jamforelse_typ="budgeterade timmar (Leanlink)", seq=seq))
    return parts


def _avg_places(ctx: _Ctx, df: pd.DataFrame) -> pd.DataFrame:
    df = ctx.vol(df, "platser", "", "pl")
    df["_avg"] = _div(df["pl_ack"], df["pl_n"])
    return df


def _cost_per_place(ctx: _Ctx, n: Nyckeltal) -> list[pd.DataFrame]:
    parts = []
    factor = lambda df: 12.0 / df["manad"].to_numpy(dtype=float)  # noqa: E731
    k = _avg_places(ctx, ctx.base_k(n))
    parts.append(_rows(n, k, _div(k["kostnad_ack"] * factor(k), k["_avg"]), del_="kostnad_per_plats",
                       del_namn="Kostnad per plats (årstakt)", enhet_matt="kr/plats"))
    u = _avg_places(ctx, ctx.base_u(n))
    u = u[u.groupby("enhet")["pl_n"].transform("max").fillna(0) > 0]
    if len(u):
        parts.append(_rows(n, u, _div(u["kostnad_ack"] * factor(u), u["_avg"]), del_="kostnad_per_plats",
                           del_namn="Kostnad per plats (årstakt)", enhet_matt="kr/plats"))
    if not n.kluster:
        v = _vu_sum(ctx, k, ctx.base_v(n), ["_avg"])
        F = np.array([fixed_cum(ctx.params, a, int(y))[-1] for a, y in zip(v["vu"], v["ar"])], dtype=float)
        parts.append(_rows(n, v, _div(v["kostnad_ack"] * factor(v), v["_avg"]), del_="kostnad_per_plats",
                           del_namn="Kostnad per plats (årstakt)", enhet_matt="kr/plats",
                           jamforelse=_div(F, v["_avg"]), jamforelse_typ="fastställd ersättning per plats"))
    return parts


def _users_hours(ctx: _Ctx, n: Nyckeltal) -> list[pd.DataFrame]:
    parts = []
    for df in (ctx.base_k(n), ctx.base_u(n)):
        df = ctx.vol(df, "brukare", "", "br")
        df = ctx.vol(df, "oppettimmar", "", "ot")
        df = ctx.vol(df, "oppetdagar", "", "od")
        parts.append(_rows(n, df, _div(df["br_ack"], df["br_n"]), del_="brukare",
                           del_namn="Antal brukare (genomsnitt per månad)", enhet_matt="brukare", person=True, seq=0))
        parts.append(_rows(n, df, _div(df["ot_ack"], df["od_ack"]), del_="timmar_per_dag",
                           del_namn="Öppettimmar per öppetdag", enhet_matt="timmar/dag", seq=1))
    return parts


def _unit_sums(measures: tuple[tuple[str, str, str], ...], split: bool = False, person: bool = False):
    def rule(ctx: _Ctx, n: Nyckeltal) -> list[pd.DataFrame]:
        u = ctx.base_u(n, n.enhet_namn)
        parts = []
        for seq, (matt, label, unit) in enumerate(measures):
            if split:
                df = ctx.vol_total(u, matt, "tot")
                df = ctx.vol(df, matt, "leanlink", "ll")
                df = ctx.vol(df, matt, "privat", "pr")
                for j, (utf, p) in enumerate((("totalt", "tot"), ("leanlink", "ll"), ("privat", "pr"))):
                    parts.append(_rows(n, df, df[f"{p}_ack"], del_=matt, del_namn=label, enhet_matt=unit,
                                       utforare=utf, person=person, seq=seq * 10 + j))
            else:
                df = ctx.vol(u, matt, "", "x")
                parts.append(_rows(n, df, df["x_ack"], del_=matt, del_namn=label, enhet_matt=unit,
                                   person=person, seq=seq))
        return parts
    return rule


def _per_week(ctx: _Ctx, n: Nyckeltal) -> list[pd.DataFrame]:
    u = ctx.vol(ctx.base_u(n, n.enhet_namn), "besokare", "", "x")
    return [_rows(n, u, _div(u["x_ack"], ctx.d(u) / 7.0), del_="besokare_per_vecka",
                  del_namn="Besökare per vecka", enhet_matt="besökare/vecka")]


def _per_day(ctx: _Ctx, n: Nyckeltal) -> list[pd.DataFrame]:
    parts = []
    k = ctx.vol(ctx.base_k(n), "besok", "", "x")
    parts.append(_rows(n, k, _div(k["x_ack"], ctx.d(k)), del_="besok_per_dag", del_namn="Besök per dag",
                       enhet_matt="besök/dag"))
    u = ctx.vol(ctx.base_u(n), "besok", "", "x")
    u = u[u.groupby("enhet")["x_n"].transform("max").fillna(0) > 0]
    if len(u) and u["enhet"].nunique() > 1:
        parts.append(_rows(n, u, _div(u["x_ack"], ctx.d(u)), del_="besok_per_dag", del_namn="Besök per dag",
                           enhet_matt="besök/dag"))
    return parts


def _occupancy(ctx: _Ctx, n: Nyckeltal) -> list[pd.DataFrame]:
    parts = []
    k = ctx.vol(ctx.vol(ctx.base_k(n), "belagda_dygn", "", "bd"), "tillg_dygn", "", "td")
    v = ctx.base_v(n)
    v = _vu_sum(ctx, k, v, ["bd", "bd_ack", "td", "td_ack"])
    avsers = (("manad", ""), ("ack", "_ack")) if n.intervall == "manadsvis" else (("ack", "_ack"),)
    for avser, suf in avsers:
        for df in (k, v):
            parts.append(_rows(n, df, 100.0 * _div(df[f"bd{suf}"], df[f"td{suf}"]), del_="belaggningsgrad",
                               del_namn="Beläggningsgrad", enhet_matt="procent", avser=avser))
    return parts


def _cost_per_day(ctx: _Ctx, n: Nyckeltal) -> list[pd.DataFrame]:
    k = ctx.vol(ctx.base_k(n), "belagda_dygn", "", "bd")
    v = ctx.base_v(n)
    v = _vu_sum(ctx, k, v, ["bd_ack"])
    return [_rows(n, df, _div(df["kostnad_ack"], df["bd_ack"]), del_="varddygnskostnad",
                  del_namn="Kostnad per belagt dygn", enhet_matt="kr/dygn") for df in (k, v)]


def _reference_cost(ctx: _Ctx, n: Nyckeltal) -> list[pd.DataFrame]:
    all_k = ctx.lk[ctx.lk["vu"].isin(n.vu)]
    k = ctx.vol(ctx.vol(all_k, "budget_belagda_dygn", "", "bb"), "belagda_dygn", "", "bd")
    v = _vu_sum(ctx, k, ctx.base_v(n), ["bb_ack", "bd_ack"])
    f_ytd = np.array([fixed_cum(ctx.params, a, int(y))[int(m) - 1]
                      for a, y, m in zip(v["vu"], v["ar"], v["manad"])], dtype=float)
    return [_rows(n, v, _div(f_ytd, v["bb_ack"]), del_="referenskostnad", del_namn="Referenskostnad per dygn",
                  enhet_matt="kr/dygn", jamforelse=_div(v["kostnad_ack"], v["bd_ack"]),
                  jamforelse_typ="utfall: kostnad per belagt dygn")]


def _hours_planned(per_hour: bool):
    def rule(ctx: _Ctx, n: Nyckeltal) -> list[pd.DataFrame]:
        k = ctx.vol(ctx.base_k(n), "planerade_timmar", "", "pt")
        v = _vu_sum(ctx, k, ctx.base_v(n), ["pt_ack"])
        if per_hour:
            return [_rows(n, df, _div(df["kostnad_ack"], df["pt_ack"]), del_="kostnad_per_timme",
                          del_namn="Kostnad per planerad timme", enhet_matt="kr/timme") for df in (k, v)]
        return [_rows(n, df, df["pt_ack"], del_="planerade_timmar", del_namn="Planerade timmar",
                      enhet_matt="timmar") for df in (k, v)]
    return rule


RULES: dict[str, Callable[[_Ctx, Nyckeltal], list[pd.DataFrame]]] = {
    "hemtjanst_timmar": _hours_vs_budget,
    "hemsjukvard_hemrehab_timmar": _hours_vs_budget,
    "dagverksamhet_kostnad_per_plats": _cost_per_place,
    "dagverksamhet_brukare_timmar": _users_hours,
    "demenscenter_utredningar": _unit_sums((("utredningar", "Utredningar", "antal"),
                                            ("handledningar", "Handledningar", "antal")), split=True),
    "seniormottagningen_besok": _unit_sums((("unika_besok", "Unika besök", "besök"),), person=True),
    "anhorigcenter_besok": _unit_sums((("unika_besok", "Unika besök", "besök"),), person=True),
    "fixartjanst_besok": _unit_sums((("unika_besok", "Unika besök", "besök"),), person=True),
    "heminstruktorer_besok": _unit_sums((("unika_besok", "Unika besök", "besök"),), person=True),
    "hagdahlska_besokare": _per_week,
    "kultur_fritid_besok": _unit_sums((("digitala_besok", "Digitala besök", "besök"),
                                       ("fysiska_besok", "Fysiska besök", "besök"))),
    "psykiatrisk_hsv_besok_per_dag": _per_day,
    "vb_belaggningsgrad": _occupancy,
    "vb_varddygnskostnad": _cost_per_day,
    "vb_referenskostnad": _reference_cost,
    "buf_kostnad_per_timme": _hours_planned(True),
    "buf_planerade_timmar": _hours_planned(False),
    "vux_kostnad_per_timme": _hours_planned(True),
    "vux_planerade_timmar": _hours_planned(False),
    "bobu_kostnad_per_plats": _cost_per_place,
    "bobu_belaggningsgrad": _occupancy,
    "bovux_kostnad_per_plats": _cost_per_place,
    "bovux_belaggningsgrad": _occupancy,
}


# --------------------------------------------------------------------------- gender split
class _GenderData:
    """One gender's person counts standing in for the volumes (for :func:`monthly_volumes`)."""

    def __init__(self, dataset, volymer: pd.DataFrame, kon: str):
        self.ledger = dataset.ledger
        self.volymer = volymer
        fp = getattr(dataset, "fingerprint", "")
        self.fingerprint = f"{fp}:kon:{kon}" if fp else ""


def _gender_frames(params: Params, dataset, ctx: _Ctx) -> list[pd.DataFrame]:
    """Rows of women and men (``kon`` 'K' / 'M') of the person counts, where the data splits them.

    Each person rule is run again on one gender's counts (the same costs and months). A unit row
    comes from the unit's own K/M rows; a cluster row only when every unit of the cluster with a
    total that year also has a split (otherwise the cluster's women and men would be undercounted).
    """
    vk = getattr(dataset, "volymer_kon", None)
    if vk is None or vk.empty:
        return []
    tot = dataset.volymer
    tot = tot[tot["enhet"] != ""][["vu", "kluster", "enhet", "matt", "period", "ar"]].drop_duplicates()
    split = vk[["vu", "kluster", "enhet", "matt", "period"]].drop_duplicates().assign(_s=True)
    cov = tot.merge(split, on=["vu", "kluster", "enhet", "matt", "period"], how="left")
    incomplete = set(map(tuple, cov.loc[cov["_s"].isna(), ["vu", "kluster", "matt", "ar"]].drop_duplicates()
                         .itertuples(index=False)))
    frames = []
    for kon in ("K", "M"):
        sub = vk[vk["kon"] == kon].drop(columns="kon")
        if sub.empty:
            continue
        gctx = ctx.with_volumes(monthly_volumes(params, _GenderData(dataset, sub, kon)))
        for i, n in enumerate(params.katalog.nyckeltal):
            rule = RULES.get(n.id)
            if rule is None or not n.personantal:
                continue
            for f in rule(gctx, n):
                f = f[f["personantal"] & f["varde"].notna()]
                if f.empty:
                    continue
                drop = np.array([e == "" and (v, k, d, int(a)) in incomplete
                                 for v, k, e, d, a in zip(f["vu"], f["kluster"], f["enhet"], f["del"], f["ar"])],
                                dtype=bool)
                f = f[~drop].assign(kon=kon, _fig=i)
                if not f.empty:
                    frames.append(f)
    return frames


# --------------------------------------------------------------------------- masking
def _mask(df: pd.DataFrame, grans: np.ndarray) -> np.ndarray:
    """Primary and secondary small-count masking; returns the boolean mask (see module docstring)."""
    if "kon" not in df.columns:
        df = df.assign(kon="")
    v = df["varde"].to_numpy(dtype=float)
    person = df["personantal"].to_numpy(dtype=bool)
    mask = person & (v > 0) & (v < grans)
    if not mask.any():
        return mask
    idx = np.flatnonzero(person)
    sub = df.iloc[idx]
    fams = list(zip(*(sub[c].to_numpy() for c in ("nyckeltal_id", "del", "utforare", "avser", "ar", "manad", "vu",
                                                   "kon"))))
    vals = v[idx]
    m = mask[idx].copy()
    families: dict[tuple, list] = {}  # key -> [total position or None, member positions]
    for i, (f, k, e) in enumerate(zip(fams, sub["kluster"].to_numpy(), sub["enhet"].to_numpy())):
        # a total and its women and men (complementary masking across genders)
        g = families.setdefault((f[:-1], "kon", k, e), [None, []])
        if f[-1] == "":
            g[0] = i
        else:
            g[1].append(i)
        if e != "":
            families.setdefault((f, "kluster", k), [None, []])[1].append(i)
        elif k != "":
            families.setdefault((f, "kluster", k), [None, []])[0] = i
            families.setdefault((f, "vu"), [None, []])[1].append(i)
        else:
            families.setdefault((f, "vu"), [None, []])[0] = i

    def smallest(cands):
        cands = [c for c in cands if not np.isnan(vals[c])]
        return min(cands, key=lambda c: (vals[c], c)) if cands else None

    for _ in range(100):
        changed = False
        for total, members in families.values():
            if total is None or not members:
                continue
            n_masked = sum(bool(m[c]) for c in members)
            if not m[total] and n_masked == 1:
                pick = smallest([c for c in members if not m[c]])
                m[total if pick is None else pick] = True
                changed = True
            elif m[total] and n_masked == 0:
                pick = smallest([c for c in members if vals[c] > 0])
                if pick is not None:
                    m[pick] = True
                    changed = True
        if not changed:
            break
    mask[idx] = m
    return mask


# --------------------------------------------------------------------------- assembly
def _grans(params: Params, years: np.ndarray) -> np.ndarray:
    last = params.modellar(params.sista_ar).sma_tal_grans
    return np.array([params.ar[int(y)].sma_tal_grans if int(y) in params.ar else last for y in years], dtype=float)


def _state(params: Params, n: Nyckeltal, y: int, m: int) -> str:
    try:
        return key_figure_state(params, n, month_str(y, m))
    except Exception:  # a data year without a model year
        return "modellår saknas"


def _all(params: Params, dataset) -> pd.DataFrame:
    def build():
        ctx = _Ctx(params, dataset)
        frames = []
        for i, n in enumerate(params.katalog.nyckeltal):
            rule = RULES.get(n.id)
            if rule is None:
                continue
            for f in rule(ctx, n):
                f["_fig"] = i
                frames.append(f)
        frames += _gender_frames(params, dataset, ctx)
        if not frames:
            return pd.DataFrame(columns=COLUMNS + ["_o"])
        df = pd.concat(frames, ignore_index=True)
        cat = {n.id: n for n in params.katalog.nyckeltal}
        first = df["nyckeltal_id"].map({k: n.forsta_ar for k, n in cat.items()})
        df = df[df["ar"] >= first].reset_index(drop=True)

        df["namn"] = df["nyckeltal_id"].map({k: n.namn for k, n in cat.items()})
        df["intervall"] = df["nyckeltal_id"].map({k: n.intervall for k, n in cat.items()})
        df["intervall_namn"] = df["intervall"].map(INTERVAL_LABELS)
        combos = df[["nyckeltal_id", "ar", "manad"]].drop_duplicates()
        states = {(a, int(y), int(m)): _state(params, cat[a], int(y), int(m)) for a, y, m in combos.itertuples(index=False)}
        df["status"] = [states[k] for k in zip(df["nyckeltal_id"], df["ar"].astype(int), df["manad"].astype(int))]
        df["aktuell"] = df["status"] == STATUS_DUE
        df["period"] = [month_str(int(y), int(m)) for y, m in zip(df["ar"], df["manad"])]

        # names and order
        cl = cluster_table(params)
        df = df.merge(cl[["vu", "kluster", "kluster_namn", "_o_kluster"]], on=["vu", "kluster"], how="left")
        vu_order = {v.id: i for i, v in enumerate(params.registry.alla)}
        df["kluster_namn"] = df["kluster_namn"].fillna("")
        df.loc[df["kluster"] == "", "kluster_namn"] = "Hela uppdraget"
        mixed = (df["kluster"] == "") & (df["nyckeltal_id"].map(lambda i: bool(cat[i].kluster)))
        df.loc[mixed, "kluster_namn"] = "Samtliga kluster i nyckeltalet"
        un = unit_table(params).set_index("enhet")
        df["enhet_namn"] = df["enhet"].map(un["enhet_namn"]).fillna("")
        df["_o_enhet"] = df["enhet"].map(un["_o_enhet"]).fillna(-1)
        df["_o_kluster"] = df["_o_kluster"].fillna(df["vu"].map(vu_order) * 100 + 99)
        df["_o_utf"] = df["utforare"].map({"totalt": 0, "leanlink": 1, "privat": 2, "": 0})
        df["_o_avser"] = df["avser"].map(AVSER_ORDER)
        df["_o_kon"] = df["kon"].map({"": 0, "K": 1, "M": 2})

        # masking
        grans = _grans(params, df["ar"].to_numpy())
        mask = _mask(df, grans)
        df["maskerad"] = mask
        df.loc[mask, "varde"] = np.nan
        df["maskerad_text"] = np.where(mask, "<" + pd.Series(grans).astype(int).astype(str).to_numpy(), "")
        df["avvikelse"] = df["varde"] - df["jamforelse"]
        df = df.sort_values(["ar", "manad", "_fig", "_o_kluster", "_o_enhet", "_seq", "_o_utf", "_o_kon", "_o_avser"],
                            kind="stable")
        return df[COLUMNS].reset_index(drop=True)

    return as_tables(params, dataset).get("nyckeltal", build)


def nyckeltal(params: Params, dataset, year, month: int | None = None, vu: str | None = None,
              endast_aktuella: bool = False, kon: bool = False) -> pd.DataFrame:
    """Every key figure followed at a period, as one long table.

    Parameters
    ----------
    params : Params
    dataset : Dataset
    year : int or str
        The year, or the month ``'YYYY-MM'`` when ``month`` is omitted.
    month : int, optional
    vu : str, optional
        Only the figures of this VU (default: all VU).
    endast_aktuella : bool
        Only the figures due at the period (``status == 'aktuell'``).
    kon : bool
        Also the rows of women and men (``kon`` 'K' / 'M') of person counts split by gender;
        by default only the totals (``kon == ''``).

    Returns
    -------
    pandas.DataFrame
        One row per figure, VU, cluster (``''``: the VU as a whole, or the
        figure's clusters together), unit (``''``: not a unit row), part
        (``del``), utförare and ``avser`` ('manad' | 'ack'): ``nyckeltal_id``,
        ``namn``, ``vu``, ``kluster``, ``kluster_namn``, ``enhet``,
        ``enhet_namn``, ``del``, ``del_namn``, ``utforare``, ``avser``, ``ar``,
        ``manad``, ``period``, ``varde``, ``enhet_matt``, ``jamforelse`` and
        ``jamforelse_typ`` (e.g. budget), ``avvikelse`` (varde − jamforelse),
        ``intervall``, ``intervall_namn``, ``status``, ``aktuell``,
        ``personantal``, ``maskerad``, ``maskerad_text``. Rules and masking:
        see the module docstring.
    """
    year, month = ym(year, month)
    if vu is not None:
        params.vu(vu)
    df = _all(params, dataset)
    if not kon:
        df = df[df["kon"] == ""]
    if vu is not None:
        df = df[df["vu"] == vu]
    if endast_aktuella:
        df = df[df["aktuell"]]
    return at_period(params, dataset, df, year, month)


def nyckeltal_all(params: Params, dataset, vu: str | None = None, kon: bool = False) -> pd.DataFrame:
    """:func:`nyckeltal` for every month with data, stacked (all VU, or one)."""
    df = _all(params, dataset)
    if not kon:
        df = df[df["kon"] == ""]
    if vu is not None:
        df = df[df["vu"] == vu]
    return at_data_periods(params, dataset, df)


def ej_foljda(params: Params, year, month: int | None = None, vu: str | None = None) -> pd.DataFrame:
    """The key figures not followed at a period.

    A figure is not followed when the period's year is before its first year
    (``forsta_ar``; status ``'följs upp från <år>'``), or when this module has
    no rule for it (status ``'beräkningsregel saknas'``).

    Returns
    -------
    pandas.DataFrame
        ``nyckeltal_id``, ``namn``, ``vu`` (one row per VU of the figure),
        ``intervall``, ``intervall_namn``, ``forsta_ar``, ``status``.
    """
    year, month = ym(year, month)
    rows = []
    for n in params.katalog.nyckeltal:
        if year < n.forsta_ar:
            status = f"följs upp från {n.forsta_ar}"
        elif n.id not in RULES:
            status = "beräkningsregel saknas"
        else:
            continue
        for v in n.vu:
            if vu is None or v == vu:
                rows.append({"nyckeltal_id": n.id, "namn": n.namn, "vu": v, "intervall": n.intervall,
                             "intervall_namn": INTERVAL_LABELS[n.intervall], "forsta_ar": n.forsta_ar, "status": status})
    cols = ["nyckeltal_id", "namn", "vu", "intervall", "intervall_namn", "forsta_ar", "status"]
    return stamp(pd.DataFrame(rows, columns=cols), trace_for(params, None, year, month))
