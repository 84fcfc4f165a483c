"""Write flows: transfers and currency sends (initiate, verify, claim, cancel), hold expiry.

Load -> decide (:mod:`wallet_store.domain.flows`, :mod:`wallet_store.domain.initiate`) ->
persist, each step one unit of work.  Every balance change goes through
:func:`~wallet_store.model.move` and ``Tx.save_wallet``, so it is journaled, audited and
published like any other.  Purchases are in :mod:`wallet_store.services.purchases`.

Units of work that change something and then refuse (a wrong code counts an attempt, a
step on a hold that just expired releases it) return the refusal instead of raising it,
so the change commits; the service raises it afterwards.

Locking: every unit locks the players it touches, in ascending account id order, before
reading balances (the contract in :mod:`wallet_store.ports`).  A claim locks the source and
the recipient, so two transfers in opposite directions cannot deadlock.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from wallet_store import sms
from wallet_store.domain import initiate as start
from wallet_store.domain.flows import (
    SWEEP_BATCH,
    FlowSettings,
    FlowStatus,
    FlowStep,
    FlowView,
    Outcome,
    Party,
    currency_name,
    decide_cancel,
    decide_claim,
    decide_verify,
    flow_status,
    send_claimant,
)
from wallet_store.domain.requests import norm_email, replay_or_new
from wallet_store.errors import Invalid, NotFound, WalletError
from wallet_store.model import Clock, FlowKind, Game, Player, SmsMessage, SystemClock
from wallet_store.payments import PaymentProvider, SandboxPaymentProvider
from wallet_store.ports import Tx, WalletStore
from wallet_store.services.holds import expire_due, find_flow, open_view, persist_outcome, release_due
from wallet_store.services.lookup import find_party, lock, locked, raise_or_return, save_changes
from wallet_store.services.purchases import PurchaseService, new_id
from wallet_store.sms import OutboxSender, SmsSender


async def _name(tx: Tx, view: FlowView) -> str:
    flow = view.flow
    return currency_name(await tx.get_currency(flow.operator_id, flow.currency), flow.currency)


async def _source(tx: Tx, view: FlowView) -> Party:
    """The flow's (locked) source with the wallet the view holds."""
    return Party(await locked(tx, view.flow.source_account), view.wallet, await _name(tx, view))


async def _recipient(tx: Tx, account_id: str, view: FlowView) -> Party:
    wallet = await tx.get_wallet(account_id, view.flow.currency)
    return Party(await locked(tx, account_id), wallet, await _name(tx, view))


async def _settle(tx: Tx, outcome: Outcome) -> FlowStep | WalletError:
    await persist_outcome(tx, outcome)
    return outcome.reply


