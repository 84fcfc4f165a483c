"""Issue #14, defects 1, 6 and 9: hostile numbers and nesting are refused cheaply on every face,
and a refused /groove query still echoes its ``apiversion``.  Both backends, through HTTP.

* An amount such as ``1e1000000000`` is refused by its digits and exponent before anything is
  built from it (it used to become a billion-character string: seconds of a blocked loop).
* ``"[" * 100000 + "]" * 100000`` is refused with a 4xx / 1008 / WebSocket close 1008 (it used
  to raise RecursionError: HTTP 500, /groove code 1, a traceback on the socket).
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from groove_adapter.jsonout import dumps, loads
from tests.conftest import Api

FAST = 0.5  # seconds: a refusal costs microseconds; the unbounded code took seconds
GAME = "80102"
PB = "/api/player-balances"
HUGE = "1e1000000000"
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
async def key(api: Api, seeded: dict[str, str]) -> str:
    body = await api.admin("POST", "/admin/games", {"operator_id": "11", "game_id": GAME, "name": "G"}, expect=201)
    return str(body["secret_key"])


async def _state(api: Api, seeded: dict[str, str]) -> Any:
    player = await api.admin("GET", f"/admin/players/{seeded['accountid']}", expect=200)
    q = urlencode({"account_id": seeded["accountid"], "from": "2025-06-01T00:00:00Z", "to": "2026-06-01T00:00:00Z"})
    journal = await api.admin("GET", "/admin/reports/statement?" + q, expect=200)
    return player, journal


async def _timed(client: TestClient, method: str, path: str, data: str, headers: dict[str, str]) -> tuple[int, Any]:
    started = time.perf_counter()
    resp = await client.request(method, path, data=data, headers=headers | {"Content-Type": "application/json"})
    text = await resp.text()
    elapsed = time.perf_counter() - started
    assert elapsed < FAST, f"{method} {path} took {elapsed:.2f} s"
    return resp.status, loads(text)


def _batch_query(seeded: dict[str, str]) -> str:
    return "/groove?" + urlencode(
        {
            "request": "wagerbybatch",
            "request_id": "rq1",
            "gamesessionid": seeded["gamesessionid"],
            "gameid": GAME,
            "apiversion": "1.2",
        }
    )


def _batch_body(seeded: dict[str, str], amount: str, n: int = 20) -> str:
    bets = ",".join(f'{{"transaction_id":"b{i}","round_id":"r{i}","amount":{amount}}}' for i in range(n))
    return (
        f'{{"account_id":"{seeded["accountid"]}","game_id":"{GAME}",'
        f'"game_session_id":"{seeded["gamesessionid"]}","device":"desktop","bets":[{bets}]}}'
    )


# --------------------------------------------------------------------------- defect 1: exponents


async def test_wagerbybatch_with_exponent_amounts_is_refused_at_once(
    client: TestClient, api: Api, seeded: dict[str, str]
) -> None:
    """The issue's request: no credential needed, 20 bets of ``1e100000000``."""
    before = await _state(api, seeded)
    status, body = await _timed(client, "POST", _batch_query(seeded), _batch_body(seeded, "1e100000000"), {})
    assert status == 200
    assert body["code"] == 1008, body
    assert body["apiversion"] == "1.2"
    assert await _state(api, seeded) == before


async def test_wagerbybatch_with_a_small_exponent_amount_still_wagers(
    client: TestClient, api: Api, seeded: dict[str, str]
) -> None:
    """The bound refuses hostile exponents only: ``15e-1`` is 1.5, as before."""
    status, body = await _timed(client, "POST", _batch_query(seeded), _batch_body(seeded, "15e-1", n=1), {})
    assert (status, body["code"], body["bets"][0]["code"]) == (200, 200, 200), body
    assert await api.balances(seeded["accountid"]) == (Decimal("98.5"), Decimal("50"))


@pytest.mark.parametrize("amount", [HUGE, "-" + HUGE, "1e-1000000000", "0e1000000000", "9" * 5000])
async def test_rest_amounts_are_bounded_before_conversion(
    client: TestClient, api: Api, seeded: dict[str, str], key: str, amount: str
) -> None:
    """Player Balance API and private wallet API: one small body, a 400 in microseconds."""
    acct = seeded["accountid"]
    before = await _state(api, seeded)
    pb = f'{{"player_id":"{acct}","currency":"EUR","amount":{amount},"idempotency_key":"k1"}}'
    status, body = await _timed(client, "POST", f"{PB}/debit", pb, {"X-Game-Secret-Key": key})
    assert status == 400, body
    assert "number" in body["error"], body
    pw = f'{{"currency":"EUR","amount":{amount},"type":"credit","idempotencyKey":"k2"}}'
    path = f"/api/private/users/{acct}/wallet/EUR/transactions"
    status, body = await _timed(client, "POST", path, pw, {"x-api-key": key})
    assert (status, body["error"]) == (400, True), body
    assert await _state(api, seeded) == before


