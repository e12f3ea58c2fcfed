"""Identifiers are masked in every form taxpayers write them."""

from __future__ import annotations

import logging

import pytest

from channels.masking import get_logger, mask


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("手机13800138000", "手机138****8000"),
        ("+86 138 0013 8000", "+86 138****8000"),
        ("+86-138-0013-8000", "+86-138****8000"),
        ("电话：8613912345678。", "电话：86139****5678。"),
        ("身份证110101199003071234", "身份证11**************34"),
        ("11010119900307123X号", "11**************3X号"),
        ("110101 19900307 123x", "11**************3x"),
        ("1101 0119 9003 0712 34", "11**************34"),
        ("税号91110108MA01ABCD2X。", "税号91**************2X。"),
        ("税号110101199003071234 56", "税号11****************56"),
        ("旧税号110101123456789", "旧税号11***********89"),
        ("卡号6222 0212 3456 7890 123", "卡号6222***********0123"),
        ("卡号6222021234567890", "卡号6222********7890"),
        ("13800138000 110101199003071234", "138****8000 11**************34"),
        (
            "GET /cgi-bin/token?appid=wx1&secret=s3cr3t HTTP/1.1",
            "GET /cgi-bin/token?appid=wx1&secret=*** HTTP/1.1",
        ),
        ("POST /send?access_token=ACCESS_TOKEN_1", "POST /send?access_token=***"),
    ],
)
def test_identifiers_are_masked(text: str, masked: str):
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text", ["2026年收入120000元", "日期20261203", "电话010-12345678", "热线12366", "征收率3%，限额100000"]
)
def test_ordinary_numbers_are_left_alone(text: str):
    assert mask(text) == text


def test_logger_masks_arguments_and_tracebacks(caplog):
    logger = get_logger("channels.test")
    caplog.set_level(logging.INFO, logger="channels.test")
    logger.info("from %s: %s", "13800138000", "身份证110101199003071234")
    try:
        raise ValueError("bad card 6222021234567890")
    except ValueError:
        logger.exception("failed for %s", "13912345678")
    text = caplog.text
    assert "13800138000" not in text and "110101199003071234" not in text
    assert "6222021234567890" not in text and "13912345678" not in text
    assert "138****8000" in text and "ValueError" in text
