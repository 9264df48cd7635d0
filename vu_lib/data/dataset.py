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
    cluster), matt, utforare ('' when not split), varde (float). Totals only: where
    a person count is split by gender (``kon`` K/M) without a total row, the sum.
``volymer_kon``
    The same columns plus ``kon`` ('K' | 'M'): the gender split of person counts.
``kolada``
    The store's active Kolada snapshot (:mod:`vu_lib.data.kolada`).
``bemanning``
    period, ar, manad, vu, kluster, enhet, utbildningsniva, arsarbetare (float).
``medel``
    id, period, ar, manad, vu, typ, belopp (float kr), beskrivning,
    aterrapporteringskrav, aterrapportering_senast ('' or 'YYYY-MM-DD').
``loads``
    The store's load log: id, filnamn, typ, sha256, rader, perioder, inlast, aktiv.

Where the data comes from: the ``store`` argument, else the environment
variable ``VU_STORE``, else ``<project>/data/vu.duckdb``. When that store does
not exist or holds no loads, the embedded sample (:mod:`vu_lib.sample`) is
generated once into ``<project>/data/.exempel/<SAMPLE_VERSION>-<params fingerprint>/`` and loaded
through :func:`vu_lib.store.ingest_files` like any export (``source`` is then
``'exempeldata'``).

The store is opened read-only, so several processes can read at once. Loaded
datasets are cached per process on (store, fingerprint, params); each call
returns fresh copies of the frames, so callers may modify them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vu_lib.core.params import PROJECT_ROOT, Params, load_params

if TYPE_CHECKING:  # pandas is imported where frames are built: default_store and sample_store_path need none
    import pandas as pd

#: Where the embedded sample's store is built (one directory per SAMPLE_VERSION and params fingerprint).
SAMPLE_ROOT = PROJECT_ROOT / "data" / ".exempel"

#: Natural sign per kontoslag: revenue is booked as credit (negative), so it is negated.
SIGN = {"ersattning": -1, "medel": -1, "ovrig_intakt": -1, "personal": 1, "ovrig_kostnad": 1,
        "overforing": 1, "overforing_medel": 1}


def _empty_kon() -> pd.DataFrame:
    import pandas as pd

    cols = {"period": object, "ar": "int64", "manad": "int64", "vu": object, "kluster": object, "enhet": object,
            "matt": object, "utforare": object, "kon": object, "varde": "float64"}
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})


def _empty_frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame()


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
    loads: pd.DataFrame = field(default_factory=_empty_frame)
    kolada: Any = None
    """The store's active Kolada snapshot (:class:`vu_lib.data.kolada.KoladaData`), empty when none."""
    volymer_kon: Any = None
    """Person counts split by gender: the ``volymer`` columns plus ``kon`` ('K' | 'M'); ``volymer``
    itself holds the totals only (a key given only as K and M rows appears there as their sum)."""

    @property
    def perioder(self) -> list[str]:
        """Sorted months present in the ledger."""
        return sorted(self.ledger["period"].unique().tolist())

    @property
    def senaste_period(self) -> str:
        """The latest month with ledger data."""
        return self.perioder[-1]


# --------------------------------------------------------------------------- locations
def default_store() -> Path:
    """``$VU_STORE``, else ``<project>/data/vu.duckdb``."""
    env = os.environ.get("VU_STORE", "").strip()
    return Path(env) if env else PROJECT_ROOT / "data" / "vu.duckdb"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def sample_store_path(params: Params | None = None) -> Path:
    """Where the embedded sample's store is (or will be) built; nothing is built.

    One directory per ``SAMPLE_VERSION`` and params fingerprint: the sample's
    transfers are computed from params, so a params change needs a new sample.
    """
    from vu_lib.data import sample
    from vu_lib.core.params import load_params
    from vu_lib.core.versions import params_fingerprint

    from vu_lib.data.kolada import snapshot_sha

    key = f"{sample.SAMPLE_VERSION}-{params_fingerprint(params or load_params())}-k{snapshot_sha()[:8]}"
    return SAMPLE_ROOT / key / "vu.duckdb"


