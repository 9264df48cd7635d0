"""Small helpers for model tests: a Dataset from a few hand-written rows.

Usage::

    from modelkit import L, V, make_dataset, params, row

    ds = make_dataset(
        volymer=[{"period": "2026-03", "vu": "AN-OMR-NV", "kluster": "hemtjanst",
                  "matt": "utforda_timmar", "utforare": "leanlink", "varde": 100}],
        ledger=[{"period": "2026-03", "kodtyp": "KOMPLEMENT", "vu": "AN-OMR-NV",
                 "kluster": "hemtjanst", "kontoslag": "overforing", "belopp": 1000.0}],
    )

Each row is a dict; ``ar`` and ``manad`` are filled from ``period`` and the
optional columns (``enhet``, ``utforare``, ``kodtyp`` …) get their defaults.
:func:`L` and :func:`V` write a ledger and a volume row positionally, and
:func:`row` picks the one result row a test checks.
"""
from __future__ import annotations

import hashlib
from typing import Iterable

import pandas as pd

from vu_lib.data.dataset import Dataset
from vu_lib.core.params import Modellar, Params, load_params

COLUMNS = {
    "ledger": ["period", "ar", "manad", "kodtyp", "vu", "kluster", "enhet", "kontoslag", "belopp"],
    "volymer": ["period", "ar", "manad", "vu", "kluster", "enhet", "matt", "utforare", "varde"],
    "bemanning": ["period", "ar", "manad", "vu", "kluster", "enhet", "utbildningsniva", "arsarbetare"],
    "medel": ["id", "period", "ar", "manad", "vu", "typ", "belopp", "beskrivning",
              "aterrapporteringskrav", "aterrapportering_senast"],
}
DEFAULTS = {
    "kodtyp": "ID",
    "enhet": "",
    "utforare": "",
    "kluster": "",
    "typ": "statsbidrag",
    "beskrivning": "",
    "aterrapporteringskrav": "",
    "aterrapportering_senast": "",
}
FLOATS = {"belopp", "varde", "arsarbetare"}


def params() -> Params:
    """The project's real params (cached by :func:`load_params`)."""
    return load_params()


def L(period: str, vu: str, kluster: str, enhet: str, kontoslag: str, belopp, kodtyp: str = "ID") -> dict:
    """A ledger row: ``L("2026-01", "AN-OMR-NV", "hemtjanst", "411110", "personal", 600)``."""
    return {"period": period, "kodtyp": kodtyp, "vu": vu, "kluster": kluster, "enhet": enhet,
            "kontoslag": kontoslag, "belopp": float(belopp)}


def V(period: str, vu: str, kluster: str, matt: str, varde, utforare: str = "", enhet: str = "") -> dict:
    """A volume row: ``V("2026-01", "AN-OMR-NV", "hemtjanst", "utforda_timmar", 100, "leanlink")``."""
    return {"period": period, "vu": vu, "kluster": kluster, "enhet": enhet, "matt": matt,
            "utforare": utforare, "varde": float(varde)}


def row(df: pd.DataFrame, **keys) -> pd.Series:
    """The one row of ``df`` whose columns equal ``keys``; fails the test unless there is exactly one."""
    sel = df
    for k, v in keys.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, f"{keys}: {len(sel)} rader"
    return sel.iloc[0]


def frame(kind: str, rows: Iterable[dict] = ()) -> pd.DataFrame:
    """A frame of ``kind`` ('ledger', 'volymer', 'bemanning', 'medel') from row dicts."""
    cols = COLUMNS[kind]
    out = []
    for i, r in enumerate(rows):
        unknown = set(r) - set(cols)
        if unknown:
            raise KeyError(f"{kind}: okända kolumner {sorted(unknown)}")
        row = {c: r.get(c, DEFAULTS.get(c)) for c in cols}
        y, m = (int(x) for x in row["period"].split("-"))
        row["ar"], row["manad"] = y, m
        if kind == "medel" and row["id"] is None:
            row["id"] = f"MED-{i + 1}"
        missing = [c for c in cols if row[c] is None]
        if missing:
            raise KeyError(f"{kind}: rad {i + 1} saknar {missing}")
        out.append(row)
    df = pd.DataFrame(out, columns=cols)
    for c in cols:
        if c in FLOATS:
            df[c] = df[c].astype(float)
        elif c in ("ar", "manad"):
            df[c] = df[c].astype(int)
    return df


def make_dataset(ledger=(), volymer=(), bemanning=(), medel=(), source: str = "testdata") -> Dataset:
    """A :class:`Dataset` from hand-written rows, with a content fingerprint."""
    frames = {k: frame(k, rows) for k, rows in
              (("ledger", ledger), ("volymer", volymer), ("bemanning", bemanning), ("medel", medel))}
    h = hashlib.sha256()
    for k, df in frames.items():
        h.update(k.encode())
        h.update(df.to_csv(index=False).encode())
    return Dataset(**frames, fingerprint=h.hexdigest()[:16], source=source)


def with_year(p: Params, year: int, **updates) -> Params:
    """A copy of ``p`` with fields of model year ``year`` replaced (e.g. ``index=...``).

    The copy is a new object, so the model's caches (keyed by identity) do not mix
    it up with the real params.
    """
    years = dict(p.ar)
    years[year] = Modellar.model_validate({**p.ar[year].model_dump(), **updates})
    return p.model_copy(update={"ar": years})


def without_year(p: Params, year: int) -> Params:
    """A copy of ``p`` without model year ``year``."""
    years = {y: m for y, m in p.ar.items() if y != year}
    return p.model_copy(update={"ar": years})
