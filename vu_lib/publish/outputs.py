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
SUMMARY_MIME = "application/vnd.vu.summary+json"

_KIND_LABELS = {"vu": "Verksamhetsuppdrag", "oversikt": "Översikt", "modell": "Modell", "budget": "Budget"}
# Temporaries of tmp_name and running_path: the pid of the process that writes them is in the name.
_STALE_RE = re.compile(r"^\..+\.(\d+)(?:-[A-Za-z0-9_]+\.tmp|\.running)(?:\.[A-Za-z0-9]+)?$")
# Folders in the system temp folder: the batch's runtime folder and the PDF renderer's work folders.
_STALE_TEMP_DIR_RE = re.compile(r"^vu-(?:batch|pdf)-(\d+)-")


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
    """Where papermill writes the executed notebook ``stem`` (``.<stem>.<pid>.running.ipynb``): when it has
    run, in a report child; also while it runs, on the kernel path."""
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
        from vu_lib.core.io import pid_alive

        if not pid_alive(pid):
            f.unlink(missing_ok=True)


def clean_stale_temp_dirs(tmp: str | None = None) -> list[Path]:
    """Remove ``vu-batch-<pid>-*`` and ``vu-pdf-<pid>-*`` in the system temp folder whose process is gone."""
    import shutil
    import tempfile

    removed = []
    base = Path(tmp or tempfile.gettempdir())
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for d in entries:
        m = _STALE_TEMP_DIR_RE.match(d.name)
        if not m or not d.is_dir():
            continue
        pid = int(m.group(1))
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
        except OSError:
            pass
    return removed


# =========================================================================== notebooks
def public_notebook(nb, public: dict) -> None:
    """Replace private paths in an executed notebook by their public forms (in place).

    ``public``: ``store`` = (the path the kernel was given, its public form),
    ``input_path`` and ``output_path`` for papermill's metadata. The injected
    parameters cell and ``metadata.papermill.parameters`` show the store's public
    form; papermill's input and output paths become project-relative.
    """
    pm = nb.get("metadata", {}).get("papermill")
    store = public.get("store")
    if pm is not None:
        for key in ("input_path", "output_path"):
            if key in public and key in pm:
                pm[key] = public[key]
        if store and isinstance(pm.get("parameters"), dict) and pm["parameters"].get("store") == store[0]:
            pm["parameters"]["store"] = store[1]
        pm["environment_variables"] = {}
    if store and store[0] != store[1]:
        import json as _json

        old, new = _json.dumps(store[0]), _json.dumps(store[1])
        for cell in nb.get("cells", []):
            if "injected-parameters" in (cell.get("metadata", {}).get("tags") or []):
                src = cell.get("source", "")
                src = "".join(src) if isinstance(src, list) else src
                cell["source"] = src.replace(f"store = {old}", f"store = {new}")


def publish_notebook(running: Path, final: Path, public: dict | None = None, sign: bool = True):
    """Sign the executed notebook at ``running`` and write it to ``final`` atomically.

    The signature (in the user's Jupyter data directory) makes JupyterLab
    trust the notebook's outputs. ``running`` is removed in any case.
    ``sign=False``: the caller has the signature stored (a report child leaves
    it to the batch's parent, the one writer of the signatures database:
    :func:`notebook_signature`).

    Returns
    -------
    nbformat.NotebookNode
        The notebook as written.
    """
    import nbformat
    from nbformat.sign import NotebookNotary

    try:
        nb = nbformat.read(running, as_version=4)
        if public:
            public_notebook(nb, public)
        if sign:
            NotebookNotary().sign(nb)
        atomic_write_text(final, nbformat.writes(nb))
        return nb
    finally:
        Path(running).unlink(missing_ok=True)


def notebook_signature(nb, notary=None) -> list[str]:
    """``[digest, algorithm]`` of ``nb`` as :class:`nbformat.sign.NotebookNotary` computes it (nothing stored).

    nbformat keeps signatures in an SQLite database that it renames away when it
    cannot open it (``database is locked`` under concurrent writers): so only the
    batch's parent writes to it (:func:`store_signature`), and report children
    send it the digest.
    """
    from nbformat.sign import NotebookNotary

    notary = notary or NotebookNotary()
    return [notary.compute_signature(nb), notary.algorithm]


