"""The private wallet API under ``/api/private`` (``x-api-key`` or ``Authorization: Bearer``):
``{"error": false, "data": ...}`` envelopes, money as exact JSON numbers.  Thin handlers over
:mod:`wallet_store.rest_service`; errors from :data:`groove_adapter.errors.PRIVATE`, whose
statuses are the ones its spec lists (400, 401, 500; 429 for rate limits)."""

from __future__ import annotations

from typing import cast, get_args

from aiohttp import web
from typing_extensions import TypedDict

from wallet_store import errors as E
from wallet_store.model import BalanceFlow, iso
from wallet_store.rest_service import IDENTITY, HistoryItem, Transfer, available

from .jsonout import dumps, json_response, loads
from .keys import REST_SERVICE
from .restface import GAME, currency_param, history_args, replay_header
from .schemas import rest as S
from .schemas.operations import LIMIT, PAGE, TIME, Op, Query

# History ``type`` filter values: the spec knows only credit and debit, so the private face
# lists only rows that moved its balance (groove_adapter.rest.PB_HISTORY_TYPES has "none" too).
PW_HISTORY_TYPES: tuple[BalanceFlow, ...] = get_args(get_args(S.PwHistoryType)[0])  # credit, debit
# The private API's seed lists 400/401/500 only: unknown identity or wallet, a reused
# idempotency key and refusals are 400 (groove_adapter/errors.py PRIVATE).
_PW_ERRORS = (400, 401, 500)


def _identity_param(request: web.Request) -> str:
    value = request.match_info["identity"]
    if not IDENTITY.fullmatch(value):
        raise E.Invalid("identity must match [0-9A-Za-z._:@-]{1,128}")
    return value


async def pw_balance(request: web.Request) -> web.Response:
    ident = _identity_param(request)
    pb = await request.app[REST_SERVICE].balances(request[GAME], identity=ident)
    body: S.PwBalances = {
        "error": False,
        "data": [
            {
                "currency_code": w.currency,
                "currency_name": c.name if (c := pb.currencies.get(w.currency)) else w.currency,
                "balance": available(w),
            }
            for w in pb.wallets
        ],
    }
    return json_response(body)


def pw_transaction(identity: str, t: Transfer) -> S.PwTransaction:
    return {
        "user_identity": identity,
        "game_id": t.game_id,
        "currency_code": t.currency,
        "type": t.direction,
        "amount": t.amount,
        "balance_before": t.available_before,
        "balance_after": t.available_after,
        "reason": t.reason,
        "meta": loads(t.meta),
        "_id": t.reference,
        "created_at": iso(t.created_at),
        "updated_at": iso(t.created_at),
    }


def _wallet_path(request: web.Request) -> tuple[str, str]:
    """The identity and wallet code of a transaction's path (checked before its body is read)."""
    return _identity_param(request), currency_param(request, "walletCode")


async def pw_transact(request: web.Request, b: S.WalletTxIn) -> web.Response:
    ident, code = _wallet_path(request)
    if b.currency != code:
        raise E.Invalid(f"currency {b.currency} does not match the wallet code {code}")
    t, replayed, _cur = await request.app[REST_SERVICE].transfer(
        request[GAME],
        face="pw",
        direction=b.type,
        account_id=None,
        email=None,
        identity=ident,
        currency=b.currency,
        amount=b.amount,
        reason=b.reason,
        meta=dumps(b.meta),
        idempotency_key=b.idempotencyKey,
    )
    body: S.PwTransactionReply = {"error": False, "data": pw_transaction(ident, t)}
    return json_response(body, headers=replay_header(replayed))


class _GameId(TypedDict, total=False):
    game_id: str


def pw_history_item(identity: str, it: HistoryItem) -> S.PwTransaction:
    """One row, valid against the spec's ``WalletTransaction``: ``game_id`` is a string there,
    so a row no game made (initial credit, holds, sends, wagers) has no ``game_id``."""
    e = it.entry
    game: _GameId = {} if it.game_id is None else {"game_id": it.game_id}
    return {
        "user_identity": identity,
        **game,
        "currency_code": e.currency,
        "type": cast(S.Direction, it.direction),  # the private face lists credit and debit rows only
        "amount": it.amount,
        "balance_before": it.before,
        "balance_after": it.after,
        "reason": e.reason,
        "meta": {"kind": e.kind, "seq": e.seq},
        "_id": e.reference,
        "created_at": iso(e.created_at),
        "updated_at": iso(e.created_at),
    }


async def pw_history(request: web.Request) -> web.Response:
    ident = _identity_param(request)
    code = currency_param(request, "currencyCode")
    hp = await request.app[REST_SERVICE].history(
        request[GAME],
        code,
        identity=ident,
        **history_args(request, PW_HISTORY_TYPES),
    )
    body: S.PwHistory = {
        "error": False,
        "data": {
            "wallet": {"currency_code": hp.wallet.currency, "balance": available(hp.wallet)},
            "page": hp.page,
            "limit": hp.limit,
            "total": hp.total,
            "transactions": [pw_history_item(ident, it) for it in hp.items],
        },
    }
    return json_response(body)


OPERATIONS: tuple[Op, ...] = (
    Op(
        "GET",
        "/api/private/users/{identity}/wallets/balance",
        pw_balance,
        S.PwBalances,
        _PW_ERRORS,
        private=True,
        limit="individual",
    ),
    Op(
        "POST",
        "/api/private/users/{identity}/wallet/{walletCode}/transactions",
        pw_transact,
        S.PwTransactionReply,
        _PW_ERRORS,
        body=S.WalletTxIn,
        private=True,
        limit="write",
        path_check=_wallet_path,
    ),
    Op(
        "GET",
        "/api/private/users/{identity}/wallets/{currencyCode}/transactions",
        pw_history,
        S.PwHistory,
        _PW_ERRORS,
        query=(
            Query("page", PAGE),
            Query("limit", LIMIT),
            Query("type", S.PwHistoryType),
            Query("from", TIME),
            Query("to", TIME),
        ),
        private=True,
        limit="individual",
    ),
)
