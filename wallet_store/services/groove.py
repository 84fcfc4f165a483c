"""The Groove money protocol as units of work: load -> decide -> persist.

Each money request is one unit of work on the store that

1. locks the player (the per-account serialization point on every backend) and authenticates
   the caller against the player's operator (signature, IP allow-list);
2. loads the state its decision needs (:class:`~wallet_store.domain.groove_wager.WagerState`,
   :class:`~wallet_store.domain.groove_settle.SettleState`): the record under the request's
   transaction id first, and for a replay only the wallet its answer shows;
3. decides with the pure engine (:mod:`wallet_store.domain.groove_wager`,
   :mod:`wallet_store.domain.groove_settle`);
4. persists the decision's effects (:func:`persist`): balances, journal, round, the records.

Business refusals are written as records too (and returned, not raised, from the unit so the
savepoint keeps them); the service raises them after the commit.  Invalid requests (1000,
1008, 1001, 400) raise inside the unit and leave nothing behind.

A bet loads its whole state with :meth:`~wallet_store.ports.Tx.load_bet` (one round trip on
PostgreSQL; the loss-window journal is a second read only when the player has a loss limit);
the settling requests load theirs with :meth:`~wallet_store.ports.Tx.load_settle` (every wallet
of the player: which one a decision needs is the engine's to say); a sportsbook correction
whose target is in a round reads that round next.  A refusal path may read a little more than
it strictly needs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from wallet_store.commands import (
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
from wallet_store.domain import rounds
from wallet_store.domain.groove import (
    Decision,
    Effects,
    Settling,
    bettor,
    is_replay,
    loss_window_start,
    paid_win_leg,
    payee,
)
from wallet_store.domain.groove_settle import (
    SettleState,
    credit_currency,
    decide_correction,
    decide_credit,
    decide_rollback,
)
from wallet_store.domain.groove_wager import (
    Bet,
    WagerState,
    account_session,
    bet_kind,
    check_owner,
    decide_wager,
    live_session,
    session_wallet,
)
from wallet_store.model import JournalEntry, TxRecord
from wallet_store.ports import BetQuery, SettleRows, Tx
from wallet_store.services.base import ServiceBase


async def persist(tx: Tx, e: Effects) -> None:
    """Write a decision's effects, in the engine's order (see :mod:`wallet_store.domain.groove`)."""
    if e.wallet is not None:
        await tx.save_wallet(e.wallet, e.entries)
    if e.round is not None:
        await tx.save_round(e.round)
    if e.corrected is not None:
        await tx.update_tx_state(e.corrected)
    if e.drop is not None:
        await tx.drop_refusal(e.drop)
    if e.record is not None:
        await tx.insert_tx(e.record)
    if e.touch is not None:
        await tx.touch_player(*e.touch)


async def _persisted(tx: Tx, decision: Decision) -> Decision:
    await persist(tx, decision.effects)
    return decision


class GrooveService(ServiceBase):
    """getaccount, getbalance and the money requests of the /groove face."""

    # ------------------------------------------------------------------ read path

    async def get_account(self, q: SessionQuery, caller: Caller, *, bump: bool = True) -> AccountView:
        """getaccount: the session must exist, be live and belong to the account (else 1003)."""
        now = self.clock.now()

        async def unit(tx: Tx) -> AccountView:
            rows = await tx.load_view(q.account_id, q.session_id)
            session = account_session(rows.session, now)
            player = check_owner(session, rows.player)
            op = self._authenticate(rows.operator, caller)
            wallet = session_wallet(rows.wallet)
            if bump:
                player = replace(player, last_active=now)
                await tx.touch_player(player.account_id, now)
            return AccountView(player=player, operator=op, session=session, wallet=wallet)

        return await (self._write(unit) if bump else self.store.read(unit))

    async def get_balance(self, q: SessionQuery, caller: Caller) -> AccountView:
        """getbalance: a pure read; unknown, expired, closed or foreign session -> 1000."""
        now = self.clock.now()

        async def unit(tx: Tx) -> AccountView:
            rows = await tx.load_view(q.account_id, q.session_id)  # one statement; checked in order
            player = bettor(rows.player)
            session = live_session(rows.session, player, now)
            op = self._authenticate(rows.operator, caller)
            wallet = session_wallet(rows.wallet)
            return AccountView(player=player, operator=op, session=session, wallet=wallet)

        return await self.store.read(unit)

    # ------------------------------------------------------------------ money requests

    async def _run_money(self, unit: Callable[[Tx], Awaitable[Decision]]) -> MoneyOutcome:
        """Run a money unit of work (load, decide, persist); raise its refusal after the commit."""
        decided = await self._write(unit)
        if decided.refusal is not None:
            raise decided.refusal
        if decided.outcome is None:
            raise RuntimeError("money unit of work decided nothing")
        return decided.outcome

    async def wager(self, cmd: Wager, caller: Caller) -> MoneyOutcome:
        return await self._run_money(lambda tx: self._bet(tx, cmd, caller))

    async def wager_and_result(self, cmd: WagerAndResult, caller: Caller) -> MoneyOutcome:
        return await self._run_money(lambda tx: self._bet(tx, cmd, caller))

    async def _bet(self, tx: Tx, cmd: Bet, caller: Caller) -> Decision:
        now = self.clock.now()
        return await _persisted(tx, decide_wager(await self._load_bet(tx, cmd, caller, now), cmd, now))

    async def _load_bet(self, tx: Tx, cmd: Bet, caller: Caller, now: datetime) -> WagerState:
        # the request's own record and the rollback that may have come before it (a tombstone)
        kind = bet_kind(cmd)
        kinds = (kind, "rollback")
        q = BetQuery(cmd.account_id, cmd.game_id, cmd.round_id, cmd.transaction_id, kinds, cmd.session_id, cmd.frbid)
        rows = await tx.load_bet(q)
        player = bettor(rows.player)
        op = self._authenticate(rows.operator, caller)
        existing = rows.records.get(kind)
        if existing is not None:
            return WagerState(player, op, existing, rows.wallet if existing.ok else None)
        session = rows.session
        if session is None:
            return WagerState(player, op)
        limits = rows.limits
        recent: tuple[JournalEntry, ...] = ()
        if limits is not None and limits.any_loss_limit:
            since = loss_window_start(now)
            recent = tuple(await tx.journal_since(player.account_id, session.currency, since))
        tomb = rows.records.get("rollback")
        return WagerState(player, op, None, None, session, tomb, rows.award, rows.wallet, rows.round, limits, recent)

    async def _load_settle(
        self, tx: Tx, cmd: Settling, caller: Caller, kind: str, targets: tuple[str, ...] = (), frbid: str | None = None
    ) -> tuple[SettleState, bool, SettleRows]:
        """Load (:meth:`~wallet_store.ports.Tx.load_settle`: the id's records, its own and those of
        ``targets``), authenticate; True: a replay (the rest of the rows unused)."""
        q = BetQuery(cmd.account_id, cmd.game_id, cmd.round_id, cmd.transaction_id, (kind, *targets), None, frbid)
        rows = await tx.load_settle(replace(q, session_id=cmd.session_id or None))
        player = payee(rows.player)
        op = self._authenticate(rows.operator, caller)
        existing = rows.records.get(kind)
        if existing is not None and is_replay(existing, cmd, kind):
            wallet = rows.wallets.get(existing.currency) if existing.ok else None
            return SettleState(player, op, existing, wallet), True, rows
        return SettleState(player, op, existing, session=rows.session), False, rows

    # ------------------------------------------------------------------ result and jackpot

    async def result(self, cmd: Result, caller: Caller) -> MoneyOutcome:
        return await self._run_money(lambda tx: self._credit(tx, cmd, caller))

    async def jackpot(self, cmd: Jackpot, caller: Caller) -> MoneyOutcome:
        return await self._run_money(lambda tx: self._credit(tx, cmd, caller))

    async def _credit(self, tx: Tx, cmd: Result | Jackpot, caller: Caller) -> Decision:
        now = self.clock.now()
        kind, frbid = ("result", cmd.frbid) if isinstance(cmd, Result) else ("jackpot", None)
        s, done, rows = await self._load_settle(tx, cmd, caller, kind, frbid=frbid)
        if not done:
            s = replace(s, round=rows.round, award=rows.award)
            s = replace(s, wallet=rows.wallets.get(credit_currency(s)))
        return await _persisted(tx, decide_credit(s, cmd, now))

    # ------------------------------------------------------------------ rollback

    async def rollback(self, cmd: Rollback, caller: Caller) -> MoneyOutcome:
        async def decide(tx: Tx) -> Decision:
            now = self.clock.now()
            s, done, rows = await self._load_settle(tx, cmd, caller, "rollback", ("wager", "wagerAndResult"))
            if not done:
                wager = rows.records.get("wager")
                if wager is None:
                    s = replace(s, settled=rows.records.get("wagerAndResult"))
                else:
                    s = replace(s, target=wager, round=rows.round, wallet=rows.wallets.get(wager.currency))
            return await _persisted(tx, decide_rollback(s, cmd, now))

        return await self._run_money(decide)

    # ------------------------------------------------------------------ sportsbook corrections

    async def reverse_win(self, cmd: ReverseWin, caller: Caller) -> MoneyOutcome:
        """Take back a paid win (result or jackpot with this transaction id), exactly as paid."""

        def target(found: dict[str, TxRecord]) -> TxRecord | None:
            return found.get("result") or found.get("jackpot") or paid_win_leg(found.get("wagerAndResult"))

        targets = ("result", "jackpot", "wagerAndResult")
        return await self._run_money(lambda tx: self._correct(tx, cmd, caller, "reversewin", targets, target))

    async def rollback_rollback(self, cmd: RollbackRollback, caller: Caller) -> MoneyOutcome:
        """Re-apply a wager that a rollback refunded: debit the same split again."""

        def target(found: dict[str, TxRecord]) -> TxRecord | None:
            return found.get("wager")

        return await self._run_money(lambda tx: self._correct(tx, cmd, caller, "rollbackrollback", ("wager",), target))

    async def _correct(
        self,
        tx: Tx,
        cmd: ReverseWin | RollbackRollback,
        caller: Caller,
        kind: str,
        targets: tuple[str, ...],
        find: Callable[[dict[str, TxRecord]], TxRecord | None],
    ) -> Decision:
        now = self.clock.now()
        s, done, rows = await self._load_settle(tx, cmd, caller, kind, targets)
        if not done:
            t = find(dict(rows.records))
            if t is not None:
                wallet = rows.wallets.get(t.currency)
                in_round = rounds.in_round(t.kind)
                rnd = await tx.get_round(cmd.account_id, cmd.game_id, t.round_id) if in_round else None
                s = replace(s, target=t, wallet=wallet, round=rnd)
        return await _persisted(tx, decide_correction(s, cmd, now))
