"""From an executed notebook to the report's files: the step between execution and the run log.

:func:`produce` signs and publishes the executed notebook (public paths only),
renders it to each built-in format under a temporary name, exports its tables
to the workbook and moves every file into place, and returns the job's record
for the run log. It runs wherever the notebook was executed last:

- in a **report child** forked from the zygote (:mod:`vu_lib.publish.inprocess`),
  right after it executed the notebook, so that the rendering of the reports
  is spread over the batch's processes (Linux);
- in the batch's **parent** for a notebook a worker executed in a kernel
  (:mod:`vu_lib.publish.execute`: Windows, macOS, or the zygote turned off).

A rendering error fails this report only: the outputs of the previous good run
stay in place, and only what this run produced is listed.

The specification (a JSON-able dict, built by the parent: :meth:`Batch._spec`):

``name``            the job's name
``running``         where the executed notebook was written (removed here in any case)
``final``           the published notebook's path
``relative``        that path relative to the period's folder (as listed in the log)
``public``          paths as they may be published (see :func:`vu_lib.publish.outputs.publish_notebook`)
``directory``       the period's folder
``formats``         the formats rendered here (``[]`` when Quarto renders)
``meta``            the renderer's metadata (:data:`vu_lib.publish.render.META_KEYS`)
``xlsx_meta``       the workbook's provenance sheet
``sign``            sign the notebook here (default); False in a report child, which sends
                    the digest to the parent instead (:func:`vu_lib.publish.outputs.notebook_signature`)
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Callable

from vu_lib.core.exceptions import VuError
from vu_lib.publish.plan import STATUS_FAILED, STATUS_OK, STATUS_RENDER_FAILED

__all__ = ["produce", "format_execution_error"]

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def format_execution_error(e: BaseException) -> str:
    """An error as text for the run log: a notebook's error with its cell and traceback (no ANSI colours)."""
    ename = getattr(e, "ename", None)
    if ename is not None:  # PapermillExecutionError
        head = f"{ename}: {getattr(e, 'evalue', '')}"
        where = f" (cell In[{e.exec_count}])" if getattr(e, "exec_count", None) is not None else ""
        tb = "\n".join(_ANSI_RE.sub("", line) for line in (getattr(e, "traceback", None) or []))
        return (head + where + ("\n" + tb if tb else "")).strip()
    return f"{type(e).__name__}: {_ANSI_RE.sub('', str(e))}".strip()


def produce(spec: dict, res: dict, renderer: Callable[[], Any] | None) -> tuple[dict, Any]:
    """Publish, render and export one executed notebook.

    Parameters
    ----------
    spec : dict
        What to produce and where (see the module docstring).
    res : dict
        The execution's result: ok, error, seconds, started, ended.
    renderer : callable, optional
        Returns the built-in renderer (raising :class:`VuError` when it could not be
        built); needed only when ``spec["formats"]`` is not empty.

    Returns
    -------
    record : dict
        status, exec, render (seconds per format), error, started, ended, executed_at,
        outputs (file names by format), summary, saknar_atgarder.
    nb : NotebookNode or None
        The published notebook (None when it could not be published).
    """
    from vu_lib.publish.outputs import (publish_notebook, summary_in_notebook, summary_marker, tables_in_notebook,
                                        tmp_name, write_tables_xlsx)

    r = {"status": STATUS_FAILED, "exec": res.get("seconds"), "render": {}, "error": res.get("error"),
         "started": res.get("started"), "ended": res.get("ended"), "executed_at": res.get("started"),
         "outputs": None}
    directory, final, running = Path(spec["directory"]), Path(spec["final"]), Path(spec["running"])
    outputs = {"ipynb": spec["relative"]}
    nb = None
    if running.is_file():
        try:
            nb = publish_notebook(running, final, public=spec.get("public"), sign=spec.get("sign", True))
        except Exception as e:  # noqa: BLE001
            r["error"] = (r["error"] + "\n" if r["error"] else "") + f"Notebooken kunde inte sparas: {e}"
    if not res.get("ok") or nb is None:
        if not res.get("ok") and r["error"] is None:
            r["error"] = "okänt fel"
        r["outputs"] = outputs if final.is_file() else {}
        return r, nb
    r["saknar_atgarder"] = bool(summary_marker(nb).get("saknar_atgarder"))
    r["outputs"] = outputs
    tmps: dict[str, Path] = {}
    try:
        for fmt in spec["formats"]:
            tmp = tmps[fmt] = tmp_name(directory / f"{spec['name']}.{fmt}")
            t = time.perf_counter()
            r_obj = renderer()
            # The built-in renderer takes the notebook in hand (not read again); other renderers a path.
            source = nb if getattr(r_obj, "reads_notebook_nodes", False) else final
            getattr(r_obj, f"render_{fmt}")(source, tmp, spec["meta"])
            if not tmp.is_file():
                raise VuError(f"renderaren skrev ingen {fmt}-fil")
            r["render"][fmt] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        xlsx = directory / f"{spec['name']}.xlsx"
        if write_tables_xlsx(tables_in_notebook(nb), xlsx, spec["xlsx_meta"]):
            outputs["xlsx"] = xlsx.name
        else:
            xlsx.unlink(missing_ok=True)
        r["render"]["xlsx"] = round(time.perf_counter() - t, 3)
        r["summary"] = summary_in_notebook(nb)
        for fmt, tmp in tmps.items():
            final_out = directory / f"{spec['name']}.{fmt}"
            os.replace(tmp, final_out)
            outputs[fmt] = final_out.name
        r["status"] = STATUS_OK
    except Exception as e:  # noqa: BLE001 - a rendering error fails this job only
        r["status"] = STATUS_RENDER_FAILED
        r["error"] = f"Renderingen misslyckades: {format_execution_error(e)}"
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
    return r, nb
