"""Metrics and structured logs.  They wrap the core (middleware, store decorator); the core
itself neither logs nor counts."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import random
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any, TextIO, TypeVar

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from wallet_store.commands import MoneyOutcome
from wallet_store.model import ChainHead, Hold, JournalEntry, Round, TxRecord, Wallet
from wallet_store.ports import LedgerRecord, Tx, WalletStore

from .keys import GROOVE_LOG, LOG_EXC, STORE

T = TypeVar("T")

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def approx(value: Decimal) -> float:
    """Prometheus samples are floats: money metrics are approximate monitoring figures only,
    never read back for accounting (the journal is the truth)."""
    return float(value)


class Metrics:
    """The service's Prometheus metrics.

    Hot paths go through :meth:`observe`, :meth:`observe_groove` and the store timers, which
    keep the labelled children they have used in a dict: ``labels()`` validates and locks on
    every call (several µs), a dict hit does not.  The children are the very objects
    ``labels()`` returns (prometheus_client keeps one per label set), so nothing about the
    exported series changes; nothing here ever calls ``remove()``/``clear()``, which would
    orphan a cached child.  The caches are as bounded as the label sets themselves.
    """

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
            ["aggregator", "request", "currency", "direction"],
            registry=r,
        )
        self.ledger = Counter(
            "gw_ledger_moved",
            "Committed balance changes from every face (the journal): real + bonus by currency, kind and"
            " direction (approximate)",
            ["currency", "kind", "direction"],
            registry=r,
        )
        self.duplicates = Counter(
            "gw_duplicate_replays", "Replayed duplicate money requests", ["aggregator", "request"], registry=r
        )
        self.refusals = Counter(
            "gw_refusals",
            "Refused requests by aggregator, request type and code",
            ["aggregator", "request", "code"],
            registry=r,
        )
        self.rounds_open = Gauge("gw_rounds_open", "Game rounds with a wager and no completed result", registry=r)
        self.batch_size = Histogram(
            "gw_group_commit_batch_size",
            "Units of work per SQLite group commit",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=r,
        )
        self.ready = Gauge("gw_ready", "1 when the wallet store answers", registry=r)
        self.store_read_seconds = self.store_latency.labels("read")
        self.store_write_seconds = self.store_latency.labels("write")
        self._observed: dict[tuple[str, str, int | str], tuple[Any, Any]] = {}
        self._children: dict[tuple[Any, ...], Any] = {}

    def observe(self, face: str, request: str, code: int | str, seconds: float) -> None:
        children = self._observed.get((face, request, code))
        if children is None:
            children = (self.requests.labels(face, request, str(code)), self.latency.labels(face, request))
            self._observed[(face, request, code)] = children
        children[0].inc()
        children[1].observe(seconds)

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe_groove(self, request: str, code: int, seconds: float, outcome: MoneyOutcome | None) -> None:
        self.observe("groove", request, code, seconds)
        if code != 200:
            self._child(self.refusals, "groove", request, str(code)).inc()
        if outcome is None:
            return
        if outcome.duplicate:
            self._child(self.duplicates, "groove", request).inc()
            return
        rec = outcome.record
        debit = rec.kind in ("wager", "wagerAndResult", "reversewin", "rollbackrollback")
        moved = rec.real + rec.bonus
        if moved:
            self._child(self.money, "groove", request, rec.currency, "debit" if debit else "credit").inc(approx(moved))
        if outcome.win_record is not None:
            win = outcome.win_record.real + outcome.win_record.bonus
            if win:
                self._child(self.money, "groove", request, rec.currency, "credit").inc(approx(win))

    def observe_hub88(
        self, request: str, status: str, seconds: float, record: TxRecord | None = None, duplicate: bool = False
    ) -> None:
        """A Hub88 request (``request``: the endpoint, ``status``: the reply's ``RS_*``)."""
        self.observe("hub88", request, status, seconds)
        if status != "RS_OK":
            self._child(self.refusals, "hub88", request, status).inc()
        if duplicate:
            self._child(self.duplicates, "hub88", request).inc()
        elif record is not None and (moved := record.real + record.bonus):
            direction = "debit" if request == "bet" else "credit"
            self._child(self.money, "hub88", request, record.currency, direction).inc(approx(moved))

    def observe_entries(self, entries: Sequence[JournalEntry]) -> None:
        """Count the journal entries of one committed write (hold/capture entries that only
        move reserved funds count 0 here; their real + bonus part is the hold itself)."""
        for e in entries:
            moved = e.real_delta + e.bonus_delta
            if moved:
                direction = "credit" if moved > 0 else "debit"
                self._child(self.ledger, e.currency, e.kind, direction).inc(approx(abs(moved)))

    def render(self) -> bytes:
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)


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
            self._m.store_write_seconds.observe(time.perf_counter() - start)

    async def read(self, unit: Callable[[Tx], Awaitable[T]]) -> T:
        start = time.perf_counter()
        try:
            return await self.inner.read(unit)
        finally:
            self._m.store_read_seconds.observe(time.perf_counter() - start)

    def journal(self, account_id: str | None = None) -> AsyncIterator[JournalEntry]:
        return self.inner.journal(account_id)

    def wallets(self) -> AsyncIterator[Wallet]:
        return self.inner.wallets()

    def rounds(self) -> AsyncIterator[Round]:
        return self.inner.rounds()

    def open_holds(self) -> AsyncIterator[Hold]:
        return self.inner.open_holds()

    def transactions(self) -> AsyncIterator[TxRecord]:
        return self.inner.transactions()

    def ledger_records(self) -> AsyncIterator[LedgerRecord]:
        return self.inner.ledger_records()

    def chain_heads(self) -> AsyncIterator[ChainHead]:
        return self.inner.chain_heads()


