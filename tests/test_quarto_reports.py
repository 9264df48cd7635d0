"""The real batch through the real Quarto: ``vu run --renderer quarto`` into an ``--out`` outside the repository.

One batch (the same reports as the back tests: AN-OMR-NV, AN-VB, and the SON
overview with SON-OPPNA-VUX, delår 2026-08 of the sample) feeds:

- the back tests of ``test_backtests.py``, run again here on the Quarto HTML
  and PDF (their ``reports`` fixture is replaced by this module's: every figure
  is compared with ``tests/ground_truth/`` in the Quarto documents too);
- the offline check in headless Chromium (``test_browser.py``'s DevTools
  client): every chart is drawn by vega-embed, no request leaves the page;
- the run log (measured per-report Quarto times), the repository's git status
  (unchanged) and no ``.quarto/`` left behind;
- ``quarto render <period>`` (the website) and ``quarto render`` in a copy of
  the repository's Quarto project.

Skipped with the reason where no Quarto ≥ 1.5 is on PATH (see test_quarto.py).
Under pytest-xdist the batch is made once and shared by the workers (a file
lock in pytest's common temporary directory).
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import test_backtests as _bt
from test_backtests import *  # noqa: F401,F403 - the back tests, collected again on the Quarto documents
from test_quarto import QUARTO, needs_quarto

pytestmark = [pytest.mark.slow, needs_quarto]

ROOT = Path(__file__).resolve().parents[1]
PERIOD = _bt.PERIOD
NAMES = ("AN-OMR-NV", "AN-VB", "SON")


def _git_status() -> dict:
    """The paths git reports as changed or new (ignored files aside), and the bytes of .gitignore."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--ignored=no"], cwd=ROOT, capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    return {"paths": sorted(line[3:] for line in out.splitlines()),
            "gitignore": (ROOT / ".gitignore").read_text(encoding="utf-8")}


def _make_batch(out: Path) -> dict:
    store = out / "ingen" / "vu.duckdb"  # does not exist: the sample
    env = {**os.environ, "VU_STORE": str(store)}
    before = _git_status()
    runs = []
    for extra in (["--vu", "AN-OMR-NV", "AN-VB"], ["--namnd", "SON", "--vu", "SON-OPPNA-VUX"]):
        cmd = [sys.executable, "-m", "vu_lib.cli", "run", "--period", PERIOD, "--out", str(out), "--store", str(store),
               "--to", "html,pdf", "--renderer", "quarto", *extra]
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        runs.append({"rc": res.returncode, "stdout": res.stdout, "stderr": res.stderr})
    return {"runs": runs, "git_before": before, "git_after": _git_status()}


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> dict:
    """The batch, made once for all xdist workers."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = shared / "quarto-batch"
    with open(shared / "quarto-batch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "quarto-batch.json"
        if not done.exists():
            shutil.rmtree(out, ignore_errors=True)
            info = _make_batch(out)
            done.write_text(json.dumps(info), encoding="utf-8")
        info = json.loads(done.read_text(encoding="utf-8"))
    info["dir"] = out / PERIOD
    return info


@pytest.fixture(scope="module")
def reports(batch) -> Path:
    """Replaces the back tests' fixture: the Quarto documents."""
    for run in batch["runs"]:
        assert run["rc"] == 0, f"vu run --renderer quarto misslyckades:\n{run['stdout']}\n{run['stderr']}"
    d = batch["dir"]
    for name in NAMES:
        for ext in ("html", "pdf"):
            assert (d / f"{name}.{ext}").is_file(), f"{name}.{ext} saknas i {d}"
    return d


# ----------------------------------------------------------------------------- the batch
def test_rendered_by_quarto_with_measured_times(reports):
    log = json.loads((reports / "korlogg.json").read_text(encoding="utf-8"))
    assert log["renderare"] == "quarto"
    times = {j["namn"]: j["rendering_sekunder"] for j in log["jobb"]}
    assert set(times) == {"SON", "SON-OPPNA-VUX"}  # the second run's log
    for name, t in times.items():
        assert t["quarto"] > 0, name
    html = (reports / "AN-VB.html").read_text(encoding="utf-8")
    assert 'name="generator" content="quarto-' in html  # made by Quarto, not the built-in renderer


