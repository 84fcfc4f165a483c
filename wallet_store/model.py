"""Domain model: entities and the pure money rules.

Nothing here does I/O or imports a web framework or a driver.  The service layer
(:mod:`wallet_store.service`) loads entities through the store's unit of work, asks these
functions what to do, and writes back what they return.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, Protocol

from . import money
from .errors import AmountOutOfRange, OperationNotAllowed, OutOfMoney

DebitOrder = Literal["cash_money", "bonus_money"]
PlayerStatus = Literal["active", "blocked", "self_excluded"]
PaysInto = Literal["real", "bonus"]
SignatureScheme = Literal["concat", "pairs"]
SIGNATURE_SCHEMES: tuple[SignatureScheme, ...] = ("concat", "pairs")


def signature_scheme(value: str | None) -> SignatureScheme:
    """A stored scheme; ``None`` (a database from before the column existed) is "concat"."""
    if value is None or value == "concat":
        return "concat"
    if value == "pairs":
        return "pairs"
    raise ValueError(f"unknown signature scheme {value!r}")


ACCOUNT_ID = re.compile(r"[0-9A-Za-z]{1,60}")
OPERATOR_ID = re.compile(r"[0-9A-Za-z]{1,20}")
CURRENCY = re.compile(r"[A-Z][A-Z0-9]{2,9}")
COUNTRY = re.compile(r"[A-Z]{2}")
GENESIS_HASH = "0" * 64


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def iso(ts: datetime) -> str:
    """Canonical UTC timestamp text (used in storage, hashes and on the wire)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    """Inverse of :func:`iso` (``fromisoformat`` is ~50x faster than ``strptime`` here)."""
    ts = datetime.fromisoformat(text)
    if ts.tzinfo is None:
        raise ValueError(f"timestamp without a timezone: {text!r}")
    return ts.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Operator:
    operator_id: str
    name: str
    currency: str
    debit_order: DebitOrder = "cash_money"
    signature_secret: str | None = None
    allowed_networks: tuple[str, ...] = ()
    start_real: Decimal = money.ZERO
    start_bonus: Decimal = money.ZERO
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # How X-Groove-Signature is computed (see groove_adapter.groove and docs/security.md):
    # "concat" = Groove's values-only concatenation (compatibility), "pairs" = name=value pairs.
    signature_scheme: SignatureScheme = "concat"


@dataclass(frozen=True, slots=True)
class Player:
    account_id: str
    operator_id: str
    name: str
    email: str | None
    country: str
    city: str
    currency: str
    status: PlayerStatus
    created_at: datetime
    last_active: datetime | None = None

    @property
    def blocked(self) -> bool:
        return self.status != "active"


@dataclass(frozen=True, slots=True)
class Wallet:
    account_id: str
    currency: str
    real: Decimal = money.ZERO
    bonus: Decimal = money.ZERO
    reserved: Decimal = money.ZERO
    seq: int = 0
    last_hash: str = GENESIS_HASH
    updated_at: datetime | None = None

    @property
    def total(self) -> Decimal:
        """What getbalance calls ``balance``: real + bonus."""
        return money.add(self.real, self.bonus)


