"""The storage contract, run against both backends through the ``WalletStore``/``Tx`` Protocol:
operators, players, wallets and the journal, sessions, transaction records, rounds, limits,
concurrency and the backends' failure modes (the other records: ``test_store_records``).

The PostgreSQL runs use one database per test session (created lazily by the first
PostgreSQL test, dropped at the end of the session even on failure) and a fresh schema per
test.  Deselect them with ``-m "not postgres"``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests import pgutil
from tests.contract.support import (
    BIG,
    DRIVER_INTEGRITY_ERRORS,
    MIXED_CASE_ACCOUNTS,
    T0,
    T_EARLY,
    T_IST,
    T_LATE,
    TINY,
    ZERO,
    D,
    assert_same,
    collect,
    get_wallet,
    make_operator,
    make_player,
    seed,
)
from wallet_store import model
from wallet_store.errors import Conflict, NotFound, OutOfMoney, StoreUnavailable, TechnicalError
from wallet_store.model import (
    FreeRoundAward,
    GameSession,
    JournalEntry,
    Limits,
    Round,
    TxRecord,
    Wallet,
)
from wallet_store.postgres.migrations import MIGRATIONS as PG_MIGRATIONS
from wallet_store.postgres.store import PostgresStore
from wallet_store.sqlite.store import SqliteStore

# --- operators, players, wallets, sessions ------------------------------------------


async def test_operator_round_trip(store: Any) -> None:
    full = make_operator(
        "opA",
        name="Opérateur «A»",
        currency="EUR",
        debit_order="bonus_money",
        signature_secret="s3cr3t",
        allowed_networks=("10.0.0.0/8", "192.168.1.7", "2001:db8::/32"),
        start_real=BIG,
        start_bonus=TINY,
        created_at=T_IST,
    )
    plain = make_operator("opB", currency="USD", created_at=T_EARLY)

    async def insert(tx: Any) -> None:
        await tx.insert_operator(full)
        await tx.insert_operator(plain)

    await store.write(insert)

    async def get(tx: Any) -> tuple[Any, Any, Any]:
        return await tx.get_operator("opA"), await tx.get_operator("opB"), await tx.get_operator("nope")

    a, b, none = await store.read(get)
    assert_same(full, a)
    assert_same(plain, b)
    assert b.signature_secret is None
    assert b.allowed_networks == ()
    assert none is None
    assert str(a.start_real) == "9999999999999999999999.9999999999"
    assert a.start_bonus == TINY

    changed = replace(
        full, name="A2", debit_order="cash_money", signature_secret=None, allowed_networks=(), start_real=ZERO
    )
    await store.write(lambda tx: tx.update_operator(changed))
    assert_same(changed, await store.read(lambda tx: tx.get_operator("opA")))


async def test_player_round_trip_and_email_lookup(store: Any) -> None:
    p1 = make_player("p1", name="Ålice", email="  Alice.Smith@Example.COM ", created_at=T_IST)
    p2 = make_player("p2", email=None, status="self_excluded", last_active=T_LATE, created_at=T_EARLY)
    p3 = make_player("p3", operator_id="op2", email="alice.smith@example.com", currency="USD")

    async def insert(tx: Any) -> None:
        await tx.insert_operator(make_operator("op1"))
        await tx.insert_operator(make_operator("op2", currency="USD"))
        for p in (p1, p2, p3):
            await tx.insert_player(p)

    await store.write(insert)

    async def get(tx: Any) -> list[Any]:
        return [
            await tx.get_player("p1"),
            await tx.get_player("p2"),
            await tx.get_player("nope"),
            await tx.get_player_by_email("op1", "ALICE.SMITH@example.com"),
            await tx.get_player_by_email("op1", "alice.smith@example.com   "),
            await tx.get_player_by_email("op2", "Alice.Smith@Example.COM"),
            await tx.get_player_by_email("op1", "bob@example.com"),
            await tx.get_player_by_email("op3", "alice.smith@example.com"),
        ]

    got = await store.read(get)
    assert_same(p1, got[0])
    assert got[0].email == "  Alice.Smith@Example.COM "  # stored as given; only the lookup is normalized
    assert_same(p2, got[1])
    assert got[2] is None
    assert_same(p1, got[3])
    assert_same(p1, got[4])
    assert_same(p3, got[5])
    assert got[6] is None
    assert got[7] is None

    # lock_player returns the player inside a write, None for an unknown account.
    async def lock(tx: Any) -> tuple[Any, Any]:
        return await tx.lock_player("p1"), await tx.lock_player("nope")

    locked, missing = await store.write(lock)
    assert_same(p1, locked)
    assert missing is None
    # ... and is a plain read inside a read unit.
    assert_same(p1, await store.read(lambda tx: tx.lock_player("p1")))

    updated = replace(p1, name="Alice S.", email="NEW@Example.io", status="blocked", last_active=T0, city="Sliema")
    await store.write(lambda tx: tx.update_player(updated))

    async def after(tx: Any) -> list[Any]:
        return [
            await tx.get_player("p1"),
            await tx.get_player_by_email("op1", "alice.smith@example.com"),
            await tx.get_player_by_email("op1", "new@example.IO"),
        ]

    now_p1, old_email, new_email = await store.read(after)
    assert_same(updated, now_p1)
    assert now_p1.blocked
    assert old_email is None
    assert_same(updated, new_email)


async def test_player_unique_keys(store: Any) -> None:
    async def setup(tx: Any) -> None:
        await tx.insert_operator(make_operator("op1"))
        await tx.insert_player(make_player("p1", email="Dup@Example.com"))

    await store.write(setup)
    # same email (differently cased / padded) under the same operator
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.insert_player(make_player("p2", email=" dup@example.COM")))
    # same account id
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.insert_player(make_player("p1", email="other@example.com")))
    # unknown operator (foreign key)
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.insert_player(make_player("p9", operator_id="nope")))
    # players without an email never collide
    await store.write(lambda tx: tx.insert_player(make_player("p3")))
    await store.write(lambda tx: tx.insert_player(make_player("p4")))
    assert (await store.read(lambda tx: tx.get_player("p2"))) is None


async def test_wallet_and_session_round_trip(store: Any) -> None:
    await seed(store, ["p1"], currency="USD")
    eur = Wallet(
        account_id="p1",
        currency="EUR",
        real=BIG,
        bonus=TINY,
        reserved=D("12.5"),
        seq=7,
        last_hash="ab" * 32,
        updated_at=T_IST,
    )
    xbt = Wallet(account_id="p1", currency="XBT", updated_at=None)
    await store.write(lambda tx: tx.insert_wallet(eur))
    await store.write(lambda tx: tx.insert_wallet(xbt))

    async def get(tx: Any) -> tuple[Any, Any, Any]:
        return await tx.get_wallet("p1", "EUR"), await tx.list_wallets("p1"), await tx.get_wallet("p1", "GBP")

    got, listed, none = await store.read(get)
    assert_same(eur, got)
    assert [w.currency for w in listed] == ["EUR", "USD", "XBT"]
    assert_same(eur, listed[0])
    assert_same(xbt, listed[2])
    assert listed[2].last_hash == model.GENESIS_HASH
    assert none is None
    assert await store.read(lambda tx: tx.list_wallets("nobody")) == []

    # a wallet for an unknown player, or with a negative balance, is refused by the schema
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.insert_wallet(Wallet(account_id="nobody", currency="EUR")))
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.insert_wallet(Wallet(account_id="p1", currency="GBP", real=-TINY)))
    with pytest.raises(Conflict):  # duplicate (account, currency)
        await store.write(lambda tx: tx.insert_wallet(Wallet(account_id="p1", currency="EUR")))

    s1 = GameSession(
        session_id="s1", account_id="p1", operator_id="op1", currency="EUR", game_id=None, created_at=T0,
        expires_at=T_LATE,
    )  # fmt: skip
    s2 = GameSession(
        session_id="s2", account_id="p1", operator_id="op1", currency="EUR", game_id="g-77", created_at=T_EARLY,
        expires_at=T_IST, closed_at=T_IST,
    )  # fmt: skip

    async def sessions(tx: Any) -> None:
        await tx.insert_session(s1)
        await tx.insert_session(s2)

    await store.write(sessions)
    assert_same(s1, await store.read(lambda tx: tx.get_session("s1")))
    assert_same(s2, await store.read(lambda tx: tx.get_session("s2")))
    assert await store.read(lambda tx: tx.get_session("nope")) is None

    closed_at = T0 + timedelta(minutes=1)
    assert await store.write(lambda tx: tx.close_session("s1", closed_at)) is True
    assert await store.write(lambda tx: tx.close_session("s1", T_LATE)) is False
    assert await store.write(lambda tx: tx.close_session("s2", T_LATE)) is False
    assert await store.write(lambda tx: tx.close_session("nope", T_LATE)) is False
    assert_same(replace(s1, closed_at=closed_at), await store.read(lambda tx: tx.get_session("s1")))
    assert_same(s2, await store.read(lambda tx: tx.get_session("s2")))


# --- balances and the journal ---------------------------------------------------------


async def test_save_wallet_and_stream_journal(store: Any) -> None:
    await seed(store, MIXED_CASE_ACCOUNTS)

    async def open_usd(tx: Any) -> None:
        await tx.insert_wallet(Wallet(account_id="B", currency="USD"))

    await store.write(open_usd)

    expected_entries: list[JournalEntry] = []
    expected_wallets: list[Wallet] = []

    async def play(tx: Any) -> None:
        for acc in sorted(MIXED_CASE_ACCOUNTS):
            await tx.lock_player(acc)
        for i, acc in enumerate(sorted(MIXED_CASE_ACCOUNTS)):
            for cur in ("EUR", "USD") if acc == "B" else ("EUR",):
                w = await tx.get_wallet(acc, cur)
                now = T0 + timedelta(seconds=i)
                # real + bonus at the very top of Decimal(32,10)
                w1, e1 = model.move(w, kind="deposit", real=BIG - TINY, bonus=TINY, reference=f"dep-{acc}", now=now)
                w2, e2 = model.move(
                    w1,
                    kind="bet",
                    real=TINY - BIG,
                    bonus=-TINY,
                    reserved=D("0.5"),
                    reference="r1",
                    reason="spin",
                    now=T_IST,
                )
                w3, e3 = model.move(w2, kind="win", real=D("140.25"), reference="r1", now=T_LATE)
                await tx.save_wallet(w3, [e1, e2, e3])
                expected_entries.extend([e1, e2, e3])
                expected_wallets.append(w3)

    await store.write(play)

    def key_entry(e: JournalEntry) -> tuple[str, str, int]:
        return (e.account_id, e.currency, e.seq)

    journal = await collect(store.journal())
    assert [key_entry(e) for e in journal] == sorted(key_entry(e) for e in expected_entries)
    assert [e.account_id for e in journal[:1]] == ["B"]  # byte order, not the locale's
    by_key = {key_entry(e): e for e in expected_entries}
    for e in journal:
        assert_same(by_key[key_entry(e)], e)
        assert model.verify_entry(e)
    neg = next(e for e in journal if e.kind == "bet")
    assert str(neg.real_delta) == "-9999999999999999999999.9999999998"
    assert neg.bonus_delta == -TINY

    only_b = await collect(store.journal("B"))
    assert [(e.currency, e.seq) for e in only_b] == [(c, n) for c in ("EUR", "USD") for n in (1, 2, 3)]
    assert await collect(store.journal("nobody")) == []

    wallets = await collect(store.wallets())
    assert [(w.account_id, w.currency) for w in wallets] == sorted((w.account_id, w.currency) for w in expected_wallets)
    for w in wallets:
        exp = next(x for x in expected_wallets if (x.account_id, x.currency) == (w.account_id, w.currency))
        assert_same(exp, w)
        assert w.seq == 3
        assert w.real == D("140.25")
        assert w.reserved == D("0.5")

    # created_at of B/EUR: seq 1 at T0, seq 2 at T_IST (earlier than T0 in UTC), seq 3 at T_LATE
    async def since(ts: datetime) -> list[int]:
        entries = await store.read(lambda tx: tx.journal_since("B", "EUR", ts))
        return [e.seq for e in entries]

    assert await since(T_IST) == [1, 2, 3]
    assert await since(T_IST + timedelta(microseconds=1)) == [1, 3]
    assert await since(T0) == [1, 3]
    assert await since(T0.astimezone(timezone(timedelta(hours=-7)))) == [1, 3]
    assert await since(T0 + timedelta(microseconds=1)) == [3]
    assert await since(T_LATE) == [3]
    assert await store.read(lambda tx: tx.journal_since("B", "USD", T_LATE)) == [by_key[("B", "USD", 3)]]
    assert await store.read(lambda tx: tx.journal_since("B", "GBP", T_EARLY)) == []


async def test_seq_guard_refuses_stale_wallet(store: Any) -> None:
    await seed(store, ["p1"], real=D("10"))
    stale = await get_wallet(store, "p1")

    async def debit(tx: Any, w: Wallet) -> None:
        new, e = model.move(w, kind="bet", real=D("-1"), reference="x", now=T0)
        await tx.save_wallet(new, [e])

    await store.write(lambda tx: debit(tx, stale))
    with pytest.raises(TechnicalError):
        await store.write(lambda tx: debit(tx, stale))
    with pytest.raises(TechnicalError):  # a balance change without an entry
        await store.write(lambda tx: tx.save_wallet(replace(stale, real=ZERO), []))

    w = await get_wallet(store, "p1")
    assert (w.seq, w.real) == (1, D("9"))
    assert len(await collect(store.journal())) == 1


async def test_failed_unit_leaves_nothing_written(store: Any) -> None:
    await seed(store, ["p1"], real=D("10"))
    err = OutOfMoney("nope")

    async def unit(tx: Any) -> None:
        await tx.insert_operator(make_operator("op2"))
        await tx.insert_player(make_player("p2", operator_id="op2"))
        await tx.lock_player("p1")
        w = await tx.get_wallet("p1", "EUR")
        new, e = model.move(w, kind="bet", real=D("-3"), reference="x", now=T0)
        await tx.save_wallet(new, [e])
        session = GameSession(
            session_id="s", account_id="p1", operator_id="op1", currency="EUR", game_id=None, created_at=T0,
            expires_at=T_LATE,
        )  # fmt: skip
        await tx.insert_session(session)
        raise err

    with pytest.raises(OutOfMoney) as caught:
        await store.write(unit)
    assert caught.value is err  # domain errors pass through unchanged

    class Boom(Exception):
        pass

    async def crashing(tx: Any) -> None:
        await tx.insert_operator(make_operator("op3"))
        raise Boom

    with pytest.raises(Boom):
        await store.write(crashing)

    async def check(tx: Any) -> list[Any]:
        return [
            await tx.get_operator("op2"),
            await tx.get_operator("op3"),
            await tx.get_player("p2"),
            await tx.get_session("s"),
        ]

    assert await store.read(check) == [None, None, None, None]
    assert (await get_wallet(store, "p1")).real == D("10")
    assert await collect(store.journal()) == []
    # the store is still usable afterwards
    await store.write(lambda tx: tx.insert_operator(make_operator("op2")))


async def test_read_units_cannot_write(store: Any) -> None:
    with pytest.raises(TechnicalError):
        await store.read(lambda tx: tx.insert_operator(make_operator("op1")))
    assert await store.read(lambda tx: tx.get_operator("op1")) is None
    assert await store.ping() is True


async def test_sqlite_group_commit_isolates_failures_and_readers_see_only_commits(tmp_path: Path) -> None:
    """One batch of 40 units: the two that fail (a domain error, a unique violation) are
    rolled back alone, the other 38 commit together, and a reader running while the batch is
    open never sees a unit of it, only the committed whole."""
    s = SqliteStore(str(tmp_path / "batch.db"))
    await s.open()
    sizes: list[int] = []
    s.batch_observer = sizes.append
    try:
        await s.write(lambda tx: tx.insert_operator(make_operator("dup")))
        seen: list[int] = []
        done = asyncio.Event()

        async def count(tx: Any) -> int:
            r = await tx._one("SELECT count(*) FROM operators")
            return int(r[0])

        async def reader() -> None:
            while not done.is_set():
                seen.append(await s.read(count))
                await asyncio.sleep(0)

        def unit(i: int) -> Any:
            async def run(tx: Any) -> int:
                await tx.insert_operator(make_operator(f"b{i}"))
                if i == 5:
                    raise NotFound("refused on purpose")
                if i == 30:
                    await tx.insert_operator(make_operator("dup"))  # unique violation
                return i

            return run

        watcher = asyncio.create_task(reader())
        await asyncio.sleep(0)
        results = await asyncio.gather(*(s.write(unit(i)) for i in range(40)), return_exceptions=True)
        done.set()
        await watcher
        assert max(sizes) == 40  # one batch
        assert isinstance(results[5], NotFound)
        assert isinstance(results[30], Conflict)
        assert [r for i, r in enumerate(results) if i not in (5, 30)] == [i for i in range(40) if i not in (5, 30)]
        assert set(seen) <= {1, 39}, sorted(set(seen))  # before the batch, or all of it
        assert await s.read(count) == 39
        assert await s.read(lambda tx: tx.get_operator("b5")) is None
        assert await s.read(lambda tx: tx.get_operator("b30")) is None
    finally:
        await s.close()


async def test_sqlite_close_during_a_commit_gives_callers_the_real_outcome(tmp_path: Path) -> None:
    """close() while a batch is on the writer thread waits for it: its callers get what
    really happened (here: committed), not a failure for a write that landed."""
    import threading

    path = str(tmp_path / "closing.db")
    s = SqliteStore(path)
    await s.open()
    on_thread = threading.Event()  # the batch is running on the writer thread
    release = threading.Event()  # ... and may finish (close() is under way)

    async def slow(tx: Any) -> str:
        await tx.insert_operator(make_operator("slow"))
        on_thread.set()
        assert release.wait(timeout=60)  # on the writer thread: held while close() starts
        return "done"

    pending = asyncio.ensure_future(s.write(slow))
    assert await asyncio.to_thread(on_thread.wait, 60)
    closing = asyncio.ensure_future(s.close())
    await asyncio.sleep(0)  # one turn of the loop, not time: close() has begun and waits for the batch
    assert not closing.done()
    release.set()
    await closing
    assert await pending == "done"
    again = SqliteStore(path)
    await again.open()
    try:
        assert (await again.read(lambda tx: tx.get_operator("slow"))).operator_id == "slow"
    finally:
        await again.close()


async def test_journal_is_append_only(store: Any) -> None:
    await seed(store, ["p1"], real=D("10"))
    w = await get_wallet(store, "p1")
    new, e = model.move(w, kind="bet", real=D("-1"), reference="x", now=T0)
    await store.write(lambda tx: tx.save_wallet(new, [e]))

    with pytest.raises(DRIVER_INTEGRITY_ERRORS):
        await store.execute_raw("UPDATE journal SET kind = 'tampered'")
    with pytest.raises(DRIVER_INTEGRITY_ERRORS):
        await store.execute_raw("DELETE FROM journal")
    if isinstance(store, PostgresStore):
        with pytest.raises(DRIVER_INTEGRITY_ERRORS):
            await store.execute_raw("TRUNCATE journal")
    assert_same(e, (await collect(store.journal()))[0])


# --- idempotency records, rounds, limits, free rounds, admin ops ----------------------


def make_tx(**kw: Any) -> TxRecord:
    base: dict[str, Any] = {
        "operator_id": "op1",
        "scope": "game-1",
        "kind": "wager",
        "transaction_id": "t-1",
        "account_id": "p1",
        "round_id": "r-1",
        "amount": BIG,
        "currency": "EUR",
        "outcome": "ok",
        "message": "",
        "wallet_tx": "w-1",
        "real": TINY,
        "bonus": ZERO,
        "state": "applied",
        "created_at": T_IST,
        "extra": "result=12.5",
    }
    base.update(kw)
    return TxRecord(**base)


async def test_tx_records(store: Any) -> None:
    rec = make_tx()
    refused = make_tx(transaction_id="t-2", outcome="OutOfMoney", message="insufficient funds", real=ZERO, amount=TINY)
    await store.write(lambda tx: tx.insert_tx(rec))
    await store.write(lambda tx: tx.insert_tx(refused))

    async def get(tx: Any) -> list[Any]:
        return [
            await tx.get_tx("op1", "game-1", "wager", "t-1"),
            await tx.get_tx("op1", "game-1", "wager", "t-2"),
            await tx.get_tx("op2", "game-1", "wager", "t-1"),
            await tx.get_tx("op1", "game-2", "wager", "t-1"),
            await tx.get_tx("op1", "game-1", "result", "t-1"),
            await tx.get_tx("op1", "game-1", "wager", "T-1"),
        ]

    got = await store.read(get)
    assert_same(rec, got[0])
    assert_same(refused, got[1])
    assert not got[1].ok
    assert got[2:] == [None, None, None, None]

    # the same id in another scope or kind is another record
    await store.write(lambda tx: tx.insert_tx(make_tx(scope="game-2")))
    await store.write(lambda tx: tx.insert_tx(make_tx(kind="result")))
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.insert_tx(make_tx(amount=D("1"))))

    # update_tx_state changes the state and nothing else
    await store.write(lambda tx: tx.update_tx_state(replace(rec, state="rolled_back", message="ignored", amount=ZERO)))
    after = await store.read(lambda tx: tx.get_tx("op1", "game-1", "wager", "t-1"))
    assert_same(replace(rec, state="rolled_back"), after)


async def test_rounds_upsert_and_stream(store: Any) -> None:
    rounds = [
        Round(account_id=acc, game_id="g", round_id="r1", currency="EUR", real_bet=D("1.5"), wagers=1, created_at=T0)
        for acc in MIXED_CASE_ACCOUNTS
    ]
    for r in rounds:
        await store.write(lambda tx, r=r: tx.save_round(r))
    first = rounds[0]
    assert_same(first, await store.read(lambda tx: tx.get_round("b", "g", "r1")))
    assert await store.read(lambda tx: tx.get_round("b", "g", "r2")) is None
    assert await store.read(lambda tx: tx.get_round("b", "G", "r1")) is None

    closed = replace(
        first,
        status="closed",
        real_bet=BIG,
        bonus_bet=TINY,
        real_win=D("3"),
        bonus_win=D("0.25"),
        wagers=2**40,
        results=3,
        closed_at=T_LATE,
        created_at=T_EARLY,  # ignored: set by the first save
        currency="USD",  # ignored as well
    )
    await store.write(lambda tx: tx.save_round(closed))
    expected = replace(closed, created_at=T0, currency="EUR")
    assert_same(expected, await store.read(lambda tx: tx.get_round("b", "g", "r1")))

    # an update of an existing round may leave created_at unset
    reopened = replace(expected, status="open", closed_at=None, created_at=None, results=4)
    await store.write(lambda tx: tx.save_round(reopened))
    assert_same(replace(reopened, created_at=T0), await store.read(lambda tx: tx.get_round("b", "g", "r1")))

    streamed = await collect(store.rounds())
    assert [r.account_id for r in streamed] == ["B", "Z", "a1", "b"]
    for r in streamed:
        assert r.created_at == T0


async def test_limits_free_rounds_admin_ops(store: Any) -> None:
    await seed(store, ["p1"])
    assert await store.read(lambda tx: tx.get_limits("p1")) is None

    empty = Limits(account_id="p1")
    await store.write(lambda tx: tx.save_limits(empty))
    got = await store.read(lambda tx: tx.get_limits("p1"))
    assert_same(empty, got)
    assert not got.any_loss_limit

    full = Limits(account_id="p1", max_bet=BIG, loss_day=TINY, loss_week=ZERO, loss_month=D("1000.5"))
    await store.write(lambda tx: tx.save_limits(full))
    assert_same(full, await store.read(lambda tx: tx.get_limits("p1")))
    partial = replace(full, max_bet=None, loss_week=None)
    await store.write(lambda tx: tx.save_limits(partial))
    assert_same(partial, await store.read(lambda tx: tx.get_limits("p1")))
    with pytest.raises(Conflict):  # unknown player
        await store.write(lambda tx: tx.save_limits(Limits(account_id="nobody")))

    award = FreeRoundAward(frbid="frb-1", account_id="p1", operator_id="op1", pays_into="bonus", created_at=T_IST)
    await store.write(lambda tx: tx.insert_free_rounds(award))
    assert_same(award, await store.read(lambda tx: tx.get_free_rounds("frb-1")))
    assert await store.read(lambda tx: tx.get_free_rounds("frb-2")) is None
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.insert_free_rounds(replace(award, pays_into="real")))

    assert await store.read(lambda tx: tx.get_admin_op("k1")) is None
    await store.write(lambda tx: tx.insert_admin_op("k1", "fp", '{"ok": true, "amount": "1.5"}', T0))
    assert await store.read(lambda tx: tx.get_admin_op("k1")) == ("fp", '{"ok": true, "amount": "1.5"}')
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.insert_admin_op("k1", "fp2", "{}", T0))


# --- concurrency ----------------------------------------------------------------------


async def test_concurrent_debits_never_overdraw(store: Any) -> None:
    await seed(store, ["p1"], real=D("10"))

    async def debit(tx: Any) -> bool:
        await tx.lock_player("p1")
        w = await tx.get_wallet("p1", "EUR")
        try:
            new, e = model.move(w, kind="bet", real=D("-1"), reference="bet", now=T0)
        except OutOfMoney:
            return False
        await tx.save_wallet(new, [e])
        return True

    results = await asyncio.gather(*(store.write(debit) for _ in range(50)))
    assert results.count(True) == 10
    w = await get_wallet(store, "p1")
    assert (w.real, w.seq) == (ZERO, 10)
    journal = await collect(store.journal())
    assert [e.seq for e in journal] == list(range(1, 11))
    prev = model.GENESIS_HASH
    for e in journal:
        assert model.verify_entry(e)
        assert e.prev_hash == prev
        prev = e.hash
    assert w.last_hash == prev


async def test_concurrent_duplicate_tx_record_inserted_once(store: Any) -> None:
    rec = make_tx()

    async def once(tx: Any) -> bool:
        if await tx.get_tx(rec.operator_id, rec.scope, rec.kind, rec.transaction_id) is not None:
            return False
        await tx.insert_tx(rec)
        return True

    results = await asyncio.gather(*(store.write(once) for _ in range(20)))
    assert results.count(True) == 1
    assert_same(rec, await store.read(lambda tx: tx.get_tx("op1", "game-1", "wager", "t-1")))


# --- PostgreSQL only ------------------------------------------------------------------


def test_pg_constructor_validates_and_does_not_connect() -> None:
    dsn = "postgresql://postgres@127.0.0.1:1/none"
    PostgresStore(dsn)  # nothing connects in __init__
    for kw in (
        {"min_size": -1},
        {"min_size": 11, "max_size": 10},
        {"max_size": 0},
        {"connect_timeout": 0},
        {"command_timeout": -1.0},
        {"max_retries": -1},
        {"schema": "bad-name"},
        {"schema": 'x"; DROP TABLE y; --'},
    ):
        with pytest.raises(ValueError):  # noqa: PT011
            PostgresStore(dsn, **kw)
    with pytest.raises(ValueError):  # noqa: PT011
        PostgresStore("sqlite:///x.db")


async def test_pg_unreachable_is_store_unavailable() -> None:
    s = PostgresStore("postgresql://postgres@127.0.0.1:1/none", connect_timeout=1.0)
    with pytest.raises(StoreUnavailable):
        await s.open()
    with pytest.raises(StoreUnavailable):
        await s.write(lambda tx: tx.get_operator("op1"))
    with pytest.raises(StoreUnavailable):
        await s.read(lambda tx: tx.get_operator("op1"))
    with pytest.raises(StoreUnavailable):
        await collect(s.journal())
    assert await s.ping() is False
    await s.close()


@pytest.mark.postgres
async def test_pg_concurrent_migrations_are_safe(pg_dsn: str) -> None:
    schema = pgutil.new_schema_name()
    stores = [PostgresStore(pg_dsn, schema=schema, min_size=1, max_size=2) for _ in range(4)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        assert [await s.schema_version() for s in stores] == [stores[0].latest_version] * 4
        await stores[0].close()
        await stores[0].open()  # idempotent
        assert await stores[0].execute_raw("SELECT 1 FROM schema_migrations") == f"SELECT {stores[0].latest_version}"
    finally:
        for s in stores:
            await s.close()

    conn = await asyncpg.connect(pg_dsn)
    try:
        cols = await conn.fetch(
            "SELECT table_name, column_name, data_type, numeric_precision, numeric_scale"
            " FROM information_schema.columns WHERE table_schema = $1",
            schema,
        )
        money_cols = [c for c in cols if c["data_type"] == "numeric"]
        assert len(money_cols) >= 25  # 22 in versions 1-2, 3 in version 3
        assert all((c["numeric_precision"], c["numeric_scale"]) == (32, 10) for c in money_cols)
        times = [c for c in cols if c["column_name"].endswith(("_at", "_active"))]
        assert len(times) >= 15 + 4  # 15 in versions 1-2, 4 in version 3
        assert all(c["data_type"] == "timestamp with time zone" for c in times)
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.schema_migrations") == len(PG_MIGRATIONS)
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_pg_lost_connection_is_store_unavailable(pg_dsn: str) -> None:
    s = PostgresStore(pg_dsn, schema=pgutil.new_schema_name(), min_size=1, max_size=3)
    await s.open()
    try:
        await seed(s, ["p1"])

        async def unit(tx: Any) -> Any:
            await tx.lock_player("p1")
            # an operator kills every other backend of this database (ours included)
            await s.execute_raw(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return await tx.get_player("p1")

        with pytest.raises(StoreUnavailable):
            await s.write(unit)
        # the pool replaces dead connections; the store recovers
        assert (await s.read(lambda tx: tx.get_player("p1"))) is not None
        assert await s.ping() is True
    finally:
        await s.close()
    assert await s.ping() is False
    with pytest.raises(StoreUnavailable):
        await s.write(lambda tx: tx.get_player("p1"))


@pytest.mark.postgres
async def test_pg_swallowed_driver_error_does_not_commit(pg_dsn: str) -> None:
    s = PostgresStore(pg_dsn, schema=pgutil.new_schema_name(), max_retries=1)
    await s.open()
    try:
        await s.write(lambda tx: tx.insert_operator(make_operator("op1")))
        attempts = 0

        async def unit(tx: Any) -> str:
            nonlocal attempts
            attempts += 1
            await tx.insert_operator(make_operator("op2"))
            with contextlib.suppress(Exception):  # deliberately swallowed
                await tx.insert_operator(make_operator("op1"))
            return "ok"

        with pytest.raises(Conflict):
            await s.write(unit)
        assert attempts == 2  # retried once, then the unique violation became a Conflict
        assert await s.read(lambda tx: tx.get_operator("op2")) is None
    finally:
        await s.close()


@pytest.mark.postgres
async def test_pg_deadlock_is_retried(pg_dsn: str) -> None:
    """Units that break the lock order deadlock; PostgreSQL aborts one, the store re-runs it."""
    s = PostgresStore(pg_dsn, schema=pgutil.new_schema_name(), max_size=4)
    await s.open()
    try:
        await seed(s, ["p1", "p2"])
        both_locked = asyncio.Barrier(2)
        attempts = {"p1": 0, "p2": 0}

        def crossing(first: str, second: str) -> Any:
            async def unit(tx: Any) -> bool:
                attempts[first] += 1
                await tx.lock_player(first)
                if attempts[first] == 1:
                    await both_locked.wait()
                await tx.lock_player(second)
                return True

            return unit

        results = await asyncio.gather(s.write(crossing("p1", "p2")), s.write(crossing("p2", "p1")))
        assert results == [True, True]
        assert sorted(attempts.values()) == [1, 2]
    finally:
        await s.close()


@pytest.mark.postgres
async def test_pg_close_leaves_no_connections(pg_dsn: str) -> None:
    s = PostgresStore(pg_dsn, schema=pgutil.new_schema_name(), min_size=3, max_size=5)
    await s.open()
    await seed(s, ["p1", "p2"])
    assert len(await collect(s.wallets())) == 2
    await s.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        n = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert n == 0
    finally:
        await conn.close()


async def test_touch_player_sets_only_last_active(store: Any) -> None:
    p = make_player("p1", email="a@example.com", created_at=T_EARLY)

    async def insert(tx: Any) -> None:
        await tx.insert_operator(make_operator("op1"))
        await tx.insert_player(p)

    await store.write(insert)
    await store.write(lambda tx: tx.touch_player("p1", T_LATE))
    got = await store.read(lambda tx: tx.get_player("p1"))
    assert_same(replace(p, last_active=T_LATE), got)
    assert (await store.read(lambda tx: tx.get_player_by_email("op1", "a@example.com"))).account_id == "p1"
