"""Column profiles (vu_lib.data.profiles): the shipped examples, detection, errors.

docs/exempel/beslutsstod_utfall_2026.csv through params/import/beslutsstod_utfall.yaml,
by hand: "2026 01" -> 2026-01; "411110 Hemtjänst Skäggetorp" -> 411110; "3810 Intern
ersättning" -> 3810; natural sign: revenue accounts (3810 ersättning, 3010 övrig intäkt)
are turned to booked sign (credit negative), costs stay: 1 183 333,33 on 3810 -> −1 183 333,33,
−1 200,00 on 3010 (a refund) -> +1 200,00, 812 450,00 on 5011 stays.

docs/exempel/beslutsstod_timmar_2026.csv through params/import/beslutsstod_volymer.yaml: each
non-empty measure cell is a volymer row: 3 + 3 + 2 (March has no budget) = 8 rows.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import TODAY, file_sha256
from vu_lib import cli
from vu_lib.core.exceptions import InputError, ParamsError
from vu_lib.core.params import load_params
from vu_lib.data.profiles import load_profiles
from vu_lib.data.store import ingest_files, validate_files

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "exempel"
UTFALL = EXAMPLES / "beslutsstod_utfall_2026.csv"
TIMMAR = EXAMPLES / "beslutsstod_timmar_2026.csv"


def test_shipped_profiles_load(params):
    profiles = load_profiles(params)
    assert set(profiles) == {"beslutsstod_utfall", "beslutsstod_volymer"}
    assert profiles["beslutsstod_volymer"].mattkolumner["Budgeterade timmar"].matt == "budget_timmar"


def test_decision_support_ledger_example_is_recognised_and_mapped(params):
    pf, = validate_files([UTFALL], params=params, today=TODAY)
    assert pf.kind.name == "huvudbok"
    rows = pf.frame[["period", "kodtyp", "kod", "konto", "belopp"]].values.tolist()
    assert rows == [
        ["2026-01", "ID", "411110", "3810", -1183333.33],
        ["2026-01", "ID", "411110", "5011", 812450.00],
        ["2026-01", "ID", "411110", "3010", 1200.00],
        ["2026-01", "ID", "411120", "3810", -950000.00],
        ["2026-01", "ID", "411120", "5011", 640000.00],
        ["2026-02", "ID", "411110", "3810", -1183333.33],
        ["2026-02", "ID", "411110", "5011", 798100.25],
    ]
    assert list(pf.rownums) == [2, 3, 4, 5, 6, 7, 8]


def test_budget_column_example_becomes_measure_rows(params):
    pf, = validate_files([TIMMAR], params=params, today=TODAY)
    assert pf.kind.name == "volymer"
    got = pf.frame[["period", "matt", "utforare", "varde"]].values.tolist()
    assert got == [
        ["2026-01", "utforda_timmar", "leanlink", 20412.5], ["2026-01", "utforda_timmar", "privat", 2100.0],
        ["2026-01", "budget_timmar", "", 21000.0],
        ["2026-02", "utforda_timmar", "leanlink", 19950.0], ["2026-02", "utforda_timmar", "privat", 2050.0],
        ["2026-02", "budget_timmar", "", 20500.0],
        ["2026-03", "utforda_timmar", "leanlink", 21800.0], ["2026-03", "utforda_timmar", "privat", 2200.0],
    ]
    assert set(pf.frame["vu"]) == {"AN-OMR-NV"}


def test_both_examples_ingest_with_the_named_profile(tmp_path, params):
    store = tmp_path / "vu.duckdb"
    r1 = ingest_files([UTFALL], store, params=params, today=TODAY, profil="beslutsstod_utfall")
    r2 = ingest_files([TIMMAR], store, params=params, today=TODAY, profil="beslutsstod_volymer")
    assert r1[0].summary() == ("beslutsstod_utfall_2026.csv: huvudbok, 7 rader, perioder "
                               "2026-01\u20132026-02: inläst (nya perioder)")
    assert r2[0].summary() == ("beslutsstod_timmar_2026.csv: volymer, 8 rader, perioder "
                               "2026-01\u20132026-03: inläst (nya perioder)")


def test_cli_ingest_with_profile_and_validate_by_detection(tmp_path, capsys):
    store = tmp_path / "vu.duckdb"
    assert cli.main(["ingest", "--store", str(store), "--profil", "beslutsstod_utfall", str(UTFALL)]) == 0
    assert cli.main(["validate", str(TIMMAR)]) == 0
    out = capsys.readouterr().out
    assert "volymer, 8 rader, perioder 2026-01\u20132026-03 (importprofil beslutsstod_volymer)" in out
    assert cli.main(["ingest", "--store", str(store), "--profil", "finns_inte", str(UTFALL)]) == 2
    assert 'importprofilen "finns_inte" finns inte' in capsys.readouterr().err


def test_a_file_matching_no_profile(tmp_path, params, write_export):
    path = write_export("okand.csv", "Månad;Ansvarskod;Summa\n2026 01;411110;100\n")
    store = tmp_path / "vu.duckdb"
    ingest_files([UTFALL], store, params=params, today=TODAY)
    before = file_sha256(store)
    with pytest.raises(InputError) as e:
        ingest_files([path], store, params=params, today=TODAY)
    p, = e.value.problems
    assert (p.file, p.row) == (str(path), 1)
    assert "passar varken datakontraktet eller någon importprofil" in p.message
    assert "beslutsstod_utfall, beslutsstod_volymer" in p.message
    assert file_sha256(store) == before


def test_a_file_matching_two_profiles(tmp_path, write_export):
    root = tmp_path / "params"
    shutil.copytree(load_params().root, root)
    shutil.copy(root / "import" / "beslutsstod_utfall.yaml", root / "import" / "ekonomi_utfall.yaml")
    p2 = load_params(root)
    with pytest.raises(InputError) as e:
        validate_files([UTFALL], params=p2, today=TODAY)
    msg = str(e.value)
    assert "passar flera importprofiler (beslutsstod_utfall, ekonomi_utfall); ange vilken med --profil NAMN" in msg
    # naming one settles it
    pf, = validate_files([UTFALL], params=p2, today=TODAY, profil="ekonomi_utfall")
    assert pf.rows == 7


def test_contract_files_are_not_taken_for_profiles(params):
    from conftest import EXPORTS

    pf, = validate_files([EXPORTS / "huvudbok_2026.csv"], params=params, today=TODAY)
    assert pf.encoding in ("utf-8", "utf-8-sig")


def test_bad_cells_are_named_by_the_exports_own_column(params, write_export):
    text = UTFALL.read_text(encoding="utf-8").splitlines()
    text[2] = "2026-01;411110 Hemtjänst Skäggetorp;Hemtjänst;5011 Löner;812 450,00"    # row 3: period form
    text[3] = "2026 01;Hemtjänst Skäggetorp;Hemtjänst;3010 Avgifter;1 200,00"          # row 4: no code
    text[4] = "2026 01;411999 Okänd;Hemtjänst;3810 Intern ersättning;950 000,00"       # row 5: unknown unit
    text[5] = "2026 01;411120 Hemtjänst Ryd;Hemtjänst;5011 Löner;640000.00"            # row 6: decimal point
    path = write_export("fel.csv", "\n".join(text) + "\n")
    with pytest.raises(InputError) as e:
        validate_files([path], params=params, today=TODAY, profil="beslutsstod_utfall")
    got = {(p.row, p.column) for p in e.value.problems}
    assert {(3, "Period"), (4, "Ansvar"), (5, "Ansvar"), (6, "Utfall")} <= got, got
    assert "perioden \"2026-01\" har inte formen ÅÅÅÅ MM" in str(e.value)


@pytest.mark.parametrize("text, expected", [
    ("beskrivning: x\ntyp: huvudbok\nkolumner: {A: period}\nkonstanter: {kodtyp: ID}\nokand: 1\n", "okand: okänd nyckel"),
    ("beskrivning: x\ntyp: huvudbok\nkolumner: {A: period, B: kod, C: konto, D: belopp}\n", "kräver kodtyp"),
    ("beskrivning: x\ntyp: huvudbok\nkolumner: {A: perioden}\n", "'perioden' är ingen kolumn i huvudbok"),
    ("beskrivning: x\ntyp: volymer\nkolumner: {A: period, B: vu, C: kluster}\nmattkolumner: {D: {matt: timmar}}\n",
     "okänt mått 'timmar'"),
    ("beskrivning: x\ntyp: huvudbok\nkolumner: {A: period, B: kod, C: konto, D: belopp}\nkonstanter: {kodtyp: ID}\n"
     "period_format: YYYY-MM\n", "ÅÅÅÅ och MM"),
    ("beskrivning: x\ntyp: huvudbok\nkolumner: {A: period, B: kod, C: konto, D: belopp}\nkonstanter: {kodtyp: ID}\n"
     "koder: {kod: '(('}\n", "ogiltigt reguljärt uttryck"),
])
def test_profiles_are_validated(tmp_path, text, expected):
    root = tmp_path / "params"
    shutil.copytree(load_params().root, root)
    (root / "import" / "trasig.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ParamsError) as e:
        load_profiles(load_params(root))
    assert expected in str(e.value) and "trasig.yaml" in str(e.value)


def test_detection_reads_the_header_of_a_long_utf8_file(params, write_export):
    # "Månad" in the header and a long UTF-8 body: the header must not be decoded from a
    # slice of the file that cuts a character in two (it would then be read as Windows-1252)
    head, *rows = TIMMAR.read_text(encoding="utf-8").splitlines()
    text = head + "\n" + "\n".join(rows) + "\n"
    if len(text.encode()) % 2 == 0:  # make byte 65 536 fall inside an "ä" (2 bytes in UTF-8)
        text += "x"
    path = write_export("lang.csv", text + "ä" * 70000 + "\n")
    assert path.read_bytes()[65535:65537] == "ä".encode()
    from vu_lib.data.profiles import detect

    name, _ = detect(path, params)
    assert name == "beslutsstod_volymer"


def test_read_with_profile_refuses_what_is_no_file(tmp_path):
    """The same words as the contract's reader: a missing file, a folder."""
    from vu_lib.data.profiles import read_with_profile

    profile = next(iter(load_profiles().values()))
    (tmp_path / "mapp.csv").mkdir()
    for name, words in (("saknas.csv", "filen finns inte"), ("mapp.csv", "är en katalog, inte en fil")):
        with pytest.raises(InputError, match=words):
            read_with_profile(tmp_path / name, "huvudbok", profile, params=load_params(), today=TODAY)
