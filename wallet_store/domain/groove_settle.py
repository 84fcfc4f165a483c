"""The Groove engine: the requests that settle or correct a bet (accepted after the session expired).

result and jackpot pay a win (:func:`decide_credit`), rollback refunds a wager
(:func:`decide_rollback`), reversewin takes a paid win back and rollbackrollback debits a
refunded wager again (:func:`decide_correction`).  Each starts the same way (:func:`_start`):
a known transaction id replays its answer (or is 400), unless the request is decided afresh
(:func:`~wallet_store.domain.groove.decide_afresh`: the record under the id is then
``taken``), and a session of another account is refused.  Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from wallet_store import money
from wallet_store.commands import Jackpot, Result, ReverseWin, Rollback, RollbackRollback
from wallet_store.domain import rounds
from wallet_store.domain.groove import Ask, Decision, Effects, Settling, applied, is_replay, refuse, replay
from wallet_store.errors import (
    AmountOutOfRange,
    OperationNotAllowed,
    OutOfMoney,
    ParameterMismatch,
    RoundClosed,
    UnknownCurrency,
    WagerNotFound,
)
from wallet_store.model import (
    FreeRoundAward,
    GameSession,
    JournalEntry,
    Operator,
    PaysInto,
    Player,
    Round,
    TxRecord,
    Wallet,
    move,
    split_win,
)


@dataclass(frozen=True, slots=True)
class SettleState:
    """What a settling request is decided from, loaded under the player's lock.

    ``existing``: the record under the request's id; ``replay_wallet``: the wallet in its
    currency (loaded only for a replay, which needs nothing else).  For a request decided
    anew: ``session`` (when the request names one), ``target`` (rollback and
    rollbackrollback: the wager; reversewin: the paid win), ``settled`` (rollback with no
    wager: the wagerAndResult under its id), ``round`` (result and jackpot: the request's;
    rollback: the request's; a correction: its target's, when the target counts in a round),
    ``award`` (a free-round result's), ``wallet`` (in the currency the request moves).
    """

    player: Player
    op: Operator
    existing: TxRecord | None = None
    replay_wallet: Wallet | None = None
    session: GameSession | None = None
    target: TxRecord | None = None
    settled: TxRecord | None = None
    round: Round | None = None
    award: FreeRoundAward | None = None
    wallet: Wallet | None = None


def _start(s: SettleState, cmd: Settling, kind: str) -> Decision | None:
    """The replay of a known transaction id, or None to decide the request (see the module)."""
    if s.existing is not None and is_replay(s.existing, cmd, kind):
        return replay(
            s.existing, s.op, s.replay_wallet, account_id=cmd.account_id, round_id=cmd.round_id, amount=cmd.amount
        )
    # Money calls after a wager accept expired sessions but not someone else's.
    if s.session is not None and s.session.account_id != s.player.account_id:
        raise OperationNotAllowed("game session belongs to another account")
    return None


def _moved(
    wallet: Wallet, amount: Decimal, kind: str, real: Decimal, bonus: Decimal, reference: str, now: datetime
) -> tuple[Wallet, tuple[JournalEntry, ...]]:
    """``wallet`` after moving ``real``/``bonus`` and its entry; nothing moves for a zero amount.

    Raises what :func:`~wallet_store.model.move` refuses (out of money, out of range).
    """
    if amount <= 0:
        return wallet, ()
    wallet, entry = move(wallet, kind=kind, real=real, bonus=bonus, reference=reference, now=now)
    return wallet, (entry,)


def credit_currency(s: SettleState) -> str:
    """A win is paid in its round's currency, else the session's, else the player's."""
    if s.round is not None:
        return s.round.currency
    return s.session.currency if s.session is not None else s.player.currency


# ---------------------------------------------------------------------- result and jackpot


def decide_credit(s: SettleState, cmd: Result | Jackpot, now: datetime) -> Decision:
    """result (its round must have a wager and be open) or jackpot (beside the round)."""
    kind = "result" if isinstance(cmd, Result) else "jackpot"
    if (started := _start(s, cmd, kind)) is not None:
        return started
    rnd, currency = s.round, credit_currency(s)
    frbid = cmd.frbid if isinstance(cmd, Result) else None
    ask = Ask(
        s.op.operator_id,
        kind,
        cmd.game_id,
        cmd.transaction_id,
        cmd.account_id,
        cmd.round_id,
        cmd.amount,
        currency,
        now,
        taken=s.existing,
    )
    if cmd.status not in ("completed", "pending"):
        return refuse(ask, OperationNotAllowed("gamestatus must be completed or pending"), remember=False)
    if cmd.amount < 0:
        return refuse(ask, OperationNotAllowed("negative amount"), remember=False)
    pays: PaysInto = "real"
    if frbid is not None:
        if s.award is None or s.award.account_id != cmd.account_id:
            return refuse(ask, OperationNotAllowed("unknown free-round award"))
        pays = s.award.pays_into
    if kind == "result":
        if frbid is None and not rounds.has_wager(rnd):
            return refuse(ask, WagerNotFound("no wager for this round"))
        if rounds.is_closed(rnd):
            return refuse(ask, RoundClosed("round is closed"))
    if s.wallet is None:
        return refuse(ask, UnknownCurrency("no wallet in this currency"))
    real_bet = rnd.real_bet if rnd else money.ZERO
    bonus_bet = rnd.bonus_bet if rnd else money.ZERO
    real, bonus = split_win(cmd.amount, real_bet, bonus_bet, pays)
    try:
        wallet, entries = _moved(s.wallet, cmd.amount, kind, real, bonus, f"{kind}:{cmd.transaction_id}", now)
    except AmountOutOfRange as r:
        return refuse(ask, r)
    effects = Effects(wallet=wallet if entries else None, entries=entries)
    # Jackpots are payouts beside the round: they never open, close or count in it.
    if kind == "result":
        base = rnd or Round(cmd.account_id, cmd.game_id, cmd.round_id, currency, created_at=now)
        effects = replace(effects, round=rounds.settle(base, real, bonus, cmd.status, now))
    return applied(ask, s.op, wallet, effects, real=real, bonus=bonus)


# ---------------------------------------------------------------------- rollback


def decide_rollback(s: SettleState, cmd: Rollback, now: datetime) -> Decision:
    """Refund a wager (``s.target``); with no wager, leave a tombstone under its id."""
    if (started := _start(s, cmd, "rollback")) is not None:
        return started
    wager = s.target
    currency = wager.currency if wager else (s.session.currency if s.session else s.player.currency)
    amount = cmd.amount if cmd.amount is not None else (wager.amount if wager else money.ZERO)
    ask = Ask(
        s.op.operator_id,
        "rollback",
        cmd.game_id,
        cmd.transaction_id,
        cmd.account_id,
        cmd.round_id,
        amount,
        currency,
        now,
        taken=s.existing,
    )
    if wager is None:
        if s.settled is not None and s.settled.ok:
            return refuse(ask, OperationNotAllowed("the wager was already settled by a result"))
        # Tombstone: a wager with this transaction id arriving later must never debit.
        return refuse(ask, WagerNotFound("no such wager; the transaction id is now closed"), state="tombstone")
    if not wager.ok:
        return refuse(ask, WagerNotFound("the wager was refused; nothing to refund"))
    if wager.account_id != cmd.account_id or wager.round_id != cmd.round_id:
        return refuse(ask, OperationNotAllowed("the wager belongs to another account or round"), remember=False)
    if cmd.amount is not None and cmd.amount != wager.amount:
        raise ParameterMismatch("rollbackamount differs from the wager's amount")
    if wager.state != "applied":
        return refuse(ask, OperationNotAllowed("the wager was already rolled back"))
    if rounds.is_settled(s.round):
        return refuse(ask, OperationNotAllowed("the wager was already settled by a result"))
    if s.wallet is None:
        return refuse(ask, UnknownCurrency("wallet missing"))
    ref = f"rollback:{cmd.transaction_id}"
    try:
        wallet, entries = _moved(s.wallet, wager.amount, "rollback", wager.real, wager.bonus, ref, now)
    except AmountOutOfRange as r:
        return refuse(ask, r)
    effects = Effects(
        wallet=wallet if entries else None,
        entries=entries,
        round=None if s.round is None else rounds.withdraw_bet(s.round, wager.real, wager.bonus),
        corrected=replace(wager, state="rolled_back"),
    )
    ask = replace(ask, amount=wager.amount, currency=wager.currency)
    return applied(ask, s.op, wallet, effects, real=wager.real, bonus=wager.bonus)


# ---------------------------------------------------------------------- sportsbook corrections

_STATES: dict[str, tuple[str, Literal["applied", "reversed"]]] = {
    "reversewin": ("applied", "reversed"),  # take back a paid win, exactly as paid
    "rollbackrollback": ("rolled_back", "applied"),  # debit a refunded wager's split again
}


def decide_correction(s: SettleState, cmd: ReverseWin | RollbackRollback, now: datetime) -> Decision:
    """reversewin or rollbackrollback of ``s.target`` (its round: ``s.round``)."""
    kind = "reversewin" if isinstance(cmd, ReverseWin) else "rollbackrollback"
    if (started := _start(s, cmd, kind)) is not None:
        return started
    target = s.target
    target_state, new_state = _STATES[kind]
    ask = Ask(
        s.op.operator_id,
        kind,
        cmd.game_id,
        cmd.transaction_id,
        cmd.account_id,
        cmd.round_id or (target.round_id if target else ""),
        cmd.amount,
        target.currency if target else "",
        now,
        taken=s.existing,
    )
    if target is None or not target.ok:
        return refuse(ask, WagerNotFound("no such transaction"))
    if target.account_id != cmd.account_id or (cmd.round_id and cmd.round_id != target.round_id):
        return refuse(ask, OperationNotAllowed("the transaction belongs to another account or round"), remember=False)
    if cmd.amount != target.amount:
        raise ParameterMismatch("amount differs from the original transaction's")
    if target.state != target_state:
        return refuse(ask, OperationNotAllowed(f"the transaction is {target.state}"))
    if s.wallet is None:
        return refuse(ask, UnknownCurrency("wallet missing"))
    ref = f"{kind}:{cmd.transaction_id}"
    try:
        wallet, entries = _moved(s.wallet, target.amount, kind, -target.real, -target.bonus, ref, now)
    except (OutOfMoney, AmountOutOfRange) as r:
        return refuse(ask, r)
    rnd = s.round if rounds.in_round(target.kind) else None
    if rnd is not None:
        change = rounds.take_back_win if kind == "reversewin" else rounds.restore_bet
        rnd = change(rnd, target.real, target.bonus)
    effects = Effects(
        wallet=wallet if entries else None,
        entries=entries,
        round=rnd,
        corrected=replace(target, state=new_state),
    )
    ask = replace(ask, round_id=target.round_id)
    return applied(ask, s.op, wallet, effects, real=target.real, bonus=target.bonus)
