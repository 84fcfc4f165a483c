"""Remembered refusals must not poison a transaction id (issue 14, defects 3 and 4).

Through HTTP on both backends.  A correction (rollback, reversewin, rollbackrollback) sent
with the wrong round or account is refused 110 and *not* remembered: the right one still
applies, exactly once, its replay answers the applied outcome, and the wrong one keeps
answering 110 with nothing moved.  A refusal that depends on state (a tombstone, a result with
no wager yet) is remembered for the same request, but a plain refusal never blocks the same
account's request with other parameters.  reversewin takes back a win paid by wagerAndResult.
Every test ends with the audit passing on the test's database.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import Api
from wallet_store.audit import run_audit
from wallet_store.model import TxRecord
from wallet_store.ports import Tx

ACCT = "5179068"
OTHER = "7000001"
GAME = "80102"
DUP = "Success - duplicate request"


class Groove:
    def __init__(self, api: Api, common: dict[str, str]) -> None:
        self.api = api
        self.common = common

    async def send(self, request: str, **params: Any) -> dict[str, Any]:
        return await self.api.groove(request, **{**self.common, "gameid": GAME, **params})


@pytest.fixture
def g(api: Api, seeded: dict[str, str]) -> Groove:
    return Groove(api, seeded)


async def code(g: Groove, request: str, **params: Any) -> int:
    body = await g.send(request, **params)
    return int(body["code"])


async def balances(api: Api, account: str = ACCT) -> tuple[Decimal, Decimal]:
    return await api.balances(account)


async def audit_ok(make_store: Any) -> None:
    store = make_store()
    await store.open()
    try:
        report = await run_audit(store)
    finally:
        await store.close()
    assert report.ok, report.text()


# --------------------------------------------------------------------------- defect 3: rollback


async def test_wrong_round_rollback_does_not_block_the_right_one(api: Api, g: Groove, make_store: Any) -> None:
    """The issue's exact requests: the stake must come back, once."""
    wager = await g.send("wager", roundid="q1", transactionid="x1", betamount="4")
    assert wager["code"] == 200, wager
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    wrong = await g.send("rollback", roundid="qWRONG", transactionid="x1")
    assert (wrong["code"], wrong["status"]) == (110, "Operation not allowed"), wrong
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    right = await g.send("rollback", roundid="q1", transactionid="x1")
    assert (right["code"], right["status"]) == (200, "Success"), right
    assert await balances(api) == (Decimal("100"), Decimal("50"))
    again = await g.send("rollback", roundid="q1", transactionid="x1")
    assert (again["code"], again["status"]) == (200, DUP), again
    assert again["accounttransactionid"] == right["accounttransactionid"]
    wrong_again = await g.send("rollback", roundid="qWRONG", transactionid="x1")
    assert (wrong_again["code"], wrong_again["status"]) == (110, "Operation not allowed"), wrong_again
    assert await balances(api) == (Decimal("100"), Decimal("50"))
    await audit_ok(make_store)


async def test_wrong_account_rollback_does_not_block_the_right_one(api: Api, g: Groove, make_store: Any) -> None:
    await api.player(OTHER, real="20", bonus="0", email="other@example.com")
    other = Groove(api, g.common | {"accountid": OTHER, "gamesessionid": await api.session(OTHER)})
    assert await code(g, "wager", roundid="q1", transactionid="x1", betamount="4") == 200
    assert await code(other, "rollback", roundid="q1", transactionid="x1") == 110
    assert await code(g, "rollback", roundid="q1", transactionid="x1") == 200
    # the id now holds this account's applied rollback: another account's copy is a mismatch
    assert await code(other, "rollback", roundid="q1", transactionid="x1") == 400
    assert await balances(api) == (Decimal("100"), Decimal("50"))
    assert await balances(api, OTHER) == (Decimal("20"), Decimal("0"))
    await audit_ok(make_store)


async def test_wrong_round_rollback_of_a_refused_wager_answers_102(api: Api, g: Groove) -> None:
    assert await code(g, "wager", roundid="q1", transactionid="x1", betamount="1000") == 1006
    # the refused wager is checked first: nothing to refund whatever round is named
    assert await code(g, "rollback", roundid="qWRONG", transactionid="x1") == 102
    assert await code(g, "rollback", roundid="q1", transactionid="x1") == 102
    assert await code(g, "rollback", roundid="q1", transactionid="x1") == 102
    assert await balances(api) == (Decimal("100"), Decimal("50"))