@dataclass(frozen=True, slots=True)
class GameSession:
    session_id: str
    account_id: str
    operator_id: str
    currency: str
    game_id: str | None
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.closed_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One balance change of one wallet.  ``*_after`` minus ``*_delta`` is the before."""

    account_id: str
    currency: str
    seq: int
    kind: str
    real_delta: Decimal
    bonus_delta: Decimal
    reserved_delta: Decimal
    real_after: Decimal
    bonus_after: Decimal
    reserved_after: Decimal
    reference: str
    reason: str
    created_at: datetime
    prev_hash: str
    hash: str

    @property
    def real_before(self) -> Decimal:
        return money.sub(self.real_after, self.real_delta)

    @property
    def bonus_before(self) -> Decimal:
        return money.sub(self.bonus_after, self.bonus_delta)

    @property
    def reserved_before(self) -> Decimal:
        return money.sub(self.reserved_after, self.reserved_delta)


def entry_hash(
    *,
    account_id: str,
    currency: str,
    seq: int,
    kind: str,
    real_delta: Decimal,
    bonus_delta: Decimal,
    reserved_delta: Decimal,
    real_after: Decimal,
    bonus_after: Decimal,
    reserved_after: Decimal,
    reference: str,
    reason: str,
    created_at: datetime,
    prev_hash: str,
) -> str:
    """SHA-256 over the entry's content and the previous entry's hash (per-wallet chain)."""
    parts = (
        account_id,
        currency,
        str(seq),
        kind,
        money.wire(real_delta),
        money.wire(bonus_delta),
        money.wire(reserved_delta),
        money.wire(real_after),
        money.wire(bonus_after),
        money.wire(reserved_after),
        reference,
        reason,
        iso(created_at),
        prev_hash,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


BalanceFlow = Literal["credit", "debit", "none"]


def entry_flow(e: JournalEntry) -> BalanceFlow:
    """Direction of the available balance (real + bonus) in one entry (history filters)."""
    delta = money.add(e.real_delta, e.bonus_delta)
    return "debit" if delta < 0 else "credit" if delta > 0 else "none"


def verify_entry(e: JournalEntry) -> bool:
    return e.hash == entry_hash(
        account_id=e.account_id,
        currency=e.currency,
        seq=e.seq,
        kind=e.kind,
        real_delta=e.real_delta,
        bonus_delta=e.bonus_delta,
        reserved_delta=e.reserved_delta,
        real_after=e.real_after,
        bonus_after=e.bonus_after,
        reserved_after=e.reserved_after,
        reference=e.reference,
        reason=e.reason,
        created_at=e.created_at,
        prev_hash=e.prev_hash,
    )


def move(
    wallet: Wallet,
    *,
    kind: str,
    real: Decimal = money.ZERO,
    bonus: Decimal = money.ZERO,
    reserved: Decimal = money.ZERO,
    reference: str,
    reason: str = "",
    now: datetime,
) -> tuple[Wallet, JournalEntry]:
    """Apply signed deltas to a wallet and produce the journal entry that records it.

    The only way balances change.  Refuses (``OutOfMoney``) to take any balance below zero
    (overdraft is not supported: the schemas enforce it too), and (``AmountOutOfRange``) any
    change after which a balance, or the reported total real + bonus + reserved, would not
    fit Decimal(32,10) -- refused before anything is written, never discovered at reply time.
    """
    try:
        real, bonus, reserved = money.check(real), money.check(bonus), money.check(reserved)
        real_after = money.add(wallet.real, real)
        bonus_after = money.add(wallet.bonus, bonus)
        reserved_after = money.add(wallet.reserved, reserved)
        money.add(money.add(real_after, bonus_after), reserved_after)
    except money.MoneyError as exc:
        raise AmountOutOfRange("the balance would exceed Decimal(32,10)") from exc
    if real_after < 0 or bonus_after < 0 or reserved_after < 0:
        raise OutOfMoney("insufficient funds")
    seq = wallet.seq + 1
    digest = entry_hash(
        account_id=wallet.account_id,
        currency=wallet.currency,
        seq=seq,
        kind=kind,
        real_delta=real,
        bonus_delta=bonus,
        reserved_delta=reserved,
        real_after=real_after,
        bonus_after=bonus_after,
        reserved_after=reserved_after,
        reference=reference,
        reason=reason,
        created_at=now,
        prev_hash=wallet.last_hash,
    )
    entry = JournalEntry(
        account_id=wallet.account_id,
        currency=wallet.currency,
        seq=seq,
        kind=kind,
        real_delta=real,
        bonus_delta=bonus,
        reserved_delta=reserved,
        real_after=real_after,
        bonus_after=bonus_after,
        reserved_after=reserved_after,
        reference=reference,
        reason=reason,
        created_at=now,
        prev_hash=wallet.last_hash,
        hash=digest,
    )
    new = replace(
        wallet, real=real_after, bonus=bonus_after, reserved=reserved_after, seq=seq, last_hash=digest, updated_at=now
    )
    return new, entry


@dataclass(frozen=True, slots=True)
class Game:
    """A game registered by an operator for the REST faces.

    Its secret key is shown once at registration; only ``key_hash`` (SHA-256 hex of the key)
    is stored.  A game sees only its own operator's players.
    """

    game_id: str
    operator_id: str
    name: str
    key_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Currency:
    """A currency an operator offers (schema version 3).

    ``code`` is the wallet currency code (``EUR``, ``GOLD``); ``currency_id`` the operator's
    numeric id for it (what the Player Balance API shows).  ``usd_rate`` is the USD value of
    one unit (``None``: no rate configured, so no USD value and no conversion).  New players
    of the operator get ``start_amount`` of it in real money.
    """

    operator_id: str
    code: str
    currency_id: int
    name: str
    symbol: str
    usd_rate: Decimal | None
    start_amount: Decimal
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RateChange:
    """One entry of a currency's USD-rate history."""

    operator_id: str
    code: str
    usd_rate: Decimal | None
    set_at: datetime
    note: str = ""


