"""Currency purchases (sandbox payment provider, 3-D Secure) and item purchases, through HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import Api
from tests.test_flows_transfers import E1, Flows, admin_real_bonus, audit_ok, journal, make_world

D = Decimal
CP = "/api/currency-purchases"
IP = "/api/item-purchases/purchase-item"


@pytest.fixture
async def flows(client: TestClient, api: Api, make_store: Any) -> AsyncIterator[Flows]:
    """The world of :func:`make_world` and more; the audit must pass after every test."""
    flows = await make_world(client, api)
    await api.admin(
        "PUT", "/admin/operators/11/currencies/GOLD", {"name": "Gold Coins", "symbol": "GC", "usd_rate": "0.03"}
    )
    await api.admin("PUT", "/admin/operators/11/currencies/GEMS", {"name": "Gems", "symbol": "GM"})  # no rate
    yield flows
    await audit_ok(make_store)


def buy(usd: Any, token: str, key: str, **kw: Any) -> dict[str, Any]:
    return {
        "player_id": "1001",
        "currency": "GOLD",
        "usd_amount": usd,
        "payment_token": token,
        "idempotency_key": key,
    } | kw


def item(key: str, price: Any = "2.5", quantity: Any = 4, **kw: Any) -> dict[str, Any]:
    return {
        "player_email": E1,
        "currency": "EUR",
        "item_id": "sword-1",
        "item_name": "Sword",
        "quantity": quantity,
        "unit_price": price,
        "idempotency_key": key,
    } | kw


# --------------------------------------------------------------------------- currency purchases


async def test_purchase_success_credits_at_the_rate(flows: Flows, make_store: Any) -> None:
    assert await flows.balance(E1, "GOLD") == (D(0), D(0), D(0))
    r = await flows.post(f"{CP}/purchase-currency", buy("10", "tok_success", "p1"))
    assert r["status"] == "success"
    assert r["client_secret"] is None
    # 10 USD at 0.03 USD per coin: 333.3333333333 coins (rounded down, never more value than paid)
    assert r["amount"] == "333.3333333333"
    assert r["usd_rate"] == "0.03"
    assert r["currency_name"] == "Gold Coins"
    assert r["new_balance"] == "333.3333333333" == r["purchase_details"]["new_balance"]
    assert r["new_balance"] == await flows.available(E1, "GOLD")
    assert await flows.balance(E1, "GOLD") == (D("333.3333333333"), D(0), D("333.3333333333"))
    assert await admin_real_bonus(flows.api, "1001", "GOLD") == (D("333.3333333333"), D(0))
    s, again, h = await flows.call("POST", f"{CP}/purchase-currency", buy("10.00", "tok_success", "p1"))
    assert (s, again, h["Idempotent-Replayed"]) == (200, r, "true")
    s, conflict, _ = await flows.call("POST", f"{CP}/purchase-currency", buy("11", "tok_success", "p1"))
    assert (s, conflict["kind"]) == (409, "IdempotencyConflict")
    assert await flows.balance(E1, "GOLD") == (D("333.3333333333"), D(0), D("333.3333333333"))
    [entry] = await journal(make_store, "1001", "GOLD")
    assert (entry.kind, entry.reference) == ("purchase_credit", r["payment_id"])
    await audit_ok(make_store)


async def test_requires_action_then_confirm_credits_exactly_once(flows: Flows, make_store: Any) -> None:
    r = await flows.post(f"{CP}/purchase-currency", buy("3", "tok_requires_action", "p3ds"))
    assert r["status"] == "requires_action"
    assert "new_balance" in r
    assert r["new_balance"] is None
    assert r["purchase_details"]["new_balance"] is None
    assert r["client_secret"].startswith("pi_sbx_3ds_")
    assert r["currency_name"] == "Gold Coins"
    assert await flows.balance(E1, "GOLD") == (D(0), D(0), D(0))
    # the same purchase again: still waiting, nothing credited
    again = await flows.post(f"{CP}/purchase-currency", buy("3", "tok_requires_action", "p3ds"))
    assert again == r
    results = await asyncio.gather(
        *(flows.call("POST", f"{CP}/confirm-payment", {"payment_id": r["payment_id"]}) for _ in range(12))
    )
    assert [s for s, _, _ in results] == [200] * 12
    bodies = [b for _, b, _ in results]
    assert all(b == bodies[0] for b in bodies)
    done = bodies[0]
    assert done["status"] == "success"
    assert done["amount"] == "100.00"
    assert done["new_balance"] == "100.00" == done["purchase_details"]["new_balance"]
    assert done["new_balance"] == await flows.available(E1, "GOLD")
    assert await flows.balance(E1, "GOLD") == (D(100), D(0), D(100))
    later = await flows.post(f"{CP}/confirm-payment", {"payment_id": r["payment_id"]})
    assert later == done
    # the purchase replayed after the confirmation reports the success
    replay = await flows.post(f"{CP}/purchase-currency", buy("3", "tok_requires_action", "p3ds"))
    assert replay == done
    assert [e.kind for e in await journal(make_store, "1001", "GOLD")] == ["purchase_credit"]
    await audit_ok(make_store)


async def test_declines_credit_nothing(flows: Flows, make_store: Any) -> None:
    r = await flows.post(f"{CP}/purchase-currency", buy("5", "tok_declined", "pd"), expect=402)
    assert r["kind"] == "PaymentDeclined"
    r = await flows.post(f"{CP}/purchase-currency", buy("5", "tok_declined", "pd"), expect=402)  # remembered
    r = await flows.post(f"{CP}/purchase-currency", buy("5", "tok_requires_action_declined", "pd2"))
    assert r["status"] == "requires_action"
    await flows.post(f"{CP}/confirm-payment", {"payment_id": r["payment_id"]}, expect=402)
    await flows.post(f"{CP}/confirm-payment", {"payment_id": r["payment_id"]}, expect=402)
    assert await flows.balance(E1, "GOLD") == (D(0), D(0), D(0))
    ok = await flows.post(f"{CP}/purchase-currency", buy("5", "tok_success", "pd3"))  # a new key, another card
    assert ok["new_balance"] == await flows.available(E1, "GOLD")
    await audit_ok(make_store)


async def test_purchase_refusals(flows: Flows, api: Api) -> None:
    for body, status in (
        (buy("5", "tok_unknown", "x"), 400),
        (buy("5", "tok_success", "x", currency="GEMS"), 400),  # no USD rate
        (buy("5", "tok_success", "x", currency="NOPE"), 400),  # not a currency of the operator
        (buy("5.001", "tok_success", "x"), 400),  # below a cent
        (buy("0", "tok_success", "x"), 400),
        (buy("10000.01", "tok_success", "x"), 400),  # above GW_MAX_PURCHASE_USD
        (buy("5", "", "x"), 400),
        (buy("5", "tok_success", "x", player_id="2001"), 404),  # other operator's player
        (buy("5", "tok_success", "x", player_email=E1), 400),  # both id and e-mail
    ):
        s, reply, _ = await flows.call("POST", f"{CP}/purchase-currency", body)
        assert s == status, (body, reply)
    # nothing was recorded by the refusals: the key is still free
    ok = await flows.post(f"{CP}/purchase-currency", buy("0.03", "tok_success", "x"))
    assert ok["amount"] == "1.00"
    await api.admin("POST", "/admin/players/1001/block", expect=200)
    await flows.post(f"{CP}/purchase-currency", buy("1", "tok_success", "y"), expect=403)
    await flows.post(f"{CP}/confirm-payment", {"payment_id": "pay_" + "0" * 24}, expect=404)
    await flows.post(f"{CP}/confirm-payment", {"payment_id": ok["payment_id"]}, expect=404, key=flows.other_key)
    await flows.post(f"{CP}/confirm-payment", {}, expect=400)
    assert await flows.balance(E1, "GOLD") == (D(1), D(0), D(1))


async def test_concurrent_identical_purchases_credit_once(flows: Flows, make_store: Any) -> None:
    results = await asyncio.gather(
        *(flows.call("POST", f"{CP}/purchase-currency", buy("6", "tok_success", "race")) for _ in range(10))
    )
    assert [s for s, _, _ in results] == [200] * 10
    assert len({b["payment_id"] for _, b, _ in results}) == 1
    assert await flows.balance(E1, "GOLD") == (D(200), D(0), D(200))
    assert len(await journal(make_store, "1001", "GOLD")) == 1
    await audit_ok(make_store)


# --------------------------------------------------------------------------- item purchases


async def test_item_purchase_debits_in_the_debit_order(flows: Flows, make_store: Any) -> None:
    r = await flows.post(IP, item("i1", price="30", quantity=4))  # 120 = real 100 + bonus 20
    assert r["total_price"] == "120.00"
    assert r["new_balance"] == "30.00" == r["balance_info"]["new_balance"] == await flows.available(E1)
    assert r["balance_info"]["previous_balance"] == "150.00"
    assert r["currency_name"] == "Euro Coins"
    assert await admin_real_bonus(flows.api, "1001") == (D(0), D(30))
    assert await flows.balance(E1) == (D(30), D(0), D(30))
    s, again, h = await flows.call("POST", IP, item("i1", price="30.0", quantity=4))
    assert (s, again, h["Idempotent-Replayed"]) == (200, r, "true")
    s, conflict, _ = await flows.call("POST", IP, item("i1", price="30", quantity=3))
    assert (s, conflict["kind"]) == (409, "IdempotencyConflict")
    [*_, entry] = await journal(make_store, "1001")
    assert (entry.kind, entry.reference, entry.real_delta, entry.bonus_delta) == (
        "item_debit",
        r["purchase_id"],
        D(-100),
        D(-20),
    )
    await audit_ok(make_store)


async def test_item_purchase_short_of_funds_changes_nothing_and_is_not_remembered(
    flows: Flows, api: Api, make_store: Any
) -> None:
    r = await flows.post(IP, item("short", price="50.01", quantity=3), expect=422)
    assert r["kind"] == "OutOfMoney"
    assert await flows.balance(E1) == (D(150), D(0), D(150))
    await api.admin(
        "POST",
        "/admin/players/1001/adjust",
        {"currency": "EUR", "real": "0.03", "reason": "top-up", "idempotency_key": "t"},
        expect=201,
    )
    ok = await flows.post(IP, item("short", price="50.01", quantity=3))  # same key, now funded
    assert ok["new_balance"] == "0.00" == await flows.available(E1)
    await flows.post(IP, item("other", price="0.01", quantity=1, currency="GOLD"), expect=422)  # no GOLD wallet
    await audit_ok(make_store)


async def test_holds_count_against_item_purchases(flows: Flows) -> None:
    status, _ = await flows.initiate("1001", "1002", "100", "hold")
    assert status == 200
    await flows.post(IP, item("i-over", price="50.01", quantity=1), expect=422)
    ok = await flows.post(IP, item("i-fit", price="50", quantity=1))
    assert ok["new_balance"] == "0.00"
    assert await flows.balance(E1) == (D(0), D(100), D(100))


async def test_item_purchase_input(flows: Flows) -> None:
    for body in (
        item("q", quantity=0),
        item("q", quantity=10_001),
        item("q", quantity="2"),
        item("q", quantity=True),
        item("q", quantity=D("2.5")),
        item("q", price="0"),
        item("q", price="-1"),
        item("q", price="NaN"),
        item("q", item_id=""),
        item("q", item_id="has space"),
        item("q", item_name="n" * 201),
        item("q", price="9999999999999999999999", quantity=10),  # total out of range
    ):
        s, reply, _ = await flows.call("POST", IP, body)
        assert s == 400, (body, reply)
    assert await flows.balance(E1) == (D(150), D(0), D(150))


async def test_concurrent_item_purchases_same_key_debit_once(flows: Flows, make_store: Any) -> None:
    results = await asyncio.gather(*(flows.call("POST", IP, item("same", price="1", quantity=5)) for _ in range(10)))
    assert [s for s, _, _ in results] == [200] * 10
    assert all(b == results[0][1] for _, b, _ in results)
    assert await flows.balance(E1) == (D(145), D(0), D(145))
    await audit_ok(make_store)
