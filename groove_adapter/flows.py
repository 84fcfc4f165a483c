"""HTTP face of the write flows (thin handlers over :mod:`wallet_store.flows`).

Player Balance API conventions (``X-Game-Secret-Key``, money as decimal strings, errors
``{"error", "kind", "status"}``):

* ``/api/transfers/*``: ``initiate-transfer``, ``verify-sms``, ``claim-transfer``,
  ``cancel-transfer``, ``GET /api/transfers/{transfer_id}``;
* ``/api/currency-sends/*``: ``initiate-send``, ``verify-sms``, ``claim-currency``,
  ``cancel-send``, ``GET /api/currency-sends/{send_id}``;
* ``/api/currency-purchases/purchase-currency`` and ``confirm-payment``;
* ``/api/item-purchases/purchase-item``.

The write-response contract: every success carries ``new_balance`` at the top level (the
available balance of the player the contract names for the endpoint, a decimal string),
the legacy alias (``transfer_details`` / ``send_details`` / ``purchase_details`` /
``balance_info``) with the same value, and ``currency_name``.  ``new_balance`` is ``null``
only for a purchase answered ``status: "requires_action"``.  A replay (same idempotency
key, or a repeated step) answers what the first call answered, with the response header
``Idempotent-Replayed: true``.

Admin (``/admin``, Bearer token): ``PUT /admin/players/{id}/phone``,
``GET /admin/sms-outbox``, ``POST /admin/holds/sweep``.  The expiry sweeper runs in the
app's ``cleanup_ctx`` (:func:`sweeper_ctx`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

from aiohttp import web
from pydantic import ValidationError
from typing_extensions import TypedDict

from wallet_store import errors as E
from wallet_store import money
from wallet_store.flows import SWEEP_BATCH, FlowService, FlowStatus, FlowStep, ItemResult, PurchaseResult
from wallet_store.model import ACCOUNT_ID, FlowKind, FlowState, SmsMessage, iso

from . import restface
from .jsonout import json_response, loads
from .keys import SETTINGS
from .restface import GAME
from .schemas import flows as S
from .schemas.operations import Op

log = logging.getLogger(__name__)

FLOWS = web.AppKey("flows", FlowService)
MAX_OUTBOX_PAGE = 100


def _one_of(a: object, b: object, what: str) -> None:
    if (a is None) == (b is None):
        raise E.Invalid(f"exactly one of {what}_id and {what}_email is required")


def _s(v: Any) -> str:
    return money.fixed(v, 2)


def _reply(body: Mapping[str, Any], replayed: bool) -> web.Response:
    return json_response(body, headers={"Idempotent-Replayed": "true" if replayed else "false"})


# ---------------------------------------------------------------------- reply bodies

# The state a step leaves the flow in: the names GET /api/transfers/{id} (and sends) answers,
# one vocabulary everywhere (wallet_store.flows: pending, verified, claimed, cancelled, expired).
STEP_STATE = {"initiate": "pending", "verify": "verified", "claim": "claimed", "cancel": "cancelled"}


def flow_body(s: FlowStep) -> dict[str, Any]:
    """A transfer/send step.  Built from the flow's fixed fields and the step's snapshot only,
    so a repeated step answers byte for byte what it answered first."""
    f, snap = s.flow, s.snapshot
    new_balance = _s(snap.available)
    details: dict[str, Any]
    if f.kind == "transfer":
        id_field, details_field = "transfer_id", "transfer_details"
        details = {"source_player_id": f.source_account, "target_player_id": f.target_account}
    else:
        id_field, details_field = "send_id", "send_details"
        details = {"sender_player_id": f.source_account, "recipient_email": f.target_email}
        if s.step == "claim":
            details["recipient_player_id"] = snap.account_id
    details = {
        id_field: f.flow_id,
        "state": STEP_STATE[s.step],
        "amount": _s(f.amount),
        "currency": f.currency,
        "currency_name": snap.currency_name,
        **details,
        "note": f.note,
        "expires_at": iso(s.expires_at),
        "new_balance": new_balance,
    }
    body: dict[str, Any] = {
        "success": True,
        "status": "success",  # the contract: every success path says "success"
        "state": STEP_STATE[s.step],  # where the transfer/send now stands
        id_field: f.flow_id,
        "amount": _s(f.amount),
        "currency": f.currency,
        "currency_name": snap.currency_name,
        "new_balance": new_balance,
        "balance_player_id": snap.account_id,  # whose balance new_balance is
        "available_balance": new_balance,
        "reserved_balance": _s(snap.reserved),
        "total_balance": _s(snap.total),
        "expires_at": iso(s.expires_at),
        details_field: details,
    }
    if s.step == "initiate":
        body["verification"] = {"channel": "sms", "phone": f.phone_hint, "code_length": 6}
    return body


class _FlowId(TypedDict, total=False):
    transfer_id: str
    send_id: str


class _Recipient(TypedDict, total=False):
    recipient_email: str | None


def status_body(st: FlowStatus) -> S.FlowStatus:
    f = st.flow
    flow_id: _FlowId = {"transfer_id": f.flow_id} if f.kind == "transfer" else {"send_id": f.flow_id}
    recipient: _Recipient = {"recipient_email": f.target_email} if f.kind == "send" else {}
    return {
        **flow_id,
        "kind": f.kind,
        "state": cast(FlowState, st.state),
        "amount": _s(f.amount),
        "currency": f.currency,
        "source_player_id": f.source_account,
        "target_player_id": f.target_account,
        "verification_attempts": f.attempts,
        "hold": {
            "hold_id": st.hold.hold_id,
            "state": st.hold.state,
            "amount": _s(st.hold.amount),
            "expires_at": iso(st.hold.expires_at),
            "closed_at": iso(st.hold.closed_at) if st.hold.closed_at else None,
            "close_reason": st.hold.close_reason or None,
        },
        "created_at": iso(f.created_at),
        "updated_at": iso(f.updated_at),
        **recipient,
    }


def purchase_body(r: PurchaseResult) -> S.Purchase:
    p, snap = r.payment, r.snapshot
    paid = p.state == "succeeded" and snap is not None
    new_balance = _s(snap.available) if paid and snap is not None else None
    body: S.Purchase = {
        "success": True,
        "status": "success" if paid else "requires_action",
        "payment_id": p.payment_id,
        "client_secret": None if paid else p.client_secret,
        "player_id": p.account_id,
        "player_email": r.player.email,
        "currency": p.currency,
        "currency_name": r.currency_name,
        "usd_amount": _s(p.usd_amount),
        "usd_rate": money.wire(p.usd_rate),
        "amount": _s(p.amount),
        "new_balance": new_balance,
        "purchase_details": {
            "payment_id": p.payment_id,
            "usd_amount": _s(p.usd_amount),
            "amount": _s(p.amount),
            "currency": p.currency,
            "currency_name": r.currency_name,
            "new_balance": new_balance,
        },
        "created_at": iso(p.created_at),
    }
    if paid and snap is not None:
        body["available_balance"] = _s(snap.available)
        body["reserved_balance"] = _s(snap.reserved)
        body["total_balance"] = _s(snap.total)
    return body


def item_body(r: ItemResult) -> S.ItemPurchase:
    p, snap = r.purchase, r.snapshot
    new_balance = _s(snap.available)
    return {
        "success": True,
        "status": "success",
        "purchase_id": p.purchase_id,
        "player_id": p.account_id,
        "item_id": p.item_id,
        "item_name": p.item_name,
        "quantity": p.quantity,
        "unit_price": _s(p.unit_price),
        "total_price": _s(p.total),
        "currency": p.currency,
        "currency_name": snap.currency_name,
        "new_balance": new_balance,
        "balance_info": {
            "currency": p.currency,
            "currency_name": snap.currency_name,
            "previous_balance": _s(money.add(snap.available, p.total)),
            "new_balance": new_balance,
            "available_balance": new_balance,
            "reserved_balance": _s(snap.reserved),
            "total_balance": _s(snap.total),
        },
        "created_at": iso(p.created_at),
    }


# ---------------------------------------------------------------------- transfers and sends


async def initiate_transfer(request: web.Request, b: S.InitiateTransferIn) -> web.Response:
    _one_of(b.source_player_id, b.source_player_email, "source_player")
    _one_of(b.target_player_id, b.target_player_email, "target_player")
    step = await request.app[FLOWS].initiate(
        request[GAME],
        kind="transfer",
        source_id=b.source_player_id,
        source_email=b.source_player_email,
        target_id=b.target_player_id,
        target_email=b.target_player_email,
        currency=b.currency,
        amount=b.amount,
        note=b.note,
        idempotency_key=b.idempotency_key,
    )
    return _reply(flow_body(step), step.replayed)


async def initiate_send(request: web.Request, b: S.InitiateSendIn) -> web.Response:
    _one_of(b.sender_player_id, b.sender_player_email, "sender_player")
    step = await request.app[FLOWS].initiate(
        request[GAME],
        kind="send",
        source_id=b.sender_player_id,
        source_email=b.sender_player_email,
        target_id=None,
        target_email=b.recipient_email,
        currency=b.currency,
        amount=b.amount,
        note=b.note,
        idempotency_key=b.idempotency_key,
    )
    return _reply(flow_body(step), step.replayed)


async def _verify(request: web.Request, kind: FlowKind, flow_id: str, code: str) -> web.Response:
    step = await request.app[FLOWS].verify(request[GAME], kind=kind, flow_id=flow_id, code=code)
    return _reply(flow_body(step), step.replayed)


async def verify_transfer(request: web.Request, b: S.VerifyTransferIn) -> web.Response:
    return await _verify(request, "transfer", b.transfer_id, b.verification_code)


async def verify_send(request: web.Request, b: S.VerifySendIn) -> web.Response:
    return await _verify(request, "send", b.send_id, b.verification_code)


async def claim_transfer(request: web.Request, b: S.ClaimTransferIn) -> web.Response:
    _one_of(b.player_id, b.player_email, "player")
    step = await request.app[FLOWS].claim(
        request[GAME], kind="transfer", flow_id=b.transfer_id, claimant_id=b.player_id, claimant_email=b.player_email
    )
    return _reply(flow_body(step), step.replayed)


async def claim_send(request: web.Request, b: S.ClaimSendIn) -> web.Response:
    step = await request.app[FLOWS].claim(
        request[GAME], kind="send", flow_id=b.send_id, claimant_id=None, claimant_email=b.recipient_email
    )
    return _reply(flow_body(step), step.replayed)


async def cancel_transfer(request: web.Request, b: S.CancelTransferIn) -> web.Response:
    step = await request.app[FLOWS].cancel(request[GAME], kind="transfer", flow_id=b.transfer_id)
    return _reply(flow_body(step), step.replayed)


async def cancel_send(request: web.Request, b: S.CancelSendIn) -> web.Response:
    step = await request.app[FLOWS].cancel(request[GAME], kind="send", flow_id=b.send_id)
    return _reply(flow_body(step), step.replayed)


def _flow_id_param(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    if not (1 <= len(value) <= 64 and value.replace("_", "").isascii() and value.replace("_", "").isalnum()):
        raise E.Invalid(f"{name} must match [A-Za-z0-9_]{{1,64}}")
    return value


async def get_transfer(request: web.Request) -> web.Response:
    flow_id = _flow_id_param(request, "transfer_id")
    return json_response(status_body(await request.app[FLOWS].status(request[GAME], kind="transfer", flow_id=flow_id)))


async def get_send(request: web.Request) -> web.Response:
    flow_id = _flow_id_param(request, "send_id")
    return json_response(status_body(await request.app[FLOWS].status(request[GAME], kind="send", flow_id=flow_id)))


# ---------------------------------------------------------------------- purchases


async def purchase_currency(request: web.Request, b: S.PurchaseCurrencyIn) -> web.Response:
    _one_of(b.player_id, b.player_email, "player")
    r = await request.app[FLOWS].purchase_currency(
        request[GAME],
        account_id=b.player_id,
        email=b.player_email,
        currency=b.currency,
        usd_amount=b.usd_amount,
        payment_token=b.payment_token,
        idempotency_key=b.idempotency_key,
    )
    return _reply(purchase_body(r), r.replayed)


async def confirm_payment(request: web.Request, b: S.ConfirmPaymentIn) -> web.Response:
    r = await request.app[FLOWS].confirm_payment(request[GAME], payment_id=b.payment_id)
    return _reply(purchase_body(r), r.replayed)


async def purchase_item(request: web.Request, b: S.PurchaseItemIn) -> web.Response:
    _one_of(b.player_id, b.player_email, "player")
    r = await request.app[FLOWS].purchase_item(
        request[GAME],
        account_id=b.player_id,
        email=b.player_email,
        currency=b.currency,
        item_id=b.item_id,
        item_name=b.item_name,
        quantity=b.quantity,
        unit_price=b.unit_price,
        idempotency_key=b.idempotency_key,
    )
    return _reply(item_body(r), r.replayed)


# ---------------------------------------------------------------------- admin


async def _phone_body(request: web.Request) -> S.PhoneIn:
    try:
        return S.PhoneIn.model_validate(loads(await request.read() or b"{}"))
    except (ValueError, UnicodeDecodeError, ValidationError):  # ValidationError is a ValueError
        raise E.Invalid('body must be {"phone": "+<country code><number>"} (E.164)') from None


async def put_phone(request: web.Request) -> web.Response:
    acct = request.match_info["account_id"]
    if not ACCOUNT_ID.fullmatch(acct):
        raise E.Invalid("account_id must match [0-9A-Za-z]{1,60}")
    b = await _phone_body(request)
    phone = await request.app[FLOWS].set_phone(acct, b.phone)
    return json_response({"account_id": acct, "phone": phone})


def sms_json(m: SmsMessage) -> dict[str, Any]:
    return {
        "message_id": m.message_id,
        "account_id": m.account_id,
        "phone": m.phone,
        "body": m.body,
        "purpose": m.purpose,
        "state": m.state,
        "created_at": iso(m.created_at),
        "sent_at": iso(m.sent_at) if m.sent_at else None,
    }


async def get_outbox(request: web.Request) -> web.Response:
    """The SMS outbox, newest first (``?account_id=``, ``?limit=`` 1..100, default 20)."""
    acct = request.query.get("account_id")
    if acct is not None and not ACCOUNT_ID.fullmatch(acct):
        raise E.Invalid("account_id must match [0-9A-Za-z]{1,60}")
    text = request.query.get("limit", "20")
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_OUTBOX_PAGE):
        raise E.Invalid(f"limit must be an integer from 1 to {MAX_OUTBOX_PAGE}")
    messages = await request.app[FLOWS].outbox(account_id=acct, limit=int(text))
    return json_response({"messages": [sms_json(m) for m in messages]})


async def sweep_holds(request: web.Request) -> web.Response:
    """Release the holds whose time is up now (what the background sweeper does periodically)."""
    service = request.app[FLOWS]
    released = 0
    while (n := await service.expire_due(SWEEP_BATCH)) > 0:
        released += n
        if n < SWEEP_BATCH:
            break
    return json_response({"released": released})


# ---------------------------------------------------------------------- wiring


async def sweeper_ctx(app: web.Application) -> AsyncIterator[None]:
    """Background task releasing expired holds every ``hold_sweep_interval_seconds``.

    Steps on a flow also expire its hold lazily, so correctness never waits for the sweep;
    it only bounds how long an abandoned hold keeps funds reserved.
    """
    service = app[FLOWS]
    interval = app[SETTINGS].hold_sweep_interval_seconds

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                while await service.expire_due(SWEEP_BATCH) == SWEEP_BATCH:
                    pass
            except E.WalletError as exc:  # store unavailable, ...: try again next time
                log.warning("hold sweep failed: %s", type(exc).__name__)
            except Exception:  # a bug must not stop the sweeper for good
                log.exception("hold sweep failed")

    task = asyncio.create_task(loop(), name="hold-sweeper")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


_STEP_ERRORS = (400, 401, 404, 409)  # verify, cancel
_CLAIM_ERRORS = (400, 401, 403, 404, 409)
_INITIATE_ERRORS = (400, 401, 403, 404, 409, 422)
_GET_ERRORS = (400, 401, 404)

OPERATIONS: tuple[Op, ...] = (
    Op(
        "POST",
        "/api/transfers/initiate-transfer",
        initiate_transfer,
        S.TransferStep,
        _INITIATE_ERRORS,
        body=S.InitiateTransferIn,
    ),
    Op("POST", "/api/transfers/verify-sms", verify_transfer, S.TransferStep, _STEP_ERRORS, body=S.VerifyTransferIn),
    Op("POST", "/api/transfers/claim-transfer", claim_transfer, S.TransferStep, _CLAIM_ERRORS, body=S.ClaimTransferIn),
    Op(
        "POST", "/api/transfers/cancel-transfer", cancel_transfer, S.TransferStep, _STEP_ERRORS, body=S.CancelTransferIn
    ),
    Op("GET", "/api/transfers/{transfer_id}", get_transfer, S.FlowStatus, _GET_ERRORS),
    Op("POST", "/api/currency-sends/initiate-send", initiate_send, S.SendStep, _INITIATE_ERRORS, body=S.InitiateSendIn),
    Op("POST", "/api/currency-sends/verify-sms", verify_send, S.SendStep, _STEP_ERRORS, body=S.VerifySendIn),
    Op("POST", "/api/currency-sends/claim-currency", claim_send, S.SendStep, _CLAIM_ERRORS, body=S.ClaimSendIn),
    Op("POST", "/api/currency-sends/cancel-send", cancel_send, S.SendStep, _STEP_ERRORS, body=S.CancelSendIn),
    Op("GET", "/api/currency-sends/{send_id}", get_send, S.FlowStatus, _GET_ERRORS),
    Op(
        "POST",
        "/api/currency-purchases/purchase-currency",
        purchase_currency,
        S.Purchase,
        (400, 401, 402, 403, 404, 409),
        body=S.PurchaseCurrencyIn,
    ),
    Op(
        "POST",
        "/api/currency-purchases/confirm-payment",
        confirm_payment,
        S.Purchase,
        (400, 401, 402, 404, 409),
        body=S.ConfirmPaymentIn,
    ),
    Op(
        "POST",
        "/api/item-purchases/purchase-item",
        purchase_item,
        S.ItemPurchase,
        _INITIATE_ERRORS,
        body=S.PurchaseItemIn,
    ),
)


def routes() -> list[web.RouteDef]:
    """The Player Balance API routes of the flows (documented in /openapi.json)."""
    return restface.routes(OPERATIONS)


def admin_routes() -> list[web.RouteDef]:
    return [
        web.put("/admin/players/{account_id}/phone", put_phone),
        web.get("/admin/sms-outbox", get_outbox),
        web.post("/admin/holds/sweep", sweep_holds),
    ]
