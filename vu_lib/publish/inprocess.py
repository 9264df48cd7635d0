"""A notebook executed in this process: the batch's report children (Linux).

On Linux the batch forks one **report child** per notebook from the zygote
(:mod:`vu_lib.publish.zygote`), which has imported pandas, Altair, vu_lib,
papermill and the renderer, warmed the model and built an IPython shell and a
:class:`~vu_lib.publish.render.Renderer` before forking. The child:

1. executes the notebook with papermill through the engine ``vu_inprocess``
   (:class:`InProcessEngine`): each code cell runs in the child's own IPython
   shell, and what it prints, displays or returns is captured as the output a
   Jupyter kernel would have sent (``stream``, ``display_data``,
   ``execute_result``, ``error``), formatted by the same IPython display
   formatter. No kernel, no ZeroMQ, no worker process in between: that was about
   a third of the batch's processor time;
2. produces the report (:func:`vu_lib.publish.produce.produce`): publishes the
   notebook, renders HTML and PDF, exports the workbook. The chart SVGs come
   from the parent, whose vl-convert engine is warm (:class:`ChartServer`);
3. answers the parent with the job's record, one JSON line on the socket it
   was forked with, and exits.

Every child starts from the same state (a copy of the zygote), so a notebook
never sees what another one did, as with a fresh kernel per notebook.
"""
from __future__ import annotations

import io
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

__all__ = ["ENGINE_NAME", "InProcessEngine", "prepare", "run_report", "ChartServer", "ChartClient", "chart_payloads"]

#: The papermill engine's name (registered by :func:`prepare`).
ENGINE_NAME = "vu_inprocess"

_STATE: dict[str, Any] = {}


