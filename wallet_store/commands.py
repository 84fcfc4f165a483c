"""Commands the faces hand to the service, and the outcomes they get back.  Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .model import DebitOrder, GameSession, Operator, Player, TxRecord, Wallet


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a /groove request: for the per-operator signature and IP allow-list.

    ``signed_payload`` is what the "concat" scheme signs, ``signed_pairs`` what the "pairs"
    scheme signs; the operator's ``signature_scheme`` picks one.
    """

    ip: str | None = None
    signature: str | None = None
    signed_payload: str = ""
    signed_pairs: str = ""


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
