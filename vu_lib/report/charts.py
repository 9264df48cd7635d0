"""The house style for report charts (Altair / Vega-Lite), in Swedish.

Every chart is a :class:`Chart`: an Altair chart (or a Vega-Lite spec) with a
required Swedish description (``beskrivning``), used as the chart's
description, ARIA label and the alternative text of the image in HTML and
PDF. A chart without a description is refused.

Displayed in a notebook, a :class:`Chart` gives

``image/svg+xml``
    rendered with vl-convert (no browser, no network), shown by JupyterLab
    (trusted notebooks) and embedded by the PDF path;
``application/vnd.vu.vegalite+json``
    ``{"spec", "beskrivning", "titel", "version"}``, which the HTML report
    template turns into an interactive vega-embed chart;
``text/plain``
    the description (what an untrusted notebook shows).

Altair's own renderer output (which loads Vega from a CDN) is never
emitted: importing this module registers and enables an Altair renderer
``"vu"`` that gives the bundle above, and refuses a chart without a
``description``.

House style: the Okabe–Ito colour-blind-safe palette, the font
:data:`FONT_FAMILY` (Source Sans Pro, shipped in ``vu_lib/templates/fonts``
and registered with vl-convert here and with typst by the renderer, so the
SVG in the PDF uses the same font as the text), and the Swedish d3 number
and time locale (decimal comma, no-break space, U+2212, Swedish months) in
the spec's ``config.locale``, so the SVG and the interactive chart format
numbers exactly as :mod:`vu_lib.fmt`.

Import cost: jsonschema (imported by Altair) imports ``rfc3987_syntax`` when
it is installed (JupyterLab brings it), which builds a Lark grammar at import
and costs about 1.5 s. Altair never validates IRI formats, so this module
hides ``rfc3987_syntax`` while Altair and jsonschema are imported for the
first time (jsonschema then simply does not register the ``iri`` format
checkers) and removes the block straight after.
"""
from __future__ import annotations

import copy
import functools
import html
import re
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from vu_lib.core.io import without_iri_checker
from vu_lib.report import _mimebundle, fmt


def _import_altair():
    """Import Altair without jsonschema's costly ``rfc3987_syntax`` import (:mod:`vu_lib.core.io`)."""
    with without_iri_checker():
        import altair  # noqa: PLC0415
    return altair


alt = _import_altair()

__all__ = [
    "alt",
    "Chart",
    "VEGALITE_MIME",
    "FONT_FAMILY",
    "FONT_DIR",
    "PALETTE",
    "CATEGORY_COLORS",
    "contrast_ratio",
    "cumulative_result",
    "house_config",
    "style",
    "monthly_vs_budget",
    "result_per_vu",
    "bridge",
    "key_figure",
    "vegalite_version",
    "register_fonts",
]

VEGALITE_MIME = "application/vnd.vu.vegalite+json"
#: The mime type JupyterLab 4 renders with its bundled vega-embed (Vega-Lite 5; our specs use
#: nothing Vega-Lite 6 added, so they draw there as they are).
JUPYTER_VEGALITE_MIME = "application/vnd.vegalite.v5+json"
JUPYTER_VEGALITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
CHART_MIME_VERSION = 1

FONT_FAMILY = "Source Sans Pro"
FONT_DIR = Path(__file__).resolve().parents[1] / "templates" / "fonts"

#: The Okabe & Ito (2008) colour-blind-safe hues, darkened where needed so that every
#: colour has at least 3:1 contrast to the white background (WCAG 2.1, 1.4.11 non-text
#: contrast): orange #E69F00 (2,25:1) -> #A66F00 (4,3:1), sky blue #56B4E9 (2,3:1) ->
#: #2B8CC4 (3,7:1), bluish green #009E73 (3,4:1) -> #008A64 (4,4:1), reddish purple
#: #CC79A7 (3,1:1) -> #B5608F (4,2:1); yellow (1,3:1) is left out.
PALETTE = {
    "black": "#000000",
    "orange": "#A66F00",
    "sky_blue": "#2B8CC4",
    "bluish_green": "#008A64",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#B5608F",
}
#: Order of the categorical colours.
CATEGORY_COLORS = [
    PALETTE["blue"],
    PALETTE["orange"],
    PALETTE["bluish_green"],
    PALETTE["vermillion"],
    PALETTE["sky_blue"],
    PALETTE["reddish_purple"],
    PALETTE["black"],
]
GREY = "#595959"
TEXT = "#1a1a1a"
#: Interval bands: this colour at low opacity (its edges are drawn as lines where they matter).
BAND = PALETTE["sky_blue"]
BACKGROUND = "#FFFFFF"


def contrast_ratio(a: str, b: str = BACKGROUND) -> float:
    """WCAG 2.1 contrast ratio of two ``#RRGGBB`` colours (1 to 21)."""

    def lum(h: str) -> float:
        h = h.lstrip("#")
        c = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    la, lb = lum(a), lum(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)

DEFAULT_WIDTH = 560
DEFAULT_HEIGHT = 260


def _words() -> Mapping[str, str]:
    return fmt.locale()["charts"]


@functools.lru_cache(maxsize=1)
def vegalite_version() -> str:
    """The Vega-Lite version (``'6.4'``) used for SVG and the HTML bundle.

    Altair's schema version when vl-convert has it, else vl-convert's newest.
    """
    import vl_convert as vlc  # noqa: PLC0415

    available = vlc.get_vegalite_versions()
    m = re.match(r"v?(\d+)\.(\d+)", alt.SCHEMA_VERSION)
    wanted = f"{m.group(1)}.{m.group(2)}" if m else ""
    return wanted if wanted in available else available[-1]


_fonts_registered = False


