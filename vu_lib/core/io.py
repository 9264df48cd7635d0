"""Small portable helpers every stage may use: atomic file writes, JSON, import guards,
a file lock, a console that survives Windows code pages, a process probe.

A file written here is written to a temporary sibling and moved into place with
:func:`os.replace`, so a reader (or a crash) never sees half a file, on Linux, macOS
and Windows alike.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator


# =========================================================================== JSON
def read_json(path: Path) -> dict:
    """A JSON object from a file; ``{}`` when it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def dump_json(data: Any) -> str:
    """Indented JSON text (UTF-8 characters kept, anything else as ``str``), ending with a newline."""
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False, default=str) + "\n"


# =========================================================================== atomic writes
def tmp_name(path: Path) -> Path:
    """A temporary sibling of ``path`` (hidden, same directory, same suffix, this process's pid)."""
    return path.with_name(f".{path.stem}.{os.getpid()}-{time.monotonic_ns() % 10**9}.tmp{path.suffix}")


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(tmp)`` for a temporary sibling of ``path``, then move it into place.

    A reader (or a crash) never sees a half-written ``path``; on any error the
    previous file is left untouched and the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`), synced to disk."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    atomic_write(path, write)


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


# =========================================================================== import guards
#: jsonschema imports this (when installed, as JupyterLab installs it) only to check the
#: 'iri' string formats, which neither Altair's Vega-Lite schema nor nbformat uses, and
#: building its grammar costs about 1.5 s per process.
_IRI_MODULE = "rfc3987_syntax"


@contextlib.contextmanager
def without_iri_checker() -> Iterator[None]:
    """Hide ``rfc3987_syntax`` while jsonschema is imported for the first time, then unhide it.

    jsonschema then simply does not register the 'iri' formats. No effect once
    jsonschema is imported.
    """
    blocked = False
    if "jsonschema" not in sys.modules and _IRI_MODULE not in sys.modules:
        sys.modules[_IRI_MODULE] = None  # type: ignore[assignment]  # makes the import fail fast
        blocked = True
    try:
        yield
    finally:
        if blocked and _IRI_MODULE in sys.modules and sys.modules[_IRI_MODULE] is None:
            del sys.modules[_IRI_MODULE]


def lighten_imports() -> None:
    """Skip ``rfc3987_syntax`` for the rest of this process (the batch's workers and kernels).

    Importing nbformat (papermill, nbconvert, signing) then takes a few tenths of a
    second instead of about 2 s. No effect once jsonschema is imported.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault(_IRI_MODULE, None)


# =========================================================================== file lock
@contextlib.contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created when missing) for the ``with`` block; waits for it.

    Through the ``filelock`` package: ``fcntl.flock`` on Linux and macOS,
    ``msvcrt.locking`` on Windows, the lock file's existence where neither
    exists; so no module of vu_lib imports a Unix-only module.
    """
    from filelock import FileLock

    with FileLock(str(path)):
        yield


# --------------------------------------------------------------------------- console
#: Stand-ins for characters a Windows code page (cp1252, cp850, cp437) may lack.
_CONSOLE_FALLBACK = {
    "\u2212": "-",   # true minus sign
    "\u2013": "-", "\u2014": "-",
    "\u202f": " ", "\u00a0": " ", "\u2009": " ",
    "\u2026": "...", "\u00d7": "x", "\u2264": "<=", "\u2265": ">=", "\u2192": "->",
    "\u201d": '"', "\u201c": '"', "\u2019": "'",
}
_HANDLER = "vu_konsol"


def _console_errors(err: UnicodeEncodeError):
    text = err.object[err.start:err.end]
    out = []
    for ch in text:
        sub = _CONSOLE_FALLBACK.get(ch, "?")
        try:
            sub.encode(err.encoding)
        except (UnicodeEncodeError, LookupError):
            sub = "?"
        out.append(sub)
    return "".join(out), err.end


def make_console_safe(*streams) -> None:
    """Let text streams print any text: characters their encoding lacks get a stand-in.

    On a Windows console redirected to a file or pipe, Python writes in the
    ANSI code page (cp1252), which has å, ä, ö but not the true minus sign
    U+2212 or the narrow no-break space: those become ``-`` and a space instead
    of an ``UnicodeEncodeError``. Streams that encode UTF-8 are left alone.
    """
    import codecs
    import sys

    try:
        codecs.lookup_error(_HANDLER)
    except LookupError:
        codecs.register_error(_HANDLER, _console_errors)
    for stream in streams or (sys.stdout, sys.stderr):
        enc = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        if not enc or enc in ("utf-8", "utf8", "utf-8-sig") or not hasattr(stream, "reconfigure"):
            continue
        try:
            stream.reconfigure(errors=_HANDLER)
        except (ValueError, OSError):  # a closed or detached stream
            pass


# --------------------------------------------------------------------------- processes
def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (never signals it).

    ``os.kill(pid, 0)`` is the POSIX idiom, but on Windows signal 0 is
    ``CTRL_C_EVENT``: it would interrupt the process group instead of probing it.
    There the process is opened and its exit code asked for.
    """
    import os

    if os.name == "nt":  # pragma: no cover - Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, int(pid))  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: it exists
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has ended and only waits to be reaped (it writes nothing any more).

    A report child whose zygote was killed is re-parented; until its new parent reaps it,
    ``os.kill(pid, 0)`` still finds it, and its temporary files would be kept as a live
    process's.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] == "Z"
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except Exception:  # noqa: BLE001 - gone, or not to be asked: not a zombie we know of
        return False


def exit_now(code: int, *, join_threads: bool = True) -> None:
    """End this process with ``code`` at once: atexit handlers run and the standard streams are flushed, nothing else.

    Python's normal shutdown also tears down every module and native extension; with
    vl-convert's JavaScript engine loaded (the batch's chart engine) that alone takes
    about 0.25 s, after the work is done. The ``vu`` command, the batch's zygote and
    its children end here instead. Files must already be closed (vu writes through
    :func:`atomic_write`, which closes them). As at a normal exit, threads that are not
    daemons are waited for first (a process pool's workers are told to stop and joined);
    ``join_threads=False`` does not wait (a forked report child or kernel, whose result
    is sent: a notebook's stray thread must not keep it alive).
    """
    import atexit
    import threading

    shutdown = getattr(threading, "_shutdown", None)  # what the interpreter's own exit calls first
    try:
        if join_threads and shutdown is not None and threading.current_thread() is threading.main_thread():
            shutdown()
    except BaseException:  # noqa: BLE001 - the exit code stands
        pass
    try:
        atexit._run_exitfuncs()  # logging.shutdown among them: log files are flushed
    except BaseException:  # noqa: BLE001 - the exit code stands
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (`vu list | head`) or a detached stream
            pass
    os._exit(code)
