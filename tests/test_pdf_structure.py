"""The PDF reports as documents: title, tagging, PDF/UA-1, and page breaks around tables.

Uses the real output of ``vu run --period 2026-10`` and ``vu budget 2027`` on
the sample (fixture ``sample_reports``).

Structure (read with pypdf): the document title is ``"<report> – <period>"``
and the viewer shows it (``/ViewerPreferences /DisplayDocTitle true``), the
language is Swedish, the file is tagged (``/MarkInfo /Marked true`` and a
structure tree) and its XMP metadata identifies PDF/UA-1
(``pdfuaid:part`` = 1).

Page breaks (from the typst layout itself): the renderer's
:meth:`~vu_lib.publish.render.Renderer.pdf_layout` compiles a report with the
template's check markers and returns the page of every table caption and of
the start and end of every table cell. A caption must be on the page where
its table's first row is (never alone at the foot of a page), no cell starts
on one page and ends on the next (no row split), a table of at most 15 rows
is on one page, and a longer table repeats its header row on every page it
uses.
"""
from __future__ import annotations

import re
from collections import defaultdict

import nbformat
import pytest

pypdf = pytest.importorskip("pypdf")

pytestmark = pytest.mark.slow

#: (pdf under the output directory, the name its title must start with, the period text)
PDFS = [
    ("2026-10/AN-VB.pdf", "Vårdbostad och korttidsplatser (AN-VB)", "oktober 2026"),
    ("2026-10/SON-BO-VUX.pdf", "Bostad (SoL, LSS) vuxna (SON-BO-VUX)", "oktober 2026"),
    ("2026-10/AN.pdf", "Översikt Äldrenämnden", "oktober 2026"),
    ("2026-10/Leanlink.pdf", "Översikt Leanlink, alla verksamhetsuppdrag", "oktober 2026"),
    ("2026-10/modell.pdf", "Ersättningsmodellen", "2026"),
    ("budget-2027/budget.pdf", "Budgetförslag", "2027"),
]


@pytest.mark.parametrize("pdf,name,period", PDFS, ids=[p for p, _, _ in PDFS])
def test_pdf_title_tagging_and_pdf_ua(sample_reports, pdf, name, period):
    reader = pypdf.PdfReader(str(sample_reports / pdf))
    assert reader.metadata.title == f"{name} – {period}"
    root = reader.trailer["/Root"]
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"]) is True
    assert str(root["/Lang"]).startswith("sv")
    assert bool(root["/MarkInfo"]["/Marked"]) is True
    assert "/StructTreeRoot" in root
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r"pdfuaid:part(?:>|=\")1", xmp), "PDF/UA-1 saknas i XMP"
    assert name in xmp  # dc:title


def _layout_of(sample_reports, pdf: str) -> list[dict]:
    from vu_lib.publish.render import Renderer

    stem = pdf.split("/")[1][:-4]
    nb = nbformat.read(str(sample_reports / pdf.split("/")[0] / "notebooks" / f"{stem}.ipynb"), 4)
    meta = {"titel": "Rapport", "undertitel": stem, "vu": stem, "period": "2026-10", "modellversion": "4.1",
            "data_fingerprint": "–", "kodversion": "–", "datum": "2026-11-30"}
    return Renderer().pdf_layout(nb, meta)


@pytest.mark.parametrize("pdf", [p for p, _, _ in PDFS])
def test_tables_keep_together_and_rows_never_split(sample_reports, pdf):
    marks = _layout_of(sample_reports, pdf)
    captions = {m["fig"]: m for m in marks if m["kind"] == "caption"}
    assert captions, "inga tabeller hittades"
    pages: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))  # fig -> row -> pages
    open_cells: list[dict] = []
    for m in marks:
        if m["kind"] == "cell-start":
            open_cells.append(m)
            pages[m["fig"]][m["y"]].add(m["page"])
        elif m["kind"] == "cell-end":
            start = open_cells.pop(0)  # cells are laid out one after the other
            assert (start["fig"], start["y"]) == (m["fig"], m["y"])
            assert start["page"] == m["page"], f"{pdf}: rad {m['y']} i tabell {m['fig']} delas mellan sida {start['page']} och {m['page']}"
    for fig, cap in captions.items():
        rows = pages[fig]
        body_pages = sorted(set().union(*(p for y, p in rows.items() if y > 0)))
        assert body_pages, f"{pdf}: tabell {fig} utan rader"
        assert cap["page"] == body_pages[0], f"{pdf}: rubriken till tabell {fig} står ensam på sida {cap['page']}"
        if cap["rows"] <= 15:
            assert len(body_pages) == 1, f"{pdf}: tabell {fig} med {cap['rows']} rader delas över sidorna {body_pages}"
        else:
            assert set(body_pages) <= rows[0], f"{pdf}: tabell {fig} upprepar inte rubrikraden på sidorna {body_pages}"
