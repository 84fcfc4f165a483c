"""The operator admin API under /admin, through the real HTTP interface."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from groove_adapter.jsonout import loads
from tests.conftest import ADMIN_TOKEN, Api
from wallet_store.audit import run_audit

ADMIN_ROUTES = [
    ("POST", "/admin/operators"),
    ("GET", "/admin/operators/11"),
    ("POST", "/admin/players"),
    ("GET", "/admin/players/5179068"),
    ("POST", "/admin/players/5179068/block"),
    ("POST", "/admin/players/5179068/unblock"),
    ("POST", "/admin/players/5179068/self-exclude"),
    ("POST", "/admin/players/5179068/adjust"),
    ("POST", "/admin/sessions"),
    ("DELETE", "/admin/sessions/11_x"),
]


def player_body(account_id: str | None = "5179068", **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "operator_id": "11",
        "name": "Demo Player",
        "email": "demo.player@example.com",
        "country": "MT",
        "city": "Valletta",
        "currency": "EUR",
        "real_balance": "100",
        "bonus_balance": "50",
    }
    if account_id is not None:
        body["account_id"] = account_id
    return body | kw


async def send(client: TestClient, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
    resp = (
        await client.request(method, path, **kw)
        if body is None
        else await client.request(method, path, json=body, **kw)
    )
    text = await resp.text()
    return resp.status, (loads(text) if text else None)


async def audit(make_store: Any) -> Any:
    """Run the audit on a fresh store opened on the same database as the app."""
    store = make_store()
    await store.open()
    try:
        return await run_audit(store)
    finally:
        await store.close()


async def journal(make_store: Any, account_id: str) -> list[Any]:
    store = make_store()
    await store.open()
    try:
        return [e async for e in store.journal(account_id)]
    finally:
        await store.close()


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
async def test_401_without_token(client: TestClient, method: str, path: str) -> None:
    status, body = await send(client, method, path, {})
    assert status == 401
    assert "error" in body


@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong-token",
        f"Bearer {ADMIN_TOKEN}x",
        f"Bearer {ADMIN_TOKEN[:-1]}",
        ADMIN_TOKEN,
        f"Basic {ADMIN_TOKEN}",
        f"bearer{ADMIN_TOKEN}",
        "Bearer ",
        "",
    ],
)
async def test_401_with_wrong_token(api: Api, client: TestClient, header: str) -> None:
    await api.operator("11")
    status, body = await send(client, "GET", "/admin/operators/11", headers={"Authorization": header})
    assert status == 401
    assert ADMIN_TOKEN not in str(body)
    status, _ = await send(
        client,
        "POST",
        "/admin/operators",
        {"operator_id": "12", "name": "X", "currency": "EUR"},
        headers={"Authorization": header},
    )
    assert status == 401
    # nothing was created by the refused request
    assert (await send(client, "GET", "/admin/operators/12", headers=api.auth))[0] == 404


async def test_401_carries_www_authenticate(client: TestClient) -> None:
    resp = await client.get("/admin/operators/11")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"


# --------------------------------------------------------------------------- operators


async def test_create_and_get_operator(api: Api) -> None:
    created = await api.operator("11", debit_order="bonus_money", start_real="10", start_bonus="5.5")
    assert created["operator_id"] == "11"
    assert created["currency"] == "EUR"
    assert created["debit_order"] == "bonus_money"
    assert (created["start_real"], created["start_bonus"]) == ("10", "5.5")
    got = await api.admin("GET", "/admin/operators/11", expect=200)
    assert got == created


async def test_operator_signature_secret_is_never_returned(api: Api) -> None:
    created = await api.operator("11", signature_secret="s3cret-signing-key")
    got = await api.admin("GET", "/admin/operators/11", expect=200)
    for body in (created, got):
        assert body["signature_enabled"] is True
        assert "s3cret-signing-key" not in str(body)


async def test_duplicate_operator_409(api: Api) -> None:
    await api.operator("11")
    body = await api.admin(
        "POST", "/admin/operators", {"operator_id": "11", "name": "Again", "currency": "USD"}, expect=409
    )
    assert "error" in body
    # the original is unchanged
    assert (await api.admin("GET", "/admin/operators/11", expect=200))["currency"] == "EUR"


async def test_unknown_operator_404(api: Api) -> None:
    body = await api.admin("GET", "/admin/operators/99", expect=404)
    assert "error" in body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"operator_id": "1-1", "name": "X", "currency": "EUR"}, "operator_id"),
        ({"operator_id": "", "name": "X", "currency": "EUR"}, "operator_id"),
        ({"operator_id": "11", "name": "X", "currency": "eur"}, "currency"),
        ({"operator_id": "11", "name": "X", "currency": "EU"}, "currency"),
        ({"operator_id": "11", "name": "X"}, "currency"),
        ({"operator_id": "11", "name": "X", "currency": "EUR", "debit_order": "random"}, "debit_order"),
        ({"operator_id": "11", "name": "X", "currency": "EUR", "start_real": "-1"}, "start_real"),
        ({"operator_id": "11", "name": "X", "currency": "EUR", "start_bonus": "1e3"}, "start_bonus"),
        ({"operator_id": "11", "name": "X", "currency": "EUR", "surprise": 1}, "surprise"),
        ({"operator_id": "11", "name": "X", "currency": "EUR", "allowed_networks": ["not-a-net"]}, "allowed_networks"),
    ],
)
async def test_operator_bad_body_400(api: Api, body: dict[str, Any], field: str) -> None:
    reply = await api.admin("POST", "/admin/operators", body, expect=400)
    assert any(f["field"].split(".")[0] == field for f in reply["fields"]), reply
    assert (await send(api.client, "GET", "/admin/operators/11", headers=api.auth))[0] == 404


# --------------------------------------------------------------------------- players


async def test_create_and_get_player(api: Api, client: TestClient) -> None:
    await api.operator("11")
    created = await api.admin("POST", "/admin/players", player_body(), expect=201)
    expected_wallet = {
        "currency": "EUR",
        "real_balance": "100",
        "bonus_balance": "50",
        "reserved_balance": "0",
        "balance": "150",
    }
    assert created["account_id"] == "5179068"
    assert created["operator_id"] == "11"
    assert created["status"] == "active"
    assert created["country"] == "MT"
    assert created["city"] == "Valletta"
    assert created["currency"] == "EUR"
    assert created["wallets"] == [expected_wallet]
    got = await api.admin("GET", "/admin/players/5179068", expect=200)
    assert got["wallets"] == [expected_wallet]
    assert got["email"] == "demo.player@example.com"
    assert got["last_active"] is None
    assert got["created_at"] == "2026-01-15T12:00:00.000000Z"


async def test_account_id_generated_when_absent(api: Api) -> None:
    await api.operator("11")
    a = await api.admin("POST", "/admin/players", player_body(None), expect=201)
    b = await api.admin("POST", "/admin/players", player_body(None, email="second@example.com"), expect=201)
    for p in (a, b):
        assert re.fullmatch(r"[0-9A-Za-z]{1,60}", p["account_id"]), p
    assert a["account_id"] != b["account_id"]
    got = await api.admin("GET", f"/admin/players/{a['account_id']}", expect=200)
    assert got["wallets"][0]["real_balance"] == "100"


async def test_balances_default_to_operator_start_amounts(api: Api, make_store: Any) -> None:
    await api.operator("11", start_real="20.5", start_bonus="7")
    body = player_body()
    del body["real_balance"], body["bonus_balance"]
    created = await api.admin("POST", "/admin/players", body, expect=201)
    assert created["wallets"][0]["real_balance"] == "20.5"
    assert created["wallets"][0]["bonus_balance"] == "7"
    assert await api.balances("5179068") == (Decimal("20.5"), Decimal("7"))
    # only one given: the other takes the operator's default
    created = await api.admin(
        "POST",
        "/admin/players",
        player_body("p2", email="p2@example.com", real_balance="1", bonus_balance=None),
        expect=201,
    )
    assert (created["wallets"][0]["real_balance"], created["wallets"][0]["bonus_balance"]) == ("1", "7")
    # journaled as the opening balance
    entries = await journal(make_store, "5179068")
    assert len(entries) == 1
    assert entries[0].kind == "initial"
    assert (entries[0].real_delta, entries[0].bonus_delta) == (Decimal("20.5"), Decimal("7"))
    report = await audit(make_store)
    assert report.ok, report.text()


async def test_zero_start_balances_without_operator_defaults(api: Api) -> None:
    await api.operator("11")
    body = player_body()
    del body["real_balance"], body["bonus_balance"]
    await api.admin("POST", "/admin/players", body, expect=201)
    assert await api.balances("5179068") == (Decimal(0), Decimal(0))


async def test_player_currency_defaults_to_operator(api: Api) -> None:
    await api.operator("11", currency="GBP")
    body = player_body()
    del body["currency"]
    created = await api.admin("POST", "/admin/players", body, expect=201)
    assert created["currency"] == "GBP"
    assert created["wallets"][0]["currency"] == "GBP"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"account_id": "5179-068"}, "account_id"),
        ({"account_id": "a" * 61}, "account_id"),
        ({"account_id": ""}, "account_id"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "€"}, "currency"),
        ({"real_balance": "-1"}, "real_balance"),
        ({"bonus_balance": "-0.0000000001"}, "bonus_balance"),
        ({"real_balance": "NaN"}, "real_balance"),
        ({"real_balance": "1.00000000001"}, "real_balance"),
        ({"real_balance": "1" * 23}, "real_balance"),
        ({"country": "Malta"}, "country"),
        ({"country": "mt"}, "country"),
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"operator_id": None}, "operator_id"),
        ({"vip": True}, "vip"),
        ({"balance": "100"}, "balance"),
    ],
)
async def test_player_bad_body_400(api: Api, override: dict[str, Any], field: str) -> None:
    await api.operator("11")
    reply = await api.admin("POST", "/admin/players", player_body() | override, expect=400)
    assert reply["error"]
    assert any(f["field"].split(".")[0] == field for f in reply["fields"]), reply
    # nothing created
    account = override.get("account_id", "5179068")
    if isinstance(account, str) and re.fullmatch(r"[0-9A-Za-z]{1,60}", account):
        await api.admin("GET", f"/admin/players/{account}", expect=404)


@pytest.mark.parametrize("raw", [b"not json", b"{", b"[1, 2]", b'"string"', b"{'a': 1}", b'{"real_balance": NaN}'])
async def test_non_json_body_400(api: Api, client: TestClient, raw: bytes) -> None:
    await api.operator("11")
    for path in ("/admin/players", "/admin/operators", "/admin/sessions"):
        resp = await client.post(path, data=raw, headers=api.auth | {"Content-Type": "application/json"})
        assert resp.status == 400, (path, raw)
        body = loads(await resp.text())
        assert body["fields"][0]["field"] == "body"


async def test_unknown_operator_for_player_404(api: Api) -> None:
    body = await api.admin("POST", "/admin/players", player_body(operator_id="99"), expect=404)
    assert "error" in body
    await api.admin("GET", "/admin/players/5179068", expect=404)


async def test_unknown_player_404(api: Api) -> None:
    await api.operator("11")
    for method, path, body in [
        ("GET", "/admin/players/424242", None),
        ("POST", "/admin/players/424242/block", None),
        ("POST", "/admin/players/424242/unblock", None),
        ("POST", "/admin/players/424242/self-exclude", None),
        (
            "POST",
            "/admin/players/424242/adjust",
            {"currency": "EUR", "real": "1", "reason": "x", "idempotency_key": "k"},
        ),
        ("POST", "/admin/sessions", {"account_id": "424242"}),
    ]:
        reply = await api.admin(method, path, body, expect=404)
        assert "error" in reply


async def test_malformed_account_in_path_400(api: Api) -> None:
    reply = await api.admin("GET", "/admin/players/" + "a" * 61, expect=400)
    assert reply["fields"][0]["field"] == "account_id"


async def test_duplicate_account_409(api: Api) -> None:
    await api.operator("11")
    await api.admin("POST", "/admin/players", player_body(), expect=201)
    reply = await api.admin(
        "POST", "/admin/players", player_body(email="other@example.com", real_balance="999"), expect=409
    )
    assert "error" in reply
    assert await api.balances("5179068") == (Decimal("100"), Decimal("50"))


async def test_duplicate_account_across_operators_409(api: Api) -> None:
    """Account ids are the casino's own ids: unique globally, not per operator."""
    await api.operator("11")
    await api.operator("22")
    await api.admin("POST", "/admin/players", player_body(), expect=201)
    await api.admin("POST", "/admin/players", player_body(operator_id="22", email="x@example.com"), expect=409)
    assert (await api.admin("GET", "/admin/players/5179068", expect=200))["operator_id"] == "11"


