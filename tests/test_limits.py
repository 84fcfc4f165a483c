"""Every input limit, tested at the edge: exactly at the limit is accepted, one past it gets a
clear 4xx (or the protocol's 1008) and changes nothing.  Both backends, through HTTP.

The configurable limits (``config/settings.py``) run with small values set here, which also
shows they are configurable: request body ``max_body_bytes``, query string
``max_query_bytes``, ``max_batch_bets``.  The fixed limits are the REST batch of 100
players, the Decimal(32,10) amount range, string lengths and page sizes.

Pending holds per player and WebSocket subscribers per key are tested with their features
(tests/test_holds.py, tests/test_flows_*.py, tests/test_ws.py), not here.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from config import Settings
from groove_adapter.jsonout import dumps, loads
from tests.conftest import ADMIN_TOKEN, Api
from wallet_store import money

MAX_BODY = 2048
MAX_QUERY = 1024
MAX_BETS = 5
GAME = "80102"
PB = "/api/player-balances"
PW = "/api/private/users"
D = Decimal


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Overrides conftest's: small configured limits (and rate limits off: not under test here)."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'wallet.db'}",
        admin_token=SecretStr(ADMIN_TOKEN),
        max_body_bytes=MAX_BODY,
        max_query_bytes=MAX_QUERY,
        max_batch_bets=MAX_BETS,
        rate_limit_enabled=False,
    )


@pytest.fixture
async def key(api: Api) -> str:
    """Operator 11, players 1001 (real 100, bonus 50) and 1002 (empty), a game key."""
    await api.operator("11")
    await api.player("1001")
    await api.player("1002", real="0", bonus="0")
    body = await api.admin("POST", "/admin/games", {"operator_id": "11", "game_id": "g1", "name": "G"}, expect=201)
    return str(body["secret_key"])


def padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` as JSON of exactly ``size`` bytes (spaces before the closing brace)."""
    raw = dumps(body).encode()
    assert len(raw) <= size
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


async def rest(
    client: TestClient, method: str, path: str, key: str, data: Any = None, private: bool = False
) -> tuple[int, str]:
    raw = data if isinstance(data, bytes) or data is None else dumps(data).encode()
    headers = {"x-api-key" if private else "X-Game-Secret-Key": key, "Content-Type": "application/json"}
    resp = await client.request(method, path, data=raw, headers=headers)
    return resp.status, await resp.text()


async def groove(client: TestClient, query: str) -> dict[str, Any]:
    resp = await client.get("/groove?" + query)
    assert resp.status == 200
    body: dict[str, Any] = loads(await resp.text())
    return body


def query_of(size: int, **params: str) -> str:
    """A query string of exactly ``size`` bytes: ``params`` plus an ignored padding parameter."""
    base = urlencode(params) + "&pad="
    assert len(base) <= size
    return base + "x" * (size - len(base))


async def common(api: Api, account: str = "1001") -> dict[str, str]:
    sid = await api.session(account)
    return {"accountid": account, "gamesessionid": sid, "device": "desktop", "apiversion": "1.2"}


# --------------------------------------------------------------------------- request body size


async def test_rest_body_at_the_limit_and_past_it(api: Api, client: TestClient, key: str) -> None:
    credit = {"player_id": "1001", "currency": "EUR", "amount": "1", "idempotency_key": "at"}
    status, text = await rest(client, "POST", f"{PB}/credit", key, padded(credit, MAX_BODY))
    assert status == 200, text
    assert await api.balances("1001") == (D(101), D(50))
    status, text = await rest(
        client, "POST", f"{PB}/credit", key, padded(credit | {"idempotency_key": "past"}, MAX_BODY + 1)
    )
    assert status == 413, text
    assert await api.balances("1001") == (D(101), D(50))


async def test_admin_body_at_the_limit_and_past_it(api: Api, client: TestClient, key: str) -> None:
    adjust = {"currency": "EUR", "real": "1", "bonus": "0", "reason": "limit", "idempotency_key": "at"}
    resp = await client.post(
        "/admin/players/1001/adjust",
        data=padded(adjust, MAX_BODY),
        headers=api.auth | {"Content-Type": "application/json"},
    )
    assert resp.status == 201, await resp.text()
    resp = await client.post(
        "/admin/players/1001/adjust",
        data=padded(adjust | {"idempotency_key": "past"}, MAX_BODY + 1),
        headers=api.auth | {"Content-Type": "application/json"},
    )
    assert resp.status == 413, await resp.text()
    assert await api.balances("1001") == (D(101), D(50))


