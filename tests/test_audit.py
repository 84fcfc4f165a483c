"""``groove-wallet audit``: after real /groove traffic the books balance; tampering behind the
service's back (balances, journal rows, rounds) is reported with exit status 1.

The traffic goes through HTTP; the audit runs as the real command line (a subprocess) on the
SQLite file, and in-process (``run_audit``) on every backend.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from tests.conftest import ADMIN_TOKEN, Api, FakeClock
from wallet_store import money
from wallet_store.audit import run_audit
from wallet_store.sqlite.store import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "groove-wallet"
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "groove_adapter.cli"]
COMMAND_TIMEOUT = 120  # a bound on a hung subprocess, not a timing assertion
ACCT = "5179068"
OTHER = "7000001"
GAME = "80102"


def audit(db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
    return subprocess.run(
        [*CLI, "audit", "--database", f"sqlite:///{db}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


async def traffic(api: Api) -> None:
    """Every kind of money movement on two players, checked as it goes."""
    await api.operator("11")
    await api.player(ACCT, real="100", bonus="50")
    await api.player(OTHER, real="0.0000000001", bonus="20", email="o@example.com")
    sid = await api.session(ACCT)
    sid2 = await api.session(OTHER)
    me = {"accountid": ACCT, "gamesessionid": sid, "device": "desktop", "apiversion": "1.2", "gameid": GAME}
    them = me | {"accountid": OTHER, "gamesessionid": sid2}

    async def ok(request: str, common: dict[str, str] = me, **params: str) -> dict[str, Any]:
        body = await api.groove(request, **common, **params)
        assert body["code"] == 200, (request, params, body)
        return body

    await ok("wager", roundid="r1", transactionid="t1", betamount="120")
    await ok("result", roundid="r1", transactionid="res1", result="60", gamestatus="completed")
    await ok("wager", roundid="r2", transactionid="t2", betamount="5.5")
    await ok("rollback", roundid="r2", transactionid="t2")
    await ok("rollbackrollback", roundid="r2", transactionid="t2", rollbackAmount="5.5")
    await ok("jackpot", roundid="j1", transactionid="j1", amount="1000.0000000001", gamestatus="completed")
    await ok("reversewin", roundid="j1", transactionid="j1", amount="1000.0000000001")
    await ok("wagerAndResult", roundid="r3", transactionid="wr1", betamount="3", result="9", gamestatus="completed")
    await ok("wager", them, roundid="r1", transactionid="u1", betamount="20.0000000001")
    await ok("result", them, roundid="r1", transactionid="ures1", result="7", gamestatus="completed")
    assert (await api.groove("wager", **me, roundid="r9", transactionid="t9", betamount="99999"))["code"] == 1006
    assert await api.balances(ACCT) == (Decimal("50") - Decimal("5.5") + Decimal("6"), Decimal("40"))
    # 7 won on a bet of 0.0000000001 real + 20 bonus: bonus gets 7 * 20/20.0000000001 rounded down
    real, bonus = await api.balances(OTHER)
    assert real + bonus == Decimal("7")
    assert bonus == Decimal("6.9999999999")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "wallet.db"


@pytest.fixture
async def sqlite_api(aiohttp_client: Any, db: Path) -> Api:
    """A real server over a SQLite file this test can reach with sqlite3 and the CLI."""
    settings = Settings(database_url=f"sqlite:///{db}", admin_token=SecretStr(ADMIN_TOKEN))
    client = await aiohttp_client(create_app(settings, store=SqliteStore(str(db)), clock=FakeClock()))
    api = Api(client)
    await traffic(api)
    return api


def tamper(db: Path, *statements: tuple[str, tuple[Any, ...]]) -> None:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        for sql, params in statements:
            conn.execute(sql, params)
        conn.commit()


def journal_row(db: Path, account: str, seq: int) -> tuple[str, str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        row = conn.execute(
            "SELECT real_delta, real_after FROM journal WHERE account_id = ? AND seq = ?", (account, seq)
        ).fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


async def test_audit_ok_after_traffic(sqlite_api: Api, db: Path) -> None:
    proc = audit(db)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK" in proc.stdout
    assert "2 wallets" in proc.stdout, proc.stdout
    assert "problem" not in proc.stdout


async def test_audit_fails_on_a_tampered_balance(sqlite_api: Api, db: Path) -> None:
    tamper(db, ("UPDATE wallets SET real = ? WHERE account_id = ?", (money.to_db(Decimal("1000")), ACCT)))
    assert await sqlite_api.balances(ACCT) == (Decimal("1000"), Decimal("40"))
    proc = audit(db)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "OK" not in proc.stdout
    assert f"{ACCT}/EUR" in proc.stdout
    assert "1000" in proc.stdout
    assert OTHER not in proc.stdout  # the untouched wallet is not blamed


async def test_audit_fails_on_a_tiny_tampered_bonus(sqlite_api: Api, db: Path) -> None:
    _, bonus = await sqlite_api.balances(OTHER)
    tamper(
        db,
        ("UPDATE wallets SET bonus = ? WHERE account_id = ?", (money.to_db(bonus + Decimal("0.0000000001")), OTHER)),
    )
    proc = audit(db)
    assert proc.returncode == 1, proc.stdout
    assert f"{OTHER}/EUR" in proc.stdout
    assert f"{ACCT}/EUR" not in proc.stdout


async def test_audit_names_the_first_broken_link_of_an_edited_journal(sqlite_api: Api, db: Path) -> None:
    # the journal is append-only: an UPDATE is refused by a trigger
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tamper(db, ("UPDATE journal SET reason = 'x' WHERE account_id = ? AND seq = 2", (ACCT,)))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tamper(db, ("DELETE FROM journal WHERE account_id = ? AND seq = 2", (ACCT,)))
    assert audit(db).returncode == 0
    # behind the service's back: drop the trigger and rewrite entry 2 (the first wager) consistently
    delta, after = journal_row(db, ACCT, 2)
    assert (money.from_db(delta), money.from_db(after)) == (Decimal("-100"), Decimal("0"))
    tamper(
        db,
        ("DROP TRIGGER journal_no_update", ()),
        (
            "UPDATE journal SET real_delta = ?, real_after = ? WHERE account_id = ? AND seq = 2",
            (money.to_db(Decimal("-1")), money.to_db(Decimal("99")), ACCT),
        ),
    )
    proc = audit(db)
    assert proc.returncode == 1, proc.stdout
    assert f"{ACCT}/EUR seq 2" in proc.stdout
    assert "first broken link" in proc.stdout
    assert f"{ACCT}/EUR seq 3" not in proc.stdout  # the first one, not every later one


async def test_audit_reports_a_deleted_journal_entry(sqlite_api: Api, db: Path) -> None:
    tamper(
        db,
        ("DROP TRIGGER journal_no_delete", ()),
        ("DELETE FROM journal WHERE account_id = ? AND seq = 3", (ACCT,)),
    )
    proc = audit(db)
    assert proc.returncode == 1, proc.stdout
    assert f"{ACCT}/EUR seq 4" in proc.stdout
    assert "gap" in proc.stdout


async def test_audit_reports_a_forged_hash_chain_link(sqlite_api: Api, db: Path) -> None:
    tamper(
        db,
        ("DROP TRIGGER journal_no_update", ()),
        ("UPDATE journal SET prev_hash = ? WHERE account_id = ? AND seq = 3", ("f" * 64, ACCT)),
    )
    proc = audit(db)
    assert proc.returncode == 1, proc.stdout
    assert f"{ACCT}/EUR seq 3" in proc.stdout
    assert "first broken link" in proc.stdout


async def test_audit_reports_a_negative_round(sqlite_api: Api, db: Path) -> None:
    tamper(
        db,
        (
            "UPDATE rounds SET real_win = ? WHERE account_id = ? AND round_id = 'r1'",
            (money.to_db(Decimal("-5")), ACCT),
        ),
    )
    proc = audit(db)
    assert proc.returncode == 1, proc.stdout
    assert "r1" in proc.stdout
    assert "negative" in proc.stdout


async def test_audit_reports_a_round_whose_money_does_not_add_up(sqlite_api: Api, db: Path) -> None:
    """Issue 3, item 10: the audit checks that every round's money adds up.  Round r1 of
    5179068 took 100 real + 20 bonus; a round that claims 12345 real was bet is drift."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        row = conn.execute("SELECT real_bet, bonus_bet FROM rounds WHERE account_id = ? AND round_id = 'r1'", (ACCT,))
        real_bet, bonus_bet = row.fetchone()
    assert (money.from_db(real_bet), money.from_db(bonus_bet)) == (Decimal("100"), Decimal("20"))
    tamper(
        db,
        (
            "UPDATE rounds SET real_bet = ? WHERE account_id = ? AND round_id = 'r1'",
            (money.to_db(Decimal("12345")), ACCT),
        ),
    )
    proc = audit(db)
    assert proc.returncode == 1, proc.stdout
    assert "r1" in proc.stdout