async def test_duplicate_email_within_operator_409(api: Api) -> None:
    await api.operator("11")
    await api.operator("22")
    await api.admin("POST", "/admin/players", player_body("a1"), expect=201)
    await api.admin("POST", "/admin/players", player_body("a2"), expect=409)
    await api.admin("GET", "/admin/players/a2", expect=404)
    # e-mail addresses compare case-insensitively
    await api.admin("POST", "/admin/players", player_body("a3", email="Demo.Player@Example.COM"), expect=409)
    # the same e-mail under another operator is fine
    created = await api.admin("POST", "/admin/players", player_body("b1", operator_id="22"), expect=201)
    assert created["operator_id"] == "22"
    # players without an e-mail do not collide
    await api.admin("POST", "/admin/players", player_body("n1", email=None), expect=201)
    await api.admin("POST", "/admin/players", player_body("n2", email=None), expect=201)


# --------------------------------------------------------------------------- status


async def test_block_unblock_self_exclude(api: Api, seeded: dict[str, str]) -> None:
    wager = {"gameid": "80102", "roundid": "r1", "betamount": "1", **seeded}

    reply = await api.admin("POST", "/admin/players/5179068/block", expect=200)
    assert reply == {"account_id": "5179068", "status": "blocked"}
    assert (await api.admin("GET", "/admin/players/5179068", expect=200))["status"] == "blocked"
    assert (await api.groove("wager", transactionid="t1", **wager))["code"] == 1035

    reply = await api.admin("POST", "/admin/players/5179068/unblock", expect=200)
    assert reply == {"account_id": "5179068", "status": "active"}
    assert (await api.admin("GET", "/admin/players/5179068", expect=200))["status"] == "active"
    assert (await api.groove("wager", transactionid="t2", **wager))["code"] == 200

    reply = await api.admin("POST", "/admin/players/5179068/self-exclude", expect=200)
    assert reply == {"account_id": "5179068", "status": "self_excluded"}
    assert (await api.admin("GET", "/admin/players/5179068", expect=200))["status"] == "self_excluded"
    assert (await api.groove("wager", transactionid="t3", **wager))["code"] == 1035
    # a blocked or self-excluded player cannot start a new game session
    status, _ = await send(api.client, "POST", "/admin/sessions", {"account_id": "5179068"}, headers=api.auth)
    assert status == 403
    # only the one successful wager moved money
    assert await api.balances("5179068") == (Decimal("99"), Decimal("50"))


