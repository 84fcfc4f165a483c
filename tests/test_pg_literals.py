"""The SQL literals of the PostgreSQL closing message (wallet_store.postgres.literals): hostile
values round-trip exactly through the real database, as a bare literal and through the store's
deferred writes; what cannot be sent is refused before anything is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from tests import pgutil
from tests.test_pg_hot_path import T0, _rec, _seed
from wallet_store import model, money
from wallet_store.errors import StoreUnavailable
from wallet_store.postgres.literals import literal, require_standard_strings
from wallet_store.postgres.store import PostgresStore

pytestmark = pytest.mark.postgres

HOSTILE = [
    "",
    "'",
    "''",
    "'''",
    "\\",
    "\\\\",
    "\\'",
    "'\\",
    "\\x41",
    "E'\\x41'",
    "'; DROP TABLE transactions; --",
    "x'); COMMIT; DELETE FROM wallets; --",
    "$$",
    "$fn$",
    "$1",
    '"',
    '\\"',
    '"\\',
    "{a,b}",
    "{",
    "}",
    ",",
    "NULL",
    "null",
    " ",
    "\t\n\r",
    "ünïcødé \u2013 €5 💸 \u2028 \ufeff 日本語",
    "a'||'b",
    "/* */ -- ",
    ";",
    "'" * 50 + "\\" * 50,
]


@pytest_asyncio.fixture
async def conn() -> AsyncIterator[Any]:
    dsn = await pgutil.create_run_database()
    c = await asyncpg.connect(dsn, server_settings={"standard_conforming_strings": "on"})
    try:
        yield c
    finally:
        await c.close()
        await pgutil.drop_database(dsn)


@pytest_asyncio.fixture
async def store() -> AsyncIterator[PostgresStore]:
    dsn = await pgutil.create_run_database()
    s = PostgresStore(dsn, schema=pgutil.new_schema_name(), max_size=2)
    try:
        await s.open()
        await s.write(_seed)
        yield s
    finally:
        await s.close()
        await pgutil.drop_database(dsn)


async def test_hostile_strings_round_trip_as_literals(conn: Any) -> None:
    for s in HOSTILE:
        assert await conn.fetchval(f"SELECT {literal(s)}::text") == s, s
        # and nothing but one value: the literal is one expression
        assert await conn.fetchval(f"SELECT count(*) FROM (VALUES ({literal(s)}::text)) v") == 1
    # as arrays (array_in's own quoting inside the string literal), NULL elements kept
    got = await conn.fetchval(f"SELECT {literal([*HOSTILE, None])}::text[]")
    assert got == [*HOSTILE, None]
    assert await conn.fetchval(f"SELECT {literal([])}::text[]") == []


async def test_other_types_round_trip_as_literals(conn: Any) -> None:
    values: list[tuple[Any, str]] = [
        (Decimal("-12345678901234.123456"), "numeric"),
        (Decimal("1E+3"), "numeric"),
        (Decimal("0.000001"), "numeric"),
        (Decimal("-0"), "numeric"),
        (-(2**63), "bigint"),
        (2**63 - 1, "bigint"),
        (True, "boolean"),
        (False, "boolean"),
        (datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC), "timestamptz"),
        (datetime(1, 1, 2, tzinfo=UTC), "timestamptz"),
        (datetime(2024, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))), "timestamptz"),
        ([Decimal("1.5"), None, Decimal("-2")], "numeric[]"),
        ([1, 2, None], "bigint[]"),
        ([datetime(2024, 1, 1, tzinfo=UTC), None], "timestamptz[]"),
    ]
    for v, typ in values:
        got = await conn.fetchval(f"SELECT {literal(v)}::{typ}")
        assert got == v, (v, typ)
        # the same value as asyncpg's parameter (binary) path
        assert await conn.fetchval(f"SELECT {literal(v)}::{typ} IS NOT DISTINCT FROM $1::{typ}", v), (v, typ)
    # datetime.max/min: +/-infinity, as asyncpg sends them
    for edge, text in ((datetime.max, "infinity"), (datetime.min, "-infinity")):
        aware = edge.replace(tzinfo=UTC)
        assert await conn.fetchval(f"SELECT {literal(aware)}::timestamptz = $1", aware)
        assert await conn.fetchval(f"SELECT {literal(aware)}::timestamptz::text") == text
        assert await conn.fetchval(f"SELECT {literal([aware])}::timestamptz[] = ARRAY[$1::timestamptz]", aware)
    assert literal(None) == "NULL"
    assert await conn.fetchval(f"SELECT {literal(None)}::text IS NULL")


def test_datetimes_render_their_own_instant() -> None:
    """The renderer reuses the last UTC datetime's text: never for another instant, even one
    that compares equal as a wall time (a DST fold in one zone)."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    first = datetime(2024, 10, 27, 2, 30, fold=0, tzinfo=berlin)
    second = datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=berlin)
    assert first == second  # same zone: compared as wall times
    assert literal(first) == "'2024-10-27T00:30:00+00:00'"
    assert literal(second) == "'2024-10-27T01:30:00+00:00'"
    a = datetime(2024, 1, 1, tzinfo=UTC)
    assert literal(a) == "'2024-01-01T00:00:00+00:00'"
    assert literal(a + timedelta(microseconds=1)) == "'2024-01-01T00:00:00.000001+00:00'"
    assert literal(a.astimezone(berlin)) == "'2024-01-01T00:00:00+00:00'"
    assert literal(a) == "'2024-01-01T00:00:00+00:00'"


