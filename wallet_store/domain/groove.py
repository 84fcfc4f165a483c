"""The Groove money engine, shared part: decisions, effects, replays, refusals.

Every Groove money request (wager, wagerAndResult, result, jackpot, rollback, reversewin,
rollbackrollback) is decided by a pure function of the state its unit of work loaded (a
frozen dataclass), the command and the time: :mod:`~wallet_store.domain.groove_wager` and
:mod:`~wallet_store.domain.groove_settle`.  A :class:`Decision` carries the answer (an
outcome, or a refusal raised after the commit) and the :class:`Effects` the service persists,
in this order: the wallet and its journal entries, the round, the corrected record's new
state, the plain refusal dropped from under the id, the new record, the player's
``last_active``.

Invalid requests (1000, 400, and the facts a replay could never change) are raised here, as
before, and leave nothing behind: the unit of work is abandoned.

Remembered refusals: a refusal that depends on state that can change (funds, limits, a block,
a wager not there yet, a tombstone) is written as a record under the transaction id, so that
its replay gets the same answer; one that follows from the request's own values or from facts
that never change is not (a remembered copy would only block the right request under that id,
issue 14 defect 3).

Pure: no I/O, no awaits, no driver, aiohttp or store import.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final, Literal

from wallet_store import money
from wallet_store.commands import Jackpot, MoneyOutcome, Result, ReverseWin, Rollback, RollbackRollback, WagerAndResult
from wallet_store.domain.aggregators import HUB88_KINDS
from wallet_store.errors import (
    GamingLimit,
    NotLoggedOn,
    ParameterMismatch,
    Refusal,
    UnknownAccount,
    refusal_from_record,
)
from wallet_store.model import JournalEntry, Limits, Operator, Player, Round, TxRecord, Wallet

GAME_KINDS: Final = frozenset({"wager", "result", "rollback", "jackpot", "reversewin", "rollbackrollback"})
# The journal kinds of game play of every aggregator: what the loss limits count (a Hub88 bet
# and a Groove wager lose from the same balance).
PLAY_KINDS: Final = GAME_KINDS | HUB88_KINDS
# Requests that correct an earlier transaction named by its transaction id (the target).
CORRECTIONS: Final = frozenset({"rollback", "reversewin", "rollbackrollback"})
# Corrections whose refusals never stick (see decide_afresh); a rollback's do, as tombstones.
RETRIED_CORRECTIONS: Final = frozenset({"reversewin", "rollbackrollback"})

# Wagers move ``players.last_active`` at most once a minute: it is "when did this player last
# play", and rewriting the player's row on every spin cost a statement and a dirtied B-tree
# page per wager.  getaccount (a session start) still sets it every time.
LAST_ACTIVE_RESOLUTION: Final = timedelta(seconds=60)

Settling = Result | Jackpot | Rollback | ReverseWin | RollbackRollback


def new_tx_id() -> str:
    """Our transaction id (accounttransactionid / walletTx): unique, opaque, 20 hex chars.

    80 random bits from the OS (``uuid4().hex[:20]`` held 76: its 13th character is the
    version digit) without building a UUID: 1.4 against 7.6 us per call, one per money request.
    """
    return os.urandom(10).hex()


# ---------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Effects:
    """What a decided request writes, all in one transaction (see the module's order)."""

    wallet: Wallet | None = None
    entries: tuple[JournalEntry, ...] = ()
    round: Round | None = None
    corrected: TxRecord | None = None  # the target record in its new state
    drop: TxRecord | None = None  # the plain refusal under the id, replaced by ``record``
    record: TxRecord | None = None
    touch: tuple[str, datetime] | None = None  # (account, its new last_active)

    @property
    def empty(self) -> bool:
        return self == _NOTHING


_NOTHING: Final = Effects()


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer (an outcome, or a refusal to raise after the commit) and its effects."""

    outcome: MoneyOutcome | None = None
    refusal: Refusal | None = None
    effects: Effects = _NOTHING


@dataclass(frozen=True, slots=True)
class Ask:
    """The identity of one request's record: what a refusal or an applied record is stored as."""

    operator_id: str
    kind: str
    game_id: str
    transaction_id: str
    account_id: str
    round_id: str
    amount: Decimal
    currency: str
    now: datetime
    extra: str = ""
    taken: TxRecord | None = None  # a record for other parameters under the id (see decide_afresh)

    def record(
        self,
        *,
        outcome: str,
        message: str = "",
        real: Decimal = money.ZERO,
        bonus: Decimal = money.ZERO,
        state: Literal["applied", "refused", "tombstone"] = "applied",
    ) -> TxRecord:
        return TxRecord(
            operator_id=self.operator_id,
            scope=self.game_id,
            kind=self.kind,
            transaction_id=self.transaction_id,
            account_id=self.account_id,
            round_id=self.round_id,
            amount=self.amount,
            currency=self.currency,
            outcome=outcome,
            message=message,
            wallet_tx=new_tx_id(),
            real=real,
            bonus=bonus,
            state=state,
            created_at=self.now,
            extra=self.extra,
        )


def refuse(
    ask: Ask, refusal: Refusal, *, state: Literal["refused", "tombstone"] = "refused", remember: bool = True
) -> Decision:
    """Answer ``refusal``; remember it under the transaction id unless ``remember`` is False.

    ``ask.taken``: the record already under the id, for other parameters (the request was
    decided afresh).  A plain refusal there is replaced, so that this request's replay gets
    this answer; any other record is never replaced (the refusal is then not remembered).
    """
    if not remember or (ask.taken is not None and ask.taken.state != "refused"):
        return Decision(refusal=refusal)
    rec = ask.record(outcome=type(refusal).__name__, message=refusal.message, state=state)
    return Decision(refusal=refusal, effects=Effects(drop=ask.taken, record=rec))


def applied(ask: Ask, op: Operator, wallet: Wallet, effects: Effects, *, real: Decimal, bonus: Decimal) -> Decision:
    """Record a settling request as applied (its idempotency record) with ``effects``.

    ``ask.taken``: only a plain refusal gives way (nothing moved under it); anything else means
    the id was spent on another request, and the unit is abandoned.
    """
    if ask.taken is not None and ask.taken.state != "refused":
        raise ParameterMismatch("transaction id already used with a different account, amount or round")
    rec = ask.record(outcome="ok", real=real, bonus=bonus)
    outcome = MoneyOutcome(record=rec, wallet=wallet, order=op.debit_order, duplicate=False)
    return Decision(outcome=outcome, effects=replace(effects, drop=ask.taken, record=rec))


# ---------------------------------------------------------------------- replays


def replay(
    rec: TxRecord,
    op: Operator,
    wallet: Wallet | None,
    *,
    account_id: str,
    round_id: str | None,
    amount: Decimal | None,
    extra: str = "",
) -> Decision:
    """The stored answer of a known transaction id, or 400 when its parameters differ.

    ``wallet``: the account's wallet in the record's currency (the balances now).
    """
    if (
        rec.account_id != account_id
        or (round_id is not None and rec.round_id != round_id)
        or (amount is not None and rec.amount != amount)
        or (extra and rec.extra and replay_key(rec.extra) != replay_key(extra))
    ):
        raise ParameterMismatch("transaction id already used with a different account, amount or round")
    if not rec.ok:
        return Decision(refusal=refusal_from_record(rec.outcome, rec.message))
    if wallet is None:
        raise UnknownAccount("account no longer has this wallet")
    win = win_leg(rec) if rec.kind == "wagerAndResult" else None
    return Decision(
        outcome=MoneyOutcome(record=rec, wallet=wallet, order=op.debit_order, duplicate=True, win_record=win)
    )


def is_replay(existing: TxRecord | None, cmd: Settling, kind: str) -> bool:
    """Whether a settling request is answered from the record under its id (or refused 400)."""
    return existing is not None and not decide_afresh(existing, cmd, kind)


def decide_afresh(rec: TxRecord, cmd: Settling, kind: str) -> bool:
    """Whether a request whose transaction id already holds ``rec`` is decided afresh.

    * ``rec`` is a plain refusal (nothing moved under the id) and the request names another
      round or amount, or, for a correction, another account: the refusal must not block it
      (issue 14, defect 3).  Only a correction may cross accounts, because only the account
      of its target can ever apply it (each account's requests are serialized by its lock).
    * A correction (rollback, reversewin, rollbackrollback) naming the same account but
      another round than the applied correction or tombstone under its id: it is answered by
      its target (110, or 102 for a tombstone), not as a parameter mismatch.

    * A reversewin or rollbackrollback whose plain refusal is under its id: decided afresh on
      every retry, whatever its parameters.  Its target may arrive or change state later (a
      reversewin sent before its win, a rollbackrollback before its rollback); aggregators
      retry corrections until they succeed, so a remembered refusal must not block them.  A
      retry that is refused again replaces the refusal; one that applies replaces it too.

    Everything else is a replay, or 400 for other parameters (another account included).
    """
    other_account = rec.account_id != cmd.account_id
    other_round = cmd.round_id is not None and rec.round_id != cmd.round_id
    other_amount = cmd.amount is not None and rec.amount != cmd.amount
    correction = kind in CORRECTIONS
    if rec.state == "refused" and kind in RETRIED_CORRECTIONS and not other_account:
        return True
    if rec.state == "refused":
        return (other_round or other_amount or other_account) and (correction or not other_account)
    return correction and other_round and not other_account


# ---------------------------------------------------------------------- wagerAndResult records


def wr_extra(
    cmd: WagerAndResult, real: Decimal | None = None, bonus: Decimal | None = None, wallet_tx: str = ""
) -> str:
    """The ``extra`` of a wagerAndResult record: its win leg (and, once paid, its split)."""
    data = {"win": money.wire(cmd.win), "status": cmd.status}
    if real is not None and bonus is not None:
        data |= {"real_win": money.wire(real), "bonus_win": money.wire(bonus), "wallet_tx": wallet_tx}
    return json.dumps(data, sort_keys=True)


def replay_key(extra: str) -> tuple[str, str]:
    data = json.loads(extra)
    return str(data.get("win")), str(data.get("status"))


def win_leg(rec: TxRecord) -> TxRecord | None:
    """The win a wagerAndResult record paid, as a result record (None before it was paid)."""
    if not rec.extra:
        return None
    data = json.loads(rec.extra)
    if "real_win" not in data:
        return None
    return replace(
        rec,
        kind="result",
        amount=money.parse(data["win"]),
        real=money.parse(data["real_win"]),
        bonus=money.parse(data["bonus_win"]),
        wallet_tx=data["wallet_tx"],
    )


def paid_win_leg(paid: TxRecord | None) -> TxRecord | None:
    """The win a wagerAndResult paid under this transaction id, as the record reversewin takes back.

    Its kind stays ``wagerAndResult`` so that marking it reversed marks that record (its bet
    stays placed: a wagerAndResult is never rolled back).
    """
    leg = win_leg(paid) if paid is not None and paid.ok else None
    return None if leg is None else replace(leg, kind="wagerAndResult")


# ---------------------------------------------------------------------- players and limits


def bettor(player: Player | None) -> Player:
    """The account of a bet or a balance request (unknown: 1000)."""
    if player is None:
        raise NotLoggedOn("unknown account")
    return player


def payee(player: Player | None) -> Player:
    """The account of a settling request (unknown: 110)."""
    if player is None:
        raise UnknownAccount("unknown account")
    return player


def stale_activity(player: Player, now: datetime) -> bool:
    """Whether a wager moves the player's ``last_active`` (at most once a minute)."""
    last = player.last_active
    return last is None or not timedelta(0) <= now - last < LAST_ACTIVE_RESOLUTION


def loss_window_start(now: datetime) -> datetime:
    """The earliest journal entry the loss limits look at: the start of this week or month."""
    day = _day(now)
    return min(day - timedelta(days=day.weekday()), day.replace(day=1))


def _day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def loss_check(limits: Limits | None, recent: tuple[JournalEntry, ...], amount: Decimal, now: datetime) -> None:
    """Raise :class:`GamingLimit` when a bet of ``amount`` breaks the player's limits.

    ``recent``: the wallet's journal since :func:`loss_window_start` (loaded only when a loss
    limit is set).
    """
    if limits is None:
        return
    if limits.max_bet is not None and amount > limits.max_bet:
        raise GamingLimit("bet above the player's bet limit")
    if not limits.any_loss_limit:
        return
    day = _day(now)
    week = day - timedelta(days=day.weekday())
    month = day.replace(day=1)
    for start, limit in ((day, limits.loss_day), (week, limits.loss_week), (month, limits.loss_month)):
        if limit is None:
            continue
        loss = money.ZERO
        for e in recent:
            if e.kind in PLAY_KINDS and e.created_at >= start:
                loss = money.sub(loss, money.add(e.real_delta, e.bonus_delta))
        if money.add(loss, amount) > limit:
            raise GamingLimit("bet would exceed the player's loss limit")