def register_fonts() -> None:
    """Register the house font directory with vl-convert (once per process)."""
    global _fonts_registered
    if not _fonts_registered:
        import vl_convert as vlc  # noqa: PLC0415

        vlc.register_font_directory(str(FONT_DIR))
        _fonts_registered = True


def house_config() -> dict:
    """The Vega-Lite ``config`` of the house style.

    Returns
    -------
    dict
        Font, colours, axis and legend style and ``locale`` (Swedish d3
        number and time formats).
    """
    axis = {
        "labelFont": FONT_FAMILY,
        "titleFont": FONT_FAMILY,
        "labelFontSize": 11,
        "titleFontSize": 11,
        "titleFontWeight": 600,
        "labelColor": "#333333",
        "titleColor": "#333333",
        "gridColor": "#e3e3e3",
        "domainColor": "#8c8c8c",
        "tickColor": "#8c8c8c",
        "labelPadding": 4,
    }
    return {
        "font": FONT_FAMILY,
        "background": "white",
        "padding": {"left": 4, "right": 12, "top": 6, "bottom": 4},
        "view": {"stroke": None, "continuousWidth": DEFAULT_WIDTH, "continuousHeight": DEFAULT_HEIGHT},
        "range": {"category": list(CATEGORY_COLORS)},
        "mark": {"color": PALETTE["blue"]},
        "bar": {"color": PALETTE["blue"]},
        "line": {"color": PALETTE["blue"], "strokeWidth": 2},
        "point": {"color": PALETTE["blue"], "filled": True, "size": 40},
        "text": {"font": FONT_FAMILY, "fontSize": 11, "color": TEXT},
        "axis": axis,
        "axisX": {"labelAngle": 0},
        "legend": {
            "labelFont": FONT_FAMILY,
            "titleFont": FONT_FAMILY,
            "labelFontSize": 11,
            "titleFontSize": 11,
            "orient": "top",
            "direction": "horizontal",
            "title": None,
        },
        "title": {
            "font": FONT_FAMILY,
            "fontSize": 14,
            "fontWeight": 600,
            "anchor": "start",
            "color": TEXT,
            "offset": 10,
            "subtitleFont": FONT_FAMILY,
            "subtitleFontSize": 11,
            "subtitleColor": "#4d4d4d",
        },
        "locale": {"number": fmt.d3_format_locale(), "time": fmt.d3_time_format_locale()},
    }


def _deep_merge(base: dict, over: Mapping) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _xml_escape(s: str) -> str:
    return html.escape(s, quote=True)


class Chart:
    """A chart in the house style with a required Swedish description.

    Parameters
    ----------
    chart : altair chart or dict
        An Altair chart (any top-level chart) or a Vega-Lite spec dict. Data
        must be inline (no URLs: conversion refuses network access).
    beskrivning : str
        What the chart shows, in Swedish, for readers who cannot see it
        (alt text, ARIA label). Required: say what is compared and the main
        finding, e.g. ``"Stapeldiagram: utfall per månad jan–aug 2026 mot
        budget; utfallet ligger över budget från maj."``
    titel : str, optional
        Title drawn above the chart (if the chart has none).
    tabell : pandas.DataFrame, optional
        The chart's values as formatted strings, one row per mark group (the
        first column names the row). The HTML report shows it under a
        disclosure below the chart, so the values are reachable by keyboard
        and screen reader; the chart helpers of this module fill it in.
    numeriska : sequence of bool, optional
        Which columns of ``tabell`` hold numbers (right-aligned); default all
        but the first.

    Raises
    ------
    ValueError
        When ``beskrivning`` is missing or blank.
    """

    def __init__(self, chart: Any, beskrivning: str, titel: str | None = None,
                 tabell: pd.DataFrame | None = None, numeriska: Sequence[bool] | None = None) -> None:
        if not isinstance(beskrivning, str) or not beskrivning.strip():
            raise ValueError(
                "Diagrammet saknar beskrivning: ange beskrivning='...' (alt-text på svenska "
                "som säger vad diagrammet visar)."
            )
        self.beskrivning = " ".join(beskrivning.split())
        self.titel = titel
        self._chart = chart
        self.tabell = tabell
        if tabell is not None and numeriska is None:
            numeriska = [False] + [True] * (len(tabell.columns) - 1)
        self.numeriska = list(numeriska) if numeriska is not None else None

    @functools.cached_property
    def spec(self) -> dict:
        """The Vega-Lite spec with house config, description and title."""
        if isinstance(self._chart, Mapping):
            spec = copy.deepcopy(dict(self._chart))
        else:
            spec = self._chart.to_dict()
        spec.pop("$schema", None)  # a URL; vega-embed gets mode="vega-lite" instead
        spec["description"] = self.beskrivning
        if self.titel and not spec.get("title"):
            spec["title"] = {"text": self.titel}
        spec["config"] = _deep_merge(house_config(), spec.get("config", {}))
        return spec

    def to_svg(self) -> str:
        """Render the chart to SVG with vl-convert (no network access): see :func:`svg_from_spec`."""
        return svg_from_spec(self.spec, self.beskrivning)

    @functools.cached_property
    def svg(self) -> str:
        """The SVG, rendered once."""
        return self.to_svg()

    def to_json(self) -> dict:
        """The payload of ``application/vnd.vu.vegalite+json``."""
        out = {
            "version": CHART_MIME_VERSION,
            "spec": self.spec,
            "beskrivning": self.beskrivning,
            "titel": self.titel,
            "vegalite_version": vegalite_version(),
        }
        if self.tabell is not None:
            out["tabell"] = {
                "kolumner": [str(c) for c in self.tabell.columns],
                "rader": [["" if fmt.is_missing(v) else str(v) for v in row] for row in self.tabell.itertuples(index=False, name=None)],
                "numeriska": self.numeriska,
            }
        return out

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        """The spec, not a picture: JupyterLab draws it interactively; the batch's renderer makes the SVG.

        ``application/vnd.vu.vegalite+json`` carries the spec with its description for
        the renderer (:func:`vu_lib.publish.render.add_chart_svgs`), and
        ``application/vnd.vegalite.v5+json`` the same spec for JupyterLab's own Vega
        renderer, with the Swedish number and date locale as its embed options. No SVG
        is made in the kernel, so a kernel never starts vl-convert's engine.
        """
        bundle = {
            VEGALITE_MIME: self.to_json(),
            JUPYTER_VEGALITE_MIME: {**self.spec, "$schema": JUPYTER_VEGALITE_SCHEMA},
            "text/plain": f"{_words_chart()}: {self.beskrivning}",
        }
        metadata = {JUPYTER_VEGALITE_MIME: {"embed_options": jupyter_embed_options()}}
        selected = _mimebundle.select(bundle, include, exclude)
        return selected, {k: v for k, v in metadata.items() if k in selected}

    def __repr__(self) -> str:
        return f"Chart({self.beskrivning!r})"


