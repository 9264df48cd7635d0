"""Executed report notebooks to HTML and PDF, without Quarto.

One :class:`Renderer` is meant to live for a whole batch: it builds the
nbconvert exporter, the typst compiler (with the house fonts) and the
embedded JavaScript once, then renders any number of notebooks::

    r = Renderer()
    r.render_html("reports/2026-08/notebooks/AN-VB.ipynb", "reports/2026-08/AN-VB.html", meta)
    r.render_pdf("reports/2026-08/notebooks/AN-VB.ipynb", "reports/2026-08/AN-VB.pdf", meta)

``meta`` (see :data:`META_KEYS`) is a dict of strings:

========================  ==========================================================
``titel``                 report title, e.g. ``'Månadsuppföljning'``
``undertitel``            subtitle (may be empty), e.g. the VU's full name
``vu``                    VU id or name shown in the title block, e.g. ``'AN-VB'``
``period``                ``'YYYY-MM'`` (shown as ``'augusti 2026'``) or a label
``modellversion``         model version the figures were computed with, ``'4.0'``
``data_fingerprint``      :attr:`vu_lib.data.Dataset.fingerprint`
``kodversion``            code version (git describe / commit)
``datum``                 date the report was made, ``'YYYY-MM-DD'``
``namnd`` (optional)      board, e.g. ``'Äldrenämnden'`` (shown above the title)
``datakalla`` (optional)  :attr:`vu_lib.data.Dataset.source`
``utkast`` (optional)     ``True`` marks the report as a draft (UTKAST)
``namn`` (optional)       the report's name in the document title, e.g.
                          ``'Vårdbostad och korttidsplatser (AN-VB)'`` (default
                          ``undertitel`` or ``titel``)
``typ`` (optional)        ``'vu'`` (default), ``'oversikt'``, ``'modell'`` or ``'budget'``
``navigering`` (optional) links of the HTML page: ``{"brodsmulor": [[text, href], ...],
                          "relaterade": [[text, href], ...]}`` (relative hrefs)
========================  ==========================================================

The document title (HTML ``<title>``, PDF title shown by the viewer) is
``"<namn> – <period>"`` (:func:`document_title`). The page's one level-1
heading is the notebook's first ``#`` heading (lifted out of the notebook, see
:func:`lift_title`), or the name when the notebook has none.

Outputs are written atomically (a temporary file in the target directory,
then :func:`os.replace`), so a failed render never replaces a good report
with half a file.

HTML: nbconvert with the template ``vu_lib/templates/vu_html`` (code and
prompts hidden, ``<html lang="sv">``, title block, print CSS, the house font
embedded as data URLs, Vega/Vega-Lite/vega-embed from vl-convert's bundle
embedded once). The page makes no network request.

PDF: the executed notebook is walked into pandoc Markdown (Markdown cells as
they are, tables from ``text/markdown``, charts from ``image/svg+xml`` written
as SVG files), converted with pandoc's typst writer and compiled with the
``typst`` package using ``vu_lib/templates/vu.typ`` (A4, Swedish
hyphenation, "Sida 3 av 12", title block).

Notebook conventions (both formats):

- the title block (from ``meta``) is the page's only level-1 heading, so
  notebook sections start at ``##`` (PDF/UA, ``pdf_standards=["ua-1"]``,
  requires it; screen readers expect it);
- report content is Markdown cells and displayed objects: vu ``Table`` and
  ``Chart``, ``IPython.display.Markdown``, images; code, ``print`` output,
  warnings and plain-text results are not part of the report;
- cell tags ``remove-cell`` and ``remove-output`` hide a cell or its outputs.
"""
from __future__ import annotations

import base64
import copy
import html as html_lib
import functools
import json
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from vu_lib.report import charts as _charts  # first: imports jsonschema without rfc3987_syntax (see vu_lib.charts)
from vu_lib.core.io import atomic_write_bytes
from vu_lib.report import escape as _escape
from vu_lib.report import fmt

import nbformat  # noqa: E402  (after charts on purpose)

__all__ = [
    "Renderer",
    "META_KEYS",
    "REQUIRED_META_KEYS",
    "OPTIONAL_META_KEYS",
    "validate_meta",
    "atomic_write",
    "notebook_to_markdown",
    "vega_javascript",
    "document_title",
    "report_name",
    "report_subtitle",
    "lift_title",
    "typst_meta",
    "TEMPLATES_DIR",
    "PROJECT_ROOT",
]

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
FONT_DIR = TEMPLATES_DIR / "fonts"
HTML_TEMPLATE = "vu_html"
TYPST_TEMPLATE = TEMPLATES_DIR / "vu.typ"
TYPST_TEXT_FILTER = TEMPLATES_DIR / "typst_text.lua"

VEGALITE_MIME = _charts.VEGALITE_MIME

REQUIRED_META_KEYS = ("titel", "undertitel", "vu", "period", "modellversion", "data_fingerprint", "kodversion", "datum")
OPTIONAL_META_KEYS = ("namnd", "datakalla", "utkast", "namn", "typ", "navigering")
REPORT_KINDS = ("vu", "oversikt", "modell", "budget")
META_KEYS = REQUIRED_META_KEYS + OPTIONAL_META_KEYS
_MAY_BE_EMPTY = {"undertitel"}

#: PDF standards of every PDF unless the Renderer is told otherwise.
DEFAULT_PDF_STANDARDS = ("ua-1",)

#: Cell tags that hide things (the Quarto / nbconvert conventions).
REMOVE_CELL_TAGS = {"remove-cell", "remove_cell"}
REMOVE_INPUT_TAGS = {"remove-input", "remove_input"}
REMOVE_OUTPUT_TAGS = {"remove-output", "remove_output"}

HTML_PRIORITY = [
    VEGALITE_MIME,
    "text/html",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "text/markdown",
    "text/plain",
]

# The fonts embedded in the HTML page (data URLs): weight, style, file.


