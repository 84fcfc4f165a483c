"""REST credit, debit and convert: the decisions.  Pure.

A REST **debit** consumes real and bonus money in the operator's debit order, like a wager
(:func:`~wallet_store.model.split_debit`); a REST **credit** goes to real money.  Both are
journaled (kinds ``api_credit`` / ``api_debit``, reference ``api:<game_id>:<id>``).  A
**convert** debits one wallet of the player's and credits another at the current USD rates,
the credit rounded down (kinds ``convert_out`` / ``convert_in``, reference ``cv:...``).

Idempotency: a successful write is remembered (``admin_ops``) under
``<face>:<game_id>:<idempotency key>`` with the fingerprint of the request and the facts of
the outcome; a replay returns those facts, the same key with another request is a conflict.
A refusal (insufficient funds, blocked account) changes nothing and is not remembered, so a
retry after a top-up can succeed.

Each ``decide_*`` takes what the service loaded, the command and the time, and returns the
reply with the effects to persist, or raises the refusal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from wallet_store import money
from wallet_store.domain import idempotency
from wallet_store.domain.balances import WalletChange, available, convert, wallet_or_new
from wallet_store.domain.requests import active, norm_email, replay_or_new, valid_account
from wallet_store.errors import Invalid, NotFound, OutOfMoney, UnknownCurrency
from wallet_store.model import Currency, Operator, Player, Wallet, iso, move, parse_iso, split_debit

Direction = Literal["credit", "debit"]


@dataclass(frozen=True, slots=True)
class Transfer:
    """The facts of one REST credit/debit (what a replay returns unchanged)."""

    reference: str
    game_id: str
    account_id: str
    player_email: str | None
    currency: str
    direction: Direction
    amount: Decimal
    real: Decimal
    bonus: Decimal
    available_before: Decimal
    available_after: Decimal
    reserved_after: Decimal
    reason: str
    meta: str  # JSON text, exactly as the face gave it
    created_at: datetime

    def to_json(self) -> str:
        return json.dumps(
            {
                "reference": self.reference,
                "game_id": self.game_id,
                "account_id": self.account_id,
                "player_email": self.player_email,
                "currency": self.currency,
                "direction": self.direction,
                "amount": money.wire(self.amount),
                "real": money.wire(self.real),
                "bonus": money.wire(self.bonus),
                "available_before": money.wire(self.available_before),
                "available_after": money.wire(self.available_after),
                "reserved_after": money.wire(self.reserved_after),
                "reason": self.reason,
                "meta": self.meta,
                "created_at": iso(self.created_at),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Transfer:
        d = json.loads(text)
        return cls(
            reference=d["reference"],
            game_id=d["game_id"],
            account_id=d["account_id"],
            player_email=d["player_email"],
            currency=d["currency"],
            direction=d["direction"],
            amount=money.parse(d["amount"]),
            real=money.parse(d["real"]),
            bonus=money.parse(d["bonus"]),
            available_before=money.parse(d["available_before"]),
            available_after=money.parse(d["available_after"]),
            reserved_after=money.parse(d["reserved_after"]),
            reason=d["reason"],
            meta=d["meta"],
            created_at=parse_iso(d["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class Conversion:
    """The facts of one currency conversion (what a replay returns unchanged)."""

    reference: str
    account_id: str
    player_email: str | None
    from_currency: Currency
    to_currency: Currency
    amount: Decimal
    credited: Decimal
    rate_from: Decimal
    rate_to: Decimal
    from_available: Decimal
    to_available: Decimal
    to_reserved: Decimal
    created_at: datetime

    def to_json(self) -> str:
        return json.dumps(
            {
                "reference": self.reference,
                "account_id": self.account_id,
                "player_email": self.player_email,
                "amount": money.wire(self.amount),
                "credited": money.wire(self.credited),
                "rate_from": money.wire(self.rate_from),
                "rate_to": money.wire(self.rate_to),
                "from_available": money.wire(self.from_available),
                "to_available": money.wire(self.to_available),
                "to_reserved": money.wire(self.to_reserved),
                "created_at": iso(self.created_at),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, src: Currency, dst: Currency) -> Conversion:
        d = json.loads(text)
        return cls(
            reference=d["reference"],
            account_id=d["account_id"],
            player_email=d["player_email"],
            from_currency=src,
            to_currency=dst,
            amount=money.parse(d["amount"]),
            credited=money.parse(d["credited"]),
            rate_from=money.parse(d["rate_from"]),
            rate_to=money.parse(d["rate_to"]),
            from_available=money.parse(d["from_available"]),
            to_available=money.parse(d["to_available"]),
            to_reserved=money.parse(d["to_reserved"]),
            created_at=parse_iso(d["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    """What a keyed write remembers (``insert_admin_op``)."""

    key: str
    fingerprint: str
    reply: str


def _positive(amount: Decimal, account_id: str | None) -> None:
    if account_id is not None:
        valid_account(account_id)
    if amount <= 0:
        raise Invalid("amount must be greater than zero")


# --------------------------------------------------------------------------- credit / debit


@dataclass(frozen=True, slots=True)
class TransferCmd:
    game_id: str
    face: str
    direction: Direction
    account_id: str | None
    email: str | None
    currency: str
    amount: Decimal
    reason: str
    meta: str
    idempotency_key: str

    def __post_init__(self) -> None:
        _positive(self.amount, self.account_id)

    @property
    def key(self) -> str:
        return f"{self.face}:{self.game_id}:{self.idempotency_key}"

    def fingerprint(self) -> idempotency.Fingerprint:
        return idempotency.fingerprint(
            {
                "direction": self.direction,
                "player_id": self.account_id,
                "player_email": norm_email(self.email),
                "currency": self.currency,
                "amount": self.amount,
                "reason": self.reason,
                "meta": self.meta,
            }
        )


@dataclass(frozen=True, slots=True)
class TransferState:
    """What a credit/debit needs, loaded under the player's lock (``operator`` for a debit only)."""

    player: Player
    currency: Currency | None
    stored: idempotency.StoredReply | None
    wallet: Wallet | None
    operator: Operator | None


