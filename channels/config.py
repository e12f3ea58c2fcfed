"""Settings of the messaging channels (env prefixes TAXBOT_WECHAT_ and TAXBOT_SMS_).

Kept apart from ``taxbot.settings.Settings`` for now; the lead folds them in later. Missing credentials
do not stop the app from starting: the channel's routes answer 503 and say which variables to set.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOT_QUESTIONS = [
    "个人所得税起征点是多少？",
    "小规模纳税人增值税征收率是多少？",
    "个人所得税专项附加扣除有哪些？",
    "个人出租住房怎么缴纳房产税？",
]


class WeChatSettings(BaseSettings):
    """A WeChat Official Account (公众号) in plaintext, compatible or secure (AES) mode."""

    model_config = SettingsConfigDict(env_prefix="TAXBOT_WECHAT_", env_file=".env", extra="ignore")

    token: str = Field(default="", description="The Token set in 公众号后台 → 基本配置 → 服务器配置")
    app_id: str = Field(default="", description="AppID (also the id inside encrypted messages)")
    app_secret: str = Field(default="", description="AppSecret, for the access_token of the 客服消息 API")
    encoding_aes_key: str = Field(
        default="", description="EncodingAESKey (43 characters); needed in AES mode"
    )
    api_base: str = Field(default="https://api.weixin.qq.com", description="WeChat API base URL")
    passive_reply_seconds: float = Field(
        default=4.0,
        gt=0,
        lt=5,
        description="Wait this long for the bot before answering 'success' (limit 5 s)",
    )
    max_body_bytes: int = Field(default=64 * 1024, gt=0, description="Larger callbacks are refused with 413")
    welcome: str = "您好，欢迎关注12366智能咨询！请直接发送您的涉税问题，例如：个税起征点是多少？"
    hot_questions: list[str] = Field(default_factory=lambda: list(DEFAULT_HOT_QUESTIONS))
    human_handoff_text: str = Field(default="转人工", description="Sent to the bot for the HUMAN menu button")
    document_base_url: str = Field(
        default="",
        description="Public base URL of the app; a shortened answer links to {this}/documents/{doc_id}",
    )

    def missing(self, *, aes: bool = False, verify_only: bool = False) -> list[str]:
        """Names of the environment variables still to set (empty when the channel can run).

        The server check (``GET /wechat``) needs only the token, so it can pass before the rest is set.
        """
        required = {"token": self.token}
        if not verify_only:
            required.update(app_id=self.app_id, app_secret=self.app_secret)
        if aes:
            required["encoding_aes_key"] = self.encoding_aes_key
        return [f"TAXBOT_WECHAT_{name.upper()}" for name, value in required.items() if not value]


class SmsSettings(BaseSettings):
    """Tencent Cloud SMS (短信): 上行回复回调 in, SendSms (API 2021-01-11) out."""

    model_config = SettingsConfigDict(env_prefix="TAXBOT_SMS_", env_file=".env", extra="ignore")

    secret_id: str = Field(default="", description="Tencent Cloud API SecretId (CAM sub-user recommended)")
    secret_key: str = Field(default="", description="Tencent Cloud API SecretKey")
    sdk_app_id: str = Field(default="", description="SmsSdkAppId of the SMS application")
    sign_name: str = Field(default="", description="Approved signature, without 【】")
    template_id: str = Field(default="", description="Approved template with one variable {1} for the text")
    callback_token: str = Field(
        default="", description="Shared secret: the callback URL in the console ends with ?token=<this>"
    )
    allowed_ips: list[str] = Field(default_factory=list, description="Callback source IPs; empty = any")
    api_base: str = Field(default="https://sms.tencentcloudapi.com", description="Tencent Cloud API endpoint")
    region: str = "ap-guangzhou"
    segment_chars: int = Field(default=70, ge=20, description="Characters per SMS, signature included")
    concat_segment_chars: int = Field(
        default=67, ge=20, description="Characters per part once an answer is split (concatenation header)"
    )
    max_segments: int = Field(default=3, ge=1, le=10, description="Longer answers are cut to this many SMS")
    more_info: str = Field(
        default="回复“全文”查看完整答复", description="Ends a cut answer; the sender's “全文” sends the rest"
    )
    max_body_bytes: int = Field(default=16 * 1024, gt=0)
    send_timeout: float = 10.0
    rate_limit_per_minute: int = Field(
        default=5, ge=0, description="Inbound SMS answered per number per minute; 0 = no limit"
    )
    rate_limit_notice: str = "您发送的短信过于频繁，请稍后再试。如需咨询，可拨打12366纳税缴费服务热线。"
    # Twilio-style gateway: POST /sms/inbound/twilio in, the Messages API out
    twilio_account_sid: str = Field(default="", description="Twilio Account SID (AC…)")
    twilio_auth_token: str = Field(default="", description="Twilio Auth Token: signs webhooks, basic auth")
    twilio_from: str = Field(default="", description="The sending number (E.164) or Messaging Service SID")
    twilio_api_base: str = Field(default="https://api.twilio.com", description="Twilio REST API base URL")
    twilio_webhook_url: str = Field(
        default="", description="The public URL Twilio posts to, when a proxy changes it; default: as seen"
    )
    send_retries: int = Field(default=2, ge=0, le=5, description="Retries of a send on 5xx or timeout")
    retry_backoff: float = Field(default=0.5, ge=0, description="Seconds before the first retry (doubles)")

    def twilio_missing(self) -> list[str]:
        required = {
            "twilio_account_sid": self.twilio_account_sid,
            "twilio_auth_token": self.twilio_auth_token,
            "twilio_from": self.twilio_from,
        }
        return [f"TAXBOT_SMS_{name.upper()}" for name, value in required.items() if not value]

    def missing(self) -> list[str]:
        required = {
            "secret_id": self.secret_id,
            "secret_key": self.secret_key,
            "sdk_app_id": self.sdk_app_id,
            "sign_name": self.sign_name,
            "template_id": self.template_id,
            "callback_token": self.callback_token,
        }
        return [f"TAXBOT_SMS_{name.upper()}" for name, value in required.items() if not value]
