"""The first step of a transfer or currency send: reserve the amount, send a code.  Pure.

``initiate`` is idempotent by (game, kind, idempotency key) with the fingerprint of the
request: the same key with another request is a conflict, the same request replays the
reply of the first (:mod:`wallet_store.domain.flows` holds the rest of the state machine).
A transfer's recipient is a player named at initiation; a send's recipient is an e-mail
address, normalised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from wallet_store import money, sms
from wallet_store.domain import holds, idempotency
from wallet_store.domain.balances import WalletChange
from wallet_store.domain.flows import (
    ID_PREFIX,
    LABEL,
    FlowSettings,
    FlowStep,
    NoPhone,
    Snapshot,
    TooManyHolds,
    flow_steps,
    with_step,
)
from wallet_store.domain.requests import active, norm_email
from wallet_store.domain.transfers import offered
from wallet_store.errors import Invalid, NotFound, OutOfMoney
from wallet_store.model import Currency, Flow, FlowKind, Hold, Operator, Player, Wallet


@dataclass(frozen=True, slots=True)
class InitiateCmd:
    game_id: str
    operator_id: str
    kind: FlowKind
    source_id: str | None
    source_email: str | None
    target_id: str | None
    target_email: str | None
    currency: str
    amount: Decimal
    note: str
    idempotency_key: str

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise Invalid("amount must be greater than zero")
        if self.kind == "send" and self.recipient_email is None:
            raise Invalid("recipient_email is required")

    @property
    def recipient_email(self) -> str | None:
        return norm_email(self.target_email)

    def fingerprint(self) -> idempotency.Fingerprint:
        return idempotency.fingerprint(
            {
                "kind": self.kind,
                "source_id": self.source_id,
                "source_email": norm_email(self.source_email),
                "target_id": self.target_id,
                "target_email": self.recipient_email,
                "currency": self.currency,
                "amount": self.amount,
                "note": self.note,
            }
        )


def check_parties(cmd: InitiateCmd, source: Player, target: Player | None) -> None:
    """Nobody transfers or sends to themselves."""
    if target is not None and target.account_id == source.account_id:
        raise Invalid("the source and the target are the same player")
    if cmd.kind == "send" and norm_email(source.email) == cmd.recipient_email:
        raise Invalid("the sender and the recipient are the same player")


def replay(done: Flow, hold: Hold | None, ttl: timedelta) -> FlowStep:
    """The reply of an initiate already done under the key."""
    expires = hold.expires_at if hold is not None else done.created_at + ttl
    return FlowStep(done, "initiate", flow_steps(done)["initiate"], True, expires)


@dataclass(frozen=True, slots=True)
class Parties:
    """What is checked before any hold of the source is touched."""

    source: Player
    target: Player | None
    currency: Currency | None
    phone: str | None
    operator: Operator | None


def check_initiate(parties: Parties, cmd: InitiateCmd) -> tuple[str, Operator]:
    """The phone to verify with and the operator (debit order), or the refusal."""
    offered(parties.currency, cmd.currency)
    active(parties.source, "the source account")
    if parties.target is not None:
        active(parties.target, "the target account")
    if parties.phone is None:
        raise NoPhone("the source player has no phone number on file for SMS verification")
    if parties.operator is None:
        raise NotFound("operator not found")
    return parties.phone, parties.operator


@dataclass(frozen=True, slots=True)
class NewIds:
    """The ids and the code of a new flow (drawn by the service)."""

    flow_id: str
    hold_id: str
    code: str


@dataclass(frozen=True, slots=True)
class Reservation:
    """The source's balance after the open holds due were released."""

    open_holds: int
    wallet: Wallet | None
    currency_name: str


@dataclass(frozen=True, slots=True)
class Initiated:
    step: FlowStep
    change: WalletChange
    hold: Hold
    flow: Flow
    text: str  # the verification SMS


def new_flow_id(kind: FlowKind, token: str) -> str:
    return ID_PREFIX[kind] + token


def _funds(res: Reservation, cmd: InitiateCmd, settings: FlowSettings) -> Wallet:
    if res.open_holds >= settings.max_pending_holds:
        raise TooManyHolds(f"the source player already has {settings.max_pending_holds} pending transfers or sends")
    if res.wallet is None:
        raise OutOfMoney(f"insufficient funds: the player has no {cmd.currency} wallet")
    if holds.available(res.wallet) < cmd.amount:
        raise OutOfMoney(
            f"insufficient funds: available {money.wire(holds.available(res.wallet))} {cmd.currency},"
            f" requested {money.wire(cmd.amount)}"
        )
    return res.wallet


def decide_initiate(
    cmd: InitiateCmd,
    parties: Parties,
    res: Reservation,
    *,
    settings: FlowSettings,
    ids: NewIds,
    fingerprint: str,
    now: datetime,
) -> Initiated:
    """Reserve the amount on the source and open the flow, pending its code."""
    phone, op = check_initiate(parties, cmd)
    wallet, entry, hold = holds.reserve(
        _funds(res, cmd, settings),
        cmd.amount,
        op.debit_order,
        hold_id=ids.hold_id,
        reference=ids.flow_id,
        expires_at=now + timedelta(seconds=settings.hold_ttl_seconds),
        now=now,
        reason=LABEL[cmd.kind],
    )
    snap = Snapshot.of(parties.source, wallet, res.currency_name, now)
    flow = Flow(
        flow_id=ids.flow_id,
        kind=cmd.kind,
        operator_id=cmd.operator_id,
        game_id=cmd.game_id,
        idempotency_key=cmd.idempotency_key,
        fingerprint=fingerprint,
        source_account=parties.source.account_id,
        target_account=None if parties.target is None else parties.target.account_id,
        target_email=cmd.recipient_email if cmd.kind == "send" else None,
        currency=cmd.currency,
        amount=cmd.amount,
        hold_id=hold.hold_id,
        state="pending",
        code_hash=sms.code_hash(ids.flow_id, ids.code),
        attempts=0,
        phone_hint=sms.mask_phone(phone),
        note=cmd.note,
        created_at=now,
        updated_at=now,
    )
    text = sms.verification_text(ids.code, what=f"{LABEL[cmd.kind]} of {money.wire(cmd.amount)} {snap.currency_name}")
    step = FlowStep(with_step(flow, "initiate", snap), "initiate", snap, False, hold.expires_at)
    return Initiated(step, WalletChange(wallet, (entry,)), hold, step.flow, text)
