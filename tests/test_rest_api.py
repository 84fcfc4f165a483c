"""The REST faces (Player Balance API, private wallet API) through HTTP, on both backends."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from groove_adapter.jsonout import dumps, loads
from tests.conftest import Api
from wallet_store.audit import run_audit

PB = "/api/player-balances"


class Rest:
    """A game's view: its key on both faces."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.key = key

    async def call(
        self, method: str, path: str, body: Any = None, *, private: bool = False, key: str | None = None
    ) -> tuple[int, Any, Any]:
        header = "x-api-key" if private else "X-Game-Secret-Key"
        headers = {header: self.key if key is None else key}
        data = None if body is None else dumps(body)
        headers["Content-Type"] = "application/json"
        resp = await self.client.request(method, path, data=data, headers=headers)
        text = await resp.text()
        return resp.status, (loads(text) if text else None), resp.headers

    async def pb(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, data, _ = await self.call(method, PB + path, body, **kw)
        return status, data

    async def pw(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, data, _ = await self.call(method, "/api/private/users" + path, body, private=True, **kw)
        return status, data


async def new_game(api: Api, operator_id: str, game_id: str) -> str:
    body = await api.admin(
        "POST", "/admin/games", {"operator_id": operator_id, "game_id": game_id, "name": "Slots"}, expect=201
    )
    assert body["secret_key"].startswith("gwk_")
    return str(body["secret_key"])


@pytest.fixture
async def rest(api: Api, client: TestClient) -> Rest:
    """Operator 11 with players 1001 (real 100, bonus 50 EUR) and 1002; game g1 of operator 11."""
    await api.operator("11")
    await api.player("1001")
    await api.player("1002", real="0", bonus="0")
    return Rest(client, await new_game(api, "11", "g1"))


def credit(player: str = "1001", amount: Any = "10", key: str = "k1", **kw: Any) -> dict[str, Any]:
    return {"player_id": player, "currency": "EUR", "amount": amount, "idempotency_key": key} | kw


async def audit_ok(make_store: Any) -> None:
    store = make_store()
    await store.open()
    try:
        report = await run_audit(store)
    finally:
        await store.close()
    assert report.ok, report.text()


# --------------------------------------------------------------------------- games and keys


async def test_create_game_key_is_stored_hashed(api: Api, rest: Rest, make_store: Any) -> None:
    store = make_store()
    await store.open()
    try:
        game = await store.read(lambda tx: tx.get_game("g1"))
    finally:
        await store.close()
    assert game is not None
    assert game.operator_id == "11"
    assert rest.key not in game.key_hash
    assert len(game.key_hash) == 64


async def test_create_game_errors(api: Api, rest: Rest) -> None:
    await api.admin("POST", "/admin/games", {"operator_id": "11", "game_id": "g1", "name": "x"}, expect=409)
    await api.admin("POST", "/admin/games", {"operator_id": "99", "game_id": "g9", "name": "x"}, expect=404)
    await api.admin("POST", "/admin/games", {"operator_id": "11", "game_id": "bad id", "name": "x"}, expect=400)
    resp = await api.client.post("/admin/games", json={"operator_id": "11", "game_id": "g2", "name": "x"})
    assert resp.status == 401


@pytest.mark.parametrize(
    ("method", "path", "private"),
    [
        ("GET", f"{PB}/player/1001", False),
        ("GET", f"{PB}/player/by-email/p1001@example.com", False),
        ("POST", f"{PB}/batch", False),
        ("POST", f"{PB}/credit", False),
        ("POST", f"{PB}/debit", False),
        ("GET", "/api/private/users/1001/wallets/balance", True),
        ("POST", "/api/private/users/1001/wallet/EUR/transactions", True),
        ("GET", "/api/private/users/1001/wallets/EUR/transactions", True),
    ],
)
@pytest.mark.parametrize("key", [None, "", "gwk_wrong"])
async def test_401_missing_or_wrong_key(rest: Rest, method: str, path: str, private: bool, key: str | None) -> None:
    headers = {} if key is None else {("x-api-key" if private else "X-Game-Secret-Key"): key}
    resp = await rest.client.request(method, path, json={}, headers=headers)
    body = loads(await resp.text())
    assert resp.status == 401
    if private:
        assert body == {"error": True, "message": body["message"]}
    else:
        assert body["status"] == 401
        assert body["error"]


async def test_key_of_one_face_header_is_not_the_other(rest: Rest) -> None:
    resp = await rest.client.get(f"{PB}/player/1001", headers={"x-api-key": rest.key})
    assert resp.status == 401


async def test_tenant_isolation_other_operator_player_is_404(api: Api, rest: Rest) -> None:
    await api.operator("22")
    await api.player("2001", operator_id="22")
    other = Rest(rest.client, await new_game(api, "22", "g2"))
    assert (await other.pb("GET", "/player/1001"))[0] == 404
    assert (await other.pb("GET", "/player/by-email/p1001@example.com"))[0] == 404
    assert (await other.pb("POST", "/credit", credit()))[0] == 404
    assert (await other.pb("POST", "/debit", credit()))[0] == 404
    # the private API's spec lists 400/401/500 only: an unknown identity is a 400 there
    assert (await other.pw("GET", "/1001/wallets/balance"))[0] == 400
    assert (await other.pw("GET", "/1001/wallets/EUR/transactions"))[0] == 400
    tx = {"currency": "EUR", "amount": 1, "type": "credit", "idempotencyKey": "x"}
    assert (await other.pw("POST", "/1001/wallet/EUR/transactions", tx))[0] == 400
    status, body = await other.pb("POST", "/batch", {"player_ids": ["1001", "2001"]})
    assert status == 200
    assert [p["player_id"] for p in body["players"]] == ["2001"]
    assert body["not_found"] == [{"player_id": "1001"}]
    # nothing moved for 1001
    assert await api.balances("1001") == (Decimal("100"), Decimal("50"))


# --------------------------------------------------------------------------- Player Balance API


async def test_get_balance_by_id(rest: Rest) -> None:
    status, body = await rest.pb("GET", "/player/1001")
    assert status == 200
    assert body["player"] == {
        "player_id": "1001",
        "player_name": "Player 1001",
        "player_email": "p1001@example.com",
        "date_joined": "2026-01-15T12:00:00.000000Z",
        "last_active": None,
    }
    assert body["balances"] == [
        {
            "currency_id": 1,
            "currency_code": "EUR",
            "currency_name": "EUR",
            "currency_symbol": "EUR",
            "available_balance": "150.00",
            "reserved_balance": "0.00",
            "total_balance": "150.00",
            "last_transaction": "2026-01-15T12:00:00.000000Z",
        }
    ]
    assert body["summary"] == {
        "total_currencies": 1,
        "total_value_usd": None,
        "has_funds": True,
        "last_updated": "2026-01-15T12:00:00.000000Z",
    }


async def test_get_balance_empty_wallet(rest: Rest) -> None:
    status, body = await rest.pb("GET", "/player/1002")
    assert status == 200
    assert body["balances"][0]["available_balance"] == "0.00"
    assert body["balances"][0]["last_transaction"] is None
    assert body["summary"]["has_funds"] is False


async def test_get_balance_by_email(rest: Rest) -> None:
    status, body = await rest.pb("GET", "/player/by-email/P1001@Example.com")
    assert status == 200
    assert body["player"]["player_id"] == "1001"
    assert body["balances"][0]["total_balance"] == "150.00"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/player/no-such!", 400),
        ("/player/" + "x" * 61, 400),
        ("/player/9999", 404),
        ("/player/by-email/not-an-email", 400),
        ("/player/by-email/nobody@example.com", 404),
    ],
)
async def test_get_balance_errors(rest: Rest, path: str, status: int) -> None:
    got, body = await rest.pb("GET", path)
    assert got == status, body
    assert body["status"] == status
    assert isinstance(body["error"], str)


