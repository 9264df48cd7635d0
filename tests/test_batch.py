"""The batch's entry points (vu_lib.batch): vu run and vu budget from the command line, the summary.

Planning, the cache, execution and the published files have their own tests:
test_plan, test_cache, test_execute and test_outputs (helpers in batchkit).
"""
from __future__ import annotations

from pathlib import Path

from batchkit import FAST, NBS, FakeRenderer, isolated_jupyter  # noqa: F401 - isolated_jupyter: autouse fixture
from vu_lib.publish import batch, plan
from vu_lib.cli import build_parser


def test_public_entry_points():
    from vu_lib.publish.batch import cli_budget, cli_run, plan_budget, plan_run  # noqa: F401 - what vu_lib.cli and the benchmark use

    assert batch.NotebookSet is plan.NotebookSet and batch.BatchUsageError is plan.BatchUsageError


def test_cli_bad_input_exits_2(tmp_path, capsys):
    parser = build_parser()
    for argv, text in ((["run", "--period", "2026-13"], "månaden ska vara 01–12"),
                       (["run", "--period", "2026-08", "--vu", "AN-XX"], "Okänt verksamhetsuppdrag"),
                       (["run", "--period", "2026-08", "--to", "docx"], "Okänt format 'docx'"),
                       (["run", "--period", "2026-08", "-p", "period", "2026-09"], "använd --period"),
                       (["run", "--period", "2026-08", "-p", "okand", "1"], "Ingen av notebookarna"),
                       (["run", "--period", "2026-08", "--jobs", "0"], "--jobs måste vara minst 1"),
                       (["budget", "2031"], "Budget för 2031")):
        args = parser.parse_args([*argv, "--out", str(tmp_path / "out")])
        fn = batch.cli_budget if argv[0] == "budget" else batch.cli_run
        assert fn(args, notebooks=NBS, renderer_factory=FakeRenderer) == 2
        assert text in capsys.readouterr().err
    assert not (tmp_path / "out" / "2026-08").exists()


def test_parse_formats():
    assert batch.parse_formats("html, PDF,html") == ["html", "pdf"]
    assert batch.parse_formats([".pdf"]) == ["pdf"]


def test_summary_text():
    result = batch.BatchResult("2026-10", Path("/ut/2026-10"), seconds=12.34, jobs=[
        {"name": "AN-VB", "status": "klar"}, {"name": "AN", "status": "oförändrad"},
        {"name": "SON", "status": "renderingsfel", "error": "Renderingen misslyckades: x\nmer"}])
    assert batch.summary_text(result) == (
        "3 rapporter för 2026-10: 1 körda, 1 från cache (oförändrade), 1 misslyckade.\n"
        "  Misslyckades: SON (renderingsfel): Renderingen misslyckades: x\n"
        "Index: /ut/2026-10/index.html\n"
        "Total tid: 12,3 s")


def test_summary_text_names_reports_without_actions():
    result = batch.BatchResult("2026-10", Path("/ut/2026-10"), seconds=1.0, jobs=[
        {"name": "AN-VB", "status": "klar", "saknar_atgarder": False},
        {"name": "AN-OMR-NV", "status": "klar", "saknar_atgarder": True},
        {"name": "Leanlink", "status": "oförändrad", "saknar_atgarder": True}])
    assert ("  Åtgärder saknas (underskott eller något att uppmärksamma utan åtgärd i controllerns kommentar): "
            "AN-OMR-NV, Leanlink\n") in batch.summary_text(result)


def test_index_marks_reports_without_actions(tmp_path):
    from vu_lib.publish.cache import BatchState
    from vu_lib.publish.outputs import render_index

    state = BatchState(tmp_path)
    state.jobs = {"AN-VB": {"status": "klar", "title": "Vårdbostad", "order": 1, "saknar_atgarder": False},
                  "AN-OMR-NV": {"status": "klar", "title": "Nordväst", "order": 2, "saknar_atgarder": True}}
    html = render_index(state, {"title": "Rapporter"})
    rows = {n: r for n, r in zip(("AN-VB", "AN-OMR-NV"), html.split("<tr><td class=\"id\">")[1:])}
    assert "Åtgärder saknas" in rows["AN-OMR-NV"] and "Åtgärder saknas" not in rows["AN-VB"]


def test_budget(tmp_path, capsys):
    out = tmp_path / "reports"
    args = build_parser().parse_args(["budget", "2027", "--jobs", "2", "--out", str(out),
                                      "--store", str(tmp_path / "inget.duckdb")])
    assert batch.cli_budget(args, notebooks=NBS, renderer_factory=FakeRenderer, batch_options=FAST) == 0
    d = out / "budget-2027"
    for f in ("budget.html", "budget.pdf", "budget.xlsx", "notebooks/budget.ipynb", "index.html", "korlogg.json"):
        assert (d / f).is_file(), f
    assert "1 rapport för budget-2027: 1 körda" in capsys.readouterr().out
