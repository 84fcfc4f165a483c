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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import aiosqlite

from ..errors import Conflict, StoreUnavailable, TechnicalError
from ..model import (
    Currency,
    Flow,
    FreeRoundAward,
    Game,
    GameSession,
    Hold,
    ItemPurchase,
    JournalEntry,
    Limits,
    Operator,
    Payment,
    Player,
    RateChange,
    Round,
    SmsMessage,
    TxRecord,
    Wallet,
    entry_flow,
    iso,
    parse_iso,
)
from ..money import from_db, to_db
from ..rate_limits import GameRateLimits
from .migrations import MIGRATIONS

T = TypeVar("T")
log = logging.getLogger(__name__)


def _d(v: str | None) -> Decimal | None:
    return None if v is None else from_db(v)


def _t(v: str | None) -> datetime | None:
    return None if v is None else parse_iso(v)


def _dd(v: Decimal | None) -> str | None:
    return None if v is None else to_db(v)


def _tt(v: datetime | None) -> str | None:
    return None if v is None else iso(v)


_PLAYER_COLS = "account_id, operator_id, name, email, country, city, currency, status, created_at, last_active"
_WALLET_COLS = "account_id, currency, real, bonus, reserved, seq, last_hash, updated_at"
_JOURNAL_COLS = (
    "account_id, currency, seq, kind, real_delta, bonus_delta, reserved_delta, real_after, bonus_after,"
    " reserved_after, reference, reason, created_at, prev_hash, hash"
)
_TX_COLS = (
    "operator_id, scope, kind, transaction_id, account_id, round_id, amount, currency, outcome, message,"
    " wallet_tx, real, bonus, state, created_at, extra"
)
_ROUND_COLS = (
    "account_id, game_id, round_id, currency, status, real_bet, bonus_bet, real_win, bonus_win, wagers,"
    " results, created_at, closed_at"
)
_OPERATOR_COLS = (
    "operator_id, name, currency, debit_order, signature_secret, allowed_networks, start_real, start_bonus, created_at"
)

_GAME_COLS = "game_id, operator_id, name, key_hash, created_at"
_CURRENCY_COLS = "operator_id, code, currency_id, name, symbol, usd_rate, start_amount, created_at, updated_at"


def _currency(r: Any) -> Currency:
    return Currency(
        operator_id=r[0],
        code=r[1],
        currency_id=int(r[2]),
        name=r[3],
        symbol=r[4],
        usd_rate=_d(r[5]),
        start_amount=from_db(r[6]),
        created_at=parse_iso(r[7]),
        updated_at=parse_iso(r[8]),
    )


def _game(r: Any) -> Game:
    return Game(game_id=r[0], operator_id=r[1], name=r[2], key_hash=r[3], created_at=parse_iso(r[4]))


def _operator(r: Any) -> Operator:
    return Operator(
        operator_id=r[0],
        name=r[1],
        currency=r[2],
        debit_order=r[3],
        signature_secret=r[4],
        allowed_networks=tuple(x for x in r[5].split(",") if x),
        start_real=from_db(r[6]),
        start_bonus=from_db(r[7]),
        created_at=parse_iso(r[8]),
    )


def _player(r: Any) -> Player:
    return Player(
        account_id=r[0],
        operator_id=r[1],
        name=r[2],
        email=r[3],
        country=r[4],
        city=r[5],
        currency=r[6],
        status=r[7],
        created_at=parse_iso(r[8]),
        last_active=_t(r[9]),
    )


def _wallet(r: Any) -> Wallet:
    return Wallet(
        account_id=r[0],
        currency=r[1],
        real=from_db(r[2]),
        bonus=from_db(r[3]),
        reserved=from_db(r[4]),
        seq=r[5],
        last_hash=r[6],
        updated_at=_t(r[7]),
    )


def _journal(r: Any) -> JournalEntry:
    return JournalEntry(
        account_id=r[0],
        currency=r[1],
        seq=r[2],
        kind=r[3],
        real_delta=from_db(r[4]),
        bonus_delta=from_db(r[5]),
        reserved_delta=from_db(r[6]),
        real_after=from_db(r[7]),
        bonus_after=from_db(r[8]),
        reserved_after=from_db(r[9]),
        reference=r[10],
        reason=r[11],
        created_at=parse_iso(r[12]),
        prev_hash=r[13],
        hash=r[14],
    )


