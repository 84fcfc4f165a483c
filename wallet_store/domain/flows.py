"""Transfers and currency sends (``kind`` ``transfer`` / ``send``): the state machine.  Pure.

``initiate`` reserves the amount on the source (a hold, :mod:`wallet_store.domain.holds`)
and sends a verification code; ``verify`` checks the code (no money moves); ``claim``
captures the hold into the recipient's wallet (created if missing).  States::

    pending --verify(ok)--> verified --claim--> claimed
       |  \\--verify(wrong) x attempts--> cancelled (hold released)
       +--cancel--> cancelled (hold released)      verified --cancel--> cancelled
       +--hold expires--> expired (hold released)  verified --hold expires--> expired

Every step is idempotent: repeating a completed step returns the reply it gave (the
balance it reported is kept in the flow's ``steps``); a step the state does not allow is a
409 (:class:`WrongState`).

A decision that changes something and then refuses (a wrong code counts an attempt, a step
on a hold that just expired releases it) returns the refusal as its reply, so the change
commits; a refusal before any change is raised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from wallet_store import money, sms
from wallet_store.domain import holds
from wallet_store.domain.balances import WalletChange, wallet_or_new
from wallet_store.domain.requests import active
from wallet_store.errors import Conflict, Invalid, NotFound, OperationNotAllowed, WalletError
from wallet_store.model import Currency, Flow, FlowKind, Hold, Player, Wallet, iso, parse_iso

Step = Literal["initiate", "verify", "claim", "cancel"]
SWEEP_BATCH = 100
OPEN_STATES = ("pending", "verified")

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


# --- what a step reports ---------------------------------------------------------------


def currency_name(cur: Currency | None, code: str) -> str:
    return cur.name if cur is not None and cur.name else code


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

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

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
    def from_json(cls, text: str) -> Snapshot:
        return cls.from_dict(json.loads(text))

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


def with_step(flow: Flow, step: Step, snap: Snapshot, **changes: Any) -> Flow:
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


def flow_status(flow: Flow, hold: Hold, now: datetime) -> FlowStatus:
    due = flow.state in OPEN_STATES and holds.is_due(hold, now)
    return FlowStatus(flow, hold, "expired" if due else flow.state)


def repeat(flow: Flow, step: Step, hold: Hold) -> FlowStep:
    """The reply a completed step gave, again."""
    return FlowStep(flow, step, flow_steps(flow)[step], True, hold.expires_at)


def state_error(flow: Flow) -> WrongState:
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


def of_game(flow: Flow | None, kind: FlowKind, operator_id: str) -> Flow:
    """The flow, if it is of this kind and the game operator's; else NotFound."""
    if flow is None or flow.kind != kind or flow.operator_id != operator_id:
        raise NotFound(f"{LABEL[kind]} not found")
    return flow


# --- closing a hold (release) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Closing:
    """A released hold: the wallet given its funds back, the closed hold, the closed flow."""

    change: WalletChange
    hold: Hold
    flow: Flow | None


def close_hold(hold: Hold, wallet: Wallet | None, flow: Flow | None, reason: str, now: datetime) -> Closing:
    """Release an open hold and close its flow (``expired`` or ``cancelled``) if still open."""
    if wallet is None:
        raise NotFound(f"wallet of hold {hold.hold_id} not found")
    wallet, entry, closed = holds.release(hold, wallet, reason=reason, now=now)
    if flow is not None and flow.state in OPEN_STATES:
        state: Literal["expired", "cancelled"] = "expired" if reason == "expired" else "cancelled"
        flow = replace(flow, state=state, closed_reason=reason, updated_at=now)
    return Closing(WalletChange(wallet, (entry,)), closed, flow)


@dataclass(frozen=True, slots=True)
class FlowView:
    """A flow as a step sees it, under the lock of its source: its hold and the source wallet."""

    flow: Flow
    hold: Hold
    wallet: Wallet | None


def expire_if_due(view: FlowView, now: datetime) -> tuple[FlowView, Closing | None]:
    """Lazy expiry: an open flow whose hold's time is up is closed before the step is decided."""
    if view.flow.state not in OPEN_STATES or not holds.is_due(view.hold, now):
        return view, None
    closing = close_hold(view.hold, view.wallet, view.flow, "expired", now)
    return FlowView(closing.flow or view.flow, closing.hold, closing.change.wallet), closing


@dataclass(frozen=True, slots=True)
class Outcome:
    """A step's reply (or the refusal it returns) and what it changed."""

    reply: FlowStep | WalletError
    flow: Flow | None = None  # the flow to update
    closing: Closing | None = None
    changes: tuple[WalletChange, ...] = ()
    hold: Hold | None = None  # the hold to update (captured)


