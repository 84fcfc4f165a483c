"""The round rules alone (wallet_store/domain/rounds.py): no database, no HTTP.

The property: a random sequence of wagers, rollbacks, rollbackrollbacks, results,
wagerAndResults, reversewins and jackpots applied to a round through the service's functions
gives the totals that ``audit`` recomputes from the records those requests leave, and the bets
that the liability report signs from them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st

from wallet_store import money
from wallet_store.audit import _round_totals
from wallet_store.domain import rounds
from wallet_store.model import Round, TxRecord, TxState
from wallet_store.ports import WalletStore

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
KEY = ("acc-1", "game-1", "round-1")


def _round() -> Round:
    return Round(*KEY, currency="EUR", created_at=NOW)


def _amount(cents: int) -> Decimal:
    return money.check(Decimal(cents).scaleb(-2))


@dataclass
class _Sim:
    """One round driven through the domain functions, and the records the requests leave."""

    rnd: Round = field(default_factory=_round)
    records: list[TxRecord] = field(default_factory=list)

    def record(self, kind: str, real: Decimal, bonus: Decimal, *, extra: str = "", ok: bool = True) -> None:
        self.records.append(
            TxRecord(
                operator_id="op",
                scope=KEY[1],
                kind=kind,
                transaction_id=f"t{len(self.records)}",
                account_id=KEY[0],
                round_id=KEY[2],
                amount=money.add(real, bonus),
                currency="EUR",
                outcome="ok" if ok else "RoundClosed",
                message="",
                wallet_tx="w",
                real=real,
                bonus=bonus,
                created_at=NOW,
                extra=extra,
            )
        )

    def pick(self, kinds: tuple[str, ...], state: TxState, n: int) -> int | None:
        found = [i for i, t in enumerate(self.records) if t.kind in kinds and t.ok and t.state == state]
        return found[n % len(found)] if found else None

    def mark(self, i: int, state: TxState) -> TxRecord:
        self.records[i] = replace(self.records[i], state=state)
        return self.records[i]

    def step(self, op: tuple[Any, ...]) -> None:
        name, a, b, c, d, n = op
        real, bonus, wreal, wbonus = _amount(a), _amount(b), _amount(c), _amount(d)
        status = "completed" if n % 4 == 0 else "pending"
        if name == "wager":
            if rounds.is_closed(self.rnd):
                self.record("wager", real, bonus, ok=False)
                return
            self.rnd = rounds.place_bet(self.rnd, real, bonus)
            self.record("wager", real, bonus)
        elif name == "wagerAndResult" and not rounds.is_closed(self.rnd):
            self.rnd = rounds.settle(rounds.place_bet(self.rnd, real, bonus), wreal, wbonus, status, NOW)
            leg = {"win": "0", "status": status, "real_win": money.wire(wreal), "bonus_win": money.wire(wbonus)}
            self.record("wagerAndResult", real, bonus, extra=json.dumps(leg | {"wallet_tx": "w2"}))
        elif name == "result" and rounds.has_wager(self.rnd) and not rounds.is_closed(self.rnd):
            self.rnd = rounds.settle(self.rnd, wreal, wbonus, status, NOW)
            self.record("result", wreal, wbonus)
        elif name == "jackpot":
            self.record("jackpot", wreal, wbonus)
        elif name == "rollback" and not rounds.is_settled(self.rnd):
            if (i := self.pick(("wager",), "applied", n)) is not None:
                w = self.mark(i, "rolled_back")
                self.rnd = rounds.withdraw_bet(self.rnd, w.real, w.bonus)
                self.record("rollback", w.real, w.bonus)
        elif name == "rollbackrollback":
            if (i := self.pick(("wager",), "rolled_back", n)) is not None:
                w = self.mark(i, "applied")
                self.rnd = rounds.restore_bet(self.rnd, w.real, w.bonus)
                self.record("rollbackrollback", w.real, w.bonus)
        elif name == "reversewin":
            self._reverse_win(n)

    def _reverse_win(self, n: int) -> None:
        i = self.pick(("result", "wagerAndResult", "jackpot"), "applied", n)
        if i is None:
            return
        target = self.mark(i, "reversed")
        real, bonus = target.real, target.bonus
        if target.kind == "wagerAndResult":
            leg = json.loads(target.extra)
            real, bonus = money.parse(leg["real_win"]), money.parse(leg["bonus_win"])
        if rounds.in_round(target.kind):
            self.rnd = rounds.take_back_win(self.rnd, real, bonus)
        self.record("reversewin", real, bonus)


class _Records:
    def __init__(self, records: list[TxRecord]) -> None:
        self._records = records

    async def transactions(self) -> AsyncIterator[TxRecord]:
        for t in self._records:
            yield t


def _run(coro: Coroutine[Any, Any, dict[tuple[str, str, str], Round]]) -> dict[tuple[str, str, str], Round]:
    """Run a coroutine that never waits (its store is a list) without an event loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        return cast(dict[tuple[str, str, str], Round], done.value)
    raise AssertionError("the audit waited on something")


def _audit_view(records: list[TxRecord]) -> Round:
    totals = _run(_round_totals(cast(WalletStore, _Records(records))))
    return totals.get(KEY, Round(*KEY, currency=""))


