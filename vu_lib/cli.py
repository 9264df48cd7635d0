"""The ``vu`` command line.

Exit codes: 0 ok; 1 the job failed (e.g. a report could not be produced);
2 bad usage or bad input (refused files, invalid parameters).
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from pathlib import Path

from vu_lib.core.exceptions import BatchUsageError, InputError, ParamsError, VuError



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

    results = validate_files([Path(f) for f in args.files], profil=args.profil)
    for r in results:
        what = r.kind.name + (" (budget)" if getattr(r, "delomfang", "") else "")
        via = f" (importprofil {r.encoding.split('/')[0].removeprefix('profil ')})" if r.encoding.startswith("profil ") else ""
        print(f"OK  {r.path}: {what}, {r.rows} rader, perioder {r.period_range}{via}")
    return 0


def _cmd_ingest(args) -> int:
    from vu_lib.data.store import ingest_files

    for r in ingest_files([Path(f) for f in args.files], Path(args.store), profil=args.profil):
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


def _cmd_kommentar(args) -> int:
    from vu_lib.report.commentary import check_period, commentary_path, parse_commentary

    if not args.period:
        raise InputError([_problem("--period", "ange perioden, t.ex. --period 2026-10")])
    if args.kontrollera or not args.rapport:
        if args.rapport:
            path = commentary_path(args.rapport, args.period, args.kommentarer)
            if not path.is_file():
                print(f"vu: {path} finns inte", file=sys.stderr)
                return 2
            parse_commentary(path)
            files = [path]
        else:
            files = check_period(args.period, args.kommentarer)
        for f in files:
            print(f"OK  {f}")
        if not files:
            print(f"Inga kommentarer för {args.period}.")
        return 0
    from vu_lib.core.params import load_params
    from vu_lib.report.context import overview_context, vu_context
    from vu_lib.report.summary import commentary_template

    params = load_params()
    path = commentary_path(args.rapport, args.period, args.kommentarer)
    if path.exists():
        parse_commentary(path)
        print(f"{path} finns redan och är korrekt; den skrivs inte över.")
        return 0
    store = args.store or ""
    try:
        if args.rapport in (*params.registry.namnder, "Leanlink"):
            ctx = overview_context(scope=args.rapport, period=args.period, store=store, kommentarer=args.kommentarer or "")
        else:
            params.vu(args.rapport)
            ctx = vu_context(vu=args.rapport, period=args.period, store=store, kommentarer=args.kommentarer or "")
    except VuError as e:  # an unknown report or a period outside the data: bad usage
        print(f"vu: {e}", file=sys.stderr)
        return 2
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(commentary_template(ctx), encoding="utf-8")
    print(f"Mall skriven: {path}")
    print("Fyll i '## Analys' och '## Åtgärder'; kontrollera med: "
          f"vu kommentar {args.rapport} --period {args.period} --kontrollera")
    return 0


def _problem(where: str, message: str):
    from vu_lib.core.exceptions import Problem

    return Problem(where, None, None, message)


def _cmd_lab(args) -> int:
    """JupyterLab on notebooks/, saving vu's report notebooks without outputs (the tree stays clean)."""
    import subprocess

    from vu_lib.publish.notebooks import NOTEBOOKS_DIR

    cmd = [sys.executable, "-m", "jupyterlab",
           "--ContentsManager.pre_save_hook=vu_lib.publish.notebooks.strip_on_save",
           f"--ServerApp.root_dir={NOTEBOOKS_DIR}", *args.jupyter_args]
    if os.name == "posix":
        # `vu lab` becomes JupyterLab: a SIGTERM to it then stops the server and its kernels
        # (with a child process it would stop only `vu` and leave the server running).
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, cmd)
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0


