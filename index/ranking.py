"""Ranking priors: which documents a question names (文号, title) and which tax it is about.

Most 12366 questions are answered from the basic law of a tax or its implementing regulation, while
keyword search ranks narrow announcements first; the tax type × document hierarchy prior corrects that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from knowledge_base.models import DocType, Document
from knowledge_base.numerals import cn_to_int

# weight of a document's rank in the legal hierarchy (法律 > 行政法规 > 部门规章 > 规范性文件)
HIERARCHY: dict[str, float] = {
    DocType.LAW: 1.0,
    DocType.ADMIN_REGULATION: 0.8,
    DocType.DEPARTMENT_RULE: 0.55,
    DocType.LOCAL_REGULATION: 0.45,
    DocType.LOCAL_RULE: 0.4,
    DocType.NORMATIVE: 0.3,
    DocType.JUDICIAL: 0.2,
    DocType.OTHER: 0.1,
}

# words that point at a tax (or area) without naming it; the tax names themselves are always used
TAX_HINTS: dict[str, tuple[str, ...]] = {
    "增值税": (
        "进项",
        "销项",
        "抵扣",
        "留抵",
        "小规模纳税人",
        "一般纳税人",
        "征收率",
        "简易计税",
        "免征增值税",
    ),
    "个人所得税": ("工资薪金", "专项附加扣除", "综合所得", "劳务报酬", "稿酬", "年终奖", "汇算清缴", "个人"),
    "企业所得税": (
        "应纳税所得额",
        "税前扣除",
        "小型微利企业",
        "研发费用加计扣除",
        "高新技术企业",
        "亏损弥补",
    ),
    "发票": ("开票", "专用发票", "普通发票", "电子发票", "红字", "冲红", "全面数字化的电子发票", "代开"),
    "印花税": ("合同", "产权转移书据", "营业账簿", "贴花"),
    "征收管理": (
        "滞纳金",
        "罚款",
        "税务登记",
        "纳税申报",
        "更正申报",
        "补缴",
        "补税",
        "退税",
        "追征",
        "行政复议",
        "纳税信用",
        "核定",
        "税务机关",
    ),
    "出口退税": ("出口", "退(免)税", "离境退税"),
    "消费税": ("卷烟", "成品油", "化妆品", "小汽车"),
    "社会保险费": ("养老保险", "医疗保险", "社会保险", "医保"),
    "环境保护税": ("排污", "污染物"),
    "车辆购置税": ("购车", "新能源汽车"),
    "房产税": ("房产原值", "出租房屋"),
}

CROSS_CUTTING = ("征收管理", "发票")

_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千]+")


def normalise_doc_number(text: str) -> str:
    """Comparable form of a 文号: no spaces, 〔〕/[]/() unified, 国令 → 国务院令, Chinese numbers → digits."""
    s = re.sub(r"\s+", "", text or "").replace("中华人民共和国", "")
    for a in "〔[［(（【":
        s = s.replace(a, "[")
    for a in "〕]］)）】":
        s = s.replace(a, "]")
    s = s.replace("国令", "国务院令").replace("國", "国")
    s = _CN_NUMBER.sub(lambda m: str(cn_to_int(m.group())), s)
    return s.replace("第", "")


def normalise_title(text: str) -> str:
    s = re.sub(r"[\s《》〈〉<>]+", "", text or "")
    s = s.replace("（", "(").replace("）", ")")
    return s.removeprefix("中华人民共和国")


_ORDER_REF = re.compile(r"(?:第)?(\d+)号令")


@dataclass(frozen=True)
class DocumentKeys:
    """What a question may quote to name one document."""

    doc_id: str
    numbers: tuple[str, ...]
    title: str
    order_number: str  # "57" for "国家税务总局令第57号" (asked as "57号令"), else ""


def document_keys(doc: Document) -> DocumentKeys:
    numbers = tuple(
        n for n in (normalise_doc_number(x) for x in (doc.doc_number, *doc.doc_number_aliases)) if n
    )
    order = ""
    for n in numbers:
        m = re.search(r"令(\d+)号$", n)
        if m:
            order = m.group(1)
            break
    return DocumentKeys(doc.id, numbers, normalise_title(doc.title), order)


def mentioned_documents(query: str, keys: Iterable[DocumentKeys]) -> dict[str, float]:
    """doc_id -> strength (1.0 = 文号 quoted, 0.8 = short title quoted) of the documents ``query`` names."""
    q_number = normalise_doc_number(query)
    q_title = normalise_title(query)
    orders = set(_ORDER_REF.findall(q_number))
    found: dict[str, float] = {}
    title_hits: list[tuple[int, str]] = []
    for key in keys:
        if any(len(n) >= 5 and n in q_number for n in key.numbers) or (key.order_number in orders):
            found[key.doc_id] = 1.0
        elif len(key.title) >= 3 and key.title in q_title:
            title_hits.append((len(key.title), key.doc_id))
    if title_hits:
        longest = max(length for length, _ in title_hits)
        for length, doc_id in title_hits:
            # "企业所得税法实施条例" also contains "企业所得税法": the longer title is the one meant
            found.setdefault(doc_id, 0.8 if length == longest else 0.3)
    return found


def detect_tax_types(query: str, tokens: Iterable[str], vocabulary: Iterable[str]) -> set[str]:
    """Tax types (from ``vocabulary``) the question is about: named outright or hinted by typical words."""
    text = "".join(tokens) + " " + query
    named = {t for t in vocabulary if t and t in text}
    # "土地增值税" contains "增值税": drop a name contained in a longer detected one
    named = {t for t in named if not any(t != o and t in o for o in named)}
    hinted = {tax for tax, hints in TAX_HINTS.items() if any(h in text for h in hints)}
    # procedure (征收管理) and invoices (发票) cut across taxes: their hints count even when a tax is named
    return named | (hinted & set(CROSS_CUTTING)) if named else hinted


def hierarchy_prior(doc: Document, tax_types: set[str]) -> float:
    """0..1: how likely ``doc`` holds the general rule for these taxes (its rank, if it is about them)."""
    if not tax_types or not set(doc.tax_types) & tax_types:
        return 0.0
    weight = HIERARCHY.get(doc.doc_type, 0.1)
    # a basic law or regulation covering many taxes (征管法) is less specific than a single-tax law
    share = len(set(doc.tax_types) & tax_types) / max(1, len(doc.tax_types))
    return weight * (0.5 + 0.5 * share)


# Characters and words that make a question about taxes, fees, invoices or accounts (no-hit detection).
TAX_CHARS = ("税", "费")
TAX_LEXICON = (
    "公告", "文号", "条例", "办法", "通知", "政策", "规定", "征期", "申报", "纳税", "进项", "抵扣", "扣除",
    "汇算", "减免", "优惠", "退库", "稽查", "滞纳金", "登记", "注销", "信用", "评级", "A级", "M级", "社保",
    "养老保险", "医疗保险", "社会保险", "公积金", "工资", "薪金", "所得", "收入", "成本", "资产", "折旧",
    "摊销", "会计", "准则", "账簿", "凭证", "报销", "合同", "进口", "出口", "海关", "补贴", "企业", "公司",
    "个体", "单位", "职工", "发票", "开票", "票据", "专票", "普票", "电票",
)  # fmt: skip


@lru_cache(maxsize=1)
def _dictionary_words() -> frozenset[str]:
    from knowledge_base.dictionary import DICTIONARY_FILE
    from knowledge_base.synonyms import load_synonyms

    words = {line.split()[0] for line in DICTIONARY_FILE.read_text("utf-8").splitlines() if line.strip()}
    words.update(load_synonyms())
    return frozenset(w for w in words if len(w) >= 2)


def has_tax_signal(query: str, tokens: Iterable[str]) -> bool:
    """Whether the question mentions anything tax-like at all (else a low-scoring match means no answer)."""
    if any(c in query for c in TAX_CHARS) or any(w in query for w in TAX_LEXICON):
        return True
    return bool(set(tokens) & _dictionary_words())