def _tx(r: Any) -> TxRecord:
    return TxRecord(
        operator_id=r[0],
        scope=r[1],
        kind=r[2],
        transaction_id=r[3],
        account_id=r[4],
        round_id=r[5],
        amount=from_db(r[6]),
        currency=r[7],
        outcome=r[8],
        message=r[9],
        wallet_tx=r[10],
        real=from_db(r[11]),
        bonus=from_db(r[12]),
        state=r[13],
        created_at=parse_iso(r[14]),
        extra=r[15],
    )


def _round(r: Any) -> Round:
    return Round(
        account_id=r[0],
        game_id=r[1],
        round_id=r[2],
        currency=r[3],
        status=r[4],
        real_bet=from_db(r[5]),
        bonus_bet=from_db(r[6]),
        real_win=from_db(r[7]),
        bonus_win=from_db(r[8]),
        wagers=r[9],
        results=r[10],
        created_at=parse_iso(r[11]),
        closed_at=_t(r[12]),
    )


# rate limits (schema version 5)
_GAME_LIMIT_COLS = "game_id, individual_per_min, batch_per_min, email_per_min, write_per_min, burst_percent, updated_at"


class SqliteTx:
    """The :class:`wallet_store.ports.Tx` of the SQLite backend (runs on the connection's thread)."""

    def __init__(self, conn: sqlite3.Connection, *, writable: bool) -> None:
        self._c = conn
        self._writable = writable

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._c.execute(sql, params).fetchall()

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._c.execute(sql, params).fetchone()

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        if not self._writable:
            raise TechnicalError("write attempted in a read-only unit of work")
        return self._c.execute(sql, params).rowcount

    # operators
    async def get_operator(self, operator_id: str) -> Operator | None:
        r = await self._one(f"SELECT {_OPERATOR_COLS} FROM operators WHERE operator_id = ?", (operator_id,))
        return None if r is None else _operator(r)

    async def insert_operator(self, op: Operator) -> None:
        await self._exec(
            f"INSERT INTO operators ({_OPERATOR_COLS}) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                op.operator_id,
                op.name,
                op.currency,
                op.debit_order,
                op.signature_secret,
                ",".join(op.allowed_networks),
                to_db(op.start_real),
                to_db(op.start_bonus),
                iso(op.created_at),
            ),
        )

    async def update_operator(self, op: Operator) -> None:
        await self._exec(
            "UPDATE operators SET name=?, currency=?, debit_order=?, signature_secret=?, allowed_networks=?,"
            " start_real=?, start_bonus=? WHERE operator_id=?",
            (
                op.name,
                op.currency,
                op.debit_order,
                op.signature_secret,
                ",".join(op.allowed_networks),
                to_db(op.start_real),
                to_db(op.start_bonus),
                op.operator_id,
            ),
        )

    # players
    async def lock_player(self, account_id: str) -> Player | None:
        # The single writer already serializes every unit of work.
        return await self.get_player(account_id)

    async def get_player(self, account_id: str) -> Player | None:
        r = await self._one(f"SELECT {_PLAYER_COLS} FROM players WHERE account_id = ?", (account_id,))
        return None if r is None else _player(r)

    async def get_player_by_email(self, operator_id: str, email: str) -> Player | None:
        r = await self._one(
            f"SELECT {_PLAYER_COLS} FROM players WHERE operator_id = ? AND email_norm = ?",
            (operator_id, email.strip().lower()),
        )
        return None if r is None else _player(r)

    async def insert_player(self, p: Player) -> None:
        await self._exec(
            f"INSERT INTO players ({_PLAYER_COLS}, email_norm) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                p.account_id,
                p.operator_id,
                p.name,
                p.email,
                p.country,
                p.city,
                p.currency,
                p.status,
                iso(p.created_at),
                _tt(p.last_active),
                None if p.email is None else p.email.strip().lower(),
            ),
        )

    async def update_player(self, p: Player) -> None:
        await self._exec(
            "UPDATE players SET name=?, email=?, email_norm=?, country=?, city=?, status=?, last_active=?"
            " WHERE account_id=?",
            (
                p.name,
                p.email,
                None if p.email is None else p.email.strip().lower(),
                p.country,
                p.city,
                p.status,
                _tt(p.last_active),
                p.account_id,
            ),
        )

    async def touch_player(self, account_id: str, at: datetime) -> None:
        await self._exec("UPDATE players SET last_active=? WHERE account_id=?", (iso(at), account_id))

    # wallets and journal
    async def get_wallet(self, account_id: str, currency: str) -> Wallet | None:
        r = await self._one(
            f"SELECT {_WALLET_COLS} FROM wallets WHERE account_id = ? AND currency = ?", (account_id, currency)
        )
        return None if r is None else _wallet(r)

    async def list_wallets(self, account_id: str) -> list[Wallet]:
        rows = await self._all(
            f"SELECT {_WALLET_COLS} FROM wallets WHERE account_id = ? ORDER BY currency", (account_id,)
        )
        return [_wallet(r) for r in rows]

    async def insert_wallet(self, w: Wallet) -> None:
        await self._exec(
            f"INSERT INTO wallets ({_WALLET_COLS}) VALUES (?,?,?,?,?,?,?,?)",
            (
                w.account_id,
                w.currency,
                to_db(w.real),
                to_db(w.bonus),
                to_db(w.reserved),
                w.seq,
                w.last_hash,
                _tt(w.updated_at),
            ),
        )

    async def save_wallet(self, w: Wallet, entries: Sequence[JournalEntry]) -> None:
        if not entries:
            raise TechnicalError("a balance change without a journal entry")
        first = entries[0]
        # Optimistic check: the wallet row must still be at the seq the entries build on.
        n = await self._exec(
            "UPDATE wallets SET real=?, bonus=?, reserved=?, seq=?, last_hash=?, updated_at=?"
            " WHERE account_id=? AND currency=? AND seq=?",
            (
                to_db(w.real),
                to_db(w.bonus),
                to_db(w.reserved),
                w.seq,
                w.last_hash,
                _tt(w.updated_at),
                w.account_id,
                w.currency,
                first.seq - 1,
            ),
        )
        if n != 1:
            raise TechnicalError("wallet changed under the unit of work")
        self._c.executemany(
            f"INSERT INTO journal ({_JOURNAL_COLS}, flow) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    e.account_id,
                    e.currency,
                    e.seq,
                    e.kind,
                    to_db(e.real_delta),
                    to_db(e.bonus_delta),
                    to_db(e.reserved_delta),
                    to_db(e.real_after),
                    to_db(e.bonus_after),
                    to_db(e.reserved_after),
                    e.reference,
                    e.reason,
                    iso(e.created_at),
                    e.prev_hash,
                    e.hash,
                    entry_flow(e),
                )
                for e in entries
            ],
        )

    async def journal_since(self, account_id: str, currency: str, since: datetime) -> list[JournalEntry]:
        rows = await self._all(
            f"SELECT {_JOURNAL_COLS} FROM journal WHERE account_id = ? AND currency = ? AND created_at >= ?"
            " ORDER BY seq",
            (account_id, currency, iso(since)),
        )
        return [_journal(r) for r in rows]

    # sessions
    async def get_session(self, session_id: str) -> GameSession | None:
        r = await self._one(
            "SELECT session_id, account_id, operator_id, currency, game_id, created_at, expires_at, closed_at"
            " FROM sessions WHERE session_id = ?",
            (session_id,),
        )
        if r is None:
            return None
        return GameSession(
            session_id=r[0],
            account_id=r[1],
            operator_id=r[2],
            currency=r[3],
            game_id=r[4],
            created_at=parse_iso(r[5]),
            expires_at=parse_iso(r[6]),
            closed_at=_t(r[7]),
        )

    async def insert_session(self, s: GameSession) -> None:
        await self._exec(
            "INSERT INTO sessions (session_id, account_id, operator_id, currency, game_id, created_at, expires_at,"
            " closed_at) VALUES (?,?,?,?,?,?,?,?)",
            (
                s.session_id,
                s.account_id,
                s.operator_id,
                s.currency,
                s.game_id,
                iso(s.created_at),
                iso(s.expires_at),
                _tt(s.closed_at),
            ),
        )

    async def close_session(self, session_id: str, at: datetime) -> bool:
        n = await self._exec(
            "UPDATE sessions SET closed_at = ? WHERE session_id = ? AND closed_at IS NULL", (iso(at), session_id)
        )
        return n == 1

    # transactions and rounds
    async def get_tx(self, operator_id: str, scope: str, kind: str, transaction_id: str) -> TxRecord | None:
        r = await self._one(
            f"SELECT {_TX_COLS} FROM transactions WHERE operator_id=? AND scope=? AND kind=? AND transaction_id=?",
            (operator_id, scope, kind, transaction_id),
        )
        return None if r is None else _tx(r)

    async def insert_tx(self, t: TxRecord) -> None:
        await self._exec(
            f"INSERT INTO transactions ({_TX_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                t.operator_id,
                t.scope,
                t.kind,
                t.transaction_id,
                t.account_id,
                t.round_id,
                to_db(t.amount),
                t.currency,
                t.outcome,
                t.message,
                t.wallet_tx,
                to_db(t.real),
                to_db(t.bonus),
                t.state,
                _tt(t.created_at) or "",
                t.extra,
            ),
        )

    async def update_tx_state(self, t: TxRecord) -> None:
        await self._exec(
            "UPDATE transactions SET state=? WHERE operator_id=? AND scope=? AND kind=? AND transaction_id=?",
            (t.state, t.operator_id, t.scope, t.kind, t.transaction_id),
        )

    async def drop_refusal(self, t: TxRecord) -> None:
        dropped = await self._exec(
            "DELETE FROM transactions WHERE operator_id=? AND scope=? AND kind=? AND transaction_id=?"
            " AND state='refused'",
            (t.operator_id, t.scope, t.kind, t.transaction_id),
        )
        if dropped != 1:
            raise TechnicalError("the refusal to replace is no longer there")

    async def get_round(self, account_id: str, game_id: str, round_id: str) -> Round | None:
        r = await self._one(
            f"SELECT {_ROUND_COLS} FROM rounds WHERE account_id=? AND game_id=? AND round_id=?",
            (account_id, game_id, round_id),
        )
        return None if r is None else _round(r)

    async def save_round(self, rnd: Round) -> None:
        await self._exec(
            f"INSERT INTO rounds ({_ROUND_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (account_id, game_id, round_id) DO UPDATE SET status=excluded.status,"
            " real_bet=excluded.real_bet, bonus_bet=excluded.bonus_bet, real_win=excluded.real_win,"
            " bonus_win=excluded.bonus_win, wagers=excluded.wagers, results=excluded.results,"
            " closed_at=excluded.closed_at",
            (
                rnd.account_id,
                rnd.game_id,
                rnd.round_id,
                rnd.currency,
                rnd.status,
                to_db(rnd.real_bet),
                to_db(rnd.bonus_bet),
                to_db(rnd.real_win),
                to_db(rnd.bonus_win),
                rnd.wagers,
                rnd.results,
                _tt(rnd.created_at) or "",
                _tt(rnd.closed_at),
            ),
        )

    # responsible gaming and free rounds
    async def get_limits(self, account_id: str) -> Limits | None:
        r = await self._one(
            "SELECT account_id, max_bet, loss_day, loss_week, loss_month FROM limits WHERE account_id = ?",
            (account_id,),
        )
        if r is None:
            return None
        return Limits(account_id=r[0], max_bet=_d(r[1]), loss_day=_d(r[2]), loss_week=_d(r[3]), loss_month=_d(r[4]))

    async def save_limits(self, lim: Limits) -> None:
        await self._exec(
            "INSERT INTO limits (account_id, max_bet, loss_day, loss_week, loss_month) VALUES (?,?,?,?,?)"
            " ON CONFLICT (account_id) DO UPDATE SET max_bet=excluded.max_bet, loss_day=excluded.loss_day,"
            " loss_week=excluded.loss_week, loss_month=excluded.loss_month",
            (lim.account_id, _dd(lim.max_bet), _dd(lim.loss_day), _dd(lim.loss_week), _dd(lim.loss_month)),
        )

    async def get_free_rounds(self, frbid: str) -> FreeRoundAward | None:
        r = await self._one(
            "SELECT frbid, account_id, operator_id, pays_into, created_at FROM free_rounds WHERE frbid = ?", (frbid,)
        )
        if r is None:
            return None
        return FreeRoundAward(frbid=r[0], account_id=r[1], operator_id=r[2], pays_into=r[3], created_at=parse_iso(r[4]))

    async def insert_free_rounds(self, a: FreeRoundAward) -> None:
        await self._exec(
            "INSERT INTO free_rounds (frbid, account_id, operator_id, pays_into, created_at) VALUES (?,?,?,?,?)",
            (a.frbid, a.account_id, a.operator_id, a.pays_into, iso(a.created_at)),
        )

    async def count_open_rounds(self) -> int:
        r = await self._one("SELECT count(*) FROM rounds WHERE status = 'open' AND wagers > 0")
        return int(r[0])

    async def get_admin_op(self, key: str) -> tuple[str, str] | None:
        r = await self._one("SELECT fingerprint, reply FROM admin_ops WHERE key = ?", (key,))
        return None if r is None else (r[0], r[1])

    async def insert_admin_op(self, key: str, fingerprint: str, reply: str, at: datetime) -> None:
        await self._exec(
            "INSERT INTO admin_ops (key, fingerprint, reply, created_at) VALUES (?,?,?,?)",
            (key, fingerprint, reply, iso(at)),
        )

    # games (schema version 2)
    async def get_game(self, game_id: str) -> Game | None:
        r = await self._one(f"SELECT {_GAME_COLS} FROM games WHERE game_id = ?", (game_id,))
        return None if r is None else _game(r)

    async def get_game_by_key_hash(self, key_hash: str) -> Game | None:
        r = await self._one(f"SELECT {_GAME_COLS} FROM games WHERE key_hash = ?", (key_hash,))
        return None if r is None else _game(r)

    async def insert_game(self, g: Game) -> None:
        await self._exec(
            f"INSERT INTO games ({_GAME_COLS}) VALUES (?,?,?,?,?)",
            (g.game_id, g.operator_id, g.name, g.key_hash, iso(g.created_at)),
        )

    async def set_game_key_hash(self, game_id: str, key_hash: str) -> bool:
        return await self._exec("UPDATE games SET key_hash = ? WHERE game_id = ?", (key_hash, game_id)) == 1

    async def list_journal(self, account_id: str, currency: str) -> list[JournalEntry]:
        rows = await self._all(
            f"SELECT {_JOURNAL_COLS} FROM journal WHERE account_id = ? AND currency = ? ORDER BY seq",
            (account_id, currency),
        )
        return [_journal(r) for r in rows]

    # currencies, rates and external identities (schema version 3)
    async def get_currency(self, operator_id: str, code: str) -> Currency | None:
        r = await self._one(
            f"SELECT {_CURRENCY_COLS} FROM currencies WHERE operator_id = ? AND code = ?", (operator_id, code)
        )
        return None if r is None else _currency(r)

    async def list_currencies(self, operator_id: str) -> list[Currency]:
        rows = await self._all(
            f"SELECT {_CURRENCY_COLS} FROM currencies WHERE operator_id = ? ORDER BY currency_id", (operator_id,)
        )
        return [_currency(r) for r in rows]

    async def save_currency(self, c: Currency) -> None:
        await self._exec(
            f"INSERT INTO currencies ({_CURRENCY_COLS}) VALUES (?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (operator_id, code) DO UPDATE SET name = excluded.name, symbol = excluded.symbol,"
            " usd_rate = excluded.usd_rate, start_amount = excluded.start_amount, updated_at = excluded.updated_at",
            (
                c.operator_id,
                c.code,
                c.currency_id,
                c.name,
                c.symbol,
                _dd(c.usd_rate),
                to_db(c.start_amount),
                iso(c.created_at),
                iso(c.updated_at),
            ),
        )

    async def insert_rate_change(self, ch: RateChange) -> None:
        await self._exec(
            "INSERT INTO currency_rates (operator_id, code, usd_rate, set_at, note) VALUES (?,?,?,?,?)",
            (ch.operator_id, ch.code, _dd(ch.usd_rate), iso(ch.set_at), ch.note),
        )

    async def list_rate_changes(self, operator_id: str, code: str) -> list[RateChange]:
        rows = await self._all(
            "SELECT operator_id, code, usd_rate, set_at, note FROM currency_rates"
            " WHERE operator_id = ? AND code = ? ORDER BY id",
            (operator_id, code),
        )
        return [RateChange(r[0], r[1], _d(r[2]), parse_iso(r[3]), r[4]) for r in rows]

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

    async def journal_page(
        self,
        account_id: str,
        currency: str,
        *,
        flow: str | None,
        since: datetime | None,
        until: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[JournalEntry]]:
        where = "account_id = ? AND currency = ?"
        params: list[Any] = [account_id, currency]
        if flow is not None:
            where += " AND flow = ?"
            params.append(flow)
        if since is not None:
            where += " AND created_at >= ?"
            params.append(iso(since))
        if until is not None:
            where += " AND created_at < ?"
            params.append(iso(until))
        total = await self._one(f"SELECT count(*) FROM journal WHERE {where}", params)
        rows = await self._all(
            f"SELECT {_JOURNAL_COLS} FROM journal WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return int(total[0]), [_journal(r) for r in rows]

    # reports
    async def list_open_rounds(
        self, opened_before: datetime, after: tuple[datetime, str, str, str] | None, limit: int
    ) -> list[Round]:
        where = "status = 'open' AND wagers > 0 AND created_at < ?"
        params: list[Any] = [iso(opened_before)]
        if after is not None:
            where += " AND (created_at, account_id, game_id, round_id) > (?, ?, ?, ?)"
            params += [iso(after[0]), after[1], after[2], after[3]]
        rows = await self._all(
            f"SELECT {_ROUND_COLS} FROM rounds WHERE {where}"
            " ORDER BY created_at, account_id, game_id, round_id LIMIT ?",
            [*params, limit],
        )
        return [_round(r) for r in rows]

    # holds and flows (schema version 4)
    async def insert_hold(self, h: Hold) -> None:
        await self._exec(
            f"INSERT INTO holds ({_HOLD_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                h.hold_id,
                h.account_id,
                h.currency,
                to_db(h.amount),
                to_db(h.real),
                to_db(h.bonus),
                h.reference,
                h.state,
                iso(h.created_at),
                iso(h.expires_at),
                _tt(h.closed_at),
                h.close_reason,
            ),
        )

    async def get_hold(self, hold_id: str) -> Hold | None:
        r = await self._one(f"SELECT {_HOLD_COLS} FROM holds WHERE hold_id = ?", (hold_id,))
        return None if r is None else _hold(r)

    async def update_hold(self, h: Hold) -> None:
        n = await self._exec(
            "UPDATE holds SET state = ?, closed_at = ?, close_reason = ? WHERE hold_id = ?",
            (h.state, _tt(h.closed_at), h.close_reason, h.hold_id),
        )
        if n != 1:
            raise TechnicalError(f"hold {h.hold_id} not found")

    async def count_open_holds(self, account_id: str) -> int:
        r = await self._one("SELECT count(*) FROM holds WHERE account_id = ? AND state = 'open'", (account_id,))
        return int(r[0])

    async def list_due_holds(self, now: datetime, limit: int, account_id: str | None = None) -> list[Hold]:
        if account_id is None:
            rows = await self._all(
                f"SELECT {_HOLD_COLS} FROM holds WHERE state = 'open' AND expires_at <= ?"
                " ORDER BY expires_at, hold_id LIMIT ?",
                (iso(now), limit),
            )
        else:
            rows = await self._all(
                f"SELECT {_HOLD_COLS} FROM holds WHERE account_id = ? AND state = 'open' AND expires_at <= ?"
                " ORDER BY expires_at, hold_id LIMIT ?",
                (account_id, iso(now), limit),
            )
        return [_hold(r) for r in rows]

    async def insert_flow(self, f: Flow) -> None:
        await self._exec(
            f"INSERT INTO flows ({_FLOW_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                f.flow_id,
                f.kind,
                f.operator_id,
                f.game_id,
                f.idempotency_key,
                f.fingerprint,
                f.source_account,
                f.target_account,
                f.target_email,
                f.currency,
                to_db(f.amount),
                f.hold_id,
                f.state,
                f.code_hash,
                f.attempts,
                f.phone_hint,
                f.note,
                f.closed_reason,
                f.steps,
                iso(f.created_at),
                iso(f.updated_at),
            ),
        )

    async def get_flow(self, flow_id: str) -> Flow | None:
        r = await self._one(f"SELECT {_FLOW_COLS} FROM flows WHERE flow_id = ?", (flow_id,))
        return None if r is None else _flow(r)

    async def get_flow_by_key(self, game_id: str, kind: str, idempotency_key: str) -> Flow | None:
        r = await self._one(
            f"SELECT {_FLOW_COLS} FROM flows WHERE game_id = ? AND kind = ? AND idempotency_key = ?",
            (game_id, kind, idempotency_key),
        )
        return None if r is None else _flow(r)

    async def update_flow(self, f: Flow) -> None:
        n = await self._exec(
            "UPDATE flows SET state = ?, attempts = ?, target_account = ?, closed_reason = ?, steps = ?,"
            " updated_at = ? WHERE flow_id = ?",
            (f.state, f.attempts, f.target_account, f.closed_reason, f.steps, iso(f.updated_at), f.flow_id),
        )
        if n != 1:
            raise TechnicalError(f"flow {f.flow_id} not found")

    async def insert_payment(self, p: Payment) -> None:
        await self._exec(
            f"INSERT INTO payments ({_PAYMENT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                p.payment_id,
                p.operator_id,
                p.game_id,
                p.idempotency_key,
                p.fingerprint,
                p.account_id,
                p.currency,
                to_db(p.usd_amount),
                to_db(p.usd_rate),
                to_db(p.amount),
                p.provider,
                p.state,
                p.provider_ref,
                p.client_secret,
                p.message,
                p.result,
                iso(p.created_at),
                iso(p.updated_at),
            ),
        )

    async def get_payment(self, payment_id: str) -> Payment | None:
        r = await self._one(f"SELECT {_PAYMENT_COLS} FROM payments WHERE payment_id = ?", (payment_id,))
        return None if r is None else _payment(r)

    async def get_payment_by_key(self, game_id: str, idempotency_key: str) -> Payment | None:
        r = await self._one(
            f"SELECT {_PAYMENT_COLS} FROM payments WHERE game_id = ? AND idempotency_key = ?",
            (game_id, idempotency_key),
        )
        return None if r is None else _payment(r)

    async def update_payment(self, p: Payment) -> None:
        n = await self._exec(
            "UPDATE payments SET state = ?, provider_ref = ?, client_secret = ?, message = ?, result = ?,"
            " updated_at = ? WHERE payment_id = ?",
            (p.state, p.provider_ref, p.client_secret, p.message, p.result, iso(p.updated_at), p.payment_id),
        )
        if n != 1:
            raise TechnicalError(f"payment {p.payment_id} not found")

    async def insert_item_purchase(self, p: ItemPurchase) -> None:
        await self._exec(
            f"INSERT INTO item_purchases ({_ITEM_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                p.purchase_id,
                p.operator_id,
                p.game_id,
                p.idempotency_key,
                p.fingerprint,
                p.account_id,
                p.currency,
                p.item_id,
                p.item_name,
                p.quantity,
                to_db(p.unit_price),
                to_db(p.total),
                to_db(p.real),
                to_db(p.bonus),
                p.result,
                iso(p.created_at),
            ),
        )

    async def get_item_purchase_by_key(self, game_id: str, idempotency_key: str) -> ItemPurchase | None:
        r = await self._one(
            f"SELECT {_ITEM_COLS} FROM item_purchases WHERE game_id = ? AND idempotency_key = ?",
            (game_id, idempotency_key),
        )
        return None if r is None else _item_purchase(r)

    async def insert_sms(self, m: SmsMessage) -> None:
        await self._exec(
            f"INSERT INTO sms_outbox ({_SMS_COLS}) VALUES (?,?,?,?,?,?,?,?)",
            (m.message_id, m.account_id, m.phone, m.body, m.purpose, m.state, iso(m.created_at), _tt(m.sent_at)),
        )

    async def update_sms(self, m: SmsMessage) -> None:
        await self._exec(
            "UPDATE sms_outbox SET state = ?, body = ?, sent_at = ? WHERE message_id = ?",
            (m.state, m.body, _tt(m.sent_at), m.message_id),
        )

    async def list_sms(self, account_id: str | None, limit: int) -> list[SmsMessage]:
        if account_id is None:
            rows = await self._all(f"SELECT {_SMS_COLS} FROM sms_outbox ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = await self._all(
                f"SELECT {_SMS_COLS} FROM sms_outbox WHERE account_id = ? ORDER BY id DESC LIMIT ?",
                (account_id, limit),
            )
        return [_sms(r) for r in rows]

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
        r = await self._one(f"SELECT {_GAME_LIMIT_COLS} FROM game_rate_limits WHERE game_id = ?", (game_id,))
        if r is None:
            return None
        return GameRateLimits(
            game_id=r[0],
            individual_per_min=r[1],
            batch_per_min=r[2],
            email_per_min=r[3],
            write_per_min=r[4],
            burst_percent=r[5],
            updated_at=parse_iso(r[6]),
        )

    async def save_game_limits(self, lim: GameRateLimits) -> None:
        await self._exec(
            f"INSERT OR REPLACE INTO game_rate_limits ({_GAME_LIMIT_COLS}) VALUES (?,?,?,?,?,?,?)",
            (
                lim.game_id,
                lim.individual_per_min,
                lim.batch_per_min,
                lim.email_per_min,
                lim.write_per_min,
                lim.burst_percent,
                iso(lim.updated_at),
            ),
        )


