"""The rendered HTML report in a real browser (headless Debian Chromium), offline.

How it works and why it is reliable
-----------------------------------
Chromium is started headless with a fresh profile, background networking,
component updates, sync and extensions off, and every host name mapped to
NOTFOUND (``--host-resolver-rules``), so even an attempted request cannot
leave the machine. The test talks to it over the Chrome DevTools protocol
(``--remote-debugging-port=0``; the port is read from ``DevToolsActivePort``
in the profile; a loopback WebSocket via the ``websocket-client`` package).
For the page's own target it enables the Network domain and records every
``Network.requestWillBeSent``: this event fires for each request the page
*attempts*, before DNS, so a request blocked by the resolver rules or the
page's Content-Security-Policy is still seen. Only ``file:`` (the page
itself), ``data:``, ``blob:`` and ``about:`` are allowed. Console errors,
uncaught exceptions and CSP violations (``Log.entryAdded``) are recorded
too and must be empty.

Then the test checks that every chart container got a drawn ``<svg>`` (or
``<canvas>``) from vega-embed, and, with JavaScript disabled, that the static
SVG made by vl-convert is visible instead.

Skipped (with the reason) only when no Chromium is installed; CI installs the
Debian package ``chromium``.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from chromium import ALLOWED_SCHEMES

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _fixture_module():
    spec = importlib.util.spec_from_file_location("vu_render_fixture", Path(__file__).parent / "fixtures" / "render" / "fixture.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def rendered_html(tmp_path_factory):
    from vu_lib.publish.render import Renderer

    fx = _fixture_module()
    tmp = tmp_path_factory.mktemp("browser")
    nb = fx.executed_notebook(tmp / "rapport.ipynb")
    return Renderer().render_html(nb, tmp / "rapport.html", fx.META)


def test_page_draws_charts_offline(browser, rendered_html, tmp_path):
    session = browser.new_page()
    browser.goto(session, rendered_html.resolve().as_uri())
    n = browser.evaluate(session, "document.querySelectorAll('figure.vu-chart').length")
    assert n >= 2
    drawn = browser.wait_for(
        session,
        "Array.from(document.querySelectorAll('figure.vu-chart')).every(f => "
        "f.classList.contains('vu-chart--live') && "
        "f.querySelector('.vu-chart-view svg, .vu-chart-view canvas') !== null && "
        "f.querySelector('.vu-chart-view').getBoundingClientRect().height > 50)",
    )
    browser.pump(1.0)  # let late requests (if any) show up
    requests = browser.requests(session)
    bad = [u for u in requests if not u.startswith(ALLOWED_SCHEMES)]
    assert not bad, f"sidan försökte hämta: {bad}"
    assert any(u.startswith("file:") for u in requests), "nätverkslyssnaren såg inte ens sidan själv"
    assert drawn, "alla diagram ritades inte av vega-embed"
    # the interactive chart uses the Swedish locale: minus sign and no-break space in tick labels
    ticks = browser.evaluate(
        session,
        "Array.from(document.querySelectorAll('.vu-chart-view svg text')).map(t => t.textContent).join('|')",
    )
    assert "\u2212" in ticks and "\u00a0" in ticks
    # the static fallback is hidden once the interactive chart is drawn
    hidden = browser.evaluate(
        session,
        "Array.from(document.querySelectorAll('.vu-chart-static')).every(s => getComputedStyle(s).display === 'none')",
    )
    assert hidden
    assert not browser.problems(session), browser.problems(session)
    if os.environ.get("VU_SCREENSHOT_DIR"):
        browser.screenshot(session, Path(os.environ["VU_SCREENSHOT_DIR"]) / "rapport.png")


def test_static_svg_without_javascript(browser, rendered_html):
    session = browser.new_page(javascript=False)
    browser.goto(session, rendered_html.resolve().as_uri())
    browser.pump(0.5)
    shown = browser.evaluate(
        session,
        "Array.from(document.querySelectorAll('figure.vu-chart')).map(f => { const s = f.querySelector('.vu-chart-static svg');"
        " return s !== null && getComputedStyle(f.querySelector('.vu-chart-static')).display !== 'none'"
        " && s.getBoundingClientRect().height > 50; })",
    )
    assert shown and all(shown)
    bad = [u for u in browser.requests(session) if not u.startswith(ALLOWED_SCHEMES)]
    assert not bad
    if os.environ.get("VU_SCREENSHOT_DIR"):
        browser.screenshot(session, Path(os.environ["VU_SCREENSHOT_DIR"]) / "rapport-utan-js.png")
