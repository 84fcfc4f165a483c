"""Live balance updates across instances: two real app servers on one PostgreSQL schema.

A change committed on instance A reaches a WebSocket subscriber on instance B through
``LISTEN/NOTIFY`` (and the other way round), each subscriber gets one message per change
(an instance ignores its own notifications), and the fan-out connection comes back by
itself after PostgreSQL drops it, keeping the keys committed meanwhile.  And a unit of work
that PostgreSQL re-runs publishes what its committed attempt wrote, nothing else.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.events import BUS, PgFanout, PublishingStore, channel_for
from groove_adapter.jsonout import dumps, loads
from tests import pgutil
from tests.conftest import ADMIN_TOKEN, Api, FakeClock
from wallet_store.errors import OutOfMoney
from wallet_store.model import JournalEntry, Operator, SystemClock, Wallet, move
from wallet_store.ports import Tx
from wallet_store.postgres.store import PostgresStore
from wallet_store.service import WalletService

pytestmark = pytest.mark.postgres

WS = "/ws/balance-updates"
WAIT = 10.0  # upper bound for an expected event (never reached when things work)


async def recv(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=WAIT)
    assert msg.type is aiohttp.WSMsgType.TEXT, (msg.type, msg.data)
    return loads(msg.data)


async def balance_of(ws: aiohttp.ClientWebSocketResponse) -> tuple[str, str]:
    m = await recv(ws)
    assert m["type"] == "balance_update", m
    return m["player_email"], m["available_balance"]


def fanout(client: TestClient) -> PgFanout:
    f = client.app[BUS].fanout
    assert f is not None
    return f


async def wait_reconnected(f: PgFanout, old_pid: int) -> None:
    """Until the fan-out LISTENs again on a new backend (bounded)."""
    async with asyncio.timeout(WAIT):
        while f.backend_pid in (None, old_pid):
            await asyncio.sleep(0.01)


@pytest.fixture
async def two_instances(aiohttp_client: Any, pg_run_database: str, tmp_path: Path) -> tuple[TestClient, TestClient]:
    schema = pgutil.new_schema_name()
    settings = Settings(database_url=pg_run_database, admin_token=SecretStr(ADMIN_TOKEN))
    clock = FakeClock()
    a = await aiohttp_client(create_app(settings, store=PostgresStore(pg_run_database, schema=schema), clock=clock))
    b = await aiohttp_client(create_app(settings, store=PostgresStore(pg_run_database, schema=schema), clock=clock))
    for c in (a, b):
        async with asyncio.timeout(WAIT):
            await fanout(c).connected.wait()
    assert fanout(a).channel == fanout(b).channel == channel_for(schema)
    return a, b


async def test_a_change_on_one_instance_reaches_subscribers_on_the_other(
    two_instances: tuple[TestClient, TestClient],
) -> None:
    a, b = two_instances
    api = Api(a)
    await api.operator("11")
    await api.player("7001")
    await api.player("7002")
    body = await api.admin("POST", "/admin/games", {"operator_id": "11", "game_id": "g1", "name": "Slots"}, expect=201)
    key = body["secret_key"]
    sid = await api.session("7001")
    sub = {"action": "subscribe_player_balances", "player_emails": ["p7001@example.com"], "auth_token": "Bearer " + key}

    async with b.ws_connect(WS) as on_b, a.ws_connect(WS) as on_a:
        for ws in (on_b, on_a):
            await ws.send_str(dumps(sub))
            assert (await recv(ws))["subscribed"] == ["p7001@example.com"]

        # a /groove wager on A: the subscriber on B sees it (and the one on A, once)
        q = {"accountid": "7001", "gamesessionid": sid, "device": "desktop", "apiversion": "1.2", "gameid": "80102"}
        reply = await api.groove("wager", **q, roundid="r1", transactionid="t1", betamount="10")
        assert reply["code"] == 200
        assert await balance_of(on_b) == ("p7001@example.com", "140.00")
        assert await balance_of(on_a) == ("p7001@example.com", "140.00")

        # a REST debit on B: A's subscriber sees it; another player's change reaches nobody
        headers = {"X-Game-Secret-Key": key}
        other = {"player_id": "7002", "currency": "EUR", "amount": "1", "idempotency_key": "o"}
        assert (await b.post("/api/player-balances/debit", json=other, headers=headers)).status == 200
        debit = {"player_id": "7001", "currency": "EUR", "amount": "5", "idempotency_key": "d"}
        assert (await b.post("/api/player-balances/debit", json=debit, headers=headers)).status == 200
        # next messages are the debit's: no duplicate of the wager's from A's own NOTIFY,
        # nothing for 7002
        assert await balance_of(on_a) == ("p7001@example.com", "135.00")
        assert await balance_of(on_b) == ("p7001@example.com", "135.00")
        assert fanout(a).received >= 1
        assert fanout(b).received >= 1

        # PostgreSQL drops B's LISTEN connection: B reconnects by itself and hears A again
        fb = fanout(b)
        old = fb.backend_pid
        assert old is not None
        admin = await asyncpg.connect(pgutil.PG_ADMIN_DSN)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", old)
            await wait_reconnected(fb, old)
            reply = await api.groove("wager", **q, roundid="r2", transactionid="t2", betamount="1")
            assert reply["code"] == 200
            assert await balance_of(on_b) == ("p7001@example.com", "134.00")
            assert await balance_of(on_a) == ("p7001@example.com", "134.00")

            # A's connection drops and A commits right away: the key waits for the new
            # connection and B still hears it
            fa = fanout(a)
            old_a = fa.backend_pid
            assert old_a is not None
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", old_a)
            reply = await api.groove("wager", **q, roundid="r3", transactionid="t3", betamount="1")
            assert reply["code"] == 200
            assert await balance_of(on_a) == ("p7001@example.com", "133.00")  # local: at once
            assert await balance_of(on_b) == ("p7001@example.com", "133.00")  # after A reconnects
            await wait_reconnected(fa, old_a)
        finally:
            await admin.close()


async def test_a_retried_unit_publishes_only_what_its_committed_attempt_wrote(pg_run_database: str) -> None:
    """PostgreSQL re-runs a unit after a serialization failure: the first attempt's wallet
    (rolled back) is not published, the committed attempt's is, once, after COMMIT."""
    store = PostgresStore(pg_run_database, schema=pgutil.new_schema_name(), min_size=1, max_size=2)
    published: list[set[tuple[str, str]]] = []
    events = PublishingStore(store, published.append)
    await events.open()
    try:
        clock = SystemClock()
        svc = WalletService(events, clock)
        await svc.create_operator(Operator(operator_id="11", name="C", currency="EUR", created_at=clock.now()))
        for acct in ("7001", "7002"):
            await svc.create_player(
                operator_id="11",
                account_id=acct,
                name="P",
                email=None,
                country="MT",
                city="V",
                currency="EUR",
                real=Decimal(10),
                bonus=Decimal(0),
            )
        published.clear()
        attempts: list[str] = []

        async def unit(tx: Tx) -> str:
            acct = "7001" if not attempts else "7002"
            attempts.append(acct)
            await tx.lock_player(acct)
            w = await tx.get_wallet(acct, "EUR")
            assert w is not None
            w2, entry = move(w, kind="test_credit", real=Decimal(1), reference=f"t:{acct}", now=clock.now())
            await tx.save_wallet(w2, [entry])
            if len(attempts) == 1:
                raise asyncpg.SerializationError("could not serialize access (test)")
            return acct

        assert await events.write(unit) == "7002"
        assert attempts == ["7001", "7002"]
        assert published == [{("7002", "EUR")}]

        async def balances(tx: Tx) -> list[Decimal]:
            return [w.real for a in ("7001", "7002") if (w := await tx.get_wallet(a, "EUR")) is not None]

        assert await events.read(balances) == [Decimal(10), Decimal(11)]  # the first attempt left nothing

        async def refused(tx: Tx) -> None:
            w = await tx.get_wallet("7001", "EUR")
            assert w is not None
            await tx.save_wallet(*_one_more(w, clock))
            raise OutOfMoney("refused after writing")

        with pytest.raises(OutOfMoney):
            await events.write(refused)
        assert published == [{("7002", "EUR")}]  # a unit that raised publishes nothing
    finally:
        await events.close()