async def test_batch(rest: Rest) -> None:
    status, body = await rest.pb(
        "POST",
        "/batch",
        {
            "player_emails": ["p1001@example.com", "ghost@example.com"],
            "player_ids": ["1002", "404"],
            "include_summary": True,
        },
    )
    assert status == 200
    assert sorted(p["player_id"] for p in body["players"]) == ["1001", "1002"]
    assert {p["player_email"] for p in body["players"]} == {"p1001@example.com", "p1002@example.com"}
    assert all("summary" in p and "balances" in p and "player" in p for p in body["players"])
    assert body["not_found"] == [{"player_id": "404"}, {"player_email": "ghost@example.com"}]
    assert body["summary"] == {
        "total_players": 4,
        "found": 2,
        "not_found": 2,
        "total_value": None,
        "total_value_usd": None,
        "has_funds": True,
    }
    status, body = await rest.pb("POST", "/batch", {"player_ids": ["1001"]})
    assert status == 200
    assert "summary" not in body
    assert "summary" not in body["players"][0]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"player_ids": [str(i) for i in range(101)]},
        {"player_ids": [str(i) for i in range(60)], "player_emails": [f"a{i}@example.com" for i in range(41)]},
        {"player_emails": ["bad"]},
        {"player_ids": ["bad id"]},
        {"player_ids": "1001"},
        {"player_ids": ["1001"], "unexpected": 1},
    ],
)
async def test_batch_400(rest: Rest, body: Any) -> None:
    status, _ = await rest.pb("POST", "/batch", body)
    assert status == 400


