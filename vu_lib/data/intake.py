"""Which reader reads a file: the contract's (CSV, xlsx), SIE, or an import profile.

:func:`read_any` is what :func:`vu_lib.data.store.validate_files` reads with:

* ``.se``, ``.si``, ``.sie``: :func:`vu_lib.data.sie.read_sie` (a ledger file
  and possibly a budget file);
* a CSV file with ``profil``: through that profile
  (:mod:`vu_lib.data.profiles`); without, through the one profile matching its
  header when the header is not the contract's;
* everything else: :func:`vu_lib.data.readers.read_file`.

Kept apart from the readers so that the imports run one way
(intake -> readers, sie, profiles -> readers).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterable

from vu_lib.core.exceptions import InputError, Problem
from vu_lib.core.params import Params, load_params

SIE_SUFFIXES = (".se", ".si", ".sie")


def read_any(paths: Iterable[str | Path], *, params: Params | None = None, today: dt.date | None = None,
             profil: str | None = None) -> tuple[list, list[Problem]]:
    """Read several files of any supported form; ``(parsed files, problems)`` like ``readers.read_files``."""
    from vu_lib.data import profiles
    from vu_lib.data.readers import CSV_SUFFIXES, read_file
    from vu_lib.data.sie import read_sie

    params = params if params is not None else load_params()
    parsed, problems = [], []
    for p in paths:
        path = Path(p)
        try:
            suffix = path.suffix.lower()
            if suffix in SIE_SUFFIXES:
                parsed.extend(read_sie(path, params=params, today=today))
            elif suffix in CSV_SUFFIXES and path.is_file():
                found = ((profil, profiles.load_profile(profil, params)) if profil is not None
                         else profiles.detect(path, params))
                if found is None:
                    parsed.append(read_file(path, params=params, today=today))
                else:
                    parsed.append(profiles.read_with_profile(path, *found, params=params, today=today))
            else:
                parsed.append(read_file(path, params=params, today=today))
        except InputError as e:
            problems.extend(e.problems)
    return parsed, problems
