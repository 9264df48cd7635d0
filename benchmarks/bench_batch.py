"""Benchmark of the batch (``vu run``): wall time against two floors, the unchanged re-run, charts outside the kernels.

Prints, in one run:

1. the old floor: a bare kernel start plus ``import pandas, altair, vu_lib`` in it (a normal
   ipykernel, measured once), times the number of notebooks, divided by the workers;
2. the wall time of ``vu run --force`` for the full set of the latest delår of the data
   (a fresh ``--out`` directory, HTML + PDF, ``--jobs`` workers);
3. the work floor: the same notebooks' code cells executed in ONE already-warm process
   (pandas, Altair, vu_lib imported, the model's tables computed, an IPython shell that
   formats every result as a kernel would, ``VU_BATCH=1``), each notebook's parameters as
   papermill injected them, plus rendering them (HTML, PDF and xlsx, with one renderer whose
   vl-convert engine and Vega bundle are already loaded), summed and divided by the workers;
   and the ratios batch / each floor (target ≤ 1.25 against the work floor); beside it, one warm
   start (a fresh process importing, opening the model and preparing as the zygote does before
   its first report child) added to the work floor, and the lowest ratio any batch that starts
   once could reach: (warm start + work floor) / work floor;
4. the wall time of the unchanged re-run (target < 2 s);
5. charts drawn by one warm engine (the parent's, for every report child or kernel): the first
   chart's SVG in a fresh process (vl-convert's engine starts) against the same SVG in the warm
   renderer, and what that saves per batch;
6. with Quarto (>= 1.5) on PATH: the wall time of the same batch through Quarto
   (``--renderer quarto``, a fresh ``--out``) beside the built-in one, and the ratio (target <= 2).

Usage::

    .venv/bin/python benchmarks/bench_batch.py [--jobs N] [--notebooks DIR] [--keep]

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
        code = fn(args, notebooks=nbs)
        from vu_lib.core.io import exit_now
        exit_now(code)  # as the `vu` command ends (vu_lib.cli.console)

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


# The work floor, in a process of its own: warm everything first (untimed), then time each
# notebook's cells and its rendering. argv: executed-notebooks dir, store ('' = default).
WORK = textwrap.dedent("""
    import contextlib, datetime, io, json, os, sys, tempfile, time
    from pathlib import Path

    os.environ["VU_BATCH"] = "1"
    nb_dir, store = Path(sys.argv[1]), sys.argv[2] or None
    from vu_lib.core.io import lighten_imports
    lighten_imports()
    import nbformat, pandas, altair  # noqa: F401
    import vu_lib, vu_lib.report, vu_lib.report.charts  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell
    from vu_lib.model.model import open_model
    from vu_lib.publish.render import Renderer, add_chart_svgs, vega_javascript
    from vu_lib.publish.outputs import tables_in_notebook, write_tables_xlsx
    from vu_lib.report.charts import svg_from_spec, _svg_from_spec, VEGALITE_MIME

    open_model(store).warm()
    shell = InteractiveShell.instance()
    renderer = Renderer()
    vega_javascript()
    paths = sorted(nb_dir.glob("*.ipynb"))
    first_chart = None
    for p in paths:  # the first chart of the set, drawn once here so the engine is warm
        for c in nbformat.read(p, as_version=4).cells:
            for o in c.get("outputs", []):
                if first_chart is None and VEGALITE_MIME in o.get("data", {}):
                    first_chart = o["data"][VEGALITE_MIME]
    svg_from_spec(first_chart["spec"], first_chart["beskrivning"])
    out = tempfile.mkdtemp(prefix="vu-work-")
    meta = {"titel": "Uppföljning", "undertitel": "", "vu": "x", "period": "2026-10", "modellversion": "4.1",
            "data_fingerprint": "x", "kodversion": "x", "datum": datetime.date.today().isoformat()}
    res = {}

    def cpu():
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    for p in paths:
        nb = nbformat.read(p, as_version=4)
        shell.reset(new_session=False)
        c0, t0 = cpu(), time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            for c in nb.cells:
                if c.cell_type == "code":
                    r = shell.run_cell(c.source, store_history=False)
                    if not r.success:
                        raise SystemExit(f"{p.name}: {r.error_in_exec or r.error_before_exec}")
        c1, t1 = cpu(), time.perf_counter()
        for fmt in ("html", "pdf"):
            getattr(renderer, "render_" + fmt)(p, Path(out) / (p.stem + "." + fmt), meta)
        write_tables_xlsx(tables_in_notebook(nbformat.read(p, as_version=4)), Path(out) / (p.stem + ".xlsx"), meta)
        res[p.stem] = {"exec": t1 - t0, "render": time.perf_counter() - t1,
                       "exec_cpu": c1 - c0, "render_cpu": cpu() - c1}
    t0 = time.perf_counter()
    _svg_from_spec(first_chart["spec"], first_chart["beskrivning"])  # drawn again (not the memo)
    res["_warm_svg"] = time.perf_counter() - t0
    res["_charts"] = sum(1 for p in paths for c in nbformat.read(p, as_version=4).cells
                         for o in c.get("outputs", []) if VEGALITE_MIME in o.get("data", {}))
    res["_notebooks_with_charts"] = sum(1 for p in paths if any(VEGALITE_MIME in o.get("data", {})
                         for c in nbformat.read(p, as_version=4).cells for o in c.get("outputs", [])))
    Path(sys.argv[3]).write_text(json.dumps(res))