# --------------------------------------------------------------------------- meta
def validate_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise the report metadata.

    Parameters
    ----------
    meta : mapping
        Must hold every key of :data:`REQUIRED_META_KEYS` (non-empty, except
        ``undertitel``); may hold :data:`OPTIONAL_META_KEYS`.

    Returns
    -------
    dict
        Values as stripped strings (``utkast`` as bool).

    Raises
    ------
    ValueError
        Missing, empty or unknown keys.
    """
    missing = [k for k in REQUIRED_META_KEYS if k not in meta]
    if missing:
        raise ValueError(f"meta saknar nycklarna: {', '.join(missing)}")
    unknown = sorted(set(meta) - set(META_KEYS))
    if unknown:
        raise ValueError(f"okända nycklar i meta: {', '.join(unknown)}; tillåtna: {', '.join(META_KEYS)}")
    out: dict[str, Any] = {}
    for k in META_KEYS:
        if k not in meta:
            continue
        v = meta[k]
        if k == "utkast":
            out[k] = bool(v)
            continue
        if k == "navigering":
            out[k] = _validate_navigation(v)
            continue
        s = "" if v is None else str(v).strip()
        if not s and k in REQUIRED_META_KEYS and k not in _MAY_BE_EMPTY:
            raise ValueError(f"meta['{k}'] är tom")
        out[k] = s
    if out.get("typ", "vu") not in REPORT_KINDS:
        raise ValueError(f"meta['typ'] ska vara en av {', '.join(REPORT_KINDS)}")
    return out


def _validate_navigation(nav: Any) -> dict[str, list[tuple[str, str]]]:
    if nav is None:
        return {}
    if not isinstance(nav, Mapping):
        raise ValueError("meta['navigering'] ska vara en ordlista med listor av [text, länk]")
    out: dict[str, list[tuple[str, str]]] = {}
    for key in ("brodsmulor", "relaterade"):
        links = []
        for item in nav.get(key) or []:
            if not isinstance(item, (list, tuple)) or len(item) != 2 or not all(isinstance(x, str) and x.strip() for x in item):
                raise ValueError(f"meta['navigering']['{key}']: varje länk ska vara [text, länk], fick {item!r}")
            links.append((item[0].strip(), item[1].strip()))
        out[key] = links
    unknown = sorted(set(nav) - {"brodsmulor", "relaterade"})
    if unknown:
        raise ValueError(f"okända nycklar i meta['navigering']: {', '.join(unknown)}")
    return out


def report_name(meta: Mapping[str, Any]) -> str:
    """The report's name: ``namn``, else ``undertitel``, else ``titel``."""
    return meta.get("namn") or meta.get("undertitel") or meta["titel"]


def document_title(meta: Mapping[str, Any]) -> str:
    """``"<report name> – <period>"``, the title of the HTML page and of the PDF document."""
    return f"{report_name(meta)} – {_period_text(meta['period'])}"


def _period_text(period: str) -> str:
    if re.match(r"^\d{4}-\d{1,2}$", period):
        return fmt.period_label(period)
    return period