# --------------------------------------------------------------------------- in-process, every backend


async def test_run_audit_after_traffic_on_every_backend(api: Api, make_store: Any) -> None:
    await traffic(api)
    store = make_store()
    await store.open()
    try:
        report = await run_audit(store)
        entries = [e async for e in store.journal(ACCT)]
    finally:
        await store.close()
    assert report.ok, report.text()
    assert report.wallets == 2
    assert report.rounds == 4  # 5179068: r1, r2, r3; 7000001: r1 (a jackpot alone opens no round)
    kinds = [e.kind for e in entries]
    assert kinds == [
        "initial",
        "wager",
        "result",
        "wager",
        "rollback",
        "rollbackrollback",
        "jackpot",
        "reversewin",
        "wager",
        "result",
    ]
    assert "OK" in report.text()
    # the last entry's balances are the wallet's
    assert (entries[-1].real_after, entries[-1].bonus_after) == await api.balances(ACCT)


async def test_audit_reports_reserved_funds_without_their_open_hold(client: Any, api: Api, make_store: Any) -> None:
    """A hold closed behind the service's back (money still reserved) is drift."""
    from tests.test_flows_transfers import make_world

    flows = await make_world(client, api)
    await flows.transfer("1001", "1002", "30.5", "t-1")
    store = make_store()
    await store.open()
    try:
        assert (await run_audit(store)).ok
        await store.execute_raw("UPDATE holds SET state = 'released'")
        report = await run_audit(store)
    finally:
        await store.close()
    assert not report.ok
    assert "1001/EUR: reserved 30.5000000000 but its open holds add up to 0" in report.text(), report.text()
