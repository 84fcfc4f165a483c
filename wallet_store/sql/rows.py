"""Row mapping shared by the SQLite and PostgreSQL stores: column lists and ``row -> model``.

A :class:`Codec` says how one backend stores a value; it is the only difference between the
backends' mappers.  SQLite keeps money as fixed-width TEXT (``money.to_db``/``from_db``),
timestamps as ISO text and an operator's networks as one comma-separated text; PostgreSQL
keeps NUMERIC, timestamptz and ``text[]``.

The mappers are built once per codec as closures over the codec's functions, so reading a
row costs what the hand-written per-backend mappers cost: one call, tuple indexing, no dict.
A row is anything indexable in column order (``sqlite3`` tuples, asyncpg Records).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from ..domain.hub88 import Hub88Settings
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
    signature_scheme,
)
from ..rate_limits import GameRateLimits

R = TypeVar("R")

PLAYER_COLS = "account_id, operator_id, name, email, country, city, currency, status, created_at, last_active"
WALLET_COLS = "account_id, currency, real, bonus, reserved, seq, last_hash, updated_at"
JOURNAL_COLS = (
    "account_id, currency, seq, kind, real_delta, bonus_delta, reserved_delta, real_after, bonus_after,"
    " reserved_after, reference, reason, created_at, prev_hash, hash"
)
TX_COLS = (
    "operator_id, scope, kind, transaction_id, account_id, round_id, amount, currency, outcome, message,"
    " wallet_tx, real, bonus, state, created_at, extra"
)
ROUND_COLS = (
    "account_id, game_id, round_id, currency, status, real_bet, bonus_bet, real_win, bonus_win, wagers,"
    " results, created_at, closed_at"
)
# save_round's upsert: the columns in the order of params.round_values (+ currency, created_at).
# created_at and currency are set by the first save and never changed.
ROUND_SAVE_COLS = (
    "real_bet, bonus_bet, real_win, bonus_win, wagers, results, closed_at, status,"
    " account_id, game_id, round_id, currency, created_at"
)
ROUND_ON_CONFLICT = (
    "ON CONFLICT (account_id, game_id, round_id) DO UPDATE SET status=excluded.status,"
    " real_bet=excluded.real_bet, bonus_bet=excluded.bonus_bet, real_win=excluded.real_win,"
    " bonus_win=excluded.bonus_win, wagers=excluded.wagers, results=excluded.results,"
    " closed_at=excluded.closed_at"
)


def aliased(alias: str, columns: str) -> str:
    """``columns`` (one of the ``*_COLS`` lists) each prefixed with a table alias, for a join."""
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


def width(columns: str) -> int:
    """How many columns a ``*_COLS`` list names (where its part of a joined row ends)."""
    return len(columns.split(","))


OPERATOR_COLS = (
    "operator_id, name, currency, debit_order, signature_secret, allowed_networks, start_real, start_bonus, created_at,"
    " signature_scheme"
)
SESSION_COLS = "session_id, account_id, operator_id, currency, game_id, created_at, expires_at, closed_at"
GAME_COLS = "game_id, operator_id, name, key_hash, created_at"
CURRENCY_COLS = "operator_id, code, currency_id, name, symbol, usd_rate, start_amount, created_at, updated_at"
CURRENCY_ON_CONFLICT = (
    "ON CONFLICT (operator_id, code) DO UPDATE SET name = excluded.name, symbol = excluded.symbol,"
    " usd_rate = excluded.usd_rate, start_amount = excluded.start_amount, updated_at = excluded.updated_at"
)
LIMITS_COLS = "account_id, max_bet, loss_day, loss_week, loss_month"
LIMITS_ON_CONFLICT = (
    "ON CONFLICT (account_id) DO UPDATE SET max_bet=excluded.max_bet, loss_day=excluded.loss_day,"
    " loss_week=excluded.loss_week, loss_month=excluded.loss_month"
)
FREE_ROUNDS_COLS = "frbid, account_id, operator_id, pays_into, created_at"
RATE_CHANGE_COLS = "operator_id, code, usd_rate, set_at, note"
# rate limits (schema version 5)
HUB88_COLS = "operator_id, enabled, public_key_pem, private_key_pem, games, updated_at"
GAME_LIMIT_COLS = "game_id, individual_per_min, batch_per_min, email_per_min, write_per_min, burst_percent, updated_at"
# holds and flows (schema version 4)
HOLD_COLS = (
    "hold_id, account_id, currency, amount, real, bonus, reference, state, created_at, expires_at, closed_at,"
    " close_reason"
)
FLOW_COLS = (
    "flow_id, kind, operator_id, game_id, idempotency_key, fingerprint, source_account, target_account,"
    " target_email, currency, amount, hold_id, state, code_hash, attempts, phone_hint, note, closed_reason, steps,"
    " created_at, updated_at"
)
PAYMENT_COLS = (
    "payment_id, operator_id, game_id, idempotency_key, fingerprint, account_id, currency, usd_amount, usd_rate,"
    " amount, provider, state, provider_ref, client_secret, message, result, created_at, updated_at"
)
ITEM_COLS = (
    "purchase_id, operator_id, game_id, idempotency_key, fingerprint, account_id, currency, item_id, item_name,"
    " quantity, unit_price, total, real, bonus, result, created_at"
)
SMS_COLS = "message_id, account_id, phone, body, purpose, state, created_at, sent_at"


@dataclass(frozen=True, slots=True)
class Codec:
    """How one backend stores money, timestamps and an operator's networks (``*_in``: from
    the driver's value to the model's; ``*_out``: the other way).  ``None`` is handled by
    the mappers, never passed to these."""

    money_in: Callable[[Any], Decimal]
    money_out: Callable[[Decimal], Any]
    ts_in: Callable[[Any], datetime]
    ts_out: Callable[[datetime], Any]
    networks_in: Callable[[Any], tuple[str, ...]]
    networks_out: Callable[[tuple[str, ...]], Any]


def optional(f: Callable[[Any], R]) -> Callable[[Any], R | None]:
    """``f`` that passes ``None`` through (a nullable column)."""

    def opt(v: Any) -> R | None:
        return None if v is None else f(v)

    return opt


class Rows(NamedTuple):
    """One backend's ``row -> model`` mappers."""

    operator: Callable[[Any], Operator]
    player: Callable[[Any], Player]
    wallet: Callable[[Any], Wallet]
    journal: Callable[[Any], JournalEntry]
    tx: Callable[[Any], TxRecord]
    round: Callable[[Any], Round]
    session: Callable[[Any], GameSession]
    game: Callable[[Any], Game]
    currency: Callable[[Any], Currency]
    rate_change: Callable[[Any], RateChange]
    limits: Callable[[Any], Limits]
    free_rounds: Callable[[Any], FreeRoundAward]
    game_limits: Callable[[Any], GameRateLimits]
    hub88: Callable[[Any], Hub88Settings]
    hold: Callable[[Any], Hold]
    flow: Callable[[Any], Flow]
    payment: Callable[[Any], Payment]
    item_purchase: Callable[[Any], ItemPurchase]
    sms: Callable[[Any], SmsMessage]


