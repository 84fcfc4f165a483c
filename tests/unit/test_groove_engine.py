"""The Groove money engine's decisions (wallet_store/domain/groove*.py): no database, no HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.groove_world import ACCOUNT, GAME, NOW, SESSION, World, amount, operator, player, session
from wallet_store import money
from wallet_store.commands import Jackpot, Result, ReverseWin, Rollback, RollbackRollback, Wager, WagerAndResult
from wallet_store.domain.groove import Decision, loss_window_start
from wallet_store.domain.groove_wager import WagerState, decide_wager
from wallet_store.errors import (
    AccountBlocked,
    GamingLimit,
    NotLoggedOn,
    OperationNotAllowed,
    OutOfMoney,
    ParameterMismatch,
    RoundClosed,
    UnknownAccount,
    WagerNotFound,
)
from wallet_store.model import FreeRoundAward, Limits, move


def wager(tid: str = "t1", cents: int = 100, rnd: str = "r1", frbid: str | None = None) -> Wager:
    return Wager(ACCOUNT, SESSION, GAME, rnd, tid, amount(cents), frbid)


def result(tid: str = "w1", cents: int = 200, rnd: str = "r1", status: str = "completed") -> Result:
    return Result(ACCOUNT, SESSION, GAME, rnd, tid, amount(cents), status)


def rollback(tid: str = "t1", rnd: str = "r1") -> Rollback:
    return Rollback(ACCOUNT, SESSION, GAME, rnd, tid)


def balance(w: World) -> tuple[str, str]:
    return money.wire(w.wallet.real), money.wire(w.wallet.bonus)


def refused(d: Decision) -> type:
    assert d.outcome is None
    assert d.refusal is not None
    return type(d.refusal)


# ---------------------------------------------------------------------- wager


def test_a_wager_debits_records_and_opens_its_round() -> None:
    w = World.funded(amount(1000))
    d = w.decide(wager())
    assert d.outcome is not None
    assert not d.outcome.duplicate
    assert balance(w) == ("9", "0")
    assert w.rounds["r1"].wagers == 1
    assert w.rounds["r1"].real_bet == amount(100)
    rec = w.records[("wager", "t1")]
    assert (rec.real, rec.bonus, rec.state, rec.currency) == (amount(100), money.ZERO, "applied", "EUR")
    assert w.player.last_active == NOW  # a first bet moves last_active
    assert [e.reference for e in w.journal] == ["initial", "wager:t1"]


def test_last_active_moves_at_most_once_a_minute() -> None:
    w = World.funded(amount(1000), player=player(last_active=NOW - timedelta(seconds=30)))
    assert w.decide(wager()).effects.touch is None
    w = World.funded(amount(1000), player=player(last_active=NOW - timedelta(seconds=60)))
    assert w.decide(wager()).effects.touch == (ACCOUNT, NOW)


def test_a_replay_moves_nothing_and_answers_the_same() -> None:
    w = World.funded(amount(1000))
    first = w.decide(wager())
    again = w.decide(wager())
    assert again.effects.empty
    assert again.outcome is not None
    assert first.outcome is not None
    assert again.outcome.duplicate
    assert again.outcome.record == first.outcome.record
    assert again.outcome.wallet == w.wallet
    assert balance(w) == ("9", "0")


def test_a_replayed_refusal_is_the_remembered_one_even_after_funds_arrive() -> None:
    w = World.funded(amount(50))
    assert refused(w.decide(wager())) is OutOfMoney
    w.wallet, _ = move(w.wallet, kind="adjust", real=amount(1000), reference="x", now=NOW)
    d = w.decide(wager())
    assert refused(d) is OutOfMoney
    assert d.effects.empty


@pytest.mark.parametrize("other", [wager(cents=101), wager(rnd="r2")])
def test_the_same_id_with_other_values_is_a_mismatch(other: Wager) -> None:
    w = World.funded(amount(1000))
    w.decide(wager())
    with pytest.raises(ParameterMismatch):
        w.decide(other)
    assert balance(w) == ("9", "0")


def test_a_rollback_before_its_wager_leaves_a_tombstone_that_refuses_it() -> None:
    w = World.funded(amount(1000))
    assert refused(w.decide(rollback())) is WagerNotFound
    assert w.records[("rollback", "t1")].state == "tombstone"
    assert refused(w.decide(wager())) is RoundClosed
    assert w.records[("wager", "t1")].state == "refused"
    assert balance(w) == ("10", "0")


def test_a_closed_round_takes_no_wager_and_no_result() -> None:
    w = World.funded(amount(1000))
    w.decide(wager())
    w.decide(result())
    assert w.rounds["r1"].status == "closed"
    assert refused(w.decide(wager("t2"))) is RoundClosed
    assert refused(w.decide(result("w2"))) is RoundClosed
    assert balance(w) == ("11", "0")


def test_out_of_money_is_remembered() -> None:
    w = World.funded(amount(50))
    d = w.decide(wager())
    assert refused(d) is OutOfMoney
    assert d.effects.record is not None
    assert d.effects.record.outcome == "OutOfMoney"
    assert d.effects.wallet is None
    assert d.effects.round is None


def test_the_bet_limit_and_the_loss_limits() -> None:
    w = World.funded(amount(10000), limits=Limits(ACCOUNT, max_bet=amount(500)))
    assert refused(w.decide(wager(cents=501))) is GamingLimit
    w = World.funded(amount(10000), limits=Limits(ACCOUNT, loss_day=amount(300)))
    assert w.decide(wager("t1", 200)).outcome is not None
    assert refused(w.decide(wager("t2", 101, rnd="r2"))) is GamingLimit
    assert w.decide(wager("t3", 100, rnd="r3")).outcome is not None


def test_the_loss_window_starts_at_the_week_or_the_month() -> None:
    assert loss_window_start(NOW) == NOW.replace(month=4, day=29, hour=0)  # 2024-05-01 is a Wednesday
    later = NOW.replace(day=15)
    assert loss_window_start(later) == later.replace(day=1, hour=0)


def test_bonus_first_splits_the_bet_and_the_win_follows_the_split() -> None:
    w = World.funded(amount(1000), amount(300), op=operator("bonus_money"))
    d = w.decide(wager(cents=400))
    assert d.outcome is not None
    assert (d.outcome.record.real, d.outcome.record.bonus) == (amount(100), amount(300))
    d = w.decide(result(cents=800))
    assert d.outcome is not None
    assert (d.outcome.record.real, d.outcome.record.bonus) == (amount(200), amount(600))
    assert balance(w) == ("11", "6")


def test_refusal_order_session_then_blocked_then_own_values() -> None:
    w = World.funded(amount(1000), player=player("blocked"), session=session(expires=NOW))
    with pytest.raises(NotLoggedOn):
        w.decide(wager(cents=-1))
    w.session = session()
    d = w.decide(wager(cents=-1))
    assert refused(d) is AccountBlocked
    assert d.effects.record is not None
    w = World.funded(amount(1000))
    d = w.decide(wager(cents=-1))
    assert refused(d) is OperationNotAllowed
    assert d.effects.empty


def test_a_session_of_another_account_is_not_logged_on() -> None:
    w = World.funded(amount(1000), session=session(account="someone-else"))
    with pytest.raises(NotLoggedOn):
        w.decide(wager())


def test_a_free_round_wager_needs_its_award_and_its_win_goes_where_it_says() -> None:
    w = World.funded(amount(1000))
    assert refused(w.decide(wager(frbid="f1", cents=0))) is OperationNotAllowed
    w.awards["f1"] = FreeRoundAward("f1", ACCOUNT, "op1", "bonus", NOW)
    cmd = WagerAndResult(ACCOUNT, SESSION, GAME, "r9", "t9", money.ZERO, amount(500), "completed", "f1")
    d = w.decide(cmd)
    assert d.outcome is not None
    assert d.outcome.win_record is not None
    assert (d.outcome.win_record.real, d.outcome.win_record.bonus) == (money.ZERO, amount(500))
    assert balance(w) == ("10", "5")


def test_a_wager_decision_without_a_wallet_refuses_unknown_currency() -> None:
    s = WagerState(player(), operator(), session=session())
    d = decide_wager(s, wager(), NOW)
    assert d.refusal is not None
    assert d.refusal.message == "no wallet in the session's currency"


# ---------------------------------------------------------------------- settling


def test_a_result_needs_a_live_wager_in_its_round() -> None:
    w = World.funded(amount(1000))
    assert refused(w.decide(result())) is WagerNotFound
    assert balance(w) == ("10", "0")


def test_a_refused_result_is_decided_afresh_for_another_amount() -> None:
    w = World.funded(amount(1000))
    assert refused(w.decide(result(cents=200))) is WagerNotFound
    w.decide(wager())
    d = w.decide(result(cents=300))
    assert d.outcome is not None
    assert balance(w) == ("12", "0")
    assert w.decide(result(cents=300)).effects.empty


def test_a_rollback_refunds_the_split_and_a_second_one_replays() -> None:
    w = World.funded(amount(1000), amount(300), op=operator("bonus_money"))
    w.decide(wager(cents=400))
    d = w.decide(rollback())
    assert d.outcome is not None
    assert balance(w) == ("10", "3")
    assert w.records[("wager", "t1")].state == "rolled_back"
    assert w.rounds["r1"].wagers == 0
    assert w.decide(rollback()).effects.empty


def test_no_rollback_after_a_result() -> None:
    w = World.funded(amount(1000))
    w.decide(wager())
    w.decide(result(status="pending"))
    assert refused(w.decide(rollback())) is OperationNotAllowed
    assert balance(w) == ("11", "0")


def test_a_rollback_of_a_wager_in_another_round_is_not_remembered() -> None:
    w = World.funded(amount(1000))
    w.decide(wager())
    d = w.decide(rollback(rnd="r2"))
    assert refused(d) is OperationNotAllowed
    assert d.effects.empty


def test_reversewin_before_its_win_is_retried_until_it_applies() -> None:
    w = World.funded(amount(1000))
    rw = ReverseWin(ACCOUNT, SESSION, GAME, "r1", "w1", amount(200))
    assert refused(w.decide(rw)) is WagerNotFound
    w.decide(wager())
    w.decide(result(cents=200))
    d = w.decide(rw)
    assert d.outcome is not None
    assert balance(w) == ("9", "0")
    assert w.records[("result", "w1")].state == "reversed"
    assert w.rounds["r1"].real_win == money.ZERO


def test_rollbackrollback_debits_the_refunded_wager_again() -> None:
    w = World.funded(amount(1000))
    w.decide(wager())
    w.decide(rollback())
    d = w.decide(RollbackRollback(ACCOUNT, SESSION, GAME, None, "t1", amount(100)))
    assert d.outcome is not None
    assert balance(w) == ("9", "0")
    assert w.records[("wager", "t1")].state == "applied"
    assert w.rounds["r1"].wagers == 1


def test_an_applied_result_id_with_another_amount_is_a_mismatch() -> None:
    w = World.funded(amount(1000))
    w.decide(wager())
    w.decide(result(cents=200, status="pending"))
    with pytest.raises(ParameterMismatch):
        w.decide(result(cents=300, status="pending"))
    assert balance(w) == ("11", "0")


def test_a_jackpot_pays_beside_the_round() -> None:
    w = World.funded(amount(1000))
    d = w.decide(Jackpot(ACCOUNT, SESSION, GAME, "r1", "j1", amount(500), "completed"))
    assert d.outcome is not None
    assert d.effects.round is None
    assert balance(w) == ("15", "0")


def test_an_unknown_account_on_a_settling_request() -> None:
    from wallet_store.domain.groove import payee

    with pytest.raises(UnknownAccount):
        payee(None)


def test_the_journal_adds_up_to_the_wallet() -> None:
    w = World.funded(amount(1000))
    for i in range(5):
        w.decide(wager(f"t{i}", 100, rnd=f"r{i}"))
        w.decide(result(f"w{i}", 50 * i, rnd=f"r{i}"))
    real = sum((e.real_delta for e in w.journal), money.ZERO)
    assert real == w.wallet.real
    assert w.wallet.seq == len(w.journal)
