"""The ``store`` fixture of the storage contract: every test here runs against both backends.

The PostgreSQL runs use one database per test session (created lazily by the first
PostgreSQL test, dropped at the end of the session even on failure) and a fresh schema per
test.  Deselect them with ``-m "not postgres"``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests import pgutil
from tests.contract.support import RunDatabase
from wallet_store.postgres.store import PostgresStore
from wallet_store.sqlite.store import SqliteStore

# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def contract_pg_database() -> Iterator[RunDatabase]:
    run = RunDatabase()
    try:
        yield run
    finally:
        if run.url is not None:
            # Session teardown is synchronous and no event loop is running here.
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(pgutil.drop_database(run.url))
            finally:
                loop.close()


@pytest_asyncio.fixture
async def pg_dsn(contract_pg_database: RunDatabase) -> str:
    return await contract_pg_database.dsn()


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, contract_pg_database: RunDatabase
) -> AsyncIterator[Any]:
    s: Any
    if request.param == "sqlite":
        s = SqliteStore(str(tmp_path / "wallet.db"))
    else:
        s = PostgresStore(await contract_pg_database.dsn(), schema=pgutil.new_schema_name(), max_size=10)
    await s.open()
    try:
        yield s
    finally:
        await s.close()
