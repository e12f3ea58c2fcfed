"""The bot's question parsing (``actions.query``): any string a taxpayer types parses without an error."""

from __future__ import annotations

import math
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from actions.query import amount_from, as_of_from
from tests.property.strategies import any_text

NUMBERISH = st.sampled_from(list("0123456789.万千百wWkK年月日号-/%％零一二两三四五六七八九十去前上度 "))
number_soup = st.text(st.one_of(NUMBERISH, st.characters(blacklist_categories=("Cs",))), max_size=80)


@given(text=st.one_of(any_text, number_soup), today=st.dates(date(1990, 1, 1), date(2100, 1, 1)))
def test_as_of_is_a_past_date_or_none(text: str, today: date):
    found = as_of_from(text, today)
    assert found is None or found < today


@given(st.one_of(any_text, number_soup))
def test_amount_is_a_positive_number_or_none(text: str):
    amount = amount_from(text)
    assert amount is None or (amount > 0 and not math.isnan(amount))


@given(st.integers(1, 10**12))
def test_plain_amounts_are_read_back(value: int):
    assert amount_from(f"月收入{value}元") == value
