"""Statement parameters shared by the SQLite and PostgreSQL stores: ``model -> tuple``.

Each tuple is in the order of the matching column list of :mod:`wallet_store.sql.rows`
(or of the statement named in the docstring); values are encoded by the backend's
:class:`~wallet_store.sql.rows.Codec`.  SQLite passes the tuple as it is, PostgreSQL
unpacks it into ``$1..$n``.  Built once per codec as closures, like the row mappers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

from ..domain.hub88 import Hub88Settings
from ..domain.selection import normalize_email
from ..model import (
    Currency,
    Flow,
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
)
from ..rate_limits import GameRateLimits
from .rows import Codec, optional

Values = tuple[Any, ...]


class Params(NamedTuple):
    """One backend's ``model -> parameters`` encoders."""

    operator: Callable[[Operator], Values]
    operator_update: Callable[[Operator], Values]
    player: Callable[[Player], Values]
    player_update: Callable[[Player], Values]
    wallet: Callable[[Wallet], Values]
    wallet_update: Callable[[Wallet, int], Values]
    journal: Callable[[JournalEntry], Values]
    session: Callable[[GameSession], Values]
    tx: Callable[[TxRecord, Any], Values]
    round_values: Callable[[Round], Values]
    limits: Callable[[Limits], Values]
    currency: Callable[[Currency], Values]
    rate_change: Callable[[RateChange], Values]
    game_limits: Callable[[GameRateLimits], Values]
    hub88: Callable[[Hub88Settings], Values]
    hold: Callable[[Hold], Values]
    flow: Callable[[Flow], Values]
    payment: Callable[[Payment], Values]
    item_purchase: Callable[[ItemPurchase], Values]
    sms: Callable[[SmsMessage], Values]


def params(c: Codec) -> Params:
    """The encoders of the backend that stores values as ``c`` says."""
    operator, operator_update = _operator(c)
    player, player_update = _player(c)
    wallet, wallet_update = _wallet(c)
    return Params(
        operator=operator,
        operator_update=operator_update,
        player=player,
        player_update=player_update,
        wallet=wallet,
        wallet_update=wallet_update,
        journal=_journal(c),
        session=_session(c),
        tx=_tx(c),
        round_values=_round_values(c),
        limits=_limits(c),
        currency=_currency(c),
        rate_change=_rate_change(c),
        game_limits=_game_limits(c),
        hub88=_hub88(c),
        hold=_hold(c),
        flow=_flow(c),
        payment=_payment(c),
        item_purchase=_item_purchase(c),
        sms=_sms(c),
    )


def _operator(c: Codec) -> tuple[Callable[[Operator], Values], Callable[[Operator], Values]]:
    money, ts, networks = c.money_out, c.ts_out, c.networks_out

    def operator(op: Operator) -> Values:
        """OPERATOR_COLS."""
        return (
            op.operator_id,
            op.name,
            op.currency,
            op.debit_order,
            op.signature_secret,
            networks(op.allowed_networks),
            money(op.start_real),
            money(op.start_bonus),
            ts(op.created_at),
            op.signature_scheme,
        )

    def operator_update(op: Operator) -> Values:
        """SET name, currency, debit_order, signature_secret, allowed_networks, start_real,
        start_bonus, signature_scheme WHERE operator_id."""
        return (
            op.name,
            op.currency,
            op.debit_order,
            op.signature_secret,
            networks(op.allowed_networks),
            money(op.start_real),
            money(op.start_bonus),
            op.signature_scheme,
            op.operator_id,
        )

    return operator, operator_update


def _player(c: Codec) -> tuple[Callable[[Player], Values], Callable[[Player], Values]]:
    ts, ts_opt = c.ts_out, optional(c.ts_out)

    def player(p: Player) -> Values:
        """PLAYER_COLS, email_norm."""
        return (
            p.account_id,
            p.operator_id,
            p.name,
            p.email,
            p.country,
            p.city,
            p.currency,
            p.status,
            ts(p.created_at),
            ts_opt(p.last_active),
            normalize_email(p.email),
        )

    def player_update(p: Player) -> Values:
        """SET name, email, email_norm, country, city, status, last_active WHERE account_id."""
        return (
            p.name,
            p.email,
            normalize_email(p.email),
            p.country,
            p.city,
            p.status,
            ts_opt(p.last_active),
            p.account_id,
        )

    return player, player_update


