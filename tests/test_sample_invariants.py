"""The model's invariants on the whole embedded sample, every VU and every month.

- the transfers of a year sum to that year's fixed compensation plus the
  variable compensation plus the changes of funds (to the öre);
- the variance split sums exactly to the deviation, and each effect is the one
  the rule defines;
- (the results invariant, sum over the nine = revenue − cost from the raw
  ledger, is in tests/test_results.py.)
"""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from vu_lib.model import compensation, transfers, variance
from vu_lib.data.dataset import load_dataset
from vu_lib.core.params import load_params


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    params = load_params()
    ds = load_dataset(tmp_path_factory.mktemp("tom") / "ingen.duckdb", params=params)
    assert ds.source == "exempeldata"
    return params, ds


def _ore(x) -> int:
    return int((Decimal(str(x)) * 100).quantize(Decimal(1)))


@pytest.mark.parametrize("year", [2023, 2024, 2025, 2026])
def test_transfers_sum_to_fixed_plus_variable_plus_funds(sample, year):
    params, ds = sample
    last_month = 12 if year < 2026 else 10  # the sample ends in October 2026
    for vu in params.vu_ids(include_separata=True):
        t = transfers.monthly_transfers(params, ds, vu, year)
        assert list(t["manad"]) == list(range(1, last_month + 1)), vu
        fixed = compensation.monthly_fixed(params, vu, year)[:last_month]
        if last_month == 12:
            assert sum(fixed) == compensation.fixed_compensation(params, vu, year)
        # variable: Leanlink's volume of each service × the rate in force that month, öre per month
        vol = ds.volymer[(ds.volymer["vu"] == vu) & (ds.volymer["ar"] == year) & (ds.volymer["utforare"] == "leanlink")]
        expected_var = Decimal(0)
        for s in compensation.services_of(params, vu):
            info = compensation.service_info(params, vu, s)
            rows = vol[(vol["matt"] == info["matt"]) & (vol["kluster"] == info["kluster"])]
            for m, q in rows.groupby("manad")["varde"].sum().items():
                expected_var += compensation.variable_amount(q, compensation.rate(params, vu, s, year, int(m)))
        funds = ds.medel[(ds.medel["vu"] == vu) & (ds.medel["ar"] == year)]["belopp"]
        expected_funds = sum((Decimal(str(x)) for x in funds), Decimal(0))
        total = sum((Decimal(str(x)) for x in t["overforing"]), Decimal(0))
        assert total == sum(fixed) + expected_var + expected_funds, vu
        if not compensation.services_of(params, vu):
            assert (t["rorlig"] == 0).all(), f"{vu} has no variable part"


def test_variance_split_is_exact_on_every_row(sample):
    params, ds = sample
    v = variance.variance_all(params, ds)
    v = v[v["avvikelse"].notna()]
    assert len(v) > 500
    for col in ("avvikelse", "volymeffekt", "pris_effektivitetseffekt", "kostnad_utfall", "kostnad_budget"):
        v = v.assign(**{col + "_ore": [_ore(x) for x in v[col]]})
    # the two effects add up to the deviation to the öre, on every row
    assert (v["volymeffekt_ore"] + v["pris_effektivitetseffekt_ore"] == v["avvikelse_ore"]).all()
    # and the deviation is actual cost minus budget cost
    assert (v["kostnad_utfall_ore"] - v["kostnad_budget_ore"] == v["avvikelse_ore"]).all()
    # the volume effect is (q_actual − q_budget) × c_budget, per cluster. The table shows
    # c_budget rounded to öre (the referenskostnad is not a whole-öre number), so allow
    # half an öre per unit of volume difference plus the öre rounding of the effect.
    cl = v[(v["kluster"] != "") & v["pris_budget"].notna()]
    dq = cl["volym_utfall"] - cl["volym_budget"]
    expected = dq * cl["pris_budget"]
    assert ((expected - cl["volymeffekt"]).abs() <= 0.01 + 0.005 * dq.abs()).all()


