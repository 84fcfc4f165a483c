"""Operator admin API under /admin: Bearer token, JSON in and out, money as strings."""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from wallet_store import errors as E
from wallet_store import money
from wallet_store.domain.adjust import wallet_balances as wallet_json
from wallet_store.model import Currency as CurrencyModel
from wallet_store.model import GameSession, Limits, Operator, Player, Wallet, iso
from wallet_store.rate_limits import GameRateLimits

from . import ratelimit
from .errors import ADMIN, lookup
from .jsonout import JsonLimitError, json_response, loads
from .keys import CLOCK, RATE_LIMITER, REST_SERVICE, SERVICE, SETTINGS, STORE
from .schemas.admin import (
    AdjustIn,
    CurrencyIn,
    FreeRoundsIn,
    GameIn,
    GameRateLimitsIn,
    IdentityIn,
    LimitsIn,
    OperatorIn,
    PlayerIn,
    SessionIn,
    SignatureIn,
)

M = TypeVar("M", bound=BaseModel)


async def _body(request: web.Request, model: type[M]) -> M:
    raw = await request.read()
    try:
        data = loads(raw or b"{}")
    except JsonLimitError as exc:
        raise _BadRequest([{"field": "body", "error": f"refused: {exc}"}]) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _BadRequest([{"field": "body", "error": f"not valid JSON: {exc}"}]) from None
    if not isinstance(data, dict):
        raise _BadRequest([{"field": "body", "error": "must be a JSON object"}])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _BadRequest(
            [{"field": ".".join(str(p) for p in e["loc"]) or "body", "error": e["msg"]} for e in exc.errors()]
        ) from None


class _BadRequest(Exception):
    def __init__(self, fields: list[dict[str, str]]) -> None:
        super().__init__("invalid request body")
        self.fields = fields


def player_json(p: Player, wallets: list[Wallet], limits: Limits | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "account_id": p.account_id,
        "operator_id": p.operator_id,
        "name": p.name,
        "email": p.email,
        "country": p.country,
        "city": p.city,
        "currency": p.currency,
        "status": p.status,
        "created_at": iso(p.created_at),
        "last_active": iso(p.last_active) if p.last_active else None,
        "wallets": [wallet_json(w) for w in wallets],
    }
    if limits is not None:
        out["limits"] = _limits_json(limits)
    return out


def _limits_json(lim: Limits) -> dict[str, Any]:
    def f(v: Decimal | None) -> str | None:
        return None if v is None else money.wire(v)

    return {
        "max_bet": f(lim.max_bet),
        "loss_day": f(lim.loss_day),
        "loss_week": f(lim.loss_week),
        "loss_month": f(lim.loss_month),
    }


def operator_json(op: Operator) -> dict[str, Any]:
    return {
        "operator_id": op.operator_id,
        "name": op.name,
        "currency": op.currency,
        "debit_order": op.debit_order,
        "signature_enabled": op.signature_secret is not None,
        "signature_scheme": op.signature_scheme,
        "allowed_networks": list(op.allowed_networks),
        "start_real": money.wire(op.start_real),
        "start_bonus": money.wire(op.start_bonus),
        "created_at": iso(op.created_at),
    }


def session_json(s: GameSession) -> dict[str, Any]:
    return {
        "gamesessionid": s.session_id,
        "account_id": s.account_id,
        "currency": s.currency,
        "game_id": s.game_id,
        "created_at": iso(s.created_at),
        "expires_at": iso(s.expires_at),
    }


