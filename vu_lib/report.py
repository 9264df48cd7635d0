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

import functools
import html
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
    """The Dataset of ``store`` ('' or None: the default store; no store: the sample).

    Uses :func:`vu_lib.data.load_dataset`. While that is not available (it is
    being written), falls back to reading the embedded sample with
    :mod:`vu_lib.readers` (see :func:`_sample_dataset`).
    """
    from . import data as data_mod

    loader = getattr(data_mod, "load_dataset", None)
    arg = None if store in ("", None) else store
    if loader is not None:
        return loader(arg) if arg is not None else loader()
    return _sample_dataset()


@functools.lru_cache(maxsize=1)
def _sample_dataset():
    """The embedded sample as a Dataset, read with the project's own readers (adapter)."""
    import datetime as dt
    import hashlib
    import tempfile

    from .data import Dataset
    from .readers import read_files
    from .sample import LAST_MONTH, write_sample

    params = load_params()
    with tempfile.TemporaryDirectory() as d:
        paths = write_sample(Path(d))
        parsed, problems = read_files(paths, params=params, today=dt.date(LAST_MONTH[0], LAST_MONTH[1], 28))
    if problems:
        raise RuntimeError("exempeldata kunde inte läsas: " + "; ".join(map(str, problems[:3])))
    frames: dict[str, list[pd.DataFrame]] = {}
    for p in parsed:
        frames.setdefault(p.kind.name, []).append(p.frame)
    units = {}
    for vu in params.registry.alla:
        for e in vu.enheter:
            units[e.id_kod] = (vu.id, e.kluster, e.id_kod)
            units[e.komplement_kod] = (vu.id, e.kluster, e.id_kod)

    def kontoslag(kodtyp: str, konto: str) -> str:
        for r in params.registry.kontoplan[kodtyp]:
            if r.fran <= konto <= r.till:
                return r.kontoslag
        return ""

    hb = pd.concat(frames["huvudbok"], ignore_index=True)
    hb["vu"] = hb["kod"].map(lambda k: units[k][0])
    hb["kluster"] = hb["kod"].map(lambda k: units[k][1])
    hb["enhet"] = hb["kod"].map(lambda k: units[k][2])
    slag = {(t, k): kontoslag(t, k) for t, k in hb[["kodtyp", "konto"]].drop_duplicates().itertuples(index=False)}
    hb["kontoslag"] = [slag[(t, k)] for t, k in zip(hb["kodtyp"], hb["konto"])]
    revenue = hb["kontoslag"].isin(["ersattning", "medel", "ovrig_intakt"])
    hb["belopp"] = hb["belopp"].where(~revenue, -hb["belopp"])
    hb = hb.groupby(["period", "kodtyp", "vu", "kluster", "enhet", "kontoslag"], as_index=False)["belopp"].sum()
    vol = pd.concat(frames["volymer"], ignore_index=True)
    bem = pd.concat(frames["bemanning"], ignore_index=True)
    bem["vu"] = bem["kod"].map(lambda k: units[k][0])
    bem["kluster"] = bem["kod"].map(lambda k: units[k][1])
    bem["enhet"] = bem["kod"].map(lambda k: units[k][2])
    bem = bem.drop(columns="kod")
    med = pd.concat(frames["medel"], ignore_index=True)
    out = {}
    for name, df in (("ledger", hb), ("volymer", vol), ("bemanning", bem), ("medel", med)):
        df = df.copy()
        df["ar"] = df["period"].str[:4].astype(int)
        df["manad"] = df["period"].str[5:7].astype(int)
        out[name] = df.reset_index(drop=True)
    h = hashlib.sha256()
    for name in ("ledger", "volymer", "bemanning", "medel"):
        h.update(pd.util.hash_pandas_object(out[name], index=False).values.tobytes())
    return Dataset(fingerprint=h.hexdigest()[:16], source="exempeldata", **out)
