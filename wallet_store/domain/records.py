"""Records of the REST write flows: holds (reserved balances), transfers and currency sends,
payments, item purchases and the SMS outbox (schema version 4).  Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

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
