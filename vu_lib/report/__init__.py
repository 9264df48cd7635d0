"""Section builders for the report notebooks: small functions returning displayable objects.

The notebooks (``notebooks/*.ipynb``) are thin: every code cell calls one
function here with a :class:`Context` and displays what it returns, a
Markdown block of narrative (from :mod:`vu_lib.narrative`), a
:class:`~vu_lib.tables.Table` or a :class:`~vu_lib.charts.Chart`, or a
:class:`Section` holding several of them in order. Nothing is calculated
here beyond selecting and labelling: the figures come from the model
modules (:mod:`~vu_lib.compensation`, :mod:`~vu_lib.transfers`,
:mod:`~vu_lib.results`, :mod:`~vu_lib.forecast`, :mod:`~vu_lib.variance`,
:mod:`~vu_lib.nyckeltal`, :mod:`~vu_lib.schablon`, :mod:`~vu_lib.budget`).

Contexts (one per notebook; load the data once)::

    ctx = report.vu_context(vu="AN-VB", period="", store="")     # vu_rapport
    ctx = report.overview_context(scope="Leanlink", period="", store="")  # oversikt
    ctx = report.model_context(year=2026, store="")               # modell
    ctx = report.budget_context(year=2027, store="")              # budget

``period = ''`` means the latest delår in the data
(:func:`vu_lib.periods.latest_delar`); ``store = ''`` the default store, and
with no store the embedded sample (:func:`vu_lib.data.load_dataset`).

Every builder returns an object with ``_repr_mimebundle_`` (or a
:class:`Section` that displays its parts one by one), so a cell ends with the
call and shows the result; hidden code cells lose nothing a reader needs.

This package's top level is the section facade only; its names are loaded on first
use, so ``from vu_lib.report import fmt`` stays light. The implementation is in one
module per concern: :mod:`context` (display objects, contexts, shared helpers),
:mod:`sections_vu` and :mod:`sections_nyckeltal` (the VU report),
:mod:`sections_oversikt` (the overview), :mod:`sections_modell` (the model document),
:mod:`sections_budget` (the budget proposal); under them :mod:`narrative` (Swedish
text), :mod:`tables`, :mod:`charts` and :mod:`fmt` (numbers, dates and units in Swedish,
locale data in ``locale/sv.yaml``).

Enters: a :class:`~vu_lib.model.model.Model` (through a :class:`Context`).
Leaves: displayable objects (Markdown, :class:`~vu_lib.report.tables.Table`,
:class:`~vu_lib.report.charts.Chart`). May import core, data and model, never publish.
"""
from __future__ import annotations

_EXPORTS = {
    'husstil': 'charts',
    'kolada': 'sections_kolada',
    'oversikt_kolada': 'sections_kolada',
    'budget_forandringar': 'sections_budget',
    'budget_kalender': 'sections_budget',
    'budget_per_vu': 'sections_budget',
    'budget_priser': 'sections_budget',
    'budget_schablon': 'sections_budget',
    'budget_titel': 'sections_budget',
    'budget_totaler': 'sections_budget',
    'Context': 'context',
    'Section': 'context',
    'budget_context': 'context',
    'model_context': 'context',
    'overview_context': 'context',
    'vu_context': 'context',
    'modell_avvikelse': 'sections_modell',
    'modell_budgetprocess': 'sections_modell',
    'modell_fast': 'sections_modell',
    'modell_index': 'sections_modell',
    'modell_nyckeltal': 'sections_modell',
    'modell_overforing': 'sections_modell',
    'modell_rorlig': 'sections_modell',
    'modell_schablon': 'sections_modell',
    'modell_titel': 'sections_modell',
    'modell_versioner': 'sections_modell',
    'modell_vu': 'sections_modell',
    'nyckeltal': 'sections_nyckeltal',
    'oversikt_diagram': 'sections_oversikt',
    'oversikt_ekb': 'sections_oversikt',
    'oversikt_medel': 'sections_oversikt',
    'oversikt_netting': 'sections_oversikt',
    'oversikt_nyckeltal': 'sections_oversikt',
    'oversikt_overforingar': 'sections_oversikt',
    'oversikt_per_vu': 'sections_oversikt',
    'oversikt_titel': 'sections_oversikt',
    'avvikelse': 'sections_vu',
    'ersattning': 'sections_vu',
    'ersattningsbrygga': 'sections_vu',
    'medel': 'sections_vu',
    'niva3': 'sections_vu',
    'overforingar': 'sections_vu',
    'prognos': 'sections_vu',
    'resultat': 'sections_vu',
    'rorliga_priser': 'sections_vu',
    'schablon': 'sections_vu',
    'titel': 'sections_vu',
    'sammanfattning': 'summary',
    'oversikt_sammanfattning': 'summary',
    'om_rapporten': 'summary',
    'bilaga_overforingar': 'sections_vu',
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = sorted(_EXPORTS)
