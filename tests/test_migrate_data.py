"""``groove-wallet migrate-data``: traffic on SQLite, move it to PostgreSQL, audit passes there.

The traffic includes the write flows (schema version 4: a phone, an open transfer, a
verified send, purchases, an item purchase) and a game's rate-limit override (version 5);
after the move they are driven to their end on PostgreSQL through HTTP.  Both apps share
one injected clock, so holds never expire and rate limits never refill under the test.
"""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import pytest
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.jsonout import loads
from tests import pgutil
from tests.conftest import ADMIN_TOKEN, FakeClock
from tests.hub88_helpers import SIGNER
from tests.test_cli import run
from wallet_store.postgres.store import PostgresStore
from wallet_store.sqlite.store import SqliteStore

D = Decimal
PB = "/api/player-balances"

pytestmark = pytest.mark.postgres

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class _Api:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        resp = await self.client.request(method, path, json=body, headers=AUTH)
        text = await resp.text()
        assert resp.status in (200, 201), f"{resp.status}: {text}"
        return loads(text)

    async def groove(self, request: str, **params: str) -> dict[str, Any]:
        resp = await self.client.get("/groove?" + urlencode({"request": request, **params}))
        text = await resp.text()
        assert resp.status == 200, text
        body: dict[str, Any] = loads(text)
        return body

    async def call(self, key: str, method: str, path: str, body: Any = None) -> tuple[int, Any, Any]:
        """A game's REST call (``X-Game-Secret-Key``): (status, JSON body, headers)."""
        resp = await self.client.request(method, path, json=body, headers={"X-Game-Secret-Key": key})
        text = await resp.text()
        return resp.status, (loads(text) if text else None), resp.headers

    async def rest(self, key: str, method: str, path: str, body: Any = None, *, expect: int = 200) -> Any:
        status, reply, _ = await self.call(key, method, path, body)
        assert status == expect, f"{path}: {status} {reply}"
        return reply

    async def outbox(self) -> list[dict[str, Any]]:
        """The whole SMS outbox, newest first."""
        return list((await self.admin("GET", "/admin/sms-outbox?limit=100"))["messages"])

    async def code_for(self, flow_id: str) -> str:
        """The verification code of the SMS sent for one transfer/send (the staging outbox keeps it)."""
        for m in await self.outbox():
            if m["purpose"].endswith(":" + flow_id):
                found = re.search(r"\b([0-9]{6})\b", m["body"])
                assert found, m
                return found.group(1)
        raise AssertionError(f"no SMS for {flow_id}")

    async def balance(self, key: str, account_id: str, currency: str = "EUR") -> tuple[Decimal, Decimal]:
        """(available, reserved) of one wallet, from the Player Balance API; zeros without a wallet."""
        body = await self.rest(key, "GET", f"{PB}/player/{account_id}")
        for b in body["balances"]:
            if b.get("currency_code", b["currency_id"]) == currency:
                return D(b["available_balance"]), D(b["reserved_balance"])
        return D(0), D(0)


