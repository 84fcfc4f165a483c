"""Currency purchases (paid through a provider) and item purchases: the decisions.  Pure.

A currency purchase is recorded (``processing``) before the provider is asked, then settled:
``succeeded`` credits the player once, ``requires_action`` waits for a confirmation,
``declined`` credits nothing (and is replayed for the key).  An item purchase debits
``unit_price`` x ``quantity`` from the available balance once per key, real and bonus money
in the operator's debit order; a refusal changes nothing and is not remembered.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from wallet_store import money
from wallet_store.domain import holds, idempotency
from wallet_store.domain.balances import WalletChange, wallet_or_new
from wallet_store.domain.flows import Snapshot
from wallet_store.domain.requests import active, norm_email
from wallet_store.domain.transfers import offered
from wallet_store.errors import Invalid, NotFound, OutOfMoney, WalletError
from wallet_store.model import Currency, ItemPurchase, Operator, Payment, Player, Wallet, move, split_debit
from wallet_store.payments import PaymentDeclined, PaymentOutcome

USD_CENT = Decimal("0.01")
MAX_QUANTITY = 10_000


@dataclass(frozen=True, slots=True)
class PurchaseResult:
    payment: Payment
    snapshot: Snapshot | None  # None until the credit happened (requires_action)
    player: Player
    currency_name: str
    replayed: bool


@dataclass(frozen=True, slots=True)
class ItemResult:
    purchase: ItemPurchase
    snapshot: Snapshot
    replayed: bool


# --------------------------------------------------------------------------- currency purchases


def check_usd_amount(usd_amount: Decimal, max_usd: Decimal) -> None:
    if usd_amount <= 0:
        raise Invalid("usd_amount must be greater than zero")
    if usd_amount != usd_amount.quantize(USD_CENT):
        raise Invalid("usd_amount has at most 2 decimal places (cents)")
    if usd_amount > max_usd:
        raise Invalid(f"usd_amount is at most {money.wire(max_usd)}")


@dataclass(frozen=True, slots=True)
class PurchaseCmd:
    game_id: str
    operator_id: str
    account_id: str | None
    email: str | None
    currency: str
    usd_amount: Decimal
    payment_token: str
    idempotency_key: str

    def fingerprint(self) -> idempotency.Fingerprint:
        return idempotency.fingerprint(
            {
                "player_id": self.account_id,
                "player_email": norm_email(self.email),
                "currency": self.currency,
                "usd_amount": self.usd_amount,
                "payment_token": self.payment_token,
            }
        )


def new_payment(
    player: Player,
    cur: Currency | None,
    cmd: PurchaseCmd,
    *,
    payment_id: str,
    fingerprint: str,
    provider: str,
    now: datetime,
) -> Payment:
    """The payment to record before the provider is asked: the amount the USD buys at the
    currency's rate, rounded down."""
    active(player)
    cur = offered(cur, cmd.currency)
    if cur.usd_rate is None or cur.usd_rate <= 0:
        raise Invalid(f"{cmd.currency} has no USD rate, so it cannot be bought")
    amount = money.proportion(cmd.usd_amount, Decimal(1), cur.usd_rate)
    if amount <= 0:
        raise Invalid("usd_amount buys less than the smallest unit of the currency")
    return Payment(
        payment_id=payment_id,
        operator_id=cmd.operator_id,
        game_id=cmd.game_id,
        idempotency_key=cmd.idempotency_key,
        fingerprint=fingerprint,
        account_id=player.account_id,
        currency=cmd.currency,
        usd_amount=cmd.usd_amount,
        usd_rate=cur.usd_rate,
        amount=amount,
        provider=provider,
        state="processing",
        created_at=now,
        updated_at=now,
    )


def declined(payment: Payment) -> PaymentDeclined:
    return PaymentDeclined(payment.message or "the payment was declined")


def stored_snapshot(payment: Payment) -> Snapshot | None:
    return Snapshot.from_json(payment.result) if payment.result else None


@dataclass(frozen=True, slots=True)
class Settlement:
    reply: PurchaseResult | WalletError
    payment: Payment | None = None  # the payment to update
    change: WalletChange | None = None


@dataclass(frozen=True, slots=True)
class Payer:
    """The paying player (locked), the wallet credited and the currency's name."""

    player: Player
    wallet: Wallet | None
    currency_name: str


def _credit(payment: Payment, outcome: PaymentOutcome, payer: Payer, now: datetime, replayed: bool) -> Settlement:
    """Paid: credit once.  A blocked player is credited too: the money was taken."""
    wallet, created = wallet_or_new(payer.wallet, payment.account_id, payment.currency, now)
    wallet, entry = move(
        wallet,
        kind="purchase_credit",
        real=payment.amount,
        reference=payment.payment_id,
        reason=f"purchase of {money.wire(payment.usd_amount)} USD",
        now=now,
    )
    snap = Snapshot.of(payer.player, wallet, payer.currency_name, now)
    payment = replace(
        payment, state="succeeded", provider_ref=outcome.provider_ref, result=snap.to_json(), updated_at=now
    )
    reply = PurchaseResult(payment, snap, payer.player, payer.currency_name, replayed)
    return Settlement(reply, payment, WalletChange(wallet, (entry,), created))