class LineWriter:
    """structlog's output for ``groove-wallet serve``: rendered lines go to ``file`` once per
    event-loop iteration, in one ``write`` + ``flush``, instead of one ``print(flush=True)``
    (a syscall) per line.

    The bytes are exactly what ``PrintLogger`` writes (each line plus ``\n``, in order).  On
    the loop thread the flush is scheduled with ``call_soon``: it runs in the loop's next
    iteration, before the loop waits for I/O again, so a line is out within the iteration
    that logged it (every request finished in that iteration shares the one write).  A line
    logged with no running loop (CLI commands, other threads, shutdown) is written at once
    together with anything pending; the process flushes what is pending at exit.
    """

    def __init__(self, file: TextIO) -> None:
        self._file = file
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._scheduled_on: asyncio.AbstractEventLoop | None = None
        atexit.register(self.flush)

    def msg(self, message: str) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._lock:
            self._lines.append(message)
            if loop is not None and self._scheduled_on is loop:
                return  # the flush is already due in this loop's next iteration
            if loop is None or self._scheduled_on is not None:
                # No loop here, or the flush is due on another loop (which may be gone): now.
                self._scheduled_on = None
                self._write_pending()
                return
            self._scheduled_on = loop
            loop.call_soon(self.flush)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg

    def flush(self) -> None:
        with self._lock:
            self._scheduled_on = None
            self._write_pending()

    def _write_pending(self) -> None:
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        lines.append("")
        with contextlib.suppress(ValueError, OSError):  # stderr closed at interpreter exit
            self._file.write("\n".join(lines))
            self._file.flush()


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level), format="%(message)s")
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    processors.append(
        structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    writer = LineWriter(sys.stderr)
    # The access log's success lines skip structlog's processor chain (it was ~15 % of the
    # event loop's time under load): same JSON, same keys and order, written to the same
    # LineWriter.  Only for JSON logs at INFO or below; anything else takes the chain.
    global _fast_access
    _fast_access = writer if json_logs and getattr(logging, level) <= logging.INFO else None
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level)),
        logger_factory=lambda *args: writer,
        cache_logger_on_first_use=True,
    )


access_log = structlog.get_logger("groove_wallet.access")
_fast_access: LineWriter | None = None  # set by configure_logging
_stamp_second = -1
_stamp_prefix = ""


def _timestamp() -> str:
    """What structlog's ``TimeStamper(fmt="iso", utc=True)`` writes, with the second's
    text computed once per second (always 6 fractional digits)."""
    global _stamp_second, _stamp_prefix
    now = time.time()
    second = int(now)
    if second != _stamp_second:
        _stamp_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _stamp_second = second
    return f"{_stamp_prefix}.{int((now - second) * 1_000_000):06d}Z"


def _log_request(fields: dict[str, Any]) -> None:
    """One access-log line at INFO: the JSON structlog's chain would render (this module
    binds no context variables, so ``merge_contextvars`` adds nothing)."""
    writer = _fast_access
    if writer is None:
        access_log.info("request", **fields)
        return
    fields["event"] = "request"
    fields["level"] = "info"
    fields["timestamp"] = _timestamp()
    writer.msg(json.dumps(fields, default=str))


