"""Rate limits of the REST faces, through HTTP on both backends, with the injected clock.

Per game and endpoint class (individual / e-mail / batch / write), the seed's defaults plus
a 50 % burst, 429 with ``Retry-After`` in the face's error shape, recovery when the clock
moves on, per-game overrides through the admin API (stored, schema version 5), and Redis
shared by two app instances (with the local fallback when Redis is unreachable).
"""

from __future__ import annotations

import os
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.jsonout import loads
from groove_adapter.keys import RATE_LIMITER
from groove_adapter.ratelimit import MemoryBuckets, RedisBuckets, Rule, gcra
from tests.conftest import ADMIN_TOKEN, Api, FakeClock

PB = "/api/player-balances"
REDIS_URL = os.environ.get("GW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def game(api: Api, game_id: str, operator_id: str = "11") -> str:
    body = await api.admin(
        "POST", "/admin/games", {"operator_id": operator_id, "game_id": game_id, "name": "Slots"}, expect=201
    )
    return str(body["secret_key"])


async def call(
    client: TestClient, method: str, path: str, key: str, body: Any = None, *, private: bool = False
) -> tuple[int, Any, Any]:
    headers = {"x-api-key" if private else "X-Game-Secret-Key": key}
    resp = await client.request(method, path, json=body, headers=headers)
    text = await resp.text()
    return resp.status, (loads(text) if text else None), resp.headers


@pytest.fixture
async def world(api: Api) -> dict[str, str]:
    """Operator 11 with players 1001 and 1002; games g1 and g2 of operator 11."""
    await api.operator("11")
    await api.player("1001")
    await api.player("1002")
    return {"g1": await game(api, "g1"), "g2": await game(api, "g2")}


async def set_limits(api: Api, game_id: str, expect: int = 200, **limits: Any) -> Any:
    return await api.admin("PUT", f"/admin/games/{game_id}/rate-limits", limits, expect=expect)


def batch(email: str = "p1001@example.com") -> dict[str, Any]:
    return {"player_emails": [email]}


# --------------------------------------------------------------------------- the seed's defaults


async def test_batch_default_limit_plus_burst_then_429_and_recovery(
    client: TestClient, world: dict[str, str], clock: FakeClock
) -> None:
    key = world["g1"]
    # 100 batch queries per minute + 50 % burst: 150 at once are accepted ...
    for i in range(150):
        status, body, _ = await call(client, "POST", f"{PB}/batch", key, batch())
        assert status == 200, (i, body)
    # ... the 151st is refused, with Retry-After and the face's error shape.
    status, body, headers = await call(client, "POST", f"{PB}/batch", key, batch())
    assert status == 429
    assert headers["Retry-After"] == "1"  # one request every 0.6 s: rounded up to whole seconds
    assert body["status"] == 429
    assert body["kind"] == "RateLimited"
    assert "100 batch queries per minute" in body["error"]
    # Still refused while the clock stands still; accepted once Retry-After has passed.
    assert (await call(client, "POST", f"{PB}/batch", key, batch()))[0] == 429
    clock.advance(seconds=1)
    assert (await call(client, "POST", f"{PB}/batch", key, batch()))[0] == 200
    assert (await call(client, "POST", f"{PB}/batch", key, batch()))[0] == 429  # 1 s refills one request
    # A minute at rest refills 100 (not the burst: that takes 90 s).
    clock.advance(seconds=60)
    for _ in range(100):
        assert (await call(client, "POST", f"{PB}/batch", key, batch()))[0] == 200
    assert (await call(client, "POST", f"{PB}/batch", key, batch()))[0] == 429


async def test_limits_are_per_game_and_per_class(
    api: Api, client: TestClient, world: dict[str, str], clock: FakeClock
) -> None:
    await set_limits(api, "g1", email_per_min=2, individual_per_min=3, burst_percent=0)
    g1, g2 = world["g1"], world["g2"]
    by_email = f"{PB}/player/by-email/p1001@example.com"
    assert (await call(client, "GET", by_email, g1))[0] == 200
    assert (await call(client, "GET", by_email, g1))[0] == 200
    status, body, headers = await call(client, "GET", by_email, g1)
    assert status == 429
    assert "2 e-mail lookups per minute" in body["error"]
    assert headers["Retry-After"] == "30"
    # another class of the same game, and the same class of another game: unaffected
    for _ in range(3):
        assert (await call(client, "GET", f"{PB}/player/1001", g1))[0] == 200
    assert (await call(client, "GET", f"{PB}/player/1001", g1))[0] == 429
    for _ in range(10):
        assert (await call(client, "GET", by_email, g2))[0] == 200
    # a refused request with a bad key is a 401 and counts against nobody
    assert (await call(client, "GET", by_email, "gwk_wrong"))[0] == 401
    clock.advance(seconds=30)
    assert (await call(client, "GET", by_email, g1))[0] == 200
    assert (await call(client, "GET", by_email, g1))[0] == 429


async def test_write_over_limit_moves_no_money(
    api: Api, client: TestClient, world: dict[str, str], clock: FakeClock
) -> None:
    await set_limits(api, "g1", write_per_min=1, burst_percent=0)
    key = world["g1"]

    def credit(idem: str) -> dict[str, Any]:
        return {"player_id": "1001", "currency": "EUR", "amount": "10", "idempotency_key": idem}

    status, body, _ = await call(client, "POST", f"{PB}/credit", key, credit("c1"))
    assert status == 200
    assert body["new_balance"] == "160.00"
    status, body, headers = await call(client, "POST", f"{PB}/credit", key, credit("c2"))
    assert status == 429
    assert headers["Retry-After"] == "60"
    status, body, _ = await call(client, "POST", f"{PB}/debit", key, credit("d1"))
    assert status == 429, "debit shares the write class"
    assert await api.balances("1001") == (Decimal("110"), Decimal("50"))  # nothing moved
    # reads are another class
    status, body, _ = await call(client, "GET", f"{PB}/player/1001", key)
    assert status == 200
    assert body["balances"][0]["available_balance"] == "160.00"
    clock.advance(seconds=60)
    status, body, _ = await call(client, "POST", f"{PB}/credit", key, credit("c2"))
    assert status == 200
    assert body["new_balance"] == "170.00"
    assert await api.balances("1001") == (Decimal("120"), Decimal("50"))


async def test_private_face_429_envelope(api: Api, client: TestClient, world: dict[str, str], clock: FakeClock) -> None:
    await set_limits(api, "g1", individual_per_min=1, write_per_min=1, burst_percent=0)
    key = world["g1"]
    path = "/api/private/users/1001/wallets/balance"
    assert (await call(client, "GET", path, key, private=True))[0] == 200
    status, body, headers = await call(client, "GET", path, key, private=True)
    assert status == 429
    assert headers["Retry-After"] == "60"
    assert body["error"] is True
    assert "individual queries" in body["message"]
    tx = {"currency": "EUR", "amount": 1, "type": "credit", "idempotencyKey": "k1"}
    tx_path = "/api/private/users/1001/wallet/EUR/transactions"
    assert (await call(client, "POST", tx_path, key, tx, private=True))[0] == 200
    status, body, headers = await call(client, "POST", tx_path, key, tx | {"idempotencyKey": "k2"}, private=True)
    assert status == 429
    assert body["error"] is True
    assert "writes" in body["message"]


# --------------------------------------------------------------------------- overrides (admin API)


async def test_admin_rate_limit_overrides(api: Api, client: TestClient, world: dict[str, str]) -> None:
    body = await api.admin("GET", "/admin/games/g1/rate-limits", expect=200)
    assert body["overrides"] == {
        "individual_per_min": None,
        "email_per_min": None,
        "batch_per_min": None,
        "write_per_min": None,
        "burst_percent": None,
    }
    assert body["effective"]["individual"] == {"per_minute": 2000, "burst_percent": 50, "capacity": 3000}
    assert body["effective"]["batch"] == {"per_minute": 100, "burst_percent": 50, "capacity": 150}
    assert body["effective"]["email"] == {"per_minute": 1500, "burst_percent": 50, "capacity": 2250}
    assert body["updated_at"] is None

    body = await set_limits(api, "g1", batch_per_min=10, burst_percent=100)
    assert body["overrides"]["batch_per_min"] == 10
    assert body["overrides"]["email_per_min"] is None
    assert body["effective"]["batch"] == {"per_minute": 10, "burst_percent": 100, "capacity": 20}
    assert body["effective"]["email"]["per_minute"] == 1500  # not overridden: the default
    assert body["updated_at"] is not None
    again = await api.admin("GET", "/admin/games/g1/rate-limits", expect=200)
    assert again == body
    other = await api.admin("GET", "/admin/games/g2/rate-limits", expect=200)
    assert other["overrides"]["batch_per_min"] is None

    # a PUT replaces: {} brings every class back to the defaults
    body = await set_limits(api, "g1")
    assert body["effective"]["batch"]["capacity"] == 150

    # validation, unknown game, auth
    for bad in (
        {"batch_per_min": 0},
        {"batch_per_min": 1_000_001},
        {"batch_per_min": "10"},
        {"batch_per_min": 1.5},
        {"burst_percent": -1},
        {"burst_percent": 1001},
        {"rate": 5},
    ):
        resp = await api.admin("PUT", "/admin/games/g1/rate-limits", bad, expect=400)
        assert resp["error"] == "invalid request", bad
    await set_limits(api, "nope", expect=404, batch_per_min=5)
    await api.admin("GET", "/admin/games/nope/rate-limits", expect=404)
    await api.admin("GET", "/admin/games/bad%20id/rate-limits", expect=400)
    resp = await client.put("/admin/games/g1/rate-limits", json={"batch_per_min": 5})
    assert resp.status == 401


async def test_override_takes_effect_at_once(
    api: Api, client: TestClient, world: dict[str, str], clock: FakeClock
) -> None:
    key = world["g1"]
    assert (await call(client, "GET", f"{PB}/player/1001", key))[0] == 200  # cached: the defaults
    await set_limits(api, "g1", individual_per_min=1, burst_percent=0)  # capacity 1, one per minute
    status, _, headers = await call(client, "GET", f"{PB}/player/1001", key)
    assert status == 429  # the request before (30 ms of the default rate) is not paid off yet
    assert headers["Retry-After"] == "1"
    clock.advance(seconds=1)
    assert (await call(client, "GET", f"{PB}/player/1001", key))[0] == 200
    status, _, headers = await call(client, "GET", f"{PB}/player/1001", key)
    assert status == 429
    assert headers["Retry-After"] == "60"
    await set_limits(api, "g1")  # back to 2000/min: a debt of 60 s is inside its ~90 s burst
    assert (await call(client, "GET", f"{PB}/player/1001", key))[0] == 200


# --------------------------------------------------------------------------- GCRA


def test_gcra_capacity_interval_and_retry_after() -> None:
    rule = Rule(per_minute=100, burst_percent=50)
    assert (rule.capacity, rule.interval_us, rule.tau_us) == (150, 600_000, 149 * 600_000)
    assert Rule(1500, 50).capacity == 2250
    assert Rule(2000, 50).interval_us == 30_000
    assert Rule(7, 0).interval_us == 8_571_429  # rounded up: never faster than the figure
    b = MemoryBuckets()
    now = 1_000_000_000
    assert all(b.take("k", rule, now).allowed for _ in range(150))
    refused = b.take("k", rule, now)
    assert not refused.allowed
    assert refused.wait_us == 600_000
    assert refused.retry_after == 1
    assert b.take("k", rule, now + 600_000).allowed
    decision, tat = gcra(None, now, Rule(1, 0))
    assert decision.allowed
    assert tat == now + 60_000_000
    decision, tat = gcra(now + 60_000_000, now, Rule(1, 0))
    assert not decision.allowed
    assert tat is None
    assert decision.retry_after == 60


# --------------------------------------------------------------------------- Redis


@pytest.fixture
async def redis_prefix() -> Any:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    from redis.asyncio import Redis

    prefix = f"gwtest:{secrets.token_hex(6)}:"
    yield prefix
    r = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in r.scan_iter(match=prefix + "*")]
        if keys:
            await r.delete(*keys)
    finally:
        await r.aclose()


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'wallet.db'}", admin_token=SecretStr(ADMIN_TOKEN), **kw)


