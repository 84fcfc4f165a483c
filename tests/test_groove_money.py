"""The /groove money path through HTTP on a real database: every request type's success reply
(exact field names and values) and every error code each can give.

Seeded player 5179068: real 100, bonus 50 EUR, operator 11 (``cash_money`` order).  Balances
are checked after every step; a refused request must change nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from groove_adapter.jsonout import dumps, loads
from tests.conftest import Api, FakeClock

ACCT = "5179068"
GAME = "80102"

WAGER_FIELDS = {
    "code",
    "status",
    "apiversion",
    "accounttransactionid",
    "balance",
    "real_balance",
    "bonus_balance",
    "realmoneybet",
    "bonusmoneybet",
    "game_mode",
    "order",
}
RESULT_FIELDS = {
    "code",
    "status",
    "apiversion",
    "walletTx",
    "balance",
    "real_balance",
    "bonus_balance",
    "realMoneyWin",
    "bonusWin",
    "game_mode",
    "order",
}
WAGER_AND_RESULT_FIELDS = WAGER_FIELDS | RESULT_FIELDS
ROLLBACK_FIELDS = {
    "code",
    "status",
    "apiversion",
    "accounttransactionid",
    "balance",
    "real_balance",
    "bonus_balance",
    "game_mode",
    "order",
}
CORRECTION_FIELDS = {"code", "status", "apiversion", "accounttransactionid", "balance", "real_balance", "bonus_balance"}
ERROR_FIELDS = {"code", "status", "message", "apiversion"}
BATCH_BET_FIELDS = {"transaction_id", "provider_transaction_id", "real_money_bet", "bonus_money_bet", "code", "status"}

STATUS = {
    102: "Wager not found",
    110: "Operation not allowed",
    400: "Transaction parameter mismatch",
    409: "Round closed or transaction ID exists",
    1000: "Not logged on",
    1001: "Invalid signature",
    1006: "Out of money",
    1008: "Parameter required",
    1019: "Gaming limit",
    1035: "Account blocked",
}


class Groove:
    """One player's /groove calls: the common parameters filled in, the game fixed."""

    def __init__(self, api: Api, common: dict[str, str]) -> None:
        self.api = api
        self.common = common

    @property
    def account(self) -> str:
        return self.common["accountid"]

    async def send(self, request: str, **params: Any) -> dict[str, Any]:
        return await self.api.groove(request, **{**self.common, "gameid": GAME, **params})

    async def wager(self, tx: str, amount: Any, rnd: str = "r1", **kw: Any) -> dict[str, Any]:
        return await self.send("wager", roundid=rnd, transactionid=tx, betamount=amount, **kw)

    async def result(
        self, tx: str, amount: Any, rnd: str = "r1", status: str = "completed", **kw: Any
    ) -> dict[str, Any]:
        return await self.send("result", roundid=rnd, transactionid=tx, result=amount, gamestatus=status, **kw)

    async def wager_and_result(
        self, tx: str, bet: Any, win: Any, rnd: str = "r1", status: str = "completed", **kw: Any
    ) -> dict[str, Any]:
        return await self.send(
            "wagerAndResult", roundid=rnd, transactionid=tx, betamount=bet, result=win, gamestatus=status, **kw
        )

    async def rollback(self, tx: str, rnd: str = "r1", **kw: Any) -> dict[str, Any]:
        return await self.send("rollback", roundid=rnd, transactionid=tx, **kw)

    async def jackpot(
        self, tx: str, amount: Any, rnd: str = "jp1", status: str = "completed", **kw: Any
    ) -> dict[str, Any]:
        return await self.send("jackpot", roundid=rnd, transactionid=tx, amount=amount, gamestatus=status, **kw)

    async def reversewin(self, tx: str, amount: Any, **kw: Any) -> dict[str, Any]:
        return await self.send("reversewin", transactionid=tx, amount=amount, **kw)

    async def rollbackrollback(self, tx: str, amount: Any, **kw: Any) -> dict[str, Any]:
        return await self.send("rollbackrollback", transactionid=tx, rollbackAmount=amount, **kw)

    async def getbalance(self) -> dict[str, Any]:
        return await self.api.groove("getbalance", **self.common, nogsgameid=GAME)


@pytest.fixture
def g(api: Api, seeded: dict[str, str]) -> Groove:
    return Groove(api, seeded)


async def new_player(api: Api, account: str, real: str, bonus: str, operator_id: str = "11") -> Groove:
    await api.player(account, operator_id=operator_id, real=real, bonus=bonus, email=f"x{account}@example.com")
    sid = await api.session(account)
    return Groove(api, {"accountid": account, "gamesessionid": sid, "device": "desktop", "apiversion": "1.2"})


async def assert_balances(api: Api, real: str, bonus: str, account: str = ACCT) -> None:
    assert await api.balances(account) == (Decimal(real), Decimal(bonus))


def assert_error(body: dict[str, Any], code: int) -> None:
    assert body["code"] == code, body
    assert set(body) == ERROR_FIELDS, body
    assert body["status"] == STATUS[code]
    assert body["apiversion"] == "1.2"
    assert isinstance(body["message"], str)
    assert body["message"]


def assert_money(body: dict[str, Any], real: str, bonus: str) -> None:
    """Success reply whose balance fields say real/bonus (and balance = their sum)."""
    assert body["code"] == 200, body
    assert body["real_balance"] == Decimal(real)
    assert body["bonus_balance"] == Decimal(bonus)
    assert body["balance"] == Decimal(real) + Decimal(bonus)


def assert_tx_id(value: Any) -> None:
    assert isinstance(value, str)
    assert value


# =========================================================================== wager


async def test_wager_success_reply_real_money(api: Api, g: Groove) -> None:
    body = await g.wager("t1", "10")
    assert set(body) == WAGER_FIELDS
    assert_tx_id(body["accounttransactionid"])
    assert body == {
        "code": 200,
        "status": "Success",
        "apiversion": "1.2",
        "accounttransactionid": body["accounttransactionid"],
        "balance": Decimal("140"),
        "real_balance": Decimal("90"),
        "bonus_balance": Decimal("50"),
        "realmoneybet": Decimal("10"),
        "bonusmoneybet": Decimal("0"),
        "game_mode": 1,
        "order": "cash_money",
    }
    await assert_balances(api, "90", "50")
    bal = await g.getbalance()
    assert (bal["balance"], bal["real_balance"], bal["bonus_balance"]) == (140, 90, 50)


