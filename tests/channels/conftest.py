"""The channel routes on a real FastAPI app and SQLite file; the bot core faked; WeChat and Tencent Cloud
SMS as local HTTP servers speaking their real formats."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from channels.config import SmsSettings, WeChatSettings
from channels.routes import router
from taxbot.settings import Settings
from tests.channels.fakes import APP_ID, APP_SECRET, FakeDialogue, FakeTwilio, wechat_signature

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "taxbot12366token"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # 43 characters, as WeChat issues them
OPENID = "oTaxpayer_openid_0001"


def fixture_xml(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def signed_query(**extra: str) -> str:
    timestamp, nonce = str(int(time.time())), "nonce12366"
    params = {"signature": wechat_signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    params.update(extra)
    return urlencode(params)


@pytest.fixture
def dialogue() -> FakeDialogue:
    return FakeDialogue()


TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-auth-token-12366"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(TWILIO_SID, TWILIO_TOKEN) as server:
        yield server


def wechat_settings(api_base: str, **overrides: object) -> WeChatSettings:
    values: dict[str, object] = dict(
        token=TOKEN, app_id=APP_ID, app_secret=APP_SECRET, encoding_aes_key=AES_KEY, api_base=api_base,
        passive_reply_seconds=2.0,
    )  # fmt: skip
    values.update(overrides)
    return WeChatSettings(**values)  # type: ignore[arg-type]


def sms_settings(api_base: str, **overrides: object) -> SmsSettings:
    values: dict[str, object] = dict(
        secret_id="AKIDtaxbot12366", secret_key="tencent-secret-key", sdk_app_id="1400012366",
        sign_name="12366智能咨询", template_id="1234567", callback_token="cb-token-12366", api_base=api_base,
    )  # fmt: skip
    values.update(overrides)
    return SmsSettings(**values)  # type: ignore[arg-type]


def build_app(
    data_dir: Path, dialogue: FakeDialogue, wechat: WeChatSettings | None, sms: SmsSettings | None
) -> FastAPI:
    app = FastAPI()
    app.state.settings = Settings(data_dir=data_dir)
    app.state.channel_dialogue = dialogue
    app.state.wechat_settings = wechat or WeChatSettings(_env_file=None)  # type: ignore[call-arg]
    app.state.sms_settings = sms or SmsSettings(_env_file=None)  # type: ignore[call-arg]
    app.include_router(router)
    return app


@pytest.fixture
def make_client(tmp_path, dialogue, wechat_api, sms_gateway):
    """``with make_client(**wechat_overrides) as client`` — a fresh app on the same SQLite file each time."""

    @contextmanager
    def factory(
        wechat: WeChatSettings | None = None, sms: SmsSettings | None = None, **wechat_overrides: object
    ) -> Iterator[TestClient]:
        wechat = wechat or wechat_settings(wechat_api.url, **wechat_overrides)
        sms = sms or sms_settings(sms_gateway.url)
        with TestClient(build_app(tmp_path, dialogue, wechat, sms)) as client:
            yield client

    return factory
