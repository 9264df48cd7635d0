"""Benchmark: validate and ingest a large ledger export; wall time and peak memory.

Usage::

    .venv/bin/python benchmarks/bench_ingest.py            # 200 MB exports (about 2.7 million rows)
    .venv/bin/python benchmarks/bench_ingest.py --mb 20    # smaller, for a quick look

Four exports of the same rows are written to a temporary folder: one without
any quote, one where one text in a hundred is quoted (``"Löner; och annat"``),
one where that quoted text also holds a line break, and one where one text in a
hundred holds a stray quote inside an unquoted value (``Skärm 24" Dell``,
``Lön 5"``: a literal character, as CSV readers keep it). Each is given to ``vu validate``
and to ``vu ingest`` (into a new store) in a fresh process; the wall time and
the peak resident memory of that process (``wait4`` rusage ``ru_maxrss``) are
printed. Target (issue 12): under 1 GiB whatever the quoting.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VU = Path(sys.executable).parent / "vu"


def write_export(path: Path, mb: int, quoted: str) -> int:
    """A huvudbok export of about ``mb`` megabytes (UTF-8, CRLF); returns its number of rows."""
    rnd = random.Random(12)
    target = mb * 1_000_000
    size = i = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("period;kodtyp;kod;konto;verifikation;belopp;text\r\n")
        while size < target:
            m = 1 + i % 10
            if quoted == "lösa" and i % 100 == 5:
                text = f'Skärm 24" Dell {i % 97}' if i % 200 == 5 else f'Lön {i % 97}"'
            elif quoted and i % 100 == 5:
                text = f'"Löner; och\r\nannat {i % 97}"' if quoted == "rader" else f'"Löner; och annat {i % 97}"'
            else:
                text = f"Löner och annat {i % 97}"
            line = (f"2026-{m:02d};ID;411110;5011;V2026-{m:02d}-{i:07d}:1;"
                    f"{rnd.randint(-999_999, 999_999)},{rnd.randint(0, 99):02d};{text}\r\n")
            f.write(line)
            size += len(line.encode("utf-8"))
            i += 1
    return i


def measure(args: list[str]) -> tuple[float, float, int]:
    """(seconds, peak MiB, exit code) of ``vu <args>`` in a fresh process."""
    t = time.perf_counter()
    proc = subprocess.Popen([str(VU), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.stderr.write(proc.stderr.read().decode(errors="replace")[-2000:])
    return seconds, usage.ru_maxrss / 1024, proc.returncode


VARIANTS = ("", "citat", "rader", "lösa")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=200, help="size of each export in MB (default 200)")
    ap.add_argument("--only", choices=[v or "utan" for v in VARIANTS], action="append",
                    help="measure only this variant (may be repeated; default all four)")
    opts = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vu-bench-ingest-"))
    try:
        print(f"{'export':<44} {'kommando':<9} {'tid':>8} {'topp-RSS':>10}  mål < 1 GiB")
        for quoted in VARIANTS:
            if opts.only and (quoted or "utan") not in opts.only:
                continue
            d = work / (quoted or "utan-citat")
            d.mkdir()
            export = d / "huvudbok_2026.csv"
            rows = write_export(export, opts.mb, quoted)
            label = f"{export.stat().st_size / 1e6:.0f} MB, " + f"{rows:,} rader".replace(",", " ")
            label += {"": "", "citat": ", citat", "rader": ", citat över rader",
                       "lösa": ", lösa citattecken"}[quoted]
            for cmd in ("validate", "ingest"):
                args = [cmd, str(export)] + (["--store", str(d / "vu.duckdb")] if cmd == "ingest" else [])
                s, mib, code = measure(args)
                ok = "ja" if mib < 1024 and code == 0 else "NEJ"
                print(f"{label:<44} {cmd:<9} {s:>7.1f}s {mib:>7.0f} MiB  {ok}"
                      + ("" if code == 0 else f"  (slutkod {code})"), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
