"""vu: economic follow-up of the nine verksamhetsuppdrag (SoF -> Leanlink).

Public entry points::

    from vu_lib import load_params, load_dataset
    params = load_params()          # params/ validated
    data = load_dataset()           # the store, or the embedded sample when it is empty
"""
from __future__ import annotations

__version__ = "0.1.0"

from .params import load_params  # noqa: E402


def load_dataset(*args, **kwargs):
    """See :func:`vu_lib.data.load_dataset`."""
    from .data import load_dataset as _ld

    return _ld(*args, **kwargs)


__all__ = ["load_params", "load_dataset", "__version__"]
