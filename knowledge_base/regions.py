"""Region names: the 31 provincial-level regions, the 5 计划单列市 and major cities.

A national rule applies everywhere; a local rule applies to its own region, and a province's rule also
applies to the cities inside it. ``applicable_regions`` spells that out for the search filters.
"""

from __future__ import annotations

from functools import lru_cache

from knowledge_base.models import NATIONAL

# province-level region -> its one-character abbreviation (简称)
PROVINCES: dict[str, str] = {
    "北京市": "京", "天津市": "津", "上海市": "沪", "重庆市": "渝",
    "河北省": "冀", "山西省": "晋", "辽宁省": "辽", "吉林省": "吉", "黑龙江省": "黑",
    "江苏省": "苏", "浙江省": "浙", "安徽省": "皖", "福建省": "闽", "江西省": "赣",
    "山东省": "鲁", "河南省": "豫", "湖北省": "鄂", "湖南省": "湘", "广东省": "粤",
    "海南省": "琼", "四川省": "川", "贵州省": "黔", "云南省": "滇", "陕西省": "陕",
    "甘肃省": "甘", "青海省": "青", "台湾省": "台",
    "内蒙古自治区": "蒙", "广西壮族自治区": "桂", "西藏自治区": "藏",
    "宁夏回族自治区": "宁", "新疆维吾尔自治区": "新",
}  # fmt: skip
# 台湾省 is listed for completeness of names but is not one of the 31 regions the tax service covers.
_COVERED_PROVINCES = tuple(p for p in PROVINCES if p != "台湾省")

# 计划单列市 (own tax bureaus, own local rules)
PLAN_CITIES: dict[str, str] = {
    "深圳市": "广东省", "厦门市": "福建省", "宁波市": "浙江省", "青岛市": "山东省", "大连市": "辽宁省",
}  # fmt: skip

# provincial capitals and other large cities
CITIES: dict[str, str] = {
    "石家庄市": "河北省", "太原市": "山西省", "呼和浩特市": "内蒙古自治区", "沈阳市": "辽宁省",
    "长春市": "吉林省", "哈尔滨市": "黑龙江省", "南京市": "江苏省", "杭州市": "浙江省",
    "合肥市": "安徽省", "福州市": "福建省", "南昌市": "江西省", "济南市": "山东省",
    "郑州市": "河南省", "武汉市": "湖北省", "长沙市": "湖南省", "广州市": "广东省",
    "南宁市": "广西壮族自治区", "海口市": "海南省", "成都市": "四川省", "贵阳市": "贵州省",
    "昆明市": "云南省", "拉萨市": "西藏自治区", "西安市": "陕西省", "兰州市": "甘肃省",
    "西宁市": "青海省", "银川市": "宁夏回族自治区", "乌鲁木齐市": "新疆维吾尔自治区",
    "苏州市": "江苏省", "无锡市": "江苏省", "东莞市": "广东省", "佛山市": "广东省",
    "珠海市": "广东省", "温州市": "浙江省", "烟台市": "山东省", "三亚市": "海南省",
}  # fmt: skip

ALL_REGIONS: tuple[str, ...] = (*_COVERED_PROVINCES, *PLAN_CITIES, *CITIES)

_CITY_PROVINCE: dict[str, str] = {**PLAN_CITIES, **CITIES}

# Extra short forms that are not simply the name without its suffix.
_EXTRA_ALIASES: dict[str, str] = {
    "深": "深圳市", "厦": "厦门市", "甬": "宁波市", "连": "大连市",
    "内蒙": "内蒙古自治区", "内蒙古": "内蒙古自治区", "广西": "广西壮族自治区", "西藏": "西藏自治区",
    "宁夏": "宁夏回族自治区", "新疆": "新疆维吾尔自治区",
    "全国": NATIONAL, "中国": NATIONAL, "国家": NATIONAL, "中央": NATIONAL,
}  # fmt: skip

_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


def _short(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    table: dict[str, str] = {}
    for name in ALL_REGIONS:
        table[name] = name
        table.setdefault(_short(name), name)
    for name, abbr in PROVINCES.items():
        if name in ALL_REGIONS:
            table.setdefault(abbr, name)
    table.update(_EXTRA_ALIASES)
    # Cities keep their own full names; "青" stays 青海省, "宁" stays 宁夏 (the official 简称).
    return table


def normalize_region(text: str) -> str | None:
    """The canonical region name for ``text`` ("沪" → "上海市", "深圳" → "深圳市"), or None if unknown."""
    key = (text or "").strip().replace(" ", "")
    if not key:
        return None
    table = _aliases()
    if key in table:
        return table[key]
    for suffix in ("地区", "省份", "税务局", "市税务局"):
        if key.endswith(suffix) and key[: -len(suffix)] in table:
            return table[key[: -len(suffix)]]
    return None


def is_known_region(text: str) -> bool:
    return text == NATIONAL or text in ALL_REGIONS


def province_of(region: str) -> str | None:
    """The province containing a city (深圳市 → 广东省); None for a province-level region or unknown."""
    canonical = normalize_region(region)
    if canonical is None:
        return None
    return _CITY_PROVINCE.get(canonical)


def applicable_regions(region: str | None) -> frozenset[str]:
    """Regions whose rules apply to someone in ``region``: national, the region, and its province."""
    if region is None:
        return frozenset({NATIONAL})
    canonical = normalize_region(region)
    if canonical is None:
        raise ValueError(f"unknown region {region!r}; expected one of ALL_REGIONS or {NATIONAL!r}")
    result = {NATIONAL, canonical}
    province = _CITY_PROVINCE.get(canonical)
    if province:
        result.add(province)
    return frozenset(result)


def find_region_in(text: str) -> str | None:
    """The region named earliest in ``text`` (full or short name); "广东省深圳市" gives the city."""
    found: list[tuple[int, str, int]] = []  # (position, region, end)
    for name in ALL_REGIONS:
        for form in (name, _short(name)):
            if len(form) < 2:
                continue
            pos = text.find(form)
            if pos >= 0:
                found.append((pos, name, pos + len(form)))
                break
    if not found:
        return None
    found.sort(key=lambda item: (item[0], -(item[2] - item[0])))
    pos, name, end = found[0]
    for other_pos, other, _ in found[1:]:
        if _CITY_PROVINCE.get(other) == name and other_pos == end:
            return other
    return name
