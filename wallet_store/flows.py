"""Write flows: transfers, currency sends, currency purchases, item purchases, hold expiry.

Pure of HTTP: it speaks :mod:`wallet_store.ports` and raises :mod:`wallet_store.errors`
(the HTTP face is :mod:`groove_adapter.flows`).  Every balance change goes through
:func:`~wallet_store.model.move` (via :mod:`wallet_store.holds`) and ``Tx.save_wallet``, so
it is journaled, audited and published like any other.

Transfers and currency sends (``kind`` ``transfer`` / ``send``)
----------------------------------------------------------------
``initiate`` reserves the amount on the source (a hold, see :mod:`wallet_store.holds`) and
writes a verification SMS to the outbox; ``verify`` checks the code (no money moves);
``claim`` captures the hold into the recipient's wallet (created if missing).  A transfer's
recipient is a player named at initiation; a send's recipient is an e-mail address, and
the claimant must then be a player of the same operator with that e-mail (see
:meth:`FlowService.claim`).  States::

    pending --verify(ok)--> verified --claim--> claimed
       |  \\--verify(wrong) x attempts--> cancelled (hold released)
       +--cancel--> cancelled (hold released)      verified --cancel--> cancelled
       +--hold expires--> expired (hold released)  verified --hold expires--> expired

Every step is idempotent: ``initiate`` by (game, kind, idempotency key) with a fingerprint
of the request (same key, different request: 409); ``verify``, ``claim`` and ``cancel`` by
the flow id: repeating a completed step returns the reply it gave (the balance it reported
is kept in the flow's ``steps``); a step the state does not allow is a 409.

Expiry: a hold expires ``hold_ttl_seconds`` after initiation.  It is released by whichever
comes first: the periodic sweep (:meth:`FlowService.expire_due`), or lazily by any step on
the flow, or by the source's next initiate.  Each path locks the source player and
re-reads the hold, so a hold is released exactly once.

Units of work that change something and then refuse (a wrong code counts an attempt, a
step on a hold that just expired releases it) return the refusal instead of raising it,
so the change commits; the service raises it afterwards.

Locking: every unit locks the players it touches, in ascending account id order, before
reading balances (the contract in :mod:`wallet_store.ports`).  A claim locks the source and
the recipient, so two transfers in opposite directions cannot deadlock.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

from . import holds, money, sms
from .domain import idempotency
from .errors import (
    AccountBlocked,
    Conflict,
    IdempotencyConflict,
    Invalid,
    NotFound,
    OperationNotAllowed,
    OutOfMoney,
    UnknownCurrency,
    WalletError,
)
from .model import (
    Clock,
    Flow,
    FlowKind,
    Game,
    Hold,
    ItemPurchase,
    Payment,
    Player,
    SmsMessage,
    SystemClock,
    Wallet,
    iso,
    move,
    parse_iso,
    split_debit,
)
from .payments import PaymentDeclined, PaymentOutcome, PaymentProvider, SandboxPaymentProvider
from .ports import Tx, WalletStore
from .sms import OutboxSender, SmsSender

T = TypeVar("T")
Step = Literal["initiate", "verify", "claim", "cancel"]
SWEEP_BATCH = 100
USD_CENT = Decimal("0.01")
MAX_QUANTITY = 10_000

CREDIT_KIND: dict[FlowKind, str] = {"transfer": "transfer_in", "send": "send_in"}
LABEL: dict[FlowKind, str] = {"transfer": "transfer", "send": "currency send"}
ID_PREFIX: dict[FlowKind, str] = {"transfer": "tr_", "send": "cs_"}


# --- refusals of the flows (mapped to HTTP by their parents: Conflict 409, Invalid 400,
# Refusal 422) ---------------------------------------------------------------------------


class WrongState(Conflict):
    """The flow's state does not allow this step."""


class WrongClaimant(Conflict):
    """The claimant is not the flow's recipient, or another player already claimed it."""


class VerificationFailed(WrongState):
    """Too many wrong codes: the flow was cancelled and its hold released."""


class WrongCode(Invalid):
    """The verification code is wrong."""


class TooManyHolds(OperationNotAllowed):
    """The player has the maximum number of pending holds."""


class NoPhone(OperationNotAllowed):
    """The player has no phone number on file for SMS verification."""


