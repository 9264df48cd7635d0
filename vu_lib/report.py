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

This module is the public surface only. The implementation is in private
modules, one concern each: ``_report_common`` (display objects, contexts,
shared helpers), ``_report_vu`` and ``_report_nyckeltal`` (the VU report),
``_report_oversikt`` (the overview), ``_report_modell`` (the model document)
and ``_report_budget`` (the budget proposal).
"""
from __future__ import annotations

from ._report_budget import (
    budget_forandringar,
    budget_kalender,
    budget_per_vu,
    budget_priser,
    budget_schablon,
    budget_titel,
    budget_totaler,
)
from ._report_common import Context, Section, budget_context, model_context, overview_context, vu_context
from ._report_modell import (
    modell_budgetprocess,
    modell_fast,
    modell_index,
    modell_nyckeltal,
    modell_overforing,
    modell_rorlig,
    modell_schablon,
    modell_titel,
    modell_versioner,
    modell_vu,
)
from ._report_nyckeltal import nyckeltal
from ._report_oversikt import (
    oversikt_diagram,
    oversikt_ekb,
    oversikt_medel,
    oversikt_netting,
    oversikt_nyckeltal,
    oversikt_overforingar,
    oversikt_per_vu,
    oversikt_titel,
)
from ._report_vu import (
    avvikelse,
    ersattning,
    ersattningsbrygga,
    medel,
    niva3,
    overforingar,
    prognos,
    resultat,
    rorliga_priser,
    schablon,
    titel,
)

__all__ = [
    # contexts and display
    "Context", "Section", "vu_context", "overview_context", "model_context", "budget_context",
    # vu_rapport
    "titel", "ersattning", "ersattningsbrygga", "rorliga_priser", "overforingar", "resultat", "prognos",
    "avvikelse", "nyckeltal", "medel", "schablon", "niva3",
    # oversikt
    "oversikt_titel", "oversikt_per_vu", "oversikt_netting", "oversikt_ekb", "oversikt_diagram",
    "oversikt_nyckeltal", "oversikt_overforingar", "oversikt_medel",
    # modell
    "modell_titel", "modell_vu", "modell_index", "modell_fast", "modell_rorlig", "modell_overforing",
    "modell_schablon", "modell_nyckeltal", "modell_versioner", "modell_budgetprocess",
    # budget
    "budget_titel", "budget_per_vu", "budget_forandringar", "budget_priser", "budget_schablon",
    "budget_totaler", "budget_kalender",
]
