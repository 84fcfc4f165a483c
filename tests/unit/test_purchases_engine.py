"""Currency and item purchases decided alone (wallet_store/domain/purchases.py): no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.engine import NOW, currency, operator, player, wallet
from wallet_store.domain.purchases import (
    ItemCmd,
    Payer,
    PurchaseCmd,
    PurchaseResult,
    check_item,
    check_usd_amount,
    decide_item,
    decide_settle,
    new_payment,
)
from wallet_store.errors import AccountBlocked, Invalid, OutOfMoney, UnknownCurrency
from wallet_store.model import Payment
from wallet_store.payments import PaymentDeclined, PaymentOutcome

D = Decimal
PCMD = PurchaseCmd("g1", "op1", "p1", None, "GOLD", D("9.99"), "tok_success", "k1")


def payment() -> Payment:
    return new_payment(
        player(), currency("GOLD", "3"), PCMD, payment_id="pay_1", fingerprint="fp", provider="sbx", now=NOW
    )


def test_usd_amounts_are_whole_cents_within_the_limit() -> None:
    check_usd_amount(D("0.01"), D(100))
    for bad in ("0", "0.001", "100.01"):
        with pytest.raises(Invalid):
            check_usd_amount(D(bad), D(100))


def test_a_payment_buys_at_the_rate_rounded_down() -> None:
    p = payment()
    assert (p.amount, p.usd_rate, p.state) == (D("3.33"), D(3), "processing")
    with pytest.raises(AccountBlocked):
        new_payment(
            player(status="blocked"), currency("GOLD", "3"), PCMD, payment_id="x", fingerprint="", provider="", now=NOW
        )
    with pytest.raises(UnknownCurrency):
        new_payment(player(), None, PCMD, payment_id="x", fingerprint="", provider="", now=NOW)
    with pytest.raises(Invalid, match="no USD rate"):
        new_payment(player(), currency("GOLD", None), PCMD, payment_id="x", fingerprint="", provider="", now=NOW)


def test_settling_credits_once() -> None:
    payer = Payer(player(), None, "Gold")
    paid = decide_settle(payment(), PaymentOutcome("succeeded", "pi_1"), payer, now=NOW, replayed=False)
    assert isinstance(paid.reply, PurchaseResult)
    assert paid.change is not None
    assert paid.payment is not None
    assert paid.change.created is not None
    assert paid.change.wallet.real == D("3.33")
    assert paid.payment.state == "succeeded"
    assert paid.reply.snapshot is not None
    again = decide_settle(paid.payment, PaymentOutcome("succeeded", "pi_1"), payer, now=NOW, replayed=False)
    assert isinstance(again.reply, PurchaseResult)
    assert again.reply.replayed
    assert again.change is None


def test_settling_waits_or_declines_without_credit() -> None:
    payer = Payer(player(), None, "Gold")
    wait = decide_settle(payment(), PaymentOutcome("requires_action", "pi", "sec"), payer, now=NOW, replayed=False)
    assert wait.payment is not None
    assert wait.payment.state == "requires_action"
    assert wait.change is None
    same = decide_settle(wait.payment, PaymentOutcome("requires_action", "pi", "sec"), payer, now=NOW, replayed=True)
    assert same.payment is None  # nothing to write
    no = decide_settle(payment(), PaymentOutcome("declined", "pi", message="card"), payer, now=NOW, replayed=False)
    assert isinstance(no.reply, PaymentDeclined)
    assert no.payment is not None
    assert no.payment.state == "declined"
    assert isinstance(
        decide_settle(no.payment, PaymentOutcome("succeeded", "pi"), payer, now=NOW, replayed=False).reply,
        PaymentDeclined,
    )


def icmd(quantity: int = 3, price: str = "2.5") -> ItemCmd:
    return ItemCmd("g1", "op1", "p1", None, "EUR", "sword", "Sword", quantity, D(price), "k1")


def test_an_item_debits_price_times_quantity_in_the_debit_order() -> None:
    d = decide_item(
        icmd(), Payer(player(), wallet("5", "10"), "Euro"), operator(), purchase_id="ip_1", fingerprint="fp", now=NOW
    )
    assert (d.purchase.total, d.purchase.real, d.purchase.bonus) == (D("7.5"), D(5), D("2.5"))
    assert d.result.snapshot.available == D("7.5")
    with pytest.raises(OutOfMoney, match=r"price 7\.5"):
        decide_item(icmd(), Payer(player(), wallet("7"), "E"), operator(), purchase_id="i", fingerprint="", now=NOW)
    with pytest.raises(UnknownCurrency):
        check_item(player(), None, operator(), icmd())


def test_item_commands_are_bounded() -> None:
    for quantity, price in ((0, "1"), (10_001, "1"), (1, "0"), (10_000, "1" + "0" * 21)):
        with pytest.raises(Invalid):
            icmd(quantity, price)
