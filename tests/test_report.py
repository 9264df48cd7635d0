"""Section builders (vu_lib.report): what each returns for the sample at delår 2026-08.

The figures asserted here were checked by hand against params/ (see
tests/ground_truth/README.md for the arithmetic); the point of these tests is
that each section shows them, says so in a sentence when a part is missing,
and keeps its outputs deterministic.
"""
from __future__ import annotations

import json

import pytest

from vu_lib import report
from vu_lib.report.charts import Chart
from vu_lib.report.tables import Table

NBSP = "\u00a0"
MINUS = "\u2212"


@pytest.fixture(scope="module")
def vb(tmp_path_factory):
    store = tmp_path_factory.mktemp("tom") / "vu.duckdb"  # missing: the sample
    return report.vu_context("AN-VB", "2026-08", str(store))


@pytest.fixture(scope="module")
def nv(vb):
    return report.Context(params=vb.params, data=vb.data, year=2026, period=vb.period, vu_id="AN-OMR-NV")


@pytest.fixture(scope="module")
def son(vb):
    return report.Context(params=vb.params, data=vb.data, year=2026, period=vb.period, scope="SON")


def parts(section):
    return list(section) if isinstance(section, report.Section) else [section]


def tables(section) -> list[Table]:
    return [p for p in parts(section) if isinstance(p, Table)]


def test_default_period_is_latest_delar(vb):
    ctx = report.vu_context("AN-VB", "", vb.store)
    assert ctx.period.month == "2026-10" and ctx.period.kind == "delar"
    assert vb.period.label == "Delår 2 2026 (januari–augusti)"
    assert vb.ytd_text == "januari–augusti 2026"


def test_title_block_prints_the_trace(vb):
    t = report.titel(vb).text
    assert t.startswith("# Vårdbostad och korttidsplatser")
    assert "Äldrenämnden" in t and "Modellversion: 4.1" in t
    assert vb.data.fingerprint in t and "kodversion " in t


def test_compensation_narrative_has_the_years_figures(vb):
    t = report.ersattning(vb).text
    assert f"Den fasta ersättningen för 2026 är 217,6{NBSP}mnkr" in t
    assert f"föregående års 214,2{NBSP}mnkr" in t and f"2,72{NBSP}%" in t


def test_bridge_table_sums_and_chart_has_alt_text(vb):
    sec = report.ersattningsbrygga(vb)
    (t,) = tables(sec)
    assert t.data["belopp"].iloc[:-1].sum() == t.data["belopp"].iloc[-1] == 217_559_969
    chart = [p for p in sec if isinstance(p, Chart)][0]
    assert chart.beskrivning.startswith("Vattenfallsdiagram")
    assert "217,6 mnkr" in chart.beskrivning.replace(NBSP, " ")


def test_missing_parts_are_said_in_a_sentence(vb):
    sec = report.rorliga_priser(vb)
    assert not tables(sec) and "har ingen rörlig ersättning" in sec.text
    # a section that does not apply disappears (issue 8): the schablon for a VU not steered by FTE
    assert len(report.schablon(vb)) == 0
    # no changes of funds: one sentence under the heading, without the general explanation
    medel = report.medel(vb).text
    assert "Inga förändringar av medel" in medel and "oförutsedda händelser" not in medel


def test_rates_with_revision_row(vb):
    ctx = report.Context(params=vb.params, data=vb.data, year=2026, period=vb.period, vu_id="AN-OMR-NO")
    (t,) = tables(report.rorliga_priser(ctx))
    hsv = t.data[t.data["tjanst"] == "Hemsjukvård"]
    assert hsv["pris"].tolist() == [682.76, 645.00]
    assert hsv["version"].tolist() == ["4.0", "4.1"]


def test_transfers_reconcile_for_an_omr_nv(nv):
    sec = report.overforingar(nv)
    t = tables(sec)[0]
    assert t.data["manad_namn"].tolist() == ["Alla 8 månader, ingen skillnad"]
    total = t.data.iloc[-1]
    assert round(total["beraknad"], 2) == 126_559_413.82 and total["skillnad"] == 0
    assert "stämmer med modellens överföring till öret" in sec.text


def test_transfer_differences_listed_for_son_oppna_vux(vb):
    ctx = report.Context(params=vb.params, data=vb.data, year=2026, period=vb.period, vu_id="SON-OPPNA-VUX")
    sec = report.overforingar(ctx)
    ts = tables(sec)
    # the two differing months, then the other six collapsed into one line, then the total (issue 8)
    assert len(ts) == 1
    assert ts[0].data["manad_namn"].tolist() == ["juni 2026", "juli 2026", "Övriga 6 månader, ingen skillnad",
                                                 "Summa januari–augusti 2026"]
    assert f"juni 2026 ({MINUS}1{NBSP}554{NBSP}534,56{NBSP}kr)" in sec.text
    # every month is in the appendix
    (full,) = tables(report.bilaga_overforingar(ctx))
    assert len(full.data) == 8 + 1


