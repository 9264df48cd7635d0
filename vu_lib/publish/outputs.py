"""The files a batch publishes, each written atomically.

* the executed notebook, signed so JupyterLab trusts its SVG charts
  (:func:`publish_notebook`);
* the report's tables as an Excel workbook (:func:`write_tables_xlsx`, from
  the notebook's ``'application/vnd.vu.table+json'`` outputs);
* ``index.html``, linking every report of the directory (:func:`render_index`);
* the readable run log ``korlogg.txt`` (:func:`render_log_text`);

and the job statuses these files show. Every file is written to a temporary
sibling (:func:`tmp_name`) and moved into place with :func:`os.replace`, so a
reader or a crash never sees half a file; :func:`clean_stale` removes the
temporaries of a batch process that died.

Heavy libraries (nbformat, openpyxl) are imported only by the functions that
need them.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vu_lib.publish.cache import BatchState

from vu_lib.core.io import (  # noqa: F401 - re-exported for the batch's modules
    atomic_write, atomic_write_bytes, atomic_write_text, dump_json, read_json, tmp_name)
from vu_lib.publish.plan import (  # noqa: F401 - re-exported
    FAILED_STATUSES, GOOD_STATUSES, STATUS_CACHED, STATUS_FAILED, STATUS_OK, STATUS_RENDER_FAILED)

TABLE_MIME = "application/vnd.vu.table+json"

_KIND_LABELS = {"vu": "Verksamhetsuppdrag", "oversikt": "Översikt", "modell": "Modell", "budget": "Budget"}
# Temporaries of tmp_name and running_path: the pid of the process that writes them is in the name.
_STALE_RE = re.compile(r"^\..+\.(\d+)(?:-\d+\.tmp|\.running)(?:\.[A-Za-z0-9]+)?$")


# =========================================================================== small helpers
def now() -> str:
    """The local time with its UTC offset, ISO 8601 to the millisecond."""
    return dt.datetime.now().astimezone().isoformat(timespec="milliseconds")


def secs(x: float | None) -> str:
    """Seconds in Swedish notation: ``'3,4 s'`` (``'–'`` for None)."""
    if x is None:
        return "–"
    return f"{x:.1f}".replace(".", ",") + " s"


# =========================================================================== atomic writes
def running_path(directory: Path, stem: str) -> Path:
    """Where papermill writes the notebook ``stem`` while it executes (``.<stem>.<pid>.running.ipynb``)."""
    return Path(directory) / f".{stem}.{os.getpid()}.running.ipynb"


def clean_stale(directory: Path) -> None:
    """Remove temporary files left by a batch process that no longer runs."""
    if not directory.is_dir():
        return
    for f in directory.iterdir():
        m = _STALE_RE.match(f.name)
        if not m or not f.is_file():
            continue
        pid = int(m.group(1))
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            f.unlink(missing_ok=True)
        except OSError:
            pass


# =========================================================================== notebooks
def publish_notebook(running: Path, final: Path):
    """Sign the executed notebook at ``running`` and write it to ``final`` atomically.

    The signature (in the user's Jupyter data directory) makes JupyterLab
    trust the notebook's outputs. ``running`` is removed in any case.

    Returns
    -------
    nbformat.NotebookNode
        The notebook as written.
    """
    import nbformat
    from nbformat.sign import NotebookNotary

    try:
        nb = nbformat.read(running, as_version=4)
        NotebookNotary().sign(nb)
        atomic_write_text(final, nbformat.writes(nb))
        return nb
    finally:
        Path(running).unlink(missing_ok=True)


def tables_in_notebook(nb) -> list[dict]:
    """The 'application/vnd.vu.table+json' payloads in a notebook's outputs, in order."""
    out = []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) or []:
            t = (o.get("data") or {}).get(TABLE_MIME)
            if isinstance(t, str):
                try:
                    t = json.loads(t)
                except ValueError:
                    continue
            if isinstance(t, dict):
                out.append(t)
    return out


SUMMARY_MIME = "application/vnd.vu.summary+json"


def summary_marker(nb) -> dict:
    """The report's summary marker (:func:`vu_lib.report.summary.needs_action_marker`), ``{}`` when none."""
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) or []:
            m = (o.get("data") or {}).get(SUMMARY_MIME)
            if isinstance(m, str):
                try:
                    m = json.loads(m)
                except ValueError:
                    continue
            if isinstance(m, dict):
                return m
    return {}


