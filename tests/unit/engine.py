"""Plain values for the engine's unit tests: players, currencies, wallets (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from wallet_store.model import Currency, DebitOrder, Operator, Player, PlayerStatus, Wallet, move

D = Decimal
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
OP = "op1"


def operator(order: DebitOrder = "cash_money") -> Operator:
    return Operator(OP, "Operator", "EUR", debit_order=order, created_at=NOW)


def player(account_id: str = "p1", email: str | None = "p1@example.com", status: PlayerStatus = "active") -> Player:
    return Player(account_id, OP, "Player", email, "MT", "Valletta", "EUR", status, NOW)


def currency(code: str = "EUR", rate: str | None = "1", name: str | None = None) -> Currency:
    return Currency(OP, code, 1, name or code, code, None if rate is None else D(rate), D(0), NOW, NOW)


def wallet(real: str = "0", bonus: str = "0", account_id: str = "p1", code: str = "EUR") -> Wallet:
    w = Wallet(account_id=account_id, currency=code, updated_at=NOW)
    if D(real) or D(bonus):
        w, _ = move(w, kind="initial", real=D(real), bonus=D(bonus), reference="initial", now=NOW)
    return w
