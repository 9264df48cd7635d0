"""Malformed and hostile exports through the command line: refused with exit 2, or accepted exactly.

Every kind below is given to ``vu ingest`` together with a good file, against a
store holding the four fixture files. A refusal must

* exit with code 2 and print no traceback,
* name the file, and the row and column where the problem has them (the
  expected row is worked out from the text: the header is row 1),
* count every error in the headline,
* leave the store byte for byte as it was (and load nothing of the good file).

The accepted kinds at the end must be stored exactly as written.
"""
from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from conftest import EXPORTS, TODAY, file_sha256
from vu_lib import cli
from vu_lib.data import readers

HB = "period;kodtyp;kod;konto;verifikation;belopp;text\n"
VOL = "period;vu;kluster;enhet;matt;utforare;varde\n"
BEM = "period;kod;utbildningsniva;arsarbetare\n"
MED = "id;period;vu;typ;belopp;beskrivning;aterrapporteringskrav;aterrapportering_senast\n"
OK = "2026-03;ID;411110;5011;V1;5;x"
FIXTURES = [EXPORTS / n for n in ("huvudbok_2026.csv", "volymer_2026.csv", "bemanning_2026.csv", "medel.csv")]


def rows(header: str, *lines: str) -> str:
    return header + "".join(line + "\n" for line in lines)


def hb_lines(n: int) -> list[str]:
    """n good ledger lines V0..V{n-1} (rows 2..n+1)."""
    return [f"2026-03;ID;411110;5011;V{i};5;rad {i}" for i in range(n)]


