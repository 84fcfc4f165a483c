"""Embedded SQLite backend (aiosqlite) with group commit.

Writes: one writer connection and one writer task.  Units of work queued while the
previous commit was in flight are run one after another inside a single
``BEGIN IMMEDIATE ... COMMIT``, each inside its own SAVEPOINT, so a unit that raises is
rolled back alone and the others still commit.  Every caller is answered only after the
COMMIT that holds its unit returned (``synchronous=FULL`` by default: the WAL is fsynced).
The queue is bounded: when it is full, ``write`` waits (backpressure), it never grows
without limit.

Reads: a small pool of read-only connections in WAL mode, so reads never wait for the
writer.

Page caches: the writer keeps a large page cache (``cache_mb``; it is the only writer, so
its cache stays valid across commits).  Readers' caches are reset whenever another
connection commits (WAL), so they map the file instead (``mmap_mb``): B-tree pages of the
main file come from the OS page cache without a syscall each.  The WAL is checkpointed
every ``checkpoint_pages`` pages (SQLite's default of 1000 = 4 MB ran a checkpoint every few
batches on the commit path).

Why the units run on the connection's thread and reads on reader threads, not inline on
the event loop (which would save the hops): measured both ways, server CPU per request,
both variants loaded at the same time on the same core (``bench/cpu_per_request.py
--simultaneous``, median of 5): inline point reads cost 1.25x the CPU per getbalance
(166 vs 134 us), inline units with only COMMIT on the thread 1.07x per durable wager
(400 vs 379 us).  Measured again with getbalance as one statement (``Tx.load_view``), on a
plain ``sqlite3`` connection on the loop with ``busy_timeout = 0``: 1.17x (1.13-1.20) the
CPU per getbalance, and fewer replies per second.  Interleaving SQLite's work with each
request's HTTP work on one thread costs more than the hand-off; the threads run queued
work back to back.

One writer means every unit of work sees the effects of all units before it: that is the
isolation (serializable) and why ``lock_player`` is a plain read here.

Thread hops: aiosqlite runs each connection on its own thread and hands every statement
across.  A wager is a dozen statements, so statement-by-statement hops would dominate.
Instead a whole batch (or a whole read unit) is handed to the connection's thread once
(:func:`_on_thread`), where the units' coroutines are driven to completion synchronously
(:func:`_drive`): :class:`SqliteTx` methods are ``async def`` for the Protocol but never
suspend, they call the thread's ``sqlite3.Connection`` directly.

What this store decides: nothing of the business.  It loads and persists; the row mapping
and the statement parameters are :mod:`wallet_store.sql` (shared with PostgreSQL, the codec
is the only difference), and the filtered reads (open rounds, due holds, a journal page, a
player by e-mail) are :class:`~wallet_store.sql.reads.SqlReads`, whose predicates come from
:mod:`wallet_store.domain.selection`.  What stays in SQL, and why: keys and uniqueness (the
transaction record's key, a flow's or payment's idempotency key, the e-mail per operator:
a concurrent duplicate must fail at commit), the optimistic ``seq`` check of ``save_wallet``
and the chain head that only moves forward (atomic with the write), ``drop_refusal``'s state
condition (given by the domain, checked in the same statement as the delete), and the
filters an index serves (see :mod:`wallet_store.sql.reads`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import aiosqlite

from .. import model
from ..errors import Conflict, StoreUnavailable, TechnicalError
from ..ports import LedgerRecord
from ..sql import rows as cols
from ..sql.reads import OPEN_HOLDS_SQL
from .migrations import MIGRATIONS
from .tx import ROWS, SqliteTx

T = TypeVar("T")
log = logging.getLogger(__name__)


_Unit = Callable[[SqliteTx], Awaitable[Any]]
_Item = tuple[_Unit, "asyncio.Future[Any]"]


def _drive(awaitable: Awaitable[T]) -> T:
    """Run a unit of work's coroutine to completion on this thread, without an event loop.

    SqliteTx methods never suspend, so a unit finishes in one ``send``.  A unit that awaits
    anything else (a sleep, a network call) is a programming error and is refused.
    """
    if not isinstance(awaitable, Coroutine):
        raise TechnicalError("a unit of work must be a coroutine")
    coro = awaitable
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise TechnicalError("a unit of work awaited something other than the store")


async def _on_thread(conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``fn(raw sqlite3 connection)`` on the aiosqlite connection's own thread: one hop.

    Uses aiosqlite's ``_execute``/``_conn`` (private, stable since 0.17; version pinned in
    pyproject.toml) because the public API hands over one statement at a time.
    """
    raw = conn._conn
    result: T = await conn._execute(fn, raw)  # type: ignore[no-untyped-call]
    return result


