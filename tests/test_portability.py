"""Windows and macOS code paths, tested on Linux.

* No module of vu_lib imports a Unix-only (or Windows-only) module at module level.
* The console prints Swedish text and the true minus sign on a Windows code page.
* With ``fork`` and ``fcntl`` made unavailable in every process (a ``sitecustomize``
  on PYTHONPATH removes ``os.fork`` and blocks ``import fcntl``, as on Windows), a
  small batch runs through the pre-started kernels (no zygote) and a real notebook
  is executed and rendered end to end; the fixture batch gives the same cell
  outputs as the zygote path.
"""
from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from batchkit import isolated_jupyter, run, statuses  # noqa: F401 - isolated_jupyter: autouse fixture
from vu_lib import cli
from vu_lib.core.io import make_console_safe

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

UNIX_ONLY = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "syslog", "crypt",
             "spwd", "nis", "_posixsubprocess", "_posixshmem", "ossaudiodev", "readline", "curses"}
WINDOWS_ONLY = {"msvcrt", "winreg", "_winapi", "winsound", "nt"}


def _module_level_imports(tree: ast.AST):
    """Import nodes executed at import time: everything outside function bodies."""
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]
        stack.extend(ast.iter_child_nodes(node))


def test_no_platform_only_import_at_module_level():
    found = []
    for path in sorted((ROOT / "vu_lib").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, mod in _module_level_imports(tree):
            if mod in UNIX_ONLY | WINDOWS_ONLY:
                found.append(f"{path.relative_to(ROOT)}:{line}: import {mod}")
    assert found == []


def test_the_checker_finds_a_module_level_import():
    tree = ast.parse("import os\ntry:\n    import fcntl\nexcept ImportError:\n    pass\n"
                     "def f():\n    import termios\nclass C:\n    import pwd\n")
    assert sorted(m for _, m in _module_level_imports(tree)) == ["fcntl", "os", "pwd"]


# =========================================================================== console
@pytest.mark.parametrize("encoding", ["cp1252", "cp850", "cp437"])
def test_console_prints_swedish_and_minus_on_a_windows_code_page(encoding, tmp_path, monkeypatch):
    with pytest.raises(UnicodeEncodeError):  # the crash this guards against
        "\u22121 234".encode(encoding)
    out = io.TextIOWrapper(io.BytesIO(), encoding=encoding, newline="")
    err = io.TextIOWrapper(io.BytesIO(), encoding=encoding, newline="")
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    bad = tmp_path / "obalans.se"
    bad.write_bytes(textwrap.dedent("""\
        #FORMAT PC8
        #SIETYP 4
        #KONTO 5011 "Löner"
        #KONTO 1930 "Bank"
        #DIM 1 "Ansvar"
        #DIM 20 "Komplement"
        #OBJEKT 1 "411110" "Skäggetorp"
        #VER A 1 20260125 "Löner"
        {
        #TRANS 5011 {1 "411110"} 100.00
        #TRANS 1930 {} -110.00
        }
        """).encode("cp437"))
    assert cli.main(["validate", str(bad)]) == 2
    sys.stderr.flush()
    text = err.buffer.getvalue().decode(encoding)
    # the sum −10,00 is printed with "-" in place of U+2212; å, ä, ö as they are
    assert "fält #VER: verifikationen A 1 balanserar inte: summan av raderna är -10,00 (ska vara 0)" in text
    assert "vu: 1 fel i indata" in text


def test_console_leaves_utf8_streams_alone():
    s = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    make_console_safe(s)
    s.write("\u2212")
    s.flush()
    assert s.buffer.getvalue() == "\u2212".encode()
    assert s.errors == "strict"


# =========================================================================== no fork, no fcntl
SITECUSTOMIZE = '''
import os, sys
for _name in ("fork", "forkpty"):
    if hasattr(os, _name):
        delattr(os, _name)
sys.modules["fcntl"] = None  # `import fcntl` raises ImportError, as on Windows
'''

DRIVER = '''
import json, os, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
assert not hasattr(os, "fork")
try:
    import fcntl  # noqa: F401
    raise SystemExit("fcntl is importable")
except ImportError:
    pass
from batchkit import run
from vu_lib.publish.zygote import zygote_supported
assert not zygote_supported()
rc, log = run(Path({out!r}), "--period", "2026-10", "--vu", "AN-VB", "SON-BO-BU")
print(json.dumps({{"rc": rc, "statuses": {{j["namn"]: j["status"] for j in log["jobb"]}}}}))
'''


def _no_fork_env(tmp_path: Path) -> dict:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter-data")
    env.pop("VU_BATCH_ZYGOTE", None)
    return env


def _outputs(nb_path: Path) -> list:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return [[{k: v for k, v in o.items() if k not in ("execution_count", "metadata")} for o in c.get("outputs", [])]
            for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.slow
def test_batch_without_fork_and_fcntl_gives_the_zygotes_results(tmp_path):
    env = _no_fork_env(tmp_path)
    out_pool = tmp_path / "utan-fork"
    proc = subprocess.run([sys.executable, "-c", DRIVER.format(tests=str(TESTS), out=str(out_pool))],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["rc"] == 0 and set(got["statuses"].values()) == {"klar"}, got
    # The same batch through the zygote (this process has fork): the same cell outputs.
    out_zygote = tmp_path / "med-fork"
    rc, log = run(out_zygote, "--period", "2026-10", "--vu", "AN-VB", "SON-BO-BU")
    assert rc == 0 and statuses(log) == got["statuses"]
    for name in got["statuses"]:
        a = _outputs(out_pool / "2026-10" / "notebooks" / f"{name}.ipynb")
        b = _outputs(out_zygote / "2026-10" / "notebooks" / f"{name}.ipynb")
        assert any(a), name
        assert a == b, name


@pytest.mark.slow
def test_real_notebook_end_to_end_without_fork_and_fcntl(tmp_path):
    env = _no_fork_env(tmp_path)
    out = tmp_path / "reports"
    store = tmp_path / "lager" / "vu.duckdb"
    # A store loaded through the lock (SoftFileLock without fcntl), then a real report.
    proc = subprocess.run([sys.executable, "-m", "vu_lib.cli", "ingest", "--store", str(store),
                           str(TESTS / "fixtures" / "sie" / "leanlink_2026.se"),
                           str(TESTS / "fixtures" / "sie" / "volymer_utfall_2026.csv")],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = subprocess.run([sys.executable, "-m", "vu_lib.cli", "run", "--period", "2026-03", "--vu", "AN-OMR-NV",
                           "--to", "html", "--jobs", "1", "--renderer", "builtin", "--out", str(out),
                           "--store", str(store)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-3000:])
    log = json.loads((out / "2026-03" / "korlogg.json").read_text(encoding="utf-8"))
    assert set(statuses(log).values()) == {"klar"}
    import html as html_mod

    page = html_mod.unescape((out / "2026-03" / "AN-OMR-NV.html").read_text(encoding="utf-8"))
    assert "Områdesansvar Nordväst" in page
    # By hand from the SIE file: March ersättning 1 183 333,33 + 950 000 + 400 000 = 2 533 333,33,
    # kostnad 800 000 + 655 000 + 390 000 = 1 845 000, resultat 688 333,33 ≈ +688 tkr; to March
    # ersättning 3 × 2 133 333,33 + 400 000 = 6 799 999,99 − kostnad 4 762 760,75 = 2 037 239,24 ≈ +2 037 tkr.
    # the result table gives tkr once, in its caption, and the amounts without the unit (issue 9)
    assert "+688<" in page and "(tkr)" in page
    assert "+2\u00a0037<" in page


def test_pid_alive_probes_without_signalling():
    from vu_lib.core.io import pid_alive

    assert pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a zombie needs fork (POSIX)")
def test_a_zombie_is_not_alive():
    """A process that has ended but is not reaped yet (a report child whose zygote was killed) writes
    nothing more: its temporary files are debris (clean_stale), not a live process's."""
    import time

    from vu_lib.core.io import pid_alive

    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        time.sleep(0.2)  # ended, not reaped: a zombie
        assert not pid_alive(pid)
    finally:
        os.waitpid(pid, 0)


WATCHED = """
import sys, time
from vu_lib.publish.zygote import watch_parent
watch_parent(int(sys.argv[1]), interval=0.1)
print("klar", flush=True)
time.sleep(60)
"""
MIDDLE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(__import__("os").getpid())], stdout=sys.stdout)
print(child.pid, flush=True)
time.sleep(60)
"""


def test_the_portable_watchdog_ends_an_orphan():
    """watch_parent (die_with_parent's way on Windows and macOS) ends a process whose parent was killed."""
    import psutil

    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, WATCHED], stdout=subprocess.PIPE, text=True)
    try:
        child = int(middle.stdout.readline())
        assert middle.stdout.readline().strip() == "klar"  # the watchdog runs
        assert psutil.pid_exists(child)
        middle.kill()
        middle.wait()
        deadline = time.monotonic() + 10
        while psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the orphan outlived its parent by 10 s"
            time.sleep(0.05)
    finally:
        middle.kill()
