"""Idempotency of every /groove money request, through HTTP on a real database.

Key = operator + game + request kind + transactionid.  An exact repeat replays the original
outcome (``Success - duplicate request``, the same transaction id, current balances) and
moves nothing; the same key with a different account, amount or round is
``400 Transaction parameter mismatch`` and moves nothing; business refusals are remembered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.jsonout import dumps, loads
from tests.conftest import ADMIN_TOKEN, Api, FakeClock
from wallet_store.errors import StoreUnavailable
from wallet_store.sqlite.store import SqliteStore

T = TypeVar("T")

ACCT = "5179068"
OTHER = "7000001"
GAME = "80102"
DUP = "Success - duplicate request"
ID_FIELDS = {"accounttransactionid", "walletTx"}
BALANCE_FIELDS = {"balance", "real_balance", "bonus_balance", "game_mode"}


class Groove:
    def __init__(self, api: Api, common: dict[str, str]) -> None:
        self.api = api
        self.common = common

    async def send(self, request: str, **params: Any) -> dict[str, Any]:
        return await self.api.groove(request, **{**self.common, "gameid": GAME, **params})


@pytest.fixture
def g(api: Api, seeded: dict[str, str]) -> Groove:
    return Groove(api, seeded)


@pytest.fixture
async def other(api: Api, seeded: dict[str, str]) -> Groove:
    """A second player of operator 11 (real 20, bonus 0) with a live session."""
    await api.player(OTHER, real="20", bonus="0", email="other@example.com")
    sid = await api.session(OTHER)
    return Groove(api, {"accountid": OTHER, "gamesessionid": sid, "device": "desktop", "apiversion": "1.2"})


async def balances(api: Api) -> tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]]:
    return await api.balances(ACCT), await api.balances(OTHER)


async def ok(g: Groove, request: str, **params: Any) -> dict[str, Any]:
    body = await g.send(request, **params)
    assert (body["code"], body["status"]) == (200, "Success"), body
    return body


# --------------------------------------------------------------------------- one money request of each kind
#
# Each scenario sets up what the request needs and returns (request, params) of the request
# under test.  All use transaction ids unique to the scenario.

Scenario = Callable[[Groove], Awaitable[tuple[str, dict[str, str]]]]


async def s_wager(g: Groove) -> tuple[str, dict[str, str]]:
    return "wager", {"roundid": "r1", "transactionid": "t1", "betamount": "120.5"}


async def s_result(g: Groove) -> tuple[str, dict[str, str]]:
    await ok(g, "wager", roundid="r1", transactionid="t1", betamount="120")
    return "result", {"roundid": "r1", "transactionid": "res1", "result": "60", "gamestatus": "pending"}


async def s_wager_and_result(g: Groove) -> tuple[str, dict[str, str]]:
    return "wagerAndResult", {
        "roundid": "r1",
        "transactionid": "wr1",
        "betamount": "120",
        "result": "60",
        "gamestatus": "completed",
    }


async def s_rollback(g: Groove) -> tuple[str, dict[str, str]]:
    await ok(g, "wager", roundid="r1", transactionid="t1", betamount="120")
    return "rollback", {"roundid": "r1", "transactionid": "t1"}


async def s_jackpot(g: Groove) -> tuple[str, dict[str, str]]:
    return "jackpot", {"roundid": "jp1", "transactionid": "jp1", "amount": "500.25", "gamestatus": "completed"}


async def s_reversewin(g: Groove) -> tuple[str, dict[str, str]]:
    await ok(g, "wager", roundid="r1", transactionid="t1", betamount="10")
    await ok(g, "result", roundid="r1", transactionid="res1", result="25", gamestatus="completed")
    return "reversewin", {"roundid": "r1", "transactionid": "res1", "amount": "25"}


async def s_rollbackrollback(g: Groove) -> tuple[str, dict[str, str]]:
    await ok(g, "wager", roundid="r1", transactionid="t1", betamount="120")
    await ok(g, "rollback", roundid="r1", transactionid="t1")
    return "rollbackrollback", {"roundid": "r1", "transactionid": "t1", "rollbackAmount": "120"}


SCENARIOS: dict[str, Scenario] = {
    "wager": s_wager,
    "result": s_result,
    "wagerAndResult": s_wager_and_result,
    "rollback": s_rollback,
    "jackpot": s_jackpot,
    "reversewin": s_reversewin,
    "rollbackrollback": s_rollbackrollback,
}
KINDS = list(SCENARIOS)


def ids_of(body: dict[str, Any]) -> dict[str, Any]:
    found = {k: body[k] for k in ID_FIELDS if k in body}
    assert found, body
    for v in found.values():
        assert isinstance(v, str)
        assert v
    return found


@pytest.mark.parametrize("kind", KINDS)
async def test_exact_replay_is_a_duplicate(api: Api, g: Groove, other: Groove, kind: str) -> None:
    request, params = await SCENARIOS[kind](g)
    first = await ok(g, request, **params)
    after = await balances(api)
    for _ in range(3):
        again = await g.send(request, **params)
        assert again == first | {"status": DUP}, (first, again)
        assert ids_of(again) == ids_of(first)
        assert await balances(api) == after


@pytest.mark.parametrize("kind", KINDS)
async def test_replay_after_other_activity_reports_current_balances(
    api: Api, g: Groove, other: Groove, kind: str
) -> None:
    request, params = await SCENARIOS[kind](g)
    first = await ok(g, request, **params)
    # other money movements on the same wallet
    await ok(g, "jackpot", roundid="jpx", transactionid="jpx", amount="1000", gamestatus="completed")
    await ok(g, "wager", roundid="ox", transactionid="ox", betamount="0.5")
    real, bonus = await api.balances(ACCT)
    again = await g.send(request, **params)
    assert (again["code"], again["status"]) == (200, DUP), again
    assert ids_of(again) == ids_of(first)
    assert (again["real_balance"], again["bonus_balance"], again["balance"]) == (real, bonus, real + bonus)
    # everything but the balances is the original outcome
    assert {k: v for k, v in again.items() if k not in BALANCE_FIELDS | {"status"}} == {
        k: v for k, v in first.items() if k not in BALANCE_FIELDS | {"status"}
    }
    assert await api.balances(ACCT) == (real, bonus)


MISMATCHES: list[tuple[str, str, str]] = [
    ("wager", "betamount", "121"),
    ("wager", "accountid", OTHER),
    ("wager", "roundid", "r2"),
    ("result", "result", "61"),
    ("result", "accountid", OTHER),
    ("result", "roundid", "r2"),
    ("wagerAndResult", "betamount", "121"),
    ("wagerAndResult", "result", "61"),
    ("wagerAndResult", "accountid", OTHER),
    ("wagerAndResult", "roundid", "r2"),
    ("rollback", "accountid", OTHER),
    ("rollback", "rollbackamount", "121"),
    ("jackpot", "amount", "500.2500000001"),
    ("jackpot", "accountid", OTHER),
    ("jackpot", "roundid", "jp2"),
    ("reversewin", "amount", "26"),
    ("reversewin", "accountid", OTHER),
    ("rollbackrollback", "rollbackAmount", "121"),
    ("rollbackrollback", "accountid", OTHER),
]


@pytest.mark.parametrize(("kind", "field", "value"), MISMATCHES)
async def test_same_transaction_different_parameters_is_400(
    api: Api, g: Groove, other: Groove, kind: str, field: str, value: str
) -> None:
    request, params = await SCENARIOS[kind](g)
    first = await ok(g, request, **params)
    after = await balances(api)
    changed = params | {field: value}
    sender = g
    if field == "accountid":
        sender = other  # the other player's own live session and account
    body = await sender.send(request, **changed)
    assert body["code"] == 400, body
    assert body["status"] == "Transaction parameter mismatch"
    assert set(body) == {"code", "status", "message", "apiversion"}
    assert await balances(api) == after
    # the original is untouched: an exact repeat still replays it
    again = await g.send(request, **params)
    assert (again["code"], again["status"]) == (200, DUP), again
    assert ids_of(again) == ids_of(first)
    assert await balances(api) == after


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [("rollback", "roundid", "r2"), ("reversewin", "roundid", "r2"), ("rollbackrollback", "roundid", "r2")],
)
async def test_same_correction_with_another_round_is_110(
    api: Api, g: Groove, other: Groove, kind: str, field: str, value: str
) -> None:
    """A correction naming another round than its transaction's is answered by its target: 110
    (never 400, and never remembered: the wrong round must not block the right one)."""
    request, params = await SCENARIOS[kind](g)
    first = await ok(g, request, **params)
    after = await balances(api)
    body = await g.send(request, **params | {field: value})
    assert (body["code"], body["status"]) == (110, "Operation not allowed"), body
    assert await balances(api) == after
    again = await g.send(request, **params)
    assert (again["code"], again["status"]) == (200, DUP), again
    assert ids_of(again) == ids_of(first)
    assert await balances(api) == after


async def test_amount_written_differently_is_the_same_amount(api: Api, g: Groove) -> None:
    first = await ok(g, "wager", roundid="r1", transactionid="t1", betamount="10")
    again = await g.send("wager", roundid="r1", transactionid="t1", betamount="10.0000000000")
    assert (again["code"], again["status"]) == (200, DUP)
    assert again["accounttransactionid"] == first["accounttransactionid"]
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))


# --------------------------------------------------------------------------- replays never move money again


async def test_replayed_wager_after_its_rollback_does_not_debit(api: Api, g: Groove) -> None:
    first = await ok(g, "wager", roundid="r1", transactionid="t1", betamount="10")
    await ok(g, "rollback", roundid="r1", transactionid="t1")
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("50"))
    again = await g.send("wager", roundid="r1", transactionid="t1", betamount="10")
    assert (again["code"], again["status"]) == (200, DUP)
    assert again["accounttransactionid"] == first["accounttransactionid"]
    assert (again["real_balance"], again["bonus_balance"]) == (100, 50)
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("50"))


async def test_replayed_rollback_after_rollbackrollback_does_not_refund(api: Api, g: Groove) -> None:
    await ok(g, "wager", roundid="r1", transactionid="t1", betamount="10")
    rb = await ok(g, "rollback", roundid="r1", transactionid="t1")
    await ok(g, "rollbackrollback", roundid="r1", transactionid="t1", rollbackAmount="10")
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))
    again = await g.send("rollback", roundid="r1", transactionid="t1")
    assert (again["code"], again["status"]) == (200, DUP)
    assert again["accounttransactionid"] == rb["accounttransactionid"]
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))


async def test_replayed_result_after_reversewin_does_not_pay_again(api: Api, g: Groove) -> None:
    await ok(g, "wager", roundid="r1", transactionid="t1", betamount="10")
    res = await ok(g, "result", roundid="r1", transactionid="res1", result="25", gamestatus="completed")
    await ok(g, "reversewin", roundid="r1", transactionid="res1", amount="25")
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))
    again = await g.send("result", roundid="r1", transactionid="res1", result="25", gamestatus="completed")
    assert (again["code"], again["status"]) == (200, DUP)
    assert again["walletTx"] == res["walletTx"]
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))


async def test_replay_works_after_session_expiry(api: Api, g: Groove, clock: Any) -> None:
    first = await ok(g, "wager", roundid="r1", transactionid="t1", betamount="10")
    clock.advance(hours=2)
    again = await g.send("wager", roundid="r1", transactionid="t1", betamount="10")
    # the replay is found before the session is checked: the original success, not 1000
    assert (again["code"], again["status"]) == (200, DUP), again
    assert again["accounttransactionid"] == first["accounttransactionid"]
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))


# --------------------------------------------------------------------------- remembered refusals


async def test_refused_1006_stays_refused_after_funds_arrive(api: Api, g: Groove) -> None:
    body = await g.send("wager", roundid="r1", transactionid="t1", betamount="200")
    assert body["code"] == 1006, body
    await api.admin(
        "POST",
        f"/admin/players/{ACCT}/adjust",
        {"currency": "EUR", "real": "1000", "reason": "deposit", "idempotency_key": "dep1"},
        expect=201,
    )
    assert await api.balances(ACCT) == (Decimal("1100"), Decimal("50"))
    again = await g.send("wager", roundid="r1", transactionid="t1", betamount="200")
    assert (again["code"], again["status"]) == (1006, "Out of money"), again
    assert await api.balances(ACCT) == (Decimal("1100"), Decimal("50"))
    # the refused wager cannot be rolled back into a refund either
    assert (await g.send("rollback", roundid="r1", transactionid="t1"))["code"] == 102
    assert await api.balances(ACCT) == (Decimal("1100"), Decimal("50"))


async def test_refused_1019_stays_refused_after_the_limit_is_lifted(api: Api, g: Groove) -> None:
    await api.admin("PUT", f"/admin/players/{ACCT}/limits", {"max_bet": "5"}, expect=200)
    assert (await g.send("wager", roundid="r1", transactionid="t1", betamount="10"))["code"] == 1019
    await api.admin("PUT", f"/admin/players/{ACCT}/limits", {}, expect=200)
    again = await g.send("wager", roundid="r1", transactionid="t1", betamount="10")
    assert again["code"] == 1019, again
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("50"))
    # a new transaction id is evaluated afresh
    await ok(g, "wager", roundid="r1", transactionid="t2", betamount="10")
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))


async def test_refused_1035_stays_refused_after_unblock(api: Api, g: Groove) -> None:
    await api.admin("POST", f"/admin/players/{ACCT}/block", expect=200)
    assert (await g.send("wager", roundid="r1", transactionid="t1", betamount="10"))["code"] == 1035
    await api.admin("POST", f"/admin/players/{ACCT}/unblock", expect=200)
    again = await g.send("wager", roundid="r1", transactionid="t1", betamount="10")
    assert again["code"] == 1035, again
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("50"))


async def test_refused_110_and_409_are_remembered(api: Api, g: Groove) -> None:
    assert (await g.send("wager", roundid="r1", transactionid="neg", betamount="-1"))["code"] == 110
    assert (await g.send("wager", roundid="r1", transactionid="neg", betamount="-1"))["code"] == 110
    assert (await g.send("rollback", roundid="r1", transactionid="tomb"))["code"] == 102
    assert (await g.send("wager", roundid="r1", transactionid="tomb", betamount="1"))["code"] in (409, 110)
    assert (await g.send("wager", roundid="r1", transactionid="tomb", betamount="1"))["code"] in (409, 110)
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("50"))


async def test_refused_result_is_remembered(api: Api, g: Groove) -> None:
    """A result refused 102 (no wager yet) is refused again even once a wager exists."""
    params = {"roundid": "r1", "transactionid": "res1", "result": "25", "gamestatus": "completed"}
    assert (await g.send("result", **params))["code"] == 102
    await ok(g, "wager", roundid="r1", transactionid="t1", betamount="10")
    assert (await g.send("result", **params))["code"] == 102
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))


async def test_refused_wager_and_result_is_remembered(api: Api, g: Groove) -> None:
    params = {"roundid": "r1", "transactionid": "wr1", "betamount": "200", "result": "500", "gamestatus": "completed"}
    assert (await g.send("wagerAndResult", **params))["code"] == 1006
    await api.admin(
        "POST",
        f"/admin/players/{ACCT}/adjust",
        {"currency": "EUR", "real": "1000", "reason": "deposit", "idempotency_key": "dep1"},
        expect=201,
    )
    assert (await g.send("wagerAndResult", **params))["code"] == 1006
    assert await api.balances(ACCT) == (Decimal("1100"), Decimal("50"))


async def test_mismatch_against_a_remembered_refusal_is_400(api: Api, g: Groove) -> None:
    assert (await g.send("wager", roundid="r1", transactionid="t1", betamount="200"))["code"] == 1006
    body = await g.send("wager", roundid="r1", transactionid="t1", betamount="20")
    assert body["code"] == 400, body
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("50"))


async def test_mismatch_against_a_remembered_wager_and_result_refusal_is_400(api: Api, g: Groove) -> None:
    """The win is one of wagerAndResult's amounts: a different one under a known transaction id
    is a parameter mismatch, whether the original was applied or refused."""
    params = {"roundid": "r1", "transactionid": "wr1", "betamount": "200", "result": "500", "gamestatus": "completed"}
    assert (await g.send("wagerAndResult", **params))["code"] == 1006
    body = await g.send("wagerAndResult", **params | {"result": "600"})
    assert body["code"] == 400, body
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("50"))


# --------------------------------------------------------------------------- scope of the key


async def test_same_transaction_id_in_another_game_is_another_transaction(api: Api, g: Groove) -> None:
    a = await ok(g, "wager", roundid="r1", transactionid="t1", betamount="10", gameid="gameA")
    b = await ok(g, "wager", roundid="r1", transactionid="t1", betamount="10", gameid="gameB")
    assert a["accounttransactionid"] != b["accounttransactionid"]
    assert await api.balances(ACCT) == (Decimal("80"), Decimal("50"))
    # each replays on its own
    again = await g.send("wager", roundid="r1", transactionid="t1", betamount="10", gameid="gameB")
    assert (again["status"], again["accounttransactionid"]) == (DUP, b["accounttransactionid"])
    # and a rollback in game A refunds only game A's wager
    await ok(g, "rollback", roundid="r1", transactionid="t1", gameid="gameA")
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))
    again = await g.send("rollback", roundid="r1", transactionid="t1", gameid="gameA")
    assert again["status"] == DUP
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))


async def test_same_transaction_id_for_another_request_kind(api: Api, g: Groove) -> None:
    w = await ok(g, "wager", roundid="r1", transactionid="t1", betamount="10")
    r = await ok(g, "result", roundid="r1", transactionid="t1", result="30", gamestatus="completed")
    assert w["accounttransactionid"] != r["walletTx"]
    assert await api.balances(ACCT) == (Decimal("120"), Decimal("50"))
    j = await ok(g, "jackpot", roundid="r1", transactionid="t1", amount="5", gamestatus="completed")
    assert j["walletTx"] not in (w["accounttransactionid"], r["walletTx"])
    assert await api.balances(ACCT) == (Decimal("125"), Decimal("50"))


async def test_same_transaction_id_at_another_operator(api: Api, g: Groove) -> None:
    await api.operator("12")
    await api.player("8000001", operator_id="12", real="100", bonus="0", email="op12@example.com")
    sid = await api.session("8000001")
    h = Groove(api, {"accountid": "8000001", "gamesessionid": sid, "device": "desktop", "apiversion": "1.2"})
    a = await ok(g, "wager", roundid="r1", transactionid="t1", betamount="10")
    b = await ok(h, "wager", roundid="r1", transactionid="t1", betamount="10")
    assert a["accounttransactionid"] != b["accounttransactionid"]
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))
    assert await api.balances("8000001") == (Decimal("90"), Decimal("0"))


# --------------------------------------------------------------------------- wagerbybatch


async def post_batch(client: TestClient, g: Groove, bets: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    q = {
        "request": "wagerbybatch",
        "gamesessionid": g.common["gamesessionid"],
        "gameid": GAME,
        "apiversion": "1.2",
        "request_id": request_id,
    }
    body = {
        "account_id": g.common["accountid"],
        "game_id": GAME,
        "game_session_id": g.common["gamesessionid"],
        "device": "desktop",
        "bets": bets,
    }
    resp = await client.post("/groove?" + urlencode(q), data=dumps(body), headers={"Content-Type": "application/json"})
    assert resp.status == 200
    out: dict[str, Any] = loads(await resp.text())
    assert out["code"] == 200, out
    return out


def bet(tx: str, amount: str, rnd: str = "r1") -> dict[str, Any]:
    return {"transaction_id": tx, "round_id": rnd, "amount": Decimal(amount)}


async def test_wagerbybatch_replay(api: Api, client: TestClient, g: Groove) -> None:
    bets = [bet("b1", "10"), bet("b2", "1000", "r2"), bet("b3", "20", "r3")]
    first = await post_batch(client, g, bets, "req1")
    assert [b["code"] for b in first["bets"]] == [200, 1006, 200]
    assert await api.balances(ACCT) == (Decimal("70"), Decimal("50"))
    # funds arrive; the refused bet stays refused
    await api.admin(
        "POST",
        f"/admin/players/{ACCT}/adjust",
        {"currency": "EUR", "real": "2000", "reason": "deposit", "idempotency_key": "dep1"},
        expect=201,
    )
    again = await post_batch(client, g, bets, "req1")
    assert [b["code"] for b in again["bets"]] == [200, 1006, 200]
    assert [b["status"] for b in again["bets"]] == [DUP, "Out of money", DUP]
    for a, b in zip(first["bets"], again["bets"], strict=True):
        assert a["provider_transaction_id"] == b["provider_transaction_id"]
        assert (a["real_money_bet"], a["bonus_money_bet"]) == (b["real_money_bet"], b["bonus_money_bet"])
    assert (again["real_balance"], again["bonus_balance"]) == (Decimal("2070"), Decimal("50"))
    assert await api.balances(ACCT) == (Decimal("2070"), Decimal("50"))


async def test_wagerbybatch_bet_replays_a_single_wager_and_mismatch(api: Api, client: TestClient, g: Groove) -> None:
    w = await ok(g, "wager", roundid="r1", transactionid="t1", betamount="10")
    out = await post_batch(client, g, [bet("t1", "10"), bet("t2", "5"), bet("t1x", "1")], "req2")
    assert [(b["code"], b["status"]) for b in out["bets"]] == [(200, DUP), (200, "Success"), (200, "Success")]
    assert out["bets"][0]["provider_transaction_id"] == w["accounttransactionid"]
    assert await api.balances(ACCT) == (Decimal("84"), Decimal("50"))
    out = await post_batch(client, g, [bet("t1", "11"), bet("t2", "5", "other-round")], "req3")
    assert [b["code"] for b in out["bets"]] == [400, 400]
    assert await api.balances(ACCT) == (Decimal("84"), Decimal("50"))


# --------------------------------------------------------------------------- technical failures are not remembered


class FlakyStore(SqliteStore):
    """A SQLite store whose next write fails once: before the unit runs, or after it committed."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.fail: str | None = None

    async def write(self, unit: Callable[[Any], Awaitable[T]]) -> T:
        mode, self.fail = self.fail, None
        if mode == "before":
            raise StoreUnavailable("simulated: the store is unreachable")
        result = await super().write(unit)
        if mode == "after":
            raise StoreUnavailable("simulated: the acknowledgement was lost after the commit")
        return result