def sample_store(params: Params | None = None) -> Path:
    """The store holding the embedded sample, built on first use.

    Built once per :data:`vu_lib.sample.SAMPLE_VERSION` and params fingerprint under a file lock, in a
    temporary directory renamed into place, so parallel processes neither race
    nor see a half-built store.
    """
    from vu_lib.data import sample
    from vu_lib.data.store import ingest_files

    store = sample_store_path(params)
    final = store.parent
    key = final.name
    if store.exists():
        return store
    SAMPLE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(SAMPLE_ROOT / f".{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if store.exists():
                return store
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=SAMPLE_ROOT))
            try:
                files = sample.write_sample(tmp / "filer")
                ingest_files(files, tmp / "vu.duckdb", params=params, today=_sample_today(sample))
                from vu_lib.data.kolada import EXAMPLE_SNAPSHOT, load_snapshot

                load_snapshot(EXAMPLE_SNAPSHOT, tmp / "vu.duckdb")  # example values, labelled as such
                if final.exists():  # a leftover without a store
                    shutil.rmtree(final)
                tmp.chmod(0o755)  # mkdtemp makes it private
                os.rename(tmp, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return store


def _sample_today(sample) -> dt.date:
    """The sample is synthetic: its last month is never "in the future"."""
    today = dt.date.today()
    last = getattr(sample, "LAST_MONTH", None)
    if last is None:
        return today
    return max(today, dt.date(last[0], last[1], 28))


def resolve_store(store: str | Path | None = None, params: Params | None = None) -> tuple[Path, str]:
    """The store :func:`load_dataset` reads and its ``source`` label.

    The given (or default) store when it holds data, else the sample's store.
    """
    from vu_lib.data.store import is_empty

    path = Path(store) if store not in (None, "") else default_store()
    if not is_empty(path):
        return path, f"lager: {_display(path)}"
    return sample_store(params), "exempeldata"


# --------------------------------------------------------------------------- loading
_CACHE: dict[tuple, Dataset] = {}
_CACHE_SIZE = 4


def _units(params: Params) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for vu in params.registry.alla:
        for e in vu.enheter:
            rows.append(("ID", e.id_kod, vu.id, e.kluster, e.id_kod))
            rows.append(("KOMPLEMENT", e.komplement_kod, vu.id, e.kluster, e.id_kod))
    return pd.DataFrame(rows, columns=["kodtyp", "kod", "vu", "kluster", "enhet"], dtype=object)


def _accounts(params: Params) -> pd.DataFrame:
    import pandas as pd

    rows = [(kodtyp, int(r.fran), int(r.till), r.kontoslag, SIGN[r.kontoslag])
            for kodtyp, ranges in params.registry.kontoplan.items() for r in ranges]
    df = pd.DataFrame(rows, columns=["kodtyp", "fran", "till", "kontoslag", "tecken"])
    return df.astype({"kodtyp": object, "kontoslag": object})


_PERIOD_PARTS = ("CAST(substr(period, 1, 4) AS BIGINT) AS ar, "
                 "CAST(substr(period, 6, 2) AS BIGINT) AS manad")

_LEDGER_SQL = f"""
WITH per_konto AS (
    SELECT period, kodtyp, kod, CAST(konto AS INTEGER) AS konto, SUM(belopp) AS belopp
    FROM huvudbok GROUP BY period, kodtyp, kod, konto
), slag AS (
    SELECT p.period, p.kodtyp, p.kod, coalesce(k.kontoslag, 'okant') AS kontoslag,
           p.belopp * coalesce(k.tecken, 1) AS belopp
    FROM per_konto p LEFT JOIN _konton k
      ON k.kodtyp = p.kodtyp AND p.konto BETWEEN k.fran AND k.till
)
SELECT s.period, {_PERIOD_PARTS.replace("period", "s.period")}, s.kodtyp,
       coalesce(u.vu, '') AS vu, coalesce(u.kluster, '') AS kluster, coalesce(u.enhet, '') AS enhet,
       s.kontoslag, CAST(SUM(s.belopp) AS DOUBLE) AS belopp, count(u.vu) = 0 AS okand
FROM slag s LEFT JOIN _enheter u ON u.kodtyp = s.kodtyp AND u.kod = s.kod
GROUP BY ALL
ORDER BY s.period, s.kodtyp, vu, kluster, enhet, s.kontoslag
"""

_VOLYMER_SQL = f"""
SELECT period, {_PERIOD_PARTS}, vu, kluster, enhet, matt, utforare, CAST(varde AS DOUBLE) AS varde
FROM volymer ORDER BY period, vu, kluster, enhet, matt, utforare
"""

# With the optional gender split (``volymer.kon``): the totals are the rows without kon, or where a key
# has only K/M rows, their sum; the K/M rows themselves go to ``volymer_kon``.
_VOLYMER_TOTAL_SQL = f"""
WITH t AS (
    SELECT period, vu, kluster, enhet, matt, utforare, varde FROM volymer WHERE coalesce(kon, '') = ''
), s AS (
    SELECT period, vu, kluster, enhet, matt, utforare, SUM(varde) AS varde FROM volymer
    WHERE coalesce(kon, '') <> '' GROUP BY ALL
), u AS (
    SELECT * FROM t
    UNION ALL
    SELECT * FROM s WHERE NOT EXISTS (
        SELECT 1 FROM t WHERE t.period = s.period AND t.vu = s.vu AND t.kluster = s.kluster AND t.enhet = s.enhet
                          AND t.matt = s.matt AND t.utforare = s.utforare)
)
SELECT period, {_PERIOD_PARTS}, vu, kluster, enhet, matt, utforare, CAST(varde AS DOUBLE) AS varde
FROM u ORDER BY period, vu, kluster, enhet, matt, utforare
"""

_VOLYMER_KON_SQL = f"""
SELECT period, {_PERIOD_PARTS}, vu, kluster, enhet, matt, utforare, kon, CAST(varde AS DOUBLE) AS varde
FROM volymer WHERE coalesce(kon, '') <> '' ORDER BY period, vu, kluster, enhet, matt, utforare, kon
"""

_BEMANNING_SQL = f"""
SELECT b.period, {_PERIOD_PARTS.replace("period", "b.period")}, coalesce(u.vu, '') AS vu,
       coalesce(u.kluster, '') AS kluster, b.kod AS enhet, b.utbildningsniva,
       CAST(b.arsarbetare AS DOUBLE) AS arsarbetare
FROM bemanning b LEFT JOIN _enheter u ON u.kodtyp = 'ID' AND u.kod = b.kod
ORDER BY b.period, vu, kluster, enhet, b.utbildningsniva
"""

_MEDEL_SQL = f"""
SELECT id, period, {_PERIOD_PARTS}, vu, typ, CAST(belopp AS DOUBLE) AS belopp, beskrivning,
       aterrapporteringskrav, aterrapportering_senast
FROM medel ORDER BY period, id
"""

_LOADS_SQL = "SELECT id, filnamn, typ, sha256, rader, perioder, inlast, aktiv FROM laddningar ORDER BY id"


def _read(path: Path, params: Params, fingerprint: str, source: str) -> Dataset:
    from vu_lib.data.kolada import read_kolada
    from vu_lib.data.store import connect

    with connect(path) as con:
        con.register("_enheter", _units(params))
        con.register("_konton", _accounts(params))
        ledger = con.execute(_LEDGER_SQL).df()
        has_kon = bool(con.execute("SELECT count(*) FROM information_schema.columns "
                                   "WHERE table_name = 'volymer' AND column_name = 'kon'").fetchall()[0][0])
        volymer = con.execute(_VOLYMER_TOTAL_SQL if has_kon else _VOLYMER_SQL).df()
        volymer_kon = con.execute(_VOLYMER_KON_SQL).df() if has_kon else _empty_kon()
        bemanning = con.execute(_BEMANNING_SQL).df()
        medel = con.execute(_MEDEL_SQL).df()
        loads = con.execute(_LOADS_SQL).df()
        kolada = read_kolada(con)
    unknown = ledger["okand"].astype(bool)
    if unknown.any():
        codes = ", ".join(sorted(set(ledger.loc[unknown, "period"])))
        warnings.warn(f"{source}: huvudboken har koder som inte finns i params/registry.yaml "
                      f"(perioder {codes}); raderna saknar vu och kluster", stacklevel=3)
    if (ledger["kontoslag"] == "okant").any():
        warnings.warn(f"{source}: huvudboken har konton utanför kontoplanen i params/registry.yaml "
                      "(kontoslag 'okant')", stacklevel=3)
    ledger = ledger.drop(columns="okand")
    return Dataset(ledger=ledger, volymer=volymer, bemanning=bemanning, medel=medel,
                   fingerprint=fingerprint, source=source, loads=loads, kolada=kolada, volymer_kon=volymer_kon)


def load_dataset(store: str | Path | None = None, *, params: Params | None = None) -> Dataset:
    """Load the store (or the embedded sample) as a :class:`Dataset`.

    Parameters
    ----------
    store : path, optional
        DuckDB store; default ``$VU_STORE`` or ``<project>/data/vu.duckdb``.
        A missing or empty store gives the embedded sample.
    params : Params, optional
        For mapping codes to VU, cluster and unit and accounts to kontoslag;
        default :func:`vu_lib.params.load_params`.

    Returns
    -------
    Dataset
        Aggregated per month, code type, unit and kontoslag (see the module
        docstring); ``fingerprint`` is :func:`vu_lib.store.store_fingerprint`.

    Raises
    ------
    VuError
        The store is busy (being written) or not a vu store.
    """
    from vu_lib.data.store import store_fingerprint

    params = params if params is not None else load_params()
    path, source = resolve_store(store, params)
    fingerprint = store_fingerprint(path)
    key = (str(path.resolve()), fingerprint, params, source)  # same file, other label: not the same
    ds = _CACHE.get(key)
    if ds is None:
        ds = _read(path, params, fingerprint, source)
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = ds
    return dataclasses.replace(ds, ledger=ds.ledger.copy(), volymer=ds.volymer.copy(),
                               bemanning=ds.bemanning.copy(), medel=ds.medel.copy(), loads=ds.loads.copy(),
                               volymer_kon=None if ds.volymer_kon is None else ds.volymer_kon.copy())