def _fields(meta: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(label, value, kind) for the title block; kind 'kod' is set in monospace."""
    labels = fmt.locale()["report"]["fields"]
    # VU, period, model version and date only: the data and code fingerprints are in the
    # report's colophon ("Om rapporten"), so page 1 keeps its room for the summary.
    kind = meta.get("typ", "vu")
    rows = [
        (labels["vu"] if kind == "vu" else labels["avser"], meta["vu"], "text"),
        (labels["period"], _period_text(meta["period"]), "text"),
        (labels["modellversion"], meta["modellversion"], "text"),
        (labels["datum"], meta["datum"], "text"),
    ]
    if meta.get("datakalla"):
        rows.insert(3, (labels["datakalla"], meta["datakalla"], "text"))
    if kind in ("modell", "budget"):  # the subject is the title itself
        rows = rows[1:]
    return rows


def _footer(meta: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for x in (meta["titel"], meta["vu"], _period_text(meta["period"])):
        if x and not any(x in p for p in parts):  # "Ersättningsmodellen · Ersättningsmodellen" once
            parts.append(x)
    return " · ".join(parts)


def report_subtitle(meta: Mapping[str, Any], heading: str) -> str:
    """The line under the page's heading: the subtitle, or the report type and period when the heading says the rest."""
    sub = meta.get("undertitel", "")
    if sub and sub != heading and sub not in heading:
        return sub
    return f"{meta['titel']}, {_period_text(meta['period'])}"


# --------------------------------------------------------------------------- headings
_H1_RE = re.compile(r"^# +(.+?)\s*#*\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")


def _lift_in_text(text: str, state: dict) -> str:
    out = []
    fenced = False
    for line in text.split("\n"):
        if _FENCE_RE.match(line):
            fenced = not fenced
        m = None if fenced else _H1_RE.match(line)
        if m:
            if state.get("title") is None:
                state["title"] = m.group(1).strip()
                continue
            line = "#" + line  # a later level-1 heading becomes a section (##)
        out.append(line)
    return "\n".join(out)


def lift_title(nb: nbformat.NotebookNode) -> str | None:
    """Take the notebook's first level-1 heading out of it, in place, and return its text.

    The rendered page has one level-1 heading, the title block's: it shows this
    text (the notebook's own title, e.g. the VU's name). Any later ``#``
    heading is made a ``##`` section. Markdown cells and ``text/markdown``
    outputs are searched in order.
    """
    state: dict[str, Any] = {"title": None}
    for cell in nb.cells:
        if _tags(cell) & REMOVE_CELL_TAGS:
            continue
        if cell.cell_type == "markdown":
            cell.source = _lift_in_text(_text(cell.source), state)
        elif cell.cell_type == "code":
            for out in cell.get("outputs", []):
                data = out.get("data") or {}
                if "text/markdown" in data:
                    new = _lift_in_text(_text(data["text/markdown"]), state)
                    data["text/markdown"] = new
                    if "text/plain" in data:
                        data["text/plain"] = new
    return state["title"]


_HEADING_RE = re.compile(r"<h([23])((?:\s[^>]*)?)>(.*?)</h\1>", re.S)


def _slug(text: str) -> str:
    s = re.sub(r"<[^>]+>", "", text)
    s = re.sub(r"&[a-z]+;|&#\d+;", " ", s).lower()
    s = re.sub(r"[^0-9a-zåäöéü]+", "-", s).strip("-")
    return s or "avsnitt"


def _toc_and_ids(body: str, toc_label: str) -> str:
    """Give every ``<h2>``/``<h3>`` of the page an id and put the table of contents (the h2) at ``<!--vu-toc-->``."""
    used: set[str] = set(re.findall(r'\bid="([^"]+)"', body))
    entries: list[tuple[str, str]] = []

    def add_id(m: re.Match) -> str:
        level, attrs, inner = m.group(1), m.group(2) or "", m.group(3)
        idm = re.search(r'\bid="([^"]+)"', attrs)
        if idm:
            hid = idm.group(1)
        else:
            base = _slug(inner)
            hid, n = base, 1
            while hid in used:
                n += 1
                hid = f"{base}-{n}"
            used.add(hid)
            attrs = f' id="{hid}"' + attrs
        if level == "2":
            entries.append((hid, re.sub(r"<[^>]+>", "", inner).strip()))
        return f"<h{level}{attrs}>{inner}</h{level}>"

    head, sep, rest = body.partition('<main id="innehall"')
    if not sep:
        return body.replace("<!--vu-toc-->", "")
    rest = _HEADING_RE.sub(add_id, rest)
    body = head + sep + rest
    if len(entries) < 2:
        return body.replace("<!--vu-toc-->", "")
    from html import escape  # noqa: PLC0415

    items = "".join(f'<li><a href="#{escape(h)}">{escape(t)}</a></li>' for h, t in entries)
    nav = (f'<nav class="vu-innehall" aria-labelledby="vu-innehall-rubrik">'
           f'<h2 id="vu-innehall-rubrik">{escape(toc_label)}</h2><ol>{items}</ol></nav>')
    return body.replace("<!--vu-toc-->", nav, 1)


def typst_meta(m: Mapping[str, Any], font: str = _charts.FONT_FAMILY, heading: str | None = None) -> dict:
    """The ``meta`` dictionary of ``vu.typ``'s ``vu-rapport`` (title block, running footer) for validated ``m``.

    Shared by the built-in PDF and the Quarto PDF (:mod:`vu_lib.publish.quarto`). ``heading`` is the
    report's name as its one top-level heading (default :func:`report_name`).
    """
    labels = fmt.locale()["report"]
    heading = heading or report_name(m)
    return {
        "titel": m["titel"],
        "rubrik": heading,
        "dokumenttitel": document_title(m),
        "undertitel": report_subtitle(m, heading),
        "overline": m.get("namnd", ""),
        "utkast": bool(m.get("utkast", False)),
        "utkast_text": labels["draft"],
        "lang": fmt.locale().language,
        "region": fmt.locale()["region"],
        "font": font,
        "falt": [list(f) for f in _fields(m)],
        "sidfot": _footer(m),
        "sida": labels["page"],
    }


# --------------------------------------------------------------------------- files
def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write a file atomically: a temporary file in the same directory, then ``os.replace``.

    Parameters
    ----------
    path : path-like
        Target; its directory is created if needed.
    data : bytes or str
        Content (str is written as UTF-8).

    Returns
    -------
    Path
        The target path.
    """
    target = Path(path)
    atomic_write_bytes(target, data.encode("utf-8") if isinstance(data, str) else data)
    return target


def _read_notebook(nb: str | os.PathLike | nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook at a path, or the notebook itself when one is given (the renderer copies it before changing it)."""
    if isinstance(nb, dict):
        return nb
    return nbformat.read(str(nb), as_version=4)


def _tags(cell: Mapping) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []) or [])


