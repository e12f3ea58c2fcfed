"""The SMS per-number rate limit in Redis, shared by every app replica (``TAXBOT_REDIS_URL``).

Same contract as the in-memory ``channels.sms.RateLimiter``: at most ``limit`` answered messages per
number in any ``window`` seconds (a sliding log: one sorted set per number, scored by time), then one
"notice", then "silent" until the window has room again. One Lua script does the whole check, so two
replicas checking the same number at once cannot both take the last slot. Times come from the Redis
server (``TIME``), so the replicas' clocks do not matter.

If Redis cannot be reached the message is answered ("ok") and the error logged: a missed limit costs a
few extra SMS, a wrongly silenced taxpayer costs an unanswered question. ``check`` is synchronous like
the in-memory one (the SMS route calls it inline): one round trip to Redis, bounded by 1 s timeouts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Literal

import redis

from channels.masking import get_logger

logger = get_logger(__name__)

Verdict = Literal["ok", "notice", "silent"]

# KEYS: the number's log, its "notice sent" flag. ARGV: now (s, or "" = Redis TIME), window (s), limit, member
CHECK_SCRIPT = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1e6
end
local window, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl = math.ceil(window * 1000)
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


class RedisRateLimiter:
    """``check(sender)`` like ``RateLimiter``, with the counts in Redis under ``key_prefix``."""

    def __init__(
        self,
        client: redis.Redis,
        limit: int,
        window: float = 60.0,
        *,
        key_prefix: str = "taxbot:sms-rate",
        clock: Callable[[], float] | None = None,  # None = the Redis server's clock (tests pass one)
    ) -> None:
        if window <= 0:
            raise ValueError(f"window must be positive, got {window!r}")
        self.client, self.limit, self.window = client, limit, window
        self.key_prefix, self.clock = key_prefix, clock
        self._script = client.register_script(CHECK_SCRIPT)

    @classmethod
    def from_url(cls, url: str, limit: int, window: float = 60.0, **kwargs) -> RedisRateLimiter:
        """A limiter on ``redis://[:password@]host:port/db`` (short timeouts: it sits in the SMS path)."""
        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return cls(client, limit, window, **kwargs)

    def check(self, sender: str) -> Verdict:
        if self.limit <= 0:
            return "ok"
        keys = [f"{self.key_prefix}:{sender}", f"{self.key_prefix}:{sender}:noticed"]
        now = "" if self.clock is None else repr(self.clock())
        try:
            verdict = self._script(keys=keys, args=[now, self.window, self.limit, uuid.uuid4().hex])
        except redis.RedisError as exc:
            logger.error("sms rate limit not checked for %s (Redis: %s); answering", sender, exc)
            return "ok"
        return verdict.decode() if isinstance(verdict, bytes) else verdict

    def close(self) -> None:
        self.client.close()