async def test_tombstone_stays_whatever_round_the_next_rollback_names(api: Api, g: Groove) -> None:
    """A rollback before its wager closes the id for good; another round cannot reopen it."""
    assert await code(g, "rollback", roundid="qWRONG", transactionid="x1") == 102
    assert await code(g, "rollback", roundid="q1", transactionid="x1") == 102
    assert await code(g, "wager", roundid="q1", transactionid="x1", betamount="4") == 409
    assert await code(g, "rollback", roundid="q1", transactionid="x1") == 102
    assert await code(g, "rollback", roundid="qWRONG", transactionid="x1") == 102
    assert await balances(api) == (Decimal("100"), Decimal("50"))


async def remember_refusal_as_before_the_fix(
    make_store: Any,
    account: str,
    round_id: str,
    tx_id: str,
    *,
    kind: str = "rollback",
    amount: str = "4",
    outcome: str = "OperationNotAllowed",
    message: str = "the wager belongs to another account or round",
) -> None:
    """Write the refusal the unfixed wallet remembered (by default for a wrong-round/account
    rollback), straight into the store."""
    rec = TxRecord(
        operator_id="11",
        scope=GAME,
        kind=kind,
        transaction_id=tx_id,
        account_id=account,
        round_id=round_id,
        amount=Decimal(amount),
        currency="EUR",
        outcome=outcome,
        message=message,
        wallet_tx="legacy0000000000000",
        state="refused",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    async def unit(tx: Tx) -> None:
        await tx.insert_tx(rec)

    store = make_store()
    await store.open()
    try:
        await store.write(unit)
    finally:
        await store.close()


@pytest.mark.parametrize("wrong", ["round", "account"])
async def test_a_refusal_remembered_before_the_fix_gives_way(api: Api, g: Groove, make_store: Any, wrong: str) -> None:
    """Ids poisoned by the unfixed wallet: the right rollback now applies, once."""
    await api.player(OTHER, real="20", bonus="0", email="other@example.com")
    assert await code(g, "wager", roundid="q1", transactionid="x1", betamount="4") == 200
    account, rnd = (ACCT, "qWRONG") if wrong == "round" else (OTHER, "q1")
    await remember_refusal_as_before_the_fix(make_store, account, rnd, "x1")
    right = await g.send("rollback", roundid="q1", transactionid="x1")
    assert (right["code"], right["status"]) == (200, "Success"), right
    again = await g.send("rollback", roundid="q1", transactionid="x1")
    assert (again["code"], again["status"]) == (200, DUP), again
    assert again["accounttransactionid"] == right["accounttransactionid"]
    assert await code(g, "rollback", roundid="qWRONG", transactionid="x1") == 110
    assert await balances(api) == (Decimal("100"), Decimal("50"))
    assert await balances(api, OTHER) == (Decimal("20"), Decimal("0"))
    await audit_ok(make_store)


async def test_racing_wrong_and_right_rollbacks_refund_once(api: Api, g: Groove, make_store: Any) -> None:
    """Wrong-round and right-round copies in flight together: one refund, one 'Success'."""
    assert await code(g, "wager", roundid="q1", transactionid="x1", betamount="4") == 200
    await remember_refusal_as_before_the_fix(make_store, ACCT, "qWRONG", "x1")
    sends = [g.send("rollback", roundid="q1" if i % 2 else "qWRONG", transactionid="x1") for i in range(40)]
    replies = await asyncio.gather(*sends)
    right = [r for i, r in enumerate(replies) if i % 2]
    wrong = [r for i, r in enumerate(replies) if not i % 2]
    assert [r["code"] for r in wrong] == [110] * 20, wrong
    assert [r["code"] for r in right] == [200] * 20, right
    assert sorted(r["status"] for r in right) == ["Success"] + [DUP] * 19
    assert len({r["accounttransactionid"] for r in right}) == 1
    assert await balances(api) == (Decimal("100"), Decimal("50"))
    await audit_ok(make_store)


async def test_racing_reversewins_of_a_wager_and_result_take_back_once(api: Api, g: Groove, make_store: Any) -> None:
    paid = {"roundid": "q4", "transactionid": "x4", "betamount": "4", "result": "6", "gamestatus": "completed"}
    assert await code(g, "wagerAndResult", **paid) == 200
    replies = await asyncio.gather(*(g.send("reversewin", transactionid="x4", amount="6") for _ in range(30)))
    assert [r["code"] for r in replies] == [200] * 30, replies
    assert sorted(r["status"] for r in replies) == ["Success"] + [DUP] * 29
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    await audit_ok(make_store)


# --------------------------------------------------------------------------- defect 3: reversewin


async def test_wrong_round_reversewin_does_not_block_the_right_one(api: Api, g: Groove, make_store: Any) -> None:
    assert await code(g, "wager", roundid="q1", transactionid="x1", betamount="4") == 200
    assert await code(g, "result", roundid="q1", transactionid="x3", result="6", gamestatus="completed") == 200
    assert await balances(api) == (Decimal("102"), Decimal("50"))
    assert await code(g, "reversewin", roundid="qWRONG", transactionid="x3", amount="6") == 110
    assert await balances(api) == (Decimal("102"), Decimal("50"))
    right = await g.send("reversewin", roundid="q1", transactionid="x3", amount="6")
    assert (right["code"], right["status"]) == (200, "Success"), right
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    again = await g.send("reversewin", roundid="q1", transactionid="x3", amount="6")
    assert (again["code"], again["status"]) == (200, DUP), again
    assert again["accounttransactionid"] == right["accounttransactionid"]
    assert await code(g, "reversewin", roundid="qWRONG", transactionid="x3", amount="6") == 110
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    await audit_ok(make_store)


async def test_wrong_round_rollbackrollback_does_not_block_the_right_one(api: Api, g: Groove, make_store: Any) -> None:
    assert await code(g, "wager", roundid="q1", transactionid="x1", betamount="4") == 200
    assert await code(g, "rollback", roundid="q1", transactionid="x1") == 200
    assert await code(g, "rollbackrollback", roundid="qWRONG", transactionid="x1", rollbackAmount="4") == 110
    assert await code(g, "rollbackrollback", roundid="q1", transactionid="x1", rollbackAmount="4") == 200
    replay = await g.send("rollbackrollback", roundid="q1", transactionid="x1", rollbackAmount="4")
    assert (replay["code"], replay["status"]) == (200, DUP), replay
    assert await code(g, "rollbackrollback", roundid="qWRONG", transactionid="x1", rollbackAmount="4") == 110
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    await audit_ok(make_store)


# --------------------------------------------------------------------------- the other remembered refusals


async def test_result_with_the_wrong_round_does_not_block_the_right_one(api: Api, g: Groove, make_store: Any) -> None:
    """102 for a round without a wager is remembered for that request, not for the right round."""
    assert await code(g, "wager", roundid="q1", transactionid="x1", betamount="4") == 200
    assert await code(g, "result", roundid="qWRONG", transactionid="x3", result="6", gamestatus="completed") == 102
    assert await code(g, "result", roundid="qWRONG", transactionid="x3", result="6", gamestatus="completed") == 102
    right = await g.send("result", roundid="q1", transactionid="x3", result="6", gamestatus="completed")
    assert (right["code"], right["status"]) == (200, "Success"), right
    again = await g.send("result", roundid="q1", transactionid="x3", result="6", gamestatus="completed")
    assert (again["code"], again["status"], again["walletTx"]) == (200, DUP, right["walletTx"]), again
    # the id now names the paid result: the wrong round is a parameter mismatch
    assert await code(g, "result", roundid="qWRONG", transactionid="x3", result="6", gamestatus="completed") == 400
    assert await balances(api) == (Decimal("102"), Decimal("50"))
    await audit_ok(make_store)


async def test_wager_and_result_with_a_bad_status_does_not_block_the_right_one(
    api: Api, g: Groove, make_store: Any
) -> None:
    params = {"roundid": "q1", "transactionid": "x4", "betamount": "4", "result": "6"}
    assert await code(g, "wagerAndResult", **params, gamestatus="done") == 110
    assert await code(g, "wagerAndResult", **params, gamestatus="done") == 110
    assert await code(g, "wagerAndResult", **params, gamestatus="completed") == 200
    assert await balances(api) == (Decimal("102"), Decimal("50"))
    await audit_ok(make_store)


async def test_state_refusals_stay_remembered_for_the_same_request(api: Api, g: Groove) -> None:
    """A result refused 102 before its wager is still 102 once the wager exists (same request)."""
    params = {"roundid": "q1", "transactionid": "x3", "result": "6", "gamestatus": "completed"}
    assert await code(g, "result", **params) == 102
    assert await code(g, "wager", roundid="q1", transactionid="x1", betamount="4") == 200
    assert await code(g, "result", **params) == 102
    assert await balances(api) == (Decimal("96"), Decimal("50"))


# --------------------------------------------------------------------------- defect 4


async def test_reversewin_takes_back_a_wager_and_result_win(api: Api, g: Groove, make_store: Any) -> None:
    """The issue's exact requests: the win paid by wagerAndResult comes back, once."""
    paid = await g.send(
        "wagerAndResult", roundid="q4", transactionid="x4", betamount="4", result="6", gamestatus="completed"
    )
    assert paid["code"] == 200, paid
    assert await balances(api) == (Decimal("102"), Decimal("50"))
    rev = await g.send("reversewin", transactionid="x4", amount="6")
    assert (rev["code"], rev["status"]) == (200, "Success"), rev
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    again = await g.send("reversewin", transactionid="x4", amount="6")
    assert (again["code"], again["status"]) == (200, DUP), again
    assert again["accounttransactionid"] == rev["accounttransactionid"]
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    # the bet stays placed and the wagerAndResult replays as it was paid
    replay = await g.send(
        "wagerAndResult", roundid="q4", transactionid="x4", betamount="4", result="6", gamestatus="completed"
    )
    assert (replay["code"], replay["status"], replay["walletTx"]) == (200, DUP, paid["walletTx"]), replay
    assert await code(g, "rollback", roundid="q4", transactionid="x4") == 110
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    await audit_ok(make_store)


async def test_reversewin_of_a_wager_and_result_checks_amount_and_round(api: Api, g: Groove) -> None:
    assert (
        await code(
            g, "wagerAndResult", roundid="q4", transactionid="x4", betamount="4", result="6", gamestatus="completed"
        )
        == 200
    )
    assert await code(g, "reversewin", transactionid="x4", amount="5") == 400
    assert await code(g, "reversewin", roundid="qWRONG", transactionid="x4", amount="6") == 110
    assert await code(g, "reversewin", roundid="q4", transactionid="x4", amount="6") == 200
    assert await balances(api) == (Decimal("96"), Decimal("50"))


# --------------------------------------------------------------------------- second reading (review of the fix)


async def test_a_refusal_decided_afresh_is_remembered_for_its_own_replay(api: Api, g: Groove) -> None:
    """A result refused 102 under an id that held another round's refusal: its replay is still
    102 once the wager exists, exactly as without the earlier wrong-round refusal."""
    assert await code(g, "wager", roundid="q1", transactionid="x1", betamount="4") == 200
    wrong = {"roundid": "qWRONG", "transactionid": "x3", "result": "6", "gamestatus": "completed"}
    assert await code(g, "result", **wrong) == 102
    early = {"roundid": "q2", "transactionid": "x3", "result": "6", "gamestatus": "completed"}
    assert await code(g, "result", **early) == 102
    assert await code(g, "wager", roundid="q2", transactionid="x2", betamount="4") == 200
    again = await g.send("result", **early)
    assert (again["code"], again["status"]) == (102, "Wager not found"), again
    assert await balances(api) == (Decimal("92"), Decimal("50"))


@pytest.mark.parametrize("first_round", [None, "q1", "qWRONG"])
async def test_a_reversewin_sent_before_its_win_applies_on_retry(
    api: Api, g: Groove, make_store: Any, first_round: str | None
) -> None:
    """Aggregators retry corrections until they succeed: a reversewin that arrived before its
    win (102) takes the win back on a retry once the win is paid, exactly once."""
    assert await code(g, "wager", roundid="q1", transactionid="x1", betamount="4") == 200
    early = await g.send("reversewin", roundid=first_round, transactionid="x3", amount="6")
    assert (early["code"], early["status"]) == (102, "Wager not found"), early
    again = await g.send("reversewin", roundid=first_round, transactionid="x3", amount="6")
    assert (again["code"], again["status"]) == (102, "Wager not found"), again
    assert await code(g, "result", roundid="q1", transactionid="x3", result="6", gamestatus="completed") == 200
    assert await balances(api) == (Decimal("102"), Decimal("50"))
    right = await g.send("reversewin", roundid="q1", transactionid="x3", amount="6")
    assert (right["code"], right["status"]) == (200, "Success"), right
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    replay = await g.send("reversewin", roundid="q1", transactionid="x3", amount="6")
    assert (replay["code"], replay["status"]) == (200, DUP), replay
    assert replay["accounttransactionid"] == right["accounttransactionid"]
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    await audit_ok(make_store)


async def test_a_reversewin_of_a_wager_and_result_refused_before_the_fix_gives_way(
    api: Api, g: Groove, make_store: Any
) -> None:
    """Defect 4's poisoned ids (102 remembered for the identical request) heal on retry."""
    paid = {"roundid": "q4", "transactionid": "x4", "betamount": "4", "result": "6", "gamestatus": "completed"}
    assert await code(g, "wagerAndResult", **paid) == 200
    await remember_refusal_as_before_the_fix(
        make_store,
        ACCT,
        "q4",
        "x4",
        kind="reversewin",
        amount="6",
        outcome="WagerNotFound",
        message="no such transaction",
    )
    right = await g.send("reversewin", roundid="q4", transactionid="x4", amount="6")
    assert (right["code"], right["status"]) == (200, "Success"), right
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    assert (await g.send("reversewin", roundid="q4", transactionid="x4", amount="6"))["status"] == DUP
    assert await balances(api) == (Decimal("96"), Decimal("50"))
    await audit_ok(make_store)