def svg_from_spec(spec: Mapping[str, Any], beskrivning: str) -> str:
    """Render a house-style Vega-Lite spec to SVG with vl-convert (no network access).

    Called by the batch's long-lived renderer, where vl-convert's engine is already
    running, rather than in each kernel.

    Returns
    -------
    str
        An SVG document whose root has ``role="img"``, an ``aria-label``
        and a ``<title>`` with the description.
    """
    import json  # noqa: PLC0415

    key = (json.dumps(spec, sort_keys=True, default=str), str(beskrivning))
    hit = _SVG_MEMO.get(key)
    if hit is None:
        hit = _SVG_MEMO[key] = (_DRAWER or _svg_from_spec)(spec, beskrivning)
        while len(_SVG_MEMO) > _SVG_MEMO_SIZE:
            _SVG_MEMO.pop(next(iter(_SVG_MEMO)))
    return hit


def draw_svgs_with(drawer: Callable[[Mapping[str, Any], str], str] | None) -> None:
    """Let ``drawer(spec, beskrivning)`` draw the SVGs of :func:`svg_from_spec` in this process (None: vl-convert here).

    A batch's report child asks the parent, whose vl-convert engine is warm, instead of
    starting an engine of its own (:class:`vu_lib.publish.inprocess.ChartServer`).
    """
    global _DRAWER
    _DRAWER = drawer
    _SVG_MEMO.clear()  # drawn by the other drawer


_DRAWER: Callable[[Mapping[str, Any], str], str] | None = None

#: The SVGs drawn lately, by spec and description: the renderer draws each chart once for the
#: HTML page and the PDF of a notebook, not twice.
_SVG_MEMO: dict[tuple[str, str], str] = {}
_SVG_MEMO_SIZE = 32


def _svg_from_spec(spec: Mapping[str, Any], beskrivning: str) -> str:
    import vl_convert as vlc  # noqa: PLC0415

    register_fonts()
    svg = vlc.vegalite_to_svg(
        dict(spec),
        vl_version=vegalite_version(),
        allowed_base_urls=[],
        format_locale=fmt.d3_format_locale(),
        time_format_locale=fmt.d3_time_format_locale(),
    )
    label = _xml_escape(" ".join(str(beskrivning).split()))
    svg = re.sub(r"<svg\b", f'<svg role="img" aria-label="{label}"', svg, count=1)
    svg = re.sub(r"(<svg\b[^>]*>)", rf"\1<title>{label}</title>", svg, count=1)
    return svg


#: The house font's faces embedded in HTML (data URLs): weight, style, file under FONT_DIR.
FONT_FACES = (
    (400, "normal", "SourceSansPro-Regular.ttf"),
    (400, "italic", "SourceSansPro-It.ttf"),
    (700, "normal", "SourceSansPro-Bold.ttf"),
)


def font_face_css(faces: Sequence[tuple[int, str, str]] = FONT_FACES) -> str:
    """``@font-face`` rules for the house font as data URLs (the page then needs no font file)."""
    import base64

    rules = []
    for weight, style, name in faces:
        path = FONT_DIR / name
        if not path.exists():
            continue
        b64 = base64.b64encode(path.read_bytes()).decode("ascii")
        rules.append(
            "@font-face{font-family:\"Source Sans Pro\";font-style:%s;font-weight:%d;font-display:block;"
            "src:url(data:font/ttf;base64,%s) format(\"truetype\");}" % (style, weight, b64)
        )
    return "\n".join(rules)


def husstil() -> None:
    """In JupyterLab: load the house font into the page, so charts are typeset in it.

    Displays one ``<style>`` with the regular face (about 0,4 MB) and nothing else. In the
    batch (``VU_BATCH=1``: the report pages embed the font themselves) it displays nothing,
    so the executed notebooks and the regression baselines carry no font.
    """
    import os

    if os.environ.get("VU_BATCH") == "1":
        return None
    from IPython.display import HTML, display

    display(HTML("<style>" + font_face_css(FONT_FACES[:1]) + "</style>"))
    return None


def jupyter_embed_options() -> dict:
    """vega-embed options for JupyterLab: Swedish number and date formats, SVG, no action menu."""
    return {"formatLocale": fmt.d3_format_locale(), "timeFormatLocale": fmt.d3_time_format_locale(),
            "renderer": "svg", "actions": False}


def _words_chart() -> str:
    return fmt.locale()["report"]["chart"]


def style(chart: Any, beskrivning: str, titel: str | None = None, tabell: pd.DataFrame | None = None) -> Chart:
    """Put any Altair chart (or Vega-Lite dict) in the house style.

    Parameters
    ----------
    chart : altair chart or dict
    beskrivning : str
        Required Swedish description (alt text).
    titel : str, optional
    tabell : pandas.DataFrame, optional
        The values as formatted strings (see :class:`Chart`).

    Returns
    -------
    Chart
    """
    return Chart(chart, beskrivning=beskrivning, titel=titel, tabell=tabell)