# =========================================================================== tables to Excel
_DEFAULT_DECIMALS = {"num": 0, "kr": 0, "tkr": 0, "mnkr": 1, "pct": 1, "count": 0}


def _parse(spec: str | None):
    """:func:`vu_lib.report.fmt.parse_spec`, or None for no spec or an unknown one."""
    if not spec:
        return None
    from vu_lib.report import fmt

    try:
        return fmt.parse_spec(spec)
    except ValueError:
        return None


def _columns_of(table: dict) -> list[dict]:
    """Normalised columns of a table payload: key, header, spec (format), numeric."""
    cols = []
    for c in table.get("columns") or []:
        if isinstance(c, str):
            cols.append({"key": c, "header": c, "spec": None, "numeric": None})
        elif isinstance(c, dict):
            key = c.get("key") or c.get("name") or c.get("field") or c.get("id")
            header = c.get("header") or c.get("label") or c.get("title") or key
            cols.append({"key": key, "header": str(header), "spec": c.get("format"), "numeric": c.get("numeric")})
    recs = _records_of(table)
    if not cols and recs and isinstance(recs[0], dict):
        cols = [{"key": k, "header": str(k), "spec": None, "numeric": None} for k in recs[0]]
    return cols


def _records_of(table: dict) -> list:
    recs = table.get("data")
    if not isinstance(recs, list):
        recs = table.get("records")
    return recs if isinstance(recs, list) else []


