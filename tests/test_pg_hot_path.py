"""PostgreSQL hot path: deferred writes, rows read along with others, the pool's reset.

``PostgresTx`` sends a unit's closing writes (wallet + journal, round, transaction record,
last_active) with its COMMIT as one simple-query message (prepared statements, literal
values); the port's loaders read the operator with the player lock
(``lock_player_and_operator``) and a request's records under one id in one statement
(``get_txs``).  These tests pin what must not change: every statement sees the unit's
earlier writes, the checks and error mapping stay, and the service's own requests cost the
statements they should.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from tests import pgutil
from wallet_store import model, money
from wallet_store.errors import Conflict, OutOfMoney, StoreUnavailable, TechnicalError
from wallet_store.model import Operator, Player, Round, TxRecord, Wallet
from wallet_store.ports import BetQuery
from wallet_store.postgres.store import PostgresStore, PostgresTx

pytestmark = pytest.mark.postgres

D = money.parse
T0 = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)


@pytest_asyncio.fixture
async def store() -> AsyncIterator[PostgresStore]:
    dsn = await pgutil.create_run_database()
    s = PostgresStore(dsn, schema=pgutil.new_schema_name(), max_size=4)
    try:
        await s.open()
        await s.write(_seed)
        yield s
    finally:
        await s.close()
        await pgutil.drop_database(dsn)


async def _seed(tx: Any) -> None:
    await tx.insert_operator(Operator(operator_id="op1", name="Op", currency="EUR", created_at=T0))
    for acc in ("p1", "p2"):
        await tx.insert_player(
            Player(
                account_id=acc,
                operator_id="op1",
                name="P",
                email=None,
                country="MT",
                city="Valletta",
                currency="EUR",
                status="active",
                created_at=T0,
            )
        )
        w = Wallet(account_id=acc, currency="EUR")
        await tx.insert_wallet(w)
        w2, e = model.move(w, kind="adjust", real=D("10"), reference="seed", now=T0)
        await tx.save_wallet(w2, [e])


def _rec(**kw: Any) -> TxRecord:
    base: dict[str, Any] = {
        "operator_id": "op1",
        "scope": "g1",
        "kind": "wager",
        "transaction_id": "t1",
        "account_id": "p1",
        "round_id": "r1",
        "amount": D("1"),
        "currency": "EUR",
        "outcome": "ok",
        "message": "",
        "wallet_tx": "w1",
        "real": D("1"),
        "bonus": money.ZERO,
        "state": "applied",
        "created_at": T0,
    }
    base.update(kw)
    return TxRecord(**base)


async def _wager(tx: Any, account: str = "p1", tid: str = "t1", amount: str = "1") -> Wallet:
    """The statements of a service wager, in its order."""
    player, op = await tx.lock_player_and_operator(account)
    assert player.account_id == account
    assert op.operator_id == "op1"
    assert await tx.get_txs("op1", "g1", tid, ("wager", "rollback")) == {}
    w = await tx.get_wallet(account, "EUR")
    rnd = await tx.get_round(account, "g1", "r-" + tid) or Round(account, "g1", "r-" + tid, "EUR", created_at=T0)
    w2, e = model.move(w, kind="wager", real=-D(amount), reference=f"wager:{tid}", now=T0)
    await tx.save_wallet(w2, [e])
    await tx.save_round(replace(rnd, real_bet=D(amount), wagers=1))
    await tx.insert_tx(_rec(transaction_id=tid, account_id=account, round_id="r-" + tid, amount=D(amount)))
    await tx.touch_player(account, T0)
    return w2


async def test_wager_shaped_unit_statements(store: PostgresStore, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[int] = []
    real_run = PostgresTx._run

    def counting(self: PostgresTx, op: Awaitable[Any]) -> Awaitable[Any]:
        sent.append(1)
        return real_run(self, op)

    monkeypatch.setattr(PostgresTx, "_run", counting)
    w = await store.write(_wager)
    # lock_player_and_operator, get_txs (own record + tombstone), get_wallet, get_round, the 4 writes as one
    assert len(sent) == 5
    monkeypatch.undo()

    async def check(tx: Any) -> None:
        assert await tx.get_wallet("p1", "EUR") == w
        assert (await tx.get_round("p1", "g1", "r-t1")).wagers == 1
        assert (await tx.get_tx("op1", "g1", "wager", "t1")).amount == D("1")
        assert (await tx.get_player("p1")).last_active == T0
        assert [e.seq for e in await tx.list_journal("p1", "EUR")] == [1, 2]

    await store.read(check)


async def test_every_statement_sees_the_units_earlier_writes(store: PostgresStore) -> None:
    async def unit(tx: Any) -> None:
        await tx.lock_player_and_operator("p1")
        assert await tx.get_txs("op1", "g1", "t1", ("wager", "rollback")) == {}
        await tx.insert_tx(_rec(kind="rollback"))
        assert set(await tx.get_txs("op1", "g1", "t1", ("wager", "rollback"))) == {"rollback"}
        w = await tx.get_wallet("p1", "EUR")
        w2, e = model.move(w, kind="wager", real=-D("1"), reference="x", now=T0)
        await tx.save_wallet(w2, [e])
        assert await tx.get_wallet("p1", "EUR") == w2
        await tx.save_round(Round("p1", "g1", "r1", "EUR", created_at=T0, wagers=1))
        await tx.save_round(Round("p1", "g1", "r1", "EUR", created_at=T0, wagers=2))  # same table: sent in turn
        assert (await tx.get_round("p1", "g1", "r1")).wagers == 2
        await tx.update_operator(Operator(operator_id="op1", name="Renamed", currency="EUR", created_at=T0))
        assert (await tx.get_operator("op1")).name == "Renamed"

    await store.write(unit)


async def _stale_wallet(store: PostgresStore) -> Wallet:
    """p1's wallet as read before a wager (t1) moved it on: saving from it must fail."""
    stale: Wallet = await store.read(lambda tx: tx.get_wallet("p1", "EUR"))
    await store.write(lambda tx: _wager(tx, tid="t1"))
    return stale


