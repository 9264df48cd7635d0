"""The ``include`` / ``exclude`` arguments of IPython's ``_repr_mimebundle_``, for the display objects.

:class:`~vu_lib.tables.Table` and :class:`~vu_lib.charts.Chart` build their
full bundle and let :func:`select` keep the mime types the caller asked for.
"""
from __future__ import annotations

from typing import Any, Container


def select(bundle: dict[str, Any], include: Container[str] | None = None,
           exclude: Container[str] | None = None) -> dict[str, Any]:
    """The entries of ``bundle`` that ``include`` and ``exclude`` let through.

    Parameters
    ----------
    bundle : dict
        Mime type -> data.
    include : container of str, optional
        Keep only these mime types (empty or None: all).
    exclude : container of str, optional
        Then drop these mime types.

    Returns
    -------
    dict
        A new dict when anything is filtered, else ``bundle`` itself.
    """
    if include:
        bundle = {k: v for k, v in bundle.items() if k in include}
    if exclude:
        bundle = {k: v for k, v in bundle.items() if k not in exclude}
    return bundle
