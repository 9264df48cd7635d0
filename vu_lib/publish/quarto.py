"""Executed report notebooks to HTML and PDF through a real Quarto (``vu run --renderer quarto``).

Quarto (≥ 1.5) renders *Quarto sources* that this module writes from each
executed notebook, not the papermill output itself, because Quarto would
otherwise show the custom chart mime type as a static image, load jQuery and
require.js from a CDN for every ``text/html`` output (the tables), set wide
tables with fixed relative widths in typst, and ignore ``_quarto.yml`` when
the notebook lies outside the repository. A source is an ``.ipynb`` whose

- first cell is the front matter (title, ``lang: sv``, no execution, code
  hidden, HTML with embedded resources and the house CSS and fonts, typst
  on A4 through the built-in renderer's ``vu.typ`` with its title block and
  running footer, see ``templates/quarto/typst-show.typ``);
- cells hold only Markdown: the notebook's text, and each output as Markdown
  with vu's own raw blocks: a chart as an HTML figure (static SVG plus the
  Vega-Lite spec that the embedded vega-embed draws offline) and a typst
  image of its SVG; a table as the vu HTML table for HTML and pandoc's typst
  table with automatic column widths for the PDF (as the built-in renderer
  sets it); code, the parameters cell and plain-text output are left out.

Data is never code here either (issue 12), as in the built-in renderer: data
text arrives escaped by :mod:`vu_lib.report.escape`; Quarto's pandoc reads
each source with every raw passthrough off (:data:`QUARTO_READER`: no raw
HTML, no ``{=html}``/``{=typst}`` blocks or spans, no raw TeX, no citations,
no TeX math), vu's own blocks stand in the Markdown as nonce tokens and are
put back by ``templates/quarto/vu-raw.lua`` from ``<stem>.vu-raw.json``;
``typst_text.lua`` prints every text run literally in typst; Quarto's
shortcodes (``{{< … >}}``) in data are escaped text. The HTML page gets the
built-in page's Content-Security-Policy after Quarto (:func:`harden_html`):
only vu's two scripts, by hash.

Every path in the front matter is relative to the source, so the same
sources render in three projects:

1. the batch's scratch project ``<period>/.vu-quarto-*/`` (type ``default``;
   removed afterwards, so no ``.quarto/`` is left and no tracked file is
   touched): :class:`QuartoPipeline` renders each notebook as soon as the
   batch has executed it, several documents per ``quarto render`` process
   (all that are waiting when Quarto becomes free, as one project render of
   a folder), and reads per-document times and Quarto's own error message
   from Quarto's progress output;
2. ``<period>/_quarto.yml``, a Quarto website over ``<period>/quarto/`` with
   a sidebar and the same index content as the built-in ``index.html``:
   ``quarto render reports/<period>`` writes it to ``<period>/_site/``;
3. the repository's ``_quarto.yml`` (``quarto render`` at the root renders
   ``reports/*/quarto/*.ipynb`` in place).
"""
from __future__ import annotations

import copy
import html as htmllib
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from vu_lib.report import charts as _charts  # first: imports jsonschema without rfc3987_syntax (see vu_lib.report.charts)
from vu_lib.report import fmt
from vu_lib.report.escape import markdown as _md_escape  # data stays text (issue 12)
from vu_lib.publish.render import (FONT_DIR, add_chart_svgs, page_css, pandoc_convert, PANDOC_MARKDOWN,
                     REFERENCE_CHART_WIDTH, REMOVE_CELL_TAGS, REMOVE_OUTPUT_TAGS, TEMPLATES_DIR, TYPST_TEMPLATE, TYPST_TEXT_FILTER, _chart_js, _fields, _footer,
                     _inline_svg, _script_json, _svg_width, _text, _typst_image_code,
                     content_security_policy, document_title, head_styles, lift_title, report_name,
                     report_subtitle, styles_to_head, typst_meta, validate_meta, vega_javascript)

__all__ = [
    "QUARTO_MIN_VERSION",
    "QuartoError",
    "QuartoResult",
    "QuartoPipeline",
    "find_quarto",
    "quarto_version",
    "check_quarto",
    "prepare_source",
    "write_support_files",
    "write_website",
    "render_with_quarto",
]

VEGALITE_MIME = _charts.VEGALITE_MIME
TABLE_MIME = "application/vnd.vu.table+json"
QUARTO_MIN_VERSION = (1, 5)
QUARTO_TEMPLATES = TEMPLATES_DIR / "quarto"
#: Where the sources of a period's website live, under ``<period>/``.
SOURCE_DIR = "quarto"
#: Quarto format name per vu format.
QUARTO_FORMAT = {"html": "html", "pdf": "typst"}
_NOT_PARAMETERS = {"parameters", "injected-parameters"}
_PIPE_TABLE = re.compile(r"^\s*\|.*\|\s*$\n^\s*\|?\s*:?-{3,}", re.M)
_SPLIT = "VUQUARTOSPLIT"


class QuartoError(RuntimeError):
    """Quarto is missing, too old, or failed."""


# =========================================================================== finding Quarto
def find_quarto() -> str | None:
    """The ``quarto`` command on PATH (or ``$QUARTO``), or None."""
    env = os.environ.get("QUARTO")
    if env and Path(env).is_file() and os.access(env, os.X_OK):
        return env
    return shutil.which("quarto")


def quarto_version(exe: str) -> tuple[int, ...] | None:
    """``quarto --version`` as a tuple, e.g. ``(1, 11, 0)``; None when it cannot be read."""
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out or "")
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