@pytest.fixture
async def flaky(aiohttp_client: Any, tmp_path: Path, clock: FakeClock) -> tuple[Api, FlakyStore, Groove]:
    store = FlakyStore(str(tmp_path / "flaky.db"))
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'flaky.db'}", admin_token=SecretStr(ADMIN_TOKEN))
    client = await aiohttp_client(create_app(settings, store=store, clock=clock))
    api = Api(client)
    await api.operator("11")
    await api.player(ACCT)
    sid = await api.session(ACCT)
    return api, store, Groove(api, {"accountid": ACCT, "gamesessionid": sid, "device": "desktop", "apiversion": "1.2"})


@pytest.mark.parametrize("request_kind", ["wager", "wagerAndResult"])
async def test_technical_failure_is_evaluated_afresh(flaky: tuple[Api, FlakyStore, Groove], request_kind: str) -> None:
    api, store, g = flaky
    params = {"roundid": "r1", "transactionid": "t1", "betamount": "10"}
    if request_kind == "wagerAndResult":
        params |= {"result": "4", "gamestatus": "completed"}
    store.fail = "before"
    body = await g.send(request_kind, **params)
    assert (body["code"], body["status"]) == (1, "Technical error"), body
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("50"))
    # the retry is a fresh evaluation, not a replay of the failure
    body = await g.send(request_kind, **params)
    assert (body["code"], body["status"]) == (200, "Success"), body
    expected = Decimal("90") if request_kind == "wager" else Decimal("94")
    assert await api.balances(ACCT) == (expected, Decimal("50"))


async def test_retry_after_a_lost_acknowledgement_is_a_duplicate(flaky: tuple[Api, FlakyStore, Groove]) -> None:
    api, store, g = flaky
    params = {"roundid": "r1", "transactionid": "t1", "betamount": "10"}
    store.fail = "after"
    body = await g.send("wager", **params)
    assert body["code"] == 1, body
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))  # it was committed
    body = await g.send("wager", **params)
    assert (body["code"], body["status"]) == (200, DUP), body
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("50"))
    # same for a result
    res = {"roundid": "r1", "transactionid": "res1", "result": "25", "gamestatus": "completed"}
    store.fail = "after"
    assert (await g.send("result", **res))["code"] == 1
    body = await g.send("result", **res)
    assert (body["code"], body["status"], body["realMoneyWin"]) == (200, DUP, Decimal("25")), body
    assert await api.balances(ACCT) == (Decimal("115"), Decimal("50"))
