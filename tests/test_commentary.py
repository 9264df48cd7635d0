"""The controller's commentary: parsing, validation messages, escaping, `vu kommentar` end to end."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from vu_lib.cli import main
from vu_lib.report.commentary import CommentaryError, escape_text, parse_commentary

GOOD = """# Kommentar: AN-VB

<!-- en kommentar
över flera rader -->

## Analys

Underskottet ligger på korttidsplatserna.
Det fortsätter året ut.

Nytt stycke.

## Åtgärder

- Vad: Anpassa nattbemanningen
  Vem: Verksamhetschef
  Senast: 2026-12-31
- Vad: Följ upp
  Vem: Controller SoF
  Senast: 2027-03-31

## Prognos

Belopp: −6,5 mnkr
Motivering: Kända kostnader i december
som årstakten inte fångar.
"""


def _write(tmp_path, text, name="AN-VB.md"):
    p = tmp_path / "2026-10" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def _problems(path) -> list[str]:
    with pytest.raises(CommentaryError) as e:
        parse_commentary(path)
    return [str(p) for p in e.value.problems]


def test_a_good_file(tmp_path):
    c = parse_commentary(_write(tmp_path, GOOD))
    assert c.sections == ("Analys", "Åtgärder", "Prognos")
    assert c.analys.startswith("Underskottet ligger") and "Nytt stycke." in c.analys
    assert [(a.vad, a.vem, a.senast) for a in c.atgarder] == [
        ("Anpassa nattbemanningen", "Verksamhetschef", dt.date(2026, 12, 31)),
        ("Följ upp", "Controller SoF", dt.date(2027, 3, 31))]
    # −6,5 mnkr = −6 500 000 kr; the reason continues on the next line
    assert c.prognos == Decimal("-6500000")
    assert c.prognos_motivering == "Kända kostnader i december som årstakten inte fångar."


@pytest.mark.parametrize("text, amount", [("-480 tkr", -480000), ("1 250 000 kr", 1250000), ("+1,2 mnkr", 1200000),
                                          ("-480000", -480000)])
def test_prognosis_amounts(tmp_path, text, amount):
    c = parse_commentary(_write(tmp_path, f"## Prognos\n\nBelopp: {text}\nMotivering: En tydlig motivering\n"))
    assert c.prognos == amount


def test_unknown_section_names_file_and_line(tmp_path):
    p = _write(tmp_path, "## Analys\n\nText.\n\n## Slutsatser\n\nMer text.\n")
    assert _problems(p) == [f"{p}, rad 5: okänt avsnitt 'Slutsatser' (tillåtna avsnitt: Analys, Åtgärder, Prognos)"]


def test_empty_action_and_missing_who(tmp_path):
    p = _write(tmp_path, "## Åtgärder\n\n- Vad:\n  Vem:\n  Senast:\n- Vad: Något\n  Senast: 2026-12-31\n")
    assert _problems(p) == [f"{p}, rad 3: tom åtgärd: ange Vad, Vem och Senast",
                            f"{p}, rad 6: åtgärden saknar 'Vem'"]


def test_a_date_that_is_not_a_date(tmp_path):
    p = _write(tmp_path, "## Åtgärder\n\n- Vad: Något\n  Vem: Någon\n  Senast: 31/12\n"
                         "- Vad: Annat\n  Vem: Någon\n  Senast: 2026-02-30\n")
    assert _problems(p) == [f"{p}, rad 5: 'Senast' ska vara ett datum ÅÅÅÅ-MM-DD, inte '31/12'",
                            f"{p}, rad 8: 'Senast' ska vara ett datum ÅÅÅÅ-MM-DD, inte '2026-02-30'"]


def test_repeated_section_text_before_sections_and_prognosis_without_reason(tmp_path):
    p = _write(tmp_path, "Lös text\n## Analys\nA\n## Analys\nB\n## Prognos\nBelopp: mycket\n")
    assert _problems(p) == [
        f"{p}, rad 1: text före första avsnittet; börja med '## Analys'",
        f"{p}, rad 4: avsnittet 'Analys' förekommer två gånger",
        f"{p}, rad 7: 'Belopp' ska vara ett belopp som '-6,5 mnkr', '-480 tkr' eller '-480000', inte 'mycket'",
        f"{p}, rad 6: prognosen saknar 'Motivering': en egen prognos ska motiveras",
    ]


def test_escape_makes_every_markup_character_literal():
    # <script>: HTML; #set: a typst command; =1+1: a formula; *x*: Markdown emphasis
    s = escape_text("<script>alert(1)</script> #set page(fill: red) =1+1 *x* `kod` [l](u)")
    assert s == ("\\<script\\>alert\\(1\\)\\</script\\> \\#set page\\(fill\\: red\\) \\=1\\+1 \\*x\\* "
                 "\\`kod\\` \\[l\\]\\(u\\)")
    # paragraphs stay, soft line breaks join
    assert escape_text("a\nb\n\nc") == "a b\n\nc"


def test_vu_kommentar_writes_a_valid_template_and_checks(tmp_path, capsys):
    d = tmp_path / "k"
    assert main(["kommentar", "AN-VB", "--period", "2026-10", "--kommentarer", str(d)]) == 0
    path = d / "2026-10" / "AN-VB.md"
    text = path.read_text(encoding="utf-8")
    # pre-filled with the figures to explain (in a comment), and the sections to write
    assert "Resultat hittills: −4,9\u00a0mnkr" in text and "Största orsaker:" in text and "Korttidsplats" in text
    assert "## Analys" in text and "## Åtgärder" in text
    c = parse_commentary(path)
    assert c.analys == "" and c.atgarder == []
    # a second call does not overwrite
    assert main(["kommentar", "AN-VB", "--period", "2026-10", "--kommentarer", str(d)]) == 0
    assert "skrivs inte över" in capsys.readouterr().out
    assert main(["kommentar", "--period", "2026-10", "--kommentarer", str(d), "--kontrollera"]) == 0
    # a bad file: exit 2, the file and line in Swedish, no traceback
    path.write_text(text + "\n- Vad: X\n  Vem: Y\n  Senast: snart\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["kommentar", "AN-VB", "--period", "2026-10", "--kommentarer", str(d), "--kontrollera"]) == 2
    err = capsys.readouterr().err
    assert f"{path}, rad " in err and "'Senast' ska vara ett datum ÅÅÅÅ-MM-DD, inte 'snart'" in err
    assert "Traceback" not in err


def test_vu_run_refuses_a_bad_commentary_before_running(tmp_path, capsys, monkeypatch):
    d = tmp_path / "k"
    _write(d, "## Okänt\n")
    monkeypatch.setenv("VU_KOMMENTARER", str(d))
    rc = main(["run", "--period", "2026-10", "--vu", "AN-VB", "--out", str(tmp_path / "out"), "--to", "html"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "rad 1: okänt avsnitt 'Okänt'" in err
    assert not (tmp_path / "out" / "2026-10" / "AN-VB.html").exists()


def test_summary_shows_commentary_as_text_and_marks_missing_actions(tmp_path):
    from vu_lib.report.context import vu_context
    from vu_lib.report.summary import sammanfattning

    d = tmp_path / "k"
    _write(d, "## Analys\n\n<script>alert(1)</script> #set page(fill: red)\n\n=1+1\n")
    sec = sammanfattning(vu_context("AN-VB", "2026-10", kommentarer=str(d)))
    text = sec.parts[0].text
    assert "**Controllerns analys.** \\<script\\>alert\\(1\\)\\</script\\> \\#set page\\(fill\\: red\\)" in text
    assert "\\=1\\+1" in text
    # AN-VB has a deficit and this commentary no Åtgärder: marked
    assert "**Åtgärder saknas.**" in text
    assert sec.parts[1].data == {"saknar_atgarder": True}
    _write(d, "## Åtgärder\n\n- Vad: X\n  Vem: Y\n  Senast: 2026-12-31\n")
    sec = sammanfattning(vu_context("AN-VB", "2026-10", kommentarer=str(d)))
    assert sec.parts[1].data == {"saknar_atgarder": False} and "X (ansvarig: Y, senast 2026-12-31)" in sec.parts[0].text


def test_commentary_is_part_of_the_cache_key(tmp_path, monkeypatch):
    from vu_lib.publish.cache import commentary_key
    from vu_lib.publish.plan import Job

    monkeypatch.setenv("VU_KOMMENTARER", str(tmp_path))
    job = Job("AN-VB", "vu", "vu_rapport.ipynb", {"vu": "AN-VB", "period": "2026-10"}, "Vårdbostad", "AN")
    assert commentary_key(job) == ""
    p = _write(tmp_path, "## Analys\n\nA.\n")
    k1 = commentary_key(job)
    p.write_text("## Analys\n\nB.\n", encoding="utf-8")
    assert k1 and commentary_key(job) != k1