def check_quarto() -> str:
    """The Quarto command, checked to be at least :data:`QUARTO_MIN_VERSION`.

    Raises
    ------
    QuartoError
        With a Swedish message: not on PATH, or too old.
    """
    exe = find_quarto()
    if exe is None:
        raise QuartoError("Quarto finns inte på PATH; installera Quarto (≥ 1.5) eller använd --renderer builtin")
    v = quarto_version(exe)
    if v is None:
        raise QuartoError(f"{exe} --version svarade inte med en version")
    if v[:2] < QUARTO_MIN_VERSION:
        need = ".".join(map(str, QUARTO_MIN_VERSION))
        raise QuartoError(f"Quarto {'.'.join(map(str, v))} är för gammal (minst {need} behövs); uppdatera eller använd --renderer builtin")
    return exe


# =========================================================================== sources
def _yaml_str(s: str) -> str:
    return json.dumps(str(s), ensure_ascii=False)  # a JSON string is a YAML flow scalar


#: How Quarto's pandoc reads a source: as the built-in renderer's PDF path
#: (:data:`vu_lib.publish.render.PANDOC_MARKDOWN`: no raw HTML, no raw attribute blocks,
#: no raw TeX, no citations, no TeX math), so no text can become HTML, typst or TeX;
#: vu's own markup goes in through ``vu-raw.lua`` (see :class:`_RawBlocks`).
QUARTO_READER = PANDOC_MARKDOWN
#: The Lua filters of every source (beside it, see :func:`write_support_files`): the raw
#: blocks first, then typst_text.lua (typst output only: every text prints as itself).
QUARTO_FILTERS = ("vu-raw.lua", "typst_text.lua")


def _front_matter(m: Mapping[str, Any], stem: str, formats: Sequence[str], has_charts: bool,
                  embed: bool = True) -> str:
    lines = [
        "---",
        # only pagetitle (<title>, as the built-in page's): the title block is vu's own (HTML
        # below, PDF in vu.typ), a `title` would add Quarto's as well
        f"pagetitle: {_yaml_str(document_title(m))}",
        "lang: sv",
        f"vu-meta: {_yaml_str(stem + '.vu.json')}",
        f"vu-raw: {_yaml_str(stem + RAW_SUFFIX)}",
        f"filters: [{', '.join(QUARTO_FILTERS)}]",
        # the vu tables are raw HTML for HTML and typst for the PDF: Quarto must not parse them
        "html-table-processing: none",
        "execute:",
        "  enabled: false",
        "  echo: false",
        "  warning: false",
        "  error: false",
        "format:",
    ]
    # typst first: Quarto renders the formats in this order, and the timing in
    # QuartoPipeline reads the end of the typst step from its "Compiling" line.
    if "pdf" in formats:
        lines += [
            "  typst:",
            f"    from: {QUARTO_READER}",
            "    papersize: a4",
            "    keep-typ: false",
            "    font-paths: [fonts]",
            "    template-partials: [typst-show.typ]",
        ]
    if "html" in formats:
        lines += [
            "  html:",
            f"    from: {QUARTO_READER}",
            f"    embed-resources: {'true' if embed else 'false'}",
            "    title-block-style: none",
            "    toc: false",
            "    anchor-sections: false",
            "    code-tools: false",
            "    html-math-method: plain",
            "    mainfont: \"Source Sans Pro\"",
            "    css: [vu-quarto.css]",
        ]
        if has_charts:
            lines += ["    include-in-header: [vu-vega.html]", "    include-after-body: [vu-charts.html]"]
    lines.append("---")
    return "\n".join(lines)