@dataclass(frozen=True, slots=True)
class TransferDecision:
    facts: Transfer
    replayed: bool
    currency: Currency
    change: WalletChange | None = None  # None: a replay, nothing moves
    outcome: StoredOutcome | None = None


def offered(cur: Currency | None, code: str) -> Currency:
    """A currency the operator does not offer is a bad request, never "insufficient funds"."""
    if cur is None:
        raise UnknownCurrency(f"currency {code} is not offered by this operator")
    return cur


def _debit_split(state: TransferState, wallet: Wallet, amount: Decimal) -> tuple[Decimal, Decimal]:
    if state.operator is None:
        raise NotFound("operator not found")
    before = available(wallet)
    if before < amount:
        raise OutOfMoney(
            f"insufficient funds: available {money.wire(before)} {wallet.currency}, requested {money.wire(amount)}"
        )
    real, bonus = split_debit(wallet, amount, state.operator.debit_order)
    return -real, -bonus


def decide_transfer(state: TransferState, cmd: TransferCmd, *, now: datetime, reference: str) -> TransferDecision:
    """Credit or debit the player's wallet (``reference``: the new movement's id)."""
    cur = offered(state.currency, cmd.currency)
    fp = cmd.fingerprint()
    done = replay_or_new(state.stored, fp, cmd.idempotency_key)
    if done is not None:
        return TransferDecision(Transfer.from_json(done.reply), True, cur)
    active(state.player)
    if state.wallet is None and cmd.direction == "debit":
        raise OutOfMoney(f"insufficient funds: the player has no {cmd.currency} wallet")
    wallet, created = wallet_or_new(state.wallet, state.player.account_id, cmd.currency, now)
    if cmd.direction == "debit":
        real, bonus = _debit_split(state, wallet, cmd.amount)
    else:
        real, bonus = cmd.amount, money.ZERO
    after, entry = move(
        wallet, kind=f"api_{cmd.direction}", real=real, bonus=bonus, reference=reference, reason=cmd.reason, now=now
    )
    facts = Transfer(
        reference=reference,
        game_id=cmd.game_id,
        account_id=state.player.account_id,
        player_email=state.player.email,
        currency=cmd.currency,
        direction=cmd.direction,
        amount=cmd.amount,
        real=real,
        bonus=bonus,
        available_before=available(wallet),
        available_after=available(after),
        reserved_after=after.reserved,
        reason=cmd.reason,
        meta=cmd.meta,
        created_at=now,
    )
    change = WalletChange(after, (entry,), created)
    return TransferDecision(facts, False, cur, change, StoredOutcome(cmd.key, fp.digest, facts.to_json()))


