"""The Groove engine: wager and wagerAndResult, and the session rules of the read requests.

:func:`decide_wager` decides a bet from :class:`WagerState` in the protocol's order: a known
transaction id (replay, or 400), a live session of this account (1000), not blocked (1035),
the request's own values (110, never remembered), a rollback tombstone (409), the free-round
award, the wallet, the round not closed (409), responsible-gaming limits (1019), funds (1006).
Then the bet is split between real and bonus money by the operator's order, the round takes
it, and a wagerAndResult pays its win at once.  Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from wallet_store.commands import MoneyOutcome, Wager, WagerAndResult
from wallet_store.domain import rounds
from wallet_store.domain.groove import (
    Ask,
    Decision,
    Effects,
    loss_check,
    new_tx_id,
    refuse,
    replay,
    stale_activity,
    win_leg,
    wr_extra,
)
from wallet_store.errors import (
    AccountBlocked,
    AmountOutOfRange,
    AuthenticationFailed,
    GamingLimit,
    NotLoggedOn,
    OperationNotAllowed,
    OutOfMoney,
    Refusal,
    RoundClosed,
    UnknownCurrency,
)
from wallet_store.model import (
    FreeRoundAward,
    GameSession,
    JournalEntry,
    Limits,
    Operator,
    PaysInto,
    Player,
    Round,
    TxRecord,
    Wallet,
    move,
    split_debit,
    split_win,
)

Bet = Wager | WagerAndResult


@dataclass(frozen=True, slots=True)
class WagerState:
    """What a bet is decided from, loaded under the player's lock.

    ``existing``: the record under the request's transaction id; ``replay_wallet`` the wallet
    in its currency (loaded only for a replay, which needs nothing else).  The rest is loaded
    for a new bet: ``tomb`` the rollback that arrived before the wager, ``award`` its free-round
    award, ``wallet`` and ``round`` in the session's currency, ``limits`` and ``recent`` (the
    journal since :func:`~wallet_store.domain.groove.loss_window_start`, with a loss limit).
    """

    player: Player
    op: Operator
    existing: TxRecord | None = None
    replay_wallet: Wallet | None = None
    session: GameSession | None = None
    tomb: TxRecord | None = None
    award: FreeRoundAward | None = None
    wallet: Wallet | None = None
    round: Round | None = None
    limits: Limits | None = None
    recent: tuple[JournalEntry, ...] = ()


def bet_kind(cmd: Bet) -> str:
    return "wager" if isinstance(cmd, Wager) else "wagerAndResult"


def bet_amount(cmd: Bet) -> Decimal:
    return cmd.amount if isinstance(cmd, Wager) else cmd.bet


def _extra(cmd: Bet) -> str:
    return "" if isinstance(cmd, Wager) else wr_extra(cmd)


# ---------------------------------------------------------------------- sessions


def live_session(session: GameSession | None, player: Player, now: datetime) -> GameSession:
    """The session of a bet or a balance: this account's, live (else 1000)."""
    if (
        session is None
        or session.account_id != player.account_id
        or session.operator_id != player.operator_id
        or not session.live(now)
    ):
        raise NotLoggedOn("game session is unknown, expired, closed or not this account's")
    return session


def account_session(session: GameSession | None, now: datetime) -> GameSession:
    """getaccount: the session must exist and be live (else 1000)."""
    if session is None or not session.live(now):
        raise NotLoggedOn("game session is unknown, expired or closed")
    return session


def check_owner(session: GameSession, player: Player | None) -> Player:
    """getaccount: the account must own the session (else 1003)."""
    if player is None or session.account_id != player.account_id or session.operator_id != player.operator_id:
        raise AuthenticationFailed("the account does not own this game session")
    return player


def session_wallet(wallet: Wallet | None) -> Wallet:
    if wallet is None:
        raise UnknownCurrency("no wallet in the session's currency")
    return wallet


# ---------------------------------------------------------------------- the bet