def batch_query(c: dict[str, str]) -> str:
    return urlencode(
        {"request": "wagerbybatch", "request_id": "b1", "gamesessionid": c["gamesessionid"], "gameid": GAME}
        | {"apiversion": "1.2"}
    )


def batch_body(c: dict[str, str], bets: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "account_id": c["accountid"],
        "game_id": GAME,
        "game_session_id": c["gamesessionid"],
        "device": "desktop",
        "bets": bets,
    }


def bets(n: int, prefix: str = "t") -> list[dict[str, Any]]:
    return [{"transaction_id": f"{prefix}{i}", "round_id": f"r{prefix}{i}", "amount": "1"} for i in range(n)]


async def test_wagerbybatch_body_at_the_limit(api: Api, client: TestClient, key: str) -> None:
    c = await common(api)
    raw = padded(batch_body(c, bets(1)), MAX_BODY)
    resp = await client.post("/groove?" + batch_query(c), data=raw, headers={"Content-Type": "application/json"})
    body = loads(await resp.text())
    assert (resp.status, body["code"], [b["code"] for b in body["bets"]]) == (200, 200, [200])
    assert await api.balances("1001") == (D(99), D(50))


async def test_wagerbybatch_body_past_the_limit_is_a_protocol_error(api: Api, client: TestClient, key: str) -> None:
    c = await common(api)
    raw = padded(batch_body(c, bets(1, "p")), MAX_BODY + 1)
    resp = await client.post("/groove?" + batch_query(c), data=raw, headers={"Content-Type": "application/json"})
    body = loads(await resp.text())
    assert await api.balances("1001") == (D(100), D(50))  # nothing moved (holds today too)
    assert (resp.status, body["code"]) == (200, 1008), body


# --------------------------------------------------------------------------- query string length


async def test_groove_query_at_the_limit_and_past_it(api: Api, client: TestClient, key: str) -> None:
    c = await common(api)
    balance = await groove(client, query_of(MAX_QUERY, request="getbalance", nogsgameid=GAME, **c))
    assert (balance["code"], balance["balance"]) == (200, D(150))
    wager = {"request": "wager", "gameid": GAME, "roundid": "r1", "betamount": "10", **c}
    at = await groove(client, query_of(MAX_QUERY, transactionid="at", **wager))
    assert (at["code"], at["balance"]) == (200, D(140))
    past = await groove(client, query_of(MAX_QUERY + 1, transactionid="past", **wager))
    assert (past["code"], past["status"]) == (1008, "Parameter required")
    assert "longer than 1024 bytes" in past["message"]
    assert await api.balances("1001") == (D(90), D(50))
    # the refused transaction id was not remembered: it can still be used
    again = await groove(client, urlencode({**wager, "transactionid": "past"}))
    assert again["code"] == 200


async def test_rest_request_line_past_the_limit_is_a_4xx(client: TestClient, key: str) -> None:
    """REST faces have no query-string rule of their own: the request-line bound
    (max_query_bytes + 1024) answers 4xx before any handler runs."""
    path = f"{PW}/1001/wallets/EUR/transactions?page=1&pad="
    ok_status, _ = await rest(client, "GET", path + "x" * (MAX_QUERY - len(path)), key, private=True)
    assert ok_status == 200
    status, _ = await rest(client, "GET", path + "x" * (MAX_QUERY + 2048), key, private=True)
    assert 400 <= status < 500


# --------------------------------------------------------------------------- batch sizes