async def test_block_is_idempotent(api: Api, seeded: dict[str, str]) -> None:
    await api.admin("POST", "/admin/players/5179068/block", expect=200)
    reply = await api.admin("POST", "/admin/players/5179068/block", expect=200)
    assert reply["status"] == "blocked"


# --------------------------------------------------------------------------- adjust


def adjust_body(key: str = "k1", **kw: Any) -> dict[str, Any]:
    return {"currency": "EUR", "real": "10.5", "bonus": "-5", "reason": "goodwill", "idempotency_key": key} | kw


async def test_adjust_is_journaled(api: Api, seeded: dict[str, str], make_store: Any) -> None:
    reply = await api.admin("POST", "/admin/players/5179068/adjust", adjust_body(), expect=201)
    assert reply["replayed"] is False
    assert reply["account_id"] == "5179068"
    assert reply["reference"]
    assert reply["wallet"]["real_balance"] == "110.5"
    assert reply["wallet"]["bonus_balance"] == "45"
    assert await api.balances("5179068") == (Decimal("110.5"), Decimal("45"))
    entries = await journal(make_store, "5179068")
    assert [e.kind for e in entries] == ["initial", "adjust"]
    last = entries[-1]
    assert (last.real_delta, last.bonus_delta) == (Decimal("10.5"), Decimal("-5"))
    assert (last.real_before, last.bonus_before) == (Decimal("100"), Decimal("50"))
    assert (last.real_after, last.bonus_after) == (Decimal("110.5"), Decimal("45"))
    assert last.reference == reply["reference"]
    assert last.reason == "goodwill"
    report = await audit(make_store)
    assert report.ok, report.text()


