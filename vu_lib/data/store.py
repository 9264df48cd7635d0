"""The store: an embedded DuckDB file holding every loaded export.

:func:`ingest_files` validates files and loads them; :func:`validate_files`
only validates; :func:`store_fingerprint` identifies the stored content
cheaply (the report batch keys its cache on it).

Semantics of a load
-------------------
* All files are validated first, without opening the store. Any problem
  raises :class:`~vu_lib.exceptions.InputError` and the store is left
  byte-for-byte unchanged (not even created).
* Replacement scope: a ``huvudbok`` file replaces, per ``(period, kodtyp)``
  it contains, all stored ledger rows of that month and code type (Leanlink's
  ID export and SoF's KOMPLEMENT export arrive as separate files for the same
  months); ``volymer``, ``bemanning`` and ``medel`` files replace by period.
  Other periods are kept. Two files of one call may not share a scope.
* A file whose content (sha256) is already loaded, with all its rows still
  present, is a no-op.
* One transaction per call: a failure while writing rolls everything back.
  A new store is built under a temporary name and renamed into place.

Tables: one per kind (the contract's columns plus ``laddning``, the id of the
load that brought the row), ``laddningar`` (the load log: id, filnamn, typ,
sha256, rader, perioder, inlast, aktiv), ``omfang`` (which load currently owns
each replacement scope) and ``meta`` (schema version).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from vu_lib.data.contract import KINDS, FileKind
from vu_lib.core.exceptions import InputError, Problem, VuError
from vu_lib.core.params import Params, load_params

if TYPE_CHECKING:
    # Imported where they are used: store_fingerprint (the batch's cache path) needs none of them.
    import duckdb
    import pandas as pd

    from vu_lib.data.readers import ParsedFile

SCHEMA_VERSION = "1"


# --------------------------------------------------------------------------- helpers
def format_periods(periods: Iterable[str]) -> str:
    """Consecutive months as ranges: ``'2026-01–2026-03, 2026-07'``."""
    months = sorted(set(periods))
    if not months:
        return ""

    def index(p: str) -> int:
        return int(p[:4]) * 12 + int(p[5:7]) - 1

    runs: list[list[str]] = []
    for p in months:
        if runs and index(p) == index(runs[-1][-1]) + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}\u2013{r[-1]}" for r in runs)


def scopes_of(pf: ParsedFile) -> set[tuple[str, str]]:
    """The replacement scopes of a file: ``(period, kodtyp)``, kodtyp ``''`` unless huvudbok."""
    if pf.kind.name == "huvudbok":
        pairs = pf.frame[["period", "kodtyp"]].drop_duplicates()
        return set(zip(pairs["period"], pairs["kodtyp"]))
    return {(p, "") for p in pf.periods}


def _scope_label(kind: str, scopes: Iterable[tuple[str, str]]) -> str:
    by_type: dict[str, list[str]] = defaultdict(list)
    for period, kodtyp in scopes:
        by_type[kodtyp].append(period)
    parts = []
    for kodtyp in sorted(by_type):
        text = format_periods(by_type[kodtyp])
        parts.append(f"{text} ({kodtyp})" if kodtyp else text)
    return ", ".join(parts)


def _rows_text(n: int) -> str:
    return f"{n:,}".replace(",", " ") + (" rad" if n == 1 else " rader")


@dataclass(frozen=True)
class LoadResult:
    """What one file did to the store.

    Attributes
    ----------
    path : Path
    kind : FileKind
    rows : int
    periods : list of str
    replaced : list of tuple
        Scopes ``(period, kodtyp)`` that held data before and were replaced.
    unchanged : bool
        True when the same content was already loaded (nothing written).
    load_id : int or None
        Id in ``laddningar`` (of the earlier load when unchanged).
    """

    path: Path
    kind: FileKind
    rows: int
    periods: list[str]
    replaced: list[tuple[str, str]] = field(default_factory=list)
    unchanged: bool = False
    load_id: int | None = None

    def summary(self) -> str:
        """One Swedish line for the user."""
        head = f"{self.path.name}: {self.kind.name}, {_rows_text(self.rows)}, perioder {format_periods(self.periods)}"
        if self.unchanged:
            return f"{head}: oförändrad \u2013 redan inläst"
        if self.replaced:
            return f"{head}: inläst, ersatte {_scope_label(self.kind.name, self.replaced)}"
        return f"{head}: inläst (nya perioder)"


# --------------------------------------------------------------------------- validation
def validate_files(paths: Iterable[str | Path], *, params: Params | None = None,
                   today: dt.date | None = None) -> list[ParsedFile]:
    """Read and validate files without touching any store.

    Besides each file's own checks, files of one call may not overlap: the
    same kind and scope (period, and kodtyp for huvudbok) in two files, or the
    same medel ``id`` twice, is refused.

    Raises
    ------
    InputError
        With the problems of all files.
    """
    from vu_lib.data.readers import read_files

    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError([Problem("(inga filer)", None, None, "inga filer angivna")])
    params = params if params is not None else load_params()
    parsed, problems = read_files(paths, params=params, today=today)
    problems.extend(_overlaps(parsed))
    if problems:
        raise InputError(problems)
    return parsed


def _overlaps(parsed: list[ParsedFile]) -> list[Problem]:
    problems = []
    owner: dict[tuple[str, str, str], ParsedFile] = {}
    for pf in parsed:
        clash: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for period, kodtyp in sorted(scopes_of(pf)):
            other = owner.setdefault((pf.kind.name, period, kodtyp), pf)
            if other is not pf:
                clash[str(other.path)].append((period, kodtyp))
        for other, scopes in clash.items():
            problems.append(Problem(str(pf.path), None, None,
                                    f"innehåller samma {pf.kind.name}-perioder som {other} "
                                    f"({_scope_label(pf.kind.name, scopes)}); läs in en fil per period och typ"))
    ids: dict[str, tuple[ParsedFile, int]] = {}
    for pf in parsed:
        if pf.kind.name != "medel":
            continue
        for i, ident in enumerate(pf.frame["id"]):
            first = ids.setdefault(ident, (pf, i))
            if first[0] is not pf:
                problems.append(Problem(str(pf.path), int(pf.rownums[i]), "id",
                                        f'id "{ident}" finns också i {first[0].path} (rad {int(first[0].rownums[first[1]])})'))
    return problems


# --------------------------------------------------------------------------- schema
def _sql_type(kind: FileKind, name: str) -> str:
    col = kind.column(name)
    if col.type == "decimal":
        return "DECIMAL(18,2)" if col.unit == "kr" else "DOUBLE"
    return "VARCHAR"


def _create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE meta (nyckel VARCHAR PRIMARY KEY, varde VARCHAR NOT NULL)")
    con.execute("INSERT INTO meta VALUES ('schemaversion', ?)", [SCHEMA_VERSION])
    con.execute("""CREATE TABLE laddningar (
        id INTEGER PRIMARY KEY, filnamn VARCHAR NOT NULL, typ VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
        rader BIGINT NOT NULL, perioder VARCHAR NOT NULL, inlast TIMESTAMP NOT NULL, aktiv BOOLEAN NOT NULL)""")
    con.execute("""CREATE TABLE omfang (
        laddning INTEGER NOT NULL, typ VARCHAR NOT NULL, period VARCHAR NOT NULL, kodtyp VARCHAR NOT NULL)""")
    for kind in KINDS.values():
        cols = ", ".join(f"{c.name} {_sql_type(kind, c.name)} NOT NULL" for c in kind.columns)
        con.execute(f"CREATE TABLE {kind.name} (laddning INTEGER NOT NULL, {cols})")


def _add_new_columns(con: duckdb.DuckDBPyConnection, kind: FileKind) -> None:
    """Add to a store made by an earlier version the optional columns the contract has gained since
    (e.g. ``volymer.kon``): empty for the rows already stored, as if the column had been left out."""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [kind.name]).fetchall()}
    for c in kind.columns:
        if c.name not in have and not c.required:
            con.execute(f"ALTER TABLE {kind.name} ADD COLUMN {c.name} {_sql_type(kind, c.name)} DEFAULT ''")


def _check_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    import duckdb

    try:
        rows = con.execute("SELECT varde FROM meta WHERE nyckel = 'schemaversion'").fetchall()
        row = rows[0] if rows else None
    except duckdb.Error:
        row = None
    if row is None:
        raise VuError(f"{path} är inte ett vu-lager (tabellen meta saknas)")
    if row[0] != SCHEMA_VERSION:
        raise VuError(f"{path} har schemaversion {row[0]}, men denna version av vu kräver {SCHEMA_VERSION}; "
                      "läs in exportfilerna i ett nytt lager")


@contextlib.contextmanager
def connect(path: Path, *, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open an existing store, with Swedish errors for a busy or foreign file."""
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as e:
        text = str(e)
        if "lock" in text.lower():
            raise VuError(f"Lagret {path} används av en annan process (pågår en inläsning eller rapportkörning?); "
                          "försök igen när den är klar") from None
        raise VuError(f"Lagret {path} kan inte öppnas: {text}") from None
    except duckdb.Error as e:
        raise VuError(f"{path} är inte ett vu-lager: {e}") from None
    try:
        _check_schema(con, path)
        yield con
    finally:
        con.close()


