"""Per-tenant isolation, route by route: a game key of operator A never reaches operator B.

``CASES`` maps every game-key route (``/api/...``, ``/ws/...``) to a check that runs on both
backends with two operators (A = ``11``, B = ``12``):

* the *control*: A's key on A's own player (or flow, payment) succeeds, so the request is
  well formed and a 404 below is about the tenant, not about the request;
* the *probe*: A's key on B's player (or flow, payment) answers 404 (400 on the private
  wallet API, whose spec lists no 404), exactly like an id that does not exist (no existence
  oracle), and B's balances, holds and flows are unchanged.

``test_every_route_is_classified`` enumerates ``app.router.routes()`` and fails when a route
is neither in ``CASES`` nor in ``NOT_TENANT_SCOPED`` (with the reason it has no tenant check
here), so a new route cannot ship without an isolation check.  To cover a new route, add an
``@case("METHOD", "/path/{param}")`` function.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.jsonout import dumps, loads
from tests.conftest import Api

PB = "/api/player-balances"
PW = "/api/private/users"
T = "/api/transfers"
S = "/api/currency-sends"
CP = "/api/currency-purchases"
WS_WAIT = 10.0  # seconds a websocket read may wait for an expected message (never reached when it works)

A_PLAYER, A_OTHER, B_PLAYER, B_OTHER = "1001", "1002", "2001", "2002"
UNKNOWN = "9999"


def email(acct: str) -> str:
    return f"p{acct}@example.com"


@dataclass
class World:
    client: TestClient
    api: Api
    key_a: str
    key_b: str

    async def call(
        self, method: str, path: str, body: Any = None, *, key: str | None = None, private: bool = False
    ) -> tuple[int, Any]:
        header = "x-api-key" if private else "X-Game-Secret-Key"
        headers = {header: self.key_a if key is None else key, "Content-Type": "application/json"}
        resp = await self.client.request(method, path, data=None if body is None else dumps(body), headers=headers)
        text = await resp.text()
        return resp.status, loads(text) if text else None

    async def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        status, reply = await self.call(method, path, body, **kw)
        assert 200 <= status < 300, f"control {method} {path}: {status} {reply}"
        return reply

    async def tenant(self, operator_players: tuple[str, ...] = (B_PLAYER, B_OTHER)) -> list[Any]:
        """Everything B's players own, as the admin API shows it (balances incl. reserved)."""
        return [await self.api.admin("GET", f"/admin/players/{a}", expect=200) for a in operator_players]

    async def refused(
        self, method: str, path: str, body: Any = None, *, unknown: tuple[str, Any] | None = None, **kw: Any
    ) -> None:
        """The probe: 404 (private API: 400) and nothing of B changed; with ``unknown`` (path,
        body) the same request for something that does not exist must answer exactly the same."""
        before = await self.tenant()
        status, reply = await self.call(method, path, body, **kw)
        assert status == (400 if kw.get("private") else 404), f"probe {method} {path}: {status} {reply}"
        assert await self.tenant() == before
        if unknown is not None:
            s2, r2 = await self.call(method, unknown[0], unknown[1], **kw)
            assert (s2, _strip(r2)) == (status, _strip(reply)), (reply, r2)

    async def code(self, flow_id: str) -> str:
        """The SMS code sent for a transfer/send (read from the staging outbox)."""
        body = await self.api.admin("GET", "/admin/sms-outbox?limit=100", expect=200)
        for m in body["messages"]:
            if m["purpose"].endswith(":" + flow_id):
                found = re.search(r"\b([0-9]{6})\b", m["body"])
                assert found, m
                return found.group(1)
        raise AssertionError(f"no SMS for {flow_id}")

    async def transfer(self, key: str, source: str, target: str, idem: str) -> str:
        body = {
            "source_player_id": source,
            "target_player_id": target,
            "currency": "EUR",
            "amount": "5",
            "idempotency_key": idem,
        }
        return str((await self.ok("POST", f"{T}/initiate-transfer", body, key=key))["transfer_id"])

    async def send(self, key: str, sender: str, recipient: str, idem: str) -> str:
        body = {
            "sender_player_id": sender,
            "recipient_email": email(recipient),
            "currency": "EUR",
            "amount": "5",
            "idempotency_key": idem,
        }
        return str((await self.ok("POST", f"{S}/initiate-send", body, key=key))["send_id"])

    async def state(self, path: str, key: str) -> Any:
        return (await self.ok("GET", path, key=key))["state"]