@dataclass(frozen=True, slots=True)
class FlowSettings:
    hold_ttl_seconds: int = 3600
    code_attempts: int = 3
    max_pending_holds: int = 10
    max_purchase_usd: Decimal = Decimal(10_000)


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One player's balance as a step reported it (kept, so a repeat reports the same)."""

    account_id: str
    email: str | None
    currency: str
    currency_name: str
    available: Decimal
    reserved: Decimal
    at: datetime

    @property
    def total(self) -> Decimal:
        return money.add(self.available, self.reserved)

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "email": self.email,
            "currency": self.currency,
            "currency_name": self.currency_name,
            "available": money.wire(self.available),
            "reserved": money.wire(self.reserved),
            "at": iso(self.at),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Snapshot:
        return cls(
            account_id=d["account_id"],
            email=d["email"],
            currency=d["currency"],
            currency_name=d["currency_name"],
            available=money.parse(d["available"]),
            reserved=money.parse(d["reserved"]),
            at=parse_iso(d["at"]),
        )

    @classmethod
    def of(cls, player: Player, wallet: Wallet, currency_name: str, now: datetime) -> Snapshot:
        return cls(
            account_id=player.account_id,
            email=player.email,
            currency=wallet.currency,
            currency_name=currency_name,
            available=holds.available(wallet),
            reserved=wallet.reserved,
            at=now,
        )


def flow_steps(flow: Flow) -> dict[str, Snapshot]:
    return {k: Snapshot.from_dict(v) for k, v in json.loads(flow.steps).items()}


def _with_step(flow: Flow, step: Step, snap: Snapshot, **changes: Any) -> Flow:
    steps = json.loads(flow.steps)
    steps[step] = snap.to_dict()
    return replace(flow, steps=json.dumps(steps, sort_keys=True), **changes)


@dataclass(frozen=True, slots=True)
class FlowStep:
    """What one step of a transfer/send reports: the flow and the balance of the step's player."""

    flow: Flow
    step: Step
    snapshot: Snapshot
    replayed: bool
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class FlowStatus:
    flow: Flow
    hold: Hold
    state: str  # the flow's state, ``expired`` once the hold's time is up (even before the sweep)


@dataclass(frozen=True, slots=True)
class PurchaseResult:
    payment: Payment
    snapshot: Snapshot | None  # None until the credit happened (requires_action)
    player: Player
    currency_name: str
    replayed: bool


@dataclass(frozen=True, slots=True)
class ItemResult:
    purchase: ItemPurchase
    snapshot: Snapshot
    replayed: bool


def _norm_email(email: str | None) -> str | None:
    return None if email is None else email.strip().lower()


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


async def _currency_name(tx: Tx, operator_id: str, code: str) -> str:
    cur = await tx.get_currency(operator_id, code)
    return cur.name if cur is not None and cur.name else code


async def _offered(tx: Tx, operator_id: str, code: str) -> None:
    """A currency the operator does not offer is a bad request (400), on every write alike:
    never "insufficient funds" for a wallet that cannot exist."""
    if await tx.get_currency(operator_id, code) is None:
        raise UnknownCurrency(f"currency {code} is not offered by this operator")


async def _find(tx: Tx, game: Game, *, account_id: str | None, email: str | None, role: str) -> Player:
    """A player of the game's operator by id or e-mail; NotFound otherwise (no data leak)."""
    player: Player | None
    if account_id is not None:
        player = await tx.get_player(account_id)
    elif email is not None:
        player = await tx.get_player_by_email(game.operator_id, email)
    else:
        raise Invalid(f"the {role} player's id or e-mail is required")
    if player is None or player.operator_id != game.operator_id:
        raise NotFound(f"{role} player not found")
    return player


async def _lock(tx: Tx, account_id: str) -> Player:
    player = await tx.lock_player(account_id)
    if player is None:
        raise NotFound("player not found")
    return player


async def _player(tx: Tx, account_id: str) -> Player:
    """A player the unit already locked."""
    player = await tx.get_player(account_id)
    if player is None:
        raise NotFound("player not found")
    return player


async def _wallet_or_new(tx: Tx, account_id: str, currency: str, now: datetime) -> Wallet:
    wallet = await tx.get_wallet(account_id, currency)
    if wallet is None:
        wallet = Wallet(account_id=account_id, currency=currency, updated_at=now)
        await tx.insert_wallet(wallet)
    return wallet


