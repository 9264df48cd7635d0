"""Full-year forecast (helårsprognos) per VU at any month, by two methods.

At month ``m`` of year ``Y`` with year-to-date amounts ``X_ack`` (see
:mod:`vu_lib.results`):

**(a) Run-rate (årstakt).**

.. math::

    \\hat{K} &= \\text{kostnad}_{ack} \\cdot 12 / m, \\qquad
    \\hat{O} = \\text{ovrig\\_intakt}_{ack} \\cdot 12 / m \\\\
    \\hat{E} &= F_{v,Y} + \\text{rorlig}_{ack} \\cdot 12 / m, \\qquad
    \\text{rorlig}_{ack} = \\text{ersattning}_{ack} - \\sum_{k \\le m} p_{v,k} \\\\
    \\hat{M} &= \\text{medel}_{ack} \\\\
    \\hat{R} &= \\hat{E} + \\hat{M} + \\hat{O} - \\hat{K}

``F_{v,Y}`` is the year's fixed compensation
(:func:`vu_lib.compensation.fixed_compensation`, revisions included) and
``p_{v,k}`` its monthly parts (:func:`vu_lib.compensation.monthly_fixed`), so
``rorlig_ack`` is the variable compensation as booked. A VU with fixed
compensation only (registry ``form: fast``, and EKB) has ``rorlig = 0`` and
``Ê = F``. Changes of funds are one-off decisions: the forecast takes those
received to date (booked kontoslag medel) and does not extrapolate them.

**(b) Last year's monthly profile (fjolårsprofil).** For each of ersattning,
ovrig_intakt and kostnad, with ``X^{Y-1}`` last year's outcome:

.. math::

    \\hat{X} = X_{ack} / s_X, \\qquad
    s_X = \\frac{\\sum_{k \\le m} X^{Y-1}_k}{\\sum_{k \\le 12} X^{Y-1}_k}

and ``M̂ = medel_ack`` as in (a). When a component's share cannot be formed
(last year's full-year amount or its months 1..m are 0) the component is 0
if nothing was booked this year either, else it falls back to the run-rate
and ``profil_notering`` says so. When last year is not complete in the data
(all twelve months in the ledger), e.g. the first data year, every ``profil_*``
amount is NaN and ``profil_notering`` says why.

``skillnad_resultat = arstakt_resultat − profil_resultat``.

At ``m = 12`` the profile method gives the year's outcome, and so does the
run-rate for a VU with variable compensation; for a VU with fixed
compensation only, the run-rate takes ``F`` rather than the compensation
booked, so the two differ by any booking that departs from the schedule.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from vu_lib.model.compensation import fixed_compensation, monthly_fixed
from vu_lib.core.exceptions import ParamsError
from vu_lib.core.params import Params
from vu_lib.model.ledger import (at_data_periods, at_period, level_frame, ym, as_tables, unit_table)

COMPONENTS = ("ersattning", "ovrig_intakt", "kostnad")
COMPONENT_LABELS = {"ersattning": "ersättning", "ovrig_intakt": "övriga intäkter", "kostnad": "kostnader"}

FORECAST_COLUMNS = [
    "radtyp", "namnd", "vu", "namn", "separat", "ar", "manad", "period",
    "ersattning_ack", "fast_ack", "rorlig_ack", "medel_ack", "ovrig_intakt_ack", "kostnad_ack", "resultat_ack",
    "fast_helar", "arstakt_rorlig", "arstakt_ersattning", "arstakt_medel", "arstakt_ovrig_intakt",
    "arstakt_kostnad", "arstakt_resultat",
    "profil_andel_kostnad", "profil_ersattning", "profil_medel", "profil_ovrig_intakt", "profil_kostnad",
    "profil_resultat", "skillnad_resultat", "profil_notering",
]
_MONEY = [c for c in FORECAST_COLUMNS if c not in
          ("radtyp", "namnd", "vu", "namn", "separat", "ar", "manad", "period", "profil_andel_kostnad", "profil_notering")]


@functools.lru_cache(maxsize=512)
def _fixed_schedule(params: Params, vu_id: str, year: int) -> tuple[float, tuple[float, ...]]:
    """``(F, cumulative monthly parts)``; NaN when the year has no model year."""
    try:
        parts = monthly_fixed(params, vu_id, year)
        return float(fixed_compensation(params, vu_id, year)), tuple(np.cumsum(parts).astype(float))
    except ParamsError:
        return float("nan"), tuple([float("nan")] * 12)


def _complete_years(dataset) -> set[int]:
    led = dataset.ledger
    n = led.groupby("ar")["manad"].nunique()
    return {int(y) for y, k in n.items() if k == 12}


def _forecast_all(params: Params, dataset) -> pd.DataFrame:
    def build():
        vu = level_frame(params, dataset, "vu").rename(columns={"vu_namn": "namn"})
        keep = ["namnd", "vu", "namn", "separat", "ar", "manad", "period",
                "ersattning_ack", "medel_ack", "ovrig_intakt_ack", "kostnad_ack", "resultat_ack"]
        df = vu[keep].copy()
        df["separat"] = df["separat"].astype(bool)
        forms = {v.id: v.ersattning.form for v in params.registry.alla}

        # fixed compensation and its scheduled parts to date
        pairs = df[["vu", "ar"]].drop_duplicates()
        F, cum = {}, {}
        for v, y in pairs.itertuples(index=False):
            F[(v, y)], cum[(v, y)] = _fixed_schedule(params, v, int(y))
        key = list(zip(df["vu"], df["ar"]))
        df["fast_helar"] = [F[k] for k in key]
        df["fast_ack"] = [cum[k][m - 1] for k, m in zip(key, df["manad"])]
        variable = df["vu"].map(forms).ne("fast").to_numpy()
        df["rorlig_ack"] = np.where(variable, df["ersattning_ack"] - df["fast_ack"], 0.0)

        m = df["manad"].to_numpy(dtype=float)
        f = 12.0 / m
        df["arstakt_rorlig"] = df["rorlig_ack"] * f
        df["arstakt_ersattning"] = df["fast_helar"] + df["arstakt_rorlig"]
        df["arstakt_medel"] = df["medel_ack"]
        df["arstakt_ovrig_intakt"] = df["ovrig_intakt_ack"] * f
        df["arstakt_kostnad"] = df["kostnad_ack"] * f
        df["arstakt_resultat"] = (df["arstakt_ersattning"] + df["arstakt_medel"] + df["arstakt_ovrig_intakt"]
                                  - df["arstakt_kostnad"])

        # last year's profile
        comp_ack = [f"{c}_ack" for c in COMPONENTS]
        ly = vu[["vu", "ar", "manad"] + comp_ack].copy()
        ly["ar"] = ly["ar"] + 1
        ly_m = ly.rename(columns={c: f"_ly_{c}" for c in comp_ack})
        ly_full = ly[ly["manad"] == 12].drop(columns="manad").rename(columns={c: f"_lyf_{c}" for c in comp_ack})
        df = df.merge(ly_m, on=["vu", "ar", "manad"], how="left").merge(ly_full, on=["vu", "ar"], how="left")
        complete = _complete_years(dataset)
        has_ly = df["ar"].sub(1).isin(complete).to_numpy()
        notes = [np.where(has_ly, "", "Inget fullständigt utfall för " + (df["ar"] - 1).astype(str)
                          + ": profilmetoden kan inte användas")]
        for c in COMPONENTS:
            ack = df[f"{c}_ack"].to_numpy(dtype=float)
            part = df[f"_ly_{c}_ack"].to_numpy(dtype=float)
            full = df[f"_lyf_{c}_ack"].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where((full != 0) & (part != 0), part / full, np.nan)
                fc = ack / share
            ok = np.isfinite(share) & (share > 0)
            runrate = ack * f
            fc = np.where(ok, fc, np.where(ack == 0, 0.0, runrate))
            fallback = has_ly & ~ok & (ack != 0)
            notes.append(np.where(fallback, f"Ingen fjolårsprofil för {COMPONENT_LABELS[c]}: årstakt används", ""))
            df[f"profil_{c}"] = np.where(has_ly, fc, np.nan)
            if c == "kostnad":
                df["profil_andel_kostnad"] = np.where(has_ly, share, np.nan)
        df["profil_medel"] = np.where(has_ly, df["medel_ack"], np.nan)
        df["profil_resultat"] = (df["profil_ersattning"] + df["profil_medel"] + df["profil_ovrig_intakt"]
                                 - df["profil_kostnad"])
        df["skillnad_resultat"] = df["arstakt_resultat"] - df["profil_resultat"]
        note = pd.Series([""] * len(df), index=df.index)
        for n in notes:
            n = pd.Series(n, index=df.index)
            note = np.where((note != "") & (n != ""), note + "; " + n, note + n)
            note = pd.Series(note, index=df.index)
        df["profil_notering"] = note
        in_nine = df["vu"].isin(params.vu_ids()).to_numpy()
        known = df["vu"].isin(params.vu_ids(include_separata=True)).to_numpy()
        df["radtyp"] = np.where(in_nine, "vu", np.where(known, "separat", "okand"))

        # total of the nine per period (NaN when any VU's profile is NaN)
        nine = df[in_nine]
        per = ["ar", "manad", "period"]
        tot = nine.groupby(per, as_index=False)[_MONEY].sum()
        nan_any = nine[per + _MONEY].isna().groupby([nine[c] for c in per]).any().reset_index(drop=True)
        for c in _MONEY:
            tot.loc[nan_any[c].to_numpy(), c] = np.nan
        tot["profil_andel_kostnad"] = np.nan
        tot_ly = tot["ar"].sub(1).isin(complete).to_numpy()
        fb = nine["profil_notering"].str.contains("årstakt används", regex=False).groupby(
            [nine[c] for c in per]).any().to_numpy()
        tot["profil_notering"] = np.where(
            ~tot_ly, "Inget fullständigt utfall för " + (tot["ar"] - 1).astype(str) + ": profilmetoden kan inte användas",
            np.where(fb, "Årstakt används för någon komponent i något uppdrag (se raderna)", ""))
        tot["radtyp"], tot["namnd"], tot["vu"], tot["namn"], tot["separat"] = "totalt", "", "", "Summa nio verksamhetsuppdrag", False
        order = unit_table(params).drop_duplicates("vu").set_index("vu")["_o_vu"]
        df["_o"] = df["vu"].map(order).fillna(900).to_numpy() + np.where(in_nine, 0, 1000)
        tot["_o"] = 500
        out = pd.concat([df, tot], ignore_index=True).sort_values(["ar", "manad", "_o"], kind="stable")
        out[_MONEY] = out[_MONEY].astype(float).round(2) + 0.0
        return out[FORECAST_COLUMNS].reset_index(drop=True)

    return as_tables(params, dataset).get("forecast", build)


def forecast(params: Params, dataset, year, month: int | None = None) -> pd.DataFrame:
    """Helårsprognos per VU at a month, by run-rate and by last year's profile.

    Parameters
    ----------
    params : Params
    dataset : Dataset
    year : int or str
        The year, or the month ``'YYYY-MM'`` (or a Period) when ``month`` is omitted.
    month : int, optional
        The last month with outcome (1..12).

    Returns
    -------
    pandas.DataFrame
        One row per VU (``radtyp == 'vu'``; the nine in registry order), the
        total of the nine (``'totalt'``), EKB (``'separat'``) and, only when the
        ledger has codes the registry does not know, their line (``'okand'``). Columns:
        year-to-date outcome (``ersattning_ack``, ``fast_ack`` the fixed parts
        paid to date, ``rorlig_ack``, ``medel_ack``, ``ovrig_intakt_ack``,
        ``kostnad_ack``, ``resultat_ack``), ``fast_helar`` (F), the run-rate
        forecast ``arstakt_*``, the profile forecast ``profil_*`` with
        ``profil_andel_kostnad`` (the share ``s`` of last year's cost that fell
        in months 1..m), ``skillnad_resultat`` and ``profil_notering``. See the
        module docstring for the formulas.
    """
    year, month = ym(year, month)
    return at_period(params, dataset, _forecast_all(params, dataset), year, month)


def forecast_all(params: Params, dataset) -> pd.DataFrame:
    """:func:`forecast` for every month with data, stacked."""
    return at_data_periods(params, dataset, _forecast_all(params, dataset))


METHOD_NAMES = {"profil": "fjolårets månadsprofil", "arstakt": "årstakt"}


def prognosis(params: Params, dataset, year, month: int | None = None, vu_ids=None) -> pd.DataFrame:
    """The report's one full-year prognosis per VU, with the other method as its range.

    The method is the VU's parameter (:meth:`vu_lib.params.Params.prognosval`:
    ``prognos`` in ``params/registry.yaml``, per VU or the registry default, with
    its reason). When the chosen method cannot be used (the profile without a
    complete last year), the other one is the prognosis and ``reserv`` says so.

    Returns
    -------
    pandas.DataFrame
        Per VU (``vu_ids``, default the nine and EKB, in that order): ``vu``,
        ``namn``, ``metod`` ('profil' | 'arstakt', the one used), ``metod_namn``,
        ``motivering``, ``reserv`` (True when the parameter's method could not be
        used), ``prognos`` (kr), ``alternativ_metod``, ``alternativ`` (kr, NaN when
        that method cannot be used), ``lag``, ``hog`` (the range: the smaller and
        the larger of the two), ``resultat_ack``, ``ersattning_ack``, ``intakter_ack``.
    """
    fc = forecast(params, dataset, year, month)
    ids = list(vu_ids) if vu_ids is not None else params.vu_ids(include_separata=True)
    rows = []
    for vu in ids:
        sel = fc[fc["vu"] == vu]
        if sel.empty:
            continue
        f = sel.iloc[0]
        val = params.prognosval(vu)
        vals = {"profil": f["profil_resultat"], "arstakt": f["arstakt_resultat"]}
        metod = val.metod
        reserv = False
        if pd.isna(vals[metod]):
            metod, reserv = ("arstakt" if metod == "profil" else "profil"), True
        other = "arstakt" if metod == "profil" else "profil"
        p, a = float(vals[metod]), float(vals[other])
        both = [x for x in (p, a) if np.isfinite(x)]
        rows.append({
            "vu": vu, "namn": f["namn"], "metod": metod, "metod_namn": METHOD_NAMES[metod],
            "motivering": val.motivering, "reserv": reserv, "prognos": round(p, 2),
            "alternativ_metod": other, "alternativ": round(a, 2) if np.isfinite(a) else np.nan,
            "lag": round(min(both), 2) if both else np.nan, "hog": round(max(both), 2) if both else np.nan,
            "resultat_ack": float(f["resultat_ack"]), "ersattning_ack": float(f["ersattning_ack"]),
            "intakter_ack": float(f["ersattning_ack"] + f["medel_ack"] + f["ovrig_intakt_ack"]),
            "profil_notering": f["profil_notering"],
        })
    return pd.DataFrame(rows)


def prognosis_total(prog: pd.DataFrame) -> dict:
    """Σ over the rows of :func:`prognosis`: the prognosis is the sum of each VU's prognosis, the range
    the sum of each VU's low and of each VU's high end (so it holds every VU's range at once)."""
    return {"prognos": round(float(prog["prognos"].sum()), 2), "lag": round(float(prog["lag"].sum()), 2),
            "hog": round(float(prog["hog"].sum()), 2), "resultat_ack": round(float(prog["resultat_ack"].sum()), 2),
            "intakter_ack": round(float(prog["intakter_ack"].sum()), 2),
            "ersattning_ack": round(float(prog["ersattning_ack"].sum()), 2)}
