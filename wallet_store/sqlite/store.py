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
(400 vs 379 us).  Interleaving SQLite's work with each request's HTTP work on one thread
costs more than the hand-off; the threads run queued work back to back.

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
from datetime import datetime
from typing import Any, TypeVar

import aiosqlite

from .. import model
from ..domain.hub88 import Hub88Settings
from ..domain.selection import REFUSED
from ..errors import Conflict, StoreUnavailable, TechnicalError
from ..model import iso, parse_iso
from ..money import from_db, to_db
from ..ports import LedgerRecord
from ..rate_limits import GameRateLimits
from ..sql import rows as cols
from ..sql.params import params as build_params
from ..sql.reads import OPEN_HOLDS_SQL, SqlReads
from ..sql.rows import Codec, rows
from .migrations import MIGRATIONS

T = TypeVar("T")
log = logging.getLogger(__name__)


def _tt(v: datetime | None) -> str | None:
    return None if v is None else iso(v)


def _networks_in(v: str) -> tuple[str, ...]:
    return tuple(x for x in v.split(",") if x)


# How SQLite stores a value: money as fixed-width TEXT, timestamps as ISO text, networks as
# one comma-separated text; the row mapping itself is shared with PostgreSQL (wallet_store.sql).
CODEC = Codec(
    money_in=from_db, money_out=to_db, ts_in=parse_iso, ts_out=iso, networks_in=_networks_in, networks_out=",".join
)
ROWS = rows(CODEC)
PARAMS = build_params(CODEC)
_OPERATOR_COLS_V1 = (
    "operator_id, name, currency, debit_order, signature_secret, allowed_networks, start_real, start_bonus, created_at"
)


