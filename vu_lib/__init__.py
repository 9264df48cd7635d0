"""vu: economic follow-up of the nine verksamhetsuppdrag (SoF -> Leanlink).

The pipeline, one package per stage (imports run one way, left to right)::

    core  ->  data  ->  model  ->  report  ->  publish  ->  cli
    params    exports   the economic   sections,   notebooks run by papermill,
    errors    store     model's rules  tables,     rendered to HTML/PDF/xlsx
              Dataset   and tables     charts      under reports/<period>/

For analysts, one entry point::

    import vu_lib
    m = vu_lib.open()                 # the store (or the embedded sample), latest delår
    m.results(vu="AN-VB")             # a pandas DataFrame, months as numbers
    m.prognos(vu="AN-VB")

See :func:`open` and :class:`vu_lib.model.model.Model`; ``docs/api.md`` lists the
public API. ``load_params`` and ``load_dataset`` remain for scripts.
"""
from __future__ import annotations

__version__ = "0.2.0"

from vu_lib import _compat  # noqa: E402  (old dotted names, e.g. vu_lib.results)
from vu_lib.core.params import load_params  # noqa: E402

_compat.install()


def load_dataset(*args, **kwargs):
    """See :func:`vu_lib.data.dataset.load_dataset`."""
    from vu_lib.data.dataset import load_dataset as _ld

    return _ld(*args, **kwargs)


def open(store=None, period=None, *, params=None):  # noqa: A001 - the analyst's entry point
    """Open the model over a store: see :func:`vu_lib.model.model.open_model`."""
    from vu_lib.model.model import open_model

    return open_model(store=store, period=period, params=params)


__all__ = ["open", "load_params", "load_dataset", "__version__"]
