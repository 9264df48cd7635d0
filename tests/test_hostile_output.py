"""Data is never code: a corpus of hostile strings through every free-text column into every report and format.

The strings go into the sample's exports (``medel``: id, beskrivning,
aterrapporteringskrav, for one VU of each nämnd; ``huvudbok``: verifikation
and text, with amount 0 so no figure changes) and into a commentary file for
*every* report of the period (Analys, Åtgärder: Vad and Vem, Prognos:
Motivering). They are ingested with ``vu ingest`` and the whole period is
reported with ``vu run``: the nine VU reports, the nämnd overviews (AN, SON),
Leanlink, the model document and ``index.html``. Each string must then be
*shown*, character for character, in the HTML page and the PDF (its text as
``pdftotext`` reads it) of every report, and in the workbook cells of every
report that lists the medel, and must never act: no element, attribute,
style, script or link from data in the HTML (and a CSP that would stop one
anyway), no typst or Markdown markup interpreted in the PDF (every string
printed as itself, every page A4), no formula in any workbook.

The same corpus goes through ``vu run --renderer quarto`` (a smaller set of
reports: Quarto costs about 1,6 s CPU per report) into Quarto's HTML and PDF.
"""
from __future__ import annotations

import csv
import hashlib
import base64
import io
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import openpyxl
import pytest

from vu_lib.report import escape as _escape

VU = Path(sys.executable).parent / "vu"
ROOT = Path(__file__).resolve().parents[1]

#: Hostile strings. Each is valid text for the readers (no control characters, no
#: surrounding spaces) and encodable in Windows-1252 (the sample's ledger encoding).
CORPUS = [
    '<img src=x onerror="fetch(\'http://example.invalid/x\')">',
    '<script>alert("xss")</script>',
    '</td></tr></table></div><h1>falsk rubrik</h1>',
    '<a href="javascript:alert(1)">klicka</a>',
    '[klicka](javascript:alert(1))',
    '![bild](http://example.invalid/p.png)',
    '<http://example.invalid/autolänk>',
    '`#panic("typst")`{=typst}',
    '#panic("typst") #read("/etc/passwd")',
    '```{=html} <b>rå</b>',
    '=HYPERLINK("http://example.invalid","klicka")',
    '+1+2',
    '-3+4',
    '@SUM(A1:A2)',
    "=cmd|' /C calc'!A0",
    '$x^2$ och \\(y\\)',
    '@ref och [@cite]',
    '**fet** _kursiv_ ~~struken~~ ^upp^ ~ned~',
    '<!-- kommentar --> slut',
    '&lt;b&gt; &amp; &#60;',
    '{{ jinja }} {% if x %}',
    '\\textbf{tex} \\\\ \\',
    '| a | b |',
    '-- ... 1. lista',
    "'); DROP TABLE huvudbok;--",
    ']]> <![CDATA[ x',
    '"citat" och \'enkla\'',
    '#set page(width: 1pt)',
    '<style>body{display:none}</style>',
    'x" style="display:none" data-x="',
    '<span style="color:red">röd</span>',
    '{{< env HOME >}} {{< meta pagetitle >}}',
    '{{< include /etc/hostname >}}',
    '`r 1+1` och {python} print(1)',
]
VU_ID = "AN-VB"
SON_VU = "SON-BO-VUX"
PERIOD = "2026-10"
#: The reports of a period with data text, and the nämnd (or None) of each.
NAMND = {"AN-OMR-NV": "AN", "AN-OMR-NO": "AN", "AN-OMR-CN": "AN", "AN-OPPNA": "AN", "AN-VB": "AN",
         "SON-OPPNA-BUF": "SON", "SON-OPPNA-VUX": "SON", "SON-BO-BU": "SON", "SON-BO-VUX": "SON",
         "AN": "AN", "SON": "SON", "Leanlink": None}
REPORTS = tuple(NAMND)
#: Reports whose workbook lists the medel of AN-VB or SON-BO-VUX (sheet "Förändring av medel").
MEDEL_REPORTS = (VU_ID, SON_VU, "AN", "SON", "Leanlink")
A4 = (595.0, 842.0)  # points, rounded: 210 × 297 mm


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("\u00a0", " ").replace("\u202f", " ")).strip()


