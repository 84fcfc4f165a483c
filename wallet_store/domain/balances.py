"""Balances as the REST faces report them, and the wallet changes a decision returns.  Pure.

The same wallet ``/groove`` uses, so every face agrees at once:

* ``available`` = real + bonus: what the player can spend (what getbalance calls balance);
* ``reserved`` = the wallet's reserved funds (open holds);
* ``total`` = available + reserved.

USD values and conversions round **down** to the 1e-10 quantum: the wallet never reports
or credits more value than it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from wallet_store import money
from wallet_store.errors import Invalid, UnknownCurrency
from wallet_store.model import Currency, JournalEntry, Player, Wallet


def available(w: Wallet) -> Decimal:
    return w.total


def total(w: Wallet) -> Decimal:
    return money.add(w.total, w.reserved)


def usd_value(wallets: list[Wallet], currencies: dict[str, Currency]) -> Decimal | None:
    """USD value of the wallets' totals (available + reserved), rounded down.

    ``None`` when a wallet holding funds has no rate: a partial sum would understate it.
    """
    value = money.ZERO
    try:
        for w in wallets:
            held = money.add(w.total, w.reserved)
            if held.is_zero():
                continue
            cur = currencies.get(w.currency)
            if cur is None or cur.usd_rate is None:
                return None
            value = money.add(value, money.mul(held, cur.usd_rate))
    except money.MoneyError:
        return None  # beyond Decimal(32,10): not a value we can state on the wire
    return value


def convert(amount: Decimal, src: Currency, dst: Currency) -> Decimal:
    """``amount`` of ``src`` expressed in ``dst`` at the current USD rates, rounded down."""
    if src.usd_rate is None or dst.usd_rate is None:
        missing = src.code if src.usd_rate is None else dst.code
        raise UnknownCurrency(f"no exchange rate is configured for {missing}")
    try:
        return money.proportion(amount, src.usd_rate, dst.usd_rate)
    except money.MoneyError as exc:
        raise Invalid("the converted amount does not fit Decimal(32,10)") from exc


@dataclass(frozen=True, slots=True)
class PlayerBalances:
    player: Player
    wallets: list[Wallet]
    currencies: dict[str, Currency]  # the operator's currencies by code

    @property
    def usd_value(self) -> Decimal | None:
        return usd_value(self.wallets, self.currencies)


@dataclass(frozen=True, slots=True)
class BatchResult:
    found: list[PlayerBalances]
    not_found_ids: list[str]
    not_found_emails: list[str]
    currencies: dict[str, Currency]


@dataclass(frozen=True, slots=True)
class WalletChange:
    """One wallet's new state and the journal entries that record it (``save_wallet``).

    ``created`` is the empty wallet to insert first when the wallet did not exist.
    """

    wallet: Wallet
    entries: tuple[JournalEntry, ...]
    created: Wallet | None = None


def wallet_or_new(found: Wallet | None, account_id: str, currency: str, now: datetime) -> tuple[Wallet, Wallet | None]:
    """The wallet to move, and the empty one to create first if there was none."""
    if found is not None:
        return found, None
    new = Wallet(account_id=account_id, currency=currency, updated_at=now)
    return new, new
