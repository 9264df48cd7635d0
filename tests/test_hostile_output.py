"""Data is never code: a corpus of hostile strings through every free-text column into every output.

The strings go into the sample's exports (``medel``: id, beskrivning,
aterrapporteringskrav; ``huvudbok``: verifikation and text, with amount 0 so no
figure changes), are ingested with ``vu ingest`` and reported with ``vu run``.
Each must then be *shown*, character for character, in the HTML page, the PDF
and the workbook, and must never act: no element, attribute, script or link
from data in the HTML (and a CSP that would stop one anyway), no typst code in
the PDF (the report is made at all), no formula in the workbook.
"""
from __future__ import annotations

import csv
import hashlib
import base64
import html as htmllib
import io
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import openpyxl
import pytest

from vu_lib.report import escape as _escape

VU = Path(sys.executable).parent / "vu"

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
]
VU_ID = "AN-VB"
PERIOD = "2026-10"


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("\u00a0", " ").replace("\u202f", " ")).strip()


def _write_csv(path: Path, rows: list[list[str]], encoding: str) -> None:
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))  # 'utf-8-sig' writes the BOM


def _read_csv(path: Path, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline=""), delimiter=";"))


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The sample plus the corpus, ingested and reported for one VU: (store, report folder)."""
    root = tmp_path_factory.mktemp("fientlig")
    ex = root / "ex"
    subprocess.run([str(VU), "sample", "--out", str(ex)], check=True, capture_output=True)
    medel = _read_csv(ex / "medel.csv", "utf-8-sig")
    for s in CORPUS:
        # paid in March 2026, deadline passed at the end of October: the id is named in the narrative too
        medel.append([s, "2026-03", VU_ID, "statsbidrag", "1000,00", s, s, "2026-06-30"])
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
    out = root / "rapporter"
    run = subprocess.run([str(VU), "run", "--vu", VU_ID, "--period", PERIOD, "--store", str(store),
                          "--out", str(out), "--to", "html,pdf", "--jobs", "1"], capture_output=True, text=True,
                         cwd=root)
    assert run.returncode == 0, run.stdout + run.stderr
    return store, out / PERIOD


def test_free_text_is_stored_exactly(published):
    store, _ = published
    con = duckdb.connect(str(store), read_only=True)
    try:
        medel = con.execute("SELECT id, beskrivning, aterrapporteringskrav FROM medel WHERE period = '2026-03' "
                            "AND vu = ?", [VU_ID]).fetchall()
        hb = con.execute("SELECT verifikation, text FROM huvudbok WHERE belopp = 0").fetchall()
    finally:
        con.close()
    assert {r[0] for r in medel} >= set(CORPUS)
    assert all(r[0] == r[1] == r[2] for r in medel if r[0] in CORPUS)
    assert {r[0] for r in hb} == set(CORPUS) and all(v == t for v, t in hb)


class _Page(HTMLParser):
    """Every element and attribute of a page, its scripts and its visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.text: list[str] = []
        self._in_script: dict | None = None
        self._script_text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "script":
            self._in_script, self._script_text = a, []
        elif tag in ("style", "svg"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script, "".join(self._script_text)))
            self._in_script = None
        elif tag in ("style", "svg"):
            self._skip -= 1

    def handle_data(self, data):
        if self._in_script is not None:
            self._script_text.append(data)
        elif not self._skip:
            self.text.append(data)


def test_html_shows_every_string_and_runs_none(published):
    _, folder = published
    page_src = (folder / f"{VU_ID}.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(page_src)
    text = _norm(" ".join(page.text))
    for s in CORPUS:
        assert _norm(s) in text, s
    # no element or attribute came from data
    for s in CORPUS:
        if "<" in s:
            assert s not in page_src, s  # never as markup, only escaped
    assert not [a for t, a in page.tags if t == "h1" and "falsk" in str(a)]
    assert not [a for t, a in page.tags for k in a if k.startswith("on")]
    assert not [a for t, a in page.tags if t == "img" and not (a.get("src") or "").startswith("data:")]
    assert not [a for t, a in page.tags if t == "a" and (a.get("href") or "").lower().startswith("javascript")]
    assert not [t for t, _ in page.tags if t in ("style",)][1:], "only the page's own <style>"
    # only the page's own scripts, each allowed by its hash; the CSP allows nothing else
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    runnable = [body for a, body in page.scripts if a.get("type") in (None, "", "text/javascript")]
    assert len(runnable) == 2  # vega bundle and the chart drawing
    for body in runnable:
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        assert f"'sha256-{digest}'" in script_src
    assert script_src.count("'sha256-") == 2
    for a, body in page.scripts:
        if a.get("type") == "application/json":
            assert "</" not in body


def _pdf_text(path: Path) -> str:
    pypdf = pytest.importorskip("pypdf")
    return " ".join(p.extract_text() for p in pypdf.PdfReader(str(path)).pages)


def test_pdf_shows_every_string(published):
    _, folder = published
    text = _pdf_text(folder / f"{VU_ID}.pdf")
    # table cells wrap (and typst may hyphenate at a wrap), so compare without whitespace and soft hyphens
    flat = re.sub(r"[\s\u00ad]", "", text)
    flat_nohyphen = flat.replace("-", "").replace("\u2010", "")
    for s in CORPUS:
        want = re.sub(r"\s", "", s)
        assert want in flat or want.replace("-", "") in flat_nohyphen, s


def test_xlsx_holds_every_string_as_text(published):
    _, folder = published
    wb = openpyxl.load_workbook(folder / f"{VU_ID}.xlsx")
    values: dict[str, list] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", f"formel i {ws.title}!{c.coordinate}: {c.value!r}"
                if isinstance(c.value, str):
                    values.setdefault(c.value, []).append(c)
    for s in CORPUS:
        assert s in values, s
        if s.startswith(("=", "+", "-", "@")):
            assert all(c.quotePrefix for c in values[s]), s


def test_korlogg_and_index_escape_too(published):
    _, folder = published
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "<script>alert" not in index and "onerror=" not in index


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
