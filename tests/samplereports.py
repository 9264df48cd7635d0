"""The full set of sample reports (delår 2026-10 and budget 2027), rendered once per test session.

Used by the accessibility, PDF-structure and copy tests, which all look at
the real output of ``vu run`` and ``vu budget``. Under pytest-xdist the
workers share one rendering: the first to take the lock renders into a
directory under the session's common temporary root, the others wait and
reuse it.
"""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-10"
BUDGET_YEAR = 2027


def render_sample_reports(base: Path) -> Path:
    """``vu run --period 2026-10`` and ``vu budget 2027`` into ``base/out`` (once); returns ``base/out``."""
    base.mkdir(parents=True, exist_ok=True)
    out = base / "out"
    done = base / "klar"
    with open(base / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                store = base / "ingen" / "vu.duckdb"  # does not exist: the sample data
                env = {**os.environ, "VU_STORE": str(store)}
                for args in (["run", "--period", PERIOD], ["budget", str(BUDGET_YEAR)]):
                    cmd = [sys.executable, "-m", "vu_lib.cli", *args, "--out", str(out), "--store", str(store),
                           "--jobs", "2", "--renderer", "builtin"]
                    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
                    if res.returncode != 0:
                        raise RuntimeError(f"{' '.join(args)} misslyckades:\n{res.stdout}\n{res.stderr}")
                done.write_text("ok")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return out
