"""Multi-currency, conversion, external identities, history filters and analytics, through HTTP on both backends."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import Api, FakeClock
from tests.test_rest_api import PB, Rest, audit_ok, new_game


@pytest.fixture
async def rest(api: Api, client: TestClient) -> Rest:
    """Operator 11 (EUR, GOLD at 0.25 USD, GEMS at 2 USD); player 1001 with real 100 / bonus 50 EUR."""
    await api.operator("11")
    await api.admin("PUT", "/admin/operators/11/currencies/EUR", {"name": "Euro", "symbol": "€", "usd_rate": "1.08"})
    await api.admin(
        "PUT",
        "/admin/operators/11/currencies/GOLD",
        {"name": "Gold Coins", "symbol": "GC", "usd_rate": "0.25", "start_amount": "1000"},
        expect=201,
    )
    await api.admin(
        "PUT", "/admin/operators/11/currencies/GEMS", {"name": "Premium Gems", "symbol": "PG", "usd_rate": "2"}
    )
    await api.player("1001")
    return Rest(client, await new_game(api, "11", "g1"))


def convert(amount: Any = "100", key: str = "c1", **kw: Any) -> dict[str, Any]:
    body = {"player_id": "1001", "from_currency": "GOLD", "to_currency": "GEMS", "amount": amount}
    return body | {"idempotency_key": key} | kw


# --------------------------------------------------------------------------- admin: currencies and rates


async def test_operator_gets_its_primary_currency_and_admin_manages_the_list(api: Api, client: TestClient) -> None:
    await api.operator("11")
    body = await api.admin("GET", "/admin/operators/11/currencies", expect=200)
    assert [(c["code"], c["currency_id"], c["usd_rate"]) for c in body["currencies"]] == [("EUR", 1, None)]
    created = await api.admin(
        "PUT", "/admin/operators/11/currencies/GOLD", {"name": "Gold Coins", "symbol": "GC"}, expect=201
    )
    assert (created["currency_id"], created["name"], created["symbol"], created["usd_rate"]) == (
        2,
        "Gold Coins",
        "GC",
        None,
    )
    # an update keeps what it does not name
    updated = await api.admin("PUT", "/admin/operators/11/currencies/GOLD", {"usd_rate": "0.25"}, expect=200)
    assert (updated["currency_id"], updated["name"], updated["usd_rate"]) == (2, "Gold Coins", "0.25")


async def test_rate_changes_are_kept_in_history(api: Api, client: TestClient, clock: FakeClock) -> None:
    await api.operator("11")
    await api.admin("PUT", "/admin/operators/11/currencies/GOLD", {"usd_rate": "0.25", "note": "launch"}, expect=201)
    clock.advance(days=1)
    await api.admin("PUT", "/admin/operators/11/currencies/GOLD", {"name": "Gold"}, expect=200)  # no rate change
    await api.admin("PUT", "/admin/operators/11/currencies/GOLD", {"usd_rate": "0.3", "note": "q2"}, expect=200)
    clock.advance(days=1)
    await api.admin("PUT", "/admin/operators/11/currencies/GOLD", {"usd_rate": None}, expect=200)
    body = await api.admin("GET", "/admin/operators/11/currencies/GOLD/rates", expect=200)
    assert [(h["usd_rate"], h["note"], h["set_at"][:10]) for h in body["history"]] == [
        ("0.25", "launch", "2026-01-15"),
        ("0.3", "q2", "2026-01-16"),
        (None, "", "2026-01-17"),
    ]
    assert body["usd_rate"] is None


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/admin/operators/11/currencies/gold", {}, 400),
        ("/admin/operators/11/currencies/GOLD", {"usd_rate": "0"}, 400),
        ("/admin/operators/11/currencies/GOLD", {"usd_rate": "-1"}, 400),
        ("/admin/operators/11/currencies/GOLD", {"start_amount": "-5"}, 400),
        ("/admin/operators/11/currencies/GOLD", {"name": "x" * 201}, 400),
        ("/admin/operators/11/currencies/GOLD", {"colour": "gold"}, 400),
        ("/admin/operators/99/currencies/GOLD", {}, 404),
    ],
)
async def test_bad_currency_requests_change_nothing(
    api: Api, client: TestClient, path: str, body: Any, status: int
) -> None:
    await api.operator("11")
    resp = await client.put(path, json=body, headers=api.auth)
    assert resp.status == status, await resp.text()
    listed = await api.admin("GET", "/admin/operators/11/currencies", expect=200)
    assert [c["code"] for c in listed["currencies"]] == ["EUR"]


async def test_admin_routes_need_the_token(client: TestClient) -> None:
    resp = await client.put("/admin/operators/11/currencies/GOLD", json={})
    assert resp.status == 401


# --------------------------------------------------------------------------- balances: ids, names, USD value


async def test_new_player_gets_starting_amounts_and_balances_show_currencies(rest: Rest) -> None:
    status, body = await rest.pb("GET", "/player/1001")
    assert status == 200
    assert [
        (b["currency_id"], b["currency_code"], b["currency_name"], b["currency_symbol"], b["available_balance"])
        for b in body["balances"]
    ] == [(1, "EUR", "Euro", "€", "150.00"), (2, "GOLD", "Gold Coins", "GC", "1000.00")]
    # 150 EUR x 1.08 + 1000 GOLD x 0.25 = 162 + 250
    assert body["summary"]["total_value_usd"] == "412.00"
    assert body["summary"]["total_currencies"] == 2


async def test_usd_value_is_null_when_a_funded_currency_has_no_rate(api: Api, rest: Rest) -> None:
    await api.admin("PUT", "/admin/operators/11/currencies/GOLD", {"usd_rate": None}, expect=200)
    _, body = await rest.pb("GET", "/player/1001")
    assert body["summary"]["total_value_usd"] is None
    _, batch = await rest.pb("POST", "/batch", {"player_ids": ["1001"], "include_summary": True})
    assert batch["players"][0]["total_value_usd"] is None
    assert batch["summary"]["total_value_usd"] is None


async def test_batch_reports_usd_values(api: Api, rest: Rest) -> None:
    await api.player("1002", real="10", bonus="0")
    status, body = await rest.pb(
        "POST", "/batch", {"player_emails": ["p1001@example.com", "p1002@example.com"], "include_summary": True}
    )
    assert status == 200
    assert [p["total_value_usd"] for p in body["players"]] == ["412.00", "260.80"]
    assert body["summary"]["total_value_usd"] == "672.80"


async def test_game_lists_its_operators_currencies(rest: Rest) -> None:
    status, body = await rest.pb("GET", "/currencies")
    assert status == 200
    assert [(c["currency_id"], c["currency_code"], c["usd_rate"]) for c in body["currencies"]] == [
        (1, "EUR", "1.08"),
        (2, "GOLD", "0.25"),
        (3, "GEMS", "2"),
    ]


# --------------------------------------------------------------------------- conversion


async def test_convert_moves_value_atomically_at_the_current_rate(rest: Rest, make_store: Any) -> None:
    status, body = await rest.pb("POST", "/convert", convert("100"))
    assert status == 200, body
    # 100 GOLD x 0.25 / 2 = 12.5 GEMS
    assert body["from"]["amount"] == "100.00"
    assert body["from"]["available_balance"] == "900.00"
    assert body["to"]["amount"] == "12.50"
    assert body["to"]["available_balance"] == "12.50"
    assert (body["new_balance"], body["currency_name"]) == ("12.50", "Premium Gems")
    _, view = await rest.pb("GET", "/player/1001")
    assert {b["currency_code"]: b["available_balance"] for b in view["balances"]} == {
        "EUR": "150.00",
        "GOLD": "900.00",
        "GEMS": "12.50",
    }
    await audit_ok(make_store)


async def test_convert_rounds_down_to_the_quantum(api: Api, rest: Rest) -> None:
    await api.admin("PUT", "/admin/operators/11/currencies/GEMS", {"usd_rate": "3"}, expect=200)
    status, body = await rest.pb("POST", "/convert", convert("1"))
    assert status == 200
    assert Decimal(body["to"]["amount"]) == Decimal("0.0833333333")  # 0.25 / 3, rounded down


async def test_convert_replay_and_conflict(rest: Rest) -> None:
    s1, first, h1 = await rest.call("POST", f"{PB}/convert", convert("100"))
    s2, again, h2 = await rest.call("POST", f"{PB}/convert", convert("100"))
    assert (s1, s2) == (200, 200)
    assert first == again
    assert (h1["Idempotent-Replayed"], h2["Idempotent-Replayed"]) == ("false", "true")
    s3, conflict = await rest.pb("POST", "/convert", convert("101"))
    assert s3 == 409
    assert "idempotency key" in conflict["error"]
    _, view = await rest.pb("GET", "/player/1001")
    assert {b["currency_code"]: b["available_balance"] for b in view["balances"]}["GOLD"] == "900.00"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (convert("1000.01"), 422, "insufficient funds"),
        (convert("10", to_currency="GOLD"), 400, "must differ"),
        (convert("10", to_currency="USD"), 400, "not offered"),
        (convert("0"), 400, "greater than zero"),
        (convert("10", player_id="9999"), 404, "not found"),
        (convert("0.0000000001", from_currency="GOLD", to_currency="EUR"), 400, "converts to nothing"),
    ],
)
async def test_convert_refusals_change_nothing(
    rest: Rest, make_store: Any, body: dict[str, Any], status: int, words: str
) -> None:
    s, reply = await rest.pb("POST", "/convert", body)
    assert s == status, reply
    assert words in reply["error"]
    _, view = await rest.pb("GET", "/player/1001")
    assert {b["currency_code"]: b["available_balance"] for b in view["balances"]} == {
        "EUR": "150.00",
        "GOLD": "1000.00",
    }
    await audit_ok(make_store)


async def test_convert_without_a_rate_is_refused(api: Api, rest: Rest) -> None:
    await api.admin("PUT", "/admin/operators/11/currencies/GEMS", {"usd_rate": None}, expect=200)
    status, body = await rest.pb("POST", "/convert", convert("10"))
    assert status == 400
    assert "no exchange rate" in body["error"]


async def test_convert_of_another_operators_player_is_404(api: Api, rest: Rest) -> None:
    await api.operator("22")
    await api.player("2001", operator_id="22")
    status, _ = await rest.pb("POST", "/convert", convert("10", player_id="2001"))
    assert status == 404


# --------------------------------------------------------------------------- history filters and analytics


async def _play(api: Api, clock: FakeClock) -> None:
    """Two days of play for 1001 through /groove: day 1 wager 10 win 4, day 2 wager 20 wager 5."""
    sid = await api.session("1001", game_id="slot1")
    base = {"accountid": "1001", "gamesessionid": sid, "device": "desktop", "apiversion": "1.2", "gameid": "slot1"}
    assert (await api.groove("wager", **base, betamount="10", roundid="r1", transactionid="w1"))["code"] == 200
    await api.groove("result", **base, result="4", roundid="r1", transactionid="x1", gamestatus="completed")
    clock.advance(days=1)
    base["gamesessionid"] = await api.session("1001", game_id="slot1")
    await api.groove("wager", **base, betamount="20", roundid="r2", transactionid="w2")
    assert (await api.groove("wager", **base, betamount="5", roundid="r3", transactionid="w3"))["code"] == 200


async def test_history_filters_by_type_and_time_and_pages(api: Api, rest: Rest, clock: FakeClock) -> None:
    await _play(api, clock)
    status, body = await rest.pb("GET", "/player/1001/history?currency=EUR")
    assert status == 200
    assert [(t["kind"], t["type"], t["amount"]) for t in body["transactions"]] == [
        ("wager", "debit", "5.00"),
        ("wager", "debit", "20.00"),
        ("result", "credit", "4.00"),
        ("wager", "debit", "10.00"),
        ("initial", "credit", "150.00"),
    ]
    assert body["total"] == 5
    assert body["balance"]["available_balance"] == "119.00"
    _, debits = await rest.pb("GET", "/player/1001/history?currency=EUR&type=debit&limit=2&page=2")
    assert (debits["total"], [t["amount"] for t in debits["transactions"]]) == (3, ["10.00"])
    _, day2 = await rest.pb("GET", "/player/1001/history?currency=EUR&from=2026-01-16T00:00:00Z")
    assert [t["amount"] for t in day2["transactions"]] == ["5.00", "20.00"]
    _, day1 = await rest.pb(
        "GET", "/player/1001/history?currency=EUR&from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z&type=credit"
    )
    assert [t["amount"] for t in day1["transactions"]] == ["4.00", "150.00"]
    first = day1["transactions"][0]
    assert (first["balance_before"], first["balance_after"]) == ("140.00", "144.00")


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?currency=eur",
        "?currency=EUR&type=refund",
        "?currency=EUR&from=yesterday",
        "?currency=EUR&from=2026-01-16T00:00:00",  # no timezone
        "?currency=EUR&from=2026-01-16T00:00:00Z&to=2026-01-15T00:00:00Z",
        "?currency=EUR&limit=101",
        "?currency=EUR&page=0",
    ],
)
async def test_history_bad_queries_are_400(rest: Rest, query: str) -> None:
    status, body = await rest.pb("GET", "/player/1001/history" + query)
    assert status == 400, body
    assert body["error"]


async def test_history_of_a_missing_wallet_or_other_operator_is_404(api: Api, rest: Rest) -> None:
    status, _ = await rest.pb("GET", "/player/1001/history?currency=GEMS")
    assert status == 404
    await api.operator("22")
    await api.player("2001", operator_id="22")
    status, _ = await rest.pb("GET", "/player/2001/history?currency=EUR")
    assert status == 404


async def test_private_history_filters_by_time(api: Api, rest: Rest, clock: FakeClock) -> None:
    await _play(api, clock)
    status, body = await rest.pw("GET", "/1001/wallets/EUR/transactions?type=debit&from=2026-01-16T00:00:00Z")
    assert status == 200
    assert [t["amount"] for t in body["data"]["transactions"]] == [Decimal("5"), Decimal("20")]
    assert body["data"]["total"] == 2


async def test_analytics_per_day_with_categories_and_trend(api: Api, rest: Rest, clock: FakeClock) -> None:
    await _play(api, clock)
    status, body = await rest.pb(
        "GET", "/player/1001/analytics?period=day&currency=EUR&from=2026-01-15T00:00:00Z&to=2026-01-17T00:00:00Z"
    )
    assert status == 200, body
    (eur,) = body["currencies"]
    assert (eur["currency_code"], eur["spend"], eur["wins"]) == ("EUR", "35.00", "4.00")
    assert eur["credits"] == "154.00"  # the opening balance and the win
    assert [(b["start"][:10], b["spend"], b["wins"]) for b in eur["buckets"]] == [
        ("2026-01-15", "10.00", "4.00"),
        ("2026-01-16", "25.00", "0.00"),
    ]
    assert eur["top_spend_categories"] == [{"category": "wager", "amount": "35.00", "count": 3}]
    # the previous period (13th-15th) had no play
    assert eur["trend"]["spend"] == {"current": "35.00", "previous": "0.00", "change": "35.00", "change_percent": None}

    # day 2 against day 1: spend 25 vs 10
    _, d2 = await rest.pb(
        "GET", "/player/1001/analytics?currency=EUR&from=2026-01-16T00:00:00Z&to=2026-01-17T00:00:00Z"
    )
    assert d2["currencies"][0]["trend"]["spend"] == {
        "current": "25.00",
        "previous": "10.00",
        "change": "15.00",
        "change_percent": "150.00",
    }


async def test_analytics_weekly_buckets_and_bad_periods(api: Api, rest: Rest, clock: FakeClock) -> None:
    await _play(api, clock)
    status, body = await rest.pb(
        "GET", "/player/1001/analytics?period=week&from=2026-01-12T00:00:00Z&to=2026-01-19T00:00:00Z"
    )
    assert status == 200
    eur = next(c for c in body["currencies"] if c["currency_code"] == "EUR")
    assert eur["buckets"][0] == {
        "start": "2026-01-12T00:00:00.000000Z",
        "spend": "35.00",
        "wins": "4.00",
        "credits": "154.00",
    }
    for q in ("?period=month", "?from=2020-01-01T00:00:00Z", "?from=2026-01-17T00:00:00Z&to=2026-01-16T00:00:00Z"):
        s, _ = await rest.pb("GET", "/player/1001/analytics" + q)
        assert s == 400, q


# --------------------------------------------------------------------------- external identities


async def test_private_api_resolves_registered_external_identities(api: Api, rest: Rest, make_store: Any) -> None:
    await api.admin(
        "POST", "/admin/operators/11/identities", {"identity": "user-42@site", "account_id": "1001"}, expect=201
    )
    status, body = await rest.pw("GET", "/user-42@site/wallets/balance")
    assert status == 200
    assert {d["currency_code"]: d["balance"] for d in body["data"]} == {"EUR": Decimal("150"), "GOLD": Decimal("1000")}
    assert body["data"][0]["currency_name"] == "Euro"
    status, body = await rest.pw(
        "POST",
        "/user-42@site/wallet/EUR/transactions",
        {"currency": "EUR", "amount": 5, "type": "debit", "idempotencyKey": "i1"},
    )
    assert status == 200
    assert (body["data"]["user_identity"], body["data"]["balance_after"]) == ("user-42@site", Decimal("145"))
    assert await api.balances("1001") == (Decimal("95"), Decimal("50"))
    # the same identity again for the same player is fine; for another player a conflict
    await api.admin(
        "POST", "/admin/operators/11/identities", {"identity": "user-42@site", "account_id": "1001"}, expect=201
    )
    await api.player("1002")
    await api.admin(
        "POST", "/admin/operators/11/identities", {"identity": "user-42@site", "account_id": "1002"}, expect=409
    )
    await audit_ok(make_store)


async def test_identities_are_per_operator(api: Api, rest: Rest) -> None:
    await api.operator("22")
    await api.player("2001", operator_id="22")
    # operator 11 cannot map an identity to operator 22's player
    await api.admin("POST", "/admin/operators/11/identities", {"identity": "ext1", "account_id": "2001"}, expect=404)
    await api.admin("POST", "/admin/operators/22/identities", {"identity": "ext1", "account_id": "2001"}, expect=201)
    status, _ = await rest.pw("GET", "/ext1/wallets/balance")  # game of operator 11
    assert status == 400  # unknown identity: the private API's spec lists no 404
    status, _ = await rest.pw("GET", "/bad identity/wallets/balance")
    assert status == 400


# --------------------------------------------------------------------------- schema version 3 on existing data

_V2_ROWS_SQLITE = [
    "INSERT INTO operators VALUES ('11', 'Casino', 'EUR', 'cash_money', NULL, '', '{z}', '{z}', '{t}')",
    "INSERT INTO players VALUES ('1001', '11', 'P', NULL, NULL, 'MT', 'V', 'EUR', 'active', '{t}', NULL)",
    "INSERT INTO wallets VALUES ('1001', 'EUR', '{z}', '{z}', '{z}', 0, '{g}', '{t}')",
    "INSERT INTO wallets VALUES ('1001', 'GBP', '{z}', '{z}', '{z}', 0, '{g}', '{t}')",
]


async def _check_backfill(store: Any) -> None:
    from wallet_store.ports import Tx

    async def unit(tx: Tx) -> list[tuple[str, int]]:
        return [(c.code, c.currency_id) for c in await tx.list_currencies("11")]

    await store.open()
    try:
        assert await store.read(unit) == [("EUR", 1), ("GBP", 2)]
    finally:
        await store.close()


async def test_version_3_registers_existing_currencies_sqlite(tmp_path: Any) -> None:
    import sqlite3

    from wallet_store import money
    from wallet_store.model import GENESIS_HASH
    from wallet_store.sqlite.migrations import MIGRATIONS
    from wallet_store.sqlite.store import SqliteStore

    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for version, sql in MIGRATIONS[:2]:
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_migrations VALUES (?, '2026-01-01T00:00:00Z')", (version,))
    fill = {"z": money.to_db(money.ZERO), "t": "2026-01-01T00:00:00.000000Z", "g": GENESIS_HASH}
    for stmt in _V2_ROWS_SQLITE:
        conn.execute(stmt.format(**fill))
    conn.commit()
    conn.close()
    await _check_backfill(SqliteStore(str(path)))


@pytest.mark.postgres
async def test_version_3_registers_existing_currencies_postgres(pg_run_database: str) -> None:
    import asyncpg

    from tests import pgutil
    from wallet_store.model import GENESIS_HASH
    from wallet_store.postgres.migrations import MIGRATIONS, quote_ident
    from wallet_store.postgres.store import PostgresStore

    schema = pgutil.new_schema_name()
    conn = await asyncpg.connect(pg_run_database)
    try:
        await conn.execute(f"CREATE SCHEMA {quote_ident(schema)}; SET search_path TO {quote_ident(schema)}")
        await conn.execute(
            "CREATE TABLE schema_migrations"
            " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version, sql in MIGRATIONS[:2]:
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
        t = "'2026-01-01T00:00:00Z'"
        await conn.execute(
            f"INSERT INTO operators VALUES ('11', 'Casino', 'EUR', 'cash_money', NULL, '{{}}', 0, 0, {t});"
            f" INSERT INTO players VALUES ('1001', '11', 'P', NULL, NULL, 'MT', 'V', 'EUR', 'active', {t}, NULL);"
            f" INSERT INTO wallets VALUES ('1001', 'EUR', 0, 0, 0, 0, '{GENESIS_HASH}', {t});"
            f" INSERT INTO wallets VALUES ('1001', 'GBP', 0, 0, 0, 0, '{GENESIS_HASH}', {t})"
        )
    finally:
        await conn.close()
    await _check_backfill(PostgresStore(pg_run_database, schema=schema, min_size=1, max_size=2))
