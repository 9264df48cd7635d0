"""The batch's report children (vu_lib.publish.inprocess, forkpool, produce).

1. The in-process papermill engine gives a notebook the outputs a Jupyter kernel gives
   it: the same notebook executed both ways (in fresh interpreters), compared cell by cell.
2. A batch through report children: each child executes, publishes and renders its own
   report with the real renderer; an error in one notebook and a child that dies without
   a word each fail only their own job, with a message.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.sign import NotebookNotary
from batchkit import FAST, NBS, isolated_jupyter, statuses  # noqa: F401 (isolated_jupyter: autouse fixture)

from vu_lib.cli import build_parser
from vu_lib.publish import batch
from vu_lib.publish.forkpool import report_children_supported

CELLS = [
    ("x = 1 + 1\nx", "a value: execute_result"),
    ('print("hej")\nprint("då")', "two prints: one stream"),
    ('import sys\nprint("till stderr", file=sys.stderr)\nprint("till stdout")', "stderr, then stdout"),
    ('from IPython.display import display, Markdown, HTML\ndisplay(Markdown("**fet** <text>"))', "Markdown"),
    ('h = display(HTML("<b>1</b>"), display_id=True)\nh.update(HTML("<b>2</b>"))', "a display updated"),
    ('class R:\n    def _repr_mimebundle_(self, include=None, exclude=None):\n'
     '        return {"application/vnd.vu.test+json": {"a": 1}, "text/plain": "R"}, {"k": "v"}\nR()',
     "a mime bundle with metadata"),
    ("display(1, 2)\n3;", "display of two values, a silenced result"),
    ("1 / 0", "an error"),
    ('print("körs inte")', "after the error: not run"),
]

RUN = """
import json, sys, papermill as pm
engine = sys.argv[3]
kwargs = {"kernel_name": "python3", "progress_bar": False}
if engine == "vu_inprocess":
    from vu_lib.publish.inprocess import register_engine
    kwargs["engine_name"] = register_engine()
try:
    pm.execute_notebook(sys.argv[1], sys.argv[2], **kwargs)
except pm.PapermillExecutionError as e:
    print(json.dumps({"ename": e.ename, "evalue": e.evalue, "cell_index": e.cell_index}))