class FlowService(PurchaseService):
    def __init__(
        self,
        store: WalletStore,
        clock: Clock | None = None,
        *,
        settings: FlowSettings | None = None,
        sms_sender: SmsSender | None = None,
        payments: PaymentProvider | None = None,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.settings = settings or FlowSettings()
        self.sms: SmsSender = sms_sender or OutboxSender()
        self.payments: PaymentProvider = payments or SandboxPaymentProvider()

    async def expire_due(self, limit: int = SWEEP_BATCH) -> int:
        """Release up to ``limit`` holds whose time is up (the periodic sweep); returns how many."""
        return await expire_due(self.store, self.clock.now(), limit)

    # ------------------------------------------------------------------ transfers and sends

    async def initiate(
        self,
        game: Game,
        *,
        kind: FlowKind,
        source_id: str | None,
        source_email: str | None,
        target_id: str | None,
        target_email: str | None,
        currency: str,
        amount: Decimal,
        note: str,
        idempotency_key: str,
    ) -> FlowStep:
        """Reserve ``amount`` on the source and send it a verification code."""
        cmd = start.InitiateCmd(
            game.game_id,
            game.operator_id,
            kind,
            source_id,
            source_email,
            target_id,
            target_email,
            currency,
            amount,
            note,
            idempotency_key,
        )
        now = self.clock.now()
        fp = cmd.fingerprint()
        ids = start.NewIds(start.new_flow_id(kind, secrets.token_hex(12)), new_id("hold_"), sms.new_code())
        ttl = timedelta(seconds=self.settings.hold_ttl_seconds)

        async def unit(tx: Tx) -> tuple[FlowStep, SmsMessage | None, str]:
            source = await find_party(tx, game, account_id=source_id, email=source_email, role="source")
            target = None
            if kind == "transfer":
                target = await find_party(tx, game, account_id=target_id, email=target_email, role="target")
            start.check_parties(cmd, source, target)
            source = await lock(tx, source.account_id)
            done = replay_or_new(await tx.get_flow_by_key(game.game_id, kind, idempotency_key), fp, idempotency_key)
            if done is not None:
                return start.replay(done, await tx.get_hold(done.hold_id), ttl), None, ""
            cur = await tx.get_currency(game.operator_id, currency)
            parties = start.Parties(
                source, target, cur, await tx.get_phone(source.account_id), await tx.get_operator(source.operator_id)
            )
            phone, _ = start.check_initiate(parties, cmd)
            await release_due(tx, source.account_id, now)
            reservation = start.Reservation(
                await tx.count_open_holds(source.account_id),
                await tx.get_wallet(source.account_id, currency),
                currency_name(cur, currency),
            )
            made = start.decide_initiate(
                cmd, parties, reservation, settings=self.settings, ids=ids, fingerprint=fp.digest, now=now
            )
            await save_changes(tx, (made.change,))
            await tx.insert_hold(made.hold)
            await tx.touch_player(source.account_id, now)  # money activity: last_active
            await tx.insert_flow(made.flow)
            message = self.sms.outbox_row(
                message_id=new_id("sms_"),
                account_id=source.account_id,
                phone=phone,
                text=made.text,
                code=ids.code,
                purpose=f"{kind}:{ids.flow_id}",
                now=now,
            )
            await tx.insert_sms(message)
            return made.step, message, made.text

        step, message, text = await self.store.write(unit)
        if message is not None:
            await self._deliver(message, text)
        return step

    async def _deliver(self, message: SmsMessage, text: str) -> None:
        """Hand a queued message to the sender (after commit) and record the outcome."""
        if message.state != "queued":
            return  # the outbox row is the delivery
        try:
            await self.sms.deliver(message, text)
        except Exception:  # any provider failure: the flow stands; the row says it failed
            done = replace(message, state="failed")
        else:
            done = replace(message, state="sent", sent_at=self.clock.now())

        async def unit(tx: Tx) -> None:
            await tx.update_sms(done)

        await self.store.write(unit)

    async def verify(self, game: Game, *, kind: FlowKind, flow_id: str, code: str) -> FlowStep:
        """Check the SMS code.  No money moves; the source's balance is re-confirmed."""
        if not sms.CODE.fullmatch(code):
            raise Invalid(f"verification_code must be {sms.CODE_DIGITS} digits")
        now = self.clock.now()

        async def unit(tx: Tx) -> FlowStep | WalletError:
            view = await open_view(tx, game, kind, flow_id, now)
            source = await _source(tx, view)
            return await _settle(tx, decide_verify(view, source, code, self.settings.code_attempts, now))

        return raise_or_return(await self.store.write(unit))

    async def claim(
        self,
        game: Game,
        *,
        kind: FlowKind,
        flow_id: str,
        claimant_id: str | None,
        claimant_email: str | None,
    ) -> FlowStep:
        """Capture the hold into the recipient's wallet (created if missing).

        Transfers: the claimant (by id or e-mail) must be the flow's target.  Sends: the
        claimant e-mail must be the flow's recipient e-mail, and a player of the same
        operator must have it; if none has it yet the claim is a 404 and changes nothing:
        the send stays claimable until its hold expires, and then the funds go back to the
        sender.  A repeat by the same claimant replies the same; any other claim of a
        claimed flow is a 409.
        """
        now = self.clock.now()
        email = norm_email(claimant_email)

        async def unit(tx: Tx) -> FlowStep | WalletError:
            found = await find_flow(tx, game, kind, flow_id)
            claimant: Player | None
            if kind == "transfer":
                claimant = await find_party(tx, game, account_id=claimant_id, email=claimant_email, role="claiming")
            else:
                claimant = await tx.get_player_by_email(game.operator_id, send_claimant(email, found))
                if claimant is None:
                    raise NotFound(
                        "no player of this operator has this e-mail yet: the recipient must register before"
                        " claiming; an unclaimed send returns to the sender when its hold expires"
                    )
            view = await open_view(tx, game, kind, flow_id, now, claimant.account_id)
            recipient = await _recipient(tx, claimant.account_id, view)
            outcome = decide_claim(view, await locked(tx, view.flow.source_account), recipient, now)
            if outcome.hold is not None:
                await tx.touch_player(claimant.account_id, now)  # money activity: last_active
            return await _settle(tx, outcome)

        return raise_or_return(await self.store.write(unit))

    async def cancel(self, game: Game, *, kind: FlowKind, flow_id: str) -> FlowStep:
        """Cancel a pending or verified flow: the hold goes back to the source's available balance."""
        now = self.clock.now()

        async def unit(tx: Tx) -> FlowStep | WalletError:
            view = await open_view(tx, game, kind, flow_id, now)
            source = await _source(tx, view)
            return await _settle(tx, decide_cancel(view, source, now))

        return raise_or_return(await self.store.write(unit))

    async def status(self, game: Game, *, kind: FlowKind, flow_id: str) -> FlowStatus:
        now = self.clock.now()

        async def unit(tx: Tx) -> FlowStatus:
            flow = await find_flow(tx, game, kind, flow_id)
            hold = await tx.get_hold(flow.hold_id)
            if hold is None:
                raise NotFound(f"hold of {flow.flow_id} not found")
            return flow_status(flow, hold, now)

        return await self.store.read(unit)

    # ------------------------------------------------------------------ admin

    async def set_phone(self, account_id: str, phone: str) -> str:
        if not sms.PHONE.fullmatch(phone):
            raise Invalid("phone must be in E.164 form, e.g. +35699123456")
        now = self.clock.now()

        async def unit(tx: Tx) -> str:
            if await tx.lock_player(account_id) is None:
                raise NotFound(f"account {account_id} not found")
            await tx.set_phone(account_id, phone, now)
            return phone

        return await self.store.write(unit)

    async def outbox(self, *, account_id: str | None, limit: int) -> list[SmsMessage]:
        async def unit(tx: Tx) -> list[SmsMessage]:
            return await tx.list_sms(account_id, limit)

        return await self.store.read(unit)
