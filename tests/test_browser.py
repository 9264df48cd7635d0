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

import base64
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
ALLOWED_SCHEMES = ("file:", "data:", "blob:", "about:")


class Browser:
    """A headless Chromium driven over the DevTools protocol (minimal client)."""

    def __init__(self, executable: str, timeout: float = 30.0) -> None:
        import websocket  # websocket-client

        self.profile = Path(tempfile.mkdtemp(prefix="vu-chromium-"))
        args = [
            executable,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication",
            "--no-first-run",
            "--no-default-browser-check",
            "--metrics-recording-only",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={self.profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("Chromium startade inte (ingen DevToolsActivePort)")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=timeout, suppress_origin=True)
        self._id = 0
        self.events: list[dict] = []

    # -------------------------------------------------------------- protocol
    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30.0) -> dict:
        self._id += 1
        msg: dict = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(method)

    def pump(self, seconds: float) -> None:
        """Collect events for a while."""
        end = time.monotonic() + seconds
        self.ws.settimeout(0.1)
        try:
            while time.monotonic() < end:
                try:
                    self.events.append(json.loads(self.ws.recv()))
                except Exception:  # timeout
                    pass
        finally:
            self.ws.settimeout(30)

    def new_page(self, *, javascript: bool = True, width: int = 1100, height: int = 900) -> str:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Page", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        if not javascript:
            self.send("Emulation.setScriptExecutionDisabled", {"value": True}, session=session)
        return session

    def goto(self, session: str, url: str, timeout: float = 30.0) -> None:
        start = len(self.events)
        self.send("Page.navigate", {"url": url}, session=session)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("method") == "Page.loadEventFired" and e.get("sessionId") == session for e in self.events[start:]):
                if self.evaluate(session, "document.readyState") == "complete" and self.evaluate(session, "location.href") == url:
                    return
            self.pump(0.1)
        raise TimeoutError(f"sidan laddades inte: {url}")

    def evaluate(self, session: str, expression: str):
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session=session)
        if "exceptionDetails" in res:
            raise RuntimeError(res["exceptionDetails"])
        return res["result"].get("value")

    def wait_for(self, session: str, expression: str, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(session, expression)
            if value:
                return value
            self.pump(0.1)
        return self.evaluate(session, expression)

    def screenshot(self, session: str, path: Path) -> None:
        height = self.evaluate(session, "document.documentElement.scrollHeight")
        self.send("Emulation.setDeviceMetricsOverride", {"width": 1100, "height": int(height), "deviceScaleFactor": 1, "mobile": False}, session=session)
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        path.write_bytes(base64.b64decode(data))

    # -------------------------------------------------------------- what the page did
    def requests(self, session: str) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("sessionId") == session and e.get("method") == "Network.requestWillBeSent"
        ]

    def problems(self, session: str) -> list[str]:
        out = []
        for e in self.events:
            if e.get("sessionId") != session:
                continue
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:300])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + json.dumps(p.get("args", []))[:300])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: " + p["entry"].get("text", "")[:300])
            elif m == "Network.loadingFailed":
                out.append("loading failed: " + json.dumps(p)[:300])
        return out

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                try:
                    self.send("Browser.close", timeout=5)
                except Exception:
                    pass
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium är inte installerat (apt-get install chromium); CI installerar det")
    pytest.importorskip("websocket", reason="websocket-client behövs för DevTools-protokollet")
    b = Browser(CHROMIUM)
    yield b
    b.close()


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