# --------------------------------------------------------------------------- state
@dataclass
class _State:
    """What the store holds, as far as planning a load needs it."""

    owners: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (typ, period, kodtyp) -> load
    loads: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # id -> (typ, sha256, filnamn)

    def complete_load(self, pf: ParsedFile) -> int | None:
        """Id of an active load with the same content whose rows are all still present."""
        wanted = {(pf.kind.name, p, k) for p, k in scopes_of(pf)}
        for load_id, (typ, sha, _) in self.loads.items():
            if typ == pf.kind.name and sha == pf.sha256:
                owned = {s for s, owner in self.owners.items() if owner == load_id}
                if owned == wanted:
                    return load_id
        return None


def _read_state(con: duckdb.DuckDBPyConnection) -> _State:
    state = _State()
    for load_id, typ, sha, name in con.execute(
            "SELECT id, typ, sha256, filnamn FROM laddningar WHERE aktiv").fetchall():
        state.loads[load_id] = (typ, sha, name)
    for load_id, typ, period, kodtyp in con.execute("SELECT laddning, typ, period, kodtyp FROM omfang").fetchall():
        state.owners[(typ, period, kodtyp)] = load_id
    return state


def _medel_conflicts(con: duckdb.DuckDBPyConnection, pf: ParsedFile) -> list[Problem]:
    """Medel ids of ``pf`` already stored for a period the file does not replace."""
    import pandas as pd

    ids = pd.DataFrame({"id": pf.frame["id"].astype(object), "pos": range(len(pf.frame))})
    periods = pd.DataFrame({"period": pd.Series(pf.periods, dtype=object)})
    con.register("_nya_id", ids)
    con.register("_nya_perioder", periods)
    try:
        rows = con.execute("""
            SELECT n.pos, m.id, m.period, l.filnamn FROM medel m
            JOIN _nya_id n ON n.id = m.id
            JOIN laddningar l ON l.id = m.laddning
            WHERE m.period NOT IN (SELECT period FROM _nya_perioder)
            ORDER BY n.pos""").fetchall()
    finally:
        con.unregister("_nya_id")
        con.unregister("_nya_perioder")
    return [Problem(str(pf.path), int(pf.rownums[pos]), "id",
                    f'id "{ident}" finns redan i lagret för period {period} (inläst från {name}); '
                    "ett ärende-id kan bara finnas en gång")
            for pos, ident, period, name in rows]


