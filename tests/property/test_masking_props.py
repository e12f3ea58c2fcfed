"""``channels.masking.mask``: no identifier embedded in Chinese text survives; masking is idempotent."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.masking import mask
from tests.property.strategies import any_text, chinese_text

DIGITS = "0123456789"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _digits(size: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(DIGITS), min_size=size, max_size=size)


id_cards = st.builds(lambda head, last: head + last, _digits(17), st.sampled_from(DIGITS + "Xx"))
mobiles = st.builds(lambda second, rest: "1" + second + rest, st.sampled_from("3456789"), _digits(9))
uscc = st.builds(
    lambda a, b, c: a + b + c,
    st.text(st.sampled_from(USCC_ALPHABET), min_size=2, max_size=2),
    _digits(6),
    st.text(st.sampled_from(USCC_ALPHABET), min_size=10, max_size=10),
)
taxpayer_ids = st.one_of(uscc, _digits(15), _digits(20), id_cards)
identifiers = st.one_of(id_cards, mobiles, taxpayer_ids)
# the all-digit ones (ID cards may end in X): written in groups, glued to words; a 统一社会信用代码 is
# an alphanumeric token of its own
numeric_identifiers = st.one_of(id_cards, mobiles, _digits(15), _digits(20))


def _spaced(value: str, separator: str) -> str:
    """How people write them: in groups of four (ID cards, cards) or 3-4-4 (mobiles)."""
    if not separator:
        return value
    if len(value) == 11:
        return separator.join((value[:3], value[3:7], value[7:]))
    return separator.join(value[i : i + 4] for i in range(0, len(value), 4))


def _leaks(identifier: str, masked: str) -> bool:
    """Whether ``identifier`` can still be read in ``masked`` (separators ignored)."""
    return identifier.upper() in re.sub(r"[ \-]", "", masked).upper()


@given(before=chinese_text, identifier=identifiers, after=chinese_text)
def test_an_identifier_in_chinese_text_never_survives(before: str, identifier: str, after: str):
    masked = mask(f"{before}{identifier}{after}")
    assert not _leaks(identifier, masked), masked


@given(
    before=chinese_text,
    identifier=numeric_identifiers,
    after=chinese_text,
    separator=st.sampled_from([" ", "-"]),
)
def test_an_identifier_written_in_groups_never_survives(
    before: str, identifier: str, after: str, separator: str
):
    masked = mask(f"{before}{_spaced(identifier, separator)}{after}")
    assert not _leaks(identifier, masked), masked


@given(before=chinese_text, first=identifiers, middle=chinese_text, second=identifiers)
def test_two_identifiers_in_one_message_are_both_masked(before: str, first: str, middle: str, second: str):
    masked = mask(f"{before}{first}{middle}，{second}")
    assert not _leaks(first, masked) and not _leaks(second, masked), masked


@given(prefix=st.sampled_from(["+86", "+86 ", "0086", "86-", "86"]), mobile=mobiles, text=chinese_text)
def test_mobiles_with_country_codes_are_masked(prefix: str, mobile: str, text: str):
    masked = mask(f"{text}{prefix}{mobile}{text}")
    assert not _leaks(mobile, masked), masked


@given(any_text)
def test_masking_is_idempotent_on_any_text(text: str):
    once = mask(text)
    assert mask(once) == once


@given(before=chinese_text, identifier=identifiers, after=chinese_text)
def test_masking_is_idempotent_around_identifiers(before: str, identifier: str, after: str):
    once = mask(f"{before}{identifier}{after}")
    assert mask(once) == once


@given(chinese_text)
def test_text_without_digits_is_left_alone(text: str):
    assert mask(text) == text


latin_words = st.text(st.sampled_from("abcxyzIDQQtelWeChat:_"), min_size=1, max_size=6)


@given(before=latin_words, identifier=numeric_identifiers, after=latin_words)
def test_an_identifier_glued_to_latin_letters_never_survives(before: str, identifier: str, after: str):
    masked = mask(f"{before}{identifier}{after}")
    assert not _leaks(identifier, masked), masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [  # regressions: letters next to a number used to hide it from every pattern
        ("tel13800138000号", "tel138****8000号"),
        ("微信abc13800138000", "微信abc138****8000"),
        ("ID110101199003071234", "ID11**************34"),
        ("订单1234567110101199003071234", "订单12*********************34"),
    ],
)
def test_numbers_next_to_letters_or_other_numbers_are_masked(text: str, masked: str):
    assert mask(text) == masked
