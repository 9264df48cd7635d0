"""Benchmark: load a large store and compute every result and key figure.

Usage::

    .venv/bin/python benchmarks/bench_model.py            # build the store once, then measure
    .venv/bin/python benchmarks/bench_model.py --rebuild  # build it again

The store (``data/bench/vu_bench.duckdb``, git-ignored) has the schema of
:mod:`vu_lib.store` and holds, for all nine VU and EKB, every month of
2023-2026:

* ``huvudbok``: ``ROWS_PER_GROUP`` verifikation rows for every unit, account
  and month, on Leanlink's ID codes (15 accounts: costs, compensation,
  changes of funds, other revenue) and on SoF's komplement codes (3
  accounts): about 5.2 million rows. The öre total of each (unit, account,
  month) group is ``group_total_ore`` below, split exactly over its rows, so
  the expected result of every VU and month is known and checked.
* ``volymer``, ``bemanning``, ``medel``: the embedded sample's rows
  (2023-01 to 2026-10), with November and December 2026 copied from 2025.

Measured in a fresh process: ``load_dataset`` from the store, then every
result, netting, changes of funds, forecast, variance and key figure for all
VU and every month (the vectorised all-periods functions), then the same
through the per-period functions notebooks call (48 periods × 6 calls). Wall
time and peak resident memory (``resource.getrusage(...).ru_maxrss``) are
printed per step and in total.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STORE = ROOT / "data" / "bench" / "vu_bench.duckdb"
BENCH_VERSION = "2"
ROWS_PER_GROUP = 120
YEARS = (2023, 2024, 2025, 2026)

#: Accounts per code type: (konto, sign as booked: +1 debit, −1 credit).
ID_ACCOUNTS = (
    ("5011", 1), ("5051", 1), ("5411", 1), ("5811", 1), ("6110", 1), ("4410", 1), ("4420", 1),
    ("6310", 1), ("7110", 1), ("7910", 1),           # cost: personal and ovrig_kostnad
    ("3811", -1), ("3812", -1),                        # ersattning
    ("3851", -1),                                      # medel
    ("3411", -1), ("3911", -1),                        # ovrig_intakt
)
KOMPLEMENT_ACCOUNTS = (("4611", 1), ("4612", 1), ("4651", 1))


def group_total_ore(unit: int, account: int, year: int, month: int, kodtyp: str) -> int:
    """The öre total of one (unit, account, month) group, before the booking sign.

    Costs are larger than revenue so that results vary in sign between VU.
    """
    t = (year - YEARS[0]) * 12 + month
    base = 180_000 + 3_700 * unit + 1_100 * account + 500 * t
    if kodtyp == "ID" and account >= 10:              # revenue accounts
        base = 760_000 + 5_300 * unit - 900 * account + 350 * t
    return base * 100 + 37 * unit + account


def _units(params):
    rows = []
    for vu in params.registry.alla:
        for e in vu.enheter:
            rows.append((len(rows), e.id_kod, e.komplement_kod, vu.id))
    return rows


def build(path: Path) -> None:
    """Write the benchmark store (under a temporary name, renamed into place)."""
    import duckdb
    import pandas as pd

    from vu_lib.data.contract import KINDS
    from vu_lib.data.dataset import sample_store
    from vu_lib.core.params import load_params
    from vu_lib.data.store import _create_schema

    params = load_params()
    sample = sample_store(params)
    units = _units(params)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect(str(tmp))
    try:
        con.execute("BEGIN TRANSACTION")
        _create_schema(con)
        con.execute("INSERT INTO meta VALUES ('bench_version', ?)", [BENCH_VERSION])
        groups = []
        for kodtyp, accounts, col in (("ID", ID_ACCOUNTS, 1), ("KOMPLEMENT", KOMPLEMENT_ACCOUNTS, 2)):
            for u in units:
                for a, (konto, sign) in enumerate(accounts):
                    for y in YEARS:
                        for m in range(1, 13):
                            groups.append((f"{y}-{m:02d}", kodtyp, u[col], konto, sign,
                                           group_total_ore(u[0], a, y, m, kodtyp), u[0]))
        g = pd.DataFrame(groups, columns=["period", "kodtyp", "kod", "konto", "tecken", "total_ore", "u"])
        con.register("_grupper", g)
        con.execute(f"""
            INSERT INTO huvudbok
            SELECT 1, period, kodtyp, kod, konto,
                   'V' || period || '-' || CAST(u AS VARCHAR) || '-' || konto || ':' || CAST(k AS VARCHAR),
                   CAST(tecken * (total_ore // {ROWS_PER_GROUP} + CASE WHEN k <= total_ore % {ROWS_PER_GROUP}
                         THEN 1 ELSE 0 END) AS DECIMAL(18, 0)) / 100,
                   'bench'
            FROM _grupper, range(1, {ROWS_PER_GROUP} + 1) AS r(k)
        """)
        con.unregister("_grupper")
        # volumes, staffing and changes of funds: the sample's, Nov-Dec 2026 copied from 2025
        con.execute(f"ATTACH '{sample}' AS s (READ_ONLY)")
        for kind in ("volymer", "bemanning"):
            cols = [c.name for c in KINDS[kind].columns]
            shifted = ", ".join("'2026-' || substr(period, 6, 2)" if c == "period" else c for c in cols)
            con.execute(f"INSERT INTO {kind} (laddning, {', '.join(cols)}) SELECT 2, {', '.join(cols)} FROM s.{kind}")
            con.execute(f"INSERT INTO {kind} (laddning, {', '.join(cols)}) SELECT 2, {shifted} FROM s.{kind} "
                        "WHERE period IN ('2025-11', '2025-12')")
        con.execute("INSERT INTO medel SELECT 3, * EXCLUDE (laddning) FROM s.medel")
        # the load log, so that the store is not "empty" to vu_lib.store
        months = [f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)]
        n_rows = con.execute("SELECT count(*) FROM huvudbok").fetchone()[0]
        now = pd.Timestamp.now().floor("s").to_pydatetime()
        for load_id, kind in ((1, "huvudbok"), (2, "volymer"), (3, "medel"), (4, "bemanning")):
            con.execute("INSERT INTO laddningar VALUES (?, ?, ?, ?, ?, ?, ?, true)",
                        [load_id, f"bench_{kind}", kind, f"bench{BENCH_VERSION}-{kind}", n_rows if load_id == 1 else 0,
                         ",".join(months), now])
        for p in months:
            con.execute("INSERT INTO omfang VALUES (1, 'huvudbok', ?, 'ID'), (1, 'huvudbok', ?, 'KOMPLEMENT'), "
                        "(2, 'volymer', ?, ''), (4, 'bemanning', ?, '')", [p, p, p, p])
        for (p,) in con.execute("SELECT DISTINCT period FROM medel").fetchall():
            con.execute("INSERT INTO omfang VALUES (3, 'medel', ?, '')", [p])
        con.execute("COMMIT")
        con.execute("DETACH s")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, path)
    print(f"Byggde {path.relative_to(ROOT)}: {n_rows:,} huvudboksrader på {time.perf_counter() - t0:.1f} s".replace(",", " "))


def store_ok(path: Path) -> bool:
    if not path.exists():
        return False
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            row = con.execute("SELECT varde FROM meta WHERE nyckel = 'bench_version'").fetchone()
        finally:
            con.close()
    except duckdb.Error:
        return False
    return row is not None and row[0] == BENCH_VERSION


def expected_results(params) -> dict[tuple[str, int, int], float]:
    """Σ over a VU's units of revenue − cost, kr, from the group totals (ID codes)."""
    out: dict[tuple[str, int, int], int] = {}
    units = _units(params)
    for u in units:
        for a, (_konto, sign) in enumerate(ID_ACCOUNTS):
            for y in YEARS:
                for m in range(1, 13):
                    # booked: sign × total; result = −Σ booked (credit revenue, debit cost)
                    key = (u[3], y, m)
                    out[key] = out.get(key, 0) - sign * group_total_ore(u[0], a, y, m, "ID")
    return {k: v / 100 for k, v in out.items()}