@web.middleware
async def admin_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Bearer auth (constant time) and error mapping for /admin; other paths pass through."""
    if not request.path.startswith("/admin"):
        return await handler(request)
    token = request.app[SETTINGS].admin_token
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {token.get_secret_value()}" if token is not None else None
    if expected is None or not hmac.compare_digest(given.encode(), expected.encode()):
        return json_response(
            {"error": "missing or invalid admin token"}, status=401, headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        return await handler(request)
    except _BadRequest as exc:
        return json_response({"error": "invalid request", "fields": exc.fields}, status=400)
    except E.WalletError as exc:
        return json_response({"error": exc.message, "kind": type(exc).__name__}, status=lookup(ADMIN, exc))


async def create_operator(request: web.Request) -> web.Response:
    b = await _body(request, OperatorIn)
    for net in b.allowed_networks:
        try:
            import ipaddress

            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise _BadRequest([{"field": "allowed_networks", "error": f"{net!r} is not an IP network"}]) from None
    op = Operator(
        operator_id=b.operator_id,
        name=b.name,
        currency=b.currency,
        debit_order=b.debit_order,
        signature_secret=b.signature_secret,
        signature_scheme=b.signature_scheme,
        allowed_networks=tuple(b.allowed_networks),
        start_real=b.start_real,
        start_bonus=b.start_bonus,
        created_at=request.app[CLOCK].now(),
    )
    await request.app[SERVICE].create_operator(op)
    return json_response(operator_json(op), status=201)


async def get_operator(request: web.Request) -> web.Response:
    op = await request.app[SERVICE].get_operator(request.match_info["operator_id"])
    return json_response(operator_json(op))


async def set_signature(request: web.Request) -> web.Response:
    """PUT /admin/operators/{id}/signature: rotate the /groove secret or change its scheme."""
    b = await _body(request, SignatureIn)
    op = await request.app[SERVICE].set_signature(
        request.match_info["operator_id"], b.signature_secret, b.signature_scheme
    )
    return json_response(operator_json(op))


async def create_player(request: web.Request) -> web.Response:
    b = await _body(request, PlayerIn)
    player, wallets = await request.app[SERVICE].create_player(
        operator_id=b.operator_id,
        account_id=b.account_id,
        name=b.name,
        email=b.email,
        country=b.country,
        city=b.city,
        currency=b.currency,
        real=b.real_balance,
        bonus=b.bonus_balance,
    )
    return json_response(player_json(player, wallets), status=201)


def _account(request: web.Request) -> str:
    acct = request.match_info["account_id"]
    if not (1 <= len(acct) <= 60 and acct.isascii() and acct.isalnum()):
        raise _BadRequest([{"field": "account_id", "error": "must match [0-9a-zA-Z]{1,60}"}])
    return acct


async def get_player(request: web.Request) -> web.Response:
    p, wallets, limits = await request.app[SERVICE].get_player(_account(request))
    return json_response(player_json(p, wallets, limits))


async def block_player(request: web.Request) -> web.Response:
    p = await request.app[SERVICE].set_status(_account(request), "blocked")
    return json_response({"account_id": p.account_id, "status": p.status})


async def unblock_player(request: web.Request) -> web.Response:
    p = await request.app[SERVICE].set_status(_account(request), "active")
    return json_response({"account_id": p.account_id, "status": p.status})


async def self_exclude_player(request: web.Request) -> web.Response:
    p = await request.app[SERVICE].set_status(_account(request), "self_excluded")
    return json_response({"account_id": p.account_id, "status": p.status})


async def adjust(request: web.Request) -> web.Response:
    acct = _account(request)
    b = await _body(request, AdjustIn)
    if b.real.is_zero() and b.bonus.is_zero():
        raise _BadRequest([{"field": "real", "error": "real and bonus are both zero"}])
    body, replayed = await request.app[SERVICE].adjust(
        acct,
        currency=b.currency,
        real=b.real,
        bonus=b.bonus,
        reason=b.reason,
        idempotency_key=b.idempotency_key,
    )
    return json_response(body | {"replayed": replayed}, status=200 if replayed else 201)


async def set_limits(request: web.Request) -> web.Response:
    acct = _account(request)
    b = await _body(request, LimitsIn)
    lim = await request.app[SERVICE].set_limits(
        Limits(acct, max_bet=b.max_bet, loss_day=b.loss_day, loss_week=b.loss_week, loss_month=b.loss_month)
    )
    return json_response({"account_id": acct, "limits": _limits_json(lim)})


async def award_free_rounds(request: web.Request) -> web.Response:
    acct = _account(request)
    b = await _body(request, FreeRoundsIn)
    a = await request.app[SERVICE].award_free_rounds(acct, b.frbid, b.pays_into)
    return json_response({"frbid": a.frbid, "account_id": a.account_id, "pays_into": a.pays_into}, status=201)


async def open_session(request: web.Request) -> web.Response:
    b = await _body(request, SessionIn)
    s = await request.app[SERVICE].open_session(
        b.account_id, game_id=b.game_id, currency=b.currency, ttl_seconds=b.ttl_seconds
    )
    return json_response(session_json(s), status=201)


async def close_session(request: web.Request) -> web.Response:
    sid = request.match_info["session_id"]
    if len(sid) > 64:
        raise _BadRequest([{"field": "gamesessionid", "error": "longer than 64 characters"}])
    await request.app[SERVICE].close_session(sid)
    return json_response({"gamesessionid": sid, "closed": True})


async def create_game(request: web.Request) -> web.Response:
    """Register a game for the REST faces; its secret key is in this reply only (stored hashed)."""
    b = await _body(request, GameIn)
    game, secret = await request.app[REST_SERVICE].create_game(
        operator_id=b.operator_id, game_id=b.game_id, name=b.name
    )
    return json_response(
        {
            "game_id": game.game_id,
            "operator_id": game.operator_id,
            "name": game.name,
            "secret_key": secret,
            "created_at": iso(game.created_at),
            "note": "the secret key is shown once; only its SHA-256 hash is stored",
        },
        status=201,
    )


async def rotate_game_key(request: web.Request) -> web.Response:
    """Replace a game's secret key (e.g. after a leak): the new key is in this reply only."""
    game_id = request.match_info["game_id"]
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", game_id):
        raise _BadRequest([{"field": "game_id", "error": "must match [0-9A-Za-z_-]{1,64}"}])
    game, secret = await request.app[REST_SERVICE].rotate_game_key(game_id)
    return json_response(
        {
            "game_id": game.game_id,
            "operator_id": game.operator_id,
            "secret_key": secret,
            "note": "the old key no longer works; the new one is shown once and stored as a SHA-256 hash",
        }
    )