""")

# The first chart's SVG in a fresh process: vl-convert's engine starts for it (what every
# kernel paid when kernels drew their own SVG). argv: a JSON file with the chart payload.
FIRST_SVG = textwrap.dedent("""
    import json, sys, time
    from vu_lib.report.charts import svg_from_spec
    payload = json.load(open(sys.argv[1]))
    t0 = time.perf_counter()
    svg_from_spec(payload["spec"], payload["beskrivning"])
    print(time.perf_counter() - t0)
""")


# One warm start, as the batch's zygote makes it before its first report child: a fresh
# interpreter, the preloaded modules, the model over the store, papermill, the shell and the
# renderer. argv: notebooks dir. Prints "klar" when ready.
WARM_START = textwrap.dedent("""
    import importlib, os, sys
    os.environ["VU_BATCH"] = "1"
    from vu_lib.core.io import exit_now, lighten_imports
    lighten_imports()
    from pathlib import Path
    from vu_lib.publish.zygote import preload_modules
    for mod in preload_modules(sorted(Path(sys.argv[1]).glob("*.ipynb"))):
        if not mod.startswith("ipykernel"):
            importlib.import_module(mod)
    from vu_lib.core.params import load_params
    from vu_lib.model.model import open_model
    from vu_lib.publish.inprocess import prepare
    open_model(None, params=load_params()).warm()
    prepare(render=True)
    print("klar", flush=True)
    exit_now(0)
