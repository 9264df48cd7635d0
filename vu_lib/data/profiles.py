"""Column profiles: the municipality's own export layouts mapped onto the data contract.

A profile is a YAML file ``params/import/<namn>.yaml`` (validated: unknown keys
and wrong values fail with the file and the key). It says which contract kind
the export is, which export column is which contract column, how to extract a
code from a cell (``"411110 Hemtjänst Skäggetorp"`` -> ``411110``), how periods
are written (``"2026 01"``), the sign convention of amounts, constants for
contract columns the export does not have, and, for volumes, which value
columns are which measure (a "wide" report with one column per measure, a
budget column among them).

``vu ingest --profil NAMN FIL`` reads a file through a profile; without
``--profil``, a CSV file whose header is not the contract's is matched against
every profile: exactly one must match (every header column known to the
profile, every column the profile needs present).

The mapped rows then pass the same checks as a contract file (codes in the
registry, chart of accounts, periods, keys); problems name the file, the row
and the export's own column name.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vu_lib.core.exceptions import InputError, ParamsError, Problem
from vu_lib.core.params import Params, _explain, _read_yaml, load_params
from vu_lib.data.contract import KINDS, MEASURES

PROFILE_DIR = "import"
_REVENUE = ("ersattning", "medel", "ovrig_intakt")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mattkolumn(_Strict):
    """A value column of a wide volume report: which measure (and utförare) it holds."""

    matt: str
    utforare: Literal["leanlink", "privat"] | None = None

    @field_validator("matt")
    @classmethod
    def _matt(cls, v: str) -> str:
        if v not in MEASURES:
            raise ValueError(f"okänt mått '{v}'; kända mått: {', '.join(MEASURES)}")
        return v


def _check_regex(v: str) -> str:
    try:
        rx = re.compile(v)
    except re.error as e:
        raise ValueError(f"ogiltigt reguljärt uttryck {v!r}: {e}") from None
    if rx.groups > 1:
        raise ValueError(f"{v!r}: högst en grupp (...) som fångar koden")
    return v


class Profile(_Strict):
    """``params/import/<namn>.yaml``."""

    beskrivning: str
    typ: Literal["huvudbok", "volymer", "bemanning", "medel"]
    kolumner: dict[str, str]
    """Export column name -> contract column."""
    konstanter: dict[str, str] = {}
    """Contract column -> a value for every row (e.g. ``kodtyp: ID``)."""
    koder: dict[str, str] = {}
    """Contract column -> regular expression extracting the code (group 1, or the whole match)."""
    period_format: Annotated[str, Field(min_length=4)] = "ÅÅÅÅ-MM"
    """How the export writes a month: ÅÅÅÅ and MM in any surrounding text, e.g. ``ÅÅÅÅ MM``, ``MM/ÅÅÅÅ``."""
    tecken: Literal["bokfort", "omvant", "naturligt"] = "bokfort"
    """huvudbok amounts: as booked (debit +), reversed, or natural (revenues and costs both positive)."""
    mattkolumner: dict[str, Mattkolumn] = {}
    """volymer: value column -> measure; each non-empty cell becomes a row."""
    ignorera: list[str] = []
    """Export columns that are read past (names, texts the follow-up does not need)."""

    @field_validator("koder")
    @classmethod
    def _koder(cls, v: dict[str, str]) -> dict[str, str]:
        for rx in v.values():
            _check_regex(rx)
        return v

    @field_validator("period_format")
    @classmethod
    def _pf(cls, v: str) -> str:
        if v.count("ÅÅÅÅ") != 1 or v.replace("ÅÅÅÅ", "").count("MM") != 1:
            raise ValueError("period_format ska innehålla ÅÅÅÅ och MM en gång var, t.ex. 'ÅÅÅÅ MM'")
        return v

    @model_validator(mode="after")
    def _check(self):
        kind = KINDS[self.typ]
        names = {c.name for c in kind.columns}
        mapped = list(self.kolumner.values())
        for target in mapped + list(self.konstanter) + list(self.koder):
            if target not in names:
                raise ValueError(f"'{target}' är ingen kolumn i {self.typ} (kolumner: {', '.join(sorted(names))})")
        dup = sorted({t for t in mapped if mapped.count(t) > 1} | (set(mapped) & set(self.konstanter)))
        if dup:
            raise ValueError(f"kolumnen {', '.join(dup)} anges mer än en gång (kolumner/konstanter)")
        if self.mattkolumner and self.typ != "volymer":
            raise ValueError("mattkolumner finns bara för typ volymer")
        given = set(mapped) | set(self.konstanter)
        if self.mattkolumner:
            given |= {"matt", "utforare", "varde"}
        if self.typ == "huvudbok":
            given.add("verifikation")  # the row number when the export has none
        missing = [c.name for c in kind.columns if c.required and c.name not in given]
        if missing:
            raise ValueError(f"{self.typ} kräver {', '.join(missing)}: ange en kolumn eller en konstant")
        if self.tecken != "bokfort" and self.typ != "huvudbok":
            raise ValueError("tecken gäller bara huvudbok")
        return self

    def export_columns(self) -> set[str]:
        return {c.strip().lower() for c in [*self.kolumner, *self.mattkolumner, *self.ignorera]}

    def required_columns(self) -> set[str]:
        return {c.strip().lower() for c in [*self.kolumner, *self.mattkolumner]}

    def matches(self, header: list[str]) -> bool:
        present = {h.strip().lower() for h in header if h.strip()}
        return self.required_columns() <= present <= self.export_columns()


def profile_dir(params: Params) -> Path:
    return Path(params.root) / PROFILE_DIR


def load_profiles(params: Params | None = None) -> dict[str, Profile]:
    """Every profile in ``params/import/``, by name (the file stem); validated."""
    params = params if params is not None else load_params()
    out = {}
    folder = profile_dir(params)
    for f in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            out[f.stem] = Profile.model_validate(_read_yaml(f))
        except ValidationError as e:
            raise ParamsError(_explain(f, e)) from None
    return out


def load_profile(name: str, params: Params | None = None) -> Profile:
    profiles = load_profiles(params)
    if name not in profiles:
        known = ", ".join(profiles) or "inga"
        raise ParamsError(f'importprofilen "{name}" finns inte i {profile_dir(params or load_params())} '
                          f"(profiler: {known})")
    return profiles[name]


def _period_regex(fmt: str) -> re.Pattern:
    rx = re.escape(fmt).replace("ÅÅÅÅ", r"(?P<y>\d{4})").replace("MM", r"(?P<m>\d{1,2})")
    return re.compile(rx)


# --------------------------------------------------------------------------- reading
def read_header(path: Path) -> list[str] | None:
    """The header cells of a CSV file (``;``), or None when it cannot be read as such."""
    from vu_lib.data.readers import _decode, _Problems

    try:
        with open(path, "rb") as fh:
            data = fh.readline(1 << 20)  # the header line only: a cut multi-byte character would mislead _decode
    except OSError:
        return None
    decoded = _decode(data, _Problems(str(path)))
    if decoded is None:
        return None
    first = decoded[0].split("\n", 1)[0].rstrip("\r").lstrip("\ufeff")
    return [c.strip().strip('"') for c in first.split(";")]


def detect(path: Path, params: Params) -> tuple[str, Profile] | None:
    """The one profile matching the file's header; None when none does and the header looks
    like the contract's (a contract column name, or fewer than two ``;``-separated names: the
    contract's own checks then explain what is wrong).

    Raises
    ------
    InputError
        The header is neither the contract's nor exactly one profile's.
    """
    header = read_header(path)
    if header is None:
        return None
    names = {h.lower() for h in header if h}
    profiles = load_profiles(params)
    hits = [(n, p) for n, p in profiles.items() if p.matches(header)]
    if len(hits) == 1:
        return hits[0]
    shown = ";".join(header)
    if not hits:
        contract = {c.name for k in KINDS.values() for c in k.columns}
        if len(names) < 2 or names & contract:
            # empty, another separator, or the contract's layout: its own checks explain the mistake
            return None
        known = ", ".join(profiles) or "inga"
        raise InputError([Problem(str(path), 1, None,
                                  f'rubrikraden "{shown}" passar varken datakontraktet eller någon importprofil '
                                  f"i {profile_dir(params)} (profiler: {known}); skriv en profil för exporten "
                                  "(se docs/data-contract.md) eller exportera enligt datakontraktet")])
    raise InputError([Problem(str(path), 1, None,
                              f'rubrikraden "{shown}" passar flera importprofiler ({", ".join(n for n, _ in hits)}); '
                              "ange vilken med --profil NAMN")])


def read_with_profile(path: str | Path, name: str, profile: Profile, *, params: Params | None = None,
                      today: dt.date | None = None):
    """Read a CSV export through a profile into a contract :class:`~vu_lib.data.readers.ParsedFile`."""
    from vu_lib.data.readers import ParsedFile, _Problems, _Raw, _read_csv, _require_file, _validate

    path = Path(path)
    params = params if params is not None else load_params()
    today = today or dt.date.today()
    probs = _Problems(str(path))

    def fail():
        raise InputError(probs.listing())

    _require_file(path, probs)
    data = path.read_bytes()
    raw = _read_csv(data, probs)
    if raw is None or probs:
        fail()
    header = [h.strip().strip("\ufeff") for h in raw.header]
    lower = [h.lower() for h in header]
    known = profile.export_columns()
    for j, h in enumerate(lower):
        if h and h not in known:
            probs.add(1, header[j], f'okänd kolumn för importprofilen "{name}" (kolumner där: '
                                    f"{', '.join([*profile.kolumner, *profile.mattkolumner, *profile.ignorera])})")
    for col in [*profile.kolumner, *profile.mattkolumner]:
        if col.strip().lower() not in lower:
            probs.add(1, col, f'kolumnen saknas (importprofilen "{name}" kräver den)')
    if probs:
        fail()
    if len(raw.rownums) == 0:
        probs.add(None, None, "filen har en rubrikrad men inga datarader")
        fail()
    kind = KINDS[profile.typ]
    n = len(raw.rownums)
    pos = {h: j for j, h in enumerate(lower)}
    source: dict[str, str] = {}  # contract column -> export column (for the problems)
    cols: dict[str, np.ndarray] = {}
    for exp, target in profile.kolumner.items():
        values = raw.body[pos[exp.strip().lower()]].to_numpy(dtype=object)
        source[target] = exp
        cols[target] = _transform(values, target, exp, profile, raw.rownums, probs)
    for target, value in profile.konstanter.items():
        cols[target] = np.full(n, value, dtype=object)
    if kind.name == "huvudbok" and "verifikation" not in cols:
        cols["verifikation"] = np.array([f"{name}:rad {r}" for r in raw.rownums], dtype=object)
    if kind.name == "huvudbok" and profile.tecken != "bokfort":
        cols["belopp"] = _signed(cols, profile, params)
    rownums = raw.rownums
    if profile.mattkolumner:
        parts, nums = [], []
        for exp, m in profile.mattkolumner.items():
            values = raw.body[pos[exp.strip().lower()]].to_numpy(dtype=object)
            keep = np.array([str(v).strip() != "" for v in values], dtype=bool)
            part = {c: cols[c][keep] for c in cols}
            part["matt"] = np.full(keep.sum(), m.matt, dtype=object)
            part["utforare"] = np.full(keep.sum(), m.utforare or "", dtype=object)
            part["varde"] = values[keep]
            parts.append(part)
            nums.append(rownums[keep])
            source.setdefault("varde", exp)
        cols = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
        rownums = np.concatenate(nums)
        order = np.argsort(rownums, kind="stable")
        cols = {c: v[order] for c, v in cols.items()}
        rownums = rownums[order]
    names = [c.name for c in kind.columns]
    m = len(rownums)
    body = pd.DataFrame({j: cols.get(c, np.full(m, "", dtype=object)) for j, c in enumerate(names)})
    checked = _Problems(str(path))
    frame = _validate(_Raw(names, body, rownums, raw.encoding), names, kind, params, today, checked)
    if checked or probs:
        # a cell already refused while mapping is not reported a second time by the contract's checks
        seen = {(p.row, p.column) for p in probs.items}
        mapped = [Problem(p.file, p.row, source.get(p.column, p.column) if p.column else None, p.message)
                  for p in checked.listing()]
        probs.items.extend(p for p in mapped if (p.row, p.column) not in seen)
        fail()
    periods = sorted(pd.unique(frame["period"]).tolist())
    return ParsedFile(path=path, kind=kind, frame=frame, rows=len(frame), sha256=hashlib.sha256(data).hexdigest(),
                      periods=periods, encoding=f"profil {name}/{raw.encoding}", rownums=rownums)


def _transform(values: np.ndarray, target: str, exp: str, profile: Profile, rownums, probs) -> np.ndarray:
    out = np.array([str(v).strip() for v in values], dtype=object)
    if target in profile.koder:
        rx = re.compile(profile.koder[target])
        for i, v in enumerate(out):
            if not v:
                continue
            m = rx.search(v)
            if m is None:
                probs.add(int(rownums[i]), exp, f'koden kan inte utläsas ur "{v}" (mönster {profile.koder[target]})')
            else:
                out[i] = m.group(1) if rx.groups else m.group(0)
    col = KINDS[profile.typ].column(target)
    if col.type == "period":
        rx = _period_regex(profile.period_format)
        for i, v in enumerate(out):
            m = rx.fullmatch(v)
            if m is None:
                if v:
                    probs.add(int(rownums[i]), exp, f'perioden "{v}" har inte formen {profile.period_format}')
                continue
            out[i] = f"{m.group('y')}-{int(m.group('m')):02d}"
    return out


def _signed(cols: dict[str, np.ndarray], profile: Profile, params: Params) -> np.ndarray:
    """Amounts turned to the contract's sign (debit +) as text."""
    ranges = {k: [(int(r.fran), int(r.till), r.kontoslag) for r in rs] for k, rs in params.registry.kontoplan.items()}

    def flip(s: str) -> str:
        s = s.strip()
        if not s:
            return s
        if s[0] in "-\u2212":
            return s[1:]
        return "-" + s

    out = cols["belopp"].copy()
    for i, v in enumerate(out):
        if profile.tecken == "omvant":
            out[i] = flip(v)
            continue
        konto, kodtyp = cols.get("konto", [""] * len(out))[i], cols.get("kodtyp", [""] * len(out))[i]
        if not str(konto).isdigit():
            continue
        slag = next((s for a, b, s in ranges.get(str(kodtyp).upper(), []) if a <= int(konto) <= b), None)
        if slag in _REVENUE:  # natural sign: revenue shown positive, booked as credit (negative)
            out[i] = flip(v)
    return out
