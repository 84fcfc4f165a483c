"""Live balance updates (``GET /ws/balance-updates``) through a real server, on both backends.

A subscriber receives its players' updates after changes from every face (/groove wager,
REST debit, admin adjustment, a multi-wallet unit of work), never another player's, never
another operator's; unauthenticated connections are refused; limits hold at the edge; a
slow client is dropped without holding up writes or other clients.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.events import BUS, parse_payload, payloads
from groove_adapter.jsonout import dumps, loads
from groove_adapter.keys import STORE
from groove_adapter.ws import WS_HUB
from tests.conftest import ADMIN_TOKEN, Api, FakeClock
from wallet_store.model import move
from wallet_store.ports import Tx

WS = "/ws/balance-updates"
PB = "/api/player-balances"
WAIT = 10.0  # seconds a test waits for an expected message before failing (never reached when it works)


async def game(api: Api, game_id: str, operator_id: str = "11") -> str:
    body = await api.admin(
        "POST", "/admin/games", {"operator_id": operator_id, "game_id": game_id, "name": "Slots"}, expect=201
    )
    return str(body["secret_key"])


async def setup_world(api: Api) -> dict[str, str]:
    """Operator 11: players 1001, 1002, 1003 (real 100, bonus 50 EUR), games g1 and g2.
    Operator 12: player 2001 (p2001@example.com) and game h1."""
    await api.operator("11")
    await api.operator("12")
    for acct in ("1001", "1002", "1003"):
        await api.player(acct)
    await api.player("2001", operator_id="12")
    return {"g1": await game(api, "g1"), "g2": await game(api, "g2"), "h1": await game(api, "h1", "12")}


@pytest.fixture
async def world(api: Api) -> dict[str, str]:
    return await setup_world(api)


async def recv(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=WAIT)
    assert msg.type is aiohttp.WSMsgType.TEXT, (msg.type, msg.data, msg.extra)
    return loads(msg.data)


async def subscribe(ws: aiohttp.ClientWebSocketResponse, emails: list[str], key: str | None = None) -> Any:
    msg: dict[str, Any] = {"action": "subscribe_player_balances", "player_emails": emails}
    if key is not None:
        msg["auth_token"] = "Bearer " + key
    await ws.send_str(dumps(msg))
    return await recv(ws)


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    """Read until the server closes; the code of its close frame."""
    while True:
        msg = await ws.receive(timeout=WAIT)
        if msg.type is aiohttp.WSMsgType.CLOSE:
            return int(msg.data)
        if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            return ws.close_code
        assert msg.type is aiohttp.WSMsgType.TEXT, msg


async def rest(client: TestClient, method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
    resp = await client.request(method, path, json=body, headers={"X-Game-Secret-Key": key})
    return resp.status, loads(await resp.text())


async def recv_update(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next message, which must be a balance update; the operator's currency id, name
    and symbol (checked against the REST face in their own test) left out."""
    msg: dict[str, Any] = await recv(ws)
    assert msg["type"] == "balance_update", msg
    for field in ("currency_id", "currency_name", "currency_symbol"):
        assert field in msg
        del msg[field]
    return msg


def update(email: str, player_id: str, available: str, reserved: str = "0.00", **kw: Any) -> dict[str, Any]:
    total = Decimal(available) + Decimal(reserved)
    return {
        "type": "balance_update",
        "player_email": email,
        "player_id": player_id,
        "currency_code": "EUR",
        "new_balance": available,
        "available_balance": available,
        "reserved_balance": reserved,
        "total_balance": f"{total:.2f}",
    } | kw


# --------------------------------------------------------------------------- updates from every face


