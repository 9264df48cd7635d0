"""SIE 3 and SIE 4 files (the Swedish standard for accounting data) as exports.

Written from the public SIE 1-4 file format specification (sie.se): a line
format in which every record starts with a label (``#KONTO``, ``#VER``...),
fields are separated by spaces or tabs, a field holding spaces is quoted
(``"Hemtjänst Ryd"``, an inner quote written ``\\"``), and an object list is
written in braces, pairs of dimension number and object code
(``{1 "411110" 6 "P12"}``, ``{}`` for none). Vouchers are a ``#VER`` line
followed by a block ``{`` ... ``}`` of ``#TRANS`` lines.

Records read:

* ``#FLAGGA``, ``#FORMAT`` (``PC8`` = IBM code page 437, the standard's
  encoding; other declarations are honoured as a fallback), ``#SIETYP`` (3 or 4),
  ``#KONTO``, ``#DIM``, ``#OBJEKT``;
* ``#PSALDO årsnr period konto {objekt} saldo [kvantitet]``: the period's
  change of a result account, per object;
* ``#PBUDGET`` (same fields): the budget;
* ``#VER serie nr datum ...`` with ``#TRANS konto {objekt} belopp [transdat ...]``.
  ``#RTRANS``/``#BTRANS`` (added/removed rows, 2008 revision) are skipped: an
  added row is followed by an identical ``#TRANS``, which is what is counted.
  Other labels are ignored, as the standard says.

What becomes of it is declared in ``params/sie.yaml`` (:class:`SieMapping`):
which dimension holds Leanlink's ID codes and which SoF's komplement codes,
how an object code becomes our code, and which budget accounts carry budgeted
volumes. The ledger rows are summed per month, code and account (vouchers by
transaction date, else voucher date) and then checked by the same rules as a
CSV ``huvudbok`` (codes in the registry, periods, keys). Accounts outside the
chart of accounts of the code type (balance accounts, financing) and objects
of other dimensions are not part of the follow-up and are skipped.

Every problem names the file, the line and the field (``Problem.column_label``
is ``'fält'``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vu_lib.core.exceptions import InputError, ParamsError, Problem
from vu_lib.core.params import Params, _explain, _read_yaml, load_params, params_dir
from vu_lib.data.contract import KINDS

MAPPING_FILE = "sie.yaml"


# --------------------------------------------------------------------------- mapping (params/sie.yaml)
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SieDimension(_Strict):
    """One SIE dimension whose objects are our units."""

    dim: Annotated[int, Field(ge=1)]
    kodtyp: Literal["ID", "KOMPLEMENT"]
    kod_regex: str = r"^(\d+)$"
    """Extracts our code from the object code: group 1 if the pattern has a group, else the match."""
    objekt: dict[str, str] = {}
    """Explicit object code -> our code; consulted before ``kod_regex``."""
    okanda_objekt: Literal["fel", "ignorera"] = "fel"
    """An object whose code maps to no unit: an error, or skipped (other cost centres)."""

    @field_validator("kod_regex")
    @classmethod
    def _regex(cls, v: str) -> str:
        try:
            rx = re.compile(v)
        except re.error as e:
            raise ValueError(f"ogiltigt reguljärt uttryck: {e}") from None
        if rx.groups > 1:
            raise ValueError("högst en grupp (...) som fångar koden")
        return v


class SieBudget(_Strict):
    """A budget account whose ``#PBUDGET`` records are budgeted volumes."""

    konto: Annotated[str, Field(pattern=r"^\d{3,6}$")]
    matt: Literal["budget_timmar", "budget_belagda_dygn"]
    varde: Literal["kvantitet", "saldo"] = "kvantitet"


