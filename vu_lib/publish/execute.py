"""Execution of the batch's notebooks with papermill, in long-lived worker processes.

:class:`WorkerPool` starts the workers (``spawn``, so each is a clean
interpreter that imports papermill and jupyter_client once) and, on Linux,
the zygote their kernels are forked from (:mod:`vu_lib.zygote`); elsewhere
(or with ``VU_BATCH_ZYGOTE=0``) each worker keeps a pre-started kernel
(:mod:`vu_lib.publish.kernelpool`). Each job
runs :func:`execute_job` in a worker: papermill with the batch's kernel
manager (:mod:`vu_lib.kernels`) and a papermill engine that saves the
notebook less often (:func:`papermill_engine`). A failing notebook or a dead
worker fails only its own job; the result says why
(:func:`format_execution_error`).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from vu_lib.core.exceptions import VuError
from vu_lib.core.io import lighten_imports  # noqa: F401 - re-exported (the batch calls it)
from vu_lib.publish.outputs import now
from vu_lib.publish.produce import format_execution_error  # noqa: F401 - re-exported
from vu_lib.publish.zygote import Zygote, preload_modules, zygote_supported

_ENGINE_NAME = None


def worker_init(env: dict[str, str]) -> None:
    """Initializer of a worker process: environment, quiet logs, warm imports."""
    import logging
    import signal
    import warnings

    from vu_lib.publish.kernels import kernel_manager_class

    from vu_lib.publish.zygote import die_with_parent, lower_priority

    die_with_parent(int(env["VU_BATCH_PARENT"]) if env.get("VU_BATCH_PARENT") else None)
    lower_priority()
    lighten_imports()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    os.environ.update(env)
    logging.getLogger("papermill").setLevel(logging.ERROR)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    import papermill  # noqa: F401 - warm

    kernel_manager_class()
    papermill_engine()


def papermill_engine() -> str:
    """Register (once) and return the name of the papermill engine the workers use.

    papermill's NBClientEngine with fewer saves of the output notebook
    (:func:`vu_lib.publish.inprocess.execution_manager_class`).
    """
    global _ENGINE_NAME
    if _ENGINE_NAME:
        return _ENGINE_NAME
    from papermill.engines import NBClientEngine, papermill_engines

    from vu_lib.publish.inprocess import execute_with_fewer_saves

    class VuEngine(NBClientEngine):
        execute_notebook = classmethod(execute_with_fewer_saves)

    papermill_engines.register("vu_batch", VuEngine)
    _ENGINE_NAME = "vu_batch"
    return _ENGINE_NAME


def execute_job(spec: dict) -> dict:
    """Execute one notebook with papermill (in a worker process).

    Parameters
    ----------
    spec : dict
        name, input (notebook path), output (where papermill writes the
        executed notebook), parameters, cwd, kernel_log, start_timeout.

    Returns
    -------
    dict
        name, ok, error (text or None), seconds, started, ended.
    """
    import papermill as pm

    from vu_lib.publish.kernels import kernel_manager_class

    os.environ["VU_BATCH_KERNEL_LOG"] = spec["kernel_log"]
    os.environ.pop("VU_BATCH_KERNEL_LOG_USED", None)  # set when the kernel was a pre-started one
    started, t0 = now(), time.perf_counter()
    result: dict[str, Any] = {"name": spec["name"], "ok": False, "error": None, "started": started}
    try:
        pm.execute_notebook(
            spec["input"], spec["output"], parameters=spec["parameters"], kernel_name="python3",
            cwd=spec["cwd"], progress_bar=False, log_output=False, engine_name=papermill_engine(),
            start_timeout=spec.get("start_timeout", 120),
            kernel_manager_class=kernel_manager_class(),
            # The kernel is discarded after the notebook: kill it instead of a
            # graceful shutdown, and skip IPython's history database.
            shutdown_kernel="immediate",
            extra_arguments=["--HistoryManager.enabled=False"],
        )
        result["ok"] = True
    except BaseException as e:  # noqa: BLE001 - every failure is reported, none stops the batch
        text = format_execution_error(e)
        if getattr(e, "ename", None) is None:
            try:
                log = os.environ.get("VU_BATCH_KERNEL_LOG_USED") or spec["kernel_log"]
                tail = Path(log).read_text(errors="replace")[-3000:].strip()
            except OSError:
                tail = ""
            if tail:
                text += "\n--- kärnans utskrift ---\n" + tail
        result["error"] = text
    result["seconds"] = time.perf_counter() - t0
    result["ended"] = now()
    return result


class WorkerPool:
    """Worker processes, and the zygote their kernels fork from, for one batch.

    A context manager: entering starts the zygote (where supported) and the
    workers; leaving normally lets idle workers exit on their own (the
    parent goes on publishing), leaving on an exception (Ctrl-C) terminates
    them. Either way the zygote is closed and the temporary directory
    (sockets, kernel logs) removed.

    Parameters
    ----------
    n_workers : int
    cwd : Path
        The kernels' working directory (the notebooks directory).
    notebooks : iterable of Path
        The notebooks to run; their imports are preloaded in the zygote.
    preload : list of str, optional
        Modules the zygote imports instead (None: :func:`vu_lib.zygote.preload_modules`).
    store : Path, optional
        The zygote loads this store's Dataset, so every kernel inherits it.
    """

    def __init__(self, n_workers: int, *, cwd: Path, notebooks: Iterable[Path] = (),
                 preload: list[str] | None = None, store: Path | None = None):
        self.n_workers = n_workers
        self.cwd = Path(cwd)
        self.notebooks = list(notebooks)
        self.preload = preload
        self.store = store
        self.tmpdir: Path | None = None
        self.zygote: Zygote | None = None
        self.executor = None
        self._futures: dict = {}

    def __enter__(self) -> WorkerPool:
        import tempfile

        from vu_lib.publish.private_api import require

        require()  # a clear message if an upgrade removed what the kernels build on
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        self.tmpdir = Path(tempfile.mkdtemp(prefix=f"vu-batch-{os.getpid()}-"))  # pid: see clean_stale_temp_dirs
        # VU_BATCH: kernels leave out what only JupyterLab needs (vu_lib.report.charts.husstil);
        # set here too so that the zygote (and every kernel it forks) inherits it.
        os.environ["VU_BATCH"] = "1"
        env = {"PYDEVD_DISABLE_FILE_VALIDATION": "1", "VU_BATCH_RUNTIME_DIR": str(self.tmpdir), "VU_BATCH": "1",
               "VU_BATCH_PARENT": str(os.getpid())}
        try:
            preload = list(self.preload) if self.preload is not None else preload_modules(self.notebooks)
            if zygote_supported():
                try:
                    self.zygote = Zygote(self.tmpdir, preload, self.cwd, store=self.store)
                    env["VU_BATCH_ZYGOTE_SOCKET"] = self.zygote.socket_path
                except (OSError, VuError):
                    self.zygote = None
            if self.zygote is None and os.environ.get("VU_BATCH_KERNEL_POOL", "1").strip() != "0":
                # No fork here (Windows, macOS) or the zygote is off: each worker keeps a pre-started kernel.
                env.update({"VU_BATCH_KERNEL_POOL": "1", "VU_BATCH_PRELOAD": ",".join(preload)})
                if self.store is not None:
                    env["VU_BATCH_PRELOAD_STORE"] = str(self.store)
            self.executor = ProcessPoolExecutor(max_workers=self.n_workers, mp_context=get_context("spawn"),
                                                initializer=worker_init, initargs=(env,))
        except BaseException:
            self._cleanup()
            raise
        return self

    def submit(self, spec: dict) -> None:
        """Queue a job for :func:`execute_job` (``spec`` without ``kernel_log``: the pool adds it)."""
        spec = {**spec, "kernel_log": str(self.tmpdir / f"{spec['name']}.kernel.log")}
        self._futures[self.executor.submit(execute_job, spec)] = spec["name"]

    def wait_zygote(self) -> None:
        """Wait until the zygote listens; if it cannot, close it (the workers launch kernels themselves)."""
        if self.zygote is not None:
            try:
                self.zygote.wait_bound()
            except VuError:
                self.zygote.close()
                self.zygote = None

    def results(self) -> Iterator[dict]:
        """The results of :func:`execute_job` as the jobs finish; a dead worker gives a failed result."""
        from concurrent.futures import FIRST_COMPLETED, wait

        pending = set(self._futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                try:
                    res = fut.result()
                except BaseException as e:  # noqa: BLE001 - a dead worker fails only its job
                    res = {"name": self._futures[fut], "ok": False, "seconds": None, "started": None,
                           "error": f"Arbetsprocessen dog: {type(e).__name__}: {e}", "ended": now()}
                yield res

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.executor.shutdown(wait=False)  # idle workers exit while the parent publishes
            else:
                # The processes before shutdown(), which forgets them.
                processes = list((getattr(self.executor, "_processes", None) or {}).values())
                for f in self._futures:
                    f.cancel()
                self.executor.shutdown(wait=False, cancel_futures=True)
                for p in processes:
                    try:
                        p.terminate()
                    except Exception:  # noqa: BLE001
                        pass
        finally:
            self._cleanup()

    def _cleanup(self) -> None:
        import shutil

        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        if self.tmpdir is not None:
            from vu_lib.publish.kernelpool import kill_leftovers

            kill_leftovers(self.tmpdir)
            shutil.rmtree(self.tmpdir, ignore_errors=True)
