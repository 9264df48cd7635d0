"""The Quarto path (vu_lib.publish.quarto): the Quarto sources, and small renders through the real Quarto.

The tests marked ``needs_quarto`` run the real ``quarto`` command (≥ 1.5) and
are skipped, with the reason, where none is on PATH; CI installs the offline
developer build from ``../shared/tools/quarto`` (see ``.ci/run``) and sets
``VU_REQUIRE_QUARTO=1``, which turns that skip into a failure.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

from vu_lib.publish import quarto
from vu_lib.publish.batch import _resolve_renderer

ROOT = Path(__file__).resolve().parents[1]
QUARTO = quarto.find_quarto()
_version = quarto.quarto_version(QUARTO) if QUARTO else None
_SKIP = None
if QUARTO is None:
    _SKIP = "Quarto finns inte på PATH (installera Quarto ≥ 1.5, eller ../shared/tools/quarto/install.sh); Quarto-testerna hoppas över"
elif _version is None or _version[:2] < quarto.QUARTO_MIN_VERSION:
    _SKIP = f"Quarto {_version} på PATH är äldre än 1.5; Quarto-testerna hoppas över"
if _SKIP and os.environ.get("VU_REQUIRE_QUARTO") == "1":
    raise RuntimeError(f"VU_REQUIRE_QUARTO=1 men: {_SKIP}")
needs_quarto = pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")


def _fixture_module():
    spec = importlib.util.spec_from_file_location("vu_render_fixture_q", ROOT / "tests" / "fixtures" / "render" / "fixture.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


fx = _fixture_module()


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> nbformat.NotebookNode:
    """The render fixture notebook (a Table, two charts, Markdown, a print, a remove-cell), executed in process."""
    path = fx.executed_notebook(tmp_path_factory.mktemp("q-nb") / "rapport.ipynb")
    return nbformat.read(str(path), as_version=4)


def _source_text(path: Path) -> tuple[dict, str]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    cells = doc["cells"]
    assert cells[0]["cell_type"] == "raw"
    front = yaml.safe_load("".join(cells[0]["source"]).strip().strip("-"))
    body = "\n\n".join("".join(c["source"]) for c in cells[1:])
    # vu's own markup (title block, charts, tables) is in the raw-block file beside the source,
    # each block a token paragraph in the Markdown (put back by vu-raw.lua): show it in place
    raw = json.loads((path.parent / front["vu-raw"]).read_text(encoding="utf-8"))
    assert raw and all(b["format"] in ("html", "typst") for b in raw.values())
    return front, re.sub(r"VURAW[0-9a-f]{16}N\d+", lambda m: raw[m.group(0)]["text"], body)


# ----------------------------------------------------------------------------- the source
def test_source_front_matter(executed, tmp_path):
    src = quarto.prepare_source(executed, fx.META, tmp_path, "AN-VB")
    front, _ = _source_text(src)
    assert front["lang"] == "sv"
    assert front["execute"] == {"enabled": False, "echo": False, "warning": False, "error": False}
    html, typst = front["format"]["html"], front["format"]["typst"]
    assert html["embed-resources"] is True and html["html-math-method"] == "plain"
    assert html["css"] == ["vu-quarto.css"] and html["include-in-header"] == ["vu-vega.html"]
    assert typst["papersize"] == "a4" and typst["font-paths"] == ["fonts"]
    assert typst["template-partials"] == ["typst-show.typ"]
    # the vu tables are raw HTML / typst: Quarto must not turn the HTML table into a second table
    assert front["html-table-processing"] == "none"
    # the PDF's title block and running footer come from vu.typ with this metadata
    meta = json.loads((tmp_path / front["vu-meta"]).read_text(encoding="utf-8"))
    # the same fields as the built-in title block (VU, period, model version, date; the data
    # fingerprint is in the report's colophon since the house layout moved it there)
    from vu_lib.publish.render import _fields, validate_meta

    assert meta["falt"] == [list(f) for f in _fields(validate_meta(fx.META))]
    values = [f[1] for f in meta["falt"]]
    assert values[:3] == ["AN-VB", "augusti 2026", "4.0"]
    # "Månadsuppföljning · AN-VB · augusti 2026": title, VU and period in the footer of every page
    assert meta["sidfot"] == "Månadsuppföljning · AN-VB · augusti 2026"
    assert "{page}" in meta["sida"] and "{pages}" in meta["sida"]


def test_source_has_no_code_and_no_parameters(executed, tmp_path):
    executed = nbformat.from_dict(json.loads(json.dumps(executed)))
    executed.cells.insert(0, nbformat.v4.new_code_cell('store = "/hemlig/sokvag/vu.duckdb"', metadata={"tags": ["parameters"]}))
    src = quarto.prepare_source(executed, fx.META, tmp_path, "r")
    doc = json.loads(src.read_text(encoding="utf-8"))
    assert [c["cell_type"] for c in doc["cells"][1:]] == ["markdown"] * (len(doc["cells"]) - 1)
    text = src.read_text(encoding="utf-8")
    assert "/hemlig/sokvag" not in text
    assert "import " not in text  # no code of the notebook


def test_source_charts_and_tables(executed, tmp_path):
    src = quarto.prepare_source(executed, fx.META, tmp_path, "AN-VB")
    _, body = _source_text(src)
    # two charts: an offline vega-embed figure (spec + static SVG) for HTML, the SVG file for typst
    figs = re.findall(r'<figure class="vu-chart" id="(vu-diagram-\d+)"', body)
    assert figs == ["vu-diagram-1", "vu-diagram-2"]
    assert body.count('<script type="application/json" class="vu-chart-spec">') == 2
    assert body.count("#vu-diagram(image(\"AN-VB-fig-") == 2
    assert sorted(p.name for p in tmp_path.glob("AN-VB-fig-*.svg")) == ["AN-VB-fig-1.svg", "AN-VB-fig-2.svg"]
    # the table: the vu HTML table for HTML, pandoc's typst table with automatic widths for the PDF
    assert '<table class="vu-table"' in body
    tables = re.findall(r"#table\(\s*columns: ([^\n]*)", body)
    assert tables, body
    # "columns: (25%, 40%, ...)" would be fixed relative widths (amounts then overflow, "0 tkr160 231 tkr")
    assert all("%" not in c and "fr" not in c for c in tables), tables
    # the print() output and the remove-cell cell are not part of the report
    assert "print" not in body and "remove" not in body.lower()
    # title block and footer in HTML
    assert '<header class="vu-titelblock">' in body
    assert '<footer class="vu-sidfot">' in body


def test_title_block_as_the_built_in_pages(executed, tmp_path):
    """The Quarto page's title block and <title> say what the built-in page's say: the report's name as the
    one h1, the report type and period under it (they were the other way round)."""
    from bs4 import BeautifulSoup

    from vu_lib.publish.render import Renderer

    front, body = _source_text(quarto.prepare_source(executed, fx.META, tmp_path, "AN-VB"))
    soup = BeautifulSoup(body, "html.parser")
    built_in = BeautifulSoup(Renderer().html_from_notebook(executed, fx.META), "html.parser")
    for page in (soup, built_in):
        assert [h.get_text() for h in page.find_all("h1")] == ["Vårdbostad och korttidsplatser"]
        assert page.find(class_="vu-undertitel").get_text() == "Månadsuppföljning, augusti 2026"
    assert front["pagetitle"] == built_in.title.get_text() == "Vårdbostad och korttidsplatser – augusti 2026"
    pdf_meta = json.loads((tmp_path / "AN-VB.vu.json").read_text(encoding="utf-8"))
    assert (pdf_meta["rubrik"], pdf_meta["undertitel"]) == ("Vårdbostad och korttidsplatser",
                                                             "Månadsuppföljning, augusti 2026")


def test_source_formats(executed, tmp_path):
    front, body = _source_text(quarto.prepare_source(executed, fx.META, tmp_path / "h", "x", ["html"]))
    assert list(front["format"]) == ["html"] and "{=typst}" not in body
    front, _ = _source_text(quarto.prepare_source(executed, fx.META, tmp_path / "p", "x", ["pdf"]))
    assert list(front["format"]) == ["typst"]


def test_support_files(tmp_path):
    quarto.write_support_files(tmp_path)
    assert sorted(p.name for p in (tmp_path / "fonts").glob("*.ttf")) == [
        "SourceSansPro-Bold.ttf", "SourceSansPro-It.ttf", "SourceSansPro-Regular.ttf", "SourceSansPro-Semibold.ttf"]
    css = (tmp_path / "vu-quarto.css").read_text(encoding="utf-8")
    assert 'url("fonts/SourceSansPro-Regular.ttf")' in css  # embed-resources turns these into data URLs
    assert "vegaEmbed" in (tmp_path / "vu-vega.html").read_text(encoding="utf-8")
    draw = (tmp_path / "vu-charts.html").read_text(encoding="utf-8")
    assert "__VU_" not in draw
    assert '"minus":"\u2212"' in draw  # the Swedish number locale (true minus sign) for vega-embed
    assert '#show: vu-rapport.with(meta: json("$vu-meta$"))' in (tmp_path / "typst-show.typ").read_text(encoding="utf-8")


def test_scratch_sources_carry_a_placeholder_for_the_vega_bundle(tmp_path):
    """A batch's scratch sources include a placeholder, not the 1 MB bundle; inline_resources puts the bundle
    back, byte for byte as the kept sources and the CSP's hash have it."""
    quarto.write_support_files(tmp_path / "kept")
    quarto.write_support_files(tmp_path / "scratch", vega_bundle=False)
    kept = (tmp_path / "kept" / "vu-vega.html").read_text(encoding="utf-8")
    scratch = (tmp_path / "scratch" / "vu-vega.html").read_text(encoding="utf-8")
    assert "vegaEmbed" not in scratch and len(scratch) < 100 and len(kept) > 500_000
    page = f"<html><head>{scratch}</head><body><p>x</p></body></html>"
    assert quarto.inline_resources(page, tmp_path) == f"<html><head>{kept}</head><body><p>x</p></body></html>"
    own = quarto._own_scripts()[0]
    assert own in quarto.inline_resources(page, tmp_path)