async def test_batch_100_is_allowed(rest: Rest) -> None:
    status, body = await rest.pb("POST", "/batch", {"player_ids": ["1001"] + [str(i) for i in range(99)]})
    assert status == 200
    assert len(body["not_found"]) == 99


# --------------------------------------------------------------------------- credit / debit


async def test_credit_and_debit(api: Api, rest: Rest) -> None:
    status, body, headers = await rest.call("POST", f"{PB}/credit", credit(amount="10.5", reason="bonus"))
    assert status == 200, body
    assert headers["Idempotent-Replayed"] == "false"
    assert body["new_balance"] == "160.50"
    assert body["previous_balance"] == "150.00"
    assert body["currency_name"] == "EUR"
    assert body["type"] == "credit"
    assert body["transaction_id"].startswith("api:g1:")
    assert await api.balances("1001") == (Decimal("110.5"), Decimal("50"))
    # debit by e-mail, cash_money order: real first, then bonus
    status, body = await rest.pb(
        "POST",
        "/debit",
        {"player_email": "p1001@example.com", "currency": "EUR", "amount": Decimal("120.5"), "idempotency_key": "k2"},
    )
    assert status == 200, body
    assert body["new_balance"] == "40.00"
    assert await api.balances("1001") == (Decimal("0"), Decimal("40"))


async def test_credit_exact_small_amount_as_string(rest: Rest) -> None:
    status, body = await rest.pb("POST", "/credit", credit(amount="0.0000000001"))
    assert status == 200
    assert body["new_balance"] == "150.0000000001"


async def test_credit_new_currency_wallet(api: Api, rest: Rest) -> None:
    status, body = await rest.pb("POST", "/credit", credit(currency="USD", amount=5))
    assert status == 400  # not offered by the operator
    assert "not offered" in body["error"]
    await api.admin("PUT", "/admin/operators/11/currencies/USD", {"name": "US Dollar", "symbol": "$"}, expect=201)
    status, body = await rest.pb("POST", "/credit", credit(currency="USD", amount=5))
    assert status == 200
    assert body["new_balance"] == "5.00"
    assert (body["currency_id"], body["currency_name"]) == (2, "US Dollar")
    _, view = await rest.pb("GET", "/player/1001")
    assert [b["currency_id"] for b in view["balances"]] == [1, 2]


async def test_debit_above_available_is_422_and_changes_nothing(api: Api, rest: Rest, make_store: Any) -> None:
    status, body = await rest.pb("POST", "/debit", credit(amount="150.01"))
    assert status == 422
    assert "insufficient funds" in body["error"]
    assert await api.balances("1001") == (Decimal("100"), Decimal("50"))
    # the key was not consumed by the refusal
    status, body = await rest.pb("POST", "/debit", credit(amount="150"))
    assert status == 200
    assert body["new_balance"] == "0.00"
    status, _ = await rest.pb("POST", "/debit", credit(currency="USD", key="k9"))
    assert status == 400  # a currency the operator does not offer
    await audit_ok(make_store)


