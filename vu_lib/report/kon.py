"""Women and men beside the total in a key-figure table (the gender split of person counts).

:func:`gender_columns` turns the ``kon`` rows of a key-figure frame
(:func:`vu_lib.model.nyckeltal.nyckeltal` with ``kon=True``: ``''`` the total,
``'K'`` women, ``'M'`` men) into two columns next to the total, ``kvinnor`` and
``man``, as text: the value in the table's number format, ``'<5'`` where the
count is masked (below the small-count threshold, or masked so that it cannot
be derived from the total and the other gender), ``–`` where the data has no
split of a person count, empty for a row that counts no persons. Nothing is computed here; the masking is the model's.
"""
from __future__ import annotations

import pandas as pd

from vu_lib.report import fmt

#: Columns that identify a row of a key-figure frame apart from the gender.
KEY = ["nyckeltal_id", "vu", "kluster", "enhet", "del", "utforare", "avser", "ar", "manad"]
NOTE = ("Kvinnor och män: där underlaget delar antalet per kön. ”<5” betyder maskerat litet antal; "
        "då maskeras också det andra könet, så att ett maskerat antal inte kan räknas fram ur totalen.")


def gender_columns(t: pd.DataFrame, number_format: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """``(frame of the totals with 'kvinnor' and 'man', headers to add)``; no headers when there is no split."""
    if "kon" not in t.columns:
        return t, {}
    totals = t[t["kon"] == ""].copy()
    split = t[t["kon"].isin(["K", "M"])]
    if split.empty:
        return totals, {}
    f = fmt.formatter(number_format)
    for kon, col in (("K", "kvinnor"), ("M", "man")):
        g = split[split["kon"] == kon].set_index(KEY)
        texts = {k: (r.maskerad_text if r.maskerad else f(r.varde)) for k, r in zip(g.index, g.itertuples(index=False))}
        totals[col] = [texts.get(k, fmt.num(None) if person else "")
                       for k, person in zip(zip(*(totals[c] for c in KEY)), totals["personantal"])]
    return totals, {"kvinnor": "Kvinnor", "man": "Män"}
