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
  the first failed statement (SQLite does not), and asyncpg would report the COMMIT of an
  aborted transaction as success.  :class:`PostgresTx` remembers the first driver error and
  ``write`` raises it (mapped as above) when the unit returns.

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
import contextlib
import logging
import random
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from .. import model
from ..domain.hub88 import Hub88Settings
from ..domain.selection import REFUSED
from ..errors import Conflict, StoreUnavailable, TechnicalError, WalletError
from ..money import check
from ..ports import BetQuery, BetRows, LedgerRecord, SettleRows
from ..rate_limits import GameRateLimits
from ..sql import rows as cols
from ..sql.params import params as build_params
from ..sql.reads import OPEN_HOLDS_SQL, SqlReads
from ..sql.rows import Codec, rows
from .migrations import MIGRATIONS, migrate

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)

_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_STREAM_PREFETCH = 1000
_BACKOFF_BASE = 0.005  # seconds; doubled per attempt, full jitter
_BACKOFF_CAP = 0.2
_PING_TIMEOUT = 2.0
_CLOSE_TIMEOUT = 5.0

# Re-run the unit of work on these (a concurrent transaction won; the re-run sees it).
_RETRYABLE: tuple[type[BaseException], ...] = (
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.UniqueViolationError,
)
# Anything the driver or the network can raise: the store could not do its job.
_DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)


# --- value conversion ------------------------------------------------------------------


def _ts(v: datetime) -> datetime:
    """A timestamp to the database, interpreted as SQLite's ``iso()`` does (naive = local)."""
    return v.astimezone(UTC)


def _tso(v: datetime | None) -> datetime | None:
    return None if v is None else v.astimezone(UTC)


def _td(v: Any) -> datetime:
    """A timestamptz from asyncpg (aware) as an aware UTC datetime."""
    ts: datetime = v
    return ts.astimezone(UTC)


def _networks_in(v: Any) -> tuple[str, ...]:
    return tuple(x for x in v if x)


# How PostgreSQL stores a value: money as NUMERIC (quantized, range-checked both ways:
# exactly what SQLite stores), timestamps as timestamptz, networks as text[]; the row
# mapping itself is shared with SQLite (wallet_store.sql).
CODEC = Codec(money_in=check, money_out=check, ts_in=_td, ts_out=_ts, networks_in=_networks_in, networks_out=list)
ROWS = rows(CODEC)
PARAMS = build_params(CODEC)


def _count(status: str) -> int:
    """Row count of an asyncpg command status (``"UPDATE 1"``)."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


# --- deferred writes ---------------------------------------------------------------------
#
# A round trip to PostgreSQL costs the service far more CPU than the statement itself (the
# write() to the server's socket alone is ~20 us on loopback TCP), and a wager's closing
# writes (wallet + journal, round, transaction record, last_active) return nothing the unit
# needs.  So these writes are queued in the Tx and sent together as ONE statement (one
# data-modifying CTE per write) just before the next statement of the unit or, at the
# latest, before COMMIT.
#
# Why this is the same as running them one by one:
# * Only the writes below are queued, each on its own table(s); a write on a table that a
#   queued write already touches sends the queue first.  The parts of one statement all see
#   the snapshot taken when it starts and none reads what another writes, so their order
#   does not matter.  Anything else (a read, any other write) sends the queue first, so
#   every statement still sees every earlier write of its unit.
# * The checks stay: ``save_wallet``'s optimistic seq check (the journal rows are inserted
#   only if the wallet UPDATE matched; a count other than 1 raises TechnicalError) and
#   ``save_round``'s "no new round without created_at".  A driver error of any part
#   (unique violation, check violation, lost connection) fails the one statement and is
#   mapped exactly as before (retry / Conflict / StoreUnavailable, ``tx.failed``).
# * The unit sees such an error at its next statement or when it returns, no longer at the
#   write call itself; the transaction is rolled back either way.  When a unit raises an
#   exception with writes still queued, they are sent first (they would have run before the
#   raise), so a driver error still takes precedence over the unit's exception.

_PARAM = re.compile(r"\$(\d+)")


class _Write:
    """A write that can be queued: its CTE parts (``{0}``, ``{1}`` name the parts, ``$1``...
    are its own parameters) and which part's row count must be 1 (and the error if not)."""

    __slots__ = ("check", "error", "name", "nparams", "parts", "tables")

    def __init__(
        self, name: str, tables: frozenset[str], parts: tuple[str, ...], *, check: int | None = None, error: str = ""
    ) -> None:
        self.name = name
        self.tables = tables
        self.parts = parts
        self.check = check
        self.error = error
        self.nparams = max(int(m) for part in parts for m in _PARAM.findall(part))