async def test_redis_shares_the_limit_between_two_instances(
    aiohttp_client: Any, make_store: Any, tmp_path: Path, redis_prefix: str
) -> None:
    clock = FakeClock()
    s = _settings(tmp_path, redis_url=REDIS_URL, redis_key_prefix=redis_prefix)
    # two app instances on one database (same SQLite file / PostgreSQL schema), one Redis
    a = await aiohttp_client(create_app(s, store=make_store(), clock=clock))
    b = await aiohttp_client(create_app(s, store=make_store(), clock=clock))
    api = Api(a)
    await api.operator("11")
    await api.player("1001")
    key = await game(api, "g1")
    await set_limits(api, "g1", individual_per_min=4, burst_percent=50)  # capacity 6, one per 15 s
    path = f"{PB}/player/1001"
    for client in (a, b, a, b, a, b):
        assert (await call(client, "GET", path, key))[0] == 200
    for client in (a, b):
        status, body, headers = await call(client, "GET", path, key)
        assert status == 429, body
        assert headers["Retry-After"] == "15", body
    clock.advance(seconds=15)
    assert (await call(b, "GET", path, key))[0] == 200
    assert (await call(a, "GET", path, key))[0] == 429
    limiter = a.app[RATE_LIMITER]
    assert isinstance(limiter.buckets, RedisBuckets)
    assert limiter.buckets.failures == 0