def _wallet(c: Codec) -> tuple[Callable[[Wallet], Values], Callable[[Wallet, int], Values]]:
    money, ts_opt = c.money_out, optional(c.ts_out)

    def wallet(w: Wallet) -> Values:
        """WALLET_COLS."""
        return (
            w.account_id,
            w.currency,
            money(w.real),
            money(w.bonus),
            money(w.reserved),
            w.seq,
            w.last_hash,
            ts_opt(w.updated_at),
        )

    def wallet_update(w: Wallet, base_seq: int) -> Values:
        """SET real, bonus, reserved, seq, last_hash, updated_at WHERE account_id, currency,
        seq (the optimistic check: the wallet is still at ``base_seq``)."""
        return (
            money(w.real),
            money(w.bonus),
            money(w.reserved),
            w.seq,
            w.last_hash,
            ts_opt(w.updated_at),
            w.account_id,
            w.currency,
            base_seq,
        )

    return wallet, wallet_update


def _journal(c: Codec) -> Callable[[JournalEntry], Values]:
    money, ts = c.money_out, c.ts_out

    def journal(e: JournalEntry) -> Values:
        """JOURNAL_COLS, flow."""
        return (
            e.account_id,
            e.currency,
            e.seq,
            e.kind,
            money(e.real_delta),
            money(e.bonus_delta),
            money(e.reserved_delta),
            money(e.real_after),
            money(e.bonus_after),
            money(e.reserved_after),
            e.reference,
            e.reason,
            ts(e.created_at),
            e.prev_hash,
            e.hash,
            entry_flow(e),
        )

    return journal


def _session(c: Codec) -> Callable[[GameSession], Values]:
    ts, ts_opt = c.ts_out, optional(c.ts_out)

    def session(s: GameSession) -> Values:
        """SESSION_COLS."""
        return (
            s.session_id,
            s.account_id,
            s.operator_id,
            s.currency,
            s.game_id,
            ts(s.created_at),
            ts(s.expires_at),
            ts_opt(s.closed_at),
        )

    return session


def _tx(c: Codec) -> Callable[[TxRecord, Any], Values]:
    money = c.money_out

    def tx(t: TxRecord, created_at: Any) -> Values:
        """TX_COLS; ``created_at`` already encoded (the backends treat a missing one apart)."""
        return (
            t.operator_id,
            t.scope,
            t.kind,
            t.transaction_id,
            t.account_id,
            t.round_id,
            money(t.amount),
            t.currency,
            t.outcome,
            t.message,
            t.wallet_tx,
            money(t.real),
            money(t.bonus),
            t.state,
            created_at,
            t.extra,
        )

    return tx


def _round_values(c: Codec) -> Callable[[Round], Values]:
    money, ts_opt = c.money_out, optional(c.ts_out)

    def round_values(rnd: Round) -> Values:
        """ROUND_SAVE_COLS but currency and created_at (what a save may change, then the key)."""
        return (
            money(rnd.real_bet),
            money(rnd.bonus_bet),
            money(rnd.real_win),
            money(rnd.bonus_win),
            rnd.wagers,
            rnd.results,
            ts_opt(rnd.closed_at),
            rnd.status,
            rnd.account_id,
            rnd.game_id,
            rnd.round_id,
        )

    return round_values


def _limits(c: Codec) -> Callable[[Limits], Values]:
    m = optional(c.money_out)

    def limits(lim: Limits) -> Values:
        """LIMITS_COLS."""
        return (lim.account_id, m(lim.max_bet), m(lim.loss_day), m(lim.loss_week), m(lim.loss_month))

    return limits


