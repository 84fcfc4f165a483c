"""The Player Balance API (``/api/player-balances``) and private wallet API (``/api/private``):
request bodies and replies.

Player Balance replies carry money as decimal strings (:data:`MoneyStr`), the private API's
as exact JSON numbers (:data:`MoneyNum`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from .common import (
    AccountId,
    Body,
    CurrencyCode,
    CurrencyFields,
    EmailStr,
    IdemKey,
    MoneyNum,
    MoneyStr,
    Positive,
    PositiveNumber,
    Reason,
)

# ---------------------------------------------------------------------- request bodies


class BatchIn(Body):
    player_emails: list[EmailStr] = Field(default_factory=list)
    player_ids: list[AccountId] = Field(default_factory=list)
    include_summary: bool = False


class TransferIn(Body):
    player_id: AccountId | None = None
    player_email: EmailStr | None = None
    currency: CurrencyCode
    amount: Positive
    reason: Reason = ""
    idempotency_key: IdemKey


class ConvertIn(Body):
    player_id: AccountId | None = None
    player_email: EmailStr | None = None
    from_currency: CurrencyCode
    to_currency: CurrencyCode
    amount: Positive
    idempotency_key: IdemKey


class WalletTxIn(Body):
    currency: CurrencyCode
    amount: PositiveNumber
    type: Literal["credit", "debit"]
    reason: Reason = ""
    meta: dict[str, Any] = Field(default_factory=dict)
    idempotencyKey: IdemKey  # the spec's field name


# ---------------------------------------------------------------------- Player Balance replies

PlayerId = Annotated[
    str,
    Field(
        description="a string, though the seed's example shows a number: player ids are the operator's"
        " account ids ([0-9A-Za-z]{1,60}, e.g. Groove's accountid), which need not be numeric and can"
        " exceed a JSON number's exact range"
    ),
]
UsdValue = Annotated[str | None, Field(description="USD value; null when a funded wallet's currency has no USD rate")]
UsdAlias = Annotated[str | None, Field(description="alias of total_value (the earlier name), same value")]
Direction = Literal["credit", "debit"]
Success = Literal["success"]


class PbPlayer(TypedDict):
    player_id: PlayerId
    player_name: str
    player_email: str | None
    date_joined: str
    last_active: Annotated[str | None, Field(description="the player's last money activity (Groove or REST)")]


class PbBalance(CurrencyFields):
    available_balance: MoneyStr
    reserved_balance: MoneyStr
    total_balance: MoneyStr
    last_transaction: str | None


class PbSummary(TypedDict):
    total_currencies: int
    total_value_usd: Annotated[str | None, Field(description="null when a funded wallet's currency has no USD rate")]
    has_funds: bool
    last_updated: str


class PbView(TypedDict):
    player: PbPlayer
    balances: list[PbBalance]
    summary: PbSummary


class PbBatchPlayer(TypedDict):
    player_id: PlayerId
    player_email: str | None
    total_value: UsdValue
    total_value_usd: UsdAlias
    player: PbPlayer
    balances: list[PbBalance]
    summary: NotRequired[PbSummary]  # with include_summary


class PbNotFound(TypedDict, total=False):
    player_id: str
    player_email: str


class PbBatchSummary(TypedDict):
    total_players: int
    found: int
    not_found: int
    total_value: UsdValue
    total_value_usd: UsdAlias
    has_funds: bool


class PbBatch(TypedDict):
    players: list[PbBatchPlayer]
    not_found: list[PbNotFound]
    summary: NotRequired[PbBatchSummary]  # with include_summary


class PbTransfer(CurrencyFields):
    success: bool
    status: Success
    transaction_id: str
    type: Direction
    player_id: str
    player_email: str | None
    amount: MoneyStr
    previous_balance: MoneyStr
    new_balance: MoneyStr
    available_balance: MoneyStr
    reserved_balance: MoneyStr
    total_balance: MoneyStr
    reason: str
    created_at: str


class PbConvertSide(CurrencyFields):
    amount: MoneyStr
    usd_rate: str
    available_balance: MoneyStr


PbConvert = TypedDict(
    "PbConvert",
    {
        "success": bool,
        "status": Success,
        "transaction_id": str,
        "player_id": str,
        "player_email": str | None,
        "from": PbConvertSide,
        "to": PbConvertSide,
        "new_balance": MoneyStr,
        "currency_name": str,
        "created_at": str,
    },
)


class PbCurrency(CurrencyFields):
    usd_rate: str | None
    start_amount: MoneyStr
    updated_at: str


class PbCurrencies(TypedDict):
    currencies: list[PbCurrency]


# History ``type`` values: every row has exactly one of them.
PbHistoryType = Annotated[
    Literal["credit", "debit", "none"],
    Field(
        description="direction of the available balance: credit (up), debit (down), none (unchanged:"
        " a hold capture takes reserved funds only, a zero win)"
    ),
]
PwHistoryType = Annotated[
    Literal["credit", "debit"],
    Field(description="direction of the balance; rows that leave it unchanged (a hold capture) are not listed"),
]


class PbHistoryItem(TypedDict):
    transaction_id: str
    type: PbHistoryType
    kind: str
    amount: MoneyStr
    balance_before: MoneyStr
    balance_after: MoneyStr
    reserved_before: MoneyStr
    reserved_after: MoneyStr
    reason: str
    game_id: str | None
    created_at: str


class PbHistory(TypedDict):
    player: PbPlayer
    balance: PbBalance
    page: int
    limit: int
    total: int
    transactions: list[PbHistoryItem]


class PbBucket(TypedDict):
    start: str
    spend: MoneyStr
    wins: MoneyStr
    credits: MoneyStr


class PbTrend(TypedDict):
    current: MoneyStr
    previous: MoneyStr
    change: MoneyStr
    change_percent: str | None


class PbTrends(TypedDict):
    spend: PbTrend
    wins: PbTrend


class PbSpendCategory(TypedDict):
    category: str
    amount: MoneyStr
    count: int


class PbAnalyticsCurrency(CurrencyFields):
    spend: MoneyStr
    wins: MoneyStr
    credits: MoneyStr
    buckets: list[PbBucket]
    top_spend_categories: list[PbSpendCategory]
    trend: PbTrends


PbAnalytics = TypedDict(
    "PbAnalytics",
    {
        "player": PbPlayer,
        "period": Literal["day", "week"],
        "from": str,
        "to": str,
        "currencies": list[PbAnalyticsCurrency],
    },
)

# ---------------------------------------------------------------------- private wallet API replies


class PwBalance(TypedDict):
    currency_code: str
    currency_name: str
    balance: MoneyNum


class PwBalances(TypedDict):
    error: bool
    data: list[PwBalance]


class PwTransaction(TypedDict):
    user_identity: str
    game_id: NotRequired[Annotated[str, Field(description="the game that made the transaction; absent when none did")]]
    currency_code: str
    type: Direction
    amount: MoneyNum
    balance_before: MoneyNum
    balance_after: MoneyNum
    reason: str
    meta: dict[str, Any]
    _id: str
    created_at: str
    updated_at: str


class PwTransactionReply(TypedDict):
    error: bool
    data: PwTransaction


class PwWallet(TypedDict):
    currency_code: str
    balance: MoneyNum


class PwHistoryPage(TypedDict):
    wallet: PwWallet
    page: int
    limit: int
    total: int
    transactions: list[PwTransaction]


class PwHistory(TypedDict):
    error: bool
    data: PwHistoryPage
