"""The Hub88 wallet face: ``POST /hub88/user/info``, ``/user/balance``, ``/transaction/bet``,
``/transaction/win``, ``/transaction/rollback`` (``/hub88`` is where an operator points Hub88's
"wallet endpoint").

Each request: the body is read as raw bytes, at most :data:`MAX_BODY` of them (a larger one is
``RS_ERROR_WRONG_SYNTAX`` without being read); the signature is checked over exactly those
bytes with the Hub88 public key of the operator the request names (the token's game session
for ``/user/balance``, the ``user``'s operator otherwise), inside the service's unit of work;
the body is parsed strictly (:mod:`.wire`); the service decides; the reply is HTTP 200 with its
``status`` for every protocol outcome, ``request_uuid`` echoed, the balance in Hub88 units
whenever it is known.  Domain errors become statuses in one table
(:data:`groove_adapter.errors.HUB88`).  A body refused before it names anyone (syntax, types)
is answered with its refusal only when some enabled operator's key verifies it; otherwise
``RS_ERROR_INVALID_SIGNATURE``.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any, Final

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from wallet_store import errors as E
from wallet_store.domain.aggregators import HUB88_BET, HUB88_ROLLBACK, HUB88_WIN
from wallet_store.domain.hub88 import Hub88AmountError, Hub88Settings, Status
from wallet_store.domain.hub88_engine import Hub88Tx
from wallet_store.services.hub88 import Hub88Answer, Verify

from ..errors import HUB88, lookup
from ..jsonout import dumps, loads
from ..keys import GROOVE_LOG, LOG_EXC, SERVICE
from ..observability import METRICS
from . import signature
from .wire import (
    MODELS,
    PATHS,
    BalanceIn,
    BetIn,
    Refused,
    Reply,
    RollbackIn,
    UserInfoIn,
    UserInfoReply,
    WinIn,
    balance_reply,
    echo_uuid,
    parse,
    refusal_reply,
)

PREFIX: Final = "/hub88"
MAX_BODY: Final = 65_536  # bytes; Hub88's largest request (a bet with meta) is well under 4 KiB

log = logging.getLogger("groove_wallet.hub88")


@functools.lru_cache(maxsize=64)
def _public_key(pem: str) -> rsa.RSAPublicKey | None:
    try:
        return signature.load_public_key(pem)
    except signature.Hub88KeyError:
        return None


@functools.lru_cache(maxsize=64)
def _private_key(pem: str) -> rsa.RSAPrivateKey | None:
    try:
        return signature.load_private_key(pem)
    except signature.Hub88KeyError:
        return None


def verifier(raw: bytes, header: str | None) -> Verify:
    """The service's signature check of this request: ``header`` over ``raw`` with an operator's key."""

    def verify(settings: Hub88Settings) -> bool:
        key = _public_key(settings.public_key_pem)
        return key is not None and signature.verify(key, raw, header)

    return verify


async def read_bounded(request: web.Request) -> bytes | None:
    """The body, or None when it is longer than :data:`MAX_BODY` (not read past the bound)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    buf = bytearray()
    while len(buf) <= MAX_BODY:
        chunk = await request.content.read(MAX_BODY + 1 - len(buf))
        if not chunk:
            return bytes(buf)
        buf += chunk
    return None


def _echo(raw: bytes) -> str | None:
    try:
        return echo_uuid(loads(raw))
    except (ValueError, UnicodeDecodeError):
        return None


# --------------------------------------------------------------------------- replies


def _status(exc: BaseException) -> Status:
    return lookup(HUB88, exc)


def _reply(status: Status, request_uuid: str | None, user: str | None, answer: Hub88Answer | None) -> Reply:
    """The envelope with the balance when known; a balance with no exact unit value is never
    rounded: the reply is ``RS_ERROR_UNKNOWN`` without it (logged)."""
    wallet = answer.wallet if answer is not None else None
    if wallet is None:
        if status is Status.NOT_ENOUGH_MONEY:
            status = Status.UNKNOWN
        return Reply(status=status, request_uuid=request_uuid, user=user)
    try:
        return balance_reply(status, request_uuid, user, wallet.currency, wallet.total)
    except Hub88AmountError as exc:
        log.error("hub88 balance of %s/%s has no exact unit value: %s", wallet.account_id, wallet.currency, exc)
        return Reply(status=Status.UNKNOWN, request_uuid=request_uuid, user=user)


