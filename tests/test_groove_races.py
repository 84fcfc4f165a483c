"""Concurrency on the /groove money path: requests fired at the same moment over real HTTP.

No sleeps: ``asyncio.gather`` puts every request in flight before any answer is read.  After
each race the journal is read back and ``run_audit`` must pass on a store opened on the
test's database.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import Api
from wallet_store.audit import run_audit
from wallet_store.model import JournalEntry

ACCT = "5179068"
GAME = "80102"
DUP = "Success - duplicate request"


async def audit_and_journal(make_store: Any, account: str = ACCT) -> list[JournalEntry]:
    """Run the audit on a fresh store over the test's database; return the account's journal."""
    store = make_store()
    await store.open()
    try:
        report = await run_audit(store)
        entries = [e async for e in store.journal(account)]
    finally:
        await store.close()
    assert report.ok, report.text()
    for e in entries:
        assert e.real_after >= 0
        assert e.bonus_after >= 0
    return entries


def wager(seeded: dict[str, str], tx: str, amount: str, rnd: str = "r1") -> dict[str, str]:
    return {**seeded, "gameid": GAME, "roundid": rnd, "transactionid": tx, "betamount": amount}


async def test_200_copies_of_one_wager_debit_once(api: Api, seeded: dict[str, str], make_store: Any) -> None:
    params = wager(seeded, "t1", "12.3456789012")
    replies = await asyncio.gather(*(api.groove("wager", **params) for _ in range(200)))
    assert len(replies) == 200
    assert all(r["code"] == 200 for r in replies), [r for r in replies if r["code"] != 200][:3]
    ids = {r["accounttransactionid"] for r in replies}
    assert len(ids) == 1
    statuses = [r["status"] for r in replies]
    assert statuses.count("Success") == 1
    assert statuses.count(DUP) == 199
    for r in replies:
        assert (r["realmoneybet"], r["bonusmoneybet"]) == (Decimal("12.3456789012"), 0)
    assert await api.balances(ACCT) == (Decimal("87.6543210988"), Decimal("50"))
    entries = await audit_and_journal(make_store)
    assert [e.kind for e in entries] == ["initial", "wager"]
    assert entries[-1].real_delta == Decimal("-12.3456789012")


async def test_50_different_wagers_with_funds_for_10(api: Api, seeded: dict[str, str], make_store: Any) -> None:
    # 150 spendable (100 real + 50 bonus) = exactly 10 bets of 15
    replies = await asyncio.gather(*(api.groove("wager", **wager(seeded, f"t{i}", "15", f"r{i}")) for i in range(50)))
    codes = [r["code"] for r in replies]
    assert codes.count(200) == 10, codes
    assert codes.count(1006) == 40, codes
    for r in replies:
        if r["code"] == 200:
            assert r["status"] == "Success"
            assert r["realmoneybet"] + r["bonusmoneybet"] == Decimal("15")
            assert r["real_balance"] >= 0
            assert r["bonus_balance"] >= 0
        else:
            assert r["status"] == "Out of money"
    assert sum(r["realmoneybet"] for r in replies if r["code"] == 200) == Decimal("100")
    assert sum(r["bonusmoneybet"] for r in replies if r["code"] == 200) == Decimal("50")
    assert await api.balances(ACCT) == (Decimal("0"), Decimal("0"))
    entries = await audit_and_journal(make_store)
    assert [e.kind for e in entries].count("wager") == 10
    assert (entries[-1].real_after, entries[-1].bonus_after) == (0, 0)


async def test_concurrent_replays_and_new_wagers_mixed(api: Api, seeded: dict[str, str], make_store: Any) -> None:
    """20 distinct wagers of 5, each sent 10 times, all at once: 20 debits, 180 duplicates."""
    calls = [api.groove("wager", **wager(seeded, f"t{i}", "5", f"r{i}")) for _ in range(10) for i in range(20)]
    replies = await asyncio.gather(*calls)
    assert all(r["code"] == 200 for r in replies)
    by_tx: dict[int, set[str]] = {}
    for n, r in enumerate(replies):
        by_tx.setdefault(n % 20, set()).add(r["accounttransactionid"])
    assert all(len(v) == 1 for v in by_tx.values())
    assert [r["status"] for r in replies].count("Success") == 20
    assert await api.balances(ACCT) == (Decimal("0"), Decimal("50"))
    entries = await audit_and_journal(make_store)
    assert [e.kind for e in entries].count("wager") == 20


async def test_concurrent_wager_and_rollback_of_one_transaction(
    api: Api, seeded: dict[str, str], make_store: Any
) -> None:
    """Money moves at most once per pair, and the outcome pairs are consistent."""
    pairs = 25
    calls = []
    for i in range(pairs):
        w = api.groove("wager", **wager(seeded, f"t{i}", "4", f"r{i}"))
        rb = api.groove("rollback", **{**seeded, "gameid": GAME, "roundid": f"r{i}", "transactionid": f"t{i}"})
        calls += [w, rb] if i % 2 == 0 else [rb, w]
    replies = await asyncio.gather(*calls)
    debited_and_refunded = 0
    for i in range(pairs):
        a, b = replies[2 * i], replies[2 * i + 1]
        w, rb = (a, b) if i % 2 == 0 else (b, a)
        if w["code"] == 200:
            # the wager came first: the rollback refunded it
            assert rb["code"] == 200, (w, rb)
            debited_and_refunded += 1
        else:
            # the rollback came first: tombstone, and the wager never debits
            assert w["code"] == 409, (w, rb)
            assert rb["code"] == 102, (w, rb)
    # either way the wallet is back where it started
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("50"))
    entries = await audit_and_journal(make_store)
    kinds = [e.kind for e in entries]
    assert kinds.count("wager") == debited_and_refunded
    assert kinds.count("rollback") == debited_and_refunded
    # and a late repeat of any of them changes nothing
    again = await asyncio.gather(*(api.groove("wager", **wager(seeded, f"t{i}", "4", f"r{i}")) for i in range(pairs)))
    # each wager's repeat gives its first answer: 200 (replay) if it debited, else 409
    firsts = [replies[2 * i] if i % 2 == 0 else replies[2 * i + 1] for i in range(pairs)]
    assert [r["code"] for r in again] == [w["code"] for w in firsts]
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("50"))


async def test_concurrent_results_on_one_round_only_one_completes(
    api: Api, seeded: dict[str, str], make_store: Any
) -> None:
    first = await api.groove("wager", **wager(seeded, "t1", "10"))
    assert first["code"] == 200
    res = {**seeded, "gameid": GAME, "roundid": "r1", "result": "7", "gamestatus": "completed"}
    calls = [api.groove("result", **res, transactionid=f"res{i}") for i in range(30)]
    replies = await asyncio.gather(*calls)
    codes = [r["code"] for r in replies]
    assert codes.count(200) == 1, codes
    assert codes.count(409) == 29, codes
    assert await api.balances(ACCT) == (Decimal("97"), Decimal("50"))
    await audit_and_journal(make_store)


async def test_concurrent_wagers_on_two_accounts_are_independent(
    api: Api, seeded: dict[str, str], make_store: Any
) -> None:
    await api.player("7000001", real="30", bonus="0", email="o@example.com")
    sid = await api.session("7000001")
    other = {**seeded, "accountid": "7000001", "gamesessionid": sid}
    calls = []
    for i in range(40):
        calls.append(api.groove("wager", **wager(seeded, f"a{i}", "5", f"r{i}")))
        calls.append(api.groove("wager", **wager(other, f"b{i}", "5", f"r{i}")))
    replies = await asyncio.gather(*calls)
    mine = [r["code"] for r in replies[0::2]]
    theirs = [r["code"] for r in replies[1::2]]
    assert mine.count(200) == 30, mine
    assert theirs.count(200) == 6, theirs
    assert await api.balances(ACCT) == (Decimal("0"), Decimal("0"))
    assert await api.balances("7000001") == (Decimal("0"), Decimal("0"))
    await audit_and_journal(make_store)


async def test_concurrent_result_and_rollback_of_one_round(api: Api, seeded: dict[str, str], make_store: Any) -> None:
    """Either the result settles the round (rollback 110) or the rollback refunds it (result 102)."""
    pairs = 25
    for i in range(pairs):
        assert (await api.groove("wager", **wager(seeded, f"t{i}", "4", f"r{i}")))["code"] == 200
    assert await api.balances(ACCT) == (Decimal("0"), Decimal("50"))
    calls = []
    for i in range(pairs):
        common = {**seeded, "gameid": GAME, "roundid": f"r{i}"}
        res = api.groove("result", **common, transactionid=f"res{i}", result="10", gamestatus="completed")
        rb = api.groove("rollback", **common, transactionid=f"t{i}")
        calls += [res, rb] if i % 2 == 0 else [rb, res]
    replies = await asyncio.gather(*calls)
    real = Decimal("0")
    for i in range(pairs):
        a, b = replies[2 * i], replies[2 * i + 1]
        res, rb = (a, b) if i % 2 == 0 else (b, a)
        if res["code"] == 200:
            assert rb["code"] == 110, (res, rb)
            real += Decimal("10")
        else:
            assert (res["code"], rb["code"]) == (102, 200), (res, rb)
            real += Decimal("4")
    assert await api.balances(ACCT) == (real, Decimal("50"))
    await audit_and_journal(make_store)


# each money request kind: (setup requests, the request raced 50 times, expected (real, bonus) after)
KIND_RACES: dict[str, tuple[list[tuple[str, dict[str, str]]], tuple[str, dict[str, str]], tuple[str, str]]] = {
    "result": (
        [("wager", {"roundid": "r1", "transactionid": "t1", "betamount": "120"})],
        ("result", {"roundid": "r1", "transactionid": "res1", "result": "60", "gamestatus": "completed"}),
        ("50", "40"),
    ),
    "wagerAndResult": (
        [],
        (
            "wagerAndResult",
            {"roundid": "r1", "transactionid": "wr1", "betamount": "10", "result": "3", "gamestatus": "pending"},
        ),
        ("93", "50"),
    ),
    "rollback": (
        [("wager", {"roundid": "r1", "transactionid": "t1", "betamount": "120"})],
        ("rollback", {"roundid": "r1", "transactionid": "t1"}),
        ("100", "50"),
    ),
    "jackpot": (
        [],
        ("jackpot", {"roundid": "j1", "transactionid": "j1", "amount": "77.7", "gamestatus": "completed"}),
        ("177.7", "50"),
    ),
    "reversewin": (
        [
            ("wager", {"roundid": "r1", "transactionid": "t1", "betamount": "10"}),
            ("result", {"roundid": "r1", "transactionid": "res1", "result": "25", "gamestatus": "completed"}),
        ],
        ("reversewin", {"roundid": "r1", "transactionid": "res1", "amount": "25"}),
        ("90", "50"),
    ),
    "rollbackrollback": (
        [
            ("wager", {"roundid": "r1", "transactionid": "t1", "betamount": "120"}),
            ("rollback", {"roundid": "r1", "transactionid": "t1"}),
        ],
        ("rollbackrollback", {"roundid": "r1", "transactionid": "t1", "rollbackAmount": "120"}),
        ("0", "30"),
    ),
}


@pytest.mark.parametrize("kind", list(KIND_RACES))
async def test_50_copies_of_each_money_request_move_money_once(
    api: Api, seeded: dict[str, str], make_store: Any, kind: str
) -> None:
    setup, (request, params), (real, bonus) = KIND_RACES[kind]
    common = {**seeded, "gameid": GAME}
    for req, p in setup:
        assert (await api.groove(req, **common, **p))["code"] == 200
    replies = await asyncio.gather(*(api.groove(request, **common, **params) for _ in range(50)))
    assert all(r["code"] == 200 for r in replies), [r for r in replies if r["code"] != 200][:3]
    statuses = [r["status"] for r in replies]
    assert statuses.count("Success") == 1, statuses
    assert statuses.count(DUP) == 49
    for field in ("accounttransactionid", "walletTx"):
        assert len({r.get(field) for r in replies}) == 1, field
    assert await api.balances(ACCT) == (Decimal(real), Decimal(bonus))
    entries = await audit_and_journal(make_store)
    kinds = [e.kind for e in entries]
    moved = {"wagerAndResult": ["wager", "result"]}.get(kind, [kind])
    assert kinds[-len(moved) :] == moved
    assert kinds.count(moved[-1]) == sum(1 for req, _ in setup if req == moved[-1]) + 1