# holds and flows (schema version 4): columns and row conversion
_HOLD_COLS = (
    "hold_id, account_id, currency, amount, real, bonus, reference, state, created_at, expires_at, closed_at,"
    " close_reason"
)
_FLOW_COLS = (
    "flow_id, kind, operator_id, game_id, idempotency_key, fingerprint, source_account, target_account,"
    " target_email, currency, amount, hold_id, state, code_hash, attempts, phone_hint, note, closed_reason, steps,"
    " created_at, updated_at"
)
_PAYMENT_COLS = (
    "payment_id, operator_id, game_id, idempotency_key, fingerprint, account_id, currency, usd_amount, usd_rate,"
    " amount, provider, state, provider_ref, client_secret, message, result, created_at, updated_at"
)
_ITEM_COLS = (
    "purchase_id, operator_id, game_id, idempotency_key, fingerprint, account_id, currency, item_id, item_name,"
    " quantity, unit_price, total, real, bonus, result, created_at"
)
_SMS_COLS = "message_id, account_id, phone, body, purpose, state, created_at, sent_at"


def _hold(r: Any) -> Hold:
    return Hold(
        hold_id=r[0],
        account_id=r[1],
        currency=r[2],
        amount=from_db(r[3]),
        real=from_db(r[4]),
        bonus=from_db(r[5]),
        reference=r[6],
        state=r[7],
        created_at=parse_iso(r[8]),
        expires_at=parse_iso(r[9]),
        closed_at=_t(r[10]),
        close_reason=r[11],
    )


