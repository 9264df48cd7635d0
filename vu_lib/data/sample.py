"""A deterministic, internally consistent sample of the export files vu reads.

:func:`write_sample` writes, for all nine VU and EKB, January 2023 to October
2026, the four kinds of file of the data contract (:mod:`vu_lib.contract`) in
their own Swedish CSV form (``;`` separator, decimal comma, CRLF line ends,
periods ``YYYY-MM``)::

    huvudbok_<year>.csv    Windows-1252, as finance systems export
    volymer_<year>.csv     UTF-8 with BOM
    bemanning_<year>.csv   UTF-8 with BOM
    medel.csv              UTF-8 with BOM

The output is the same bytes on every run and every machine: one seeded numpy
``Generator`` per topic (seeded from :data:`SEED` and a CRC-32 of the topic
name), only its uniform doubles are used (normal noise is the Irwin-Hall sum of
twelve uniforms), no clock, no transcendental functions, money in integer öre
and numbers formatted here, not by ``repr``. Bump :data:`SAMPLE_VERSION`
whenever the output changes.

How the numbers hang together
-----------------------------
* **Volumes** (``volymer``) per month with seasonality, modest trends and noise:
  Områdesansvar hours per cluster split Leanlink / private (more private
  hemtjänst in summer, fewer rehab hours in July and December) with Leanlink's
  budgeted hours; AN-VB places (somatik 108; demens 96, 102 from 2024; korttid
  40, 36 from 2026), available and occupied days and budgeted occupied days;
  SON-BO, EKB places and days; SON open planned hours per cluster and performed
  boendestöd hours; AN-OPPNA day-activity places, users, opening days and hours
  per unit (Dagverksamhet Berga has 3-4 users in several months, below the
  small-count threshold 5), Demenscenter's utredningar/handledningar per
  utförare, visits per unit, and the individual anhörigstöd hours on
  Anhörigcenter. Gender (``kon``): day-activity users are delivered as K and M
  rows only (Berga has one or two men, so its split is masked), Seniormottagningen's
  unique visits as a total row plus K and M rows.
* **The transfer** SoF → Leanlink of VU ``v`` and month ``m`` is computed with
  the model's own functions: ``compensation.monthly_fixed(params, v, Y)[m-1]``
  plus, per service ``s`` of ``compensation.services_of``,
  ``compensation.variable_amount(q, compensation.rate(params, v, s, Y, m))``
  with ``q`` Leanlink's volume of ``compensation.service_info`` (matt, kluster),
  plus the changes of funds (``medel``) paid that month.
* **Ledger, ID level (Leanlink)**: per unit and month the cost accounts 5011
  månadslöner, 5051 timlöner och vikarier, 5411 PO-pålägg, 5811 förändring
  semesterlöneskuld (negative in July), 6110 lokalhyra (constant within a
  year), 4410 material, 4420 livsmedel, 6310 leasing fordon, 7110 telefoni och
  IT, 7910 interna tjänster, each as 2-4 verifikation rows. Revenue: the
  transfer's fixed part on 3811 and variable part on 3812, changes of funds on
  3851, all credit (negative), spread over the VU's units in proportion to the
  unit's cost that month, exact to the öre; kostavgifter (3411) for AN-VB,
  hyresintäkter (3611) for SON-BO-VUX and occasional övriga intäkter (3911).
* **Ledger, KOMPLEMENT level (SoF)**: the same amounts, unit by unit, as
  debit on 4611 (fixed), 4612 (variable) and 4651 (changes of funds) on the
  units' komplement codes.
* **Costs** per VU and year are set so that the result
  ``ersättning + medel + övriga intäkter − kostnad`` equals
  ``−avvikelse × ersättning`` with the deviations in :data:`COST_DEVIATION`
  (within ±1.5 % for all VU except AN-VB, whose costs run about 3 % above its
  compensation in 2025 and 2026),
  the spending of changes of funds added on top. Costs are seasonal
  (semestertillägg in June, semesterlöneskuld released in July, year-end
  costs in December) and drift within the year (:data:`COST_DRIFT`), so a
  full-year forecast from a delår has something to say.
* **Staffing** (``bemanning``): årsarbetare per unit and education level such
  that personnel cost ≈ FTE × (baskostnad / 12) × faktor × (1 + PO-pålägg)
  with the year's schablon parameters (and the month's cost season).

Deliberate anomalies (the reports are expected to show them)
------------------------------------------------------------
Reconciliation of SoF's bookings (KOMPLEMENT) against the computed transfer:

1. **Timing difference**: the variable part of SON-OPPNA-VUX for **2026-06**
   is booked by SoF in **2026-07** (text "... bokförd i juli"). 2026-06 shows
   SoF booked less than computed by that amount, 2026-07 as much more; the
   two cancel over the year.
2. **Amount difference**: in **2025-11** SoF booked **12 000,00 kr less** for
   **AN-OMR-CN** (on the fixed-part row of Hemtjänst Innerstaden, 73110).

Everything else reconciles to the öre. Other features worth knowing: AN-VB
runs a clear deficit in 2025 and 2026; changes of funds (:data:`MEDEL`)
include a repayment (negative amount) in 2025-02 and a takeover for
SON-BO-VUX paid in six parts 2025-09 to 2026-02 (LSS gruppbostad places rise
from 12 to 16 at the same time); Dagverksamhet Berga has fewer than five
users in several months.

Note
----
The sample is built for the project's ``params/`` (the registry's units and
the model years 2023-2026). With another parameter directory, units unknown
here get neutral defaults.
"""
from __future__ import annotations

import calendar
import csv
import math
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple, Sequence

from vu_lib.model import compensation
from vu_lib.data.contract import BEMANNING, HUVUDBOK, MEDEL as MEDEL_KIND, VOLYMER
from vu_lib.core.params import Params, Verksamhetsuppdrag, load_params

__all__ = ["SAMPLE_VERSION", "SEED", "FIRST_MONTH", "LAST_MONTH", "MEDEL", "COST_DEVIATION", "write_sample"]

#: Version of the sample's content; bump when the output changes.
SAMPLE_VERSION = "1.1"

#: Base seed (Linköping's municipality code).
SEED = 580

FIRST_MONTH = (2023, 1)
LAST_MONTH = (2026, 10)

MONTH_NAMES = (
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)

#: Reconciliation anomalies on SoF's side (see the module docstring).
TIMING_DIFFERENCE = {"vu": "SON-OPPNA-VUX", "period": "2026-06", "booked": "2026-07"}
AMOUNT_DIFFERENCE = {"vu": "AN-OMR-CN", "period": "2025-11", "kod": "73110", "ore": -1_200_000}

