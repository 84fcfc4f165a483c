"""Transfers between players (initiate -> verify SMS -> claim) through HTTP, on both backends.

Also home of the helpers the other flow tests import (:class:`Flows`, :func:`make_world`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.jsonout import dumps, loads
from tests.conftest import Api, FakeClock
from wallet_store.audit import run_audit
from wallet_store.model import JournalEntry, SmsMessage
from wallet_store.sms import ProviderSender

D = Decimal
PB = "/api/player-balances"
T = "/api/transfers"
PHONE = "+35699000001"


class Flows:
    """A game's view of the write flows, plus admin and balance helpers."""

    def __init__(self, client: TestClient, api: Api, key: str, other_key: str) -> None:
        self.client = client
        self.api = api
        self.key = key
        self.other_key = other_key  # a game of operator 12

    async def call(self, method: str, path: str, body: Any = None, *, key: str | None = None) -> tuple[int, Any, Any]:
        headers = {"X-Game-Secret-Key": self.key if key is None else key, "Content-Type": "application/json"}
        data = None if body is None else dumps(body)
        resp = await self.client.request(method, path, data=data, headers=headers)
        text = await resp.text()
        return resp.status, (loads(text) if text else None), resp.headers

    async def post(self, path: str, body: Any, *, expect: int = 200, key: str | None = None) -> Any:
        status, reply, _ = await self.call("POST", path, body, key=key)
        assert status == expect, f"{path}: {status} {reply}"
        return reply

    async def balance(self, email: str, currency: str = "EUR") -> tuple[D, D, D]:
        """(available, reserved, total) from a fresh GET by e-mail; zeros without a wallet."""
        status, body, _ = await self.call("GET", f"{PB}/player/by-email/{email}")
        assert status == 200, body
        for b in body["balances"]:
            if b.get("currency_code", b["currency_id"]) == currency:
                avail, res, tot = D(b["available_balance"]), D(b["reserved_balance"]), D(b["total_balance"])
                assert avail + res == tot
                return avail, res, tot
        return D(0), D(0), D(0)

    async def available(self, email: str, currency: str = "EUR") -> str:
        """The available_balance string of a fresh GET (what new_balance must equal)."""
        status, body, _ = await self.call("GET", f"{PB}/player/by-email/{email}")
        assert status == 200, body
        for b in body["balances"]:
            if b.get("currency_code", b["currency_id"]) == currency:
                return str(b["available_balance"])
        raise AssertionError(f"{email} has no {currency} wallet")

    async def outbox(self, account_id: str | None = None) -> list[dict[str, Any]]:
        q = f"?account_id={account_id}&limit=100" if account_id else "?limit=100"
        body = await self.api.admin("GET", "/admin/sms-outbox" + q, expect=200)
        return list(body["messages"])

    async def code(self, account_id: str) -> str:
        """The code of the newest SMS sent to ``account_id`` (read from the staging outbox)."""
        messages = await self.outbox(account_id)
        assert messages, f"no SMS for {account_id}"
        m = re.search(r"\b([0-9]{6})\b", messages[0]["body"])
        assert m, messages[0]
        return m.group(1)

    async def code_for(self, flow_id: str) -> str:
        """The code of the SMS sent for one transfer/send."""
        for m in await self.outbox():
            if m["purpose"].endswith(":" + flow_id):
                found = re.search(r"\b([0-9]{6})\b", m["body"])
                assert found, m
                return found.group(1)
        raise AssertionError(f"no SMS for {flow_id}")

    async def phone(self, account_id: str, phone: str = PHONE) -> None:
        await self.api.admin("PUT", f"/admin/players/{account_id}/phone", {"phone": phone}, expect=200)

    async def initiate(self, source: str, target: str, amount: Any, key: str, **kw: Any) -> tuple[int, Any]:
        body = {
            "source_player_id": source,
            "target_player_id": target,
            "currency": "EUR",
            "amount": amount,
            "idempotency_key": key,
        } | kw
        status, reply, _ = await self.call("POST", f"{T}/initiate-transfer", body)
        return status, reply

    async def transfer(self, source: str, target: str, amount: Any, key: str) -> str:
        status, reply = await self.initiate(source, target, amount, key)
        assert status == 200, reply
        return str(reply["transfer_id"])

    async def verify(self, transfer_id: str, code: str, *, expect: int = 200) -> Any:
        return await self.post(
            f"{T}/verify-sms", {"transfer_id": transfer_id, "verification_code": code}, expect=expect
        )

    async def claim(self, transfer_id: str, player: str, *, expect: int = 200) -> Any:
        return await self.post(f"{T}/claim-transfer", {"transfer_id": transfer_id, "player_id": player}, expect=expect)

    async def sweep(self) -> int:
        body = await self.api.admin("POST", "/admin/holds/sweep", expect=200)
        return int(body["released"])


