"""The limits themselves (facilitation/edges/limits.py): a bucket's cost per call does not grow with
the keys it holds; a refund; and the security limits shared by processes through Redis, each
falling back to its own bucket while Redis does not answer.

Each `SharedLimits` here stands for one app process; they share a real Redis under a key
prefix of the test's own."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from conftest import forget_redis_keys

from facilitation.edges import limits
from facilitation.edges.limits import SharedLimits, TokenBucket, security_limits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_each_call_costs_the_same_however_many_keys_the_bucket_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1 / 60, burst=5, clock=clock)
    looked_at = 0
    level = bucket._level

    def counting(*args: Any) -> float:
        nonlocal looked_at
        looked_at += 1
        return level(*args)

    monkeypatch.setattr(bucket, "_level", counting)
    for size in (100, 20_000, 60_000):
        while len(bucket._buckets) < size:
            bucket.allow(("address", len(bucket._buckets)))
        looked_at = 0
        assert bucket.allow(("address", "new"))
        assert bucket.has_tokens(("address", "other"))
        # The same few buckets looked at, at 100 keys as at 60,000 (none of them full).
        assert looked_at <= limits.FORGET_PER_CALL + 2, (size, looked_at)


def test_a_bucket_keeps_at_most_its_number_of_keys() -> None:
    bucket = TokenBucket(rate=1 / 60, burst=5, clock=Clock(), max_keys=100)
    for key in range(1000):
        bucket.allow(key)
        assert len(bucket._buckets) <= 101
    assert 999 in bucket._buckets and 0 not in bucket._buckets  # the least recently used go


def test_looking_at_a_key_never_seen_keeps_nothing() -> None:
    bucket = TokenBucket(rate=1, burst=2, clock=Clock())
    assert all(bucket.has_tokens(f"guess-{i}") for i in range(100))
    assert len(bucket._buckets) == 0


def test_a_refund_gives_back_one_token_up_to_the_burst() -> None:
    bucket = TokenBucket(rate=1 / 60, burst=2, clock=Clock())
    assert bucket.allow("a") and bucket.allow("a") and not bucket.allow("a")
    bucket.refund("a")
    assert bucket.allow("a") and not bucket.allow("a")
    bucket.refund("a")
    bucket.refund("a")
    bucket.refund("a")  # never beyond the burst
    assert [bucket.allow("a") for _ in range(3)] == [True, True, False]
    bucket.refund("never seen")  # nothing to give back, nothing kept
    assert "never seen" not in bucket._buckets


def test_without_a_message_queue_the_security_limits_are_buckets_in_memory() -> None:
    assert isinstance(security_limits(None, "samsyn", "secret")("join", 1 / 15, 20), TokenBucket)


# --- Shared through Redis -------------------------------------------------------------------


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"samsyn-test-{uuid.uuid4().hex[:8]}"
    yield name
    forget_redis_keys(redis_url, name)


def test_processes_on_one_redis_share_one_allowance(redis_url: str, prefix: str) -> None:
    a = SharedLimits(redis_url, prefix, "secret").limit("tries", 1 / 60, 5)
    b = SharedLimits(redis_url, prefix, "secret").limit("tries", 1 / 60, 5)
    key = ("address", "192.0.2.1")
    spent = [a.allow(key), b.allow(key), a.allow(key), b.allow(key), a.allow(key)]
    assert spent == [True] * 5
    assert not b.allow(key) and not a.allow(key)  # five between them, not five each
    assert not a.has_tokens(key) and b.has_tokens(("address", "192.0.2.2"))
    a.refund(key)  # a right password gives its try back, for every process
    assert b.has_tokens(key) and b.allow(key) and not a.allow(key)
    # Another limit, or another installation on the same Redis, counts apart.
    assert SharedLimits(redis_url, prefix, "secret").limit("join", 1 / 15, 20).allow(key)
    assert SharedLimits(redis_url, prefix + "-other", "secret").limit("tries", 1, 5).allow(key)
    forget_redis_keys(redis_url, prefix + "-other")


def test_redis_holds_no_address_or_username(redis_url: str, prefix: str) -> None:
    shared = SharedLimits(redis_url, prefix, "secret").limit("tries", 1 / 60, 5)
    shared.allow(("address", "192.0.2.77"))
    shared.allow(("account", "login:kommun@example.se"))
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [k.decode() for k in client.scan_iter(f"{prefix}:*")]
    finally:
        client.close()
    assert len(keys) == 2, keys
    assert not any("192.0.2.77" in k or "kommun" in k for k in keys), keys


def test_without_redis_each_process_keeps_its_own_limit_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "facilitation.edges.limits")
    clock = Clock()
    shared = SharedLimits("redis://127.0.0.1:1/0", "samsyn-test", "secret", clock=clock)
    limit = shared.limit("tries", 1 / 60, 5)
    assert [limit.allow("k") for _ in range(7)] == [True] * 5 + [False] * 2
    assert not limit.has_tokens("k")
    limit.refund("k")
    assert limit.allow("k")
    clock.now += limits.RETRY_AFTER + 1  # tries Redis again, still away
    assert not limit.allow("k")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "per process" in warnings[0].getMessage()


def test_when_redis_answers_again_the_limits_are_shared_again(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, "facilitation.edges.limits")
    clock = Clock()
    shared = SharedLimits(redis_url, prefix, "secret", clock=clock)
    limit = shared.limit("tries", 1 / 60, 2)
    other = SharedLimits(redis_url, prefix, "secret").limit("tries", 1 / 60, 2)

    def away(*_: Any, **__: Any) -> bool:
        raise redis.ConnectionError("away")

    with monkeypatch.context() as patch:
        patch.setattr(shared.limiter, "hit", away)
        assert limit.allow("k") and limit.allow("k") and not limit.allow("k")  # its own
    assert not limit.allow("k")  # still within RETRY_AFTER: not tried yet
    clock.now += limits.RETRY_AFTER + 1
    assert limit.allow("k")  # Redis again, where "k" had spent nothing
    assert other.allow("k") and not limit.allow("k")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("per process" in m for m in messages) == 1
    assert sum("shared through Redis again" in m for m in messages) == 1
