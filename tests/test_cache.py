"""The batch's cache (vu_lib.cache): content keys, the state file, unchanged re-runs."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from batchkit import NBS, isolated_jupyter, run, statuses  # noqa: F401 - isolated_jupyter: autouse fixture
from vu_lib.publish import cache, plan


def test_job_key_covers_every_input(params):
    job = plan.plan_run(params, "2026-08", vu_ids=["AN-VB"], notebooks=NBS)[0]
    inputs = cache.Inputs(store=Path("/x"), data_key="d1", data_fingerprint="d1", data_source="exempeldata",
                          params_fingerprint="p1", code_version="c1", source_hash="s1")
    base = cache.job_key(job, "nb1", inputs, ["html", "pdf"], "builtin")
    assert base == cache.job_key(job, "nb1", inputs, ["pdf", "html"], "builtin")
    changed = [
        cache.job_key(job, "nb2", inputs, ["html", "pdf"], "builtin"),
        cache.job_key(job, "nb1", inputs, ["html"], "builtin"),
        cache.job_key(job, "nb1", inputs, ["html", "pdf"], "quarto"),
    ]
    for field, value in (("data_key", "d2"), ("params_fingerprint", "p2"), ("code_version", "c2"), ("source_hash", "s2")):
        other = cache.Inputs(**{**inputs.__dict__, field: value})
        changed.append(cache.job_key(job, "nb1", other, ["html", "pdf"], "builtin"))
    job.parameters["extra"] = 1
    changed.append(cache.job_key(job, "nb1", inputs, ["html", "pdf"], "builtin"))
    assert base not in changed and len(set(changed)) == len(changed)
    # The store's path is not part of the key (only its content is).
    moved = cache.Inputs(**{**inputs.__dict__, "store": Path("/y")})
    job.parameters.pop("extra")
    assert cache.job_key(job, "nb1", moved, ["html", "pdf"], "builtin") == base


def test_state_is_fresh_only_with_the_same_key_a_good_status_and_all_outputs(tmp_path):
    job = plan.Job("AN-VB", "vu", "vu_rapport.ipynb", {}, "VB", key="k1")
    state = cache.BatchState(tmp_path)
    assert state.jobs == {} and not state.is_fresh(job)
    (tmp_path / "AN-VB.html").write_text("x", encoding="utf-8")
    state.jobs["AN-VB"] = {"key": "k1", "status": "klar", "outputs": {"html": "AN-VB.html"}}
    state.save()
    again = cache.BatchState(tmp_path)
    assert again.is_fresh(job)
    assert not again.is_fresh(plan.Job("AN-VB", "vu", "vu_rapport.ipynb", {}, "VB", key="k2"))
    again.jobs["AN-VB"]["status"] = "renderingsfel"
    assert not again.is_fresh(job)
    again.jobs["AN-VB"].update(status="oförändrad", outputs={"html": "AN-VB.html", "pdf": "AN-VB.pdf"})
    assert not again.is_fresh(job)  # the pdf is missing
    # A state file of another cache version counts as empty.
    (tmp_path / cache.STATE_FILE).write_text('{"version": 0, "jobs": {"AN-VB": {}}}', encoding="utf-8")
    assert cache.BatchState(tmp_path).jobs == {}


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


def test_unchanged_rerun_stays_light(tmp_path):
    """A second run with nothing changed imports none of the execution machinery, nor pandas or DuckDB."""
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from batchkit import FakeRenderer, FAST, NBS
        from vu_lib.publish import batch
        from vu_lib.cli import build_parser

        def main():
            args = build_parser().parse_args(["run", "--period", "2026-10", "--vu", "AN-VB", "--jobs", "1",
                                              "--out", sys.argv[1], "--store", sys.argv[1] + "/x.duckdb"])
            rc = batch.cli_run(args, notebooks=NBS, renderer_factory=FakeRenderer, batch_options=FAST)
            heavy = sorted(m for m in ("papermill", "nbconvert", "nbformat", "altair", "jupyter_client", "openpyxl",
                                       "tqdm", "vu_lib.publish.render", "pandas", "numpy", "duckdb", "vu_lib.data.readers")
                           if m in sys.modules)
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