# --------------------------------------------------------------------------- JavaScript and fonts
def _cache_dir() -> Path:
    env = os.environ.get("VU_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "vu"


@functools.lru_cache(maxsize=4)
@functools.lru_cache(maxsize=2)
def vega_javascript(vl_version: str | None = None) -> str:
    """Vega, Vega-Lite and vega-embed as one script, from vl-convert's bundle.

    ``vl_convert.javascript_bundle()`` takes about 3 s the first time in a
    process, so the result is cached in memory and on disk
    (``$VU_CACHE_DIR`` or ``~/.cache/vu``), keyed by the vl-convert and
    Vega-Lite versions. The script sets ``window.vegaEmbed``, ``vegaLite`` and
    ``vega`` and loads nothing from the network.

    Parameters
    ----------
    vl_version : str, optional
        Vega-Lite version; default :func:`vu_lib.charts.vegalite_version`.

    Returns
    -------
    str
    """
    import vl_convert as vlc  # noqa: PLC0415

    if vl_version is None:
        from vu_lib.report.charts import vegalite_version  # noqa: PLC0415

        vl_version = vegalite_version()
    version = getattr(vlc, "__version__", "0")
    cache = _cache_dir() / f"vega-bundle-vlc{version}-vl{vl_version}.js"
    try:
        text = cache.read_text(encoding="utf-8")
        if len(text) > 100_000:
            return text
    except OSError:
        pass
    js = vlc.javascript_bundle(vl_version=vl_version)
    if "</script" in js.lower():  # cannot be inlined safely
        js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    try:
        atomic_write(cache, js)
    except OSError as exc:  # a read-only home is fine
        log.debug("kunde inte spara JavaScript-cache %s: %s", cache, exc)
    return js


#: Where the font CSS and the Vega script go in the page (replaced after nbconvert).
_FONT_SLOT = "/* vu: font-face */"
_VEGA_SLOT = "/* vu: vega-bundle */"


@functools.lru_cache(maxsize=1)
def _font_css() -> str:
    return _charts.font_face_css()


def _script_json(obj: Any) -> str:
    """JSON safe inside a <script> element."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# --------------------------------------------------------------------------- content security policy
#: The policy of every page, apart from the hashes. No 'unsafe-inline' at all: the page's
#: own scripts and its own <style> elements run by sha256 hash, so an injected handler,
#: <script>, <style> or style attribute is dead. The page has no style attribute (see
#: :func:`styles_to_head`); vega-embed and vega-tooltip add no <style> of their own
#: (``defaultStyle: false``, ``disableDefaultStyle: true`` in charts.js: their rules are in
#: vu.css) and set positions through the CSSOM, which a CSP does not restrict.
#: Vega's expressions run through its interpreter (vega-embed ``ast: true``), so no eval is needed.
CSP_EVAL = ""
CSP_BASE = ("default-src 'none'; {script}; {style}; img-src data:; font-src data:; "
            "base-uri 'none'; form-action 'none'")
#: Where the policy goes in the page template; filled in when the page is complete.
_CSP_SLOT = "vu-csp-slot"


def _csp_hash(script: str) -> str:
    import hashlib  # noqa: PLC0415

    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(scripts: Sequence[str] = (), styles: Sequence[str] = ()) -> str:
    """The page's Content-Security-Policy: only the given inline scripts and styles apply.

    Parameters
    ----------
    scripts : sequence of str
        The exact text of each ``<script>`` element the renderer itself puts in
        the page; each is allowed by its sha256 hash (CSP level 2). Nothing else
        runs: no other inline script, no event-handler attribute, no
        ``javascript:`` URL, no ``eval`` (Vega interprets its expressions).
    styles : sequence of str
        The exact text of each ``<style>`` element of the page's own ``<head>``,
        each allowed by its hash. No other ``<style>`` and no ``style`` attribute
        applies.
    """
    if scripts:
        script = "script-src " + " ".join(_csp_hash(s) for s in dict.fromkeys(scripts)) + CSP_EVAL
    else:
        script = "script-src 'none'"
    style = "style-src " + " ".join(_csp_hash(s) for s in dict.fromkeys(styles)) if styles else "style-src 'none'"
    return CSP_BASE.format(script=script, style=style)


#: The style attributes of vu's own HTML tables (:mod:`vu_lib.report.tables`, for views without
#: vu.css: JupyterLab, nbviewer); on a page the same rules come from the page's CSS (vu.css,
#: vu-quarto.css), so :func:`styles_to_head` drops them.
TABLE_STYLE_ATTRS = (' style="text-align:right"', ' style="text-align:left"',
                     ' style="border-collapse:collapse;font-variant-numeric:tabular-nums"',
                     ' style="text-align:left;font-weight:600"', ' style="font-weight:700"')
_CHART_WIDTH = re.compile(r'(<figure class="vu-chart" id="([A-Za-z][A-Za-z0-9_-]*)") style="--vu-w: ([0-9]+(?:\.[0-9]+)?)px"')
_STYLE_ELEMENT = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.S | re.I)
_SCRIPT_ELEMENT = re.compile(r"(<script\b[^>]*>).*?</script\s*>", re.S | re.I)


def styles_to_head(page: str) -> str:
    """``page`` without style attributes: the tables' (:data:`TABLE_STYLE_ATTRS`) dropped, each
    chart's width (``style="--vu-w: 625px"`` on its figure) moved into the head's first ``<style>``
    as a rule for its id. Call before large assets go in (it scans the page)."""
    for attr in TABLE_STYLE_ATTRS:
        page = page.replace(attr, "")
    rules: list[str] = []

    def move(m: re.Match) -> str:
        rules.append(f"#{m.group(2)}{{--vu-w:{m.group(3)}px}}")
        return m.group(1)

    page = _CHART_WIDTH.sub(move, page)
    if rules:
        end = page.find("</style>")
        if not 0 <= end < page.find("<body"):
            raise ValueError("sidan har ingen <style> i <head> för diagrammens bredd")
        page = page[:end] + "\n" + "\n".join(rules) + "\n" + page[end:]
    return page


def head_styles(page: str) -> list[str]:
    """The text of each ``<style>`` element in the page's ``<head>`` (the page's own CSS; data
    text only ever reaches the body)."""
    bare = _SCRIPT_ELEMENT.sub(r"\1</script>", page)  # a script's text may hold "</head>" (the Vega bundle does)
    head_end = bare.find("</head>")
    return [m.group(1) for m in _STYLE_ELEMENT.finditer(bare, 0, head_end if head_end >= 0 else 0)]


@functools.lru_cache(maxsize=4)
def _chart_js(format_locale_json: str, time_locale_json: str) -> str:
    """The page's chart-drawing script (templates/vu_html/charts.js) with the locales filled in."""
    js = (TEMPLATES_DIR / HTML_TEMPLATE / "charts.js").read_text(encoding="utf-8")
    return js.replace("__VU_FORMAT_LOCALE__", format_locale_json).replace("__VU_TIME_LOCALE__", time_locale_json)


def _markdown2html_data(source: str) -> str:
    """Markdown *output* (narrative and tables woven from data) to HTML, raw HTML escaped.

    vu's own Markdown never holds raw HTML, so escaping it costs nothing and makes
    sure a data text that slipped through unescaped still cannot become markup.
    """
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath  # noqa: PLC0415

    html = MarkdownWithMath(renderer=IPythonRenderer(escape=True, exclude_anchor_links=True)).render(source)
    # headings get their ids (slugs, unique on the page) with the table of contents: _toc_and_ids
    return re.sub(r'<(h[1-6]) id="[^"]*">', r"<\1>", html)


_ID_RE = re.compile(r'\bid="([^"]+)"')


