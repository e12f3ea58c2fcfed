"""The model's vocabulary of Chinese words and the tokenizer that cuts text into them.

Why a stock ``tokenizers`` Unigram model and not a custom jieba module: a Unigram tokenizer whose
pieces are jieba's dictionary words scored ``log(freq / total)`` finds the maximum-probability
segmentation by Viterbi — the same thing jieba's DAG cut computes (jieba adds an HMM for unknown
words; here unknown words fall back to known sub-words and single characters). It serialises to a
plain ``tokenizer.json``, so the model is a stock ``StaticEmbedding`` that ``SentenceTransformer(path)``
loads with no custom class, no ``trust_remote_code`` and no import of this project.

The vocabulary is: the most frequent words of jieba's bundled dictionary (so words never seen in
the content still have a vector: the product must generalise to regulations ingested later), every
term of the project's tax dictionary, the words jieba cuts from the shipped content (with the tax
dictionary, HMM on, so new compounds are kept), and every single character they contain.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jieba
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from index.tokenize import cut

UNK = "[UNK]"
JIEBA_DICT = Path(jieba.__file__).resolve().parent / "dict.txt"
_SKIP = re.compile(r"[\s\W_]", re.UNICODE)  # punctuation and spaces carry no meaning: they map to [UNK]
_NUMBERS = [str(n) for n in range(101)] + [str(y) for y in range(1949, 2051)]


@dataclass(frozen=True)
class Vocabulary:
    words: tuple[str, ...]  # index 0 is [UNK]
    freqs: tuple[float, ...]  # estimated corpus frequency per word (0 for [UNK])
    total: float
    from_content: int  # words added from the shipped content beyond the dictionaries

    def probabilities(self) -> list[float]:
        return [f / self.total for f in self.freqs]


def read_frequencies(path: Path) -> dict[str, int]:
    """``word freq [tag]`` lines (jieba's dictionary format) → {word: freq}; later lines win."""
    freqs: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split()
        if len(parts) >= 2 and parts[1].isdigit():
            freqs[parts[0].lower()] = int(parts[1])
    return freqs


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _usable(word: str) -> bool:
    return bool(word) and not _SKIP.search(word)


def build_tokenizer(words: Iterable[str], freqs: Iterable[float], total: float) -> Tokenizer:
    scores = [math.log(f / total) if f > 0 else 0.0 for f in freqs]
    floor = min(scores) - 10.0
    pieces = [(w, s if w != UNK else floor) for w, s in zip(words, scores, strict=True)]
    tok = Tokenizer(models.Unigram(pieces, unk_id=0, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=False)]
    )
    return tok


def build_vocabulary(texts: Iterable[str], *, size: int, dictionary: Path) -> Vocabulary:
    """The vocabulary for ``texts`` (the content): see the module docstring."""
    base = read_frequencies(JIEBA_DICT)
    tax = read_frequencies(dictionary)
    freq: dict[str, float] = dict(base)
    for word, f in tax.items():
        freq[word] = max(freq.get(word, 0), f)
    ranked = sorted((w for w in base if _usable(w)), key=lambda w: (-base[w], w))[:size]
    chosen: dict[str, float] = {w: float(freq[w]) for w in ranked}
    chosen.update({w: float(freq[w]) for w in sorted(tax) if _usable(w)})

    content_words: dict[str, None] = {}
    chars: dict[str, None] = {}
    for text in texts:
        for word in cut(text, dictionary=dictionary):
            if _usable(word) and word not in chosen:
                content_words[word] = None
        chars.update((c, None) for c in text.lower() if _usable(c))
    for word in [*chosen, *content_words, *_NUMBERS]:
        chars.update((c, None) for c in word if _usable(c))
    for c in sorted(chars):
        chosen.setdefault(c, float(freq.get(c, 1)))
    for n in _NUMBERS:
        chosen.setdefault(n, float(freq.get(n, 1)))

    total = float(sum(base.values()))
    # A content word jieba's dictionary lacks gets the frequency jieba's ``suggest_freq`` would give
    # it: just enough to beat the best split into known pieces, so the tokenizer keeps it whole.
    known = [UNK, *chosen]
    probe = build_tokenizer(known, [0.0, *chosen.values()], total)
    added = 0
    for word in sorted(content_words):
        if word in freq:
            chosen[word] = float(freq[word])
        else:
            split = probe.encode(word, add_special_tokens=False).tokens
            prob = math.prod(chosen.get(p, 1.0) / total for p in split)
            chosen[word] = max(1.0, prob * total + 1.0)
        added += 1
    words = (UNK, *chosen)
    return Vocabulary(words=words, freqs=(0.0, *chosen.values()), total=total, from_content=added)