"""

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _execute(nb_path: Path, out: Path, engine: str, tmp_path: Path) -> tuple[nbformat.NotebookNode, dict]:
    script = tmp_path / "run.py"
    script.write_text(RUN, encoding="utf-8")
    r = subprocess.run([sys.executable, str(script), str(nb_path), str(out), engine],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return nbformat.read(out, as_version=4), json.loads(r.stdout.strip().splitlines()[-1])


def _comparable(outputs: list) -> list:
    """Outputs without what legitimately differs: a traceback's colouring and frames, and the
    order of stdout against stderr (a kernel sends each stream on its own schedule)."""
    out = []
    for output in outputs:
        o = dict(output)
        if o["output_type"] == "error":
            o["traceback"] = ANSI.sub("", o["traceback"][-1]).strip()  # the last line: "ZeroDivisionError: ..."
        out.append(o)
    return sorted(out, key=lambda o: o.get("name", "")) if all(o["output_type"] == "stream" for o in out) else out


def test_engine_gives_what_a_kernel_gives(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src, _ in CELLS]
    src = tmp_path / "prov.ipynb"
    nbformat.write(nb, src)

    kernel, kernel_error = _execute(src, tmp_path / "kernel.ipynb", "papermill", tmp_path)
    child, child_error = _execute(src, tmp_path / "inprocess.ipynb", "vu_inprocess", tmp_path)

    # Both stop at the error in cell 8 (index 7) with the same exception.
    assert kernel_error == child_error == {"ename": "ZeroDivisionError", "evalue": "division by zero",
                                           "cell_index": 7}
    # (papermill adds Markdown cells that point at the error: the code cells are compared)
    kernel_code = [c for c in kernel.cells if c.cell_type == "code"]
    child_code = [c for c in child.cells if c.cell_type == "code"]
    assert len(kernel_code) == len(child_code) == len(CELLS)
    for (source, what), k, c in zip(CELLS, kernel_code, child_code):
        assert c.source == source
        assert _comparable(c.outputs) == _comparable(k.outputs), what
        assert c.execution_count == k.execution_count, what
        assert c.metadata.papermill["status"] == k.metadata.papermill["status"], what
    # What was expected of each, written out (not taken from either run):
    by = {what: cell for (_, what), cell in zip(CELLS, child_code)}
    assert by["a value: execute_result"].outputs == [
        {"output_type": "execute_result", "data": {"text/plain": "2"}, "metadata": {}, "execution_count": 1}]
    assert by["two prints: one stream"].outputs == [{"output_type": "stream", "name": "stdout", "text": "hej\ndå\n"}]
    assert [(o["name"], o["text"]) for o in by["stderr, then stdout"].outputs] == [
        ("stderr", "till stderr\n"), ("stdout", "till stdout\n")]
    assert by["a display updated"].outputs[0]["data"]["text/html"] == "<b>2</b>"
    assert by["a mime bundle with metadata"].outputs[0]["data"]["application/vnd.vu.test+json"] == {"a": 1}
    assert [o["data"]["text/plain"] for o in by["display of two values, a silenced result"].outputs] == ["1", "2"]
    assert by["after the error: not run"].outputs == [] and by["after the error: not run"].execution_count is None
    assert child.metadata.papermill["exception"] is True


needs_fork = pytest.mark.skipif(not report_children_supported(), reason="report children need fork (Linux)")


@needs_fork
def test_batch_through_report_children(tmp_path):
    """Each child renders with the real renderer; an error and a silent death fail only their own job."""
    out = tmp_path / "reports"
    args = build_parser().parse_args(
        ["run", "--jobs", "2", "--out", str(out), "--store", str(out / "inget-lager.duckdb"), "--period", "2026-10",
         "--namnd", "AN", "-p", "fail_vu", "AN-VB", "-p", "crash_vu", "AN-OPPNA"])
    rc = batch.cli_run(args, notebooks=NBS, batch_options={**FAST, "report_children": True})
    log = json.loads((out / "2026-10" / "korlogg.json").read_text(encoding="utf-8"))
    st = statuses(log)
    assert rc == 1
    assert st["AN-VB"] == st["AN-OPPNA"] == "misslyckades"
    assert {k: v for k, v in st.items() if k not in ("AN-VB", "AN-OPPNA")} == {
        "AN-OMR-NV": "klar", "AN-OMR-NO": "klar", "AN-OMR-CN": "klar", "AN": "klar"}
    errors = {j["namn"]: j["fel"] for j in log["jobb"]}
    assert errors["AN-VB"].startswith("ValueError: avsiktligt fel i AN-VB")
    assert errors["AN-OPPNA"].startswith("Rapportprocessen avslutades oväntat")
    period = out / "2026-10"
    for name in ("AN-OMR-NV", "AN-OMR-NO", "AN-OMR-CN", "AN"):
        html = (period / f"{name}.html").read_text(encoding="utf-8")
        assert 'lang="sv"' in html and 'class="vu-sidfot"' in html  # the real renderer's page, not a fake
        assert (period / f"{name}.pdf").read_bytes().startswith(b"%PDF")
        job = next(j for j in log["jobb"] if j["namn"] == name)
        assert set(job["rendering_sekunder"]) == {"html", "pdf", "xlsx"}
        nb = nbformat.read(period / "notebooks" / f"{name}.ipynb", as_version=4)
        assert nb.metadata.papermill["exception"] is None
        # Trusted in JupyterLab: the child computed the digest, the parent stored it.
        assert NotebookNotary().check_signature(nb), name
    # The failed notebook is published with its error; nothing half-written is left.
    failed = nbformat.read(period / "notebooks" / "AN-VB.ipynb", as_version=4)
    assert failed.metadata.papermill["exception"] is True
    assert not (period / "AN-VB.html").exists() and not (period / "AN-OPPNA.html").exists()
    assert not [p.name for p in period.rglob("*") if ".tmp" in p.name or p.name.endswith(".running.ipynb")]


@needs_fork
def test_chart_client_prefetch_answers_in_any_order(tmp_path):
    """Charts asked for all at once are matched to their answers whatever order they are used in."""
    from vu_lib.core.exceptions import VuError
    from vu_lib.publish.inprocess import ChartClient, ChartServer

    def spec(n):
        return {"data": {"values": [{"a": n, "b": 1}]}, "mark": "bar",
                "encoding": {"x": {"field": "a", "type": "quantitative"}, "y": {"field": "b", "type": "quantitative"}}}

    server = ChartServer(tmp_path)
    try:
        client = ChartClient(server.path)
        client.prefetch([(spec(1), "ett"), (spec(2), "två"), ({"mark": "ingen-sådan"}, "trasig")])
        assert 'aria-label="två"' in client(spec(2), "två")  # its answer is second in line
        with pytest.raises(VuError, match="diagrammet kunde inte ritas"):
            client({"mark": "ingen-sådan"}, "trasig")
        assert 'aria-label="ett"' in client(spec(1), "ett")
        assert 'aria-label="tre"' in client(spec(3), "tre")  # not prefetched: asked and answered at once
        assert not client._pending and not client._ready
    finally:
        server.close()


WARM = """
import json, os, sys
from pathlib import Path
os.environ["VU_BATCH"] = "1"
from vu_lib.publish import inprocess
from vu_lib.report import charts
inprocess.prepare(render=True)
threads = len(os.listdir("/proc/self/task"))
meta = {"titel": "Uppföljning", "undertitel": "", "vu": "AN-VB", "period": "2026-10", "modellversion": "4.1",
        "data_fingerprint": "x", "kodversion": "x", "datum": "2026-11-29"}
inprocess.warm_up({"input": sys.argv[1], "parameters": {"vu": "AN-VB", "period": "2026-10", "store": sys.argv[2]},
                   "spec": {"formats": ["html", "pdf"], "meta": meta, "xlsx_meta": {}}})
