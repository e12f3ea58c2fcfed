"""HTML pages through selectolax (lexbor): block elements become paragraphs; scripts and navigation go."""

from __future__ import annotations

import re
from pathlib import Path

from knowledge_base.loaders.readers import Extracted, clean_paragraphs, decode, nonempty

_BLOCKS = "h1, h2, h3, h4, h5, h6, p, li, pre, td"


def read_html(path: Path) -> Extracted:
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(decode(path.read_bytes(), path))
    for node in tree.css("script, style, nav, header, footer, noscript"):
        node.decompose()
    for node in tree.css("br"):  # line breaks inside a block separate paragraphs too
        node.replace_with("\n")
    h1 = tree.css_first("h1")
    head_title = tree.css_first("title")
    title = h1.text(strip=True) if h1 else ""
    if not title and head_title:  # "<title>青岛市税收征收协助条例_青岛人大</title>": drop the site name
        title = re.split(r"\s*(?:_|\||｜| - | — )\s*", head_title.text(strip=True))[0]
    lines: list[str] = []
    for node in tree.css(_BLOCKS):
        if node.css_first(_BLOCKS):  # a container of other blocks: its children are read on their own
            continue
        lines.extend(node.text(deep=True, separator="").splitlines())
    if not lines and tree.body is not None:
        lines = tree.body.text(separator="\n").splitlines()
    return nonempty(path, Extracted(title, clean_paragraphs(lines)))