async def new_game(api: Api, operator_id: str, game_id: str) -> str:
    body = await api.admin("POST", "/admin/games", {"operator_id": operator_id, "game_id": game_id, "name": "G"})
    return str(body["secret_key"])


async def make_world(client: TestClient, api: Api) -> Flows:
    """Operator 11 (EUR named "Euro Coins"), players 1001 (real 100, bonus 50) and 1002 (0)
    with phones, game g1; operator 12 with player 2001 and game g2."""
    await api.operator("11")
    await api.operator("12")
    await api.admin(
        "PUT", "/admin/operators/11/currencies/EUR", {"name": "Euro Coins", "symbol": "EC", "usd_rate": "1.1"}
    )
    await api.player("1001")
    await api.player("1002", real="0", bonus="0")
    await api.player("2001", operator_id="12")
    flows = Flows(client, api, await new_game(api, "11", "g1"), await new_game(api, "12", "g2"))
    await flows.phone("1001")
    await flows.phone("1002", "+35699000002")
    await flows.phone("2001", "+35699000003")
    return flows


@pytest.fixture
async def flows(client: TestClient, api: Api, make_store: Any) -> AsyncIterator[Flows]:
    """The world of :func:`make_world`; the audit must pass after every test."""
    yield await make_world(client, api)
    await audit_ok(make_store)


async def audit_ok(make_store: Any) -> None:
    store = make_store()
    await store.open()
    try:
        report = await run_audit(store)
    finally:
        await store.close()
    assert report.ok, report.text()


async def journal(make_store: Any, account_id: str, currency: str = "EUR") -> list[JournalEntry]:
    store = make_store()
    await store.open()
    try:
        return list(await store.read(lambda tx: tx.list_journal(account_id, currency)))
    finally:
        await store.close()


async def admin_real_bonus(api: Api, account_id: str, currency: str = "EUR") -> tuple[D, D]:
    return await api.balances(account_id, currency)


E1 = "p1001@example.com"
E2 = "p1002@example.com"


# --------------------------------------------------------------------------- happy path


async def test_transfer_happy_path_balances_after_every_step(flows: Flows, make_store: Any) -> None:
    assert await flows.balance(E1) == (D(150), D(0), D(150))
    status, r = await flows.initiate("1001", "1002", "30.5", "t-1", note="dinner")
    assert status == 200, r
    tid = r["transfer_id"]
    assert tid.startswith("tr_")
    assert (r["status"], r["state"]) == ("success", "pending")
    assert r["new_balance"] == "119.50" == r["transfer_details"]["new_balance"] == await flows.available(E1)
    assert r["currency_name"] == "Euro Coins"
    assert r["verification"] == {"channel": "sms", "phone": "+•••••••0001", "code_length": 6}
    assert await flows.balance(E1) == (D("119.5"), D("30.5"), D(150))
    assert await flows.balance(E2) == (D(0), D(0), D(0))

    code = await flows.code("1001")
    assert code not in dumps(r)
    v = await flows.verify(tid, code)
    assert (v["status"], v["state"]) == ("success", "verified")
    assert v["new_balance"] == "119.50" == v["transfer_details"]["new_balance"] == await flows.available(E1)
    assert await flows.balance(E1) == (D("119.5"), D("30.5"), D(150))
    assert await flows.balance(E2) == (D(0), D(0), D(0))

    c = await flows.claim(tid, "1002")
    assert (c["status"], c["state"]) == ("success", "claimed")
    assert c["balance_player_id"] == "1002"
    assert c["new_balance"] == "30.50" == c["transfer_details"]["new_balance"] == await flows.available(E2)
    assert c["currency_name"] == "Euro Coins"
    assert await flows.balance(E1) == (D("119.5"), D(0), D("119.5"))
    assert await flows.balance(E2) == (D("30.5"), D(0), D("30.5"))

    status, st, _ = await flows.call("GET", f"{T}/{tid}")
    assert status == 200
    assert st["state"] == "claimed"
    assert st["hold"]["state"] == "captured"
    kinds = [e.kind for e in await journal(make_store, "1001")]
    assert kinds == ["initial", "hold", "hold_capture"]
    incoming = (await journal(make_store, "1002"))[-1]
    assert (incoming.kind, incoming.reference, incoming.real_delta) == ("transfer_in", tid, D("30.5"))
    await audit_ok(make_store)


