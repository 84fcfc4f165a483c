"""How the PostgreSQL backend stores a value (the only difference from SQLite's row mapping), the
row mappers built with it, and the driver errors the backend maps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from ..money import check
from ..sql.params import params as build_params
from ..sql.rows import Codec, rows

# Re-run the unit of work on these (a concurrent transaction won; the re-run sees it).
_RETRYABLE: tuple[type[BaseException], ...] = (
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.UniqueViolationError,
)
# Anything the driver or the network can raise: the store could not do its job.
_DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)


# --- value conversion ------------------------------------------------------------------


def _ts(v: datetime) -> datetime:
    """A timestamp to the database, interpreted as SQLite's ``iso()`` does (naive = local)."""
    return v.astimezone(UTC)


def _tso(v: datetime | None) -> datetime | None:
    return None if v is None else v.astimezone(UTC)


def _td(v: Any) -> datetime:
    """A timestamptz from asyncpg (aware) as an aware UTC datetime."""
    ts: datetime = v
    return ts.astimezone(UTC)


def _networks_in(v: Any) -> tuple[str, ...]:
    return tuple(x for x in v if x)


# How PostgreSQL stores a value: money as NUMERIC (quantized, range-checked both ways:
# exactly what SQLite stores), timestamps as timestamptz, networks as text[]; the row
# mapping itself is shared with SQLite (wallet_store.sql).
CODEC = Codec(money_in=check, money_out=check, ts_in=_td, ts_out=_ts, networks_in=_networks_in, networks_out=list)
ROWS = rows(CODEC)
PARAMS = build_params(CODEC)


def _count(status: str) -> int:
    """Row count of an asyncpg command status (``"UPDATE 1"``)."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0
