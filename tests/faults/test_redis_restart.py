"""Redis restarted under the SMS rate limiter: it fails open while Redis is down and limits again after.

A private, non-persistent server (tests/faults/conftest.py): the restart loses the counts, as a real
restart without persistence does, and the limit starts afresh.
"""

from __future__ import annotations

from channels.rate_limit import RedisRateLimiter

PHONE = "13800138000"


def test_limiter_fails_open_while_down_and_limits_after_restart(private_redis, caplog):
    limiter = RedisRateLimiter.from_url(private_redis.url, limit=2, window=60.0)
    try:
        assert [limiter.check(PHONE) for _ in range(4)] == ["ok", "ok", "notice", "silent"]
        private_redis.stop()
        assert [limiter.check(PHONE) for _ in range(3)] == ["ok", "ok", "ok"]  # answered, not silenced
        assert "sms rate limit not checked" in caplog.text
        assert PHONE not in caplog.text  # the number is masked in the error
        private_redis.start()  # same port, empty: the script cache is gone too
        verdicts = [limiter.check(PHONE) for _ in range(4)]
        assert verdicts == ["ok", "ok", "notice", "silent"]
    finally:
        limiter.close()
