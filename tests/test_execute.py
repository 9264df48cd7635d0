"""Execution of the batch's notebooks (vu_lib.execute, vu_lib.kernels, vu_lib.zygote)."""
from __future__ import annotations

import json
import time

import pytest

from batchkit import AN, FIXTURES, isolated_jupyter, run, statuses  # noqa: F401 - isolated_jupyter: autouse fixture
from vu_lib.publish import execute, zygote


def test_failure_does_not_stop_the_others(tmp_path, capsys):
    out = tmp_path / "reports"
    rc, log = run(out, "--period", "2026-10", "--namnd", "AN", "-p", "fail_vu", "AN-VB")
    printed = capsys.readouterr().out
    assert rc == 1
    st = statuses(log)
    assert st["AN-VB"] == "misslyckades"
    assert all(st[n] == "klar" for n in AN + ["AN"] if n != "AN-VB")
    d = out / "2026-10"
    for n in AN + ["AN"]:
        assert (d / "notebooks" / f"{n}.ipynb").is_file()
        assert (d / f"{n}.html").is_file() == (n != "AN-VB")
    # The failed notebook is kept, with the error in it.
    nb = json.loads((d / "notebooks" / "AN-VB.ipynb").read_text(encoding="utf-8"))
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "ValueError" and "avsiktligt fel i AN-VB" in errors[0]["evalue"]
    # Named in the log (with the error text) and in the summary.
    failed = [j for j in log["jobb"] if j["namn"] == "AN-VB"][0]
    assert "ValueError: avsiktligt fel i AN-VB" in failed["fel"]
    assert "Misslyckades: AN-VB" in printed and "1 misslyckade" in printed
    assert "AN-VB" in (d / "korlogg.txt").read_text(encoding="utf-8")
    assert log["jobb"][0]["korning_sekunder"] > 0 and log["indata"]["params_fingeravtryck"]
    index = (d / "index.html").read_text(encoding="utf-8")
    assert "misslyckades" in index and "avsiktligt fel i AN-VB" in index


def test_without_zygote_and_with_a_foreign_kernelspec(tmp_path, monkeypatch, capsys):
    # A user kernelspec 'python3' pointing elsewhere must not be used.
    spec = tmp_path / "kernels" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": ["/bin/false", "{connection_file}"],
                                                  "display_name": "fel", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "kernels"))
    monkeypatch.setenv("VU_BATCH_ZYGOTE", "0")
    rc, log = run(tmp_path / "reports", "--period", "2026-10", "--vu", "AN-VB", "SON-BO-BU")
    assert rc == 0 and set(statuses(log).values()) == {"klar"}


def test_execution_errors_as_text():
    class CellError(Exception):  # shaped like papermill's PapermillExecutionError
        ename, evalue, exec_count = "ValueError", "fel värde", 3
        traceback = ["\x1b[0;31mValueError\x1b[0m: fel värde", "  rad 2"]

    assert execute.format_execution_error(CellError()) == "ValueError: fel värde (cell In[3])\nValueError: fel värde\n  rad 2"
    assert execute.format_execution_error(RuntimeError("\x1b[1mdog\x1b[0m")) == "RuntimeError: dog"


def test_zygote_setting(monkeypatch):
    monkeypatch.setenv("VU_BATCH_ZYGOTE", "0")
    assert not zygote.zygote_supported()
    monkeypatch.delenv("VU_BATCH_ZYGOTE")
    import sys

    assert zygote.zygote_supported() == sys.platform.startswith("linux")


def test_zygote_preloads_the_notebooks_safe_imports():
    found = zygote.notebook_imports(sorted(FIXTURES.glob("*.ipynb")))
    assert all(n.split(".")[0] in ("pandas", "numpy", "altair", "duckdb", "openpyxl", "yaml", "pydantic",
                                   "vl_convert", "vu_lib") for n in found)
    default = zygote.preload_modules(sorted(FIXTURES.glob("*.ipynb")))
    assert default[: len(zygote.PRELOAD)] == list(zygote.PRELOAD) and len(default) == len(set(default))
    assert "vu_lib.data.dataset" in default
    assert not {"vu_lib.publish.batch", "vu_lib.publish.execute", "vu_lib.publish.zygote", "vu_lib.cli"} & set(default)


def test_interrupted_pool_terminates_its_workers_and_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setenv("VU_BATCH_ZYGOTE", "0")
    pool = execute.WorkerPool(1, cwd=FIXTURES)
    with pytest.raises(KeyboardInterrupt):  # not an AttributeError from the clean-up
        with pool:
            pool.submit({"name": "AN-VB", "input": str(FIXTURES / "vu_rapport.ipynb"),
                         "output": str(tmp_path / "AN-VB.ipynb"), "parameters": {"vu": "AN-VB", "period": "2026-10"},
                         "cwd": str(FIXTURES)})
            workers = list(pool.executor._processes.values())
            raise KeyboardInterrupt
    assert workers
    # The executor's own thread may reap a worker while we join it (then one join sees no
    # exit code yet): join until each has one.
    deadline = time.monotonic() + 30
    while any(p.exitcode is None for p in workers) and time.monotonic() < deadline:
        for p in workers:
            p.join(0.05)
    assert all(p.exitcode is not None for p in workers)
    assert not pool.tmpdir.exists()
