"""Faults around the store: disk full, read-only file system, damaged store, unexpected errors.

A full disk and a read-only file system are real, not mocked: each test runs
``vu`` inside a private mount namespace (``unshare -Urm``) on a small tmpfs or a
read-only bind mount. Every case must end with exit code 1 and a Swedish
message, no traceback, the store byte for byte as it was and no temporary file.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXPORTS, TODAY, file_sha256
from vu_lib import cli

VU = Path(sys.executable).parent / "vu"
FIXTURES = [EXPORTS / n for n in ("huvudbok_2026.csv", "volymer_2026.csv", "bemanning_2026.csv", "medel.csv")]
HB = "period;kodtyp;kod;konto;verifikation;belopp;text\n"


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t tmpfs none /mnt 2>/dev/null || "
                            "mount -t tmpfs none /tmp"], capture_output=True)
    return probe.returncode == 0


needs_ns = pytest.mark.skipif(not _namespaces_work(), reason="unshare -Urm (user namespaces) is not available")


def in_namespace(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "-Urm", "sh", "-c", script], capture_output=True, text=True, timeout=300)


@pytest.fixture
def store(tmp_path, params):
    from vu_lib.data.store import ingest_files

    path = tmp_path / "lager" / "vu.duckdb"
    ingest_files(FIXTURES, path, params=params, today=TODAY)
    return path


def _replacement(tmp_path: Path) -> Path:
    p = tmp_path / "huvudbok_mars.csv"
    p.write_text(HB + "2026-03;ID;411110;5011;V1;5;x\n", encoding="utf-8")
    return p


def _assert_clean_failure(proc: subprocess.CompletedProcess, fragment: str) -> None:
    text = proc.stdout + proc.stderr
    assert "rc=1" in proc.stdout, text
    assert "Traceback" not in text, text
    assert fragment in proc.stderr, text


# --------------------------------------------------------------------------- disk full
@needs_ns
def test_disk_full_while_creating_a_store(tmp_path):
    mnt = tmp_path / "liten"
    mnt.mkdir()
    files = " ".join(shlex.quote(str(p)) for p in FIXTURES)
    proc = in_namespace(f"""
        mount -t tmpfs -o size=64k none {mnt}
        {VU} ingest {files} --store {mnt}/vu.duckdb; echo "rc=$?"
        ls -A {mnt}""")
    _assert_clean_failure(proc, "disken är full")
    left = proc.stdout.split("rc=1", 1)[1].split()
    assert "vu.duckdb" not in left and not [f for f in left if f.endswith((".tmp", ".wal"))], proc.stdout


@needs_ns
def test_disk_full_while_replacing_months_leaves_the_store_as_it_was(tmp_path, store):
    mnt = tmp_path / "liten"
    mnt.mkdir()
    size = store.stat().st_size + 48 * 1024  # room for the store, not for the new copy beside it
    new = _replacement(tmp_path)
    proc = in_namespace(f"""
        mount -t tmpfs -o size={size} none {mnt}
        cp {store} {mnt}/vu.duckdb
        sha256sum {mnt}/vu.duckdb
        {VU} ingest {new} --store {mnt}/vu.duckdb; echo "rc=$?"
        sha256sum {mnt}/vu.duckdb
        ls -A {mnt}""")
    _assert_clean_failure(proc, "disken är full")
    sums = [ln.split()[0] for ln in proc.stdout.splitlines() if ln.endswith("/vu.duckdb")]
    assert len(sums) == 2 and sums[0] == sums[1] == file_sha256(store), proc.stdout
    left = proc.stdout.split("rc=1", 1)[1].split()
    assert not [f for f in left if f.endswith((".tmp", ".wal"))], proc.stdout


# --------------------------------------------------------------------------- read-only
@needs_ns
def test_read_only_store_refuses_ingest_cleanly(tmp_path, store):
    before = file_sha256(store)
    new = _replacement(tmp_path)
    d = store.parent
    proc = in_namespace(f"""
        mount --bind {d} {d} && mount -o remount,bind,ro {d}
        {VU} ingest {new} --store {store}; echo "rc=$?"
        ls -A {d}""")
    _assert_clean_failure(proc, "filsystemet är skrivskyddat")
    assert file_sha256(store) == before


@needs_ns
@pytest.mark.slow
def test_read_only_store_can_be_reported_from(tmp_path, store):
    out = tmp_path / "rapporter"
    d = store.parent
    proc = in_namespace(f"""
        mount --bind {d} {d} && mount -o remount,bind,ro {d}
        cd {tmp_path} && {VU} run --vu AN-VB --period 2026-02 --store {store} --out {out} --to html --jobs 1; echo "rc=$?"
        """)
    assert "rc=0" in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert (out / "2026-02" / "AN-VB.html").is_file()


# --------------------------------------------------------------------------- damaged store
def _damage(kind: str, good: Path, target: Path) -> None:
    data = good.read_bytes()
    if kind == "avkortad":
        target.write_bytes(data[: len(data) // 3])
    elif kind == "slumpbytes":
        target.write_bytes(bytes((i * 37 + 11) % 256 for i in range(20000)))
    elif kind == "textfil":
        target.write_text("det här är ingen databas\n")
    elif kind == "tom":
        target.write_bytes(b"")
    elif kind == "kontrollsumma":
        b = bytearray(data)
        for i in range(12288, len(b), 4096):
            b[i:i + 16] = b"\xa5" * 16
        target.write_bytes(bytes(b))


@pytest.mark.parametrize("kind, fragment", [("avkortad", "är avkortad"), ("slumpbytes", "är inte en DuckDB-fil"),
                                            ("textfil", "är inte en DuckDB-fil"), ("tom", "är inte en DuckDB-fil"),
                                            ("kontrollsumma", "Lagret")])
def test_damaged_store_gives_a_message_for_ingest_and_run(tmp_path, store, capsys, kind, fragment):
    bad = tmp_path / "skadat" / "vu.duckdb"
    bad.parent.mkdir()
    _damage(kind, store, bad)
    before = file_sha256(bad)
    new = _replacement(tmp_path)
    assert cli.main(["ingest", str(new), "--store", str(bad)]) == 1
    err = capsys.readouterr().err
    assert fragment in err and str(bad) in err and "Traceback" not in err
    assert file_sha256(bad) == before
    assert [p.name for p in bad.parent.iterdir() if p.name.endswith((".tmp", ".wal"))] == []
    # vu run without --period must find the latest delår in the store: the same message, not a traceback
    code = cli.main(["run", "--store", str(bad), "--out", str(tmp_path / "r"), "--to", "html", "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "Lagret" in err and "Traceback" not in err, err


# --------------------------------------------------------------------------- the unexpected
def test_unexpected_error_prints_one_line_and_writes_the_traceback_to_a_log(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VU_LOG_DIR", str(tmp_path / "logg"))

    def boom(args):
        raise ZeroDivisionError("division med noll i test")

    monkeypatch.setattr(cli, "_cmd_list", boom)
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    logs = list((tmp_path / "logg").iterdir())
    assert len(logs) == 1 and str(logs[0]) in err
    text = logs[0].read_text(encoding="utf-8")
    assert "Traceback" in text and "ZeroDivisionError: division med noll i test" in text and "boom" in text


def test_os_errors_get_swedish_messages(capsys, monkeypatch):
    import errno

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/vu.duckdb")

    monkeypatch.setattr(cli, "_cmd_list", full)
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "vu: kunde inte skriva eller läsa (/data/vu.duckdb): disken är full; inget har ändrats i lagret"