def _write_csv(path: Path, rows: list[list[str]], encoding: str) -> None:
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))  # 'utf-8-sig' writes the BOM


def _read_csv(path: Path, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline=""), delimiter=";"))


def _commentary_text(report: str) -> str:
    """A commentary file holding every string: each as a paragraph of Analys (a string that the
    format reads as a heading or comment line gets a word before it), the first and last as
    actions (Vad, Vem), two as the prognosis' Motivering."""
    def para(s: str) -> str:
        return "Text " + s if s.startswith(("#", "<!--")) else s

    analys = "\n\n".join(para(s) for s in CORPUS)
    acts = "\n".join(f"- Vad: {s}\n  Vem: {s}\n  Senast: 2026-12-31" for s in CORPUS[:3] + CORPUS[-3:])
    return (f"# Kommentar {report}\n\n## Analys\n\n{analys}\n\n## Åtgärder\n\n{acts}\n\n"
            f"## Prognos\n\nBelopp: -1 mnkr\nMotivering: {CORPUS[7]} {CORPUS[0]}\n")


def make_hostile_period(root: Path, run_args: list[str]) -> tuple[Path, Path]:
    """The sample plus the corpus in ``root``: exports ingested into a store outside the project,
    a commentary file per report, and ``vu run --period PERIOD <run_args>``; (store, period folder)."""
    ex = root / "ex"
    subprocess.run([str(VU), "sample", "--out", str(ex)], check=True, capture_output=True)
    medel = _read_csv(ex / "medel.csv", "utf-8-sig")
    for vu, suffix in ((VU_ID, ""), (SON_VU, " (SON)")):  # ids are unique: SON-BO-VUX's get a suffix
        for s in CORPUS:
            # paid in March 2026, deadline passed at the end of October: the id is named in the narrative too
            medel.append([s + suffix, "2026-03", vu, "statsbidrag", "1000,00", s, s, "2026-06-30"])
    _write_csv(ex / "medel.csv", medel, "utf-8-sig")
    hb = _read_csv(ex / "huvudbok_2026.csv", "cp1252")
    first = hb[1]
    for s in CORPUS:
        hb.append([first[0], first[1], first[2], first[3], s, "0,00", s])
    _write_csv(ex / "huvudbok_2026.csv", hb, "cp1252")
    store = root / "lager" / "vu.duckdb"
    files = sorted(str(p) for p in ex.iterdir())
    ing = subprocess.run([str(VU), "ingest", *files, "--store", str(store)], capture_output=True, text=True)
    assert ing.returncode == 0, ing.stderr
    kom = root / "kommentarer"
    (kom / PERIOD).mkdir(parents=True)
    for r in REPORTS:
        (kom / PERIOD / f"{r}.md").write_text(_commentary_text(r), encoding="utf-8")
    out = root / "rapporter"
    env = {**os.environ, "VU_KOMMENTARER": str(kom)}
    run = subprocess.run([str(VU), "run", "--period", PERIOD, "--store", str(store), "--out", str(out),
                          "--to", "html,pdf", *run_args], capture_output=True, text=True, cwd=root, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    return store, out / PERIOD


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The whole period with the corpus, built-in renderer: (store, report folder)."""
    return make_hostile_period(tmp_path_factory.mktemp("fientlig"), ["--jobs", "2"])


def test_free_text_is_stored_exactly(published):
    store, _ = published
    con = duckdb.connect(str(store), read_only=True)
    try:
        medel = con.execute("SELECT id, beskrivning, aterrapporteringskrav, vu FROM medel "
                            "WHERE period = '2026-03' AND vu IN (?, ?)", [VU_ID, SON_VU]).fetchall()
        hb = con.execute("SELECT verifikation, text FROM huvudbok WHERE belopp = 0").fetchall()
    finally:
        con.close()
    assert {r[0] for r in medel if r[3] == VU_ID} >= set(CORPUS)
    assert {r[0] for r in medel if r[3] == SON_VU} >= {s + " (SON)" for s in CORPUS}
    assert all(r[1] == r[2] == r[0].removesuffix(" (SON)") for r in medel if r[1] in CORPUS)
    assert {r[0] for r in hb} == set(CORPUS) and all(v == t for v, t in hb)


class _Page(HTMLParser):
    """Every element and attribute of a page, its scripts, its <style> elements and its visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in_script: dict | None = None
        self._in_style = False
        self._buf: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "script":
            self._in_script, self._buf = a, []
        elif tag == "style":
            self._in_style, self._buf = True, []
            self._skip += 1
        elif tag == "svg":
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script, "".join(self._buf)))
            self._in_script = None
        elif tag == "style":
            self.styles.append("".join(self._buf))
            self._in_style = False
            self._skip -= 1
        elif tag == "svg":
            self._skip -= 1

    def handle_data(self, data):
        if self._in_script is not None or self._in_style:
            self._buf.append(data)
        elif not self._skip:
            self.text.append(data)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def _csp(page: _Page) -> dict[str, str]:
    metas = [a["content"] for t, a in page.tags if t == "meta" and (a.get("http-equiv") or "").lower()
             == "content-security-policy"]
    assert len(metas) == 1, "exakt en Content-Security-Policy"
    return {d.strip().split(" ", 1)[0]: d.strip() for d in metas[0].split(";") if d.strip()}


