"""Benchmark of the batch (``vu run``): wall time against a floor, and the unchanged re-run.

Prints, in one run:

1. the floor: the time of a bare kernel start plus ``import pandas, altair,
   vu_lib`` in it (a normal ipykernel, measured once), times the number of
   notebooks, divided by the workers;
2. the wall time of ``vu run --force`` for the full set of the latest delår
   of the data (a fresh ``--out`` directory);
3. the ratio batch / floor (target <= 1.3);
4. the wall time of the unchanged re-run (target < 2 s);
5. with Quarto (≥ 1.5) on PATH: the wall time of the same batch through Quarto
   (``--renderer quarto``, a fresh ``--out``) beside the built-in one, and the
   ratio (target ≤ 2).

Usage::

    .venv/bin/python benchmarks/bench_batch.py [--jobs N] [--notebooks DIR] [--keep] [--no-quarto]

``--notebooks`` runs other notebooks (same names and parameters as in
``notebooks/``); ``--keep`` leaves the output directory in place.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The same code path as the `vu` console script, with an optional notebooks directory.
RUNNER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from vu_lib.publish import batch
    from vu_lib.cli import build_parser

    def main():
        nb_dir, argv = sys.argv[1], sys.argv[2:]
        args = build_parser().parse_args(argv)
        nbs = batch.NotebookSet(directory=Path(nb_dir)) if nb_dir else None
        fn = batch.cli_run if args.command == "run" else batch.cli_budget
        sys.exit(fn(args, notebooks=nbs))

    if __name__ == "__main__":
        main()
""")


def kernel_floor() -> float:
    """Seconds from starting a normal python3 kernel to `import pandas, altair, vu_lib` done in it."""
    from jupyter_client.manager import KernelManager

    t0 = time.perf_counter()
    km = KernelManager(kernel_name="python3")
    km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(ROOT / "notebooks"))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        reply = kc.execute_interactive("import pandas, altair, vu_lib", timeout=300, output_hook=lambda m: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"importen misslyckades i kärnan: {reply['content']}")
        return time.perf_counter() - t0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run_batch(runner: Path, nb_dir: str, out: Path, jobs: int, force: bool,
              renderer: str = "builtin") -> tuple[float, int, str]:
    argv = [sys.executable, str(runner), nb_dir, "run", "--out", str(out), "--jobs", str(jobs), "--renderer", renderer]
    if force:
        argv.append("--force")
    t0 = time.perf_counter()
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - t0, r.returncode, r.stdout + r.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="arbetsprocesser (standard: antal kärnor)")
    ap.add_argument("--notebooks", default="", help="annan notebookkatalog (standard: notebooks/)")
    ap.add_argument("--keep", action="store_true", help="behåll utkatalogen")
    ap.add_argument("--no-quarto", action="store_true", help="hoppa över körningen genom Quarto")
    a = ap.parse_args()

    nb_dir = Path(a.notebooks) if a.notebooks else ROOT / "notebooks"
    missing = [n for n in ("vu_rapport.ipynb", "oversikt.ipynb", "modell.ipynb") if not (nb_dir / n).is_file()]
    if missing:
        print(f"Notebookarna saknas i {nb_dir}: {', '.join(missing)}", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="vu-bench-batch-"))
    runner = tmp / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    out = tmp / "reports"
    try:
        one = kernel_floor()
        wall, rc, text = run_batch(runner, a.notebooks, out, a.jobs, force=True)
        if rc != 0:
            print(text, file=sys.stderr)
            print(f"Körningen misslyckades (slutkod {rc})", file=sys.stderr)
            return 1
        logs = sorted(out.glob("*/korlogg.json"))
        log = json.loads(logs[0].read_text(encoding="utf-8"))
        n = len(log["jobb"])
        floor = one * n / a.jobs
        again, rc2, text2 = run_batch(runner, a.notebooks, out, a.jobs, force=False)
        log2 = json.loads(logs[0].read_text(encoding="utf-8"))
        cached = sum(j["status"] == "oförändrad" for j in log2["jobb"])

        exe = [j["korning_sekunder"] for j in log["jobb"] if j["korning_sekunder"] is not None]
        ren = [sum(j["rendering_sekunder"].values()) for j in log["jobb"] if j["rendering_sekunder"]]
        print(f"Period {log['etikett']}, {n} notebooks, {a.jobs} arbetsprocesser, renderare {log['renderare']}, "
              f"format {', '.join(log['parametrar']['format'])}")
        print(f"(1) Golv: kärnstart + import pandas, altair, vu_lib = {one:.2f} s; "
              f"× {n} / {a.jobs} = {floor:.2f} s")
        print(f"(2) Batch, --force, ny utkatalog: {wall:.2f} s  "
              f"(körning per notebook {min(exe):.2f}–{max(exe):.2f} s, summa {sum(exe):.1f} s; "
              f"rendering summa {sum(ren):.1f} s)")
        print(f"(3) Kvot batch/golv: {wall / floor:.2f}  (mål ≤ 1,3)")
        print(f"(4) Oförändrad omkörning: {again:.2f} s, {cached} av {n} från cache  (mål < 2 s)")
        if cached != n or rc2 != 0:
            print("    Obs: omkörningen körde om notebooks: indata ändrades mellan körningarna "
                  "(t.ex. källkod som redigeras samtidigt).", file=sys.stderr)
        return quarto_run(runner, a, tmp, wall)
    finally:
        if a.keep:
            print(f"Utkatalog: {out}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def quarto_run(runner: Path, a, tmp: Path, builtin_wall: float) -> int:
    """(5) The same batch through Quarto, beside the built-in renderer's wall time."""
    if a.no_quarto:
        return 0
    from vu_lib.publish.quarto import QuartoError, check_quarto, quarto_version

    try:
        exe = check_quarto()
    except QuartoError as e:
        print(f"(5) Quarto: hoppas över ({e})")
        return 0
    out = tmp / "reports-quarto"
    wall, rc, text = run_batch(runner, a.notebooks, out, a.jobs, force=True, renderer="quarto")
    if rc != 0:
        print(text, file=sys.stderr)
        print(f"(5) Quarto-körningen misslyckades (slutkod {rc})", file=sys.stderr)
        return 1
    log = json.loads(sorted(out.glob("*/korlogg.json"))[0].read_text(encoding="utf-8"))
    q = [j["rendering_sekunder"].get("quarto", 0.0) for j in log["jobb"] if j["rendering_sekunder"]]
    version = ".".join(map(str, quarto_version(exe) or ()))
    print(f"(5) Batch genom Quarto {version}, --force, ny utkatalog: {wall:.2f} s mot inbyggd {builtin_wall:.2f} s, "
          f"kvot {wall / builtin_wall:.2f}  (mål ≤ 2; Quarto-tid per rapport {min(q):.2f}–{max(q):.2f} s, "
          f"summa {sum(q):.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
