"""Domain model: the entities a unit of work loads and persists (pure: no I/O, no driver).

Operators, players, wallets, sessions, games, currencies, rounds, transaction records,
limits and free-round awards.  The journal (entries, their hash chain and the only way a
balance changes) is :mod:`wallet_store.domain.journal`; the records of holds, flows,
payments, purchases and the SMS outbox are :mod:`wallet_store.domain.records`.
``wallet_store.model`` re-exports all three.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, Protocol

from wallet_store import money

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
    """Canonical UTC timestamp text (used in storage, hashes and on the wire).

    ``isoformat`` is 1.7x faster than the equivalent ``strftime("%Y-%m-%dT%H:%M:%S.%fZ")``
    (several calls per money request) and writes the same text, except that it pads a year
    before 1000 to four digits: those keep strftime's text, so no stored hash changes.
    """
    global _iso_last
    last = _iso_last  # one read: another thread may replace it meanwhile
    if last[0] is ts:
        return last[1]
    t = ts if ts.tzinfo is UTC else ts.astimezone(UTC)
    text = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if t.year < 1000 else t.isoformat(timespec="microseconds")[:-6] + "Z"
    _iso_last = (ts, text)
    return text


# The last timestamp formatted and its text.  A money request formats its one ``now`` about
# six times (the journal entry's hash and row, the wallet, round and record rows); the
# same object is formatted once.  Keyed by identity, which is sound: the tuple keeps the
# datetime alive, so its id cannot be reused by another object while it is cached, and a
# datetime is immutable.  Written as one tuple so a reader on another thread never sees a
# timestamp paired with another's text.
_iso_last: tuple[datetime | None, str] = (None, "")


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
