"""vu_lib.render: the fixture report to HTML (offline page) and PDF (text read back with pypdf)."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import stat
import sys
import time
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from vu_lib.publish import render
from vu_lib.publish.render import Renderer, atomic_write, validate_meta

ROOT = Path(__file__).resolve().parent.parent


def _fixture_module():
    spec = importlib.util.spec_from_file_location("vu_render_fixture", Path(__file__).parent / "fixtures" / "render" / "fixture.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


fx = _fixture_module()
META = fx.META


def _norm(s: str) -> str:
    """Whitespace (incl. no-break space) collapsed to one plain space."""
    return re.sub(r"\s+", " ", s.replace("\u00a0", " ")).strip()


@pytest.fixture(scope="module")
def renderer():
    return Renderer()


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    return fx.executed_notebook(tmp_path_factory.mktemp("nb") / "rapport.ipynb")


@pytest.fixture(scope="module")
def html_path(renderer, executed, tmp_path_factory):
    return renderer.render_html(executed, tmp_path_factory.mktemp("html") / "rapport.html", META)


@pytest.fixture(scope="module")
def html(html_path):
    return html_path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pdf_path(renderer, executed, tmp_path_factory):
    return renderer.render_pdf(executed, tmp_path_factory.mktemp("pdf") / "rapport.pdf", META)


@pytest.fixture(scope="module")
def pdf_text(pdf_path):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(str(pdf_path))
    return [page.extract_text() for page in reader.pages]


# ----------------------------------------------------------------------------- meta
def test_validate_meta():
    assert validate_meta(META)["period"] == "2026-08"
    bad = dict(META)
    del bad["kodversion"], bad["datum"]
    with pytest.raises(ValueError, match="kodversion, datum"):
        validate_meta(bad)
    with pytest.raises(ValueError, match="okända"):
        validate_meta({**META, "författare": "x"})
    with pytest.raises(ValueError, match="tom"):
        validate_meta({**META, "vu": " "})
    assert validate_meta({**META, "undertitel": ""})["undertitel"] == ""
    assert validate_meta({**META, "utkast": 1})["utkast"] is True
    assert set(render.REQUIRED_META_KEYS) == {"titel", "undertitel", "vu", "period", "modellversion", "data_fingerprint", "kodversion", "datum"}


# ----------------------------------------------------------------------------- HTML
URL_ATTRS = {"src", "href", "xlink:href", "srcset", "poster", "data", "action", "formaction", "background", "manifest", "ping"}


def test_html_makes_no_network_reference(html):
    soup = BeautifulSoup(html, "html.parser")
    offending = []
    for tag in soup.find_all(True):
        for attr, value in tag.attrs.items():
            values = value if isinstance(value, list) else [value]
            if attr.lower() in URL_ATTRS and any(re.search(r"^\s*(https?:)?//", v, re.I) for v in values):
                offending.append(f"<{tag.name} {attr}={value!r}>")
            if attr.lower() == "style" and re.search(r"(url\(\s*['\"]?\s*(https?:)?//|@import)", str(value), re.I):
                offending.append(f"<{tag.name} style={value!r}>")
    for style in soup.find_all("style"):
        css = re.sub(r"/\*.*?\*/", "", style.get_text(), flags=re.S)
        offending += re.findall(r"@import[^;]*", css)
        offending += [u for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", css) if not u.startswith(("data:", "#"))]
    assert not offending, offending
    # no external script, stylesheet, font or frame at all
    assert not soup.find_all("script", src=True)
    assert not soup.find_all("link")
    assert not soup.find_all(["iframe", "object", "embed"])
    # nothing from nbconvert's lab/classic templates
    lowered = html.lower()
    for cdn in ("require.min.js", "requirejs", "mathjax", "unpkg.com", "cdn.jsdelivr", "cdnjs", "fonts.googleapis"):
        assert cdn not in lowered, cdn
    # and the page forbids every fetch
    csp = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert csp is not None and "default-src 'none'" in csp["content"]


def test_html_embeds_vega_once(html):
    bundle = render.vega_javascript()
    head, tail = bundle[:400], bundle[-400:]
    assert html.count(head) == 1 and html.count(tail) == 1
    soup = BeautifulSoup(html, "html.parser")
    bundles = [s for s in soup.find_all("script") if len(s.get_text()) > 100_000]
    assert len(bundles) == 1


def test_html_language_and_title_block(html):
    soup = BeautifulSoup(html, "html.parser")
    assert soup.html["lang"] == "sv"
    # the notebook has no "# " heading of its own: the report's name is the page's one h1
    assert [h.get_text() for h in soup.find_all("h1")] == ["Vårdbostad och korttidsplatser"]
    block = _norm(soup.find("header", class_="vu-titelblock").get_text(" "))
    for expected in ("Äldrenämnden", "Vårdbostad och korttidsplatser", "AN-VB", "augusti 2026", "4.0", "2026-09-14", "Modellversion"):
        assert expected in block, expected
    # the data and code fingerprints are in the report's colophon, not in the title block (issue 8)
    for absent in ("0123456789abcdef", "v0.1.0-12-gabc1234", "Kodversion"):
        assert absent not in block, absent
    assert soup.title.get_text() == "Vårdbostad och korttidsplatser – augusti 2026"
    assert "Månadsuppföljning, augusti 2026" in block  # the subtitle says what kind of report


def test_html_shows_formatted_numbers_and_hides_code(html):
    soup = BeautifulSoup(html, "html.parser")
    main = soup.find("main")
    for s in main.find_all(["script", "style"]):
        s.decompose()
    text = main.get_text(" ")
    for number in fx.EXPECTED_NUMBERS:
        assert number in text, number
    assert "Ersättning och resultat per VU, januari–augusti 2026" in text
    for hidden in ("import pandas", "Table(", "felsökning", "HEMLIG-CELL", "In [", "Out["):
        assert hidden not in text, hidden
    assert not soup.find_all(class_=re.compile("jp-InputArea|highlight"))
    table = main.find("table", class_="vu-table")
    assert table.find("caption") and table.find("th", scope="col") and table.find("th", scope="row")


def test_html_charts(html):
    soup = BeautifulSoup(html, "html.parser")
    figures = soup.find_all("figure", class_="vu-chart")
    assert len(figures) == 2
    ids = set()
    for fig in figures:
        view = fig.find(class_="vu-chart-view")
        assert view["role"] == "img" and view["aria-label"]
        svg = fig.find(class_="vu-chart-static").find("svg")
        assert svg is not None and svg["role"] == "img" and svg["aria-label"] == view["aria-label"]
        spec = json.loads(fig.find("script", class_="vu-chart-spec").get_text())
        assert spec["description"] == view["aria-label"]
        assert spec["config"]["locale"]["number"]["minus"] == "\u2212"
        for el in fig.find_all(id=True):
            assert el["id"] not in ids
            ids.add(el["id"])
    assert "Liggande stapeldiagram" in figures[1].find(class_="vu-chart-view")["aria-label"]


def test_html_without_charts_has_no_javascript(renderer, tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Bara text, **1\u00a0234 kr**.")])
    page = renderer.html_from_notebook(nb, META)
    assert "<script" not in page.split("</head>")[0]
    assert "vegaEmbed" not in page


def test_html_fonts_optional(executed, tmp_path):
    page = Renderer(embed_fonts=False).html_from_notebook(nbformat.read(executed, 4), META)
    assert "@font-face" not in page
    assert "Source Sans Pro" in page  # still named first in the font stack


# ----------------------------------------------------------------------------- PDF
def test_pdf_exists_and_is_a4(pdf_path):
    pypdf = pytest.importorskip("pypdf")
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(str(pdf_path))
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.28) < 1 and abs(float(box.height) - 841.89) < 1
    assert reader.metadata.title == "Vårdbostad och korttidsplatser – augusti 2026"
    assert str(reader.trailer["/Root"].get("/Lang", "")).startswith("sv")
    fonts = set()
    for page in reader.pages:
        for f in page["/Resources"]["/Font"].values():
            fonts.add(str(f.get_object()["/BaseFont"]))
    assert any("SourceSansPro" in f for f in fonts), fonts


def test_pdf_title_block_and_numbers(pdf_text):
    first = _norm(pdf_text[0])
    for expected in ("Månadsuppföljning", "Vårdbostad och korttidsplatser", "AN-VB", "augusti 2026", "4.0", "2026-09-14"):
        assert expected in first, expected
    assert "0123456789abcdef" not in first and "v0.1.0-12-gabc1234" not in first
    everything = _norm(" ".join(pdf_text))
    for number in fx.EXPECTED_NUMBERS:
        assert _norm(number) in everything, number
    assert "Tabell 1" in everything
    n = len(pdf_text)
    assert f"Sida 1 av {n}" in first
    for hidden in ("import pandas", "felsökning", "HEMLIG-CELL"):
        assert hidden not in everything


def test_pdf_charts_are_vector_text(pdf_text):
    everything = _norm(" ".join(pdf_text))
    assert "Utfall mot budget per månad" in everything  # chart title drawn by vl-convert, kept as text
    assert "Underskott" in everything and "Överskott" in everything
    assert _norm("\u22122\u00a0346\u00a0tkr") in everything


def test_markdown_intermediate(executed, tmp_path):
    md = render.notebook_to_markdown(nbformat.read(executed, 4), tmp_path)
    assert "Table: Ersättning och resultat per VU" in md
    assert md.count("#vu-diagram(image(") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig-1.svg", "fig-2.svg"]
    assert 'alt: "Stapeldiagram: utfall per månad' in md
    assert "HEMLIG-CELL" not in md and "felsökning" not in md


def test_typst_string_escaping():
    assert render._typst_str('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c d"'


def test_pdf_draft_and_standards(executed, tmp_path):
    r = Renderer(pdf_standards=["ua-1"])  # PDF/UA: one h1 (the title), alt text on every chart
    out = r.render_pdf(executed, tmp_path / "utkast.pdf", {**META, "utkast": True})
    pypdf = pytest.importorskip("pypdf")
    text = _norm(" ".join(p.extract_text() for p in pypdf.PdfReader(str(out)).pages))
    assert "UTKAST" in text


# ----------------------------------------------------------------------------- atomic writes
def test_atomic_write(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    atomic_write(target, "hej")
    assert target.read_text() == "hej"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    atomic_write(target, b"d\xc3\xa5")
    assert target.read_text(encoding="utf-8") == "då"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "rapport.html"
    target.write_text("GOD RAPPORT")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(target, "halv")
    assert target.read_text() == "GOD RAPPORT"
    assert [p.name for p in tmp_path.iterdir()] == ["rapport.html"]


def test_failed_render_keeps_the_old_report(renderer, executed, tmp_path):
    target = tmp_path / "rapport.pdf"
    target.write_bytes(b"GOD RAPPORT")
    with pytest.raises(ValueError):
        renderer.render_pdf(executed, target, {k: v for k, v in META.items() if k != "titel"})
    broken = tmp_path / "trasig.ipynb"
    shutil.copy(executed, broken)
    good_template = renderer._typ_template
    renderer._typ_template = "#this-function-does-not-exist()\n"  # a typst error while setting the report
    try:
        with pytest.raises(RuntimeError, match="typst"):
            renderer.render_pdf(broken, target, META)
    finally:
        renderer._typ_template = good_template
    assert target.read_bytes() == b"GOD RAPPORT"
    assert {p.name for p in tmp_path.iterdir()} == {"rapport.pdf", "trasig.ipynb"}  # no temporary file left


def test_raw_typst_in_markdown_is_text_not_code(renderer, executed, tmp_path):
    """pandoc reads no raw passthrough: a typst block in a Markdown cell is printed, not run."""
    nb = nbformat.read(executed, 4)
    nb.cells.append(nbformat.v4.new_markdown_cell("```{=typst}\n#this-function-does-not-exist()\n```\n\n"
                                                  "`#panic(\"x\")`{=typst} och <b>fet</b> @ref"))
    pdf = renderer.pdf_from_notebook(nb, META)
    pypdf = pytest.importorskip("pypdf")
    import io
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "#this-function-does-not-exist()" in text and "<b>fet</b>" in text and "@ref" in text


# ----------------------------------------------------------------------------- timings
def test_long_lived_renderer_is_fast(renderer, executed, tmp_path, html_path, pdf_path):
    t = time.perf_counter()
    renderer.render_html(executed, tmp_path / "b.html", META)
    t_html = time.perf_counter() - t
    t = time.perf_counter()
    renderer.render_pdf(executed, tmp_path / "b.pdf", META)
    t_pdf = time.perf_counter() - t
    print(f"\nrender_html {t_html:.3f} s, render_pdf {t_pdf:.3f} s (warm Renderer)")
    assert t_html < 5 and t_pdf < 10


# ----------------------------------------------------------------------------- end to end with a kernel
@pytest.mark.slow
def test_papermill_executed_fixture_renders(tmp_path, monkeypatch, renderer):
    papermill = pytest.importorskip("papermill")
    # the python3 kernelspec runs "python" from PATH: make it this interpreter
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    out_nb = tmp_path / "rapport.ipynb"
    papermill.execute_notebook(str(fx.NOTEBOOK), str(out_nb), parameters={"period": "2026-08", "vu": "AN-VB"}, kernel_name="python3", progress_bar=False, cwd=str(ROOT))
    html_out = renderer.render_html(out_nb, tmp_path / "rapport.html", META)
    pdf_out = renderer.render_pdf(out_nb, tmp_path / "rapport.pdf", META)
    text = BeautifulSoup(html_out.read_text(encoding="utf-8"), "html.parser").find("main").get_text(" ")
    for number in fx.EXPECTED_NUMBERS:
        assert number in text
    assert len(BeautifulSoup(html_out.read_text(encoding="utf-8"), "html.parser").find_all("figure", class_="vu-chart")) == 2
    pypdf = pytest.importorskip("pypdf")
    pdf = _norm(" ".join(p.extract_text() for p in pypdf.PdfReader(str(pdf_out)).pages))
    for number in fx.EXPECTED_NUMBERS:
        assert _norm(number) in pdf


def test_other_outputs_in_pdf_and_html(renderer, tmp_path):
    import base64

    import pandas as pd
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    import vl_convert as vlc

    png = base64.b64encode(vlc.svg_to_png('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#0072B2"/></svg>')).decode()
    frame = pd.DataFrame({"kolumn": ["värde 1"], "tal": [42]})
    nb = new_notebook(cells=[
        new_code_cell("df", outputs=[new_output("execute_result", data={"text/html": frame.to_html(), "text/plain": "x"}, execution_count=1)]),
        new_code_cell("bild", outputs=[new_output("display_data", data={"image/png": png}, metadata={"vu_alt": "En bild."})]),
        new_code_cell("1/0", outputs=[new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=["..."])]),
        new_code_cell("x", outputs=[new_output("execute_result", data={"text/plain": "'bara text'"}, execution_count=3)]),
    ])
    md = render.notebook_to_markdown(nb, tmp_path)
    assert "värde 1" in md and "42" in md
    assert (tmp_path / "fig-1.png").read_bytes().startswith(b"\x89PNG")
    assert 'alt: "En bild."' in md
    assert "Fel vid körning" in md and "ZeroDivisionError" in md
    assert "bara text" not in md
    pdf = renderer.pdf_from_notebook(nb, META)
    assert pdf.startswith(b"%PDF")
    page = renderer.html_from_notebook(nb, META)
    assert "värde 1" in page and 'alt="En bild."' in page and "ZeroDivisionError" in page
    assert "bara text" not in page


# ----------------------------------------------------------------------------- navigation and headings
NAV_META = {**META, "namn": "Vårdbostad och korttidsplatser (AN-VB)", "typ": "vu",
            "navigering": {"brodsmulor": [["Rapporter augusti 2026", "index.html"], ["Äldrenämnden", "AN.html"]],
                           "relaterade": [["Översikt Äldrenämnden", "AN.html"], ["Ersättningsmodellen", "modell.html"]]}}


def _nav_notebook():
    md = nbformat.v4.new_markdown_cell
    code = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "display_data", data={"text/markdown": "# Vårdbostad och korttidsplatser\n\nInledning.\n\n# Bilaga\n\nText."})])
    return nbformat.v4.new_notebook(cells=[code, md("## Resultat\n\nA.\n\n### Detalj\n\nB."), md("## Resultat\n\nC.")])


def test_notebook_title_lifted_and_later_h1_demoted():
    nb = _nav_notebook()
    assert render.lift_title(nb) == "Vårdbostad och korttidsplatser"
    text = nb.cells[0].outputs[0]["data"]["text/markdown"]
    assert "# Vårdbostad" not in text and "\n## Bilaga\n" in text


def test_html_navigation_toc_and_one_h1(renderer):
    soup = BeautifulSoup(renderer.html_from_notebook(_nav_notebook(), NAV_META), "html.parser")
    assert [h.get_text() for h in soup.find_all("h1")] == ["Vårdbostad och korttidsplatser"]
    assert soup.title.get_text() == "Vårdbostad och korttidsplatser (AN-VB) – augusti 2026"
    skip = soup.find("a")
    assert skip["href"] == "#innehall" and soup.find("main")["id"] == "innehall"
    crumbs = soup.find("nav", class_="vu-brodsmulor")
    assert [a["href"] for a in crumbs.find_all("a")] == ["index.html", "AN.html"]
    assert crumbs.find(attrs={"aria-current": "page"}).get_text() == "Vårdbostad och korttidsplatser"
    assert [a["href"] for a in soup.find("nav", class_="vu-relaterade").find_all("a")] == ["AN.html", "modell.html"]
    # table of contents: the h2 of the page in order, each with a unique id (the repeated heading numbered)
    toc = [a["href"] for a in soup.find("nav", class_="vu-innehall").find_all("a")]
    assert toc == ["#bilaga", "#resultat", "#resultat-2"]
    for href in toc:
        assert soup.find(id=href[1:]).name == "h2"
    assert soup.find("h3")["id"] == "detalj"


def test_html_table_is_a_labelled_focusable_region(html):
    soup = BeautifulSoup(html, "html.parser")
    box = soup.find("table", class_="vu-table").find_parent("div")
    assert box["role"] == "region" and box["tabindex"] == "0"
    assert box["aria-label"].startswith("Ersättning och resultat per VU, januari–augusti 2026")


def test_meta_navigation_and_kind_checked():
    assert validate_meta(NAV_META)["navigering"]["brodsmulor"][0] == ("Rapporter augusti 2026", "index.html")
    with pytest.raises(ValueError, match="navigering"):
        validate_meta({**META, "navigering": {"brodsmulor": [["bara text"]]}})
    with pytest.raises(ValueError, match="typ"):
        validate_meta({**META, "typ": "annat"})
    # the footer names each part once
    assert render._footer({**META, "titel": "Ersättningsmodellen", "vu": "Ersättningsmodellen", "period": "2026"}) == "Ersättningsmodellen · 2026"