def excel_number_format(spec: str | None, value: Any) -> str | None:
    """The Excel number format for a :mod:`vu_lib.fmt` column spec and a value.

    ``'kr'`` -> ``'#,##0 "kr"'``; ``'tkr'`` -> ``'#,##0, "tkr"'`` (the value
    stays in kronor, Excel shows thousands); ``'mnkr'`` -> ``'#,##0.0,, "mnkr"'``;
    ``'pct'`` -> ``'0.0%'``; ``'num(2)'`` -> ``'#,##0.00'``; ``'count'`` ->
    ``'#,##0'``; a ``+`` prefix adds the sign to positive values. Text specs
    give None; without a spec, ints get ``'#,##0'`` and floats ``'#,##0.00'``.
    Format codes are locale-neutral: Swedish Excel shows a space as thousands
    separator and a decimal comma.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    p = _parse(spec)
    if p is None or p.kind not in _DEFAULT_DECIMALS:
        if p is not None and p.kind in ("text", "period", "date"):
            return None
        return "#,##0" if isinstance(value, int) else "#,##0.00"
    signed, kind = p.signed, p.kind
    d = _DEFAULT_DECIMALS[kind] if p.decimals is None or kind == "count" else p.decimals
    dec = ("." + "0" * d) if d else ""
    if kind == "pct":
        body = f"0{dec}%"
    else:
        body = "#,##0" + dec + {"tkr": ",", "mnkr": ",,"}.get(kind, "")
        body += {"kr": ' "kr"', "tkr": ' "tkr"', "mnkr": ' "mnkr"'}.get(kind, "")
    return f"+{body};-{body};{body}" if signed else body


def _masked_count(spec: str | None, value: Any) -> str | None:
    """The masked marker ('<5') for a small count in a ``count`` column, as in the reports."""
    if not spec or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    p = _parse(spec)
    if p is None or p.kind != "count" or not value > 0:
        return None
    from vu_lib.report import fmt

    text = fmt.count(value, p.decimals)
    return text if not text.replace("\u00a0", "").replace(" ", "").isdigit() else None


def _sheet_title(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", str(name or "Tabell")).strip("'") or "Tabell"
    base = base[:31]
    title, i = base, 2
    while title.lower() in used:
        suffix = f" ({i})"
        title = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(title.lower())
    return title


def write_tables_xlsx(tables: list[dict], path: Path, meta: dict | None = None) -> int:
    """Write the tables of a report to one workbook, one sheet per table, atomically.

    The first sheet, "Innehåll", lists each table's sheet and caption and the
    report's provenance. Each table sheet has the Swedish column headers in
    row 1 and the records below; numbers are stored as numbers with a number
    format (thousands separator; decimals or percent from the column spec).

    Returns
    -------
    int
        The number of tables written (0: no file is written).
    """
    if not tables:
        return 0
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    toc = wb.create_sheet("Innehåll")
    toc.column_dimensions["A"].width = 32
    toc.column_dimensions["B"].width = 80
    used = {"innehåll"}
    meta = meta or {}
    c = WriteOnlyCell(toc, value=meta.get("title") or "Tabeller")
    c.font = Font(bold=True, size=13)
    toc.append([c])
    for label, key in (("Period", "period_label"), ("Modellversion", "modellversion"), ("Data", "data_source"),
                       ("Datafingeravtryck", "data_fingerprint"), ("Parametrar", "params_fingerprint"),
                       ("Kodversion", "code_version"), ("Skapad", "generated")):
        if meta.get(key):
            toc.append([label, str(meta[key])])
    toc.append([])
    h1, h2 = WriteOnlyCell(toc, value="Blad"), WriteOnlyCell(toc, value="Tabell")
    h1.font = h2.font = bold
    toc.append([h1, h2])
    sheets = []
    for t in tables:
        title = _sheet_title(t.get("sheet_name") or t.get("name") or t.get("caption"), used)
        sheets.append((title, t))
        toc.append([title, str(t.get("caption") or t.get("name") or "")])
    for title, t in sheets:
        ws = wb.create_sheet(title)
        cols = _columns_of(t)
        recs = _records_of(t)
        widths = [max(8, min(60, len(col["header"]) + 2)) for col in cols]
        rows = []
        for r in recs:
            if isinstance(r, dict):
                vals = [r.get(col["key"], r.get(col["header"])) for col in cols]
            else:
                vals = list(r)[: len(cols)]
            rows.append(vals)
            for i, v in enumerate(vals):
                if v is not None and i < len(widths):
                    widths[i] = max(widths[i], min(60, len(str(v)) + 4))
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        ws.freeze_panes = "A2"
        header = []
        for col in cols:
            hc = WriteOnlyCell(ws, value=col["header"])
            hc.font = bold
            hc.alignment = Alignment(wrap_text=True, vertical="top")
            header.append(hc)
        ws.append(header)
        last = len(rows) - 1
        for n, vals in enumerate(rows):
            line = []
            for col, v in zip(cols, vals):
                if isinstance(v, float) and v != v:  # NaN
                    v = None
                if isinstance(v, (dict, list)):
                    v = json.dumps(v, ensure_ascii=False)
                masked = _masked_count(col["spec"], v)
                cell = WriteOnlyCell(ws, value=masked if masked is not None else v)
                nf = None if masked is not None else excel_number_format(col["spec"], v)
                if nf:
                    cell.number_format = nf
                if masked is not None:
                    cell.alignment = Alignment(horizontal="right")
                if t.get("total_row") and n == last:
                    cell.font = bold
                line.append(cell)
            ws.append(line)
        if t.get("note"):
            ws.append([])
            ws.append([str(t["note"])])
    atomic_write(path, wb.save)
    return len(tables)


# =========================================================================== index and log
def _href(rel: str) -> str:
    from urllib.parse import quote

    return quote(rel, safe="/")


def _esc(text: Any) -> str:
    import html

    return html.escape(str(text if text is not None else ""), quote=True)


_INDEX_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem auto;max-width:72rem;color:#1d2733;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}p.sub{color:#555;margin-top:0}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #dde3ea;vertical-align:top}
th{background:#f1f4f8;font-weight:600}
td.id{font-family:ui-monospace,Consolas,monospace;white-space:nowrap}
a{color:#0b5cad;margin-right:.6rem}
.st{display:inline-block;padding:.1rem .5rem;border-radius:.8rem;font-size:.85rem;white-space:nowrap}
.ok{background:#e3f4e8;color:#1b6b34}.cache{background:#e8eef7;color:#2c4a78}.fel{background:#fbe4e4;color:#9b1c1c}
.err{color:#9b1c1c;font-size:.85rem;margin-top:.3rem;white-space:pre-wrap}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem;font-size:.9rem;color:#333}
dt{font-weight:600}dd{margin:0;font-family:ui-monospace,Consolas,monospace}
footer{margin-top:2rem;font-size:.85rem;color:#555}
"""


