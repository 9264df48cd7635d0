"""KS weighted index and index chains (vu_lib.index), worked by hand from params/modell."""
from decimal import Decimal

import pytest

from modelkit import params, with_year
from vu_lib.core.exceptions import ParamsError
from vu_lib.model.index import index_chain, index_for, round_kr, round_ore


@pytest.mark.parametrize(
    "year, expected",
    [
        # 2023: 0,8 × 4,5 % + 0,2 × 5,0 % = 3,6 + 1,0 = 4,6 %
        (2023, "0.046"),
        # 2024: 0,8 × 4,0 % + 0,2 × 5,5 % = 3,2 + 1,1 = 4,3 %
        (2024, "0.043"),
        # 2025: 0,8 × 3,4 % + 0,2 × 2,0 % = 2,72 + 0,40 = 3,12 %
        (2025, "0.0312"),
        # 2026: 0,8 × 3,1 % + 0,2 × 1,2 % = 2,48 + 0,24 = 2,72 %
        (2026, "0.0272"),
        # 2027: 0,8 × 3,0 % + 0,2 × 1,5 % = 2,4 + 0,3 = 2,7 %
        (2027, "0.027"),
    ],
)
def test_weighted_index_exact(year, expected):
    assert index_for(params(), year) == Decimal(expected)


def test_ks_index_given_directly_wins():
    p = with_year(params(), 2025, index={"ks_index": 0.035})
    assert index_for(p, 2025) == Decimal("0.035")
    # chain 2024 → 2026 uses it: 1,035 × 1,0272 = 1,063152
    assert index_chain(p, 2024, 2026) == Decimal("1.063152")


def test_index_chain_over_several_years():
    # 2023 → 2026: 1,043 × 1,0312 × 1,0272
    #   1,043 × 1,0312 = 1,0755416
    #   1,0755416 × 1,0272 = 1,0755416 + 0,02925473152 = 1,10479633152
    assert index_chain(params(), 2023, 2026) == Decimal("1.10479633152")
    # one step: 2026 → 2027 = 1,027
    assert index_chain(params(), 2026, 2027) == Decimal("1.027")


def test_index_chain_same_year_and_backwards():
    p = params()
    assert index_chain(p, 2025, 2025) == 1
    # backwards is the inverse: 2026 prices to 2024 prices = 1 / (1,0312 × 1,0272) = 1 / 1,05924864
    back = index_chain(p, 2026, 2024)
    assert back == 1 / Decimal("1.05924864")
    assert back * index_chain(p, 2024, 2026) == pytest.approx(Decimal(1), abs=Decimal("1e-20"))


def test_index_for_missing_year_is_params_error():
    with pytest.raises(ParamsError, match="2031"):
        index_for(params(), 2031)


def test_rounding_half_away_from_zero():
    # kronor: 2,5 → 3 and −2,5 → −3 (not banker's rounding to 2)
    assert round_kr(Decimal("2.5")) == 3
    assert round_kr(Decimal("-2.5")) == -3
    assert round_kr(Decimal("2.49")) == 2
    # öre: 662,415 → 662,42; 1,004 → 1,00
    assert round_ore(Decimal("662.415")) == Decimal("662.42")
    assert round_ore(Decimal("1.004")) == Decimal("1.00")