# --------------------------------------------------------------------------- writing
def _write(con: duckdb.DuckDBPyConnection, todo: list[ParsedFile], state: _State) -> dict[int, tuple[int, list]]:
    """Insert the files in the open transaction; returns ``{index: (load id, replaced scopes)}``."""
    import pandas as pd

    now = dt.datetime.now().replace(microsecond=0)
    next_id = con.execute("SELECT coalesce(max(id), 0) + 1 FROM laddningar").fetchall()[0][0]
    out = {}
    for i, pf in enumerate(todo):
        kind = pf.kind.name
        load_id = next_id + i
        scopes = sorted(scopes_of(pf))
        replaced = [s for s in scopes if (kind, *s) in state.owners]
        scope_df = pd.DataFrame({"period": pd.Series([s[0] for s in scopes], dtype=object),
                                 "kodtyp": pd.Series([s[1] for s in scopes], dtype=object)})
        con.register("_omfang", scope_df)
        con.register("_rader", pf.frame)
        try:
            if kind == "huvudbok":
                con.execute("DELETE FROM huvudbok AS t USING _omfang AS s "
                            "WHERE t.period = s.period AND t.kodtyp = s.kodtyp")
            else:
                con.execute(f"DELETE FROM {kind} WHERE period IN (SELECT period FROM _omfang)")
            con.execute("DELETE FROM omfang AS o USING _omfang AS s "
                        "WHERE o.typ = ? AND o.period = s.period AND o.kodtyp = s.kodtyp", [kind])
            _add_new_columns(con, pf.kind)
            cols = [c.name for c in pf.kind.columns]
            casts = ", ".join(f"CAST({c} AS {_sql_type(pf.kind, c)})" for c in cols)
            con.execute(f"INSERT INTO {kind} (laddning, {', '.join(cols)}) SELECT {load_id}, {casts} FROM _rader")
            con.execute(f"INSERT INTO omfang SELECT {load_id}, ?, period, kodtyp FROM _omfang", [kind])
            con.execute("INSERT INTO laddningar VALUES (?, ?, ?, ?, ?, ?, ?, true)",
                        [load_id, pf.path.name, kind, pf.sha256, pf.rows, ",".join(pf.periods), now])
        finally:
            con.unregister("_omfang")
            con.unregister("_rader")
        out[i] = (load_id, replaced)
    con.execute("UPDATE laddningar SET aktiv = false WHERE aktiv AND id NOT IN (SELECT DISTINCT laddning FROM omfang)")
    return out