# --------------------------------------------------------------------------- measuring
def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Steps:
    def __init__(self):
        self.rows = []
        self.t_start = time.perf_counter()

    def run(self, name: str, fn):
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        self.rows.append((name, dt, _rss_mib()))
        print(f"  {name:<58} {dt:7.3f} s   topp-RSS {_rss_mib():7.1f} MiB", flush=True)
        return out


def measure(path: Path) -> int:
    t0 = time.perf_counter()
    import pandas as pd  # noqa: F401

    from vu_lib.model import forecast as FC
    from vu_lib.model import nyckeltal as NT
    from vu_lib.model import results as R
    from vu_lib.model import variance as VA
    from vu_lib.data.dataset import load_dataset
    from vu_lib.core.params import load_params

    params = load_params()
    t_import = time.perf_counter() - t0
    print(f"Import av vu_lib och parametrar: {t_import:.3f} s, topp-RSS {_rss_mib():.1f} MiB")
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        n_store = con.execute("SELECT count(*) FROM huvudbok").fetchone()[0]
    rows = f"{n_store:,}".replace(",", " ")
    print(f"Processorer: {os.cpu_count()}; lager: {path.relative_to(ROOT)} ({path.stat().st_size / 2**20:.0f} MiB, {rows} huvudboksrader)")
    s = Steps()
    ds = s.run("load_dataset (DuckDB -> Dataset)", lambda: load_dataset(path, params=params))
    periods = R.eval_periods(ds)

    def everything():
        out = {}
        for niva in ("enhet", "kluster", "vu", "niva1", "namnd"):
            out[f"resultat_{niva}"] = R.results(params, ds, niva)
        out["netting"] = R.netting_all(params, ds)
        out["medel"] = [R.medel_report(params, ds, int(y), int(m)) for y, m in periods.itertuples(index=False)]
        out["prognos"] = FC.forecast_all(params, ds)
        out["avvikelser"] = VA.variance_all(params, ds)
        out["nyckeltal"] = NT.nyckeltal_all(params, ds)
        return out

    out = s.run(f"alla resultat och nyckeltal, {len(periods)} månader (vektoriserat)", everything)
    t_total = s.rows[0][1] + s.rows[1][1]

    def per_period():
        n = 0
        for y, m in periods.itertuples(index=False):
            y, m = int(y), int(m)
            R.period_results(params, ds, y, m, "vu")
            R.netting(params, ds, y, m)
            R.medel_summary(params, ds, y, m)
            FC.forecast(params, ds, y, m)
            VA.variance(params, ds, y, m)
            NT.nyckeltal(params, ds, y, m)
            n += 6
        return n

    calls = s.run("samma per period via API:t (48 × 6 anrop, varm cache)", per_period)

    # correctness against the known group totals
    exp = expected_results(params)
    vu = out["resultat_vu"]
    got = {(r.vu, int(r.ar), int(r.manad)): float(r.resultat) for r in vu.itertuples(index=False)}
    worst = max(abs(got[k] - v) for k, v in exp.items())
    n_ledger = int(ds.ledger.shape[0])
    print()
    print(f"Dataset: {n_ledger} aggregerade huvudboksrader, {len(ds.volymer)} volymrader, "
          f"{len(ds.bemanning)} bemanningsrader, {len(ds.medel)} medelrader")
    print(f"Utdata: {len(out['resultat_enhet'])} resultatrader (enhet), {len(out['nyckeltal'])} nyckeltalsrader, "
          f"{len(out['avvikelser'])} avvikelserader, {len(out['prognos'])} prognosrader; {calls} API-anrop")
    print(f"Kontroll: största avvikelse mot kända summor per VU och månad = {worst:.2f} kr "
          f"({len(exp)} VU-månader)")
    print()
    print(f"TOTALT load_dataset + alla beräkningar: {t_total:.3f} s, topp-RSS {_rss_mib():.1f} MiB "
          f"(mål: under 5 s och 1024 MiB)")
    print(f"Med import och API-slingan: {time.perf_counter() - t0:.3f} s")
    ok = worst < 0.005 and t_total < 5 and _rss_mib() < 1024
    print("OK" if ok else "UTANFÖR MÅLET")
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rebuild", action="store_true", help="bygg lagret på nytt")
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--store", default=str(STORE), help="lagrets sökväg (standard data/bench/vu_bench.duckdb)")
    args = ap.parse_args(argv)
    path = Path(args.store)
    if args.build_only:
        build(path)
        return 0
    if args.rebuild or not store_ok(path):
        # build in its own process so that its memory does not count in the measurement
        subprocess.run([sys.executable, __file__, "--build-only", "--store", str(path)], check=True)
    return measure(path)


if __name__ == "__main__":
    sys.exit(main())
