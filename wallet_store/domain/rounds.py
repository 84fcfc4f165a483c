"""Round rules, once: how each money request changes a round, and what a round's totals are.

A round holds the bets and wins of one game round of one account: the real and bonus parts
of its bets (``real_bet``, ``bonus_bet``) and wins (``real_win``, ``bonus_win``), the number
of live wagers and of results, and whether it is closed.

:data:`EFFECTS` says, once, what one transaction record of each kind does to its round: the
sign its real/bonus split carries on the bets (and on the wager count) and on the wins, and
whether it counts as a result.  Everything else follows from it:

* the service's changes (:func:`place_bet`, :func:`withdraw_bet`, :func:`restore_bet`,
  :func:`settle`, :func:`take_back_win`) apply one kind's effect to the stored round;
* ``audit`` recomputes a round from its records as they stand (:func:`tally`): a record
  carries its own effect plus that of the correction that put it in its state, so a
  rolled-back wager nets to nothing and a reversed win keeps only its result count;
* the liability report signs each record's split by its kind's bet sign (events up to a
  cutoff, so a later rollback does not change a past month).

Hub88's bet, win and rollback (:mod:`wallet_store.domain.hub88_engine`) have the effects of a
wager, a result and a rollback; their round is keyed by the game the record names
(:func:`round_key`), since their scope is the integration, not the game.

Jackpots are payouts beside the round: no effect.  Pure: no I/O, no driver or store import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Final

from wallet_store import money
from wallet_store.domain.aggregators import HUB88_BET, HUB88_KINDS, HUB88_ROLLBACK, HUB88_WIN
from wallet_store.model import Round, TxRecord

Split = tuple[Decimal, Decimal]  # (real, bonus)
_NONE: Final[Split] = (money.ZERO, money.ZERO)


@dataclass(frozen=True, slots=True)
class Effect:
    """What one record does to its round: signs (+1, 0, -1) on the bets and wager count, on
    the wins, and on the result count."""

    bet: int = 0
    win: int = 0
    result: int = 0

    def plus(self, other: Effect) -> Effect:
        return Effect(self.bet + other.bet, self.win + other.win, self.result + other.result)


EFFECTS: Final[dict[str, Effect]] = {
    "wager": Effect(bet=1),
    "rollback": Effect(bet=-1),
    "rollbackrollback": Effect(bet=1),
    "result": Effect(win=1, result=1),
    "reversewin": Effect(win=-1),
    "wagerAndResult": Effect(bet=1, win=1, result=1),
    HUB88_BET: Effect(bet=1),
    HUB88_ROLLBACK: Effect(bet=-1),
    HUB88_WIN: Effect(win=1, result=1),
}

# The records a round's totals are made of; corrections only change their state.
_STANDING = ("wager", "wagerAndResult", "result", HUB88_BET, HUB88_WIN)
# The correction that put a record in its state (a restored wager is "applied" again: its
# rollback and rollbackrollback cancel out).
_CORRECTED_BY: Final[dict[str, str]] = {"rolled_back": "rollback", "reversed": "reversewin"}


# ------------------------------------------------------------------ round state


def is_closed(rnd: Round | None) -> bool:
    """A closed round takes no more wagers and no more results."""
    return rnd is not None and rnd.status == "closed"


def has_wager(rnd: Round | None) -> bool:
    """Whether the round has a live wager (one not rolled back) for a result to settle."""
    return rnd is not None and rnd.wagers > 0


def is_settled(rnd: Round | None) -> bool:
    """A round with a result: its wagers can no longer be rolled back."""
    return rnd is not None and rnd.results > 0


def open_at(rnd: Round, cutoff: datetime) -> bool:
    """Whether the round was open at ``cutoff``: created before it and not closed before it."""
    return rnd.created_at is not None and rnd.created_at < cutoff and (rnd.closed_at is None or rnd.closed_at >= cutoff)


def live_wagers(wagers: int) -> bool:
    """Whether a count of wagers (placed minus rolled back) leaves a live stake."""
    return wagers > 0


# ------------------------------------------------------------------ the service's changes


def place_bet(rnd: Round, real: Decimal, bonus: Decimal) -> Round:
    """A wager (or the bet of a wagerAndResult) debited ``real``/``bonus`` in this round."""
    return _apply(rnd, EFFECTS["wager"], bet=(real, bonus))


def withdraw_bet(rnd: Round, real: Decimal, bonus: Decimal) -> Round:
    """A rollback refunded a wager's ``real``/``bonus``."""
    return _apply(rnd, EFFECTS["rollback"], bet=(real, bonus))