_W_SAVE_WALLET = _Write(
    "save_wallet",
    frozenset({"wallets", "journal", "journal_heads"}),
    (
        "{0} AS (UPDATE wallets SET real=$1, bonus=$2, reserved=$3, seq=$4, last_hash=$5, updated_at=$6"
        " WHERE account_id=$7 AND currency=$8 AND seq=$9 RETURNING 1)",
        # One row per entry (any number of entries, one statement text), only if the UPDATE matched.
        f"{{1}} AS (INSERT INTO journal ({cols.JOURNAL_COLS}, flow) SELECT e.* FROM {{0}},"
        " unnest($10::text[], $11::text[], $12::bigint[], $13::text[], $14::numeric[], $15::numeric[],"
        " $16::numeric[], $17::numeric[], $18::numeric[], $19::numeric[], $20::text[], $21::text[],"
        " $22::timestamptz[], $23::text[], $24::text[], $25::text[]) AS e)",
        # The chain head beside the wallet (audit: a rewind must edit both), same condition.
        "{2} AS (INSERT INTO journal_heads (account_id, currency, seq, hash)"
        " SELECT $7::text, $8::text, $4::bigint, $5::text FROM {0}"
        " ON CONFLICT (account_id, currency) DO UPDATE SET seq = excluded.seq, hash = excluded.hash)",
    ),
    check=0,
    error="wallet changed under the unit of work",
)
_W_ROUND_UPSERT = _Write(
    "round_upsert",
    frozenset({"rounds"}),
    (
        f"{{0}} AS (INSERT INTO rounds ({cols.ROUND_SAVE_COLS})"
        f" VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) {cols.ROUND_ON_CONFLICT})",
    ),
)
_W_ROUND_UPDATE = _Write(
    "round_update",
    frozenset({"rounds"}),
    (
        "{0} AS (UPDATE rounds SET real_bet=$1, bonus_bet=$2, real_win=$3, bonus_win=$4, wagers=$5, results=$6,"
        " closed_at=$7, status=$8 WHERE account_id=$9 AND game_id=$10 AND round_id=$11 RETURNING 1)",
    ),
    check=0,
    error="a new round without created_at",
)
_W_INSERT_TX = _Write(
    "insert_tx",
    frozenset({"transactions"}),
    (
        f"{{0}} AS (INSERT INTO transactions ({cols.TX_COLS})"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16))",
    ),
)
_W_TX_STATE = _Write(
    "tx_state",
    frozenset({"transactions"}),
    ("{0} AS (UPDATE transactions SET state=$1 WHERE operator_id=$2 AND scope=$3 AND kind=$4 AND transaction_id=$5)",),
)
_W_DROP_REFUSAL = _Write(
    "drop_refusal",
    frozenset({"transactions"}),
    (
        "{0} AS (DELETE FROM transactions WHERE operator_id=$1 AND scope=$2 AND kind=$3 AND transaction_id=$4"
        " AND state=$5 RETURNING 1)",
    ),
    check=0,
    error="the refusal to replace is no longer there",
)
_W_TOUCH_PLAYER = _Write(
    "touch_player",
    frozenset({"players"}),
    ("{0} AS (UPDATE players SET last_active=$1 WHERE account_id=$2)",),
)

# The statement for each sequence of queued writes (a handful of shapes in practice).
_COMBINED: dict[tuple[str, ...], tuple[str, tuple[int, ...]]] = {}


def _shift_params(sql: str, offset: int) -> str:

    def shift(m: re.Match[str]) -> str:
        return f"${int(m.group(1)) + offset}"

    return _PARAM.sub(shift, sql)


def _combined(writes: Sequence[_Write]) -> tuple[str, tuple[int, ...]]:
    """One statement for ``writes`` (in order), and the indexes into ``writes`` of the checked
    row counts it returns, in column order.  Constant text per sequence: one prepared
    statement each in asyncpg's per-connection cache."""
    key = tuple(w.name for w in writes)
    hit = _COMBINED.get(key)
    if hit is not None:
        return hit
    ctes: list[str] = []
    counts: list[str] = []
    checked: list[int] = []
    offset = 0
    for i, w in enumerate(writes):
        names = [f"w{i}_{k}" for k in range(len(w.parts))]
        for part in w.parts:
            ctes.append(_shift_params(part.format(*names), offset))
        if w.check is not None:
            counts.append(f"(SELECT count(*) FROM {names[w.check]})")
            checked.append(i)
        offset += w.nparams
    hit = ("WITH " + ", ".join(ctes) + " SELECT " + (", ".join(counts) if counts else "0"), tuple(checked))
    _COMBINED[key] = hit
    return hit


# load_bet in one round trip.  One statement cannot do it: under READ COMMITTED its snapshot is
# taken when it starts, so a statement that waited for the player lock would read what the
# lock's previous holder wrote as it was before (EvalPlanQual re-reads only the locked row).
# A VOLATILE SQL function takes a new snapshot for each of its statements: the first takes
# the lock, the second reads everything else after the lock is granted, exactly what the
# point reads would see.  It is created in each pooled session's own temporary schema
# (pg_temp: no schema change, nothing shared between sessions) once the schema is migrated;
# its columns are the tables' row types, mapped by column name (:func:`_named`).
_LOAD_ARGS = "a text, sc text, rid text, tid text, kinds text[], sid text, fr text"
_LOCK_THEN = "SELECT 1 FROM players WHERE account_id = a FOR UPDATE;"
_RECORDS = (
    "ARRAY(SELECT t FROM unnest(kinds) AS k(kind) JOIN transactions t ON t.operator_id = p.operator_id"
    " AND t.scope = sc AND t.kind = k.kind AND t.transaction_id = tid)"
)
_JOINS = """
  FROM players p
  LEFT JOIN operators o ON o.operator_id = p.operator_id
  LEFT JOIN sessions s ON s.session_id = sid
  LEFT JOIN rounds r ON r.account_id = a AND r.game_id = sc AND r.round_id = rid
  LEFT JOIN free_rounds f ON f.frbid = fr"""
