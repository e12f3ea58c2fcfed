from datetime import date

import pytest

from actions.calculation import bonus_estimate, estimate, vat_small_estimate, wage_estimate
from actions.query import amount_from, as_of_from

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("月薪15000要交多少个税", 15000), ("工资1万5扣多少", 15000), ("年终奖3万", 30000), ("两万块", 20000),
        ("一万二", 12000), ("季度开了35万发票", 350000), ("1.2万", 12000), ("年终奖2万4", 24000),
        ("月薪1w", 10000), ("工资3k", 3000), ("2025年年终奖5万", 50000), ("开1%的票，开了60万", 600000),
        ("个税怎么算", None), ("12个月工资", None),
    ],
)  # fmt: skip
def test_amounts_as_taxpayers_write_them(text, expected):
    assert amount_from(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025年小规模征收率", date(2025, 12, 31)), ("去年的起征点", date(2025, 12, 31)),
        ("前年", date(2024, 12, 31)), ("2025年3月", date(2025, 3, 31)), ("2024-05-01", date(2024, 5, 1)),
        ("2026年", None), ("2027年底前", None), ("个税起征点", None),
    ],
)  # fmt: skip
def test_dates_in_the_question(text, expected):
    assert as_of_from(text, TODAY) == expected


@pytest.mark.parametrize(
    ("monthly", "tax"), [(5000, 0), (8000, 1080), (15000, 9480), (30000, 43080), (40000, 73080), (4000, 0)]
)
def test_wage_tax_follows_the_annual_table(monthly, tax):
    assert wage_estimate(monthly).tax == tax


@pytest.mark.parametrize(
    ("bonus", "tax"), [(30000, 900), (36000, 1080), (36001, 3390.1), (100000, 9790), (400000, 97340)]
)
def test_bonus_tax_uses_the_monthly_table(bonus, tax):
    assert bonus_estimate(bonus).tax == pytest.approx(tax)


def test_small_vat_below_and_above_the_threshold():
    assert vat_small_estimate(280000, "季度").tax == 0
    assert vat_small_estimate(353500, "季度").tax == pytest.approx(3500)
    assert "免征增值税" in vat_small_estimate(80000, "月").text


def test_the_question_chooses_the_estimate_and_no_amount_gives_the_formula():
    assert estimate("年终奖怎么算税", None).kind == "bonus"
    assert estimate("小规模季度销售额", 350000).text.count("按季度申报") == 1
    assert estimate("工资个税", None).tax is None
