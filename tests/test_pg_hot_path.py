"""PostgreSQL hot path: deferred writes, rows read along with others, the pool's reset.

``PostgresTx`` sends a unit's closing writes (wallet + journal, round, transaction record,
last_active) as one statement; the port's loaders read the operator with the player lock
(``lock_player_and_operator``) and a request's records under one id in one statement
(``get_txs``).  These tests pin what must not change: every statement sees the unit's
earlier writes, the checks and error mapping stay, and the service's own requests cost the
statements they should.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from tests import pgutil
from wallet_store import model, money
from wallet_store.errors import Conflict, OutOfMoney, TechnicalError
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
        pool: Any = s._pool
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW application_name") == "groove-wallet"
        # and the store's own units leave the session as they found it
        await s.write(_wager)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW application_name") == "groove-wallet"
            held = (
                "SELECT count(*) FROM pg_locks"
                " WHERE pid = pg_backend_pid() AND locktype NOT IN ('virtualxid', 'relation')"
            )
            assert await conn.fetchval(held) == 0  # no row lock or advisory lock left behind
    finally:
        await s.close()
        await store.open()


async def test_the_services_requests_cost_the_statements_they_should(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted on WalletService itself (not a hand-written unit): a growing loader shows here."""
    from wallet_store.commands import Caller, Result, Rollback, SessionQuery, Wager
    from wallet_store.service import WalletService

    svc = WalletService(store, model.SystemClock())
    session = await svc.open_session("p1", game_id="g1", currency=None, ttl_seconds=600)
    sid = session.session_id
    sent: list[int] = []
    real_run = PostgresTx._run

    def counting(self: PostgresTx, op: Awaitable[Any]) -> Awaitable[Any]:
        sent.append(1)
        return real_run(self, op)

    async def count(call: Awaitable[Any]) -> int:
        sent.clear()
        await call
        return len(sent)

    monkeypatch.setattr(PostgresTx, "_run", counting)
    caller = Caller()
    # getbalance: player, session, operator and wallet in one statement (Tx.load_view)
    assert await count(svc.get_balance(SessionQuery("p1", sid), caller)) == 1
    # wager: load_bet (the player locked, then operator, own record + tombstone, session, wallet,
    # round, limits in the same round trip), the writes
    assert await count(svc.wager(Wager("p1", sid, "g1", "r1", "t1", D("1")), caller)) == 2
    # replay: load_bet
    assert await count(svc.wager(Wager("p1", sid, "g1", "r1", "t1", D("1")), caller)) == 1
    # result: load_settle (player locked, operator, own record, session, round, wallets), the writes
    assert await count(svc.result(Result("p1", sid, "g1", "r1", "r-t1", D("2"), "pending"), caller)) == 2
    # rollback: load_settle (own record + wager + wagerAndResult, ...), the writes (two: the
    # wager's new state and the rollback's record are both in transactions)
    assert await count(svc.wager(Wager("p1", sid, "g1", "r2", "t2", D("1")), caller)) == 2
    assert await count(svc.rollback(Rollback("p1", sid, "g1", "r2", "t2"), caller)) == 3
    # with BEGIN and COMMIT: 4 round trips for a wager, a result or a jackpot, 5 for a rollback


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