_LOAD_BET_FN = f"""
CREATE FUNCTION pg_temp.gw_load_bet({_LOAD_ARGS})
RETURNS TABLE (p players, o operators, recs transactions[], s sessions, w wallets, r rounds, l limits,
               f free_rounds)
LANGUAGE sql VOLATILE AS $fn$
{_LOCK_THEN}
SELECT p, o, {_RECORDS}, s, w, r, l, f {_JOINS}
  LEFT JOIN wallets w ON w.account_id = a AND w.currency = COALESCE(
       (SELECT t.currency FROM transactions t WHERE t.operator_id = p.operator_id AND t.scope = sc
           AND t.kind = kinds[1] AND t.transaction_id = tid), s.currency)
  LEFT JOIN limits l ON l.account_id = a
 WHERE p.account_id = a
$fn$
"""
_LOAD_SETTLE_FN = f"""
CREATE FUNCTION pg_temp.gw_load_settle({_LOAD_ARGS})
RETURNS TABLE (p players, o operators, recs transactions[], s sessions, r rounds, ws wallets[], f free_rounds)
LANGUAGE sql VOLATILE AS $fn$
{_LOCK_THEN}
SELECT p, o, {_RECORDS}, s, r, ARRAY(SELECT w FROM wallets w WHERE w.account_id = a), f {_JOINS}
 WHERE p.account_id = a
$fn$
"""
_LOAD_BET_SQL = "SELECT p, o, recs, s, w, r, l, f FROM pg_temp.gw_load_bet($1, $2, $3, $4, $5, $6, $7)"
_LOAD_SETTLE_SQL = "SELECT p, o, recs, s, r, ws, f FROM pg_temp.gw_load_settle($1, $2, $3, $4, $5, $6, $7)"


def _names(columns: str) -> tuple[str, ...]:
    return tuple(columns.split(", "))


_PLAYER_NAMES = _names(cols.PLAYER_COLS)
_OPERATOR_NAMES = _names(cols.OPERATOR_COLS)
_TX_NAMES = _names(cols.TX_COLS)
_SESSION_NAMES = _names(cols.SESSION_COLS)
_WALLET_NAMES = _names(cols.WALLET_COLS)
_ROUND_NAMES = _names(cols.ROUND_COLS)
_LIMITS_NAMES = _names(cols.LIMITS_COLS)
_FREE_ROUNDS_NAMES = _names(cols.FREE_ROUNDS_COLS)


def _named(rec: Any, names: tuple[str, ...], mapper: Callable[[Any], R]) -> R | None:
    """A table's row value (a composite, its columns by name) through the row mapper."""
    return None if rec is None else mapper(tuple(rec[n] for n in names))


def _load_args(q: BetQuery) -> tuple[Any, ...]:
    return (q.account_id, q.game_id, q.round_id, q.transaction_id, list(q.kinds), q.session_id, q.frbid)


def _records(recs: Any) -> dict[str, model.TxRecord]:
    return {(t := ROWS.tx(tuple(rec[n] for n in _TX_NAMES))).kind: t for rec in recs}


def _bet_rows(r: Any) -> BetRows:
    if r is None:
        return BetRows()
    return BetRows(
        _named(r[0], _PLAYER_NAMES, ROWS.player),
        _named(r[1], _OPERATOR_NAMES, ROWS.operator),
        _records(r[2]),
        _named(r[3], _SESSION_NAMES, ROWS.session),
        _named(r[4], _WALLET_NAMES, ROWS.wallet),
        _named(r[5], _ROUND_NAMES, ROWS.round),
        _named(r[6], _LIMITS_NAMES, ROWS.limits),
        _named(r[7], _FREE_ROUNDS_NAMES, ROWS.free_rounds),
    )


def _settle_rows(r: Any) -> SettleRows:
    if r is None:
        return SettleRows()
    wallets = (ROWS.wallet(tuple(w[n] for n in _WALLET_NAMES)) for w in r[5])
    return SettleRows(
        _named(r[0], _PLAYER_NAMES, ROWS.player),
        _named(r[1], _OPERATOR_NAMES, ROWS.operator),
        _records(r[2]),
        _named(r[3], _SESSION_NAMES, ROWS.session),
        _named(r[4], _ROUND_NAMES, ROWS.round),
        {w.currency: w for w in wallets},
        _named(r[6], _FREE_ROUNDS_NAMES, ROWS.free_rounds),
    )


# lock_player_and_operator: the player row locked, its operator read along (columns 10..18).  FOR UPDATE
# OF p locks only the player; a LEFT JOIN so a player is never lost to the join.
_LOCK_PLAYER_SQL = (
    f"SELECT {', '.join('p.' + c for c in cols.PLAYER_COLS.split(', '))},"
    f" {', '.join('o.' + c for c in cols.OPERATOR_COLS.split(', '))}"
    " FROM players p LEFT JOIN operators o ON o.operator_id = p.operator_id WHERE p.account_id = $1 FOR UPDATE OF p"
)