def store_signature(signature: list[str], notary=None) -> None:
    """Store a digest from :func:`notebook_signature`: the notebook is trusted in JupyterLab."""
    from nbformat.sign import NotebookNotary

    (notary or NotebookNotary()).store.store_signature(*signature)


def json_payloads(nb, mime: str) -> list[dict]:
    """The JSON payloads of type ``mime`` in a notebook's outputs, in order (a payload stored as a
    JSON string is parsed; one that is not an object is left out)."""
    out = []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) or []:
            t = (o.get("data") or {}).get(mime)
            if isinstance(t, str):
                try:
                    t = json.loads(t)
                except ValueError:
                    continue
            if isinstance(t, dict):
                out.append(t)
    return out


def tables_in_notebook(nb) -> list[dict]:
    """The 'application/vnd.vu.table+json' payloads in a notebook's outputs, in order."""
    return json_payloads(nb, TABLE_MIME)


def summary_in_notebook(nb) -> dict | None:
    """Every 'application/vnd.vu.summary+json' payload of a notebook merged (later ones win), or None.

    The title cell gives the figures of the index page (result to date, forecast), the
    summary section the marker ``saknar_atgarder`` (a deficit or flag without actions).
    """
    found = None
    for t in json_payloads(nb, SUMMARY_MIME):
        found = {**(found or {}), **t}
    return found