def test_result_forecast_and_variance(vb):
    r = report.resultat(vb)
    assert f"ett underskott på 3,5{NBSP}mnkr" in r.text
    f = tables(report.prognos(vb))[0]
    assert f.data["post"].tolist()[-1] == "Resultat"
    v = report.avvikelse(vb)
    d = tables(v)[0].data
    assert (d["volymeffekt"] + d["pris_effektivitetseffekt"] - d["avvikelse"]).abs().max() < 0.006


def test_no_variance_for_a_vu_without_volumes(vb):
    ctx = report.Context(params=vb.params, data=vb.data, year=2026, period=vb.period, vu_id="AN-OPPNA")
    sec = report.avvikelse(ctx)
    assert not tables(sec) and "kan inte delas upp" in sec.text


def test_key_figures_due_and_not_due(vb):
    sec = report.nyckeltal(vb)
    assert "redovisas beläggningsgrad" in sec.text
    assert "Ej aktuella denna period" in sec.text and "referenskostnad per dygn (årsvis)" in sec.text
    assert "Intervall: månadsvis; mottagare: nämnd; ansvarig: SoF" in sec.text
    assert any(isinstance(p, Chart) for p in sec)


def test_key_figures_not_yet_followed_in_2023(vb):
    ctx = report.vu_context("AN-VB", "2023-08", vb.store)
    assert "Ännu inte uppföljda: vårddygnskostnad utifrån verksamhet (följs upp från 2024)" in report.nyckeltal(ctx).text


def test_overview_son_has_ekb_apart_and_differences(son):
    t = tables(report.oversikt_per_vu(son))[0].data
    assert t["namn"].tolist()[-2:] == ["Summa Social- och omsorgsnämnden", "Ensamkommande barn (EKB) (separat reglerad)"]
    assert "EKB" in report.oversikt_ekb(son).text
    assert "SoL, LSS vuxna i juni 2026" in report.oversikt_overforingar(son).text


def test_overview_leanlink_netting(vb):
    ctx = report.Context(params=vb.params, data=vb.data, year=2026, period=vb.period, scope="Leanlink")
    sec = report.oversikt_netting(ctx)
    assert "Vårdbostad och korttidsplatser" in sec.text and "nettas inte" in sec.text
    assert f"Netto för Leanlink (alla verksamhetsuppdrag) blir ett underskott på 339{NBSP}tkr" in sec.text


def test_model_worked_examples_2026():
    ctx = report.model_context(2026)
    assert f"= **2,72{NBSP}%**" in report.modell_index(ctx).text
    assert f"**217{NBSP}559{NBSP}969{NBSP}kr**" in report.modell_fast(ctx).text
    assert f"= 550,19{NBSP}kr för 2026" in report.modell_rorlig(ctx).text
    assert f"**616{NBSP}345{NBSP}kr**" in report.modell_schablon(ctx).text
    t = tables(report.modell_versioner(ctx))[0].data
    assert t["version"].tolist() == ["1.0", "2.0", "3.0", "4.0", "4.1", "5.0"]


def test_budget_2027(vb):
    ctx = report.Context(params=vb.params, data=vb.data, year=2027)
    t = report.budget_titel(ctx).text
    assert f"720,1{NBSP}mnkr" in t and f"2,70{NBSP}%" in t
    totals = tables(report.budget_totaler(ctx))[0].data
    assert totals.iloc[-1]["ersattning_forslag"] == 720_144_479


def test_outputs_are_deterministic_and_free_of_the_code_version(vb):
    """Dict outputs (table and chart JSON) are compared by nbval without sanitizing: no code version in them."""
    from vu_lib.model.trace import code_version

    def data_of(p):  # a chart returns (data, metadata)
        b = p._repr_mimebundle_()
        return b[0] if isinstance(b, tuple) else b

    def bundles(fn):  # SVG clip-path ids count up within a process (sanitized by nbval_sanitize.cfg)
        return [{k: v for k, v in data_of(p).items() if k != "image/svg+xml"} for p in parts(fn(vb))]

    for fn in (report.ersattningsbrygga, report.resultat, report.nyckeltal):
        a, b = bundles(fn), bundles(fn)
        assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
        for bundle in a:
            for mime, v in bundle.items():
                if not isinstance(v, str):
                    assert code_version() not in json.dumps(v, default=str), mime


def test_budget_for_a_year_with_a_revision(vb):
    """2026 has revision 4.1 from July; its change item is shown from July, the others from January."""
    ctx = report.Context(params=vb.params, data=vb.data, year=2026)
    t = tables(report.budget_forandringar(ctx))[0].data
    giltig = dict(zip(t["beskrivning"], t["giltig"]))
    assert giltig["Nattpatrull Nordost tas över från City Nord, juli–december"] == "juli 2026"
    assert giltig["Seniormottagningen utökas med en sjuksköterska"] == "januari"
