"""vu_lib.charts: house style, required description, Swedish locale, mime bundle."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from vu_lib.report import charts as ch
from vu_lib.report import fmt

MONTHS = [f"2026-{m:02d}" for m in range(1, 9)]


@pytest.fixture(scope="module")
def monthly():
    df = pd.DataFrame({"period": MONTHS, "utfall": [1.2e6, 1.25e6, 1.31e6, 1.28e6, 1.4e6, 1.45e6, 1.1e6, 1.5e6], "budget": [1.3e6] * 8})
    return ch.monthly_vs_budget(df, beskrivning="Utfall per månad mot budget.", titel="Utfall mot budget")


@pytest.fixture(scope="module")
def result():
    df = pd.DataFrame({"vu": ["Nordväst", "Nordost", "City Nord"], "resultat": [1_234_567, -2_345_678, 456_000]})
    return ch.result_per_vu(df, beskrivning="Resultat per VU; Nordost har underskott.")


def _texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def _datasets(spec: dict) -> list[dict]:
    rows = []
    for values in spec.get("datasets", {}).values():
        rows.extend(values)
    return rows


# ----------------------------------------------------------------- description is required
@pytest.mark.parametrize("bad", [None, "", "   ", 42])
def test_chart_without_description_is_refused(bad):
    chart = ch.alt.Chart(pd.DataFrame({"a": [1]})).mark_bar().encode(x="a:Q")
    with pytest.raises(ValueError, match="beskrivning"):
        ch.Chart(chart, beskrivning=bad)


def test_helpers_require_description():
    with pytest.raises(TypeError):
        ch.monthly_vs_budget(pd.DataFrame({"period": MONTHS, "utfall": range(8), "budget": range(8)}))  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        ch.result_per_vu(pd.DataFrame({"vu": ["a"], "resultat": [1]}), beskrivning=" ")


def test_plain_altair_chart_uses_vu_renderer():
    from IPython.core.formatters import DisplayFormatter

    base = ch.alt.Chart(pd.DataFrame({"a": [1, -2]})).mark_bar().encode(x="a:Q")
    data, meta = DisplayFormatter().format(base.properties(description="Två staplar."))
    # the spec for the renderer and for JupyterLab; no picture is drawn in the kernel
    assert ch.VEGALITE_MIME in data and ch.JUPYTER_VEGALITE_MIME in data and "image/svg+xml" not in data
    assert "text/html" not in data
    assert meta[ch.JUPYTER_VEGALITE_MIME]["embed_options"]["formatLocale"]["decimal"] == ","
    with pytest.raises(ValueError, match="beskrivning"):
        ch.alt.renderers.get()(base.to_dict())


# ----------------------------------------------------------------- mime bundle and spec
def test_mimebundle(monthly):
    bundle, meta = monthly._repr_mimebundle_()
    assert set(bundle) == {ch.VEGALITE_MIME, ch.JUPYTER_VEGALITE_MIME, "text/plain"}
    # JupyterLab gets the same spec, declared as Vega-Lite 5, with Swedish formats and no action menu
    jl = bundle[ch.JUPYTER_VEGALITE_MIME]
    assert jl["$schema"].endswith("/vega-lite/v5.json")
    assert {k: v for k, v in jl.items() if k != "$schema"} == bundle[ch.VEGALITE_MIME]["spec"]
    opts = meta[ch.JUPYTER_VEGALITE_MIME]["embed_options"]
    assert opts["formatLocale"]["thousands"] == "\u00a0" and opts["actions"] is False
    payload = bundle[ch.VEGALITE_MIME]
    json.dumps(payload)
    assert payload["beskrivning"] == "Utfall per månad mot budget."
    assert payload["titel"] == "Utfall mot budget"
    assert payload["spec"]["description"] == "Utfall per månad mot budget."
    assert "Utfall per månad mot budget." in bundle["text/plain"]
    serialized = json.dumps(payload["spec"])
    assert "$schema" not in payload["spec"]
    assert "http://" not in serialized and "https://" not in serialized
    assert '"url"' not in serialized


def test_svg_is_drawn_from_the_spec(monthly):
    svg = ch.svg_from_spec(monthly.spec, "Utfall <per> månad")
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert "<title>Utfall &lt;per&gt; månad</title>" in svg and 'aria-label="Utfall &lt;per&gt; månad"' in svg


def test_house_config(monthly):
    config = monthly.spec["config"]
    assert config["font"] == ch.FONT_FAMILY == "Source Sans Pro"
    assert config["range"]["category"][:4] == ["#0072B2", "#E69F00", "#009E73", "#D55E00"]
    loc = config["locale"]
    assert loc["number"]["decimal"] == "," and loc["number"]["thousands"] == "\u00a0" and loc["number"]["minus"] == "\u2212"
    assert loc["time"]["months"][0] == "januari"


def test_user_config_wins_over_house_style():
    chart = ch.alt.Chart(pd.DataFrame({"a": [1]})).mark_bar().encode(x="a:Q").configure_axis(labelFontSize=20)
    spec = ch.style(chart, beskrivning="x").spec
    assert spec["config"]["axis"]["labelFontSize"] == 20
    assert spec["config"]["axis"]["labelFont"] == ch.FONT_FAMILY


def test_okabe_ito_palette():
    assert ch.PALETTE == {
        "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
        "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
    }


# ----------------------------------------------------------------- SVG
def test_svg_is_accessible_and_swedish(monthly):
    svg = monthly.svg
    assert svg.lstrip().startswith("<svg")
    assert 'role="img"' in svg and 'aria-label="Utfall per månad mot budget."' in svg
    assert "<title>Utfall per månad mot budget.</title>" in svg
    fonts = set(re.findall(r'font-family="([^"]*)"', svg))
    assert fonts == {"Source Sans Pro"}
    texts = _texts(svg)
    assert "1\u00a0400" in texts  # thousands with a no-break space
    assert "jan" in texts and "maj" in texts and "aug" in texts
    assert "Utfall mot budget" in texts
    assert "http://" not in svg.split(">", 1)[1].replace('xmlns="http://www.w3.org/2000/svg"', "").replace("http://www.w3.org/1999/xlink", "")


def test_svg_minus_sign(result):
    texts = _texts(result.svg)
    assert "\u22122\u00a0346\u00a0tkr" in texts  # label of the deficit
    assert "+1\u00a0235\u00a0tkr" in texts
    assert any(t.startswith("\u2212") and t[1:].replace("\u00a0", "").isdigit() for t in texts)  # axis ticks
    assert not any(re.match(r"^-\d", t) for t in texts)


def test_time_axis_uses_swedish_months():
    df = pd.DataFrame({"d": pd.to_datetime(["2026-01-15", "2026-05-15", "2026-10-15"]), "v": [1, 2, 3]})
    chart = ch.alt.Chart(df).mark_line().encode(x=ch.alt.X("d:T", timeUnit="yearmonth", axis=ch.alt.Axis(format="%b")), y="v:Q")
    texts = _texts(ch.style(chart, beskrivning="Linje över tid.").svg)
    assert "maj" in texts or "okt" in texts
    assert not ({"May", "Oct"} & set(texts))


def test_svg_conversion_refuses_network():
    spec = {"data": {"url": "https://example.org/data.csv"}, "mark": "bar"}
    with pytest.raises(ValueError):
        ch.Chart(spec, beskrivning="Ska inte hämta data.").to_svg()


# ----------------------------------------------------------------- helpers
def test_monthly_line_and_without_budget():
    df = pd.DataFrame({"period": ["2025-12", "2026-01"], "utfall": [10.0, 12.5]})
    c = ch.monthly_vs_budget(df, beskrivning="Två månader.", budget=None, typ="linje", format="num(1)")
    rows = _datasets(c.spec)
    assert {r["manad"] for r in rows} == {"dec 2025", "jan 2026"}  # years shown across a year end
    assert {r["utfall_txt"] for r in rows} == {"10,0", "12,5"}
    assert "dec 2025" in _texts(c.svg)
    with pytest.raises(ValueError):
        ch.monthly_vs_budget(df, beskrivning="x", budget=None, typ="cirkel")


def test_monthly_tooltips_are_fmt_strings(monthly):
    rows = _datasets(monthly.spec)
    jan = next(r for r in rows if r["manad"] == "jan" and r["serie"] == "Utfall")
    assert jan["manad_lang"] == "januari 2026"
    assert jan["utfall_txt"] == fmt.tkr(1.2e6)
    assert jan["avvikelse_txt"] == "\u2212100\u00a0tkr"
    assert jan["varde"] == pytest.approx(1200.0)


def test_result_per_vu_marks_deficits(result):
    rows = _datasets(result.spec)
    by_vu = {r["vu"]: r for r in rows if "vu" in r}
    assert by_vu["Nordost"]["utfall"] == "Underskott"
    assert by_vu["Nordväst"]["utfall"] == "Överskott"
    assert by_vu["Nordost"]["etikett"] == "\u22122\u00a0346\u00a0tkr"
    colors = json.dumps(result.spec)
    assert "#D55E00" in colors and "#0072B2" in colors


def test_result_per_vu_sorting():
    df = pd.DataFrame({"vu": ["Öst", "Alfa", "Zeta"], "resultat": [1, -5, 3]})
    spec = ch.result_per_vu(df, beskrivning="x", sortering="namn").spec
    assert [r["vu"] for r in _datasets(spec) if "vu" in r] == ["Alfa", "Zeta", "Öst"]
    spec = ch.result_per_vu(df, beskrivning="x", sortering="resultat").spec
    assert [r["vu"] for r in _datasets(spec) if "vu" in r] == ["Alfa", "Öst", "Zeta"]


def test_bridge_cumulates():
    df = pd.DataFrame({"steg": ["Ersättning 2025", "Index", "Volym", "Effektivisering"], "belopp": [100_000_000, 3_100_000, 2_000_000, -1_500_000]})
    c = ch.bridge(df, beskrivning="Brygga från 2025 till 2026.", slutsumma="Ersättning 2026")
    rows = [r for r in _datasets(c.spec) if "steg" in r]
    assert [r["typ"] for r in rows] == ["Summa", "Ökning", "Ökning", "Minskning", "Summa"]
    assert rows[-1]["etikett"] == "103\u00a0600\u00a0tkr"
    assert rows[3]["etikett"] == "\u22121\u00a0500\u00a0tkr"
    assert rows[3]["start"] == pytest.approx(105_100) and rows[3]["slut"] == pytest.approx(103_600)
    assert rows[1]["steg"] == "Index"
    assert "103\u00a0600\u00a0tkr" in _texts(c.svg)
    zoomed = ch.bridge(df, beskrivning="x", slutsumma="Ersättning 2026", y_fran_noll=False)
    assert "103\u00a0600\u00a0tkr" in _texts(zoomed.svg)


def test_key_figure_interval_and_target():
    df = pd.DataFrame({"period": MONTHS, "varde": [0.91, 0.93, 0.95, 0.97, 0.96, 0.94, 0.89, 0.92]})
    c = ch.key_figure(df, beskrivning="Beläggningsgrad mot intervall 90–97 % och mål 95 %.", lag=0.9, hog=0.97, mal=0.95, format="pct")
    rows = _datasets(c.spec)
    assert any(r.get("varde_txt") == "89,0\u00a0%" for r in rows)
    texts = _texts(c.svg)
    assert "Mål" in texts and "Intervall" in texts
    assert "95\u00a0%" in texts  # axis tick, trailing zeros trimmed


def test_key_figure_groups_in_swedish_order():
    df = pd.DataFrame({"period": ["2024", "2025"] * 2, "varde": [1.0, 2.0, 3.0, 4.0], "grupp": ["Öst", "Öst", "Alfa", "Alfa"]})
    c = ch.key_figure(df, beskrivning="x", grupp="grupp", mal=2.5)
    assert c.spec["layer"][-1]["encoding"]["color"]["sort"] == ["Alfa", "Öst"]


# ----------------------------------------------------------------- fonts
def test_font_is_available_to_typst():
    typst = pytest.importorskip("typst")
    fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=True, font_paths=[str(ch.FONT_DIR)])
    assert ch.FONT_FAMILY in fonts.families()


def test_vegalite_version_matches_altair():
    import vl_convert as vlc

    assert ch.vegalite_version() in vlc.get_vegalite_versions()
    assert ch.alt.SCHEMA_VERSION.lstrip("v").startswith(ch.vegalite_version())


# ----------------------------------------------------------------- import cost
def test_import_does_not_load_rfc3987_syntax():
    code = textwrap.dedent(
        """
        import sys, time
        t = time.perf_counter()
        import vu_lib.report.charts
        elapsed = time.perf_counter() - t
        assert "rfc3987_syntax" not in sys.modules, "rfc3987_syntax importerades"
        assert "jsonschema" in sys.modules and "altair" in sys.modules
        import rfc3987_syntax  # importable again afterwards
        print(elapsed)
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_import_leaves_an_earlier_jsonschema_alone():
    code = "import jsonschema, sys; import vu_lib.report.charts; assert sys.modules.get('rfc3987_syntax', 1) is not None"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