async def test_subscriber_gets_its_players_updates_from_every_face(
    api: Api, client: TestClient, world: dict[str, str]
) -> None:
    g1 = world["g1"]
    async with client.ws_connect(WS) as ws:
        ack = await subscribe(ws, ["p1001@example.com"], g1)
        assert ack == {
            "type": "subscribed",
            "subscribed": ["p1001@example.com"],
            "not_found": [],
            "invalid": [],
            "following": 1,
        }
        # /groove wager of 10 on 1001: real 100 -> 90, available 150 -> 140
        sid = await api.session("1001")
        reply = await api.groove(
            "wager",
            accountid="1001",
            gamesessionid=sid,
            device="desktop",
            apiversion="1.2",
            gameid="80102",
            roundid="r1",
            transactionid="t1",
            betamount="10",
        )
        assert reply["code"] == 200
        assert await recv_update(ws) == update("p1001@example.com", "1001", "140.00")

        # Another player's change first, then ours: the next message is ours, so nothing
        # was sent for 1002.
        status, _ = await rest(
            client,
            "POST",
            f"{PB}/debit",
            g1,
            {"player_id": "1002", "currency": "EUR", "amount": "7", "idempotency_key": "d0"},
        )
        assert status == 200
        status, body = await rest(
            client,
            "POST",
            f"{PB}/debit",
            g1,
            {"player_email": "p1001@example.com", "currency": "EUR", "amount": "2.5", "idempotency_key": "d1"},
        )
        assert status == 200
        assert body["new_balance"] == "137.50"
        assert await recv_update(ws) == update("p1001@example.com", "1001", "137.50")

        # an admin adjustment (bonus -0.5)
        await api.admin(
            "POST",
            "/admin/players/1001/adjust",
            {"currency": "EUR", "real": "0", "bonus": "-0.5", "reason": "correction", "idempotency_key": "a1"},
            expect=201,
        )
        assert await recv_update(ws) == update("p1001@example.com", "1001", "137.00")

        # a replayed debit and a refused one move nothing: no message; the next change is
        # the next message
        status, _ = await rest(
            client,
            "POST",
            f"{PB}/debit",
            g1,
            {"player_email": "p1001@example.com", "currency": "EUR", "amount": "2.5", "idempotency_key": "d1"},
        )
        assert status == 200
        status, _ = await rest(
            client,
            "POST",
            f"{PB}/debit",
            g1,
            {"player_id": "1001", "currency": "EUR", "amount": "1000", "idempotency_key": "d2"},
        )
        assert status == 422
        status, _ = await rest(
            client,
            "POST",
            f"{PB}/credit",
            g1,
            {"player_id": "1001", "currency": "EUR", "amount": "1", "idempotency_key": "c1"},
        )
        assert status == 200
        assert await recv_update(ws) == update("p1001@example.com", "1001", "138.00")

        # the balances in the update are the REST face's
        status, view = await rest(client, "GET", f"{PB}/player/1001", g1)
        assert status == 200
        b = view["balances"][0]
        assert (b["available_balance"], b["reserved_balance"], b["total_balance"]) == ("138.00", "0.00", "138.00")


async def test_unsubscribe_and_header_auth(api: Api, client: TestClient, world: dict[str, str]) -> None:
    g1 = world["g1"]
    async with client.ws_connect(WS, headers={"X-Game-Secret-Key": g1}) as ws:
        ack = await subscribe(ws, ["P1001@Example.com", "p1002@example.com", "p1001@example.com"])
        assert ack["subscribed"] == ["P1001@Example.com", "p1002@example.com"]  # de-duplicated, spelling kept
        await ws.send_str(dumps({"action": "unsubscribe_player_balances", "player_emails": ["p1002@example.com"]}))
        assert await recv(ws) == {"type": "unsubscribed", "player_emails": ["p1002@example.com"], "following": 1}
        await ws.send_str(dumps({"action": "ping"}))
        assert await recv(ws) == {"type": "pong"}
        for acct, key in (("1002", "x1"), ("1001", "x2")):
            status, _ = await rest(
                client,
                "POST",
                f"{PB}/credit",
                g1,
                {"player_id": acct, "currency": "EUR", "amount": "1", "idempotency_key": key},
            )
            assert status == 200
        assert await recv_update(ws) == update("P1001@Example.com", "1001", "151.00")


async def test_other_operators_players_are_not_found(api: Api, client: TestClient, world: dict[str, str]) -> None:
    async with client.ws_connect(WS) as ws:
        ack = await subscribe(
            ws, ["p2001@example.com", "nobody@example.com", "not-an-email", "p1003@example.com"], world["g1"]
        )
        assert ack == {
            "type": "subscribed",
            "subscribed": ["p1003@example.com"],
            "not_found": ["p2001@example.com", "nobody@example.com"],  # another operator's: like a stranger
            "invalid": ["not-an-email"],
            "following": 1,
        }
        for acct, key in (("2001", "o1"), ("1003", "o2")):
            await api.admin(
                "POST",
                f"/admin/players/{acct}/adjust",
                {"currency": "EUR", "real": "1", "reason": "x", "idempotency_key": key},
                expect=201,
            )
        assert await recv_update(ws) == update("p1003@example.com", "1003", "151.00")
    # operator 12's own game does see its player
    async with client.ws_connect(WS) as ws:
        ack = await subscribe(ws, ["p2001@example.com"], world["h1"])
        assert ack["subscribed"] == ["p2001@example.com"]