async def test_wagerbybatch_bets_at_the_limit_and_past_it(api: Api, client: TestClient, key: str) -> None:
    c = await common(api)
    headers = {"Content-Type": "application/json"}
    resp = await client.post("/groove?" + batch_query(c), data=dumps(batch_body(c, bets(MAX_BETS))), headers=headers)
    body = loads(await resp.text())
    assert [b["code"] for b in body["bets"]] == [200] * MAX_BETS
    assert await api.balances("1001") == (D(100 - MAX_BETS), D(50))
    resp = await client.post(
        "/groove?" + batch_query(c), data=dumps(batch_body(c, bets(MAX_BETS + 1, "p"))), headers=headers
    )
    body = loads(await resp.text())
    assert (body["code"], body["message"]) == (1008, f"bets: more than {MAX_BETS} bets")
    assert await api.balances("1001") == (D(100 - MAX_BETS), D(50))


async def test_rest_batch_of_100_players_and_101(client: TestClient, key: str) -> None:
    ids = ["1001", *(f"9{i:04d}" for i in range(99))]
    status, text = await rest(client, "POST", f"{PB}/batch", key, {"player_ids": ids})
    assert status == 200, text
    body = loads(text)
    assert ([p["player_id"] for p in body["players"]], len(body["not_found"])) == (["1001"], 99)
    status, text = await rest(client, "POST", f"{PB}/batch", key, {"player_ids": ids, "player_emails": ["a@b.cd"]})
    assert status == 400
    assert "at most 100 players" in loads(text)["error"]


# --------------------------------------------------------------------------- amount range


async def test_groove_amount_digits(api: Api, client: TestClient, key: str) -> None:
    c = await common(api)
    wager = {"request": "wager", "gameid": GAME, "roundid": "r1", **c}
    tiny = await groove(client, urlencode(wager | {"transactionid": "t1", "betamount": "0.0000000001"}))
    assert (tiny["code"], tiny["realmoneybet"]) == (200, D("0.0000000001"))
    past = await groove(client, urlencode(wager | {"transactionid": "t2", "betamount": "0.00000000001"}))
    assert (past["code"], past["message"]) == (1008, "betamount: malformed")
    widest = await groove(client, urlencode(wager | {"transactionid": "t3", "betamount": "9" * 22 + "." + "9" * 10}))
    assert widest["code"] == 1006  # parsed as an amount, refused for funds
    wider = await groove(client, urlencode(wager | {"transactionid": "t4", "betamount": "1" + "0" * 22}))
    assert (wider["code"], wider["message"]) == (1008, "betamount: malformed")
    assert await api.balances("1001") == (D("99.9999999999"), D(50))


async def test_rest_amount_range(api: Api, client: TestClient, key: str) -> None:
    top = str(money.MAX_AMOUNT)
    status, text = await rest(
        client,
        "POST",
        f"{PB}/credit",
        key,
        {"player_id": "1002", "currency": "EUR", "amount": top, "idempotency_key": "max"},
    )
    assert status == 200, text
    assert loads(text)["new_balance"] == top
    # one quantum more would leave Decimal(32,10): refused, nothing written
    status, text = await rest(
        client,
        "POST",
        f"{PB}/credit",
        key,
        {"player_id": "1002", "currency": "EUR", "amount": "0.0000000001", "idempotency_key": "over"},
    )
    assert status == 422, text
    assert await api.balances("1002") == (money.MAX_AMOUNT, D(0))
    for amount in ("1" + "0" * 22, "0.00000000001", "1e3", "NaN"):
        status, text = await rest(
            client,
            "POST",
            f"{PB}/debit",
            key,
            {"player_id": "1002", "currency": "EUR", "amount": amount, "idempotency_key": "bad"},
        )
        assert status == 400, (amount, text)
    assert await api.balances("1002") == (money.MAX_AMOUNT, D(0))


# --------------------------------------------------------------------------- string lengths


async def test_groove_id_lengths(api: Api, client: TestClient, key: str) -> None:
    c = await common(api)
    wager = {"request": "wager", "gameid": GAME, "betamount": "1", **c}
    at = await groove(client, urlencode(wager | {"roundid": "r" * 255, "transactionid": "t" * 255}))
    assert at["code"] == 200
    for field in ("roundid", "transactionid", "gameid"):
        params = wager | {"roundid": "r2", "transactionid": "t2"} | {field: "x" * 256}
        past = await groove(client, urlencode(params))
        assert (past["code"], past["message"]) == (1008, f"{field}: malformed")
    assert await api.balances("1001") == (D(99), D(50))


