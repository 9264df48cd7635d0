"""The DuckDB store (vu_lib.store): all-or-nothing ingest, replacement, no-ops, fingerprint.

Sums are worked out by hand from tests/fixtures/exports/huvudbok_2026.csv:
2026-01 ID: -1 183 333,33 + 812 450,00 + 45 210,50 + 1 250 000,00 = 924 327,17
2026-02 ID: -1 183 333,33 + 798 100,25 + 12 000 = -373 233,08
KOMPLEMENT: 1 183 333,33 in each month.
"""
from __future__ import annotations

import shutil
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from conftest import EXPORTS, TODAY, file_sha256
from vu_lib.data import store as store_mod
from vu_lib.core.exceptions import InputError
from vu_lib.data.store import format_periods, ingest_files, store_fingerprint, validate_files

HB = "period;kodtyp;kod;konto;verifikation;belopp;text\n"
VOL = "period;vu;kluster;enhet;matt;utforare;varde\n"
MED = "id;period;vu;typ;belopp;beskrivning;aterrapporteringskrav;aterrapportering_senast\n"
FIXTURES = [EXPORTS / n for n in ("huvudbok_2026.csv", "volymer_2026.csv", "bemanning_2026.csv", "medel.csv")]


def rows(header: str, *lines: str) -> str:
    return header + "".join(line + "\n" for line in lines)


def ingest(paths, store, params):
    return ingest_files(paths, store, params=params, today=TODAY)


