"""Guess a regulation's metadata from its text when a file carries no front matter.

Regexes for 文号, dates and the 施行 clause; keyword lists for doc type and tax types. Whatever cannot
be determined is reported as a note, never filled in silently.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from datetime import date

from knowledge_base.loaders.structure import CN_NUM, cn_to_int
from knowledge_base.models import NATIONAL, DocType
from knowledge_base.regions import find_region_in, normalize_region

_BR_OPEN, _BR_CLOSE = r"[〔\[［(（【]", r"[〕\]］)）】]"
_ORGS = r"(?:财政部|国家税务总局|税务总局|海关总署|人力资源社会保障部|国家发展改革委|商务部|工业和信息化部)"

_ANNOUNCEMENT = (
    rf"({_ORGS}(?:[ \u3000、]*(?:(?!关于|公告)[\u4e00-\u9fa5]){{2,20}}?)*?)[ \u3000]*公告"
    r"[ \u3000]*(\d{4})[ \u3000]*年[ \u3000]*第[ \u3000]*(\d+)[ \u3000]*号"
)
_BRACKET_PREFIX = (
    "财税|税总发|税总函|税总纳服发|税总征科发|国税发|国税函|国税发明电|财关税|国发|国办发|法释|法发"
)
_BRACKET = rf"({_BRACKET_PREFIX})\s*{_BR_OPEN}\s*(\d{{4}})\s*{_BR_CLOSE}\s*(\d+)\s*号"

# (pattern, kind) in priority order; every pattern is anchored on an issuing-body prefix.
DOC_NUMBER_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(_ANNOUNCEMENT), "announcement"),
    (re.compile(_BRACKET), "bracket"),
    (re.compile(rf"(?:中华人民共和国)?国务院令\s*第?\s*([{CN_NUM}\d]+)\s*号"), "国务院令"),
    (re.compile(rf"(?:中华人民共和国)?主席令\s*第?\s*([{CN_NUM}\d]+)\s*号"), "主席令"),
    (re.compile(rf"国家税务总局令\s*第?\s*([{CN_NUM}\d]+)\s*号"), "国家税务总局令"),
    (re.compile(rf"财政部令\s*第?\s*([{CN_NUM}\d]+)\s*号"), "财政部令"),
]

_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CN_DATE = re.compile(rf"([〇零一二三四五六七八九]{{4}})年([{CN_NUM}]{{1,3}})月([{CN_NUM}]{{1,3}})日")
_EFFECTIVE = re.compile(
    r"自\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*(?:起|开始)?\s*(?:施行|执行|实施|生效)"
)
_EFFECTIVE_ON_ISSUE = re.compile(r"自(?:公布|发布|印发)之日起(?:施行|执行|实施)")

TAX_TYPES = (
    "增值税", "消费税", "企业所得税", "个人所得税", "资源税", "城市维护建设税", "房产税", "城镇土地使用税",
    "土地增值税", "车船税", "车辆购置税", "印花税", "契税", "耕地占用税", "烟叶税", "关税", "船舶吨税",
    "环境保护税", "教育费附加", "社会保险费", "发票", "出口退税", "纳税信用", "征收管理", "非税收入",
)  # fmt: skip
_NATIONAL_ISSUERS = (
    "国家税务总局",
    "税务总局",
    "财政部",
    "国务院",
    "全国人民代表大会",
    "最高人民法院",
    "海关总署",
)


@dataclass
class Guess:
    """Metadata read from a text; ``notes`` lists what could not be determined."""

    title: str = ""
    doc_number: str = ""
    issuer: str = ""
    doc_type: str = DocType.OTHER
    region: str = NATIONAL
    published: date | None = None
    effective: date | None = None
    tax_types: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


def _to_date(y: str, m: str, d: str) -> date | None:
    try:
        return date(cn_to_int(y), cn_to_int(m), cn_to_int(d))
    except ValueError:
        return None


def find_dates(text: str) -> list[date]:
    found = [_to_date(*m.groups()) for m in _DATE.finditer(text)]
    found += [_to_date(*m.groups()) for m in _CN_DATE.finditer(text)]
    return [d for d in found if d]


def find_doc_number(text: str) -> str:
    """The first 文号 in ``text`` in its usual written form, or ""."""
    best: tuple[int, str] | None = None
    for pattern, kind in DOC_NUMBER_PATTERNS:
        match = pattern.search(text)
        if not match or (best and best[0] <= match.start()):
            continue
        if kind == "announcement":
            orgs = re.sub(r"[\s、]+", " ", match.group(1)).strip()
            value = f"{orgs}公告{match.group(2)}年第{match.group(3)}号"
        elif kind == "bracket":
            value = f"{match.group(1)}〔{match.group(2)}〕{match.group(3)}号"
        else:
            value = f"{kind}第{match.group(1)}号"
        best = (match.start(), value)
    return best[1] if best else ""


def doc_id_for(doc_number: str, title: str) -> str:
    """A stable ASCII id, following the corpus scheme where the 文号 allows (sta-2026-4, mof-sta-2026-10)."""
    m = re.fullmatch(r"国家税务总局公告(\d{4})年第(\d+)号", doc_number)
    if m:
        return f"sta-{m.group(1)}-{m.group(2)}"
    m = re.fullmatch(r"财政部 税务总局公告(\d{4})年第(\d+)号", doc_number)
    if m:
        return f"mof-sta-{m.group(1)}-{m.group(2)}"
    m = re.fullmatch(r"财税〔(\d{4})〕(\d+)号", doc_number)
    if m:
        return f"caishui-{m.group(1)}-{m.group(2)}"
    m = re.fullmatch(r"国务院令第(\d+)号", doc_number)
    if m:
        return f"sc-order-{m.group(1)}"
    digest = hashlib.sha1((doc_number or title).encode("utf-8")).hexdigest()[:12]
    return f"doc-{digest}"


def guess_doc_type(title: str, doc_number: str, issuer: str, region: str) -> str:
    if doc_number.startswith(("法释", "法发")) or ("解释" in title and "最高人民" in (issuer + title)):
        return DocType.JUDICIAL
    if doc_number.startswith("主席令") or (title.endswith("法") and "办法" not in title[-3:]):
        return DocType.LAW
    if doc_number.startswith("国务院令") or (
        region == NATIONAL and re.search(r"(?:暂行)?条例(?:（\d{4}）)?$", title)
    ):
        return DocType.ADMIN_REGULATION
    if doc_number.startswith(("国家税务总局令", "财政部令")):
        return DocType.DEPARTMENT_RULE
    if region != NATIONAL and re.search(r"条例$|人民代表大会常务委员会", title + issuer):
        return DocType.LOCAL_REGULATION
    if region != NATIONAL and re.search(r"人民政府令", doc_number + issuer):
        return DocType.LOCAL_RULE
    if (
        "公告" in doc_number
        or doc_number[:2] in ("财税", "税总", "国税")
        or re.search(r"(公告|通知|意见|批复)$", title)
    ):
        return DocType.NORMATIVE
    return DocType.OTHER


def guess_issuer(title: str, doc_number: str, tail: list[str]) -> str:
    m = re.match(r"^(.{2,60}?)关于", title)
    if m:
        return re.sub(r"[\s、]+", " ", m.group(1)).strip()
    m = re.match(r"^(.+?)公告\d{4}年", doc_number)
    if m:
        return m.group(1)
    if doc_number.startswith("国务院令"):
        return "国务院"
    if doc_number.startswith("主席令"):
        return "全国人民代表大会常务委员会"
    if doc_number.startswith("国家税务总局令"):
        return "国家税务总局"
    # a signature block: an organisation line right before the closing date line
    for before, line in itertools.pairwise(tail):
        if (
            find_dates(line)
            and len(line) <= 20
            and 2 <= len(before) <= 40
            and re.search(r"(局|部|院|会|厅|政府)$", before)
        ):
            return before
    return ""


def guess_region(title: str, issuer: str) -> tuple[str, str]:
    """(region, note): the issuer's region; else 全国 for a national issuer; else a region the title names."""
    in_issuer = find_region_in(issuer)
    if in_issuer:
        return in_issuer, ""
    in_title = find_region_in(title)
    if issuer and any(issuer.startswith(n) for n in _NATIONAL_ISSUERS):
        note = f"region: the title names {in_title} but the issuer is national; kept 全国" if in_title else ""
        return NATIONAL, note
    if in_title:
        return in_title, ""
    return NATIONAL, "region: no region named in the issuer or title; assumed 全国"


