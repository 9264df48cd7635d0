"""What every report section builder shares: display objects, contexts and small helpers.

Private to :mod:`vu_lib.report`, which re-exports the public names
(:class:`Section`, :class:`Context` and the four context constructors). The
section builders themselves live in ``_report_vu``, ``_report_nyckeltal``,
``_report_oversikt``, ``_report_modell`` and ``_report_budget``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from vu_lib.report import fmt
from vu_lib.report import narrative as nar
from vu_lib.core.params import Params, load_params

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
def load_data(store: str | Path | None = "", period: str | None = None, params: Params | None = None):
    """The :class:`~vu_lib.model.model.Model` over ``store`` at ``period``.

    ``store`` '' or None: the default store (a missing or empty store: the sample);
    ``period`` '' or None: the latest delår. :func:`vu_lib.model.model.open_model` keeps
    the model per process, so a notebook (and every kernel forked from a warm zygote)
    builds each table once.
    """
    from vu_lib.model.model import open_model

    return open_model(None if store in ("", None) else store, period or None,
                      params=params if params is not None else load_params())


# --------------------------------------------------------------------------- contexts
@dataclass
class Context:
    """What a report notebook needs: params, data (loaded once) and the report's subject.

    Attributes
    ----------
    params : Params
    data : Model or None
        The :class:`~vu_lib.model.model.Model` (it stands wherever the model's functions
        take a dataset, and owns their tables); None for the modell notebook.
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
    kommentarer: str = ""
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def model(self):
        """The :class:`~vu_lib.model.model.Model` the report is built from (same as ``data``)."""
        return self.data

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
        from vu_lib.model.compensation import model_version

        return model_version(self.params, self.year, self.month)


def vu_context(vu: str = "AN-VB", period: str = "", store: str = "", kommentarer: str = "") -> Context:
    """The context of ``vu_rapport``: one VU at one period (''= latest delår in the data).

    A period outside the data is refused here, with the months the data covers.
    ``kommentarer``: the commentary directory ('' = :func:`vu_lib.report.commentary.kommentarer_dir`).
    """
    params = load_params()
    params.vu(vu)
    model = load_data(store, period, params)
    return Context(params=params, data=model, year=model.year, period=model.period, vu_id=vu, store=store,
                   kommentarer=kommentarer)


def overview_context(scope: str = "Leanlink", period: str = "", store: str = "", kommentarer: str = "") -> Context:
    """The context of ``oversikt``: ÄN, SON or Leanlink as a whole at one period."""
    params = load_params()
    if scope not in (*params.registry.namnder, "Leanlink"):
        raise ValueError(f"Okänt omfång '{scope}' (AN, SON eller Leanlink)")
    model = load_data(store, period, params)
    return Context(params=params, data=model, year=model.year, period=model.period, scope=scope, store=store,
                   kommentarer=kommentarer)


def model_context(year: int = 2026, store: str = "") -> Context:
    """The context of ``modell``: the model of one year (params only; data for the transfer example)."""
    params = load_params()
    params.modellar(int(year))
    return Context(params=params, data=None, year=int(year), store=store)


def budget_context(year: int = 2027, store: str = "") -> Context:
    """The context of ``budget``: the proposal for ``year`` (data for the staffing behind the schablon)."""
    params = load_params()
    from vu_lib.model.budget import _check_year

    _check_year(params, int(year))
    data = load_data(store, None, params)
    return Context(params=params, data=data, year=int(year), store=store)


# --------------------------------------------------------------------------- shared model results
def forecast_frame(ctx: Context) -> pd.DataFrame:
    """The full-year forecast of every VU at the context's period (computed once per context)."""
    from vu_lib.model.forecast import forecast

    return ctx.memo("forecast", lambda: forecast(ctx.params, ctx.data, ctx.year, ctx.month))


