"""Pure reading of a taxpayer's question: the date it asks about and the amount it gives."""

from __future__ import annotations

import calendar
import re
from datetime import date

from knowledge_base.numerals import cn_to_int

_FULL_DATE = re.compile(r"(20\d{2}|19\d{2})\s*[年\-/.]\s*(\d{1,2})\s*(?:[月\-/.]\s*(\d{1,2})\s*[日号]?)?")
_YEAR = re.compile(r"(20\d{2}|19\d{2})\s*年")
_RELATIVE_YEARS = {"前年": 2, "去年": 1, "上一年": 1, "上年度": 1}

_UNITS = {"万": 10_000, "w": 10_000, "千": 1_000, "k": 1_000, "百": 100}
# 15000 / 1.5万 / 1万5 / 2w / 3k / 两万 / 十二万 / 一万二
_ARABIC = re.compile(r"(\d+(?:\.\d+)?)\s*([万wW千kK]?)(\d?)(?![\d.])")
_CHINESE = re.compile(r"([零一二两三四五六七八九十百]+)([万千])([一二三四五六七八九]?)")


def as_of_from(text: str, today: date) -> date | None:
    """The date a question asks about, if it names one in the past; None = today's rules.

    "2025年" → the last day of 2025 (the rule in force at the end of that year); "2025年3月" → the last day
    of that month; "2025年3月15日" → that day; "去年" / "前年" → the end of that year. The current year,
    a future date or an impossible one → None.
    """
    found: date | None = None
    full = _FULL_DATE.search(text)
    if full:
        year, month = int(full.group(1)), int(full.group(2))
        if 1 <= month <= 12:
            day_text = full.group(3)
            last = calendar.monthrange(year, month)[1]
            day = int(day_text) if day_text and 1 <= int(day_text) <= last else last
            found = date(year, month, day)
    if found is None:
        year_match = _YEAR.search(text)
        if year_match:
            found = date(int(year_match.group(1)), 12, 31)
    if found is None:
        for word, back in _RELATIVE_YEARS.items():
            if word in text:
                found = date(today.year - back, 12, 31)
                break
    if found is None or found.year >= today.year or found >= today:
        return None
    return found


def amount_from(text: str) -> float | None:
    """The first money amount in ``text`` in yuan (years, percentages and dates are skipped)."""
    cleaned = _FULL_DATE.sub(" ", text)
    cleaned = re.sub(r"\d+(?:\.\d+)?\s*[%％]", " ", cleaned)
    cleaned = re.sub(r"\d+\s*(?:个月|月份|岁|年|号|日|季度|天|次|人|套|个)", " ", cleaned)
    for match in _ARABIC.finditer(cleaned):
        number, unit, tail = float(match.group(1)), match.group(2).lower(), match.group(3)
        scale = _UNITS.get(unit, 1)
        value = number * scale
        if tail and scale > 1:  # 1万5 = 15000, 3千5 = 3500
            value += int(tail) * scale / 10
        if value > 0:
            return value
    chinese = _CHINESE.search(cleaned)
    if chinese:
        scale = _UNITS[chinese.group(2)]
        value = cn_to_int(chinese.group(1)) * scale
        if chinese.group(3):
            value += cn_to_int(chinese.group(3)) * scale / 10
        return float(value) if value > 0 else None
    return None