def guess_metadata(title: str, paragraphs: list[str], *, region: str | None = None) -> Guess:
    """Metadata of a regulation whose title and body paragraphs are given."""
    g = Guess(title=title)
    head = "\n".join([title, *paragraphs[:6]])
    tail = paragraphs[-6:]
    full = "\n".join(paragraphs)
    g.doc_number = find_doc_number(head) or find_doc_number("\n".join(tail[-3:]))
    if not g.doc_number:
        g.notes.append("文号: not found in the title or the lines around it")
    g.issuer = guess_issuer(title, g.doc_number, tail)
    if not g.issuer:
        g.notes.append("issuer: not found")

    if region:
        canonical = normalize_region(region)
        if canonical is None:
            raise ValueError(f"unknown region {region!r}")
        g.region = canonical
    else:
        g.region, note = guess_region(title, g.issuer)
        if note:
            g.notes.append(note)

    dates_near_end = [d for line in tail if len(line) <= 30 for d in find_dates(line)]
    dates_near_head = [d for line in paragraphs[:3] if len(line) <= 40 for d in find_dates(line)]
    published = (dates_near_end or dates_near_head or [None])[-1]
    g.published = published
    if published is None:
        g.notes.append("published: no date line found")
    m = _EFFECTIVE.search(full)
    if m:
        g.effective = find_dates(m.group(1))[0]
    elif _EFFECTIVE_ON_ISSUE.search(full):
        g.effective = published
        if published is None:
            g.notes.append("effective: 自公布之日起施行, but no publication date found")
    else:
        g.notes.append("effective: no 施行 clause found")

    g.doc_type = guess_doc_type(title, g.doc_number, g.issuer, g.region)
    if g.doc_type == DocType.OTHER:
        g.notes.append("doc_type: could not tell from the title or 文号")
    in_title = tuple(t for t in TAX_TYPES if t in title)
    g.tax_types = in_title or tuple(t for t in TAX_TYPES if full.count(t) >= 2)
    if not g.tax_types:
        g.notes.append("tax_types: no tax named in the title or text")
    g.notes.append("status: assumed 有效 (not stated in the file)")
    return g
