"""Chinese tokenisation shared by BM25, the embedding model and (through the same dictionary file) Rasa.

jieba with the project's tax dictionary, in its own ``jieba.Tokenizer`` instance so loading the
dictionary never touches the global one other code may use.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from functools import lru_cache
from pathlib import Path

import jieba

from knowledge_base.dictionary import DICTIONARY_FILE

jieba.setLogLevel(logging.WARNING)

_PUNCT = re.compile(r"^[\s\W_]+$", re.UNICODE)
_lock = threading.Lock()


def dictionary_fingerprint(path: Path = DICTIONARY_FILE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@lru_cache(maxsize=4)
def _tokenizer(path: str) -> jieba.Tokenizer:
    with _lock:
        tk = jieba.Tokenizer()
        tk.load_userdict(path)
        tk.initialize()
        return tk


def cut(text: str, *, dictionary: Path = DICTIONARY_FILE) -> list[str]:
    """jieba words of ``text`` (punctuation and whitespace dropped, ASCII lower-cased)."""
    tk = _tokenizer(str(dictionary))
    return [w.lower() for w in tk.lcut(text) if w.strip() and not _PUNCT.match(w)]
