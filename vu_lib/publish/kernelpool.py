"""Pre-started kernels: the batch's fast kernel start where ``fork`` is not safe.

On Linux the batch forks each kernel from a zygote (:mod:`vu_lib.publish.zygote`).
Windows has no ``fork`` and macOS system frameworks are not fork-safe, so
there each worker keeps one *spare* kernel: a fresh interpreter (spawned like
any kernel, through ``jupyter_client.launcher.launch_kernel``) that imports
the batch's preload modules (and, when asked, warms the model over the store,
as the zygote does)
before it starts ipykernel. When papermill asks the worker's kernel manager
for a kernel, the provisioner (:mod:`vu_lib.publish.kernels`) adopts the
spare, giving the kernel manager the spare's connection info, and starts the
next spare at once, so it boots while the notebook runs.

A spare is the same program as a normally launched kernel
(``python -m ipykernel_launcher -f <connection file> ...``) with imports done
earlier, so the notebooks' results are the same.

Environment (set by :class:`vu_lib.publish.execute.WorkerPool`):

``VU_BATCH_KERNEL_POOL``
    ``1``: use spares (the pool sets it when it runs without a zygote; ``0``
    from the user turns the spares off).
``VU_BATCH_PRELOAD``
    Comma-separated modules a spare imports before it starts ipykernel.
``VU_BATCH_PRELOAD_STORE``
    A store whose model (``open_model(...).warm()``) a spare warms first.
"""
from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass

# The program of a spare: `python -c BOOT -f <connection file> <kernel arguments>`.
BOOT = r"""
import importlib, os, sys
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)
for _m in filter(None, os.environ.get("VU_BATCH_PRELOAD", "").split(",")):
    try:
        importlib.import_module(_m)
    except BaseException as _e:
        print(f"preload {_m}: {type(_e).__name__}: {_e}", file=sys.stderr, flush=True)
if os.environ.get("VU_BATCH_PRELOAD_STORE"):
    try:
        from vu_lib.core.params import load_params
        from vu_lib.model.model import open_model
        open_model(os.environ["VU_BATCH_PRELOAD_STORE"], params=load_params()).warm()
    except BaseException as _e:
        print(f"preload data: {type(_e).__name__}: {_e}", file=sys.stderr, flush=True)
if sys.modules.get("rfc3987_syntax", 0) is None:
    del sys.modules["rfc3987_syntax"]
import ipykernel_launcher
sys.argv[0] = ipykernel_launcher.__file__
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


def enabled() -> bool:
    """Whether this worker uses spare kernels."""
    return os.environ.get("VU_BATCH_KERNEL_POOL", "").strip() == "1"


@dataclass
class Spare:
    """A started kernel waiting for a notebook."""

    proc: object
    info: dict
    cwd: str
    log: str
    pidfile: str

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - best effort
            pass
        _unlink(self.pidfile)


_SPARE: Spare | None = None
_FINALIZER = None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _runtime_dir() -> str:
    import tempfile

    return os.environ.get("VU_BATCH_RUNTIME_DIR") or tempfile.gettempdir()


def start(cmd: list[str], cwd: str, env: dict, km) -> Spare:
    """Start a kernel like ``cmd`` (``python -m ipykernel_launcher -f FILE ...``) with its own connection file."""
    from jupyter_client.connect import write_connection_file
    from jupyter_client.launcher import launch_kernel

    global _FINALIZER
    base = os.path.join(_runtime_dir(), f"s{uuid.uuid4().hex[:12]}")
    key = str(uuid.uuid4()).encode()
    if km.transport == "ipc":
        fname, info = write_connection_file(base + ".json", ip=base + "-ipc", transport="ipc", key=key,
                                            signature_scheme=km.session.signature_scheme,
                                            kernel_name=km.kernel_name)
    else:
        fname, info = write_connection_file(base + ".json", ip=km.ip or "127.0.0.1", transport="tcp", key=key,
                                            signature_scheme=km.session.signature_scheme,
                                            kernel_name=km.kernel_name)
    args = list(cmd[3:])
    if "-f" in args:
        args[args.index("-f") + 1] = fname
    else:
        args = ["-f", fname, *args]
    log = base + ".log"
    with open(log, "ab") as fh:
        proc = launch_kernel([sys.executable, "-c", BOOT, *args], stdout=fh, stderr=fh, env=env, cwd=cwd)
    pidfile = base + ".spare-pid"
    with open(pidfile, "w", encoding="ascii") as f:
        f.write(str(proc.pid))
    if _FINALIZER is None:
        # A worker of a ProcessPoolExecutor ends through os._exit: atexit would not run, this does.
        from multiprocessing import util

        _FINALIZER = util.Finalize(None, discard, exitpriority=100)
    return Spare(proc, info, cwd, log, pidfile)


def adopt(cmd: list[str], cwd: str, env: dict, km) -> Spare:
    """The kernel for this notebook: the spare if it suits (else a new one); a new spare starts."""
    global _SPARE
    spare, _SPARE = _SPARE, None
    if spare is not None and (spare.cwd != cwd or not spare.alive()):
        spare.kill()
        spare = None
    if spare is None:
        spare = start(cmd, cwd, env, km)
    _unlink(spare.pidfile)  # from now on the kernel manager owns it
    try:
        _SPARE = start(cmd, cwd, env, km)
    except Exception:  # noqa: BLE001 - without a spare the next notebook starts its kernel itself
        _SPARE = None
    return spare


def discard() -> None:
    """Stop this worker's spare kernel."""
    global _SPARE
    spare, _SPARE = _SPARE, None
    if spare is not None:
        spare.kill()


def kill_leftovers(runtime_dir) -> None:
    """Kill spares whose workers died without stopping them (pid files in the batch's runtime directory)."""
    import signal
    from pathlib import Path

    for f in Path(runtime_dir).glob("*.spare-pid"):
        try:
            pid = int(f.read_text(encoding="ascii").strip())
            os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        except (OSError, ValueError):
            pass
        _unlink(str(f))