# --------------------------------------------------------------------------- Altair renderer
def _vu_renderer(spec: dict, **_: Any) -> tuple[dict, dict]:
    desc = spec.get("description")
    if not desc:
        raise ValueError(
            "Diagrammet saknar beskrivning. Använd vu_lib.report.charts.style(diagram, beskrivning='...') "
            "eller .properties(description='...')."
        )
    return Chart(spec, beskrivning=desc)._repr_mimebundle_()


alt.renderers.register("vu", _vu_renderer)
alt.renderers.enable("vu")


# --------------------------------------------------------------------------- format helpers
_MONEY_SCALE = {"kr": 1, "tkr": 1_000, "mnkr": 1_000_000}


def _spec_parts(spec: str) -> tuple[str, int | None]:
    p = fmt.parse_spec(spec)
    return p.kind, p.decimals


def _scale_for(spec: str) -> float:
    kind, _ = _spec_parts(spec)
    return _MONEY_SCALE.get(kind, 1)


def _scaled(value: Any, scale: float) -> float | None:
    """``value`` in the axis unit (kronor / ``scale``); None where it is missing."""
    return None if fmt.is_missing(value) else float(value) / scale


def _d3_format(spec: str) -> str:
    """The d3 format that writes a (scaled) value as :func:`fmt.formatter` does, without unit."""
    kind, dec = _spec_parts(spec)
    if kind == "pct":
        return f".{1 if dec is None else dec}~%"
    if kind == "mnkr":
        return f",.{1 if dec is None else dec}f"
    if kind in ("kr", "tkr", "num", "count"):
        return f",.{dec or 0}f"
    raise ValueError(f"formatet {spec!r} kan inte användas på en axel")


def _unit_title(spec: str) -> str | None:
    kind, _ = _spec_parts(spec)
    units = fmt.locale().units
    return {"kr": units["kr"], "tkr": units["tkr"], "mnkr": units["mnkr"], "pct": units["percent"]}.get(kind)


def _period_labels(periods: Sequence[Any]) -> list[str]:
    """Short axis labels: ``'jan'`` within one year, ``'jan 2026'`` across years."""
    years = set()
    ym = []
    for p in periods:
        s = str(p)
        if re.match(r"^\d{4}$", s):
            ym.append((int(s), None))
            years.add(int(s))
            continue
        y, m = fmt._year_month(p)
        ym.append((y, m))
        years.add(y)
    out = []
    for y, m in ym:
        if m is None:
            out.append(str(y))
        elif len(years) == 1:
            out.append(fmt.month_name(m, short=True))
        else:
            out.append(f"{fmt.month_name(m, short=True)} {y}")
    return out


def _long_period(p: Any) -> str:
    try:
        return fmt.period_label(p)
    except ValueError:
        return str(p)


def _wrap(label: str, width: int = 16) -> str:
    return "\n".join(textwrap.wrap(str(label), width=width, break_long_words=False, break_on_hyphens=True)) or str(label)


# --------------------------------------------------------------------------- chart helpers
def monthly_vs_budget(
    data: pd.DataFrame,
    *,
    beskrivning: str,
    period: str = "period",
    utfall: str = "utfall",
    budget: str | None = "budget",
    format: str = "tkr",
    typ: str = "stapel",
    titel: str | None = None,
    y_titel: str | None = None,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
) -> Chart:
    """Monthly measure against budget: bars (or a line) for the outcome, a dashed budget line.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per month.
    beskrivning : str
        Required Swedish description.
    period, utfall, budget : str
        Column names: month ``'YYYY-MM'``, outcome, budget (``None``: no budget).
    format : str, default 'tkr'
        Value format (:func:`vu_lib.fmt.formatter` spec): ``'kr'``, ``'tkr'``,
        ``'mnkr'``, ``'num(1)'``, ``'pct'``; amounts are given in kronor.
    typ : {'stapel', 'linje'}
        Bars or a line for the outcome.
    titel, y_titel : str, optional
        Chart title; y-axis title (default the unit).
    width, height : int

    Returns
    -------
    Chart
    """
    if typ not in ("stapel", "linje"):
        raise ValueError("typ ska vara 'stapel' eller 'linje'")
    w = _words()
    f = fmt.formatter(format)
    fs = fmt.formatter("+" + format) if not format.startswith("+") else f
    scale = _scale_for(format)
    df = data.sort_values(period).reset_index(drop=True)
    labels = _period_labels(df[period].tolist())
    rows = []
    for i, r in df.iterrows():
        base = {"manad": labels[i], "manad_lang": _long_period(r[period]), "utfall_txt": f(r[utfall])}
        if budget is not None:
            base["budget_txt"] = f(r[budget])
            diff = r[utfall] - r[budget] if not (fmt.is_missing(r[utfall]) or fmt.is_missing(r[budget])) else None
            base["avvikelse_txt"] = fs(diff)
        rows.append({**base, "serie": w["actual"], "varde": _scaled(r[utfall], scale)})
        if budget is not None:
            rows.append({**base, "serie": w["budget"], "varde": _scaled(r[budget], scale)})
    long = pd.DataFrame(rows)
    series = [w["actual"]] + ([w["budget"]] if budget is not None else [])
    color = alt.Color(
        "serie:N",
        scale=alt.Scale(domain=series, range=[PALETTE["blue"], "#333333"][: len(series)]),
        legend=alt.Legend(title=None),
    )
    tooltip = [alt.Tooltip("manad_lang:N", title=w["month"]), alt.Tooltip("utfall_txt:N", title=w["actual"])]
    if budget is not None:
        tooltip += [alt.Tooltip("budget_txt:N", title=w["budget"]), alt.Tooltip("avvikelse_txt:N", title=w["deviation"])]
    x = alt.X("manad:N", sort=labels, title=None, axis=alt.Axis(labelAngle=0))
    y = alt.Y("varde:Q", title=y_titel or _unit_title(format), axis=alt.Axis(format=_d3_format(format)))
    base = alt.Chart(long)
    actual = base.transform_filter(alt.datum.serie == w["actual"])
    if typ == "stapel":
        actual_layer = actual.mark_bar(width={"band": 0.7}).encode(x=x, y=y, color=color, tooltip=tooltip)
    else:
        actual_layer = actual.mark_line(point=True).encode(x=x, y=y, color=color, tooltip=tooltip)
    layers = [actual_layer]
    if budget is not None:
        layers.append(
            base.transform_filter(alt.datum.serie == w["budget"])
            .mark_line(strokeDash=[6, 4], strokeWidth=2, point={"filled": True, "size": 30, "color": "#333333"})
            .encode(x=x, y=y, color=color, tooltip=tooltip)
        )
    chart = alt.layer(*layers).properties(width=width, height=height)
    cols = {w["month"]: [_long_period(p) for p in df[period]], w["actual"]: [f(v) for v in df[utfall]]}
    if budget is not None:
        cols[w["budget"]] = [f(v) for v in df[budget]]
        cols[w["deviation"]] = [r["avvikelse_txt"] for r in rows[::2]]
    return Chart(chart, beskrivning=beskrivning, titel=titel, tabell=pd.DataFrame(cols))


