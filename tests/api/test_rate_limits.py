"""Rate limits of the public taxpayer endpoints, through the real app: per web sender on `POST /api/chat`,
per client address on the public API (the widget's poll with its own, larger budget), the client address
taken from proxy headers only when the peer is a trusted proxy, and counts shared by two app instances in
the real Redis. Rasa is down (a closed port), so a chat message is queued and answered 200."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from channels.rate_limit import RateLimiter, RedisRateLimiter
from taxbot.app import create_app
from taxbot.services import Services
from taxbot.settings import Settings
from tests.conftest import reachable_redis

# db 5: not used by the other tests (SMS limits and lock store use 0, the scaled e2e test 8)
REDIS_URL = "redis://127.0.0.1:6379/5"
TOO_MANY = "请求过于频繁"


@pytest.fixture
def make_client(settings, tiny_retriever):
    """``make_client(client_ip, **limits)``: the app with these limits, seen from ``client_ip``."""
    opened: list[TestClient] = []

    def factory(client_ip: str = "203.0.113.7", base: Settings | None = None, **limits) -> TestClient:
        app_settings = (base or settings).model_copy(update=limits)
        app = create_app(app_settings, Services(settings=app_settings, retriever=tiny_retriever))
        client = TestClient(app, client=(client_ip, 50000))
        client.__enter__()
        opened.append(client)
        return client

    yield factory
    for client in opened:
        client.__exit__(None, None, None)


def chat(client: TestClient, sender: str = "web-a", headers: dict[str, str] | None = None):
    return client.post("/api/chat", json={"sender": sender, "message": "个税起征点是多少"}, headers=headers)


def assert_too_many(response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    detail = response.json()["detail"]
    assert detail.startswith(TOO_MANY) and "秒" in detail and "12366" in detail


def rejected(limit: str) -> float:
    return REGISTRY.get_sample_value("taxbot_rate_limited_total", {"limit": limit}) or 0.0


def test_a_sender_over_its_limit_gets_429_and_other_senders_go_on(make_client):
    client = make_client(chat_rate_limit_per_minute=3, ip_rate_limit_per_minute=0)
    before = rejected("chat")
    assert [chat(client).status_code for _ in range(3)] == [200, 200, 200]
    refused = chat(client, headers={"Origin": "https://www.example.gov.cn"})
    assert_too_many(refused)
    assert refused.headers["Access-Control-Allow-Origin"] == "*"  # the embedded widget can read the message
    assert chat(client, "web-b").status_code == 200  # same address, another conversation
    assert rejected("chat") == before + 1


def test_refused_messages_do_not_use_up_the_senders_budget(make_client):
    client = make_client(chat_rate_limit_per_minute=1, ip_rate_limit_per_minute=0)
    empty = client.post("/api/chat", json={"sender": "web-a", "message": "  "})
    assert empty.status_code == 422  # refused before the limit: nothing counted
    assert chat(client).status_code == 200
    assert_too_many(chat(client))


def test_an_address_over_its_limit_gets_429_on_every_public_route_and_other_addresses_go_on(make_client):
    client = make_client("203.0.113.7", chat_rate_limit_per_minute=0, ip_rate_limit_per_minute=4)
    assert chat(client, "s1").status_code == 200
    assert chat(client, "s2").status_code == 200
    assert client.get("/api/subscriptions", params={"sender": "s1"}).status_code == 404
    assert client.get("/api/kb/search", params={"q": "增值税征收率"}).status_code in (200, 503)
    assert_too_many(chat(client, "s3"))  # a fresh sender does not help: the address is over
    assert_too_many(client.get("/api/subscriptions", params={"sender": "s1"}))
    assert_too_many(client.get("/api/kb/search", params={"q": "增值税征收率"}))
    # not taxpayer traffic: never limited per address
    assert client.get("/healthz").status_code == 200
    assert client.post("/webhook", json={"next_action": "action_listen", "tracker": {}}).status_code != 429
    other = TestClient(client.app, client=("198.51.100.20", 50000))  # the same app, another taxpayer
    assert chat(other, "s4").status_code == 200


def test_the_widget_poll_has_its_own_larger_budget(make_client):
    client = make_client(
        ip_rate_limit_per_minute=1, poll_rate_limit_per_minute=3, chat_rate_limit_per_minute=0
    )
    assert chat(client).status_code == 200  # the address's one general request
    assert_too_many(chat(client))
    polls = [client.get("/api/chat/web-a/messages").status_code for _ in range(4)]
    assert polls[:3] == [200, 200, 200]  # polling goes on while the chat budget is spent
    assert polls[3] == 429


def test_forwarded_headers_are_ignored_from_an_untrusted_peer(make_client):
    client = make_client("203.0.113.7", ip_rate_limit_per_minute=2, chat_rate_limit_per_minute=0)
    for i in range(2):  # each claims another client: a spoofer must not get a fresh budget per claim
        spoofed = {"X-Forwarded-For": f"192.0.2.{i}", "X-Real-IP": f"192.0.2.{i}"}
        assert chat(client, f"s{i}", headers=spoofed).status_code == 200
    assert_too_many(chat(client, "s9", headers={"X-Forwarded-For": "192.0.2.99", "X-Real-IP": "192.0.2.99"}))


def test_a_trusted_proxy_names_the_client(make_client):
    """nginx on loopback (the default trusted proxy) sets X-Real-IP and appends to X-Forwarded-For."""
    proxy = make_client("127.0.0.1", ip_rate_limit_per_minute=2, chat_rate_limit_per_minute=0)
    first = {"X-Real-IP": "198.51.100.1", "X-Forwarded-For": "198.51.100.1"}
    assert [chat(proxy, f"a{i}", headers=first).status_code for i in range(2)] == [200, 200]
    assert_too_many(chat(proxy, "a3", headers=first))
    # another client through the same proxy has its own budget; what it wrote into X-Forwarded-For
    # itself (left of the address nginx appended) is not believed
    second = {"X-Real-IP": "198.51.100.2", "X-Forwarded-For": "198.51.100.1, 198.51.100.2"}
    assert [chat(proxy, f"b{i}", headers=second).status_code for i in range(2)] == [200, 200]
    assert_too_many(chat(proxy, "b3", headers=second))
    # X-Real-IP alone (no X-Forwarded-For) is enough
    assert chat(proxy, "c1", headers={"X-Real-IP": "198.51.100.3"}).status_code == 200


def test_proxies_are_configurable_and_ipv6_clients_count_per_64(make_client, settings):
    base = settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]})
    proxy = make_client("10.1.2.3", base=base, ip_rate_limit_per_minute=2, chat_rate_limit_per_minute=0)
    # a chain: client → load balancer (10.9.9.9, trusted) → this proxy; the client is the rightmost
    # address that is not a trusted proxy
    assert chat(proxy, "v1", headers={"X-Forwarded-For": "2001:db8:1:2::1, 10.9.9.9"}).status_code == 200
    assert chat(proxy, "v2", headers={"X-Forwarded-For": "2001:db8:1:2::ffff, 10.9.9.9"}).status_code == 200
    assert_too_many(chat(proxy, "v3", headers={"X-Forwarded-For": "2001:db8:1:2:abcd::9"}))  # same /64
    assert chat(proxy, "v4", headers={"X-Forwarded-For": "2001:db8:1:3::1"}).status_code == 200
    loopback = TestClient(proxy.app, client=("127.0.0.1", 50000))  # no longer trusted: its own address
    assert chat(loopback, "v5", headers={"X-Real-IP": "2001:db8:1:3::1"}).status_code == 200
    with pytest.raises(ValueError, match="not an IP address or CIDR"):
        Settings(trusted_proxies=["nginx"])


def test_limits_are_off_with_zero(make_client):
    client = make_client(
        ip_rate_limit_per_minute=0, chat_rate_limit_per_minute=0, poll_rate_limit_per_minute=0
    )
    assert {chat(client).status_code for _ in range(40)} == {200}
    assert {client.get("/api/chat/web-a/messages").status_code for _ in range(40)} == {200}


def test_429_is_in_the_openapi_document(client):
    paths = client.app.openapi()["paths"]
    for path, method in [("/api/chat", "post"), ("/api/chat/{sender}/messages", "get"),
                         ("/api/subscriptions", "post"), ("/api/kb/search", "get")]:  # fmt: skip
        assert "Retry-After" in paths[path][method]["responses"]["429"]["headers"]


@pytest.fixture
def shared_redis() -> Iterator[redis.Redis]:
    conn = reachable_redis(REDIS_URL)
    yield conn
    conn.close()


def test_two_app_instances_share_the_limits_in_redis(make_client, settings, shared_redis):
    base = settings.model_copy(update={"redis_url": REDIS_URL})
    address = f"192.0.2.{uuid.uuid4().int % 250 + 1}"  # a fresh address and sender for this run
    sender = f"web-{uuid.uuid4().hex[:12]}"
    keys = [f"taxbot:ip-rate:{address}", f"taxbot:chat-rate:web:{sender}"]
    shared_redis.delete(*keys)
    try:
        first = make_client(address, base=base, ip_rate_limit_per_minute=100, chat_rate_limit_per_minute=3)
        second = make_client(address, base=base, ip_rate_limit_per_minute=100, chat_rate_limit_per_minute=3)
        assert [chat(c, sender).status_code for c in (first, second, first)] == [200, 200, 200]
        assert_too_many(chat(second, sender))  # the fourth message in the minute, on either instance
        assert_too_many(chat(first, sender))
        assert shared_redis.zcard(keys[1]) == 3
        assert 0 < shared_redis.pttl(keys[1]) <= 60_000  # nothing stays behind for quiet senders

        ip_limited = make_client(address, base=base, ip_rate_limit_per_minute=2, chat_rate_limit_per_minute=0)
        assert_too_many(chat(ip_limited, "another"))  # this address already made 5 requests this minute
    finally:
        shared_redis.delete(*keys)


def test_an_unreachable_redis_lets_taxpayers_through(make_client, settings):
    base = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/5"})  # connection refused at once
    client = make_client(base=base, ip_rate_limit_per_minute=1, chat_rate_limit_per_minute=1)
    assert [chat(client).status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_acquire_says_how_long_until_the_oldest_request_leaves_the_window(backend, shared_redis):
    now = [1000.0]
    prefix = f"taxbot-test:{uuid.uuid4().hex[:8]}"
    limiter = (
        RateLimiter(2, window=60, clock=lambda: now[0])
        if backend == "memory"
        else RedisRateLimiter(shared_redis, 2, window=60, key_prefix=prefix, clock=lambda: now[0])
    )
    try:
        assert limiter.acquire("a") == 0.0
        now[0] = 1010.0
        assert limiter.acquire("a") == 0.0
        now[0] = 1020.0
        assert limiter.acquire("a") == pytest.approx(40.0)  # the first leaves at 1060
        assert limiter.acquire("b") == 0.0  # per key
        now[0] = 1060.0
        assert limiter.acquire("a") == 0.0  # refused requests were not counted
        assert limiter.acquire("a") == pytest.approx(10.0)  # the second leaves at 1070
    finally:
        for key in shared_redis.scan_iter(f"{prefix}:*"):
            shared_redis.delete(key)