# --- verify, claim, cancel -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    """A player of a step with its balance in the flow's currency."""

    player: Player
    wallet: Wallet | None
    currency_name: str


def _wrong_code(view: FlowView, attempts_allowed: int, now: datetime) -> Outcome:
    flow = view.flow
    attempts = flow.attempts + 1
    flow = replace(flow, attempts=attempts, updated_at=now)
    if attempts < attempts_allowed:
        return Outcome(WrongCode(f"wrong verification code: {attempts_allowed - attempts} attempt(s) left"), flow)
    closing = close_hold(view.hold, view.wallet, flow, "verification_failed", now)
    error = VerificationFailed(
        f"wrong verification code {attempts} times: the {LABEL[flow.kind]} is cancelled and its hold released"
    )
    return Outcome(error, closing=closing)


def decide_verify(view: FlowView, source: Party, code: str, attempts_allowed: int, now: datetime) -> Outcome:
    """Check the SMS code.  No money moves; the source's balance is re-confirmed."""
    flow = view.flow
    matches = sms.code_matches(flow.flow_id, code, flow.code_hash)
    if flow.state == "pending":
        if not matches:
            return _wrong_code(view, attempts_allowed, now)
        if source.wallet is None:
            raise NotFound("source wallet not found")
        snap = Snapshot.of(source.player, source.wallet, source.currency_name, now)
        flow = with_step(flow, "verify", snap, state="verified", updated_at=now)
        return Outcome(FlowStep(flow, "verify", snap, False, view.hold.expires_at), flow)
    if flow.state in ("verified", "claimed") and matches:
        return Outcome(repeat(flow, "verify", view.hold))
    return Outcome(state_error(flow))


def send_claimant(email: str | None, flow: Flow) -> str:
    """A send is claimed with the recipient e-mail it was addressed to (normalised)."""
    if email is None:
        raise Invalid("recipient_email is required")
    if email != flow.target_email:
        raise WrongClaimant("this currency send is addressed to another e-mail")
    return email


def decide_claim(view: FlowView, source: Player, recipient: Party, now: datetime) -> Outcome:
    """Capture the hold into the recipient's wallet (created if missing)."""
    flow, hold, kind = view.flow, view.hold, view.flow.kind
    rid = recipient.player.account_id
    if flow.state == "claimed":
        if flow.target_account == rid:
            return Outcome(repeat(flow, "claim", hold))
        return Outcome(WrongClaimant(f"the {LABEL[kind]} was already claimed by another player"))
    if flow.state != "verified":
        return Outcome(state_error(flow))
    # Nothing was changed by this step yet: the refusals below are raised.
    if kind == "transfer" and rid != flow.target_account:
        raise WrongClaimant("the transfer is addressed to another player")
    active(recipient.player, "the recipient account")
    active(source, "the source account")
    if view.wallet is None:
        raise NotFound("source wallet not found")
    dst, created = wallet_or_new(recipient.wallet, rid, flow.currency, now)
    src, src_entry, dst, dst_entry, captured = holds.capture(
        hold, view.wallet, dst, credit_kind=CREDIT_KIND[kind], now=now, reason=LABEL[kind]
    )
    snap = Snapshot.of(recipient.player, dst, recipient.currency_name, now)
    flow = with_step(flow, "claim", snap, state="claimed", target_account=rid, updated_at=now)
    changes = (WalletChange(src, (src_entry,)), WalletChange(dst, (dst_entry,), created))
    return Outcome(FlowStep(flow, "claim", snap, False, hold.expires_at), flow, changes=changes, hold=captured)


def decide_cancel(view: FlowView, source: Party, now: datetime) -> Outcome:
    """Cancel a pending or verified flow: the hold goes back to the source's available balance."""
    flow, hold = view.flow, view.hold
    if flow.state == "cancelled" and flow.closed_reason == "cancelled":
        return Outcome(repeat(flow, "cancel", hold))
    if flow.state not in OPEN_STATES:
        return Outcome(state_error(flow))
    closing = close_hold(hold, view.wallet, flow, "cancelled", now)
    if closing.flow is None:
        raise NotFound(f"{LABEL[flow.kind]} not found")
    snap = Snapshot.of(source.player, closing.change.wallet, source.currency_name, now)
    closed = with_step(closing.flow, "cancel", snap)
    return Outcome(FlowStep(closed, "cancel", snap, False, hold.expires_at), closing=replace(closing, flow=closed))
