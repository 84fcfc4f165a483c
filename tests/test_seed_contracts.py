"""The seeds' wire contracts, each checked against the seed's own words, through HTTP on both backends.

The seed documents live outside the repository (``../shared/seeds/`` next to the checkout,
or ``$GW_SEEDS_DIR``); they are read at test time, never copied: the private wallet API's
OpenAPI documents are parsed out of ``private-wallet-api.md`` and real responses are
validated against their schemas.  Without the seeds these tests skip, saying so.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from aiohttp.test_utils import TestClient

from groove_adapter.jsonout import dumps, loads
from tests.conftest import Api, FakeClock
from tests.test_flows_transfers import E1, E2, PB, Flows, audit_ok, make_world
from tests.test_rest_api import resolved
from wallet_store.model import iso

PW = "/api/private/users"
ROOT = Path(__file__).resolve().parents[1]


def seed(name: str) -> str:
    """The text of one seed document (skips, naming it, when the seeds are not here)."""
    env = os.environ.get("GW_SEEDS_DIR")
    dirs = [Path(env)] if env else [p / "shared" / "seeds" for p in list(ROOT.parents)[:3]]
    for d in dirs:
        if (d / name).is_file():
            return (d / name).read_text(encoding="utf-8")
    pytest.skip(f"seed {name} not found in {[str(d) for d in dirs]} (set GW_SEEDS_DIR)")


def seed_says(text: str, words: str) -> None:
    """The seed states ``words`` (whitespace-insensitive): the test quotes what it checks."""
    assert " ".join(words.split()) in " ".join(text.split()), f"the seed no longer says: {words}"


# --------------------------------------------------------------------------- the private API's spec


@dataclass(frozen=True)
class SeedOp:
    operation: dict[str, Any]
    components: dict[str, Any]
    security: list[dict[str, Any]]


def private_spec() -> dict[tuple[str, str], SeedOp]:
    """(METHOD, path template) -> the operation, from every ```json block of the seed."""
    text = seed("private-wallet-api.md")
    docs = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text, re.S)]
    assert docs, "no OpenAPI document in private-wallet-api.md"
    ops: dict[tuple[str, str], SeedOp] = {}
    for doc in docs:
        for path, item in doc["paths"].items():
            for method, op in item.items():
                ops[(method.upper(), path)] = SeedOp(op, doc.get("components", {}), doc.get("security", []))
    return ops


def violations(op: SeedOp, status: int, content_type: str, body: Any) -> list[str]:
    """Why a response does not conform to the seed's operation (empty when it does)."""
    responses = op.operation["responses"]
    if str(status) not in responses:
        return [f"status {status} is not one the spec lists ({sorted(responses)})"]
    if content_type != "application/json":
        return [f"content type {content_type}"]
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    validator = jsonschema_rs.Draft4Validator({"allOf": [schema], "components": op.components}, validate_formats=True)
    return [e.message for e in validator.iter_errors(body)]


class Private:
    """Calls of the private wallet API, each checked against the seed's operation."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.key = key
        self.spec = private_spec()
        self.problems: list[str] = []
        self.seen: dict[tuple[str, str], set[int]] = {}

    async def call(
        self,
        method: str,
        template: str,
        params: dict[str, str],
        body: Any = None,
        *,
        query: str = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        path = template.format(**params)
        hdrs = {"x-api-key": self.key} if headers is None else headers
        data = None if body is None else dumps(body)
        resp = await self.client.request(
            method, path + query, data=data, headers=hdrs | {"Content-Type": "application/json"}
        )
        text = await resp.text()
        reply = loads(text) if text else None
        key = (method, template)
        self.seen.setdefault(key, set()).add(resp.status)
        for v in violations(self.spec[key], resp.status, resp.content_type, reply):
            self.problems.append(f"{method} {path}{query} -> {resp.status}: {v}")
        return resp.status, reply


BAL = "/api/private/users/{identity}/wallets/balance"
TXN = "/api/private/users/{identity}/wallet/{walletCode}/transactions"
HIST = "/api/private/users/{identity}/wallets/{currencyCode}/transactions"


async def world_with_holds(flows: Flows) -> None:
    """Rows no game made: 1001's opening balance, a claimed transfer (hold, hold_capture),
    a cancelled one (hold, release) and a claimed send; 1002's transfer credit."""
    tid = await flows.transfer("1001", "1002", "10", "w1")
    await flows.verify(tid, await flows.code_for(tid))
    await flows.claim(tid, "1002")
    tid2 = await flows.transfer("1001", "1002", "5", "w2")
    await flows.post("/api/transfers/cancel-transfer", {"transfer_id": tid2})
    s = await flows.post(
        "/api/currency-sends/initiate-send",
        {"sender_player_id": "1001", "recipient_email": E2, "currency": "EUR", "amount": "3", "idempotency_key": "w3"},
    )
    await flows.post(
        "/api/currency-sends/verify-sms",
        {"send_id": s["send_id"], "verification_code": await flows.code_for(s["send_id"])},
    )
    await flows.post("/api/currency-sends/claim-currency", {"send_id": s["send_id"], "recipient_email": E2})


@pytest.fixture
async def flows(client: TestClient, api: Api, make_store: Any) -> AsyncIterator[Flows]:
    yield await make_world(client, api)
    await audit_ok(make_store)


# --------------------------------------------------------------------------- 10. private wallet API


async def test_every_private_response_is_valid_against_the_seeds_own_schemas(flows: Flows) -> None:
    """Issue #15 item 10: ``game_id`` ("type": "string") was null on rows without a game, an
    unknown identity or wallet was a 404, a reused key a 409: neither is a status the spec lists."""
    pw = Private(flows.client, flows.key)
    await world_with_holds(flows)
    me = {"identity": "1001"}
    # balance: found, unknown identity, malformed identity, no key
    await pw.call("GET", BAL, me)
    assert (await pw.call("GET", BAL, {"identity": "9999"}))[0] == 400
    assert (await pw.call("GET", BAL, {"identity": "bad!id"}))[0] == 400
    assert (await pw.call("GET", BAL, me, headers={}))[0] == 401
    # transactions: credit, debit, replay, reused key, insufficient funds, unknown identity / wallet
    tx = {"currency": "EUR", "amount": 2, "type": "debit", "reason": "shop", "idempotencyKey": "k1"}
    eur = me | {"walletCode": "EUR"}
    assert (await pw.call("POST", TXN, eur, tx))[0] == 200
    assert (await pw.call("POST", TXN, eur, tx))[0] == 200
    assert (await pw.call("POST", TXN, eur, tx | {"type": "credit", "idempotencyKey": "k2"}))[0] == 200
    assert (await pw.call("POST", TXN, eur, tx | {"amount": 3}))[0] == 400  # reused key
    assert (await pw.call("POST", TXN, eur, tx | {"amount": 10_000, "idempotencyKey": "k3"}))[0] == 400
    assert (await pw.call("POST", TXN, {"identity": "9999", "walletCode": "EUR"}, tx))[0] == 400
    usd = tx | {"currency": "USD", "idempotencyKey": "k4"}
    assert (await pw.call("POST", TXN, me | {"walletCode": "USD"}, usd))[0] == 400
    assert (await pw.call("POST", TXN, eur, tx, headers={"x-api-key": "gwk_wrong"}))[0] == 401
    # history of both players, every filter and page; unknown identity / wallet; no key
    for ident in ("1001", "1002"):
        for query in ("", "?type=credit", "?type=debit", "?limit=1&page=2"):
            status, body = await pw.call("GET", HIST, {"identity": ident, "currencyCode": "EUR"}, query=query)
            assert status == 200, body
    assert (await pw.call("GET", HIST, {"identity": "9999", "currencyCode": "EUR"}))[0] == 400
    assert (await pw.call("GET", HIST, {"identity": "1001", "currencyCode": "USD"}))[0] == 400
    assert (await pw.call("GET", HIST, {"identity": "1001", "currencyCode": "EUR"}, headers={}))[0] == 401

    assert pw.problems == []
    assert set(pw.seen) == set(pw.spec), "every operation the seed defines is exercised"
    for key, statuses in pw.seen.items():
        assert {200, 400, 401} <= statuses, key
    # the rows no game made are in the list (the seed's schema has no null game_id for them)
    _, body = await pw.call("GET", HIST, me | {"currencyCode": "EUR"}, query="?limit=100")
    kinds = [(t["meta"]["kind"], "game_id" in t) for t in body["data"]["transactions"]]
    assert ("initial", False) in kinds
    assert ("hold", False) in kinds
    assert ("api_debit", True) in kinds


async def test_private_api_accepts_the_bearer_auth_its_security_names(flows: Flows) -> None:
    """Issue #15 item 10: ``"security":[{"ApiKeyAuth":[]},{"BearerAuth":[]}]`` - either one."""
    pw = Private(flows.client, flows.key)
    named = {name for op in pw.spec.values() for alt in op.security for name in alt}
    assert named == {"ApiKeyAuth", "BearerAuth"}
    bearer = {"Authorization": f"Bearer {flows.key}"}
    me = {"identity": "1001"}
    tx = {"currency": "EUR", "amount": 1, "type": "credit", "idempotencyKey": "b1"}
    assert (await pw.call("GET", BAL, me, headers=bearer))[0] == 200
    assert (await pw.call("POST", TXN, me | {"walletCode": "EUR"}, tx, headers=bearer))[0] == 200
    assert (await pw.call("GET", HIST, me | {"currencyCode": "EUR"}, headers=bearer))[0] == 200
    assert (await pw.call("GET", BAL, me, headers={"Authorization": "Bearer gwk_wrong"}))[0] == 401
    # both forms naming different keys: ambiguous, refused
    both = bearer | {"x-api-key": flows.other_key}
    assert (await pw.call("GET", BAL, me, headers=both))[0] == 401
    assert pw.problems == []


# --------------------------------------------------------------------------- 11. Player Balance API


async def pb(flows: Flows, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    hdrs = {"X-Game-Secret-Key": flows.key} if headers is None else headers
    resp = await flows.client.request(
        method,
        PB + path,
        data=None if body is None else dumps(body),
        headers=hdrs | {"Content-Type": "application/json"},
    )
    return resp.status, loads(await resp.text())


async def test_batch_total_value_has_the_seeds_name(flows: Flows) -> None:
    """Issue #15 item 11: the seed's batch answers ``total_value``; we answered ``total_value_usd``."""
    text = seed("player-balance-api.txt")
    seed_says(text, '"balances": [...], "total_value": "1250.00" } ], "summary": { "total_players": 3,')
    seed_says(text, '"total_value": "5430.00"')
    status, body = await pb(
        flows, "POST", "/batch", {"player_emails": [E1, E2, "ghost@example.com"], "include_summary": True}
    )
    assert status == 200, body
    values = [p["total_value"] for p in body["players"]]
    assert values == ["165.00", "0.00"]  # 150 EUR at 1.1 USD; nothing
    assert [p["total_value_usd"] for p in body["players"]] == values  # the documented alias
    assert body["summary"]["total_players"] == 3
    assert body["summary"]["total_value"] == "165.00" == body["summary"]["total_value_usd"]


async def test_player_id_is_a_string_and_the_openapi_says_why(flows: Flows) -> None:
    """Issue #15 item 11: the seed shows ``"player_id": 12345``; ids are account ids, so a string."""
    seed_says(seed("player-balance-api.txt"), '"player": { "player_id": 12345,')
    status, body = await pb(flows, "GET", "/player/1001")
    assert status == 200
    assert body["player"]["player_id"] == "1001"
    resp = await flows.client.get("/openapi.json")
    spec = resolved(loads(await resp.text()))
    schema = spec["paths"]["/api/player-balances/player/{player_id}"]["get"]["responses"]["200"]
    player_id = schema["content"]["application/json"]["schema"]["properties"]["player"]["properties"]["player_id"]
    assert player_id["type"] == "string"
    assert "need not be numeric" in player_id["description"]


async def test_last_active_moves_with_money_activity_through_rest(flows: Flows, clock: FakeClock) -> None:
    """Issue #15 item 11: the seed's ``"last_active": "2024-12-09T12:34:56Z"`` never moved with
    REST activity."""
    seed_says(seed("player-balance-api.txt"), '"last_active": "2024-12-09T12:34:56Z"')

    async def last_active(player: str) -> Any:
        status, body = await pb(flows, "GET", f"/player/{player}")
        assert status == 200
        return body["player"]["last_active"]

    assert await last_active("1001") is None
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (
            "1001",
            "/api/player-balances/credit",
            {"player_id": "1001", "currency": "EUR", "amount": "1", "idempotency_key": "a1"},
        ),
        (
            "1001",
            "/api/player-balances/debit",
            {"player_id": "1001", "currency": "EUR", "amount": "1", "idempotency_key": "a2"},
        ),
        (
            "1001",
            "/api/item-purchases/purchase-item",
            {"player_id": "1001", "currency": "EUR", "item_id": "potion", "unit_price": "1", "idempotency_key": "a3"},
        ),
        (
            "1001",
            "/api/currency-purchases/purchase-currency",
            {
                "player_id": "1001",
                "currency": "EUR",
                "usd_amount": "1.1",
                "payment_token": "tok_success",
                "idempotency_key": "a4",
            },
        ),
        (
            "1001",
            "/api/transfers/initiate-transfer",
            {
                "source_player_id": "1001",
                "target_player_id": "1002",
                "currency": "EUR",
                "amount": "2",
                "idempotency_key": "a5",
            },
        ),
    ]
    for player, path, body in steps:
        clock.advance(minutes=5)
        reply = await flows.post(path, body)
        assert await last_active(player) == iso(clock.now()), path
    tid = reply["transfer_id"]
    await flows.verify(tid, await flows.code_for(tid))
    clock.advance(minutes=5)
    await flows.claim(tid, "1002")
    assert await last_active("1002") == iso(clock.now())


async def test_the_game_key_in_the_authorization_header_as_the_seed_says(flows: Flows) -> None:
    """Issue #15 item 11: "401 - Unauthorized: Invalid or missing SDK key in Authorization header"."""
    text = seed("player-balance-api.txt")
    seed_says(text, "Invalid or missing SDK key in Authorization header")
    seed_says(text, "auth_token: 'Bearer ' + SDK_KEY")
    status, body = await pb(flows, "GET", "/player/1001", headers={"Authorization": f"Bearer {flows.key}"})
    assert (status, body["player"]["player_id"]) == (200, "1001")
    credit = {"player_id": "1001", "currency": "EUR", "amount": "1", "idempotency_key": "z1"}
    status, body = await pb(flows, "POST", "/credit", credit, headers={"Authorization": f"Bearer {flows.key}"})
    assert (status, body["new_balance"]) == (200, "151.00")
    status, body = await pb(flows, "GET", "/player/1001", headers={"Authorization": "Bearer gwk_wrong"})
    assert (status, body["status"]) == (401, 401)
    mixed = {"Authorization": f"Bearer {flows.key}", "X-Game-Secret-Key": flows.other_key}
    assert (await pb(flows, "GET", "/player/1001", headers=mixed))[0] == 401


# --------------------------------------------------------------------------- 12. write contract


async def test_credit_debit_convert_answer_status_success(flows: Flows, api: Api) -> None:
    """Issue #15 item 12: credit, debit and convert answered ``success: true`` without ``status``."""
    seed_says(
        seed("write-response-contract.txt"),
        'On every other success path (200/201 with status: "success"), new_balance is non-null.',
    )
    await api.admin("PUT", "/admin/operators/11/currencies/GOLD", {"name": "Gold", "usd_rate": "0.25"}, expect=201)
    who = {"player_id": "1001", "currency": "EUR", "amount": "4"}
    for path, body in (
        ("/credit", who | {"idempotency_key": "s1"}),
        ("/debit", who | {"idempotency_key": "s2"}),
        (
            "/convert",
            {
                "player_id": "1001",
                "from_currency": "EUR",
                "to_currency": "GOLD",
                "amount": "1",
                "idempotency_key": "s3",
            },
        ),
    ):
        status, reply = await pb(flows, "POST", path, body)
        assert status == 200, reply
        assert (reply["status"], reply["success"]) == ("success", True), path
        assert reply["new_balance"] is not None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/player-balances/credit", {"player_id": "1001", "amount": "1", "idempotency_key": "u1"}),
        ("/api/player-balances/debit", {"player_id": "1001", "amount": "1", "idempotency_key": "u2"}),
        (
            "/api/currency-purchases/purchase-currency",
            {"player_id": "1001", "usd_amount": "1", "payment_token": "tok_success", "idempotency_key": "u3"},
        ),
        (
            "/api/transfers/initiate-transfer",
            {"source_player_id": "1001", "target_player_id": "1002", "amount": "1", "idempotency_key": "u4"},
        ),
        (
            "/api/currency-sends/initiate-send",
            {"sender_player_id": "1001", "recipient_email": E2, "amount": "1", "idempotency_key": "u5"},
        ),
        (
            "/api/item-purchases/purchase-item",
            {"player_id": "1001", "item_id": "potion", "unit_price": "1", "idempotency_key": "u6"},
        ),
    ],
)
async def test_an_unknown_currency_is_400_on_every_write(flows: Flows, path: str, body: dict[str, Any]) -> None:
    """Issue #15 item 12: one rule - a currency the operator does not offer is a 400 everywhere
    (it was 422 "insufficient funds" on initiate-transfer, initiate-send and purchase-item)."""
    seed_says(seed("write-response-contract.txt"), "Game currency (the destination tenant's branded currency).")
    before = await flows.balance(E1), await flows.balance(E1, "USD")
    status, reply, _ = await flows.call("POST", path, body | {"currency": "USD"})
    assert (status, reply["kind"]) == (400, "UnknownCurrency"), reply
    assert "USD is not offered" in reply["error"]
    assert (await flows.balance(E1), await flows.balance(E1, "USD")) == before


# --------------------------------------------------------------------------- 13. history filters


async def test_every_history_row_belongs_to_exactly_one_filter_value(flows: Flows) -> None:
    """Issue #15 item 13: hold_capture rows were ``type: "credit"`` of 0.00 unfiltered but in
    no filter.  The sum over the filter values /openapi.json lists is the unfiltered count, on
    both faces; the private face's values are the seed's ``"enum":["credit","debit"]``."""
    await world_with_holds(flows)
    spec = resolved(loads(await (await flows.client.get("/openapi.json")).text()))
    seed_enum = next(
        p["schema"]["enum"] for p in private_spec()[("GET", HIST)].operation["parameters"] if p["name"] == "type"
    )
    faces = {
        "pb": (
            f"{PB}/player/1001/history?currency=EUR&limit=100",
            {"X-Game-Secret-Key": flows.key},
            "/api/player-balances/player/{player_id}/history",
        ),
        "pw": (f"{PW}/1001/wallets/EUR/transactions?limit=100", {"x-api-key": flows.key}, HIST),
    }
    counts = {}
    for face, (url, headers, template) in faces.items():
        params = spec["paths"][template]["get"]["parameters"]
        values = next(p["schema"]["enum"] for p in params if p["name"] == "type")
        if face == "pw":
            assert values == seed_enum
        rows = await history(flows, url, headers, face)
        per_value = {v: await history(flows, f"{url}&type={v}", headers, face) for v in values}
        assert sum(len(r) for r in per_value.values()) == len(rows), (face, values)
        for v, subset in per_value.items():
            assert all(t["type"] == v for t in subset), (face, v)
        assert sorted(id_of(t) for r in per_value.values() for t in r) == sorted(id_of(t) for t in rows)
        counts[face] = {v: len(r) for v, r in per_value.items()}
    # the hold captures (claimed transfer, claimed send) are "none" on the Player Balance API
    assert counts["pb"]["none"] == 2
    assert sum(counts["pw"].values()) == sum(counts["pb"].values()) - 2


def id_of(t: dict[str, Any]) -> tuple[str, str]:
    return (t.get("transaction_id") or t["_id"], str(t.get("kind") or t["meta"]["kind"]))


async def history(flows: Flows, url: str, headers: dict[str, str], face: str) -> list[dict[str, Any]]:
    resp = await flows.client.get(url, headers=headers)
    body = loads(await resp.text())
    assert resp.status == 200, body
    data = body if face == "pb" else body["data"]
    assert data["total"] == len(data["transactions"])
    return list(data["transactions"])


# --------------------------------------------------------------------------- 9. doc drift


async def test_a_transfer_has_one_state_name_everywhere(flows: Flows) -> None:
    """Issue #15 item 9: a claimed transfer said ``completed`` in the claim reply but ``claimed``
    in GET /api/transfers/{id}.  Every step's reply names the state GET then answers."""
    seed_says(seed("write-response-contract.txt"), "| /api/transfers/claim-transfer | Target player credit |")
    seed_says(seed("write-response-contract.txt"), "| /api/currency-sends/claim-currency | Receiver credit |")

    async def state(path: str) -> str:
        status, body, _ = await flows.call("GET", path)
        assert status == 200, body
        return str(body["state"])

    r = await flows.post(
        "/api/transfers/initiate-transfer",
        {
            "source_player_id": "1001",
            "target_player_id": "1002",
            "currency": "EUR",
            "amount": "1",
            "idempotency_key": "n1",
        },
    )
    tid, t = r["transfer_id"], f"/api/transfers/{r['transfer_id']}"
    assert r["state"] == r["transfer_details"]["state"] == await state(t) == "pending"
    v = await flows.verify(tid, await flows.code_for(tid))
    assert v["state"] == await state(t) == "verified"
    c = await flows.claim(tid, "1002")
    assert c["state"] == c["transfer_details"]["state"] == await state(t) == "claimed"
    s = await flows.post(
        "/api/currency-sends/initiate-send",
        {"sender_player_id": "1001", "recipient_email": E2, "currency": "EUR", "amount": "1", "idempotency_key": "n2"},
    )
    sid, sp = s["send_id"], f"/api/currency-sends/{s['send_id']}"
    assert s["state"] == await state(sp) == "pending"
    x = await flows.post("/api/currency-sends/cancel-send", {"send_id": sid})
    assert x["state"] == await state(sp) == "cancelled"
    # /openapi.json: the step replies' states are states GET answers
    spec = resolved(loads(await (await flows.client.get("/openapi.json")).text()))
    step = spec["paths"]["/api/transfers/claim-transfer"]["post"]["responses"]["200"]
    status_ = spec["paths"]["/api/transfers/{transfer_id}"]["get"]["responses"]["200"]
    step_states = step["content"]["application/json"]["schema"]["properties"]["state"]["enum"]
    get_states = status_["content"]["application/json"]["schema"]["properties"]["state"]["enum"]
    assert set(step_states) <= set(get_states)


@pytest.mark.parametrize("period", ["day", "week"])
async def test_analytics_default_range_is_the_readmes_30_days(flows: Flows, clock: FakeClock, period: str) -> None:
    """Issue #15 item 9: the README says the default is the last 30 days; ``period=week`` gave 84."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"default: last (\d+) days", readme)
    assert found, "the README states the analytics default range"
    status, body = await pb(flows, "GET", f"/player/1001/analytics?period={period}")
    assert status == 200, body
    assert body["to"] == iso(clock.now())
    span = clock.now() - timedelta(days=int(found.group(1)))
    assert body["from"] == iso(span)