def _answer_reply(answer: Hub88Answer, request_uuid: str, user: str) -> Reply:
    status = Status.OK if answer.error is None else _status(answer.error)
    return _reply(status, request_uuid, user, answer)


def _money_cmd(req: BetIn | RollbackIn) -> Hub88Tx:
    """The engine's request from the wire model (amounts exact: x 100 000 -> Decimal)."""
    game = req.game if (req.game_code is not None or req.game_id is not None) else None
    if isinstance(req, RollbackIn):
        return Hub88Tx(
            HUB88_ROLLBACK,
            req.transaction_uuid,
            req.user,
            game,
            req.round,
            reference=req.reference_transaction_uuid,
            token=req.token,
            round_closed=req.round_closed,
        )
    return Hub88Tx(
        HUB88_WIN if isinstance(req, WinIn) else HUB88_BET,
        req.transaction_uuid,
        req.user,
        game,
        req.round,
        amount=req.value,
        currency=req.currency,
        reference=req.reference_transaction_uuid if isinstance(req, WinIn) else None,
        token=req.token,
        round_closed=req.round_closed,
    )


async def _answer(request: web.Request, req: Any, verify: Verify) -> tuple[Reply | UserInfoReply, Hub88Answer]:
    svc = request.app[SERVICE]
    if isinstance(req, UserInfoIn):
        a = await svc.user_info(req.user, verify)
        p = a.player
        info = UserInfoReply(
            user=req.user,
            status=Status.OK,
            request_uuid=req.request_uuid,
            country=p.country,
            registration_date=p.created_at.date().isoformat(),
        )
        return info, a
    if isinstance(req, BalanceIn):
        a = await svc.user_balance(req.token, req.user, req.game_code, verify)
        return _answer_reply(a, req.request_uuid, req.user or a.player.account_id), a
    a = await svc.money(_money_cmd(req), verify)
    return _answer_reply(a, req.request_uuid, req.user), a


# --------------------------------------------------------------------------- the handler


def handler(endpoint: str) -> Any:
    """The aiohttp handler of one endpoint (``info``, ``balance``, ``bet``, ``win``, ``rollback``)."""

    async def handle(request: web.Request) -> web.Response:
        started = time.perf_counter()
        raw = await read_bounded(request)
        settings: Hub88Settings | None = None
        answer: Hub88Answer | None = None
        user: str | None = None
        header = request.headers.get(signature.HEADER)
        if raw is None:
            reply: Reply | UserInfoReply = Reply(status=Status.WRONG_SYNTAX, request_uuid=None)
        elif signature.decoded(header) is None:  # no store read, no unit of work for it
            reply = Reply(status=Status.INVALID_SIGNATURE, request_uuid=_echo(raw))
        else:
            verify = verifier(raw, header)
            req = parse(MODELS[endpoint], raw)
            user = getattr(req, "user", None)
            try:
                if isinstance(req, Refused):
                    await request.app[SERVICE].check_signed(verify)
                    reply = refusal_reply(req)
                else:
                    reply, answer = await _answer(request, req, verify)
                    settings = answer.settings
            except Exception as exc:  # every outcome is a status (the table's last row: UNKNOWN)
                if not isinstance(exc, E.WalletError):
                    request[LOG_EXC] = exc
                reply = Reply(status=_status(exc), request_uuid=_echo(raw), user=user)
        body = dumps(reply.wire()).encode()
        key = _private_key(settings.private_key_pem) if settings and settings.private_key_pem else None
        status = reply.status.value
        logged: dict[str, object] = {"request": endpoint, "account": user or "", "code": status, "aggregator": "hub88"}
        request[GROOVE_LOG] = logged
        record, duplicate = (answer.record, answer.duplicate) if answer is not None else (None, False)
        request.app[METRICS].observe_hub88(endpoint, status, time.perf_counter() - started, record, duplicate)
        return web.Response(body=body, content_type="application/json", headers=signature.reply_headers(key, body))

    return handle


def routes() -> list[web.RouteDef]:
    return [web.post(PREFIX + path, handler(endpoint)) for path, endpoint in PATHS.items()]
