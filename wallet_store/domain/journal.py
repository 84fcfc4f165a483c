"""The journal: one entry per balance change, chained per wallet by SHA-256, and the pure
money rules that produce entries (:func:`move`, the only way a balance changes) or decide
how a debit or a win is split between real and bonus money.  Pure: no I/O, no driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from hashlib import sha256
from typing import Literal

from wallet_store import money
from wallet_store.errors import AmountOutOfRange, OperationNotAllowed, OutOfMoney

from .model import DebitOrder, PaysInto, Wallet, iso


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One balance change of one wallet.  ``*_after`` minus ``*_delta`` is the before."""

    account_id: str
    currency: str
    seq: int
    kind: str
    real_delta: Decimal
    bonus_delta: Decimal
    reserved_delta: Decimal
    real_after: Decimal
    bonus_after: Decimal
    reserved_after: Decimal
    reference: str
    reason: str
    created_at: datetime
    prev_hash: str
    hash: str

    @property
    def real_before(self) -> Decimal:
        return money.sub(self.real_after, self.real_delta)

    @property
    def bonus_before(self) -> Decimal:
        return money.sub(self.bonus_after, self.bonus_delta)

    @property
    def reserved_before(self) -> Decimal:
        return money.sub(self.reserved_after, self.reserved_delta)


def entry_hash(
    *,
    account_id: str,
    currency: str,
    seq: int,
    kind: str,
    real_delta: Decimal,
    bonus_delta: Decimal,
    reserved_delta: Decimal,
    real_after: Decimal,
    bonus_after: Decimal,
    reserved_after: Decimal,
    reference: str,
    reason: str,
    created_at: datetime,
    prev_hash: str,
) -> str:
    """SHA-256 over the entry's content and the previous entry's hash (per-wallet chain)."""
    return _digest(
        account_id, currency, seq, kind, real_delta, bonus_delta, reserved_delta,
        real_after, bonus_after, reserved_after, reference, reason, created_at, prev_hash,
    )  # fmt: skip


def _digest(
    account_id: str,
    currency: str,
    seq: int,
    kind: str,
    real_delta: Decimal,
    bonus_delta: Decimal,
    reserved_delta: Decimal,
    real_after: Decimal,
    bonus_after: Decimal,
    reserved_after: Decimal,
    reference: str,
    reason: str,
    created_at: datetime,
    prev_hash: str,
) -> str:
    wire = money.wire
    text = "\x1f".join(
        (
            account_id,
            currency,
            str(seq),
            kind,
            wire(real_delta),
            wire(bonus_delta),
            wire(reserved_delta),
            wire(real_after),
            wire(bonus_after),
            wire(reserved_after),
            reference,
            reason,
            iso(created_at),
            prev_hash,
        )
    )
    return sha256(text.encode()).hexdigest()


BalanceFlow = Literal["credit", "debit", "none"]


def entry_flow(e: JournalEntry) -> BalanceFlow:
    """Direction of the available balance (real + bonus) in one entry (history filters)."""
    delta = money.add(e.real_delta, e.bonus_delta)
    return "debit" if delta < 0 else "credit" if delta > 0 else "none"


def verify_entry(e: JournalEntry) -> bool:
    return e.hash == entry_hash(
        account_id=e.account_id,
        currency=e.currency,
        seq=e.seq,
        kind=e.kind,
        real_delta=e.real_delta,
        bonus_delta=e.bonus_delta,
        reserved_delta=e.reserved_delta,
        real_after=e.real_after,
        bonus_after=e.bonus_after,
        reserved_after=e.reserved_after,
        reference=e.reference,
        reason=e.reason,
        created_at=e.created_at,
        prev_hash=e.prev_hash,
    )


def move(
    wallet: Wallet,
    *,
    kind: str,
    real: Decimal = money.ZERO,
    bonus: Decimal = money.ZERO,
    reserved: Decimal = money.ZERO,
    reference: str,
    reason: str = "",
    now: datetime,
) -> tuple[Wallet, JournalEntry]:
    """Apply signed deltas to a wallet and produce the journal entry that records it.

    The only way balances change.  Refuses (``OutOfMoney``) to take any balance below zero
    (overdraft is not supported: the schemas enforce it too), and (``AmountOutOfRange``) any
    change after which a balance, or the reported total real + bonus + reserved, would not
    fit Decimal(32,10) -- refused before anything is written, never discovered at reply time.
    """
    try:
        real, bonus, reserved = money.check(real), money.check(bonus), money.check(reserved)
        real_after = money.add(wallet.real, real)
        bonus_after = money.add(wallet.bonus, bonus)
        reserved_after = money.add(wallet.reserved, reserved)
        money.add(money.add(real_after, bonus_after), reserved_after)
    except money.MoneyError as exc:
        raise AmountOutOfRange("the balance would exceed Decimal(32,10)") from exc
    if real_after < 0 or bonus_after < 0 or reserved_after < 0:
        raise OutOfMoney("insufficient funds")
    seq = wallet.seq + 1
    prev = wallet.last_hash
    digest = _digest(
        wallet.account_id, wallet.currency, seq, kind, real, bonus, reserved,
        real_after, bonus_after, reserved_after, reference, reason, now, prev,
    )  # fmt: skip
    # Positional construction in the fields' declared order (a keyword call or
    # dataclasses.replace costs several times as much; tests/unit check every field).
    entry = JournalEntry(
        wallet.account_id, wallet.currency, seq, kind, real, bonus, reserved,
        real_after, bonus_after, reserved_after, reference, reason, now, prev, digest,
    )  # fmt: skip
    new = Wallet(wallet.account_id, wallet.currency, real_after, bonus_after, reserved_after, seq, digest, now)
    return new, entry


# --- pure money rules -----------------------------------------------------------------


def split_debit(wallet: Wallet, amount: Decimal, order: DebitOrder) -> tuple[Decimal, Decimal]:
    """Which part of ``amount`` comes from real and which from bonus money.

    ``cash_money`` consumes real first, ``bonus_money`` bonus first; the rest comes from the
    other balance.  Raises ``OutOfMoney`` when real + bonus does not cover the amount.
    """
    if amount < 0:
        raise OperationNotAllowed("negative amount")
    if wallet.total < amount:
        raise OutOfMoney("insufficient funds")
    if order == "cash_money":
        real = min(wallet.real, amount)
        return real, money.sub(amount, real)
    bonus = min(wallet.bonus, amount)
    return money.sub(amount, bonus), bonus


def split_win(
    amount: Decimal, real_bet: Decimal, bonus_bet: Decimal, default: PaysInto = "real"
) -> tuple[Decimal, Decimal]:
    """Split a win in proportion to how the round's bets were funded.

    A round funded only by real money pays real; only by bonus pays bonus; a mixed round
    pays ``amount * bonus_bet / total_bet`` (rounded down to 1e-10) into bonus and the rest
    into real, so the parts always add up to the amount exactly.  With no bet (free rounds,
    tournament payouts) the win goes where ``default`` says.
    """
    total = money.add(real_bet, bonus_bet)
    if total.is_zero():
        return (amount, money.ZERO) if default == "real" else (money.ZERO, amount)
    bonus = money.proportion(amount, bonus_bet, total)
    return money.sub(amount, bonus), bonus


def game_mode(wallet: Wallet, order: DebitOrder) -> int:
    """1 = the next bet is funded by real money, 2 = by bonus money."""
    if order == "bonus_money" and wallet.bonus > 0:
        return 2
    if wallet.real <= 0 and wallet.bonus > 0:
        return 2
    return 1
