"""vu_rapport.ipynb in a real JupyterLab, driven in headless Chromium (``benchmarks/bench_lab.py``).

The analyst's path end to end: ``vu lab`` (with the save hook), open the notebook, Run All,
save. Checked: no cell fails; every chart is drawn by JupyterLab's vega-embed as an
interactive SVG (no static image), with a tooltip on hover, its text in the house font,
which ``report.husstil()`` loaded into the page; and ``git status --porcelain`` is the same
before and after (the saved notebook is byte for byte what is in git). The time is the
benchmark's business, not this test's (other jobs share the machine).

Skipped with the reason when Chromium, JupyterLab or websocket-client is missing.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_lab.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_lab", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_lab", mod)
    spec.loader.exec_module(mod)
    return mod


def test_run_all_in_jupyterlab_draws_interactive_charts_and_leaves_the_tree_clean(tmp_path):
    bench = _bench()
    if bench.find_chromium() is None:
        pytest.skip("chromium saknas (make chromium installerar det som root)")
    if not bench.have_jupyterlab() or importlib.util.find_spec("websocket") is None:
        pytest.skip("jupyterlab eller websocket-client saknas (pip install -e '.[lab,test]')")
    r = bench.run_lab("vu_rapport.ipynb", screenshots=tmp_path)  # raises LabFailure with what went wrong
    c = r["charts"]
    # at least the bridge, the monthly result and the key-figure chart; every one drawn, none static
    assert c["embeds"] >= 3 and c["svgs"] == c["embeds"] and c["static_images"] == 0
    assert c["fonts"] == ["Source Sans Pro"] and c["font_loaded"]
    # the first chart mark's tooltip:
    # a Swedish month and an amount with its unit (tkr or mnkr, whichever the chart uses)
    assert "januari 2026" in r["tooltip"] and re.search(r"\d\u00a0(tkr|mnkr)", r["tooltip"])
    assert r["git_status_after"] == r["git_status_before"]
    assert not r["cell_errors"]
    assert all(p.stat().st_size > 5000 for p in r["screenshots"])