def _currency(c: Codec) -> Callable[[Currency], Values]:
    money, money_opt, ts = c.money_out, optional(c.money_out), c.ts_out

    def currency(cur: Currency) -> Values:
        """CURRENCY_COLS."""
        return (
            cur.operator_id,
            cur.code,
            cur.currency_id,
            cur.name,
            cur.symbol,
            money_opt(cur.usd_rate),
            money(cur.start_amount),
            ts(cur.created_at),
            ts(cur.updated_at),
        )

    return currency


def _rate_change(c: Codec) -> Callable[[RateChange], Values]:
    money_opt, ts = optional(c.money_out), c.ts_out

    def rate_change(ch: RateChange) -> Values:
        """RATE_CHANGE_COLS."""
        return (ch.operator_id, ch.code, money_opt(ch.usd_rate), ts(ch.set_at), ch.note)

    return rate_change


def _game_limits(c: Codec) -> Callable[[GameRateLimits], Values]:
    ts = c.ts_out

    def game_limits(lim: GameRateLimits) -> Values:
        """GAME_LIMIT_COLS."""
        return (
            lim.game_id,
            lim.individual_per_min,
            lim.batch_per_min,
            lim.email_per_min,
            lim.write_per_min,
            lim.burst_percent,
            ts(lim.updated_at),
        )

    return game_limits


def _hub88(c: Codec) -> Callable[[Hub88Settings], Values]:
    ts = c.ts_out

    def hub88(h: Hub88Settings) -> Values:
        """HUB88_COLS."""
        games = json.dumps(list(h.games), separators=(",", ":"))
        return (h.operator_id, int(h.enabled), h.public_key_pem, h.private_key_pem, games, ts(h.updated_at))

    return hub88


def _hold(c: Codec) -> Callable[[Hold], Values]:
    money, ts, ts_opt = c.money_out, c.ts_out, optional(c.ts_out)

    def hold(h: Hold) -> Values:
        """HOLD_COLS."""
        return (
            h.hold_id,
            h.account_id,
            h.currency,
            money(h.amount),
            money(h.real),
            money(h.bonus),
            h.reference,
            h.state,
            ts(h.created_at),
            ts(h.expires_at),
            ts_opt(h.closed_at),
            h.close_reason,
        )

    return hold


def _flow(c: Codec) -> Callable[[Flow], Values]:
    money, ts = c.money_out, c.ts_out

    def flow(f: Flow) -> Values:
        """FLOW_COLS."""
        return (
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
            money(f.amount),
            f.hold_id,
            f.state,
            f.code_hash,
            f.attempts,
            f.phone_hint,
            f.note,
            f.closed_reason,
            f.steps,
            ts(f.created_at),
            ts(f.updated_at),
        )

    return flow


def _payment(c: Codec) -> Callable[[Payment], Values]:
    money, ts = c.money_out, c.ts_out

    def payment(p: Payment) -> Values:
        """PAYMENT_COLS."""
        return (
            p.payment_id,
            p.operator_id,
            p.game_id,
            p.idempotency_key,
            p.fingerprint,
            p.account_id,
            p.currency,
            money(p.usd_amount),
            money(p.usd_rate),
            money(p.amount),
            p.provider,
            p.state,
            p.provider_ref,
            p.client_secret,
            p.message,
            p.result,
            ts(p.created_at),
            ts(p.updated_at),
        )

    return payment


def _item_purchase(c: Codec) -> Callable[[ItemPurchase], Values]:
    money, ts = c.money_out, c.ts_out

    def item_purchase(p: ItemPurchase) -> Values:
        """ITEM_COLS."""
        return (
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
            money(p.unit_price),
            money(p.total),
            money(p.real),
            money(p.bonus),
            p.result,
            ts(p.created_at),
        )

    return item_purchase


def _sms(c: Codec) -> Callable[[SmsMessage], Values]:
    ts, ts_opt = c.ts_out, optional(c.ts_out)

    def sms(m: SmsMessage) -> Values:
        """SMS_COLS."""
        return (m.message_id, m.account_id, m.phone, m.body, m.purpose, m.state, ts(m.created_at), ts_opt(m.sent_at))

    return sms
