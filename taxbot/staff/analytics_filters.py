"""The analytics filters: a date range (inclusive, UTC days; default the last 8 weeks), region, channel and
tax type — read from query strings with messages a person understands (422 for bad values)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from knowledge_base.loaders.metadata import TAX_TYPES
from knowledge_base.models import NATIONAL
from knowledge_base.regions import normalize_region
from taxbot.staff.analytics_tax import CHANNELS, UNCLASSIFIED
from taxbot.staff.errors import Invalid

DEFAULT_WEEKS = 8
MAX_DAYS = 366
TAX_CHOICES = (*TAX_TYPES, UNCLASSIFIED)


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    region: str | None = None
    channel: str | None = None
    tax_type: str | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, UTC)


def week_of(moment: datetime | date) -> str:
    """The Monday (ISO date) of the week ``moment`` falls in."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return (day - timedelta(days=day.weekday())).isoformat()


def weeks(f: Filters) -> list[str]:
    monday = date.fromisoformat(week_of(f.start))
    return [(monday + timedelta(weeks=i)).isoformat() for i in range((f.end - monday).days // 7 + 1)]


def _day(value: str, label: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{label}“{value[:40]}”无效：请按 YYYY-MM-DD 填写，例如 2026-01-31。") from None


def parse_filters(
    start: str = "", end: str = "", region: str = "", channel: str = "", tax_type: str = "",
    *, today: date | None = None,
) -> Filters:  # fmt: skip
    """Filters from form / query values ("" = no filter; dates default to the last 8 weeks to today)."""
    last = _day(end, "结束日期") if end.strip() else today or datetime.now(UTC).date()
    monday = date.fromisoformat(week_of(last))
    first = _day(start, "开始日期") if start.strip() else monday - timedelta(weeks=DEFAULT_WEEKS - 1)
    if first > last:
        raise Invalid(f"开始日期 {first} 晚于结束日期 {last}，请调换或修改。")
    if (last - first).days >= MAX_DAYS:
        raise Invalid(f"时间范围最长 {MAX_DAYS} 天，请缩短（现为 {(last - first).days + 1} 天）。")
    place = None
    if region.strip():
        place = NATIONAL if region.strip() == NATIONAL else normalize_region(region)
        if place is None:
            raise Invalid(f"未知地区“{region[:40]}”：请填写省、市名称，如 北京市，或 全国。")
    labels = {v: k for k, v in CHANNELS.items()}
    way = labels.get(channel.strip(), channel.strip()) or None
    if way is not None and way not in CHANNELS:
        raise Invalid(f"未知渠道“{channel[:40]}”：可选 web（网页）、wechat（微信）、sms（短信）。")
    tax = tax_type.strip() or None
    if tax is not None and tax not in TAX_CHOICES:
        raise Invalid(f"未知税种“{tax_type[:40]}”：可选 {'、'.join(TAX_CHOICES)}。")
    return Filters(first, last, place, way, tax)