# ============================================================================ capture
class _Capture:
    """The outputs of the cell that runs now, as nbformat output dicts."""

    def __init__(self) -> None:
        self.outputs: list[dict] = []
        self.error = False

    def stream(self, name: str, text: str) -> None:
        if not text:
            return
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def display(self, data: dict, metadata: dict | None, transient: dict | None, update: bool) -> None:
        display_id = (transient or {}).get("display_id")
        if update and display_id:
            for out in self.outputs:
                if out.get("_display_id") == display_id:
                    out["data"], out["metadata"] = data, metadata or {}
            return
        out = {"output_type": "display_data", "data": data, "metadata": metadata or {}}
        if display_id:
            out["_display_id"] = display_id
        self.outputs.append(out)

    def result(self, data: dict, metadata: dict | None, count: int) -> None:
        self.outputs.append({"output_type": "execute_result", "data": data, "metadata": metadata or {},
                             "execution_count": count})

    def failure(self, ename: str, evalue: str, traceback: list[str]) -> None:
        self.error = True
        self.outputs.append({"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback})

    def clear(self) -> None:
        self.outputs.clear()


_CAPTURE = _Capture()


class _Stream(io.TextIOBase):
    """``sys.stdout`` / ``sys.stderr`` while a cell runs: text becomes a stream output."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        _CAPTURE.stream(self.name, str(text))
        return len(text)


def _shell_classes():
    """The IPython shell, display hook and display publisher of a report child (built once)."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets import Type

    class ChildDisplayHook(DisplayHook):
        """``execute_result`` as ipykernel's display hook sends it."""

        def start_displayhook(self) -> None:
            pass

        def write_output_prompt(self) -> None:
            pass

        def write_format_data(self, format_dict, md_dict=None) -> None:
            _CAPTURE.result(format_dict, md_dict, self.prompt_count)

        def finish_displayhook(self) -> None:
            pass

    class ChildDisplayPublisher(DisplayPublisher):
        """``display_data`` (and display updates) as ipykernel's publisher sends them."""

        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs) -> None:
            _CAPTURE.display(data, metadata, transient, update)

        def clear_output(self, wait=False) -> None:
            _CAPTURE.clear()

    class ChildShell(InteractiveShell):
        """An IPython shell whose tracebacks become ``error`` outputs (as ipykernel's shell does)."""

        displayhook_class = Type(ChildDisplayHook)
        display_pub_class = Type(ChildDisplayPublisher)

        def _showtraceback(self, etype, evalue, stb) -> None:
            _CAPTURE.failure(str(etype.__name__), str(evalue), list(stb))

        def enable_gui(self, gui=None) -> None:
            pass

    return ChildShell


def _shell():
    """The process's shell (built by :func:`prepare` in the zygote, or here on first use)."""
    shell = _STATE.get("shell")
    if shell is None:
        from traitlets.config import Config

        config = Config()
        config.HistoryManager.enabled = False
        shell = _STATE["shell"] = _shell_classes().instance(config=config)
    return shell


def run_cell(source: str) -> tuple[list[dict], int, bool]:
    """Run one code cell in the shell; return its outputs, its execution count and whether it failed."""
    shell = _shell()
    _CAPTURE.clear()
    _CAPTURE.error = False
    count = shell.execution_count
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Stream("stdout"), _Stream("stderr")
    try:
        result = shell.run_cell(source, store_history=True, silent=False)
    finally:
        sys.stdout, sys.stderr = saved
    failed = _CAPTURE.error or not result.success
    if failed and not _CAPTURE.error:  # an error IPython did not show (should not happen)
        err = result.error_before_exec or result.error_in_exec
        _CAPTURE.failure(type(err).__name__, str(err), [f"{type(err).__name__}: {err}"])
    outputs = [{k: v for k, v in o.items() if k != "_display_id"} for o in _CAPTURE.outputs]
    return outputs, count, failed


# ============================================================================ the engine
def execution_manager_class():
    """papermill's execution manager, saving the output notebook less often (built once).

    papermill's manager writes the whole output notebook before and after every
    cell; for a report with fifteen cells and 250 kB of outputs that is thirty
    serialisations per notebook (a third of a report child's time). This one writes
    at the start, at most every ``autosave_cell_every`` seconds while cells run, on
    an error and at the end (papermill's ``notebook_complete`` runs in a ``finally``,
    so a failing notebook still leaves the partial notebook).
    """
    cls = _STATE.get("manager_class")
    if cls is not None:
        return cls
    from papermill.engines import NotebookExecutionManager

    class VuExecutionManager(NotebookExecutionManager):
        _throttle = False

        def save(self, **kwargs):
            if self._throttle and self.last_save_time is not None:
                if (self.now() - self.last_save_time).total_seconds() < self.autosave_cell_every:
                    return
            super().save(**kwargs)

        def _throttled(self, method, *args, **kwargs):
            self._throttle = True
            try:
                return method(*args, **kwargs)
            finally:
                self._throttle = False

        def cell_start(self, cell, cell_index=None, **kwargs):
            return self._throttled(super().cell_start, cell, cell_index, **kwargs)

        def cell_complete(self, cell, cell_index=None, **kwargs):
            return self._throttled(super().cell_complete, cell, cell_index, **kwargs)

    _STATE["manager_class"] = VuExecutionManager
    return VuExecutionManager


def execute_with_fewer_saves(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):
    """``Engine.execute_notebook`` with :func:`execution_manager_class` (a classmethod of the batch's engines)."""
    nb_man = execution_manager_class()(nb, output_path=output_path, progress_bar=progress_bar,
                                       log_output=log_output, autosave_cell_every=autosave_cell_every)
    nb_man.notebook_start()
    try:
        cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
    finally:
        nb_man.cleanup_pbar()
        nb_man.notebook_complete()
    return nb_man.nb


def _engine_class():
    from nbformat import from_dict
    from papermill.engines import Engine

    class InProcessEngine(Engine):
        """papermill engine: the code cells run in this process's IPython shell, one after the other.

        Stops at the first error, as papermill's default engine does: that cell gets
        its ``error`` output and papermill marks the notebook failed.
        """

        execute_notebook = classmethod(execute_with_fewer_saves)

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, on_cell_outputs=None, **kwargs):
            for index, cell in enumerate(nb_man.nb.cells):
                failed = False
                try:
                    nb_man.cell_start(cell, index)
                    if cell.cell_type == "code":
                        outputs, count, failed = run_cell(cell.source)
                        cell.execution_count = count
                        cell.outputs = [from_dict(o) for o in outputs]
                        if on_cell_outputs is not None and cell.outputs:
                            on_cell_outputs(cell.outputs)
                        if failed:
                            nb_man.cell_exception(cell, cell_index=index)
                finally:
                    nb_man.cell_complete(cell, cell_index=index)
                if failed:
                    break

    return InProcessEngine


