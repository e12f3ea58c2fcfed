"""Mask taxpayers' identifiers before anything reaches a log line.

Covered: 居民身份证号 (18 characters, last may be X), mobile numbers (1[3-9]xxxxxxxxx, with +86/0086
prefixes and spaces or hyphens), 纳税人识别号 (15, 18 – 统一社会信用代码 – and 20 characters) and bank
card numbers (16–19 digits, often written in groups of four). Masking errs on the side of hiding too
much: any long run of digits is treated as private. Credentials in URLs (``secret=``, ``access_token=``,
``token=``, as WeChat's API and the SMS callback carry them) are blanked as well.

``get_logger`` returns a module logger whose every record is masked, so a forgotten ``mask()`` around
an argument cannot leak a number; ``mask`` is there for strings that leave by other routes.
"""

from __future__ import annotations

import logging
import re

_EDGE_L = r"(?<![0-9A-Za-z])"
_EDGE_R = r"(?![0-9A-Za-z])"
# all-digit shapes end only at another digit: "tel13800138000", "ID110101199003071234" are still numbers
_NUM_L = r"(?<!\d)"
_NUM_R = r"(?!\d)"
_SEP = r"[ \-]?"


def _digits(count: int) -> str:
    """``count`` digits with an optional single space or hyphen between any two of them."""
    return r"\d" + rf"(?:{_SEP}\d)" + "{" + str(count - 1) + "}"


# Order matters: longer and more specific shapes first, each replaced before the next runs.
_TIN_20 = re.compile(_NUM_L + _digits(17) + _SEP + r"[\dXx]" + _SEP + r"\d" + _SEP + r"\d" + _NUM_R)
_ID_CARD = re.compile(_NUM_L + _digits(17) + _SEP + r"[\dXx]" + _NUM_R)
_USCC = re.compile(_EDGE_L + r"[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}" + _EDGE_R)
_BANK_CARD = re.compile(_NUM_L + _digits(16) + r"(?:" + _SEP + r"\d){0,3}" + _NUM_R)
_TIN_15 = re.compile(_EDGE_L + r"\d{6}[0-9A-Z]{8}[\dX]" + _EDGE_R + r"|" + _NUM_L + _digits(15) + _NUM_R)
_LONG_RUN = re.compile(r"\d{21,}")  # longer than any shape above: two numbers written together
_MOBILE = re.compile(
    r"(?:(?P<prefix>"
    + _NUM_L
    + r"(?:\+|00)?86[ \-]?)|"
    + _NUM_L
    + r")"
    + r"(?P<number>1[3-9]\d(?:[ \-]?\d){8})"
    + _NUM_R
)


_SECRET_PARAM = re.compile(r"(?P<name>\b(?:secret|access_token|token)=)[^&\s\"']+")


def _compact(text: str) -> str:
    return re.sub(r"[ \-]", "", text)


def _keep(value: str, head: int, tail: int) -> str:
    value = _compact(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def _mask_mobile(match: re.Match[str]) -> str:
    prefix = match.group("prefix") or ""
    number = _compact(match.group("number"))
    return f"{prefix}{number[:3]}****{number[7:]}"


def mask(text: str) -> str:
    """``text`` with every identifier replaced by a partly starred form (``138****8000``)."""
    if not text:
        return text
    text = _SECRET_PARAM.sub(r"\g<name>***", text)
    text = _TIN_20.sub(lambda m: _keep(m.group(0), 2, 2), text)
    text = _ID_CARD.sub(lambda m: _keep(m.group(0), 2, 2), text)
    text = _USCC.sub(lambda m: _keep(m.group(0), 2, 2), text)
    text = _BANK_CARD.sub(lambda m: _keep(m.group(0), 4, 4), text)
    text = _TIN_15.sub(lambda m: _keep(m.group(0), 2, 2), text)
    text = _LONG_RUN.sub(lambda m: _keep(m.group(0), 2, 2), text)
    return _MOBILE.sub(_mask_mobile, text)


class MaskingFilter(logging.Filter):
    """Rewrites each record to its masked, fully formatted message (traceback included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
            record.exc_info = None
            record.exc_text = None
        record.msg = mask(message)
        record.args = ()
        return True


_FILTER = MaskingFilter()


def get_logger(name: str) -> logging.Logger:
    """The logger ``name`` with the masking filter attached (idempotent)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
