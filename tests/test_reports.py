"""Regulator reports (open rounds, month-end liability, player statement) through the admin
API on every backend, with money moved through ``/groove`` and time moved by the injected
clock; the ``groove-wallet report`` command line on the SQLite file.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from groove_adapter.jsonout import loads
from tests.conftest import ADMIN_TOKEN, Api, FakeClock
from wallet_store import reports

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "groove-wallet"
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "groove_adapter.cli"]
COMMAND_TIMEOUT = 120  # a bound on a hung subprocess, not a timing assertion
GAME = "80102"
TTL = 30 * 86400
D = Decimal


async def get(client: TestClient, path: str, expect: int = 200, **params: str) -> Any:
    url = path + ("?" + urlencode(params) if params else "")
    resp = await client.get(url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    text = await resp.text()
    assert resp.status == expect, f"{url}: {resp.status} {text}"
    if params.get("format") == "csv" and expect == 200:
        assert resp.content_type == "text/csv"
        assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
        return text
    return loads(text)


def parse_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert text.endswith("\r\n")
    header, body = rows[0], rows[1:]
    return header, [dict(zip(header, r, strict=True)) for r in body]


class Player:
    """One player with a live session, playing through /groove."""

    def __init__(self, api: Api, account: str, sid: str) -> None:
        self.api, self.account, self.sid = api, account, sid

    async def call(self, request: str, expect: int = 200, **params: str) -> dict[str, Any]:
        common = {"accountid": self.account, "gamesessionid": self.sid, "device": "desktop", "apiversion": "1.2"}
        body = await self.api.groove(request, **common, gameid=GAME, **params)
        assert body["code"] == expect, (request, params, body)
        return body

    async def wager(self, rnd: str, tx: str, amount: str) -> dict[str, Any]:
        return await self.call("wager", roundid=rnd, transactionid=tx, betamount=amount)

    async def result(self, rnd: str, tx: str, win: str, status: str = "completed") -> dict[str, Any]:
        return await self.call("result", roundid=rnd, transactionid=tx, result=win, gamestatus=status)

    async def rollback(self, rnd: str, tx: str) -> dict[str, Any]:
        return await self.call("rollback", roundid=rnd, transactionid=tx)


async def player(api: Api, account: str, operator: str, real: str, bonus: str) -> Player:
    await api.player(account, operator_id=operator, real=real, bonus=bonus)
    return Player(api, account, await api.session(account, ttl_seconds=TTL))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --------------------------------------------------------------------------- open rounds


@pytest.fixture
async def limbo(api: Api, clock: FakeClock) -> dict[str, Player]:
    """T0 = 2026-01-15 12:00Z.  Open: a/r1 (T0), b/r1 (T0+20m), a/r4 pending result (T0+30m).
    Not open: a/r2 (completed), a/r3 (rolled back).  Then the clock is at T0+2h."""
    await api.operator("11")
    await api.operator("12")
    a = await player(api, "1001", "11", real="100", bonus="50")
    b = await player(api, "2001", "12", real="0.0000000003", bonus="10")
    await a.wager("r1", "a1", "120.5")  # real 100 + bonus 20.5
    clock.advance(minutes=10)
    await a.wager("r2", "a2", "5")
    await a.result("r2", "a2w", "1")
    await a.wager("r3", "a3", "1")
    await a.rollback("r3", "a3")
    clock.advance(minutes=10)
    await b.wager("r1", "b1", "7.0000000001")  # real 0.0000000003 + bonus 6.9999999998
    clock.advance(minutes=10)
    await a.wager("r4", "a4", "2")
    await a.result("r4", "a4w", "0.5", status="pending")
    clock.advance(minutes=90)
    return {"a": a, "b": b}


async def test_open_rounds_lists_money_in_limbo(client: TestClient, limbo: dict[str, Player]) -> None:
    body = await get(client, "/admin/reports/open-rounds", older_than="3600")
    assert body["report"] == "open-rounds"
    assert body["as_of"] == "2026-01-15T14:00:00.000000Z"
    assert body["older_than_seconds"] == 3600
    assert body["count"] == 3
    assert [(r["account_id"], r["round_id"]) for r in body["rounds"]] == [
        ("1001", "r1"),
        ("2001", "r1"),
        ("1001", "r4"),
    ]
    r1, b1, r4 = body["rounds"]
    assert r1 == {
        "operator_id": "11",
        "account_id": "1001",
        "game_id": GAME,
        "round_id": "r1",
        "currency": "EUR",
        "real_bet": "100",
        "bonus_bet": "20.5",
        "total_bet": "120.5",
        "real_win": "0",
        "bonus_win": "0",
        "wagers": 1,
        "results": 0,
        "opened_at": "2026-01-15T12:00:00.000000Z",
        "age_seconds": 7200,
    }
    assert (b1["operator_id"], b1["real_bet"], b1["bonus_bet"], b1["age_seconds"]) == (
        "12",
        "0.0000000003",
        "6.9999999998",
        6000,
    )
    # a pending result does not take the round out of limbo
    assert (r4["results"], r4["bonus_win"], r4["bonus_bet"], r4["age_seconds"]) == (1, "0.5", "2", 5400)
    assert body["totals"] == [
        {
            "operator_id": "11",
            "currency": "EUR",
            "rounds": 2,
            "real_bet": "100",
            "bonus_bet": "22.5",
            "total_bet": "122.5",
        },
        {
            "operator_id": "12",
            "currency": "EUR",
            "rounds": 1,
            "real_bet": "0.0000000003",
            "bonus_bet": "6.9999999998",
            "total_bet": "7.0000000001",
        },
    ]


async def test_open_rounds_threshold_is_strict(client: TestClient, limbo: dict[str, Player]) -> None:
    """b/r1 is exactly 6000 s old: not older than 6000, older than 5999."""
    at_edge = await get(client, "/admin/reports/open-rounds", older_than="6000")
    assert [r["round_id"] for r in at_edge["rounds"]] == ["r1"]
    assert at_edge["rounds"][0]["account_id"] == "1001"
    past_edge = await get(client, "/admin/reports/open-rounds", older_than="5999")
    assert [r["account_id"] for r in past_edge["rounds"]] == ["1001", "2001"]
    everything = await get(client, "/admin/reports/open-rounds", older_than="0")
    assert everything["count"] == 3
    default = await get(client, "/admin/reports/open-rounds")
    assert default["older_than_seconds"] == 3600
    assert default["count"] == 3


async def test_open_rounds_leave_when_settled(client: TestClient, clock: FakeClock, limbo: dict[str, Player]) -> None:
    await limbo["a"].result("r1", "a1w", "0")
    await limbo["a"].result("r4", "a4w2", "1", status="completed")
    await limbo["b"].rollback("r1", "b1")
    body = await get(client, "/admin/reports/open-rounds", older_than="0")
    assert (body["count"], body["rounds"], body["totals"]) == (0, [], [])


async def test_open_rounds_operator_filter(client: TestClient, limbo: dict[str, Player]) -> None:
    body = await get(client, "/admin/reports/open-rounds", older_than="0", operator_id="12")
    assert body["operator_id"] == "12"
    assert [(r["account_id"], r["total_bet"]) for r in body["rounds"]] == [("2001", "7.0000000001")]
    await get(client, "/admin/reports/open-rounds", 404, operator_id="99")


async def test_open_rounds_csv(client: TestClient, limbo: dict[str, Player]) -> None:
    text = await get(client, "/admin/reports/open-rounds", older_than="3600", format="csv")
    header, rows = parse_csv(text)
    assert header == [
        "operator_id",
        "account_id",
        "game_id",
        "round_id",
        "currency",
        "real_bet",
        "bonus_bet",
        "total_bet",
        "real_win",
        "bonus_win",
        "wagers",
        "results",
        "opened_at",
        "age_seconds",
    ]
    as_json = await get(client, "/admin/reports/open-rounds", older_than="3600")
    assert rows == [{k: str(v) for k, v in r.items()} for r in as_json["rounds"]]
    assert rows[1]["bonus_bet"] == "6.9999999998"


async def test_open_rounds_csv_neutralises_formulas(api: Api, client: TestClient, clock: FakeClock) -> None:
    """Aggregator-chosen ids may start like a formula (``@`` and ``-`` are id characters; ``=``
    and ``+`` are refused by /groove): a spreadsheet must not run them as formulas."""
    await api.operator("11")
    a = await player(api, "1001", "11", real="10", bonus="0")
    await a.wager("@HYPERLINK", "t1", "1")
    clock.advance(seconds=1)
    _, rows = parse_csv(await get(client, "/admin/reports/open-rounds", older_than="0", format="csv"))
    assert rows[0]["round_id"] == "'@HYPERLINK"
    body = await get(client, "/admin/reports/open-rounds", older_than="0")
    assert body["rounds"][0]["round_id"] == "@HYPERLINK"


async def test_open_rounds_pages_through_equal_timestamps(
    api: Api, client: TestClient, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keyset pagination (page size forced to 2) neither skips nor repeats rounds that share
    a timestamp."""
    monkeypatch.setattr(reports.limbo, "PAGE", 2)
    await api.operator("11")
    await api.operator("12")
    a = await player(api, "1001", "11", real="100", bonus="0")
    b = await player(api, "2001", "12", real="100", bonus="0")
    for rnd in ("r5", "r1", "r3", "r2", "r4"):  # five rounds opened at the same instant
        await a.wager(rnd, "t" + rnd, "1")
    await b.wager("r1", "b1", "1")
    clock.advance(seconds=1)
    await a.wager("r0", "t0", "1")
    clock.advance(seconds=1)
    body = await get(client, "/admin/reports/open-rounds", older_than="0")
    assert [(r["account_id"], r["round_id"]) for r in body["rounds"]] == [
        ("1001", "r1"),
        ("1001", "r2"),
        ("1001", "r3"),
        ("1001", "r4"),
        ("1001", "r5"),
        ("2001", "r1"),
        ("1001", "r0"),
    ]
    only_b = await get(client, "/admin/reports/open-rounds", older_than="0", operator_id="12")
    assert [(r["account_id"], r["round_id"]) for r in only_b["rounds"]] == [("2001", "r1")]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"older_than": "-1"}, "older_than"),
        ({"older_than": "1.5"}, "older_than"),
        ({"older_than": "abc"}, "older_than"),
        ({"older_than": "316224001"}, "older_than"),
        ({"older_than": "99999999999999999999"}, "older_than"),
        ({"older_than": "٣"}, "older_than"),
        ({"format": "xml"}, "format"),
        ({"operator_id": "bad id"}, "operator_id"),
        ({"operator": "11"}, "unknown parameter"),
    ],
)
async def test_open_rounds_bad_parameters_400(
    client: TestClient, limbo: dict[str, Player], params: dict[str, str], message: str
) -> None:
    body = await get(client, "/admin/reports/open-rounds", 400, **params)
    assert message in body["error"]