async def test_wager_split_cash_money_order(api: Api, g: Groove) -> None:
    """cash_money: real first, the rest from bonus."""
    body = await g.wager("t1", "120.5")
    assert set(body) == WAGER_FIELDS
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (Decimal("100"), Decimal("20.5"))
    assert_money(body, "0", "29.5")
    assert body["order"] == "cash_money"
    assert body["game_mode"] == 2  # only bonus money left
    await assert_balances(api, "0", "29.5")
    # the next wager comes from bonus alone
    body = await g.wager("t2", "0.0000000001")
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (Decimal("0"), Decimal("0.0000000001"))
    await assert_balances(api, "0", "29.4999999999")


async def test_wager_split_bonus_money_order(api: Api) -> None:
    """An operator configured with bonus_money: bonus first, the rest from real."""
    await api.operator("12", debit_order="bonus_money")
    g = await new_player(api, "6000001", "100", "50", operator_id="12")
    body = await g.wager("t1", "30")
    assert set(body) == WAGER_FIELDS
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (Decimal("0"), Decimal("30"))
    assert_money(body, "100", "20")
    assert (body["order"], body["game_mode"]) == ("bonus_money", 2)
    await assert_balances(api, "100", "20", "6000001")
    body = await g.wager("t2", "45.25")
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (Decimal("25.25"), Decimal("20"))
    assert_money(body, "74.75", "0")
    assert (body["order"], body["game_mode"]) == ("bonus_money", 1)
    await assert_balances(api, "74.75", "0", "6000001")


async def test_wager_exactly_the_whole_balance_then_1006(api: Api, g: Groove) -> None:
    body = await g.wager("t1", "150")
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (Decimal("100"), Decimal("50"))
    assert_money(body, "0", "0")
    await assert_balances(api, "0", "0")
    assert_error(await g.wager("t2", "0.0000000001"), 1006)
    await assert_balances(api, "0", "0")


async def test_wager_1006_changes_nothing(api: Api, g: Groove) -> None:
    assert_error(await g.wager("t1", "150.0000000001"), 1006)
    await assert_balances(api, "100", "50")
    # the round was not opened by the refused wager: a result for it finds no wager
    assert_error(await g.result("res1", "5"), 102)
    await assert_balances(api, "100", "50")


async def test_wager_zero_amount(api: Api, g: Groove) -> None:
    body = await g.wager("t1", "0")
    assert set(body) == WAGER_FIELDS
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (0, 0)
    assert_money(body, "100", "50")
    await assert_balances(api, "100", "50")


# --------------------------------------------------------------------------- wager errors


@pytest.mark.parametrize(
    "session", ["11_00000000-0000-0000-0000-000000000000", "nope", "expired", "closed", "someone-else"]
)
async def test_wager_1000_bad_session(api: Api, g: Groove, clock: FakeClock, session: str) -> None:
    params: dict[str, str] = {}
    if session == "expired":
        clock.advance(seconds=3601)
    elif session == "closed":
        await api.admin("DELETE", f"/admin/sessions/{g.common['gamesessionid']}", expect=200)
    elif session == "someone-else":
        other = await new_player(api, "7000001", "10", "0")
        params["gamesessionid"] = other.common["gamesessionid"]
    else:
        params["gamesessionid"] = session
    assert_error(await g.wager("t1", "10", **params), 1000)
    await assert_balances(api, "100", "50")
    if session == "someone-else":
        await assert_balances(api, "10", "0", "7000001")


async def test_wager_1000_just_before_and_at_expiry(api: Api, g: Groove, clock: FakeClock) -> None:
    clock.advance(seconds=3599)
    assert (await g.wager("t1", "1"))["code"] == 200
    await assert_balances(api, "99", "50")
    clock.advance(seconds=1)
    assert_error(await g.wager("t2", "1"), 1000)
    await assert_balances(api, "99", "50")


@pytest.mark.parametrize("action", ["block", "self-exclude"])
async def test_wager_1035_blocked_and_self_excluded(api: Api, g: Groove, action: str) -> None:
    await api.admin("POST", f"/admin/players/{ACCT}/{action}", expect=200)
    assert_error(await g.wager("t1", "10"), 1035)
    await assert_balances(api, "100", "50")
    await api.admin("POST", f"/admin/players/{ACCT}/unblock", expect=200)
    assert (await g.wager("t2", "10"))["code"] == 200
    await assert_balances(api, "90", "50")


async def test_wager_110_negative_amount(api: Api, g: Groove) -> None:
    assert_error(await g.wager("t1", "-5"), 110)
    assert_error(await g.wager("t2", "-0.0000000001"), 110)
    await assert_balances(api, "100", "50")


@pytest.mark.parametrize(
    "amount",
    ["1e3", "1E3", "abc", "1.12345678901", "NaN", "Infinity", "-Infinity", "", " 10", "10 ", "+10", "0x10", "1,5"],
)
async def test_wager_1008_malformed_amount(api: Api, g: Groove, amount: str) -> None:
    assert_error(await g.wager("t1", amount), 1008)
    await assert_balances(api, "100", "50")
    # nothing was remembered: the same transaction id with a good amount is a fresh wager
    body = await g.wager("t1", "10")
    assert (body["code"], body["status"]) == (200, "Success")
    await assert_balances(api, "90", "50")


async def test_wager_1008_more_than_22_integer_digits(api: Api, g: Groove) -> None:
    assert_error(await g.wager("t1", "1" + "0" * 22), 1008)
    await assert_balances(api, "100", "50")


@pytest.mark.parametrize("missing", ["betamount", "roundid", "transactionid", "gameid"])
async def test_wager_1008_missing_parameter(api: Api, g: Groove, missing: str) -> None:
    params = {"gameid": GAME, "roundid": "r1", "transactionid": "t1", "betamount": "10", missing: None}
    assert_error(await g.send("wager", **params), 1008)
    await assert_balances(api, "100", "50")


