"""The write flows (transfers, currency sends, purchases): request bodies and replies.

Every success carries ``new_balance`` (a decimal string; ``null`` only for a purchase that
``requires_action``), its legacy alias with the same value, and ``currency_name`` (the
write-response contract).
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import Field, StrictInt, StringConstraints
from typing_extensions import TypedDict

from .common import AccountId, Body, CurrencyCode, EmailStr, IdemKey, MoneyStr, Positive

FlowId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,64}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
Note = Annotated[str, StringConstraints(max_length=200)]
Token = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    Field(
        description="sandbox: tok_success, tok_requires_action, tok_requires_action_declined, tok_declined",
    ),
]
ItemId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z._:-]{1,128}$")]
ItemName = Annotated[str, StringConstraints(max_length=200)]

# ---------------------------------------------------------------------- request bodies


class InitiateTransferIn(Body):
    source_player_id: AccountId | None = None
    source_player_email: EmailStr | None = None
    target_player_id: AccountId | None = None
    target_player_email: EmailStr | None = None
    currency: CurrencyCode
    amount: Positive
    note: Note = ""
    idempotency_key: IdemKey


class VerifyTransferIn(Body):
    transfer_id: FlowId
    verification_code: Code


class ClaimTransferIn(Body):
    transfer_id: FlowId
    player_id: AccountId | None = None  # the claimant: must be the transfer's target
    player_email: EmailStr | None = None


class CancelTransferIn(Body):
    transfer_id: FlowId


class InitiateSendIn(Body):
    sender_player_id: AccountId | None = None
    sender_player_email: EmailStr | None = None
    recipient_email: EmailStr
    currency: CurrencyCode
    amount: Positive
    note: Note = ""
    idempotency_key: IdemKey


class VerifySendIn(Body):
    send_id: FlowId
    verification_code: Code


class ClaimSendIn(Body):
    send_id: FlowId
    recipient_email: EmailStr


class CancelSendIn(Body):
    send_id: FlowId


class PurchaseCurrencyIn(Body):
    player_id: AccountId | None = None
    player_email: EmailStr | None = None
    currency: CurrencyCode
    usd_amount: Positive
    payment_token: Token
    idempotency_key: IdemKey


class ConfirmPaymentIn(Body):
    payment_id: FlowId


class PurchaseItemIn(Body):
    player_id: AccountId | None = None
    player_email: EmailStr | None = None
    currency: CurrencyCode
    item_id: ItemId
    item_name: ItemName = ""
    quantity: Annotated[StrictInt, Field(ge=1, le=10_000)] = 1
    unit_price: Positive
    idempotency_key: IdemKey


class PhoneIn(Body):
    phone: Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{7,14}$")]


# ---------------------------------------------------------------------- replies

StepState = Annotated[
    Literal["pending", "verified", "claimed", "cancelled"],
    Field(description="the state the step left the flow in (the names GET /api/transfers/{id} answers)"),
]
NewBalance = Annotated[str, Field(description="available balance of the player the contract names, after the write")]
NullMoney = Annotated[str | None, Field(description="exact decimal string, at least 2 places")]


class Verification(TypedDict):
    channel: str
    phone: str
    code_length: int


class TransferDetails(TypedDict):
    transfer_id: str
    state: StepState
    amount: MoneyStr
    currency: str
    currency_name: str
    source_player_id: str
    target_player_id: str | None
    note: str
    expires_at: str
    new_balance: NewBalance


class SendDetails(TypedDict):
    send_id: str
    state: StepState
    amount: MoneyStr
    currency: str
    currency_name: str
    sender_player_id: str
    recipient_email: str | None
    recipient_player_id: NotRequired[str]  # once claimed
    note: str
    expires_at: str
    new_balance: NewBalance


class _Step(TypedDict):
    success: bool
    status: Literal["success"]
    state: StepState
    amount: MoneyStr
    currency: str
    currency_name: str
    new_balance: NewBalance
    balance_player_id: str
    available_balance: MoneyStr
    reserved_balance: MoneyStr
    total_balance: MoneyStr
    expires_at: str
    verification: NotRequired[Verification]  # on initiate


class TransferStep(_Step):
    transfer_id: str
    transfer_details: TransferDetails


class SendStep(_Step):
    send_id: str
    send_details: SendDetails


class Hold(TypedDict):
    hold_id: str
    state: Literal["open", "captured", "released"]
    amount: MoneyStr
    expires_at: str
    closed_at: str | None
    close_reason: str | None


class FlowStatus(TypedDict):
    transfer_id: NotRequired[str]  # a transfer's
    send_id: NotRequired[str]  # a send's
    kind: Literal["transfer", "send"]
    state: Literal["pending", "verified", "claimed", "cancelled", "expired"]
    amount: MoneyStr
    currency: str
    source_player_id: str
    target_player_id: str | None
    recipient_email: NotRequired[str | None]  # a send's
    verification_attempts: int
    hold: Hold
    created_at: str
    updated_at: str


class PurchaseDetails(TypedDict):
    payment_id: str
    usd_amount: MoneyStr
    amount: MoneyStr
    currency: str
    currency_name: str
    new_balance: NullMoney


class Purchase(TypedDict):
    success: bool
    status: Literal["success", "requires_action"]
    payment_id: str
    client_secret: Annotated[str | None, Field(description="for the 3-D Secure challenge when requires_action")]
    player_id: str
    player_email: str | None
    currency: str
    currency_name: str
    usd_amount: MoneyStr
    usd_rate: str
    amount: MoneyStr
    new_balance: Annotated[str | None, Field(description="null (present) only when status is requires_action")]
    purchase_details: PurchaseDetails
    created_at: str
    available_balance: NotRequired[MoneyStr]  # once paid
    reserved_balance: NotRequired[MoneyStr]
    total_balance: NotRequired[MoneyStr]


class BalanceInfo(TypedDict):
    currency: str
    currency_name: str
    previous_balance: MoneyStr
    new_balance: NewBalance
    available_balance: MoneyStr
    reserved_balance: MoneyStr
    total_balance: MoneyStr


class ItemPurchase(TypedDict):
    success: bool
    status: Literal["success"]
    purchase_id: str
    player_id: str
    item_id: str
    item_name: str
    quantity: int
    unit_price: MoneyStr
    total_price: MoneyStr
    currency: str
    currency_name: str
    new_balance: NewBalance
    balance_info: BalanceInfo
    created_at: str
