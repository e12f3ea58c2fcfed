"""Sliding-window rate limits: in memory (one process) or in Redis (shared by app replicas).

Both limiters hold at most ``limit`` events per key in any ``window`` seconds (a sliding log) and offer
two verdicts on the same counts:

* ``check(key)`` — for channels that cannot answer "429" (SMS): "ok", then once "notice" (send one polite
  note), then "silent" until the window has room again;
* ``acquire(key)`` — for HTTP routes: ``0.0`` when the event is admitted (and counted), else the seconds
  until the oldest counted event leaves the window (the ``Retry-After`` of the 429). Refused events are
  not counted, so a client that keeps hammering is admitted again as soon as its window has room.

``RedisRateLimiter`` (``TAXBOT_REDIS_URL``) does each check in one Lua script, so two replicas checking
the same key at once cannot both take the last slot; times come from the Redis server (``TIME``), so the
replicas' clocks do not matter. If Redis cannot be reached the event is admitted and the error logged
(at most once a minute: an HTTP limiter sees every request): a missed limit costs a few extra answers, a
wrongly refused taxpayer costs an unanswered question. Calls are synchronous, one round trip bounded by
1 s timeouts; async routes use ``aacquire`` / ``acheck``, which keep that round trip off the event loop.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Literal

import redis
from starlette.concurrency import run_in_threadpool

from channels.masking import get_logger

logger = get_logger(__name__)

Verdict = Literal["ok", "notice", "silent"]
WINDOW_SECONDS = 60.0
ERROR_LOG_SECONDS = 60.0  # a Redis outage is logged once a minute per limiter, not once per request


class RateLimiter:
    """At most ``limit`` events per key in any ``window`` seconds, in this process's memory.

    In memory on purpose: the window is one minute, so what a restart forgets is at most a minute of
    counts (a few extra answers), while a table would cost writes per request; the app runs as one
    process (``taxbot serve``). Keys with nothing in the window are swept out once many are held.
    Several app replicas (``taxbot serve-scaled``) share ``RedisRateLimiter`` instead.
    """

    SWEEP_AT = 10_000

    def __init__(
        self, limit: int, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if window <= 0:
            raise ValueError(f"window must be positive, got {window!r}")
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: dict[str, deque[float]] = {}
        self._noticed: set[str] = set()
        self._swept_size = 0  # keys left by the last sweep

    def _wait(self, key: str) -> float:
        """Admit (record) an event for ``key`` and return 0.0, or return the seconds until it could be."""
        now = self.clock()
        if len(self._seen) >= max(self.SWEEP_AT, 2 * self._swept_size):
            self._sweep(now)
        times = self._seen.setdefault(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            return 0.0
        return max(times[0] + self.window - now, 0.001)

    def check(self, key: str) -> Verdict:
        if self.limit <= 0:
            return "ok"
        if self._wait(key) == 0.0:
            self._noticed.discard(key)
            return "ok"
        if key in self._noticed:
            return "silent"
        self._noticed.add(key)
        return "notice"

    def acquire(self, key: str) -> float:
        return 0.0 if self.limit <= 0 else self._wait(key)

    async def aacquire(self, key: str) -> float:
        return self.acquire(key)  # memory only: nothing to wait for

    async def acheck(self, key: str) -> Verdict:
        return self.check(key)

    def close(self) -> None:
        """Nothing to release (the same interface as ``RedisRateLimiter``)."""

    def _sweep(self, now: float) -> None:
        for key in [k for k, times in self._seen.items() if not times or now - times[-1] >= self.window]:
            del self._seen[key]
            self._noticed.discard(key)
        # many keys all still active (a flood of addresses): sweep again only once the map has doubled,
        # so a sweep is not paid on every request
        self._swept_size = len(self._seen)


# both scripts start here. ARGV: now (s, or "" = Redis TIME), window (s), limit, member
_PRELUDE = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1e6
end
local window, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
"""
# KEYS: the key's log, its "notice sent" flag
CHECK_SCRIPT = _PRELUDE + """local ttl = math.ceil(window * 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('DEL', KEYS[2])
  return 'ok'
end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ttl) then
  return 'notice'
end
return 'silent'
"""

# KEYS: the key's log. Returns 0 (admitted) or the milliseconds until a slot frees (>= 1):
# Redis turns Lua numbers into integers, so the wait travels as whole milliseconds
ACQUIRE_SCRIPT = _PRELUDE + """redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, math.ceil((tonumber(oldest[2]) + window - now) * 1000))
"""


class RedisRateLimiter:
    """``check`` and ``acquire`` like ``RateLimiter``, with the counts in Redis under ``key_prefix``."""

    def __init__(
        self,
        client: redis.Redis,
        limit: int,
        window: float = WINDOW_SECONDS,
        *,
        key_prefix: str = "taxbot:sms-rate",
        name: str = "sms",  # what the log line calls this limit
        clock: Callable[[], float] | None = None,  # None = the Redis server's clock (tests pass one)
    ) -> None:
        if window <= 0:
            raise ValueError(f"window must be positive, got {window!r}")
        self.client, self.limit, self.window = client, limit, window
        self.key_prefix, self.name, self.clock = key_prefix, name, clock
        self._check = client.register_script(CHECK_SCRIPT)
        self._acquire = client.register_script(ACQUIRE_SCRIPT)
        self._error_logged_at = -math.inf

    @classmethod
    def from_url(cls, url: str, limit: int, window: float = WINDOW_SECONDS, **kwargs) -> RedisRateLimiter:
        """A limiter on ``redis://[:password@]host:port/db`` (short timeouts: it sits in request paths)."""
        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return cls(client, limit, window, **kwargs)

    def _args(self) -> list[object]:
        now = "" if self.clock is None else repr(self.clock())
        return [now, self.window, self.limit, uuid.uuid4().hex]

    def _unchecked(self, exc: redis.RedisError) -> None:
        # no key in the line: for HTTP limits it is a client address or a sender id
        if time.monotonic() - self._error_logged_at >= ERROR_LOG_SECONDS:
            self._error_logged_at = time.monotonic()
            logger.error("%s rate limit not checked (Redis: %s); admitting until it is back", self.name, exc)

    def check(self, key: str) -> Verdict:
        if self.limit <= 0:
            return "ok"
        keys = [f"{self.key_prefix}:{key}", f"{self.key_prefix}:{key}:noticed"]
        try:
            verdict = self._check(keys=keys, args=self._args())
        except redis.RedisError as exc:
            self._unchecked(exc)
            return "ok"
        return verdict.decode() if isinstance(verdict, bytes) else verdict

    def acquire(self, key: str) -> float:
        if self.limit <= 0:
            return 0.0
        try:
            wait_ms = self._acquire(keys=[f"{self.key_prefix}:{key}"], args=self._args())
        except redis.RedisError as exc:
            self._unchecked(exc)
            return 0.0
        return int(wait_ms) / 1000

    async def aacquire(self, key: str) -> float:
        return await run_in_threadpool(self.acquire, key)

    async def acheck(self, key: str) -> Verdict:
        return await run_in_threadpool(self.check, key)

    def close(self) -> None:
        self.client.close()


def build_limiter(
    name: str, limit: int, redis_url: str = "", *, window: float = WINDOW_SECONDS
) -> RateLimiter | RedisRateLimiter:
    """Shared in Redis (keys ``taxbot:<name>-rate:*``) when ``redis_url`` is set (several app replicas),
    else in this process's memory."""
    if redis_url:
        return RedisRateLimiter.from_url(
            redis_url, limit, window, key_prefix=f"taxbot:{name}-rate", name=name
        )
    return RateLimiter(limit, window)
