"""The vu command line: listing, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

from vu_lib.cli import main

NINE = ["AN-OMR-NV", "AN-OMR-NO", "AN-OMR-CN", "AN-OPPNA", "AN-VB",
        "SON-OPPNA-BUF", "SON-OPPNA-VUX", "SON-BO-BU", "SON-BO-VUX"]


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [v["id"] for v in out["verksamhetsuppdrag"]] == NINE
    assert [v["id"] for v in out["separata"]] == ["EKB"]
    assert len(out["nyckeltal"]) == 23
    for n in out["nyckeltal"]:
        assert n["intervall"] in {"manadsvis", "delar", "arsvis"}
        assert 2023 <= n["forsta_ar"] <= 2024
    assert out["modellversioner"]["2026"] == {"modellversion": "4.0", "revisioner": ["4.1"]}


def test_list_text(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "AN-VB" in out and "Vårdbostad och korttidsplatser" in out
    assert "2026: 4.0, 4.1 från 2026-07" in out


def test_console_script_help_lists_every_command():
    r = subprocess.run([sys.executable, "-m", "vu_lib.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for cmd in ("list", "validate", "ingest", "sample", "run", "budget"):
        assert cmd in r.stdout


def test_bad_usage_exits_2():
    r = subprocess.run([sys.executable, "-m", "vu_lib.cli", "frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2