@contextlib.contextmanager
def _store_lock(store_path: Path) -> Iterator[None]:
    """Serialise writers of one store (a second ``vu ingest`` waits)."""
    lock = store_path.parent / f".{store_path.name}.lock"
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ingest_files(paths: Iterable[str | Path], store_path: str | Path, *, params: Params | None = None,
                 today: dt.date | None = None) -> list[LoadResult]:
    """Validate files and load them into the store, all or nothing.

    Parameters
    ----------
    paths : iterable of path
        Export files (CSV or xlsx), any kinds.
    store_path : path
        The DuckDB file; created (with its directory) when missing.
    params : Params, optional
    today : datetime.date, optional
        For the "future period" check; default today.

    Returns
    -------
    list of LoadResult
        In the order of ``paths``; ``summary()`` gives the user's line.

    Raises
    ------
    InputError
        A file was refused; the store is unchanged (and not created).
    VuError
        The store is busy or not a vu store.
    """
    parsed = validate_files(paths, params=params, today=today)
    store_path = Path(store_path)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    with _store_lock(store_path):
        exists = store_path.exists()
        state = _State()
        problems: list[Problem] = []
        if exists:
            with connect(store_path, read_only=True) as con:
                state = _read_state(con)
                for pf in parsed:
                    if pf.kind.name == "medel" and state.complete_load(pf) is None:
                        problems.extend(_medel_conflicts(con, pf))
        if problems:
            raise InputError(problems)
        done = {i: state.complete_load(pf) for i, pf in enumerate(parsed)}
        todo = [pf for i, pf in enumerate(parsed) if done[i] is None]
        written: dict[int, tuple[int, list]] = {}
        if todo:
            written = _write_store(store_path, exists, todo, state)
            _remember(store_path, _compute_fingerprint(store_path))
    results, k = [], 0
    for i, pf in enumerate(parsed):
        base = dict(path=pf.path, kind=pf.kind, rows=pf.rows, periods=list(pf.periods))
        if done[i] is not None:
            results.append(LoadResult(**base, unchanged=True, load_id=done[i]))
        else:
            load_id, replaced = written[k]
            results.append(LoadResult(**base, replaced=replaced, load_id=load_id))
            k += 1
    return results


