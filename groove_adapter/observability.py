"""Metrics and structured logs.  They wrap the core (middleware, store decorator); the core
itself neither logs nor counts."""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from wallet_store.commands import MoneyOutcome
from wallet_store.model import JournalEntry, Round, TxRecord, Wallet
from wallet_store.ports import Tx, WalletStore

T = TypeVar("T")

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def approx(value: Decimal) -> float:
    """Prometheus samples are floats: money metrics are approximate monitoring figures only,
    never read back for accounting (the journal is the truth)."""
    return float(value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "gw_requests", "Requests by face, request type and code", ["face", "request", "code"], registry=r
        )
        self.latency = Histogram(
            "gw_request_seconds",
            "Request latency by face and request type",
            ["face", "request"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.store_latency = Histogram(
            "gw_store_seconds", "Wallet store latency by operation", ["op"], buckets=_LATENCY_BUCKETS, registry=r
        )
        self.money = Counter(
            "gw_money_moved",
            "Money moved (approximate) by request type, currency and direction",
            ["request", "currency", "direction"],
            registry=r,
        )
        self.duplicates = Counter("gw_duplicate_replays", "Replayed duplicate money requests", ["request"], registry=r)
        self.refusals = Counter(
            "gw_refusals", "Refused requests by request type and code", ["request", "code"], registry=r
        )
        self.rounds_open = Gauge("gw_rounds_open", "Game rounds with a wager and no completed result", registry=r)
        self.batch_size = Histogram(
            "gw_group_commit_batch_size",
            "Units of work per SQLite group commit",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=r,
        )
        self.ready = Gauge("gw_ready", "1 when the wallet store answers", registry=r)

    def observe(self, face: str, request: str, code: int | str, seconds: float) -> None:
        self.requests.labels(face, request, str(code)).inc()
        self.latency.labels(face, request).observe(seconds)

    def observe_groove(self, request: str, code: int, seconds: float, outcome: MoneyOutcome | None) -> None:
        self.observe("groove", request, code, seconds)
        if code != 200:
            self.refusals.labels(request, str(code)).inc()
        if outcome is None:
            return
        if outcome.duplicate:
            self.duplicates.labels(request).inc()
            return
        rec = outcome.record
        debit = rec.kind in ("wager", "wagerAndResult", "reversewin", "rollbackrollback")
        moved = rec.real + rec.bonus
        if moved:
            self.money.labels(request, rec.currency, "debit" if debit else "credit").inc(approx(moved))
        if outcome.win_record is not None:
            win = outcome.win_record.real + outcome.win_record.bonus
            if win:
                self.money.labels(request, rec.currency, "credit").inc(approx(win))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class InstrumentedStore:
    """A WalletStore decorator timing every unit of work."""

    def __init__(self, inner: WalletStore, metrics: Metrics) -> None:
        self.inner = inner
        self._m = metrics

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def ping(self) -> bool:
        return await self.inner.ping()

    async def write(self, unit: Callable[[Tx], Awaitable[T]]) -> T:
        start = time.perf_counter()
        try:
            return await self.inner.write(unit)
        finally:
            self._m.store_latency.labels("write").observe(time.perf_counter() - start)

    async def read(self, unit: Callable[[Tx], Awaitable[T]]) -> T:
        start = time.perf_counter()
        try:
            return await self.inner.read(unit)
        finally:
            self._m.store_latency.labels("read").observe(time.perf_counter() - start)

    def journal(self, account_id: str | None = None) -> AsyncIterator[JournalEntry]:
        return self.inner.journal(account_id)

    def wallets(self) -> AsyncIterator[Wallet]:
        return self.inner.wallets()

    def rounds(self) -> AsyncIterator[Round]:
        return self.inner.rounds()

    def transactions(self) -> AsyncIterator[TxRecord]:
        return self.inner.transactions()


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level), format="%(message)s")
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    processors.append(structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer())
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


access_log = structlog.get_logger("groove_wallet.access")


def _face(path: str) -> str:
    if path.startswith("/groove"):
        return "groove"
    if path.startswith("/admin"):
        return "admin"
    if path.startswith("/api/private"):
        return "private"
    if path.startswith("/api/"):
        return "rest"
    return "system"


@web.middleware
async def observe_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """One JSON log line per request: id, face, request type, account, code, duration.

    No secrets (tokens, keys, signatures) and no e-mail addresses are logged.
    """
    from .keys import GROOVE_LOG, LOG_EXC, METRICS

    request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    start = time.perf_counter()
    status = 500
    try:
        resp = await handler(request)
        status = resp.status
        resp.headers["X-Request-Id"] = request_id
        return resp
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        seconds = time.perf_counter() - start
        face = _face(request.path)
        g = request.get(GROOVE_LOG)
        fields: dict[str, Any] = {
            "request_id": request_id,
            "face": face,
            "method": request.method,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        }
        if g:
            fields |= {"request": g["request"], "account": g["account"], "code": g["code"]}
        else:
            route = request.match_info.route.resource
            fields["route"] = route.canonical if route is not None else request.path[:100]
            if face != "system":
                request.app[METRICS].observe(face, fields["route"], status, seconds)
        failure = request.get(LOG_EXC)
        if failure is not None:
            access_log.error("request", exc_info=failure, **fields)
        elif face != "system" or status >= 400:
            access_log.info("request", **fields)


async def _open_rounds(tx: Tx) -> int:
    return await tx.count_open_rounds()


async def metrics_handler(request: web.Request) -> web.Response:
    from .keys import METRICS, STORE

    m = request.app[METRICS]
    store = request.app[STORE]
    ready = await store.ping()
    m.ready.set(1 if ready else 0)
    if ready:
        m.rounds_open.set(await store.read(_open_rounds))
    return web.Response(body=m.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})