async def test_wager_409_round_closed_by_completed_result(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    assert (await g.result("res1", "0"))["code"] == 200
    await assert_balances(api, "90", "50")
    assert_error(await g.wager("t2", "10"), 409)
    await assert_balances(api, "90", "50")
    # another round is fine
    assert (await g.wager("t3", "10", rnd="r2"))["code"] == 200
    await assert_balances(api, "80", "50")


async def test_wager_1019_bet_limit(api: Api, g: Groove) -> None:
    await api.admin("PUT", f"/admin/players/{ACCT}/limits", {"max_bet": "5"}, expect=200)
    assert_error(await g.wager("t1", "5.0000000001"), 1019)
    await assert_balances(api, "100", "50")
    body = await g.wager("t2", "5")
    assert body["code"] == 200
    await assert_balances(api, "95", "50")


async def test_wager_1019_daily_loss_limit(api: Api, g: Groove, clock: FakeClock) -> None:
    await api.admin("PUT", f"/admin/players/{ACCT}/limits", {"loss_day": "20"}, expect=200)
    assert (await g.wager("t1", "15"))["code"] == 200
    await assert_balances(api, "85", "50")
    assert_error(await g.wager("t2", "5.0000000001"), 1019)
    await assert_balances(api, "85", "50")
    assert (await g.wager("t3", "5"))["code"] == 200  # exactly at the limit
    await assert_balances(api, "80", "50")
    assert_error(await g.wager("t4", "0.0000000001"), 1019)
    # a new day starts a new daily budget
    clock.advance(days=1)
    sid = await api.session(ACCT)
    body = await g.wager("t5", "20", rnd="r2", gamesessionid=sid)
    assert body["code"] == 200, body
    await assert_balances(api, "60", "50")


async def test_wager_1019_daily_loss_limit_counts_net_loss(api: Api, g: Groove) -> None:
    """Wins and refunds of the day reduce the day's loss."""
    await api.admin("PUT", f"/admin/players/{ACCT}/limits", {"loss_day": "20"}, expect=200)
    assert (await g.wager("t1", "15"))["code"] == 200
    assert (await g.result("res1", "10"))["code"] == 200  # net loss 5
    assert (await g.wager("t2", "10", rnd="r2"))["code"] == 200
    assert (await g.rollback("t2", rnd="r2"))["code"] == 200  # refunded: net loss still 5
    await assert_balances(api, "95", "50")
    assert (await g.wager("t3", "15", rnd="r3"))["code"] == 200  # 5 + 15 = 20, at the limit
    await assert_balances(api, "80", "50")
    assert_error(await g.wager("t4", "0.0000000001", rnd="r4"), 1019)
    await assert_balances(api, "80", "50")


async def test_wager_1019_weekly_loss_limit(api: Api, g: Groove, clock: FakeClock) -> None:
    """The clock starts on Thursday 2026-01-15; the week starts on Monday."""
    await api.admin("PUT", f"/admin/players/{ACCT}/limits", {"loss_week": "30"}, expect=200)
    assert (await g.wager("t1", "20"))["code"] == 200
    clock.advance(days=1)  # Friday, same week
    sid = await api.session(ACCT)
    assert_error(await g.wager("t2", "10.0000000001", rnd="r2", gamesessionid=sid), 1019)
    assert (await g.wager("t3", "10", rnd="r3", gamesessionid=sid))["code"] == 200
    await assert_balances(api, "70", "50")
    clock.advance(days=3)  # Monday: a new week
    sid = await api.session(ACCT)
    assert (await g.wager("t4", "30", rnd="r4", gamesessionid=sid))["code"] == 200
    await assert_balances(api, "40", "50")


async def test_wager_1019_monthly_loss_limit(api: Api, g: Groove, clock: FakeClock) -> None:
    await api.admin("PUT", f"/admin/players/{ACCT}/limits", {"loss_month": "40"}, expect=200)
    assert (await g.wager("t1", "30"))["code"] == 200
    clock.advance(days=16)  # 2026-01-31, same month
    sid = await api.session(ACCT)
    assert_error(await g.wager("t2", "15", rnd="r2", gamesessionid=sid), 1019)
    await assert_balances(api, "70", "50")
    clock.advance(days=1)  # 2026-02-01: a new month
    sid = await api.session(ACCT)
    assert (await g.wager("t3", "15", rnd="r3", gamesessionid=sid))["code"] == 200
    await assert_balances(api, "55", "50")


async def test_limits_apply_to_wager_and_result(api: Api, g: Groove) -> None:
    await api.admin("PUT", f"/admin/players/{ACCT}/limits", {"max_bet": "5"}, expect=200)
    assert_error(await g.wager_and_result("wr1", "10", "100"), 1019)
    await assert_balances(api, "100", "50")
    assert (await g.wager_and_result("wr2", "5", "1", rnd="r2"))["code"] == 200
    await assert_balances(api, "96", "50")


async def test_wager_1006_out_of_money(api: Api, g: Groove) -> None:
    assert_error(await g.wager("t1", "1000"), 1006)
    await assert_balances(api, "100", "50")


async def test_wager_check_order(api: Api, g: Groove) -> None:
    """session, blocked (1035), amount (110), closed round (409), limits (1019), funds (1006)."""
    assert (await g.wager("t0", "1", rnd="closed"))["code"] == 200
    assert (await g.result("res0", "0", rnd="closed"))["code"] == 200
    await api.admin("PUT", f"/admin/players/{ACCT}/limits", {"max_bet": "100"}, expect=200)
    await assert_balances(api, "99", "50")
    # limit and funds both exceeded -> 1019
    assert_error(await g.wager("t1", "500"), 1019)
    # closed round, over the limit and over funds -> 409
    assert_error(await g.wager("t2", "500", rnd="closed"), 409)
    # negative on a closed round -> 110
    assert_error(await g.wager("t3", "-1", rnd="closed"), 110)
    await api.admin("POST", f"/admin/players/{ACCT}/block", expect=200)
    # blocked and negative on a closed round -> 1035
    assert_error(await g.wager("t4", "-1", rnd="closed"), 1035)
    # bad session beats everything -> 1000
    assert_error(await g.wager("t5", "-1", rnd="closed", gamesessionid="11_nope"), 1000)
    await assert_balances(api, "99", "50")


async def test_wager_frbid_with_amount_is_110(api: Api, g: Groove) -> None:
    await api.admin("POST", f"/admin/players/{ACCT}/free-rounds", {"frbid": "frb1", "pays_into": "real"}, expect=201)
    assert_error(await g.wager("t1", "1", rnd="fr1", frbid="frb1"), 110)
    await assert_balances(api, "100", "50")


async def test_wager_frbid_zero_debits_nothing_and_win_pays(api: Api, g: Groove) -> None:
    await api.admin("POST", f"/admin/players/{ACCT}/free-rounds", {"frbid": "frb1", "pays_into": "real"}, expect=201)
    body = await g.wager("t1", "0", rnd="fr1", frbid="frb1")
    assert set(body) == WAGER_FIELDS
    assert (body["code"], body["status"]) == (200, "Success")
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (0, 0)
    assert_money(body, "100", "50")
    await assert_balances(api, "100", "50")
    body = await g.result("res1", "12.5", rnd="fr1", frbid="frb1")
    assert (body["code"], body["realMoneyWin"], body["bonusWin"]) == (200, Decimal("12.5"), 0)
    await assert_balances(api, "112.5", "50")


# =========================================================================== result


async def test_result_success_reply_all_real(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    body = await g.result("res1", "25.75")
    assert set(body) == RESULT_FIELDS
    assert_tx_id(body["walletTx"])
    assert body == {
        "code": 200,
        "status": "Success",
        "apiversion": "1.2",
        "walletTx": body["walletTx"],
        "balance": Decimal("165.75"),
        "real_balance": Decimal("115.75"),
        "bonus_balance": Decimal("50"),
        "realMoneyWin": Decimal("25.75"),
        "bonusWin": Decimal("0"),
        "game_mode": 1,
        "order": "cash_money",
    }
    await assert_balances(api, "115.75", "50")


async def test_result_mixed_bet_pays_in_proportion(api: Api, g: Groove) -> None:
    body = await g.wager("t1", "120")
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (Decimal("100"), Decimal("20"))
    await assert_balances(api, "0", "30")
    body = await g.result("res1", "60")
    assert set(body) == RESULT_FIELDS
    # 60 * 20/120 = 10 into bonus, the rest into real
    assert (body["realMoneyWin"], body["bonusWin"]) == (Decimal("50"), Decimal("10"))
    assert_money(body, "50", "40")
    await assert_balances(api, "50", "40")


async def test_result_mixed_bet_split_adds_up_exactly(api: Api, seeded: dict[str, str]) -> None:
    g = await new_player(api, "7000002", "1", "2")
    body = await g.wager("t1", "3")
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (Decimal("1"), Decimal("2"))
    await assert_balances(api, "0", "0", "7000002")
    body = await g.result("res1", "10")
    # bonus = 10 * 2/3 rounded down to 1e-10; real gets the rest; they add up to 10 exactly
    assert (body["realMoneyWin"], body["bonusWin"]) == (Decimal("3.3333333334"), Decimal("6.6666666666"))
    assert body["realMoneyWin"] + body["bonusWin"] == Decimal("10")
    assert_money(body, "3.3333333334", "6.6666666666")
    await assert_balances(api, "3.3333333334", "6.6666666666", "7000002")


async def test_result_all_bonus_bet_pays_bonus(api: Api, seeded: dict[str, str]) -> None:
    g = await new_player(api, "7000003", "0", "50")
    body = await g.wager("t1", "10")
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (0, Decimal("10"))
    await assert_balances(api, "0", "40", "7000003")
    body = await g.result("res1", "30")
    assert (body["realMoneyWin"], body["bonusWin"]) == (0, Decimal("30"))
    assert_money(body, "0", "70")
    await assert_balances(api, "0", "70", "7000003")


async def test_result_loss_is_zero_win(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    body = await g.result("res1", "0")
    assert set(body) == RESULT_FIELDS
    assert (body["realMoneyWin"], body["bonusWin"]) == (0, 0)
    assert_money(body, "90", "50")
    await assert_balances(api, "90", "50")


async def test_result_round_with_several_bets_split_by_round_funding(api: Api, g: Groove) -> None:
    """Two wagers in one round: 100 real + (0 real, 40 bonus) -> win split 100:40."""
    assert (await g.wager("t1", "100"))["code"] == 200
    body = await g.wager("t2", "40")
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (0, Decimal("40"))
    await assert_balances(api, "0", "10")
    body = await g.result("res1", "70")
    assert (body["realMoneyWin"], body["bonusWin"]) == (Decimal("50"), Decimal("20"))
    await assert_balances(api, "50", "30")


@pytest.mark.parametrize("how", ["expired", "closed"])
async def test_result_after_session_end_is_accepted(api: Api, g: Groove, clock: FakeClock, how: str) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    if how == "expired":
        clock.advance(hours=5)
    else:
        await api.admin("DELETE", f"/admin/sessions/{g.common['gamesessionid']}", expect=200)
    body = await g.result("res1", "30")
    assert body["code"] == 200, body
    assert set(body) == RESULT_FIELDS
    assert body["realMoneyWin"] == Decimal("30")
    await assert_balances(api, "120", "50")


async def test_result_102_without_wager(api: Api, g: Groove) -> None:
    assert_error(await g.result("res1", "30"), 102)
    await assert_balances(api, "100", "50")
    # a wager in another round does not make this round's result valid
    assert (await g.wager("t1", "10", rnd="r2"))["code"] == 200
    assert_error(await g.result("res2", "30"), 102)
    await assert_balances(api, "90", "50")


async def test_result_102_after_the_wager_was_rolled_back(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    assert (await g.rollback("t1"))["code"] == 200
    await assert_balances(api, "100", "50")
    assert_error(await g.result("res1", "30"), 102)
    await assert_balances(api, "100", "50")


async def test_result_409_on_round_closed_by_completed_result(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    assert (await g.result("res1", "5"))["code"] == 200
    await assert_balances(api, "95", "50")
    assert_error(await g.result("res2", "5"), 409)
    assert_error(await g.result("res3", "5", status="pending"), 409)
    await assert_balances(api, "95", "50")


async def test_result_several_pending_then_one_completed(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    await assert_balances(api, "90", "50")
    body = await g.result("res1", "2.5", status="pending")
    assert (body["code"], body["realMoneyWin"]) == (200, Decimal("2.5"))
    await assert_balances(api, "92.5", "50")
    # the round is still open: another wager in it is allowed
    assert (await g.wager("t2", "1"))["code"] == 200
    await assert_balances(api, "91.5", "50")
    body = await g.result("res2", "3", status="pending")
    assert (body["code"], body["realMoneyWin"]) == (200, Decimal("3"))
    await assert_balances(api, "94.5", "50")
    body = await g.result("res3", "10", status="completed")
    assert (body["code"], body["realMoneyWin"]) == (200, Decimal("10"))
    await assert_balances(api, "104.5", "50")
    assert_error(await g.result("res4", "1", status="pending"), 409)
    assert_error(await g.wager("t3", "1"), 409)
    await assert_balances(api, "104.5", "50")


@pytest.mark.parametrize("status", ["finished", "COMPLETED", "", "open"])
async def test_result_110_bad_gamestatus(api: Api, g: Groove, status: str) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    assert_error(await g.result("res1", "30", status=status), 110)
    await assert_balances(api, "90", "50")
    # the round is still open and pays a proper result
    assert (await g.result("res2", "30"))["code"] == 200
    await assert_balances(api, "120", "50")


async def test_result_110_negative_win(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    assert_error(await g.result("res1", "-1"), 110)
    await assert_balances(api, "90", "50")


async def test_result_1008_malformed_win(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    assert_error(await g.result("res1", "1e1"), 1008)
    await assert_balances(api, "90", "50")


async def test_result_110_unknown_account(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    assert_error(await g.result("res1", "30", accountid="999999999"), 110)
    await assert_balances(api, "90", "50")


async def test_result_for_another_accounts_round_is_refused(api: Api, g: Groove) -> None:
    """The round belongs to 5179068; another account cannot be paid for it."""
    other = await new_player(api, "7000004", "10", "0")
    assert (await g.wager("t1", "10"))["code"] == 200
    body = await other.result("res1", "30")
    assert_error(body, 102)  # the other account has no wager in a round of that id
    await assert_balances(api, "90", "50")
    await assert_balances(api, "10", "0", "7000004")


async def test_result_with_another_accounts_session_is_110(api: Api, g: Groove) -> None:
    other = await new_player(api, "7000005", "10", "0")
    assert (await g.wager("t1", "10"))["code"] == 200
    assert_error(await g.result("res1", "30", gamesessionid=other.common["gamesessionid"]), 110)
    await assert_balances(api, "90", "50")
    await assert_balances(api, "10", "0", "7000005")


async def test_bets_placed_before_a_block_are_still_settled(api: Api, g: Groove) -> None:
    """1035 refuses new wagers; a win or refund of a bet already placed is still paid."""
    assert (await g.wager("t1", "10"))["code"] == 200
    assert (await g.wager("t2", "20", rnd="r2"))["code"] == 200
    await api.admin("POST", f"/admin/players/{ACCT}/self-exclude", expect=200)
    assert_error(await g.wager("t3", "1", rnd="r3"), 1035)
    await assert_balances(api, "70", "50")
    assert (await g.result("res1", "25"))["code"] == 200
    await assert_balances(api, "95", "50")
    assert (await g.rollback("t2", rnd="r2"))["code"] == 200
    await assert_balances(api, "115", "50")


async def test_money_moves_in_the_sessions_currency(api: Api, g: Groove) -> None:
    sid = await api.session(ACCT, currency="USD")
    usd = Groove(api, g.common | {"gamesessionid": sid})
    assert_error(await usd.wager("t1", "10"), 1006)  # the new USD wallet is empty
    await api.admin(
        "POST",
        f"/admin/players/{ACCT}/adjust",
        {"currency": "USD", "real": "30", "reason": "deposit", "idempotency_key": "usd1"},
        expect=201,
    )
    body = await usd.wager("t2", "10")
    assert (body["code"], body["realmoneybet"]) == (200, Decimal("10"))
    assert_money(body, "20", "0")
    body = await usd.result("res2", "50", gamesessionid=g.common["gamesessionid"])  # settles in the round's currency
    assert body["code"] == 200, body
    assert await api.balances(ACCT, "USD") == (Decimal("70"), Decimal("0"))
    await assert_balances(api, "100", "50")  # EUR untouched throughout


@pytest.mark.parametrize(("pays_into", "real", "bonus"), [("real", "107.5", "50"), ("bonus", "100", "57.5")])
async def test_free_round_result_without_wager(api: Api, g: Groove, pays_into: str, real: str, bonus: str) -> None:
    await api.admin("POST", f"/admin/players/{ACCT}/free-rounds", {"frbid": "frb7", "pays_into": pays_into}, expect=201)
    body = await g.result("res1", "7.5", rnd="fr1", frbid="frb7")
    assert set(body) == RESULT_FIELDS
    assert body["code"] == 200, body
    win = (Decimal("7.5"), Decimal("0")) if pays_into == "real" else (Decimal("0"), Decimal("7.5"))
    assert (body["realMoneyWin"], body["bonusWin"]) == win
    assert_money(body, real, bonus)
    await assert_balances(api, real, bonus)


async def test_free_round_result_with_unknown_frbid_is_refused(api: Api, g: Groove) -> None:
    body = await g.result("res1", "7.5", rnd="fr1", frbid="never-awarded")
    assert_error(body, 110)  # the award is checked before the round (which has no wager)
    await assert_balances(api, "100", "50")


MAX = "9999999999999999999999.9999999999"


async def test_win_up_to_the_largest_amount_is_exact(api: Api, seeded: dict[str, str]) -> None:
    g = await new_player(api, "7000009", "9999999999999999999000", "0")
    body = await g.jackpot("jp1", "999.9999999999")
    assert body["code"] == 200, body
    assert (body["realMoneyWin"], body["real_balance"], body["balance"]) == (
        Decimal("999.9999999999"),
        Decimal(MAX),
        Decimal(MAX),
    )
    await assert_balances(api, MAX, "0", "7000009")


async def test_win_beyond_decimal_32_10_is_refused_and_changes_nothing(api: Api, seeded: dict[str, str]) -> None:
    """Spec: amounts are Decimal(32,10) both ways; code 1 means nothing was decided and the
    aggregator retries, so a credit that cannot be represented must be a refusal that changes nothing."""
    g = await new_player(api, "7000009", MAX, "0")
    body = await g.jackpot("jp1", "0.0000000001")
    await assert_balances(api, MAX, "0", "7000009")
    bal = await g.getbalance()
    assert (bal["code"], bal["real_balance"]) == (200, Decimal(MAX))
    assert_error(body, 110)  # AmountOutOfRange: a refusal, never code 1


async def test_credit_making_real_plus_bonus_unrepresentable_is_refused(api: Api, g: Groove) -> None:
    """real alone fits, real + bonus (the reported balance) would not: refuse, change nothing,
    never commit the credit and then answer 'Technical error'."""
    body = await g.jackpot("jp1", "9999999999999999999899.9999999999")
    # first: nothing was credited and the wallet is still readable
    bal = await g.getbalance()
    assert (bal["code"], bal.get("real_balance"), bal.get("bonus_balance")) == (200, Decimal("100"), Decimal("50")), (
        body,
        bal,
    )
    await assert_balances(api, "100", "50")
    assert_error(body, 110)  # AmountOutOfRange: a refusal, never code 1


# =========================================================================== wagerAndResult


async def test_wager_and_result_success_reply(api: Api, g: Groove) -> None:
    body = await g.wager_and_result("wr1", "10", "25")
    assert set(body) == WAGER_AND_RESULT_FIELDS
    assert_tx_id(body["accounttransactionid"])
    assert_tx_id(body["walletTx"])
    assert body == {
        "code": 200,
        "status": "Success",
        "apiversion": "1.2",
        "accounttransactionid": body["accounttransactionid"],
        "walletTx": body["walletTx"],
        "balance": Decimal("165"),
        "real_balance": Decimal("115"),
        "bonus_balance": Decimal("50"),
        "realmoneybet": Decimal("10"),
        "bonusmoneybet": Decimal("0"),
        "realMoneyWin": Decimal("25"),
        "bonusWin": Decimal("0"),
        "game_mode": 1,
        "order": "cash_money",
    }
    await assert_balances(api, "115", "50")
    # completed: the round is closed
    assert_error(await g.wager("t2", "1"), 409)
    await assert_balances(api, "115", "50")


async def test_wager_and_result_mixed_bet_split(api: Api, g: Groove) -> None:
    body = await g.wager_and_result("wr1", "120", "60")
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (Decimal("100"), Decimal("20"))
    assert (body["realMoneyWin"], body["bonusWin"]) == (Decimal("50"), Decimal("10"))
    assert_money(body, "50", "40")
    await assert_balances(api, "50", "40")


async def test_wager_and_result_pending_keeps_round_open(api: Api, g: Groove) -> None:
    body = await g.wager_and_result("wr1", "10", "4", status="pending")
    assert body["code"] == 200, body
    await assert_balances(api, "94", "50")
    body = await g.result("res1", "6")
    assert (body["code"], body["realMoneyWin"]) == (200, Decimal("6"))
    await assert_balances(api, "100", "50")


@pytest.mark.parametrize(("pays_into", "real", "bonus"), [("real", "105", "50"), ("bonus", "100", "55")])
async def test_wager_and_result_free_round(api: Api, g: Groove, pays_into: str, real: str, bonus: str) -> None:
    await api.admin("POST", f"/admin/players/{ACCT}/free-rounds", {"frbid": "frb9", "pays_into": pays_into}, expect=201)
    assert_error(await g.wager_and_result("wr0", "1", "5", rnd="fr0", frbid="frb9"), 110)
    await assert_balances(api, "100", "50")
    body = await g.wager_and_result("wr1", "0", "5", rnd="fr1", frbid="frb9")
    assert body["code"] == 200, body
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (0, 0)
    assert body["realMoneyWin"] + body["bonusWin"] == Decimal("5")
    assert_money(body, real, bonus)
    await assert_balances(api, real, bonus)


async def test_wager_and_result_is_atomic_on_1006(api: Api, g: Groove) -> None:
    """The win leg must not be paid when the bet leg is refused."""
    assert_error(await g.wager_and_result("wr1", "150.01", "1000"), 1006)
    await assert_balances(api, "100", "50")
    assert_error(await g.result("res1", "1"), 102)
    await assert_balances(api, "100", "50")


@pytest.mark.parametrize(("bet", "win", "status", "code"), [("10", "5", "nope", 110), ("10", "-5", "completed", 110)])
async def test_wager_and_result_refusals_change_nothing(
    api: Api, g: Groove, bet: str, win: str, status: str, code: int
) -> None:
    assert_error(await g.wager_and_result("wr1", bet, win, status=status), code)
    await assert_balances(api, "100", "50")
    assert_error(await g.result("res1", "1"), 102)  # no bet leg was kept either
    await assert_balances(api, "100", "50")


async def test_wager_and_result_errors(api: Api, g: Groove, clock: FakeClock) -> None:
    assert_error(await g.wager_and_result("wr1", "-1", "5"), 110)
    assert_error(await g.wager_and_result("wr2", "1e1", "5"), 1008)
    assert_error(await g.wager_and_result("wr3", "1", "5", gamesessionid="11_nope"), 1000)
    assert (await g.wager("t1", "1", rnd="c"))["code"] == 200
    assert (await g.result("res1", "0", rnd="c"))["code"] == 200
    await assert_balances(api, "99", "50")
    assert_error(await g.wager_and_result("wr4", "1", "5", rnd="c"), 409)
    await api.admin("POST", f"/admin/players/{ACCT}/block", expect=200)
    assert_error(await g.wager_and_result("wr5", "1", "5", rnd="d"), 1035)
    await assert_balances(api, "99", "50")


# =========================================================================== rollback


async def test_rollback_refunds_exactly_real_and_bonus(api: Api, g: Groove) -> None:
    body = await g.wager("t1", "120.25")
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (Decimal("100"), Decimal("20.25"))
    await assert_balances(api, "0", "29.75")
    body = await g.rollback("t1")
    assert set(body) == ROLLBACK_FIELDS
    assert_tx_id(body["accounttransactionid"])
    assert body == {
        "code": 200,
        "status": "Success",
        "apiversion": "1.2",
        "accounttransactionid": body["accounttransactionid"],
        "balance": Decimal("150"),
        "real_balance": Decimal("100"),
        "bonus_balance": Decimal("50"),
        "game_mode": 1,
        "order": "cash_money",
    }
    await assert_balances(api, "100", "50")


async def test_rollback_goes_back_to_the_balances_it_came_from(api: Api, g: Groove) -> None:
    """Wager A takes real, wager B takes bonus; rolling back A returns real only."""
    assert (await g.wager("t1", "100"))["code"] == 200
    body = await g.wager("t2", "20", rnd="r2")
    assert (body["realmoneybet"], body["bonusmoneybet"]) == (0, Decimal("20"))
    await assert_balances(api, "0", "30")
    assert_money(await g.rollback("t1"), "100", "30")
    await assert_balances(api, "100", "30")
    assert_money(await g.rollback("t2", rnd="r2"), "100", "50")
    await assert_balances(api, "100", "50")


async def test_rollback_with_rollbackamount(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    body = await g.rollback("t1", rollbackamount="10")
    assert body["code"] == 200, body
    await assert_balances(api, "100", "50")


async def test_rollback_102_unknown_wager(api: Api, g: Groove) -> None:
    assert_error(await g.rollback("never"), 102)
    await assert_balances(api, "100", "50")


async def test_rollback_102_for_refused_wager(api: Api, g: Groove) -> None:
    assert_error(await g.wager("t1", "1000"), 1006)
    assert_error(await g.rollback("t1"), 102)
    await assert_balances(api, "100", "50")


async def test_rollback_110_after_result(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    assert (await g.result("res1", "15"))["code"] == 200
    await assert_balances(api, "105", "50")
    assert_error(await g.rollback("t1"), 110)
    await assert_balances(api, "105", "50")


async def test_rollback_110_after_wager_and_result(api: Api, g: Groove) -> None:
    assert (await g.wager_and_result("wr1", "10", "15"))["code"] == 200
    await assert_balances(api, "105", "50")
    assert_error(await g.rollback("wr1"), 110)
    await assert_balances(api, "105", "50")


async def test_rollback_of_another_round_is_refused(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    body = await g.rollback("t1", rnd="other")
    assert_error(body, 110)
    await assert_balances(api, "90", "50")


@pytest.mark.parametrize("how", ["expired", "closed"])
async def test_rollback_after_session_end_is_accepted(api: Api, g: Groove, clock: FakeClock, how: str) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    if how == "expired":
        clock.advance(days=2)
    else:
        await api.admin("DELETE", f"/admin/sessions/{g.common['gamesessionid']}", expect=200)
    body = await g.rollback("t1")
    assert body["code"] == 200, body
    assert_money(body, "100", "50")
    await assert_balances(api, "100", "50")


async def test_rollback_before_wager_tombstones_the_transaction(api: Api, g: Groove) -> None:
    assert_error(await g.rollback("t1"), 102)
    await assert_balances(api, "100", "50")
    body = await g.wager("t1", "10")
    assert_error(body, 409)
    await assert_balances(api, "100", "50")
    # and again: still no debit
    assert_error(await g.wager("t1", "10"), 409)
    await assert_balances(api, "100", "50")
    # a later result for that round finds no wager
    assert_error(await g.result("res1", "10"), 102)
    await assert_balances(api, "100", "50")


async def test_rollback_before_wager_and_result_tombstones_it(api: Api, g: Groove) -> None:
    assert_error(await g.rollback("wr1"), 102)
    body = await g.wager_and_result("wr1", "10", "50")
    assert_error(body, 409)
    await assert_balances(api, "100", "50")


# =========================================================================== jackpot


async def test_jackpot_alone_without_wager(api: Api, g: Groove) -> None:
    body = await g.jackpot("jp1", "500.0000000001")
    assert set(body) == RESULT_FIELDS
    assert_tx_id(body["walletTx"])
    assert body == {
        "code": 200,
        "status": "Success",
        "apiversion": "1.2",
        "walletTx": body["walletTx"],
        "balance": Decimal("650.0000000001"),
        "real_balance": Decimal("600.0000000001"),
        "bonus_balance": Decimal("50"),
        "realMoneyWin": Decimal("500.0000000001"),
        "bonusWin": Decimal("0"),
        "game_mode": 1,
        "order": "cash_money",
    }
    await assert_balances(api, "600.0000000001", "50")


async def test_jackpot_on_a_bonus_funded_round_pays_in_proportion(api: Api, g: Groove) -> None:
    """A jackpot is a win: paid into real or bonus in proportion to how the round was funded."""
    assert (await g.wager("t1", "120", rnd="r1"))["code"] == 200  # 100 real + 20 bonus
    body = await g.jackpot("jp1", "12", rnd="r1")
    assert set(body) == RESULT_FIELDS
    assert (body["realMoneyWin"], body["bonusWin"]) == (Decimal("10"), Decimal("2"))
    await assert_balances(api, "10", "32")


async def test_jackpot_after_session_expiry(api: Api, g: Groove, clock: FakeClock) -> None:
    clock.advance(hours=3)
    body = await g.jackpot("jp1", "10")
    assert body["code"] == 200, body
    await assert_balances(api, "110", "50")


async def test_jackpot_errors(api: Api, g: Groove) -> None:
    assert_error(await g.jackpot("jp1", "-10"), 110)
    assert_error(await g.jackpot("jp2", "10", status="bogus"), 110)
    assert_error(await g.jackpot("jp3", "10", accountid="999999999"), 110)
    assert_error(await g.jackpot("jp4", "1e2"), 1008)
    await assert_balances(api, "100", "50")


# =========================================================================== reversewin


async def test_reversewin_takes_back_a_paid_win(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    assert (await g.result("res1", "25"))["code"] == 200
    await assert_balances(api, "115", "50")
    body = await g.reversewin("res1", "25")
    assert set(body) >= CORRECTION_FIELDS, body
    assert (body["code"], body["status"]) == (200, "Success")
    assert_tx_id(body["accounttransactionid"])
    assert_money(body, "90", "50")
    await assert_balances(api, "90", "50")


async def test_reversewin_of_a_mixed_win_takes_back_both_parts(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "120"))["code"] == 200
    assert (await g.result("res1", "60"))["code"] == 200
    await assert_balances(api, "50", "40")
    body = await g.reversewin("res1", "60")
    assert_money(body, "0", "30")
    await assert_balances(api, "0", "30")


async def test_reversewin_of_a_jackpot(api: Api, g: Groove) -> None:
    assert (await g.jackpot("jp1", "40"))["code"] == 200
    await assert_balances(api, "140", "50")
    body = await g.reversewin("jp1", "40", roundid="jp1")
    assert_money(body, "100", "50")
    await assert_balances(api, "100", "50")


async def test_reversewin_errors(api: Api, g: Groove) -> None:
    assert_error(await g.reversewin("nothing", "5"), 102)
    await assert_balances(api, "100", "50")
    assert (await g.wager("t1", "10"))["code"] == 200
    assert (await g.result("res1", "25"))["code"] == 200
    await assert_balances(api, "115", "50")
    assert_error(await g.reversewin("res1", "24"), 400)
    assert_error(await g.reversewin("res1", "-25"), 400)
    assert_error(await g.reversewin("res1", "2e1"), 1008)
    await assert_balances(api, "115", "50")
    body = await g.reversewin("res1", "25")
    assert body["code"] == 200
    await assert_balances(api, "90", "50")


async def test_reversewin_after_session_expiry(api: Api, g: Groove, clock: FakeClock) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    assert (await g.result("res1", "25"))["code"] == 200
    clock.advance(days=1)
    body = await g.reversewin("res1", "25")
    assert body["code"] == 200, body
    await assert_balances(api, "90", "50")


# =========================================================================== rollbackrollback


async def test_rollbackrollback_reapplies_the_refunded_wager(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "120"))["code"] == 200
    await assert_balances(api, "0", "30")
    assert (await g.rollback("t1"))["code"] == 200
    await assert_balances(api, "100", "50")
    body = await g.rollbackrollback("t1", "120")
    assert set(body) >= CORRECTION_FIELDS, body
    assert (body["code"], body["status"]) == (200, "Success")
    assert_tx_id(body["accounttransactionid"])
    assert_money(body, "0", "30")
    await assert_balances(api, "0", "30")


async def test_rollbackrollback_errors(api: Api, g: Groove) -> None:
    assert_error(await g.rollbackrollback("nothing", "5"), 102)
    assert (await g.wager("t1", "10"))["code"] == 200
    await assert_balances(api, "90", "50")
    # the wager was not rolled back: nothing to re-apply
    assert_error(await g.rollbackrollback("t1", "10"), 110)
    await assert_balances(api, "90", "50")


async def test_rollbackrollback_amount_must_match(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "10"))["code"] == 200
    assert (await g.rollback("t1"))["code"] == 200
    assert_error(await g.rollbackrollback("t1", "11"), 400)
    await assert_balances(api, "100", "50")
    assert (await g.rollbackrollback("t1", "10"))["code"] == 200
    await assert_balances(api, "90", "50")


async def test_rollbackrollback_without_funds_is_1006(api: Api, g: Groove) -> None:
    assert (await g.wager("t1", "100"))["code"] == 200
    assert (await g.rollback("t1"))["code"] == 200
    assert (await g.wager("t2", "60", rnd="r2"))["code"] == 200
    await assert_balances(api, "40", "50")
    # re-debiting 100 real is impossible now (only 40 real left)
    body = await g.rollbackrollback("t1", "100")
    assert body["code"] == 1006, body
    await assert_balances(api, "40", "50")


# =========================================================================== wagerbybatch


async def batch(
    client: TestClient, g: Groove, bets: list[dict[str, Any]], request_id: str = "b1", **query: str
) -> dict[str, Any]:
    q = {
        "request": "wagerbybatch",
        "gamesessionid": g.common["gamesessionid"],
        "gameid": GAME,
        "apiversion": "1.2",
        "request_id": request_id,
        **query,
    }
    body = {
        "account_id": g.account,
        "game_id": GAME,
        "game_session_id": g.common["gamesessionid"],
        "device": "desktop",
        "bets": bets,
    }
    resp = await client.post("/groove?" + urlencode(q), data=dumps(body), headers={"Content-Type": "application/json"})
    assert resp.status == 200
    out: dict[str, Any] = loads(await resp.text())
    return out


def bet(tx: str, amount: str, rnd: str = "r1") -> dict[str, Any]:
    return {"transaction_id": tx, "round_id": rnd, "amount": Decimal(amount)}


BATCH_FIELDS = {
    "code",
    "status",
    "apiversion",
    "balance",
    "real_balance",
    "bonus_balance",
    "game_mode",
    "order",
    "bets",
}


async def test_wagerbybatch_each_bet_independent(api: Api, client: TestClient, g: Groove) -> None:
    body = await batch(client, g, [bet("b1", "10"), bet("b2", "1000", "r2"), bet("b3", "95", "r3")])
    assert body["code"] == 200, body
    assert set(body) == BATCH_FIELDS
    assert body["status"] == "Success"
    assert body["apiversion"] == "1.2"
    assert_money(body, "0", "45")
    assert (body["game_mode"], body["order"]) == (2, "cash_money")
    bets = body["bets"]
    assert [b["transaction_id"] for b in bets] == ["b1", "b2", "b3"]
    for b in bets:
        assert set(b) == BATCH_BET_FIELDS
    assert (bets[0]["code"], bets[0]["status"]) == (200, "Success")
    assert (bets[0]["real_money_bet"], bets[0]["bonus_money_bet"]) == (Decimal("10"), 0)
    assert_tx_id(bets[0]["provider_transaction_id"])
    assert (bets[1]["code"], bets[1]["status"]) == (1006, "Out of money")
    assert (bets[1]["real_money_bet"], bets[1]["bonus_money_bet"]) == (0, 0)
    assert bets[1]["provider_transaction_id"] is None
    assert (bets[2]["code"], bets[2]["status"]) == (200, "Success")
    assert (bets[2]["real_money_bet"], bets[2]["bonus_money_bet"]) == (Decimal("90"), Decimal("5"))
    assert_tx_id(bets[2]["provider_transaction_id"])
    assert bets[0]["provider_transaction_id"] != bets[2]["provider_transaction_id"]
    await assert_balances(api, "0", "45")
    # the batch's wagers are ordinary wagers: rollback and result work on them
    assert_money(await g.rollback("b3", rnd="r3"), "90", "50")
    assert (await g.result("res1", "4"))["realMoneyWin"] == Decimal("4")
    assert_error(await g.rollback("b2", rnd="r2"), 102)
    await assert_balances(api, "94", "50")


async def test_wagerbybatch_bet_refusals(api: Api, client: TestClient, g: Groove) -> None:
    assert (await g.wager("t0", "1", rnd="closed"))["code"] == 200
    assert (await g.result("res0", "0", rnd="closed"))["code"] == 200
    await assert_balances(api, "99", "50")
    body = await batch(client, g, [bet("b1", "-1"), bet("b2", "1", "closed"), bet("b3", "2", "r9")])
    assert body["code"] == 200, body
    assert [b["code"] for b in body["bets"]] == [110, 409, 200]
    assert_money(body, "97", "50")
    await assert_balances(api, "97", "50")


async def test_wagerbybatch_bad_session_moves_nothing(
    api: Api, client: TestClient, g: Groove, clock: FakeClock
) -> None:
    clock.advance(seconds=3601)
    body = await batch(client, g, [bet("b1", "10")])
    assert_error(body, 1000)
    await assert_balances(api, "100", "50")


async def test_wagerbybatch_malformed(api: Api, client: TestClient, g: Groove) -> None:
    body = await batch(client, g, [bet("b1", "10") | {"amount": "1e1"}])
    assert_error(body, 1008)
    body = await batch(client, g, [])
    assert_error(body, 1008)
    resp = await client.get(
        "/groove?"
        + urlencode(
            {"request": "wagerbybatch", "gamesessionid": g.common["gamesessionid"], "gameid": GAME, "apiversion": "1.2"}
        )
    )
    assert resp.status == 200
    assert_error(loads(await resp.text()), 1008)
    await assert_balances(api, "100", "50")


async def test_wagerbybatch_same_transaction_twice_in_one_batch(api: Api, client: TestClient, g: Groove) -> None:
    body = await batch(client, g, [bet("b1", "10"), bet("b1", "10"), bet("b1", "20")])
    assert body["code"] == 200, body
    bets = body["bets"]
    assert [(b["code"], b["status"]) for b in bets] == [
        (200, "Success"),
        (200, "Success - duplicate request"),
        (400, "Transaction parameter mismatch"),
    ]
    assert bets[0]["provider_transaction_id"] == bets[1]["provider_transaction_id"]
    assert_money(body, "90", "50")
    await assert_balances(api, "90", "50")


async def test_wagerbybatch_free_round_bet(api: Api, client: TestClient, g: Groove) -> None:
    await api.admin("POST", f"/admin/players/{ACCT}/free-rounds", {"frbid": "frb1", "pays_into": "bonus"}, expect=201)
    body = await batch(
        client, g, [bet("b1", "0", "fr1") | {"frb_id": "frb1"}, bet("b2", "3", "fr2") | {"frb_id": "frb1"}]
    )
    assert [b["code"] for b in body["bets"]] == [200, 110]
    assert (body["bets"][0]["real_money_bet"], body["bets"][0]["bonus_money_bet"]) == (0, 0)
    await assert_balances(api, "100", "50")
    res = await g.result("res1", "4", rnd="fr1", frbid="frb1")
    assert (res["code"], res["realMoneyWin"], res["bonusWin"]) == (200, 0, Decimal("4"))
    await assert_balances(api, "100", "54")


async def test_wagerbybatch_bet_limit_per_bet(api: Api, client: TestClient, g: Groove) -> None:
    await api.admin("PUT", f"/admin/players/{ACCT}/limits", {"max_bet": "5"}, expect=200)
    body = await batch(client, g, [bet("b1", "5"), bet("b2", "6", "r2")])
    assert [b["code"] for b in body["bets"]] == [200, 1019]
    await assert_balances(api, "95", "50")


async def test_wagerbybatch_blocked_account(api: Api, client: TestClient, g: Groove) -> None:
    await api.admin("POST", f"/admin/players/{ACCT}/block", expect=200)
    body = await batch(client, g, [bet("b1", "5")])
    if body["code"] == 200:
        assert [b["code"] for b in body["bets"]] == [1035]
    else:
        assert_error(body, 1035)
    await assert_balances(api, "100", "50")
