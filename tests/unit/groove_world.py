"""An in-memory world for the Groove engine: one operator, one player, one session, one wallet.

It loads each command's state as the service's loaders do (wallet_store/services/groove.py),
calls the pure engine, and applies the decision's effects as ``persist`` does, so the engine
can be driven without a database.  The journal is kept to check that its sums make the balance.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from wallet_store import money
from wallet_store.commands import Jackpot, Result, ReverseWin, Rollback, RollbackRollback, Wager, WagerAndResult
from wallet_store.domain import rounds
from wallet_store.domain.groove import Decision, Effects, Settling, is_replay, loss_window_start, paid_win_leg
from wallet_store.domain.groove_settle import (
    SettleState,
    credit_currency,
    decide_correction,
    decide_credit,
    decide_rollback,
)
from wallet_store.domain.groove_wager import WagerState, bet_kind, decide_wager
from wallet_store.model import (
    DebitOrder,
    FreeRoundAward,
    GameSession,
    JournalEntry,
    Limits,
    Operator,
    Player,
    PlayerStatus,
    Round,
    TxRecord,
    Wallet,
    move,
)

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
ACCOUNT = "acc-1"
GAME = "game-1"
SESSION = "op1_session"


def amount(cents: int) -> Decimal:
    return money.check(Decimal(cents).scaleb(-2))


def player(status: PlayerStatus = "active", last_active: datetime | None = None) -> Player:
    return Player(ACCOUNT, "op1", "P", None, "MT", "Valletta", "EUR", status, NOW, last_active)


def operator(order: DebitOrder = "cash_money") -> Operator:
    return Operator("op1", "Op", "EUR", debit_order=order, created_at=NOW)


def session(expires: datetime = NOW + timedelta(hours=1), account: str = ACCOUNT) -> GameSession:
    return GameSession(SESSION, account, "op1", "EUR", None, NOW, expires)


@dataclass
class World:
    """What a store would hold for one account (records keyed by kind and transaction id)."""

    player: Player = field(default_factory=player)
    op: Operator = field(default_factory=operator)
    session: GameSession | None = field(default_factory=session)
    wallet: Wallet = field(default_factory=lambda: Wallet(ACCOUNT, "EUR", updated_at=NOW))
    records: dict[tuple[str, str], TxRecord] = field(default_factory=dict)
    rounds: dict[str, Round] = field(default_factory=dict)
    journal: list[JournalEntry] = field(default_factory=list)
    limits: Limits | None = None
    awards: dict[str, FreeRoundAward] = field(default_factory=dict)
    now: datetime = NOW

    @classmethod
    def funded(cls, real: Decimal, bonus: Decimal = money.ZERO, **kw: object) -> World:
        w = cls(**kw)  # type: ignore[arg-type]
        wallet, entry = move(w.wallet, kind="initial", real=real, bonus=bonus, reference="initial", now=NOW)
        w.wallet = wallet
        w.journal.append(entry)
        return w

    # ------------------------------------------------------------------ loading

    def _get(self, kind: str, tid: str) -> TxRecord | None:
        return self.records.get((kind, tid))

    def _wallet(self, currency: str) -> Wallet | None:
        return self.wallet if currency == self.wallet.currency else None

    def _replay_wallet(self, rec: TxRecord) -> Wallet | None:
        return self._wallet(rec.currency) if rec.ok else None

    def wager_state(self, cmd: Wager | WagerAndResult) -> WagerState:
        existing = self._get(bet_kind(cmd), cmd.transaction_id)
        if existing is not None:
            return WagerState(self.player, self.op, existing, self._replay_wallet(existing))
        s = self.session if self.session is not None and self.session.session_id == cmd.session_id else None
        if s is None:
            return WagerState(self.player, self.op)
        recent: tuple[JournalEntry, ...] = ()
        if self.limits is not None and self.limits.any_loss_limit:
            recent = tuple(e for e in self.journal if e.created_at >= loss_window_start(self.now))
        return WagerState(
            self.player,
            self.op,
            session=s,
            tomb=self._get("rollback", cmd.transaction_id),
            award=self.awards.get(cmd.frbid) if cmd.frbid is not None else None,
            wallet=self._wallet(s.currency),
            round=self.rounds.get(cmd.round_id),
            limits=self.limits,
            recent=recent,
        )

    def settle_state(self, cmd: Settling, kind: str) -> tuple[SettleState, bool]:
        existing = self._get(kind, cmd.transaction_id)
        if existing is not None and is_replay(existing, cmd, kind):
            return SettleState(self.player, self.op, existing, self._replay_wallet(existing)), True
        s = self.session if cmd.session_id and self.session and self.session.session_id == cmd.session_id else None
        return SettleState(self.player, self.op, existing, session=s), False

    # ------------------------------------------------------------------ deciding

    def decide(self, cmd: Wager | WagerAndResult | Settling) -> Decision:
        """Load, decide (the engine may raise: nothing is applied then), apply."""
        decision = self._decide(cmd)
        self.apply(decision.effects)
        return decision

    def _decide(self, cmd: Wager | WagerAndResult | Settling) -> Decision:
        if isinstance(cmd, Wager | WagerAndResult):
            return decide_wager(self.wager_state(cmd), cmd, self.now)
        if isinstance(cmd, Result | Jackpot):
            s, done = self.settle_state(cmd, "result" if isinstance(cmd, Result) else "jackpot")
            if not done:
                s = replace(s, round=self.rounds.get(cmd.round_id))
                frbid = cmd.frbid if isinstance(cmd, Result) else None
                s = replace(s, award=self.awards.get(frbid) if frbid else None, wallet=self._wallet(credit_currency(s)))
            return decide_credit(s, cmd, self.now)
        if isinstance(cmd, Rollback):
            s, done = self.settle_state(cmd, "rollback")
            if not done:
                wager = self._get("wager", cmd.transaction_id)
                if wager is None:
                    s = replace(s, settled=self._get("wagerAndResult", cmd.transaction_id))
                else:
                    wallet = self._wallet(wager.currency)
                    s = replace(s, target=wager, round=self.rounds.get(cmd.round_id), wallet=wallet)
            return decide_rollback(s, cmd, self.now)
        kind = "reversewin" if isinstance(cmd, ReverseWin) else "rollbackrollback"
        s, done = self.settle_state(cmd, kind)
        if not done:
            t = self._target(cmd)
            if t is not None:
                rnd = self.rounds.get(t.round_id) if rounds.in_round(t.kind) else None
                s = replace(s, target=t, wallet=self._wallet(t.currency), round=rnd)
        return decide_correction(s, cmd, self.now)

    def _target(self, cmd: ReverseWin | RollbackRollback) -> TxRecord | None:
        tid = cmd.transaction_id
        if isinstance(cmd, RollbackRollback):
            return self._get("wager", tid)
        return self._get("result", tid) or self._get("jackpot", tid) or paid_win_leg(self._get("wagerAndResult", tid))

    # ------------------------------------------------------------------ persisting

    def apply(self, e: Effects) -> None:
        if e.wallet is not None:
            assert e.entries, "a balance change without a journal entry"
            assert e.entries[0].seq == self.wallet.seq + 1, "entries must build on the stored wallet"
            self.wallet = e.wallet
            self.journal.extend(e.entries)
        if e.round is not None:
            self.rounds[e.round.round_id] = e.round
        if e.corrected is not None:
            key = (e.corrected.kind, e.corrected.transaction_id)
            assert key in self.records
            self.records[key] = replace(self.records[key], state=e.corrected.state)
        if e.drop is not None:
            key = (e.drop.kind, e.drop.transaction_id)
            if self.records[key].state == "refused":
                del self.records[key]
        if e.record is not None:
            key = (e.record.kind, e.record.transaction_id)
            assert key not in self.records, f"a second record under {key}"
            self.records[key] = e.record
        if e.touch is not None:
            self.player = replace(self.player, last_active=e.touch[1])
