"""PostgreSQL backend (asyncpg): a connection pool, one transaction per unit of work.

Isolation and locking
---------------------
* Every ``write`` unit runs in one READ COMMITTED transaction on its own pooled connection.
  Each statement sees what was committed before it started; nothing is serialized for us,
  so correctness comes from row locks and unique keys, not from the isolation level.
* :meth:`PostgresTx.lock_player` is ``SELECT ... FROM players WHERE account_id = $1
  FOR UPDATE``.  It is the first thing every money unit does, for every account it touches,
  in ascending ``account_id`` order (the contract in :mod:`wallet_store.ports`).  The row
  lock is held until COMMIT/ROLLBACK, so two units on the same player run one after the
  other, and the second reads the balance and the transaction records the first committed.
  One global lock order means two transfers in opposite directions cannot deadlock.
* The unique key on ``transactions`` (operator_id, scope, kind, transaction_id) catches any
  race that slips past the locks (a unit that did not lock, a player created concurrently):
  the loser gets a unique violation, the whole unit is rolled back and re-run, and the
  re-run sees the committed record and replays it instead of moving money again.
* ``save_wallet`` is also guarded optimistically: its UPDATE must find the wallet still at
  the ``seq`` the journal entries build on (re-checked by PostgreSQL after waiting for a
  concurrent writer), otherwise :class:`~wallet_store.errors.TechnicalError`.
* Serialization failures, deadlocks and unique violations re-run the unit (at most
  ``max_retries`` times, jittered exponential backoff).  Units have no side effect outside
  the transaction, so re-running is safe.  Exhausted: a unique violation becomes
  :class:`~wallet_store.errors.Conflict`, the others
  :class:`~wallet_store.errors.StoreUnavailable`.
* ``read`` units run in a REPEATABLE READ, READ ONLY transaction: one consistent snapshot.

Error mapping (what leaves the store)
-------------------------------------
* Domain errors (:class:`~wallet_store.errors.WalletError`) and other non-driver exceptions
  raised by a unit pass through unchanged, after the transaction was rolled back.
* Other integrity violations (check, foreign key, not null, the append-only journal):
  ``Conflict``, like SQLite's ``IntegrityError``.
* Everything else from the driver or the network (connection lost or refused, server
  shutting down, pool acquire or command timeout, any other server error):
  ``StoreUnavailable``, a technical error -- never a business refusal.
* A unit that swallows a driver error cannot commit: PostgreSQL aborts the transaction on
  the first failed statement (SQLite does not), and answers ROLLBACK to the COMMIT of an
  aborted transaction.  :class:`PostgresTx` remembers the first driver error and ``write``
  raises it (mapped as above) when the unit returns; and the COMMIT's status is checked
  (anything but ``COMMIT`` is :class:`~wallet_store.errors.StoreUnavailable`).
* A write unit's transaction is the store's own (``BEGIN ISOLATION LEVEL READ COMMITTED``,
  then the deferred writes and ``COMMIT`` in one message, see :mod:`.deferred`); every way
  out of it but a checked COMMIT sends ROLLBACK, or terminates a session that cannot take
  it.  Read units use asyncpg's ``conn.transaction()``.

What stays in SQL
-----------------
Nothing of the business is decided here: the row mapping and statement parameters are
:mod:`wallet_store.sql` (shared with SQLite; the codec is the only difference), and the
filtered reads (open rounds, due holds, a journal page, a player by e-mail) are
:class:`~wallet_store.sql.reads.SqlReads`, whose predicates come from
:mod:`wallet_store.domain.selection`.  SQL keeps what must be atomic with the write or is
served by an index: the unique keys (a concurrent duplicate fails at commit and is re-run),
the optimistic ``seq`` check of ``save_wallet`` and the forward-only chain head,
``drop_refusal``'s state condition (the state is a parameter from the domain), and the
indexed filters (see :mod:`wallet_store.sql.reads`).  The loaders (the operator with the
player lock, a request's records under one id, a bet's whole state: ``load_bet``, a session
function that locks, then reads on a fresh snapshot) only load, for the hot path's round
trips; they decide nothing.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from .. import model
from ..errors import Conflict, StoreUnavailable, WalletError
from ..ports import LedgerRecord
from ..sql import rows as cols
from ..sql.reads import OPEN_HOLDS_SQL
from .codec import _DRIVER_ERRORS, _RETRYABLE, ROWS
from .deferred import prepare_sql
from .literals import require_standard_strings
from .loads import _LOAD_BET_FN, _LOAD_SETTLE_FN
from .migrations import MIGRATIONS, migrate
from .tx import PostgresTx, _admin_op

T = TypeVar("T")
log = logging.getLogger(__name__)

_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_STREAM_PREFETCH = 1000
_BACKOFF_BASE = 0.005  # seconds; doubled per attempt, full jitter
_BACKOFF_CAP = 0.2
_PING_TIMEOUT = 2.0
_CLOSE_TIMEOUT = 5.0


class PostgresStore:
    """:class:`wallet_store.ports.WalletStore` on a PostgreSQL database (asyncpg pool)."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        command_timeout: float = 10.0,
        max_retries: int = 5,
        schema: str | None = None,
    ) -> None:
        if not dsn.startswith(("postgresql://", "postgres://")):
            raise ValueError("dsn must be a postgresql:// URL")
        if not 1 <= max_size <= 200:
            raise ValueError("max_size must be between 1 and 200")
        if not 0 <= min_size <= max_size:
            raise ValueError("min_size must be between 0 and max_size")
        if not 0 < connect_timeout <= 120:
            raise ValueError("connect_timeout must be in (0, 120] seconds")
        if not 0 < command_timeout <= 600:
            raise ValueError("command_timeout must be in (0, 600] seconds")
        if not 0 <= max_retries <= 50:
            raise ValueError("max_retries must be between 0 and 50")
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError("schema must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)")
        self.dsn = dsn
        self.schema = schema
        self._min = min_size
        self._max = max_size
        self._connect_timeout = float(connect_timeout)
        self._command_timeout = float(command_timeout)
        self._max_retries = max_retries
        self._pool: Any = None
        self._version = 0
        # The store's own hand-out on top of the pool (see _acquire): connections a unit left
        # clean, kept checked out of the pool for the next unit, and the units waiting for one.
        self._idle: list[Any] = []
        # Slots: connections checked out of the pool by the hand-out (kept idle, in a unit's
        # hands, or promised to a waiter), never more than max_size, so the pool never makes
        # anyone wait; the units waiting for one, oldest first.
        self._slots = 0
        self._waiters: collections.deque[asyncio.Future[Any]] = collections.deque()

    # lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            return
        self._version = 0  # no session function before the schema is migrated (_init_connection)
        # standard_conforming_strings: the deferred writes' literals rely on it (literals.py).
        settings = {"application_name": "groove-wallet", "TimeZone": "UTC", "standard_conforming_strings": "on"}
        if self.schema is not None:
            settings["search_path"] = self.schema
        try:
            pool = await asyncpg.create_pool(
                self.dsn,
                min_size=self._min,
                max_size=self._max,
                timeout=self._connect_timeout,
                command_timeout=self._command_timeout,
                server_settings=settings,
                reset=_reset_nothing,
                init=self._init_connection,
            )
        except _DRIVER_ERRORS as exc:
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {_describe(exc)}") from exc
        try:
            async with pool.acquire(timeout=self._connect_timeout) as conn:
                self._version = await migrate(conn, self.schema)
            # The connections opened before the schema existed lack the session's functions.
            await pool.expire_connections()
        except BaseException as exc:
            await _close_pool(pool)
            if isinstance(exc, _DRIVER_ERRORS):
                raise StoreUnavailable(f"cannot migrate: {_describe(exc)}") from exc
            raise
        self._pool = pool

    async def _init_connection(self, conn: Any) -> None:
        """A new pooled session, once migrated: its own load functions (see ``_LOAD_BET_FN``),
        its check function and its prepared deferred writes (see :mod:`.deferred`)."""
        require_standard_strings(conn.get_settings())
        if self._version:
            await conn.execute(";".join([_LOAD_BET_FN, _LOAD_SETTLE_FN, prepare_sql()]))

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        idle, self._idle = self._idle, []
        waiters, self._waiters = self._waiters, collections.deque()
        self._slots = 0
        for fut in waiters:
            if not fut.done():
                fut.set_exception(asyncpg.InterfaceError("the store is closing"))
        if pool is not None:
            for conn in idle:  # back to the pool first: pool.close() waits for every connection
                with contextlib.suppress(Exception):
                    await pool.release(conn)
            await _close_pool(pool)

    async def schema_version(self) -> int:
        async def unit(tx: PostgresTx) -> int:
            r = await tx._one("SELECT max(version) FROM schema_migrations")
            return int(r[0] or 0)

        return await self.read(unit)

    @property
    def latest_version(self) -> int:
        return max(v for v, _ in MIGRATIONS)

    def _require_pool(self) -> Any:
        if self._pool is None:
            raise StoreUnavailable("store not open")
        return self._pool

    async def ping(self) -> bool:
        pool = self._pool
        if pool is None:
            return False
        try:
            async with asyncio.timeout(_PING_TIMEOUT):
                conn = await self._acquire(pool)
                ok = False
                try:
                    ok = await conn.fetchval("SELECT 1", timeout=_PING_TIMEOUT) == 1
                finally:
                    await self._release(pool, conn, clean=ok)
                return bool(ok)
        except Exception:
            return False

    # connections ----------------------------------------------------------------------

    async def _acquire(self, pool: Any) -> Any:
        """A pooled connection for a unit: one a previous unit left clean if there is one (no
        pool round of acquire/release: its timers, its reset and the task of its shielded
        release cost the service ~75 us per unit), else a new slot from the pool, else (every
        slot taken) the next connection a unit hands back, waited for at most
        ``connect_timeout`` (then ``TimeoutError``, as from the pool)."""
        idle = self._idle
        while idle:
            conn = idle.pop()
            if _usable(conn):
                return conn
            await self._to_pool(pool, conn)  # closed under us: asyncpg finishes its cleanup
            if self._pool is not pool:
                raise asyncpg.InterfaceError("the store is closing")
        if self._slots >= self._max:
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                async with asyncio.timeout(self._connect_timeout):
                    conn = await fut
            except BaseException:
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    # handed over just as this unit was cancelled or timed out: pass it on
                    self._hand_over(pool, fut.result())
                else:
                    fut.cancel()
                raise
            if conn is not None:
                return conn
            # a slot (its connection went back to the pool): take it there
        else:
            self._slots += 1
        try:
            return await pool.acquire(timeout=self._connect_timeout)
        except BaseException:
            self._hand_over(pool, None)
            raise

    def _hand_over(self, pool: Any, conn: Any) -> None:
        """A clean connection (or, ``None``, a slot whose connection went back to the pool) to
        the oldest waiter; with none waiting, the connection is kept idle, the slot freed."""
        if self._pool is not pool:
            return
        waiters = self._waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(conn)
                return
        if conn is not None:
            self._idle.append(conn)
        else:
            self._slots -= 1

    async def _to_pool(self, pool: Any, conn: Any) -> None:
        """Through asyncpg's release (rollback of a leftover transaction, termination of a
        broken session); its slot then goes to a waiter or is freed."""
        try:
            await pool.release(conn)
        except Exception:
            log.debug("releasing a connection failed", exc_info=True)
        finally:
            self._hand_over(pool, None)

    @contextlib.asynccontextmanager
    async def _checkout(self) -> AsyncIterator[Any]:
        """A connection of the store's hand-out, for tests and tools (handed back through the pool)."""
        pool = self._require_pool()
        conn = await self._acquire(pool)
        try:
            yield conn
        finally:
            await self._release(pool, conn, clean=False)

    async def _release(self, pool: Any, conn: Any, *, clean: bool) -> None:
        """Back where it came from: to the next unit (a waiter, else kept idle) only when the
        unit ended cleanly (its transaction committed or rolled back: nothing open, no
        cancellation under way), the session is open and the store still runs on that pool;
        anything else goes through asyncpg's release."""
        if clean and self._pool is pool and _usable(conn) and not conn.is_in_transaction():
            self._hand_over(pool, conn)
            return
        await self._to_pool(pool, conn)

    # units of work --------------------------------------------------------------------

    async def write(self, unit: Callable[[Any], Awaitable[T]]) -> T:
        return await self._run(unit, writable=True)

    async def read(self, unit: Callable[[Any], Awaitable[T]]) -> T:
        return await self._run(unit, writable=False)

    async def _run(self, unit: Callable[[Any], Awaitable[T]], *, writable: bool) -> T:
        attempt = 0
        while True:
            try:
                return await self._attempt(unit, writable=writable)
            except _RETRYABLE as exc:
                if attempt >= self._max_retries:
                    if isinstance(exc, asyncpg.UniqueViolationError):
                        raise Conflict(f"conflicting write: {_describe(exc)}") from exc
                    raise StoreUnavailable(f"gave up after {attempt + 1} attempts: {_describe(exc)}") from exc
                log.debug("retrying unit of work after %s (attempt %d)", type(exc).__name__, attempt + 1)
                await asyncio.sleep(random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)))
                attempt += 1
            except WalletError:
                raise
            except asyncpg.IntegrityConstraintViolationError as exc:
                raise Conflict(f"conflicting write: {_describe(exc)}") from exc
            except _DRIVER_ERRORS as exc:
                raise StoreUnavailable(f"postgres: {_describe(exc)}") from exc

    async def _attempt(self, unit: Callable[[Any], Awaitable[T]], *, writable: bool) -> T:
        pool = self._require_pool()
        conn = await self._acquire(pool)
        clean = False
        try:
            if writable:
                result = await self._attempt_write(conn, unit)
                clean = True
                return result
            tx = PostgresTx(conn, writable=False)
            try:
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    result = await unit(tx)
                    if tx.failed is not None:
                        # The unit swallowed a driver error; the transaction is aborted and
                        # COMMIT would silently roll it back.  Fail (or retry) instead.
                        raise tx.failed
                clean = True
                return result
            finally:
                tx._end()
        finally:
            await self._release(pool, conn, clean=clean)

    async def _attempt_write(self, conn: Any, unit: Callable[[Any], Awaitable[T]]) -> T:
        """BEGIN, the unit, then its deferred writes and COMMIT in one message: a wager is
        BEGIN, its load and that message, three round trips.  The transaction is ours (not
        asyncpg's ``conn.transaction()``, which would send COMMIT on its own): every way out
        but a checked COMMIT rolls back (:func:`_rollback`)."""
        tx = PostgresTx(conn, writable=True)
        try:
            await conn.execute(_BEGIN)
            try:
                result = await unit(tx)
            except Exception:
                if tx.failed is None:
                    # Writes the unit made before raising: they would have run (and any
                    # driver error of theirs would have been raised instead).
                    await tx._flush()
                raise
            if tx.failed is not None:
                # The unit swallowed a driver error; the transaction is aborted and COMMIT
                # would roll it back.  Fail (or retry) instead.
                raise tx.failed
            await tx._commit()  # the deferred writes and COMMIT, its status checked
            return result
        except BaseException:
            await _rollback(conn)
            raise
        finally:
            tx._end()

    # streams --------------------------------------------------------------------------

    async def _stream(self, sql: str, *args: Any) -> AsyncGenerator[Any, None]:
        pool = self._require_pool()
        try:
            conn = await self._acquire(pool)
            try:
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    async for r in conn.cursor(sql, *args, prefetch=_STREAM_PREFETCH):
                        yield r
            finally:
                await self._release(pool, conn, clean=False)
        except _DRIVER_ERRORS as exc:
            raise StoreUnavailable(f"postgres: {_describe(exc)}") from exc

    async def journal(self, account_id: str | None = None) -> AsyncIterator[model.JournalEntry]:
        if account_id is None:
            q = self._stream(f"SELECT {cols.JOURNAL_COLS} FROM journal ORDER BY account_id, currency, seq")
        else:
            q = self._stream(
                f"SELECT {cols.JOURNAL_COLS} FROM journal WHERE account_id = $1 ORDER BY currency, seq", account_id
            )
        async with contextlib.aclosing(q):
            async for r in q:
                yield ROWS.journal(r)

    async def wallets(self) -> AsyncIterator[model.Wallet]:
        q = self._stream(f"SELECT {cols.WALLET_COLS} FROM wallets ORDER BY account_id, currency")
        async with contextlib.aclosing(q):
            async for r in q:
                yield ROWS.wallet(r)

    async def rounds(self) -> AsyncIterator[model.Round]:
        q = self._stream(f"SELECT {cols.ROUND_COLS} FROM rounds ORDER BY account_id, game_id, round_id")
        async with contextlib.aclosing(q):
            async for r in q:
                yield ROWS.round(r)

    async def open_holds(self) -> AsyncIterator[model.Hold]:
        q = self._stream(OPEN_HOLDS_SQL)
        async with contextlib.aclosing(q):
            async for r in q:
                yield ROWS.hold(r)

    async def transactions(self) -> AsyncIterator[model.TxRecord]:
        q = self._stream(f"SELECT {cols.TX_COLS} FROM transactions ORDER BY account_id, scope, round_id")
        async with contextlib.aclosing(q):
            async for r in q:
                yield ROWS.tx(r)

    async def ledger_records(self) -> AsyncIterator[LedgerRecord]:
        for sql, row in (
            (f"SELECT {cols.HOLD_COLS} FROM holds ORDER BY hold_id", ROWS.hold),
            (f"SELECT {cols.FLOW_COLS} FROM flows ORDER BY flow_id", ROWS.flow),
            (f"SELECT {cols.PAYMENT_COLS} FROM payments ORDER BY payment_id", ROWS.payment),
            (f"SELECT {cols.ITEM_COLS} FROM item_purchases ORDER BY purchase_id", ROWS.item_purchase),
            ("SELECT key, reply FROM admin_ops ORDER BY key", _admin_op),
        ):
            q = self._stream(sql)
            async with contextlib.aclosing(q):
                async for r in q:
                    yield row(r)

    async def chain_heads(self) -> AsyncIterator[model.ChainHead]:
        q = self._stream("SELECT account_id, currency, seq, hash FROM journal_heads ORDER BY account_id, currency")
        async with contextlib.aclosing(q):
            async for r in q:
                yield model.ChainHead(account_id=r[0], currency=r[1], seq=int(r[2]), hash=r[3])

    # tools ----------------------------------------------------------------------------

    async def execute_raw(self, sql: str, *args: Any) -> str:
        """For tests and tools that must touch the database behind the service's back.

        Runs one statement in autocommit on a pooled connection; driver errors are raised
        as they are (like :meth:`SqliteStore.execute_raw`).  Returns the command status.
        """
        pool = self._require_pool()
        conn = await self._acquire(pool)
        try:
            try:
                return str(await conn.execute(sql, *args))
            finally:
                # Any SQL may change the session (SET, LISTEN, advisory locks, cursors WITH
                # HOLD): asyncpg's full reset, which the pool skips for our own units.
                if not conn.is_closed():
                    try:
                        await conn.execute(conn.get_reset_query())
                    except _DRIVER_ERRORS:
                        conn.terminate()  # never hand a half-reset session back to the pool
        finally:
            await self._release(pool, conn, clean=False)


