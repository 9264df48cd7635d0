"""What a batch runs: the jobs of ``vu run`` and ``vu budget`` and their parameters.

A job is a notebook with its parameters and the stem of its output files.
:func:`plan_run` lists the jobs of a period (one ``vu_rapport`` per VU, the
overviews ÄN, SON and Leanlink, and ``modell`` for the period's year);
:func:`plan_budget` the single ``budget`` job of a year.

``-p NAME VALUE`` parameters are parsed the way papermill's CLI parses them
(:func:`parse_parameter_value`) and go to the notebooks whose cell tagged
``parameters`` assigns NAME (:func:`declared_parameters`, which reads the
notebook's JSON and executes nothing).

Nothing here imports more than the standard library and the params.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from vu_lib.core.exceptions import BatchUsageError, VuError

#: Statuses of a job, as the state file, the run log, the index and the summary show them.
STATUS_OK = "klar"
STATUS_CACHED = "oförändrad"
STATUS_FAILED = "misslyckades"
STATUS_RENDER_FAILED = "renderingsfel"
GOOD_STATUSES = frozenset({STATUS_OK, STATUS_CACHED})
FAILED_STATUSES = frozenset({STATUS_FAILED, STATUS_RENDER_FAILED})


NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
OVERVIEW_SCOPES = ("AN", "SON", "Leanlink")
RESERVED_PARAMETERS = frozenset({"vu", "scope", "period", "year", "store"})

_KIND_ORDER = {"vu": 0, "oversikt": 100, "modell": 200, "budget": 300}
_PERIOD_RE = re.compile(r"^\d{4}-\d{2}$")

__all__ = ["BatchUsageError", "NotebookSet", "Job", "validate_period", "plan_run", "validate_budget_year",
           "plan_budget", "parse_parameter_value", "declared_parameters", "apply_extra_parameters",
           "read_notebook", "code_cells"]


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
        """The path of the notebook file ``name`` in :attr:`directory`."""
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
        Content key, set by :func:`vu_lib.cache.assign_keys`.
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


# =========================================================================== periods and years
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


def validate_budget_year(params, year: int) -> int:
    """A budget year needs its own model year and the one before (the base year)."""
    if year not in params.ar or year - 1 not in params.ar:
        years = ", ".join(map(str, sorted(params.ar)))
        raise BatchUsageError(
            f"Budget för {year} kräver modellåren {year - 1} och {year} i params/modell (finns: {years})"
        )
    return year


# =========================================================================== plans
def _check_selection(params, vu_ids: Iterable[str] | None, namnd: str | None) -> list[str] | None:
    """The selected VU ids (None: all), checked against the registry and ``namnd``."""
    known = [v.id for v in params.registry.verksamhetsuppdrag]
    selected: list[str] | None = None
    if vu_ids:
        selected = list(dict.fromkeys(vu_ids))
        separate = {v.id for v in params.registry.separata}
        for v in selected:
            if v in separate:
                raise BatchUsageError(f"{v} regleras separat och har ingen egen VU-rapport; den redovisas i översikterna")
            if v not in known:
                raise BatchUsageError(f"Okänt verksamhetsuppdrag '{v}' (kända: {', '.join(known)})")
        if namnd:
            other = [v for v in selected if params.vu(v).namnd != namnd]
            if other:
                raise BatchUsageError(f"{', '.join(other)} hör inte till {namnd} (--namnd {namnd})")
    if namnd and namnd not in params.registry.namnder:
        raise BatchUsageError(f"Okänd nämnd '{namnd}' (kända: {', '.join(params.registry.namnder)})")
    return selected


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

    Raises
    ------
    BatchUsageError
        An unknown or separately regulated VU, an unknown nämnd, or a VU of
        another nämnd than ``namnd``.
    """
    from vu_lib.model.compensation import model_version

    nbs = notebooks or NotebookSet()
    selected = _check_selection(params, vu_ids, namnd)
    year, month = int(period[:4]), int(period[5:])
    version = model_version(params, year, month)
    namnder = params.registry.namnder
    jobs: list[Job] = []
    for i, v in enumerate(params.registry.verksamhetsuppdrag):
        if (selected is not None and v.id not in selected) or (namnd and v.namnd != namnd):
            continue
        jobs.append(Job(v.id, "vu", nbs.vu_rapport, {"vu": v.id, "period": period}, v.namn, v.namnd,
                        order=_KIND_ORDER["vu"] + i, subject=v.id, modellversion=version))
    scopes = [namnd] if namnd else list(OVERVIEW_SCOPES) if selected is None else []
    for s in scopes:
        title = f"Översikt {namnder[s]}" if s in namnder else "Översikt Leanlink, alla verksamhetsuppdrag"
        jobs.append(Job(s, "oversikt", nbs.oversikt, {"scope": s, "period": period}, title,
                        s if s in namnder else None, order=_KIND_ORDER["oversikt"] + OVERVIEW_SCOPES.index(s),
                        subject=namnder.get(s, "Leanlink"), modellversion=version))
    if selected is None and not namnd:
        jobs.append(Job("modell", "modell", nbs.modell, {"year": year}, f"Ersättningsmodellen {year}",
                        order=_KIND_ORDER["modell"], subject="Ersättningsmodellen", modellversion=version))
    return jobs


def plan_budget(params, year: int, *, notebooks: NotebookSet | None = None) -> list[Job]:
    """The single job of ``vu budget <year>`` (the year checked by :func:`validate_budget_year`)."""
    nbs = notebooks or NotebookSet()
    validate_budget_year(params, year)
    return [Job("budget", "budget", nbs.budget, {"year": year}, f"Budgetförslag {year}", order=_KIND_ORDER["budget"],
                subject="Budget", modellversion=params.modellar(year).modellversion)]


# =========================================================================== notebook inspection
def read_notebook(path: Path) -> dict:
    """A notebook file's JSON as a dict (no nbformat, no validation).

    Raises
    ------
    OSError, ValueError
        The file cannot be read or is not JSON.
    """
    return json.loads(Path(path).read_text(encoding="utf-8"))


def code_cells(nb: dict) -> Iterator[tuple[dict, str]]:
    """``(cell, source text)`` of each code cell of a notebook's JSON, in order."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            src = cell.get("source", "")
            yield cell, "".join(src) if isinstance(src, list) else src


# =========================================================================== extra parameters
def parse_parameter_value(value: str) -> Any:
    """Parse a ``-p NAME VALUE`` value the way papermill's CLI does.

    ``'True'``/``'False'`` give booleans, ``'None'`` gives None, anything
    ``int()`` accepts an int, anything ``float()`` accepts a float, and all
    else stays a string (so ``'2026-08'`` stays ``'2026-08'``).
    """
    constants = {"True": True, "False": False, "None": None}
    if value in constants:
        return constants[value]
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def declared_parameters(nb_path: Path) -> set[str] | None:
    """Names assigned in the notebook's cell tagged ``parameters``.

    Returns None when the notebook has no parameters cell, or one that does not
    parse (papermill then injects at the top, and any name is accepted).

    Raises
    ------
    VuError
        The notebook cannot be read.
    """
    try:
        nb = read_notebook(nb_path)
    except (OSError, ValueError) as e:
        raise VuError(f"Notebooken {nb_path} kan inte läsas: {e}") from None
    for cell, src in code_cells(nb):
        if "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        try:
            tree = ast.parse(src)
        except SyntaxError:
            return None
        names: set[str] = set()
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            for t in targets:
                names.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
        return names
    return None


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
