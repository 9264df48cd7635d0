"""Run All of a report notebook in a real JupyterLab, driven through headless Chromium.

What it does, in one run:

1. starts JupyterLab the way an analyst does (``vu lab``: the ``pre_save_hook`` that stores
   vu notebooks without outputs, ``notebooks/`` as root) on 127.0.0.1 and a free port,
   with its own settings and workspace directories under a temporary directory;
2. starts headless Chromium (fresh profile, no background networking) and drives it over
   the DevTools protocol (``websocket-client``): opens ``notebooks/<name>``, waits for the
   kernel to be idle, then runs *Run All* (``notebook:run-all-cells``, the menu's command)
   and times it until every code cell has run and the kernel is idle again;
3. checks what the analyst sees: no cell error, every chart drawn by JupyterLab's
   vega-embed as an interactive SVG (not a static picture), its text set in the house font
   (``Source Sans Pro``, loaded into the page by ``report.husstil()``), and takes screenshots;
4. saves (``docmanager:save``, what Ctrl+S does) and checks that ``git status --porcelain``
   is unchanged: the stored notebook is what was in git.

Usage::

    .venv/bin/python benchmarks/bench_lab.py [--notebook vu_rapport.ipynb] [--screenshots DIR] [--runs N]

Prints the Run All time (the first one in a fresh kernel; with ``--runs N`` also the later
ones in the same kernel). Exit code 1 when a check fails. ``tests/test_lab.py`` runs the
same function (marked ``browser``).
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from chromium import Browser  # noqa: E402  (the DevTools client the browser tests use)
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
HOUSE_FONT = "Source Sans Pro"


def find_chromium() -> str | None:
    return next((p for p in (shutil.which(n) for n in CHROMIUM_NAMES) if p), None)


def have_jupyterlab() -> bool:
    import importlib.util

    return importlib.util.find_spec("jupyterlab") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout


def kernel_pids(root: int) -> list[int]:
    """Pids of the ipykernel processes descending from ``root`` (from /proc; empty where there is none)."""
    parents: dict[int, int] = {}
    for d in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue

    def descends(pid: int) -> bool:
        while pid in parents and pid > 1:
            pid = parents[pid]
            if pid == root:
                return True
        return False

    out = []
    for pid in parents:
        try:
            if descends(pid) and b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(pid)
        except OSError:
            continue
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


class LabFailure(AssertionError):
    """What the analyst would see go wrong (a cell error, a static chart, a dirty tree ...)."""


# --------------------------------------------------------------------------- JupyterLab
class Lab:
    """``vu lab`` on a free loopback port, token-less, stopped by :meth:`close`."""

    def __init__(self, timeout: float = 60.0, env: dict | None = None) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="vu-lab-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "vu_lib.cli", "lab", "--no-browser", f"--port={self.port}",
                "--ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
                "--LabApp.expose_app_in_browser=True", "--ServerApp.disable_check_xsrf=True",
                f"--LabApp.user_settings_dir={self.tmp / 'settings'}",
                f"--LabApp.workspaces_dir={self.tmp / 'workspaces'}",
                "--LanguageServerManager.autodetect=False", "--ServerApp.log_level=WARN"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")
        # no "news" notification over the notebook (it would also try the network)
        news = self.tmp / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        news.parent.mkdir(parents=True)
        news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        # each cell's kernel-side timestamps in its metadata (the save hook drops them again)
        nbset = self.tmp / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
        nbset.parent.mkdir(parents=True)
        nbset.write_text(json.dumps({"recordTiming": True}))
        env = dict(os.environ, **(env or {}), JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"))
        env.pop("VU_BATCH", None)
        self.log = open(self.tmp / "lab.log", "wb")
        # its own process group: close() stops the server and every kernel it started
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        import urllib.request

        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + "/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("JupyterLab startade inte: " + (self.tmp / "lab.log").read_text()[-2000:])
            time.sleep(0.2)

    def close(self) -> None:
        import signal

        if self.proc.poll() is None:
            self.proc.terminate()  # the server shuts its kernels down on SIGTERM
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for sig in (signal.SIGTERM, signal.SIGKILL):  # whatever is left of the group (kernels)
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            time.sleep(0.5)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# --------------------------------------------------------------------------- Chromium (DevTools protocol)
class Chromium(Browser):
    """Headless Chromium with one page (the tests' DevTools client, ``tests/chromium.py``).

    Only 127.0.0.1 (JupyterLab) resolves; every other host fails, as in the browser tests.
    """

    def __init__(self, executable: str, width: int = 1280, height: int = 900, timeout: float = 30.0) -> None:
        super().__init__(executable, timeout, extra_args=(f"--window-size={width},{height}",),
                         resolver_rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
        self.session = self.new_page(width=width, height=height)

    def js(self, expression: str, timeout: float = 60.0):
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                        session=self.session, timeout=timeout)
        if "exceptionDetails" in res:
            raise RuntimeError(json.dumps(res["exceptionDetails"])[:1000])
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0, poll: float = 0.05):
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(expression)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(poll)

    def goto(self, url: str) -> None:
        self.send("Page.navigate", {"url": url}, session=self.session)

    def screenshot(self, path: Path, clip: dict | None = None) -> Path:
        params: dict = {"format": "png"}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        data = self.send("Page.captureScreenshot", params, session=self.session)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


# --------------------------------------------------------------------------- the page
PANEL = "(window.jupyterapp && window.jupyterapp.shell.currentWidget)"
CELLS_DONE = f"""(() => {{
  const p = {PANEL}; if (!p || !p.content || !p.sessionContext) return false;
  const k = p.sessionContext.session && p.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  const cells = p.content.widgets.filter(c => c.model.type === 'code');
  return cells.length > 0 && cells.every(c => c.model.executionCount !== null && !c.hasClass('jp-mod-running')
      && c.promptNode && !c.promptNode.textContent.includes('*'));
}})()"""
KERNEL_IDLE = f"""(() => {{
  const p = {PANEL}; if (!p || !p.sessionContext || !p.content) return false;
  const k = p.sessionContext.session && p.sessionContext.session.kernel;
  return !!(k && k.status === 'idle' && k.connectionStatus === 'connected' && p.content.widgets.length > 0);
}})()"""
CHARTS = """(() => {
  const embeds = [...document.querySelectorAll('.jp-OutputArea-output .vega-embed')];
  const out = {embeds: embeds.length, svgs: 0, static_images: 0, fonts: [], font_loaded: false, errors: []};
  for (const e of embeds) {
    const svg = e.querySelector('svg.marks');
    if (svg) out.svgs += 1;
    for (const t of e.querySelectorAll('svg text')) {
      const f = t.getAttribute('font-family') || getComputedStyle(t).fontFamily;
      if (!out.fonts.includes(f)) out.fonts.push(f);
    }
  }
  out.static_images = document.querySelectorAll('.jp-OutputArea-output img, .jp-RenderedSVGImage').length;
  out.font_loaded = document.fonts.check('12px "Source Sans Pro"');
  out.errors = [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]')]
      .map(n => n.textContent.slice(0, 400));
  return out;
})()"""


def shoot_chart(browser: Chromium, index: int, path: Path, hover: bool = False) -> tuple[Path, str]:
    """Screenshot of the cell with the ``index``-th chart; with ``hover`` the mouse rests on a mark.

    Returns the path and the tooltip's text (empty without ``hover`` or when none showed).
    """
    found = browser.js(f"""(() => {{
      const e = document.querySelectorAll('.jp-OutputArea-output .vega-embed')[{index}];
      if (!e) return false;
      const p = {PANEL}, cellNode = e.closest('.jp-Cell');
      const i = p.content.widgets.findIndex(c => c.node === cellNode);
      if (i >= 0) p.content.activeCellIndex = i;  // JupyterLab keeps the active cell in view
      const scroller = e.closest('.jp-WindowedPanel-outer') || cellNode.parentElement;
      scroller.scrollTop += e.getBoundingClientRect().top - 140;
      return true;
    }})()""")
    if not found:
        raise LabFailure(f"diagram {index} finns inte")
    time.sleep(0.8)
    box = browser.js(f"""(() => {{
      const e = document.querySelectorAll('.jp-OutputArea-output .vega-embed')[{index}];
      const r = e.getBoundingClientRect();
      const m = e.querySelector('svg .mark-rect path, svg .mark-rect *, svg .mark-symbol path');
      const mr = m ? m.getBoundingClientRect() : null;
      return {{x: Math.max(r.left - 12, 0), y: Math.max(r.top - 12, 0), width: Math.min(r.width + 24, 820),
               height: Math.min(r.height + 24, 480), mx: mr ? mr.left + mr.width / 2 : null,
               my: mr ? mr.top + Math.min(mr.height / 2, 20) : null}};
    }})()""")
    tooltip = ""
    if hover and box.get("mx") is not None:
        browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box["mx"], "y": box["my"]},
                     session=browser.session)
        tooltip = browser.wait_for("""(() => { const t = document.querySelector('#vg-tooltip-element');
            return t && t.classList.contains('visible') ? t.textContent : ''; })()""", timeout=5) or ""
    clip = {k: box[k] for k in ("x", "y", "width", "height")}
    return browser.screenshot(path, clip), tooltip


CELL_TIMES = f"""(() => {{
  const p = {PANEL};
  return p.content.widgets.filter(c => c.model.type === 'code').map(c => {{
    const t = c.model.getMetadata('execution') || {{}};
    const a = Date.parse(t['iopub.execute_input']), b = Date.parse(t['shell.execute_reply']);
    return [c.model.sharedModel.getSource().split('\\n').pop().slice(0, 50), isNaN(a) || isNaN(b) ? null : (b - a) / 1000];
  }});
}})()"""


def run_lab(notebook: str = "vu_rapport.ipynb", screenshots: Path | None = None, runs: int = 1,
            timeout: float = 120.0, env: dict | None = None) -> dict:
    """Open ``notebooks/<notebook>`` in JupyterLab, Run All ``runs`` times, check, save.

    Returns ``{"run_all": [seconds, ...], "open": seconds, "charts": {...}, "screenshots": [...],
    "git_status_before": str, "git_status_after": str}``; raises :class:`LabFailure` when the
    analyst would see something wrong.
    """
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("chromium saknas")
    before = git_status()
    lab = Lab(env=env)
    browser = None
    result: dict = {"run_all": [], "screenshots": [], "git_status_before": before, "load": load_average()}
    try:
        browser = Chromium(chromium)
        t0 = time.perf_counter()
        browser.goto(f"{lab.url}/lab/tree/{notebook}?reset")
        if not browser.wait_for(KERNEL_IDLE, timeout=timeout):
            raise LabFailure("JupyterLab öppnade inte notebooken med en ledig kärna")
        result["open"] = time.perf_counter() - t0
        kernels = kernel_pids(lab.proc.pid)
        result["kernel_cpu"] = []
        for _ in range(runs):
            cpu0 = sum(cpu_seconds(k) for k in kernels)
            t0 = time.perf_counter()
            browser.js(f"{PANEL}.context.sessionContext.ready.then(() => window.jupyterapp.commands.execute('notebook:run-all-cells')).then(() => true)",
                       timeout=timeout)
            if not browser.wait_for(CELLS_DONE, timeout=timeout, poll=0.02):
                raise LabFailure("Run All blev inte klar")
            result["run_all"].append(time.perf_counter() - t0)
            result["kernel_cpu"].append(sum(cpu_seconds(k) for k in kernels) - cpu0 if kernels else float("nan"))
        # the charts: vega-embed draws them when they are shown; wait until every one has its SVG
        browser.wait_for(f"(() => {{ const c = {CHARTS}; return c.embeds > 0 && c.svgs === c.embeds && c.font_loaded; }})()",
                         timeout=30)
        charts = browser.js(CHARTS)
        result["charts"] = charts
        result["cell_times"] = browser.js(CELL_TIMES)
        if screenshots is not None:
            screenshots = Path(screenshots)
            for index, name, hover in ((0, "lab_brygga.png", False), (1, "lab_resultat.png", True)):
                path, tip = shoot_chart(browser, index, screenshots / name, hover)
                result["screenshots"].append(path)
                if hover:
                    result["tooltip"] = tip
        browser.js("window.jupyterapp.commands.execute('docmanager:save').then(() => true)", timeout=timeout)
        if not browser.wait_for(f"!{PANEL}.context.model.dirty", timeout=30):
            raise LabFailure("notebooken sparades inte")
        result["cell_errors"] = browser.js(CHARTS)["errors"]
    finally:
        if browser is not None:
            browser.close()
        lab.close()
    result["git_status_after"] = git_status()
    if screenshots is not None:  # the screenshots themselves (e.g. --screenshots docs/img) are not the notebook's doing
        try:
            rel = Path(screenshots).resolve().relative_to(ROOT).as_posix().rstrip("/") + "/"
        except ValueError:
            rel = None
        if rel:
            drop = lambda text: "".join(l for l in text.splitlines(True) if not (l[3:].startswith(rel) or rel.startswith(l[3:].strip())))  # noqa: E731
            result["git_status_before"], result["git_status_after"] = drop(before), drop(result["git_status_after"])
            before = result["git_status_before"]
    problems = []
    if result.get("cell_errors"):
        problems.append(f"fel i celler: {result['cell_errors']}")
    c = result.get("charts", {})
    if not c.get("embeds") or c.get("svgs") != c.get("embeds"):
        problems.append(f"diagrammen ritades inte interaktivt av vega-embed: {c}")
    if c.get("static_images"):
        problems.append(f"{c['static_images']} statiska bilder i stället för interaktiva diagram")
    if not c.get("font_loaded") or any(HOUSE_FONT not in f for f in c.get("fonts", [])):
        problems.append(f"diagramtexten är inte satt i {HOUSE_FONT}: {c.get('fonts')}, laddat: {c.get('font_loaded')}")
    if result["git_status_after"] != before:
        problems.append("git status ändrades av Run All + spara:\n" + result["git_status_after"])
    if problems:
        raise LabFailure("\n".join(problems))
    return result


def papermill_cold(notebook: str = "vu_rapport.ipynb", env: dict | None = None) -> float:
    """Seconds of ``python -m papermill notebooks/<notebook>`` in a fresh process (kernel start included)."""
    with tempfile.TemporaryDirectory(prefix="vu-pm-") as tmp:
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "papermill", str(NOTEBOOKS / notebook), str(Path(tmp) / notebook),
                            "--cwd", str(NOTEBOOKS), "--no-progress-bar", "-k", "python3"],
                           cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
        seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise LabFailure("papermill misslyckades:\n" + r.stderr[-2000:])
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notebook", default="vu_rapport.ipynb")
    ap.add_argument("--screenshots", type=Path, default=None, help="katalog för skärmbilder")
    ap.add_argument("--runs", type=int, default=1, help="antal Run All i samma kärna")
    ap.add_argument("--no-disk-cache", action="store_true",
                    help="kärnan räknar modellens tabeller själv (VU_MODEL_CACHE=0), för jämförelse")
    args = ap.parse_args(argv)
    if find_chromium() is None or not have_jupyterlab():
        print("chromium eller jupyterlab saknas: inget att mäta", file=sys.stderr)
        return 2
    try:
        r = run_lab(args.notebook, args.screenshots, args.runs,
                    env={"VU_MODEL_CACHE": "0"} if args.no_disk_cache else None)
    except LabFailure as e:
        print(f"FEL: {e}", file=sys.stderr)
        return 1
    c = r["charts"]
    print(("model tables computed in the kernel (VU_MODEL_CACHE=0)\n" if args.no_disk_cache else "")
          + f"JupyterLab, {args.notebook}: notebook open with an idle kernel after {r['open']:.2f} s")
    print(f"load average before: {r['load']:.1f} on {os.cpu_count()} cores")
    print(f"Run All (fresh kernel): {r['run_all'][0]:.2f} s wall (target < 3 s), "
          f"the kernel's CPU time {r['kernel_cpu'][0]:.2f} s")
    for i, (t, cpu) in enumerate(zip(r["run_all"][1:], r["kernel_cpu"][1:]), 2):
        print(f"Run All #{i} (same kernel): {t:.2f} s wall, kernel CPU {cpu:.2f} s")
    print(f"charts: {c['svgs']}/{c['embeds']} drawn by vega-embed as SVG, static images: {c['static_images']}, "
          f"fonts {c['fonts']}, house font loaded: {c['font_loaded']}")
    env = {"VU_MODEL_CACHE": "0"} if args.no_disk_cache else None
    print(f"cold papermill run of {args.notebook} (new process and kernel): {papermill_cold(args.notebook, env):.2f} s")
    print("git status after Run All + save: " + ("clean (unchanged)" if r["git_status_after"] == r["git_status_before"] else "CHANGED"))
    slow = sorted((t for t in r.get("cell_times", []) if t[1] is not None), key=lambda t: -t[1])
    print("in the kernel (last Run All), slowest cells: " + "; ".join(f"{s} {t:.2f} s" for s, t in slow[:4]))
    if r.get("tooltip"):
        print(f"tooltip on hover: {r['tooltip'][:80]!r}")
    for p in r["screenshots"]:
        print(f"screenshot: {p}")
    return 0 if r["run_all"][0] < 3.0 else 1


if __name__ == "__main__":
    sys.exit(main())