def query(store: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def ledger_sums(store: Path) -> dict[tuple[str, str], Decimal]:
    return {(p, k): s for p, k, s in query(store, "SELECT period, kodtyp, sum(belopp) FROM huvudbok GROUP BY ALL")}


@pytest.fixture
def loaded(tmp_path, params) -> Path:
    """A store holding the four fixture files."""
    store = tmp_path / "lager" / "vu.duckdb"
    ingest(FIXTURES, store, params)
    return store


# =========================================================================== loading
def test_first_load_creates_the_store_and_reports(tmp_path, params):
    store = tmp_path / "ny" / "katalog" / "vu.duckdb"
    results = ingest(FIXTURES, store, params)
    assert [r.summary() for r in results] == [
        "huvudbok_2026.csv: huvudbok, 9 rader, perioder 2026-01\u20132026-02: inläst (nya perioder)",
        "volymer_2026.csv: volymer, 6 rader, perioder 2026-01\u20132026-02: inläst (nya perioder)",
        "bemanning_2026.csv: bemanning, 3 rader, perioder 2026-01\u20132026-02: inläst (nya perioder)",
        "medel.csv: medel, 2 rader, perioder 2026-03, 2026-05: inläst (nya perioder)",
    ]
    assert [r.load_id for r in results] == [1, 2, 3, 4]
    assert ledger_sums(store) == {
        ("2026-01", "ID"): Decimal("924327.17"), ("2026-02", "ID"): Decimal("-373233.08"),
        ("2026-01", "KOMPLEMENT"): Decimal("1183333.33"), ("2026-02", "KOMPLEMENT"): Decimal("1183333.33"),
    }
    assert query(store, "SELECT count(*) FROM volymer")[0][0] == 6
    assert query(store, "SELECT filnamn, typ, rader, perioder, aktiv FROM laddningar ORDER BY id") == [
        ("huvudbok_2026.csv", "huvudbok", 9, "2026-01,2026-02", True),
        ("volymer_2026.csv", "volymer", 6, "2026-01,2026-02", True),
        ("bemanning_2026.csv", "bemanning", 3, "2026-01,2026-02", True),
        ("medel.csv", "medel", 2, "2026-03,2026-05", True),
    ]
    assert not list(store.parent.glob("*.tmp*")), "temporary files left behind"


def test_reingesting_the_same_file_is_a_no_op(loaded, params):
    before = file_sha256(loaded)
    results = ingest(FIXTURES[:2], loaded, params)
    assert [r.unchanged for r in results] == [True, True]
    assert results[0].summary() == ("huvudbok_2026.csv: huvudbok, 9 rader, perioder 2026-01\u20132026-02: "
                                    "oförändrad \u2013 redan inläst")
    assert results[0].load_id == 1
    assert file_sha256(loaded) == before


def test_a_file_for_a_loaded_period_replaces_only_that_period(loaded, params, write_export):
    feb = write_export("huvudbok_feb.csv", rows(HB, "2026-02;ID;411110;5011;N1;100,00;", "2026-02;ID;411120;5011;N2;0,50;"))
    (result,) = ingest([feb], loaded, params)
    assert result.replaced == [("2026-02", "ID")]
    assert result.summary() == "huvudbok_feb.csv: huvudbok, 2 rader, perioder 2026-02: inläst, ersatte 2026-02 (ID)"
    assert ledger_sums(loaded) == {
        ("2026-01", "ID"): Decimal("924327.17"),           # kept
        ("2026-02", "ID"): Decimal("100.50"),              # replaced
        ("2026-01", "KOMPLEMENT"): Decimal("1183333.33"),  # kept (other kodtyp)
        ("2026-02", "KOMPLEMENT"): Decimal("1183333.33"),
    }
    # the first load still owns the rest of its scope, so it stays active
    assert query(loaded, "SELECT id, aktiv FROM laddningar WHERE typ = 'huvudbok' ORDER BY id") == [(1, True), (5, True)]
    # loading the original again is not a no-op (its February ID rows are gone): it restores them
    (again,) = ingest([FIXTURES[0]], loaded, params)
    assert not again.unchanged
    assert sorted(again.replaced) == [("2026-01", "ID"), ("2026-01", "KOMPLEMENT"), ("2026-02", "ID"),
                                      ("2026-02", "KOMPLEMENT")]
    assert ledger_sums(loaded)[("2026-02", "ID")] == Decimal("-373233.08")
    # loads 1 and 5 no longer own anything
    assert query(loaded, "SELECT id, aktiv FROM laddningar WHERE typ = 'huvudbok' ORDER BY id") == [
        (1, False), (5, False), (6, True)]


def test_id_and_komplement_exports_for_the_same_months_coexist(tmp_path, params, write_export):
    store = tmp_path / "vu.duckdb"
    ll = write_export("huvudbok_id.csv", rows(HB, "2026-03;ID;411110;5011;V1;10,00;"))
    sof = write_export("huvudbok_komplement.csv", rows(HB, "2026-03;KOMPLEMENT;71110;4611;V1;20,00;"))
    ingest([ll], store, params)
    (r,) = ingest([sof], store, params)
    assert r.replaced == []
    assert ledger_sums(store) == {("2026-03", "ID"): Decimal("10.00"), ("2026-03", "KOMPLEMENT"): Decimal("20.00")}


def test_volymer_replace_by_period(loaded, params, write_export):
    jan = write_export("volymer_jan.csv", rows(VOL, "2026-01;AN-VB;korttid;;platser;;40"))
    (r,) = ingest([jan], loaded, params)
    assert r.summary().endswith("inläst, ersatte 2026-01")
    assert query(loaded, "SELECT period, count(*) FROM volymer GROUP BY period ORDER BY period") == [
        ("2026-01", 1), ("2026-02", 1)]


def test_two_files_for_the_same_scope_in_one_call_are_refused(tmp_path, params, write_export):
    a = write_export("a.csv", rows(HB, "2026-03;ID;411110;5011;V1;10,00;", "2026-04;ID;411110;5011;V1;10,00;"))
    b = write_export("b.csv", rows(HB, "2026-04;ID;411110;5011;V2;10,00;"))
    store = tmp_path / "vu.duckdb"
    with pytest.raises(InputError) as info:
        ingest([a, b], store, params)
    (p,) = info.value.problems
    assert p.file == str(b)
    assert p.message == f"innehåller samma huvudbok-perioder som {a} (2026-04 (ID)); läs in en fil per period och typ"
    assert not store.exists()


def test_medel_id_already_stored_for_another_period_is_refused(loaded, params, write_export):
    before = file_sha256(loaded)
    moved = write_export("medel_ny.csv", rows(MED, "MED-2026-01;2026-04;SON-BO-VUX;statsbidrag;5;B;R;"))
    with pytest.raises(InputError) as info:
        ingest([moved], loaded, params)
    (p,) = info.value.problems
    assert (p.file, p.row, p.column) == (str(moved), 2, "id")
    assert p.message.startswith('id "MED-2026-01" finns redan i lagret för period 2026-03 (inläst från medel.csv)')
    assert file_sha256(loaded) == before
    # replacing the period that holds the id is fine
    same = write_export("medel_mars.csv", rows(MED, "MED-2026-01;2026-03;SON-BO-VUX;statsbidrag;5;B;R;"))
    (r,) = ingest([same], loaded, params)
    assert r.replaced == [("2026-03", "")]


# =========================================================================== refusals leave the store untouched
def _xlsx_wrong_sheet(path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Blad1"
    wb.save(path)


MALFORMED = [
    # (id, file name, content, expected row, expected column)
    ("separator", "hb.csv", "period,kodtyp,kod,konto,verifikation,belopp\n", 1, None),
    ("decimalpunkt", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;1234.50;"), 2, "belopp"),
    ("mojibake", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;LÃ¶ner"), 2, "text"),
    ("odefinierad-byte", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;").encode() + b"2026-03;ID;411110;5011;V2;5;\x8d\n",
     3, None),
    ("saknad-kolumn", "hb.csv", "period;kodtyp;kod;konto;belopp\n2026-03;ID;411110;5011;5\n", 1, "verifikation"),
    ("okand-kolumn", "hb.csv", rows(HB.replace("text", "txet"), "2026-03;ID;411110;5011;V1;5;"), 1, "txet"),
    ("okand-enhet", "hb.csv", rows(HB, "2026-03;ID;499999;5011;V1;5;"), 2, "kod"),
    ("periodformat", "hb.csv", rows(HB, "mars 2026;ID;411110;5011;V1;5;"), 2, "period"),
    ("dubblett", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;", "2026-03;ID;411110;5011;V1;6;"), 3, None),
    ("negativa-timmar", "vol.csv", rows(VOL, "2026-03;AN-OMR-NV;hemtjanst;;utforda_timmar;leanlink;-1"), 2, "varde"),
    ("text-i-tal", "vol.csv", rows(VOL, "2026-03;AN-VB;somatik;;platser;;fyrtio"), 2, "varde"),
    ("tom-fil", "hb.csv", "", None, None),
    ("bara-rubrik", "hb.csv", HB, None, None),
    ("avkortad-rad", "hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;5;", "2026-03;ID;411110"), 3, None),
    ("framtida-period", "hb.csv", rows(HB, "2027-01;ID;411110;5011;V1;5;"), 2, "period"),
    ("konto-utanfor", "hb.csv", rows(HB, "2026-03;ID;411110;2010;V1;5;"), 2, "konto"),
    ("kluster-utanfor-vu", "vol.csv", rows(VOL, "2026-03;AN-VB;hemtjanst;;platser;;5"), 2, "kluster"),
    ("utforare-saknas", "vol.csv", rows(VOL, "2026-03;AN-OMR-NV;hemtjanst;;utforda_timmar;;5"), 2, "utforare"),
    ("medel-utan-krav", "medel.csv", rows(MED, "M9;2026-03;AN-VB;statsbidrag;5;B;;"), 2, "aterrapporteringskrav"),
    ("fel-blad-xlsx", "export.xlsx", _xlsx_wrong_sheet, None, None),
]


@pytest.mark.parametrize("name, content, row, column", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_refused_ingest_leaves_the_store_byte_for_byte(loaded, params, write_export, tmp_path,
                                                       name, content, row, column):
    before = file_sha256(loaded)
    if callable(content):
        bad = tmp_path / name
        content(bad)
    else:
        bad = write_export(name, content)
    good = write_export("huvudbok_ok.csv", rows(HB, "2026-04;ID;411110;5011;V1;5;"))
    with pytest.raises(InputError) as info:
        ingest([good, bad], loaded, params)
    problems = info.value.problems
    assert any(p.file == str(bad) and p.row == row and p.column == column for p in problems), \
        "\n".join(map(str, problems))
    assert all(p.file == str(bad) for p in problems)
    assert str(bad) in str(info.value)
    assert file_sha256(loaded) == before
    assert ledger_sums(loaded)[("2026-01", "ID")] == Decimal("924327.17")


def test_refused_ingest_does_not_create_a_store(tmp_path, params, write_export):
    bad = write_export("hb.csv", rows(HB, "2026-03;ID;411110;5011;V1;1234.50;"))
    store = tmp_path / "finns-inte" / "vu.duckdb"
    with pytest.raises(InputError):
        ingest([bad], store, params)
    assert not store.parent.exists()


def test_refused_replacement_keeps_the_old_rows(loaded, params, write_export):
    before = file_sha256(loaded)
    feb = write_export("huvudbok_feb.csv", rows(HB, "2026-02;ID;411110;5011;N1;100,00;", "2026-02;ID;411110;5011;N2;x;"))
    with pytest.raises(InputError):
        ingest([feb], loaded, params)
    assert file_sha256(loaded) == before
    assert ledger_sums(loaded)[("2026-02", "ID")] == Decimal("-373233.08")


def test_a_failure_while_writing_rolls_back(loaded, params, write_export, monkeypatch):
    real_write = store_mod._write

    def write_then_fail(con, todo, state):
        real_write(con, todo, state)  # deletes February ID and inserts the new rows ...
        raise RuntimeError("disken tog slut")  # ... then fails before COMMIT

    monkeypatch.setattr(store_mod, "_write", write_then_fail)
    feb = write_export("huvudbok_feb.csv", rows(HB, "2026-02;ID;411110;5011;N1;100,00;"))
    fp = store_fingerprint(loaded)
    with pytest.raises(RuntimeError):
        ingest([feb], loaded, params)
    assert ledger_sums(loaded)[("2026-02", "ID")] == Decimal("-373233.08")
    assert query(loaded, "SELECT count(*) FROM laddningar")[0][0] == 4
    assert store_fingerprint(loaded) == fp


def test_a_failure_while_creating_leaves_no_store(tmp_path, params, monkeypatch):
    def fail(con, todo, state):
        raise RuntimeError("avbrott")

    monkeypatch.setattr(store_mod, "_write", fail)
    store = tmp_path / "vu.duckdb"
    with pytest.raises(RuntimeError):
        ingest(FIXTURES[:1], store, params)
    assert not store.exists()
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_validate_files_does_not_touch_any_store(params, tmp_path):
    parsed = validate_files(FIXTURES, params=params, today=TODAY)
    assert [p.kind.name for p in parsed] == ["huvudbok", "volymer", "bemanning", "medel"]
    assert list(tmp_path.iterdir()) == []


# =========================================================================== fingerprint
def test_fingerprint_follows_the_data(tmp_path, params, write_export, loaded):
    assert store_fingerprint(tmp_path / "saknas.duckdb") == ""
    fp = store_fingerprint(loaded)
    assert len(fp) == 16 and int(fp, 16) >= 0
    ingest(FIXTURES, loaded, params)  # no-op
    assert store_fingerprint(loaded) == fp
    feb = write_export("huvudbok_feb.csv", rows(HB, "2026-02;ID;411110;5011;N1;100,00;"))
    ingest([feb], loaded, params)
    changed = store_fingerprint(loaded)
    assert changed != fp
    # the same content loaded in another order, into another store, gives the same fingerprint
    other = tmp_path / "annat" / "vu.duckdb"
    ingest([feb], other, params)
    ingest(list(reversed(FIXTURES)), other, params)
    ingest([feb], other, params)
    assert store_fingerprint(other) == changed


def test_fingerprint_is_cheap(loaded):
    store_mod._fingerprints.clear()
    t0 = time.perf_counter()
    store_fingerprint(loaded)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(100):
        store_fingerprint(loaded)
    warm = (time.perf_counter() - t0) / 100
    assert warm < 0.005
    assert cold < 0.25  # typically ~20 ms; generous for slow CI machines


def test_fingerprint_notices_a_copied_store(loaded, tmp_path, params, write_export):
    copy = tmp_path / "kopia.duckdb"
    shutil.copy(loaded, copy)
    assert store_fingerprint(copy) == store_fingerprint(loaded)


def test_format_periods():
    assert format_periods(["2026-03", "2026-01", "2026-02", "2026-07", "2025-12"]) == "2025-12\u20132026-03, 2026-07"
    assert format_periods([]) == ""


def test_fingerprint_is_remembered_beside_the_store(loaded, monkeypatch):
    fp = store_fingerprint(loaded)
    store_mod._fingerprints.clear()  # as in a new process

    def must_not_open(path):
        raise AssertionError("the store was opened")

    monkeypatch.setattr(store_mod, "_compute_fingerprint", must_not_open)
    assert store_fingerprint(loaded) == fp
    # the store changed behind vu's back (a load removed with SQL): the note no longer applies
    monkeypatch.undo()
    con = duckdb.connect(str(loaded))
    con.execute("DELETE FROM laddningar WHERE typ = 'medel'")
    con.close()
    assert store_fingerprint(loaded) not in ("", fp)
