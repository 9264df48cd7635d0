"""params/: every file loads, and a malformed file fails loudly and clearly.

The error texts are snapshots: a change to what the user sees must be deliberate.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vu_lib.core.exceptions import ParamsError
from vu_lib.core.params import PROJECT_ROOT, load_params

NINE = ["AN-OMR-NV", "AN-OMR-NO", "AN-OMR-CN", "AN-OPPNA", "AN-VB",
        "SON-OPPNA-BUF", "SON-OPPNA-VUX", "SON-BO-BU", "SON-BO-VUX"]


@pytest.fixture
def params_copy(tmp_path) -> Path:
    dst = tmp_path / "params"
    shutil.copytree(PROJECT_ROOT / "params", dst)
    return dst


def test_every_parameter_file_loads():
    p = load_params()
    assert p.vu_ids() == NINE
    assert p.vu_ids(include_separata=True)[-1] == "EKB"
    assert sorted(p.ar) == [2023, 2024, 2025, 2026, 2027]
    assert [p.ar[y].modellversion for y in sorted(p.ar)] == ["1.0", "2.0", "3.0", "4.0", "5.0"]
    assert [r.modellversion for r in p.ar[2026].revisioner] == ["4.1"]
    # the nine split five for ÄN and four for SON, as the decision memo says
    assert sum(v.namnd == "AN" for v in p.registry.verksamhetsuppdrag) == 5
    assert sum(v.namnd == "SON" for v in p.registry.verksamhetsuppdrag) == 4
    # 2023 used April as the first delår cut-off; later years March
    assert p.ar[2023].delar_manader == [4, 8, 10]
    assert p.ar[2026].delar_manader == [3, 8, 10]


def test_catalogue_covers_every_row_of_the_source_tables():
    p = load_params()
    ids = {n.id for n in p.katalog.nyckeltal}
    # Områdesansvar: two rows; dagverksamhet two; övriga seven; psyk hsv one;
    # vårdboende two (+ referenskostnad); SON open: two each; SON housing: two each.
    expected = {
        "hemtjanst_timmar", "hemsjukvard_hemrehab_timmar",
        "dagverksamhet_kostnad_per_plats", "dagverksamhet_brukare_timmar",
        "demenscenter_utredningar", "seniormottagningen_besok", "anhorigcenter_besok",
        "hagdahlska_besokare", "kultur_fritid_besok", "fixartjanst_besok", "heminstruktorer_besok",
        "psykiatrisk_hsv_besok_per_dag", "vb_belaggningsgrad", "vb_varddygnskostnad", "vb_referenskostnad",
        "buf_kostnad_per_timme", "buf_planerade_timmar", "vux_kostnad_per_timme", "vux_planerade_timmar",
        "bobu_kostnad_per_plats", "bobu_belaggningsgrad", "bovux_kostnad_per_plats", "bovux_belaggningsgrad",
    }
    assert ids == expected
    by_id = {n.id: n for n in p.katalog.nyckeltal}
    # "* Börjar följas upp under 2024"
    assert by_id["dagverksamhet_brukare_timmar"].forsta_ar == 2024
    assert by_id["vb_varddygnskostnad"].forsta_ar == 2024
    assert by_id["bovux_belaggningsgrad"].forsta_ar == 2024
    assert by_id["vb_belaggningsgrad"].intervall == "manadsvis"
    assert by_id["bobu_kostnad_per_plats"].ekonomisk_paverkan == "Årlig fastställd ersättning"
    assert by_id["hemtjanst_timmar"].ekonomisk_paverkan == "Rörlig kostnad"
    assert all(n.mottagare and n.ansvarig == "SoF" for n in p.katalog.nyckeltal)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _refused(root: Path, relpath: str, old: str, new: str) -> str:
    """Edit one params file, load, and return the ParamsError's message."""
    _replace(root / relpath, old, new)
    with pytest.raises(ParamsError) as e:
        load_params(root)
    return str(e.value)