class PostgresTx(SqlReads):
    """The :class:`wallet_store.ports.Tx` of the PostgreSQL backend: one connection, one transaction.

    The filtered reads (open rounds, due holds, a journal page, a player by e-mail) are
    :class:`~wallet_store.sql.reads.SqlReads`, shared with SQLite.
    """

    _placeholder = staticmethod(lambda n: f"${n}")
    _codec = CODEC
    _rows = ROWS

    def __init__(self, conn: Any, *, writable: bool) -> None:
        self._c = conn
        self._writable = writable
        self._open = True
        # The first driver error seen: the transaction is aborted from then on.
        self.failed: BaseException | None = None
        # Deferred writes (see "deferred writes" above), sent by _flush.
        self._queued: list[_Write] = []
        self._queued_args: list[Any] = []
        self._queued_tables: set[str] = set()

    def _check_open(self) -> None:
        if not self._open:
            # The connection went back to the pool and may now serve another unit.
            raise TechnicalError("unit of work used after its transaction ended")

    def _end(self) -> None:
        self._open = False

    async def _run(self, op: Awaitable[Any]) -> Any:
        try:
            return await op
        except _DRIVER_ERRORS as exc:
            if self.failed is None:
                self.failed = exc
            raise

    async def _defer(self, w: _Write, *args: Any) -> None:
        """Queue a write (sending the queue first if it already touches one of its tables)."""
        self._check_open()
        if not self._writable:
            raise TechnicalError("write attempted in a read-only unit of work")
        if not self._queued_tables.isdisjoint(w.tables):
            await self._flush()
        self._queued.append(w)
        self._queued_args.extend(args)
        self._queued_tables.update(w.tables)

    async def _flush(self) -> None:
        """Send the queued writes as one statement (nothing to do when none are queued)."""
        writes = self._queued
        if not writes:
            return
        args = self._queued_args
        self._queued = []
        self._queued_args = []
        self._queued_tables = set()
        sql, checked = _combined(writes)
        row = await self._run(self._c.fetchrow(sql, *args))
        for col, i in enumerate(checked):
            if row[col] != 1:
                # The statement's other parts have run: mark the transaction failed so it can
                # never commit, even if the unit catches this error (it used to come from the
                # write call itself, before any later write).
                exc = TechnicalError(writes[i].error)
                if self.failed is None:
                    self.failed = exc
                raise exc

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return await self._all(sql, *params)

    async def _all(self, sql: str, *args: Any) -> list[Any]:
        self._check_open()
        if self._queued:
            await self._flush()
        return list(await self._run(self._c.fetch(sql, *args)))

    async def _one(self, sql: str, *args: Any) -> Any:
        self._check_open()
        if self._queued:
            await self._flush()
        return await self._run(self._c.fetchrow(sql, *args))

    async def _exec(self, sql: str, *args: Any) -> int:
        self._check_open()
        if not self._writable:
            raise TechnicalError("write attempted in a read-only unit of work")
        if self._queued:
            await self._flush()
        status = await self._run(self._c.execute(sql, *args))
        return _count(str(status))

    async def _exec_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._check_open()
        if not self._writable:
            raise TechnicalError("write attempted in a read-only unit of work")
        if self._queued:
            await self._flush()
        await self._run(self._c.executemany(sql, rows))

    # operators

    async def get_operator(self, operator_id: str) -> model.Operator | None:
        r = await self._one(f"SELECT {cols.OPERATOR_COLS} FROM operators WHERE operator_id = $1", operator_id)
        return None if r is None else ROWS.operator(r)

    async def insert_operator(self, op: model.Operator) -> None:
        await self._exec(
            f"INSERT INTO operators ({cols.OPERATOR_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
            *PARAMS.operator(op),
        )

    async def update_operator(self, op: model.Operator) -> None:
        await self._exec(
            "UPDATE operators SET name=$1, currency=$2, debit_order=$3, signature_secret=$4, allowed_networks=$5,"
            " start_real=$6, start_bonus=$7, signature_scheme=$8 WHERE operator_id=$9",
            *PARAMS.operator_update(op),
        )

    # players

    async def lock_player(self, account_id: str) -> model.Player | None:
        if not self._writable:
            # A read-only snapshot cannot take row locks (SQLite: a plain read as well).
            return await self.get_player(account_id)
        r = await self._one(f"SELECT {cols.PLAYER_COLS} FROM players WHERE account_id = $1 FOR UPDATE", account_id)
        return None if r is None else ROWS.player(r)

    async def lock_player_and_operator(self, account_id: str) -> tuple[model.Player | None, model.Operator | None]:
        # One statement: the lock is on the player row only, the operator row is read as by a
        # plain SELECT.  Under READ COMMITTED that SELECT's snapshot is taken before waiting for
        # the lock: a unit that waited may see the operator as it was when it started waiting
        # (the player row is re-read after the wait).  An admin change to e.g. debit_order then
        # applies from the next request on, as it would for a request that had read the
        # operator a moment earlier.
        if not self._writable:
            player = await self.get_player(account_id)
            return player, None if player is None else await self.get_operator(player.operator_id)
        r = await self._one(_LOCK_PLAYER_SQL, account_id)
        if r is None:
            return None, None
        return ROWS.player(r), None if r[10] is None else ROWS.operator(r[10:])

    async def load_bet(self, q: BetQuery) -> BetRows:
        if not self._writable:
            return await super().load_bet(q)
        return _bet_rows(await self._one(_LOAD_BET_SQL, *_load_args(q)))

    async def load_settle(self, q: BetQuery) -> SettleRows:
        if not self._writable:
            return await super().load_settle(q)
        return _settle_rows(await self._one(_LOAD_SETTLE_SQL, *_load_args(q)))

    async def get_player(self, account_id: str) -> model.Player | None:
        r = await self._one(f"SELECT {cols.PLAYER_COLS} FROM players WHERE account_id = $1", account_id)
        return None if r is None else ROWS.player(r)

    async def insert_player(self, p: model.Player) -> None:
        await self._exec(
            f"INSERT INTO players ({cols.PLAYER_COLS}, email_norm) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
            *PARAMS.player(p),
        )

    async def update_player(self, p: model.Player) -> None:
        await self._exec(
            "UPDATE players SET name=$1, email=$2, email_norm=$3, country=$4, city=$5, status=$6, last_active=$7"
            " WHERE account_id=$8",
            *PARAMS.player_update(p),
        )

    async def touch_player(self, account_id: str, at: datetime) -> None:
        await self._defer(_W_TOUCH_PLAYER, _ts(at), account_id)

    # wallets and journal

    async def get_wallet(self, account_id: str, currency: str) -> model.Wallet | None:
        r = await self._one(
            f"SELECT {cols.WALLET_COLS} FROM wallets WHERE account_id = $1 AND currency = $2", account_id, currency
        )
        return None if r is None else ROWS.wallet(r)

    async def list_wallets(self, account_id: str) -> list[model.Wallet]:
        rows = await self._all(
            f"SELECT {cols.WALLET_COLS} FROM wallets WHERE account_id = $1 ORDER BY currency", account_id
        )
        return [ROWS.wallet(r) for r in rows]

    async def insert_wallet(self, w: model.Wallet) -> None:
        await self._exec(
            f"INSERT INTO wallets ({cols.WALLET_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)", *PARAMS.wallet(w)
        )

    async def save_wallet(self, w: model.Wallet, entries: Sequence[model.JournalEntry]) -> None:
        if not entries:
            raise TechnicalError("a balance change without a journal entry")
        # Optimistic check: the wallet row must still be at the seq the entries build on
        # (re-checked by PostgreSQL after waiting for a concurrent writer); the entries are
        # inserted only if it is (deferred write, see above).
        columns = zip(*map(PARAMS.journal, entries), strict=True)
        await self._defer(_W_SAVE_WALLET, *PARAMS.wallet_update(w, entries[0].seq - 1), *(list(c) for c in columns))

    async def journal_since(self, account_id: str, currency: str, since: datetime) -> list[model.JournalEntry]:
        rows = await self._all(
            f"SELECT {cols.JOURNAL_COLS} FROM journal WHERE account_id = $1 AND currency = $2 AND created_at >= $3"
            " ORDER BY seq",
            account_id,
            currency,
            _ts(since),
        )
        return [ROWS.journal(r) for r in rows]

    # sessions

    async def get_session(self, session_id: str) -> model.GameSession | None:
        r = await self._one(f"SELECT {cols.SESSION_COLS} FROM sessions WHERE session_id = $1", session_id)
        return None if r is None else ROWS.session(r)

    async def insert_session(self, s: model.GameSession) -> None:
        await self._exec(
            f"INSERT INTO sessions ({cols.SESSION_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)", *PARAMS.session(s)
        )

    async def close_session(self, session_id: str, at: datetime) -> bool:
        n = await self._exec(
            "UPDATE sessions SET closed_at = $1 WHERE session_id = $2 AND closed_at IS NULL", _ts(at), session_id
        )
        return n == 1

    # transactions and rounds

    async def get_tx(self, operator_id: str, scope: str, kind: str, transaction_id: str) -> model.TxRecord | None:
        r = await self._one(
            f"SELECT {cols.TX_COLS} FROM transactions"
            " WHERE operator_id=$1 AND scope=$2 AND kind=$3 AND transaction_id=$4",
            operator_id,
            scope,
            kind,
            transaction_id,
        )
        return None if r is None else ROWS.tx(r)

    async def insert_tx(self, t: model.TxRecord) -> None:
        if t.created_at is None:
            # SQLite stores "" here and then cannot read the record back; refuse up front.
            raise TechnicalError("a transaction record without created_at")
        await self._defer(_W_INSERT_TX, *PARAMS.tx(t, _ts(t.created_at)))

    async def update_tx_state(self, t: model.TxRecord) -> None:
        await self._defer(_W_TX_STATE, t.state, t.operator_id, t.scope, t.kind, t.transaction_id)

    async def drop_refusal(self, t: model.TxRecord) -> None:
        await self._defer(_W_DROP_REFUSAL, t.operator_id, t.scope, t.kind, t.transaction_id, REFUSED)

    async def get_round(self, account_id: str, game_id: str, round_id: str) -> model.Round | None:
        r = await self._one(
            f"SELECT {cols.ROUND_COLS} FROM rounds WHERE account_id=$1 AND game_id=$2 AND round_id=$3",
            account_id,
            game_id,
            round_id,
        )
        return None if r is None else ROWS.round(r)

    async def save_round(self, rnd: model.Round) -> None:
        # Upsert.  created_at and currency are set by the first save and never changed (as in
        # SQLite, whose ON CONFLICT clause leaves them out).
        values = PARAMS.round_values(rnd)
        if rnd.created_at is None:
            # Only an update of an existing round can do without created_at (SQLite would
            # insert "" and then fail to read the round back): checked when the write is sent.
            await self._defer(_W_ROUND_UPDATE, *values)
            return
        await self._defer(_W_ROUND_UPSERT, *values, rnd.currency, _ts(rnd.created_at))

    # responsible gaming and free rounds

    async def get_limits(self, account_id: str) -> model.Limits | None:
        r = await self._one(f"SELECT {cols.LIMITS_COLS} FROM limits WHERE account_id = $1", account_id)
        return None if r is None else ROWS.limits(r)

    async def save_limits(self, lim: model.Limits) -> None:
        await self._exec(
            f"INSERT INTO limits ({cols.LIMITS_COLS}) VALUES ($1,$2,$3,$4,$5) {cols.LIMITS_ON_CONFLICT}",
            *PARAMS.limits(lim),
        )

    async def get_free_rounds(self, frbid: str) -> model.FreeRoundAward | None:
        r = await self._one(f"SELECT {cols.FREE_ROUNDS_COLS} FROM free_rounds WHERE frbid = $1", frbid)
        return None if r is None else ROWS.free_rounds(r)

    async def insert_free_rounds(self, a: model.FreeRoundAward) -> None:
        await self._exec(
            "INSERT INTO free_rounds (frbid, account_id, operator_id, pays_into, created_at) VALUES ($1,$2,$3,$4,$5)",
            a.frbid,
            a.account_id,
            a.operator_id,
            a.pays_into,
            _ts(a.created_at),
        )

    # admin idempotency

    async def get_admin_op(self, key: str) -> tuple[str, str] | None:
        r = await self._one("SELECT fingerprint, reply FROM admin_ops WHERE key = $1", key)
        return None if r is None else (r[0], r[1])

    async def insert_admin_op(self, key: str, fingerprint: str, reply: str, at: datetime) -> None:
        await self._exec(
            "INSERT INTO admin_ops (key, fingerprint, reply, created_at) VALUES ($1,$2,$3,$4)",
            key,
            fingerprint,
            reply,
            _ts(at),
        )

    # games (schema version 2)

    async def get_game(self, game_id: str) -> model.Game | None:
        r = await self._one(f"SELECT {cols.GAME_COLS} FROM games WHERE game_id = $1", game_id)
        return None if r is None else ROWS.game(r)

    async def get_game_by_key_hash(self, key_hash: str) -> model.Game | None:
        r = await self._one(f"SELECT {cols.GAME_COLS} FROM games WHERE key_hash = $1", key_hash)
        return None if r is None else ROWS.game(r)

    async def insert_game(self, g: model.Game) -> None:
        await self._exec(
            f"INSERT INTO games ({cols.GAME_COLS}) VALUES ($1,$2,$3,$4,$5)",
            g.game_id,
            g.operator_id,
            g.name,
            g.key_hash,
            _ts(g.created_at),
        )

    async def set_game_key_hash(self, game_id: str, key_hash: str) -> bool:
        return await self._exec("UPDATE games SET key_hash = $1 WHERE game_id = $2", key_hash, game_id) == 1

    async def list_journal(self, account_id: str, currency: str) -> list[model.JournalEntry]:
        rows = await self._all(
            f"SELECT {cols.JOURNAL_COLS} FROM journal WHERE account_id = $1 AND currency = $2 ORDER BY seq",
            account_id,
            currency,
        )
        return [ROWS.journal(r) for r in rows]

    # currencies, rates and external identities (schema version 3)

    async def get_currency(self, operator_id: str, code: str) -> model.Currency | None:
        r = await self._one(
            f"SELECT {cols.CURRENCY_COLS} FROM currencies WHERE operator_id = $1 AND code = $2", operator_id, code
        )
        return None if r is None else ROWS.currency(r)

    async def list_currencies(self, operator_id: str) -> list[model.Currency]:
        rows = await self._all(
            f"SELECT {cols.CURRENCY_COLS} FROM currencies WHERE operator_id = $1 ORDER BY currency_id", operator_id
        )
        return [ROWS.currency(r) for r in rows]

    async def save_currency(self, c: model.Currency) -> None:
        await self._exec(
            f"INSERT INTO currencies ({cols.CURRENCY_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"
            f" {cols.CURRENCY_ON_CONFLICT}",
            *PARAMS.currency(c),
        )

    async def insert_rate_change(self, ch: model.RateChange) -> None:
        await self._exec(
            f"INSERT INTO currency_rates ({cols.RATE_CHANGE_COLS}) VALUES ($1,$2,$3,$4,$5)", *PARAMS.rate_change(ch)
        )

    async def list_rate_changes(self, operator_id: str, code: str) -> list[model.RateChange]:
        rows = await self._all(
            f"SELECT {cols.RATE_CHANGE_COLS} FROM currency_rates WHERE operator_id = $1 AND code = $2 ORDER BY id",
            operator_id,
            code,
        )
        return [ROWS.rate_change(r) for r in rows]

    async def get_identity(self, operator_id: str, identity: str) -> str | None:
        r = await self._one(
            "SELECT account_id FROM identities WHERE operator_id = $1 AND identity = $2", operator_id, identity
        )
        return None if r is None else str(r[0])

    async def insert_identity(self, operator_id: str, identity: str, account_id: str, at: datetime) -> None:
        await self._exec(
            "INSERT INTO identities (operator_id, identity, account_id, created_at) VALUES ($1,$2,$3,$4)",
            operator_id,
            identity,
            account_id,
            _ts(at),
        )

    # holds and flows (schema version 4)

    async def insert_hold(self, h: model.Hold) -> None:
        await self._exec(
            f"INSERT INTO holds ({cols.HOLD_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)", *PARAMS.hold(h)
        )

    async def get_hold(self, hold_id: str) -> model.Hold | None:
        r = await self._one(f"SELECT {cols.HOLD_COLS} FROM holds WHERE hold_id = $1", hold_id)
        return None if r is None else ROWS.hold(r)

    async def update_hold(self, h: model.Hold) -> None:
        n = await self._exec(
            "UPDATE holds SET state = $1, closed_at = $2, close_reason = $3 WHERE hold_id = $4",
            h.state,
            _tso(h.closed_at),
            h.close_reason,
            h.hold_id,
        )
        if n != 1:
            raise TechnicalError(f"hold {h.hold_id} not found")

    async def insert_flow(self, f: model.Flow) -> None:
        await self._exec(
            f"INSERT INTO flows ({cols.FLOW_COLS}) VALUES"
            " ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)",
            *PARAMS.flow(f),
        )

    async def get_flow(self, flow_id: str) -> model.Flow | None:
        r = await self._one(f"SELECT {cols.FLOW_COLS} FROM flows WHERE flow_id = $1", flow_id)
        return None if r is None else ROWS.flow(r)

    async def get_flow_by_key(self, game_id: str, kind: str, idempotency_key: str) -> model.Flow | None:
        r = await self._one(
            f"SELECT {cols.FLOW_COLS} FROM flows WHERE game_id = $1 AND kind = $2 AND idempotency_key = $3",
            game_id,
            kind,
            idempotency_key,
        )
        return None if r is None else ROWS.flow(r)

    async def update_flow(self, f: model.Flow) -> None:
        n = await self._exec(
            "UPDATE flows SET state = $1, attempts = $2, target_account = $3, closed_reason = $4, steps = $5,"
            " updated_at = $6 WHERE flow_id = $7",
            f.state,
            f.attempts,
            f.target_account,
            f.closed_reason,
            f.steps,
            _ts(f.updated_at),
            f.flow_id,
        )
        if n != 1:
            raise TechnicalError(f"flow {f.flow_id} not found")

    async def insert_payment(self, p: model.Payment) -> None:
        await self._exec(
            f"INSERT INTO payments ({cols.PAYMENT_COLS}) VALUES"
            " ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)",
            *PARAMS.payment(p),
        )

    async def get_payment(self, payment_id: str) -> model.Payment | None:
        r = await self._one(f"SELECT {cols.PAYMENT_COLS} FROM payments WHERE payment_id = $1", payment_id)
        return None if r is None else ROWS.payment(r)

    async def get_payment_by_key(self, game_id: str, idempotency_key: str) -> model.Payment | None:
        r = await self._one(
            f"SELECT {cols.PAYMENT_COLS} FROM payments WHERE game_id = $1 AND idempotency_key = $2",
            game_id,
            idempotency_key,
        )
        return None if r is None else ROWS.payment(r)

    async def update_payment(self, p: model.Payment) -> None:
        n = await self._exec(
            "UPDATE payments SET state = $1, provider_ref = $2, client_secret = $3, message = $4, result = $5,"
            " updated_at = $6 WHERE payment_id = $7",
            p.state,
            p.provider_ref,
            p.client_secret,
            p.message,
            p.result,
            _ts(p.updated_at),
            p.payment_id,
        )
        if n != 1:
            raise TechnicalError(f"payment {p.payment_id} not found")

    async def insert_item_purchase(self, p: model.ItemPurchase) -> None:
        await self._exec(
            f"INSERT INTO item_purchases ({cols.ITEM_COLS}) VALUES"
            " ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
            *PARAMS.item_purchase(p),
        )

    async def get_item_purchase_by_key(self, game_id: str, idempotency_key: str) -> model.ItemPurchase | None:
        r = await self._one(
            f"SELECT {cols.ITEM_COLS} FROM item_purchases WHERE game_id = $1 AND idempotency_key = $2",
            game_id,
            idempotency_key,
        )
        return None if r is None else ROWS.item_purchase(r)

    async def insert_sms(self, m: model.SmsMessage) -> None:
        await self._exec(f"INSERT INTO sms_outbox ({cols.SMS_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)", *PARAMS.sms(m))

    async def update_sms(self, m: model.SmsMessage) -> None:
        await self._exec(
            "UPDATE sms_outbox SET state = $1, body = $2, sent_at = $3 WHERE message_id = $4",
            m.state,
            m.body,
            _tso(m.sent_at),
            m.message_id,
        )

    async def list_sms(self, account_id: str | None, limit: int) -> list[model.SmsMessage]:
        if account_id is None:
            rows = await self._all(f"SELECT {cols.SMS_COLS} FROM sms_outbox ORDER BY id DESC LIMIT $1", limit)
        else:
            rows = await self._all(
                f"SELECT {cols.SMS_COLS} FROM sms_outbox WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
                account_id,
                limit,
            )
        return [ROWS.sms(r) for r in rows]

    async def get_phone(self, account_id: str) -> str | None:
        r = await self._one("SELECT phone FROM player_phones WHERE account_id = $1", account_id)
        return None if r is None else str(r[0])

    async def set_phone(self, account_id: str, phone: str, at: datetime) -> None:
        await self._exec(
            "INSERT INTO player_phones (account_id, phone, updated_at) VALUES ($1,$2,$3)"
            " ON CONFLICT (account_id) DO UPDATE SET phone = excluded.phone, updated_at = excluded.updated_at",
            account_id,
            phone,
            _ts(at),
        )

    # rate limits (schema version 5)

    async def get_game_limits(self, game_id: str) -> GameRateLimits | None:
        r = await self._one(f"SELECT {cols.GAME_LIMIT_COLS} FROM game_rate_limits WHERE game_id = $1", game_id)
        return None if r is None else ROWS.game_limits(r)

    async def save_game_limits(self, lim: GameRateLimits) -> None:
        await self._exec(
            f"INSERT INTO game_rate_limits ({cols.GAME_LIMIT_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7)"
            " ON CONFLICT (game_id) DO UPDATE SET individual_per_min = excluded.individual_per_min,"
            " batch_per_min = excluded.batch_per_min, email_per_min = excluded.email_per_min,"
            " write_per_min = excluded.write_per_min, burst_percent = excluded.burst_percent,"
            " updated_at = excluded.updated_at",
            *PARAMS.game_limits(lim),
        )

    # Hub88 operator settings (schema version 8)

    async def get_hub88_settings(self, operator_id: str) -> Hub88Settings | None:
        r = await self._one(f"SELECT {cols.HUB88_COLS} FROM hub88_operators WHERE operator_id = $1", operator_id)
        return None if r is None else ROWS.hub88(r)

    async def list_hub88_settings(self) -> list[Hub88Settings]:
        rows = await self._all(f"SELECT {cols.HUB88_COLS} FROM hub88_operators ORDER BY operator_id")
        return [ROWS.hub88(r) for r in rows]

    async def save_hub88_settings(self, settings: Hub88Settings) -> None:
        await self._exec(
            f"INSERT INTO hub88_operators ({cols.HUB88_COLS}) VALUES ($1,$2,$3,$4,$5,$6)"
            " ON CONFLICT (operator_id) DO UPDATE SET enabled = excluded.enabled,"
            " public_key_pem = excluded.public_key_pem, private_key_pem = excluded.private_key_pem,"
            " games = excluded.games, updated_at = excluded.updated_at",
            *PARAMS.hub88(settings),
        )


