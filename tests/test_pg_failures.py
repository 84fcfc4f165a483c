"""PostgreSQL failure behaviour through the real HTTP app.

* backend connections killed while wagers are in flight: every reply is 200 or code 1
  (never a 5xx, never a business refusal), the service recovers by itself, the books add up,
  and every acknowledged wager is really there;
* the database refusing connections: ``/readyz`` 503 and wagers code 1; back: ready again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.jsonout import loads
from tests import pgutil
from tests.conftest import ADMIN_TOKEN
from wallet_store.audit import run_audit
from wallet_store.postgres.store import PostgresStore

pytestmark = pytest.mark.postgres

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
IN_FLIGHT = 120


@pytest_asyncio.fixture
async def own_db() -> AsyncIterator[str]:
    """A database of this test's own, so terminating its backends touches nobody else."""
    dsn = await pgutil.create_run_database()
    try:
        yield dsn
    finally:
        await _allow_connections(dsn, True)
        await pgutil.drop_database(dsn)


async def _allow_connections(dsn: str, allow: bool) -> None:
    conn = await asyncpg.connect(pgutil.PG_ADMIN_DSN, timeout=5)
    try:
        name = pgutil.database_name(dsn).replace('"', '""')
        await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allow else "false"}')
    finally:
        await conn.close()


