"""The Swedish text of the rendered reports: no sentence twice in one report, names as the registry spells them.

Reads the HTML reports of ``vu run --period 2026-10`` and ``vu budget 2027``
on the sample (fixture ``sample_reports``): the prose of each page's main
content (paragraphs, list items, table notes; not tables, chart values or
headings) split into sentences. A sentence that occurs twice in one report
says nothing new the second time.
"""
from __future__ import annotations

import html as htmllib
import re
from collections import Counter

import pytest

from vu_lib.core.params import load_params

pytestmark = pytest.mark.slow

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ0-9\u2212(])")


def prose(page: str) -> list[str]:
    """The sentences of the main content's paragraphs and list items."""
    main = page.split('<main id="innehall"', 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style|table|figure|details|svg)\b.*?</\1>", " ", main, flags=re.S)
    blocks = re.findall(r"<(p|li)\b[^>]*>(.*?)</\1>", main, flags=re.S)
    out = []
    for _, inner in blocks:
        text = htmllib.unescape(re.sub(r"<[^>]+>", "", inner))
        text = re.sub(r"\s+", " ", text).strip()
        out += [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) > 20]
    return out


def test_sentence_splitter_by_hand():
    page = ('<main id="innehall"><p>Resultatet är −4,9 mnkr hittills. Prognosen är osäker i år. Kort.</p>'
            '<ul><li>Prognosen är osäker i år.</li></ul>'
            '<table><tr><td>Prognosen är osäker i år.</td></tr></table></main>')
    # two sentences of the paragraph (the short one is not counted), the list item; not the table cell
    assert prose(page) == ["Resultatet är −4,9 mnkr hittills.", "Prognosen är osäker i år.", "Prognosen är osäker i år."]


def test_no_report_repeats_a_sentence(sample_reports):
    pages = sorted(sample_reports.glob("*/*.html"))
    assert len(pages) >= 14
    repeated = {}
    for page in pages:
        if page.name == "index.html":
            continue
        counts = Counter(prose(page.read_text(encoding="utf-8")))
        twice = [s for s, n in counts.items() if n > 1]
        if twice:
            repeated[page.name] = twice
    assert not repeated, "\n".join(f"{name}: {s}" for name, ss in repeated.items() for s in ss)


def test_registry_names_keep_their_spelling(sample_reports):
    """A VU, cluster or key-figure name with capitals inside (LSS, BoDa, EKB) is never written in lower case."""
    params = load_params()
    names = {v.namn for v in params.registry.verksamhetsuppdrag} | {v.namn for v in params.registry.separata}
    for v in params.registry.verksamhetsuppdrag:
        names |= {k.namn for k in v.kluster}
    names |= {n.namn for n in params.katalog.nyckeltal}
    words = {w for n in names for w in re.findall(r"\b\w*[A-ZÅÄÖ]\w*[A-ZÅÄÖ]\w*\b", n)}  # LSS, BoDa, SoL, EKB
    assert {"LSS", "SoL"} <= words
    for page in sorted(sample_reports.glob("*/*.html")):
        text = " ".join(prose(page.read_text(encoding="utf-8")))
        for w in words:
            wrong = re.findall(rf"\b{re.escape(w.lower())}\b", text)
            assert not wrong, f"{page.name}: '{w}' skrivet '{w.lower()}'"