def _state_error(flow: Flow) -> WrongState:
    label = LABEL[flow.kind]
    if flow.state == "pending":
        return WrongState(f"the {label} is not verified yet")
    if flow.state == "verified":
        return WrongState(f"the {label} is already verified")
    if flow.state == "claimed":
        return WrongState(f"the {label} was already claimed")
    if flow.state == "expired":
        return WrongState(f"the {label} expired; its hold was released")
    reason = flow.closed_reason.replace("_", " ")
    return WrongState(f"the {label} was cancelled ({reason}); its hold was released")


class FlowService:
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

    # ------------------------------------------------------------------ holds

    async def _close_hold(self, tx: Tx, hold: Hold, reason: str, now: datetime) -> tuple[Wallet, Flow | None]:
        """Release an open hold and close its flow (``expired`` or ``cancelled``).  Caller locked."""
        wallet = await tx.get_wallet(hold.account_id, hold.currency)
        if wallet is None:
            raise NotFound(f"wallet of hold {hold.hold_id} not found")
        wallet, entry, closed = holds.release(hold, wallet, reason=reason, now=now)
        await tx.save_wallet(wallet, [entry])
        await tx.update_hold(closed)
        flow = await tx.get_flow(hold.reference)
        if flow is not None and flow.state in ("pending", "verified"):
            state: Literal["expired", "cancelled"] = "expired" if reason == "expired" else "cancelled"
            flow = replace(flow, state=state, closed_reason=reason, updated_at=now)
            await tx.update_flow(flow)
        return wallet, flow

    async def _release_due(self, tx: Tx, account_id: str, now: datetime) -> None:
        """Lazy expiry of one (locked) player's holds whose time is up."""
        while due := await tx.list_due_holds(now, SWEEP_BATCH, account_id):
            for hold in due:
                await self._close_hold(tx, hold, "expired", now)

    async def expire_due(self, limit: int = SWEEP_BATCH) -> int:
        """Release up to ``limit`` holds whose time is up (the periodic sweep); returns how many."""
        now = self.clock.now()

        async def due_unit(tx: Tx) -> list[Hold]:
            return await tx.list_due_holds(now, limit)

        released = 0
        for hold in await self.store.read(due_unit):

            async def unit(tx: Tx, hold: Hold = hold) -> int:
                await _lock(tx, hold.account_id)
                current = await tx.get_hold(hold.hold_id)
                if current is None or not holds.is_due(current, now):
                    return 0  # captured, released or expired by someone else meanwhile
                await self._close_hold(tx, current, "expired", now)
                return 1

            released += await self.store.write(unit)
        return released

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
        if amount <= 0:
            raise Invalid("amount must be greater than zero")
        now = self.clock.now()
        recipient_email = _norm_email(target_email)
        if kind == "send" and recipient_email is None:
            raise Invalid("recipient_email is required")
        fp = idempotency.fingerprint(
            {
                "kind": kind,
                "source_id": source_id,
                "source_email": _norm_email(source_email),
                "target_id": target_id,
                "target_email": recipient_email,
                "currency": currency,
                "amount": amount,
                "note": note,
            }
        )
        flow_id = _new_id(ID_PREFIX[kind])
        code = sms.new_code()
        ttl = timedelta(seconds=self.settings.hold_ttl_seconds)

        async def unit(tx: Tx) -> tuple[FlowStep, SmsMessage | None, str]:
            source = await _find(tx, game, account_id=source_id, email=source_email, role="source")
            target: Player | None = None
            if kind == "transfer":
                target = await _find(tx, game, account_id=target_id, email=target_email, role="target")
                if target.account_id == source.account_id:
                    raise Invalid("the source and the target are the same player")
            elif _norm_email(source.email) == recipient_email:
                raise Invalid("the sender and the recipient are the same player")
            source = await _lock(tx, source.account_id)
            match idempotency.decide(await tx.get_flow_by_key(game.game_id, kind, idempotency_key), fp):
                case idempotency.Replay(record=done):
                    hold = await tx.get_hold(done.hold_id)
                    expires = hold.expires_at if hold is not None else done.created_at + ttl
                    return FlowStep(done, "initiate", flow_steps(done)["initiate"], True, expires), None, ""
                case idempotency.Mismatch():
                    raise IdempotencyConflict(idempotency.reused_by_game(idempotency_key))
            await _offered(tx, game.operator_id, currency)
            if source.blocked:
                raise AccountBlocked("the source account is blocked or self-excluded")
            if target is not None and target.blocked:
                raise AccountBlocked("the target account is blocked or self-excluded")
            phone = await tx.get_phone(source.account_id)
            if phone is None:
                raise NoPhone("the source player has no phone number on file for SMS verification")
            op = await tx.get_operator(source.operator_id)
            if op is None:
                raise NotFound("operator not found")
            await self._release_due(tx, source.account_id, now)
            if await tx.count_open_holds(source.account_id) >= self.settings.max_pending_holds:
                raise TooManyHolds(
                    f"the source player already has {self.settings.max_pending_holds} pending transfers or sends"
                )
            wallet = await tx.get_wallet(source.account_id, currency)
            if wallet is None:
                raise OutOfMoney(f"insufficient funds: the player has no {currency} wallet")
            if holds.available(wallet) < amount:
                raise OutOfMoney(
                    f"insufficient funds: available {money.wire(holds.available(wallet))} {currency},"
                    f" requested {money.wire(amount)}"
                )
            wallet, entry, hold = holds.reserve(
                wallet,
                amount,
                op.debit_order,
                hold_id=_new_id("hold_"),
                reference=flow_id,
                expires_at=now + ttl,
                now=now,
                reason=LABEL[kind],
            )
            await tx.save_wallet(wallet, [entry])
            await tx.insert_hold(hold)
            await tx.touch_player(source.account_id, now)  # money activity: last_active
            snap = Snapshot.of(source, wallet, await _currency_name(tx, op.operator_id, currency), now)
            flow = _with_step(
                Flow(
                    flow_id=flow_id,
                    kind=kind,
                    operator_id=game.operator_id,
                    game_id=game.game_id,
                    idempotency_key=idempotency_key,
                    fingerprint=fp.digest,
                    source_account=source.account_id,
                    target_account=None if target is None else target.account_id,
                    target_email=recipient_email if kind == "send" else None,
                    currency=currency,
                    amount=amount,
                    hold_id=hold.hold_id,
                    state="pending",
                    code_hash=sms.code_hash(flow_id, code),
                    attempts=0,
                    phone_hint=sms.mask_phone(phone),
                    note=note,
                    created_at=now,
                    updated_at=now,
                ),
                "initiate",
                snap,
            )
            await tx.insert_flow(flow)
            text = sms.verification_text(code, what=f"{LABEL[kind]} of {money.wire(amount)} {snap.currency_name}")
            message = self.sms.outbox_row(
                message_id=_new_id("sms_"),
                account_id=source.account_id,
                phone=phone,
                text=text,
                code=code,
                purpose=f"{kind}:{flow_id}",
                now=now,
            )
            await tx.insert_sms(message)
            return FlowStep(flow, "initiate", snap, False, hold.expires_at), message, text

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

    async def _locked_flow(self, tx: Tx, game: Game, kind: FlowKind, flow_id: str, *others: str) -> Flow:
        """The flow (404 unless it is the game operator's and of this kind), read again after
        locking its source and ``others`` in ascending account id order."""
        found = await tx.get_flow(flow_id)
        if found is None or found.kind != kind or found.operator_id != game.operator_id:
            raise NotFound(f"{LABEL[kind]} not found")
        for account in sorted({found.source_account, *others}):
            await _lock(tx, account)
        flow = await tx.get_flow(flow_id)
        if flow is None:
            raise NotFound(f"{LABEL[kind]} not found")
        return flow

    async def _lazy_expire(self, tx: Tx, flow: Flow, now: datetime) -> tuple[Flow, Hold]:
        hold = await tx.get_hold(flow.hold_id)
        if hold is None:
            raise NotFound(f"hold of {flow.flow_id} not found")
        if flow.state in ("pending", "verified") and holds.is_due(hold, now):
            _, closed = await self._close_hold(tx, hold, "expired", now)
            if closed is not None:
                flow = closed
            hold = await tx.get_hold(flow.hold_id) or hold
        return flow, hold

    async def verify(self, game: Game, *, kind: FlowKind, flow_id: str, code: str) -> FlowStep:
        """Check the SMS code.  No money moves; the source's balance is re-confirmed."""
        if not sms.CODE.fullmatch(code):
            raise Invalid(f"verification_code must be {sms.CODE_DIGITS} digits")
        now = self.clock.now()
        attempts_allowed = self.settings.code_attempts

        async def unit(tx: Tx) -> FlowStep | WalletError:
            flow = await self._locked_flow(tx, game, kind, flow_id)
            flow, hold = await self._lazy_expire(tx, flow, now)
            matches = sms.code_matches(flow.flow_id, code, flow.code_hash)
            if flow.state == "pending":
                if matches:
                    source = await _player(tx, flow.source_account)
                    wallet = await tx.get_wallet(flow.source_account, flow.currency)
                    if wallet is None:
                        raise NotFound("source wallet not found")
                    name = await _currency_name(tx, flow.operator_id, flow.currency)
                    snap = Snapshot.of(source, wallet, name, now)
                    flow = _with_step(flow, "verify", snap, state="verified", updated_at=now)
                    await tx.update_flow(flow)
                    return FlowStep(flow, "verify", snap, False, hold.expires_at)
                attempts = flow.attempts + 1
                flow = replace(flow, attempts=attempts, updated_at=now)
                await tx.update_flow(flow)
                if attempts >= attempts_allowed:
                    await self._close_hold(tx, hold, "verification_failed", now)
                    return VerificationFailed(
                        f"wrong verification code {attempts} times: the {LABEL[kind]} is cancelled"
                        " and its hold released"
                    )
                left = attempts_allowed - attempts
                return WrongCode(f"wrong verification code: {left} attempt(s) left")
            if flow.state in ("verified", "claimed") and matches:
                return FlowStep(flow, "verify", flow_steps(flow)["verify"], True, hold.expires_at)
            return _state_error(flow)

        return _raise_or_return(await self.store.write(unit))

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
        email = _norm_email(claimant_email)

        async def unit(tx: Tx) -> FlowStep | WalletError:
            found = await tx.get_flow(flow_id)
            if found is None or found.kind != kind or found.operator_id != game.operator_id:
                raise NotFound(f"{LABEL[kind]} not found")
            claimant: Player | None
            if kind == "transfer":
                claimant = await _find(tx, game, account_id=claimant_id, email=claimant_email, role="claiming")
            else:
                if email is None:
                    raise Invalid("recipient_email is required")
                if email != found.target_email:
                    raise WrongClaimant("this currency send is addressed to another e-mail")
                claimant = await tx.get_player_by_email(game.operator_id, email)
                if claimant is None:
                    raise NotFound(
                        "no player of this operator has this e-mail yet: the recipient must register before"
                        " claiming; an unclaimed send returns to the sender when its hold expires"
                    )
            flow = await self._locked_flow(tx, game, kind, flow_id, claimant.account_id)
            flow, hold = await self._lazy_expire(tx, flow, now)
            if flow.state == "claimed":
                if flow.target_account == claimant.account_id:
                    return FlowStep(flow, "claim", flow_steps(flow)["claim"], True, hold.expires_at)
                return WrongClaimant(f"the {LABEL[kind]} was already claimed by another player")
            if flow.state != "verified":
                return _state_error(flow)
            # Nothing was written by this unit yet: refusals below may raise.
            if kind == "transfer" and claimant.account_id != flow.target_account:
                raise WrongClaimant("the transfer is addressed to another player")
            recipient = await _player(tx, claimant.account_id)
            source = await _player(tx, flow.source_account)
            if recipient.blocked:
                raise AccountBlocked("the recipient account is blocked or self-excluded")
            if source.blocked:
                raise AccountBlocked("the source account is blocked or self-excluded")
            src = await tx.get_wallet(flow.source_account, flow.currency)
            if src is None:
                raise NotFound("source wallet not found")
            dst = await _wallet_or_new(tx, recipient.account_id, flow.currency, now)
            src, src_entry, dst, dst_entry, captured = holds.capture(
                hold, src, dst, credit_kind=CREDIT_KIND[kind], now=now, reason=LABEL[kind]
            )
            await tx.save_wallet(src, [src_entry])
            await tx.save_wallet(dst, [dst_entry])
            await tx.update_hold(captured)
            await tx.touch_player(recipient.account_id, now)  # money activity: last_active
            snap = Snapshot.of(recipient, dst, await _currency_name(tx, flow.operator_id, flow.currency), now)
            flow = _with_step(flow, "claim", snap, state="claimed", target_account=recipient.account_id, updated_at=now)
            await tx.update_flow(flow)
            return FlowStep(flow, "claim", snap, False, hold.expires_at)

        return _raise_or_return(await self.store.write(unit))

    async def cancel(self, game: Game, *, kind: FlowKind, flow_id: str) -> FlowStep:
        """Cancel a pending or verified flow: the hold goes back to the source's available balance."""
        now = self.clock.now()

        async def unit(tx: Tx) -> FlowStep | WalletError:
            flow = await self._locked_flow(tx, game, kind, flow_id)
            flow, hold = await self._lazy_expire(tx, flow, now)
            if flow.state == "cancelled" and flow.closed_reason == "cancelled":
                return FlowStep(flow, "cancel", flow_steps(flow)["cancel"], True, hold.expires_at)
            if flow.state not in ("pending", "verified"):
                return _state_error(flow)
            wallet, closed = await self._close_hold(tx, hold, "cancelled", now)
            if closed is None:
                raise NotFound(f"{LABEL[kind]} not found")
            source = await _player(tx, flow.source_account)
            snap = Snapshot.of(source, wallet, await _currency_name(tx, flow.operator_id, flow.currency), now)
            flow = _with_step(closed, "cancel", snap)
            await tx.update_flow(flow)
            return FlowStep(flow, "cancel", snap, False, hold.expires_at)

        return _raise_or_return(await self.store.write(unit))

    async def status(self, game: Game, *, kind: FlowKind, flow_id: str) -> FlowStatus:
        now = self.clock.now()

        async def unit(tx: Tx) -> FlowStatus:
            flow = await tx.get_flow(flow_id)
            if flow is None or flow.kind != kind or flow.operator_id != game.operator_id:
                raise NotFound(f"{LABEL[kind]} not found")
            hold = await tx.get_hold(flow.hold_id)
            if hold is None:
                raise NotFound(f"hold of {flow.flow_id} not found")
            due = flow.state in ("pending", "verified") and holds.is_due(hold, now)
            return FlowStatus(flow, hold, "expired" if due else flow.state)

        return await self.store.read(unit)

    # ------------------------------------------------------------------ currency purchases

    async def purchase_currency(
        self,
        game: Game,
        *,
        account_id: str | None,
        email: str | None,
        currency: str,
        usd_amount: Decimal,
        payment_token: str,
        idempotency_key: str,
    ) -> PurchaseResult:
        """Buy ``usd_amount`` USD worth of ``currency`` (at its USD rate, rounded down).

        The payment is recorded (``processing``) before the provider is asked, then settled:
        ``succeeded`` credits the player once, ``requires_action`` waits for
        :meth:`confirm_payment`, ``declined`` credits nothing (402, replayed for the key).
        """
        if usd_amount <= 0:
            raise Invalid("usd_amount must be greater than zero")
        if usd_amount != usd_amount.quantize(USD_CENT):
            raise Invalid("usd_amount has at most 2 decimal places (cents)")
        if usd_amount > self.settings.max_purchase_usd:
            raise Invalid(f"usd_amount is at most {money.wire(self.settings.max_purchase_usd)}")
        self.payments.check_token(payment_token)
        now = self.clock.now()
        fp = idempotency.fingerprint(
            {
                "player_id": account_id,
                "player_email": _norm_email(email),
                "currency": currency,
                "usd_amount": usd_amount,
                "payment_token": payment_token,
            }
        )
        payment_id = _new_id("pay_")

        async def start(tx: Tx) -> Payment:
            player = await _find(tx, game, account_id=account_id, email=email, role="buying")
            player = await _lock(tx, player.account_id)
            match idempotency.decide(await tx.get_payment_by_key(game.game_id, idempotency_key), fp):
                case idempotency.Replay(record=done):
                    return done
                case idempotency.Mismatch():
                    raise IdempotencyConflict(idempotency.reused_by_game(idempotency_key))
            if player.blocked:
                raise AccountBlocked("account is blocked or self-excluded")
            cur = await tx.get_currency(game.operator_id, currency)
            if cur is None:
                raise UnknownCurrency(f"currency {currency} is not offered by this operator")
            if cur.usd_rate is None or cur.usd_rate <= 0:
                raise Invalid(f"{currency} has no USD rate, so it cannot be bought")
            amount = money.proportion(usd_amount, Decimal(1), cur.usd_rate)
            if amount <= 0:
                raise Invalid("usd_amount buys less than the smallest unit of the currency")
            payment = Payment(
                payment_id=payment_id,
                operator_id=game.operator_id,
                game_id=game.game_id,
                idempotency_key=idempotency_key,
                fingerprint=fp.digest,
                account_id=player.account_id,
                currency=currency,
                usd_amount=usd_amount,
                usd_rate=cur.usd_rate,
                amount=amount,
                provider=self.payments.name,
                state="processing",
                created_at=now,
                updated_at=now,
            )
            await tx.insert_payment(payment)
            return payment

        payment = await self.store.write(start)
        if payment.state != "processing":
            return await self._replay_payment(payment)
        # New, or an earlier attempt with this key stopped before settling: the provider is
        # idempotent by payment id, so asking again gives the same answer.
        outcome = await self.payments.charge(
            payment_id=payment.payment_id, usd_amount=payment.usd_amount, token=payment_token
        )
        return await self._settle(payment.payment_id, outcome, replayed=payment.payment_id != payment_id)

    async def confirm_payment(self, game: Game, *, payment_id: str) -> PurchaseResult:
        """Complete a ``requires_action`` purchase; credits exactly once however often called."""

        async def unit(tx: Tx) -> Payment:
            found = await tx.get_payment(payment_id)
            if found is None or found.operator_id != game.operator_id:
                raise NotFound("payment not found")
            return found

        payment = await self.store.read(unit)
        if payment.state == "processing":
            raise WrongState("the payment is still being processed: repeat the purchase with its idempotency key")
        if payment.state != "requires_action":
            return await self._replay_payment(payment)
        outcome = await self.payments.confirm(payment_id=payment.payment_id, provider_ref=payment.provider_ref)
        if outcome.status == "requires_action":
            raise WrongState("the customer has not completed the authentication yet")
        return await self._settle(payment.payment_id, outcome, replayed=False)

    async def _replay_payment(self, payment: Payment) -> PurchaseResult:
        if payment.state == "declined":
            raise PaymentDeclined(payment.message or "the payment was declined")

        async def unit(tx: Tx) -> PurchaseResult:
            player = await tx.get_player(payment.account_id)
            if player is None:
                raise NotFound("player not found")
            snap = Snapshot.from_dict(json.loads(payment.result)) if payment.result else None
            name = snap.currency_name if snap else await _currency_name(tx, payment.operator_id, payment.currency)
            return PurchaseResult(payment, snap, player, name, True)

        return await self.store.read(unit)

    async def _settle(self, payment_id: str, outcome: PaymentOutcome, *, replayed: bool) -> PurchaseResult:
        now = self.clock.now()

        async def unit(tx: Tx) -> PurchaseResult | WalletError:
            found = await tx.get_payment(payment_id)
            if found is None:
                raise NotFound("payment not found")
            player = await _lock(tx, found.account_id)
            payment = await tx.get_payment(payment_id)
            if payment is None:
                raise NotFound("payment not found")
            name = await _currency_name(tx, payment.operator_id, payment.currency)
            if payment.state == "declined":
                return PaymentDeclined(payment.message or "the payment was declined")
            if payment.state == "succeeded":  # a concurrent request settled it first
                snap = Snapshot.from_dict(json.loads(payment.result))
                return PurchaseResult(payment, snap, player, snap.currency_name, True)
            if outcome.status == "requires_action":
                if payment.state != "requires_action":
                    payment = replace(
                        payment,
                        state="requires_action",
                        provider_ref=outcome.provider_ref,
                        client_secret=outcome.client_secret,
                        updated_at=now,
                    )
                    await tx.update_payment(payment)
                return PurchaseResult(payment, None, player, name, replayed)
            if outcome.status == "declined":
                payment = replace(
                    payment,
                    state="declined",
                    provider_ref=outcome.provider_ref,
                    message=outcome.message or "the payment was declined",
                    updated_at=now,
                )
                await tx.update_payment(payment)
                return PaymentDeclined(payment.message)
            # Paid: credit once.  A blocked player is credited too: the money was taken.
            wallet = await _wallet_or_new(tx, payment.account_id, payment.currency, now)
            wallet, entry = move(
                wallet,
                kind="purchase_credit",
                real=payment.amount,
                reference=payment.payment_id,
                reason=f"purchase of {money.wire(payment.usd_amount)} USD",
                now=now,
            )
            await tx.save_wallet(wallet, [entry])
            await tx.touch_player(payment.account_id, now)  # money activity: last_active
            snap = Snapshot.of(player, wallet, name, now)
            payment = replace(
                payment,
                state="succeeded",
                provider_ref=outcome.provider_ref,
                result=json.dumps(snap.to_dict(), sort_keys=True),
                updated_at=now,
            )
            await tx.update_payment(payment)
            return PurchaseResult(payment, snap, player, name, replayed)

        return _raise_or_return(await self.store.write(unit))

    # ------------------------------------------------------------------ item purchases

    async def purchase_item(
        self,
        game: Game,
        *,
        account_id: str | None,
        email: str | None,
        currency: str,
        item_id: str,
        item_name: str,
        quantity: int,
        unit_price: Decimal,
        idempotency_key: str,
    ) -> ItemResult:
        """Debit ``unit_price`` x ``quantity`` from the available balance, once per key.

        Real and bonus money are consumed in the operator's debit order.  A refusal (funds
        short, blocked account) changes nothing and is not remembered: a retry after a top-up
        can succeed.
        """
        if unit_price <= 0:
            raise Invalid("unit_price must be greater than zero")
        if not 1 <= quantity <= MAX_QUANTITY:
            raise Invalid(f"quantity must be from 1 to {MAX_QUANTITY}")
        try:
            total = money.check(unit_price * quantity)
        except money.MoneyError:
            raise Invalid("unit_price x quantity is too large") from None
        now = self.clock.now()
        purchase_id = _new_id("ip_")
        fp = idempotency.fingerprint(
            {
                "player_id": account_id,
                "player_email": _norm_email(email),
                "currency": currency,
                "item_id": item_id,
                "item_name": item_name,
                "quantity": quantity,
                "unit_price": unit_price,
            }
        )

        async def unit(tx: Tx) -> ItemResult:
            player = await _find(tx, game, account_id=account_id, email=email, role="buying")
            player = await _lock(tx, player.account_id)
            match idempotency.decide(await tx.get_item_purchase_by_key(game.game_id, idempotency_key), fp):
                case idempotency.Replay(record=done):
                    return ItemResult(done, Snapshot.from_dict(json.loads(done.result)), True)
                case idempotency.Mismatch():
                    raise IdempotencyConflict(idempotency.reused_by_game(idempotency_key))
            await _offered(tx, game.operator_id, currency)
            if player.blocked:
                raise AccountBlocked("account is blocked or self-excluded")
            op = await tx.get_operator(player.operator_id)
            if op is None:
                raise NotFound("operator not found")
            await self._release_due(tx, player.account_id, now)
            wallet = await tx.get_wallet(player.account_id, currency)
            if wallet is None:
                raise OutOfMoney(f"insufficient funds: the player has no {currency} wallet")
            if holds.available(wallet) < total:
                raise OutOfMoney(
                    f"insufficient funds: available {money.wire(holds.available(wallet))} {currency},"
                    f" price {money.wire(total)}"
                )
            real, bonus = split_debit(wallet, total, op.debit_order)
            wallet, entry = move(
                wallet,
                kind="item_debit",
                real=-real,
                bonus=-bonus,
                reference=purchase_id,
                reason=f"item {item_id} x {quantity}",
                now=now,
            )
            await tx.save_wallet(wallet, [entry])
            await tx.touch_player(player.account_id, now)  # money activity: last_active
            snap = Snapshot.of(player, wallet, await _currency_name(tx, op.operator_id, currency), now)
            purchase = ItemPurchase(
                purchase_id=purchase_id,
                operator_id=game.operator_id,
                game_id=game.game_id,
                idempotency_key=idempotency_key,
                fingerprint=fp.digest,
                account_id=player.account_id,
                currency=currency,
                item_id=item_id,
                item_name=item_name,
                quantity=quantity,
                unit_price=unit_price,
                total=total,
                real=real,
                bonus=bonus,
                created_at=now,
                result=json.dumps(snap.to_dict(), sort_keys=True),
            )
            await tx.insert_item_purchase(purchase)
            return ItemResult(purchase, snap, False)

        return await self.store.write(unit)

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


def _raise_or_return(out: T | WalletError) -> T:
    """Raise a refusal a unit returned (so its changes committed), else return its result."""
    if isinstance(out, WalletError):
        raise out
    return out