async def test_adjust_new_currency_creates_wallet(api: Api, seeded: dict[str, str], make_store: Any) -> None:
    await api.admin("POST", "/admin/players/5179068/adjust", adjust_body(currency="USD", bonus="0"), expect=201)
    assert await api.balances("5179068", "USD") == (Decimal("10.5"), Decimal(0))
    assert await api.balances("5179068", "EUR") == (Decimal("100"), Decimal("50"))
    assert (await audit(make_store)).ok


async def test_adjust_replay_same_key(api: Api, seeded: dict[str, str], make_store: Any) -> None:
    first = await api.admin("POST", "/admin/players/5179068/adjust", adjust_body(), expect=201)
    again = await api.admin("POST", "/admin/players/5179068/adjust", adjust_body(), expect=200)
    assert again["replayed"] is True
    assert again["reference"] == first["reference"]
    assert again["wallet"] == first["wallet"]
    # applied once
    assert await api.balances("5179068") == (Decimal("110.5"), Decimal("45"))
    assert len(await journal(make_store, "5179068")) == 2
    # a new key is a new adjustment
    other = await api.admin("POST", "/admin/players/5179068/adjust", adjust_body("k2"), expect=201)
    assert other["reference"] != first["reference"]
    assert await api.balances("5179068") == (Decimal("121"), Decimal("40"))