def rows(c: Codec) -> Rows:
    """The mappers of the backend that stores values as ``c`` says."""
    return Rows(
        operator=_operator(c),
        player=_player(c),
        wallet=_wallet(c),
        journal=_journal(c),
        tx=_tx(c),
        round=_round(c),
        session=_session(c),
        game=_game(c),
        currency=_currency(c),
        rate_change=_rate_change(c),
        limits=_limits(c),
        free_rounds=_free_rounds(c),
        game_limits=_game_limits(c),
        hub88=_hub88(c),
        hold=_hold(c),
        flow=_flow(c),
        payment=_payment(c),
        item_purchase=_item_purchase(c),
        sms=_sms(c),
    )


def _operator(c: Codec) -> Callable[[Any], Operator]:
    money, ts, networks = c.money_in, c.ts_in, c.networks_in

    def operator(r: Any) -> Operator:
        return Operator(
            operator_id=r[0],
            name=r[1],
            currency=r[2],
            debit_order=r[3],
            signature_secret=r[4],
            allowed_networks=networks(r[5]),
            start_real=money(r[6]),
            start_bonus=money(r[7]),
            created_at=ts(r[8]),
            # a row read with the columns of before schema version 7 (SQLite data import)
            signature_scheme=signature_scheme(r[9] if len(r) > 9 else None),
        )

    return operator