async def _terminate_backends(dsn: str) -> int:
    """Kill every other backend of the database (from a connection to that database)."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return len(rows)
    finally:
        await conn.close()


async def _terminate_from_outside(dsn: str) -> None:
    conn = await asyncpg.connect(pgutil.PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            pgutil.database_name(dsn),
        )
    finally:
        await conn.close()


async def _make_client(aiohttp_client: Any, tmp_path: Path, dsn: str) -> tuple[TestClient, PostgresStore]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", admin_token=SecretStr(ADMIN_TOKEN))
    store = PostgresStore(dsn, schema=pgutil.new_schema_name(), min_size=1, max_size=8, connect_timeout=2.0)
    client: TestClient = await aiohttp_client(create_app(settings, store=store))
    return client, store


async def _admin(client: TestClient, method: str, path: str, body: Any) -> Any:
    resp = await client.request(method, path, json=body, headers=AUTH)
    text = await resp.text()
    assert resp.status == 201, f"{resp.status}: {text}"  # every call here creates
    return loads(text)


async def _seed(client: TestClient, real: str = "1000") -> dict[str, str]:
    await _admin(client, "POST", "/admin/operators", {"operator_id": "11", "name": "Casino 11", "currency": "EUR"})
    await _admin(
        client,
        "POST",
        "/admin/players",
        {
            "operator_id": "11",
            "account_id": "8001",
            "name": "Player 8001",
            "email": "p8001@example.com",
            "country": "MT",
            "city": "Valletta",
            "real_balance": real,
            "bonus_balance": "0",
        },
    )
    s = await _admin(client, "POST", "/admin/sessions", {"account_id": "8001"})
    return {"accountid": "8001", "gamesessionid": str(s["gamesessionid"]), "device": "desktop", "apiversion": "1.2"}


async def _groove(client: TestClient, request: str, **params: str) -> dict[str, Any]:
    resp = await client.get("/groove?" + urlencode({"request": request, **params}))
    text = await resp.text()
    assert resp.status == 200, f"HTTP {resp.status}: {text}"  # never a 5xx
    body: dict[str, Any] = loads(text)
    return body


def _wager(common: dict[str, str], n: int) -> dict[str, str]:
    return {**common, "gameid": "80102", "roundid": f"r-{n}", "transactionid": f"w-{n}", "betamount": "1"}


class _KillPoints:
    """Barriers in the store's units of work: per round, the first unit to start inside its
    database transaction waits there until the test has killed the backends (so a wager is
    certainly in flight at each kill, and a later round's unit proves the pool reconnected)."""

    def __init__(self, store: PostgresStore, rounds: int) -> None:
        self.entered = [asyncio.Event() for _ in range(rounds)]
        self.released = [asyncio.Event() for _ in range(rounds)]
        self.round = 0
        real_write = store.write

        async def write(unit: Any) -> Any:
            async def held(tx: Any) -> Any:
                i = self.round
                if i < len(self.entered) and not self.entered[i].is_set():
                    self.entered[i].set()
                    await self.released[i].wait()
                return await unit(tx)

            return await real_write(held)

        store.write = write  # type: ignore[method-assign]

    def release(self, i: int) -> None:
        self.round = i + 1
        self.released[i].set()


async def test_connections_killed_mid_flight(aiohttp_client: Any, tmp_path: Path, own_db: str) -> None:
    client, store = await _make_client(aiohttp_client, tmp_path, own_db)
    common = await _seed(client)

    points = _KillPoints(store, rounds=3)
    flight = asyncio.ensure_future(
        asyncio.gather(*(_groove(client, "wager", **_wager(common, i)) for i in range(IN_FLIGHT)))
    )
    kills = 0
    for i in range(3):
        entered = asyncio.ensure_future(points.entered[i].wait())
        await asyncio.wait({flight, entered}, return_when=asyncio.FIRST_COMPLETED)
        if not entered.done():  # every wager answered before another reached the database
            entered.cancel()
            break
        kills += await _terminate_backends(own_db)  # a wager is waiting inside its transaction
        points.release(i)
    replies = await flight
    assert kills > 0

    codes = [int(r["code"]) for r in replies]
    assert set(codes) <= {200, 1}, codes
    assert 1 in codes, "no wager was in flight when the connections were killed"
    for r in replies:
        if r["code"] == 1:
            assert r["status"] == "Technical error", r

    # recovered by itself: a new wager goes through
    fresh = await _groove(client, "wager", **_wager(common, 10_000))
    assert fresh["code"] == 200, fresh

    # every acknowledged wager is there (its replay answers the same id); every code-1 wager
    # either never happened (a retry now applies it) or happened once (a replay).
    applied = 1
    for i, r in enumerate(replies):
        again = await _groove(client, "wager", **_wager(common, i))
        assert again["code"] == 200, again
        if r["code"] == 200:
            assert again["status"] == "Success - duplicate request", again
            assert again["accounttransactionid"] == r["accounttransactionid"]
        applied += 1
    bal = await _groove(client, "getbalance", **common, nogsgameid="80102")
    assert Decimal(bal["real_balance"]) == Decimal(1000 - applied)

    report = await run_audit(store)
    assert report.ok, report.text()
    debits = [e async for e in store.journal("8001") if e.real_delta < 0]
    assert len(debits) == applied


async def test_database_refusing_connections(aiohttp_client: Any, tmp_path: Path, own_db: str) -> None:
    client, store = await _make_client(aiohttp_client, tmp_path, own_db)
    common = await _seed(client)
    assert (await client.get("/readyz")).status == 200
    assert (await _groove(client, "wager", **_wager(common, 1)))["code"] == 200

    try:
        await _allow_connections(own_db, False)
        await _terminate_from_outside(own_db)

        resp = await client.get("/readyz")
        assert resp.status == 503, await resp.text()
        down = await _groove(client, "wager", **_wager(common, 2))
        assert down["code"] == 1, down
        assert down["status"] == "Technical error", down
        assert (await _groove(client, "getbalance", **common, nogsgameid="80102"))["code"] == 1
    finally:
        await _allow_connections(own_db, True)

    resp = await client.get("/readyz")
    assert resp.status == 200, await resp.text()
    up = await _groove(client, "wager", **_wager(common, 2))  # the refused wager was not remembered
    assert up["code"] == 200, up
    assert up["status"] == "Success", up
    bal = await _groove(client, "getbalance", **common, nogsgameid="80102")
    assert Decimal(bal["real_balance"]) == Decimal(998)
    report = await run_audit(store)
    assert report.ok, report.text()