async def test_reports_refuse_repeated_parameters_and_need_the_token(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    resp = await client.get("/admin/reports/open-rounds?older_than=1&older_than=2", headers=auth)
    assert resp.status == 400
    assert "more than once" in loads(await resp.text())["error"]
    for path in ("/admin/reports/open-rounds", "/admin/reports/liability", "/admin/reports/statement"):
        assert (await client.get(path)).status == 401
        assert (await client.get(path, headers={"Authorization": "Bearer nope"})).status == 401


# --------------------------------------------------------------------------- month-end liability


@pytest.fixture
async def months(api: Api, clock: FakeClock) -> dict[str, Any]:
    """January and February 2026 of three operators (11 and 12 in EUR, 13 in USD).

    End of January: A (11) has bonus 23.5 and 120.5 on the open round r1; B (12) has real 25
    and 5 on the open round r1; C (13) has real 9 USD and 1 on the open round r2.  February
    starts with A's wager at exactly 2026-02-01T00:00:00Z.
    """
    await api.operator("11")
    await api.operator("12")
    await api.operator("13", currency="USD")
    a = await player(api, "1001", "11", real="100", bonus="50")
    b = await player(api, "2001", "12", real="30", bonus="0")
    c = await player(api, "3001", "13", real="10", bonus="0")
    await a.wager("r1", "a1", "120.5")  # real 100, bonus 20.5: open over the month end
    clock.advance(hours=1)
    await a.wager("r2", "a2", "10")  # bonus 10
    await a.result("r2", "a2w", "4")  # closed in January
    clock.advance(hours=1)
    await b.wager("r1", "b1", "5")  # open over the month end, rolled back in February
    clock.advance(hours=1)
    await c.wager("r1", "c1", "2.5")
    await c.rollback("r1", "c1")  # rolled back in January: not open
    await c.wager("r2", "c2", "1")  # open over the month end
    jan_end_live = {
        acct: await api.balances(acct, cur) for acct, cur in (("1001", "EUR"), ("2001", "EUR"), ("3001", "USD"))
    }

    clock.t = datetime(2026, 2, 1, tzinfo=UTC)  # exactly the cutoff: belongs to February
    await a.wager("r5", "a5", "1")
    clock.t = datetime(2026, 2, 2, 9, tzinfo=UTC)
    await a.result("r1", "a1w", "50")  # closes r1 in February
    await b.wager("r1", "b2", "3")  # a February wager on a round open since January
    clock.advance(days=1)
    await b.rollback("r1", "b1")
    clock.advance(days=1)
    await c.result("r2", "c2w", "0")
    await api.admin(
        "POST",
        "/admin/players/1001/adjust",
        {"currency": "EUR", "real": "10", "bonus": "0", "reason": "goodwill", "idempotency_key": "adj-1"},
        expect=201,
    )
    clock.t = datetime(2026, 3, 1, tzinfo=UTC)
    feb_end_live = {
        acct: await api.balances(acct, cur) for acct, cur in (("1001", "EUR"), ("2001", "EUR"), ("3001", "USD"))
    }
    return {"a": a, "b": b, "c": c, "jan": jan_end_live, "feb": feb_end_live}


def lines(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(ln["operator_id"], ln["currency"]): ln for ln in body["lines"]}


async def test_liability_at_a_past_month_end(client: TestClient, months: dict[str, Any]) -> None:
    body = await get(client, "/admin/reports/liability", month="2026-01")
    assert (body["report"], body["month"], body["cutoff"]) == ("liability", "2026-01", "2026-02-01T00:00:00.000000Z")
    got = lines(body)
    assert list(got) == [("11", "EUR"), ("12", "EUR"), ("13", "USD")]
    assert got[("11", "EUR")] == {
        "operator_id": "11",
        "currency": "EUR",
        "wallets": 1,
        "real": "0",
        "bonus": "23.5",
        "available": "23.5",
        "reserved": "0",
        "open_bets_real": "100",
        "open_bets_bonus": "20.5",
        "open_bets": "120.5",
        "open_rounds": 1,
        "liability": "144",  # 150 deposited - 6 lost on r2
    }
    assert {k: got[("12", "EUR")][k] for k in ("available", "open_bets", "open_rounds", "liability")} == {
        "available": "25",
        "open_bets": "5",  # not the February wager, not undone by the February rollback
        "open_rounds": 1,
        "liability": "30",
    }
    assert {k: got[("13", "USD")][k] for k in ("real", "open_bets_real", "open_rounds", "liability")} == {
        "real": "9",
        "open_bets_real": "1",
        "open_rounds": 1,
        "liability": "10",
    }
    # the balances are the ones the wallets really had at the end of January
    for (op, cur), acct in ((("11", "EUR"), "1001"), (("12", "EUR"), "2001"), (("13", "USD"), "3001")):
        assert (D(got[(op, cur)]["real"]), D(got[(op, cur)]["bonus"])) == months["jan"][acct]


async def test_liability_of_the_next_month_and_the_cutoff_instant(client: TestClient, months: dict[str, Any]) -> None:
    got = lines(await get(client, "/admin/reports/liability", month="2026-02"))
    a = got[("11", "EUR")]
    # r1 won 50 in February, r5 (placed exactly at the January cutoff) is open, +10 adjustment
    assert (D(a["available"]), a["open_bets"], a["open_rounds"], a["liability"]) == (D("82.5"), "1", 1, "83.5")
    assert (D(a["real"]), D(a["bonus"])) == months["feb"]["1001"]
    assert {k: got[("12", "EUR")][k] for k in ("real", "open_bets", "liability")} == {
        "real": "27",
        "open_bets": "3",
        "liability": "30",
    }
    assert {k: got[("13", "USD")][k] for k in ("real", "open_bets", "open_rounds", "liability")} == {
        "real": "9",
        "open_bets": "0",
        "open_rounds": 0,
        "liability": "9",
    }


async def test_liability_of_a_past_month_does_not_change(
    api: Api, client: TestClient, clock: FakeClock, months: dict[str, Any]
) -> None:
    before = await get(client, "/admin/reports/liability", month="2026-01")
    clock.advance(days=3)
    a = Player(api, "1001", await api.session("1001", ttl_seconds=TTL))
    await a.wager("r9", "a9", "2")
    await months["b"].rollback("r1", "b2")
    assert await get(client, "/admin/reports/liability", month="2026-01") == before


async def test_liability_operator_filter(client: TestClient, months: dict[str, Any]) -> None:
    body = await get(client, "/admin/reports/liability", month="2026-01", operator_id="12")
    assert body["operator_id"] == "12"
    assert [(ln["operator_id"], ln["liability"]) for ln in body["lines"]] == [("12", "30")]
    await get(client, "/admin/reports/liability", 404, month="2026-01", operator_id="77")


async def test_liability_csv(client: TestClient, months: dict[str, Any]) -> None:
    header, rows = parse_csv(await get(client, "/admin/reports/liability", month="2026-01", format="csv"))
    assert header == [
        "month",
        "cutoff",
        "operator_id",
        "currency",
        "wallets",
        "real",
        "bonus",
        "available",
        "reserved",
        "open_bets_real",
        "open_bets_bonus",
        "open_bets",
        "open_rounds",
        "liability",
    ]
    assert [(r["operator_id"], r["currency"], r["liability"]) for r in rows] == [
        ("11", "EUR", "144"),
        ("12", "EUR", "30"),
        ("13", "USD", "10"),
    ]
    for r in rows:
        assert r["month"] == "2026-01"
        assert r["cutoff"] == "2026-02-01T00:00:00.000000Z"
        assert D(r["available"]) + D(r["reserved"]) + D(r["open_bets"]) == D(r["liability"])


async def test_liability_only_for_ended_months(client: TestClient, clock: FakeClock, api: Api) -> None:
    await api.operator("11")
    clock.t = datetime(2026, 3, 1, tzinfo=UTC) - timedelta(microseconds=1)
    body = await get(client, "/admin/reports/liability", 400, month="2026-02")
    assert "has not ended" in body["error"]
    clock.t = datetime(2026, 3, 1, tzinfo=UTC)
    assert (await get(client, "/admin/reports/liability", month="2026-02"))["lines"] == []


@pytest.mark.parametrize(
    "month", ["", "2026-13", "2026-00", "2026-1", "26-01", "1999-12", "2026-01-01", "\uff12\uff10\uff12\uff16-01"]
)
async def test_liability_bad_month_400(client: TestClient, month: str) -> None:
    body = await get(client, "/admin/reports/liability", 400, month=month)
    assert "month" in body["error"]


# --------------------------------------------------------------------------- player statement


def tie_out(wallet: dict[str, Any]) -> None:
    """Opening + every movement = closing, and each movement starts where the last one ended."""
    bal = {k: D(wallet["opening"][k]) for k in ("real", "bonus", "reserved")}
    for m in wallet["movements"]:
        assert {k: D(m["before"][k]) for k in bal} == bal, m
        for k in bal:
            bal[k] += D(m[f"{k}_delta"])
        assert {k: D(m["after"][k]) for k in bal} == bal, m
        assert D(m["after"]["available"]) - D(m["before"]["available"]) == D(m["available_delta"])
    assert {k: D(wallet["closing"][k]) for k in bal} == bal
    for k in bal:
        assert D(wallet["opening"][k]) + D(wallet["totals"][f"{k}_delta"]) == D(wallet["closing"][k])
    assert wallet["reconciled"] is True


async def test_statement_of_a_month(client: TestClient, months: dict[str, Any]) -> None:
    body = await get(
        client, "/admin/reports/statement", account_id="1001", **{"from": "2026-02-01", "to": "2026-03-01"}
    )
    assert (body["report"], body["account_id"], body["operator_id"]) == ("statement", "1001", "11")
    assert (body["from"], body["to"]) == ("2026-02-01T00:00:00.000000Z", "2026-03-01T00:00:00.000000Z")
    [w] = body["wallets"]
    assert w["currency"] == "EUR"
    assert w["opening"] | {"seq": 0} == {"real": "0", "bonus": "23.5", "reserved": "0", "available": "23.5", "seq": 0}
    assert [(m["kind"], m["reference"], m["available_delta"]) for m in w["movements"]] == [
        ("wager", "wager:a5", "-1"),  # stamped exactly at `from`: in
        ("result", "result:a1w", "50"),
        ("adjust", m_ref(w, 2), "10"),
    ]
    assert w["movements"][2]["reason"] == "goodwill"
    assert w["movements"][0]["seq"] == w["opening"]["seq"] + 1
    assert (D(w["closing"]["real"]), D(w["closing"]["bonus"])) == months["feb"]["1001"]
    assert w["totals"]["movements"] == 3
    assert w["totals"]["available_delta"] == "59"
    tie_out(w)


def m_ref(wallet: dict[str, Any], i: int) -> str:
    ref = wallet["movements"][i]["reference"]
    assert isinstance(ref, str)
    assert ref
    return ref


async def test_statement_bounds_are_from_inclusive_to_exclusive(client: TestClient, months: dict[str, Any]) -> None:
    jan = await get(client, "/admin/reports/statement", account_id="1001", **{"from": "2026-01-01", "to": "2026-02-01"})
    [w] = jan["wallets"]
    assert w["opening"] == {"real": "0", "bonus": "0", "reserved": "0", "available": "0", "seq": 0}
    assert [m["kind"] for m in w["movements"]] == ["initial", "wager", "wager", "result"]
    assert "wager:a5" not in [m["reference"] for m in w["movements"]]  # stamped exactly at `to`
    assert w["closing"]["available"] == "23.5"
    tie_out(w)
    # an instant with an offset is the same instant in UTC
    same = await get(
        client,
        "/admin/reports/statement",
        account_id="1001",
        **{"from": "2026-01-01T01:00:00+01:00", "to": "2026-02-01T00:00:00Z"},
    )
    assert same["wallets"] == jan["wallets"]
    # a period with no movement: opening = closing
    quiet = await get(
        client, "/admin/reports/statement", account_id="1001", **{"from": "2026-02-10", "to": "2026-02-11"}
    )
    [q] = quiet["wallets"]
    assert q["movements"] == []
    assert q["opening"]["available"] == q["closing"]["available"] == "82.5"
    tie_out(q)
    # before the wallet existed: no wallet at all
    empty = await get(
        client, "/admin/reports/statement", account_id="1001", **{"from": "2025-01-01", "to": "2025-02-01"}
    )
    assert empty["wallets"] == []


async def test_statement_csv_ties_out(client: TestClient, months: dict[str, Any]) -> None:
    text = await get(
        client,
        "/admin/reports/statement",
        account_id="2001",
        format="csv",
        **{"from": "2026-01-01", "to": "2026-03-01"},
    )
    header, rows = parse_csv(text)
    assert header[:8] == ["account_id", "currency", "row", "seq", "created_at", "kind", "reference", "reason"]
    assert [r["row"] for r in rows] == ["opening", "movement", "movement", "movement", "movement", "closing"]
    assert [r["kind"] for r in rows[1:-1]] == ["initial", "wager", "wager", "rollback"]
    opening, moves, closing = rows[0], rows[1:-1], rows[-1]
    for k in ("real", "bonus", "reserved", "available"):
        total = sum((D(m[f"{k}_delta"]) for m in moves), D(0))
        assert D(opening[f"{k}_after"]) + total == D(closing[f"{k}_after"])
        assert D(closing[f"{k}_delta"]) == total
    assert closing["available_after"] == "27"
    for prev, nxt in zip([opening, *moves], moves, strict=False):
        assert prev["available_after"] == nxt["available_before"]


async def test_statement_currency_filter(client: TestClient, months: dict[str, Any]) -> None:
    period = {"from": "2026-01-01", "to": "2026-03-01"}
    usd = await get(client, "/admin/reports/statement", account_id="3001", currency="USD", **period)
    assert [w["currency"] for w in usd["wallets"]] == ["USD"]
    tie_out(usd["wallets"][0])
    none = await get(client, "/admin/reports/statement", account_id="3001", currency="EUR", **period)
    assert none["wallets"] == []


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"from": "2026-01-01", "to": "2026-02-01"}, 400, "account_id is required"),
        ({"account_id": "1001", "to": "2026-02-01"}, 400, "from is required"),
        ({"account_id": "1001", "from": "2026-02-01", "to": "2026-02-01"}, 400, "later than"),
        ({"account_id": "1001", "from": "2026-02-01", "to": "2026-01-01"}, 400, "later than"),
        ({"account_id": "1001", "from": "2025-01-01", "to": "2026-01-03"}, 400, "366 days"),
        ({"account_id": "1001", "from": "2026-01-01T00:00:00", "to": "2026-02-01"}, 400, "timezone"),
        ({"account_id": "1001", "from": "yesterday", "to": "2026-02-01"}, 400, "from must be"),
        ({"account_id": "1001", "from": "2026-02-30", "to": "2026-03-01"}, 400, "from must be"),
        ({"account_id": "1001", "from": "2026-01-01", "to": "0001-01-01"}, 400, "to must be"),
        ({"account_id": "10-01", "from": "2026-01-01", "to": "2026-02-01"}, 400, "account_id"),
        ({"account_id": "1001", "from": "2026-01-01", "to": "2026-02-01", "currency": "eur"}, 400, "currency"),
        ({"account_id": "424242", "from": "2026-01-01", "to": "2026-02-01"}, 404, "not found"),
    ],
)
async def test_statement_bad_parameters(
    client: TestClient, api: Api, params: dict[str, str], status: int, message: str
) -> None:
    await api.operator("11")
    await api.player("1001")
    body = await get(client, "/admin/reports/statement", status, **params)
    assert message in body["error"]


