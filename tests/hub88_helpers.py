"""Helpers of the Hub88 face's tests: a signed Hub88 client over the real HTTP interface, and an
operator configured for Hub88 through the admin API."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp.test_utils import TestClient

from groove_adapter.jsonout import loads
from groove_client import hub88
from tests.conftest import Api

SIGNER = hub88.Signer.generate()
GAME = "clt_dragonrising"


def new_id() -> str:
    return str(uuid.uuid4())


class Hub88Api:
    """Signed POSTs to ``/hub88/...``; replies parsed (every reply must be HTTP 200)."""

    def __init__(self, client: TestClient, signer: hub88.Signer = SIGNER) -> None:
        self.client = client
        self.signer = signer

    async def raw(self, endpoint: str, body: bytes, signature: str | None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers[hub88.HEADER] = signature
        resp = await self.client.post("/hub88" + hub88.PATH[endpoint], data=body, headers=headers)
        assert resp.status == 200, await resp.text()
        reply: dict[str, Any] = loads(await resp.text())
        return reply

    async def call(self, endpoint: str, body: dict[str, Any], *, signed: bool = True) -> dict[str, Any]:
        raw = json.dumps(body, separators=(",", ":")).encode()
        reply = await self.raw(endpoint, raw, self.signer.sign(raw) if signed else None)
        if "request_uuid" in body and isinstance(body["request_uuid"], str):
            assert reply["request_uuid"] == body["request_uuid"]
        return reply

    async def balance(self, user: str, token: str) -> dict[str, Any]:
        return await self.call("balance", {"user": user, "token": token, "request_uuid": new_id(), "game_code": GAME})

    async def bet(self, user: str, token: str, amount: int, **over: Any) -> dict[str, Any]:
        return await self.call("bet", bet_body(user, token, amount, **over))

    async def win(self, user: str, token: str, amount: int, reference: str, **over: Any) -> dict[str, Any]:
        body = bet_body(user, token, amount, reference_transaction_uuid=reference, **over)
        return await self.call("win", body)

    async def rollback(self, user: str, reference: str, **over: Any) -> dict[str, Any]:
        body = {
            "user": user,
            "transaction_uuid": new_id(),
            "supplier_transaction_id": "sup-rb",
            "token": "t",
            "round": "r-1",
            "round_closed": True,
            "request_uuid": new_id(),
            "reference_transaction_uuid": reference,
            "game_code": GAME,
            "meta": None,
        } | over
        return await self.call("rollback", body)


def bet_body(user: str, token: str, amount: int, **over: Any) -> dict[str, Any]:
    return {
        "user": user,
        "transaction_uuid": new_id(),
        "supplier_transaction_id": "sup-1",
        "token": token,
        "supplier_user": "hub88_" + user,
        "round": "r-1",
        "round_closed": False,
        "reward_uuid": None,
        "request_uuid": new_id(),
        "is_free": False,
        "is_supplier_promo": False,
        "game_code": GAME,
        "currency": "EUR",
        "bet": None,
        "amount": amount,
        "meta": None,
    } | over


async def enable_hub88(api: Api, operator_id: str = "11", **over: Any) -> Any:
    body = {"enabled": True, "public_key_pem": SIGNER.public_pem(), "games": []} | over
    return await api.admin("PUT", f"/admin/operators/{operator_id}/hub88", body, expect=200)


async def hub88_player(api: Api, account_id: str = "p10042", real: str = "100", bonus: str = "50") -> str:
    """Operator 11 with Hub88 enabled (created when missing), a player and a live token."""
    if (await api.client.get("/admin/operators/11", headers=api.auth)).status == 404:
        await api.operator("11")
        await enable_hub88(api)
    await api.player(account_id, real=real, bonus=bonus)
    return await api.session(account_id)


async def audit_ok(client: TestClient) -> None:
    """``audit`` over the app's store passes (records <-> journal, rounds, chains)."""
    from groove_adapter.keys import STORE
    from wallet_store.audit import run_audit

    report = await run_audit(client.app[STORE])
    assert report.ok, report.problems
