"""Rate limits of the REST faces: per game and endpoint class, GCRA, in memory or in Redis.

Classes and defaults (the Player Balance API seed; settings ``GW_RATE_LIMIT_*``):

============  ==========  ===========================================================
class         per minute  routes
============  ==========  ===========================================================
individual    2000        balance by player id, private balance, history and other
                          single-player reads (every GET without an explicit class)
email         1500        balance by e-mail
batch         100         ``POST /api/player-balances/batch``
write         2000        credit, debit, private transactions, and every other
                          POST/PUT/DELETE (transfers, purchases, conversions): a bucket
                          of its own, so a read flood never starves money movements
                          and a runaway writer never starves balance reads
============  ==========  ===========================================================

plus a burst allowance of 50 % (``GW_RATE_LIMIT_BURST_PERCENT``): a game at rest may send
1.5x the per-minute figure at once, then the per-minute rate.  Over the limit: HTTP 429
with ``Retry-After`` (whole seconds, at least 1) in the face's JSON error shape; nothing
else happens (no store access, no money moved).  Limits apply after authentication (they
are per game); a request with a bad key is a 401 and counts against nothing.

Algorithm: GCRA (generic cell rate algorithm), the token bucket expressed as one number
per bucket, the *theoretical arrival time* (TAT).  ``interval`` = 60 s / per-minute figure,
``tau`` = (capacity - 1) x interval with capacity = per-minute x (100 + burst) / 100.  A
request at ``now`` is allowed when ``now >= TAT - tau``; it then moves TAT to
``max(TAT, now) + interval``.  Times are integer microseconds.

Where the buckets live:

* no ``GW_REDIS_URL``: in this process (each instance enforces the full limit itself);
* ``GW_REDIS_URL`` set: in Redis, one key per (game, class) under ``GW_REDIS_KEY_PREFIX``,
  updated by one Lua script (read TAT, decide, write TAT) so concurrent instances never
  race.  **Clock:** the script reads the Redis server's ``TIME``, so every instance uses
  one clock and skew between application hosts cannot loosen or tighten a limit.  An
  injected application clock (tests, ``create_app(clock=...)``) is passed to the script
  instead, so tests move time without sleeping.
* **Redis unreachable: degrade to per-instance limits** (neither fail-open nor
  fail-closed).  Failing closed would turn a cache outage into a payments outage; failing
  open would leave the database unprotected.  The local buckets keep every instance
  within the limit on its own (so N instances allow at most N x the limit) until Redis
  answers again; Redis is retried after ``GW_REDIS_RETRY_SECONDS`` and a warning is
  logged once per outage.

Per-game overrides (``PUT /admin/games/{game_id}/rate-limits``) are stored in the wallet
store (schema version 5) and cached per instance for ``GW_RATE_LIMIT_CACHE_SECONDS``
(the instance that took the admin call drops its cache entry at once).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from aiohttp import web

from config import Settings
from wallet_store.errors import NotFound
from wallet_store.model import Clock, iso
from wallet_store.ports import Tx, WalletStore
from wallet_store.rate_limits import GameRateLimits

log = logging.getLogger(__name__)

RateClass = Literal["individual", "email", "batch", "write"]
CLASSES: tuple[RateClass, ...] = get_args(RateClass)
LABELS: dict[RateClass, str] = {
    "individual": "individual queries",
    "email": "e-mail lookups",
    "batch": "batch queries",
    "write": "writes",
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_MINUTE_US = 60_000_000


def micros(ts: datetime) -> int:
    """A timestamp as integer microseconds since the epoch (exact, no float)."""
    return (ts - _EPOCH) // _US


@dataclass(frozen=True, slots=True)
class Rule:
    """One bucket's parameters: ``per_minute`` sustained, plus ``burst_percent`` at once."""

    per_minute: int
    burst_percent: int

    @property
    def capacity(self) -> int:
        """Requests a bucket at rest accepts at once."""
        return max(1, self.per_minute * (100 + self.burst_percent) // 100)

    @property
    def interval_us(self) -> int:
        """Time one request costs; rounded up, so the rate is never above the figure."""
        return -(-_MINUTE_US // self.per_minute)

    @property
    def tau_us(self) -> int:
        return (self.capacity - 1) * self.interval_us


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    wait_us: int = 0  # when refused: how long until one request would be allowed

    @property
    def retry_after(self) -> int:
        """``Retry-After`` in whole seconds, rounded up, at least 1."""
        return max(1, -(-self.wait_us // 1_000_000))


def gcra(tat_us: int | None, now_us: int, rule: Rule) -> tuple[Decision, int | None]:
    """One GCRA step: (decision, new TAT or None when refused).  Pure; the Lua script is
    the same computation."""
    tat = now_us if tat_us is None or tat_us < now_us else tat_us
    allow_at = tat - rule.tau_us
    if now_us < allow_at:
        return Decision(False, allow_at - now_us), None
    return Decision(True), tat + rule.interval_us


class RateLimited(Exception):
    """A request over its game's limit for its class (HTTP 429)."""

    def __init__(self, rate_class: RateClass, rule: Rule, decision: Decision) -> None:
        self.rate_class = rate_class
        self.rule = rule
        self.retry_after = decision.retry_after
        self.message = (
            f"rate limit exceeded: {rule.per_minute} {LABELS[rate_class]} per minute per game"
            f" (+{rule.burst_percent}% burst); retry after {self.retry_after} s"
        )
        super().__init__(self.message)


# ---------------------------------------------------------------------------- buckets


class MemoryBuckets:
    """Buckets of this process.  One entry per (game, class): bounded by the registered games."""

    def __init__(self) -> None:
        self._tat: dict[str, int] = {}

    def take(self, key: str, rule: Rule, now_us: int) -> Decision:
        decision, new_tat = gcra(self._tat.get(key), now_us, rule)
        if new_tat is not None:
            self._tat[key] = new_tat
        return decision


# KEYS[1]: the bucket.  ARGV: interval_us, tau_us, now_us (negative: use the server's TIME).
# Lua numbers are doubles: microsecond timestamps (~2^51) are exact.  TAT is written with
# %.0f because tostring() would use 14 significant digits.  The key expires when the
# bucket is full again, so idle games leave nothing behind.
GCRA_LUA = """
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local allow_at = tat - tau
if now < allow_at then
  return {0, allow_at - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 1000)
return {1, 0}
"""


class RedisBuckets:
    """Buckets shared by every instance pointing at one Redis; local buckets while it is down."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        server_time: bool,
        timeout: float = 0.25,
        retry_seconds: float = 5.0,
        fallback: MemoryBuckets | None = None,
    ) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No client-side retries: a failure falls back to local buckets at once, so a
        # Redis outage adds at most one timeout per retry period to a request.
        self._redis = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=30,
        )
        self._script = self._redis.register_script(GCRA_LUA)
        self._prefix = prefix
        self._server_time = server_time
        self._retry_seconds = retry_seconds
        self._local = fallback or MemoryBuckets()
        self._down_until = 0.0  # time.monotonic(): the breaker is process-local plumbing, not policy
        self.failures = 0

    async def take(self, key: str, rule: Rule, now_us: int) -> Decision:
        from redis.exceptions import RedisError

        if self._down_until and time.monotonic() < self._down_until:
            return self._local.take(key, rule, now_us)
        try:
            reply = await self._script(
                keys=[self._prefix + key],
                args=[rule.interval_us, rule.tau_us, -1 if self._server_time else now_us],
            )
        except (RedisError, OSError) as exc:
            self.failures += 1
            if not self._down_until:
                log.warning("redis unreachable, rate limits are per instance until it answers: %s", exc)
            self._down_until = time.monotonic() + self._retry_seconds
            return self._local.take(key, rule, now_us)
        if self._down_until:
            log.info("redis answers again, rate limits are shared")
            self._down_until = 0.0
        allowed, wait = int(reply[0]), int(reply[1])
        return Decision(bool(allowed), wait)

    async def close(self) -> None:
        await self._redis.aclose()


# ---------------------------------------------------------------------------- limiter


async def _load_overrides(store: WalletStore, game_id: str) -> GameRateLimits | None:
    async def unit(tx: Tx) -> GameRateLimits | None:
        return await tx.get_game_limits(game_id)

    return await store.read(unit)


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


class RateLimiter:
    """Decides, per request, whether a game may call an endpoint class now."""

    def __init__(
        self, settings: Settings, store: WalletStore, clock: Clock, *, buckets: MemoryBuckets | RedisBuckets
    ) -> None:
        self.enabled = settings.rate_limit_enabled
        self.defaults: dict[RateClass, int] = {
            "individual": settings.rate_limit_individual_per_min,
            "email": settings.rate_limit_email_per_min,
            "batch": settings.rate_limit_batch_per_min,
            "write": settings.rate_limit_write_per_min,
        }
        self.default_burst = settings.rate_limit_burst_percent
        self._cache_us = int(settings.rate_limit_cache_seconds * 1_000_000)
        self._store = store
        self._clock = clock
        self.buckets = buckets
        self._cache: dict[str, tuple[int, GameRateLimits | None]] = {}

    def rule(self, overrides: GameRateLimits | None, rate_class: RateClass) -> Rule:
        """The effective rule of one class for a game with these overrides."""
        o = overrides
        if o is None:
            return Rule(self.defaults[rate_class], self.default_burst)
        given = {
            "individual": o.individual_per_min,
            "email": o.email_per_min,
            "batch": o.batch_per_min,
            "write": o.write_per_min,
        }[rate_class]
        return Rule(_or(given, self.defaults[rate_class]), _or(o.burst_percent, self.default_burst))

    def rules(self, overrides: GameRateLimits | None) -> dict[RateClass, Rule]:
        """The effective rule of each class for a game with these overrides."""
        return {c: self.rule(overrides, c) for c in CLASSES}

    async def _overrides(self, game_id: str, now_us: int) -> GameRateLimits | None:
        hit = self._cache.get(game_id)
        if hit is not None and now_us < hit[0]:
            return hit[1]
        limits = await _load_overrides(self._store, game_id)
        self._cache[game_id] = (now_us + self._cache_us, limits)
        return limits

    def invalidate(self, game_id: str) -> None:
        self._cache.pop(game_id, None)

    async def check(self, game_id: str, rate_class: RateClass) -> None:
        """Take one request from the game's bucket of this class, or raise :class:`RateLimited`."""
        if not self.enabled:
            return
        now_us = micros(self._clock.now())
        rule = self.rule(await self._overrides(game_id, now_us), rate_class)
        key = f"{game_id}:{rate_class}"
        if isinstance(self.buckets, RedisBuckets):
            decision = await self.buckets.take(key, rule, now_us)
        else:
            decision = self.buckets.take(key, rule, now_us)
        if not decision.allowed:
            raise RateLimited(rate_class, rule, decision)

    async def close(self) -> None:
        if isinstance(self.buckets, RedisBuckets):
            await self.buckets.close()


def make_limiter(settings: Settings, store: WalletStore, clock: Clock, *, injected_clock: bool) -> RateLimiter:
    """In-memory buckets, or Redis ones when ``redis_url`` is set (server time unless a
    clock was injected)."""
    buckets: MemoryBuckets | RedisBuckets
    if settings.redis_url:
        buckets = RedisBuckets(
            settings.redis_url,
            prefix=settings.redis_key_prefix,
            server_time=not injected_clock,
            timeout=settings.redis_timeout_seconds,
            retry_seconds=settings.redis_retry_seconds,
        )
    else:
        buckets = MemoryBuckets()
    return RateLimiter(settings, store, clock, buckets=buckets)


def limiter_ctx(limiter: RateLimiter) -> Callable[[web.Application], AsyncIterator[None]]:
    """``cleanup_ctx`` entry: closes the Redis client on shutdown."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        yield
        await limiter.close()

    return ctx


# ---------------------------------------------------------------------------- admin use cases


def overrides_json(limiter: RateLimiter, game_id: str, o: GameRateLimits | None) -> dict[str, Any]:
    """What the admin API shows: the stored overrides and the effective limits."""
    rules = limiter.rules(o)
    return {
        "game_id": game_id,
        "overrides": {
            "individual_per_min": o.individual_per_min if o else None,
            "email_per_min": o.email_per_min if o else None,
            "batch_per_min": o.batch_per_min if o else None,
            "write_per_min": o.write_per_min if o else None,
            "burst_percent": o.burst_percent if o else None,
        },
        "effective": {
            c: {"per_minute": r.per_minute, "burst_percent": r.burst_percent, "capacity": r.capacity}
            for c, r in rules.items()
        },
        "updated_at": None if o is None else iso(o.updated_at),
    }


async def get_overrides(store: WalletStore, game_id: str) -> GameRateLimits | None:
    async def unit(tx: Tx) -> GameRateLimits | None:
        if await tx.get_game(game_id) is None:
            raise NotFound(f"game {game_id} not found")
        return await tx.get_game_limits(game_id)

    return await store.read(unit)


async def save_overrides(store: WalletStore, limits: GameRateLimits) -> GameRateLimits:
    async def unit(tx: Tx) -> GameRateLimits:
        if await tx.get_game(limits.game_id) is None:
            raise NotFound(f"game {limits.game_id} not found")
        await tx.save_game_limits(limits)
        return limits

    return await store.write(unit)
