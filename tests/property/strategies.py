"""Text the way taxpayers and platforms send it: Chinese, emoji, mixed scripts, controls, bidi marks."""

from __future__ import annotations

from hypothesis import strategies as st

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
PUNCTUATION = st.sampled_from("，。？！：；、“”‘’（）《》【】…—～·　 \n\t")
EMOJI = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
SPECIAL = st.sampled_from(
    ["\u202e", "\u200b", "\ufeff", "\u3000", "\xa0", "é", "ß", "Ж", "ع", "ह", "\U0001f1e8"]
)

# Chinese prose with emoji and oddities, and nothing that could glue onto a number (no ASCII alnum)
chinese_text = st.text(st.one_of(CJK, PUNCTUATION, EMOJI, SPECIAL), max_size=40)

# Any text a person could type into a chat box: every plane, surrogates excluded (not encodable)
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)


def _xml_char(char: str) -> bool:
    code = ord(char)
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000


# What the WeChat platform can carry in its XML: every character XML 1.0 allows
xml_text = st.text(st.characters(blacklist_categories=("Cs",)).filter(_xml_char), min_size=1, max_size=120)
