"""Pure texts and buttons of the dialogue around the answers: greeting, region question, did-you-mean,
handoff and feedback. Buttons are Rasa's ``{"title", "payload"}``; the channels render them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from actions.formatting import HOTLINE
from knowledge_base.models import NATIONAL

# FAQ questions taxpayers ask most (each is a published FAQ question of the shipped knowledge base)
HOT_QUESTIONS = (
    "个税起征点是多少？每月5000元还是每年6万元？",
    "2026年小规模纳税人还能按1%征收率缴纳增值税吗？",
    "全年一次性奖金（年终奖）怎么计算个人所得税？",
    "个税年度汇算什么时候办理？",
    "什么是数电发票？什么时候在全国推广？",
)
COMMON_REGIONS = ("北京市", "上海市", "广东省", "浙江省", "江苏省", "河南省", "四川省")
MAX_REGION_BUTTONS = 8

GREETING = (
    "您好！这里是12366智能咨询，请问有什么涉税问题需要咨询？您可以直接描述情况，"
    "例如“小规模纳税人增值税征收率是多少”。大家都在问："
)
ASK_REGION = "您在哪个省市办税？这个问题各地规定不同（{regions}有地方规定），请点选或直接回复地区名称："
REGION_NOTED = "好的，已记下您的办税地区：{region}。请问有什么涉税问题？"
DID_YOU_MEAN = "您是不是想问："
HANDOFF_TEXT = (
    "已为您转接人工坐席，工作人员会在这里回复您，请稍候（工作时间以外将在下一个工作日回复）。"
    f"着急的话也可以拨打{HOTLINE}纳税缴费服务热线。"
)
HANDOFF_REASONS = {
    "request": "纳税人要求转人工",
    "no_answer": "连续两次没有找到答案",
    "negative_feedback": "纳税人两次反馈答复没用",
}
FEEDBACK_THANKS = "感谢您的反馈，很高兴能帮到您！"
FEEDBACK_SORRY = "抱歉没能帮到您。您可以换个说法再问一次，或回复“转人工”由人工坐席为您解答。"
RATING_THANKS = "感谢您的评价（{rating}分），我们会继续改进！"
NO_ANSWER_AGAIN = "这个问题我还是没能找到答案，"


def intent_payload(intent: str, **entities: str) -> str:
    """``/intent{"entity": "value"}`` — a button that skips NLU."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def question_buttons(questions: Sequence[str]) -> list[dict[str, str]]:
    """Buttons that ask a question again in its FAQ wording (the payload is the question text)."""
    return [{"title": q, "payload": q} for q in questions]


def region_buttons(local: Sequence[str]) -> list[dict[str, str]]:
    """Regions with local rules first, then common ones, then "全国" (national rules only)."""
    ordered = list(dict.fromkeys([*local, *COMMON_REGIONS]))[: MAX_REGION_BUTTONS - 1]
    buttons = [{"title": r, "payload": intent_payload("inform_region", region=r)} for r in ordered]
    buttons.append(
        {"title": "其他地区/只看全国规定", "payload": intent_payload("inform_region", region=NATIONAL)}
    )
    return buttons


def ask_region_text(local: Sequence[str]) -> str:
    shown = "、".join(local[:4]) + ("等地" if len(local) > 4 else "")
    return ASK_REGION.format(regions=shown or "部分地区")


def clarify_payload(intent: str) -> dict[str, Any]:
    return {"citations": [], "answer_kind": "clarify", "intent": intent}


def handoff_payload(reason: str, intent: str) -> dict[str, Any]:
    """What the chat route reads to put the conversation into the handoff queue."""
    return {
        "citations": [], "answer_kind": "handoff", "intent": intent,
        "handoff_queued": True, "handoff_reason": reason,
    }  # fmt: skip
