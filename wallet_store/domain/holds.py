"""Holds: reserved balances in the ledger core.  Pure rules, no I/O.

A hold moves funds from a wallet's available balance (real + bonus) to its ``reserved``
balance in one journaled step (kind ``hold``).  It ends exactly once, either

* **released** (kind ``hold_release``): the reserved amount goes back to the balances it
  came from (its real part to real, its bonus part to bonus); or
* **captured**: the source's reserved amount is taken (kind ``hold_capture``, available
  unchanged) and credited to a destination wallet (``transfer_in`` / ``send_in``).  The
  credit keeps the split: the real part is paid into real money and the bonus part into
  bonus money, so moving money between players can never turn a bonus into withdrawable
  cash.

Because a reservation really moves the money out of real + bonus, every open hold counts
against the available balance from the moment it is made: six holds of 1000 on a balance
of 5000 leave nothing for the sixth (:func:`~wallet_store.model.split_debit` refuses it),
unlike a ledger that only checks the balance when a hold is captured.

The functions return the new wallet, its journal entry and the new hold; the caller writes
them in one unit of work (``save_wallet`` + ``update_hold``).  A hold that is not open is
refused (:class:`HoldClosed`), so a release or a capture can never happen twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from wallet_store import money
from wallet_store.errors import Conflict, Invalid, TechnicalError
from wallet_store.model import DebitOrder, Hold, JournalEntry, Wallet, move, split_debit

HOLD = "hold"
HOLD_RELEASE = "hold_release"
HOLD_CAPTURE = "hold_capture"


class HoldClosed(Conflict):
    """The hold was already captured or released."""


def reserve(
    wallet: Wallet,
    amount: Decimal,
    order: DebitOrder,
    *,
    hold_id: str,
    reference: str,
    expires_at: datetime,
    now: datetime,
    reason: str = "",
) -> tuple[Wallet, JournalEntry, Hold]:
    """Reserve ``amount`` of the wallet's available balance, split by the operator's debit order.

    Raises :class:`~wallet_store.errors.OutOfMoney` when real + bonus (open holds already
    excluded) does not cover it.
    """
    if amount <= 0:
        raise Invalid("a hold must be greater than zero")
    if expires_at <= now:
        raise Invalid("a hold must expire in the future")
    real, bonus = split_debit(wallet, amount, order)
    new, entry = move(
        wallet,
        kind=HOLD,
        real=-real,
        bonus=-bonus,
        reserved=amount,
        reference=reference,
        reason=reason,
        now=now,
    )
    hold = Hold(
        hold_id=hold_id,
        account_id=wallet.account_id,
        currency=wallet.currency,
        amount=amount,
        real=real,
        bonus=bonus,
        reference=reference,
        state="open",
        created_at=now,
        expires_at=expires_at,
    )
    return new, entry, hold


def _check_owner(hold: Hold, wallet: Wallet) -> None:
    if hold.state != "open":
        raise HoldClosed(f"hold {hold.hold_id} is already {hold.state}")
    if (wallet.account_id, wallet.currency) != (hold.account_id, hold.currency):
        raise TechnicalError(f"hold {hold.hold_id} is not on wallet {wallet.account_id}/{wallet.currency}")


def release(hold: Hold, wallet: Wallet, *, reason: str, now: datetime) -> tuple[Wallet, JournalEntry, Hold]:
    """Give the reserved funds back to the balances they came from (``reason``: why)."""
    _check_owner(hold, wallet)
    new, entry = move(
        wallet,
        kind=HOLD_RELEASE,
        real=hold.real,
        bonus=hold.bonus,
        reserved=-hold.amount,
        reference=hold.reference,
        reason=reason,
        now=now,
    )
    return new, entry, replace(hold, state="released", closed_at=now, close_reason=reason)


def capture(
    hold: Hold,
    source: Wallet,
    destination: Wallet,
    *,
    credit_kind: str,
    now: datetime,
    reason: str = "",
) -> tuple[Wallet, JournalEntry, Wallet, JournalEntry, Hold]:
    """Move the reserved funds to ``destination`` (same currency, another wallet)."""
    _check_owner(hold, source)
    if destination.currency != hold.currency:
        raise TechnicalError("a hold is captured into a wallet of the same currency")
    if destination.account_id == source.account_id:
        raise Invalid("a hold cannot be captured into its own wallet")
    src, src_entry = move(
        source, kind=HOLD_CAPTURE, reserved=-hold.amount, reference=hold.reference, reason=reason, now=now
    )
    dst, dst_entry = move(
        destination,
        kind=credit_kind,
        real=hold.real,
        bonus=hold.bonus,
        reference=hold.reference,
        reason=reason,
        now=now,
    )
    return src, src_entry, dst, dst_entry, replace(hold, state="captured", closed_at=now, close_reason="captured")


def is_due(hold: Hold, now: datetime) -> bool:
    """An open hold whose time is up (expiry is inclusive of ``expires_at``)."""
    return hold.state == "open" and now >= hold.expires_at


def available(wallet: Wallet) -> Decimal:
    """What the player can spend or reserve: real + bonus (open holds already moved out)."""
    return money.add(wallet.real, wallet.bonus)