async def test_idempotent_replay_and_conflict(api: Api, rest: Rest) -> None:
    s1, first, h1 = await rest.call("POST", f"{PB}/debit", credit(amount="30"))
    s2, again, h2 = await rest.call("POST", f"{PB}/debit", credit(amount="30"))
    assert (s1, s2) == (200, 200)
    assert again == first
    assert (h1["Idempotent-Replayed"], h2["Idempotent-Replayed"]) == ("false", "true")
    assert await api.balances("1001") == (Decimal("70"), Decimal("50"))
    status, body = await rest.pb("POST", "/debit", credit(amount="31"))
    assert status == 409
    assert "idempotency key 'k1'" in body["error"]
    assert body["kind"] == "IdempotencyConflict"
    status, _ = await rest.pb("POST", "/credit", credit(amount="30"))  # same key, other direction
    assert status == 409
    assert await api.balances("1001") == (Decimal("70"), Decimal("50"))


async def test_idempotency_keys_are_scoped_per_game(api: Api, rest: Rest) -> None:
    other = Rest(rest.client, await new_game(api, "11", "g2"))
    assert (await rest.pb("POST", "/credit", credit(amount="1")))[0] == 200
    assert (await other.pb("POST", "/credit", credit(amount="2")))[0] == 200
    assert await api.balances("1001") == (Decimal("103"), Decimal("50"))


@pytest.mark.parametrize(
    "body",
    [
        credit(amount="0"),
        credit(amount="-5"),
        credit(amount="1e3"),
        credit(amount=True),
        credit(amount="12345678901234567890123"),
        credit(amount=Decimal("0.00000000001")),
        credit(key=""),
        {"currency": "EUR", "amount": "1", "idempotency_key": "k"},
        credit(player_email="p1001@example.com"),
        credit(currency="eur"),
        credit(player="bad id"),
        credit(extra="x"),
    ],
)
async def test_credit_400(rest: Rest, body: Any) -> None:
    status, _ = await rest.pb("POST", "/credit", body)
    assert status == 400


async def test_credit_non_json_body_400(rest: Rest) -> None:
    resp = await rest.client.post(f"{PB}/credit", data=b"{nope", headers={"X-Game-Secret-Key": rest.key})
    assert resp.status == 400


async def test_blocked_player_is_refused(api: Api, rest: Rest) -> None:
    await api.admin("POST", "/admin/players/1001/block", expect=200)
    status, _ = await rest.pb("POST", "/debit", credit())
    assert status == 403
    status, _ = await rest.pw(
        "POST",
        "/1001/wallet/EUR/transactions",
        {"currency": "EUR", "amount": 1, "type": "debit", "idempotencyKey": "b"},
    )
    assert status == 400


# --------------------------------------------------------------------------- private wallet API


async def test_private_balance(rest: Rest) -> None:
    status, body = await rest.pw("GET", "/1001/wallets/balance")
    assert status == 200
    assert body == {
        "error": False,
        "data": [{"currency_code": "EUR", "currency_name": "EUR", "balance": Decimal("150")}],
    }
    assert (await rest.pw("GET", "/9999/wallets/balance"))[0] == 400  # unknown identity
    status, body = await rest.pw("GET", "/bad!id/wallets/balance")
    assert status == 400
    assert body["error"] is True