""")


def warm_start(nb_dir: Path, tmp: Path) -> float:
    """Seconds from a fresh interpreter to a zygote ready to fork its first report child (best of 2)."""
    script = tmp / "warm_start.py"
    script.write_text(WARM_START, encoding="utf-8")
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, str(script), str(nb_dir)], cwd=ROOT / "notebooks",
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        times.append(time.perf_counter() - t0)
        out, err = p.communicate()
        if p.returncode != 0 or line.strip() != "klar":
            raise RuntimeError(f"uppvärmningen kunde inte mätas:\n{line}{out}{err}")
    return min(times)


def work_floor(nb_dir: Path, tmp: Path) -> dict:
    """Per executed notebook: seconds of its cells and of its rendering in one warm process."""
    script, result = tmp / "work.py", tmp / "work.json"
    script.write_text(WORK, encoding="utf-8")
    r = subprocess.run([sys.executable, str(script), str(nb_dir), "", str(result)], cwd=ROOT / "notebooks",
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"arbetsgolvet kunde inte mätas:\n{r.stdout}{r.stderr}")
    return json.loads(result.read_text())


def first_svg_fresh(nb_dir: Path, tmp: Path) -> float:
    """Seconds for the set's first chart's SVG in a fresh process (imports not counted)."""
    import nbformat

    from vu_lib.report.charts import VEGALITE_MIME

    payload = next(o["data"][VEGALITE_MIME] for p in sorted(nb_dir.glob("*.ipynb"))
                   for c in nbformat.read(p, as_version=4).cells for o in c.get("outputs", [])
                   if VEGALITE_MIME in o.get("data", {}))
    (tmp / "chart.json").write_text(json.dumps(payload), encoding="utf-8")
    (tmp / "first_svg.py").write_text(FIRST_SVG, encoding="utf-8")
    r = subprocess.run([sys.executable, str(tmp / "first_svg.py"), str(tmp / "chart.json")], cwd=ROOT,
                       capture_output=True, text=True, check=True)
    return float(r.stdout.strip().splitlines()[-1])


def timeline(log: dict) -> str:
    """When, inside the run, the first notebook started executing and the last one had executed."""
    import datetime as dt

    t0 = dt.datetime.fromisoformat(log["start"])
    starts = [dt.datetime.fromisoformat(j["start"]) for j in log["jobb"] if j.get("start")]
    ends = [dt.datetime.fromisoformat(j["slut"]) for j in log["jobb"] if j.get("slut")]
    if not starts or not ends:
        return "–"
    return (f"första notebooken började {(min(starts) - t0).total_seconds():.2f} s in i körningen (uppvärmning), "
            f"den sista var körd efter {(max(ends) - t0).total_seconds():.2f} s, körningen slut efter "
            f"{log['sekunder']:.2f} s")


def warm_disk_cache(nb_dir: str) -> None:
    """Open the model once (untimed), so its disk cache matches this code, as after any earlier run.

    A change to any ``.py`` under vu_lib changes the cache key; the first batch after it
    computes the model's tables again (about 1 s in the zygote), which is not what is measured.
    """
    subprocess.run([sys.executable, "-c", "from vu_lib.model.model import open_model; open_model().warm()"],
                   cwd=ROOT / "notebooks", check=True, capture_output=True)


def children_cpu() -> float:
    """CPU seconds (user + system) of every finished descendant so far (kernels and workers included)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


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
        warm_disk_cache(a.notebooks)
        cpu0 = children_cpu()
        wall, rc, text = run_batch(runner, a.notebooks, out, a.jobs, force=True)
        batch_cpu = children_cpu() - cpu0
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
        executed = logs[0].parent / "notebooks"
        cpu0 = children_cpu()
        work = work_floor(executed, tmp)
        work_cpu = children_cpu() - cpu0
        per = {k: v for k, v in work.items() if not k.startswith("_")}
        w_exec = sum(v["exec"] for v in per.values())
        w_render = sum(v["render"] for v in per.values())
        w_floor = (w_exec + w_render) / a.jobs
        w_cpu = sum(v["exec_cpu"] + v["render_cpu"] for v in per.values())
        fresh_svg = first_svg_fresh(executed, tmp)
        start = warm_start(nb_dir, tmp)
        k = work["_notebooks_with_charts"]
        print(f"Period {log['etikett']}, {n} notebooks, {a.jobs} arbetsprocesser, renderare {log['renderare']}, "
              f"format {', '.join(log['parametrar']['format'])}")
        print(f"(1) Gammalt golv: kärnstart + import pandas, altair, vu_lib = {one:.2f} s; "
              f"× {n} / {a.jobs} = {floor:.2f} s")
        print(f"(2) Batch, --force, ny utkatalog: {wall:.2f} s  "
              f"(körning per notebook {min(exe):.2f}–{max(exe):.2f} s, summa {sum(exe):.1f} s; "
              f"rendering summa {sum(ren):.1f} s)")
        print(f"    Tidslinje: {timeline(log)}")
        print(f"(3) Arbetsgolv: cellerna i en varm process {w_exec:.2f} s + rendering (html, pdf, xlsx) "
              f"{w_render:.2f} s = {w_exec + w_render:.2f} s; / {a.jobs} = {w_floor:.2f} s")
        print(f"    Kvot batch/arbetsgolv: {wall / w_floor:.2f}  (mål ≤ 1,25); batch/gammalt golv: {wall / floor:.2f}")
        print(f"    Med en varm start: en ny process färdig att grena sin första rapportprocess (import, modell, "
              f"papermill, skal, renderare) {start:.2f} s + arbetsgolvet {w_floor:.2f} s = {start + w_floor:.2f} s; "
              f"kvot batch/det {wall / (start + w_floor):.2f}. Lägsta möjliga kvot mot arbetsgolvet för en batch "
              f"som startar en gång: {(start + w_floor) / w_floor:.2f}")
        print(f"    CPU-tid (oberoende av annan last): batch {batch_cpu:.1f} s i alla processer; arbetet "
              f"{w_cpu:.1f} s (cellerna och renderingen, utan uppvärmning; hela arbetsgolvprocessen {work_cpu:.1f} s); "
              f"kvot {batch_cpu / w_cpu:.2f}. Belastning nu {os.getloadavg()[0]:.1f} på {os.cpu_count()} kärnor")
        print(f"(4) Oförändrad omkörning: {again:.2f} s, {cached} av {n} från cache  (mål < 2 s)")
        print(f"(5) Diagram av en varm motor (förälderns, inte en per rapportprocess): första diagrammets SVG i en ny process {fresh_svg:.2f} s "
              f"(vl-converts motor startar), i den varma renderaren {work['_warm_svg']:.3f} s; "
              f"{k} notebooks med diagram ({work['_charts']} diagram): "
              f"{k * (fresh_svg - work['_warm_svg']):.1f} s kärntid sparad per batch, "
              f"≈ {k * (fresh_svg - work['_warm_svg']) / a.jobs:.1f} s väggtid med {a.jobs} arbetsprocesser")
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
    """(6) The same batch through Quarto, beside the built-in renderer's wall time."""
    if a.no_quarto:
        return 0
    from vu_lib.publish.quarto import QuartoError, check_quarto, quarto_version

    try:
        exe = check_quarto()
    except QuartoError as e:
        print(f"(6) Quarto: hoppas över ({e})")
        return 0
    out = tmp / "reports-quarto"
    wall, rc, text = run_batch(runner, a.notebooks, out, a.jobs, force=True, renderer="quarto")
    if rc != 0:
        print(text, file=sys.stderr)
        print(f"(6) Quarto-körningen misslyckades (slutkod {rc})", file=sys.stderr)
        return 1
    log = json.loads(sorted(out.glob("*/korlogg.json"))[0].read_text(encoding="utf-8"))
    q = [j["rendering_sekunder"].get("quarto", 0.0) for j in log["jobb"] if j["rendering_sekunder"]]
    version = ".".join(map(str, quarto_version(exe) or ()))
    print(f"(6) Batch genom Quarto {version}, --force, ny utkatalog: {wall:.2f} s mot inbyggd {builtin_wall:.2f} s, "
          f"kvot {wall / builtin_wall:.2f}  (mål ≤ 2; Quarto-tid per rapport {min(q):.2f}–{max(q):.2f} s, "
          f"summa {sum(q):.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