InProcessEngine = None  # the class, once :func:`prepare` or :func:`register_engine` has run


def register_engine() -> str:
    """Register :class:`InProcessEngine` with papermill (once); return its name."""
    global InProcessEngine
    if InProcessEngine is None:
        from papermill.engines import papermill_engines

        InProcessEngine = _engine_class()
        papermill_engines.register(ENGINE_NAME, InProcessEngine)
    return ENGINE_NAME


def prepare(render: bool) -> None:
    """In the zygote, before forking report children: papermill, the engine, the shell, the renderer."""
    import papermill  # noqa: F401
    from nbformat.sign import NotebookNotary

    register_engine()
    _shell()
    notary = _STATE["notary"] = NotebookNotary()
    notary.secret  # noqa: B018 - read (or created) once here, not by each child at the same time
    if render:
        try:
            from vu_lib.publish.render import Renderer, pandoc_path

            _STATE["renderer"] = Renderer()
            pandoc_path()  # found once here, not in each child
        except Exception as e:  # noqa: BLE001 - each child reports it for its own job
            _STATE["renderer_error"] = f"Renderaren kunde inte startas: {type(e).__name__}: {e}"


_BLANK_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" role="img" aria-label="-"></svg>'


def execute(input_path: str | os.PathLike, output_path: str | os.PathLike, parameters: dict,
            on_cell_outputs: Callable[[list], None] | None = None):
    """papermill's ``execute_notebook`` with the in-process engine; returns the executed notebook.

    ``on_cell_outputs(outputs)`` is called after each code cell that gave outputs (a
    report child asks the parent for its charts' SVGs there, while later cells run).

    The notebook is written once, when it has run (or failed), not also before and
    while it runs: nothing reads it before then, and each write of a report notebook
    costs about 20 ms. Raises papermill's ``PapermillExecutionError`` when a cell fails
    (the output notebook is written all the same).
    """
    import papermill as pm

    return pm.execute_notebook(str(input_path), str(output_path), parameters=parameters, kernel_name="python3",
                               progress_bar=False, log_output=False, engine_name=register_engine(),
                               request_save_on_cell_execute=False,
                               **({"on_cell_outputs": on_cell_outputs} if on_cell_outputs is not None else {}))


