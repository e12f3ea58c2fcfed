"""The shipped knowledge base (knowledge_base/content/) checked against the real regulation texts.

Ground truth is ``../shared/corpus`` (real texts with YAML front matter, same document ids). For every
content document whose id exists in the corpus:

(a) metadata — title, doc_number, doc_type, region, published, effective and status equal the corpus
    front matter;
(b) article labels — every label used in a digest (``articles[].label``) or in an FAQ citation exists in
    the real document; a digest's ``chapter`` (when given) is the chapter the real article sits in;
(c) digests are about their article — a rewording-robust similarity (TF-IDF cosine over character
    bigrams + jieba words) between the digest and the real article must rank the real article among the
    top ``TOP_K`` units of that document and reach ``MIN_SIMILARITY``;
(d) no copying — no digest and no FAQ answer shares a run of ``COPY_RUN`` or more consecutive characters
    (whitespace and punctuation ignored) with any corpus text, apart from the documented exemptions.

And for the FAQ answers: an article an answer names in its text ("《增值税法》第十条") exists, and an answer
citing only corpus articles is about at least one of them (same similarity test as the digests).

How labels map onto the real text (``Unit`` tree built by ``_parse_body``):

* ``第X条`` — the paragraph starting with ``第X条`` plus its continuation paragraphs, when the real text
  has such articles (laws, regulations, announcements published clause by clause, and the measures
  (办法) attached to an announcement — the project cites the measure's articles there). Otherwise the
  document is an announcement numbered ``一、二、三、…``: the project labels its X-th item ``第X条``, so
  ``第X条`` is the item headed ``X、`` (first contiguous run 一、二、… of the body; item numbering
  restarting later, e.g. inside an attachment, is ignored).
* ``第X条第（Y）项`` — inside that unit, the paragraph starting ``（Y）`` up to the next ``（…）`` sibling.
* ``第X条第（Y）项第Z点`` — inside that, the paragraph starting ``Z.`` (or ``Z．``/``Z、``) up to ``Z+1``.
* ``税率表一``/``税率表二`` — the paragraph naming that rate table (个人所得税法 prints only the table
  titles and notes) plus its notes.
* ``施行日期`` — the unnumbered closing paragraph of an announcement (``本公告自…起施行``), which is no
  part of the last numbered item (it has no number, so it cannot be labelled ``第X条``).

Any other label shape fails the test as "label scheme not understood" rather than being skipped.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jieba
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTENT_DIR = REPO_ROOT / "knowledge_base" / "content"
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus"

META_FIELDS = ("title", "doc_number", "doc_type", "region", "published", "effective", "status")
TOP_K = 3  # the real article must be among the 3 units of its document most similar to the digest
MIN_SIMILARITY = 0.12  # ... and at least this similar (TF-IDF cosine, 0..1)
COPY_RUN = 40  # characters (whitespace/punctuation ignored) that may not be shared with the source

CN_DIGITS = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
CN_NUM = "零〇一二三四五六七八九十百"


def cn_int(text: str) -> int:
    """一 → 1, 十二 → 12, 二十 → 20, 一百零五 → 105."""
    total, current = 0, 0
    for ch in text:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = CN_DIGITS[ch]
    return total + current


# --------------------------------------------------------------------------------------------- corpus


@dataclass
class Unit:
    """A piece of the real text that a label can name: an article/item, a （Y） sub-item or a Z. point."""

    key: tuple  # ("art", 3) / ("art", 3, 1) / ("art", 3, 1, 6) / ("table", 1)
    paragraphs: list[str] = field(default_factory=list)
    chapter: str = ""

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass
class CorpusDoc:
    id: str
    path: Path
    meta: dict[str, Any]
    body: str
    units: dict[tuple, Unit]
    scheme: str  # "articles" (第X条 paragraphs) or "items" (一、二、…)


ART_RE = re.compile(rf"^第([{CN_NUM}]+)条(?:[\s\u3000]|$)")
ITEM_RE = re.compile(r"^([一二三四五六七八九十]+)、")
SUB_RE = re.compile(r"^（([一二三四五六七八九十]+)）")
POINT_RE = re.compile(r"^(\d+)[.．、](?!\d)")
TABLE_RE = re.compile(r"^(?:个人所得税)?税率表([一二三四五])")
CHAPTER_RE = re.compile(r"^##\s*(第[一二三四五六七八九十]+章)\s*(.*)$")
CLOSING_RE = re.compile(r"^本(?:公告|决定|通知)自.{0,40}?(?:施行|执行)")
END_RE = re.compile(r"^(特此公告|特此通知|附件[:：]|##\s)")


def _split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    if not text.startswith("---"):
        pytest.fail(f"{path}: corpus file without YAML front matter")
    _, front, body = text.split("---", 2)
    return yaml.safe_load(front), body


def _children(parent: Unit, pattern: re.Pattern[str]) -> list[tuple[int, Unit]]:
    """Split ``parent``'s paragraphs at consecutive numbers 1, 2, 3… of ``pattern`` (（一）… or 1. …)."""
    out: list[tuple[int, Unit]] = []
    expected = 1
    for para in parent.paragraphs:
        m = pattern.match(para)
        number = None
        if m:
            number = int(m.group(1)) if m.group(1).isdigit() else cn_int(m.group(1))
        if number == expected:
            out.append((number, Unit((*parent.key, number), [para], parent.chapter)))
            expected += 1
        elif out:
            out[-1][1].paragraphs.append(para)
    return out


