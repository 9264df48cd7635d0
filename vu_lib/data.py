"""Data loading: the store (or the embedded sample) as pandas frames for the model.

:func:`load_dataset` returns a :class:`Dataset`, the one shape every model
function takes. Frames are aggregated in DuckDB, so a store of millions of
ledger rows arrives as a few thousand summary rows.

Frames and columns (``period`` is ``'YYYY-MM'``; ``ar`` and ``manad`` ints):

``ledger``
    period, ar, manad, kodtyp ('ID' | 'KOMPLEMENT'), vu, kluster, enhet (the
    unit's id_kod, also for KOMPLEMENT rows), kontoslag, belopp (float kr).
    Summed over konto and verifikation. ``belopp`` has its *natural* sign:
    revenue (ersattning, medel, ovrig_intakt) positive, cost (personal,
    ovrig_kostnad) positive, SoF's overforing/overforing_medel positive.
``volymer``
    period, ar, manad, vu, kluster, enhet ('' when the row is for the whole
    cluster), matt, utforare ('' when not split), varde (float).
``bemanning``
    period, ar, manad, vu, kluster, enhet, utbildningsniva, arsarbetare (float).
``medel``
    id, period, ar, manad, vu, typ, belopp (float kr), beskrivning,
    aterrapporteringskrav, aterrapportering_senast ('' or 'YYYY-MM-DD').
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Dataset:
    """Input data for the model, with its provenance.

    Attributes
    ----------
    ledger, volymer, bemanning, medel : pandas.DataFrame
        See the module docstring for the columns.
    fingerprint : str
        16 hex characters identifying the content of the data (changes when any
        loaded row changes; stable across machines).
    source : str
        Where the data came from: ``'lager: data/vu.duckdb'`` or ``'exempeldata'``.
    """

    ledger: pd.DataFrame
    volymer: pd.DataFrame
    bemanning: pd.DataFrame
    medel: pd.DataFrame
    fingerprint: str
    source: str
    loads: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def perioder(self) -> list[str]:
        """Sorted months present in the ledger."""
        return sorted(self.ledger["period"].unique().tolist())

    @property
    def senaste_period(self) -> str:
        """The latest month with ledger data."""
        return self.perioder[-1]