def _cmd_kolada(args) -> int:
    """``vu kolada fetch|load|kpi|grupper``: the national comparison (vu_lib.data.kolada)."""
    from vu_lib.data import kolada as K

    kp = K.load_kolada_params()
    if args.kolada_cmd == "load":
        print(K.load_snapshot(Path(args.file), Path(args.store)).summary())
        return 0
    client = K.KoladaClient.from_params(kp, base_url=args.bas_url)
    if args.kolada_cmd == "fetch":
        years = sorted(set(args.year)) if args.year else K.default_years(kp)
        path, load = K.update(kp, client, years, Path(args.store), Path(args.dir) if args.dir else None)
        print(f"Ögonblicksbild sparad: {path} ({len(kp.kpi_ids)} KPI, åren {years[0]}\u2013{years[-1]})")
        if load is None:
            print(f"Lagret {args.store} har inga inlästa exportfiler än; läs in ögonblicksbilden efter "
                  f"vu ingest med: vu kolada load {path}")
        else:
            print(load.summary())
        print(K.KALLA)
        return 0
    if args.kolada_cmd == "kpi":
        hits = client.kpi_search(args.search)
        for k in hits:
            kon = "kön" if k.get("is_divided_by_gender") else "   "
            print(f"{k.get('id', ''):<8} {kon} {k.get('title', '')}")
        print(f"{len(hits)} KPI i Kolada med \u201d{args.search}\u201d i titeln. {K.KALLA}")
        return 0
    hits = client.group_search(args.search)
    for g in hits:
        print(f"{g.get('id', ''):<10} {g.get('title', '')} ({len(g.get('members') or [])} kommuner)")
    print(f"{len(hits)} kommungrupper i Kolada med \u201d{args.search}\u201d i namnet. {K.KALLA}")
    return 0


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
    p.add_argument("--profil", default=None, metavar="NAMN",
                   help="läs CSV-filerna genom importprofilen params/import/NAMN.yaml "
                        "(utan: känns igen på rubrikraden när exakt en profil passar)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("ingest", help="validera och läs in exportfiler i lagret")
    p.add_argument("files", nargs="+", metavar="FIL")
    p.add_argument("--profil", default=None, metavar="NAMN",
                   help="läs CSV-filerna genom importprofilen params/import/NAMN.yaml "
                        "(utan: känns igen på rubrikraden när exakt en profil passar)")
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

    p = sub.add_parser("kommentar", help="skriv eller kontrollera controllerns kommentar till en rapport")
    p.add_argument("rapport", nargs="?", metavar="RAPPORT",
                   help="VU-id, AN, SON eller Leanlink (utelämnas med --kontrollera: alla kommentarer för perioden)")
    p.add_argument("--period", help="månad ÅÅÅÅ-MM, t.ex. 2026-10")
    p.add_argument("--kommentarer", default=None,
                   help="katalog för kommentarer (standard: $VU_KOMMENTARER eller kommentarer/ i projektet)")
    p.add_argument("--store", default=None, help="DuckDB-fil (standard: $VU_STORE eller data/vu.duckdb i projektet)")
    p.add_argument("--kontrollera", action="store_true", help="kontrollera i stället för att skriva en mall")
    p.set_defaults(func=_cmd_kommentar)

    p = sub.add_parser("budget", parents=[common], help="budgetförslag för ett år")
    p.add_argument("year", type=int, metavar="ÅR")
    p.set_defaults(func=_cmd_budget)

    p = sub.add_parser("lab", help="öppna rapport-notebooks i JupyterLab (sparas utan utdata)")
    p.add_argument("jupyter_args", nargs=argparse.REMAINDER, metavar="...", help="fler argument till jupyter lab")
    p.set_defaults(func=_cmd_lab)

    p = sub.add_parser("kolada", help="jämförelse med Kolada: hämta ögonblicksbild, sök KPI och kommungrupper")
    ksub = p.add_subparsers(dest="kolada_cmd", required=True, metavar="DELKOMMANDO")
    k = ksub.add_parser("fetch", help="hämta det som params/kolada.yaml anger och läs in det i lagret")
    k.add_argument("--year", type=int, nargs="+", metavar="ÅR", help="år (standard: de senaste antal_ar hela åren)")
    k.add_argument("--dir", default=None, help="katalog för ögonblicksbilder (standard: data/kolada)")
    kolada_common = [k]
    k = ksub.add_parser("load", help="läs in en sparad ögonblicksbild i lagret")
    k.add_argument("file", metavar="FIL")
    kolada_common.append(k)
    k = ksub.add_parser("kpi", help="sök KPI i Koladas metadata (titel)")
    k.add_argument("search", metavar="SÖKORD")
    kolada_common.append(k)
    k = ksub.add_parser("grupper", help="sök kommungrupper i Kolada (t.ex. liknande kommuner)")
    k.add_argument("search", metavar="SÖKORD")
    kolada_common.append(k)
    for k in kolada_common:
        k.add_argument("--store", default=None, help="DuckDB-fil (standard: $VU_STORE eller data/vu.duckdb)")
        k.add_argument("--bas-url", default=None, help="Koladas API-adress (standard: klient.bas_url i params/kolada.yaml)")
    p.set_defaults(func=_cmd_kolada)
    return parser


#: errno values of failures the user can act on, with what to say (exit code 1).
_OS_ERRORS = {
    errno.ENOSPC: "disken är full",
    errno.EDQUOT: "diskkvoten är slut",
    errno.EFBIG: "filen blev större än systemet tillåter (disken full eller filstorleksgräns)",
    errno.EROFS: "filsystemet är skrivskyddat",
    errno.EACCES: "behörighet saknas",
    errno.EPERM: "behörighet saknas",
}


def _log_dir() -> Path:
    """Where tracebacks of unexpected errors go: ``$VU_LOG_DIR``, else ``~/.cache/vu/logg``."""
    import os

    env = os.environ.get("VU_LOG_DIR", "").strip()
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vu" / "logg"


def write_crash_log(exc: BaseException, argv: list[str] | None) -> Path | None:
    """Write the traceback of ``exc`` to a new log file; its path, or None when nothing could be written."""
    import datetime as dt
    import os
    import tempfile
    import traceback

    text = (f"vu {' '.join(argv if argv is not None else sys.argv[1:])}\n"
            f"{dt.datetime.now().astimezone().isoformat(timespec='seconds')}  python {sys.version.split()[0]}\n\n"
            + "".join(traceback.format_exception(exc)))
    name = f"vu-fel-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for d in (_log_dir(), Path(tempfile.gettempdir())):
        try:
            d.mkdir(parents=True, exist_ok=True)
            path = d / name
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def os_error_message(e: OSError) -> str | None:
    """A Swedish line for a foreseeable operating-system failure (disk full, read-only, ...), or None."""
    what = _OS_ERRORS.get(e.errno)
    if what is None:
        text = str(e).lower()
        if "no space left" in text:
            what = _OS_ERRORS[errno.ENOSPC]
        elif "read-only file system" in text:
            what = _OS_ERRORS[errno.EROFS]
        elif "file too large" in text:
            what = _OS_ERRORS[errno.EFBIG]
        else:
            return None
    where = f" ({e.filename})" if getattr(e, "filename", None) else ""
    return f"kunde inte skriva eller läsa{where}: {what}; inget har ändrats i lagret"


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit codes: 0 ok, 1 a job failed, 2 bad usage or bad input.

    No traceback reaches the user: foreseeable failures give a Swedish message;
    anything else gives one line naming the log file that holds the traceback.
    """
    from vu_lib.core.io import make_console_safe

    make_console_safe()  # a Windows code page lacks U+2212: print "-" rather than crash
    parser = build_parser()
    # `vu lab --port 8899 ...`: argparse's REMAINDER does not take arguments that start with
    # '-' as a subcommand's only positional, so the unknown ones are handed to JupyterLab here.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.command != "lab":
            parser.error("okända argument: " + " ".join(extra))
        args.jupyter_args = [*extra, *args.jupyter_args]
    try:
        if getattr(args, "store", "") is None:
            from vu_lib.data.dataset import default_store

            args.store = str(default_store())
        return int(args.func(args) or 0)
    except (InputError, ParamsError, BatchUsageError) as e:
        print(f"vu: {e}", file=sys.stderr)
        return 2
    except VuError as e:
        print(f"vu: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `vu list | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("vu: avbrutet", file=sys.stderr)
        return 130
    except OSError as e:
        msg = os_error_message(e)
        if msg is not None:
            print(f"vu: {msg}", file=sys.stderr)
            return 1
        return _unexpected(e, argv)
    except Exception as e:  # noqa: BLE001 - the last line of defence: a log file, not a traceback
        return _unexpected(e, argv)


def _unexpected(e: BaseException, argv: list[str] | None) -> int:
    log = write_crash_log(e, argv)
    where = f"; detaljer i {log}" if log else ""
    print(f"vu: oväntat fel ({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}){where}",
          file=sys.stderr)
    return 1


def console(argv: list[str] | None = None) -> None:
    """The ``vu`` command: :func:`main`, then the process ends at once (:func:`vu_lib.core.io.exit_now`).

    Python's own shutdown would tear down vl-convert's JavaScript engine after a batch,
    a quarter of a second in which nothing is left to do.
    """
    from vu_lib.core.io import exit_now

    try:
        code = main(argv)
    except SystemExit as e:  # argparse: --help, a usage error (its message is printed)
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    exit_now(code)


if __name__ == "__main__":  # pragma: no cover
    console()