async def _stale_debit(tx: Any, stale: Wallet, tid: str) -> None:
    """A wager built on the stale wallet: its save_wallet's seq check fails when sent."""
    await tx.lock_player("p1")
    w2, e = model.move(stale, kind="wager", real=-D("1"), reference="x", now=T0)
    await tx.save_wallet(w2, [e])
    await tx.insert_tx(_rec(transaction_id=tid))


async def _seq_and_record(store: PostgresStore, tid: str) -> tuple[int, Any]:
    async def state(tx: Any) -> tuple[int, Any]:
        return (await tx.get_wallet("p1", "EUR")).seq, await tx.get_tx("op1", "g1", "wager", tid)

    return await store.read(state)


async def test_checks_of_deferred_writes_stay(store: PostgresStore) -> None:
    stale = await _stale_wallet(store)

    async def stale_wager(tx: Any) -> None:
        await _stale_debit(tx, stale, "t2")
        await tx.touch_player("p1", T0)

    with pytest.raises(TechnicalError, match="wallet changed"):
        await store.write(stale_wager)
    with pytest.raises(TechnicalError, match="without created_at"):
        await store.write(lambda tx: tx.save_round(Round("p1", "g1", "new", "EUR", created_at=None)))

    assert await _seq_and_record(store, "t2") == (2, None)  # nothing of the failed units was written


async def test_a_failed_check_is_never_committed_even_if_the_unit_catches_it(store: PostgresStore) -> None:
    """The seq check fails at the statement that sends the queue, after the other parts of
    that statement ran: catching it in the unit must not let the transaction commit."""
    stale = await _stale_wallet(store)

    async def swallowing(tx: Any) -> str:
        await _stale_debit(tx, stale, "t3")
        try:
            await tx.get_wallet("p1", "EUR")
        except TechnicalError:
            return "swallowed"
        return "not reached"

    with pytest.raises(TechnicalError, match="wallet changed"):
        await store.write(swallowing)

    assert await _seq_and_record(store, "t3") == (2, None)


