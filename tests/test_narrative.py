"""The Swedish narrative (vu_lib.narrative): wording, typography and the figures woven in.

Expected strings are written out by hand; NBSP is the no-break space between
number and unit and in thousands, MINUS the true minus sign U+2212.
"""
from __future__ import annotations

from vu_lib.report import narrative as nar

NBSP = "\u00a0"
MINUS = "\u2212"


def test_belopp_picks_unit_by_size():
    assert nar.belopp(217_559_969) == f"217,6{NBSP}mnkr"
    assert nar.belopp(-3_471_136) == f"{MINUS}3,5{NBSP}mnkr"
    assert nar.belopp(881_954) == f"882{NBSP}tkr"
    assert nar.belopp(9_999) == f"9{NBSP}999{NBSP}kr"
    assert nar.belopp(5_827_133, sign=True) == f"+5,8{NBSP}mnkr"
    assert nar.belopp(float("nan")) == "\u2013"


def test_lista_is_swedish_enumeration():
    assert nar.lista([]) == ""
    assert nar.lista(["a"]) == "a"
    assert nar.lista(["a", "b"]) == "a och b"
    assert nar.lista(["a", "b", "c"], "eller") == "a, b eller c"


def test_over_under():
    assert nar.over_under(1_259_219) == f"ett överskott på 1,3{NBSP}mnkr"
    assert nar.over_under(-38_125) == f"ett underskott på 38{NBSP}tkr"
    assert nar.over_under(0.4) == "ett resultat i balans"


def test_fixed_compensation_sentence_an_vb_2026():
    # F_2026 = round(214 232 836 × 1,0272) − 2 500 000 = 217 559 969 (params/modell/2026.yaml)
    text = nar.fast_ersattning(
        2026, 217_559_969, F_prev=214_232_836, index=0.0272, indexering=5_827_133,
        forandringar=[{"typ": "volymforandring", "belopp": -2_500_000, "beskrivning": "Fyra korttidsplatser avvecklas"}],
    )
    assert text == (
        f"Den fasta ersättningen för 2026 är 217,6{NBSP}mnkr, vilket är föregående års 214,2{NBSP}mnkr "
        f"uppräknat med Kommunstyrelsens index 2,72{NBSP}% (+5,8{NBSP}mnkr) och justerat för volymförändring "
        f"{MINUS}2,5{NBSP}mnkr (fyra korttidsplatser avvecklas)."
    )


def test_fixed_compensation_revision_is_described_with_month_and_version():
    text = nar.fast_ersattning(
        2026, 13_336_597, F_prev=12_691_391, index=0.0272, indexering=345_206,
        forandringar=[{"typ": "uppdragsforandring", "belopp": 300_000, "beskrivning": "Nattpatrull Nordost",
                       "giltig_fran": "2026-07", "version": "4.1"}],
    )
    assert "Från juli 2026 i modellversion 4.1 tillkommer uppdragsförändring +300" in text
    assert text.count("uppräknat med Kommunstyrelsens index 2,72") == 1


def test_first_year_and_no_changes():
    assert "modellens första år" in nar.fast_ersattning(2023, 14_200_000, F_prev=None, index=None, indexering=None,
                                                        forsta_aret=True)
    assert nar.fast_ersattning(2026, 2, F_prev=1, index=0.0272, indexering=1).endswith("utan några förändringar i uppdraget.")


def test_index_sentence_shows_weights():
    assert nar.index_mening(2026, 0.0272, 0.031, 0.012, 0.8) == (
        f"Kommunstyrelsens vägda prisindex för 2026 är 2,72{NBSP}% (80{NBSP}% löneökning 3,10{NBSP}% och "
        f"20{NBSP}% prisökning 1,20{NBSP}%)."
    )


def test_form_texts_follow_the_source_document():
    assert "Prisbilaga område 2" in nar.ersattningsform("prisbilaga", omrade=2)
    assert "referenskostnad" in nar.ersattningsform("fast", niva1="Vårdboende")
    assert "årsarbetare" in nar.ersattningsform("fast_rorlig", schablon="an")
    son = nar.ersattningsform("fast_rorlig", schablon="son", kluster=["Förebyggande och stöd", "Boendestöd"])
    assert "förebyggande och stöd och boendestöd" in son
    assert "stödboende och lss-boende" not in nar.ersattningsform("fast", niva1="Heldygn", kluster=["Stödboende"])


def test_transfers_list_every_differing_month():
    text = nar.overforingar("SoL, LSS vuxna", "januari–augusti 2026", 64_966_061, 52_354_089, 12_611_972, 0,
                            [{"period": "2026-06", "skillnad": -1_554_534.56},
                             {"period": "2026-07", "skillnad": 1_554_534.56}])
    assert f"juni 2026 ({MINUS}1{NBSP}554{NBSP}534,56{NBSP}kr)" in text
    assert f"juli 2026 (+1{NBSP}554{NBSP}534,56{NBSP}kr)" in text
    assert "i 2 månader" in text
    assert "periodiseringsskillnad" in text
    assert "stämmer med modellens överföring till öret" in nar.overforingar("X", "januari 2026", 1, 1, 0, 0, [])


def test_forecast_without_profile():
    text = nar.prognos(2023, 8, -100_000, float("nan"), float("nan"), "Inget fullständigt utfall för 2022")
    assert "kan inte användas" in text and "2022" in text


def test_netting_names_deficits_surpluses_and_net():
    text = nar.netting("Leanlink", "januari–augusti 2026", [("Vårdbostad och korttidsplatser", -3_471_136)],
                       [("Bostad (SoL, LSS) vuxna", 1_259_219)], -338_765, 4_740_293, 338_765,
                       ("Ensamkommande barn (EKB)", -38_125))
    assert f"Vårdbostad och korttidsplatser ({MINUS}3,5{NBSP}mnkr) underskott" in text
    assert f"Bostad (SoL, LSS) vuxna (+1,3{NBSP}mnkr)" in text
    assert f"ett underskott på 339{NBSP}tkr" in text
    assert "nettas inte" in text


def test_key_figure_introduction_names_not_due_and_not_followed():
    text = nar.nyckeltal_inledning("AN-VB", "januari–augusti 2026", ["beläggningsgrad"],
                                   ["vårddygnskostnad (årsvis)"], ["vårddygnskostnad (följs upp från 2024)"])
    assert "redovisas beläggningsgrad" in text
    assert "Ej aktuella denna period" in text and "Ännu inte uppföljda" in text


def test_trace_sentence_matches_the_nbval_sanitizer():
    import configparser
    import re
    from pathlib import Path

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).parent / "nbval_sanitize.cfg", encoding="utf-8")
    s = nar.sparbarhet("4.1", "2026-08", "abc", "exempeldata", "def", "0.1.0+g1234567.dirty")
    out = re.sub(cfg["code-version"]["regex"], cfg["code-version"]["replace"], s)
    assert "0.1.0" not in out and "kodversion KODVERSION" in out
