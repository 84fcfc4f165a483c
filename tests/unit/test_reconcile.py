"""Reconciliation alone (wallet_store/domain/reconcile.py): every planted difference is found,
and nothing else; the import formats parse exactly and refuse what they do not define."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from wallet_store.domain.reconcile import (
    COLUMNS,
    HUB88_COLUMNS,
    FormatError,
    Record,
    Totals,
    parse_csv,
    parse_json,
    reconcile,
)

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def rec(i: int, kind: str = "bet", amount: str | None = "1.5", **kw: object) -> Record:
    base = Record(
        id=f"tx-{i}",
        kind=kind,
        account="p10042",
        round=f"r-{i}",
        amount=None if amount is None else Decimal(amount),
        currency="EUR",
        status="ok",
        time=T0 + timedelta(minutes=i),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def dataset() -> tuple[list[Record], list[Record], dict[tuple[str, str], tuple[str, tuple[str, ...]]]]:
    """100 equal transactions, then one planted difference of every sort; the expected lines."""
    ours = [rec(i, "bet" if i % 3 else "win", f"{i}.00001") for i in range(100)]
    theirs = list(ours)
    planted: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}

    def plant(i: int, outcome: str, fields: tuple[str, ...] = (), **kw: object) -> None:
        theirs[i] = replace(theirs[i], **kw)  # type: ignore[arg-type]
        planted[theirs[i].key] = (outcome, fields)

    plant(10, "different", ("amount",), amount=Decimal("10.00002"))  # one unit of 1e-5
    plant(11, "different", ("status",), status="refused")
    plant(13, "different", ("round",), round="r-other")
    plant(14, "different", ("amount", "status"), amount=Decimal(0), status="rolled_back")
    plant(16, "different", ("account", "currency"), account="p99", currency="USD")
    extra = rec(500, "win", "7")
    theirs.append(extra)
    planted[extra.key] = ("missing_ours", ())
    gone = ours[20]
    theirs.remove(gone)
    planted[gone.key] = ("missing_theirs", ())
    # Same id, another kind: two transactions (a Groove rollback reuses its wager's id).
    rb = rec(22, "rollback", "22.00001")
    ours.append(rb)
    planted[rb.key] = ("missing_theirs", ())
    return ours, theirs, planted


def test_every_planted_difference_is_found_and_nothing_else() -> None:
    ours, theirs, planted = dataset()
    report = reconcile(ours, theirs)
    found = {x.key: (x.outcome, x.fields) for x in report.differences}
    assert found == planted
    assert report.counts() == {"equal": 94, "missing_ours": 1, "missing_theirs": 2, "different": 5}
    assert not report.ok
    assert reconcile(ours, ours).ok


def test_totals_per_currency_and_side() -> None:
    ours, theirs, _ = dataset()
    report = reconcile(ours, theirs)
    assert set(report.ours) == {"EUR"}
    assert set(report.theirs) == {"EUR", "USD"}
    assert report.ours["EUR"].count == 101
    assert report.theirs["USD"].count == 1
    assert report.theirs["USD"].amounts == {"bet": Decimal("16.00001")}
    bets = sum((Decimal(f"{i}.00001") for i in range(100) if i % 3), Decimal(0))
    rollback = Decimal("22.00001")
    assert report.ours["EUR"].amounts == {
        "bet": bets,
        "win": sum((Decimal(f"{i}.00001") for i in range(100) if not i % 3), Decimal(0)),
        "rollback": rollback,
    }
    # Theirs: a refused bet is not money; one unit more on tx-10; tx-14 rolled back at 0.
    want_bets = bets - Decimal("11.00001") - Decimal("16.00001") - Decimal("14.00001") - Decimal("20.00001")
    want_bets += Decimal("0.00001")
    assert report.theirs["EUR"].amounts["bet"] == want_bets


def test_period_keeps_a_pair_when_either_side_is_in_it() -> None:
    a = rec(1)
    late = replace(a, time=T0 + timedelta(hours=1, seconds=1))  # their clock a second later
    start, end = T0, T0 + timedelta(hours=1)
    edge = replace(a, time=end - timedelta(seconds=1))
    report = reconcile([edge], [late], start, end)
    assert [x.outcome for x in report.lines] == ["equal"]  # time is not compared
    outside = reconcile([rec(200)], [], T0, T0 + timedelta(minutes=100))
    assert outside.lines == []
    inside = reconcile([rec(50)], [], T0, T0 + timedelta(minutes=100))
    assert [x.outcome for x in inside.lines] == ["missing_theirs"]


def test_an_amount_a_side_does_not_state_is_not_compared() -> None:
    ours = rec(1, "rollback", "2.5")
    theirs = replace(ours, amount=None)
    report = reconcile([ours], [theirs])
    assert report.ok
    assert report.theirs["EUR"].amounts == {}


def test_a_transaction_listed_twice_is_refused() -> None:
    with pytest.raises(FormatError, match="listed twice"):
        reconcile([rec(1), rec(1)], [])


def test_totals_skip_refused() -> None:
    t = Totals()
    t.add(rec(1, amount="3"))
    t.add(rec(2, amount="4", status="refused"))
    assert t.count == 2
    assert t.amounts == {"bet": Decimal(3)}


# --------------------------------------------------------------------------- formats


HUB88_ITEMS = [
    {
        "transaction_uuid": "7f1e2d3c-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
        "reference_transaction_uuid": None,
        "type": "bet",
        "user": "p10042",
        "round": "r-88123",
        "amount": 200000,
        "currency": "EUR",
        "status": "TS_SUCCESS",
        "created_at": "2026-11-01T12:00:00",
        "game_code": "clt_dragonrising",
    },
    {
        "transaction_uuid": "3a5c7e9f-1b2d-4f6a-8c0e-2d4f6a8c0e1b",
        "type": "win",
        "user": "p10042",
        "round": "r-88123",
        "amount": 123,
        "currency": "EUR",
        "status": "TS_SUCCESS",
        "created_at": "2026-11-01T12:00:05Z",
    },
    {
        "transaction_uuid": "5b7d9f1a-3c5e-4a7b-9d1f-4b6d8f0a2c41",
        "type": "rollback",
        "user": "p10042",
        "round": None,
        "currency": "EUR",
        "status": "TS_DECLINED",
        "created_at": "2026-11-01T14:00:05+02:00",
    },
]


def test_hub88_json_in_the_list_apis_shape() -> None:
    for text in (json.dumps(HUB88_ITEMS), json.dumps({"transactions": HUB88_ITEMS})):
        bet, win, rb = parse_json(text, "hub88")
        assert bet.amount == Decimal(2)
        assert bet.kind == "bet"
        assert bet.status == "ok"
        assert bet.time == T0
        assert win.amount == Decimal("0.00123")
        assert win.time == T0 + timedelta(seconds=5)
        assert rb.amount is None
        assert rb.status == "refused"
        assert rb.round is None
        assert rb.time == T0 + timedelta(seconds=5)


def to_csv(rows: list[dict[str, object]], columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return out.getvalue()


def test_hub88_csv_is_the_same_records() -> None:
    assert parse_csv(to_csv(HUB88_ITEMS, HUB88_COLUMNS), "hub88") == parse_json(json.dumps(HUB88_ITEMS), "hub88")


PLAIN = [
    {
        "id": "w-1",
        "kind": "wager",
        "account": "5179068",
        "round": "r1",
        "amount": "10.0000000001",
        "currency": "EUR",
        "status": "ok",
        "time": "2026-11-01T12:00:00Z",
    },
    {
        "id": "w-1",
        "kind": "rollback",
        "account": "5179068",
        "round": "r1",
        "amount": "10.0000000001",
        "currency": "EUR",
        "status": "ok",
        "time": "2026-11-01T12:01:00Z",
    },
]


def test_groove_plain_format_json_and_csv() -> None:
    from_json = parse_json(json.dumps(PLAIN), "groove")
    assert from_json == parse_csv(to_csv(PLAIN, COLUMNS), "groove")
    assert from_json[0].amount == Decimal("10.0000000001")
    assert {r.key for r in from_json} == {("wager", "w-1"), ("rollback", "w-1")}
    # JSON numbers are exact too (never a float)
    exact = parse_json(
        '[{"id":"a","kind":"result","account":"1","amount":0.1,"currency":"EUR",'
        '"status":"ok","time":"2026-11-01T12:00:00Z"}]',
        "groove",
    )
    assert exact[0].amount == Decimal("0.1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": "1.5"}, "not a non-negative integer"),
        ({"amount": 1.5}, "not an integer amount"),
        ({"amount": -5}, "outside"),
        ({"amount": True}, "not an integer amount"),
        ({"amount": None}, "amount is required"),
        ({"type": "jackpot"}, "type 'jackpot'"),
        ({"status": "TS_MAYBE"}, "status 'TS_MAYBE'"),
        ({"user": ""}, "user must be text"),
        ({"transaction_uuid": "x" * 256}, "transaction_uuid must be text"),
        ({"currency": "€"}, "not a currency code"),
        ({"created_at": "yesterday"}, "not an ISO 8601 time"),
    ],
)
def test_hub88_items_out_of_format_are_refused(change: dict[str, object], message: str) -> None:
    items = [HUB88_ITEMS[0], HUB88_ITEMS[1] | change]
    with pytest.raises(FormatError, match=f"transaction 2: .*{message}"):
        parse_json(json.dumps(items), "hub88")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"items": []}', "expected a JSON array"),
        ("[1]", "not an object"),
        ('[{"amount": 1e5}]', "without an exponent"),
        ('[{"amount": NaN}]', "NaN is not a number"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply|not JSON"),
        ('[{"amount": ' + "1" * 60 + "}]", "longer than"),
    ],
)
def test_json_out_of_format_is_refused(text: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_json(text, "hub88")


def test_plain_format_refusals() -> None:
    with pytest.raises(FormatError, match="status 'done'"):
        parse_json(json.dumps([PLAIN[0] | {"status": "done"}]), "groove")
    with pytest.raises(FormatError, match="negative"):
        parse_json(json.dumps([PLAIN[0] | {"amount": "-1"}]), "groove")
    with pytest.raises(FormatError, match="transaction 1"):
        parse_json(json.dumps([PLAIN[0] | {"amount": "1.00000000001"}]), "groove")  # 11 decimals
    with pytest.raises(FormatError, match="kind 'bet'"):
        parse_json(json.dumps([PLAIN[0] | {"kind": "bet"}]), "groove")
    with pytest.raises(FormatError, match="CSV header lacks"):
        parse_csv("id,kind\nx,wager\n", "groove")
