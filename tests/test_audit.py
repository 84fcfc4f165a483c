"""``groove-wallet audit``: after real /groove traffic the books balance; tampering behind the
service's back (balances, journal rows, rounds) is reported with exit status 1.

The traffic goes through HTTP; the audit runs as the real command line (a subprocess) on the
SQLite file, and in-process (``run_audit``) on every backend.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from tests.conftest import ADMIN_TOKEN, Api, FakeClock
from wallet_store import money
from wallet_store.audit import run_audit
from wallet_store.model import GENESIS_HASH, JournalEntry, Wallet, entry_hash, move
from wallet_store.sqlite.migrations import MIGRATIONS
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


# --------------------------------------------------------------------------- records <-> entries, chain heads
# Issue 14, defect 5 (tail truncation) and defect 12 (a forged entry re-linked), on both
# backends: the traffic goes through HTTP, the tampering straight to the database, and the
# audit runs as the real command line.


def _url(store: Any) -> str:
    if isinstance(store, SqliteStore):
        return f"sqlite:///{store.path}"
    return f"{store.dsn}?search_path={store.schema}"


def cli_audit(store: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
    return subprocess.run(
        [*CLI, "audit", "--database", _url(store), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


async def raw(store: Any, sql: str, *args: Any) -> None:
    """One statement behind the service's back (``?`` placeholders on both backends)."""
    if isinstance(store, SqliteStore):
        await store.execute_raw(sql, args)
        return
    n = 0

    def number(_: Any) -> str:
        nonlocal n
        n += 1
        return f"${n}"

    await store.execute_raw(re.sub(r"\?", number, sql), *args)


async def drop_guards(store: Any) -> None:
    """What an attacker with database access does first: the append-only triggers go."""
    for table, trigger in (
        ("journal", "journal_no_update"),
        ("journal", "journal_no_delete"),
        ("journal_heads", "journal_heads_forward"),
        ("journal_heads", "journal_heads_no_delete"),
    ):
        on = "" if isinstance(store, SqliteStore) else f" ON {table}"
        await raw(store, f"DROP TRIGGER IF EXISTS {trigger}{on}")


async def rewind_wallet(store: Any, account: str, seq: int) -> None:
    """The wallet row back to the state after its entry ``seq`` (balances, seq, last hash)."""
    after = "(SELECT {} FROM journal WHERE account_id = ? AND currency = 'EUR' AND seq = ?)"
    await raw(
        store,
        f"UPDATE wallets SET real = {after.format('real_after')}, bonus = {after.format('bonus_after')},"
        f" reserved = {after.format('reserved_after')}, last_hash = {after.format('hash')}, seq = ?"
        " WHERE account_id = ? AND currency = 'EUR'",
        *(account, seq) * 4,
        seq,
        account,
    )


async def rechain(store: Any, account: str, edit: Any) -> None:
    """Rewrite a wallet's whole chain consistently: ``edit`` changes the list of entries, then
    every entry is re-made with ``move`` from an empty wallet (seq, afters, prev_hash, hash all
    recomputed) and written back with the store's own ``save_wallet``, which also moves the
    wallet row and its ``journal_heads`` row.  Only the records (and an exported head) remain."""
    entries = [e async for e in store.journal(account) if e.currency == "EUR"]
    await drop_guards(store)
    await raw(store, "DELETE FROM journal WHERE account_id = ? AND currency = 'EUR'", account)
    with contextlib.suppress(sqlite3.OperationalError, asyncpg.UndefinedTableError):  # absent before schema 6
        await raw(store, "DELETE FROM journal_heads WHERE account_id = ? AND currency = 'EUR'", account)
    empty = "0" if not isinstance(store, SqliteStore) else money.to_db(Decimal(0))
    await raw(
        store,
        "UPDATE wallets SET real = ?, bonus = ?, reserved = ?, seq = 0, last_hash = ?"
        " WHERE account_id = ? AND currency = 'EUR'",
        *([empty] * 3 if isinstance(store, SqliteStore) else [Decimal(0)] * 3),
        GENESIS_HASH,
        account,
    )
    wallet = Wallet(account_id=account, currency="EUR")
    made = []
    for e in edit(entries):
        wallet, entry = move(
            wallet,
            kind=e.kind,
            real=e.real_delta,
            bonus=e.bonus_delta,
            reserved=e.reserved_delta,
            reference=e.reference,
            reason=e.reason,
            now=e.created_at,
        )
        made.append(entry)
    await store.write(lambda tx: tx.save_wallet(wallet, made))


