"""Two real ``groove-wallet serve`` processes on one PostgreSQL database.

Duplicates and races split across instances must move money exactly once: the row lock
on the player and the unique key on the transaction record are database-wide, not
per-process.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from groove_adapter.jsonout import loads
from tests import pgutil
from tests.test_cli import Server
from wallet_store import money
from wallet_store.audit import run_audit
from wallet_store.model import Operator, SystemClock
from wallet_store.postgres.store import PostgresStore
from wallet_store.service import WalletService

pytestmark = pytest.mark.postgres

COPIES = 200
RACERS = 50


async def _seed(dsn: str) -> dict[str, str]:
    """Operator 11; player A (100 real) and player B (exactly 10 real), one live session each."""
    store = PostgresStore(dsn, min_size=1, max_size=2)
    await store.open()
    try:
        clock = SystemClock()
        svc = WalletService(store, clock)
        await svc.create_operator(
            Operator(
                operator_id="11", name="Casino 11", currency="EUR", debit_order="cash_money", created_at=clock.now()
            )
        )
        sessions: dict[str, str] = {}
        for acct, real in (("7001", "100"), ("7002", "10")):
            await svc.create_player(
                operator_id="11",
                account_id=acct,
                name="Player " + acct,
                email=f"p{acct}@example.com",
                country="MT",
                city="Valletta",
                currency="EUR",
                real=money.parse(real),
                bonus=money.ZERO,
            )
            s = await svc.open_session(acct, game_id="80102", currency=None, ttl_seconds=3600)
            sessions[acct] = s.session_id
        return sessions
    finally:
        await store.close()


async def _groove(http: aiohttp.ClientSession, base: str, request: str, **params: str) -> dict[str, Any]:
    q = urlencode({"request": request, **params})
    async with http.get(f"{base}/groove?{q}") as resp:
        text = await resp.text()
        assert resp.status == 200, f"{resp.status}: {text}"
        body: dict[str, Any] = loads(text)
        return body


async def test_two_instances_move_money_once(tmp_path: Path) -> None:
    dsn = await pgutil.create_run_database()
    servers = [Server(_mkdir(tmp_path / "a")), Server(_mkdir(tmp_path / "b"))]
    try:
        sessions = await _seed(dsn)
        bases = [s.start(dsn) for s in servers]
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as http:
            for s in servers:
                await s.wait_healthy(http)

            # -- 200 copies of one wager, split between the two instances
            common = {"accountid": "7001", "gamesessionid": sessions["7001"], "device": "desktop", "apiversion": "1.2"}
            wager = {**common, "gameid": "80102", "roundid": "r1", "transactionid": "dup-1", "betamount": "7.25"}
            replies = await asyncio.gather(*(_groove(http, bases[i % 2], "wager", **wager) for i in range(COPIES)))
            assert [r["code"] for r in replies] == [200] * COPIES, Counter(str(r["code"]) for r in replies)
            ids = {r["accounttransactionid"] for r in replies}
            assert len(ids) == 1, ids
            statuses = Counter(r["status"] for r in replies)
            assert statuses["Success"] == 1, statuses
            assert statuses["Success - duplicate request"] == COPIES - 1, statuses
            for base in bases:
                bal = await _groove(http, base, "getbalance", **common, nogsgameid="80102")
                assert bal["code"] == 200
                assert Decimal(bal["balance"]) == Decimal("92.75")

            # -- 50 different wagers on an account funded for exactly 10
            common_b = {
                "accountid": "7002",
                "gamesessionid": sessions["7002"],
                "device": "desktop",
                "apiversion": "1.2",
            }
            racers = [
                _groove(
                    http,
                    bases[i % 2],
                    "wager",
                    **common_b,
                    gameid="80102",
                    roundid=f"race-{i}",
                    transactionid=f"race-tx-{i}",
                    betamount="1",
                )
                for i in range(RACERS)
            ]
            results = await asyncio.gather(*racers)
            codes = Counter(int(r["code"]) for r in results)
            assert codes == Counter({200: 10, 1006: RACERS - 10}), codes
            for base in bases:
                bal = await _groove(http, base, "getbalance", **common_b, nogsgameid="80102")
                assert Decimal(bal["balance"]) == 0
                assert Decimal(bal["real_balance"]) == 0
        await _check_journal(dsn)
    finally:
        for s in servers:
            s.stop()
        try:
            for s in servers:
                assert s.proc is None or s.proc.poll() is not None, "a server process is still running"
        finally:
            await pgutil.drop_database(dsn)


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


async def _check_journal(dsn: str) -> None:
    store = PostgresStore(dsn, min_size=1, max_size=2)
    await store.open()
    try:
        report = await run_audit(store)
        assert report.ok, report.text()
        entries_a = [e async for e in store.journal("7001")]
        # opening balance (if journaled) plus exactly one debit for the 200 copies
        wager_entries = [e for e in entries_a if e.real_delta < 0 or e.bonus_delta < 0]
        assert len(wager_entries) == 1, entries_a
        assert wager_entries[0].real_delta == Decimal("-7.25")
        entries_b = [e async for e in store.journal("7002")]
        assert len([e for e in entries_b if e.real_delta < 0]) == 10, entries_b
    finally:
        await store.close()
