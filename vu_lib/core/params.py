"""The model's parameters as data: loading and validating ``params/``.

``params/registry.yaml`` holds the nine VU, EKB, their clusters and nivå 3
units with financial-system codes, and the chart of accounts;
``params/nyckeltal.yaml`` the key-figure catalogue; ``params/modell/<year>.yaml``
one model version per year. Each file is parsed into pydantic models that
forbid unknown keys, so a typo fails loudly with the file, the key and what was
expected (:class:`~vu_lib.exceptions.ParamsError`).

The parameter directory is ``params/`` at the project root, or the directory
named by the environment variable ``VU_PARAMS``.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vu_lib.core.exceptions import ParamsError

PROJECT_ROOT = Path(__file__).resolve().parents[2]

Money = Annotated[int, Field(description="whole kronor")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- registry
class Kluster(_Strict):
    id: str
    namn: str
    grupp: str | None = None


class Enhet(_Strict):
    id_kod: Annotated[str, Field(pattern=r"^\d{6}$")]
    komplement_kod: Annotated[str, Field(pattern=r"^\d{5}$")]
    namn: str
    kluster: str


class Ersattningsform(_Strict):
    form: Literal["prisbilaga", "fast", "fast_rorlig"]
    prisbilaga: Literal[1, 2, 3] | None = None
    schablon: Literal["an", "son"] | None = None
    rorliga_tjanster: list[str] = []

    @model_validator(mode="after")
    def _check(self):
        if self.form == "prisbilaga" and self.prisbilaga is None:
            raise ValueError("form 'prisbilaga' kräver nyckeln 'prisbilaga' (1, 2 eller 3)")
        if self.form == "fast" and self.rorliga_tjanster:
            raise ValueError("form 'fast' kan inte ha rorliga_tjanster")
        if self.form != "fast" and not self.rorliga_tjanster:
            raise ValueError(f"form '{self.form}' kräver minst en rörlig tjänst i rorliga_tjanster")
        return self


class Prognosval(_Strict):
    """Which forecast method is a report's prognosis, and why (the other method gives the range).

    ``metod``: ``profil`` (last year's monthly profile) or ``arstakt`` (run-rate).
    """

    metod: Literal["profil", "arstakt"]
    motivering: Annotated[str, Field(min_length=10)]


DEFAULT_PROGNOS = Prognosval(
    metod="profil",
    motivering=("kostnaderna följer ett månadsmönster (semesterlöner i juni och juli, årsskifteskostnader i "
                "december) som årstakten inte fångar"),
)


class Verksamhetsuppdrag(_Strict):
    id: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9-]+$")]
    namnd: Literal["AN", "SON"]
    niva1: Literal["Öppna former", "Vårdboende", "Heldygn"]
    namn: str
    beskrivning: str
    ersattning: Ersattningsform
    kluster: list[Kluster]
    enheter: list[Enhet]
    prognos: Prognosval | None = None

    @model_validator(mode="after")
    def _check(self):
        ids = [k.id for k in self.kluster]
        if len(set(ids)) != len(ids):
            raise ValueError(f"kluster-id förekommer två gånger i {self.id}")
        for e in self.enheter:
            if e.kluster not in ids:
                raise ValueError(f"enhet {e.id_kod} ({e.namn}) anger okänt kluster '{e.kluster}'; kända: {', '.join(ids)}")
        return self

    def kluster_namn(self, kluster_id: str) -> str:
        """Display name of a cluster of this VU."""
        for k in self.kluster:
            if k.id == kluster_id:
                return k.namn
        raise KeyError(kluster_id)


class Kontointervall(_Strict):
    fran: Annotated[str, Field(pattern=r"^\d{4}$")]
    till: Annotated[str, Field(pattern=r"^\d{4}$")]
    kontoslag: Literal["ersattning", "medel", "ovrig_intakt", "personal", "ovrig_kostnad", "overforing", "overforing_medel"]
    namn: str


class Flaggor(_Strict):
    """When page 1 of a report flags something: ``schablon_under_andel``, a fixed compensation this share
    or more below the schablon-based allocation for the staffing."""

    schablon_under_andel: float = Field(default=0.10, gt=0, lt=1)


class Registry(_Strict):
    version: int
    namnder: dict[Literal["AN", "SON"], str]
    verksamhetsuppdrag: list[Verksamhetsuppdrag]
    separata: list[Verksamhetsuppdrag] = []
    kontoplan: dict[Literal["ID", "KOMPLEMENT"], list[Kontointervall]]
    prognos: Prognosval = DEFAULT_PROGNOS
    flaggor: Flaggor = Flaggor()

    @model_validator(mode="after")
    def _check(self):
        seen_vu: set[str] = set()
        seen_codes: dict[str, str] = {}
        for vu in self.alla:
            if vu.id in seen_vu:
                raise ValueError(f"VU-id {vu.id} förekommer två gånger")
            seen_vu.add(vu.id)
            for e in vu.enheter:
                for code in (e.id_kod, e.komplement_kod):
                    if code in seen_codes:
                        raise ValueError(f"koden {code} används både av {seen_codes[code]} och {vu.id}")
                    seen_codes[code] = vu.id
        for kodtyp, ranges in self.kontoplan.items():
            spans = sorted((int(r.fran), int(r.till)) for r in ranges)
            for a, b in spans:
                if a > b:
                    raise ValueError(f"kontoplan {kodtyp}: intervallet {a}-{b} är bakvänt")
            for (a1, b1), (a2, b2) in zip(spans, spans[1:]):
                if a2 <= b1:
                    raise ValueError(f"kontoplan {kodtyp}: intervallen {a1}-{b1} och {a2}-{b2} överlappar")
        return self

    @property
    def alla(self) -> list[Verksamhetsuppdrag]:
        """The nine VU followed by the separately regulated lines (EKB)."""
        return list(self.verksamhetsuppdrag) + list(self.separata)


# --------------------------------------------------------------------------- key figures
class Malintervall(_Strict):
    """A key figure's target or expected range, in the figure's unit (``min``/``max``; one may be absent).

    ``kluster`` gives other ranges for named clusters; ``kalla`` says where the range comes from.
    """

    min: float | None = None
    max: float | None = None
    kalla: str | None = None
    kluster: dict[str, "Malintervall"] = {}

    @model_validator(mode="after")
    def _check(self):
        if self.min is None and self.max is None and not self.kluster:
            raise ValueError("mal kräver min, max eller kluster")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"mal: min {self.min} är större än max {self.max}")
        return self

    def for_kluster(self, kluster: str) -> "Malintervall":
        return self.kluster.get(kluster, self)


class Nyckeltal(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    vu: list[str]
    kluster: list[str] | None = None
    enhet_namn: str | None = None
    namn: str
    definition: str
    enhet: str
    intervall: Literal["manadsvis", "delar", "arsvis"]
    mottagare: str
    ansvarig: str
    ekonomisk_paverkan: str | None = None
    forsta_ar: int
    personantal: bool = False
    mal: Malintervall | None = None


class NyckeltalKatalog(_Strict):
    version: int
    nyckeltal: list[Nyckeltal]


# --------------------------------------------------------------------------- model year
class Index(_Strict):
    """KS index for one year: ``i = vikt_lon * lon + (1 - vikt_lon) * pris`` or ``ks_index``."""

    lon: float | None = None
    pris: float | None = None
    vikt_lon: float | None = Field(default=None, ge=0, le=1)
    ks_index: float | None = None

    @model_validator(mode="after")
    def _check(self):
        parts = (self.lon, self.pris, self.vikt_lon)
        if self.ks_index is None and any(p is None for p in parts):
            raise ValueError("ange lon, pris och vikt_lon, eller ks_index")
        for name in ("lon", "pris", "ks_index"):
            v = getattr(self, name)
            if v is not None and not -0.2 < v < 0.3:
                raise ValueError(f"{name} = {v} ser inte ut som en andel (skriv 0.031 för 3,1 %)")
        return self


class Forandring(_Strict):
    """A change item of a VU's fixed compensation in year-Y prices."""

    vu: str
    typ: Literal["volymforandring", "ambitionsforandring", "uppdragsforandring", "effektiviseringskrav"]
    belopp: int | None = None
    andel: float | None = Field(default=None, gt=0, lt=1)
    beskrivning: str

    @model_validator(mode="after")
    def _check(self):
        if (self.belopp is None) == (self.andel is None):
            raise ValueError("ange antingen belopp eller andel")
        if self.andel is not None and self.typ != "effektiviseringskrav":
            raise ValueError("andel kan bara anges för effektiviseringskrav")
        if self.typ == "effektiviseringskrav" and self.belopp is not None and self.belopp < 0:
            raise ValueError("effektiviseringskrav anges som positivt belopp; det dras av")
        return self


class RorligtPris(_Strict):
    pris: float = Field(gt=0)
    enhet: str
    matt: str
    kluster: str
    namn: str


class Schablon(_Strict):
    baskostnad: int = Field(gt=0)
    po_palagg: float = Field(ge=0, lt=1)
    ovriga_kostnader: int = Field(ge=0)
    overhead: float = Field(ge=0, lt=1)
    timmar_per_arsarbetare: int = Field(gt=0)
    faktorer: dict[str, float]


class Budgetsteg(_Strict):
    steg: str
    fran: dt.date
    till: dt.date
    beskrivning: str

    @model_validator(mode="after")
    def _check(self):
        if self.till < self.fran:
            raise ValueError(f"steget '{self.steg}' slutar ({self.till}) före det börjar ({self.fran})")
        return self


Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class Revision(_Strict):
    modellversion: Annotated[str, Field(pattern=r"^\d+\.\d+$")]
    giltig_fran: Month
    beskrivning: str
    prisbilagor: dict[int, dict[str, float]] = {}
    rorliga_priser: dict[str, float] = {}
    forandringar: list[Forandring] = []


class Overforing(_Strict):
    """How SoF books the monthly fixed transfer and how the reconciliation reads differences.

    ``avrundning``: ``kronor`` (whole kronor by cumulative rounding,
    ``p_m = round(F m/12) − round(F (m−1)/12)``), ``kronor_sista_manad`` (whole
    kronor ``round(F/12)`` each month, the remainder in the last month) or ``ore``
    (``F/12`` to the öre, the remainder in the last month). ``tolerans`` (kr): a
    booked transfer that differs from the model's by at most this much is
    rounding, not a deviation.
    """

    avrundning: Literal["kronor", "kronor_sista_manad", "ore"] = "kronor"
    tolerans: float = Field(default=1.0, ge=0)


class Modellar(_Strict):
    """One model version: the parameters of one year."""

    ar: int = Field(ge=2000, le=2100)
    modellversion: Annotated[str, Field(pattern=r"^\d+\.\d+$")]
    faststalld: dt.date
    index: Index
    delar_manader: list[Annotated[int, Field(ge=1, le=11)]]
    sma_tal_grans: int = Field(ge=1)
    fast_ersattning: dict[str, int] = {}
    separat_ersattning: dict[str, int] = {}
    prisbilagor: dict[int, dict[str, float]] = {}
    rorliga_priser: dict[str, RorligtPris] = {}
    forandringar: list[Forandring] = []
    revisioner: list[Revision] = []
    overforing: Overforing = Overforing()
    schablon: Schablon
    budgetprocess: list[Budgetsteg]

    @field_validator("delar_manader")
    @classmethod
    def _sorted(cls, v):
        if sorted(set(v)) != v:
            raise ValueError("delar_manader ska vara stigande utan dubbletter, t.ex. [3, 8, 10]")
        return v

    @model_validator(mode="after")
    def _check(self):
        for r in self.revisioner:
            if not r.giltig_fran.startswith(f"{self.ar}-"):
                raise ValueError(f"revision {r.modellversion} gäller från {r.giltig_fran}, utanför året {self.ar}")
            if r.modellversion.split(".")[0] != self.modellversion.split(".")[0]:
                raise ValueError(f"revision {r.modellversion} har annat huvudnummer än {self.modellversion}")
        return self


class Params(BaseModel):
    """Everything in ``params/``, loaded and cross-checked."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    root: Path
    registry: Registry
    katalog: NyckeltalKatalog
    ar: dict[int, Modellar]

    # Identity semantics: a loaded Params is immutable and cached, so it can key caches.
    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other) -> bool:
        return self is other

    # ---- convenience lookups
    @property
    def forsta_ar(self) -> int:
        return min(self.ar)

    @property
    def sista_ar(self) -> int:
        return max(self.ar)

    def modellar(self, year: int) -> Modellar:
        """The model version of ``year``; ParamsError if there is none."""
        try:
            return self.ar[year]
        except KeyError:
            raise ParamsError(
                f"Det finns ingen modellversion för {year} i {self.root / 'modell'} "
                f"(finns: {', '.join(map(str, sorted(self.ar)))})"
            ) from None

    def vu(self, vu_id: str) -> Verksamhetsuppdrag:
        for vu in self.registry.alla:
            if vu.id == vu_id:
                return vu
        raise ParamsError(f"Okänt verksamhetsuppdrag '{vu_id}' (kända: {', '.join(self.vu_ids(True))})")

    def vu_ids(self, include_separata: bool = False) -> list[str]:
        vus = self.registry.alla if include_separata else self.registry.verksamhetsuppdrag
        return [v.id for v in vus]

    def prognosval(self, vu_id: str) -> Prognosval:
        """The forecast method of a VU's prognosis: the VU's own ``prognos`` or the registry's default."""
        return self.vu(vu_id).prognos or self.registry.prognos

    def nyckeltal_for(self, vu_id: str) -> list[Nyckeltal]:
        return [n for n in self.katalog.nyckeltal if vu_id in n.vu]


def _fmt_loc(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) if loc else "(filens rot)"


def _explain(path: Path, err: ValidationError) -> str:
    lines = [f"Fel i parameterfilen {path}:"]
    for e in err.errors():
        key = _fmt_loc(e["loc"])
        if e["type"] == "extra_forbidden":
            msg = "okänd nyckel (stavfel?)"
        elif e["type"] == "missing":
            msg = "nyckeln saknas"
        else:
            msg = e["msg"].removeprefix("Value error, ")
            if "input" in e and e["type"] not in ("value_error",):
                msg += f" (fick {e['input']!r})"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def _read_yaml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"Parameterfilen {path} saknas") from None
    except UnicodeDecodeError as e:
        raise ParamsError(f"Parameterfilen {path} är inte UTF-8 (byte {e.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", rad {mark.line + 1}, kolumn {mark.column + 1}" if mark else ""
        raise ParamsError(f"Parameterfilen {path}{where} är inte giltig YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"Parameterfilen {path} ska innehålla en mappning (nyckel: värde) på översta nivån")
    return data


def _parse(model: type[BaseModel], path: Path):
    try:
        return model.model_validate(_read_yaml(path))
    except ValidationError as e:
        raise ParamsError(_explain(path, e)) from None


def _cross_check(root: Path, reg: Registry, kat: NyckeltalKatalog, years: dict[int, Modellar]) -> None:
    vu_ids = {v.id for v in reg.verksamhetsuppdrag}
    sep_ids = {v.id for v in reg.separata}
    all_vu = {v.id: v for v in reg.alla}
    problems = []
    ids = [n.id for n in kat.nyckeltal]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"{root / 'nyckeltal.yaml'}: nyckeltal-id {dup} förekommer två gånger")
    for n in kat.nyckeltal:
        for v in n.vu:
            if v not in all_vu:
                problems.append(f"{root / 'nyckeltal.yaml'}: nyckeltal {n.id}.vu: okänt VU '{v}'")
            elif n.kluster:
                known = {k.id for k in all_vu[v].kluster}
                for k in n.kluster:
                    if k not in known:
                        problems.append(f"{root / 'nyckeltal.yaml'}: nyckeltal {n.id}.kluster: '{k}' finns inte i {v}")
    if not years:
        problems.append(f"{root / 'modell'}: inga modellår (filer som 2023.yaml)")
    else:
        first = min(years)
        expected = list(range(first, max(years) + 1))
        if sorted(years) != expected:
            problems.append(f"{root / 'modell'}: modellåren ska vara en obruten följd, fick {sorted(years)}")
        f0 = years[first]
        missing = sorted(vu_ids - set(f0.fast_ersattning))
        if missing:
            problems.append(f"{root / 'modell' / f'{first}.yaml'}: fast_ersattning saknar {', '.join(missing)} (första modellåret anger ersättningen direkt)")
        services = {s for v in reg.alla for s in v.ersattning.rorliga_tjanster if v.ersattning.form != "prisbilaga"}
        missing_s = sorted(services - set(f0.rorliga_priser))
        if missing_s:
            problems.append(f"{root / 'modell' / f'{first}.yaml'}: rorliga_priser saknar {', '.join(missing_s)}")
        areas = {v.ersattning.prisbilaga for v in reg.alla if v.ersattning.form == "prisbilaga"}
        for a in sorted(areas):
            if a not in f0.prisbilagor:
                problems.append(f"{root / 'modell' / f'{first}.yaml'}: prisbilagor saknar område {a}")
        for y, m in sorted(years.items()):
            f = root / "modell" / f"{y}.yaml"
            items = list(m.forandringar) + [c for r in m.revisioner for c in r.forandringar]
            for c in items:
                if c.vu not in vu_ids:
                    problems.append(f"{f}: forandringar: okänt VU '{c.vu}'")
            for k in list(m.fast_ersattning):
                if k not in vu_ids:
                    problems.append(f"{f}: fast_ersattning: okänt VU '{k}'")
            for k in m.separat_ersattning:
                if k not in sep_ids:
                    problems.append(f"{f}: separat_ersattning: '{k}' är inte en separat reglerad rad ({', '.join(sorted(sep_ids))})")
            for s in sorted(sep_ids - set(m.separat_ersattning)):
                problems.append(f"{f}: separat_ersattning saknar {s} (regleras separat varje år)")
            if y != first and m.fast_ersattning:
                pass  # an explicit override is allowed in later years
    if problems:
        raise ParamsError("Parametrarna är inte konsistenta:\n" + "\n".join(f"  {p}" for p in problems))


def params_dir() -> Path:
    """The parameter directory: ``$VU_PARAMS`` or ``<project>/params``."""
    env = os.environ.get("VU_PARAMS")
    return Path(env) if env else PROJECT_ROOT / "params"


@functools.lru_cache(maxsize=8)
def _load_cached(root: str, stamp: tuple) -> Params:
    base = Path(root)
    reg = _parse(Registry, base / "registry.yaml")
    kat = _parse(NyckeltalKatalog, base / "nyckeltal.yaml")
    years: dict[int, Modellar] = {}
    for f in sorted((base / "modell").glob("*.yaml")):
        if not re.fullmatch(r"\d{4}", f.stem):
            raise ParamsError(f"{f}: modellfiler ska heta efter året, t.ex. 2026.yaml")
        m = _parse(Modellar, f)
        if m.ar != int(f.stem):
            raise ParamsError(f"Fel i parameterfilen {f}:\n  ar: {m.ar} stämmer inte med filnamnet")
        years[m.ar] = m
    _cross_check(base, reg, kat, years)
    return Params(root=base, registry=reg, katalog=kat, ar=years)


def load_params(root: str | Path | None = None) -> Params:
    """Load and validate all parameter files.

    Parameters
    ----------
    root : path, optional
        Parameter directory; default :func:`params_dir`.

    Returns
    -------
    Params
        Cached per directory and file modification times, so repeated calls are free.

    Raises
    ------
    ParamsError
        Naming the file, the key and what was expected.
    """
    base = Path(root) if root is not None else params_dir()
    if not base.is_dir():
        raise ParamsError(f"Parameterkatalogen {base} finns inte")
    files = sorted([base / "registry.yaml", base / "nyckeltal.yaml", *(base / "modell").glob("*.yaml")])
    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files if f.exists())
    return _load_cached(str(base.resolve()), stamp)