async def test_account_id_length(api: Api, client: TestClient, key: str) -> None:
    longest = "A" * 60
    await api.player(longest, email=None)
    c = await common(api, longest)
    assert (await groove(client, urlencode({"request": "getbalance", "nogsgameid": GAME, **c})))["code"] == 200
    past = await groove(client, urlencode({"request": "getbalance", "nogsgameid": GAME, **c, "accountid": "A" * 61}))
    assert (past["code"], past["message"]) == (1008, "accountid: malformed")
    body = await api.admin(
        "POST",
        "/admin/players",
        {"operator_id": "11", "account_id": "B" * 61, "name": "N", "country": "MT", "city": "C"},
        expect=400,
    )
    assert body["fields"][0]["field"] == "account_id"
    status, _ = await rest(client, "GET", f"{PB}/player/{'A' * 61}", key)
    assert status == 400
    status, _ = await rest(client, "GET", f"{PB}/player/{longest}", key)
    assert status == 200


async def test_rest_idempotency_key_and_reason_lengths(api: Api, client: TestClient, key: str) -> None:
    def credit(**kw: str) -> dict[str, Any]:
        return {"player_id": "1001", "currency": "EUR", "amount": "1", "idempotency_key": "k"} | kw

    assert (await rest(client, "POST", f"{PB}/credit", key, credit(idempotency_key="k" * 255)))[0] == 200
    assert (await rest(client, "POST", f"{PB}/credit", key, credit(idempotency_key="j", reason="r" * 500)))[0] == 200
    assert await api.balances("1001") == (D(102), D(50))
    status, text = await rest(client, "POST", f"{PB}/credit", key, credit(idempotency_key="k" * 256))
    assert status == 400
    assert "idempotency_key" in loads(text)["error"]
    status, text = await rest(client, "POST", f"{PB}/credit", key, credit(idempotency_key="m", reason="r" * 501))
    assert status == 400
    assert "reason" in loads(text)["error"]
    assert await api.balances("1001") == (D(102), D(50))


async def test_admin_string_lengths(api: Api, client: TestClient, key: str) -> None:
    def adjust(idem: str, reason: str) -> dict[str, Any]:
        return {"currency": "EUR", "real": "1", "bonus": "0", "reason": reason, "idempotency_key": idem}

    await api.admin("POST", "/admin/players/1001/adjust", adjust("a" * 255, "r" * 500), expect=201)
    body = await api.admin("POST", "/admin/players/1001/adjust", adjust("b", "r" * 501), expect=400)
    assert body["fields"][0]["field"] == "reason"
    body = await api.admin("POST", "/admin/players/1001/adjust", adjust("c" * 256, "ok"), expect=400)
    assert body["fields"][0]["field"] == "idempotency_key"
    assert await api.balances("1001") == (D(101), D(50))
    player = {"operator_id": "11", "country": "MT", "city": "C" * 100}
    await api.admin("POST", "/admin/players", player | {"account_id": "n200", "name": "N" * 200}, expect=201)
    body = await api.admin("POST", "/admin/players", player | {"account_id": "n201", "name": "N" * 201}, expect=400)
    assert body["fields"][0]["field"] == "name"
    body = await api.admin(
        "POST", "/admin/players", player | {"account_id": "c101", "name": "N", "city": "C" * 101}, expect=400
    )
    assert body["fields"][0]["field"] == "city"
    await api.admin("GET", "/admin/players/n201", expect=404)


# --------------------------------------------------------------------------- page sizes


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("limit=100", 200),
        ("limit=101", 400),
        ("limit=0", 400),
        ("page=50001&limit=20", 200),  # offset (page - 1) * limit = 1_000_000: the deepest page
        ("page=50002&limit=20", 400),
        ("page=10001&limit=100", 200),
        ("page=10002&limit=100", 400),
    ],
)
async def test_private_history_page_limits(client: TestClient, key: str, query: str, status: int) -> None:
    got, text = await rest(client, "GET", f"{PW}/1001/wallets/EUR/transactions?{query}", key, private=True)
    assert got == status, text
    if status == 200:
        assert loads(text)["error"] is False