@pytest.mark.parametrize("field", ["real", "bonus"])
async def test_admin_amounts_are_bounded_before_conversion(
    client: TestClient, api: Api, seeded: dict[str, str], field: str
) -> None:
    before = await _state(api, seeded)
    auth = {"Authorization": api.auth["Authorization"]}
    body = f'{{"currency":"EUR","{field}":{HUGE},"reason":"r","idempotency_key":"a1"}}'
    status, reply = await _timed(client, "POST", f"/admin/players/{seeded['accountid']}/adjust", body, auth)
    assert status == 400, reply
    assert reply["fields"][0]["field"] == "body", reply
    # ttl_seconds is an int field: pydantic would expand a Decimal 1e1000000000 into an int.
    body = f'{{"account_id":"{seeded["accountid"]}","ttl_seconds":{HUGE}}}'
    status, reply = await _timed(client, "POST", "/admin/sessions", body, auth)
    assert status == 400, reply
    assert await _state(api, seeded) == before


async def test_groove_query_amount_with_exponent_is_1008_at_once(
    client: TestClient, api: Api, seeded: dict[str, str]
) -> None:
    before = await _state(api, seeded)
    q = seeded | {"request": "wager", "gameid": GAME, "roundid": "r1", "transactionid": "t1", "betamount": HUGE}
    status, body = await _timed(client, "GET", "/groove?" + urlencode(q), "", {})
    assert (status, body["code"], body["apiversion"]) == (200, 1008, "1.2"), body
    assert await _state(api, seeded) == before


# --------------------------------------------------------------------------- defect 6: nesting


async def test_deep_nesting_is_a_clear_refusal_on_every_face(
    client: TestClient, api: Api, seeded: dict[str, str], key: str
) -> None:
    before = await _state(api, seeded)
    status, body = await _timed(client, "POST", _batch_query(seeded), DEEP, {})
    assert (status, body["code"]) == (200, 1008), body
    assert "nested deeper" in body["message"], body
    status, body = await _timed(client, "POST", f"{PB}/debit", DEEP, {"X-Game-Secret-Key": key})
    assert status == 400, body
    assert "nested deeper" in body["error"], body
    path = f"/api/private/users/{seeded['accountid']}/wallet/EUR/transactions"
    status, body = await _timed(client, "POST", path, DEEP, {"x-api-key": key})
    assert (status, body["error"]) == (400, True), body
    auth = {"Authorization": api.auth["Authorization"]}
    status, body = await _timed(client, "POST", f"/admin/players/{seeded['accountid']}/adjust", DEEP, auth)
    assert status == 400, body
    assert "nested deeper" in body["fields"][0]["error"], body
    assert await _state(api, seeded) == before


async def test_nesting_within_a_string_is_not_nesting(client: TestClient, seeded: dict[str, str], key: str) -> None:
    """Brackets inside a JSON string do not count: this is a plain invalid-amount 400."""
    body = dumps({"player_id": seeded["accountid"], "currency": "EUR", "amount": "[" * 100, "idempotency_key": "k"})
    status, reply = await _timed(client, "POST", f"{PB}/debit", body, {"X-Game-Secret-Key": key})
    assert status == 400, reply
    assert "nested" not in reply["error"], reply


async def test_deep_nesting_closes_a_websocket_with_1008(client: TestClient, key: str) -> None:
    async with client.ws_connect("/ws/balance-updates", headers={"X-Game-Secret-Key": key}) as ws:
        await ws.send_str("[" * 20_000 + "]" * 20_000)  # within the 64 KiB message limit
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        reply = loads(msg.data)
        assert (reply["type"], reply["status"]) == ("error", 400), reply
        assert "nested deeper" in reply["error"], reply
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE, msg
        assert msg.data == 1008


# --------------------------------------------------------------------------- defect 9: apiversion


@pytest.mark.parametrize(
    "tail",
    [
        "&accountid=5179068",  # a repeated parameter
        "&pad=" + "x" * 9000,  # longer than max_query_bytes (8192)
        "&gameid=%ff",  # not UTF-8
    ],
)
async def test_refused_query_echoes_apiversion(client: TestClient, seeded: dict[str, str], tail: str) -> None:
    q = urlencode(seeded | {"request": "getbalance", "nogsgameid": GAME}) + tail
    status, body = await _timed(client, "GET", "/groove?" + q, "", {})
    assert (status, body["code"], body["apiversion"]) == (200, 1008, "1.2"), body


async def test_apiversion_given_twice_differently_is_not_echoed(client: TestClient, seeded: dict[str, str]) -> None:
    q = urlencode(seeded | {"request": "getbalance", "nogsgameid": GAME}) + "&apiversion=9.9"
    status, body = await _timed(client, "GET", "/groove?" + q, "", {})
    assert (status, body["code"], body["apiversion"]) == (200, 1008, ""), body
