"""Page-1 helpers and key figures in context, worked by hand on small datasets."""
from __future__ import annotations

import pytest
from modelkit import L, V, make_dataset, params

from vu_lib.model.periods import period as make_period
from vu_lib.report.context import Context
from vu_lib.report.summary import Cause, largest


def test_largest_causes_pull_the_way_the_result_went():
    cs = [Cause("a", -300, "kluster", "a"), Cause("b", +500, "kluster", "b"), Cause("c", -100, "kluster", "c"),
          Cause("d", -200, "kluster", "d"), Cause("e", -50, "kluster", "e")]
    # a deficit: the three largest negative effects, by size; the surplus of b is not a cause of a deficit
    assert [c.namn for c in largest(cs, -150)] == ["a", "d", "c"]
    # a surplus: only b pulls that way
    assert [c.namn for c in largest(cs, 150)] == ["b"]
    # a result of about zero: the largest by size
    assert [c.namn for c in largest(cs, 0.2, n=2)] == ["b", "a"]


def _ctx(ds, p="2026-03", vu="AN-VB"):
    P = params()
    per = make_period(P, p)
    return Context(params=P, data=ds, year=per.ar, period=per, vu_id=vu)


def test_key_figure_shows_earlier_years_and_target():
    """AN-VB somatik, March of 2023-2026: 1 000 available days a month, occupied 950, 940, 930, 960:
    occupancy in March 95,0 / 94,0 / 93,0 / 96,0 %; catalogue target for somatik "minst 96,0"
    (the VU's min), for korttid "minst 90,0" (its own)."""
    from vu_lib.report.sections_nyckeltal import nyckeltal

    vol, led = [], []
    for y, occ in ((2023, 950), (2024, 940), (2025, 930), (2026, 960)):
        for m in (1, 2, 3):
            per = f"{y}-{m:02d}"
            vol += [V(per, "AN-VB", "somatik", "platser", 32), V(per, "AN-VB", "somatik", "tillgangliga_dygn", 1000),
                    V(per, "AN-VB", "somatik", "belagda_dygn", occ)]
            led.append(L(per, "AN-VB", "somatik", "415110", "personal", 1000))
    sec = nyckeltal(_ctx(make_dataset(ledger=led, volymer=vol)))
    table = next(p for p in sec.parts if hasattr(p, "to_markdown") and "Beläggningsgrad" in p.to_markdown())
    md = table.to_markdown()
    head = next(line for line in md.splitlines() if "Kluster" in line)
    assert [h.strip() for h in head.strip("|").split("|")][-5:] == ["2023", "2024", "2025", "2026", "Mål"]
    row = next(line for line in md.splitlines() if line.startswith("| Somatik") and "Månaden" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[-5:] == ["95,0", "94,0", "93,0", "96,0", "minst 96,0"]
    assert "2023, 2024, 2025: samma period tidigare år" in md


def test_money_effect_of_occupancy_is_the_volume_effect():
    """AN-VB 2026-03, korttid only budgeted: F_ytd = F × 3/12 (cumulative twelfths), q_b = 3 000 days, q_a = 2 700:
    c_b = F_ytd / 3 000; volume effect (2 700 − 3 000) × c_b = −0,1 × F_ytd."""
    from vu_lib.model.compensation import monthly_fixed
    from vu_lib.report import narrative as nar
    from vu_lib.report.sections_nyckeltal import nyckeltal

    P = params()
    vol, led = [], []
    for m in (1, 2, 3):
        per = f"2026-{m:02d}"
        vol += [V(per, "AN-VB", "korttid", "budget_belagda_dygn", 1000), V(per, "AN-VB", "korttid", "belagda_dygn", 900),
                V(per, "AN-VB", "korttid", "tillgangliga_dygn", 1100), V(per, "AN-VB", "korttid", "platser", 36)]
        led.append(L(per, "AN-VB", "korttid", "415310", "personal", 1000))
    sec = nyckeltal(_ctx(make_dataset(ledger=led, volymer=vol)))
    f_ytd = sum(monthly_fixed(P, "AN-VB", 2026)[:3])
    text = sec.text
    assert f"korttidsplats {nar.belopp(-0.1 * f_ytd, sign=True)}" in text
    assert "Ekonomisk effekt januari–mars 2026: volymeffekten" in text


def test_flags_on_the_sample(tmp_path):
    """The sample's deliberate anomalies at delår 2026-10 (see vu_lib.data.sample):
    - SON-BO-VUX: the takeover payments of 2026 (MED-2025-006 in January, MED-2025-007 in February,
      520 000 each) had their återrapportering due 2026-04-30: passed;
    - SON-OPPNA-VUX: the variable part of June booked in July: two real differences that cancel;
    - the schablon: a flag when F is at least `schablon_under_andel` of the allocation below it.
    """
    from vu_lib.model.budget import budget_schablon
    from vu_lib.report.context import vu_context
    from vu_lib.report.summary import flags

    ctx = vu_context("SON-BO-VUX", "2026-10")
    f = flags(ctx, ["SON-BO-VUX"])
    assert len(f) == 1 and "MED-2025-006 och MED-2025-007" in f[0] and "2026-04-30" in f[0]
    assert "1,0\u00a0mnkr" in f[0]   # 2 × 520 000 = 1 040 000
    vux = flags(vu_context("SON-OPPNA-VUX", "2026-10"), ["SON-OPPNA-VUX"])
    assert any("juni 2026 (\u22121\u00a0554\u00a0535\u00a0kr), juli 2026 (+1\u00a0554\u00a0535\u00a0kr)" in x
               and "periodisering" in x for x in vux)
    # schablon: F − allocation over the allocation, from the budget table, against the threshold
    sch = budget_schablon(ctx.params, ctx.data, 2026, "2026-10")
    row = sch[(sch["vu"] == "SON-OPPNA-VUX") & (sch["niva"] == "vu")].iloc[0]
    share = -row["skillnad"] / row["tilldelning"]
    assert share >= 0.10
    assert any("under schablonkostnaden" in x for x in vux)
    strict = ctx.params.model_copy(update={"registry": ctx.params.registry.model_copy(
        update={"flaggor": ctx.params.registry.flaggor.model_copy(update={"schablon_under_andel": share + 0.01})})})
    ctx2 = vu_context("SON-OPPNA-VUX", "2026-10")
    ctx2.params = strict
    assert not any("under schablonkostnaden" in x for x in flags(ctx2, ["SON-OPPNA-VUX"]))


def test_an_offsetting_cause_is_named_when_the_list_overstates_the_result():
    from vu_lib.report.summary import offsetting

    cs = [Cause("a", -7.4e6, "kluster", "a"), Cause("b", -3.7e6, "kluster", "b"), Cause("c", +9.4e6, "kluster", "c")]
    result = -1.7e6
    shown = largest(cs, result)
    # −7,4 − 3,7 = −11,1 mnkr is more than 1,2 × 1,7: the surplus of c is named beside them
    assert [c.namn for c in shown] == ["a", "b"] and offsetting(cs, result, shown).namn == "c"
    # when the causes shown are about the result, nothing is added
    assert offsetting(cs, -10.5e6, shown) is None
