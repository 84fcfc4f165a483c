"""``groove-wallet migrate-data``: traffic on SQLite, move it to PostgreSQL, audit passes there."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.jsonout import loads
from tests import pgutil
from tests.conftest import ADMIN_TOKEN
from tests.test_cli import run
from wallet_store.postgres.store import PostgresStore
from wallet_store.sqlite.store import SqliteStore

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
    return sessions, {"t1": first["accounttransactionid"]}


async def test_migrate_sqlite_to_postgres(aiohttp_client: Any, tmp_path: Path) -> None:
    db_path = tmp_path / "wallet.db"
    settings = Settings(database_url=f"sqlite:///{db_path}", admin_token=SecretStr(ADMIN_TOKEN))
    client = await aiohttp_client(create_app(settings, store=SqliteStore(str(db_path))))
    api = _Api(client)
    sessions, ids = await _traffic(api)
    before = {acct: await api.groove("getbalance", **q, nogsgameid="80102") for acct, q in sessions.items()}
    await client.close()  # the source store is closed: nothing writes to it while migrating

    dsn = await pgutil.create_run_database()
    try:
        proc = run("migrate-data", "--from", f"sqlite:///{db_path}", "--to", dsn)
        assert "3 players" in proc.stdout, proc.stdout
        assert "OK" in proc.stdout, proc.stdout

        audit = run("audit", "--database", dsn)
        assert "OK, balances equal the journal" in audit.stdout, audit.stdout
        src_audit = run("audit", "--database", f"sqlite:///{db_path}")
        assert src_audit.stdout.split(":")[1] == audit.stdout.split(":")[1]  # same wallet/entry/round counts

        # a second migration into the same target is refused, and writes nothing
        again = run("migrate-data", "--from", f"sqlite:///{db_path}", "--to", dsn, check=False)
        assert again.returncode == 2
        assert "already holds" in again.stderr
        assert "OK" in run("audit", "--database", dsn).stdout

        pg_settings = Settings(database_url=dsn, admin_token=SecretStr(ADMIN_TOKEN))
        pg_client = await aiohttp_client(create_app(pg_settings, store=PostgresStore(dsn, max_size=4)))
        pg = _Api(pg_client)
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
        # and new money moves on the migrated journal
        new = await pg.groove("wager", **c, gameid="80102", roundid="r8", transactionid="t8", betamount="2")
        assert new["code"] == 200
        await pg_client.close()
        assert "OK" in run("audit", "--database", dsn).stdout
    finally:
        await pgutil.drop_database(dsn)


def test_migrate_data_refuses_missing_source(tmp_path: Path) -> None:
    proc = run("migrate-data", "--from", f"sqlite:///{tmp_path / 'none.db'}", "--to", pgutil.PG_ADMIN_DSN, check=False)
    assert proc.returncode == 2
    assert "no such SQLite file" in proc.stderr
