"""Shared fixtures. Keep this small: fixtures used by one test module live there."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest

from vu_lib.core.params import load_params

FIXTURES = Path(__file__).parent / "fixtures"
EXPORTS = FIXTURES / "exports"

#: The injected "today" of the reader tests: November 2026 is the current month.
TODAY = dt.date(2026, 11, 15)


@pytest.fixture
def params():
    """The project's real params (cached by load_params)."""
    return load_params()


@pytest.fixture
def write_export(tmp_path):
    """Write an export file: ``write_export("huvudbok.csv", text, encoding="utf-8")`` -> Path.

    ``text`` may also be bytes, written as they are.
    """

    def write(name: str, text: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
        return path

    return write


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes (to show a store file was left untouched)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def sample_reports(tmp_path_factory) -> Path:
    """``<out>`` with ``2026-10/`` (every report of delår 2026-10) and ``budget-2027/``, rendered once.

    Shared by the xdist workers (see ``tests/samplereports.py``).
    """
    from samplereports import render_sample_reports

    if os.environ.get("VU_SAMPLE_REPORTS"):  # a directory rendered before (while working on the templates)
        return Path(os.environ["VU_SAMPLE_REPORTS"])
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # common to all workers of this session
    return render_sample_reports(root / "vu-sample-reports")


def pytest_configure(config):
    """nbval over tests/notebooks runs kernels as the batch does (VU_BATCH=1: no JupyterLab-only outputs)."""
    import os

    if config.getoption("nbval", default=False) or config.getoption("nbval_lax", default=False):
        os.environ["VU_BATCH"] = "1"


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (tests/chromium.py); skipped where Chromium or
    websocket-client is missing."""
    from chromium import CHROMIUM, Browser

    if CHROMIUM is None:
        pytest.skip("Chromium är inte installerat (apt-get install chromium); CI installerar det")
    pytest.importorskip("websocket", reason="websocket-client behövs för DevTools-protokollet")
    b = Browser(CHROMIUM)
    yield b
    b.close()