def _inline_svg(svg: str | list, prefix: str) -> str:
    """An SVG document made safe to inline several times in one page (unique ids)."""
    if isinstance(svg, list):
        svg = "".join(svg)
    svg = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg)
    for old in set(_ID_RE.findall(svg)):
        new = f"{prefix}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"').replace(f"url(#{old})", f"url(#{new})")
        svg = svg.replace(f'href="#{old}"', f'href="#{new}"')
    return svg


# --------------------------------------------------------------------------- notebook -> markdown
_typst_str = _escape.typst_string


#: A chart this wide (in SVG px, about the house default) fills the text width;
#: narrower charts are scaled by the same factor, so chart text has one size.
REFERENCE_CHART_WIDTH = 640


def _svg_width(svg: str) -> float | None:
    m = re.search(r"<svg\b[^>]*?\swidth=\"([0-9.]+)(?:px)?\"", svg)
    return float(m.group(1)) if m else None


def _typst_image_code(filename: str, alt: str | None, natural_width: float | None = None) -> str:
    alt_arg = f", alt: {_typst_str(alt)}" if alt else ""
    pct = 100.0 if not natural_width else min(100.0, 100.0 * natural_width / REFERENCE_CHART_WIDTH)
    return f'#vu-diagram(image({_typst_str(filename)}, width: {pct:.1f}%{alt_arg}))'


class _RawBlocks:
    """The renderer's own typst code, kept out of pandoc's reach.

    pandoc reads the notebook's Markdown with every raw passthrough switched off
    (``raw_attribute``, ``raw_html``, ``raw_tex``), so no text, from data or a
    Markdown cell, can become typst code. The renderer's own blocks (the charts)
    stand in the Markdown as a paragraph holding a token with a per-document
    random nonce, and are put back into pandoc's typst output afterwards.
    """

    def __init__(self) -> None:
        import secrets  # noqa: PLC0415

        self.nonce = secrets.token_hex(8)
        self.blocks: dict[str, str] = {}

    def add(self, code: str) -> str:
        token = f"VURAWBLOCK{self.nonce}N{len(self.blocks) + 1}"
        self.blocks[token] = code
        return token

    def restore(self, typst: str) -> str:
        for token, code in self.blocks.items():
            typst = typst.replace(token, code)
        return typst


def _typst_image_block(filename: str, alt: str | None, natural_width: float | None = None,
                       raw: _RawBlocks | None = None) -> str:
    code = _typst_image_code(filename, alt, natural_width)
    if raw is not None:
        return raw.add(code)
    return f"```{{=typst}}\n{code}\n```"


def _text(v: Any) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


def add_chart_svgs(nb: nbformat.NotebookNode) -> int:
    """Give every chart output of ``nb`` its SVG (``image/svg+xml``), in place; return how many.

    Kernels emit a chart as its Vega-Lite spec only (:meth:`vu_lib.report.charts.Chart._repr_mimebundle_`);
    the picture for the PDF and for the HTML page without JavaScript is drawn here, in the
    renderer's long-lived process where vl-convert's engine is already running. An output that
    already has an SVG (a notebook executed by an older version) keeps it.
    """
    n = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = out.get("data")
            if not data or VEGALITE_MIME not in data or "image/svg+xml" in data:
                continue
            payload = data[VEGALITE_MIME]
            data["image/svg+xml"] = _charts.svg_from_spec(payload["spec"], payload.get("beskrivning", ""))
            n += 1
    return n


def notebook_to_markdown(nb: nbformat.NotebookNode, asset_dir: str | os.PathLike,
                         raw: _RawBlocks | None = None) -> str:
    """Walk an executed notebook into pandoc Markdown for the PDF path.

    Markdown cells are taken as they are. Of each output: a vu chart or any
    SVG is written to ``asset_dir`` and placed as a raw typst block
    (``#vu-diagram(image(...))`` with the chart's description as alt text);
    ``text/markdown`` (vu tables, ``IPython.display.Markdown``) is taken as
    it is; PNG/JPEG are written as files; an HTML-only output is converted
    with pandoc. Code, stream output and plain-text results are left out;
    an error is shown as a short paragraph. Cell tags ``remove-cell`` and
    ``remove-output`` are honoured.

    Parameters
    ----------
    nb : NotebookNode
    asset_dir : path-like
        Directory for the image files (the directory of the .typ file).
    raw : _RawBlocks, optional
        Where the renderer's own typst blocks go (the Markdown then holds tokens,
        see :class:`_RawBlocks`); without it they are shown as ```` ```{=typst} ````
        fences, for reading.

    Returns
    -------
    str
    """
    nb = copy.deepcopy(nb)
    add_chart_svgs(nb)  # charts arrive as specs; draw them here
    asset_dir = Path(asset_dir)
    blocks: list[str] = []
    n_img = 0
    error_label = fmt.locale()["report"]["error"]
    for cell in nb.cells:
        tags = _tags(cell)
        if tags & REMOVE_CELL_TAGS:
            continue
        if cell.cell_type == "markdown":
            src = _text(cell.source).strip()
            if src:
                blocks.append(src)
            continue
        if cell.cell_type != "code" or tags & REMOVE_OUTPUT_TAGS:
            continue
        for out in cell.get("outputs", []):
            otype = out.get("output_type")
            if otype == "error":
                blocks.append(f"**{error_label}:** {_escape.markdown(out.get('ename', ''))}: {_escape.markdown(out.get('evalue', ''))}")
                continue
            if otype not in ("display_data", "execute_result"):
                continue
            data = out.get("data", {})
            meta = out.get("metadata", {}) or {}
            if "image/svg+xml" in data:
                n_img += 1
                name = f"fig-{n_img}.svg"
                svg = _text(data["image/svg+xml"])
                (asset_dir / name).write_text(svg, encoding="utf-8")
                alt = None
                if VEGALITE_MIME in data:
                    alt = data[VEGALITE_MIME].get("beskrivning")
                alt = alt or meta.get("vu_alt") or fmt.locale()["report"]["chart"]
                blocks.append(_typst_image_block(name, alt, _svg_width(svg), raw))
            elif "text/markdown" in data:
                blocks.append(_text(data["text/markdown"]).strip())
            elif "image/png" in data or "image/jpeg" in data:
                mime = "image/png" if "image/png" in data else "image/jpeg"
                n_img += 1
                name = f"fig-{n_img}.{'png' if mime == 'image/png' else 'jpg'}"
                (asset_dir / name).write_bytes(base64.b64decode(_text(data[mime])))
                blocks.append(_typst_image_block(name, meta.get("vu_alt") or fmt.locale()["report"]["chart"], None, raw))
            elif "text/html" in data:
                blocks.append(_html_to_markdown(_text(data["text/html"])))
    return "\n\n".join(b for b in blocks if b) + "\n"