class SieMapping(_Strict):
    """``params/sie.yaml``."""

    dimensioner: list[SieDimension]
    kalla: Literal["auto", "verifikationer", "periodsaldon"] = "auto"
    """Where the ledger comes from: auto = the vouchers when the file has any, else #PSALDO."""
    budget: list[SieBudget] = []

    @model_validator(mode="after")
    def _check(self):
        if not 1 <= len(self.dimensioner) <= 2:
            raise ValueError("dimensioner: ange en eller två dimensioner (ID och/eller KOMPLEMENT)")
        if len({d.dim for d in self.dimensioner}) != len(self.dimensioner):
            raise ValueError("dimensioner: samma dimensionsnummer två gånger")
        if len({d.kodtyp for d in self.dimensioner}) != len(self.dimensioner):
            raise ValueError("dimensioner: samma kodtyp två gånger")
        if len({b.konto for b in self.budget}) != len(self.budget):
            raise ValueError("budget: samma konto två gånger")
        return self


def load_mapping(root: str | Path | None = None) -> SieMapping:
    """Read and validate ``<params>/sie.yaml``.

    Raises
    ------
    ParamsError
        The file is missing, not YAML, has an unknown key or a wrong value.
    """
    path = (Path(root) if root is not None else params_dir()) / MAPPING_FILE
    try:
        return SieMapping.model_validate(_read_yaml(path))
    except ValidationError as e:
        raise ParamsError(_explain(path, e)) from None


# --------------------------------------------------------------------------- tokens
class _Syntax(Exception):
    def __init__(self, message: str):
        self.message = message


@dataclass
class _ObjList:
    pairs: list[tuple[str, str]]


_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")


def tokenize(line: str) -> list[str | _ObjList]:
    """Split one SIE line into fields; an object list ``{...}`` becomes an :class:`_ObjList`."""
    out: list = []
    i, n = 0, len(line)
    stack: list[list] | None = None

    def emit(tok):
        (stack if stack is not None else out).append(tok)

    while i < n:
        c = line[i]
        if c in " \t":
            i += 1
        elif c == '"':
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise _Syntax("citattecknet stängs aldrig (\" saknas)")
                if line[j] == "\\" and j + 1 < n and line[j + 1] in '"\\':
                    buf.append(line[j + 1])
                    j += 2
                elif line[j] == '"':
                    break
                else:
                    buf.append(line[j])
                    j += 1
            emit("".join(buf))
            i = j + 1
        elif c == "{":
            if stack is not None:
                raise _Syntax("objektlistor kan inte nästlas ({ inuti {)")
            stack = []
            i += 1
        elif c == "}":
            if stack is None:
                raise _Syntax("} utan motsvarande {")
            if len(stack) % 2:
                raise _Syntax("objektlistan ska bestå av par: dimensionsnummer och objektkod")
            pairs = [(stack[k], stack[k + 1]) for k in range(0, len(stack), 2)]
            for d, _ in pairs:
                if not d.isdigit():
                    raise _Syntax(f'objektlistan: dimensionsnumret "{d}" är inte ett heltal')
            stack = None
            out.append(_ObjList(pairs))
            i += 1
        else:
            j = i
            while j < n and line[j] not in ' \t"{}':
                j += 1
            emit(line[i:j])
            i = j
    if stack is not None:
        raise _Syntax("objektlistan stängs aldrig (} saknas)")
    return out


# --------------------------------------------------------------------------- decoding
_ENCODINGS = {"PC8": "cp437", "PC-8": "cp437", "CP437": "cp437", "IBM437": "cp437",
              "UTF8": "utf-8", "UTF-8": "utf-8",
              "ISO8859-1": "latin-1", "ISO-8859-1": "latin-1", "LATIN1": "latin-1",
              "WIN": "cp1252", "WINDOWS": "cp1252", "ANSI": "cp1252", "CP1252": "cp1252", "WINDOWS-1252": "cp1252"}
_FORMAT_LINE = re.compile(rb"^[ \t]*#FORMAT[ \t]+\"?([^\s\"]*)", re.M)


