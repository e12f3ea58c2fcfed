"""Chinese numerals as used in legal texts: 第一百三十二条, 第四十一号, 二〇二六年.

Hand-written: the few libraries that convert Chinese numerals (cn2an …) bring dependencies for this
one small, well-defined job.
"""

from __future__ import annotations

CN_NUM = "零〇一二两三四五六七八九十百千"
_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}


def cn_to_int(text: str) -> int:
    """ "一百三十二" → 132, "二十" → 20, "十一" → 11, "105" → 105. Raises ValueError if not a numeral."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _DIGITS and ch not in _UNITS for ch in text):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    if all(ch in _DIGITS for ch in text) and len(text) > 1:  # "二〇二六" digit by digit
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        else:
            total += (current or 1) * _UNITS[ch]
            current = 0
    return total + current