def page_css(stylesheet: Path) -> str:
    """A renderer's stylesheet after vega-embed's and vega-tooltip's rules (``templates/vega-embed.css``).

    The page's CSP lets no script add a ``<style>``, so their rules are in the page's CSS;
    both renderers' stylesheets come after them, so theirs win where they meet.
    """
    return (TEMPLATES_DIR / "vega-embed.css").read_text(encoding="utf-8") + "\n" + stylesheet.read_text(encoding="utf-8")


def pandoc_convert(text: str, to: str, source_format: str, extra_args: Sequence[str] = ()) -> str:
    """Convert ``text`` from ``source_format`` to ``to`` with pandoc (the binary pypandoc-binary ships).

    pypandoc's ``convert_text`` runs pandoc twice more per call to list its formats
    (``--list-input-formats``, ``--list-output-formats``); this runs it once.

    Raises
    ------
    RuntimeError
        pandoc failed; the message carries pandoc's own.
    """
    import subprocess  # noqa: PLC0415

    r = subprocess.run([pandoc_path(), f"--from={source_format}", f"--to={to}", *extra_args],
                       input=text.encode("utf-8"), capture_output=True,
                       creationflags=0x08000000 if os.name == "nt" else 0)  # no console window on Windows
    if r.returncode != 0:
        raise RuntimeError(f"pandoc avslutades med kod {r.returncode}: "
                           f"{r.stderr.decode('utf-8', errors='replace').strip()}")
    return r.stdout.decode("utf-8")


@functools.lru_cache(maxsize=1)
def pandoc_path() -> str:
    """The pandoc that pypandoc-binary ships (found once per process)."""
    import pypandoc  # noqa: PLC0415

    return pypandoc.get_pandoc_path()


def _html_to_markdown(html: str) -> str:
    # Markdown without raw HTML, divs or spans: PANDOC_MARKDOWN reads none of them.
    to = "markdown-raw_html-native_divs-native_spans-raw_attribute-link_attributes"
    return pandoc_convert(html, to, "html").strip()


#: How pandoc reads the report's Markdown: no raw passthrough of any kind (typst,
#: HTML, TeX), no citations ('@x' would become a typst reference that can fail),
#: no TeX math; the renderer's own typst goes through :class:`_RawBlocks`.
PANDOC_MARKDOWN = ("markdown-raw_attribute-raw_html-raw_tex-citations-tex_math_dollars"
                   "-tex_math_single_backslash-implicit_figures")