# --------------------------------------------------------------------------- changes of funds
class MedelRow(NamedTuple):
    """One payment of a change of funds (one row of ``medel.csv``).

    ``forbrukat`` (kr) and ``manader`` are not written: they say how much of
    the payment Leanlink spends and over how many months from the payment
    month on, which shapes the costs.
    """

    id: str
    period: str
    vu: str
    typ: str
    belopp: int
    beskrivning: str
    aterrapporteringskrav: str
    aterrapportering_senast: str
    forbrukat: int
    manader: int


_TAKEOVER_MONTHS = ("2025-09", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02")

#: Changes of funds outside the budget process, one row per payment.
MEDEL: tuple[MedelRow, ...] = (
    MedelRow("MED-2024-001", "2024-03", "AN-VB", "statsbidrag", 1_450_000,
             "Statsbidrag för ökad bemanning och kompetens i äldreomsorgen",
             "Redovisning per kvartal av använda medel och antal årsarbetare som finansierats",
             "2025-01-31", 1_270_000, 10),
    MedelRow("MED-2025-001", "2025-02", "AN-VB", "statsbidrag", -180_000,
             "Återbetalning av ej förbrukade medel från statsbidraget 2024 (MED-2024-001)",
             "Ingen ytterligare återrapportering", "", 0, 0),
    *(
        MedelRow(f"MED-2025-{k + 2:03d}", p, "SON-BO-VUX", "oforutsedd_handelse", 520_000,
                 "Övertagande av fyra platser i LSS gruppbostad (Gruppbostad Lambohov) från extern utförare, "
                 f"delbetalning {k + 1} av {len(_TAKEOVER_MONTHS)}",
                 "Månadsvis redovisning av kostnader för övertagandet och beläggning", "2026-04-30", 520_000, 1)
        for k, p in enumerate(_TAKEOVER_MONTHS)
    ),
    MedelRow("MED-2026-001", "2026-02", "AN-OPPNA", "riktad_satsning", 800_000,
             "Riktad satsning mot ofrivillig ensamhet: fler aktiviteter på Hagdahlska aktivitetshuset och inom Kultur och fritid",
             "Redovisning av genomförda aktiviteter och antal besökare", "2027-01-31", 800_000, 11),
    MedelRow("MED-2026-002", "2026-05", "SON-OPPNA-BUF", "statsbidrag", 1_200_000,
             "Statsbidrag för stärkt föräldraskapsstöd",
             "Redovisning av insatser och antal familjer till SoF och Socialstyrelsen", "2027-03-31", 1_200_000, 8),
)

# --------------------------------------------------------------------------- results
#: Cost above compensation as a share of the ordinary compensation, per year
#: 2023-2026 (positive: deficit). Result = −deviation × compensation.
COST_DEVIATION: dict[str, tuple[float, float, float, float]] = {
    "AN-OMR-NV": (-0.006, 0.004, -0.009, 0.007),
    "AN-OMR-NO": (0.008, -0.005, 0.011, -0.004),
    "AN-OMR-CN": (-0.011, 0.006, 0.004, 0.012),
    "AN-OPPNA": (0.003, -0.012, -0.007, -0.010),
    "AN-VB": (0.005, 0.009, 0.024, 0.027),
    "SON-OPPNA-BUF": (-0.008, -0.004, 0.006, -0.013),
    "SON-OPPNA-VUX": (0.010, 0.007, -0.011, -0.006),
    "SON-BO-BU": (-0.004, 0.012, 0.009, -0.008),
    "SON-BO-VUX": (0.006, -0.009, -0.014, -0.012),
    "EKB": (-0.014, -0.010, 0.012, 0.014),
}

#: Drift of cost relative to compensation within each year 2023-2026: the
#: ratio moves linearly by this share from January to December.
COST_DRIFT: dict[str, tuple[float, float, float, float]] = {
    "AN-OMR-NV": (0.006, -0.004, 0.008, 0.010),
    "AN-OMR-NO": (-0.005, 0.006, 0.010, -0.006),
    "AN-OMR-CN": (0.004, 0.005, -0.006, 0.020),
    "AN-OPPNA": (0.000, -0.008, 0.004, -0.010),
    "AN-VB": (0.004, 0.006, 0.025, 0.020),
    "SON-OPPNA-BUF": (-0.006, 0.004, 0.008, -0.012),
    "SON-OPPNA-VUX": (0.008, 0.000, -0.010, 0.006),
    "SON-BO-BU": (0.000, 0.010, 0.006, -0.006),
    "SON-BO-VUX": (0.004, -0.006, -0.020, -0.008),
    "EKB": (-0.010, 0.000, 0.012, 0.015),
}

#: Monthly cost season (sums to 12): semestertillägg in June, semesterlöneskuld
#: released in July, year-end costs in December.
COST_SEASON = (0.99, 0.97, 1.00, 0.99, 1.00, 1.04, 0.93, 1.01, 0.99, 1.00, 1.00, 1.08)
#: Share of wages booked as hourly wages and substitutes (5051), per month.
SUBSTITUTE_SHARE = (0.06, 0.06, 0.06, 0.06, 0.07, 0.09, 0.22, 0.13, 0.06, 0.06, 0.06, 0.08)
#: Share of wages booked as change of semesterlöneskuld (5811), per month.
VACATION_SHARE = (0.02, 0.02, 0.02, 0.02, 0.02, 0.01, -0.10, -0.03, 0.02, 0.02, 0.02, 0.03)

# --------------------------------------------------------------------------- units
#: Relative cost weight of each unit within its VU (default 1.0).
UNIT_WEIGHT: dict[str, float] = {
    "411110": 3.6, "411120": 3.1, "411130": 2.8, "411210": 2.3, "411310": 1.0,
    "412110": 3.3, "412120": 2.7, "412210": 2.0, "412310": 0.9,
    "413110": 3.5, "413120": 2.6, "413210": 2.1, "413310": 0.95,
    "414110": 6.5, "414120": 1.4, "414210": 9.0, "414220": 5.5, "414230": 7.0, "414240": 6.0,
    "414250": 4.0, "414260": 5.0, "414270": 4.5, "414310": 11.0,
    "415110": 5.6, "415120": 5.2, "415210": 5.0, "415220": 4.8, "415310": 4.4,
    "421110": 3.6, "421120": 2.75, "421210": 2.15, "421310": 4.5, "421410": 3.2, "421420": 4.3,
    "422110": 4.6, "422210": 2.85, "422310": 6.2, "422320": 5.65,
    "423110": 3.0, "423210": 3.4, "423220": 3.2,
    "424110": 2.4, "424210": 2.0, "424310": 2.6, "424320": 2.4, "424410": 2.8, "424510": 1.6,
    "424610": 1.8, "424710": 1.2,
    "429110": 1.0,
}

#: Step changes of a unit's weight from a month on (new or closed places).
UNIT_STEPS: tuple[tuple[str, str, float], ...] = (
    ("415220", "2024-01", 1.12),   # six new demens places at Vårdbostad Berga
    ("424410", "2024-01", 1.20),   # Servicebostad Ryd: four more flats
    ("424310", "2025-09", 1.55),   # takeover: four more places at Gruppbostad Lambohov
    ("415310", "2026-01", 0.92),   # four korttidsplatser closed
)

#: Cost structure per type of unit: personnel share, rent share, other accounts.
COST_MIX: dict[str, tuple[float, float, dict[str, float]]] = {
    "hemtjanst": (0.84, 0.04, {"6310": 0.04, "4410": 0.02, "7110": 0.02, "7910": 0.04}),
    "hsv": (0.82, 0.03, {"4410": 0.05, "6310": 0.03, "7110": 0.03, "7910": 0.04}),
    "rehab": (0.80, 0.04, {"4410": 0.06, "6310": 0.03, "7110": 0.03, "7910": 0.04}),
    "vb": (0.74, 0.13, {"4420": 0.05, "4410": 0.03, "7110": 0.01, "7910": 0.04}),
    "dag": (0.80, 0.07, {"4420": 0.04, "4410": 0.02, "6310": 0.03, "7910": 0.04}),
    "oppen": (0.85, 0.06, {"4410": 0.03, "7110": 0.02, "7910": 0.04}),
    "son_oppen": (0.85, 0.05, {"4410": 0.03, "6310": 0.02, "7110": 0.01, "7910": 0.04}),
    "son_dag": (0.82, 0.07, {"4410": 0.04, "4420": 0.02, "7110": 0.01, "7910": 0.04}),
    "son_bo": (0.78, 0.11, {"4420": 0.04, "4410": 0.02, "7110": 0.01, "7910": 0.04}),
}

#: Staffing mix (share of årsarbetare per education level) per type of unit.
STAFF_MIX: dict[str, dict[str, float]] = {
    "hemtjanst": {"vardbitrade": 0.28, "underskoterska": 0.68, "enhetschef": 0.04},
    "hsv": {"sjukskoterska": 0.82, "underskoterska": 0.13, "enhetschef": 0.05},
    "rehab": {"arbetsterapeut_fysioterapeut": 0.86, "underskoterska": 0.09, "enhetschef": 0.05},
    "vb": {"underskoterska": 0.70, "vardbitrade": 0.12, "sjukskoterska": 0.13,
           "arbetsterapeut_fysioterapeut": 0.02, "enhetschef": 0.03},
    "dag": {"underskoterska": 0.80, "arbetsterapeut_fysioterapeut": 0.10, "enhetschef": 0.10},
    "oppen": {"underskoterska": 0.50, "behandlingsassistent": 0.30, "socionom": 0.10, "enhetschef": 0.10},
    "son_oppen": {"behandlingsassistent": 0.60, "socionom": 0.32, "enhetschef": 0.08},
    "son_dag": {"behandlingsassistent": 0.55, "underskoterska": 0.37, "enhetschef": 0.08},
    "son_bo": {"behandlingsassistent": 0.55, "underskoterska": 0.35, "socionom": 0.05, "enhetschef": 0.05},
}

#: Staffing mix of individual units that differ from their type.
UNIT_STAFF_MIX: dict[str, dict[str, float]] = {
    "414210": {"sjukskoterska": 0.40, "arbetsterapeut_fysioterapeut": 0.30, "underskoterska": 0.20, "enhetschef": 0.10},
    "414220": {"underskoterska": 0.45, "behandlingsassistent": 0.45, "enhetschef": 0.10},
    "414230": {"sjukskoterska": 0.70, "underskoterska": 0.20, "enhetschef": 0.10},
    "414240": {"socionom": 0.60, "underskoterska": 0.30, "enhetschef": 0.10},
    "414250": {"behandlingsassistent": 0.65, "underskoterska": 0.25, "enhetschef": 0.10},
    "414260": {"vardbitrade": 0.90, "enhetschef": 0.10},
    "414270": {"arbetsterapeut_fysioterapeut": 0.30, "underskoterska": 0.60, "enhetschef": 0.10},
    "414310": {"sjukskoterska": 0.70, "underskoterska": 0.20, "enhetschef": 0.10},
}

ACCOUNT_TEXT: dict[str, str] = {
    "5011": "Månadslöner",
    "5051": "Timlöner och vikarier",
    "5411": "PO-pålägg",
    "5811": "Förändring semesterlöneskuld",
    "6110": "Lokalhyra",
    "4410": "Förbrukningsmaterial",
    "4420": "Livsmedel",
    "6310": "Leasing fordon",
    "7110": "Telefoni och IT",
    "7910": "Interna tjänster Leanlink",
    "3411": "Kostavgifter vårdboende",
    "3611": "Hyresintäkter boende",
    "3911": "Övriga intäkter",
}
COST_ACCOUNT_ORDER = ("5011", "5051", "5411", "5811", "6110", "4410", "4420", "6310", "7110", "7910")
SUPPLIER_TEXT: dict[str, tuple[str, ...]] = {
    "4410": ("Förbrukningsmaterial", "Hygienartiklar", "Kontorsmaterial", "Arbetskläder"),
    "4420": ("Livsmedel", "Livsmedel Martin & Servera", "Livsmedel Menigo"),
    "6310": ("Leasing fordon", "Drivmedel", "Fordonsservice"),
    "7110": ("Telefoni", "IT-tjänster", "Licenser"),
    "7910": ("Interna tjänster Leanlink", "Administrativt stöd", "Lokalvård intern"),
}


def _unit_type(vu: Verksamhetsuppdrag, kluster: str, kod: str) -> str:
    if vu.ersattning.form == "prisbilaga":
        return {"hemtjanst": "hemtjanst", "hemsjukvard": "hsv"}.get(kluster, "rehab")
    if vu.id == "AN-OPPNA":
        return {"dagverksamhet": "dag", "psykiatrisk_hsv": "hsv"}.get(kluster, "oppen")
    if vu.id == "AN-VB":
        return "vb"
    if vu.id.startswith("SON-OPPNA"):
        if kod == "421420":
            return "son_bo"
        return "son_dag" if kluster in ("dag_fritid", "fritidshem_korttid") else "son_oppen"
    return "son_bo"


# --------------------------------------------------------------------------- helpers
class _Rng:
    """A seeded numpy Generator of which only uniform doubles are used."""

    def __init__(self, *keys: str):
        import numpy as np  # here: the batch's cache path reads SAMPLE_VERSION without numpy

        self._g = np.random.default_rng([SEED, *(zlib.crc32(k.encode("utf-8")) for k in keys)])

    def uniform(self, lo: float = 0.0, hi: float = 1.0) -> float:
        return lo + (hi - lo) * float(self._g.random())

    def normal(self, sd: float = 1.0) -> float:
        """Approximately normal noise: Irwin-Hall sum of twelve uniforms."""
        s = 0.0
        for x in self._g.random(12).tolist():
            s += x
        return (s - 6.0) * sd

    def randint(self, lo: int, hi: int) -> int:
        """An integer in ``[lo, hi]``."""
        return lo + min(int(float(self._g.random()) * (hi - lo + 1)), hi - lo)

    def pick(self, items: Sequence):
        return items[self.randint(0, len(items) - 1)]


def _alloc(total: int, weights: Sequence[float]) -> list[int]:
    """Split the integer ``total`` in proportion to ``weights``, exactly.

    Largest-remainder method on integer weights (ties to the lower index), so
    the parts always sum to ``total``. Negative totals are split by magnitude.
    """
    if total < 0:
        return [-x for x in _alloc(-total, weights)]
    wsum = math.fsum(weights)
    if wsum <= 0:
        iw = [1] * len(weights)
    else:
        iw = [max(0, int(round(w / wsum * 2**40))) for w in weights]
    s = sum(iw)
    parts = [total * w // s for w in iw]
    rest = total - sum(parts)
    order = sorted(range(len(iw)), key=lambda i: (-(total * iw[i] % s), i))
    for i in order[:rest]:
        parts[i] += 1
    return parts


def _months() -> list[tuple[int, int]]:
    out = []
    y, m = FIRST_MONTH
    while (y, m) <= LAST_MONTH:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _period(y: int, m: int) -> str:
    return f"{y}-{m:02d}"


def _days(y: int, m: int) -> int:
    return calendar.monthrange(y, m)[1]


def _tenths(x: float) -> Decimal:
    """``x`` rounded to one decimal as an exact Decimal (``Decimal('18412.5')``)."""
    return Decimal(int(round(x * 10))).scaleb(-1)


def _ore_str(ore: int) -> str:
    sign = "-" if ore < 0 else ""
    a = abs(ore)
    return f"{sign}{a // 100},{a % 100:02d}"


def _num_str(v) -> str:
    if isinstance(v, Decimal):
        return format(v, "f").replace(".", ",")
    return str(int(v))


def _year_idx(y: int) -> int:
    return min(max(y - 2023, 0), 3)


# --------------------------------------------------------------------------- volumes
@dataclass
class _Volumes:
    rows: list[tuple[str, str, str, str, str, str, str, object]] = field(default_factory=list)
    keys: set[tuple[str, str, str, str, str, str, str]] = field(default_factory=set)
    #: Σ of Leanlink rows per (period, vu, kluster, matt)
    leanlink: dict[tuple[str, str, str, str], Decimal] = field(default_factory=dict)
    #: cost driver per (vu, kluster) and period (a level, normalised in _activity)
    driver: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)

    def add(self, period: str, vu: str, kluster: str, enhet: str, matt: str, utforare: str, value, kon: str = "") -> None:
        key = (period, vu, kluster, enhet, matt, utforare, kon)
        if key in self.keys:
            raise AssertionError(f"dubblerad volymrad {key}")
        self.keys.add(key)
        self.rows.append((*key, value))
        if utforare == "leanlink":
            k = (period, vu, kluster, matt)
            self.leanlink[k] = self.leanlink.get(k, Decimal(0)) + Decimal(value)

    def drive(self, vu: str, kluster: str, period: str, level: float) -> None:
        self.driver.setdefault((vu, kluster), {})[period] = level

    def leanlink_volume(self, vu: str, kluster: str, matt: str, period: str) -> Decimal:
        """``q``: Σ of Leanlink's rows of a measure and cluster in a month."""
        return self.leanlink.get((period, vu, kluster, matt), Decimal(0))


#: Områdesansvar: per cluster (Leanlink hours a month at start, private share, yearly growth of the need).
OMR_CFG: dict[str, dict[str, tuple[float, float, float]]] = {
    "AN-OMR-NV": {"hemtjanst": (19000, 0.36, 0.015), "hemsjukvard": (3600, 0.06, 0.030), "hemrehabilitering": (1500, 0.04, 0.020)},
    "AN-OMR-NO": {"hemtjanst": (16000, 0.41, 0.010), "hemsjukvard": (3100, 0.07, 0.028), "hemrehabilitering": (1300, 0.05, 0.020)},
    "AN-OMR-CN": {"hemtjanst": (17500, 0.33, 0.012), "hemsjukvard": (3300, 0.05, 0.032), "hemrehabilitering": (1400, 0.04, 0.018)},
}
OMR_NEED = {
    "hemtjanst": (1.02, 0.99, 1.00, 0.99, 0.99, 1.01, 1.03, 1.02, 0.99, 0.98, 0.99, 1.03),
    "hemsjukvard": (1.03, 1.01, 1.00, 0.99, 0.98, 0.98, 0.97, 0.98, 0.99, 1.00, 1.01, 1.04),
    "hemrehabilitering": (1.02, 1.02, 1.03, 1.01, 1.00, 0.95, 0.84, 0.93, 1.04, 1.04, 1.03, 0.94),
}
#: Extra private share in summer (hemtjänst).
OMR_PRIVATE_SUMMER = (0.0, 0.0, 0.0, 0.0, 0.0, 0.03, 0.05, 0.03, 0.0, 0.0, 0.0, 0.01)
MEAN_DAYS = 30.4375


def _volumes_omr(vol: _Volumes, vu_id: str, months) -> None:
    rng = _Rng("volymer", vu_id)
    cfg = OMR_CFG[vu_id]
    bias = {(k, y): 0.0 for k in cfg for y in range(2023, 2027)}
    for k in cfg:
        for y in range(2023, 2027):
            b = rng.uniform(0.005, 0.02)
            bias[(k, y)] = b if rng.uniform() < 0.5 else -b
    for y, m in months:
        p = _period(y, m)
        t = (y - 2023) * 12 + (m - 1)
        dayf = _days(y, m) / MEAN_DAYS
        for k, (ll0, share0, growth) in cfg.items():
            total0 = ll0 / (1 - share0)
            expected = total0 * (1 + growth * t / 12) * OMR_NEED[k][m - 1] * dayf
            total = expected * (1 + rng.normal(0.012))
            share = share0 + (OMR_PRIVATE_SUMMER[m - 1] if k == "hemtjanst" else 0.0) + rng.normal(0.006)
            ll = _tenths(total * (1 - share))
            pr = _tenths(total * share)
            budget = _tenths(expected * (1 - share0 - (OMR_PRIVATE_SUMMER[m - 1] * 0.8 if k == "hemtjanst" else 0.0))
                             * (1 + bias[(k, y)]))
            vol.add(p, vu_id, k, "", "utforda_timmar", "leanlink", ll)
            vol.add(p, vu_id, k, "", "utforda_timmar", "privat", pr)
            vol.add(p, vu_id, k, "", "budget_timmar", "", budget)
            vol.drive(vu_id, k, p, float(ll) / dayf)


def _occupancy_rows(vol: _Volumes, rng: _Rng, vu_id: str, kluster: str, p: str, days: int, places: int,
                    occ: float, sd: float, budget_occ: float | None, lo: float = 0.86, hi: float = 0.995) -> None:
    o = min(max(occ + rng.normal(sd), lo), hi)
    avail = places * days
    occupied = int(round(avail * o))
    vol.add(p, vu_id, kluster, "", "platser", "", places)
    vol.add(p, vu_id, kluster, "", "tillgangliga_dygn", "", avail)
    vol.add(p, vu_id, kluster, "", "belagda_dygn", "", occupied)
    if budget_occ is not None:
        vol.add(p, vu_id, kluster, "", "budget_belagda_dygn", "", int(round(avail * budget_occ)))
    vol.drive(vu_id, kluster, p, occupied / days)


def _volumes_vb(vol: _Volumes, months) -> None:
    rng = _Rng("volymer", "AN-VB")
    for y, m in months:
        p = _period(y, m)
        d = _days(y, m)
        places = {"somatik": 108, "demens": 96 if y < 2024 else 102, "korttid": 40 if y < 2026 else 36}
        fill = {(2024, 1): -0.03, (2024, 2): -0.02, (2024, 3): -0.01}.get((y, m), 0.0)
        summer = (0.0, 0.0, 0.0, 0.0, 0.0, 0.02, 0.04, 0.03, 0.0, 0.0, 0.0, 0.0)[m - 1]
        somatik_dip = -0.008 if y >= 2025 else 0.0
        _occupancy_rows(vol, rng, "AN-VB", "somatik", p, d, places["somatik"], 0.955 + somatik_dip, 0.008, 0.96)
        _occupancy_rows(vol, rng, "AN-VB", "demens", p, d, places["demens"], 0.972 + fill, 0.006, 0.97)
        _occupancy_rows(vol, rng, "AN-VB", "korttid", p, d, places["korttid"], 0.885 + summer, 0.012, 0.90)


#: Heldygn clusters: places per year 2023-2026 (or a function of the period), occupancy, noise.
BO_CFG: dict[str, dict[str, tuple]] = {
    "SON-BO-BU": {
        "stodboende": ((14, 14, 14, 14), 0.90, 0.03),
        "lss_boende": ((18, 18, 18, 18), 0.95, 0.015),
    },
    "SON-BO-VUX": {
        "socialpsykiatri": ((16, 16, 16, 16), 0.95, 0.015),
        "stodboende_missbruk": ((14, 14, 14, 14), 0.90, 0.03),
        "lss_gruppbostad": ((12, 12, 12, 16), 0.975, 0.01),
        "lss_servicebostad": ((20, 24, 24, 24), 0.96, 0.015),
        "lss_stodboende": ((15, 15, 15, 15), 0.93, 0.02),
        "lss_korttidshem": ((10, 10, 10, 10), 0.88, 0.025),
        "lss_boda": ((8, 8, 8, 8), 0.95, 0.02),
    },
    "EKB": {"ekb": ((12, 10, 8, 7), 0.88, 0.03)},
}


def _volumes_bo(vol: _Volumes, vu_id: str, months) -> None:
    rng = _Rng("volymer", vu_id)
    for y, m in months:
        p = _period(y, m)
        d = _days(y, m)
        for k, (places, occ, sd) in BO_CFG[vu_id].items():
            n = places[_year_idx(y)]
            if vu_id == "SON-BO-VUX" and k == "lss_gruppbostad":
                n = 16 if p >= "2025-09" else 12
            _occupancy_rows(vol, rng, vu_id, k, p, d, n, occ, sd, None, lo=0.80)


#: SON open activities: planned hours a month per cluster at start, yearly growth, season.
SON_OPEN_CFG: dict[str, dict[str, tuple[float, float, tuple[float, ...]]]] = {
    "SON-OPPNA-BUF": {
        "forebyggande": (3400, 0.01, (1.02, 1.03, 1.05, 1.02, 1.02, 0.92, 0.62, 0.85, 1.06, 1.07, 1.06, 0.92)),
        "boendestod": (1150, 0.02, (1.01, 1.00, 1.02, 1.01, 1.00, 0.97, 0.88, 0.95, 1.03, 1.03, 1.03, 0.98)),
        "dag_fritid": (2600, 0.01, (1.00, 1.03, 1.05, 1.03, 1.04, 0.95, 0.55, 0.82, 1.07, 1.08, 1.07, 0.94)),
        "fritidshem_korttid": (4300, 0.015, (0.97, 0.98, 0.99, 0.98, 0.98, 1.12, 1.22, 1.10, 0.95, 0.96, 0.96, 0.97)),
    },
    "SON-OPPNA-VUX": {
        "forebyggande": (4200, 0.01, (1.02, 1.03, 1.04, 1.02, 1.02, 0.93, 0.68, 0.88, 1.05, 1.06, 1.05, 0.92)),
        "boendestod": (2600, 0.025, (1.01, 1.00, 1.02, 1.01, 1.00, 0.97, 0.90, 0.96, 1.02, 1.03, 1.03, 0.97)),
        "dag_fritid": (11500, 0.012, (1.01, 1.03, 1.05, 1.02, 1.03, 0.96, 0.55, 0.87, 1.08, 1.08, 1.07, 0.93)),
    },
}


def _volumes_son_open(vol: _Volumes, vu_id: str, months) -> None:
    rng = _Rng("volymer", vu_id)
    for y, m in months:
        p = _period(y, m)
        t = (y - 2023) * 12 + (m - 1)
        dayf = _days(y, m) / MEAN_DAYS
        for k, (h0, growth, season) in SON_OPEN_CFG[vu_id].items():
            step = 1.06 if (vu_id == "SON-OPPNA-BUF" and k == "forebyggande" and y >= 2025) else 1.0
            planned = h0 * (1 + growth * t / 12) * step * season[m - 1] * dayf * (1 + rng.normal(0.01))
            vol.add(p, vu_id, k, "", "planerade_timmar", "", _tenths(planned))
            if k == "boendestod":
                done = planned * (0.955 + rng.normal(0.012))
                vol.add(p, vu_id, k, "", "utforda_timmar", "leanlink", _tenths(done))
            vol.drive(vu_id, k, p, planned / dayf)


#: Swedish public holidays falling on weekdays, roughly, per month.
HOLIDAY_WEEKDAYS = (2, 0, 0, 1, 2, 1, 0, 0, 0, 0, 0, 3)


def _weekdays(y: int, m: int) -> int:
    return sum(1 for d in range(1, _days(y, m) + 1) if calendar.weekday(y, m, d) < 5)


def _volumes_an_oppna(vol: _Volumes, vu: Verksamhetsuppdrag, months) -> None:
    rng = _Rng("volymer", vu.id)
    vid = vu.id
    for y, m in months:
        p = _period(y, m)
        t = (y - 2023) * 12 + (m - 1)
        d = _days(y, m)
        dayf = d / MEAN_DAYS
        summer = (1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.55, 0.8, 1.0, 1.0, 1.0, 0.9)[m - 1]
        base_days = _weekdays(y, m) - HOLIDAY_WEEKDAYS[m - 1]
        # Dagverksamhet: Ekhaga (24 places) and the small Berga (6 places).
        for kod, places, per_day, closed_july in (("414110", 24, Decimal("6.5"), 10), ("414120", 6, Decimal("6.0"), 15)):
            open_days = base_days - (closed_july if m == 7 else 0)
            if kod == "414120":  # 3-8 users, 3-4 in several months from 2024 on
                users = (7, 6, 5, 5)[_year_idx(y)] + rng.randint(-1, 1) - (1 if m in (6, 7, 8) else 0)
                users = min(max(users, 3), 8)
            else:
                users = int(round(38 * (1 + 0.02 * t / 12) * (summer if m in (6, 7, 8) else 1.0) * (1 + rng.normal(0.04))))
            vol.add(p, vid, "dagverksamhet", kod, "platser", "", places)
            # by gender (K and M rows, no total row: the total is their sum); Berga has one or two men
            men = int(round(users * 0.38)) if kod == "414110" else (1 if users < 6 else 2)
            vol.add(p, vid, "dagverksamhet", kod, "brukare", "", users - men, kon="K")
            vol.add(p, vid, "dagverksamhet", kod, "brukare", "", men, kon="M")
            vol.add(p, vid, "dagverksamhet", kod, "oppetdagar", "", open_days)
            vol.add(p, vid, "dagverksamhet", kod, "oppettimmar", "", per_day * open_days)
        # Demenscenter: utredningar and handledningar per utförare.
        for matt, ll0, pr0 in (("utredningar", 14, 6), ("handledningar", 24, 9)):
            for utf, n0 in (("leanlink", ll0), ("privat", pr0)):
                n = int(round(n0 * (1 + 0.03 * t / 12) * summer * (1 + rng.normal(0.12))))
                vol.add(p, vid, "ovriga", "414210", matt, utf, max(n, 0))
        # Visits per unit.
        senior_step = 1.15 if y >= 2026 else 1.0
        anhorig_step = 1.10 if y >= 2024 else 1.0
        satsning = 1.10 if p >= "2026-03" else 1.0
        for kod, matt, n0, growth, step in (
            ("414230", "unika_besok", 180, 0.02, senior_step),
            ("414240", "unika_besok", 95, 0.02, anhorig_step),
            ("414260", "unika_besok", 260, 0.03, 1.0),
            ("414270", "unika_besok", 70, 0.02, 1.0),
            ("414220", "besokare", 1300, 0.02, satsning),
            ("414250", "digitala_besok", 900, 0.08, satsning),
            ("414250", "fysiska_besok", 1250, 0.01, satsning),
        ):
            season = summer
            if kod == "414260":  # Fixartjänst: spring and autumn peaks
                season = (0.9, 0.9, 1.05, 1.2, 1.2, 1.0, 0.6, 0.9, 1.15, 1.15, 1.0, 0.85)[m - 1]
            if matt == "digitala_besok":
                season = (1.1, 1.05, 1.0, 1.0, 0.95, 0.85, 0.7, 0.85, 1.0, 1.05, 1.1, 1.1)[m - 1]
            n = int(round(n0 * (1 + growth * t / 12) * step * season * dayf * (1 + rng.normal(0.05))))
            vol.add(p, vid, "ovriga", kod, matt, "", n)
            if kod == "414230":  # Seniormottagningen also by gender, beside the total
                women = int(round(n * 0.64))
                vol.add(p, vid, "ovriga", kod, matt, "", women, kon="K")
                vol.add(p, vid, "ovriga", kod, matt, "", n - women, kon="M")
        # Individuellt anhörigstöd (variable service), Anhörigcenter.
        hours = 180 * anhorig_step * (1 + 0.02 * t / 12) * summer * dayf * (1 + rng.normal(0.04))
        vol.add(p, vid, "ovriga", "414240", "utforda_timmar", "leanlink", _tenths(hours))
        # Psykiatrisk hemsjukvård: about 20 visits a day.
        visits = int(round(20 * (1 + 0.03 * t / 12) * d * (1 + rng.normal(0.03))))
        vol.add(p, vid, "psykiatrisk_hsv", "414310", "besok", "", visits)


def _all_volumes(params: Params, months) -> _Volumes:
    vol = _Volumes()
    for vu in params.registry.alla:
        if vu.id in OMR_CFG:
            _volumes_omr(vol, vu.id, months)
        elif vu.id == "AN-VB":
            _volumes_vb(vol, months)
        elif vu.id in BO_CFG:
            _volumes_bo(vol, vu.id, months)
        elif vu.id in SON_OPEN_CFG:
            _volumes_son_open(vol, vu.id, months)
        elif vu.id == "AN-OPPNA":
            _volumes_an_oppna(vol, vu, months)
    return vol


# --------------------------------------------------------------------------- money
@dataclass
class _UnitMonth:
    """Amounts of one unit and month, öre. Costs positive, revenue positive (natural sign)."""

    costs: dict[str, int] = field(default_factory=dict)
    fixed: int = 0
    variable: int = 0
    medel: int = 0
    other: dict[str, int] = field(default_factory=dict)
    fte: dict[str, Decimal] = field(default_factory=dict)


def _transfer_parts(params: Params, vol: _Volumes, vu_id: str, y: int, m: int, fixed_year: list[int]) -> tuple[int, int]:
    """(fixed, variable) of the transfer in öre, computed with the model's functions."""
    fixed = fixed_year[m - 1]
    var = Decimal(0)
    p = _period(y, m)
    for s in compensation.services_of(params, vu_id):
        info = compensation.service_info(params, vu_id, s)
        q = vol.leanlink_volume(vu_id, info["kluster"], info["matt"], p)
        var += compensation.variable_amount(q, compensation.rate(params, vu_id, s, y, m))
    return int(Decimal(fixed) * 100), int(var * 100)


def _medel_by_vu_month() -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for r in MEDEL:
        out[(r.vu, r.period)] = out.get((r.vu, r.period), 0) + r.belopp * 100
    return out


def _medel_spending(months) -> dict[tuple[str, str], int]:
    """Leanlink's spending of the changes of funds, öre per (vu, period)."""
    periods = [_period(y, m) for y, m in months]
    out: dict[tuple[str, str], int] = {}
    for r in MEDEL:
        if r.forbrukat <= 0 or r.manader <= 0 or r.period not in periods:
            continue
        start = periods.index(r.period)
        for off, amt in enumerate(_alloc(r.forbrukat * 100, [1.0] * r.manader)):
            if start + off < len(periods):
                key = (r.vu, periods[start + off])
                out[key] = out.get(key, 0) + amt
    return out


def _activity(vol: _Volumes, vu_id: str, kluster: str, p: str, elasticity: float) -> float:
    series = vol.driver.get((vu_id, kluster))
    if not series or p not in series:
        return 1.0
    mean = math.fsum(series.values()) / len(series)
    return 1.0 + elasticity * (series[p] / mean - 1.0)


def _elasticity(vu: Verksamhetsuppdrag) -> float:
    if vu.ersattning.form == "prisbilaga":
        return 0.9
    if vu.id.startswith("SON-OPPNA"):
        return 0.4
    return 0.5


def _compute_vu(params: Params, vol: _Volumes, vu: Verksamhetsuppdrag, months,
                medel: dict, spending: dict) -> dict[str, list[_UnitMonth]]:
    """All amounts of one VU: ``{period: [UnitMonth per unit in registry order]}``."""
    rng = _Rng("kostnader", vu.id)
    units = vu.enheter
    n_units = len(units)
    dev = COST_DEVIATION.get(vu.id, (0.0, 0.0, 0.0, 0.0))
    drift = COST_DRIFT.get(vu.id, (0.0, 0.0, 0.0, 0.0))
    el = _elasticity(vu)
    out: dict[str, list[_UnitMonth]] = {}
    years = sorted({y for y, _m in months})
    for y in years:
        ym = [(yy, m) for yy, m in months if yy == y]
        fixed_year = compensation.monthly_fixed(params, vu.id, y)
        sch = params.modellar(y).schablon
        po = sch.po_palagg
        # --- transfer, medel, other revenue per month (VU level)
        parts = {m: _transfer_parts(params, vol, vu.id, y, m, fixed_year) for _y, m in ym}
        ordinary = {m: parts[m][0] + parts[m][1] for m in parts}
        other: dict[int, dict[str, int]] = {}
        for _y, m in ym:
            o: dict[str, int] = {}
            if vu.id == "AN-VB":
                o["3411"] = int(round(ordinary[m] * 0.006 * (1 + rng.normal(0.02))))
            if vu.id == "SON-BO-VUX":
                o["3611"] = int(round(ordinary[m] * 0.008))
            if rng.uniform() < 0.12:
                o["3911"] = int(round(ordinary[m] * rng.uniform(0.0005, 0.003)))
            other[m] = o
        # --- unit weights per month
        weights: dict[int, list[float]] = {}
        for _y, m in ym:
            p = _period(y, m)
            w = []
            for e in units:
                base = UNIT_WEIGHT.get(e.id_kod, 1.0)
                for kod, since, factor in UNIT_STEPS:
                    if kod == e.id_kod and p >= since:
                        base *= factor
                w.append(base * _activity(vol, vu.id, e.kluster, p, el) * (1 + rng.normal(0.01)))
            weights[m] = w
        # --- VU cost per month: target for the year, shaped by season and drift
        yi = _year_idx(y)
        shape = []
        for _y, m in ym:
            d = drift[yi] * (m - 6.5) / 11.0
            shape.append(ordinary[m] * COST_SEASON[m - 1] * (1 + d) * (1 + rng.normal(0.006)))
        total_ord = sum(ordinary.values())
        total_other = sum(sum(o.values()) for o in other.values())
        target = int(round(total_ord * (1 + dev[yi]))) + total_other
        vu_cost = _alloc(target, shape)
        for i, (_y, m) in enumerate(ym):
            vu_cost[i] += spending.get((vu.id, _period(y, m)), 0)
        # --- per unit
        unit_cost: dict[int, list[int]] = {}
        for i, (_y, m) in enumerate(ym):
            unit_cost[m] = _alloc(vu_cost[i], weights[m])
        rent = []
        for j, e in enumerate(units):
            typ = _unit_type(vu, e.kluster, e.id_kod)
            mean = sum(unit_cost[m][j] for _y, m in ym) / len(ym)
            rent.append(int(round(COST_MIX[typ][1] * mean / 100)) * 100)  # whole kronor, constant in the year
        for i, (_y, m) in enumerate(ym):
            p = _period(y, m)
            fixed_u = _alloc(parts[m][0], unit_cost[m])
            var_u = _alloc(parts[m][1], unit_cost[m])
            medel_u = _alloc(medel.get((vu.id, p), 0), unit_cost[m])
            other_u = {k: _alloc(v, weights[m]) for k, v in other[m].items()}
            if "3911" in other[m]:  # occasional income lands on one unit only
                j = rng.randint(0, n_units - 1)
                other_u["3911"] = [other[m]["3911"] if jj == j else 0 for jj in range(n_units)]
            ums = []
            for j, e in enumerate(units):
                typ = _unit_type(vu, e.kluster, e.id_kod)
                p_share, _r, others = COST_MIX[typ]
                c = unit_cost[m][j]
                rest = c - rent[j]
                keys = ["P"] + list(others)
                ws = [p_share]
                for k in others:
                    f = others[k] * (1 + rng.normal(0.08))
                    if k == "4410" and m == 12:
                        f *= 1.5
                    if k == "4420" and m == 7 and typ in ("dag", "son_dag"):
                        f *= 0.6
                    ws.append(max(f, 0.0))
                split = dict(zip(keys, _alloc(rest, ws)))
                pers = split.pop("P")
                wages = int(round(pers / (1 + po)))
                sub = int(round(wages * SUBSTITUTE_SHARE[m - 1]))
                vac = int(round(wages * VACATION_SHARE[m - 1]))
                costs = {"5011": wages - sub - vac, "5051": sub, "5411": pers - wages, "5811": vac, "6110": rent[j]}
                costs.update(split)
                mix = UNIT_STAFF_MIX.get(e.id_kod, STAFF_MIX[typ])
                per_fte = (1 + po) * sch.baskostnad / 12 * math.fsum(sh * sch.faktorer[lvl] for lvl, sh in mix.items())
                fte_total = pers / 100 / COST_SEASON[m - 1] / per_fte * (1 + rng.normal(0.004))
                fte = {}
                for lvl, sh in mix.items():
                    f = _tenths(fte_total * sh)
                    if f > 0:
                        fte[lvl] = f
                ums.append(_UnitMonth(
                    costs=costs, fixed=fixed_u[j], variable=var_u[j], medel=medel_u[j],
                    other={k: v[j] for k, v in other_u.items() if v[j]}, fte=fte,
                ))
            out[p] = ums
    return out


# --------------------------------------------------------------------------- writing
def _write_csv(path: Path, header: Sequence[str], rows, encoding: str) -> None:
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(rows)


def _ledger_rows(params: Params, amounts: dict[str, dict[str, list[_UnitMonth]]], months) -> dict[int, list[tuple]]:
    """Huvudbok rows per year: (period, kodtyp, kod, konto, verifikation, belopp, text)."""
    by_year: dict[int, list[tuple]] = {}
    delayed: dict[str, list[tuple]] = {}
    services_label = {}
    for vu in params.registry.alla:
        names = [compensation.service_info(params, vu.id, s)["namn"].lower() for s in compensation.services_of(params, vu.id)]
        services_label[vu.id] = ", ".join(names)
    for y, m in months:
        p = _period(y, m)
        mname = f"{MONTH_NAMES[m - 1]} {y}"
        rng = _Rng("huvudbok", p)
        id_rows: list[tuple] = []
        k_rows: list[tuple] = []
        n_id = 0
        n_k = 0
        for vu in params.registry.alla:
            ums = amounts[vu.id].get(p)
            if ums is None:
                continue
            for e, um in zip(vu.enheter, ums):
                # Leanlink's costs: 2-4 verifikation rows per account.
                for konto in COST_ACCOUNT_ORDER:
                    amt = um.costs.get(konto, 0)
                    if amt == 0:
                        continue
                    k = rng.randint(2, 4)
                    pieces = _alloc(amt, [rng.uniform(0.4, 1.6) for _ in range(k)])
                    n_id += 1
                    for r, piece in enumerate(pieces, start=1):
                        if piece == 0:
                            continue
                        if konto in SUPPLIER_TEXT:
                            text = f"{rng.pick(SUPPLIER_TEXT[konto])} {mname}"
                        else:
                            text = f"{ACCOUNT_TEXT[konto]} {mname}"
                        id_rows.append((p, "ID", e.id_kod, konto, f"V{p}-{n_id:06d}:{r}", piece, text))
                # Leanlink's other revenue (credit).
                for konto in ("3411", "3611", "3911"):
                    amt = um.other.get(konto, 0)
                    if amt:
                        n_id += 1
                        id_rows.append((p, "ID", e.id_kod, konto, f"V{p}-{n_id:06d}:1", -amt, f"{ACCOUNT_TEXT[konto]} {mname}"))
                # The transfer as booked by Leanlink (credit) and by SoF (debit).
                n_id += 1
                nr = 0
                for konto, amt, text in (
                    ("3811", um.fixed, f"Ersättning {vu.id} fast del {mname}"),
                    ("3812", um.variable, f"Ersättning {vu.id} rörlig del {mname} ({services_label[vu.id]})"),
                    ("3851", um.medel, f"Förändring av medel {vu.id} {mname}"),
                ):
                    if amt:
                        nr += 1
                        id_rows.append((p, "ID", e.id_kod, konto, f"I{p}-{n_id:06d}:{nr}", -amt, text))
                for konto, amt, text in (
                    ("4611", um.fixed, f"Köp av verksamhet Leanlink {vu.id} fast del {mname}"),
                    ("4612", um.variable, f"Köp av verksamhet Leanlink {vu.id} rörlig del {mname}"),
                    ("4651", um.medel, f"Förändring av medel {vu.id} {mname}"),
                ):
                    if not amt:
                        continue
                    if konto == "4611" and vu.id == AMOUNT_DIFFERENCE["vu"] and p == AMOUNT_DIFFERENCE["period"] \
                            and e.komplement_kod == AMOUNT_DIFFERENCE["kod"]:
                        amt += AMOUNT_DIFFERENCE["ore"]
                    if konto == "4612" and vu.id == TIMING_DIFFERENCE["vu"] and p == TIMING_DIFFERENCE["period"]:
                        later = TIMING_DIFFERENCE["booked"]
                        delayed.setdefault(later, []).append((e.komplement_kod, konto, amt, f"{text}, bokförd i juli"))
                        continue
                    n_k += 1
                    k_rows.append((p, "KOMPLEMENT", e.komplement_kod, konto, f"K{p}-{n_k:06d}:1", amt, text))
        for kod, konto, amt, text in delayed.pop(p, []):
            n_k += 1
            k_rows.append((p, "KOMPLEMENT", kod, konto, f"K{p}-{n_k:06d}:1", amt, text))
        by_year.setdefault(y, []).extend(id_rows + k_rows)
    return by_year


def write_sample(out_dir: Path) -> list[Path]:
    """Write the sample export files into ``out_dir``.

    Parameters
    ----------
    out_dir : Path
        Created if missing; existing files of the same names are overwritten.

    Returns
    -------
    list of Path
        The files written, sorted: ``bemanning_<year>.csv``,
        ``huvudbok_<year>.csv``, ``medel.csv``, ``volymer_<year>.csv`` for
        2023-2026.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    params = load_params()
    months = _months()
    vol = _all_volumes(params, months)
    medel = _medel_by_vu_month()
    spending = _medel_spending(months)
    amounts = {vu.id: _compute_vu(params, vol, vu, months, medel, spending) for vu in params.registry.alla}
    years = sorted({y for y, _m in months})
    paths: list[Path] = []

    # huvudbok
    ledger = _ledger_rows(params, amounts, months)
    for y in years:
        path = out_dir / f"huvudbok_{y}.csv"
        rows = [(p, kt, kod, konto, ver, _ore_str(b), text) for p, kt, kod, konto, ver, b, text in ledger[y]]
        _write_csv(path, [c.name for c in HUVUDBOK.columns], rows, "cp1252")
        paths.append(path)

    # volymer
    for y in years:
        path = out_dir / f"volymer_{y}.csv"
        rows = [(p, v, k, e, mt, u, kn, _num_str(val)) for p, v, k, e, mt, u, kn, val in vol.rows if p.startswith(f"{y}-")]
        rows.sort(key=lambda r: r[0])  # stable: period, then generation order
        _write_csv(path, [c.name for c in VOLYMER.columns], rows, "utf-8-sig")
        paths.append(path)

    # bemanning
    for y in years:
        path = out_dir / f"bemanning_{y}.csv"
        rows = []
        for yy, m in months:
            if yy != y:
                continue
            p = _period(y, m)
            for vu in params.registry.alla:
                for e, um in zip(vu.enheter, amounts[vu.id][p]):
                    for lvl, fte in um.fte.items():
                        rows.append((p, e.id_kod, lvl, _num_str(fte)))
        _write_csv(path, [c.name for c in BEMANNING.columns], rows, "utf-8-sig")
        paths.append(path)

    # medel
    path = out_dir / "medel.csv"
    rows = [(r.id, r.period, r.vu, r.typ, _ore_str(r.belopp * 100), r.beskrivning, r.aterrapporteringskrav,
             r.aterrapportering_senast) for r in MEDEL]
    _write_csv(path, [c.name for c in MEDEL_KIND.columns], rows, "utf-8-sig")
    paths.append(path)
    return sorted(paths)