def summary_marker(nb) -> dict:
    """:func:`summary_in_notebook`, ``{}`` when the notebook has none."""
    return summary_in_notebook(nb) or {}


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

    from vu_lib.report.escape import xlsx as _xlsx_value

    def text_cell(ws, value):
        """A cell that shows ``value`` as it is: data text never becomes a formula."""
        value, as_text = _xlsx_value(value)
        cell = WriteOnlyCell(ws, value=value)
        if as_text:
            cell.data_type = "s"
            cell.quotePrefix = True
        return cell

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    toc = wb.create_sheet("Innehåll")
    toc.column_dimensions["A"].width = 32
    toc.column_dimensions["B"].width = 80
    used = {"innehåll"}
    meta = meta or {}
    c = text_cell(toc, meta.get("title") or "Tabeller")
    c.font = Font(bold=True, size=13)
    toc.append([c])
    for label, key in (("Period", "period_label"), ("Modellversion", "modellversion"), ("Data", "data_source"),
                       ("Datafingeravtryck", "data_fingerprint"), ("Parametrar", "params_fingerprint"),
                       ("Kodversion", "code_version"), ("Skapad", "generated")):
        if meta.get(key):
            toc.append([label, text_cell(toc, str(meta[key]))])
    toc.append([])
    h1, h2 = WriteOnlyCell(toc, value="Blad"), WriteOnlyCell(toc, value="Tabell")
    h1.font = h2.font = bold
    toc.append([h1, h2])
    sheets = []
    for t in tables:
        title = _sheet_title(t.get("sheet_name") or t.get("name") or t.get("caption"), used)
        sheets.append((title, t))
        toc.append([text_cell(toc, title), text_cell(toc, str(t.get("caption") or t.get("name") or ""))])
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
            hc = text_cell(ws, col["header"])
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
                cell = text_cell(ws, masked if masked is not None else v)
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
            ws.append([text_cell(ws, str(t["note"]))])
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
body{font-family:"Source Sans Pro","Segoe UI",system-ui,Roboto,Arial,sans-serif;margin:0 auto;max-width:74rem;color:#1a1a1a;padding:1.5rem 1.25rem 3rem;line-height:1.5;font-variant-numeric:tabular-nums}
h1{font-size:1.9rem;line-height:1.2;margin:.2rem 0}h2{font-size:1.3rem;margin:2rem 0 .5rem;border-bottom:1px solid #c8ced6;padding-bottom:.2rem}
p.sub{color:#4d4d4d;margin:.2rem 0 1rem;font-size:1.1rem}
a{color:#005a8c}:focus-visible{outline:3px solid #005a8c;outline-offset:2px}main:focus{outline:none}
.hopp{position:absolute;left:1rem;top:-10rem;padding:.5rem .9rem;background:#fff;border:2px solid #005a8c;z-index:10}.hopp:focus{top:1rem}
nav.perioder ul{list-style:none;padding:0;margin:.3rem 0;display:flex;flex-wrap:wrap;gap:.4rem}
nav.perioder a{display:inline-block;padding:.25rem .7rem;border:1px solid #c8ced6;border-radius:.3rem;text-decoration:none}
nav.perioder a[aria-current]{background:#1a1a1a;color:#fff;border-color:#1a1a1a}
nav.perioder h2{font-size:1rem;border:0;margin:1rem 0 0;padding:0}
.region{overflow-x:auto;max-width:100%;position:relative}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.95rem}
caption{text-align:left;font-weight:600;padding:0 0 .4rem}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #dde3ea;vertical-align:top}
thead th{border-bottom:2px solid #1a1a1a;vertical-align:bottom}
td.n,th.n{text-align:right;white-space:nowrap}
.region tr>:first-child{position:sticky;left:0;background:#fff;z-index:1}
.fel{color:#9b1c1c}.err{color:#9b1c1c;font-size:.85rem;margin-top:.3rem;white-space:pre-wrap}
.filer a{margin-right:.6rem;white-space:nowrap}
details{margin:2rem 0}summary{cursor:pointer;font-weight:600;color:#005a8c}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2rem 1rem;font-size:.9rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
footer{margin-top:2rem;font-size:.85rem;color:#4d4d4d;border-top:1px solid #c8ced6;padding-top:.75rem}
@media (max-width:40rem){body{padding:1rem .9rem 2rem}h1{font-size:1.5rem}th,td{padding:.3rem .45rem}table{font-size:.875rem}}
"""

_MNKR = "mnkr"


def _mnkr(value: Any) -> str:
    """An amount in kronor as signed mnkr with one decimal, without the unit (the header says it)."""
    from vu_lib.report import fmt  # noqa: PLC0415  (light: no pandas)

    if value is None:
        return "–"
    text = fmt.mnkr(value, sign=True)
    return text.rsplit("\u00a0", 1)[0]


def _range(a: Any, b: Any) -> str:
    vals = sorted(v for v in (a, b) if v is not None)
    if not vals:
        return "–"
    if len(vals) == 1 or _mnkr(vals[0]) == _mnkr(vals[1]):
        return _mnkr(vals[0])
    return f"{_mnkr(vals[0])} till {_mnkr(vals[1])}"


def _yes_no(v: Any) -> str:
    return "ja" if v is True else "nej" if v is False else "–"


def other_outputs(directory: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The sibling output directories with an index: (periods, budget proposals) as (label, relative href)."""
    from vu_lib.report import fmt  # noqa: PLC0415

    periods, budgets = [], []
    root = Path(directory).parent
    if not root.is_dir():
        return periods, budgets
    for d in sorted(root.iterdir()):
        if not d.is_dir() or not ((d / "index.html").is_file() or d == Path(directory)):
            continue
        if re.fullmatch(r"\d{4}-\d{2}", d.name):
            periods.append((fmt.period_label(d.name), f"../{d.name}/index.html"))
        elif re.fullmatch(r"budget-\d{4}", d.name):
            budgets.append((f"Budgetförslag {d.name[7:]}", f"../{d.name}/index.html"))
    return periods, budgets


def render_index(state: BatchState, info: dict) -> str:
    """``index.html`` of an output directory: the landing page of a period (or a budget proposal).

    Per report: the result to date and the full-year forecast (both methods,
    as a range, in mnkr) from the report's summary, whether it has commentary
    and actions, and links to HTML, PDF, Excel and notebook; grouped as
    Leanlink and the nämnder's overviews, each nämnd's VU, and the model.
    Links to every other period and budget proposal next to this directory.
    Run status, provenance and timings are under a disclosure.

    Offline: inline CSS only, relative links, no scripts or remote resources.
    ``info`` gives the title, subtitle, provenance (modellversion,
    data_source, data_fingerprint, params_fingerprint, code_version), the
    nämnder and when the batch ran (generated).
    """
    entries = sorted(state.jobs.items(), key=lambda kv: (kv[1].get("order", 999), kv[0]))
    directory = Path(state.directory)
    namnder = info.get("namnder") or {}

    def links(e: dict) -> str:
        outs = e.get("outputs") or {}
        out = []
        for key, label in (("html", "HTML"), ("pdf", "PDF"), ("xlsx", "Excel"), ("ipynb", "Notebook")):
            rel = outs.get(key)
            if rel and (directory / rel).is_file():
                out.append(f'<a href="{_href(rel)}">{label}<span class="vh"> {_esc(e.get("title", ""))}</span></a>')
        return "".join(out) or "–"

    def name_cell(name: str, e: dict) -> str:
        outs = e.get("outputs") or {}
        title = _esc(e.get("title", name))
        html_rel = outs.get("html")
        label = f'<a href="{_href(html_rel)}">{title}</a>' if html_rel and (directory / html_rel).is_file() else title
        err = ""
        status = e.get("status", "")
        if status in FAILED_STATUSES:
            first = str(e.get("error") or status).strip().splitlines()[0][:300]
            err = f'<div class="err">{_esc(status.capitalize())}: {_esc(first)}</div>'
        if e.get("saknar_atgarder"):
            err += ('<div class="err">Åtgärder saknas: underskott eller något att uppmärksamma utan åtgärd '
                    'i controllerns kommentar</div>')
        return f'<th scope="row">{label}{err}</th>'

    def table(caption: str, items: list[tuple[str, dict]], with_figures: bool = True) -> str:
        if not items:
            return ""
        head = ["<th scope=\"col\">Rapport</th>"]
        if with_figures:
            head += [f'<th scope="col" class="n">Resultat hittills</th>', f'<th scope="col" class="n">Helårsprognos</th>',
                     '<th scope="col">Kommentar</th>', '<th scope="col">Åtgärder</th>']
        head.append('<th scope="col">Filer</th>')
        rows = []
        for name, e in items:
            cells = [name_cell(name, e)]
            if with_figures:
                sm = e.get("summary") or {}
                cells += [f'<td class="n">{_esc(_mnkr(sm.get("resultat_ack")))}</td>',
                          f'<td class="n">{_esc(_range(sm.get("prognos_arstakt"), sm.get("prognos_profil")))}</td>',
                          f"<td>{_yes_no(sm.get('kommentar'))}</td>", f"<td>{_yes_no(sm.get('atgarder'))}</td>"]
            cells.append(f'<td class="filer">{links(e)}</td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
        cap = caption + (f" ({_MNKR})" if with_figures else "")
        return (f'<div class="region" role="region" tabindex="0" aria-label="{_esc(cap)}"><table><caption>{_esc(cap)}</caption>'
                f'<thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')

    overviews = [(n, e) for n, e in entries if e.get("kind") == "oversikt"]
    vus = [(n, e) for n, e in entries if e.get("kind") == "vu"]
    others = [(n, e) for n, e in entries if e.get("kind") not in ("oversikt", "vu")]
    sections = []
    if overviews:
        sections.append('<section aria-labelledby="s-oversikt"><h2 id="s-oversikt">Leanlink och nämnderna</h2>'
                        + table("Resultat och prognos per översikt", overviews) + "</section>")
    groups: dict[str, list] = {}
    for n, e in vus:
        groups.setdefault(e.get("namnd") or "", []).append((n, e))
    for code, items in groups.items():
        label = namnder.get(code, code) or "Verksamhetsuppdrag"
        sid = f"s-{re.sub(r'[^a-z0-9]+', '-', (code or 'vu').lower())}"
        sections.append(f'<section aria-labelledby="{sid}"><h2 id="{sid}">{_esc(label)}</h2>'
                        + table(f"Verksamhetsuppdrag för {label}" if code else "Verksamhetsuppdrag", items) + "</section>")
    if others:
        sections.append('<section aria-labelledby="s-ovrigt"><h2 id="s-ovrigt">Modell och budget</h2>'
                        + table("Dokument", others, with_figures=False) + "</section>")

    periods, budgets = other_outputs(directory)
    nav_parts = []
    for heading, items in (("Perioder", periods), ("Budgetförslag", budgets)):
        if not items:
            continue
        lis = []
        for label, href in items:
            here = Path(href).parent.name == directory.name
            cur = ' aria-current="page"' if here else ""
            lis.append(f'<li><a href="{_href(href)}"{cur}>{_esc(label)}</a></li>')
        nav_parts.append(f"<h2>{heading}</h2><ul>{''.join(lis)}</ul>")
    if re.fullmatch(r"\d{4}-\d{2}", directory.name):
        next_year = int(directory.name[:4]) + 1
        if not any(label.endswith(str(next_year)) for label, _ in budgets):
            nav_parts.append(f"<p>Budgetförslaget för {next_year} är inte framtaget ännu "
                             f"(<code>vu budget {next_year}</code>).</p>")
    nav = f'<nav class="perioder" aria-label="Perioder och budgetförslag">{"".join(nav_parts)}</nav>' if nav_parts else ""

    status_rows = []
    for name, e in entries:
        status = e.get("status", "")
        css = ' class="fel"' if status in FAILED_STATUSES else ""
        status_rows.append(f"<tr><th scope=\"row\">{_esc(name)}</th><td{css}>{_esc(status)}</td>"
                           f"<td>{_esc((e.get('executed_at') or '')[:16].replace('T', ' '))}</td></tr>")
    facts = [("Modellversion", info.get("modellversion")), ("Data", info.get("data_source")),
             ("Datafingeravtryck", info.get("data_fingerprint")), ("Parametrar", info.get("params_fingerprint")),
             ("Kodversion", info.get("code_version"))]
    dl = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in facts if v)
    n_failed = sum(1 for _, e in entries if e.get("status") in FAILED_STATUSES)
    failed_note = (f'<p class="fel" role="note">{n_failed} av {len(entries)} rapporter kunde inte tas fram; '
                   "se körningen nedan.</p>") if n_failed else ""
    title = info.get("title") or "Rapporter"
    style = _INDEX_CSS + ".vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}"
    # no script at all, and only this page's own <style>, by hash (no style attribute, no injected <style>)
    import base64, hashlib  # noqa: E401, PLC0415

    style_hash = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    return f"""<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-{style_hash}'; base-uri 'none'; form-action 'none'">
<title>{_esc(title)}</title>
<style>{style}</style>
</head>
<body>
<a class="hopp" href="#innehall">Hoppa till innehållet</a>
<header>
<h1>{_esc(title)}</h1>
<p class="sub">{_esc(info.get('subtitle', ''))}</p>
{nav}
</header>
<main id="innehall" tabindex="-1">
{failed_note}
<p>Resultat hittills och helårsprognos i miljoner kronor; prognosen som spannet mellan de två metoderna
(årstakt och fjolårets månadsprofil). Positivt belopp är överskott.</p>
{''.join(sections)}
<details>
<summary>Körning och spårbarhet</summary>
<dl>{dl}</dl>
<div class="region" role="region" tabindex="0" aria-label="Status per rapport"><table><caption>Status per rapport</caption>
<thead><tr><th scope="col">Rapport</th><th scope="col">Status</th><th scope="col">Körd</th></tr></thead>
<tbody>{''.join(status_rows)}</tbody></table></div>
</details>
</main>
<footer><p>Senaste körning {_esc(info.get('generated', ''))}. Körlogg: <a href="korlogg.txt">korlogg.txt</a>, <a href="korlogg.json">korlogg.json</a></p></footer>
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