async def test_currency_fields_are_the_rest_faces(api: Api, client: TestClient, world: dict[str, str]) -> None:
    await api.admin("PUT", "/admin/operators/11/currencies/GOLD", {"name": "Gold Coins", "symbol": "GC"}, expect=201)
    g1 = world["g1"]
    async with client.ws_connect(WS) as ws:
        await subscribe(ws, ["p1001@example.com"], g1)
        credit = {"player_id": "1001", "currency": "GOLD", "amount": "5", "idempotency_key": "g"}
        assert (await rest(client, "POST", f"{PB}/credit", g1, credit))[0] == 200  # a new GOLD wallet
        got = await recv(ws)
    status, view = await rest(client, "GET", f"{PB}/player/1001", g1)
    assert status == 200
    [shown] = [b for b in view["balances"] if b["currency_name"] == "Gold Coins"]
    for field in ("currency_id", "currency_name", "currency_symbol", "available_balance", "total_balance"):
        assert got[field] == shown[field], field
    assert isinstance(got["currency_id"], int)  # the operator's numeric id, not the code
    assert got["currency_code"] == "GOLD"
    assert got["new_balance"] == "5.00"


# --------------------------------------------------------------------------- authentication


async def test_unauthenticated_connections_are_refused(client: TestClient, world: dict[str, str]) -> None:
    # a wrong key at the upgrade: HTTP 401, no WebSocket
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect(WS, headers={"X-Game-Secret-Key": "gwk_wrong"})
    assert err.value.status == 401
    # not a WebSocket request at all
    resp = await client.get(WS)
    assert resp.status == 400
    assert "WebSocket" in loads(await resp.text())["error"]
    # no key anywhere, then a wrong one: an error, then close 1008
    for token in (None, "gwk_wrong", 42):
        async with client.ws_connect(WS) as ws:
            msg: dict[str, Any] = {"action": "subscribe_player_balances", "player_emails": ["p1001@example.com"]}
            if token is not None:
                msg["auth_token"] = f"Bearer {token}" if isinstance(token, str) else token
            await ws.send_str(dumps(msg))
            err_msg = await recv(ws)
            assert err_msg["type"] == "error"
            assert err_msg["status"] == 401
            assert await closed_with(ws) == 1008
    # authenticated for g1, then a token of g2 on the same connection: refused and closed
    async with client.ws_connect(WS, headers={"X-Game-Secret-Key": world["g1"]}) as ws:
        err_msg = await subscribe(ws, ["p1001@example.com"], world["g2"])
        assert err_msg["status"] == 401
        assert await closed_with(ws) == 1008


async def test_bad_messages_get_errors_not_a_close(client: TestClient, world: dict[str, str]) -> None:
    async with client.ws_connect(WS, headers={"X-Game-Secret-Key": world["g1"]}) as ws:
        for bad in ("{not json", "[1,2]", dumps({"action": "dance"}), dumps({"action": "subscribe_player_balances"})):
            await ws.send_str(bad)
            reply = await recv(ws)
            assert reply["type"] == "error"
            assert reply["status"] == 400
        await ws.send_bytes(b"\x00")
        assert (await recv(ws))["status"] == 400
        for emails in ([], "p1001@example.com", [1], ["x" * 321]):
            await ws.send_str(dumps({"action": "subscribe_player_balances", "player_emails": emails}))
            assert (await recv(ws))["status"] == 400
        ack = await subscribe(ws, ["p1001@example.com"])
        assert ack["subscribed"] == ["p1001@example.com"]


# --------------------------------------------------------------------------- limits


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'wallet.db'}", admin_token=SecretStr(ADMIN_TOKEN), **kw)


async def test_limits_at_the_edge(aiohttp_client: Any, make_store: Any, tmp_path: Path, clock: FakeClock) -> None:
    s = _settings(tmp_path, ws_max_subscribers_per_key=2, ws_max_emails_per_subscription=3, ws_max_message_bytes=1024)
    client = await aiohttp_client(create_app(s, store=make_store(), clock=clock))
    api = Api(client)
    keys = await setup_world(api)
    await api.player("1004")
    hdr = {"X-Game-Secret-Key": keys["g1"]}

    a = await client.ws_connect(WS, headers=hdr)
    b = await client.ws_connect(WS)
    assert (await subscribe(b, ["p1001@example.com"], keys["g1"]))["type"] == "subscribed"  # 2 of 2
    assert client.app[WS_HUB].connections("g1") == 2
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect(WS, headers=hdr)  # the third, by header: refused at the upgrade
    assert err.value.status == 429
    async with client.ws_connect(WS) as c:  # the third, by message: error and close
        reply = await subscribe(c, ["p1001@example.com"], keys["g1"])
        assert reply["status"] == 429
        assert await closed_with(c) == 1008
    async with client.ws_connect(WS, headers={"X-Game-Secret-Key": keys["g2"]}) as other:  # another key: its own count
        assert (await subscribe(other, ["p1001@example.com"]))["type"] == "subscribed"
    await a.close()
    async with client.ws_connect(WS, headers=hdr) as d:  # a slot is free again
        # e-mails: 3 in one message is the limit, 4 is refused; 3 followed + 1 more is refused
        four = ["p1001@example.com", "p1002@example.com", "p1003@example.com", "p1004@example.com"]
        assert (await subscribe(d, four))["status"] == 400
        ack = await subscribe(d, four[:3])
        assert ack["following"] == 3
        reply = await subscribe(d, four[3:])
        assert reply["status"] == 400
        assert "at most 3" in reply["error"]
        assert (await subscribe(d, four[:1]))["following"] == 3  # already followed: no change, fine
        await d.send_str(dumps({"action": "ping", "pad": "x" * 2000}))  # over 1 KiB: closed 1009
        assert await closed_with(d) == 1009
    await b.close()


