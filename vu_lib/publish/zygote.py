"""The zygote: a process that preloads the notebooks' imports and forks kernels or report children on request.

A kernel started as a fresh ``python -m ipykernel_launcher`` spends seconds
importing pandas, altair, vu_lib and ipykernel. The zygote does that once
(and warms the model, which :func:`vu_lib.model.model.open_model` keeps per
process); each kernel is then a ``fork()`` of it, started in a fraction of
the time. After preloading, the zygote freezes its heap out of the cyclic
GC's reach, so the children's collections don't walk (and copy-on-write) it.

The batch's parent starts one :class:`Zygote` per batch, in one of two modes:

- **report children** (``reports=True``, the default on Linux): the zygote also
  preloads papermill, an IPython shell and the renderer
  (:func:`vu_lib.publish.inprocess.prepare`); the parent's
  :class:`~vu_lib.publish.forkpool.ReportPool` asks it for one child per
  notebook, which executes, publishes and renders it and answers on the socket
  it was forked with (:func:`_become_report`);
- **kernels**: the workers' kernel provisioner (:mod:`vu_lib.publish.kernels`)
  asks it for a kernel over its Unix socket (:func:`fork_kernel`).

On by default on Linux (:func:`zygote_supported`). Every child runs in its own
session (process group) below the parent's priority (:func:`lower_priority`)
and dies with the zygote, which dies with the batch (:func:`die_with_parent`).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Iterable

from vu_lib.core.exceptions import VuError
from vu_lib.core.io import exit_now
from vu_lib.publish.plan import code_cells, read_notebook

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PROJECT_ROOT = PACKAGE_DIR.parent

# Modules preloaded by the zygote: the notebooks' heavy imports, ipykernel itself
# (including what IPKernelApp imports while it initialises), every vu_lib module
# a notebook may reach, and third-party modules the notebooks import.
PRELOAD = ("numpy", "pandas", "altair", "vu_lib", "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel",
           "ipykernel.zmqshell", "ipykernel.debugger", "psutil", "IPython.core.completerlib",
           "IPython.extensions.storemagic")
_PRELOAD_ALLOWED = ("pandas", "numpy", "altair", "duckdb", "openpyxl", "yaml", "pydantic", "vl_convert", "vu_lib")
# The batch's own modules and the CLI: never imported by a notebook.
#: Packages of vu_lib a kernel needs (the publish stage and the CLI run in the batch, not in kernels).
_PRELOAD_PACKAGES = ("core", "data", "model", "report")


def zygote_supported() -> bool:
    """Whether kernels are forked from a zygote here.

    On by default on Linux; ``VU_BATCH_ZYGOTE=0`` turns it off, ``=1`` turns it
    on elsewhere on POSIX (macOS system frameworks are not always fork-safe).
    """
    import socket

    if not hasattr(os, "fork") or not hasattr(socket, "AF_UNIX") or sys.platform == "win32":
        return False
    setting = os.environ.get("VU_BATCH_ZYGOTE", "").strip().lower()
    if setting in ("0", "no", "false", "nej", "off"):
        return False
    return sys.platform.startswith("linux") or setting in ("1", "yes", "true", "ja", "on")


def notebook_imports(paths: Iterable[Path]) -> list[str]:
    """Absolute imports in the notebooks' code cells that are safe to preload in the zygote."""
    import ast

    found: list[str] = []
    for p in paths:
        try:
            nb = read_notebook(p)
        except (OSError, ValueError):
            continue
        for _, src in code_cells(nb):
            src = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!")))
            try:
                tree = ast.parse(src)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for n in names:
                    if n.split(".")[0] in _PRELOAD_ALLOWED and n not in found:
                        found.append(n)
    return found


def preload_modules(notebooks: Iterable[Path]) -> list[str]:
    """The default preload: :data:`PRELOAD`, the vu_lib modules and the notebooks' own imports."""
    vu_lib = [f"vu_lib.{pkg}.{p.stem}" for pkg in _PRELOAD_PACKAGES
              for p in sorted((PACKAGE_DIR / pkg).glob("*.py")) if p.stem != "__init__"]
    return list(dict.fromkeys([*PRELOAD, *vu_lib, *notebook_imports(notebooks)]))