def _md_cell(source: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def _lines(cell: dict) -> dict:
    """The cell with its source as a list of lines, as nbformat writes it (Quarto reads only that form well)."""
    src = cell["source"]
    return {**cell, "source": src.splitlines(keepends=True) if isinstance(src, str) else src}


def _raw(kind: str, text: str) -> str:
    """A fenced raw block (only for the website's index.qmd, whose content is vu's own HTML)."""
    # a fence longer than any backtick run inside
    n = max([3] + [len(r) + 1 for r in re.findall(r"`{3,}", text)])
    return f"{'`' * n}{{={kind}}}\n{text.strip()}\n{'`' * n}"


#: The file beside a source that holds its raw blocks (``<stem>.vu-raw.json``).
RAW_SUFFIX = ".vu-raw.json"


class _RawBlocks:
    """vu's own markup of one source, kept out of the Markdown that pandoc reads.

    Each block stands in the source as a paragraph holding a token with a
    per-document random nonce (``VURAW<nonce>N<k>``, one Markdown word that
    escaped data text can never form: data has no way to learn the nonce);
    ``vu-raw.lua`` puts the blocks back into the document after pandoc has read
    it with every raw passthrough off (:data:`QUARTO_READER`).
    """

    def __init__(self) -> None:
        import secrets  # noqa: PLC0415

        self.nonce = secrets.token_hex(8)
        self.blocks: dict[str, dict[str, str]] = {}

    def add(self, kind: str, text: str) -> str:
        token = f"VURAW{self.nonce}N{len(self.blocks) + 1}"
        self.blocks[token] = {"format": kind, "text": text.strip()}
        return token

    def json(self) -> str:
        return json.dumps(self.blocks, ensure_ascii=False, indent=0)


def _title_block_html(m: Mapping[str, Any], heading: str) -> str:
    """The HTML title block, as the built-in page's: the report's name as the page's one
    level-1 heading, the report type and period (or the subtitle) under it."""
    e = htmllib.escape
    labels = fmt.locale()["report"]
    parts = []
    if m.get("utkast"):
        parts.append(f'<p class="vu-utkast" role="note">{e(labels["draft"])}</p>')
    parts.append('<header class="vu-titelblock">')
    if m.get("namnd"):
        parts.append(f'<p class="vu-overline">{e(m["namnd"])}</p>')
    parts.append(f'<h1>{e(heading)}</h1>')
    parts.append(f'<p class="vu-undertitel">{e(report_subtitle(m, heading))}</p>')
    parts.append('<dl class="vu-sparbarhet">')
    for label, value, kind in _fields(m):
        parts.append(f'<div class="vu-falt vu-falt-{kind}"><dt>{e(label)}</dt><dd>{e(value)}</dd></div>')
    parts.append("</dl>\n</header>")
    return "\n".join(parts)


def _footer_html(m: Mapping[str, Any]) -> str:
    labels = fmt.locale()["report"]
    text = _footer(m) + " · " + f"{labels['fields']['datum']} {m['datum']}"
    return f'<footer class="vu-sidfot"><p>{htmllib.escape(text)}</p></footer>'


def _when(fmt_name: str, markdown: str) -> str:
    return f'::: {{.content-visible when-format="{fmt_name}"}}\n{markdown}\n:::'


class _TypstTables:
    """Markdown with pipe tables -> typst, all of a document in one pandoc run (as the built-in PDF sets them)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._typst: dict[int, str] | None = None

    def add(self, markdown: str) -> str:
        self.items.append(markdown)
        self._typst = None
        return f"{_SPLIT}{len(self.items) - 1}{_SPLIT}"

    def _convert(self) -> dict[int, str]:
        if self._typst is None:
            joined = "\n\n".join(f"{md}\n\n{_SPLIT}END{i}\n" for i, md in enumerate(self.items))
            # as the built-in PDF path reads them: no raw passthrough, every text printed as itself
            out = pandoc_convert(joined, "typst", PANDOC_MARKDOWN,
                                 extra_args=["--wrap=preserve", "--columns=100000", f"--lua-filter={TYPST_TEXT_FILTER}"])
            parts = re.split(rf"{_SPLIT}END(\d+)", out)
            self._typst = {int(parts[i + 1]): parts[i].strip() for i in range(0, len(parts) - 1, 2)}
        return self._typst

    def fill(self, text: str) -> str:
        """``text`` with each placeholder replaced by its typst (one pandoc run for the whole document)."""
        if not self.items or _SPLIT not in text:
            return text
        typst = self._convert()
        return re.sub(rf"{_SPLIT}(\d+){_SPLIT}", lambda mm: typst.get(int(mm.group(1)), ""), text)


def prepare_source(nb: Mapping, meta: Mapping[str, Any], dest: str | os.PathLike, stem: str,
                   formats: Sequence[str] = ("html", "pdf"), embed: bool = True) -> Path:
    """Write the Quarto source of one executed notebook into ``dest``.

    Writes ``<stem>.ipynb`` (the source), ``<stem>.vu.json`` (the PDF title
    block and footer for ``vu.typ``) and ``<stem>-fig-N.svg`` (the charts
    for the PDF). The support files (:func:`write_support_files`) must be in
    ``dest`` too.

    Parameters
    ----------
    nb : NotebookNode or dict
        The executed notebook.
    meta : mapping
        Report metadata, see :func:`vu_lib.publish.render.validate_meta`.
    dest : path-like
    stem : str
        File name without suffix (the report's name, e.g. ``'AN-VB'``).
    formats : sequence of {'html', 'pdf'}
    embed : bool
        Quarto embeds the page's resources (its CSS and the fonts) itself (``embed-resources``).
        False in the batch, which embeds them after Quarto (:func:`inline_resources`), in
        half the time: Quarto's embedding pass reads the 2.4 MB page again with pandoc.

    Returns
    -------
    Path
        The source ``.ipynb``.
    """
    m = validate_meta(meta)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    nb = copy.deepcopy(nb)
    heading = lift_title(nb) or report_name(m)  # the notebook's own "# " title, as the built-in page takes it
    add_chart_svgs(nb)  # kernels emit charts as specs; the static SVG (HTML fallback, PDF) is drawn here
    tables = _TypstTables()
    raw = _RawBlocks()
    error_label = fmt.locale()["report"]["error"]
    cells: list[dict] = []
    n_fig = 0
    has_charts = False
    want_pdf = "pdf" in formats
    for cell in nb["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []) or [])
        if tags & REMOVE_CELL_TAGS or tags & _NOT_PARAMETERS:
            continue
        if cell["cell_type"] == "markdown":
            src = _text(cell["source"]).strip()
            if src:
                cells.append(_md_cell(src))
            continue
        if cell["cell_type"] != "code" or tags & REMOVE_OUTPUT_TAGS:
            continue
        blocks: list[str] = []
        for out in cell.get("outputs", []):
            otype = out.get("output_type")
            if otype == "error":
                blocks.append(f"::: {{.vu-fel role=\"alert\"}}\n**{error_label}:** {_md_escape(out.get('ename', ''))}: "
                              f"{_md_escape(out.get('evalue', ''))}\n:::")
                continue
            if otype not in ("display_data", "execute_result"):
                continue
            data = out.get("data", {})
            ometa = out.get("metadata", {}) or {}
            if VEGALITE_MIME in data:
                n_fig += 1
                has_charts = True
                payload = data[VEGALITE_MIME]
                chart_id = f"vu-diagram-{n_fig}"
                svg = _text(data.get("image/svg+xml", ""))
                width = _svg_width(svg) or REFERENCE_CHART_WIDTH
                desc = payload.get("beskrivning", "") or fmt.locale()["report"]["chart"]
                fig = (f'<figure class="vu-chart" id="{chart_id}" style="--vu-w: {width:g}px">\n'
                       f'<div class="vu-chart-view" role="img" aria-label="{htmllib.escape(desc)}"></div>\n'
                       f'<div class="vu-chart-static">\n{_inline_svg(svg, chart_id)}\n</div>\n'
                       f'<script type="application/json" class="vu-chart-spec">{_script_json(payload["spec"])}</script>\n'
                       f"</figure>")
                blocks.append(raw.add("html", fig))
                if want_pdf and svg:
                    name = f"{stem}-fig-{n_fig}.svg"
                    (dest / name).write_text(svg, encoding="utf-8")
                    blocks.append(raw.add("typst", _typst_image_code(name, desc, _svg_width(svg))))
            elif TABLE_MIME in data and "text/html" in data:
                blocks.append(raw.add("html", f'<div class="vu-html">\n{_text(data["text/html"])}\n</div>'))
                if want_pdf and "text/markdown" in data:
                    blocks.append(raw.add("typst", tables.add(_text(data["text/markdown"]))))
            elif "text/markdown" in data:
                md = _text(data["text/markdown"]).strip()
                if want_pdf and _PIPE_TABLE.search(md):
                    # pipe tables: typst's automatic column widths in the PDF (Quarto would fix relative widths)
                    blocks.append(_when("html", md))
                    blocks.append(raw.add("typst", tables.add(md)))
                else:
                    blocks.append(md)
            elif "image/svg+xml" in data:
                n_fig += 1
                svg = _text(data["image/svg+xml"])
                alt = ometa.get("vu_alt") or fmt.locale()["report"]["chart"]
                blocks.append(raw.add("html", f'<figure class="vu-bild">{_inline_svg(svg, f"vu-bild-{n_fig}")}</figure>'))
                if want_pdf:
                    name = f"{stem}-fig-{n_fig}.svg"
                    (dest / name).write_text(svg, encoding="utf-8")
                    blocks.append(raw.add("typst", _typst_image_code(name, alt, _svg_width(svg))))
            elif "image/png" in data or "image/jpeg" in data:
                mime = "image/png" if "image/png" in data else "image/jpeg"
                n_fig += 1
                name = f"{stem}-fig-{n_fig}.{'png' if mime == 'image/png' else 'jpg'}"
                import base64  # noqa: PLC0415

                (dest / name).write_bytes(base64.b64decode(_text(data[mime])))
                alt = ometa.get("vu_alt") or fmt.locale()["report"]["chart"]
                blocks.append(f"![{_md_escape(alt)}]({name}){{fig-alt=\"{htmllib.escape(alt)}\"}}")
            elif "text/html" in data:
                blocks.append(raw.add("html", _text(data["text/html"])))
        if blocks:
            cells.append(_md_cell("\n\n".join(blocks)))
    body = [_md_cell(raw.add("html", _title_block_html(m, heading)))] + cells + [_md_cell(raw.add("html", _footer_html(m)))]
    if want_pdf:
        for b in raw.blocks.values():
            b["text"] = tables.fill(b["text"])
    doc = {
        "cells": [_lines(c) for c in [{"cell_type": "raw", "metadata": {}, "source": _front_matter(m, stem, formats, has_charts, embed)}] + body],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (dest / f"{stem}.vu.json").write_text(json.dumps(typst_meta(m, heading=heading), ensure_ascii=False, indent=1), encoding="utf-8")
    (dest / f"{stem}{RAW_SUFFIX}").write_text(raw.json(), encoding="utf-8")
    path = dest / f"{stem}.ipynb"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_DATA_SCRIPT = re.compile(r"""\btype\s*=\s*["']?(?!text/javascript|module|["'])""", re.I)
_CHARSET = re.compile(r"<meta\s+charset=[\"']?utf-8[\"']?\s*/?>", re.I)
_HEAD = re.compile(r"<head\b[^>]*>", re.I)


def _vega_js() -> str:
    """The Vega bundle for a Quarto page: its three tab characters (each a one-character
    string literal, ``"<tab>"``) written as ``"\\t"``, because Quarto turns tabs in an
    included file into spaces (which changed what Vega parses and broke the CSP hash)."""
    js = vega_javascript()
    return js.replace('"\t"', '"\\t"')


def _draw_js() -> str:
    return _chart_js(_script_json(fmt.d3_format_locale()), _script_json(fmt.d3_time_format_locale()))


def _own_scripts() -> tuple[str, ...]:
    """The scripts vu puts into a Quarto page (vu-vega.html, vu-charts.html), stripped."""
    return _vega_js().strip(), _draw_js().strip()


def harden_html(page: str) -> str:
    """``page`` (Quarto's self-contained HTML) with the built-in page's Content-Security-Policy.

    The policy (:func:`vu_lib.publish.render.content_security_policy`) allows only
    vu's own scripts, each by the sha256 hash of its text as it stands in the page:
    the Vega bundle and the chart-drawing script (Quarto's ``minimal`` HTML has no
    script of its own). Any other executable script in the page is left out of the
    policy, so it cannot run (and is logged). Styles: the ``<style>`` elements of the
    head (pandoc's few rules and the embedded vu-quarto.css with the fonts), by hash;
    the tables' style attributes and the charts' widths are moved out of the body first
    (:func:`vu_lib.publish.render.styles_to_head`), so no style attribute is allowed.
    The policy goes in as the first element after ``<meta charset>``.
    """
    page = styles_to_head(page)
    own = set()
    allowed: list[str] = []
    for m in _SCRIPT.finditer(page):
        attrs, body = m.group(1), m.group(2)
        if _DATA_SCRIPT.search(attrs):
            continue  # a data block (the charts' specs, application/json): never executed
        if not own:
            own = set(_own_scripts())
        if body.strip() in own and re.fullmatch(r"\s*", attrs):
            if body not in allowed:
                allowed.append(body)
        else:
            import logging  # noqa: PLC0415

            logging.getLogger(__name__).warning("Quarto-sidan har ett okänt skript (%d tecken); CSP:n stoppar det",
                                                len(body))
    csp = content_security_policy(allowed, head_styles(page)).replace("&", "&amp;").replace('"', "&quot;")
    meta = f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n<meta name="referrer" content="no-referrer">'
    m = _CHARSET.search(page) or _HEAD.search(page)
    if m is None:
        raise QuartoError("Quarto-sidan har ingen <head>: CSP kan inte sättas")
    return page[:m.end()] + "\n" + meta + page[m.end():]


_STYLESHEET = re.compile(r'<link\b[^>]*\brel="stylesheet"[^>]*>')
#: What a scratch source's vu-vega.html holds instead of the Vega bundle (see write_support_files).
_VEGA_PLACEHOLDER = "/* vu: Vega, Vega-Lite och vega-embed */"
_HREF = re.compile(r'\bhref="([^"]*)"')
_CSS_URL = re.compile(r'url\(\s*(["\']?)([^)"\']+)\1\s*\)')
_LOADS = re.compile(r'<(?:script|img|link|source|iframe|embed|object|audio|video)\b[^>]*?\b(?:src|href|data)="([^"]*)"',
                    re.I)
_FONT_MIME = {".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2"}


def inline_resources(page: str, folder: str | os.PathLike) -> str:
    """``page`` (Quarto's HTML rendered without ``embed-resources``) made self-contained.

    Each stylesheet link to a file in ``folder`` becomes a ``<style>`` with that CSS, its
    font files as data URLs, as Quarto's own embedding would make it. Raises
    :class:`QuartoError` when anything else would still load from outside the page (a
    script, image or frame with a ``src``, a stylesheet that is not a local file): the
    report page must load nothing.
    """
    import base64  # noqa: PLC0415

    folder = Path(folder)

    def data_url(path: Path) -> str:
        mime = _FONT_MIME.get(path.suffix.lower(), "application/octet-stream")
        return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"

    def style(m: re.Match) -> str:
        href = _HREF.search(m.group(0))
        target = (folder / href.group(1)) if href else None
        if target is None or "://" in href.group(1) or not target.is_file():
            raise QuartoError(f"Quarto-sidan hänvisar till en stilmall som inte är en lokal fil: {m.group(0)[:200]}")
        css = target.read_text(encoding="utf-8")

        def url(u: re.Match) -> str:
            ref = u.group(2)
            if ref.startswith(("data:", "#")):
                return u.group(0)
            source = target.parent / ref
            if "://" in ref or not source.is_file():
                raise QuartoError(f"vu-quarto.css hänvisar till {ref}, som inte är en lokal fil")
            return f"url({data_url(source)})"

        return "<style>\n" + _CSS_URL.sub(url, css) + "\n</style>"

    page = _STYLESHEET.sub(style, page)
    # the Vega bundle where the scratch source had its placeholder (write_support_files)
    page = page.replace(f"<script>\n{_VEGA_PLACEHOLDER}\n</script>", f"<script>\n{_vega_js()}\n</script>", 1)
    # pandoc writes a no-break space as &nbsp; (its embedding pass wrote the character): the
    # character, as on the built-in page, outside the scripts
    parts, at = [], 0
    for m in _SCRIPT.finditer(page):
        parts += [page[at:m.start()].replace("&nbsp;", "\u00a0"), m.group(0)]
        at = m.end()
    page = "".join(parts) + page[at:].replace("&nbsp;", "\u00a0")
    # script bodies (the Vega bundle) may spell tags in strings: checked without them, tags kept
    scripts_out = _SCRIPT.sub(lambda m: f"<script{m.group(1)}></script>", page)
    for src in _LOADS.findall(scripts_out):
        if src and not src.startswith(("data:", "#")):
            raise QuartoError(f"Quarto-sidan laddar {src[:200]} utifrån: den ska inte ladda något")
    return page


def _harden_file(path: Path) -> None:
    page = inline_resources(path.read_text(encoding="utf-8"), path.parent)
    path.write_text(harden_html(page), encoding="utf-8")


def _link_or_copy(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def write_support_files(dest: str | os.PathLike, *, charts: bool = True, vega_bundle: bool = True) -> None:
    """Write what every source in ``dest`` refers to: fonts, CSS, typst template and partial, vega-embed.

    Parameters
    ----------
    dest : path-like
    charts : bool
        Also write ``vu-vega.html`` (Vega, Vega-Lite and vega-embed from
        vl-convert's bundle, about 1 MB) and ``vu-charts.html`` (the script
        that draws the charts with the Swedish locale).
    vega_bundle : bool
        False: ``vu-vega.html`` holds a placeholder script instead of the bundle, which
        :func:`inline_resources` replaces (the batch's scratch sources: Quarto then does
        not carry 1 MB of JavaScript through its HTML passes for every report).
    """
    dest = Path(dest)
    (dest / "fonts").mkdir(parents=True, exist_ok=True)
    for f in FONT_DIR.glob("*.ttf"):
        _link_or_copy(f, dest / "fonts" / f.name)
    _link_or_copy(FONT_DIR / "OFL.txt", dest / "fonts" / "OFL.txt")
    _link_or_copy(TYPST_TEMPLATE, dest / "vu.typ")
    for name in ("typst-show.typ", "vu-raw.lua"):
        _link_or_copy(QUARTO_TEMPLATES / name, dest / name)
    (dest / "vu-quarto.css").write_text(page_css(QUARTO_TEMPLATES / "vu-quarto.css"), encoding="utf-8")
    _link_or_copy(TYPST_TEXT_FILTER, dest / TYPST_TEXT_FILTER.name)
    if charts and not (dest / "vu-vega.html").exists():
        bundle = _vega_js() if vega_bundle else _VEGA_PLACEHOLDER
        (dest / "vu-vega.html").write_text(f"<script>\n{bundle}\n</script>\n", encoding="utf-8")
        # the same drawing script as the built-in page (templates/vu_html/charts.js)
        (dest / "vu-charts.html").write_text(f"<script>\n{_draw_js()}\n</script>\n", encoding="utf-8")


#: The project options of a standalone report (the batch's scratch project and the
#: repository's _quarto.yml): Quarto's minimal HTML (no Bootstrap theme to compile and
#: embed, about a third less time per report) with the house layout from vu-quarto.css.
STANDALONE_FORMAT = """\
format:
  html:
    minimal: true
    body-classes: vu-rapport
"""

_SCRATCH_PROJECT = """\
# vu: scratch Quarto project of one Quarto process of a batch (vu_lib.publish.quarto); removed afterwards.
project:
  type: default
execute:
  enabled: false
""" + STANDALONE_FORMAT


# =========================================================================== rendering
@dataclass
class QuartoResult:
    """What Quarto made of one report: output files, seconds per format, and Quarto's error."""

    outputs: dict[str, Path] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    error: str | None = None


_PROGRESS = re.compile(r"^\s*\[\s*(\d+)\s*/\s*(\d+)\]\s+(\S.*?)\s*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


#: A further Quarto process starts only when this many reports wait (the first one starts
#: with the first report): each process spends 1.1-1.9 s of CPU starting Deno before its
#: first report, so on two cores a process for one or two reports costs more than it saves.
#: The 13 reports of a delår through Quarto took 15.4-16.0 s with 5, 16.3 s with 7, 16.9-17.1 s
#: with all waiting, 17.0-18.5 s with 1 (issue 10's measurements, 2026-11-29).
QUARTO_MIN_GROUP = 5


class QuartoPipeline:
    """Render executed notebooks with Quarto while the batch is still executing the others.

    :meth:`submit` queues an executed notebook; a thread writes its Quarto
    source into a scratch project (in the temporary directory, see
    :func:`_scratch_dir`), and up to ``processes`` render threads each start
    ``quarto render`` on a folder holding the sources that are waiting
    whenever they are free. So the first report starts as soon as the first
    notebook is done, later ones share a Quarto process, and when the batch
    has executed everything the backlog is split between the processes.
    When Quarto fails, the report it was rendering gets Quarto's message and
    the reports it had not reached go back to the queue, so one bad report
    does not stop the others. :meth:`close` waits for the last render and
    returns a :class:`QuartoResult` per report, whose outputs are still in
    the scratch project: the caller moves them into place, then calls
    :meth:`cleanup`, which removes the scratch project (and its ``.quarto/``).

    Parameters
    ----------
    directory : path-like
        The period folder (``<out>/<period>``).
    formats : sequence of {'html', 'pdf'}
    exe : str, optional
        The Quarto command (default: :func:`check_quarto`).
    keep_sources : bool
        Copy the sources to ``directory/quarto/`` for ``quarto render <period>``.
    processes : int
        Quarto processes at a time (the batch passes its ``--jobs``).
    """

    def __init__(self, directory: str | os.PathLike, formats: Sequence[str] = ("html", "pdf"), *,
                 exe: str | None = None, keep_sources: bool = True, processes: int = 1) -> None:
        self.directory = Path(directory)
        self.formats = [f for f in formats if f in QUARTO_FORMAT]
        self.exe = exe or check_quarto()
        self.keep_sources = keep_sources
        self.directory.mkdir(parents=True, exist_ok=True)
        self.scratch = _scratch_dir(self.directory)
        self.results: dict[str, QuartoResult] = {}
        self.processes = 0  # Quarto processes started
        self._queue: queue.Queue = queue.Queue()
        self._group = 0
        self._cond = threading.Condition()
        self._pending: list[tuple[str, Path]] = []  # sources waiting for Quarto
        self._submitted_all = False
        self._busy = 0
        self._idle = 0
        self._threads = [threading.Thread(target=self._prepare_loop, name="vu-quarto-källor", daemon=True)]
        self._threads += [threading.Thread(target=self._render_loop, name=f"vu-quarto-{i + 1}", daemon=True)
                          for i in range(max(1, processes))]
        for t in self._threads:
            t.start()

    # ------------------------------------------------------------------ API
    def submit(self, name: str, nb: Mapping, meta: Mapping[str, Any]) -> None:
        """Queue an executed notebook (a NotebookNode or dict) under the report name ``name``."""
        self._queue.put((name, copy.deepcopy(nb), dict(meta)))

    def close(self) -> dict[str, QuartoResult]:
        """No more notebooks: wait until every queued report is rendered (or failed)."""
        self._queue.put(None)
        for t in self._threads:
            t.join()
        return self.results

    def cleanup(self) -> None:
        """Remove the scratch project (and any output not taken)."""
        shutil.rmtree(self.scratch, ignore_errors=True)

    # ------------------------------------------------------------------ threads
    def _prepare_loop(self) -> None:
        """Write each submitted notebook's source and hand it to the render threads."""
        while True:
            item = self._queue.get()
            if item is None:
                break
            name, src = self._prepare(*item)
            if src is not None:
                with self._cond:
                    self._pending.append((name, src))
                    self._cond.notify_all()
        with self._cond:
            self._submitted_all = True
            self._cond.notify_all()

    def _take(self) -> list[tuple[str, Path]] | None:
        """The sources for this thread's next Quarto process; None when everything is done."""
        with self._cond:
            self._idle += 1
            try:
                # the first process at once; a further one only for QUARTO_MIN_GROUP waiting reports
                # (or when nothing more comes): Quarto spends 1.1-1.9 s of CPU starting Deno
                while not (self._pending and (self._busy == 0 or self._submitted_all
                                              or len(self._pending) >= QUARTO_MIN_GROUP)):
                    if not self._pending and self._submitted_all and self._busy == 0:
                        self._cond.notify_all()
                        return None
                    self._cond.wait()
                # all that waits, or an even share once nothing more is coming and others are free
                share = len(self._pending)
                if self._submitted_all and self._idle > 1:
                    share = -(-len(self._pending) // self._idle)
                batch, self._pending = self._pending[:share], self._pending[share:]
                self._busy += 1
                return batch
            finally:
                self._idle -= 1

    def _render_loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            left: list[tuple[str, Path]] = []
            try:
                left = self._render_group(batch)
            except Exception as e:  # noqa: BLE001 - never leave the batch waiting
                for name, _ in batch:
                    self.results[name] = QuartoResult(error=f"Quarto kunde inte köras: {type(e).__name__}: {e}")
            with self._cond:
                self._pending = left + self._pending
                self._busy -= 1
                self._cond.notify_all()

    def _prepare(self, name: str, nb: Mapping, meta: Mapping[str, Any]) -> tuple[str, Path | None]:
        self._group += 1
        folder = self.scratch / f"g{self._group:03d}"
        try:
            charts = any(VEGALITE_MIME in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
            write_support_files(folder, charts=charts, vega_bundle=False)
            src = prepare_source(nb, meta, folder, name, self.formats, embed=False)
            if self.keep_sources:
                self._keep(folder, name, charts)
            return name, src
        except Exception as e:  # noqa: BLE001 - this report only
            self.results[name] = QuartoResult(error=f"Quarto-källan kunde inte skrivas: {type(e).__name__}: {e}")
            return name, None

    def _keep(self, folder: Path, name: str, charts: bool) -> None:
        dest = self.directory / SOURCE_DIR
        write_support_files(dest, charts=charts)
        for old in dest.glob(f"{glob_escape(name)}-fig-*"):
            old.unlink()
        for f in folder.iterdir():
            if f.is_file() and (f.name.startswith(name + ".") or f.name.startswith(name + "-fig-")):
                shutil.copy2(f, dest / f.name)
        # the kept source is rendered by `quarto render <period>`, which embeds the resources itself
        kept = dest / f"{name}.ipynb"
        if kept.is_file():
            src = json.loads(kept.read_text(encoding="utf-8"))
            head = src["cells"][0]
            head["source"] = [line.replace("embed-resources: false", "embed-resources: true") for line in head["source"]]
            kept.write_text(json.dumps(src, ensure_ascii=False, indent=1), encoding="utf-8")

    def _render_group(self, pending: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
        """One ``quarto render`` over the sources of ``pending``; returns the ones it did not reach."""
        with self._cond:
            self.processes += 1
            group = self.scratch / f"r{self.processes:03d}"
        group.mkdir()
        # each process its own project (and .quarto/), so that processes never share Quarto's caches
        (group / "_quarto.yml").write_text(_SCRATCH_PROJECT, encoding="utf-8")
        by_file: dict[str, str] = {}
        for name, src in pending:
            for f in src.parent.iterdir():
                if f.is_file() or f.is_dir():
                    target = group / f.name
                    if not target.exists():
                        if f.is_dir():
                            shutil.copytree(f, target, copy_function=_hardlink)
                        else:
                            _hardlink(f, target)
            by_file[src.name] = name
        cmd = [self.exe, "render"]
        env = {**os.environ, "QUARTO_LOG_LEVEL": os.environ.get("QUARTO_LOG_LEVEL", "INFO")}
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=group, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                encoding="utf-8", errors="replace", env=env)
        lines: list[str] = []
        current: str | None = None
        started: dict[str, float] = {}
        order: list[str] = []
        assert proc.stdout is not None
        for raw in proc.stdout:
            now = time.perf_counter()
            line = _ANSI.sub("", raw.rstrip("\n"))
            lines.append(line)
            m = _PROGRESS.match(line)
            if m:
                fname = Path(m.group(3)).name
                if fname in by_file:
                    current = by_file[fname]
                    started[current] = now
                    order.append(current)
        rc = proc.wait()
        t_end = time.perf_counter()
        if len(pending) == 1 and pending[0][0] not in started:  # a single file: Quarto prints no [1/1]
            started[pending[0][0]] = t0
            order.append(pending[0][0])
        # Per-report time from Quarto's progress lines ("[ 2/5] r000/AN-VB.ipynb"): from the
        # start of the report to the start of the next (the last: to the end of the process).
        # Quarto interleaves the formats of a document (pandoc for each, then the HTML post-
        # processing and the typst compilation), so the time covers all of its formats.
        for i, name in enumerate(order):
            end = started[order[i + 1]] if i + 1 < len(order) else t_end
            self.results.setdefault(name, QuartoResult()).seconds["quarto"] = round(end - started[name], 3)
        failed = order[-1] if (rc != 0 and order) else None
        message = _quarto_error(lines, rc) if rc != 0 else None
        left: list[tuple[str, Path]] = []
        for name, src in pending:
            res = self.results.setdefault(name, QuartoResult())
            if rc != 0 and name not in started:
                if failed is None:  # Quarto failed before any report: they all fail with its message
                    res.error = message
                else:
                    left.append((name, src))  # not reached: next process
                continue
            for f in self.formats:
                out = group / f"{Path(src).stem}.{f}"
                if out.is_file():
                    if f == "html":
                        try:
                            _harden_file(out)
                        except (OSError, QuartoError, UnicodeDecodeError) as e:
                            res.error = f"Quarto-sidan kunde inte få sin CSP: {e}"
                            continue
                    res.outputs[f] = out
            if name == failed:
                res.error = message
            elif len(res.outputs) < len(self.formats) and res.error is None:
                missing = [f for f in self.formats if f not in res.outputs]
                res.error = f"Quarto skrev ingen {', '.join(missing)}-fil" + (f": {message}" if message else "")
        return left


def _scratch_dir(directory: Path) -> Path:
    """A new scratch folder whose path has no hidden component: Quarto's project walk skips any path with ``/.``."""
    for base in (tempfile.gettempdir(), "/tmp", str(directory)):
        b = Path(base).resolve()
        if b.is_dir() and "/." not in b.as_posix():
            return Path(tempfile.mkdtemp(prefix="vu-quarto-", dir=b))
    raise QuartoError(f"ingen tillfällig mapp utan dold mapp i sökvägen för Quarto (prova TMPDIR=/tmp); {directory}")


def glob_escape(s: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", s)


def move_into_place(src: str | os.PathLike, final: str | os.PathLike) -> Path:
    """Move ``src`` to ``final`` atomically, also across file systems (a temporary name beside ``final`` first)."""
    final = Path(final)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        shutil.move(str(src), tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def _hardlink(src, dst) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _quarto_error(lines: list[str], rc: int) -> str:
    """Quarto's own message: from the first ``ERROR`` line (with what follows), else the last lines."""
    noise = ("WARN: typst-gather", "Run ./configure.sh")
    useful = [ln for ln in lines if ln.strip() and not any(ln.startswith(n) for n in noise)]
    for i, ln in enumerate(useful):
        if ln.startswith("ERROR") or "error:" in ln.lower():
            return "\n".join(useful[i:i + 12]).strip()
    tail = "\n".join(useful[-8:]).strip()
    return f"quarto avslutades med kod {rc}" + (f":\n{tail}" if tail else "")


def render_with_quarto(notebooks: Iterable[tuple[str, str | os.PathLike, Mapping[str, Any]]], directory: str | os.PathLike,
                       formats: Sequence[str] = ("html", "pdf")) -> dict[str, QuartoResult]:
    """Render executed notebooks with Quarto into ``directory/<name>.<fmt>``.

    Parameters
    ----------
    notebooks : iterable of (name, notebook path, meta)
    directory : path-like
        Where the outputs go (and the Quarto sources, under ``quarto/``).
    formats : sequence of {'html', 'pdf'}

    Returns
    -------
    dict
        Report name -> :class:`QuartoResult` (outputs at their final place).
    """
    import nbformat  # noqa: PLC0415

    directory = Path(directory)
    pipe = QuartoPipeline(directory, formats)
    try:
        for name, path, meta in notebooks:
            pipe.submit(name, nbformat.read(str(path), as_version=4), meta)
        results = pipe.close()
        for name, res in results.items():
            for f, out in list(res.outputs.items()):
                final = directory / f"{name}.{f}"
                move_into_place(out, final)
                res.outputs[f] = final
        return results
    finally:
        pipe.cleanup()


# =========================================================================== website
def write_website(directory: str | os.PathLike, jobs: Sequence[Mapping[str, Any]], index_html: str, *,
                  title: str, namnder: Mapping[str, str] | None = None) -> Path:
    """Make ``directory`` (a period folder) a Quarto website: ``quarto render <directory>``.

    Writes ``_quarto.yml`` (website with a sidebar: the index, then the
    reports grouped by nämnd) and ``index.qmd`` with the content of the
    built-in ``index.html`` (links pointing at the website's pages). The
    sources are those in ``directory/quarto/`` (written by the pipeline).

    Parameters
    ----------
    directory : path-like
    jobs : sequence of mapping
        ``name``, ``title``, ``namnd`` (may be empty) of each report, in order.
    index_html : str
        The built-in index page.
    title : str
        The website's title, e.g. ``'Rapporter Delår 3 2026 (januari–oktober)'``.
    namnder : mapping, optional
        Nämnd code -> full name for the sidebar sections.

    Returns
    -------
    Path
        ``_quarto.yml``.
    """
    directory = Path(directory)
    src = directory / SOURCE_DIR
    have = [j for j in jobs if (src / f"{j['name']}.ipynb").is_file()]
    namnder = dict(namnder or {})
    groups: dict[str, list] = {}
    for j in have:
        groups.setdefault(namnder.get(j.get("namnd") or "", "Övrigt") if j.get("namnd") else "Övrigt", []).append(j)
    y = [
        "# vu: the reports of this period as a Quarto website (vu_lib.publish.quarto).",
        "#   quarto render <this folder>      -> _site/index.html",
        "project:",
        "  type: website",
        "  output-dir: _site",
        "  render:",
        "    - index.qmd",
        f"    - {SOURCE_DIR}/*.ipynb",
        "  resources:",
        "    - \"*.xlsx\"",
        "    - \"notebooks/*.ipynb\"",
        "lang: sv",
        "execute:",
        "  enabled: false",
        "website:",
        f"  title: {_yaml_str(title)}",
        "  page-navigation: true",
        "  sidebar:",
        "    style: docked",
        "    search: false",
        "    contents:",
        "      - index.qmd",
    ]
    for section, items in groups.items():
        y.append(f"      - section: {_yaml_str(section)}")
        y.append("        contents:")
        for j in items:
            y.append(f"          - href: {SOURCE_DIR}/{j['name']}.ipynb")
            y.append(f"            text: {_yaml_str(j['name'] + ' ' + j.get('title', ''))}")
    y += ["format:", "  html:", "    toc: false"]
    (directory / "_quarto.yml").write_text("\n".join(y) + "\n", encoding="utf-8")

    body = index_html
    m = re.search(r"<body[^>]*>(.*)</body>", body, re.S)
    body = m.group(1) if m else body
    body = re.sub(r"<h1>.*?</h1>", "", body, count=1, flags=re.S)
    names = {j["name"] for j in have}

    def relink(mm: re.Match) -> str:
        href = mm.group(1)
        stem, _, ext = href.rpartition(".")
        if stem in names and ext in ("html", "pdf"):
            return f'href="{SOURCE_DIR}/{href}"'
        return mm.group(0)

    body = re.sub(r'href="([^"/]+)"', relink, body)
    style = re.search(r"<style>(.*?)</style>", index_html, re.S)
    css = re.sub(r"(^|\})\s*body\s*\{[^}]*\}", r"\1", style.group(1)) if style else ""
    css += "\ntd a{display:inline-block;margin-right:.5rem;white-space:nowrap}"
    qmd = "\n".join([
        "---",
        f"title: {_yaml_str(title)}",
        "lang: sv",
        f"css: [{SOURCE_DIR}/vu-quarto.css]",  # the house font, as on the reports' pages
        "---",
        "",
        _raw("html", (f"<style>{css}</style>\n" if css else "") + body),
        "",
    ])
    (directory / "index.qmd").write_text(qmd, encoding="utf-8")
    return directory / "_quarto.yml"