def _player(c: Codec) -> Callable[[Any], Player]:
    ts, ts_opt = c.ts_in, optional(c.ts_in)

    def player(r: Any) -> Player:
        return Player(
            account_id=r[0],
            operator_id=r[1],
            name=r[2],
            email=r[3],
            country=r[4],
            city=r[5],
            currency=r[6],
            status=r[7],
            created_at=ts(r[8]),
            last_active=ts_opt(r[9]),
        )

    return player


def _wallet(c: Codec) -> Callable[[Any], Wallet]:
    money, ts_opt = c.money_in, optional(c.ts_in)

    def wallet(r: Any) -> Wallet:
        return Wallet(
            account_id=r[0],
            currency=r[1],
            real=money(r[2]),
            bonus=money(r[3]),
            reserved=money(r[4]),
            seq=r[5],
            last_hash=r[6],
            updated_at=ts_opt(r[7]),
        )

    return wallet


def _journal(c: Codec) -> Callable[[Any], JournalEntry]:
    money, ts = c.money_in, c.ts_in

    def journal(r: Any) -> JournalEntry:
        return JournalEntry(
            account_id=r[0],
            currency=r[1],
            seq=r[2],
            kind=r[3],
            real_delta=money(r[4]),
            bonus_delta=money(r[5]),
            reserved_delta=money(r[6]),
            real_after=money(r[7]),
            bonus_after=money(r[8]),
            reserved_after=money(r[9]),
            reference=r[10],
            reason=r[11],
            created_at=ts(r[12]),
            prev_hash=r[13],
            hash=r[14],
        )

    return journal


def _tx(c: Codec) -> Callable[[Any], TxRecord]:
    money, ts = c.money_in, c.ts_in

    def tx(r: Any) -> TxRecord:
        return TxRecord(
            operator_id=r[0],
            scope=r[1],
            kind=r[2],
            transaction_id=r[3],
            account_id=r[4],
            round_id=r[5],
            amount=money(r[6]),
            currency=r[7],
            outcome=r[8],
            message=r[9],
            wallet_tx=r[10],
            real=money(r[11]),
            bonus=money(r[12]),
            state=r[13],
            created_at=ts(r[14]),
            extra=r[15],
        )

    return tx


def _round(c: Codec) -> Callable[[Any], Round]:
    money, ts, ts_opt = c.money_in, c.ts_in, optional(c.ts_in)

    def round_(r: Any) -> Round:
        return Round(
            account_id=r[0],
            game_id=r[1],
            round_id=r[2],
            currency=r[3],
            status=r[4],
            real_bet=money(r[5]),
            bonus_bet=money(r[6]),
            real_win=money(r[7]),
            bonus_win=money(r[8]),
            wagers=r[9],
            results=r[10],
            created_at=ts(r[11]),
            closed_at=ts_opt(r[12]),
        )

    return round_


def _session(c: Codec) -> Callable[[Any], GameSession]:
    ts, ts_opt = c.ts_in, optional(c.ts_in)

    def session(r: Any) -> GameSession:
        return GameSession(
            session_id=r[0],
            account_id=r[1],
            operator_id=r[2],
            currency=r[3],
            game_id=r[4],
            created_at=ts(r[5]),
            expires_at=ts(r[6]),
            closed_at=ts_opt(r[7]),
        )

    return session


def _game(c: Codec) -> Callable[[Any], Game]:
    ts = c.ts_in

    def game(r: Any) -> Game:
        return Game(game_id=r[0], operator_id=r[1], name=r[2], key_hash=r[3], created_at=ts(r[4]))

    return game


def _currency(c: Codec) -> Callable[[Any], Currency]:
    money, money_opt, ts = c.money_in, optional(c.money_in), c.ts_in

    def currency(r: Any) -> Currency:
        return Currency(
            operator_id=r[0],
            code=r[1],
            currency_id=int(r[2]),
            name=r[3],
            symbol=r[4],
            usd_rate=money_opt(r[5]),
            start_amount=money(r[6]),
            created_at=ts(r[7]),
            updated_at=ts(r[8]),
        )

    return currency


def _rate_change(c: Codec) -> Callable[[Any], RateChange]:
    money_opt, ts = optional(c.money_in), c.ts_in

    def rate_change(r: Any) -> RateChange:
        return RateChange(r[0], r[1], money_opt(r[2]), ts(r[3]), r[4])

    return rate_change


