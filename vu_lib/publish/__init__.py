"""Publish: notebooks executed per VU and period, rendered and written to ``reports/``.

Enters: the notebooks in ``notebooks/``, a period and the store.
:mod:`plan` decides the jobs, :mod:`cache` keys them by content, :mod:`execute`,
:mod:`kernels` and :mod:`zygote` run them with papermill in warm worker processes,
:mod:`render` turns executed notebooks into HTML and PDF, :mod:`outputs` writes xlsx,
``index.html`` and the run log atomically, and :mod:`batch` ties them together
(``vu run``, ``vu budget``).
Leaves: ``reports/<period>/``. May import every other stage.
"""