def result_per_vu(
    data: pd.DataFrame,
    *,
    beskrivning: str,
    vu: str = "vu",
    resultat: str = "resultat",
    format: str = "tkr",
    titel: str | None = None,
    sortering: str | None = None,
    width: int = DEFAULT_WIDTH,
) -> Chart:
    """Result per VU as a diverging horizontal bar chart.

    Surpluses go right in blue, deficits left in vermillion; every bar has
    its signed value as a label, so a deficit is visible without colour.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per VU (and a netted total row if wanted).
    beskrivning : str
        Required Swedish description.
    vu, resultat : str
        Column names: VU name, result in kronor (positive = överskott).
    format : str, default 'tkr'
    titel : str, optional
    sortering : {None, 'namn', 'resultat'}
        Keep the given order (default, e.g. the registry order), Swedish
        alphabetical order, or by result (largest deficit first).
    width : int

    Returns
    -------
    Chart
    """
    w = _words()
    fs = fmt.formatter("+" + format.lstrip("+"))
    scale = _scale_for(format)
    df = data[[vu, resultat]].copy()
    if sortering == "namn":
        df = df.iloc[sorted(range(len(df)), key=lambda i: fmt.sort_key(df[vu].iloc[i]))]
    elif sortering == "resultat":
        df = df.sort_values(resultat)
    elif sortering is not None:
        raise ValueError("sortering ska vara None, 'namn' eller 'resultat'")
    df = df.reset_index(drop=True)
    values = [_scaled(v, scale) for v in df[resultat]]
    chart_df = pd.DataFrame(
        {
            "vu": df[vu].astype(str),
            "varde": values,
            "etikett": [fs(v) for v in df[resultat]],
            "utfall": [w["surplus"] if (v or 0) >= 0 else w["deficit"] for v in values],
        }
    )
    order = chart_df["vu"].tolist()
    finite = [v for v in values if v is not None] or [0.0]
    lo, hi = min(min(finite), 0.0), max(max(finite), 0.0)
    span = (hi - lo) or 1.0
    domain = [lo - 0.28 * span if lo < 0 else 0, hi + 0.28 * span if hi > 0 else 0]
    y = alt.Y("vu:N", sort=order, title=None, axis=alt.Axis(labelLimit=260, domain=False, ticks=False))
    x = alt.X(
        "varde:Q",
        title=_unit_title(format),
        scale=alt.Scale(domain=domain, nice=False),
        axis=alt.Axis(format=_d3_format(format), tickCount=6),
    )
    color = alt.Color(
        "utfall:N",
        scale=alt.Scale(domain=[w["surplus"], w["deficit"]], range=[PALETTE["blue"], PALETTE["vermillion"]]),
        legend=alt.Legend(title=None),
    )
    tooltip = [alt.Tooltip("vu:N", title=fmt.locale()["report"]["fields"]["vu"]), alt.Tooltip("etikett:N", title=w["value"])]
    base = alt.Chart(chart_df)
    bars = base.mark_bar(height={"band": 0.7}).encode(x=x, y=y, color=color, tooltip=tooltip)
    zero = alt.Chart(pd.DataFrame({"noll": [0]})).mark_rule(color="#333333", strokeWidth=1).encode(x="noll:Q")
    pos = base.transform_filter(alt.datum.varde >= 0).mark_text(align="left", dx=4, baseline="middle").encode(
        x="varde:Q", y=alt.Y("vu:N", sort=order), text="etikett:N"
    )
    neg = base.transform_filter(alt.datum.varde < 0).mark_text(align="right", dx=-4, baseline="middle").encode(
        x="varde:Q", y=alt.Y("vu:N", sort=order), text="etikett:N"
    )
    longest = max((len(v) for v in order), default=10)
    plot_width = max(200, width - min(260, int(5.8 * longest) + 12) - 24)
    chart = alt.layer(bars, zero, pos, neg).properties(width=plot_width, height=max(60, 28 * len(chart_df)))
    tab = pd.DataFrame({fmt.locale()["report"]["fields"]["vu"]: chart_df["vu"], w["value"]: chart_df["etikett"]})
    return Chart(chart, beskrivning=beskrivning, titel=titel, tabell=tab)