async def test_bonus_stays_bonus_through_a_transfer(flows: Flows, api: Api, make_store: Any) -> None:
    # cash_money order: real first.  120 = real 100 + bonus 20; the target gets the same split.
    tid = await flows.transfer("1001", "1002", "120", "t-split")
    assert await admin_real_bonus(api, "1001") == (D(0), D(30))
    await flows.verify(tid, await flows.code("1001"))
    await flows.claim(tid, "1002")
    assert await admin_real_bonus(api, "1002") == (D(100), D(20))
    assert await flows.balance(E1) == (D(30), D(0), D(30))
    await audit_ok(make_store)


# --------------------------------------------------------------------------- idempotency


async def test_initiate_replay_and_conflict(flows: Flows, make_store: Any) -> None:
    s1, r1, h1 = await flows.call(
        "POST",
        f"{T}/initiate-transfer",
        {
            "source_player_id": "1001",
            "target_player_id": "1002",
            "currency": "EUR",
            "amount": "10",
            "idempotency_key": "k",
        },
    )
    s2, r2, h2 = await flows.call(
        "POST",
        f"{T}/initiate-transfer",
        {
            "source_player_id": "1001",
            "target_player_id": "1002",
            "currency": "EUR",
            "amount": 10,
            "idempotency_key": "k",
        },
    )
    assert (s1, s2) == (200, 200)
    assert r1 == r2
    assert (h1["Idempotent-Replayed"], h2["Idempotent-Replayed"]) == ("false", "true")
    assert await flows.balance(E1) == (D(140), D(10), D(150))  # one hold, not two
    assert len(await flows.outbox("1001")) == 1  # one SMS
    status, r3 = await flows.initiate("1001", "1002", "11", "k")
    assert status == 409, r3
    assert r3["kind"] == "IdempotencyConflict"
    status, r4 = await flows.initiate("1001", "1002", "10", "k2")
    assert status == 200
    assert r4["transfer_id"] != r1["transfer_id"]
    assert await flows.balance(E1) == (D(130), D(20), D(150))
    await audit_ok(make_store)


async def test_verify_and_claim_repeats_reply_the_same(flows: Flows, make_store: Any) -> None:
    tid = await flows.transfer("1001", "1002", "5", "t-rep")
    code = await flows.code("1001")
    v1 = await flows.verify(tid, code)
    s, v2, h = await flows.call("POST", f"{T}/verify-sms", {"transfer_id": tid, "verification_code": code})
    assert s == 200
    assert v2 == v1
    assert h["Idempotent-Replayed"] == "true"
    c1 = await flows.claim(tid, "1002")
    s, c2, h = await flows.call("POST", f"{T}/claim-transfer", {"transfer_id": tid, "player_email": E2})
    assert s == 200
    assert c2 == c1
    assert h["Idempotent-Replayed"] == "true"
    v3 = await flows.verify(tid, code)  # verify after claim: still the verify reply
    assert v3 == v1
    assert await flows.balance(E2) == (D(5), D(0), D(5))  # credited once
    await audit_ok(make_store)


# --------------------------------------------------------------------------- wrong states


async def test_claim_before_verify_is_409_and_moves_nothing(flows: Flows, make_store: Any) -> None:
    tid = await flows.transfer("1001", "1002", "10", "t-early")
    r = await flows.claim(tid, "1002", expect=409)
    assert r["kind"] == "WrongState"
    assert "not verified" in r["error"]
    assert await flows.balance(E1) == (D(140), D(10), D(150))
    assert await flows.balance(E2) == (D(0), D(0), D(0))
    await audit_ok(make_store)