def inert_html_problems(src: str, n_scripts: int | None = None) -> list[str]:
    """What in a page could have come from data and act: the empty list for a safe page.

    No element from the corpus (no raw ``<…`` of it, no second ``<h1>``, no ``<img>`` other than
    ``data:``, no ``<iframe>``/``<object>``/``<embed>``/``<base>``/``<form>``/``<link>``), no event
    attribute, no ``javascript:`` URL, no style attribute at all and no ``<style>`` outside the
    head, and a CSP without any ``'unsafe-inline'`` whose ``script-src`` allows exactly the page's
    own scripts (``n_scripts`` of them when given) and ``style-src`` exactly its head's ``<style>``
    elements, each by hash.
    """
    bad: list[str] = []
    page = _Page()
    page.feed(src)
    for s in CORPUS:
        if "<" in s and s in src:
            bad.append(f"rå markup från data: {s}")
    if len([a for t, a in page.tags if t == "h1"]) > 1:
        bad.append("mer än en <h1>")
    for t, a in page.tags:
        for k, v in a.items():
            if k.startswith("on"):
                bad.append(f"händelseattribut {k} på <{t}>")
            if k in ("href", "src", "action", "formaction", "xlink:href") and (v or "").strip().lower().startswith(
                    ("javascript:", "vbscript:")):
                bad.append(f"{k}={v!r} på <{t}>")
            if k == "style":
                bad.append(f"style={v!r} på <{t}>")
        if t == "img" and not (a.get("src") or "").startswith("data:"):
            bad.append(f"<img src={a.get('src')!r}>")
        if t in ("iframe", "object", "embed", "base", "form", "link", "frame", "applet"):
            bad.append(f"<{t}>")
        if t == "meta" and (a.get("http-equiv") or "").lower() == "refresh":
            bad.append("<meta refresh>")
    try:
        csp = _csp(page)
    except AssertionError as e:
        return bad + [str(e)]
    script_src = csp.get("script-src", "")
    if "'unsafe-inline'" in script_src or "'unsafe-eval'" in script_src or "data:" in script_src:
        bad.append(f"script-src tillåter inline/eval: {script_src[:80]}")
    style_src = csp.get("style-src", "")
    if "'unsafe-inline'" in style_src or "'unsafe-hashes'" in style_src or "data:" in style_src:
        bad.append(f"style-src tillåter inline: {style_src[:80]}")
    bare = re.sub(r"(?s)(<script\b[^>]*>).*?</script>", r"\1</script>", src)  # a script may hold "</head>"
    head_styles = re.findall(r"(?s)<style\b[^>]*>(.*?)</style\s*>", bare[:bare.find("</head>")])
    if len(head_styles) != len(page.styles):
        bad.append(f"<style> utanför <head>: {len(page.styles) - len(head_styles)}")
    if {_sha256(c) for c in head_styles} != set(re.findall(r"'sha256-[^']+'", style_src)):
        bad.append("<style>-elementen och CSP:ns style-src stämmer inte")
    if csp.get("default-src") != "default-src 'none'":
        bad.append(f"default-src: {csp.get('default-src')}")
    runnable = [body for a, body in page.scripts if (a.get("type") or "text/javascript") in ("text/javascript", "module")]
    if any(a.get("src") for a, _ in page.scripts):
        bad.append("<script src=…>")
    hashes = set(re.findall(r"'sha256-[^']+'", script_src))
    if {_sha256(b) for b in runnable} != hashes:
        bad.append(f"skripten och CSP:ns hashar stämmer inte ({len(runnable)} skript, {len(hashes)} hashar)")
    if n_scripts is not None and len(runnable) != n_scripts:
        bad.append(f"{len(runnable)} körbara skript, väntade {n_scripts}")
    for a, body in page.scripts:
        if a.get("type") == "application/json" and "</" in body:
            bad.append("</ i JSON-skript")
    return bad