async def test_unauthenticated_connection_is_closed_after_the_auth_timeout(
    aiohttp_client: Any, make_store: Any, tmp_path: Path, clock: FakeClock
) -> None:
    # A socket deadline, so real time: 0.2 s (the test waits for the server, asserts no timing).
    s = _settings(tmp_path, ws_auth_timeout_seconds=0.2)
    client = await aiohttp_client(create_app(s, store=make_store(), clock=clock))
    async with client.ws_connect(WS) as idle:
        await idle.send_str(dumps({"action": "ping"}))  # talking is not authenticating
        assert await recv(idle) == {"type": "pong"}
        reply = await recv(idle)
        assert reply["status"] == 401
        assert "not authenticated in time" in reply["error"]
        assert await closed_with(idle) == 1008


async def test_slow_client_is_dropped_without_blocking_writes(
    aiohttp_client: Any, make_store: Any, tmp_path: Path, clock: FakeClock
) -> None:
    s = _settings(tmp_path, ws_queue_size=2)
    client = await aiohttp_client(create_app(s, store=make_store(), clock=clock))
    api = Api(client)
    keys = await setup_world(api)
    emails = ["p1001@example.com", "p1002@example.com", "p1003@example.com"]
    async with client.ws_connect(WS) as slow, client.ws_connect(WS) as healthy:
        assert (await subscribe(slow, emails, keys["g1"]))["following"] == 3
        assert (await subscribe(healthy, emails[:1], keys["g1"]))["following"] == 1
        # From here the slow client reads nothing.  One unit of work changes three wallets
        # (like a transfer): three updates at once for the slow client, over its queue of 2.
        store = client.app[STORE]

        async def credit_three(tx: Tx) -> None:
            for acct in ("1001", "1002", "1003"):
                await tx.lock_player(acct)
            for acct in ("1001", "1002", "1003"):
                w = await tx.get_wallet(acct, "EUR")
                assert w is not None
                w2, entry = move(w, kind="test_credit", real=Decimal(1), reference=f"test:{acct}", now=clock.now())
                await tx.save_wallet(w2, [entry])

        await store.write(credit_three)  # returns: the write never waits for a subscriber
        assert await recv_update(healthy) == update("p1001@example.com", "1001", "151.00")
        assert await closed_with(slow) == 1008  # dropped: "slow consumer"
        assert client.app[WS_HUB].dropped == 1
        assert client.app[BUS].followed() == 1  # only the healthy client's player is left
        # writes and the other client go on
        status, _ = await rest(
            client,
            "POST",
            f"{PB}/debit",
            keys["g1"],
            {"player_id": "1001", "currency": "EUR", "amount": "1", "idempotency_key": "after"},
        )
        assert status == 200
        assert await recv_update(healthy) == update("p1001@example.com", "1001", "150.00")


async def test_shutdown_closes_open_sockets(
    aiohttp_client: Any, make_store: Any, tmp_path: Path, clock: FakeClock
) -> None:
    client = await aiohttp_client(create_app(_settings(tmp_path), store=make_store(), clock=clock))
    keys = await setup_world(Api(client))
    ws = await client.ws_connect(WS, headers={"X-Game-Secret-Key": keys["g1"]})
    await subscribe(ws, ["p1001@example.com"])
    await client.server.close()  # on_shutdown closes the socket with 1001 instead of waiting on it
    assert await closed_with(ws) == 1001


# --------------------------------------------------------------------------- NOTIFY payloads


def test_notify_payloads_fit_postgres_limit() -> None:
    keys = {(f"{i:060d}", "EUR") for i in range(2000)} | {("a" * 60, "LONGCODE99")}
    chunks = payloads(keys)
    assert len(chunks) > 1
    assert all(len(c.encode()) < 8000 for c in chunks)
    assert {k for c in chunks for k in parse_payload(c)} == keys
    assert parse_payload("1001:EUR,bad item,:EUR,1002:eur,1003:USD") == [("1001", "EUR"), ("1003", "USD")]