async def test_wrong_codes_then_cancelled_and_hold_released(flows: Flows, make_store: Any) -> None:
    tid = await flows.transfer("1001", "1002", "10", "t-wrong")
    code = await flows.code("1001")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    r1 = await flows.verify(tid, wrong, expect=400)
    assert r1["kind"] == "WrongCode"
    assert "2 attempt(s) left" in r1["error"]
    r2 = await flows.verify(tid, wrong, expect=400)
    assert "1 attempt(s) left" in r2["error"]
    assert await flows.balance(E1) == (D(140), D(10), D(150))
    r3 = await flows.verify(tid, wrong, expect=409)
    assert r3["kind"] == "VerificationFailed"
    assert await flows.balance(E1) == (D(150), D(0), D(150))
    # the right code is too late now; claim too; and nothing is released twice
    r4 = await flows.verify(tid, code, expect=409)
    assert "cancelled" in r4["error"]
    await flows.claim(tid, "1002", expect=409)
    assert await flows.sweep() == 0
    assert await flows.balance(E1) == (D(150), D(0), D(150))
    _, st, _ = await flows.call("GET", f"{T}/{tid}")
    assert (st["state"], st["verification_attempts"], st["hold"]["close_reason"]) == (
        "cancelled",
        3,
        "verification_failed",
    )
    kinds = [e.kind for e in await journal(make_store, "1001")]
    assert kinds == ["initial", "hold", "hold_release"]
    await audit_ok(make_store)


async def test_wrong_code_after_verify_is_409(flows: Flows) -> None:
    tid = await flows.transfer("1001", "1002", "1", "t-wv")
    code = await flows.code("1001")
    await flows.verify(tid, code)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    r = await flows.verify(tid, wrong, expect=409)
    assert "already verified" in r["error"]


async def test_claim_by_another_player_and_second_claimant(flows: Flows, api: Api, make_store: Any) -> None:
    await api.player("1003", real="0", bonus="0")
    tid = await flows.transfer("1001", "1002", "10", "t-who")
    await flows.verify(tid, await flows.code("1001"))
    r = await flows.claim(tid, "1003", expect=409)
    assert r["kind"] == "WrongClaimant"
    await flows.claim(tid, "1002")
    r = await flows.claim(tid, "1003", expect=409)  # a different claim request after the claim
    assert "already claimed" in r["error"]
    await flows.claim(tid, "1001", expect=409)
    assert await flows.balance("p1003@example.com") == (D(10) * 0, D(0), D(0))
    assert await flows.balance(E2) == (D(10), D(0), D(10))
    await audit_ok(make_store)


async def test_expiry_releases_once_and_refuses_later_steps(flows: Flows, clock: FakeClock, make_store: Any) -> None:
    tid = await flows.transfer("1001", "1002", "10", "t-exp")
    code = await flows.code("1001")
    clock.advance(seconds=3599)
    _, st, _ = await flows.call("GET", f"{T}/{tid}")
    assert st["state"] == "pending"
    clock.advance(seconds=1)  # the hold's expires_at: expired from then on
    _, st, _ = await flows.call("GET", f"{T}/{tid}")
    assert st["state"] == "expired"
    assert st["hold"]["state"] == "open"  # reported expired; released by the next access/sweep
    r = await flows.verify(tid, code, expect=409)  # lazy expiry: releases now
    assert "expired" in r["error"]
    assert await flows.balance(E1) == (D(150), D(0), D(150))
    assert await flows.sweep() == 0
    await flows.verify(tid, code, expect=409)
    await flows.claim(tid, "1002", expect=409)
    assert await flows.balance(E1) == (D(150), D(0), D(150))
    releases = [e for e in await journal(make_store, "1001") if e.kind == "hold_release"]
    assert len(releases) == 1
    assert releases[0].reason == "expired"
    await audit_ok(make_store)


async def test_expiry_after_verify_then_claim_is_409(flows: Flows, clock: FakeClock, make_store: Any) -> None:
    tid = await flows.transfer("1001", "1002", "10", "t-exp2")
    await flows.verify(tid, await flows.code("1001"))
    clock.advance(hours=2)
    assert await flows.sweep() == 1  # the sweeper releases it
    assert await flows.balance(E1) == (D(150), D(0), D(150))
    r = await flows.claim(tid, "1002", expect=409)
    assert "expired" in r["error"]
    assert await flows.balance(E2) == (D(0), D(0), D(0))
    assert await flows.sweep() == 0
    await audit_ok(make_store)


