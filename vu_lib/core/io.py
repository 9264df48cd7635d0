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