def _decode(data: bytes, probs: "_Probs") -> tuple[str, str] | None:
    """PC8 (code page 437) per the standard, or what ``#FORMAT`` declares."""
    m = _FORMAT_LINE.search(data)
    declared = m.group(1).decode("ascii", "replace").upper() if m else "PC8"
    line = data.count(b"\n", 0, m.start()) + 1 if m else None
    encoding = _ENCODINGS.get(declared)
    if encoding is None:
        probs.add(line, "#FORMAT", f'okänd teckenkodning "{declared}"; SIE-filer ska ha #FORMAT PC8 '
                                   "(eller UTF8, ISO8859-1, WIN)")
        return None
    if encoding == "cp437" and data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"  # a BOM says UTF-8 whatever the header claims
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        probs.add(data.count(b"\n", 0, e.start) + 1, None,
                  f"byte 0x{data[e.start]:02X} är inte giltig {declared}; exportera om filen med #FORMAT PC8")
        return None
    return text, encoding


# --------------------------------------------------------------------------- problems
class _Probs:
    def __init__(self, file: str):
        self.file = file
        self.items: list[Problem] = []

    def add(self, line: int | None, fld: str | None, message: str) -> None:
        self.items.append(Problem(self.file, line, fld, message, column_label="fält"))


# --------------------------------------------------------------------------- parsed content
@dataclass
class _Line:
    """A period balance or a transaction: what becomes a ledger or budget row."""

    line: int
    period: str
    konto: str
    objekt: list[tuple[str, str]]
    belopp: Decimal
    kvantitet: Decimal | None = None


@dataclass
class SieContent:
    """What a SIE file says, before mapping."""

    sietyp: str = ""
    konton: dict[str, int] = field(default_factory=dict)  # account -> line of #KONTO
    dims: dict[str, int] = field(default_factory=dict)
    objekt: dict[tuple[str, str], int] = field(default_factory=dict)
    psaldo: list[_Line] = field(default_factory=list)
    pbudget: list[_Line] = field(default_factory=list)
    trans: list[_Line] = field(default_factory=list)
    vouchers: int = 0


def _amount(tok, probs: _Probs, line: int, fld: str) -> Decimal | None:
    if not isinstance(tok, str) or not _AMOUNT.fullmatch(tok):
        shown = tok if isinstance(tok, str) else "{...}"
        hint = "; SIE skriver belopp med decimalpunkt, t.ex. -1234.50" if isinstance(tok, str) and "," in tok else ""
        probs.add(line, fld, f'"{shown}" är inte ett belopp{hint}')
        return None
    if "." in tok and len(tok.split(".")[1]) > 2:
        probs.add(line, fld, f'"{tok}" har fler än två decimaler')
        return None
    return Decimal(tok)


def _date(tok, probs: _Probs, line: int, fld: str) -> dt.date | None:
    try:
        if not (isinstance(tok, str) and re.fullmatch(r"\d{8}", tok)):
            raise ValueError
        return dt.date(int(tok[:4]), int(tok[4:6]), int(tok[6:]))
    except ValueError:
        probs.add(line, fld, f'ogiltigt datum "{tok if isinstance(tok, str) else "{...}"}"; skriv ÅÅÅÅMMDD')
        return None


def _need(fields: list, n: int, names: str, probs: _Probs, line: int, label: str) -> bool:
    if len(fields) < n:
        probs.add(line, label, f"för få fält ({len(fields)}); {label} ska ha {names}")
        return False
    return True


