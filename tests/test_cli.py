"""The vu command line: listing, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

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


EXIT_NOW = """
import atexit, sys, threading, time
from pathlib import Path
from vu_lib.core.io import exit_now
atexit.register(lambda: print("atexit ran", flush=False))
def late():
    time.sleep(0.3)
    Path(sys.argv[2]).write_text("klar")
threading.Thread(target=late).start()  # not a daemon: waited for, as at a normal exit
print("utdata", end="")        # still in the buffer: exit_now flushes it
print("fel", end="", file=sys.stderr)
exit_now(int(sys.argv[1]), join_threads=sys.argv[3] == "join")
print("never")
"""


@pytest.mark.parametrize("code, join", [(0, "join"), (1, "join"), (2, "join"), (0, "no")])
def test_exit_now_keeps_the_code_the_output_atexit_and_threads(tmp_path, code, join):
    """What a normal exit keeps; a thread that is not a daemon is waited for, unless the caller says not to
    (a forked report child: its result is sent, a notebook's stray thread must not keep it alive)."""
    script = tmp_path / "exit.py"
    script.write_text(EXIT_NOW, encoding="utf-8")
    done = tmp_path / "tråd.txt"
    r = subprocess.run([sys.executable, str(script), str(code), str(done), join], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (code, "utdataatexit ran\n", "fel")
    assert done.exists() == (join == "join")


CONSOLE = """
import sys

import pytest
from vu_lib.cli import console
console(sys.argv[1:])
"""


@pytest.mark.parametrize("argv, code, stream, text", [
    (["--help"], 0, "stdout", "validate"),            # argparse exits through SystemExit(0)
    (["frobnicate"], 2, "stderr", "frobnicate"),      # a usage error: SystemExit(2), its message printed
    (["list"], 0, "stdout", "AN-VB"),                 # main's own return value
])
def test_console_exits_with_mains_code(tmp_path, argv, code, stream, text):
    """The `vu` command (console script ``vu_lib.cli:console``) ends as main() says, with its output flushed."""
    script = tmp_path / "console.py"
    script.write_text(CONSOLE, encoding="utf-8")
    r = subprocess.run([sys.executable, str(script), *argv], capture_output=True, text=True, timeout=120)
    assert r.returncode == code, r.stderr
    assert text in getattr(r, stream)