def test_quarto_error_message():
    lines = ["[1/2] r000/a.ipynb", "WARN: typst-gather analyze failed; staging", "[2/2] r000/b.ipynb",
             "ERROR: error: unknown variable: nonexistent", "   ┌─ b.typ:12:2", "", "Stack trace:"]
    msg = quarto._quarto_error(lines, 1)
    assert msg.startswith("ERROR: error: unknown variable: nonexistent") and "b.typ:12:2" in msg
    assert quarto._quarto_error(["något gick snett"], 3) == "quarto avslutades med kod 3:\nnågot gick snett"


def test_auto_means_builtin():
    # README, "Built-in renderer and Quarto": auto is the built-in renderer on every machine
    assert _resolve_renderer("auto") == "builtin"
    assert _resolve_renderer("builtin") == "builtin"
    assert _resolve_renderer("quarto") == "quarto"


def test_check_quarto_without_quarto(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("QUARTO", raising=False)
    assert quarto.find_quarto() is None
    with pytest.raises(quarto.QuartoError, match="Quarto finns inte på PATH"):
        quarto.check_quarto()


def test_website_config(tmp_path):
    (tmp_path / "quarto").mkdir()
    for n in ("AN-VB", "SON", "modell"):
        (tmp_path / "quarto" / f"{n}.ipynb").write_text("{}", encoding="utf-8")
    index = ('<!DOCTYPE html><html><head><style>body{margin:0}\ntable{width:100%}</style></head><body><h1>Rapporter</h1>'
             '<table><tr><td><a href="AN-VB.html">HTML</a><a href="AN-VB.pdf">PDF</a><a href="AN-VB.xlsx">Excel</a>'
             '<a href="notebooks/AN-VB.ipynb">Notebook</a></td></tr></table></body></html>')
    jobs = [{"name": "AN-VB", "title": "Vårdbostad", "namnd": "AN"}, {"name": "SON", "title": "Översikt SON", "namnd": "SON"},
            {"name": "modell", "title": "Modellen", "namnd": None}, {"name": "saknas", "title": "x", "namnd": "AN"}]
    cfg_path = quarto.write_website(tmp_path, jobs, index, title="Rapporter oktober 2026",
                                    namnder={"AN": "Äldrenämnden", "SON": "Social- och omsorgsnämnden"})
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    assert cfg["project"]["type"] == "website" and cfg["project"]["output-dir"] == "_site"
    contents = cfg["website"]["sidebar"]["contents"]
    assert contents[0] == "index.qmd"
    assert [s["section"] for s in contents[1:]] == ["Äldrenämnden", "Social- och omsorgsnämnden", "Övrigt"]
    assert contents[1]["contents"] == [{"href": "quarto/AN-VB.ipynb", "text": "AN-VB Vårdbostad"}]  # "saknas" has no source
    qmd = (tmp_path / "index.qmd").read_text(encoding="utf-8")
    assert 'href="quarto/AN-VB.html"' in qmd and 'href="quarto/AN-VB.pdf"' in qmd
    assert 'href="AN-VB.xlsx"' in qmd and 'href="notebooks/AN-VB.ipynb"' in qmd  # resources, copied as they are
    assert "<h1>" not in qmd and "body{" not in qmd and "table{width:100%}" in qmd


def test_repository_quarto_project_file():
    cfg = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert cfg["project"] == {"type": "default", "render": ["reports/*/quarto/*.ipynb"]}
    assert cfg["execute"]["enabled"] is False and cfg["lang"] == "sv"
    assert "section-numbering" not in json.dumps(cfg)  # null there failed Quarto's schema
    assert yaml.safe_load(quarto.STANDALONE_FORMAT)["format"] == cfg["format"]
    # Quarto appends these to the .gitignore of a project it renders unless they are there
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/.quarto/" in gitignore and "**/*.quarto_ipynb" in gitignore


# ----------------------------------------------------------------------------- the real Quarto
@needs_quarto
def test_repository_project_validates():
    """``quarto inspect`` reads and validates the repository's _quarto.yml (Quarto's schema)."""
    res = subprocess.run([QUARTO, "inspect"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    info = json.loads(res.stdout)
    assert info["config"]["project"]["type"] == "default"


@needs_quarto
def test_pipeline_isolates_a_failing_report(executed, tmp_path):
    """Three reports in one Quarto process; the middle one has an image typst cannot read.

    The other two are rendered, the bad one carries Quarto's own message, and
    the scratch project (with Quarto's .quarto/) is gone afterwards. (No text can
    make typst fail any more: raw typst in a Markdown cell is printed as text, see
    test_hostile_output.py; a damaged image still can.)
    """
    import base64

    bad = nbformat.from_dict(json.loads(json.dumps(executed)))
    bad.cells.append(nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": base64.b64encode(b"finns-inte-bild").decode()})]))
    pipe = quarto.QuartoPipeline(tmp_path / "ut", ["html", "pdf"], exe=QUARTO, processes=2)
    try:
        # Two Quarto processes at a time: how the three are grouped depends on timing
        # (the first may start alone); either way each report must end with its own outcome.
        pipe.submit("a", executed, fx.META)
        pipe.submit("b", bad, fx.META)
        pipe.submit("c", executed, fx.META)
        results = pipe.close()
        assert results["a"].error is None and sorted(results["a"].outputs) == ["html", "pdf"]
        assert results["c"].error is None and sorted(results["c"].outputs) == ["html", "pdf"]
        assert results["b"].error and "failed to decode image" in results["b"].error, results["b"].error
        for name in ("a", "c"):
            assert results[name].seconds["quarto"] > 0
            assert results[name].outputs["pdf"].read_bytes()[:5] == b"%PDF-"
    finally:
        pipe.cleanup()
    assert 1 <= pipe.processes <= 3
    assert not pipe.scratch.exists()
    assert not list((tmp_path / "ut").rglob(".quarto"))
    # the sources are kept for the website and `quarto render`
    assert sorted(p.name for p in (tmp_path / "ut" / "quarto").glob("*.ipynb")) == ["a.ipynb", "b.ipynb", "c.ipynb"]


@needs_quarto
def test_render_with_quarto_html_offline_and_pdf(executed, tmp_path):
    nb_path = tmp_path / "AN-VB.ipynb"
    nbformat.write(executed, str(nb_path))
    res = quarto.render_with_quarto([("AN-VB", nb_path, fx.META)], tmp_path / "ut")["AN-VB"]
    assert res.error is None
    html = (tmp_path / "ut" / "AN-VB.html").read_text(encoding="utf-8")
    assert re.search(r'<html[^>]*\blang="sv"', html)
    # nothing loaded from elsewhere: no src/href to http(s), no CDN jQuery or require.js
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)
    assert "require.min.js" not in html and "jquery" not in html.lower()
    # Source Sans Pro: the four font files as data URLs in the page's CSS
    assert html.count("src: url(data:font/ttf;base64,") == 4 and 'font-family: "Source Sans Pro"' in html
    assert html.count('class="vu-chart') >= 2 and "vegaEmbed" in html
    for number in fx.EXPECTED_NUMBERS:
        assert number in html, number
    pdf = (tmp_path / "ut" / "AN-VB.pdf").read_bytes()
    assert pdf[:5] == b"%PDF-"
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(str(tmp_path / "ut" / "AN-VB.pdf"))
    first = reader.pages[0]
    # A4 = 595.28 × 841.89 pt
    assert abs(float(first.mediabox.width) - 595.28) < 1 and abs(float(first.mediabox.height) - 841.89) < 1
    fonts = {str(f.get("/BaseFont")) for p in reader.pages for f in (p.get("/Resources", {}).get("/Font", {}) or {}).values()
             for f in [f.get_object()]}
    assert any("SourceSansPro" in f for f in fonts), fonts
    text = " ".join(p.extract_text() for p in reader.pages)
    n = len(reader.pages)
    assert f"Sida 1 av {n}" in text and "Månadsuppföljning · AN-VB · augusti 2026" in text
    assert "augusti 2026" in text and "4.0" in text  # period and model version in the title block


def test_source_converts_all_tables_in_one_pandoc_run(executed, tmp_path, monkeypatch):
    """The typst of every table of a report comes from one pandoc run (one per cell cost minutes per batch)."""
    import subprocess

    calls = []
    real = subprocess.run

    def counting(argv, *args, **kwargs):
        if "pandoc" in Path(str(argv[0])).name:
            calls.append(next(a[len("--to="):] for a in argv if str(a).startswith("--to=")))
        return real(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting)
    two = nbformat.from_dict(json.loads(json.dumps(executed)))
    two.cells += [c for c in json.loads(json.dumps(executed))["cells"] if c["cell_type"] == "code"]  # tables twice
    _, body = _source_text(quarto.prepare_source(nbformat.from_dict(two), fx.META, tmp_path, "r"))
    assert calls == ["typst"]
    assert body.count("#table(") >= 2


def test_inline_resources_makes_the_page_self_contained(tmp_path):
    """Quarto's page without embed-resources: the stylesheet and its fonts go into the page;
    anything else that would load from outside is refused; &nbsp; becomes the character outside scripts."""
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "F.ttf").write_bytes(b"\x00\x01font")
    (tmp_path / "vu.css").write_text('@font-face{src:url("fonts/F.ttf") format("truetype")}\n'
                                     'a{background:url(#x)}', encoding="utf-8")
    page = ('<html><head><link rel="stylesheet" href="vu.css"></head><body><p>1&nbsp;234&nbsp;kr</p>'
            '<script>var s = "<img src=\\"x.png\\">&nbsp;";</script></body></html>')
    out = quarto.inline_resources(page, tmp_path)
    assert "<link" not in out
    assert 'src:url(data:font/ttf;base64,AAFmb250) format("truetype")' in out  # b64 of b"\x00\x01font"
    assert "url(#x)" in out  # a fragment reference stays
    assert "<p>1\u00a0234\u00a0kr</p>" in out and '&nbsp;";</script>' in out  # the script is left as it was
    for bad in ('<script src="https://cdn.example/x.js"></script>', '<img src="bild.png">',
                '<link rel="stylesheet" href="https://cdn.example/x.css">', '<iframe src="x.html"></iframe>'):
        with pytest.raises(quarto.QuartoError):
            quarto.inline_resources(page.replace("</body>", bad + "</body>"), tmp_path)
    (tmp_path / "vu.css").write_text('@font-face{src:url("fonts/saknas.ttf")}', encoding="utf-8")
    with pytest.raises(quarto.QuartoError, match="saknas.ttf"):
        quarto.inline_resources(page, tmp_path)
