"""bench/pg_round_trips.py counts what it says on a real PostgreSQL database: the bench reports
its figures as issue 17's round-trip goal, so a miscount would misreport the goal."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests import pgutil
from wallet_store.model import GameSession, Operator, Player, Wallet
from wallet_store.postgres.store import PostgresStore

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_pg_round_trips", ROOT / "bench" / "pg_round_trips.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_pg_round_trips"] = mod
    spec.loader.exec_module(mod)
    return mod


async def _seed(dsn: str, schema: str, account: str, session: str) -> None:
    store = PostgresStore(dsn, schema=schema, min_size=1, max_size=1)
    await store.open()
    now = datetime.now(UTC)

    async def unit(tx: Any) -> None:
        await tx.insert_operator(Operator("11", "Bench", "EUR", created_at=now))
        await tx.insert_player(Player(account, "11", "P", None, "MT", "Valletta", "EUR", "active", now))
        await tx.insert_wallet(Wallet(account, "EUR", real=Decimal(10)))
        await tx.insert_session(GameSession(session, account, "11", "EUR", "80102", now, now + timedelta(hours=1)))

    try:
        await store.write(unit)
    finally:
        await store.close()


async def test_the_bench_counts_three_round_trips_per_money_request(pg_run_database: str) -> None:
    rt = _module()
    schema = pgutil.new_schema_name()
    await _seed(pg_run_database, schema, rt.ACCOUNT, rt.SESSION)
    counted = await rt.measure(pg_run_database, schema=schema)
    # after a warm pass: BEGIN, the load, then COMMIT alone (a read, a replay) or the writes
    # with COMMIT in one message (tests/test_pg_hot_path.py pins which messages those are)
    assert counted == {"getbalance": 3, "wager": 3, "wager replay": 3, "result": 3, "rollback": 3}