def _limits(c: Codec) -> Callable[[Any], Limits]:
    m = optional(c.money_in)

    def limits(r: Any) -> Limits:
        return Limits(account_id=r[0], max_bet=m(r[1]), loss_day=m(r[2]), loss_week=m(r[3]), loss_month=m(r[4]))

    return limits


def _free_rounds(c: Codec) -> Callable[[Any], FreeRoundAward]:
    ts = c.ts_in

    def free_rounds(r: Any) -> FreeRoundAward:
        return FreeRoundAward(frbid=r[0], account_id=r[1], operator_id=r[2], pays_into=r[3], created_at=ts(r[4]))

    return free_rounds


def _game_limits(c: Codec) -> Callable[[Any], GameRateLimits]:
    ts = c.ts_in

    def game_limits(r: Any) -> GameRateLimits:
        return GameRateLimits(
            game_id=r[0],
            individual_per_min=r[1],
            batch_per_min=r[2],
            email_per_min=r[3],
            write_per_min=r[4],
            burst_percent=r[5],
            updated_at=ts(r[6]),
        )

    return game_limits


def _hub88(c: Codec) -> Callable[[Any], Hub88Settings]:
    ts = c.ts_in

    def hub88(r: Any) -> Hub88Settings:
        return Hub88Settings(
            operator_id=r[0],
            enabled=bool(r[1]),
            public_key_pem=r[2],
            private_key_pem=r[3],
            games=tuple(json.loads(r[4])),
            updated_at=ts(r[5]),
        )

    return hub88


def _hold(c: Codec) -> Callable[[Any], Hold]:
    money, ts, ts_opt = c.money_in, c.ts_in, optional(c.ts_in)

    def hold(r: Any) -> Hold:
        return Hold(
            hold_id=r[0],
            account_id=r[1],
            currency=r[2],
            amount=money(r[3]),
            real=money(r[4]),
            bonus=money(r[5]),
            reference=r[6],
            state=r[7],
            created_at=ts(r[8]),
            expires_at=ts(r[9]),
            closed_at=ts_opt(r[10]),
            close_reason=r[11],
        )

    return hold


def _flow(c: Codec) -> Callable[[Any], Flow]:
    money, ts = c.money_in, c.ts_in

    def flow(r: Any) -> Flow:
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
            amount=money(r[10]),
            hold_id=r[11],
            state=r[12],
            code_hash=r[13],
            attempts=int(r[14]),
            phone_hint=r[15],
            note=r[16],
            closed_reason=r[17],
            steps=r[18],
            created_at=ts(r[19]),
            updated_at=ts(r[20]),
        )

    return flow


def _payment(c: Codec) -> Callable[[Any], Payment]:
    money, ts = c.money_in, c.ts_in

    def payment(r: Any) -> Payment:
        return Payment(
            payment_id=r[0],
            operator_id=r[1],
            game_id=r[2],
            idempotency_key=r[3],
            fingerprint=r[4],
            account_id=r[5],
            currency=r[6],
            usd_amount=money(r[7]),
            usd_rate=money(r[8]),
            amount=money(r[9]),
            provider=r[10],
            state=r[11],
            provider_ref=r[12],
            client_secret=r[13],
            message=r[14],
            result=r[15],
            created_at=ts(r[16]),
            updated_at=ts(r[17]),
        )

    return payment


def _item_purchase(c: Codec) -> Callable[[Any], ItemPurchase]:
    money, ts = c.money_in, c.ts_in

    def item_purchase(r: Any) -> ItemPurchase:
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
            unit_price=money(r[10]),
            total=money(r[11]),
            real=money(r[12]),
            bonus=money(r[13]),
            result=r[14],
            created_at=ts(r[15]),
        )

    return item_purchase


def _sms(c: Codec) -> Callable[[Any], SmsMessage]:
    ts, ts_opt = c.ts_in, optional(c.ts_in)

    def sms(r: Any) -> SmsMessage:
        return SmsMessage(
            message_id=r[0],
            account_id=r[1],
            phone=r[2],
            body=r[3],
            purpose=r[4],
            state=r[5],
            created_at=ts(r[6]),
            sent_at=ts_opt(r[7]),
        )

    return sms
