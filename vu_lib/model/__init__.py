"""Model: the economic model of ``../shared/docs/model.md`` as functions over (params, dataset).

Enters: :class:`~vu_lib.core.params.Params` and a :class:`~vu_lib.data.dataset.Dataset`.
Leaves: pandas frames (results, forecasts, variance, key figures, transfers, budget),
each stamped with its :class:`~vu_lib.model.trace.Trace`.

Where each rule lives: :mod:`periods` (delår, intervals), :mod:`index` (yearly index),
:mod:`compensation` (fixed and variable compensation, price annexes), :mod:`schablon`
(standard cost per FTE), :mod:`transfers` (monthly transfers and their reconciliation),
:mod:`ledger` (the month grid every table is built from), :mod:`results` (results, netting,
changes of funds), :mod:`forecast`, :mod:`variance`, :mod:`nyckeltal` (key figures),
:mod:`budget` (next year's proposal), :mod:`trace` (provenance) and :mod:`model`
(the :class:`~vu_lib.model.model.Model` object that owns every derived table).
May import :mod:`vu_lib.core` and :mod:`vu_lib.data`.
"""