def test_unknown_key_is_named(params_copy):
    _replace(params_copy / "modell" / "2025.yaml", "po_palagg:", "po_pallag:")
    with pytest.raises(ParamsError) as e:
        load_params(params_copy)
    f = params_copy / "modell" / "2025.yaml"
    assert str(e.value) == (
        f"Fel i parameterfilen {f}:\n"
        "  schablon.po_palagg: nyckeln saknas\n"
        "  schablon.po_pallag: okänd nyckel (stavfel?)"
    )


def test_wrong_type_names_key_and_expectation(params_copy):
    _replace(params_copy / "modell" / "2024.yaml", "timmar_per_arsarbetare: 1600", "timmar_per_arsarbetare: många")
    with pytest.raises(ParamsError) as e:
        load_params(params_copy)
    msg = str(e.value)
    assert "2024.yaml" in msg
    assert "schablon.timmar_per_arsarbetare" in msg
    assert "'många'" in msg


def test_index_given_as_percent_is_refused(params_copy):
    msg = _refused(params_copy, "modell/2026.yaml", "lon: 0.031", "lon: 3.1")
    assert "index: lon = 3.1 ser inte ut som en andel (skriv 0.031 för 3,1 %)" in msg


def test_yaml_syntax_error_gives_line(params_copy):
    f = params_copy / "nyckeltal.yaml"
    f.write_text(f.read_text(encoding="utf-8") + "  - id: [trasig\n", encoding="utf-8")
    with pytest.raises(ParamsError) as e:
        load_params(params_copy)
    assert str(e.value).startswith(f"Parameterfilen {f}, rad ")
    assert "är inte giltig YAML" in str(e.value)


def test_unit_with_unknown_cluster(params_copy):
    msg = _refused(params_copy, "registry.yaml", "namn: Hemtjänst Ryd, kluster: hemtjanst", "namn: Hemtjänst Ryd, kluster: hemtjänst")
    assert "enhet 411120 (Hemtjänst Ryd) anger okänt kluster 'hemtjänst'; kända: hemtjanst, hemsjukvard, hemrehabilitering" in msg


def test_duplicate_code_is_refused(params_copy):
    _replace(params_copy / "registry.yaml", 'id_kod: "411120"', 'id_kod: "411110"')
    with pytest.raises(ParamsError) as e:
        load_params(params_copy)
    assert "koden 411110 används både av AN-OMR-NV och AN-OMR-NV" in str(e.value)


def test_change_item_for_unknown_vu(params_copy):
    msg = _refused(params_copy, "modell/2025.yaml", "vu: AN-VB, typ: effektiviseringskrav", "vu: AN-VX, typ: effektiviseringskrav")
    assert "2025.yaml: forandringar: okänt VU 'AN-VX'" in msg


def test_first_year_must_give_every_fixed_compensation(params_copy):
    msg = _refused(params_copy, "modell/2023.yaml", "  SON-BO-BU: 63700000\n", "")
    assert "fast_ersattning saknar SON-BO-BU (första modellåret anger ersättningen direkt)" in msg


def test_share_only_for_efficiency_requirement(params_copy):
    _replace(params_copy / "modell" / "2024.yaml",
             "typ: volymforandring, belopp: 4900000", "typ: volymforandring, andel: 0.02")
    with pytest.raises(ParamsError) as e:
        load_params(params_copy)
    assert "forandringar.0: andel kan bara anges för effektiviseringskrav" in str(e.value)


def test_revision_outside_its_year(params_copy):
    msg = _refused(params_copy, "modell/2026.yaml", "giltig_fran: 2026-07", "giltig_fran: 2025-07")
    assert "revision 4.1 gäller från 2025-07, utanför året 2026" in msg


def test_missing_directory():
    with pytest.raises(ParamsError, match="Parameterkatalogen /nonexistent/params finns inte"):
        load_params("/nonexistent/params")
