"""Batch runs of the report notebooks: ``vu run`` and ``vu budget``.

A batch goes through five steps:

1. **Plan.** :func:`plan_run` lists the jobs for a period (one ``vu_rapport``
   per VU, the overviews ÄN, SON and Leanlink, and ``modell`` for the period's
   year); :func:`plan_budget` the single ``budget`` job of a year. A job is a
   notebook with its parameters and the stem of its output files.
2. **Cache.** Every job gets a content key (:func:`job_key`) over the notebook
   file's bytes, the parameters, the params files, the data, the code and the
   output formats. A job whose key matches the last successful run and whose
   outputs are all in place is skipped ("oförändrad, hoppar över"). This path
   imports nothing heavy, so an unchanged re-run takes well under two seconds.
3. **Execute.** The remaining jobs run with papermill in long-lived worker
   processes (``--jobs``). Kernels are the current environment's Python
   (ipykernel's native spec, whatever kernelspecs are installed). On POSIX the
   kernels are forked from a *zygote*, a process that has imported pandas,
   altair, vu_lib and ipykernel once and loaded the Dataset, so a kernel starts
   in a fraction of the time a fresh interpreter needs (Linux by default;
   ``VU_BATCH_ZYGOTE=0`` turns it off). Kernels talk to the workers over Unix
   sockets (no TCP port races between parallel workers).
4. **Render.** The parent process renders each executed notebook as soon as it
   is done, with one :class:`vu_lib.render.Renderer` built once (or Quarto via
   :func:`vu_lib.render.render_with_quarto`), and writes the tables of the
   report ('application/vnd.vu.table+json' outputs) to an Excel workbook.
5. **Publish.** Executed notebooks (signed, so JupyterLab trusts their SVG
   charts), reports, ``index.html`` and the run log ``korlogg.json`` /
   ``korlogg.txt`` are written atomically (a temporary file in the same
   directory, then :func:`os.replace`).

Output layout under ``--out`` (default ``reports``)::

    <out>/<period>/<VU-ID>.html|pdf|xlsx      one per VU
    <out>/<period>/AN|SON|Leanlink.html|pdf|xlsx
    <out>/<period>/modell.html|pdf|xlsx
    <out>/<period>/notebooks/<name>.ipynb     executed, signed
    <out>/<period>/index.html                 links to all of the above
    <out>/<period>/korlogg.json, korlogg.txt  the run log
    <out>/<period>/.vu-batch.json             cache state (keys, outputs, status)
    <out>/budget-<year>/budget.html|pdf|xlsx  from ``vu budget <year>``

Exit codes: 0 ok, 1 a job failed, 2 bad usage or bad input.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .exceptions import InputError, ParamsError, VuError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

TABLE_MIME = "application/vnd.vu.table+json"
FORMATS = ("html", "pdf")
STATE_FILE = ".vu-batch.json"
DATA_STATE_FILE = ".vu-batch-data.json"
CACHE_VERSION = 1
OVERVIEW_SCOPES = ("AN", "SON", "Leanlink")
RESERVED_PARAMETERS = frozenset({"vu", "scope", "period", "year", "store"})

STATUS_OK = "klar"
STATUS_CACHED = "oförändrad"
STATUS_FAILED = "misslyckades"
STATUS_RENDER_FAILED = "renderingsfel"
GOOD_STATUSES = frozenset({STATUS_OK, STATUS_CACHED})
FAILED_STATUSES = frozenset({STATUS_FAILED, STATUS_RENDER_FAILED})

_KIND_ORDER = {"vu": 0, "oversikt": 100, "modell": 200, "budget": 300}
_KIND_LABELS = {"vu": "Verksamhetsuppdrag", "oversikt": "Översikt", "modell": "Modell", "budget": "Budget"}
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PERIOD_RE = re.compile(r"^\d{4}-\d{2}$")


class BatchUsageError(VuError):
    """Bad usage or bad input for a batch; the CLI exits with code 2."""


# =========================================================================== small helpers
def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="milliseconds")


def _secs(x: float | None) -> str:
    """Seconds in Swedish notation: ``'3,4 s'``."""
    if x is None:
        return "–"
    return f"{x:.1f}".replace(".", ",") + " s"


def _strip_ansi(text: str) -> str:
    return _ANSI_RE.sub("", text)


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tmp_name(path: Path, suffix: str | None = None) -> Path:
    """A temporary sibling of ``path`` (hidden, same directory, same suffix)."""
    suffix = path.suffix if suffix is None else suffix
    return path.with_name(f".{path.stem}.{os.getpid()}-{time.monotonic_ns() % 10**9}.tmp{suffix}")


_STALE_RE = re.compile(r"^\..+\.(\d+)(?:-\d+\.tmp|\.running)(?:\.[A-Za-z0-9]+)?$")


def _clean_stale(directory: Path) -> None:
    """Remove temporary files left by a batch process that no longer runs."""
    if not directory.is_dir():
        return
    for f in directory.iterdir():
        m = _STALE_RE.match(f.name)
        if not m or not f.is_file():
            continue
        pid = int(m.group(1))
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            f.unlink(missing_ok=True)
        except OSError:
            pass


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same directory, then ``os.replace``.

    A reader (or a crash) never sees a half-written ``path``; on any error the
    previous file is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _dump_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False, default=str) + "\n"


# =========================================================================== parameters
def parse_parameter_value(value: str) -> Any:
    """Parse a ``-p NAME VALUE`` value the way papermill's CLI does.

    ``'True'``/``'False'`` give booleans, ``'None'`` gives None, anything
    ``int()`` accepts an int, anything ``float()`` accepts a float, and all
    else stays a string (so ``'2026-08'`` stays ``'2026-08'``).
    """
    if value == "True":
        return True
    if value == "False":
        return False
    if value == "None":
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def declared_parameters(nb_path: Path) -> set[str] | None:
    """Names assigned in the notebook's cell tagged ``parameters``.

    Reads the JSON directly (no nbformat), so it is cheap. Returns None when the
    notebook has no parameters cell (papermill then injects at the top, and any
    name is accepted).
    """
    import ast

    try:
        nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise VuError(f"Notebooken {nb_path} kan inte läsas: {e}") from None
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        names: set[str] = set()
        try:
            tree = ast.parse(src)
        except SyntaxError:
            return None
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        names.add(n.id)
        return names
    return None


# =========================================================================== plan
@dataclass(frozen=True)
class NotebookSet:
    """Where the report notebooks are; injectable so tests can use fixtures.

    Attributes
    ----------
    directory : Path
        The notebooks directory; also the kernels' working directory.
    vu_rapport, oversikt, modell, budget : str
        File names of the four notebooks in ``directory``.
    """

    directory: Path = NOTEBOOKS_DIR
    vu_rapport: str = "vu_rapport.ipynb"
    oversikt: str = "oversikt.ipynb"
    modell: str = "modell.ipynb"
    budget: str = "budget.ipynb"

    def path(self, name: str) -> Path:
        return Path(self.directory) / name


@dataclass
class Job:
    """One notebook to execute and render.

    Attributes
    ----------
    name : str
        Stem of the outputs: ``'AN-VB'``, ``'AN'``, ``'SON'``, ``'Leanlink'``,
        ``'modell'`` or ``'budget'``.
    kind : {'vu', 'oversikt', 'modell', 'budget'}
    notebook : str
        File name in the notebooks directory.
    parameters : dict
        Injected parameters, without ``store`` (added at execution).
    title : str
        Swedish display name (the VU's name for a VU report).
    namnd : str or None
        'AN' or 'SON' when the report belongs to one nämnd.
    order : int
        Position in the index.
    key : str
        Content key, set by :func:`assign_keys`.
    subject : str
        What the report is about, shown in the rendered title block (the VU
        id, the nämnd's name, 'Leanlink', 'Modellen', 'Budget').
    modellversion : str
        The model version in force for the report's period.
    """

    name: str
    kind: str
    notebook: str
    parameters: dict[str, Any]
    title: str
    namnd: str | None = None
    order: int = 0
    key: str = ""
    subject: str = ""
    modellversion: str = ""


def validate_period(params, period: str) -> str:
    """Check a ``--period`` value; return it normalised (``'YYYY-MM'``).

    Raises
    ------
    BatchUsageError
        With a Swedish message: bad format, bad month, or no model year.
    """
    value = (period or "").strip()
    if not _PERIOD_RE.match(value):
        raise BatchUsageError(f"Ogiltig period '{period}': ange månaden som ÅÅÅÅ-MM, t.ex. 2026-08")
    year, month = int(value[:4]), int(value[5:])
    if not 1 <= month <= 12:
        raise BatchUsageError(f"Ogiltig period '{period}': månaden ska vara 01–12")
    if year not in params.ar:
        raise BatchUsageError(
            f"Det finns ingen modellversion för {year} (perioden {value}); "
            f"modellår: {', '.join(map(str, sorted(params.ar)))}"
        )
    return value


def plan_run(params, period: str, *, vu_ids: Iterable[str] | None = None, namnd: str | None = None,
             notebooks: NotebookSet | None = None) -> list[Job]:
    """The jobs of ``vu run`` for a period.

    Parameters
    ----------
    params : Params
    period : str
        ``'YYYY-MM'`` (validated by :func:`validate_period`).
    vu_ids : list of str, optional
        Only these VU reports (no overviews, no modell; with ``namnd`` also
        that nämnd's overview). Each must be one of the nine.
    namnd : {'AN', 'SON'}, optional
        That nämnd's VU and its overview.
    notebooks : NotebookSet, optional

    Returns
    -------
    list of Job
        In index order: VU (registry order), overviews AN, SON, Leanlink, modell.
    """
    nbs = notebooks or NotebookSet()
    nine = list(params.registry.verksamhetsuppdrag)
    known = [v.id for v in nine]
    selected_ids: list[str] | None = None
    if vu_ids:
        selected_ids = list(dict.fromkeys(vu_ids))
        separate = {v.id for v in params.registry.separata}
        for v in selected_ids:
            if v in separate:
                raise BatchUsageError(f"{v} regleras separat och har ingen egen VU-rapport; den redovisas i översikterna")
            if v not in known:
                raise BatchUsageError(f"Okänt verksamhetsuppdrag '{v}' (kända: {', '.join(known)})")
        if namnd:
            other = [v for v in selected_ids if params.vu(v).namnd != namnd]
            if other:
                raise BatchUsageError(f"{', '.join(other)} hör inte till {namnd} (--namnd {namnd})")
    if namnd and namnd not in params.registry.namnder:
        raise BatchUsageError(f"Okänd nämnd '{namnd}' (kända: {', '.join(params.registry.namnder)})")
    from .compensation import model_version

    year, month = int(period[:4]), int(period[5:])
    version = model_version(params, year, month)
    namnder = params.registry.namnder
    jobs: list[Job] = []
    for i, v in enumerate(nine):
        if selected_ids is not None and v.id not in selected_ids:
            continue
        if namnd and v.namnd != namnd:
            continue
        jobs.append(Job(v.id, "vu", nbs.vu_rapport, {"vu": v.id, "period": period}, v.namn, v.namnd,
                        order=_KIND_ORDER["vu"] + i, subject=v.id, modellversion=version))
    if selected_ids is None:
        scopes = [namnd] if namnd else list(OVERVIEW_SCOPES)
    else:
        scopes = [namnd] if namnd else []
    for s in scopes:
        title = f"Översikt {namnder[s]}" if s in namnder else "Översikt Leanlink, alla verksamhetsuppdrag"
        jobs.append(Job(s, "oversikt", nbs.oversikt, {"scope": s, "period": period}, title,
                        s if s in namnder else None, order=_KIND_ORDER["oversikt"] + OVERVIEW_SCOPES.index(s),
                        subject=namnder.get(s, "Leanlink"), modellversion=version))
    if selected_ids is None and not namnd:
        jobs.append(Job("modell", "modell", nbs.modell, {"year": year}, f"Ersättningsmodellen {year}",
                        order=_KIND_ORDER["modell"], subject="Ersättningsmodellen", modellversion=version))
    return jobs


def validate_budget_year(params, year: int) -> int:
    """A budget year needs its own model year and the one before (the base year)."""
    if year not in params.ar or year - 1 not in params.ar:
        years = ", ".join(map(str, sorted(params.ar)))
        raise BatchUsageError(
            f"Budget för {year} kräver modellåren {year - 1} och {year} i params/modell (finns: {years})"
        )
    return year


def plan_budget(params, year: int, *, notebooks: NotebookSet | None = None) -> list[Job]:
    """The single job of ``vu budget <year>``."""
    nbs = notebooks or NotebookSet()
    validate_budget_year(params, year)
    return [Job("budget", "budget", nbs.budget, {"year": year}, f"Budgetförslag {year}", order=_KIND_ORDER["budget"],
                subject="Budget", modellversion=params.modellar(year).modellversion)]


def apply_extra_parameters(jobs: list[Job], extra: Iterable[tuple[str, str]], notebooks: NotebookSet) -> dict[str, Any]:
    """Add ``-p NAME VALUE`` parameters to the jobs whose notebook declares NAME.

    Values are parsed with :func:`parse_parameter_value`. A notebook without a
    parameters cell accepts every name.

    Returns
    -------
    dict
        The parsed extra parameters.

    Raises
    ------
    BatchUsageError
        A reserved name (vu, scope, period, year, store), an invalid name, or a
        name no planned notebook declares.
    """
    parsed: dict[str, Any] = {}
    for name, raw in extra or []:
        if not name.isidentifier():
            raise BatchUsageError(f"Ogiltigt parameternamn '{name}'")
        if name in RESERVED_PARAMETERS:
            hint = {"period": "--period", "store": "--store", "vu": "--vu", "year": "årsargumentet"}.get(name)
            raise BatchUsageError(f"Parametern '{name}' sätts av vu" + (f"; använd {hint}" if hint else ""))
        parsed[name] = parse_parameter_value(raw)
    if not parsed:
        return parsed
    declared = {nb: declared_parameters(notebooks.path(nb)) for nb in {j.notebook for j in jobs}}
    for name in parsed:
        if not any(d is None or name in d for d in declared.values()):
            known = sorted({n for d in declared.values() if d for n in d} - RESERVED_PARAMETERS)
            raise BatchUsageError(
                f"Ingen av notebookarna har parametern '{name}'"
                + (f" (parametrar: {', '.join(known)})" if known else "")
            )
    for job in jobs:
        d = declared[job.notebook]
        for name, value in parsed.items():
            if d is None or name in d:
                job.parameters[name] = value
    return parsed


# =========================================================================== inputs and keys
@dataclass
class Inputs:
    """Fingerprints of everything a report depends on besides its notebook.

    Attributes
    ----------
    store : Path
        Absolute path of the store passed to the notebooks.
    data_key : str
        The data's part of the cache key: :func:`vu_lib.store.store_fingerprint`
        of the store, or ``'exempeldata-<SAMPLE_VERSION>'`` when the store is
        missing or empty (the sample is generated by code, which the key
        covers through the code version and the source hash).
    data_fingerprint : str
        The fingerprint the notebooks' Dataset will have (the store's, or the
        sample store's once it is built); shown in the reports, index and log.
    data_source : str
        ``'lager: <path>'`` or ``'exempeldata'``.
    params_fingerprint : str
        :func:`vu_lib.trace.params_fingerprint`.
    code_version : str
        :func:`vu_lib.trace.code_version`.
    source_hash : str
        sha256 over the files of the ``vu_lib`` package, so an edit in a dirty
        working tree (where ``code_version`` stays the same) still
        invalidates the cache.
    """

    store: Path
    data_key: str
    data_fingerprint: str
    data_source: str
    params_fingerprint: str
    code_version: str
    source_hash: str

    @property
    def is_sample(self) -> bool:
        return self.data_source == "exempeldata"

    def resolve_sample_fingerprint(self) -> None:
        """Build the sample store if needed and take its fingerprint (execution path only)."""
        if self.is_sample and self.data_fingerprint.startswith("exempeldata"):
            try:
                from .data import resolve_store
                from .store import store_fingerprint

                path, _ = resolve_store(self.store)
                self.data_fingerprint = store_fingerprint(path) or self.data_fingerprint
            except Exception:  # noqa: BLE001 - only the displayed fingerprint is affected
                pass


def _package_source_hash() -> str:
    h = hashlib.sha256()
    for f in sorted(PACKAGE_DIR.rglob("*")):
        if not f.is_file() or "__pycache__" in f.parts or f.suffix in (".pyc", ".pyo"):
            continue
        h.update(f.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def data_fingerprint(store: Path) -> tuple[str, str, str]:
    """``(key, displayed fingerprint, source)`` of the data the notebooks will load from ``store``.

    Cheap: a non-empty store costs a cached :func:`vu_lib.store.store_fingerprint`;
    for the sample, the sample store's fingerprint when it is already built.
    """
    from .store import store_fingerprint

    store = Path(store)
    fp = store_fingerprint(store) if store.exists() else ""
    if fp:
        return fp, fp, f"lager: {store}"
    from .data import sample_store_path
    from .sample import SAMPLE_VERSION

    key = f"exempeldata-{SAMPLE_VERSION}"
    built = sample_store_path()
    shown = (store_fingerprint(built) or key) if built.exists() else key
    return key, shown, "exempeldata"


def _store_arg(args) -> Path:
    """``--store``, or the default store ($VU_STORE or data/vu.duckdb in the project)."""
    from .data import default_store

    return Path(args.store) if getattr(args, "store", None) else default_store()


def collect_inputs(params, store: Path) -> Inputs:
    """Fingerprint the params, the data and the code (cheap: nothing is loaded or executed)."""
    from .trace import code_version, params_fingerprint

    store = Path(store).expanduser().absolute()
    key, shown, source = data_fingerprint(store)
    return Inputs(
        store=store,
        data_key=key,
        data_fingerprint=shown,
        data_source=source,
        params_fingerprint=params_fingerprint(params),
        code_version=code_version(),
        source_hash=_package_source_hash(),
    )


def job_key(job: Job, notebook_sha256: str, inputs: Inputs, formats: Iterable[str], renderer: str) -> str:
    """The content key of a job.

    sha256 (24 hex) of the canonical JSON of: the cache version, the job's
    name, notebook file name and the sha256 of its bytes, its parameters
    (without ``store``), the params fingerprint, the data fingerprint, the code
    version and package source hash, the sorted output formats, the renderer
    ('builtin' or 'quarto') and the Python minor version.
    """
    payload = {
        "v": CACHE_VERSION,
        "job": job.name,
        "notebook": job.notebook,
        "notebook_sha256": notebook_sha256,
        "parameters": {k: job.parameters[k] for k in sorted(job.parameters)},
        "params": inputs.params_fingerprint,
        "data": inputs.data_key,
        "code": inputs.code_version,
        "source": inputs.source_hash,
        "formats": sorted(formats),
        "renderer": renderer,
        "python": "%d.%d" % sys.version_info[:2],
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:24]


def assign_keys(jobs: list[Job], notebooks: NotebookSet, inputs: Inputs, formats: Iterable[str], renderer: str) -> None:
    """Set ``job.key`` for every job (each notebook file is hashed once)."""
    hashes: dict[str, str] = {}
    for job in jobs:
        if job.notebook not in hashes:
            path = notebooks.path(job.notebook)
            if not path.is_file():
                raise VuError(f"Notebooken {path} saknas")
            hashes[job.notebook] = _sha256_file(path)
        job.key = job_key(job, hashes[job.notebook], inputs, formats, renderer)


# =========================================================================== state (cache)
class BatchState:
    """The cache state of one output directory (``<out>/<label>/.vu-batch.json``).

    Per job name: key, status, title, kind, nämnd, order, outputs (paths
    relative to the directory), when it ran, durations and the error.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.path = self.directory / STATE_FILE
        data = _read_json(self.path)
        self.jobs: dict[str, dict] = data.get("jobs", {}) if data.get("version") == CACHE_VERSION else {}

    def is_fresh(self, job: Job) -> bool:
        """True when ``job`` ran successfully with the same key and its outputs are all there."""
        e = self.jobs.get(job.name)
        if not e or e.get("key") != job.key or e.get("status") not in GOOD_STATUSES:
            return False
        outs = e.get("outputs") or {}
        return bool(outs) and all((self.directory / rel).is_file() for rel in outs.values())

    def save(self) -> None:
        atomic_write_text(self.path, _dump_json({"version": CACHE_VERSION, "jobs": self.jobs}))


def _data_state(out: Path) -> dict:
    return _read_json(Path(out) / DATA_STATE_FILE)


def data_last_period(inputs: Inputs, out: Path) -> str:
    """The last month with data, cached in ``<out>/.vu-batch-data.json`` by the data key.

    On a miss: the sample's last month (:data:`vu_lib.sample.LAST_MONTH`), or
    the store is loaded once (:func:`vu_lib.data.load_dataset`).
    """
    state = _data_state(out)
    known = state.get("last_period", {})
    fingerprint = inputs.data_key
    if fingerprint in known:
        return known[fingerprint]
    if inputs.is_sample:
        from .sample import LAST_MONTH

        last = "%04d-%02d" % tuple(LAST_MONTH)
    else:
        from .data import load_dataset

        last = load_dataset(inputs.store).senaste_period
    known = dict(list(known.items())[-20:])
    known[fingerprint] = last
    state["last_period"] = known
    try:
        atomic_write_text(Path(out) / DATA_STATE_FILE, _dump_json(state))
    except OSError:
        pass
    return last


# =========================================================================== kernels
def _kernel_manager_class():
    """The kernel manager class used by the workers (built on first use: imports jupyter_client).

    ``VuKernelManager`` always uses ipykernel's native kernel spec with
    ``sys.executable``, so the kernel is this environment's Python whatever
    kernelspecs are installed. Its provisioner forks the kernel from the batch's
    zygote when ``VU_BATCH_ZYGOTE_SOCKET`` is set (POSIX), else launches it the
    usual way; kernel stdout/stderr go to ``VU_BATCH_KERNEL_LOG``.
    """
    global _KM_CLASS
    if _KM_CLASS is not None:
        return _KM_CLASS
    import subprocess
    import uuid

    from jupyter_client import AsyncKernelManager
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.provisioning import LocalProvisioner

    class _ForkedKernelProcess:
        """Popen-like handle of a kernel forked by the zygote (not our child; the zygote reaps it).

        Uses a pidfd where the platform has one (Linux), so a signal can never
        reach another process that reused the pid; else plain pid checks.
        """

        def __init__(self, pid: int):
            self.pid = pid
            self.returncode: int | None = None
            self.stdin = self.stdout = self.stderr = None
            self.pidfd = None
            if hasattr(os, "pidfd_open"):
                try:
                    self.pidfd = os.pidfd_open(pid)
                except OSError:
                    self.pidfd = None

        def poll(self):
            if self.returncode is None:
                if self.pidfd is not None:
                    import select

                    if select.select([self.pidfd], [], [], 0)[0]:
                        self._gone()
                else:
                    try:
                        os.kill(self.pid, 0)
                    except ProcessLookupError:
                        self._gone()
                    except PermissionError:
                        pass
            return self.returncode

        def _gone(self):
            self.returncode = 0
            if self.pidfd is not None:
                os.close(self.pidfd)
                self.pidfd = None

        def wait(self, timeout=None):
            deadline = None if timeout is None else time.monotonic() + timeout
            while self.poll() is None:
                if deadline is not None and time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(str(self.pid), timeout)
                time.sleep(0.02)
            return self.returncode

        def send_signal(self, signum):
            if self.poll() is not None:
                return
            if self.pidfd is not None:
                import signal

                signal.pidfd_send_signal(self.pidfd, signum)
            else:
                os.kill(self.pid, signum)

        def terminate(self):
            import signal

            self.send_signal(signal.SIGTERM)

        def kill(self):
            import signal

            self.send_signal(signal.SIGKILL)

    class VuProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd, **kwargs):
            sock = os.environ.get("VU_BATCH_ZYGOTE_SOCKET")
            log = os.environ.get("VU_BATCH_KERNEL_LOG") or os.devnull
            forkable = (sock and len(cmd) >= 3 and cmd[0] == sys.executable
                        and cmd[1:3] == ["-m", "ipykernel_launcher"])
            if not forkable:
                kwargs = dict(kwargs)
                fh = open(log, "ab")  # noqa: SIM115 - Popen duplicates the descriptor
                try:
                    kwargs.setdefault("stdout", fh)
                    kwargs.setdefault("stderr", fh)
                    return await super().launch_kernel(cmd, **kwargs)
                finally:
                    fh.close()
            cwd = str(kwargs.get("cwd") or os.getcwd())
            env = dict(kwargs.get("env") or os.environ)
            try:
                pid = _zygote_request(sock, {"argv": cmd[3:], "env": env, "cwd": cwd, "log": log})
            except (OSError, RuntimeError, ValueError):
                os.environ.pop("VU_BATCH_ZYGOTE_SOCKET", None)  # the zygote is gone: launch normally from now on
                return await self.launch_kernel(cmd, **kwargs)
            self.process = _ForkedKernelProcess(pid)
            self.pid = pid
            # The child calls setsid(), so its group is its pid; without a pidfd the
            # group is signalled (as for a normal kernel), with one the process itself.
            self.pgid = None if self.process.pidfd is not None else pid
            self.cwd = cwd
            return self.connection_info

        async def wait(self):
            # As LocalProvisioner.wait, polling every 10 ms instead of 100 ms.
            import asyncio

            if self.process is not None:
                while await self.poll() is None:
                    await asyncio.sleep(0.01)
            return await super().wait()

    class VuKernelClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            # As KernelClient._async_wait_for_ready, but polling IOPub with 10-20 ms
            # timeouts: the stock client always spends 0.2 s flushing IOPub, and
            # another 0.2 s per retry while IOPub is still connecting.
            from queue import Empty

            deadline = time.time() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    msg = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    msg = None
                if msg is not None and msg["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.02)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.time() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
            while True:
                try:
                    await self.iopub_channel.get_msg(timeout=0.01)
                except Empty:
                    break

    class VuKernelManager(AsyncKernelManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.client_factory = VuKernelClient
            if os.name == "posix":
                # Unix sockets: no TCP port races between parallel workers (a port
                # picked by one worker taken by another's kernel), no TCP warning.
                self.transport = "ipc"

        @property
        def kernel_spec(self):
            if self._kernel_spec is None:
                from ipykernel.kernelspec import RESOURCES, get_kernel_dict

                self._kernel_spec = KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
            return self._kernel_spec

        async def _async_wait(self, pollinterval: float = 0.1) -> None:
            # A killed kernel is gone within milliseconds; don't sleep 100 ms per check.
            await super()._async_wait(pollinterval=min(pollinterval, 0.01))

        async def _async_pre_start_kernel(self, **kw):
            if self.provisioner is None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
                if self.transport == "ipc" and not self.connection_file:
                    # Short absolute paths (Unix socket paths are limited to ~100 bytes).
                    import tempfile

                    base = os.path.join(os.environ.get("VU_BATCH_RUNTIME_DIR") or tempfile.gettempdir(),
                                        f"k{self.kernel_id.replace('-', '')[:12]}")
                    self.connection_file = base + ".json"
                    self.ip = base + "-ipc"
                self.provisioner = VuProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
            return await super()._async_pre_start_kernel(**kw)

    _KM_CLASS = VuKernelManager
    return _KM_CLASS


_KM_CLASS = None


def _zygote_request(address: str, request: dict) -> int:
    """Ask the zygote at ``address`` to fork a kernel; return its pid."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(600)
        deadline = time.monotonic() + 30
        while True:  # the zygote may still be starting
            try:
                s.connect(address)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        s.sendall(json.dumps(request).encode("utf-8") + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    reply = json.loads(data or b"{}")
    if "pid" not in reply:
        raise RuntimeError(f"zygoten kunde inte starta en kärna: {reply.get('error', 'inget svar')}")
    return int(reply["pid"])


def zygote_supported() -> bool:
    """Whether kernels are forked from a zygote here.

    On by default on Linux; ``VU_BATCH_ZYGOTE=0`` turns it off, ``=1`` turns it
    on elsewhere on POSIX (macOS system frameworks are not always fork-safe).
    """
    import socket

    if not hasattr(os, "fork") or not hasattr(socket, "AF_UNIX") or sys.platform == "win32":
        return False
    setting = os.environ.get("VU_BATCH_ZYGOTE", "").strip().lower()
    if setting in ("0", "no", "false", "nej", "off"):
        return False
    return sys.platform.startswith("linux") or setting in ("1", "yes", "true", "ja", "on")


# Modules preloaded by the zygote: the notebooks' heavy imports, ipykernel itself
# (including what IPKernelApp imports while it initialises), every vu_lib module
# a notebook may reach, and third-party modules the notebooks import.
_ZYGOTE_PRELOAD = ("numpy", "pandas", "altair", "vu_lib", "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel",
                   "ipykernel.zmqshell", "ipykernel.debugger", "psutil", "IPython.core.completerlib",
                   "IPython.extensions.storemagic")
_ZYGOTE_PRELOAD_ALLOWED = ("pandas", "numpy", "altair", "duckdb", "openpyxl", "yaml", "pydantic", "vl_convert", "vu_lib")
_ZYGOTE_SKIP_VU_LIB = frozenset({"batch", "cli", "render", "notebooks_refresh", "__init__", "__main__"})


def _vu_lib_modules() -> list[str]:
    return [f"vu_lib.{p.stem}" for p in sorted(PACKAGE_DIR.glob("*.py")) if p.stem not in _ZYGOTE_SKIP_VU_LIB]


def notebook_imports(paths: Iterable[Path]) -> list[str]:
    """Absolute imports in the notebooks' code cells that are safe to preload in the zygote."""
    import ast

    found: list[str] = []
    for p in paths:
        try:
            nb = json.loads(Path(p).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            src = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!")))
            try:
                tree = ast.parse(src)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for n in names:
                    if n.split(".")[0] in _ZYGOTE_PRELOAD_ALLOWED and n not in found:
                        found.append(n)
    return found


class Zygote:
    """A process that preloads the notebooks' imports and forks kernels on request.

    Started by the batch's parent; workers connect to its Unix socket
    (``VU_BATCH_ZYGOTE_SOCKET``). It exits when its stdin closes, killing any
    kernel it forked that is still alive.
    """

    def __init__(self, directory: Path, preload: list[str], cwd: Path, store: Path | None = None):
        import subprocess

        self.socket_path = str(Path(directory) / "zygote.sock")
        self.log_path = Path(directory) / "zygote.log"
        code = "import sys; sys.path[:0] = [sys.argv[1]]; from vu_lib.batch import _zygote_main; _zygote_main(sys.argv[2:])"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in close()
        config = {"preload": list(preload), "store": str(store) if store else None}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(PROJECT_ROOT), self.socket_path, json.dumps(config)],
            stdin=subprocess.PIPE, stdout=self._log, stderr=self._log, cwd=str(cwd),
        )

    def wait_bound(self, timeout: float = 30) -> None:
        """Wait until the socket is bound (it is, before the preloading starts)."""
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise VuError("Kunde inte starta kärnfabriken (zygote): " + self._tail())
            time.sleep(0.005)

    def _tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def _zygote_main(argv: list[str]) -> None:
    """Entry point of the zygote process (see :class:`Zygote`)."""
    import importlib
    import select
    import signal
    import socket

    sock_path, config = argv[0], json.loads(argv[1])
    # The kernels get the sys.path of a `python -m ipykernel_launcher` process:
    # ours without the project root we inserted and without the script entry.
    base_path = [p for p in sys.path[2:]]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(128)
    t0 = time.perf_counter()
    lighten_imports()
    for mod in config.get("preload", []):
        try:
            importlib.import_module(mod)
        except BaseException as e:  # noqa: BLE001 - a failed preload only costs time in the kernel
            print(f"preload {mod}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    t1 = time.perf_counter()
    if config.get("store"):
        # The Dataset is cached per process (vu_lib.data.load_dataset): loaded here
        # once, every forked kernel starts with it.
        try:
            from vu_lib.data import load_dataset

            load_dataset(config["store"])
        except BaseException as e:  # noqa: BLE001
            print(f"preload data: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    # Move everything loaded so far out of the cyclic GC's reach: the kernels'
    # collections then don't walk (and copy-on-write) the inherited heap.
    import gc

    gc.collect()
    gc.freeze()
    print(f"zygote ready: imports {t1 - t0:.2f} s, data {time.perf_counter() - t1:.2f} s",
          file=sys.stderr, flush=True)
    # Reap kernels as soon as they exit, so a worker polling a kernel's pid sees it
    # gone at once; a pid still in `children` is unreaped, hence still ours.
    children: set[int] = set()

    def _reap(_signum=None, _frame=None):
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.discard(pid)

    signal.signal(signal.SIGCHLD, _reap)
    while True:
        ready, _, _ = select.select([srv, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
            break
        if srv not in ready:
            continue
        conn, _ = srv.accept()
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        try:
            req = json.loads(data)
        except ValueError:
            conn.close()
            continue
        try:
            pid = os.fork()
        except OSError as e:
            conn.sendall(json.dumps({"error": str(e)}).encode() + b"\n")
            conn.close()
            continue
        if pid == 0:  # the kernel
            conn.close()
            srv.close()
            _zygote_child(req, base_path)  # never returns
        children.add(pid)
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        conn.close()
    srv.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _reap()
    for pid in list(children):  # unreaped: alive or zombie, the pid is still ours
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    _reap()
    try:
        os.unlink(sock_path)
    except OSError:
        pass


def _zygote_child(req: dict, base_path: list[str]) -> None:
    """In a forked child of the zygote: become ``python -m ipykernel_launcher <argv>``."""
    import atexit
    import signal
    import traceback

    code = 1
    try:
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL if sig != signal.SIGPIPE else signal.SIG_IGN)
        os.setsid()
        fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(fd, 0)
        os.close(fd)
        fd = os.open(req.get("log") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        sys.path[:] = base_path
        np = sys.modules.get("numpy")
        if np is not None:
            np.random.seed()
        import ipykernel_launcher  # noqa: F401 - for its path, as `-m` would set sys.argv[0]

        # parent_handle: ipykernel's parent poller ends the kernel if the zygote dies
        # (as a kernel launched by jupyter_client does when its launcher dies).
        sys.argv = [ipykernel_launcher.__file__, *req["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()
        except BaseException:  # noqa: BLE001
            pass
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        os._exit(code)


# =========================================================================== worker side
def lighten_imports() -> None:
    """Skip ``rfc3987_syntax`` in this process (it costs ~1.4 s at import).

    jsonschema imports it, when installed, only to check the 'iri' formats;
    nbformat's validation never uses them. Importing nbformat (papermill,
    nbconvert, signing) then takes a few tenths of a second instead of ~2 s.
    Has no effect once jsonschema is imported.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


def _worker_init(env: dict[str, str]) -> None:
    """Initializer of a worker process: environment, quiet logs, warm imports."""
    import logging
    import signal
    import warnings

    lighten_imports()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    os.environ.update(env)
    logging.getLogger("papermill").setLevel(logging.ERROR)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    import papermill  # noqa: F401 - warm

    _kernel_manager_class()
    _papermill_engine()


_ENGINE_NAME = None


def _papermill_engine() -> str:
    """Register (once) and return the name of the papermill engine the workers use.

    papermill's NBClientEngine writes the whole output notebook before and
    after every cell; for a report with fifteen cells and 250 kB of outputs
    that is thirty serialisations per notebook. This engine writes at the
    start, at most every ``autosave_cell_every`` seconds while cells run, on an
    error and at the end (papermill's ``notebook_complete`` runs in a
    ``finally``, so a dead kernel still leaves the partial notebook).
    """
    global _ENGINE_NAME
    if _ENGINE_NAME:
        return _ENGINE_NAME
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class VuExecutionManager(NotebookExecutionManager):
        _throttle = False

        def save(self, **kwargs):
            if self._throttle and self.last_save_time is not None:
                if (self.now() - self.last_save_time).total_seconds() < self.autosave_cell_every:
                    return
            super().save(**kwargs)

        def cell_start(self, cell, cell_index=None, **kwargs):
            self._throttle = True
            try:
                return super().cell_start(cell, cell_index, **kwargs)
            finally:
                self._throttle = False

        def cell_complete(self, cell, cell_index=None, **kwargs):
            self._throttle = True
            try:
                return super().cell_complete(cell, cell_index, **kwargs)
            finally:
                self._throttle = False

    class VuEngine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):
            nb_man = VuExecutionManager(nb, output_path=output_path, progress_bar=progress_bar,
                                        log_output=log_output, autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register("vu_batch", VuEngine)
    _ENGINE_NAME = "vu_batch"
    return _ENGINE_NAME


def _format_execution_error(e: BaseException) -> str:
    ename = getattr(e, "ename", None)
    if ename is not None:  # PapermillExecutionError
        head = f"{ename}: {getattr(e, 'evalue', '')}"
        where = f" (cell In[{e.exec_count}])" if getattr(e, "exec_count", None) is not None else ""
        tb = "\n".join(_strip_ansi(line) for line in (getattr(e, "traceback", None) or []))
        return (head + where + ("\n" + tb if tb else "")).strip()
    return f"{type(e).__name__}: {_strip_ansi(str(e))}".strip()


def _execute_job(spec: dict) -> dict:
    """Execute one notebook with papermill (in a worker process).

    Parameters
    ----------
    spec : dict
        name, input (notebook path), output (where papermill writes the
        executed notebook), parameters, cwd, kernel_log, start_timeout.

    Returns
    -------
    dict
        name, ok, error (text or None), seconds, started, ended.
    """
    import papermill as pm

    os.environ["VU_BATCH_KERNEL_LOG"] = spec["kernel_log"]
    started, t0 = _now(), time.perf_counter()
    result: dict[str, Any] = {"name": spec["name"], "ok": False, "error": None, "started": started}
    try:
        pm.execute_notebook(
            spec["input"], spec["output"], parameters=spec["parameters"], kernel_name="python3",
            cwd=spec["cwd"], progress_bar=False, log_output=False, engine_name=_papermill_engine(),
            start_timeout=spec.get("start_timeout", 120),
            kernel_manager_class=_kernel_manager_class(),
            # The kernel is discarded after the notebook: kill it instead of a
            # graceful shutdown, and skip IPython's history database.
            shutdown_kernel="immediate",
            extra_arguments=["--HistoryManager.enabled=False"],
        )
        result["ok"] = True
    except BaseException as e:  # noqa: BLE001 - every failure is reported, none stops the batch
        text = _format_execution_error(e)
        if getattr(e, "ename", None) is None:
            try:
                tail = Path(spec["kernel_log"]).read_text(errors="replace")[-3000:].strip()
            except OSError:
                tail = ""
            if tail:
                text += "\n--- kärnans utskrift ---\n" + tail
        result["error"] = text
    result["seconds"] = time.perf_counter() - t0
    result["ended"] = _now()
    return result


# =========================================================================== tables to Excel
_FMT_SPEC_RE = re.compile(r"^\s*(\+)?\s*([a-z]+)\s*(?:\(\s*(\d+)\s*\)|:(\d+))?\s*$")
_DEFAULT_DECIMALS = {"num": 0, "kr": 0, "tkr": 0, "mnkr": 1, "pct": 1, "count": 0}


def _columns_of(table: dict) -> list[dict]:
    """Normalised columns of a table payload: key, header, spec (format), numeric."""
    cols = []
    for c in table.get("columns") or []:
        if isinstance(c, str):
            cols.append({"key": c, "header": c, "spec": None, "numeric": None})
        elif isinstance(c, dict):
            key = c.get("key") or c.get("name") or c.get("field") or c.get("id")
            header = c.get("header") or c.get("label") or c.get("title") or key
            cols.append({"key": key, "header": str(header), "spec": c.get("format"), "numeric": c.get("numeric")})
    recs = _records_of(table)
    if not cols and recs and isinstance(recs[0], dict):
        cols = [{"key": k, "header": str(k), "spec": None, "numeric": None} for k in recs[0]]
    return cols


def _records_of(table: dict) -> list:
    recs = table.get("data")
    if not isinstance(recs, list):
        recs = table.get("records")
    return recs if isinstance(recs, list) else []


def excel_number_format(spec: str | None, value: Any) -> str | None:
    """The Excel number format for a :mod:`vu_lib.fmt` column spec and a value.

    ``'kr'`` -> ``'#,##0 "kr"'``; ``'tkr'`` -> ``'#,##0, "tkr"'`` (the value
    stays in kronor, Excel shows thousands); ``'mnkr'`` -> ``'#,##0.0,, "mnkr"'``;
    ``'pct'`` -> ``'0.0%'``; ``'num(2)'`` -> ``'#,##0.00'``; ``'count'`` ->
    ``'#,##0'``; a ``+`` prefix adds the sign to positive values. Text specs
    give None; without a spec, ints get ``'#,##0'`` and floats ``'#,##0.00'``.
    Format codes are locale-neutral: Swedish Excel shows a space as thousands
    separator and a decimal comma.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    m = _FMT_SPEC_RE.match(str(spec)) if spec else None
    if not m or m.group(2) not in _DEFAULT_DECIMALS:
        if spec and m and m.group(2) in ("text", "period", "date"):
            return None
        return "#,##0" if isinstance(value, int) else "#,##0.00"
    signed, kind = bool(m.group(1)), m.group(2)
    arg = m.group(3) or m.group(4)
    d = _DEFAULT_DECIMALS[kind] if arg is None or kind == "count" else int(arg)
    dec = ("." + "0" * d) if d else ""
    if kind == "pct":
        body = f"0{dec}%"
    else:
        body = "#,##0" + dec + {"tkr": ",", "mnkr": ",,"}.get(kind, "")
        body += {"kr": ' "kr"', "tkr": ' "tkr"', "mnkr": ' "mnkr"'}.get(kind, "")
    return f"+{body};-{body};{body}" if signed else body


def _masked_count(spec: str | None, value: Any) -> str | None:
    """The masked marker ('<5') for a small count in a ``count`` column, as in the reports."""
    if not spec or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    m = _FMT_SPEC_RE.match(str(spec))
    if not m or m.group(2) != "count" or not value > 0:
        return None
    from . import fmt

    thr = int(m.group(3) or m.group(4)) if (m.group(3) or m.group(4)) else None
    text = fmt.count(value, thr)
    return text if not text.replace("\u00a0", "").replace(" ", "").isdigit() else None


def tables_in_notebook(nb) -> list[dict]:
    """The 'application/vnd.vu.table+json' payloads in a notebook's outputs, in order."""
    out = []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) or []:
            data = o.get("data") or {}
            if TABLE_MIME in data:
                t = data[TABLE_MIME]
                if isinstance(t, str):
                    try:
                        t = json.loads(t)
                    except ValueError:
                        continue
                if isinstance(t, dict):
                    out.append(t)
    return out


def _sheet_title(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", str(name or "Tabell")).strip("'") or "Tabell"
    base = base[:31]
    title, i = base, 2
    while title.lower() in used:
        suffix = f" ({i})"
        title = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(title.lower())
    return title


def write_tables_xlsx(tables: list[dict], path: Path, meta: dict | None = None) -> int:
    """Write the tables of a report to one workbook, one sheet per table, atomically.

    The first sheet, "Innehåll", lists each table's sheet and caption and the
    report's provenance. Each table sheet has the Swedish column headers in
    row 1 and the records below; numbers are stored as numbers with a number
    format (thousands separator; decimals or percent from the column spec).

    Returns
    -------
    int
        The number of tables written (0: no file is written).
    """
    if not tables:
        return 0
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    toc = wb.create_sheet("Innehåll")
    toc.column_dimensions["A"].width = 32
    toc.column_dimensions["B"].width = 80
    used = {"innehåll"}
    meta = meta or {}
    c = WriteOnlyCell(toc, value=meta.get("title") or "Tabeller")
    c.font = Font(bold=True, size=13)
    toc.append([c])
    for label, key in (("Period", "period_label"), ("Modellversion", "modellversion"), ("Data", "data_source"),
                       ("Datafingeravtryck", "data_fingerprint"), ("Parametrar", "params_fingerprint"),
                       ("Kodversion", "code_version"), ("Skapad", "generated")):
        if meta.get(key):
            toc.append([label, str(meta[key])])
    toc.append([])
    h1, h2 = WriteOnlyCell(toc, value="Blad"), WriteOnlyCell(toc, value="Tabell")
    h1.font = h2.font = bold
    toc.append([h1, h2])
    sheets = []
    for t in tables:
        title = _sheet_title(t.get("sheet_name") or t.get("name") or t.get("caption"), used)
        sheets.append((title, t))
        toc.append([title, str(t.get("caption") or t.get("name") or "")])
    for title, t in sheets:
        ws = wb.create_sheet(title)
        cols = _columns_of(t)
        recs = _records_of(t)
        widths = [max(8, min(60, len(col["header"]) + 2)) for col in cols]
        rows = []
        for r in recs:
            if isinstance(r, dict):
                vals = [r.get(col["key"], r.get(col["header"])) for col in cols]
            else:
                vals = list(r)[: len(cols)]
            rows.append(vals)
            for i, v in enumerate(vals):
                if v is not None and i < len(widths):
                    widths[i] = max(widths[i], min(60, len(str(v)) + 4))
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        ws.freeze_panes = "A2"
        header = []
        for col in cols:
            hc = WriteOnlyCell(ws, value=col["header"])
            hc.font = bold
            hc.alignment = Alignment(wrap_text=True, vertical="top")
            header.append(hc)
        ws.append(header)
        last = len(rows) - 1
        for n, vals in enumerate(rows):
            line = []
            for col, v in zip(cols, vals):
                if isinstance(v, float) and v != v:  # NaN
                    v = None
                if isinstance(v, (dict, list)):
                    v = json.dumps(v, ensure_ascii=False)
                masked = _masked_count(col["spec"], v)
                cell = WriteOnlyCell(ws, value=masked if masked is not None else v)
                nf = None if masked is not None else excel_number_format(col["spec"], v)
                if nf:
                    cell.number_format = nf
                if masked is not None:
                    cell.alignment = Alignment(horizontal="right")
                if t.get("total_row") and n == last:
                    cell.font = bold
                line.append(cell)
            ws.append(line)
        if t.get("note"):
            ws.append([])
            ws.append([str(t["note"])])
    path = Path(path)
    tmp = _tmp_name(path)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return len(tables)


# =========================================================================== index and log
def _href(rel: str) -> str:
    from urllib.parse import quote

    return quote(rel, safe="/")


def _esc(text: Any) -> str:
    import html

    return html.escape(str(text if text is not None else ""), quote=True)


_INDEX_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem auto;max-width:72rem;color:#1d2733;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}p.sub{color:#555;margin-top:0}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #dde3ea;vertical-align:top}
th{background:#f1f4f8;font-weight:600}
td.id{font-family:ui-monospace,Consolas,monospace;white-space:nowrap}
a{color:#0b5cad;margin-right:.6rem}
.st{display:inline-block;padding:.1rem .5rem;border-radius:.8rem;font-size:.85rem;white-space:nowrap}
.ok{background:#e3f4e8;color:#1b6b34}.cache{background:#e8eef7;color:#2c4a78}.fel{background:#fbe4e4;color:#9b1c1c}
.err{color:#9b1c1c;font-size:.85rem;margin-top:.3rem;white-space:pre-wrap}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem;font-size:.9rem;color:#333}
dt{font-weight:600}dd{margin:0;font-family:ui-monospace,Consolas,monospace}
footer{margin-top:2rem;font-size:.85rem;color:#555}
"""


def render_index(state: BatchState, info: dict) -> str:
    """``index.html`` of an output directory: every report of the state, with status and links.

    Offline: inline CSS only, relative links, no scripts or remote resources.
    """
    rows = []
    entries = sorted(state.jobs.items(), key=lambda kv: (kv[1].get("order", 999), kv[0]))
    for name, e in entries:
        status = e.get("status", "")
        css = "ok" if status == STATUS_OK else "cache" if status == STATUS_CACHED else "fel"
        outs = e.get("outputs") or {}
        links = []
        for key, label in (("html", "HTML"), ("pdf", "PDF"), ("xlsx", "Excel"), ("ipynb", "Notebook")):
            rel = outs.get(key)
            if rel and (state.directory / rel).is_file():
                links.append(f'<a href="{_href(rel)}">{label}</a>')
        err = ""
        if status in FAILED_STATUSES and e.get("error"):
            first = str(e["error"]).strip().splitlines()[0][:300]
            err = f'<div class="err">{_esc(first)}</div>'
        namnd = e.get("namnd") or ""
        rows.append(
            f"<tr><td class=\"id\">{_esc(name)}</td><td>{_esc(e.get('title', ''))}{err}</td>"
            f"<td>{_esc(_KIND_LABELS.get(e.get('kind', ''), ''))}</td><td>{_esc(namnd)}</td>"
            f"<td><span class=\"st {css}\">{_esc(status)}</span></td>"
            f"<td>{_esc((e.get('executed_at') or '')[:16].replace('T', ' '))}</td>"
            f"<td>{''.join(links) or '–'}</td></tr>"
        )
    facts = [("Modellversion", info.get("modellversion")), ("Data", info.get("data_source")),
             ("Datafingeravtryck", info.get("data_fingerprint")), ("Parametrar", info.get("params_fingerprint")),
             ("Kodversion", info.get("code_version"))]
    dl = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in facts if v)
    title = info.get("title") or "Rapporter"
    return f"""<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title>
<style>{_INDEX_CSS}</style>
</head>
<body>
<h1>{_esc(title)}</h1>
<p class="sub">{_esc(info.get('subtitle', ''))}</p>
<dl>{dl}</dl>
<table>
<thead><tr><th>Id</th><th>Rapport</th><th>Typ</th><th>Nämnd</th><th>Status</th><th>Körd</th><th>Filer</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<footer>Senaste körning {_esc(info.get('generated', ''))}. Körlogg: <a href="korlogg.txt">korlogg.txt</a> <a href="korlogg.json">korlogg.json</a></footer>
</body>
</html>
"""


def render_log_text(log: dict) -> str:
    """The readable run log (``korlogg.txt``), in Swedish."""
    inp = log.get("indata", {})
    lines = [
        f"Körlogg: {log.get('kommando', '')}",
        f"Rapporter för {log.get('etikett', '')}" + (f" ({log['period_etikett']})" if log.get("period_etikett") else ""),
        f"Start {log.get('start', '')}   Slut {log.get('slut', '')}   Total tid {_secs(log.get('sekunder'))}",
        f"Modellversion {log.get('modellversion', '')}   Kodversion {inp.get('kodversion', '')}",
        f"Data {inp.get('datakalla', '')} ({inp.get('data_fingeravtryck', '')})   "
        f"Parametrar {inp.get('params_fingeravtryck', '')}",
        f"Format {', '.join(log.get('parametrar', {}).get('format', []))}   "
        f"Processer {log.get('parametrar', {}).get('processer', '')}   Renderare {log.get('renderare', '')}",
        "",
        f"{'Rapport':<16}{'Status':<16}{'Körning':>10}{'Rendering':>11}  Notebook",
    ]
    for j in log.get("jobb", []):
        rend = sum((j.get("rendering_sekunder") or {}).values()) if j.get("rendering_sekunder") else None
        exe = j.get("korning_sekunder")
        note = f"  (körd {str(j['senast_kord'])[:16].replace('T', ' ')})" if j.get("senast_kord") and j.get("fran_cache") else ""
        lines.append(f"{j['namn']:<16}{j['status']:<16}{_secs(exe):>10}{_secs(rend):>11}  {j.get('notebook', '')}{note}")
    failed = [j for j in log.get("jobb", []) if j.get("fel")]
    if failed:
        lines += ["", "Fel:"]
        for j in failed:
            lines.append(f"  {j['namn']}:")
            lines += ["    " + ln for ln in str(j["fel"]).splitlines()]
    return "\n".join(lines) + "\n"


# =========================================================================== the batch
@dataclass
class BatchResult:
    """What a batch did: the jobs with their outcome, and where the index is."""

    label: str
    directory: Path
    jobs: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    exit_code: int = 0

    @property
    def failed(self) -> list[dict]:
        return [j for j in self.jobs if j["status"] in FAILED_STATUSES]

    @property
    def cached(self) -> list[dict]:
        return [j for j in self.jobs if j["status"] == STATUS_CACHED]

    @property
    def index(self) -> Path:
        return self.directory / "index.html"


def _resolve_renderer(choice: str) -> str:
    """'builtin' or 'quarto' for a ``--renderer`` choice (cheap: no render import for 'auto' in the key)."""
    if choice in ("builtin", "quarto"):
        return choice
    import shutil

    return "quarto" if shutil.which("quarto") else "builtin"


def check_renderer(choice: str) -> None:
    """``--renderer quarto`` needs Quarto on PATH (BatchUsageError otherwise)."""
    import shutil

    if choice == "quarto" and shutil.which("quarto") is None:
        raise BatchUsageError("Quarto finns inte på PATH; installera Quarto eller använd --renderer builtin")


def parse_formats(value: str | Iterable[str]) -> list[str]:
    """``'html,pdf'`` -> ``['html', 'pdf']``; BatchUsageError for an unknown format."""
    items = value.split(",") if isinstance(value, str) else list(value)
    fmts = [f.strip().lower().lstrip(".") for f in items if f and f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise BatchUsageError(f"Okänt format '{bad[0]}' i --to (välj bland: {', '.join(FORMATS)})")
    if not fmts:
        raise BatchUsageError("--to måste ange minst ett format (html, pdf)")
    return list(dict.fromkeys(fmts))


class Batch:
    """One batch run into ``<out>/<label>/``.

    Parameters
    ----------
    jobs : list of Job
        Planned jobs.
    label : str
        Output subdirectory: the period (``'2026-10'``) or ``'budget-2027'``.
    out : Path
        The ``--out`` directory.
    inputs : Inputs
    formats : list of str
        'html' and/or 'pdf'.
    n_jobs : int, optional
        Worker processes (default ``os.cpu_count()``).
    renderer : {'auto', 'builtin', 'quarto'}
    force : bool
        Ignore the cache.
    notebooks : NotebookSet, optional
    renderer_factory : callable, optional
        Builds the renderer (default :class:`vu_lib.render.Renderer`); tests
        inject fakes. The renderer needs ``render_html(nb_path, out_path, meta)``
        and/or ``render_pdf(...)``.
    info : dict, optional
        Shown in the index and the log: title, subtitle, period_label,
        modellversion, command, options.
    out_stream : file, optional
        Where the per-job lines and the summary go (default stdout).
    """

    def __init__(self, jobs: list[Job], *, label: str, out: Path, inputs: Inputs, formats: list[str],
                 n_jobs: int | None = None, renderer: str = "auto", force: bool = False,
                 notebooks: NotebookSet | None = None, renderer_factory: Callable[[], Any] | None = None,
                 info: dict | None = None, out_stream=None, preload_data: bool = True,
                 zygote_preload: list[str] | None = None):
        self.jobs = jobs
        self.label = label
        self.out = Path(out)
        self.directory = self.out / label
        self.nb_dir = self.directory / "notebooks"
        self.inputs = inputs
        self.formats = formats
        self.n_jobs = max(1, n_jobs or os.cpu_count() or 1)
        self.renderer_choice = renderer
        self.renderer_kind = _resolve_renderer(renderer)
        self.force = force
        self.notebooks = notebooks or NotebookSet()
        self.renderer_factory = renderer_factory
        self.info = dict(info or {})
        self.stream = out_stream or sys.stdout
        self._renderer = None
        self._renderer_error: str | None = None
        #: Load the Dataset in the zygote so every kernel inherits it (off in tests with fixture notebooks).
        self.preload_data = preload_data
        #: Modules the zygote imports before forking kernels (None: the default set).
        self.zygote_preload = zygote_preload
        self.results: dict[str, dict] = {}

    # ------------------------------------------------------------------ helpers
    def _say(self, text: str, bar=None) -> None:
        if bar is not None and not getattr(bar, "disable", True):
            bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def _meta(self, job: Job) -> dict:
        """Report metadata for the renderer (exactly :data:`vu_lib.render.META_KEYS`)."""
        namnder = self.info.get("namnder", {})
        if job.kind in ("vu", "oversikt"):
            titel = self.info.get("report_title") or "Uppföljning"
            undertitel = job.title
            period = job.parameters.get("period", "")
        elif job.kind == "modell":
            titel, undertitel = "Ersättningsmodellen", f"Modellversion {job.modellversion}"
            period = str(job.parameters.get("year", ""))
        else:
            titel, undertitel = "Budgetförslag", "Ersättning per verksamhetsuppdrag"
            period = str(job.parameters.get("year", ""))
        meta = {
            "titel": titel,
            "undertitel": undertitel,
            "vu": job.subject or job.name,
            "period": period,
            "modellversion": job.modellversion or self.info.get("modellversion", "") or "–",
            "data_fingerprint": self.inputs.data_fingerprint or "–",
            "kodversion": self.inputs.code_version or "–",
            "datum": dt.date.today().isoformat(),
            "datakalla": self.inputs.data_source,
        }
        if job.namnd and job.namnd in namnder:
            meta["namnd"] = namnder[job.namnd]
        return meta

    def _xlsx_meta(self, job: Job) -> dict:
        return {"title": job.title, "period_label": self.info.get("period_label", ""),
                "modellversion": job.modellversion, "data_source": self.inputs.data_source,
                "data_fingerprint": self.inputs.data_fingerprint, "params_fingerprint": self.inputs.params_fingerprint,
                "code_version": self.inputs.code_version, "generated": _now()[:16].replace("T", " ")}

    def _renderer_obj(self):
        if self._renderer is None and self._renderer_error is None:
            try:
                if self.renderer_factory is not None:
                    self._renderer = self.renderer_factory()
                else:
                    from .render import Renderer

                    self._renderer = Renderer()
            except Exception as e:  # noqa: BLE001
                self._renderer_error = f"Renderaren kunde inte startas: {type(e).__name__}: {e}"
        if self._renderer_error:
            raise VuError(self._renderer_error)
        return self._renderer

    # ------------------------------------------------------------------ run
    def run(self) -> BatchResult:
        t0 = time.perf_counter()
        start = _now()
        self.directory.mkdir(parents=True, exist_ok=True)
        state = BatchState(self.directory)
        assign_keys(self.jobs, self.notebooks, self.inputs, self.formats, self.renderer_kind)
        todo: list[Job] = []
        for job in self.jobs:
            if not self.force and state.is_fresh(job):
                e = state.jobs[job.name]
                self.results[job.name] = {"status": STATUS_CACHED, "exec": None, "render": {}, "error": None,
                                          "executed_at": e.get("executed_at"), "previous_exec": e.get("exec_seconds"),
                                          "previous_render": e.get("render_seconds")}
                self._say(f"{job.name}: oförändrad, hoppar över")
            else:
                todo.append(job)
        if todo:
            self._execute_and_render(todo, state)
        # Publish: state, log, index.
        for job in self.jobs:
            r = self.results[job.name]
            entry = state.jobs.get(job.name, {})
            entry.update({"title": job.title, "kind": job.kind, "namnd": job.namnd, "order": job.order,
                          "notebook": job.notebook, "parameters": job.parameters})
            if r["status"] != STATUS_CACHED:
                entry.update({"status": r["status"], "key": job.key if r["status"] == STATUS_OK else None,
                              "executed_at": r.get("executed_at"), "exec_seconds": r.get("exec"),
                              "render_seconds": r.get("render"), "error": r.get("error")})
                if r.get("outputs") is not None:
                    entry["outputs"] = r["outputs"]
            state.jobs[job.name] = entry
        state.save()
        seconds = time.perf_counter() - t0
        result = BatchResult(self.label, self.directory, seconds=seconds)
        for job in self.jobs:
            r = self.results[job.name]
            result.jobs.append({"name": job.name, "title": job.title, "status": r["status"], "error": r.get("error"),
                                "exec": r.get("exec"), "render": r.get("render") or {}})
        result.exit_code = 1 if result.failed else 0
        log = self._log(start, seconds)
        atomic_write_text(self.directory / "korlogg.json", _dump_json(log))
        atomic_write_text(self.directory / "korlogg.txt", render_log_text(log))
        info = dict(self.info)
        info.update({"data_source": self.inputs.data_source, "data_fingerprint": self.inputs.data_fingerprint,
                     "params_fingerprint": self.inputs.params_fingerprint, "code_version": self.inputs.code_version,
                     "generated": start[:16].replace("T", " ")})
        atomic_write_text(self.directory / "index.html", render_index(state, info))
        result.seconds = time.perf_counter() - t0
        return result

    def _log(self, start: str, seconds: float) -> dict:
        jobs = []
        for job in self.jobs:
            r = self.results[job.name]
            jobs.append({
                "namn": job.name, "titel": job.title, "notebook": job.notebook, "parametrar": job.parameters,
                "nyckel": job.key, "status": r["status"], "korning_sekunder": r.get("exec"),
                "rendering_sekunder": r.get("render") or {}, "start": r.get("started"), "slut": r.get("ended"),
                "fel": r.get("error"),
            })
            if r["status"] == STATUS_CACHED:
                jobs[-1].update({"fran_cache": True, "senast_kord": r.get("executed_at"),
                                 "senaste_korning_sekunder": r.get("previous_exec"),
                                 "senaste_rendering_sekunder": r.get("previous_render") or {}})
        return {
            "kommando": self.info.get("command", ""),
            "etikett": self.label,
            "period_etikett": self.info.get("period_label", ""),
            "parametrar": dict(self.info.get("options", {}), format=self.formats, processer=self.n_jobs),
            "renderare": self.renderer_kind,
            "indata": {"data_fingeravtryck": self.inputs.data_fingerprint, "data_nyckel": self.inputs.data_key,
                   "datakalla": self.inputs.data_source,
                       "lager": str(self.inputs.store), "params_fingeravtryck": self.inputs.params_fingerprint,
                       "kodversion": self.inputs.code_version, "kallkod_hash": self.inputs.source_hash},
            "modellversion": self.info.get("modellversion", ""),
            "start": start, "slut": _now(), "sekunder": round(seconds, 3),
            "jobb": jobs,
        }

    # ------------------------------------------------------------------ execution
    def _execute_and_render(self, todo: list[Job], state: BatchState) -> None:
        import shutil
        import tempfile
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from multiprocessing import get_context

        lighten_imports()
        self.nb_dir.mkdir(parents=True, exist_ok=True)
        _clean_stale(self.directory)
        _clean_stale(self.nb_dir)

        # Longest first (the previous run's durations; else overviews, VU, modell) to shorten the tail.
        def expected(job: Job) -> float:
            prev = state.jobs.get(job.name, {}).get("exec_seconds")
            return float(prev) if prev else {"oversikt": 9.0, "vu": 6.0, "budget": 5.0, "modell": 2.0}.get(job.kind, 1.0)

        todo = sorted(todo, key=expected, reverse=True)
        tmpdir = Path(tempfile.mkdtemp(prefix="vu-batch-"))
        zygote = None
        env = {"PYDEVD_DISABLE_FILE_VALIDATION": "1", "VU_BATCH_RUNTIME_DIR": str(tmpdir)}
        if zygote_supported():
            try:
                if self.zygote_preload is not None:
                    preload = list(self.zygote_preload)
                else:
                    preload = list(dict.fromkeys([*_ZYGOTE_PRELOAD, *_vu_lib_modules(),
                                                  *notebook_imports(self.notebooks.path(j.notebook) for j in todo)]))
                zygote = Zygote(tmpdir, preload, self.notebooks.directory,
                                store=self.inputs.store if self.preload_data else None)
                env["VU_BATCH_ZYGOTE_SOCKET"] = zygote.socket_path
            except (OSError, VuError):
                zygote = None
        workers = min(self.n_jobs, len(todo))
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                       initializer=_worker_init, initargs=(env,))
        specs = {}
        futures = {}
        try:
            for job in todo:
                running = self.nb_dir / f".{job.name}.{os.getpid()}.running.ipynb"
                spec = {"name": job.name, "input": str(self.notebooks.path(job.notebook).resolve()),
                        "output": str(running.resolve()),
                        "parameters": {**job.parameters, "store": str(self.inputs.store)},
                        "cwd": str(Path(self.notebooks.directory).resolve()),
                        "kernel_log": str(tmpdir / f"{job.name}.kernel.log")}
                specs[job.name] = spec
                futures[executor.submit(_execute_job, spec)] = job
            if zygote is not None:
                try:
                    zygote.wait_bound()
                except VuError:
                    zygote.close()
                    zygote = None  # the workers fall back to launching kernels themselves
            # While the workers start: the displayed data fingerprint (builds the
            # sample store if needed) and the renderer (imports nbconvert & co).
            self.inputs.resolve_sample_fingerprint()
            if self.renderer_kind == "builtin":
                try:
                    self._renderer_obj()
                except VuError:
                    pass
            bar = _progress(len(todo))
            pending = set(futures)
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        job = futures[fut]
                        try:
                            res = fut.result()
                        except BaseException as e:  # noqa: BLE001 - a dead worker fails only its job
                            res = {"name": job.name, "ok": False, "error": f"Arbetsprocessen dog: {type(e).__name__}: {e}",
                                   "seconds": None, "started": None, "ended": _now()}
                        self._finish(job, res, Path(specs[job.name]["output"]))
                        r = self.results[job.name]
                        bar.update(1)
                        if r["status"] in FAILED_STATUSES:
                            self._say(f"{job.name}: {r['status']}", bar)
                if self.renderer_kind == "quarto":
                    self._render_quarto([j for j in todo if self.results[j.name]["status"] == STATUS_OK])
            finally:
                bar.close()
        except BaseException:
            for f in futures:
                f.cancel()
            executor.shutdown(wait=False, cancel_futures=True)
            for p in list(getattr(executor, "_processes", {}).values()):
                try:
                    p.terminate()
                except Exception:  # noqa: BLE001
                    pass
            raise
        else:
            executor.shutdown(wait=False)  # idle workers exit while the parent publishes
        finally:
            if zygote is not None:
                zygote.close()
            for spec in specs.values():
                Path(spec["output"]).unlink(missing_ok=True)
            shutil.rmtree(tmpdir, ignore_errors=True)

    def _finish(self, job: Job, res: dict, running: Path) -> None:
        """Sign and publish the executed notebook; render and export tables when it succeeded."""
        import nbformat
        from nbformat.sign import NotebookNotary

        r = {"status": STATUS_FAILED, "exec": res.get("seconds"), "render": {}, "error": res.get("error"),
             "started": res.get("started"), "ended": res.get("ended"), "executed_at": res.get("started"),
             "outputs": None}
        self.results[job.name] = r
        nb_final = self.nb_dir / f"{job.name}.ipynb"
        outputs = {"ipynb": nb_final.relative_to(self.directory).as_posix()}
        nb = None
        if running.is_file():
            try:
                nb = nbformat.read(running, as_version=4)
                NotebookNotary().sign(nb)
                atomic_write_text(nb_final, nbformat.writes(nb))
            except Exception as e:  # noqa: BLE001
                r["error"] = (r["error"] + "\n" if r["error"] else "") + f"Notebooken kunde inte sparas: {e}"
                nb = None
            running.unlink(missing_ok=True)
        if not res.get("ok") or nb is None:
            if not res.get("ok") and r["error"] is None:
                r["error"] = "okänt fel"
            r["outputs"] = outputs if nb_final.is_file() else {}
            return
        if self.renderer_kind == "quarto":
            r["status"] = STATUS_OK
            r["outputs"] = outputs
            r["_nb"] = nb
            return
        meta = self._meta(job)
        tmps: dict[str, Path] = {}
        try:
            renderer = self._renderer_obj()
            for fmt in self.formats:
                final = self.directory / f"{job.name}.{fmt}"
                tmp = _tmp_name(final)
                tmps[fmt] = tmp
                t = time.perf_counter()
                getattr(renderer, f"render_{fmt}")(nb_final, tmp, meta)
                if not tmp.is_file():
                    raise VuError(f"renderaren skrev ingen {fmt}-fil")
                r["render"][fmt] = round(time.perf_counter() - t, 3)
            t = time.perf_counter()
            xlsx = self.directory / f"{job.name}.xlsx"
            n = write_tables_xlsx(tables_in_notebook(nb), xlsx, self._xlsx_meta(job))
            r["render"]["xlsx"] = round(time.perf_counter() - t, 3)
            for fmt, tmp in tmps.items():
                final = self.directory / f"{job.name}.{fmt}"
                os.replace(tmp, final)
                outputs[fmt] = final.name
            if n:
                outputs["xlsx"] = xlsx.name
            elif xlsx.exists():
                xlsx.unlink()
            r["status"] = STATUS_OK
        except Exception as e:  # noqa: BLE001 - a rendering error fails this job only
            r["status"] = STATUS_RENDER_FAILED
            r["error"] = f"Renderingen misslyckades: {_format_execution_error(e)}"
        finally:
            for tmp in tmps.values():
                tmp.unlink(missing_ok=True)
        # Outputs of the previous good run stay in place on a rendering error, but are
        # only listed when this run produced them.
        r["outputs"] = outputs

    def _render_quarto(self, jobs: list[Job]) -> None:
        """Render with Quarto (one call for all notebooks), then move the outputs into place."""
        if not jobs:
            return
        paths = [self.nb_dir / f"{j.name}.ipynb" for j in jobs]
        t = time.perf_counter()
        try:
            from .render import render_with_quarto

            produced = render_with_quarto(paths, list(self.formats))
        except Exception as e:  # noqa: BLE001
            for j in jobs:
                self.results[j.name].update(status=STATUS_RENDER_FAILED,
                                            error=f"Quarto-renderingen misslyckades: {_format_execution_error(e)}")
            return
        share = (time.perf_counter() - t) / len(jobs)
        for j, p in zip(jobs, paths):
            r = self.results[j.name]
            found = {}
            if isinstance(produced, dict):
                got = produced.get(p) or produced.get(str(p)) or {}
                if isinstance(got, dict):
                    found = {k: Path(v) for k, v in got.items()}
                elif isinstance(got, (list, tuple)):
                    found = {Path(v).suffix.lstrip("."): Path(v) for v in got}
            for fmt in self.formats:
                src = found.get(fmt) or p.with_suffix("." + fmt)
                if src.is_file():
                    final = self.directory / f"{j.name}.{fmt}"
                    os.replace(src, final)
                    r["outputs"][fmt] = final.name
                    r["render"][fmt] = round(share, 3)
                else:
                    r.update(status=STATUS_RENDER_FAILED, error=f"Quarto skrev ingen {fmt}-fil för {j.name}")
            nb = r.pop("_nb", None)
            if nb is not None and r["status"] == STATUS_OK:
                xlsx = self.directory / f"{j.name}.xlsx"
                if write_tables_xlsx(tables_in_notebook(nb), xlsx, self._xlsx_meta(j)):
                    r["outputs"]["xlsx"] = xlsx.name


def _progress(total: int):
    """A tqdm bar on stderr (disabled when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, unit="rapport", desc="Kör rapporter", disable=None,
                dynamic_ncols=True, leave=False)


def summary_text(result: BatchResult, out_display: Path | None = None) -> str:
    """The final Swedish summary."""
    n = len(result.jobs)
    cached = len(result.cached)
    failed = result.failed
    ran = n - cached
    word = "rapport" if n == 1 else "rapporter"
    lines = [f"{n} {word} för {result.label}: {ran - len(failed)} körda, {cached} från cache (oförändrade), "
             f"{len(failed)} misslyckade."]
    for j in failed:
        first = (str(j.get("error") or "").strip().splitlines() or [""])[0]
        lines.append(f"  Misslyckades: {j['name']} ({j['status']}): {first[:200]}")
    idx = out_display if out_display is not None else result.index
    lines.append(f"Index: {idx}")
    lines.append(f"Total tid: {_secs(result.seconds)}")
    return "\n".join(lines)


# =========================================================================== CLI
def _command_line() -> str:
    return " ".join(["vu", *sys.argv[1:]]) if sys.argv and sys.argv[0].endswith("vu") else " ".join(sys.argv)


def _options(args) -> dict:
    keys = ("period", "vu", "namnd", "year", "to", "jobs", "renderer", "store", "out", "force", "parameter")
    return {k: getattr(args, k) for k in keys if hasattr(args, k)}


def _run_batch(args, jobs: list[Job], *, label: str, params, info: dict, inputs: Inputs, notebooks: NotebookSet,
               renderer_factory, extra: dict, formats: list[str], out_stream, batch_options: dict | None) -> int:
    info = dict(info)
    opts = _options(args)
    if extra:
        opts["extra_parametrar"] = extra
    info.setdefault("command", _command_line())
    info["options"] = opts
    batch = Batch(jobs, label=label, out=Path(args.out), inputs=inputs, formats=formats, n_jobs=args.jobs,
                  renderer=args.renderer, force=args.force, notebooks=notebooks,
                  renderer_factory=renderer_factory, info=info, out_stream=out_stream, **(batch_options or {}))
    result = batch.run()
    print(summary_text(result, Path(args.out) / label / "index.html"), file=out_stream, flush=True)
    return result.exit_code


def cli_run(args, *, notebooks: NotebookSet | None = None, renderer_factory=None, out_stream=None,
            batch_options: dict | None = None) -> int:
    """``vu run``: plan, execute and render the reports of a period.

    Parameters
    ----------
    args : argparse.Namespace
        From :func:`vu_lib.cli.build_parser` (period, vu, namnd, to, jobs,
        parameter, renderer, store, out, force).
    notebooks, renderer_factory, out_stream, batch_options
        Injection points for tests and benchmarks (``batch_options`` are
        keyword arguments of :class:`Batch`).

    Returns
    -------
    int
        0 ok, 1 a job failed, 2 bad usage or bad input.
    """
    out_stream = out_stream or sys.stdout
    try:
        from .compensation import model_version
        from .params import load_params

        params = load_params()
        notebooks = notebooks or NotebookSet()
        formats = parse_formats(args.to)
        check_renderer(args.renderer)
        if args.jobs is not None and args.jobs < 1:
            raise BatchUsageError("--jobs måste vara minst 1")
        inputs = collect_inputs(params, _store_arg(args))
        if args.period:
            period = validate_period(params, args.period)
        else:
            from .periods import latest_delar

            last = data_last_period(inputs, Path(args.out))
            period = str(latest_delar(params, last).month)
        jobs = plan_run(params, period, vu_ids=args.vu, namnd=args.namnd, notebooks=notebooks)
        extra = apply_extra_parameters(jobs, [tuple(p) for p in (args.parameter or [])], notebooks)
        from .periods import period as make_period

        p = make_period(params, period)
        year, month = int(period[:4]), int(period[5:])
        report_title = {"delar": "Delårsuppföljning", "helar": "Helårsuppföljning"}.get(p.kind, "Månadsuppföljning")
        info = {"title": f"Rapporter {p.label}", "subtitle": "Ekonomisk uppföljning av verksamhetsuppdragen, SoF – Leanlink",
                "period_label": p.label, "modellversion": model_version(params, year, month),
                "report_title": report_title, "namnder": dict(params.registry.namnder)}
    except (BatchUsageError, ParamsError, InputError) as e:
        print(f"vu: {e}", file=sys.stderr)
        return 2
    except VuError as e:
        if type(e).__name__ == "PeriodError":
            print(f"vu: {e}", file=sys.stderr)
            return 2
        raise
    try:
        return _run_batch(args, jobs, label=period, params=params, info=info, inputs=inputs, notebooks=notebooks,
                          renderer_factory=renderer_factory, extra=extra, formats=formats, out_stream=out_stream,
                          batch_options=batch_options)
    except KeyboardInterrupt:
        print("vu: avbruten", file=sys.stderr)
        return 130


def cli_budget(args, *, notebooks: NotebookSet | None = None, renderer_factory=None, out_stream=None,
               batch_options: dict | None = None) -> int:
    """``vu budget <year>``: execute ``budget.ipynb`` and render ``<out>/budget-<year>/budget.*``."""
    out_stream = out_stream or sys.stdout
    try:
        from .params import load_params

        params = load_params()
        notebooks = notebooks or NotebookSet()
        formats = parse_formats(args.to)
        check_renderer(args.renderer)
        if args.jobs is not None and args.jobs < 1:
            raise BatchUsageError("--jobs måste vara minst 1")
        jobs = plan_budget(params, int(args.year), notebooks=notebooks)
        extra = apply_extra_parameters(jobs, [tuple(p) for p in (args.parameter or [])], notebooks)
        inputs = collect_inputs(params, _store_arg(args))
        year = int(args.year)
        info = {"title": f"Budgetförslag {year}", "subtitle": "Ersättning per verksamhetsuppdrag för nästa år",
                "period_label": str(year), "modellversion": params.modellar(year).modellversion,
                "namnder": dict(params.registry.namnder)}
    except (BatchUsageError, ParamsError, InputError) as e:
        print(f"vu: {e}", file=sys.stderr)
        return 2
    try:
        return _run_batch(args, jobs, label=f"budget-{year}", params=params, info=info, inputs=inputs,
                          notebooks=notebooks, renderer_factory=renderer_factory, extra=extra, formats=formats,
                          out_stream=out_stream, batch_options=batch_options)
    except KeyboardInterrupt:
        print("vu: avbruten", file=sys.stderr)
        return 130
