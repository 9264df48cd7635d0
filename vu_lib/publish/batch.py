"""Batch runs of the report notebooks: ``vu run`` and ``vu budget``.

A batch goes through five steps, each in its own module:

1. **Plan** (:mod:`vu_lib.plan`): the jobs of a period (:func:`plan_run`: one
   ``vu_rapport`` per VU, the overviews ÄN, SON and Leanlink, ``modell``) or
   of a budget year (:func:`plan_budget`), with their parameters.
2. **Cache** (:mod:`vu_lib.cache`): a job whose content key matches the last
   successful run and whose outputs are all in place is skipped ("oförändrad,
   hoppar över"). This path imports nothing heavy (no pandas, DuckDB,
   papermill or nbformat), so an unchanged re-run takes well under a second.
3. **Execute** (:mod:`vu_lib.publish.forkpool`, :mod:`vu_lib.publish.inprocess`):
   on Linux one *report child* per notebook, forked from a zygote
   (:mod:`vu_lib.publish.zygote`) that has imported pandas, Altair, vu_lib,
   papermill and the renderer once and warmed the model, executes the notebook
   in-process through papermill, then renders it (step 4) itself. Elsewhere
   (:mod:`vu_lib.publish.execute`, :mod:`vu_lib.publish.kernels`): papermill in
   long-lived worker processes (``--jobs``), each notebook in a kernel of its own.
4. **Render** (:mod:`vu_lib.publish.produce`): publish the executed notebook,
   render HTML and PDF with the built-in :class:`vu_lib.publish.render.Renderer`
   and export its tables to Excel: in the report child (its chart SVGs drawn by
   the parent's warm vl-convert engine), or in the parent as soon as a worker has
   executed the notebook. With Quarto, the parent hands each notebook to a
   :class:`vu_lib.publish.quarto.QuartoPipeline`, which renders it while the
   others still run.
5. **Publish** (:mod:`vu_lib.outputs`): signed notebooks, reports, workbooks,
   ``index.html``, the run log and the cache state, each written atomically.

Output layout under ``--out`` (default ``reports``)::

    <out>/<period>/<VU-ID>.html|pdf|xlsx      one per VU
    <out>/<period>/AN|SON|Leanlink.html|pdf|xlsx
    <out>/<period>/modell.html|pdf|xlsx
    <out>/<period>/notebooks/<name>.ipynb     executed, signed
    <out>/<period>/index.html                 links to all of the above
    <out>/<period>/korlogg.json, korlogg.txt  the run log
    <out>/<period>/.vu-batch.json             cache state (keys, outputs, status)
    <out>/budget-<year>/budget.html|pdf|xlsx  from ``vu budget <year>``

Exit codes: 0 ok, 1 a job failed, 2 bad usage or bad input, 130 interrupted.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from vu_lib.publish.cache import BatchState, Inputs, assign_keys, collect_inputs, data_last_period
from vu_lib.core.exceptions import BatchUsageError, InputError, ParamsError, VuError
from vu_lib.core.text import public_path
from vu_lib.publish.execute import WorkerPool, format_execution_error, lighten_imports
from vu_lib.publish.forkpool import ReportPool, report_children_supported
from vu_lib.publish.outputs import (FAILED_STATUSES, STATUS_CACHED, STATUS_OK, STATUS_RENDER_FAILED,
                                    atomic_write_text, clean_stale, clean_stale_temp_dirs, dump_json, now,
                                    render_index, render_log_text, running_path, secs)
from vu_lib.model.periods import PeriodError
from vu_lib.publish.plan import Job, NotebookSet, apply_extra_parameters, plan_budget, plan_run, validate_period

FORMATS = ("html", "pdf")

__all__ = ["FORMATS", "BatchUsageError", "NotebookSet", "Job", "plan_run", "plan_budget", "Batch", "BatchResult",
           "parse_formats", "check_renderer", "summary_text", "cli_run", "cli_budget"]


# =========================================================================== options
def parse_formats(value: str | Iterable[str]) -> list[str]:
    """``'html,pdf'`` -> ``['html', 'pdf']``; BatchUsageError for an unknown format."""
    items = value.split(",") if isinstance(value, str) else list(value)
    fmts = [f.strip().lower().lstrip(".") for f in items if f and f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise BatchUsageError(f"Okänt format '{bad[0]}' i --to (välj bland: {', '.join(FORMATS)})")
    if not fmts:
        raise BatchUsageError("--to måste ange minst ett format (html, pdf)")
    return list(dict.fromkeys(fmts))


def _resolve_renderer(choice: str) -> str:
    """'builtin' or 'quarto' for a ``--renderer`` choice.

    ``auto`` is the built-in renderer on every machine, with or without Quarto
    (see the README: the same documents everywhere, the path the back tests
    check, about half the time); Quarto renders only when asked for.
    """
    return "quarto" if choice == "quarto" else "builtin"


def check_renderer(choice: str) -> None:
    """``--renderer quarto`` needs Quarto ≥ 1.5 on PATH (BatchUsageError otherwise)."""
    if choice == "quarto":
        from vu_lib.publish.quarto import QuartoError, check_quarto

        try:
            check_quarto()
        except QuartoError as e:
            raise BatchUsageError(str(e)) from None


# =========================================================================== navigation
def navigation(job: Job, jobs: list[Job], directory: Path, info: dict) -> dict:
    """The links of a report page: breadcrumbs (index → nämnd → report) and related reports.

    A link is given only to a report of this batch or a file already in the
    output directory, so every link of the page leads somewhere.
    """
    names = {j.name: j for j in jobs}

    def exists(name: str) -> bool:
        return name in names or (directory / f"{name}.html").is_file()

    namnder = info.get("namnder", {})
    crumbs = [[info.get("title") or "Alla rapporter", "index.html"]]
    related: list[list[str]] = []
    if job.kind == "vu":
        if job.namnd and exists(job.namnd):
            crumbs.append([namnder.get(job.namnd, job.namnd), f"{job.namnd}.html"])
            related.append([f"Översikt {namnder.get(job.namnd, job.namnd)}", f"{job.namnd}.html"])
        if exists("Leanlink"):
            related.append(["Översikt Leanlink", "Leanlink.html"])
        if exists("modell"):
            related.append(["Ersättningsmodellen", "modell.html"])
    elif job.kind == "oversikt":
        for j in jobs:
            if j.kind == "vu" and (job.namnd is None or j.namnd == job.namnd) and job.namnd is not None:
                related.append([j.title, f"{j.name}.html"])
        for other in ("AN", "SON", "Leanlink"):
            if other != job.name and exists(other):
                related.append([f"Översikt {namnder.get(other, other)}", f"{other}.html"])
        if exists("modell"):
            related.append(["Ersättningsmodellen", "modell.html"])
    elif job.kind == "modell":
        for other in ("Leanlink", "AN", "SON"):
            if exists(other):
                related.append([f"Översikt {namnder.get(other, other)}", f"{other}.html"])
    return {"brodsmulor": crumbs, "relaterade": related}


# =========================================================================== the batch
@dataclass
class BatchResult:
    """What a batch did: the jobs with their outcome, and where the index is."""

    label: str
    directory: Path
    jobs: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    exit_code: int = 0

    @property
    def failed(self) -> list[dict]:
        return [j for j in self.jobs if j["status"] in FAILED_STATUSES]

    @property
    def cached(self) -> list[dict]:
        return [j for j in self.jobs if j["status"] == STATUS_CACHED]

    @property
    def index(self) -> Path:
        return self.directory / "index.html"


class Batch:
    """One batch run into ``<out>/<label>/``.

    Parameters
    ----------
    jobs : list of Job
        Planned jobs.
    label : str
        Output subdirectory: the period (``'2026-10'``) or ``'budget-2027'``.
    out : Path
        The ``--out`` directory.
    inputs : Inputs
    formats : list of str
        'html' and/or 'pdf'.
    n_jobs : int, optional
        Worker processes (default ``os.cpu_count()``).
    renderer : {'auto', 'builtin', 'quarto'}
    force : bool
        Ignore the cache.
    notebooks : NotebookSet, optional
    renderer_factory : callable, optional
        Builds the renderer (default :class:`vu_lib.render.Renderer`); tests
        inject fakes. The renderer needs ``render_html(nb_path, out_path, meta)``
        and/or ``render_pdf(...)``.
    info : dict, optional
        Shown in the index and the log: title, subtitle, period_label,
        modellversion, report_title, namnder, command, options.
    out_stream : file, optional
        Where the per-job lines and the summary go (default stdout).
    preload_data : bool
        Load the Dataset in the zygote so every kernel inherits it (off in
        tests with fixture notebooks).
    zygote_preload : list of str, optional
        Modules the zygote imports before forking kernels (None: the default set).
    report_children : bool, optional
        Execute and render each notebook in a report child forked from the zygote
        (:mod:`vu_lib.publish.forkpool`) where that is supported; default: when no
        ``renderer_factory`` is given (the children use the built-in renderer).
    """

    def __init__(self, jobs: list[Job], *, label: str, out: Path, inputs: Inputs, formats: list[str],
                 n_jobs: int | None = None, renderer: str = "auto", force: bool = False,
                 notebooks: NotebookSet | None = None, renderer_factory: Callable[[], Any] | None = None,
                 info: dict | None = None, out_stream=None, preload_data: bool = True,
                 zygote_preload: list[str] | None = None, report_children: bool | None = None):
        self.jobs = jobs
        self.label = label
        self.out = Path(out)
        self.directory = self.out / label
        self.nb_dir = self.directory / "notebooks"
        self.inputs = inputs
        self.formats = formats
        self.n_jobs = max(1, n_jobs or os.cpu_count() or 1)
        self.renderer_kind = _resolve_renderer(renderer)
        self.force = force
        self.notebooks = notebooks or NotebookSet()
        self.renderer_factory = renderer_factory
        self.info = dict(info or {})
        self.stream = out_stream or sys.stdout
        self.preload_data = preload_data
        self.zygote_preload = zygote_preload
        self.report_children = report_children
        self._renderer = None
        self._renderer_error: str | None = None
        self._quarto = None  # QuartoPipeline while a quarto batch renders
        self._notary_obj = None  # nbformat's NotebookNotary, built when a report child sends a signature
        #: Per job name: status, exec and render seconds, error, timestamps, outputs.
        self.results: dict[str, dict] = {}

    # ------------------------------------------------------------------ run
    def run(self) -> BatchResult:
        """Skip the fresh jobs, execute and render the others, publish state, log and index."""
        t0 = time.perf_counter()
        start = now()
        self.directory.mkdir(parents=True, exist_ok=True)
        # Debris of killed runs goes on every run, also when everything comes from the cache.
        clean_stale(self.directory)
        clean_stale(self.nb_dir)
        clean_stale_temp_dirs()
        state = BatchState(self.directory)
        assign_keys(self.jobs, self.notebooks, self.inputs, self.formats, self.renderer_kind)
        todo: list[Job] = []
        for job in self.jobs:
            if not self.force and state.is_fresh(job):
                e = state.jobs[job.name]
                self.results[job.name] = {"status": STATUS_CACHED, "exec": None, "render": {}, "error": None,
                                          "executed_at": e.get("executed_at"), "previous_exec": e.get("exec_seconds"),
                                          "previous_render": e.get("render_seconds")}
                self._say(f"{job.name}: oförändrad, hoppar över")
            else:
                todo.append(job)
        if todo:
            self._execute_and_render(todo, state)
        # Publish: state, log, index.
        for job in self.jobs:
            r = self.results[job.name]
            entry = state.jobs.get(job.name, {})
            entry.update({"title": job.title, "kind": job.kind, "namnd": job.namnd, "order": job.order,
                          "notebook": job.notebook, "parameters": job.parameters})
            if r["status"] != STATUS_CACHED:
                entry.update({"status": r["status"], "key": job.key if r["status"] == STATUS_OK else None,
                              "executed_at": r.get("executed_at"), "exec_seconds": r.get("exec"),
                              "render_seconds": r.get("render"), "error": r.get("error"),
                              "summary": r.get("summary")})
                if r.get("outputs") is not None:
                    entry["outputs"] = r["outputs"]
                entry["saknar_atgarder"] = bool(r.get("saknar_atgarder"))
            state.jobs[job.name] = entry
        state.save()
        seconds = time.perf_counter() - t0
        result = BatchResult(self.label, self.directory, seconds=seconds)
        for job in self.jobs:
            r = self.results[job.name]
            result.jobs.append({"name": job.name, "title": job.title, "status": r["status"], "error": r.get("error"),
                                "exec": r.get("exec"), "render": r.get("render") or {},
                                "saknar_atgarder": bool(state.jobs[job.name].get("saknar_atgarder"))})
        result.exit_code = 1 if result.failed else 0
        log = self._log(start, seconds)
        atomic_write_text(self.directory / "korlogg.json", dump_json(log))
        atomic_write_text(self.directory / "korlogg.txt", render_log_text(log))
        info = {**self.info, **self.inputs.provenance(), "generated": start[:16].replace("T", " ")}
        index_html = render_index(state, info)
        atomic_write_text(self.directory / "index.html", index_html)
        if self.renderer_kind == "quarto":
            self._write_website(state, index_html)
        result.seconds = time.perf_counter() - t0
        return result

    def _say(self, text: str, bar=None) -> None:
        if bar is not None and not getattr(bar, "disable", True):
            bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def _log(self, start: str, seconds: float) -> dict:
        """The run log (``korlogg.json``)."""
        jobs = []
        for job in self.jobs:
            r = self.results[job.name]
            jobs.append({
                "namn": job.name, "titel": job.title, "notebook": job.notebook, "parametrar": job.parameters,
                "nyckel": job.key, "status": r["status"], "korning_sekunder": r.get("exec"),
                "rendering_sekunder": r.get("render") or {}, "start": r.get("started"), "slut": r.get("ended"),
                "fel": r.get("error"),
            })
            if r["status"] == STATUS_CACHED:
                jobs[-1].update({"fran_cache": True, "senast_kord": r.get("executed_at"),
                                 "senaste_korning_sekunder": r.get("previous_exec"),
                                 "senaste_rendering_sekunder": r.get("previous_render") or {}})
        inp = self.inputs
        return {
            "kommando": self.info.get("command", ""),
            "etikett": self.label,
            "period_etikett": self.info.get("period_label", ""),
            "parametrar": dict(self.info.get("options", {}), format=self.formats, processer=self.n_jobs),
            "renderare": self.renderer_kind,
            "indata": {"data_fingeravtryck": inp.data_fingerprint, "data_nyckel": inp.data_key,
                       "datakalla": inp.data_source, "lager": public_path(inp.store),
                       "params_fingeravtryck": inp.params_fingerprint, "kodversion": inp.code_version,
                       "kallkod_hash": inp.source_hash},
            "modellversion": self.info.get("modellversion", ""),
            "start": start, "slut": now(), "sekunder": round(seconds, 3),
            "jobb": jobs,
        }

    # ------------------------------------------------------------------ execution
    def _execute_and_render(self, todo: list[Job], state: BatchState) -> None:
        """Execute ``todo`` in report children or a :class:`~vu_lib.publish.execute.WorkerPool`; publish each as it is done."""
        lighten_imports()
        self.nb_dir.mkdir(parents=True, exist_ok=True)
        clean_stale(self.directory)
        clean_stale(self.nb_dir)

        # Longest first (the previous run's durations; else overviews, VU, modell) to shorten the tail.
        def expected(job: Job) -> float:
            prev = state.jobs.get(job.name, {}).get("exec_seconds")
            return float(prev) if prev else {"oversikt": 9.0, "vu": 6.0, "budget": 5.0, "modell": 2.0}.get(job.kind, 1.0)

        todo = sorted(todo, key=expected, reverse=True)
        by_name = {job.name: job for job in todo}
        running = {job.name: running_path(self.nb_dir, job.name) for job in todo}
        wanted = self.report_children if self.report_children is not None else self.renderer_factory is None
        children = wanted and report_children_supported()
        pool_class = ReportPool if children else WorkerPool
        options = {"render": self.renderer_kind == "builtin"} if children else {}
        pool = pool_class(min(self.n_jobs, len(todo)), cwd=self.notebooks.directory,
                          notebooks=[self.notebooks.path(j.notebook) for j in todo], preload=self.zygote_preload,
                          store=self.inputs.store if self.preload_data else None, **options)
        try:
            with pool:
                if children:
                    # Each child publishes and renders its own report: what it needs goes with it,
                    # the displayed data fingerprint included (builds the sample store if needed).
                    self.inputs.resolve_sample_fingerprint()
                for job in todo:
                    request = {"name": job.name, "input": str(self.notebooks.path(job.notebook).resolve()),
                               "output": str(running[job.name].resolve()),
                               "parameters": {**job.parameters, "store": str(self.inputs.store)},
                               "cwd": str(Path(self.notebooks.directory).resolve())}
                    if children:
                        request["spec"] = self._spec(job)
                    pool.submit(request)
                pool.wait_zygote()
                if not children:
                    # While the workers start: the displayed data fingerprint (builds the
                    # sample store if needed) and the renderer (imports nbconvert & co).
                    self.inputs.resolve_sample_fingerprint()
                if self.renderer_kind == "builtin":
                    if not children:
                        try:
                            self._renderer_obj()
                        except VuError:
                            pass
                else:
                    self._start_quarto()
                bar = _progress(len(todo))
                try:
                    for res in pool.results():
                        job = by_name[res["name"]]
                        self._finish(job, res)
                        bar.update(1)
                        status = self.results[job.name]["status"]
                        if status in FAILED_STATUSES:
                            self._say(f"{job.name}: {status}", bar)
                    if self._quarto is not None:
                        self._finish_quarto(todo)
                finally:
                    bar.close()
        finally:
            for path in running.values():
                path.unlink(missing_ok=True)
            if self._quarto is not None:
                self._quarto.cleanup()
                self._quarto = None

    # ------------------------------------------------------------------ rendering
    def _renderer_obj(self):
        """The renderer, built once (a failure to build it fails every job's rendering with the same error)."""
        if self._renderer is None and self._renderer_error is None:
            try:
                if self.renderer_factory is not None:
                    self._renderer = self.renderer_factory()
                else:
                    from vu_lib.publish.render import Renderer

                    self._renderer = Renderer()
            except Exception as e:  # noqa: BLE001
                self._renderer_error = f"Renderaren kunde inte startas: {type(e).__name__}: {e}"
        if self._renderer_error:
            raise VuError(self._renderer_error)
        return self._renderer

    def _meta(self, job: Job) -> dict:
        """Report metadata for the renderer (keys of :data:`vu_lib.render.META_KEYS`)."""
        namnder = self.info.get("namnder", {})
        if job.kind in ("vu", "oversikt"):
            titel = self.info.get("report_title") or "Uppföljning"
            undertitel = job.title
            period = job.parameters.get("period", "")
            namn = f"{job.title} ({job.name})" if job.kind == "vu" else job.title
        elif job.kind == "modell":
            titel, undertitel = "Ersättningsmodellen", f"Modellversion {job.modellversion}"
            period = str(job.parameters.get("year", ""))
            namn = titel
        else:
            titel, undertitel = "Budgetförslag", "Ersättning per verksamhetsuppdrag"
            period = str(job.parameters.get("year", ""))
            namn = titel
        meta = {
            "titel": titel,
            "undertitel": undertitel,
            "namn": namn,
            "typ": job.kind,
            "vu": job.subject or job.name,
            "period": period,
            "modellversion": job.modellversion or self.info.get("modellversion", "") or "–",
            "data_fingerprint": self.inputs.data_fingerprint or "–",
            "kodversion": self.inputs.code_version or "–",
            "datum": dt.date.today().isoformat(),
            "datakalla": self.inputs.data_source,
            "navigering": navigation(job, self.jobs, self.directory, self.info),
        }
        if job.namnd and job.namnd in namnder:
            meta["namnd"] = namnder[job.namnd]
        return meta

    def _notary(self):
        """The batch's one writer of the notebook signatures database (report children send digests)."""
        if self._notary_obj is None:
            from nbformat.sign import NotebookNotary

            self._notary_obj = NotebookNotary()
        return self._notary_obj

    def _spec(self, job: Job) -> dict:
        """What :func:`vu_lib.publish.produce.produce` needs for ``job`` (JSON-able: a report child gets it too)."""
        nb_final = self.nb_dir / f"{job.name}.ipynb"
        return {
            "name": job.name,
            "running": str(running_path(self.nb_dir, job.name).resolve()),
            "final": str(nb_final),
            "relative": nb_final.relative_to(self.directory).as_posix(),
            "public": {"store": [str(self.inputs.store), public_path(self.inputs.store)],
                       "input_path": public_path(self.notebooks.path(job.notebook)),
                       "output_path": nb_final.relative_to(self.directory).as_posix()},
            "directory": str(self.directory),
            "formats": list(self.formats) if self.renderer_kind == "builtin" else [],
            "meta": self._meta(job),
            "xlsx_meta": {"title": job.title, "period_label": self.info.get("period_label", ""),
                          "modellversion": job.modellversion, **self.inputs.provenance(),
                          "generated": now()[:16].replace("T", " ")},
        }

    def _finish(self, job: Job, res: dict) -> None:
        """Record a finished job: produced in a report child already, or published and rendered here."""
        from vu_lib.publish.produce import produce

        if "record" in res:  # a report child published, rendered and exported it
            r, nb = res["record"], None
            signature = r.pop("signatur", None)
            if signature:
                from vu_lib.publish.outputs import store_signature

                try:
                    store_signature(signature, self._notary())
                except Exception as e:  # noqa: BLE001 - the report stands; JupyterLab asks to trust it
                    self._say(f"{job.name}: notebookens signatur kunde inte sparas: {e}")
        else:
            r, nb = produce(self._spec(job), res, self._renderer_obj)
        self.results[job.name] = r
        if self.renderer_kind == "quarto" and r["status"] == STATUS_OK:
            self._submit_quarto(job, nb, r)

    # ------------------------------------------------------------------ Quarto
    def _start_quarto(self) -> None:
        """Start the Quarto pipeline (a failure fails every job's rendering with its message)."""
        from vu_lib.publish.quarto import QuartoPipeline

        try:
            self._quarto = QuartoPipeline(self.directory, self.formats, processes=self.n_jobs)
        except Exception as e:  # noqa: BLE001
            self._renderer_error = f"Quarto kunde inte startas: {format_execution_error(e)}"

    def _submit_quarto(self, job: Job, nb, r: dict) -> None:
        """Hand the published notebook to Quarto, which renders it while the others run."""
        try:
            if self._quarto is None:
                raise VuError(self._renderer_error or "Quarto startades inte")
            if nb is None:
                import nbformat

                nb = nbformat.read(self.nb_dir / f"{job.name}.ipynb", as_version=4)
            self._quarto.submit(job.name, nb, self._meta(job))
            r["_quarto"] = True
        except Exception as e:  # noqa: BLE001 - this job only
            r["status"] = STATUS_RENDER_FAILED
            r["error"] = f"Renderingen misslyckades: {format_execution_error(e)}"

    def _finish_quarto(self, todo: list[Job]) -> None:
        """Wait for Quarto; move each report's outputs into place or record Quarto's error for it."""
        from vu_lib.publish.quarto import move_into_place

        results = self._quarto.close()
        for job in todo:
            r = self.results[job.name]
            if not r.pop("_quarto", False):
                continue
            res = results.get(job.name)
            if res is None or res.error:
                r["status"] = STATUS_RENDER_FAILED
                r["error"] = "Quarto-renderingen misslyckades: " + (res.error if res else "ingen utdata")
                continue
            for fmt in self.formats:
                final = move_into_place(res.outputs[fmt], self.directory / f"{job.name}.{fmt}")
                r["outputs"][fmt] = final.name
            r["render"]["quarto"] = round(sum(res.seconds.values()), 3)

    def _write_website(self, state: BatchState, index_html: str) -> None:
        """``<period>/_quarto.yml`` and ``index.qmd``: ``quarto render <period>`` makes a website of the reports.

        Every report of the folder (the state, like the index), also those of earlier runs.
        """
        from vu_lib.publish.quarto import write_website

        entries = sorted(state.jobs.items(), key=lambda kv: (kv[1].get("order", 0), kv[0]))
        jobs = [{"name": name, "title": e.get("title", ""), "namnd": e.get("namnd")} for name, e in entries]
        try:
            write_website(self.directory, jobs, index_html, title=self.info.get("title") or self.label,
                          namnder=self.info.get("namnder"))
        except OSError as e:
            self._say(f"Quarto-webbplatsen kunde inte skrivas: {e}")


def _progress(total: int):
    """A tqdm bar on stderr (disabled when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, unit="rapport", desc="Kör rapporter", disable=None,
                dynamic_ncols=True, leave=False)


def summary_text(result: BatchResult, out_display: Path | None = None) -> str:
    """The final Swedish summary."""
    n = len(result.jobs)
    cached = len(result.cached)
    failed = result.failed
    ran = n - cached
    word = "rapport" if n == 1 else "rapporter"
    lines = [f"{n} {word} för {result.label}: {ran - len(failed)} körda, {cached} från cache (oförändrade), "
             f"{len(failed)} misslyckade."]
    for j in failed:
        first = (str(j.get("error") or "").strip().splitlines() or [""])[0]
        lines.append(f"  Misslyckades: {j['name']} ({j['status']}): {first[:200]}")
    missing = [j["name"] for j in result.jobs if j.get("saknar_atgarder")]
    if missing:
        lines.append(f"  Åtgärder saknas (underskott eller något att uppmärksamma utan åtgärd i controllerns "
                     f"kommentar): {', '.join(missing)}")
    idx = out_display if out_display is not None else result.index
    lines.append(f"Index: {idx}")
    lines.append(f"Total tid: {secs(result.seconds)}")
    return "\n".join(lines)


# =========================================================================== CLI
def _public_arg(a: str) -> str:
    """A command-line argument as it may be published: paths relative to the project, else the file name."""
    if a.startswith("--") and "=" in a:
        k, v = a.split("=", 1)
        return f"{k}={_public_arg(v)}"
    if os.sep in a or a.startswith("~") or (os.altsep and os.altsep in a):
        return public_path(os.path.expanduser(a))
    return a


def _command_line() -> str:
    """The command as given, for the run log; paths in their public form (see :func:`public_path`)."""
    args = [_public_arg(a) for a in sys.argv[1:]]
    return " ".join(["vu", *args]) if sys.argv and sys.argv[0].endswith("vu") else " ".join(
        [public_path(sys.argv[0]) if sys.argv else "", *args])


def _options(args) -> dict:
    keys = ("period", "vu", "namnd", "year", "to", "jobs", "renderer", "store", "out", "force", "parameter")
    opts = {k: getattr(args, k) for k in keys if hasattr(args, k)}
    for k in ("store", "out"):
        if opts.get(k):
            opts[k] = public_path(opts[k])
    return opts


def _snapshot_arg(args) -> Path:
    """The batch's snapshot of the store (see :func:`vu_lib.data.store.snapshot`)."""
    return Path(getattr(args, "store_snapshot", None) or _store_arg(args))


def _store_arg(args) -> Path:
    """``--store``, or the default store ($VU_STORE or data/vu.duckdb in the project)."""
    from vu_lib.data.dataset import default_store

    return Path(args.store) if getattr(args, "store", None) else default_store()


def _kommentarer_arg(args) -> str:
    """``-p kommentarer DIR`` when given, else '' (the default commentary directory)."""
    for name, value in getattr(args, "parameter", None) or []:
        if name == "kommentarer":
            return value
    return ""


#: Plans a command's batch from the params and notebooks: (jobs, label, info, inputs).
Planner = Callable[[Any, NotebookSet], tuple[list[Job], str, dict, Inputs]]


def _cli(args, planner: Planner, *, notebooks: NotebookSet | None, renderer_factory, out_stream,
         batch_options: dict | None) -> int:
    """What ``vu run`` and ``vu budget`` share: check the options, plan, run the batch, print the summary."""
    out_stream = out_stream or sys.stdout
    from vu_lib.data.store import snapshot

    # One run, one data version: every job reads the snapshot taken here (see snapshot()).
    with snapshot(_store_arg(args)) as store:
        args.store_snapshot = store
        return _cli_in_snapshot(args, planner, notebooks=notebooks, renderer_factory=renderer_factory,
                                out_stream=out_stream, batch_options=batch_options)


def _cli_in_snapshot(args, planner: Planner, *, notebooks: NotebookSet | None, renderer_factory, out_stream,
                     batch_options: dict | None) -> int:
    try:
        from vu_lib.core.params import load_params

        params = load_params()
        notebooks = notebooks or NotebookSet()
        formats = parse_formats(args.to)
        check_renderer(args.renderer)
        if args.jobs is not None and args.jobs < 1:
            raise BatchUsageError("--jobs måste vara minst 1")
        jobs, label, info, inputs = planner(params, notebooks)
        extra = apply_extra_parameters(jobs, [tuple(p) for p in (args.parameter or [])], notebooks)
    except (BatchUsageError, ParamsError, InputError, PeriodError) as e:
        print(f"vu: {e}", file=sys.stderr)
        return 2
    opts = _options(args)
    if extra:
        opts["extra_parametrar"] = extra
    info = {"command": _command_line(), **info, "options": opts}
    try:
        batch = Batch(jobs, label=label, out=Path(args.out), inputs=inputs, formats=formats, n_jobs=args.jobs,
                      renderer=args.renderer, force=args.force, notebooks=notebooks,
                      renderer_factory=renderer_factory, info=info, out_stream=out_stream, **(batch_options or {}))
        result = batch.run()
        print(summary_text(result, Path(args.out) / label / "index.html"), file=out_stream, flush=True)
    except KeyboardInterrupt:
        print("vu: avbruten", file=sys.stderr)
        return 130
    return result.exit_code


def cli_run(args, *, notebooks: NotebookSet | None = None, renderer_factory=None, out_stream=None,
            batch_options: dict | None = None) -> int:
    """``vu run``: plan, execute and render the reports of a period.

    Parameters
    ----------
    args : argparse.Namespace
        From :func:`vu_lib.cli.build_parser` (period, vu, namnd, to, jobs,
        parameter, renderer, store, out, force). Without ``--period``: the
        latest delår of the data.
    notebooks, renderer_factory, out_stream, batch_options
        Injection points for tests and benchmarks (``batch_options`` are
        keyword arguments of :class:`Batch`).

    Returns
    -------
    int
        0 ok, 1 a job failed, 2 bad usage or bad input, 130 interrupted.
    """

    def planner(params, nbs: NotebookSet):
        from vu_lib.model.compensation import model_version
        from vu_lib.model.periods import latest_delar, period as make_period

        inputs = collect_inputs(params, _snapshot_arg(args))
        if args.period:
            period = validate_period(params, args.period)
        else:
            period = str(latest_delar(params, data_last_period(inputs, Path(args.out))).month)
        jobs = plan_run(params, period, vu_ids=args.vu, namnd=args.namnd, notebooks=nbs)
        # the controller's commentary of the period: refused before anything runs (exit 2)
        from vu_lib.report.commentary import check_period

        check_period(period, _kommentarer_arg(args))
        p = make_period(params, period)
        report_title = {"delar": "Delårsuppföljning", "helar": "Helårsuppföljning"}.get(p.kind, "Månadsuppföljning")
        info = {"title": f"Rapporter {p.label}", "subtitle": "Ekonomisk uppföljning av verksamhetsuppdragen, SoF – Leanlink",
                "period_label": p.label, "modellversion": model_version(params, int(period[:4]), int(period[5:])),
                "report_title": report_title, "namnder": dict(params.registry.namnder)}
        return jobs, period, info, inputs

    return _cli(args, planner, notebooks=notebooks, renderer_factory=renderer_factory, out_stream=out_stream,
                batch_options=batch_options)


def cli_budget(args, *, notebooks: NotebookSet | None = None, renderer_factory=None, out_stream=None,
               batch_options: dict | None = None) -> int:
    """``vu budget <year>``: execute ``budget.ipynb`` and render ``<out>/budget-<year>/budget.*``.

    Parameters and return value as :func:`cli_run` (``args.year`` instead of the period).
    """

    def planner(params, nbs: NotebookSet):
        year = int(args.year)
        jobs = plan_budget(params, year, notebooks=nbs)
        info = {"title": f"Budgetförslag {year}", "subtitle": "Ersättning per verksamhetsuppdrag för nästa år",
                "period_label": str(year), "modellversion": params.modellar(year).modellversion,
                "namnder": dict(params.registry.namnder)}
        return jobs, f"budget-{year}", info, collect_inputs(params, _snapshot_arg(args))

    return _cli(args, planner, notebooks=notebooks, renderer_factory=renderer_factory, out_stream=out_stream,
                batch_options=batch_options)
