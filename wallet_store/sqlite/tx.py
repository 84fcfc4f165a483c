"""The :class:`wallet_store.ports.Tx` of the SQLite backend and its codec (see
:mod:`wallet_store.sqlite.store` for the single writer, group commit and error mapping)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from .. import model
from ..domain.hub88 import Hub88Settings
from ..domain.selection import REFUSED
from ..errors import TechnicalError
from ..loads import load_bet_by_reads
from ..model import iso, parse_iso
from ..money import from_db, to_db
from ..ports import BetQuery, BetRows, Tx
from ..rate_limits import GameRateLimits
from ..sql import rows as cols
from ..sql.params import params as build_params
from ..sql.reads import SqlReads
from ..sql.rows import Codec, rows


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


# A bet's rows in two statements instead of six point reads (each statement costs the writer
# a prepare-cache lookup, bindings, a step and a reset besides its B-tree search): the player
# with its operator, and after the records (a replay needs nothing else) the session with
# what hangs on it.  Every join is a primary-key lookup; a row that is absent reads as NULLs.
_PLAYER_AND_OPERATOR_SQL = (
    f"SELECT {cols.aliased('p', cols.PLAYER_COLS)}, {cols.aliased('o', cols.OPERATOR_COLS)}"
    " FROM players p LEFT JOIN operators o ON o.operator_id = p.operator_id WHERE p.account_id = ?"
)
_BET_STATE_SQL = (
    f"SELECT {cols.aliased('s', cols.SESSION_COLS)}, {cols.aliased('w', cols.WALLET_COLS)},"
    f" {cols.aliased('r', cols.ROUND_COLS)}, {cols.aliased('l', cols.LIMITS_COLS)},"
    f" {cols.aliased('f', cols.FREE_ROUNDS_COLS)} FROM sessions s"
    " LEFT JOIN wallets w ON w.account_id = ? AND w.currency = s.currency"
    " LEFT JOIN rounds r ON r.account_id = ? AND r.game_id = ? AND r.round_id = ?"
    " LEFT JOIN limits l ON l.account_id = ?"
    " LEFT JOIN free_rounds f ON f.frbid = ?"
    " WHERE s.session_id = ?"
)
_P = cols.width(cols.PLAYER_COLS)
_S = cols.width(cols.SESSION_COLS)
_W = _S + cols.width(cols.WALLET_COLS)
_R = _W + cols.width(cols.ROUND_COLS)
_L = _R + cols.width(cols.LIMITS_COLS)
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
        r = await self._one(_PLAYER_AND_OPERATOR_SQL, (account_id,))
        if r is None:
            return None, None
        return ROWS.player(r[:_P]), None if r[_P] is None else ROWS.operator(r[_P:])

    async def load_bet(self, q: BetQuery) -> BetRows:
        """:func:`~wallet_store.loads.load_bet_by_reads` with the session's part in one statement
        (three statements in all, see above)."""
        return await load_bet_by_reads(cast(Tx, self), q, _bet_state)

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


async def _bet_state(
    tx: Tx, q: BetQuery, player: model.Player, op: model.Operator, found: Mapping[str, model.TxRecord]
) -> BetRows:
    """:data:`~wallet_store.loads.BetState` in one statement: the session with its wallet, round,
    limits and award (each a primary-key LEFT JOIN; absent rows read as NULLs)."""
    a = q.account_id
    r = await cast(SqliteTx, tx)._one(_BET_STATE_SQL, (a, a, q.game_id, q.round_id, a, q.frbid, q.session_id))
    if r is None:
        return BetRows(player, op, found)
    return BetRows(
        player,
        op,
        found,
        ROWS.session(r[:_S]),
        None if r[_S] is None else ROWS.wallet(r[_S:_W]),
        None if r[_W] is None else ROWS.round(r[_W:_R]),
        None if r[_R] is None else ROWS.limits(r[_R:_L]),
        None if r[_L] is None else ROWS.free_rounds(r[_L:]),
    )