async def _flows_traffic(
    api: _Api, clock: FakeClock, op: str, source: str, target: str, game_id: str
) -> dict[str, Any]:
    """Operator ``op``'s write flows (schema versions 4 and 5) on its game ``game_id``.

    ``source`` (with EUR to spare and a phone) opens a transfer to ``target`` and leaves it
    unverified (its hold stays open), sends to ``target``'s e-mail and verifies the send
    (hold still open), buys GOLD (the operator's GOLD must have a USD rate) once at once and
    once pending 3-D Secure, buys an item; the game gets a rate-limit override.  Returns the
    ids, the replies to replay later and the game's key.
    """
    key = str(
        (await api.admin("POST", "/admin/games", {"operator_id": op, "game_id": game_id, "name": "Slots"}))[
            "secret_key"
        ]
    )
    await api.admin("PUT", f"/admin/players/{source}/phone", {"phone": "+35699000001"})
    clock.advance(seconds=1)
    tr = await api.rest(
        key,
        "POST",
        "/api/transfers/initiate-transfer",
        {
            "source_player_id": source,
            "target_player_id": target,
            "currency": "EUR",
            "amount": "3.25",
            "note": "open",
            "idempotency_key": "tr-1",
        },
    )
    clock.advance(seconds=1)
    cs = await api.rest(
        key,
        "POST",
        "/api/currency-sends/initiate-send",
        {
            "sender_player_id": source,
            "recipient_email": f"{target}@example.com",
            "currency": "EUR",
            "amount": "2",
            "idempotency_key": "cs-1",
        },
    )
    clock.advance(seconds=1)
    verified = await api.rest(
        key,
        "POST",
        "/api/currency-sends/verify-sms",
        {"send_id": cs["send_id"], "verification_code": await api.code_for(cs["send_id"])},
    )
    assert verified["state"] == "verified", verified

    def buy(usd: str, token: str, idem: str) -> dict[str, Any]:
        return {
            "player_id": source,
            "currency": "GOLD",
            "usd_amount": usd,
            "payment_token": token,
            "idempotency_key": idem,
        }

    clock.advance(seconds=1)
    paid = await api.rest(key, "POST", "/api/currency-purchases/purchase-currency", buy("10", "tok_success", "p-ok"))
    assert paid["status"] == "success", paid
    pending = await api.rest(
        key, "POST", "/api/currency-purchases/purchase-currency", buy("3", "tok_requires_action", "p-3ds")
    )
    assert pending["status"] == "requires_action", pending
    clock.advance(seconds=1)
    item_body = {
        "player_id": source,
        "currency": "EUR",
        "item_id": "sword-1",
        "item_name": "Sword",
        "quantity": 2,
        "unit_price": "1.5",
        "idempotency_key": "i-1",
    }
    item = await api.rest(key, "POST", "/api/item-purchases/purchase-item", item_body)
    assert item["total_price"] == "3.00", item
    await api.admin("PUT", f"/admin/games/{game_id}/rate-limits", {"email_per_min": 2, "burst_percent": 0})
    return {
        "key": key,
        "transfer": tr["transfer_id"],
        "send": cs["send_id"],
        "paid": (buy("10", "tok_success", "p-ok"), paid),
        "pending": (buy("3", "tok_requires_action", "p-3ds"), pending),
        "item": (item_body, item),
    }


async def _traffic(api: _Api) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    await api.admin("POST", "/admin/operators", {"operator_id": "11", "name": "Casino 11", "currency": "EUR"})
    sessions: dict[str, dict[str, str]] = {}
    for acct, real, bonus in (("5001", "100", "50"), ("5002", "20.1234567891", "0"), ("Bx", "0", "7")):
        await api.admin(
            "POST",
            "/admin/players",
            {
                "operator_id": "11",
                "account_id": acct,
                "name": "P " + acct,
                "email": f"{acct}@example.com",
                "country": "MT",
                "city": "Valletta",
                "real_balance": real,
                "bonus_balance": bonus,
            },
        )
        s = await api.admin("POST", "/admin/sessions", {"account_id": acct})
        sessions[acct] = {
            "accountid": acct,
            "gamesessionid": s["gamesessionid"],
            "device": "desktop",
            "apiversion": "1.2",
        }
    c = sessions["5001"]
    g = {"gameid": "80102"}
    first = await api.groove("wager", **c, **g, roundid="r1", transactionid="t1", betamount="120.5")
    assert first["code"] == 200
    assert (
        await api.groove("result", **c, **g, roundid="r1", transactionid="t2", result="10", gamestatus="completed")
    )["code"] == 200
    assert (await api.groove("wager", **c, **g, roundid="r2", transactionid="t3", betamount="1"))["code"] == 200
    assert (await api.groove("rollback", **c, **g, roundid="r2", transactionid="t3"))["code"] == 200
    assert (await api.groove("rollback", **c, **g, roundid="r9", transactionid="t9"))["code"] == 102  # tombstone
    war = await api.groove(
        "wagerAndResult", **c, **g, roundid="r3", transactionid="t4", betamount="5", result="7.5", gamestatus="pending"
    )
    assert war["code"] == 200
    d = sessions["5002"]
    for i in range(30):
        r = await api.groove("wager", **d, **g, roundid=f"q{i}", transactionid=f"q{i}", betamount="0.3333333333")
        assert r["code"] == 200
    assert (await api.groove("wager", **sessions["Bx"], **g, roundid="z", transactionid="z1", betamount="99"))[
        "code"
    ] == 1006
    await api.admin(
        "POST",
        "/admin/players/5002/adjust",
        {"currency": "EUR", "real": "1.5", "reason": "goodwill", "idempotency_key": "adj-1"},
    )
    await api.admin("PUT", "/admin/players/5001/limits", {"max_bet": "50"})
    await api.admin("PUT", "/admin/operators/11/currencies/GOLD", {"name": "Gold", "usd_rate": "0.25", "note": "v1"})
    await api.admin("PUT", "/admin/operators/11/currencies/GOLD", {"usd_rate": "0.5", "note": "v2"})
    await api.admin("POST", "/admin/operators/11/identities", {"identity": "ext-5001", "account_id": "5001"})
    return sessions, {"t1": first["accounttransactionid"]}