def _strip(body: Any) -> Any:
    """An error body without the ids it may echo back (the probe and the unknown id differ)."""
    text = dumps(body)
    for value in (B_PLAYER, UNKNOWN, email(B_PLAYER), email(UNKNOWN)):
        text = text.replace(value, "<id>")
    return re.sub(r"[A-Za-z0-9_]{16,64}", "<flow>", text)


async def _game(api: Api, operator_id: str, game_id: str) -> str:
    body = await api.admin("POST", "/admin/games", {"operator_id": operator_id, "game_id": game_id, "name": "G"})
    return str(body["secret_key"])


@pytest.fixture
async def world(client: TestClient, api: Api) -> World:
    """Operators 11 (A) and 12 (B), two players each (real 100, bonus 50 EUR) with phones,
    EUR and GOLD with USD rates for both, one game each; SILVER only for B."""
    for op in ("11", "12"):
        await api.operator(op)
        await api.admin(
            "PUT", f"/admin/operators/{op}/currencies/EUR", {"name": "Euro", "symbol": "E", "usd_rate": "1.1"}
        )
        await api.admin(
            "PUT", f"/admin/operators/{op}/currencies/GOLD", {"name": "Gold", "symbol": "G", "usd_rate": "0.03"}
        )
    await api.admin(
        "PUT", "/admin/operators/12/currencies/SILVER", {"name": "Silver", "symbol": "S", "usd_rate": "0.01"}
    )
    for i, (acct, op) in enumerate(((A_PLAYER, "11"), (A_OTHER, "11"), (B_PLAYER, "12"), (B_OTHER, "12"))):
        await api.player(acct, operator_id=op, currency="EUR")
        await api.admin("PUT", f"/admin/players/{acct}/phone", {"phone": f"+3569900000{i}"}, expect=200)
    return World(client, api, await _game(api, "11", "ga"), await _game(api, "12", "gb"))


Case = Callable[[World], Awaitable[None]]
CASES: dict[tuple[str, str], Case] = {}


