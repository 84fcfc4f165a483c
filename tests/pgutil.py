"""PostgreSQL helpers for tests: one throw-away database per test run, one schema per test.

``GW_TEST_PG_DSN`` points at an existing database the tests may connect to as a role
allowed to CREATE/DROP DATABASE (default: the ``postgres`` database every server has, as
the ``postgres`` role on 127.0.0.1:5432). Nothing else needs to exist beforehand.
"""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import asyncpg

PG_ADMIN_DSN = os.environ.get("GW_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
_CONNECT_TIMEOUT = 5.0


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def database_name(dsn: str) -> str:
    name = urlsplit(dsn).path.lstrip("/")
    if not name:
        raise ValueError(f"no database name in {dsn!r}")
    return name


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(PG_ADMIN_DSN, timeout=_CONNECT_TIMEOUT)


async def create_run_database() -> str:
    """Create a uniquely named database for this test run and return its DSN.

    Its default collation is ICU ``en-US`` when the server has ICU, so that any ORDER BY
    relying on the default collation instead of byte order shows up as a test failure.
    """
    name = f"gw_test_{os.getpid()}_{secrets.token_hex(4)}"
    conn = await _admin()
    try:
        try:
            await conn.execute(
                f"CREATE DATABASE {_quote(name)} TEMPLATE template0 ENCODING 'UTF8'"
                " LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
            )
        except (asyncpg.PostgresSyntaxError, asyncpg.FeatureNotSupportedError, asyncpg.InvalidParameterValueError):
            await conn.execute(f"CREATE DATABASE {_quote(name)}")  # server without ICU (or older than 15)
    finally:
        await conn.close()
    return _with_database(PG_ADMIN_DSN, name)


async def drop_database(dsn: str) -> None:
    """Terminate every connection to the database, then drop it."""
    name = database_name(dsn)
    if name == database_name(PG_ADMIN_DSN):
        raise ValueError("refusing to drop the admin database")
    conn = await _admin()
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
    finally:
        await conn.close()


def new_schema_name() -> str:
    return f"t_{secrets.token_hex(6)}"