def _flow(r: Any) -> Flow:
    return Flow(
        flow_id=r[0],
        kind=r[1],
        operator_id=r[2],
        game_id=r[3],
        idempotency_key=r[4],
        fingerprint=r[5],
        source_account=r[6],
        target_account=r[7],
        target_email=r[8],
        currency=r[9],
        amount=from_db(r[10]),
        hold_id=r[11],
        state=r[12],
        code_hash=r[13],
        attempts=int(r[14]),
        phone_hint=r[15],
        note=r[16],
        closed_reason=r[17],
        steps=r[18],
        created_at=parse_iso(r[19]),
        updated_at=parse_iso(r[20]),
    )


def _payment(r: Any) -> Payment:
    return Payment(
        payment_id=r[0],
        operator_id=r[1],
        game_id=r[2],
        idempotency_key=r[3],
        fingerprint=r[4],
        account_id=r[5],
        currency=r[6],
        usd_amount=from_db(r[7]),
        usd_rate=from_db(r[8]),
        amount=from_db(r[9]),
        provider=r[10],
        state=r[11],
        provider_ref=r[12],
        client_secret=r[13],
        message=r[14],
        result=r[15],
        created_at=parse_iso(r[16]),
        updated_at=parse_iso(r[17]),
    )


def _item_purchase(r: Any) -> ItemPurchase:
    return ItemPurchase(
        purchase_id=r[0],
        operator_id=r[1],
        game_id=r[2],
        idempotency_key=r[3],
        fingerprint=r[4],
        account_id=r[5],
        currency=r[6],
        item_id=r[7],
        item_name=r[8],
        quantity=int(r[9]),
        unit_price=from_db(r[10]),
        total=from_db(r[11]),
        real=from_db(r[12]),
        bonus=from_db(r[13]),
        result=r[14],
        created_at=parse_iso(r[15]),
    )