def parse(text: str, probs: _Probs) -> SieContent:
    """Parse SIE text into :class:`SieContent`; syntax problems go to ``probs``."""
    c = SieContent()
    open_ver: tuple[int, str, dt.date | None] | None = None  # (line, label, date) of the #VER being read
    in_block = False
    ver_sum = Decimal(0)
    seen_psaldo: dict[tuple, int] = {}
    lines = text.split("\n")
    for no, raw in enumerate(lines, start=1):
        s = raw.strip().rstrip("\r").strip()
        if not s:
            continue
        if s == "{":
            if open_ver is None or in_block:
                probs.add(no, None, "{ utan föregående #VER")
                open_ver = (no, "?", None)
            in_block = True
            continue
        if s == "}":
            if not in_block or open_ver is None:
                probs.add(no, None, "} utan motsvarande {")
            elif open_ver[1] != "?":
                if ver_sum != 0:
                    probs.add(open_ver[0], "#VER", f"verifikationen {open_ver[1]} balanserar inte: "
                                                   f"summan av raderna är {_sv(ver_sum)} (ska vara 0)")
            open_ver, in_block, ver_sum = None, False, Decimal(0)
            continue
        if not s.startswith("#"):
            probs.add(no, None, f'raden börjar inte med en etikett (#...): "{s[:40]}"')
            continue
        try:
            toks = tokenize(s)
        except _Syntax as e:
            probs.add(no, s.split()[0].upper(), e.message)
            if s.split()[0].upper() == "#VER":  # its block follows: read it without a second error
                open_ver, in_block, ver_sum = (no, "?", None), False, Decimal(0)
            continue
        label, fields = toks[0].upper(), toks[1:]
        if open_ver is not None and not in_block:
            probs.add(open_ver[0], "#VER", "{ saknas efter #VER (verifikationens rader ska stå inom { })")
            open_ver = None
        if in_block and label not in ("#TRANS", "#RTRANS", "#BTRANS"):
            probs.add(no, label, f"{label} inom en verifikation; }} saknas efter verifikationen på rad {open_ver[0]}")
            open_ver, in_block, ver_sum = None, False, Decimal(0)
        if label == "#SIETYP":
            if _need(fields, 1, "typnummer", probs, no, label):
                c.sietyp = str(fields[0])
                if c.sietyp not in ("3", "4"):
                    probs.add(no, label, f"SIE typ {c.sietyp} stöds inte: typ 1 och 2 saknar objekt; "
                                         "exportera SIE typ 3 (objektsaldon) eller 4 (verifikationer)")
        elif label == "#KONTO":
            if _need(fields, 1, "kontonummer och namn", probs, no, label):
                if not (isinstance(fields[0], str) and fields[0].isdigit()):
                    probs.add(no, "#KONTO kontonr", f'ogiltigt kontonummer "{fields[0]}"')
                else:
                    c.konton.setdefault(fields[0], no)
        elif label == "#DIM":
            if _need(fields, 1, "dimensionsnummer och namn", probs, no, label):
                c.dims.setdefault(str(fields[0]), no)
        elif label == "#OBJEKT":
            if _need(fields, 2, "dimensionsnummer, objektkod och namn", probs, no, label):
                c.objekt.setdefault((str(fields[0]), str(fields[1])), no)
        elif label in ("#PSALDO", "#PBUDGET"):
            rec = _balance(label, fields, probs, no)
            if rec is not None:
                if label == "#PSALDO":
                    key = (fields[0], rec.period, rec.konto, tuple(rec.objekt))
                    first = seen_psaldo.setdefault(key, no)
                    if first != no:
                        probs.add(no, label, f"samma period, konto och objekt som rad {first} (dubblettpost)")
                        continue
                (c.psaldo if label == "#PSALDO" else c.pbudget).append(rec)
        elif label == "#VER":
            if _need(fields, 3, "serie, verifikationsnummer och datum", probs, no, label):
                d = _date(fields[2], probs, no, "#VER verdatum")
                open_ver = (no, f"{fields[0]} {fields[1]}".strip(), d)
                c.vouchers += 1
            else:
                open_ver = (no, "?", None)
            in_block, ver_sum = False, Decimal(0)
        elif label == "#TRANS":
            if not in_block:
                probs.add(no, label, "#TRANS utanför en verifikation (ska stå inom { } efter en #VER)")
                continue
            if not _need(fields, 3, "konto, {objektlista} och belopp", probs, no, label):
                continue
            konto, objs, amount = fields[0], fields[1], fields[2]
            if not isinstance(objs, _ObjList):
                probs.add(no, "#TRANS objektlista", "objektlistan saknas (skriv {} för inga objekt)")
                continue
            b = _amount(amount, probs, no, "#TRANS belopp")
            d = open_ver[2]
            if len(fields) > 3 and isinstance(fields[3], str) and fields[3]:
                d = _date(fields[3], probs, no, "#TRANS transdat")
            if b is None or d is None:
                continue
            ver_sum += b
            c.trans.append(_Line(no, f"{d.year:04d}-{d.month:02d}", str(konto), objs.pairs, b))
        # other labels (#FLAGGA, #PROGRAM, #GEN, #FNAMN, #RAR, #KTYP, #IB, #UB, #RES, #RTRANS, #BTRANS, ...) are not needed
    if in_block or (open_ver is not None):
        probs.add(open_ver[0] if open_ver else len(lines), "#VER",
                  "verifikationen avslutas aldrig (} saknas före filens slut)")
    return c


