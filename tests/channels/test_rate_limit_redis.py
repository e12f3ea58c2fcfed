"""The SMS rate limit in the real Redis on 127.0.0.1:6379: the in-memory limiter's contract, shared by
several limiters (app replicas), atomic under concurrency, and through the SMS route of two apps."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from fastapi.testclient import TestClient

from channels.rate_limit import RedisRateLimiter
from taxbot.settings import Settings
from tests.channels.conftest import build_app, sms_settings, wechat_settings
from tests.channels.fakes import wait_until
from tests.channels.test_limits_and_full_text import CALLBACK, callback
from tests.conftest import reachable_redis

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    """The real Redis; keys of this test (``taxbot-test:<id>:*``) deleted afterwards."""
    conn = reachable_redis(REDIS_URL)
    yield conn
    for key in conn.scan_iter("taxbot-test:*"):
        conn.delete(key)
    conn.close()


@pytest.fixture
def prefix() -> str:
    return f"taxbot-test:{uuid.uuid4().hex[:8]}"


def test_notices_once_then_is_silent_until_the_window_passes(client, prefix):
    now = [1000.0]
    limiter = RedisRateLimiter(client, 2, window=60, key_prefix=prefix, clock=lambda: now[0])
    assert [limiter.check("a") for _ in range(4)] == ["ok", "ok", "notice", "silent"]
    assert limiter.check("b") == "ok"  # per number
    now[0] = 1059.9
    assert limiter.check("a") == "silent"
    now[0] = 1060.0
    assert [limiter.check("a") for _ in range(4)] == ["ok", "ok", "notice", "silent"]
    assert RedisRateLimiter(client, 0, key_prefix=prefix).check("a") == "ok"


def test_keys_expire_with_the_window(client, prefix):
    limiter = RedisRateLimiter(client, 1, window=30, key_prefix=prefix)  # the Redis server's clock
    assert [limiter.check("a"), limiter.check("a")] == ["ok", "notice"]
    for key in (f"{prefix}:a", f"{prefix}:a:noticed"):
        assert 0 < client.pttl(key) <= 30_000  # nothing stays behind for quiet numbers


def test_replicas_share_the_counts_and_never_exceed_the_limit_together(client, prefix):
    replicas = [RedisRateLimiter(client, 5, key_prefix=prefix) for _ in range(3)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = list(pool.map(lambda i: replicas[i % 3].check("+8613800138000"), range(24)))
    assert verdicts.count("ok") == 5
    assert verdicts.count("notice") == 1
    assert verdicts.count("silent") == 18


def test_an_unreachable_redis_answers_rather_than_silencing(prefix):
    port = random.randint(20000, 30000)  # nothing listens there (connection refused at once)
    limiter = RedisRateLimiter.from_url(f"redis://127.0.0.1:{port}/0", 1, key_prefix=prefix)
    assert [limiter.check("a"), limiter.check("a")] == ["ok", "ok"]
    limiter.close()


def test_two_app_replicas_limit_one_number_together(tmp_path, client, dialogue, wechat_api, sms_gateway):
    mobile = f"139{random.randint(0, 10**8 - 1):08d}"  # a number no other test run uses
    apps = []
    for _ in range(2):
        app = build_app(
            tmp_path, dialogue, wechat_settings(wechat_api.url),
            sms_settings(sms_gateway.url, rate_limit_per_minute=2),
        )  # fmt: skip
        app.state.settings = Settings(data_dir=tmp_path, redis_url=REDIS_URL)
        apps.append(app)
    try:
        with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
            first.post(CALLBACK, json=callback("问题0", time=100, mobile=mobile))
            second.post(CALLBACK, json=callback("问题1", time=101, mobile=mobile))
            wait_until(lambda: len(sms_gateway.requests) == 2)
            second.post(CALLBACK, json=callback("问题2", time=102, mobile=mobile))  # third in the minute
            wait_until(lambda: len(sms_gateway.requests) == 3)
            first.post(CALLBACK, json=callback("问题3", time=103, mobile=mobile))
            second.post(CALLBACK, json=callback("问题4", time=104, mobile=mobile))
            assert isinstance(first.app.state.sms_limiter, RedisRateLimiter)
    finally:
        client.delete(f"taxbot:sms-rate:+86{mobile}", f"taxbot:sms-rate:+86{mobile}:noticed")
    assert dialogue.messages == ["问题0", "问题1"]  # the 2 a minute held across both replicas
    assert sms_gateway.texts[2] == "您发送的短信过于频繁，请稍后再试。如需咨询，可拨打12366纳税缴费服务热线。"
    assert len(sms_gateway.requests) == 3  # one notice, then silence on either replica
