"""Kommunstyrelsens weighted price index and chains of it.

The index of year ``Y`` is set by KS for every administration:

.. math:: i_Y = w \\cdot lon_Y + (1 - w) \\cdot pris_Y

with wage share ``w`` (``vikt_lon``), or the KS figure ``ks_index`` given
directly. Arithmetic is in :class:`decimal.Decimal` so that the parameters as
written (``0.031``) are used exactly.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from vu_lib.core.params import Params


def D(x) -> Decimal:
    """Exact decimal of a parameter value (floats via their shortest repr)."""
    return x if isinstance(x, Decimal) else Decimal(str(x))


def round_kr(x: Decimal) -> int:
    """Round to whole kronor, half away from zero (as in the ledger)."""
    return int(D(x).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def round_ore(x: Decimal) -> Decimal:
    """Round to öre (two decimals), half away from zero."""
    return D(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def index_for(params: Params, year: int) -> Decimal:
    """The index ``i_Y`` of ``year`` as a share (``Decimal('0.0272')`` for 2,72 %).

    ``ks_index`` wins when given; otherwise ``w * lon + (1 - w) * pris``.
    """
    ix = params.modellar(year).index
    if ix.ks_index is not None:
        return D(ix.ks_index)
    w = D(ix.vikt_lon)
    return w * D(ix.lon) + (1 - w) * D(ix.pris)


def index_chain(params: Params, from_year: int, to_year: int) -> Decimal:
    """Cumulative index factor from ``from_year`` prices to ``to_year`` prices.

    .. math:: \\prod_{Y = from+1}^{to} (1 + i_Y)

    ``index_chain(p, 2023, 2026) = (1+i_2024)(1+i_2025)(1+i_2026)``; 1 for the
    same year; the inverse factor when ``to_year < from_year``.
    """
    if to_year == from_year:
        return Decimal(1)
    if to_year < from_year:
        return 1 / index_chain(params, to_year, from_year)
    f = Decimal(1)
    for y in range(from_year + 1, to_year + 1):
        f *= 1 + index_for(params, y)
    return f
