"""``kill -9`` of ``vu run`` and ``vu ingest`` at several moments, then a normal run.

After each kill: no process of the killed command is alive 10 s later; the
next normal command succeeds and leaves no temporary file (in the report
folder, the store's folder or the temp folder); the store is either unchanged
or complete, and not larger than a complete one.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXPORTS, file_sha256

VU = Path(sys.executable).parent / "vu"
FIXTURES = [EXPORTS / n for n in ("huvudbok_2026.csv", "volymer_2026.csv", "bemanning_2026.csv", "medel.csv")]

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")


def _children() -> dict[int, int]:
    """pid -> parent pid of every process."""
    out = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            out[int(d.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
    return out


def _descendants(pid: int) -> set[int]:
    tree = _children()
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for c, parent in tree.items():
            if parent == p and c not in found:
                found.add(c)
                todo.append(c)
    return found


def _batch_processes(pid: int) -> set[int]:
    """The descendants of ``pid`` that are the batch's own: its zygote (and what it forked) or workers."""
    own = set()
    for p in _descendants(pid):
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
        if b"vu_lib.publish.zygote" in cmd or b"multiprocessing" in cmd:
            own.add(p)
    return own


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        if state[state.rindex(")") + 2] != "Z":  # a zombie is dead, only not yet reaped
            alive.add(p)
    return alive


def _debris(*folders: Path) -> list[str]:
    """Temporary files and folders of vu in the given folders (recursively for the report folder)."""
    out = []
    for folder in folders:
        if not folder.exists():
            continue
        for p in folder.rglob("*"):
            n = p.name
            if (".tmp" in n or n.endswith(".running.ipynb") or n.startswith(("vu-batch-", "vu-pdf-", ".vu-ogonblick-"))
                    or n.endswith(".wal")):
                out.append(str(p))
    return out


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 300) -> set[int]:
    """Wait until ``ready()`` (or the process ends), SIGKILL it; its descendants at that moment."""
    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    tree = _descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return tree


@pytest.fixture
def env():
    """A temp folder of the run's own (short: kernels' ZeroMQ sockets live there, and a socket
    path may hold at most 107 bytes)."""
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="vk", dir="/tmp"))
    yield {**os.environ, "TMPDIR": str(tmp)}, tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["start", "executing", "rendering"])
def test_kill_9_of_vu_run(tmp_path, env, moment):
    environ, systemtemp = env
    out = tmp_path / "rapporter"
    folder = out / "2026-02"
    nb_dir = folder / "notebooks"
    cmd = [str(VU), "run", "--vu", "AN-VB", "AN-OPPNA", "--period", "2026-02", "--out", str(out), "--jobs", "2",
           "--to", "html", "--store", str(tmp_path / "tomt" / "vu.duckdb")]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = {
        # the zygote or a worker is starting (not a passing helper process such as git's)
        "start": lambda: bool(_batch_processes(proc.pid)),
        # a report child runs (forked from the zygote: the same command line) and nothing is published yet
        "executing": lambda: len(_batch_processes(proc.pid)) >= 2 and not list(nb_dir.glob("*.ipynb")),
        "rendering": lambda: bool(list(nb_dir.glob("*.ipynb"))),
    }[moment]
    tree = _kill_when(proc, ready)
    assert tree, "the run had started its workers"
    deadline = time.monotonic() + 10
    while _alive(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(tree), f"föräldralösa processer efter 10 s: {_alive(tree)}"
    # a normal run afterwards: complete, and nothing of the killed run left
    done = subprocess.run(cmd, cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p.name for p in folder.glob("*.html")} >= {"AN-VB.html", "AN-OPPNA.html", "index.html"}
    assert _debris(out, systemtemp) == []


@pytest.mark.slow
def test_a_fully_cached_run_removes_debris_of_a_killed_run(tmp_path, env):
    environ, systemtemp = env
    out = tmp_path / "rapporter"
    cmd = [str(VU), "run", "--vu", "AN-VB", "--period", "2026-02", "--out", str(out), "--jobs", "1", "--to", "html",
           "--store", str(tmp_path / "tomt" / "vu.duckdb")]
    assert subprocess.run(cmd, cwd=tmp_path, env=environ, capture_output=True).returncode == 0
    # what a run killed with -9 leaves: files named with a pid that no longer runs
    dead = 2 ** 22 + 12345
    while Path(f"/proc/{dead}").exists():
        dead += 1
    folder = out / "2026-02"
    left = [folder / f".AN-VB.{dead}-abc123.tmp.html", folder / "notebooks" / f".AN-VB.{dead}.running.ipynb",
            systemtemp / f"vu-batch-{dead}-x1y2", systemtemp / f"vu-pdf-{dead}-q9"]
    for p in left[:2]:
        p.write_text("halv")
    for p in left[2:]:
        p.mkdir()
        (p / "zygote.log").write_text("")
    cached = subprocess.run(cmd, cwd=tmp_path, env=environ, capture_output=True, text=True)
    assert cached.returncode == 0 and "0 körda" in cached.stdout, cached.stdout
    assert _debris(out, systemtemp) == []


# --------------------------------------------------------------------------- ingest
@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    ex = tmp_path_factory.mktemp("ex")
    subprocess.run([str(VU), "sample", "--out", str(ex)], check=True, capture_output=True)
    files = sorted(ex.iterdir())
    full = tmp_path_factory.mktemp("full") / "vu.duckdb"
    subprocess.run([str(VU), "ingest", *map(str, files), "--store", str(full)], check=True, capture_output=True)
    return files, full


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5, 3.0, "skriver"])
@pytest.mark.parametrize("existing", [False, True], ids=["nytt-lager", "befintligt-lager"])
def test_kill_9_of_vu_ingest(tmp_path, sample, delay, existing):
    from vu_lib.data.store import store_fingerprint

    files, full = sample
    store = tmp_path / "lager" / "vu.duckdb"
    if existing:  # the first two years are in; the call loads all four (replacing nothing, adding 2025-2026)
        early = [f for f in files if "2023" in f.name or "2024" in f.name]
        subprocess.run([str(VU), "ingest", *map(str, early), "--store", str(store)], check=True, capture_output=True)
        before = file_sha256(store)
    proc = subprocess.Popen([str(VU), "ingest", *map(str, files), "--store", str(store)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    if delay == "skriver":  # while the new store file is being written
        ready = lambda: bool(list(store.parent.glob(f".vu.duckdb.{proc.pid}.tmp")))  # noqa: E731
    else:
        ready = lambda: time.monotonic() - started > delay  # noqa: E731
    tree = _kill_when(proc, ready)
    time.sleep(0.2)
    assert not _alive(tree)
    if delay == "skriver":
        assert list(store.parent.glob(".vu.duckdb.*.tmp")), "killed while writing: its temporary file is there"
    # the store is unchanged (or absent) or complete; never half, never grown
    if store.exists():
        if existing and file_sha256(store) == before:
            pass
        else:
            assert store_fingerprint(store) == store_fingerprint(full)
    else:
        assert not existing
    # the next ingest removes the killed one's temporary file and completes
    done = subprocess.run([str(VU), "ingest", *map(str, files), "--store", str(store)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert store_fingerprint(store) == store_fingerprint(full)
    assert store.stat().st_size <= full.stat().st_size * 1.1
    assert _debris(store.parent) == []