def render_index(state: BatchState, info: dict) -> str:
    """``index.html`` of an output directory: every report of the state, with status and links.

    Offline: inline CSS only, relative links, no scripts or remote resources.
    ``info`` gives the title, subtitle, provenance (modellversion,
    data_source, data_fingerprint, params_fingerprint, code_version) and
    when the batch ran (generated).
    """
    rows = []
    entries = sorted(state.jobs.items(), key=lambda kv: (kv[1].get("order", 999), kv[0]))
    for name, e in entries:
        status = e.get("status", "")
        css = "ok" if status == STATUS_OK else "cache" if status == STATUS_CACHED else "fel"
        outs = e.get("outputs") or {}
        links = []
        for key, label in (("html", "HTML"), ("pdf", "PDF"), ("xlsx", "Excel"), ("ipynb", "Notebook")):
            rel = outs.get(key)
            if rel and (state.directory / rel).is_file():
                links.append(f'<a href="{_href(rel)}">{label}</a>')
        err = ""
        if status in FAILED_STATUSES and e.get("error"):
            first = str(e["error"]).strip().splitlines()[0][:300]
            err = f'<div class="err">{_esc(first)}</div>'
        namnd = e.get("namnd") or ""
        if e.get("saknar_atgarder"):
            err += ('<div class="err">Åtgärder saknas: underskott eller något att uppmärksamma utan åtgärd '
                    'i controllerns kommentar</div>')
        rows.append(
            f"<tr><td class=\"id\">{_esc(name)}</td><td>{_esc(e.get('title', ''))}{err}</td>"
            f"<td>{_esc(_KIND_LABELS.get(e.get('kind', ''), ''))}</td><td>{_esc(namnd)}</td>"
            f"<td><span class=\"st {css}\">{_esc(status)}</span></td>"
            f"<td>{_esc((e.get('executed_at') or '')[:16].replace('T', ' '))}</td>"
            f"<td>{''.join(links) or '–'}</td></tr>"
        )
    facts = [("Modellversion", info.get("modellversion")), ("Data", info.get("data_source")),
             ("Datafingeravtryck", info.get("data_fingerprint")), ("Parametrar", info.get("params_fingerprint")),
             ("Kodversion", info.get("code_version"))]
    dl = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in facts if v)
    title = info.get("title") or "Rapporter"
    return f"""<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title>
<style>{_INDEX_CSS}</style>
</head>
<body>
<h1>{_esc(title)}</h1>
<p class="sub">{_esc(info.get('subtitle', ''))}</p>
<dl>{dl}</dl>
<table>
<thead><tr><th>Id</th><th>Rapport</th><th>Typ</th><th>Nämnd</th><th>Status</th><th>Körd</th><th>Filer</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<footer>Senaste körning {_esc(info.get('generated', ''))}. Körlogg: <a href="korlogg.txt">korlogg.txt</a> <a href="korlogg.json">korlogg.json</a></footer>
</body>
</html>
"""


def render_log_text(log: dict) -> str:
    """The readable run log (``korlogg.txt``), in Swedish, from the ``korlogg.json`` dict."""
    inp = log.get("indata", {})
    lines = [
        f"Körlogg: {log.get('kommando', '')}",
        f"Rapporter för {log.get('etikett', '')}" + (f" ({log['period_etikett']})" if log.get("period_etikett") else ""),
        f"Start {log.get('start', '')}   Slut {log.get('slut', '')}   Total tid {secs(log.get('sekunder'))}",
        f"Modellversion {log.get('modellversion', '')}   Kodversion {inp.get('kodversion', '')}",
        f"Data {inp.get('datakalla', '')} ({inp.get('data_fingeravtryck', '')})   "
        f"Parametrar {inp.get('params_fingeravtryck', '')}",
        f"Format {', '.join(log.get('parametrar', {}).get('format', []))}   "
        f"Processer {log.get('parametrar', {}).get('processer', '')}   Renderare {log.get('renderare', '')}",
        "",
        f"{'Rapport':<16}{'Status':<16}{'Körning':>10}{'Rendering':>11}  Notebook",
    ]
    for j in log.get("jobb", []):
        rend = sum((j.get("rendering_sekunder") or {}).values()) if j.get("rendering_sekunder") else None
        exe = j.get("korning_sekunder")
        note = f"  (körd {str(j['senast_kord'])[:16].replace('T', ' ')})" if j.get("senast_kord") and j.get("fran_cache") else ""
        lines.append(f"{j['namn']:<16}{j['status']:<16}{secs(exe):>10}{secs(rend):>11}  {j.get('notebook', '')}{note}")
    failed = [j for j in log.get("jobb", []) if j.get("fel")]
    if failed:
        lines += ["", "Fel:"]
        for j in failed:
            lines.append(f"  {j['namn']}:")
            lines += ["    " + ln for ln in str(j["fel"]).splitlines()]
    return "\n".join(lines) + "\n"