def _balance(label: str, fields: list, probs: _Probs, no: int) -> _Line | None:
    if not _need(fields, 5, "årsnr, period, konto, {objektlista} och saldo", probs, no, label):
        return None
    _, period, konto, objs, saldo = fields[:5]
    if not (isinstance(period, str) and re.fullmatch(r"\d{4}(0[1-9]|1[0-2])", period)):
        probs.add(no, f"{label} period", f'ogiltig period "{period if isinstance(period, str) else "{...}"}"; skriv ÅÅÅÅMM')
        return None
    if not isinstance(objs, _ObjList):
        probs.add(no, f"{label} objektlista", "objektlistan saknas (skriv {} för inga objekt)")
        return None
    b = _amount(saldo, probs, no, f"{label} saldo")
    q = None
    if len(fields) > 5 and isinstance(fields[5], str) and fields[5]:
        q = _amount(fields[5], probs, no, f"{label} kvantitet")
        if q is None:
            return None
    if b is None:
        return None
    return _Line(no, f"{period[:4]}-{period[4:]}", str(konto), objs.pairs, b, q)


def _sv(d: Decimal) -> str:
    s = f"{abs(d):,.2f}".replace(",", " ").replace(".", ",")
    return ("\u2212" if d < 0 else "") + s


# --------------------------------------------------------------------------- mapping to the contract
def _code_for(dim: SieDimension, obj: str) -> str | None:
    if obj in dim.objekt:
        return dim.objekt[obj]
    m = re.search(dim.kod_regex, obj)
    if not m:
        return None
    return m.group(1) if m.re.groups else m.group(0)