def key_hash(secret: str) -> str:
    """SHA-256 hex of a game's secret key (what the store keeps)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Round:
    account_id: str
    game_id: str
    round_id: str
    currency: str
    status: Literal["open", "closed"] = "open"
    real_bet: Decimal = money.ZERO
    bonus_bet: Decimal = money.ZERO
    real_win: Decimal = money.ZERO
    bonus_win: Decimal = money.ZERO
    wagers: int = 0
    results: int = 0
    created_at: datetime | None = None
    closed_at: datetime | None = None


TxState = Literal["applied", "refused", "rolled_back", "reversed", "tombstone"]


@dataclass(frozen=True, slots=True)
class TxRecord:
    """A money request as received and decided: the idempotency record and its state.

    Keyed by (operator_id, scope, kind, transaction_id): transaction ids are unique per
    game provider, not globally, so the scope is the game (see README).
    """

    operator_id: str
    scope: str
    kind: str
    transaction_id: str
    account_id: str
    round_id: str
    amount: Decimal
    currency: str
    outcome: str  # "ok" or the refusal class name
    message: str
    wallet_tx: str  # our id: accounttransactionid / walletTx
    real: Decimal = money.ZERO  # real part of the bet or win
    bonus: Decimal = money.ZERO  # bonus part of the bet or win
    state: TxState = "applied"
    created_at: datetime | None = None
    extra: str = ""  # kind-specific fingerprint (e.g. the result leg of wagerAndResult)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True, slots=True)
class AdminOp:
    """A stored idempotent admin / REST operation: its key and the reply it repeats (JSON)."""

    key: str
    reply: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where a wallet's journal chain ends, as the ``journal_heads`` table records it (written
    in the same transaction as every journal entry; it only ever moves forward)."""

    account_id: str
    currency: str
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class Limits:
    account_id: str
    max_bet: Decimal | None = None
    loss_day: Decimal | None = None
    loss_week: Decimal | None = None
    loss_month: Decimal | None = None

    @property
    def any_loss_limit(self) -> bool:
        return any(x is not None for x in (self.loss_day, self.loss_week, self.loss_month))


@dataclass(frozen=True, slots=True)
class FreeRoundAward:
    frbid: str
    account_id: str
    operator_id: str
    pays_into: PaysInto
    created_at: datetime


# --- pure money rules -----------------------------------------------------------------


def split_debit(wallet: Wallet, amount: Decimal, order: DebitOrder) -> tuple[Decimal, Decimal]:
    """Which part of ``amount`` comes from real and which from bonus money.

    ``cash_money`` consumes real first, ``bonus_money`` bonus first; the rest comes from the
    other balance.  Raises ``OutOfMoney`` when real + bonus does not cover the amount.
    """
    if amount < 0:
        raise OperationNotAllowed("negative amount")
    if wallet.total < amount:
        raise OutOfMoney("insufficient funds")
    if order == "cash_money":
        real = min(wallet.real, amount)
        return real, money.sub(amount, real)
    bonus = min(wallet.bonus, amount)
    return money.sub(amount, bonus), bonus


def split_win(
    amount: Decimal, real_bet: Decimal, bonus_bet: Decimal, default: PaysInto = "real"
) -> tuple[Decimal, Decimal]:
    """Split a win in proportion to how the round's bets were funded.

    A round funded only by real money pays real; only by bonus pays bonus; a mixed round
    pays ``amount * bonus_bet / total_bet`` (rounded down to 1e-10) into bonus and the rest
    into real, so the parts always add up to the amount exactly.  With no bet (free rounds,
    tournament payouts) the win goes where ``default`` says.
    """
    total = money.add(real_bet, bonus_bet)
    if total.is_zero():
        return (amount, money.ZERO) if default == "real" else (money.ZERO, amount)
    bonus = money.proportion(amount, bonus_bet, total)
    return money.sub(amount, bonus), bonus


