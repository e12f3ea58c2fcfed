"""What a taxpayer subscribes to (tax types, taxpayer types, a region) and which published items match.

The vocabularies are the project's own: tax types as documents are tagged
(``knowledge_base.loaders.metadata``), taxpayer types as the bot's NLU names them, regions from
``knowledge_base.regions``; aliases (个税, 小规模, 沪…) come from ``knowledge_base/synonyms.yml`` and the
region table.

Matching rule (``matches``), all three must hold:

* region: a national item (全国) reaches every subscriber; a local item reaches subscribers whose region it
  applies to — the same region, or the province of a subscriber's city (a 广东省 item reaches 深圳市).
  A subscriber without a region (全国) gets national items only;
* tax types: none subscribed = any; else the item's tax types, or a tax type named in its title / question,
  must include one of them;
* taxpayer types: none subscribed = any; an item naming a taxpayer type (in its tax types or title /
  question, aliases included) reaches only subscribers of one of the types it names; an item naming none
  concerns every taxpayer and reaches all of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from knowledge_base.loaders.metadata import TAX_TYPES
from knowledge_base.models import NATIONAL
from knowledge_base.regions import ALL_REGIONS, applicable_regions, normalize_region
from knowledge_base.synonyms import load_synonyms
from taxbot.errors import TaxbotError

TAXPAYER_TYPES: tuple[str, ...] = ("小规模纳税人", "一般纳税人", "小型微利企业", "个体工商户", "自然人")
_TAXPAYER_ALIASES = {"个人": "自然人", "个体": "个体工商户"}  # the bot's NLU synonyms beyond synonyms.yml
REGIONS: tuple[str, ...] = (NATIONAL, *ALL_REGIONS)
MAX_CHOICES = 10
_SEPARATORS = re.compile(r"[\s,，、;；/]+")


class InvalidProfile(TaxbotError):
    """A tax type, taxpayer type or region not in the project's lists; the message lists valid ones."""


@dataclass(frozen=True)
class Profile:
    tax_types: tuple[str, ...] = ()
    taxpayer_types: tuple[str, ...] = ()
    region: str = NATIONAL

    def describe(self) -> str:
        """``税种：增值税；纳税人类型：小规模纳税人；地区：北京市``, for confirmations."""
        return "；".join(
            (
                f"税种：{'、'.join(self.tax_types) or '不限'}",
                f"纳税人类型：{'、'.join(self.taxpayer_types) or '不限'}",
                f"地区：{self.region if self.region != NATIONAL else '全国（仅全国性政策）'}",
            )
        )


@dataclass(frozen=True)
class Item:
    """A published document or FAQ entry, as the dispatcher sees it."""

    kind: str  # "document" / "faq" (the change log's kinds)
    key: str
    version: str
    title: str
    region: str = NATIONAL
    tax_types: tuple[str, ...] = ()
    doc_number: str = ""
    text: str = field(default="", compare=False)  # more text searched for terms (besides the title)
    note: str = ""  # "自2027年01月01日起施行" for a document not yet in force


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def tax_type_of(token: str) -> str | None:
    token = _fold(token)
    canonical = load_synonyms().get(token, load_synonyms().get(token.lower(), token))
    return canonical if canonical in TAX_TYPES else None