def _run_batch(raw: sqlite3.Connection, units: list[_Unit]) -> list[tuple[bool, Any]]:
    """One transaction for the batch, one SAVEPOINT per unit (runs on the writer thread)."""
    tx = SqliteTx(raw, writable=True)
    raw.execute("BEGIN IMMEDIATE")
    out: list[tuple[bool, Any]] = []
    try:
        for unit in units:
            raw.execute("SAVEPOINT unit")
            try:
                result: Any = _drive(unit(tx))
            except Exception as exc:
                raw.execute("ROLLBACK TO unit")
                raw.execute("RELEASE unit")
                out.append((False, _translate(exc)))
            else:
                raw.execute("RELEASE unit")
                out.append((True, result))
        raw.execute("COMMIT")
    except sqlite3.Error as exc:
        # BEGIN, a savepoint or the COMMIT itself failed: nothing of this batch is durable.
        with contextlib.suppress(sqlite3.Error):
            raw.execute("ROLLBACK")
        failure = StoreUnavailable(f"batch not committed: {exc}")
        return [(False, failure) for _ in units]
    return out


def _run_read(raw: sqlite3.Connection, unit: _Unit) -> Any:
    raw.execute("BEGIN")
    try:
        return _drive(unit(SqliteTx(raw, writable=False)))
    finally:
        raw.execute("COMMIT")


