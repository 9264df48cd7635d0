"""Shared fixtures. Keep this small: fixtures used by one test module live there."""
from __future__ import annotations

import datetime as dt
import hashlib
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


def pytest_configure(config):
    """nbval over tests/notebooks runs kernels as the batch does (VU_BATCH=1: no JupyterLab-only outputs)."""
    import os

    if config.getoption("nbval", default=False) or config.getoption("nbval_lax", default=False):
        os.environ["VU_BATCH"] = "1"