@pytest.fixture
async def played(api: Api, make_store: Any) -> AsyncIterator[Any]:
    """Every /groove kind on two players (``traffic``), then one last wager ``tlast`` of 2 on
    5179068 (its 11th entry); an open store on the same database."""
    await traffic(api)
    sid = await api.session(ACCT)
    body = await api.groove(
        "wager", accountid=ACCT, gamesessionid=sid, device="desktop", apiversion="1.2", gameid=GAME,
        roundid="r7", transactionid="tlast", betamount="2",
    )  # fmt: skip
    assert body["code"] == 200, body
    store = make_store()
    await store.open()
    try:
        last = [e async for e in store.journal(ACCT)][-1]
        assert (last.seq, last.currency, last.reference) == (11, "EUR", "wager:tlast")
        yield store
    finally:
        await store.close()


def problems(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "OK" not in proc.stdout
    return [line.strip()[2:] for line in proc.stdout.splitlines() if line.startswith("  - ")]


async def test_clean_books_pass_and_their_head_can_be_expected(played: Any, tmp_path: Path) -> None:
    heads = tmp_path / "heads.json"
    proc = cli_audit(played, "--write-head", str(heads))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 wallets, 14 journal entries, 12 money records, 5 rounds: OK" in proc.stdout, proc.stdout
    assert f"wrote the heads of 2 wallets to {heads}" in proc.stdout
    again = cli_audit(played, "--expect-head", str(heads))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "OK, balances equal the journal" in again.stdout


TRUNCATED = (
    f"{ACCT}/EUR: transaction wager tlast (operator 11, game {GAME}) says it applied but the journal"
    " has no entry wager wager:tlast (-2/0)"
)


async def truncate_tail(store: Any) -> None:
    """Issue 14, defect 5: delete 5179068's last entry (the wager tlast) and rewind the
    wallet's balance, seq and last hash to entry 10."""
    await drop_guards(store)
    await raw(store, "DELETE FROM journal WHERE account_id = ? AND seq = 11", ACCT)
    await rewind_wallet(store, ACCT, 10)


async def rewind_head(store: Any) -> None:
    await raw(store, "UPDATE journal_heads SET seq = 10, hash = (SELECT last_hash FROM wallets"
              " WHERE account_id = ? AND currency = 'EUR') WHERE account_id = ?", ACCT, ACCT)  # fmt: skip


async def test_a_truncated_tail_is_caught_by_its_record_and_journal_heads(played: Any) -> None:
    """The transactions table still says tlast applied; journal_heads still says seq 11."""
    await truncate_tail(played)
    anchored = f"{ACCT}/EUR: the journal ends at seq 10 but journal_heads records seq 11"
    assert problems(cli_audit(played)) == [anchored, TRUNCATED]
    await rewind_head(played)  # the head rewound too: the record still tells
    assert problems(cli_audit(played)) == [TRUNCATED]


async def test_a_truncated_tail_is_caught_by_the_exported_head(played: Any, tmp_path: Path) -> None:
    """Journal, wallet, journal_heads, transaction and round all rewound consistently: only the
    head exported before (kept off the database host) still knows."""
    heads = tmp_path / "heads.json"
    assert cli_audit(played, "--write-head", str(heads)).returncode == 0
    await truncate_tail(played)
    await rewind_head(played)
    await raw(played, "DELETE FROM transactions WHERE transaction_id = 'tlast'")
    await raw(played, "UPDATE rounds SET real_bet = bonus_bet, wagers = 0 WHERE round_id = 'r7'")
    assert cli_audit(played).returncode == 0  # what a rewind of five tables looks like without a head
    exported = f"{ACCT}/EUR: the exported head is seq 11 but the journal ends at seq 10 (truncated)"
    assert problems(cli_audit(played, "--expect-head", str(heads))) == [exported]


async def test_a_forged_entry_relinked_in_the_middle_is_caught(played: Any, tmp_path: Path) -> None:
    """Issue 14, defect 12: an entry crediting 1000 inserted after seq 3, every later entry
    re-made so the chain, the wallet and journal_heads are consistent again."""
    heads = tmp_path / "heads.json"
    wrote = cli_audit(played, "--write-head", str(heads))  # before the forgery (checked below)

    def forge(entries: list[JournalEntry]) -> list[JournalEntry]:
        fake = replace(entries[2], kind="api_credit", real_delta=Decimal(1000), bonus_delta=Decimal(0),
                       reference="api:g1:forged", reason="")  # fmt: skip
        return [*entries[:3], fake, *entries[3:]]

    await rechain(played, ACCT, forge)
    forged = f"{ACCT}/EUR seq 4: entry api_credit api:g1:forged (1000/0) belongs to no record that says it applied"
    assert problems(cli_audit(played)) == [forged]
    assert wrote.returncode == 0, wrote.stdout + wrote.stderr
    rewritten = f"{ACCT}/EUR seq 11: hash differs from the exported head (the chain was rewritten)"
    assert problems(cli_audit(played, "--expect-head", str(heads))) == [rewritten, forged]


async def test_a_deleted_middle_entry_is_caught_even_relinked(played: Any) -> None:
    """The rollbackrollback of t2 (seq 6) taken out, first plainly, then with the chain re-made."""
    missing = (
        f"{ACCT}/EUR: transaction rollbackrollback t2 (operator 11, game {GAME}) says it applied but the"
        " journal has no entry rollbackrollback rollbackrollback:t2 (-5.5/0)"
    )
    await drop_guards(played)
    await raw(played, "DELETE FROM journal WHERE account_id = ? AND seq = 6", ACCT)
    found = problems(cli_audit(played))
    assert f"{ACCT}/EUR seq 7: expected seq 6 (gap or duplicate)" in found
    assert missing in found

    await rechain(played, ACCT, lambda entries: entries)  # the gap closed: seq, afters, hashes re-made
    assert problems(cli_audit(played)) == [missing]


async def test_an_entry_without_its_record_is_caught(played: Any) -> None:
    """The jackpot j1's record deleted: its entry (seq 7) belongs to nothing."""
    await raw(played, "DELETE FROM transactions WHERE kind = 'jackpot' AND transaction_id = 'j1'")
    assert problems(cli_audit(played)) == [
        f"{ACCT}/EUR seq 7: entry jackpot jackpot:j1 (1000.0000000001/0) belongs to no record that says it applied"
    ]


async def test_a_head_file_that_is_not_one_is_refused(played: Any, tmp_path: Path) -> None:
    bad = tmp_path / "heads.json"
    bad.write_text('{"format": "something else"}')
    proc = cli_audit(played, "--expect-head", str(bad))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "not a groove-wallet-heads/1 head file" in proc.stderr


async def test_an_unclean_audit_writes_no_head(played: Any, tmp_path: Path) -> None:
    await raw(played, "DELETE FROM transactions WHERE kind = 'jackpot' AND transaction_id = 'j1'")
    heads = tmp_path / "heads.json"
    assert cli_audit(played, "--write-head", str(heads)).returncode == 1
    assert not heads.exists()


async def test_a_rehashed_entry_relinked_to_the_next_only_breaks_the_next_link(played: Any) -> None:
    """Issue 14, defect 12: entry 3's reason rewritten with a correct hash of its own, and
    entry 4's prev_hash pointed at it.  Entry 4's own hash covers its prev_hash, so entry 4
    no longer verifies.  (Were prev_hash left out of the hash, this rewrite would pass: the
    amounts and the records are untouched.  ``test_model`` catches that mutation too.)"""
    e3 = [e async for e in played.journal(ACCT)][2]
    content = {f: getattr(e3, f) for f in e3.__dataclass_fields__ if f != "hash"}
    new_hash = entry_hash(**(content | {"reason": "edited"}))
    await drop_guards(played)
    await raw(played, "UPDATE journal SET reason = 'edited', hash = ? WHERE account_id = ? AND seq = 3", new_hash, ACCT)
    await raw(played, "UPDATE journal SET prev_hash = ? WHERE account_id = ? AND seq = 4", new_hash, ACCT)
    report = await run_audit(played)
    assert report.problems == [f"{ACCT}/EUR seq 4: first broken link: hash does not match the entry's content"]


async def test_schema_6_backfills_the_heads_of_an_existing_database(played: Any, make_store: Any) -> None:
    """A database from before journal_heads: the migration fills it from the wallets."""
    wallets = {(w.account_id, w.currency): (w.seq, w.last_hash) async for w in played.wallets()}
    if not isinstance(played, SqliteStore):
        await raw(played, "DROP FUNCTION journal_heads_forward_only() CASCADE")
    await raw(played, "DROP TABLE journal_heads")
    await raw(played, "DELETE FROM schema_migrations WHERE version = 6")
    again = make_store()
    await again.open()  # migrates
    try:
        heads = {(h.account_id, h.currency): (h.seq, h.hash) async for h in again.chain_heads()}
        assert await again.schema_version() == MIGRATIONS[-1][0]
    finally:
        await again.close()
    assert heads == wallets
    assert heads[(ACCT, "EUR")][0] == 11
    proc = cli_audit(played)
    assert proc.returncode == 0, proc.stdout + proc.stderr


async def test_an_adjustment_is_matched_by_its_reply_and_an_unreadable_reply_is_reported(played: Any, api: Api) -> None:
    body = {"currency": "EUR", "real": "2.5", "bonus": "-1", "reason": "goodwill", "idempotency_key": "adj-1"}
    reply = await api.admin("POST", f"/admin/players/{ACCT}/adjust", body, expect=201)
    assert cli_audit(played).returncode == 0
    await raw(played, "UPDATE admin_ops SET reply = '{\"account_id\": 1}' WHERE key = 'adjust:adj-1'")
    found = problems(cli_audit(played))
    assert found[0] == "admin op adjust:adj-1: unreadable record (KeyError('wallet'))"
    real, bonus = await api.balances(ACCT)
    assert found[1:] == [
        f"{ACCT}/EUR seq 12: entry adjust {reply['reference']} ({money.wire(real)}/{money.wire(bonus)})"
        " belongs to no record that says it applied"
    ]