@pytest.mark.parametrize("change", [{"real": "10.6"}, {"bonus": "-4"}, {"reason": "other"}, {"currency": "USD"}])
async def test_adjust_same_key_different_body_409(api: Api, seeded: dict[str, str], change: dict[str, str]) -> None:
    await api.admin("POST", "/admin/players/5179068/adjust", adjust_body(), expect=201)
    reply = await api.admin("POST", "/admin/players/5179068/adjust", adjust_body() | change, expect=409)
    assert "error" in reply
    assert await api.balances("5179068") == (Decimal("110.5"), Decimal("45"))
    wallets = (await api.admin("GET", "/admin/players/5179068", expect=200))["wallets"]
    assert [w["currency"] for w in wallets] == ["EUR"]


async def test_adjust_replay_compares_amounts_exactly(api: Api, seeded: dict[str, str]) -> None:
    """``10.50`` is the same amount as ``10.5``: a replay, not a conflict."""
    first = await api.admin("POST", "/admin/players/5179068/adjust", adjust_body(), expect=201)
    again = await api.admin("POST", "/admin/players/5179068/adjust", adjust_body(real="10.50"), expect=200)
    assert (again["replayed"], again["reference"]) == (True, first["reference"])
    assert await api.balances("5179068") == (Decimal("110.5"), Decimal("45"))


