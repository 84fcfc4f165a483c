"""A hypothesis state machine drives the pure Groove engine against a simple model.

Random wagers, wagerAndResults, results and rollbacks over a few transaction ids and rounds,
exact resends of earlier requests and reuses of a wager's id with another amount go through
the engine over an in-memory world (tests/unit/groove_world.py).  A small model says what each
should do, and after every step:

* money is conserved: the balance is the opening balance minus the accepted bets plus the
  accepted wins plus the refunds, and the journal's deltas add up to the wallet;
* no balance is ever negative;
* a resend moves nothing and answers as the first time; another amount under a wager's id is
  400 and moves nothing;
* a wager whose id a rollback closed (refunded or tombstoned) never debits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.unit.groove_world import ACCOUNT, GAME, SESSION, World, amount, operator
from wallet_store import money
from wallet_store.commands import Result, Rollback, Wager, WagerAndResult
from wallet_store.domain.groove import Decision
from wallet_store.errors import ParameterMismatch
from wallet_store.model import TxRecord

TIDS = st.sampled_from([f"t{i}" for i in range(6)])
WIN_TIDS = st.sampled_from([f"w{i}" for i in range(4)])
ROUNDS = st.sampled_from([f"r{i}" for i in range(4)])
CENTS = st.sampled_from([0, 1, 50, 100, 250, 1000, 5000])
STATUS = st.sampled_from(["completed", "pending"])

Cmd = Wager | WagerAndResult | Result | Rollback


@dataclass
class _Round:
    live: int = 0  # wagers placed and not rolled back
    results: int = 0
    closed: bool = False


@dataclass
class _Model:
    """What the engine must do, told simply."""

    balance: Decimal
    bets: dict[str, tuple[str, Decimal, bool]] = field(default_factory=dict)  # tid -> round, amount, accepted
    rounds: dict[str, _Round] = field(default_factory=dict)
    closed_ids: set[str] = field(default_factory=set)  # wager ids a rollback closed
    closed_first: set[str] = field(default_factory=set)  # ... before any wager under them was accepted
    refunded: set[str] = field(default_factory=set)

    def round(self, rnd: str) -> _Round:
        return self.rounds.setdefault(rnd, _Round())


class EngineMachine(RuleBasedStateMachine):
    world: World
    model: _Model

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[Cmd, Decision, TxRecord | None]] = []

    @initialize(real=CENTS, bonus=CENTS, bonus_first=st.booleans())
    def start(self, real: int, bonus: int, bonus_first: bool) -> None:
        order = "bonus_money" if bonus_first else "cash_money"
        self.world = World.funded(amount(real + 100), amount(bonus), op=operator(order))
        self.model = _Model(balance=self.world.wallet.total)

    # ------------------------------------------------------------------ sending

    def _send(self, cmd: Cmd) -> Decision:
        decision = self.world.decide(cmd)
        assert (decision.outcome is None) != (decision.refusal is None)
        rec = decision.effects.record
        self.sent.append((cmd, decision, rec))
        return decision

    @rule(tid=TIDS, rnd=ROUNDS, cents=CENTS)
    def wager(self, tid: str, rnd: str, cents: int) -> None:
        cmd = Wager(ACCOUNT, SESSION, GAME, rnd, tid, amount(cents))
        if tid in self.model.bets:
            self._again(cmd, same=self.model.bets[tid][:2] == (rnd, cmd.amount))
            return
        m = self.model
        expect = tid not in m.closed_ids and not m.round(rnd).closed and m.balance >= cmd.amount
        d = self._send(cmd)
        assert (d.outcome is not None) == expect, (cmd, d.refusal)
        m.bets[tid] = (rnd, cmd.amount, expect)
        if expect:
            m.balance -= cmd.amount
            m.round(rnd).live += 1

    @rule(tid=TIDS, rnd=ROUNDS, bet=CENTS, win=CENTS, status=STATUS)
    def wager_and_result(self, tid: str, rnd: str, bet: int, win: int, status: str) -> None:
        cmd = WagerAndResult(ACCOUNT, SESSION, GAME, rnd, tid, amount(bet), amount(win), status)
        key = "wr:" + tid
        if key in self.model.bets:
            return  # its resends are covered by resend()
        m = self.model
        expect = tid not in m.closed_ids and not m.round(rnd).closed and m.balance >= cmd.bet
        d = self._send(cmd)
        assert (d.outcome is not None) == expect, (cmd, d.refusal)
        m.bets[key] = (rnd, cmd.bet, expect)
        if expect:
            m.balance += cmd.win - cmd.bet
            r = m.round(rnd)
            r.live, r.results, r.closed = r.live + 1, r.results + 1, r.closed or status == "completed"

    @rule(tid=WIN_TIDS, rnd=ROUNDS, cents=CENTS, status=STATUS)
    def result(self, tid: str, rnd: str, cents: int, status: str) -> None:
        cmd = Result(ACCOUNT, SESSION, GAME, rnd, tid, amount(cents), status)
        r = self.model.round(rnd)
        stored = self.world.records.get(("result", tid))
        if stored is not None and stored.ok:
            self._again(cmd, same=(stored.round_id, stored.amount) == (rnd, cmd.amount))
            return
        if stored is not None and (stored.round_id, stored.amount) == (rnd, cmd.amount):
            self._again(cmd, same=True)
            return
        expect = r.live > 0 and not r.closed
        d = self._send(cmd)
        assert (d.outcome is not None) == expect, (cmd, d.refusal)
        if expect:
            self.model.balance += cmd.amount
            r.results += 1
            r.closed = r.closed or status == "completed"

    @rule(tid=TIDS)
    def rollback(self, tid: str) -> None:
        m = self.model
        rnd, stake, accepted = m.bets.get(tid, ("r0", money.ZERO, False))
        cmd = Rollback(ACCOUNT, SESSION, GAME, rnd, tid)
        if ("rollback", tid) in self.world.records:
            self._again(cmd, same=self.world.records[("rollback", tid)].round_id == rnd)
            return
        expect = accepted and tid not in m.refunded and m.round(rnd).results == 0
        d = self._send(cmd)
        assert (d.outcome is not None) == expect, (cmd, d.refusal)
        m.closed_ids.add(tid)
        if not accepted and not m.bets.get("wr:" + tid, ("", money.ZERO, False))[2]:
            m.closed_first.add(tid)
        if expect:
            m.refunded.add(tid)
            m.balance += stake
            m.round(rnd).live -= 1

    # ------------------------------------------------------------------ resends

    def _again(self, cmd: Cmd, *, same: bool) -> None:
        before = (self.world.wallet, dict(self.world.records), dict(self.world.rounds))
        if not same:
            try:
                d = self.world.decide(cmd)
            except ParameterMismatch:
                pass
            else:
                # Only a plain refusal under the id lets another request be decided afresh.
                assert d.refusal is not None or d.effects.drop is not None, cmd
                return
        else:
            d = self.world.decide(cmd)
            assert d.effects.empty, cmd
        assert (self.world.wallet, self.world.records, self.world.rounds) == before

    @rule(data=st.data())
    def resend(self, data: st.DataObject) -> None:
        """An exact resend of an earlier request whose record still stands: replayed."""
        standing = [
            (cmd, d)
            for cmd, d, rec in self.sent
            if rec is not None and self.world.records.get((rec.kind, rec.transaction_id)) == rec
        ]
        if not standing:
            return
        cmd, first = data.draw(st.sampled_from(standing))
        again = self.world.decide(cmd)
        assert again.effects.empty
        if first.outcome is not None:
            assert again.outcome is not None
            assert again.outcome.duplicate
            assert again.outcome.record == first.outcome.record
            assert again.outcome.wallet == self.world.wallet
        else:
            assert first.refusal is not None
            assert again.refusal is not None
            assert (type(again.refusal), again.refusal.message) == (type(first.refusal), first.refusal.message)

    @rule(tid=TIDS, extra=st.sampled_from([1, 7, 100]))
    def reuse_a_wager_id_with_another_amount(self, tid: str, extra: int) -> None:
        if tid not in self.model.bets:
            return
        rnd, stake, _ = self.model.bets[tid]
        self._again(Wager(ACCOUNT, SESSION, GAME, rnd, tid, stake + amount(extra)), same=False)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def money_is_conserved(self) -> None:
        w = self.world.wallet
        assert w.total == self.model.balance
        assert w.real >= 0
        assert w.bonus >= 0
        assert sum((e.real_delta for e in self.world.journal), money.ZERO) == w.real
        assert sum((e.bonus_delta for e in self.world.journal), money.ZERO) == w.bonus
        assert [e.seq for e in self.world.journal] == list(range(1, w.seq + 1))

    @invariant()
    def the_records_explain_the_balance(self) -> None:
        moved = money.ZERO
        for rec in self.world.records.values():
            if not rec.ok:
                continue
            if rec.kind == "wager" and rec.state == "applied":
                moved -= rec.amount
            elif rec.kind == "wagerAndResult":
                moved += money.parse(json.loads(rec.extra)["win"]) - rec.amount
            elif rec.kind == "result":
                moved += rec.amount
        opening = self.world.journal[0]
        assert money.add(opening.real_after, opening.bonus_after) + moved == self.world.wallet.total

    @invariant()
    def a_closed_wager_id_never_debits(self) -> None:
        for tid in self.model.closed_first:
            for kind in ("wager", "wagerAndResult"):
                rec = self.world.records.get((kind, tid))
                assert rec is None or not rec.ok, rec


EngineMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestEngineMachine = EngineMachine.TestCase
