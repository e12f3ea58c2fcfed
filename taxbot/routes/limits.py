"""Rate limits of the public taxpayer endpoints: per client address, and per web sender on `POST /api/chat`.

Three sliding one-minute windows (``TAXBOT_*_RATE_LIMIT_PER_MINUTE``, 0 = off), counted in Redis when
``TAXBOT_REDIS_URL`` is set (every replica behind nginx sees the same counts) and in memory otherwise:

* ``ip`` — every public taxpayer request (chat, subscriptions, knowledge-base search) by client address;
* ``poll`` — the widget's poll of pushed messages, by client address, generous: an open handoff polls
  every few seconds, and a tax office's taxpayers may all share one NAT address;
* ``chat`` — messages to the dialogue engine by web ``sender`` (checked in the route, once the body is
  read), so one conversation cannot flood Rasa from many addresses.

Not limited here: `/webhook` (Rasa's own action calls), health, readiness and metrics, and the WeChat and
SMS callbacks — those come from Tencent's servers, whose few addresses carry every taxpayer; SMS is
limited per number (``TAXBOT_SMS_RATE_LIMIT_PER_MINUTE``) and WeChat per openid with the ``chat`` limiter
(``channels.wechat``: one notice, then silence, as a callback cannot answer 429).

Over a limit: 429, a ``Retry-After`` header and a message a taxpayer understands; the rejection is
counted in ``taxbot_rate_limited`` (label: which limit).

The client address is the socket peer, unless the peer is a trusted proxy (``TAXBOT_TRUSTED_PROXIES``,
default loopback: `serve-scaled` runs nginx there): then the rightmost ``X-Forwarded-For`` address that
is not itself a trusted proxy (nginx appends the address it saw, so addresses a client wrote in the
header sit to the left and are never reached), else ``X-Real-IP``. IPv6 clients are counted per /64,
the block one subscriber line gets: counting single addresses would let anyone rotate through 2^64.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request

from channels.rate_limit import RateLimiter, RedisRateLimiter, build_limiter
from taxbot.observability.metrics import record_rate_limited
from taxbot.settings import Settings

Limiter = RateLimiter | RedisRateLimiter
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

TOO_MANY = "请求过于频繁，请稍后再试（约 {seconds} 秒后）。如需帮助，可拨打12366纳税缴费服务热线。"
_DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
RATE_LIMITED_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many requests from this address or conversation; `Retry-After` says when",
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
        "content": {"application/json": {"schema": _DETAIL}},
    }
}


@dataclass
class RateLimits:
    """The app's limiters (``app.state.rate_limits``) and the proxies whose headers are believed."""

    ip: Limiter
    poll: Limiter
    chat: Limiter
    trusted: tuple[Network, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        url = settings.redis_url
        return cls(
            ip=build_limiter("ip", settings.ip_rate_limit_per_minute, url),
            poll=build_limiter("poll", settings.poll_rate_limit_per_minute, url),
            chat=build_limiter("chat", settings.chat_rate_limit_per_minute, url),
            trusted=networks(settings.trusted_proxies),
        )

    def close(self) -> None:
        for limiter in (self.ip, self.poll, self.chat):
            limiter.close()


@asynccontextmanager
async def rate_limits_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = getattr(app.state, "settings", None)
    limits = RateLimits.from_settings(settings if isinstance(settings, Settings) else Settings())
    app.state.rate_limits = limits
    try:
        yield
    finally:
        limits.close()


def networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:1.2.3.4 is the IPv4 client 1.2.3.4 (dual-stack sockets)
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def client_address(request: Request, trusted: Iterable[Network]) -> str:
    """The key a client is counted under: its address (IPv6: its /64), see the module docstring."""
    trusted = tuple(trusted)
    peer_text = request.client.host if request.client else ""
    peer = _address(peer_text)
    if peer is None:
        return peer_text or "unknown"  # a Unix socket or the test client: the best name there is
    client = peer
    if _trusted(peer, trusted):
        headers = request.headers.getlist("x-forwarded-for")
        forwarded = [part for header in headers for part in header.split(",")]
        chosen = None
        for part in reversed(forwarded):
            hop = _address(part)
            if hop is None:
                break  # garbage in the chain: nothing to its left can be believed
            if not _trusted(hop, trusted):
                chosen = hop
                break
        real_ip = _address(request.headers.get("x-real-ip"))
        client = chosen or real_ip or peer
    if isinstance(client, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{client}/64", strict=False))
    return str(client)


def too_many(limit: str, wait: float) -> HTTPException:
    record_rate_limited(limit)
    seconds = max(1, math.ceil(wait))
    return HTTPException(
        status_code=429, detail=TOO_MANY.format(seconds=seconds), headers={"Retry-After": str(seconds)}
    )


def _limits(request: Request) -> RateLimits | None:
    # None only for an app assembled without the chat router (some channel tests): nothing to limit with
    return getattr(request.app.state, "rate_limits", None)


async def _limit_address(request: Request, which: str) -> None:
    limits = _limits(request)
    if limits is None:
        return
    limiter: Limiter = getattr(limits, which)
    if wait := await limiter.aacquire(client_address(request, limits.trusted)):
        raise too_many(which, wait)


async def limit_ip(request: Request) -> None:
    """Dependency of the public taxpayer routes: the per-address limit."""
    await _limit_address(request, "ip")


async def limit_poll(request: Request) -> None:
    """Dependency of the widget's poll: its own, more generous per-address limit."""
    await _limit_address(request, "poll")


async def limit_sender(request: Request, sender: str) -> None:
    """Called by `POST /api/chat` once the body is read and the message accepted: the per-sender limit."""
    limits = _limits(request)
    if limits is not None and (wait := await limits.chat.aacquire(f"web:{sender}")):
        raise too_many("chat", wait)


IpLimited = Depends(limit_ip)
PollLimited = Depends(limit_poll)