def _parse_body(body: str) -> tuple[dict[tuple, Unit], str]:
    paragraphs = [p.strip() for p in body.splitlines() if p.strip()]
    has_articles = any(ART_RE.match(p) for p in paragraphs)
    scheme = "articles" if has_articles else "items"
    units: dict[tuple, Unit] = {}
    current: Unit | None = None
    chapter = ""
    next_item = 1
    for para in paragraphs:
        if m := CHAPTER_RE.match(para):
            chapter = f"{m.group(1)} {m.group(2)}".strip()
        if m := TABLE_RE.match(para):
            current = units.setdefault(("table", cn_int(m.group(1))), Unit(("table", cn_int(m.group(1)))))
            current.paragraphs.append(para)
            continue
        if has_articles and (m := ART_RE.match(para)):
            key = ("art", cn_int(m.group(1)))
            # a repeated number would be a second text (e.g. a quoted amendment); the first one wins
            current = units.setdefault(key, Unit(key, chapter=chapter)) if key not in units else None
            if current is not None:
                current.paragraphs.append(para)
            continue
        # an item may be a Markdown heading ("## 一、北京市各区耕地占用税的适用税额")
        item = ITEM_RE.match(re.sub(r"^#+\s*", "", para))
        if not has_articles and item and cn_int(item.group(1)) == next_item:
            key = ("art", next_item)
            current = units[key] = Unit(key, [re.sub(r"^#+\s*", "", para)])
            next_item += 1
            continue
        if not has_articles and CLOSING_RE.match(para):
            # the unnumbered closing paragraph ("本公告自…起施行") is no part of the last item
            current = units.setdefault(("closing",), Unit(("closing",)))
            current.paragraphs.append(para)
            continue
        if END_RE.match(para) or para.startswith("#"):
            current = None
            continue
        if current is not None:
            current.paragraphs.append(para)
    for unit in list(units.values()):
        if unit.key[0] != "art":
            continue
        for _, sub in _children(unit, SUB_RE):
            units[sub.key] = sub
            for _, point in _children(sub, POINT_RE):
                units[point.key] = point
    return units, scheme


@cache
def corpus() -> dict[str, CorpusDoc]:
    if not CORPUS_DIR.is_dir():
        pytest.fail(
            f"the shared corpus is missing: expected real regulation texts at {CORPUS_DIR} "
            "(../shared/corpus next to the repository); this test checks the shipped content against it"
        )
    docs: dict[str, CorpusDoc] = {}
    for path in sorted(CORPUS_DIR.rglob("*.md")):
        if path.name == "README.md":
            continue
        meta, body = _split_front_matter(path.read_text(encoding="utf-8"), path)
        units, scheme = _parse_body(body)
        docs[str(meta["id"])] = CorpusDoc(str(meta["id"]), path, meta, body, units, scheme)
    if not docs:
        pytest.fail(f"no corpus documents found under {CORPUS_DIR}")
    return docs