def _admin_op(r: Any) -> model.AdminOp:
    return model.AdminOp(key=r[0], reply=r[1])


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

    # lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            return
        self._version = 0  # no session function before the schema is migrated (_init_connection)
        settings = {"application_name": "groove-wallet", "TimeZone": "UTC"}
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
        """A new pooled session: its own load functions (see ``_LOAD_BET_FN``), once migrated."""
        if self._version:
            await conn.execute(_LOAD_BET_FN + ";" + _LOAD_SETTLE_FN)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
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
                async with pool.acquire() as conn:
                    return bool(await conn.fetchval("SELECT 1", timeout=_PING_TIMEOUT) == 1)
        except Exception:
            return False

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
        async with pool.acquire(timeout=self._connect_timeout) as conn:
            if writable:
                transaction = conn.transaction(isolation="read_committed")
            else:
                transaction = conn.transaction(isolation="repeatable_read", readonly=True)
            tx = PostgresTx(conn, writable=writable)
            try:
                async with transaction:
                    try:
                        result = await unit(tx)
                    except Exception:
                        if tx.failed is None:
                            # Writes the unit made before raising: they would have run (and
                            # any driver error of theirs would have been raised instead).
                            await tx._flush()
                        raise
                    if tx.failed is None:
                        await tx._flush()  # the deferred writes, before COMMIT
                    if tx.failed is not None:
                        # The unit swallowed a driver error; the transaction is aborted and
                        # COMMIT would silently roll it back.  Fail (or retry) instead.
                        raise tx.failed
                    return result
            finally:
                tx._end()

    # streams --------------------------------------------------------------------------

    async def _stream(self, sql: str, *args: Any) -> AsyncGenerator[Any, None]:
        pool = self._require_pool()
        try:
            async with (
                pool.acquire(timeout=self._connect_timeout) as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                async for r in conn.cursor(sql, *args, prefetch=_STREAM_PREFETCH):
                    yield r
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
        async with pool.acquire(timeout=self._connect_timeout) as conn:
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