async def test_adjust_below_zero_422(api: Api, seeded: dict[str, str], make_store: Any) -> None:
    before = await api.admin("GET", "/admin/players/5179068", expect=200)
    for body in (
        adjust_body("neg1", real="-100.0000000001", bonus="0"),
        adjust_body("neg2", real="0", bonus="-50.0000000001"),
        adjust_body("neg3", real="1", bonus="-51"),
    ):
        reply = await api.admin("POST", "/admin/players/5179068/adjust", body, expect=422)
        assert "error" in reply
    assert await api.admin("GET", "/admin/players/5179068", expect=200) == before
    assert len(await journal(make_store, "5179068")) == 1
    # down to exactly zero is allowed
    reply = await api.admin(
        "POST", "/admin/players/5179068/adjust", adjust_body("ok", real="-100", bonus="-50"), expect=201
    )
    assert (reply["wallet"]["real_balance"], reply["wallet"]["bonus_balance"]) == ("0", "0")
    assert (await audit(make_store)).ok


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"real": "0", "bonus": "0"}, "real"),
        ({"real": "abc"}, "real"),
        ({"real": "1e2"}, "real"),
        ({"currency": "eur"}, "currency"),
        ({"reason": ""}, "reason"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_adjust_bad_body_400(api: Api, seeded: dict[str, str], override: dict[str, Any], field: str) -> None:
    reply = await api.admin("POST", "/admin/players/5179068/adjust", adjust_body() | override, expect=400)
    assert any(f["field"].split(".")[0] == field for f in reply["fields"]), reply
    assert await api.balances("5179068") == (Decimal("100"), Decimal("50"))


async def test_adjust_missing_idempotency_key_400(api: Api, seeded: dict[str, str]) -> None:
    body = adjust_body()
    del body["idempotency_key"]
    reply = await api.admin("POST", "/admin/players/5179068/adjust", body, expect=400)
    assert any(f["field"] == "idempotency_key" for f in reply["fields"])


# --------------------------------------------------------------------------- sessions


async def test_open_session(api: Api, seeded: dict[str, str]) -> None:
    reply = await api.admin(
        "POST", "/admin/sessions", {"account_id": "5179068", "game_id": "80102", "ttl_seconds": 60}, expect=201
    )
    sid = reply["gamesessionid"]
    assert sid.startswith("11_")
    assert 3 < len(sid) <= 64
    assert reply["expires_at"] == "2026-01-15T12:01:00.000000Z"
    assert reply["account_id"] == "5179068"
    assert reply["currency"] == "EUR"
    body = await api.groove("getbalance", nogsgameid="80102", **(seeded | {"gamesessionid": sid}))
    assert body["code"] == 200


async def test_session_ids_are_unique_and_prefixed_for_a_long_operator_id(api: Api) -> None:
    op = "A" * 20
    await api.operator(op)
    await api.player("77", operator_id=op)
    sids = {await api.session("77") for _ in range(5)}
    assert len(sids) == 5
    for sid in sids:
        assert sid.startswith(op + "_")
        assert len(sid) <= 64


async def test_session_default_ttl(api: Api, seeded: dict[str, str]) -> None:
    reply = await api.admin("POST", "/admin/sessions", {"account_id": "5179068"}, expect=201)
    assert reply["expires_at"] == "2026-01-15T13:00:00.000000Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "account_id"),
        ({"account_id": "bad-id"}, "account_id"),
        ({"account_id": "5179068", "ttl_seconds": 0}, "ttl_seconds"),
        ({"account_id": "5179068", "ttl_seconds": -5}, "ttl_seconds"),
        ({"account_id": "5179068", "currency": "eur"}, "currency"),
        ({"account_id": "5179068", "unknown": 1}, "unknown"),
    ],
)
async def test_open_session_bad_body_400(api: Api, seeded: dict[str, str], body: dict[str, Any], field: str) -> None:
    reply = await api.admin("POST", "/admin/sessions", body, expect=400)
    assert any(f["field"].split(".")[0] == field for f in reply["fields"]), reply


async def test_delete_session_closes_it(api: Api, seeded: dict[str, str]) -> None:
    sid = seeded["gamesessionid"]
    assert (await api.groove("getbalance", nogsgameid="80102", **seeded))["code"] == 200
    reply = await api.admin("DELETE", f"/admin/sessions/{sid}", expect=200)
    assert reply == {"gamesessionid": sid, "closed": True}
    assert (await api.groove("getbalance", nogsgameid="80102", **seeded))["code"] == 1000
    assert (await api.groove("getaccount", **seeded))["code"] == 1000
    # closing again: it is no longer an open session
    await api.admin("DELETE", f"/admin/sessions/{sid}", expect=404)


async def test_delete_unknown_session_404(api: Api, seeded: dict[str, str]) -> None:
    reply = await api.admin("DELETE", "/admin/sessions/11_00000000-0000-0000-0000-000000000000", expect=404)
    assert "error" in reply
    # the live session is untouched
    assert (await api.groove("getbalance", nogsgameid="80102", **seeded))["code"] == 200


async def test_delete_session_only_closes_that_one(api: Api, seeded: dict[str, str]) -> None:
    other = await api.session("5179068")
    await api.admin("DELETE", f"/admin/sessions/{other}", expect=200)
    assert (await api.groove("getbalance", nogsgameid="80102", **seeded))["code"] == 200
    assert (await api.groove("getbalance", nogsgameid="80102", **(seeded | {"gamesessionid": other})))["code"] == 1000
