"""The write-response contract (new_balance), row by row, through HTTP on both backends.

The table is the spec's (``write-response-contract.txt``): for every endpoint, whose
available balance ``new_balance`` reflects, and the legacy alias that must carry the same
value.  Each row is exercised and its ``new_balance`` compared with a fresh
``GET /api/player-balances/player/by-email/...`` of the right player, in the right currency.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from groove_adapter.flows import routes
from groove_adapter.jsonout import loads
from tests.conftest import Api
from tests.test_flows_transfers import E1, E2, Flows, audit_ok, make_world
from tests.test_rest_api import check_schema, resolved

DECIMAL_STRING = re.compile(r"-?[0-9]+\.[0-9]{2,10}")


@dataclass(frozen=True)
class Row:
    endpoint: str
    side: str  # the spec's "side affected"
    legacy: str | None  # the spec's legacy location of new_balance, if it names one


# The spec's table, verbatim in substance (endpoint, side affected, legacy alias).
CONTRACT = [
    Row("/api/currency-purchases/purchase-currency", "player credit", "purchase_details"),
    Row("/api/item-purchases/purchase-item", "player debit", "balance_info"),
    Row("/api/transfers/initiate-transfer", "source reservation", None),
    Row("/api/transfers/verify-sms", "no funds movement (source re-confirmation)", None),
    Row("/api/transfers/claim-transfer", "target credit", "transfer_details"),
    Row("/api/currency-sends/initiate-send", "sender reservation", None),
    Row("/api/currency-sends/verify-sms", "no funds movement (sender re-confirmation)", None),
    Row("/api/currency-sends/claim-currency", "receiver credit", "send_details"),
]
# Where our responses carry an alias the spec's legacy table does not list, it must agree too.
ALIAS = {
    "/api/transfers/initiate-transfer": "transfer_details",
    "/api/transfers/verify-sms": "transfer_details",
    "/api/currency-sends/initiate-send": "send_details",
    "/api/currency-sends/verify-sms": "send_details",
}
E3 = "p1003@example.com"


@pytest.fixture
async def flows(client: TestClient, api: Api, make_store: Any) -> AsyncIterator[Flows]:
    """The world of :func:`make_world` and more; the audit must pass after every test."""
    flows = await make_world(client, api)
    await api.admin(
        "PUT", "/admin/operators/11/currencies/GOLD", {"name": "Gold Coins", "symbol": "GC", "usd_rate": "0.25"}
    )
    await api.player("1003", real="0", bonus="0", currency="GOLD")  # no EUR wallet until it claims
    yield flows
    await audit_ok(make_store)


Call = tuple[dict[str, Any], str, str, str, str]  # reply, player e-mail, currency, name, fresh available


async def exercise(flows: Flows) -> dict[str, Call]:
    """Call every endpoint of the table once, in order, and read the player's balance right
    after each call: endpoint -> (reply, player e-mail, currency, currency name, fresh
    ``available_balance`` of GET /player-balances/player/by-email)."""
    out: dict[str, Call] = {}

    async def post(path: str, body: dict[str, Any], email: str, currency: str, name: str) -> dict[str, Any]:
        reply: dict[str, Any] = await flows.post(path, body)
        out[path] = (reply, email, currency, name, await flows.available(email, currency))
        return reply

    await post(
        "/api/currency-purchases/purchase-currency",
        {
            "player_email": E1,
            "currency": "GOLD",
            "usd_amount": "2.50",
            "payment_token": "tok_success",
            "idempotency_key": "c1",
        },
        E1,
        "GOLD",
        "Gold Coins",
    )
    await post(
        "/api/item-purchases/purchase-item",
        {
            "player_id": "1001",
            "currency": "GOLD",
            "item_id": "potion",
            "quantity": 3,
            "unit_price": "0.5",
            "idempotency_key": "i1",
        },
        E1,
        "GOLD",
        "Gold Coins",
    )
    t = await post(
        "/api/transfers/initiate-transfer",
        {
            "source_player_email": E1,
            "target_player_email": E2,
            "currency": "EUR",
            "amount": "12.5",
            "idempotency_key": "t1",
        },
        E1,
        "EUR",
        "Euro Coins",
    )
    tid = t["transfer_id"]
    await post(
        "/api/transfers/verify-sms",
        {"transfer_id": tid, "verification_code": await flows.code_for(tid)},
        E1,
        "EUR",
        "Euro Coins",
    )
    await post("/api/transfers/claim-transfer", {"transfer_id": tid, "player_id": "1002"}, E2, "EUR", "Euro Coins")
    s = await post(
        "/api/currency-sends/initiate-send",
        {"sender_player_id": "1001", "recipient_email": E3, "currency": "EUR", "amount": "7", "idempotency_key": "s1"},
        E1,
        "EUR",
        "Euro Coins",
    )
    sid = s["send_id"]
    await post(
        "/api/currency-sends/verify-sms",
        {"send_id": sid, "verification_code": await flows.code_for(sid)},
        E1,
        "EUR",
        "Euro Coins",
    )
    await post("/api/currency-sends/claim-currency", {"send_id": sid, "recipient_email": E3}, E3, "EUR", "Euro Coins")
    return out


async def test_every_row_of_the_contract_table(flows: Flows, make_store: Any) -> None:
    calls = await exercise(flows)
    assert set(calls) == {row.endpoint for row in CONTRACT}
    for row in CONTRACT:
        reply, email, currency, name, fresh = calls[row.endpoint]
        where = f"{row.endpoint} ({row.side}, {email})"
        assert reply["status"] == "success", where
        assert "new_balance" in reply, where
        nb = reply["new_balance"]
        assert isinstance(nb, str), where
        assert DECIMAL_STRING.fullmatch(nb), where
        assert nb == fresh, where
        alias = row.legacy or ALIAS.get(row.endpoint)
        if alias is not None:
            assert reply[alias]["new_balance"] == nb, where
        assert reply["currency_name"] == name, where
        assert reply["currency"] == currency, where
    await audit_ok(make_store)


async def test_new_balance_is_null_only_for_requires_action(flows: Flows) -> None:
    body = {
        "player_id": "1001",
        "currency": "GOLD",
        "usd_amount": "1",
        "payment_token": "tok_requires_action",
        "idempotency_key": "3ds",
    }
    status, reply, _ = await flows.call("POST", "/api/currency-purchases/purchase-currency", body)
    assert status == 200
    assert reply["status"] == "requires_action"
    assert "new_balance" in reply
    assert reply["new_balance"] is None
    assert reply["purchase_details"]["new_balance"] is None
    assert reply["currency_name"] == "Gold Coins"
    assert isinstance(reply["client_secret"], str)
    done = await flows.post("/api/currency-purchases/confirm-payment", {"payment_id": reply["payment_id"]})
    assert done["status"] == "success"
    assert done["new_balance"] == "4.00" == done["purchase_details"]["new_balance"]
    assert done["new_balance"] == await flows.available(E1, "GOLD")


async def test_replays_keep_new_balance_of_the_first_answer(flows: Flows) -> None:
    """A replay answers what the first call answered (the balance at that step)."""
    first = await exercise(flows)
    for path, (reply, *_rest) in first.items():
        if path.endswith(("verify-sms", "claim-transfer", "claim-currency")):
            continue  # repeated below by flow id
        body = {
            "/api/currency-purchases/purchase-currency": {
                "player_email": E1,
                "currency": "GOLD",
                "usd_amount": "2.5",
                "payment_token": "tok_success",
                "idempotency_key": "c1",
            },
            "/api/item-purchases/purchase-item": {
                "player_id": "1001",
                "currency": "GOLD",
                "item_id": "potion",
                "quantity": 3,
                "unit_price": "0.50",
                "idempotency_key": "i1",
            },
            "/api/transfers/initiate-transfer": {
                "source_player_email": E1,
                "target_player_email": E2,
                "currency": "EUR",
                "amount": "12.50",
                "idempotency_key": "t1",
            },
            "/api/currency-sends/initiate-send": {
                "sender_player_id": "1001",
                "recipient_email": E3,
                "currency": "EUR",
                "amount": 7,
                "idempotency_key": "s1",
            },
        }[path]
        status, again, headers = await flows.call("POST", path, body)
        assert (status, headers["Idempotent-Replayed"]) == (200, "true"), path
        assert again == reply, path
    tid = first["/api/transfers/claim-transfer"][0]["transfer_id"]
    again = await flows.post("/api/transfers/claim-transfer", {"transfer_id": tid, "player_email": E2})
    assert again == first["/api/transfers/claim-transfer"][0]
    assert Decimal(again["new_balance"]) == Decimal("12.5")


async def test_write_responses_match_the_openapi_document(flows: Flows) -> None:
    resp = await flows.client.get("/openapi.json")
    paths = resolved(loads(await resp.text()))["paths"]
    calls = await exercise(flows)
    for path, (reply, *_rest) in calls.items():
        check_schema(reply, schema(paths, path, "post", 200), path)
    tid = calls["/api/transfers/initiate-transfer"][0]["transfer_id"]
    status, st, _ = await flows.call("GET", f"/api/transfers/{tid}")
    assert status == 200
    check_schema(st, schema(paths, "/api/transfers/{transfer_id}", "get", 200), "GET transfer")
    status, err, _ = await flows.call(
        "POST", "/api/transfers/claim-transfer", {"transfer_id": tid, "player_id": "1001"}
    )
    assert status == 409
    check_schema(err, schema(paths, "/api/transfers/claim-transfer", "post", 409), "409")
    assert {r.path for r in routes()} <= set(paths)


def schema(paths: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    out: dict[str, Any] = paths[path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return out
