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


# Function words and courtesy phrases of 12366 questions: they carry no search signal.
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "吗",
        "呢",
        "吧",
        "啊",
        "和",
        "与",
        "及",
        "或",
        "在",
        "对",
        "为",
        "把",
        "被",
        "就",
        "都",
        "也",
        "还",
        "又",
        "我",
        "我们",
        "你",
        "您",
        "你们",
        "他",
        "她",
        "它",
        "其",
        "该",
        "此",
        "这",
        "那",
        "这个",
        "那个",
        "请问",
        "请",
        "问",
        "你好",
        "您好",
        "谢谢",
        "感谢",
        "一下",
        "一个",
        "什么",
        "怎么",
        "怎么样",
        "如何",
        "哪些",
        "哪个",
        "多少",
        "是否",
        "可以",
        "能否",
        "能",
        "会",
        "要",
        "需要",
        "有",
        "没有",
        "有没有",
        "吗？",
        "呀",
        "哦",
        "嗯",
        "还是",
        "以及",
        "等",
        "等等",
        "如果",
        "因为",
        "所以",
        "但是",
        "但",
        "而",
        "并",
        "并且",
        "则",
        "即",
        "从",
        "向",
        "于",
        "以",
        "按",
        "按照",
        "根据",
        "关于",
        "个",
        "些",
        "上",
        "下",
        "中",
        "后",
        "前",
        "时",
        "时候",
        "里",
        "之",
        "所",
        "得",
        "着",
        "过",
    ]
)


def analyse(text: str, *, dictionary: Path = DICTIONARY_FILE) -> tuple[list[str], str]:
    """One jieba pass giving (search tokens, normalised text for the encoder).

    Search tokens: words with synonyms mapped to canonical terms (个税 → 个人所得税), ASCII lower-cased,
    punctuation and stopwords dropped. Normalised text: the same words joined, punctuation kept.
    """
    from knowledge_base.synonyms import normalize_terms

    words = normalize_terms(_tokenizer(str(dictionary)).lcut(text))
    tokens = [w.lower() for w in words if w.strip() and not _PUNCT.match(w)]
    return [t for t in tokens if t not in STOPWORDS], "".join(words)


def search_tokens(text: str, *, dictionary: Path = DICTIONARY_FILE) -> list[str]:
    """Tokens used by keyword search (see ``analyse``)."""
    return analyse(text, dictionary=dictionary)[0]


def analyzer_fingerprint(dictionary: Path = DICTIONARY_FILE) -> str:
    """Fingerprint of everything that decides search tokens: dictionary, synonym table and stopwords."""
    from knowledge_base.synonyms import SYNONYMS_FILE

    h = hashlib.sha256()
    h.update(dictionary.read_bytes())
    h.update(SYNONYMS_FILE.read_bytes() if SYNONYMS_FILE.exists() else b"")
    h.update(" ".join(sorted(STOPWORDS)).encode())
    return h.hexdigest()[:16]


def normalise_text(text: str, *, dictionary: Path = DICTIONARY_FILE) -> str:
    """``text`` with taxpayers' abbreviations replaced by canonical terms (个税 → 个人所得税)."""
    return analyse(text, dictionary=dictionary)[1]
