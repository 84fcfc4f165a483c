"""Shared fixtures: a real server (aiohttp test server on 127.0.0.1) over a real database.

``store`` is parametrized over the backends; every HTTP test that takes ``client`` runs
against each of them.  Time is injected (``clock``), never slept.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.jsonout import loads
from wallet_store.ports import WalletStore
from wallet_store.sqlite.store import SqliteStore

ADMIN_TOKEN = "test-admin-token"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
if os.environ.get("GW_TEST_BACKENDS") == "sqlite":  # quick local runs only; CI runs both
    BACKENDS = ["sqlite"]


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.t = start or datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += timedelta(**kw)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def pg_run_database() -> Iterator[str]:
    """One PostgreSQL database per test run, dropped at the end."""
    import asyncio

    from tests import pgutil

    dsn = asyncio.run(pgutil.create_run_database())
    try:
        yield dsn
    finally:
        asyncio.run(pgutil.drop_database(dsn))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """Factory of unopened stores on this test's own database (sqlite file / pg schema)."""
    if backend == "sqlite":

        def sqlite_factory() -> WalletStore:
            return SqliteStore(str(tmp_path / "wallet.db"))

        return sqlite_factory

    from tests import pgutil
    from wallet_store.postgres.store import PostgresStore

    # Resolved here, in a synchronous fixture body, not inside a running event loop.
    dsn = request.getfixturevalue("pg_run_database")
    schema = pgutil.new_schema_name()

    def pg_factory() -> WalletStore:
        return PostgresStore(dsn, schema=schema, min_size=1, max_size=8)

    return pg_factory


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'wallet.db'}", admin_token=SecretStr(ADMIN_TOKEN))


@pytest_asyncio.fixture
async def client(aiohttp_client: Any, settings: Settings, make_store: Any, clock: FakeClock) -> TestClient:
    app = create_app(settings, store=make_store(), clock=clock)
    return await aiohttp_client(app)  # type: ignore[no-any-return]


class Api:
    """Thin helpers over the real HTTP interface; JSON numbers parsed as exact Decimals."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    async def groove(self, request: str, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
        q = {"request": request, **{k: str(v) for k, v in params.items() if v is not None}}
        resp = await self.client.get("/groove?" + urlencode(q), headers=headers or {})
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = loads(await resp.text())
        return body

    async def admin(self, method: str, path: str, body: Any = None, *, expect: int | None = None) -> Any:
        resp = await self.client.request(method, path, json=body, headers=self.auth)
        text = await resp.text()
        if expect is not None:
            assert resp.status == expect, f"{resp.status}: {text}"
        return loads(text) if text else None

    async def operator(self, operator_id: str = "11", **kw: Any) -> Any:
        body = {"operator_id": operator_id, "name": "Casino " + operator_id, "currency": "EUR", **kw}
        return await self.admin("POST", "/admin/operators", body, expect=201)

    async def player(
        self, account_id: str, operator_id: str = "11", real: str = "100", bonus: str = "50", **kw: Any
    ) -> Any:
        body = {
            "operator_id": operator_id,
            "account_id": account_id,
            "name": "Player " + account_id,
            "email": f"p{account_id}@example.com",
            "country": "MT",
            "city": "Valletta",
            "real_balance": real,
            "bonus_balance": bonus,
            **kw,
        }
        return await self.admin("POST", "/admin/players", body, expect=201)

    async def session(self, account_id: str, **kw: Any) -> str:
        body = await self.admin("POST", "/admin/sessions", {"account_id": account_id, **kw}, expect=201)
        return str(body["gamesessionid"])

    async def balances(self, account_id: str, currency: str = "EUR") -> tuple[Decimal, Decimal]:
        p = await self.admin("GET", f"/admin/players/{account_id}", expect=200)
        for w in p["wallets"]:
            if w["currency"] == currency:
                return Decimal(w["real_balance"]), Decimal(w["bonus_balance"])
        raise AssertionError(f"no {currency} wallet")


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


@pytest_asyncio.fixture
async def seeded(api: Api) -> AsyncIterator[dict[str, str]]:
    """Operator 11, player 5179068 with real 100 / bonus 50 EUR and a live session."""
    await api.operator("11")
    await api.player("5179068")
    sid = await api.session("5179068")
    yield {"accountid": "5179068", "gamesessionid": sid, "device": "desktop", "apiversion": "1.2"}
