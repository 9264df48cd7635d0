"""The batch (vu run / vu budget): planning, cache, isolation of failures, outputs.

The end-to-end tests execute the tiny notebooks in ``tests/fixtures/batch/``
with ``--jobs 2`` and a fake renderer (the real one is tested in test_render);
the zygote preloads only ipykernel so a batch starts quickly.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vu_lib import batch
from vu_lib.cli import build_parser

FIXTURES = Path(__file__).parent / "fixtures" / "batch"
NBS = batch.NotebookSet(directory=FIXTURES)
NINE = ["AN-OMR-NV", "AN-OMR-NO", "AN-OMR-CN", "AN-OPPNA", "AN-VB",
        "SON-OPPNA-BUF", "SON-OPPNA-VUX", "SON-BO-BU", "SON-BO-VUX"]
AN = NINE[:5]
FAST = {"preload_data": False,
        "zygote_preload": ["IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                           "ipykernel.debugger"]}


class FakeRenderer:
    """Writes a small HTML page and a fake PDF; records the meta it got."""

    calls: list = []

    def render_html(self, nb_path, out_path, meta):
        FakeRenderer.calls.append(("html", Path(nb_path).name, dict(meta)))
        Path(out_path).write_text(f"<html><body><h1>{meta['titel']}</h1>{meta['vu']}</body></html>", encoding="utf-8")

    def render_pdf(self, nb_path, out_path, meta):
        FakeRenderer.calls.append(("pdf", Path(nb_path).name, dict(meta)))
        Path(out_path).write_bytes(b"%PDF-1.7\n% fake\n")


class HalfRenderer(FakeRenderer):
    """Writes half a page straight into the target, then fails."""

    def render_html(self, nb_path, out_path, meta):
        Path(out_path).write_text("<html><body>halv", encoding="utf-8")
        raise RuntimeError("renderaren dog mitt i")


@pytest.fixture(autouse=True)
def _isolated_jupyter(tmp_path, monkeypatch):
    # Signatures go to a private notary database, not the user's.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))


def run(out: Path, *argv: str, renderer=FakeRenderer, store: Path | None = None, capsys=None):
    args = build_parser().parse_args(
        ["run", "--jobs", "2", "--out", str(out), "--store", str(store or out / "inget-lager.duckdb"), *argv])
    rc = batch.cli_run(args, notebooks=NBS, renderer_factory=renderer, batch_options=FAST)
    log = json.loads((out / (args.period or "2026-10") / "korlogg.json").read_text(encoding="utf-8"))
    return rc, log


def statuses(log) -> dict:
    return {j["namn"]: j["status"] for j in log["jobb"]}


# --------------------------------------------------------------------------- planning (no execution)
def test_plan_full_period(params):
    jobs = batch.plan_run(params, "2026-08", notebooks=NBS)
    assert [j.name for j in jobs] == NINE + ["AN", "SON", "Leanlink", "modell"]
    vb = jobs[4]
    assert vb.parameters == {"vu": "AN-VB", "period": "2026-08"} and vb.notebook == "vu_rapport.ipynb"
    assert vb.title == "Vårdbostad och korttidsplatser" and vb.namnd == "AN"
    assert jobs[-2].parameters == {"scope": "Leanlink", "period": "2026-08"}
    assert jobs[-1].parameters == {"year": 2026}
    assert vb.modellversion == "4.1"  # the revision from July


def test_plan_namnd_and_vu(params):
    assert [j.name for j in batch.plan_run(params, "2026-08", namnd="AN")] == AN + ["AN"]
    assert [j.name for j in batch.plan_run(params, "2026-08", vu_ids=["SON-BO-BU", "AN-VB"])] == ["AN-VB", "SON-BO-BU"]
    assert [j.name for j in batch.plan_run(params, "2026-08", vu_ids=["AN-VB"], namnd="AN")] == ["AN-VB", "AN"]
    with pytest.raises(batch.BatchUsageError, match="Okänt verksamhetsuppdrag 'AN-XX'"):
        batch.plan_run(params, "2026-08", vu_ids=["AN-XX"])
    with pytest.raises(batch.BatchUsageError, match="regleras separat"):
        batch.plan_run(params, "2026-08", vu_ids=["EKB"])
    with pytest.raises(batch.BatchUsageError, match="hör inte till SON"):
        batch.plan_run(params, "2026-08", vu_ids=["AN-VB"], namnd="SON")


@pytest.mark.parametrize("value, message", [
    ("2026-8", "ÅÅÅÅ-MM"), ("augusti", "ÅÅÅÅ-MM"), ("2026-13", "01–12"), ("2031-01", "ingen modellversion"),
])
def test_bad_period_is_refused(params, value, message):
    with pytest.raises(batch.BatchUsageError, match=message):
        batch.validate_period(params, value)


def test_cli_bad_input_exits_2(tmp_path, capsys):
    parser = build_parser()
    for argv, text in ((["run", "--period", "2026-13"], "månaden ska vara 01–12"),
                       (["run", "--period", "2026-08", "--vu", "AN-XX"], "Okänt verksamhetsuppdrag"),
                       (["run", "--period", "2026-08", "--to", "docx"], "Okänt format 'docx'"),
                       (["run", "--period", "2026-08", "-p", "period", "2026-09"], "använd --period"),
                       (["run", "--period", "2026-08", "-p", "okand", "1"], "Ingen av notebookarna"),
                       (["budget", "2031"], "Budget för 2031")):
        args = parser.parse_args([*argv, "--out", str(tmp_path / "out")])
        fn = batch.cli_budget if argv[0] == "budget" else batch.cli_run
        assert fn(args, notebooks=NBS, renderer_factory=FakeRenderer) == 2
        assert text in capsys.readouterr().err
    assert not (tmp_path / "out" / "2026-08").exists()


def test_parameter_values_parse_like_papermill():
    from papermill.cli import _resolve_type

    for raw in ("True", "False", "None", "12", "-3", "1.5", "1e3", "2026-08", "AN-VB", "0580", "", "nan"):
        assert batch.parse_parameter_value(raw) == _resolve_type(raw) or raw == "nan"


def test_extra_parameters_go_to_notebooks_that_declare_them(params):
    jobs = batch.plan_run(params, "2026-08", notebooks=NBS)
    parsed = batch.apply_extra_parameters(jobs, [("detalj", "2"), ("fail_vu", "AN-VB")], NBS)
    assert parsed == {"detalj": 2, "fail_vu": "AN-VB"}
    by = {j.name: j.parameters for j in jobs}
    assert by["modell"] == {"year": 2026, "detalj": 2}
    assert by["AN-VB"]["fail_vu"] == "AN-VB" and "detalj" not in by["AN-VB"]
    assert "fail_vu" not in by["Leanlink"] and "detalj" not in by["Leanlink"]
    assert batch.declared_parameters(FIXTURES / "modell.ipynb") == {"year", "store", "detalj"}


def test_job_key_covers_every_input(params):
    job = batch.plan_run(params, "2026-08", vu_ids=["AN-VB"], notebooks=NBS)[0]
    inputs = batch.Inputs(store=Path("/x"), data_key="d1", data_fingerprint="d1", data_source="exempeldata",
                          params_fingerprint="p1", code_version="c1", source_hash="s1")
    base = batch.job_key(job, "nb1", inputs, ["html", "pdf"], "builtin")
    assert base == batch.job_key(job, "nb1", inputs, ["pdf", "html"], "builtin")
    changed = [
        batch.job_key(job, "nb2", inputs, ["html", "pdf"], "builtin"),
        batch.job_key(job, "nb1", inputs, ["html"], "builtin"),
        batch.job_key(job, "nb1", inputs, ["html", "pdf"], "quarto"),
    ]
    for field, value in (("data_key", "d2"), ("params_fingerprint", "p2"), ("code_version", "c2"), ("source_hash", "s2")):
        other = batch.Inputs(**{**inputs.__dict__, field: value})
        changed.append(batch.job_key(job, "nb1", other, ["html", "pdf"], "builtin"))
    job.parameters["extra"] = 1
    changed.append(batch.job_key(job, "nb1", inputs, ["html", "pdf"], "builtin"))
    assert base not in changed and len(set(changed)) == len(changed)
    # The store's path is not part of the key (only its content is).
    moved = batch.Inputs(**{**inputs.__dict__, "store": Path("/y")})
    job.parameters.pop("extra")
    assert batch.job_key(job, "nb1", moved, ["html", "pdf"], "builtin") == base


def test_excel_number_formats():
    f = batch.excel_number_format
    assert f("kr", 1234) == '#,##0 "kr"'
    assert f("tkr", 1234567) == '#,##0, "tkr"'
    assert f("mnkr", 1.5e6) == '#,##0.0,, "mnkr"'
    assert f("pct", 0.5) == "0.0%"
    assert f("pct(2)", 0.5) == "0.00%"
    assert f("num(2)", 3.0) == "#,##0.00"
    assert f("+tkr", -5) == '+#,##0, "tkr";-#,##0, "tkr";#,##0, "tkr"'
    assert f("count", 12) == "#,##0"
    assert f("text", 12) is None and f("kr", "x") is None and f("kr", None) is None
    assert f(None, 3) == "#,##0" and f(None, 3.5) == "#,##0.00"


def test_atomic_write_keeps_old_file_on_error(tmp_path, monkeypatch):
    target = tmp_path / "index.html"
    target.write_text("gammal", encoding="utf-8")

    def boom(*a, **k):
        raise OSError("disken full")

    monkeypatch.setattr(batch.os, "replace", boom)
    with pytest.raises(OSError):
        batch.atomic_write_text(target, "ny")
    assert target.read_text(encoding="utf-8") == "gammal"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]  # no temporary file left


# --------------------------------------------------------------------------- end to end
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


def test_unchanged_rerun_executes_nothing_and_parameter_change_only_affected(tmp_path, capsys):
    out = tmp_path / "reports"
    rc, first = run(out, "--period", "2026-10")
    assert rc == 0 and set(statuses(first).values()) == {"klar"} and len(first["jobb"]) == 13
    capsys.readouterr()

    rc, second = run(out, "--period", "2026-10")
    printed = capsys.readouterr().out
    assert rc == 0
    assert set(statuses(second).values()) == {"oförändrad"}
    assert printed.count("oförändrad, hoppar över") == 13
    assert "0 körda, 13 från cache" in printed
    assert all(j["korning_sekunder"] is None for j in second["jobb"])

    # A parameter only modell declares: only modell runs again.
    rc, third = run(out, "--period", "2026-10", "-p", "detalj", "2")
    assert rc == 0
    st = statuses(third)
    assert st.pop("modell") == "klar" and set(st.values()) == {"oförändrad"}
    nb = json.loads((out / "2026-10" / "notebooks" / "modell.ipynb").read_text(encoding="utf-8"))
    assert nb["metadata"]["papermill"]["parameters"]["detalj"] == 2

    # --force runs everything again.
    rc, forced = run(out, "--period", "2026-10", "-p", "detalj", "2", "--force")
    assert set(statuses(forced).values()) == {"klar"}


def test_failed_render_leaves_the_previous_report(tmp_path, capsys):
    out = tmp_path / "reports"
    rc, _ = run(out, "--period", "2026-10", "--vu", "AN-VB")
    assert rc == 0
    html = out / "2026-10" / "AN-VB.html"
    good = html.read_bytes()
    rc, log = run(out, "--period", "2026-10", "--vu", "AN-VB", "--force", renderer=HalfRenderer)
    assert rc == 1
    assert statuses(log) == {"AN-VB": "renderingsfel"}
    assert "renderaren dog mitt i" in log["jobb"][0]["fel"]
    assert html.read_bytes() == good
    assert not [p for p in html.parent.iterdir() if p.name.startswith(".AN-VB")]  # no temp files left
    # Not cached: the next run renders again.
    rc, log = run(out, "--period", "2026-10", "--vu", "AN-VB")
    assert rc == 0 and statuses(log) == {"AN-VB": "klar"}


def test_outputs_xlsx_index_signatures(tmp_path, capsys):
    from nbformat import read
    from nbformat.sign import NotebookNotary
    from openpyxl import load_workbook

    out = tmp_path / "reports"
    FakeRenderer.calls = []
    rc, log = run(out, "--period", "2026-10", "--namnd", "SON")
    assert rc == 0
    d = out / "2026-10"
    names = NINE[5:] + ["SON"]

    # The renderer got the report metadata.
    meta = {c[1]: c[2] for c in FakeRenderer.calls if c[0] == "html"}
    assert meta["SON-BO-BU.ipynb"]["titel"] == "Delårsuppföljning"
    assert meta["SON-BO-BU.ipynb"]["vu"] == "SON-BO-BU" and meta["SON-BO-BU.ipynb"]["period"] == "2026-10"
    assert meta["SON-BO-BU.ipynb"]["namnd"] == "Social- och omsorgsnämnden"
    assert meta["SON.ipynb"]["modellversion"] == "4.1"

    # Excel: one sheet per table after the contents sheet; numbers are numbers.
    wb = load_workbook(d / "SON-BO-BU.xlsx")
    assert wb.sheetnames == ["Innehåll", "SON-BO-BU ersättning"]
    ws = wb["SON-BO-BU ersättning"]
    assert [c.value for c in ws[1]] == ["Post", "Belopp", "Andel", "Timpris", "Antal brukare"]
    row = [c for c in ws[2]]
    assert row[1].value == 12345678 and row[1].data_type == "n" and row[1].number_format == '#,##0 "kr"'
    assert row[2].value == pytest.approx(0.875) and row[2].number_format == "0.0%"
    assert row[3].value == pytest.approx(512.25) and row[3].number_format == "#,##0.00"
    assert ws.cell(3, 2).value == pytest.approx(1763668.5)
    assert ws.cell(2, 5).value == 12 and ws.cell(3, 5).value == "<5"  # small counts masked as in the reports
    son = load_workbook(d / "SON.xlsx")
    assert son.sheetnames == ["Innehåll", "Resultat per VU", "Nyckeltal"]

    # index.html links every report and loads nothing from the network.
    index = (d / "index.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]+)"', index)
    for n in names:
        for f in (f"{n}.html", f"{n}.pdf", f"{n}.xlsx", f"notebooks/{n}.ipynb"):
            assert f in hrefs, f
    assert not re.search(r"https?://", index)
    assert "<script" not in index and 'lang="sv"' in index

    # Executed notebooks are signed (trusted in JupyterLab).
    notary = NotebookNotary()
    for n in names:
        nb = read(d / "notebooks" / f"{n}.ipynb", as_version=4)
        assert notary.check_signature(nb), n

    # The kernel was this environment's Python, working in the notebooks directory.
    nb = json.loads((d / "notebooks" / "SON-BO-BU.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert f"python {sys.executable}" in text and f"cwd {FIXTURES.resolve()}" in text


def test_budget(tmp_path, capsys):
    out = tmp_path / "reports"
    args = build_parser().parse_args(["budget", "2027", "--jobs", "2", "--out", str(out),
                                      "--store", str(tmp_path / "inget.duckdb")])
    assert batch.cli_budget(args, notebooks=NBS, renderer_factory=FakeRenderer, batch_options=FAST) == 0
    d = out / "budget-2027"
    for f in ("budget.html", "budget.pdf", "budget.xlsx", "notebooks/budget.ipynb", "index.html", "korlogg.json"):
        assert (d / f).is_file(), f
    assert "1 rapport för budget-2027: 1 körda" in capsys.readouterr().out


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


def test_unchanged_rerun_stays_light(tmp_path):
    """A second run with nothing changed imports none of the execution machinery."""
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_batch import FakeRenderer, FAST, NBS
        from vu_lib import batch
        from vu_lib.cli import build_parser

        def main():
            args = build_parser().parse_args(["run", "--period", "2026-10", "--vu", "AN-VB", "--jobs", "1",
                                              "--out", sys.argv[1], "--store", sys.argv[1] + "/x.duckdb"])
            rc = batch.cli_run(args, notebooks=NBS, renderer_factory=FakeRenderer, batch_options=FAST)
            heavy = sorted(m for m in ("papermill", "nbconvert", "nbformat", "altair", "jupyter_client", "openpyxl",
                                       "tqdm", "vu_lib.render") if m in sys.modules)
            print("RC", rc, "HEAVY", ",".join(heavy))

        if __name__ == "__main__":
            main()
    """)
    path = tmp_path / "light.py"
    path.write_text(script, encoding="utf-8")
    out = tmp_path / "reports"
    first = subprocess.run([sys.executable, str(path), str(out)], capture_output=True, text=True)
    assert "RC 0 HEAVY" in first.stdout and "nbformat" in first.stdout, first.stdout + first.stderr
    second = subprocess.run([sys.executable, str(path), str(out)], capture_output=True, text=True)
    assert second.stdout.strip().endswith("RC 0 HEAVY"), second.stdout + second.stderr
    assert "oförändrad, hoppar över" in second.stdout