class SqliteTx(SqlReads):
    """The :class:`wallet_store.ports.Tx` of the SQLite backend (runs on the connection's thread).

    The filtered reads (open rounds, due holds, a journal page, a player by e-mail) are
    :class:`~wallet_store.sql.reads.SqlReads`, shared with PostgreSQL.
    """

    _placeholder = staticmethod(lambda n: "?")
    _codec = CODEC
    _rows = ROWS

    def __init__(self, conn: sqlite3.Connection, *, writable: bool) -> None:
        self._c = conn
        self._writable = writable

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._c.execute(sql, params).fetchall()

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return self._c.execute(sql, params).fetchall()

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._c.execute(sql, params).fetchone()

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        if not self._writable:
            raise TechnicalError("write attempted in a read-only unit of work")
        return self._c.execute(sql, params).rowcount

    # operators

    async def get_operator(self, operator_id: str) -> model.Operator | None:
        r = await self._one(f"SELECT {cols.OPERATOR_COLS} FROM operators WHERE operator_id = ?", (operator_id,))
        return None if r is None else ROWS.operator(r)

    async def insert_operator(self, op: model.Operator) -> None:
        await self._exec(
            f"INSERT INTO operators ({cols.OPERATOR_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)", PARAMS.operator(op)
        )

    async def update_operator(self, op: model.Operator) -> None:
        await self._exec(
            "UPDATE operators SET name=?, currency=?, debit_order=?, signature_secret=?, allowed_networks=?,"
            " start_real=?, start_bonus=?, signature_scheme=? WHERE operator_id=?",
            PARAMS.operator_update(op),
        )

    # players

    async def lock_player(self, account_id: str) -> model.Player | None:
        # The single writer already serializes every unit of work.
        return await self.get_player(account_id)

    async def lock_player_and_operator(self, account_id: str) -> tuple[model.Player | None, model.Operator | None]:
        player = await self.get_player(account_id)
        return player, None if player is None else await self.get_operator(player.operator_id)

    async def get_player(self, account_id: str) -> model.Player | None:
        r = await self._one(f"SELECT {cols.PLAYER_COLS} FROM players WHERE account_id = ?", (account_id,))
        return None if r is None else ROWS.player(r)

    async def insert_player(self, p: model.Player) -> None:
        await self._exec(
            f"INSERT INTO players ({cols.PLAYER_COLS}, email_norm) VALUES (?,?,?,?,?,?,?,?,?,?,?)", PARAMS.player(p)
        )

    async def update_player(self, p: model.Player) -> None:
        await self._exec(
            "UPDATE players SET name=?, email=?, email_norm=?, country=?, city=?, status=?, last_active=?"
            " WHERE account_id=?",
            PARAMS.player_update(p),
        )

    async def touch_player(self, account_id: str, at: datetime) -> None:
        await self._exec("UPDATE players SET last_active=? WHERE account_id=?", (iso(at), account_id))

    # wallets and journal

    async def get_wallet(self, account_id: str, currency: str) -> model.Wallet | None:
        r = await self._one(
            f"SELECT {cols.WALLET_COLS} FROM wallets WHERE account_id = ? AND currency = ?", (account_id, currency)
        )
        return None if r is None else ROWS.wallet(r)

    async def list_wallets(self, account_id: str) -> list[model.Wallet]:
        rows = await self._all(
            f"SELECT {cols.WALLET_COLS} FROM wallets WHERE account_id = ? ORDER BY currency", (account_id,)
        )
        return [ROWS.wallet(r) for r in rows]

    async def insert_wallet(self, w: model.Wallet) -> None:
        await self._exec(f"INSERT INTO wallets ({cols.WALLET_COLS}) VALUES (?,?,?,?,?,?,?,?)", PARAMS.wallet(w))

    async def save_wallet(self, w: model.Wallet, entries: Sequence[model.JournalEntry]) -> None:
        if not entries:
            raise TechnicalError("a balance change without a journal entry")
        first = entries[0]
        # Optimistic check: the wallet row must still be at the seq the entries build on.
        n = await self._exec(
            "UPDATE wallets SET real=?, bonus=?, reserved=?, seq=?, last_hash=?, updated_at=?"
            " WHERE account_id=? AND currency=? AND seq=?",
            PARAMS.wallet_update(w, first.seq - 1),
        )
        if n != 1:
            raise TechnicalError("wallet changed under the unit of work")
        # The chain head, beside the wallet (audit: a rewind must edit both, and the records).
        self._c.execute(
            "INSERT INTO journal_heads (account_id, currency, seq, hash) VALUES (?,?,?,?)"
            " ON CONFLICT (account_id, currency) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            (w.account_id, w.currency, w.seq, w.last_hash),
        )
        self._c.executemany(
            f"INSERT INTO journal ({cols.JOURNAL_COLS}, flow) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [PARAMS.journal(e) for e in entries],
        )

    async def journal_since(self, account_id: str, currency: str, since: datetime) -> list[model.JournalEntry]:
        rows = await self._all(
            f"SELECT {cols.JOURNAL_COLS} FROM journal WHERE account_id = ? AND currency = ? AND created_at >= ?"
            " ORDER BY seq",
            (account_id, currency, iso(since)),
        )
        return [ROWS.journal(r) for r in rows]

    # sessions

    async def get_session(self, session_id: str) -> model.GameSession | None:
        r = await self._one(f"SELECT {cols.SESSION_COLS} FROM sessions WHERE session_id = ?", (session_id,))
        return None if r is None else ROWS.session(r)

    async def insert_session(self, s: model.GameSession) -> None:
        await self._exec(f"INSERT INTO sessions ({cols.SESSION_COLS}) VALUES (?,?,?,?,?,?,?,?)", PARAMS.session(s))

    async def close_session(self, session_id: str, at: datetime) -> bool:
        n = await self._exec(
            "UPDATE sessions SET closed_at = ? WHERE session_id = ? AND closed_at IS NULL", (iso(at), session_id)
        )
        return n == 1

    # transactions and rounds

    async def get_tx(self, operator_id: str, scope: str, kind: str, transaction_id: str) -> model.TxRecord | None:
        r = await self._one(
            f"SELECT {cols.TX_COLS} FROM transactions WHERE operator_id=? AND scope=? AND kind=? AND transaction_id=?",
            (operator_id, scope, kind, transaction_id),
        )
        return None if r is None else ROWS.tx(r)

    async def insert_tx(self, t: model.TxRecord) -> None:
        await self._exec(
            f"INSERT INTO transactions ({cols.TX_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            PARAMS.tx(t, _tt(t.created_at) or ""),
        )

    async def update_tx_state(self, t: model.TxRecord) -> None:
        await self._exec(
            "UPDATE transactions SET state=? WHERE operator_id=? AND scope=? AND kind=? AND transaction_id=?",
            (t.state, t.operator_id, t.scope, t.kind, t.transaction_id),
        )

    async def drop_refusal(self, t: model.TxRecord) -> None:
        dropped = await self._exec(
            "DELETE FROM transactions WHERE operator_id=? AND scope=? AND kind=? AND transaction_id=? AND state=?",
            (t.operator_id, t.scope, t.kind, t.transaction_id, REFUSED),
        )
        if dropped != 1:
            raise TechnicalError("the refusal to replace is no longer there")

    async def get_round(self, account_id: str, game_id: str, round_id: str) -> model.Round | None:
        r = await self._one(
            f"SELECT {cols.ROUND_COLS} FROM rounds WHERE account_id=? AND game_id=? AND round_id=?",
            (account_id, game_id, round_id),
        )
        return None if r is None else ROWS.round(r)

    async def save_round(self, rnd: model.Round) -> None:
        await self._exec(
            f"INSERT INTO rounds ({cols.ROUND_SAVE_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) {cols.ROUND_ON_CONFLICT}",
            (*PARAMS.round_values(rnd), rnd.currency, _tt(rnd.created_at) or ""),
        )

    # responsible gaming and free rounds

    async def get_limits(self, account_id: str) -> model.Limits | None:
        r = await self._one(f"SELECT {cols.LIMITS_COLS} FROM limits WHERE account_id = ?", (account_id,))
        return None if r is None else ROWS.limits(r)

    async def save_limits(self, lim: model.Limits) -> None:
        await self._exec(
            f"INSERT INTO limits ({cols.LIMITS_COLS}) VALUES (?,?,?,?,?) {cols.LIMITS_ON_CONFLICT}",
            PARAMS.limits(lim),
        )

    async def get_free_rounds(self, frbid: str) -> model.FreeRoundAward | None:
        r = await self._one(f"SELECT {cols.FREE_ROUNDS_COLS} FROM free_rounds WHERE frbid = ?", (frbid,))
        return None if r is None else ROWS.free_rounds(r)

    async def insert_free_rounds(self, a: model.FreeRoundAward) -> None:
        await self._exec(
            "INSERT INTO free_rounds (frbid, account_id, operator_id, pays_into, created_at) VALUES (?,?,?,?,?)",
            (a.frbid, a.account_id, a.operator_id, a.pays_into, iso(a.created_at)),
        )

    async def get_admin_op(self, key: str) -> tuple[str, str] | None:
        r = await self._one("SELECT fingerprint, reply FROM admin_ops WHERE key = ?", (key,))
        return None if r is None else (r[0], r[1])

    async def insert_admin_op(self, key: str, fingerprint: str, reply: str, at: datetime) -> None:
        await self._exec(
            "INSERT INTO admin_ops (key, fingerprint, reply, created_at) VALUES (?,?,?,?)",
            (key, fingerprint, reply, iso(at)),
        )

    # games (schema version 2)

    async def get_game(self, game_id: str) -> model.Game | None:
        r = await self._one(f"SELECT {cols.GAME_COLS} FROM games WHERE game_id = ?", (game_id,))
        return None if r is None else ROWS.game(r)

    async def get_game_by_key_hash(self, key_hash: str) -> model.Game | None:
        r = await self._one(f"SELECT {cols.GAME_COLS} FROM games WHERE key_hash = ?", (key_hash,))
        return None if r is None else ROWS.game(r)

    async def insert_game(self, g: model.Game) -> None:
        await self._exec(
            f"INSERT INTO games ({cols.GAME_COLS}) VALUES (?,?,?,?,?)",
            (g.game_id, g.operator_id, g.name, g.key_hash, iso(g.created_at)),
        )

    async def set_game_key_hash(self, game_id: str, key_hash: str) -> bool:
        return await self._exec("UPDATE games SET key_hash = ? WHERE game_id = ?", (key_hash, game_id)) == 1

    async def list_journal(self, account_id: str, currency: str) -> list[model.JournalEntry]:
        rows = await self._all(
            f"SELECT {cols.JOURNAL_COLS} FROM journal WHERE account_id = ? AND currency = ? ORDER BY seq",
            (account_id, currency),
        )
        return [ROWS.journal(r) for r in rows]

    # currencies, rates and external identities (schema version 3)

    async def get_currency(self, operator_id: str, code: str) -> model.Currency | None:
        r = await self._one(
            f"SELECT {cols.CURRENCY_COLS} FROM currencies WHERE operator_id = ? AND code = ?", (operator_id, code)
        )
        return None if r is None else ROWS.currency(r)

    async def list_currencies(self, operator_id: str) -> list[model.Currency]:
        rows = await self._all(
            f"SELECT {cols.CURRENCY_COLS} FROM currencies WHERE operator_id = ? ORDER BY currency_id", (operator_id,)
        )
        return [ROWS.currency(r) for r in rows]

    async def save_currency(self, c: model.Currency) -> None:
        await self._exec(
            f"INSERT INTO currencies ({cols.CURRENCY_COLS}) VALUES (?,?,?,?,?,?,?,?,?) {cols.CURRENCY_ON_CONFLICT}",
            PARAMS.currency(c),
        )

    async def insert_rate_change(self, ch: model.RateChange) -> None:
        await self._exec(
            f"INSERT INTO currency_rates ({cols.RATE_CHANGE_COLS}) VALUES (?,?,?,?,?)",
            PARAMS.rate_change(ch),
        )

    async def list_rate_changes(self, operator_id: str, code: str) -> list[model.RateChange]:
        rows = await self._all(
            f"SELECT {cols.RATE_CHANGE_COLS} FROM currency_rates WHERE operator_id = ? AND code = ? ORDER BY id",
            (operator_id, code),
        )
        return [ROWS.rate_change(r) for r in rows]

    async def get_identity(self, operator_id: str, identity: str) -> str | None:
        r = await self._one(
            "SELECT account_id FROM identities WHERE operator_id = ? AND identity = ?", (operator_id, identity)
        )
        return None if r is None else str(r[0])

    async def insert_identity(self, operator_id: str, identity: str, account_id: str, at: datetime) -> None:
        await self._exec(
            "INSERT INTO identities (operator_id, identity, account_id, created_at) VALUES (?,?,?,?)",
            (operator_id, identity, account_id, iso(at)),
        )

    # holds and flows (schema version 4)

    async def insert_hold(self, h: model.Hold) -> None:
        await self._exec(f"INSERT INTO holds ({cols.HOLD_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", PARAMS.hold(h))

    async def get_hold(self, hold_id: str) -> model.Hold | None:
        r = await self._one(f"SELECT {cols.HOLD_COLS} FROM holds WHERE hold_id = ?", (hold_id,))
        return None if r is None else ROWS.hold(r)

    async def update_hold(self, h: model.Hold) -> None:
        n = await self._exec(
            "UPDATE holds SET state = ?, closed_at = ?, close_reason = ? WHERE hold_id = ?",
            (h.state, _tt(h.closed_at), h.close_reason, h.hold_id),
        )
        if n != 1:
            raise TechnicalError(f"hold {h.hold_id} not found")

    async def insert_flow(self, f: model.Flow) -> None:
        await self._exec(
            f"INSERT INTO flows ({cols.FLOW_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", PARAMS.flow(f)
        )

    async def get_flow(self, flow_id: str) -> model.Flow | None:
        r = await self._one(f"SELECT {cols.FLOW_COLS} FROM flows WHERE flow_id = ?", (flow_id,))
        return None if r is None else ROWS.flow(r)

    async def get_flow_by_key(self, game_id: str, kind: str, idempotency_key: str) -> model.Flow | None:
        r = await self._one(
            f"SELECT {cols.FLOW_COLS} FROM flows WHERE game_id = ? AND kind = ? AND idempotency_key = ?",
            (game_id, kind, idempotency_key),
        )
        return None if r is None else ROWS.flow(r)

    async def update_flow(self, f: model.Flow) -> None:
        n = await self._exec(
            "UPDATE flows SET state = ?, attempts = ?, target_account = ?, closed_reason = ?, steps = ?,"
            " updated_at = ? WHERE flow_id = ?",
            (f.state, f.attempts, f.target_account, f.closed_reason, f.steps, iso(f.updated_at), f.flow_id),
        )
        if n != 1:
            raise TechnicalError(f"flow {f.flow_id} not found")

    async def insert_payment(self, p: model.Payment) -> None:
        await self._exec(
            f"INSERT INTO payments ({cols.PAYMENT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            PARAMS.payment(p),
        )

    async def get_payment(self, payment_id: str) -> model.Payment | None:
        r = await self._one(f"SELECT {cols.PAYMENT_COLS} FROM payments WHERE payment_id = ?", (payment_id,))
        return None if r is None else ROWS.payment(r)

    async def get_payment_by_key(self, game_id: str, idempotency_key: str) -> model.Payment | None:
        r = await self._one(
            f"SELECT {cols.PAYMENT_COLS} FROM payments WHERE game_id = ? AND idempotency_key = ?",
            (game_id, idempotency_key),
        )
        return None if r is None else ROWS.payment(r)

    async def update_payment(self, p: model.Payment) -> None:
        n = await self._exec(
            "UPDATE payments SET state = ?, provider_ref = ?, client_secret = ?, message = ?, result = ?,"
            " updated_at = ? WHERE payment_id = ?",
            (p.state, p.provider_ref, p.client_secret, p.message, p.result, iso(p.updated_at), p.payment_id),
        )
        if n != 1:
            raise TechnicalError(f"payment {p.payment_id} not found")

    async def insert_item_purchase(self, p: model.ItemPurchase) -> None:
        await self._exec(
            f"INSERT INTO item_purchases ({cols.ITEM_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            PARAMS.item_purchase(p),
        )

    async def get_item_purchase_by_key(self, game_id: str, idempotency_key: str) -> model.ItemPurchase | None:
        r = await self._one(
            f"SELECT {cols.ITEM_COLS} FROM item_purchases WHERE game_id = ? AND idempotency_key = ?",
            (game_id, idempotency_key),
        )
        return None if r is None else ROWS.item_purchase(r)

    async def insert_sms(self, m: model.SmsMessage) -> None:
        await self._exec(
            f"INSERT INTO sms_outbox ({cols.SMS_COLS}) VALUES (?,?,?,?,?,?,?,?)",
            PARAMS.sms(m),
        )

    async def update_sms(self, m: model.SmsMessage) -> None:
        await self._exec(
            "UPDATE sms_outbox SET state = ?, body = ?, sent_at = ? WHERE message_id = ?",
            (m.state, m.body, _tt(m.sent_at), m.message_id),
        )

    async def list_sms(self, account_id: str | None, limit: int) -> list[model.SmsMessage]:
        if account_id is None:
            rows = await self._all(f"SELECT {cols.SMS_COLS} FROM sms_outbox ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = await self._all(
                f"SELECT {cols.SMS_COLS} FROM sms_outbox WHERE account_id = ? ORDER BY id DESC LIMIT ?",
                (account_id, limit),
            )
        return [ROWS.sms(r) for r in rows]

    async def get_phone(self, account_id: str) -> str | None:
        r = await self._one("SELECT phone FROM player_phones WHERE account_id = ?", (account_id,))
        return None if r is None else str(r[0])

    async def set_phone(self, account_id: str, phone: str, at: datetime) -> None:
        await self._exec(
            "INSERT INTO player_phones (account_id, phone, updated_at) VALUES (?,?,?)"
            " ON CONFLICT (account_id) DO UPDATE SET phone = excluded.phone, updated_at = excluded.updated_at",
            (account_id, phone, iso(at)),
        )

    # rate limits (schema version 5)

    async def get_game_limits(self, game_id: str) -> GameRateLimits | None:
        r = await self._one(f"SELECT {cols.GAME_LIMIT_COLS} FROM game_rate_limits WHERE game_id = ?", (game_id,))
        return None if r is None else ROWS.game_limits(r)

    async def save_game_limits(self, lim: GameRateLimits) -> None:
        await self._exec(
            f"INSERT OR REPLACE INTO game_rate_limits ({cols.GAME_LIMIT_COLS}) VALUES (?,?,?,?,?,?,?)",
            PARAMS.game_limits(lim),
        )

    # Hub88 operator settings (schema version 8)

    async def get_hub88_settings(self, operator_id: str) -> Hub88Settings | None:
        r = await self._one(f"SELECT {cols.HUB88_COLS} FROM hub88_operators WHERE operator_id = ?", (operator_id,))
        return None if r is None else ROWS.hub88(r)

    async def list_hub88_settings(self) -> list[Hub88Settings]:
        rows = await self._all(f"SELECT {cols.HUB88_COLS} FROM hub88_operators ORDER BY operator_id")
        return [ROWS.hub88(r) for r in rows]

    async def save_hub88_settings(self, settings: Hub88Settings) -> None:
        await self._exec(
            f"INSERT OR REPLACE INTO hub88_operators ({cols.HUB88_COLS}) VALUES (?,?,?,?,?,?)",
            PARAMS.hub88(settings),
        )


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