def _sums(r: Round) -> tuple[Decimal, Decimal, Decimal, Decimal, int, int]:
    return (r.real_bet, r.bonus_bet, r.real_win, r.bonus_win, r.wagers, r.results)


_KINDS = ("wager", "wagerAndResult", "result", "jackpot", "rollback", "rollbackrollback", "reversewin")
_CENTS = st.integers(min_value=0, max_value=10**7)
_OPS = st.lists(
    st.tuples(st.sampled_from(_KINDS), _CENTS, _CENTS, _CENTS, _CENTS, st.integers(min_value=0, max_value=99)),
    max_size=40,
)


@given(_OPS)
def test_the_service_rules_and_audit_agree(ops: list[tuple[Any, ...]]) -> None:
    sim = _Sim()
    for op in ops:
        sim.step(op)
    assert _sums(_audit_view(sim.records)) == _sums(sim.rnd)


@given(_OPS)
def test_the_report_signs_give_the_round_bets(ops: list[tuple[Any, ...]]) -> None:
    sim = _Sim()
    for op in ops:
        sim.step(op)
    real, bonus, wagers = money.ZERO, money.ZERO, 0
    for t in sim.records:
        sign = rounds.bet_sign(t.kind)
        if not t.ok or sign == 0:
            continue
        real = money.add(real, t.real) if sign > 0 else money.sub(real, t.real)
        bonus = money.add(bonus, t.bonus) if sign > 0 else money.sub(bonus, t.bonus)
        wagers += sign
    assert (real, bonus, wagers) == (sim.rnd.real_bet, sim.rnd.bonus_bet, sim.rnd.wagers)
    assert rounds.live_wagers(wagers) == rounds.has_wager(sim.rnd)


def test_settle_closes_only_a_completed_round() -> None:
    rnd = rounds.place_bet(_round(), Decimal("5.00"), Decimal("1.00"))
    pending = rounds.settle(rnd, Decimal("2.50"), money.ZERO, "pending", NOW)
    assert (pending.status, pending.closed_at, pending.results) == ("open", None, 1)
    assert not rounds.is_closed(pending)
    assert rounds.is_settled(pending)
    later = NOW + timedelta(seconds=1)
    done = rounds.settle(pending, Decimal("1.25"), Decimal("0.75"), "completed", later)
    assert (done.status, done.closed_at, done.results) == ("closed", later, 2)
    assert (done.real_win, done.bonus_win) == (Decimal("3.75"), Decimal("0.75"))
    assert rounds.is_closed(done)


def test_bets_move_the_wager_count() -> None:
    rnd = rounds.place_bet(_round(), Decimal("5"), Decimal("1"))
    assert rounds.has_wager(rnd)
    assert (rnd.real_bet, rnd.bonus_bet, rnd.wagers) == (Decimal(5), Decimal(1), 1)
    back = rounds.withdraw_bet(rnd, Decimal("5"), Decimal("1"))
    assert not rounds.has_wager(back)
    assert (back.real_bet, back.bonus_bet, back.wagers) == (0, 0, 0)
    again = rounds.restore_bet(back, Decimal("5"), Decimal("1"))
    assert _sums(again) == _sums(rnd)


def test_a_taken_back_win_still_counts_as_a_result() -> None:
    rnd = rounds.settle(rounds.place_bet(_round(), Decimal(3), money.ZERO), Decimal(7), money.ZERO, "completed", NOW)
    back = rounds.take_back_win(rnd, Decimal(7), money.ZERO)
    assert (back.real_win, back.results, back.status) == (0, 1, "closed")


def test_round_state_predicates() -> None:
    assert not rounds.is_closed(None)
    assert not rounds.has_wager(None)
    assert not rounds.is_settled(None)
    rnd = replace(_round(), closed_at=NOW + timedelta(days=1), status="closed")
    assert not rounds.open_at(rnd, NOW)
    assert rounds.open_at(rnd, NOW + timedelta(hours=1))
    assert rounds.open_at(rnd, NOW + timedelta(days=1))  # closed at the cutoff: open until it
    assert not rounds.open_at(rnd, NOW + timedelta(days=1, microseconds=1))
    assert not rounds.open_at(replace(rnd, created_at=None), NOW + timedelta(hours=1))
    assert rounds.open_at(replace(rnd, closed_at=None), NOW + timedelta(days=9))
    assert not rounds.live_wagers(0)
    assert rounds.live_wagers(1)


def test_jackpots_and_corrections_stand_outside_the_round_totals() -> None:
    assert not rounds.in_round("jackpot")
    assert rounds.bet_sign("jackpot") == 0
    assert [rounds.bet_sign(k) for k in ("wager", "wagerAndResult", "rollback", "rollbackrollback")] == [1, 1, -1, 1]
    assert rounds.bet_sign("result") == rounds.bet_sign("reversewin") == 0
    sim = _Sim()
    sim.record("rollback", Decimal(1), money.ZERO)
    sim.record("jackpot", Decimal(1), money.ZERO)
    sim.record("wager", Decimal(1), money.ZERO, ok=False)
    assert [rounds.standing_effect(t) for t in sim.records] == [None, None, None]
    sim.record("wager", Decimal(1), money.ZERO)
    assert rounds.standing_effect(replace(sim.records[-1], state="rolled_back")) == rounds.Effect()