def warm_up(req: dict) -> None:
    """In the zygote, once: execute and render one report and throw it away, then start afresh.

    What a notebook and the renderer set up on first use (Altair's schema
    validators, the HTML template compiled by Jinja, the workbook writer) then
    exists in the zygote, so the report children forked after this do not each
    set it up again (about 0.2 s of processor time per child). The charts are
    drawn as blank pictures here (vl-convert must not start in a process that
    forks). The shell is reset afterwards: each child starts with an empty
    namespace and execution count 1, as before the warm-up.

    ``req``: input, parameters and spec of a report request, and ``workdir``: the batch's
    temporary folder (removed with the batch, also after a ``kill -9``).
    """
    import shutil
    import tempfile

    from vu_lib.publish.outputs import tables_in_notebook, write_tables_xlsx
    from vu_lib.report import charts

    tmp = Path(tempfile.mkdtemp(prefix="warm-", dir=req.get("workdir")))
    charts.draw_svgs_with(lambda spec, beskrivning: _BLANK_SVG)
    try:
        nb = execute(req["input"], tmp / "warm.ipynb", req["parameters"])
        spec = req["spec"]
        if spec.get("formats"):
            # HTML only: typst starts a pool of threads at its first compile, and a child
            # forked from a process with threads would wait forever for them (the PDF's
            # first compile costs a child nothing measurable anyway).
            _renderer().render_html(nb, tmp / "warm.html", spec["meta"])
        write_tables_xlsx(tables_in_notebook(nb), tmp / "warm.xlsx", spec["xlsx_meta"])
    finally:
        charts.draw_svgs_with(None)
        _shell().reset(new_session=True)
        _CAPTURE.clear()
        _CAPTURE.error = False
        shutil.rmtree(tmp, ignore_errors=True)


def _renderer():
    from vu_lib.core.exceptions import VuError

    if "renderer" not in _STATE:
        if "renderer_error" in _STATE:
            raise VuError(_STATE["renderer_error"])
        from vu_lib.publish.render import Renderer

        _STATE["renderer"] = Renderer()
    return _STATE["renderer"]


# ============================================================================ the child
def _send(conn: socket.socket, message: dict) -> None:
    conn.sendall(json.dumps(message, default=str).encode("utf-8") + b"\n")


def run_report(conn: socket.socket, req: dict) -> int:
    """A report child's work: execute, produce, answer; return the exit code.

    ``req``: name, input (the notebook), parameters, spec (for
    :func:`~vu_lib.publish.produce.produce`), charts (the parent's chart socket).
    The first line sent is ``{"pid": ...}``, the last the job's result.
    """
    from vu_lib.publish.outputs import now
    from vu_lib.publish.produce import format_execution_error, produce

    _send(conn, {"pid": os.getpid()})
    client = None
    if req.get("charts"):
        from vu_lib.report import charts

        client = ChartClient(req["charts"])
        charts.draw_svgs_with(client)
    spec = req["spec"]
    started, t0 = now(), time.perf_counter()
    res: dict[str, Any] = {"name": req["name"], "ok": False, "error": None, "started": started}
    try:
        # Each chart is asked for as soon as its cell has run: the parent draws it while
        # this child runs the later cells and publishes the notebook.
        nb = execute(req["input"], spec["running"], req["parameters"],
                     on_cell_outputs=client.prefetch_outputs if client is not None else None)
        res["ok"] = True
    except BaseException as e:  # noqa: BLE001 - every failure is reported
        res["error"] = format_execution_error(e)
    res["seconds"] = time.perf_counter() - t0
    res["ended"] = now()
    record, nb = produce({**spec, "sign": False}, res, _renderer)
    if nb is not None:
        from vu_lib.publish.outputs import notebook_signature

        try:
            record["signatur"] = notebook_signature(nb, _STATE.get("notary"))
        except Exception as e:  # noqa: BLE001 - the report stands; JupyterLab will ask to trust it
            print(f"signaturen kunde inte beräknas: {e}", file=sys.stderr)
    _send(conn, {**res, "record": record})
    return 0


