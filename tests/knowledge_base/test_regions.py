"""Region names, their short forms and which rules apply where."""

from __future__ import annotations

import pytest

from knowledge_base.regions import (
    ALL_REGIONS,
    PLAN_CITIES,
    applicable_regions,
    find_region_in,
    normalize_region,
    province_of,
)


def test_all_regions() -> None:
    provinces = [
        r
        for r in ALL_REGIONS
        if r.endswith(("省", "自治区")) or r in ("北京市", "天津市", "上海市", "重庆市")
    ]
    assert len(provinces) == 31
    assert set(PLAN_CITIES) == {"深圳市", "厦门市", "宁波市", "青岛市", "大连市"} <= set(ALL_REGIONS)
    assert {"杭州市", "广州市", "成都市", "武汉市"} <= set(ALL_REGIONS)
    assert len(ALL_REGIONS) == len(set(ALL_REGIONS))


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("京", "北京市"),
        ("北京", "北京市"),
        ("北京市", "北京市"),
        ("沪", "上海市"),
        ("粤", "广东省"),
        ("广东", "广东省"),
        ("深", "深圳市"),
        ("深圳", "深圳市"),
        ("全国", "全国"),
        ("青岛", "青岛市"),
        ("内蒙古", "内蒙古自治区"),
        ("新疆", "新疆维吾尔自治区"),
        ("广西", "广西壮族自治区"),
        (" 杭州 ", "杭州市"),
        ("浙江省税务局", "浙江省"),
        ("火星", None),
        ("", None),
        ("北京上海", None),
    ],
)
def test_normalize_region(text: str, region: str | None) -> None:
    assert normalize_region(text) == region


def test_province_of() -> None:
    assert province_of("深圳市") == "广东省"
    assert province_of("青岛") == "山东省"
    assert province_of("杭州市") == "浙江省"
    assert province_of("广东省") is None and province_of("北京市") is None and province_of("火星") is None


def test_applicable_regions() -> None:
    assert applicable_regions(None) == {"全国"}
    assert applicable_regions("深圳市") == {"全国", "深圳市", "广东省"}
    assert applicable_regions("沪") == {"全国", "上海市"}
    assert applicable_regions("全国") == {"全国"}
    with pytest.raises(ValueError, match="火星"):
        applicable_regions("火星")


def test_find_region_in_titles() -> None:
    assert find_region_in("国家税务总局深圳市税务局关于发票管理的公告") == "深圳市"
    assert find_region_in("广东省深圳市地方税务规定") == "深圳市"
    assert find_region_in("青岛市税收征收协助条例") == "青岛市"
    assert find_region_in("北京市人民代表大会常务委员会关于北京市耕地占用税适用税额的决定") == "北京市"
    assert find_region_in("国家税务总局关于起征点标准等增值税征管事项的公告") is None