async def test_driver_error_of_a_deferred_write_wins_over_the_units_exception(store: PostgresStore) -> None:
    await store.write(lambda tx: tx.insert_tx(_rec()))
    attempts = 0

    async def unit(tx: Any) -> None:
        nonlocal attempts
        attempts += 1
        await tx.insert_tx(_rec())  # duplicate key: would have raised right here
        raise OutOfMoney("after the write")

    with pytest.raises(Conflict):  # the unique violation, retried, then Conflict -- as before
        await store.write(unit)
    assert attempts == store._max_retries + 1


async def test_concurrent_wagers_of_one_player_serialize(store: PostgresStore) -> None:
    async def wager(i: int) -> None:
        async def unit(tx: Any) -> Wallet:
            w: Wallet = await _wager(tx, tid=f"c{i}", amount="0.5")
            return w

        await store.write(unit)

    await asyncio.gather(*(wager(i) for i in range(8)))
    w = await store.read(lambda tx: tx.get_wallet("p1", "EUR"))
    assert (w.seq, w.real) == (9, D("6"))


async def test_multi_entry_save_wallet(store: PostgresStore) -> None:
    async def unit(tx: Any) -> Wallet:
        await tx.lock_player("p2")
        w: Wallet = await tx.get_wallet("p2", "EUR")
        entries = []
        for i in range(3):
            w, e = model.move(w, kind="wager", real=-D("0.1"), bonus=Decimal(0), reference=f"m{i}", now=T0)
            entries.append(e)
        await tx.save_wallet(w, entries)
        return w

    w = await store.write(unit)
    journal = await store.read(lambda tx: tx.list_journal("p2", "EUR"))
    assert [e.seq for e in journal] == [1, 2, 3, 4]
    assert journal[-1].hash == w.last_hash
    assert journal[-1].real_after == D("9.7")


async def test_execute_raw_still_resets_the_session(store: PostgresStore) -> None:
    await store.close()
    s = PostgresStore(store.dsn, schema=store.schema, min_size=1, max_size=1)
    await s.open()
    try:
        await s.execute_raw("SET application_name = 'changed'")
        async with s._checkout() as conn:
            assert await conn.fetchval("SHOW application_name") == "groove-wallet"
        # and the store's own units leave the session as they found it
        await s.write(_wager)
        async with s._checkout() as conn:
            assert await conn.fetchval("SHOW application_name") == "groove-wallet"
            held = (
                "SELECT count(*) FROM pg_locks"
                " WHERE pid = pg_backend_pid() AND locktype NOT IN ('virtualxid', 'relation')"
            )
            assert await conn.fetchval(held) == 0  # no row lock or advisory lock left behind
    finally:
        await s.close()
        await store.open()


def _count_round_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every message asyncpg sends for a statement, from now on (appended to the list returned):
    a simple query (``execute`` without arguments: BEGIN, COMMIT, the closing message) or an
    extended-protocol statement (``fetch``/``fetchrow``/``fetchval``/``execute`` with arguments,
    ``executemany``), one round trip each once the statement is in asyncpg's cache."""
    sent: list[str] = []
    real_execute = asyncpg.Connection.execute
    real_execute_ext = asyncpg.Connection._execute
    real_executemany = asyncpg.Connection._executemany

    def execute(self: Any, query: str, *args: Any, timeout: float | None = None) -> Awaitable[Any]:
        if not args:
            sent.append(query)
        return real_execute(self, query, *args, timeout=timeout)

    def execute_ext(self: Any, query: str, *args: Any, **kw: Any) -> Awaitable[Any]:
        sent.append(query)
        return real_execute_ext(self, query, *args, **kw)

    def executemany(self: Any, query: str, *args: Any, **kw: Any) -> Awaitable[Any]:
        sent.append(query)
        return real_executemany(self, query, *args, **kw)

    monkeypatch.setattr(asyncpg.Connection, "execute", execute)
    monkeypatch.setattr(asyncpg.Connection, "_execute", execute_ext)
    monkeypatch.setattr(asyncpg.Connection, "_executemany", executemany)
    return sent