LABEL_RE = re.compile(rf"^第([{CN_NUM}]+)条(?:第（([一二三四五六七八九十]+)）项(?:第(\d+)点)?)?$")
CLOSING_LABEL = "施行日期"  # the unnumbered closing paragraph of an announcement ("本公告自…起施行")
TABLE_LABEL_RE = re.compile(r"^(?:个人所得税)?税率表([一二三四五])$")


def label_key(label: str) -> tuple | None:
    if label == CLOSING_LABEL:
        return ("closing",)
    if m := LABEL_RE.match(label):
        key: tuple = ("art", cn_int(m.group(1)))
        if m.group(2):
            key += (cn_int(m.group(2)),)
        if m.group(3):
            key += (int(m.group(3)),)
        return key
    if m := TABLE_LABEL_RE.match(label):
        return ("table", cn_int(m.group(1)))
    return None


# -------------------------------------------------------------------------------------------- content


@dataclass
class Digest:
    doc_id: str
    label: str
    text: str
    chapter: str
    where: str


@dataclass
class ContentDoc:
    id: str
    raw: dict[str, Any]
    where: str


@dataclass
class Faq:
    id: str
    answer: str
    citations: list[tuple[str, str]]
    where: str


@cache
def content() -> tuple[list[ContentDoc], list[Digest], list[Faq]]:
    """Every document entry (each file separately — same-id entries in two files are both checked)."""
    docs: list[ContentDoc] = []
    digests: list[Digest] = []
    faqs: list[Faq] = []

    def add_docs(items: Iterable[Any], where: str) -> None:
        for raw in items or []:
            docs.append(ContentDoc(str(raw["id"]), raw, where))
            for art in raw.get("articles") or []:
                digests.append(
                    Digest(str(raw["id"]), str(art["label"]).strip(), " ".join(str(art["text"]).split()),
                           str(art.get("chapter") or "").strip(), where)
                )  # fmt: skip

    def add_faqs(items: Iterable[Any], where: str) -> None:
        for raw in items or []:
            cites = [(str(c["doc"]), str(c.get("article") or "").strip()) for c in raw.get("citations") or []]
            faqs.append(Faq(str(raw["id"]), " ".join(str(raw.get("answer") or "").split()), cites, where))

    for path in sorted((CONTENT_DIR / "documents").glob("*.yml")):
        add_docs(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    for path in sorted((CONTENT_DIR / "faq").glob("*.yml")):
        add_faqs(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    for path in sorted((CONTENT_DIR / "local").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        add_docs(data.get("documents"), f"local/{path.name}")
        add_faqs(data.get("faq"), f"local/{path.name}")
    assert docs and faqs, f"no content found under {CONTENT_DIR}"
    return docs, digests, faqs


def _fail(problems: list[str], what: str) -> None:
    if problems:
        pytest.fail(f"{len(problems)} {what}:\n" + "\n".join(problems), pytrace=False)


# ------------------------------------------------------------------------------------ (a) metadata


def test_corpus_documents_are_in_the_content() -> None:
    """Sanity: the comparison below is not vacuous."""
    shared = {d.id for d in content()[0]} & set(corpus())
    assert len(shared) >= 50, f"only {len(shared)} content documents exist in the corpus"


def test_metadata_matches_corpus() -> None:
    problems = []
    for doc in content()[0]:
        real = corpus().get(doc.id)
        if real is None:
            continue
        for name in META_FIELDS:
            mine, theirs = str(doc.raw.get(name) or "").strip(), str(real.meta.get(name) or "").strip()
            if mine != theirs:
                problems.append(f"{doc.where} {doc.id}: {name}={mine!r}, corpus says {theirs!r}")
    _fail(problems, "metadata fields differ from the corpus front matter")


# -------------------------------------------------------------------------------------- (b) labels


def _normalise_chapter(text: str) -> str:
    return re.sub(r"\s+", "", text)


def chapter_problem(chapter: str, real: CorpusDoc, key: tuple) -> str | None:
    """A digest's ``chapter`` must be the real one: ``第X章 …`` the chapter heading above the article,
    ``X、…`` the heading of the announcement item. Other free text (附表, 所附《…办法》) is not checked."""
    if re.match(r"^第[一二三四五六七八九十]+章", chapter):
        actual = real.units[key].chapter
    elif ITEM_RE.match(chapter) and real.scheme == "items" and key[0] == "art":
        actual = real.units[key[:2]].paragraphs[0][: len(chapter) + 2]
        if _normalise_chapter(actual).startswith(_normalise_chapter(chapter)):
            return None
    else:
        return None
    if _normalise_chapter(chapter) != _normalise_chapter(actual):
        return f"chapter {chapter!r}, real text has {actual!r}"
    return None


def test_article_labels_exist_in_corpus() -> None:
    _, digests, faqs = content()
    problems = []
    for d in digests:
        real = corpus().get(d.doc_id)
        if real is None:
            continue
        key = label_key(d.label)
        if key is None:
            problems.append(f"{d.where} {d.doc_id} {d.label!r}: label scheme not understood")
        elif key not in real.units:
            problems.append(f"{d.where} {d.doc_id} {d.label!r}: no such article in {real.path.name}")
        elif d.chapter and (problem := chapter_problem(d.chapter, real, key)):
            problems.append(f"{d.where} {d.doc_id} {d.label}: {problem}")
    for faq in faqs:
        for doc_id, label in faq.citations:
            real = corpus().get(doc_id)
            if real is None or not label:
                continue
            key = label_key(label)
            if key is None or key not in real.units:
                problems.append(f"{faq.where} {faq.id} cites {doc_id} {label!r}: not in {real.path.name}")
    _fail(problems, "article labels do not exist in the real documents")


ART = rf"第[{CN_NUM}]+条(?:第（[一二三四五六七八九十]+）项)?(?:第\d+点)?"
# 《title》 or a 文号, optionally followed by （…）, then one or more article labels
# (第三条、第六条 / 第十七条至第十九条)
_NAME = r"《[^》]+》|[^，。；、（）《》]*?公告\d{4}年第\d+号"
REF_RE = re.compile(rf"({_NAME})(?:（[^）]*）)?((?:{ART})(?:(?:[、和及至]|以及)(?:{ART}))*)")


def _refers_to(name: str) -> list[str]:
    """Corpus documents a 《title》 or 文号 in an answer names (both versions when a title has two).

    A measure published by an announcement (《个人所得税扣缴申报管理办法（试行）》) names that announcement,
    whose 第X条 are the measure's articles."""
    name = name.strip("《》").replace("〈", "《").replace("〉", "》")
    out = []
    for doc in corpus().values():
        title, number = str(doc.meta["title"]), str(doc.meta.get("doc_number") or "")
        if (
            name in (title, title.removeprefix("中华人民共和国"))
            or f"《{name}》" in title
            or (number and name.replace(" ", "").endswith(number.replace(" ", "")))
        ):
            out.append(doc.id)
    return out


def test_articles_named_in_answers_exist() -> None:
    """An answer naming an article of a corpus document ("《…》第三十八条", "…公告2026年第10号第三条")
    names one that exists (labels map as above; of two versions of a title, one must have it)."""
    problems = []
    for faq in content()[2]:
        for m in REF_RE.finditer(faq.answer):
            ids = _refers_to(m.group(1))
            if not ids:
                continue
            for label in re.findall(ART, m.group(2)):
                if not any(label_key(label) in corpus()[i].units for i in ids):
                    problems.append(f"{faq.where} {faq.id}: {m.group(0)!r} — no {label} in {ids}")
    _fail(problems, "answers name articles that do not exist")


# ---------------------------------------------------------------------------------- (c) similarity

PUNCT_RE = re.compile(r"[^\w]|_", re.UNICODE)
jieba.setLogLevel(60)


def _normalise(text: str) -> str:
    return PUNCT_RE.sub("", text)


PERCENT_RE = re.compile(rf"百分之([{CN_NUM}]+)(?:点([{CN_NUM}]+))?")


def _arabic_percent(m: re.Match[str]) -> str:
    decimals = "".join(str(CN_DIGITS[ch]) for ch in m.group(2)) if m.group(2) else ""
    return f"{cn_int(m.group(1))}{'.' + decimals if decimals else ''}%"


def features(text: str) -> Counter[str]:
    """Character bigrams of the text without punctuation, plus jieba words of two or more characters.

    Laws write rates in words (百分之十三), digests in figures (13%): rates are compared as figures."""
    text = PERCENT_RE.sub(_arabic_percent, text)
    flat = _normalise(text)
    feats = Counter(flat[i : i + 2] for i in range(len(flat) - 1))
    feats.update("w:" + w for w in jieba.cut(text) if len(_normalise(w)) >= 2)
    return feats


class Vectoriser:
    def __init__(self, texts: Iterable[str]):
        self.docs = [features(t) for t in texts]
        df = Counter(f for feats in self.docs for f in feats)
        n = len(self.docs)
        self.idf = {f: math.log((n + 1) / (c + 1)) + 1 for f, c in df.items()}
        self.default_idf = math.log(n + 1) + 1

    def vector(self, feats: Counter[str]) -> dict[str, float]:
        vec = {f: (1 + math.log(c)) * self.idf.get(f, self.default_idf) for f, c in feats.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {f: v / norm for f, v in vec.items()}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(f, 0.0) for f, v in a.items())


@cache
def _doc_vectors(doc_id: str) -> tuple[Vectoriser, dict[tuple, dict[str, float]]]:
    real = corpus()[doc_id]
    keys = list(real.units)
    vec = Vectoriser(real.units[k].text for k in keys)
    return vec, {k: vec.vector(f) for k, f in zip(keys, vec.docs, strict=True)}


def _related(a: tuple, b: tuple) -> bool:
    """One unit contains the other (an article and its sub-items share text, so they do not compete)."""
    return a[: len(b)] == b or b[: len(a)] == a


def rank_of_real_article(doc_id: str, key: tuple, text: str) -> tuple[int, float, list[tuple[float, tuple]]]:
    """(rank of the real unit among the document's units, its similarity, the best competitors)."""
    vec, vectors = _doc_vectors(doc_id)
    digest = vec.vector(features(text))
    target = cosine(digest, vectors[key])
    others = sorted(
        ((cosine(digest, v), k) for k, v in vectors.items() if not _related(k, key)), reverse=True
    )
    rank = 1 + sum(1 for score, _ in others if score > target)
    return rank, target, others[:3]


def cn_numeral(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    if rest == 0:
        return digits[hundreds] + "百"
    tail = "零" + digits[rest] if rest < 10 else ("一" if rest < 20 else "") + cn_numeral(rest)
    return digits[hundreds] + "百" + tail


def _label(key: tuple) -> str:
    if key[0] == "closing":
        return CLOSING_LABEL
    if key[0] == "table":
        return f"税率表{cn_numeral(key[1])}"
    out = f"第{cn_numeral(key[1])}条"
    if len(key) > 2:
        out += f"第（{cn_numeral(key[2])}）项"
    if len(key) > 3:
        out += f"第{key[3]}点"
    return out


def test_digests_are_about_their_article() -> None:
    problems = []
    for d in content()[1]:
        real = corpus().get(d.doc_id)
        key = label_key(d.label)
        if real is None or key is None or key not in real.units:
            continue  # reported by test_article_labels_exist_in_corpus
        rank, score, best = rank_of_real_article(d.doc_id, key, d.text)
        if rank > TOP_K or score < MIN_SIMILARITY:
            better = ", ".join(f"{_label(k)} {s:.2f}" for s, k in best)
            problems.append(
                f"{d.where} {d.doc_id} {d.label}: similarity {score:.2f}, rank {rank} (best others: {better})"
                f"\n    digest: {d.text[:90]}"
            )
    _fail(problems, "digests do not match the article they are labelled with")


def test_answers_are_about_an_article_they_cite() -> None:
    """An answer whose citations are all corpus articles must be about at least one of them (same similarity
    test as the digests). Answers that also cite a document missing from the corpus are skipped: their main
    source may be that document."""
    problems = []
    for faq in content()[2]:
        keys = [(doc_id, label, label_key(label)) for doc_id, label in faq.citations]
        if not keys or any(doc_id not in corpus() or key is None for doc_id, _, key in keys):
            continue
        if any(key not in corpus()[doc_id].units for doc_id, _, key in keys):
            continue  # reported by test_article_labels_exist_in_corpus
        ranks = [(rank_of_real_article(d, key, faq.answer)[:2], d, label) for d, label, key in keys]
        rank, score = min(ranks)[0]
        if rank > TOP_K or score < MIN_SIMILARITY:
            cited = ", ".join(f"{d} {lab} rank {r} ({s:.2f})" for (r, s), d, lab in ranks)
            problems.append(f"{faq.where} {faq.id}: no cited article matches the answer: {cited}")
    _fail(problems, "answers do not match any article they cite")


# ------------------------------------------------------------------------------------- (d) copying

# Exemptions (a shared run is not counted as copying when):
# 1. it lies inside 《…》 — names of laws, announcements and forms must be quoted exactly; a title in
#    《》 is treated as a break, so text on both sides of it cannot join into one run;
# 2. it is an enumeration of names: split at 、 and ； the span has >= 4 short items (<= LIST_ITEM_MAX
#    characters) that make up at least LIST_SHARE of it (e.g. 配偶、父母、子女、祖父母、… or the taxes of
#    六税两费) — ordinary sentences are not exempt however short their clauses;
# 3. it is a row of figures: at least half of its characters are digits (tax-rate-table brackets).
# Nothing else is exempt; the failure message shows every run with its corpus source.
LIST_ITEM_MAX = 8
LIST_SHARE = 0.6
TITLE_RE = re.compile(r"《[^》]*》")
LIST_SPLIT_RE = re.compile(r"[、；;]")


def _flat_with_positions(text: str) -> tuple[str, list[int]]:
    """The text without whitespace/punctuation and, per kept character, its index in ``text``.

    Titles in 《》 become a NUL break character (exemption 1)."""
    masked = TITLE_RE.sub(lambda m: "\0" * len(m.group()), text)
    chars, positions = [], []
    for i, ch in enumerate(masked):
        if ch == "\0":
            if chars and chars[-1] != "\0":
                chars.append("\0")
                positions.append(i)
        elif not PUNCT_RE.match(ch):
            chars.append(ch)
            positions.append(i)
    return "".join(chars), positions


@cache
def corpus_shingles() -> dict[str, str]:
    """Every COPY_RUN-character window of the corpus texts (front matter excluded) → a document id."""
    out: dict[str, str] = {}
    for doc in corpus().values():
        flat = _normalise(doc.body)
        for i in range(len(flat) - COPY_RUN + 1):
            out.setdefault(flat[i : i + COPY_RUN], doc.id)
    return out


def copied_runs(text: str) -> Iterator[tuple[str, str]]:
    """(span of ``text``, corpus doc id) for each maximal shared run not covered by an exemption."""
    flat, positions = _flat_with_positions(text)
    shingles = corpus_shingles()
    runs: list[list[int]] = []  # [start, end) in flat
    source: dict[int, str] = {}
    for i in range(len(flat) - COPY_RUN + 1):
        window = flat[i : i + COPY_RUN]
        if "\0" in window or window not in shingles:
            continue
        if runs and i <= runs[-1][1]:
            runs[-1][1] = i + COPY_RUN
        else:
            runs.append([i, i + COPY_RUN])
            source[len(runs) - 1] = shingles[window]
    for n, (start, end) in enumerate(runs):
        span = text[positions[start] : positions[end - 1] + 1]
        run = flat[start:end]
        items = [p for p in (_normalise(x) for x in LIST_SPLIT_RE.split(span)) if 0 < len(p) <= LIST_ITEM_MAX]
        if len(items) >= 4 and sum(map(len, items)) >= LIST_SHARE * len(run):
            continue  # exemption 2
        if sum(ch.isdigit() for ch in run) * 2 >= len(run):
            continue  # exemption 3
        yield span, source[n]


def test_no_digest_or_answer_copies_the_source() -> None:
    _, digests, faqs = content()
    problems = []
    texts = [(f"{d.where} {d.doc_id} {d.label} digest", d.text) for d in digests]
    texts += [(f"{f.where} {f.id} answer", f.answer) for f in faqs]
    for where, text in texts:
        for span, doc_id in copied_runs(text):
            problems.append(f"{where}: {len(_normalise(span))} chars shared with {doc_id}: {span}")
    _fail(problems, f"texts share a run of >= {COPY_RUN} characters with the corpus (rewrite in own words)")


# ----------------------------------------------------------------------------- self-checks of the tools


def test_label_mapping_on_known_articles() -> None:
    """The corpus parser finds what the labels mean (guards against a test that passes vacuously)."""
    vat = corpus()["law-vat-2024"]
    assert vat.scheme == "articles"
    assert vat.units[("art", 10)].text.startswith("第十条")
    assert "百分之十三" in vat.units[("art", 10)].text
    assert vat.units[("art", 10)].chapter.replace(" ", "") == "第二章税率"
    item = corpus()["sta-2026-4"]
    assert item.scheme == "items"
    assert item.units[("art", 2)].text.startswith("二、")
    assert item.units[("art", 2, 2)].text.startswith("（二）自然人出租不动产")
    point = corpus()["mof-sta-2026-10"].units[("art", 2, 1, 3)]
    assert point.text.startswith("3.医疗机构提供的医疗服务")
    assert ("table", 1) in corpus()["law-pit-2018"].units
    assert label_key("第二条第（一）项第3点") == ("art", 2, 1, 3)
    assert label_key("第一百二十一条") == ("art", 121)
    assert label_key("附则") is None
    assert _label(("art", 121, 2, 3)) == "第一百二十一条第（二）项第3点"
    assert _refers_to("《中华人民共和国增值税法》") == ["law-vat-2024"]
    both = {"reg-cit-impl-2019", "reg-cit-impl-2024"}
    assert set(_refers_to("《中华人民共和国企业所得税法实施条例》")) == both
    assert _refers_to("根据财政部 税务总局公告2026年第10号") == ["mof-sta-2026-10"]
    assert _refers_to("《个人所得税扣缴申报管理办法（试行）》") == ["sta-2018-61"]
    answer = "依照《中华人民共和国增值税法》第十条、第十二条至第十三条规定"
    refs = [m.group(2) for m in REF_RE.finditer(answer)]
    assert refs == ["第十条、第十二条至第十三条"]


def test_similarity_and_copy_checks_detect_what_they_should() -> None:
    real = corpus()["law-vat-2024"].units[("art", 10)].text
    # an own-words digest of 第十条 ranks it first; the same digest under 第三条 would not
    digest = (
        "增值税税率分三档：卖货物、加工修理修配、有形动产租赁和进口货物一般按13%；交通运输、邮政、基础电信、建筑、"
        "不动产租赁、卖不动产、转让土地使用权以及农产品、自来水、图书等货物按9%；其他服务和无形资产按6%。"
    )
    assert rank_of_real_article("law-vat-2024", ("art", 10), digest)[0] == 1
    assert rank_of_real_article("law-vat-2024", ("art", 3), digest)[0] > TOP_K
    # a verbatim sentence is caught, a title in 《》 and a list of names are not
    assert list(copied_runs("按规定：" + real[:80]))
    title = (
        "《国家税务总局 人力资源社会保障部 农业农村部 教育部 退役军人事务部关于重点群体"
        "和自主就业退役士兵创业就业税收政策有关执行问题的公告》"
    )
    assert not list(copied_runs(title))
    family = "财产分割包括离婚分割；无偿赠与配偶、父母、子女、祖父母、外祖父母、孙子女、外孙子女、兄弟姐妹；"
    assert not list(copied_runs(family))
    # short clauses separated by commas are a sentence, not a list: still caught
    sentence = "根据规定，" + corpus()["reg-invoice-2023"].units[("art", 3)].paragraphs[1]
    assert list(copied_runs(sentence))