# --------------------------------------------------------------------------- command line


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
    return subprocess.run(
        [*CLI, "report", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


async def test_cli_reports_equal_the_admin_api(
    backend: str, client: TestClient, months: dict[str, Any], tmp_path: Path
) -> None:
    if backend != "sqlite":
        pytest.skip("the CLI test reads the SQLite file the server wrote")
    db = ["--database", f"sqlite:///{tmp_path / 'wallet.db'}"]

    proc = cli("liability", "--month", "2026-01", "--format", "csv", *db)
    assert proc.returncode == 0, proc.stderr
    api_csv = await get(client, "/admin/reports/liability", month="2026-01", format="csv")
    assert list(csv.reader(io.StringIO(proc.stdout))) == list(csv.reader(io.StringIO(api_csv)))
    assert len(proc.stdout.splitlines()) == 4  # header + three lines

    proc = cli("statement", "--account", "1001", "--from", "2026-02-01", "--to", "2026-03-01", *db)
    assert proc.returncode == 0, proc.stderr
    api_body = await get(
        client, "/admin/reports/statement", account_id="1001", **{"from": "2026-02-01", "to": "2026-03-01"}
    )
    assert loads(proc.stdout) == api_body

    # the CLI's clock is the real one: every round still open is older than a minute
    proc = cli("open-rounds", "--older-than", "60", "--operator", "11", *db)
    assert proc.returncode == 0, proc.stderr
    body = loads(proc.stdout)
    assert [(r["account_id"], r["round_id"], r["total_bet"]) for r in body["rounds"]] == [("1001", "r5", "1")]

    for args, message in (
        (("liability", "--month", "2026-1"), "month must be YYYY-MM"),
        (("open-rounds", "--older-than", "-5"), "--older-than must be"),
        (("statement", "--account", "1001", "--from", "2026-02-01", "--to", "2026-01-01"), "later than"),
        (("statement", "--account", "999", "--from", "2026-01-01", "--to", "2026-02-01"), "not found"),
    ):
        proc = cli(*args, *db)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert message in proc.stderr
        assert proc.stdout == ""