async def _snapshot(api: _Api, w: dict[str, Any]) -> dict[str, Any]:
    """What the flows look like from outside: compared as a whole before and after the move."""
    key = w["key"]
    return {
        "outbox": await api.outbox(),
        "transfer": await api.rest(key, "GET", f"/api/transfers/{w['transfer']}"),
        "send": await api.rest(key, "GET", f"/api/currency-sends/{w['send']}"),
        "rate_limits": await api.admin("GET", "/admin/games/g1/rate-limits"),
        "balances": {
            (acct, cur): await api.balance(key, acct, cur) for acct in ("5001", "5002") for cur in ("EUR", "GOLD")
        },
    }


async def test_migrate_sqlite_to_postgres(aiohttp_client: Any, tmp_path: Path) -> None:
    db_path = tmp_path / "wallet.db"
    clock = FakeClock()
    settings = Settings(database_url=f"sqlite:///{db_path}", admin_token=SecretStr(ADMIN_TOKEN))
    client = await aiohttp_client(create_app(settings, store=SqliteStore(str(db_path)), clock=clock))
    api = _Api(client)
    sessions, ids = await _traffic(api)
    w = await _flows_traffic(api, clock, "11", "5001", "5002", "g1")
    before = {acct: await api.groove("getbalance", **q, nogsgameid="80102") for acct, q in sessions.items()}
    snap = await _snapshot(api, w)
    hub88 = {"enabled": True, "public_key_pem": SIGNER.public_pem(), "games": ["clt_dragonrising"]}
    hub88_settings = await api.admin("PUT", "/admin/operators/11/hub88", hub88)
    # two holds open on 5001: the unverified transfer and the verified send
    assert snap["balances"][("5001", "EUR")][1] == D("5.25")
    assert (snap["transfer"]["state"], snap["transfer"]["hold"]["state"]) == ("pending", "open"), snap["transfer"]
    assert (snap["send"]["state"], snap["send"]["hold"]["state"]) == ("verified", "open"), snap["send"]
    await client.close()  # the source store is closed: nothing writes to it while migrating

    dsn = await pgutil.create_run_database()
    try:
        proc = run("migrate-data", "--from", f"sqlite:///{db_path}", "--to", dsn)
        assert "3 players" in proc.stdout, proc.stdout
        for part in (
            "2 holds (2 open)",
            "2 transfers/sends",
            "2 payments",
            "1 item purchases",
            "2 SMS",
            "1 phones",
            "1 game rate limits",
            "1 Hub88 settings",
        ):
            assert part in proc.stdout, (part, proc.stdout)
        assert "OK" in proc.stdout, proc.stdout

        audit = run("audit", "--database", dsn)
        assert "OK, balances equal the journal" in audit.stdout, audit.stdout
        heads = tmp_path / "heads.json"
        src_audit = run("audit", "--database", f"sqlite:///{db_path}", "--write-head", str(heads))
        assert src_audit.stdout.split(":")[1] == audit.stdout.split(":")[1]  # same wallet/entry/record/round counts
        # the chain heads came along: the target's journal_heads agree with its journal (audit
        # above), and the target reaches every head exported from the source
        assert "OK" in run("audit", "--database", dsn, "--expect-head", str(heads)).stdout
        conn = await asyncpg.connect(dsn)
        try:
            copied = {(r[0], r[1]): (r[2], r[3]) for r in await conn.fetch("SELECT * FROM journal_heads")}
        finally:
            await conn.close()
        exported = {
            (w["account_id"], w["currency"]): (w["seq"], w["hash"]) for w in loads(heads.read_text())["wallets"]
        }
        assert copied == exported
        assert len(copied) >= 4

        # a second migration into the same target is refused, and writes nothing
        again = run("migrate-data", "--from", f"sqlite:///{db_path}", "--to", dsn, check=False)
        assert again.returncode == 2
        assert "already holds" in again.stderr
        assert "OK" in run("audit", "--database", dsn).stdout

        pg_settings = Settings(database_url=dsn, admin_token=SecretStr(ADMIN_TOKEN))
        pg_client = await aiohttp_client(create_app(pg_settings, store=PostgresStore(dsn, max_size=4), clock=clock))
        pg = _Api(pg_client)
        # the flows, the SMS outbox (order, bodies, states, times), the override and the
        # balances (available and reserved) look exactly as they did on SQLite
        assert await _snapshot(pg, w) == snap
        assert await pg.admin("GET", "/admin/operators/11/hub88") == hub88_settings  # Hub88 settings came along
        for acct, q in sessions.items():
            after = await pg.groove("getbalance", **q, nogsgameid="80102")  # the sessions came along
            assert after["code"] == 200, after
            for k in ("balance", "real_balance", "bonus_balance"):
                assert Decimal(after[k]) == Decimal(before[acct][k]), (acct, k)
        # idempotency records came along: a replay moves nothing and answers the same id
        c = sessions["5001"]
        replay = await pg.groove("wager", **c, gameid="80102", roundid="r1", transactionid="t1", betamount="120.5")
        assert replay["status"] == "Success - duplicate request"
        assert replay["accounttransactionid"] == ids["t1"]
        tomb = await pg.groove("wager", **c, gameid="80102", roundid="r9", transactionid="t9", betamount="1")
        assert tomb["code"] == 409
        closed = await pg.groove("wager", **c, gameid="80102", roundid="r1", transactionid="t5", betamount="1")
        assert closed["code"] == 409  # the round's state came along
        limit = await pg.groove("wager", **c, gameid="80102", roundid="r7", transactionid="t7", betamount="60")
        assert limit["code"] == 1019  # the limits came along
        adj = await pg.admin(
            "POST",
            "/admin/players/5002/adjust",
            {"currency": "EUR", "real": "1.5", "reason": "goodwill", "idempotency_key": "adj-1"},
        )
        assert adj["replayed"] is True  # the admin op came along
        # currencies (with their rate history) and external identities came along
        rates = await pg.admin("GET", "/admin/operators/11/currencies/GOLD/rates")
        assert (rates["currency_id"], rates["name"], rates["usd_rate"]) == (2, "Gold", "0.5")
        assert [(h["usd_rate"], h["note"]) for h in rates["history"]] == [("0.25", "v1"), ("0.5", "v2")]
        again_id = await pg_client.post(
            "/admin/operators/11/identities",
            json={"identity": "ext-5001", "account_id": "5002"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert again_id.status == 409  # the identity exists on the target
        # and new money moves on the migrated journal
        new = await pg.groove("wager", **c, gameid="80102", roundid="r8", transactionid="t8", betamount="2")
        assert new["code"] == 200
        await _finish_flows_on_target(pg, clock, w, snap)
        await pg_client.close()
        assert "OK" in run("audit", "--database", dsn).stdout
    finally:
        await pgutil.drop_database(dsn)


def test_migrate_data_refuses_missing_source(tmp_path: Path) -> None:
    proc = run("migrate-data", "--from", f"sqlite:///{tmp_path / 'none.db'}", "--to", pgutil.PG_ADMIN_DSN, check=False)
    assert proc.returncode == 2
    assert "no such SQLite file" in proc.stderr


async def _finish_flows_on_target(pg: _Api, clock: FakeClock, w: dict[str, Any], snap: dict[str, Any]) -> None:
    """Drive the migrated flows to their end on the target; every step moves money once."""
    key = w["key"]
    clock.advance(seconds=1)
    (avail_1, reserved_1), (avail_2, _) = await pg.balance(key, "5001"), await pg.balance(key, "5002")
    assert reserved_1 == D("5.25")
    # the open transfer: verified with the code of the migrated SMS, claimed once
    tr = w["transfer"]
    verified = await pg.rest(
        key, "POST", "/api/transfers/verify-sms", {"transfer_id": tr, "verification_code": await pg.code_for(tr)}
    )
    assert verified["state"] == "verified", verified
    claim_body = {"transfer_id": tr, "player_id": "5002"}
    claimed = await pg.rest(key, "POST", "/api/transfers/claim-transfer", claim_body)
    assert (claimed["status"], claimed["state"]) == ("success", "claimed"), claimed
    status, again, headers = await pg.call(key, "POST", "/api/transfers/claim-transfer", claim_body)
    assert (status, again, headers["Idempotent-Replayed"]) == (200, claimed, "true")
    assert await pg.balance(key, "5001") == (avail_1, D(2))  # the hold was captured, available untouched
    assert await pg.balance(key, "5002") == (avail_2 + D("3.25"), D(0))
    # the verified send: claimed straight away by the recipient's e-mail
    send_body = {"send_id": w["send"], "recipient_email": "5002@example.com"}
    sent = await pg.rest(key, "POST", "/api/currency-sends/claim-currency", send_body)
    assert sent["send_details"]["recipient_player_id"] == "5002", sent
    assert await pg.rest(key, "POST", "/api/currency-sends/claim-currency", send_body) == sent
    assert await pg.balance(key, "5001") == (avail_1, D(0))
    assert await pg.balance(key, "5002") == (avail_2 + D("5.25"), D(0))

    # the requires_action purchase: confirmed once (6 GOLD at 0.5 USD), a repeat replays it
    gold = (await pg.balance(key, "5001", "GOLD"))[0]
    assert gold == D(20)  # the completed purchase: 10 USD
    pending_body, pending = w["pending"]
    confirm = {"payment_id": pending["payment_id"]}
    done = await pg.rest(key, "POST", "/api/currency-purchases/confirm-payment", confirm)
    assert (done["status"], D(done["amount"]), D(done["new_balance"])) == ("success", D(6), D(26)), done
    assert await pg.rest(key, "POST", "/api/currency-purchases/confirm-payment", confirm) == done
    assert await pg.rest(key, "POST", "/api/currency-purchases/purchase-currency", pending_body) == done
    assert await pg.balance(key, "5001", "GOLD") == (D(26), D(0))

    # replays of the completed purchase and of the item purchase: the original replies
    for path, (body, original) in (
        ("/api/currency-purchases/purchase-currency", w["paid"]),
        ("/api/item-purchases/purchase-item", w["item"]),
    ):
        status, replay, headers = await pg.call(key, "POST", path, body)
        assert (status, replay, headers["Idempotent-Replayed"]) == (200, original, "true"), path
    assert await pg.balance(key, "5001", "GOLD") == (D(26), D(0))
    assert await pg.balance(key, "5001") == (avail_1, D(0))

    # the override is in effect: 2 e-mail lookups a minute, no burst (the clock stands still)
    by_email = f"{PB}/player/by-email/5001@example.com"
    assert [(await pg.call(key, "GET", by_email))[0] for _ in range(3)] == [200, 200, 429]
    assert (await pg.call(key, "GET", f"{PB}/player/5001"))[0] == 200  # another class: the default

    # the phone came along: a new transfer can be initiated (and is cancelled: nothing moves)
    status, fresh, _ = await pg.call(
        key,
        "POST",
        "/api/transfers/initiate-transfer",
        {
            "source_player_id": "5001",
            "target_player_id": "5002",
            "currency": "EUR",
            "amount": "1",
            "idempotency_key": "tr-2",
        },
    )
    assert status == 200, fresh
    assert fresh["verification"]["phone"] == "+•••••••0001"
    cancelled = await pg.rest(key, "POST", "/api/transfers/cancel-transfer", {"transfer_id": fresh["transfer_id"]})
    assert cancelled["state"] == "cancelled", cancelled
    assert await pg.balance(key, "5001") == (avail_1, D(0))


async def _read_flows(store: Any, w: dict[str, Any], account: str, game_id: str) -> dict[str, Any]:
    """One operator's flow rows as a store holds them (compared between source and target)."""

    async def unit(tx: Any) -> dict[str, Any]:
        flows = [await tx.get_flow(w["transfer"]), await tx.get_flow(w["send"])]
        return {
            "flows": flows,
            "holds": [None if f is None else await tx.get_hold(f.hold_id) for f in flows],
            "payments": [await tx.get_payment_by_key(game_id, k) for k in ("p-ok", "p-3ds")],
            "item": await tx.get_item_purchase_by_key(game_id, "i-1"),
            "sms": await tx.list_sms(account, 100),
            "phone": await tx.get_phone(account),
            "game_limits": await tx.get_game_limits(game_id),
        }

    await store.open()
    try:
        return dict(await store.read(unit))
    finally:
        await store.close()


async def test_migrate_one_operator_copies_only_its_flows(aiohttp_client: Any, tmp_path: Path) -> None:
    """``--operator 12`` copies 12's holds, flows, payments, SMS, phones and overrides, not 11's;
    a source whose open holds do not add up to ``reserved`` is refused before anything is written."""
    db_path = tmp_path / "wallet.db"
    clock = FakeClock()
    settings = Settings(database_url=f"sqlite:///{db_path}", admin_token=SecretStr(ADMIN_TOKEN))
    client = await aiohttp_client(create_app(settings, store=SqliteStore(str(db_path)), clock=clock))
    api = _Api(client)
    for op, players in (("11", ("5001", "5002")), ("12", ("6001", "6002"))):
        await api.admin("POST", "/admin/operators", {"operator_id": op, "name": "Casino " + op, "currency": "EUR"})
        await api.admin("PUT", f"/admin/operators/{op}/currencies/GOLD", {"name": "Gold", "usd_rate": "0.5"})
        for acct in players:
            body = {"operator_id": op, "account_id": acct, "name": "P", "email": f"{acct}@example.com"}
            place = {"country": "MT", "city": "Valletta", "real_balance": "100", "bonus_balance": "0"}
            await api.admin("POST", "/admin/players", body | place)
    w11 = await _flows_traffic(api, clock, "11", "5001", "5002", "g1")
    w12 = await _flows_traffic(api, clock, "12", "6001", "6002", "g2")
    await client.close()
    source = await _read_flows(SqliteStore(str(db_path)), w12, "6001", "g2")
    assert source["game_limits"] is not None  # the traffic is there to copy
    assert len(source["sms"]) == 2

    dsn = await pgutil.create_run_database()
    try:
        proc = run("migrate-data", "--from", f"sqlite:///{db_path}", "--to", dsn, "--operator", "12")
        for part in ("1 operators", "2 players", "2 holds (2 open)", "2 transfers/sends", "2 payments", "2 SMS"):
            assert part in proc.stdout, (part, proc.stdout)
        assert "1 phones, 1 game rate limits" in proc.stdout, proc.stdout
        assert "OK" in proc.stdout, proc.stdout
        assert await _read_flows(PostgresStore(dsn, max_size=2), w12, "6001", "g2") == source  # exactly
        other = await _read_flows(PostgresStore(dsn, max_size=2), w11, "5001", "g1")
        assert other == {
            "flows": [None, None],
            "holds": [None, None],
            "payments": [None, None],
            "item": None,
            "sms": [],
            "phone": None,
            "game_limits": None,
        }

        # 11's source now claims a hold was released while its wallet still reserves the money
        with sqlite3.connect(db_path) as conn:
            conn.execute(
                "UPDATE holds SET state = 'released', closed_at = created_at, close_reason = 'cancelled'"
                " WHERE reference = ?",
                (w11["transfer"],),
            )
        conn.close()
        refused = run("migrate-data", "--from", f"sqlite:///{db_path}", "--to", dsn, "--operator", "11", check=False)
        assert refused.returncode == 2, refused.stdout
        assert "wallet 5001/EUR: reserved 5.2500000000 but its open holds add up to 2.0000000000" in refused.stderr

        async def operator_11(tx: Any) -> Any:
            return await tx.get_operator("11")

        target = PostgresStore(dsn, max_size=2)
        await target.open()
        try:
            assert await target.read(operator_11) is None  # refused before anything was written
        finally:
            await target.close()
    finally:
        await pgutil.drop_database(dsn)
