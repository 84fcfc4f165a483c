"""The :class:`wallet_store.ports.Tx` of the PostgreSQL backend (see :mod:`wallet_store.postgres.store`
for isolation, locking and error mapping)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .. import model
from ..domain.hub88 import Hub88Settings
from ..domain.selection import REFUSED
from ..errors import TechnicalError
from ..ports import BetQuery, BetRows, SettleRows
from ..rate_limits import GameRateLimits
from ..sql import rows as cols
from ..sql.reads import SqlReads
from .codec import CODEC, PARAMS, ROWS, _ts, _tso
from .deferred import (
    _W_DROP_REFUSAL,
    _W_INSERT_TX,
    _W_ROUND_UPDATE,
    _W_ROUND_UPSERT,
    _W_SAVE_WALLET,
    _W_TOUCH_PLAYER,
    _W_TX_STATE,
)
from .loads import _LOAD_BET_SQL, _LOAD_SETTLE_SQL, _LOCK_PLAYER_SQL, _bet_rows, _load_args, _settle_rows
from .unit import UnitConnection


class PostgresTx(UnitConnection, SqlReads):
    """The :class:`wallet_store.ports.Tx` of the PostgreSQL backend: one connection, one transaction.

    The filtered reads (open rounds, due holds, a journal page, a player by e-mail) are
    :class:`~wallet_store.sql.reads.SqlReads`, shared with SQLite.
    """

    _placeholder = staticmethod(lambda n: f"${n}")
    _codec = CODEC
    _rows = ROWS

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