def _visible_text(src: str) -> str:
    page = _Page()
    page.feed(src)
    return _norm(" ".join(page.text))


def html_pages(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.html"))


def test_every_html_page_shows_every_string_and_runs_none(published):
    _, folder = published
    pages = {p.stem: p for p in html_pages(folder)}
    assert set(REPORTS) | {"index", "modell"} <= set(pages), sorted(pages)
    problems = []
    for name, path in pages.items():
        src = path.read_text(encoding="utf-8")
        has_charts = 'class="vu-chart"' in src
        problems += [f"{name}.html: {p}" for p in inert_html_problems(src, 2 if has_charts else 0)]
        if name in REPORTS:
            text = _visible_text(src)
            problems += [f"{name}.html visar inte {s!r}" for s in CORPUS if _norm(s) not in text]
    assert not problems, "\n".join(problems)


def test_index_links_and_marks_but_runs_nothing(published):
    _, folder = published
    src = (folder / "index.html").read_text(encoding="utf-8")
    assert not inert_html_problems(src, 0)
    for r in REPORTS:
        assert f'href="{r}.html"' in src, r  # every report is listed (with the hostile commentary)


def _pdf_text(path: Path) -> str:
    """The PDF's text as ``pdftotext`` (poppler) reads it."""
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext saknas (apt-get install poppler-utils); CI installerar det")
    return subprocess.run([exe, "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def pdf_problems(path: Path, want_strings: bool = True) -> list[str]:
    """Every string printed as itself, every page A4 (``#set page(width: 1pt)`` was not obeyed)."""
    import pypdf

    bad = []
    text = _pdf_text(path)
    # table cells wrap (and typst may hyphenate at a wrap), so compare without whitespace and soft hyphens
    flat = re.sub(r"[\s\u00ad]", "", text)
    flat_nohyphen = flat.replace("-", "").replace("\u2010", "")
    if want_strings:
        for s in CORPUS:
            want = re.sub(r"\s", "", s)
            if not (want in flat or want.replace("-", "") in flat_nohyphen):
                bad.append(f"{path.name} visar inte {s!r}")
    reader = pypdf.PdfReader(str(path))
    for i, page in enumerate(reader.pages, start=1):
        size = (round(float(page.mediabox.width)), round(float(page.mediabox.height)))
        if size != A4:
            bad.append(f"{path.name} sida {i} är {size} pt, inte A4")
    return bad


def test_every_pdf_shows_every_string_as_text(published):
    _, folder = published
    problems = []
    for name in REPORTS:
        problems += pdf_problems(folder / f"{name}.pdf")
    problems += pdf_problems(folder / "modell.pdf", want_strings=False)
    assert not problems, "\n".join(problems)


def test_no_workbook_holds_a_formula_and_every_string_is_text(published):
    _, folder = published
    books = sorted(folder.glob("*.xlsx"))
    assert {b.stem for b in books} >= set(REPORTS)
    problems = []
    for book in books:
        wb = openpyxl.load_workbook(book)
        values: dict[str, list] = {}
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f":
                        problems.append(f"formel i {book.name} {ws.title}!{c.coordinate}: {c.value!r}")
                    if isinstance(c.value, str):
                        values.setdefault(c.value, []).append(c)
                        if c.value.startswith(("=", "+", "-", "@")) and not c.quotePrefix:
                            problems.append(f"{book.name} {ws.title}!{c.coordinate}: {c.value!r} utan textprefix")
        if book.stem in MEDEL_REPORTS:
            cells = "\n".join(values)
            problems += [f"{book.name} saknar {s!r}" for s in CORPUS if s not in cells]
            ids = CORPUS if book.stem != SON_VU else [s + " (SON)" for s in CORPUS]
            problems += [f"{book.name}: id {s!r} inte som egen cell" for s in ids if s not in values]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- in a browser
def _page_in_chromium(browser, path: Path) -> dict:
    """Load ``path`` offline; what ran: requests, dialogs, problems, charts drawn, elements."""
    import chromium as cr

    session = browser.new_page()
    browser.goto(session, path.resolve().as_uri())
    charts = browser.evaluate(session, "document.querySelectorAll('figure.vu-chart').length")
    drawn = browser.wait_for(
        session,
        "Array.from(document.querySelectorAll('figure.vu-chart')).every(f => f.classList.contains('vu-chart--live'))",
    ) if charts else True
    browser.pump(0.5)
    return {
        "charts": charts,
        "drawn": drawn,
        "requests": [u for u in browser.requests(session) if not u.startswith(cr.ALLOWED_SCHEMES)],
        "dialogs": [e for e in browser.events if e.get("sessionId") == session
                    and e.get("method") == "Page.javascriptDialogOpening"],
        "problems": browser.problems(session),
        "h1": browser.evaluate(session, "document.querySelectorAll('h1').length"),
        "foreign": browser.evaluate(session, "Array.from(document.querySelectorAll("
                                             "'img:not([src^=\"data:\"]), iframe, object, embed, a[href^=\"javascript\"], "
                                             "[onerror], [onclick], [onload]')).length"),
        "hidden": browser.evaluate(session, "getComputedStyle(document.body).display"),
        "look": browser.evaluate(session, _LOOK_JS),
    }


#: What the tables' and charts' inline styles used to say, as the page's CSS must now say it:
#: the elements that break it (an empty list when the page looks as before).
_LOOK_JS = r"""(() => {
  const bad = [];
  const cs = e => getComputedStyle(e);
  const check = (sel, prop, want) => document.querySelectorAll(sel).forEach(e => {
    const v = cs(e)[prop]; if (!want.includes(v)) bad.push(sel + ' ' + prop + '=' + v); });
  check('table.vu-table', 'borderCollapse', ['collapse']);
  check('table.vu-table', 'fontVariantNumeric', ['tabular-nums', 'lining-nums tabular-nums']);
  check('table.vu-table caption', 'textAlign', ['left']);
  check('table.vu-table caption', 'fontWeight', ['600']);
  check('table.vu-table .vu-num', 'textAlign', ['right']);
  check('table.vu-table .vu-label', 'textAlign', ['left']);
  check('table.vu-table tfoot.vu-total', 'fontWeight', ['700']);
  document.querySelectorAll('figure.vu-chart').forEach(f => {
    const svg = f.querySelector('.vu-chart-static svg');
    const w = parseFloat(cs(f).getPropertyValue('--vu-w'));
    if (!svg || Math.abs(w - parseFloat(svg.getAttribute('width'))) > 0.01) bad.push(f.id + ' --vu-w=' + w);
  });
  return bad.slice(0, 10);
})()"""


def _assert_nothing_ran(name: str, seen: dict) -> None:
    assert not seen["requests"], f"{name}: sidan försökte hämta {seen['requests']}"
    assert not seen["dialogs"], f"{name}: en dialog öppnades (alert)"
    assert not seen["problems"], f"{name}: {seen['problems']}"  # a CSP violation is logged as an error
    assert seen["h1"] == 1 and seen["foreign"] == 0 and seen["hidden"] != "none", (name, seen)
    assert seen["drawn"], f"{name}: diagrammen ritades inte (CSP?)"
    assert not seen["look"], f"{name}: tabellernas eller diagrammens stil saknas: {seen['look']}"


def test_hostile_pages_in_chromium(published, browser):
    """The pages with the corpus in headless Chromium: no request, no dialog, no CSP violation or
    error, one h1, no element from data, the body shown, every chart drawn (the CSP lets vu's own
    scripts run)."""
    _, folder = published
    for name in (VU_ID, "AN", "Leanlink", "index"):
        seen = _page_in_chromium(browser, folder / f"{name}.html")
        _assert_nothing_ran(name, seen)
        assert name == "index" or seen["charts"] >= 1, name


# --------------------------------------------------------------------------- Quarto
from test_quarto import needs_quarto  # noqa: E402

#: The reports the Quarto run renders: a VU and its nämnd's overview (the two kinds of report).
QUARTO_REPORTS = (VU_ID, "AN")


@pytest.fixture(scope="module")
def published_quarto(tmp_path_factory):
    """A VU and its overview with the corpus through ``vu run --renderer quarto``: (store, folder)."""
    return make_hostile_period(tmp_path_factory.mktemp("fientlig-quarto"),
                               ["--renderer", "quarto", "--namnd", "AN", "--vu", VU_ID, "--jobs", "2"])


@needs_quarto
def test_quarto_html_shows_every_string_and_runs_none(published_quarto):
    _, folder = published_quarto
    problems = []
    for name in QUARTO_REPORTS:
        src = (folder / f"{name}.html").read_text(encoding="utf-8")
        assert 'name="generator" content="quarto-' in src, name
        problems += [f"{name}.html: {p}" for p in inert_html_problems(src, 2)]
        text = _visible_text(src)
        problems += [f"{name}.html visar inte {s!r}" for s in CORPUS if _norm(s) not in text]
    assert not problems, "\n".join(problems)


@needs_quarto
def test_quarto_pdf_shows_every_string_as_text(published_quarto):
    _, folder = published_quarto
    problems = []
    for name in QUARTO_REPORTS:
        problems += pdf_problems(folder / f"{name}.pdf")
    assert not problems, "\n".join(problems)


@needs_quarto
def test_quarto_sources_hold_no_raw_passthrough(published_quarto):
    """The kept Quarto sources: read with every raw passthrough off, vu's own markup only in the
    raw-block file (behind tokens), where data is escaped HTML and never markup."""
    import json

    import yaml

    _, folder = published_quarto
    for name in QUARTO_REPORTS:
        doc = json.loads((folder / "quarto" / f"{name}.ipynb").read_text(encoding="utf-8"))
        front = yaml.safe_load("".join(doc["cells"][0]["source"]).strip().strip("-"))
        for f in ("html", "typst"):
            reader = front["format"][f]["from"]
            for ext in ("raw_html", "raw_attribute", "raw_tex", "citations", "tex_math_dollars"):
                assert f"-{ext}" in reader, (name, f, reader)
        assert front["filters"] == ["vu-raw.lua", "typst_text.lua"]
        body = "".join("".join(c["source"]) for c in doc["cells"][1:])
        assert "{=html}" not in body and "{=typst}" not in body and "<table" not in body
        raw = json.loads((folder / "quarto" / front["vu-raw"]).read_text(encoding="utf-8"))
        html = "".join(b["text"] for b in raw.values() if b["format"] == "html")
        assert not [s for s in CORPUS if "<" in s and s in html]


@needs_quarto
def test_quarto_pages_in_chromium(published_quarto, browser):
    _, folder = published_quarto
    for name in QUARTO_REPORTS:
        seen = _page_in_chromium(browser, folder / f"{name}.html")
        _assert_nothing_ran(f"quarto {name}", seen)
        assert seen["charts"] >= 1, name


def _element_attrs(page: str) -> list[tuple[str, str, str]]:
    """(tag, attribute, value) of every element of an HTML page, as a browser's parser sees them."""
    from html.parser import HTMLParser

    found: list[tuple[str, str, str]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend((tag, k, v or "") for k, v in attrs)

    Collect(convert_charrefs=True).feed(page)
    return found


@needs_quarto
def test_quarto_reads_markdown_without_raw_passthrough(tmp_path):
    """Unescaped raw markup in a notebook's Markdown (a cell and an output) stays text in Quarto's
    HTML and PDF: the reader has every raw passthrough off, not just the data escaped."""
    import nbformat

    from test_quarto import fx
    from vu_lib.publish import quarto

    md = ('Rå `<b id="rå">fet</b>`{=html} och `#panic("rå")`{=typst} och <i id="rå2">kursiv</i>\n\n'
          '```{=typst}\n#panic("block")\n```\n\n```{=html}\n<p id="rå3">block</p>\n```\n\n$x$ @ref')
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Rubrik"), nbformat.v4.new_markdown_cell(md),
                nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output(
                    "display_data", data={"text/markdown": md, "text/plain": ""})])]
    path = tmp_path / "r.ipynb"
    nbformat.write(nb, str(path))
    res = quarto.render_with_quarto([("r", path, fx.META)], tmp_path / "ut")["r"]
    assert res.error is None, res.error
    src = res.outputs["html"].read_text(encoding="utf-8")
    assert not [a for a in _element_attrs(src) if a[1] == "id" and a[2].startswith(("rå", "“rå"))]
    assert "<b id" not in src and "<i id" not in src and "<p id" not in src
    text = _visible_text(src)
    assert text.count('<b id="rå">fet</b>') == 2 and text.count('#panic("block")') == 2, text
    pdf = re.sub(r"\s", "", _pdf_text(res.outputs["pdf"]))
    assert pdf.count('#panic("rå")') == 2 and pdf.count('<pid="rå3">block</p>') == 2, pdf


def test_styles_to_head_and_the_policy():
    """The tables' style attributes leave the page, a chart's width becomes a rule of the head's
    <style>, and the policy hashes exactly the given scripts and styles (no 'unsafe-inline')."""
    from vu_lib.publish import render

    page = ('<html><head><style>body{}</style></head><body>'
            '<figure class="vu-chart" id="vu-diagram-1" style="--vu-w: 625.0px"></figure>'
            '<table class="vu-table" style="border-collapse:collapse;font-variant-numeric:tabular-nums">'
            '<caption style="text-align:left;font-weight:600">T</caption><tr><td class="vu-num" style="text-align:right">1'
            '</td><td class="vu-label" style="text-align:left">x&quot; style=&quot;color:red</td></tr></table>'
            '<p>&lt;span style=&quot;text-align:right&quot;&gt;</p></body></html>')
    out = render.styles_to_head(page)
    assert "style=\"" not in out.split("</head>")[1]
    assert render.head_styles(out) == ["body{}\n#vu-diagram-1{--vu-w:625.0px}\n"]
    assert "x&quot; style=&quot;color:red" in out and "&lt;span style=&quot;text-align:right&quot;&gt;" in out  # text stays
    csp = render.content_security_policy(["a()"], render.head_styles(out))
    assert f"script-src {_sha256('a()')};" in csp
    assert f"style-src {_sha256(render.head_styles(out)[0])};" in csp
    assert "unsafe" not in csp and "script-src 'none'; style-src 'none'" in render.content_security_policy()


def test_harden_html_allows_only_vus_own_scripts():
    """The CSP put into Quarto's page hashes vu's two scripts, not any other script in the page."""
    from vu_lib.publish import quarto

    vega, draw = quarto._own_scripts()
    page = ('<!DOCTYPE html><html><head>\n<meta charset="utf-8">\n<title>t</title>'
            f'<script>\n{vega}\n</script></head><body><script>alert(1)</script>'
            '<script type="application/json">{"a":1}</script>'
            f'<script>\n{draw}\n</script></body></html>')
    out = quarto.harden_html(page)
    head = out[:out.index("<title>")]
    assert '<meta http-equiv="Content-Security-Policy"' in head
    page_ = _Page()
    page_.feed(out)
    script_src = _csp(page_)["script-src"]
    assert set(re.findall(r"'sha256-[^']+'", script_src)) == {_sha256(f"\n{vega}\n"), _sha256(f"\n{draw}\n")}
    assert _sha256("alert(1)") not in script_src and "'unsafe-inline'" not in script_src
    assert quarto.harden_html("<html><head><meta charset=\"utf-8\"></head><body>x</body></html>").count(
        "script-src 'none'") == 1


# --------------------------------------------------------------------------- the escape functions themselves
@pytest.mark.parametrize("s", CORPUS + ["\t=1", "\r=1", "x\ny", "a\x00b\x1bc"])
def test_markdown_escape_renders_as_the_text_itself(s):
    """mistune (the HTML page) and pandoc (the PDF) both show the escaped text as it is."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    import pypandoc

    want = _norm(_escape.plain(s))
    md = "Före " + _escape.markdown(s) + " efter"
    page = _Page()
    page.feed(markdown2html_mistune(md))  # the permissive renderer of Markdown cells
    assert [t for t, _ in page.tags] == ["p"]
    assert _norm(" ".join(page.text)) == _norm("Före " + want + " efter")
    from vu_lib.render import PANDOC_MARKDOWN
    plain = pypandoc.convert_text(md, "plain", format=PANDOC_MARKDOWN, extra_args=["--wrap=none"])
    assert _norm(plain) == _norm("Före " + want + " efter")
    typ = pypandoc.convert_text(md, "typst", format=PANDOC_MARKDOWN)
    assert "#panic" not in typ.replace("\\#panic", "") and "#read" not in typ.replace("\\#read", "")


@pytest.mark.parametrize("s, as_text", [("=1+1", True), ("+1", True), ("-1", True), ("@A1", True),
                                        ("\t=1", True), ("\r=1", True), ("1-1", False), ("a=b", False),
                                        ("a\x01b", False)])
def test_xlsx_value(s, as_text):
    value, text = _escape.xlsx(s)
    assert text is as_text
    assert "\x01" not in value


def test_html_escape_and_typst_string():
    assert _escape.html('<a href="x">&\'</a>') == "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;&lt;/a&gt;"
    assert _escape.typst_string('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c d"'


# --------------------------------------------------------------------------- no private paths
def _published_texts(folder: Path):
    """(file, text) of everything published, PDFs as their text and metadata, workbooks as their XML."""
    import zipfile

    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        if f.suffix == ".pdf":
            pypdf = pytest.importorskip("pypdf")
            reader = pypdf.PdfReader(str(f))
            yield f, " ".join(p.extract_text() for p in reader.pages) + str(reader.metadata or {})
        elif f.suffix == ".xlsx":
            with zipfile.ZipFile(f) as z:
                yield f, " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        else:
            yield f, f.read_bytes().decode("utf-8", "replace")


def test_published_period_holds_no_absolute_path(published):
    """The store and the output lie outside the project (a temporary directory): none of their
    absolute paths, the project's own path or the home directory may appear in what is published."""
    store, folder = published
    root = folder.parent.parent  # the test's temporary directory, which holds store and reports
    private = [str(root), str(Path.home()) + "/", str(Path(__file__).resolve().parents[1])]
    found = []
    for f, text in _published_texts(folder):
        for p in private:
            if p in text:
                i = text.index(p)
                found.append(f"{f.relative_to(folder)}: …{text[max(0, i - 40):i + 60]}…")
    assert not found, "\n".join(found)
    log = (folder / "korlogg.json").read_text(encoding="utf-8")
    assert '"lager": "vu.duckdb"' in log