# --------------------------------------------------------------------------- helpers
def trace_md(ctx: Context, data: bool = True) -> Markdown:
    """The trace line of a report (:func:`vu_lib.narrative.sparbarhet`) for ``ctx``."""
    from vu_lib.core.versions import code_version, params_fingerprint

    ds = ctx.data if data else None
    return Markdown(nar.sparbarhet(
        ctx.modellversion, ctx.period_str,
        getattr(ds, "fingerprint", "") or "–", getattr(ds, "source", "") or "utan data",
        params_fingerprint(ctx.params), code_version(),
    ))


def title_block(ctx: Context, heading: str, lead: str, facts: Sequence[str] = (), namnd: str | None = None) -> Markdown:
    """The title block of a follow-up report (a VU report or an overview).

    Parameters
    ----------
    ctx : Context
        A context with a period and data.
    heading : str
        The level-1 heading, without ``'# '``.
    lead : str
        The paragraph under the bold subtitle.
    facts : sequence of str
        Bullet lines shown before the period, model version and data lines.
    namnd : str, optional
        The nämnd named in the subtitle.

    Returns
    -------
    Markdown
        Heading, subtitle, lead, the bullet list and the trace line.
    """
    p = ctx.period
    subtitle = " · ".join(x for x in ("Ekonomisk uppföljning av verksamhetsuppdrag", namnd, p.label) if x)
    lines = [f"# {heading}", "", f"**{subtitle}**", "", lead, "", *facts,
             f"- Period: {p.label}, utfall {ctx.ytd_text}", f"- Modellversion: {ctx.modellversion}",
             f"- Data: {ctx.data.fingerprint} ({ctx.data.source})", ""]
    return Markdown("\n".join(lines) + "\n" + trace_md(ctx).text)


def indexed_rate_example(params: Params, year: int, namn: str, pris_fjol, pris) -> Markdown | None:
    """The worked example of a variable rate indexed to whole öre (:func:`vu_lib.narrative.rorlig_exempel`).

    Parameters
    ----------
    params : Params
    year : int
        The year of ``pris``.
    namn : str
        The service, as the sentence names it.
    pris_fjol, pris : Decimal or float
        Last December's rate and this January's, in kronor.

    Returns
    -------
    Markdown or None
        None unless ``pris`` is ``pris_fjol`` indexed with the year's index and
        rounded to öre, so the example never shows arithmetic that does not
        hold (a revised rate, a rate set by decision).
    """
    from vu_lib.model.index import index_for, round_ore

    i = index_for(params, year)
    if round_ore(Decimal(str(pris_fjol)) * (1 + i)) != Decimal(str(pris)):
        return None
    return Markdown(nar.rorlig_exempel(namn, year, pris_fjol, i, pris))


def month_label(p: str) -> str:
    """``'2026-08'`` -> ``'augusti 2026'``."""
    return fmt.period_label(p)


def unique_labels(labels: list[str]) -> list[str]:
    """``labels`` with repeats numbered: ``['a', 'a']`` -> ``['a', 'a (2)']``."""
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        n = seen.get(lab, 0) + 1
        seen[lab] = n
        out.append(lab if n == 1 else f"{lab} ({n})")
    return out


def sum_row(df: pd.DataFrame, label_col: str, label: str, cols: Iterable[str]) -> pd.DataFrame:
    """``df`` with a total row (sums of ``cols``, exact to the öre) appended."""
    row = {c: None for c in df.columns}
    row[label_col] = label
    for c in cols:
        row[c] = round(float(sum(Decimal(str(round(float(v), 2))) for v in df[c] if not fmt.is_missing(v))), 2)
    return pd.concat([df, pd.DataFrame([row])], ignore_index=True)


def make_table(df: pd.DataFrame, formats: dict, headers: dict, *, caption: str, name: str, total_row: bool = False,
               note: str | None = None, row_header: bool = True):
    """A :class:`~vu_lib.tables.Table` of the columns named in ``headers``, in that order.

    ``formats`` may name columns that ``headers`` leaves out; they are dropped.
    """
    from vu_lib.report.tables import Table

    cols = list(headers)
    return Table(df[cols].reset_index(drop=True), formats={k: v for k, v in formats.items() if k in cols},
                 headers=headers, caption=caption, name=name, total_row=total_row, note=note, row_header=row_header)
