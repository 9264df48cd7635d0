"""Reading export files (vu_lib.readers): happy paths and malformed exports.

Every refusal test asserts that the problem names the file, the row as the
user sees it (CSV header = row 1; xlsx = sheet row) and the column. Expected
values are worked out by hand from the fixture text.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import openpyxl
import pytest

from conftest import EXPORTS, TODAY
from vu_lib.data.contract import KINDS, MEASURES, MEDEL_TYPER
from vu_lib.core.exceptions import InputError, Problem
from vu_lib.data.readers import MAX_LISTED, read_file

HB = "period;kodtyp;kod;konto;verifikation;belopp;text\n"
VOL = "period;vu;kluster;enhet;matt;utforare;varde\n"
BEM = "period;kod;utbildningsniva;arsarbetare\n"
MED = "id;period;vu;typ;belopp;beskrivning;aterrapporteringskrav;aterrapportering_senast\n"
HB_ROW = "2026-03;ID;411110;5011;V1:1;1 000,00;Lön"


def rows(header: str, *lines: str) -> str:
    return header + "".join(line + "\n" for line in lines)


def refused(path: Path, params, today: dt.date = TODAY) -> list[Problem]:
    """The problems of a refused file; each must name that file (also in the printed text)."""
    with pytest.raises(InputError) as info:
        read_file(path, params=params, today=today)
    problems = info.value.problems
    assert problems and all(p.file == str(path) for p in problems)
    assert all(line.startswith(f"  {path}") for line in str(info.value).splitlines()[1:])
    return problems


def find(problems: list[Problem], row: int | None, column: str | None, fragment: str) -> Problem:
    """The problem at (row, column) whose message contains ``fragment``."""
    for p in problems:
        if p.row == row and p.column == column and fragment in p.message:
            return p
    raise AssertionError(f"inget fel på rad {row}, kolumn {column} med {fragment!r}; fick:\n"
                         + "\n".join(map(str, problems)))


# =========================================================================== happy paths
def test_huvudbok_fixture_is_read_and_normalized(params):
    pf = read_file(EXPORTS / "huvudbok_2026.csv", params=params, today=TODAY)
    assert pf.kind.name == "huvudbok"
    assert pf.rows == 9
    assert pf.periods == ["2026-01", "2026-02"]
    assert pf.period_range == "2026-01\u20132026-02"
    assert pf.encoding == "utf-8"
    assert pf.sha256 == hashlib.sha256((EXPORTS / "huvudbok_2026.csv").read_bytes()).hexdigest()
    assert list(pf.frame.columns) == [c.name for c in KINDS["huvudbok"].columns]
    # "-1 183 333,33", "1 250 000,00", "−1 183 333,33" (true minus), "12 000" (no decimals)
    assert pf.frame["belopp"].tolist() == [-1183333.33, 812450.00, 45210.50, 1250000.00, 1183333.33,
                                           -1183333.33, 798100.25, 12000.0, 1183333.33]
    assert pf.frame.loc[4, ["kodtyp", "kod", "konto"]].tolist() == ["KOMPLEMENT", "71110", "4610"]
    assert pf.frame.loc[1, "text"] == "Löner januari"
    assert pf.rownums.tolist() == list(range(2, 11))


def test_other_kinds_are_detected_from_the_header(params):
    vol = read_file(EXPORTS / "volymer_2026.csv", params=params, today=TODAY)
    assert (vol.kind.name, vol.rows) == ("volymer", 6)
    # "18 412,5", "2 100", "21 000", "42", "1 271", "17 950,25"
    assert vol.frame["varde"].tolist() == [18412.5, 2100.0, 21000.0, 42.0, 1271.0, 17950.25]
    assert vol.frame["enhet"].tolist() == ["", "", "", "415110", "415110", ""]
    assert vol.frame["utforare"].tolist() == ["leanlink", "privat", "", "", "", "leanlink"]
    bem = read_file(EXPORTS / "bemanning_2026.csv", params=params, today=TODAY)
    assert bem.frame["arsarbetare"].tolist() == [12.4, 2.0, 12.6]
    med = read_file(EXPORTS / "medel.csv", params=params, today=TODAY)
    assert med.periods == ["2026-03", "2026-05"]
    assert med.period_range == "2026-03\u20132026-05"
    assert med.frame["belopp"].tolist() == [850000.0, -120000.0]
    assert med.frame["aterrapportering_senast"].tolist() == ["2027-01-31", ""]


def test_windows_1252_is_read_with_swedish_letters(params):
    pf = read_file(EXPORTS / "huvudbok_cp1252.csv", params=params, today=TODAY)
    assert pf.encoding == "cp1252"
    assert pf.frame["text"].tolist() == ["Löner anhörigstöd åäö ÅÄÖ", "€-kvitto"]
    assert pf.frame["belopp"].tolist() == [45000.0, 1250.5]


def test_utf8_bom_and_yyyymm_periods(params, write_export):
    text = rows(HB, "202603;ID;411110;5011;V1:1;1 000,00;Lön", "202604;ID;411110;5011;V2:1;2 000,00;Lön")
    path = write_export("hb.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))
    pf = read_file(path, params=params, today=TODAY)
    assert pf.encoding == "utf-8-sig"
    assert pf.periods == ["2026-03", "2026-04"]
    assert pf.frame["period"].tolist() == ["2026-03", "2026-04"]


def test_number_formats_nbsp_thin_space_and_minus(params, write_export):
    text = rows(HB,
                "2026-03;ID;411110;5011;V1:1;1\u00a0234,50;",
                "2026-03;ID;411110;5011;V2:1;\u22121\u202f000\u202f000,05;",
                "2026-03;ID;411110;5011;V3:1; -7 ;",
                "2026-03;ID;411110;5011;V4:1;0,1;")
    pf = read_file(write_export("hb.csv", text), params=params, today=TODAY)
    assert pf.frame["belopp"].tolist() == [1234.50, -1000000.05, -7.0, 0.1]


def test_crlf_blank_lines_and_case_insensitive_header(params, write_export):
    text = ("Period;KODTYP; Kod ;konto;verifikation;belopp\r\n"
            "2026-03;id;411110;5011;V1:1;10\r\n"
            "\r\n"
            ";;;;;\r\n"
            "2026-03;ID;411110;5011;V1:1;20\r\n")
    problems = refused(write_export("hb.csv", text), params)
    # the blank lines 3 and 4 are skipped, yet the duplicate is reported on line 5;
    # 'id' was read as ID, so the rows have the same key.
    assert [(p.row, p.column) for p in problems] == [(5, None)]
    assert "som rad 2" in problems[0].message


def test_quoted_fields_may_hold_separators(params, write_export):
    text = rows(HB, '2026-03;ID;411110;5011;"V1:1";"1 000,00";"Lön; januari"',
                "2026-03;ID;411110;5011;V2:1;5;")
    pf = read_file(write_export("hb.csv", text), params=params, today=TODAY)
    assert pf.frame["text"].tolist() == ["Lön; januari", ""]
    assert pf.frame["belopp"].tolist() == [1000.0, 5.0]


def test_xlsx_happy_path_with_numbers_dates_and_text(params, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Medel"
    ws.append(["id", "period", "vu", "typ", "belopp", "beskrivning", "aterrapporteringskrav",
               "aterrapportering_senast"])
    ws.append(["M1", dt.datetime(2026, 3, 1), "SON-BO-VUX", "statsbidrag", 850000.5, "Bidrag", "Rapport",
               dt.datetime(2027, 1, 31)])
    ws.append([None] * 8)
    ws.append(["M2", "202604", "AN-VB", "riktad_satsning", "-1 200,25", "Satsning", "Rapport", None])
    ws.append(["M3", 202605, "EKB", "oforutsedd_handelse", 3, "Övertagande", "Rapport", "2027-02-28"])
    wb.create_sheet("Anteckningar")
    path = tmp_path / "medel.xlsx"
    wb.save(path)
    pf = read_file(path, params=params, today=TODAY)
    assert pf.kind.name == "medel" and pf.encoding == "xlsx"
    assert pf.frame["period"].tolist() == ["2026-03", "2026-04", "2026-05"]
    assert pf.frame["belopp"].tolist() == [850000.5, -1200.25, 3.0]
    assert pf.frame["aterrapportering_senast"].tolist() == ["2027-01-31", "", "2027-02-28"]
    assert pf.rownums.tolist() == [2, 4, 5]  # sheet rows; the empty row 3 is skipped


# --------------------------------------------------------------------------- quotes inside values
def test_stray_quotes_inside_unquoted_values_are_characters(params, write_export, monkeypatch):
    """A quote that does not start a field is kept as it is (Python's csv module reads it so),
    in the middle of a text, at its end, twice, in a key column, after a leading space;
    and the file stays on the fast path (pandas), not the exact reader."""
    from vu_lib.data import readers

    slow = []
    monkeypatch.setattr(readers, "_read_csv_quoted", lambda *a: slow.append(a) or None)
    text = rows(HB, '2026-03;ID;411110;5011;V1;1 000,00;Skärm 24" Dell',   # middle of the text
                '2026-03;ID;411110;5011;V2;-5,50;Lön 5"',                   # end of the text
                '2026-03;ID;411110;5011;V3;7;Kabel 2" och 3" rör',          # two stray quotes
                '2026-03;ID;411110;5011;V"4;8;x',                          # a key column
                '2026-03;ID;411110;5011;V5;9; "citat" med mellanslag före',  # the field starts with a space
                '2026-03;ID;411110;5011;V6;10;"a;b ""c"""')                # a real quoted value, for contrast
    pf = read_file(write_export("hb.csv", text), params=params, today=TODAY)
    assert slow == []
    # worked out from the text: the quote stays, surrounding spaces are removed (module docstring)
    assert pf.frame["verifikation"].tolist() == ["V1", "V2", "V3", 'V"4', "V5", "V6"]
    assert pf.frame["text"].tolist() == ['Skärm 24" Dell', 'Lön 5"', 'Kabel 2" och 3" rör', "x",
                                         '"citat" med mellanslag före', 'a;b "c"']
    assert pf.frame["belopp"].tolist() == [1000.0, -5.5, 7.0, 8.0, 9.0, 10.0]
    assert pf.rownums.tolist() == [2, 3, 4, 5, 6, 7]


def test_stray_quote_lines_do_not_pair_up_across_rows(params, write_export):
    """Rows 2 and 4 each hold one stray quote; rows 3 and 5 have a bad amount. Counting quotes
    per line would join rows 2-4 into one record; the rows stay apart and keep their numbers."""
    text = rows(HB, '2026-03;ID;411110;5011;V1;5;Lön 5"',
                "2026-03;ID;411110;5011;V2;fem;x",
                '2026-03;ID;411110;5011;V3;5;Skärm 24" Dell',
                "2026-03;ID;411110;5011;V4;sex;x")
    problems = refused(write_export("hb.csv", text), params)
    assert [(p.row, p.column) for p in problems] == [(3, "belopp"), (5, "belopp")]
    assert problems[0].message == '"fem" är inte ett tal (skriv t.ex. 1 234,50)'


def test_stray_quote_in_a_number_column_names_row_and_column(params, write_export):
    text = rows(HB, "2026-03;ID;411110;5011;V1;5;x", '2026-03;ID;411110;5011;V2;12"5;Skärm 24" Dell')
    path = write_export("hb.csv", text)
    (p,) = refused(path, params)
    assert (p.file, p.row, p.column) == (str(path), 3, "belopp")
    assert p.message == '"12"5" är inte ett tal (skriv t.ex. 1 234,50)'


def test_value_over_two_lines_in_a_middle_column(params, write_export):
    """The text column before belopp: row 2's text runs over lines 2-3 and its amount follows the
    closing quote on line 3. Line 5 is truncated: named as row 5 (the line the user sees), also
    when the value over two lines is the last column."""
    header = "period;kodtyp;kod;konto;verifikation;text;belopp\n"
    good = rows(header, '2026-03;ID;411110;5011;V1;"rad ett; och', 'rad två";5',
                "2026-03;ID;411110;5011;V2;x;6")
    pf = read_file(write_export("hb.csv", good), params=params, today=TODAY)
    assert pf.frame["text"].tolist() == ["rad ett; och\nrad två", "x"]
    assert pf.frame["belopp"].tolist() == [5.0, 6.0]
    assert pf.rownums.tolist() == [2, 4]
    for head, first in ((header, '2026-03;ID;411110;5011;V1;"rad ett'), (HB, '2026-03;ID;411110;5011;V1;5;"rad ett')):
        second, third = ('rad två";5', "V2;x;6") if head == header else ('rad två"', "V2;6;x")
        bad = rows(head, first, second, "2026-03;ID;411110;5011;" + third, "2026-03;ID;411110")
        problems = refused(write_export("hb2.csv", bad), params)
        assert [(p.row, p.column) for p in problems] == [(5, None)]
        assert problems[0].message == "raden har 3 fält men rubrikraden har 7 (avkortad rad?)"


def test_a_record_of_empty_quoted_values_is_skipped_like_a_blank_line(params, write_export):
    text = rows(HB, "2026-03;ID;411110;5011;V1;5;x", '"";"";"";"";"";"";""', '""', "2026-03;ID;411110;5011;V2;6;y")
    pf = read_file(write_export("hb.csv", text), params=params, today=TODAY)
    assert pf.frame["verifikation"].tolist() == ["V1", "V2"]
    assert pf.rownums.tolist() == [2, 5]  # rows 3 and 4 hold nothing but empty values


def test_open_quote_after_stray_quotes_is_named_where_it_opens(params, write_export):
    """Row 2 has a stray quote; row 4 opens a quote that only row 7 closes, swallowing rows 5-6."""
    lines = [f"2026-03;ID;411110;5011;V{i};5;rad {i}" for i in range(8)]
    lines[0] = '2026-03;ID;411110;5011;V0;5;Lön 5"'
    lines[2] = '2026-03;ID;411110;5011;V2;5;"rad 2'
    lines[5] = lines[5] + '"'
    path = write_export("hb.csv", rows(HB, *lines))
    (p,) = refused(path, params)
    assert (p.row, p.column) == (4, "text")
    assert p.message.startswith("citattecknet som inleder värdet på rad 4 avslutas först på rad 7, så raderna 4–7")


def test_open_quote_longer_than_the_field_limit_is_named_where_it_opens(params, write_export):
    """Row 3 opens a quote that is never closed; the rest of the file (about 180 000 characters)
    is more than the csv module takes in one value (131 072): refused at row 3, not at the line
    where the limit is reached."""
    import csv

    lines = [f"2026-03;ID;411110;5011;V{i};5;rad {i}" for i in range(5000)]
    lines[1] = '2026-03;ID;411110;5011;V1;5;"rad 1'
    assert len("\n".join(lines[2:])) > csv.field_size_limit() == 131_072
    path = write_export("hb.csv", rows(HB, *lines))
    (p,) = refused(path, params)
    assert (p.row, p.column) == (3, "text")
    assert p.message == ('citattecknet som inleder värdet på rad 3 avslutas inte inom 131 072 tecken, så de '
                         'följande raderna har lästs som ett enda värde; ett värde som börjar med " måste sluta med "')


def test_fast_path_reads_quotes_as_the_exact_reader_does():
    """Random small files of plain, stray-quoted, quoted (with ';', '""', line breaks) and broken
    values: the fast path gives the exact reader's header, values, row numbers and problems, or
    hands the file to it (only files the exact reader refuses)."""
    import random

    from vu_lib.data import readers

    rnd = random.Random(12)

    def value() -> str:
        r = rnd.random()
        if r < 0.45:
            return rnd.choice(["a", "ö", "5", "", " "]) + rnd.choice(["", '"', 'x"y', '""']) + rnd.choice(["", "b", '"'])
        if r < 0.85:
            return '"' + "".join(rnd.choice(["a", ";", '""', "\r\n", "\n", " "]) for _ in range(rnd.randint(0, 4))) + '"'
        return rnd.choice(['"open', '"a"b', '"', 'a\r\n"b'])

    def outcome(raw, probs):
        listed = [(p.row, p.column, p.message) for p in probs.listing()]
        if raw is None:
            return None, listed
        values = [[v.replace("\r\n", "\n") if raw.crlf_values else v for v in raw.body[j].tolist()]
                  for j in raw.body.columns]
        return (raw.header, values, raw.rownums.tolist()), listed

    fast_ok = handed_over = 0
    for _ in range(3000):
        lines = ["h1;h2;h3"] + [";".join(value() for _ in range(3 if rnd.random() < 0.85 else rnd.randint(1, 4)))
                                for _ in range(rnd.randint(1, 6))]
        text = "\n".join(lines) + "\n"
        if "\r" in text.replace("\r\n", ""):
            continue  # a lone CR is refused before either reader runs
        body = text.encode()
        p_fast, p_exact = readers._Problems("f"), readers._Problems("f")
        fast = readers._read_csv_fast(body, "utf-8", p_fast, '"' in text)
        exact = readers._read_csv_quoted(body, "utf-8", p_exact)
        if fast is readers._SLOW:
            assert exact is None or p_exact, text
            handed_over += 1
        else:
            assert outcome(fast, p_fast) == outcome(exact, p_exact), text
            fast_ok += not p_fast
    assert fast_ok > 200 and handed_over > 200  # both ways were exercised


# =========================================================================== malformed exports
def test_comma_separator_is_detected(params, write_export):
    path = write_export("hb.csv", "period,kodtyp,kod,konto,verifikation,belopp\n2026-03,ID,411110,5011,V1,\"1,5\"\n")
    (p,) = refused(path, params)
    assert (p.file, p.row, p.column) == (str(path), 1, None)
    assert p.message == 'filen verkar använda "," som avgränsare; exportera med semikolon (;)'


def test_tab_separator_is_detected(params, write_export):
    path = write_export("hb.csv", "period\tkodtyp\tkod\tkonto\tverifikation\tbelopp\n")
    (p,) = refused(path, params)
    assert p.message == "filen verkar använda tabb som avgränsare; exportera med semikolon (;)"


def test_decimal_point_is_refused_with_a_hint(params, write_export):
    path = write_export("hb.csv", rows(HB, HB_ROW, "2026-03;ID;411110;5011;V2:1;1234.50;Lön"))
    (p,) = refused(path, params)
    assert (p.file, p.row, p.column) == (str(path), 3, "belopp")
    assert p.message == 'decimalpunkt i "1234.50"; använd decimalkomma: 1234,50'


def test_dot_as_thousands_separator_is_refused(params, write_export):
    path = write_export("hb.csv", rows(HB, "2026-03;ID;411110;5011;V2:1;1.234,50;Lön"))
    p = find(refused(path, params), 2, "belopp", "punkt som tusentalsavgränsare")
    assert '"1.234,50"' in p.message


def test_more_than_two_decimals_in_kronor(params, write_export):
    path = write_export("hb.csv", rows(HB, "2026-03;ID;411110;5011;V2:1;12,345;Lön"))
    find(refused(path, params), 2, "belopp", "högst två decimaler")


def test_text_in_a_number_column(params, write_export):
    path = write_export("vol.csv", rows(VOL, "2026-03;AN-VB;somatik;;platser;;tolv"))
    p = find(refused(path, params), 2, "varde", "är inte ett tal")
    assert p.message == '"tolv" är inte ett tal (skriv t.ex. 1 234,50)'


def test_negative_hours_are_refused(params, write_export):
    path = write_export("vol.csv", rows(VOL, "2026-03;AN-OMR-NV;hemtjanst;;utforda_timmar;leanlink;-3,5"))
    (p,) = refused(path, params)
    assert (p.row, p.column) == (2, "varde")
    assert p.message == "negativt värde (-3,5) är inte tillåtet i varde"


def test_utf8_mojibake_names_row_and_column(params, write_export):
    # UTF-8 bytes of "Löner" decoded as cp1252 and saved again as UTF-8: "LÃ¶ner"
    path = write_export("hb.csv", rows(HB, HB_ROW, "2026-03;ID;411110;5011;V2:1;5;LÃ¶ner"))
    (p,) = refused(path, params)
    assert (p.file, p.row, p.column) == (str(path), 3, "text")
    assert '"Ã¶" (troligen "ö")' in p.message


def test_mixed_encoding_file_names_rows_of_both_encodings(params, write_export):
    # Row 2 is Windows-1252 ("Köp" with byte 0xF6), row 3 UTF-8 ("Lån" with bytes C3 A5): the
    # file was put together from two exports. Neither row alone is "garbled"; the message
    # names both and the cause (it used to call row 3 mojibake, blaming the good row).
    data = rows(HB, "2026-03;ID;411110;5011;V1:1;5;K\xf6p").encode("cp1252") + \
        "2026-03;ID;411110;5011;V2:1;5;Lån\n".encode("utf-8")
    (p,) = refused(write_export("hb.csv", data), params)
    assert (p.row, p.column) == (None, None)
    assert p.message.startswith("filen blandar teckenkodningar: rad 3 är UTF-8 men rad 2 är Windows-1252")


def test_bytes_undefined_in_windows_1252_name_the_row(params, write_export):
    data = rows(HB, HB_ROW).encode("utf-8") + b"2026-03;ID;411110;5011;V2:1;5;\x81\xe4\n"
    (p,) = refused(write_export("hb.csv", data), params)
    assert p.row == 3
    assert "byte 0x81 är varken giltig UTF-8 eller Windows-1252" in p.message


def test_missing_required_column(params, write_export):
    path = write_export("hb.csv", "period;kodtyp;kod;konto;belopp\n2026-03;ID;411110;5011;5\n")
    (p,) = refused(path, params)
    assert (p.row, p.column, p.message) == (1, "verifikation", "obligatorisk kolumn saknas i huvudbok")


def test_misspelt_column_is_an_error_not_ignored(params, write_export):
    path = write_export("hb.csv", "period;kodtyp;kod;konto;verifikation;belopp;txet\n"
                                  "2026-03;ID;411110;5011;V1;5;x\n")
    (p,) = refused(path, params)
    assert (p.row, p.column) == (1, "txet")
    assert 'menade du "text"?' in p.message


def test_unknown_kind_lists_expected_columns(params, write_export):
    (p,) = refused(write_export("export.csv", "datum;summa\n2026-03-01;5\n"), params)
    assert p.row == 1
    assert "kan inte avgöra vilken sorts fil" in p.message
    assert "huvudbok: period, kodtyp, kod, konto, verifikation, belopp" in p.message


def test_unknown_unit_code(params, write_export):
    path = write_export("hb.csv", rows(HB, HB_ROW, "2026-03;ID;411999;5011;V2:1;5;"))
    (p,) = refused(path, params)
    assert (p.row, p.column) == (3, "kod")
    assert p.message == 'okänd kod "411999": ingen enhet har id_kod 411999 i params/registry.yaml'


def test_code_of_the_other_code_type(params, write_export):
    path = write_export("hb.csv", rows(HB, "2026-03;KOMPLEMENT;411110;4610;V2:1;5;",
                                       "2026-03;ID;71110;5011;V3:1;5;", "2026-03;ID;4111100;5011;V4:1;5;"))
    problems = refused(path, params)
    assert [(p.row, p.column) for p in problems] == [(2, "kod"), (3, "kod"), (4, "kod")]
    assert problems[0].message == ("koden 411110 är en id_kod, men raden har kodtyp KOMPLEMENT "
                                   "(kodtyp KOMPLEMENT ska ha en komplement_kod)")
    assert problems[1].message.startswith("koden 71110 är en komplement_kod, men raden har kodtyp ID")
    assert problems[2].message == ('ogiltig kod "4111100"; ska vara 6 siffror (id_kod) '
                                   "eller 5 siffror (komplement_kod)")


def test_konto_outside_the_kontoplan(params, write_export):
    path = write_export("hb.csv", rows(HB, "2026-03;ID;411110;8010;V2:1;5;", "2026-03;KOMPLEMENT;71110;5011;V3:1;5;"))
    problems = refused(path, params)
    p = find(problems, 2, "konto", "kontot 8010 ligger utanför kontoplanen för kodtyp ID")
    assert "(tillåtna konton: 3000\u20137999)" in p.message  # the ID ranges 3000-7999 are contiguous
    p = find(problems, 3, "konto", "kontot 5011 ligger utanför kontoplanen för kodtyp KOMPLEMENT")
    assert "(tillåtna konton: 4600\u20134699)" in p.message


def test_bad_period_formats(params, write_export):
    path = write_export("hb.csv", rows(HB, "aug-26;ID;411110;5011;V1;5;", "2026-13;ID;411110;5011;V2;5;",
                                       "2026-3;ID;411110;5011;V3;5;"))
    problems = refused(path, params)
    assert [(p.row, p.column) for p in problems] == [(2, "period"), (3, "period"), (4, "period")]
    assert problems[0].message == 'ogiltig period "aug-26"; skriv ÅÅÅÅ-MM (t.ex. 2026-08) eller ÅÅÅÅMM (202608)'


def test_future_period_and_period_before_the_first_model_year(params, write_export):
    path = write_export("hb.csv", rows(HB, "2026-12;ID;411110;5011;V1;5;", "2022-12;ID;411110;5011;V2;5;",
                                       "2026-11;ID;411110;5011;V3;5;"))
    problems = refused(path, params)  # today is 2026-11-15: 2026-11 itself is fine
    assert [(p.row, p.column) for p in problems] == [(2, "period"), (3, "period")]
    assert problems[0].message == "framtida period 2026-12: senare än innevarande månad 2026-11"
    assert problems[1].message == "perioden 2022-12 ligger före första modellåret 2023 (params/modell)"


def test_duplicate_key_names_both_rows(params, write_export):
    path = write_export("hb.csv", rows(HB, HB_ROW, "2026-03;ID;411110;5011;V2:1;5;", HB_ROW))
    (p,) = refused(path, params)
    assert (p.row, p.column) == (4, None)
    assert p.message == ("dubblettrad: samma nyckel (period, kodtyp, kod, konto, verifikation) = "
                         "(2026-03, ID, 411110, 5011, V1:1) som rad 2")


def test_duplicates_are_found_after_normalization(params, write_export):
    # vu and kluster are case-insensitive and periods may be YYYYMM: these rows are the same
    path = write_export("vol.csv", rows(VOL, "2026-03;AN-VB;somatik;;platser;;40",
                                        "202603;an-vb;Somatik;;PLATSER;;41"))
    (p,) = refused(path, params)
    assert (p.row, p.column) == (3, None)
    assert p.message.endswith("= (2026-03, AN-VB, somatik, (tom), platser, (tom), (tom)) som rad 2")


def test_empty_file(params, write_export):
    (p,) = refused(write_export("hb.csv", ""), params)
    assert (p.row, p.column, p.message) == (None, None, "filen är tom")
    (p,) = refused(write_export("hb2.csv", " \n\n"), params)
    assert p.message == "filen är tom"


def test_header_without_rows(params, write_export):
    (p,) = refused(write_export("hb.csv", HB), params)
    assert p.message == "filen har en rubrikrad men inga datarader"


def test_truncated_and_overlong_rows(params, write_export):
    path = write_export("hb.csv", rows(HB, HB_ROW, "2026-03;ID;411110;5011", "2026-03;ID;411110;5011;V3;5;x;y",
                                       "2026-03;ID;411110;5011;V4;tolv;"))
    problems = refused(path, params)
    assert [(p.row, p.column) for p in problems] == [(3, None), (4, None), (5, "belopp")]
    assert problems[0].message == "raden har 4 fält men rubrikraden har 7 (avkortad rad?)"
    assert problems[1].message.startswith("raden har 8 fält men rubrikraden har 7")


def test_kluster_not_in_vu_and_unit_of_another_cluster(params, write_export):
    path = write_export("vol.csv", rows(VOL, "2026-03;AN-OMR-NV;dagverksamhet;;budget_timmar;;5",
                                        "2026-03;AN-OMR-NV;hemtjanst;411210;budget_timmar;;5",
                                        "2026-03;AN-XX;hemtjanst;;budget_timmar;;5"))
    problems = refused(path, params)
    p = find(problems, 2, "kluster", 'klustret "dagverksamhet" finns inte i AN-OMR-NV')
    assert "(kluster där: hemtjanst, hemsjukvard, hemrehabilitering)" in p.message
    find(problems, 3, "enhet", "enheten 411210 (Hemsjukvård Nordväst) hör till AN-OMR-NV/hemsjukvard, "
                               "inte till AN-OMR-NV/hemtjanst")
    find(problems, 4, "vu", 'okänt verksamhetsuppdrag "AN-XX"')
    assert len(problems) == 3


def test_utforare_required_exactly_for_split_measures(params, write_export):
    path = write_export("vol.csv", rows(VOL, "2026-03;AN-OMR-NV;hemtjanst;;utforda_timmar;;5",
                                        "2026-03;AN-VB;somatik;;platser;leanlink;5",
                                        "2026-03;AN-OMR-NV;hemtjanst;;utforda_timmar;Privat;5"))
    problems = refused(path, params)
    assert [(p.row, p.column) for p in problems] == [(2, "utforare"), (3, "utforare")]
    assert problems[0].message == "utforare saknas; måttet utforda_timmar delas per utförare (leanlink eller privat)"
    assert problems[1].message == 'måttet platser delas inte per utförare; lämna utforare tom (fick "leanlink")'


def test_utforare_column_absent_but_needed(params, write_export):
    path = write_export("vol.csv", "period;vu;kluster;matt;varde\n2026-03;AN-OMR-NV;hemtjanst;utforda_timmar;5\n")
    (p,) = refused(path, params)
    assert (p.row, p.column) == (2, "utforare")


def test_medel_without_aterrapporteringskrav_and_bad_type_and_date(params, write_export):
    path = write_export("medel.csv", rows(MED, "M1;2026-03;AN-VB;statsbidrag;5;Bidrag;;",
                                          "M2;2026-03;AN-VB;bidrag;5;Bidrag;Rapport;2027-02-30"))
    problems = refused(path, params)
    assert [(p.row, p.column) for p in problems] == [(2, "aterrapporteringskrav"), (3, "aterrapportering_senast"),
                                                    (3, "typ")]
    assert problems[0].message == "värde saknas"
    assert problems[1].message == 'ogiltigt datum "2027-02-30"; skriv ÅÅÅÅ-MM-DD (t.ex. 2027-01-31)'
    assert problems[2].message == ('ogiltigt värde "bidrag"; tillåtna värden: ' + ", ".join(MEDEL_TYPER))


def test_bemanning_unknown_level_and_complement_code(params, write_export):
    path = write_export("bem.csv", rows(BEM, "2026-03;414210;lakare;1", "2026-03;74210;underskoterska;1"))
    problems = refused(path, params)
    p = find(problems, 2, "utbildningsniva", 'okänd utbildningsnivå "lakare"; tillåtna för 2026')
    assert "params/modell/2026.yaml" in p.message
    find(problems, 3, "kod", "det är en komplement_kod; ange enhetens id_kod")


def test_many_problems_are_capped_with_a_count(params, write_export):
    lines = [f"2026-03;ID;411110;5011;V{i};{i}.5;" for i in range(MAX_LISTED + 30)]
    problems = refused(write_export("hb.csv", rows(HB, *lines)), params)
    assert len(problems) == MAX_LISTED + 1
    assert problems[0].row == 2 and problems[MAX_LISTED - 1].row == MAX_LISTED + 1
    assert problems[-1].message == f"ytterligare 30 fel (bara de första {MAX_LISTED} visas)"


def test_all_problems_of_a_file_are_collected(params, write_export):
    path = write_export("hb.csv", rows(HB, "2026-03;ID;411999;5011;V1;5;", "2026-03;ID;411110;9999;V2;5;",
                                       "2026-03;ID;411110;5011;V3;1,5,5;", "2027-01;ID;411110;5011;V4;5;"))
    problems = refused(path, params)
    assert [(p.row, p.column) for p in problems] == [(2, "kod"), (3, "konto"), (4, "belopp"), (5, "period")]


def test_xlsx_without_a_sheet_named_after_a_kind(params, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Blad1"
    wb.create_sheet("Data")
    path = tmp_path / "export.xlsx"
    wb.save(path)
    (p,) = refused(path, params)
    assert (p.file, p.row, p.column) == (str(path), None, None)
    assert p.message == ('inget blad heter som en filtyp; bladen i filen: "Blad1", "Data"; '
                         "ett av bladen ska heta huvudbok, volymer, bemanning, medel")


def test_xlsx_errors_name_sheet_rows(params, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "volymer"
    ws.append(["period", "vu", "kluster", "enhet", "matt", "utforare", "varde"])
    ws.append(["2026-03", "AN-VB", "somatik", None, "platser", None, 40])
    ws.append([])
    ws.append(["2026-03", "AN-VB", "somatik", None, "belagda_dygn", None, -1])
    path = tmp_path / "vol.xlsx"
    wb.save(path)
    (p,) = refused(path, params)
    assert (p.row, p.column, p.message) == (4, "varde", "negativt värde (-1) är inte tillåtet i varde")


def test_missing_file_and_old_excel_format(params, tmp_path):
    (p,) = refused(tmp_path / "saknas.csv", params)
    assert p.message == "filen finns inte"
    (tmp_path / "gammal.xls").write_bytes(b"x")
    (p,) = refused(tmp_path / "gammal.xls", params)
    assert ".xls stöds inte" in p.message


# =========================================================================== snapshots
# The exact text users see. A change here must be deliberate (update the snapshot).
SNAPSHOT_VOLYMER = """\
3 fel i indata:
  volymer.csv, rad 2, kolumn utforare: utforare saknas; måttet utforda_timmar delas per utförare (leanlink eller privat)
  volymer.csv, rad 3, kolumn kluster: klustret "dagverksamhet" finns inte i AN-OMR-NV (kluster där: hemtjanst, hemsjukvard, hemrehabilitering)
  volymer.csv, rad 4, kolumn varde: negativt värde (-3) är inte tillåtet i varde"""

SNAPSHOT_HUVUDBOK = """\
2 fel i indata:
  huvudbok.csv, rad 1, kolumn beloop: okänd kolumn för huvudbok (stavfel? menade du "belopp"?); tillåtna kolumner: period, kodtyp, kod, konto, verifikation, belopp, text
  huvudbok.csv, rad 1, kolumn belopp: obligatorisk kolumn saknas i huvudbok"""


def test_snapshot_of_volymer_messages(params, write_export, monkeypatch, tmp_path):
    write_export("volymer.csv", rows(VOL, "2026-03;AN-OMR-NV;hemtjanst;;utforda_timmar;;120,5",
                                     "2026-03;AN-OMR-NV;dagverksamhet;;budget_timmar;;100",
                                     "2026-03;AN-VB;somatik;;platser;;-3"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        read_file("volymer.csv", params=params, today=TODAY)
    assert str(info.value) == SNAPSHOT_VOLYMER


def test_snapshot_of_header_messages(params, write_export, monkeypatch, tmp_path):
    write_export("huvudbok.csv", "period;kodtyp;kod;konto;verifikation;beloop;text\n2026-03;ID;411110;5011;V1;5;\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        read_file("huvudbok.csv", params=params, today=TODAY)
    assert str(info.value) == SNAPSHOT_HUVUDBOK


# =========================================================================== the documented contract
DOC = Path(__file__).resolve().parent.parent / "docs" / "data-contract.md"


def test_data_contract_doc_covers_every_column_measure_and_account_range(params):
    text = DOC.read_text(encoding="utf-8")
    for kind in KINDS.values():
        assert re.search(rf"^#+ .*`{kind.name}`", text, re.M), f"avsnitt för {kind.name} saknas"
        for col in kind.columns:
            assert f"`{col.name}`" in text, f"{kind.name}.{col.name} saknas i {DOC.name}"
            for choice in col.choices:
                assert choice in text
    for matt, info in MEASURES.items():
        split = "ja" if info["utforare"] else "nej"
        kon = "ja" if info.get("kon") else "nej"
        row = (rf"\|\s*`{matt}`\s*\|\s*{re.escape(info['enhet'])}\s*\|\s*{split}\s*\|\s*{re.escape(info['namn'])}"
               rf"\s*\|\s*{kon}\s*\|")
        assert re.search(row, text), f"måttet {matt} saknas eller är fel i tabellen över mått"
    for kodtyp, ranges in params.registry.kontoplan.items():
        for r in ranges:
            assert f"{r.fran}\u2013{r.till}" in text and r.kontoslag in text, f"kontoplan {kodtyp} {r.fran}"


def test_data_contract_doc_examples_are_valid_exports(params, write_export):
    blocks = re.findall(r"```csv\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    kinds = []
    for i, block in enumerate(blocks):
        pf = read_file(write_export(f"exempel_{i}.csv", block), params=params, today=TODAY)
        kinds.append(pf.kind.name)
    assert kinds == list(KINDS)
