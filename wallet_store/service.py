"""Application service: the wallet's use cases, run as units of work on a WalletStore.

Pure of HTTP and drivers: it speaks :mod:`wallet_store.ports` and raises
:mod:`wallet_store.errors`.  Each money request is one unit of work that

1. locks the player (the per-account serialization point on every backend);
2. authenticates the caller against the player's operator (signature, IP allow-list);
3. looks up the idempotency record: same key fields -> replay the original outcome
   (``duplicate=True``), different ones -> :class:`~errors.ParameterMismatch`;
4. decides with the pure rules of :mod:`wallet_store.model`;
5. writes balances, journal, round and the record together.

Business refusals are written as records too (and returned, not raised, from the unit so
the savepoint keeps them); the service raises them after the commit.  Invalid requests
(1000, 1008, 1001, 400) raise inside the unit and leave nothing behind.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

from . import money
from .commands import (
    AccountView,
    Caller,
    Jackpot,
    MoneyOutcome,
    Result,
    ReverseWin,
    Rollback,
    RollbackRollback,
    SessionQuery,
    Wager,
    WagerAndResult,
)
from .currencies import ensure_currency
from .domain import idempotency, rounds
from .errors import (
    AccountBlocked,
    AmountOutOfRange,
    AuthenticationFailed,
    CallerNotAllowed,
    Conflict,
    GamingLimit,
    IdempotencyConflict,
    InvalidSignature,
    NotFound,
    NotLoggedOn,
    OperationNotAllowed,
    OutOfMoney,
    ParameterMismatch,
    Refusal,
    RoundClosed,
    UnknownAccount,
    UnknownCurrency,
    WagerNotFound,
    refusal_from_record,
)
from .model import (
    Clock,
    DebitOrder,
    FreeRoundAward,
    GameSession,
    Limits,
    Operator,
    PaysInto,
    Player,
    PlayerStatus,
    Round,
    SignatureScheme,
    SystemClock,
    TxRecord,
    Wallet,
    game_mode,
    move,
    split_debit,
    split_win,
)
from .ports import Tx, WalletStore

T = TypeVar("T")

GAME_KINDS = frozenset({"wager", "result", "rollback", "jackpot", "reversewin", "rollbackrollback"})
# Requests that correct an earlier transaction named by its transaction id (the target).
CORRECTIONS = frozenset({"rollback", "reversewin", "rollbackrollback"})
# Corrections whose refusals never stick (see _decide_afresh); a rollback's do, as tombstones.
RETRIED_CORRECTIONS = frozenset({"reversewin", "rollbackrollback"})


def new_tx_id() -> str:
    """Our transaction id (accounttransactionid / walletTx): unique, opaque, 20 hex chars."""
    return uuid.uuid4().hex[:20]


# Wagers move ``players.last_active`` at most once a minute: it is "when did this player last
# play", and rewriting the player's row on every spin cost a statement and a dirtied B-tree
# page per wager.  getaccount (a session start) still sets it every time.
LAST_ACTIVE_RESOLUTION = timedelta(seconds=60)


def _stale_activity(player: Player, now: datetime) -> bool:
    last = player.last_active
    return last is None or not timedelta(0) <= now - last < LAST_ACTIVE_RESOLUTION


def signature_for(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class _Decided:
    """What a money unit of work returns: an outcome, or a refusal to raise after commit."""

    outcome: MoneyOutcome | None = None
    refusal: Refusal | None = None


@dataclass(frozen=True, slots=True)
class _Prelude:
    """The start of a settling request: who, for which operator, and what its id already holds.

    ``replay`` is the decided replay of a known transaction id.  ``taken`` is set instead when
    the id holds a record for *other* parameters that must not block this request (see
    :func:`_decide_afresh`): the request is then decided afresh, its refusals are answered but
    not remembered (the id is taken), and only an outcome that moves money may replace the
    record, and only a plain refusal (:meth:`WalletService._applied`).
    """

    player: Player
    op: Operator
    session: GameSession | None
    replay: _Decided | None = None
    taken: TxRecord | None = None


class WalletService:
    def __init__(self, store: WalletStore, clock: Clock | None = None, *, session_ttl: int = 3600) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.session_ttl = session_ttl

    # ------------------------------------------------------------------ helpers

    async def _write(self, unit: Callable[[Tx], Awaitable[T]]) -> T:
        return await self.store.write(unit)

    async def _authenticate(self, tx: Tx, operator_id: str, caller: Caller) -> Operator:
        op = await tx.get_operator(operator_id)
        if op is None:
            raise NotLoggedOn("unknown operator")
        check_caller(op, caller)
        return op

    async def _live_session(self, tx: Tx, session_id: str, player: Player, now: datetime) -> GameSession:
        session = await tx.get_session(session_id)
        if (
            session is None
            or session.account_id != player.account_id
            or session.operator_id != player.operator_id
            or not session.live(now)
        ):
            raise NotLoggedOn("game session is unknown, expired, closed or not this account's")
        return session

    async def _session_matches(self, tx: Tx, session_id: str, player: Player) -> GameSession | None:
        """Money calls after a wager accept expired sessions but not someone else's."""
        session = await tx.get_session(session_id) if session_id else None
        if session is not None and session.account_id != player.account_id:
            raise OperationNotAllowed("game session belongs to another account")
        return session

    async def _refuse(
        self,
        tx: Tx,
        *,
        op: Operator,
        kind: str,
        cmd_account: str,
        game_id: str,
        round_id: str,
        transaction_id: str,
        amount: Decimal,
        currency: str,
        refusal: Refusal,
        state: Literal["refused", "tombstone"] = "refused",
        extra: str = "",
        remember: bool = True,
        taken: TxRecord | None = None,
    ) -> _Decided:
        """Answer ``refusal``; remember it under the transaction id unless ``remember`` is False.

        Remember a refusal that depends on state that can change (funds, limits, a block, a
        wager not there yet, a tombstone): a replay must get the same answer.  Do not remember
        one that follows from the request's own values or from facts that never change (a
        negative amount, a bad gamestatus, a correction naming another account or round than
        its transaction's): a replay is decided again to the same answer, and a remembered
        copy would only block the right request under that id (issue 14, defect 3).

        ``taken``: the plain refusal already under the id, for other parameters (the request
        was decided afresh).  A refusal to remember replaces it, so that this request's replay
        gets this answer; a record that is not a plain refusal is never replaced.
        """
        if not remember:
            return _Decided(refusal=refusal)
        if taken is not None:
            if taken.state != "refused":
                return _Decided(refusal=refusal)
            await tx.drop_refusal(taken)
        await tx.insert_tx(
            TxRecord(
                operator_id=op.operator_id,
                scope=game_id,
                kind=kind,
                transaction_id=transaction_id,
                account_id=cmd_account,
                round_id=round_id,
                amount=amount,
                currency=currency,
                outcome=type(refusal).__name__,
                message=refusal.message,
                wallet_tx=new_tx_id(),
                state=state,
                created_at=self.clock.now(),
                extra=extra,
            )
        )
        return _Decided(refusal=refusal)

    async def _replay(
        self, tx: Tx, rec: TxRecord, *, account_id: str, round_id: str | None, amount: Decimal | None, extra: str = ""
    ) -> _Decided:
        if (
            rec.account_id != account_id
            or (round_id is not None and rec.round_id != round_id)
            or (amount is not None and rec.amount != amount)
            or (extra and rec.extra and _replay_key(rec.extra) != _replay_key(extra))
        ):
            raise ParameterMismatch("transaction id already used with a different account, amount or round")
        if not rec.ok:
            return _Decided(refusal=refusal_from_record(rec.outcome, rec.message))
        op = await tx.get_operator((await _require_player(tx, account_id)).operator_id)
        wallet = await tx.get_wallet(account_id, rec.currency)
        if op is None or wallet is None:
            raise UnknownAccount("account no longer has this wallet")
        win = None
        if rec.kind == "wagerAndResult":
            win = _win_leg(rec)
        return _Decided(
            outcome=MoneyOutcome(record=rec, wallet=wallet, order=op.debit_order, duplicate=True, win_record=win)
        )

    async def _settle_prelude(
        self,
        tx: Tx,
        cmd: Result | Jackpot | Rollback | ReverseWin | RollbackRollback,
        caller: Caller,
        kind: str,
    ) -> _Prelude:
        """The start of every call that settles or corrects a wager (accepted after expiry).

        Lock the account, authenticate the caller, replay a known transaction id (or refuse a
        mismatch, or mark the id ``taken`` when the request is to be decided afresh), and
        refuse a session that belongs to another account.
        """
        player = await tx.lock_player(cmd.account_id)
        if player is None:
            raise UnknownAccount("unknown account")
        op = await self._authenticate(tx, player.operator_id, caller)
        existing = await tx.get_tx(op.operator_id, cmd.game_id, kind, cmd.transaction_id)
        taken = None
        if existing is not None:
            if not _decide_afresh(existing, cmd, kind):
                replay = await self._replay(
                    tx, existing, account_id=cmd.account_id, round_id=cmd.round_id, amount=cmd.amount
                )
                return _Prelude(player, op, None, replay=replay)
            taken = existing
        session = await self._session_matches(tx, cmd.session_id, player)
        return _Prelude(player, op, session, taken=taken)

    async def _applied(
        self,
        tx: Tx,
        op: Operator,
        cmd: Result | Jackpot | Rollback | ReverseWin | RollbackRollback,
        wallet: Wallet,
        *,
        kind: str,
        round_id: str,
        amount: Decimal,
        currency: str,
        real: Decimal,
        bonus: Decimal,
        now: datetime,
        taken: TxRecord | None,
    ) -> _Decided:
        """Record a settling request as applied (its idempotency record) and decide it.

        ``taken`` (see :class:`_Prelude`): the record already under this id, for other
        parameters.  Only a plain refusal gives way (nothing moved under it); anything else
        means the id was spent on another request, and the unit is abandoned.
        """
        if taken is not None:
            if taken.state != "refused":
                raise ParameterMismatch("transaction id already used with a different account, amount or round")
            await tx.drop_refusal(taken)
        rec = TxRecord(
            operator_id=op.operator_id,
            scope=cmd.game_id,
            kind=kind,
            transaction_id=cmd.transaction_id,
            account_id=cmd.account_id,
            round_id=round_id,
            amount=amount,
            currency=currency,
            outcome="ok",
            message="",
            wallet_tx=new_tx_id(),
            real=real,
            bonus=bonus,
            created_at=now,
        )
        await tx.insert_tx(rec)
        return _Decided(outcome=MoneyOutcome(record=rec, wallet=wallet, order=op.debit_order, duplicate=False))

    async def _run_money(self, unit: Callable[[Tx], Awaitable[_Decided]]) -> MoneyOutcome:
        decided = await self._write(unit)
        if decided.refusal is not None:
            raise decided.refusal
        if decided.outcome is None:
            raise RuntimeError("money unit of work decided nothing")
        return decided.outcome

    async def _loss_check(self, tx: Tx, player: Player, currency: str, amount: Decimal, now: datetime) -> None:
        limits = await tx.get_limits(player.account_id)
        if limits is None:
            return
        if limits.max_bet is not None and amount > limits.max_bet:
            raise GamingLimit("bet above the player's bet limit")
        if not limits.any_loss_limit:
            return
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        week = day - timedelta(days=day.weekday())
        month = day.replace(day=1)
        entries = await tx.journal_since(player.account_id, currency, min(week, month))
        for start, limit in ((day, limits.loss_day), (week, limits.loss_week), (month, limits.loss_month)):
            if limit is None:
                continue
            loss = money.ZERO
            for e in entries:
                if e.kind in GAME_KINDS and e.created_at >= start:
                    loss = money.sub(loss, money.add(e.real_delta, e.bonus_delta))
            if money.add(loss, amount) > limit:
                raise GamingLimit("bet would exceed the player's loss limit")

    # ------------------------------------------------------------------ read path

    async def get_account(self, q: SessionQuery, caller: Caller, *, bump: bool = True) -> AccountView:
        """getaccount: the session must exist, be live and belong to the account (else 1003)."""
        now = self.clock.now()

        async def unit(tx: Tx) -> AccountView:
            session = await tx.get_session(q.session_id)
            if session is None or not session.live(now):
                raise NotLoggedOn("game session is unknown, expired or closed")
            player = await tx.get_player(q.account_id)
            if player is None or session.account_id != player.account_id or session.operator_id != player.operator_id:
                raise AuthenticationFailed("the account does not own this game session")
            op = await self._authenticate(tx, player.operator_id, caller)
            wallet = await tx.get_wallet(player.account_id, session.currency)
            if wallet is None:
                raise UnknownCurrency("no wallet in the session's currency")
            if bump:
                player = replace(player, last_active=now)
                await tx.touch_player(player.account_id, now)
            return AccountView(player=player, operator=op, session=session, wallet=wallet)

        return await (self._write(unit) if bump else self.store.read(unit))

    async def get_balance(self, q: SessionQuery, caller: Caller) -> AccountView:
        """getbalance: a pure read; unknown, expired, closed or foreign session -> 1000."""
        now = self.clock.now()

        async def unit(tx: Tx) -> AccountView:
            player = await tx.get_player(q.account_id)
            if player is None:
                raise NotLoggedOn("unknown account")
            session = await self._live_session(tx, q.session_id, player, now)
            op = await self._authenticate(tx, player.operator_id, caller)
            wallet = await tx.get_wallet(player.account_id, session.currency)
            if wallet is None:
                raise UnknownCurrency("no wallet in the session's currency")
            return AccountView(player=player, operator=op, session=session, wallet=wallet)

        return await self.store.read(unit)

    # ------------------------------------------------------------------ wager

    async def wager(self, cmd: Wager, caller: Caller) -> MoneyOutcome:
        async def unit(tx: Tx) -> _Decided:
            return await self._wager_unit(tx, cmd.account_id, cmd, caller, kind="wager")

        return await self._run_money(unit)

    async def _wager_unit(
        self, tx: Tx, account_id: str, cmd: Wager | WagerAndResult, caller: Caller, *, kind: str
    ) -> _Decided:
        now = self.clock.now()
        player = await tx.lock_player(account_id)
        if player is None:
            raise NotLoggedOn("unknown account")
        op = await self._authenticate(tx, player.operator_id, caller)
        amount = cmd.amount if isinstance(cmd, Wager) else cmd.bet
        extra = "" if isinstance(cmd, Wager) else _wr_extra(cmd)
        existing = await tx.get_tx(op.operator_id, cmd.game_id, kind, cmd.transaction_id)
        if existing is not None:
            return await self._replay(
                tx, existing, account_id=account_id, round_id=cmd.round_id, amount=amount, extra=extra
            )
        session = await self._live_session(tx, cmd.session_id, player, now)

        def refuse(r: Refusal) -> Awaitable[_Decided]:
            return self._refuse(
                tx,
                op=op,
                kind=kind,
                cmd_account=account_id,
                game_id=cmd.game_id,
                round_id=cmd.round_id,
                transaction_id=cmd.transaction_id,
                amount=amount,
                currency=session.currency,
                refusal=r,
                extra=extra,
            )

        if player.blocked:
            return await refuse(AccountBlocked("account is blocked or self-excluded"))
        # The spec's order (session, blocked, amount, ...), then the request's own values: those
        # refusals are not remembered (a remembered copy would block the right request under
        # the id), so they come before any state that a replay could find changed (a tombstone).
        if refused := _invalid_wager(cmd, amount):
            return _Decided(refusal=refused)
        tomb = await tx.get_tx(op.operator_id, cmd.game_id, "rollback", cmd.transaction_id)
        if tomb is not None:
            return await refuse(RoundClosed("transaction was rolled back before it arrived"))
        if cmd.frbid is not None:
            award = await tx.get_free_rounds(cmd.frbid)
            if award is None or award.account_id != account_id:
                return await refuse(OperationNotAllowed("unknown free-round award"))
        wallet = await tx.get_wallet(account_id, session.currency)
        if wallet is None:
            return await refuse(UnknownCurrency("no wallet in the session's currency"))
        rnd = await tx.get_round(account_id, cmd.game_id, cmd.round_id)
        if rounds.is_closed(rnd):
            return await refuse(RoundClosed("round is closed"))
        try:
            await self._loss_check(tx, player, session.currency, amount, now)
            real, bonus = split_debit(wallet, amount, op.debit_order)
        except (GamingLimit, OutOfMoney) as r:
            return await refuse(r)
        wallet_tx = new_tx_id()
        entries = []
        if amount > 0:
            wallet, entry = move(
                wallet, kind="wager", real=-real, bonus=-bonus, reference=f"{kind}:{cmd.transaction_id}", now=now
            )
            entries.append(entry)
        if rnd is None:
            rnd = Round(account_id, cmd.game_id, cmd.round_id, session.currency, created_at=now)
        rnd = rounds.place_bet(rnd, real, bonus)
        rec = TxRecord(
            operator_id=op.operator_id,
            scope=cmd.game_id,
            kind=kind,
            transaction_id=cmd.transaction_id,
            account_id=account_id,
            round_id=cmd.round_id,
            amount=amount,
            currency=session.currency,
            outcome="ok",
            message="",
            wallet_tx=wallet_tx,
            real=real,
            bonus=bonus,
            created_at=now,
            extra=extra,
        )
        win_rec = None
        if isinstance(cmd, WagerAndResult):
            pays: PaysInto = "real"
            if cmd.frbid is not None:
                award = await tx.get_free_rounds(cmd.frbid)
                pays = award.pays_into if award is not None else "real"
            wreal, wbonus = split_win(cmd.win, rnd.real_bet, rnd.bonus_bet, pays)
            if cmd.win > 0:
                try:
                    wallet, entry = move(
                        wallet,
                        kind="result",
                        real=wreal,
                        bonus=wbonus,
                        reference=f"{kind}:{cmd.transaction_id}",
                        now=now,
                    )
                except AmountOutOfRange as r:
                    return await refuse(r)
                entries.append(entry)
            rnd = rounds.settle(rnd, wreal, wbonus, cmd.status, now)
            rec = replace(rec, extra=_wr_extra(cmd, wreal, wbonus, new_tx_id()))
            win_rec = _win_leg(rec)
        if entries:
            await tx.save_wallet(wallet, entries)
        await tx.save_round(rnd)
        await tx.insert_tx(rec)
        if _stale_activity(player, now):
            await tx.touch_player(player.account_id, now)
        return _Decided(
            outcome=MoneyOutcome(record=rec, wallet=wallet, order=op.debit_order, duplicate=False, win_record=win_rec)
        )

    async def wager_and_result(self, cmd: WagerAndResult, caller: Caller) -> MoneyOutcome:
        async def unit(tx: Tx) -> _Decided:
            return await self._wager_unit(tx, cmd.account_id, cmd, caller, kind="wagerAndResult")

        return await self._run_money(unit)

    # ------------------------------------------------------------------ result and jackpot

    async def result(self, cmd: Result, caller: Caller) -> MoneyOutcome:
        async def unit(tx: Tx) -> _Decided:
            return await self._credit_unit(tx, cmd, caller, kind="result")

        return await self._run_money(unit)

    async def jackpot(self, cmd: Jackpot, caller: Caller) -> MoneyOutcome:
        async def unit(tx: Tx) -> _Decided:
            return await self._credit_unit(tx, cmd, caller, kind="jackpot")

        return await self._run_money(unit)

    async def _credit_unit(self, tx: Tx, cmd: Result | Jackpot, caller: Caller, *, kind: str) -> _Decided:
        now = self.clock.now()
        p = await self._settle_prelude(tx, cmd, caller, kind)
        if p.replay is not None:
            return p.replay
        player, op, session = p.player, p.op, p.session
        rnd = await tx.get_round(cmd.account_id, cmd.game_id, cmd.round_id)
        currency = rnd.currency if rnd else (session.currency if session else player.currency)
        frbid = cmd.frbid if isinstance(cmd, Result) else None

        def refuse(r: Refusal, *, remember: bool = True) -> Awaitable[_Decided]:
            return self._refuse(
                tx,
                op=op,
                kind=kind,
                cmd_account=cmd.account_id,
                game_id=cmd.game_id,
                round_id=cmd.round_id,
                transaction_id=cmd.transaction_id,
                amount=cmd.amount,
                currency=currency,
                refusal=r,
                remember=remember,
                taken=p.taken,
            )

        if cmd.status not in ("completed", "pending"):
            return await refuse(OperationNotAllowed("gamestatus must be completed or pending"), remember=False)
        if cmd.amount < 0:
            return await refuse(OperationNotAllowed("negative amount"), remember=False)
        pays: PaysInto = "real"
        if frbid is not None:
            award = await tx.get_free_rounds(frbid)
            if award is None or award.account_id != cmd.account_id:
                return await refuse(OperationNotAllowed("unknown free-round award"))
            pays = award.pays_into
        if kind == "result":
            if frbid is None and not rounds.has_wager(rnd):
                return await refuse(WagerNotFound("no wager for this round"))
            if rounds.is_closed(rnd):
                return await refuse(RoundClosed("round is closed"))
        wallet = await tx.get_wallet(cmd.account_id, currency)
        if wallet is None:
            return await refuse(UnknownCurrency("no wallet in this currency"))
        real_bet = rnd.real_bet if rnd else money.ZERO
        bonus_bet = rnd.bonus_bet if rnd else money.ZERO
        real, bonus = split_win(cmd.amount, real_bet, bonus_bet, pays)
        if cmd.amount > 0:
            try:
                wallet, entry = move(
                    wallet, kind=kind, real=real, bonus=bonus, reference=f"{kind}:{cmd.transaction_id}", now=now
                )
            except AmountOutOfRange as r:
                return await refuse(r)
            await tx.save_wallet(wallet, [entry])
        # Jackpots are payouts beside the round: they never open, close or count in it.
        if kind == "result":
            if rnd is None:
                rnd = Round(cmd.account_id, cmd.game_id, cmd.round_id, currency, created_at=now)
            await tx.save_round(rounds.settle(rnd, real, bonus, cmd.status, now))
        return await self._applied(
            tx,
            op,
            cmd,
            wallet,
            kind=kind,
            round_id=cmd.round_id,
            amount=cmd.amount,
            currency=currency,
            real=real,
            bonus=bonus,
            now=now,
            taken=p.taken,
        )

    # ------------------------------------------------------------------ rollback

    async def rollback(self, cmd: Rollback, caller: Caller) -> MoneyOutcome:
        async def unit(tx: Tx) -> _Decided:
            now = self.clock.now()
            p = await self._settle_prelude(tx, cmd, caller, "rollback")
            if p.replay is not None:
                return p.replay
            player, op, session = p.player, p.op, p.session
            wager = await tx.get_tx(op.operator_id, cmd.game_id, "wager", cmd.transaction_id)
            currency = wager.currency if wager else (session.currency if session else player.currency)
            amount = cmd.amount if cmd.amount is not None else (wager.amount if wager else money.ZERO)

            def refuse(
                r: Refusal, state: Literal["refused", "tombstone"] = "refused", *, remember: bool = True
            ) -> Awaitable[_Decided]:
                return self._refuse(
                    tx,
                    op=op,
                    kind="rollback",
                    cmd_account=cmd.account_id,
                    game_id=cmd.game_id,
                    round_id=cmd.round_id,
                    transaction_id=cmd.transaction_id,
                    amount=amount,
                    currency=currency,
                    refusal=r,
                    state=state,
                    remember=remember,
                    taken=p.taken,
                )

            if wager is None:
                settled = await tx.get_tx(op.operator_id, cmd.game_id, "wagerAndResult", cmd.transaction_id)
                if settled is not None and settled.ok:
                    return await refuse(OperationNotAllowed("the wager was already settled by a result"))
                # Tombstone: a wager with this transaction id arriving later must never debit.
                return await refuse(WagerNotFound("no such wager; the transaction id is now closed"), "tombstone")
            if not wager.ok:
                return await refuse(WagerNotFound("the wager was refused; nothing to refund"))
            if wager.account_id != cmd.account_id or wager.round_id != cmd.round_id:
                return await refuse(
                    OperationNotAllowed("the wager belongs to another account or round"), remember=False
                )
            if cmd.amount is not None and cmd.amount != wager.amount:
                raise ParameterMismatch("rollbackamount differs from the wager's amount")
            if wager.state != "applied":
                return await refuse(OperationNotAllowed("the wager was already rolled back"))
            rnd = await tx.get_round(cmd.account_id, cmd.game_id, cmd.round_id)
            if rounds.is_settled(rnd):
                return await refuse(OperationNotAllowed("the wager was already settled by a result"))
            wallet = await tx.get_wallet(cmd.account_id, wager.currency)
            if wallet is None:
                return await refuse(UnknownCurrency("wallet missing"))
            if wager.amount > 0:
                try:
                    wallet, entry = move(
                        wallet,
                        kind="rollback",
                        real=wager.real,
                        bonus=wager.bonus,
                        reference=f"rollback:{cmd.transaction_id}",
                        now=now,
                    )
                except AmountOutOfRange as r:
                    return await refuse(r)
                await tx.save_wallet(wallet, [entry])
            if rnd is not None:
                await tx.save_round(rounds.withdraw_bet(rnd, wager.real, wager.bonus))
            await tx.update_tx_state(replace(wager, state="rolled_back"))
            return await self._applied(
                tx,
                op,
                cmd,
                wallet,
                kind="rollback",
                round_id=cmd.round_id,
                amount=wager.amount,
                currency=wager.currency,
                real=wager.real,
                bonus=wager.bonus,
                now=now,
                taken=p.taken,
            )

        return await self._run_money(unit)

    # ------------------------------------------------------------------ sportsbook corrections

    async def reverse_win(self, cmd: ReverseWin, caller: Caller) -> MoneyOutcome:
        """Take back a paid win (result or jackpot with this transaction id), exactly as paid."""

        async def unit(tx: Tx) -> _Decided:
            now = self.clock.now()
            p = await self._settle_prelude(tx, cmd, caller, "reversewin")
            if p.replay is not None:
                return p.replay
            win = await tx.get_tx(p.op.operator_id, cmd.game_id, "result", cmd.transaction_id)
            if win is None:
                win = await tx.get_tx(p.op.operator_id, cmd.game_id, "jackpot", cmd.transaction_id)
            if win is None:
                win = await _paid_win_leg(tx, p.op, cmd)
            return await self._correct(
                tx, p, cmd, win, kind="reversewin", target_state="applied", new_state="reversed", now=now
            )

        return await self._run_money(unit)

    async def rollback_rollback(self, cmd: RollbackRollback, caller: Caller) -> MoneyOutcome:
        """Re-apply a wager that a rollback refunded: debit the same split again."""

        async def unit(tx: Tx) -> _Decided:
            now = self.clock.now()
            p = await self._settle_prelude(tx, cmd, caller, "rollbackrollback")
            if p.replay is not None:
                return p.replay
            wager = await tx.get_tx(p.op.operator_id, cmd.game_id, "wager", cmd.transaction_id)
            return await self._correct(
                tx,
                p,
                cmd,
                wager,
                kind="rollbackrollback",
                target_state="rolled_back",
                new_state="applied",
                now=now,
            )

        return await self._run_money(unit)

    async def _correct(
        self,
        tx: Tx,
        p: _Prelude,
        cmd: ReverseWin | RollbackRollback,
        target: TxRecord | None,
        *,
        kind: str,
        target_state: str,
        new_state: Literal["applied", "reversed"],
        now: datetime,
    ) -> _Decided:
        op = p.op
        round_id = cmd.round_id or (target.round_id if target else "")
        currency = target.currency if target else ""

        def refuse(r: Refusal, *, remember: bool = True) -> Awaitable[_Decided]:
            return self._refuse(
                tx,
                op=op,
                kind=kind,
                cmd_account=cmd.account_id,
                game_id=cmd.game_id,
                round_id=round_id,
                transaction_id=cmd.transaction_id,
                amount=cmd.amount,
                currency=currency,
                refusal=r,
                remember=remember,
                taken=p.taken,
            )

        if target is None or not target.ok:
            return await refuse(WagerNotFound("no such transaction"))
        if target.account_id != cmd.account_id or (cmd.round_id and cmd.round_id != target.round_id):
            return await refuse(
                OperationNotAllowed("the transaction belongs to another account or round"), remember=False
            )
        if cmd.amount != target.amount:
            raise ParameterMismatch("amount differs from the original transaction's")
        if target.state != target_state:
            return await refuse(OperationNotAllowed(f"the transaction is {target.state}"))
        wallet = await tx.get_wallet(cmd.account_id, target.currency)
        if wallet is None:
            return await refuse(UnknownCurrency("wallet missing"))
        if target.amount > 0:
            try:
                wallet, entry = move(
                    wallet,
                    kind=kind,
                    real=-target.real,
                    bonus=-target.bonus,
                    reference=f"{kind}:{cmd.transaction_id}",
                    now=now,
                )
            except (OutOfMoney, AmountOutOfRange) as r:
                return await refuse(r)
            await tx.save_wallet(wallet, [entry])
        rnd = await tx.get_round(cmd.account_id, cmd.game_id, target.round_id) if rounds.in_round(target.kind) else None
        if rnd is not None:
            change = rounds.take_back_win if kind == "reversewin" else rounds.restore_bet
            await tx.save_round(change(rnd, target.real, target.bonus))
        await tx.update_tx_state(replace(target, state=new_state))
        return await self._applied(
            tx,
            op,
            cmd,
            wallet,
            kind=kind,
            round_id=target.round_id,
            amount=cmd.amount,
            currency=target.currency,
            real=target.real,
            bonus=target.bonus,
            now=now,
            taken=p.taken,
        )

    # ------------------------------------------------------------------ operator administration

    async def create_operator(self, op: Operator) -> Operator:
        async def unit(tx: Tx) -> Operator:
            if await tx.get_operator(op.operator_id) is not None:
                raise Conflict(f"operator {op.operator_id} exists")
            await tx.insert_operator(op)
            await ensure_currency(tx, op.operator_id, op.currency, op.created_at)
            return op

        return await self._write(unit)

    async def set_signature(self, operator_id: str, secret: str | None, scheme: SignatureScheme) -> Operator:
        """Replace an operator's /groove signature secret and scheme (rotation, or a move to
        "pairs"); the next request is checked with the new ones."""

        async def unit(tx: Tx) -> Operator:
            op = await tx.get_operator(operator_id)
            if op is None:
                raise NotFound(f"operator {operator_id} not found")
            op = replace(op, signature_secret=secret, signature_scheme=scheme)
            await tx.update_operator(op)
            return op

        return await self._write(unit)

    async def get_operator(self, operator_id: str) -> Operator:
        async def unit(tx: Tx) -> Operator | None:
            return await tx.get_operator(operator_id)

        op = await self.store.read(unit)
        if op is None:
            raise NotFound(f"operator {operator_id} not found")
        return op

    async def create_player(
        self,
        *,
        operator_id: str,
        account_id: str | None,
        name: str,
        email: str | None,
        country: str,
        city: str,
        currency: str | None,
        real: Decimal | None,
        bonus: Decimal | None,
    ) -> tuple[Player, list[Wallet]]:
        now = self.clock.now()
        acct = account_id or secrets.token_hex(8)

        async def unit(tx: Tx) -> tuple[Player, list[Wallet]]:
            op = await tx.get_operator(operator_id)
            if op is None:
                raise NotFound(f"operator {operator_id} not found")
            if await tx.get_player(acct) is not None:
                raise Conflict(f"account {acct} exists")
            if email is not None and await tx.get_player_by_email(operator_id, email) is not None:
                raise Conflict("a player with this e-mail exists for this operator")
            cur = currency or op.currency
            player = Player(
                account_id=acct,
                operator_id=operator_id,
                name=name,
                email=email,
                country=country,
                city=city,
                currency=cur,
                status="active",
                created_at=now,
            )
            await tx.insert_player(player)
            await ensure_currency(tx, operator_id, cur, now)
            wallets: list[Wallet] = []
            # The player's currency: the given opening balances, else the operator's starting
            # amounts (real + bonus) plus that currency's configured starting amount; every
            # other currency the operator offers: its configured starting amount.
            for c in await tx.list_currencies(operator_id):
                if c.code == cur:
                    start_real = money.add(op.start_real, c.start_amount) if real is None else real
                    start_bonus = op.start_bonus if bonus is None else bonus
                elif c.start_amount > 0:
                    start_real, start_bonus = c.start_amount, money.ZERO
                else:
                    continue
                wallet = Wallet(account_id=acct, currency=c.code, updated_at=now)
                await tx.insert_wallet(wallet)
                if start_real > 0 or start_bonus > 0:
                    wallet, entry = move(
                        wallet,
                        kind="initial",
                        real=start_real,
                        bonus=start_bonus,
                        reference="initial",
                        reason="opening balance",
                        now=now,
                    )
                    await tx.save_wallet(wallet, [entry])
                wallets.append(wallet)
            return player, wallets

        return await self._write(unit)

    async def get_player(self, account_id: str) -> tuple[Player, list[Wallet], Limits | None]:
        async def unit(tx: Tx) -> tuple[Player, list[Wallet], Limits | None] | None:
            p = await tx.get_player(account_id)
            if p is None:
                return None
            return p, await tx.list_wallets(account_id), await tx.get_limits(account_id)

        found = await self.store.read(unit)
        if found is None:
            raise NotFound(f"account {account_id} not found")
        return found

    async def set_status(self, account_id: str, status: PlayerStatus) -> Player:
        async def unit(tx: Tx) -> Player:
            p = await tx.lock_player(account_id)
            if p is None:
                raise NotFound(f"account {account_id} not found")
            p = replace(p, status=status)
            await tx.update_player(p)
            return p

        return await self._write(unit)

    async def adjust(
        self,
        account_id: str,
        *,
        currency: str,
        real: Decimal,
        bonus: Decimal,
        reason: str,
        idempotency_key: str,
        reply: Callable[[Wallet, str], dict[str, Any]],
    ) -> tuple[dict[str, Any], bool]:
        """A signed, journaled admin correction.  Returns (reply, replayed)."""
        now = self.clock.now()
        fp = idempotency.fingerprint(
            {"account": account_id, "currency": currency, "real": real, "bonus": bonus, "reason": reason}
        )
        key = f"adjust:{idempotency_key}"

        async def unit(tx: Tx) -> tuple[dict[str, Any], bool]:
            p = await tx.lock_player(account_id)
            if p is None:
                raise NotFound(f"account {account_id} not found")
            match idempotency.decide(idempotency.stored_reply(await tx.get_admin_op(key)), fp):
                case idempotency.Replay(record=done):
                    return json.loads(done.reply), True
                case idempotency.Mismatch():
                    raise IdempotencyConflict("idempotency_key was used with a different adjustment")
            wallet = await tx.get_wallet(account_id, currency)
            if wallet is None:
                await ensure_currency(tx, p.operator_id, currency, now)
                wallet = Wallet(account_id=account_id, currency=currency, updated_at=now)
                await tx.insert_wallet(wallet)
            ref = new_tx_id()
            wallet, entry = move(wallet, kind="adjust", real=real, bonus=bonus, reference=ref, reason=reason, now=now)
            await tx.save_wallet(wallet, [entry])
            body = reply(wallet, ref)
            await tx.insert_admin_op(key, fp.digest, json.dumps(body), now)
            return body, False

        return await self._write(unit)

    async def open_session(
        self, account_id: str, *, game_id: str | None, currency: str | None, ttl_seconds: int | None
    ) -> GameSession:
        now = self.clock.now()
        ttl = ttl_seconds or self.session_ttl

        async def unit(tx: Tx) -> GameSession:
            p = await tx.lock_player(account_id)
            if p is None:
                raise NotFound(f"account {account_id} not found")
            if p.blocked:
                raise AccountBlocked("account is blocked or self-excluded")
            cur = currency or p.currency
            if await tx.get_wallet(account_id, cur) is None:
                await ensure_currency(tx, p.operator_id, cur, now)
                await tx.insert_wallet(Wallet(account_id=account_id, currency=cur, updated_at=now))
            session = GameSession(
                session_id=f"{p.operator_id}_{uuid.uuid4()}",
                account_id=account_id,
                operator_id=p.operator_id,
                currency=cur,
                game_id=game_id,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
            await tx.insert_session(session)
            return session

        return await self._write(unit)

    async def close_session(self, session_id: str) -> None:
        now = self.clock.now()

        async def unit(tx: Tx) -> bool:
            return await tx.close_session(session_id, now)

        if not await self._write(unit):
            raise NotFound("no open session with this id")

    async def set_limits(self, limits: Limits) -> Limits:
        async def unit(tx: Tx) -> Limits:
            if await tx.lock_player(limits.account_id) is None:
                raise NotFound(f"account {limits.account_id} not found")
            await tx.save_limits(limits)
            return limits

        return await self._write(unit)

    async def award_free_rounds(self, account_id: str, frbid: str, pays_into: PaysInto) -> FreeRoundAward:
        now = self.clock.now()

        async def unit(tx: Tx) -> FreeRoundAward:
            p = await tx.lock_player(account_id)
            if p is None:
                raise NotFound(f"account {account_id} not found")
            existing = await tx.get_free_rounds(frbid)
            if existing is not None:
                if existing.account_id != account_id or existing.pays_into != pays_into:
                    raise Conflict("frbid exists with a different account or setting")
                return existing
            award = FreeRoundAward(frbid, account_id, p.operator_id, pays_into, now)
            await tx.insert_free_rounds(award)
            return award

        return await self._write(unit)


# ---------------------------------------------------------------------- pure helpers


def check_caller(op: Operator, caller: Caller) -> None:
    """Per-operator IP allow-list and HMAC-SHA256 signature (constant-time compare)."""
    if op.allowed_networks:
        try:
            ip = ipaddress.ip_address(caller.ip or "")
        except ValueError as exc:
            raise CallerNotAllowed("caller address not allowed") from exc
        if not any(ip in ipaddress.ip_network(n, strict=False) for n in op.allowed_networks):
            raise CallerNotAllowed("caller address not allowed")
    if op.signature_secret:
        payload = caller.signed_pairs if op.signature_scheme == "pairs" else caller.signed_payload
        expected = signature_for(op.signature_secret, payload)
        given = (caller.signature or "").strip().lower()
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise InvalidSignature("invalid signature")


async def _require_player(tx: Tx, account_id: str) -> Player:
    p = await tx.get_player(account_id)
    if p is None:
        raise UnknownAccount("unknown account")
    return p


def _wr_extra(
    cmd: WagerAndResult, real: Decimal | None = None, bonus: Decimal | None = None, wallet_tx: str = ""
) -> str:
    data = {"win": money.wire(cmd.win), "status": cmd.status}
    if real is not None and bonus is not None:
        data |= {"real_win": money.wire(real), "bonus_win": money.wire(bonus), "wallet_tx": wallet_tx}
    return json.dumps(data, sort_keys=True)


def _replay_key(extra: str) -> tuple[str, str]:
    data = json.loads(extra)
    return str(data.get("win")), str(data.get("status"))


def _invalid_wager(cmd: Wager | WagerAndResult, amount: Decimal) -> Refusal | None:
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


def _decide_afresh(rec: TxRecord, cmd: Result | Jackpot | Rollback | ReverseWin | RollbackRollback, kind: str) -> bool:
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


async def _paid_win_leg(tx: Tx, op: Operator, cmd: ReverseWin) -> TxRecord | None:
    """The win a wagerAndResult paid under this transaction id, as the record reversewin takes back.

    Its kind stays ``wagerAndResult`` so that marking it reversed marks that record (its bet
    stays placed: a wagerAndResult is never rolled back).
    """
    paid = await tx.get_tx(op.operator_id, cmd.game_id, "wagerAndResult", cmd.transaction_id)
    leg = _win_leg(paid) if paid is not None and paid.ok else None
    return None if leg is None else replace(leg, kind="wagerAndResult")


def _win_leg(rec: TxRecord) -> TxRecord | None:
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


def wallet_game_mode(wallet: Wallet, order: DebitOrder) -> int:
    return game_mode(wallet, order)