async def test_private_transaction_credit_debit_replay_conflict(api: Api, rest: Rest) -> None:
    tx = {
        "currency": "EUR",
        "amount": Decimal("12.25"),
        "type": "debit",
        "reason": "shop",
        "meta": {"item": "sword", "price": Decimal("12.25")},
        "idempotencyKey": "i1",
    }
    status, body = await rest.pw("POST", "/1001/wallet/EUR/transactions", tx)
    assert status == 200, body
    assert body["error"] is False
    d = body["data"]
    assert set(d) == {
        "user_identity",
        "game_id",
        "currency_code",
        "type",
        "amount",
        "balance_before",
        "balance_after",
        "reason",
        "meta",
        "_id",
        "created_at",
        "updated_at",
    }
    assert (d["user_identity"], d["game_id"], d["currency_code"], d["type"]) == ("1001", "g1", "EUR", "debit")
    assert (d["amount"], d["balance_before"], d["balance_after"]) == (Decimal("12.25"), 150, Decimal("137.75"))
    assert d["meta"] == {"item": "sword", "price": Decimal("12.25")}
    assert await api.balances("1001") == (Decimal("87.75"), Decimal("50"))
    # replay
    status, again = await rest.pw("POST", "/1001/wallet/EUR/transactions", tx)
    assert status == 200
    assert again == body
    # conflict
    status, err = await rest.pw("POST", "/1001/wallet/EUR/transactions", tx | {"amount": 1})
    assert status == 400  # the spec lists no 409
    assert err["error"] is True
    assert "i1" in err["message"]
    # credit
    status, body = await rest.pw(
        "POST", "/1001/wallet/EUR/transactions", tx | {"type": "credit", "idempotencyKey": "i2"}
    )
    assert status == 200
    assert body["data"]["balance_after"] == 150
    # the two faces do not share idempotency keys
    status, _ = await rest.pb("POST", "/credit", credit(key="i1", amount="1"))
    assert status == 200


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (
            "/1001/wallet/EUR/transactions",
            {"currency": "EUR", "amount": 1000, "type": "debit", "idempotencyKey": "a"},
            400,
        ),
        ("/1001/wallet/EUR/transactions", {"currency": "EUR", "amount": 1, "type": "debit"}, 400),
        (
            "/1001/wallet/EUR/transactions",
            {"currency": "EUR", "amount": 0, "type": "credit", "idempotencyKey": "a"},
            400,
        ),
        ("/1001/wallet/EUR/transactions", {"currency": "EUR", "amount": 1, "type": "gift", "idempotencyKey": "a"}, 400),
        (
            "/1001/wallet/EUR/transactions",
            {"currency": "USD", "amount": 1, "type": "credit", "idempotencyKey": "a"},
            400,
        ),
        (
            "/1001/wallet/eur/transactions",
            {"currency": "EUR", "amount": 1, "type": "credit", "idempotencyKey": "a"},
            400,
        ),
        (
            "/9999/wallet/EUR/transactions",
            {"currency": "EUR", "amount": 1, "type": "credit", "idempotencyKey": "a"},
            400,
        ),
    ],
)
async def test_private_transaction_errors(api: Api, rest: Rest, path: str, body: Any, status: int) -> None:
    got, reply = await rest.pw("POST", path, body)
    assert got == status, reply
    assert reply["error"] is True
    assert reply["message"]
    assert await api.balances("1001") == (Decimal("100"), Decimal("50"))


async def test_private_history_pages_and_type(rest: Rest) -> None:
    for i, (kind, amount) in enumerate([("debit", 10), ("credit", 5), ("debit", 1)]):
        body = {"currency": "EUR", "amount": amount, "type": kind, "idempotencyKey": f"h{i}"}
        assert (await rest.pw("POST", "/1001/wallet/EUR/transactions", body))[0] == 200
    status, body = await rest.pw("GET", "/1001/wallets/EUR/transactions")
    assert status == 200
    assert body["error"] is False
    d = body["data"]
    assert d["wallet"] == {"currency_code": "EUR", "balance": 144}
    assert (d["page"], d["limit"], d["total"]) == (1, 20, 4)  # 3 + the opening balance
    txs = d["transactions"]
    assert [(t["type"], t["amount"]) for t in txs] == [("debit", 1), ("credit", 5), ("debit", 10), ("credit", 150)]
    assert (txs[0]["balance_before"], txs[0]["balance_after"]) == (145, 144)
    assert txs[0]["game_id"] == "g1"
    assert "game_id" not in txs[-1]  # the opening balance: no game made it
    status, body = await rest.pw("GET", "/1001/wallets/EUR/transactions?type=debit&limit=1&page=2")
    assert status == 200
    d = body["data"]
    assert (d["page"], d["limit"], d["total"]) == (2, 1, 2)
    assert [(t["type"], t["amount"]) for t in d["transactions"]] == [("debit", 10)]