def case(method: str, path: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        CASES[(method, path)] = fn
        return fn

    return register


# Routes with no game-key tenant to isolate, and why.  /admin/... is the operator-wide
# administration (one Bearer token for the whole deployment, tested in test_admin.py).
NOT_TENANT_SCOPED: dict[tuple[str, str], str] = {
    ("GET", "/groove"): "aggregator protocol: the operator is the account's own, never the caller's claim;"
    " per-operator signature and IP allow-list are tested in test_groove_security.py",
    ("POST", "/groove"): "wagerbybatch: as GET /groove",
    ("POST", "/hub88/user/info"): "aggregator protocol: signed with the Hub88 key of the named player's operator;"
    " another operator's key is refused (test_hub88_api.py::test_one_operators_hub88_key_never_reaches...)",
    ("POST", "/hub88/user/balance"): "aggregator protocol: signed with the Hub88 key of the named player's operator;"
    " another operator's key is refused (test_hub88_api.py::test_one_operators_hub88_key_never_reaches...)",
    ("POST", "/hub88/transaction/bet"): "aggregator protocol: signed with the Hub88 key of the named player's operator;"
    " another operator's key is refused (test_hub88_api.py::test_one_operators_hub88_key_never_reaches...)",
    ("POST", "/hub88/transaction/win"): "aggregator protocol: signed with the Hub88 key of the named player's operator;"
    " another operator's key is refused (test_hub88_api.py::test_one_operators_hub88_key_never_reaches...)",
    (
        "POST",
        "/hub88/transaction/rollback",
    ): "aggregator protocol: signed with the Hub88 key of the named player's operator;"
    " another operator's key is refused (test_hub88_api.py::test_one_operators_hub88_key_never_reaches...)",
    ("GET", "/healthz"): "no tenant data",
    ("GET", "/readyz"): "no tenant data",
    ("GET", "/metrics"): "aggregate counters only, no ids, keys or e-mails (test_observability.py)",
    ("GET", "/openapi.json"): "static document",
}


# --------------------------------------------------------------------------- Player Balance API


@case("GET", f"{PB}/player/{{player_id}}")
async def _pb_by_id(w: World) -> None:
    assert (await w.ok("GET", f"{PB}/player/{A_PLAYER}"))["player"]["player_id"] == A_PLAYER
    await w.refused("GET", f"{PB}/player/{B_PLAYER}", unknown=(f"{PB}/player/{UNKNOWN}", None))


@case("GET", f"{PB}/player/by-email/{{email}}")
async def _pb_by_email(w: World) -> None:
    assert (await w.ok("GET", f"{PB}/player/by-email/{email(A_PLAYER)}"))["player"]["player_id"] == A_PLAYER
    await w.refused(
        "GET", f"{PB}/player/by-email/{email(B_PLAYER)}", unknown=(f"{PB}/player/by-email/{email(UNKNOWN)}", None)
    )


@case("POST", f"{PB}/batch")
async def _pb_batch(w: World) -> None:
    body = {"player_ids": [A_PLAYER, B_PLAYER], "player_emails": [email(B_OTHER)], "include_summary": True}
    reply = await w.ok("POST", f"{PB}/batch", body)
    assert [p["player_id"] for p in reply["players"]] == [A_PLAYER]
    assert reply["not_found"] == [{"player_id": B_PLAYER}, {"player_email": email(B_OTHER)}]
    assert "Player 2001" not in dumps(reply)
    assert "Player 2002" not in dumps(reply)


def _transfer_body(acct: str, idem: str) -> dict[str, Any]:
    return {"player_id": acct, "currency": "EUR", "amount": "1", "idempotency_key": idem}


@case("POST", f"{PB}/credit")
async def _pb_credit(w: World) -> None:
    await w.ok("POST", f"{PB}/credit", _transfer_body(A_PLAYER, "own"))
    await w.refused(
        "POST", f"{PB}/credit", _transfer_body(B_PLAYER, "x1"), unknown=(f"{PB}/credit", _transfer_body(UNKNOWN, "x1"))
    )
    by_email = {"player_email": email(B_PLAYER), "currency": "EUR", "amount": "1", "idempotency_key": "x2"}
    await w.refused("POST", f"{PB}/credit", by_email)


@case("POST", f"{PB}/debit")
async def _pb_debit(w: World) -> None:
    await w.ok("POST", f"{PB}/debit", _transfer_body(A_PLAYER, "own"))
    await w.refused(
        "POST", f"{PB}/debit", _transfer_body(B_PLAYER, "x1"), unknown=(f"{PB}/debit", _transfer_body(UNKNOWN, "x1"))
    )


@case("POST", f"{PB}/convert")
async def _pb_convert(w: World) -> None:
    def body(acct: str) -> dict[str, Any]:
        return {"player_id": acct, "from_currency": "EUR", "to_currency": "GOLD", "amount": "1", "idempotency_key": "c"}

    await w.ok("POST", f"{PB}/convert", body(A_PLAYER))
    await w.refused("POST", f"{PB}/convert", body(B_PLAYER), unknown=(f"{PB}/convert", body(UNKNOWN)))


@case("GET", f"{PB}/currencies")
async def _pb_currencies(w: World) -> None:
    """No player in the request: the list is the key's operator's, never another's."""
    mine = {c["currency_code"] for c in (await w.ok("GET", f"{PB}/currencies"))["currencies"]}
    theirs = {c["currency_code"] for c in (await w.ok("GET", f"{PB}/currencies", key=w.key_b))["currencies"]}
    assert mine == {"EUR", "GOLD"}
    assert theirs == {"EUR", "GOLD", "SILVER"}


@case("GET", f"{PB}/player/{{player_id}}/history")
async def _pb_history(w: World) -> None:
    await w.ok("GET", f"{PB}/player/{A_PLAYER}/history?currency=EUR")
    await w.refused(
        "GET",
        f"{PB}/player/{B_PLAYER}/history?currency=EUR",
        unknown=(f"{PB}/player/{UNKNOWN}/history?currency=EUR", None),
    )


@case("GET", f"{PB}/player/{{player_id}}/analytics")
async def _pb_analytics(w: World) -> None:
    await w.ok("GET", f"{PB}/player/{A_PLAYER}/analytics")
    await w.refused("GET", f"{PB}/player/{B_PLAYER}/analytics", unknown=(f"{PB}/player/{UNKNOWN}/analytics", None))


# --------------------------------------------------------------------------- private wallet API


@case("GET", f"{PW}/{{identity}}/wallets/balance")
async def _pw_balance(w: World) -> None:
    await w.ok("GET", f"{PW}/{A_PLAYER}/wallets/balance", private=True)
    await w.refused(
        "GET", f"{PW}/{B_PLAYER}/wallets/balance", private=True, unknown=(f"{PW}/{UNKNOWN}/wallets/balance", None)
    )


@case("POST", f"{PW}/{{identity}}/wallet/{{walletCode}}/transactions")
async def _pw_transact(w: World) -> None:
    body = {"currency": "EUR", "amount": 1, "type": "debit", "reason": "shop", "idempotencyKey": "k"}
    await w.ok("POST", f"{PW}/{A_PLAYER}/wallet/EUR/transactions", body, private=True)
    await w.refused(
        "POST",
        f"{PW}/{B_PLAYER}/wallet/EUR/transactions",
        body,
        private=True,
        unknown=(f"{PW}/{UNKNOWN}/wallet/EUR/transactions", body),
    )


@case("GET", f"{PW}/{{identity}}/wallets/{{currencyCode}}/transactions")
async def _pw_history(w: World) -> None:
    await w.ok("GET", f"{PW}/{A_PLAYER}/wallets/EUR/transactions", private=True)
    await w.refused(
        "GET",
        f"{PW}/{B_PLAYER}/wallets/EUR/transactions",
        private=True,
        unknown=(f"{PW}/{UNKNOWN}/wallets/EUR/transactions", None),
    )


# --------------------------------------------------------------------------- transfers


@case("POST", f"{T}/initiate-transfer")
async def _initiate_transfer(w: World) -> None:
    await w.transfer(w.key_a, A_PLAYER, A_OTHER, "own")
    mine = await w.tenant((A_PLAYER, A_OTHER))

    def body(source: str, target: str) -> dict[str, Any]:
        return {"source_player_id": source, "target_player_id": target, "currency": "EUR", "amount": "5"} | {
            "idempotency_key": f"{source}-{target}"
        }

    await w.refused("POST", f"{T}/initiate-transfer", body(B_PLAYER, B_OTHER))  # out of B's wallet
    await w.refused("POST", f"{T}/initiate-transfer", body(A_PLAYER, B_PLAYER))  # into B's wallet
    await w.refused("POST", f"{T}/initiate-transfer", body(B_PLAYER, A_PLAYER))
    assert await w.tenant((A_PLAYER, A_OTHER)) == mine  # no hold was left on A's side either


@case("POST", f"{T}/verify-sms")
async def _verify_transfer(w: World) -> None:
    own = await w.transfer(w.key_a, A_PLAYER, A_OTHER, "own")
    await w.ok("POST", f"{T}/verify-sms", {"transfer_id": own, "verification_code": await w.code(own)})
    theirs = await w.transfer(w.key_b, B_PLAYER, B_OTHER, "b")
    await w.refused("POST", f"{T}/verify-sms", {"transfer_id": theirs, "verification_code": await w.code(theirs)})
    status = await w.ok("GET", f"{T}/{theirs}", key=w.key_b)
    assert (status["state"], status["verification_attempts"]) == ("pending", 0)


@case("POST", f"{T}/claim-transfer")
async def _claim_transfer(w: World) -> None:
    own = await w.transfer(w.key_a, A_PLAYER, A_OTHER, "own")
    await w.ok("POST", f"{T}/verify-sms", {"transfer_id": own, "verification_code": await w.code(own)})
    await w.ok("POST", f"{T}/claim-transfer", {"transfer_id": own, "player_id": A_OTHER})
    theirs = await w.transfer(w.key_b, B_PLAYER, B_OTHER, "b")
    await w.ok(
        "POST", f"{T}/verify-sms", {"transfer_id": theirs, "verification_code": await w.code(theirs)}, key=w.key_b
    )
    await w.refused("POST", f"{T}/claim-transfer", {"transfer_id": theirs, "player_id": B_OTHER})
    await w.refused("POST", f"{T}/claim-transfer", {"transfer_id": theirs, "player_id": A_OTHER})
    assert await w.state(f"{T}/{theirs}", w.key_b) == "verified"


@case("POST", f"{T}/cancel-transfer")
async def _cancel_transfer(w: World) -> None:
    own = await w.transfer(w.key_a, A_PLAYER, A_OTHER, "own")
    await w.ok("POST", f"{T}/cancel-transfer", {"transfer_id": own})
    theirs = await w.transfer(w.key_b, B_PLAYER, B_OTHER, "b")
    await w.refused("POST", f"{T}/cancel-transfer", {"transfer_id": theirs})
    assert await w.state(f"{T}/{theirs}", w.key_b) == "pending"


@case("GET", f"{T}/{{transfer_id}}")
async def _get_transfer(w: World) -> None:
    own = await w.transfer(w.key_a, A_PLAYER, A_OTHER, "own")
    assert await w.state(f"{T}/{own}", w.key_a) == "pending"
    theirs = await w.transfer(w.key_b, B_PLAYER, B_OTHER, "b")
    await w.refused("GET", f"{T}/{theirs}", unknown=(f"{T}/{'x' * len(theirs)}", None))


# --------------------------------------------------------------------------- currency sends


@case("POST", f"{S}/initiate-send")
async def _initiate_send(w: World) -> None:
    await w.send(w.key_a, A_PLAYER, A_OTHER, "own")
    body = {"sender_player_id": B_PLAYER, "recipient_email": email(A_OTHER), "currency": "EUR", "amount": "5"}
    await w.refused("POST", f"{S}/initiate-send", body | {"idempotency_key": "x"})
    by_email = {"sender_player_email": email(B_PLAYER), "recipient_email": email(B_OTHER), "currency": "EUR"}
    await w.refused("POST", f"{S}/initiate-send", by_email | {"amount": "5", "idempotency_key": "y"})


@case("POST", f"{S}/verify-sms")
async def _verify_send(w: World) -> None:
    own = await w.send(w.key_a, A_PLAYER, A_OTHER, "own")
    await w.ok("POST", f"{S}/verify-sms", {"send_id": own, "verification_code": await w.code(own)})
    theirs = await w.send(w.key_b, B_PLAYER, B_OTHER, "b")
    await w.refused("POST", f"{S}/verify-sms", {"send_id": theirs, "verification_code": await w.code(theirs)})
    assert await w.state(f"{S}/{theirs}", w.key_b) == "pending"


@case("POST", f"{S}/claim-currency")
async def _claim_send(w: World) -> None:
    own = await w.send(w.key_a, A_PLAYER, A_OTHER, "own")
    await w.ok("POST", f"{S}/verify-sms", {"send_id": own, "verification_code": await w.code(own)})
    await w.ok("POST", f"{S}/claim-currency", {"send_id": own, "recipient_email": email(A_OTHER)})
    theirs = await w.send(w.key_b, B_PLAYER, B_OTHER, "b")
    await w.ok("POST", f"{S}/verify-sms", {"send_id": theirs, "verification_code": await w.code(theirs)}, key=w.key_b)
    await w.refused("POST", f"{S}/claim-currency", {"send_id": theirs, "recipient_email": email(B_OTHER)})
    await w.refused("POST", f"{S}/claim-currency", {"send_id": theirs, "recipient_email": email(A_OTHER)})
    assert await w.state(f"{S}/{theirs}", w.key_b) == "verified"


@case("POST", f"{S}/cancel-send")
async def _cancel_send(w: World) -> None:
    own = await w.send(w.key_a, A_PLAYER, A_OTHER, "own")
    await w.ok("POST", f"{S}/cancel-send", {"send_id": own})
    theirs = await w.send(w.key_b, B_PLAYER, B_OTHER, "b")
    await w.refused("POST", f"{S}/cancel-send", {"send_id": theirs})
    assert await w.state(f"{S}/{theirs}", w.key_b) == "pending"


@case("GET", f"{S}/{{send_id}}")
async def _get_send(w: World) -> None:
    own = await w.send(w.key_a, A_PLAYER, A_OTHER, "own")
    assert await w.state(f"{S}/{own}", w.key_a) == "pending"
    theirs = await w.send(w.key_b, B_PLAYER, B_OTHER, "b")
    await w.refused("GET", f"{S}/{theirs}", unknown=(f"{S}/{'x' * len(theirs)}", None))


# --------------------------------------------------------------------------- purchases


def _buy(acct: str, token: str, idem: str) -> dict[str, Any]:
    return {"player_id": acct, "currency": "GOLD", "usd_amount": "3", "payment_token": token, "idempotency_key": idem}


@case("POST", f"{CP}/purchase-currency")
async def _purchase_currency(w: World) -> None:
    assert (await w.ok("POST", f"{CP}/purchase-currency", _buy(A_PLAYER, "tok_success", "own")))["status"] == "success"
    await w.refused(
        "POST",
        f"{CP}/purchase-currency",
        _buy(B_PLAYER, "tok_success", "x"),
        unknown=(f"{CP}/purchase-currency", _buy(UNKNOWN, "tok_success", "x")),
    )


@case("POST", f"{CP}/confirm-payment")
async def _confirm_payment(w: World) -> None:
    own = await w.ok("POST", f"{CP}/purchase-currency", _buy(A_PLAYER, "tok_requires_action", "own"))
    assert (await w.ok("POST", f"{CP}/confirm-payment", {"payment_id": own["payment_id"]}))["status"] == "success"
    theirs = await w.ok("POST", f"{CP}/purchase-currency", _buy(B_PLAYER, "tok_requires_action", "b"), key=w.key_b)
    assert theirs["status"] == "requires_action"
    await w.refused(
        "POST",
        f"{CP}/confirm-payment",
        {"payment_id": theirs["payment_id"]},
        unknown=(f"{CP}/confirm-payment", {"payment_id": "x" * len(theirs["payment_id"])}),
    )


@case("POST", "/api/item-purchases/purchase-item")
async def _purchase_item(w: World) -> None:
    def body(acct: str) -> dict[str, Any]:
        return {"player_id": acct, "currency": "EUR", "item_id": "sword", "unit_price": "2", "idempotency_key": "i"}

    await w.ok("POST", "/api/item-purchases/purchase-item", body(A_PLAYER))
    await w.refused(
        "POST",
        "/api/item-purchases/purchase-item",
        body(B_PLAYER),
        unknown=("/api/item-purchases/purchase-item", body(UNKNOWN)),
    )


# --------------------------------------------------------------------------- websocket


@case("GET", "/ws/balance-updates")
async def _ws_balance_updates(w: World) -> None:
    """B's player is ``not_found`` like a stranger, and B's balance changes never reach A."""
    async with w.client.ws_connect("/ws/balance-updates") as ws:
        msg = {
            "action": "subscribe_player_balances",
            "player_emails": [email(A_PLAYER), email(B_PLAYER), email(UNKNOWN)],
            "auth_token": "Bearer " + w.key_a,
        }
        await ws.send_str(dumps(msg))
        ack = await _ws_recv(ws)
        assert (ack["type"], ack["subscribed"], ack["not_found"]) == (
            "subscribed",
            [email(A_PLAYER)],
            [email(B_PLAYER), email(UNKNOWN)],
        )
        for acct, idem in ((B_PLAYER, "b1"), (A_PLAYER, "a1")):
            adjust = {"currency": "EUR", "real": "1", "reason": "isolation", "idempotency_key": idem}
            await w.api.admin("POST", f"/admin/players/{acct}/adjust", adjust, expect=201)
        update = await _ws_recv(ws)  # B's change came first: the first message must be A's
        assert (update["type"], update["player_id"], update["player_email"]) == (
            "balance_update",
            A_PLAYER,
            email(A_PLAYER),
        )


async def _ws_recv(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=WS_WAIT)
    assert msg.type is aiohttp.WSMsgType.TEXT, (msg.type, msg.data)
    return loads(msg.data)


# --------------------------------------------------------------------------- the tests


def _app_routes() -> set[tuple[str, str]]:
    app = create_app(Settings(database_url="sqlite:///unused.db"))
    routes = set()
    for r in app.router.routes():
        info = r.resource.canonical if r.resource is not None else ""
        routes.add(("GET" if r.method == "HEAD" else r.method, info))
    return routes


def test_every_route_is_classified() -> None:
    routes = _app_routes()
    unclassified = sorted(
        r for r in routes if r not in CASES and r not in NOT_TENANT_SCOPED and not r[1].startswith("/admin/")
    )
    assert not unclassified, f"routes without a tenant-isolation case (add one to CASES): {unclassified}"
    stale = sorted(set(CASES) - routes)
    assert not stale, f"CASES entries for routes the app no longer has: {stale}"
    assert all(path.startswith(("/api/", "/ws/")) for _, path in CASES)
    game_key_routes = {r for r in routes if r[1].startswith(("/api/", "/ws/"))}
    assert game_key_routes <= set(CASES)


@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
async def test_a_game_key_never_reaches_another_operator(world: World, route: tuple[str, str]) -> None:
    await CASES[route](world)