def _chart_data_html(payload: Mapping[str, Any], chart_id: str) -> str:
    """The chart's values as an HTML table (from the payload's ``tabell``), or ``''``."""
    tab = payload.get("tabell") or {}
    cols, rows = tab.get("kolumner") or [], tab.get("rader") or []
    if not cols or not rows:
        return ""
    esc = html_lib.escape
    num = tab.get("numeriska") or [False] * len(cols)
    cap = payload.get("titel") or payload.get("beskrivning", "")
    numcls = ' class="vu-num"'
    head = "".join(f'<th scope="col"{numcls if n else ""}>{esc(str(c))}</th>' for c, n in zip(cols, num))
    body = []
    for r in rows:
        cells = []
        for j, (v, n) in enumerate(zip(r, num)):
            cls = ' class="vu-num"' if n else ""
            cells.append(f'<th scope="row"{cls}>{esc(str(v))}</th>' if j == 0 else f"<td{cls}>{esc(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="vu-table vu-table--diagramdata"><caption class="vu-sr-only">{esc(cap)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


# --------------------------------------------------------------------------- renderer
class Renderer:
    """Render executed report notebooks to HTML and PDF (one instance per batch).

    Parameters
    ----------
    embed_fonts : bool, default True
        Embed the house font in the HTML page (data URLs, about 1 MB) so text
        and charts look the same everywhere; without it the page falls back
        to installed fonts.
    pdf_standards : sequence of str, optional
        typst PDF standards; default :data:`DEFAULT_PDF_STANDARDS` (``["ua-1"]``,
        PDF/UA-1: every image has alt text, one level-1 heading, no skipped
        heading levels, title and language set). ``[]`` turns it off. The PDF
        is tagged in any case.
    keep_typst : path-like, optional
        Debugging: copy the intermediate Markdown, .typ and images of each
        PDF into this directory.

    Notes
    -----
    Not thread-safe: use one Renderer per thread or process.
    """

    #: ``render_html`` and ``render_pdf`` take a NotebookNode as well as a path.
    reads_notebook_nodes = True

    def __init__(
        self,
        *,
        embed_fonts: bool = True,
        pdf_standards: Sequence[str] | None = None,
        keep_typst: str | os.PathLike | None = None,
    ) -> None:
        from nbconvert import HTMLExporter  # noqa: PLC0415
        from nbconvert.preprocessors import TagRemovePreprocessor  # noqa: PLC0415
        from traitlets.config import Config  # noqa: PLC0415
        import typst  # noqa: PLC0415

        self.embed_fonts = embed_fonts
        self.pdf_standards = list(DEFAULT_PDF_STANDARDS if pdf_standards is None else pdf_standards)
        self.keep_typst = Path(keep_typst) if keep_typst else None
        config = Config(
            {
                "NbConvertBase": {"display_data_priority": list(HTML_PRIORITY)},
                "TagRemovePreprocessor": {
                    "enabled": True,
                    "remove_cell_tags": sorted(REMOVE_CELL_TAGS),
                    "remove_all_outputs_tags": sorted(REMOVE_OUTPUT_TAGS),
                    "remove_input_tags": sorted(REMOVE_INPUT_TAGS),
                },
            }
        )
        self._html = HTMLExporter(
            config=config,
            template_name=HTML_TEMPLATE,
            extra_template_basedirs=[str(TEMPLATES_DIR)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            exclude_anchor_links=True,
            embed_images=True,
            language_code="sv",
        )
        self._html.register_preprocessor(TagRemovePreprocessor(config=config), enabled=True)
        self._html.register_filter("markdown2html_data", _markdown2html_data)
        self._css = page_css(TEMPLATES_DIR / HTML_TEMPLATE / "vu.css")
        self._typ_template = TYPST_TEMPLATE.read_text(encoding="utf-8")
        self._typst = typst.Compiler(font_paths=[str(FONT_DIR)], ignore_system_fonts=True)
        self._font_family = _charts.FONT_FAMILY
        self.timings: dict[str, list[float]] = {"html": [], "pdf": []}

    # ------------------------------------------------------------------ HTML
    def _prepare_html_outputs(self, nb: nbformat.NotebookNode) -> bool:
        """Add per-output render data (inline SVG, spec JSON, table labels); True when the page has charts."""
        n = 0
        has_charts = False
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for out in cell.get("outputs", []):
                data = out.get("data")
                if not data:
                    continue
                meta = out.setdefault("metadata", nbformat.NotebookNode())
                if VEGALITE_MIME in data:
                    n += 1
                    payload = data[VEGALITE_MIME]
                    chart_id = f"vu-diagram-{n}"
                    svg = _text(data.get("image/svg+xml", ""))
                    meta["vu_chart"] = {
                        "id": chart_id,
                        "width": _svg_width(svg) or REFERENCE_CHART_WIDTH,
                        "beskrivning": payload.get("beskrivning", ""),
                        "svg": _inline_svg(svg, chart_id),
                        "spec_json": _script_json(payload["spec"]),
                        "data_html": _chart_data_html(payload, chart_id),
                    }
                    has_charts = True
                elif "image/svg+xml" in data:
                    n += 1
                    meta["vu_svg"] = _inline_svg(data["image/svg+xml"], f"vu-bild-{n}")
                elif "text/html" in data and "<table" in _text(data["text/html"]):
                    html_text = _text(data["text/html"])
                    cap = re.search(r"<caption[^>]*>(.*?)</caption>", html_text, re.S)
                    label = re.sub(r"<[^>]+>", "", cap.group(1)).strip() if cap else fmt.locale()["report"]["table"]
                    meta["vu_table_label"] = html_lib.unescape(label)
        return has_charts

    def html_from_notebook(self, nb: nbformat.NotebookNode, meta: Mapping[str, Any]) -> str:
        """The report page as a string (see :meth:`render_html`)."""
        m = validate_meta(meta)
        nb = copy.deepcopy(nb)
        add_chart_svgs(nb)
        heading = lift_title(nb) or report_name(m)
        has_charts = self._prepare_html_outputs(nb)
        labels = fmt.locale()["report"]
        nav = m.get("navigering") or {}
        vega_js = vega_javascript() if has_charts else ""
        chart_js = _chart_js(_script_json(fmt.d3_format_locale()), _script_json(fmt.d3_time_format_locale()))
        vu = {
            "lang": fmt.locale().language,
            "meta": m,
            "heading": heading,
            "subtitle": report_subtitle(m, heading),
            "overline": m.get("namnd", ""),
            "fields": _fields(m),
            "footer": _footer(m) + " · " + f"{labels['fields']['datum']} {m['datum']}",
            "html_title": document_title(m),
            "breadcrumbs": nav.get("brodsmulor", []),
            "related": nav.get("relaterade", []),
            "css": self._css,
            # the two large assets (about 1,5 MB) go in after nbconvert: its HTML post-processing
            # (BeautifulSoup over the whole page) then parses a page of about 100 kB
            "font_css": _FONT_SLOT if self.embed_fonts else "",
            "has_charts": has_charts,
            "vega_js": _VEGA_SLOT if has_charts else "",
            "chart_js": chart_js,
            # the CSP hashes the scripts and styles as they end up in the page: filled in below
            "csp": _CSP_SLOT,
            "error_label": labels["error"],
            "draft_label": labels["draft"],
            "skip_label": labels["skip"],
            "breadcrumbs_label": labels["breadcrumbs"],
            "related_label": labels["related"],
            "chart_data_label": labels["chart_data"],
        }
        body, _ = self._html.from_notebook_node(nb, resources={"vu": vu})
        body = styles_to_head(_toc_and_ids(body, labels["toc"]))
        if self.embed_fonts:
            body = body.replace(_FONT_SLOT, _font_css(), 1)
        styles = head_styles(body)  # before the Vega bundle goes into the head
        if has_charts:
            body = body.replace(_VEGA_SLOT, vega_js, 1)
        csp = content_security_policy([vega_js, chart_js] if has_charts else [], styles)
        return body.replace(f'content="{_CSP_SLOT}"', f'content="{html_lib.escape(csp)}"', 1)

    def render_html(self, nb_path: str | os.PathLike | nbformat.NotebookNode, out_path: str | os.PathLike,
                    meta: Mapping[str, Any]) -> Path:
        """Render an executed notebook to a self-contained HTML page.

        Parameters
        ----------
        nb_path : path-like or NotebookNode
            The executed notebook (papermill output), or the notebook itself (not changed).
        out_path : path-like
            The .html file, written atomically.
        meta : mapping
            Report metadata, see the module docstring and :func:`validate_meta`.

        Returns
        -------
        Path
            ``out_path``.
        """
        return self._write_timed("html", out_path, lambda: self.html_from_notebook(_read_notebook(nb_path), meta))

    # ------------------------------------------------------------------ PDF
    def _typst_meta(self, m: Mapping[str, Any], heading: str | None = None) -> dict:
        return typst_meta(m, self._font_family, heading)

    def typst_source(self, nb: nbformat.NotebookNode, workdir: str | os.PathLike) -> str:
        """Write the images and ``vu.typ`` into ``workdir`` and return the main .typ source."""
        workdir = Path(workdir)
        raw = _RawBlocks()
        md = notebook_to_markdown(nb, workdir, raw)
        (workdir / "rapport.md").write_text(md, encoding="utf-8")
        body = pandoc_convert(
            md,
            "typst",
            PANDOC_MARKDOWN,
            # A pipe table wider than --columns gets fixed relative widths from its
            # separator dashes, and amounts (no-break spaces) then overflow into the next
            # column. With a huge --columns pandoc leaves the widths to typst ("auto"),
            # which sizes each column by its content and wraps only the text columns.
            # typst_text.lua: every text prints as itself (typst shorthands such as "...",
            # "-?" and straight quotes would otherwise change data text).
            extra_args=["--wrap=preserve", "--columns=100000", f"--lua-filter={TYPST_TEXT_FILTER}"],
        )
        body = raw.restore(body)
        (workdir / "vu.typ").write_text(self._typ_template, encoding="utf-8")
        head = (
            '#import "vu.typ": *\n'
            '#show: vu-rapport.with(meta: json(bytes(sys.inputs.at("vu-meta"))))\n\n'
        )
        return head + body

    def pdf_from_notebook(self, nb: nbformat.NotebookNode, meta: Mapping[str, Any]) -> bytes:
        """The report as PDF bytes (see :meth:`render_pdf`)."""
        import typst  # noqa: PLC0415

        m = validate_meta(meta)
        nb = copy.deepcopy(nb)
        heading = lift_title(nb)
        with tempfile.TemporaryDirectory(prefix=f"vu-pdf-{os.getpid()}-") as tmp:
            work = Path(tmp)
            main = work / "main.typ"
            main.write_text(self.typst_source(nb, work), encoding="utf-8")
            kwargs: dict[str, Any] = {}
            if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
                kwargs["timestamp"] = int(os.environ["SOURCE_DATE_EPOCH"])
            try:
                pdf, warnings = self._typst.compile_with_warnings(
                    input=str(main),
                    root=str(work),
                    format="pdf",
                    sys_inputs={"vu-meta": json.dumps(self._typst_meta(m, heading), ensure_ascii=False)},
                    pdf_standards=self.pdf_standards,
                    **kwargs,
                )
            except typst.TypstError as exc:
                if self.keep_typst:
                    self._keep(work)
                raise RuntimeError(f"typst kunde inte sätta rapporten: {exc.message}\n{exc.diagnostic}") from exc
            for w in warnings:
                log.warning("typst: %s", getattr(w, "message", w))
            if self.keep_typst:
                self._keep(work)
        if not isinstance(pdf, (bytes, bytearray)):
            raise RuntimeError("typst returnerade ingen PDF")
        return bytes(pdf)

    def pdf_layout(self, nb: nbformat.NotebookNode, meta: Mapping[str, Any]) -> list[dict]:
        """Where the PDF puts each table caption and table cell (for layout tests).

        Compiles the report as :meth:`pdf_from_notebook` does, with the
        template's check markers on, and returns them: dicts with ``kind``
        (``'caption'``, ``'cell-start'``, ``'cell-end'``), ``fig`` (the table
        number), ``page``, and ``y`` (row, 0 = header) or ``rows`` (body
        rows of the table).
        """
        import typst  # noqa: PLC0415

        m = validate_meta(meta)
        nb = copy.deepcopy(nb)
        heading = lift_title(nb)
        with tempfile.TemporaryDirectory(prefix="vu-pdf-") as tmp:
            work = Path(tmp)
            main = work / "main.typ"
            main.write_text(self.typst_source(nb, work), encoding="utf-8")
            out = typst.query(
                str(main), "<vu-kontroll>", field="value", root=str(work), font_paths=[str(FONT_DIR)],
                ignore_system_fonts=True,
                sys_inputs={"vu-meta": json.dumps(self._typst_meta(m, heading), ensure_ascii=False), "vu-kontroll": "1"},
            )
        return json.loads(out)

    def _keep(self, work: Path) -> None:
        assert self.keep_typst is not None
        dest = self.keep_typst
        dest.mkdir(parents=True, exist_ok=True)
        for p in work.iterdir():
            shutil.copy2(p, dest / p.name)

    def render_pdf(self, nb_path: str | os.PathLike | nbformat.NotebookNode, out_path: str | os.PathLike,
                   meta: Mapping[str, Any]) -> Path:
        """Render an executed notebook to an A4 PDF.

        Parameters
        ----------
        nb_path : path-like or NotebookNode
            The executed notebook, or the notebook itself (not changed).
        out_path : path-like
            The .pdf file, written atomically.
        meta : mapping
            Report metadata, see the module docstring and :func:`validate_meta`.

        Returns
        -------
        Path
            ``out_path``.
        """
        return self._write_timed("pdf", out_path, lambda: self.pdf_from_notebook(_read_notebook(nb_path), meta))

    def _write_timed(self, kind: str, out_path: str | os.PathLike, produce: Callable[[], str | bytes]) -> Path:
        """Write what ``produce`` returns to ``out_path`` atomically; add the time taken to ``timings[kind]``."""
        t0 = time.perf_counter()
        atomic_write(out_path, produce())
        self.timings[kind].append(time.perf_counter() - t0)
        return Path(out_path)