@pytest.mark.parametrize(
    ("query", "status"),
    [("?page=0", 400), ("?limit=101", 400), ("?limit=x", 400), ("?type=refund", 400), ("?page=-1", 400)],
)
async def test_private_history_bad_query(rest: Rest, query: str, status: int) -> None:
    got, body = await rest.pw("GET", "/1001/wallets/EUR/transactions" + query)
    assert got == status
    assert body["error"] is True


async def test_private_history_unknown_wallet_400(rest: Rest) -> None:
    assert (await rest.pw("GET", "/1001/wallets/USD/transactions"))[0] == 400


# --------------------------------------------------------------------------- cross-face consistency


async def test_groove_wager_is_visible_on_rest_and_rest_debit_on_groove(api: Api, rest: Rest, make_store: Any) -> None:
    sid = await api.session("1001")
    common = {"accountid": "1001", "gamesessionid": sid, "device": "desktop", "apiversion": "1.2"}
    body = await api.groove("wager", **common, gameid="80102", roundid="r1", transactionid="t1", betamount="20")
    assert body["code"] == 200
    _, view = await rest.pb("GET", "/player/1001")
    assert view["balances"][0]["available_balance"] == "130.00"
    _, hist = await rest.pw("GET", "/1001/wallets/EUR/transactions")
    top = hist["data"]["transactions"][0]
    assert (top["type"], top["amount"], top["balance_after"], top["_id"]) == ("debit", 20, 130, "wager:t1")
    # a REST debit is visible to getbalance
    status, _ = await rest.pb("POST", "/debit", credit(amount="30.5"))
    assert status == 200
    bal = await api.groove("getbalance", **common, nogsgameid="80102")
    assert (bal["balance"], bal["real_balance"], bal["bonus_balance"]) == (Decimal("99.5"), Decimal("49.5"), 50)
    await audit_ok(make_store)


async def test_audit_passes_after_rest_writes(rest: Rest, make_store: Any) -> None:
    await rest.pb("POST", "/credit", credit(amount="1.5"))
    await rest.pb("POST", "/debit", credit(amount="151.5", key="k2"))
    await rest.pw(
        "POST",
        "/1002/wallet/EUR/transactions",
        {"currency": "EUR", "amount": 3, "type": "credit", "idempotencyKey": "x"},
    )
    await audit_ok(make_store)


# --------------------------------------------------------------------------- OpenAPI document


def resolved(doc: Any, node: Any = ...) -> Any:
    """``doc`` with every ``$ref`` to ``#/components/schemas/...`` replaced by what it names."""
    node = doc if node is ... else node
    if isinstance(node, list):
        return [resolved(doc, v) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return resolved(doc, doc["components"]["schemas"][node["$ref"].rpartition("/")[2]])
    return {k: resolved(doc, v) for k, v in node.items()}


def check_schema(value: Any, schema: dict[str, Any], where: str) -> None:
    """A small validator for the subset the document uses: types, properties, required, enum."""
    if "oneOf" in schema:
        errors = []
        for alt in schema["oneOf"]:
            try:
                check_schema(value, alt, where)
            except AssertionError as exc:
                errors.append(exc)
            else:
                return
        raise AssertionError(f"{where}: matches no alternative: {errors}")
    if value is None:
        assert schema.get("nullable"), f"{where}: null not allowed"
        return
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), f"{where}: not an object"
        props = schema.get("properties")
        if props is not None and not schema.get("additionalProperties"):
            assert set(value) <= set(props), f"{where}: undocumented keys {set(value) - set(props)}"
            for k, v in value.items():
                check_schema(v, props[k], f"{where}.{k}")
        for k in schema.get("required", []):
            assert k in value, f"{where}: missing {k}"
    elif kind == "array":
        assert isinstance(value, list), f"{where}: not an array"
        for i, v in enumerate(value):
            check_schema(v, schema["items"], f"{where}[{i}]")
    elif kind == "string":
        assert isinstance(value, str), f"{where}: not a string"
    elif kind == "number":
        assert not isinstance(value, bool), f"{where}: not a number"
        assert isinstance(value, (int, Decimal)), f"{where}: not a number"
    elif kind == "integer":
        assert not isinstance(value, bool), f"{where}: not an integer"
        assert isinstance(value, int), f"{where}: not an integer"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: not a boolean"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"


