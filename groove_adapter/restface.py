"""What every REST face shares: the game key, the rate limit, the body parse and the error
reply, applied to each route of a face's table (:class:`groove_adapter.schemas.operations.Op`).

The Player Balance API answers errors as ``{"error", "kind", "status"}``, the private wallet
API as ``{"error": true, "message"}``; the status comes from the face's one table
(:data:`groove_adapter.errors.PLAYER_BALANCE`, :data:`groove_adapter.errors.PRIVATE`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar, get_args

from aiohttp import web
from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

from wallet_store import errors as E
from wallet_store.model import ACCOUNT_ID, CURRENCY, BalanceFlow, Game, parse_iso

from .errors import PLAYER_BALANCE, PRIVATE, lookup
from .jsonout import JsonLimitError, json_response, loads
from .keys import RATE_LIMITER, REST_SERVICE
from .ratelimit import RateClass, RateLimited
from .schemas.operations import Op

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PB_KEY_HEADER = "X-Game-Secret-Key"
PRIVATE_KEY_HEADER = "x-api-key"
BEARER = "bearer "
GAME: web.RequestKey[Game] = web.RequestKey("rest_game")


async def parse_body(request: web.Request, model: type[M]) -> M:
    """The JSON body validated by ``model``; :class:`E.Invalid` (400) naming every bad field."""
    raw = await request.read()
    try:
        data = loads(raw or b"{}")
    except JsonLimitError as exc:
        raise E.Invalid(f"body refused: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise E.Invalid(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise E.Invalid("body must be a JSON object")
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()]
        raise E.Invalid("invalid request: " + "; ".join(parts)) from None
    if not _storable(data):
        raise E.Invalid("invalid request: a string holds NUL (\\u0000) or an unpaired surrogate")
    return body


def _storable(value: object) -> bool:
    """Every string in ``value`` is text both backends store: UTF-8 without NUL (PostgreSQL
    refuses either, which would be a 503 there and a stored value on SQLite)."""
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


# ---------------------------------------------------------------------- parameters


def account_param(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    if not ACCOUNT_ID.fullmatch(value):
        raise E.Invalid(f"{name} must match [0-9A-Za-z]{{1,60}}")
    return value


def currency_param(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    if not CURRENCY.fullmatch(value):
        raise E.Invalid(f"{name} must be a currency code like EUR")
    return value


def query_time(request: web.Request, name: str) -> datetime | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        if len(text) > 40:
            raise ValueError
        return parse_iso(text.replace(" ", "+"))
    except ValueError:
        raise E.Invalid(f"{name} must be an ISO 8601 time with a timezone, e.g. 2026-01-15T00:00:00Z") from None


def replay_header(replayed: bool) -> dict[str, str]:
    return {"Idempotent-Replayed": "true" if replayed else "false"}


def flow_query(request: web.Request, values: tuple[BalanceFlow, ...]) -> tuple[BalanceFlow, ...] | None:
    """The ``type`` filter: one of ``values`` (the face's filter values), or all of them
    (``None`` when those are every row: no filter in the database)."""
    kind = request.query.get("type")
    if kind is None:
        return None if set(values) == set(get_args(BalanceFlow)) else values
    for v in values:
        if kind == v:
            return (v,)
    raise E.Invalid("type must be " + " or ".join(values))


def int_query(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 9 or not lo <= int(text) <= hi:
        raise E.Invalid(f"{name} must be an integer from {lo} to {hi}")
    return int(text)


class HistoryArgs(TypedDict):
    page: int
    limit: int
    flows: tuple[BalanceFlow, ...] | None
    since: datetime | None
    until: datetime | None


def history_args(request: web.Request, types: tuple[BalanceFlow, ...]) -> HistoryArgs:
    """A history page's query (``page``, ``limit``, ``type`` among the face's ``types``, ``from``, ``to``)."""
    return {
        "page": int_query(request, "page", 1, 1, 1_000_000),
        "limit": int_query(request, "limit", 20, 1, 100),
        "flows": flow_query(request, types),
        "since": query_time(request, "from"),
        "until": query_time(request, "to"),
    }


def game_key(request: web.Request, header: str) -> str | None:
    """The game key of the face's own header, or of ``Authorization: Bearer <key>``.

    Both given and different is refused: which key the caller meant is ambiguous.
    """
    named = request.headers.get(header)
    auth = request.headers.get("Authorization")
    bearer = auth[len(BEARER) :].strip() if auth and auth[: len(BEARER)].lower() == BEARER else None
    if named and bearer and named != bearer:
        raise E.AuthenticationFailed(f"{header} and Authorization name different keys")
    return named or bearer


def error_reply(private: bool, exc: BaseException) -> web.Response:
    """The face's error reply for ``exc``: its status from the face's table, its own shape."""
    status = lookup(PRIVATE if private else PLAYER_BALANCE, exc)
    message = getattr(exc, "message", "")
    body: dict[str, Any] = (
        {"error": True, "message": message}
        if private
        else {"error": message, "kind": type(exc).__name__, "status": status}
    )
    reply = json_response(body, status=status)
    if isinstance(exc, RateLimited):
        reply.headers["Retry-After"] = str(exc.retry_after)
    return reply


def face(private: bool, limit: RateClass | None = None) -> Callable[[Handler], Handler]:
    """Authenticate the game key, take one request from the game's rate limit of the route's
    class, and answer errors in the face's shape.

    ``limit`` is the route's rate-limit class (:mod:`groove_adapter.ratelimit`); without one,
    GET/HEAD count as ``individual`` and every other method as ``write``.
    """
    header = PRIVATE_KEY_HEADER if private else PB_KEY_HEADER

    def wrap(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                game = await request.app[REST_SERVICE].authenticate(game_key(request, header))
                request[GAME] = game
                rate_class = limit or ("individual" if request.method in ("GET", "HEAD") else "write")
                await request.app[RATE_LIMITER].check(game.game_id, rate_class)
                return await handler(request)
            except (RateLimited, E.WalletError) as exc:
                return error_reply(private, exc)

        return wrapped

    return wrap


def bind(op: Op) -> Handler:
    """The aiohttp handler of one route: :func:`face`, then ``op.path_check``, then the body
    parsed with ``op.body`` (the model the document names), then ``op.handler``."""
    fn, model, path_check = op.handler, op.body, op.path_check

    async def parsed(request: web.Request) -> web.StreamResponse:
        if model is None:
            return await fn(request)  # type: ignore[no-any-return]
        if path_check is not None:
            path_check(request)
        return await fn(request, await parse_body(request, model))  # type: ignore[no-any-return]

    bound = face(op.private, op.limit)(parsed)
    bound.__wrapped__ = fn  # type: ignore[attr-defined]  # what tests/test_openapi.py checks
    return bound


def routes(ops: tuple[Op, ...]) -> list[web.RouteDef]:
    """The aiohttp routes of a face's table (a GET route answers HEAD too)."""
    return [web.get(op.path, bind(op)) if op.method == "GET" else web.route(op.method, op.path, bind(op)) for op in ops]
