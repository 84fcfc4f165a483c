"""The /groove read path through the real HTTP interface: getaccount and getbalance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from groove_adapter.jsonout import loads
from tests.conftest import Api, FakeClock

GETACCOUNT_FIELDS = {
    "code",
    "status",
    "apiversion",
    "accountid",
    "city",
    "country",
    "currency",
    "gamesessionid",
    "real_balance",
    "bonus_balance",
    "game_mode",
    "order",
}
GETBALANCE_FIELDS = {"code", "status", "apiversion", "balance", "real_balance", "bonus_balance", "game_mode", "order"}
ERROR_FIELDS = {"code", "status", "message", "apiversion"}

MAX_TEXT = "9999999999999999999999.9999999999"


async def raw(client: TestClient, query: str, method: str = "GET") -> dict[str, Any]:
    """Send a literal query string; /groove must answer HTTP 200 whatever happens."""
    resp = await client.request(method, "/groove?" + query)
    text = await resp.text()
    assert resp.status == 200, text
    assert resp.content_type == "application/json"
    body: dict[str, Any] = loads(text)
    return body


def assert_error(body: dict[str, Any], code: int, status: str, apiversion: str = "1.2") -> None:
    assert set(body) == ERROR_FIELDS, body
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["apiversion"] == apiversion
    assert isinstance(body["message"], str)
    assert body["message"]


async def player_state(api: Api, account_id: str) -> Any:
    return await api.admin("GET", f"/admin/players/{account_id}", expect=200)


# --------------------------------------------------------------------------- success bodies


async def test_getaccount_success_body(api: Api, seeded: dict[str, str]) -> None:
    body = await api.groove("getaccount", **seeded)
    assert set(body) == GETACCOUNT_FIELDS
    assert body == {
        "code": 200,
        "status": "Success",
        "apiversion": "1.2",
        "accountid": "5179068",
        "city": "Valletta",
        "country": "MT",
        "currency": "EUR",
        "gamesessionid": seeded["gamesessionid"],
        "real_balance": Decimal("100"),
        "bonus_balance": Decimal("50"),
        "game_mode": 1,
        "order": "cash_money",
    }


async def test_getbalance_success_body(api: Api, seeded: dict[str, str]) -> None:
    body = await api.groove("getbalance", nogsgameid="80102", **seeded)
    assert set(body) == GETBALANCE_FIELDS
    assert body == {
        "code": 200,
        "status": "Success",
        "apiversion": "1.2",
        "balance": Decimal("150"),
        "real_balance": Decimal("100"),
        "bonus_balance": Decimal("50"),
        "game_mode": 1,
        "order": "cash_money",
    }
    assert isinstance(body["game_mode"], int)


@pytest.mark.parametrize("apiversion", ["1.2", "1.0", "2.10"])
async def test_apiversion_is_echoed(api: Api, seeded: dict[str, str], apiversion: str) -> None:
    params = seeded | {"apiversion": apiversion}
    assert (await api.groove("getbalance", nogsgameid="80102", **params))["apiversion"] == apiversion
    assert (await api.groove("getaccount", **params))["apiversion"] == apiversion
    # also on errors
    bad = params | {"gamesessionid": "11_nope"}
    assert (await api.groove("getbalance", nogsgameid="80102", **bad))["apiversion"] == apiversion


async def test_exact_decimals_on_the_wire(api: Api, client: TestClient, seeded: dict[str, str]) -> None:
    await api.player("777", real="140.25", bonus="0.5", email="p777@example.com")
    sid = await api.session("777")
    resp = await client.get(
        "/groove?"
        + urlencode(
            {
                "request": "getbalance",
                "accountid": "777",
                "gamesessionid": sid,
                "device": "mobile",
                "apiversion": "1.2",
                "nogsgameid": "slot-abc",
            }
        )
    )
    text = await resp.text()
    # JSON numbers written from the Decimal's own digits, not strings, no float artefacts
    assert '"balance":140.75' in text
    assert '"real_balance":140.25' in text
    assert '"bonus_balance":0.5' in text


async def test_bonus_only_player_game_mode_2(api: Api, seeded: dict[str, str]) -> None:
    await api.player("5179069", real="0", bonus="25.5", email="b@example.com")
    sid = await api.session("5179069")
    params = seeded | {"accountid": "5179069", "gamesessionid": sid}
    body = await api.groove("getbalance", nogsgameid="80102", **params)
    assert (body["code"], body["balance"], body["real_balance"], body["bonus_balance"]) == (
        200,
        Decimal("25.5"),
        0,
        Decimal("25.5"),
    )
    assert body["game_mode"] == 2
    assert body["order"] == "cash_money"
    acct = await api.groove("getaccount", **params)
    assert (acct["game_mode"], acct["order"]) == (2, "cash_money")


async def test_bonus_money_operator_order(api: Api) -> None:
    await api.operator("22", debit_order="bonus_money")
    await api.player("2201", operator_id="22", real="10", bonus="5")
    sid = await api.session("2201")
    assert sid.startswith("22_")
    params = {"accountid": "2201", "gamesessionid": sid, "device": "desktop", "apiversion": "1.2"}
    body = await api.groove("getbalance", nogsgameid="80102", **params)
    assert (body["code"], body["order"], body["game_mode"]) == (200, "bonus_money", 2)
    acct = await api.groove("getaccount", **params)
    assert (acct["code"], acct["order"], acct["game_mode"]) == (200, "bonus_money", 2)


async def test_zero_balances(api: Api, seeded: dict[str, str]) -> None:
    await api.player("3001", real="0", bonus="0", email="z@example.com")
    sid = await api.session("3001")
    body = await api.groove("getbalance", nogsgameid="1", **(seeded | {"accountid": "3001", "gamesessionid": sid}))
    assert body["code"] == 200
    assert (body["balance"], body["real_balance"], body["bonus_balance"], body["game_mode"]) == (0, 0, 0, 1)


# --------------------------------------------------------------------------- decimal bounds


ALMOST_MAX = "9999999999999999999999.9999999998"


async def test_decimal_bounds_getaccount(api: Api, client: TestClient, seeded: dict[str, str]) -> None:
    await api.player("4001", real=ALMOST_MAX, bonus="0.0000000001", email="max@example.com")
    sid = await api.session("4001")
    params = seeded | {"accountid": "4001", "gamesessionid": sid}
    body = await api.groove("getaccount", **params)
    assert body["code"] == 200, body
    assert body["real_balance"] == Decimal(ALMOST_MAX)
    assert body["bonus_balance"] == Decimal("0.0000000001")
    resp = await client.get("/groove?" + urlencode({"request": "getaccount", **params}))
    text = await resp.text()
    assert f'"real_balance":{ALMOST_MAX}' in text
    assert '"bonus_balance":0.0000000001' in text


async def test_decimal_bounds_getbalance(api: Api, client: TestClient, seeded: dict[str, str]) -> None:
    """The smallest bonus beside a real that brings the total to the largest Decimal(32,10): all exact."""
    await api.player("4001", real=ALMOST_MAX, bonus="0.0000000001", email="max@example.com")
    sid = await api.session("4001")
    params = seeded | {"accountid": "4001", "gamesessionid": sid, "nogsgameid": "80102"}
    resp = await client.get("/groove?" + urlencode({"request": "getbalance", **params}))
    assert resp.status == 200
    text = await resp.text()
    body = loads(text)
    assert body["code"] == 200, body
    assert body["real_balance"] == Decimal(ALMOST_MAX)
    assert body["bonus_balance"] == Decimal("0.0000000001")
    assert body["balance"] == Decimal(MAX_TEXT)
    assert f'"balance":{MAX_TEXT}' in text


async def test_wallet_whose_total_would_not_fit_is_refused(api: Api, seeded: dict[str, str]) -> None:
    """real + bonus beyond Decimal(32,10) could never be reported as `balance`: refused, nothing created."""
    body = {
        "operator_id": "11",
        "account_id": "4003",
        "name": "Too Rich",
        "country": "MT",
        "city": "Valletta",
        "real_balance": MAX_TEXT,
        "bonus_balance": "0.0000000001",
    }
    err = await api.admin("POST", "/admin/players", body, expect=422)
    assert "Decimal(32,10)" in err["error"]
    await api.admin("GET", "/admin/players/4003", expect=404)


async def test_decimal_upper_bound_getbalance_alone(api: Api, client: TestClient, seeded: dict[str, str]) -> None:
    await api.player("4002", real=MAX_TEXT, bonus="0", email="max2@example.com")
    sid = await api.session("4002")
    params = seeded | {"accountid": "4002", "gamesessionid": sid, "nogsgameid": "80102"}
    resp = await client.get("/groove?" + urlencode({"request": "getbalance", **params}))
    text = await resp.text()
    assert f'"balance":{MAX_TEXT}' in text
    assert f'"real_balance":{MAX_TEXT}' in text
    assert loads(text)["balance"] == Decimal(MAX_TEXT)
    body = await api.groove("getaccount", **(seeded | {"accountid": "4002", "gamesessionid": sid}))
    assert (body["code"], body["real_balance"], body["bonus_balance"]) == (200, Decimal(MAX_TEXT), 0)


async def test_decimal_lower_bound_getbalance(api: Api, client: TestClient, seeded: dict[str, str]) -> None:
    await api.player("4003", real="0.0000000001", bonus="0.0000000001", email="min@example.com")
    sid = await api.session("4003")
    params = seeded | {"accountid": "4003", "gamesessionid": sid, "nogsgameid": "80102"}
    resp = await client.get("/groove?" + urlencode({"request": "getbalance", **params}))
    text = await resp.text()
    assert '"balance":0.0000000002' in text
    body = loads(text)
    assert (body["code"], body["real_balance"], body["bonus_balance"]) == (
        200,
        Decimal("0.0000000001"),
        Decimal("0.0000000001"),
    )


# --------------------------------------------------------------------------- 1000 / 1003


@pytest.mark.parametrize("request_name", ["getaccount", "getbalance"])
async def test_unknown_session_1000(api: Api, seeded: dict[str, str], request_name: str) -> None:
    for sid in ("11_00000000-0000-0000-0000-000000000000", "nonsense", seeded["gamesessionid"][:-1]):
        body = await api.groove(request_name, nogsgameid="80102", **(seeded | {"gamesessionid": sid}))
        assert_error(body, 1000, "Not logged on")


@pytest.mark.parametrize("request_name", ["getaccount", "getbalance"])
async def test_expired_session_1000(api: Api, seeded: dict[str, str], clock: FakeClock, request_name: str) -> None:
    clock.advance(seconds=3599)
    assert (await api.groove(request_name, nogsgameid="80102", **seeded))["code"] == 200
    clock.advance(seconds=1)  # default TTL is 3600 s: now == expires_at
    assert_error(await api.groove(request_name, nogsgameid="80102", **seeded), 1000, "Not logged on")
    clock.advance(seconds=86400)
    assert_error(await api.groove(request_name, nogsgameid="80102", **seeded), 1000, "Not logged on")


@pytest.mark.parametrize("request_name", ["getaccount", "getbalance"])
async def test_short_ttl_session_expires(api: Api, seeded: dict[str, str], clock: FakeClock, request_name: str) -> None:
    sid = await api.session("5179068", ttl_seconds=60)
    params = seeded | {"gamesessionid": sid}
    assert (await api.groove(request_name, nogsgameid="80102", **params))["code"] == 200
    clock.advance(seconds=60)
    assert_error(await api.groove(request_name, nogsgameid="80102", **params), 1000, "Not logged on")
    # the other (default TTL) session is still live
    assert (await api.groove(request_name, nogsgameid="80102", **seeded))["code"] == 200


@pytest.mark.parametrize("request_name", ["getaccount", "getbalance"])
async def test_closed_session_1000(api: Api, seeded: dict[str, str], request_name: str) -> None:
    assert (await api.groove(request_name, nogsgameid="80102", **seeded))["code"] == 200
    closed = await api.admin("DELETE", f"/admin/sessions/{seeded['gamesessionid']}", expect=200)
    assert closed["closed"] is True
    assert_error(await api.groove(request_name, nogsgameid="80102", **seeded), 1000, "Not logged on")


async def test_getbalance_foreign_session_1000(api: Api, seeded: dict[str, str]) -> None:
    await api.player("5179069", email="other@example.com")
    other_sid = await api.session("5179069")
    # player 5179068 presents 5179069's session, and the other way round
    body = await api.groove("getbalance", nogsgameid="80102", **(seeded | {"gamesessionid": other_sid}))
    assert_error(body, 1000, "Not logged on")
    body = await api.groove("getbalance", nogsgameid="80102", **(seeded | {"accountid": "5179069"}))
    assert_error(body, 1000, "Not logged on")


async def test_getbalance_unknown_account_1000(api: Api, seeded: dict[str, str]) -> None:
    body = await api.groove("getbalance", nogsgameid="80102", **(seeded | {"accountid": "999999"}))
    assert_error(body, 1000, "Not logged on")


async def test_getaccount_account_not_owning_session_1003(api: Api, seeded: dict[str, str]) -> None:
    await api.player("5179069", email="other@example.com")
    body = await api.groove("getaccount", **(seeded | {"accountid": "5179069"}))
    assert_error(body, 1003, "Authentication failed")
    body = await api.groove("getaccount", **(seeded | {"accountid": "424242"}))  # no such account
    assert_error(body, 1003, "Authentication failed")


async def test_foreign_operator_session(api: Api, seeded: dict[str, str]) -> None:
    await api.operator("22")
    await api.player("2201", operator_id="22", email="p2201@example.com")
    sid22 = await api.session("2201")
    body = await api.groove("getbalance", nogsgameid="80102", **(seeded | {"gamesessionid": sid22}))
    assert_error(body, 1000, "Not logged on")
    body = await api.groove("getaccount", **(seeded | {"gamesessionid": sid22}))
    assert_error(body, 1003, "Authentication failed")


# --------------------------------------------------------------------------- 1008


GETBALANCE_REQUIRED = ["accountid", "gamesessionid", "device", "apiversion", "nogsgameid"]
GETACCOUNT_REQUIRED = ["accountid", "gamesessionid", "device", "apiversion"]


@pytest.mark.parametrize("missing", GETBALANCE_REQUIRED)
async def test_getbalance_missing_parameter_1008(api: Api, seeded: dict[str, str], missing: str) -> None:
    params = {**seeded, "nogsgameid": "80102"}
    del params[missing]
    body = await api.groove("getbalance", **params)
    assert_error(body, 1008, "Parameter required", apiversion="" if missing == "apiversion" else "1.2")
    assert missing in body["message"]


@pytest.mark.parametrize("missing", GETACCOUNT_REQUIRED)
async def test_getaccount_missing_parameter_1008(api: Api, seeded: dict[str, str], missing: str) -> None:
    params = dict(seeded)
    del params[missing]
    body = await api.groove("getaccount", **params)
    assert_error(body, 1008, "Parameter required", apiversion="" if missing == "apiversion" else "1.2")
    assert missing in body["message"]


@pytest.mark.parametrize("missing", GETACCOUNT_REQUIRED)
async def test_empty_parameter_is_missing_or_malformed_1008(api: Api, seeded: dict[str, str], missing: str) -> None:
    params = seeded | {missing: ""}
    body = await api.groove("getaccount", **params)
    assert body["code"] == 1008
    assert missing in body["message"]


async def test_missing_request_parameter_1008(client: TestClient, seeded: dict[str, str]) -> None:
    body = await raw(client, urlencode(seeded))
    assert_error(body, 1008, "Parameter required")
    assert "request" in body["message"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("accountid", "5179-068"),
        ("accountid", "5179068 "),
        ("accountid", "acc\u00e9nt"),
        ("accountid", "a" * 61),
        ("gamesessionid", "1" * 65),
        ("device", "tablet"),
        ("device", "Desktop"),
        ("apiversion", "1" * 17),
        ("nogsgameid", "g" * 256),
    ],
)
async def test_malformed_parameter_1008(api: Api, seeded: dict[str, str], param: str, value: str) -> None:
    params = {**seeded, "nogsgameid": "80102", param: value}
    body = await api.groove("getbalance", **params)
    assert body["code"] == 1008, body
    assert body["status"] == "Parameter required"
    assert param in body["message"]


async def test_boundary_lengths_are_accepted(api: Api, seeded: dict[str, str]) -> None:
    """60-char account ids and 64-char session ids are valid shapes (unknown -> 1000, not 1008)."""
    body = await api.groove("getbalance", nogsgameid="80102", **(seeded | {"accountid": "A" * 60}))
    assert body["code"] == 1000
    body = await api.groove("getbalance", nogsgameid="80102", **(seeded | {"gamesessionid": "1" * 64}))
    assert body["code"] == 1000
    await api.player("Z" * 60, email="long@example.com")
    sid = await api.session("Z" * 60)
    assert len(sid) <= 64
    body = await api.groove(
        "getbalance", nogsgameid="80102", **(seeded | {"accountid": "Z" * 60, "gamesessionid": sid})
    )
    assert body["code"] == 200


@pytest.mark.parametrize("param", ["accountid", "gamesessionid", "device", "request", "apiversion"])
async def test_repeated_parameter_1008(client: TestClient, seeded: dict[str, str], param: str) -> None:
    params = [("request", "getbalance"), *seeded.items(), ("nogsgameid", "80102")]
    params.append((param, dict(params)[param]))  # the very same value twice
    body = await raw(client, urlencode(params))
    assert body["code"] == 1008, body
    assert body["status"] == "Parameter required"
    assert param in body["message"]


@pytest.mark.parametrize("name", ["getbalances", "GetBalance", "deposit", "wagerbybatch2", "__init__", "HANDLERS"])
async def test_unknown_request_is_an_error_reply(client: TestClient, seeded: dict[str, str], name: str) -> None:
    body = await raw(client, urlencode({"request": name, **seeded}))
    assert_error(body, 1008, "Parameter required")
    assert "request" in body["message"]


async def test_http_status_is_always_200(client: TestClient, seeded: dict[str, str]) -> None:
    queries = [
        ("", 1008),
        ("request=", 1008),
        ("request=getbalance", 1008),
        (urlencode({"request": "getbalance", **seeded}), 1008),  # nogsgameid missing
        (urlencode({"request": "getaccount", **seeded, "gamesessionid": "11_x"}), 1000),
        (urlencode({"request": "getbalance", **seeded, "accountid": "x" * 5000}), 1008),
        ("request=getbalance&accountid=%ff%fe&gamesessionid=x&device=desktop&apiversion=1.2&nogsgameid=1", 1008),
        ("request=getbalance&accountid=5179068%00&gamesessionid=x&device=desktop&apiversion=1.2&nogsgameid=1", 1008),
        ("request=getbalance&" + "x=" + "y" * 8000, 1008),  # long, but within aiohttp's 8190-byte request line
    ]
    for q, code in queries:
        body = await raw(client, q)
        assert body["code"] == code, (q, body)
    # a read request POSTed is refused inside the protocol too
    body = await raw(client, urlencode({"request": "getbalance", **seeded, "nogsgameid": "1"}), method="POST")
    assert body["code"] == 1008


# --------------------------------------------------------------------------- no side effects


async def test_rejected_requests_change_nothing(api: Api, client: TestClient, seeded: dict[str, str]) -> None:
    await api.player("5179069", email="other@example.com")
    other_sid = await api.session("5179069")
    before = await player_state(api, "5179068")
    other_before = await player_state(api, "5179069")
    assert before["last_active"] is None
    bad: list[tuple[str, dict[str, str]]] = [
        ("getaccount", seeded | {"gamesessionid": "11_unknown"}),
        ("getaccount", seeded | {"gamesessionid": other_sid}),  # 1000 or 1003 territory: not the owner
        ("getaccount", seeded | {"accountid": "5179069"}),  # 1003
        ("getaccount", seeded | {"device": "tablet"}),
        ("getaccount", {k: v for k, v in seeded.items() if k != "apiversion"}),
        ("getbalance", seeded),  # nogsgameid missing
        ("getbalance", seeded | {"nogsgameid": "1", "gamesessionid": other_sid}),
        ("nosuchrequest", seeded),
    ]
    for name, params in bad:
        body = await api.groove(name, **params)
        assert body["code"] != 200, (name, params, body)
    q = [("request", "getaccount"), *seeded.items(), ("accountid", "5179068")]
    assert (await raw(client, urlencode(q)))["code"] == 1008
    assert await player_state(api, "5179068") == before
    assert await player_state(api, "5179069") == other_before


async def test_rejected_after_expiry_changes_nothing(api: Api, seeded: dict[str, str], clock: FakeClock) -> None:
    assert (await api.groove("getaccount", **seeded))["code"] == 200
    before = await player_state(api, "5179068")
    assert before["last_active"] == "2026-01-15T12:00:00.000000Z"
    clock.advance(seconds=7200)
    assert (await api.groove("getaccount", **seeded))["code"] == 1000
    assert (await api.groove("getbalance", nogsgameid="1", **seeded))["code"] == 1000
    assert await player_state(api, "5179068") == before


async def test_getaccount_bumps_last_active_on_success(api: Api, seeded: dict[str, str], clock: FakeClock) -> None:
    assert (await player_state(api, "5179068"))["last_active"] is None
    clock.advance(seconds=10)
    assert (await api.groove("getaccount", **seeded))["code"] == 200
    assert (await player_state(api, "5179068"))["last_active"] == "2026-01-15T12:00:10.000000Z"
    clock.advance(seconds=20)
    assert (await api.groove("getaccount", **seeded))["code"] == 200
    state = await player_state(api, "5179068")
    assert state["last_active"] == "2026-01-15T12:00:30.000000Z"
    # balances are untouched by reads
    assert state["wallets"] == [
        {"currency": "EUR", "real_balance": "100", "bonus_balance": "50", "reserved_balance": "0", "balance": "150"}
    ]


async def test_getbalance_changes_no_balance(api: Api, seeded: dict[str, str]) -> None:
    for _ in range(3):
        assert (await api.groove("getbalance", nogsgameid="80102", **seeded))["balance"] == Decimal("150")
    assert await api.balances("5179068") == (Decimal("100"), Decimal("50"))


async def test_wagers_move_last_active_at_most_once_a_minute(
    api: Api, seeded: dict[str, str], clock: FakeClock
) -> None:
    """A spin does not rewrite the player's row each time: last_active moves when it is a
    minute old (or unset, or in the future), and getaccount still sets it every time."""

    async def wager(n: int) -> None:
        body = await api.groove(
            "wager", gameid="80102", roundid=f"la-r{n}", transactionid=f"la-t{n}", betamount="0.01", **seeded
        )
        assert body["code"] == 200, body

    assert (await player_state(api, "5179068"))["last_active"] is None
    await wager(1)
    assert (await player_state(api, "5179068"))["last_active"] == "2026-01-15T12:00:00.000000Z"
    clock.advance(seconds=59)
    await wager(2)
    assert (await player_state(api, "5179068"))["last_active"] == "2026-01-15T12:00:00.000000Z"
    clock.advance(seconds=1)
    await wager(3)
    assert (await player_state(api, "5179068"))["last_active"] == "2026-01-15T12:01:00.000000Z"
    clock.advance(seconds=5)
    assert (await api.groove("getaccount", **seeded))["code"] == 200
    assert (await player_state(api, "5179068"))["last_active"] == "2026-01-15T12:01:05.000000Z"
