"""Cross-platform file helpers.

:func:`file_lock` is an exclusive lock between processes through the
``filelock`` package (``fcntl.flock`` on Linux and macOS, ``msvcrt.locking``
on Windows, a lock file's existence where neither exists), so no module of
vu_lib imports a Unix-only module.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created when missing) for the ``with`` block; waits for it."""
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
    return True