def invalid_wager(cmd: Bet, amount: Decimal) -> Refusal | None:
    """A refusal that follows from a wager's own values alone (never remembered), or None."""
    if amount < 0:
        return OperationNotAllowed("negative amount")
    if cmd.frbid is not None and amount != 0:
        return OperationNotAllowed("a free-round wager must have betamount 0")
    if isinstance(cmd, WagerAndResult) and cmd.status not in ("completed", "pending"):
        return OperationNotAllowed("gamestatus must be completed or pending")
    if isinstance(cmd, WagerAndResult) and cmd.win < 0:
        return OperationNotAllowed("negative win")
    return None


def decide_wager(s: WagerState, cmd: Bet, now: datetime) -> Decision:
    """A wager or wagerAndResult, decided in the protocol's order (see the module)."""
    amount, extra = bet_amount(cmd), _extra(cmd)
    if s.existing is not None:
        return replay(
            s.existing,
            s.op,
            s.replay_wallet,
            account_id=cmd.account_id,
            round_id=cmd.round_id,
            amount=amount,
            extra=extra,
        )
    session = live_session(s.session, s.player, now)
    ask = Ask(
        s.op.operator_id,
        bet_kind(cmd),
        cmd.game_id,
        cmd.transaction_id,
        cmd.account_id,
        cmd.round_id,
        amount,
        session.currency,
        now,
        extra=extra,
    )
    if s.player.blocked:
        return refuse(ask, AccountBlocked("account is blocked or self-excluded"))
    # The spec's order (session, blocked, amount, ...), then the request's own values: those
    # refusals are not remembered (a remembered copy would block the right request under
    # the id), so they come before any state that a replay could find changed (a tombstone).
    if refused := invalid_wager(cmd, amount):
        return Decision(refusal=refused)
    if s.tomb is not None:
        return refuse(ask, RoundClosed("transaction was rolled back before it arrived"))
    if cmd.frbid is not None and (s.award is None or s.award.account_id != cmd.account_id):
        return refuse(ask, OperationNotAllowed("unknown free-round award"))
    if s.wallet is None:
        return refuse(ask, UnknownCurrency("no wallet in the session's currency"))
    if rounds.is_closed(s.round):
        return refuse(ask, RoundClosed("round is closed"))
    try:
        loss_check(s.limits, s.recent, amount, now)
        real, bonus = split_debit(s.wallet, amount, s.op.debit_order)
    except (GamingLimit, OutOfMoney) as r:
        return refuse(ask, r)
    return _place(s, s.wallet, cmd, ask, real, bonus)


def _place(s: WagerState, wallet: Wallet, cmd: Bet, ask: Ask, real: Decimal, bonus: Decimal) -> Decision:
    """Debit the bet (and pay a wagerAndResult's win) into the round."""
    entries: list[JournalEntry] = []
    reference = f"{ask.kind}:{cmd.transaction_id}"
    if ask.amount > 0:
        wallet, entry = move(wallet, kind="wager", real=-real, bonus=-bonus, reference=reference, now=ask.now)
        entries.append(entry)
    rnd = s.round or Round(cmd.account_id, cmd.game_id, cmd.round_id, ask.currency, created_at=ask.now)
    rnd = rounds.place_bet(rnd, real, bonus)
    rec = ask.record(outcome="ok", real=real, bonus=bonus)
    win_rec = None
    if isinstance(cmd, WagerAndResult):
        pays: PaysInto = s.award.pays_into if cmd.frbid is not None and s.award is not None else "real"
        wreal, wbonus = split_win(cmd.win, rnd.real_bet, rnd.bonus_bet, pays)
        if cmd.win > 0:
            try:
                wallet, entry = move(wallet, kind="result", real=wreal, bonus=wbonus, reference=reference, now=ask.now)
            except AmountOutOfRange as r:
                return refuse(ask, r)
            entries.append(entry)
        rnd = rounds.settle(rnd, wreal, wbonus, cmd.status, ask.now)
        rec = replace(rec, extra=wr_extra(cmd, wreal, wbonus, new_tx_id()))
        win_rec = win_leg(rec)
    effects = Effects(
        wallet=wallet if entries else None,
        entries=tuple(entries),
        round=rnd,
        record=rec,
        touch=(s.player.account_id, ask.now) if stale_activity(s.player, ask.now) else None,
    )
    outcome = MoneyOutcome(record=rec, wallet=wallet, order=s.op.debit_order, duplicate=False, win_record=win_rec)
    return Decision(outcome=outcome, effects=effects)