async def test_openapi_document_matches_real_responses(api: Api, rest: Rest) -> None:
    resp = await rest.client.get("/openapi.json")
    assert resp.status == 200
    doc = resolved(loads(await resp.text()))
    paths = doc["paths"]
    tx = {"currency": "EUR", "amount": 2, "type": "debit", "meta": {"a": 1}, "idempotencyKey": "o1"}
    calls: list[tuple[str, str, str, Any, bool, int]] = [
        ("GET", "/api/player-balances/player/{player_id}", f"{PB}/player/1001", None, False, 200),
        ("GET", "/api/player-balances/player/{player_id}", f"{PB}/player/9999", None, False, 404),
        (
            "GET",
            "/api/player-balances/player/by-email/{email}",
            f"{PB}/player/by-email/p1001@example.com",
            None,
            False,
            200,
        ),
        (
            "POST",
            "/api/player-balances/batch",
            f"{PB}/batch",
            {"player_ids": ["1001", "x"], "include_summary": True},
            False,
            200,
        ),
        ("POST", "/api/player-balances/credit", f"{PB}/credit", credit(), False, 200),
        ("POST", "/api/player-balances/debit", f"{PB}/debit", credit(key="d1", amount="1000"), False, 422),
        ("POST", "/api/player-balances/debit", f"{PB}/debit", credit(key="d1"), False, 200),
        (
            "GET",
            "/api/private/users/{identity}/wallets/balance",
            "/api/private/users/1001/wallets/balance",
            None,
            True,
            200,
        ),
        (
            "POST",
            "/api/private/users/{identity}/wallet/{walletCode}/transactions",
            "/api/private/users/1001/wallet/EUR/transactions",
            tx,
            True,
            200,
        ),
        (
            "POST",
            "/api/private/users/{identity}/wallet/{walletCode}/transactions",
            "/api/private/users/1001/wallet/EUR/transactions",
            {},
            True,
            400,
        ),
        (
            "GET",
            "/api/private/users/{identity}/wallets/{currencyCode}/transactions",
            "/api/private/users/1001/wallets/EUR/transactions",
            None,
            True,
            200,
        ),
        (
            "GET",
            "/api/private/users/{identity}/wallets/{currencyCode}/transactions",
            "/api/private/users/1001/wallets/EUR/transactions",
            None,
            True,
            200,
        ),
    ]
    await api.admin("PUT", "/admin/operators/11/currencies/EUR", {"usd_rate": "1.08"}, expect=200)
    await api.admin("PUT", "/admin/operators/11/currencies/GOLD", {"usd_rate": "0.25"}, expect=201)
    cv = {"player_id": "1001", "from_currency": "EUR", "to_currency": "GOLD", "amount": "1", "idempotency_key": "v"}
    calls += [
        ("POST", "/api/player-balances/convert", f"{PB}/convert", cv, False, 200),
        ("POST", "/api/player-balances/convert", f"{PB}/convert", cv | {"amount": "1000"}, False, 409),
        ("GET", "/api/player-balances/currencies", f"{PB}/currencies", None, False, 200),
        (
            "GET",
            "/api/player-balances/player/{player_id}/history",
            f"{PB}/player/1001/history?currency=EUR&type=debit",
            None,
            False,
            200,
        ),
        (
            "GET",
            "/api/player-balances/player/{player_id}/history",
            f"{PB}/player/1001/history",
            None,
            False,
            400,
        ),
        (
            "GET",
            "/api/player-balances/player/{player_id}/analytics",
            f"{PB}/player/1001/analytics?period=day",
            None,
            False,
            200,
        ),
        ("GET", "/api/player-balances/player/{player_id}", f"{PB}/player/1001", None, False, 200),
    ]
    for method, template, path, body, private, expect in calls:
        status, reply, _ = await rest.call(method, path, body, private=private)
        assert status == expect, (path, reply)
        spec = paths[template][method.lower()]["responses"][str(status)]
        schema = spec["content"]["application/json"]["schema"]
        check_schema(reply, schema, f"{method} {path}")
    # every REST route is documented (the write flows' routes: tests/test_write_contract.py)
    from groove_adapter import flows
    from groove_adapter.rest import routes

    assert {r.path for r in [*routes(), *flows.routes()]} == set(paths)


