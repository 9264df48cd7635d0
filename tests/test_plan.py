"""Planning a batch (vu_lib.plan): the jobs of a period or a budget year, periods, -p parameters."""
from __future__ import annotations

import pytest

from batchkit import AN, FIXTURES, NBS, NINE
from vu_lib.publish import plan
from vu_lib.core.exceptions import VuError


def test_plan_full_period(params):
    jobs = plan.plan_run(params, "2026-08", notebooks=NBS)
    assert [j.name for j in jobs] == NINE + ["AN", "SON", "Leanlink", "modell"]
    vb = jobs[4]
    assert vb.parameters == {"vu": "AN-VB", "period": "2026-08"} and vb.notebook == "vu_rapport.ipynb"
    assert vb.title == "Vårdbostad och korttidsplatser" and vb.namnd == "AN"
    assert jobs[-2].parameters == {"scope": "Leanlink", "period": "2026-08"}
    assert jobs[-1].parameters == {"year": 2026}
    assert vb.modellversion == "4.1"  # the revision from July


def test_plan_namnd_and_vu(params):
    assert [j.name for j in plan.plan_run(params, "2026-08", namnd="AN")] == AN + ["AN"]
    assert [j.name for j in plan.plan_run(params, "2026-08", vu_ids=["SON-BO-BU", "AN-VB"])] == ["AN-VB", "SON-BO-BU"]
    assert [j.name for j in plan.plan_run(params, "2026-08", vu_ids=["AN-VB"], namnd="AN")] == ["AN-VB", "AN"]
    with pytest.raises(plan.BatchUsageError, match="Okänt verksamhetsuppdrag 'AN-XX'"):
        plan.plan_run(params, "2026-08", vu_ids=["AN-XX"])
    with pytest.raises(plan.BatchUsageError, match="regleras separat"):
        plan.plan_run(params, "2026-08", vu_ids=["EKB"])
    with pytest.raises(plan.BatchUsageError, match="hör inte till SON"):
        plan.plan_run(params, "2026-08", vu_ids=["AN-VB"], namnd="SON")
    with pytest.raises(plan.BatchUsageError, match="Okänd nämnd 'XX'"):
        plan.plan_run(params, "2026-08", namnd="XX")


def test_plan_budget(params):
    [job] = plan.plan_budget(params, 2027, notebooks=NBS)
    assert (job.name, job.kind, job.notebook, job.parameters) == ("budget", "budget", "budget.ipynb", {"year": 2027})
    with pytest.raises(plan.BatchUsageError, match="Budget för 2031"):
        plan.plan_budget(params, 2031)


@pytest.mark.parametrize("value, message", [
    ("2026-8", "ÅÅÅÅ-MM"), ("augusti", "ÅÅÅÅ-MM"), ("2026-13", "01–12"), ("2031-01", "ingen modellversion"),
])
def test_bad_period_is_refused(params, value, message):
    with pytest.raises(plan.BatchUsageError, match=message):
        plan.validate_period(params, value)


def test_parameter_values_parse_like_papermill():
    from papermill.cli import _resolve_type

    for raw in ("True", "False", "None", "12", "-3", "1.5", "1e3", "2026-08", "AN-VB", "0580", "", "nan"):
        assert plan.parse_parameter_value(raw) == _resolve_type(raw) or raw == "nan"


def test_extra_parameters_go_to_notebooks_that_declare_them(params):
    jobs = plan.plan_run(params, "2026-08", notebooks=NBS)
    parsed = plan.apply_extra_parameters(jobs, [("detalj", "2"), ("fail_vu", "AN-VB")], NBS)
    assert parsed == {"detalj": 2, "fail_vu": "AN-VB"}
    by = {j.name: j.parameters for j in jobs}
    assert by["modell"] == {"year": 2026, "detalj": 2}
    assert by["AN-VB"]["fail_vu"] == "AN-VB" and "detalj" not in by["AN-VB"]
    assert "fail_vu" not in by["Leanlink"] and "detalj" not in by["Leanlink"]
    assert plan.declared_parameters(FIXTURES / "modell.ipynb") == {"year", "store", "detalj"}


def test_declared_parameters_without_a_parameters_cell(tmp_path):
    nb = tmp_path / "utan.ipynb"
    nb.write_text('{"cells": [{"cell_type": "code", "metadata": {}, "source": ["x = 1"]}]}', encoding="utf-8")
    assert plan.declared_parameters(nb) is None  # papermill injects at the top: any name is accepted
    with pytest.raises(VuError, match="kan inte läsas"):
        plan.declared_parameters(tmp_path / "saknas.ipynb")