async def test_redis_unreachable_degrades_to_local_limits(
    aiohttp_client: Any, make_store: Any, tmp_path: Path, clock: FakeClock
) -> None:
    # Port 1 on localhost: connection refused at once.
    s = _settings(tmp_path, redis_url="redis://127.0.0.1:1/0", redis_timeout_seconds=0.5)
    c = await aiohttp_client(create_app(s, store=make_store(), clock=clock))
    api = Api(c)
    await api.operator("11")
    await api.player("1001")
    key = await game(api, "g1")
    await set_limits(api, "g1", individual_per_min=2, burst_percent=0)
    path = f"{PB}/player/1001"
    # Neither a 500 nor unlimited: the instance enforces the limit on its own.
    assert (await call(c, "GET", path, key))[0] == 200
    assert (await call(c, "GET", path, key))[0] == 200
    status, body, headers = await call(c, "GET", path, key)
    assert status == 429, body
    assert headers["Retry-After"] == "30", body
    buckets = c.app[RATE_LIMITER].buckets
    assert isinstance(buckets, RedisBuckets)
    assert buckets.failures == 1  # then Redis is left alone a while
    assert (await c.get("/readyz")).status == 200


async def test_redis_script_matches_local_gcra_and_uses_server_time(redis_prefix: str) -> None:
    injected = RedisBuckets(REDIS_URL, prefix=redis_prefix, server_time=False)
    server = RedisBuckets(REDIS_URL, prefix=redis_prefix, server_time=True)
    try:
        local = MemoryBuckets()
        rule = Rule(per_minute=30, burst_percent=50)  # capacity 45, one per 2 s
        now = 1_700_000_000_000_000
        steps = [0, 0, 1, 5, 100_000, 1_999_999, 2_000_000, 7_000_001, 60_000_000, 3]
        for i in range(300):
            now += steps[i % len(steps)] * (i % 3)
            expect = local.take("k", rule, now)
            got = await injected.take("k", rule, now)
            assert got == expect, (i, now)
        # Server time: the instances' clocks do not matter (the argument is ignored).
        small = Rule(per_minute=1, burst_percent=200)  # capacity 3
        assert [(await server.take("s", small, 0)).allowed for _ in range(4)] == [True, True, True, False]
        refused = await server.take("s", small, 10**18)
        assert not refused.allowed
        assert 0 < refused.wait_us <= 60_000_000
    finally:
        await injected.close()
        await server.close()