async def test_cancel_transfer(flows: Flows, make_store: Any) -> None:
    tid = await flows.transfer("1001", "1002", "40", "t-cancel")
    await flows.verify(tid, await flows.code("1001"))
    c1 = await flows.post(f"{T}/cancel-transfer", {"transfer_id": tid})
    assert (c1["status"], c1["state"]) == ("success", "cancelled")
    assert c1["new_balance"] == "150.00" == await flows.available(E1)
    assert await flows.balance(E1) == (D(150), D(0), D(150))
    c2 = await flows.post(f"{T}/cancel-transfer", {"transfer_id": tid})
    assert c2 == c1
    await flows.claim(tid, "1002", expect=409)
    # a claimed transfer cannot be cancelled
    tid2 = await flows.transfer("1001", "1002", "1", "t-cancel2")
    await flows.verify(tid2, await flows.code("1001"))
    await flows.claim(tid2, "1002")
    r = await flows.post(f"{T}/cancel-transfer", {"transfer_id": tid2}, expect=409)
    assert "claimed" in r["error"]
    assert await flows.balance(E2) == (D(1), D(0), D(1))
    await audit_ok(make_store)


# --------------------------------------------------------------------------- refusals


async def test_bad_input_is_400_and_changes_nothing(flows: Flows) -> None:
    base = {
        "source_player_id": "1001",
        "target_player_id": "1002",
        "currency": "EUR",
        "amount": "1",
        "idempotency_key": "b",
    }
    bad: list[dict[str, Any]] = [
        {},
        base | {"amount": "0"},
        base | {"amount": "-1"},
        base | {"amount": "1e3"},
        base | {"amount": "1.00000000001"},
        base | {"amount": True},
        base | {"currency": "eur"},
        base | {"source_player_email": E1},  # both id and e-mail
        {k: v for k, v in base.items() if k != "target_player_id"},
        base | {"target_player_id": "1001"},  # to oneself
        base | {"note": "x" * 201},
        base | {"idempotency_key": ""},
        base | {"idempotency_key": "k" * 256},
        base | {"extra": 1},
    ]
    for body in bad:
        status, reply, _ = await flows.call("POST", f"{T}/initiate-transfer", body)
        assert status == 400, (body, reply)
    status, reply, _ = await flows.call("POST", f"{T}/initiate-transfer", None)
    assert status == 400
    resp = await flows.client.post(
        f"{T}/initiate-transfer", data=b"{not json", headers={"X-Game-Secret-Key": flows.key}
    )
    assert resp.status == 400
    tid = await flows.transfer("1001", "1002", "1", "ok")
    for body in (
        {"transfer_id": tid, "verification_code": "12345"},
        {"transfer_id": tid, "verification_code": "12a456"},
        {"transfer_id": tid, "verification_code": 123456},
        {"transfer_id": "bad id!", "verification_code": "123456"},
        {"transfer_id": tid},
    ):
        status, reply, _ = await flows.call("POST", f"{T}/verify-sms", body)
        assert status == 400, (body, reply)
    _, st, _ = await flows.call("GET", f"{T}/{tid}")
    assert st["verification_attempts"] == 0  # malformed codes are not attempts
    status, _, _ = await flows.call("POST", f"{T}/claim-transfer", {"transfer_id": tid})
    assert status == 400
    assert await flows.balance(E1) == (D(149), D(1), D(150))
    assert len(await flows.outbox("1001")) == 1


async def test_refusals_422_403_404(flows: Flows, api: Api, make_store: Any) -> None:
    status, r = await flows.initiate("1001", "1002", "150.01", "r1")
    assert (status, r["kind"]) == (422, "OutOfMoney")
    status, r = await flows.initiate("1001", "1002", "1", "r2", currency="USD")
    assert (status, r["kind"]) == (400, "UnknownCurrency")  # not offered: one rule, 400
    await api.player("1004")  # no phone on file
    status, r = await flows.initiate("1004", "1002", "1", "r3")
    assert (status, r["kind"]) == (422, "NoPhone")
    status, r = await flows.initiate("1001", "2001", "1", "r4")  # other operator's player
    assert status == 404
    status, r = await flows.initiate("1001", "9999", "1", "r5")
    assert status == 404
    await api.admin("POST", "/admin/players/1001/block", expect=200)
    status, r = await flows.initiate("1001", "1002", "1", "r6")
    assert status == 403
    await api.admin("POST", "/admin/players/1001/unblock", expect=200)
    await api.admin("POST", "/admin/players/1002/self-exclude", expect=200)
    status, r = await flows.initiate("1001", "1002", "1", "r7")
    assert status == 403
    assert await flows.balance(E1) == (D(150), D(0), D(150))
    assert await flows.outbox("1001") == []
    await audit_ok(make_store)


