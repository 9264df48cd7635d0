"""The ``vu`` command line.

Exit codes: 0 ok; 1 the job failed (e.g. a report could not be produced);
2 bad usage or bad input (refused files, invalid parameters).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vu_lib.core.exceptions import InputError, ParamsError, VuError



def _cmd_list(args) -> int:
    from vu_lib.core.params import load_params

    p = load_params()
    if args.json:
        out = {
            "namnder": dict(p.registry.namnder),
            "verksamhetsuppdrag": [
                {
                    "id": v.id,
                    "namnd": v.namnd,
                    "niva1": v.niva1,
                    "namn": v.namn,
                    "ersattning": v.ersattning.model_dump(exclude_none=True),
                    "kluster": [k.model_dump(exclude_none=True) for k in v.kluster],
                    "enheter": [e.model_dump() for e in v.enheter],
                }
                for v in p.registry.verksamhetsuppdrag
            ],
            "separata": [{"id": v.id, "namnd": v.namnd, "namn": v.namn} for v in p.registry.separata],
            "nyckeltal": [n.model_dump(exclude_none=True) for n in p.katalog.nyckeltal],
            "modellversioner": {
                str(y): {"modellversion": m.modellversion, "revisioner": [r.modellversion for r in m.revisioner]}
                for y, m in sorted(p.ar.items())
            },
        }
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print("Verksamhetsuppdrag")
    for v in p.registry.alla:
        kl = ", ".join(k.namn for k in v.kluster)
        sep = " (separat reglerad)" if v in p.registry.separata else ""
        print(f"  {v.id:<14} {v.namnd:<3} {v.niva1:<13} {v.namn}{sep}")
        print(f"  {'':<14} kluster: {kl}")
    print("\nNyckeltal")
    labels = {"manadsvis": "månadsvis", "delar": "delår", "arsvis": "årsvis"}
    for n in p.katalog.nyckeltal:
        print(f"  {n.id:<30} {labels[n.intervall]:<9} från {n.forsta_ar}  {n.namn} [{', '.join(n.vu)}]")
    print("\nModellversioner")
    for y, m in sorted(p.ar.items()):
        revs = "".join(f", {r.modellversion} från {r.giltig_fran}" for r in m.revisioner)
        print(f"  {y}: {m.modellversion}{revs}")
    return 0


def _cmd_validate(args) -> int:
    from vu_lib.data.store import validate_files

    results = validate_files([Path(f) for f in args.files])
    for r in results:
        print(f"OK  {r.path}: {r.kind.name}, {r.rows} rader, perioder {r.period_range}")
    return 0


def _cmd_ingest(args) -> int:
    from vu_lib.data.store import ingest_files

    for r in ingest_files([Path(f) for f in args.files], Path(args.store)):
        print(r.summary())
    return 0


def _cmd_sample(args) -> int:
    from vu_lib.data.sample import write_sample

    paths = write_sample(Path(args.out))
    for p in paths:
        print(p)
    print(f"{len(paths)} filer skrivna till {args.out}. Läs in dem med: vu ingest {args.out}/*")
    return 0


def _cmd_run(args) -> int:
    from vu_lib.publish.batch import cli_run

    return cli_run(args)


def _cmd_budget(args) -> int:
    from vu_lib.publish.batch import cli_budget

    return cli_budget(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vu",
        description="Ekonomisk uppföljning av verksamhetsuppdragen (SoF -> Leanlink).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="KOMMANDO")

    p = sub.add_parser("list", help="lista VU, kluster, nyckeltal och modellversioner")
    p.add_argument("--json", action="store_true", help="maskinläsbar JSON")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("validate", help="kontrollera exportfiler utan att läsa in dem")
    p.add_argument("files", nargs="+", metavar="FIL")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("ingest", help="validera och läs in exportfiler i lagret")
    p.add_argument("files", nargs="+", metavar="FIL")
    p.add_argument("--store", default=None, help="DuckDB-fil (standard: $VU_STORE eller data/vu.duckdb i projektet)")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("sample", help="skriv exempeldata (alla nio VU och EKB, jan 2023–okt 2026)")
    p.add_argument("--out", default="data/exempel", help="katalog (standard: %(default)s)")
    p.set_defaults(func=_cmd_sample)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--to", default="html,pdf", help="format: html,pdf (standard: %(default)s)")
    common.add_argument("--jobs", type=int, default=None, help="antal parallella processer (standard: antal kärnor)")
    common.add_argument("--store", default=None,
                        help="DuckDB-fil (standard: $VU_STORE eller data/vu.duckdb i projektet; tomt lager ger exempeldata)")
    common.add_argument("--out", default="reports", help="utkatalog (standard: %(default)s)")
    common.add_argument("--renderer", choices=("auto", "builtin", "quarto"), default="auto",
                        help="auto = inbyggd (samma resultat på alla datorer); quarto kräver Quarto ≥ 1.5 på PATH (standard: %(default)s)")
    common.add_argument("--force", action="store_true", help="kör om även när inget ändrats")
    common.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAMN", "VÄRDE"),
                        help="extra notebook-parameter, kan upprepas")

    p = sub.add_parser("run", parents=[common], help="kör rapporterna för en period (papermill) och rendera HTML/PDF")
    p.add_argument("--period", help="månad ÅÅÅÅ-MM (standard: senaste delår i lagret)")
    p.add_argument("--vu", nargs="+", default=None, metavar="VU", help="bara dessa VU")
    p.add_argument("--namnd", choices=("AN", "SON"), default=None, help="bara denna nämnds VU och översikt")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("budget", parents=[common], help="budgetförslag för ett år")
    p.add_argument("year", type=int, metavar="ÅR")
    p.set_defaults(func=_cmd_budget)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "store", "") is None:
        from vu_lib.data.dataset import default_store

        args.store = str(default_store())
    try:
        return int(args.func(args) or 0)
    except (InputError, ParamsError) as e:
        print(f"vu: {e}", file=sys.stderr)
        return 2
    except VuError as e:
        print(f"vu: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `vu list | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