async def test_the_services_requests_cost_the_round_trips_they_should(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted on WalletService itself (not a hand-written unit), every message to the server
    including BEGIN and COMMIT: a growing loader or a COMMIT apart from the writes shows here."""
    from wallet_store.commands import Caller, Result, Rollback, SessionQuery, Wager
    from wallet_store.service import WalletService

    svc = WalletService(store, model.SystemClock())
    session = await svc.open_session("p1", game_id="g1", currency=None, ttl_seconds=600)
    sid = session.session_id
    sent = _count_round_trips(monkeypatch)

    async def count(call: Awaitable[Any]) -> list[str]:
        sent.clear()
        await call
        return [q.split(None, 1)[0].rstrip(";") for q in sent]

    caller = Caller()
    # getbalance (a read unit): BEGIN, player + session + operator + wallet in one statement
    # (Tx.load_view), COMMIT
    assert await count(svc.get_balance(SessionQuery("p1", sid), caller)) == ["BEGIN", "SELECT", "COMMIT"]
    # wager: BEGIN, load_bet (the player locked, then operator, own record + tombstone, session,
    # wallet, round, limits in the same round trip), the writes with COMMIT in one message
    assert await count(svc.wager(Wager("p1", sid, "g1", "r1", "t1", D("1")), caller)) == ["BEGIN", "SELECT", "EXECUTE"]
    assert sent[-1].endswith(";COMMIT")
    # replay: BEGIN, load_bet, COMMIT (nothing to write)
    assert await count(svc.wager(Wager("p1", sid, "g1", "r1", "t1", D("1")), caller)) == ["BEGIN", "SELECT", "COMMIT"]
    # result: BEGIN, load_settle (player locked, operator, own record, session, round, wallets),
    # the writes with COMMIT
    result = Result("p1", sid, "g1", "r1", "r-t1", D("2"), "pending")
    assert await count(svc.result(result, caller)) == ["BEGIN", "SELECT", "EXECUTE"]
    assert sent[-1].endswith(";COMMIT")
    # rollback: BEGIN, load_settle (own record + wager + wagerAndResult, ...), the writes (the
    # wager's new state and the rollback's record, both in transactions, one after the other)
    # with COMMIT
    assert len(await count(svc.wager(Wager("p1", sid, "g1", "r2", "t2", D("1")), caller))) == 3
    assert await count(svc.rollback(Rollback("p1", sid, "g1", "r2", "t2"), caller)) == ["BEGIN", "SELECT", "EXECUTE"]
    assert sent[-1].count("EXECUTE gw_w_") >= 2
    assert sent[-1].endswith(";COMMIT")


async def test_load_bet_after_waiting_for_the_lock_sees_what_the_holder_committed(store: PostgresStore) -> None:
    """One round trip, yet every read after the lock: a load that waited for the player lock
    sees the holder's wallet, record and round (one statement's snapshot would predate the
    wait: the reason load_bet is a VOLATILE function, a new snapshot per statement)."""
    holding = asyncio.Event()
    release = asyncio.Event()

    async def holder(tx: Any) -> None:
        await _wager(tx, tid="t1")
        holding.set()
        await release.wait()

    async def waiter(tx: Any) -> Any:
        return await tx.load_bet(BetQuery("p1", "g1", "r-t1", "t1", ("wager", "rollback"), "none", None))

    first = asyncio.ensure_future(store.write(holder))
    await holding.wait()
    second = asyncio.ensure_future(store.write(waiter))
    await asyncio.sleep(0.2)
    assert not second.done()  # waiting for the lock
    release.set()
    await first
    rows = await second
    assert rows.player.account_id == "p1"
    assert rows.operator.operator_id == "op1"
    assert set(rows.records) == {"wager"}
    assert rows.records["wager"].amount == D("1")
    assert rows.wallet.real == D("9")
    assert rows.wallet.seq == 2
    assert rows.round.wagers == 1
    assert rows.session is None


async def test_load_bet_loads_the_rows_the_point_reads_load(store: PostgresStore) -> None:
    from wallet_store.loads import load_bet_by_reads

    await store.write(_wager)
    for args in (
        ("p1", "g1", "r-t1", "t1", ("wager", "rollback"), "none", None),
        ("p1", "g1", "r-t2", "t2", ("wager", "rollback"), "none", None),
        ("nobody", "g1", "r-t1", "t1", ("wager",), "none", None),
    ):
        one = await store.write(lambda tx, a=args: tx.load_bet(BetQuery(*a)))
        composed = await store.write(lambda tx, a=args: load_bet_by_reads(tx, BetQuery(*a)))
        assert one.player == composed.player
        assert one.operator == composed.operator
        assert dict(one.records) == dict(composed.records)
        assert one.wallet == composed.wallet


# --- the closing message: writes and COMMIT in one simple query --------------------------------


T_MARK = datetime(2030, 1, 1, tzinfo=UTC)  # last_active written by a unit that must not commit


@pytest_asyncio.fixture
async def one_conn(store: PostgresStore) -> AsyncIterator[PostgresStore]:
    """The same database through a pool of ONE connection: what a failed unit leaves behind is
    what the next unit gets."""
    s = PostgresStore(store.dsn, schema=store.schema, min_size=1, max_size=1, max_retries=0)
    # asyncpg's pool rolls back a transaction left open on release, reporting it to the loop's
    # exception handler: the store must have ended every transaction itself.
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(str(context.get("message"))))
    await s.open()
    try:
        yield s
    finally:
        await s.close()
        loop.set_exception_handler(previous)
    assert reported == []


async def _session_is_clean(s: PostgresStore) -> None:
    async with s._checkout() as conn:
        assert not conn.is_in_transaction()
        held = (
            "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype NOT IN ('virtualxid', 'relation')"
        )
        assert await conn.fetchval(held) == 0
        assert await conn.fetchval("SHOW standard_conforming_strings") == "on"
    # and a unit runs on it, the player's lock free
    before = await s.read(lambda tx: tx.get_wallet("p1", "EUR"))
    w = await s.write(lambda tx: _wager(tx, tid=f"after-{before.seq}"))
    assert w.seq == before.seq + 1


async def _last_active(s: PostgresStore) -> Any:
    return (await s.read(lambda tx: tx.get_player("p1"))).last_active


async def test_a_commit_answered_rollback_is_never_acknowledged(one_conn: PostgresStore) -> None:
    """The transaction aborted behind the Tx's back (a statement it did not send): PostgreSQL
    answers ROLLBACK to the COMMIT, which must fail the unit."""

    async def aborted(tx: Any, queue: bool) -> str:
        await tx.lock_player("p1")
        if queue:
            await tx.touch_player("p1", T_MARK)
        with contextlib.suppress(asyncpg.DivisionByZeroError):
            await tx._c.execute("SELECT 1/0")  # not through the Tx: tx.failed stays None
        return "acknowledged"

    with pytest.raises(StoreUnavailable, match="COMMIT answered 'ROLLBACK'"):
        await one_conn.write(lambda tx: aborted(tx, False))
    await _session_is_clean(one_conn)
    with pytest.raises(StoreUnavailable):  # the writes are refused by the aborted transaction
        await one_conn.write(lambda tx: aborted(tx, True))
    assert await _last_active(one_conn) != T_MARK
    await _session_is_clean(one_conn)


async def test_a_failed_write_in_the_closing_message_rolls_back_the_whole_unit(one_conn: PostgresStore) -> None:
    await one_conn.write(lambda tx: tx.insert_tx(_rec(transaction_id="dup")))

    async def unit(tx: Any) -> None:
        await tx.lock_player("p1")
        await tx.touch_player("p1", T_MARK)  # before the failing write, in the same message
        await tx.insert_tx(_rec(transaction_id="dup"))  # unique violation
        await tx.insert_tx(_rec(transaction_id="after-dup"))  # after it: skipped

    with pytest.raises(Conflict):  # max_retries=0: the unique violation is a Conflict at once
        await one_conn.write(unit)
    assert await _last_active(one_conn) != T_MARK
    assert await one_conn.read(lambda tx: tx.get_tx("op1", "g1", "wager", "after-dup")) is None
    await _session_is_clean(one_conn)


async def test_a_failed_check_in_the_closing_message_rolls_back_the_whole_unit(one_conn: PostgresStore) -> None:
    stale = await _stale_wallet(one_conn)

    async def unit(tx: Any) -> None:
        await tx.touch_player("p1", T_MARK)
        await _stale_debit(tx, stale, "t9")  # the check fails in the message, the record after it skipped

    with pytest.raises(TechnicalError, match="wallet changed"):
        await one_conn.write(unit)
    assert await _seq_and_record(one_conn, "t9") == (2, None)
    assert await _last_active(one_conn) != T_MARK
    await _session_is_clean(one_conn)


async def test_drop_refusal_check_stays(one_conn: PostgresStore) -> None:
    with pytest.raises(TechnicalError, match="refusal to replace"):
        await one_conn.write(lambda tx: tx.drop_refusal(_rec(transaction_id="none", state="refused")))
    await _session_is_clean(one_conn)


async def test_literals_are_not_sent_without_standard_conforming_strings(one_conn: PostgresStore) -> None:
    async def unit(tx: Any) -> None:
        await tx.lock_player("p1")
        await tx._c.execute("SET LOCAL standard_conforming_strings = off")
        await tx.insert_tx(_rec(transaction_id="t-scs", message="\\'; DELETE FROM wallets; --"))

    with pytest.raises(StoreUnavailable, match="standard_conforming_strings"):
        await one_conn.write(unit)
    assert await one_conn.read(lambda tx: tx.get_tx("op1", "g1", "wager", "t-scs")) is None
    await _session_is_clean(one_conn)
    # a session changed behind the store's back is reset to the connection's "on" (RESET ALL)
    await one_conn.execute_raw("SET standard_conforming_strings = off")
    await _session_is_clean(one_conn)


async def test_a_cancelled_unit_leaves_the_session_clean(one_conn: PostgresStore) -> None:
    inside = asyncio.Event()

    async def unit(tx: Any) -> None:
        await tx.lock_player("p1")
        await tx.touch_player("p1", T_MARK)
        inside.set()
        await asyncio.sleep(30)

    task = asyncio.ensure_future(one_conn.write(unit))
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _last_active(one_conn) != T_MARK
    await _session_is_clean(one_conn)


# --- the store's connection hand-out (clean connections kept for the next unit) ---------------


async def _backend_pid(tx: Any) -> int:
    return int((await tx._one("SELECT pg_backend_pid()"))[0])


async def test_a_clean_unit_leaves_its_connection_for_the_next(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = PostgresStore(store.dsn, schema=store.schema, min_size=1, max_size=2)
    await s.open()
    try:
        released: list[Any] = []
        real_release = asyncpg.pool.Pool.release

        async def counting_release(pool: Any, conn: Any, **kw: Any) -> Any:
            released.append(conn)
            return await real_release(pool, conn, **kw)

        monkeypatch.setattr(asyncpg.pool.Pool, "release", counting_release)
        first = await s.write(_backend_pid)
        await s.write(_wager)
        assert await s.read(_backend_pid) == first  # the same session, not through the pool
        assert released == []
        # a unit that fails goes back through the pool (asyncpg's release: rollback, cleanup)
        with pytest.raises(RuntimeError):
            await s.write(lambda tx: _raise_after(tx, RuntimeError("unit failed")))
        assert len(released) == 1
        assert s._idle == []
    finally:
        await s.close()  # and close() does not wait for the connections kept idle


async def _raise_after(tx: Any, exc: BaseException) -> None:
    await tx.get_player("p1")
    raise exc


async def test_a_kept_connection_killed_while_idle_is_replaced(store: PostgresStore) -> None:
    s = PostgresStore(store.dsn, schema=store.schema, min_size=1, max_size=1)
    await s.open()
    try:
        pid = await s.write(_backend_pid)
        assert len(s._idle) == 1
        await store.execute_raw("SELECT pg_terminate_backend($1)", pid)
        for _ in range(50):  # asyncpg notices the lost connection (and detaches the proxy)
            with contextlib.suppress(asyncpg.InterfaceError):
                if not s._idle[0].is_closed():
                    await asyncio.sleep(0.02)
                    continue
            break
        assert await s.write(_backend_pid) != pid
        w = await s.write(lambda tx: _wager(tx, tid="after-kill"))
        assert w is not None
        assert await s.ping()
    finally:
        await s.close()


async def test_units_waiting_for_the_pool_get_the_kept_connections(store: PostgresStore) -> None:
    """One connection, many units at once: each finished unit hands its connection to a waiter
    (through the pool), none is starved by a connection kept idle; ping and streams too."""
    s = PostgresStore(store.dsn, schema=store.schema, min_size=1, max_size=1, connect_timeout=5)
    await s.open()
    try:
        before = await s.read(lambda tx: tx.get_wallet("p1", "EUR"))
        units = (s.write(lambda tx, i=i: _wager(tx, tid=f"many-{i}", amount="0.01")) for i in range(12))
        results = await asyncio.gather(*units)
        assert len(results) == 12
        after = await s.read(lambda tx: tx.get_wallet("p1", "EUR"))
        assert after.seq == before.seq + 12
        assert len(s._idle) == 1
        assert await s.ping()
        assert [e async for e in s.journal("p1")][-1].seq == after.seq
        assert await s.ping()
    finally:
        await s.close()


async def test_waiters_time_out_or_are_cancelled_without_losing_a_connection(store: PostgresStore) -> None:
    """Every connection busy: a waiter gives up after connect_timeout (StoreUnavailable, as the
    pool's own timeout), a cancelled waiter leaves nothing behind, and the connection a unit
    hands back (clean or not) still reaches the next one."""
    s = PostgresStore(store.dsn, schema=store.schema, min_size=1, max_size=1, connect_timeout=0.3, max_retries=0)
    await s.open()
    try:
        held = asyncio.Event()
        go = asyncio.Event()

        async def holding(tx: Any) -> None:
            await tx.get_player("p1")
            held.set()
            await go.wait()

        holder = asyncio.create_task(s.write(holding))
        await held.wait()
        with pytest.raises(StoreUnavailable):
            await s.read(lambda tx: tx.get_player("p1"))  # timed out waiting
        cancelled = [asyncio.create_task(s.read(lambda tx: tx.get_player("p1"))) for _ in range(3)]
        waiting = asyncio.create_task(s.read(lambda tx: tx.get_player("p2")))
        await asyncio.sleep(0.05)
        for t in cancelled:
            t.cancel()
        go.set()
        await holder
        assert (await waiting).account_id == "p2"  # the held connection, handed over
        assert s._slots == 1
        assert len(s._idle) == 1
        # an unclean end (the unit raised): the slot goes through the pool to the next waiter
        with pytest.raises(RuntimeError):
            await s.write(lambda tx: _raise_after(tx, RuntimeError("unit failed")))
        results = await asyncio.gather(*(s.read(lambda tx: tx.get_player("p1")) for _ in range(5)))
        assert len(results) == 5
        assert s._slots == 1
        assert await s.ping()
    finally:
        await s.close()
