"""The SMS segmenter (``channels.render.sms_pages``) and WeChat's byte splitter: within the limits,
nothing lost, nothing reordered."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from channels.config import SmsSettings
from channels.render import sms_pages, split_utf8
from tests.property.strategies import any_text

DEFAULTS = SmsSettings(_env_file=None)  # type: ignore[call-arg]
TAIL = f"…{DEFAULTS.more_info}"
MARKER = re.compile(r"^\((\d+)/(\d+)\)")
long_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=600)


def _normalised(text: str) -> str:
    return re.sub(r"[ \t]*\n[ \t\n]*", "\n", text.strip())


def _squeezed(text: str) -> str:
    return re.sub(r"\s", "", text)


@given(text=st.one_of(any_text, long_text), max_segments=st.integers(1, 10))
def test_segments_fit_and_keep_everything_in_order(text: str, max_segments: int):
    single, part = DEFAULTS.segment_chars, DEFAULTS.concat_segment_chars
    segments, rest = sms_pages(text, single, part, max_segments, TAIL)
    whole = _normalised(text)
    if len(segments) == 1 and not MARKER.match(segments[0]):
        assert segments == [whole] and rest == "" and len(whole) <= single
        return
    assert 1 <= len(segments) <= max_segments
    assert all(len(segment) <= part for segment in segments)
    markers = [MARKER.match(segment) for segment in segments]
    assert [(int(m.group(1)), int(m.group(2))) for m in markers if m] == [
        (number, len(segments)) for number in range(1, len(segments) + 1)
    ]
    sent = "".join(segment[m.end() :] for segment, m in zip(segments, markers, strict=True) if m)
    if rest or (sent.endswith(TAIL) and len(whole) > len(sent)):
        sent = sent.removesuffix(TAIL)
        assert whole.startswith(sent.rstrip())
    else:
        assert sent == whole
    assert _squeezed(sent) + _squeezed(rest) == _squeezed(whole)


@given(text=long_text, limit=st.integers(4, 200))
def test_wechat_pieces_fit_in_bytes_and_keep_the_text(text: str, limit: int):
    pieces = split_utf8(text, limit)
    assert all(0 < len(piece.encode()) <= limit for piece in pieces)
    assert _squeezed("".join(pieces)) == _squeezed(text)
