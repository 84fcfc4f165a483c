"""Commands the faces hand to the service, and the outcomes they get back.  Pure data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from .model import DebitOrder, GameSession, Operator, Player, TxRecord, Wallet


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a /groove request: for the per-operator signature and IP allow-list.

    ``params`` are the request's query parameters as received (URL-decoded); what a scheme
    signs is derived from them only when the operator has a secret
    (:func:`wallet_store.services.auth.signed_payload` / ``signed_pairs``).
    """

    ip: str | None = None
    signature: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SessionQuery:
    account_id: str
    session_id: str


@dataclass(frozen=True, slots=True)
class AccountView:
    player: Player
    operator: Operator
    session: GameSession
    wallet: Wallet

    @property
    def order(self) -> DebitOrder:
        return self.operator.debit_order


@dataclass(frozen=True, slots=True)
class Wager:
    account_id: str
    session_id: str
    game_id: str
    round_id: str
    transaction_id: str
    amount: Decimal
    frbid: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    account_id: str
    session_id: str
    game_id: str
    round_id: str
    transaction_id: str
    amount: Decimal
    status: str  # "completed" | "pending"; anything else is refused with 110
    frbid: str | None = None


@dataclass(frozen=True, slots=True)
class WagerAndResult:
    account_id: str
    session_id: str
    game_id: str
    round_id: str
    transaction_id: str
    bet: Decimal
    win: Decimal
    status: str
    frbid: str | None = None


@dataclass(frozen=True, slots=True)
class Rollback:
    account_id: str
    session_id: str
    game_id: str
    round_id: str
    transaction_id: str
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Jackpot:
    account_id: str
    session_id: str
    game_id: str
    round_id: str
    transaction_id: str
    amount: Decimal
    status: str


@dataclass(frozen=True, slots=True)
class ReverseWin:
    account_id: str
    session_id: str
    game_id: str
    round_id: str | None
    transaction_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RollbackRollback:
    account_id: str
    session_id: str
    game_id: str
    round_id: str | None
    transaction_id: str
    amount: Decimal


MoneyCommand = Wager | Result | WagerAndResult | Rollback | Jackpot | ReverseWin | RollbackRollback


@dataclass(frozen=True, slots=True)
class MoneyOutcome:
    """A decided money request: the (original) record and the balances now."""

    record: TxRecord
    wallet: Wallet
    order: DebitOrder
    duplicate: bool
    win_record: TxRecord | None = None  # the result leg of wagerAndResult