def fork_kernel(address: str, request: dict) -> int:
    """Ask the zygote at ``address`` to fork a kernel; return its pid.

    Parameters
    ----------
    address : str
        The zygote's Unix socket.
    request : dict
        argv (of ``ipykernel_launcher``), env, cwd and log (where the kernel's
        stdout and stderr go).

    Raises
    ------
    OSError, ValueError, RuntimeError
        The zygote cannot be reached, answers garbage, or could not fork.
    """
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(600)
        deadline = time.monotonic() + 30
        while True:  # the zygote may still be starting
            try:
                s.connect(address)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        s.sendall(json.dumps(request).encode("utf-8") + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    reply = json.loads(data or b"{}")
    if "pid" not in reply:
        raise RuntimeError(f"zygoten kunde inte starta en kärna: {reply.get('error', 'inget svar')}")
    return int(reply["pid"])


class Zygote:
    """The zygote process of one batch, started by the batch's parent.

    Workers connect to its Unix socket (``VU_BATCH_ZYGOTE_SOCKET``). It exits
    when its stdin closes (:meth:`close`), killing any kernel it forked that
    is still alive.

    Parameters
    ----------
    directory : Path
        Where the socket and the log (``zygote.log``) go.
    preload : list of str
        Modules to import before forking.
    cwd : Path
        The zygote's working directory (the notebooks directory).
    store : Path, optional
        Load this store's Dataset before forking.
    reports : bool
        Prepare report children (:mod:`vu_lib.publish.inprocess`): papermill, its
        in-process engine and an IPython shell preloaded; ``render``: the renderer too.
    """

    def __init__(self, directory: Path, preload: list[str], cwd: Path, store: Path | None = None,
                 reports: bool = False, render: bool = False):
        import subprocess

        self.socket_path = str(Path(directory) / "zygote.sock")
        self.log_path = Path(directory) / "zygote.log"
        code = ("import sys; sys.path[:0] = [sys.argv[1]]; from vu_lib.publish.zygote import main; main(sys.argv[2:]); "
                "from vu_lib.core.io import exit_now; exit_now(0)")
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in close()
        config = {"preload": list(preload), "store": str(store) if store else None, "parent": os.getpid(),
                  "reports": reports, "render": render}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(PROJECT_ROOT), self.socket_path, json.dumps(config)],
            stdin=subprocess.PIPE, stdout=self._log, stderr=self._log, cwd=str(cwd),
        )

    def wait_bound(self, timeout: float = 30) -> None:
        """Wait until the socket is bound (it is, before the preloading starts).

        Raises
        ------
        VuError
            The zygote died or did not bind in ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise VuError("Kunde inte starta kärnfabriken (zygote): " + self._tail())
            time.sleep(0.005)

    def _tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def close(self) -> None:
        """End the zygote (and the kernels it forked that still run)."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def die_with_parent(parent: int | None = None) -> None:
    """End this process when its parent dies (``kill -9`` included).

    So the batch's workers, zygote, kernels and report children never outlive a
    ``vu run`` that is killed. On Linux the kernel does it (``PR_SET_PDEATHSIG``:
    SIGKILL when the parent dies). Elsewhere (Windows, macOS), given the parent's pid,
    a watchdog thread checks every half second that the parent still lives
    (:func:`watch_parent`). ``parent``: the pid the parent should have; when it is
    already gone (reparented before the call) the process exits at once.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except Exception:  # noqa: BLE001 - best effort
            pass
    elif parent is not None:
        watch_parent(parent)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def _parent_alive(parent: int) -> bool:
    if sys.platform == "win32":
        import psutil

        try:
            return psutil.Process(parent).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False
    return os.getppid() == parent  # POSIX: an orphan is re-parented (to init or a subreaper)


def watch_parent(parent: int, interval: float = 0.5) -> None:
    """Start a daemon thread that ends this process (``os._exit(1)``) once ``parent`` is gone.

    The portable way for :func:`die_with_parent` where the operating system has no
    parent-death signal: POSIX sees the process re-parented, Windows asks psutil
    whether the parent's pid still runs.
    """
    import threading

    def watch() -> None:
        import time as _time

        while _parent_alive(parent):
            _time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="vu-watch-parent", daemon=True).start()


def lower_priority() -> None:
    """Run this process (and what it starts) below the batch's parent in the CPU scheduler.

    The parent renders each notebook as soon as a worker has executed it; with the
    executing processes below it, the parent gets a whole core whenever it has a
    report to render, so the renderer's backlog does not pile up into a tail after
    the last notebook (on two cores the batch took 14.0 s, 5 s of it the parent
    alone). ``os.nice`` on POSIX, psutil's below-normal priority class on Windows;
    best effort (a failure leaves the priority as it was).
    """
    try:
        if hasattr(os, "nice"):
            os.nice(5)
        else:  # Windows
            import psutil

            psutil.Process().nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
    except Exception:  # noqa: BLE001 - best effort
        pass


def main(argv: list[str]) -> None:
    """Entry point of the zygote process: ``argv`` is the socket path and the JSON config."""
    import gc
    import importlib
    import select
    import signal
    import socket

    from vu_lib.core.io import lighten_imports

    sock_path, config = argv[0], json.loads(argv[1])
    die_with_parent(config.get("parent"))
    lower_priority()
    # The kernels get the sys.path of a `python -m ipykernel_launcher` process:
    # ours without the project root we inserted and without the script entry.
    base_path = [p for p in sys.path[2:]]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(128)
    t0 = time.perf_counter()
    lighten_imports()
    for mod in config.get("preload", []):
        try:
            importlib.import_module(mod)
        except BaseException as e:  # noqa: BLE001 - a failed preload only costs time in the kernel
            print(f"preload {mod}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    t1 = time.perf_counter()
    if config.get("store"):
        # The model over the store, warmed once here: every forked kernel starts with
        # it, and the notebook's open_model (through its report context) finds it.
        try:
            from vu_lib.core.params import load_params
            from vu_lib.model.model import open_model

            open_model(config["store"], params=load_params()).warm()
        except BaseException as e:  # noqa: BLE001
            print(f"preload data: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    if config.get("reports"):
        # Report children execute in themselves: papermill, the engine, a shell and the renderer, once.
        try:
            from vu_lib.publish.inprocess import prepare

            prepare(render=bool(config.get("render")))
        except BaseException as e:  # noqa: BLE001
            print(f"preload reports: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    gc.collect()
    gc.freeze()
    print(f"zygote ready: imports {t1 - t0:.2f} s, data {time.perf_counter() - t1:.2f} s",
          file=sys.stderr, flush=True)
    # Reap kernels as soon as they exit, so a worker polling a kernel's pid sees it
    # gone at once; a pid still in `children` is unreaped, hence still ours.
    children: set[int] = set()

    def _reap(_signum=None, _frame=None):
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.discard(pid)

    signal.signal(signal.SIGCHLD, _reap)
    while True:
        ready, _, _ = select.select([srv, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
            break
        if srv not in ready:
            continue
        conn, _ = srv.accept()
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        try:
            req = json.loads(data)
        except ValueError:
            conn.close()
            continue
        if req.get("kind") == "warm":  # run one report here and throw it away (no answer)
            conn.close()
            _warm_up(req)
            continue
        try:
            pid = os.fork()
        except OSError as e:
            conn.sendall(json.dumps({"error": str(e)}).encode() + b"\n")
            conn.close()
            continue
        if pid == 0:  # the kernel, or a report child (which answers on ``conn`` itself)
            srv.close()
            if req.get("kind") == "report":
                _become_report(conn, req, base_path)  # never returns
            conn.close()
            _become_kernel(req, base_path)  # never returns
        children.add(pid)
        if req.get("kind") != "report":
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        conn.close()
    srv.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _reap()
    for pid in list(children):  # unreaped: alive or zombie, the pid is still ours
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    _reap()
    try:
        os.unlink(sock_path)
    except OSError:
        pass


def _warm_up(req: dict) -> None:
    """:func:`vu_lib.publish.inprocess.warm_up` in the zygote; a failure only costs the children time."""
    import gc
    import traceback

    t0 = time.perf_counter()
    try:
        from vu_lib.publish.inprocess import warm_up

        gc.unfreeze()
        warm_up(req)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    finally:
        gc.collect()
        gc.freeze()
    print(f"zygote warmed up: {time.perf_counter() - t0:.2f} s", file=sys.stderr, flush=True)


def _child_setup(req: dict, base_path: list[str]) -> None:
    """In a forked child of the zygote: signals, session, stdio, working directory, environment."""
    import signal

    for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL if sig != signal.SIGPIPE else signal.SIG_IGN)
    os.setsid()  # its own process group: the batch ends it with whatever it started
    die_with_parent()  # the zygote
    fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)
    fd = os.open(req.get("log") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    sys.path[:] = base_path
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed()


def _become_report(conn, req: dict, base_path: list[str]) -> None:
    """In a forked child of the zygote: execute and produce one report (:func:`vu_lib.publish.inprocess.run_report`)."""
    import traceback

    code = 1
    try:
        _child_setup(req, base_path)
        from vu_lib.publish.inprocess import run_report

        code = run_report(conn, req)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0
    except BaseException:  # noqa: BLE001 - the parent sees the connection close without a result
        traceback.print_exc()
    finally:
        try:
            conn.close()
        except OSError:
            pass
        exit_now(code, join_threads=False)


def _become_kernel(req: dict, base_path: list[str]) -> None:
    """In a forked child of the zygote: become ``python -m ipykernel_launcher <argv>``."""
    import traceback

    code = 1
    try:
        _child_setup(req, base_path)
        import ipykernel_launcher  # noqa: F401 - for its path, as `-m` would set sys.argv[0]

        # parent_handle: ipykernel's parent poller ends the kernel if the zygote dies
        # (as a kernel launched by jupyter_client does when its launcher dies).
        sys.argv = [ipykernel_launcher.__file__, *req["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    finally:
        exit_now(code, join_threads=False)