def game_mode(wallet: Wallet, order: DebitOrder) -> int:
    """1 = the next bet is funded by real money, 2 = by bonus money."""
    if order == "bonus_money" and wallet.bonus > 0:
        return 2
    if wallet.real <= 0 and wallet.bonus > 0:
        return 2
    return 1


# --- holds and write flows (schema version 4) ------------------------------------------
# Reserved balances (holds), transfers and currency sends, purchases and the SMS outbox.
# The rules live in wallet_store.holds (pure) and the use cases in wallet_store.flows.

HoldState = Literal["open", "captured", "released"]
FlowKind = Literal["transfer", "send"]
FlowState = Literal["pending", "verified", "claimed", "cancelled", "expired"]
PaymentState = Literal["processing", "requires_action", "succeeded", "declined"]
SmsState = Literal["outbox", "queued", "sent", "failed"]


@dataclass(frozen=True, slots=True)
class Hold:
    """Funds reserved on one wallet: taken from real/bonus into ``reserved`` in one journaled
    step, later captured (moved to a destination) or released (given back), exactly once.

    ``real`` + ``bonus`` = ``amount``: where the reserved money came from, so a release gives
    each part back to the balance it came from and a capture pays it into the same kind.
    ``reference`` is the id of the flow that owns the hold.
    """

    hold_id: str
    account_id: str
    currency: str
    amount: Decimal
    real: Decimal
    bonus: Decimal
    reference: str
    state: HoldState
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None = None
    close_reason: str = ""  # captured / cancelled / verification_failed / expired


@dataclass(frozen=True, slots=True)
class Flow:
    """A transfer (to a player) or a currency send (to an e-mail): initiate, verify, claim.

    ``steps`` is JSON text: for each completed step (``initiate``, ``verify``, ``claim``,
    ``cancel``) the balance it reported, so a repeat of the step replies the same (the codec
    is in :mod:`wallet_store.flows`).  ``code_hash`` is the salted SHA-256 of the SMS code;
    the code itself is never stored here.
    """

    flow_id: str
    kind: FlowKind
    operator_id: str
    game_id: str
    idempotency_key: str
    fingerprint: str
    source_account: str
    target_account: str | None  # a send's recipient is known once it claims
    target_email: str | None  # normalized (strip + lower); sends only
    currency: str
    amount: Decimal
    hold_id: str
    state: FlowState
    code_hash: str
    attempts: int
    phone_hint: str
    note: str
    created_at: datetime
    updated_at: datetime
    closed_reason: str = ""  # cancelled / verification_failed / expired
    steps: str = "{}"


@dataclass(frozen=True, slots=True)
class Payment:
    """A currency purchase paid through a payment provider; credited once, when it succeeds."""

    payment_id: str
    operator_id: str
    game_id: str
    idempotency_key: str
    fingerprint: str
    account_id: str
    currency: str
    usd_amount: Decimal
    usd_rate: Decimal
    amount: Decimal  # currency units credited on success
    provider: str
    state: PaymentState
    created_at: datetime
    updated_at: datetime
    provider_ref: str = ""
    client_secret: str | None = None
    message: str = ""
    result: str = ""  # JSON: the balance reported after the credit (replays repeat it)


@dataclass(frozen=True, slots=True)
class ItemPurchase:
    """An in-game item bought with a currency: one debit of ``total`` per idempotency key."""

    purchase_id: str
    operator_id: str
    game_id: str
    idempotency_key: str
    fingerprint: str
    account_id: str
    currency: str
    item_id: str
    item_name: str
    quantity: int
    unit_price: Decimal
    total: Decimal
    real: Decimal
    bonus: Decimal
    created_at: datetime
    result: str = ""  # JSON: the balance reported after the debit (replays repeat it)


@dataclass(frozen=True, slots=True)
class SmsMessage:
    """One SMS as the outbox keeps it.  ``body`` holds the text only when the sender keeps it
    (the embedded outbox, for test and staging); otherwise the code is redacted."""

    message_id: str
    account_id: str
    phone: str
    body: str
    purpose: str  # e.g. ``transfer:<flow id>``
    state: SmsState
    created_at: datetime
    sent_at: datetime | None = None