def restore_bet(rnd: Round, real: Decimal, bonus: Decimal) -> Round:
    """A rollbackrollback debited a refunded wager's ``real``/``bonus`` again."""
    return _apply(rnd, EFFECTS["rollbackrollback"], bet=(real, bonus))


def settle(rnd: Round, real: Decimal, bonus: Decimal, status: str, now: datetime) -> Round:
    """A result paid ``real``/``bonus``; ``completed`` closes the round at ``now``."""
    rnd = _apply(rnd, EFFECTS["result"], win=(real, bonus))
    if status != "completed":
        return rnd
    return replace(rnd, status="closed", closed_at=now)


def take_back_win(rnd: Round, real: Decimal, bonus: Decimal) -> Round:
    """A reversewin took back a paid win's ``real``/``bonus`` (the result still counts)."""
    return _apply(rnd, EFFECTS["reversewin"], win=(real, bonus))


# ------------------------------------------------------------------ totals from the records


def bet_sign(kind: str) -> int:
    """The sign a record of ``kind`` puts on its round's bets and wager count (0: none)."""
    return EFFECTS[kind].bet if kind in EFFECTS else 0


def in_round(kind: str) -> bool:
    """Whether a record of ``kind`` counts in its round (a jackpot does not)."""
    return kind in EFFECTS


def round_key(t: TxRecord) -> tuple[str, str, str]:
    """(account, game, round) of the round a record counts in.  A Groove record's scope is its
    game; a Hub88 record's scope is the integration, and its ``extra`` names the round's game
    (``round_game``: the game of the bet that opened the round)."""
    if t.kind in HUB88_KINDS and t.extra:
        game = json.loads(t.extra).get("round_game")
        if isinstance(game, str):
            return (t.account_id, game, t.round_id)
    return (t.account_id, t.scope, t.round_id)


def standing_effect(t: TxRecord) -> Effect | None:
    """What record ``t`` contributes to its round as it stands: its own effect plus that of
    the correction that put it in its state.  None for refusals, jackpots and corrections
    (these show in their target's state)."""
    if not t.ok or t.kind not in _STANDING:
        return None
    effect = EFFECTS[t.kind]
    correction = _CORRECTED_BY.get(t.state)
    return effect if correction is None else effect.plus(EFFECTS[correction])


def tally(total: Round, t: TxRecord) -> Round:
    """``total`` with record ``t``'s standing effect added: a round recomputed from its records."""
    effect = standing_effect(t)
    if effect is None:
        return total
    win: Split = (t.real, t.bonus)
    if t.kind == "wagerAndResult":
        if not t.extra:
            effect = replace(effect, win=0, result=0)
        else:
            leg = json.loads(t.extra)
            win = (money.parse(leg["real_win"]), money.parse(leg["bonus_win"]))
    return _apply(total, effect, bet=(t.real, t.bonus), win=win)


# ------------------------------------------------------------------ arithmetic


def _apply(rnd: Round, e: Effect, *, bet: Split = _NONE, win: Split = _NONE) -> Round:
    # Positional, in the fields' declared order: several times cheaper than dataclasses.replace.
    return Round(
        rnd.account_id,
        rnd.game_id,
        rnd.round_id,
        rnd.currency,
        rnd.status,
        _signed(rnd.real_bet, e.bet, bet[0]),
        _signed(rnd.bonus_bet, e.bet, bet[1]),
        _signed(rnd.real_win, e.win, win[0]),
        _signed(rnd.bonus_win, e.win, win[1]),
        rnd.wagers + e.bet,
        rnd.results + e.result,
        rnd.created_at,
        rnd.closed_at,
    )


def _signed(total: Decimal, sign: int, amount: Decimal) -> Decimal:
    if sign > 0:
        return money.add(total, amount)
    if sign < 0:
        return money.sub(total, amount)
    return total