# ============================================================================ charts
class ChartServer:
    """The parent's chart service: SVGs drawn by its one warm vl-convert engine.

    A thread serving a Unix socket: each request is a JSON line
    ``{"spec": ..., "beskrivning": ...}``, each answer ``{"svg": ...}`` or
    ``{"error": ...}``. Drawing is serialised (one engine).

    Parameters
    ----------
    directory : Path
        Where the socket goes (the batch's temporary folder).
    """

    def __init__(self, directory: Path) -> None:
        self.path = str(Path(directory) / "charts.sock")
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(64)
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="vu-charts", daemon=True)
        self._thread.start()

    def warm(self) -> None:
        """Start vl-convert's engine now (a small chart), not at the first report's request."""
        from vu_lib.report.charts import svg_from_spec

        with self._lock:
            svg_from_spec({"data": {"values": [{"a": 1}]}, "mark": "point",
                           "encoding": {"x": {"field": "a", "type": "quantitative"}}}, "uppvärmning")

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        from vu_lib.report.charts import svg_from_spec

        with conn, conn.makefile("rb") as lines:
            for line in lines:
                try:
                    req = json.loads(line)
                    with self._lock:
                        answer = {"svg": svg_from_spec(req["spec"], req.get("beskrivning", ""))}
                except Exception as e:  # noqa: BLE001 - the child reports it as a rendering error
                    answer = {"error": f"{type(e).__name__}: {e}"}
                try:
                    conn.sendall(json.dumps(answer).encode("utf-8") + b"\n")
                except OSError:
                    return

    def close(self) -> None:
        self._closed = True
        try:
            self._sock.close()
        except OSError:
            pass


class ChartClient:
    """A report child's side of the :class:`ChartServer`: a drawing function for
    :func:`vu_lib.report.charts.draw_svgs_with`, with :meth:`prefetch`.

    Requests and answers travel in order on one connection. :meth:`prefetch` sends
    every chart of the executed notebook at once and reads nothing, so the parent
    draws them while the child publishes the notebook and writes its workbook; a
    later call for one of them reads the answers up to its own.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._sock: socket.socket | None = None
        self._file = None
        self._pending: list[str] = []  # keys of requests sent, answers not read yet
        self._ready: dict[str, dict] = {}

    @staticmethod
    def _key(spec, beskrivning: str) -> str:
        return json.dumps([spec, str(beskrivning)], sort_keys=True, default=str)

    def _send(self, spec, beskrivning: str) -> str:
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.connect(self.path)
            self._file = self._sock.makefile("rb")
        key = self._key(spec, beskrivning)
        self._sock.sendall(json.dumps({"spec": spec, "beskrivning": beskrivning}).encode("utf-8") + b"\n")
        self._pending.append(key)
        return key

    def _read_one(self) -> None:
        from vu_lib.core.exceptions import VuError

        line = self._file.readline()
        if not line:
            raise VuError("diagramtjänsten svarade inte")
        self._ready[self._pending.pop(0)] = json.loads(line)

    def prefetch(self, charts) -> None:
        """Ask for every ``(spec, beskrivning)`` now; the answers are read when needed."""
        for spec, beskrivning in charts:
            key = self._key(spec, beskrivning)
            if key not in self._ready and key not in self._pending:
                self._send(spec, beskrivning)

    def prefetch_outputs(self, outputs: list) -> None:
        """:meth:`prefetch` for the charts among one cell's outputs; never raises (a chart the
        parent cannot draw fails the report when it is rendered, with the parent's message)."""
        try:
            self.prefetch(chart_payloads({"cells": [{"outputs": outputs}]}))
        except Exception:  # noqa: BLE001
            pass

    def __call__(self, spec, beskrivning: str) -> str:
        from vu_lib.core.exceptions import VuError

        key = self._key(spec, beskrivning)
        if key not in self._ready and key not in self._pending:
            self._send(spec, beskrivning)
        while key not in self._ready:
            self._read_one()
        answer = self._ready.pop(key)
        if "error" in answer:
            raise VuError(f"diagrammet kunde inte ritas: {answer['error']}")
        return answer["svg"]


def chart_payloads(nb) -> list[tuple[Any, str]]:
    """``(spec, beskrivning)`` of every vu chart in an executed notebook's outputs, in order."""
    from vu_lib.publish.outputs import json_payloads
    from vu_lib.report.charts import VEGALITE_MIME

    return [(p["spec"], p.get("beskrivning", "")) for p in json_payloads(nb, VEGALITE_MIME) if "spec" in p]