def _sms(r: Any) -> SmsMessage:
    return SmsMessage(
        message_id=r[0],
        account_id=r[1],
        phone=r[2],
        body=r[3],
        purpose=r[4],
        state=r[5],
        created_at=parse_iso(r[6]),
        sent_at=_t(r[7]),
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
        self._next_reader = 0
        self._queue: asyncio.Queue[_Item] | None = None
        self._task: asyncio.Task[None] | None = None
        self.batch_observer: Callable[[int], None] | None = None

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        await conn.execute(f"PRAGMA busy_timeout = {int(self._busy)}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute(f"PRAGMA synchronous = {self._sync}")
        await conn.execute("PRAGMA foreign_keys = ON")
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
        try:
            async with conn.execute(sql, params) as cur:
                while True:
                    rows = await cur.fetchmany(1000)
                    if not rows:
                        break
                    for r in rows:
                        yield r
        finally:
            await conn.close()

    async def journal(self, account_id: str | None = None) -> AsyncIterator[JournalEntry]:
        if account_id is None:
            q = self._stream(f"SELECT {_JOURNAL_COLS} FROM journal ORDER BY account_id, currency, seq")
        else:
            q = self._stream(
                f"SELECT {_JOURNAL_COLS} FROM journal WHERE account_id = ? ORDER BY currency, seq", (account_id,)
            )
        async for r in q:
            yield _journal(r)

    async def wallets(self) -> AsyncIterator[Wallet]:
        async for r in self._stream(f"SELECT {_WALLET_COLS} FROM wallets ORDER BY account_id, currency"):
            yield _wallet(r)

    async def rounds(self) -> AsyncIterator[Round]:
        async for r in self._stream(f"SELECT {_ROUND_COLS} FROM rounds ORDER BY account_id, game_id, round_id"):
            yield _round(r)

    async def open_holds(self) -> AsyncIterator[Hold]:
        q = f"SELECT {_HOLD_COLS} FROM holds WHERE state = 'open' ORDER BY account_id, currency, hold_id"
        async for r in self._stream(q):
            yield _hold(r)

    async def transactions(self) -> AsyncIterator[TxRecord]:
        async for r in self._stream(f"SELECT {_TX_COLS} FROM transactions ORDER BY account_id, scope, round_id"):
            yield _tx(r)

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
