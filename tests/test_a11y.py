"""Accessibility and layout of every kind of rendered report, in headless Chromium with axe-core.

The reports are the real output of ``vu run --period 2026-10`` and ``vu budget
2027`` on the embedded sample (fixture ``sample_reports``). Each page (a VU,
a nämnd overview, Leanlink, the model document, the budget proposal and the
index pages) is opened offline at 1280 and at 390 CSS px and checked:

* axe-core, run with the WCAG 2.0/2.1 A and AA rule tags, reports no violation;
* the page does not scroll sideways, and at 1280 px no table is wider than its
  box (nothing clipped); at 390 px a table that does not fit sits in a
  focusable, labelled scroll region (``role="region"``, ``tabindex="0"``,
  ``aria-label``) whose first column stays in view (``position: sticky``);
* exactly one ``<h1>``, a ``main`` landmark, a skip link to it as the first
  focusable element, and on report pages breadcrumbs and a table of contents
  whose links all resolve.

axe-core comes from npm (``tests/axe/package.json``, pinned with its lock
file): ``make test`` runs ``npm ci --prefix tests/axe`` (the ``axe`` target);
the file ``axe.min.js`` is read from disk and evaluated in the page over the
DevTools protocol, so the page still makes no request. Without Chromium the
test is skipped; without the installed axe-core it tries ``npm ci`` itself and
is skipped only when that is impossible outside CI (with ``CI`` set it fails).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from chromium import ALLOWED_SCHEMES, Browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE_DIR = Path(__file__).parent / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = (1280, 390)

#: (file under the output directory, kind of page)
PAGES = [
    ("2026-10/AN-VB.html", "rapport"),
    ("2026-10/SON-OPPNA-BUF.html", "rapport"),
    ("2026-10/AN.html", "rapport"),
    ("2026-10/Leanlink.html", "rapport"),
    ("2026-10/modell.html", "rapport"),
    ("budget-2027/budget.html", "rapport"),
    ("2026-10/index.html", "index"),
    ("budget-2027/index.html", "index"),
]


def _axe_source() -> str:
    if not AXE_JS.is_file():
        npm = shutil.which("npm")
        if npm:
            subprocess.run([npm, "ci", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund", "--silent"],
                           capture_output=True, text=True, timeout=300)
    if not AXE_JS.is_file():
        msg = f"axe-core saknas ({AXE_JS}); kör `npm ci --prefix {AXE_DIR}` (make test gör det)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def axe_js() -> str:
    return _axe_source()


def _open(browser: Browser, path: Path, width: int) -> str:
    session = browser.new_page(width=width, height=900)
    browser.goto(session, path.resolve().as_uri())
    # wait until every interactive chart is drawn (or the page has none)
    browser.wait_for(
        session,
        "Array.from(document.querySelectorAll('figure.vu-chart')).every(f => f.classList.contains('vu-chart--live'))",
    )
    browser.pump(0.3)
    return session


def _run_axe(browser: Browser, session: str, axe_js: str) -> list[dict]:
    browser.send("Runtime.evaluate", {"expression": axe_js}, session=session, timeout=60)
    options = json.dumps({"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
    expr = (
        f"axe.run(document, {options}).then(r => r.violations.map(v => ({{id: v.id, impact: v.impact, "
        "help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)})))"
    )
    return browser.evaluate(session, expr)


LAYOUT_JS = r"""
(() => {
  const vw = document.documentElement.clientWidth;
  const out = {pageOverflow: document.documentElement.scrollWidth - vw, tables: []};
  for (const t of document.querySelectorAll('table')) {
    const box = t.closest('.vu-scroll') || t.parentElement;
    const cs = getComputedStyle(box);
    const first = t.querySelector('tbody tr > :first-child');
    out.tables.push({
      caption: (t.caption ? t.caption.textContent : '').slice(0, 60),
      tableWidth: t.getBoundingClientRect().width,
      boxWidth: box.clientWidth,
      boxRight: box.getBoundingClientRect().right,
      overflowX: cs.overflowX,
      region: box.getAttribute('role') === 'region' && box.getAttribute('tabindex') === '0'
              && !!(box.getAttribute('aria-label') || box.getAttribute('aria-labelledby')),
      stickyFirst: first ? getComputedStyle(first).position === 'sticky' : true,
    });
  }
  out.h1 = document.querySelectorAll('h1').length;
  out.main = document.querySelectorAll('main, [role=main]').length;
  const focusable = document.querySelector('a[href], button, [tabindex="0"], summary, input');
  out.firstFocusable = focusable ? {href: focusable.getAttribute('href'), text: focusable.textContent.trim()} : null;
  const skipTarget = focusable && focusable.getAttribute('href') && focusable.getAttribute('href').startsWith('#')
      ? document.getElementById(focusable.getAttribute('href').slice(1)) : null;
  out.skipTargetIsMain = !!(skipTarget && (skipTarget.tagName === 'MAIN' || skipTarget.getAttribute('role') === 'main'));
  const crumbs = document.querySelector('nav.vu-brodsmulor');
  out.breadcrumbs = crumbs ? Array.from(crumbs.querySelectorAll('a')).map(a => a.getAttribute('href')) : null;
  const toc = document.querySelector('nav.vu-innehall');
  out.toc = toc ? Array.from(toc.querySelectorAll('a')).map(a => a.getAttribute('href')) : null;
  out.tocBroken = out.toc ? out.toc.filter(h => !h.startsWith('#') || !document.getElementById(decodeURIComponent(h.slice(1)))) : [];
  return out;
})()
"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page,kind", PAGES, ids=[p for p, _ in PAGES])
def test_page_accessible_and_not_clipped(browser, axe_js, sample_reports, page, kind, width):
    path = sample_reports / page
    assert path.is_file(), f"{page} saknas"
    session = _open(browser, path, width)
    violations = _run_axe(browser, session, axe_js)
    assert not violations, f"axe-core, {page} vid {width} px:\n" + json.dumps(violations, ensure_ascii=False, indent=1)

    lay = browser.evaluate(session, LAYOUT_JS)
    assert lay["pageOverflow"] <= 1, f"{page} rullar i sidled vid {width} px ({lay['pageOverflow']} px)"
    assert lay["h1"] == 1, f"{page}: {lay['h1']} <h1>"
    assert lay["main"] == 1
    assert lay["firstFocusable"] and lay["skipTargetIsMain"], f"{page}: första fokuserbara är ingen hopplänk till main: {lay['firstFocusable']}"
    for t in lay["tables"]:
        fits = t["tableWidth"] <= t["boxWidth"] + 1
        if width >= 1280:
            assert fits, f"{page}: tabellen '{t['caption']}' är {t['tableWidth']:.0f} px i en ruta på {t['boxWidth']} px"
        elif not fits:
            assert t["region"], f"{page}: tabellen '{t['caption']}' rullar men är ingen fokuserbar, namngiven region"
            assert t["overflowX"] in ("auto", "scroll"), t
            assert t["stickyFirst"], f"{page}: första kolumnen i '{t['caption']}' följer inte med vid rullning"
    if kind == "rapport":
        assert lay["breadcrumbs"] and lay["breadcrumbs"][0].endswith("index.html"), f"{page}: brödsmulor saknas"
        for href in lay["breadcrumbs"]:
            assert (path.parent / href.split("#")[0]).resolve().is_file(), f"{page}: brödsmulan {href} leder ingenstans"
        assert lay["toc"], f"{page}: innehållsförteckning saknas"
        assert not lay["tocBroken"], f"{page}: trasiga länkar i innehållsförteckningen: {lay['tocBroken']}"
    bad = [u for u in browser.requests(session) if not u.startswith(ALLOWED_SCHEMES)]
    assert not bad, f"{page} försökte hämta {bad}"
    if os.environ.get("VU_SCREENSHOT_DIR"):
        name = page.replace("/", "_").replace(".html", "")
        browser.screenshot(session, Path(os.environ["VU_SCREENSHOT_DIR"]) / f"{name}-{width}.png", width=width)


def test_report_links_resolve(sample_reports):
    """Every relative link of every HTML page in the output points to an existing file."""
    import re

    checked = 0
    for page in sorted(sample_reports.glob("*/*.html")):
        html = page.read_text(encoding="utf-8")
        for href in re.findall(r'<a\b[^>]*\bhref="([^"#][^"]*)"', html):
            if re.match(r"^[a-z]+:", href):
                continue
            target = (page.parent / href.split("#")[0]).resolve()
            assert target.exists(), f"{page.name}: länken {href} leder ingenstans"
            checked += 1
    assert checked > 50
