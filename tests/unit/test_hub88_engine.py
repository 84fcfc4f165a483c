"""The Hub88 engine's decisions, pure: state in, decision (answer + effects) out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from wallet_store.domain import rounds
from wallet_store.domain.aggregators import HUB88_BET, HUB88_ROLLBACK, HUB88_WIN
from wallet_store.domain.groove import PLAY_KINDS
from wallet_store.domain.hub88 import Hub88Settings
from wallet_store.domain.hub88_engine import Hub88State, Hub88Tx, decide_bet, decide_rollback, decide_win
from wallet_store.errors import (
    GameNotAllowed,
    NotLoggedOn,
    OutOfMoney,
    ParameterMismatch,
    TokenExpired,
    UnrepresentableAmount,
    WagerNotFound,
)
from wallet_store.model import GameSession, Operator, Player, Wallet

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
OP = Operator("11", "Casino", "EUR")
PLAYER = Player("p1", "11", "P", None, "EE", "Tallinn", "EUR", "active", NOW)
SESSION = GameSession("tok", "p1", "11", "EUR", None, NOW, NOW + timedelta(hours=1))
WALLET = Wallet("p1", "EUR", real=Decimal(10), bonus=Decimal(5))
SETTINGS = Hub88Settings("11", True, "pem", NOW)


def bet(uuid: str = "b1", amount: str = "2", **kw: object) -> Hub88Tx:
    return Hub88Tx(HUB88_BET, uuid, "p1", "g", "r1", Decimal(amount), "EUR", token="tok", **kw)  # type: ignore[arg-type]


def state(**kw: object) -> Hub88State:
    base = Hub88State(PLAYER, OP, SETTINGS, wallet=WALLET, session=SESSION)
    return replace(base, **kw)  # type: ignore[arg-type]


def test_a_bet_debits_into_its_round_with_the_hub88_kind() -> None:
    d = decide_bet(state(), bet(), NOW)
    assert d.error is None
    assert d.wallet is not None
    assert d.wallet.total == Decimal(13)
    (entry,) = d.effects.entries
    assert (entry.kind, entry.reference, entry.real_delta) == (HUB88_BET, "hub88_bet:b1", Decimal(-2))
    rec = d.effects.record
    assert rec is not None
    assert (rec.kind, rec.scope, rec.amount, rec.round_id) == (HUB88_BET, "hub88", Decimal(2), "r1")
    assert rounds.round_key(rec) == ("p1", "g", "r1")
    assert d.effects.round is not None
    assert d.effects.round.wagers == 1


def test_replays_and_duplicates() -> None:
    rec = decide_bet(state(), bet(), NOW).effects.record
    again = decide_bet(state(existing=rec), bet(), NOW)
    assert again.error is None
    assert again.effects.empty
    other = decide_bet(state(existing=rec), bet(amount="3"), NOW)
    assert isinstance(other.error, ParameterMismatch)
    assert other.effects.empty


def test_tokens_and_refusals() -> None:
    assert isinstance(decide_bet(state(session=None), bet(), NOW).error, NotLoggedOn)
    assert isinstance(decide_bet(state(), bet(), NOW + timedelta(hours=2)).error, TokenExpired)
    assert decide_bet(state(session=None), bet(), NOW).effects.empty  # token refusals are not remembered
    poor = decide_bet(state(), bet(amount="16"), NOW)
    assert isinstance(poor.error, OutOfMoney)
    assert poor.effects.record is not None  # remembered
    assert poor.effects.record.state == "refused"
    games = replace(SETTINGS, games=("other",))
    assert isinstance(decide_bet(state(settings=games), bet(), NOW).error, GameNotAllowed)


def test_rollback_of_an_unknown_bet_leaves_a_tombstone_and_moves_nothing() -> None:
    rb = Hub88Tx(HUB88_ROLLBACK, "rb1", "p1", "g", "r1", reference="b1")
    d = decide_rollback(state(), rb, NOW)
    assert d.error is None
    assert d.effects.wallet is None
    assert d.tombstone is not None
    assert (d.tombstone.kind, d.tombstone.transaction_id, d.tombstone.state) == (HUB88_BET, "b1", "tombstone")
    late = decide_bet(state(existing=d.tombstone), bet(), NOW)
    assert isinstance(late.error, ParameterMismatch)  # RS_ERROR_DUPLICATE_TRANSACTION, no debit
    assert late.effects.empty


def test_rollback_refunds_the_bet_and_a_later_win_finds_nothing() -> None:
    placed = decide_bet(state(), bet(), NOW)
    assert placed.wallet is not None
    rec = placed.effects.record
    rb = Hub88Tx(HUB88_ROLLBACK, "rb1", "p1", "g", "r1", reference="b1")
    done = decide_rollback(state(wallet=placed.wallet, target=rec, round=placed.effects.round), rb, NOW)
    assert done.wallet is not None
    assert done.wallet.total == Decimal(15)
    assert done.effects.corrected is not None
    assert done.effects.corrected.state == "rolled_back"
    win = Hub88Tx(HUB88_WIN, "w1", "p1", "g", "r1", Decimal(1), "EUR", reference="b1")
    late = decide_win(state(wallet=done.wallet, target=done.effects.corrected), win, NOW)
    assert isinstance(late.error, WagerNotFound)


def test_a_balance_with_no_exact_unit_value_is_refused_not_rounded() -> None:
    odd = replace(WALLET, real=Decimal("10.000001"))
    d = decide_bet(state(wallet=odd), bet(amount="0"), NOW)
    assert isinstance(d.error, UnrepresentableAmount)
    assert d.effects.empty


def test_loss_limits_count_both_aggregators() -> None:
    assert {HUB88_BET, HUB88_WIN, HUB88_ROLLBACK, "wager", "result"} <= PLAY_KINDS
