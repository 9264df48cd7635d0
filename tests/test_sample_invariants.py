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