# --------------------------------------------------------------------------- xlsx builders
def _xlsx(path: Path, sheet: str, table: list[list]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in table:
        ws.append(r)
    wb.save(path)


def _xlsx_wrong_sheet(path: Path) -> None:
    _xlsx(path, "Blad1", [["a"]])


def _xlsx_two_kinds(path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "huvudbok"
    wb.create_sheet("volymer")
    wb.save(path)


def _xlsx_truncated(path: Path) -> None:
    _xlsx(path, "huvudbok", [HB.strip().split(";"), OK.split(";")])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _xlsx_random(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 20)


def _xlsx_zip_without_workbook(path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hej.txt", "inte en arbetsbok")
    path.write_bytes(buf.getvalue())


def _xlsx_control_char(path: Path) -> None:
    # XML cannot hold C0 controls, but C1 controls and U+2028 pass through a workbook
    _xlsx(path, "huvudbok", [HB.strip().split(";"), ["2026-03", "ID", "411110", "5011", "V1", 5, "a\u0085b"]])


def _xlsx_formula_without_value(path: Path) -> None:
    # openpyxl stores the formula without a cached value: read with data_only it is empty
    _xlsx(path, "huvudbok", [HB.strip().split(";"), ["2026-03", "ID", "411110", "5011", "V1", "=1+1", "x"]])


def _xlsx_value_without_header(path: Path) -> None:
    _xlsx(path, "huvudbok", [HB.strip().split(";"), ["2026-03", "ID", "411110", "5011", "V1", 5, "x", None, "extra"]])


def _directory(path: Path) -> None:
    path.mkdir()


def _missing(path: Path) -> None:
    pass


RUNAWAY = hb_lines(40)
RUNAWAY[1] = RUNAWAY[1].replace(";rad 1", ';"rad 1')     # row 3 opens a quote ...
RUNAWAY[28] = RUNAWAY[28] + '"'                          # ... closed only on row 30
UNCLOSED = hb_lines(5)
UNCLOSED[2] = UNCLOSED[2].replace(";rad 2", ';"rad 2')   # row 4, never closed
STRAY_THEN_RUNAWAY = hb_lines(8)
STRAY_THEN_RUNAWAY[0] += ' 5"'                              # row 2: a stray quote (a character) ...
STRAY_THEN_RUNAWAY[2] = STRAY_THEN_RUNAWAY[2].replace(";rad 2", ';"rad 2')  # ... row 4 opens a quote ...
STRAY_THEN_RUNAWAY[5] += '"'                                # ... closed only on row 7
CLOSED_BY_NEXT = hb_lines(6)
CLOSED_BY_NEXT[1] = CLOSED_BY_NEXT[1].replace(";rad 1", ';"rad 1')   # row 3 opens a quote, never closed ...
CLOSED_BY_NEXT[4] = CLOSED_BY_NEXT[4].replace(";rad 4", ';"rad; 4"')  # ... row 6's quoted value ends it
LONG_OPEN = hb_lines(5000)                                  # about 180 000 characters after row 3
LONG_OPEN[1] = LONG_OPEN[1].replace(";rad 1", ';"rad 1')    # row 3, never closed: over the csv field limit

# (id, file name, content (str, bytes or a builder), expected row, expected column, fragment of the message)
MALFORMED = [
    # ---- the twenty of the first campaign (tests/test_store.py)
    ("separator", "hb.csv", "period,kodtyp,kod,konto,verifikation,belopp\n", 1, None, "avgränsare"),
    ("decimalpunkt", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;1234.50;"), 2, "belopp", "decimalpunkt"),
    ("mojibake", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;LÃ¶ner"), 2, "text", "Ã¶"),
    ("odefinierad-byte", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;").encode() + b"2026-03;ID;411110;5011;V2;5;\x8d\n",
     3, None, "0x8D"),
    ("saknad-kolumn", "hb.csv", "period;kodtyp;kod;konto;belopp\n2026-03;ID;411110;5011;5\n", 1, "verifikation",
     "obligatorisk"),
    ("okand-kolumn", "hb.csv", rows(HB.replace("text", "txet"), OK), 1, "txet", 'menade du "text"'),
    ("okand-enhet", "hb.csv", rows(HB, "2026-03;ID;499999;5011;V1;5;"), 2, "kod", "okänd kod"),
    ("periodformat", "hb.csv", rows(HB, "mars 2026;ID;411110;5011;V1;5;"), 2, "period", "ogiltig period"),
    ("dubblett", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;", "2026-03;ID;411110;5011;V1;6;"), 3, None,
     "som rad 2"),
    ("negativa-timmar", "vol.csv", rows(VOL, "2026-03;AN-OMR-NV;hemtjanst;;utforda_timmar;leanlink;-1"), 2, "varde",
     "negativt"),
    ("text-i-tal", "vol.csv", rows(VOL, "2026-03;AN-VB;somatik;;platser;;fyrtio"), 2, "varde", "inte ett tal"),
    ("tom-fil", "hb.csv", "", None, None, "tom"),
    ("bara-rubrik", "hb.csv", HB, None, None, "inga datarader"),
    ("avkortad-rad", "hb.csv", rows(HB, OK, "2026-03;ID;411110"), 3, None, "avkortad"),
    ("framtida-period", "hb.csv", rows(HB, "2027-01;ID;411110;5011;V1;5;"), 2, "period", "framtida"),
    ("konto-utanfor", "hb.csv", rows(HB, "2026-03;ID;411110;2010;V1;5;"), 2, "konto", "utanför kontoplanen"),
    ("kluster-utanfor-vu", "vol.csv", rows(VOL, "2026-03;AN-VB;hemtjanst;;platser;;5"), 2, "kluster", "finns inte i"),
    ("utforare-saknas", "vol.csv", rows(VOL, "2026-03;AN-OMR-NV;hemtjanst;;utforda_timmar;;5"), 2, "utforare",
     "utforare saknas"),
    ("medel-utan-krav", "medel.csv", rows(MED, "M9;2026-03;AN-VB;statsbidrag;5;B;;"), 2, "aterrapporteringskrav",
     "värde saknas"),
    ("fel-blad-xlsx", "export.xlsx", _xlsx_wrong_sheet, None, None, "inget blad"),
    # ---- quoting: never a silent loss of rows
    ("citat-slukar-rader", "hb.csv", rows(HB, *RUNAWAY), 3, "text", "avslutas först på rad 30"),
    ("citat-aldrig-stangt", "hb.csv", rows(HB, *UNCLOSED), 4, "text", "avslutas aldrig"),
    ("text-efter-citat", "hb.csv", rows(HB, '2026-03;ID;411110;5011;V1;5;"abc"def'), 2, "text",
     "text efter det avslutande citattecknet"),
    ("lost-citat-i-belopp", "hb.csv", rows(HB, OK, '2026-03;ID;411110;5011;V2;12"5;Skärm 24" Dell'), 3, "belopp",
     '"12"5" är inte ett tal'),
    ("citat-slukar-rader-efter-lost-citat", "hb.csv", rows(HB, *STRAY_THEN_RUNAWAY), 4, "text",
     "avslutas först på rad 7"),
    ("citat-stangs-av-nasta-citat", "hb.csv", rows(HB, *CLOSED_BY_NEXT), 3, "text", "avslutas först på rad 6"),
    ("citat-over-faltgransen", "hb.csv", rows(HB, *LONG_OPEN), 3, "text", "avslutas inte inom 131 072 tecken"),
    # ---- numbers: finite and within the store's types, the same rule for validate and ingest
    ("belopp-17-siffror", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;12345678901234567,00;"), 2, "belopp",
     "för stort"),
    ("belopp-oandligt", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;1" + "0" * 400 + ";"), 2, "belopp",
     "för stort"),
    ("volym-orimlig", "vol.csv", rows(VOL, "2026-03;AN-VB;somatik;;platser;;1000000000000"), 2, "varde", "för stort"),
    ("medel-belopp-for-stort", "medel.csv",
     rows(MED, "M9;2026-03;AN-VB;statsbidrag;10 000 000 000 000,00;B;K;"), 2, "belopp", "för stort"),
    ("for-manga-decimaler", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5,123;"), 2, "belopp", "decimaler"),
    ("punkt-tusental", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;1.234,50;"), 2, "belopp", "tusentalsavgränsare"),
    # ---- control characters: refused, the same in every column and format
    ("styrtecken-bel", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;a\x07b"), 2, "text", "U+0007 (BEL)"),
    ("styrtecken-esc-medel", "medel.csv", rows(MED, "M9;2026-03;AN-VB;statsbidrag;5;B\x1b[31m;K;"), 2, "beskrivning",
     "U+001B (ESC)"),
    ("styrtecken-i-nyckel", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V\x011;5;x"), 2, "verifikation", "U+0001"),
    ("ensam-cr", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;a\rb"), 2, "text", "U+000D (CR)"),
    ("radavgransare-u2028", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;a\u2028b"), 2, "text", "U+2028"),
    ("c1-styrtecken", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;a\u0085b"), 2, "text", "U+0085"),
    ("nul-tecken", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;a\x00b"), None, None, "NUL"),
    ("styrtecken-xlsx", "hb.xlsx", _xlsx_control_char, 2, "text", "U+0085"),
    # ---- digits and encodings: the message names the cause
    ("helbredd-period", "hb.csv", rows(HB, "２０２６-03;ID;411110;5011;V1;5;x"), 2, "period", "FULLWIDTH DIGIT"),
    ("helbredd-belopp", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;１２;x"), 2, "belopp", "FULLWIDTH DIGIT"),
    ("helbredd-kod", "hb.csv", rows(HB, "2026-03;ID;４１１１１０;5011;V1;5;x"), 2, "kod", "FULLWIDTH DIGIT"),
    ("helbredd-datum", "medel.csv", rows(MED, "M9;2026-03;AN-VB;statsbidrag;5;B;K;２０２７-01-31"), 2,
     "aterrapportering_senast", "FULLWIDTH DIGIT"),
    ("blandad-kodning", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;Köp").encode("cp1252")
     + "2026-03;ID;411110;5011;V2;5;Lån\n".encode("utf-8"), None, None, "blandar teckenkodningar"),
    ("utf16", "hb.csv", rows(HB, OK).encode("utf-16"), None, None, "UTF-16"),
    ("bom-men-cp1252", "hb.csv", b"\xef\xbb\xbf" + rows(HB, "2026-03;ID;411110;5011;V1;5;K\xf6p").encode("latin-1"),
     2, None, "UTF-8-märke"),
    # ---- damaged or foreign workbooks and files
    ("xlsx-avkortad", "hb.xlsx", _xlsx_truncated, None, None, "Excel-arbetsbok"),
    ("xlsx-slumpbytes", "hb.xlsx", _xlsx_random, None, None, "Excel-arbetsbok"),
    ("xlsx-zip-utan-arbetsbok", "hb.xlsx", _xlsx_zip_without_workbook, None, None, "Excel-arbetsbok"),
    ("xlsx-tva-filtyper", "hb.xlsx", _xlsx_two_kinds, None, None, "flera blad"),
    ("xlsx-formel-utan-varde", "hb.xlsx", _xlsx_formula_without_value, 2, "belopp", "värde saknas"),
    ("xlsx-varde-utan-rubrik", "hb.xlsx", _xlsx_value_without_header, 1, None, "kolumn 9 saknar rubrik"),
    ("gammal-xls", "hb.xls", b"\xd0\xcf\x11\xe0", None, None, ".xls"),
    ("okand-filandelse", "hb.json", "{}", None, None, "okänd filtyp"),
    ("katalog", "hb.csv", _directory, None, None, "katalog"),
    ("saknas", "hb.csv", _missing, None, None, "finns inte"),
    # ---- structure
    ("dubbel-kolumn", "hb.csv", rows(HB.strip() + ";text\n", OK + ";y"), 1, "text", "två gånger"),
    ("kolumn-utan-rubrik", "hb.csv", rows(HB.strip() + ";\n", OK + ";y"), 1, None, "saknar rubrik"),
    ("tabb-avgransare", "hb.csv", HB.replace(";", "\t") + OK.replace(";", "\t") + "\n", 1, None, "tabb"),
    ("tom-rubrikrad", "hb.csv", "\n" + OK + "\n", 1, None, "rubrikraden"),
    ("okand-filtyp-rubrik", "x.csv", "a;b;c\n1;2;3\n", 1, None, "passar varken datakontraktet eller någon importprofil"),
    ("for-lang-rad", "hb.csv", rows(HB, OK + ";extra;mer"), 2, None, "semikolon i ett värde"),
    # ---- values and references
    ("tom-kod", "hb.csv", rows(HB, "2026-03;ID;;5011;V1;5;x"), 2, "kod", "värde saknas"),
    ("manad-13", "hb.csv", rows(HB, "2026-13;ID;411110;5011;V1;5;x"), 2, "period", "ogiltig period"),
    ("fore-forsta-modellar", "hb.csv", rows(HB, "2019-01;ID;411110;5011;V1;5;x"), 2, "period", "före första modellåret"),
    ("okand-kodtyp", "hb.csv", rows(HB, "2026-03;XX;411110;5011;V1;5;x"), 2, "kodtyp", "ogiltigt värde"),
    ("komplementkod-som-id", "hb.csv", rows(HB, "2026-03;ID;71110;5011;V1;5;x"), 2, "kod", "är en komplement_kod"),
    ("konto-med-bokstav", "hb.csv", rows(HB, "2026-03;ID;411110;50A1;V1;5;x"), 2, "konto", "ogiltig kod"),
    ("okant-matt", "vol.csv", rows(VOL, "2026-03;AN-VB;somatik;;sängar;;5"), 2, "matt", "ogiltigt värde"),
    ("utforare-for-odelat-matt", "vol.csv", rows(VOL, "2026-03;AN-VB;somatik;;platser;leanlink;5"), 2, "utforare",
     "delas inte per utförare"),
    ("enhet-i-annat-kluster", "vol.csv", rows(VOL, "2026-03;AN-OMR-NV;hemtjanst;411210;budget_timmar;;5"), 2, "enhet",
     "hör till"),
    ("okand-utbildningsniva", "bem.csv", rows(BEM, "2026-03;414210;trollkarl;1"), 2, "utbildningsniva",
     "okänd utbildningsnivå"),
    ("bemanning-komplementkod", "bem.csv", rows(BEM, "2026-03;71110;underskoterska;1"), 2, "kod", "komplement_kod"),
    ("negativa-arsarbetare", "bem.csv", rows(BEM, "2026-03;414210;underskoterska;-1"), 2, "arsarbetare", "negativt"),
    ("ogiltigt-datum", "medel.csv", rows(MED, "M9;2026-03;AN-VB;statsbidrag;5;B;K;2027-02-30"), 2,
     "aterrapportering_senast", "ogiltigt datum"),
    ("okand-medeltyp", "medel.csv", rows(MED, "M9;2026-03;AN-VB;gava;5;B;K;"), 2, "typ", "ogiltigt värde"),
    ("okant-vu", "medel.csv", rows(MED, "M9;2026-03;AN-XX;statsbidrag;5;B;K;"), 2, "vu", "okänt verksamhetsuppdrag"),
    ("medel-id-dubblett", "medel.csv", rows(MED, "M9;2026-03;AN-VB;statsbidrag;5;B;K;",
                                            "M9;2026-04;AN-VB;statsbidrag;5;B;K;"), 3, None, "dubblettrad"),
    ("medel-id-redan-lagrat", "medel.csv", rows(MED, "MED-2026-01;2026-04;SON-BO-VUX;statsbidrag;5;B;R;"), 2, "id",
     "finns redan i lagret"),
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, params_module):
    store = tmp_path_factory.mktemp("lager") / "vu.duckdb"
    from vu_lib.data.store import ingest_files

    ingest_files(FIXTURES, store, params=params_module, today=TODAY)
    return store


@pytest.fixture(scope="module")
def params_module():
    from vu_lib.core.params import load_params

    return load_params()


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    """The CLI reads 'today' from the clock: pin it to TODAY (November 2026) for the period checks."""
    import datetime as dt

    real = readers.read_file

    def read_file(path, *, params=None, today=None):
        return real(path, params=params, today=today or TODAY)

    monkeypatch.setattr(readers, "read_file", read_file)


def _make(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name
    if callable(content):
        content(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_there_are_at_least_sixty_kinds():
    assert len({m[0] for m in MALFORMED}) == len(MALFORMED) >= 60


@pytest.mark.parametrize("name, content, row, column, fragment", [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_refused_with_exit_2_naming_file_row_column(loaded, tmp_path, capsys, name, content, row, column, fragment):
    before = file_sha256(loaded)
    bad = _make(tmp_path, name, content)
    good = _make(tmp_path, "huvudbok_ok.csv", rows(HB, "2026-04;ID;411110;5011;V1;5;"))
    # a conflict with the store is found by ingest only; validate checks the file alone
    commands = ("ingest",) if "MED-2026-01" in str(content) else ("validate", "ingest")
    for command in commands:
        args = [command, str(good), str(bad)] + (["--store", str(loaded)] if command == "ingest" else [])
        code = cli.main(args)
        out, err = capsys.readouterr()
        assert code == 2, err
        assert "Traceback" not in err + out
        lines = err.splitlines()
        head = lines[0]
        problems = [ln.strip() for ln in lines[1:]]
        where = str(bad) + (f", rad {row}" if row is not None else "") + (f", kolumn {column}" if column else "")
        assert any(p.startswith(where + ":") and fragment in p for p in problems), err
        # every listed problem names the bad file (the good one has none); the headline counts them all
        assert all(p.startswith(str(bad)) for p in problems), err
        assert head == (f"vu: {len(problems)} fel i indata:" if len(problems) > 1 else "vu: 1 fel i indata:"), err
    assert file_sha256(loaded) == before


def test_headline_counts_every_error_not_only_the_listed(tmp_path, capsys):
    # 1 909 bad amounts: 50 are listed, the 51st line says "ytterligare 1 859 fel", the headline says 1 909
    bad = _make(tmp_path, "hb.csv", rows(HB, *[f"2026-03;ID;411110;5011;V{i};x;" for i in range(1909)]))
    assert cli.main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "vu: 1 909 fel i indata:"
    assert err.splitlines()[-1].endswith("ytterligare 1 859 fel (bara de första 50 visas)")


# --------------------------------------------------------------------------- accepted exactly
def _stored(store: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _ingest_ok(tmp_path: Path, capsys, *paths: Path) -> Path:
    store = tmp_path / "nytt" / "vu.duckdb"
    code = cli.main(["ingest", *map(str, paths), "--store", str(store)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return store


def test_cr_only_line_ends_are_read_like_lf(tmp_path, capsys):
    lines = hb_lines(5)
    path = _make(tmp_path, "hb.csv", rows(HB, *lines).replace("\n", "\r").encode())
    store = _ingest_ok(tmp_path, capsys, path)
    got = _stored(store, "SELECT verifikation, text, belopp FROM huvudbok ORDER BY verifikation")
    assert got == [(f"V{i}", f"rad {i}", Decimal("5.00")) for i in range(5)]


def test_quoted_values_with_separators_quotes_and_line_breaks_are_kept(tmp_path, capsys):
    text = rows(HB, '2026-03;ID;411110;5011;V1;5;"a;b ""c"""',
                '2026-03;ID;411110;5011;V2;5;"rad ett\r\nrad två"',
                "2026-03;ID;411110;5011;V3;5;=HYPERLINK(\"http://example.invalid\")")
    store = _ingest_ok(tmp_path, capsys, _make(tmp_path, "hb.csv", text))
    got = dict(_stored(store, "SELECT verifikation, text FROM huvudbok"))
    assert got == {"V1": 'a;b "c"', "V2": "rad ett\nrad två", "V3": '=HYPERLINK("http://example.invalid")'}


def test_largest_amount_is_stored_to_the_ore(tmp_path, capsys):
    # 10^13 kr is refused; 9 999 999 999 999,99 kr (just below) is kept exactly, and so is its negative
    text = rows(HB, "2026-03;ID;411110;5011;V1;9 999 999 999 999,99;", "2026-03;ID;411110;5011;V2;\u22129999999999999,99;")
    store = _ingest_ok(tmp_path, capsys, _make(tmp_path, "hb.csv", text))
    got = dict(_stored(store, "SELECT verifikation, belopp FROM huvudbok"))
    assert got == {"V1": Decimal("9999999999999.99"), "V2": Decimal("-9999999999999.99")}


def _stored_by_fast_path(tmp_path: Path, capsys, monkeypatch, text: str) -> dict[str, tuple[str, Decimal]]:
    """Ingest ``text`` into a new store; ``{verifikation: (text, belopp)}`` as stored.

    Fails if the file was handed to the exact, slower reader instead of pandas (fast path).
    """
    calls = []
    real = readers._read_csv_quoted
    monkeypatch.setattr(readers, "_read_csv_quoted", lambda *a: calls.append(1) or real(*a))
    store = _ingest_ok(tmp_path, capsys, _make(tmp_path, "hb.csv", text))
    assert calls == []
    return {v: (t, b) for v, t, b in _stored(store, "SELECT verifikation, text, belopp FROM huvudbok")}


def test_quoted_values_on_one_line_take_the_fast_path_and_stay_exact(tmp_path, capsys, monkeypatch):
    """Quotes that open and close on their line: read by pandas (fast path), values exact."""
    text = rows(HB, '2026-03;ID;411110;5011;V1;5;"a;b ""c"""', '2026-03;ID;411110;5011;"V;2";5;"=1+1"',
                "2026-03;ID;411110;5011;V3;5;utan citat", '2026-03;ID;411110;5011;V4;"1 234,50";x')
    assert _stored_by_fast_path(tmp_path, capsys, monkeypatch, text) == {
        "V1": ('a;b "c"', Decimal("5.00")), "V;2": ("=1+1", Decimal("5.00")),
        "V3": ("utan citat", Decimal("5.00")), "V4": ("x", Decimal("1234.50"))}


def test_stray_quotes_inside_unquoted_values_are_stored_as_written(tmp_path, capsys, monkeypatch):
    """A quote that does not start a field is a character (as Python's csv module reads it):
    the middle and the end of a text, two in one text, in the verifikation key. Read by the fast
    path, stored as written."""
    text = rows(HB, '2026-03;ID;411110;5011;V1;1 234,50;Skärm 24" Dell', '2026-03;ID;411110;5011;V2;5;Lön 5"',
                '2026-03;ID;411110;5011;V3;−7,25;Kabel 2" och 3"', '2026-03;ID;411110;5011;V"4;5;x')
    assert _stored_by_fast_path(tmp_path, capsys, monkeypatch, text) == {
        "V1": ('Skärm 24" Dell', Decimal("1234.50")), "V2": ('Lön 5"', Decimal("5.00")),
        "V3": ('Kabel 2" och 3"', Decimal("-7.25")), 'V"4': ("x", Decimal("5.00"))}


def test_a_value_over_several_lines_keeps_the_row_numbers(tmp_path, capsys):
    """Row 3's text runs over lines 3-4; row 5 (the line after) has a bad amount: named as row 5."""
    text = rows(HB, "2026-03;ID;411110;5011;V1;5;x", '2026-03;ID;411110;5011;V2;5;"rad ett', 'rad två"',
                "2026-03;ID;411110;5011;V3;fem;x")
    bad = _make(tmp_path, "hb.csv", text)
    assert cli.main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}, rad 5, kolumn belopp:" in err and len(err.strip().splitlines()) == 2, err