def read_sie(path: str | Path, *, params: Params | None = None, today: dt.date | None = None,
             mapping: SieMapping | None = None):
    """Read one SIE 3/4 file into a ``huvudbok`` file (and a ``volymer`` budget file).

    Returns
    -------
    list of vu_lib.readers.ParsedFile
        The ledger (when the file has rows for the mapped dimensions) and, when
        the mapping names budget accounts and the file budgets them, the budgeted
        volumes (scope ``delomfang='BUDGET'``: they replace only the budget
        measures of their months).

    Raises
    ------
    InputError
        Every problem with file, line and field.
    """
    from vu_lib.data.readers import ParsedFile, _Problems, _Raw, _validate

    path = Path(path)
    params = params if params is not None else load_params()
    mapping = mapping if mapping is not None else load_mapping(params.root)
    today = today or dt.date.today()
    probs = _Probs(str(path))

    def fail():
        raise InputError(probs.items)

    if not path.is_file():
        probs.add(None, None, "filen finns inte" if not path.exists() else "är en katalog, inte en fil")
        fail()
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    decoded = _decode(data, probs)
    if decoded is None:
        fail()
    text, encoding = decoded
    if not text.strip():
        probs.add(None, None, "filen är tom")
        fail()
    if not text.lstrip("\ufeff \t\r\n").startswith("#"):
        probs.add(1, None, "filen är inte en SIE-fil (första raden ska börja med en etikett som #FLAGGA)")
        fail()
    c = parse(text, probs)
    if not c.sietyp and not probs.items:
        probs.add(None, "#SIETYP", "#SIETYP saknas; filen ska ange SIE typ 3 eller 4")
    if probs.items:
        fail()

    dims = {str(d.dim): d for d in mapping.dimensioner}
    for d in mapping.dimensioner:
        if str(d.dim) not in c.dims:
            probs.add(None, "#DIM", f"dimension {d.dim} ({d.kodtyp} enligt params/{MAPPING_FILE}) finns inte i filen "
                                    f"(ingen #DIM {d.dim}); filens dimensioner: {', '.join(sorted(c.dims)) or 'inga'}")
    if probs.items:
        fail()
    id_units = {e.id_kod: (v.id, e.kluster) for v in params.registry.alla for e in v.enheter}
    kompl_units = {e.komplement_kod: (v.id, e.kluster) for v in params.registry.alla for e in v.enheter}
    units = {"ID": id_units, "KOMPLEMENT": kompl_units}
    kontoplan = {k: [(int(r.fran), int(r.till)) for r in rs] for k, rs in params.registry.kontoplan.items()}

    def target(rec: _Line, rectype: str, only_single: bool) -> tuple[str, str] | None:
        """(kodtyp, our code) of a record, or None when it is not ours."""
        hits = [(d, o) for d, o in rec.objekt if d in dims]
        if only_single and len(rec.objekt) != 1:
            return None  # #PSALDO/#PBUDGET on a combination of objects: the single-object records suffice
        if not hits:
            return None
        if len(hits) > 1:
            probs.add(rec.line, f"{rectype} objektlista",
                      "raden har objekt i både ID- och KOMPLEMENT-dimensionen; en rad kan bara höra till en av dem")
            return None
        d, o = hits[0]
        if (d, o) not in c.objekt:
            probs.add(rec.line, f"{rectype} objektlista", f'objektet "{o}" i dimension {d} saknar #OBJEKT-post')
            return None
        dim = dims[d]
        code = _code_for(dim, o)
        if code is None or code not in units[dim.kodtyp]:
            if dim.okanda_objekt == "ignorera":
                return None
            what = f'ger koden "{code}", som' if code is not None else "matchar inte kod_regex och"
            name = "id_kod" if dim.kodtyp == "ID" else "komplement_kod"
            probs.add(rec.line, f"{rectype} objektlista",
                      f'objektet "{o}" i dimension {d} ({dim.kodtyp}) {what} inte är en {name} i '
                      f"params/registry.yaml; lägg till objektet under objekt: i params/{MAPPING_FILE}, "
                      "eller sätt okanda_objekt: ignorera")
            return None
        if rec.konto not in c.konton:
            probs.add(rec.line, f"{rectype} konto", f"kontot {rec.konto} saknar #KONTO-post")
            return None
        return dim.kodtyp, code

    source = mapping.kalla
    if source == "auto":
        source = "verifikationer" if c.trans else "periodsaldon"
    if source == "verifikationer" and not c.trans and c.vouchers == 0:
        probs.add(None, None, f"params/{MAPPING_FILE} anger kalla: verifikationer men filen har inga #VER")
    records, rectype = (c.trans, "#TRANS") if source == "verifikationer" else (c.psaldo, "#PSALDO")
    ledger: dict[tuple[str, str, str, str], list] = {}
    for rec in records:
        t = target(rec, rectype, only_single=rectype == "#PSALDO")
        if t is None:
            continue
        kodtyp, code = t
        n = int(rec.konto) if rec.konto.isdigit() else -1
        if not any(a <= n <= b for a, b in kontoplan.get(kodtyp, [])):
            continue  # not part of the follow-up (balance accounts, financing, ...)
        key = (rec.period, kodtyp, code, rec.konto)
        acc = ledger.setdefault(key, [rec.line, Decimal(0), 0])
        acc[1] += rec.belopp
        acc[2] += 1

    budget_accounts = {b.konto: b for b in mapping.budget}
    current = f"{today.year:04d}-{today.month:02d}"
    volumes: dict[tuple[str, str, str, str], list] = {}
    for rec in c.pbudget:
        b = budget_accounts.get(rec.konto)
        if b is None or rec.period > current:
            continue  # amount budgets have no place in the contract; future months are not accepted
        t = target(rec, "#PBUDGET", only_single=True)
        if t is None:
            continue
        kodtyp, code = t
        value = rec.kvantitet if b.varde == "kvantitet" else rec.belopp
        if value is None:
            probs.add(rec.line, "#PBUDGET kvantitet",
                      f"kvantitet saknas; budgetkontot {rec.konto} ger {b.matt} ur kvantitetsfältet")
            continue
        vu, kluster = units[kodtyp][code]
        acc = volumes.setdefault((rec.period, vu, kluster, b.matt), [rec.line, Decimal(0)])
        acc[1] += value
    if probs.items:
        fail()
    if not ledger and not volumes:
        probs.add(None, None, "filen har inga rader för de dimensioner och konton som följs upp "
                              f"(dimensioner enligt params/{MAPPING_FILE}: "
                              f"{', '.join(f'{d.dim} = {d.kodtyp}' for d in mapping.dimensioner)})")
        fail()

    out = []
    fieldnames = {"period": f"{rectype} period", "kod": f"{rectype} objektlista", "konto": f"{rectype} konto",
                  "belopp": f"{rectype} belopp", "kodtyp": f"{rectype} objektlista"}
    if ledger:
        kind = KINDS["huvudbok"]
        keys = sorted(ledger)
        rows = [{"period": p, "kodtyp": k, "kod": code, "konto": konto,
                 "verifikation": f"SIE {rectype} ({ledger[key][2]} st)", "belopp": _contract_number(ledger[key][1])}
                for key in keys for p, k, code, konto in [key]]
        out.append(_checked(path, kind, rows, [ledger[k][0] for k in keys], params, today, digest,
                            encoding, fieldnames, "", _Problems, _Raw, _validate, ParsedFile))
    if volumes:
        kind = KINDS["volymer"]
        keys = sorted(volumes)
        rows = [{"period": p, "vu": vu, "kluster": kl, "matt": matt, "varde": _contract_number(volumes[key][1])}
                for key in keys for p, vu, kl, matt in [key]]
        out.append(_checked(path, kind, rows, [volumes[k][0] for k in keys], params, today, digest, encoding,
                            {"period": "#PBUDGET period", "varde": "#PBUDGET kvantitet"}, "BUDGET",
                            _Problems, _Raw, _validate, ParsedFile))
    return out


def _contract_number(d: Decimal) -> str:
    return format(d.quantize(Decimal("0.01")), "f").replace(".", ",")


def _checked(path, kind, rows, linenos, params, today, digest, encoding, fieldnames, delomfang,
             _Problems, _Raw, _validate, ParsedFile):
    """Run the contract's checks on the mapped rows; problems point at the SIE line and field."""
    names = [c.name for c in kind.columns]  # columns a SIE file does not fill stay empty
    body = pd.DataFrame([[r.get(n, "") for n in names] for r in rows], columns=range(len(names)), dtype=object)
    raw = _Raw(names, body, np.array(linenos, dtype=np.int64), encoding)
    probs = _Problems(str(path))
    frame = _validate(raw, names, kind, params, today, probs)
    if probs:
        raise InputError([Problem(p.file, p.row, fieldnames.get(p.column, p.column) if p.column else None,
                                  p.message, p.count, column_label="fält") for p in probs.listing()])
    periods = sorted(pd.unique(frame["period"]).tolist())
    return ParsedFile(path=path, kind=kind, frame=frame, rows=len(frame), sha256=digest, periods=periods,
                      encoding=f"sie/{encoding}", rownums=raw.rownums, delomfang=delomfang)