def decide_settle(
    payment: Payment, outcome: PaymentOutcome, payer: Payer, *, now: datetime, replayed: bool
) -> Settlement:
    """Record the provider's outcome on the (locked, re-read) payment."""
    if payment.state == "declined":
        return Settlement(declined(payment))
    if payment.state == "succeeded":  # a concurrent request settled it first
        snap = Snapshot.from_json(payment.result)
        return Settlement(PurchaseResult(payment, snap, payer.player, snap.currency_name, True))
    if outcome.status == "requires_action":
        update = None
        if payment.state != "requires_action":
            payment = update = replace(
                payment,
                state="requires_action",
                provider_ref=outcome.provider_ref,
                client_secret=outcome.client_secret,
                updated_at=now,
            )
        return Settlement(PurchaseResult(payment, None, payer.player, payer.currency_name, replayed), update)
    if outcome.status == "declined":
        message = outcome.message or "the payment was declined"
        payment = replace(payment, state="declined", provider_ref=outcome.provider_ref, message=message, updated_at=now)
        return Settlement(PaymentDeclined(payment.message), payment)
    return _credit(payment, outcome, payer, now, replayed)


# --------------------------------------------------------------------------- item purchases


@dataclass(frozen=True, slots=True)
class ItemCmd:
    game_id: str
    operator_id: str
    account_id: str | None
    email: str | None
    currency: str
    item_id: str
    item_name: str
    quantity: int
    unit_price: Decimal
    idempotency_key: str

    def __post_init__(self) -> None:
        if self.unit_price <= 0:
            raise Invalid("unit_price must be greater than zero")
        if not 1 <= self.quantity <= MAX_QUANTITY:
            raise Invalid(f"quantity must be from 1 to {MAX_QUANTITY}")
        _ = self.total

    @property
    def total(self) -> Decimal:
        try:
            return money.check(self.unit_price * self.quantity)
        except money.MoneyError:
            raise Invalid("unit_price x quantity is too large") from None

    def fingerprint(self) -> idempotency.Fingerprint:
        return idempotency.fingerprint(
            {
                "player_id": self.account_id,
                "player_email": norm_email(self.email),
                "currency": self.currency,
                "item_id": self.item_id,
                "item_name": self.item_name,
                "quantity": self.quantity,
                "unit_price": self.unit_price,
            }
        )


def check_item(player: Player, cur: Currency | None, op: Operator | None, cmd: ItemCmd) -> Operator:
    """Refusals before any hold of the buyer is touched."""
    offered(cur, cmd.currency)
    active(player)
    if op is None:
        raise NotFound("operator not found")
    return op


@dataclass(frozen=True, slots=True)
class ItemDecision:
    result: ItemResult
    change: WalletChange
    purchase: ItemPurchase


def decide_item(
    cmd: ItemCmd, buyer: Payer, op: Operator, *, purchase_id: str, fingerprint: str, now: datetime
) -> ItemDecision:
    """Debit the price from the buyer's available balance (open holds excluded)."""
    total, wallet = cmd.total, buyer.wallet
    if wallet is None:
        raise OutOfMoney(f"insufficient funds: the player has no {cmd.currency} wallet")
    if holds.available(wallet) < total:
        raise OutOfMoney(
            f"insufficient funds: available {money.wire(holds.available(wallet))} {cmd.currency},"
            f" price {money.wire(total)}"
        )
    real, bonus = split_debit(wallet, total, op.debit_order)
    reason = f"item {cmd.item_id} x {cmd.quantity}"
    wallet, entry = move(
        wallet, kind="item_debit", real=-real, bonus=-bonus, reference=purchase_id, reason=reason, now=now
    )
    snap = Snapshot.of(buyer.player, wallet, buyer.currency_name, now)
    purchase = ItemPurchase(
        purchase_id=purchase_id,
        operator_id=cmd.operator_id,
        game_id=cmd.game_id,
        idempotency_key=cmd.idempotency_key,
        fingerprint=fingerprint,
        account_id=buyer.player.account_id,
        currency=cmd.currency,
        item_id=cmd.item_id,
        item_name=cmd.item_name,
        quantity=cmd.quantity,
        unit_price=cmd.unit_price,
        total=total,
        real=real,
        bonus=bonus,
        created_at=now,
        result=snap.to_json(),
    )
    return ItemDecision(ItemResult(purchase, snap, False), WalletChange(wallet, (entry,)), purchase)