async def test_blocked_recipient_cannot_claim_until_unblocked(flows: Flows, api: Api, make_store: Any) -> None:
    tid = await flows.transfer("1001", "1002", "10", "t-blk")
    await flows.verify(tid, await flows.code("1001"))
    await api.admin("POST", "/admin/players/1002/block", expect=200)
    r = await flows.claim(tid, "1002", expect=403)
    assert r["kind"] == "AccountBlocked"
    assert await flows.balance(E1) == (D(140), D(10), D(150))
    await api.admin("POST", "/admin/players/1002/unblock", expect=200)
    await flows.claim(tid, "1002")
    assert await flows.balance(E2) == (D(10), D(0), D(10))
    await audit_ok(make_store)


async def test_other_operator_and_unknown_transfers_are_404(flows: Flows) -> None:
    tid = await flows.transfer("1001", "1002", "10", "t-404")
    code = await flows.code("1001")
    o = flows.other_key
    await flows.post(f"{T}/verify-sms", {"transfer_id": tid, "verification_code": code}, expect=404, key=o)
    await flows.post(f"{T}/claim-transfer", {"transfer_id": tid, "player_id": "2001"}, expect=404, key=o)
    await flows.post(f"{T}/cancel-transfer", {"transfer_id": tid}, expect=404, key=o)
    status, _, _ = await flows.call("GET", f"{T}/{tid}", key=o)
    assert status == 404
    await flows.verify("tr_" + "0" * 24, code, expect=404)
    status, _, _ = await flows.call("GET", "/api/currency-sends/" + tid)  # a transfer is not a send
    assert status == 404
    status, _, _ = await flows.call("POST", f"{T}/initiate-transfer", {}, key="gwk_wrong")
    assert status == 401
    assert await flows.balance(E1) == (D(140), D(10), D(150))


# --------------------------------------------------------------------------- concurrency


async def test_concurrent_claims_credit_once(flows: Flows, make_store: Any) -> None:
    tid = await flows.transfer("1001", "1002", "25", "t-race")
    await flows.verify(tid, await flows.code("1001"))
    body = {"transfer_id": tid, "player_id": "1002"}
    results = await asyncio.gather(*(flows.call("POST", f"{T}/claim-transfer", body) for _ in range(20)))
    assert [s for s, _, _ in results] == [200] * 20
    replies = [r for _, r, _ in results]
    assert all(r == replies[0] for r in replies)
    assert sorted(h["Idempotent-Replayed"] for _, _, h in results) == ["false"] + ["true"] * 19
    assert await flows.balance(E2) == (D(25), D(0), D(25))
    assert await flows.balance(E1) == (D(125), D(0), D(125))
    assert [e.kind for e in await journal(make_store, "1002")] == ["transfer_in"]
    await audit_ok(make_store)


async def test_opposite_transfers_claimed_concurrently(flows: Flows, api: Api, make_store: Any) -> None:
    await api.admin(
        "POST",
        "/admin/players/1002/adjust",
        {"currency": "EUR", "real": "100", "reason": "top-up", "idempotency_key": "top"},
        expect=201,
    )
    pairs = []
    for i in range(5):
        a = await flows.transfer("1001", "1002", "1", f"ab{i}")
        await flows.verify(a, await flows.code("1001"))
        b = await flows.transfer("1002", "1001", "2", f"ba{i}")
        await flows.verify(b, await flows.code("1002"))
        pairs += [(a, "1002"), (b, "1001")]
    results = await asyncio.gather(
        *(flows.call("POST", f"{T}/claim-transfer", {"transfer_id": t, "player_id": p}) for t, p in pairs)
    )
    assert [s for s, _, _ in results] == [200] * 10
    assert await flows.balance(E1) == (D(155), D(0), D(155))
    assert await flows.balance(E2) == (D(95), D(0), D(95))
    await audit_ok(make_store)


# --------------------------------------------------------------------------- SMS