async def test_rotating_a_game_key_retires_the_old_one_at_once(api: Api, rest: Rest, client: TestClient) -> None:
    status, _ = await rest.pb("GET", "/player/1001")
    assert status == 200
    body = await api.admin("POST", "/admin/games/g1/rotate-key", expect=200)
    new_key = body["secret_key"]
    assert new_key.startswith("gwk_")
    assert new_key != rest.key
    status, _ = await rest.pb("GET", "/player/1001")  # the old key
    assert status == 401
    status, _ = await rest.pb("GET", "/player/1001", key=new_key)
    assert status == 200
    status, _ = await rest.pw("GET", "/1001/wallets/balance", key=new_key)
    assert status == 200
    await api.admin("POST", "/admin/games/nope/rotate-key", expect=404)
    resp = await client.post("/admin/games/g1/rotate-key")  # no admin token
    assert resp.status == 401


async def test_a_bad_wallet_path_is_refused_before_the_body_is_read(rest: Rest) -> None:
    """The route table's body parse keeps the handler's order: path parameters first."""
    base = "/api/private/users"
    status, reply, _ = await rest.call("POST", f"{base}/bad%20id/wallet/EUR/transactions", {"x": 1}, private=True)
    assert (status, reply) == (400, {"error": True, "message": "identity must match [0-9A-Za-z._:@-]{1,128}"})
    status, reply, _ = await rest.call("POST", f"{base}/1001/wallet/eur/transactions", {"x": 1}, private=True)
    assert (status, reply) == (400, {"error": True, "message": "walletCode must be a currency code like EUR"})
    status, reply, _ = await rest.call("POST", f"{base}/1001/wallet/EUR/transactions", {"x": 1}, private=True)
    assert status == 400
    assert reply["message"].startswith("invalid request: ")


@pytest.mark.parametrize("text", ["a\x00b", "a\ud800b"])
async def test_text_no_backend_can_store_is_refused_on_both(rest: Rest, text: str) -> None:
    """A NUL in a body's string was a 503 on PostgreSQL (which refuses it) and stored on
    SQLite; so was an unpaired surrogate where the model takes any JSON (``meta``).  Both
    answer 400 now, before anything is read or written (found by schemathesis once
    /openapi.json gave the e-mail pattern).  Typed string fields refused surrogates already."""
    expected = "invalid request: a string holds NUL (\\u0000) or an unpaired surrogate"
    status, reply, _ = await rest.call("POST", f"{PB}/credit", credit(reason=text))
    assert status == 400
    assert reply["error"] == expected or "\x00" not in text
    status, reply, _ = await rest.call("POST", f"{PB}/batch", {"player_emails": [f"p{text}@example.com"]})
    assert status == 400  # not an e-mail address (schemas.common.EMAIL_PATTERN)
    tx = {"currency": "EUR", "amount": 1, "type": "credit", "meta": {"note": text}, "idempotencyKey": "n1"}
    status, reply, _ = await rest.call("POST", "/api/private/users/1001/wallet/EUR/transactions", tx, private=True)
    assert (status, reply) == (400, {"error": True, "message": expected})
    status, reply, _ = await rest.call("GET", f"{PB}/player/1001")
    assert reply["balances"][0]["available_balance"] == "150.00"  # nothing moved


async def test_an_email_with_nul_is_not_an_email(api: Api, rest: Rest) -> None:
    """``by-email/p%00@example.com`` was a lookup (404 on SQLite, 503 on PostgreSQL, which
    refuses NUL in text), and the admin API stored such an address on SQLite (503 on
    PostgreSQL); it is not an e-mail address: 400 on both."""
    status, reply, _ = await rest.call("GET", f"{PB}/player/by-email/p%00@example.com")
    assert (status, reply["error"]) == (400, "email is not a valid e-mail address")
    player = {"operator_id": "11", "name": "N", "email": "n\x00@example.com", "country": "MT", "city": "V"}
    await api.admin("POST", "/admin/players", player, expect=400)