# --------------------------------------------------------------------------- convert


@dataclass(frozen=True, slots=True)
class ConvertCmd:
    game_id: str
    account_id: str | None
    email: str | None
    from_currency: str
    to_currency: str
    amount: Decimal
    idempotency_key: str

    def __post_init__(self) -> None:
        _positive(self.amount, self.account_id)
        if self.from_currency == self.to_currency:
            raise Invalid("from_currency and to_currency must differ")

    @property
    def key(self) -> str:
        return f"cv:{self.game_id}:{self.idempotency_key}"

    def fingerprint(self) -> idempotency.Fingerprint:
        return idempotency.fingerprint(
            {
                "player_id": self.account_id,
                "player_email": norm_email(self.email),
                "from": self.from_currency,
                "to": self.to_currency,
                "amount": self.amount,
            }
        )


@dataclass(frozen=True, slots=True)
class ConvertState:
    player: Player
    src: Currency | None
    dst: Currency | None
    stored: idempotency.StoredReply | None
    source: Wallet | None
    target: Wallet | None
    operator: Operator | None


@dataclass(frozen=True, slots=True)
class ConvertDecision:
    facts: Conversion
    replayed: bool
    changes: tuple[WalletChange, ...] = ()
    outcome: StoredOutcome | None = None


def _convert_source(state: ConvertState, cmd: ConvertCmd) -> tuple[Wallet, Operator]:
    source = state.source
    if source is None or available(source) < cmd.amount:
        have = money.ZERO if source is None else available(source)
        raise OutOfMoney(
            f"insufficient funds: available {money.wire(have)} {cmd.from_currency}, requested {money.wire(cmd.amount)}"
        )
    if state.operator is None:
        raise NotFound("operator not found")
    return source, state.operator


def decide_convert(state: ConvertState, cmd: ConvertCmd, *, now: datetime, reference: str) -> ConvertDecision:
    """Debit the source wallet and credit the target wallet together (the credit rounded down)."""
    src = offered(state.src, cmd.from_currency)
    dst = offered(state.dst, cmd.to_currency)
    fp = cmd.fingerprint()
    done = replay_or_new(state.stored, fp, cmd.idempotency_key)
    if done is not None:
        return ConvertDecision(Conversion.from_json(done.reply, src, dst), True)
    active(state.player)
    credited = convert(cmd.amount, src, dst)
    if credited <= 0:
        raise Invalid("the amount converts to nothing at the current rate")
    source, op = _convert_source(state, cmd)
    target, created = wallet_or_new(state.target, state.player.account_id, cmd.to_currency, now)
    real, bonus = split_debit(source, cmd.amount, op.debit_order)
    reason = f"convert {money.wire(cmd.amount)} {cmd.from_currency} to {money.wire(credited)} {cmd.to_currency}"
    source, out_entry = move(
        source, kind="convert_out", real=-real, bonus=-bonus, reference=reference, reason=reason, now=now
    )
    target, in_entry = move(target, kind="convert_in", real=credited, reference=reference, reason=reason, now=now)
    facts = Conversion(
        reference=reference,
        account_id=state.player.account_id,
        player_email=state.player.email,
        from_currency=src,
        to_currency=dst,
        amount=cmd.amount,
        credited=credited,
        rate_from=src.usd_rate or money.ZERO,
        rate_to=dst.usd_rate or money.ZERO,
        from_available=available(source),
        to_available=available(target),
        to_reserved=target.reserved,
        created_at=now,
    )
    changes = (WalletChange(source, (out_entry,)), WalletChange(target, (in_entry,), created))
    return ConvertDecision(facts, False, changes, StoredOutcome(cmd.key, fp.digest, facts.to_json()))