shell = inprocess._shell()
print(json.dumps({"threads_before": threads, "threads_after": len(os.listdir("/proc/self/task")),
                  "count": shell.execution_count, "vu_in_ns": "vu" in shell.user_ns,
                  "drawer": charts._DRAWER is None, "memo": len(charts._SVG_MEMO),
                  "outputs": len(inprocess._CAPTURE.outputs)}))
"""


@needs_fork
def test_warm_up_leaves_no_thread_and_a_fresh_shell(tmp_path):
    """The zygote's warm-up: no thread left behind (a child forked from it would hang), a shell as new."""
    from batchkit import FIXTURES

    script = tmp_path / "warm.py"
    script.write_text(WARM, encoding="utf-8")
    r = subprocess.run([sys.executable, str(script), str(FIXTURES / "vu_rapport.ipynb"), str(tmp_path / "lager")],
                       capture_output=True, text=True, timeout=300, cwd=FIXTURES)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got == {"threads_before": got["threads_before"], "threads_after": got["threads_before"], "count": 1,
                   "vu_in_ns": False, "drawer": True, "memo": 0, "outputs": 0}


WRITES = """
import json, sys
import nbformat, papermill as pm
import papermill.engines, papermill.execute
from vu_lib.publish import inprocess

writes = []
real = papermill.execute.write_ipynb
def counting(nb, path):
    writes.append(path)
    return real(nb, path)
papermill.execute.write_ipynb = papermill.engines.write_ipynb = counting
got = {}
for name, source in (("ok", "x = 1\\nprint(x + 1)"), ("failing", "1 / 0")):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("y = 0", metadata={"tags": ["parameters"]}),
                                         nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src, out = sys.argv[1] + f"/{name}.ipynb", sys.argv[1] + f"/{name}-ut.ipynb"
    nbformat.write(nb, src)
    writes.clear()
    try:
        inprocess.execute(src, out, {"y": 2})
        error = None
    except pm.PapermillExecutionError as e:
        error = e.ename
    written = nbformat.read(out, as_version=4)
    got[name] = {"writes": len(writes), "error": error,
                 "outputs": [o.get("text") or o.get("ename") for c in written.cells for o in c.get("outputs", [])]}
print(json.dumps(got))
"""


def test_execute_writes_the_notebook_once(tmp_path):
    """A report child's notebook is written once, when it has run or failed; not also before and between its cells."""
    script = tmp_path / "writes.py"
    script.write_text(WRITES, encoding="utf-8")
    r = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got == {"ok": {"writes": 1, "error": None, "outputs": ["2\n"]},
                   "failing": {"writes": 1, "error": "ZeroDivisionError", "outputs": ["ZeroDivisionError"]}}


CELL_OUTPUTS = """
import json, sys
import nbformat
from vu_lib.publish import inprocess

cells = ["y = 0", "print('a')", "z = 1", "from IPython.display import display\\ndisplay(2); display(3)"]
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
nb.cells[0].metadata["tags"] = ["parameters"]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
src = sys.argv[1] + "/nb.ipynb"
nbformat.write(nb, src)
seen = []
inprocess.execute(src, sys.argv[1] + "/ut.ipynb", {"y": 1},
                  on_cell_outputs=lambda outs: seen.append([o["output_type"] for o in outs]))
print(json.dumps(seen))
"""


def test_execute_hands_each_cells_outputs_on_as_it_runs(tmp_path):
    """``on_cell_outputs`` gets the outputs of each code cell that gave any, in order (a report child asks
    for its charts there); cells without outputs (the parameters, an assignment) are not handed on."""
    script = tmp_path / "cells.py"
    script.write_text(CELL_OUTPUTS, encoding="utf-8")
    r = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == [["stream"], ["display_data", "display_data"]]


def test_prefetch_outputs_asks_for_the_charts_of_one_cell(tmp_path):
    """A cell's outputs: its charts are asked for at once, other outputs are ignored; with the
    parent's service gone it raises nothing (the report fails later, when the chart is drawn)."""
    from vu_lib.core.exceptions import VuError
    from vu_lib.publish.inprocess import ChartClient, ChartServer
    from vu_lib.report.charts import VEGALITE_MIME

    spec = {"data": {"values": [{"a": 1}]}, "mark": "point", "encoding": {"x": {"field": "a", "type": "quantitative"}}}
    outputs = [{"output_type": "stream", "name": "stdout", "text": "x"},
               {"output_type": "display_data", "metadata": {},
                "data": {VEGALITE_MIME: {"spec": spec, "beskrivning": "ett diagram"}, "text/plain": "Chart"}}]
    server = ChartServer(tmp_path)
    try:
        client = ChartClient(server.path)
        client.prefetch_outputs(outputs)
        assert len(client._pending) == 1
        assert 'aria-label="ett diagram"' in client(spec, "ett diagram")
    finally:
        server.close()
    gone = ChartClient(str(tmp_path / "finns-inte.sock"))
    gone.prefetch_outputs(outputs)  # no exception
    with pytest.raises((VuError, OSError)):
        gone(spec, "ett diagram")