def _write_store(store_path: Path, exists: bool, todo: list[ParsedFile], state: _State) -> dict:
    import duckdb

    if exists:
        with connect(store_path, read_only=False) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                written = _write(con, todo, state)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return written
    tmp = store_path.parent / f".{store_path.name}.{os.getpid()}.tmp"
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute("BEGIN TRANSACTION")
            _create_schema(con)
            written = _write(con, todo, state)
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, store_path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return written


# --------------------------------------------------------------------------- fingerprint
_fingerprints: dict[str, tuple[tuple, str]] = {}


def _stat_key(path: Path) -> tuple:
    """Identity of the store file's current bytes: (inode, size, mtime) of the file and its WAL."""
    key = []
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            st = p.stat()
            key.append([st.st_ino, st.st_size, st.st_mtime_ns])
        except FileNotFoundError:
            key.append(None)
    return tuple(key)


def _sidecar(path: Path) -> Path:
    return path.with_name(f".{path.name}.fingerprint")


def _remember(path: Path, fp: str) -> None:
    """Note the fingerprint for this exact file state, in the process and beside the store."""
    key = _stat_key(path)
    _fingerprints[str(path.resolve())] = (key, fp)
    try:
        tmp = _sidecar(path).with_name(f"{_sidecar(path).name}.{os.getpid()}")
        tmp.write_text(json.dumps({"stat": key, "fingerprint": fp}), encoding="utf-8")
        os.replace(tmp, _sidecar(path))
    except OSError:  # a read-only directory: the sidecar is only a shortcut
        pass


def _known(path: Path, key: tuple) -> str | None:
    cached = _fingerprints.get(str(path.resolve()))
    if cached and cached[0] == key:
        return cached[1]
    try:
        note = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if tuple(note.get("stat") or ()) == key and isinstance(note.get("fingerprint"), str):
        _fingerprints[str(path.resolve())] = (key, note["fingerprint"])
        return note["fingerprint"]
    return None


def active_loads(store_path: str | Path) -> pd.DataFrame:
    """The load log (``laddningar``) of a store, empty when the store does not exist."""
    import pandas as pd

    path = Path(store_path)
    columns = ["id", "filnamn", "typ", "sha256", "rader", "perioder", "inlast", "aktiv"]
    if not path.exists():
        return pd.DataFrame(columns=columns)
    with connect(path) as con:
        return con.execute(f"SELECT {', '.join(columns)} FROM laddningar ORDER BY id").df()


def _compute_fingerprint(path: Path) -> str:
    with connect(path) as con:
        rows = con.execute("""
            SELECT l.typ, l.sha256, o.period, o.kodtyp FROM laddningar l
            JOIN omfang o ON o.laddning = l.id WHERE l.aktiv ORDER BY 1, 2, 3, 4""").fetchall()
    if not rows:
        return ""
    h = hashlib.sha256(f"vu-lager {SCHEMA_VERSION}\n".encode())
    for row in rows:
        h.update(("\t".join(row) + "\n").encode())
    return h.hexdigest()[:16]


def store_fingerprint(store_path: str | Path) -> str:
    """16 hex characters identifying the stored data; ``''`` when there is none.

    Computed from the load log only: the kind, sha256 and current scope of
    every active load. Since a file's content is fixed by its sha256 and the
    rows kept are fixed by its scope, the fingerprint changes whenever the
    stored rows change, and equal stores on different machines agree. A
    missing store, or one without active loads, gives ``''`` (then
    :func:`vu_lib.data.load_dataset` uses the sample).

    Fast: the value is remembered per process and in a small file beside the
    store (``.vu.duckdb.fingerprint``), both keyed on the store file's inode,
    size and modification time (and its WAL's), so a call costs a few ``stat``
    calls. Only when the file changed by other means is the store opened
    (read-only).
    """
    path = Path(store_path)
    if not path.exists():
        return ""
    key = _stat_key(path)
    fp = _known(path, key)
    if fp is None:
        fp = _compute_fingerprint(path)
        if _stat_key(path) == key:  # unchanged while we read it
            _remember(path, fp)
    return fp


def is_empty(store_path: str | Path) -> bool:
    """True when the store does not exist or holds no active load."""
    return store_fingerprint(store_path) == ""