class SqliteStore:
    """:class:`wallet_store.ports.WalletStore` on one SQLite file."""

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "FULL",
        max_batch: int = 256,
        queue_size: int = 4096,
        read_connections: int = 2,
        busy_timeout_ms: int = 5000,
        cache_mb: int = 64,
        mmap_mb: int = 256,
        checkpoint_pages: int = 10_000,
    ) -> None:
        if synchronous.upper() not in ("FULL", "EXTRA", "NORMAL"):
            raise ValueError("synchronous must be FULL, EXTRA or NORMAL")
        if not 1 <= max_batch <= 10_000 or not 1 <= queue_size <= 1_000_000 or not 1 <= read_connections <= 64:
            raise ValueError("batch, queue and read pool sizes out of range")
        if not 2 <= cache_mb <= 65_536 or not 0 <= mmap_mb <= 1_048_576 or not 100 <= checkpoint_pages <= 1_000_000:
            raise ValueError("cache, mmap or checkpoint sizes out of range")
        self.path = path
        self._sync = synchronous.upper()
        self._max_batch = max_batch
        self._queue_size = queue_size
        self._n_readers = read_connections
        self._busy = busy_timeout_ms
        self._cache_kib = cache_mb * 1024
        self._mmap_bytes = mmap_mb * 1_048_576
        self._checkpoint_pages = checkpoint_pages
        self._writer: aiosqlite.Connection | None = None
        self._reader_list: list[aiosqlite.Connection] = []
        self._streams: set[aiosqlite.Connection] = set()
        self._next_reader = 0
        self._queue: asyncio.Queue[_Item] | None = None
        self._task: asyncio.Task[None] | None = None
        self.batch_observer: Callable[[int], None] | None = None

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(self._busy)}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute(f"PRAGMA synchronous = {self._sync}")
            await conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            # Cancelled or failed half-way: the connection's thread must not outlive us (a
            # live aiosqlite thread keeps the interpreter from exiting).
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        return conn

    async def open(self) -> None:
        self._writer = await self._connect()
        await self._writer.execute(f"PRAGMA cache_size = -{self._cache_kib}")
        await self._writer.execute(f"PRAGMA wal_autocheckpoint = {self._checkpoint_pages}")
        await self._migrate(self._writer)
        # After the migrations (an index built by one sorts in temp storage, which could be
        # large): a unit's SAVEPOINT sub-journal and statement journals are then kept in
        # memory, not in a temporary file opened and removed per unit.  Bounded by what one
        # batch dirties.  Measured: writer CPU per wager 642 -> 578 us in process.
        await self._writer.execute("PRAGMA temp_store = MEMORY")
        for _ in range(self._n_readers):
            r = await self._connect()
            await r.execute("PRAGMA query_only = ON")
            await r.execute(f"PRAGMA mmap_size = {self._mmap_bytes}")
            self._reader_list.append(r)
        self._queue = asyncio.Queue(maxsize=self._queue_size)
        self._task = asyncio.create_task(self._writer_loop(), name="sqlite-writer")

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for version, sql in MIGRATIONS:
            # Re-read under the write lock: another process may have applied it meanwhile.
            await conn.execute("BEGIN IMMEDIATE")
            rows = await conn.execute_fetchall("SELECT 1 FROM schema_migrations WHERE version = ?", (version,))
            if rows:
                await conn.execute("COMMIT")
                continue
            try:
                # executescript would COMMIT first; run the statements one by one instead.
                for stmt in _split_sql(sql):
                    await conn.execute(stmt)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ'))",
                    (version,),
                )
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise

    async def schema_version(self) -> int:
        if self._writer is None:
            raise StoreUnavailable("store not open")
        rows = await self._writer.execute_fetchall("SELECT max(version) FROM schema_migrations")
        for r in rows:
            return int(r[0] or 0)
        return 0

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._queue is not None:
            while not self._queue.empty():
                _, fut = self._queue.get_nowait()
                _fail(fut, StoreUnavailable("store closed"))
        readers, self._reader_list = self._reader_list, []
        for r in readers:
            await r.close()
        streams, self._streams = self._streams, set()
        for conn in streams:
            await conn.close()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    async def ping(self) -> bool:
        try:
            await self.read(_ping)
        except Exception:
            return False
        return True

    async def write(self, unit: Callable[[Any], Awaitable[T]]) -> T:
        if self._queue is None or self._task is None or self._task.done():
            raise StoreUnavailable("store not open")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if self._queue.full():
            await self._queue.put((unit, fut))  # waits until there is room: backpressure
        else:
            self._queue.put_nowait((unit, fut))  # the same, without a coroutine per call
        # Once queued, the unit runs and commits whether or not this caller still waits: a
        # cancelled caller only stops waiting (its future is cancelled and the writer skips
        # it), so no shield is needed to protect the write.
        return await fut

    async def _writer_loop(self) -> None:
        queue = self._queue
        conn = self._writer
        if queue is None or conn is None:
            raise StoreUnavailable("store not open")
        while True:
            batch = [await queue.get()]
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            if self.batch_observer is not None:
                self.batch_observer(len(batch))
            units = [u for u, _ in batch]
            job = asyncio.ensure_future(_on_thread(conn, lambda raw, units=units: _run_batch(raw, units)))  # type: ignore[misc]
            try:
                results = await asyncio.shield(job)
            except asyncio.CancelledError:
                # close() while the batch is on the thread: it runs to its end there, so wait
                # for it and give every caller the real outcome (committed or not), then stop.
                with contextlib.suppress(Exception):
                    _deliver(batch, await job)
                for _, fut in batch:
                    _fail(fut, StoreUnavailable("store closed while committing"))
                raise
            except Exception as exc:  # the connection itself is gone
                for _, fut in batch:
                    _fail(fut, StoreUnavailable(f"sqlite writer failed: {exc}"))
                continue
            _deliver(batch, results)

    async def read(self, unit: Callable[[Any], Awaitable[T]]) -> T:
        # No check-out: a whole read unit is one job on a connection's own FIFO thread queue,
        # so reads are spread round-robin and served in arrival order (a check-out pool let
        # new arrivals overtake woken waiters and starved some readers for seconds).
        if not self._reader_list:
            raise StoreUnavailable("store not open")
        self._next_reader = (self._next_reader + 1) % len(self._reader_list)
        conn = self._reader_list[self._next_reader]
        try:
            result: T = await _on_thread(conn, lambda raw: _run_read(raw, unit))
            return result
        except (sqlite3.Error, ValueError) as exc:  # ValueError: aiosqlite connection closed
            raise StoreUnavailable(f"sqlite read failed: {exc}") from exc

    async def _stream(self, sql: str, params: Sequence[Any] = ()) -> AsyncIterator[Any]:
        conn = await self._connect()
        # Registered until the stream ends, so that close() can end a stream whose consumer
        # was cancelled and whose generator is not finalized yet (at shutdown the task that
        # would close it can itself be cancelled, leaving the connection's thread alive).
        self._streams.add(conn)
        try:
            async with conn.execute(sql, params) as cur:
                while True:
                    rows = await cur.fetchmany(1000)
                    if not rows:
                        break
                    for r in rows:
                        yield r
        finally:
            self._streams.discard(conn)
            await conn.close()

    async def journal(self, account_id: str | None = None) -> AsyncIterator[model.JournalEntry]:
        if account_id is None:
            q = self._stream(f"SELECT {cols.JOURNAL_COLS} FROM journal ORDER BY account_id, currency, seq")
        else:
            q = self._stream(
                f"SELECT {cols.JOURNAL_COLS} FROM journal WHERE account_id = ? ORDER BY currency, seq", (account_id,)
            )
        async for r in q:
            yield ROWS.journal(r)

    async def wallets(self) -> AsyncIterator[model.Wallet]:
        async for r in self._stream(f"SELECT {cols.WALLET_COLS} FROM wallets ORDER BY account_id, currency"):
            yield ROWS.wallet(r)

    async def rounds(self) -> AsyncIterator[model.Round]:
        async for r in self._stream(f"SELECT {cols.ROUND_COLS} FROM rounds ORDER BY account_id, game_id, round_id"):
            yield ROWS.round(r)

    async def open_holds(self) -> AsyncIterator[model.Hold]:
        async for r in self._stream(OPEN_HOLDS_SQL):
            yield ROWS.hold(r)

    async def transactions(self) -> AsyncIterator[model.TxRecord]:
        async for r in self._stream(f"SELECT {cols.TX_COLS} FROM transactions ORDER BY account_id, scope, round_id"):
            yield ROWS.tx(r)

    async def ledger_records(self) -> AsyncIterator[LedgerRecord]:
        async for r in self._stream(f"SELECT {cols.HOLD_COLS} FROM holds ORDER BY hold_id"):
            yield ROWS.hold(r)
        async for r in self._stream(f"SELECT {cols.FLOW_COLS} FROM flows ORDER BY flow_id"):
            yield ROWS.flow(r)
        async for r in self._stream(f"SELECT {cols.PAYMENT_COLS} FROM payments ORDER BY payment_id"):
            yield ROWS.payment(r)
        async for r in self._stream(f"SELECT {cols.ITEM_COLS} FROM item_purchases ORDER BY purchase_id"):
            yield ROWS.item_purchase(r)
        async for r in self._stream("SELECT key, reply FROM admin_ops ORDER BY key"):
            yield model.AdminOp(key=r[0], reply=r[1])

    async def chain_heads(self) -> AsyncIterator[model.ChainHead]:
        q = "SELECT account_id, currency, seq, hash FROM journal_heads ORDER BY account_id, currency"
        async for r in self._stream(q):
            yield model.ChainHead(account_id=r[0], currency=r[1], seq=int(r[2]), hash=r[3])

    async def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> None:
        """For tests and tools that must touch the file behind the service's back."""
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await conn.execute(sql, params)
        finally:
            await conn.close()


async def _ping(tx: SqliteTx) -> int:
    r = await tx._one("SELECT 1")
    return int(r[0])


def _translate(exc: Exception) -> Exception:
    """Driver errors leave the store as domain errors; domain errors pass through."""
    if isinstance(exc, sqlite3.IntegrityError):
        return Conflict(f"conflicting write: {exc}")
    if isinstance(exc, sqlite3.Error):
        return StoreUnavailable(f"sqlite: {exc}")
    return exc


def _deliver(batch: list[_Item], results: list[tuple[bool, Any]]) -> None:
    """Each caller its unit's outcome (a caller that stopped waiting is skipped)."""
    for (_, fut), (ok, value) in zip(batch, results, strict=True):
        if fut.done():
            continue
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)


def _fail(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (triggers keep their inner ``;``)."""
    out: list[str] = []
    buf: list[str] = []
    for line in script.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        buf.append(line)
        joined = "\n".join(buf)
        if stripped.endswith(";") and sqlite3.complete_statement(joined):
            out.append(joined)
            buf = []
    if buf:
        out.append("\n".join(buf))
    return out
