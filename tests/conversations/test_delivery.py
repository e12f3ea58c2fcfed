"""``taxbot.delivery``: a staff message reaches the taxpayer through the channel they came from — the web
widget's poll, WeChat 客服消息 (fake WeChat API), SMS to the number behind the pseudonym (fake Tencent Cloud
SMS, the number recorded by the real SMS callback) — and every failure is reported, never raised, with
the message kept in the transcript. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from functools import partial
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from channels.config import SmsSettings, WeChatSettings
from channels.sms import conversation_id
from taxbot.app import create_app
from taxbot.conversations.store import PUSH_FAILED, PUSHED
from taxbot.delivery import DeliveryResult, channel_of
from taxbot.services import Services
from taxbot.settings import Settings
from tests.channels.conftest import FIXTURES, OPENID, sms_settings, wechat_settings
from tests.channels.fakes import APP_ID, APP_SECRET, FakeDialogue, FakeWeChatAPI, free_port, wait_until
from tests.conftest import TEST_DOCUMENTS, TinyRetriever

ID_CARD = "110101199003074517"
PHONE = "+8613800138000"
CALLBACK = "/sms/inbound?token=cb-token-12366"


class WindowClosedWeChat(FakeWeChatAPI):
    """WeChat once the user has not written for 48 hours: 客服消息 answers errcode 45015."""

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, Any]]:
        if handler.path.startswith("/cgi-bin/message/custom/send"):
            return 200, {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
        return super().handle(handler, body)


def product(store_url: str, tmp_path: Path, wechat: WeChatSettings, sms: SmsSettings) -> TestClient:
    settings = Settings(data_dir=tmp_path, database_url=store_url, rasa_url="http://127.0.0.1:9")
    app = create_app(settings, Services(settings=settings, retriever=TinyRetriever(TEST_DOCUMENTS)))
    app.state.wechat_settings, app.state.sms_settings = wechat, sms
    app.state.channel_dialogue = FakeDialogue()
    return TestClient(app)


def deliver(client: TestClient, conversation_id: str, text: str, role: str = "agent") -> DeliveryResult:
    return client.portal.call(partial(client.app.state.delivery.deliver, conversation_id, text, role=role))


def last_turn(client: TestClient, conversation_id: str) -> Any:
    return client.app.state.conversations.transcript(conversation_id)[-1]


def sms_in(client: TestClient, text: str, time: int) -> str:
    """A real SMS callback (the channel records the number); returns the conversation id."""
    body = json.loads((FIXTURES / "sms_reply.json").read_text(encoding="utf-8")) | {
        "text": text,
        "time": time,
    }
    assert client.post(CALLBACK, json=body).json() == {"result": 0, "errmsg": "OK"}
    pseudonym = conversation_id(PHONE, "cb-token-12366")
    assert client.app.state.conversations.address(pseudonym) == ("sms", PHONE, "tencent")
    return pseudonym


def test_web_messages_wait_for_the_widget_and_wechat_goes_out_as_customer_service_messages(
    store_url, tmp_path, wechat_api, sms_gateway
) -> None:
    with product(
        store_url, tmp_path, wechat_settings(wechat_api.url), sms_settings(sms_gateway.url)
    ) as client:
        web = deliver(client, "web-abc", f"请勿发送身份证号{ID_CARD}")
        assert web.delivered and web.channel == "web" and "网页对话窗口" in web.message
        turn = last_turn(client, "web-abc")
        assert turn.role == "agent" and turn.answer_kind == PUSHED and ID_CARD not in turn.text

        long_text = "增值税小规模纳税人月销售额未超过10万元的，免征增值税。" * 30  # 2400 bytes: two messages
        wechat = deliver(client, f"wechat:{OPENID}", long_text)
        assert wechat.delivered and wechat.parts == 2 and "微信公众号" in wechat.message
        assert [m["touser"] for m in wechat_api.sent] == [OPENID, OPENID]
        assert "".join(wechat_api.texts) == long_text
        assert all(len(t.encode()) <= 2048 for t in wechat_api.texts)
        assert last_turn(client, f"wechat:{OPENID}").answer_kind == PUSHED


def test_wechat_outside_the_48_hour_window_is_reported_and_kept(store_url, tmp_path, sms_gateway) -> None:
    with WindowClosedWeChat(APP_ID, APP_SECRET) as closed:
        settings = wechat_settings(closed.url)
        with product(store_url, tmp_path, settings, sms_settings(sms_gateway.url)) as client:
            result = deliver(client, f"wechat:{OPENID}", "您好，您的问题已核实。")
            turn = last_turn(client, f"wechat:{OPENID}")
    assert not result.delivered and result.problem == "wechat_window"
    assert "48小时" in result.message and "已记入对话记录" in result.message
    assert turn.text == "您好，您的问题已核实。" and turn.answer_kind == PUSH_FAILED


def test_unconfigured_channels_and_unknown_numbers_are_reported(store_url, tmp_path) -> None:
    empty_wechat = WeChatSettings(_env_file=None)  # type: ignore[call-arg]
    empty_sms = SmsSettings(_env_file=None)  # type: ignore[call-arg]
    with product(store_url, tmp_path, empty_wechat, empty_sms) as client:
        wechat = deliver(client, "wechat:oNobody", "您好")
        sms = deliver(client, "sms-0123456789abcdef01234567", "您好")
    assert (wechat.delivered, wechat.problem) == (
        False,
        "not_configured",
    ) and "微信公众号渠道未配置" in wechat.message
    assert (sms.delivered, sms.problem) == (False, "no_address") and "找不到" in sms.message
    assert (
        channel_of("web-1") == "web" and channel_of("wechat:o") == "wechat" and channel_of("sms-1") == "sms"
    )


def test_sms_goes_to_the_number_behind_the_pseudonym_within_sms_limits(
    store_url, tmp_path, wechat_api, sms_gateway
):
    with product(
        store_url, tmp_path, wechat_settings(wechat_api.url), sms_settings(sms_gateway.url)
    ) as client:
        pseudonym = sms_in(client, "我要转人工", time=1)
        assert pseudonym.startswith("sms-") and "13800138000" not in pseudonym
        wait_until(lambda: len(sms_gateway.requests) == 1)  # the bot's answer to the SMS
        short = deliver(client, pseudonym, "您好，我是人工坐席。")
        assert short.delivered and short.parts == 1
        assert sms_gateway.requests[-1]["PhoneNumberSet"] == [PHONE]
        assert sms_gateway.texts[-1] == "您好，我是人工坐席。"

        long_text = "小规模纳税人发生增值税应税销售行为，合计月销售额未超过10万元的，免征增值税。" * 6
        long = deliver(client, pseudonym, long_text)
        assert long.delivered and long.parts == 3
        budget = 67 - len("【12366智能咨询】")
        assert all(len(t) <= budget for t in sms_gateway.texts[-3:])
        assert sms_gateway.texts[-1].endswith("…回复“全文”查看完整答复")
        kept = client.app.state.channels.conversation.store.take_full("sms", PHONE)
        assert kept and long_text.endswith(kept[-20:])  # "全文" sends the rest


def test_sms_respects_opt_out_and_reports_a_gateway_failure(store_url, tmp_path, wechat_api, sms_gateway):
    with product(
        store_url, tmp_path, wechat_settings(wechat_api.url), sms_settings(sms_gateway.url)
    ) as client:
        pseudonym = sms_in(client, "你好", time=1)
        wait_until(lambda: len(sms_gateway.requests) == 1)
        body = json.loads((FIXTURES / "sms_reply.json").read_text(encoding="utf-8")) | {
            "text": "TD",
            "time": 2,
        }
        client.post(CALLBACK, json=body)
        wait_until(lambda: len(sms_gateway.requests) == 2)  # the one unsubscribe confirmation
        refused = deliver(client, pseudonym, "您好，我是人工坐席。")
        assert (refused.delivered, refused.problem) == (False, "opted_out") and "退订" in refused.message
        assert len(sms_gateway.requests) == 2
        assert last_turn(client, pseudonym).answer_kind == PUSH_FAILED

    down = sms_settings(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with product(store_url, tmp_path, wechat_settings(wechat_api.url), down) as client:
        client.app.state.channels.conversation.store.opt_in("sms", PHONE)
        failed = deliver(client, pseudonym, "您好，我是人工坐席。")
        assert (failed.delivered, failed.problem, failed.detail) == (False, "gateway", "Unreachable")
        assert "短信网关发送失败" in failed.message and "请稍后重试" in failed.message
        turn = last_turn(client, pseudonym)
        assert turn.text == "您好，我是人工坐席。" and turn.answer_kind == PUSH_FAILED


def test_the_addresses_table_matches_migration_0500(store_url) -> None:
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from taxbot.conversations import open_conversation_store
    from taxbot.conversations.store import addresses

    alone = sa.MetaData()
    addresses.to_metadata(alone)

    def ours(name: str | None, type_: str, parent: dict) -> bool:
        return type_ != "table" or name == addresses.name

    store = open_conversation_store(store_url)
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": ours})
            assert compare_metadata(context, alone) == []
    finally:
        store.close()