async def test_code_is_random_hashed_and_only_in_the_outbox(
    flows: Flows, make_store: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    tids = [await flows.transfer("1001", "1002", "1", f"c{i}") for i in range(3)]
    messages = await flows.outbox("1001")
    assert len(messages) == 3
    codes = [re.search(r"[0-9]{6}", m["body"]).group(0) for m in messages]  # type: ignore[union-attr]
    assert all(m["state"] == "outbox" and m["phone"] == PHONE for m in messages)
    assert {m["purpose"] for m in messages} == {f"transfer:{t}" for t in tids}
    store = make_store()
    await store.open()
    try:
        stored = [await store.read(lambda tx, t=t: tx.get_flow(t)) for t in tids]
    finally:
        await store.close()
    for flow, code in zip(stored, reversed(codes), strict=True):
        assert flow is not None
        assert len(flow.code_hash) == 64
        assert code not in repr(flow)
    await flows.verify(tids[0], codes[-1])
    out, err = capfd.readouterr()
    for code in codes:
        assert code not in out + err


class RecordingSender(ProviderSender):
    """A stand-in for a real provider adapter: records what it would send."""

    name = "recording"

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail

    async def deliver(self, message: SmsMessage, text: str) -> None:
        if self.fail:
            raise ConnectionError("provider down")
        self.sent.append((message.phone, text))


@pytest.mark.parametrize("fail", [False, True])
async def test_a_real_provider_is_one_adapter(
    aiohttp_client: Any, settings: Settings, make_store: Any, clock: FakeClock, fail: bool
) -> None:
    sender = RecordingSender(fail=fail)
    client = await aiohttp_client(create_app(settings, store=make_store(), clock=clock, sms=sender))
    api = Api(client)
    flows = await make_world(client, api)
    tid = await flows.transfer("1001", "1002", "10", "t-prov")
    [m] = await flows.outbox("1001")
    assert "••••••" in m["body"]
    assert not re.search(r"[0-9]{6}", m["body"])  # the stored row is redacted
    if fail:  # the flow stands (the hold expires if nobody can verify); the row says it failed
        assert m["state"] == "failed"
        assert sender.sent == []
        assert await flows.balance(E1) == (D(140), D(10), D(150))
        await audit_ok(make_store)
        return
    assert m["state"] == "sent"
    [(phone, text)] = sender.sent
    assert phone == PHONE
    code = re.search(r"[0-9]{6}", text).group(0)  # type: ignore[union-attr]
    await flows.verify(tid, code)
    await flows.claim(tid, "1002")
    assert await flows.balance(E2) == (D(10), D(0), D(10))
    await audit_ok(make_store)


async def test_admin_phone_and_outbox_inputs(flows: Flows, api: Api) -> None:
    await api.admin("PUT", "/admin/players/1001/phone", {"phone": "0035699"}, expect=400)
    await api.admin("PUT", "/admin/players/1001/phone", {"phone": "+1"}, expect=400)
    await api.admin("PUT", "/admin/players/1001/phone", {}, expect=400)
    await api.admin("PUT", "/admin/players/9999/phone", {"phone": PHONE}, expect=404)
    await api.admin("GET", "/admin/sms-outbox?limit=0", expect=400)
    await api.admin("GET", "/admin/sms-outbox?limit=101", expect=400)
    await api.admin("GET", "/admin/sms-outbox?account_id=bad!", expect=400)
    resp = await flows.client.get("/admin/sms-outbox")
    assert resp.status == 401
    assert (await api.admin("GET", "/admin/sms-outbox", expect=200)) == {"messages": []}


async def test_every_step_publishes_live_balance_updates(flows: Flows) -> None:
    async def recv(ws: Any) -> dict[str, Any]:
        msg = await ws.receive(timeout=10)  # a bound on a hang, not a timing assertion
        body: dict[str, Any] = loads(msg.data)
        return body

    async with flows.client.ws_connect("/ws/balance-updates") as ws:
        await ws.send_str(
            dumps(
                {
                    "action": "subscribe_player_balances",
                    "player_emails": [E1, E2],
                    "auth_token": f"Bearer {flows.key}",
                }
            )
        )
        assert (await recv(ws))["type"] == "subscribed"
        tid = await flows.transfer("1001", "1002", "10", "ws")
        u = await recv(ws)
        assert (u["player_email"], u["available_balance"], u["reserved_balance"]) == (E1, "140.00", "10.00")
        await flows.verify(tid, await flows.code("1001"))  # no money moves: no update
        await flows.claim(tid, "1002")
        got = {}
        while len(got) < 2:
            u = await recv(ws)
            got[u["player_email"]] = (u["available_balance"], u["reserved_balance"], u["total_balance"])
        assert got == {E1: ("140.00", "0.00", "140.00"), E2: ("10.00", "0.00", "10.00")}
