"""What the storage contract tests share: values at the edges, builders and checks."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg

from tests import pgutil
from wallet_store import money
from wallet_store.model import Operator, Player, Wallet

D = money.parse
BIG = D("9999999999999999999999.9999999999")
TINY = D("0.0000000001")
ZERO = money.ZERO
T0 = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
T_LATE = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
T_EARLY = datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
T_IST = datetime(2024, 3, 1, 5, 29, 59, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))

# Byte order (SQLite, COLLATE "C"): "B" < "Z" < "a1" < "b"; en-US would give a1, b, B, Z.
MIXED_CASE_ACCOUNTS = ["b", "Z", "B", "a1"]


class RunDatabase:
    """This session's PostgreSQL database, created on first use."""

    def __init__(self) -> None:
        self.url: str | None = None

    async def dsn(self) -> str:
        if self.url is None:
            self.url = await pgutil.create_run_database()
        return self.url


# --- helpers ----------------------------------------------------------------------------


def assert_same(expected: Any, got: Any) -> None:
    """Equal, and every returned amount has 10 places and every timestamp is UTC."""
    assert got == expected
    assert type(got) is type(expected)
    for f in dataclasses.fields(got):
        v = getattr(got, f.name)
        if isinstance(v, Decimal):
            assert v.as_tuple().exponent == -10, (f.name, v)
            assert v.is_signed() == (v < 0), (f.name, v)  # no negative zero
        elif isinstance(v, datetime):
            assert v.utcoffset() == timedelta(0), (f.name, v)
        elif isinstance(v, tuple):
            assert all(isinstance(x, str) for x in v)


def make_operator(operator_id: str = "op1", **kw: Any) -> Operator:
    base: dict[str, Any] = {"name": "Operator One", "currency": "EUR", "created_at": T0}
    base.update(kw)
    return Operator(operator_id=operator_id, **base)


def make_player(account_id: str = "p1", operator_id: str = "op1", **kw: Any) -> Player:
    base: dict[str, Any] = {
        "name": "Player",
        "email": None,
        "country": "MT",
        "city": "Valletta",
        "currency": "EUR",
        "status": "active",
        "created_at": T0,
    }
    base.update(kw)
    return Player(account_id=account_id, operator_id=operator_id, **base)


async def seed(store: Any, accounts: list[str], *, real: Decimal = ZERO, currency: str = "EUR") -> None:
    async def unit(tx: Any) -> None:
        if await tx.get_operator("op1") is None:
            await tx.insert_operator(make_operator())
        for acc in accounts:
            await tx.insert_player(make_player(acc))
            await tx.insert_wallet(Wallet(account_id=acc, currency=currency, real=real))

    await store.write(unit)


async def collect(it: AsyncIterator[Any]) -> list[Any]:
    return [x async for x in it]


async def get_wallet(store: Any, account_id: str, currency: str = "EUR") -> Wallet:
    async def unit(tx: Any) -> Wallet | None:
        w: Wallet | None = await tx.get_wallet(account_id, currency)
        return w

    w = await store.read(unit)
    assert w is not None
    return w


DRIVER_INTEGRITY_ERRORS = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)