def bridge(
    data: pd.DataFrame,
    *,
    beskrivning: str,
    steg: str = "steg",
    belopp: str = "belopp",
    typ: str | None = None,
    slutsumma: str | None = None,
    format: str = "tkr",
    titel: str | None = None,
    y_fran_noll: bool = True,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
) -> Chart:
    """A bridge (waterfall) from one amount to another, e.g. last year's compensation to this year's.

    Parameters
    ----------
    data : pandas.DataFrame
        The steps in order. Without ``typ`` the first row is the starting
        total and the others are changes.
    beskrivning : str
        Required Swedish description.
    steg, belopp : str
        Column names: step label, amount in kronor (a change is signed).
    typ : str, optional
        Column saying ``'summa'`` for a total bar (drawn from zero) and
        anything else for a change.
    slutsumma : str, optional
        Label of a closing total bar appended after the last step.
    format : str, default 'tkr'
    titel : str, optional
    y_fran_noll : bool, default True
        Start the value axis at zero. With ``False`` the axis covers only the
        range of the levels, so small changes on a large base are visible
        (total bars are then cut at the axis; say so in the description).
    width, height : int

    Returns
    -------
    Chart
    """
    w = _words()
    f = fmt.formatter(format.lstrip("+"))
    fs = fmt.formatter("+" + format.lstrip("+"))
    scale = _scale_for(format)
    rows = []
    running = 0.0
    for i, r in data.reset_index(drop=True).iterrows():
        amount = float(r[belopp])
        is_total = (str(r[typ]).lower() == "summa") if typ else i == 0
        if is_total:
            start, end, running = 0.0, amount, amount
            kind, label = w["total"], f(amount)
        else:
            start, end = running, running + amount
            running = end
            kind = w["increase"] if amount >= 0 else w["decrease"]
            label = fs(amount)
        rows.append({"steg": _wrap(r[steg]), "start": start / scale, "slut": end / scale, "typ": kind, "etikett": label, "topp": max(start, end) / scale})
    if slutsumma:
        rows.append({"steg": _wrap(slutsumma), "start": 0.0, "slut": running / scale, "typ": w["total"], "etikett": f(running), "topp": max(0.0, running) / scale})
    df = pd.DataFrame(rows)
    if df["steg"].duplicated().any():
        raise ValueError("stegen i en brygga måste ha unika namn")
    order = df["steg"].tolist()
    x = alt.X("steg:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelExpr="split(datum.label, '\\n')", labelLimit=200))
    color = alt.Color(
        "typ:N",
        scale=alt.Scale(domain=[w["total"], w["increase"], w["decrease"]], range=[GREY, PALETTE["blue"], PALETTE["vermillion"]]),
        legend=alt.Legend(title=None),
    )
    base = alt.Chart(df)
    if y_fran_noll:
        yscale = alt.Scale(zero=True)
    else:
        levels = [v for r in rows for v in ((r["slut"],) if r["typ"] == w["total"] else (r["start"], r["slut"]))]
        lo, hi = min(levels), max(levels)
        pad = (hi - lo) * 0.15 or abs(hi) * 0.05 or 1.0
        yscale = alt.Scale(domain=[lo - pad, hi + pad], zero=False, nice=False)
    bars = base.mark_bar(width={"band": 0.6}, clip=True).encode(
        x=x,
        y=alt.Y("start:Q", title=_unit_title(format), axis=alt.Axis(format=_d3_format(format)), scale=yscale),
        y2="slut:Q",
        color=color,
        tooltip=[alt.Tooltip("steg:N", title=None), alt.Tooltip("etikett:N", title=w["value"])],
    )
    # A change too small to see as a bar still shows: a thick tick at the level it
    # reaches, in its colour, and every step carries its signed amount as a label.
    ticks = base.transform_filter(alt.datum.typ != w["total"]).mark_tick(thickness=3, size=38, opacity=1, clip=True).encode(
        x=alt.X("steg:N", sort=order), y=alt.Y("slut:Q", scale=yscale), color=color,
        tooltip=[alt.Tooltip("steg:N", title=None), alt.Tooltip("etikett:N", title=w["value"])])
    labels = base.mark_text(baseline="bottom", dy=-5, fontWeight=600).encode(x=alt.X("steg:N", sort=order), y="topp:Q", text="etikett:N")
    chart = alt.layer(bars, ticks, labels).properties(width=width, height=height)
    tab = pd.DataFrame({"Steg": [str(r["steg"]).replace("\n", " ") for r in rows], w["value"]: [r["etikett"] for r in rows]})
    return Chart(chart, beskrivning=beskrivning, titel=titel, tabell=tab)


def key_figure(
    data: pd.DataFrame,
    *,
    beskrivning: str,
    period: str = "period",
    varde: str = "varde",
    grupp: str | None = None,
    lag: str | float | None = None,
    hog: str | float | None = None,
    mal: str | float | None = None,
    format: str = "num(1)",
    titel: str | None = None,
    y_titel: str | None = None,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
) -> Chart:
    """A key figure over time against an interval (band) and/or a target (dashed line).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per period (and group).
    beskrivning : str
        Required Swedish description.
    period, varde : str
        Column names: ``'YYYY-MM'`` or ``'YYYY'``, value.
    grupp : str, optional
        Column splitting the series (one colour each).
    lag, hog : str or float, optional
        Lower and upper bound of the accepted interval: a column or a constant.
    mal : str or float, optional
        Target: a column or a constant.
    format : str, default 'num(1)'
        Value format, e.g. ``'pct'`` for beläggningsgrad, ``'kr'`` for kostnad per dygn.
    titel, y_titel : str, optional
    width, height : int

    Returns
    -------
    Chart
    """
    w = _words()
    f = fmt.formatter(format)
    scale = _scale_for(format)
    df = data.sort_values(period).reset_index(drop=True)
    periods = sorted(df[period].astype(str).unique().tolist())
    label_of = dict(zip(periods, _period_labels(periods)))

    def col_or_const(spec: str | float | None, name: str) -> None:
        if spec is None:
            return
        if isinstance(spec, str):
            df[name] = df[spec].astype(float)
        else:
            df[name] = float(spec)

    col_or_const(lag, "_lag")
    col_or_const(hog, "_hog")
    col_or_const(mal, "_mal")
    out = pd.DataFrame(
        {
            "period": [label_of[str(p)] for p in df[period]],
            "period_lang": [_long_period(p) for p in df[period]],
            "varde": [_scaled(v, scale) for v in df[varde]],
            "varde_txt": [f(v) for v in df[varde]],
        }
    )
    if grupp:
        out["grupp"] = df[grupp].astype(str)
    for c in ("_lag", "_hog", "_mal"):
        if c in df:
            out[c.strip("_")] = df[c] / scale
            out[c.strip("_") + "_txt"] = [f(v) for v in df[c]]
    order = [label_of[p] for p in periods]
    x = alt.X("period:N", sort=order, title=None, axis=alt.Axis(labelAngle=0))
    yfmt = _d3_format(format)
    ytitle = y_titel or _unit_title(format)
    tooltip = [alt.Tooltip("period_lang:N", title=w["month"]), alt.Tooltip("varde_txt:N", title=w["value"])]
    base = alt.Chart(out)
    layers = []
    if "lag" in out and "hog" in out:
        band_df = out.drop_duplicates("period")
        layers.append(
            alt.Chart(band_df)
            .mark_area(opacity=0.25, color=BAND)
            .encode(x=x, y=alt.Y("lag:Q", title=ytitle, axis=alt.Axis(format=yfmt)), y2="hog:Q",
                    tooltip=[alt.Tooltip("lag_txt:N", title=w["interval"] + " från"), alt.Tooltip("hog_txt:N", title="till")])
        )
    if "mal" in out:
        layers.append(
            alt.Chart(out.drop_duplicates("period"))
            .mark_line(strokeDash=[6, 4], color="#333333", strokeWidth=1.5)
            .encode(x=x, y=alt.Y("mal:Q", title=ytitle, axis=alt.Axis(format=yfmt)),
                    tooltip=[alt.Tooltip("mal_txt:N", title=w["target"])])
        )
    last = order[-1] if order else None
    if "mal" in out and last is not None:
        end = out[out["period"] == last].drop_duplicates("period").assign(ord=w["target"])
        layers.append(alt.Chart(end).mark_text(align="left", dx=6, baseline="middle", color="#333333").encode(x=x, y="mal:Q", text="ord:N"))
    if "lag" in out and "hog" in out and last is not None:
        end = out[out["period"] == last].drop_duplicates("period").assign(ord=w["interval"])
        layers.append(alt.Chart(end).mark_text(align="left", dx=6, baseline="middle", color="#1f6f99").encode(x=x, y="hog:Q", text="ord:N"))
        for edge in ("lag", "hog"):  # the band's edges as thin lines (the fill alone is too faint)
            layers.append(alt.Chart(out.drop_duplicates("period")).mark_line(color=BAND, strokeWidth=1).encode(x=x, y=f"{edge}:Q"))
    enc: dict[str, Any] = {"x": x, "y": alt.Y("varde:Q", title=ytitle, axis=alt.Axis(format=yfmt), scale=alt.Scale(zero=False)), "tooltip": tooltip}
    if grupp:
        enc["color"] = alt.Color("grupp:N", legend=alt.Legend(title=None), sort=fmt.sorted_sv(out["grupp"].unique()))
    layers.append(base.mark_line(point=True).encode(**enc))
    chart = alt.layer(*layers).properties(width=width, height=height)
    cols: dict[str, list] = {w["month"]: out["period_lang"].tolist()}
    if grupp:
        cols[fmt.locale()["report"]["fields"]["vu"] if grupp == "vu" else "Grupp"] = out["grupp"].tolist()
    cols[w["value"]] = out["varde_txt"].tolist()
    for c, label in (("lag", w["interval"] + " från"), ("hog", "till"), ("mal", w["target"])):
        if c + "_txt" in out:
            cols[label] = out[c + "_txt"].tolist()
    numeric = [False] + ([False] if grupp else []) + [True] * (len(cols) - (2 if grupp else 1))
    return Chart(chart, beskrivning=beskrivning, titel=titel, tabell=pd.DataFrame(cols), numeriska=numeric)


def cumulative_result(
    data: pd.DataFrame,
    *,
    beskrivning: str,
    ar: int,
    period: str = "period",
    resultat_ack: str = "resultat_ack",
    prognos: Mapping[str, float] | None = None,
    budget_ack: str | None = None,
    format: str = "mnkr",
    titel: str | None = None,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
) -> Chart:
    """The result accumulated month by month against zero, and the forecast path to December.

    A small monthly deficit that monthly cost and revenue bars hide (0,4 mnkr
    on 18 mnkr) adds up visibly here. The zero line is the balanced budget
    (or, with ``budget_ack``, the budgeted accumulated result is drawn as a
    dashed line). Each forecast method is a dashed path from the last actual
    month to its full-year result in December, and the range between them is
    shaded: the forecast's uncertainty.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per month of the year so far: ``period`` (``'YYYY-MM'``) and
        the accumulated result in kronor (positive = surplus).
    beskrivning : str
        Required Swedish description.
    ar : int
        The year (the x axis runs January to December).
    period, resultat_ack : str
        Column names.
    prognos : mapping of str to float, optional
        Full-year result (kronor) per forecast method, e.g.
        ``{"Årstakt": -5.87e6, "Fjolårsprofil": -7.95e6}``. The path from the
        last month is drawn straight (evenly spread over the months left).
    budget_ack : str, optional
        Column with the budgeted accumulated result (none: the budget is in
        balance, i.e. zero every month).
    format : str, default 'mnkr'
    titel : str, optional
    width, height : int

    Returns
    -------
    Chart
    """
    w = _words()
    f = fmt.formatter(format.lstrip("+"))
    fs = fmt.formatter("+" + format.lstrip("+"))
    scale = _scale_for(format)
    df = data.sort_values(period).reset_index(drop=True)
    months = [f"{ar}-{m:02d}" for m in range(1, 13)]
    labels = dict(zip(months, _period_labels(months)))
    order = [labels[m] for m in months]
    actual_name = "Resultat hittills"
    rows = []
    for _, r in df.iterrows():
        p = str(r[period])
        rows.append({"manad": labels[p], "lang": _long_period(p), "serie": actual_name,
                     "varde": _scaled(r[resultat_ack], scale), "txt": fs(r[resultat_ack])})
    last_p = str(df[period].iloc[-1]) if len(df) else months[0]
    last_m = int(last_p[5:7])
    last_v = float(df[resultat_ack].iloc[-1]) if len(df) else 0.0
    paths: dict[str, list[float]] = {}
    for name, year_end in (prognos or {}).items():
        if fmt.is_missing(year_end):
            continue
        path = []
        for m in range(last_m, 13):
            share = 1.0 if last_m == 12 else (m - last_m) / (12 - last_m)
            v = last_v + (float(year_end) - last_v) * share
            path.append(v)
            rows.append({"manad": labels[months[m - 1]], "lang": _long_period(months[m - 1]), "serie": f"Prognos, {name.lower()}",
                         "varde": _scaled(v, scale), "txt": fs(v)})
        paths[name] = path
    long = pd.DataFrame(rows)
    series = [actual_name] + [f"Prognos, {n.lower()}" for n in paths]
    colors = [PALETTE["blue"], PALETTE["vermillion"], PALETTE["orange"], PALETTE["reddish_purple"]][: len(series)]
    dashes = [[1, 0]] + [[6, 4], [2, 3], [8, 3]][: len(series) - 1]
    x = alt.X("manad:N", sort=order, scale=alt.Scale(domain=order), title=None, axis=alt.Axis(labelAngle=0))
    y = alt.Y("varde:Q", title=_unit_title(format), axis=alt.Axis(format=_d3_format(format)))
    color = alt.Color("serie:N", scale=alt.Scale(domain=series, range=colors),
                      legend=alt.Legend(title=None, symbolType="stroke", symbolStrokeWidth=3, symbolSize=300))
    dash = alt.StrokeDash("serie:N", scale=alt.Scale(domain=series, range=dashes),
                          legend=alt.Legend(title=None, symbolType="stroke", symbolStrokeWidth=3, symbolSize=300))
    tip = [alt.Tooltip("lang:N", title=w["month"]), alt.Tooltip("serie:N", title="Serie"), alt.Tooltip("txt:N", title=w["value"])]
    layers = []
    if len(paths) >= 2:
        lo = [min(vals) for vals in zip(*paths.values())]
        hi = [max(vals) for vals in zip(*paths.values())]
        band = pd.DataFrame({"manad": [labels[months[m - 1]] for m in range(last_m, 13)],
                             "lag": [_scaled(v, scale) for v in lo], "hog": [_scaled(v, scale) for v in hi]})
        layers.append(alt.Chart(band).mark_area(opacity=0.15, color=BAND).encode(x=x, y=alt.Y("lag:Q"), y2="hog:Q"))
    zero_label = "Budget" if budget_ack else "Noll (budget i balans)"
    layers.append(alt.Chart(pd.DataFrame({"noll": [0.0], "ord": [zero_label]})).mark_rule(color="#333333", strokeWidth=1).encode(y="noll:Q"))
    if budget_ack:
        bud = pd.DataFrame({"manad": [labels[str(p)] for p in df[period]], "varde": [_scaled(v, scale) for v in df[budget_ack]]})
        layers.append(alt.Chart(bud).mark_line(color="#333333", strokeDash=[4, 3], strokeWidth=1.5).encode(x=x, y="varde:Q"))
    layers.append(alt.Chart(long).mark_line(strokeWidth=2.5).encode(x=x, y=y, color=color, strokeDash=dash, tooltip=tip))
    layers.append(alt.Chart(long[long["serie"] == actual_name]).mark_point(filled=True, size=45).encode(x=x, y="varde:Q", color=color, tooltip=tip))
    ends = long.groupby("serie", sort=False).tail(1)
    layers.append(alt.Chart(ends).mark_text(align="left", dx=7, baseline="middle", fontWeight=600).encode(
        x=x, y="varde:Q", text="txt:N", color=alt.Color("serie:N", scale=alt.Scale(domain=series, range=colors), legend=None)))
    zero_txt = pd.DataFrame({"manad": [order[0]], "noll": [0.0], "ord": [zero_label]})
    layers.append(alt.Chart(zero_txt).mark_text(align="left", baseline="bottom", dy=-3, dx=-4, color="#333333", fontSize=10).encode(
        x=x, y="noll:Q", text="ord:N"))
    # room on the right for the end labels
    chart = alt.layer(*layers).properties(width=width - 60, height=height, padding={"left": 4, "right": 70, "top": 6, "bottom": 4})
    # the values, month by month
    table_rows = []
    actual = {str(p): v for p, v in zip(df[period], df[resultat_ack])}
    for m in range(1, 13):
        p = months[m - 1]
        row = [_long_period(p), fs(actual[p]) if p in actual else ""]
        for name, path in paths.items():
            row.append(fs(path[m - last_m]) if m >= last_m else "")
        table_rows.append(row)
    tab = pd.DataFrame(table_rows, columns=[w["month"], actual_name] + [f"Prognos, {n.lower()}" for n in paths])
    return Chart(chart, beskrivning=beskrivning, titel=titel, tabell=tab)
