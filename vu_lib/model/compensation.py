"""Fixed and variable compensation (ersättning) per VU and year.

Fixed compensation (fastställd ersättning), whole kronor:

.. math:: F_{v,Y} = \\mathrm{round}(F_{v,Y-1} (1 + i_Y)) + \\sum \\text{change items}

Change items are volym-, ambitions- and uppdragsförändring (amounts in year-Y
prices, added) and effektiviseringskrav (an amount, or a share of the indexed
base rounded to whole kronor, subtracted). The first model year gives ``F``
directly; a later year may override it with ``fast_ersattning``. Change items
of a minor revision (``revisioner``) belong to the year they are made in and
carry into next year's base.

Variable rates (öre):

.. math:: R_{s,Y} = \\mathrm{round}_{öre}(R_{s,Y-1} (1 + i_Y))

per price-annex area (``prisbilagor``) and hourly service, and per other
variable service (``rorliga_priser``). A year or a revision may set a rate
explicitly; a revision's rate applies from its ``giltig_fran`` month and is
the one indexed into the next year.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from vu_lib.core.exceptions import ParamsError
from vu_lib.model.index import D, index_for, round_kr, round_ore
from vu_lib.core.params import Forandring, Params

CHANGE_LABELS = {
    "volymforandring": "Volymförändring",
    "ambitionsforandring": "Ambitionsförändring",
    "uppdragsforandring": "Uppdragsförändring",
    "effektiviseringskrav": "Effektiviseringskrav",
}


@dataclass(frozen=True)
class BridgeStep:
    """One step of a compensation bridge: ``belopp`` is the change (kr)."""

    steg: str
    typ: str  # "forra_aret" | "index" | change type | "revision" | "summa"
    belopp: int
    beskrivning: str = ""
    giltig_fran: str | None = None


def change_amount(item: Forandring, indexed_base: int) -> int:
    """Signed amount of one change item (effektiviseringskrav negative).

    A share is taken of the indexed base: ``-round(andel * base)``.
    """
    if item.typ == "effektiviseringskrav":
        amount = round_kr(D(item.andel) * indexed_base) if item.andel is not None else item.belopp
        return -amount
    return int(item.belopp)


def _require_year(params: Params, vu_id: str, year: int) -> None:
    params.vu(vu_id)
    if year < params.forsta_ar:
        raise ParamsError(f"Ersättning före första modellåret {params.forsta_ar} finns inte (begärt: {year})")
    params.modellar(year)


def fixed_bridge(params: Params, vu_id: str, year: int) -> list[BridgeStep]:
    """The compensation bridge of ``vu_id`` for ``year``.

    Steps: last year's compensation, index, each change item of the year, each
    revision's change items, and the resulting sum. The amounts of all steps
    but the last add up to the last exactly.

    For a separately regulated line (EKB) the year's amount is given directly
    and the bridge shows last year and the regulated change.
    """
    _require_year(params, vu_id, year)
    m = params.modellar(year)
    if vu_id in m.separat_ersattning:
        amount = m.separat_ersattning[vu_id]
        if year == params.forsta_ar:
            return [
                BridgeStep("Separat reglerad ersättning", "fastst", amount),
                BridgeStep(f"Ersättning {year}", "summa", amount),
            ]
        prev = params.modellar(year - 1).separat_ersattning.get(vu_id, 0)
        return [
            BridgeStep(f"Ersättning {year - 1}", "forra_aret", prev),
            BridgeStep("Separat reglerad förändring", "separat", amount - prev),
            BridgeStep(f"Ersättning {year}", "summa", amount),
        ]
    if year == params.forsta_ar or vu_id in m.fast_ersattning:
        base_amount = m.fast_ersattning.get(vu_id)
        if base_amount is None:
            raise ParamsError(f"{params.root / 'modell' / f'{year}.yaml'}: fast_ersattning saknar {vu_id}")
        steps = [BridgeStep(f"Fastställd ersättning {year}", "fastst", base_amount)]
        indexed = base_amount
    else:
        prev = fixed_compensation(params, vu_id, year - 1)
        i = index_for(params, year)
        indexed = round_kr(D(prev) * (1 + i))
        steps = [
            BridgeStep(f"Ersättning {year - 1}", "forra_aret", prev),
            BridgeStep(f"Indexuppräkning {float(i) * 100:.2f} %".replace(".", ","), "index", indexed - prev),
        ]
    for item in m.forandringar:
        if item.vu == vu_id:
            steps.append(BridgeStep(CHANGE_LABELS[item.typ], item.typ, change_amount(item, indexed), item.beskrivning))
    for rev in m.revisioner:
        for item in rev.forandringar:
            if item.vu == vu_id:
                steps.append(
                    BridgeStep(
                        f"{CHANGE_LABELS[item.typ]} (version {rev.modellversion})",
                        item.typ,
                        change_amount(item, indexed),
                        item.beskrivning,
                        giltig_fran=rev.giltig_fran,
                    )
                )
    total = sum(s.belopp for s in steps)
    steps.append(BridgeStep(f"Ersättning {year}", "summa", total))
    return steps


@lru_cache(maxsize=4096)
def _fixed_cached(params: Params, vu_id: str, year: int) -> int:
    return fixed_bridge(params, vu_id, year)[-1].belopp


def fixed_compensation(params: Params, vu_id: str, year: int) -> int:
    """``F_{v,Y}``: the fixed compensation of the whole year including revisions (kr)."""
    return _fixed_cached(params, vu_id, year)


def fixed_compensation_base(params: Params, vu_id: str, year: int) -> int:
    """The fixed compensation as decided at the start of the year (without revisions)."""
    steps = fixed_bridge(params, vu_id, year)
    return sum(s.belopp for s in steps[:-1] if s.giltig_fran is None)


def model_version(params: Params, year: int, month: int = 12) -> str:
    """The model version in force in ``year``-``month`` (a revision from its month on)."""
    m = params.modellar(year)
    version = m.modellversion
    for rev in sorted(m.revisioner, key=lambda r: r.giltig_fran):
        if rev.giltig_fran <= f"{year}-{month:02d}":
            version = rev.modellversion
    return version


# --------------------------------------------------------------------------- rates
def services_of(params: Params, vu_id: str) -> list[str]:
    """The variable services of a VU (empty for a VU with fixed compensation only)."""
    return list(params.vu(vu_id).ersattning.rorliga_tjanster)


def _explicit_rate(params: Params, vu_id: str, service: str, year: int, month: int) -> Decimal | None:
    """A rate written in the params for this year (or a revision in force), else None."""
    m = params.modellar(year)
    form = params.vu(vu_id).ersattning
    rate = None
    if form.form == "prisbilaga":
        r = m.prisbilagor.get(form.prisbilaga, {}).get(service)
        rate = D(r) if r is not None else None
    elif service in m.rorliga_priser:
        rate = D(m.rorliga_priser[service].pris)
    for rev in sorted(m.revisioner, key=lambda r: r.giltig_fran):
        if rev.giltig_fran <= f"{year}-{month:02d}":
            if form.form == "prisbilaga":
                r = rev.prisbilagor.get(form.prisbilaga, {}).get(service)
            else:
                r = rev.rorliga_priser.get(service)
            if r is not None:
                rate = D(r)
    return rate


@lru_cache(maxsize=65536)
def _rate_cached(params: Params, vu_id: str, service: str, year: int, month: int) -> Decimal:
    if service not in services_of(params, vu_id):
        raise ParamsError(f"{vu_id} har ingen rörlig tjänst '{service}' (har: {', '.join(services_of(params, vu_id)) or 'inga'})")
    explicit = _explicit_rate(params, vu_id, service, year, month)
    if explicit is not None:
        return explicit
    if year <= params.forsta_ar:
        raise ParamsError(f"Inget pris för {service} ({vu_id}) i första modellåret {params.forsta_ar}")
    prev = _rate_cached(params, vu_id, service, year - 1, 12)
    return round_ore(prev * (1 + index_for(params, year)))


def rate(params: Params, vu_id: str, service: str, year: int, month: int = 1) -> Decimal:
    """``R_{s,Y}`` in force in ``year``-``month`` for a service of a VU (kr per unit, öre).

    Parameters
    ----------
    params : Params
    vu_id : str
        The VU (its price annex area decides the hourly rates of Områdesansvar).
    service : str
        ``hemtjanst``, ``hemsjukvard``, ``hemrehabilitering`` or a key of ``rorliga_priser``.
    year, month : int
        A revision changes the rate from its ``giltig_fran`` month.
    """
    return _rate_cached(params, vu_id, service, year, month)


def service_info(params: Params, vu_id: str, service: str) -> dict:
    """Which volume measures a service's compensation is paid on.

    Returns ``{"namn", "enhet", "matt", "kluster"}``: the variable compensation of
    ``service`` is ``sum(volymer[matt, kluster, utforare=leanlink]) * rate``.
    """
    form = params.vu(vu_id).ersattning
    if form.form == "prisbilaga":
        names = {"hemtjanst": "Hemtjänst", "hemsjukvard": "Hemsjukvård", "hemrehabilitering": "Hemrehabilitering"}
        return {"namn": names.get(service, service), "enhet": "timme", "matt": "utforda_timmar", "kluster": service}
    first = params.modellar(params.forsta_ar).rorliga_priser[service]
    return {"namn": first.namn, "enhet": first.enhet, "matt": first.matt, "kluster": first.kluster}


def _spread(total, months: int, avrundning: str = "kronor") -> list:
    """Spread ``total`` kr over ``months``, summing exactly.

    ``kronor``: cumulative rounding to whole kronor; ``kronor_sista_manad``:
    ``round(total / months)`` in each month but the last, which takes the
    remainder; ``ore``: ``round_öre(total / months)`` likewise.
    """
    if avrundning == "kronor":
        return [round_kr(D(total) * k / months) - round_kr(D(total) * (k - 1) / months) for k in range(1, months + 1)]
    if avrundning == "kronor_sista_manad":
        p = round_kr(D(total) / months)
        return [p] * (months - 1) + [int(total - p * (months - 1))]
    p = round_ore(D(total) / months)
    return [p] * (months - 1) + [D(total) - p * (months - 1)]


def monthly_fixed(params: Params, vu_id: str, year: int) -> list:
    """The twelve monthly payments of the fixed compensation, summing to ``F`` exactly.

    The rounding is the year's parameter ``overforing.avrundning``
    (:class:`vu_lib.params.Overforing`):

    * ``kronor`` (default): whole kronor by cumulative rounding,
      ``p_m = round(F * m / 12) - round(F * (m - 1) / 12)``;
    * ``kronor_sista_manad``: ``round(F / 12)`` whole kronor, the remainder in December;
    * ``ore``: ``round_öre(F / 12)``, the remainder in December (Decimal amounts).

    A revision with change items from month ``r`` raises (or lowers) the year's
    total; what remains, ``F_new - sum(p_1 .. p_{r-1})``, is spread over months
    ``r .. 12`` the same way.

    Returns
    -------
    list
        Twelve ints (kronor modes) or Decimals (``ore``).
    """
    avrundning = params.modellar(year).overforing.avrundning
    steps = fixed_bridge(params, vu_id, year)
    base = sum(s.belopp for s in steps[:-1] if s.giltig_fran is None)
    revision_months: dict[int, int] = {}
    for s in steps[:-1]:
        if s.giltig_fran is not None:
            r = int(s.giltig_fran[5:7])
            revision_months[r] = revision_months.get(r, 0) + s.belopp
    payments: list = []
    total = base
    start = 1
    for r in sorted(revision_months) + [13]:
        seg = _spread(total - sum(payments), 13 - start, avrundning)[: r - start]
        payments.extend(seg)
        if r <= 12:
            total += revision_months[r]
            start = r
    return payments


def variable_amount(volume: float, rate_kr: Decimal) -> Decimal:
    """``q * R`` rounded to öre: the variable compensation of one service and month."""
    return round_ore(D(volume) * rate_kr)