def taxpayer_type_of(token: str) -> str | None:
    token = _fold(token)
    canonical = _TAXPAYER_ALIASES.get(token) or load_synonyms().get(token, token)
    return canonical if canonical in TAXPAYER_TYPES else None


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def validate(tax_types: list[str], taxpayer_types: list[str], region: str | None) -> Profile:
    """The profile for these values (aliases accepted); ``InvalidProfile`` names what is unknown."""
    problems: list[str] = []
    taxes = [tax_type_of(v) for v in tax_types]
    if None in taxes:
        bad = "、".join(v for v, t in zip(tax_types, taxes, strict=True) if t is None)
        problems.append(f"未知税种：{bad}（可选：{'、'.join(TAX_TYPES)}）")
    payers = [taxpayer_type_of(v) for v in taxpayer_types]
    if None in payers:
        bad = "、".join(v for v, t in zip(taxpayer_types, payers, strict=True) if t is None)
        problems.append(f"未知纳税人类型：{bad}（可选：{'、'.join(TAXPAYER_TYPES)}）")
    canonical = normalize_region(region) if region and region.strip() else NATIONAL
    if canonical is None:
        problems.append(f"未知地区：{region}（可选：{'、'.join(REGIONS)}，也可用简称如“北京”“沪”）")
    if len(tax_types) > MAX_CHOICES or len(taxpayer_types) > MAX_CHOICES:
        problems.append(f"税种和纳税人类型各最多选择 {MAX_CHOICES} 项")
    if problems:
        raise InvalidProfile("；".join(problems) + "。")
    return Profile(_unique([t for t in taxes if t]), _unique([t for t in payers if t]), canonical or NATIONAL)


def parse_words(text: str) -> Profile:
    """A profile from free words (``增值税 小规模 北京``), each word a tax type, taxpayer type or region."""
    taxes: list[str] = []
    payers: list[str] = []
    regions: list[str] = []
    unknown: list[str] = []
    for word in (w for w in _SEPARATORS.split(_fold(text)) if w):
        if tax_type_of(word):
            taxes.append(word)
        elif taxpayer_type_of(word):
            payers.append(word)
        elif normalize_region(word):
            regions.append(word)
        else:
            unknown.append(word)
    if unknown:
        raise InvalidProfile(
            f"无法识别：{'、'.join(unknown)}。税种可选：{'、'.join(TAX_TYPES)}；纳税人类型可选："
            f"{'、'.join(TAXPAYER_TYPES)}；地区写省市名称，如“北京”“深圳”。"
        )
    if len(set(regions)) > 1:
        raise InvalidProfile(f"只能订阅一个地区，您写了：{'、'.join(regions)}。")
    return validate(taxes, payers, regions[0] if regions else None)


def _mentioned(text: str, resolve: Callable[[str], str | None]) -> set[str]:
    """Terms ``resolve`` knows that ``text`` names, longest first so 土地增值税 is not also 增值税."""
    found: set[str] = set()
    for term in sorted({*TAX_TYPES, *TAXPAYER_TYPES, *load_synonyms()}, key=len, reverse=True):
        if len(term) >= 2 and term in text:
            text = text.replace(term, "\0")
            canonical = resolve(term)
            if canonical:
                found.add(canonical)
    return found


def matches(profile: Profile, item: Item) -> bool:
    """Whether ``item`` concerns a subscriber with ``profile`` (the rule in the module docstring)."""
    if item.region != NATIONAL and (
        profile.region == NATIONAL or item.region not in applicable_regions(profile.region)
    ):
        return False
    text = _fold(f"{item.title} {item.text}")
    if profile.tax_types:
        topics = set(item.tax_types) | _mentioned(text, tax_type_of)
        if not topics & set(profile.tax_types):
            return False
    if profile.taxpayer_types:
        named = {taxpayer_type_of(t) for t in item.tax_types} - {None}
        named |= _mentioned(text, taxpayer_type_of)
        if named and not named & set(profile.taxpayer_types):
            return False
    return True


def notice(item: Item) -> str:
    """The push: 【政策订阅】新发布：《标题》（文号）… 回复“取消订阅”停止接收."""
    what = "问答" if item.kind == "faq" else "政策文件"
    number = f"（{item.doc_number}）" if item.doc_number else ""
    where = "" if item.region == NATIONAL else f"[{item.region}]"
    extra = f"{item.note}。" if item.note else ""
    return (
        f"【政策订阅】新发布{what}{where}：《{item.title}》{number}。{extra}"
        "如需了解详情，请直接提问。回复“取消订阅”停止接收。"
    )