def test_no_tracked_file_changed_and_no_quarto_scratch(batch, reports):
    # nothing became changed or new (a path already changed before, by a developer, may change again)
    assert set(batch["git_after"]["paths"]) <= set(batch["git_before"]["paths"])
    assert batch["git_after"]["gitignore"] == batch["git_before"]["gitignore"]  # Quarto did not append to it
    assert not list(reports.parent.rglob(".quarto"))
    assert not [p for p in reports.iterdir() if p.name.startswith("vu-quarto-")]


def test_quarto_html_offline_in_chromium(reports, browser):
    """The Quarto page in headless Chromium with every host unresolvable: every chart drawn, no request."""
    from chromium import ALLOWED_SCHEMES

    for name in NAMES:
        page = reports / f"{name}.html"
        session = browser.new_page()
        browser.goto(session, page.resolve().as_uri())
        n = browser.evaluate(session, "document.querySelectorAll('figure.vu-chart').length")
        assert n >= 1, name
        drawn = browser.wait_for(
            session,
            "Array.from(document.querySelectorAll('figure.vu-chart')).every(f => "
            "f.classList.contains('vu-chart--live') && "
            "f.querySelector('.vu-chart-view svg, .vu-chart-view canvas') !== null && "
            "f.querySelector('.vu-chart-view').getBoundingClientRect().height > 50)",
        )
        browser.pump(1.0)
        bad = [u for u in browser.requests(session) if not u.startswith(ALLOWED_SCHEMES)]
        assert not bad, f"{name}: sidan försökte hämta {bad}"
        assert drawn, f"{name}: alla diagram ritades inte"
        font = browser.evaluate(session, "getComputedStyle(document.body).fontFamily")
        assert font.startswith('"Source Sans Pro"'), font
        loaded = browser.evaluate(session, "document.fonts.check('16px \"Source Sans Pro\"')")
        assert loaded, "Source Sans Pro laddades inte från sidan"
        assert browser.evaluate(session, "document.documentElement.lang") == "sv"
        assert not browser.problems(session), browser.problems(session)
        if os.environ.get("VU_SCREENSHOT_DIR"):
            browser.screenshot(session, Path(os.environ["VU_SCREENSHOT_DIR"]) / f"quarto-{name}.png")


# ----------------------------------------------------------------------------- quarto render
def test_period_as_quarto_website(reports, tmp_path):
    site_src = tmp_path / PERIOD
    shutil.copytree(reports, site_src)
    res = subprocess.run([QUARTO, "render", str(site_src)], capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout + res.stderr
    site = site_src / "_site"
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'id="quarto-sidebar"' in index
    for name in NAMES:
        assert f'href="./quarto/{name}.html"' in index or f'href="quarto/{name}.html"' in index, name
        assert (site / "quarto" / f"{name}.html").is_file() and (site / "quarto" / f"{name}.pdf").is_file()
    # the same index content as the built-in index.html: every report's row and its links
    built_in = (reports / "index.html").read_text(encoding="utf-8")
    for row_id in re.findall(r'<td class="id">([^<]+)</td>', built_in):
        assert f'<td class="id">{row_id}</td>' in index
    assert (site / "AN-VB.xlsx").is_file() and (site / "notebooks" / "AN-VB.ipynb").is_file()
    page = (site / "quarto" / "AN-VB.html").read_text(encoding="utf-8")
    assert 'id="quarto-sidebar"' in page and "vegaEmbed" in page


def test_repository_project_renders_the_sources(reports, tmp_path):
    """``quarto render`` with the repository's _quarto.yml (in a copy, so the repository stays as it is)."""
    proj = tmp_path / "repo"
    (proj / "reports").mkdir(parents=True)
    shutil.copy2(ROOT / "_quarto.yml", proj / "_quarto.yml")
    shutil.copytree(reports / "quarto", proj / "reports" / PERIOD / "quarto")
    res = subprocess.run([QUARTO, "render"], cwd=proj, capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout + res.stderr
    for name in NAMES:
        assert (proj / "reports" / PERIOD / "quarto" / f"{name}.html").is_file()
        assert (proj / "reports" / PERIOD / "quarto" / f"{name}.pdf").is_file()
