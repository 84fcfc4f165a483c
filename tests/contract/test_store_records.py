"""The storage contract, continued, on both backends: games, currencies and rates, identities,
journal pages, holds, flows, payments, purchases, the SMS outbox, phones, game rate limits,
the audit streams, and the filtered reads whose predicates the domain decides (the rows a
store selects are exactly the ones :mod:`wallet_store.domain.selection` accepts)."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.contract.support import BIG, T0, T_IST, T_LATE, TINY, ZERO, D, assert_same, collect, seed
from tests.contract.test_store_core import make_tx
from wallet_store import model
from wallet_store.domain import selection
from wallet_store.errors import Conflict, TechnicalError
from wallet_store.loads import load_view_by_reads
from wallet_store.model import (
    AdminOp,
    Currency,
    Flow,
    Game,
    Hold,
    ItemPurchase,
    Payment,
    RateChange,
    Round,
    SmsMessage,
)
from wallet_store.ports import BetQuery
from wallet_store.rate_limits import GameRateLimits

HERE = Path(__file__).resolve().parent
PORTS = HERE.parent.parent / "wallet_store" / "ports.py"


def make_game(game_id: str = "g1", key: str = "k1") -> Game:
    return Game(game_id=game_id, operator_id="op1", name=f"Game {game_id}", key_hash=model.key_hash(key), created_at=T0)


def make_hold(hold_id: str, account_id: str = "p1", *, expires_in: int = 60, **kw: Any) -> Hold:
    base: dict[str, Any] = {
        "currency": "EUR",
        "amount": D("1.5"),
        "real": D("1"),
        "bonus": D("0.5"),
        "reference": f"flow-{hold_id}",
        "state": "open",
        "created_at": T0,
        "expires_at": T0 + timedelta(seconds=expires_in),
    }
    base.update(kw)
    return Hold(hold_id=hold_id, account_id=account_id, **base)


def make_flow(flow_id: str, hold_id: str, **kw: Any) -> Flow:
    base: dict[str, Any] = {
        "kind": "transfer",
        "operator_id": "op1",
        "game_id": "g1",
        "idempotency_key": f"key-{flow_id}",
        "fingerprint": "fp",
        "source_account": "p1",
        "target_account": "p2",
        "target_email": None,
        "currency": "EUR",
        "amount": D("1.5"),
        "hold_id": hold_id,
        "state": "pending",
        "code_hash": "salted",
        "attempts": 0,
        "phone_hint": "***12",
        "note": "for lunch",
        "created_at": T0,
        "updated_at": T0,
    }
    base.update(kw)
    return Flow(flow_id=flow_id, **base)


async def test_games_and_key_rotation(store: Any) -> None:
    await seed(store, ["p1"])
    await store.write(lambda tx: tx.insert_game(make_game()))
    got = await store.read(lambda tx: tx.get_game("g1"))
    assert_same(make_game(), got)
    assert_same(make_game(), await store.read(lambda tx: tx.get_game_by_key_hash(model.key_hash("k1"))))
    assert await store.read(lambda tx: tx.get_game("G1")) is None
    with pytest.raises(Conflict):  # the key hash is unique
        await store.write(lambda tx: tx.insert_game(make_game("g2", "k1")))

    assert await store.write(lambda tx: tx.set_game_key_hash("g1", model.key_hash("k2"))) is True
    assert await store.write(lambda tx: tx.set_game_key_hash("nope", model.key_hash("k3"))) is False
    assert await store.read(lambda tx: tx.get_game_by_key_hash(model.key_hash("k1"))) is None
    assert_same(make_game(key="k2"), await store.read(lambda tx: tx.get_game_by_key_hash(model.key_hash("k2"))))


async def test_currencies_rates_and_identities(store: Any) -> None:
    await seed(store, ["p1", "p2"])
    gold = Currency("op1", "GOLD", 2, "Gold", "G", None, ZERO, T0, T0)
    eur = Currency("op1", "EUR", 1, "Euro", "E", D("1.08"), BIG, T0, T0)
    await store.write(lambda tx: tx.save_currency(gold))
    await store.write(lambda tx: tx.save_currency(eur))
    assert [c.code for c in await store.read(lambda tx: tx.list_currencies("op1"))] == ["EUR", "GOLD"]
    assert await store.read(lambda tx: tx.list_currencies("op2")) == []

    # save_currency updates by (operator, code)
    richer = replace(gold, name="Gold coins", usd_rate=TINY, start_amount=D("5"), updated_at=T_LATE)
    await store.write(lambda tx: tx.save_currency(richer))
    assert_same(richer, await store.read(lambda tx: tx.get_currency("op1", "GOLD")))
    assert await store.read(lambda tx: tx.get_currency("op1", "USD")) is None

    changes = [RateChange("op1", "GOLD", TINY, T0, "first"), RateChange("op1", "GOLD", None, T_IST)]
    for ch in changes:
        await store.write(lambda tx, ch=ch: tx.insert_rate_change(ch))
    got = await store.read(lambda tx: tx.list_rate_changes("op1", "GOLD"))
    assert len(got) == 2
    for exp, row in zip(changes, got, strict=True):
        assert_same(exp, row)
    assert await store.read(lambda tx: tx.list_rate_changes("op1", "EUR")) == []

    await store.write(lambda tx: tx.insert_identity("op1", "ext-7", "p2", T0))
    assert await store.read(lambda tx: tx.get_identity("op1", "ext-7")) == "p2"
    assert await store.read(lambda tx: tx.get_identity("op1", "EXT-7")) is None
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.insert_identity("op1", "ext-7", "p1", T0))


async def test_journal_list_and_pages(store: Any) -> None:
    await seed(store, ["p1"])
    deltas = [D("10"), D("-2.5"), ZERO, D("4"), D("-1")]

    async def play(tx: Any) -> list[model.JournalEntry]:
        await tx.lock_player("p1")
        w = await tx.get_wallet("p1", "EUR")
        entries = []
        for i, d in enumerate(deltas):
            held = D("1") if d.is_zero() else ZERO  # moves no available money: flow "none"
            w, e = model.move(w, kind="k", real=d, reserved=held, reference=f"r{i}", now=T0 + timedelta(minutes=i))
            entries.append(e)
        await tx.save_wallet(w, entries)
        return entries

    entries = await store.write(play)
    listed = await store.read(lambda tx: tx.list_journal("p1", "EUR"))
    assert [e.seq for e in listed] == [1, 2, 3, 4, 5]
    for exp, got in zip(entries, listed, strict=True):
        assert_same(exp, got)
    assert await store.read(lambda tx: tx.list_journal("p1", "USD")) == []

    async def page(**kw: Any) -> tuple[int, list[int]]:
        args: dict[str, Any] = {"flows": None, "since": None, "until": None, "offset": 0, "limit": 10}
        args.update(kw)
        total, rows = await store.read(lambda tx: tx.journal_page("p1", "EUR", **args))
        return total, [e.seq for e in rows]

    assert await page() == (5, [5, 4, 3, 2, 1])
    assert await page(offset=1, limit=2) == (5, [4, 3])
    assert await page(flows=["credit"]) == (2, [4, 1])
    assert await page(flows=["debit", "none"]) == (3, [5, 3, 2])
    assert await page(flows=[]) == (0, [])
    assert await page(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3)) == (2, [3, 2])
    since = await store.read(lambda tx: tx.journal_since("p1", "EUR", T0 + timedelta(minutes=3)))
    assert [e.seq for e in since] == [4, 5]


async def test_holds_and_the_due_selection(store: Any) -> None:
    await seed(store, ["p1", "p2"])
    now = T0 + timedelta(seconds=100)
    holds = [
        make_hold("h1", expires_in=100),  # due exactly now
        make_hold("h2", expires_in=50),  # due earlier
        make_hold("h3", expires_in=50, account_id="p2"),  # same time, other account
        make_hold("h4", expires_in=101),  # not yet
        make_hold("h5", expires_in=10, state="captured", closed_at=T0, close_reason="captured"),
        make_hold("h0", expires_in=50),  # ties on time: by id
    ]
    for h in holds:
        await store.write(lambda tx, h=h: tx.insert_hold(h))
    assert_same(holds[0], await store.read(lambda tx: tx.get_hold("h1")))
    assert await store.read(lambda tx: tx.get_hold("nope")) is None

    expected = sorted((h for h in holds if selection.hold_is_due(h, now)), key=selection.due_order)
    got = await store.read(lambda tx: tx.list_due_holds(now, 100))
    assert [h.hold_id for h in got] == [h.hold_id for h in expected] == ["h0", "h2", "h3", "h1"]
    assert [h.hold_id for h in await store.read(lambda tx: tx.list_due_holds(now, 2))] == ["h0", "h2"]
    mine = await store.read(lambda tx: tx.list_due_holds(now, 100, "p1"))
    assert [h.hold_id for h in mine] == [h.hold_id for h in expected if h.account_id == "p1"]

    open_p1 = sum(1 for h in holds if selection.hold_is_open(h) and h.account_id == "p1")
    assert await store.read(lambda tx: tx.count_open_holds("p1")) == open_p1 == 4

    released = replace(holds[0], state="released", closed_at=now, close_reason="expired")
    await store.write(lambda tx: tx.update_hold(released))
    assert_same(released, await store.read(lambda tx: tx.get_hold("h1")))
    assert await store.read(lambda tx: tx.count_open_holds("p1")) == 3
    with pytest.raises(TechnicalError):
        await store.write(lambda tx: tx.update_hold(make_hold("nope")))

    streamed = await collect(store.open_holds())
    assert [h.hold_id for h in streamed] == ["h0", "h2", "h4", "h3"]  # by account, currency, id
    assert all(selection.hold_is_open(h) for h in streamed)


async def test_flows_payments_and_purchases(store: Any) -> None:
    await seed(store, ["p1", "p2"])
    await store.write(lambda tx: tx.insert_hold(make_hold("h1")))
    flow = make_flow("f1", "h1")
    await store.write(lambda tx: tx.insert_flow(flow))
    assert_same(flow, await store.read(lambda tx: tx.get_flow("f1")))
    assert_same(flow, await store.read(lambda tx: tx.get_flow_by_key("g1", "transfer", "key-f1")))
    assert await store.read(lambda tx: tx.get_flow_by_key("g1", "send", "key-f1")) is None
    with pytest.raises(Conflict):
        await store.write(lambda tx: tx.insert_flow(replace(flow, flow_id="f2")))
    claimed = replace(flow, state="claimed", attempts=2, closed_reason="", steps='{"claim": 1}', updated_at=T_LATE)
    await store.write(lambda tx: tx.update_flow(claimed))
    assert_same(claimed, await store.read(lambda tx: tx.get_flow("f1")))
    with pytest.raises(TechnicalError):
        await store.write(lambda tx: tx.update_flow(replace(flow, flow_id="nope")))

    pay = Payment(
        "pay1", "op1", "g1", "pk", "fp", "p1", "EUR", D("9.99"), D("1.08"), D("9.25"), "demo", "processing", T0, T0
    )
    await store.write(lambda tx: tx.insert_payment(pay))
    assert_same(pay, await store.read(lambda tx: tx.get_payment("pay1")))
    assert_same(pay, await store.read(lambda tx: tx.get_payment_by_key("g1", "pk")))
    assert await store.read(lambda tx: tx.get_payment_by_key("g2", "pk")) is None
    done = replace(
        pay, state="succeeded", provider_ref="ref", client_secret="cs", message="ok", result="{}", updated_at=T_LATE
    )
    await store.write(lambda tx: tx.update_payment(done))
    assert_same(done, await store.read(lambda tx: tx.get_payment("pay1")))
    with pytest.raises(TechnicalError):
        await store.write(lambda tx: tx.update_payment(replace(pay, payment_id="nope")))

    item = ItemPurchase(
        "i1", "op1", "g1", "ik", "fp", "p1", "EUR", "sword", "Sword", 3, D("2"), D("6"), D("5"), D("1"), T0
    )
    await store.write(lambda tx: tx.insert_item_purchase(item))
    assert_same(item, await store.read(lambda tx: tx.get_item_purchase_by_key("g1", "ik")))
    assert await store.read(lambda tx: tx.get_item_purchase_by_key("g1", "other")) is None

    await store.write(lambda tx: tx.insert_admin_op("adm-1", "fp", '{"ok": true}', T0))
    records = await collect(store.ledger_records())
    assert [type(r).__name__ for r in records] == ["Hold", "Flow", "Payment", "ItemPurchase", "AdminOp"]
    assert records[-1] == AdminOp(key="adm-1", reply='{"ok": true}')
    assert_same(claimed, records[1])


async def test_sms_outbox_and_phones(store: Any) -> None:
    await seed(store, ["p1", "p2"])
    msgs = [
        SmsMessage(f"m{i}", acc, "+35699000000", f"code {i}", f"transfer:f{i}", "outbox", T0 + timedelta(seconds=i))
        for i, acc in enumerate(["p1", "p2", "p1"])
    ]
    for m in msgs:
        await store.write(lambda tx, m=m: tx.insert_sms(m))
    sent = replace(msgs[0], state="sent", body="", sent_at=T_LATE)
    await store.write(lambda tx: tx.update_sms(sent))
    assert [m.message_id for m in await store.read(lambda tx: tx.list_sms(None, 10))] == ["m2", "m1", "m0"]
    assert [m.message_id for m in await store.read(lambda tx: tx.list_sms(None, 1))] == ["m2"]
    mine = await store.read(lambda tx: tx.list_sms("p1", 10))
    assert [m.message_id for m in mine] == ["m2", "m0"]
    assert_same(sent, mine[1])

    assert await store.read(lambda tx: tx.get_phone("p1")) is None
    await store.write(lambda tx: tx.set_phone("p1", "+35699111111", T0))
    await store.write(lambda tx: tx.set_phone("p1", "+35699222222", T_LATE))
    assert await store.read(lambda tx: tx.get_phone("p1")) == "+35699222222"


async def test_game_rate_limits(store: Any) -> None:
    await seed(store, ["p1"])
    await store.write(lambda tx: tx.insert_game(make_game()))
    assert await store.read(lambda tx: tx.get_game_limits("g1")) is None
    lim = GameRateLimits("g1", T0, individual_per_min=5, burst_percent=0)
    await store.write(lambda tx: tx.save_game_limits(lim))
    assert await store.read(lambda tx: tx.get_game_limits("g1")) == lim
    replaced = GameRateLimits("g1", T_LATE, batch_per_min=7, email_per_min=8, write_per_min=9)
    await store.write(lambda tx: tx.save_game_limits(replaced))
    assert await store.read(lambda tx: tx.get_game_limits("g1")) == replaced


async def test_open_rounds_are_what_the_domain_calls_open(store: Any) -> None:
    await seed(store, ["p1", "p2"])
    rounds = [
        Round("p1", "g", "r1", "EUR", wagers=1, created_at=T0),
        Round("p2", "g", "r1", "EUR", wagers=2, created_at=T0),
        Round("p1", "g", "r2", "EUR", wagers=0, created_at=T0),  # its wager rolled back
        Round("p1", "g", "r3", "EUR", wagers=1, status="closed", results=1, closed_at=T0, created_at=T0),
        Round("p1", "g", "r4", "EUR", wagers=1, created_at=T0 - timedelta(hours=1)),
        Round("p1", "g", "r5", "EUR", wagers=3, created_at=T_LATE),
    ]
    for r in rounds:
        await store.write(lambda tx, r=r: tx.save_round(r))
    is_open = [r for r in rounds if selection.round_is_open(r)]
    assert await store.read(lambda tx: tx.count_open_rounds()) == len(is_open) == 4

    def key(r: Round) -> tuple[Any, ...]:
        return (r.created_at, r.account_id, r.game_id, r.round_id)

    before = T0 + timedelta(seconds=1)
    expected = sorted((r for r in is_open if r.created_at is not None and r.created_at < before), key=key)
    got: list[Round] = []
    after: tuple[Any, ...] | None = None
    while page := await store.read(lambda tx, after=after: tx.list_open_rounds(before, after, 2)):
        got.extend(page)
        last = page[-1]
        assert last.created_at is not None
        after = (last.created_at, last.account_id, last.game_id, last.round_id)
    assert [key(r) for r in got] == [key(r) for r in expected]
    assert [r.round_id for r in got] == ["r4", "r1", "r1"]


async def test_drop_refusal_drops_only_a_refusal(store: Any) -> None:
    refused = make_tx(transaction_id="t-r", outcome="OutOfMoney", state=selection.REFUSED, real=ZERO)
    applied = make_tx(transaction_id="t-a")
    await store.write(lambda tx: tx.insert_tx(refused))
    await store.write(lambda tx: tx.insert_tx(applied))
    assert selection.is_refusal(refused)
    assert not selection.is_refusal(applied)

    await store.write(lambda tx: tx.drop_refusal(refused))
    assert await store.read(lambda tx: tx.get_tx("op1", "game-1", "wager", "t-r")) is None
    with pytest.raises(TechnicalError):
        await store.write(lambda tx: tx.drop_refusal(applied))
    with pytest.raises(TechnicalError):  # already gone
        await store.write(lambda tx: tx.drop_refusal(refused))
    assert_same(applied, await store.read(lambda tx: tx.get_tx("op1", "game-1", "wager", "t-a")))
    assert [t.transaction_id for t in await collect(store.transactions())] == ["t-a"]


async def test_the_money_loaders(store: Any) -> None:
    """lock_player_and_operator and get_txs load what a money request starts from, in a write
    (locking) and in a read unit alike."""
    await seed(store, ["p1"])
    wager = make_tx(transaction_id="t1")
    tomb = make_tx(transaction_id="t1", kind="rollback")
    other = make_tx(transaction_id="t2")
    for rec in (wager, tomb, other):
        await store.write(lambda tx, rec=rec: tx.insert_tx(rec))

    for run in (store.write, store.read):
        player, op = await run(lambda tx: tx.lock_player_and_operator("p1"))
        assert player is not None
        assert player.account_id == "p1"
        assert op is not None
        assert op.operator_id == "op1"
        assert await run(lambda tx: tx.lock_player_and_operator("nobody")) == (None, None)

        found = await run(lambda tx: tx.get_txs("op1", "game-1", "t1", ("wager", "rollback", "result")))
        assert sorted(found) == ["rollback", "wager"]
        assert_same(wager, found["wager"])
        assert_same(tomb, found["rollback"])
        assert await run(lambda tx: tx.get_txs("op1", "game-1", "t1", ())) == {}
        assert await run(lambda tx: tx.get_txs("op2", "game-1", "t1", ("wager",))) == {}
        assert await run(lambda tx: tx.get_txs("op1", "game-2", "t1", ("wager",))) == {}


async def test_load_bet_loads_a_bets_rows(store: Any) -> None:
    """load_bet: the player and operator, the id's records, the session, the wallet (in the own
    record's currency for a replay, else the session's), the round, the limits and the award."""
    await seed(store, ["p1"], real=BIG)
    session = model.GameSession("s1", "p1", "op1", "EUR", "game-1", T0, T0 + timedelta(days=1))
    rnd = model.Round("p1", "game-1", "r-1", "EUR", wagers=1, real_bet=TINY, created_at=T0)
    limits = model.Limits("p1", max_bet=BIG)
    award = model.FreeRoundAward("fr1", "p1", "op1", "real", T0)
    tomb = make_tx(transaction_id="t2", kind="rollback")
    await seed(store, ["p2"])
    usd = model.GameSession("s-usd", "p1", "op1", "USD", "game-1", T0, T0 + timedelta(days=1))
    other = model.GameSession("s-p2", "p2", "op1", "EUR", "game-1", T0, T0 + timedelta(days=1))

    async def unit(tx: Any) -> None:
        await tx.insert_session(session)
        await tx.insert_session(usd)
        await tx.insert_session(other)
        await tx.save_round(rnd)
        await tx.save_limits(limits)
        await tx.insert_free_rounds(award)
        await tx.insert_tx(make_tx(transaction_id="t1"))
        await tx.insert_tx(tomb)

    await store.write(unit)
    wallet = await store.read(lambda tx: tx.get_wallet("p1", "EUR"))
    kinds = ("wager", "rollback")
    for run in (store.write, store.read):
        new = await run(lambda tx: tx.load_bet(BetQuery("p1", "game-1", "r-1", "t2", kinds, "s1", "fr1")))
        assert new.player is not None
        assert new.player.account_id == "p1"
        assert new.operator is not None
        assert new.operator.operator_id == "op1"
        assert list(new.records) == ["rollback"]
        assert_same(tomb, new.records["rollback"])
        assert (new.session, new.wallet, new.round, new.limits, new.award) == (session, wallet, rnd, limits, award)
        replay = await run(lambda tx: tx.load_bet(BetQuery("p1", "game-1", "r-1", "t1", kinds, "gone", None)))
        assert sorted(replay.records) == ["wager"]
        assert replay.wallet == wallet
        bare = await run(lambda tx: tx.load_bet(BetQuery("p1", "game-1", "r-9", "t9", kinds, "gone", None)))
        assert (bare.player is not None, dict(bare.records), bare.session, bare.wallet) == (True, {}, None, None)
        nobody = await run(lambda tx: tx.load_bet(BetQuery("nobody", "game-1", "r-1", "t1", kinds, "s1", None)))
        assert (nobody.player, nobody.operator, dict(nobody.records)) == (None, None, {})
        # A session whose rows are partly absent: no wallet in its currency, no such round, no award.
        sparse = await run(lambda tx: tx.load_bet(BetQuery("p1", "game-1", "r-9", "t9", kinds, "s-usd", None)))
        assert (sparse.session, sparse.wallet, sparse.round, sparse.limits, sparse.award) == (
            usd,
            None,
            None,
            limits,
            None,
        )
        p2_wallet = await store.read(lambda tx: tx.get_wallet("p2", "EUR"))
        bare_p2 = await run(lambda tx: tx.load_bet(BetQuery("p2", "game-1", "r-1", "t9", kinds, "s-p2", "nope")))
        assert (bare_p2.session, bare_p2.wallet, bare_p2.round, bare_p2.limits, bare_p2.award) == (
            other,
            p2_wallet,
            None,
            None,
            None,
        )


async def test_load_view_reads_player_session_operator_and_wallet_together(store: Any) -> None:
    """load_view: what the composed point reads give, in every combination of present/absent
    (the wallet is the player's in the session's currency, also for another player's session)."""
    await seed(store, ["p1", "p2"], real=BIG)
    mine = model.GameSession("s1", "p1", "op1", "EUR", "game-1", T0, T0 + timedelta(days=1))
    theirs = model.GameSession("s2", "p2", "op1", "EUR", None, T0, T0 + timedelta(days=1))
    usd = model.GameSession("s3", "p1", "op1", "USD", "game-1", T0, T0 + timedelta(days=1), closed_at=T0)

    async def unit(tx: Any) -> None:
        for s in (mine, theirs, usd):
            await tx.insert_session(s)

    await store.write(unit)
    p1 = await store.read(lambda tx: tx.get_player("p1"))
    op = await store.read(lambda tx: tx.get_operator("op1"))
    wallet = await store.read(lambda tx: tx.get_wallet("p1", "EUR"))
    cases = {
        ("p1", "s1"): (p1, mine, op, wallet),
        ("p1", "s2"): (p1, theirs, op, wallet),  # p1's wallet in the foreign session's currency
        ("p1", "s3"): (p1, usd, op, None),  # no USD wallet
        ("p1", "gone"): (p1, None, op, None),
        ("nobody", "s1"): (None, mine, None, None),
        ("nobody", "gone"): (None, None, None, None),
    }
    for run in (store.write, store.read):
        for (account, session), expected in cases.items():
            got = await run(lambda tx, a=account, s=session: tx.load_view(a, s))
            assert (got.player, got.session, got.operator, got.wallet) == expected, (account, session)
            composed = await run(lambda tx, a=account, s=session: load_view_by_reads(tx, a, s))
            assert composed == got


async def test_load_settle_loads_a_settling_requests_rows(store: Any) -> None:
    """load_settle: the player and operator, the id's records, the session (when asked), the
    round, every wallet by currency, the award (when asked)."""
    await seed(store, ["p1"], real=BIG)
    session = model.GameSession("s1", "p1", "op1", "EUR", "game-1", T0, T0 + timedelta(days=1))
    rnd = model.Round("p1", "game-1", "r-1", "EUR", wagers=1, real_bet=TINY, created_at=T0)
    award = model.FreeRoundAward("fr1", "p1", "op1", "real", T0)
    wager = make_tx(transaction_id="t1")

    async def unit(tx: Any) -> None:
        await tx.insert_session(session)
        await tx.save_round(rnd)
        await tx.insert_free_rounds(award)
        await tx.insert_wallet(model.Wallet(account_id="p1", currency="USD"))
        await tx.insert_tx(wager)

    await store.write(unit)
    wallets = {w.currency: w for w in await store.read(lambda tx: tx.list_wallets("p1"))}
    kinds = ("rollback", "wager", "wagerAndResult")
    for run in (store.write, store.read):
        got = await run(lambda tx: tx.load_settle(BetQuery("p1", "game-1", "r-1", "t1", kinds, "s1", "fr1")))
        assert got.player is not None
        assert got.operator is not None
        assert list(got.records) == ["wager"]
        assert_same(wager, got.records["wager"])
        assert (got.session, got.round, dict(got.wallets), got.award) == (session, rnd, wallets, award)
        assert sorted(got.wallets) == ["EUR", "USD"]
        bare = await run(lambda tx: tx.load_settle(BetQuery("p1", "game-1", None, "t9", kinds, None, None)))
        assert (dict(bare.records), bare.session, bare.round, bare.award) == ({}, None, None, None)
        nobody = await run(lambda tx: tx.load_settle(BetQuery("nobody", "game-1", "r-1", "t1", kinds, "s1", None)))
        assert (nobody.player, nobody.operator, dict(nobody.wallets)) == (None, None, {})


async def test_player_by_email_uses_the_domain_normalisation(store: Any) -> None:
    await seed(store, ["p1"])
    p = await store.read(lambda tx: tx.get_player("p1"))
    await store.write(lambda tx: tx.update_player(replace(p, email="  Ana.B@Example.COM ")))
    for asked in ("ana.b@example.com", " ANA.B@EXAMPLE.COM", selection.normalize_email("Ana.B@Example.com") or ""):
        got = await store.read(lambda tx, asked=asked: tx.get_player_by_email("op1", asked))
        assert got is not None
        assert got.account_id == "p1"
    assert await store.read(lambda tx: tx.get_player_by_email("op2", "ana.b@example.com")) is None


async def test_chain_heads_follow_the_journal(store: Any) -> None:
    await seed(store, ["p1", "p2"])

    async def play(tx: Any) -> None:
        for acc in ("p1", "p2"):
            w = await tx.get_wallet(acc, "EUR")
            w, e = model.move(w, kind="deposit", real=D("3"), reference="d", now=T0)
            await tx.save_wallet(w, [e])

    await store.write(play)
    heads = await collect(store.chain_heads())
    wallets = await collect(store.wallets())
    assert [(h.account_id, h.currency, h.seq, h.hash) for h in heads] == [
        (w.account_id, w.currency, w.seq, w.last_hash) for w in wallets
    ]


def _port_methods() -> set[str]:
    tree = ast.parse(PORTS.read_text(encoding="utf-8"))
    return {
        f.name
        for c in tree.body
        if isinstance(c, ast.ClassDef) and c.name in ("Tx", "WalletStore")
        for f in c.body
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def test_every_port_method_is_exercised_by_the_contract_suite() -> None:
    """Every method of ``Tx`` and ``WalletStore`` is called somewhere in this folder (which runs
    against both backends), so a method one backend gets wrong cannot go unnoticed."""
    called: set[str] = set()
    for path in HERE.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                called.add(node.func.attr)
    assert sorted(_port_methods() - called) == []
