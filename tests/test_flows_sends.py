"""Currency sends to an e-mail (initiate -> verify SMS -> claim) through HTTP, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import Api, FakeClock
from tests.test_flows_transfers import E1, Flows, audit_ok, journal, make_world

D = Decimal
S = "/api/currency-sends"
NEW = "newcomer@example.com"


@pytest.fixture
async def flows(client: TestClient, api: Api, make_store: Any) -> AsyncIterator[Flows]:
    """The world of :func:`make_world`; the audit must pass after every test."""
    yield await make_world(client, api)
    await audit_ok(make_store)


async def initiate(flows: Flows, recipient: str, amount: Any, key: str, **kw: Any) -> tuple[int, Any]:
    body = {"sender_player_id": "1001", "recipient_email": recipient, "currency": "EUR", "amount": amount}
    status, reply, _ = await flows.call("POST", f"{S}/initiate-send", body | {"idempotency_key": key} | kw)
    return status, reply


async def send(flows: Flows, recipient: str, amount: Any, key: str) -> str:
    status, reply = await initiate(flows, recipient, amount, key)
    assert status == 200, reply
    return str(reply["send_id"])


async def verify(flows: Flows, send_id: str, code: str, *, expect: int = 200) -> Any:
    return await flows.post(f"{S}/verify-sms", {"send_id": send_id, "verification_code": code}, expect=expect)


async def claim(flows: Flows, send_id: str, email: str, *, expect: int = 200) -> Any:
    return await flows.post(f"{S}/claim-currency", {"send_id": send_id, "recipient_email": email}, expect=expect)


async def test_send_happy_path_creates_the_recipients_wallet(flows: Flows, api: Api, make_store: Any) -> None:
    # 1003 plays in GOLD only: the EUR wallet is created by the claim.
    await api.player("1003", real="0", bonus="0", currency="GOLD")
    e3 = "p1003@example.com"
    status, r = await initiate(flows, e3.upper(), "12.34", "s-1", note="gift")
    assert status == 200, r
    sid = r["send_id"]
    assert sid.startswith("cs_")
    assert r["new_balance"] == "137.66" == r["send_details"]["new_balance"] == await flows.available(E1)
    assert r["send_details"]["recipient_email"] == e3  # normalized
    assert r["currency_name"] == "Euro Coins"
    assert await flows.balance(E1) == (D("137.66"), D("12.34"), D(150))
    assert await flows.balance(e3) == (D(0), D(0), D(0))

    v = await verify(flows, sid, await flows.code("1001"))
    assert v["new_balance"] == "137.66" == v["send_details"]["new_balance"] == await flows.available(E1)
    assert await flows.balance(E1) == (D("137.66"), D("12.34"), D(150))

    c = await claim(flows, sid, "P1003@Example.com")  # e-mails compare case-insensitively
    assert (c["status"], c["state"]) == ("success", "claimed")
    assert c["send_details"]["recipient_player_id"] == "1003"
    assert c["new_balance"] == "12.34" == c["send_details"]["new_balance"] == await flows.available(e3)
    assert await flows.balance(E1) == (D("137.66"), D(0), D("137.66"))
    assert await flows.balance(e3) == (D("12.34"), D(0), D("12.34"))
    assert await flows.balance(e3, "GOLD") == (D(0), D(0), D(0))
    [entry] = await journal(make_store, "1003", "EUR")
    assert (entry.kind, entry.reference) == ("send_in", sid)
    _, st, _ = await flows.call("GET", f"{S}/{sid}")
    assert (st["state"], st["target_player_id"], st["recipient_email"]) == ("claimed", "1003", e3)
    await audit_ok(make_store)


async def test_send_to_an_email_without_a_player_yet(flows: Flows, api: Api, make_store: Any) -> None:
    """Documented rule: the send is accepted and verified; the claim is a 404 until a player of
    the same operator registers that e-mail; then it can be claimed (until the hold expires)."""
    sid = await send(flows, NEW, "20", "s-new")
    await verify(flows, sid, await flows.code("1001"))
    r = await claim(flows, sid, NEW, expect=404)
    assert "register" in r["error"]
    assert await flows.balance(E1) == (D(130), D(20), D(150))
    # a player of ANOTHER operator with that e-mail does not count
    await api.player("2002", operator_id="12", email=NEW)
    await claim(flows, sid, NEW, expect=404)
    await api.player("1005", real="0", bonus="0", email=NEW)
    c = await claim(flows, sid, NEW)
    assert c["new_balance"] == "20.00" == await flows.available(NEW)
    assert await flows.balance(E1) == (D(130), D(0), D(130))
    await audit_ok(make_store)


async def test_unclaimed_send_returns_to_the_sender_on_expiry(flows: Flows, clock: FakeClock, make_store: Any) -> None:
    sid = await send(flows, NEW, "20", "s-exp")
    code = await flows.code("1001")
    await verify(flows, sid, code)
    clock.advance(seconds=3600)
    assert await flows.sweep() == 1
    assert await flows.balance(E1) == (D(150), D(0), D(150))
    r = await claim(flows, sid, NEW, expect=404)  # nobody has the e-mail: still "register first"
    assert r["kind"] == "NotFound"
    await verify(flows, sid, code, expect=409)
    assert await flows.sweep() == 0
    await audit_ok(make_store)


async def test_send_wrong_states(flows: Flows, api: Api, clock: FakeClock, make_store: Any) -> None:
    await api.player("1003", real="0", bonus="0")
    e3 = "p1003@example.com"
    sid = await send(flows, e3, "5", "s-ws")
    code = await flows.code("1001")
    r = await claim(flows, sid, e3, expect=409)
    assert "not verified" in r["error"]
    r = await claim(flows, sid, "p1002@example.com", expect=409)
    assert r["kind"] == "WrongClaimant"
    await verify(flows, sid, code)
    c1 = await claim(flows, sid, e3)
    s, c2, h = await flows.call("POST", f"{S}/claim-currency", {"send_id": sid, "recipient_email": e3})
    assert (s, c2, h["Idempotent-Replayed"]) == (200, c1, "true")
    await claim(flows, sid, "p1002@example.com", expect=409)
    await flows.post(f"{S}/cancel-send", {"send_id": sid}, expect=409)
    # verify after expiry
    sid2 = await send(flows, e3, "5", "s-ws2")
    code2 = await flows.code("1001")
    clock.advance(hours=1)
    r = await verify(flows, sid2, code2, expect=409)
    assert "expired" in r["error"]
    await claim(flows, sid2, e3, expect=409)
    # verify after cancel
    sid3 = await send(flows, e3, "5", "s-ws3")
    code3 = await flows.code("1001")
    cancel = await flows.post(f"{S}/cancel-send", {"send_id": sid3})
    assert cancel["new_balance"] == await flows.available(E1) == "145.00"
    await verify(flows, sid3, code3, expect=409)
    assert await flows.balance(E1) == (D(145), D(0), D(145))
    assert await flows.balance(e3) == (D(5), D(0), D(5))
    await audit_ok(make_store)


async def test_send_input_and_scope(flows: Flows, make_store: Any) -> None:
    status, r = await initiate(flows, E1, "1", "self")
    assert (status, r["kind"]) == (400, "Invalid")
    for body in (
        {"sender_player_id": "1001", "currency": "EUR", "amount": "1", "idempotency_key": "x"},
        {"sender_player_id": "1001", "recipient_email": "not-an-email", "currency": "EUR", "amount": "1"},
        {
            "sender_player_id": "1001",
            "sender_player_email": E1,
            "recipient_email": NEW,
            "currency": "EUR",
            "amount": "1",
            "idempotency_key": "x",
        },
    ):
        status, reply, _ = await flows.call("POST", f"{S}/initiate-send", body)
        assert status == 400, reply
    sid = await send(flows, NEW, "1", "scope")
    code = await flows.code("1001")
    await flows.post(f"{S}/verify-sms", {"send_id": sid, "verification_code": code}, expect=404, key=flows.other_key)
    await flows.post(f"{S}/claim-currency", {"send_id": sid, "recipient_email": NEW}, expect=404, key=flows.other_key)
    status, _, _ = await flows.call("GET", f"/api/transfers/{sid}")  # a send is not a transfer
    assert status == 404
    s1, r1 = await initiate(flows, NEW, "1", "scope")
    assert (s1, r1["send_id"]) == (200, sid)  # replay
    s2, r2 = await initiate(flows, NEW, "2", "scope")
    assert (s2, r2["kind"]) == (409, "IdempotencyConflict")
    assert await flows.balance(E1) == (D(149), D(1), D(150))
    await audit_ok(make_store)


async def test_concurrent_send_claims_credit_once(flows: Flows, api: Api, make_store: Any) -> None:
    await api.player("1003", real="0", bonus="0")
    e3 = "p1003@example.com"
    sid = await send(flows, e3, "7.5", "s-race")
    await verify(flows, sid, await flows.code("1001"))
    body = {"send_id": sid, "recipient_email": e3}
    results = await asyncio.gather(*(flows.call("POST", f"{S}/claim-currency", body) for _ in range(16)))
    assert [s for s, _, _ in results] == [200] * 16
    assert all(r == results[0][1] for _, r, _ in results)
    assert await flows.balance(e3) == (D("7.5"), D(0), D("7.5"))
    assert [e.kind for e in await journal(make_store, "1003")] == ["send_in"]
    await audit_ok(make_store)