# X-Request-Id for a request that came without one: 128 random bits as 32 hex characters,
# like ``uuid4().hex``, from a per-process Mersenne Twister seeded from os.urandom (and reseeded
# in a forked child) instead of an ``os.urandom`` syscall per request.  A request id is a
# correlation id, not a secret or a capability.
_request_ids = random.Random()
os.register_at_fork(after_in_child=_request_ids.seed)


def new_request_id() -> str:
    return f"{_request_ids.getrandbits(128):032x}"


def _face(path: str) -> str:
    if path.startswith("/groove"):
        return "groove"
    if path.startswith("/hub88"):
        return "hub88"
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
    request_id = request.headers.get("X-Request-Id", "")[:64] or new_request_id()
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
            fields |= {
                "aggregator": g.get("aggregator", "groove"),
                "request": g["request"],
                "account": g["account"],
                "code": g["code"],
            }
        else:
            route = request.match_info.route.resource
            # An unmatched path is the caller's text (it may carry an e-mail) and unbounded in
            # variety: log and label it as one constant, never verbatim.
            fields["route"] = route.canonical if route is not None else "<unmatched>"
            if face != "system":
                request.app[METRICS].observe(face, fields["route"], status, seconds)
        failure = request.get(LOG_EXC)
        if failure is not None:
            access_log.error("request", exc_info=failure, **fields)
        elif face != "system" or status >= 400:
            _log_request(fields)


async def _open_rounds(tx: Tx) -> int:
    return await tx.count_open_rounds()


async def metrics_handler(request: web.Request) -> web.Response:
    m = request.app[METRICS]
    store = request.app[STORE]
    ready = await store.ping()
    m.ready.set(1 if ready else 0)
    if ready:
        m.rounds_open.set(await store.read(_open_rounds))
    return web.Response(body=m.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})


# --------------------------------------------------------------------------- background audit


audit_log = structlog.get_logger("groove_wallet.audit")


class AuditMonitor:
    """Runs ``run_audit`` every ``interval`` seconds in the background and exports the outcome.

    ``run_audit`` streams the journal, then the wallets, then the rounds, each in its own
    statement: under live traffic a wallet written between two of those scans looks out of
    step for that one pass.  Such a race names changing numbers, so a problem is counted
    only when a second pass, run right after, reports it again word for word; real drift
    (a broken link, a wallet that disagrees with its journal) is stable and survives it.
    """

    def __init__(self, metrics: Metrics, store: WalletStore, interval: float) -> None:
        r = metrics.registry
        self.store = store
        self.interval = interval
        self.problems = Gauge(
            "gw_audit_problems",
            "Problems the last background audit found (balances vs journal, hash chain, rounds), confirmed twice",
            registry=r,
        )
        self.last_run = Gauge(
            "gw_audit_last_run_timestamp_seconds", "Unix time the last background audit finished (0: never)", registry=r
        )
        self.duration = Gauge("gw_audit_duration_seconds", "How long the last background audit took", registry=r)
        self.runs = Counter("gw_audit_runs", "Background audits by outcome (ok, drift, error)", ["outcome"], registry=r)
        for outcome in ("ok", "drift", "error"):
            self.runs.labels(outcome)

    async def run_once(self) -> int:
        """One audit (plus its confirming pass when it found something); returns the problem count."""
        from wallet_store.audit import run_audit

        start = time.perf_counter()
        try:
            found = set((await run_audit(self.store)).problems)
            if found:
                await asyncio.sleep(min(1.0, self.interval))  # let requests in flight finish
                found &= set((await run_audit(self.store)).problems)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.runs.labels("error").inc()
            audit_log.error("audit failed", error=f"{type(exc).__name__}: {exc}")
            return -1
        self.problems.set(len(found))
        self.last_run.set(time.time())
        self.duration.set(time.perf_counter() - start)
        self.runs.labels("drift" if found else "ok").inc()
        if found:
            audit_log.error("audit drift", problems=len(found), first=sorted(found)[:20])
        return len(found)

    async def loop(self) -> None:
        await asyncio.sleep(min(self.interval, 60.0))
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval)


def audit_monitor_ctx(
    metrics: Metrics, store: WalletStore, interval: float
) -> Callable[[web.Application], AsyncIterator[None]]:
    """``cleanup_ctx`` entry: the background audit runs while the app is up (off when interval is 0)."""
    monitor = AuditMonitor(metrics, store, interval)

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(monitor.loop()) if interval > 0 else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return ctx
