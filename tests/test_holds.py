"""Holds (reserved balances): the pure rules, and through HTTP on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from config import Settings
from groove_adapter.app import create_app
from tests.conftest import Api, FakeClock
from tests.test_flows_transfers import E1, E2, Flows, audit_ok, journal, make_world
from wallet_store import holds
from wallet_store.errors import Invalid, OutOfMoney, TechnicalError
from wallet_store.model import Wallet, move

D = Decimal
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
E3 = "p3001@example.com"


# --------------------------------------------------------------------------- pure rules


def wallet(real: str, bonus: str, account: str = "a1") -> Wallet:
    w = Wallet(account_id=account, currency="EUR")
    w, _ = move(w, kind="initial", real=D(real), bonus=D(bonus), reference="initial", now=NOW)
    return w


def test_reserve_splits_by_debit_order_and_moves_available_to_reserved() -> None:
    w = wallet("100", "50")
    new, entry, hold = holds.reserve(w, D(120), "cash_money", hold_id="h1", reference="tr_1", expires_at=LATER, now=NOW)
    assert (new.real, new.bonus, new.reserved) == (D(0), D(30), D(120))
    assert (hold.real, hold.bonus, hold.amount, hold.state) == (D(100), D(20), D(120), "open")
    assert (entry.kind, entry.real_delta, entry.bonus_delta, entry.reserved_delta) == ("hold", D(-100), D(-20), D(120))
    _, _, hold2 = holds.reserve(w, D(120), "bonus_money", hold_id="h2", reference="tr_2", expires_at=LATER, now=NOW)
    assert (hold2.real, hold2.bonus) == (D(70), D(50))


def test_reserve_refuses_more_than_available_including_open_holds() -> None:
    w = wallet("5000", "0")
    for i in range(5):
        w, _, _ = holds.reserve(w, D(1000), "cash_money", hold_id=f"h{i}", reference="r", expires_at=LATER, now=NOW)
    assert holds.available(w) == 0
    assert w.reserved == D(5000)
    with pytest.raises(OutOfMoney):
        holds.reserve(w, D(1000), "cash_money", hold_id="h6", reference="r", expires_at=LATER, now=NOW)
    with pytest.raises(Invalid):
        holds.reserve(w, D(0), "cash_money", hold_id="h7", reference="r", expires_at=LATER, now=NOW)
    with pytest.raises(Invalid):
        holds.reserve(wallet("1", "0"), D(1), "cash_money", hold_id="h8", reference="r", expires_at=NOW, now=NOW)


def test_release_gives_back_each_part_exactly_once() -> None:
    w0 = wallet("100", "50")
    w, _, hold = holds.reserve(w0, D(120), "cash_money", hold_id="h", reference="r", expires_at=LATER, now=NOW)
    w, entry, released = holds.release(hold, w, reason="cancelled", now=NOW)
    assert (w.real, w.bonus, w.reserved) == (w0.real, w0.bonus, D(0))
    assert (entry.kind, entry.reason, released.state, released.close_reason) == (
        "hold_release",
        "cancelled",
        "released",
        "cancelled",
    )
    with pytest.raises(holds.HoldClosed):
        holds.release(released, w, reason="again", now=NOW)
    with pytest.raises(TechnicalError):
        holds.release(hold, wallet("1", "0", account="other"), reason="x", now=NOW)


def test_capture_moves_reserved_to_the_destination_with_its_split() -> None:
    src, _, hold = holds.reserve(
        wallet("100", "50"), D(120), "cash_money", hold_id="h", reference="tr", expires_at=LATER, now=NOW
    )
    dst = wallet("1", "0", account="b")
    src2, e1, dst2, e2, captured = holds.capture(hold, src, dst, credit_kind="transfer_in", now=NOW)
    assert (src2.real, src2.bonus, src2.reserved) == (D(0), D(30), D(0))
    assert (e1.kind, e1.real_delta, e1.bonus_delta, e1.reserved_delta) == ("hold_capture", D(0), D(0), D(-120))
    assert (dst2.real, dst2.bonus, dst2.reserved) == (D(101), D(20), D(0))
    assert (e2.kind, e2.reference) == ("transfer_in", "tr")
    assert captured.state == "captured"
    with pytest.raises(holds.HoldClosed):
        holds.capture(captured, src2, dst2, credit_kind="transfer_in", now=NOW)
    with pytest.raises(Invalid):
        holds.capture(hold, src, src, credit_kind="transfer_in", now=NOW)


def test_is_due_at_expires_at() -> None:
    _, _, hold = holds.reserve(
        wallet("1", "0"), D(1), "cash_money", hold_id="h", reference="r", expires_at=LATER, now=NOW
    )
    assert not holds.is_due(hold, LATER - timedelta(microseconds=1))
    assert holds.is_due(hold, LATER)


# --------------------------------------------------------------------------- through HTTP


@pytest.fixture
async def flows(client: TestClient, api: Api, make_store: Any) -> AsyncIterator[Flows]:
    """The world of :func:`make_world` and more; the audit must pass after every test."""
    flows = await make_world(client, api)
    await api.player("3001", real="5000", bonus="0")
    await flows.phone("3001", "+35699000031")
    yield flows
    await audit_ok(make_store)


async def test_six_holds_of_1000_on_5000_the_sixth_is_refused(flows: Flows, make_store: Any) -> None:
    """Blnk issue 181: every open hold counts against available from the moment it is made."""
    for i in range(5):
        status, r = await flows.initiate("3001", "1002", "1000", f"h{i}")
        assert status == 200, r
        assert r["new_balance"] == f"{4000 - 1000 * i}.00" == await flows.available(E3)
    assert await flows.balance(E3) == (D(0), D(5000), D(5000))
    status, r = await flows.initiate("3001", "1002", "1000", "h5")
    assert (status, r["kind"]) == (422, "OutOfMoney")
    status, r = await flows.initiate("3001", "1002", "0.0000000001", "h6")
    assert status == 422
    assert await flows.balance(E3) == (D(0), D(5000), D(5000))
    await audit_ok(make_store)


async def test_concurrent_initiates_never_overbook(flows: Flows, make_store: Any) -> None:
    results = await asyncio.gather(*(flows.initiate("3001", "1002", "1000", f"c{i}") for i in range(8)))
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] * 5 + [422] * 3
    assert await flows.balance(E3) == (D(0), D(5000), D(5000))
    assert len(await flows.outbox("3001")) == 5
    await audit_ok(make_store)


async def test_max_pending_holds_at_the_edge(
    aiohttp_client: Any, settings: Settings, make_store: Any, clock: FakeClock
) -> None:
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"max_pending_holds": 3}), store=make_store(), clock=clock)
    )
    flows = await make_world(client, Api(client))
    tids = [await flows.transfer("1001", "1002", "1", f"m{i}") for i in range(3)]  # 3 = the limit: accepted
    status, r = await flows.initiate("1001", "1002", "1", "m3")
    assert (status, r["kind"]) == (422, "TooManyHolds")
    await flows.post("/api/transfers/cancel-transfer", {"transfer_id": tids[0]})
    status, r = await flows.initiate("1001", "1002", "1", "m3")  # one freed: accepted again
    assert status == 200, r
    # a claimed transfer frees its slot too
    await flows.verify(tids[1], await flows.code_for(tids[1]))
    await flows.claim(tids[1], "1002")
    status, r = await flows.initiate("1001", "1002", "1", "m4")
    assert status == 200, r
    status, r = await flows.initiate("1001", "1002", "1", "m5")
    assert status == 422
    assert await flows.balance(E1) == (D(146), D(3), D(149))  # m0 cancelled, m1 claimed, m2..m4 open
    await audit_ok(make_store)


async def test_sweep_releases_each_expired_hold_exactly_once(flows: Flows, clock: FakeClock, make_store: Any) -> None:
    t1 = await flows.transfer("3001", "1002", "1000", "s1")
    clock.advance(minutes=30)
    t2 = await flows.transfer("3001", "1002", "500", "s2")
    assert await flows.sweep() == 0
    clock.advance(minutes=30)  # t1 is due, t2 is not
    assert await flows.sweep() == 1
    assert await flows.balance(E3) == (D(4500), D(500), D(5000))
    assert await flows.sweep() == 0
    clock.advance(minutes=30)
    results = await asyncio.gather(*(flows.sweep() for _ in range(5)))  # racing sweeps
    assert sum(results) == 1
    assert await flows.balance(E3) == (D(5000), D(0), D(5000))
    releases = [e for e in await journal(make_store, "3001") if e.kind == "hold_release"]
    assert sorted(e.reference for e in releases) == sorted([t1, t2])
    _, st, _ = await flows.call("GET", f"/api/transfers/{t1}")
    assert (st["state"], st["hold"]["state"], st["hold"]["close_reason"]) == ("expired", "released", "expired")
    await audit_ok(make_store)


async def test_expired_holds_are_released_lazily_by_the_next_initiate(
    flows: Flows, clock: FakeClock, make_store: Any
) -> None:
    for i in range(5):
        await flows.transfer("3001", "1002", "1000", f"l{i}")
    clock.advance(hours=1)
    # no sweep ran: the next initiate releases the five expired holds first, then reserves
    status, r = await flows.initiate("3001", "1002", "5000", "l5")
    assert status == 200, r
    assert r["new_balance"] == "0.00" == await flows.available(E3)
    assert await flows.balance(E3) == (D(0), D(5000), D(5000))
    assert await flows.sweep() == 0
    kinds = [e.kind for e in await journal(make_store, "3001")]
    assert kinds.count("hold") == 6
    assert kinds.count("hold_release") == 5
    await audit_ok(make_store)


async def test_expiry_racing_a_claim_moves_money_once(flows: Flows, clock: FakeClock, make_store: Any) -> None:
    tid = await flows.transfer("1001", "1002", "10", "race")
    await flows.verify(tid, await flows.code("1001"))
    clock.advance(hours=1)
    results = await asyncio.gather(
        flows.sweep(),
        flows.call("POST", "/api/transfers/claim-transfer", {"transfer_id": tid, "player_id": "1002"}),
        flows.sweep(),
    )
    assert results[1][0] == 409
    assert results[0] + results[2] <= 1  # the claim may have released it lazily itself
    assert await flows.balance(E1) == (D(150), D(0), D(150))
    assert await flows.balance(E2) == (D(0), D(0), D(0))
    releases = [e for e in await journal(make_store, "1001") if e.kind == "hold_release"]
    assert len(releases) == 1
    await audit_ok(make_store)
