"""The batch's report children: one forked process per notebook, at most ``--jobs`` at a time (Linux).

:class:`ReportPool` is the parent's side of :mod:`vu_lib.publish.inprocess`:
it starts the zygote in report mode (papermill, the in-process engine, an
IPython shell and the renderer preloaded), asks it for one child per queued
notebook while fewer than ``n`` run, serves the children's chart SVGs from its
own warm vl-convert engine (:class:`~vu_lib.publish.inprocess.ChartServer`) and
yields each child's result as it arrives. A child that dies without a result
(killed, out of memory) fails its own job only, with the tail of its output.

The same interface as :class:`vu_lib.publish.execute.WorkerPool` (a context
manager with ``submit`` and ``results``); the batch takes this one where the
zygote can fork (:func:`report_children_supported`).
"""
from __future__ import annotations

import json
import os
import selectors
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator

from vu_lib.core.exceptions import VuError
from vu_lib.publish.outputs import now
from vu_lib.publish.zygote import Zygote, preload_modules, zygote_supported

__all__ = ["ReportPool", "report_children_supported"]


def report_children_supported() -> bool:
    """Whether the batch forks report children here: where the zygote runs, unless ``VU_BATCH_INPROCESS=0``."""
    if os.environ.get("VU_BATCH_INPROCESS", "").strip().lower() in ("0", "no", "false", "nej", "off"):
        return False
    return zygote_supported()


class ReportPool:
    """Report children for one batch (a context manager).

    Parameters
    ----------
    n : int
        Children running at once.
    cwd : Path
        Their working directory (the notebooks directory).
    notebooks : iterable of Path
        The notebooks to run; their imports are preloaded in the zygote.
    preload : list of str, optional
        Modules the zygote imports instead (None: :func:`vu_lib.publish.zygote.preload_modules`).
    store : Path, optional
        The zygote warms this store's model, so every child inherits it.
    render : bool
        The children render HTML and PDF (the built-in renderer); the parent then
        serves their chart SVGs.
    """

    def __init__(self, n: int, *, cwd: Path, notebooks: Iterable[Path] = (), preload: list[str] | None = None,
                 store: Path | None = None, render: bool = True):
        self.n = max(1, n)
        self.cwd = Path(cwd)
        self.notebooks = list(notebooks)
        self.preload = preload
        self.store = store
        self.render = render
        self.tmpdir: Path | None = None
        self.zygote: Zygote | None = None
        self.charts = None
        self._queue: list[dict] = []
        self._pids: dict[str, int] = {}
        self._warm_sent = False

    def __enter__(self) -> ReportPool:
        self.tmpdir = Path(tempfile.mkdtemp(prefix=f"vu-batch-{os.getpid()}-"))  # pid: see clean_stale_temp_dirs
        os.environ["VU_BATCH"] = "1"  # inherited by the zygote, hence by every child
        try:
            preload = list(self.preload) if self.preload is not None else preload_modules(self.notebooks)
            preload = [m for m in preload if not m.startswith("ipykernel")]  # no kernels here
            self.zygote = Zygote(self.tmpdir, preload, self.cwd, store=self.store, reports=True, render=self.render)
            if self.render:
                from vu_lib.publish.inprocess import ChartServer

                self.charts = ChartServer(self.tmpdir)
                # vl-convert's engine starts while the zygote imports (a failure shows at the first chart).
                threading.Thread(target=self._warm_charts, daemon=True).start()
        except BaseException:
            self._cleanup()
            raise
        return self

    def _warm_charts(self) -> None:
        try:
            self.charts.warm()
        except Exception:  # noqa: BLE001 - the children report a broken engine per chart
            pass

    def submit(self, request: dict) -> None:
        """Queue a report: name, input (notebook path), parameters, spec (for :func:`vu_lib.publish.produce.produce`)."""
        env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "VU_BATCH": "1"}
        # As ipykernel does: matplotlib figures (if a notebook draws any) become display outputs.
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        self._queue.append({**request, "kind": "report", "cwd": str(self.cwd.resolve()), "env": env,
                            "log": str(self.tmpdir / f"{request['name']}.log"),
                            "charts": self.charts.path if self.charts is not None else None})

    def wait_zygote(self) -> None:
        """Wait until the zygote listens (if it cannot start, each report fails with its message)."""
        try:
            self.zygote.wait_bound()
        except VuError:
            pass

    def _start(self, request: dict) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + 60
        while True:  # the zygote may still be binding its socket
            try:
                s.connect(self.zygote.socket_path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if self.zygote.proc.poll() is not None or time.monotonic() > deadline:
                    s.close()
                    raise
                time.sleep(0.01)
        s.sendall(json.dumps(request).encode("utf-8") + b"\n")
        return s

    def results(self) -> Iterator[dict]:
        """Each report's result as its child answers (``record``: what the child produced)."""
        sel = selectors.DefaultSelector()
        running: dict[socket.socket, dict] = {}
        try:
            while self._queue or running:
                while self._queue and len(running) < self.n:
                    request = self._queue.pop(0)
                    try:
                        s = self._start(request)
                    except OSError as e:
                        yield self._failed(request, f"Rapportprocessen kunde inte startas: {e}")
                        continue
                    running[s] = {"request": request, "buf": b"", "result": None}
                    sel.register(s, selectors.EVENT_READ)
                    if not self._warm_sent and (len(running) == self.n or not self._queue):
                        self._send_warm_up(request)
                for key, _ in sel.select(timeout=1.0):
                    s = key.fileobj
                    entry = running[s]
                    try:
                        data = s.recv(1 << 20)
                    except OSError:
                        data = b""
                    entry["buf"] += data
                    *lines, entry["buf"] = entry["buf"].split(b"\n")
                    for line in lines:
                        try:
                            message = json.loads(line)
                        except ValueError:  # not vu's record: the job fails when the child ends
                            continue
                        if not isinstance(message, dict):
                            continue
                        if "pid" in message and len(message) == 1:
                            self._pids[entry["request"]["name"]] = int(message["pid"])
                        else:
                            entry["result"] = message
                    if data:
                        continue
                    sel.unregister(s)
                    s.close()
                    del running[s]
                    self._pids.pop(entry["request"]["name"], None)
                    yield entry["result"] or self._failed(entry["request"], "Rapportprocessen avslutades oväntat")
        finally:
            sel.close()
            for s in running:
                s.close()

    def _send_warm_up(self, request: dict) -> None:
        """Once the first children run: let the zygote run one report and throw it away.

        The children forked after that find what a report sets up on first use already
        set up (:func:`vu_lib.publish.inprocess.warm_up`); the zygote does it while
        the first children work, so no child waits for it. Only when reports remain
        to be forked.
        """
        self._warm_sent = True
        if not self._queue or os.environ.get("VU_BATCH_WARM_UP", "").strip() == "0":  # 0: off (to measure it)
            return
        try:
            s = self._start({**request, "kind": "warm", "workdir": str(self.tmpdir)})
            s.close()
        except OSError:
            pass

    def _failed(self, request: dict, message: str) -> dict:
        try:
            tail = Path(request["log"]).read_text(errors="replace")[-3000:].strip()
        except OSError:
            tail = ""
        if tail:
            message += "\n--- processens utskrift ---\n" + tail
        return {"name": request["name"], "ok": False, "error": message, "seconds": None, "started": None,
                "ended": now()}

    def __exit__(self, exc_type, exc, tb) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        import shutil
        import signal

        for pid in list(self._pids.values()):  # an interrupted batch: its children and what they started
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        self._pids.clear()
        if self.charts is not None:
            self.charts.close()
            self.charts = None
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