_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED"


def _usable(conn: Any) -> bool:
    """The pooled connection is still attached and open (asyncpg detaches a closed one)."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False


async def _rollback(conn: Any) -> None:
    """End a failed write unit's transaction, whatever state the session is in: ROLLBACK if one
    is open (or aborted); a session that cannot be rolled back is terminated (the pool then
    replaces it), never handed to the next unit half-way.  Raises only a cancellation."""
    if conn.is_closed() or not conn.is_in_transaction():
        return
    try:
        await conn.execute("ROLLBACK")
    except BaseException as exc:
        conn.terminate()
        if not isinstance(exc, Exception):
            raise


async def _reset_nothing(conn: Any) -> None:
    """The pool's reset on release, instead of asyncpg's default (``pg_advisory_unlock_all();
    CLOSE ALL; UNLISTEN *; RESET ALL``: one more round trip per unit of work).  The store's
    own units leave no session state behind: they take no session-level advisory lock (the
    migration lock is transaction-level), never LISTEN (``groove_adapter.events`` listens on
    its own connection, outside the pool), never SET a session setting (those come from the
    connection parameters), and their cursors end with their transaction.  asyncpg still
    rolls back an open transaction and drops listeners before calling this;
    :meth:`PostgresStore.execute_raw` (arbitrary SQL) runs the full reset itself."""


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _close_pool(pool: Any) -> None:
    """Close gracefully; terminate the connections still checked out after a grace period."""
    try:
        await asyncio.wait_for(pool.close(), timeout=_CLOSE_TIMEOUT)
    except _DRIVER_ERRORS:  # includes TimeoutError
        log.warning("PostgreSQL pool did not close in time; terminating its connections")
        pool.terminate()


if TYPE_CHECKING:
    from ..ports import Tx, WalletStore

    def _conforms(tx: PostgresTx, store: PostgresStore) -> tuple[Tx, WalletStore]:
        """Static check (mypy): both classes implement the Protocols."""
        return tx, store