@pytest.mark.parametrize(
    "bad",
    [
        "a\x00b",
        "\ud800",
        ["ok", "a\x00"],
        [["nested"]],
        Decimal("NaN"),
        Decimal("Infinity"),
        datetime(2024, 1, 1),  # naive
        1.5,  # never a float
        b"bytes",
        object(),
        {"a": 1},
    ],
)
def test_what_cannot_be_rendered_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"NUL|surrogate|nested|non-finite|naive|no SQL literal"):
        literal(bad)


def test_literals_need_standard_conforming_strings() -> None:
    class Settings:
        standard_conforming_strings = "off"

    with pytest.raises(ValueError, match="standard_conforming_strings"):
        require_standard_strings(Settings())
    with pytest.raises(ValueError, match="standard_conforming_strings"):
        require_standard_strings(object())
    Settings.standard_conforming_strings = "on"
    with pytest.raises(ValueError, match="client_encoding"):
        require_standard_strings(Settings())
    Settings.client_encoding = "SJIS"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="client_encoding"):
        require_standard_strings(Settings())
    Settings.client_encoding = "UTF8"  # type: ignore[attr-defined]
    require_standard_strings(Settings())


async def test_hostile_strings_round_trip_through_the_deferred_writes(store: PostgresStore) -> None:
    """Every hostile string as a transaction record's text columns (insert_tx) and as journal
    references (the arrays of save_wallet), then read back by the extended protocol."""

    async def unit(tx: Any) -> model.Wallet:
        await tx.lock_player("p1")
        w = await tx.get_wallet("p1", "EUR")
        entries = []
        for i, s in enumerate(HOSTILE):
            await tx.insert_tx(_rec(transaction_id=f"h{i}:{s}", round_id=s, message=s, wallet_tx=s, extra=s))
            w, e = model.move(w, kind="wager", real=-D("0.01"), reference=s, reason=s, now=T0)
            entries.append(e)
        await tx.save_wallet(w, entries)
        return w

    w = await store.write(unit)

    async def check(tx: Any) -> None:
        for i, s in enumerate(HOSTILE):
            t = await tx.get_tx("op1", "g1", "wager", f"h{i}:{s}")
            assert (t.round_id, t.message, t.wallet_tx, t.extra) == (s, s, s, s)
        journal = await tx.list_journal("p1", "EUR")
        assert [(e.reference, e.reason) for e in journal[1:]] == [(s, s) for s in HOSTILE]
        assert journal[-1].hash == w.last_hash
        assert await tx.get_wallet("p1", "EUR") == w

    await store.read(check)
    assert await store.execute_raw("SELECT 1") == "SELECT 1"  # the tables are all still there


D = money.parse


@pytest.mark.parametrize("bad", ["a\x00b", "\udfff"])
async def test_a_value_that_cannot_be_sent_fails_the_unit_and_writes_nothing(store: PostgresStore, bad: str) -> None:
    caught: list[BaseException] = []

    async def unit(tx: Any) -> None:
        await tx.lock_player("p1")
        await tx.touch_player("p1", T0 + timedelta(days=1))
        await tx.insert_tx(_rec(transaction_id="t-bad", message=bad))
        try:
            await tx.get_player("p1")  # sends the queue: refused before anything is sent
        except StoreUnavailable as exc:
            caught.append(exc)  # swallowed: the unit still cannot commit

    with pytest.raises(StoreUnavailable, match="cannot send a value"):
        await store.write(unit)
    assert len(caught) == 1

    async def check(tx: Any) -> None:
        assert await tx.get_tx("op1", "g1", "wager", "t-bad") is None
        assert (await tx.get_player("p1")).last_active is None

    await store.read(check)

    # and at COMMIT
    async def at_commit(tx: Any) -> None:
        await tx.lock_player("p1")
        await tx.touch_player("p1", T0 + timedelta(days=1))
        await tx.insert_tx(_rec(transaction_id="t-bad", message=bad))

    with pytest.raises(StoreUnavailable, match="cannot send a value"):
        await store.write(at_commit)
    await store.read(check)
    rec = _rec(transaction_id="t-fine")
    await store.write(lambda tx: tx.insert_tx(replace(rec, message="fine")))  # the pool is fine


def test_the_inline_fast_path_renders_what_the_generic_rules_do() -> None:
    """literal() renders the exact common types inline; a subclass takes the generic path
    (isinstance, _scalar_text, _array_element): both must give the same text."""

    class S(str):
        pass

    class N(Decimal):
        pass

    for s in [*HOSTILE, "plain", ""]:
        assert literal(s) == literal(S(s)), s
        assert literal([s, None]) == literal((S(s), None)), s  # a tuple: the generic array path
    for d in (Decimal("-1.50"), Decimal("1E+3"), Decimal("0")):
        assert literal(d) == literal(N(d))
        assert literal([d, 7]) == literal((N(d), 7))
    assert literal(5) == "'5'"
    assert literal(True) == "'true'"
    assert literal([True, None]) == "'{\"true\",NULL}'"