def _one_more(w: Wallet, clock: SystemClock) -> tuple[Wallet, list[JournalEntry]]:
    w2, entry = move(w, kind="test_credit", real=Decimal(1), reference="t:x", now=clock.now())
    return w2, [entry]


async def test_keys_left_by_a_lost_connection_go_out_as_soon_as_the_new_one_listens(pg_run_database: str) -> None:
    """The wake-up for keys queued while the connection was dying can be spent on noticing the
    drop; the new connection must still send them at once, not at the next health check."""
    schema = pgutil.new_schema_name()
    heard: list[list[tuple[str, str]]] = []
    sender = PgFanout(pg_run_database, schema, lambda keys: None)
    listener = PgFanout(pg_run_database, schema, lambda keys: heard.append(list(keys)))
    listener.start()
    try:
        async with asyncio.timeout(WAIT):
            await listener.connected.wait()
        sender.notify([("7001", "EUR")])
        sender._kick.clear()  # the state a dropped connection leaves: keys pending, wake-up spent
        sender.start()
        async with asyncio.timeout(WAIT / 2):  # well under PgFanout.HEALTH_SECONDS
            while not heard:
                await asyncio.sleep(0.01)
        assert heard == [[("7001", "EUR")]]
    finally:
        await sender.stop()
        await listener.stop()
