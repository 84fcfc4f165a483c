"""The REST faces on the shared wallet store: thin HTTP handlers over :mod:`wallet_store.rest_service`.

* Player Balance API under ``/api/player-balances`` (``X-Game-Secret-Key``): money as
  decimal strings (``"150.00"``, more places when the value has them, always exact).
* Private wallet API under ``/api/private`` (``x-api-key``): ``{"error": false, "data": ...}``
  envelopes, money as exact JSON numbers.

``available_balance`` = real + bonus (spendable), ``reserved_balance`` = reserved,
``total_balance`` = available + reserved.  Currencies are the wallet's ISO-style codes
(``currency_id`` = ``currency_name`` = ``currency_symbol`` = the code until per-operator
currencies exist); ``total_value_usd`` is ``null`` because no exchange rates are configured.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from wallet_store import errors as E
from wallet_store import money
from wallet_store.model import ACCOUNT_ID, CURRENCY, Game, Player, Wallet, iso
from wallet_store.rest_service import HistoryItem, PlayerBalances, Transfer, available, total

from .errors import PLAYER_BALANCE, PRIVATE, lookup
from .jsonout import dumps, json_response, loads
from .keys import CLOCK, REST_SERVICE

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}")
PB_KEY_HEADER = "X-Game-Secret-Key"
PRIVATE_KEY_HEADER = "x-api-key"
GAME: web.RequestKey[Game] = web.RequestKey("rest_game")


def _positive(v: object) -> Decimal:
    d = money.coerce(v)
    if d <= 0:
        raise ValueError("must be greater than zero")
    return d


Positive = Annotated[Decimal, BeforeValidator(_positive)]
AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,60}$")]
EmailStr = Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$", max_length=320)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{2,9}$")]
Reason = Annotated[str, StringConstraints(max_length=500)]
IdemKey = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BatchIn(_Body):
    player_emails: list[EmailStr] = Field(default_factory=list)
    player_ids: list[AccountId] = Field(default_factory=list)
    include_summary: bool = False


class TransferIn(_Body):
    player_id: AccountId | None = None
    player_email: EmailStr | None = None
    currency: Currency
    amount: Positive
    reason: Reason = ""
    idempotency_key: IdemKey


class WalletTxIn(_Body):
    currency: Currency
    amount: Positive
    type: Literal["credit", "debit"]
    reason: Reason = ""
    meta: dict[str, Any] = Field(default_factory=dict)
    idempotencyKey: IdemKey  # the spec's field name


class _Bad(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def _body(request: web.Request, model: type[M]) -> M:
    raw = await request.read()
    try:
        data = loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Bad(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _Bad("body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()]
        raise _Bad("invalid request: " + "; ".join(parts)) from None


def _face(private: bool) -> Callable[[Handler], Handler]:
    """Authenticate the game key and map errors to the face's envelope and status table."""
    header = PRIVATE_KEY_HEADER if private else PB_KEY_HEADER
    table = PRIVATE if private else PLAYER_BALANCE

    def error(status: int, message: str, kind: str) -> web.Response:
        body: dict[str, Any] = (
            {"error": True, "message": message} if private else {"error": message, "kind": kind, "status": status}
        )
        return json_response(body, status=status)

    def wrap(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                request[GAME] = await request.app[REST_SERVICE].authenticate(request.headers.get(header))
                return await handler(request)
            except _Bad as exc:
                return error(400, exc.message, "Invalid")
            except E.WalletError as exc:
                return error(lookup(table, exc), exc.message, type(exc).__name__)

        return wrapped

    return wrap


def _account_param(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    if not ACCOUNT_ID.fullmatch(value):
        raise _Bad(f"{name} must match [0-9A-Za-z]{{1,60}}")
    return value


def _currency_param(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    if not CURRENCY.fullmatch(value):
        raise _Bad(f"{name} must be a currency code like EUR")
    return value


# ---------------------------------------------------------------------- Player Balance API


def _s(v: Decimal) -> str:
    return money.fixed(v, 2)


def pb_player(p: Player) -> dict[str, Any]:
    return {
        "player_id": p.account_id,
        "player_name": p.name,
        "player_email": p.email,
        "date_joined": iso(p.created_at),
        "last_active": iso(p.last_active) if p.last_active else None,
    }


def pb_balance(w: Wallet) -> dict[str, Any]:
    return {
        "currency_id": w.currency,
        "currency_name": w.currency,
        "currency_symbol": w.currency,
        "available_balance": _s(available(w)),
        "reserved_balance": _s(w.reserved),
        "total_balance": _s(total(w)),
        "last_transaction": iso(w.updated_at) if w.seq > 0 and w.updated_at else None,
    }


def pb_summary(wallets: list[Wallet], request: web.Request) -> dict[str, Any]:
    stamps = [w.updated_at for w in wallets if w.updated_at is not None]
    return {
        "total_currencies": len(wallets),
        "total_value_usd": None,  # no exchange rates configured yet
        "has_funds": any(total(w) > 0 for w in wallets),
        "last_updated": iso(max(stamps) if stamps else request.app[CLOCK].now()),
    }


def pb_view(pb: PlayerBalances, request: web.Request, *, summary: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"player": pb_player(pb.player), "balances": [pb_balance(w) for w in pb.wallets]}
    if summary:
        out["summary"] = pb_summary(pb.wallets, request)
    return out


@_face(private=False)
async def pb_by_id(request: web.Request) -> web.Response:
    acct = _account_param(request, "player_id")
    pb = await request.app[REST_SERVICE].balances(request[GAME], account_id=acct)
    return json_response(pb_view(pb, request))


@_face(private=False)
async def pb_by_email(request: web.Request) -> web.Response:
    email = request.match_info["email"]
    if len(email) > 320 or not EMAIL.fullmatch(email):
        raise _Bad("email is not a valid e-mail address")
    pb = await request.app[REST_SERVICE].balances(request[GAME], email=email)
    return json_response(pb_view(pb, request))


@_face(private=False)
async def pb_batch(request: web.Request) -> web.Response:
    b = await _body(request, BatchIn)
    res = await request.app[REST_SERVICE].batch(request[GAME], account_ids=b.player_ids, emails=b.player_emails)
    players = [
        {"player_id": pb.player.account_id, "player_email": pb.player.email}
        | pb_view(pb, request, summary=b.include_summary)
        for pb in res.found
    ]
    not_found = [{"player_id": a} for a in res.not_found_ids] + [{"player_email": e} for e in res.not_found_emails]
    out: dict[str, Any] = {"players": players, "not_found": not_found}
    if b.include_summary:
        out["summary"] = {
            "total_players": len(b.player_ids) + len(b.player_emails),
            "found": len(players),
            "not_found": len(not_found),
            "total_value_usd": None,  # no exchange rates configured yet
            "has_funds": any(total(w) > 0 for pb in res.found for w in pb.wallets),
        }
    return json_response(out)


def pb_transfer(t: Transfer) -> dict[str, Any]:
    return {
        "success": True,
        "transaction_id": t.reference,
        "type": t.direction,
        "player_id": t.account_id,
        "player_email": t.player_email,
        "currency_id": t.currency,
        "currency_name": t.currency,
        "amount": _s(t.amount),
        "previous_balance": _s(t.available_before),
        "new_balance": _s(t.available_after),
        "available_balance": _s(t.available_after),
        "reserved_balance": _s(t.reserved_after),
        "total_balance": _s(money.add(t.available_after, t.reserved_after)),
        "reason": t.reason,
        "created_at": iso(t.created_at),
    }


def _pb_transfer_handler(direction: Literal["credit", "debit"]) -> Handler:
    @_face(private=False)
    async def handler(request: web.Request) -> web.Response:
        b = await _body(request, TransferIn)
        if (b.player_id is None) == (b.player_email is None):
            raise _Bad("exactly one of player_id and player_email is required")
        t, replayed = await request.app[REST_SERVICE].transfer(
            request[GAME],
            face="pb",
            direction=direction,
            account_id=b.player_id,
            email=b.player_email,
            currency=b.currency,
            amount=b.amount,
            reason=b.reason,
            meta="{}",
            idempotency_key=b.idempotency_key,
        )
        return json_response(pb_transfer(t), headers={"Idempotent-Replayed": "true" if replayed else "false"})

    return handler


pb_credit = _pb_transfer_handler("credit")
pb_debit = _pb_transfer_handler("debit")


# ---------------------------------------------------------------------- private wallet API


def _ok(data: Any) -> web.Response:
    return json_response({"error": False, "data": data})


@_face(private=True)
async def pw_balance(request: web.Request) -> web.Response:
    acct = _account_param(request, "identity")
    pb = await request.app[REST_SERVICE].balances(request[GAME], account_id=acct)
    return _ok(
        [{"currency_code": w.currency, "currency_name": w.currency, "balance": available(w)} for w in pb.wallets]
    )


def pw_transaction(identity: str, t: Transfer) -> dict[str, Any]:
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


@_face(private=True)
async def pw_transact(request: web.Request) -> web.Response:
    acct = _account_param(request, "identity")
    code = _currency_param(request, "walletCode")
    b = await _body(request, WalletTxIn)
    if b.currency != code:
        raise _Bad(f"currency {b.currency} does not match the wallet code {code}")
    t, replayed = await request.app[REST_SERVICE].transfer(
        request[GAME],
        face="pw",
        direction=b.type,
        account_id=acct,
        email=None,
        currency=b.currency,
        amount=b.amount,
        reason=b.reason,
        meta=dumps(b.meta),
        idempotency_key=b.idempotencyKey,
    )
    return json_response(
        {"error": False, "data": pw_transaction(acct, t)},
        headers={"Idempotent-Replayed": "true" if replayed else "false"},
    )


def pw_history_item(identity: str, it: HistoryItem) -> dict[str, Any]:
    e = it.entry
    return {
        "user_identity": identity,
        "game_id": it.game_id,
        "currency_code": e.currency,
        "type": it.direction,
        "amount": it.amount,
        "balance_before": it.before,
        "balance_after": it.after,
        "reason": e.reason,
        "meta": {"kind": e.kind, "seq": e.seq},
        "_id": e.reference,
        "created_at": iso(e.created_at),
        "updated_at": iso(e.created_at),
    }


def _int_query(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not lo <= int(text) <= hi:
        raise _Bad(f"{name} must be an integer from {lo} to {hi}")
    return int(text)


@_face(private=True)
async def pw_history(request: web.Request) -> web.Response:
    acct = _account_param(request, "identity")
    code = _currency_param(request, "currencyCode")
    page = _int_query(request, "page", 1, 1, 1_000_000)
    limit = _int_query(request, "limit", 20, 1, 100)
    kind = request.query.get("type")
    if kind not in (None, "credit", "debit"):
        raise _Bad("type must be credit or debit")
    direction: Literal["credit", "debit"] | None = "credit" if kind == "credit" else "debit" if kind else None
    hp = await request.app[REST_SERVICE].history(request[GAME], acct, code, page=page, limit=limit, direction=direction)
    return _ok(
        {
            "wallet": {"currency_code": hp.wallet.currency, "balance": available(hp.wallet)},
            "page": hp.page,
            "limit": hp.limit,
            "total": hp.total,
            "transactions": [pw_history_item(acct, it) for it in hp.items],
        }
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/player-balances/player/by-email/{email}", pb_by_email),
        web.get("/api/player-balances/player/{player_id}", pb_by_id),
        web.post("/api/player-balances/batch", pb_batch),
        web.post("/api/player-balances/credit", pb_credit),
        web.post("/api/player-balances/debit", pb_debit),
        web.get("/api/private/users/{identity}/wallets/balance", pw_balance),
        web.post("/api/private/users/{identity}/wallet/{walletCode}/transactions", pw_transact),
        web.get("/api/private/users/{identity}/wallets/{currencyCode}/transactions", pw_history),
    ]
