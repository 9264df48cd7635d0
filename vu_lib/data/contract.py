"""The data contract: the export files vu reads, as data.

Four kinds of file come from the financial and decision-support systems. Each
kind is a table with the columns below; ``docs/data-contract.md`` is the
user-facing description of the same contract and must be kept in step with it.

Common rules (enforced by :mod:`vu_lib.readers`):

* CSV with ``;`` as separator, decimal comma (``1 234,50``; space, no-break
  space or none as thousands separator; ``-`` or the true minus sign ``−``),
  UTF-8 with or without BOM, or Windows-1252. Or ``.xlsx`` with one sheet named
  after the kind (``huvudbok``, ``volymer``, ``bemanning``, ``medel``).
* ``period`` is a month, ``ÅÅÅÅ-MM`` or ``ÅÅÅÅMM``; it may not lie after the
  current month.
* Column names are case-insensitive; column order is free; unknown columns are
  an error (a misspelt column must not be silently ignored).
* The key columns of a kind identify a row: the same key twice is an error.
* A file of one kind replaces, in the store, all rows of that kind for the
  periods it contains (see :mod:`vu_lib.store`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColType = Literal["period", "text", "code", "decimal", "int", "date", "enum"]


@dataclass(frozen=True)
class Column:
    """One column of an export file."""

    name: str
    type: ColType
    description: str
    unit: str = ""
    required: bool = True
    """False: the column may be absent from the file, or a cell may be empty."""
    choices: tuple[str, ...] = ()
    min_value: float | None = None
    example: str = ""


@dataclass(frozen=True)
class FileKind:
    """One kind of export file."""

    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    replaces_by: str = "period"

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


#: Volume measures (``volymer.matt``): unit, whether the row is split by utförare, and (``kon``)
#: whether it counts persons and so may be split by gender (``volymer.kon``).
MEASURES: dict[str, dict] = {
    "utforda_timmar": {"enhet": "timmar", "utforare": True, "namn": "Utförda timmar"},
    "budget_timmar": {"enhet": "timmar", "utforare": False, "namn": "Budgeterade timmar för Leanlink"},
    "planerade_timmar": {"enhet": "timmar", "utforare": False, "namn": "Planerade timmar"},
    "platser": {"enhet": "platser", "utforare": False, "namn": "Antal platser (genomsnitt under månaden)"},
    "tillgangliga_dygn": {"enhet": "dygn", "utforare": False, "namn": "Tillgängliga dygn (platser × dagar)"},
    "belagda_dygn": {"enhet": "dygn", "utforare": False, "namn": "Belagda dygn"},
    "budget_belagda_dygn": {"enhet": "dygn", "utforare": False, "namn": "Budgeterade belagda dygn"},
    "brukare": {"enhet": "personer", "utforare": False, "namn": "Antal unika brukare under månaden", "kon": True},
    "oppetdagar": {"enhet": "dagar", "utforare": False, "namn": "Antal öppetdagar"},
    "oppettimmar": {"enhet": "timmar", "utforare": False, "namn": "Antal öppettimmar"},
    "besok": {"enhet": "besök", "utforare": False, "namn": "Antal besök"},
    "unika_besok": {"enhet": "besök", "utforare": False, "namn": "Antal unika besök", "kon": True},
    "besokare": {"enhet": "besökare", "utforare": False, "namn": "Antal besökare", "kon": True},
    "utredningar": {"enhet": "antal", "utforare": True, "namn": "Antal utredningar"},
    "handledningar": {"enhet": "antal", "utforare": True, "namn": "Antal handledningar"},
    "digitala_besok": {"enhet": "besök", "utforare": False, "namn": "Antal digitala besök"},
    "fysiska_besok": {"enhet": "besök", "utforare": False, "namn": "Antal fysiska besök"},
}

UTFORARE = ("leanlink", "privat")
#: Gender of a person count (``volymer.kon``): K kvinnor, M män; empty = the total.
KON = ("K", "M")
MEDEL_TYPER = {
    "statsbidrag": "Statsbidrag eller liknande",
    "oforutsedd_handelse": "Oförutsedd händelse (övertagande av verksamhet, större förändring inom uppdraget)",
    "riktad_satsning": "Riktad satsning från nämnd",
}

HUVUDBOK = FileKind(
    name="huvudbok",
    title="Huvudbok (utfall per månad och kod)",
    description=(
        "Bokfört utfall från ekonomisystemet, en rad per verifikationsrad. Leanlinks bokningar "
        "på ID-nivå (enhetens id_kod), SoF:s på komplementnivå (enhetens komplement_kod). "
        "Belopp som bokförda: debet positivt, kredit negativt."
    ),
    columns=(
        Column("period", "period", "Bokföringsmånad", example="2026-08"),
        Column("kodtyp", "enum", "ID (Leanlink) eller KOMPLEMENT (SoF)", choices=("ID", "KOMPLEMENT"), example="ID"),
        Column("kod", "code", "Enhetens id_kod (6 siffror) eller komplement_kod (5 siffror) enligt params/registry.yaml", example="411110"),
        Column("konto", "code", "Konto, 4 siffror, inom kontoplanen för kodtypen", example="5011"),
        Column("verifikation", "text", "Verifikationsnummer och rad", example="V2026-08-000123:1"),
        Column("belopp", "decimal", "Belopp, debet positivt och kredit negativt", unit="kr", example="-1 234 567,89"),
        Column("text", "text", "Fri text", required=False, example="Löner augusti"),
    ),
    key=("period", "kodtyp", "kod", "konto", "verifikation"),
)

VOLYMER = FileKind(
    name="volymer",
    title="Volymer (beslutsstödssystemet)",
    description="Volymmått per månad, VU och kluster, i förekommande fall per enhet och utförare.",
    columns=(
        Column("period", "period", "Månad", example="2026-08"),
        Column("vu", "enum", "Verksamhetsuppdragets id (eller EKB)", example="AN-OMR-NV"),
        Column("kluster", "enum", "Klustrets id inom uppdraget", example="hemtjanst"),
        Column("enhet", "code", "Enhetens id_kod när måttet gäller en enhet; tomt för hela klustret", required=False, example=""),
        Column("matt", "enum", "Volymmått, se tabellen över mått", choices=tuple(MEASURES), example="utforda_timmar"),
        Column("utforare", "enum", "leanlink eller privat för mått som delas per utförare, annars tomt", required=False, choices=UTFORARE, example="leanlink"),
        Column("kon", "enum", "K (kvinnor) eller M (män) för personantal som delas per kön; tomt för totalen",
               required=False, choices=KON, example=""),
        Column("varde", "decimal", "Värde i måttets enhet", min_value=0, example="18 412,5"),
    ),
    key=("period", "vu", "kluster", "enhet", "matt", "utforare", "kon"),
)

BEMANNING = FileKind(
    name="bemanning",
    title="Bemanning (årsarbetare per utbildningsnivå och enhet)",
    description="Genomsnittligt antal årsarbetare under månaden per enhet och utbildningsnivå.",
    columns=(
        Column("period", "period", "Månad", example="2026-08"),
        Column("kod", "code", "Enhetens id_kod", example="414210"),
        Column("utbildningsniva", "enum", "Utbildningsnivå, en nyckel i schablon.faktorer i params/modell", example="underskoterska"),
        Column("arsarbetare", "decimal", "Årsarbetare", unit="åa", min_value=0, example="12,4"),
    ),
    key=("period", "kod", "utbildningsniva"),
)

MEDEL = FileKind(
    name="medel",
    title="Förändring av medel utanför budgetprocessen",
    description="Medel som tilldelats Leanlink under året utanför den ordinarie budgetprocessen, per utbetalningsmånad.",
    columns=(
        Column("id", "text", "Ärendets id, unikt", example="MED-2026-03"),
        Column("period", "period", "Utbetalningsmånad", example="2026-03"),
        Column("vu", "enum", "Verksamhetsuppdragets id (eller EKB)", example="SON-BO-VUX"),
        Column("typ", "enum", "Typ av medel", choices=tuple(MEDEL_TYPER), example="statsbidrag"),
        Column("belopp", "decimal", "Belopp som betalas ut den månaden (negativt vid återbetalning)", unit="kr", example="850 000,00"),
        Column("beskrivning", "text", "Vad medlen avser", example="Statsbidrag för ökad bemanning"),
        Column("aterrapporteringskrav", "text", "Vad Leanlink ska återrapportera till SoF", example="Redovisning av använda medel per kvartal"),
        Column("aterrapportering_senast", "date", "Sista dag för återrapportering (ÅÅÅÅ-MM-DD)", required=False, example="2027-01-31"),
    ),
    key=("id",),
)

KINDS: dict[str, FileKind] = {k.name: k for k in (HUVUDBOK, VOLYMER, BEMANNING, MEDEL)}