def test_price_annex_rows_use_the_indexed_rate(sample):
    params, ds = sample
    v = variance.variance(params, ds, 2024, 3, vu="AN-OMR-NV")
    row = v[v["kluster"] == "hemtjanst"].iloc[0]
    # 2024 hemtjänst rate, område 1: 498,00 × (1 + 0,8 × 0,040 + 0,2 × 0,055) = 498,00 × 1,043 = 519,414 → 519,41
    assert row["pris_budget"] == pytest.approx(519.41, abs=1e-9)


def _delar(params, ds):
    """Every delår of the sample: (year, month) for each year's cut-off months up to the data's last month."""
    last = ds.senaste_period
    out = []
    for y in (2023, 2024, 2025, 2026):
        for m in params.modellar(y).delar_manader:
            if f"{y}-{m:02d}" <= str(last):
                out.append((y, m))
    return out


def test_variance_deviation_and_result_tell_the_same_story(sample):
    """For every analysed VU and delår of the sample, the identity that links the two tables:

        resultat_ack = (ersattning_ack + medel_ack + ovrig_intakt_ack − kostnad_budget) − avvikelse

    to the öre (K is the same cost in both tables), and the revenue term is what it must be:
    - Vårdboende (budget = the fixed compensation paid): ersattning_ack − kostnad_budget = 0, so
      the result is −avvikelse + medel + övriga intäkter exactly;
    - price annex (budget = budgeted hours × rate + the fixed part paid): ersattning_ack − kostnad_budget
      is the hourly compensation for the volume deviation, i.e. the volume effect (up to a rate revision
      within the year weighting the months by actual instead of budgeted hours: within 0,1 % of revenue),
      so the result is −pris_effektivitetseffekt + medel + övriga intäkter.
    A deviation and a result of opposite meaning (cost under budget but a deficit, or the reverse) are
    therefore only possible with a revenue deviation of at least the result's size.
    """
    from vu_lib.model.results import period_results

    params, ds = sample
    checked = 0
    for y, m in _delar(params, ds):
        v = variance.variance(params, ds, y, m)
        v = v[v["kluster"] == ""].set_index("vu")
        r = period_results(params, ds, y, m, "vu").set_index("vu")
        for vu, row in v.iterrows():
            if pd.isna(row["avvikelse"]):
                continue
            res = r.loc[vu]
            revenue = res["ersattning_ack"] + res["medel_ack"] + res["ovrig_intakt_ack"]
            assert _ore(res["kostnad_ack"]) == _ore(row["kostnad_utfall"]), (vu, y, m)
            assert _ore(res["resultat_ack"]) == _ore(revenue) - _ore(row["kostnad_budget"]) - _ore(row["avvikelse"]), (vu, y, m)
            rev_dev = res["ersattning_ack"] - row["kostnad_budget"]
            if row["metod"] == "dygn":
                assert _ore(rev_dev) == 0, (vu, y, m)
            elif row["metod"] == "prisbilaga":
                assert abs(rev_dev - row["volymeffekt"]) <= 0.001 * res["ersattning_ack"], (vu, y, m)
                other = res["medel_ack"] + res["ovrig_intakt_ack"]
                assert abs(res["resultat_ack"] - (other - row["pris_effektivitetseffekt"])) <= 0.001 * res["ersattning_ack"]
            if (res["resultat_ack"] < 0) == (row["avvikelse"] < 0) and abs(res["resultat_ack"]) > 1:
                # opposite meanings: the revenue deviation carries the difference
                assert abs(rev_dev + res["medel_ack"] + res["ovrig_intakt_ack"]) >= abs(res["resultat_ack"]), (vu, y, m)
            checked += 1
    assert checked >= 6 * 10   # six analysed VU, eleven delår 2023-01 .. 2026-10
