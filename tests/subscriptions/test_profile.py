"""The matching rule and the command words (pure functions, no database)."""

from __future__ import annotations

import pytest

from knowledge_base.models import NATIONAL
from taxbot.subscriptions.profile import InvalidProfile, Item, Profile, matches, notice, parse_words


def faq(question: str, region: str = NATIONAL, tax_types: tuple[str, ...] = ()) -> Item:
    return Item("faq", "faq-x", "v1", question, region, tax_types)


@pytest.mark.parametrize(
    ("profile", "item", "expected"),
    [
        (Profile(region="深圳市"), faq("问题", "广东省"), True),  # a province's rule reaches its cities
        (Profile(region="广东省"), faq("问题", "深圳市"), False),  # not the other way round
        (Profile(), faq("问题", "北京市"), False),  # no region: national items only
        (Profile(region="上海市"), faq("问题"), True),  # national items reach everyone
        (Profile(("增值税",)), faq("土地增值税清算"), False),  # 土地增值税 is not 增值税
        (Profile(("增值税",)), faq("增值税专用发票"), True),  # named in the question
        (Profile(("个人所得税",)), faq("个税起征点"), True),  # an alias in the question
        (Profile(("个人所得税",)), faq("问题", tax_types=("个人所得税",)), True),  # tagged
        (Profile(taxpayer_types=("小规模纳税人",)), faq("一般纳税人留抵退税"), False),
        (Profile(taxpayer_types=("小规模纳税人",)), faq("小规模纳税人免税"), True),
        (Profile(taxpayer_types=("小规模纳税人",)), faq("增值税税率"), True),  # names none: concerns all
        (Profile(taxpayer_types=("自然人",)), faq("个人所得税汇算"), True),  # 个人所得税 names no type
        (Profile(taxpayer_types=("小型微利企业",)), faq("小微企业所得税优惠"), True),
    ],
)
def test_matching_rule(profile: Profile, item: Item, expected: bool) -> None:
    assert matches(profile, item) is expected


def test_command_words() -> None:
    assert parse_words("增值税、小规模，沪") == Profile(("增值税",), ("小规模纳税人",), "上海市")
    assert parse_words("个体户 个税 城建税") == Profile(("个人所得税", "城市维护建设税"), ("个体工商户",))
    assert parse_words("") == Profile()
    with pytest.raises(InvalidProfile, match="只能订阅一个地区"):
        parse_words("北京 上海")
    with pytest.raises(InvalidProfile, match="无法识别：火星税"):
        parse_words("增值税 火星税")


def test_notice_names_the_document_and_how_to_stop() -> None:
    when = "自2027年01月01日起施行"
    item = Item("document", "d", "h", "某某公告", "北京市", doc_number="京税〔2027〕1号", note=when)
    assert notice(item) == (
        "【政策订阅】新发布政策文件[北京市]：《某某公告》（京税〔2027〕1号）。自2027年01月01日起施行。"
        "如需了解详情，请直接提问。回复“取消订阅”停止接收。"
    )