def currency_json(c: CurrencyModel) -> dict[str, Any]:
    return {
        "operator_id": c.operator_id,
        "code": c.code,
        "currency_id": c.currency_id,
        "name": c.name,
        "symbol": c.symbol,
        "usd_rate": None if c.usd_rate is None else money.wire(c.usd_rate),
        "start_amount": money.wire(c.start_amount),
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    }


def _operator_param(request: web.Request) -> str:
    op = request.match_info["operator_id"]
    if not re.fullmatch(r"[0-9A-Za-z]{1,20}", op):
        raise _BadRequest([{"field": "operator_id", "error": "must match [0-9A-Za-z]{1,20}"}])
    return op


def _code_param(request: web.Request) -> str:
    code = request.match_info["code"]
    if not re.fullmatch(r"[A-Z][A-Z0-9]{2,9}", code):
        raise _BadRequest([{"field": "code", "error": "must match [A-Z][A-Z0-9]{2,9}"}])
    return code


async def put_currency(request: web.Request) -> web.Response:
    """Create or update a currency (name, symbol, USD rate, starting amount); rate changes are kept."""
    op, code = _operator_param(request), _code_param(request)
    b = await _body(request, CurrencyIn)
    cur, created = await request.app[REST_SERVICE].set_currency(
        operator_id=op,
        code=code,
        name=b.name,
        symbol=b.symbol,
        usd_rate=b.usd_rate,
        rate_given="usd_rate" in b.model_fields_set,
        start_amount=b.start_amount,
        note=b.note,
    )
    return json_response(currency_json(cur), status=201 if created else 200)


async def list_currencies(request: web.Request) -> web.Response:
    currencies = await request.app[REST_SERVICE].list_currencies(_operator_param(request))
    return json_response({"currencies": [currency_json(c) for c in currencies]})


async def currency_rates(request: web.Request) -> web.Response:
    cur, changes = await request.app[REST_SERVICE].rate_history(_operator_param(request), _code_param(request))
    return json_response(
        currency_json(cur)
        | {
            "history": [
                {
                    "usd_rate": None if ch.usd_rate is None else money.wire(ch.usd_rate),
                    "set_at": iso(ch.set_at),
                    "note": ch.note,
                }
                for ch in changes
            ]
        }
    )


async def register_identity(request: web.Request) -> web.Response:
    """Map an external identity to a player (the private wallet API's ``identity``)."""
    op = _operator_param(request)
    b = await _body(request, IdentityIn)
    await request.app[REST_SERVICE].register_identity(operator_id=op, identity=b.identity, account_id=b.account_id)
    return json_response({"operator_id": op, "identity": b.identity, "account_id": b.account_id}, status=201)


def _game_id(request: web.Request) -> str:
    game_id = request.match_info["game_id"]
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", game_id):
        raise _BadRequest([{"field": "game_id", "error": "must match [0-9A-Za-z_-]{1,64}"}])
    return game_id


async def get_game_rate_limits(request: web.Request) -> web.Response:
    game_id = _game_id(request)
    overrides = await ratelimit.get_overrides(request.app[STORE], game_id)
    return json_response(ratelimit.overrides_json(request.app[RATE_LIMITER], game_id, overrides))


async def put_game_rate_limits(request: web.Request) -> web.Response:
    game_id = _game_id(request)
    b = await _body(request, GameRateLimitsIn)
    limits = GameRateLimits(game_id=game_id, updated_at=request.app[CLOCK].now(), **b.model_dump())
    saved = await ratelimit.save_overrides(request.app[STORE], limits)
    limiter = request.app[RATE_LIMITER]
    limiter.invalidate(game_id)  # this instance at once; the others within GW_RATE_LIMIT_CACHE_SECONDS
    return json_response(ratelimit.overrides_json(limiter, game_id, saved))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/admin/operators/{operator_id}/currencies", list_currencies),
        web.put("/admin/operators/{operator_id}/currencies/{code}", put_currency),
        web.get("/admin/operators/{operator_id}/currencies/{code}/rates", currency_rates),
        web.post("/admin/operators/{operator_id}/identities", register_identity),
        web.post("/admin/operators", create_operator),
        web.get("/admin/operators/{operator_id}", get_operator),
        web.put("/admin/operators/{operator_id}/signature", set_signature),
        web.post("/admin/players", create_player),
        web.get("/admin/players/{account_id}", get_player),
        web.post("/admin/players/{account_id}/block", block_player),
        web.post("/admin/players/{account_id}/unblock", unblock_player),
        web.post("/admin/players/{account_id}/self-exclude", self_exclude_player),
        web.post("/admin/players/{account_id}/adjust", adjust),
        web.put("/admin/players/{account_id}/limits", set_limits),
        web.post("/admin/players/{account_id}/free-rounds", award_free_rounds),
        web.post("/admin/sessions", open_session),
        web.delete("/admin/sessions/{session_id}", close_session),
        web.post("/admin/games", create_game),
        web.post("/admin/games/{game_id}/rotate-key", rotate_game_key),
        web.get("/admin/games/{game_id}/rate-limits", get_game_rate_limits),
        web.put("/admin/games/{game_id}/rate-limits", put_game_rate_limits),
    ]
