"""WeChat messages are limited per openid (the per-conversation limit of the web chat): Tencent's servers
deliver every taxpayer's callback, so an address limit would silence everyone at once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from taxbot.routes.limits import RateLimits
from taxbot.settings import Settings
from tests.channels.conftest import build_app, sms_settings, wechat_settings
from tests.channels.test_wechat import post_plain, reply_text
from tests.conftest import REPO_ROOT

TEXT = (REPO_ROOT / "tests" / "channels" / "fixtures" / "text.xml").read_text(encoding="utf-8")


def message(n: int, openid: str = "oTaxpayer_openid_0001") -> str:
    return (
        TEXT.replace("24712345678901234", f"2471234567890{n:04d}")
        .replace("个税起征点是多少？", f"问题{n}")
        .replace("oTaxpayer_openid_0001", openid)
    )


def test_an_openid_over_the_limit_gets_one_notice_then_silence(tmp_path, dialogue, wechat_api, sms_gateway):
    app = build_app(tmp_path, dialogue, wechat_settings(wechat_api.url), sms_settings(sms_gateway.url))
    # the limiters the app's chat lifespan builds (this channel-only app has no chat routes)
    app.state.rate_limits = RateLimits.from_settings(
        Settings(data_dir=tmp_path, chat_rate_limit_per_minute=2)
    )
    with TestClient(app) as client:
        replies = [reply_text(post_plain(client, message(n))) for n in range(4)]
        other = post_plain(client, message(9, openid="oTaxpayer_openid_0002"))
    assert replies[:2] == ["答：问题0", "答：问题1"]
    assert replies[2] == "您发送的消息过于频繁，请稍后再试。如需咨询，也可拨打12366纳税缴费服务热线。"
    assert replies[3] == ""  # "success": silence until the minute has room
    assert other.status_code == 200 and "问题9" in other.text  # another taxpayer is answered
    assert dialogue.messages == ["问题0", "问题1", "问题9"]
